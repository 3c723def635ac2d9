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
