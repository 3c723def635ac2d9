"""PyAirbyte reads Listrak's Email API (OAuth2 client credentials) through the installed command into DuckDB.

The first read lands every engagement stream with exactly the emulator's expected rows. Between the
reads a recipient clicks a message sent inside the engagement window, without moving its first
activity date; the second, incremental read updates that recipient's row in place (PyAirbyte merges
on the primary key), and no table gains a row it should not.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_tests.offline_pyairbyte import ab
from integration_tests.test_email_api import config as email_api_config
from listrak_emulators.email_v1 import PRIMARY_KEYS, EmailV1Emulator, Sizes
from listrak_testkit.harness import connector_command

pytestmark = pytest.mark.slow

STREAMS = ["lists", "contacts", "messages", "message_summary", "message_activity", "message_link_clickers"]
SIZES = Sizes(contacts_per_list=120, messages_per_list=6, recipients_per_message=30)


def _count(cache: ab.DuckDBCache, stream: str) -> int:
    return int(cache.run_sql_query(f'select count(*) as n from main."{stream}"')[0]["n"])


def _activity(cache: ab.DuckDBCache, message_id: int, email: str) -> dict[str, Any]:
    (row,) = cache.run_sql_query(
        f"select click, clickcount, activitydate from main.message_activity "
        f"where messageid = {message_id} and emailaddress = '{email}'"
    )
    return dict(row)


def test_pyairbyte_reads_the_email_api_and_a_late_click_updates_its_row(tmp_path) -> None:
    with EmailV1Emulator(seed=31, sizes=SIZES, now=datetime.now(UTC) - timedelta(days=1)) as api:
        source = ab.get_source(
            "source-listrak", local_executable=connector_command()[0], config=email_api_config(api), streams=STREAMS
        )
        cache = ab.DuckDBCache(db_path=tmp_path / "listrak.duckdb", cache_dir=tmp_path / "cache")

        source.read(cache=cache)

        for stream in STREAMS:
            assert _count(cache, stream) == len(api.expected_records(stream)), stream
        newest = max(
            (r for r in api.expected_records("messages") if r.get("sendDate")), key=lambda r: r["sendDate"]
        )
        quiet = next(
            r for r in api.expected_records("message_activity")
            if r["messageId"] == newest["messageId"] and not r.get("click")
        )
        api.advance(api.now + timedelta(hours=2))
        api.engage(newest["messageId"], quiet["emailAddress"], click=True)
        api.advance(api.now + timedelta(hours=1))

        source.read(cache=cache)

        row = _activity(cache, newest["messageId"], quiet["emailAddress"])
        assert row["click"] is True and row["clickcount"] >= 1
        for stream in STREAMS:  # merged on the primary key: nothing duplicated
            keys = ", ".join(column.lower() for column in PRIMARY_KEYS[stream])
            distinct = cache.run_sql_query(f'select count(*) as n from (select distinct {keys} from main."{stream}")')
            assert distinct[0]["n"] == _count(cache, stream), stream
