"""Fixtures shared by the unit tests: a fake Listrak API, no real backoff sleeps, a per-test API key, and
the real command-line entry point run in-process with everything it prints captured."""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import backoff._sync
import pytest
import requests_mock
from airbyte_cdk.logger import AirbyteLogFormatter
from airbyte_cdk.models import AirbyteStateMessageSerializer, ConfiguredAirbyteCatalogSerializer
from airbyte_cdk.sources.streams.http import rate_limiting

from listrak_testkit.catalogue import api_of
from source_listrak.run import run
from unit_tests.connector import catalog_for, state_for
from unit_tests.fake_listrak import FakeListrak


@pytest.fixture(autouse=True)
def backoff_sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits the CDK's retry handlers asked for (our backoff + the CDK's extra second), not slept."""
    sleeps: list[float] = []
    no_sleep = SimpleNamespace(sleep=sleeps.append)
    monkeypatch.setattr(rate_limiting, "time", no_sleep)
    monkeypatch.setattr(backoff._sync, "time", no_sleep)
    return sleeps


@pytest.fixture(autouse=True)
def restore_log_levels() -> Iterator[None]:
    """`--debug` (which the CDK's `discover` test helper passes too) sets the airbyte loggers to DEBUG for
    good; put every logger back so one test's debug output does not leak into the next."""
    levels = {name: logging.getLogger(name).level for name in ["", *logging.root.manager.loggerDict]}
    yield
    for name in ["", *logging.root.manager.loggerDict]:
        logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


@pytest.fixture
def api_key() -> str:
    """A key no other test uses, so a masked secret is masked by this test's own run."""
    return f"lk-{uuid.uuid4().hex}"


@pytest.fixture
def listrak() -> Iterator[FakeListrak]:
    with requests_mock.Mocker() as mocker:
        yield FakeListrak(mocker)


@dataclass
class CliRun:
    """What one `source-listrak ...` invocation printed, and how it ended."""

    exit_code: int | str | None  # None: run() returned without calling sys.exit
    output: str  # stdout, stderr and the connector's log lines, as a user would see them
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [message for message in self.messages if message.get("type") == kind]

    def connection_status(self) -> dict[str, Any]:
        statuses = self.of_type("CONNECTION_STATUS")
        assert len(statuses) == 1, f"expected one CONNECTION_STATUS, got {statuses}"
        return statuses[0]["connectionStatus"]

    def errors(self) -> list[dict[str, Any]]:
        return [m["trace"]["error"] for m in self.of_type("TRACE") if m["trace"].get("type") == "ERROR"]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]["data"] for m in self.of_type("RECORD") if stream is None or m["record"]["stream"] == stream
        ]


def _airbyte_log_handlers() -> list[logging.StreamHandler]:
    handlers = logging.getLogger().handlers + logging.getLogger("airbyte").handlers
    return [
        h for h in handlers if isinstance(h, logging.StreamHandler) and isinstance(h.formatter, AirbyteLogFormatter)
    ]


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Runs `source_listrak.run.run([...])`, the console script's function, with files written for it."""

    def invoke(
        command: str,
        config: Mapping[str, Any] | None = None,
        streams: Sequence[str] = (),
        state: Mapping[str, Mapping[str, Any]] | None = None,
        extra_args: Sequence[str] = (),
    ) -> CliRun:
        args = [command]
        if config is not None:
            config_path = tmp_path / "config.json"
            config_path.write_text(json.dumps(config))
            args += ["--config", str(config_path)]
        if streams:
            catalog_path = tmp_path / "catalog.json"
            catalog = catalog_for(*streams, api=api_of(config or {}))
            catalog_path.write_text(json.dumps(ConfiguredAirbyteCatalogSerializer.dump(catalog)))
            args += ["--catalog", str(catalog_path)]
        state_messages = state_for(state)
        if state_messages:
            state_path = tmp_path / "state.json"
            state_path.write_text(json.dumps([AirbyteStateMessageSerializer.dump(m) for m in state_messages]))
            args += ["--state", str(state_path)]
        args += list(extra_args)

        capsys.readouterr()
        handlers = _airbyte_log_handlers()
        streams_before = [h.stream for h in handlers]
        for handler in handlers:  # the CDK bound its log handler to the stdout of import time
            handler.setStream(sys.stdout)
        try:
            run(args)
            exit_code: int | str | None = None
        except SystemExit as exit_:
            exit_code = exit_.code
        finally:
            for handler, stream in zip(handlers, streams_before, strict=True):
                handler.setStream(stream)
        out, err = capsys.readouterr()
        messages = []
        for line in out.split("\n"):
            if line.startswith("{"):
                messages.append(json.loads(line))
        return CliRun(exit_code=exit_code, output=out + err, messages=messages)

    return invoke
