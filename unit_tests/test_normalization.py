"""Contract: timestamps arrive with any UTC offset, with or without fractional seconds; output is the
same instant in UTC, ISO-8601, ending in ``Z``, fractional seconds kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.traced_exception import AirbyteTracedException
from hypothesis import given
from hypothesis import strategies as st

from source_listrak.components import IsoCursorParser
from source_listrak.listrak_time import UtcConverter, to_utc_z, zone_of
from source_listrak.normalization import NormalizeBySchema


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z"),
        ("2026-01-31T10:00:00+00:00", "2026-01-31T10:00:00Z"),
        ("2026-01-31T10:00:00+02:00", "2026-01-31T08:00:00Z"),
        ("2026-01-31T10:00:00-05:00", "2026-01-31T15:00:00Z"),
        ("2026-01-31T10:00:00+05:30", "2026-01-31T04:30:00Z"),
        ("2026-01-31T10:00:00+0530", "2026-01-31T04:30:00Z"),
    ],
)
def test_to_utc_z_gives_the_same_instant_in_utc_ending_in_z(given_value: str, expected: str) -> None:
    assert to_utc_z(given_value) == expected


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("2026-01-31T10:00:00.5Z", "2026-01-31T10:00:00.5Z"),
        ("2026-01-31T10:00:00.120Z", "2026-01-31T10:00:00.120Z"),
        ("2026-01-31T10:00:00.123456+02:00", "2026-01-31T08:00:00.123456Z"),
        ("2026-01-31T10:00:00.1234567-05:00", "2026-01-31T15:00:00.1234567Z"),
        ("2026-01-31T10:00:00.000+05:30", "2026-01-31T04:30:00.000Z"),
    ],
)
def test_to_utc_z_keeps_the_fractional_digits_as_given(given_value: str, expected: str) -> None:
    assert to_utc_z(given_value) == expected


@pytest.mark.parametrize(
    ("given_value", "expected"),
    [
        ("2026-12-31T22:30:00-05:00", "2027-01-01T03:30:00Z"),  # forward over a year end
        ("2026-03-01T01:00:00+05:30", "2026-02-28T19:30:00Z"),  # back over a month end
        ("2028-03-01T01:00:00+02:00", "2028-02-29T23:00:00Z"),  # into a leap day
        ("2026-01-01T00:00:00.25+00:30", "2025-12-31T23:30:00.25Z"),
    ],
)
def test_to_utc_z_rolls_the_date_over_when_the_offset_crosses_midnight(given_value: str, expected: str) -> None:
    assert to_utc_z(given_value) == expected


@pytest.mark.parametrize(
    "invalid",
    [
        "",
        "yesterday",
        "2026-01-31",
        "2026-02-30T00:00:00Z",
        "2026-01-31T25:00:00Z",
        "2026-01-31T10:00:00+2",
        "2026-02-30T10:00:00+02:00",
        "31/01/2026 10:00:00",
    ],
)
def test_to_utc_z_rejects_what_is_not_an_iso_date_time(invalid: str) -> None:
    with pytest.raises(ValueError):
        to_utc_z(invalid)


@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    offset_minutes=st.integers(min_value=-12 * 60, max_value=14 * 60),
)
def test_to_utc_z_preserves_the_instant_for_any_offset(moment: datetime, offset_minutes: int) -> None:
    aware = moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    result = to_utc_z(aware.isoformat())
    assert result.endswith("Z")
    assert datetime.fromisoformat(result) == aware
    assert datetime.fromisoformat(result).utcoffset() == timedelta(0)


SCHEMA = {
    "properties": {
        "send_date": {"type": ["null", "string"], "format": "date-time"},
        "created_date": {"type": ["null", "string"], "format": "date-time"},
        "event_timestamp": {"type": ["null", "string"], "format": "date-time"},
        "label": {"type": ["null", "string"]},
        "count": {"type": ["null", "integer"]},
        "flag": {"type": ["null", "boolean"]},
    }
}


def normalizer(api_timezone: str = "") -> NormalizeBySchema:
    return NormalizeBySchema(parameters={"name": "events"}, api_timezone=api_timezone)


def test_the_schema_decides_which_columns_are_timestamps_and_nulls_are_kept() -> None:
    record = {
        "send_date": "2026-01-31T10:00:00+02:00",
        "created_date": None,
        "label": "2026-01-31T10:00:00+02:00",
    }
    normalizer().transform(record, SCHEMA)
    assert record == {
        "send_date": "2026-01-31T08:00:00Z",
        "created_date": None,
        "label": "2026-01-31T10:00:00+02:00",
    }


@pytest.mark.parametrize("bad_value", ["not a date", 1769853600, {"at": "2026-01-31"}])
def test_a_bad_timestamp_fails_with_a_message_naming_stream_and_field(bad_value: object) -> None:
    with pytest.raises(AirbyteTracedException) as raised:
        normalizer().transform({"event_timestamp": bad_value}, SCHEMA)
    assert "events" in raised.value.message
    assert "'event_timestamp'" in raised.value.message
    assert raised.value.failure_type == FailureType.system_error


@pytest.mark.parametrize(("column", "value"), [("count", "7"), ("count", True), ("flag", 1), ("label", [])])
def test_a_value_of_a_type_the_schema_does_not_allow_fails_naming_the_column(column: str, value: object) -> None:
    with pytest.raises(AirbyteTracedException, match=f"Stream events: Listrak sent '{column}' as a JSON"):
        normalizer().transform({column: value}, SCHEMA)


@pytest.mark.parametrize(
    ("naive", "expected"),
    [
        ("2019-01-14T12:44:40", "2019-01-14T17:44:40Z"),  # EST, as recorded against the HTTP Date header
        ("2015-08-31T16:02:41.65", "2015-08-31T20:02:41.65Z"),  # EDT, the fraction kept as sent
        ("2025-03-09T01:59:59.1234567", "2025-03-09T06:59:59.1234567Z"),  # just before spring forward
        ("2025-03-09T03:00:00", "2025-03-09T07:00:00Z"),  # just after
        ("2025-03-09T02:30:00", "2025-03-09T07:30:00Z"),  # a time no clock showed: the offset before
        ("2025-11-02T01:30:00", "2025-11-02T05:30:00Z"),  # the repeated hour: its first occurrence (EDT)
        ("2025-11-02T02:30:00", "2025-11-02T07:30:00Z"),
        ("0001-01-01T00:00:00", None),  # Listrak's unset date
        ("2026-01-31T10:00:00Z", "2026-01-31T10:00:00Z"),  # an explicit offset wins over the zone
    ],
)
def test_listrak_wall_times_are_read_in_the_api_time_zone(naive: str, expected: str | None) -> None:
    record = {"send_date": naive}
    normalizer("America/New_York").transform(record, SCHEMA)
    assert record == {"send_date": expected}


def _to_utc_z_or_error(value: str, zone_name: str) -> str | None:
    try:
        return to_utc_z(value, zone_of(zone_name))
    except (ValueError, OverflowError) as error:  # a year-1 value west of UTC leaves datetime's range
        return f"{type(error).__name__}: {error}"


def _converted_or_error(converter: UtcConverter, value: str) -> str | None:
    try:
        return converter(value)
    except (ValueError, OverflowError) as error:  # a year-1 value west of UTC leaves datetime's range
        return f"{type(error).__name__}: {error}"


EDGE_VALUES = [
    "2025-03-09T01:59:59.1234567",
    "2025-03-09T02:00:00",
    "2025-03-09T02:30:00.5",
    "2025-03-09T03:00:00",
    "2025-11-02T00:59:59",
    "2025-11-02T01:00:00",
    "2025-11-02T01:30:00.25",
    "2025-11-02T02:00:00",
    "0001-01-01T00:00:00",
    "0001-01-01T00:00:00.000",
    "0001-01-01T00:00:00.5",
    "0001-01-01T00:00:00Z",
    "2026-01-31T10:00:00Z",
    "2026-01-31T10:00:00.123Z",
    "2026-01-31 10:00:00",
    "2026-01-31 10:00:00.5Z",
    "2026-01-31T10:00:00z",
    "2026-01-31T10:00:00+02:00",
    "2026-01-31T10:00:00.5-0530",
    "2026-02-30T10:00:00",
    "2026-02-30T10:00:00Z",
    "2026-01-31T10:00:00.",
    "2026-01-31T10:00:00.Z",
    "2026-01-31T10:00:00.\u0663",
    "2026-01-31T10:00",
    "not a date",
    "",
    "2026-01-31T25:00:00",
    "2026-01-31T10:00:00.5 ",
]


@pytest.mark.parametrize("zone_name", ["", "UTC", "America/New_York", "Australia/Lord_Howe", "America/St_Johns"])
def test_the_converter_of_a_zone_answers_exactly_as_to_utc_z_twice_over(zone_name: str) -> None:
    converter = UtcConverter(zone_of(zone_name))
    for value in EDGE_VALUES * 2:  # the second time from what it remembered
        assert _converted_or_error(converter, value) == _to_utc_z_or_error(value, zone_name), value


@given(
    moment=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 12, 31)),
    fraction=st.sampled_from(["", ".0", ".5", ".123", ".1234567", ".000"]),
    ending=st.sampled_from(["", "Z", "+01:00", "-05:00"]),
    zone_name=st.sampled_from(["", "America/New_York", "Europe/London", "Australia/Lord_Howe", "America/St_Johns"]),
)
def test_the_converter_agrees_with_to_utc_z_on_any_wall_time(
    moment: datetime, fraction: str, ending: str, zone_name: str
) -> None:
    value = f"{moment:%Y-%m-%dT%H:%M:%S}{fraction}{ending}"
    converter = UtcConverter(zone_of(zone_name))
    assert converter(value) == converter(value) == _to_utc_z_or_error(value, zone_name)


@pytest.mark.parametrize(
    ("value", "datetime_format", "expected"),
    [
        (
            "2026-01-31T10:00:00.500000Z",
            "%Y-%m-%dT%H:%M:%S.%fZ",
            datetime(2026, 1, 31, 10, 0, 0, 500000, UTC),
        ),
        ("2026-01-31T10:00:00.5Z", "%Y-%m-%dT%H:%M:%S.%fZ", datetime(2026, 1, 31, 10, 0, 0, 500000, UTC)),
        ("2026-01-31T10:00:00Z", "%Y-%m-%dT%H:%M:%SZ", datetime(2026, 1, 31, 10, 0, 0, tzinfo=UTC)),
    ],
)
def test_cursor_parser_reads_the_utc_z_values_this_connector_writes(
    value: str, datetime_format: str, expected: datetime
) -> None:
    assert IsoCursorParser().parse(value, datetime_format) == expected


def test_cursor_parser_rejects_a_value_that_does_not_fit_the_format_like_strptime() -> None:
    with pytest.raises(ValueError):
        IsoCursorParser().parse("2026-01-31T10:00:00Z", "%Y-%m-%dT%H:%M:%S.%fZ")


def test_cursor_parser_reads_a_cursor_with_more_than_six_fractional_digits() -> None:
    parsed = IsoCursorParser().parse("2026-01-31T10:00:00.1234567Z", "%Y-%m-%dT%H:%M:%S.%fZ")
    assert parsed == datetime(2026, 1, 31, 10, 0, 0, 123456, UTC)


STRICT_SCHEMA = {
    "properties": {
        "email": {"type": "string"},
        "count": {"type": ["null", "integer"]},
        "sent": {"type": ["null", "string"], "format": "date-time"},
    }
}


@pytest.mark.parametrize(
    "bad_record",
    [{"email": None, "count": 1}, {"email": "a@example.com", "count": True}, {"email": "a@example.com", "count": 1.5}],
)
def test_a_refused_type_fails_however_many_good_records_came_before(bad_record: dict[str, object]) -> None:
    normalize = NormalizeBySchema(parameters={"name": "events"})
    for good in ({"count": 1}, {"email": "a@example.com", "count": 2}, {"email": "b@example.com", "count": None}):
        normalize.transform(dict(good), STRICT_SCHEMA)  # a column left out is allowed, even one that is not nullable
    with pytest.raises(AirbyteTracedException, match="Stream events: Listrak sent '(email|count)' as a JSON"):
        normalize.transform(dict(bad_record), STRICT_SCHEMA)


def test_every_record_s_date_times_are_converted_once_its_types_are_known() -> None:
    normalize = NormalizeBySchema(parameters={"name": "events"}, api_timezone="America/New_York")
    records = [{"email": "a@example.com", "sent": f"2026-01-31T10:00:0{i}.5"} for i in range(3)]
    for record in records:
        normalize.transform(record, STRICT_SCHEMA)
    assert [r["sent"] for r in records] == [f"2026-01-31T15:00:0{i}.5Z" for i in range(3)]


@pytest.mark.parametrize("zone_name", ["America/New_York", "Australia/Lord_Howe", "America/St_Johns", "Europe/London"])
@pytest.mark.parametrize("year", [1995, 2011, 2025])
def test_every_second_around_each_switch_of_a_year_converts_as_to_utc_z(zone_name: str, year: int) -> None:
    zone, converter = zone_of(zone_name), UtcConverter(zone_of(zone_name))
    moment, end = datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC)
    switches = []
    while moment < end:  # the instants where the zone's offset changes, found hour by hour
        if (moment + timedelta(hours=1)).astimezone(zone).utcoffset() != moment.astimezone(zone).utcoffset():
            switches.append(moment.astimezone(zone).replace(tzinfo=None))
        moment += timedelta(hours=1)
    assert switches
    for switch in switches:
        wall = switch - timedelta(hours=3)
        while wall < switch + timedelta(hours=3):
            for value in (f"{wall:%Y-%m-%dT%H:%M:%S}", f"{wall:%Y-%m-%dT%H:%M:%S}.25"):
                assert converter(value) == to_utc_z(value, zone), value
            wall += timedelta(seconds=59)


def test_a_column_written_in_utc_by_the_connector_is_type_checked_and_left_as_it_is() -> None:
    normalize = NormalizeBySchema(
        parameters={"name": "events"}, api_timezone="America/New_York", written_in_utc=["sent"]
    )
    record = {"email": "a@example.com", "sent": "2026-01-31T10:00:00.123456Z"}
    normalize.transform(record, STRICT_SCHEMA)
    assert record["sent"] == "2026-01-31T10:00:00.123456Z"
    with pytest.raises(AirbyteTracedException, match="Listrak sent 'sent' as a JSON integer"):
        normalize.transform({"email": "a@example.com", "sent": 5}, STRICT_SCHEMA)
