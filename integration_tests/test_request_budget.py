"""The request budget, read from the emulator's request log: the installed `source-listrak` command
with `requests_per_second: 5` and 8 concurrent windows never lets the API see more than 5 requests
in any one second, 429 retries included, and it honours every Retry-After.

The manifest's limiter (`api_budget`) spaces requests in windows of 1.25 s; those 250 ms absorb the
jitter between the moment a worker takes its turn and the moment its request arrives. So the test
allows no jitter of its own: it counts the requests whose arrival (the emulator's monotonic clock) lies
in [t, t + 1 s) for every arrival t.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest

from listrak_emulators.http import RequestLogEntry
from listrak_emulators.sdk_example import Emulator, Faults, Sizes
from listrak_testkit.harness import configured_catalog, run_connector

pytestmark = pytest.mark.slow

BUDGET = 5  # requests per second
API_KEY = "budget-key-0123456789"
INITIAL_SYNC_DAYS = 90
WINDOW_DAYS = 4  # 23 windows over 90 days: enough requests for the budget to bind several times


def config(emulator: Emulator, window_days: int) -> dict:
    return {
        "credentials": {"auth_type": "api_key", "api_key": API_KEY},
        "base_url": emulator.base_url,
        "requests_per_second": BUDGET,
        "max_records_per_page": 1000,
        "initial_sync_days": INITIAL_SYNC_DAYS,
        "concurrency": 8,
        "window_days": window_days,
        "retry_attempts": 5,
        "backoff_factor_seconds": 1,
        "max_retry_wait_seconds": 30,
    }


def most_in_one_second(arrivals: Iterable[float]) -> int:
    """The largest number of arrivals within [t, t + 1 s) over every arrival t."""
    ordered, best, low = sorted(arrivals), 0, 0
    for high, moment in enumerate(ordered):
        while ordered[low] <= moment - 1.0:
            low += 1
        best = max(best, high - low + 1)
    return best


def arrivals(log: list[RequestLogEntry]) -> str:
    """Arrival times (seconds after the first), status and page of every request: the failure message."""
    first = min(entry.time for entry in log)
    lines = (f"{entry.time - first:7.3f} {entry.status} {entry.raw_query}" for entry in log)
    return "\n".join(sorted(lines))


def retry_after_shortfalls(log: list[RequestLogEntry]) -> list[str]:
    """Each 429 whose Retry-After the next request for the same page did not wait out."""
    by_request: dict[str, list[RequestLogEntry]] = {}
    for entry in sorted(log, key=lambda entry: entry.time):
        by_request.setdefault(f"{entry.path}?{entry.raw_query}", []).append(entry)
    shortfalls = []
    for key, entries in by_request.items():
        for entry, retry in zip(entries, entries[1:], strict=False):
            if entry.status != 429 or entry.retry_after is None:
                continue
            if entry.retry_after.isdigit():  # seconds, counted from the answer
                waited_enough = retry.time - entry.answered >= int(entry.retry_after)  # type: ignore[operator]
            else:  # an HTTP-date, on the same clock as the log's wall time
                waited_enough = retry.wall_time >= parsedate_to_datetime(entry.retry_after).timestamp()
            if not waited_enough:
                shortfalls.append(f"{key}: Retry-After {entry.retry_after!r} not waited out")
    return shortfalls


def read_events(faults: Faults, window_days: int = WINDOW_DAYS) -> tuple[Emulator, int, int]:
    """(the emulator, records read, records expected) after one incremental read of events."""
    with Emulator(seed=0, sizes=Sizes(events=8000, contacts=50, campaigns=10, sources=10), faults=faults,
                  api_key=API_KEY) as emulator:  # fmt: skip
        started = datetime.now(UTC)
        run = run_connector("read", config(emulator, window_days), configured_catalog(["events"]), timeout=120)
    assert run.returncode == 0 and not run.errors(), run.output[-2000:]
    expected = emulator.expected_count("events", start=started - timedelta(days=INITIAL_SYNC_DAYS))
    return emulator, len(run.records("events")), expected


def test_the_api_never_sees_more_than_the_budget_in_one_second() -> None:
    emulator, records, expected = read_events(Faults(latency_ms=50))
    log = emulator.request_log
    assert records == expected > 0
    assert len(log) > 3 * BUDGET  # the limiter had to hold requests back several times
    assert most_in_one_second(entry.time for entry in log) <= BUDGET, arrivals(log)


def test_429_retries_stay_within_the_budget_and_wait_out_retry_after() -> None:
    # Every page is answered 429 twice, first with Retry-After: 1, then with an HTTP-date; then 200.
    faults = Faults(latency_ms=50, rate_429=1.0, retry_after="mixed", retry_after_seconds=1, max_consecutive=2)
    emulator, records, expected = read_events(faults, window_days=10)
    log = emulator.request_log
    assert records == expected > 0
    statuses = [entry.status for entry in log]
    assert statuses.count(429) == 2 * statuses.count(200) > 2 * BUDGET
    assert retry_after_shortfalls(log) == []
    assert most_in_one_second(entry.time for entry in log) <= BUDGET, arrivals(log)
