"""The contract of the Fivetran Connector SDK's Listrak example: its streams and paths, and what a
connector must make of each record (`expected_output`), computed here from the API records and the
contract's mapping, independently of the connector."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

# ---------------------------------------------------------------- the contract's names

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
WINDOWED = {  # path and stream -> (records key, window start param, window end param, API cursor field)
    "contacts": ("contacts", "updatedAfter", "updatedBefore", "updatedDate"),
    "campaigns": ("campaigns", "sendDateAfter", "sendDateBefore", "sendDate"),
    "events": ("events", "timestampAfter", "timestampBefore", "timestamp"),
}
HAL_PATHS = {"custom-fields": "custom_fields", "interests": "interests", "segments": "segments"}
HAL_STREAMS = ("custom_fields", "interests", "segments", "sources")
RENAMES = {  # stream -> [(API field, output column)], in output order
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
WEBHOOK_EVENTS = ["contact.created", "contact.updated", "contact.unsubscribed", "event.open", "event.click"]
PER_PAGE_MAX, SOURCES_LIMIT_MAX, PAGE_MAX = 1000, 500, 10_000_000


# ---------------------------------------------------------------- expected connector output


def flatten(metadata: Any) -> str:
    """The contract's metadata column: flattened with `.`, keys sorted, compact JSON; null or absent -> {}."""
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


_TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)")


def to_utc(value: str) -> str:
    """The same instant in UTC, `YYYY-MM-DDTHH:MM:SS` + the input's fractional digits as given + `Z`."""
    match = _TIMESTAMP.fullmatch(value)
    if match is None:
        raise ValueError(f"not an ISO-8601 date-time with an offset: {value!r}")
    seconds, fraction, offset = match.groups()
    moment = datetime.fromisoformat(seconds + ("+00:00" if offset == "Z" else offset)).astimezone(UTC)
    return f"{moment:%Y-%m-%dT%H:%M:%S}{'.' + fraction if fraction else ''}Z"


def expected_output(stream: str, record: dict[str, Any]) -> dict[str, Any]:
    """One output record (without sync_timestamp) for one API record."""
    if stream not in RENAMES:
        return {key: value for key, value in record.items() if key != "_links"}
    mapped = dict(RENAMES[stream])
    output = {}
    for api, column in RENAMES[stream]:
        value = record.get(api)
        output[column] = to_utc(value) if api in TIMESTAMP_FIELDS and value is not None else value
    if stream == "events":
        output["metadata"] = flatten(record.get("metadata"))
    output.update({key: value for key, value in record.items() if key not in mapped and key != "_links"})
    return output
