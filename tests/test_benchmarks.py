"""The benchmark harness measures what it says: same LP, same optimum.

No timing is asserted (speed lives in benchmarks/README.md). These tests only
check that the three things run.py compares (the CLI run, HiGHS alone, the
Pyomo floor) solve one and the same LP.
"""

from __future__ import annotations

import json

import pytest

import optimizer
from benchmarks.generate import generate, write
from benchmarks.run import highs_alone, pyomo_floor, table
from optimizer.cli import main


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    path = write(generate(3, 30, 3, 4), root / "inst")
    out = root / "out"
    assert main(["solve", str(path), "--out", str(out), "--no-analysis"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    return path, root, summary


def test_highs_alone_and_the_floor_reach_the_cli_optimum(small):
    path, root, summary = small
    matrices = root / "lp.npz"
    alone, objective, info = highs_alone(path, matrices)
    # independent of the CLI: the model is compiled here and solved by a bare highspy.Highs
    assert objective == pytest.approx(summary["objective"], rel=1e-7)
    assert alone > 0 and info["bulk_compile"] > 0

    floor = pyomo_floor(matrices)
    # the floor rebuilt the LP from its matrices in a fresh process: same size, same optimum
    assert floor["columns"] == summary["model_size"]["variables"]
    assert floor["objective"] == pytest.approx(objective, rel=1e-7)
    # the import of this package is left out of the floor's wall time
    assert floor["wall"] > 0 and floor["left_out"] > 0
    steps = sum(floor[k] for k in ("imports", "build", "compile", "handoff", "solve"))
    assert floor["wall"] >= steps


def test_table_shows_the_floor_columns():
    row = {"size": "1e4", "variables": 10, "constraints": 5, "nonzeros": 30, "load": 0.1,
           "prepare": 0.1, "build": 0.1, "compile": 0.1, "handoff": 0.0, "solve": 0.5,
           "results": 0.1, "check": 0.0, "report": 0.0, "write": 0.1, "other": 0.4,
           "cli_wall": 1.5, "highs_alone": 0.5, "ratio": 3.0, "max_rss_mb": 100.0,
           "floor": 1.0, "floor_solve": 0.5, "floor_ratio": 2.0,
           "floor_phases": {"imports": 0.2, "build": 0.1, "compile": 0.1, "handoff": 0.0},
           "floor_same_objective": True}
    text = table([row])
    assert "| 1e4 | 10 | 30 | 0.40 |" in text
    assert text.splitlines()[2].endswith("| 3.00 | 100 MB | 3.00 | 1.00 | 2.00 |")
    assert "| 1e4 | 0.20 | 0.10 | 0.10 | 0.00 | 0.50 | 1.00 | 2.00 | yes |" in text


def test_floor_is_a_bare_pyomo_model():
    """floor.py imports neither pandas nor this package before it times the floor."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(optimizer.__file__).resolve().parents[1] / "benchmarks" / "floor.py"
    code = ("import runpy, sys; sys.argv = ['floor.py']; "
            f"g = runpy.run_path({str(script)!r}, run_name='not_main'); "
            "print('pandas' in sys.modules, 'optimizer' in sys.modules)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert proc.stdout.split() == ["False", "False"]
