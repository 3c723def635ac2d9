"""State the connector did not write, or wrote long ago: each gets a tested, documented outcome."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.harness import Run, configured_catalog, run_connector

SIZES = Sizes(contacts=50, campaigns=10, events=400, custom_fields=2, interests=2, segments=2, sources=10)


@pytest.fixture
def emulator():
    with Emulator(seed=13, sizes=SIZES) as emu:
        yield emu


def read_events(emulator: Emulator, stream_state: dict) -> Run:
    config = {
        "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
        "base_url": emulator.base_url,
        "requests_per_second": 0,
    }
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"}, "stream_state": stream_state}}]
    return run_connector("read", config, configured_catalog(["events"]), state)


def warnings_of(result: Run) -> list[str]:
    return [m["log"]["message"] for m in result.of_type("LOG") if m["log"]["level"] == "WARN"]


@pytest.mark.parametrize("cursor", ["garbage", 12345, None, {"nested": "2026-01-01"}])
def test_an_unreadable_cursor_warns_and_reads_the_initial_window_again(emulator: Emulator, cursor) -> None:
    result = read_events(emulator, {"event_timestamp": cursor})
    assert result.returncode == 0
    assert any("has no usable 'event_timestamp'" in warning for warning in warnings_of(result))
    assert len(result.records("events")) == emulator.expected_count(
        "events", start=datetime.now(UTC) - timedelta(days=90)
    )


def test_state_under_a_foreign_key_is_treated_as_no_state(emulator: Emulator) -> None:
    result = read_events(emulator, {"last_sync_time": "2026-11-01T00:00:00Z"})  # seed 000's Fivetran state
    assert result.returncode == 0
    assert len(result.records("events")) == emulator.expected_count(
        "events", start=datetime.now(UTC) - timedelta(days=90)
    )


def test_a_cursor_in_the_future_reads_nothing_keeps_the_state_and_says_so(emulator: Emulator) -> None:
    result = read_events(emulator, {"event_timestamp": "2099-01-01T00:00:00Z"})
    assert result.returncode == 0
    assert result.records("events") == []
    assert any("in the future" in warning for warning in warnings_of(result))
    assert result.states("events")[-1]["state"]["event_timestamp"].startswith("2099-01-01T00:00:00")
    assert emulator.request_log == []


def test_an_older_state_with_a_utc_offset_is_read_from_its_instant(emulator: Emulator) -> None:
    since = datetime.now(UTC) - timedelta(days=10)
    local = since.astimezone(timezone(timedelta(hours=5, minutes=30)))
    result = read_events(emulator, {"event_timestamp": local.isoformat()})
    assert result.returncode == 0
    assert len(result.records("events")) == emulator.expected_count("events", start=since)


def test_a_saved_cursor_older_than_the_initial_window_is_read_from_without_a_gap(emulator: Emulator) -> None:
    since = datetime.now(UTC) - timedelta(days=120)
    result = read_events(emulator, {"event_timestamp": since.strftime("%Y-%m-%dT%H:%M:%S.%fZ")})
    assert len(result.records("events")) == emulator.expected_count("events", start=since)
    assert emulator.expected_count("events", start=since) > emulator.expected_count(
        "events", start=datetime.now(UTC) - timedelta(days=90)
    )


def test_state_for_an_unknown_stream_is_ignored(emulator: Emulator) -> None:
    config = {
        "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
        "base_url": emulator.base_url,
        "requests_per_second": 0,
    }
    state = [{"type": "STREAM", "stream": {"stream_descriptor": {"name": "no_such_stream"}, "stream_state": {"x": 1}}}]
    result = run_connector("read", config, configured_catalog(["segments"]), state)
    assert result.returncode == 0
    assert len(result.records("segments")) == SIZES.segments
