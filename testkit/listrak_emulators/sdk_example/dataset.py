"""The generator: every record is a pure function of the knobs (`Sizes`), its stream and its index,
so a million events cost no memory, and cursor instants never decrease with the index, so a time
window is a binary search."""

from __future__ import annotations

import bisect
import json
import threading
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from listrak_emulators.http import stable_hash
from listrak_emulators.sdk_example.contract import BASE_PATH, STREAMS, WEBHOOK_EVENTS, WINDOWED


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


def epoch_us(moment: datetime) -> int:
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
        now_us = epoch_us(now)
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
                instant = max(epoch_us(datetime.now(UTC)), previous + 1)
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
