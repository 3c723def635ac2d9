"""The tests' stream catalogue (testkit/listrak_testkit/catalogue.py) against what does not come from `discover`:
the emulator's model of the SDK-example contract, the schema files, and the acceptance suite's files."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from listrak_emulators import sdk_example
from listrak_testkit.catalogue import (
    APIS,
    DISCOVERY_CONFIGS,
    EMAIL_API,
    SDK_EXAMPLE,
    SDK_EXAMPLE_STREAMS,
    api_of,
    incremental,
    streams_of,
)
from listrak_testkit.harness import configured_catalog
from source_listrak import SourceListrak
from unit_tests.connector import basic_config, bearer_config

ACCEPTANCE = Path(__file__).resolve().parent.parent / "integration_tests" / "acceptance"


def test_the_sdk_example_streams_are_the_emulators_with_its_output_keys_and_cursors() -> None:
    assert set(SDK_EXAMPLE_STREAMS) == set(sdk_example.STREAMS)
    assert set(incremental(SDK_EXAMPLE_STREAMS)) == set(sdk_example.WINDOWED)
    for name, (_, _, _, api_cursor) in sdk_example.WINDOWED.items():
        columns = dict(sdk_example.RENAMES[name])
        assert SDK_EXAMPLE_STREAMS[name].primary_key == (columns["id"],), name
        assert SDK_EXAMPLE_STREAMS[name].cursor_field == columns[api_cursor], name


@pytest.mark.parametrize("api", APIS)
def test_every_stream_has_the_schema_file_discover_reads_declaring_its_key_and_cursor(api: str) -> None:
    config = dict(DISCOVERY_CONFIGS[api])
    discovered = SourceListrak(config=config).discover(logging.getLogger("airbyte"), config).streams

    assert discovered and [stream.name for stream in discovered] == list(streams_of(api))
    for stream in discovered:
        entry = streams_of(api)[stream.name]
        schema = json.loads(entry.schema_file.read_text())
        assert schema == stream.json_schema, entry
        assert set(entry.primary_key) <= set(schema["properties"]), entry
        assert entry.cursor_field is None or entry.cursor_field in schema["properties"], entry


def test_the_credentials_choose_the_api() -> None:
    assert api_of(DISCOVERY_CONFIGS[EMAIL_API]) == EMAIL_API
    for config in (DISCOVERY_CONFIGS[SDK_EXAMPLE], bearer_config("k"), basic_config("a", "k"), {"api_key": "k"}):
        assert api_of(config) == SDK_EXAMPLE


def test_the_acceptance_catalogs_cover_every_stream_of_each_api() -> None:
    assert json.loads((ACCEPTANCE / "configured_catalog.json").read_text()) == configured_catalog()
    email_api = json.loads((ACCEPTANCE / "configured_catalog_email_api.json").read_text())
    assert email_api == configured_catalog(api=EMAIL_API)


def test_the_acceptance_future_state_covers_every_incremental_sdk_example_stream() -> None:
    states = {
        message["stream"]["stream_descriptor"]["name"]: message["stream"]["stream_state"]
        for message in json.loads((ACCEPTANCE / "abnormal_state.json").read_text())
    }
    assert {name: list(state) for name, state in states.items()} == {
        name: [stream.cursor_field] for name, stream in incremental(SDK_EXAMPLE_STREAMS).items()
    }
