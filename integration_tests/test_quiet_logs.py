"""When nothing is wrong the connector says nothing above INFO: spec, check, discover and read of every
stream of both APIs, through the installed command, log no WARN (or worse) line and write nothing to
stderr. When the client secret is wrong, the messages say so in the words of client credentials: no
"refresh token", no escaped quote; nor does any other failed check (the CDK quotes its reason with
`repr`)."""

from __future__ import annotations

import socket

import pytest

from integration_tests.catalogue import EMAIL_API
from integration_tests.harness import Run, configured_catalog, run_connector
from integration_tests.test_email_api import config as email_api_config
from listrak_emulators.email_v1 import EmailV1Emulator
from listrak_emulators.email_v1 import Sizes as EmailSizes
from listrak_emulators.sdk_example import Emulator, Sizes

QUIET = ("DEBUG", "INFO", "TRACE")
# A small account with nothing wrong in it (the default one has a list deleted during the sync).
EMAIL_SIZES = EmailSizes(contacts_per_list=20, messages_per_list=2, recipients_per_message=5, deleted_list=False)


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
    assert runs["read"].records("message_activity")
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

    assert runs["check"].connection_status() == {"status": "SUCCEEDED"}
    assert runs["read"].records("events")
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
