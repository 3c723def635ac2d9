"""A fake Listrak API for the unit tests: the contract's response shapes, and a requests-mock wrapper
that serves them by the contract's rules (windows, page paging, offset paging) and records every request.

Nothing here reaches the network: requests-mock rejects any URL that was not registered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests_mock

BASE_URL = "https://api.test/email/v1"
WINDOW_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"

# stream -> (path, records key, window start param, window end param, API cursor field)
WINDOWED = {
    "contacts": ("contacts", "contacts", "updatedAfter", "updatedBefore", "updatedDate"),
    "campaigns": ("campaigns", "campaigns", "sendDateAfter", "sendDateBefore", "sendDate"),
    "events": ("events", "events", "timestampAfter", "timestampBefore", "timestamp"),
}
HAL_PATHS = {
    "custom_fields": "custom-fields",
    "interests": "interests",
    "segments": "segments",
    "sources": "sources",
    "webhook_events": "webhook-events",
}
ERROR_CODES = {
    400: "ERROR_INVALID_PARAMETER",
    401: "ERROR_UNAUTHORIZED",
    403: "ERROR_FORBIDDEN",
    429: "ERROR_TOO_MANY_REQUESTS",
    500: "ERROR_INTERNAL",
    502: "ERROR_BAD_GATEWAY",
    503: "ERROR_UNAVAILABLE",
    504: "ERROR_GATEWAY_TIMEOUT",
}


# --- time ---------------------------------------------------------------------------------------


def utc_now() -> datetime:
    return datetime.now(UTC)


def iso(moment: datetime, offset_minutes: int = 0, fraction: str | None = None) -> str:
    """``moment`` written the way the API may write it: with the given UTC offset (0 -> ``Z``) and, if
    given, ``fraction`` (such as ``".250"``) as its fractional seconds instead of the microseconds."""
    local = moment.astimezone(UTC) + timedelta(minutes=offset_minutes)
    text = local.strftime("%Y-%m-%dT%H:%M:%S")
    if fraction is not None:
        text += fraction
    elif local.microsecond:
        text += f".{local.microsecond:06d}"
    if offset_minutes == 0:
        return text + "Z"
    sign = "+" if offset_minutes > 0 else "-"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def recent(hours: float = 1, **delta: float) -> datetime:
    """A moment inside the first sync's window, whole seconds."""
    return (utc_now() - timedelta(hours=hours, **delta)).replace(microsecond=0)


def parse_window_value(value: str) -> datetime:
    """A window parameter the connector sent; the contract wants an ISO-8601 date-time with an offset."""
    moment = datetime.fromisoformat(value)
    assert moment.tzinfo is not None, f"window value without an offset: {value!r}"
    return moment.astimezone(UTC)


# --- payloads in the contract's shapes -------------------------------------------------------------


def api_contact(contact_id: Any, updated_date: str, **fields: Any) -> dict[str, Any]:
    return {"id": contact_id, "updatedDate": updated_date, **fields}


def api_campaign(campaign_id: Any, send_date: str, **fields: Any) -> dict[str, Any]:
    return {"id": campaign_id, "sendDate": send_date, **fields}


def api_event(event_id: Any, timestamp: str, **fields: Any) -> dict[str, Any]:
    return {"id": event_id, "timestamp": timestamp, **fields}


def records_page(
    records_key: str,
    records: list[dict[str, Any]],
    page: int = 1,
    per_page: int = 100,
    total: int | None = None,
) -> dict[str, Any]:
    """Seed 000's envelope: ``{"<records key>": [...], "page", "perPage", "total"}``."""
    return {
        records_key: records,
        "page": page,
        "perPage": per_page,
        "total": len(records) if total is None else total,
    }


def hal_collection(items: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Seed 003's envelope; ``_embedded`` is omitted when the collection is empty."""
    body: dict[str, Any] = {"total": len(items), **extra}
    if items:
        body["_embedded"] = {"item": items}
    return body


def api_error(status: int, message: str = "") -> dict[str, Any]:
    return {
        "status": status,
        "error": ERROR_CODES.get(status, "ERROR"),
        "message": message or f"HTTP {status}",
    }


# --- requests ------------------------------------------------------------------------------------


def query(request: Any) -> dict[str, str]:
    """The query of a recorded request, one value per name, case preserved (requests-mock's ``qs``
    lower-cases values)."""
    return {name: values[-1] for name, values in parse_qs(urlsplit(request.url).query).items()}


def authorization(request: Any) -> str | None:
    return request.headers.get("Authorization")


Responder = Callable[[Any, Any], Any]


class FakeListrak:
    """Registers the contract's endpoints on a requests-mock ``Mocker`` and keeps what was asked."""

    def __init__(self, mocker: requests_mock.Mocker, base_url: str = BASE_URL) -> None:
        self.mocker = mocker
        self.base_url = base_url

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"

    def serve(self, path: str, responses: list[dict[str, Any]] | dict[str, Any]) -> None:
        """Plain requests-mock responses, in order (the last one repeats)."""
        self.mocker.get(self.url(path), responses if isinstance(responses, list) else [responses])

    def serve_callback(self, path: str, respond: Responder) -> None:
        self.mocker.get(self.url(path), json=respond)

    def serve_pages(self, path: str, records_key: str, pages: list[list[dict[str, Any]]]) -> None:
        """Page ``n`` (1-based ``page`` param) is ``pages[n - 1]``; pages beyond the list are empty."""

        def respond(request: Any, context: Any) -> dict[str, Any]:
            params = query(request)
            page = int(params.get("page", "1"))
            per_page = int(params.get("perPage", "100"))
            records = pages[page - 1] if 0 < page <= len(pages) else []
            return records_page(records_key, records, page, per_page, sum(len(p) for p in pages))

        self.serve_callback(path, respond)

    def serve_window(self, stream: str, records: Iterable[dict[str, Any]]) -> None:
        """The contract's windowed collection: records with the cursor in [start, end), ordered by the
        cursor then ``id``, paged by ``page`` / ``perPage``."""
        path, records_key, start_param, end_param, cursor = WINDOWED[stream]
        ordered = sorted(records, key=lambda r: (datetime.fromisoformat(r[cursor]), str(r["id"])))

        def respond(request: Any, context: Any) -> dict[str, Any]:
            params = query(request)
            start = parse_window_value(params[start_param])
            end = parse_window_value(params[end_param])
            page, per_page = int(params["page"]), int(params["perPage"])
            selected = [r for r in ordered if start <= datetime.fromisoformat(r[cursor]) < end]
            chunk = selected[(page - 1) * per_page : page * per_page]
            return records_page(records_key, chunk, page, per_page, len(selected))

        self.serve_callback(path, respond)

    def serve_offsets(self, path: str, items: list[dict[str, Any]]) -> None:
        """Seed 003's offset paging: ``offset`` (0-based) and ``limit`` (at most 500)."""

        def respond(request: Any, context: Any) -> dict[str, Any]:
            params = query(request)
            offset, limit = int(params.get("offset", "0")), int(params.get("limit", "500"))
            if limit > 500:
                context.status_code = 400
                return api_error(400, "limit must be at most 500")
            return hal_collection(items[offset : offset + limit], offset=offset, limit=limit)

        self.serve_callback(path, respond)

    def requests(self, path: str | None = None) -> list[Any]:
        wanted = None if path is None else urlsplit(self.url(path)).path
        return [r for r in self.mocker.request_history if wanted is None or urlsplit(r.url).path == wanted]

    def queries(self, path: str) -> list[dict[str, str]]:
        return [query(r) for r in self.requests(path)]


def without_sync_timestamp(record: Mapping[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in record.items() if name != "sync_timestamp"}
