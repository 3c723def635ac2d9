"""Contacts, campaigns and events end to end in-process: page paging, the contract's output columns,
timestamps in UTC ``Z``, metadata flattening and ``sync_timestamp``; requests asserted as well as records."""

from __future__ import annotations

import re

import pytest

from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, incremental, single_key
from unit_tests.connector import bearer_config, error_messages, read_streams, records
from unit_tests.fake_listrak import (
    WINDOWED,
    FakeListrak,
    api_campaign,
    api_contact,
    api_event,
    authorization,
    iso,
    recent,
    without_sync_timestamp,
)

INCREMENTAL_STREAMS = incremental(SDK_EXAMPLE_STREAMS)
SYNC_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z")


def an_hour_ago(offset_minutes: int = 0, minutes: int = 0) -> str:
    return iso(recent(hours=1, minutes=minutes), offset_minutes)


@pytest.mark.parametrize("stream", list(INCREMENTAL_STREAMS))
def test_pages_are_requested_until_a_short_page(stream: str, listrak: FakeListrak, api_key: str) -> None:
    path, records_key, start_param, end_param, cursor = WINDOWED[stream]
    key = single_key(INCREMENTAL_STREAMS[stream])
    page = [{"id": n, cursor: an_hour_ago(minutes=n)} for n in range(5)]
    listrak.serve_pages(path, records_key, [page[0:2], page[2:4], page[4:5]])

    output = read_streams(bearer_config(api_key, max_records_per_page=2), stream)

    queries = listrak.queries(path)
    assert [(q["page"], q["perPage"]) for q in queries] == [("1", "2"), ("2", "2"), ("3", "2")]
    assert len({(q[start_param], q[end_param]) for q in queries}) == 1, "every page of a window asks the same window"
    assert sorted(str(r[key]) for r in records(output, stream)) == ["0", "1", "2", "3", "4"]


def test_paging_stops_on_an_empty_page(listrak: FakeListrak, api_key: str) -> None:
    full_pages = [[api_event(f"e{p}{n}", an_hour_ago()) for n in range(3)] for p in range(2)]
    listrak.serve_pages("events", "events", full_pages)  # page 3 is empty

    output = read_streams(bearer_config(api_key, max_records_per_page=3), "events")

    assert [q["page"] for q in listrak.queries("events")] == ["1", "2", "3"]
    assert len(records(output, "events")) == 6
    assert not output.errors


def test_page_size_defaults_to_100_and_follows_max_records_per_page(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_pages("campaigns", "campaigns", [[]])
    read_streams(bearer_config(api_key), "campaigns")
    read_streams(bearer_config(api_key, max_records_per_page="1000"), "campaigns")
    assert [q["perPage"] for q in listrak.queries("campaigns")] == ["100", "1000"]


def test_contacts_are_output_with_the_contract_columns(listrak: FakeListrak, api_key: str) -> None:
    created, updated = recent(hours=24 * 400), recent(hours=5)
    listrak.serve_pages(
        "contacts",
        "contacts",
        [
            [
                api_contact(
                    "20417",
                    iso(updated, offset_minutes=-300),
                    email="ann@example.test",
                    firstName="Ann",
                    lastName="Lee",
                    status="subscribed",
                    createdDate=iso(created, offset_minutes=120),
                    phone="+1 555 0100",
                    city="Boston",
                    state="MA",
                    zipCode="02134",
                    language="en",
                    customFields={"tier": "gold", "score": 7},
                ),
            ]
        ],
    )

    output = read_streams(bearer_config(api_key), "contacts")

    [contact] = records(output, "contacts")
    assert without_sync_timestamp(contact) == {
        "contact_id": "20417",
        "email_address": "ann@example.test",
        "first_name": "Ann",
        "last_name": "Lee",
        "subscription_status": "subscribed",
        "created_date": iso(created),
        "updated_date": iso(updated),
        "phone_number": "+1 555 0100",
        "city": "Boston",
        "state": "MA",
        "zip_code": "02134",
        "language": "en",
        "custom_fields": {"tier": "gold", "score": 7},
    }
    assert SYNC_TIMESTAMP.fullmatch(contact["sync_timestamp"])


def test_campaigns_are_output_with_the_contract_columns(listrak: FakeListrak, api_key: str) -> None:
    sent, created, updated = recent(hours=30), recent(hours=50), recent(hours=2)
    listrak.serve_pages(
        "campaigns",
        "campaigns",
        [
            [
                api_campaign(
                    981,
                    iso(sent, offset_minutes=330, fraction=".250"),
                    name="Spring sale",
                    subject="50% off",
                    type="regular",
                    status="sent",
                    recipientsCount=1200,
                    opensCount=300,
                    clicksCount=45,
                    bouncesCount=3,
                    createdDate=iso(created, offset_minutes=-300),
                    updatedDate=iso(updated),
                ),
            ]
        ],
    )

    output = read_streams(bearer_config(api_key), "campaigns")

    [campaign] = records(output, "campaigns")
    assert without_sync_timestamp(campaign) == {
        "campaign_id": 981,
        "campaign_name": "Spring sale",
        "subject_line": "50% off",
        "send_date": iso(sent, fraction=".250"),
        "campaign_type": "regular",
        "status": "sent",
        "recipients_count": 1200,
        "opens_count": 300,
        "clicks_count": 45,
        "bounces_count": 3,
        "created_date": iso(created),
        "updated_date": iso(updated),
    }


def test_events_are_output_with_the_contract_columns_and_flattened_metadata(listrak: FakeListrak, api_key: str) -> None:
    clicked = recent(hours=3)
    listrak.serve_pages(
        "events",
        "events",
        [
            [
                api_event(
                    "ev-1",
                    iso(clicked, offset_minutes=120, fraction=".123"),
                    contactId="20417",
                    campaignId=981,
                    eventType="click",
                    email="ann@example.test",
                    userAgent="Mozilla/5.0",
                    ipAddress="203.0.113.9",
                    url="https://shop.example.test/sale",
                    metadata={
                        "device": {"os": "iOS", "version": {"major": 17}},
                        "links": [{"pos": 1}],
                        "city": "Zürich",
                    },
                ),
                api_event(7, iso(recent(hours=2)), eventType="open", metadata=None),
                api_event(8, iso(recent(hours=2)), eventType="bounce"),
                api_event(9, iso(recent(hours=2)), eventType="spam_complaint", metadata=["a", "b"]),
            ]
        ],
    )

    output = read_streams(bearer_config(api_key), "events")

    by_id = {event["event_id"]: without_sync_timestamp(event) for event in records(output, "events")}
    assert by_id["ev-1"] == {
        "event_id": "ev-1",
        "contact_id": "20417",
        "campaign_id": 981,
        "event_type": "click",
        "event_timestamp": iso(clicked, fraction=".123"),
        "email_address": "ann@example.test",
        "user_agent": "Mozilla/5.0",
        "ip_address": "203.0.113.9",
        "url": "https://shop.example.test/sale",
        "metadata": '{"city":"Zürich","device.os":"iOS","device.version.major":17,"links":[{"pos":1}]}',
    }
    assert by_id[7]["metadata"] == "{}"
    assert by_id[8]["metadata"] == "{}"
    assert by_id[9]["metadata"] == '{"value":["a","b"]}'


def test_a_field_the_api_omits_is_not_invented(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve_pages("contacts", "contacts", [[api_contact(5, an_hour_ago())]])

    [contact] = records(read_streams(bearer_config(api_key), "contacts"), "contacts")

    # The serializer leaves nulls out: an omitted column is absent (or null), never a made-up value.
    assert {name: value for name, value in contact.items() if value is not None}.keys() == {
        "contact_id",
        "updated_date",
        "sync_timestamp",
    }


def test_records_under_data_are_read_when_the_records_key_is_absent(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("events", {"json": {"data": [api_event(1, an_hour_ago())]}})
    assert [e["event_id"] for e in records(read_streams(bearer_config(api_key), "events"), "events")] == [1]


def test_an_html_page_with_status_200_fails_the_stream_naming_the_path(listrak: FakeListrak, api_key: str) -> None:
    listrak.serve("events", {"text": "<html>maintenance</html>", "headers": {"Content-Type": "text/html"}})

    output = read_streams(bearer_config(api_key), "events", expecting_exception=True)

    assert records(output, "events") == []
    assert any("/events" in m and "not JSON" in m for m in error_messages(output)), error_messages(output)


def test_every_windowed_request_carries_the_bearer_key(listrak: FakeListrak, api_key: str) -> None:
    for stream in INCREMENTAL_STREAMS:
        listrak.serve_window(stream, [])
    read_streams(bearer_config(api_key, initial_sync_days=20), *INCREMENTAL_STREAMS)
    assert len(listrak.requests()) == len(INCREMENTAL_STREAMS) * 3  # 3 windows of at most 7 days each
    assert {authorization(r) for r in listrak.requests()} == {f"Bearer {api_key}"}


def test_an_event_with_metadata_nested_5000_levels_is_read(listrak: FakeListrak, api_key: str) -> None:
    depth = 5000
    metadata = '{"k":' * depth + '"bottom"' + "}" * depth  # json.dumps itself cannot write this deep
    body = '{"events":[{"id":1,"timestamp":"' + an_hour_ago() + '","metadata":' + metadata + "}]}"
    listrak.serve("events", {"text": body, "headers": {"Content-Type": "application/json"}})

    output = read_streams(bearer_config(api_key), "events", expecting_exception=True)

    assert error_messages(output) == []
    [event] = records(output, "events")
    assert event["metadata"] == '{"' + ".".join(["k"] * depth) + '":"bottom"}'


def test_an_integer_beyond_64_bits_in_metadata_is_kept_exactly(listrak: FakeListrak, api_key: str) -> None:
    body = (
        '{"events":[{"id":1,"timestamp":"'
        + an_hour_ago()
        + '","metadata":{"order":{"ref":123456789012345678901234567890}}}]}'
    )
    listrak.serve("events", {"text": body, "headers": {"Content-Type": "application/json"}})

    [event] = records(read_streams(bearer_config(api_key), "events"), "events")

    assert event["metadata"] == '{"order.ref":123456789012345678901234567890}'
