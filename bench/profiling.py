"""py-spy profiles of the connector's read: `bench/run.py --profile` (the events stream) and
`bench/email_api.py --profile` take one, and `aggregate_profile` sums its stacks into self and inclusive
shares of the busy samples."""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
import time
from pathlib import Path

import events
from measure import CONNECTOR, REPO, Server

IDLE_FRAMES = ("Condition.wait", "_leak_task_sync", "Event.wait", "Thread.join", "select (", "sleep")


def profile(args: argparse.Namespace) -> int:
    """py-spy over `source-listrak read` (sequential and concurrent, latency 0, first size)."""
    py_spy = REPO / ".venv" / "bin" / "py-spy"
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    size = args.sizes[0]
    server = Server(size, args.server == "plain")
    try:
        for method in ("sequential", "concurrent"):
            concurrency, window_days = (1, 365) if method == "sequential" else (args.concurrency, args.window_days)
            with tempfile.TemporaryDirectory() as tmp:
                work = Path(tmp)
                (work / "config.json").write_text(
                    json.dumps(events.connector_config(server.base_url, concurrency, window_days, args.per_page))
                )
                (work / "catalog.json").write_text(json.dumps(events.events_catalog()))
                raw = out / f"profile-{method}.raw.txt"
                command = [
                    str(py_spy),
                    "record",
                    "-f",
                    "raw",
                    "-r",
                    "250",
                    "-o",
                    str(raw),
                    "--",
                    str(CONNECTOR),
                    "read",
                    "--config",
                    "config.json",
                    "--catalog",
                    "catalog.json",
                ]
                started = time.perf_counter()
                subprocess.run(command, cwd=work, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
                wall = time.perf_counter() - started
            report = aggregate_profile(raw, f"{method} read of {size:,} events under py-spy ({wall:.1f} s)")
            (out / f"profile-{method}.txt").write_text(report)
            print(report)
    finally:
        server.stop()
    return 0


# The connector's own code that runs per record or per request, by file. Left out: run.py and source.py (the
# entry point and the source's read, which every sample of the main thread passes through) and
# cdk_changes.py (changes to the CDK's own machinery, reported apart).
COMPONENT_FILES = (
    "normalization.py", "components.py", "json_pages.py", "listrak_time.py", "auth.py", "api_session.py",
    "area_check.py", "config_defaults.py", "config_errors.py", "probe.py",
)


# Where a sampled thread waits without using the CPU, beyond IDLE_FRAMES: for a lock (a thread queue's
# mutex, the workers' contention on the record queue) or for the network (reading a response).
WAITING_FRAMES = (*IDLE_FRAMES, "Condition.__enter__", "SocketIO.readinto", "Lock.acquire", "create_connection")


def component_shares(raw: Path) -> str:
    """Samples with a frame of the connector's components on the stack (counting the library calls they
    make), in all and by file, of the samples that are not waiting (WAITING_FRAMES at the top of the
    stack): an estimate of their share of the process's CPU time. Each sample counted once per file."""
    by_file: dict[str, int] = {}
    ours = cdk_changes = total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames or any(marker in frames[-1] for marker in WAITING_FRAMES):
            continue
        count = int(count_text)
        total += count
        files = {
            name
            for frame in frames
            if "source_listrak/" in frame
            for name in COMPONENT_FILES
            if f"source_listrak/{name}:" in frame
        }
        for name in files:
            by_file[name] = by_file.get(name, 0) + count
        ours += count if files else 0
        cdk_changes += count if any("source_listrak/cdk_changes.py:" in frame for frame in frames) else 0
    if not total:
        return "no busy samples\n"
    lines = [
        f"the connector's components (source_listrak/ but run.py, source.py, cdk_changes.py), inclusive: "
        f"{ours / total:.1%} of {total} samples not waiting (for a lock, the network, a sleep)",
    ]
    for name, count in sorted(by_file.items(), key=lambda kv: -kv[1]):
        lines.append(f"  {count / total:6.1%}  source_listrak/{name}")
    lines.append(f"source_listrak/cdk_changes.py (the CDK machinery changed), inclusive: {cdk_changes / total:.1%}")
    return "\n".join(lines) + "\n"


def aggregate_profile(raw: Path, title: str, top: int = 25) -> str:
    self_time: dict[str, int] = {}
    inclusive: dict[str, int] = {}
    total = idle = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames:
            continue
        if any(marker in frames[-1] for marker in IDLE_FRAMES):
            idle += count
            continue
        total += count
        self_time[frames[-1]] = self_time.get(frames[-1], 0) + count
        for frame in set(frames[1:]):
            inclusive[frame] = inclusive.get(frame, 0) + count
    lines = [title, f"{total} busy samples ({idle} idle samples left out: waits and sleeps)", "", "self:"]
    for frame, count in sorted(self_time.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {count / total:6.1%}  {frame}")
    lines += ["", "inclusive:"]
    for frame, count in sorted(inclusive.items(), key=lambda kv: -kv[1])[: top * 2]:
        lines.append(f"  {count / total:6.1%}  {frame}")
    return "\n".join(lines) + "\n"
