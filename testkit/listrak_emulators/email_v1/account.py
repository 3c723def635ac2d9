"""The emulated account's records: lists and their metadata, contacts, messages, conversations and
transactional messages, each a pure function of (seed, list, index) plus the overlays the mutations
write. What recipients did with each send (activity, summaries, links, clickers) is `activity.Activity`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

from listrak_emulators.email_v1.eastern_time import (
    DAY,
    SENTINEL,
    TICKS,
    api_text,
    fall_back_instants,
    fraction_ticks,
    spring_forward_instants,
    utc_ticks,
)
from listrak_emulators.email_v1.plan import (
    EXTRA_FIELD,
    LINK_SLOTS,
    LIST_ID_BASE,
    MESSAGE_ID_BLOCK,
    WORDS,
    ContactState,
    Draws,
    ListPlan,
    Message,
    Overlays,
    SendSeries,
    Sizes,
    list_plans,
)
from listrak_emulators.http import stable_hash

DATA_TYPES = ("Text", "Numeric", "RadioButton", "CheckBox", "CommentArea", "Date", "ContentBlock")
DOMAINS = ("example.com", "example.org", "mail.example.net", "example.co.uk")
SUBSCRIBE_METHODS = ("Administrator", None, "Import", "Web", "Administrator")
UNSUBSCRIBE_METHODS = ("Administrator", None, "Link", "Complaint")
NAMES = ("ana", "liam", "zoe", "soren", "mia", "jose", "aiko", "dmitri", "renee", "lukasz")
_EMAIL_INDEX = re.compile(r"\.(\d+)@")


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
        draws = Draws(self.seed, "list", plan.index)
        created = draws.stamp(self.history_start - (30 + draws.below(3000)) * DAY)
        record: dict[str, Any] = {
            "listId": plan.list_id,
            "listName": f"{('Newsletter', 'Promotions', 'Quiet list', 'Archive')[min(plan.index, 3)]} {plan.index + 1}",
            "folderId": 0 if plan.index % 2 == 0 else 100 + draws.below(10),
            "ipPoolId": 1 + draws.below(3),
            "bounceDomainAlias": "",
            "bounceHandling": draws.pick(("None", "Standard", "Aggressive")),
            "bounceUnsubscribeCount": 3,
            "createDate": SENTINEL if plan.shape == "small" else api_text(created),
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
            draws = Draws(self.seed, "campaign", plan.index, index)
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
            draws = Draws(self.seed, "audience", plan.index, index)
            modified = SENTINEL if index % 3 == 0 else api_text(draws.stamp(self.anchor - draws.below(300) * DAY))
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
            draws = Draws(self.seed, "email", index)
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
        draws = Draws(self.seed, "contact", plan.index, index)
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
        draws = Draws(self.seed, "profile", plan.index, index, field_index)
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
        record |= {"subscriptionState": contact.state, "subscribeDate": api_text(contact.subscribe)}
        if not contact.old:
            record["resubscribeDate"] = api_text(contact.resubscribe)
        record |= {
            "subscribeMethod": contact.subscribe_method,
            "unsubscribeDate": api_text(contact.unsubscribe),
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
        draws = Draws(self.seed, "send", plan.index, index)
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
        draws = Draws(self.seed, "message", message.message_id)
        campaign = (
            0
            if draws.chance(0.2) or not message.plan.campaigns
            else self.campaign_id(message.plan, draws.below(message.plan.campaigns))
        )
        record = {
            "messageId": message.message_id,
            "sendDate": api_text(message.send),
            "messageStatus": "Scheduled" if message.send is not None and not self.is_sent(message) else "Sent",
            "campaignId": campaign,
            "externalCampaignId": f"EXT-CMP-{campaign}" if campaign and draws.chance(0.5) else None,
            "subject": f"{'[TEST] ' if message.test else ''}{draws.pick(WORDS).title()} – issue {message.index + 1} ✉",
        }
        return record | EXTRA_FIELD if message.index == 7 else record

    def message_details(self, message: Message) -> dict[str, Any]:
        """MessageExtendedSegmentsApplied; one message's bodyHtml is about 50 KB."""
        base, draws = self.message_record(message), Draws(self.seed, "details", message.message_id)
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

    def link_id(self, message: Message | SendSeries, index: int) -> int:
        return message.message_id * LINK_SLOTS + index

    # conversations and transactional messages: series of sends with their own dates
    def conversation_ids(self, plan: ListPlan) -> list[int]:
        return [50_000 + plan.index * 10 + index for index in range(plan.conversations)]

    def conversation_record(self, plan: ListPlan, conversation_id: int) -> dict[str, Any]:
        index, draws = conversation_id % 10, Draws(self.seed, "conversation", conversation_id)
        expires = None if index == 0 else api_text(draws.stamp(self.anchor + 200 * DAY))
        campaign = self.campaign_id(plan, index % max(1, plan.campaigns)) if plan.campaigns else 0
        return {
            "conversationId": conversation_id,
            "conversationName": ("Welcome series", "Win-back")[index % 2],
            "campaignId": campaign,
            "expirationDate": expires,
            "status": "Active" if index == 0 else "Inactive",
        }

    def conversation_messages(self, plan: ListPlan, conversation_id: int, previous: bool) -> list[SendSeries]:
        """Three messages; the third is a replaced version, listed only with includePreviousVersions=true."""
        base = 8_000_000 + plan.index * 1000 + (conversation_id % 10) * 10
        middle = self.history_start + (self.anchor - self.history_start) // 2
        versions = [
            SendSeries(
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
        return versions if previous else versions[:2]

    def conversation_message_record(self, series: SendSeries) -> dict[str, Any]:
        draws = Draws(self.seed, "conversation-message", series.message_id)
        return {
            "messageId": series.message_id,
            "sendDate": api_text(self.series_send(series, 0)),
            "messageStatus": "Sent",
            "campaignId": 0,
            "externalCampaignId": None,
            "subject": f"{draws.pick(WORDS).title()} step {series.message_id % 10 + 1}",
        }

    def transactional_series(self, plan: ListPlan) -> list[SendSeries]:
        ids = [60_000 + plan.index * 10 + index for index in range(plan.transactional)]
        return [
            SendSeries(
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

    def transactional_record(self, series: SendSeries) -> dict[str, Any]:
        index = series.message_id % 10
        return {
            "transactionalMessageId": series.message_id,
            "transactionalMessageName": ("Order confirmation", "Shipping notice")[index % 2],
            "campaignId": 0,
            "externalCampaignId": None,
            "subject": f"Your order #{index} – merci",
        }

    # split tests (A/B tests), drawn apart from everything else: adding them changed no other record
    def split_tests(self, plan: ListPlan) -> list[dict[str, Any]]:
        """Three on a large list, one on a small one, none on an empty one. The first has not started (the
        sentinel for both dates), the last is still running (the sentinel for endDate), the rest finished."""
        count = 0 if not plan.messages else 1 if plan.shape == "small" else 3

        def split_test(index: int) -> dict[str, Any]:
            draws = Draws(self.seed, "split-test", plan.index, index)
            start = draws.stamp(self.anchor - (10 + draws.below(300)) * DAY)
            started, running = index > 0 or count == 1, index == count - 1
            return {
                "splitTestId": 20_000 + plan.index * 100 + index,
                "splitTestName": f"{draws.pick(WORDS).title()} test {index + 1}",
                "startDate": api_text(start) if started else SENTINEL,
                "endDate": SENTINEL if running or not started else api_text(start + (1 + draws.below(3)) * DAY),
                "status": "Running" if running and started else "Completed" if started else "Draft",
                "testCriteria": draws.pick(("Subject", "FromName", "Content")),
                "testType": draws.pick(("SendWinnerToRemainder", "NoRemainder")),
                "winnerMetric": draws.pick(("Opens", "Clicks", "Conversions")),
            }

        return [split_test(index) for index in range(count)]

    def split_test_messages(self, plan: ListPlan, split_test: dict[str, Any]) -> list[dict[str, Any]]:
        """Groups A and B, and the remainder's winner when the test sends one."""
        split_test_id = split_test["splitTestId"]
        draws = Draws(self.seed, "split-test-messages", split_test_id)
        groups = ["A", "B"] + (["Remainder"] if split_test["testType"] == "SendWinnerToRemainder" else [])
        sent = {"Completed": ("A", "B", "Remainder"), "Running": ("A", "B")}.get(split_test["status"], ())
        return [
            {
                "messageId": split_test_id * 10 + index,
                "messageStatus": "Sent" if name in sent else "Scheduled",
                "messageType": "Winner" if name == "Remainder" else "Test",
                "groupName": name,
                "segmentSize": (plan.contacts // 10 if name != "Remainder" else plan.contacts // 2) + draws.below(5),
            }
            for index, name in enumerate(groups)
        ]

    def series_send(self, series: SendSeries, row: int) -> int:
        """The send instant of row `row`: strictly increasing with the row, so (address, sendDate) is unique."""
        if row >= series.rows:
            return self.overlays.transactional[series.message_id][row - series.rows][1]
        step = max(TICKS, (series.end - series.start) // max(1, series.rows))
        draws = Draws(self.seed, "stream-send", series.message_id, row)
        return series.start + row * step + draws.below(max(1, step // TICKS - 1)) * TICKS + fraction_ticks(row)
