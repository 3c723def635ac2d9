"""The JSON schemas of the Listrak Email API v1 streams (source_listrak/schemas/v1).

Every file is a Draft-07 object schema that keeps unknown fields, makes every field nullable and optional
except the stream's primary key (non-null and required), types dates as UTC ``date-time`` and money as
``number``; a representative record of every stream validates against its schema: a hand-written one
where it shows an edge case, else the emulator's fullest record of the stream.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft7Validator, FormatChecker

from listrak_emulators.email_v1 import EmailV1Emulator, Sizes
from listrak_testkit.catalogue import EMAIL_API_STREAMS

SCHEMAS = Path(__file__).resolve().parent.parent / "source_listrak" / "schemas" / "v1"

STREAMS = sorted(path.stem for path in SCHEMAS.glob("*.json"))


def primary_key(stream: str) -> list[str]:
    """The connector's primary key of ``stream``. A schema whose stream the connector does not read yet has
    no key but the one it requires; its key is checked once the stream is in the catalogue."""
    if stream in EMAIL_API_STREAMS:
        return list(EMAIL_API_STREAMS[stream].primary_key)
    return list(load(stream)["required"])


# Fields the connector adds to Listrak's records (the parent ids, the cursors, the read time).
MESSAGE_CHILDREN = ["message_details", "message_summary", "message_links", "message_link_clickers", "message_activity"]
ADDED_FIELDS: dict[str, set[str]] = {
    **{stream: {"listId"} for stream in STREAMS if stream != "lists"},
    **{stream: {"listId", "messageId", "messageSendDate"} for stream in MESSAGE_CHILDREN},
    "message_link_clickers": {"listId", "messageId", "messageSendDate", "linkId"},
    "contacts": {"listId", "subscriptionStateDate"},
    "conversation_summary": {"listId", "conversationId"},
    "conversation_messages": {"listId", "conversationId"},
    "conversation_message_summary": {"listId", "conversationId", "messageId"},
    "conversation_message_activity": {"listId", "conversationId", "messageId"},
    "transactional_message_activity": {"listId", "transactionalMessageId"},
}

ACTIVITY_STREAMS = ["message_activity", "conversation_message_activity", "transactional_message_activity"]
DATE_NAME = re.compile(r".*Date$|^lastModified$|^sync_timestamp$")
RFC3339_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")

# jsonschema checks "date-time" only when an optional package is installed; check it here, strictly.
FORMATS = FormatChecker()


@FORMATS.checks("date-time", raises=ValueError)
def _is_rfc3339(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not RFC3339_UTC.fullmatch(value):
        raise ValueError(f"{value!r} is not an RFC 3339 date-time with an offset")
    datetime.fromisoformat(value.replace("Z", "+00:00"))
    return True


def load(stream: str) -> dict[str, Any]:
    return json.loads((SCHEMAS / f"{stream}.json").read_text())


def walk(properties: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every property, nested ones included, as (dotted path, spec); array items show as ``name[]``."""
    for name, spec in properties.items():
        path = f"{prefix}{name}"
        yield path, spec
        if "properties" in spec:
            yield from walk(spec["properties"], f"{path}.")
        items = spec.get("items", {})
        if "properties" in items:
            yield from walk(items["properties"], f"{path}[].")


def types(spec: dict[str, Any]) -> list[str]:
    declared = spec["type"]
    return declared if isinstance(declared, list) else [declared]


SYNCED_AT = "2025-06-02T14:05:09.123456Z"
SENT = "2025-05-28T13:00:00Z"

SAMPLES: dict[str, dict[str, Any]] = {
    "lists": {
        "listId": 310001, "listName": "Main Newsletter", "folderId": 0, "ipPoolId": 12,
        "bounceDomainAlias": "", "bounceHandling": "Standard", "bounceUnsubscribeCount": 3,
        "createDate": "2015-08-31T20:02:41.65Z", "enableBrowserLink": True, "enableDoubleOptIn": False,
        "enableDynamicContent": True, "enableGoogleAnalytics": True, "enableInternationalization": False,
        "enableListHygiene": True, "enableListRemovalHeader": True, "enableListRemovalLink": True,
        "enableListrakAnalytics": True, "enableSpamScorePersonalization": False,
        "enableToNamePersonalization": False, "enableUniversalEmailKeySetting": None,
        "fromEmail": "news@example.com", "fromName": "Example Store", "googleTrackingDomains": ["example.com"],
        "linkDomainAlias": "links.example.com", "mediaDomainAlias": None, "sync_timestamp": SYNCED_AT,
    },
    "campaigns": {"listId": 310001, "campaignId": 42, "campaignName": "Spring Sale", "sync_timestamp": SYNCED_AT},
    "contacts": {
        "listId": 310001, "emailAddress": "ann@example.com", "emailKey": "E423056525030584442F94FD29",
        "universalEmailKey": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "subscriptionState": "Unsubscribed", "subscribeDate": "2018-12-14T19:31:55Z", "resubscribeDate": None,
        "subscribeMethod": "Administrator", "unsubscribeDate": "2019-01-14T17:44:40Z", "unsubscribeMethod": None,
        "externalContactID": "CRM-7781",
        "segmentationFieldValues": [{"segmentationFieldGroupId": 5, "segmentationFieldId": 77, "value": "Gold"}],
        "subscriptionStateDate": "2019-01-14T17:44:40Z", "sync_timestamp": SYNCED_AT,
    },
    "segmentation_field_groups": {
        "listId": 310001, "segmentationFieldGroupId": 5, "segmentationFieldGroupName": "Loyalty", "position": 1,
        "sync_timestamp": SYNCED_AT,
    },
    "segmentation_fields": {
        "listId": 310001, "segmentationFieldId": 77, "segmentationFieldName": "Tier", "segmentationFieldGroupId": 5,
        "dataType": "RadioButton", "maxLength": 50, "position": 2, "sync_timestamp": SYNCED_AT,
    },
    "saved_audiences": {
        "listId": 310001, "name": "Engaged 90 days", "lastModified": None, "savedAudienceId": 9_000_000_000_001,
        "sync_timestamp": SYNCED_AT,
    },
    "events": {
        "listId": 310001, "eventId": 11, "eventName": "Footer signup", "eventGroupId": 0, "status": "Active",
        "sync_timestamp": SYNCED_AT,
    },
    "event_groups": {"listId": 310001, "eventGroupId": 3, "eventGroupName": "Web forms", "sync_timestamp": SYNCED_AT},
    "messages": {
        "listId": 310001, "messageId": 555, "sendDate": SENT, "messageStatus": "Sent", "campaignId": 0,
        "externalCampaignId": "", "subject": "Spring is here", "sync_timestamp": SYNCED_AT,
    },
    "message_details": {
        "listId": 310001, "messageId": 555, "sendDate": SENT, "messageStatus": "Sent",
        "enableUniversalEmailKeySetting": False, "campaignId": 42, "bodyHtml": "<p>Hello</p>", "bodyText": "Hello",
        "codePage": 65001, "enablePassalong": False, "enableTracking": True, "externalCampaignId": "spring-25",
        "fromEmail": "news@example.com", "fromName": "Example Store", "googleAnalyticsCampaignName": "spring",
        "googleAnalyticsCampaignContent": None, "replyEmail": "reply@example.com", "savedAudienceId": 0,
        "segmentsApplied": {"includedSegments": ["VIP", "Gold tier"], "excludedSegments": []},
        "subject": "Spring is here", "toName": None, "messageSendDate": SENT, "sync_timestamp": SYNCED_AT,
    },
    "message_summary": {
        "listId": 310001, "messageId": 555, "averageOrderValue": 61.25, "bounceCount": 12, "clickCount": 340,
        "conversionCount": 8, "openCount": 2100, "passAlongCount": 0, "readCount": 1900, "revenue": 490.0,
        "sentCount": 10000, "unsubscribeCount": 4, "visitCount": 310, "messageSendDate": SENT,
        "sync_timestamp": SYNCED_AT,
    },
    "message_links": {
        "listId": 310001, "messageId": 555, "linkId": 9001, "linkDescription": "Shop now",
        "linkUrl": "https://example.com/shop", "clickCount": 120, "messageSendDate": SENT, "sync_timestamp": SYNCED_AT,
    },
    "message_link_clickers": {
        "listId": 310001, "messageId": 555, "linkId": 9001, "emailAddress": "ann@example.com",
        "clickDate": "2025-05-28T15:12:03.5Z", "messageSendDate": SENT, "sync_timestamp": SYNCED_AT,
    },
    "message_activity": {
        "listId": 310001, "messageId": 555, "abuse": False, "activityDate": "2025-05-28T14:01:00Z", "bounce": False,
        "bounceReason": None, "click": True, "clickCount": 3, "emailAddress": "ann@example.com", "open": True,
        "orderTotal": 129.99, "read": True, "sendDate": SENT, "unsubscribe": False, "visitDate": None,
        "externalContactID": None, "messageSendDate": SENT, "sync_timestamp": SYNCED_AT,
    },
    "conversations": {
        "listId": 310001, "conversationId": 77, "conversationName": "Welcome series", "campaignId": 0,
        "expirationDate": None, "status": "Active", "sync_timestamp": SYNCED_AT,
    },
    "conversation_summary": {
        "listId": 310001, "conversationId": 77, "averageOrderValue": 0, "bounceCount": 1, "clickCount": 30,
        "conversionCount": 0, "deliveredCount": 480, "openCount": 200, "readCount": 150, "revenue": 0.0,
        "sentCount": 500, "unsubscribeCount": 2, "visitCount": 25, "sync_timestamp": SYNCED_AT,
    },
    "conversation_messages": {
        "listId": 310001, "conversationId": 77, "messageId": 881, "sendDate": None, "messageStatus": "Sent",
        "campaignId": 42, "externalCampaignId": None, "subject": "Welcome!", "sync_timestamp": SYNCED_AT,
    },
    "conversation_message_summary": {
        "listId": 310001, "conversationId": 77, "messageId": 881, "averageOrderValue": 55.5, "bounceCount": 0,
        "clickCount": 10, "conversionCount": 1, "openCount": 60, "passAlongCount": None, "readCount": 50,
        "revenue": 55.5, "sentCount": 100, "unsubscribeCount": 0, "visitCount": 9, "sync_timestamp": SYNCED_AT,
    },
    "conversation_message_activity": {
        "listId": 310001, "conversationId": 77, "messageId": 881, "abuse": False, "activityDate": None,
        "bounce": True, "bounceReason": "Mailbox full", "click": False, "clickCount": 0,
        "emailAddress": "bob@example.com", "open": False, "orderTotal": 0.0, "read": False,
        "sendDate": "2025-05-30T09:00:00Z", "unsubscribe": False, "visitDate": None, "externalContactID": "CRM-1",
        "sync_timestamp": SYNCED_AT,
    },
    "transactional_messages": {
        "listId": 310001, "transactionalMessageId": 64, "transactionalMessageName": "Order confirmation",
        "campaignId": 0, "externalCampaignId": "", "subject": "Thanks for your order", "sync_timestamp": SYNCED_AT,
    },
    "transactional_message_activity": {
        "listId": 310001, "transactionalMessageId": 64, "abuse": False, "activityDate": "2025-05-31T10:02:00Z",
        "bounce": False, "bounceReason": None, "click": False, "clickCount": 0, "emailAddress": "ann@example.com",
        "open": True, "orderTotal": 129.99, "read": True, "sendDate": "2025-05-31T10:00:00Z", "unsubscribe": False,
        "visitDate": None, "externalContactID": None, "resendKey": "a1b2c3", "sync_timestamp": SYNCED_AT,
    },
}



@functools.cache
def sample(stream: str) -> dict[str, Any]:
    """The stream's hand-written sample, else the emulated record of it with the most non-null fields (of
    those without a field Listrak may add later)."""
    if stream in SAMPLES:
        return SAMPLES[stream]
    emulator = EmailV1Emulator(seed=5, now=datetime(2026, 3, 1, 17, tzinfo=UTC), sizes=Sizes(contacts_per_list=40))
    declared = set(load(stream)["properties"])
    records = [record for record in emulator.expected_records(stream) if set(record) <= declared]
    assert records, f"the emulator has no record of {stream} with declared fields only"
    fullest = max(records, key=lambda record: sum(value is not None for value in record.values()))
    return fullest | {"sync_timestamp": SYNCED_AT}


def test_the_v1_schema_directory_holds_the_schema_of_every_email_api_stream_and_no_other() -> None:
    for stream in EMAIL_API_STREAMS.values():
        assert stream.schema_path == f"schemas/v1/{stream.name}.json", stream
    assert sorted(EMAIL_API_STREAMS) == STREAMS
    assert set(SAMPLES) <= set(STREAMS)


@pytest.mark.parametrize("stream", STREAMS)
def test_the_schema_is_a_valid_draft_07_object_schema_that_keeps_unknown_fields(stream: str) -> None:
    schema = load(stream)

    Draft7Validator.check_schema(schema)
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is True
    for path, spec in walk(schema["properties"]):
        assert "type" in spec, path
        if "object" in types(spec):
            assert spec["additionalProperties"] is True, path
        if "array" in types(spec) and "object" in types(spec["items"]):
            assert spec["items"]["additionalProperties"] is True, path


@pytest.mark.parametrize("stream", STREAMS)
def test_the_stream_is_described_for_users(stream: str) -> None:
    description = load(stream)["description"]

    assert "Listrak" in description and len(description) > 40
    assert not re.search(r"seed|\.json|\.py\b|swagger|contract", description, re.IGNORECASE)


@pytest.mark.parametrize("stream", STREAMS)
def test_the_primary_key_is_required_and_not_null(stream: str) -> None:
    schema = load(stream)
    key = primary_key(stream)

    assert schema["required"] == key
    for field in key:
        assert field in schema["properties"], field
        assert "null" not in types(schema["properties"][field]), field


@pytest.mark.parametrize("stream", STREAMS)
def test_every_other_field_allows_null(stream: str) -> None:
    schema = load(stream)
    key = set(primary_key(stream))

    for path, spec in walk(schema["properties"]):
        if path in key or path == "sync_timestamp":
            continue
        assert "null" in types(spec), path
        assert not spec.get("required"), path


@pytest.mark.parametrize("stream", STREAMS)
def test_the_connector_added_fields_are_declared(stream: str) -> None:
    properties = load(stream)["properties"]

    for field in ADDED_FIELDS.get(stream, set()):
        assert field in properties, field
    for field in ("listId", "messageId", "conversationId", "transactionalMessageId", "linkId"):
        if field in properties:
            assert "integer" in types(properties[field]), field
    assert properties["sync_timestamp"] == {
        "type": "string",
        "format": "date-time",
        "airbyte_type": "timestamp_with_timezone",
        "description": "When the connector read the record (UTC).",
    }


@pytest.mark.parametrize("stream", STREAMS)
def test_every_date_field_is_a_utc_date_time(stream: str) -> None:
    schema = load(stream)

    dates = {path for path, spec in walk(schema["properties"]) if DATE_NAME.match(path.rsplit(".", 1)[-1])}
    formatted = {path for path, spec in walk(schema["properties"]) if spec.get("format") == "date-time"}
    assert dates == formatted
    for path, spec in walk(schema["properties"]):
        if path in formatted:
            assert "string" in types(spec), path
            assert spec["airbyte_type"] == "timestamp_with_timezone", path


@pytest.mark.parametrize("stream", ACTIVITY_STREAMS)
def test_order_total_is_a_number_and_first_activity_is_explained(stream: str) -> None:
    properties = load(stream)["properties"]

    assert types(properties["orderTotal"]) == ["null", "number"]
    assert "FIRST" in properties["activityDate"]["description"]
    assert "deprecated" in properties["visitDate"]["description"].lower()


def test_money_is_a_number_and_counts_are_integers_wherever_they_appear() -> None:
    for stream in STREAMS:
        for path, spec in walk(load(stream)["properties"]):
            name = path.rsplit(".", 1)[-1]
            if name in {"orderTotal", "revenue", "averageOrderValue"}:
                assert types(spec) == ["null", "number"], (stream, path)
            if name.endswith("Count") or (name.endswith("Id") and not name.startswith("external")):
                assert "integer" in types(spec), (stream, path)
            if name.startswith("external"):
                assert types(spec) == ["null", "string"], (stream, path)


@pytest.mark.parametrize(
    ("stream", "field"),
    [("lists", "folderId"), ("messages", "campaignId"), ("events", "eventGroupId"),
     ("message_details", "savedAudienceId"), ("conversations", "campaignId"), ("transactional_messages", "campaignId")],
)
def test_a_zero_foreign_key_is_documented_as_none(stream: str, field: str) -> None:
    assert "0 means none" in load(stream)["properties"][field]["description"]


def test_events_are_documented_as_definitions_not_engagement() -> None:
    for stream in ("events", "event_groups"):
        assert "not email engagement" in load(stream)["description"]


def test_nested_objects_are_resolved() -> None:
    contact_values = load("contacts")["properties"]["segmentationFieldValues"]
    assert types(contact_values) == ["null", "array"]
    assert set(contact_values["items"]["properties"]) == {"segmentationFieldGroupId", "segmentationFieldId", "value"}

    segments = load("message_details")["properties"]["segmentsApplied"]
    assert types(segments) == ["null", "object"]
    for field in ("includedSegments", "excludedSegments"):
        assert types(segments["properties"][field]) == ["null", "array"]
        assert segments["properties"][field]["items"] == {"type": "string"}


def validator(stream: str) -> Draft7Validator:
    return Draft7Validator(load(stream), format_checker=FORMATS)


def problems(stream: str, record: dict[str, Any]) -> list[str]:
    return [f"{'/'.join(map(str, error.path))}: {error.message}" for error in validator(stream).iter_errors(record)]


@pytest.mark.parametrize("stream", STREAMS)
def test_a_representative_record_validates(stream: str) -> None:
    record = sample(stream)

    assert not problems(stream, record)
    assert set(record) <= set(load(stream)["properties"]), "the sample should exercise declared fields only"


@pytest.mark.parametrize("stream", STREAMS)
def test_a_record_with_every_other_field_null_or_absent_validates(stream: str) -> None:
    key = set(primary_key(stream)) | {"sync_timestamp"}
    nulls = {field: (value if field in key else None) for field, value in sample(stream).items()}
    minimal = {field: value for field, value in sample(stream).items() if field in key}

    assert not problems(stream, nulls)
    assert not problems(stream, minimal)
    assert not problems(stream, {**minimal, "aFieldListrakAddsLater": {"any": ["shape"]}})


@pytest.mark.parametrize("stream", STREAMS)
def test_a_record_without_or_with_a_null_key_field_is_rejected(stream: str) -> None:
    for field in primary_key(stream):
        missing = {name: value for name, value in sample(stream).items() if name != field}
        assert problems(stream, missing), (field, "missing")
        assert problems(stream, {**sample(stream), field: None}), (field, "null")


def test_wrongly_typed_values_are_rejected() -> None:
    activity = copy.deepcopy(SAMPLES["message_activity"])
    assert problems("message_activity", {**activity, "orderTotal": "129.99"})
    assert problems("message_activity", {**activity, "clickCount": 1.5})
    assert problems("message_activity", {**activity, "activityDate": "2025-05-28T14:01:00"}), "a naive date"
    assert problems("message_activity", {**activity, "open": "true"})
    contact = copy.deepcopy(SAMPLES["contacts"])
    contact["segmentationFieldValues"][0]["segmentationFieldId"] = "77"
    assert problems("contacts", contact)
    details = copy.deepcopy(SAMPLES["message_details"])
    details["segmentsApplied"]["includedSegments"] = [{"name": "VIP"}]
    assert problems("message_details", details)
