"""Listrak's time rules, stated once: the connector's components and normalisation use them.

Listrak's Email API writes dates as naive wall time in its own zone (US Eastern), with 0 to 7 fraction
digits, and .NET's ``DateTime.MinValue`` where a date cannot be null; it reads ``startDate`` and
``endDate`` the same way. The connector emits UTC instants ending in ``Z`` and keeps the fraction
digits as Listrak sent them. (The emulator has its own implementation: an oracle that shared this
code could not catch its bugs.)
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

_ISO_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(\.\d+)?(Z|z|[+-]\d{2}:?\d{2})?\Z")
_ALREADY_UTC_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z\Z", re.ASCII)
_UTC_OFFSETS = frozenset({"Z", "z", "+00:00", "-00:00", "+0000", "-0000"})
# .NET's DateTime.MinValue: how Listrak writes "no date" in a field that cannot be null.
_UNSET_DATE = "0001-01-01T00:00:00"


def to_utc_z(value: str, zone: tzinfo = UTC) -> str | None:
    """Same instant in UTC as ``YYYY-MM-DDTHH:MM:SS[.fraction]Z``, the fraction's digits kept as given.

    A value without an offset is wall time in ``zone`` (in a repeated hour, the first occurrence);
    Listrak's unset date becomes None.
    """
    if zone is UTC and _ALREADY_UTC_Z.match(value):  # the common case: only the date itself needs checking
        datetime.fromisoformat(value[:19])  # rejects impossible dates such as 2026-02-30
        return value
    match = _ISO_DATETIME.match(value)
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time: {value!r}")
    date, clock, fraction, offset = match.groups()
    fraction = fraction or ""
    if offset is None and f"{date}T{clock}" == _UNSET_DATE and not fraction.strip(".0"):
        return None
    local = datetime.fromisoformat(f"{date}T{clock}")  # rejects impossible dates such as 2026-02-30
    if offset is None:
        if zone is UTC:
            return f"{date}T{clock}{fraction}Z"
        utc = local.replace(tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    elif offset in _UTC_OFFSETS:
        return f"{date}T{clock}{fraction}Z"
    else:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:])
        utc = local - timedelta(minutes=minutes if offset[0] == "+" else -minutes)
    return f"{utc.isoformat()}{fraction}Z"  # whole seconds: the fraction is kept as given


class UtcConverter:
    """``to_utc_z`` for one zone, each distinct second converted once: a page's timestamps share seconds,
    and many rows share a whole value (a message's send date), which is answered from memory.

    A value is split into its first 19 characters (date and clock) and the rest. When the rest is a fraction
    of ASCII digits and/or ``Z``, the answer is the converted second with that rest appended, and the
    second's conversion is remembered (``to_utc_z`` of the second alone: same rules, same zone, same DST
    choices). Any other value (an offset, an unset date, something invalid) goes to ``to_utc_z`` whole,
    so results and errors are exactly ``to_utc_z``'s.
    """

    _REMEMBERED = 1_024  # entries kept by each memory of a converter (~0.2 MB at most), then forgotten at once

    def __init__(self, zone: tzinfo = UTC) -> None:
        self._zone = zone
        # "2026-01-31T10:00:00" -> the same second in UTC (naive values in zone, values ending in Z), or ""
        # where the second alone decides nothing (the unset date, not a date)
        self._wall_seconds: dict[str, str] = {}
        self._utc_seconds: dict[str, str] = {}
        self._hour_offsets: dict[str, timedelta] = {}  # "2026-01-31" "10" -> the hour's UTC offset in zone
        self._values: dict[str, str] = {}  # whole values already converted: a message's send date on every row

    def __call__(self, value: str) -> str | None:
        known = self._values.get(value)
        if known is not None:
            return known
        converted = self._by_second(value)
        if converted is not None:
            if len(self._values) >= self._REMEMBERED:
                self._values.clear()
            self._values[value] = converted
        return converted

    def _by_second(self, value: str) -> str | None:
        rest = value[19:]
        utc = rest.endswith("Z")
        fraction = rest[:-1] if utc else rest
        if fraction and not (fraction[0] == "." and fraction[1:].isdigit() and fraction.isascii()):
            return to_utc_z(value, self._zone)
        seconds = self._utc_seconds if utc else self._wall_seconds
        second = value[:19]
        converted = seconds.get(second)
        if converted is None:
            converted = self._convert(second, utc, seconds)
        if not converted:
            return to_utc_z(value, self._zone)
        if utc and converted == second:  # already UTC as it should be written (a cursor, sync_timestamp)
            return value
        return f"{converted}{fraction}Z"

    def _convert(self, second: str, utc: bool, seconds: dict[str, str]) -> str:
        converted = None if utc or self._zone is UTC else self._by_hour_offset(second)
        if converted is None:
            try:
                whole = to_utc_z(second + "Z" if utc else second, self._zone)
            except ValueError:
                whole = None
            converted = whole[:-1] if whole else ""
        if len(seconds) >= self._REMEMBERED:
            seconds.clear()
        seconds[second] = converted
        return converted

    def _by_hour_offset(self, second: str) -> str | None:
        """A wall-time second in UTC by its hour's UTC offset, when one offset holds for the whole hour
        (every hour but those with a change of offset inside): what ``astimezone`` gives, at a third of
        its cost. None where ``to_utc_z`` decides (a change inside the hour, years outside 1900-9998)."""
        match = _ISO_DATETIME.match(second)
        if match is None or match.group(3) or match.group(4):
            return None
        date, clock = match.group(1), match.group(2)
        if not "1900" <= date[:4] <= "9998":
            return None
        offset = self._hour_offsets.get(date + clock[:2])
        if offset is None:
            offset = self._hour_offset(date, clock[:2])
        if offset is _OFFSET_CHANGES:
            return None
        try:
            local = datetime.fromisoformat(f"{date}T{clock}")
        except ValueError:
            return None
        return (local - offset).isoformat()

    def _hour_offset(self, date: str, hour: str) -> timedelta:
        try:
            start = datetime.fromisoformat(f"{date}T{hour}:00:00")
        except ValueError:
            return _OFFSET_CHANGES
        first = start.replace(tzinfo=self._zone).utcoffset()
        last = (start + timedelta(seconds=3599)).replace(tzinfo=self._zone).utcoffset()
        offset = first if first is not None and first == last else _OFFSET_CHANGES
        if len(self._hour_offsets) >= self._REMEMBERED:
            self._hour_offsets.clear()
        self._hour_offsets[date + hour] = offset
        return offset


_OFFSET_CHANGES = timedelta.max  # an hour with a change of UTC offset inside it (a DST switch)


def to_api_time(value: str, zone: str, round_up: bool = False) -> str:
    """A UTC slice bound such as ``2026-01-14T17:44:40.5Z`` as Listrak's wall time, ``2026-01-14T12:44:40``
    in America/New_York; ``round_up`` takes the next whole second when there is a fraction."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def zone_of(name: str) -> tzinfo:
    """The time zone a setting names; UTC when empty. Raises for a name the tz database lacks."""
    name = name.strip()
    return ZoneInfo(name) if name and name != "UTC" else UTC
