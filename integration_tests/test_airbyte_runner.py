"""Airbyte's own test runner (`airbyte-cdk connector test`) passes on this repository, as an Airbyte
contributor runs it: a clone in a directory named `source-listrak`, the runner's standard tests against
the emulators (the root conftest.py), every test but those that need a Docker engine."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_airbyte_connector_test_runs_check_discover_and_read_and_passes(tmp_path: Path) -> None:
    clone = tmp_path / "source-listrak"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in filter(None, tracked.decode().split("\0")):  # the files a clone has, uncommitted edits included
        source, target = REPO / name, clone / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_symlink():
            target.symlink_to(source.readlink())
        elif source.is_file():
            shutil.copy2(source, target)
    runner = Path(sys.executable).parent / "airbyte-cdk"
    completed = subprocess.run(
        [str(runner), "connector", "test", "source-listrak/", "--no-creds", "--pytest-arg=-k",
         "--pytest-arg=not docker", "--pytest-arg=-v"],
        cwd=tmp_path, capture_output=True, text=True, timeout=600,
    )
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-3000:]
    passed = set(re.findall(r"::TestSuite::(test_\w+)\[?.*? PASSED", output))
    assert {"test_check", "test_discover", "test_basic_read", "test_spec"} <= passed, sorted(passed)
    assert " failed" not in output.rsplit("\n", 3)[-2], output[-500:]
