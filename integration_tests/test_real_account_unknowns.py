"""A full sync of every Email API stream under each answer that only a real Listrak account can give
(the contract's section 9): tokens revoked by newer ones, tokens that die long before `expires_in`,
401 bodies of any shape, a flaky token endpoint, an integration without an API area. Through the
installed command, at the default concurrency, with latency: these failures are races.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest

from integration_tests.test_email_api import as_multiset, config
from listrak_emulators.email_v1 import AREAS, PRIMARY_KEYS, STREAM_TABLE, EmailV1Emulator, Faults, Integration, Sizes
from listrak_testkit.harness import Run, configured_from_discovery, connector_command, run_connector
from source_listrak.api_session import LEARNED_LIFE_SHARE

SIZES = Sizes(contacts_per_list=60, messages_per_list=5, recipients_per_message=30, history_days=400)
REPORT_STREAMS = {stream.name for stream in STREAM_TABLE if "Report" in stream.route.areas}


@pytest.fixture(scope="module")
def full_catalog() -> dict[str, Any]:
    with EmailV1Emulator(seed=1, sizes=SIZES) as api:
        (catalog,) = run_connector("discover", config(api)).of_type("CATALOG")
    return configured_from_discovery(catalog)


def sync(api: EmailV1Emulator, catalog: dict[str, Any], state: list | None = None) -> Run:
    api.clear_log()
    return run_connector("read", config(api), catalog, state, timeout=300)


def assert_exact(api: EmailV1Emulator, run: Run, streams: set[str] | None = None) -> None:
    for stream in streams if streams is not None else PRIMARY_KEYS:
        assert as_multiset(run.records(stream)) == as_multiset(api.expected_records(stream)), stream


def refused_twice_in_a_row(api: EmailV1Emulator) -> list[str]:
    """URLs refused, then refused again with another token: a retry that carried a dead token. (Several
    streams read the same parent URLs at once, so two refusals with the same token are two requests.)"""
    last: dict[tuple, tuple[int, str | None]] = {}
    twice = []
    for entry in api.data_log():
        key = (entry.path, entry.raw_query)
        status, token = last.get(key, (0, None))
        if entry.status == 401 and status == 401 and entry.token != token:
            twice.append(entry.path)
        last[key] = (entry.status, entry.token)
    return twice


SCENARIOS = {
    # name: (integration, faults)
    "as assumed": (Integration(), Faults(latency_ms=20)),
    "a new token revokes the older ones": (Integration(revoke_previous_tokens=True), Faults(latency_ms=20)),
    "tokens die after 2 s, 401 without an error key": (
        Integration(actual_ttl=2, unauthorized_body="no-error-key"), Faults(latency_ms=100)
    ),
    "tokens die after 2 s and revoke older ones, HTML 401s": (
        Integration(actual_ttl=2, revoke_previous_tokens=True, unauthorized_body="html"), Faults(latency_ms=100)
    ),
    "tokens die after 2 s, empty 401s, token endpoint faults": (
        Integration(actual_ttl=2, unauthorized_body="empty"),
        Faults(latency_ms=100, token_rate_500=0.25, token_rate_429=0.25),
    ),
}


@pytest.mark.parametrize("scenario", list(SCENARIOS))
def test_a_full_sync_is_exact_with_one_token_at_a_time_however_listrak_treats_tokens(
    scenario: str, full_catalog: dict[str, Any]
) -> None:
    integration, faults = SCENARIOS[scenario]
    with EmailV1Emulator(seed=21, sizes=SIZES, integration=integration, faults=faults) as api:
        run = sync(api, full_catalog)
        assert run.returncode == 0, run.errors()
        assert_exact(api, run)
        assert not refused_twice_in_a_row(api)
        token_requests = [entry for entry in api.token_requests() if entry.status == 200]
        log = api.request_log
        span = log[-1].time - log[0].time
        if integration.actual_ttl is None:
            assert len(token_requests) <= 3 and not [e for e in api.data_log() if e.status == 401]
        else:  # one token per renewal (a share of the lifetime the first refusal taught), not one per refusal
            renewals = span / (integration.actual_ttl * LEARNED_LIFE_SHARE)
            assert len(token_requests) <= renewals + 2, (len(token_requests), span)
            assert len([e for e in api.data_log() if e.status == 401]) <= 2 * 8  # one burst of the 8 workers


def test_an_integration_without_the_report_area_loses_only_the_streams_that_need_it(
    full_catalog: dict[str, Any],
) -> None:
    with EmailV1Emulator(seed=23, sizes=SIZES, integration=Integration(areas=AREAS - {"Report"}),
                         faults=Faults(latency_ms=20)) as api:
        first = sync(api, full_catalog)
        assert first.returncode != 0
        assert_exact(api, first, set(PRIMARY_KEYS) - REPORT_STREAMS)
        errors = [m["trace"]["error"] for m in first.of_type("TRACE") if m["trace"]["type"] == "ERROR"]
        per_stream = [e for e in errors if e.get("stream_descriptor")]
        assert sorted(e["stream_descriptor"]["name"] for e in per_stream) == sorted(REPORT_STREAMS)
        for error in per_stream:
            assert error["failure_type"] == "config_error" and "Report" in error["message"], error
            assert f"Stream {error['stream_descriptor']['name']}:" in error["message"]
            assert "/List/{listId}/" in error["message"]
        final = errors[-1]
        assert not final.get("stream_descriptor") and all(name in final["message"] for name in REPORT_STREAMS)
        refused = [e for e in api.data_log() if e.status == 401]
        assert len(refused) <= 8 * len(REPORT_STREAMS), len(refused)  # a few per stream, not one per partition
        states = {s["stream"]["stream_descriptor"]["name"]: s for s in first.final_state_messages()}
        assert set(PRIMARY_KEYS) - REPORT_STREAMS <= set(states)

        # Granted later, the area brings in everything the first sync could not read.
        api.set_scopes(AREAS)
        second = sync(api, full_catalog, list(states.values()))
        assert second.returncode == 0, second.errors()
        assert_exact(api, second, REPORT_STREAMS)


def test_check_succeeds_and_names_a_missing_area_and_the_streams_that_need_it() -> None:
    with EmailV1Emulator(seed=25, sizes=SIZES, integration=Integration(areas=AREAS - {"Report", "Event"})) as api:
        check = run_connector("check", config(api))
    status = check.connection_status()
    assert status["status"] == "SUCCEEDED", status
    assert "Event, Report" in status["message"] and "message_activity" in status["message"]
    assert "event_groups" in status["message"] and "contacts" not in status["message"]
    warnings = [m["log"]["message"] for m in check.of_type("LOG") if m["log"]["level"] == "WARN"]
    assert any("Event, Report" in text for text in warnings), warnings


def test_check_says_which_area_it_could_not_check_on_an_account_with_no_data() -> None:
    empty = Sizes(lists=1, list_shapes=("empty",), deleted_list=False)
    with EmailV1Emulator(seed=27, sizes=empty) as api:
        check = run_connector("check", config(api))
    status = check.connection_status()
    assert status["status"] == "SUCCEEDED", status
    assert "The API area Report could not be checked" in status["message"]
    assert "lacks" not in status["message"]


def probe(api: EmailV1Emulator, *flags: str) -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.json"
        path.write_text(json.dumps(config(api)))
        completed = subprocess.run(
            connector_command() + ["probe", "--config", str(path), *flags], capture_output=True, text=True, timeout=120
        )
    assert completed.returncode == 0, completed.stderr
    output = completed.stdout + completed.stderr
    assert api.client_secret not in output and "Traceback" not in output
    for token in api.token_requests():
        assert not token.token or token.token not in output
    return completed.stdout


@pytest.mark.parametrize("revokes", [False, True])
def test_the_probe_report_tells_apart_what_only_a_real_account_can_answer(revokes: bool) -> None:
    integration = Integration(revoke_previous_tokens=revokes, advertised_ttl=1800,
                              areas=AREAS - ({"Report"} if revokes else set()))
    with EmailV1Emulator(seed=29, sizes=SIZES, integration=integration) as api:
        report = probe(api, "--test-token-revocation")
        plain = probe(api)
    assert "`expires_in` = 1800 s" in report
    verdict = "yes: a new token revokes the older ones" if revokes else "no: older tokens keep working"
    assert f"A new token revokes the older ones: **{verdict}**" in report
    assert ("| Report | missing |" in report) is revokes and ("| Report | granted |" in report) is not revokes
    assert "- `contacts` (" in report and "emailAddress: string" in report  # a shape: names and types only
    assert "summer (America/New_York daylight time)" in report and "winter (standard time)" in report
    assert "429 answers: 0" in report
    assert "second token" not in plain  # asked only with the flag
