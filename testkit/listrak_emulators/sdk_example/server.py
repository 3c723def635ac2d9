"""The contract's rules on loopback: auth, page and offset paging, time windows, parameter errors,
faults; and the `Emulator` that serves them."""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from listrak_emulators.http import (
    JSON_ENCODER,
    RETRY_AFTER_MODES,
    ApiError,
    FaultDecider,
    KeepAliveHandler,
    LoopbackService,
    new_log_entry,
    request_key,
    retry_after_header,
)
from listrak_emulators.sdk_example.contract import (
    BASE_PATH,
    HAL_PATHS,
    HAL_STREAMS,
    PAGE_MAX,
    PER_PAGE_MAX,
    SOURCES_LIMIT_MAX,
    STREAMS,
    WINDOWED,
    expected_output,
)
from listrak_emulators.sdk_example.dataset import Dataset, Sizes, epoch_us


@dataclass
class Faults:
    rate_429: float = 0.0  # probability a request gets 429
    retry_after: str = "mixed"  # seconds | http-date | absent | mixed | far-future | past
    retry_after_seconds: int = 1  # the value used by the seconds and http-date forms
    rate_5xx: float = 0.0  # 500/502/503/504 with a JSON error body
    rate_slow: float = 0.0  # sleep slow_seconds before answering (the client should time out)
    slow_seconds: float = 3.0
    rate_drop: float = 0.0  # close the connection without any response
    latency_ms: float = 0.0  # added to every request
    max_consecutive: int = 2  # one request URL never faults more than this many times in a row


@dataclass
class RenderedPage:
    """A response body already serialized, and how many records it holds."""

    body: bytes
    records: int


# ---------------------------------------------------------------- rules: parameters


def _bad_parameter(message: str) -> ApiError:
    return ApiError(400, "ERROR_INVALID_PARAMETER", message)


_INTEGER = re.compile(r"-?[0-9]+")


def _int_param(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = query.get(name)
    if raw is None:
        return default
    if not _INTEGER.fullmatch(raw):
        raise _bad_parameter(f"{name} must be an integer between {low} and {high}")
    value = int(raw)
    if not low <= value <= high:
        raise _bad_parameter(f"{name} must be between {low} and {high}")
    return value


def _time_param(query: dict[str, str], name: str) -> int | None:
    """A window bound in epoch microseconds (None: unbounded); ISO-8601 with an offset."""
    raw = query.get(name)
    if raw is None:
        return None
    text = raw.replace(" ", "+")  # an unencoded '+' in a query string arrives as a space
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise _bad_parameter(f"{name} must be an ISO-8601 date-time with an offset, not {raw!r}") from None
    if "T" not in text or moment.tzinfo is None:
        raise _bad_parameter(f"{name} must be an ISO-8601 date-time with an offset, not {raw!r}")
    return epoch_us(moment)


# ---------------------------------------------------------------- rules: responses


def _hal(items: list[dict[str, Any]], total: int) -> dict[str, Any]:
    """A HAL collection; `_embedded` is left out when there are no items."""
    return {"_embedded": {"item": items}, "total": total} if items else {"total": total}


@dataclass
class _PageChoice:
    """Which records of a windowed stream one page request asks for."""

    page: int
    per_page: int
    window: range  # every index in the time window
    chosen: range  # the indexes on this page


def _page_choice(data: Dataset, stream: str, query: dict[str, str]) -> _PageChoice:
    _, start_param, end_param, _ = WINDOWED[stream]
    page = _int_param(query, "page", 1, 1, PAGE_MAX)
    per_page = _int_param(query, "perPage", 100, 1, PER_PAGE_MAX)
    window = data.window(stream, _time_param(query, start_param), _time_param(query, end_param))
    return _PageChoice(page, per_page, window, window[(page - 1) * per_page : page * per_page])


def _windowed_page(data: Dataset, stream: str, query: dict[str, str]) -> dict[str, Any]:
    choice = _page_choice(data, stream, query)
    records = [data.record(stream, index) for index in choice.chosen]
    return {WINDOWED[stream][0]: records, "page": choice.page, "perPage": choice.per_page, "total": len(choice.window)}


def _prerendered_page(data: Dataset, stream: str, query: dict[str, str], rendered: list[bytes]) -> RenderedPage:
    """The bytes `_windowed_page` would serialize to, joined from records serialized in advance."""
    choice = _page_choice(data, stream, query)
    body = b", ".join(rendered[choice.chosen.start : choice.chosen.stop]) if choice.chosen else b""
    tail = f'], "page": {choice.page}, "perPage": {choice.per_page}, "total": {len(choice.window)}}}'
    return RenderedPage(b'{"' + WINDOWED[stream][0].encode() + b'": [' + body + tail.encode(), len(choice.chosen))


def _records_in(resource: str, body: dict[str, Any]) -> int:
    """How many records a successful response body holds (webhook events: one object)."""
    if resource in WINDOWED:
        return len(body[WINDOWED[resource][0]])
    return 1 if resource == "webhook-events" else len(body.get("_embedded", {}).get("item", []))


def _offset_page(data: Dataset, stream: str, query: dict[str, str]) -> dict[str, Any]:
    offset = _int_param(query, "offset", 0, 0, PAGE_MAX * PER_PAGE_MAX)
    limit = _int_param(query, "limit", SOURCES_LIMIT_MAX, 1, SOURCES_LIMIT_MAX)
    items = data.hal_items(stream, offset, offset + limit)
    return {**_hal(items, data.hal_count(stream)), "offset": offset, "limit": limit}


def _authenticate(header: str | None, api_key: str, account_id: str) -> None:
    """Bearer <api_key> or Basic base64(<account_id>:<api_key>); anything else is 401."""
    scheme, _, token = (header or "").partition(" ")
    if scheme == "Bearer" and token == api_key:
        return
    if scheme == "Basic" and token == base64.b64encode(f"{account_id}:{api_key}".encode()).decode():
        return
    raise ApiError(401, "ERROR_UNAUTHORIZED", "The credentials are missing or invalid.")


def _auth_scheme(header: str | None) -> str | None:
    scheme = (header or "").partition(" ")[0]
    return scheme if scheme in ("Bearer", "Basic") else None


# ---------------------------------------------------------------- rules: faults

SERVER_ERRORS = (
    (500, "ERROR_INTERNAL"),
    (502, "ERROR_BAD_GATEWAY"),
    (503, "ERROR_SERVICE_UNAVAILABLE"),
    (504, "ERROR_GATEWAY_TIMEOUT"),
)


def _fault_rates(faults: Faults) -> tuple[tuple[str, float], ...]:
    return (("429", faults.rate_429), ("5xx", faults.rate_5xx), ("drop", faults.rate_drop), ("slow", faults.rate_slow))


def _fault_error(emulator: Emulator, fault: str, path: str, n: int, headers: dict[str, str]) -> ApiError:
    """The error a 429 or 5xx fault answers with; a 429 may add Retry-After to `headers`."""
    if fault == "429":
        faults = emulator.faults
        retry_after = retry_after_header(faults.retry_after, faults.retry_after_seconds, n, datetime.now(UTC))
        if retry_after is not None:
            headers["Retry-After"] = retry_after
        return ApiError(429, "ERROR_TOO_MANY_REQUESTS", "Too many requests; slow down.")
    status, error = SERVER_ERRORS[emulator.fault_decider.draw("5xx:" + path, n) % len(SERVER_ERRORS)]
    return ApiError(status, error, "A temporary failure; try again.")


def _relative_path(url_path: str) -> str | None:
    """`/email/v1/events/` -> `/events`; None for a path outside the base path."""
    if url_path != BASE_PATH and not url_path.startswith(BASE_PATH + "/"):
        return None
    return "/" + url_path[len(BASE_PATH) :].strip("/")


# ---------------------------------------------------------------- HTTP


class _Handler(KeepAliveHandler):
    service: Emulator

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        emulator = self.service
        url = urlsplit(self.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        path = _relative_path(url.path)
        header = self.headers.get("Authorization")
        entry = new_log_entry(self, path or url.path, query, url.query)
        entry.auth_scheme = _auth_scheme(header)
        self.delay(emulator.faults.latency_ms)
        entry.fault, n = emulator.decide_fault(request_key(path or url.path, query))
        if self.act_out_transport_fault(entry, emulator.faults.slow_seconds):
            return
        headers: dict[str, str] = {}
        try:
            if entry.fault in ("429", "5xx"):
                raise _fault_error(emulator, entry.fault, path or url.path, n, headers)
            if path is None:
                raise ApiError(404, "ERROR_NOT_FOUND", f"No resource at {url.path}; the API is under {BASE_PATH}.")
            emulator.authorize(path, header)
            status, page = 200, emulator.render(path, query)
        except ApiError as error:
            status, page = error.status, RenderedPage(JSON_ENCODER.encode(error.body()).encode(), 0)
        self.answer_and_log(entry, status, page.body, headers, records=page.records)

    def _not_allowed(self) -> None:
        url = urlsplit(self.path)
        entry = new_log_entry(self, url.path, {}, url.query)
        entry.auth_scheme = _auth_scheme(self.headers.get("Authorization"))
        error = ApiError(405, "ERROR_METHOD_NOT_ALLOWED", f"{self.command} is not supported; the API is read-only.")
        body = JSON_ENCODER.encode(error.body()).encode()
        self.answer_and_log(entry, 405, body, {"Allow": "GET", "Connection": "close"})  # any request body is unread

    do_POST = do_PUT = do_PATCH = do_DELETE = _not_allowed  # noqa: N815 - http.server's naming


# ---------------------------------------------------------------- the emulator


class Emulator(LoopbackService):
    """The contract on loopback: `with Emulator() as api: requests.get(api.base_url + ...)`.

    `render(path, query)` is the body a GET answers with; `prerender()` serializes the windowed
    streams' records once so that pages are joined from bytes (for benchmarks: the same bytes, less work).
    `additions()` returns the records `add_records` appended, in the form the `additions` argument takes,
    so a later emulator can replay the same account.
    """

    STREAMS = STREAMS
    handler_class = _Handler
    base_path = BASE_PATH

    def __init__(
        self,
        seed: int = 0,
        sizes: Sizes | None = None,
        faults: Faults | None = None,
        api_key: str = "emulator-key-0123456789",
        account_id: str = "emulator-account",
        history_days: int = 80,
        now: datetime | None = None,
        forbidden_paths: frozenset[str] | set[str] = frozenset(),
        additions: Mapping[str, Sequence[Sequence[Any]]] | None = None,
    ) -> None:
        super().__init__()
        self.seed, self.api_key, self.account_id = seed, api_key, account_id
        self.faults = faults or Faults()
        if self.faults.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"Faults.retry_after must be one of {', '.join(RETRY_AFTER_MODES)}")
        self.fault_decider = FaultDecider(seed, self.faults.max_consecutive)
        self.forbidden_paths = {"/" + path.strip("/") for path in forbidden_paths}
        self.data = Dataset(seed, sizes or Sizes(), now or datetime.now(UTC), history_days)
        for stream, records in (additions or {}).items():
            self.data.added[stream].extend((int(instant), record) for instant, record in records)
        self._rendered: dict[str, list[bytes]] = {}
        self._key_lock = threading.Lock()
        self._key_uses_left: int | None = None  # None: the key is never revoked

    # what tests read
    def add_records(self, stream: str, count: int) -> list[dict[str, Any]]:
        return self.data.add(stream, count)

    def additions(self) -> dict[str, list[tuple[int, dict[str, Any]]]]:
        """Records added so far per windowed stream, as (instant in epoch microseconds, record): JSON-ready."""
        return {stream: list(added) for stream, added in self.data.added.items()}

    def api_records(self, stream: str) -> Iterator[dict[str, Any]]:
        """Every record as served, in the contract's order (lazily: a million events cost no memory)."""
        if stream in WINDOWED:
            return (self.data.record(stream, index) for index in range(self.data.count(stream)))
        if stream in HAL_STREAMS:
            return (self.data.hal_item(stream, index) for index in range(self.data.hal_count(stream)))
        if stream == "webhook_events":
            return iter([self.data.webhook_events()])
        raise ValueError(f"unknown stream {stream!r}; streams: {', '.join(STREAMS)}")

    def _window(self, stream: str, start: datetime | None, end: datetime | None) -> range:
        return self.data.window(
            stream, None if start is None else epoch_us(start), None if end is None else epoch_us(end)
        )

    def expected_records(
        self, stream: str, start: datetime | None = None, end: datetime | None = None
    ) -> list[dict[str, Any]]:
        """What the connector must output (without sync_timestamp); windowed streams: start <= cursor < end."""
        if stream in WINDOWED:
            return [expected_output(stream, self.data.record(stream, i)) for i in self._window(stream, start, end)]
        return [expected_output(stream, record) for record in self.api_records(stream)]

    def expected_count(self, stream: str, start: datetime | None = None, end: datetime | None = None) -> int:
        if stream in WINDOWED:
            return len(self._window(stream, start, end))
        if stream in HAL_STREAMS:
            return self.data.hal_count(stream)
        return len(self.expected_records(stream))

    # rules
    def revoke_key_after(self, requests: int) -> None:
        """The key works for the next `requests` authenticated requests, then every request gets 401."""
        with self._key_lock:
            self._key_uses_left = requests

    def authorize(self, path: str, header: str | None) -> None:
        _authenticate(header, self.api_key, self.account_id)
        with self._key_lock:
            if self._key_uses_left is not None:
                if self._key_uses_left <= 0:
                    raise ApiError(401, "ERROR_UNAUTHORIZED", "The API key was revoked.")
                self._key_uses_left -= 1
        if path in self.forbidden_paths:
            raise ApiError(403, "ERROR_FORBIDDEN", f"The credentials have no access to {path}.")

    def decide_fault(self, key: str) -> tuple[str | None, int]:
        """(fault or None, how many times this request was seen before); at most max_consecutive in a row."""
        self.fault_decider.max_consecutive = self.faults.max_consecutive
        return self.fault_decider.decide(key, _fault_rates(self.faults))

    def respond(self, path: str, query: dict[str, str]) -> dict[str, Any]:
        """The body of a successful GET of `path` (without the base path), or ApiError."""
        resource = path.strip("/")
        if resource in WINDOWED:
            return _windowed_page(self.data, resource, query)
        if resource in HAL_PATHS:
            stream = HAL_PATHS[resource]
            return _hal(self.data.hal_items(stream), self.data.hal_count(stream))
        if resource == "sources":
            return _offset_page(self.data, "sources", query)
        if resource == "webhook-events":
            return self.data.webhook_events()
        raise ApiError(404, "ERROR_NOT_FOUND", f"No resource at {BASE_PATH}/{resource}.")

    def render(self, path: str, query: dict[str, str]) -> RenderedPage:
        """The serialized body of a successful GET of `path`, from pre-serialized records where there are some."""
        resource = path.strip("/")
        rendered = self._rendered.get(resource)
        if rendered is not None and len(rendered) == self.data.count(resource):
            return _prerendered_page(self.data, resource, query, rendered)
        body = self.respond(path, query)
        return RenderedPage(JSON_ENCODER.encode(body).encode(), _records_in(resource, body))

    def prerender(self, streams: Sequence[str] = ("events",)) -> None:
        """Serializes every record of these windowed streams once; pages are then joined from those bytes.

        Records added later make a stream's pages built record by record again, until the next prerender.
        """
        for stream in streams:
            if stream not in WINDOWED:
                raise ValueError(f"only {', '.join(WINDOWED)} can be prerendered, not {stream!r}")
            records = (self.data.record(stream, index) for index in range(self.data.count(stream)))
            self._rendered[stream] = [JSON_ENCODER.encode(record).encode() for record in records]
