"""Custom fields, interests, segments, sources and webhook events end to end in-process (seed 003):
HAL envelopes, ``_links`` dropped, offset paging for sources, one record for webhook events.

Requests are matched exactly with the CDK's ``HttpMocker``: a request with other query parameters or
without the Authorization header finds no response and fails the test."""

from __future__ import annotations

import json
from typing import Any

import pytest
from airbyte_cdk.test.mock_http import HttpMocker, HttpRequest, HttpResponse

from unit_tests.connector import bearer_config, read_streams, records
from unit_tests.fake_listrak import BASE_URL, hal_collection, without_sync_timestamp

LINKS = {"self": {"href": "https://api.test/email/v1/x/1"}}


def get(path: str, api_key: str, **query: str) -> HttpRequest:
    return HttpRequest(f"{BASE_URL}/{path}", query_params=query or None, headers={"Authorization": f"Bearer {api_key}"})


def ok(body: dict[str, Any]) -> HttpResponse:
    return HttpResponse(json.dumps(body), 200, {"Content-Type": "application/json"})


@pytest.mark.parametrize(
    ("stream", "path", "items"),
    [
        (
            "custom_fields",
            "custom-fields",
            [
                {"id": 1, "name": "tier", "type": "text", "placeholder": "gold"},
                {"id": "2", "name": "birthday", "type": "date", "placeholder": None},
            ],
        ),
        (
            "interests",
            "interests",
            [
                {
                    "id": 10,
                    "name": "shoes",
                    "label": "Shoes",
                    "description": "All shoes",
                    "visibility": "public",
                },
            ],
        ),
        (
            "segments",
            "segments",
            [
                {"id": 20, "name": "VIP", "number_of_contacts": 1200},
                {"id": 21, "name": "Lapsed", "number_of_contacts": 0},
            ],
        ),
    ],
)
def test_hal_collections_are_read_once_without_paging_and_lose_their_links(
    stream: str, path: str, items: list[dict[str, Any]], api_key: str
) -> None:
    with HttpMocker() as http:
        request = get(path, api_key)
        http.get(request, ok(hal_collection([{**item, "_links": LINKS} for item in items], _links=LINKS)))

        output = read_streams(bearer_config(api_key), stream)

        http.assert_number_of_calls(request, 1)
    emitted = records(output, stream)
    assert [without_sync_timestamp(r) for r in emitted] == [
        {name: value for name, value in item.items() if value is not None} for item in items
    ]
    assert all("_links" not in r and r["sync_timestamp"].endswith("Z") for r in emitted)


@pytest.mark.parametrize(
    ("stream", "path"),
    [
        ("custom_fields", "custom-fields"),
        ("interests", "interests"),
        ("segments", "segments"),
        ("sources", "sources"),
    ],
)
def test_a_collection_without_embedded_is_zero_records_not_an_error(stream: str, path: str, api_key: str) -> None:
    with HttpMocker() as http:
        query = {"offset": "0", "limit": "500"} if stream == "sources" else {}
        http.get(get(path, api_key, **query), ok({"total": 0, "_links": LINKS}))

        output = read_streams(bearer_config(api_key), stream)

    assert records(output, stream) == []
    assert not output.errors


def sources(first: int, count: int) -> list[dict[str, Any]]:
    return [{"id": n, "name": f"source {n}", "_links": LINKS} for n in range(first, first + count)]


def test_sources_are_paged_by_offset_and_limit_500_until_a_short_page(api_key: str) -> None:
    with HttpMocker() as http:
        first = get("sources", api_key, offset="0", limit="500")
        second = get("sources", api_key, offset="500", limit="500")
        third = get("sources", api_key, offset="1000", limit="500")
        http.get(first, ok(hal_collection(sources(0, 500), offset=0, limit=500)))
        http.get(second, ok(hal_collection(sources(500, 500), offset=500, limit=500)))
        http.get(third, ok(hal_collection(sources(1000, 7), offset=1000, limit=500)))

        output = read_streams(bearer_config(api_key), "sources")

        for request in (first, second, third):
            http.assert_number_of_calls(request, 1)
    emitted = records(output, "sources")
    assert [r["id"] for r in emitted] == list(range(1007))
    assert without_sync_timestamp(emitted[0]) == {"id": 0, "name": "source 0"}


def test_sources_stop_when_the_page_after_a_full_one_has_no_embedded(api_key: str) -> None:
    with HttpMocker() as http:
        first = get("sources", api_key, offset="0", limit="500")
        second = get("sources", api_key, offset="500", limit="500")
        http.get(first, ok(hal_collection(sources(0, 500), offset=0, limit=500)))
        http.get(second, ok(hal_collection([], offset=500, limit=500)))

        output = read_streams(bearer_config(api_key), "sources")

        http.assert_number_of_calls(second, 1)
    assert len(records(output, "sources")) == 500
    assert not output.errors


def test_webhook_events_are_one_record_without_links(api_key: str) -> None:
    with HttpMocker() as http:
        request = get("webhook-events", api_key)
        events = ["contact.created", "contact.updated", "contact.unsubscribed"]
        http.get(request, ok({"events": events, "_links": LINKS}))

        output = read_streams(bearer_config(api_key), "webhook_events")

        http.assert_number_of_calls(request, 1)
    [record] = records(output, "webhook_events")
    assert without_sync_timestamp(record) == {"events": events}
    assert record["sync_timestamp"].endswith("Z")
