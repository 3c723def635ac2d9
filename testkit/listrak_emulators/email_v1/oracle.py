"""The truth a connector is held to: the records it must emit per stream (`ExpectedOutput`) and the data
requests one sync needs (`RequestModel`, contract §3.6).

Both walk the stream table the way a connector reads the API: each stream is read once per record of
its parent stream (and per value of its split parameter), and each such partition is the rows its route
serves for that parent, with the parent's keys added.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from listrak_emulators.email_v1.account import Account
from listrak_emulators.email_v1.activity import Activity
from listrak_emulators.email_v1.eastern_time import api_text, to_utc
from listrak_emulators.email_v1.plan import ListPlan, Message, SendSeries
from listrak_emulators.email_v1.routes import Paging, Rows, pages_needed
from listrak_emulators.email_v1.streams import Envelope, stream_named

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


def output(record: dict[str, Any], **parents: Any) -> dict[str, Any]:
    """One output record: datetimes as `to_utc` gives them (the sentinel as null), parent fields added."""
    converted = {name: to_utc(value) if name in DATETIME_FIELDS else value for name, value in record.items()}
    return converted | parents


def subscription_state_date(contact: dict[str, Any]) -> dict[str, Any]:
    """The contacts cursor: unsubscribeDate for Unsubscribed rows, else resubscribeDate or subscribeDate."""
    if contact["subscriptionState"] == "Unsubscribed":
        latest = contact["unsubscribeDate"]
    else:
        latest = contact.get("resubscribeDate") or contact["subscribeDate"]
    return {"subscriptionStateDate": to_utc(latest)}


ADDED_FIELDS = {"contacts": subscription_state_date}  # fields the connector derives from a stream's records


@dataclass(frozen=True)
class Parent:
    """One record of a parent stream as its children read it: the fields they inherit, what it is in the
    account (a list, a message, a link, a conversation, a series of sends), and whether its child routes
    answer (the list that answers 404 does not)."""

    fields: dict[str, Any]
    item: Any
    answers: bool = True


@dataclass(frozen=True)
class Partition:
    """What one request walk of a stream reads: its parent's fields and the rows its route serves (None:
    the route answers 404)."""

    parents: dict[str, Any]
    rows: Rows | None


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
      transactionalMessageId on transactional_message_activity; a stream with `records` in the stream
      table gets its parent's primary key (conversation_message_link_clickers: listId, conversationId,
      messageId, linkId); subscriptionStateDate (UTC) on contacts:
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
        self.account, self.activity, self.window = account, Activity(account), window
        self.include_tests, self.previous, self.field_ids = (
            include_test_messages,
            include_previous_versions,
            profile_field_ids,
        )
        self._parents: dict[str | None, Callable[[], Iterator[Parent]]] = {
            None: lambda: iter([Parent({}, None)]),
            "lists": self._lists,
            "segmentation_field_groups": self._field_groups,
            "messages": self._messages,
            "message_links": self._links,
            "conversations": self._conversations,
            "conversation_messages": self._conversation_messages,
            "transactional_messages": self._transactional_messages,
        }
        account, activity = self.account, self.activity
        # stream -> the rows its route serves for one parent item (and one value of the stream's split)
        self._rows: dict[str, Callable[[Any, str | None], Rows]] = {
            "lists": lambda _, __: Rows.of([account.list_record(plan) for plan in account.listed_plans()]),
            "campaigns": lambda plan, _: Rows.of(account.campaigns(plan)),
            "contacts": self._contacts,
            "segmentation_field_groups": lambda plan, _: Rows.of(account.field_groups(plan)),
            "segmentation_fields": lambda group, _: Rows.of(account.fields(*group)),
            "saved_audiences": lambda plan, _: Rows.of(account.saved_audiences(plan)),
            "events": lambda plan, _: Rows.of(account.events(plan)),
            "event_groups": lambda plan, _: Rows.of(account.event_groups(plan)),
            "messages": lambda plan, _: Rows.picked(self.messages(plan), account.message_record),
            "message_details": lambda message, _: Rows(1, lambda _: account.message_details(message)),
            "message_summary": lambda message, _: Rows(1, lambda _: activity.engagement(message).summary()),
            "message_links": lambda message, _: Rows.of(activity.link_records(message)),
            "message_link_clickers": self._clickers,
            "message_activity": lambda message, _: Rows(
                activity.row_count(message), lambda row: activity.record(message, row)
            ),
            "conversations": lambda plan, _: Rows.of(
                [account.conversation_record(plan, conversation) for conversation in account.conversation_ids(plan)]
            ),
            "conversation_summary": lambda conversation, _: Rows(
                1, lambda _: activity.conversation_engagement(*conversation).conversation_summary()
            ),
            "conversation_messages": lambda conversation, _: Rows.picked(
                account.conversation_messages(*conversation, self.previous), account.conversation_message_record
            ),
            "conversation_message_summary": lambda series, _: Rows(1, lambda _: activity.engagement(series).summary()),
            "conversation_message_activity": self._rows_in_window,
            "transactional_messages": lambda plan, _: Rows.of(
                [account.transactional_record(series) for series in account.transactional_series(plan)]
            ),
            "transactional_message_activity": self._rows_in_window,
        }

    def records(self, stream: str) -> list[dict[str, Any]]:
        added = ADDED_FIELDS.get(stream, lambda record: {})
        found = []
        for partition in self.partitions(stream):
            if partition.rows is None:
                continue
            for index in range(partition.rows.count):
                record = partition.rows.build(index)
                found.append(output(record, **partition.parents, **added(record)))
        return found

    def record_count(self, stream: str) -> int:
        """How many records `records(stream)` holds, without building them."""
        return sum(partition.rows.count for partition in self.partitions(stream) if partition.rows is not None)

    def partitions(self, stream: str) -> Iterator[Partition]:
        """Each walk of the stream's route: one per parent record and value of its split, in the read's order."""
        definition = stream_named(stream)
        rows_of = self._rows_of(stream)
        values: Sequence[str | None] = definition.split[1] if definition.split else (None,)
        for parent in self._parents_of(definition.parent):
            for value in values:
                yield Partition(parent.fields, rows_of(parent.item, value) if parent.answers else None)

    def _rows_of(self, stream: str) -> Callable[[Any, str | None], Rows]:
        """The rows function of a stream spelled out above, else the one its table entry's `records` give."""
        if stream in self._rows:
            return self._rows[stream]
        records = stream_named(stream).records
        assert records is not None, f"{stream}: neither rows here nor records in the stream table"
        return lambda item, _: Rows.of(records(self, item))

    def _parents_of(self, stream: str | None) -> Iterator[Parent]:
        """The records of a parent stream as its children read them: spelled out above, or (a stream with
        `records`) each of its records, with its parent's fields and its own primary key."""
        if stream in self._parents:
            yield from self._parents[stream]()
            return
        assert stream is not None
        definition = stream_named(stream)
        records = definition.records
        assert records is not None, f"{stream}: neither parents here nor records in the stream table"
        for parent in self._parents_of(definition.parent):
            if not parent.answers:
                continue
            for record in records(self, parent.item):
                own = {name: record[name] for name in definition.primary_key if name in record}
                yield Parent(parent.fields | own, (parent.item, record))

    # what the sync reads
    def plans(self) -> list[ListPlan]:
        return [plan for plan in self.account.listed_plans() if self.account.served_plan(plan.list_id)]

    def messages(self, plan: ListPlan) -> list[Message]:
        found = self.account.messages(plan, self.include_tests)
        return [m for m in found if self.window.admits(api_text(m.send))]

    def all_messages(self) -> Iterator[Message]:
        for plan in self.plans():
            yield from self.messages(plan)

    # the parent streams' records, as their children read them
    def _lists(self) -> Iterator[Parent]:
        for plan in self.account.listed_plans():
            yield Parent({"listId": plan.list_id}, plan, self.account.served_plan(plan.list_id) is not None)

    def _field_groups(self) -> Iterator[Parent]:
        for plan in self.plans():
            for group in range(len(plan.fields_per_group)):
                yield Parent({"listId": plan.list_id}, (plan, group))

    def _messages(self) -> Iterator[Parent]:
        for message in self.all_messages():
            yield Parent(self._message_fields(message), message)

    def _message_fields(self, message: Message) -> dict[str, Any]:
        return {
            "listId": message.plan.list_id,
            "messageId": message.message_id,
            "messageSendDate": to_utc(api_text(message.send)),
        }

    def _links(self) -> Iterator[Parent]:
        for message in self.all_messages():
            for link in range(message.links):
                link_id = self.account.link_id(message, link)
                yield Parent(self._message_fields(message) | {"linkId": link_id}, (message, link))

    def _conversations(self) -> Iterator[Parent]:
        for plan in self.plans():
            for conversation_id in self.account.conversation_ids(plan):
                yield Parent({"listId": plan.list_id, "conversationId": conversation_id}, (plan, conversation_id))

    def _conversation_messages(self) -> Iterator[Parent]:
        for conversation in self._conversations():
            for series in self.account.conversation_messages(*conversation.item, self.previous):
                yield Parent(conversation.fields | {"messageId": series.message_id}, series)

    def _transactional_messages(self) -> Iterator[Parent]:
        for plan in self.plans():
            for series in self.account.transactional_series(plan):
                yield Parent({"listId": plan.list_id, "transactionalMessageId": series.message_id}, series)

    # the rows that take more than a call
    def _contacts(self, plan: ListPlan, state: str | None) -> Rows:
        account = self.account
        chosen = [i for i in range(account.contact_count(plan)) if account.contact_state(plan, i).state == state]
        return Rows.picked(chosen, lambda index: account.contact_record(plan, index, self.field_ids))

    def _clickers(self, link: tuple[Message, int], _: str | None) -> Rows:
        message, index = link
        clicks = self.activity.engagement(message).clicks[index]
        return Rows.picked(clicks, lambda click: self.activity.clicker_record(message, click))

    def _rows_in_window(self, series: SendSeries, _: str | None) -> Rows:
        """The rows of a conversation's or transactional message's sends that were sent inside the window."""
        activity = self.activity
        rows = range(activity.row_count(series))
        chosen = [row for row in rows if self.window.admits(api_text(activity.recipient(series, row)[1]))]
        return Rows.picked(chosen, lambda row: activity.record(series, row))


class RequestModel:
    """Data requests one sync needs per stream (contract §3.6), for the engagement window of the oracle:

    each partition of the stream (`ExpectedOutput.partitions`) is one request if its route is unpaged or
    answers 404, else one per page (`page_size` rows a page, this emulator's paging quirks included; an
    empty collection still takes one request; SavedAudience pages at its own size, without quirks).
    Partitions come from the lists /List returns, the one that answers 404 included (its child requests
    are made and fail). Not counted: token requests, retries, and the parent pages a child stream reads
    again (the connector's `lists` read per child stream, for instance).
    """

    def __init__(self, oracle: ExpectedOutput, page_size: int, paging: Paging) -> None:
        self.oracle, self.page_size, self.paging = oracle, page_size, paging

    def requests(self, stream: str) -> int:
        envelope = stream_named(stream).route.envelope
        return sum(self._walk(partition.rows, envelope) for partition in self.oracle.partitions(stream))

    def _walk(self, rows: Rows | None, envelope: Envelope) -> int:
        if rows is None or not envelope.paged:
            return 1
        if envelope is Envelope.SAVED_AUDIENCE:
            return pages_needed(rows.count, self.paging.saved_audience_page_size, Paging())
        return pages_needed(rows.count, self.page_size, self.paging)
