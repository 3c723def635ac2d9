"""What the recipients of each send did: one activity row per recipient of a broadcast message, or per
send of a conversation or transactional message; the engagement totals that summaries and links report,
added up from those same rows; the clickers of each link.

Shaped like real engagement: opens decay after the send (most within the first day, a long tail of
late ones), clicks come soon after the open and mostly on a few popular links of each message.

Every row is a pure function of (seed, send, row) plus the overlays `engage` and `add_clicks` write,
seen as of the account's clock: engagement drawn for later than `now` has not happened yet.
"""

from __future__ import annotations

import bisect
import functools
import itertools
from dataclasses import dataclass, field
from typing import Any

from listrak_emulators.email_v1.account import Account
from listrak_emulators.email_v1.eastern_time import SENTINEL, TICKS, api_text
from listrak_emulators.email_v1.plan import EXTRA_FIELD, WORDS, Draws, ListPlan, Message, SendSeries
from listrak_emulators.http import stable_hash

BOUNCE_REASONS = ("Mailbox does not exist", "Mailbox full", "Blocked by recipient server")
ACTIVITY_TYPES = ("Open", "Read", "Click", "Bounce", "Unsubscribe", "Abuse")
SERIES_LINKS = 10  # a conversation's or transactional message's links (the Link routes list a conversation's)
Source = Message | SendSeries
# The name each row's draws start with ("Stream" was SendSeries' name: kept, so that a seed keeps its data).
DRAW_NAMES = {Message: "Message", SendSeries: "Stream"}


# When recipients act (seconds): see decaying_seconds. Opens after the send: half within 2.5 hours, 90% within
# a day, 99% within ten days. Clicks after the open: half within 3 minutes, 90% within half an hour.
OPEN_DELAY_SCALE, LONGEST_OPEN_DELAY = 9000, 30 * 86_400
CLICK_DELAY_SCALE, LONGEST_CLICK_DELAY = 180, 7 * 86_400
LINK_POPULARITY = 1.5  # Zipf's exponent: of 10 links, the most popular takes half the clicks, the top 3 four fifths
DELAY_STEPS, RANK_STEPS = 1 << 16, 1 << 10  # as few bits of the row's draws as will do: each hash holds 64


def links_of(source: Source) -> int:
    return source.links if isinstance(source, Message) else SERIES_LINKS


def decaying_seconds(draws: Draws, scale: int, longest: int) -> int:
    """A delay that decays hyperbolically: P(delay <= t) = t / (t + scale), so half within `scale`, 90%
    within 9 scales, 99% within 99 (a long tail, cut at `longest`)."""
    share = (1 + draws.below(DELAY_STEPS)) / DELAY_STEPS  # in (0, 1]
    return min(longest, int(scale * (1 / share - 1)))


@functools.cache  # one entry per number of links a message can have (at most LINK_SLOTS)
def _popularity(links: int) -> tuple[float, ...]:
    """The cumulative shares of the clicks on a message's links, most popular first (Zipf)."""
    weights = [1 / (rank + 1) ** LINK_POPULARITY for rank in range(links)]
    total = sum(weights)
    return tuple(itertools.accumulate(weight / total for weight in weights))


def popular_link(draws: Draws, links: int, most_popular: int) -> int:
    """A clicked link: its popularity rank drawn by Zipf's law, ranks counted on from the message's most
    popular link."""
    rank = bisect.bisect_right(_popularity(links), draws.below(RANK_STEPS) / RANK_STEPS)
    return (most_popular + min(rank, links - 1)) % links


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

    def has(self, activity_type: str) -> bool:
        """Whether the row has an activity of `activity_type` (one of ACTIVITY_TYPES)."""
        return {
            "Open": self.opened,
            "Read": self.read,
            "Click": bool(self.clicks),
            "Bounce": self.bounced,
            "Unsubscribe": self.unsubscribed,
            "Abuse": self.abuse,
        }[activity_type]


class Activity:
    """What the recipients of an account's sends did."""

    def __init__(self, account: Account) -> None:
        self.account = account

    def row_count(self, source: Source) -> int:
        """Activity rows of a send: a broadcast's recipients once it is sent; a series' sends."""
        if isinstance(source, Message):
            return source.recipients if self.account.is_sent(source) else 0
        return source.rows + len(self.account.overlays.transactional.get(source.message_id, ()))

    def recipient(self, source: Source, row: int) -> tuple[int, int]:
        """(contact index, send instant) of one row: a broadcast reaches each address once, a series repeats."""
        account = self.account
        if isinstance(source, Message):
            reach = max(source.plan.contacts, source.recipients)
            return (row + stable_hash(account.seed, "shift", source.message_id) % reach) % reach, source.send or 0
        if row >= source.rows:
            added = account.overlays.transactional[source.message_id][row - source.rows][0]
            return added, account.series_send(source, row)
        return stable_hash(account.seed, "who", source.message_id, row) % source.pool, account.series_send(source, row)

    def facts(self, source: Source, row: int) -> ActivityFacts:
        """The row's engagement as of `now`, overlays applied."""
        contact, send = self.recipient(source, row)
        draws = Draws(self.account.seed, "activity", DRAW_NAMES[type(source)], source.message_id, row)
        facts = self._drawn_facts(draws, ActivityFacts(row, contact, send), source)
        if isinstance(source, Message):
            overlays = self.account.overlays
            for name, value in overlays.engaged.get((source.message_id, row), {}).items():
                setattr(facts, name, value)
            facts.clicks = facts.clicks + overlays.clicks.get((source.message_id, row), [])
        return self._as_of_now(facts)

    def _drawn_facts(self, draws: Draws, facts: ActivityFacts, source: Source) -> ActivityFacts:
        """About 1% bounce; 20% open (80% of them read), most soon after the send and a long tail; 5% click 1-4
        times, soon after opening, mostly on the message's few popular links; 30% of clickers buy (a fractional
        orderTotal); 0.2% unsubscribe; 0.05% complain. activityDate is the first activity."""
        kind = draws.below(100_000)
        if kind < 1000:
            facts.bounced, facts.activity = True, draws.stamp(facts.send + (5 + draws.below(600)) * TICKS)
        elif kind < 21_000:
            facts.opened, facts.read = True, draws.chance(0.8)
            opened = 60 + decaying_seconds(draws, OPEN_DELAY_SCALE, LONGEST_OPEN_DELAY)
            facts.activity = draws.stamp(facts.send + opened * TICKS)
            if kind < 6000:
                links = links_of(source)
                most_popular = (source.message_id + self.account.seed) * 2_654_435_761 % links  # varies by message
                moments = sorted(
                    decaying_seconds(draws, CLICK_DELAY_SCALE, LONGEST_CLICK_DELAY) for _ in range(1 + draws.below(4))
                )
                facts.clicks = [
                    (popular_link(draws, links, most_popular), facts.activity + (30 + moment) * TICKS)
                    for moment in moments
                ]
                facts.order_total = round((100 + draws.below(50_000)) / 100, 2) if draws.chance(0.3) else 0.0
            facts.unsubscribed, facts.abuse = draws.chance(0.01), draws.chance(0.0025)
        facts.extra = draws.below(100) == 0
        return facts

    def _as_of_now(self, facts: ActivityFacts) -> ActivityFacts:
        """Engagement drawn for after `now` has not happened yet."""
        now = self.account.now
        if facts.activity is not None and facts.activity > now:
            return ActivityFacts(facts.row, facts.contact, facts.send, extra=facts.extra)
        facts.clicks = [click for click in facts.clicks if click[1] <= now]
        return facts

    def record(self, source: Source, row: int) -> dict[str, Any]:
        """The row as the Activity routes serve it (MessageActivity; transactional rows with a resendKey)."""
        facts, account = self.facts(source, row), self.account
        record = {
            "abuse": facts.abuse,
            "activityDate": api_text(facts.activity),
            "bounce": facts.bounced,
            "bounceReason": BOUNCE_REASONS[row % len(BOUNCE_REASONS)] if facts.bounced else None,
            "click": bool(facts.clicks),
            "clickCount": len(facts.clicks),
            "emailAddress": account.email(facts.contact),
            "open": facts.opened,
            "orderTotal": facts.order_total,
            "read": facts.read,
            "sendDate": api_text(facts.send),
            "unsubscribe": facts.unsubscribed,
            "visitDate": None,
            "externalContactID": account.external_id(source.plan, facts.contact),
        }
        if isinstance(source, SendSeries) and source.kind == "transactional":
            record["resendKey"] = f"{stable_hash(account.seed, 'resend', source.message_id, row):016x}{row:08x}"
        return record | EXTRA_FIELD if facts.extra else record

    def engagement(self, source: Source) -> Engagement:
        """Totals over every row of the send, and the clicks on each link (cached per clock and version)."""
        key = ("engagement", DRAW_NAMES[type(source)], source.message_id, self.account.now)
        return self.account.cached(key, lambda: Engagement.of(self, source))

    def conversation_engagement(self, plan: ListPlan, conversation_id: int) -> Engagement:
        """Every version of every message of the conversation, added up."""
        total = Engagement()
        for series in self.account.conversation_messages(plan, conversation_id, previous=True):
            total = total.merged(self.engagement(series))
        return total

    def clicker_record(self, source: Source, click: tuple[int, int]) -> dict[str, Any]:
        row, moment = click
        return {"emailAddress": self.account.email(self.recipient(source, row)[0]), "clickDate": api_text(moment)}

    def clicker_records(self, source: Source, link: dict[str, Any]) -> list[dict[str, Any]]:
        """One record per click on one of `link_records(source)`, in the order of the rows."""
        clicks = self.engagement(source).clicks[link["linkId"] - self.account.link_id(source, 0)]
        return [self.clicker_record(source, click) for click in clicks]

    def row_of(self, message: Message, email: str) -> int:
        """The activity row of a recipient of a broadcast message."""
        reach = max(message.plan.contacts, message.recipients)
        contact = self.account.address_index(email)
        row = (contact or 0) - stable_hash(self.account.seed, "shift", message.message_id) % reach
        if contact is None or contact >= reach or row % reach >= self.row_count(message):
            raise ValueError(f"{email!r} did not receive message {message.message_id}")
        return row % reach

    def message_status(self, message: Message) -> dict[str, Any]:
        """MessageStatus; an unsent message has the sentinel for both dates, a sent one sometimes for endDate."""
        sent = self.account.is_sent(message)
        end = SENTINEL if not sent or message.index % 4 == 0 else api_text((message.send or 0) + 1800 * TICKS)
        return {
            "sendCount": self.row_count(message),
            "startDate": api_text(message.send) if sent else SENTINEL,
            "endDate": end,
            "status": "Completed" if sent else "Scheduled",
            "type": "Broadcast",
        }

    def link_records(self, source: Source) -> list[dict[str, Any]]:
        """The links of a broadcast or conversation message, each with the clicks on it."""
        clicks = self.engagement(source).clicks
        return [
            {
                "linkId": self.account.link_id(source, index),
                "linkDescription": f"{WORDS[index % len(WORDS)]} link",
                "linkUrl": f"https://shop.example.com/{source.message_id}/{index}?utm_source=listrak&q=a%20b",
                "clickCount": len(clicks[index]),
            }
            for index in range(links_of(source))
        ]


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
    def of(cls, activity: Activity, source: Source) -> Engagement:
        totals = cls(clicks=[[] for _ in range(links_of(source))])
        for row in range(activity.row_count(source)):
            totals.add(activity.facts(source, row))
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
