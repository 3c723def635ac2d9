"""The declarative source, built from the manifest packaged with this module."""

from __future__ import annotations

import ast
import base64
import logging
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any, cast
from urllib.parse import quote_plus

from airbyte_cdk.models import (
    AirbyteCatalog,
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteStateMessage,
    ConfiguredAirbyteCatalog,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak import cdk_changes
from source_listrak.api_session import end_session, start_session
from source_listrak.area_check import areas_needed, check_areas, describe, stream_parents
from source_listrak.components import IsoCursorParser
from source_listrak.config_errors import config_problems, uses_email_api

# Always the packaged copy: a manifest.yaml in the caller's working directory must not win.
MANIFEST_PATH = str(resources.files("source_listrak") / "manifest.yaml")

cdk_changes.apply_to_process(IsoCursorParser)


class SourceListrak(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: ConfiguredAirbyteCatalog | None = None,
        config: Mapping[str, Any] | None = None,
        state: list[AirbyteStateMessage] | None = None,
        config_path: str | None = None,
    ) -> None:
        cdk_changes.verify()  # before any request: the CDK is still what the changes were verified on
        super().__init__(MANIFEST_PATH, catalog=catalog, config=config, state=state, config_path=config_path)
        cdk_changes.apply_to_read(self._concurrent_source)
        self._built_with_config = config is not None
        if config is None:
            return
        self._register_secrets(self._config)
        problems = config_problems(self._config, self.spec(self.logger).connectionSpecification)
        if problems:
            message = "Invalid configuration: " + " ".join(problems)
            raise AirbyteTracedException(
                message=message, internal_message=message, failure_type=FailureType.config_error
            )
        cdk_changes.set_request_timeouts(self.resolved_manifest, float(self._config["request_timeout_seconds"]))
        if not self._config.get("requests_per_second"):
            _without_request_budget(self.resolved_manifest)

    @property
    def normalized_config(self) -> Mapping[str, Any]:
        """The configuration after the manifest's normalisation rules (defaults, flat keys nested)."""
        return self._config

    def configure(self, config: Mapping[str, Any], temp_dir: str) -> Mapping[str, Any]:
        """The configuration the entrypoint validates and passes on: normalised (flat keys nested, numbers
        written as strings read), also by a source built without one."""
        if not self._built_with_config:
            return SourceListrak(config=config).normalized_config
        return super().configure(config, temp_dir)

    def check(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteConnectionStatus:
        if not self._built_with_config:  # the CDK builds streams from the constructor's config only
            return SourceListrak(config=config).check(logger, config)
        self._register_secrets(self._config)  # the entrypoint's update_secrets() replaced the list
        session = start_session(self._config)
        try:
            status = super().check(logger, config)
            if session.stopped is not None:  # why the credentials were refused, in Listrak's terms
                status = AirbyteConnectionStatus(status=Status.FAILED, message=session.stopped.message)
        finally:
            end_session(self._config)
        if status.status == Status.SUCCEEDED and uses_email_api(self._config):
            status = self._check_areas(logger)
        if status.message:
            status.message = filter_secrets(_unquoted(status.message))
        return status

    def _check_areas(self, logger: logging.Logger) -> AirbyteConnectionStatus:
        """The credentials work: which API areas answer, read one record per page (a source of its own)."""
        probe = SourceListrak(config={**self._config, "page_size": 1})
        session = start_session(probe.normalized_config)
        try:
            findings = check_areas(probe.streams(probe.normalized_config), session)
        except AirbyteTracedException as error:  # credentials refused in the meantime
            return AirbyteConnectionStatus(status=Status.FAILED, message=error.message)
        finally:
            end_session(probe.normalized_config)
        message, incomplete = describe(findings, areas_needed(self.resolved_manifest))
        if incomplete:
            logger.warning(message)
            return AirbyteConnectionStatus(status=Status.SUCCEEDED, message=message)
        return AirbyteConnectionStatus(status=Status.SUCCEEDED)

    def discover(self, logger: logging.Logger, config: Mapping[str, Any]) -> AirbyteCatalog:
        if not self._built_with_config:
            return SourceListrak(config=config).discover(logger, config)
        self._register_secrets(self._config)
        return super().discover(logger, config)

    def read(
        self,
        logger: logging.Logger,
        config: Mapping[str, Any],
        catalog: ConfiguredAirbyteCatalog,
        state: list[AirbyteStateMessage] | None = None,
    ) -> Iterator[AirbyteMessage]:
        """The CDK's read, with one error per failed stream and one for rejected credentials.

        What stops the whole read is decided by the components (``api_session``): once Listrak rejects the
        credentials, every later request is refused unsent, so the remaining partitions fail at once; here
        their errors are merged into one. A source built without a config (Airbyte's standard tests build
        one so) reads through one built with the config, catalog and state it is given."""
        if not self._built_with_config:
            yield from SourceListrak(catalog=catalog, config=config, state=state).read(logger, config, catalog, state)
            return
        self._register_secrets(self._config)
        debug = logging.getLogger("airbyte").isEnabledFor(logging.DEBUG)
        session = start_session(self._config)
        parents = stream_parents(self.resolved_manifest)
        failed: dict[str, str] = {}
        try:
            for message in super().read(logger, config, catalog, state):
                error = message.trace.error if message.type == Type.TRACE and message.trace else None
                if error is None:
                    yield message
                    continue
                stream = error.stream_descriptor.name if error.stream_descriptor else ""
                if session.stopped is not None or stream in failed:
                    continue  # reported once, below or already
                refused = session.refused_streams
                cause = next((refused[name] for name in (stream, *parents.get(stream, ())) if name in refused), None)
                if cause is not None:  # its endpoint, or a parent's, lacks an API area
                    error.message = error.internal_message = cause.message_for(stream)
                    error.failure_type = cause.failure_type
                _clean(error, debug)
                failed[stream] = error.message or ""
                yield message
        except AirbyteTracedException as error:
            if session.stopped is None and not failed:
                raise
            raise self._ended(session.stopped, failed) from None
        finally:
            end_session(self._config)
        if session.stopped is not None:
            raise self._ended(session.stopped, failed)

    @staticmethod
    def _ended(stopped: AirbyteTracedException | None, failed: Mapping[str, str]) -> AirbyteTracedException:
        if stopped is not None:
            message = f"{stopped.message} The sync stopped at the first rejection; state already saved stays valid."
            return AirbyteTracedException(message=message, internal_message=message, failure_type=stopped.failure_type)
        names = ", ".join(sorted(failed))
        message = (
            f"The sync could not read {len(failed)} stream(s): {names} (each error above says why). The other "
            "streams were read and their state saved."
        )
        return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.config_error)

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


def _without_request_budget(resolved_manifest: Mapping[str, Any]) -> None:
    """No request budget configured: the manifest's ``api_budget`` goes, so requests skip the rate limiter.

    A manifest cannot make ``api_budget`` depend on the config, and with a limit no sync reaches (the
    manifest's stand-in for "no budget") every request still passes pyrate_limiter: a moving-window
    check of ~40 µs of CPU under a lock all workers share (bench/README.md). The CDK reads
    ``api_budget`` when it builds the streams, after this; without one its HTTP clients take an empty
    budget that matches no request. (Manifest-only runs keep the stand-in: they run no Python here.)
    """
    manifest = cast(dict[str, Any], resolved_manifest)
    manifest.pop("api_budget", None)


def _unquoted(message: str) -> str:
    """The message itself where the CDK's declarative check reports ``repr(reason)`` (quoted, with every
    quote inside escaped); any other message unchanged."""
    try:
        value = ast.literal_eval(message)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return message
    return value if isinstance(value, str) else message


def _clean(error: Any, debug: bool) -> None:
    """Per-stream errors come from the CDK unfiltered: no secret, and no stack trace unless debugging."""
    error.message = filter_secrets(error.message) if error.message else error.message
    if error.internal_message:
        error.internal_message = filter_secrets(error.internal_message)
    error.stack_trace = filter_secrets(error.stack_trace) if debug and error.stack_trace else None
