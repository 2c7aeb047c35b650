"""The researchers' notebook (examples/research-questions.ipynb) runs against a real server: every cell, with
nbclient and a real Jupyter kernel, so that it never goes stale."""

from __future__ import annotations

import nbclient
import nbformat
import pytest

from tests.conftest import ROOT

NOTEBOOK = ROOT / "examples" / "research-questions.ipynb"


@pytest.mark.slow
def test_notebook_answers_its_questions(live_server, monkeypatch, tmp_path):
    monkeypatch.setenv("NEXT2MET_ENDPOINT", f"{live_server.url}/sparql")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                                     resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, when a cell fails
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    text = "\n".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert f"asking {live_server.url}/sparql" in text
    assert "learning flows" in text
    tables = [o for o in outputs if "text/html" in o.get("data", {})]
    assert len(tables) >= 3  # the three answers, as DataFrames
    assert any("image/png" in o.get("data", {}) for o in outputs)  # the drawings
