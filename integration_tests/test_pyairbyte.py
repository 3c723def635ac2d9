"""PyAirbyte runs the installed `source-listrak` command against the emulator into a DuckDB cache.

One module-scoped sync (two `read()` calls on the same cache) feeds several small tests:

- the first read lands every stream with exactly the emulator's expected rows;
- the second read is incremental at the HTTP level: every window request of each incremental stream
  starts at the cursor the first read ended on, not 90 days back;
- the second read delivers only the added records plus the boundary record(s) the connector re-reads
  by design (inclusive start), and PyAirbyte's merge on the primary key makes each table grow by
  exactly the number added; the small full-refresh streams are replaced, never duplicated.

A flat configuration goes through PyAirbyte in test_pyairbyte_readme.py (the API-key contract) and
test_pyairbyte_secrets.py (the Email API).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_tests.offline_pyairbyte import ab, airbyte
from listrak_emulators.sdk_example import WINDOWED, Emulator, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, full_refresh, incremental, keyed, single_key
from listrak_testkit.harness import connector_command

pytestmark = pytest.mark.slow

SIZES = Sizes(contacts=300, campaigns=40, events=2000, custom_fields=12, interests=8, segments=6, sources=1203)
ADDED = {"contacts": 3, "campaigns": 2, "events": 9}
INCREMENTAL_STREAMS = incremental(SDK_EXAMPLE_STREAMS)
KEYS = {stream: single_key(entry) for stream, entry in keyed(SDK_EXAMPLE_STREAMS).items()}
INITIAL_SYNC_DAYS = 90  # the connector's default


@dataclass
class Sync:
    expected_first: dict[str, list[dict[str, Any]]]  # the emulator's expected output for the first read
    added: dict[str, list[dict[str, Any]]]  # the records added between the reads, as the API serves them
    first_counts: dict[str, int]
    second_counts: dict[str, int]
    first_processed: int
    second_processed: int
    touched: dict[str, set[str]]  # per stream, primary keys of the rows the second read wrote
    second_requests: list[Any]  # the emulator's request log during the second read
    ids_after_first: dict[str, set[str]]


def _utc(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _row_counts(cache: ab.DuckDBCache) -> dict[str, int]:
    return {s: cache.run_sql_query(f'select count(*) as n from main."{s}"')[0]["n"] for s in SDK_EXAMPLE_STREAMS}


def _ids(cache: ab.DuckDBCache, stream: str, where: str = "true") -> set[str]:
    key = KEYS[stream]
    return {row["id"] for row in cache.run_sql_query(f'select {key} as id from main."{stream}" where {where}')}


@pytest.fixture(scope="module")
def sync(tmp_path_factory: pytest.TempPathFactory) -> Sync:
    assert airbyte.constants.AIRBYTE_OFFLINE_MODE, "airbyte was imported before AIRBYTE_OFFLINE_MODE=1 was set"
    tmp_path = tmp_path_factory.mktemp("pyairbyte")
    with Emulator(seed=0, sizes=SIZES, api_key=f"pyairbyte-{secrets.token_hex(8)}") as emulator:
        source = ab.get_source(
            "source-listrak",
            local_executable=connector_command()[0],
            config={
                "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
                "base_url": emulator.base_url,
                "requests_per_second": 0,
                "max_records_per_page": 1000,
            },
            streams="*",
        )
        cache = ab.DuckDBCache(db_path=tmp_path / "listrak.duckdb", cache_dir=tmp_path / "cache")

        window_start = datetime.now(UTC) - timedelta(days=INITIAL_SYNC_DAYS)
        first = source.read(cache=cache)
        expected_first = {s: emulator.expected_records(s, start=window_start) for s in SDK_EXAMPLE_STREAMS}
        first_counts = _row_counts(cache)
        ids_after_first = {s: _ids(cache, s) for s in INCREMENTAL_STREAMS}
        # Rows the second read writes carry a later `_airbyte_extracted_at` than any row of the first.
        first_extracted = {
            s: cache.run_sql_query(f'select max(_airbyte_extracted_at) as t from main."{s}"')[0]["t"]
            for s in SDK_EXAMPLE_STREAMS
        }

        added = {stream: emulator.add_records(stream, count) for stream, count in ADDED.items()}
        emulator.clear_log()
        second = source.read(cache=cache)
        second_requests = list(emulator.request_log)

    touched = {
        s: _ids(cache, s, f"_airbyte_extracted_at > '{first_extracted[s]}'::timestamp") for s in INCREMENTAL_STREAMS
    }
    return Sync(
        expected_first=expected_first,
        added=added,
        first_counts=first_counts,
        second_counts=_row_counts(cache),
        first_processed=first.processed_records,
        second_processed=second.processed_records,
        touched=touched,
        second_requests=second_requests,
        ids_after_first=ids_after_first,
    )


def test_first_read_lands_every_stream_with_the_emulators_row_counts(sync: Sync) -> None:
    expected = {stream: len(records) for stream, records in sync.expected_first.items()}
    assert set(expected) == set(SDK_EXAMPLE_STREAMS) and all(expected.values())
    assert sync.first_counts == expected
    assert sync.first_processed == sum(expected.values())  # nothing was read twice
    for stream in INCREMENTAL_STREAMS:  # the same rows, not only as many
        key = KEYS[stream]
        assert sync.ids_after_first[stream] == {str(r[key]) for r in sync.expected_first[stream]}, stream


def test_second_read_asks_the_api_only_for_what_came_after_the_saved_cursor(sync: Sync) -> None:
    for stream, entry in INCREMENTAL_STREAMS.items():
        cursor = entry.cursor_field
        _, start_param, _, _ = WINDOWED[stream]
        last_cursor = max(_utc(r[cursor]) for r in sync.expected_first[stream])
        starts = [e.query.get(start_param) for e in sync.second_requests if e.path == f"/{stream}"]
        assert starts and None not in starts, stream
        assert min(_utc(s) for s in starts) == last_cursor, stream  # inclusive restart, no 90-day re-read


def test_second_read_delivers_only_new_records_and_the_tables_grow_by_exactly_that(sync: Sync) -> None:
    for stream, entry in INCREMENTAL_STREAMS.items():
        key, cursor = KEYS[stream], entry.cursor_field
        last_cursor = max(_utc(r[cursor]) for r in sync.expected_first[stream])
        boundary = {str(r[key]) for r in sync.expected_first[stream] if _utc(r[cursor]) == last_cursor}
        new = {str(r["id"]) for r in sync.added[stream]}
        assert len(new) == ADDED[stream] and not new & sync.ids_after_first[stream], stream
        # the added records, plus the record(s) sharing the saved cursor, which the connector re-reads
        assert sync.touched[stream] == new | boundary, stream
    assert sync.second_processed == sum(len(sync.touched[s]) for s in INCREMENTAL_STREAMS) + sum(
        sync.first_counts[s] for s in full_refresh(SDK_EXAMPLE_STREAMS)
    )
    assert sync.second_counts == {s: sync.first_counts[s] + ADDED.get(s, 0) for s in SDK_EXAMPLE_STREAMS}
