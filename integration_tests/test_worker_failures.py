"""Whatever fails inside a worker thread ends the sync with an error, never a wait without end.

The connector runs as a command in its own process, with one failure injected into the CDK's worker
path (the ways a worker was found to die without telling the main thread). Before the change, each
of these runs waited forever: the subprocess timeout below is the guard that a hang would trip.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.harness import configured_catalog

INJECTIONS = {
    # A BaseException escapes the CDK's `except Exception` and dies with the worker's future.
    "a worker raises a BaseException": """
from source_listrak import components
class WorkerKilled(BaseException):
    pass
def extract_records(self, response):
    raise WorkerKilled("killed inside the worker")
components.EnvelopeExtractor.extract_records = extract_records
""",
    # The error is raised while the worker reports another error (as a RecursionError did when the
    # recursion limit was lowered under a deep parse), so the main thread never hears of either.
    "reporting an error fails": """
from airbyte_cdk.sources.streams.concurrent import partition_reader
from source_listrak import components
def extract_records(self, response):
    raise ValueError("a bad page")
class BrokenReport(Exception):
    def __init__(self, *args):
        raise RuntimeError("could not report the error")
components.EnvelopeExtractor.extract_records = extract_records
partition_reader.StreamThreadException = BrokenReport
""",
    # The generator of a stream's partitions dies the same way.
    "partition generation dies": """
from airbyte_cdk.sources.streams.concurrent import partition_enqueuer
class GeneratorKilled(BaseException):
    pass
def generate_partitions(self, stream):
    raise GeneratorKilled("killed while making partitions")
partition_enqueuer.PartitionEnqueuer.generate_partitions = generate_partitions
""",
}


@pytest.fixture(scope="module")
def api() -> Emulator:
    with Emulator(sizes=Sizes(contacts=50, campaigns=20, events=200)) as emulator:
        yield emulator


@pytest.mark.parametrize("concurrency", [1, 4])
@pytest.mark.parametrize("injection", INJECTIONS)
def test_a_worker_that_dies_ends_the_sync_with_an_error(api: Emulator, injection: str, concurrency: int) -> None:
    config = {
        "credentials": {"auth_type": "api_key", "api_key": api.api_key},
        "base_url": api.base_url,
        "concurrency": concurrency,
        "requests_per_second": 0,
        "retry_attempts": 0,
    }
    with tempfile.TemporaryDirectory() as tmp:
        paths = {"config": Path(tmp) / "config.json", "catalog": Path(tmp) / "catalog.json"}
        paths["config"].write_text(json.dumps(config))
        paths["catalog"].write_text(json.dumps(configured_catalog(["contacts", "events", "segments"])))
        script = INJECTIONS[injection] + (
            "\nfrom source_listrak.run import run\n"
            f"run(['read', '--config', {str(paths['config'])!r}, '--catalog', {str(paths['catalog'])!r}])\n"
        )
        completed = subprocess.run(
            [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=tmp
        )

    messages = [json.loads(line) for line in completed.stdout.split("\n") if line.startswith("{")]
    errors = [m["trace"]["error"] for m in messages if m["type"] == "TRACE" and m["trace"]["type"] == "ERROR"]
    assert completed.returncode != 0
    assert any("worker thread ended without reporting" in error["message"] for error in errors), errors
    assert "Traceback (most recent call last)" not in completed.stdout + completed.stderr
