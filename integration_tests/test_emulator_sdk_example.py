"""The SDK-example emulator's own rules, over real HTTP on loopback: auth, paging, windows, errors,
faults, data, output.

Every other integration test of the API-key configurations trusts this emulator, so these tests pin it
to the contract of the Fivetran Connector SDK's Listrak example (/work/shared/api-contract.md, section 1).
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import tracemalloc
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from listrak_emulators.sdk_example import (
    HAL_STREAMS,
    STREAMS,
    WINDOWED,
    Emulator,
    Faults,
    Sizes,
    expected_output,
    flatten,
    to_utc,
)
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS, single_key

REPO_ROOT = Path(__file__).resolve().parent.parent
KEY, ACCOUNT = "test-key-4f9a", "test-account"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SIZES = Sizes(contacts=60, campaigns=30, events=500, custom_fields=5, interests=4, segments=3, sources=1203)
CURSORS = {stream: spec[3] for stream, spec in WINDOWED.items()}


@pytest.fixture
def api() -> Iterator[Emulator]:
    with Emulator(seed=7, sizes=SIZES, api_key=KEY, account_id=ACCOUNT, now=NOW) as emulator:
        yield emulator


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        yield client


def get(client: requests.Session, api: Emulator, path: str, **params: Any) -> requests.Response:
    return client.get(api.base_url + path, params=params, timeout=10)


def instant(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def id_order(value: int | str) -> tuple[int, int | str]:
    return (0, value) if isinstance(value, int) else (1, value)


def basic(account: str, key: str) -> str:
    return "Basic " + base64.b64encode(f"{account}:{key}".encode()).decode()


# ---------------------------------------------------------------- auth


def test_bearer_and_basic_both_authenticate_every_path(api: Emulator) -> None:
    paths = ["/contacts", "/campaigns", "/events", "/custom-fields", "/interests", "/segments", "/sources"]
    for header, scheme in ((f"Bearer {KEY}", "Bearer"), (basic(ACCOUNT, KEY), "Basic")):
        api.clear_log()
        for path in [*paths, "/webhook-events"]:
            response = requests.get(api.base_url + path, headers={"Authorization": header}, timeout=10)
            assert response.status_code == 200, (path, response.text)
        assert [entry.auth_scheme for entry in api.request_log] == [scheme] * 8
    assert KEY not in repr(api.request_log) and base64.b64encode(f"{ACCOUNT}:{KEY}".encode()).decode() not in repr(
        api.request_log
    )


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer wrong-key",
        f"Bearer {KEY}x",
        f"bearer {KEY}",
        f"Token {KEY}",
        basic("other-account", KEY),
        basic(ACCOUNT, "wrong-key"),
        f"Basic {KEY}",
        f"Bearer {base64.b64encode(f'{ACCOUNT}:{KEY}'.encode()).decode()}",
    ],
)
def test_a_missing_or_wrong_credential_gets_401_with_the_error_body(api: Emulator, header: str | None) -> None:
    headers = {"Authorization": header} if header else {}
    response = requests.get(api.base_url + "/events", headers=headers, timeout=10)
    assert response.status_code == 401
    body = response.json()
    assert body.keys() == {"status", "error", "message"}
    assert (body["status"], body["error"]) == (401, "ERROR_UNAUTHORIZED") and body["message"]


def test_a_forbidden_path_gets_403_and_other_paths_still_answer(session: requests.Session) -> None:
    with Emulator(sizes=SIZES, api_key=KEY, account_id=ACCOUNT, now=NOW, forbidden_paths={"/events"}) as api:
        response = get(session, api, "/events")
        assert response.status_code == 403
        body = response.json()
        assert (body["status"], body["error"]) == (403, "ERROR_FORBIDDEN") and body["message"]
        assert get(session, api, "/contacts").status_code == 200
        wrong = requests.get(api.base_url + "/events", headers={"Authorization": "Bearer nope"}, timeout=10)
        assert wrong.status_code == 401  # a bad credential is told so before anything else


def test_unknown_paths_and_paths_outside_the_base_path_get_404_json(api: Emulator, session: requests.Session) -> None:
    for url in (
        api.base_url + "/lists",
        api.base_url + "/events/123",
        api.base_url.removesuffix("/email/v1") + "/events",
    ):
        response = session.get(url, timeout=10)
        assert response.status_code == 404, url
        assert response.json()["error"] == "ERROR_NOT_FOUND"


def test_only_get_is_allowed(api: Emulator, session: requests.Session) -> None:
    response = session.post(api.base_url + "/contacts", json={"email": "x@example.com"}, timeout=10)
    assert response.status_code == 405 and response.json()["error"] == "ERROR_METHOD_NOT_ALLOWED"


# ---------------------------------------------------------------- responses


def test_responses_are_utf8_json_with_a_correct_length_and_raw_non_ascii(
    api: Emulator, session: requests.Session
) -> None:
    response = get(session, api, "/contacts", perPage=1000)
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert int(response.headers["Content-Length"]) == len(response.content)
    names = {contact["firstName"] for contact in response.json()["contacts"]}
    non_ascii = next(name for name in names if not name.isascii())
    assert non_ascii.encode() in response.content and b"\\u" not in response.content


def test_the_request_log_records_each_request_without_the_base_path(api: Emulator, session: requests.Session) -> None:
    before = time.time()
    get(session, api, "/events", page=2, perPage=5)
    get(session, api, "/nowhere")
    first, second = api.request_log
    assert (first.method, first.path, first.query, first.status, first.fault) == (
        "GET",
        "/events",
        {"page": "2", "perPage": "5"},
        200,
        None,
    )
    assert (second.path, second.status) == ("/nowhere", 404)
    assert (first.records, second.records, first.raw_query) == (5, 0, "page=2&perPage=5")
    assert before - 1 <= first.wall_time <= second.wall_time
    assert first.time <= first.answered <= second.time <= second.answered  # type: ignore[operator]
    api.clear_log()
    assert api.request_log == []


# ---------------------------------------------------------------- page paging and windows


@pytest.mark.parametrize("stream", list(WINDOWED))
def test_pages_walk_the_stream_in_order_and_end_with_a_short_page(
    api: Emulator, session: requests.Session, stream: str
) -> None:
    key = WINDOWED[stream][0]
    per_page, page, served = 7, 1, []
    while page < 1000:
        body = get(session, api, f"/{stream}", page=page, perPage=per_page).json()
        assert (body["page"], body["perPage"], body["total"]) == (page, per_page, api.data.count(stream))
        served += body[key]
        if len(body[key]) < per_page:
            break
        page += 1
    assert page == api.data.count(stream) // per_page + 1
    assert len(body[key]) == api.data.count(stream) % per_page  # the short last page
    assert served == list(api.api_records(stream))
    beyond = get(session, api, f"/{stream}", page=page + 5, perPage=per_page).json()
    assert beyond[key] == [] and beyond["total"] == api.data.count(stream)


def test_page_and_per_page_default_to_1_and_100(api: Emulator, session: requests.Session) -> None:
    body = get(session, api, "/events").json()
    assert (body["page"], body["perPage"], len(body["events"])) == (1, 100, 100)
    assert body["events"] == list(api.api_records("events"))[:100]


@pytest.mark.parametrize("stream", list(WINDOWED))
def test_records_are_ordered_by_cursor_then_id_with_ties(api: Emulator, stream: str) -> None:
    records = list(api.api_records(stream))
    keys = [(instant(record[CURSORS[stream]]), id_order(record["id"])) for record in records]
    assert keys == sorted(keys)
    assert len({record["id"] for record in records}) == len(records)
    tied = sum(1 for before, after in zip(keys, keys[1:], strict=False) if before[0] == after[0])
    assert tied >= len(records) // 4


def test_a_window_includes_its_start_and_excludes_its_end(api: Emulator, session: requests.Session) -> None:
    records = list(api.api_records("events"))
    pair = next(
        i for i in range(1, len(records)) if instant(records[i]["timestamp"]) == instant(records[i - 1]["timestamp"])
    )
    tie = instant(records[pair]["timestamp"])
    tied_ids = {records[pair - 1]["id"], records[pair]["id"]}
    for text in (
        tie.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        tie.astimezone(UTC).isoformat(),
        tie.astimezone(datetime.fromisoformat("2026-01-01T00:00:00+05:30").tzinfo).isoformat(),
    ):
        starting = get(session, api, "/events", timestampAfter=text, perPage=1000).json()
        assert starting["events"][:2] == records[pair - 1 : pair + 1], text
        assert starting["total"] == len(records) - (pair - 1)
        ending = get(session, api, "/events", timestampBefore=text, perPage=1000).json()
        assert ending["events"] == records[: pair - 1] and not tied_ids & {e["id"] for e in ending["events"]}
        empty = get(session, api, "/events", timestampAfter=text, timestampBefore=text).json()
        assert (empty["events"], empty["total"]) == ([], 0)


@pytest.mark.parametrize("stream", list(WINDOWED))
def test_windows_served_match_the_expected_records_for_the_same_bounds(
    api: Emulator, session: requests.Session, stream: str
) -> None:
    key, start_param, end_param, _ = WINDOWED[stream]
    start, end = NOW - timedelta(days=50), NOW - timedelta(days=20, microseconds=500)
    query = {start_param: start.isoformat(), end_param: end.isoformat().replace("+00:00", "Z"), "perPage": 1000}
    served = get(session, api, f"/{stream}", **query).json()
    expected = api.expected_records(stream, start=start, end=end)
    assert 0 < len(expected) < api.data.count(stream)
    assert [expected_output(stream, record) for record in served[key]] == expected
    assert served["total"] == api.expected_count(stream, start=start, end=end) == len(expected)
    for record in served[key]:
        assert start <= instant(record[CURSORS[stream]]) < end


@pytest.mark.parametrize(
    ("path", "params", "named"),
    [
        ("/events", {"perPage": "0"}, "perPage must be between 1 and 1000"),
        ("/events", {"perPage": "1001"}, "perPage must be between 1 and 1000"),
        ("/contacts", {"perPage": "ten"}, "perPage"),
        ("/campaigns", {"page": "0"}, "page"),
        ("/events", {"page": "1.5"}, "page"),
        ("/events", {"page": "-1"}, "page"),
        ("/events", {"timestampAfter": "yesterday"}, "timestampAfter"),
        ("/events", {"timestampBefore": "2026-02-01T00:00:00"}, "timestampBefore"),  # no offset
        ("/contacts", {"updatedAfter": "2026-02-01"}, "updatedAfter"),
        ("/campaigns", {"sendDateBefore": ""}, "sendDateBefore"),
        ("/sources", {"limit": "501"}, "limit must be between 1 and 500"),
        ("/sources", {"limit": "0"}, "limit"),
        ("/sources", {"offset": "-1"}, "offset"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(
    api: Emulator, session: requests.Session, path: str, params: dict[str, str], named: str
) -> None:
    response = get(session, api, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert (body["status"], body["error"]) == (400, "ERROR_INVALID_PARAMETER")
    assert named in body["message"]


def test_the_limits_themselves_are_accepted(api: Emulator, session: requests.Session) -> None:
    assert len(get(session, api, "/events", perPage=1000).json()["events"]) == 500
    assert len(get(session, api, "/events", perPage=1).json()["events"]) == 1
    assert len(get(session, api, "/sources", limit=500).json()["_embedded"]["item"]) == 500
    assert len(get(session, api, "/sources", limit=1).json()["_embedded"]["item"]) == 1


# ---------------------------------------------------------------- offset paging and single objects


def test_sources_page_by_offset_and_omit_embedded_past_the_end(api: Emulator, session: requests.Session) -> None:
    served, pages = [], []
    for offset in range(0, 2500, 500):  # bounded: a paginator that never stops must fail, not hang
        body = get(session, api, "/sources", offset=offset).json()
        assert (body["total"], body["offset"], body["limit"]) == (1203, offset, 500)
        pages.append(len(body["_embedded"]["item"]) if "_embedded" in body else None)
        served += body.get("_embedded", {}).get("item", [])
    assert pages == [500, 500, 203, None, None] and len(served) == 1203
    assert [item["id"] for item in served] == list(range(1, 1204))
    assert all(item["_links"]["self"]["href"] for item in served)
    assert served == list(api.api_records("sources"))
    assert get(session, api, "/sources", offset=1203).json() == {"total": 1203, "offset": 1203, "limit": 500}


@pytest.mark.parametrize(
    ("path", "stream"), [("/custom-fields", "custom_fields"), ("/interests", "interests"), ("/segments", "segments")]
)
def test_hal_collections_carry_every_item_with_string_ids_and_links(
    api: Emulator, session: requests.Session, path: str, stream: str
) -> None:
    body = get(session, api, path).json()
    items = body["_embedded"]["item"]
    assert body["total"] == len(items) == getattr(SIZES, stream)
    assert all(isinstance(item["id"], str) and "_links" in item for item in items)
    assert items == list(api.api_records(stream))


def test_empty_collections_leave_out_embedded(session: requests.Session) -> None:
    empty = Sizes(contacts=0, campaigns=0, events=0, custom_fields=0, interests=0, segments=0, sources=0)
    with Emulator(sizes=empty, api_key=KEY, now=NOW) as api:
        for path in ("/custom-fields", "/interests", "/segments"):
            assert get(session, api, path).json() == {"total": 0}
        assert get(session, api, "/sources").json() == {"total": 0, "offset": 0, "limit": 500}
        assert get(session, api, "/events").json() == {"events": [], "page": 1, "perPage": 100, "total": 0}
        assert all(api.expected_records(stream) == [] for stream in STREAMS if stream != "webhook_events")


def test_webhook_events_is_one_object_of_event_names(api: Emulator, session: requests.Session) -> None:
    body = get(session, api, "/webhook-events").json()
    assert set(body) == {"events", "_links"}
    assert body["events"] and all(isinstance(name, str) for name in body["events"])
    assert api.expected_records("webhook_events") == [{"events": body["events"]}]


# ---------------------------------------------------------------- data


def test_data_is_a_function_of_seed_sizes_and_now(api: Emulator) -> None:
    again = Emulator(seed=7, sizes=SIZES, now=NOW)
    other = Emulator(seed=8, sizes=SIZES, now=NOW)
    for stream in STREAMS:
        assert list(again.api_records(stream)) == list(api.api_records(stream)), stream
    assert list(other.api_records("events")) != list(api.api_records("events"))
    assert list(other.api_records("contacts")) != list(api.api_records("contacts"))


def test_data_is_the_same_in_another_process_with_another_hash_seed(api: Emulator) -> None:
    script = (
        "import hashlib, json, sys; from datetime import datetime;"
        "from listrak_emulators.sdk_example import Emulator, Sizes;"
        f"e = Emulator(seed=7, sizes=Sizes(**{SIZES.__dict__!r}), now=datetime.fromisoformat({NOW.isoformat()!r}));"
        "print(hashlib.sha256(json.dumps([list(e.api_records(s)) for s in e.STREAMS]).encode()).hexdigest())"
    )
    child = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PYTHONHASHSEED": "12345"},
        check=True,
    )
    here = json.dumps([list(api.api_records(stream)) for stream in STREAMS])
    assert child.stdout.strip() == hashlib.sha256(here.encode()).hexdigest()


def test_cursor_timestamps_mix_offsets_and_fractions_and_five_percent_are_older_than_100_days(api: Emulator) -> None:
    for stream, cursor in CURSORS.items():
        texts = [record[cursor] for record in api.api_records(stream)]
        suffixes = Counter("Z" if text.endswith("Z") else text[-6:] for text in texts)
        assert set(suffixes) == {"Z", "+00:00", "+02:00", "-05:00", "+05:30"}, stream
        fractions = Counter(len(re.search(r"(?:\.(\d+))?(?:Z|[+-]\d\d:\d\d)$", text)[1] or "") for text in texts)
        assert set(fractions) == {0, 3, 6}, (stream, fractions)
        moments = [instant(text) for text in texts]
        old = [moment for moment in moments if moment < NOW - timedelta(days=100)]
        assert 0.03 <= len(old) / len(moments) <= 0.1, stream
        recent = moments[len(old) :]
        assert all(NOW - timedelta(days=80) < moment <= NOW - timedelta(seconds=60) for moment in recent), stream


def test_ids_keep_their_types_and_references_point_at_real_records(api: Emulator) -> None:
    contacts = {record["id"]: record for record in api.api_records("contacts")}
    campaign_ids = [record["id"] for record in api.api_records("campaigns")]
    events = list(api.api_records("events"))
    assert all(isinstance(contact_id, int) for contact_id in contacts)
    assert all(isinstance(campaign_id, str) for campaign_id in campaign_ids)
    assert any(campaign_id.isdigit() for campaign_id in campaign_ids)
    assert any(campaign_id.startswith("cmp-") for campaign_id in campaign_ids)
    assert {type(event["id"]) for event in events} == {int, str}
    for event in events:
        assert event["campaignId"] in campaign_ids
        assert event["email"] == contacts[event["contactId"]]["email"]
    assert all(isinstance(record["id"], int) for record in api.api_records("sources"))


def test_optional_fields_and_metadata_shapes_all_occur(api: Emulator) -> None:
    big = Emulator(seed=7, sizes=replace(SIZES, events=3000), now=NOW)
    events = list(big.api_records("events"))
    for name in ("userAgent", "ipAddress", "url", "metadata"):
        assert any(name in event for event in events) and any(name not in event for event in events), name
    assert Counter(event["eventType"] for event in events).most_common(1)[0][0] == "open"
    assert {e["eventType"] for e in events} == {"open", "click", "bounce", "unsubscribe", "spam_complaint"}
    shapes = Counter(type(event["metadata"]).__name__ for event in events if "metadata" in event)
    assert {"dict", "NoneType", "list", "str"} <= set(shapes)
    metadata = [event["metadata"] for event in events if isinstance(event.get("metadata"), dict)]
    assert any(isinstance(meta.get("device", {}).get("version"), dict) for meta in metadata)  # 3 levels
    assert any(any(isinstance(link, dict) for link in meta.get("links", [])) for meta in metadata)
    contacts = list(api.api_records("contacts"))
    for name in ("phone", "city", "state", "zipCode", "language", "customFields"):
        assert any(name in c for c in contacts) and any(name not in c for c in contacts), name
    campaigns = list(api.api_records("campaigns"))
    assert any("subject" in c for c in campaigns) and any("subject" not in c for c in campaigns)
    text = json.dumps([contacts, campaigns, events[:500]], ensure_ascii=False)
    assert any(not ch.isascii() and ord(ch) > 0xFFFF for ch in text)  # an emoji somewhere


def test_add_records_appends_new_ids_stamped_now_after_everything_else(session: requests.Session) -> None:
    with Emulator(sizes=SIZES, api_key=KEY) as api:
        before = {stream: list(api.api_records(stream)) for stream in WINDOWED}
        started = datetime.now(UTC)
        for stream in WINDOWED:
            added = api.add_records(stream, 3)
            assert len(added) == 3
            old_ids = {record["id"] for record in before[stream]}
            assert not old_ids & {record["id"] for record in added} and len({r["id"] for r in added}) == 3
            stamps = [instant(record[CURSORS[stream]]) for record in added]
            assert all(started - timedelta(seconds=1) <= stamp <= datetime.now(UTC) for stamp in stamps)
            key, start_param = WINDOWED[stream][0], WINDOWED[stream][1]
            recent = get(session, api, f"/{stream}", **{start_param: (started - timedelta(seconds=30)).isoformat()})
            assert recent.json()[key] == added
            everything = get(session, api, f"/{stream}", perPage=1000).json()[key]
            assert everything == before[stream] + added
            expected = api.expected_records(stream, start=started - timedelta(seconds=30))
            assert expected == [expected_output(stream, record) for record in added]
        with pytest.raises(ValueError):
            api.add_records("sources", 1)
        additions = json.loads(json.dumps(api.additions()))  # as a caller would keep them between runs
    replayed = Emulator(sizes=SIZES, api_key=KEY, now=api.data.now, additions=additions)
    for stream in WINDOWED:
        assert list(replayed.api_records(stream)) == list(api.api_records(stream))


# ---------------------------------------------------------------- a million events


def test_a_million_events_are_served_without_materialising_them(session: requests.Session) -> None:
    tracemalloc.start()
    try:
        api = Emulator(sizes=replace(SIZES, events=1_000_000), api_key=KEY, now=NOW)
        with api:
            body = get(session, api, "/events", page=731, perPage=1000).json()
            middle = NOW - timedelta(days=40)
            window = get(session, api, "/events", timestampAfter=middle.isoformat(), perPage=1000).json()
            count = api.expected_count("events", start=middle)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20_000_000  # a million event dicts would take about a gigabyte
    assert body["total"] == 1_000_000 and len(body["events"]) == 1000
    assert body["events"][0] == api.data.record("events", 730_000)
    assert window["total"] == count and 400_000 < count < 600_000
    assert instant(window["events"][0]["timestamp"]) >= middle
    assert instant(api.data.record("events", 1_000_000 - count - 1)["timestamp"]) < middle


# ---------------------------------------------------------------- connections


def _exchange(connection: socket.socket, path: str) -> bytes:
    """One GET on an open connection; returns the body, read by its Content-Length."""
    connection.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {KEY}\r\n\r\n".encode())
    received = b""
    while b"\r\n\r\n" not in received:
        received += connection.recv(65536)
    head, _, body = received.partition(b"\r\n\r\n")
    length = int(re.search(rb"Content-Length: (\d+)", head)[1])  # type: ignore[index]
    while len(body) < length:
        body += connection.recv(65536)
    assert head.startswith(b"HTTP/1.1 200 ") and len(body) == length
    return body


def test_one_kept_alive_connection_serves_a_hundred_requests(api: Emulator) -> None:
    host, port = api.base_url.removeprefix("http://").split("/")[0].split(":")
    with socket.create_connection((host, int(port)), timeout=10) as connection:
        for page in range(1, 101):
            body = _exchange(connection, f"/email/v1/contacts?page={page % 5 + 1}&perPage=10")
            assert len(json.loads(body)["contacts"]) == 10
    assert len(api.request_log) == 100


def test_prerendered_pages_are_byte_for_byte_the_pages_built_record_by_record(api: Emulator) -> None:
    count = api.data.count("events")
    queries = [
        {"page": "1", "perPage": "1000"},
        {"page": "2", "perPage": "7"},
        {"timestampAfter": api.api_records("events").__next__()["timestamp"], "page": "1", "perPage": "3"},
        {"timestampAfter": (NOW - timedelta(days=30)).isoformat(), "page": "3", "perPage": "11"},
        {"timestampBefore": f"{NOW:%Y-%m-%dT%H:%M:%S}Z", "page": "999999", "perPage": "1000"},
    ]
    plain = [api.render("/events", query) for query in queries]
    api.prerender(("events",))
    assert [api.render("/events", query) for query in queries] == plain
    assert plain[0].body == json.dumps(api.respond("/events", queries[0]), ensure_ascii=False).encode()
    assert [page.records for page in plain] == [count, 7, 3, 11, 0]
    api.add_records("events", 2)  # a stale prerendering is not used
    assert api.render("/events", {"perPage": "1000"}).records == count + 2
    with pytest.raises(ValueError):
        api.prerender(("sources",))


def test_concurrent_clients_all_get_their_pages(api: Emulator) -> None:
    def fetch(page: int) -> list[Any]:
        with requests.Session() as client:
            client.headers["Authorization"] = f"Bearer {KEY}"
            return get(client, api, "/events", page=page, perPage=50).json()["events"]

    with ThreadPoolExecutor(8) as pool:
        pages = list(pool.map(fetch, range(1, 11)))
    assert [record for page in pages for record in page] == list(api.api_records("events"))


# ---------------------------------------------------------------- faults

FAULTY = Faults(rate_429=0.25, rate_5xx=0.2, rate_drop=0.1, retry_after="mixed")
FAULT_URLS = [("/events", {"page": str(page), "perPage": "50"}) for page in range(1, 9)] + [
    ("/sources", {"offset": str(offset)}) for offset in (0, 500, 1000)
]


def _attempts_until_ok(base_url: str, path: str, params: dict[str, str]) -> list[tuple[int, bool]]:
    """(status or 0 for a dropped connection, whether Retry-After was sent) of each attempt, until a 200."""
    seen: list[tuple[int, bool]] = []
    with requests.Session() as client:
        client.headers["Authorization"] = f"Bearer {KEY}"
        while not seen or seen[-1][0] != 200:
            try:
                response = client.get(base_url + path, params=params, timeout=10)
                seen.append((response.status_code, "Retry-After" in response.headers))
            except requests.ConnectionError:
                seen.append((0, False))
            assert len(seen) < 10
    return seen


def _fault_run(seed: int, concurrent: bool) -> list[list[tuple[int, bool]]]:
    with Emulator(seed=seed, sizes=SIZES, faults=FAULTY, api_key=KEY, now=NOW) as api:
        if concurrent:
            with ThreadPoolExecutor(len(FAULT_URLS)) as pool:
                return list(pool.map(lambda url: _attempts_until_ok(api.base_url, *url), FAULT_URLS))
        return [_attempts_until_ok(api.base_url, *url) for url in FAULT_URLS]


def test_faults_repeat_exactly_for_a_seed_even_with_concurrent_clients() -> None:
    sequential = _fault_run(seed=11, concurrent=False)
    assert _fault_run(seed=11, concurrent=True) == sequential
    assert _fault_run(seed=12, concurrent=False) != sequential
    statuses = Counter(status for attempts in sequential for status, _ in attempts)
    assert sum(statuses.values()) - statuses[200] >= 3  # faults did happen, so the equality means something
    assert all(len(attempts) <= 3 for attempts in sequential)  # max_consecutive=2: the third attempt succeeds


def test_faults_are_logged_with_their_kind_and_status(session: requests.Session) -> None:
    faults = Faults(rate_429=0.3, rate_5xx=0.3, rate_drop=0.2, retry_after="seconds")
    with Emulator(seed=3, sizes=SIZES, faults=faults, api_key=KEY, now=NOW) as api:
        for path, params in FAULT_URLS:
            _attempts_until_ok(api.base_url, path, params)
        for entry in api.request_log:
            if entry.fault == "429":
                assert entry.status == 429 and entry.retry_after == "1"
            elif entry.fault == "5xx":
                assert entry.status in (500, 502, 503, 504) and entry.retry_after is None
            elif entry.fault == "drop":
                assert entry.status == 0
            else:
                assert entry.fault is None and entry.status == 200
        assert {entry.fault for entry in api.request_log} == {None, "429", "5xx", "drop"}


def test_server_errors_carry_the_json_error_body(session: requests.Session) -> None:
    faults = Faults(rate_5xx=1.0, max_consecutive=1000)
    with Emulator(sizes=SIZES, faults=faults, api_key=KEY, now=NOW) as api:
        statuses = set()
        for _ in range(30):
            response = get(session, api, "/segments")
            body = response.json()
            assert body["status"] == response.status_code and body["error"].startswith("ERROR_") and body["message"]
            statuses.add(response.status_code)
        assert statuses == {500, 502, 503, 504}
        assert get(session, api, "/segments").json()["status"] != 200


def test_max_consecutive_limits_faults_in_a_row_for_one_url(session: requests.Session) -> None:
    with Emulator(sizes=SIZES, faults=Faults(rate_429=1.0, max_consecutive=2), api_key=KEY, now=NOW) as api:
        statuses = [get(session, api, "/interests").status_code for _ in range(6)]
        assert statuses == [429, 429, 200, 429, 429, 200]
        assert get(session, api, "/segments").status_code == 429  # another URL has its own count


@pytest.mark.parametrize("mode", ["seconds", "http-date", "absent", "far-future", "past"])
def test_retry_after_takes_each_form(session: requests.Session, mode: str) -> None:
    faults = Faults(rate_429=1.0, retry_after=mode, retry_after_seconds=5, max_consecutive=100)
    with Emulator(sizes=SIZES, faults=faults, api_key=KEY, now=NOW) as api:
        response = get(session, api, "/segments")
        entry = api.request_log[-1]
        assert response.status_code == 429 and response.json()["error"] == "ERROR_TOO_MANY_REQUESTS"
        header = response.headers.get("Retry-After")
        assert entry.retry_after == header
    if mode == "seconds":
        assert header == "5"
    elif mode == "absent":
        assert header is None
    else:
        assert header is not None and header.endswith(" GMT")
        # whole seconds, from the moment the emulator answered: within a second of the asked offset
        ahead = parsedate_to_datetime(header).timestamp() - entry.wall_time
        handling = entry.answered - entry.time  # type: ignore[operator]
        asked = {"http-date": 5, "far-future": 86_400, "past": -3600}[mode]
        assert asked - 1 < ahead < asked + 1 + handling, (header, ahead)


def test_mixed_retry_after_cycles_seconds_date_and_none(session: requests.Session) -> None:
    faults = Faults(rate_429=1.0, retry_after="mixed", retry_after_seconds=2, max_consecutive=100)
    with Emulator(sizes=SIZES, faults=faults, api_key=KEY, now=NOW) as api:
        headers = [get(session, api, "/segments").headers.get("Retry-After") for _ in range(6)]
    assert headers[0] == headers[3] == "2"
    assert headers[1].endswith(" GMT") and headers[4].endswith(" GMT")
    assert headers[2] is None and headers[5] is None


def test_a_slow_answer_times_the_client_out_and_the_retry_is_answered(session: requests.Session) -> None:
    faults = Faults(rate_slow=1.0, slow_seconds=0.6, max_consecutive=1)
    with Emulator(sizes=SIZES, faults=faults, api_key=KEY, now=NOW) as api:
        with pytest.raises(requests.Timeout):
            session.get(api.base_url + "/segments", timeout=0.15)
        assert session.get(api.base_url + "/segments", timeout=5).status_code == 200
        deadline = time.monotonic() + 10  # the slow answer is logged once its delay is over
        while len(api.request_log) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert sorted(str(entry.fault) for entry in api.request_log) == ["None", "slow"]


def test_a_dropped_connection_gets_no_response_at_all() -> None:
    with (
        Emulator(sizes=SIZES, faults=Faults(rate_drop=1.0, max_consecutive=1), api_key=KEY, now=NOW) as api,
        requests.Session() as client,
    ):
        client.headers["Authorization"] = f"Bearer {KEY}"
        with pytest.raises(requests.ConnectionError):
            client.get(api.base_url + "/segments", timeout=5)
        assert client.get(api.base_url + "/segments", timeout=5).status_code == 200
        assert [(entry.fault, entry.status) for entry in api.request_log] == [("drop", 0), (None, 200)]


def test_latency_is_added_to_every_request(session: requests.Session) -> None:
    with Emulator(sizes=SIZES, faults=Faults(latency_ms=80), api_key=KEY, now=NOW) as api:
        for _ in range(3):
            get(session, api, "/segments")
    assert all(entry.answered - entry.time >= 0.08 for entry in api.request_log)  # type: ignore[operator]


# ---------------------------------------------------------------- expected output


def test_timestamps_become_the_same_instant_in_utc_keeping_the_fraction_as_given() -> None:
    assert to_utc("2026-03-01T10:00:00.120+02:00") == "2026-03-01T08:00:00.120Z"
    assert to_utc("2026-03-01T00:30:00-05:00") == "2026-03-01T05:30:00Z"
    assert to_utc("2026-03-01T00:30:00.000001+05:30") == "2026-02-28T19:00:00.000001Z"
    assert to_utc("2026-12-31T23:59:59Z") == "2026-12-31T23:59:59Z"
    assert to_utc("2026-03-01T10:00:00.500+00:00") == "2026-03-01T10:00:00.500Z"


def test_metadata_is_flattened_sorted_and_compact() -> None:
    assert flatten({"device": {"os": "iOS"}}) == '{"device.os":"iOS"}'
    assert flatten(None) == "{}"
    assert flatten({}) == "{}"
    assert flatten([1, 2]) == '{"value":[1,2]}'
    assert flatten("legacy") == '{"value":"legacy"}'
    nested = {"z": 1, "a": {"b": {"c": None}, "list": [{"x": 1}]}, "tags": ["été"], "ok": True}
    assert flatten(nested) == '{"a.b.c":null,"a.list":[{"x":1}],"ok":true,"tags":["été"],"z":1}'


def test_an_event_maps_to_every_output_column_with_nulls_for_what_is_missing() -> None:
    record = {
        "id": "evt-1",
        "contactId": 10001,
        "campaignId": "20417",
        "eventType": "click",
        "timestamp": "2026-03-01T10:00:00.120+02:00",
        "email": "zoë@exämple.com",
        "metadata": {"device": {"os": "iOS"}},
        "_links": {"self": {"href": "/x"}},
        "extra": 5,
    }
    assert expected_output("events", record) == {
        "event_id": "evt-1",
        "contact_id": 10001,
        "campaign_id": "20417",
        "event_type": "click",
        "event_timestamp": "2026-03-01T08:00:00.120Z",
        "email_address": "zoë@exämple.com",
        "user_agent": None,
        "ip_address": None,
        "url": None,
        "metadata": '{"device.os":"iOS"}',
        "extra": 5,
    }


def test_expected_records_rename_every_field_of_the_served_records(api: Emulator) -> None:
    columns = {
        "contacts": {
            "contact_id", "email_address", "first_name", "last_name", "subscription_status", "created_date",
            "updated_date", "phone_number", "city", "state", "zip_code", "language", "custom_fields",
        },
        "campaigns": {
            "campaign_id", "campaign_name", "subject_line", "send_date", "campaign_type", "status", "recipients_count",
            "opens_count", "clicks_count", "bounces_count", "created_date", "updated_date",
        },
        "events": {
            "event_id", "contact_id", "campaign_id", "event_type", "event_timestamp", "email_address", "user_agent",
            "ip_address", "url", "metadata",
        },
    }  # fmt: skip
    for stream, names in columns.items():
        served, expected = list(api.api_records(stream)), api.expected_records(stream)
        assert len(served) == len(expected) == api.expected_count(stream)
        for record, output in zip(served, expected, strict=True):
            assert set(output) == names
            assert output[single_key(SDK_EXAMPLE_STREAMS[stream])] == record["id"]  # the connector's key
            cursor = SDK_EXAMPLE_STREAMS[stream].cursor_field  # and cursor
            assert cursor is not None
            assert output[cursor].endswith("Z") and instant(output[cursor]) == instant(record[CURSORS[stream]])
    for stream in HAL_STREAMS:
        served = list(api.api_records(stream))
        assert api.expected_records(stream) == [{k: v for k, v in item.items() if k != "_links"} for item in served]
        assert api.expected_count(stream) == len(served)


# ---------------------------------------------------------------- command line


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_the_command_line_serves_until_a_signal_and_exits_0(signum: int) -> None:
    command = [sys.executable, "-m", "listrak_emulators.sdk_example", "--port", "0", "--events", "25"]
    command += ["--api-key", "cli-key", "--account-id", "cli-account", "--seed", "4"]
    with subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True) as server:
        try:
            assert server.stdout is not None
            line = server.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:") and line.endswith("/email/v1")
            base_url = line.removeprefix("listening on ")
            ok = requests.get(
                base_url + "/events", headers={"Authorization": basic("cli-account", "cli-key")}, timeout=5
            )
            assert ok.status_code == 200 and ok.json()["total"] == 25
            assert requests.get(base_url + "/events", timeout=5).status_code == 401
            server.send_signal(signum)
            assert server.wait(timeout=5) == 0
        finally:
            if server.poll() is None:
                server.kill()


def test_stop_closes_the_port_and_kept_alive_connections(session: requests.Session) -> None:
    api = Emulator(sizes=SIZES, api_key=KEY, now=NOW)
    api.start()
    assert get(session, api, "/segments").status_code == 200
    api.stop()
    with pytest.raises(requests.ConnectionError):
        get(session, api, "/segments")
    with pytest.raises(requests.ConnectionError):
        requests.get(api.base_url + "/segments", timeout=2)
