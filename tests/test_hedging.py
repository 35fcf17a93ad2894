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

from optimizer.scenarios.errors import ScenarioError
from optimizer.scenarios.hedging import bundles, solve_hedging
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


def loaded(path: Path):
    """The instance at ``path``, its model data, scenario data and cases."""
    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    return inst, data, sd, file_cases(inst, sd)


def both(path: Path, weight: float = 0.0, alpha: float = 0.95):
    _, data, sd, cases = loaded(path)
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
    _, data, sd, cases = loaded(write_instance(rule_world()))
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
    assert s["iterations"] >= 1 and s["ranks"] == 1 and s["bundles"] == 2  # a case each
    assert s["vss"] == pytest.approx(250, abs=GAP * 5250 + 1e-6)
    assert robust(path, evpi=False).summary["engine"] == "extensive"
    out = tmp_path / "out"
    assert main(["robust", str(path), "--engine", "mpisppy", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["engine"] == "mpisppy" and summary["gap"] <= GAP
    # the report says how the plan was solved and what PH proved
    page = (out / "report.html").read_text()
    said = page.split('id="engine-sentence">', 1)[1].split("<", 1)[0]
    assert "progressive hedging on mpi-sppy (1 process" in said
    assert "USD 5,250." in said and "proved lower bound" in said  # 5,250 to 1e-4
    # both cases in one subproblem: the extensive form, 5250 at once
    one = tmp_path / "one"
    assert main(["robust", str(path), "--engine", "mpisppy", "--ph-bundle", "2", "--no-evpi",
                 "--out", str(one)]) == 0
    summary = json.loads((one / "summary.json").read_text())
    assert summary["bundles"] == 1 and summary["objective"] == pytest.approx(5250)
    assert "mpi-sppy (1 process, 1 subproblem, " in (one / "report.html").read_text()
    plain = tmp_path / "plain"
    assert main(["robust", str(path), "--no-evpi", "--out", str(plain)]) == 0
    assert 'id="engine-sentence"' not in (plain / "report.html").read_text()


@pytest.mark.parametrize(("n", "size", "weight", "ranks", "expected"), [
    # automatic: about 2 bundles per rank, ceil(698 / 4) = 175 cases each, the last 173
    (698, None, 0.0, 2, [175] * 3 + [173]),
    (71, None, 0.0, 1, [36, 35]),
    (3, None, 0.0, 2, [1] * 3),  # fewer cases than 4: one each
    (4, 3, 0.0, 2, [2, 2]),  # never fewer bundles than ranks
    (4, 3, 0.0, 1, [3, 1]),
    (10, None, 0.5, 1, [1] * 10),  # a CVaR weight: one case each
])
def test_bundles(n, size, weight, ranks, expected):
    groups = bundles(n, size, weight, ranks)
    assert [len(g) for g in groups] == expected
    assert [k for g in groups for k in g] == list(range(n))  # consecutive, each case once


@pytest.mark.parametrize("size", [2, 3, 4])
def test_bundled_subproblems_against_extensive_form(write_instance, size):
    # the rule world's four cases (probabilities 0.55, 0.1, 0.2, 0.15) in bundles of 2
    # (0.65 and 0.35: each bundle's cases weighted by their probability within it), of
    # 3 and 1, and of 4 (one subproblem: the extensive form itself, its plan optimal at
    # iteration 0)
    _, data, sd, cases = loaded(write_instance(rule_world()))
    ef = solve_extensive(data, sd, cases)
    ph = solve_hedging(data, sd, cases, settings=HedgingSettings(bundle=size))
    assert ph.bundles == {2: 2, 3: 2, 4: 1}[size]
    assert ph.status == "optimal"
    close(ph.objective, ef.objective)
    assert ph.bound <= ef.objective * (1 + 1e-9) + 1e-6
    if size == 4:
        assert ph.objective == pytest.approx(ef.objective, rel=1e-9)
        assert ph.bound == pytest.approx(ef.objective, rel=1e-9)


def test_bundles_refused_with_cvar(write_instance):
    path = write_instance(three_offers())
    _, data, sd, cases = loaded(path)
    with pytest.raises(ScenarioError, match="--cvar-weight 0"):
        solve_hedging(data, sd, cases, 0.5,
                      settings=HedgingSettings(bundle=2))


@pytest.mark.parametrize("args, message", [
    (["--ph-rho", "2"], "need --engine mpisppy"),
    (["--ph-bundle", "2"], "need --engine mpisppy"),
    (["--engine", "mpisppy", "--ph-bundle", "2", "--cvar-weight", "0.5"],
     "needs --cvar-weight 0"),
    (["--engine", "mpisppy", "--ph-bundle", "0"], "--ph-bundle"),
    (["--ph-iterations", "5", "--adaptive"], "need --engine mpisppy"),
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
@pytest.mark.parametrize(("bundle", "subproblems"), [
    # four cases on two ranks: automatic bundling keeps one case per subproblem
    ([], 4),
    # two cases per subproblem: one on each rank
    (["--ph-bundle", "2"], 2)])
def test_under_mpiexec(write_instance, tmp_path, bundle, subproblems):
    # two ranks share the four cases; only rank 0 prints and writes
    path = write_instance(rule_world())
    ef, _ = both(path)
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from optimizer.cli import run; run()"]
    run = subprocess.run([str(MPIEXEC), "-n", "2", *command, "robust", str(path),
                          "--engine", "mpisppy", *bundle, "--no-evpi", "--out", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count(f"progressive hedging (mpi-sppy, 2 ranks, {subproblems} "
                            "subproblems)") == 1
    assert run.stdout.count("wrote summary.json") == 1
    s = json.loads((out / "summary.json").read_text())
    assert s["ranks"] == 2 and s["engine"] == "mpisppy" and s["bundles"] == subproblems
    close(s["objective"], ef.objective)
    assert s["bound"] <= ef.objective * (1 + 1e-9) + 1e-6


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich, or apt-get install "
                                            "mpich / openmpi-bin)")
@pytest.mark.parametrize(("args", "message"), [
    ([], "is a directory, not an instance file"),  # every rank reads the same bad input
    (["--ph-bundle", "2", "--cvar-weight", "0.5"], "needs --cvar-weight 0")])
def test_under_mpiexec_a_problem_is_said_once(write_instance, tmp_path, args, message):
    path = write_instance(three_offers())
    target = str(path.parent) if not args else str(path)
    command = [sys.executable, "-c", "from optimizer.cli import run; run()"]
    run = subprocess.run([str(MPIEXEC), "-n", "2", *command, "robust", target,
                          "--engine", "mpisppy", *args], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2
    assert " ".join(run.stderr.split()).count(message) == 1, run.stderr


# ------------------------------------------------------------ the adaptive program by PH
# tests/test_adaptive.py's tree, worked by hand there: one application, 100 GWh a year
# 2030-2032; A (CN) at 40, B (KR) at 50, spot 20% above; a ban on CN from 2031 (0.2).
# Two-stage 12,800; adaptive lag 0: 12,400, lag 1: 12,600, beyond the horizon: 12,800.
# With a strike (KR at half capacity from 2032, 0.05, under the ban) at lag 1 the strike
# follows the ban's 2032 plan (B 100, of which 50 delivered, 50 spot at 60): 15,500, so
# E = 0.75 x 12,000 + 0.2 x 15,000 + 0.05 x 15,500 = 12,775.


def adaptive_both(path: Path, lag: int, weight: float = 0.0, alpha: float = 0.95,
                  settings: HedgingSettings | None = None):
    """The adaptive program by the extensive form and by PH."""
    from optimizer.scenarios.adaptive import adaptive_plan
    from optimizer.scenarios.adaptive_hedging import solve_adaptive_hedging

    inst, data, sd, cases = loaded(path)
    ef = adaptive_plan(inst, data, sd, cases, lag, weight, alpha)
    ph = solve_adaptive_hedging(inst, data, sd, cases, lag, weight, alpha, settings=settings)
    return ef, ph


@pytest.mark.parametrize(("lag", "expected"), [(0, 12400), (1, 12600), (2, 12800)])
def test_adaptive_by_hand(write_instance, lag, expected):
    from tests.test_adaptive import world as tree_world

    res = robust(write_instance(tree_world()), evpi=False, adaptive=True, lag=lag,
                 engine="mpisppy")
    ad = res.summary["adaptive"]
    assert ad["engine"] == "mpisppy" and ad["status"] == "optimal"
    close(ad["objective"], expected)
    close(res.summary["objective"], expected)
    assert ad["bound"] <= expected + 1e-6 and ad["gap"] <= GAP
    close(res.summary["two_stage"]["objective"], 12800)
    assert ad["value_of_adapting"] == pytest.approx(12800 - expected, abs=2 * GAP * 12800)
    # the ban's own plan buys B from the year it re-plans
    tree = res.adaptive.tree.set_index("scenario")
    assert tree.loc["ban", "cost"] == pytest.approx(
        4000 + sum(5000 if t >= 2031 + lag else 6000 for t in (2031, 2032)), rel=GAP)


def test_adaptive_child_branch_and_cvar_against_the_extensive_form(write_instance):
    from tests.test_adaptive import BAN, STRIKE
    from tests.test_adaptive import world as tree_world

    path = write_instance(tree_world(scenarios=(BAN, STRIKE)))
    ef, ph = adaptive_both(path, 1)
    assert ef.objective == pytest.approx(12775)                        # by hand, above
    close(ph.objective, 12775)
    assert ph.engine["bound"] <= 12775 + 1e-6 and ph.engine["gap"] <= GAP
    # the strike follows the ban's plan in 2032: same purchases as the ban there
    plans = ph.plans.set_index(["scenario", "supplier", "period"])["gwh"]
    assert plans.loc[("strike", "B", 2032)] == pytest.approx(plans.loc[("ban", "B", 2032)])
    # half CVaR_0.95: the extensive form's optimum; PH's bound below it (one rho for
    # every case at a node keeps the Lagrangian bound valid)
    ef, ph = adaptive_both(path, 1, 0.5)
    assert ph.engine["bound"] <= ef.objective * (1 + 1e-9) + 1e-6
    assert ph.objective >= ef.objective * (1 - 1e-9) - 1e-6
    assert ph.status == "optimal"
    close(ph.objective, ef.objective)


@pytest.mark.parametrize(("gen", "seed", "lag"), [
    ("generated", 2, 0), ("generated", 2, 1), ("generated", 8, 1), ("generated", 11, 0),
    ("branching", 15, 0)])
def test_adaptive_against_the_independent_reference(write_instance, gen, seed, lag):
    # the reference extensive form of tests/reference/adaptive.py (written from the
    # SPEC alone) on generated instances with a buffer stock, a company cap, demand
    # shocks and a child branch; generated-2 at lag 1 and generated-11 at lag 0 need
    # the projection (the averages of the cases' stock levels do not meet the stock
    # balance exactly; generated-11 only once widened ten times)
    from tests.reference import test_reference_adaptive as ref_tests
    from tests.reference.adaptive import adaptive

    d = getattr(ref_tests, gen)(seed)
    reference = adaptive(d, lag)["objective"]
    _, ph = adaptive_both(write_instance(d), lag)
    assert ph.status == "optimal"
    close(ph.objective, reference)
    assert ph.engine["bound"] <= reference * (1 + 1e-9) + 1e-6


def test_adaptive_hhi_refused(write_instance, capsys):
    from tests.test_adaptive import world as tree_world

    d = tree_world(rules=[{"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.6}])
    assert main(["robust", str(write_instance(d)), "--adaptive", "--engine", "mpisppy"]) == 2
    assert "max_hhi" in capsys.readouterr().err


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec (pip install mpich, or apt-get install "
                                            "mpich / openmpi-bin)")
def test_adaptive_under_mpiexec(write_instance, tmp_path):
    # two ranks share the three cases of the strike tree (12,775 by hand, above)
    from tests.test_adaptive import BAN, STRIKE
    from tests.test_adaptive import world as tree_world

    path = write_instance(tree_world(scenarios=(BAN, STRIKE)))
    out = tmp_path / "out"
    command = [sys.executable, "-c", "from optimizer.cli import run; run()"]
    run = subprocess.run([str(MPIEXEC), "-n", "2", *command, "robust", str(path),
                          "--adaptive", "--lag", "1", "--engine", "mpisppy", "--no-evpi",
                          "--out", str(out)], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("progressive hedging, adaptive plan (mpi-sppy, 2 ranks)") == 1
    s = json.loads((out / "summary.json").read_text())
    ad = s["adaptive"]
    assert ad["ranks"] == 2 and ad["engine"] == "mpisppy"
    close(ad["objective"], 12775)
    assert ad["bound"] <= 12775 + 1e-6
    tree = (out / "tree.csv").read_text()
    assert "strike" in tree and "ban" in tree
    page = (out / "report.html").read_text()
    said = page.split('id="adaptive-engine-sentence">', 1)[1].split("<", 1)[0]
    assert "The adaptive plan was solved by progressive hedging on mpi-sppy (2 processes" \
        in said and "USD 12,77" in said  # 12,775 to 1e-4
