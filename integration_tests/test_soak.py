"""Opt-in soak (`scripts/test -m soak`): a million events with 5% faults arrive exactly once."""

from __future__ import annotations

import json
import resource
import subprocess
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from integration_tests.emulator import Emulator, Faults, Sizes
from integration_tests.harness import configured_catalog, connector_command

EVENTS = 1_000_000


@pytest.mark.soak
def test_a_million_events_with_five_percent_faults_arrive_exactly_once() -> None:
    faults = Faults(rate_429=0.02, rate_5xx=0.02, rate_drop=0.01, retry_after="seconds", retry_after_seconds=1)
    with Emulator(seed=99, sizes=Sizes(events=EVENTS), faults=faults) as emulator, tempfile.TemporaryDirectory() as tmp:
        config = {
            "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
            "base_url": emulator.base_url,
            "requests_per_second": 0,
            "max_records_per_page": 1000,
            "backoff_factor_seconds": 0,
        }
        (Path(tmp) / "config.json").write_text(json.dumps(config))
        (Path(tmp) / "catalog.json").write_text(json.dumps(configured_catalog(["events"])))
        started = time.monotonic()
        process = subprocess.Popen(
            [*connector_command(), "read", "--config", f"{tmp}/config.json", "--catalog", f"{tmp}/catalog.json"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        ids: set[str] = set()
        records = 0
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith('{"type":"RECORD"'):
                records += 1
                ids.add(repr(json.loads(line)["record"]["data"]["event_id"]))
        assert process.wait() == 0
        elapsed = time.monotonic() - started
        expected = emulator.expected_count("events", start=datetime.now(UTC) - timedelta(days=90))
        faulted = sum(1 for entry in emulator.request_log if entry.fault)

    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"\nsoak: {records:,} records in {elapsed:.0f} s ({records / elapsed:,.0f}/s), "
        f"{faulted} faulted requests, connector peak RSS {peak_mb:.0f} MB"
    )
    assert records == len(ids) == expected
