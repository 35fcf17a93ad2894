"""The bundled instances solve, and agree with the independent reference model."""

from __future__ import annotations

from pathlib import Path

import pytest

import optimizer
from tests.reference.check import check_plan, plan_cost
from tests.reference.model import solve as reference_solve

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"
INSTANCES = sorted((ROOT / "instances").glob("*/instance.yaml"))


def test_default_instance_is_bundled():
    path = optimizer.default_instance_path()
    assert path.is_file()
    assert path.resolve() == (ROOT / "instances" / "north-america" / "instance.yaml").resolve()


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.parent.name)
def test_instance_matches_reference(path):
    # the plan and its cost only (the rule-cost analysis of a MIP takes its whole
    # time box: tested elsewhere)
    res = optimizer.solve(path, analysis=False)
    ref = reference_solve(path)
    assert res.status == ref["status"] == "optimal"
    assert res.objective == pytest.approx(ref["objective"], rel=1e-6)
    rows = res.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    # funding and contracts as expansions.csv and contracts.csv hold them (the
    # reference counts expansion rows from 0)
    exps = res.expansions.assign(expansion=res.expansions["expansion"] - 1).to_dict(
        "records") if len(res.expansions.columns) else None
    cons = res.contracts.to_dict("records") if len(res.contracts.columns) else None
    assert check_plan(path, rows, exps, cons) == []
    # the plan's cost recomputed independently (unmet demand at its penalty)
    assert plan_cost(path, rows, exps, cons) == pytest.approx(res.objective, rel=1e-6)


def test_teaching_instance_by_hand():
    # worked out in the comments of instances/teaching/instance.yaml
    res = optimizer.solve(TEACHING)
    assert res.objective == pytest.approx(3638, rel=1e-9)
    mc = res.rules.set_index(["rule", "period"])["marginal_cost"]
    assert mc[("china-cap", 2026)] == pytest.approx(5.4)
    assert mc[("china-cap", 2027)] == pytest.approx(0.0)
    assert mc[("alt-floor", 2026)] == pytest.approx(1.0)
    assert mc[("alt-floor", 2027)] == pytest.approx(4.6)
    alloc = res.allocation.set_index(["supplier", "application", "period"])["gwh"]
    assert alloc[("lges", "ev", 2027)] == pytest.approx(12)
    assert alloc[("peak", "storage", 2026)] == pytest.approx(2)


def test_default_instance_policy_binds():
    res = optimizer.solve()
    rules = res.rules
    china = rules[rules["rule"] == "china-cap"]
    assert (china["value"] <= 0.40 + 1e-9).all()
    assert china["binding"].any()
    floor = rules[rules["rule"] == "alt-floor"]
    assert (floor["value"] >= 0.15 - 1e-9).all()
    defense = res.allocation[(res.allocation["application"] == "defense")
                             & (res.allocation["period"] >= 2028)]
    assert (defense["control"] != "CN").all()
