"""A key revoked in the middle of a sync stops the whole sync at the first 401: no new request to any
stream, one configuration error naming the credentials, and state that a later sync resumes from
without a gap. Counted from the emulator's request log, through the installed command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, incremental, single_key
from listrak_testkit.harness import Run, configured_catalog, run_connector

LATENCY_MS = 50
SIZES = Sizes(contacts=300, campaigns=60, events=1500, custom_fields=5, interests=4, segments=3, sources=1100)


@pytest.fixture(scope="module")
def api() -> Emulator:
    with Emulator(sizes=SIZES) as emulator:
        yield emulator


def config(api: Emulator, auth: str, concurrency: int) -> dict:
    credentials = (
        {"auth_type": "api_key", "api_key": api.api_key}
        if auth == "bearer"
        else {"auth_type": "basic", "account_id": api.account_id, "api_key": api.api_key}
    )
    return {
        "credentials": credentials,
        "base_url": api.base_url,
        "concurrency": concurrency,
        "requests_per_second": 0,
        "window_days": 5,
        "max_records_per_page": 50,
    }


def read(api: Emulator, auth: str, concurrency: int, state: list | None = None) -> Run:
    return run_connector("read", config(api, auth, concurrency), configured_catalog(), state, timeout=120)


# Every pair of requests accepted before the revocation and concurrency; the two ways of sending the key
# take turns (they differ in the header alone), each meeting every value of the other two.
CASES = [
    (accepted, concurrency, ("bearer", "basic")[(row + column) % 2])
    for row, accepted in enumerate([0, 6, 40])
    for column, concurrency in enumerate([1, 4, 8])
]


@pytest.mark.parametrize(("accepted", "concurrency", "auth"), CASES)
def test_a_revoked_key_stops_every_stream_at_the_first_401(
    api: Emulator, auth: str, concurrency: int, accepted: int
) -> None:
    first_sync_start = datetime.now(UTC) - timedelta(days=90) + timedelta(hours=1)  # 90: initial_sync_days
    api.clear_log()
    api.revoke_key_after(accepted)
    api.faults.latency_ms = LATENCY_MS
    try:
        run = read(api, auth, concurrency)
    finally:
        api.revoke_key_after(10**9)
        api.faults.latency_ms = 0
    log = list(api.request_log)

    rejected = [entry for entry in log if entry.status == 401]
    first = log.index(rejected[0])
    assert run.returncode != 0
    # The read stops as soon as the 401 reaches it. Each other worker may have had one request prepared
    # before that: it can arrive after the 401 was answered, and no second one can (a round trip takes
    # LATENCY_MS, far longer than the connector takes to read a 401).
    arrived_after = [entry for entry in log if entry.time > (rejected[0].answered or rejected[0].time)]
    assert len(arrived_after) <= concurrency - 1, [(e.path, e.status) for e in log[first:]]
    assert len(rejected) <= concurrency
    started_before = {entry.path for entry in log[: first + 1]}
    assert {entry.path for entry in log[first:]} <= started_before, "a stream was started after the 401"
    errors = [m["trace"]["error"] for m in run.of_type("TRACE") if m["trace"]["type"] == "ERROR"]
    assert len(errors) == 1, errors
    assert errors[0]["failure_type"] == "config_error"
    method = "Bearer API key" if auth == "bearer" else "Basic auth with account_id"
    assert "rejected the credentials (HTTP 401" in errors[0]["message"] and method in errors[0]["message"]
    assert api.api_key not in run.output

    # The state emitted before the stop is valid: a sync with a working key resumes without a gap.
    api.clear_log()
    resumed = read(api, auth, concurrency, state=run.final_state_messages())
    assert resumed.returncode == 0, resumed.errors()
    for stream, entry in incremental(SDK_EXAMPLE_STREAMS).items():
        key = single_key(entry)
        seen = {record[key] for record in run.records(stream) + resumed.records(stream)}
        assert seen >= {record[key] for record in api.expected_records(stream, start=first_sync_start)}, stream
