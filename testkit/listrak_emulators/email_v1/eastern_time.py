"""Time as the Email API shows it: naive America/New_York wall time.

Instants are kept as UTC ticks (100 ns since the epoch). The API shows them, and compares them with
startDate/endDate, as "wall ticks": the same units on an America/New_York wall clock, written with 0, 1,
2, 3 or 7 fraction digits (trailing zeros trimmed); `0001-01-01T00:00:00` stands for no date where the
API uses it. `to_utc` is the conversion a connector must apply (fold 0 for ambiguous and missing times).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

EASTERN = ZoneInfo("America/New_York")
SENTINEL = "0001-01-01T00:00:00"
TICKS = 10_000_000  # per second
DAY = 86_400 * TICKS
EPOCH = datetime(1970, 1, 1)
FRACTION_DIGITS = (0, 1, 2, 3, 7)
_OFFSETS: dict[int, int] = {}  # UTC hour -> Eastern offset in ticks (transitions fall on whole UTC hours)


def utc_ticks(moment: datetime) -> int:
    """Ticks since the epoch of an aware instant (a naive one is taken as UTC)."""
    aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
    return (aware.astimezone(UTC).replace(tzinfo=None) - EPOCH) // timedelta(microseconds=1) * 10


def wall_from_utc(ticks: int) -> int:
    """The Eastern wall time of a UTC instant, both in ticks."""
    hour = ticks // (3600 * TICKS)
    offset = _OFFSETS.get(hour)
    if offset is None:
        if len(_OFFSETS) > 200_000:
            _OFFSETS.clear()
        local = datetime.fromtimestamp(hour * 3600, EASTERN).utcoffset() or timedelta(0)
        offset = _OFFSETS[hour] = int(local.total_seconds()) * TICKS
    return ticks + offset


def wall_ticks(moment: datetime) -> int:
    """The Eastern wall time of an aware instant in ticks; a naive datetime is already Eastern wall time."""
    if moment.tzinfo is not None:
        return wall_from_utc(utc_ticks(moment))
    return (moment - EPOCH) // timedelta(microseconds=1) * 10


def wall_text(ticks: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS` plus the fraction with trailing zeros trimmed (.NET's round-trip shape)."""
    seconds, fraction = divmod(ticks, TICKS)
    text = (EPOCH + timedelta(seconds=seconds)).isoformat()
    return text + f".{fraction:07d}".rstrip("0") if fraction else text


def fraction_ticks(bits: int) -> int:
    """A fraction of a second with exactly 0, 1, 2, 3 or 7 digits once trailing zeros are trimmed."""
    digits = FRACTION_DIGITS[bits % len(FRACTION_DIGITS)]
    if not digits:
        return 0
    value = (bits >> 3) % 10 ** (digits - 1) * 10 + 1 + (bits >> 40) % 9  # last digit 1-9
    return value * 10 ** (7 - digits)


_WALL = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?")


def to_utc(value: str | None) -> str | None:
    """What the connector outputs for an API datetime: the Eastern wall time as UTC, ending in Z.

    The fraction digits are kept as the API sent them; ambiguous (fall-back) and missing
    (spring-forward) wall times take fold 0; the sentinel 0001-01-01T00:00:00 and null become null.
    """
    if value is None or value == SENTINEL:
        return None
    match = _WALL.fullmatch(value)
    if match is None:
        raise ValueError(f"not a naive API datetime: {value!r}")
    seconds, fraction = match.groups()
    moment = datetime.fromisoformat(seconds).replace(tzinfo=EASTERN).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def api_text(utc: int | None) -> str | None:
    """An instant as the API writes it: naive Eastern wall time (None stays None)."""
    return None if utc is None else wall_text(wall_from_utc(utc))


def wall_or_none(utc: int | None) -> int | None:
    return None if utc is None else wall_from_utc(utc)


def _sunday(year: int, month: int, nth: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(6 - first.weekday()) % 7 + 7 * (nth - 1))


def fall_back_instants(start: int, end: int) -> tuple[int, int] | None:
    """UTC ticks of 01:30 on the latest fall-back day in [start, end): first (EDT) and second (EST) fold."""
    for year in range((EPOCH + timedelta(microseconds=end // 10)).year, 1970, -1):
        wall = datetime.combine(_sunday(year, 11, 1), datetime.min.time()).replace(hour=1, minute=30)
        first, second = (utc_ticks(wall.replace(tzinfo=EASTERN, fold=fold)) for fold in (0, 1))
        if second < end:
            return (first, second) if first >= start else None
    return None


def spring_forward_instants(start: int, end: int) -> tuple[int, int] | None:
    """UTC ticks just before (01:59:59.5 EST) and just after (03:00:00.25 EDT) the latest spring-forward gap."""
    for year in range((EPOCH + timedelta(microseconds=end // 10)).year, 1970, -1):
        day = datetime.combine(_sunday(year, 3, 2), datetime.min.time())
        before = utc_ticks(day.replace(hour=1, minute=59, second=59, microsecond=500_000, tzinfo=EASTERN))
        after = utc_ticks(day.replace(hour=3, microsecond=250_000, tzinfo=EASTERN))
        if after < end:
            return (before, after) if before >= start else None
    return None
