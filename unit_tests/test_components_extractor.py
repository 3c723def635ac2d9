"""Envelopes: ``{"<records key>": [...]}`` with a ``data`` fallback, HAL ``{"_embedded": {"item": [...]}}``
where a missing ``_embedded`` is zero records, the single webhook-events object, and Listrak v1's
``{"data": [...]}`` / ``{"data": {...}}``. Anything else ends the sync with a message naming the path."""

from __future__ import annotations

import json
from typing import Any

import pytest
import requests
from airbyte_cdk.models import FailureType

from source_listrak.components import EnvelopeDecoder, EnvelopeExtractor, ListrakResponseError


def extractor(resource: str, records_key: str) -> EnvelopeExtractor:
    return EnvelopeExtractor(parameters={"resource": resource, "records_key": records_key}, config={})


def response(
    body: Any = None, *, text: str | None = None, content_type: str = "application/json", status: int = 200
) -> requests.Response:
    built = requests.Response()
    built.status_code = status
    built.headers["Content-Type"] = content_type
    built._content = (text if text is not None else json.dumps(body)).encode()
    return built


def extract(resource: str, records_key: str, given: requests.Response) -> list[dict[str, Any]]:
    return list(extractor(resource, records_key).extract_records(given))


def test_records_are_read_from_the_records_key() -> None:
    body = {"events": [{"id": 1}, {"id": "2"}], "page": 1, "perPage": 100, "total": 2}
    assert extract("events", "events", response(body)) == [{"id": 1}, {"id": "2"}]


def test_records_fall_back_to_data_when_the_records_key_is_absent() -> None:
    assert extract("contacts", "contacts", response({"data": [{"id": 1}]})) == [{"id": 1}]


def test_the_records_key_wins_over_data() -> None:
    body = {"campaigns": [{"id": 1}], "data": [{"id": 99}]}
    assert extract("campaigns", "campaigns", response(body)) == [{"id": 1}]


def test_an_empty_page_is_zero_records() -> None:
    assert extract("events", "events", response({"events": [], "page": 3, "perPage": 100, "total": 200})) == []


def test_hal_items_are_read_from_embedded_item() -> None:
    body = {"_embedded": {"item": [{"id": 1, "_links": {"self": {"href": "/segments/1"}}}]}, "total": 1}
    assert extract("segments", "_embedded.item", response(body)) == body["_embedded"]["item"]


def test_hal_collection_without_embedded_is_zero_records_not_an_error() -> None:
    assert extract("interests", "_embedded.item", response({"total": 0, "_links": {"self": {}}})) == []


def test_whole_object_mode_yields_the_body_as_the_only_record() -> None:
    body = {"events": ["contact.created", "contact.updated"], "_links": {"self": {"href": "/webhook-events"}}}
    assert extract("webhook-events", "", response(body)) == [body]


def assert_fails_naming(given: requests.Response, resource: str, records_key: str, *fragments: str) -> None:
    with pytest.raises(ListrakResponseError) as raised:
        extract(resource, records_key, given)
    message = raised.value.message
    assert f"/{resource}" in message
    for fragment in fragments:
        assert fragment in message, message
    assert raised.value.failure_type == FailureType.system_error


def test_an_html_page_with_status_200_is_an_error_naming_the_path() -> None:
    html = "<html><body><h1>Service temporarily unavailable</h1></body></html>"
    assert_fails_naming(
        response(text=html, content_type="text/html"),
        "events",
        "events",
        "HTTP 200",
        "not JSON",
        "text/html",
        "Service temporarily unavailable",
    )


def test_an_empty_body_with_status_200_is_an_error() -> None:
    assert_fails_naming(response(text=""), "contacts", "contacts", "not JSON")


def test_a_json_list_body_is_an_error() -> None:
    assert_fails_naming(response([{"id": 1}]), "segments", "_embedded.item", "JSON list")


def test_a_missing_records_key_is_an_error_not_zero_records() -> None:
    assert_fails_naming(response({"page": 1, "perPage": 100}), "events", "events", "'events'", "'data'")


@pytest.mark.parametrize(
    ("body", "records_key", "fragment"),
    [
        ({"events": {"id": 1}}, "events", "not a list"),
        ({"events": [1, 2]}, "events", "not an object"),
        ({"_embedded": {"items": []}}, "_embedded.item", "'_embedded'"),
        ({"_embedded": {"item": "x"}}, "_embedded.item", "not a list"),
    ],
)
def test_records_that_are_not_a_list_of_objects_are_an_error(body: Any, records_key: str, fragment: str) -> None:
    assert_fails_naming(response(body), "events", records_key, fragment)


def test_a_long_html_body_is_previewed_not_dumped() -> None:
    html = "<html>" + "x" * 10_000 + "</html>"
    with pytest.raises(ListrakResponseError) as raised:
        extract("events", "events", response(text=html, content_type="text/html"))
    assert len(raised.value.message) < 500


def test_one_v1_record_under_data_is_read() -> None:
    given = response({"status": 200, "data": {"sentCount": 3}})
    records = list(EnvelopeExtractor(parameters={"records_key": "data", "one_record": True}).extract_records(given))
    assert records == [{"sentCount": 3}]


def test_the_paginator_gets_the_envelope_without_the_records_and_no_second_parse() -> None:
    page = response({"status": 200, "nextPageCursor": "Q+/=", "data": [{"emailAddress": "a@example.com"}]})
    extract("List/{listId}/Contact", "data", page)
    page._content = b"not JSON any more: the envelope is not parsed again"

    assert list(EnvelopeDecoder().decode(page)) == [{"status": 200, "nextPageCursor": "Q+/="}]


def test_an_answer_the_extractor_did_not_read_is_parsed_for_the_paginator() -> None:
    error = response({"status": 404, "error": "ERROR_UNABLE_TO_LOCATE_RESOURCE"}, status=404)
    assert list(EnvelopeDecoder().decode(error)) == [{"status": 404, "error": "ERROR_UNABLE_TO_LOCATE_RESOURCE"}]
    assert list(EnvelopeDecoder().decode(response(text="<html>"))) == [{}]
