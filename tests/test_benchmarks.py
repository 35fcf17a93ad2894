"""The benchmark harness measures what it says: same LP, same optimum.

No timing is asserted (speed lives in benchmarks/README.md). These tests only
check that the things run.py compares (the CLI run, HiGHS alone, the Pyomo
floor, the naive LP, linopy) solve one and the same instance to one optimum.
"""

from __future__ import annotations

import contextlib
import io
import json
import warnings

import numpy as np
import pytest

import optimizer
from benchmarks.generate import generate, write
from benchmarks.naive import highs_of, naive_lp, solve_naive
from benchmarks.run import highs_alone, linopy_run, pyomo_floor, table
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


def test_naive_lp_and_linopy_reach_the_cli_optimum(small):
    path, _, summary = small
    naive = solve_naive(path)
    assert naive["status"] == "Optimal"
    assert naive["objective"] == pytest.approx(summary["objective"], rel=1e-7)
    assert naive["run_seconds"] > 0 and naive["iterations"] > 0

    lp = naive_lp(optimizer.prepare(optimizer.load_instance(path)))
    # rules over x: no column but the purchases and the unmet demand (no top-k or
    # soft rules in this instance), and no equality but the demand rows
    assert lp.cols == lp.lanes + lp.unmet
    demand = lp.blocks["demand"]
    assert np.flatnonzero(lp.row_lower == lp.row_upper).tolist() == \
        list(range(demand.start, demand.stop))
    assert demand.start == 0 and demand.stop > 0
    # the covered volume is written out: a share row holds every covered lane
    assert lp.nnz > summary["model_size"]["nonzeros"]

    # ... and with X a column: one more column and one definition row per coverage
    with_x = naive_lp(optimizer.prepare(optimizer.load_instance(path)), covered=True)
    assert with_x.cols > lp.cols and with_x.nnz < lp.nnz
    assert solve_naive(path, covered=True)["objective"] == pytest.approx(
        summary["objective"], rel=1e-7)

    # linopy in a fresh process, as run.py runs it: the project's LP itself, the
    # same rows, columns and (but for zeros linopy drops) nonzeros
    lin = linopy_run(path)
    assert lin["objective"] == pytest.approx(summary["objective"], rel=1e-7)
    assert lin["status"] == "ok/optimal"
    assert (lin["rows"], lin["cols"]) == (summary["model_size"]["constraints"],
                                          summary["model_size"]["variables"])
    assert lin["nnz"] <= summary["model_size"]["nonzeros"]
    assert lin["wall"] >= lin["imports"] + lin["data"] + lin["build"] + lin["solve"]
    assert lin["solve"] >= lin["highs_run"] > 0


def test_top_share_and_soft_rules_reach_the_cli_optimum(tmp_path):
    """A top-2 cap and soft rules (missed at their penalty): the naive LP and
    the linopy model still reach the CLI's optimum."""
    from benchmarks import linopy_model

    inst = generate(3, 30, 3, 4)
    inst["rules"].append({"name": "top-2", "kind": "max_top_share", "by": "company", "k": 2,
                          "limit": 0.5})
    for rule in inst["rules"]:
        if rule["name"] == "carbon-cap":  # far below what the market offers, cheap to miss
            rule["limit"], rule["penalty"] = rule["limit"] * 0.6, 0.05
        if rule["name"] == "usmca-late-floor":
            rule["limit"], rule["penalty"] = 0.5, 20.0
    path = write(inst, tmp_path / "inst")
    out = tmp_path / "out"
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["solve", str(path), "--out", str(out), "--no-analysis"]) == 0
    objective = json.loads((out / "summary.json").read_text())["objective"]

    data = optimizer.prepare(optimizer.load_instance(path))
    lp = naive_lp(data)
    assert {"top_share_groups", "max_top_share"} <= set(lp.blocks)
    h = highs_of(lp)
    h.run()
    assert h.getInfo().objective_function_value == pytest.approx(objective, rel=1e-7)
    extra = np.asarray(h.getSolution().col_value)[lp.lanes + lp.unmet:]
    assert (extra > 1e-6).any()  # thresholds, excesses and misses at work
    assert np.flatnonzero(lp.row_lower == lp.row_upper).max() < lp.blocks["demand"].stop

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = linopy_model.solve(linopy_model.build(data))
    assert result["objective"] == pytest.approx(objective, rel=1e-7)


def test_naive_lp_and_linopy_refuse_binaries(tmp_path):
    from benchmarks import linopy_model

    path = write(generate(3, 12, 2, 2, features={"count"}), tmp_path / "inst")
    data = optimizer.prepare(optimizer.load_instance(path))
    with pytest.raises(NotImplementedError, match="binaries"):
        naive_lp(data)
    with pytest.raises(NotImplementedError, match="binaries"):
        linopy_model.build(data)


def test_table_shows_the_floor_naive_and_linopy_columns():
    row = {"size": "1e4", "variables": 10, "constraints": 5, "nonzeros": 30, "load": 0.1,
           "prepare": 0.1, "build": 0.1, "compile": 0.1, "handoff": 0.0, "solve": 0.5,
           "results": 0.1, "check": 0.0, "report": 0.0, "write": 0.1, "other": 0.4,
           "cli_wall": 1.5, "highs_alone": 0.5, "ratio": 3.0, "max_rss_mb": 100.0,
           "floor": 1.0, "floor_solve": 0.5, "floor_ratio": 2.0,
           "floor_phases": {"imports": 0.2, "build": 0.1, "compile": 0.1, "handoff": 0.0},
           "floor_same_objective": True, "iterations": 1234,
           "lp_size": {"rows": 5, "cols": 10, "nnz": 30},
           "naive": 0.75, "naive_iterations": 2345, "naive_build": 0.05,
           "naive_size": {"rows": 4, "cols": 8, "nnz": 3000}, "ratio_naive": 2.0,
           "ratios_naive": [2.0],
           "linopy": {"imports": 0.5, "data": 0.2, "build": 0.3, "solve": 0.6,
                      "highs_run": 0.5, "iterations": 1200, "rows": 5, "cols": 10, "nnz": 30,
                      "max_rss_mb": 150.0, "wall": 1.8},
           "all_same_objective": True}
    text = table([row])
    # whole run, HiGHS alone and ratio; the naive LP (X a column) and the ratio against
    # it; no X-written-out figure at this size; linopy 0.3 + 0.6 and its wall
    assert text.splitlines()[2] == ("| 1e4 | 10 | 30 | 1.50 | 0.50 | 3.00 | 0.75 | 2.00 | - | "
                                    "0.90 | 1.80 | 100 MB | 2.00 | yes |")
    assert ("| 1e4 | 0.40 | 0.10 | 0.10 | 0.10 | 0.10 | 0.00 | 0.50 | 0.10 | 0.00 | 0.00 | "
            "0.10 | 1.50 |") in text
    assert ("| 1e4 | 5 / 10 / 30 | 1,234 | 4 / 8 / 3,000 | 2,345 | - | 0.50 | 0.20 | 0.30 | "
            "0.60 | 0.50 | 150 MB |") in text
    assert "| 1e4 | 0.20 | 0.10 | 0.10 | 0.00 | 0.50 | 1.00 | 2.00 | yes |" in text
    # a row from before the naive LP and linopy still prints, with dashes
    old = {k: v for k, v in row.items()
           if k not in ("naive", "ratio_naive", "linopy", "all_same_objective", "ratios_naive")}
    assert table([old]).splitlines()[2].endswith("| - | - | - | - | - | 100 MB |  | - |")


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
