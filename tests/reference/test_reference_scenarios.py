"""Self-checks of the reference scenario play-outs and robust plan (tests/reference/
scenarios.py) with demand shocks (SPEC section 10), on tiny instances worked by hand.

Base instance: one period 2026 (discount 0), one application `grid` (lfp), 100 GWh;
  A: lfp, CN, company a, capacity 100, 40 USD/kWh   (spot 40 x 1.2 = 48)
  B: lfp, KR, company b, capacity 100, 50 USD/kWh   (spot 50 x 1.2 = 60)
spot_premium 0.2, shortage_penalty 1000 (the defaults). Money in USD million.
"""
import copy

import numpy as np
import pytest

from tests.reference.scenarios import (
    case_probabilities,
    cvar,
    playout_costs,
    robust_objective,
    robust_plan,
)

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
     "price": 40}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 100,
     "price": 50}
COMPANY_CAP = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.6}


def inst(suppliers=(A, B), periods=(2026,), demand=100, scenarios=(), **kw):
    periods = list(periods)
    d = {"format": 1, "name": "shock", "periods": periods,
         "chemistries": [{"id": "lfp", "family": "lithium"}],
         "countries": [{"id": "CN"}, {"id": "KR"}, {"id": "US"}],
         "applications": [{"id": "grid", "chemistries": ["lfp"]}],
         "demand": [{"application": "grid", "period": t, "gwh": demand} for t in periods],
         "suppliers": copy.deepcopy(list(suppliers)),
         "scenarios": copy.deepcopy(list(scenarios))}
    d.update(copy.deepcopy(kw))
    return d


def sup(d, s, **kw):
    next(x for x in d["suppliers"] if x["id"] == s).update(kw)
    return d


def scen(name="s", probability=0.2, **kw):
    return {"name": name, "probability": probability, **kw}


def cap(s, f):
    return {"by": "supplier", "group": [s], "factor": f}


def approx(d):
    return pytest.approx(d, abs=1e-6)


def expectation(d, plan):
    costs, probs = playout_costs(d, plan), case_probabilities(d)
    return sum(probs[k] * c for k, c in costs.items())


ALL_A = {("A", "grid", 2026): 100}
A60_B40 = {("A", "grid", 2026): 60, ("B", "grid", 2026): 40}


# ----------------------------------------------------------------------------- rises
def test_demand_rise_covered_by_spot():
    # A has 110 GWh; plan: 100 from A (4000). boom (p 0.2): demand x 1.2, E = +20, no loss.
    # Spot from spare capacity, cheapest first: A's 10 spare at 48 (480), then 10 of B's
    # 100 at 60 (600): 4000 + 1080 = 5080. E = 0.8 x 4000 + 0.2 x 5080 = 4216.
    # CVaR_0.9: the 10% tail lies inside the 20% boom atom -> 5080.
    d = inst(scenarios=[scen("boom", demand_factor={"factor": 1.2})])
    sup(d, "A", capacity=110)
    assert playout_costs(d, ALL_A) == approx({"base": 4000, "boom": 5080})
    assert case_probabilities(d) == approx({"base": 0.8, "boom": 0.2})
    assert expectation(d, ALL_A) == pytest.approx(4216)
    assert robust_objective(d, plan=ALL_A) == pytest.approx(4216)
    assert cvar([4000, 5080], [0.8, 0.2], 0.9) == pytest.approx(5080)
    assert robust_objective(d, weight=1.0, alpha=0.9, plan=ALL_A) == pytest.approx(5080)
    # a list of entries multiplies where they cover grid: 1.5 x 0.8 = 1.2 -> 5080 again
    d["scenarios"][0]["demand_factor"] = [{"applications": ["grid"], "factor": 1.5},
                                          {"factor": 0.8}]
    assert playout_costs(d, ALL_A)["boom"] == pytest.approx(5080)
    # two years, discount 25% (2027 x 0.8), plan 100 from A each year:
    #   base 4000 + 0.8 x 4000 = 7200; boom from 2027: 4000 + 0.8 x 5080 = 8064;
    #   boom until 2026: 5080 + 0.8 x 4000 = 8280
    two = {("A", "grid", 2026): 100, ("A", "grid", 2027): 100}
    d2 = inst(periods=(2026, 2027), discount_rate=0.25,
              scenarios=[scen("late", **{"from": 2027}, demand_factor={"factor": 1.2}),
                         scen("early", until=2026, demand_factor={"factor": 1.2})])
    sup(d2, "A", capacity=110)
    assert playout_costs(d2, two) == approx({"base": 7200, "late": 8064, "early": 8280})


def test_demand_rise_left_unmet_without_spare_capacity():
    # Only A (100 GWh), plan 100 from A (4000). boom: demand x 1.1, E = +10, A has no spare:
    # 10 unmet at the shortage penalty 1000: 4000 + 10000 = 14000.
    d = inst(suppliers=[A], scenarios=[scen("boom", demand_factor={"factor": 1.1})])
    assert playout_costs(d, ALL_A) == approx({"base": 4000, "boom": 14000})
    # shortage_penalty 500: 4000 + 5000
    assert playout_costs({**d, "shortage_penalty": 500}, ALL_A)["boom"] == pytest.approx(9000)
    # an unmet_penalty of 300 on grid replaces it: 4000 + 3000 (the plan itself meets demand)
    soft = copy.deepcopy(d)
    soft["applications"][0]["unmet_penalty"] = 300
    assert playout_costs(soft, ALL_A)["boom"] == pytest.approx(7000)
    # a capacity factor 1.1 on A in the same case adds 10 GWh of spare: 10 spot at 48
    d["scenarios"][0]["capacity_factor"] = cap("A", 1.1)
    assert playout_costs(d, ALL_A)["boom"] == pytest.approx(4480)


# ----------------------------------------------------------------------------- drops
def test_demand_drop_offsets_lost_deliveries():
    # Company cap 60%: plan A 60, B 40 = 2400 + 2000 = 4400 (the deterministic optimum).
    # cut: A's capacity x 0.5: A delivers 30 (1200), B 40 (2000); L = 30: A's spare
    #   50 - 30 = 20 at 48 (960), then 10 from B's spare 60 at 60 (600) -> 4760.
    # cut-drop: the same and demand x 0.8 (E = -20): only 30 - 20 = 10 to buy, from A's
    #   spare at 48 (480) -> 1200 + 2000 + 480 = 3680.
    # cut-even: demand x 0.7 (E = -30) offsets the whole loss: 1200 + 2000 = 3200.
    d = inst(rules=[COMPANY_CAP], scenarios=[
        scen("cut", 0.1, capacity_factor=cap("A", 0.5)),
        scen("cut-drop", 0.1, capacity_factor=cap("A", 0.5), demand_factor={"factor": 0.8}),
        scen("cut-even", 0.1, capacity_factor=cap("A", 0.5), demand_factor={"factor": 0.7})])
    assert robust_plan({**d, "scenarios": []}) == (pytest.approx(4400), approx(A60_B40), {})
    assert playout_costs(d, A60_B40) == approx(
        {"base": 4400, "cut": 4760, "cut-drop": 3680, "cut-even": 3200})
    assert robust_objective(d, plan=A60_B40) == pytest.approx(
        0.7 * 4400 + 0.1 * (4760 + 3680 + 3200))


def test_demand_drop_beyond_the_loss_recovers_surplus_value():
    # KR pays a 25% duty: B lands at 62.5. Plan A 60, B 40: 2400 + 2500 = 4900.
    # glut: A's capacity x 0.9 and price x 1.5, demand x 0.7. A delivers 54 at 60 (3240),
    #   B 40 at 62.5 (2500): 5740. L = 6, E = -30: 24 GWh delivered beyond demand (surplus).
    #   surplus_value 0: 5740.
    #   surplus_value 0.5: p = the lowest scenario ex-works price of the row, without duty:
    #     min(1.5 x 40, 50) = 50 -> 0.5 x 50 x 24 = 600 back: 5140.
    #   surplus_value 1: 5740 - 1200 = 4540.
    # The surplus is bounded by the drop (Delta = 30), not only by the row: with a shortage
    #   penalty of 10 below p = 50 and surplus_value 1, the LP declares 6 GWh short (60) to
    #   recover 30 (1500) rather than 24: 5740 + 60 - 1500 = 4300 (unbounded it would run
    #   away).
    # C (US, 45 USD/kWh, unused by the plan) lowers p to 45: 0.5 x 45 x 24 = 540 -> 5200.
    d = inst(tariffs=[{"origin": "KR", "rate": 0.25}], scenarios=[
        scen("glut", 0.3, capacity_factor=cap("A", 0.9), price_factor=cap("A", 1.5),
             demand_factor={"factor": 0.7})])
    assert playout_costs(d, A60_B40) == approx({"base": 4900, "glut": 5740})
    assert playout_costs({**d, "surplus_value": 0.5}, A60_B40)["glut"] == pytest.approx(5140)
    assert playout_costs({**d, "surplus_value": 1}, A60_B40)["glut"] == pytest.approx(4540)
    low = {**d, "surplus_value": 1, "shortage_penalty": 10}
    assert playout_costs(low, A60_B40)["glut"] == pytest.approx(4300)
    assert robust_objective(low, plan=A60_B40) == pytest.approx(0.7 * 4900 + 0.3 * 4300)
    d["suppliers"].append({"id": "C", "company": "c", "country": "US", "chemistry": "lfp",
                           "capacity": 100, "price": 45})
    assert playout_costs({**d, "surplus_value": 0.5}, A60_B40)["glut"] == pytest.approx(5200)


def test_demand_drop_refunds_the_plans_own_unmet_demand():
    # grid may go unmet at 45. A has 60 GWh at 40, B costs 50 > 45: the optimum buys 60
    # from A and leaves 40 unmet: 2400 + 1800 = 4200.
    # slump (demand x 0.8, E = -20, Delta 20): 20 of the plan's 40 unmet are refunded at
    #   45: 4200 - 900 = 3300.
    # crash (demand x 0.3, Delta 70): all 40 refunded (1800), 30 GWh surplus:
    #   surplus_value 0 -> 2400; 0.5 at p = min(40, 50) = 40: 600 back -> 1800.
    # cut-slump (A's capacity x 0.5, demand x 0.8): A delivers 30 (1200, L = 30),
    #   30 - 20 = 10 short; A has no spare, B's spot (60) is dearer than 45: unmet at 45
    #   (450) -> 1200 + 1800 + 450 = 3450. (Net of refunds: demand 80, delivered 30, 50
    #   unmet at 45 = 2250, plus 1200.)
    d = inst(applications=[{"id": "grid", "chemistries": ["lfp"], "unmet_penalty": 45}],
             scenarios=[scen("slump", 0.1, demand_factor={"factor": 0.8}),
                        scen("crash", 0.1, demand_factor={"factor": 0.3}),
                        scen("cut-slump", 0.1, capacity_factor=cap("A", 0.5),
                             demand_factor={"factor": 0.8})])
    sup(d, "A", capacity=60)
    plan = {("A", "grid", 2026): 60}
    assert robust_plan({**d, "scenarios": []}) == (pytest.approx(4200), approx(plan), {})
    assert playout_costs(d, plan) == approx(
        {"base": 4200, "slump": 3300, "crash": 2400, "cut-slump": 3450})
    assert playout_costs({**d, "surplus_value": 0.5}, plan)["crash"] == pytest.approx(1800)
    assert robust_objective(d, plan=plan) == pytest.approx(
        0.7 * 4200 + 0.1 * (3300 + 2400 + 3450))


# ----------------------------------------------------------------------------- robust
def test_robust_plan_hedges_a_likely_demand_rise():
    # spot_premium 1: A spot 80, B spot 100. boom: demand doubles (E = +100).
    # Plan a from A, 100 - a from B: base 4000 + 10 (100 - a) = 5000 - 10 a;
    #   boom: spare A 100 - a at 80, spare B a at 100 cover the 100 exactly:
    #   5000 - 10 a + 80 (100 - a) + 100 a = 13000 + 10 a.
    # E = (1 - p)(5000 - 10 a) + p (13000 + 10 a): slope 20 p - 10.
    #   p = 0.4: a = 100 (the deterministic plan): 0.6 x 4000 + 0.4 x 14000 = 8000.
    #   p = 0.6: a = 0: 0.4 x 5000 + 0.6 x 13000 = 9800; the deterministic plan (a = 100)
    #   played out: 0.4 x 4000 + 0.6 x 14000 = 10000.
    # CVaR_0.9 at p = 0.4 (the tail is in the boom atom): min 13000 + 10 a = 13000 (a = 0);
    #   w = 0.5: 0.5 (8200 - 2 a) + 0.5 (13000 + 10 a) -> a = 0: 10600.
    # Without the demand factor nothing hedges: 4000.
    all_b = {("B", "grid", 2026): 100}

    def d(p, **sc):
        return inst(spot_premium=1.0, scenarios=[scen("boom", p, **sc)])

    likely, rare = d(0.6, demand_factor={"factor": 2}), d(0.4, demand_factor={"factor": 2})
    assert robust_plan(rare) == (pytest.approx(8000), approx(ALL_A), {})
    assert robust_plan(likely) == (pytest.approx(9800), approx(all_b), {})
    assert playout_costs(likely, ALL_A) == approx({"base": 4000, "boom": 14000})
    assert playout_costs(likely, all_b) == approx({"base": 5000, "boom": 13000})
    assert expectation(likely, ALL_A) == pytest.approx(10000)
    assert expectation(likely, all_b) == pytest.approx(9800)
    assert robust_plan(rare, weight=1.0, alpha=0.9) == (pytest.approx(13000), approx(all_b), {})
    assert robust_objective(rare, weight=0.5, alpha=0.9) == pytest.approx(10600)
    assert robust_plan(d(0.6)) == (pytest.approx(4000), approx(ALL_A), {})


# ----------------------------------------------------------------------------- cross-checks
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_without_demand_factor_equals_the_existing_extensive_form(seed):
    # tests/test_scenarios.py's scipy extensive form (its own reading of the instance and of
    # the scenarios): the same robust optimum, and the same cost of its plan in every case
    from tests.test_scenarios import _ref_cases, _reference, random_instance

    d = random_instance(seed)
    cases = _ref_cases(d)
    ref, plan = _reference(d, cases)
    assert robust_objective(d) == pytest.approx(ref, rel=1e-7)
    assert robust_objective(d, weight=0.5, alpha=0.8) == pytest.approx(
        _reference(d, cases, weight=0.5, alpha=0.8)[0], rel=1e-7)
    costs = playout_costs(d, plan)
    assert list(costs) == ["base"] + [s["name"] for s in d["scenarios"]]
    for (name, cost), (p, f, g) in zip(costs.items(), cases, strict=True):
        assert case_probabilities(d)[name] == pytest.approx(p)
        assert cost == pytest.approx(_reference(d, [(1.0, f, g)], fix=plan)[0], rel=1e-7)
    probs = [p for p, _, _ in cases]
    assert cvar(list(costs.values()), probs, 0.8) == pytest.approx(
        _reference(d, cases, weight=1.0, alpha=0.8, fix=plan)[0], rel=1e-7)


def shocked(seed):
    """Two years, two applications (grid soft for odd seeds, ev soft), four suppliers,
    a duty, a company cap, a surplus value and scenarios with demand rises and drops
    next to capacity cuts and price rises."""
    rng = np.random.default_rng(seed)
    rows = [("s0", "Co1", "CN", "lfp"), ("s1", "Co2", "CN", "lfp"), ("s2", "Co3", "KR", "lfp"),
            ("s3", "Co4", "US", "naion")]
    suppliers = [{"id": s, "company": c, "country": k, "chemistry": ch,
                  "capacity": float(rng.integers(50, 90)),
                  "price": round(float(rng.uniform(35, 75)), 3)} for s, c, k, ch in rows]
    grid = {"id": "grid", "chemistries": ["lfp", "naion"]}
    if seed % 2:
        grid["unmet_penalty"] = 90.0
    return {
        "format": 1, "name": f"shocked {seed}", "periods": [2026, 2027], "discount_rate": 0.1,
        "spot_premium": round(float(rng.uniform(0.1, 0.6)), 3), "shortage_penalty": 300.0,
        "surplus_value": round(float(rng.uniform(0, 1)), 3),
        "chemistries": [{"id": "lfp", "family": "lithium"}, {"id": "naion", "family": "sodium"}],
        "countries": [{"id": "CN"}, {"id": "KR"}, {"id": "US"}],
        "applications": [grid, {"id": "ev", "chemistries": ["lfp"], "unmet_penalty": 120.0}],
        "demand": [{"application": a, "period": t, "gwh": float(rng.integers(lo, hi))}
                   for a, lo, hi in (("grid", 40, 70), ("ev", 20, 50)) for t in (2026, 2027)],
        "suppliers": suppliers,
        "tariffs": [{"origin": "CN", "rate": 0.2}],
        "rules": [{"name": "cap", "kind": "max_share", "by": "company", "limit": 0.6}],
        "scenarios": [
            {"name": "boom", "probability": 0.15, "from": 2027,
             "demand_factor": {"applications": ["ev"], "factor": 1.4}},
            {"name": "slump", "probability": 0.2,
             "demand_factor": [{"factor": 0.9}, {"applications": ["grid"], "factor": 0.7}],
             "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.5}},
            {"name": "squeeze", "probability": 0.1,
             "capacity_factor": {"by": "company", "group": ["Co3"], "factor": 0.0},
             "price_factor": {"by": "country", "group": ["CN"], "factor": 1.3},
             "demand_factor": {"applications": ["grid"], "factor": 0.85}},
        ],
    }


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_play_outs_agree_with_the_extensive_form_under_demand_shocks(seed):
    # the robust optimum equals its plan's play-outs (computed separately: direct sums and
    # one recourse LP per case); the deterministic plan fixed in the extensive form costs
    # its played-out expectation, and never less than the robust plan (VSS >= 0)
    d = shocked(seed)
    probs = list(case_probabilities(d).values())
    _, det, _ = robust_plan({**d, "scenarios": []})
    det_costs = list(playout_costs(d, det).values())
    det_e = float(np.dot(probs, det_costs))
    assert robust_objective(d, plan=det) == pytest.approx(det_e, rel=1e-7)
    assert robust_objective(d, 1.0, 0.8, plan=det) == pytest.approx(
        cvar(det_costs, probs, 0.8), rel=1e-7)
    for w in (0.0, 0.5):
        obj, plan, _ = robust_plan(d, weight=w, alpha=0.8)
        costs = list(playout_costs(d, plan).values())
        assert obj == pytest.approx((1 - w) * np.dot(probs, costs)
                                    + w * cvar(costs, probs, 0.8), rel=1e-7)
    assert robust_objective(d) <= det_e + 1e-6


def test_unsupported_features_are_refused():
    d = inst(scenarios=[scen("boom", demand_factor={"factor": 1.2})])
    with pytest.raises(NotImplementedError):
        playout_costs(sup(copy.deepcopy(d), "A", fixed_cost=10), ALL_A)
    with pytest.raises(NotImplementedError):
        robust_objective({**d, "scenarios": [scen("x", demand_factor={"factor": {
            "uniform": [1, 2]}})]})
    with pytest.raises(NotImplementedError):
        robust_objective({**d, "scenarios": [scen("x", parent="boom")]})
    with pytest.raises(ValueError, match="eligible"):
        playout_costs(d, {("Z", "grid", 2026): 100})
