"""What each Email API stream is, said once: its route, parent, primary key, paging, API areas and
incremental field (contract §3.1), and for the streams added by the table alone, their records.

The router serves `ROUTES` (the streams' routes and the few no stream reads); the oracle walks each
stream's parent and adds its parents' keys; the request model counts its pages by its envelope.
A stream with `records` needs nothing else in the emulator: the router answers its route and the
oracle expects its output from those records (CONTRIBUTING.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

BASE_PATH = "/email/v1"
AREAS = frozenset({"Contact", "Event", "List", "Message", "Report", "Segmentation"})


class Envelope(Enum):
    """How a route answers (contract §2.2), and so how it pages (§2.3)."""

    COLLECTION = "collection"  # {"status", "data": [...]}: unpaged, one request
    PAGED = "paged"  # CollectionPaged: `count` (1-5000, default 1000) and `cursor` until nextPageCursor is null
    SAVED_AUDIENCE = "saved_audience"  # CollectionPaged with `cursor` only, a page size of the server's own;
    # its last page has no nextPageCursor key
    RESOURCE = "resource"  # {"status", "data": {...}}: one record, one request
    IP_POOL = "ip_pool"  # a Collection that says "nextPageCursor": null

    @property
    def paged(self) -> bool:
        return self in (Envelope.PAGED, Envelope.SAVED_AUDIENCE)


@dataclass(frozen=True)
class Route:
    """One GET route: its path under BASE_PATH (ids in braces), envelope, the API areas (security scopes) it
    needs and the query parameters it declares; `name` is the stream it serves, or what it is if none."""

    name: str
    path: str
    envelope: Envelope
    areas: frozenset[str]
    parameters: frozenset[str]

    @property
    def template(self) -> tuple[str, ...]:
        return tuple(self.path.split("/"))

    @property
    def id_names(self) -> list[str]:
        return [segment[1:-1] for segment in self.template if segment.startswith("{")]

    def match(self, segments: Sequence[str]) -> dict[str, str] | None:
        """The raw path ids if `segments` (the path under BASE_PATH, split) is this route, else None."""
        if len(segments) != len(self.template):
            return None
        pairs = list(zip(self.template, segments, strict=True))
        if any(part != segment and not (part.startswith("{") and segment) for part, segment in pairs):
            return None
        return {part[1:-1]: segment for part, segment in pairs if part.startswith("{")}


# The records a route serves for one record of its stream's parent, as the API serves them (unfiltered):
# called with the account's data (its `account` and `activity`) and that parent record's item: a list
# plan for a child of `lists`, a message, a conversation message (a SendSeries); for a child of a stream
# with `records`, (that stream's parent item, the parent record).
Records = Callable[[Any, Any], list[dict[str, Any]]]


@dataclass(frozen=True)
class Stream:
    """One stream the connector reads: the route it reads, the stream whose records give that route's ids
    (`parent`; None for /List), its primary key and its incremental field (None: full refresh only).
    `split` is a query parameter the stream sends once per value for each parent record.

    `records` (see `Records`), for a stream the router and oracle do not spell out by hand: its route's
    ids are its parent's primary key, in order, then its own; its parent fields are its parent's primary
    key; `date_field` is the field its startDate/endDate parameters filter (both bounds inclusive)."""

    name: str
    route: Route
    parent: str | None
    primary_key: tuple[str, ...]
    incremental_field: str | None = None
    split: tuple[str, tuple[str, ...]] | None = None
    records: Records | None = None
    date_field: str | None = None


def _route(name: str, path: str, envelope: Envelope, areas: str, parameters: str = "") -> Route:
    return Route(name, path, envelope, frozenset(areas.split()), frozenset(parameters.split()))


def _stream(
    name: str,
    path: str,
    envelope: Envelope,
    parent: str | None,
    key: str,
    areas: str = "List",
    parameters: str = "",
    incremental: str | None = None,
    split: tuple[str, tuple[str, ...]] | None = None,
    records: Records | None = None,
    date_field: str | None = None,
) -> Stream:
    route = _route(name, path, envelope, areas, parameters)
    return Stream(name, route, parent, tuple(key.split()), incremental, split, records, date_field)


COLLECTION, PAGED, RESOURCE = Envelope.COLLECTION, Envelope.PAGED, Envelope.RESOURCE
LIST = "List/{listId}"
MESSAGE = f"{LIST}/Message/{{messageId}}"
CONVERSATION = f"{LIST}/Conversation/{{conversationId}}"
CONVERSATION_MESSAGE = f"{CONVERSATION}/Message/{{conversationMessageId}}"
PAGES = "cursor count"
WINDOW = "startDate endDate"
ACTIVITY = f"activityType dateType {PAGES} {WINDOW} emailAddress"
CONTACT = f"subscriptionState externalContactId segmentationFieldIds {PAGES} {WINDOW} useOriginalSubscribeDate"
SUBSCRIPTION_STATES = ("Subscribed", "Unsubscribed")

# Paths, query parameters and security scopes from the Swagger document; Contact routes need the Contact
# area (strict: the document declares none). In the contract's order.
STREAM_TABLE: tuple[Stream, ...] = (
    _stream("lists", "List", COLLECTION, None, "listId"),
    _stream("campaigns", f"{LIST}/Campaign", COLLECTION, "lists", "listId campaignId", "List Message"),
    _stream(
        "contacts",
        f"{LIST}/Contact",
        PAGED,
        "lists",
        "listId emailAddress",
        "Contact",
        CONTACT,
        incremental="subscriptionStateDate",
        split=("subscriptionState", SUBSCRIPTION_STATES),
    ),
    _stream(
        "segmentation_field_groups",
        f"{LIST}/SegmentationFieldGroup",
        COLLECTION,
        "lists",
        "listId segmentationFieldGroupId",
        "List Segmentation",
    ),
    _stream(
        "segmentation_fields",
        f"{LIST}/SegmentationFieldGroup/{{segmentationFieldGroupId}}/SegmentationField",
        COLLECTION,
        "segmentation_field_groups",
        "listId segmentationFieldId",
        "List Segmentation",
    ),
    _stream(
        "saved_audiences",
        f"{LIST}/SavedAudience",
        Envelope.SAVED_AUDIENCE,
        "lists",
        "listId savedAudienceId",
        "List",
        "cursor",
    ),
    _stream("events", f"{LIST}/Event", COLLECTION, "lists", "listId eventId", "List Event"),
    _stream("event_groups", f"{LIST}/EventGroup", COLLECTION, "lists", "listId eventGroupId", "List Event"),
    _stream(
        "messages",
        f"{LIST}/Message",
        PAGED,
        "lists",
        "listId messageId",
        "List Message",
        f"{PAGES} {WINDOW} includeTestMessages",
        incremental="sendDate",
    ),
    _stream(
        "message_details",
        MESSAGE,
        RESOURCE,
        "messages",
        "listId messageId",
        "List Message",
        incremental="messageSendDate",
    ),
    _stream(
        "message_summary",
        f"{MESSAGE}/Summary",
        RESOURCE,
        "messages",
        "listId messageId",
        "List Message Report",
        incremental="messageSendDate",
    ),
    _stream(
        "message_links",
        f"{MESSAGE}/Link",
        PAGED,
        "messages",
        "listId messageId linkId",
        "List Message Report",
        PAGES,
        incremental="messageSendDate",
    ),
    _stream(
        "message_link_clickers",
        f"{MESSAGE}/Link/{{messageLinkId}}/Clicker",
        PAGED,
        "message_links",
        "listId messageId linkId emailAddress clickDate",
        "List Message Report",
        f"{PAGES} {WINDOW}",
        incremental="messageSendDate",
    ),
    _stream(
        "message_activity",
        f"{MESSAGE}/Activity",
        PAGED,
        "messages",
        "listId messageId emailAddress",
        "List Message Report",
        ACTIVITY,
        incremental="messageSendDate",
    ),
    _stream("conversations", f"{LIST}/Conversation", COLLECTION, "lists", "listId conversationId"),
    _stream(
        "conversation_summary",
        f"{CONVERSATION}/Summary",
        RESOURCE,
        "conversations",
        "listId conversationId",
        "List Report",
    ),
    _stream(
        "conversation_messages",
        f"{CONVERSATION}/Message",
        PAGED,
        "conversations",
        "listId conversationId messageId",
        "List Message",
        f"{PAGES} includePreviousVersions",
    ),
    _stream(
        "conversation_message_summary",
        f"{CONVERSATION_MESSAGE}/Summary",
        RESOURCE,
        "conversation_messages",
        "listId conversationId messageId",
        "List Message Report",
    ),
    _stream(
        "conversation_message_activity",
        f"{CONVERSATION_MESSAGE}/Activity",
        PAGED,
        "conversation_messages",
        "listId conversationId messageId emailAddress sendDate",
        "List Message Report",
        f"activityType {PAGES} {WINDOW}",
        incremental="sendDate",
    ),
    _stream(
        "conversation_message_links",
        f"{CONVERSATION_MESSAGE}/Link",
        PAGED,
        "conversation_messages",
        "listId conversationId messageId linkId",
        "List Message Report",
        PAGES,
        records=lambda data, series: data.activity.link_records(series),
    ),
    _stream(
        "conversation_message_link_clickers",
        f"{CONVERSATION_MESSAGE}/Link/{{conversationMessageLinkId}}/Clicker",
        PAGED,
        "conversation_message_links",
        "listId conversationId messageId linkId emailAddress clickDate",
        "List Message Report",
        f"{PAGES} {WINDOW}",
        records=lambda data, link: data.activity.clicker_records(*link),
        date_field="clickDate",
    ),
    _stream(
        "transactional_messages",
        f"{LIST}/TransactionalMessage",
        COLLECTION,
        "lists",
        "listId transactionalMessageId",
        "List Message",
    ),
    _stream(
        "transactional_message_activity",
        f"{LIST}/TransactionalMessage/{{transactionalMessageId}}/Activity",
        PAGED,
        "transactional_messages",
        "listId transactionalMessageId emailAddress sendDate",
        "List Message Report",
        ACTIVITY,
        incremental="sendDate",
    ),
    _stream(
        "split_tests",
        f"{LIST}/SplitTest",
        PAGED,
        "lists",
        "listId splitTestId",
        "List Message",
        f"{PAGES} {WINDOW}",
        records=lambda data, plan: data.account.split_tests(plan),
        date_field="startDate",
    ),
    _stream(
        "split_test_messages",
        f"{LIST}/SplitTest/{{splitTestId}}/Message",
        COLLECTION,
        "split_tests",
        "listId splitTestId messageId",
        "List Message",
        records=lambda data, split_test: data.account.split_test_messages(*split_test),
    ),
)
OTHER_ROUTES = (  # answered like the rest, read by no stream
    _route("list", LIST, RESOURCE, "List"),
    _route("message_status", f"{MESSAGE}/Status", RESOURCE, "List Message Report"),
    _route("ip_pools", "IpPool", Envelope.IP_POOL, ""),
)

STREAMS_BY_NAME = {stream.name: stream for stream in STREAM_TABLE}
STREAMS = tuple(STREAMS_BY_NAME)  # the connector's Email API streams, in the contract's order
PRIMARY_KEYS = {stream.name: stream.primary_key for stream in STREAM_TABLE}
ROUTES = tuple(stream.route for stream in STREAM_TABLE) + OTHER_ROUTES


def stream_named(name: str) -> Stream:
    if name not in STREAMS_BY_NAME:
        raise ValueError(f"unknown stream {name!r}; streams: {', '.join(STREAMS)}")
    return STREAMS_BY_NAME[name]


def descendants(name: str) -> tuple[str, ...]:
    """The streams whose parent, or parent's parent and so on, is `name`, in the table's order."""
    found: list[str] = []
    for stream in STREAM_TABLE:
        if stream.parent == name or stream.parent in found:
            found.append(stream.name)
    return tuple(found)
