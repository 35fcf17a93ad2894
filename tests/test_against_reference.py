"""The product against the independent reference model on generated instances.

Small random instances from ``benchmarks/generate.py`` (6-15 suppliers, 2-4
applications, 2-4 periods, every LP rule kind; and a second set with fixed
costs, minimum orders, count rules and rising and falling price tiers) are written to disk (CSV
tables, or all inline for every fourth seed) and solved by both
``optimizer.solve`` and ``tests/reference/model.solve``. They must agree on the
status and the optimal cost, and the product's plan must pass the reference
checker (``check_plan``) at the cost it claims (``plan_cost``). Three seeds go
through the real command line as well.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import optimizer
from benchmarks.generate import generate, write
from tests.reference.check import check_plan, plan_cost
from tests.reference.model import solve as ref_solve

ROOT = Path(__file__).resolve().parents[1]
SEEDS = list(range(40))
CLI_SEEDS = [5, 12, 3]        # two with a plan, one without
REL = 1e-6


def size(seed: int) -> dict[str, int]:
    return {"suppliers": 6 + seed % 10, "applications": 2 + seed % 3,
            "periods": 2 + (seed // 3) % 3}


@cache
def instance(seed: int) -> dict:
    return generate(seed, **size(seed), rules=True)


@cache
def reference(seed: int) -> dict:
    return ref_solve(instance(seed))          # inline dict: no files needed


def written(seed: int, directory: Path) -> Path:
    return write(instance(seed), directory, csv=seed % 4 != 3)


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(abs(a), abs(b)) + 1e-6


def check_against_reference(path: Path, seed: int, status: str, objective, rows: list[dict]):
    ref = ref_solve(path)
    mem = reference(seed)                      # the same instance before write(): same answer
    assert ref["status"] == mem["status"] and (
        ref["status"] != "optimal" or close(ref["objective"], mem["objective"])), \
        f"seed {seed}: write() changed the instance"
    assert status == ref["status"], f"seed {seed}: product {status}, reference {ref['status']}"
    if status != "optimal":
        return
    assert close(objective, ref["objective"]), \
        f"seed {seed}: objective {objective!r} != reference {ref['objective']!r}"
    errors = check_plan(path, rows)
    assert errors == [], f"seed {seed}: the product's plan breaks:\n" + "\n".join(errors)
    cost = plan_cost(path, rows)
    assert close(cost, objective), f"seed {seed}: plan costs {cost!r}, product says {objective!r}"


@pytest.mark.parametrize("seed", SEEDS)
def test_solve_matches_reference(seed, tmp_path):
    path = written(seed, tmp_path)
    r = optimizer.solve(path, analysis=False)
    rows = [] if r.allocation.empty else \
        r.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    check_against_reference(path, seed, r.status, r.objective, rows)


MIP_SEEDS = list(range(100, 120))
FEATURES = frozenset({"fixed_cost", "min_order", "count", "tiers"})


@pytest.mark.parametrize("seed", MIP_SEEDS)
def test_binaries_match_reference(seed, tmp_path):
    inst = generate(seed, 8 + seed % 8, 2 + seed % 3, 2 + seed % 2, features=FEATURES)
    path = write(inst, tmp_path)
    r = optimizer.solve(path, analysis=False)
    ref = ref_solve(path)
    assert r.status == ref["status"]
    if r.status != "optimal":
        return
    assert r.model_size["binaries"] > 0
    assert close(r.objective, ref["objective"]), (r.objective, ref["objective"])
    rows = r.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    assert check_plan(path, rows) == []
    assert close(plan_cost(path, rows), r.objective)


def test_seeds_cover_feasible_and_infeasible():
    statuses = [reference(s)["status"] for s in SEEDS]
    assert set(statuses) <= {"optimal", "infeasible"}
    assert statuses.count("optimal") >= 20, statuses
    assert statuses.count("infeasible") >= 3, statuses
    assert {reference(s)["status"] for s in CLI_SEEDS} == {"optimal", "infeasible"}


@pytest.mark.parametrize("seed", CLI_SEEDS)
def test_cli_matches_reference(seed, tmp_path):
    path = written(seed, tmp_path / "instance")
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "optimizer", "solve", str(path), "--out", str(out)]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=120)
    expected = {"optimal": 0, "infeasible": 1}[reference(seed)["status"]]
    assert proc.returncode == expected, \
        f"seed {seed}: exit {proc.returncode}, expected {expected}\n{proc.stdout}\n{proc.stderr}"
    summary = json.loads((out / "summary.json").read_text())
    rows = []
    if summary["status"] == "optimal":
        with open(out / "allocation.csv", newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert rows and {"supplier", "application", "period", "gwh"} <= set(rows[0])
    check_against_reference(path, seed, summary["status"], summary.get("objective"), rows)
