"""An emulator of the REST contract of the Fivetran Connector SDK's Listrak example, on loopback.

That contract: /contacts, /campaigns and /events, paged with `page`/`perPage` and windowed by their
cursor fields; the HAL collections /custom-fields, /interests, /segments and offset-paged /sources;
/webhook-events; a Bearer API key or Basic account id + key (the connector's API-key configurations).

Data plus rules in one module, each in its own small function:

- the generator: every record is a pure function of the knobs, its stream and its index, so a million
  events cost no memory, and cursor instants never decrease with the index, so a time window is a
  binary search;
- the contract's rules: auth, page and offset paging, time windows, parameter errors, faults;
- the expected output: what the connector must emit for each stream, computed here from the API
  records and the contract's mapping, independently of the connector.

    python -m listrak_emulators.sdk_example --port 8765 --events 10000

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import bisect
import json
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from listrak_emulators.http import (
    JSON_ENCODER,
    RETRY_AFTER_MODES,
    ApiError,
    FaultDecider,
    KeepAliveHandler,
    LoopbackService,
    command_line,
    new_log_entry,
    parse_now,
    request_key,
    retry_after_header,
    serve_until_signal,
    stable_hash,
)

# ---------------------------------------------------------------- the contract's names

BASE_PATH = "/email/v1"
STREAMS = (
    "contacts",
    "campaigns",
    "events",
    "custom_fields",
    "interests",
    "segments",
    "sources",
    "webhook_events",
)
WINDOWED = {  # path and stream -> (records key, window start param, window end param, API cursor field)
    "contacts": ("contacts", "updatedAfter", "updatedBefore", "updatedDate"),
    "campaigns": ("campaigns", "sendDateAfter", "sendDateBefore", "sendDate"),
    "events": ("events", "timestampAfter", "timestampBefore", "timestamp"),
}
HAL_PATHS = {"custom-fields": "custom_fields", "interests": "interests", "segments": "segments"}
HAL_STREAMS = ("custom_fields", "interests", "segments", "sources")
RENAMES = {  # stream -> [(API field, output column)], in output order
    "contacts": [
        ("id", "contact_id"),
        ("email", "email_address"),
        ("firstName", "first_name"),
        ("lastName", "last_name"),
        ("status", "subscription_status"),
        ("createdDate", "created_date"),
        ("updatedDate", "updated_date"),
        ("phone", "phone_number"),
        ("city", "city"),
        ("state", "state"),
        ("zipCode", "zip_code"),
        ("language", "language"),
        ("customFields", "custom_fields"),
    ],
    "campaigns": [
        ("id", "campaign_id"),
        ("name", "campaign_name"),
        ("subject", "subject_line"),
        ("sendDate", "send_date"),
        ("type", "campaign_type"),
        ("status", "status"),
        ("recipientsCount", "recipients_count"),
        ("opensCount", "opens_count"),
        ("clicksCount", "clicks_count"),
        ("bouncesCount", "bounces_count"),
        ("createdDate", "created_date"),
        ("updatedDate", "updated_date"),
    ],
    "events": [
        ("id", "event_id"),
        ("contactId", "contact_id"),
        ("campaignId", "campaign_id"),
        ("eventType", "event_type"),
        ("timestamp", "event_timestamp"),
        ("email", "email_address"),
        ("userAgent", "user_agent"),
        ("ipAddress", "ip_address"),
        ("url", "url"),
        ("metadata", "metadata"),
    ],
}
TIMESTAMP_FIELDS = {"createdDate", "updatedDate", "sendDate", "timestamp"}
WEBHOOK_EVENTS = ["contact.created", "contact.updated", "contact.unsubscribed", "event.open", "event.click"]
PER_PAGE_MAX, SOURCES_LIMIT_MAX, PAGE_MAX = 1000, 500, 10_000_000

# ---------------------------------------------------------------- knobs


@dataclass
class Sizes:
    """Records per stream."""

    contacts: int = 300
    campaigns: int = 40
    events: int = 2000
    custom_fields: int = 12
    interests: int = 8
    segments: int = 6
    sources: int = 1203


@dataclass
class Faults:
    rate_429: float = 0.0  # probability a request gets 429
    retry_after: str = "mixed"  # seconds | http-date | absent | mixed | far-future | past
    retry_after_seconds: int = 1  # the value used by the seconds and http-date forms
    rate_5xx: float = 0.0  # 500/502/503/504 with a JSON error body
    rate_slow: float = 0.0  # sleep slow_seconds before answering (the client should time out)
    slow_seconds: float = 3.0
    rate_drop: float = 0.0  # close the connection without any response
    latency_ms: float = 0.0  # added to every request
    max_consecutive: int = 2  # one request URL never faults more than this many times in a row


@dataclass
class RenderedPage:
    """A response body already serialized, and how many records it holds."""

    body: bytes
    records: int


# ---------------------------------------------------------------- deterministic draws

MASK64 = (1 << 64) - 1
GOLDEN = 0x9E3779B97F4A7C15


def _mix64(value: int) -> int:
    """splitmix64's finaliser: a cheap, well-spread 64-bit hash of an integer."""
    value = (value ^ (value >> 30)) * 0xBF58476D1CE4E5B9 & MASK64
    value = (value ^ (value >> 27)) * 0x94D049BB133111EB & MASK64
    return value ^ (value >> 31)


class _Draws:
    """Random-looking choices for one record from one 64-bit seed: far cheaper than seeding random.Random."""

    __slots__ = ("_bits", "_state")

    def __init__(self, salt: int, index: int) -> None:
        self._state = (salt + index * GOLDEN) & MASK64
        self._bits = _mix64(self._state)

    def below(self, n: int) -> int:
        if self._bits < n << 16:
            self._state = (self._state + GOLDEN) & MASK64
            self._bits = _mix64(self._state)
        self._bits, value = divmod(self._bits, n)
        return value

    def pick(self, options: tuple[Any, ...]) -> Any:
        return options[self.below(len(options))]

    def chance(self, percent: int) -> bool:
        return self.below(100) < percent


# ---------------------------------------------------------------- time: cursor instants and their text

SECOND_US = 1_000_000
DAY_US = 86_400 * SECOND_US
EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
OFFSETS = (("Z", 0), ("+00:00", 0), ("+02:00", 120), ("-05:00", -300), ("+05:30", 330))
_DAY_TEXT: dict[int, str] = {}
_HOUR_MINUTE = tuple(f"T{h:02d}:{m:02d}:" for h in range(24) for m in range(60))
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))
_MILLIS = tuple(f".{n:03d}" for n in range(1000))


def _epoch_us(moment: datetime) -> int:
    """Microseconds since the epoch; a naive datetime is taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _clock_text(local_us: int, digits: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS[.fff|.ffffff]` of microseconds since the epoch (table-driven: ~0.5 us)."""
    day, within = divmod(local_us, DAY_US)
    day_text = _DAY_TEXT.get(day)
    if day_text is None:
        day_text = _DAY_TEXT[day] = date.fromordinal(EPOCH_ORDINAL + day).isoformat()
    seconds, micros = divmod(within, SECOND_US)
    minutes, second = divmod(seconds, 60)
    text = day_text + _HOUR_MINUTE[minutes] + _TWO_DIGITS[second]
    if digits == 3:
        return text + _MILLIS[micros // 1000]
    if digits == 6:
        return f"{text}.{micros:06d}"
    return text


def _iso_local(instant_us: int, digits: int, offset_index: int) -> str:
    """The instant as local time at one of OFFSETS, with `digits` (0, 3, 6) fractional digits."""
    suffix, minutes = OFFSETS[offset_index % len(OFFSETS)]
    return _clock_text(instant_us + minutes * 60 * SECOND_US, digits) + suffix


def _iso_utc(instant_us: int, digits: int) -> str:
    return _clock_text(instant_us, digits) + "Z"


@dataclass
class _Grid:
    """`size` strictly increasing instants spread over (after_us, until_us].

    Each instant is a whole `unit` (a second when the span allows) plus a fraction below one unit,
    so instants stay strictly increasing whatever fractional digits each one is written with.
    """

    size: int
    first_us: int = 0
    steps: int = 0
    unit: int = SECOND_US
    min_digits: int = 0

    @classmethod
    def spread(cls, after_us: int, until_us: int, size: int) -> _Grid:
        for unit, min_digits in ((SECOND_US, 0), (1000, 3), (1, 6)):
            first = after_us // unit * unit + unit
            steps = (until_us - first) // unit
            if steps >= size:
                return cls(size, first, steps, unit, min_digits)
        raise ValueError(f"{size} records do not fit between two instants {until_us - after_us} us apart")

    def instant_us(self, position: int, digits: int, jitter: int) -> int:
        base = self.first_us + (self.steps * position // self.size) * self.unit
        quantum = 10 ** (6 - digits)
        return base + (jitter % (self.unit // quantum)) * quantum


@dataclass
class _Timeline:
    """Cursor instants of one windowed stream: non-decreasing with the index, with some ties.

    About 5% of the records (the first ones) are older than 100 days; the rest lie in
    (now - history_days, now - 60 s]. Every record whose index is 2 mod 3 ties with the one before
    (same slot, same instant): ids then order them, as the contract asks.
    """

    count: int
    old: _Grid
    recent: _Grid
    salt: int

    @classmethod
    def build(cls, count: int, now_us: int, history_days: int, salt: int) -> _Timeline:
        recent_after = now_us - history_days * DAY_US
        old_count = count // 20
        old_until = min(now_us - 100 * DAY_US, recent_after) - 1
        return cls(
            count=count,
            old=_Grid.spread(old_until - 30 * DAY_US, old_until, old_count),
            recent=_Grid.spread(recent_after, now_us - 60 * SECOND_US, count - old_count),
            salt=salt,
        )

    @staticmethod
    def slot(index: int) -> int:
        return index - 1 if index % 3 == 2 else index

    def moment(self, index: int) -> tuple[int, int]:
        """(instant in epoch microseconds, fractional digits it is written with)."""
        slot = self.slot(index)
        grid, position = (self.old, slot) if slot < self.old.size else (self.recent, slot - self.old.size)
        digits = max((0, 3, 6)[(slot + slot // 3) % 3], grid.min_digits)
        jitter = (slot * 2_654_435_761 + self.salt) & 0xFFFFFFFF
        return grid.instant_us(position, digits, jitter), digits

    def instant_us(self, index: int) -> int:
        return self.moment(index)[0]


# ---------------------------------------------------------------- the generator

FIRST_NAMES = ("Zoë", "Łukasz", "Renée", "José", "Ana", "Søren", "Mia", "Chloé", "Dmitri", "Aiko", "Liam", "Siobhán")
LAST_NAMES = ("Müller", "O'Brien", "García", "Nguyễn", "Smith", "Kowalski", "Dubois", "李", "Patel", "Østergård")
EMAIL_DOMAINS = ("example.com", "exämple.de", "example.org", "пример.рф")
CITIES = ("Lancaster", "Zürich", "São Paulo", "Kraków", "Montréal", "Ærøskøbing", "北京", "Reykjavík")
STATES = ("PA", "NY", "CA", "ON", "BY", "QC")
LANGUAGES = ("en", "fr", "de", "ja", "pl", "da")
CONTACT_STATUSES = ("active", "active", "active", "unsubscribed", "bounced", "pending")
CAMPAIGN_THEMES = ("Soldes d’été", "Spring ☀ sale", "Zoë's picks 🎉", "北京 launch", "Weekly digest", "Renée’s recipes")
CAMPAIGN_TYPES = ("standard", "transactional", "ab_test", "automated")
CAMPAIGN_STATUSES = ("sent", "sent", "sent", "completed")
EVENT_TYPES = ("open",) * 5 + ("click",) * 3 + ("bounce", "unsubscribe", "spam_complaint")
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Gecko/20100101 Firefox/124.0",
    "Outlook-iOS/4.2 📧",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8)",
)
DEVICE_OS = ("iOS", "Android", "Windows", "macOS")
TAGS = ("promo", "été", "vip", "🔥")
ABSENT = object()  # a field the API leaves out
EVENT_USER_AGENTS = USER_AGENTS * 3 + (ABSENT,) * 2  # sometimes absent

for _text in FIRST_NAMES + LAST_NAMES + CITIES + CAMPAIGN_THEMES + USER_AGENTS:  # no pool member needs escaping
    assert json.dumps(_text, ensure_ascii=False) == f'"{_text}"', _text


def _contact_id(index: int) -> int:
    return 10_000 + index


def _campaign_id(index: int) -> str:
    """Strings, some purely numeric; a tied pair (same slot) always shares one form, ordered by index."""
    return f"2{index:04d}" if _Timeline.slot(index) % 4 == 3 else f"cmp-{index:04d}"


def _event_id(index: int) -> int | str:
    """Integers and strings in one stream; a tied pair (same slot) always shares one type."""
    return 1_000_000 + index if _Timeline.slot(index) % 2 == 0 else f"evt-{index:08d}"


def _metadata(draws: _Draws) -> Any:
    """Event metadata: absent, null, rarely not an object, else nested objects, arrays, scalars."""
    kind, bits = draws.below(64), draws.below(1 << 30)  # `bits` feeds the values below
    if kind < 6:
        return ABSENT
    if kind < 10:
        return None
    if kind < 12:  # not an object at all
        return ("legacy-string", [1, 2, 3], [{"k": "v"}, "x"], 42)[bits % 4]
    if kind < 24:
        return {"source": ("web", "app", "api")[bits % 3], "score": bits % 1000 / 8, "first_open": bits % 2 == 0}
    meta: dict[str, Any] = {
        "device": {"os": DEVICE_OS[bits % 4], "version": {"major": 10 + (bits >> 2) % 8, "beta": kind == 24}}
    }
    if kind >= 40:
        meta["tags"] = list(TAGS[: (bits >> 5) % 5])  # sometimes []
    if kind >= 56:
        meta["links"] = [{"href": f"https://example.com/l/{(bits >> 8) % 99}", "rank": 1}, {"href": None}]
        meta["geo"] = {"city": CITIES[(bits >> 15) % 8], "lat": ((bits >> 18) % 160_000 - 80_000) / 1000, "note": None}
    if kind == 63:
        meta["empty"] = {}
        meta["campagne"] = {"variante": "B", "café": True}
    return meta


def _hal_links(path: str, item_id: Any) -> dict[str, Any]:
    return {"self": {"href": f"{BASE_PATH}/{path}/{item_id}"}}


class Dataset:
    """The emulated account: deterministic records by index, plus any added later with `add`."""

    def __init__(self, seed: int, sizes: Sizes, now: datetime, history_days: int) -> None:
        self.seed, self.sizes, self.now = seed, sizes, now
        now_us = _epoch_us(now)
        self.salts = {stream: stable_hash(seed, stream) for stream in STREAMS}
        self.timelines = {
            stream: _Timeline.build(getattr(sizes, stream), now_us, history_days, self.salts[stream])
            for stream in WINDOWED
        }
        self.added: dict[str, list[tuple[int, dict[str, Any]]]] = {stream: [] for stream in WINDOWED}
        self.lock = threading.Lock()
        self._emails: dict[int, str] = {}

    # windowed streams: records by index
    def count(self, stream: str) -> int:
        return self.timelines[stream].count + len(self.added[stream])

    def instant_us(self, stream: str, index: int) -> int:
        timeline = self.timelines[stream]
        if index < timeline.count:
            return timeline.instant_us(index)
        return self.added[stream][index - timeline.count][0]

    def record(self, stream: str, index: int) -> dict[str, Any]:
        timeline = self.timelines[stream]
        if index >= timeline.count:
            return self.added[stream][index - timeline.count][1]
        instant, digits = timeline.moment(index)
        return self._build(stream, index, instant, digits)

    def _build(self, stream: str, index: int, instant: int, digits: int) -> dict[str, Any]:
        if stream == "contacts":
            return self._contact(index, instant, digits)
        draws = _Draws(self.salts[stream], index)
        if stream == "campaigns":
            return self._campaign(index, draws, instant, digits)
        return self._event(index, draws, instant, digits)

    def _contact_identity(self, index: int) -> tuple[_Draws, str, str]:
        """The contact's draws after its first name and email, which events reuse."""
        draws = _Draws(self.salts["contacts"], index)
        first = draws.pick(FIRST_NAMES)
        return draws, first, f"{first.lower()}.{index}@{draws.pick(EMAIL_DOMAINS)}"

    def _contact(self, index: int, instant: int, digits: int) -> dict[str, Any]:
        draws, first, email = self._contact_identity(index)
        record: dict[str, Any] = {
            "id": _contact_id(index),
            "email": email,
            "firstName": first,
            "lastName": draws.pick(LAST_NAMES),
            "status": draws.pick(CONTACT_STATUSES),
            "createdDate": _iso_local(instant - draws.below(400) * DAY_US // 7, 0, index + 2),
            "updatedDate": _iso_local(instant, digits, index),
        }
        if draws.chance(80):
            record["phone"] = f"+1-717-555-{draws.below(10_000):04d}"
        if draws.chance(85):
            record["city"] = draws.pick(CITIES)
        if draws.chance(80):
            record["state"] = draws.pick(STATES)
        if draws.chance(75):
            record["zipCode"] = f"{17_000 + draws.below(3000):05d}"
        if draws.chance(70):
            record["language"] = draws.pick(LANGUAGES)
        if draws.chance(60):
            record["customFields"] = {
                "favourite_colour": draws.pick(("blue", "vert", "青")),
                "vip": draws.chance(20),
                "loyalty": {"tier": draws.pick(("bronze", "silver", "gold")), "points": draws.below(5000)},
            }
        return record

    def _campaign(self, index: int, draws: _Draws, instant: int, digits: int) -> dict[str, Any]:
        recipients = 100 + draws.below(50_000)
        opens = draws.below(recipients + 1)
        record: dict[str, Any] = {
            "id": _campaign_id(index),
            "name": f"Campaign {index}: {draws.pick(CAMPAIGN_THEMES)}",
            "sendDate": _iso_local(instant, digits, index),
            "type": draws.pick(CAMPAIGN_TYPES),
            "status": draws.pick(CAMPAIGN_STATUSES),
            "recipientsCount": recipients,
            "opensCount": opens,
            "clicksCount": draws.below(opens + 1),
            "bouncesCount": draws.below(recipients // 20 + 1),
            "createdDate": _iso_local(instant - (1 + draws.below(30)) * DAY_US, 0, index + 1),
            "updatedDate": _iso_local(instant, digits, index + 3),
        }
        if draws.chance(85):
            record["subject"] = f"{draws.pick(FIRST_NAMES)}, {draws.pick(CAMPAIGN_THEMES).lower()} inside"
        return record

    def _event(self, index: int, draws: _Draws, instant: int, digits: int) -> dict[str, Any]:
        contact = draws.below(max(self.sizes.contacts, 1))
        campaign = draws.below(max(self.sizes.campaigns, 1))
        event_type = draws.pick(EVENT_TYPES)
        record: dict[str, Any] = {
            "id": _event_id(index),
            "contactId": _contact_id(contact),
            "campaignId": _campaign_id(campaign),
            "eventType": event_type,
            "timestamp": _iso_local(instant, digits, index),
            "email": self._contact_email(contact),
        }
        user_agent = draws.pick(EVENT_USER_AGENTS)
        if user_agent is not ABSENT:
            record["userAgent"] = user_agent
        host = draws.below(300)
        if host < 250:
            record["ipAddress"] = f"2001:db8::{host:x}" if host % 5 == 0 else f"203.0.113.{host}"
        product = draws.below(100)
        if event_type == "click" and product < 95:
            record["url"] = f"https://shop.example.com/p/{product}?utm_source=émail&q=a%20b"
        metadata = _metadata(draws)
        if metadata is not ABSENT:
            record["metadata"] = metadata
        return record

    def _contact_email(self, index: int) -> str:
        """The email of contact `index`, as its record has it (cached: events repeat contacts)."""
        email = self._emails.get(index)
        if email is None:
            if len(self._emails) >= 100_000:
                self._emails.clear()
            email = self._emails[index] = self._contact_identity(index)[2]
        return email

    def add(self, stream: str, count: int) -> list[dict[str, Any]]:
        """Appends `count` records stamped with the real clock (never before the last one)."""
        if stream not in WINDOWED:
            raise ValueError(f"records can be added to {', '.join(WINDOWED)}, not {stream!r}")
        with self.lock:
            added = []
            for _ in range(count):
                index = self.count(stream)
                previous = self.instant_us(stream, index - 1) if index else 0
                instant = max(_epoch_us(datetime.now(UTC)), previous + 1)
                record = self._build(stream, index, instant, 6)
                self.added[stream].append((instant, record))
                added.append(record)
            return added

    def window(self, stream: str, start_us: int | None, end_us: int | None) -> range:
        """Indexes with start <= cursor < end (the contract's inclusive start, exclusive end)."""
        count = self.count(stream)
        indexes = range(count)

        def instant(index: int) -> int:
            return self.instant_us(stream, index)

        low = 0 if start_us is None else bisect.bisect_left(indexes, start_us, key=instant)
        high = count if end_us is None else bisect.bisect_left(indexes, end_us, key=instant)
        return range(low, max(low, high))

    # the HAL collections and /webhook-events
    def hal_count(self, stream: str) -> int:
        return getattr(self.sizes, stream)

    def hal_item(self, stream: str, index: int) -> dict[str, Any]:
        draws = _Draws(self.salts[stream], index)
        item: dict[str, Any]
        if stream == "custom_fields":
            item = {"id": f"cf-{index:03d}", "name": f"field_{index}", "type": draws.pick(("text", "number", "date"))}
            if draws.chance(70):
                item["placeholder"] = f"Votre valeur n°{index}"
            path = "custom-fields"
        elif stream == "interests":
            item = {
                "id": str(4000 + index),  # numeric, but a string
                "name": f"interest_{index}",
                "label": f"Intérêt {index}",
                "visibility": draws.pick(("public", "private")),
            }
            if draws.chance(60):
                item["description"] = "Newsletters about 🌱 gardening"
            path = "interests"
        elif stream == "segments":
            item = {"id": f"seg-{index:03d}", "name": f"Segment {index} – {draws.pick(CITIES)}"}
            item["number_of_contacts"] = draws.below(5000)
            path = "segments"
        else:
            item = {"id": index + 1, "name": f"Source {index + 1} – {draws.pick(CITIES)}"}
            path = "sources"
        item["_links"] = _hal_links(path, item["id"])
        return item

    def hal_items(self, stream: str, start: int = 0, stop: int | None = None) -> list[dict[str, Any]]:
        count = self.hal_count(stream)
        stop = count if stop is None else min(stop, count)
        return [self.hal_item(stream, index) for index in range(start, stop)]

    def webhook_events(self) -> dict[str, Any]:
        return {"events": list(WEBHOOK_EVENTS), "_links": {"self": {"href": f"{BASE_PATH}/webhook-events"}}}


# ---------------------------------------------------------------- expected connector output


def flatten(metadata: Any) -> str:
    """The contract's metadata column: flattened with `.`, keys sorted, compact JSON; null or absent -> {}."""
    if metadata is None:
        return "{}"
    if not isinstance(metadata, dict):
        metadata = {"value": metadata}
    flat: dict[str, Any] = {}

    def walk(prefix: str, obj: dict[str, Any]) -> None:
        for key, value in obj.items():
            if isinstance(value, dict):
                walk(f"{prefix}{key}.", value)
            else:
                flat[f"{prefix}{key}"] = value

    walk("", metadata)
    return json.dumps(flat, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def to_utc(value: str) -> str:
    """The same instant in UTC, `YYYY-MM-DDTHH:MM:SS` + the input's fractional digits as given + `Z`."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time with an offset: {value!r}")
    seconds, fraction, offset = match.groups()
    moment = datetime.fromisoformat(seconds + ("+00:00" if offset == "Z" else offset)).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def expected_output(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    """One output record (without sync_timestamp) for one API record."""
    if stream not in RENAMES:
        return {key: value for key, value in record.items() if key != "_links"}
    mapped = dict(RENAMES[stream])
    output = {}
    for api, column in RENAMES[stream]:
        value = record.get(api)
        output[column] = to_utc(value) if api in TIMESTAMP_FIELDS and value is not None else value
    if stream == "events":
        output["metadata"] = flatten(record.get("metadata"))
    output.update({key: value for key, value in record.items() if key not in mapped and key != "_links"})
    return output


# ---------------------------------------------------------------- rules: parameters


def _bad_parameter(message: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", message)


_INTEGER = re.compile(r"-?[0-9]+")


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise _bad_parameter(f"{name} must be an integer between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise _bad_parameter(f"{name} must be between {low} and {high}")
    return value


def _time_param(query: dict[str, str], name: str) -> int | None:
    """A window bound in epoch microseconds (None: unbounded); ISO-8601 with an offset."""
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.replace(" ", "+")  # an unencoded '+' in a query string arrives as a space
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _bad_parameter(f"{name} must be an ISO-8601 date-time with an offset, not {raw!r}") from None
    if "T" not in text or moment.tzinfo is None:
        raise _bad_parameter(f"{name} must be an ISO-8601 date-time with an offset, not {raw!r}")
    return _epoch_us(moment)


# ---------------------------------------------------------------- rules: responses


def _hal(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """A HAL collection; `_embedded` is left out when there are no items."""
    return {"_embedded": {"item": items}, "total": total} if items else {"total": total}


@dataclass
class _PageChoice:
    """Which records of a windowed stream one page request asks for."""

    page: int
    per_page: int
    window: range  # every index in the time window
    chosen: range  # the indexes on this page


def _page_choice(data: Dataset, stream: str, query: dict[str, str]) -> _PageChoice:
    _, start_param, end_param, _ = WINDOWED[stream]
    page = _int_param(query, "page", 1, 1, PAGE_MAX)
    per_page = _int_param(query, "perPage", 100, 1, PER_PAGE_MAX)
    window = data.window(stream, _time_param(query, start_param), _time_param(query, end_param))
    return _PageChoice(page, per_page, window, window[(page - 1) * per_page : page * per_page])


def _windowed_page(data: Dataset, stream: str, query: dict[str, str]) -> dict[str, Any]:
    choice = _page_choice(data, stream, query)
    records = [data.record(stream, index) for index in choice.chosen]
    return {WINDOWED[stream][0]: records, "page": choice.page, "perPage": choice.per_page, "total": len(choice.window)}


def _prerendered_page(data: Dataset, stream: str, query: dict[str, str], rendered: list[bytes]) -> RenderedPage:
    """The bytes `_windowed_page` would serialize to, joined from records serialized in advance."""
    choice = _page_choice(data, stream, query)
    body = b", ".join(rendered[choice.chosen.start : choice.chosen.stop]) if choice.chosen else b""
    tail = f'], "page": {choice.page}, "perPage": {choice.per_page}, "total": {len(choice.window)}}}'
    return RenderedPage(b'{"' + WINDOWED[stream][0].encode() + b'": [' + body + tail.encode(), len(choice.chosen))


def _records_in(resource: str, body: dict[str, Any]) -> int:
    """How many records a successful response body holds (webhook events: one object)."""
    if resource in WINDOWED:
        return len(body[WINDOWED[resource][0]])
    return 1 if resource == "webhook-events" else len(body.get("_embedded", {}).get("item", []))


def _offset_page(data: Dataset, stream: str, query: dict[str, str]) -> dict[str, Any]:
    offset = _int_param(query, "offset", 0, 0, PAGE_MAX * PER_PAGE_MAX)
    limit = _int_param(query, "limit", SOURCES_LIMIT_MAX, 1, SOURCES_LIMIT_MAX)
    items = data.hal_items(stream, offset, offset + limit)
    return {**_hal(items, data.hal_count(stream)), "offset": offset, "limit": limit}


def _authenticate(header: str | None, api_key: str, account_id: str) -> None:
    """Bearer <api_key> or Basic base64(<account_id>:<api_key>); anything else is 401."""
    scheme, _, token = (header or "").partition(" ")
    if scheme == "Bearer" and token == api_key:
        return
    if scheme == "Basic" and token == base64.b64encode(f"{account_id}:{api_key}".encode()).decode():
        return
    raise ApiError(401, "ERROR_UNAUTHORIZED", "The credentials are missing or invalid.")


def _auth_scheme(header: str | None) -> str | None:
    scheme = (header or "").partition(" ")[0]
    return scheme if scheme in ("Bearer", "Basic") else None


# ---------------------------------------------------------------- rules: faults

SERVER_ERRORS = (
    (500, "ERROR_INTERNAL"),
    (502, "ERROR_BAD_GATEWAY"),
    (503, "ERROR_SERVICE_UNAVAILABLE"),
    (504, "ERROR_GATEWAY_TIMEOUT"),
)


def _fault_rates(faults: Faults) -> tuple[tuple[str, float], ...]:
    return (("429", faults.rate_429), ("5xx", faults.rate_5xx), ("drop", faults.rate_drop), ("slow", faults.rate_slow))


def _fault_error(emulator: Emulator, fault: str, path: str, n: int, headers: dict[str, str]) -> ApiError:
    """The error a 429 or 5xx fault answers with; a 429 may add Retry-After to `headers`."""
    if fault == "429":
        faults = emulator.faults
        retry_after = retry_after_header(faults.retry_after, faults.retry_after_seconds, n, datetime.now(UTC))
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return ApiError(429, "ERROR_TOO_MANY_REQUESTS", "Too many requests; slow down.")
    status, error = SERVER_ERRORS[emulator.fault_decider.draw("5xx:" + path, n) % len(SERVER_ERRORS)]
    return ApiError(status, error, "A temporary failure; try again.")


def _relative_path(url_path: str) -> str | None:
    """`/email/v1/events/` -> `/events`; None for a path outside the base path."""
    if url_path != BASE_PATH and not url_path.startswith(BASE_PATH + "/"):
        return None
    return "/" + url_path[len(BASE_PATH) :].strip("/")


# ---------------------------------------------------------------- HTTP


class _Handler(KeepAliveHandler):
    service: Emulator

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        emulator = self.service
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        path = _relative_path(url.path)
        header = self.headers.get("Authorization")
        entry = new_log_entry(self, path or url.path, query, url.query)
        entry.auth_scheme = _auth_scheme(header)
        self.delay(emulator.faults.latency_ms)
        entry.fault, n = emulator.decide_fault(request_key(path or url.path, query))
        if self.act_out_transport_fault(entry, emulator.faults.slow_seconds):
            return
        headers: dict[str, str] = {}
        try:
            if entry.fault in ("429", "5xx"):
                raise _fault_error(emulator, entry.fault, path or url.path, n, headers)
            if path is None:
                raise ApiError(404, "ERROR_NOT_FOUND", f"No resource at {url.path}; the API is under {BASE_PATH}.")
            emulator.authorize(path, header)
            status, page = 200, emulator.render(path, query)
        except ApiError as error:
            status, page = error.status, RenderedPage(JSON_ENCODER.encode(error.body()).encode(), 0)
        self.answer_and_log(entry, status, page.body, headers, records=page.records)

    def _not_allowed(self) -> None:
        url = urlsplit(self.path)
        entry = new_log_entry(self, url.path, {}, url.query)
        entry.auth_scheme = _auth_scheme(self.headers.get("Authorization"))
        error = ApiError(405, "ERROR_METHOD_NOT_ALLOWED", f"{self.command} is not supported; the API is read-only.")
        body = JSON_ENCODER.encode(error.body()).encode()
        self.answer_and_log(entry, 405, body, {"Allow": "GET", "Connection": "close"})  # any request body is unread

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed  # noqa: N815 - http.server's naming


# ---------------------------------------------------------------- the emulator


class Emulator(LoopbackService):
    """The contract on loopback: `with Emulator() as api: requests.get(api.base_url + ...)`.

    `render(path, query)` is the body a GET answers with; `prerender()` serializes the windowed
    streams' records once so that pages are joined from bytes (for benchmarks: the same bytes, less work).
    `additions()` returns the records `add_records` appended, in the form the `additions` argument takes,
    so a later emulator can replay the same account.
    """

    STREAMS = STREAMS
    handler_class = _Handler
    base_path = BASE_PATH

    def __init__(
        self,
        seed: int = 0,
        sizes: Sizes | None = None,
        faults: Faults | None = None,
        api_key: str = "emulator-key-0123456789",
        account_id: str = "emulator-account",
        history_days: int = 80,
        now: datetime | None = None,
        forbidden_paths: frozenset[str] | set[str] = frozenset(),
        additions: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.seed, self.api_key, self.account_id = seed, api_key, account_id
        self.faults = faults or Faults()
        if self.faults.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"Faults.retry_after must be one of {', '.join(RETRY_AFTER_MODES)}")
        self.fault_decider = FaultDecider(seed, self.faults.max_consecutive)
        self.forbidden_paths = {"/" + path.strip("/") for path in forbidden_paths}
        self.data = Dataset(seed, sizes or Sizes(), now or datetime.now(UTC), history_days)
        for stream, records in (additions or {}).items():
            self.data.added[stream].extend((int(instant), record) for instant, record in records)
        self._rendered: dict[str, list[bytes]] = {}
        self._key_lock = threading.Lock()
        self._key_uses_left: int | None = None  # None: the key is never revoked

    # what tests read
    def add_records(self, stream: str, count: int) -> list[dict[str, Any]]:
        return self.data.add(stream, count)

    def additions(self) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """Records added so far per windowed stream, as (instant in epoch microseconds, record): JSON-ready."""
        return {stream: list(added) for stream, added in self.data.added.items()}

    def api_records(self, stream: str) -> Iterator[dict[str, Any]]:
        """Every record as served, in the contract's order (lazily: a million events cost no memory)."""
        if stream in WINDOWED:
            return (self.data.record(stream, index) for index in range(self.data.count(stream)))
        if stream in HAL_STREAMS:
            return (self.data.hal_item(stream, index) for index in range(self.data.hal_count(stream)))
        if stream == "webhook_events":
            return iter([self.data.webhook_events()])
        raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")

    def _window(self, stream: str, start: datetime | None, end: datetime | None) -> range:
        return self.data.window(
            stream, None if start is None else _epoch_us(start), None if end is None else _epoch_us(end)
        )

    def expected_records(
        self, stream: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """What the connector must output (without sync_timestamp); windowed streams: start <= cursor < end."""
        if stream in WINDOWED:
            return [expected_output(stream, self.data.record(stream, i)) for i in self._window(stream, start, end)]
        return [expected_output(stream, record) for record in self.api_records(stream)]

    def expected_count(self, stream: str, start: datetime | None = None, end: datetime | None = None) -> int:
        if stream in WINDOWED:
            return len(self._window(stream, start, end))
        if stream in HAL_STREAMS:
            return self.data.hal_count(stream)
        return len(self.expected_records(stream))

    # rules
    def revoke_key_after(self, requests: int) -> None:
        """The key works for the next `requests` authenticated requests, then every request gets 401."""
        with self._key_lock:
            self._key_uses_left = requests

    def authorize(self, path: str, header: str | None) -> None:
        _authenticate(header, self.api_key, self.account_id)
        with self._key_lock:
            if self._key_uses_left is not None:
                if self._key_uses_left <= 0:
                    raise ApiError(401, "ERROR_UNAUTHORIZED", "The API key was revoked.")
                self._key_uses_left -= 1
        if path in self.forbidden_paths:
            raise ApiError(403, "ERROR_FORBIDDEN", f"The credentials have no access to {path}.")

    def decide_fault(self, key: str) -> tuple[str | None, int]:
        """(fault or None, how many times this request was seen before); at most max_consecutive in a row."""
        self.fault_decider.max_consecutive = self.faults.max_consecutive
        return self.fault_decider.decide(key, _fault_rates(self.faults))

    def respond(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        """The body of a successful GET of `path` (without the base path), or ApiError."""
        resource = path.strip("/")
        if resource in WINDOWED:
            return _windowed_page(self.data, resource, query)
        if resource in HAL_PATHS:
            stream = HAL_PATHS[resource]
            return _hal(self.data.hal_items(stream), self.data.hal_count(stream))
        if resource == "sources":
            return _offset_page(self.data, "sources", query)
        if resource == "webhook-events":
            return self.data.webhook_events()
        raise ApiError(404, "ERROR_NOT_FOUND", f"No resource at {BASE_PATH}/{resource}.")

    def render(self, path: str, query: dict[str, str]) -> RenderedPage:
        """The serialized body of a successful GET of `path`, from pre-serialized records where there are some."""
        resource = path.strip("/")
        rendered = self._rendered.get(resource)
        if rendered is not None and len(rendered) == self.data.count(resource):
            return _prerendered_page(self.data, resource, query, rendered)
        body = self.respond(path, query)
        return RenderedPage(JSON_ENCODER.encode(body).encode(), _records_in(resource, body))

    def prerender(self, streams: Sequence[str] = ("events",)) -> None:
        """Serializes every record of these windowed streams once; pages are then joined from those bytes.

        Records added later make a stream's pages built record by record again, until the next prerender.
        """
        for stream in streams:
            if stream not in WINDOWED:
                raise ValueError(f"only {', '.join(WINDOWED)} can be prerendered, not {stream!r}")
            records = (self.data.record(stream, index) for index in range(self.data.count(stream)))
            self._rendered[stream] = [JSON_ENCODER.encode(record).encode() for record in records]


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    description = "Serve the REST contract of the Fivetran Connector SDK's Listrak example on loopback."
    parser = command_line(description, port=8765)
    for name, default in vars(Sizes()).items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=default, help=f"records (default {default})"
        )
    parser.add_argument("--history-days", type=int, default=80)
    parser.add_argument("--retry-after", choices=RETRY_AFTER_MODES, default="mixed")
    parser.add_argument("--api-key", default="emulator-key-0123456789")
    parser.add_argument("--account-id", default="emulator-account")
    return parser


def main(argv: list[str] | None = None) -> int:
    """--fault-rate is split evenly over 429, 5xx and dropped connections."""
    args = _parser().parse_args(argv)
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes())})
    share = args.fault_rate / 3
    faults = Faults(
        rate_429=share, rate_5xx=share, rate_drop=share, latency_ms=args.latency_ms, retry_after=args.retry_after
    )
    emulator = Emulator(args.seed, sizes, faults, args.api_key, args.account_id, args.history_days, parse_now(args.now))
    return serve_until_signal(emulator, args.host, args.port)


if __name__ == "__main__":
    raise SystemExit(main())
