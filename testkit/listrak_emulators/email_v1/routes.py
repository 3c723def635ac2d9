"""The data API's rules and what each route answers: routing on canonical paths, strict query
parameters, opaque HMAC-signed cursors, paging quirks, date filters and envelopes (contract §7.2).

`DataApi.answer` serves one request that found its route and passed authorization; each route's
records come from the account, filtered by the request's parameters.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from listrak_emulators.email_v1.account import Account
from listrak_emulators.email_v1.activity import ACTIVITY_TYPES, Activity, Source
from listrak_emulators.email_v1.answers import Answer, invalid, not_located
from listrak_emulators.email_v1.eastern_time import SENTINEL, wall_or_none, wall_ticks
from listrak_emulators.email_v1.plan import LINK_SLOTS, ListPlan, Message, SendSeries
from listrak_emulators.email_v1.streams import (
    BASE_PATH,
    ROUTES,
    STREAM_TABLE,
    SUBSCRIPTION_STATES,
    Envelope,
    Route,
    Stream,
    stream_named,
)
from listrak_emulators.http import ApiError

DEFAULT_COUNT, MAX_COUNT, MAX_SEGMENTATION_FIELDS = 1000, 5000, 30


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
            raise invalid("cursor") from None
        mark, signature, payload = raw[:6], raw[6:22], raw[22:].rstrip(b" ")
        if mark != CURSOR_MARK or not hmac.compare_digest(signature, self._signature(payload)):
            raise invalid("cursor")
        data = json.loads(payload)
        if data["path"] != path or data["filters"] != filters:
            raise invalid("cursor")
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
        raise invalid(name)
    return int(raw)


def bool_parameter(query: dict[str, str], name: str, default: bool) -> bool:
    raw = query.get(name)
    if raw is None:
        return default
    if raw.lower() not in ("true", "false"):
        raise invalid(name)
    return raw.lower() == "true"


def choice_parameter(query: dict[str, str], name: str, choices: Sequence[str], default: str | None) -> str | None:
    raw = query.get(name)
    if raw is not None and raw not in choices:
        raise invalid(name)
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


_DATE_PARAMETER = re.compile(r"(\d{4}-\d\d-\d\d)(?:T(\d\d:\d\d:\d\d)(?:\.(\d{1,7}))?(Z|[+-]\d\d:\d\d)?)?")


def parse_date_parameter(name: str, raw: str) -> int:
    """startDate/endDate in wall ticks: a date, a naive Eastern time, or a time with Z / an offset (converted)."""
    match = _DATE_PARAMETER.fullmatch(raw)
    if match is None:
        raise invalid(name)
    day, clock, fraction, offset = match.groups()
    try:
        moment = datetime.fromisoformat(f"{day}T{clock or '00:00:00'}{'+00:00' if offset == 'Z' else offset or ''}")
    except ValueError:
        raise invalid(name) from None
    return wall_ticks(moment) + int((fraction or "0").ljust(7, "0"))


def _wall_of_text(value: str | None) -> int | None:
    """A record's Eastern wall time as wall ticks; None for a missing date or the sentinel."""
    return None if value is None or value == SENTINEL else parse_date_parameter("date", value)


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
        return not_located(self.route.id_names)

    def filters(self) -> dict[str, str]:
        return {name: value for name, value in sorted(self.query.items()) if name not in ("cursor", "count")}


Served = Rows | list[dict[str, Any]] | dict[str, Any]
IP_POOLS = [{"ipPoolId": 1, "ipPoolDescription": "Shared pool"}, {"ipPoolId": 2, "ipPoolDescription": "Dedicated"}]


class DataApi:
    """What each route answers, from the account; a missing resource is 404 naming every path id of the route."""

    def __init__(self, account: Account, activity: Activity, cursors: Cursors) -> None:
        self.account, self.activity, self.cursors = account, activity, cursors
        list_records = self._list_records
        self._serve: dict[str, Callable[[Call], Served]] = {  # route name -> its records
            "lists": lambda call: [account.list_record(plan) for plan in account.listed_plans()],
            "list": lambda call: account.list_record(self._plan(call)),
            "campaigns": list_records(account.campaigns),
            "contacts": self._contacts,
            "segmentation_field_groups": list_records(account.field_groups),
            "segmentation_fields": self._fields,
            "saved_audiences": list_records(account.saved_audiences),
            "events": list_records(account.events),
            "event_groups": list_records(account.event_groups),
            "messages": self._messages,
            "message_details": lambda call: account.message_details(self._message(call)),
            "message_summary": lambda call: self.activity.engagement(self._message(call)).summary(),
            "message_status": lambda call: self.activity.message_status(self._message(call)),
            "message_links": lambda call: Rows.of(self.activity.link_records(self._message(call))),
            "message_link_clickers": self._clickers,
            "message_activity": lambda call: self._activity_rows(call, self._message(call)),
            "conversations": list_records(
                lambda plan: [account.conversation_record(plan, c) for c in account.conversation_ids(plan)]
            ),
            "conversation_summary": lambda call: self.activity.conversation_engagement(
                *self._conversation(call)
            ).conversation_summary(),
            "conversation_messages": self._conversation_messages,
            "conversation_message_summary": lambda call: self.activity.engagement(
                self._conversation_message(call)
            ).summary(),
            "conversation_message_activity": lambda call: self._activity_rows(call, self._conversation_message(call)),
            "transactional_messages": list_records(
                lambda plan: [account.transactional_record(s) for s in account.transactional_series(plan)]
            ),
            "transactional_message_activity": lambda call: self._activity_rows(call, self._transactional(call)),
            "ip_pools": lambda call: IP_POOLS,
        }
        for stream in STREAM_TABLE:
            if stream.records is not None and stream.name not in self._serve:
                self._serve[stream.name] = self._table_records(stream)
        # parent stream -> the item of its record that a child route's ids name (for the table's `records`)
        self._items: dict[str, Callable[[Call], Any]] = {
            "lists": self._plan,
            "messages": self._message,
            "message_links": self._link,
            "conversation_messages": self._conversation_message,
            "transactional_messages": self._transactional,
        }
        unserved = {route.name for route in ROUTES} - set(self._serve)
        if unserved:
            raise RuntimeError(f"routes without an answer: {', '.join(sorted(unserved))}")

    def answer(self, call: Call, paging: Paging) -> Answer:
        """The route's records in its envelope; a paged route's page at the request's cursor."""
        served = self._serve[call.route.name](call)
        envelope = call.route.envelope
        if envelope is Envelope.PAGED:
            assert isinstance(served, Rows)
            count = call.query.get("count")
            page_size = DEFAULT_COUNT if count is None else int_value("count", count, 1, MAX_COUNT)
            return self._page(call, served, page_size, paging)
        if envelope is Envelope.SAVED_AUDIENCE:
            assert isinstance(served, list)
            return self._page(call, Rows.of(served), paging.saved_audience_page_size, Paging(), last_key=False)
        body: dict[str, Any] = {"status": 200}
        if envelope is Envelope.IP_POOL:
            body["nextPageCursor"] = None
        return Answer.json(200, body | {"data": served}, records=len(served) if isinstance(served, list) else 1)

    def _page(self, call: Call, rows: Rows, count: int, paging: Paging, last_key: bool = True) -> Answer:
        """One page of `rows` at the request's cursor; the last page has `"nextPageCursor": null`, or
        (SavedAudience) no such key."""
        filters = call.filters()
        offset = self.cursors.offset(call.path, filters, call.query.get("cursor"))
        end, following = page_bounds(rows.count, offset, count, paging)
        data = [rows.build(index) for index in range(min(offset, rows.count), end)]
        body: dict[str, Any] = {"status": 200}
        if following is not None or last_key:
            body["nextPageCursor"] = None if following is None else self.cursors.issue(call.path, filters, following)
        return Answer.json(200, body | {"data": data}, records=len(data))

    # the routes of the streams whose records the stream table gives
    def _table_records(self, stream: Stream) -> Callable[[Call], Served]:
        """The stream's records for the parent its route's ids name, filtered on `date_field` (inclusive)."""
        records = stream.records
        assert records is not None

        def serve(call: Call) -> Served:
            assert records is not None
            found = records(self, self._item(stream.parent, call))
            start, end = date_bounds(call.query)
            if stream.date_field is not None and (start is not None or end is not None):
                found = [r for r in found if within(_wall_of_text(r.get(stream.date_field)), start, end)]
            return Rows.of(found) if stream.route.envelope is Envelope.PAGED else found

        return serve

    def _item(self, parent: str | None, call: Call) -> Any:
        """The item of the parent record a call's ids name: one the routes above resolve, or (a parent with
        `records`) its parent's item and the record whose own key is the next id of the call's path."""
        if parent in self._items:
            return self._items[parent](call)
        assert parent is not None
        definition = stream_named(parent)
        item = self._item(definition.parent, call)
        assert definition.records is not None, f"no item for the records of {parent}"
        wanted = call.ids[call.route.id_names[len(definition.route.id_names)]]
        own_key = definition.primary_key[-1]
        record = next((r for r in definition.records(self, item) if r.get(own_key) == wanted), None)
        if record is None:
            raise call.not_located()
        return item, record

    # the resources a route's ids name
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

    def _conversation_message(self, call: Call) -> SendSeries:
        plan, conversation_id = self._conversation(call)
        versions = self.account.conversation_messages(plan, conversation_id, previous=True)
        found = next((s for s in versions if s.message_id == call.ids["conversationMessageId"]), None)
        if found is None:
            raise call.not_located()
        return found

    def _transactional(self, call: Call) -> SendSeries:
        series = self.account.transactional_series(self._plan(call))
        found = next((s for s in series if s.message_id == call.ids["transactionalMessageId"]), None)
        if found is None:
            raise call.not_located()
        return found

    # the routes that filter
    def _list_records(self, records: Callable[[ListPlan], list[dict[str, Any]]]) -> Callable[[Call], Served]:
        return lambda call: records(self._plan(call))

    def _fields(self, call: Call) -> list[dict[str, Any]]:
        plan = self._plan(call)
        group = call.ids["segmentationFieldGroupId"] - self.account.group_id(plan, 0)
        if not 0 <= group < len(plan.fields_per_group):
            raise call.not_located()
        return self.account.fields(plan, group)

    def _contacts(self, call: Call) -> Rows:
        """Subscribed filters on the original subscribe date, or with useOriginalSubscribeDate=false on the
        latest one (re-subscribe date, else subscribe date) with an exclusive endDate; Unsubscribed on the
        unsubscribe date; bounds inclusive otherwise."""
        plan, query, account = self._plan(call), call.query, self.account
        state = choice_parameter(query, "subscriptionState", SUBSCRIPTION_STATES, "Subscribed")
        original = bool_parameter(query, "useOriginalSubscribeDate", True)
        start, end = date_bounds(query)
        field_ids, external = segmentation_field_ids(query), query.get("externalContactId")

        def matches(index: int) -> bool:
            contact = account.contact_state(plan, index)
            if contact.state != state or external is not None and account.external_id(plan, index) != external:
                return False
            if state == "Unsubscribed":
                return within(wall_or_none(contact.unsubscribe), start, end)
            latest = contact.subscribe if original else contact.resubscribe or contact.subscribe
            return within(wall_or_none(latest), start, end, end_exclusive=not original)

        key = ("contacts", plan.index, state, original, start, end, external)
        chosen = account.cached(key, lambda: [i for i in range(account.contact_count(plan)) if matches(i)])
        return Rows.picked(chosen, lambda index: account.contact_record(plan, index, field_ids))

    def _messages(self, call: Call) -> Rows:
        """startDate/endDate filter the send date, inclusive; a message without one is then left out."""
        plan, query = self._plan(call), call.query
        tests = bool_parameter(query, "includeTestMessages", False)
        start, end = date_bounds(query)
        bounded = start is not None or end is not None
        chosen = [
            m for m in self.account.messages(plan, tests) if not bounded or within(wall_or_none(m.send), start, end)
        ]
        return Rows.picked(chosen, self.account.message_record)

    def _clickers(self, call: Call) -> Rows:
        """One row per click (an address can click a link several times); dates filter clickDate, inclusive."""
        message, link = self._link(call)
        start, end = date_bounds(call.query)
        clicks = [
            c
            for c in self.activity.engagement(message).clicks[link]
            if within(wall_or_none(c[1]), start, end) or start is None and end is None
        ]
        return Rows.picked(clicks, lambda click: self.activity.clicker_record(message, click))

    def _conversation_messages(self, call: Call) -> Rows:
        plan, conversation_id = self._conversation(call)
        previous = bool_parameter(call.query, "includePreviousVersions", False)
        versions = self.account.conversation_messages(plan, conversation_id, previous)
        return Rows.picked(versions, self.account.conversation_message_record)

    def _activity_rows(self, call: Call, source: Source) -> Rows:
        """dateType Send (the default; Conversation Activity has no dateType) filters sendDate, Activity the
        first-activity date (rows without one left out); bounds inclusive; emailAddress and activityType
        (Open, Read, Click, Bounce, Unsubscribe, Abuse) narrow further."""
        query, activity = call.query, self.activity
        date_type = choice_parameter(query, "dateType", ("Send", "Activity"), "Send") or "Send"
        activity_type = choice_parameter(query, "activityType", ACTIVITY_TYPES, None)
        start, end = date_bounds(query)
        email, total = query.get("emailAddress"), activity.row_count(source)
        if start is None and end is None and activity_type is None and email is None:
            return Rows(total, lambda row: activity.record(source, row))

        def matches(row: int) -> bool:
            contact, send = activity.recipient(source, row)
            if email is not None and self.account.email(contact).lower() != email.lower():
                return False
            facts = activity.facts(source, row) if date_type == "Activity" or activity_type else None
            moment = send if facts is None or date_type == "Send" else facts.activity
            bounded = start is not None or end is not None
            return (not bounded or within(wall_or_none(moment), start, end)) and (
                activity_type is None or facts is not None and facts.has(activity_type)
            )

        key = ("activity", type(source).__name__, source.message_id, date_type, activity_type, start, end, email)
        chosen = self.account.cached(key, lambda: [row for row in range(total) if matches(row)])
        return Rows.picked(chosen, lambda row: activity.record(source, row))
