"""No record lost or invented: interruption, out-of-order windows, fault storms, bounded retries."""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listrak_emulators.sdk_example import Emulator, Faults, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, full_refresh, incremental
from listrak_testkit.harness import (
    comparable,
    configured_catalog,
    connector_command,
    run_connector,
)

SIZES = Sizes(contacts=200, campaigns=30, events=3000, custom_fields=3, interests=3, segments=2, sources=600)
INCREMENTAL_STREAMS = incremental(SDK_EXAMPLE_STREAMS)
FULL_REFRESH_STREAMS = full_refresh(SDK_EXAMPLE_STREAMS)


def config_for(emulator: Emulator, **overrides: object) -> dict:
    return {
        "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
        "base_url": emulator.base_url,
        "requests_per_second": 0,
        "backoff_factor_seconds": 0,
        "max_retry_wait_seconds": 2,
        "max_records_per_page": 50,
        "window_days": 5,
        "concurrency": 6,
        **overrides,
    }


def key(record: dict) -> str:
    return json.dumps(comparable(record), sort_keys=True)


def expected_keys(emulator: Emulator, stream: str) -> Counter:
    start = datetime.now(UTC) - timedelta(days=90)
    return Counter(key(record) for record in emulator.expected_records(stream, start=start))


def read_until_killed(config: dict, catalog: dict, state: list | None, kill_after_lines: int) -> list[dict]:
    """Runs `read` and SIGKILLs it after `kill_after_lines` messages; returns what it printed before."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for name, value in (("config", config), ("catalog", catalog), ("state", state)):
            if value is not None:
                paths[name] = Path(tmp) / f"{name}.json"
                paths[name].write_text(json.dumps(value))
        args = connector_command() + ["read"] + [f"--{name}={path}" for name, path in paths.items()]
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=tmp)
        messages = []
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("{"):
                messages.append(json.loads(line))
            if len(messages) >= kill_after_lines:
                process.kill()
                break
        process.wait(timeout=60)
    return messages


def last_states(messages: list[dict]) -> list[dict]:
    last = {}
    for message in messages:
        if message["type"] == "STATE" and "stream" in message["state"]:
            last[message["state"]["stream"]["stream_descriptor"]["name"]] = message["state"]
    return list(last.values())


def assert_state_never_passes_an_unemitted_record(messages: list[dict], emulator: Emulator) -> None:
    """At every STATE line, each expected record at or before its cursor was already emitted."""
    emitted: dict[str, set[str]] = {stream: set() for stream in INCREMENTAL_STREAMS}
    expected = {stream: emulator.expected_records(stream) for stream in INCREMENTAL_STREAMS}
    for message in messages:
        if message["type"] == "RECORD" and message["record"]["stream"] in emitted:
            emitted[message["record"]["stream"]].add(key(message["record"]["data"]))
        if message["type"] == "STATE" and "stream" in message["state"]:
            stream = message["state"]["stream"]["stream_descriptor"]["name"]
            if stream not in emitted:
                continue
            cursor_field = INCREMENTAL_STREAMS[stream].cursor_field
            cursor = datetime.fromisoformat(message["state"]["stream"]["stream_state"][cursor_field])
            window_start = datetime.now(UTC) - timedelta(days=90)
            covered = [
                record
                for record in expected[stream]
                if window_start <= datetime.fromisoformat(record[cursor_field]) < cursor
            ]
            missing = [record for record in covered if key(record) not in emitted[stream]]
            assert not missing, f"{stream}: state {cursor} passed {len(missing)} records not yet emitted"


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_killed_sync_resumed_from_its_last_state_loses_nothing(seed: int) -> None:
    with Emulator(seed=seed, sizes=SIZES, faults=Faults(latency_ms=2)) as emulator:
        config, catalog = config_for(emulator), configured_catalog(INCREMENTAL_STREAMS)
        total_lines = sum(expected_keys(emulator, s).total() for s in INCREMENTAL_STREAMS)
        kill_after = random.Random(seed).randrange(total_lines // 5, total_lines * 4 // 5)

        first = read_until_killed(config, catalog, None, kill_after)
        resumed = run_connector("read", config, catalog, last_states(first))

        assert resumed.returncode == 0, resumed.errors()
        for stream in INCREMENTAL_STREAMS:
            got = Counter(
                key(m["record"]["data"]) for m in first if m["type"] == "RECORD" and m["record"]["stream"] == stream
            )
            got += Counter(key(record) for record in resumed.records(stream))
            want = expected_keys(emulator, stream)
            assert set(got) == set(want), (
                f"{stream}: lost {len(set(want) - set(got))}, invented {len(set(got) - set(want))}"
            )
            duplicates = got - want
            saved = {s["stream"]["stream_descriptor"]["name"]: s["stream"]["stream_state"] for s in last_states(first)}
            if stream in saved:  # duplicates only where the resumed sync started: at or after the saved cursor
                cursor_field = INCREMENTAL_STREAMS[stream].cursor_field
                saved_at = datetime.fromisoformat(saved[stream][cursor_field])
                assert all(datetime.fromisoformat(json.loads(d)[cursor_field]) >= saved_at for d in duplicates)
            else:
                assert not duplicates
        assert_state_never_passes_an_unemitted_record(first, emulator)


def test_out_of_order_windows_never_move_state_past_an_unfinished_window() -> None:
    with Emulator(seed=4, sizes=SIZES, faults=Faults(latency_ms=15, rate_5xx=0.1)) as emulator:
        result = run_connector(
            "read", config_for(emulator, window_days=2, concurrency=12), configured_catalog(INCREMENTAL_STREAMS)
        )
    assert result.returncode == 0, result.errors()
    states = [
        m
        for m in result.messages
        if m["type"] == "STATE" and m["state"]["stream"]["stream_descriptor"]["name"] == "events"
    ]
    assert len(states) >= 90 // 2  # at least one state per date window
    assert_state_never_passes_an_unemitted_record(result.messages, emulator)


def test_thirty_percent_faults_on_every_path_still_give_exactly_the_expected_records() -> None:
    faults = Faults(rate_429=0.1, rate_5xx=0.1, rate_drop=0.1, retry_after="mixed", retry_after_seconds=1)
    small = Sizes(contacts=60, campaigns=10, events=400, custom_fields=3, interests=3, segments=2, sources=1200)
    with Emulator(seed=9, sizes=small, faults=faults) as emulator:
        catalog = configured_catalog()
        result = run_connector("read", config_for(emulator, max_records_per_page=25, window_days=30), catalog)
        faulted = Counter(entry.fault for entry in emulator.request_log if entry.fault)
        assert result.returncode == 0, result.errors()
        assert sum(faulted.values()) >= 3, faulted
        for stream in FULL_REFRESH_STREAMS:
            assert Counter(key(r) for r in result.records(stream)) == Counter(
                key(r) for r in emulator.expected_records(stream)
            )
        for stream in INCREMENTAL_STREAMS:
            assert Counter(key(r) for r in result.records(stream)) == expected_keys(emulator, stream)


def test_exhausted_retries_name_the_path_the_status_and_the_attempts() -> None:
    faults = Faults(rate_5xx=1.0, max_consecutive=100)
    with Emulator(seed=1, sizes=SIZES, faults=faults) as emulator:
        result = run_connector("read", config_for(emulator, retry_attempts=2), configured_catalog(["segments"]))
        attempts = len(emulator.request_log)
    assert result.returncode != 0
    assert attempts == 3
    (first_error, *_) = result.errors()
    assert "/segments" in first_error
    assert "gave up after 3 attempts" in first_error
    assert any(f"HTTP {status}" in first_error for status in (500, 502, 503, 504))


@pytest.mark.parametrize("retry_after", ["far-future", "past"])
def test_retry_after_far_away_or_past_is_capped_and_never_hangs(retry_after: str) -> None:
    faults = Faults(rate_429=0.9, retry_after=retry_after)
    with Emulator(seed=3, sizes=SIZES, faults=faults) as emulator:
        started = time.monotonic()
        result = run_connector("read", config_for(emulator), configured_catalog(FULL_REFRESH_STREAMS), timeout=60)
        elapsed = time.monotonic() - started
        throttled = sum(1 for entry in emulator.request_log if entry.status == 429)
    assert result.returncode == 0, result.errors()
    assert throttled >= 1
    # each wait is at most max_retry_wait_seconds (2) plus the CDK's extra second
    assert elapsed < 5 + throttled * 3.5
