"""The declarative source, built from the manifest packaged with this module."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from importlib import resources
from typing import Any

from airbyte_cdk.models import AirbyteStateMessage, ConfiguredAirbyteCatalog, FailureType, Type
from airbyte_cdk.sources.declarative.yaml_declarative_source import YamlDeclarativeSource
from airbyte_cdk.utils.airbyte_secrets_utils import add_to_secrets, filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak.cdk_hot_paths import cache_stream_slice_hashes
from source_listrak.components import use_iso_cursor_parser
from source_listrak.config_errors import config_problems

# Always the packaged copy: a manifest.yaml in the caller's working directory must not win.
MANIFEST_PATH = str(resources.files("source_listrak") / "manifest.yaml")

# Records the worker threads may read ahead of the thread that prints them. The CDK's 10,000 held up
# to 50 MB more at 8 workers (bench/results/results.md); a few pages per worker keeps them all busy.
RECORD_QUEUE_SIZE = 2_000


class SourceListrak(YamlDeclarativeSource):
    def __init__(
        self,
        catalog: ConfiguredAirbyteCatalog | None = None,
        config: Mapping[str, Any] | None = None,
        state: list[AirbyteStateMessage] | None = None,
        config_path: str | None = None,
    ) -> None:
        use_iso_cursor_parser()
        cache_stream_slice_hashes()
        super().__init__(MANIFEST_PATH, catalog=catalog, config=config, state=state, config_path=config_path)
        self._bound_record_queue()
        if config is None:
            return
        self._register_secrets(self._config)
        problems = config_problems(self._config, self.spec(self.logger).connectionSpecification)
        if problems:
            message = "Invalid configuration: " + " ".join(problems)
            raise AirbyteTracedException(
                message=message, internal_message=message, failure_type=FailureType.config_error
            )
        if state and not self._config["enable_incremental_sync"]:
            # Incremental sync switched off: every sync reads the whole initial window.
            super().__init__(MANIFEST_PATH, catalog=catalog, config=config, config_path=config_path)
            self._bound_record_queue()
        self._apply_request_timeout(float(self._config["request_timeout_seconds"]))

    def check(self, logger: Any, config: Mapping[str, Any]) -> Any:
        self._register_secrets(self._config)  # the entrypoint's update_secrets() replaced the list
        status = super().check(logger, config)
        if status.message:
            status.message = filter_secrets(status.message)
        return status

    def discover(self, logger: Any, config: Mapping[str, Any]) -> Any:
        self._register_secrets(self._config)
        return super().discover(logger, config)

    def read(self, logger: Any, config: Mapping[str, Any], catalog: Any, state: Any = None) -> Iterator[Any]:
        self._register_secrets(self._config)
        for message in super().read(logger, config, catalog, state):
            error = message.trace.error if message.type == Type.TRACE and message.trace else None
            if error is not None:  # per-stream errors come from as_airbyte_message(), unfiltered
                error.message = filter_secrets(error.message) if error.message else error.message
                if error.internal_message:
                    error.internal_message = filter_secrets(error.internal_message)
                if error.stack_trace:
                    error.stack_trace = filter_secrets(error.stack_trace)
            yield message

    def _bound_record_queue(self) -> None:
        # A full queue blocks workers only; the main thread never blocks on it (ConcurrentMessageRepository).
        self._concurrent_source._queue.maxsize = RECORD_QUEUE_SIZE

    @staticmethod
    def _register_secrets(config: Mapping[str, Any]) -> None:
        credentials = config.get("credentials")
        if not isinstance(credentials, Mapping):
            return
        api_key = str(credentials.get("api_key") or "")
        if not api_key:
            return
        add_to_secrets(api_key)
        account_id = str(credentials.get("account_id") or "")
        add_to_secrets(base64.b64encode(f"{account_id}:{api_key}".encode()).decode())

    def _apply_request_timeout(self, seconds: float) -> None:
        """The requester's timeouts are plain numbers in the manifest schema, so set them from config."""
        for stream in self._source_config.get("streams", []):
            requester = stream.get("retriever", {}).get("requester", {})
            requester["read_timeout_in_seconds"] = seconds
            requester["connect_timeout_in_seconds"] = seconds
