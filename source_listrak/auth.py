"""Authentication and refusals, as components named in the manifest: one token per read, typed errors.

- ``ListrakOAuth``: the Email API's OAuth2 client credentials. The CDK's ``OAuthAuthenticator`` keeps a
  token per stream instance (55 per full read), fetches a new one before the backoff wait instead of
  after it, posts without a timeout and words a refused client secret as a refused refresh token. Here
  every stream takes the read's one token from ``api_session.ApiSession``.
- ``ApiKeyAuthenticator``: a static key as Bearer or Basic, refused unsent once the credentials were.
- ``ListrakErrorHandler``: the CDK's ``DefaultErrorHandler`` plus what a status code alone cannot
  decide: a 401 on the Email API is an expired token, a missing API area or rejected credentials,
  told apart by the token it was refused with (whatever its body says); a 401 or 403 on the API-key
  contract stops the read; a resource deleted during the sync is skipped with a warning naming it.
"""

from __future__ import annotations

import base64
import logging
import random
import time
from collections.abc import Mapping
from dataclasses import InitVar, dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from airbyte_cdk.models import FailureType
from airbyte_cdk.sources.declarative.auth.declarative_authenticator import DeclarativeAuthenticator
from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString
from airbyte_cdk.sources.declarative.requesters.error_handlers.default_error_handler import DefaultErrorHandler
from airbyte_cdk.sources.streams.http.error_handlers import BackoffStrategy
from airbyte_cdk.sources.streams.http.error_handlers.response_models import ErrorResolution, ResponseAction
from airbyte_cdk.sources.types import Config
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets

from source_listrak.api_session import (
    ApiSession,
    AreaRefused,
    CredentialsRejected,
    TokenEndpointFailed,
    bearer_value,
    session_for,
)
from source_listrak.components import retry_after_seconds

_log = logging.getLogger("airbyte")
GONE = "ERROR_UNABLE_TO_LOCATE_RESOURCE"  # Listrak's code for an id it no longer has


def _evaluate(value: Any, config: Config, parameters: Mapping[str, Any]) -> str:
    return str(InterpolatedString.create(str(value), parameters=parameters).eval(config) or "")


def _settings(config: Config) -> tuple[float, int, float, float]:
    """The configured request timeout, retries, longest wait and backoff factor (with their defaults)."""
    return (
        float(config.get("request_timeout_seconds") or 30),
        int(config.get("retry_attempts", 3) or 0),
        float(config.get("max_retry_wait_seconds", 60) or 0),
        float(config.get("backoff_factor_seconds", 2) or 0),
    )


def _error_code(response: requests.Response) -> str | None:
    """Listrak's ``error`` code of an error body, when the body is a JSON object that has one."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("error") if isinstance(body, dict) else None
    return code if isinstance(code, str) else None


@dataclass
class TokenEndpoint:
    """Listrak's OAuth2 token endpoint: the client credentials form-encoded in a POST, as Listrak requires."""

    url: str
    client_id: str
    client_secret: str
    timeout: float = 30.0
    retries: int = 3
    max_wait: float = 60.0
    backoff_factor: float = 2.0

    def fetch(self) -> tuple[str, float]:
        """(access token, expires_in); retries 5xx, 429, timeouts and dropped connections."""
        problem = ""
        for attempt in range(self.retries + 1):
            wait = None
            try:
                response = requests.post(
                    self.url,
                    data={"grant_type": "client_credentials", "client_id": self.client_id,
                          "client_secret": self.client_secret},
                    headers={"Accept": "application/json"},
                    timeout=self.timeout,
                )
            except requests.RequestException as error:
                problem = type(error).__name__
            else:
                status = response.status_code
                if status == 200:
                    token = self._token(response)
                    if token is not None:
                        return token
                    problem = "HTTP 200 without an access token"
                elif status in (408, 429) or status >= 500:
                    problem = f"HTTP {status}"
                    header = response.headers.get("Retry-After")
                    wait = retry_after_seconds(header) if header is not None else None
                elif status >= 400:
                    raise CredentialsRejected(self._refused(response))
                else:
                    problem = f"HTTP {status}"
            if attempt < self.retries:
                time.sleep(min(self.max_wait, wait if wait is not None else self._backoff(attempt)))
        raise TokenEndpointFailed(
            f"Listrak's token endpoint {self.url} did not give an access token after {self.retries + 1} attempts "
            f"(last: {problem}). Listrak may be unavailable; run the sync again later."
        )

    def _backoff(self, attempt: int) -> float:
        base = self.backoff_factor * 2**attempt
        return base / 2 + random.uniform(0, base / 2)

    @staticmethod
    def _token(response: requests.Response) -> tuple[str, float] | None:
        try:
            body = response.json()
        except ValueError:
            return None
        token = body.get("access_token") if isinstance(body, dict) else None
        if not isinstance(token, str) or not token:
            return None
        expires_in = body.get("expires_in")
        valid = isinstance(expires_in, int | float) and not isinstance(expires_in, bool) and expires_in > 0
        return token, float(expires_in) if valid else 3599.0

    def _refused(self, response: requests.Response) -> str:
        code = _error_code(response)
        detail = f"HTTP {response.status_code}" + (f": {filter_secrets(code)}" if code else "")
        return (
            f"Listrak refused the OAuth2 client credentials at {self.url} ({detail}). Check the client ID and "
            "secret of the Listrak integration, that the integration is not paused, and that the IP address "
            "this connector runs from is on the integration's allowlist."
        )


@dataclass
class ListrakOAuth(DeclarativeAuthenticator):
    """``Authorization: Bearer <token>`` with the read's one access token (``ApiSession``)."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    token_url: str = "{{ config['token_url'] }}"
    client_id: str = "{{ config['credentials']['client_id'] }}"
    client_secret: str = "{{ config['credentials']['client_secret'] }}"

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._session = session_for(self.config)
        self._stream = str(parameters.get("name", ""))
        timeout, retries, max_wait, factor = _settings(self.config)
        self._endpoint = TokenEndpoint(
            url=_evaluate(self.token_url, self.config, parameters),
            client_id=_evaluate(self.client_id, self.config, parameters),
            client_secret=_evaluate(self.client_secret, self.config, parameters),
            timeout=timeout,
            retries=retries,
            max_wait=max_wait,
            backoff_factor=factor,
        )

    @property
    def auth_header(self) -> str:
        return "Authorization"

    @property
    def token(self) -> str:
        self._session.raise_if_refused(self._stream)
        return f"Bearer {self._session.token(self._endpoint.fetch).value}"

    @property
    def session(self) -> ApiSession:
        return self._session


@dataclass
class ApiKeyAuthenticator(DeclarativeAuthenticator):
    """The API-key contract's static key: Bearer, or Basic with ``account_id``; nothing sent once refused."""

    config: Config
    parameters: InitVar[Mapping[str, Any]]
    api_key: str = "{{ config['credentials']['api_key'] }}"
    account_id: str = ""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        self._session = session_for(self.config)
        key = _evaluate(self.api_key, self.config, parameters)
        account = _evaluate(self.account_id, self.config, parameters) if self.account_id else ""
        basic = base64.b64encode(f"{account}:{key}".encode()).decode()
        self._value = f"Basic {basic}" if self.account_id else f"Bearer {key}"

    @property
    def auth_header(self) -> str:
        return "Authorization"

    @property
    def token(self) -> str:
        self._session.raise_if_stopped()
        return self._value


class RefusedTokenBackoff(BackoffStrategy):
    """A request refused for its token is sent again at once (the CDK adds its one second)."""

    def backoff_time(self, response_or_exception: Any, attempt_count: int) -> float | None:
        if isinstance(response_or_exception, requests.Response) and response_or_exception.status_code == 401:
            return 0.001
        return None


@dataclass
class ListrakErrorHandler(DefaultErrorHandler):
    """The CDK's ``DefaultErrorHandler`` (filters, retries, backoff) after what only Listrak's rules decide."""

    def __post_init__(self, parameters: Mapping[str, Any]) -> None:
        super().__post_init__(parameters)
        self._session = session_for(self.config)
        self._stream = str(parameters.get("name", ""))
        self._resource = str(parameters.get("resource", ""))
        self._areas = tuple(area.strip() for area in str(parameters.get("api_areas", "")).split(",") if area.strip())
        credentials = self.config.get("credentials")
        self._auth_type = credentials.get("auth_type") if isinstance(credentials, Mapping) else None
        self._email_api = self._auth_type == "oauth2_client_credentials"
        if self._email_api:
            self.backoff_strategies = [RefusedTokenBackoff(), *(self.backoff_strategies or [])]

    def interpret_response(self, response_or_exception: Any) -> ErrorResolution:
        if not isinstance(response_or_exception, requests.Response):
            return super().interpret_response(response_or_exception)
        response = response_or_exception
        status = response.status_code
        self._session.note_status(status, "Retry-After" in response.headers)
        if 200 <= status < 300:
            self._session.answered(self._resource, self._areas)
        elif status == 401 and self._email_api:
            return self._refused_token(response)
        elif status in (401, 403) and not self._email_api:
            raise self._session.stop(CredentialsRejected(self._api_key_refusal(status)))
        elif status == 404 and self._email_api and _error_code(response) == GONE:
            _log.warning(
                f"Skipped {self._path(response)}: Listrak no longer has it (HTTP 404). It was probably deleted "
                "during the sync; the rest of the sync goes on."
            )
            return ErrorResolution(response_action=ResponseAction.IGNORE, failure_type=None, error_message="")
        return super().interpret_response(response)

    def _refused_token(self, response: requests.Response) -> ErrorResolution:
        refusal = self._session.refused(
            self._resource, bearer_value(response.request), self._area_refusal, self._rejection
        )
        if refusal.error is not None:
            raise refusal.error
        return ErrorResolution(
            response_action=ResponseAction.RETRY,
            failure_type=FailureType.transient_error,
            error_message=f"Listrak refused the access token for /{self._resource} (HTTP 401); retrying.",
        )

    def _area_refusal(self) -> AreaRefused:
        missing = tuple(area for area in self._areas if area not in self._session.granted_areas) or self._areas
        return AreaRefused(self._stream, self._resource, self._areas, missing)

    def _rejection(self) -> CredentialsRejected:
        needed = ", ".join(self._areas) or "List"
        return CredentialsRejected(
            f"Listrak rejected the credentials (HTTP 401, OAuth2 client credentials) for /{self._resource}, also "
            "with a new access token. Check the client ID and secret, that the integration is not paused, that "
            f"it has the API areas {needed}, and that the IP address this connector runs from is on the "
            "integration's allowlist."
        )

    def _api_key_refusal(self, status: int) -> str:
        method = "Basic auth with account_id" if self._auth_type == "basic" else "Bearer API key"
        if status == 401:
            what = "the API key and account_id" if self._auth_type == "basic" else "the API key"
            return f"Listrak rejected the credentials (HTTP 401, {method}). Check {what} in the connector settings."
        return (
            f"Listrak refused access to /{self._resource} (HTTP 403, {method}). The credentials are valid but "
            "lack permission for this resource."
        )

    def _path(self, response: requests.Response) -> str:
        path = urlsplit(response.request.url or "").path
        base = urlsplit(str(self.config.get("base_url", ""))).path.rstrip("/")
        return path[len(base) :] if base and path.startswith(base) else path
