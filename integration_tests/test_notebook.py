"""The example notebook runs headless, top to bottom, in the project's venv, and draws its chart."""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from listrak_emulators.sdk_example import Emulator, Sizes
from listrak_testkit.catalogue import SDK_EXAMPLE_STREAMS

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "examples" / "listrak_pyairbyte.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_example_notebook_is_committed_clean() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert notebook.metadata["kernelspec"]["name"] == "python3"


@pytest.mark.slow
def test_example_notebook_executes_and_plots_opens_and_clicks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel inherits this environment: offline PyAirbyte, the venv (which holds the emulators) first.
    monkeypatch.setenv("AIRBYTE_OFFLINE_MODE", "1")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    # Kernel "python3": jupyter_client launches it with this interpreter (sys.executable), i.e. the venv's.
    client = NotebookClient(
        notebook,
        timeout=120,  # per cell
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},  # the notebook's working directory
    )
    client.execute()  # raises CellExecutionError on the first failing cell

    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    setup = next(cell for cell in notebook.cells if cell.get("id") == "setup")
    assert f"python: {sys.executable}" in setup.outputs[0]["text"]  # ran in this venv

    # The tables it wrote: every stream, every one non-empty, 25 events added by the second read.
    with duckdb.connect(str(tmp_path / "listrak_notebook.duckdb"), read_only=True) as db:
        tables = {row[0] for row in db.sql("select table_name from information_schema.tables").fetchall()}
        assert tables >= set(SDK_EXAMPLE_STREAMS)
        for stream in SDK_EXAMPLE_STREAMS:
            assert db.sql(f'select count(*) from main."{stream}"').fetchone()[0] > 0, stream
    counts_again = next(cell for cell in notebook.cells if cell.get("id") == "counts-again")
    assert "events" in counts_again.outputs[-1]["data"]["text/plain"]
    new_rows = counts_again.outputs[-1]["data"]["text/plain"].splitlines()
    assert next(line for line in new_rows if line.startswith("events")).split()[-1] == "25"

    png = tmp_path / "opens_clicks_per_campaign.png"
    assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000
    plot = next(cell for cell in notebook.cells if "plot" in cell.metadata.get("tags", []))
    assert any("image/png" in out.get("data", {}) for out in plot.outputs)

    # Engagement per message from Listrak's Email API: one row per message in the window, opens from the
    # activity rows equal to Listrak's own summary (the notebook asserts it too), every table filled.
    with duckdb.connect(str(tmp_path / "listrak_email_api.duckdb"), read_only=True) as db:
        for stream in ("lists", "messages", "message_summary", "message_activity"):
            assert db.sql(f'select count(*) from main."{stream}"').fetchone()[0] > 0, stream
        messages = db.sql("select count(*) from main.messages").fetchone()[0]
    engagement = next(cell for cell in notebook.cells if cell.get("id") == "engagement")
    text = engagement.outputs[-1]["data"]["text/plain"]  # pandas may wrap the columns into blocks
    assert "click_rate_pct" in text
    assert {line.split()[0] for line in text.splitlines() if line[:1].isdigit()} == {str(i) for i in range(messages)}

    # The plotted numbers, against the same account counted straight from the emulator's data.
    per_campaign = next(cell for cell in notebook.cells if cell.get("id") == "per-campaign")
    shown = []
    for line in per_campaign.outputs[-1]["data"]["text/plain"].splitlines()[1:]:
        name, opens, clicks = line.split(maxsplit=1)[1].rsplit(maxsplit=2)
        shown.append((name, int(opens), int(clicks)))
    assert shown == expected_top_campaigns(notebook)


def expected_top_campaigns(notebook: nbformat.NotebookNode) -> list[tuple[str, int, int]]:
    """Top 12 campaigns by opens (then name) among the events and campaigns of the first 90-day sync."""
    source = next(cell for cell in notebook.cells if cell.get("id") == "emulator").source
    seed, sizes = re.search(r"Emulator\(seed=(\d+), sizes=Sizes\(([^)]*)\)\)", source).groups()
    emulator = Emulator(seed=int(seed), sizes=Sizes(**{k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", sizes)}))
    start = datetime.now(UTC) - timedelta(days=90)  # no record lies near the boundary: any clock will do
    names = {str(c["campaign_id"]): c["campaign_name"] for c in emulator.expected_records("campaigns", start=start)}
    tally = Counter(
        (names[str(e["campaign_id"])], e["event_type"])
        for e in emulator.expected_records("events", start=start)
        if str(e["campaign_id"]) in names
    )
    rows = [(name, tally[name, "open"], tally[name, "click"]) for name in names.values()]
    return sorted(rows, key=lambda row: (-row[1], row[0]))[:12]
