"""Contract: API fields map to output columns; ids are output as given; a field the API omits is null
(never invented); every record carries ``sync_timestamp`` (UTC, ISO-8601, ending in ``Z``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from airbyte_cdk.sources.types import StreamSlice

from source_listrak.components import AddParentIds, AddSyncTimestamp, IsoCursorParser, RenameFields

CONTACT_RENAMES = [
    ["id", "contact_id"],
    ["email", "email_address"],
    ["firstName", "first_name"],
    ["lastName", "last_name"],
    ["status", "subscription_status"],
    ["createdDate", "created_date"],
    ["updatedDate", "updated_date"],
    ["phone", "phone_number"],
    ["city", "city"],
    ["state", "state"],
    ["zipCode", "zip_code"],
]


def renamed(record: dict, renames: list[list[str]] = CONTACT_RENAMES) -> dict:
    RenameFields(renames=renames, parameters={}).transform(record)
    return record


def test_a_string_id_stays_a_string() -> None:
    assert renamed({"id": "20417"})["contact_id"] == "20417"


def test_an_integer_id_stays_an_integer() -> None:
    assert renamed({"id": 20417})["contact_id"] == 20417


def test_api_fields_become_output_columns_and_omitted_ones_become_null() -> None:
    record = renamed({"id": "c1", "email": "ann@example.test", "firstName": "Ann", "zipCode": "02134"})
    assert record == {
        "contact_id": "c1",
        "email_address": "ann@example.test",
        "first_name": "Ann",
        "last_name": None,
        "subscription_status": None,
        "created_date": None,
        "updated_date": None,
        "phone_number": None,
        "city": None,
        "state": None,
        "zip_code": "02134",
    }


def test_values_are_moved_untouched() -> None:
    custom = {"tier": "gold", "score": 7, "nested": {"x": [1, "2"]}}
    record = renamed(
        {"id": 1, "customFields": custom, "zipCode": "00501"},
        [["customFields", "custom_fields"], ["zipCode", "zip_code"]],
    )
    assert record["custom_fields"] == custom
    assert record["zip_code"] == "00501"  # not the number 501


def test_fields_outside_the_mapping_are_left_alone() -> None:
    assert renamed({"id": 1, "extra": "kept"}, [["id", "contact_id"]]) == {"contact_id": 1, "extra": "kept"}


def test_renames_happen_together_so_an_output_name_may_be_another_api_name() -> None:
    assert renamed({"a": 1, "b": 2}, [["a", "b"], ["b", "a"]]) == {"b": 1, "a": 2}


def test_sync_timestamp_is_the_utc_time_of_reading_ending_in_z() -> None:
    record: dict = {"id": 1}
    before = datetime.now(UTC)
    AddSyncTimestamp(parameters={}).transform(record)
    after = datetime.now(UTC)
    stamp = record["sync_timestamp"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z", stamp)
    assert before <= datetime.fromisoformat(stamp) <= after


def _message_slice(list_id: int, message_id: int, send_date: str) -> StreamSlice:
    parent = {"listId": list_id, "parent_slice": {}}
    return StreamSlice(
        partition={"messageId": message_id, "parent_slice": parent},
        cursor_slice={},
        extra_fields={"sendDate": send_date},
    )


def test_parent_ids_follow_each_record_s_own_slice_when_slices_alternate() -> None:
    add = AddParentIds(
        fields=[["listId", "listId"], ["messageId", "messageId"], ["messageSendDate", "sendDate"]], parameters={}
    )
    first, second = _message_slice(1, 10, "2026-01-01T00:00:00Z"), _message_slice(2, 20, "2026-02-01T00:00:00Z")
    for stream_slice, expected in [
        (first, (1, 10)),
        (first, (1, 10)),
        (second, (2, 20)),
        (first, (1, 10)),
        (None, (None, None)),
    ]:
        record = {"emailAddress": "a@example.com", "listId": "overwritten"}
        add.transform(record, stream_slice=stream_slice)
        assert (record["listId"], record["messageId"]) == expected
        assert record["messageSendDate"] == (stream_slice.extra_fields["sendDate"] if stream_slice else None)


def test_the_cursor_parser_answers_a_repeated_value_as_the_first_time() -> None:
    parser = IsoCursorParser()
    for value, fmt in [("2026-01-31T10:00:00.5Z", "%Y-%m-%dT%H:%M:%S.%fZ")] * 2 + [
        ("2026-01-31T10:00:00Z", "%Y-%m-%dT%H:%M:%SZ")
    ] * 2:
        parsed = parser.parse(value, fmt)
        assert parsed == datetime.fromisoformat(value)
        assert parser.format(parsed, "%Y-%m-%dT%H:%M:%S.%fZ") == parser.format(parsed, "%Y-%m-%dT%H:%M:%S.%fZ")
        assert parser.format(parsed, "%Y-%m-%dT%H:%M:%S.%fZ") == parsed.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert parser.format(parsed, "%s") == str(int(parsed.timestamp()))
