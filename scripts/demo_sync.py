"""Demo sync of the API-key contract (`scripts/demo --api-key`): emulator -> source-listrak (through
PyAirbyte) -> local DuckDB. The generic REST contract that existing API-key configurations use.

The first run syncs the last 90 days of every stream into .demo/api_key/listrak.duckdb. Every later run
replays the same emulated account, lets it gain a few contacts, a campaign and some events, and
syncs incrementally from the state PyAirbyte saved in that file. `--reset` starts over.
Also the shared pieces of scripts/demo_email_api.py: progress lines, table counts, PyAirbyte set-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import threading
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, full_refresh, incremental
from listrak_testkit.harness import connector_command

os.environ.setdefault("AIRBYTE_OFFLINE_MODE", "1")  # no registry look-up, no telemetry (read at import)
os.environ.setdefault("DO_NOT_TRACK", "1")
warnings.filterwarnings("ignore", category=FutureWarning)  # google-* libraries PyAirbyte imports

REPO = Path(__file__).resolve().parent.parent
DEMO_ROOT = REPO / ".demo"
DEMO_DIR = DEMO_ROOT / "api_key"
DB_PATH = DEMO_DIR / "listrak.duckdb"
RUN_FILE = DEMO_DIR / "emulator.json"  # the emulated account (clock, seed, size, records added) across runs
SEED = 7
DEFAULT_EVENTS = 20_000
INITIAL_SYNC_DAYS = 90  # the connector's default initial window
NEW_PER_RUN = {"contacts": 5, "campaigns": 1, "events": 40}


def say(message: str) -> None:
    print(f"[demo {time.strftime('%H:%M:%S')}] {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reset", action="store_true", help="forget earlier runs and start over")
    parser.add_argument(
        "--events", type=int, help=f"events in the emulated account on a fresh start (default {DEFAULT_EVENTS:,})"
    )
    args = parser.parse_args(argv)
    wall_start = time.monotonic()

    previous = _previous_run(args.reset)
    if previous and args.events is not None and args.events != previous["events"]:
        say(f"--events applies to a fresh start; keeping {previous['events']:,} (use --reset to change it)")
    DEMO_DIR.mkdir(parents=True, exist_ok=True)
    now = datetime.fromisoformat(previous["now"]) if previous else datetime.now(UTC)
    events = previous["events"] if previous else (args.events or DEFAULT_EVENTS)
    window_start = (
        datetime.fromisoformat(previous["window_start"]) if previous else now - timedelta(days=INITIAL_SYNC_DAYS)
    )
    run = previous["runs"] + 1 if previous else 1
    added = previous["added"] if previous else {}

    # The same account as last time: same seed, clock and size, plus the records earlier runs added,
    # restored with their original timestamps so they sit behind the saved cursors.
    emulator = Emulator(seed=SEED, sizes=Sizes(events=events), now=now, additions=added)

    say("loading PyAirbyte...")
    ab = import_pyairbyte()
    live_view = sys.stderr.isatty() and "CI" not in os.environ and "NO_LIVE_PROGRESS" not in os.environ
    if not live_view:
        os.environ["NO_LIVE_PROGRESS"] = "1"  # PyAirbyte prints nothing while reading; we print a heartbeat

    with emulator:
        say(f"Listrak API emulator listening on {emulator.base_url}")
        if previous:
            for stream, count in NEW_PER_RUN.items():
                emulator.add_records(stream, count)
            gained = ", ".join(
                f"{count} {stream if count != 1 else stream[:-1]}" for stream, count in NEW_PER_RUN.items()
            )
            say(f"run {run}: INCREMENTAL sync from the state saved in {shown(DB_PATH)}")
            say(f"since run {run - 1} the API gained {gained}")
        else:
            in_window = emulator.expected_count("events", start=window_start)
            say(f"run 1: FIRST sync: the last {INITIAL_SYNC_DAYS} days of all {len(SDK_EXAMPLE_STREAMS)} streams")
            say(f"the API holds {events:,} events, {in_window:,} of them in that window")

        source = ab.get_source(
            "source-listrak",
            local_executable=connector_command()[0],
            config={
                "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
                "base_url": emulator.base_url,
                "max_records_per_page": 1000,
                "requests_per_second": 0,
            },
            streams="*",
        )
        cache = ab.DuckDBCache(db_path=DB_PATH, cache_dir=DEMO_DIR / "cache")
        before = table_stats(cache)
        heartbeat = None if live_view else Heartbeat(emulator)
        started = time.monotonic()
        try:
            source.read(cache=cache)
        finally:
            if heartbeat:
                heartbeat.stop()
        elapsed = time.monotonic() - started
        after = table_stats(cache, since=before)
        expected = {stream: emulator.expected_count(stream, start=window_start) for stream in SDK_EXAMPLE_STREAMS}
    say(f"sync finished in {elapsed:.1f} s; emulator stopped")

    print(f"\n{'stream':<16}{'read this run':>15}{'rows in table':>15}{'new rows':>10}")
    for stream in SDK_EXAMPLE_STREAMS:
        rows, read = after.get(stream, (0, 0))
        new_rows = rows - before.get(stream, (0, 0))[0]
        print(f"{stream:<16}{read:>15,}{rows:>15,}{new_rows:>10,}")
    print()
    if previous:
        *others, last = incremental(SDK_EXAMPLE_STREAMS)
        print(f"Incremental: {', '.join(others)} and {last} were read only from their saved cursors onward; the")
        print("record on each cursor is read again and merged on its primary key, so nothing is duplicated.")
        print(f"The {len(full_refresh(SDK_EXAMPLE_STREAMS))} small streams have no cursor: read in full and replaced.")
    else:
        print("Run scripts/demo again: the next run is incremental and reads only what the API gained.")

    rows_now = {stream: after.get(stream, (0, 0))[0] for stream in SDK_EXAMPLE_STREAMS}
    wrong = {stream: (rows_now[stream], count) for stream, count in expected.items() if rows_now[stream] != count}
    if wrong:
        for stream, (rows, count) in wrong.items():
            say(f"MISMATCH: {stream} has {rows:,} rows, the API has {count:,} in the sync window")
        return 1
    print("Checked: every table holds exactly the rows the API has in the sync window.")
    print(f"\nDuckDB file: {DB_PATH}  (run {run}, {time.monotonic() - wall_start:.1f} s in all)")
    print(
        f"query it:    .venv/bin/python -c \"import duckdb; db = duckdb.connect('{shown(DB_PATH)}', read_only=True); "
        "db.sql('select event_type, count(*) as events from main.events group by 1 order by 2 desc').show()\""
    )
    RUN_FILE.write_text(
        json.dumps(
            {
                "now": now.isoformat(),
                "window_start": window_start.isoformat(),
                "events": events,
                "runs": run,
                "added": emulator.additions(),
            }
        )
    )
    return 0


def _previous_run(reset: bool) -> dict[str, Any] | None:
    """The last successful run's emulator settings, or None after clearing .demo for a fresh start."""
    if not reset and RUN_FILE.exists() and DB_PATH.exists():
        try:
            previous = json.loads(RUN_FILE.read_text())
            if {"now", "window_start", "events", "runs", "added"} <= previous.keys():
                return previous
        except json.JSONDecodeError:
            pass
        say(f"{shown(RUN_FILE)} is from another version of this demo: starting over")
    elif not reset and (RUN_FILE.exists() or DB_PATH.exists()):
        say("an earlier run did not finish: starting over")
    if DEMO_DIR.exists():
        shutil.rmtree(DEMO_DIR)
    return None


def import_pyairbyte() -> Any:
    import airbyte as ab
    import airbyte.progress
    import airbyte.types

    # This is a script: PyAirbyte takes a piped stdout for a notebook and prints `<IPython...Markdown
    # object>` lines. Without that guess it shows its live view on a terminal, else nothing.
    airbyte.progress.IS_NOTEBOOK = False

    # Listrak ids are integers or strings (`"type": ["integer", "string"]`); PyAirbyte stores them as
    # VARCHAR, as it should, but prints a note for every id column of every batch. Drop only that note.
    rich_print = airbyte.types.print

    def print_without_type_notes(*objects: Any, **kwargs: Any) -> None:
        if not (objects and str(objects[0]).startswith("Could not determine airbyte type")):
            rich_print(*objects, **kwargs)

    airbyte.types.print = print_without_type_notes  # type: ignore[attr-defined]
    return ab


class Heartbeat:
    """A progress line every few seconds while the sync runs: the requests the emulator has answered.

    Requests, not records: the API serves more records than the tables get rows (a stream under `lists`
    reads the lists again to know what to ask for, and so on down), and a count of records beside the
    row counts would not add up."""

    def __init__(self, emulator: Any, every: float = 3.0) -> None:
        self._emulator, self._every, self._started = emulator, every, time.monotonic()
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="demo-heartbeat")
        self._thread.start()

    def _run(self) -> None:
        while not self._stopped.wait(self._every):
            seconds, answered = time.monotonic() - self._started, self.requests()
            if answered:
                say(f"  syncing, {seconds:3.0f} s: {answered:,} requests answered so far")
            else:
                say(f"  syncing, {seconds:3.0f} s: the connector is starting (spec, discover)")

    def requests(self) -> int:
        return len(list(self._emulator.request_log))

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def table_stats(
    cache: Any, since: dict[str, tuple[int, Any]] | None = None, streams: Any = SDK_EXAMPLE_STREAMS
) -> dict[str, tuple[int, Any]]:
    """Per stream table: (rows, latest _airbyte_extracted_at), or with `since`: (rows, rows written since)."""
    existing = {
        row["table_name"]
        for row in cache.run_sql_query("select table_name from information_schema.tables where table_schema = 'main'")
    }
    stats = {}
    for stream in streams:
        if stream not in existing:
            continue
        rows, latest = cache.run_sql_query(
            f'select count(*) as n, max(_airbyte_extracted_at) as t from main."{stream}"'
        )[0].values()
        if since is None:
            stats[stream] = (rows, latest)
            continue
        previous = since.get(stream, (0, None))[1]
        written = (
            rows
            if previous is None
            else cache.run_sql_query(
                f"select count(*) as n from main.\"{stream}\" where _airbyte_extracted_at > '{previous}'::timestamp"
            )[0]["n"]
        )
        stats[stream] = (rows, written)
    return stats


def shown(path: Path) -> str:
    """The path relative to the working directory when it is inside it."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
