"""Guards of every change to the CDK's behaviour (source_listrak/cdk_changes.py): each still applies,
and the shortcuts give exactly what the slow paths gave."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from datetime import UTC, datetime

import pytest
from airbyte_cdk.sources.types import StreamSlice

from source_listrak import cdk_changes, components
from source_listrak.cdk_changes import PENDING_PARTITIONS
from source_listrak.components import AddSyncTimestamp
from source_listrak.json_pages import loads
from source_listrak.source import SourceListrak


@pytest.mark.parametrize(
    "number",
    [2**64, 2**64 + 1, -(2**63) - 1, -(10**19) - 7, 10**30, 123456789012345678901234567890],
)
def test_integers_beyond_64_bits_are_read_exactly(number: int) -> None:
    body = f'{{"events": [{{"id": {number}, "n": 1}}]}}'.encode()
    assert loads(body) == {"events": [{"id": number, "n": 1}]}


def test_bodies_without_long_digit_runs_read_like_the_standard_library() -> None:
    body = json.dumps({"a": [1, -(2**63), 2**64 - 1, 1.5, "x" * 30, "2026-01-31T10:00:00.123456Z", None]}).encode()
    assert loads(body) == json.loads(body)


def test_nesting_deeper_than_orjson_allows_is_still_read() -> None:
    depth = 3000
    body = ('{"k":' * depth + "1" + "}" * depth).encode()
    value = loads(body)
    for _ in range(depth):
        value = value["k"]
    assert value == 1


def test_sync_timestamps_follow_the_clock_across_seconds(monkeypatch: pytest.MonkeyPatch) -> None:
    second = int(datetime(2026, 11, 22, 23, 59, 59, tzinfo=UTC).timestamp())
    clock = iter([second * 10**9 + 5_000, second * 10**9 + 999_999_000, (second + 1) * 10**9 + 42_000])
    monkeypatch.setattr(components.time, "time_ns", lambda: next(clock))
    stamp = AddSyncTimestamp(parameters={})
    stamps = []
    for _ in range(3):
        record: dict = {}
        stamp.transform(record)
        stamps.append(record["sync_timestamp"])
    assert stamps == ["2026-11-22T23:59:59.000005Z", "2026-11-22T23:59:59.999999Z", "2026-11-23T00:00:00.000042Z"]


def test_partition_generators_wait_once_a_bounded_number_of_partitions_is_pending() -> None:
    pool = SourceListrak()._concurrent_source._threadpool
    release = threading.Event()
    try:
        for _ in range(PENDING_PARTITIONS - 1):
            pool.submit(release.wait)
        assert not pool.prune_to_validate_has_reached_futures_limit()
        pool.submit(release.wait)
        assert pool.prune_to_validate_has_reached_futures_limit()
    finally:
        release.set()
        pool._threadpool.shutdown(wait=True)
    assert not pool.prune_to_validate_has_reached_futures_limit()
    assert 16 < PENDING_PARTITIONS < 10_000  # above the most generators at once (32 workers / 2)


def test_a_fresh_start_skips_attribute_docs_and_still_serialises_messages_exactly() -> None:
    script = """
import json
import os
import subprocess
import sys
import threading
import source_listrak
import serpyco_rs._utils
from airbyte_cdk.models import AirbyteMessageSerializer
assert serpyco_rs._utils._get_attributes_doc is source_listrak.cdk_changes._no_attribute_docs
record = {"type": "RECORD", "record": {"stream": "events", "data": {"id": "7", "n": 2**63}, "emitted_at": 1}}
state = {"type": "STATE", "state": {"type": "STREAM", "stream": {"stream_descriptor": {"name": "events"},
         "stream_state": {"event_timestamp": "2026-01-01T00:00:00Z"}}}}
for message in (record, state):
    assert AirbyteMessageSerializer.dump(AirbyteMessageSerializer.load(message)) == message, message
print("ok")
"""
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert completed.stdout.strip() == "ok", completed.stderr[-2000:]


def test_every_change_was_verified_against_the_installed_cdk_before_it_was_applied() -> None:
    # Checked when each change was applied (the replaced code is ours from then on).
    assert {name: cdk_changes.applies(name) for name in cdk_changes.CHANGES} == dict.fromkeys(cdk_changes.CHANGES, True)
    cdk_changes.verify()
    assert cdk_changes.fingerprint("airbyte_cdk.sources.types:StreamSlice.__setitem__") == "0d57cbb2788d36b9"


def test_a_change_whose_cdk_code_changed_is_not_applied_and_stops_the_connector_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    changed = cdk_changes.Change("iso_cursor_parser", {"airbyte_cdk.sources.types:StreamSlice.__hash__": "0" * 16})
    monkeypatch.setitem(cdk_changes.CHANGES, "iso_cursor_parser", changed)
    monkeypatch.setattr(cdk_changes, "_checked", {})
    monkeypatch.setattr(cdk_changes, "_mismatches", {})
    assert not cdk_changes.applies("iso_cursor_parser")
    with pytest.raises(cdk_changes.CdkChangeMissing, match="'iso_cursor_parser' was verified on airbyte-cdk 7.39.1"):
        SourceListrak()


def test_a_benchmark_can_switch_a_speed_change_off_but_not_a_correctness_one() -> None:
    script = (
        "from source_listrak import cdk_changes\n"
        "from source_listrak.source import SourceListrak\n"
        "pool = SourceListrak()._concurrent_source._threadpool\n"
        "print(pool._max_concurrent_tasks, cdk_changes.applies('iso_cursor_parser'))\n"
    )
    env = {**os.environ, "LISTRAK_CDK_CHANGES_OFF": "pending_partitions_bound,iso_cursor_parser"}
    completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env)
    assert completed.stdout.split() == ["10000", "True"], completed.stderr[-2000:]


def test_a_cursor_with_seven_fraction_digits_is_read_by_the_state_converter() -> None:
    from airbyte_cdk.sources.streams.concurrent.state_converters import datetime_stream_state_converter as module

    converter = module.CustomFormatConcurrentStreamStateConverter(
        datetime_format="%Y-%m-%dT%H:%M:%S.%fZ", input_datetime_formats=["%Y-%m-%dT%H:%M:%S.%fZ"]
    )
    assert converter.parse_timestamp("2026-03-01T08:00:00.1234567Z") == datetime(2026, 3, 1, 8, 0, 0, 123456, UTC)


def test_the_configured_timeout_reaches_every_requester_parents_included() -> None:
    manifest = {
        "streams": [
            {"retriever": {"requester": {"type": "HttpRequester", "read_timeout_in_seconds": 30}}},
            {
                "retriever": {
                    "requester": {"type": "HttpRequester"},
                    "partition_router": {
                        "parent_stream_configs": [{"stream": {"retriever": {"requester": {"type": "HttpRequester"}}}}]
                    },
                }
            },
        ]
    }
    cdk_changes.set_request_timeouts(manifest, 7.5)
    first = manifest["streams"][0]["retriever"]
    second = manifest["streams"][1]["retriever"]
    parent = second["partition_router"]["parent_stream_configs"][0]["stream"]["retriever"]  # type: ignore[index]
    requesters = [first["requester"], second["requester"], parent["requester"]]  # type: ignore[index]
    assert all(r["read_timeout_in_seconds"] == r["connect_timeout_in_seconds"] == 7.5 for r in requesters)


@pytest.mark.parametrize(
    ("bound", "round_up", "wall_time"),
    [
        ("2019-01-14T17:44:40.000000Z", False, "2019-01-14T12:44:40"),  # EST
        ("2015-08-31T20:02:41.650000Z", False, "2015-08-31T16:02:41"),  # EDT, fraction cut
        ("2015-08-31T20:02:41.650000Z", True, "2015-08-31T16:02:42"),  # an end bound rounds up
        ("2025-11-02T05:30:00.000000Z", False, "2025-11-02T01:30:00"),  # the first 01:30 of fall back
        ("2025-11-02T06:30:00.000000Z", False, "2025-11-02T01:30:00"),  # and the second
    ],
)
def test_templates_write_slice_bounds_as_listrak_wall_time(bound: str, round_up: bool, wall_time: str) -> None:
    from airbyte_cdk.sources.declarative.interpolation.interpolated_string import InterpolatedString

    cdk_changes.add_api_time_macro()
    template = "{{ to_api_time(stream_interval.start_time, config['api_timezone'], " + str(round_up) + ") }}"
    rendered = InterpolatedString.create(template, parameters={}).eval(
        {"api_timezone": "America/New_York"}, stream_slice={"start_time": bound}
    )
    assert rendered == wall_time


class _Partition:
    def __init__(self, stream_slice: StreamSlice) -> None:
        self._slice = stream_slice

    def to_slice(self) -> StreamSlice:
        return self._slice


def test_a_global_cursor_drops_the_cursor_of_each_partition_once_it_is_done() -> None:
    # Building the source registers the secret for masking in every later message of this process.
    secret = "partition-cursor-guard-secret-0123456789"
    credentials = {"auth_type": "oauth2_client_credentials", "client_id": "guard-client", "client_secret": secret}
    config = {"credentials": credentials}
    streams = {stream.name: stream for stream in SourceListrak(None, config, None).streams(config)}
    cursor = streams["message_activity"].cursor  # type: ignore[attr-defined]
    assert cursor._use_global_cursor
    keys = []
    for message_id in (7, 8):
        parent = StreamSlice(partition={"listId": 1, "messageId": message_id}, cursor_slice={})
        slices = list(cursor._generate_slices_from_partition(parent, {}))
        keys.append(cursor._to_partition_key(parent.partition))
        assert slices and keys[-1] in cursor._cursor_per_partition
        for stream_slice in slices:
            cursor.close_partition(_Partition(stream_slice))
    assert not any(key in cursor._cursor_per_partition for key in keys)
    assert cursor.state["use_global_cursor"] is True
