"""Self-checks of the buffer stock and "time to survive" in the reference scenario
play-outs and robust plan (tests/reference/scenarios.py, SPEC section 10), on tiny
instances worked by hand.

The instances are those of test_reference_scenarios.py: one application `grid` (lfp),
100 GWh a period, A (CN, company a, 40 USD/kWh) and B (KR, company b, 50 USD/kWh),
spot_premium 0.2, shortage_penalty 1000, discount 0 unless said. A stock row of grid is
added: level[t] in [0, max_gwh] at the end of period t, the plan buys
R_t = 100 + level[t] - level[t-1] (level before the first period = initial_gwh), and
pays holding_cost x level[t] (USD million) in every case. Money in USD million.
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
    time_to_survive,
)
from tests.reference.test_reference_scenarios import A, approx, cap, inst, scen, shocked, sup

Y1, Y2, Y3 = 2026, 2027, 2028


def stock(max_gwh=50, holding_cost=1, **kw):
    return [{"application": "grid", "max_gwh": max_gwh, "holding_cost": holding_cost, **kw}]


def lv(*values, periods=(Y1, Y2, Y3)):
    """grid's levels in the first periods."""
    return {("grid", t): v for t, v in zip(periods, values, strict=False)}


def expectation(d, plan, levels):
    costs, probs = playout_costs(d, plan, levels), case_probabilities(d)
    return sum(probs[k] * c for k, c in costs.items())


# ----------------------------------------------------------------------------- deterministic
def test_holding_cost_keeps_the_deterministic_plan_out_of_stock():
    # Two years; A has 150 GWh and costs 40 in 2026, 45 in 2027; B 50. Stock up to 50.
    # A GWh bought in 2026 for 2027 costs 40 + holding h against 45 in 2027:
    #   h = 6: 46 > 45 -> no stock: A 100 + A 100 = 4000 + 4500 = 8500, levels 0, 0;
    #   h = 2: 42 < 45 -> 50 GWh ahead (max_gwh): A 150 in 2026 (6000), 50 held (100),
    #          A 50 in 2027 (2250): 8350, levels 50, 0 (stock left at the end of 2027
    #          would cost its purchase and holding for nothing).
    # In one period any stock is 40 + h per GWh for nothing: level 0 even with h = 0.
    # With discount 10%, 45 in 2027 weighs 40.909: h = 2 -> 42 > 40.909, no stock;
    #   h = 0.5 -> 40.5 < 40.909, 50 ahead. The fixed plan A 150 / A 70 with levels 50, 20
    #   pays the 2027 holding discounted: 6000 + 25 + (0.5 x 20 + 70 x 45) / 1.1
    #   = 6025 + 3160 / 1.1 = 8897.7273.
    def d(h, **kw):
        out = inst(periods=(Y1, Y2), stock=stock(50, h),
                   prices=[{"supplier": "A", "period": Y2, "price": 45}], **kw)
        return sup(out, "A", capacity=150)

    assert robust_plan(d(6)) == (pytest.approx(8500), approx(
        {("A", "grid", Y1): 100, ("A", "grid", Y2): 100}), approx(lv(0, 0)))
    assert robust_plan(d(2)) == (pytest.approx(8350), approx(
        {("A", "grid", Y1): 150, ("A", "grid", Y2): 50}), approx(lv(50, 0)))
    assert robust_plan(inst(stock=stock(50, 0))) == (
        pytest.approx(4000), approx({("A", "grid", Y1): 100}), approx(lv(0)))
    assert robust_plan(d(2, discount_rate=0.1))[2] == approx(lv(0, 0))
    assert robust_plan(d(0.5, discount_rate=0.1))[2] == approx(lv(50, 0))
    ahead = {("A", "grid", Y1): 150, ("A", "grid", Y2): 70}
    assert playout_costs(d(0.5, discount_rate=0.1), ahead, lv(50, 20)) == approx(
        {"base": 6025 + 3160 / 1.1})


def test_initial_stock_is_used_in_the_base_case(tmp_path):
    # initial_gwh 30, holding 1: the plan buys only 70 from A and ends at level 0: 2800.
    # Keeping the 30 to the end of 2026 means buying 100 and holding 30: 4030.
    # Buying 100 with level 0 is 30 more than needed: refused.
    # Two years: the initial stock serves 2026 once: 2800 + 4000 = 6800.
    # The same table from a CSV file gives the same plan.
    d = inst(stock=stock(50, 1, initial_gwh=30))
    assert robust_plan(d) == (pytest.approx(2800), approx({("A", "grid", Y1): 70}),
                              approx(lv(0)))
    assert playout_costs(d, {("A", "grid", Y1): 100}, lv(30)) == approx({"base": 4030})
    with pytest.raises(ValueError, match="more than the demand"):
        playout_costs(d, {("A", "grid", Y1): 100})
    two = inst(periods=(Y1, Y2), stock=stock(50, 1, initial_gwh=30))
    assert robust_plan(two)[:2] == (pytest.approx(6800), approx(
        {("A", "grid", Y1): 70, ("A", "grid", Y2): 100}))
    path = tmp_path / "stock.csv"
    path.write_text("application,max_gwh,holding_cost,initial_gwh\ngrid,50,1,30\n")
    assert robust_plan({**d, "stock": str(path)})[0] == pytest.approx(2800)


def test_initial_stock_lowers_the_plans_own_unmet_demand_and_its_refund():
    # grid may go unmet at 45, A has 60 GWh (B at 50 is dearer than leaving demand unmet),
    # initial stock 30: U = 100 + 0 - 30 - 60 = 10 -> 2400 + 450 = 2850 (without the
    # stock 2400 + 40 x 45 = 4200).
    # slump (demand x 0.8, Delta 20): refund <= min(20, U = 10) -> 450 back, the other
    #   10 GWh of the drop are surplus (worth 0): 2400. (With U = D - X = 40 it would be
    #   20 refunded: 1950.)
    # cut (A x 0.5): A delivers 30 (1200), L = 30; A has no spare, B's spot (60) is
    #   dearer than 45: unmet at 45 (1350) -> 1200 + 450 + 1350 = 3000.
    d = inst(applications=[{"id": "grid", "chemistries": ["lfp"], "unmet_penalty": 45}],
             stock=stock(50, 1, initial_gwh=30),
             scenarios=[scen("slump", 0.1, demand_factor={"factor": 0.8}),
                        scen("cut", 0.1, capacity_factor=cap("A", 0.5))])
    sup(d, "A", capacity=60)
    plan = {("A", "grid", Y1): 60}
    assert robust_plan({**d, "scenarios": []}) == (pytest.approx(2850), approx(plan),
                                                   approx(lv(0)))
    assert playout_costs({**d, "stock": []}, plan)["base"] == pytest.approx(4200)
    assert playout_costs(d, plan) == approx({"base": 2850, "slump": 2400, "cut": 3000})
    assert robust_objective(d, plan=plan) == pytest.approx(0.8 * 2850 + 0.1 * (2400 + 3000))


# ----------------------------------------------------------------------------- robust
def test_a_likely_supply_cut_makes_the_robust_plan_hold_stock():
    # Two years, spot_premium 0 (spot = price), A has 120 GWh a year, B 100; stock up to
    # 50, holding 2. cut (from 2027, probability p): A delivers nothing in 2027.
    # Plan: s GWh bought from A in 2026 into stock and used in 2027 (levels s, 0):
    #   base: 40 (100 + s) + 2 s + 40 (100 - s) = 8000 + 2 s;
    #   cut: A's 2027 contract is not delivered (nor paid), its 100 - s are bought on
    #   B's spot at 50: 40 (100 + s) + 2 s + 50 (100 - s) = 9000 - 8 s.
    #   (Keeping stock to the end of 2027 costs 42 a GWh in the base and saves nothing in
    #   the cut: the lost contract grows by what is drawn. Contracting B in 2027 costs 10
    #   more in the base and the same in the cut.)
    # E = 8000 + 1000 p + (2 - 10 p) s, s <= 20 (A's 2026 capacity; max_gwh 50 is slack):
    #   p = 0.1: s = 0: 8100;  p = 0.3: s = 20: 8300 - 20 = 8280, A 120 / A 80.
    # CVaR_0.9 at p = 0.1 (the tail is the cut atom): min 9000 - 8 s -> s = 20: 8840.
    # Without scenarios: no stock, 8000.
    def d(p):
        out = inst(periods=(Y1, Y2), spot_premium=0.0, stock=stock(50, 2),
                   scenarios=[scen("cut", p, **{"from": Y2}, capacity_factor=cap("A", 0))])
        return sup(out, "A", capacity=120)

    held = {("A", "grid", Y1): 120, ("A", "grid", Y2): 80}
    none = {("A", "grid", Y1): 100, ("A", "grid", Y2): 100}
    assert robust_plan({**d(0.3), "scenarios": []}) == (pytest.approx(8000), approx(none),
                                                        approx(lv(0, 0)))
    assert robust_plan(d(0.1)) == (pytest.approx(8100), approx(none), approx(lv(0, 0)))
    assert robust_plan(d(0.3)) == (pytest.approx(8280), approx(held), approx(lv(20, 0)))
    assert playout_costs(d(0.3), held, lv(20, 0)) == approx({"base": 8040, "cut": 8840})
    assert playout_costs(d(0.3), none) == approx({"base": 8000, "cut": 9000})
    assert robust_objective(d(0.3), plan=held, levels=lv(20, 0)) == pytest.approx(8280)
    assert robust_objective(d(0.3), plan=none) == pytest.approx(8300)
    assert robust_objective(d(0.3), levels=lv(0, 0)) == pytest.approx(8300)   # levels only
    obj, _, levels = robust_plan(d(0.1), weight=1.0, alpha=0.9)   # B in 2027 ties there
    assert (obj, levels) == (pytest.approx(8840), approx(lv(20, 0)))
    # time to survive reads the level of the first period with a need (2027: 0), so this
    # stock, consumed by the plan in 2027, counts for 0 months although it halves the cut
    # (need 80 instead of 100)
    assert time_to_survive(d(0.3), held, lv(20, 0)) == {
        ("base", "grid"): (None, False), ("cut", "grid"): (0.0, False)}


# ----------------------------------------------------------------------------- draws
def test_draws_are_limited_by_the_level_across_periods():
    # Two years, only A: 130 GWh in 2026, 100 in 2027, at 40 (spot 48); stock up to 50,
    # holding 1. boom (p 0.2): demand x 1.2 in both years (20 GWh more each).
    # held: A 130 / A 100, levels 30, 30: base 5200 + 4000 + 30 + 30 = 9260.
    #   boom: A has no spare; draws d1 <= 30, d1 + d2 <= 30: 30 of the 40 GWh, 10 short at
    #   1000: 19260 (drawing up to each period's level would cover all 40: 9260).
    # used: A 130 / A 70, levels 30, 0 (the plan eats its stock in 2027): base
    #   5200 + 2800 + 30 = 8030. boom: d1 + d2 <= 0: nothing can be drawn; 2026: 20 short
    #   (20000); 2027: A's 30 spare -> 20 at 48 (960): 28990.
    # none: A 100 / A 100: 8000; boom: 2026: A's 30 spare -> 20 at 48 (960); 2027: 20
    #   short (20000): 28960.
    d = inst(suppliers=[A], periods=(Y1, Y2), stock=stock(50, 1),
             capacity=[{"supplier": "A", "period": Y1, "gwh": 130},
                       {"supplier": "A", "period": Y2, "gwh": 100}],
             scenarios=[scen("boom", 0.2, demand_factor={"factor": 1.2})])
    held = {("A", "grid", Y1): 130, ("A", "grid", Y2): 100}
    used = {("A", "grid", Y1): 130, ("A", "grid", Y2): 70}
    none = {("A", "grid", Y1): 100, ("A", "grid", Y2): 100}
    assert playout_costs(d, held, lv(30, 30)) == approx({"base": 9260, "boom": 19260})
    assert playout_costs(d, used, lv(30, 0)) == approx({"base": 8030, "boom": 28990})
    assert playout_costs(d, none) == approx({"base": 8000, "boom": 28960})
    for plan, levels in ((held, lv(30, 30)), (used, lv(30, 0)), (none, None)):
        assert robust_objective(d, plan=plan, levels=levels) == pytest.approx(
            expectation(d, plan, levels))
    # time to survive, boom: needs 20, 20 from 2026, S = level[2026] = 30:
    #   12 months (S 10), then 12 x 10 / 20 = 6: 18 months, not to the end.
    #   The walk reads only level[t*]: "used" also shows 18 months although its play-out
    #   can draw nothing (the plan eats its stock in 2027).
    assert time_to_survive(d, held, lv(30, 30))["boom", "grid"] == (pytest.approx(18), False)
    assert time_to_survive(d, used, lv(30, 0))["boom", "grid"] == (pytest.approx(18), False)


def test_drawn_stock_within_a_demand_drop_recovers_surplus_value():
    # A corner of the cover row: one year, A 150 GWh at 40, plan A 110 with level 10
    # (holding 1): 4400 + 10 = 4410. dip: A's capacity x 0.9 and demand x 0.8: A delivers
    # 99 (3960, L = 11), E = -20. Row: spot + short + draw - surplus = -9, surplus <= 20:
    # drawing the 10 free GWh lifts the surplus from 9 to 19, worth 0.5 x 40 each:
    # 3960 + 10 - 19 x 20 = 3590 (3780 without the draw; A's spare spot at 48 is dearer
    # than the 20 a surplus GWh recovers).
    d = inst(stock=stock(50, 1), surplus_value=0.5, scenarios=[
        scen("dip", 0.1, capacity_factor=cap("A", 0.9), demand_factor={"factor": 0.8})])
    sup(d, "A", capacity=150)
    assert playout_costs(d, {("A", "grid", Y1): 110}, lv(10)) == approx(
        {"base": 4410, "dip": 3590})


# ----------------------------------------------------------------------------- survive
def test_time_to_survive_by_hand():
    # One year, A 110 GWh, plan A 70 + B 40 = 110 with level 10 (demand 100).
    #   base: no loss -> None.  drop (demand x 0.9): need max(0, -10) = 0 -> None.
    #   b-out (B x 0): need 40, S = 10: 12 x 10 / 40 = 3 months.
    #   b-out-dip (B x 0, demand x 0.75): need 40 - 25 = 15: 12 x 10 / 15 = 8 months.
    #   b-out-slump (B x 0, demand x 0.7): need 10 <= 10: 12 months, to the end.
    # Zero stock (A 60 + B 40, level 0): b-out -> 0 months.
    d = inst(stock=stock(50, 1), scenarios=[
        scen("drop", 0.1, demand_factor={"factor": 0.9}),
        scen("b-out", 0.1, capacity_factor=cap("B", 0)),
        scen("b-out-dip", 0.1, capacity_factor=cap("B", 0), demand_factor={"factor": 0.75}),
        scen("b-out-slump", 0.1, capacity_factor=cap("B", 0), demand_factor={"factor": 0.7})])
    sup(d, "A", capacity=110)
    got = time_to_survive(d, {("A", "grid", Y1): 70, ("B", "grid", Y1): 40}, lv(10))
    assert got == {("base", "grid"): (None, False), ("drop", "grid"): (None, False),
                   ("b-out", "grid"): (pytest.approx(3), False),
                   ("b-out-dip", "grid"): (pytest.approx(8), False),
                   ("b-out-slump", "grid"): (pytest.approx(12), True)}
    zero = time_to_survive(d, {("A", "grid", Y1): 60, ("B", "grid", Y1): 40})
    assert zero["b-out", "grid"] == (0.0, False)


def test_time_to_survive_over_three_years():
    # Three years, A 200 GWh at 40, stock up to 100. Plan A 150 / 100 / 70, levels
    # 50 / 50 / 20 (R = 100 + 50 - 0, 100 + 50 - 50, 100 + 20 - 50). ev (10 GWh a year,
    # no stock row) is not reported.
    #   late-boom (from 2027, demand x 1.2): needs 0, 20, 20; t* = 2027, S = 50:
    #     12 (S 30) + 12 (S 10): 24 months, to the end.
    #   cut (until 2026, A x 0.6): need 0.4 x 150 = 60 > S = 50: 12 x 50 / 60 = 10 months.
    #   long (demand x 1.25): needs 25 a year, S = 50: 12 + 12 (S 0), then 0 / 25:
    #     24 months, not to the end.
    d = inst(periods=(Y1, Y2, Y3), stock=stock(100, 1), scenarios=[
        scen("late-boom", 0.1, **{"from": Y2}, demand_factor={
            "applications": ["grid"], "factor": 1.2}),
        scen("cut", 0.1, until=Y1, capacity_factor=cap("A", 0.6)),
        scen("long", 0.1, demand_factor={"applications": ["grid"], "factor": 1.25})])
    sup(d, "A", capacity=200)
    d["applications"].append({"id": "ev", "chemistries": ["lfp"]})
    d["demand"] += [{"application": "ev", "period": t, "gwh": 10} for t in (Y1, Y2, Y3)]
    plan = {("A", "grid", Y1): 150, ("A", "grid", Y2): 100, ("A", "grid", Y3): 70}
    plan.update({("A", "ev", t): 10 for t in (Y1, Y2, Y3)})
    assert time_to_survive(d, plan, lv(50, 50, 20)) == {
        ("base", "grid"): (None, False),
        ("late-boom", "grid"): (pytest.approx(24), True),
        ("cut", "grid"): (pytest.approx(10), False),
        ("long", "grid"): (pytest.approx(24), False)}


# ----------------------------------------------------------------------------- input
def test_stock_input_errors():
    d = inst(stock=stock(50, 1))
    plan = {("A", "grid", Y1): 100}
    for bad in ([{**stock()[0], "typo": 1}], [{**stock()[0], "application": "ev"}],
                stock(50, 1, initial_gwh=60), stock() + stock(),
                [{"application": "grid", "max_gwh": 50}]):
        with pytest.raises(ValueError):
            playout_costs({**d, "stock": bad}, plan)
    with pytest.raises(ValueError, match="max_gwh"):
        playout_costs(d, {("A", "grid", Y1): 160}, lv(60))
    with pytest.raises(ValueError, match="no stock row"):
        playout_costs({**d, "stock": []}, {("A", "grid", Y1): 110}, lv(10))
    with pytest.raises(ValueError, match="not met"):
        playout_costs(d, plan, lv(10))


# ----------------------------------------------------------------------------- generated
def stocked(seed, scale=1.0):
    """shocked(seed) with a stock for both applications (grid with an initial stock),
    10 GWh more capacity in 2026 to buy into it, and a likely ban on CN and KR plants
    from 2027 (the robust plans of seeds 1-4 all hold stock)."""
    d = shocked(seed)
    rng = np.random.default_rng(100 + seed)
    d["stock"] = [
        {"application": "grid", "max_gwh": 15.0 * scale,
         "holding_cost": round(float(rng.uniform(0.5, 3)), 3), "initial_gwh": 5.0 * scale},
        {"application": "ev", "max_gwh": 10.0 * scale,
         "holding_cost": round(float(rng.uniform(0.5, 3)), 3)}]
    d["capacity"] = [{"supplier": s["id"], "period": 2026, "gwh": s["capacity"] + 10.0}
                     for s in d["suppliers"]]
    d["scenarios"].append({"name": "ban", "probability": 0.2, "from": 2027, "capacity_factor": {
        "by": "country", "group": ["CN", "KR"], "factor": 0.0}})
    return d


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_play_outs_agree_with_the_extensive_form_with_stock(seed):
    # as in test_reference_scenarios: the robust optimum equals its plan's play-outs
    # (purchases and levels fixed, one recourse LP per case with the draws), the
    # deterministic plan fixed in the extensive form costs its played-out expectation and
    # never less than the robust plan; a stock of max 0 changes nothing
    d = stocked(seed)
    probs = list(case_probabilities(d).values())
    _, det, det_lev = robust_plan({**d, "scenarios": []})
    det_costs = list(playout_costs(d, det, det_lev).values())
    det_e = float(np.dot(probs, det_costs))
    assert robust_objective(d, plan=det, levels=det_lev) == pytest.approx(det_e, rel=1e-7)
    assert robust_objective(d, 1.0, 0.8, plan=det, levels=det_lev) == pytest.approx(
        cvar(det_costs, probs, 0.8), rel=1e-7)
    for w in (0.0, 0.5):
        obj, plan, lev = robust_plan(d, weight=w, alpha=0.8)
        assert set(lev) == {(a, t) for a in ("grid", "ev") for t in (2026, 2027)}
        costs = list(playout_costs(d, plan, lev).values())
        assert obj == pytest.approx((1 - w) * np.dot(probs, costs)
                                    + w * cvar(costs, probs, 0.8), rel=1e-7)
        survive = time_to_survive(d, plan, lev)
        assert {k[1] for k in survive} == {"grid", "ev"}
        for months, to_end in survive.values():
            assert months is None or 0 <= months <= 24 + 1e-9
            assert not to_end or months in (pytest.approx(12), pytest.approx(24))
        assert sum(lev.values()) > 1e-6        # the stock is used
    assert robust_objective(d) <= det_e + 1e-6
    flat = stocked(seed, scale=0.0)
    no_stock = copy.deepcopy(flat)
    del no_stock["stock"]
    assert robust_objective(flat, 0.5, 0.8) == pytest.approx(
        robust_objective(no_stock, 0.5, 0.8), rel=1e-9)
