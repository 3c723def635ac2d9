"""The token endpoint and the 401 decisions of the components the manifest names (source_listrak/auth.py)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
import requests_mock as rm

from source_listrak import auth
from source_listrak.api_session import AreaRefused, CredentialsRejected, TokenEndpointFailed, end_session, session_for
from source_listrak.auth import ListrakErrorHandler, ListrakOAuth, TokenEndpoint

TOKEN_URL = "https://auth.example.test/OAuth2/Token"
BASE = "https://api.example.test/email/v1"
SECRET = "S3cret+With/Plus="


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    waits: list[float] = []
    monkeypatch.setattr(auth.time, "sleep", waits.append)
    return waits


def endpoint(retries: int = 3) -> TokenEndpoint:
    return TokenEndpoint(TOKEN_URL, "client-id", SECRET, timeout=7.0, retries=retries, max_wait=5, backoff_factor=1)


def test_the_token_request_is_the_form_listrak_requires_with_a_timeout(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, json={"access_token": "abc", "token_type": "bearer", "expires_in": 3599})
    assert endpoint().fetch() == ("abc", 3599.0)
    request = requests_mock.last_request
    assert parse_qs(request.text) == {
        "grant_type": ["client_credentials"], "client_id": ["client-id"], "client_secret": [SECRET]
    }
    assert "Authorization" not in request.headers and request.timeout == 7.0


def test_a_refused_secret_is_reported_as_refused_client_credentials(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, status_code=400, json={"error": "Invalid Credentials"})
    with pytest.raises(CredentialsRejected) as raised:
        endpoint().fetch()
    message = raised.value.message or ""
    assert "HTTP 400: Invalid Credentials" in message and "client ID and secret" in message
    assert "allowlist" in message and "refresh" not in message and SECRET not in message
    assert requests_mock.call_count == 1


def test_token_endpoint_faults_are_retried_after_their_retry_after(
    requests_mock: rm.Mocker, no_sleep: list[float]
) -> None:
    requests_mock.post(
        TOKEN_URL,
        [
            {"status_code": 500, "json": {"error": "An error has occurred."}},
            {"status_code": 429, "json": {"error": "Too many requests"}, "headers": {"Retry-After": "3"}},
            {"exc": requests.ConnectTimeout},
            {"status_code": 200, "json": {"access_token": "abc", "expires_in": 10}},
        ],
    )
    assert endpoint().fetch() == ("abc", 10.0)
    assert requests_mock.call_count == 4 and no_sleep[1] == 3


def test_a_token_endpoint_that_keeps_failing_ends_with_one_clear_error(requests_mock: rm.Mocker) -> None:
    requests_mock.post(TOKEN_URL, status_code=503, text="<html>down</html>")
    with pytest.raises(TokenEndpointFailed) as raised:
        endpoint(retries=2).fetch()
    assert requests_mock.call_count == 3 and "after 3 attempts (last: HTTP 503)" in (raised.value.message or "")


@pytest.mark.parametrize("body", [{"access_token": ""}, {"token": "x"}, ["x"], "not json"])
def test_a_token_answer_without_a_token_is_not_taken_for_one(requests_mock: rm.Mocker, body: Any) -> None:
    if isinstance(body, str):
        requests_mock.post(TOKEN_URL, text=body)
    else:
        requests_mock.post(TOKEN_URL, json=body)
    with pytest.raises(TokenEndpointFailed):
        endpoint(retries=0).fetch()


def email_config() -> dict[str, Any]:
    return {
        "credentials": {"auth_type": "oauth2_client_credentials", "client_id": "client-id", "client_secret": SECRET},
        "token_url": TOKEN_URL,
        "base_url": BASE,
        "retry_attempts": 3,
    }


UNAUTHORIZED_BODIES = [
    {"json": {"status": 401, "error": "ERROR_UNAUTHORIZED", "message": "Authorization was denied for this request."}},
    {"json": {"status": 401, "message": "Authorization was denied for this request."}},
    {"text": ""},
    {"text": "<html><body>401 - Unauthorized</body></html>", "headers": {"Content-Type": "text/html"}},
]


@pytest.mark.parametrize("body", UNAUTHORIZED_BODIES, ids=["listrak", "no-error-key", "empty", "html"])
def test_any_401_is_a_refused_token_first_and_a_missing_area_once_a_fresh_token_is_refused_too(
    requests_mock: rm.Mocker, body: dict[str, Any]
) -> None:
    config = email_config()
    parameters = {"name": "message_summary", "resource": "List/{listId}/Message/{messageId}/Summary",
                  "api_areas": "List, Message, Report"}
    tokens = iter(["unit-access-token-1", "unit-access-token-2", "unit-access-token-3"])  # masked from now on
    requests_mock.post(TOKEN_URL, json=lambda request, context: {"access_token": next(tokens), "expires_in": 3599})
    requests_mock.get(f"{BASE}/List", json={"status": 200, "data": []})
    requests_mock.get(f"{BASE}/List/1/Message/2/Summary", status_code=401, **body)
    try:
        authenticator = ListrakOAuth(config=config, parameters=parameters)
        handler = ListrakErrorHandler(config=config, parameters=parameters)
        lists_handler = ListrakErrorHandler(config=config, parameters={"resource": "List", "api_areas": "List"})
        lists_handler.interpret_response(requests.get(f"{BASE}/List", auth=authenticator))

        first = handler.interpret_response(requests.get(f"{BASE}/List/1/Message/2/Summary", auth=authenticator))
        assert first.response_action.name == "RETRY"
        with pytest.raises(AreaRefused) as raised:
            handler.interpret_response(requests.get(f"{BASE}/List/1/Message/2/Summary", auth=authenticator))
        message = raised.value.message or ""
        assert "message_summary" in message and "/List/{listId}/Message/{messageId}/Summary" in message
        assert "Report" in message
        with pytest.raises(AreaRefused):  # the stream sends nothing more
            requests.get(f"{BASE}/List/1/Message/3/Summary", auth=authenticator)
        assert [r.headers.get("Authorization") for r in requests_mock.request_history if r.method == "GET"] == [
            "Bearer unit-access-token-1", "Bearer unit-access-token-1", "Bearer unit-access-token-2"
        ]
    finally:
        end_session(config)


def test_a_list_deleted_during_the_sync_is_skipped_with_a_warning_naming_it(
    requests_mock: rm.Mocker, caplog: pytest.LogCaptureFixture
) -> None:
    config = email_config()
    parameters = {"name": "campaigns", "resource": "List/{listId}/Campaign", "api_areas": "List, Message"}
    body = {"status": 404, "error": "ERROR_UNABLE_TO_LOCATE_RESOURCE", "message": "Unable to locate a resource."}
    requests_mock.get(f"{BASE}/List/42/Campaign", status_code=404, json=body)
    try:
        resolution = ListrakErrorHandler(config=config, parameters=parameters).interpret_response(
            requests.get(f"{BASE}/List/42/Campaign")
        )
    finally:
        end_session(config)
    assert resolution.response_action.name == "IGNORE"
    warnings = [record.getMessage() for record in caplog.records if record.levelname == "WARNING"]
    assert any(text.startswith("Skipped /List/42/Campaign:") for text in warnings), warnings


@pytest.mark.parametrize(("auth_type", "status"), [("api_key", 401), ("basic", 401), ("api_key", 403)])
def test_the_api_key_contract_stops_the_read_at_a_401_or_403(
    requests_mock: rm.Mocker, auth_type: str, status: int
) -> None:
    config = {"credentials": {"auth_type": auth_type, "api_key": "k", "account_id": "a"}, "base_url": BASE}
    parameters = {"name": "events", "resource": "events"}
    requests_mock.get(f"{BASE}/events", status_code=status, json={"error": "ERROR_UNAUTHORIZED"})
    try:
        handler = ListrakErrorHandler(config=config, parameters=parameters)
        with pytest.raises(CredentialsRejected):
            handler.interpret_response(requests.get(f"{BASE}/events"))
        assert isinstance(session_for(config).stopped, CredentialsRejected)
        authenticator = auth.ApiKeyAuthenticator(config=config, parameters=parameters)
        with pytest.raises(CredentialsRejected):  # nothing more is sent
            requests.get(f"{BASE}/events", auth=authenticator)
        assert requests_mock.call_count == 1
    finally:
        end_session(config)
