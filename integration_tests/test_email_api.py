"""Listrak's Email API v1 through the installed `source-listrak` command, against the strict v1 emulator.

Every expectation comes from the emulator: its expected output per stream, its request log and its
request model. Nothing is typed by hand but the mutations a test makes between syncs.
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from listrak_emulators.email_v1 import (
    PRIMARY_KEYS,
    STREAM_TABLE,
    EmailV1Emulator,
    Envelope,
    Faults,
    Integration,
    Paging,
    Sizes,
    find_route,
)
from listrak_testkit.harness import Run, comparable, run_connector

SIZES = Sizes(contacts_per_list=150, messages_per_list=8, recipients_per_message=40, history_days=400)
ALL_HISTORY = "2000-01-01"  # a start date before every send: first syncs read every message
EARLIER = timedelta(days=1)  # emulators start a day back, so the clock they advance stays in the past
DISCOVERED: dict[str, dict[str, Any]] = {}
OUTPUTS: list[tuple[EmailV1Emulator, str]] = []  # every run's output, scanned for secrets at the end


def config(api: EmailV1Emulator, **overrides: Any) -> dict[str, Any]:
    return {
        "credentials": {
            "auth_type": "oauth2_client_credentials",
            "client_id": api.client_id,
            "client_secret": api.client_secret,
        },
        "base_url": api.base_url,
        "token_url": api.token_url,
        "start_date": ALL_HISTORY,
        "backoff_factor_seconds": 0,
        "max_retry_wait_seconds": 2,
        **overrides,
    }


def discovered(api: EmailV1Emulator) -> dict[str, dict[str, Any]]:
    """`discover` run once for the module: its catalogue is the manifest's Email API streams, the same
    for every emulator here (it asks the API nothing)."""
    if not DISCOVERED:
        result = run_connector("discover", config(api))
        (catalog,) = result.of_type("CATALOG")
        DISCOVERED.update({stream["name"]: stream for stream in catalog["catalog"]["streams"]})
    return copy.deepcopy(DISCOVERED)


def catalog(api: EmailV1Emulator, streams: list[str] | None = None, incremental: bool = False) -> dict:
    entries = []
    for name, stream in discovered(api).items():
        if streams is not None and name not in streams:
            continue
        mode = "incremental" if incremental and "incremental" in stream["supported_sync_modes"] else "full_refresh"
        entry = {"stream": stream, "sync_mode": mode, "destination_sync_mode": "append"}
        if mode == "incremental":
            entry["cursor_field"] = stream["default_cursor_field"]
        entries.append(entry)
    return {"streams": entries}


def read(api: EmailV1Emulator, catalog_: dict, state: list | None = None, **overrides: Any) -> Run:
    result = run_connector("read", config(api, **overrides), catalog_, state, timeout=600)
    OUTPUTS.append((api, result.output))
    return result


def as_multiset(records: list[dict[str, Any]]) -> Counter:
    return Counter(json.dumps(comparable(record), sort_keys=True) for record in records)


def keys(stream: str, records: list[dict[str, Any]]) -> list[tuple]:
    return [tuple(record.get(column) for column in PRIMARY_KEYS[stream]) for record in records]


@pytest.fixture(scope="module")
def api() -> EmailV1Emulator:
    with EmailV1Emulator(seed=3, sizes=SIZES) as emulator:
        yield emulator


@pytest.fixture(scope="module")
def full_read(api: EmailV1Emulator) -> Run:
    api.clear_log()
    result = read(api, catalog(api))
    result.log = list(api.request_log)  # type: ignore[attr-defined]
    return result


def test_check_gets_a_token_reads_the_lists_and_one_record_per_api_area(api: EmailV1Emulator) -> None:
    api.clear_log()
    result = run_connector("check", config(api))
    assert result.connection_status() == {"status": "SUCCEEDED"}
    log = api.data_log()
    assert log[0].path == "/email/v1/List" and all(entry.status in (200, 404) for entry in log)
    assert {e.query["count"] for e in log if envelope(e.path) is Envelope.PAGED} == {"1"}
    assert {e.path.rsplit("/", 1)[-1] for e in log} >= {"Contact", "EventGroup", "SegmentationFieldGroup", "Summary"}
    assert len(api.token_requests()) <= 2


def test_discover_lists_the_email_api_streams_with_their_keys(api: EmailV1Emulator) -> None:
    streams = discovered(api)
    assert set(streams) == set(PRIMARY_KEYS)
    for name, stream in streams.items():
        assert stream["source_defined_primary_key"] == [[column] for column in PRIMARY_KEYS[name]], name


def test_discover_gives_each_stream_the_incremental_field_of_the_emulators_table(api: EmailV1Emulator) -> None:
    streams = discovered(api)
    for definition in STREAM_TABLE:
        cursor = streams[definition.name].get("default_cursor_field") or []
        assert cursor == ([definition.incremental_field] if definition.incremental_field else []), definition.name
        assert ("incremental" in streams[definition.name]["supported_sync_modes"]) == bool(cursor), definition.name


def test_every_stream_equals_the_emulators_expected_output(api: EmailV1Emulator, full_read: Run) -> None:
    assert full_read.returncode == 0, full_read.errors()
    for stream in PRIMARY_KEYS:
        got = full_read.records(stream)
        assert as_multiset(got) == as_multiset(api.expected_records(stream)), stream
        assert len(set(keys(stream, got))) == len(got), f"{stream}: a primary key twice"
        assert all(record["sync_timestamp"].endswith("Z") for record in got)


def test_a_list_deleted_between_reads_is_skipped_and_the_rest_completes(api: EmailV1Emulator, full_read: Run) -> None:
    gone = api.list_ids[-1]  # /List names it; every route under it answers 404
    assert any(entry.status == 404 and f"/List/{gone}/" in entry.path for entry in full_read.log)
    assert [record["listId"] for record in full_read.records("lists")].count(gone) == 1
    assert not [record for record in full_read.records("campaigns") if record["listId"] == gone]
    warnings = [m["log"]["message"] for m in full_read.of_type("LOG") if m["log"]["level"] == "WARN"]
    skipped = [text for text in warnings if text.startswith(f"Skipped /List/{gone}/") and "no longer has it" in text]
    assert skipped and all("{" not in text for text in skipped), warnings


def envelope(path: str) -> Envelope | None:
    """The envelope of a logged path's route (None: not a data route)."""
    found = find_route(path)
    return found[0].envelope if found else None


def test_paged_routes_send_count_and_unpaged_ones_neither(full_read: Run) -> None:
    assert {envelope(entry.path) for entry in full_read.log} >= {Envelope.PAGED, Envelope.COLLECTION}
    for entry in full_read.log:
        if entry.path == "/OAuth2/Token":
            continue
        if envelope(entry.path) is Envelope.SAVED_AUDIENCE:  # paged without paging parameters: a cursor only
            assert "count" not in entry.query
        elif envelope(entry.path) is Envelope.PAGED:
            assert entry.query.get("count") == "5000", entry.path
        else:
            assert "count" not in entry.query and "cursor" not in entry.query, entry.path


def test_both_subscription_states_are_read_with_the_latest_subscribe_date(full_read: Run) -> None:
    contact_requests = [entry for entry in full_read.log if entry.path.endswith("/Contact")]
    assert {entry.query["subscriptionState"] for entry in contact_requests} == {"Subscribed", "Unsubscribed"}
    assert {entry.query["useOriginalSubscribeDate"] for entry in contact_requests} == {"false"}


def test_short_pages_and_an_empty_last_page_neither_stop_nor_extend_paging() -> None:
    with EmailV1Emulator(seed=5, sizes=SIZES, paging=Paging(short_pages=True, empty_final_page=True)) as api:
        streams = ["contacts", "messages", "message_activity", "message_links", "saved_audiences"]
        result = read(api, catalog(api, streams), page_size=7)
        assert result.returncode == 0, result.errors()
        for stream in streams:
            assert as_multiset(result.records(stream)) == as_multiset(api.expected_records(stream)), stream
        paged = [e for e in api.data_log() if envelope(e.path) is Envelope.PAGED]
        assert {e.query["count"] for e in paged} == {"7"}
        followed = [e for e in paged if "cursor" in e.query]
        assert followed and all("%2B" in e.raw_query or "+" not in e.query["cursor"] for e in followed)


def test_tokens_expired_mid_sync_are_refreshed_once_and_nothing_is_lost() -> None:
    with EmailV1Emulator(seed=7, sizes=SIZES, faults=Faults(latency_ms=20)) as api:
        streams = ["lists", "contacts", "messages", "message_activity", "message_summary"]
        watcher = _expire_tokens_once(api, after_requests=12)
        result = read(api, catalog(api, streams), concurrency=2, page_size=10)
        watcher.join()
        assert result.returncode == 0, result.errors()
        for stream in streams:
            assert as_multiset(result.records(stream)) == as_multiset(api.expected_records(stream)), stream
        log = api.request_log
        rejected = [i for i, entry in enumerate(log) if entry.status == 401]
        assert rejected, "no request met an expired token"
        for i in rejected:  # each 401 is followed by a new token and the same request, answered
            again = next(e for e in log[i + 1 :] if e.path == log[i].path and e.query == log[i].query)
            assert again.status in (200, 404) and again.token != log[i].token


def _expire_tokens_once(api: EmailV1Emulator, after_requests: int) -> threading.Thread:
    """Expires every live token once the emulator has answered `after_requests` data requests."""

    def watch() -> None:
        deadline = time.monotonic() + 120
        while len(api.data_log()) < after_requests and time.monotonic() < deadline:
            time.sleep(0.005)
        api.expire_all_tokens()

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher


def test_a_wrong_secret_fails_check_and_read_naming_the_credentials_and_the_allowlist(api: EmailV1Emulator) -> None:
    wrong = config(api)
    wrong["credentials"]["client_secret"] = "Wrong+Secret/0123456789abcdefghijklmnopq="
    check = run_connector("check", wrong)
    status = check.connection_status()
    assert status["status"] == "FAILED"
    assert "client ID and secret" in status["message"] and "allowlist" in status["message"]

    result = run_connector("read", wrong, catalog(api, ["lists", "campaigns"]))
    errors = [m["trace"]["error"] for m in result.of_type("TRACE") if m["trace"]["type"] == "ERROR"]
    assert result.returncode != 0 and len(errors) == 1
    assert errors[0]["failure_type"] == "config_error" and "allowlist" in errors[0]["message"]
    assert "Traceback" not in result.output
    for text in (check.output, result.output):
        assert "Wrong+Secret" not in text and "Wrong%2BSecret" not in text


@pytest.mark.parametrize("concurrency", [1, 4, 8])
def test_credentials_revoked_mid_sync_stop_every_stream(concurrency: int) -> None:
    integration = Integration(revoke_after=25)
    with EmailV1Emulator(seed=11, sizes=SIZES, integration=integration) as api:
        result = read(api, catalog(api), concurrency=concurrency)
        log = api.data_log()
        rejected = [entry for entry in log if entry.status == 401]
        first = log.index(rejected[0])
        assert result.returncode != 0
        # After the first 401: one new token and one retry per request in flight, then nothing new.
        assert len(rejected) <= 2 * concurrency, [(e.path, e.status) for e in log[first:]]
        assert len(log) - first <= 2 * concurrency
        assert len(result.errors()) == 1 and "OAuth2 client credentials" in result.errors()[0]


def test_fifteen_percent_faults_lose_nothing_and_duplicate_nothing() -> None:
    share = 0.15 / 5  # 429s, 500s, 502s, 503s (HTML bodies) and dropped connections
    rates = {f"rate_{kind}": share for kind in ("429", "500", "502", "503", "drop")}
    faults = Faults(**rates, retry_after="mixed")
    with EmailV1Emulator(seed=13, sizes=SIZES, faults=faults) as api:
        result = read(api, catalog(api), retry_attempts=6)
        assert result.returncode == 0, result.errors()
        assert any(entry.fault for entry in api.data_log())
        for stream in PRIMARY_KEYS:
            expected = api.expected_records(stream)
            got = result.records(stream)
            assert sorted(set(keys(stream, got))) == sorted(keys(stream, expected)), stream
            assert as_multiset({json.dumps(comparable(r), sort_keys=True): r for r in got}.values()) == as_multiset(
                expected
            ), stream


def test_contacts_incremental_picks_up_unsubscribes_resubscribes_and_new_subscribers() -> None:
    with EmailV1Emulator(seed=17, sizes=SIZES, now=datetime.now(UTC) - EARLIER) as api:
        contacts = catalog(api, ["contacts"], incremental=True)
        first = read(api, contacts)
        assert first.returncode == 0, first.errors()
        list_id = api.list_ids[0]
        on_list = [r for r in first.records("contacts") if r["listId"] == list_id]
        subscribed = [r["emailAddress"] for r in on_list if r["subscriptionState"] == "Subscribed"]
        unsubscribed = [r["emailAddress"] for r in on_list if r["subscriptionState"] == "Unsubscribed"]
        leaving, profile_only = subscribed[:2]
        returning = unsubscribed[0]

        api.advance(api.now + timedelta(hours=3))
        api.unsubscribe([leaving], list_id)
        api.resubscribe([returning], list_id)
        api.change_profile_field(profile_only, api.account.field_id(api.account.plans[0], 0), "changed", list_id)
        newcomers = api.subscribe(2, list_id)
        api.advance(api.now + timedelta(hours=1))

        second = read(api, contacts, state=first.final_state_messages())
        assert second.returncode == 0, second.errors()
        latest = {(r["listId"], r["emailAddress"]): r for r in second.records("contacts")}
        assert latest[(list_id, leaving)]["subscriptionState"] == "Unsubscribed"
        assert latest[(list_id, returning)]["subscriptionState"] == "Subscribed"
        assert latest[(list_id, returning)]["resubscribeDate"]
        assert all((list_id, email) in latest for email in newcomers)
        assert (list_id, profile_only) not in latest  # no date moves: only a full refresh sees it
        assert len(latest) < len(first.records("contacts")) / 10


ENGAGEMENT = ["messages", "message_details", "message_summary", "message_links", "message_link_clickers",
              "message_activity", "conversation_message_activity", "transactional_message_activity"]


def test_the_engagement_window_rereads_recent_messages_whole_and_never_older_ones() -> None:
    with EmailV1Emulator(seed=19, sizes=SIZES, now=datetime.now(UTC) - EARLIER) as api:
        engagement = catalog(api, ENGAGEMENT, incremental=True)
        first = read(api, engagement, engagement_window_days=7)
        assert first.returncode == 0, first.errors()
        sends = sorted(
            (r["sendDate"], r["listId"], r["messageId"]) for r in first.records("messages") if r.get("sendDate")
        )
        newest = sends[-1][0]
        state_of_messages = _cursor(first, "messages")
        assert state_of_messages.startswith(newest[:19])
        window_start = _instant(newest) - timedelta(days=7)
        inside = [s for s in sends if _instant(s[0]) >= window_start]
        outside = [s for s in sends if _instant(s[0]) < window_start]
        assert inside and outside

        late_in, late_out = inside[0][2], outside[-1][2]
        emails = {m: [r["emailAddress"] for r in first.records("message_activity") if r["messageId"] == m]
                  for m in (late_in, late_out)}
        quiet = {m: next(r for r in first.records("message_activity") if r["messageId"] == m and not r.get("click"))
                 for m in (late_in, late_out)}
        api.advance(api.now + timedelta(hours=2))
        for message_id in (late_in, late_out):
            api.engage(message_id, quiet[message_id]["emailAddress"], click=True)
        new_message = api.send_message(api.list_ids[0])
        api.advance(api.now + timedelta(hours=2))
        api.clear_log()

        second = read(api, engagement, state=first.final_state_messages(), engagement_window_days=7)
        assert second.returncode == 0, second.errors()
        fanned_out = {int(e.path.split("/Message/")[1].split("/")[0]) for e in api.data_log()
                      if "/Conversation/" not in e.path and re.search(r"/Message/\d+", e.path)}
        assert fanned_out == {s[2] for s in inside} | {new_message}
        activity = {(r["messageId"], r["emailAddress"]): r for r in second.records("message_activity")}
        clicked = activity[(late_in, quiet[late_in]["emailAddress"])]
        assert clicked["click"] is True and clicked["clickCount"] >= 1
        if quiet[late_in].get("activityDate"):  # the first activity stays the first
            assert clicked["activityDate"] == quiet[late_in]["activityDate"]
        assert sum(1 for key in activity if key[0] == late_in) == len(emails[late_in]), "the message is read whole"
        assert not any(key[0] == late_out for key in activity)
        assert new_message in {r["messageId"] for r in second.records("messages")}
        for stream in ENGAGEMENT:  # one cursor per stream, not one per message
            assert len(json.dumps(_state(second, stream))) < 1500, stream


def test_list_ids_test_messages_and_previous_versions_follow_the_settings(api: EmailV1Emulator) -> None:
    chosen = api.list_ids[1]
    streams = ["lists", "campaigns", "messages", "message_summary", "conversation_messages"]
    result = read(
        api,
        catalog(api, streams),
        list_ids=[chosen],
        include_test_messages=True,
        include_previous_conversation_versions=False,
    )
    assert result.returncode == 0, result.errors()
    for stream in streams:
        expected = api.expected_records(stream, include_test_messages=True, include_previous_versions=False)
        on_list = [record for record in expected if record["listId"] == chosen]
        assert as_multiset(result.records(stream)) == as_multiset(on_list), stream
    with_tests = api.expected_records("messages", include_test_messages=True)
    assert len(with_tests) > len(api.expected_records("messages"))  # the settings change what is read
    assert len(api.expected_records("conversation_messages", include_previous_versions=False)) < len(
        api.expected_records("conversation_messages")
    )


def test_a_page_that_is_not_json_fails_its_stream_naming_the_path() -> None:
    with EmailV1Emulator(seed=23, sizes=SIZES, faults=Faults(rate_html=1.0, max_consecutive=1000)) as api:
        result = read(api, catalog(api, ["lists"]))
        errors = result.errors()
        assert result.returncode != 0
        assert any("/List" in error and "not JSON" in error for error in errors), errors
        assert "Traceback" not in result.output


def test_no_secret_or_token_in_any_output_debug_included(api: EmailV1Emulator) -> None:
    result = read(api, catalog(api, ["lists", "campaigns"]))
    debug = run_connector("read", config(api), catalog(api, ["lists"]), extra_args=["--debug"])
    tokens = {entry.token for entry in api.request_log if entry.token}
    assert tokens
    secret = api.client_secret
    for _, output in OUTPUTS + [(api, result.output), (api, debug.output)]:
        assert secret not in output and secret.replace("+", "%2B").replace("/", "%2F") not in output
        assert not [token for token in tokens if token in output]


def _state(run: Run, stream: str) -> dict[str, Any]:
    return next(s["state"] for s in reversed(run.states()) if s["stream"] == stream)


def _cursor(run: Run, stream: str) -> str:
    return str(_state(run, stream)["state"]["sendDate"])


def _instant(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))
