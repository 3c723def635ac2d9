"""Contract: time windows with an inclusive start and an exclusive end; the first sync reads
``initial_sync_days`` back; state keeps the greatest cursor emitted and the next sync asks from it;
``enable_incremental_sync: false`` reads the whole initial window every time; ``lookback_minutes``
re-reads before the cursor."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, incremental
from unit_tests.connector import (
    bearer_config,
    final_state,
    read_streams,
    records,
    state_messages_of,
)
from unit_tests.fake_listrak import (
    WINDOW_FORMAT,
    WINDOWED,
    FakeListrak,
    api_event,
    iso,
    parse_window_value,
    recent,
    utc_now,
)

ONE_MICROSECOND = timedelta(microseconds=1)
INCREMENTAL_STREAMS = incremental(SDK_EXAMPLE_STREAMS)


def windows(listrak: FakeListrak, stream: str) -> list[tuple[datetime, datetime]]:
    """The distinct (start, end) windows the connector asked for, in time order."""
    path, _, start_param, end_param, _ = WINDOWED[stream]
    asked = {(q[start_param], q[end_param]) for q in listrak.queries(path)}
    for start, end in asked:
        for value in (start, end):
            datetime.strptime(value, WINDOW_FORMAT)  # ISO-8601 with an offset (Z), microseconds
    return sorted((parse_window_value(start), parse_window_value(end)) for start, end in asked)


def cursor_state(stream: str, moment: datetime) -> dict[str, dict[str, str]]:
    return {stream: {INCREMENTAL_STREAMS[stream].cursor_field: moment.strftime(WINDOW_FORMAT)}}


@pytest.mark.parametrize("stream", list(INCREMENTAL_STREAMS))
def test_first_sync_starts_initial_sync_days_ago(stream: str, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_window(stream, [])

    before = utc_now()
    read_streams(bearer_config(api_key, initial_sync_days=20, window_days=7), stream)
    after = utc_now()

    asked = windows(listrak, stream)
    assert before - timedelta(days=20, seconds=1) <= asked[0][0] <= after - timedelta(days=20)
    assert before <= asked[-1][1] <= after + timedelta(seconds=1)


@pytest.mark.parametrize("stream", list(INCREMENTAL_STREAMS))
def test_windows_are_contiguous_with_an_exclusive_end(stream: str, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_window(stream, [])

    read_streams(bearer_config(api_key, initial_sync_days=20, window_days=7), stream)

    asked = windows(listrak, stream)
    assert len(asked) == 3
    for (_, previous_end), (start, _) in zip(asked, asked[1:], strict=False):
        assert start == previous_end, "a gap or an overlap between windows"
    for start, end in asked[:-1]:
        # The slice ends on its last included microsecond; the API's end is exclusive, so one more is sent.
        assert end - start == timedelta(days=7)


def test_events_window_is_inclusive_start_exclusive_end(listrak: FakeListrak, api_key: str) -> None:
    start = recent(hours=24 * 10)
    boundary = start + timedelta(days=7)
    moments = {
        "at-start": start,
        "last-microsecond-of-first": boundary - ONE_MICROSECOND,
        "at-boundary": boundary,
        "just-after-boundary": boundary + ONE_MICROSECOND,
        "yesterday": recent(hours=24),
    }
    listrak.serve_window("events", [api_event(name, iso(moment)) for name, moment in moments.items()])

    config = bearer_config(api_key, initial_sync_days=20, window_days=7)
    output = read_streams(config, "events", state=cursor_state("events", start))

    assert windows(listrak, "events")[0] == (start, boundary)
    assert sorted(e["event_id"] for e in records(output, "events")) == sorted(moments)  # each exactly once


def test_state_holds_the_greatest_cursor_emitted_not_the_last(listrak: FakeListrak, api_key: str) -> None:
    latest = recent(hours=2)
    listrak.serve_pages(
        "events",
        "events",
        [
            [
                api_event(1, iso(recent(hours=30))),
                api_event(2, iso(latest, offset_minutes=120, fraction=".5")),  # the greatest, written in +02:00
                api_event(3, iso(recent(hours=20), offset_minutes=-300)),  # the last, and the largest string
            ]
        ],
    )

    output = read_streams(bearer_config(api_key), "events")

    assert final_state(output, "events") == {"event_timestamp": iso(latest, fraction=".500000")}


def test_second_read_asks_only_from_the_saved_cursor_on(listrak: FakeListrak, api_key: str) -> None:
    latest = recent(hours=20)
    listrak.serve_window("events", [api_event(1, iso(recent(hours=40))), api_event(2, iso(latest))])
    config = bearer_config(api_key, initial_sync_days=20, window_days=7)
    first = read_streams(config, "events")
    listrak.mocker.reset_mock()

    second = read_streams(config, "events", state=state_messages_of(first))

    asked = windows(listrak, "events")
    assert asked[0][0] == latest
    assert len(asked) == 1
    assert [e["event_id"] for e in records(second, "events")] == [2]  # the start is inclusive
    assert final_state(second, "events") == {"event_timestamp": iso(latest, fraction=".000000")}


@pytest.mark.parametrize("switch", [False, "false", "False", "0"])
def test_incremental_sync_switched_off_ignores_the_incoming_state(
    switch: object, listrak: FakeListrak, api_key: str
) -> None:
    listrak.serve_window("contacts", [])

    before = utc_now()
    read_streams(
        bearer_config(api_key, initial_sync_days=5, enable_incremental_sync=switch),
        "contacts",
        state=cursor_state("contacts", recent(hours=1)),
    )
    after = utc_now()

    assert before - timedelta(days=5) <= windows(listrak, "contacts")[0][0] <= after - timedelta(days=5)


@pytest.mark.parametrize("switch", [True, "true"])
def test_incremental_sync_switched_on_honours_the_incoming_state(
    switch: object, listrak: FakeListrak, api_key: str
) -> None:
    listrak.serve_window("contacts", [])
    saved = recent(hours=1)

    read_streams(
        bearer_config(api_key, enable_incremental_sync=switch),
        "contacts",
        state=cursor_state("contacts", saved),
    )

    assert windows(listrak, "contacts")[0][0] == saved


@pytest.mark.parametrize("lookback", [90, "90"])
def test_lookback_minutes_moves_the_start_back_from_the_cursor(
    lookback: object, listrak: FakeListrak, api_key: str
) -> None:
    listrak.serve_window("campaigns", [])
    saved = recent(hours=5)

    read_streams(bearer_config(api_key, lookback_minutes=lookback), "campaigns", state=cursor_state("campaigns", saved))

    assert windows(listrak, "campaigns")[0][0] == saved - timedelta(minutes=90)


def test_state_advances_past_a_cursor_with_nanosecond_digits(listrak: FakeListrak, api_key: str) -> None:
    latest = recent(hours=2)
    listrak.serve_pages("events", "events", [[api_event(1, iso(latest, fraction=".123456789"))]])

    output = read_streams(bearer_config(api_key), "events")

    assert records(output, "events")[0]["event_timestamp"] == iso(latest, fraction=".123456789")
    assert final_state(output, "events") == {"event_timestamp": iso(latest, fraction=".123456")}


def test_state_written_without_fraction_is_read(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_window("events", [])
    saved = recent(hours=3)

    read_streams(
        bearer_config(api_key),
        "events",
        state={"events": {"event_timestamp": saved.strftime("%Y-%m-%dT%H:%M:%SZ")}},
    )

    assert windows(listrak, "events")[0][0] == saved.astimezone(UTC)


def test_a_saved_cursor_older_than_initial_sync_days_is_still_read_from(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_window("events", [])
    saved = recent(hours=24 * 20)  # the last sync was 20 days ago; initial_sync_days is 3

    read_streams(bearer_config(api_key, initial_sync_days=3), "events", state=cursor_state("events", saved))

    assert windows(listrak, "events")[0][0] == saved
