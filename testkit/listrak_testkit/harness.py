"""Runs the installed `source-listrak` command as a user would and parses what it prints."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import packages_distributions
from pathlib import Path
from typing import Any

from listrak_testkit.catalogue import SDK_EXAMPLE, streams_of

REPO = Path(__file__).resolve().parents[2]  # testkit/listrak_testkit/harness.py -> the repository


def connector_command() -> list[str]:
    """The console script installed beside the running interpreter, else the one on PATH."""
    beside = Path(sys.executable).parent / "source-listrak"
    executable = str(beside) if beside.exists() else shutil.which("source-listrak")
    if executable is None:
        raise RuntimeError("source-listrak is not installed: run scripts/test (it installs the package)")
    return [executable]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    messages: list[dict[str, Any]] = field(default_factory=list)

    def of_type(self, kind: str) -> list[dict[str, Any]]:
        return [m for m in self.messages if m.get("type") == kind]

    def records(self, stream: str | None = None) -> list[dict[str, Any]]:
        return [
            m["record"]["data"]
            for m in self.of_type("RECORD")
            if stream is None or m["record"]["stream"] == stream
        ]

    def states(self, stream: str | None = None) -> list[dict[str, Any]]:
        """Per-stream state messages as `{"stream": name, "state": {...}}`, in emission order."""
        found = []
        for message in self.of_type("STATE"):
            stream_state = message["state"].get("stream")
            if stream_state is None:
                continue
            name = stream_state["stream_descriptor"]["name"]
            if stream is None or name == stream:
                found.append({"stream": name, "state": stream_state.get("stream_state") or {}})
        return found

    def final_state_messages(self) -> list[dict[str, Any]]:
        """The last STATE message of each stream, ready to be written as a --state file."""
        last: dict[str, dict[str, Any]] = {}
        for message in self.of_type("STATE"):
            stream_state = message["state"].get("stream")
            if stream_state is not None:
                last[stream_state["stream_descriptor"]["name"]] = message["state"]
        return list(last.values())

    def errors(self) -> list[str]:
        traces = [m["trace"] for m in self.of_type("TRACE")]
        return [trace["error"]["message"] for trace in traces if trace.get("type") == "ERROR"]

    def connection_status(self) -> dict[str, Any] | None:
        statuses = self.of_type("CONNECTION_STATUS")
        return statuses[-1]["connectionStatus"] if statuses else None

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def configured_catalog(streams: Iterable[str] | None = None, incremental: bool = True, api: str = SDK_EXAMPLE) -> dict:
    """A configured catalog of ``streams`` (default: every stream) of ``api``; incremental where they can."""
    catalogue = streams_of(api)
    entries = []
    for name in catalogue if streams is None else streams:
        cursor = catalogue[name].cursor_field
        mode = "incremental" if cursor and incremental else "full_refresh"
        entry = {
            "stream": {
                "name": name,
                "json_schema": {},
                "supported_sync_modes": ["full_refresh", "incremental"] if cursor else ["full_refresh"],
            },
            "sync_mode": mode,
            "destination_sync_mode": "append",
        }
        if mode == "incremental":
            entry["cursor_field"] = [cursor]
        entries.append(entry)
    return {"streams": entries}


def configured_from_discovery(catalog: dict[str, Any]) -> dict:
    """The configured catalog of every stream in a ``discover`` CATALOG message, incremental where they can."""
    entries = []
    for stream in catalog["catalog"]["streams"]:
        incremental = "incremental" in stream["supported_sync_modes"]
        entry = {"stream": stream, "sync_mode": "incremental" if incremental else "full_refresh",
                 "destination_sync_mode": "append"}
        if incremental:
            entry["cursor_field"] = stream["default_cursor_field"]
        entries.append(entry)
    return {"streams": entries}


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def left_out_of_the_image() -> frozenset[str]:
    """The packages the Dockerfile leaves out (`ARG LEFT_OUT`), each checked to be one uv.lock pins."""
    dockerfile = (REPO / "Dockerfile").read_text().replace("\\\n", " ")
    found = re.search(r'^ARG LEFT_OUT="([^"]*)"', dockerfile, re.M)
    if found is None:
        raise RuntimeError("the Dockerfile names the packages it leaves out in ARG LEFT_OUT")
    packages = {_normalized(name) for name in found.group(1).split()}
    locked = {_normalized(package["name"]) for package in tomllib.loads((REPO / "uv.lock").read_text())["package"]}
    if not packages <= locked:
        raise RuntimeError(f"ARG LEFT_OUT names packages uv.lock does not pin: {sorted(packages - locked)}")
    return frozenset(packages)


@cache
def left_out_modules() -> frozenset[str]:
    """The top-level modules of the packages left out of the image."""
    left_out = left_out_of_the_image()
    return frozenset(
        module
        for module, distributions in packages_distributions().items()
        if any(_normalized(distribution) in left_out for distribution in distributions)
    )


def as_in_the_image() -> list[str]:
    """The connector's entry point (what `source-listrak` runs) with the packages the image leaves out
    unimportable: a command that needs one fails here as it would in the image."""
    code = f"""
import importlib.abc, sys

class LeftOutOfTheImage(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in {sorted(left_out_modules())!r}:
            raise ModuleNotFoundError(f"No module named {{name!r}} (left out of the image)", name=name)
        return None

sys.meta_path.insert(0, LeftOutOfTheImage())
from source_listrak.run import run
run()
"""
    return [sys.executable, "-c", code]


def run_connector(
    command: str,
    config: dict | None = None,
    catalog: dict | None = None,
    state: list | None = None,
    timeout: float = 300,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    image_packages: bool = False,
) -> Run:
    """`source-listrak <command> --config ... [--catalog ...] [--state ...]` in a subprocess; with
    `image_packages`, only the packages the image installs can be imported (`as_in_the_image`)."""
    with tempfile.TemporaryDirectory() as tmp:
        args = (as_in_the_image() if image_packages else connector_command()) + [command]
        for flag, value in (("--config", config), ("--catalog", catalog), ("--state", state)):
            if value is not None:
                path = Path(tmp) / f"{flag[2:]}.json"
                path.write_text(json.dumps(value))
                args += [flag, str(path)]
        completed = subprocess.run(
            args + (extra_args or []),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=tmp,
            env={**os.environ, **(env or {})},
        )
    run = Run(completed.returncode, completed.stdout, completed.stderr)
    for line in completed.stdout.split("\n"):  # as Airbyte reads it: one message per line
        if line.startswith("{"):
            with contextlib.suppress(json.JSONDecodeError):
                run.messages.append(json.loads(line))
    return run


def comparable(record: dict[str, Any]) -> dict[str, Any]:
    """A record without `sync_timestamp` and without nulls (the serializer leaves nulls out)."""
    return {k: v for k, v in record.items() if k != "sync_timestamp" and v is not None}
