"""Opt-in soak: a million events with 5% faults arrive exactly once, in bounded memory.

    .venv/bin/python -m pytest integration_tests/test_soak.py -m soak -s

CI deselects it (`-m "not soak"`). It prints the connector's wall time, records per second, the faults the
emulator injected and the connector's peak RSS (sampled with psutil, cross-checked with getrusage).
"""

from __future__ import annotations

import json
import resource
import secrets
import subprocess
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import pytest

from listrak_emulators.sdk_example import Emulator, Faults, Sizes
from listrak_testkit.harness import configured_catalog, connector_command

EVENTS = 1_000_000
FAULTS = Faults(rate_429=0.02, rate_5xx=0.02, rate_drop=0.01, retry_after="seconds", retry_after_seconds=1)
TIMEOUT_SECONDS = 1800
PEAK_RSS_LIMIT_MB = 1024  # a leak (records kept in memory) would pass this long before a million events


class PeakRss:
    """Samples a process's resident set size every 0.2 s until it exits."""

    def __init__(self, pid: int) -> None:
        self.peak = 0
        self._process = psutil.Process(pid)
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while True:
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return
            time.sleep(0.2)

    def stop(self) -> int:
        self._thread.join(timeout=5)
        return self.peak


@pytest.mark.soak
def test_a_million_events_with_five_percent_faults_arrive_exactly_once() -> None:
    api_key = f"soak-{secrets.token_hex(12)}"
    with (
        Emulator(seed=99, sizes=Sizes(events=EVENTS), faults=FAULTS, api_key=api_key) as emulator,
        tempfile.TemporaryDirectory() as tmp,
    ):
        config = {
            "credentials": {"auth_type": "api_key", "api_key": api_key},
            "base_url": emulator.base_url,
            "requests_per_second": 0,
            "max_records_per_page": 1000,
            "backoff_factor_seconds": 0,
            "max_retry_wait_seconds": 5,
            "window_days": 7,
            "concurrency": 4,
        }
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        (Path(tmp) / "catalog.json").write_text(json.dumps(configured_catalog(["events"])))
        started = time.monotonic()
        with (Path(tmp) / "stderr.txt").open("w") as stderr:
            process = subprocess.Popen(
                [*connector_command(), "read", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"],
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                cwd=tmp,
            )
            rss = PeakRss(process.pid)
            watchdog = threading.Timer(TIMEOUT_SECONDS, process.kill)
            watchdog.start()
            records, ids, newest, last_state, errors = 0, set(), datetime.min.replace(tzinfo=UTC), None, []
            assert process.stdout is not None
            for line in process.stdout:
                if line.startswith('{"type":"RECORD"'):
                    data = json.loads(line)["record"]["data"]
                    records += 1
                    ids.add(repr(data["event_id"]))  # 1001 and "1001" are different ids
                    newest = max(newest, datetime.fromisoformat(data["event_timestamp"]))
                elif line.startswith('{"type":"STATE"'):
                    last_state = json.loads(line)["state"]["stream"]["stream_state"]["event_timestamp"]
                elif line.startswith('{"type":"TRACE"') and '"ERROR"' in line:
                    errors.append(json.loads(line)["trace"]["error"]["message"])
            returncode = process.wait()
            watchdog.cancel()
        elapsed = time.monotonic() - started
        peak_mb = rss.stop() / 2**20
        children_peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        expected = emulator.expected_count("events", start=datetime.now(UTC) - timedelta(days=90))
        requests = len(emulator.request_log)
        faulted = sum(1 for entry in emulator.request_log if entry.fault)

    print(
        f"\nsoak: {records:,} records (expected {expected:,}, {len(ids):,} distinct ids) in {elapsed:.1f} s "
        f"({records / elapsed:,.0f} records/s); {requests:,} requests, {faulted} faulted "
        f"({faulted / max(requests, 1):.1%}); connector peak RSS {peak_mb:.0f} MB "
        f"(getrusage of children: {children_peak_mb:.0f} MB)"
    )
    assert returncode == 0, errors
    assert records == expected, f"{records:,} records for {expected:,} expected"
    assert len(ids) == records, f"{records - len(ids):,} duplicates"
    assert last_state is not None and datetime.fromisoformat(last_state) == newest, (last_state, newest)
    assert faulted >= 0.03 * requests, f"only {faulted} of {requests} requests faulted"
    assert peak_mb < PEAK_RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB"
