"""One sync's dealings with Listrak's authentication: the access token every stream shares, and what
Listrak refused.

Listrak's Email API hands out OAuth2 client-credentials tokens, and what only a real account can tell
(whether a new token revokes the older ones, how long a token really lives, which API areas the
integration was granted) is unknown. So a read keeps exactly one token, held here under a lock: every
stream, partition and worker thread of the read uses it; when several requests are refused at once,
one token request follows; a request refused with an older token is retried with the current one. A
new token is taken when a request needs it, which is after any backoff wait. Tokens that die before
their ``expires_in`` teach the session their real lifetime, and it renews before that.

What Listrak refused decides what ends: credentials refused by the token endpoint, or a refusal with
a fresh token before anything answered, reject the whole read (``CredentialsRejected``; every later
request is refused here, unsent); a stream's endpoint refused with a fresh token while others answer
ends that stream only (``AreaRefused``: the integration lacks an API area).

A session lives as long as the config object the components were built with: one read in the
``source-listrak`` command (``SourceListrak`` starts and ends it around each read and check), one
process in the manifest-only form.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

# Renew this long before the advertised expiry (Listrak's clients use 10 to 60 s), at most a tenth of it.
RENEW_MARGIN_SECONDS = 60.0
# Once tokens were seen to die early, renew at this share of the shortest life seen.
LEARNED_LIFE_SHARE = 0.75
# Tokens remembered by value, to tell a refusal of an older token from one of the current token.
REMEMBERED_TOKENS = 64
# Sessions kept for configs whose read did not say it ended (manifest-only form, tests in one process).
REMEMBERED_SESSIONS = 16


class CredentialsRejected(AirbyteTracedException):
    """Listrak refused the credentials: the whole sync stops, nothing more is sent."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)


class AreaRefused(AirbyteTracedException):
    """Listrak refuses one stream's endpoint with a fresh token while others answer: that stream ends
    (and the streams that read it as a parent), the others go on."""

    def __init__(self, stream: str, endpoint: str, needed: tuple[str, ...], missing: tuple[str, ...]) -> None:
        self.stream, self.endpoint, self.needed, self.missing = stream, endpoint, needed, missing
        message = self.message_for(stream)
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)

    def message_for(self, stream: str) -> str:
        """The error of ``stream``, which reads this endpoint itself or through a parent stream."""
        return (
            f"Stream {stream}: Listrak refused /{self.endpoint} (HTTP 401), which this stream reads, also with a "
            f"new access token while other endpoints answer: the Listrak integration probably lacks the API area "
            f"{' or '.join(self.missing)} (this endpoint needs {', '.join(self.needed)}). Ask your Listrak admin to "
            "grant it under Integrations > Integration Management; the other streams were read, and this one will "
            "be once the area is granted."
        )


class TokenEndpointFailed(AirbyteTracedException):
    """The token endpoint kept failing (5xx, 429, timeouts) through every retry: the sync stops."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, internal_message=message, failure_type=FailureType.transient_error)


@dataclass(frozen=True)
class AccessToken:
    value: str
    generation: int
    issued_at: float  # time.monotonic()
    expires_in: float  # as the token endpoint advertised it


@dataclass(frozen=True)
class Refusal:
    """What the session concludes from a 401 answered to a request sent with a given token."""

    retry: bool  # send the request again (with the current token, or a new one)
    error: AirbyteTracedException | None = None


class ApiSession:
    """The token and the refusals of one read; every method is safe from any worker thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # guards the fields below
        self._fetching = threading.Lock()  # one token request at a time (single flight)
        self._token: AccessToken | None = None
        self._stale_generation = 0  # tokens of this generation or older are not used again
        self._tokens: OrderedDict[str, AccessToken] = OrderedDict()
        self._learned_life: float | None = None
        self._stopped: AirbyteTracedException | None = None
        self._refused_streams: dict[str, AreaRefused] = {}
        self._granted_areas: set[str] = set()
        self._answered = False
        self._first_refusals: dict[str, int] = {}  # endpoint -> generation of the token it was first refused with
        self._refused_tokens: dict[int, float] = {}  # generation -> when a request with it was refused
        self.token_requests = 0
        self.statuses: dict[int, int] = {}  # for the probe: how often each status was answered
        self.retry_after_seen = 0

    # ------------------------------------------------------------ the token

    def token(self, fetch: Callable[[], tuple[str, float]]) -> AccessToken:
        """The current token, fetched first when there is none usable; raises once the sync stopped.

        ``fetch`` returns (access token, expires_in seconds) or raises a ``CredentialsRejected`` or a
        ``TokenEndpointFailed``, which stop the session."""
        self.raise_if_stopped()
        token = self._usable()
        if token is not None:
            return token
        with self._fetching:
            token = self._usable()  # another thread fetched while this one waited
            if token is not None:
                return token
            self.raise_if_stopped()
            try:
                value, expires_in = fetch()
            except (CredentialsRejected, TokenEndpointFailed) as error:
                raise self.stop(error) from None
            # Masked in every log line from now on, as the CDK's own OAuth does (an append to its list).
            add_to_secrets(value)
            with self._lock:
                self.token_requests += 1
                generation = (self._token.generation if self._token else 0) + 1
                token = AccessToken(value, generation, time.monotonic(), float(expires_in))
                self._token = token
                self._tokens[value] = token
                while len(self._tokens) > REMEMBERED_TOKENS:
                    self._tokens.popitem(last=False)
            return token

    def _usable(self) -> AccessToken | None:
        with self._lock:
            token = self._token
            if token is None or token.generation <= self._stale_generation:
                return None
            age = time.monotonic() - token.issued_at
            life = token.expires_in - min(RENEW_MARGIN_SECONDS, token.expires_in / 10)
            if self._learned_life is not None:
                life = min(life, self._learned_life * LEARNED_LIFE_SHARE)
            return token if age < life else None

    # ------------------------------------------------------------ what Listrak answered

    def answered(self, endpoint: str, areas: Iterable[str]) -> None:
        """A request to ``endpoint`` (a route template) was answered 2xx: its areas are granted, and the
        token it was refused with had died (which teaches the session how long tokens live)."""
        with self._lock:
            self._answered = True
            self._granted_areas.update(areas)
            generation = self._first_refusals.pop(endpoint, None) if self._first_refusals else None
            refused_at = self._refused_tokens.get(generation) if generation is not None else None
            old = next((t for t in self._tokens.values() if t.generation == generation), None)
            if old is not None and refused_at is not None:
                life = refused_at - old.issued_at
                if life < old.expires_in and (self._learned_life is None or life < self._learned_life):
                    self._learned_life = max(life, 0.1)

    def refused(self, endpoint: str, token_value: str | None, stream_refusal: Callable[[], AreaRefused],
                rejection: Callable[[], CredentialsRejected]) -> Refusal:
        """What to do with a request to ``endpoint`` (a route template) that Listrak answered 401, sent
        with ``token_value``. The endpoint decides once it is refused again with a token obtained after
        its first refusal, and no request to it was answered in between."""
        self.raise_if_stopped()
        with self._lock:
            token = self._tokens.get(token_value or "")
            current = self._token
            first = self._first_refusals.get(endpoint)
            if token is None or current is None or token.generation < current.generation:
                # An older token: retry with the current one and ask for none; a refusal of that one decides.
                if first is None and token is not None:
                    self._first_refusals[endpoint] = token.generation
                return Refusal(retry=True)
            if first is None or token.generation <= first:
                # The current token refused: it may have died. One new token for every request refused with it.
                self._first_refusals[endpoint] = token.generation
                self._stale_generation = max(self._stale_generation, token.generation)
                self._refused_tokens.setdefault(token.generation, time.monotonic())
                return Refusal(retry=True)
            # Refused again with a token obtained after the endpoint's first refusal: it stays refused.
            answered = self._answered
        if answered:
            error = stream_refusal()
            with self._lock:
                self._refused_streams.setdefault(error.stream, error)
            return Refusal(retry=False, error=error)
        return Refusal(retry=False, error=self.stop(rejection()))

    def note_status(self, status: int, retry_after: bool) -> None:
        with self._lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1
            self.retry_after_seen += int(retry_after)

    # ------------------------------------------------------------ ending

    def stop(self, error: AirbyteTracedException) -> AirbyteTracedException:
        """Every later request of this read is refused with the first error that stopped it."""
        with self._lock:
            if self._stopped is None:
                self._stopped = error
            return self._stopped

    def raise_if_stopped(self) -> None:
        stopped = self._stopped
        if stopped is not None:
            raise stopped

    def raise_if_refused(self, stream: str) -> None:
        """A stream whose endpoint was refused sends nothing more: a few 401s per stream, not one per partition."""
        self.raise_if_stopped()
        refused = self._refused_streams.get(stream)
        if refused is not None:
            raise refused

    @property
    def stopped(self) -> AirbyteTracedException | None:
        return self._stopped

    @property
    def refused_streams(self) -> dict[str, AreaRefused]:
        with self._lock:
            return dict(self._refused_streams)

    @property
    def granted_areas(self) -> set[str]:
        with self._lock:
            return set(self._granted_areas)

    @property
    def learned_life(self) -> float | None:
        return self._learned_life


_sessions: OrderedDict[int, tuple[Mapping[str, Any], ApiSession]] = OrderedDict()
_sessions_lock = threading.Lock()


def session_for(config: Mapping[str, Any]) -> ApiSession:
    """The session of the components built with this config object (one source, one read)."""
    with _sessions_lock:
        entry = _sessions.get(id(config))
        if entry is None or entry[0] is not config:
            entry = (config, ApiSession())
            _sessions[id(config)] = entry
            while len(_sessions) > REMEMBERED_SESSIONS:
                _sessions.popitem(last=False)
        return entry[1]


def start_session(config: Mapping[str, Any]) -> ApiSession:
    """A new session for the read about to build its streams with this config."""
    end_session(config)
    return session_for(config)


def end_session(config: Mapping[str, Any]) -> None:
    with _sessions_lock:
        _sessions.pop(id(config), None)


def bearer_value(request: requests.PreparedRequest | None) -> str | None:
    header = (request.headers.get("Authorization") if request is not None else None) or ""
    scheme, _, value = header.partition(" ")
    return value if scheme == "Bearer" and value else None
