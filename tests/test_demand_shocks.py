"""Demand shocks in scenarios (SPEC section 10, first part): ``demand_factor``
and ``surplus_value``, in stress play-outs and the robust plan. Costs worked
out by hand in the comments.

World: one application ``grid`` (lfp), one year (2030), 100 GWh; A (CN) 100
GWh at 60 USD/kWh, B (KR) 100 GWh at 70; spot premium 20%, shortage penalty
1000 USD/kWh. The deterministic plan buys 100 GWh from A: 6000.
"""

from __future__ import annotations

import copy

import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.scenarios import robust, stress

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
     "price": 60}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 100,
     "price": 70}


def world(scenarios, penalty=None, surplus_value=None, capacity_a=100):
    app = {"id": "grid", "chemistries": ["lfp"]}
    if penalty is not None:
        app["unmet_penalty"] = penalty
    d = {"format": 1, "name": "shocks", "periods": [2030],
         "chemistries": [{"id": "lfp", "family": "lithium"}],
         "countries": [{"id": "CN"}, {"id": "KR"}],
         "applications": [app],
         "demand": [{"application": "grid", "period": 2030, "gwh": 100}],
         "suppliers": [dict(A, capacity=capacity_a), copy.deepcopy(B)],
         "scenarios": scenarios}
    if surplus_value is not None:
        d["surplus_value"] = surplus_value
    return d


BOOM = {"name": "boom", "probability": 0.1, "demand_factor": {"factor": 1.2}}
SLUMP = {"name": "slump", "probability": 0.2, "demand_factor": {"factor": 0.8}}
CUT_SLUMP = {"name": "cut-slump", "probability": 0.1,
             "capacity_factor": {"by": "supplier", "group": ["A"], "factor": 0.9},
             "demand_factor": {"applications": ["grid"], "factor": 0.85}}


def test_stress_prices_a_boom_a_slump_and_both(write_instance):
    # boom: 20 GWh more, A has no spare capacity, B's spare at 70 x 1.2 = 84: +1680
    # slump (surplus_value 0.5): 20 GWh delivered beyond demand, worth 0.5 x 60 (the
    #   lowest ex-works price of the application's offers): 6000 - 600 = 5400
    # cut-slump: A delivers 90 (cost 5400), demand 85: the 15 GWh drop covers the 10
    #   lost and leaves 5 surplus (150): 5400 - 150 = 5250
    # expected: 0.6 x 6000 + 0.1 x 7680 + 0.2 x 5400 + 0.1 x 5250 = 5973
    res = stress(write_instance(world([BOOM, SLUMP, CUT_SLUMP], surplus_value=0.5)))
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["base", "cost"] == pytest.approx(6000)
    assert sc.loc["boom", "cost"] == pytest.approx(7680)
    assert sc.loc["boom", "spot_gwh"] == pytest.approx(20)
    assert sc.loc["boom", "demand_gwh"] == pytest.approx(120)
    assert sc.loc["slump", "cost"] == pytest.approx(5400)
    assert sc.loc["slump", "surplus_gwh"] == pytest.approx(20)
    assert sc.loc["slump", "surplus_value"] == pytest.approx(600)
    assert sc.loc["cut-slump", "cost"] == pytest.approx(5250)
    assert sc.loc["cut-slump", "surplus_gwh"] == pytest.approx(5)
    assert sc.loc["cut-slump", "shortfall_gwh"] == pytest.approx(0)
    assert res.summary["expected_cost"] == pytest.approx(5973)


def test_without_surplus_value_a_slump_saves_nothing(write_instance):
    # surplus_value 0 (the default): the 20 GWh are paid and worth nothing: 6000
    res = stress(write_instance(world([SLUMP])))
    assert res.scenarios.set_index("scenario").loc["slump", "cost"] == pytest.approx(6000)


def test_a_slump_makes_up_the_plans_own_unmet_demand(write_instance):
    # unmet penalty 65: A has 80 GWh (4800), B at 70 is dearer than leaving 20 unmet
    # (20 x 65 = 1300): 6100. A slump of 15%: 15 GWh of the 20 unmet need not be
    # bought at all: their penalty is refunded: 6100 - 975 = 5125. A boom of 20%: 20
    # more GWh, spot from B at 84 is dearer than the penalty: unmet, +1300 = 7400.
    res = stress(write_instance(world([BOOM, {**SLUMP, "demand_factor": {"factor": 0.85}}],
                                      penalty=65, capacity_a=80)))
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["base", "cost"] == pytest.approx(6100)
    assert sc.loc["slump", "cost"] == pytest.approx(5125)
    assert sc.loc["slump", "unmet_gwh"] == pytest.approx(5)
    assert sc.loc["boom", "cost"] == pytest.approx(7400)
    assert sc.loc["boom", "unmet_gwh"] == pytest.approx(40)


def test_robust_plan_with_a_likely_boom(write_instance):
    # A boom of 50% with probability 0.5, shortage 1000/kWh: the plan contracts 100
    # GWh (demand caps it). In the boom the 50 GWh extra come spot from the spare
    # capacity: all-A plan: B's spare at 84 (4200); all-B plan (7000): A's spare at 72
    # (3600). E[all A] = 6000 + 0.5 x 4200 = 8100; E[all B] = 7000 + 0.5 x 3600 = 8800;
    # a mix a of A: 6000 + 10 (100 - a) + 0.5 x 50 x 84 for a >= 50 (B's spare 100 - (100 -
    # a) = a >= 50 covers it): cheapest at a = 100: 8100. The robust plan is all A.
    boom = {"name": "boom", "probability": 0.5, "demand_factor": {"factor": 1.5}}
    res = robust(write_instance(world([boom])), evpi=False)
    assert res.summary["expected_cost"] == pytest.approx(8100)
    assert res.summary["objective"] == pytest.approx(8100)
    alloc = res.plans["robust"].allocation.set_index("supplier")["gwh"]
    assert alloc["A"] == pytest.approx(100)


def test_cli_and_bad_demand_factors(write_instance, tmp_path, capsys):
    out = tmp_path / "st"
    assert main(["stress", str(write_instance(world([BOOM, SLUMP], surplus_value=0.5))),
                 "--out", str(out)]) == 0
    sc = pd.read_csv(out / "scenarios.csv").set_index("scenario")
    assert sc.loc["boom", "cost"] == pytest.approx(7680)
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Demand × 1.2 for every application" in page
    bad = world([{"name": "x", "probability": 0.1,
                  "demand_factor": {"applications": ["gird"], "factor": 1.1}}])
    assert main(["stress", str(write_instance(bad, "bad.yaml"))]) == 2
    assert "no application 'gird'" in capsys.readouterr().err
    bad = world([{"name": "x", "probability": 0.1, "demand_factor": {"factor": -1}}])
    assert main(["validate", str(write_instance(bad, "bad2.yaml"))]) == 2


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_against_the_independent_reference(write_instance, seed):
    """Generated instances with demand rises and drops beside capacity cuts and
    price rises (tests/reference/test_reference_scenarios.shocked): the robust
    objective (expected cost, and half CVaR) and every scenario's play-out of
    the deterministic and robust plans against tests/reference/scenarios.py."""
    import numpy as np

    from tests.reference.scenarios import case_probabilities, playout_costs, robust_objective
    from tests.reference.test_reference_scenarios import shocked

    d = shocked(seed)
    path = write_instance(d)
    res = robust(path, alpha=0.8, evpi=False)
    assert res.summary["objective"] == pytest.approx(robust_objective(d), rel=1e-7)
    half = robust(path, weight=0.5, alpha=0.8, evpi=False)
    assert half.summary["objective"] == pytest.approx(robust_objective(d, 0.5, 0.8), rel=1e-7)
    probs = case_probabilities(d)
    for name in ("deterministic", "robust"):
        plan = {(r.supplier, r.application, int(r.period)): r.gwh
                for r in res.plans[name].allocation.itertuples(index=False)}
        ref = playout_costs(d, plan)
        got = res.tables[name].set_index("scenario")["cost"]
        for case, cost in ref.items():
            assert got[case] == pytest.approx(cost, rel=1e-7), (name, case)
        assert res.summary["plans"][name]["expected_cost"] == pytest.approx(
            float(np.dot(list(probs.values()), [ref[c] for c in probs])), rel=1e-7)
