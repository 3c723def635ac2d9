"""Reproductions of the airbyte-cdk bugs written up in docs/cdk-upstream.md, on the plain CDK.

Each test asserts the behaviour the CDK should have and fails on airbyte-cdk 7.39.1: it is marked
`xfail(strict=True)`, so the day a CDK release fixes a bug the test passes, the suite fails, and the
workaround in source_listrak/cdk_changes.py (or scripts/manifest_only.py) can go.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from airbyte_cdk.sources.declarative.datetime.datetime_parser import DatetimeParser
from airbyte_cdk.sources.declarative.parsers import custom_code_compiler
from airbyte_cdk.sources.streams.concurrent.state_converters import datetime_stream_state_converter
from airbyte_cdk.sources.streams.http.requests_native_auth import abstract_oauth
from airbyte_cdk.sources.streams.http.requests_native_auth.oauth import Oauth2Authenticator

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.harness import configured_catalog

CDK_BUG = pytest.mark.xfail(strict=True, reason="airbyte-cdk bug on 7.39.1: see docs/cdk-upstream.md")


@CDK_BUG
def test_the_plain_cdk_reads_a_cursor_value_with_seven_fraction_digits(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/cdk-upstream.md#1: `%f` takes at most six digits; .NET APIs such as Listrak's send seven."""
    monkeypatch.setattr(datetime_stream_state_converter, "DatetimeParser", DatetimeParser)  # the CDK's own
    converter = datetime_stream_state_converter.CustomFormatConcurrentStreamStateConverter(
        datetime_format="%Y-%m-%dT%H:%M:%S.%fZ", input_datetime_formats=["%Y-%m-%dT%H:%M:%S.%fZ"]
    )
    assert converter.parse_timestamp("2026-03-01T08:00:00.1234567Z") == datetime(2026, 3, 1, 8, 0, 0, 123456, UTC)


@CDK_BUG
def test_the_plain_cdk_ends_a_read_whose_worker_died_without_reporting() -> None:
    """docs/cdk-upstream.md#2: a worker that dies outside `except Exception` leaves the read waiting forever."""
    with Emulator(sizes=Sizes(contacts=20, campaigns=5, events=20)) as api, tempfile.TemporaryDirectory() as tmp:
        config = {"credentials": {"auth_type": "api_key", "api_key": api.api_key}, "base_url": api.base_url}
        Path(tmp, "config.json").write_text(json.dumps(config))
        Path(tmp, "catalog.json").write_text(json.dumps(configured_catalog(["contacts"])))
        script = f"""
from source_listrak import cdk_changes, components
cdk_changes._checked["watch_workers"] = False  # the plain CDK's read loop
class WorkerKilled(BaseException):
    pass
def extract_records(self, response):
    raise WorkerKilled("killed inside the worker")
components.EnvelopeExtractor.extract_records = extract_records
from source_listrak.run import run
run(["read", "--config", {tmp + "/config.json"!r}, "--catalog", {tmp + "/catalog.json"!r}])
"""
        try:
            completed = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=8)
        except subprocess.TimeoutExpired:
            pytest.fail("the read was still waiting for its dead worker after 8 s")
    assert completed.returncode != 0


@CDK_BUG
def test_the_plain_cdk_times_out_a_token_request(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/cdk-upstream.md#3: a token endpoint that never answers hangs the sync."""
    sent: dict[str, Any] = {}

    def request(method: str, url: str, **kwargs: Any) -> requests.Response:
        sent.update(kwargs)
        response = requests.Response()
        body = b'{"access_token": "upstream-reproduction-token-4f81", "expires_in": 3600}'
        response.status_code, response._content = 200, body
        return response

    monkeypatch.setattr(abstract_oauth.requests, "request", request)
    authenticator = Oauth2Authenticator(
        token_refresh_endpoint="https://auth.example.test/OAuth2/Token", client_id="id", client_secret="secret",
        refresh_token=None, grant_type="client_credentials",
    )
    assert authenticator.get_access_token() == "upstream-reproduction-token-4f81"  # registered as a secret: unique
    assert sent.get("timeout"), sent


@CDK_BUG
def test_the_plain_cdk_loads_injected_components_that_postpone_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/cdk-upstream.md#4: the module is executed before it is registered in sys.modules."""
    for name in ("components", "source_declarative_manifest.components"):
        monkeypatch.delitem(sys.modules, name, raising=False)
    code = (
        "from __future__ import annotations\n"
        "from dataclasses import InitVar, dataclass\n"
        "from typing import Any, Mapping\n\n"
        "@dataclass\n"
        "class Component:\n"
        "    parameters: InitVar[Mapping[str, Any]]\n"
    )
    module = custom_code_compiler.register_components_module_from_string(
        code, {"md5": hashlib.md5(code.encode()).hexdigest()}
    )
    assert module.Component(parameters={})


@CDK_BUG
def test_the_plain_cdk_reads_a_records_key_without_walking_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/cdk-upstream.md#5: `DpathExtractor` finds `data` with `dpath.get`, which visits every value of the
    page (`dpath.segments.fold` stops only at a second match). Counted, not timed: nodes visited."""
    import dpath.segments
    from airbyte_cdk.sources.declarative.extractors.dpath_extractor import DpathExtractor

    visited = 0
    walk = dpath.segments.walk

    def counting_walk(obj: Any, location: tuple[Any, ...] = ()) -> Any:
        nonlocal visited
        visited += 1
        return walk(obj, location)

    monkeypatch.setattr(dpath.segments, "walk", counting_walk)
    page = {"data": [{"id": i, "email": f"{i}@example.com", "open": True} for i in range(1000)], "nextPageCursor": None}
    response = requests.Response()
    response._content = json.dumps(page).encode()
    extractor = DpathExtractor(field_path=["data"], config={}, parameters={})
    assert len(list(extractor.extract_records(response))) == 1000
    assert visited < 10  # the body and its "data" key; today every record and every value: 4,000+


@CDK_BUG
def test_the_plain_cdk_hands_a_partitions_records_to_the_main_thread_a_page_at_a_time() -> None:
    """docs/cdk-upstream.md#6: `PartitionReader` puts every record into the thread queue by itself, and the
    main thread takes each out with two more acquisitions of the queue's lock. Counted, not timed: queue
    items for one partition of 1,000 records."""
    from queue import Queue

    from airbyte_cdk.sources.streams.concurrent.partition_reader import PartitionReader

    class Page:
        def read(self) -> list[dict[str, int]]:
            return [{"id": i} for i in range(1000)]

        def stream_name(self) -> str:
            return "activity"

    class NoCursor:
        def observe(self, record: Any) -> None:
            pass

        def close_partition(self, partition: Any) -> None:
            pass

    queue: Queue[Any] = Queue()
    PartitionReader(queue).process_partition(Page(), NoCursor())  # type: ignore[arg-type]
    assert queue.qsize() <= 10  # the records a page or a batch at a time, then the end of the partition; today 1,001
