"""The README's PyAirbyte block, copied as it is, runs on a machine where Airbyte's connector registry
cannot be reached: in a fresh interpreter, without AIRBYTE_OFFLINE_MODE or DO_NOT_TRACK in its
environment, with every connection that is not to loopback refused (a proxy that does not exist). Its
`secrets/config.json` is flat, as configurations written for the API-key contract are (top-level
`api_key`, a key this connector does not know): PyAirbyte's validation takes it, and the block prints
every stream with the emulator's row count, without the key."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS

pytestmark = pytest.mark.slow

README = Path(__file__).resolve().parents[1] / "README.md"
SIZES = Sizes(contacts=40, campaigns=6, events=120, custom_fields=3, interests=2, segments=2, sources=7)
API_KEY = "Readme+key/0123456789abcdef="


def readme_snippet() -> str:
    block = re.search(
        r"<!-- pyairbyte-snippet:start -->\n\s*```python\n(.*?)\n\s*```\n\s*<!-- pyairbyte-snippet:end -->",
        README.read_text(),
        re.S,
    )
    assert block is not None, "README.md lost its pyairbyte-snippet block"
    lines = block.group(1).splitlines()
    indent = min(len(line) - len(line.lstrip()) for line in lines if line.strip())
    return "\n".join(line[indent:] for line in lines) + "\n"


def closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def offline_environment() -> dict[str, str]:
    """A user's environment on a machine without registry access: nothing set for PyAirbyte."""
    dropped = {"AIRBYTE_OFFLINE_MODE", "DO_NOT_TRACK", "NO_LIVE_PROGRESS", "PYTHONPATH"}
    env = {key: value for key, value in os.environ.items() if key not in dropped}
    nowhere = f"http://127.0.0.1:{closed_loopback_port()}"
    env.update(HTTP_PROXY=nowhere, HTTPS_PROXY=nowhere, http_proxy=nowhere, https_proxy=nowhere)
    env.update(NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # source-listrak, as installed
    return env


def run_snippet(snippet: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    (cwd / "snippet.py").write_text(snippet)
    return subprocess.run(
        [sys.executable, "snippet.py"], cwd=cwd, env=offline_environment(), capture_output=True, text=True, timeout=300
    )


def test_the_readme_snippet_runs_as_it_is_without_the_registry(tmp_path: Path) -> None:
    snippet = readme_snippet()
    with Emulator(seed=19, sizes=SIZES, api_key=API_KEY) as api:
        flat = {"api_key": api.api_key, "base_url": api.base_url, "max_records_per_page": 1000, "sync_hours": "6"}
        (tmp_path / "secrets").mkdir()
        (tmp_path / "secrets" / "config.json").write_text(json.dumps(flat))

        done = run_snippet(snippet, tmp_path)
        start = datetime.now(UTC) - timedelta(days=90)  # the first sync's window (initial_sync_days)
        expected = {stream: len(api.expected_records(stream, start=start)) for stream in SDK_EXAMPLE_STREAMS}

    assert done.returncode == 0, done.stderr[-3000:]
    printed = dict(re.findall(r"^(\w+): (\d+) rows$", done.stdout, re.M))
    assert {stream: int(rows) for stream, rows in printed.items()} == expected
    assert (tmp_path / ".cache" / "default_cache" / "default_cache.duckdb").is_file()
    assert API_KEY not in done.stdout + done.stderr


def test_without_the_offline_line_the_same_block_fails_on_the_registry(tmp_path: Path) -> None:
    """What the line in the README is for: proof that this environment really has no registry."""
    snippet = readme_snippet().replace('os.environ["AIRBYTE_OFFLINE_MODE"] = "1"', "pass")
    (tmp_path / "secrets").mkdir()
    (tmp_path / "secrets" / "config.json").write_text(json.dumps({"api_key": "k-readme-0123"}))

    done = run_snippet(snippet, tmp_path)

    assert done.returncode != 0
    assert "AirbyteConnectorRegistryError" in done.stderr
