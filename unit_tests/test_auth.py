"""Contract: one authentication method per connection, on every path: ``Authorization: Bearer <api_key>``
(seed 000) or ``Authorization: Basic base64(<account_id>:<api_key>)`` (seed 003). A seed-000 flat
config selects Basic when it carries ``account_id``."""

from __future__ import annotations

import base64
import json

import pytest
from airbyte_cdk.test.mock_http import HttpMocker, HttpRequest, HttpResponse

from unit_tests.connector import (
    SEED_000_FLAT,
    basic_config,
    basic_header,
    bearer_config,
    read_streams,
    records,
)
from unit_tests.fake_listrak import (
    BASE_URL,
    FakeListrak,
    api_event,
    authorization,
    hal_collection,
    iso,
    recent,
)

SEGMENTS = json.dumps(hal_collection([{"id": 1, "name": "VIP", "number_of_contacts": 3}]))


def read_segments_expecting(header: str, config: dict) -> list[dict]:
    with HttpMocker() as http:
        request = HttpRequest(f"{BASE_URL}/segments", headers={"Authorization": header})
        http.get(request, HttpResponse(SEGMENTS, 200))
        output = read_streams(config, "segments")
        http.assert_number_of_calls(request, 1)
    return records(output, "segments")


def test_api_key_auth_sends_a_bearer_header(api_key: str) -> None:
    assert read_segments_expecting(f"Bearer {api_key}", bearer_config(api_key))


def test_basic_auth_sends_base64_of_account_id_and_api_key(api_key: str) -> None:
    expected = "Basic " + base64.b64encode(f"acct-778:{api_key}".encode()).decode()
    assert basic_header("acct-778", api_key) == expected
    assert read_segments_expecting(expected, basic_config("acct-778", api_key))


def test_flat_seed_000_config_with_account_id_selects_basic(api_key: str) -> None:
    config = {
        **SEED_000_FLAT,
        "api_key": api_key,
        "account_id": "acct-9",
        "base_url": BASE_URL,
        "requests_per_second": 0,
    }
    assert read_segments_expecting(basic_header("acct-9", api_key), config)


def test_flat_seed_000_config_without_account_id_selects_bearer(api_key: str) -> None:
    config = {**SEED_000_FLAT, "api_key": api_key, "base_url": BASE_URL, "requests_per_second": 0}
    assert read_segments_expecting(f"Bearer {api_key}", config)


@pytest.mark.parametrize("auth", ["bearer", "basic"])
def test_the_same_credential_goes_to_windowed_and_hal_paths(auth: str, listrak: FakeListrak, api_key: str) -> None:
    config = bearer_config(api_key) if auth == "bearer" else basic_config("acct-1", api_key)
    expected = f"Bearer {api_key}" if auth == "bearer" else basic_header("acct-1", api_key)
    listrak.serve_window("events", [api_event(1, iso(recent(2)))])
    listrak.serve("custom-fields", {"json": hal_collection([{"id": 1}])})
    listrak.serve("webhook-events", {"json": {"events": []}})

    read_streams(config, "events", "custom_fields", "webhook_events")

    assert len(listrak.requests()) == 3
    assert {authorization(request) for request in listrak.requests()} == {expected}


def test_check_calls_the_api_with_the_credential_and_succeeds(cli, listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("custom-fields", {"json": hal_collection([{"id": 1, "name": "tier"}])})

    result = cli("check", bearer_config(api_key))

    assert result.connection_status() == {"status": "SUCCEEDED"}
    assert [authorization(request) for request in listrak.requests()] == [f"Bearer {api_key}"]
