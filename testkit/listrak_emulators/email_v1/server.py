"""The emulator: one port serves the OAuth2 token endpoint, `POST /OAuth2/Token` (form-encoded client
credentials), and the data API under `/email/v1`; Bearer tokens and API areas are checked here, the
routes answer in `routes`, faults in `faults`. Mutations between syncs change the account's overlays;
`expected_records` and `request_counts` ask the oracle.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from listrak_emulators.email_v1.account import Account
from listrak_emulators.email_v1.activity import Activity
from listrak_emulators.email_v1.answers import (
    DATA_CONTENT_TYPE,
    HTML_CONTENT_TYPE,
    TOKEN_CONTENT_TYPE,
    UNAUTHORIZED,
    Answer,
    invalid,
    unauthorized,
)
from listrak_emulators.email_v1.eastern_time import TICKS, utc_ticks
from listrak_emulators.email_v1.faults import RETRY_AFTER_MODES, Faults, fault_answer
from listrak_emulators.email_v1.oracle import ExpectedOutput, RequestModel, SendWindow
from listrak_emulators.email_v1.plan import LINK_SLOTS, LIST_ID_BASE, ContactState, ListPlan, Message, Sizes
from listrak_emulators.email_v1.routes import MAX_COUNT, Call, Cursors, DataApi, Paging, find_route, int_value
from listrak_emulators.email_v1.streams import AREAS, BASE_PATH, Route
from listrak_emulators.http import (
    ApiError,
    FaultDecider,
    KeepAliveHandler,
    LoopbackService,
    RequestLogEntry,
    new_log_entry,
    request_key,
    stable_hash,
)

TOKEN_PATH = "/OAuth2/Token"
INVALID_CREDENTIALS = {"error": "Invalid Credentials"}
FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"


@dataclass
class Integration:
    """The Listrak integration whose credentials the connector uses.

    `advertised_ttl` is the `expires_in` a token response states; `actual_ttl` (default: the same)
    is when the emulator starts rejecting the token. `revoke_previous_tokens` makes each new token
    revoke the client's older ones. `areas` are the API areas (scopes) granted. `paused` and
    `ip_blocked` make every request fail (token requests with 400, data requests with 401).
    `revoke_after` revokes the credentials after that many data requests: every later data request
    gets 401 and every later token request 400. `unauthorized_body` is how a 401 reads: "listrak"
    (the documented `{"status","error","message"}`), "no-error-key" (as recorded once in real traffic:
    no `error`), "empty" or "html".
    """

    client_id: str = "emu1ator0client0id01"
    client_secret: str = "Emu+lator/Secret0123456789abcdefghijklmnop="
    advertised_ttl: int = 3599
    actual_ttl: float | None = None
    revoke_previous_tokens: bool = False
    areas: frozenset[str] = AREAS
    paused: bool = False
    ip_blocked: bool = False
    revoke_after: int | None = None
    unauthorized_body: str = "listrak"


UNAUTHORIZED_BODIES = ("listrak", "no-error-key", "empty", "html")


class Tokens:
    """Access tokens issued to the integration's client and when each stops working (monotonic seconds)."""

    def __init__(self) -> None:
        self._expiry: dict[str, float] = {}
        self._lock = threading.Lock()

    def issue(self, integration: Integration) -> str:
        """An opaque base64url token of 427 to 448 characters, as Listrak's are."""
        length = 427 + secrets.randbelow(22)
        token = secrets.token_urlsafe(length)[:length]
        lifetime = integration.advertised_ttl if integration.actual_ttl is None else integration.actual_ttl
        with self._lock:
            if integration.revoke_previous_tokens:
                self._expiry.clear()
            self._expiry[token] = time.monotonic() + lifetime
        return token

    def valid(self, token: str | None) -> bool:
        with self._lock:
            return token is not None and self._expiry.get(token, 0.0) > time.monotonic()

    def expire_all(self) -> None:
        with self._lock:
            self._expiry = dict.fromkeys(self._expiry, 0.0)

    def live(self) -> int:
        now = time.monotonic()
        with self._lock:
            return sum(1 for expiry in self._expiry.values() if expiry > now)


def bearer_token(header: str | None) -> tuple[str | None, str | None]:
    """(scheme, token) of an Authorization header; the token only for exactly `Bearer <token>`."""
    scheme, _, token = (header or "").partition(" ")
    return scheme or None, token if scheme == "Bearer" and token and " " not in token else None


class _Handler(KeepAliveHandler):
    service: EmailV1Emulator

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self.service.answer(self)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET  # noqa: N815 - http.server's naming


class EmailV1Emulator(LoopbackService):
    """The Listrak Email API v1 on loopback: `with EmailV1Emulator() as api:` then give a connector
    `api.base_url`, `api.token_url`, `api.client_id` and `api.client_secret`.

    Knobs: `seed`, `now` (the emulator's clock, default the current time), `sizes`, `integration`,
    `paging`, `faults`. Mutations between syncs: `advance`, `subscribe`, `unsubscribe`,
    `resubscribe`, `change_profile_field`, `send_message`, `engage`, `add_clicks`,
    `transactional_send`, `delete_list`, `set_scopes`, `pause`, `expire_all_tokens`. What a
    connector must emit: `expected_records`; how many requests it needs: `expected_request_count`.
    """

    handler_class = _Handler
    base_path = BASE_PATH
    thread_name = "listrak-email-v1-emulator"

    def __init__(
        self,
        seed: int = 0,
        now: datetime | None = None,
        sizes: Sizes | None = None,
        integration: Integration | None = None,
        paging: Paging | None = None,
        faults: Faults | None = None,
    ) -> None:
        super().__init__()
        self.seed, self.sizes = seed, sizes or Sizes()
        self.integration, self.paging, self.faults = (
            integration or Integration(),
            paging or Paging(),
            faults or Faults(),
        )
        if self.integration.unauthorized_body not in UNAUTHORIZED_BODIES:
            raise ValueError(f"Integration.unauthorized_body must be one of {', '.join(UNAUTHORIZED_BODIES)}")
        if self.faults.retry_after not in RETRY_AFTER_MODES:
            raise ValueError(f"Faults.retry_after must be one of {', '.join(RETRY_AFTER_MODES)}")
        self.account = Account(seed, self.sizes, now or datetime.now(UTC).replace(microsecond=0))
        self.activity = Activity(self.account)
        self.tokens, self.cursors = Tokens(), Cursors(seed)
        self.data_api = DataApi(self.account, self.activity, self.cursors)
        self.fault_decider = FaultDecider(seed, self.faults.max_consecutive)
        self.data_requests = 0  # data requests that reached authorization (what `revoke_after` counts)
        self._lock = threading.RLock()
        self._answers: dict[tuple[str, int], Answer] | None = None  # see cache_answers

    @property
    def token_url(self) -> str:
        return self.origin + TOKEN_PATH

    @property
    def client_id(self) -> str:
        return self.integration.client_id

    @property
    def client_secret(self) -> str:
        return self.integration.client_secret

    @property
    def now(self) -> datetime:
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=self.account.now // 10)

    @property
    def list_ids(self) -> list[int]:
        """Every list id `/List` returns, the one whose child routes answer 404 included (it is last)."""
        return [plan.list_id for plan in self.account.listed_plans()]

    def cache_answers(self, enabled: bool = True) -> None:
        """For benchmarks: keeps each data answer by its request (path and query) and the account's version,
        and answers the same request again with the same bytes instead of building its page again (an
        activity row costs about 35 us to build). Every rule before the answer still applies to every
        request: latency, faults, authorization, route and parameter checks, the request log. After a
        mutation or a clock change nothing cached is used; after changing `paging`, call this again (it
        empties the cache). Memory grows with the bytes answered."""
        self._answers = {} if enabled else None

    def token_requests(self) -> list[RequestLogEntry]:
        return [entry for entry in list(self.request_log) if entry.path == TOKEN_PATH]

    def data_log(self) -> list[RequestLogEntry]:
        return [entry for entry in list(self.request_log) if entry.path != TOKEN_PATH]

    # HTTP
    def answer(self, handler: _Handler) -> None:
        url = urlsplit(handler.path)
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        entry = new_log_entry(handler, url.path, query, url.query)
        entry.auth_scheme, entry.token = bearer_token(handler.headers.get("Authorization"))
        body = handler.rfile.read(min(int(handler.headers.get("Content-Length") or 0), 1 << 20))
        handler.delay(self.faults.latency_ms)
        on_token_path = url.path == TOKEN_PATH
        self.fault_decider.max_consecutive = self.faults.max_consecutive
        rates = self.faults.token_rates() if on_token_path else self.faults.data_rates()
        entry.fault, n = self.fault_decider.decide(f"{handler.command} {request_key(url.path, query)}", rates)
        if handler.act_out_transport_fault(entry, self.faults.slow_seconds):
            return
        if entry.fault not in (None, "slow"):
            answer = fault_answer(entry.fault, self.faults, n)
        elif on_token_path:
            answer = self._token_answer(handler, entry, body)
        else:
            answer = self._data_answer(handler.command, url.path, query, entry.token)
        handler.answer_and_log(entry, answer.status, answer.body, answer.headers, answer.content_type, answer.records)

    # the token endpoint
    def _token_answer(self, handler: _Handler, entry: RequestLogEntry, body: bytes) -> Answer:
        content_type = handler.headers.get("Content-Type") or ""
        entry.content_type = content_type or None
        is_form = content_type.split(";")[0].strip().lower() == FORM_CONTENT_TYPE
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)) if is_form else {}
        entry.query = self._logged_form(form)
        if handler.command != "POST":
            return Answer.json(
                405, {"error": "The requested method is not supported."}, content_type=TOKEN_CONTENT_TYPE
            )
        if not self._credentials_accepted(form, handler.headers.get("Authorization")):
            return Answer.json(
                400, INVALID_CREDENTIALS, content_type=TOKEN_CONTENT_TYPE, headers={"Connection": "close"}
            )
        token = self.tokens.issue(self.integration)
        body_out = {"access_token": token, "token_type": "bearer", "expires_in": self.integration.advertised_ttl}
        return Answer.json(
            200, body_out, content_type=TOKEN_CONTENT_TYPE, headers={"Cache-Control": "no-cache"}, records=1
        )

    def _logged_form(self, form: dict[str, str]) -> dict[str, str]:
        """The token request's form for the log, the secret replaced by whether it matched."""
        logged = dict(form)
        if "client_secret" in logged:
            logged["client_secret"] = "<matches>" if form["client_secret"] == self.client_secret else "<differs>"
        return logged

    def _credentials_accepted(self, form: dict[str, str], authorization: str | None) -> bool:
        """Form-encoded client credentials only (no Authorization header), of an active integration."""
        integration = self.integration
        return (
            authorization is None
            and form.get("grant_type") == "client_credentials"
            and hmac.compare_digest(form.get("client_id", ""), integration.client_id)
            and hmac.compare_digest(form.get("client_secret", ""), integration.client_secret)
            and not (integration.paused or integration.ip_blocked or self._revoked())
        )

    def _revoked(self) -> bool:
        limit = self.integration.revoke_after
        return limit is not None and self.data_requests > limit

    # the data API
    def _data_answer(self, method: str, path: str, query: dict[str, str], token: str | None) -> Answer:
        try:
            found = find_route(path)
            if found is None:
                raise ApiError(404, "ERROR_UNKNOWN_ROUTE", "The requested route was not found.")
            route, raw_ids = found
            if method != "GET":
                raise ApiError(405, "ERROR_UNSUPPORTED_METHOD", f"The requested method {method} is not supported.")
            self._authorize(route, token)
            ids = {name: int_value(name, raw_ids[name]) for name in route.id_names}
            undeclared = next((name for name in query if name not in route.parameters), None)
            if undeclared is not None:
                raise invalid(undeclared)
            call = Call(route, path, ids, query)
            if self._answers is None:
                return self.data_api.answer(call, self.paging)
            key = (request_key(path, query), self.account.version)
            answer = self._answers.get(key)
            if answer is None:
                answer = self._answers[key] = self.data_api.answer(call, self.paging)
            return answer
        except ApiError as error:
            return self._unauthorized_answer() if error.status == 401 else Answer.error(error)

    def _unauthorized_answer(self) -> Answer:
        shape = self.integration.unauthorized_body
        if shape == "no-error-key":
            return Answer.json(401, {"status": 401, "message": UNAUTHORIZED})
        if shape == "empty":
            return Answer(401, b"", DATA_CONTENT_TYPE)
        if shape == "html":
            return Answer(401, b"<html><body><h1>401 - Unauthorized</h1></body></html>", HTML_CONTENT_TYPE)
        return Answer.error(unauthorized())

    def _authorize(self, route: Route, token: str | None) -> None:
        with self._lock:
            self.data_requests += 1
            revoked = self._revoked()
        integration = self.integration
        blocked = revoked or integration.paused or integration.ip_blocked
        if blocked or not self.tokens.valid(token) or not route.areas <= integration.areas:
            raise unauthorized()

    # mutations between syncs: small overlays on the generated account, stamped with the emulator's clock
    def _changed(self) -> None:
        self.account.version += 1

    def _plan_of(self, list_id: int | None) -> ListPlan:
        plan = self.account.served_plan(list_id if list_id is not None else LIST_ID_BASE)
        if plan is None:
            raise ValueError(f"list {list_id} has no data")
        return plan

    def _message_of(self, message_id: int) -> Message:
        for plan in self.account.plans:
            message = self.account.message_by_id(plan, message_id)
            if message is not None and self.account.served_plan(plan.list_id) is not None:
                return message
        raise ValueError(f"no message {message_id}")

    def advance(self, now: datetime) -> None:
        """Moves the emulator's clock forward: scheduled messages get sent, drawn engagement happens."""
        ticks = utc_ticks(now)
        if ticks < self.account.now:
            raise ValueError("the emulator's clock only moves forward")
        with self._lock:
            self.account.now = ticks
            self._changed()

    def subscribe(self, count: int = 1, list_id: int | None = None) -> list[str]:
        """`count` new subscribers of a list (default: the first), subscribed now; returns their addresses."""
        plan = self._plan_of(list_id)
        with self._lock:
            added = self.account.overlays.added_contacts.setdefault(plan.index, [])
            first = plan.contacts + len(added)
            added += [
                ContactState(first + n, "Subscribed", self.account.now, subscribe_method="Web") for n in range(count)
            ]
            self._changed()
        return [self.account.email(first + n) for n in range(count)]

    def _patch_contacts(self, emails: Iterable[str], list_id: int | None, **changes: Any) -> None:
        plan = self._plan_of(list_id)
        with self._lock:
            for email in emails:
                key = (plan.index, self.account.contact_index(plan, email))
                self.account.overlays.contacts.setdefault(key, {}).update(changes)
            self._changed()

    def unsubscribe(self, emails: Iterable[str], list_id: int | None = None) -> None:
        self._patch_contacts(
            emails, list_id, state="Unsubscribed", unsubscribe=self.account.now, unsubscribe_method="Link"
        )

    def resubscribe(self, emails: Iterable[str], list_id: int | None = None) -> None:
        """Subscribed again now: resubscribeDate is set, the original subscribeDate stays."""
        self._patch_contacts(emails, list_id, state="Subscribed", resubscribe=self.account.now)

    def change_profile_field(self, email: str, field_id: int, value: str | None, list_id: int | None = None) -> None:
        """A profile value changes; no date moves, so an incremental contacts read cannot see it."""
        plan = self._plan_of(list_id)
        with self._lock:
            key = (plan.index, self.account.contact_index(plan, email))
            self.account.overlays.contacts.setdefault(key, {}).setdefault("profile", {})[field_id] = value
            self._changed()

    def send_message(self, list_id: int | None = None, recipients: int | None = None) -> int:
        """A broadcast sent now to `recipients` (default: the list's usual count); returns its messageId.
        Its engagement is drawn after the send, so it appears as the clock advances."""
        plan = self._plan_of(list_id)
        with self._lock:
            sent = self.account.overlays.sent.setdefault(plan.index, [])
            sent.append((self.account.now, plan.recipients if recipients is None else recipients))
            self._changed()
            return self.account.message(plan, self.account.message_total(plan) - 1).message_id

    def engage(self, message_id: int, email: str, click: bool = True) -> None:
        """The recipient opens (and clicks) now: flags and clickCount change, activityDate does not
        (it is the first activity; it is set to now only if there was none)."""
        message = self._message_of(message_id)
        with self._lock:
            row = self.activity.row_of(message, email)
            facts = self.activity.facts(message, row)
            changes = self.account.overlays.engaged.setdefault((message_id, row), {})
            changes |= {"opened": True, "read": True, "activity": facts.activity or self.account.now}
            if click:
                link = stable_hash(self.seed, "engage", message_id, row) % message.links
                self.account.overlays.clicks.setdefault((message_id, row), []).append((link, self.account.now))
            self._changed()

    def add_clicks(self, message_id: int, link_id: int, email: str, clicks: int = 1) -> None:
        """`clicks` more clicks now (a second apart) by a recipient on one link: repeat clickers."""
        message = self._message_of(message_id)
        link = link_id - message.message_id * LINK_SLOTS
        if not 0 <= link < message.links:
            raise ValueError(f"no link {link_id} in message {message_id}")
        self.engage(message_id, email, click=False)
        with self._lock:
            row = self.activity.row_of(message, email)
            added = [(link, self.account.now - n * TICKS) for n in range(clicks)]
            self.account.overlays.clicks.setdefault((message_id, row), []).extend(added)
            self._changed()

    def transactional_send(self, transactional_message_id: int, email: str) -> dict[str, Any]:
        """One more send of a transactional message to `email`, now; returns its activity row."""
        for plan in self.account.plans:
            series = next(
                (s for s in self.account.transactional_series(plan) if s.message_id == transactional_message_id), None
            )
            if series is not None:
                break
        else:
            raise ValueError(f"no transactional message {transactional_message_id}")
        with self._lock:
            sends = self.account.overlays.transactional.setdefault(transactional_message_id, [])
            last = sends[-1][1] if sends else 0
            sends.append((self.account.contact_index(series.plan, email), max(self.account.now, last + 1)))
            self._changed()
            activity = self.activity
            return activity.record(series, activity.row_count(series) - 1)

    def delete_list(self, list_id: int) -> None:
        """The list leaves /List; its routes answer 404 from now on."""
        with self._lock:
            self.account.overlays.deleted.add(list_id - LIST_ID_BASE)
            self._changed()

    def set_scopes(self, areas: Iterable[str]) -> None:
        """The API areas the integration is granted (Contact, Event, List, Message, Report, Segmentation)."""
        granted = frozenset(areas)
        if not granted <= AREAS:
            raise ValueError(f"unknown areas: {', '.join(sorted(granted - AREAS))}")
        self.integration.areas = granted

    def pause(self, paused: bool = True) -> None:
        """A paused integration: token requests get 400, data requests 401."""
        self.integration.paused = paused

    def expire_all_tokens(self) -> None:
        self.tokens.expire_all()

    # what a connector must emit, and the requests it needs
    def expected_records(
        self,
        stream: str,
        *,
        sent_since: datetime | None = None,
        sent_before: datetime | None = None,
        include_test_messages: bool = False,
        include_previous_versions: bool = True,
        profile_field_ids: Sequence[int] | None = None,
    ) -> list[dict[str, Any]]:
        """The records the connector must emit for `stream` (without sync_timestamp); see `ExpectedOutput`."""
        window = SendWindow(sent_since, sent_before if sent_before is not None or sent_since is None else self.now)
        oracle = ExpectedOutput(
            self.account, window, include_test_messages, include_previous_versions, profile_field_ids
        )
        return oracle.records(stream)

    def request_counts(
        self,
        streams: Iterable[str],
        *,
        sent_since: datetime | None = None,
        sent_before: datetime | None = None,
        page_size: int = MAX_COUNT,
        include_test_messages: bool = False,
        include_previous_versions: bool = True,
    ) -> dict[str, int]:
        """Data requests per stream for one sync of `streams` (contract §3.6); see `RequestModel`."""
        window = SendWindow(sent_since, sent_before if sent_before is not None or sent_since is None else self.now)
        oracle = ExpectedOutput(self.account, window, include_test_messages, include_previous_versions, None)
        model = RequestModel(oracle, page_size, self.paging)
        return {stream: model.requests(stream) for stream in streams}

    def expected_request_count(self, streams: Iterable[str], **knobs: Any) -> int:
        """The total of `request_counts`: data requests only (no token requests, no retries)."""
        return sum(self.request_counts(streams, **knobs).values())
