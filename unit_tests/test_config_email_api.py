"""Configuration of Listrak's Email API (OAuth2 client credentials): its options are checked only when the
credentials choose that API, with the same named-field messages; flat client_id/client_secret work too."""

from __future__ import annotations

from typing import Any

import pytest
from airbyte_cdk.utils.traced_exception import AirbyteTracedException

from source_listrak import SourceListrak

OAUTH = {"auth_type": "oauth2_client_credentials", "client_id": "client-1", "client_secret": "Sec+ret/0="}
API_KEY = {"auth_type": "api_key", "api_key": "key-1"}


def problems(config: dict[str, Any]) -> str:
    with pytest.raises(AirbyteTracedException) as raised:
        SourceListrak(config=config)
    return str(raised.value.message)


@pytest.mark.parametrize(
    ("field", "value", "allowed"),
    [
        ("page_size", 0, "page_size must be an integer from 1 to 5000 (got 0)"),
        ("page_size", "5001", "page_size must be an integer from 1 to 5000"),
        ("engagement_window_days", 91, "engagement_window_days must be an integer from 1 to 90"),
        ("start_date", "yesterday", "start_date must be a string of the form YYYY-MM-DD or YYYY-MM-DDTHH:mm:ssZ"),
        ("list_ids", [1, "two"], "list_ids.1 must be an integer"),
        ("token_url", "ftp://auth", "token_url must be a string matching ^https?://"),
        ("api_timezone", "Mars/Olympus", "api_timezone must be a time zone name such as America/New_York"),
    ],
)
def test_a_bad_email_api_option_is_named_with_what_it_accepts(field: str, value: Any, allowed: str) -> None:
    message = problems({"credentials": OAUTH, field: value})
    assert message.startswith("Invalid configuration:") and allowed in message
    assert "Sec+ret" not in message


@pytest.mark.parametrize(("field", "value"), [("page_size", 0), ("api_timezone", "Mars/Olympus"), ("start_date", "x")])
def test_email_api_options_are_not_checked_for_an_api_key(field: str, value: Any) -> None:
    SourceListrak(config={"credentials": API_KEY, field: value})


@pytest.mark.parametrize(
    ("field", "value"), [("max_records_per_page", 0), ("window_days", 0), ("lookback_minutes", -1)]
)
def test_api_key_options_are_not_checked_for_the_email_api(field: str, value: Any) -> None:
    SourceListrak(config={"credentials": OAUTH, field: value})


def test_flat_client_credentials_choose_the_email_api_with_its_defaults() -> None:
    source = SourceListrak(config={"client_id": "client-1", "client_secret": "Sec+ret/0=", "page_size": "100"})
    assert source._config["credentials"] == OAUTH | {"client_id": "client-1"}
    assert "client_id" not in source._config and "client_secret" not in source._config
    assert (source._config["page_size"], source._config["engagement_window_days"]) == (100, 7)
    assert source._config["token_url"] == "https://auth.listrak.com/OAuth2/Token"
    assert (source._config["api_timezone"], source._config["include_test_messages"]) == ("America/New_York", False)
    assert source._config["include_previous_conversation_versions"] is True


def test_missing_credentials_name_both_ways_to_give_them() -> None:
    message = problems({})
    assert "OAuth2 client credentials (client_id and client_secret)" in message and "API key" in message
