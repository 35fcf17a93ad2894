"""The notebooks in notebooks/ run top to bottom in a fresh kernel and make their plots.

Each notebook is executed with nbclient in a new kernel started from this
interpreter (``sys.executable``, so the kernel sees the package installed in
the test environment, whatever kernels the machine has registered), with
notebooks/ as the working directory. A notebook fails the suite when a cell
raises (the notebooks also assert their own cross-checks), when a cell tagged
``plot`` shows no image, or when its closing answer prints nothing. The stored
files must carry no outputs, so that what is committed is the code, not a
stale result.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = ["01_quickstart", "02_price_of_diversification", "03_cartel_stress",
            "04_upstream_graphite", "05_fund_or_pay_the_cartel"]
KERNEL = "battery-sourcing-tests"
#: seconds per cell (the slowest cell solves a robust plan, about a second)
CELL_TIMEOUT = 300


def test_the_notebooks_are_there():
    assert [p.stem for p in NOTEBOOKS] == EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_stored_without_outputs(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for i, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {i} of {path.name} is stored with outputs"
            assert cell.execution_count is None, f"cell {i} of {path.name} has a count"


@pytest.fixture(scope="module")
def kernel_specs(tmp_path_factory) -> KernelSpecManager:
    """A kernel spec of this interpreter in a private directory. The inline
    backend is set explicitly: an MPLBACKEND=Agg inherited from the shell would
    otherwise keep every figure from being shown."""
    kernels = tmp_path_factory.mktemp("jupyter") / "kernels"
    spec = kernels / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "battery-sourcing tests",
        "language": "python",
        "env": {"MPLBACKEND": "module://matplotlib_inline.backend_inline"},
    }))
    return KernelSpecManager(kernel_dirs=[str(kernels)])


def _run(path: Path, specs: KernelSpecManager) -> nbformat.NotebookNode:
    nb = nbformat.read(path, as_version=4)
    # one more cell, in memory only: which interpreter ran the notebook
    nb.cells.append(nbformat.v4.new_code_cell("import sys\nprint(sys.executable)"))
    km = KernelManager(kernel_name=KERNEL, kernel_spec_manager=specs)
    client = NotebookClient(nb, km=km, timeout=CELL_TIMEOUT, startup_timeout=120,
                            allow_errors=False,
                            resources={"metadata": {"path": str(NOTEBOOK_DIR)}})
    client.execute()
    return nb


def _text(cell) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


def _has_image(cell) -> bool:
    return any("image/png" in o.get("data", {}) for o in cell.outputs
               if o.output_type in ("display_data", "execute_result"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_plots(path: Path, kernel_specs: KernelSpecManager):
    nb = _run(path, kernel_specs)  # raises CellExecutionError, naming the cell, on any error
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert Path(_text(code[-1]).strip()) == Path(sys.executable)
    errors = [o for c in code for o in c.outputs if o.output_type == "error"]
    assert errors == []
    plots = [c for c in code if "plot" in c.metadata.get("tags", [])]
    assert plots, f"{path.name} has no cell tagged 'plot'"
    for cell in plots:
        assert _has_image(cell), f"this plot cell of {path.name} showed no image:\n{cell.source}"
    # the notebook's last cell of its own prints the answer in plain words
    answer = code[-2]
    assert "answer" in answer.metadata.get("tags", []), f"{path.name} ends without an answer"
    assert len(_text(answer).split()) >= 30, f"{path.name}: the answer printed too little"
