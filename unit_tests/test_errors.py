"""Contract: 401 / 403 are credential problems, 400 names the bad parameter and is not retried; 429
(with or without ``Retry-After``), 500/502/503/504, timeouts and dropped connections are transient and
retried ``retry_attempts`` times. Both ``read`` and ``check`` say so clearly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
from airbyte_cdk.models import FailureType

from unit_tests.connector import basic_config, bearer_config, error_messages, read_streams, records
from unit_tests.fake_listrak import FakeListrak, api_error, hal_collection

SEGMENTS = {"json": hal_collection([{"id": 1, "name": "VIP"}])}


def failing(status: int, message: str = "", headers: dict | None = None) -> dict:
    return {"status_code": status, "json": api_error(status, message), "headers": headers or {}}


def real_waits(backoff_sleeps: list[float]) -> list[float]:
    return [wait for wait in backoff_sleeps if wait]  # the backoff library adds a zero wait of its own


def stream_errors(output) -> list:
    return [m.trace.error for m in output.errors if m.trace.error.stream_descriptor is not None]


# --- credentials and bad requests: one request, a config error, a clear message ---------------------------


@pytest.mark.parametrize(("auth", "method"), [("bearer", "Bearer API key"), ("basic", "Basic auth with account_id")])
def test_401_is_a_config_error_naming_the_auth_method(
    auth: str, method: str, listrak: FakeListrak, api_key: str
) -> None:
    config = bearer_config(api_key) if auth == "bearer" else basic_config("acct-1", api_key)
    listrak.serve("segments", failing(401, "Invalid credentials"))

    output = read_streams(config, "segments", expecting_exception=True)

    [error] = [m.trace.error for m in output.errors]  # one error for the whole sync, which stops there
    assert "HTTP 401" in error.message and method in error.message
    assert api_key not in error.message
    assert error.failure_type == FailureType.config_error
    assert len(listrak.requests("segments")) == 1, "a rejected credential is not retried"


@pytest.mark.parametrize(("auth", "method"), [("bearer", "Bearer API key"), ("basic", "Basic auth with account_id")])
def test_403_is_a_config_error_naming_the_path_and_auth_method(
    auth: str, method: str, listrak: FakeListrak, api_key: str
) -> None:
    config = bearer_config(api_key) if auth == "bearer" else basic_config("acct-1", api_key)
    listrak.serve("interests", failing(403, "No access to interests"))

    output = read_streams(config, "interests", expecting_exception=True)

    [error] = [m.trace.error for m in output.errors]
    assert "HTTP 403" in error.message and "/interests" in error.message and method in error.message
    assert api_key not in error.message
    assert error.failure_type == FailureType.config_error
    assert len(listrak.requests("interests")) == 1


def test_400_is_reported_with_the_api_message_and_not_retried(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("campaigns", failing(400, "perPage must be between 1 and 1000"))

    output = read_streams(bearer_config(api_key), "campaigns", expecting_exception=True)

    [error] = stream_errors(output)
    assert "HTTP 400" in error.message and "/campaigns" in error.message
    assert "perPage must be between 1 and 1000" in error.message
    assert len(listrak.requests("campaigns")) == 1


# --- transient failures: retried, then records -------------------------------------------------------------


def test_429_with_retry_after_seconds_is_waited_then_records_are_read(
    listrak: FakeListrak, api_key: str, backoff_sleeps: list[float]
) -> None:
    listrak.serve("segments", [failing(429, headers={"Retry-After": "7"}), SEGMENTS])

    output = read_streams(bearer_config(api_key), "segments")

    assert [r["id"] for r in records(output, "segments")] == [1]
    assert len(listrak.requests("segments")) == 2
    assert real_waits(backoff_sleeps) == [7 + 1]  # the CDK adds a second to every backoff
    assert not output.errors


def test_429_with_an_http_date_waits_until_that_date_capped(
    listrak: FakeListrak, api_key: str, backoff_sleeps: list[float]
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=2), usegmt=True)
    listrak.serve("segments", [failing(429, headers={"Retry-After": later}), SEGMENTS])

    output = read_streams(bearer_config(api_key, max_retry_wait_seconds=45), "segments")

    assert len(records(output, "segments")) == 1
    assert real_waits(backoff_sleeps) == [45 + 1]


def test_429_without_retry_after_backs_off_exponentially(
    listrak: FakeListrak, api_key: str, backoff_sleeps: list[float]
) -> None:
    listrak.serve("segments", [failing(429), SEGMENTS])

    output = read_streams(bearer_config(api_key, backoff_factor_seconds=4), "segments")

    assert len(records(output, "segments")) == 1
    [wait] = real_waits(backoff_sleeps)
    assert 2 + 1 <= wait <= 4 + 1  # first retry: factor/2 .. factor, plus the CDK's second


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_then_success_reads_the_records(
    status: int, listrak: FakeListrak, api_key: str, backoff_sleeps: list[float]
) -> None:
    listrak.serve("custom-fields", [failing(status), failing(status), {"json": hal_collection([{"id": 3}])}])

    output = read_streams(bearer_config(api_key, retry_attempts=2), "custom_fields")

    assert [r["id"] for r in records(output, "custom_fields")] == [3]
    assert len(listrak.requests("custom-fields")) == 3
    assert len(real_waits(backoff_sleeps)) == 2


@pytest.mark.parametrize(("status", "retry_attempts"), [(500, 2), (502, 2), (503, 0), (504, 3), (503, "1")])
def test_5xx_gives_up_after_retry_attempts_plus_one_requests(
    status: int, retry_attempts: int | str, listrak: FakeListrak, api_key: str
) -> None:
    listrak.serve("segments", failing(status))

    output = read_streams(bearer_config(api_key, retry_attempts=retry_attempts), "segments", expecting_exception=True)

    attempts = int(retry_attempts) + 1
    assert len(listrak.requests("segments")) == attempts
    [error] = stream_errors(output)
    assert f"HTTP {status}" in error.internal_message and "/segments" in error.internal_message
    assert f"after {attempts} attempts" in error.internal_message
    assert error.failure_type == FailureType.transient_error


def test_429_gives_up_after_retry_attempts_plus_one_requests(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("segments", failing(429, headers={"Retry-After": "1"}))

    output = read_streams(bearer_config(api_key, retry_attempts=1), "segments", expecting_exception=True)

    assert len(listrak.requests("segments")) == 2
    [error] = stream_errors(output)
    assert "HTTP 429" in error.internal_message and "after 2 attempts" in error.internal_message
    assert error.failure_type == FailureType.transient_error
    assert records(output, "segments") == []


@pytest.mark.parametrize(
    "fault",
    [
        requests.exceptions.ReadTimeout,
        requests.exceptions.ConnectTimeout,
        requests.exceptions.ConnectionError,
    ],
)
def test_a_timeout_or_dropped_connection_is_retried(
    fault: type[Exception], listrak: FakeListrak, api_key: str, backoff_sleeps: list[float]
) -> None:
    listrak.serve("sources", [{"exc": fault}, {"json": hal_collection([{"id": 4, "name": "form"}])}])

    output = read_streams(bearer_config(api_key), "sources")

    assert [r["id"] for r in records(output, "sources")] == [4]
    assert len(listrak.requests("sources")) == 2
    assert len(real_waits(backoff_sleeps)) == 1
    assert not output.errors


def test_timeouts_give_up_after_retry_attempts_plus_one_requests(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("sources", {"exc": requests.exceptions.ReadTimeout})

    output = read_streams(bearer_config(api_key, retry_attempts=2), "sources", expecting_exception=True)

    assert len(listrak.requests("sources")) == 3
    assert stream_errors(output)


def test_request_timeout_seconds_is_the_timeout_of_every_request(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("segments", SEGMENTS)
    listrak.serve_pages("events", "events", [[]])

    read_streams(bearer_config(api_key, request_timeout_seconds="12"), "segments", "events")

    assert {request.timeout for request in listrak.requests()} == {(12.0, 12.0)}


def test_a_failing_stream_does_not_hide_the_records_of_the_others(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("segments", failing(400, "bad request"))  # rejected credentials stop everything instead
    listrak.serve("interests", {"json": hal_collection([{"id": 2, "name": "shoes"}])})

    output = read_streams(bearer_config(api_key), "segments", "interests", expecting_exception=True)

    assert [r["id"] for r in records(output, "interests")] == [2]
    assert any("/segments" in message for message in error_messages(output))


# --- check: the same messages, as a failed connection status ------------------------------------------------


@pytest.mark.parametrize(
    ("response", "fragments"),
    [
        (failing(401, "bad key"), ["HTTP 401", "Bearer API key"]),
        (failing(403), ["HTTP 403", "/custom-fields"]),
        (failing(400, "limit is not allowed here"), ["HTTP 400", "limit is not allowed here"]),
        (failing(503), ["HTTP 503", "/custom-fields", "after 2 attempts"]),
    ],
)
def test_check_reports_the_same_clear_message_as_a_failed_status(
    response: dict, fragments: list[str], cli, listrak: FakeListrak, api_key: str
) -> None:
    listrak.serve("custom-fields", response)

    result = cli("check", bearer_config(api_key, retry_attempts=1))

    status = result.connection_status()
    assert status["status"] == "FAILED"
    for fragment in fragments:
        assert fragment in status["message"], status["message"]
    assert api_key not in result.output
    assert "Traceback" not in result.output
