"""The plan of the emulated account: how big it is (`Sizes`), its lists and how many of each thing each
holds, the identities of its messages and series of sends, the overlays that mutations write, and the
seeded draws every generated record is made from (so each record is a pure function of the seed and
its place: millions of rows cost no memory).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from listrak_emulators.email_v1.eastern_time import TICKS, fraction_ticks
from listrak_emulators.http import stable_hash

LIST_SHAPES = ("large", "small", "empty")
LIST_ID_BASE = 300_001
MESSAGE_ID_BLOCK = 1_000_000  # message ids: (list index + 1) * block + index in the list
LINK_SLOTS = 64  # link ids: message id * slots + link index
WORDS = ("spring", "été", "weekly", "vip", "outlet", "rewards", "launch", "digest", "holiday", "flash")
EXTRA_FIELD = {"newFieldFrom2027": "x"}  # an unknown field, on a few records


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


class Draws:
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
class SendSeries:
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
class Overlays:
    """What the mutations changed; the generated data stays a pure function of (seed, index)."""

    contacts: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (list, contact) -> changes
    added_contacts: dict[int, list[ContactState]] = field(default_factory=dict)  # list -> new contacts
    sent: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # list -> (send UTC ticks, recipients)
    engaged: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)  # (message, row) -> changes
    clicks: dict[tuple[int, int], list[tuple[int, int]]] = field(default_factory=dict)  # (message, row) -> clicks
    transactional: dict[int, list[tuple[int, int]]] = field(default_factory=dict)  # message -> (contact, utc)
    deleted: set[int] = field(default_factory=set)  # list indexes
