"""What the three results files share: medians and spreads, number formats, the heading with the commands
behind a file, when and where it ran, and the versions measured."""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DISTURBED = 0.15  # share of a CPU used by processes outside the benchmark that marks a run as disturbed


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def spread(values: list[float], digits: int = 1, unit: str = "") -> str:
    """min / median / max, as the report shows them."""
    if not values:
        return "-"
    low, mid, high = min(values), median(values), max(values)
    return f"{low:.{digits}f} / **{mid:.{digits}f}** / {high:.{digits}f}{unit}"


def fmt_int(value: float) -> str:
    return f"{value:,.0f}"


def size_label(events: int) -> str:
    if events >= 1_000_000 and events % 1_000_000 == 0:
        return f"{events // 1_000_000}M"
    if events >= 1000 and events % 1000 == 0:
        return f"{events // 1000:,}k"
    return f"{events:,}"


def heading(title: str, meta: dict[str, Any]) -> list[str]:
    """A results file's title and the commands behind it."""
    return [f"# {title}", "", *[f"`{command}`  " for command in meta.get("commands", [meta["command"]])], ""]


def run_meta(commands: list[str]) -> dict[str, Any]:
    """The commands behind a results file, when and where they ran."""
    return {
        "command": " && ".join(commands),
        "commands": commands,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, {platform.system()}",
        "python": platform.python_version(),
    }


def versions(dlt_python: Path | None) -> dict[str, str]:
    from importlib.metadata import version

    found = {"cdk": version("airbyte-cdk"), "pyairbyte": version("airbyte"), "dlt": "-"}
    if dlt_python:
        completed = subprocess.run(
            [str(dlt_python), "-c", "import importlib.metadata as m; print(m.version('dlt'))"],
            capture_output=True,
            text=True,
        )
        found["dlt"] = completed.stdout.strip() or "?"
    return found


def merge_previous(
    previous: Path, command: str, runs: list[dict[str, Any]], superseded: Callable[[dict[str, Any]], bool]
) -> tuple[list[dict[str, Any]], list[str]]:
    """``--merge``: the runs of ``previous`` (a results.json) that this run did not redo, before this run's
    own, and the commands behind all of them."""
    commands = [command]
    if not previous.exists():
        return runs, commands
    old = json.loads(previous.read_text())
    kept = [run for run in old["runs"] if not superseded(run)]
    if not kept:
        return runs, commands
    old_commands = old["meta"].get("commands") or [old["meta"]["command"]]
    return kept + runs, [c for c in old_commands if c != command] + commands
