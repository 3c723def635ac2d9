"""A local emulator of the Listrak seed contract (../shared/api-contract.md, section 1).

Data plus rules in one module: deterministic synthetic data (a pure function of seed and index, so a
million events cost no memory), the contract's rules (auth, paging, windows, faults), and the
expected connector output, computed here independently of the connector.

    python -m integration_tests.emulator --port 8765 --events 10000
"""

from __future__ import annotations

import argparse
import base64
import bisect
import hashlib
import json
import random
import signal
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

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
WINDOWED = {  # path -> (records key, window start param, window end param, API cursor field)
    "contacts": ("contacts", "updatedAfter", "updatedBefore", "updatedDate"),
    "campaigns": ("campaigns", "sendDateAfter", "sendDateBefore", "sendDate"),
    "events": ("events", "timestampAfter", "timestampBefore", "timestamp"),
}
HAL_PATHS = {"custom-fields": "custom_fields", "interests": "interests", "segments": "segments"}
RENAMES = {
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

FIRST_NAMES = [
    "Zoë",
    "Łukasz",
    "Renée",
    "José",
    "Ana",
    "Søren",
    "Mia",
    "Chloé",
    "Dmitri",
    "Aiko",
    "Liam",
    "北京",
]
LAST_NAMES = [
    "Müller",
    "O'Brien",
    "García",
    "Nguyễn",
    "Smith",
    "Ærøskøbing",
    "Kowalski",
    "Dubois",
    "李",
    "Patel",
]
CITIES = ["Lancaster", "Zürich", "São Paulo", "Kraków", "Montréal", "München", "Tōkyō", "Reykjavík"]
OFFSETS = [("Z", 0), ("+00:00", 0), ("+02:00", 120), ("-05:00", -300), ("+05:30", 330)]
EVENT_TYPES = ["open"] * 5 + ["click"] * 3 + ["bounce", "unsubscribe", "spam_complaint"]
USER_AGENTS = [
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)",
    "Mozilla/5.0 (Windows NT 10.0)",
    "Outlook-iOS/4.2 📧",
]
DAY_US = 86_400_000_000


@dataclass
class Sizes:
    contacts: int = 300
    campaigns: int = 40
    events: int = 2000
    custom_fields: int = 12
    interests: int = 8
    segments: int = 6
    sources: int = 1203


@dataclass
class Faults:
    rate_429: float = 0.0
    retry_after: str = "mixed"  # seconds | http-date | absent | mixed | far-future | past
    retry_after_seconds: int = 1
    rate_5xx: float = 0.0
    rate_slow: float = 0.0
    slow_seconds: float = 3.0
    rate_drop: float = 0.0
    latency_ms: float = 0.0
    max_consecutive: int = 2


@dataclass
class RequestLogEntry:
    time: float
    wall_time: float
    method: str
    path: str
    query: dict[str, str]
    status: int
    fault: str | None = None
    retry_after: str | None = None
    auth_scheme: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, error: str, message: str) -> None:
        super().__init__(message)
        self.status, self.error, self.message = status, error, message


# ---------------------------------------------------------------- data: one record per (stream, index)


def _rng(seed: int, stream: str, index: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}/{stream}/{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


@dataclass
class _Timeline:
    """Cursor instants (epoch microseconds, UTC) that never decrease with the index."""

    count: int
    old_start_us: int
    old_end_us: int
    start_us: int
    end_us: int

    @property
    def old_count(self) -> int:
        return self.count // 20  # about 5% before a 90-day window

    def slot(self, index: int) -> int:
        return index - 1 if index % 3 == 2 else index  # every third record ties with the one before

    def instant_us(self, index: int) -> int:
        slot = self.slot(index)
        if slot < self.old_count:
            span, first, position, size = (
                self.old_end_us - self.old_start_us,
                self.old_start_us,
                slot,
                self.old_count,
            )
        else:
            span, first = self.end_us - self.start_us, self.start_us
            position, size = slot - self.old_count, max(self.count - self.old_count, 1)
        raw = first + span * position // size
        precision = (1_000_000, 1000, 1)[slot % 3]  # none, milliseconds or microseconds
        return raw - raw % precision

    def fraction_digits(self, index: int) -> int:
        return (0, 3, 6)[self.slot(index) % 3]


def _iso_local(instant_us: int, digits: int, offset_index: int) -> str:
    suffix, minutes = OFFSETS[offset_index % len(OFFSETS)]
    local = datetime(1970, 1, 1) + timedelta(microseconds=instant_us + minutes * 60_000_000)
    return f"{local:%Y-%m-%dT%H:%M:%S}{_fraction(local.microsecond, digits)}{suffix}"


def _fraction(microsecond: int, digits: int) -> str:
    return f".{microsecond:06d}"[: digits + 1] if digits else ""


def _iso_utc(instant_us: int, digits: int) -> str:
    moment = datetime(1970, 1, 1) + timedelta(microseconds=instant_us)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{_fraction(moment.microsecond, digits)}Z"


def _epoch_us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)


def _contact_id(index: int) -> int:
    return 10_000 + index


def _campaign_id(index: int, slot: int) -> str:
    return f"2{index:04d}" if slot % 4 == 3 else f"cmp-{index:04d}"  # some ids are numeric strings


def _event_id(index: int, slot: int) -> int | str:
    return 1_000_000 + index if slot % 2 == 0 else f"evt-{index:08d}"


def _metadata(rng: random.Random) -> Any:
    kind = rng.randrange(12)
    if kind == 0:
        return None
    if kind == 1:
        return "absent"
    if kind == 2:
        return [1, 2, 3] if rng.random() < 0.5 else "legacy-string"
    meta: dict[str, Any] = {
        "device": {
            "os": rng.choice(["iOS", "Android", "Windows"]),
            "version": {"major": rng.randrange(10, 18), "beta": rng.random() < 0.1},
        }
    }
    if kind > 5:
        meta["tags"] = ["promo", "été"][: rng.randrange(3)]
    if kind > 8:
        meta["links"] = [{"href": "https://example.com/a", "n": 1}]
        meta["geo"] = {"city": rng.choice(CITIES), "lat": round(rng.uniform(-80, 80), 4), "note": None}
    if kind == 11:
        meta["empty"] = {}
    return meta


class Dataset:
    """The emulated account: deterministic records, plus any added with `add`."""

    def __init__(self, seed: int, sizes: Sizes, now: datetime, history_days: int) -> None:
        self.seed, self.sizes, self.now = seed, sizes, now
        now_us = _epoch_us(now)
        self.timelines = {
            stream: _Timeline(
                count=getattr(sizes, stream),
                old_start_us=now_us - 130 * DAY_US,
                old_end_us=now_us - 100 * DAY_US,
                start_us=now_us - history_days * DAY_US + 60_000_000,
                end_us=now_us - 60_000_000,
            )
            for stream in WINDOWED
        }
        self.added: dict[str, list[tuple[int, dict[str, Any]]]] = {stream: [] for stream in WINDOWED}
        self.lock = threading.Lock()

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
        rng = _rng(self.seed, stream, index)
        cursor = _iso_local(timeline.instant_us(index), timeline.fraction_digits(index), index)
        created = _iso_local(timeline.instant_us(index) - rng.randrange(1, 400) * DAY_US // 7, 0, index + 1)
        return getattr(self, f"_{stream}")(index, timeline.slot(index), rng, cursor, created)

    def _contacts(
        self, index: int, slot: int, rng: random.Random, cursor: str, created: str
    ) -> dict[str, Any]:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        record: dict[str, Any] = {
            "id": _contact_id(index),
            "email": f"{first.lower()}.{index}@exämple.com",
            "firstName": first,
            "lastName": last,
            "status": rng.choice(["active", "active", "unsubscribed", "bounced"]),
            "createdDate": created,
            "updatedDate": cursor,
        }
        optional = {
            "phone": f"+1-717-555-{index % 10000:04d}",
            "city": rng.choice(CITIES),
            "state": "PA",
            "zipCode": f"{17600 + index % 100:05d}",
            "language": rng.choice(["en", "fr", "de", "ja"]),
            "customFields": {"favourite_colour": rng.choice(["blue", "vert"]), "vip": rng.random() < 0.2},
        }
        for key, value in optional.items():
            if rng.random() < 0.8:
                record[key] = value
        return record

    def _campaigns(
        self, index: int, slot: int, rng: random.Random, cursor: str, created: str
    ) -> dict[str, Any]:
        recipients = rng.randrange(100, 50_000)
        record: dict[str, Any] = {
            "id": _campaign_id(index, slot),
            "name": f"Campaign {index}: {rng.choice(['Soldes d’été', 'Spring ☀'])}",
            "sendDate": cursor,
            "type": rng.choice(["standard", "transactional", "ab_test"]),
            "status": "sent",
            "recipientsCount": recipients,
            "opensCount": recipients // 3,
            "clicksCount": recipients // 12,
            "bouncesCount": recipients // 100,
            "createdDate": created,
            "updatedDate": cursor,
        }
        if rng.random() < 0.85:
            record["subject"] = f"Hello {rng.choice(FIRST_NAMES)}, news for you"
        return record

    def _events(self, index: int, slot: int, rng: random.Random, cursor: str, created: str) -> dict[str, Any]:
        contact = rng.randrange(max(self.sizes.contacts, 1))
        campaign = rng.randrange(max(self.sizes.campaigns, 1))
        campaign_slot = self.timelines["campaigns"].slot(campaign)
        event_type = rng.choice(EVENT_TYPES)
        record: dict[str, Any] = {
            "id": _event_id(index, slot),
            "contactId": _contact_id(contact),
            "campaignId": _campaign_id(campaign, campaign_slot),
            "eventType": event_type,
            "timestamp": cursor,
            "email": f"contact.{contact}@exämple.com",
        }
        if rng.random() < 0.8:
            record["userAgent"] = rng.choice(USER_AGENTS)
        if rng.random() < 0.8:
            record["ipAddress"] = f"203.0.113.{index % 250}"
        if event_type == "click":
            record["url"] = f"https://shop.example.com/p/{index % 97}?utm=ëmail"
        metadata = _metadata(rng)
        if metadata != "absent":
            record["metadata"] = metadata
        return record

    def hal_items(self, stream: str) -> list[dict[str, Any]]:
        items = []
        for index in range(getattr(self.sizes, stream)):
            rng = _rng(self.seed, stream, index)
            if stream == "custom_fields":
                item: dict[str, Any] = {
                    "id": f"cf-{index:03d}",
                    "name": f"field_{index}",
                    "type": rng.choice(["text", "number", "date"]),
                }
                if rng.random() < 0.7:
                    item["placeholder"] = f"Votre valeur n°{index}"
            elif stream == "interests":
                item = {
                    "id": f"int-{index:03d}",
                    "name": f"interest_{index}",
                    "label": f"Intérêt {index}",
                    "visibility": rng.choice(["public", "private"]),
                }
                if rng.random() < 0.6:
                    item["description"] = "Newsletters about 🌱 gardening"
            elif stream == "segments":
                item = {
                    "id": f"seg-{index:03d}",
                    "name": f"Segment {index}",
                    "number_of_contacts": rng.randrange(0, 5000),
                }
            else:
                item = {"id": index + 1, "name": f"Source {index + 1} – {rng.choice(CITIES)}"}
            item["_links"] = {"self": {"href": f"{BASE_PATH}/{stream.replace('_', '-')}/{item['id']}"}}
            items.append(item)
        return items

    def webhook_events(self) -> dict[str, Any]:
        return {
            "events": ["contact.created", "contact.updated", "contact.unsubscribed", "event.open"],
            "_links": {"self": {"href": f"{BASE_PATH}/webhook-events"}},
        }

    def add(self, stream: str, count: int) -> list[dict[str, Any]]:
        with self.lock:
            added = []
            for _ in range(count):
                index = self.count(stream)
                instant = max(_epoch_us(datetime.now(UTC)), self.instant_us(stream, index - 1) + 1)
                rng = _rng(self.seed, stream, index)
                cursor = _iso_local(instant, 6, index)
                created = _iso_local(instant - DAY_US, 0, index)
                slot = index if index % 2 == 0 else index + 1
                record = getattr(self, f"_{stream}")(index, slot, rng, cursor, created)
                if stream == "campaigns":
                    record["updatedDate"] = cursor
                self.added[stream].append((instant, record))
                added.append(record)
            return added

    def window(self, stream: str, start_us: int | None, end_us: int | None) -> range:
        """Indexes with start <= cursor < end (the contract's inclusive start, exclusive end)."""
        count = self.count(stream)
        indexes = range(count)
        low = (
            0
            if start_us is None
            else bisect.bisect_left(indexes, start_us, key=lambda i: self.instant_us(stream, i))
        )
        high = (
            count
            if end_us is None
            else bisect.bisect_left(indexes, end_us, key=lambda i: self.instant_us(stream, i))
        )
        return range(low, max(low, high))


# ---------------------------------------------------------------- expected connector output


def flatten(metadata: Any) -> str:
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


def to_utc(value: str) -> str:
    body, offset = (value[:-1], "+00:00") if value.endswith("Z") else (value[:-6], value[-6:])
    seconds, _, fraction = body.partition(".")
    moment = datetime.fromisoformat(seconds + offset).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def expected_output(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    if stream not in RENAMES:
        return {key: value for key, value in record.items() if key != "_links"}
    mapped = {api: column for api, column in RENAMES[stream]}
    output = {key: value for key, value in record.items() if key not in mapped and key != "_links"}
    for api, column in RENAMES[stream]:
        value = record.get(api)
        if api in TIMESTAMP_FIELDS and value is not None:
            value = to_utc(value)
        output[column] = value
    if stream == "events":
        output["metadata"] = flatten(record.get("metadata"))
    return output


# ---------------------------------------------------------------- HTTP rules


def _bad_parameter(message: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", message)


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _bad_parameter(f"{name} must be an integer between {low} and {high}") from None
    if not low <= value <= high:
        raise _bad_parameter(f"{name} must be between {low} and {high}")
    return value


def _time_param(query: dict[str, str], name: str) -> int | None:
    raw = query.get(name)
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise _bad_parameter(f"{name} must be an ISO-8601 date-time with an offset") from None
    if moment.tzinfo is None:
        raise _bad_parameter(f"{name} must carry a UTC offset")
    return _epoch_us(moment)


class Emulator:
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
    ) -> None:
        self.seed, self.api_key, self.account_id = seed, api_key, account_id
        self.faults = faults or Faults()
        self.forbidden_paths = set(forbidden_paths)
        self.data = Dataset(seed, sizes or Sizes(), now or datetime.now(UTC), history_days)
        self.request_log: list[RequestLogEntry] = []
        self._seen: dict[str, int] = {}
        self._streak: dict[str, int] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self.base_url = ""

    STREAMS = STREAMS

    # lifecycle
    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        handler = type("Handler", (_Handler,), {"emulator": self})
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True, name="listrak-emulator").start()
        self.base_url = f"http://{host}:{self._server.server_address[1]}{BASE_PATH}"
        return self.base_url

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Emulator:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # data access for tests
    def clear_log(self) -> None:
        with self._lock:
            self.request_log.clear()

    def add_records(self, stream: str, count: int) -> list[dict[str, Any]]:
        return self.data.add(stream, count)

    def api_records(self, stream: str) -> Iterator[dict[str, Any]]:
        if stream in WINDOWED:
            return (self.data.record(stream, i) for i in range(self.data.count(stream)))
        if stream == "webhook_events":
            return iter([self.data.webhook_events()])
        return iter(self.data.hal_items(stream))

    def expected_records(
        self, stream: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        if stream in WINDOWED:
            indexes = self.data.window(
                stream, _epoch_us(start) if start else None, _epoch_us(end) if end else None
            )
            return [expected_output(stream, self.data.record(stream, i)) for i in indexes]
        return [expected_output(stream, record) for record in self.api_records(stream)]

    def expected_count(self, stream: str, start: datetime | None = None, end: datetime | None = None) -> int:
        if stream in WINDOWED:
            return len(
                self.data.window(stream, _epoch_us(start) if start else None, _epoch_us(end) if end else None)
            )
        return len(self.expected_records(stream))

    # rules
    def authenticate(self, header: str | None) -> str:
        if header:
            scheme, _, token = header.partition(" ")
            if scheme == "Bearer" and token == self.api_key:
                return scheme
            expected = base64.b64encode(f"{self.account_id}:{self.api_key}".encode()).decode()
            if scheme == "Basic" and token == expected:
                return scheme
        raise ApiError(401, "ERROR_UNAUTHORIZED", "The credentials are missing or invalid.")

    def decide_fault(self, key: str) -> str | None:
        with self._lock:
            seen = self._seen.get(key, 0)
            self._seen[key] = seen + 1
            if self._streak.get(key, 0) >= self.faults.max_consecutive:
                self._streak[key] = 0
                return None
        draw = _rng(self.seed, "fault:" + key, seen).random()
        fault = None
        for name, rate in (
            ("429", self.faults.rate_429),
            ("5xx", self.faults.rate_5xx),
            ("drop", self.faults.rate_drop),
            ("slow", self.faults.rate_slow),
        ):
            if draw < rate:
                fault = name
                break
            draw -= rate
        with self._lock:
            self._streak[key] = self._streak.get(key, 0) + 1 if fault else 0
        return fault

    def retry_after_header(self, key: str) -> str | None:
        mode = self.faults.retry_after
        if mode == "mixed":
            mode = ("seconds", "http-date", "absent")[self._seen.get(key, 0) % 3]
        now = datetime.now(UTC)
        if mode == "seconds":
            return str(self.faults.retry_after_seconds)
        if mode == "http-date":
            return format_datetime(now + timedelta(seconds=self.faults.retry_after_seconds + 1), usegmt=True)
        if mode == "far-future":
            return format_datetime(now + timedelta(days=1), usegmt=True)
        if mode == "past":
            return format_datetime(now - timedelta(hours=1), usegmt=True)
        return None

    def respond(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        resource = path.strip("/")
        if resource in WINDOWED:
            key, start_param, end_param, _ = WINDOWED[resource]
            page = _int_param(query, "page", 1, 1, 10_000_000)
            per_page = _int_param(query, "perPage", 100, 1, 1000)
            window = self.data.window(
                resource, _time_param(query, start_param), _time_param(query, end_param)
            )
            chosen = window[(page - 1) * per_page : page * per_page]
            records = [self.data.record(resource, i) for i in chosen]
            return {key: records, "page": page, "perPage": per_page, "total": len(window)}
        if resource in HAL_PATHS:
            return _hal(self.data.hal_items(HAL_PATHS[resource]))
        if resource == "sources":
            offset = _int_param(query, "offset", 0, 0, 10_000_000)
            limit = _int_param(query, "limit", 500, 1, 500)
            items = self.data.hal_items("sources")
            return {
                **_hal(items[offset : offset + limit]),
                "total": len(items),
                "offset": offset,
                "limit": limit,
            }
        if resource == "webhook-events":
            return self.data.webhook_events()
        raise ApiError(404, "ERROR_NOT_FOUND", f"No resource at /{resource}.")


def _hal(items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"_embedded": {"item": items}, "total": len(items)} if items else {"total": 0}


class _Handler(BaseHTTPRequestHandler):
    emulator: Emulator
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        emulator = self.emulator
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        path = url.path[len(BASE_PATH) :] if url.path.startswith(BASE_PATH) else url.path
        entry = RequestLogEntry(time.monotonic(), time.time(), "GET", path, query, 0)
        if emulator.faults.latency_ms:
            time.sleep(emulator.faults.latency_ms / 1000)
        key = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        fault = emulator.decide_fault(key)
        entry.fault = fault
        headers: dict[str, str] = {}
        try:
            entry.auth_scheme = emulator.authenticate(self.headers.get("Authorization"))
            if path in emulator.forbidden_paths:
                raise ApiError(403, "ERROR_FORBIDDEN", f"The credentials have no access to {path}.")
            if fault == "drop":
                self._log(entry)
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            if fault == "slow":
                time.sleep(emulator.faults.slow_seconds)
            if fault == "429":
                retry_after = emulator.retry_after_header(key)
                if retry_after is not None:
                    headers["Retry-After"] = entry.retry_after = retry_after
                raise ApiError(429, "ERROR_TOO_MANY_REQUESTS", "Too many requests.")
            if fault == "5xx":
                status = (500, 502, 503, 504)[emulator._seen.get(key, 0) % 4]
                raise ApiError(status, "ERROR_SERVICE_UNAVAILABLE", "Temporary failure, try again.")
            status, body = 200, emulator.respond(path, query)
        except ApiError as error:
            status, body = (
                error.status,
                {"status": error.status, "error": error.error, "message": error.message},
            )
        entry.status = status
        self._log(entry)
        self._send(status, body, headers)

    def _log(self, entry: RequestLogEntry) -> None:
        with self.emulator._lock:
            self.emulator.request_log.append(entry)

    def _send(self, status: int, body: dict[str, Any], headers: dict[str, str]) -> None:
        payload = json.dumps(body, ensure_ascii=False).encode()
        head = [
            f"HTTP/1.1 {status} {self.responses.get(status, ('',))[0]}",
            "Content-Type: application/json; charset=utf-8",
            f"Content-Length: {len(payload)}",
        ]
        head += [f"{name}: {value}" for name, value in headers.items()]
        self.wfile.write(("\r\n".join(head) + "\r\n\r\n").encode() + payload)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Serve the Listrak seed contract on loopback.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=0)
    for name, default in vars(Sizes()).items():
        parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="split over 429, 5xx and dropped connections"
    )
    parser.add_argument("--api-key", default="emulator-key-0123456789")
    parser.add_argument("--account-id", default="emulator-account")
    parser.add_argument("--now", help="the emulator's clock (ISO-8601); default: now")
    args = parser.parse_args(argv)
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes())})
    share = args.fault_rate / 3
    faults = Faults(rate_429=share, rate_5xx=share, rate_drop=share, latency_ms=args.latency_ms)
    now = datetime.fromisoformat(args.now) if args.now else None
    emulator = Emulator(args.seed, sizes, faults, args.api_key, args.account_id, now=now)
    print(f"listening on {emulator.start(args.host, args.port)}", flush=True)
    stopped = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopped.set())
    stopped.wait()
    emulator.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
