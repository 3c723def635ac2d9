"""An emulator of the Listrak Email REST API v1 on loopback, strict where the real API is unknown.

One port serves the OAuth2 token endpoint, `POST /OAuth2/Token` (form-encoded client credentials),
and the data API under `/email/v1` (`GET /email/v1/List`, `/email/v1/List/{listId}/Message/...`):
connectors get `token_url` and `base_url`. What it does, in the order of this module:

- knobs: `Sizes` (how big the account is), `Integration` (credentials, token lifetimes, API areas,
  paused / IP-blocked / revoked), `Paging` (short non-final pages, an empty final page), `Faults`;
- Eastern time: every datetime is naive America/New_York wall time with 0, 1, 2, 3 or 7 fraction
  digits (trailing zeros trimmed), the sentinel `0001-01-01T00:00:00` where the API uses it;
  `to_utc` is the conversion a connector must apply (fold 0 for ambiguous and missing times);
- the account: every record is a pure function of the knobs and its place (list, index), plus small
  overlays that the mutations (`advance`, `subscribe`, `engage`, ...) write, so millions of activity
  rows cost no memory;
- the rules: routing on canonical paths, Bearer tokens and API areas, strict query parameters,
  opaque HMAC-signed cursors, date filters, envelopes;
- faults, deterministic per request: 429, 500, IIS 502/503 pages, 200 with an HTML body, dropped
  connections, slow answers, and 500/429 on the token endpoint;
- the expected output (`expected_records`): what the connector must emit for each stream, and the
  request-count model (`expected_request_count`).

    python -m listrak_emulators.email_v1 --port 8766 --fault-rate 0.05 --latency-ms 20

Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import re
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit
from zoneinfo import ZoneInfo

from listrak_emulators.http import (
    ApiError,
    FaultDecider,
    KeepAliveHandler,
    LoopbackService,
    RequestLogEntry,
    command_line,
    new_log_entry,
    parse_now,
    request_key,
    retry_after_header,
    serve_until_signal,
    stable_hash,
)

# ---------------------------------------------------------------- the API's names

BASE_PATH = "/email/v1"
TOKEN_PATH = "/OAuth2/Token"
EASTERN = ZoneInfo("America/New_York")
SENTINEL = "0001-01-01T00:00:00"
AREAS = frozenset({"Contact", "Event", "List", "Message", "Report", "Segmentation"})
DEFAULT_COUNT, MAX_COUNT, MAX_SEGMENTATION_FIELDS = 1000, 5000, 30
UNAUTHORIZED = "Authorization was denied for this request."
INVALID_CREDENTIALS = {"error": "Invalid Credentials"}
DATA_CONTENT_TYPE = "application/json; charset=utf-8"
TOKEN_CONTENT_TYPE = "application/json;charset=UTF-8"
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
DATETIME_FIELDS = frozenset(
    {
        "createDate",
        "subscribeDate",
        "resubscribeDate",
        "unsubscribeDate",
        "sendDate",
        "activityDate",
        "visitDate",
        "clickDate",
        "lastModified",
        "expirationDate",
        "startDate",
        "endDate",
    }
)
EXTRA_FIELD = {"newFieldFrom2027": "x"}  # an unknown field, on a few records
PRIMARY_KEYS = {  # contract §3.1
    "lists": ("listId",),
    "campaigns": ("listId", "campaignId"),
    "contacts": ("listId", "emailAddress"),
    "segmentation_field_groups": ("listId", "segmentationFieldGroupId"),
    "segmentation_fields": ("listId", "segmentationFieldId"),
    "saved_audiences": ("listId", "savedAudienceId"),
    "events": ("listId", "eventId"),
    "event_groups": ("listId", "eventGroupId"),
    "messages": ("listId", "messageId"),
    "message_details": ("listId", "messageId"),
    "message_summary": ("listId", "messageId"),
    "message_links": ("listId", "messageId", "linkId"),
    "message_link_clickers": ("listId", "messageId", "linkId", "emailAddress", "clickDate"),
    "message_activity": ("listId", "messageId", "emailAddress"),
    "conversations": ("listId", "conversationId"),
    "conversation_summary": ("listId", "conversationId"),
    "conversation_messages": ("listId", "conversationId", "messageId"),
    "conversation_message_summary": ("listId", "conversationId", "messageId"),
    "conversation_message_activity": ("listId", "conversationId", "messageId", "emailAddress", "sendDate"),
    "transactional_messages": ("listId", "transactionalMessageId"),
    "transactional_message_activity": ("listId", "transactionalMessageId", "emailAddress", "sendDate"),
}
STREAMS = tuple(PRIMARY_KEYS)  # the connector's v1 streams, in the contract's order

# ---------------------------------------------------------------- knobs

LIST_SHAPES = ("large", "small", "empty")


@dataclass
class Sizes:
    """How big the emulated account is.

    `lists` lists with data, shaped by `list_shapes` (default: large, small, empty, then large ones):
    a large list has the sizes below, a small one a tenth of them (at least 2 messages and 10 contacts),
    an empty one nothing at all. With `deleted_list`, `/List` also returns one more list whose every
    child route answers 404, like a list deleted between the parent and the child reads.
    """

    lists: int = 3
    list_shapes: tuple[str, ...] | None = None
    contacts_per_list: int = 400
    messages_per_list: int = 12
    recipients_per_message: int = 150
    links_per_message: int | None = None  # None: 5 to 20, drawn per message
    history_days: int = 400  # long enough for both daylight-saving transitions
    deleted_list: bool = True

    def shapes(self) -> tuple[str, ...]:
        shapes = self.list_shapes or tuple(LIST_SHAPES[i] if i < 3 else "large" for i in range(self.lists))
        if len(shapes) != self.lists or not set(shapes) <= set(LIST_SHAPES):
            raise ValueError(f"list_shapes must name {self.lists} shapes out of {', '.join(LIST_SHAPES)}")
        return tuple(shapes)


@dataclass
class Integration:
    """The Listrak integration whose credentials the connector uses.

    `advertised_ttl` is the `expires_in` a token response states; `actual_ttl` (default: the same)
    is when the emulator starts rejecting the token. `revoke_previous_tokens` makes each new token
    revoke the client's older ones. `areas` are the API areas (scopes) granted. `paused` and
    `ip_blocked` make every request fail (token requests with 400, data requests with 401).
    `revoke_after` revokes the credentials after that many data requests: every later data request
    gets 401 and every later token request 400. `unauthorized_body` is how a 401 reads: "listrak"
    (the documented `{"status","error","message"}`), "no-error-key" (as recorded once in real traffic:
    no `error`), "empty" or "html".
    """

    client_id: str = "emu1ator0client0id01"
    client_secret: str = "Emu+lator/Secret0123456789abcdefghijklmnop="
    advertised_ttl: int = 3599
    actual_ttl: float | None = None
    revoke_previous_tokens: bool = False
    areas: frozenset[str] = AREAS
    paused: bool = False
    ip_blocked: bool = False
    revoke_after: int | None = None
    unauthorized_body: str = "listrak"


UNAUTHORIZED_BODIES = ("listrak", "no-error-key", "empty", "html")


@dataclass
class Paging:
    """Paging quirks a correct connector must survive (both off by default).

    `short_pages`: every second non-final page holds half of `count` rows, with a cursor.
    `empty_final_page`: the last page with rows still carries a cursor; it leads to an empty page
    with `"nextPageCursor": null`. `saved_audience_page_size` is SavedAudience's own page size.
    """

    short_pages: bool = False
    empty_final_page: bool = False
    saved_audience_page_size: int = 2


RETRY_AFTER_MODES = ("absent", "seconds", "http-date", "mixed")
DATA_FAULTS = ("429", "500", "502", "503", "html", "drop", "slow")
TOKEN_FAULTS = ("token-500", "token-429")


@dataclass
class Faults:
    """Per-request fault rates, decided by (seed, request, attempt): the same requests meet the same faults.

    "html" is a 200 answer whose body is an HTML proxy page. A 429 carries no Retry-After by default
    (`retry_after`: absent, seconds, http-date, or mixed: each in turn). One request never faults more
    than `max_consecutive` times in a row.
    """

    rate_429: float = 0.0
    rate_500: float = 0.0
    rate_502: float = 0.0
    rate_503: float = 0.0
    rate_html: float = 0.0
    rate_drop: float = 0.0
    rate_slow: float = 0.0
    token_rate_500: float = 0.0
    token_rate_429: float = 0.0
    retry_after: str = "absent"
    retry_after_seconds: int = 1
    slow_seconds: float = 3.0
    latency_ms: float = 0.0
    max_consecutive: int = 2

    @classmethod
    def at_rate(cls, rate: float, **knobs: Any) -> Faults:
        """`rate` split evenly over 429, 500, 502, 503, HTML-200 and dropped connections."""
        share = rate / 6
        return cls(
            rate_429=share, rate_500=share, rate_502=share, rate_503=share, rate_html=share, rate_drop=share, **knobs
        )

    def data_rates(self) -> tuple[tuple[str, float], ...]:
        return tuple(
            zip(
                DATA_FAULTS,
                (
                    self.rate_429,
                    self.rate_500,
                    self.rate_502,
                    self.rate_503,
                    self.rate_html,
                    self.rate_drop,
                    self.rate_slow,
                ),
                strict=True,
            )
        )

    def token_rates(self) -> tuple[tuple[str, float], ...]:
        return (("token-500", self.token_rate_500), ("token-429", self.token_rate_429))


def _invalid(name: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", f"An invalid value was supplied for {name}.")


def _unauthorized() -> ApiError:
    return ApiError(401, "ERROR_UNAUTHORIZED", UNAUTHORIZED)


def _not_located(names: Sequence[str]) -> ApiError:
    """404 naming every path id in order: "the listId, messageId, and messageLinkId supplied"."""
    if len(names) == 1:
        named = names[0]
    elif len(names) == 2:
        named = f"{names[0]} and {names[1]}"
    else:
        named = ", ".join(names[:-1]) + f", and {names[-1]}"
    return ApiError(
        404, "ERROR_UNABLE_TO_LOCATE_RESOURCE", f"Unable to locate a resource associated with the {named} supplied."
    )  # noqa: E501


# ---------------------------------------------------------------- Eastern wall time
# Instants are kept as UTC ticks (100 ns since the epoch). The API shows them, and compares them with
# startDate/endDate, as "wall ticks": the same units on an America/New_York wall clock.

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


_DATE_PARAMETER = re.compile(r"(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?)?")


def parse_date_parameter(name: str, raw: str) -> int:
    """startDate/endDate in wall ticks: a date, a naive Eastern time, or a time with Z / an offset (converted)."""
    match = _DATE_PARAMETER.fullmatch(raw)
    if match is None:
        raise _invalid(name)
    day, clock, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{clock or '00:00:00'}{'+00:00' if offset == 'Z' else offset or ''}")
    except ValueError:
        raise _invalid(name) from None
    return wall_ticks(moment) + int((fraction or "0").ljust(7, "0"))


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


# ---------------------------------------------------------------- deterministic draws


class _Draws:
    """Random-looking choices for one record from (seed, parts): a 64-bit hash, hashed again when used up."""

    __slots__ = ("_bits", "_parts", "_round")

    def __init__(self, *parts: object) -> None:
        self._parts, self._round, self._bits = parts, 0, stable_hash(*parts)

    def below(self, n: int) -> int:
        if self._bits < n << 16:
            self._round += 1
            self._bits = stable_hash(*self._parts, self._round)
        self._bits, value = divmod(self._bits, n)
        return value

    def chance(self, share: float) -> bool:
        return self.below(1_000_000) < share * 1_000_000

    def pick(self, options: Sequence[Any]) -> Any:
        return options[self.below(len(options))]

    def stamp(self, utc: int) -> int:
        """A UTC instant (ticks) cut to its second, plus a drawn fraction of 0, 1, 2, 3 or 7 digits."""
        return utc - utc % TICKS + fraction_ticks(self.below(1 << 44))


# ---------------------------------------------------------------- the account: lists and their shapes

LIST_ID_BASE = 300_001
DATA_TYPES = ("Text", "Numeric", "RadioButton", "CheckBox", "CommentArea", "Date", "ContentBlock")
WORDS = ("spring", "été", "weekly", "vip", "outlet", "rewards", "launch", "digest", "holiday", "flash")
DOMAINS = ("example.com", "example.org", "mail.example.net", "example.co.uk")
SUBSCRIBE_METHODS = ("Administrator", None, "Import", "Web", "Administrator")
UNSUBSCRIBE_METHODS = ("Administrator", None, "Link", "Complaint")
BOUNCE_REASONS = ("Mailbox does not exist", "Mailbox full", "Blocked by recipient server")


@dataclass(frozen=True)
class ListPlan:
    """One list of the account and how many of each thing it holds."""

    index: int
    list_id: int
    shape: str  # large, small, empty, or deleted (in /List, 404 on every child route)
    contacts: int
    messages: int
    recipients: int
    campaigns: int
    fields_per_group: tuple[int, ...]
    saved_audiences: int
    event_groups: int
    events: int
    conversations: int
    transactional: int


def _list_plan(index: int, shape: str, sizes: Sizes, seed: int) -> ListPlan:
    list_id = LIST_ID_BASE + index
    if shape in ("empty", "deleted"):
        return ListPlan(index, list_id, shape, 0, 0, 0, 0, (), 0, 0, 0, 0, 0)
    small = shape == "small"
    return ListPlan(
        index=index,
        list_id=list_id,
        shape=shape,
        contacts=max(10, sizes.contacts_per_list // 10) if small else sizes.contacts_per_list,
        messages=max(2, sizes.messages_per_list // 10) if small else sizes.messages_per_list,
        recipients=max(10, sizes.recipients_per_message // 10) if small else sizes.recipients_per_message,
        campaigns=5 + stable_hash(seed, "campaigns", index) % 6,
        fields_per_group=(4, 3) if small else (20, 15),
        saved_audiences=3 if small else 5,
        event_groups=2,
        events=3 if small else 5,
        conversations=2,
        transactional=2,
    )


def list_plans(sizes: Sizes, seed: int) -> list[ListPlan]:
    plans = [_list_plan(index, shape, sizes, seed) for index, shape in enumerate(sizes.shapes())]
    if sizes.deleted_list:
        plans.append(_list_plan(len(plans), "deleted", sizes, seed))
    return plans


@dataclass(frozen=True)
class Message:
    """One broadcast message of a list: generated, one of the two test messages, or sent by `send_message`."""

    plan: ListPlan
    index: int
    message_id: int
    send: int | None  # UTC ticks of sendDate; None for the message that has none
    recipients: int  # rows of its activity once sent
    links: int
    test: bool = False


@dataclass(frozen=True)
class Stream:
    """One series of sends with their own send dates: a conversation message's or a transactional message's."""

    plan: ListPlan
    kind: str  # "conversation" or "transactional"
    owner_id: int  # conversationId or transactionalMessageId
    message_id: int  # conversation message id, or the transactional message id again
    rows: int
    start: int  # UTC ticks: the sends are spread over [start, end)
    end: int
    pool: int  # distinct addresses the sends go to (fewer than rows: repeat recipients)


@dataclass
class ContactState:
    """Subscription facts of one contact; dates in UTC ticks."""

    index: int
    state: str
    subscribe: int
    resubscribe: int | None = None
    unsubscribe: int | None = None
    old: bool = False  # an old record: no universalEmailKey, resubscribeDate or externalContactID
    subscribe_method: str | None = None
    unsubscribe_method: str | None = None


@dataclass
class ActivityFacts:
    """One recipient's engagement with one send: flags, clicks, first-activity date (UTC ticks)."""

    row: int
    contact: int
    send: int
    opened: bool = False
    read: bool = False
    clicks: list[tuple[int, int]] = field(default_factory=list)  # (link index, UTC ticks)
    bounced: bool = False
    unsubscribed: bool = False
    abuse: bool = False
    activity: int | None = None
    order_total: float = 0.0
    extra: bool = False


@dataclass
class Overlays:
    """What the mutations changed; the generated data stays a pure function of (seed, index)."""

    contacts: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (list, contact) -> changes
    added_contacts: dict[int, list[ContactState]] = field(default_factory=dict)  # list -> new contacts
    sent: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # list -> (send UTC ticks, recipients)
    engaged: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (message, row) -> changes
    clicks: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)  # (message, row) -> clicks
    transactional: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # message -> (contact, utc)
    deleted: set[int] = field(default_factory=set)  # list indexes


def _text(utc: int | None) -> str | None:
    """An instant as the API writes it: naive Eastern wall time (None stays None)."""
    return None if utc is None else wall_text(wall_from_utc(utc))


NAMES = ("ana", "liam", "zoe", "soren", "mia", "jose", "aiko", "dmitri", "renee", "lukasz")
_EMAIL_INDEX = re.compile(r"\.(\d+)@")
MESSAGE_ID_BLOCK = 1_000_000  # message ids: (list index + 1) * block + index in the list
LINK_SLOTS = 64  # link ids: message id * slots + link index


class Account:
    """The emulated account's records: pure functions of (seed, list, index), plus the overlays.

    Every instant is UTC ticks inside; records show them as Eastern wall time. `now` (UTC ticks) is
    the emulator's clock: engagement drawn for later than `now` has not happened yet, and a message
    whose send date is after `now` is scheduled.
    """

    def __init__(self, seed: int, sizes: Sizes, anchor: datetime) -> None:
        self.seed, self.sizes = seed, sizes
        self.plans = list_plans(sizes, seed)
        self.anchor = self.now = utc_ticks(anchor)
        self.history_start = self.anchor - sizes.history_days * DAY
        self.overlays = Overlays()
        self.version = 0  # bumped by every mutation and clock change: cached selections are per version
        self.fall_back = fall_back_instants(self.history_start, self.anchor)
        self.spring_forward = spring_forward_instants(self.history_start, self.anchor)
        self._emails: dict[int, str] = {}
        self._cache: OrderedDict[tuple[Any, ...], Any] = OrderedDict()
        self._cache_lock = threading.Lock()

    def cached(self, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
        """`compute()` remembered per (key, version); at most 512 entries."""
        key = (*key, self.version)
        with self._cache_lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return self._cache[key]
        value = compute()
        with self._cache_lock:
            self._cache[key] = value
            while len(self._cache) > 512:
                self._cache.popitem(last=False)
        return value

    # lists
    def listed_plans(self) -> list[ListPlan]:
        """The lists `/List` returns: all but those `delete_list` removed (the deleted-shape list included)."""
        return [plan for plan in self.plans if plan.index not in self.overlays.deleted]

    def served_plan(self, list_id: int) -> ListPlan | None:
        """The list whose child routes answer, or None (unknown, deleted, or the deleted-shape list)."""
        index = list_id - LIST_ID_BASE
        if not 0 <= index < len(self.plans) or index in self.overlays.deleted:
            return None
        plan = self.plans[index]
        return None if plan.shape == "deleted" else plan

    def list_record(self, plan: ListPlan) -> dict[str, Any]:
        draws = _Draws(self.seed, "list", plan.index)
        created = draws.stamp(self.history_start - (30 + draws.below(3000)) * DAY)
        record: dict[str, Any] = {
            "listId": plan.list_id,
            "listName": f"{('Newsletter', 'Promotions', 'Quiet list', 'Archive')[min(plan.index, 3)]} {plan.index + 1}",
            "folderId": 0 if plan.index % 2 == 0 else 100 + draws.below(10),
            "ipPoolId": 1 + draws.below(3),
            "bounceDomainAlias": "",
            "bounceHandling": draws.pick(("None", "Standard", "Aggressive")),
            "bounceUnsubscribeCount": 3,
            "createDate": SENTINEL if plan.shape == "small" else _text(created),
        }
        for name in (
            "BrowserLink",
            "DoubleOptIn",
            "DynamicContent",
            "GoogleAnalytics",
            "Internationalization",
            "ListHygiene",
            "ListRemovalHeader",
            "ListRemovalLink",
            "ListrakAnalytics",
            "SpamScorePersonalization",
            "ToNamePersonalization",
            "UniversalEmailKeySetting",
        ):
            record[f"enable{name}"] = draws.chance(0.5)
        if plan.shape == "empty":
            del record["enableUniversalEmailKeySetting"]  # an older list: the field is absent
        record |= {
            "fromEmail": f"news{plan.index}@example.com",
            "fromName": "Émile's Store",
            "googleTrackingDomains": ["example.com", "shop.example.com"] if draws.chance(0.5) else [],
            "linkDomainAlias": "links.example.com",
            "mediaDomainAlias": None,
        }
        return record | EXTRA_FIELD if plan.index == 0 else record

    # list metadata
    def campaign_id(self, plan: ListPlan, index: int) -> int:
        return 100_000 + plan.index * 100 + index

    def campaigns(self, plan: ListPlan) -> list[dict[str, Any]]:
        def campaign(index: int) -> dict[str, Any]:
            draws = _Draws(self.seed, "campaign", plan.index, index)
            name = None if draws.chance(0.2) else f"{draws.pick(WORDS).title()} campaign {index + 1}"
            return {"campaignId": self.campaign_id(plan, index), "campaignName": name}

        return [campaign(index) for index in range(plan.campaigns)]

    def group_id(self, plan: ListPlan, group: int) -> int:
        return 9000 + plan.index * 10 + group

    def field_id(self, plan: ListPlan, index: int) -> int:
        return 40_000 + plan.index * 100 + index

    def field_groups(self, plan: ListPlan) -> list[dict[str, Any]]:
        return [
            {
                "segmentationFieldGroupId": self.group_id(plan, group),
                "segmentationFieldGroupName": ("Profile", "Preferences")[group % 2] + f" {group + 1}",
                "position": group + 1,
            }
            for group in range(len(plan.fields_per_group))
        ]

    def field_group_of(self, plan: ListPlan, index: int) -> int:
        bounds = [sum(plan.fields_per_group[: group + 1]) for group in range(len(plan.fields_per_group))]
        return next(group for group, bound in enumerate(bounds) if index < bound)

    def fields(self, plan: ListPlan, group: int | None = None) -> list[dict[str, Any]]:
        """Profile fields of the list (of one group): every dataType occurs on a list with 7 or more."""
        chosen = [
            f for f in range(sum(plan.fields_per_group)) if group is None or self.field_group_of(plan, f) == group
        ]
        return [self._field(plan, index) for index in chosen]

    def _field(self, plan: ListPlan, index: int) -> dict[str, Any]:
        data_type = DATA_TYPES[index % len(DATA_TYPES)]
        return {
            "segmentationFieldId": self.field_id(plan, index),
            "segmentationFieldName": f"{data_type.lower()}_{index + 1}",
            "segmentationFieldGroupId": self.group_id(plan, self.field_group_of(plan, index)),
            "dataType": data_type,
            "maxLength": 255 if data_type in ("Text", "CommentArea") else 0,
            "position": index + 1,
        }

    def saved_audiences(self, plan: ListPlan) -> list[dict[str, Any]]:
        def audience(index: int) -> dict[str, Any]:
            draws = _Draws(self.seed, "audience", plan.index, index)
            modified = SENTINEL if index % 3 == 0 else _text(draws.stamp(self.anchor - draws.below(300) * DAY))
            return {
                "name": f"Audience {index + 1}: {draws.pick(WORDS)}",
                "lastModified": modified,
                "savedAudienceId": 9_000_000_000 + plan.index * 1000 + index,
            }

        return [audience(index) for index in range(plan.saved_audiences)]

    def event_groups(self, plan: ListPlan) -> list[dict[str, Any]]:
        return [
            {"eventGroupId": 700 + plan.index * 10 + group, "eventGroupName": f"Signups {group + 1}"}
            for group in range(plan.event_groups)
        ]

    def events(self, plan: ListPlan) -> list[dict[str, Any]]:
        return [
            {
                "eventId": 7000 + plan.index * 100 + index,
                "eventName": f"{WORDS[index % len(WORDS)]} signup",
                "eventGroupId": 0 if index % 2 == 0 else 700 + plan.index * 10 + index % plan.event_groups,
                "status": "Blocked" if index == plan.events - 1 else "Active",
            }
            for index in range(plan.events)
        ]

    # contacts
    def email(self, index: int) -> str:
        """The address of contact `index` (the same index is the same address in every list)."""
        email = self._emails.get(index)
        if email is None:
            if len(self._emails) > 200_000:
                self._emails.clear()
            draws = _Draws(self.seed, "email", index)
            email = self._emails[index] = f"{draws.pick(NAMES)}.{index}@{draws.pick(DOMAINS)}"
        return email

    def address_index(self, email: str) -> int | None:
        """The index whose address `email` is, or None."""
        match = _EMAIL_INDEX.search(email)
        return int(match[1]) if match is not None and self.email(int(match[1])) == email else None

    def contact_index(self, plan: ListPlan, email: str) -> int:
        index = self.address_index(email)
        if index is None or index >= self.contact_count(plan):
            raise ValueError(f"{email!r} is not a contact of list {plan.list_id}")
        return index

    def contact_count(self, plan: ListPlan) -> int:
        return plan.contacts + len(self.overlays.added_contacts.get(plan.index, ()))

    def contact_state(self, plan: ListPlan, index: int) -> ContactState:
        if index >= plan.contacts:
            state = replace(self.overlays.added_contacts[plan.index][index - plan.contacts])
        else:
            state = self._generated_contact(plan, index)
        for name, value in self.overlays.contacts.get((plan.index, index), {}).items():
            if name != "profile":
                setattr(state, name, value)
        return state

    def _generated_contact(self, plan: ListPlan, index: int) -> ContactState:
        """About 20% unsubscribed, 5% re-subscribed, 2% old records; two subscribed at 01:30 on fall-back day."""
        draws = _Draws(self.seed, "contact", plan.index, index)
        subscribe = draws.stamp(self.anchor - (1 + draws.below(2 * self.sizes.history_days * 86_400)) * TICKS)
        if plan.shape == "large" and index in (1, 2) and self.fall_back:
            subscribe = self.fall_back[index - 1]
        state = ContactState(index, "Subscribed", subscribe, subscribe_method=draws.pick(SUBSCRIBE_METHODS))
        kind = draws.below(1000)
        if kind < 250:  # left: unsubscribed (200), or left and came back (50)
            state.unsubscribe = draws.stamp(subscribe + (self.anchor - subscribe) * (1 + draws.below(50)) // 100)
            state.unsubscribe_method = draws.pick(UNSUBSCRIBE_METHODS)
            if kind < 200:
                state.state = "Unsubscribed"
            else:
                state.resubscribe = draws.stamp(state.unsubscribe + (self.anchor - state.unsubscribe) // 2)
        state.old = kind >= 980
        return state

    def external_id(self, plan: ListPlan, index: int) -> str | None:
        return f"EXT-{plan.index}-{index:06d}" if stable_hash(self.seed, "ext", plan.index, index) % 5 < 2 else None

    def profile_value(self, plan: ListPlan, index: int, field_index: int) -> str | None:
        changed = self.overlays.contacts.get((plan.index, index), {}).get("profile", {})
        field_id = self.field_id(plan, field_index)
        if field_id in changed:
            return changed[field_id]
        draws = _Draws(self.seed, "profile", plan.index, index, field_index)
        if not draws.chance(0.85):
            return None
        values = {
            "Text": lambda: draws.pick(WORDS),
            "Numeric": lambda: str(draws.below(10_000)),
            "RadioButton": lambda: draws.pick(("small", "medium", "large")),
            "CheckBox": lambda: draws.pick(("on", "")),
            "CommentArea": lambda: f"Likes {draws.pick(WORDS)} and {draws.pick(WORDS)}.",
            "Date": lambda: f"{1 + draws.below(12):02d}/{1 + draws.below(28):02d}/{1950 + draws.below(60)}",
            "ContentBlock": lambda: f"<p>{draws.pick(WORDS)}</p>",
        }
        return values[DATA_TYPES[field_index % len(DATA_TYPES)]]()

    def profile_values(self, plan: ListPlan, index: int, field_ids: Sequence[int] | None) -> list[dict[str, Any]]:
        """The contact's values of the requested fields (unknown ids ignored); [] without the parameter."""
        values = []
        for field_id in field_ids or ():
            field_index = field_id - self.field_id(plan, 0)
            if not 0 <= field_index < sum(plan.fields_per_group):
                continue
            value = self.profile_value(plan, index, field_index)
            if value is not None:
                values.append(
                    {
                        "segmentationFieldGroupId": self.group_id(plan, self.field_group_of(plan, field_index)),
                        "segmentationFieldId": field_id,
                        "value": value,
                    }
                )
        return values

    def contact_record(self, plan: ListPlan, index: int, field_ids: Sequence[int] | None) -> dict[str, Any]:
        contact, email = self.contact_state(plan, index), self.email(index)
        keys = f"{stable_hash(self.seed, 'key', plan.index, index):016X}{stable_hash(self.seed, 'key2', index):016X}"
        record: dict[str, Any] = {"emailAddress": email, "emailKey": keys[:26]}
        if not contact.old:
            record["universalEmailKey"] = hashlib.sha256(email.lower().encode()).hexdigest()
        record |= {"subscriptionState": contact.state, "subscribeDate": _text(contact.subscribe)}
        if not contact.old:
            record["resubscribeDate"] = _text(contact.resubscribe)
        record |= {
            "subscribeMethod": contact.subscribe_method,
            "unsubscribeDate": _text(contact.unsubscribe),
            "unsubscribeMethod": contact.unsubscribe_method,
        }
        if not contact.old:
            record["externalContactID"] = self.external_id(plan, index)
        record["segmentationFieldValues"] = self.profile_values(plan, index, field_ids)
        return record | EXTRA_FIELD if stable_hash(self.seed, "extra", plan.index, index) % 33 == 0 else record

    # messages
    def message_total(self, plan: ListPlan) -> int:
        """Generated messages, then the two test messages, then those `send_message` sent."""
        tests = 2 if plan.messages else 0
        return plan.messages + tests + len(self.overlays.sent.get(plan.index, ()))

    def messages(self, plan: ListPlan, include_tests: bool = True) -> list[Message]:
        found = (self.message(plan, index) for index in range(self.message_total(plan)))
        return [message for message in found if include_tests or not message.test]

    def message_by_id(self, plan: ListPlan, message_id: int) -> Message | None:
        index = message_id - (plan.index + 1) * MESSAGE_ID_BLOCK
        return self.message(plan, index) if 0 <= index < self.message_total(plan) else None

    def message(self, plan: ListPlan, index: int) -> Message:
        message_id = (plan.index + 1) * MESSAGE_ID_BLOCK + index
        links = self.sizes.links_per_message or 5 + stable_hash(self.seed, "links", message_id) % 16
        if index >= plan.messages + 2:
            send, recipients = self.overlays.sent[plan.index][index - plan.messages - 2]
            return Message(plan, index, message_id, send, recipients, links)
        test = index >= plan.messages
        return Message(plan, index, message_id, self._send_date(plan, index), plan.recipients, links, test)

    def _send_date(self, plan: ListPlan, index: int) -> int | None:
        """Spread over the history, the last twelfth scheduled after the anchor; on a large list with 10 or
        more messages, #1 and #2 at 01:30 on fall-back day (both folds), #3 and #4 either side of the
        spring-forward gap, #5 without a send date."""
        if self._has_special_send_date(plan, index):
            return self._special_send_date(index)
        draws = _Draws(self.seed, "send", plan.index, index)
        scheduled = plan.messages // 12 if plan.messages >= 8 else 0
        if plan.messages - scheduled <= index < plan.messages:
            return draws.stamp(self.anchor + (index - plan.messages + scheduled + 1) * DAY + draws.below(3600) * TICKS)
        span = (self.anchor - DAY - self.history_start) // max(1, plan.messages - scheduled)
        if index >= plan.messages:  # a test message: somewhere in the middle of the history
            return draws.stamp(self.history_start + (self.anchor - self.history_start) // (2 + index - plan.messages))
        return draws.stamp(self.history_start + index * span + draws.below(max(1, span // TICKS)) * TICKS)

    def _special_send_date(self, index: int) -> int | None:
        if index == 5:
            return None
        instants = self.fall_back if index in (1, 2) else self.spring_forward
        assert instants is not None
        return instants[(index - 1) % 2]

    def _has_special_send_date(self, plan: ListPlan, index: int) -> bool:
        """Messages #1-#5 of a large list with 10 or more, when the history holds the transition."""
        if plan.shape != "large" or plan.messages < 10 or index not in (1, 2, 3, 4, 5):
            return False
        return index == 5 or (self.fall_back if index in (1, 2) else self.spring_forward) is not None

    def is_sent(self, message: Message) -> bool:
        return message.send is not None and message.send <= self.now

    def message_record(self, message: Message) -> dict[str, Any]:
        draws = _Draws(self.seed, "message", message.message_id)
        campaign = (
            0
            if draws.chance(0.2) or not message.plan.campaigns
            else self.campaign_id(message.plan, draws.below(message.plan.campaigns))
        )
        record = {
            "messageId": message.message_id,
            "sendDate": _text(message.send),
            "messageStatus": "Scheduled" if message.send is not None and not self.is_sent(message) else "Sent",
            "campaignId": campaign,
            "externalCampaignId": f"EXT-CMP-{campaign}" if campaign and draws.chance(0.5) else None,
            "subject": f"{'[TEST] ' if message.test else ''}{draws.pick(WORDS).title()} – issue {message.index + 1} ✉",
        }
        return record | EXTRA_FIELD if message.index == 7 else record

    def message_details(self, message: Message) -> dict[str, Any]:
        """MessageExtendedSegmentsApplied; one message's bodyHtml is about 50 KB."""
        base, draws = self.message_record(message), _Draws(self.seed, "details", message.message_id)
        paragraphs = 210 if message.plan.shape == "large" and message.index == 6 else 8
        body = "".join(
            f"<p>Paragraph {n}: {draws.pick(WORDS)} offers — café ✓ {'x' * 200}</p>" for n in range(paragraphs)
        )
        details = {
            "messageId": base["messageId"],
            "sendDate": base["sendDate"],
            "messageStatus": base["messageStatus"],
            "enableUniversalEmailKeySetting": draws.chance(0.5),
            "campaignId": base["campaignId"],
            "bodyHtml": f"<html><body>{body}</body></html>",
            "bodyText": f"{base['subject']}\n\nPlain text.",
            "codePage": 65001,
            "enablePassalong": draws.chance(0.3),
            "enableTracking": True,
            "externalCampaignId": base["externalCampaignId"],
            "fromEmail": "news@example.com",
            "fromName": "Émile's Store",
            "googleAnalyticsCampaignName": f"ga-{message.message_id}",
            "googleAnalyticsCampaignContent": None,
            "replyEmail": "reply@example.com",
            "savedAudienceId": 0 if draws.chance(0.5) else 9_000_000_000 + message.plan.index * 1000,
            "segmentsApplied": {
                "includedSegments": [f"Segment {draws.pick(WORDS)}"],
                "excludedSegments": [] if draws.chance(0.5) else ["Bounced last 90 days"],
            },
        }
        return details | {"subject": base["subject"], "toName": None if draws.chance(0.5) else "Valued customer"}

    def message_status(self, message: Message) -> dict[str, Any]:
        """MessageStatus; an unsent message has the sentinel for both dates, a sent one sometimes for endDate."""
        sent = self.is_sent(message)
        end = SENTINEL if not sent or message.index % 4 == 0 else _text((message.send or 0) + 1800 * TICKS)
        return {
            "sendCount": self.row_count(message),
            "startDate": _text(message.send) if sent else SENTINEL,
            "endDate": end,
            "status": "Completed" if sent else "Scheduled",
            "type": "Broadcast",
        }

    def link_id(self, message: Message, index: int) -> int:
        return message.message_id * LINK_SLOTS + index

    def link_records(self, message: Message) -> list[dict[str, Any]]:
        clicks = self.engagement(message).clicks
        return [
            {
                "linkId": self.link_id(message, index),
                "linkDescription": f"{WORDS[index % len(WORDS)]} link",
                "linkUrl": f"https://shop.example.com/{message.message_id}/{index}?utm_source=listrak&q=a%20b",
                "clickCount": len(clicks[index]),
            }
            for index in range(message.links)
        ]

    # conversations and transactional messages: sends with their own dates
    def conversation_ids(self, plan: ListPlan) -> list[int]:
        return [50_000 + plan.index * 10 + index for index in range(plan.conversations)]

    def conversation_record(self, plan: ListPlan, conversation_id: int) -> dict[str, Any]:
        index, draws = conversation_id % 10, _Draws(self.seed, "conversation", conversation_id)
        expires = None if index == 0 else _text(draws.stamp(self.anchor + 200 * DAY))
        campaign = self.campaign_id(plan, index % max(1, plan.campaigns)) if plan.campaigns else 0
        return {
            "conversationId": conversation_id,
            "conversationName": ("Welcome series", "Win-back")[index % 2],
            "campaignId": campaign,
            "expirationDate": expires,
            "status": "Active" if index == 0 else "Inactive",
        }

    def conversation_messages(self, plan: ListPlan, conversation_id: int, previous: bool) -> list[Stream]:
        """Three messages; the third is a replaced version, listed only with includePreviousVersions=true."""
        base = 8_000_000 + plan.index * 1000 + (conversation_id % 10) * 10
        middle = self.history_start + (self.anchor - self.history_start) // 2
        streams = [
            Stream(
                plan,
                "conversation",
                conversation_id,
                base + version,
                max(3, plan.recipients // 3),
                self.history_start if version == 2 else middle,
                middle if version == 2 else self.anchor,
                max(1, plan.recipients // 6),
            )
            for version in range(3)
        ]
        return streams if previous else streams[:2]

    def conversation_message_record(self, stream: Stream) -> dict[str, Any]:
        draws = _Draws(self.seed, "conversation-message", stream.message_id)
        return {
            "messageId": stream.message_id,
            "sendDate": _text(self.stream_send(stream, 0)),
            "messageStatus": "Sent",
            "campaignId": 0,
            "externalCampaignId": None,
            "subject": f"{draws.pick(WORDS).title()} step {stream.message_id % 10 + 1}",
        }

    def transactional_streams(self, plan: ListPlan) -> list[Stream]:
        ids = [60_000 + plan.index * 10 + index for index in range(plan.transactional)]
        return [
            Stream(
                plan,
                "transactional",
                message_id,
                message_id,
                plan.recipients,
                self.history_start,
                self.anchor,
                max(1, plan.recipients // 5),
            )
            for message_id in ids
        ]

    def transactional_record(self, stream: Stream) -> dict[str, Any]:
        index = stream.message_id % 10
        return {
            "transactionalMessageId": stream.message_id,
            "transactionalMessageName": ("Order confirmation", "Shipping notice")[index % 2],
            "campaignId": 0,
            "externalCampaignId": None,
            "subject": f"Your order #{index} – merci",
        }

    def stream_send(self, stream: Stream, row: int) -> int:
        """The send instant of row `row`: strictly increasing with the row, so (address, sendDate) is unique."""
        if row >= stream.rows:
            return self.overlays.transactional[stream.message_id][row - stream.rows][1]
        step = max(TICKS, (stream.end - stream.start) // max(1, stream.rows))
        draws = _Draws(self.seed, "stream-send", stream.message_id, row)
        return stream.start + row * step + draws.below(max(1, step // TICKS - 1)) * TICKS + fraction_ticks(row)

    def resend_key(self, stream: Stream, row: int) -> str:
        return f"{stable_hash(self.seed, 'resend', stream.message_id, row):016x}{row:08x}"

    # engagement: one row per recipient of a send
    def row_count(self, source: Message | Stream) -> int:
        if isinstance(source, Message):
            return source.recipients if self.is_sent(source) else 0
        return source.rows + len(self.overlays.transactional.get(source.message_id, ()))

    def recipient(self, source: Message | Stream, row: int) -> tuple[int, int]:
        """(contact index, send instant) of one row: a broadcast reaches each address once, a stream repeats."""
        if isinstance(source, Message):
            reach = max(source.plan.contacts, source.recipients)
            return (row + stable_hash(self.seed, "shift", source.message_id) % reach) % reach, source.send or 0
        if row >= source.rows:
            return self.overlays.transactional[source.message_id][row - source.rows][0], self.stream_send(source, row)
        return stable_hash(self.seed, "who", source.message_id, row) % source.pool, self.stream_send(source, row)

    def facts(self, source: Message | Stream, row: int) -> ActivityFacts:
        """The row's engagement as of `now`, overlays applied."""
        contact, send = self.recipient(source, row)
        links = source.links if isinstance(source, Message) else 10
        facts = self._drawn_facts(
            _Draws(self.seed, "activity", type(source).__name__, source.message_id, row),
            ActivityFacts(row, contact, send),
            links,
        )
        if isinstance(source, Message):
            for name, value in self.overlays.engaged.get((source.message_id, row), {}).items():
                setattr(facts, name, value)
            facts.clicks = facts.clicks + self.overlays.clicks.get((source.message_id, row), [])
        return self._as_of_now(facts)

    @staticmethod
    def _drawn_facts(draws: _Draws, facts: ActivityFacts, links: int) -> ActivityFacts:
        """About 1% bounce; 20% open (80% of them read); 5% click 1-4 times, 30% of clickers buy (a fractional
        orderTotal); 0.2% unsubscribe; 0.05% complain. activityDate is the first activity."""
        kind = draws.below(100_000)
        if kind < 1000:
            facts.bounced, facts.activity = True, draws.stamp(facts.send + (5 + draws.below(600)) * TICKS)
        elif kind < 21_000:
            facts.opened, facts.read = True, draws.chance(0.8)
            facts.activity = draws.stamp(facts.send + (60 + draws.below(3 * 86_400)) * TICKS)
            if kind < 6000:
                moments = sorted(draws.below(7200) for _ in range(1 + draws.below(4)))
                facts.clicks = [(draws.below(links), facts.activity + (30 + moment) * TICKS) for moment in moments]
                facts.order_total = round((100 + draws.below(50_000)) / 100, 2) if draws.chance(0.3) else 0.0
            facts.unsubscribed, facts.abuse = draws.chance(0.01), draws.chance(0.0025)
        facts.extra = draws.below(100) == 0
        return facts

    def _as_of_now(self, facts: ActivityFacts) -> ActivityFacts:
        """Engagement drawn for after `now` has not happened yet."""
        if facts.activity is not None and facts.activity > self.now:
            return ActivityFacts(facts.row, facts.contact, facts.send, extra=facts.extra)
        facts.clicks = [click for click in facts.clicks if click[1] <= self.now]
        return facts

    def activity_record(self, source: Message | Stream, row: int) -> dict[str, Any]:
        facts = self.facts(source, row)
        record = {
            "abuse": facts.abuse,
            "activityDate": _text(facts.activity),
            "bounce": facts.bounced,
            "bounceReason": BOUNCE_REASONS[row % len(BOUNCE_REASONS)] if facts.bounced else None,
            "click": bool(facts.clicks),
            "clickCount": len(facts.clicks),
            "emailAddress": self.email(facts.contact),
            "open": facts.opened,
            "orderTotal": facts.order_total,
            "read": facts.read,
            "sendDate": _text(facts.send),
            "unsubscribe": facts.unsubscribed,
            "visitDate": None,
            "externalContactID": self.external_id(source.plan, facts.contact),
        }
        if isinstance(source, Stream) and source.kind == "transactional":
            record["resendKey"] = self.resend_key(source, row)
        return record | EXTRA_FIELD if facts.extra else record

    def engagement(self, source: Message | Stream) -> Engagement:
        key = ("engagement", type(source).__name__, source.message_id, self.now)
        return self.cached(key, lambda: Engagement.of(self, source))

    def conversation_engagement(self, plan: ListPlan, conversation_id: int) -> Engagement:
        """Every version of every message of the conversation, added up."""
        total = Engagement()
        for stream in self.conversation_messages(plan, conversation_id, previous=True):
            total = total.merged(self.engagement(stream))
        return total

    def clicker_record(self, message: Message, click: tuple[int, int]) -> dict[str, Any]:
        row, moment = click
        return {"emailAddress": self.email(self.recipient(message, row)[0]), "clickDate": _text(moment)}

    def row_of(self, message: Message, email: str) -> int:
        """The activity row of a recipient of a broadcast message."""
        reach = max(message.plan.contacts, message.recipients)
        contact = self.address_index(email)
        row = (contact or 0) - stable_hash(self.seed, "shift", message.message_id) % reach
        if contact is None or contact >= reach or row % reach >= self.row_count(message):
            raise ValueError(f"{email!r} did not receive message {message.message_id}")
        return row % reach


def _has(facts: ActivityFacts | None, activity_type: str) -> bool:
    if facts is None:
        return False
    return {
        "Open": facts.opened,
        "Read": facts.read,
        "Click": bool(facts.clicks),
        "Bounce": facts.bounced,
        "Unsubscribe": facts.unsubscribed,
        "Abuse": facts.abuse,
    }[activity_type]


@dataclass
class Engagement:
    """Counts over every row of one send, and the clicks on each link: what summaries and links report."""

    sent: int = 0
    opened: int = 0
    read: int = 0
    clicked: int = 0
    bounced: int = 0
    unsubscribed: int = 0
    conversions: int = 0
    revenue: float = 0.0
    clicks: list[list[tuple[int, int]]] = field(default_factory=list)  # per link: (row, UTC ticks)

    @classmethod
    def of(cls, account: Account, source: Message | Stream) -> Engagement:
        links = source.links if isinstance(source, Message) else 10
        totals = cls(clicks=[[] for _ in range(links)])
        for row in range(account.row_count(source)):
            totals.add(account.facts(source, row))
        totals.revenue = round(totals.revenue, 2)
        return totals

    def add(self, facts: ActivityFacts) -> None:
        self.sent += 1
        self.opened += facts.opened
        self.read += facts.read
        self.clicked += bool(facts.clicks)
        self.bounced += facts.bounced
        self.unsubscribed += facts.unsubscribed
        self.conversions += facts.order_total > 0
        self.revenue += facts.order_total
        for link, moment in facts.clicks:
            self.clicks[link].append((facts.row, moment))

    def merged(self, other: Engagement) -> Engagement:
        sums = {
            name: getattr(self, name) + getattr(other, name)
            for name in ("sent", "opened", "read", "clicked", "bounced", "unsubscribed", "conversions", "revenue")
        }
        return Engagement(**sums)

    def summary(self) -> dict[str, Any]:
        """MessageSummary: sentCount = rows, openCount = rows with open, clickCount = rows with a click,
        conversionCount = rows with an orderTotal, revenue = their sum, visitCount = clickCount."""
        average = round(self.revenue / self.conversions, 2) if self.conversions else 0.0
        return {
            "averageOrderValue": average,
            "bounceCount": self.bounced,
            "clickCount": self.clicked,
            "conversionCount": self.conversions,
            "openCount": self.opened,
            "passAlongCount": 0,
            "readCount": self.read,
            "revenue": round(self.revenue, 2),
            "sentCount": self.sent,
            "unsubscribeCount": self.unsubscribed,
            "visitCount": self.clicked,
        }

    def conversation_summary(self) -> dict[str, Any]:
        """ConversationSummary: MessageSummary's counts without passAlongCount, plus deliveredCount = sent - bounced."""
        summary = self.summary()
        del summary["passAlongCount"]
        return dict(sorted((summary | {"deliveredCount": self.sent - self.bounced}).items()))


# ---------------------------------------------------------------- rules: cursors and pages

CURSOR_MARK = b"\xfb\xef\xbe\xff\xff\xff"  # base64 "++++////": every cursor holds "+" and "/"


class Cursors:
    """Opaque page cursors: standard base64 (with + / =) of a marker, an HMAC and JSON {path, filters, offset}.

    `filters` is every query parameter but cursor and count: a cursor sent with other filters, to
    another path, or edited, is rejected with 400. The same cursor always names the same page.
    """

    def __init__(self, seed: int) -> None:
        self._key = hashlib.sha256(f"listrak-emulator-cursor/{seed}".encode()).digest()

    def _signature(self, payload: bytes) -> bytes:
        return hmac.new(self._key, payload, "sha256").digest()[:16]

    def issue(self, path: str, filters: dict[str, str], offset: int) -> str:
        payload = json.dumps({"path": path, "filters": filters, "offset": offset}, sort_keys=True).encode()
        raw = CURSOR_MARK + self._signature(payload) + payload
        return base64.b64encode(raw + b" " * ((1 - len(raw)) % 3)).decode()  # length 1 mod 3: ends in "=="

    def offset(self, path: str, filters: dict[str, str], cursor: str | None) -> int:
        """The row a cursor points at (0 for none or `Start`)."""
        if cursor is None or cursor == "Start":
            return 0
        try:
            raw = base64.b64decode(cursor, validate=True)
        except ValueError:
            raise _invalid("cursor") from None
        mark, signature, payload = raw[:6], raw[6:22], raw[22:].rstrip(b" ")
        if mark != CURSOR_MARK or not hmac.compare_digest(signature, self._signature(payload)):
            raise _invalid("cursor")
        data = json.loads(payload)
        if data["path"] != path or data["filters"] != filters:
            raise _invalid("cursor")
        return int(data["offset"])


def page_bounds(total: int, offset: int, count: int, paging: Paging) -> tuple[int, int | None]:
    """(end row, next offset or None) of the page starting at `offset`, quirks included."""
    end = min(total, offset + count)
    if paging.short_pages and end < total and (offset // count) % 2 == 1:
        end = offset + max(1, count // 2)
    if end < total:
        return end, end
    if paging.empty_final_page and offset < total:
        return end, total
    return end, None


def pages_needed(total: int, count: int, paging: Paging) -> int:
    """Requests a full walk of `total` rows takes at `count` per page (an empty collection takes one)."""
    pages, offset = 1, 0
    while (following := page_bounds(total, offset, count, paging)[1]) is not None:
        pages, offset = pages + 1, following
    return pages


@dataclass
class Rows:
    """A paged result: how many rows, and how to build row i (only the rows of a page are ever built)."""

    count: int
    build: Callable[[int], dict[str, Any]]

    @classmethod
    def of(cls, records: Sequence[dict[str, Any]]) -> Rows:
        return cls(len(records), records.__getitem__)

    @classmethod
    def picked(cls, indexes: Sequence[int], build: Callable[[int], dict[str, Any]]) -> Rows:
        return cls(len(indexes), lambda position: build(indexes[position]))


# ---------------------------------------------------------------- rules: query parameters

_INTEGER = re.compile(r"-?\d{1,10}")
INT32 = 2**31 - 1


def int_value(name: str, raw: str, low: int = -INT32 - 1, high: int = INT32) -> int:
    if not _INTEGER.fullmatch(raw) or not low <= int(raw) <= high:
        raise _invalid(name)
    return int(raw)


def bool_parameter(query: dict[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise _invalid(name)
    return raw.lower() == "true"


def choice_parameter(query: dict[str, str], name: str, choices: Sequence[str], default: str | None) -> str | None:
    raw = query.get(name)
    if raw is not None and raw not in choices:
        raise _invalid(name)
    return raw if raw is not None else default


def date_bounds(query: dict[str, str]) -> tuple[int | None, int | None]:
    """startDate and endDate as wall ticks (None: unbounded)."""
    start, end = (query.get(name) for name in ("startDate", "endDate"))
    return (
        None if start is None else parse_date_parameter("startDate", start),
        None if end is None else parse_date_parameter("endDate", end),
    )


def segmentation_field_ids(query: dict[str, str]) -> list[int] | None:
    raw = query.get("segmentationFieldIds")
    if raw is None:
        return None
    ids = [int_value("segmentationFieldIds", part.strip()) for part in raw.split(",")]
    if len(ids) > MAX_SEGMENTATION_FIELDS:
        raise ApiError(
            400,
            "ERROR_TOO_MANY_SEGMENTATION_FIELDS",
            f"No more than {MAX_SEGMENTATION_FIELDS} segmentation fields may be requested.",
        )
    return ids


def within(wall: int | None, start: int | None, end: int | None, end_exclusive: bool = False) -> bool:
    """Whether a wall time lies in [start, end] ([start, end) with `end_exclusive`); None never does."""
    if wall is None:
        return start is None and end is None
    if start is not None and wall < start:
        return False
    return end is None or (wall < end if end_exclusive else wall <= end)


# ---------------------------------------------------------------- rules: routes


@dataclass(frozen=True)
class Route:
    """One GET route of the API: its path template, declared query parameters, API areas and envelope."""

    template: tuple[str, ...]
    parameters: frozenset[str]
    areas: frozenset[str]
    envelope: str  # collection, paged, resource, saved_audience (paged, no parameters), ip_pool
    serve: str  # the emulator's `_serve_<name>` that answers it, else the Account method of the list

    @property
    def id_names(self) -> list[str]:
        return [segment[1:-1] for segment in self.template if segment.startswith("{")]

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        if len(segments) != len(self.template):
            return None
        pairs = list(zip(self.template, segments, strict=True))
        if any(part != segment and not (part.startswith("{") and segment) for part, segment in pairs):
            return None
        return {part[1:-1]: segment for part, segment in pairs if part.startswith("{")}


def _route(path: str, envelope: str, serve: str, areas: str = "List", parameters: str = "") -> Route:
    return Route(tuple(path.split("/")), frozenset(parameters.split()), frozenset(areas.split()), envelope, serve)


MESSAGE = "List/{listId}/Message/{messageId}"
CONVERSATION_MESSAGE = "List/{listId}/Conversation/{conversationId}/Message/{conversationMessageId}"
ACTIVITY_PARAMETERS = "activityType dateType cursor count startDate endDate emailAddress"
CONTACT_PARAMETERS = (
    "subscriptionState externalContactId segmentationFieldIds cursor count startDate endDate useOriginalSubscribeDate"
)
ROUTES = (  # from the Swagger document: paths, query parameters, security scopes; Contact needs Contact (strict)
    _route("List", "collection", "lists"),
    _route("List/{listId}", "resource", "list_record"),
    _route("List/{listId}/Campaign", "collection", "campaigns", "List Message"),
    _route("List/{listId}/Contact", "paged", "contacts", "Contact", CONTACT_PARAMETERS),
    _route("List/{listId}/SegmentationFieldGroup", "collection", "field_groups", "List Segmentation"),
    _route(
        "List/{listId}/SegmentationFieldGroup/{segmentationFieldGroupId}/SegmentationField",
        "collection",
        "fields",
        "List Segmentation",
    ),
    _route("List/{listId}/SavedAudience", "saved_audience", "saved_audiences", "List", "cursor"),
    _route("List/{listId}/Event", "collection", "events", "List Event"),
    _route("List/{listId}/EventGroup", "collection", "event_groups", "List Event"),
    _route(
        "List/{listId}/Message",
        "paged",
        "messages",
        "List Message",
        "cursor count startDate endDate includeTestMessages",
    ),
    _route(MESSAGE, "resource", "message_details", "List Message"),
    _route(f"{MESSAGE}/Summary", "resource", "message_summary", "List Message Report"),
    _route(f"{MESSAGE}/Status", "resource", "message_status", "List Message Report"),
    _route(f"{MESSAGE}/Link", "paged", "message_links", "List Message Report", "cursor count"),
    _route(
        f"{MESSAGE}/Link/{{messageLinkId}}/Clicker",
        "paged",
        "message_link_clickers",
        "List Message Report",
        "cursor count startDate endDate",
    ),
    _route(f"{MESSAGE}/Activity", "paged", "message_activity", "List Message Report", ACTIVITY_PARAMETERS),
    _route("List/{listId}/Conversation", "collection", "conversations"),
    _route("List/{listId}/Conversation/{conversationId}/Summary", "resource", "conversation_summary", "List Report"),
    _route(
        "List/{listId}/Conversation/{conversationId}/Message",
        "paged",
        "conversation_messages",
        "List Message",
        "cursor count includePreviousVersions",
    ),
    _route(f"{CONVERSATION_MESSAGE}/Summary", "resource", "conversation_message_summary", "List Message Report"),
    _route(
        f"{CONVERSATION_MESSAGE}/Activity",
        "paged",
        "conversation_message_activity",
        "List Message Report",
        "activityType cursor count startDate endDate",
    ),
    _route("List/{listId}/TransactionalMessage", "collection", "transactional_messages", "List Message"),
    _route(
        "List/{listId}/TransactionalMessage/{transactionalMessageId}/Activity",
        "paged",
        "transactional_message_activity",
        "List Message Report",
        ACTIVITY_PARAMETERS,
    ),
    _route("IpPool", "ip_pool", "ip_pools", ""),
)
ACTIVITY_TYPES = ("Open", "Read", "Click", "Bounce", "Unsubscribe", "Abuse")


def find_route(path: str) -> tuple[Route, dict[str, str]] | None:
    """The route of a canonical path under the base path (case and slashes exact), with its raw ids."""
    if not path.startswith(BASE_PATH + "/"):
        return None
    segments = path[len(BASE_PATH) + 1 :].split("/")
    for route in ROUTES:
        ids = route.match(segments)
        if ids is not None:
            return route, ids
    return None


@dataclass
class Call:
    """One data request that found its route."""

    route: Route
    path: str
    ids: dict[str, int]
    query: dict[str, str]

    def not_located(self) -> ApiError:
        return _not_located(self.route.id_names)

    def filters(self) -> dict[str, str]:
        return {name: value for name, value in sorted(self.query.items()) if name not in ("cursor", "count")}


# ---------------------------------------------------------------- rules: access tokens


class Tokens:
    """Access tokens issued to the integration's client and when each stops working (monotonic seconds)."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, integration: Integration) -> str:
        """An opaque base64url token of 427 to 448 characters, as Listrak's are."""
        length = 427 + secrets.randbelow(22)
        token = secrets.token_urlsafe(length)[:length]
        lifetime = integration.advertised_ttl if integration.actual_ttl is None else integration.actual_ttl
        with self._lock:
            if integration.revoke_previous_tokens:
                self._expiry.clear()
            self._expiry[token] = time.monotonic() + lifetime
        return token

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self._expiry.get(token, 0.0) > time.monotonic()

    def expire_all(self) -> None:
        with self._lock:
            self._expiry = dict.fromkeys(self._expiry, 0.0)

    def live(self) -> int:
        now = time.monotonic()
        with self._lock:
            return sum(1 for expiry in self._expiry.values() if expiry > now)


def bearer_token(header: str | None) -> tuple[str | None, str | None]:
    """(scheme, token) of an Authorization header; the token only for exactly `Bearer <token>`."""
    scheme, _, token = (header or "").partition(" ")
    return scheme or None, token if scheme == "Bearer" and token and " " not in token else None


# ---------------------------------------------------------------- faults

IIS_PAGES = {
    502: '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" "http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">'
    '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>502 - Web server received an invalid response '
    'while acting as a gateway or proxy server.</title></head><body><div id="header"><h1>Server Error</h1>'
    '</div><div id="content"><fieldset><h2>502 - Web server received an invalid response while acting as a '
    "gateway or proxy server.</h2></fieldset></div></body></html>",
    503: '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN""http://www.w3.org/TR/html4/strict.dtd">\r\n'
    '<HTML><HEAD><TITLE>Service Unavailable</TITLE>\r\n<META HTTP-EQUIV="Content-Type" Content="text/html; '
    'charset=us-ascii"></HEAD>\r\n<BODY><h2>Service Unavailable</h2>\r\n<hr><p>HTTP Error 503. The service is '
    "unavailable.</p>\r\n</BODY></HTML>\r\n",
    200: "<html><head><title>Scheduled maintenance</title></head><body><h1>We'll be right back</h1>"
    "<p>The service is undergoing maintenance.</p></body></html>",
}
HTML_CONTENT_TYPE = "text/html"
COMPACT = json.JSONEncoder(ensure_ascii=False, check_circular=False, separators=(",", ":"))


@dataclass
class Answer:
    """A response to write: status, body bytes, headers; records is what the request log counts."""

    status: int
    body: bytes
    content_type: str = DATA_CONTENT_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    records: int = 0

    @classmethod
    def json(cls, status: int, body: Any, **knobs: Any) -> Answer:
        return cls(status, COMPACT.encode(body).encode(), **knobs)

    @classmethod
    def error(cls, error: ApiError) -> Answer:
        return cls.json(error.status, error.body())


def fault_answer(fault: str, faults: Faults, n: int) -> Answer:
    """What a 429, 500, 502, 503 or HTML-200 fault (data or token endpoint) answers with."""
    if fault in ("429", "token-429"):
        retry_after = retry_after_header(faults.retry_after, faults.retry_after_seconds, n, datetime.now(UTC))
        headers = {} if retry_after is None else {"Retry-After": retry_after}
        body = (
            {"error": "Too many requests"}
            if fault == "token-429"
            else {"status": 429, "error": "ERROR_TOO_MANY_REQUESTS", "message": "Too many requests."}
        )
        return Answer.json(429, body, headers=headers)
    if fault == "500":
        return Answer.error(
            ApiError(
                500,
                "ERROR_UNHANDLED_EXCEPTION",
                "An unhandled exception has occurred. Our development team has been notified.",
            )
        )
    if fault == "token-500":
        return Answer.json(500, {"error": "An error has occurred."}, content_type=TOKEN_CONTENT_TYPE)
    status = {"502": 502, "503": 503, "html": 200}[fault]
    return Answer(status, IIS_PAGES[status].encode(), HTML_CONTENT_TYPE)


# ---------------------------------------------------------------- the emulator


class _Handler(KeepAliveHandler):
    service: EmailV1Emulator

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.service.answer(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815 - http.server's naming


def _wall(utc: int | None) -> int | None:
    return None if utc is None else wall_from_utc(utc)


class EmailV1Emulator(LoopbackService):
    """The Listrak Email API v1 on loopback: `with EmailV1Emulator() as api:` then give a connector
    `api.base_url`, `api.token_url`, `api.client_id` and `api.client_secret`.

    Knobs: `seed`, `now` (the emulator's clock, default the current time), `sizes`, `integration`,
    `paging`, `faults`. Mutations between syncs: `advance`, `subscribe`, `unsubscribe`,
    `resubscribe`, `change_profile_field`, `send_message`, `engage`, `add_clicks`,
    `transactional_send`, `delete_list`, `set_scopes`, `pause`, `expire_all_tokens`. What a
    connector must emit: `expected_records`; how many requests it needs: `expected_request_count`.
    """

    handler_class = _Handler
    base_path = BASE_PATH
    thread_name = "listrak-email-v1-emulator"

    def __init__(
        self,
        seed: int = 0,
        now: datetime | None = None,
        sizes: Sizes | None = None,
        integration: Integration | None = None,
        paging: Paging | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__()
        self.seed, self.sizes = seed, sizes or Sizes()
        self.integration, self.paging, self.faults = (
            integration or Integration(),
            paging or Paging(),
            faults or Faults(),
        )
        if self.integration.unauthorized_body not in UNAUTHORIZED_BODIES:
            raise ValueError(f"Integration.unauthorized_body must be one of {', '.join(UNAUTHORIZED_BODIES)}")
        if self.faults.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"Faults.retry_after must be one of {', '.join(RETRY_AFTER_MODES)}")
        self.account = Account(seed, self.sizes, now or datetime.now(UTC).replace(microsecond=0))
        self.tokens, self.cursors = Tokens(), Cursors(seed)
        self.fault_decider = FaultDecider(seed, self.faults.max_consecutive)
        self.data_requests = 0  # data requests that reached authorization (what `revoke_after` counts)
        self._lock = threading.RLock()
        self._answers: dict[tuple[str, int], Answer] | None = None  # see cache_answers

    @property
    def token_url(self) -> str:
        return self.origin + TOKEN_PATH

    @property
    def client_id(self) -> str:
        return self.integration.client_id

    @property
    def client_secret(self) -> str:
        return self.integration.client_secret

    @property
    def now(self) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.account.now // 10)

    @property
    def list_ids(self) -> list[int]:
        """Every list id `/List` returns, the one whose child routes answer 404 included (it is last)."""
        return [plan.list_id for plan in self.account.listed_plans()]

    def cache_answers(self, enabled: bool = True) -> None:
        """For benchmarks: keeps each data answer by its request (path and query) and the account's version,
        and answers the same request again with the same bytes instead of building its page again (an
        activity row costs about 35 us to build). Every rule before the answer still applies to every
        request: latency, faults, authorization, route and parameter checks, the request log. After a
        mutation or a clock change nothing cached is used; after changing `paging`, call this again (it
        empties the cache). Memory grows with the bytes answered."""
        self._answers = {} if enabled else None

    def token_requests(self) -> list[RequestLogEntry]:
        return [entry for entry in list(self.request_log) if entry.path == TOKEN_PATH]

    def data_log(self) -> list[RequestLogEntry]:
        return [entry for entry in list(self.request_log) if entry.path != TOKEN_PATH]

    # HTTP
    def answer(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        entry = new_log_entry(handler, url.path, query, url.query)
        entry.auth_scheme, entry.token = bearer_token(handler.headers.get("Authorization"))
        body = handler.rfile.read(min(int(handler.headers.get("Content-Length") or 0), 1 << 20))
        handler.delay(self.faults.latency_ms)
        on_token_path = url.path == TOKEN_PATH
        self.fault_decider.max_consecutive = self.faults.max_consecutive
        rates = self.faults.token_rates() if on_token_path else self.faults.data_rates()
        entry.fault, n = self.fault_decider.decide(f"{handler.command} {request_key(url.path, query)}", rates)
        if handler.act_out_transport_fault(entry, self.faults.slow_seconds):
            return
        if entry.fault not in (None, "slow"):
            answer = fault_answer(entry.fault, self.faults, n)
        elif on_token_path:
            answer = self._token_answer(handler, entry, body)
        else:
            answer = self._data_answer(handler.command, url.path, query, entry.token)
        handler.answer_and_log(entry, answer.status, answer.body, answer.headers, answer.content_type, answer.records)

    # the token endpoint
    def _token_answer(self, handler: _Handler, entry: RequestLogEntry, body: bytes) -> Answer:
        content_type = handler.headers.get("Content-Type") or ""
        entry.content_type = content_type or None
        is_form = content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if is_form else {}
        entry.query = self._logged_form(form)
        if handler.command != "POST":
            return Answer.json(
                405, {"error": "The requested method is not supported."}, content_type=TOKEN_CONTENT_TYPE
            )
        if not self._credentials_accepted(form, handler.headers.get("Authorization")):
            return Answer.json(
                400, INVALID_CREDENTIALS, content_type=TOKEN_CONTENT_TYPE, headers={"Connection": "close"}
            )
        token = self.tokens.issue(self.integration)
        body_out = {"access_token": token, "token_type": "bearer", "expires_in": self.integration.advertised_ttl}
        return Answer.json(
            200, body_out, content_type=TOKEN_CONTENT_TYPE, headers={"Cache-Control": "no-cache"}, records=1
        )

    def _logged_form(self, form: dict[str, str]) -> dict[str, str]:
        """The token request's form for the log, the secret replaced by whether it matched."""
        logged = dict(form)
        if "client_secret" in logged:
            logged["client_secret"] = "<matches>" if form["client_secret"] == self.client_secret else "<differs>"
        return logged

    def _credentials_accepted(self, form: dict[str, str], authorization: str | None) -> bool:
        """Form-encoded client credentials only (no Authorization header), of an active integration."""
        integration = self.integration
        return (
            authorization is None
            and form.get("grant_type") == "client_credentials"
            and hmac.compare_digest(form.get("client_id", ""), integration.client_id)
            and hmac.compare_digest(form.get("client_secret", ""), integration.client_secret)
            and not (integration.paused or integration.ip_blocked or self._revoked())
        )

    def _revoked(self) -> bool:
        limit = self.integration.revoke_after
        return limit is not None and self.data_requests > limit

    # the data API
    def _data_answer(self, method: str, path: str, query: dict[str, str], token: str | None) -> Answer:
        try:
            found = find_route(path)
            if found is None:
                raise ApiError(404, "ERROR_UNKNOWN_ROUTE", "The requested route was not found.")
            route, raw_ids = found
            if method != "GET":
                raise ApiError(405, "ERROR_UNSUPPORTED_METHOD", f"The requested method {method} is not supported.")
            self._authorize(route, token)
            ids = {name: int_value(name, raw_ids[name]) for name in route.id_names}
            undeclared = next((name for name in query if name not in route.parameters), None)
            if undeclared is not None:
                raise _invalid(undeclared)
            call = Call(route, path, ids, query)
            if self._answers is None:
                return self._respond(call)
            key = (request_key(path, query), self.account.version)
            answer = self._answers.get(key)
            if answer is None:
                answer = self._answers[key] = self._respond(call)
            return answer
        except ApiError as error:
            return self._unauthorized_answer() if error.status == 401 else Answer.error(error)

    def _unauthorized_answer(self) -> Answer:
        shape = self.integration.unauthorized_body
        if shape == "no-error-key":
            return Answer.json(401, {"status": 401, "message": UNAUTHORIZED})
        if shape == "empty":
            return Answer(401, b"", DATA_CONTENT_TYPE)
        if shape == "html":
            return Answer(401, b"<html><body><h1>401 - Unauthorized</h1></body></html>", HTML_CONTENT_TYPE)
        return Answer.error(_unauthorized())

    def _authorize(self, route: Route, token: str | None) -> None:
        with self._lock:
            self.data_requests += 1
            revoked = self._revoked()
        integration = self.integration
        blocked = revoked or integration.paused or integration.ip_blocked
        if blocked or not self.tokens.valid(token) or not route.areas <= integration.areas:
            raise _unauthorized()

    def _respond(self, call: Call) -> Answer:
        serve = getattr(self, f"_serve_{call.route.serve}", None)
        served = serve(call) if serve else getattr(self.account, call.route.serve)(self._plan(call))
        envelope = call.route.envelope
        if envelope == "paged":
            count = call.query.get("count")
            return self._page(call, served, DEFAULT_COUNT if count is None else int_value("count", count, 1, MAX_COUNT))
        if envelope == "saved_audience":
            return self._page(call, Rows.of(served), self.paging.saved_audience_page_size, Paging(), last_key=False)
        body: dict[str, Any] = {"status": 200, "nextPageCursor": None} if envelope == "ip_pool" else {"status": 200}
        return Answer.json(200, body | {"data": served}, records=len(served) if isinstance(served, list) else 1)

    def _page(self, call: Call, rows: Rows, count: int, paging: Paging | None = None, last_key: bool = True) -> Answer:
        """One page of `rows` at the request's cursor; the last page has `"nextPageCursor": null`, or
        (SavedAudience) no such key."""
        filters = call.filters()
        offset = self.cursors.offset(call.path, filters, call.query.get("cursor"))
        end, following = page_bounds(rows.count, offset, count, paging or self.paging)
        data = [rows.build(index) for index in range(min(offset, rows.count), end)]
        body: dict[str, Any] = {"status": 200}
        if following is not None or last_key:
            body["nextPageCursor"] = None if following is None else self.cursors.issue(call.path, filters, following)
        return Answer.json(200, body | {"data": data}, records=len(data))

    # what each route serves; a missing resource is 404 naming every path id of the route
    def _plan(self, call: Call) -> ListPlan:
        plan = self.account.served_plan(call.ids["listId"])
        if plan is None:
            raise call.not_located()
        return plan

    def _message(self, call: Call) -> Message:
        message = self.account.message_by_id(self._plan(call), call.ids["messageId"])
        if message is None:
            raise call.not_located()
        return message

    def _link(self, call: Call) -> tuple[Message, int]:
        message = self._message(call)
        index = call.ids["messageLinkId"] - message.message_id * LINK_SLOTS
        if not 0 <= index < message.links:
            raise call.not_located()
        return message, index

    def _conversation(self, call: Call) -> tuple[ListPlan, int]:
        plan = self._plan(call)
        if call.ids["conversationId"] not in self.account.conversation_ids(plan):
            raise call.not_located()
        return plan, call.ids["conversationId"]

    def _conversation_message(self, call: Call) -> Stream:
        plan, conversation_id = self._conversation(call)
        streams = self.account.conversation_messages(plan, conversation_id, previous=True)
        found = next((s for s in streams if s.message_id == call.ids["conversationMessageId"]), None)
        if found is None:
            raise call.not_located()
        return found

    def _transactional(self, call: Call) -> Stream:
        streams = self.account.transactional_streams(self._plan(call))
        found = next((s for s in streams if s.message_id == call.ids["transactionalMessageId"]), None)
        if found is None:
            raise call.not_located()
        return found

    def _serve_lists(self, call: Call) -> list[dict[str, Any]]:
        return [self.account.list_record(plan) for plan in self.account.listed_plans()]

    def _serve_fields(self, call: Call) -> list[dict[str, Any]]:
        plan = self._plan(call)
        group = call.ids["segmentationFieldGroupId"] - self.account.group_id(plan, 0)
        if not 0 <= group < len(plan.fields_per_group):
            raise call.not_located()
        return self.account.fields(plan, group)

    def _serve_ip_pools(self, call: Call) -> list[dict[str, Any]]:
        return [{"ipPoolId": 1, "ipPoolDescription": "Shared pool"}, {"ipPoolId": 2, "ipPoolDescription": "Dedicated"}]

    def _serve_contacts(self, call: Call) -> Rows:
        """Subscribed filters on the original subscribe date, or with useOriginalSubscribeDate=false on the
        latest one (re-subscribe date, else subscribe date) with an exclusive endDate; Unsubscribed on the
        unsubscribe date; bounds inclusive otherwise."""
        plan, query = self._plan(call), call.query
        state = choice_parameter(query, "subscriptionState", ("Subscribed", "Unsubscribed"), "Subscribed")
        original = bool_parameter(query, "useOriginalSubscribeDate", True)
        start, end = date_bounds(query)
        field_ids, external = segmentation_field_ids(query), query.get("externalContactId")

        def matches(index: int) -> bool:
            contact = self.account.contact_state(plan, index)
            if contact.state != state or external is not None and self.account.external_id(plan, index) != external:
                return False
            if state == "Unsubscribed":
                return within(_wall(contact.unsubscribe), start, end)
            latest = contact.subscribe if original else contact.resubscribe or contact.subscribe
            return within(_wall(latest), start, end, end_exclusive=not original)

        key = ("contacts", plan.index, state, original, start, end, external)
        chosen = self.account.cached(key, lambda: [i for i in range(self.account.contact_count(plan)) if matches(i)])
        return Rows.picked(chosen, lambda index: self.account.contact_record(plan, index, field_ids))

    def _serve_messages(self, call: Call) -> Rows:
        """startDate/endDate filter the send date, inclusive; a message without one is then left out."""
        plan, query = self._plan(call), call.query
        tests = bool_parameter(query, "includeTestMessages", False)
        start, end = date_bounds(query)
        bounded = start is not None or end is not None
        chosen = [m for m in self.account.messages(plan, tests) if not bounded or within(_wall(m.send), start, end)]
        return Rows.picked(chosen, self.account.message_record)

    def _serve_message_details(self, call: Call) -> dict[str, Any]:
        return self.account.message_details(self._message(call))

    def _serve_message_summary(self, call: Call) -> dict[str, Any]:
        return self.account.engagement(self._message(call)).summary()

    def _serve_message_status(self, call: Call) -> dict[str, Any]:
        return self.account.message_status(self._message(call))

    def _serve_message_links(self, call: Call) -> Rows:
        return Rows.of(self.account.link_records(self._message(call)))

    def _serve_message_link_clickers(self, call: Call) -> Rows:
        """One row per click (an address can click a link several times); dates filter clickDate, inclusive."""
        message, link = self._link(call)
        start, end = date_bounds(call.query)
        clicks = [
            c
            for c in self.account.engagement(message).clicks[link]
            if within(_wall(c[1]), start, end) or start is None and end is None
        ]
        return Rows.picked(clicks, lambda click: self.account.clicker_record(message, click))

    def _serve_message_activity(self, call: Call) -> Rows:
        return self._activity_rows(call, self._message(call))

    def _serve_conversations(self, call: Call) -> list[dict[str, Any]]:
        plan = self._plan(call)
        return [
            self.account.conversation_record(plan, conversation) for conversation in self.account.conversation_ids(plan)
        ]

    def _serve_conversation_summary(self, call: Call) -> dict[str, Any]:
        plan, conversation_id = self._conversation(call)
        return self.account.conversation_engagement(plan, conversation_id).conversation_summary()

    def _serve_conversation_messages(self, call: Call) -> Rows:
        plan, conversation_id = self._conversation(call)
        previous = bool_parameter(call.query, "includePreviousVersions", False)
        streams = self.account.conversation_messages(plan, conversation_id, previous)
        return Rows.picked(streams, self.account.conversation_message_record)

    def _serve_conversation_message_summary(self, call: Call) -> dict[str, Any]:
        return self.account.engagement(self._conversation_message(call)).summary()

    def _serve_conversation_message_activity(self, call: Call) -> Rows:
        return self._activity_rows(call, self._conversation_message(call))

    def _serve_transactional_messages(self, call: Call) -> list[dict[str, Any]]:
        return [
            self.account.transactional_record(stream) for stream in self.account.transactional_streams(self._plan(call))
        ]

    def _serve_transactional_message_activity(self, call: Call) -> Rows:
        return self._activity_rows(call, self._transactional(call))

    def _activity_rows(self, call: Call, source: Message | Stream) -> Rows:
        """dateType Send (the default; Conversation Activity has no dateType) filters sendDate, Activity the
        first-activity date (rows without one left out); bounds inclusive; emailAddress and activityType
        (Open, Read, Click, Bounce, Unsubscribe, Abuse) narrow further."""
        query = call.query
        date_type = choice_parameter(query, "dateType", ("Send", "Activity"), "Send") or "Send"
        activity_type = choice_parameter(query, "activityType", ACTIVITY_TYPES, None)
        start, end = date_bounds(query)
        email, total = query.get("emailAddress"), self.account.row_count(source)
        if start is None and end is None and activity_type is None and email is None:
            return Rows(total, lambda row: self.account.activity_record(source, row))

        def matches(row: int) -> bool:
            contact, send = self.account.recipient(source, row)
            if email is not None and self.account.email(contact).lower() != email.lower():
                return False
            facts = self.account.facts(source, row) if date_type == "Activity" or activity_type else None
            moment = send if facts is None or date_type == "Send" else facts.activity
            bounded = start is not None or end is not None
            return (not bounded or within(_wall(moment), start, end)) and (
                activity_type is None or _has(facts, activity_type)
            )

        key = ("activity", type(source).__name__, source.message_id, date_type, activity_type, start, end, email)
        chosen = self.account.cached(key, lambda: [row for row in range(total) if matches(row)])
        return Rows.picked(chosen, lambda row: self.account.activity_record(source, row))

    # mutations between syncs: small overlays on the generated account, stamped with the emulator's clock
    def _changed(self) -> None:
        self.account.version += 1

    def _plan_of(self, list_id: int | None) -> ListPlan:
        plan = self.account.served_plan(list_id if list_id is not None else LIST_ID_BASE)
        if plan is None:
            raise ValueError(f"list {list_id} has no data")
        return plan

    def _message_of(self, message_id: int) -> Message:
        for plan in self.account.plans:
            message = self.account.message_by_id(plan, message_id)
            if message is not None and self.account.served_plan(plan.list_id) is not None:
                return message
        raise ValueError(f"no message {message_id}")

    def advance(self, now: datetime) -> None:
        """Moves the emulator's clock forward: scheduled messages get sent, drawn engagement happens."""
        ticks = utc_ticks(now)
        if ticks < self.account.now:
            raise ValueError("the emulator's clock only moves forward")
        with self._lock:
            self.account.now = ticks
            self._changed()

    def subscribe(self, count: int = 1, list_id: int | None = None) -> list[str]:
        """`count` new subscribers of a list (default: the first), subscribed now; returns their addresses."""
        plan = self._plan_of(list_id)
        with self._lock:
            added = self.account.overlays.added_contacts.setdefault(plan.index, [])
            first = plan.contacts + len(added)
            added += [
                ContactState(first + n, "Subscribed", self.account.now, subscribe_method="Web") for n in range(count)
            ]
            self._changed()
        return [self.account.email(first + n) for n in range(count)]

    def _patch_contacts(self, emails: Iterable[str], list_id: int | None, **changes: Any) -> None:
        plan = self._plan_of(list_id)
        with self._lock:
            for email in emails:
                key = (plan.index, self.account.contact_index(plan, email))
                self.account.overlays.contacts.setdefault(key, {}).update(changes)
            self._changed()

    def unsubscribe(self, emails: Iterable[str], list_id: int | None = None) -> None:
        self._patch_contacts(
            emails, list_id, state="Unsubscribed", unsubscribe=self.account.now, unsubscribe_method="Link"
        )

    def resubscribe(self, emails: Iterable[str], list_id: int | None = None) -> None:
        """Subscribed again now: resubscribeDate is set, the original subscribeDate stays."""
        self._patch_contacts(emails, list_id, state="Subscribed", resubscribe=self.account.now)

    def change_profile_field(self, email: str, field_id: int, value: str | None, list_id: int | None = None) -> None:
        """A profile value changes; no date moves, so an incremental contacts read cannot see it."""
        plan = self._plan_of(list_id)
        with self._lock:
            key = (plan.index, self.account.contact_index(plan, email))
            self.account.overlays.contacts.setdefault(key, {}).setdefault("profile", {})[field_id] = value
            self._changed()

    def send_message(self, list_id: int | None = None, recipients: int | None = None) -> int:
        """A broadcast sent now to `recipients` (default: the list's usual count); returns its messageId.
        Its engagement is drawn after the send, so it appears as the clock advances."""
        plan = self._plan_of(list_id)
        with self._lock:
            sent = self.account.overlays.sent.setdefault(plan.index, [])
            sent.append((self.account.now, plan.recipients if recipients is None else recipients))
            self._changed()
            return self.account.message(plan, self.account.message_total(plan) - 1).message_id

    def engage(self, message_id: int, email: str, click: bool = True) -> None:
        """The recipient opens (and clicks) now: flags and clickCount change, activityDate does not
        (it is the first activity; it is set to now only if there was none)."""
        message = self._message_of(message_id)
        with self._lock:
            row = self.account.row_of(message, email)
            facts = self.account.facts(message, row)
            changes = self.account.overlays.engaged.setdefault((message_id, row), {})
            changes |= {"opened": True, "read": True, "activity": facts.activity or self.account.now}
            if click:
                link = stable_hash(self.seed, "engage", message_id, row) % message.links
                self.account.overlays.clicks.setdefault((message_id, row), []).append((link, self.account.now))
            self._changed()

    def add_clicks(self, message_id: int, link_id: int, email: str, clicks: int = 1) -> None:
        """`clicks` more clicks now (a second apart) by a recipient on one link: repeat clickers."""
        message = self._message_of(message_id)
        link = link_id - message.message_id * LINK_SLOTS
        if not 0 <= link < message.links:
            raise ValueError(f"no link {link_id} in message {message_id}")
        self.engage(message_id, email, click=False)
        with self._lock:
            row = self.account.row_of(message, email)
            added = [(link, self.account.now - n * TICKS) for n in range(clicks)]
            self.account.overlays.clicks.setdefault((message_id, row), []).extend(added)
            self._changed()

    def transactional_send(self, transactional_message_id: int, email: str) -> dict[str, Any]:
        """One more send of a transactional message to `email`, now; returns its activity row."""
        for plan in self.account.plans:
            stream = next(
                (s for s in self.account.transactional_streams(plan) if s.message_id == transactional_message_id), None
            )
            if stream is not None:
                break
        else:
            raise ValueError(f"no transactional message {transactional_message_id}")
        with self._lock:
            sends = self.account.overlays.transactional.setdefault(transactional_message_id, [])
            last = sends[-1][1] if sends else 0
            sends.append((self.account.contact_index(stream.plan, email), max(self.account.now, last + 1)))
            self._changed()
            return self.account.activity_record(stream, self.account.row_count(stream) - 1)

    def delete_list(self, list_id: int) -> None:
        """The list leaves /List; its routes answer 404 from now on."""
        with self._lock:
            self.account.overlays.deleted.add(list_id - LIST_ID_BASE)
            self._changed()

    def set_scopes(self, areas: Iterable[str]) -> None:
        """The API areas the integration is granted (Contact, Event, List, Message, Report, Segmentation)."""
        granted = frozenset(areas)
        if not granted <= AREAS:
            raise ValueError(f"unknown areas: {', '.join(sorted(granted - AREAS))}")
        self.integration.areas = granted

    def pause(self, paused: bool = True) -> None:
        """A paused integration: token requests get 400, data requests 401."""
        self.integration.paused = paused

    def expire_all_tokens(self) -> None:
        self.tokens.expire_all()

    # what a connector must emit, and the requests it needs
    def expected_records(
        self,
        stream: str,
        *,
        sent_since: datetime | None = None,
        sent_before: datetime | None = None,
        include_test_messages: bool = False,
        include_previous_versions: bool = True,
        profile_field_ids: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]:
        """The records the connector must emit for `stream` (without sync_timestamp); see `ExpectedOutput`."""
        window = SendWindow(sent_since, sent_before if sent_before is not None or sent_since is None else self.now)
        oracle = ExpectedOutput(
            self.account, window, include_test_messages, include_previous_versions, profile_field_ids
        )
        return oracle.records(stream)

    def request_counts(
        self,
        streams: Iterable[str],
        *,
        sent_since: datetime | None = None,
        sent_before: datetime | None = None,
        page_size: int = MAX_COUNT,
        include_test_messages: bool = False,
        include_previous_versions: bool = True,
    ) -> dict[str, int]:
        """Data requests per stream for one sync of `streams` (contract §3.6); see `RequestModel`."""
        window = SendWindow(sent_since, sent_before if sent_before is not None or sent_since is None else self.now)
        oracle = ExpectedOutput(self.account, window, include_test_messages, include_previous_versions, None)
        model = RequestModel(oracle, page_size, self.paging)
        return {stream: model.requests(stream) for stream in streams}

    def expected_request_count(self, streams: Iterable[str], **knobs: Any) -> int:
        """The total of `request_counts`: data requests only (no token requests, no retries)."""
        return sum(self.request_counts(streams, **knobs).values())


@dataclass(frozen=True)
class SendWindow:
    """Which sends an engagement read covers: send dates (converted to UTC as the connector sees them)
    from `since` to `before`, both inclusive. Without either, every send, a missing send date included."""

    since: datetime | None = None
    before: datetime | None = None

    def admits(self, send_date: str | None) -> bool:
        if self.since is None and self.before is None:
            return True
        text = to_utc(send_date)
        if text is None:
            return False
        moment = datetime.fromisoformat(text[:-1] + "+00:00")
        return (self.since is None or moment >= self.since) and (self.before is None or moment <= self.before)


LIST_METADATA = {  # stream -> the Account method that gives a list's records
    "campaigns": "campaigns",
    "segmentation_field_groups": "field_groups",
    "segmentation_fields": "fields",
    "saved_audiences": "saved_audiences",
    "events": "events",
    "event_groups": "event_groups",
}


def output(record: dict[str, Any], **parents: Any) -> dict[str, Any]:
    """One output record: datetimes as `to_utc` gives them (the sentinel as null), parent fields added."""
    converted = {name: to_utc(value) if name in DATETIME_FIELDS else value for name, value in record.items()}
    return converted | parents


class ExpectedOutput:
    """The records the connector must emit per stream, from the API records and these rules:

    - every API field as served, unknown ones included, absent ones still absent; every datetime field
      (createDate, subscribeDate, resubscribeDate, unsubscribeDate, sendDate, activityDate, visitDate,
      clickDate, lastModified, expirationDate) converted from naive America/New_York to UTC ending in Z,
      the API's fraction digits kept, fold 0 for ambiguous or missing wall times, the sentinel
      0001-01-01T00:00:00 as null;
    - the parent fields the connector adds (contract Appendix A): listId on every stream but lists;
      messageId and messageSendDate (UTC) on message_details, message_summary, message_links,
      message_link_clickers and message_activity; linkId on message_link_clickers; conversationId on
      the conversation streams and messageId (the conversation message's) on their message children;
      transactionalMessageId on transactional_message_activity; subscriptionStateDate (UTC) on contacts:
      unsubscribeDate for Unsubscribed rows, else resubscribeDate or, without one, subscribeDate;
    - lists: every list /List returns; the other streams only read lists whose routes answer (the list
      that answers 404 contributes its lists row only);
    - contacts: both subscription states; segmentationFieldValues holds the values of
      `profile_field_ids` (in that order) or is [] without them;
    - messages: test messages only with `include_test_messages`; with a send window only messages sent
      inside it (a missing send date never is); the message child streams follow the same messages;
    - conversation_messages: replaced versions only with `include_previous_versions`, and their
      children with them; conversation and transactional activity: rows sent inside the window;
    - records in the order the API serves them. Primary keys per stream: PRIMARY_KEYS.
    """

    def __init__(
        self,
        account: Account,
        window: SendWindow,
        include_test_messages: bool,
        include_previous_versions: bool,
        profile_field_ids: Sequence[int] | None,
    ) -> None:
        self.account, self.window = account, window
        self.include_tests, self.previous, self.field_ids = (
            include_test_messages,
            include_previous_versions,
            profile_field_ids,
        )

    def records(self, stream: str) -> list[dict[str, Any]]:
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")
        if stream in LIST_METADATA:
            return list(self._per_list(getattr(self.account, LIST_METADATA[stream])))
        return list(getattr(self, f"_{stream}")())

    # what the sync reads
    def plans(self) -> list[ListPlan]:
        return [plan for plan in self.account.listed_plans() if self.account.served_plan(plan.list_id)]

    def messages(self, plan: ListPlan) -> list[Message]:
        found = self.account.messages(plan, self.include_tests)
        return [m for m in found if self.window.admits(_text(m.send))]

    def all_messages(self) -> Iterator[Message]:
        for plan in self.plans():
            yield from self.messages(plan)

    def conversation_streams(self) -> Iterator[tuple[ListPlan, int, Stream]]:
        for plan in self.plans():
            for conversation_id in self.account.conversation_ids(plan):
                for stream in self.account.conversation_messages(plan, conversation_id, self.previous):
                    yield plan, conversation_id, stream

    def rows_in_window(self, source: Stream) -> list[int]:
        rows = range(self.account.row_count(source))
        return [row for row in rows if self.window.admits(_text(self.account.recipient(source, row)[1]))]

    def _message_parents(self, message: Message) -> dict[str, Any]:
        return {
            "listId": message.plan.list_id,
            "messageId": message.message_id,
            "messageSendDate": to_utc(_text(message.send)),
        }

    # one generator per stream
    def _lists(self) -> Iterator[dict[str, Any]]:
        return (output(self.account.list_record(plan)) for plan in self.account.listed_plans())

    def _per_list(self, records: Callable[[ListPlan], list[dict[str, Any]]]) -> Iterator[dict[str, Any]]:
        return (output(record, listId=plan.list_id) for plan in self.plans() for record in records(plan))

    def _contacts(self) -> Iterator[dict[str, Any]]:
        for plan in self.plans():
            for state in ("Subscribed", "Unsubscribed"):
                for index in range(self.account.contact_count(plan)):
                    if self.account.contact_state(plan, index).state == state:
                        yield self._contact(plan, index)

    def _contact(self, plan: ListPlan, index: int) -> dict[str, Any]:
        record = self.account.contact_record(plan, index, self.field_ids)
        latest = (
            record["unsubscribeDate"]
            if record["subscriptionState"] == "Unsubscribed"
            else (record.get("resubscribeDate") or record["subscribeDate"])
        )
        return output(record, listId=plan.list_id, subscriptionStateDate=to_utc(latest))

    def _messages(self) -> Iterator[dict[str, Any]]:
        return (output(self.account.message_record(m), listId=m.plan.list_id) for m in self.all_messages())

    def _message_details(self) -> Iterator[dict[str, Any]]:
        return (output(self.account.message_details(m), **self._message_parents(m)) for m in self.all_messages())

    def _message_summary(self) -> Iterator[dict[str, Any]]:
        return (output(self.account.engagement(m).summary(), **self._message_parents(m)) for m in self.all_messages())

    def _message_links(self) -> Iterator[dict[str, Any]]:
        for message in self.all_messages():
            yield from (output(link, **self._message_parents(message)) for link in self.account.link_records(message))

    def _message_link_clickers(self) -> Iterator[dict[str, Any]]:
        for message in self.all_messages():
            for link, clicks in enumerate(self.account.engagement(message).clicks):
                parents = self._message_parents(message) | {"linkId": self.account.link_id(message, link)}
                yield from (output(self.account.clicker_record(message, click), **parents) for click in clicks)

    def _message_activity(self) -> Iterator[dict[str, Any]]:
        for message in self.all_messages():
            parents = self._message_parents(message)
            for row in range(self.account.row_count(message)):
                yield output(self.account.activity_record(message, row), **parents)

    def _conversations(self) -> Iterator[dict[str, Any]]:
        return self._per_list(
            lambda plan: [
                self.account.conversation_record(plan, conversation)
                for conversation in self.account.conversation_ids(plan)
            ]
        )

    def _conversation_summary(self) -> Iterator[dict[str, Any]]:
        for plan in self.plans():
            for conversation_id in self.account.conversation_ids(plan):
                summary = self.account.conversation_engagement(plan, conversation_id).conversation_summary()
                yield output(summary, listId=plan.list_id, conversationId=conversation_id)

    def _conversation_messages(self) -> Iterator[dict[str, Any]]:
        for plan, conversation_id, stream in self.conversation_streams():
            yield output(
                self.account.conversation_message_record(stream), listId=plan.list_id, conversationId=conversation_id
            )

    def _conversation_message_summary(self) -> Iterator[dict[str, Any]]:
        for plan, conversation_id, stream in self.conversation_streams():
            yield output(
                self.account.engagement(stream).summary(),
                listId=plan.list_id,
                conversationId=conversation_id,
                messageId=stream.message_id,
            )

    def _conversation_message_activity(self) -> Iterator[dict[str, Any]]:
        for plan, conversation_id, stream in self.conversation_streams():
            parents = {"listId": plan.list_id, "conversationId": conversation_id, "messageId": stream.message_id}
            yield from (
                output(self.account.activity_record(stream, row), **parents) for row in self.rows_in_window(stream)
            )

    def _transactional_messages(self) -> Iterator[dict[str, Any]]:
        return self._per_list(
            lambda plan: [
                self.account.transactional_record(stream) for stream in self.account.transactional_streams(plan)
            ]
        )

    def _transactional_message_activity(self) -> Iterator[dict[str, Any]]:
        for plan in self.plans():
            for stream in self.account.transactional_streams(plan):
                parents = {"listId": plan.list_id, "transactionalMessageId": stream.message_id}
                yield from (
                    output(self.account.activity_record(stream, row), **parents) for row in self.rows_in_window(stream)
                )


ONE_REQUEST_PER_LIST = (
    "campaigns",
    "segmentation_field_groups",
    "events",
    "event_groups",
    "conversations",
    "transactional_messages",
)


class RequestModel:
    """Data requests one sync needs per stream (contract §3.6), for the engagement window of the oracle:

    each stream's own endpoint, once per partition and page (`page_size` rows a page, this emulator's
    paging quirks included; an empty collection still takes one request). Partitions come from the
    lists /List returns, the one that answers 404 included (its child requests are made and fail).
    Not counted: token requests, retries, and the parent pages a child stream reads again (the
    connector's `lists` read per child stream, for instance).
    """

    def __init__(self, oracle: ExpectedOutput, page_size: int, paging: Paging) -> None:
        self.oracle, self.account, self.page_size, self.paging = oracle, oracle.account, page_size, paging

    def pages(self, rows: int) -> int:
        return pages_needed(rows, self.page_size, self.paging)

    def per_listed(self, served: Callable[[ListPlan], int]) -> int:
        """One request per listed list that answers 404, `served(plan)` for each list that answers."""
        return sum(
            served(plan) if self.account.served_plan(plan.list_id) else 1 for plan in self.account.listed_plans()
        )

    def requests(self, stream: str) -> int:
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")
        if stream == "lists":
            return 1
        if stream in ONE_REQUEST_PER_LIST:
            return self.per_listed(lambda plan: 1)
        if stream in ("message_details", "message_summary"):
            return sum(1 for _ in self.oracle.all_messages())
        return int(getattr(self, f"_{stream}")())

    def _segmentation_fields(self) -> int:
        return sum(len(plan.fields_per_group) for plan in self.oracle.plans())

    def _saved_audiences(self) -> int:
        page_size = self.paging.saved_audience_page_size
        return self.per_listed(lambda plan: pages_needed(plan.saved_audiences, page_size, Paging()))

    def _contacts(self) -> int:
        """Both subscription states of every list."""
        failing = 2 * self.per_listed(lambda plan: 0)
        return failing + sum(
            self.pages(self._contacts_in(plan, state))
            for plan in self.oracle.plans()
            for state in ("Subscribed", "Unsubscribed")
        )

    def _contacts_in(self, plan: ListPlan, state: str) -> int:
        states = (self.account.contact_state(plan, index).state for index in range(self.account.contact_count(plan)))
        return sum(1 for found in states if found == state)

    def _messages(self) -> int:
        return self.per_listed(lambda plan: self.pages(len(self.oracle.messages(plan))))

    def _message_links(self) -> int:
        return sum(self.pages(message.links) for message in self.oracle.all_messages())

    def _message_link_clickers(self) -> int:
        engagements = (self.account.engagement(message) for message in self.oracle.all_messages())
        return sum(self.pages(len(clicks)) for engagement in engagements for clicks in engagement.clicks)

    def _message_activity(self) -> int:
        return sum(self.pages(self.account.row_count(message)) for message in self.oracle.all_messages())

    def _conversation_summary(self) -> int:
        return sum(len(self.account.conversation_ids(plan)) for plan in self.oracle.plans())

    def _conversation_messages(self) -> int:
        """One walk per conversation, of its current (and, when read, previous) message versions."""
        listed = (
            self.account.conversation_messages(plan, conversation, self.oracle.previous)
            for plan in self.oracle.plans()
            for conversation in self.account.conversation_ids(plan)
        )
        return sum(self.pages(len(versions)) for versions in listed)

    def _conversation_message_summary(self) -> int:
        return sum(1 for _ in self.oracle.conversation_streams())

    def _conversation_message_activity(self) -> int:
        return sum(self.pages(len(self.oracle.rows_in_window(s))) for _, _, s in self.oracle.conversation_streams())

    def _transactional_message_activity(self) -> int:
        streams = (s for plan in self.oracle.plans() for s in self.account.transactional_streams(plan))
        return sum(self.pages(len(self.oracle.rows_in_window(stream))) for stream in streams)


# ---------------------------------------------------------------- command line


def _parser() -> argparse.ArgumentParser:
    parser = command_line("Serve the Listrak Email API v1 and its token endpoint on loopback.", port=8766)
    for name, default in vars(Sizes()).items():
        if isinstance(default, int) and not isinstance(default, bool):
            parser.add_argument(f"--{name.replace('_', '-')}", type=int, default=default, help=f"default {default}")
    parser.add_argument("--links-per-message", type=int, default=None, help="default: 5 to 20, drawn per message")
    parser.add_argument("--retry-after", choices=RETRY_AFTER_MODES, default="absent")
    parser.add_argument("--client-id", default=Integration.client_id)
    parser.add_argument("--client-secret", default=Integration.client_secret)
    return parser


def emulator_from_arguments(args: argparse.Namespace) -> EmailV1Emulator:
    """--fault-rate is split evenly over 429, 500, 502, 503, HTML-200 and dropped connections."""
    sizes = Sizes(**{name: getattr(args, name) for name in vars(Sizes()) if hasattr(args, name)})
    faults = Faults.at_rate(args.fault_rate, latency_ms=args.latency_ms, retry_after=args.retry_after)
    integration = Integration(client_id=args.client_id, client_secret=args.client_secret)
    return EmailV1Emulator(args.seed, parse_now(args.now), sizes, integration, faults=faults)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    emulator = emulator_from_arguments(args)

    def details() -> list[str]:
        return [
            f"token url {emulator.token_url}",
            f"client id {emulator.client_id}",
            f"client secret {emulator.client_secret}",
        ]

    return serve_until_signal(emulator, args.host, args.port, details)


if __name__ == "__main__":
    raise SystemExit(main())
