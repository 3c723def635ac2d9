"""The declarative source, built from the manifest packaged with this module."""

from __future__ import annotations

import base64
import logging
import threading
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any
from urllib.parse import quote_plus

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    Type,
)
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.sources.streams.concurrent.abstract_stream import AbstractStream
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak import cdk_changes
from source_listrak.components import IsoCursorParser
from source_listrak.config_errors import config_problems, uses_email_api

# Always the packaged copy: a manifest.yaml in the caller's working directory must not win.
MANIFEST_PATH = str(resources.files("source_listrak") / "manifest.yaml")

# How the manifest's error messages for rejected credentials begin, and the CDK's own for OAuth.
OUR_REJECTIONS = ("Listrak rejected the credentials", "Listrak refused access")
CDK_REJECTIONS = ("Refresh token was rejected", "Refreshed OAuth access token is rejected")
# The CDK words a refused token request for refresh tokens, which Listrak does not use.
TOKEN_REFUSED = (
    "Listrak refused the OAuth2 client credentials at {token_url} ({detail}). Check the client ID and "
    "secret of the Listrak integration, that the integration is not paused, and that the IP address this "
    "connector runs from is on the integration's allowlist."
)
# How long requests already sent may take to finish once credentials were rejected.
STOP_GRACE_SECONDS = 5.0

cdk_changes.use_iso_cursor_parser(IsoCursorParser)
cdk_changes.cache_stream_slice_hashes()
cdk_changes.add_api_time_macro()
cdk_changes.time_out_token_requests()
cdk_changes.release_finished_partition_cursors()


class SourceListrak(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: ConfiguredAirbyteCatalog | None = None,
        config: Mapping[str, Any] | None = None,
        state: list[AirbyteStateMessage] | None = None,
        config_path: str | None = None,
    ) -> None:
        self._requests_stopped = threading.Event()
        super().__init__(MANIFEST_PATH, catalog=catalog, config=config, state=state, config_path=config_path)
        cdk_changes.bound_record_queue(self._concurrent_source)
        cdk_changes.bound_pending_partitions(self._concurrent_source)
        cdk_changes.watch_workers(self._concurrent_source)
        cdk_changes.close_gate_on(self._concurrent_source, self._requests_stopped, _rejects_credentials)
        if config is None:
            return
        self._register_secrets(self._config)
        problems = config_problems(self._config, self.spec(self.logger).connectionSpecification)
        if problems:
            message = "Invalid configuration: " + " ".join(problems)
            raise AirbyteTracedException(
                message=message, internal_message=message, failure_type=FailureType.config_error
            )
        cdk_changes.set_request_timeouts(self._source_config, float(self._config["request_timeout_seconds"]))
        if uses_email_api(self._config):
            cdk_changes.set_check_streams(self._source_config, ["lists"])  # GET /List: token, IP, areas

    def streams(self, config: Mapping[str, Any]) -> list[AbstractStream]:
        streams = super().streams(config)
        budget = self._constructor._api_budget  # the one budget every stream just built shares
        if budget is not None:
            cdk_changes.gate_requests(budget, self._requests_stopped)
        return streams

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        self._register_secrets(self._config)  # the entrypoint's update_secrets() replaced the list
        status = super().check(logger, config)
        if status.message:
            status.message = filter_secrets(_rejection_text([status.message], self._config) or status.message)
        return status

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        self._register_secrets(self._config)
        return super().discover(logger, config)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        self._register_secrets(self._config)
        debug = logging.getLogger("airbyte").isEnabledFor(logging.DEBUG)
        messages = super().read(logger, config, catalog, state)
        for message in messages:
            error = message.trace.error if message.type == Type.TRACE and message.trace else None
            if error is not None:
                _clean(error, debug)
                reason = _rejection(error, self._config)
                if error.failure_type == FailureType.config_error and reason:
                    messages.close()  # type: ignore[attr-defined]  # the CDK's read is a generator
                    self._stop(reason)
            yield message

    def _stop(self, reason: str) -> None:
        """Rejected credentials end the whole sync: no new request, nothing more started."""
        self._requests_stopped.set()
        cdk_changes.stop_read(self._concurrent_source, STOP_GRACE_SECONDS)
        message = f"{reason} The sync stopped at the first rejection; state already saved stays valid."
        raise AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)

    def release_workers(self) -> None:
        """Lets the worker threads of a read that ended in an error finish (the CDK leaves them waiting)."""
        cdk_changes.release_workers(self._concurrent_source)

    @staticmethod
    def _register_secrets(config: Mapping[str, Any]) -> None:
        credentials = config.get("credentials")
        if not isinstance(credentials, Mapping):
            return
        client_secret = str(credentials.get("client_secret") or "")
        if client_secret:
            add_to_secrets(client_secret)
            add_to_secrets(quote_plus(client_secret))  # as it appears in a form-encoded token request
        api_key = str(credentials.get("api_key") or "")
        if not api_key:
            return
        add_to_secrets(api_key)
        account_id = str(credentials.get("account_id") or "")
        add_to_secrets(base64.b64encode(f"{account_id}:{api_key}".encode()).decode())


def _clean(error: Any, debug: bool) -> None:
    """Per-stream errors come from the CDK unfiltered: no secret, and no stack trace unless debugging."""
    error.message = filter_secrets(error.message) if error.message else error.message
    if error.internal_message:
        error.internal_message = filter_secrets(error.internal_message)
    error.stack_trace = filter_secrets(error.stack_trace) if debug and error.stack_trace else None


def _rejection(error: Any, config: Mapping[str, Any]) -> str | None:
    return _rejection_text([error.message or "", error.internal_message or ""], config)


def _rejection_text(texts: list[str], config: Mapping[str, Any]) -> str | None:
    """What to tell the user when a text reports rejected credentials (None when it does not).

    After a refused token refresh the CDK puts its own fixed text first and quotes the manifest's
    message inside its internal one; a refused token request it words for refresh tokens."""
    for text in texts:
        for ours in OUR_REJECTIONS:
            if ours in text:
                return text[text.index(ours) :].rstrip("'").strip()
    joined = " ".join(texts)
    if any(cdk in joined for cdk in CDK_REJECTIONS):
        detail = joined.split("Provider error: ", 1)[1].split(".")[0] if "Provider error: " in joined else "HTTP 400"
        return TOKEN_REFUSED.format(token_url=config.get("token_url", "the token URL"), detail=detail.strip())
    return None


def _rejects_credentials(exception: Exception) -> bool:
    return (
        isinstance(exception, AirbyteTracedException)
        and exception.failure_type == FailureType.config_error
        and _rejection_text([exception.message or "", exception.internal_message or ""], {}) is not None
    )
