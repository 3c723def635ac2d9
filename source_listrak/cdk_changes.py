"""Every change this connector makes to airbyte-cdk's own behaviour, in one place.

Verified against airbyte-cdk 7.39.1, the version pyproject.toml pins. Imported before anything else
from the CDK (``source_listrak/__init__.py``), because the first change must precede the CDK's import.
Guard tests: ``unit_tests/test_cdk_changes.py`` (one or more per change, named after it).

1. ``skip_attribute_docs`` (start-up). serpyco-rs reads every protocol class's source code with
   ``inspect`` + ``ast`` to collect attribute docstrings for JSON-schema descriptions that no message
   uses: 0.45 s of each start. ``source-listrak spec``, 9 runs paired with and without it (2026-11-29):
   median wall ratio 0.78 (1.91 s without it).
2. ``use_iso_cursor_parser`` (correctness, then speed). The CDK parses cursor values with
   ``strptime``, whose ``%f`` takes at most 6 fraction digits: a cursor the API sent with 7 digits
   fails to parse and the state stays at the window start. ``fromisoformat`` reads them; it also
   avoids ``strptime``'s module lock, which serialised the workers (77% of samples at 4 workers).
   Data depends on it, so the connector stops at start-up if a converter built after the change
   does not use the parser.
3. ``bound_record_queue`` (memory). Records the workers may read ahead of the printing thread: the
   CDK's 10,000 held up to 50 MB more at 8 workers; 2,000 keep every worker busy. At default
   settings (95k events, 5 paired runs): peak 108 MB instead of 121 MB, wall ratio 1.01. Safe: the
   main thread never blocks on a full queue, only workers do.
4. ``watch_workers`` (never hang). The main thread waits on the record queue with no timeout; a
   worker that dies outside the CDK's ``except Exception`` (a ``BaseException``, or an error raised
   while reporting an error) never sends its sentinel and the sync waits forever. The queue's
   ``get`` now wakes every second and ends the sync with an error once no worker is left to answer.
5. ``gate_requests``, ``close_gate_on`` and ``stop_read`` (stop on rejected credentials). The CDK
   fails one partition at a time: with a revoked key a sync went on through every window of every
   stream (160 requests answered 401 in 19 s). The worker that meets the rejection closes a request
   gate that every request passes (the API budget's ``acquire_call``); the main thread then cancels
   queued partitions and drains the in-flight ones for a bounded time.
6. ``set_request_timeouts`` and ``set_check_streams`` (config). The requester's timeouts and the
   check's stream names are plain values in the manifest schema, not templates, so the configured
   ``request_timeout_seconds`` and the chosen API's first stream are written into the resolved
   manifest before streams are built.
7. ``cache_stream_slice_hashes`` (speed). The concurrent cursor looks each record's slice up in a
   dict twice, and ``StreamSlice.__hash__`` JSON-encodes and SHA-256s the slice every time: 7% of a
   sync's CPU. A slice is immutable (its ``__setitem__`` raises), so its hash can be kept. At default
   settings (95k events, 5 paired runs): median wall ratio 0.90.
8. ``add_api_time_macro`` (dates sent to Listrak). Listrak reads ``startDate``/``endDate`` as wall
   time in its own zone (US Eastern) and the CDK's templates know no time zones, so the templates
   get one function, ``to_api_time(utc_value, zone)``, that writes a slice bound in that zone.
9. ``time_out_token_requests`` (never hang). The CDK posts OAuth token requests without a timeout:
   a token endpoint that never answers would hang the sync. The request now times out after
   ``TOKEN_TIMEOUT_SECONDS`` and the CDK's own backoff retries it (for up to 5 minutes).
10. ``release_finished_partition_cursors`` (memory). A per-partition cursor keeps every partition's
   cursor object until 25,000 exist, although with a global cursor (every Email API child stream)
   neither the state nor any record uses them once the partition is done, so memory grew with the
   messages in the engagement window. A finished partition's cursor is now dropped when the cursor
   is global. 2,000 messages with 10 links and 5 recipients each (22,000 partitions, no latency,
   ``bench/email_api.py --messages 2000 --recipients 5 --streams engagement --latency 0``): peak
   RSS 207 and 216 MB without it, 171 MB with it.
11. ``bound_pending_partitions`` (memory). The CDK lets partition generators run ahead of the
   workers until 10,000 partitions wait to be read, each with its slice, future, cursor and semaphore
   (~5 KB, and the pages parsed meanwhile fragment around them): with 2,000 messages in the
   engagement window the click partitions reached that bound. While ``PENDING_PARTITIONS`` wait,
   generators pause (checking every 0.1 s) and the other workers read. It must exceed the
   generators running at once (half the workers, at most 16). At 1M activity rows (200 messages)
   the read takes as long with it as without (99.9 and 98.9 s, ``bench/email_api.py --repeat 1``).

None was dropped: each gains at default settings (measured with and without it, paired runs of the
same command against the same emulator).
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from queue import Empty, Queue
from typing import Any
from zoneinfo import ZoneInfo


def _no_attribute_docs(cls: type) -> dict[str, Any]:
    return {}


def skip_attribute_docs() -> None:
    try:
        import attributes_doc
    except ImportError:  # a serpyco-rs without it has nothing to skip
        return
    attributes_doc.get_attributes_doc = _no_attribute_docs


skip_attribute_docs()  # before the CDK's models are imported below

import requests  # noqa: E402
from airbyte_cdk.models import FailureType  # noqa: E402
from airbyte_cdk.sources.concurrent_source.concurrent_source import ConcurrentSource  # noqa: E402
from airbyte_cdk.sources.concurrent_source.stream_thread_exception import StreamThreadException  # noqa: E402
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser  # noqa: E402
from airbyte_cdk.sources.declarative.incremental.concurrent_partition_cursor import (  # noqa: E402
    ConcurrentPerPartitionCursor,
)
from airbyte_cdk.sources.declarative.interpolation import jinja  # noqa: E402
from airbyte_cdk.sources.streams.concurrent.state_converters import datetime_stream_state_converter  # noqa: E402
from airbyte_cdk.sources.streams.http.requests_native_auth import abstract_oauth  # noqa: E402
from airbyte_cdk.sources.types import StreamSlice  # noqa: E402
from airbyte_cdk.utils.traced_exception import AirbyteTracedException  # noqa: E402

RECORD_QUEUE_SIZE = 2_000
PENDING_PARTITIONS = 2_500
WORKER_POLL_SECONDS = 1.0


class CdkChangeMissing(AirbyteTracedException):
    def __init__(self, change: str, detail: str) -> None:
        message = (
            f"This connector build does not work with the installed airbyte-cdk: {change} no longer applies "
            f"({detail}). Install the airbyte-cdk version the connector pins."
        )
        super().__init__(message=message, internal_message=message, failure_type=FailureType.system_error)


# ---------------------------------------------------------------- 2. cursor parser


def use_iso_cursor_parser(parser: type[DatetimeParser]) -> None:
    """The CDK's datetime state converters look ``DatetimeParser`` up in their module when built."""
    module = datetime_stream_state_converter
    module.DatetimeParser = parser  # type: ignore[misc]
    converter = module.CustomFormatConcurrentStreamStateConverter(datetime_format="%Y-%m-%dT%H:%M:%S.%fZ")
    if not isinstance(getattr(converter, "_parser", None), parser):
        raise CdkChangeMissing("the ISO cursor parser", "the state converter no longer builds DatetimeParser()")


# ---------------------------------------------------------------- 3. and 4. the record queue


def bound_record_queue(concurrent_source: ConcurrentSource) -> None:
    concurrent_source._queue.maxsize = RECORD_QUEUE_SIZE


def watch_workers(concurrent_source: ConcurrentSource) -> None:
    """The main thread's ``queue.get()`` ends the sync instead of waiting when no worker is left."""
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


# ---------------------------------------------------------------- 5. stopping a read


class RequestsStopped(AirbyteTracedException):
    """Raised in a worker for a request the gate refused; the source reports why it stopped."""

    def __init__(self) -> None:
        message = "Request not sent: the sync is stopping."
        super().__init__(message=message, internal_message=message, failure_type=FailureType.config_error)


def gate_requests(api_budget: Any, stopped: threading.Event) -> None:
    """Every request of a source's streams passes its API budget first: refuse them once stopped."""
    acquire_call = api_budget.acquire_call

    def acquire_unless_stopped(request: Any, block: bool = True, timeout: float | None = None) -> None:
        if stopped.is_set():
            raise RequestsStopped()
        acquire_call(request, block=block, timeout=timeout)

    api_budget.acquire_call = acquire_unless_stopped


def release_workers(concurrent_source: ConcurrentSource) -> None:
    """Cancels partitions not yet started and lets idle workers end (the CDK does so only after a clean read)."""
    concurrent_source._threadpool._threadpool.shutdown(wait=False, cancel_futures=True)


def close_gate_on(
    concurrent_source: ConcurrentSource, stopped: threading.Event, fatal: Callable[[Exception], bool]
) -> None:
    """A worker that fails with a ``fatal`` error closes the request gate itself, before the main thread
    reads the error from the queue: other workers then send nothing more."""
    queue: Queue[Any] = concurrent_source._queue
    enqueue = queue.put

    def put(item: Any, block: bool = True, timeout: float | None = None) -> None:
        enqueue(item, block, timeout)
        if isinstance(item, StreamThreadException) and fatal(item.exception):
            stopped.set()  # after the error is queued: what the gate refuses from now on comes after it

    queue.put = put  # type: ignore[method-assign]


def stop_read(concurrent_source: ConcurrentSource, grace_seconds: float) -> None:
    """Cancels partitions not yet started; drains what in-flight ones produce until they end or time runs out."""
    pool = concurrent_source._threadpool
    release_workers(concurrent_source)
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(Empty):
            while True:
                concurrent_source._queue.get_nowait()
        if all(future.done() for future in list(pool._futures)):
            return
        time.sleep(0.02)


# ---------------------------------------------------------------- 6. timeouts


def set_check_streams(source_config: Mapping[str, Any], stream_names: list[str]) -> None:
    """``check`` reads the manifest's static stream list when it runs: the API's own first stream."""
    source_config["check"]["stream_names"] = stream_names


def set_request_timeouts(source_config: Mapping[str, Any], seconds: float) -> None:
    for requester in _requesters(source_config):
        requester["read_timeout_in_seconds"] = seconds
        requester["connect_timeout_in_seconds"] = seconds


def _requesters(node: Any) -> list[dict[str, Any]]:
    """Every HttpRequester in the resolved manifest, parents of substreams included."""
    found: list[dict[str, Any]] = []
    pending = [node]
    while pending:
        item = pending.pop()
        if isinstance(item, dict):
            if item.get("type") == "HttpRequester":
                found.append(item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return found


# ---------------------------------------------------------------- 7. slice hashes

_slice_hash = StreamSlice.__hash__


def _cached_slice_hash(self: StreamSlice) -> int:
    try:
        return self._listrak_hash  # type: ignore[attr-defined]
    except AttributeError:
        value = _slice_hash(self)
        self._listrak_hash = value  # type: ignore[attr-defined]
        return value


def cache_stream_slice_hashes() -> None:
    StreamSlice.__hash__ = _cached_slice_hash  # type: ignore[method-assign]


# ---------------------------------------------------------------- 8. dates in the API's zone


def to_api_time(value: str, zone: str, round_up: bool = False) -> str:
    """A UTC slice bound such as ``2026-01-14T17:44:40.5Z`` as Listrak's wall time, ``2026-01-14T12:44:40``
    in America/New_York; ``round_up`` takes the next whole second when there is a fraction."""
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if round_up and moment.microsecond:
        moment += timedelta(seconds=1)
    return moment.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%dT%H:%M:%S")


def add_api_time_macro() -> None:
    jinja._ENVIRONMENT.globals["to_api_time"] = to_api_time


# ---------------------------------------------------------------- 9. token request timeout

TOKEN_TIMEOUT_SECONDS = 60.0


class _RequestsWithTokenTimeout:
    """``requests`` as the CDK's OAuth module sees it: the same, except that a request times out."""

    def __getattr__(self, name: str) -> Any:
        return getattr(requests, name)

    @staticmethod
    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", TOKEN_TIMEOUT_SECONDS)
        return requests.request(method, url, **kwargs)


def time_out_token_requests() -> None:
    abstract_oauth.requests = _RequestsWithTokenTimeout()  # type: ignore[assignment]


# ---------------------------------------------------------------- 10. finished partitions' cursors

_cleanup_if_done = ConcurrentPerPartitionCursor._cleanup_if_done


def _cleanup_and_release_cursor(self: ConcurrentPerPartitionCursor, partition_key: str) -> None:
    """The CDK's clean-up of a done partition (called under the cursor's lock), then its cursor too
    when the state is global: a done partition has no semaphore left."""
    _cleanup_if_done(self, partition_key)
    if self._use_global_cursor and partition_key not in self._semaphore_per_partition:
        self._cursor_per_partition.pop(partition_key, None)


def release_finished_partition_cursors() -> None:
    ConcurrentPerPartitionCursor._cleanup_if_done = _cleanup_and_release_cursor  # type: ignore[method-assign]


# ---------------------------------------------------------------- 11. pending partitions


def bound_pending_partitions(concurrent_source: ConcurrentSource) -> None:
    """Partition generators wait while this many tasks (partitions to read, generators) are pending."""
    pool = concurrent_source._threadpool
    pool._max_concurrent_tasks = PENDING_PARTITIONS
    pool._logging_threshold = 2 * PENDING_PARTITIONS
