"""The example notebook runs top to bottom and draws its chart."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent / "examples" / "listrak_pyairbyte.ipynb"


@pytest.mark.slow
def test_example_notebook_executes_and_plots_opens_and_clicks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LISTRAK_REPO", str(NOTEBOOK.parent.parent))
    monkeypatch.setenv("NO_LIVE_PROGRESS", "1")
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    notebook = nbformat.read(NOTEBOOK, as_version=4)

    resources = {"metadata": {"path": str(tmp_path)}}  # the notebook's working directory
    client = NotebookClient(notebook, timeout=300, kernel_name="python3", resources=resources)
    client.execute()

    errors = [out for cell in notebook.cells for out in cell.get("outputs", []) if out.get("output_type") == "error"]
    assert not errors
    counts_cell = next(cell for cell in notebook.cells if "counts = " in cell.source)
    assert "'events'" in counts_cell.outputs[-1]["data"]["text/plain"]
    assert (tmp_path / "opens_clicks_per_campaign.png").stat().st_size > 10_000
    assert any("image/png" in out.get("data", {}) for out in notebook.cells[-2].outputs)
