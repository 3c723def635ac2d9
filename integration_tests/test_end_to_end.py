"""The installed `source-listrak` command against the emulator over loopback, as a user runs it.

Every expectation comes from the emulator's own model of the contract, never from typed numbers.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from listrak_emulators.sdk_example import Emulator, Faults, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, full_refresh, incremental, keyed, single_key
from listrak_testkit.harness import (
    Run,
    comparable,
    configured_catalog,
    run_connector,
)

INCREMENTAL_STREAMS = incremental(SDK_EXAMPLE_STREAMS)
SMALL = Sizes(contacts=120, campaigns=20, events=600, custom_fields=5, interests=4, segments=3, sources=1100)
OUTPUTS: list[tuple[str, str]] = []  # (api key, output) of every run, scanned for secrets at the end


def bearer_config(emulator: Emulator, **overrides: object) -> dict:
    return {
        "credentials": {"auth_type": "api_key", "api_key": emulator.api_key},
        "base_url": emulator.base_url,
        "requests_per_second": 0,
        "backoff_factor_seconds": 0,
        "max_retry_wait_seconds": 3,
        "concurrency": 8,
        "window_days": 30,
        **overrides,
    }


def basic_config(emulator: Emulator, **overrides: object) -> dict:
    credentials = {"auth_type": "basic", "account_id": emulator.account_id, "api_key": emulator.api_key}
    return {**bearer_config(emulator, **overrides), "credentials": credentials}


def seed_000_config(emulator: Emulator) -> dict:
    """The flat, all-strings configuration of the seed-000 example, plus where the API is."""
    return {
        "api_key": emulator.api_key,
        "initial_sync_days": "90",
        "max_records_per_page": "100",
        "request_timeout_seconds": "30",
        "retry_attempts": "3",
        "enable_incremental_sync": "true",
        "base_url": emulator.base_url,
        "requests_per_second": "0",
    }


def run(command: str, emulator: Emulator, config: dict, **kwargs: object) -> Run:
    result = run_connector(command, config, **kwargs)  # type: ignore[arg-type]
    OUTPUTS.append((emulator.api_key, result.output))
    return result


def expected(emulator: Emulator, stream: str) -> list[dict]:
    if stream in INCREMENTAL_STREAMS:  # the default 90-day initial window
        return emulator.expected_records(stream, start=datetime.now(UTC) - timedelta(days=90))
    return emulator.expected_records(stream)


def as_multiset(records: list[dict]) -> Counter:
    return Counter(json.dumps(comparable(record), sort_keys=True) for record in records)


@pytest.fixture
def emulator():
    with Emulator(seed=11, sizes=SMALL, api_key="e2e-key-7f3a9c51d2", account_id="acct-e2e") as emu:
        yield emu


def test_spec_lists_every_auth_method_and_marks_its_secret() -> None:
    result = run_connector("spec")
    (spec,) = result.of_type("SPEC")
    credentials = spec["spec"]["connectionSpecification"]["properties"]["credentials"]
    options = {option["properties"]["auth_type"]["const"]: option for option in credentials["oneOf"]}
    assert list(options) == ["oauth2_client_credentials", "api_key", "basic"]
    secret = {"oauth2_client_credentials": "client_secret", "api_key": "api_key", "basic": "api_key"}
    for auth_type, option in options.items():
        secrets = {name for name, field in option["properties"].items() if field.get("airbyte_secret")}
        assert secrets == {secret[auth_type]}, auth_type
        assert secret[auth_type] in option["required"], auth_type


@pytest.mark.parametrize("make_config", [bearer_config, basic_config, seed_000_config])
def test_check_succeeds_with_each_way_of_configuring_credentials(emulator: Emulator, make_config) -> None:
    result = run("check", emulator, make_config(emulator))
    assert result.connection_status() == {"status": "SUCCEEDED"}
    assert {entry.auth_scheme for entry in emulator.request_log} == {
        "Basic" if make_config is basic_config else "Bearer"
    }


@pytest.mark.parametrize(("make_config", "method"), [(bearer_config, "Bearer API key"), (basic_config, "Basic")])
def test_check_with_a_wrong_key_names_the_method_without_a_traceback(emulator: Emulator, make_config, method) -> None:
    config = make_config(emulator)
    config["credentials"]["api_key"] = "wrong-key-4d2c8e"
    result = run("check", emulator, config)
    status = result.connection_status()
    assert status["status"] == "FAILED"
    assert "HTTP 401" in status["message"] and method in status["message"]
    assert "Traceback" not in result.output
    assert "wrong-key-4d2c8e" not in result.output


def test_discover_lists_every_stream_with_keys_and_cursors(emulator: Emulator) -> None:
    (catalog,) = run("discover", emulator, bearer_config(emulator)).of_type("CATALOG")
    streams = {stream["name"]: stream for stream in catalog["catalog"]["streams"]}
    assert list(streams) == list(SDK_EXAMPLE_STREAMS)
    for name, expected_stream in SDK_EXAMPLE_STREAMS.items():
        key = [[column] for column in expected_stream.primary_key]
        assert (streams[name].get("source_defined_primary_key") or []) == key, name
        cursor = [expected_stream.cursor_field] if expected_stream.cursor_field else None
        assert streams[name].get("default_cursor_field") == cursor, name


def test_read_of_all_streams_equals_the_emulators_expected_output(emulator: Emulator) -> None:
    result = run("read", emulator, bearer_config(emulator), catalog=configured_catalog())
    assert result.returncode == 0, result.errors()
    for stream in SDK_EXAMPLE_STREAMS:
        records = result.records(stream)
        assert as_multiset(records) == as_multiset(expected(emulator, stream)), stream
        assert all(record["sync_timestamp"].endswith("Z") for record in records)
    for stream, entry in keyed(SDK_EXAMPLE_STREAMS).items():
        key = single_key(entry)
        keys = [record[key] for record in result.records(stream)]
        assert len(keys) == len(set(map(repr, keys))), f"duplicate primary keys in {stream}"


def test_second_sync_reads_only_what_arrived_after_the_first(emulator: Emulator) -> None:
    catalog = configured_catalog(list(INCREMENTAL_STREAMS))
    first = run("read", emulator, bearer_config(emulator), catalog=catalog)
    saved = {
        message["stream"]["stream_descriptor"]["name"]: message["stream"]["stream_state"]
        for message in first.final_state_messages()
    }
    added = {stream: emulator.add_records(stream, 7) for stream in INCREMENTAL_STREAMS}

    second = run("read", emulator, bearer_config(emulator), catalog=catalog, state=first.final_state_messages())

    for stream, entry in INCREMENTAL_STREAMS.items():
        cursor = entry.cursor_field
        new = {json.dumps(comparable(r), sort_keys=True) for r in emulator.expected_records(stream)[-7:]}
        got = as_multiset(second.records(stream))
        assert new <= set(got), stream
        boundary = [json.loads(r) for r in set(got) - new]
        saved_at = datetime.fromisoformat(saved[stream][cursor])
        assert all(datetime.fromisoformat(record[cursor]) == saved_at for record in boundary), stream
        assert len(added[stream]) == 7


def test_the_seed_000_flat_string_config_reads_unchanged(emulator: Emulator) -> None:
    result = run("read", emulator, seed_000_config(emulator), catalog=configured_catalog(["events", "sources"]))
    assert as_multiset(result.records("events")) == as_multiset(expected(emulator, "events"))
    assert as_multiset(result.records("sources")) == as_multiset(expected(emulator, "sources"))
    assert {entry.query.get("perPage") for entry in emulator.request_log if entry.path == "/events"} == {"100"}


def test_basic_auth_reads_every_stream(emulator: Emulator) -> None:
    result = run("read", emulator, basic_config(emulator), catalog=configured_catalog())
    assert sum(len(expected(emulator, s)) for s in SDK_EXAMPLE_STREAMS) == len(result.records())
    assert {entry.auth_scheme for entry in emulator.request_log} == {"Basic"}


def test_twenty_percent_mixed_faults_still_give_exactly_the_expected_records() -> None:
    faults = Faults(rate_429=0.07, rate_5xx=0.07, rate_drop=0.06, retry_after="mixed", retry_after_seconds=1)
    with Emulator(seed=5, sizes=SMALL, faults=faults) as emulator:
        config = bearer_config(emulator, max_records_per_page=20)  # ~100 requests, so faults surely occur
        result = run("read", emulator, config, catalog=configured_catalog())
        faulted = Counter(entry.fault for entry in emulator.request_log if entry.fault)
    assert result.returncode == 0, result.errors()
    assert sum(faulted.values()) >= 5, faulted
    for stream in SDK_EXAMPLE_STREAMS:
        assert as_multiset(result.records(stream)) == as_multiset(expected(emulator, stream)), stream


def test_retry_after_in_seconds_is_waited_before_the_same_request_is_sent_again() -> None:
    faults = Faults(rate_429=0.6, retry_after="seconds", retry_after_seconds=2)
    with Emulator(seed=2, sizes=SMALL, faults=faults) as emulator:
        catalog = configured_catalog(full_refresh(SDK_EXAMPLE_STREAMS))
        result = run("read", emulator, bearer_config(emulator), catalog=catalog)
        log = list(emulator.request_log)
    assert result.returncode == 0, result.errors()
    throttled = [entry for entry in log if entry.status == 429]
    assert throttled
    for entry in throttled:
        retry = next(e for e in log if e.time > entry.time and e.path == entry.path and e.query == entry.query)
        assert retry.time - entry.time >= 2.0


def test_a_bad_config_value_is_named_with_its_range_and_no_traceback(emulator: Emulator) -> None:
    config = seed_000_config(emulator) | {"max_records_per_page": "5000", "initial_sync_days": "ninety"}
    result = run("read", emulator, config, catalog=configured_catalog(["events"]))
    assert result.returncode != 0
    (message,) = result.errors()
    assert "max_records_per_page must be an integer from 1 to 1000 (got 5000)" in message
    assert "initial_sync_days must be an integer from 1 to 365 (got 'ninety')" in message
    assert "Traceback" not in result.output
    assert emulator.request_log == []


def test_a_revoked_key_fails_the_read_with_a_config_error_and_no_traceback(emulator: Emulator) -> None:
    config = bearer_config(emulator)
    config["credentials"]["api_key"] = "revoked-key-91b0"
    result = run("read", emulator, config, catalog=configured_catalog(["contacts"]))
    assert result.returncode != 0
    assert any("rejected the credentials (HTTP 401, Bearer API key)" in error for error in result.errors())
    assert "Traceback" not in result.output and "revoked-key-91b0" not in result.output


def test_no_api_key_or_basic_token_appeared_in_any_output() -> None:
    assert OUTPUTS, "runs after the others: no output was collected"
    for api_key, output in OUTPUTS:
        assert api_key not in output
        for account in ("acct-e2e", "emulator-account"):
            assert base64.b64encode(f"{account}:{api_key}".encode()).decode() not in output
