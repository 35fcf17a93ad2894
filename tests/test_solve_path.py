"""One solve path: every analysis solves what ``solve`` solves.

Rule costs, frontier points and the robust plan re-solve the model; each must
reach the optimum ``solve`` would reach on the changed instance, HHI and top-k
caps included. Hand-worked cases first, then a property over generated
instances with every rule kind.

World (tests/conftest.py): 100 GWh in 2026; cn1 (CATL) 40 USD/kWh, kr1 (LGES)
50, us1 (Peak) 70, 100 GWh each. Without rules: all from cn1, 4000.

HHI cap L by company, plan (a, b, c) GWh from (CATL, LGES, Peak), a + b + c = 100,
a^2 + b^2 + c^2 <= 10,000 L. On the KKT conditions the three shares are
100/3 + k (40/3, 10/3, -50/3) for some k >= 0 while Peak keeps a share:

    10,000/3 + k^2 (1600 + 100 + 2500) / 9 = 10,000 L
    cost(L) = 16,000/3 - k 1400/3                        (1/3 <= L <= 0.52)

and once Peak is out (L >= 0.52, where k = 2) a = 50 + 50 sqrt(2L - 1), b = 100 - a:

    cost(L) = 4500 - 500 sqrt(2L - 1)                    (0.52 <= L <= 1)

So cost(0.5) = 4451.4162, cost(0.6) = 4276.3932, cost(0.7) = 4183.7722,
cost(1) = 4000; the slope at 0.6 is -500 / sqrt(0.2) per unit of L, 11.18 per
0.01 (100 HHI points), at 0.5 it is -(1400/3) (9 x 10,000 / 4200) / (2k) =
26.458 per 0.01.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path

import pyomo.core as pyo
import pytest
import yaml
from hypothesis import Phase, given, settings

import optimizer
from optimizer.scenarios import base_case, scenario_data, solve_extensive
from tests.conftest import world
from tests.test_properties import SETTINGS, instances

#: HHI caps hold within 1e-6 of their limit (a fraction): the optimum may be up to
#: 1e-6 x 2,646 (the slope per unit of L at 0.5) = 0.003 below the exact one
HHI_ABS = 5e-3


def hhi_cost(limit: float) -> float:
    """The optimum of the world under an HHI cap by company (module docstring)."""
    if limit >= 0.52:
        return 4500 - 500 * math.sqrt(2 * limit - 1)
    k = math.sqrt((10_000 * limit - 10_000 / 3) * 9 / 4200)
    return 16_000 / 3 - k * 1400 / 3


HHI = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.5}


def rule_summary(res, name):
    return res.rule_summary.set_index("rule").loc[name, "total_cost"]


def test_the_closed_form_is_right_where_the_regimes_meet():
    assert hhi_cost(0.52) == pytest.approx(4400)
    assert hhi_cost(0.5199999) == pytest.approx(4400, abs=1e-3)
    assert hhi_cost(1.0) == pytest.approx(4000)


# ------------------------------------------------------------------ HHI
def test_hhi_frontier_follows_the_closed_form(write_instance):
    path = write_instance(world(rules=[HHI]))
    df = optimizer.frontier(path, "hhi", [1.0, 0.7, 0.6, 0.5])
    assert list(df["status"]) == ["optimal"] * 4
    for limit, objective in zip(df["limit"], df["objective"], strict=True):
        assert objective == pytest.approx(hhi_cost(limit), abs=HHI_ABS)
    # the marginal cost comes from the duals of the tangent cuts: the slope of the
    # outer approximation, within a percent of the curve's
    mc = dict(zip(df["limit"], df["marginal_cost"], strict=True))
    assert mc[0.6] == pytest.approx(500 / math.sqrt(0.2) / 100, rel=1e-2)
    assert mc[0.5] == pytest.approx(26.458, rel=1e-2)
    assert mc[1.0] == 0.0


def test_hhi_frontier_going_back_up_reuses_its_cuts(write_instance):
    # tight first, then looser: the cuts made for 0.5 stay in the model, with
    # their coefficient of X following sqrt(limit); the optimum must not remember them
    path = write_instance(world(rules=[HHI]))
    df = optimizer.frontier(path, "hhi", [0.5, 0.7, 1.0, 0.6])
    for limit, objective in zip(df["limit"], df["objective"], strict=True):
        assert objective == pytest.approx(hhi_cost(limit), abs=HHI_ABS)


def test_a_cap_beside_an_hhi_cap_is_swept_with_the_hhi_held(write_instance):
    # the reproduction: with HHI <= 0.5, a cap on Peak at 90% or 50% never
    # binds (Peak buys 1.8 GWh), so both points cost cost(0.5)
    cap = {"name": "cap", "kind": "max_share", "by": "company", "group": ["Peak"],
           "limit": 0.9}
    path = write_instance(world(rules=[HHI, cap]))
    df = optimizer.frontier(path, "cap", [0.9, 0.5])
    assert df["objective"].tolist() == pytest.approx([hhi_cost(0.5)] * 2, abs=HHI_ABS)
    assert optimizer.solve(path).objective == pytest.approx(hhi_cost(0.5), abs=HHI_ABS)


def test_rule_costs_with_an_hhi_cap_binding_beside_a_share_cap(solve_dict):
    # CATL <= 50% and HHI <= 0.5. With a = 50 the HHI leaves b^2 + c^2 <= 2,500 with
    # b + c = 50: b = 50, c = 0 is allowed, so the optimum is 50x40 + 50x50 = 4500.
    # Without the cap: cost(0.5) = 4451.42, so the cap costs 48.58. Without the HHI
    # cap: still 4500 (the cap alone gives 50/50): the HHI cap costs nothing.
    # (Dropping the cap while keeping only the cuts made so far would wrongly
    # give all to CATL: 4000, a cost of 500.)
    cap = {"name": "cap", "kind": "max_share", "by": "company", "group": ["CATL"],
           "limit": 0.5}
    res = solve_dict(world(rules=[HHI, cap]))
    assert res.objective == pytest.approx(4500, abs=HHI_ABS)
    assert rule_summary(res, "cap") == pytest.approx(4500 - hhi_cost(0.5), abs=HHI_ABS)
    assert rule_summary(res, "hhi") == pytest.approx(0.0, abs=HHI_ABS)
    # the scopes, too, and the plan without any rule (4000)
    scope = res.rules.set_index("rule").loc["cap"]
    assert scope["total_cost"] == pytest.approx(4500 - hhi_cost(0.5), abs=HHI_ABS)
    assert res.price_of_rules["cost_of_rules"] == pytest.approx(500, abs=HHI_ABS)
    # HiGHS holds the plan again afterwards
    assert res.session.resolve().objective == pytest.approx(4500, abs=HHI_ABS)


def test_hhi_rule_cost_alone(solve_dict):
    res = solve_dict(world(rules=[HHI]))
    assert res.objective == pytest.approx(hhi_cost(0.5), abs=HHI_ABS)
    assert rule_summary(res, "hhi") == pytest.approx(hhi_cost(0.5) - 4000, abs=HHI_ABS)


def test_a_share_cap_where_demand_may_go_unmet_is_swept_both_ways(write_instance):
    # grid demand may go unmet at 45 USD/kWh. With CN <= L x X (X = what is bought):
    # buying X costs 40 L + 50 (1 - L) = 50 - 10 L per GWh (CATL up to its share, the
    # rest from LGES), less than 45 only for L > 0.5. So 0.6: 100 x 44 = 4400;
    # 0.4: nothing bought, 4500 unmet. X = 100 - unmet enters the row through the
    # unmet column, whose coefficient follows the limit.
    inst = world(rules=[{"name": "cn-cap", "kind": "max_share", "by": "control",
                         "group": ["CN"], "limit": 0.6}])
    inst["applications"][0]["unmet_penalty"] = 45
    path = write_instance(inst)
    df = optimizer.frontier(path, "cn-cap", [0.6, 0.4, 0.6, 0.7])
    assert df["objective"].tolist() == pytest.approx([4400, 4500, 4400, 4300], rel=1e-9)
    assert df["unmet_gwh"].tolist() == pytest.approx([0, 100, 0, 0], abs=1e-9)
    # 0.6: a point tighter costs 10 per GWh on 100 GWh: 10 per point
    assert df["marginal_cost"].iloc[0] == pytest.approx(10.0)


# ------------------------------------------------------------------ top-k
TOP2 = {"name": "top2", "kind": "max_top_share", "by": "company", "k": 2, "limit": 0.9}


def test_top_share_frontier_by_hand(write_instance):
    # the two largest <= limit: the smallest holds >= 1 - limit, and so does the
    # middle one. 0.9: 80/10/10 = 4400; 0.8: 60/20/20 = 4800; 1.0: 4000.
    # Slope: each point moves 1 GWh to LGES and 1 to Peak from CATL: 10 + 30 = 40
    path = write_instance(world(rules=[TOP2]))
    df = optimizer.frontier(path, "top2", [1.0, 0.9, 0.8])
    assert df["objective"].tolist() == pytest.approx([4000, 4400, 4800], rel=1e-9)
    assert df["marginal_cost"].tolist() == pytest.approx([0, 40, 40], abs=1e-9)
    assert df.attrs["mode"] == "warm"


def test_top_share_rule_cost_by_hand(solve_dict):
    res = solve_dict(world(rules=[TOP2, HHI]))
    # with both: 80/10/10 has HHI 0.66 > 0.5; the HHI optimum (58.5/39.6/1.8) has
    # its top two at 98.2% > 90%. Together: a + b <= 90, so c >= 10, and the
    # HHI: a^2 + b^2 <= 5000 - c^2. Cheapest at c = 10: a + b = 90,
    # a^2 + (90-a)^2 <= 4900 -> a = 45 + sqrt(4900/2 - 2025) = 45 + sqrt(425)
    a = 45 + math.sqrt(425)
    both = 40 * a + 50 * (90 - a) + 70 * 10
    assert res.objective == pytest.approx(both, abs=HHI_ABS)
    # each rule's cost is the optimum without it, computed by an independent solve
    top_only = solve_dict(world(rules=[TOP2])).objective
    hhi_only = solve_dict(world(rules=[HHI])).objective
    assert rule_summary(res, "hhi") == pytest.approx(both - top_only, abs=HHI_ABS)
    assert rule_summary(res, "top2") == pytest.approx(both - hhi_only, abs=HHI_ABS)


# ------------------------------------------------------------------ property
def _write(doc: dict, tmp: str) -> Path:
    path = Path(tmp) / "instance.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _without(doc: dict, name: str) -> dict:
    return dict(doc, rules=[r for r in doc["rules"] if r["name"] != name])


def _other_value(rule: dict) -> float:
    """A different limit of the rule's kind, to sweep away from and back."""
    kind, limit = rule["kind"], float(rule["limit"])
    if kind in ("max_count", "min_count"):
        return limit + 1
    if kind.endswith("_share") or kind in ("max_top_share", "max_hhi"):
        return round(min(1.0, limit + 0.1), 6)
    return round(limit * 1.3 + 1, 6)


def tolerance(res) -> float:
    """How far two optima of one instance may differ: HiGHS's relative gap
    (3e-6), plus, with HHI caps, what their cut loops' tolerance allows: each
    stops within HHI_TOL (1e-6) above its limit, worth up to HHI_TOL x the
    slope of the cost in the limit (the marginal cost per 0.01, x 100), on
    either side."""
    rules = res.rules
    hhi = rules.loc[rules["kind"] == "max_hhi", "marginal_cost"].abs().sum()
    return 3e-6 * max(abs(res.objective), 1.0) + 2 * 1e-6 * 100 * float(hhi)


@settings(SETTINGS, phases=[Phase.explicit, Phase.reuse, Phase.generate])  # no shrinking:
@given(instances())                                                         # too many solves
def test_every_analysis_path_reproduces_solve(doc):
    with tempfile.TemporaryDirectory() as tmp:
        path = _write(doc, tmp)
        inst = optimizer.load_instance(path)
        res = optimizer.solve(inst, analysis=True)
        if res.status != "optimal":
            return
        # robust with no scenarios: the base case alone is the deterministic model
        data = optimizer.prepare(inst)
        sd = scenario_data(data)
        ext = solve_extensive(data, sd, [base_case(sd, 1.0)])
        assert ext.status == "optimal"
        tol = tolerance(res)
        assert abs(ext.objective - res.objective) <= tol, (ext.objective, res.objective)
        summary = res.rule_summary.set_index("rule")["total_cost"]
        for rule in (r for r in doc.get("rules", []) if r["kind"] != "exclude"):
            # a frontier point at the current limit, reached warm from another limit
            df = optimizer.frontier(inst, rule["name"], [_other_value(rule), rule["limit"]])
            assert df["status"].iloc[1] == "optimal"
            assert abs(df["objective"].iloc[1] - res.objective) <= tol, \
                (rule, df["objective"].iloc[1], res.objective)
            # the rule's total cost against an independent solve without the rule
            free = optimizer.solve(_write(_without(doc, rule["name"]), tmp), analysis=False)
            assert free.status == "optimal"
            expected = res.objective - free.objective
            assert abs(summary[rule["name"]] - expected) <= tol + tolerance(free), \
                (rule, summary[rule["name"]], expected)


# ------------------------------------------------------------------ blocks
@pytest.fixture(params=[True, False], ids=["kept", "released"])
def every_period_a_block(monkeypatch, request):
    """Solve each independent part (here: each period) of any model as its own
    block, its HiGHS instance kept or released once solved."""
    import optimizer.solver.blocks as blocks
    import optimizer.solver.highs as highs

    monkeypatch.setattr(blocks, "MIN_BLOCK_COLUMNS", 1)
    if not request.param:
        monkeypatch.setattr(highs, "KEEP_SOLVERS_UP_TO", 0)


@settings(SETTINGS, max_examples=15, phases=[Phase.explicit, Phase.reuse, Phase.generate])
@given(instances())
def test_blocks_reach_the_optimum_of_the_whole(doc):
    import optimizer.solver.blocks as blocks
    import optimizer.solver.highs as highs

    with tempfile.TemporaryDirectory() as tmp:
        inst = optimizer.load_instance(_write(doc, tmp))
        whole = optimizer.solve(inst, analysis=True)
        saved = blocks.MIN_BLOCK_COLUMNS, highs.KEEP_SOLVERS_UP_TO
        # every period a block, and each block's HiGHS released once solved (as
        # for a model of a million lanes): re-solves rebuild it from the arrays
        blocks.MIN_BLOCK_COLUMNS, highs.KEEP_SOLVERS_UP_TO = 1, 0
        try:
            parts = optimizer.solve(inst, analysis=True)
        finally:
            blocks.MIN_BLOCK_COLUMNS, highs.KEEP_SOLVERS_UP_TO = saved
    assert len(whole.session.hm.blocks) == 1 and whole.session.hm.keep_solvers
    assert not parts.session.hm.keep_solvers
    assert parts.status == whole.status
    if whole.status != "optimal":
        assert [r["message"] for r in parts.repairs] == [r["message"] for r in whole.repairs]
        return
    # nothing ties two periods together: at least one block per period with purchases
    assert len(parts.session.hm.blocks) >= parts.session.data.lanes["period"].nunique()
    tol = tolerance(whole)
    assert abs(parts.objective - whole.objective) <= tol
    a = whole.rule_summary.set_index("rule")["total_cost"]
    b = parts.rule_summary.set_index("rule")["total_cost"]
    # (duals, and so marginal costs, need not be unique in these degenerate LPs)
    assert ((a - b).abs() <= tol + tolerance(parts)).all(), (a, b)


def test_a_row_across_blocks_merges_them(write_instance, every_period_a_block):
    # two periods, two blocks; a row tying a purchase of 2026 to one of 2027 (as a
    # future multi-period rule would) makes them one block, solved cold, same answers
    inst = world(periods=[2026, 2027], demand=[
        {"application": "grid", "period": 2026, "gwh": 100},
        {"application": "grid", "period": 2027, "gwh": 100}])
    data = optimizer.prepare(optimizer.load_instance(write_instance(inst)))
    m = optimizer.build_model(data)
    from optimizer.solver.session import Session

    session = Session(m, data)
    assert len(session.hm.blocks) == 2
    assert session.solve().objective == pytest.approx(8000)
    # cn1 in 2026 + cn1 in 2027 <= 150: 50 GWh more from kr1 at 50 instead of 40
    m.tie = pyo.Constraint(expr=m.x["cn1", "grid", 2026] + m.x["cn1", "grid", 2027] <= 150)
    session.hm.add_constraints([m.tie])
    assert len(session.hm.blocks) == 1
    assert session.hm.run().objective == pytest.approx(8000 + 50 * 10)
    x = session.lane_values()
    assert x.sum() == pytest.approx(200)


def test_a_multi_period_repair_and_its_irreducible_conflict(write_instance,
                                                            every_period_a_block):
    # China <= 30% and CATL's LFP the only cells allowed in 2027: 2027 has no plan
    inst = world(periods=[2026, 2027], demand=[
        {"application": "grid", "period": 2026, "gwh": 100},
        {"application": "grid", "period": 2027, "gwh": 100}],
        rules=[{"name": "cn-cap", "kind": "max_share", "by": "control", "group": ["CN"],
                "limit": 0.3},
               {"name": "only-catl", "kind": "exclude", "by": "company",
                "group": ["LGES", "Peak"], "periods": [2027]}])
    res = optimizer.solve(write_instance(inst))
    assert res.status == "infeasible"
    assert len(res.session.hm.blocks) == 2
    assert res.conflicts == ["cn-cap"]
    assert any("cn-cap" in item and "2027" in item for item in res.iis)
    (fix,) = [r for r in res.repairs if r.get("rule") == "cn-cap"]
    assert fix["period"] == 2027 and fix["required"] == pytest.approx(1.0, abs=1e-6)
