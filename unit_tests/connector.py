"""Driving source-listrak in-process: configs, catalogs and state as the CDK wants them, and readers of
what the connector emitted."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from airbyte_cdk.models import AirbyteStateMessage, SyncMode
from airbyte_cdk.test.catalog_builder import CatalogBuilder
from airbyte_cdk.test.entrypoint_wrapper import EntrypointOutput, read
from airbyte_cdk.test.state_builder import StateBuilder

from listrak_testkit.catalogue import SDK_EXAMPLE, api_of, streams_of
from source_listrak import SourceListrak
from unit_tests.fake_listrak import BASE_URL

# What seed 000's own configuration file looks like: flat keys, every value a string.
SEED_000_FLAT = {
    "initial_sync_days": "90",
    "max_records_per_page": "100",
    "request_timeout_seconds": "30",
    "retry_attempts": "3",
    "enable_incremental_sync": "true",
}


def bearer_config(api_key: str, **overrides: Any) -> dict[str, Any]:
    """A nested API-key config aimed at the fake API; no request budget, tiny windows of work."""
    config: dict[str, Any] = {
        "credentials": {"auth_type": "api_key", "api_key": api_key},
        "base_url": BASE_URL,
        "requests_per_second": 0,
        "initial_sync_days": 3,
        "window_days": 7,
    }
    config.update(overrides)
    return config


def basic_config(account_id: str, api_key: str, **overrides: Any) -> dict[str, Any]:
    config = bearer_config(api_key, **overrides)
    config["credentials"] = {"auth_type": "basic", "account_id": account_id, "api_key": api_key}
    return config


def basic_header(account_id: str, api_key: str) -> str:
    return "Basic " + base64.b64encode(f"{account_id}:{api_key}".encode()).decode()


def catalog_for(*streams: str, sync_mode: SyncMode | None = None, api: str = SDK_EXAMPLE) -> Any:
    """A configured catalog of ``streams`` of ``api``: incremental where they can be, unless ``sync_mode``."""
    catalogue = streams_of(api)
    builder = CatalogBuilder()
    for name in streams:
        mode = sync_mode or (SyncMode.incremental if catalogue[name].incremental else SyncMode.full_refresh)
        builder.with_stream(name, mode)
    return builder.build()


def state_for(states: Mapping[str, Mapping[str, Any]] | None) -> list[AirbyteStateMessage] | None:
    if not states:
        return None
    builder = StateBuilder()
    for stream, value in states.items():
        builder.with_stream_state(stream, dict(value))
    return builder.build()


def read_streams(
    config: Mapping[str, Any],
    *streams: str,
    state: Mapping[str, Mapping[str, Any]] | list[AirbyteStateMessage] | None = None,
    sync_mode: SyncMode | None = None,
    expecting_exception: bool = False,
) -> EntrypointOutput:
    """The CDK builds streams from the constructor's arguments: give config, catalog and state to both."""
    catalog = catalog_for(*streams, sync_mode=sync_mode, api=api_of(config))
    state_messages = state if isinstance(state, list) else state_for(state)
    source = SourceListrak(catalog=catalog, config=dict(config), state=state_messages)
    return read(source, dict(config), catalog, state_messages, expecting_exception=expecting_exception)


def records(output: EntrypointOutput, stream: str | None = None) -> list[dict[str, Any]]:
    return [
        dict(message.record.data) for message in output.records if stream is None or message.record.stream == stream
    ]


def final_state(output: EntrypointOutput, stream: str) -> dict[str, Any]:
    """The last state the connector emitted for ``stream``."""
    states = [
        message.state.stream.stream_state
        for message in output.state_messages
        if message.state.stream and message.state.stream.stream_descriptor.name == stream
    ]
    assert states, f"no state emitted for {stream}"
    return dict(states[-1].__dict__)


def state_messages_of(output: EntrypointOutput) -> list[AirbyteStateMessage]:
    """The last state message per stream, ready to hand to the next read."""
    last: dict[str, AirbyteStateMessage] = {}
    for message in output.state_messages:
        last[message.state.stream.stream_descriptor.name] = message.state
    return list(last.values())


def error_messages(output: EntrypointOutput) -> list[str]:
    return [message.trace.error.message for message in output.errors]
