"""The example notebook runs headless, top to bottom, in the project's venv: it syncs Listrak's Email API
from the emulator into DuckDB, draws its two charts without a warning (a missing glyph would print
one), and shows numbers that match the data it synced."""

from __future__ import annotations

import os
import re
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from listrak_emulators.email_v1 import EmailV1Emulator, Sizes

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "examples" / "listrak_pyairbyte.ipynb"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STREAMS = ["lists", "messages", "message_summary", "message_links", "message_link_clickers"]
CHARTS = ["opens_clicks_per_message.png", "top_links.png"]
START_DATE = datetime(2000, 1, 1, tzinfo=UTC)  # the notebook's start_date


def test_example_notebook_is_committed_clean() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)
    assert notebook.metadata["kernelspec"]["name"] == "python3"


def cell(notebook: nbformat.NotebookNode, cell_id: str) -> nbformat.NotebookNode:
    return next(c for c in notebook.cells if c.get("id") == cell_id)


def printed(code_cell: nbformat.NotebookNode) -> str:
    return "".join(out["text"] for out in code_cell.outputs if out.output_type == "stream" and out.name == "stdout")


def same_account(notebook: nbformat.NotebookNode) -> EmailV1Emulator:
    """The notebook's emulator after its second read: the seed and sizes its cell names, its clock moved on."""
    source = cell(notebook, "emulator").source
    seed = int(re.search(r"seed=(\d+)", source).group(1))
    sizes = dict(re.findall(r"(\w+)=(\d+)", re.search(r"Sizes\(([^)]*)\)", source).group(1)))
    api = EmailV1Emulator(
        seed=seed, sizes=Sizes(**{k: int(v) for k, v in sizes.items()}), now=datetime.now(UTC) - timedelta(days=1)
    )
    api.advance(api.now + timedelta(hours=2))
    return api


@pytest.mark.slow
def test_example_notebook_syncs_the_email_api_and_charts_its_engagement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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

    outputs = [out for c in notebook.cells if c.cell_type == "code" for out in c.outputs]
    assert not [out for out in outputs if out.output_type == "error"]
    assert f"python: {sys.executable}" in printed(cell(notebook, "setup"))  # ran in this venv

    # The charts: written, shown, and drawn without a word on stdout or stderr (a warning would be one).
    for chart in CHARTS:
        png = tmp_path / chart
        assert png.read_bytes().startswith(PNG_MAGIC) and png.stat().st_size > 10_000, chart
    plots = [c for c in notebook.cells if "plot" in c.metadata.get("tags", [])]
    assert len(plots) == len(CHARTS)
    for plot in plots:
        assert [out.output_type for out in plot.outputs] == ["execute_result"], plot.outputs
        assert "image/png" in plot.outputs[0]["data"]

    # The tables it synced: the emulator's account, every stream filled.
    expected = same_account(notebook)
    with duckdb.connect(str(tmp_path / "listrak_email_api.duckdb"), read_only=True) as db:
        for stream in STREAMS:
            rows = db.sql(f'select count(*) from main."{stream}"').fetchone()[0]
            assert rows > 0, stream
            if stream != "message_link_clickers":  # clicks keep coming; the rest is fixed by the seed
                assert rows == len(expected.expected_records(stream, sent_since=START_DATE)), stream
        sent = db.sql("select count(*) from main.message_summary where sentcount > 0").fetchone()[0]
        # The clicks the first read saw: all but the five late ones, made at one instant after it.
        first_read = "where clickdate < (select max(clickdate) from main.message_link_clickers)"
        all_clicks = db.sql("select count(*) from main.message_link_clickers").fetchone()[0]
        clicks = db.sql(f"select count(*) from main.message_link_clickers {first_read}").fetchone()[0]
        per_link = db.sql(
            f"select count(*) as n from main.message_link_clickers {first_read} "
            "group by listid, messageid, linkid order by n desc"
        ).fetchall()
        latest_clicks = db.sql(
            "select clickcount from main.message_summary where sentcount > 0 "
            "order by messagesenddate desc, messageid desc limit 1"
        ).fetchone()[0]

    # What it shows: one row per message that went out, the top links' share of all clicks.
    table = cell(notebook, "per-message").outputs[-1]["data"]["text/plain"]
    assert "click_to_open_pct" in table
    assert {int(line.split()[0]) for line in table.splitlines() if line[:1].isdigit()} == set(range(sent))
    top_ten = sum(n for (n,) in per_link[:10])
    assert f"These 10 links took {top_ten:,} of the {clicks:,} clicks." in printed(cell(notebook, "top-links"))

    # The second read: the five late clicks on the latest message reached its summary row.
    said = re.search(r"(\d+) clicks before, (\d+) after the second read", printed(cell(notebook, "read-again")))
    before, after = map(int, said.groups())
    assert after - before == 5 and after == latest_clicks and all_clicks - clicks == 5
