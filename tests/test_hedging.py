"""robust --engine mpisppy (SPEC section 10): progressive hedging against independent values.

The reference values are the extensive form's objective (solved whole by HiGHS)
and the hand-worked robust plan of tests/test_scenarios.py (three offers: 4250 in
the base case, 9250 when A fails, expected 5250). PH stops when its proved gap is
at most ``HedgingSettings.gap`` (1e-4): its objective (the expected cost of a plan
it found) must then be within that of the optimum, and its bound at most the
optimum.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from optimizer.cli import main
from optimizer.data import prepare
from optimizer.input import load_instance
from optimizer.scenarios import file_cases, robust, scenario_data, solve_extensive
from tests.conftest import world
from tests.test_scenarios import CN_FAILS, COMPANY_CAP, three_offers

pytest.importorskip("mpisppy", reason="--engine mpisppy needs mpi-sppy (pip install .[mpi])")

from optimizer.scenarios.hedging import solve_hedging
from optimizer.solver.hedging import HedgingSettings

#: PH's stopping gap (relative), the tolerance every comparison below uses
GAP = HedgingSettings().gap


def rule_world() -> dict[str, Any]:
    """The three-supplier world with a 60% company cap and four cases: the base
    case, cn1 fails (0.1), a cartel price on CN (0.2), demand 30% up with kr1 at
    half capacity (0.15)."""
    return world(rules=[COMPANY_CAP], spot_premium=0.5, scenarios=[
        CN_FAILS,
        {"name": "cartel", "probability": 0.2,
         "price_factor": {"by": "control", "group": ["CN"], "factor": 1.5}},
        {"name": "boom", "probability": 0.15, "demand_factor": {"factor": 1.3},
         "capacity_factor": {"by": "supplier", "group": ["kr1"], "factor": 0.5}}])


def both(path: Path, weight: float = 0.0, alpha: float = 0.95):
    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    cases = file_cases(inst, sd)
    ef = solve_extensive(data, sd, cases, weight, alpha)
    ph = solve_hedging(data, sd, cases, weight, alpha)
    return ef, ph


def close(ph: float, reference: float) -> None:
    """PH's objective is within its gap tolerance of the reference optimum."""
    assert ph >= reference - GAP * abs(reference) - 1e-6
    assert ph <= reference + GAP * abs(reference) + 1e-6


def test_three_offers_by_hand(write_instance):
    # the hand-worked robust plan: 50 GWh from A, 50 from B, nothing from C; 5250
    ef, ph = both(write_instance(three_offers()))
    assert ef.objective == pytest.approx(5250)
    assert ph.status == "optimal"
    close(ph.objective, 5250)
    assert ph.bound <= 5250 + 1e-6
    assert ph.gap <= GAP
    assert ph.x.tolist() == pytest.approx([50, 50, 0], abs=1e-3)
    assert ph.iterations >= 1 and ph.ranks == 1


def test_rule_world_against_extensive_form(write_instance):
    # four cases, a company cap and a demand shock: the extensive form's objective is
    # the reference
    ef, ph = both(write_instance(rule_world()))
    assert ef.status == "optimal" and ph.status == "optimal"
    close(ph.objective, ef.objective)
    assert ph.bound <= ef.objective * (1 + 1e-9) + 1e-6
    assert ph.gap <= GAP
    # the plan keeps the 60% company cap
    assert max(ph.x) <= 0.6 * ph.x.sum() + 1e-4


def test_cvar_weight(write_instance):
    # three offers, 0.5 x E + 0.5 x CVaR_0.95: the extensive form's 5750 (the same plan,
    # 0.5 x 5250 + 0.5 x 9250 - hand-worked in tests/test_scenarios.py)
    ef, ph = both(write_instance(three_offers()), 0.5)
    assert ef.objective == pytest.approx(5750)
    assert ph.status == "optimal"
    close(ph.objective, 5750)
    assert ph.bound <= 5750 + 1e-6


def test_cvar_weight_bound_and_plan_hold_before_convergence(write_instance):
    # with a CVaR term PH closes its gap slowly on the rule world: after 20 iterations
    # the plan's objective is still at least the optimum and the bound at most it
    path = write_instance(rule_world())
    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    cases = file_cases(inst, sd)
    ef = solve_extensive(data, sd, cases, 0.5, 0.9)
    ph = solve_hedging(data, sd, cases, 0.5, 0.9,
                       settings=HedgingSettings(max_iterations=20))
    assert ph.status == "iteration_limit" and ph.iterations == 20
    assert ph.objective >= ef.objective * (1 - 1e-9) - 1e-6
    assert ph.bound <= ef.objective * (1 + 1e-9) + 1e-6
    assert ph.gap == pytest.approx((ph.objective - ph.bound) / ph.objective)


def test_integer_first_stage_is_a_heuristic_with_a_bound(write_instance):
    # min_count makes the first stage a MIP: PH's plan is feasible (its expected cost is
    # at least the optimum) and its bound at most the optimum
    inst = rule_world()
    inst["rules"] = [{"name": "two-makers", "kind": "min_count", "by": "company",
                      "limit": 2, "threshold": 0.2}]
    ef, ph = both(write_instance(inst))
    assert ef.mip and ph.mip
    assert ph.objective >= ef.objective * (1 - 1e-9) - 1e-6
    assert ph.bound <= ef.objective * (1 + 1e-9) + 1e-6
    assert ph.gap == pytest.approx((ph.objective - ph.bound) / ph.objective)


def test_robust_engine_summary(write_instance, tmp_path):
    path = write_instance(three_offers())
    res = robust(path, engine="mpisppy")
    s = res.summary
    assert s["engine"] == "mpisppy"
    close(s["objective"], 5250)
    # the play-out of PH's plan costs what PH says it does (hand-worked: 5250)
    assert s["expected_cost"] == pytest.approx(s["objective"], rel=1e-9)
    assert s["bound"] <= 5250 + 1e-6 and s["gap"] <= GAP
    assert s["iterations"] >= 1 and s["ranks"] == 1
    assert s["vss"] == pytest.approx(250, abs=GAP * 5250 + 1e-6)
    assert robust(path, evpi=False).summary["engine"] == "extensive"
    out = tmp_path / "out"
    assert main(["robust", str(path), "--engine", "mpisppy", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "mpisppy" and summary["gap"] <= GAP


@pytest.mark.parametrize("args, message", [
    (["--ph-rho", "2"], "need --engine mpisppy"),
    (["--engine", "mpisppy", "--adaptive"], "two-stage program"),
])
def test_usage_errors(write_instance, capsys, args, message):
    path = write_instance(three_offers())
    assert main(["robust", str(path), *args]) == 2
    assert message in " ".join(capsys.readouterr().err.split())


def test_hhi_rules_refused(write_instance, capsys):
    inst = rule_world()
    inst["rules"] = [{"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.5}]
    assert main(["robust", str(write_instance(inst)), "--engine", "mpisppy"]) == 2
    assert "max_hhi" in capsys.readouterr().err


MPIEXEC = shutil.which("mpiexec", path=str(Path(sys.executable).parent)) or \
    shutil.which("mpiexec")


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich, or apt-get install "
                                            "mpich / openmpi-bin)")
def test_under_mpiexec(write_instance, tmp_path):
    # two ranks share the four cases; only rank 0 prints and writes
    path = write_instance(rule_world())
    ef, _ = both(path)
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from optimizer.cli import run; run()"]
    run = subprocess.run([str(MPIEXEC), "-n", "2", *command, "robust", str(path),
                          "--engine", "mpisppy", "--no-evpi", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("progressive hedging (mpi-sppy, 2 ranks)") == 1
    assert run.stdout.count("wrote summary.json") == 1
    s = json.loads((out / "summary.json").read_text())
    assert s["ranks"] == 2 and s["engine"] == "mpisppy"
    close(s["objective"], ef.objective)
    assert s["bound"] <= ef.objective * (1 + 1e-9) + 1e-6
