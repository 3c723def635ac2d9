"""The API key, and the Basic header value made from it, never appear in anything the connector prints:
not in failures of ``check`` or ``read``, not when the API echoes them back in an error body."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from unit_tests.connector import SEED_000_FLAT, basic_config, bearer_config
from unit_tests.fake_listrak import BASE_URL, FakeListrak, api_error


def configs(shape: str, api_key: str, **overrides: Any) -> dict[str, Any]:
    if shape == "bearer":
        return bearer_config(api_key, retry_attempts=1, **overrides)
    if shape == "basic":
        return basic_config("acct-42", api_key, retry_attempts=1, **overrides)
    flat = {
        **SEED_000_FLAT,
        "api_key": api_key,
        "account_id": "acct-42",
        "base_url": BASE_URL,
        "requests_per_second": 0,
        "retry_attempts": "1",
    }
    return {**flat, **overrides}


def basic_value(api_key: str) -> str:
    return base64.b64encode(f"acct-42:{api_key}".encode()).decode()


def secrets_of(shape: str, api_key: str) -> dict[str, str]:
    """What must never be printed: the key, and for Basic auth the header value made from it."""
    if shape == "bearer":
        return {"api key": api_key}
    return {"api key": api_key, "Basic header value": basic_value(api_key)}


def echoing(status: int, api_key: str) -> dict[str, Any]:
    """An error body that repeats the credential, as some gateways do."""
    body = api_error(status, f"credential {api_key} (Authorization: Basic {basic_value(api_key)}) was refused")
    return {"status_code": status, "json": body}


FAILURES = {
    "401 echoing the key": lambda key: echoing(401, key),
    "403 echoing the key": lambda key: echoing(403, key),
    "400 echoing the key": lambda key: echoing(400, key),
    "503 echoing the key": lambda key: echoing(503, key),
    "HTML page echoing the header": lambda key: {
        "status_code": 200,
        "headers": {"Content-Type": "text/html"},
        "text": f"<html>proxy error for Authorization: Basic {basic_value(key)} key={key}</html>",
    },
}


def assert_no_secret(output: str, shape: str, api_key: str) -> None:
    leaked = sorted(name for name, secret in secrets_of(shape, api_key).items() if secret in output)
    assert not leaked, f"leaked: {leaked}"






@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("shape", ["bearer", "basic", "flat"])
def test_no_secret_in_a_failed_read(
    failure: str, shape: str, cli, listrak: FakeListrak, api_key: str, request: pytest.FixtureRequest
) -> None:
    listrak.serve("segments", FAILURES[failure](api_key))

    result = cli("read", configs(shape, api_key), streams=["segments"])

    assert result.exit_code == 1
    assert result.errors()
    assert_no_secret(result.output, shape, api_key)


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("shape", ["bearer", "basic", "flat"])
def test_no_secret_in_a_failed_check(
    failure: str, shape: str, cli, listrak: FakeListrak, api_key: str, request: pytest.FixtureRequest
) -> None:
    listrak.serve("custom-fields", FAILURES[failure](api_key))

    result = cli("check", configs(shape, api_key))

    assert result.connection_status()["status"] == "FAILED"
    assert_no_secret(result.output, shape, api_key)


@pytest.mark.parametrize("command", ["check", "read", "discover"])
@pytest.mark.parametrize("shape", ["bearer", "basic", "flat"])
def test_no_secret_in_a_config_error(command: str, shape: str, cli, listrak: FakeListrak, api_key: str) -> None:
    streams = ["events"] if command == "read" else []
    result = cli(command, configs(shape, api_key, max_records_per_page="0"), streams=streams)

    assert "max_records_per_page" in result.output
    assert_no_secret(result.output, shape, api_key)


@pytest.mark.parametrize("shape", ["bearer", "basic", "flat"])
def test_no_secret_in_debug_output_of_a_successful_read(
    shape: str, cli, listrak: FakeListrak, api_key: str, request: pytest.FixtureRequest
) -> None:
    listrak.serve("segments", {"json": {"_embedded": {"item": [{"id": 1}]}}})

    result = cli("read", configs(shape, api_key), streams=["segments"], extra_args=["--debug"])

    assert result.records("segments")
    assert "Making outbound API request" in result.output  # the debug log that shows request headers
    assert_no_secret(result.output, shape, api_key)


def test_a_key_given_as_the_credentials_value_is_not_echoed(cli, api_key: str) -> None:
    result = cli("check", {"credentials": api_key})

    assert "credentials" in result.connection_status()["message"]
    assert_no_secret(result.output, "bearer", api_key)
