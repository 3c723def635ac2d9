"""PyAirbyte reads the emulator through the local `source-listrak` command into its DuckDB cache."""

from __future__ import annotations

import os
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integration_tests.emulator import Emulator, Sizes
from integration_tests.harness import ALL_STREAMS, connector_command

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # no registry look-up
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("NO_LIVE_PROGRESS", "1")

with warnings.catch_warnings():
    warnings.simplefilter("ignore", FutureWarning)
    import airbyte as ab


def row_counts(cache: ab.DuckDBCache) -> dict[str, int]:
    return {
        stream: cache.run_sql_query(f'select count(*) as n from main."{stream}"')[0]["n"] for stream in ALL_STREAMS
    }


@pytest.mark.slow
def test_pyairbyte_reads_every_stream_into_duckdb_then_only_new_records(tmp_path: Path) -> None:
    sizes = Sizes(contacts=80, campaigns=12, events=900, custom_fields=4, interests=3, segments=2, sources=700)
    with Emulator(seed=8, sizes=sizes) as emulator:
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

        source.read(cache=cache)
        first = row_counts(cache)
        window_start = datetime.now(UTC) - timedelta(days=90)
        expected = {stream: emulator.expected_count(stream, start=window_start) for stream in ALL_STREAMS}
        emulator.add_records("events", 9)
        source.read(cache=cache)
        second = row_counts(cache)

    assert first == expected
    assert second == {**first, "events": first["events"] + 9}  # merged on the primary key: only new rows
