"""When nothing is wrong the connector says nothing above INFO: spec, check, discover and read of every
stream of both APIs log no WARN (or worse) line and write nothing to stderr, and the read gives the
emulator's records. When the client secret is wrong, the messages say so in the words of client
credentials: no "refresh token", no escaped quote; nor does any other failed check (the CDK quotes its
reason with `repr`).

Every command runs as in the image: the connector's entry point with the packages the image leaves out
unimportable (`harness.as_in_the_image`), so these runs also show that the image needs none of them."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from integration_tests.test_email_api import config as email_api_config
from listrak_emulators.email_v1 import EmailV1Emulator
from listrak_emulators.email_v1 import Sizes as EmailSizes
from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.catalogue import EMAIL_API, EMAIL_API_STREAMS, SDK_EXAMPLE_STREAMS
from listrak_testkit.harness import Run, configured_catalog
from listrak_testkit.harness import run_connector as run_on_the_host

QUIET = ("DEBUG", "INFO", "TRACE")
START = datetime.now(UTC) - timedelta(days=90)  # the API-key contract's first sync (initial_sync_days)
# A small account with nothing wrong in it (the default one has a list deleted during the sync).
EMAIL_SIZES = EmailSizes(contacts_per_list=20, messages_per_list=2, recipients_per_message=5, deleted_list=False)


def run_connector(command: str, *args: Any) -> Run:
    return run_on_the_host(command, *args, image_packages=True)


def loud_lines(run: Run) -> list[str]:
    logs = [f"{m['log']['level']} {m['log']['message']}" for m in run.of_type("LOG") if m["log"]["level"] not in QUIET]
    return logs + [f"ERROR {error}" for error in run.errors()] + run.stderr.splitlines()


def messages(run: Run) -> list[str]:
    status = run.connection_status()
    return (
        [m["log"]["message"] for m in run.of_type("LOG")]
        + run.errors()
        + ([status["message"] or ""] if status else [])
    )


@pytest.fixture(scope="module")
def email_api() -> EmailV1Emulator:
    with EmailV1Emulator(seed=19, sizes=EMAIL_SIZES) as api:
        yield api


def test_every_command_of_the_email_api_is_quiet(email_api: EmailV1Emulator) -> None:
    config = email_api_config(email_api)
    runs = {
        "spec": run_connector("spec"),
        "check": run_connector("check", config),
        "discover": run_connector("discover", config),
        "read": run_connector("read", config, configured_catalog(api=EMAIL_API)),
    }

    assert runs["check"].connection_status() == {"status": "SUCCEEDED"}
    read = {stream: len(runs["read"].records(stream)) for stream in EMAIL_API_STREAMS}
    assert read == {stream: len(email_api.expected_records(stream)) for stream in EMAIL_API_STREAMS}
    for command, run in runs.items():
        assert run.returncode == 0, (command, run.output[-2000:])
        assert loud_lines(run) == [], command


def test_every_command_of_the_api_key_contract_is_quiet() -> None:
    sizes = Sizes(contacts=30, campaigns=5, events=60, custom_fields=2, interests=2, segments=2, sources=3)
    with Emulator(seed=19, sizes=sizes) as api:
        config = {"credentials": {"auth_type": "api_key", "api_key": api.api_key}, "base_url": api.base_url}
        runs = {
            "check": run_connector("check", config),
            "discover": run_connector("discover", config),
            "read": run_connector("read", config, configured_catalog()),
        }
        expected = {stream: len(api.expected_records(stream, start=START)) for stream in SDK_EXAMPLE_STREAMS}

    assert runs["check"].connection_status() == {"status": "SUCCEEDED"}
    assert {stream: len(runs["read"].records(stream)) for stream in SDK_EXAMPLE_STREAMS} == expected
    for command, run in runs.items():
        assert run.returncode == 0, (command, run.output[-2000:])
        assert loud_lines(run) == [], command


def test_a_wrong_client_secret_is_reported_without_refresh_tokens_or_escaped_quotes(
    email_api: EmailV1Emulator,
) -> None:
    config = email_api_config(email_api)
    config["credentials"]["client_secret"] = "not-the-secret"

    run = run_connector("check", config)

    assert run.connection_status()["status"] == "FAILED"
    said = messages(run)
    assert any("client credentials" in message for message in said), said
    for message in said:
        assert "refresh" not in message.lower(), message
        assert "\\" not in message, message


def test_a_failed_check_reports_its_reason_unquoted() -> None:
    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    config = {"api_key": "k-quiet-logs-0123", "base_url": f"http://127.0.0.1:{closed_port}", "retry_attempts": 0}

    run = run_connector("check", config)

    status = run.connection_status()
    assert status["status"] == "FAILED"
    assert status["message"].startswith("Stream custom_fields is not available"), status["message"]
    assert "\\" not in status["message"]
