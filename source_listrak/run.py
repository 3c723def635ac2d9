"""Command-line entry point: `source-listrak spec|check|discover|read ...`."""

from __future__ import annotations

import ctypes
import logging
import os
import sys
import threading
import time
from collections.abc import Sequence

import orjson
from airbyte_cdk.entrypoint import AirbyteEntrypoint, launch
from airbyte_cdk.logger import is_platform_debug_log_enabled
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

# How long an ending sync waits for its worker threads before leaving without them.
EXIT_GRACE_SECONDS = 3.0
M_ARENA_MAX = -8  # glibc's mallopt parameter number


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


def _report(error: AirbyteTracedException, command: str | None, debug: bool) -> int:
    """Print the error as the protocol expects, without a Python traceback; return the exit code."""
    message = error.as_sanitized_airbyte_message()
    if not debug and message.trace and message.trace.error:
        message.trace.error.stack_trace = None
    _print(message)
    if command == "check" and error.failure_type == FailureType.config_error:
        status = AirbyteConnectionStatus(status=Status.FAILED, message=filter_secrets(error.message or ""))
        _print(AirbyteMessage(type=Type.CONNECTION_STATUS, connectionStatus=status))
        return 0
    return 1


class _WithoutTraceback(logging.Filter):
    """Log lines keep their message and lose the stack trace; `--debug` shows it again."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True


def _exit(code: int, source: SourceListrak | None, threads_before: set[threading.Thread]) -> None:
    """Exit within seconds, even if a worker of this run still waits on the API (exit would join it)."""
    sys.stdout.flush()
    if source is not None:
        source.release_workers()
    started = [thread for thread in set(threading.enumerate()) - threads_before if not thread.daemon]
    deadline = time.monotonic() + EXIT_GRACE_SECONDS
    for thread in started:
        thread.join(max(0.0, deadline - time.monotonic()))
    if any(thread.is_alive() for thread in started):
        os._exit(code)
    sys.exit(code)


def _two_malloc_arenas() -> None:
    """glibc gives each worker thread a malloc arena of its own; pages freed in one are not reused by
    another, so at 8 workers and 5,000-record pages a read kept ~40 MB more (bench/README.md). Two
    arenas, as MALLOC_ARENA_MAX=2 gives, unless the environment chose; before any thread starts."""
    if "MALLOC_ARENA_MAX" in os.environ or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl has no arenas to bound)
        return
    libc.mallopt(M_ARENA_MAX, 2)


def run(args: Sequence[str] | None = None) -> None:
    _two_malloc_arenas()
    args = list(sys.argv[1:] if args is None else args)
    command = args[0] if args else None
    debug = "--debug" in args or is_platform_debug_log_enabled()
    if not debug:
        for handler in logging.getLogger().handlers:
            handler.addFilter(_WithoutTraceback())
    threads_before = set(threading.enumerate())
    source = None
    try:
        if command == "probe":  # not an Airbyte command: a report on the account, for a bug report
            from source_listrak.probe import main as probe

            _exit(probe(args[1:]), None, threads_before)
        source = create_source(args)
        launch(source, args)
    except AirbyteTracedException as error:
        _exit(_report(error, command, debug), source, threads_before)
    except Exception as error:  # noqa: BLE001 - last line of defence: a message, never a bare traceback
        error = AirbyteTracedException.from_exception(error, message=str(error))
        _exit(_report(error, command, debug), source, threads_before)

if __name__ == "__main__":
    run()
