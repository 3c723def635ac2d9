"""Every stream of the API-key configurations together: the catalog, ``sync_timestamp`` on every record of
every stream, records valid against the stream's own schema, and the credential on every request."""

from __future__ import annotations

import re
from typing import Any

from airbyte_cdk.models import SyncMode
from airbyte_cdk.test.entrypoint_wrapper import discover
from jsonschema import Draft7Validator

from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS
from source_listrak import SourceListrak
from unit_tests.connector import bearer_config, read_streams, records
from unit_tests.fake_listrak import (
    FakeListrak,
    api_campaign,
    api_contact,
    api_event,
    authorization,
    hal_collection,
    iso,
    recent,
)

UTC_Z = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def discovered(config: dict[str, Any]) -> dict[str, Any]:
    output = discover(SourceListrak(config=config), config)
    return {stream.name: stream for stream in output.catalog.catalog.streams}


def test_discover_lists_every_stream_with_keys_and_cursors(api_key: str) -> None:
    streams = discovered(bearer_config(api_key))

    assert list(streams) == list(SDK_EXAMPLE_STREAMS)
    for name, stream in streams.items():
        expected = SDK_EXAMPLE_STREAMS[name]
        assert (stream.source_defined_primary_key or None) == ([[c] for c in expected.primary_key] or None), name
        if expected.cursor_field:
            assert SyncMode.incremental in stream.supported_sync_modes, name
            assert stream.default_cursor_field == [expected.cursor_field], name
        else:
            assert stream.supported_sync_modes == [SyncMode.full_refresh], name
        assert "sync_timestamp" in stream.json_schema["properties"], name


def serve_every_stream(listrak: FakeListrak) -> None:
    listrak.serve_window("contacts", [api_contact("c1", iso(recent(2), offset_minutes=60), email="a@x.test")])
    listrak.serve_window("campaigns", [api_campaign(5, iso(recent(3), offset_minutes=-300), recipientsCount=9)])
    listrak.serve_window("events", [api_event("e1", iso(recent(4)), eventType="open", metadata={"a": {"b": 1}})])
    for path, items in {
        "custom-fields": [{"id": 1, "name": "tier", "type": "text"}],
        "interests": [{"id": 2, "name": "shoes"}],
        "segments": [{"id": 3, "name": "VIP", "number_of_contacts": 10}],
    }.items():
        listrak.serve(path, {"json": hal_collection([{**i, "_links": {"self": {}}} for i in items])})
    listrak.serve_offsets("sources", [{"id": 4, "name": "signup form", "_links": {"self": {}}}])
    listrak.serve("webhook-events", {"json": {"events": ["contact.created"], "_links": {"self": {}}}})


def test_every_record_of_every_stream_carries_sync_timestamp_in_utc_z(listrak: FakeListrak, api_key: str) -> None:
    serve_every_stream(listrak)

    output = read_streams(bearer_config(api_key), *SDK_EXAMPLE_STREAMS)

    assert not output.errors
    for stream in SDK_EXAMPLE_STREAMS:
        emitted = records(output, stream)
        assert len(emitted) == 1, stream
        assert UTC_Z.fullmatch(emitted[0]["sync_timestamp"]), (stream, emitted[0])


def test_every_record_is_valid_against_its_stream_schema(listrak: FakeListrak, api_key: str) -> None:
    serve_every_stream(listrak)
    config = bearer_config(api_key)
    schemas = {name: stream.json_schema for name, stream in discovered(config).items()}

    output = read_streams(config, *SDK_EXAMPLE_STREAMS)

    for stream in SDK_EXAMPLE_STREAMS:
        validator = Draft7Validator(schemas[stream], format_checker=Draft7Validator.FORMAT_CHECKER)
        for record in records(output, stream):
            problems = [error.message for error in validator.iter_errors(record)]
            assert not problems, (stream, record, problems)


def test_every_request_of_every_stream_carries_the_credential(listrak: FakeListrak, api_key: str) -> None:
    serve_every_stream(listrak)

    read_streams(bearer_config(api_key), *SDK_EXAMPLE_STREAMS)

    paths = {request.path.rsplit("/", 1)[-1] for request in listrak.requests()}
    assert paths == {
        "contacts",
        "campaigns",
        "events",
        "custom-fields",
        "interests",
        "segments",
        "sources",
        "webhook-events",
    }
    assert {authorization(request) for request in listrak.requests()} == {f"Bearer {api_key}"}
