"""Command-line entry point: `source-listrak spec|check|discover|read ...`."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.models import (
    AirbyteConnectionStatus,
    AirbyteMessage,
    AirbyteMessageSerializer,
    FailureType,
    Status,
    Type,
)
from airbyte_cdk.utils.airbyte_secrets_utils import filter_secrets
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak.source import SourceListrak


def create_source(args: Sequence[str]) -> SourceListrak:
    """The CDK builds streams from the constructor's config, so read --config/--catalog/--state first."""
    config_path = AirbyteEntrypoint.extract_config(list(args))
    catalog_path = AirbyteEntrypoint.extract_catalog(list(args))
    state_path = AirbyteEntrypoint.extract_state(list(args))
    return SourceListrak(
        catalog=SourceListrak.read_catalog(catalog_path) if catalog_path else None,
        config=SourceListrak.read_config(config_path) if config_path else None,
        state=SourceListrak.read_state(state_path) if state_path else None,
        config_path=config_path,
    )


def _print(message: AirbyteMessage) -> None:
    print(orjson.dumps(AirbyteMessageSerializer.dump(message)).decode(), flush=True)


def _report(error: AirbyteTracedException, command: str | None) -> int:
    """Print the error as the protocol expects, without a Python traceback; return the exit code."""
    message = error.as_sanitized_airbyte_message()
    if error.failure_type == FailureType.config_error and message.trace and message.trace.error:
        message.trace.error.stack_trace = None  # a config error is the user's to fix: the message says how
    _print(message)
    if command == "check" and error.failure_type == FailureType.config_error:
        status = AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(error.message or ""))
        _print(AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status))
        return 0
    return 1


def run(args: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if args is None else args)
    command = args[0] if args else None
    try:
        source = create_source(args)
        launch(source, args)
    except AirbyteTracedException as error:
        sys.exit(_report(error, command))
    except Exception as error:  # noqa: BLE001 - last line of defence: a message, never a bare traceback
        sys.exit(_report(AirbyteTracedException.from_exception(error, message=str(error)), command))


if __name__ == "__main__":
    run()
