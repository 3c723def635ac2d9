"""Configuration through the real entry point (`source_listrak.run.run`): out-of-range or non-numeric
values fail ``check`` and ``read`` with a config error naming the field and what it accepts, without a
Python traceback and without calling the API; seed 000's flat, all-string config works unchanged."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests_mock

from source_listrak import SourceListrak
from unit_tests.connector import SEED_000_FLAT, bearer_config
from unit_tests.fake_listrak import FakeListrak, api_event, hal_collection, iso, recent

DEFAULT_BASE_URL = "https://api.listrak.com/email/v1"
OUT_OF_RANGE = [
    ("max_records_per_page", 0, "from 1 to 1000"),
    ("max_records_per_page", 1001, "from 1 to 1000"),
    ("max_records_per_page", "1001", "from 1 to 1000"),
    ("max_records_per_page", "abc", "from 1 to 1000"),
    ("initial_sync_days", 0, "from 1 to 365"),
    ("initial_sync_days", 366, "from 1 to 365"),
    ("initial_sync_days", "abc", "from 1 to 365"),
    ("request_timeout_seconds", 0, "greater than 0"),
    ("request_timeout_seconds", "abc", "greater than 0"),
    ("retry_attempts", -1, "from 0 to 20"),
    ("retry_attempts", "abc", "from 0 to 20"),
    ("enable_incremental_sync", "maybe", "true or false"),
]


def flat_config(api_key: str, **overrides: Any) -> dict[str, Any]:
    return {**SEED_000_FLAT, "api_key": api_key, **overrides}


@pytest.mark.parametrize(("field", "value", "allowed"), OUT_OF_RANGE)
@pytest.mark.parametrize("shape", ["nested", "flat"])
def test_check_fails_with_a_config_error_naming_the_field_and_range(
    field: str, value: Any, allowed: str, shape: str, cli, listrak: FakeListrak, api_key: str
) -> None:
    config = bearer_config(api_key, **{field: value}) if shape == "nested" else flat_config(api_key, **{field: value})

    result = cli("check", config)

    status = result.connection_status()
    assert status["status"] == "FAILED"
    assert field in status["message"] and allowed in status["message"], status["message"]
    assert [error["failure_type"] for error in result.errors()] == ["config_error"]
    assert "Traceback" not in result.output
    assert listrak.requests() == [], "an invalid config must not reach the API"


@pytest.mark.parametrize(("field", "value", "allowed"), OUT_OF_RANGE)
def test_read_fails_with_a_config_error_naming_the_field_and_range(
    field: str, value: Any, allowed: str, cli, listrak: FakeListrak, api_key: str
) -> None:
    result = cli("read", flat_config(api_key, **{field: value}), streams=["events", "segments"])

    assert result.exit_code == 1
    [error] = result.errors()
    assert error["failure_type"] == "config_error"
    assert field in error["message"] and allowed in error["message"], error["message"]
    assert "stack_trace" not in error
    assert "Traceback" not in result.output
    assert result.records() == []
    assert listrak.requests() == []


def test_several_problems_are_reported_together(cli, api_key: str) -> None:
    result = cli("check", flat_config(api_key, max_records_per_page="0", initial_sync_days="400"))

    message = result.connection_status()["message"]
    assert "max_records_per_page" in message and "initial_sync_days" in message


def test_missing_credentials_fail_check_with_a_config_error(cli) -> None:
    result = cli("check", {"initial_sync_days": "30"})

    status = result.connection_status()
    assert status["status"] == "FAILED"
    assert "api_key" in status["message"] or "credentials" in status["message"]
    assert "Traceback" not in result.output


def test_seed_000_flat_string_config_reads_records_unchanged(cli, api_key: str) -> None:
    with requests_mock.Mocker() as mocker:  # the flat config names no base_url: the default one is used
        listrak = FakeListrak(mocker, base_url=DEFAULT_BASE_URL)
        listrak.serve_window("events", [api_event("e1", iso(recent(3), offset_minutes=60))])
        listrak.serve("segments", {"json": hal_collection([{"id": 1, "name": "VIP"}])})

        result = cli("read", flat_config(api_key), streams=["events", "segments"])

    assert result.exit_code is None, result.output
    assert [r["event_id"] for r in result.records("events")] == ["e1"]
    assert [r["id"] for r in result.records("segments")] == [1]
    queries = listrak.queries("events")
    assert len(queries) == 13  # 90 days in windows of 7
    assert {q["perPage"] for q in queries} == {"100"}
    assert {r.headers["Authorization"] for r in listrak.requests()} == {f"Bearer {api_key}"}


def test_a_trailing_slash_on_base_url_is_ignored(cli, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("custom-fields", {"json": hal_collection([])})

    result = cli("check", bearer_config(api_key, base_url=listrak.base_url + "/"))

    assert result.connection_status()["status"] == "SUCCEEDED"
    assert [r.path for r in listrak.requests()] == ["/email/v1/custom-fields"]


def test_spec_describes_every_seed_000_setting(cli) -> None:
    result = cli("spec")

    [spec] = result.of_type("SPEC")
    properties = spec["spec"]["connectionSpecification"]["properties"]
    for name in [
        "credentials",
        "initial_sync_days",
        "max_records_per_page",
        "request_timeout_seconds",
        "retry_attempts",
        "enable_incremental_sync",
    ]:
        assert name in properties
    assert properties["initial_sync_days"]["default"] == 90
    assert properties["max_records_per_page"]["default"] == 100
    assert properties["request_timeout_seconds"]["default"] == 30
    assert properties["retry_attempts"]["default"] == 3
    assert properties["enable_incremental_sync"]["default"] is True


def test_a_flat_config_with_null_credentials_gets_a_clear_answer(cli, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("custom-fields", {"json": hal_collection([])})

    result = cli("check", {**flat_config(api_key), "credentials": None, "base_url": listrak.base_url})

    status = result.connection_status()  # either it works like the flat config it is, or a config error says why
    assert status["status"] == "SUCCEEDED" or "credentials" in status["message"]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("value", [0, -1, "four"])
def test_a_bad_concurrency_is_a_named_config_error_not_a_cdk_failure(value, tmp_path, capsys) -> None:
    from source_listrak.run import run

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"api_key": "k-concurrency", "concurrency": value}))
    with pytest.raises(SystemExit):
        run(["check", "--config", str(config)])
    statuses = [json.loads(line) for line in capsys.readouterr().out.split("\n") if '"CONNECTION_STATUS"' in line]
    assert statuses[-1]["connectionStatus"]["message"].startswith(
        "Invalid configuration: concurrency must be an integer from 1 to 32"
    )


@pytest.mark.parametrize(("requests_per_second", "budgeted"), [(0, False), ("0", False), (5, True), ("5", True)])
def test_the_request_budget_is_in_the_built_manifest_only_when_one_is_configured(
    api_key: str, requests_per_second: object, budgeted: bool
) -> None:
    source = SourceListrak(config=bearer_config(api_key, requests_per_second=requests_per_second))
    assert ("api_budget" in source.resolved_manifest) is budgeted


def test_a_source_built_without_a_budget_builds_its_streams(api_key: str) -> None:
    source = SourceListrak(config=bearer_config(api_key, requests_per_second=0))
    assert source.streams(source.normalized_config)
