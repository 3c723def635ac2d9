"""Demo sync of Listrak's Email API (the shape real accounts have): emulator -> source-listrak, with OAuth2
client credentials, through PyAirbyte -> local DuckDB. Run by scripts/demo (`--api-key` runs the demo of
the API-key contract instead).

The first run syncs every stream into .demo/email_api/listrak.duckdb: lists, contacts, profile fields,
campaigns, messages sent in the last 90 days with every recipient's engagement, conversations and
transactional mail. Every later run replays the same emulated account, moves its clock on, sends a new
message, has some recipients open and click it, unsubscribes and subscribes a few contacts, and syncs
incrementally from the state PyAirbyte saved. `--reset` starts over.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import demo_sync  # beside this script
from demo_sync import Heartbeat, import_pyairbyte, say, shown, table_stats

from listrak_emulators.email_v1 import EmailV1Emulator, Sizes
from listrak_testkit.catalogue import EMAIL_API_STREAMS, incremental
from listrak_testkit.harness import connector_command

DEMO_DIR = demo_sync.DEMO_ROOT / "email_api"
DB_PATH = DEMO_DIR / "listrak.duckdb"
RUN_FILE = DEMO_DIR / "emulator.json"  # the emulated account's clock at each run
SEED = 7
SIZES = Sizes(contacts_per_list=2_000, messages_per_list=30, recipients_per_message=400)
INITIAL_SYNC_DAYS = 90  # the connector's default first-sync history for engagement
STEP = timedelta(hours=1)  # how far the account's clock moves between runs


def main(argv: list[str]) -> int:
    if "--api-key" in argv:
        return demo_sync.main([arg for arg in argv if arg != "--api-key"])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset", action="store_true", help="forget earlier runs and start over")
    parser.add_argument("--api-key", action="store_true", help="the demo of the API-key contract instead")
    args = parser.parse_args(argv)
    wall_start = time.monotonic()

    clocks = _previous_clocks(args.reset)
    latest = datetime.now(UTC) - timedelta(minutes=1)  # the account's clock never runs ahead of the connector's
    clocks.append(min(clocks[-1] + STEP, latest) if clocks else datetime.now(UTC) - timedelta(days=1))
    run, window_start = len(clocks), clocks[0] - timedelta(days=INITIAL_SYNC_DAYS)
    DEMO_DIR.mkdir(parents=True, exist_ok=True)

    emulator = EmailV1Emulator(seed=SEED, sizes=SIZES, now=clocks[0])
    for number, clock in enumerate(clocks[1:], start=2):  # the same account as last time, then this run's changes
        changes = _mutate(emulator, clock, number)
    say("loading PyAirbyte...")
    ab = import_pyairbyte()
    os.environ["NO_LIVE_PROGRESS"] = "1"  # PyAirbyte prints nothing while reading; the heartbeat does

    with emulator:
        say(f"Listrak Email API emulator listening on {emulator.base_url} (token endpoint {emulator.token_url})")
        if run == 1:
            since = f"{window_start:%Y-%m-%d}"
            say(f"run 1: FIRST sync of all {len(EMAIL_API_STREAMS)} streams; engagement of messages sent since {since}")
        else:
            say(f"run {run}: INCREMENTAL sync from the state saved in {shown(DB_PATH)}")
            say(f"since run {run - 1}: {changes}")
        source = ab.get_source(
            "source-listrak",
            local_executable=connector_command()[0],
            config={
                "credentials": {
                    "auth_type": "oauth2_client_credentials",
                    "client_id": emulator.client_id,
                    "client_secret": emulator.client_secret,
                },
                "base_url": emulator.base_url,
                "token_url": emulator.token_url,
                "start_date": window_start.isoformat(),
            },
            streams="*",
        )
        cache = ab.DuckDBCache(db_path=DB_PATH, cache_dir=DEMO_DIR / "cache")
        before = table_stats(cache, streams=EMAIL_API_STREAMS)
        heartbeat = Heartbeat(emulator)
        started = time.monotonic()
        try:
            source.read(cache=cache)
        finally:
            heartbeat.stop()
        elapsed = time.monotonic() - started
        after = table_stats(cache, since=before, streams=EMAIL_API_STREAMS)
        expected = {s: len(emulator.expected_records(s, sent_since=window_start)) for s in EMAIL_API_STREAMS}
    say(f"sync finished in {elapsed:.1f} s; emulator stopped")

    _print_table(before, after)
    if run > 1:
        print("Incremental: contacts from their saved cursor; messages and their engagement again for every message")
        print("sent in the 7 days before the saved cursor (late opens and clicks arrive), merged on primary keys;")
        print(f"the {len(EMAIL_API_STREAMS) - len(incremental(EMAIL_API_STREAMS))} other streams are read in full.")
    else:
        print("Run scripts/demo again: the next run is incremental.")
    wrong = {s: (after.get(s, (0, 0))[0], n) for s, n in expected.items() if after.get(s, (0, 0))[0] != n}
    for stream, (rows, count) in wrong.items():
        say(f"MISMATCH: {stream} has {rows:,} rows, the API has {count:,}")
    if wrong:
        return 1
    print("Checked: every table holds exactly the rows the API has.")
    print(f"\nDuckDB file: {DB_PATH}  (run {run}, {time.monotonic() - wall_start:.1f} s in all)")
    print(
        f"query it:    .venv/bin/python -c \"import duckdb; db = duckdb.connect('{shown(DB_PATH)}', read_only=True); "
        "db.sql('select messageid, count(*) filter (where open) as opens, count(*) filter (where click) as clicks "
        "from main.message_activity group by 1 order by 1').show()\""
    )
    RUN_FILE.write_text(json.dumps({"clocks": [clock.isoformat() for clock in clocks]}))
    return 0


def _mutate(emulator: EmailV1Emulator, clock: datetime, run: int) -> str:
    """What happens in the account before run `run`: the same every time the run is replayed."""
    emulator.advance(clock)
    list_id = emulator.list_ids[0]
    message_id = emulator.send_message(list_id)
    activity = emulator.expected_records("message_activity")
    recipients = [r["emailAddress"] for r in activity if r["messageId"] == message_id]
    for email in recipients[:5]:
        emulator.engage(message_id, email, click=True)
    contacts = sorted(
        r["emailAddress"]
        for r in emulator.expected_records("contacts")
        if r["listId"] == list_id and r["subscriptionState"] == "Subscribed"
    )
    leaving = contacts[2 * run : 2 * run + 2]
    emulator.unsubscribe(leaving, list_id)
    joined = emulator.subscribe(3, list_id)
    return (
        f"message {message_id} sent to {len(recipients):,} (5 opened and clicked), "
        f"{len(leaving)} unsubscribed, {len(joined)} subscribed"
    )


def _print_table(before: dict[str, tuple[int, Any]], after: dict[str, tuple[int, Any]]) -> None:
    width = max(map(len, EMAIL_API_STREAMS)) + 2
    print(f"\n{'stream':<{width}}{'read this run':>15}{'rows in table':>15}{'new rows':>10}")
    for stream in EMAIL_API_STREAMS:
        rows, read = after.get(stream, (0, 0))
        print(f"{stream:<{width}}{read:>15,}{rows:>15,}{rows - before.get(stream, (0, 0))[0]:>10,}")
    print()


def _previous_clocks(reset: bool) -> list[datetime]:
    """The account's clock at each earlier run, or [] after clearing the demo's directory for a fresh start."""
    if not reset and RUN_FILE.exists() and DB_PATH.exists():
        try:
            return [datetime.fromisoformat(clock) for clock in json.loads(RUN_FILE.read_text())["clocks"]]
        except (json.JSONDecodeError, KeyError, ValueError):
            say(f"{shown(RUN_FILE)} is from another version of this demo: starting over")
    elif not reset and (RUN_FILE.exists() or DB_PATH.exists()):
        say("an earlier run did not finish: starting over")
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    return []


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
