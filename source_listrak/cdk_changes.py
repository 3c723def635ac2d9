"""The changes this connector still makes to airbyte-cdk's behaviour, each verified before it is applied.

Everything else the connector needs is a custom component named in the manifest. What is left here
cannot be: it changes how the CDK runs a read, not what a component does. Each change names the CDK
code it replaces or relies on and the SHA-256 of that code's source on airbyte-cdk 7.39.1 (the pinned
version). A change is applied only where its code is still what it was verified against; otherwise
``verify`` (called before any request: ``SourceListrak.__init__``) stops the connector with one line
naming the change. Upstream-ready write-ups of the CDK bugs among them: ``docs/cdk-upstream.md``.
Guard tests: ``unit_tests/test_cdk_changes.py``. Imported before anything else from the CDK
(``source_listrak/__init__.py``), because ``skip_attribute_docs`` must precede the CDK's import.

1. ``skip_attribute_docs`` (start-up). serpyco-rs reads every protocol class's source with ``inspect``
   and ``ast`` for attribute docstrings no message uses. ``source-listrak spec``, 12 pairs with and
   without it (farm-bench, 2026-12-06): median CPU 1.56 s against 1.96 s, ratio 0.81.
2. ``iso_cursor_parser`` (correctness; CDK bug). The CDK parses cursor values with ``strptime``, whose
   ``%f`` takes at most 6 fraction digits: a cursor Listrak sends with 7 fails to parse, and the state
   stays at the window start. ``IsoCursorParser`` reads them with ``fromisoformat``.
3. ``watch_workers`` (never hang; CDK bug). The main thread waits on the record queue without a
   timeout; a worker that dies outside the CDK's ``except Exception`` never sends its sentinel and the
   sync waits forever. ``release_workers`` lets the workers of a failed read end (the CDK leaves them
   waiting, so the process could not exit).
4. ``request_timeouts`` (configuration). ``request_timeout_seconds`` is written into every requester of
   the resolved manifest before streams are built: the requester's timeouts take no template.
5. ``api_time_macro`` (dates sent to Listrak). Listrak reads ``startDate``/``endDate`` as wall time in
   its own zone and no CDK template function converts time zones: ``to_api_time(utc, zone)``.
6. ``finished_partition_cursors``, ``pending_partitions_bound`` (memory): kept while ``bench/`` shows
   they gain, measured paired with and without them at default settings (figures in their
   docstrings). Dropped, since the Email API benchmark showed no gain of 5% in time or 10% in memory:
   ``record_queue_bound`` (2,000 records read ahead instead of 10,000; at 1M activity rows peak RSS
   185/191 MB with it, 193/194 MB without) and ``cached_slice_hash`` (the slice hash kept instead of
   recomputed; CPU 15.0/16.1 s with it, 14.8/14.4 s without, 282k records at no latency).
   The two kept, at 2,000 messages with 10 links and 5 recipients each (22,000 partitions:
   ``bench/email_api.py --messages 2000 --recipients 5 --links 10 --streams engagement --latency 0``),
   peak RSS 133 and 133 MB with both, 190 and 191 MB without ``finished_partition_cursors``, 168 and
   186 MB without ``pending_partitions_bound``.

Benchmarks switch changes of group 6 (and 1) off with ``LISTRAK_CDK_CHANGES_OFF=name,name``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import inspect
import os
from collections.abc import Mapping
from dataclasses import dataclass
from queue import Empty, Queue
from typing import Any

VERIFIED_CDK = "7.39.1"
SWITCH = "LISTRAK_CDK_CHANGES_OFF"
PENDING_PARTITIONS = 2_500
WORKER_POLL_SECONDS = 1.0


@dataclass(frozen=True)
class Change:
    name: str
    # "module:qualified.name" of the code the change replaces or relies on, and its source's SHA-256.
    verified: Mapping[str, str]
    optional: bool = False  # a speed or memory change a benchmark may switch off


CHANGES = {
    change.name: change
    for change in (
        Change("skip_attribute_docs", {"attributes_doc:get_attributes_doc": "11e275cde6dc09b5"}, optional=True),
        Change(
            "iso_cursor_parser",
            {
                "airbyte_cdk.sources.streams.concurrent.state_converters.datetime_stream_state_converter:"
                "CustomFormatConcurrentStreamStateConverter.__init__": "95b78ac60150b19d",
            },
        ),
        Change(
            "watch_workers",
            {
                "airbyte_cdk.sources.concurrent_source.concurrent_source:ConcurrentSource.__init__": "283a38ad142d606e",
                "airbyte_cdk.sources.concurrent_source.concurrent_source:ConcurrentSource._consume_from_queue":
                    "b3053f5988ba5337",
                "airbyte_cdk.sources.concurrent_source.thread_pool_manager:ThreadPoolManager.__init__":
                    "51377076a482abdb",
            },
        ),
        Change(
            "request_timeouts",
            {
                "airbyte_cdk.sources.declarative.parsers.model_to_component_factory:"
                "ModelToComponentFactory.create_http_requester": "2ee40b915f4e5dcf",
            },
        ),
        Change(
            "api_time_macro",
            {"airbyte_cdk.sources.declarative.interpolation.jinja:JinjaInterpolation._eval": "567d462be61e160f"},
        ),
        Change(
            "finished_partition_cursors",
            {
                "airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor:"
                "ConcurrentPerPartitionCursor._cleanup_if_done": "9d8f9d97d992021e",
            },
            optional=True,
        ),
        Change(
            "pending_partitions_bound",
            {
                "airbyte_cdk.sources.concurrent_source.thread_pool_manager:ThreadPoolManager.__init__":
                    "51377076a482abdb",
                "airbyte_cdk.sources.concurrent_source.thread_pool_manager:"
                "ThreadPoolManager.prune_to_validate_has_reached_futures_limit": "a75639045677f3d2",
            },
            optional=True,
        ),
    )
}


def fingerprint(target: str) -> str:
    """The first 16 hex digits of the SHA-256 of ``module:qualified.name``'s source."""
    module, _, qualified = target.partition(":")
    found: Any = importlib.import_module(module)
    for part in qualified.split("."):
        found = getattr(found, part)
    return hashlib.sha256(inspect.getsource(found).encode()).hexdigest()[:16]


def _mismatch(change: Change) -> str | None:
    """Why the change no longer applies (None while its code is what it was verified against)."""
    for target, expected in change.verified.items():
        try:
            actual = fingerprint(target)
        except (ImportError, AttributeError, OSError, TypeError) as error:
            return f"{target} is gone ({type(error).__name__})"
        if actual != expected:
            return f"{target} changed"
    return None


_switched_off = {name.strip() for name in os.environ.get(SWITCH, "").split(",") if name.strip()}
_mismatches: dict[str, str] = {}
_checked: dict[str, bool] = {}


def applies(name: str) -> bool:
    """Whether change ``name`` is applied: verified against the installed CDK, and not switched off."""
    change = CHANGES[name]
    if change.optional and name in _switched_off:
        return False
    if name not in _checked:
        problem = _mismatch(change)
        _checked[name] = problem is None
        if problem is not None:
            _mismatches[name] = problem
    return _checked[name]


# ---------------------------------------------------------------- 1. attribute docs


def _no_attribute_docs(cls: type) -> dict[str, Any]:
    return {}


def skip_attribute_docs() -> None:
    """Before the CDK's models are imported: serpyco-rs reads the docs when it builds a serializer."""
    with contextlib.suppress(ImportError):  # a serpyco-rs without it has nothing to skip
        import attributes_doc

        if applies("skip_attribute_docs"):
            attributes_doc.get_attributes_doc = _no_attribute_docs


skip_attribute_docs()

from airbyte_cdk.models import FailureType  # noqa: E402
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource  # noqa: E402
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser  # noqa: E402
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import (  # noqa: E402
    ConcurrentPerPartitionCursor,
)
from airbyte_cdk.sources.declarative.interpolation import jinja  # noqa: E402
from airbyte_cdk.sources.streams.concurrent.state_converters import datetime_stream_state_converter  # noqa: E402
from airbyte_cdk.utils.traced_exception import AirbyteTracedException  # noqa: E402

from source_listrak.listrak_time import to_api_time  # noqa: E402


class CdkChangeMissing(AirbyteTracedException):
    """The installed airbyte-cdk differs where a change of this connector applies."""

    def __init__(self, message: str) -> None:
        super().__init__(message=message, internal_message=message, failure_type=FailureType.system_error)


def verify() -> None:
    """Stops the connector, before any request, when a change no longer matches the installed CDK."""
    for name in CHANGES:
        applies(name)
    if _mismatches:
        from importlib.metadata import version

        name, problem = next(iter(_mismatches.items()))
        raise CdkChangeMissing(
            f"This connector build does not work with the installed airbyte-cdk {version('airbyte-cdk')}: its "
            f"change '{name}' was verified on airbyte-cdk {VERIFIED_CDK} and {problem}. Install airbyte-cdk "
            f"{VERIFIED_CDK}, the version the connector pins."
        )


# ---------------------------------------------------------------- 2. cursor parser


def use_iso_cursor_parser(parser: type[DatetimeParser]) -> None:
    """The CDK's datetime state converters build ``DatetimeParser()`` from their module's globals."""
    if applies("iso_cursor_parser"):
        datetime_stream_state_converter.DatetimeParser = parser  # type: ignore[misc]


# ---------------------------------------------------------------- 3. never hang


def watch_workers(concurrent_source: ConcurrentSource) -> None:
    """The main thread's ``queue.get()`` ends the sync instead of waiting when no worker is left."""
    if not applies("watch_workers"):
        return
    queue: Queue[Any] = concurrent_source._queue
    pool = concurrent_source._threadpool
    wait_for_item = queue.get

    def get(block: bool = True, timeout: float | None = None) -> Any:
        if not block or timeout is not None:
            return wait_for_item(block, timeout)
        while True:
            try:
                return wait_for_item(True, WORKER_POLL_SECONDS)
            except Empty:
                futures = list(pool._futures)
                if all(future.done() for future in futures) and queue.empty():
                    raise _workers_lost(futures, pool._most_recently_seen_exception) from None

    queue.get = get  # type: ignore[method-assign]  # this queue only: other sources keep the CDK's


def _workers_lost(futures: list[Any], seen: BaseException | None) -> AirbyteTracedException:
    failures = [future.exception() for future in futures if not future.cancelled() and future.exception()]
    cause = failures[0] if failures else seen
    detail = f"{type(cause).__name__}: {cause}" if cause else "no error was reported"
    message = (
        "The sync stopped: a worker thread ended without reporting its result "
        f"({detail}). State was saved only for records already emitted; run the sync again."
    )
    return AirbyteTracedException(message=message, internal_message=message, failure_type=FailureType.system_error)


def release_workers(concurrent_source: ConcurrentSource) -> None:
    """Cancels partitions not yet started and lets idle workers end (the CDK does so only after a clean read)."""
    if applies("watch_workers"):
        concurrent_source._threadpool._threadpool.shutdown(wait=False, cancel_futures=True)


# ---------------------------------------------------------------- 4. request timeouts


def set_request_timeouts(resolved_manifest: Mapping[str, Any], seconds: float) -> None:
    """Every HttpRequester of the resolved manifest (parents of substreams included) times out after ``seconds``."""
    if not applies("request_timeouts"):
        return
    pending = [resolved_manifest]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("type") == "HttpRequester":
                item["read_timeout_in_seconds"] = item["connect_timeout_in_seconds"] = seconds
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)


# ---------------------------------------------------------------- 5. dates in the API's zone


def add_api_time_macro() -> None:
    if applies("api_time_macro"):
        jinja._ENVIRONMENT.globals["to_api_time"] = to_api_time


# ---------------------------------------------------------------- 6. speed and memory

_cleanup_if_done = ConcurrentPerPartitionCursor._cleanup_if_done


def _cleanup_and_release_cursor(self: ConcurrentPerPartitionCursor, partition_key: str) -> None:
    """The CDK's clean-up of a done partition (called under the cursor's lock), then its cursor too
    when the state is global: a done partition has no semaphore left."""
    _cleanup_if_done(self, partition_key)
    if self._use_global_cursor and partition_key not in self._semaphore_per_partition:
        self._cursor_per_partition.pop(partition_key, None)


def release_finished_partition_cursors() -> None:
    """A per-partition cursor keeps every partition's cursor until 25,000 exist, although with a global
    cursor (every Email API child stream) nothing uses it once the partition is done."""
    if applies("finished_partition_cursors"):
        ConcurrentPerPartitionCursor._cleanup_if_done = _cleanup_and_release_cursor  # type: ignore[method-assign]


def bound_pending_partitions(concurrent_source: ConcurrentSource) -> None:
    """Partition generators wait while this many tasks are pending (the CDK's bound is 10,000); it must
    exceed the generators running at once (half the workers, at most 16)."""
    if applies("pending_partitions_bound"):
        pool = concurrent_source._threadpool
        pool._max_concurrent_tasks = PENDING_PARTITIONS
        pool._logging_threshold = 2 * PENDING_PARTITIONS


def apply_to_process(cursor_parser: type[DatetimeParser]) -> None:
    """The changes that act on the CDK's classes and modules: once per process."""
    use_iso_cursor_parser(cursor_parser)
    add_api_time_macro()
    release_finished_partition_cursors()


def apply_to_read(concurrent_source: ConcurrentSource) -> None:
    """The changes that act on one source's concurrent machinery."""
    watch_workers(concurrent_source)
    bound_pending_partitions(concurrent_source)

