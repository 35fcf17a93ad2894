"""Scenarios (SPEC section 5): play-outs, stress tests, N-1, the robust plan, VSS/EVPI.

Expected values are worked out by hand in the comments, or come from an
independent extensive-form LP written here with scipy's ``linprog`` (dense
matrices, its own reading of the instance dict).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import openpyxl
import pandas as pd
import pytest
from scipy.optimize import linprog

from optimizer.cli import main
from optimizer.data import prepare
from optimizer.input import load_instance
from optimizer.parallel import ParallelError
from optimizer.scenarios import (
    ScenarioError,
    cvar,
    file_cases,
    plan_from_lanes,
    play_out,
    robust,
    sample_cases,
    scenario_data,
    solve_extensive,
    stress,
)
from optimizer.scenarios.errors import usage_error
from tests.conftest import supplier, world

COMPANY_CAP = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.6}
CN_FAILS = {"name": "cn-fails", "probability": 0.1,
            "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0.0}}


def two_suppliers(**changes: Any) -> dict[str, Any]:
    """cn1 (CATL, control CN, 40 USD/kWh) and kr1 (LGES, 50 USD/kWh), 100 GWh each;
    100 GWh of grid demand; no company above 60%. The plan: 60 from cn1 and 40
    from kr1, 60 x 40 + 40 x 50 = 4400."""
    inst = world(rules=[COMPANY_CAP], scenarios=[CN_FAILS])
    inst["suppliers"] = [s for s in inst["suppliers"] if s["id"] != "us1"]
    inst.update(changes)
    return inst


def three_offers(**changes: Any) -> dict[str, Any]:
    """The VSS/EVPI case: A 40 USD/kWh (100 GWh), B 45 (50 GWh), C 70 (100 GWh),
    100 GWh of demand, spot at twice the price, A fails with probability 0.2."""
    inst: dict[str, Any] = {
        "format": 1, "name": "three offers", "periods": [2026], "spot_premium": 1.0,
        "chemistries": [{"id": "lfp", "family": "lithium"}],
        "countries": [{"id": "CN"}, {"id": "KR"}, {"id": "US"}],
        "applications": [{"id": "grid", "chemistries": ["lfp"]}],
        "demand": [{"application": "grid", "period": 2026, "gwh": 100}],
        "suppliers": [
            {"id": "A", "company": "CoA", "country": "CN", "chemistry": "lfp", "capacity": 100,
             "price": 40},
            {"id": "B", "company": "CoB", "country": "KR", "chemistry": "lfp", "capacity": 50,
             "price": 45},
            {"id": "C", "company": "CoC", "country": "US", "chemistry": "lfp", "capacity": 100,
             "price": 70},
        ],
        "scenarios": [{"name": "a-fails", "probability": 0.2,
                       "capacity_factor": {"by": "supplier", "group": ["A"], "factor": 0}}],
    }
    inst.update(changes)
    return inst


def by_name(table: pd.DataFrame) -> dict[str, float]:
    return dict(zip(table["scenario"], table["cost"], strict=True))


# ----------------------------------------------------------------------------- play-outs
def test_supplier_fails_with_probability_p(write_instance):
    # A fails (p = 0.1): kr1 still delivers its 40 GWh (2000); the 60 GWh shortfall is
    # bought spot from kr1's spare 60 GWh at 50 x 1.2 = 60 (3600): 5600 (us1 is absent).
    # E = 0.9 x 4400 + 0.1 x 5600 = 4520.
    # CVaR_0.95: the worst 5% lies inside the 10% atom of 5600 -> 5600.
    # CVaR_0.8: the worst 20% = 10% at 5600 + 10% at 4400 -> 5000.
    path = write_instance(two_suppliers())
    res = stress(path, alpha=0.95)
    t = res.scenarios.set_index("scenario")
    assert list(t.index) == ["base", "cn-fails"]
    assert t.loc["base", "probability"] == pytest.approx(0.9)
    assert t.loc["base", "cost"] == pytest.approx(4400)
    assert t.loc["cn-fails", "cost"] == pytest.approx(5600)
    assert t.loc["cn-fails", "shortfall_gwh"] == pytest.approx(60)
    assert t.loc["cn-fails", "spot_gwh"] == pytest.approx(60)
    assert t.loc["cn-fails", "unmet_gwh"] == pytest.approx(0)
    assert t.loc["cn-fails", "contract_cost"] == pytest.approx(2000)
    assert t.loc["cn-fails", "spot_cost"] == pytest.approx(3600)
    assert res.summary["expected_cost"] == pytest.approx(4520)
    assert res.summary["cvar"] == pytest.approx(5600)
    assert stress(path, alpha=0.8).summary["cvar"] == pytest.approx(5000)
    sh = res.shortfalls
    assert sh[["scenario", "application", "period"]].values.tolist() == [
        ["cn-fails", "grid", 2026]]
    assert sh["spot_gwh"].iloc[0] == pytest.approx(60)


def test_spot_capacity_runs_out_unmet_at_penalty(write_instance):
    # kr1 has 70 GWh: 40 contracted, 30 spare. cn1 fails: 30 spot at 60 (1800), 30 unmet.
    # Hard demand: 30 x 1000 (shortage_penalty) -> 2000 + 1800 + 30000 = 33800.
    inst = two_suppliers()
    supplier(inst, "kr1")["capacity"] = 70
    t = by_name(stress(write_instance(inst)).scenarios)
    assert t["cn-fails"] == pytest.approx(33800)
    # shortage_penalty 500 -> 2000 + 1800 + 15000
    t = by_name(stress(write_instance({**inst, "shortage_penalty": 500})).scenarios)
    assert t["cn-fails"] == pytest.approx(18800)
    # an unmet_penalty of 300 on grid replaces the shortage penalty: 2000 + 1800 + 9000
    inst["applications"][0]["unmet_penalty"] = 300
    t = stress(write_instance(inst)).scenarios.set_index("scenario")
    assert t.loc["cn-fails", "cost"] == pytest.approx(12800)
    assert t.loc["cn-fails", "unmet_gwh"] == pytest.approx(30)
    # below the spot price (55 < 60), leaving the shortfall unmet is cheaper: 2000 + 60 x 55
    inst["applications"][0]["unmet_penalty"] = 55
    t = stress(write_instance(inst)).scenarios.set_index("scenario")
    assert t.loc["cn-fails", "cost"] == pytest.approx(5300)
    assert t.loc["cn-fails", "spot_gwh"] == pytest.approx(0)


def test_index_linked_prices_tariffs_freight_and_cheapest_spot(write_instance):
    # kr1 pays a 25% duty and 2 USD/kWh freight: landed 50 x 1.25 + 2 = 64.5.
    # Plan (60% cap): cn1 60, kr1 40 -> 2400 + 2580 = 4980.
    # Scenario: cn1 fails and kr1's price rises 10% (g = 1.1):
    #   kr1 contracts 40 x (55 x 1.25 + 2) = 2830;
    #   spot: kr1 at 55 x 1.2 x 1.25 + 2 = 84.5, us1 at 70 x 1.2 = 84 -> 60 GWh from us1 = 5040.
    #   total 7870.  A pure cartel on cn1 (g = 1.5): 60 x 60 + 2580 = 6180.
    inst = world(rules=[COMPANY_CAP], tariffs=[{"origin": "KR", "rate": 0.25}], scenarios=[
        {"name": "squeeze", "probability": 0.2,
         "capacity_factor": {"by": "company", "group": ["CATL"], "factor": 0},
         "price_factor": {"by": "supplier", "group": ["kr1"], "factor": 1.1}},
        {"name": "cartel", "probability": 0.3,
         "price_factor": {"by": "control", "group": ["CN"], "factor": 1.5}}])
    supplier(inst, "kr1")["freight"] = 2
    res = stress(write_instance(inst))
    t = res.scenarios.set_index("scenario")
    assert t.loc["base", "cost"] == pytest.approx(4980)
    assert t.loc["squeeze", "cost"] == pytest.approx(7870)
    assert t.loc["squeeze", "contract_cost"] == pytest.approx(2830)
    assert t.loc["squeeze", "spot_cost"] == pytest.approx(5040)
    assert t.loc["cartel", "cost"] == pytest.approx(6180)
    assert t.loc["cartel", "shortfall_gwh"] == 0
    # E = 0.5 x 4980 + 0.2 x 7870 + 0.3 x 6180
    assert res.summary["expected_cost"] == pytest.approx(0.5 * 4980 + 0.2 * 7870 + 0.3 * 6180)


def test_window_discounting_and_factors_multiply(write_instance):
    # Two years, discount 25% (2027 costs x 0.8); the scenario starts in 2027.
    # Per year the plan costs 4400; cn1's failure costs 5600 in a year.
    # base: 4400 + 0.8 x 4400 = 7920; cn-fails: 4400 + 0.8 x 5600 = 8880.
    # 'half' multiplies two matching factors: f = 0.5 x 0.5 = 0.25 for cn1 in 2027. It delivers
    # 15 of its 60 GWh (600), kr1 its 40 (2000); the 45 GWh shortfall is bought spot, first
    # from cn1's own spare 0.25 x 100 - 15 = 10 GWh at 48 (480), then 35 from kr1 at 60
    # (2100): 600 + 2000 + 480 + 2100 = 5180.
    half = {"name": "half", "probability": 0.2, "from": 2027, "capacity_factor": [
        {"by": "company", "group": ["CATL"], "factor": 0.5},
        {"by": "country", "group": ["HU"], "factor": 0.5}]}
    inst = two_suppliers(periods=[2026, 2027], discount_rate=0.25,
                         demand=[{"application": "grid", "period": t, "gwh": 100}
                                 for t in (2026, 2027)],
                         scenarios=[{**CN_FAILS, "from": 2027}, half])
    t = by_name(stress(write_instance(inst)).scenarios)
    assert t["base"] == pytest.approx(7920)
    assert t["cn-fails"] == pytest.approx(4400 + 0.8 * 5600)
    assert t["half"] == pytest.approx(4400 + 0.8 * 5180)


def test_excluded_lanes_sell_no_spot_other_rules_do_not_bind_spot(write_instance):
    # Defense excludes CN-controlled cells: when kr1 fails, defense cannot buy cn1 spot
    # even though cn1 has spare capacity; us1 (Na-ion, allowed) sells it instead.
    inst = world(
        applications=[{"id": "defense", "chemistries": ["lfp", "naion"]}],
        demand=[{"application": "defense", "period": 2026, "gwh": 50}],
        rules=[{"name": "feoc", "kind": "exclude", "by": "control", "group": ["CN"]}],
        scenarios=[{"name": "kr-fails", "probability": 0.1,
                    "capacity_factor": {"by": "supplier", "group": ["kr1"], "factor": 0}}])
    # plan: 50 from kr1 (2500); kr-fails: 50 spot from us1 at 84 = 4200
    t = stress(write_instance(inst)).scenarios.set_index("scenario")
    assert t.loc["base", "cost"] == pytest.approx(2500)
    assert t.loc["kr-fails", "cost"] == pytest.approx(4200)
    # a company cap governs contracts, not spot purchases: with 'company-cap' at 0.6 the
    # plan is 60 cn1 + 40 kr1; when cn1 fails kr1 sells 60 spot, 100% of the volume.
    t = stress(write_instance(two_suppliers())).scenarios.set_index("scenario")
    assert t.loc["cn-fails", "spot_gwh"] == pytest.approx(60)


def test_price_tiers_are_index_linked_and_spot_at_first_tier(write_instance):
    # cn1 sells its first 50 GWh at 40 and the rest at 44 (rising tiers); plan without
    # rules: 100 from cn1 = 50 x 40 + 50 x 44 = 4200 (kr1 costs 50).
    # cartel (g = 1.5 on CN): 1.5 x 4200 = 6300.
    # half (f = 0.5 on cn1): half of each tier arrives: 0.5 x 4200 = 2100; the 50 GWh
    # shortfall: spot from cn1's spare 0.5 x (100 - 100) = 0, from kr1 at 60: 3000 -> 5100.
    # kr-half (f = 0.5 on kr1, unused): no change.
    inst = world(price_tiers=[{"supplier": "cn1", "from_gwh": 0, "price": 40},
                              {"supplier": "cn1", "from_gwh": 50, "price": 44}],
                 scenarios=[
                     {"name": "cartel", "probability": 0.1,
                      "price_factor": {"by": "control", "group": ["CN"], "factor": 1.5}},
                     {"name": "half", "probability": 0.1,
                      "capacity_factor": {"by": "supplier", "group": ["cn1"], "factor": 0.5}}])
    del supplier(inst, "cn1")["price"]
    t = by_name(stress(write_instance(inst)).scenarios)
    assert t["base"] == pytest.approx(4200)
    assert t["cartel"] == pytest.approx(6300)
    assert t["half"] == pytest.approx(5100)
    # spot from a tiered supplier is at its first tier: kr1 fails in a plan 60 cn1/40 kr1
    # (company cap): cn1 tiers 50 x 40 + 10 x 44 = 2440, kr1 2000; kr1 fails ->
    # cn1 spare 40 at 40 x 1.2 = 48 -> 1920; us1 at 84 is dearer. Total 2440 + 1920.
    inst["rules"] = [COMPANY_CAP]
    inst["scenarios"] = [{"name": "kr-fails", "probability": 0.1, "capacity_factor":
                          {"by": "supplier", "group": ["kr1"], "factor": 0}}]
    t = by_name(stress(write_instance(inst)).scenarios)
    assert t["base"] == pytest.approx(4440)
    assert t["kr-fails"] == pytest.approx(2440 + 1920)


def test_fixed_costs_count_in_every_scenario(write_instance):
    # cn1 has a fixed cost of 100: the plan (60 cn1 / 40 kr1) pays it in every scenario,
    # even when cn1 delivers nothing: base 4500, cn-fails 5600 + 100.
    inst = two_suppliers()
    supplier(inst, "cn1")["fixed_cost"] = 100
    t = by_name(stress(write_instance(inst)).scenarios)
    assert t["base"] == pytest.approx(4500)
    assert t["cn-fails"] == pytest.approx(5700)


# ----------------------------------------------------------------------------- CVaR
def _ru_cvar(costs: np.ndarray, probs: np.ndarray, alpha: float) -> float:
    """Rockafellar-Uryasev: min eta + sum p z / (1 - alpha), z >= c - eta, z >= 0."""
    n = len(costs)
    c = np.concatenate([[1.0], probs / (1 - alpha)])
    a_ub = np.hstack([-np.ones((n, 1)), -np.eye(n)])
    res = linprog(c, A_ub=a_ub, b_ub=-costs, bounds=[(None, None)] + [(0, None)] * n,
                  method="highs")
    assert res.status == 0
    return float(res.fun)


def test_cvar_tail_convention_splits_an_atom():
    # 100 with p 0.9, 200 with p 0.1:
    #   alpha 0.95: the 5% tail is inside the 200 atom -> 200
    #   alpha 0.85: 10% at 200 + 5% of the 100 atom -> (20 + 5) / 0.15 = 166.67
    #   alpha 0: the mean, 110
    costs, probs = [100.0, 200.0], [0.9, 0.1]
    assert cvar(costs, probs, 0.95) == pytest.approx(200)
    assert cvar(costs, probs, 0.85) == pytest.approx(25 / 0.15)
    assert cvar(costs, probs, 0.0) == pytest.approx(110)
    for alpha in (0.95, 0.85, 0.5, 0.0):
        assert cvar(costs, probs, alpha) == pytest.approx(
            _ru_cvar(np.array(costs), np.array(probs), alpha))
    # zero-probability outcomes never enter the tail
    assert cvar([100.0, 1e6], [1.0, 0.0], 0.99) == pytest.approx(100)
    rng = np.random.default_rng(7)
    for _ in range(20):
        n = int(rng.integers(1, 8))
        costs_r = rng.choice([10.0, 20.0, 35.0, 50.0], size=n) + rng.integers(0, 3, size=n)
        probs_r = rng.dirichlet(np.ones(n))
        alpha = float(rng.choice([0.0, 0.5, 0.8, 0.9, 0.95, 0.99]))
        assert cvar(costs_r, probs_r, alpha) == pytest.approx(
            _ru_cvar(costs_r, probs_r, alpha), rel=1e-9, abs=1e-7)
    with pytest.raises(ScenarioError):
        cvar(costs, probs, 1.0)


# ----------------------------------------------------------------------------- robust
def test_vss_and_evpi_worked_by_hand(write_instance):
    # Deterministic plan: all 100 GWh from A (4000). A fails (p = 0.2): B sells its 50 spot at
    # 90 (4500), C 50 at 140 (7000) -> 11500.  E_det = 0.8 x 4000 + 0.2 x 11500 = 5500.
    # Robust plan: moving a GWh from A to B costs 5 in the base case and saves 90 - 45 = 45
    # when A fails: 5 x 0.8 < 45 x 0.2, so B takes its 50 GWh; moving to C costs 30 and
    # saves 140 - 70 = 70: 30 x 0.8 > 70 x 0.2, so C takes nothing.
    #   base 50 x 40 + 50 x 45 = 4250; A fails: 2250 + 50 spot from C at 140 = 9250.
    #   E_rob = 0.8 x 4250 + 0.2 x 9250 = 5250; VSS = 5500 - 5250 = 250.
    # Wait and see: base 4000; knowing A fails, contract B 50 and C 50: 2250 + 3500 = 5750.
    #   sum p WS = 0.8 x 4000 + 0.2 x 5750 = 4350; EVPI = 5250 - 4350 = 900.
    # CVaR_0.9 (the tail is inside the 20% atom): det 11500, robust 9250.
    path = write_instance(three_offers())
    res = robust(path, alpha=0.9)
    s = res.summary
    assert s["objective"] == pytest.approx(5250)
    assert s["expected_cost"] == pytest.approx(5250)
    assert s["vss"] == pytest.approx(250)
    assert s["wait_and_see_cost"] == pytest.approx(4350)
    assert s["evpi"] == pytest.approx(900)
    assert s["cvar"] == pytest.approx(9250)
    assert s["plans"]["deterministic"]["expected_cost"] == pytest.approx(5500)
    assert s["plans"]["deterministic"]["cvar"] == pytest.approx(11500)
    alloc = res.plans["robust"].allocation.set_index("supplier")["gwh"]
    assert alloc.to_dict() == pytest.approx({"A": 50, "B": 50})
    t = res.scenarios.set_index("scenario")
    assert t.loc["a-fails", "robust_cost"] == pytest.approx(9250)
    assert t.loc["a-fails", "wait_and_see_cost"] == pytest.approx(5750)
    # pure CVaR_0.9 (w = 1): only the A-fails cost matters; B 50 + C 50 -> 5750 everywhere.
    # VSS and EVPI stay those of the expected-cost plan.
    res1 = robust(path, weight=1.0, alpha=0.9)
    assert res1.summary["objective"] == pytest.approx(5750)
    assert res1.summary["cvar"] == pytest.approx(5750)
    assert res1.summary["expected_cost"] == pytest.approx(5750)
    assert res1.summary["vss"] == pytest.approx(250)
    assert res1.summary["evpi"] == pytest.approx(900)
    assert res1.plans["robust"].allocation.set_index("supplier")["gwh"].to_dict() == \
        pytest.approx({"B": 50, "C": 50})
    # w = 0.5: the objective is at most that of either plan above
    res5 = robust(path, weight=0.5, alpha=0.9)
    assert res5.summary["objective"] <= 0.5 * 5250 + 0.5 * 9250 + 1e-6
    assert res5.summary["objective"] <= 5750 + 1e-6
    assert res5.summary["objective"] == pytest.approx(
        0.5 * res5.summary["expected_cost"] + 0.5 * res5.summary["cvar"])
    # the rarer the failure, the less a hedge is worth: with p = 0.05 the robust plan is the
    # deterministic one (5 x 0.95 > 45 x 0.05), VSS = 0; EVPI = 0.05 x (11500 - 5750)
    rare = three_offers()
    rare["scenarios"][0]["probability"] = 0.05
    s = robust(write_instance(rare)).summary
    assert s["vss"] == pytest.approx(0, abs=1e-6)
    assert s["evpi"] == pytest.approx(0.05 * (11500 - 5750))


def test_robust_model_agrees_with_play_outs_on_generated_instances(tmp_path):
    # The extensive form (Pyomo -> HiGHS) and the play-outs (numpy + a spot LP each) are
    # two computations of the same costs: the robust objective must equal the robust
    # plan's (1 - w) E + w CVaR played out, and the deterministic plan fixed in the
    # extensive form must cost its played-out expectation. MIP features included.
    from benchmarks.generate import generate, write

    # seed 13 has falling price tiers (binaries), seed 15 fixed costs, minimum orders and
    # count rules
    for seed, features in ((11, frozenset()), (13, frozenset({"tiers"})),
                           (15, frozenset({"fixed_cost", "min_order", "count"}))):
        inst = generate(seed, 12, 2, 2, features=features)
        t1 = inst["periods"][1]
        inst["scenarios"] = [
            {"name": "cn-ban", "probability": 0.1, "from": t1,
             "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0.0}},
            {"name": "half", "probability": 0.2,
             "capacity_factor": {"by": "bloc", "group": ["korea", "japan"], "factor": 0.5},
             "price_factor": {"by": "family", "group": ["lithium"], "factor": 1.2}},
            {"name": "cartel", "probability": 0.15,
             "price_factor": {"by": "control", "group": ["CN"], "factor": 1.4}}]
        path = write(inst, tmp_path / f"g{seed}")
        res = robust(path, weight=0.3, alpha=0.8)
        s = res.summary
        rob = s["plans"]["robust"]
        assert s["objective"] == pytest.approx(0.7 * rob["expected_cost"] + 0.3 * rob["cvar"],
                                               rel=1e-7)
        assert s["vss"] >= -1e-6 * abs(s["expected_cost"])
        assert s["evpi"] >= -1e-6 * abs(s["expected_cost"])
        # the deterministic plan fixed in the extensive form
        loaded = load_instance(path)
        data = prepare(loaded)
        sd = scenario_data(data)
        cases = file_cases(loaded, sd)
        from optimizer.model.scenarios import build_robust_model
        from optimizer.solver.highs import HighsModel

        m = build_robust_model(data, sd, cases)
        for v, x in zip(m.lane_vars, res.plans["deterministic"].x, strict=True):
            v.fix(float(x))
        hm = HighsModel(m)
        assert hm.run().status == "optimal"
        assert hm.last.objective == pytest.approx(
            s["plans"]["deterministic"]["expected_cost"], rel=1e-7)


# ----------------------------------------------------------------------------- reference
def random_instance(seed: int) -> dict[str, Any]:
    """Two years, two applications (one of them hard sometimes), five suppliers with
    random prices and lane freights (so that optima are unique), a duty on CN, a
    company cap, and three scenarios with capacity and price factors."""
    rng = np.random.default_rng(seed)
    chems = ["lfp", "lfp", "lfp", "naion", "lfp"]
    countries = ["CN", "CN", "KR", "US", "KR"]
    companies = ["Co1", "Co2", "Co3", "Co4", "Co3"]
    suppliers = [{"id": f"s{i}", "company": companies[i], "country": countries[i],
                  "chemistry": chems[i], "capacity": float(rng.integers(40, 90)),
                  "price": round(float(rng.uniform(35, 75)), 3)} for i in range(5)]
    grid_pen = None if seed % 2 else 150.0
    grid = {"id": "grid", "chemistries": ["lfp", "naion"]}
    if grid_pen is not None:
        grid["unmet_penalty"] = grid_pen
    return {
        "format": 1, "name": f"random {seed}", "periods": [2026, 2027], "discount_rate": 0.1,
        "spot_premium": round(float(rng.uniform(0.1, 0.8)), 3),
        "shortage_penalty": 400.0,
        "chemistries": [{"id": "lfp", "family": "lithium"}, {"id": "naion", "family": "sodium"}],
        "countries": [{"id": "CN"}, {"id": "KR"}, {"id": "US"}],
        "applications": [grid, {"id": "ev", "chemistries": ["lfp"], "unmet_penalty": 200.0}],
        "demand": [{"application": a, "period": t, "gwh": float(rng.integers(lo, hi))}
                   for a, lo, hi in (("grid", 40, 70), ("ev", 20, 50)) for t in (2026, 2027)],
        "suppliers": suppliers,
        "lanes": [{"supplier": s["id"], "application": a,
                   "freight": round(float(rng.uniform(0, 4)), 3)}
                  for s in suppliers for a in ("grid", "ev")
                  if a == "grid" or s["chemistry"] == "lfp"],
        "tariffs": [{"origin": "CN", "rate": 0.25}],
        "rules": [{"name": "cap", "kind": "max_share", "by": "company", "limit": 0.5}],
        "scenarios": [
            {"name": "cn-ban", "probability": 0.1, "from": 2027,
             "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.0}},
            {"name": "cartel", "probability": 0.15,
             "price_factor": {"by": "country", "group": ["CN"],
                              "factor": round(float(rng.uniform(1.2, 1.6)), 3)}},
            {"name": "co3-half", "probability": 0.2,
             "capacity_factor": {"by": "company", "group": ["Co3"], "factor": 0.5},
             "price_factor": {"by": "company", "group": ["Co4"], "factor": 1.3}},
        ],
    }


def _reference(inst: dict[str, Any], cases: list[tuple[float, dict, dict]], weight: float = 0.0,
               alpha: float = 0.95, fix: dict | None = None) -> tuple[float, dict]:
    """The extensive form of the two-stage program, written out densely for scipy.

    ``cases``: (probability, capacity factor by (supplier, period), price factor by
    (supplier, period)). ``fix`` fixes contracts {(s, a, t): gwh}. Returns the optimum
    and the contracts."""
    periods = inst["periods"]
    d = {t: 1 / (1 + inst.get("discount_rate", 0)) ** (t - periods[0]) for t in periods}
    prem, short_pen = inst.get("spot_premium", 0.2), inst.get("shortage_penalty", 1000)
    sup = {s["id"]: s for s in inst["suppliers"]}
    apps = {a["id"]: a for a in inst["applications"]}
    duty = {s: sum(r["rate"] for r in inst.get("tariffs", []) if r["origin"] == sup[s]["country"])
            for s in sup}
    freight = {(r["supplier"], r["application"]): r["freight"] for r in inst.get("lanes", [])}
    demand = {(r["application"], r["period"]): r["gwh"] for r in inst["demand"]}
    lanes = [(s, a, t) for s in sup for a in apps for t in periods
             if sup[s]["chemistry"] in apps[a]["chemistries"]]
    rows = [(a, t) for a in apps for t in periods]
    plan_unmet = [r for r in rows if apps[r[0]].get("unmet_penalty") is not None]
    n_x, n_pu, n_l, n_r, n_k = len(lanes), len(plan_unmet), len(lanes), len(rows), len(cases)
    # columns: x, plan unmet, then per case (spot per lane, shortage per row), eta, z per case
    per_case = n_l + n_r
    n = n_x + n_pu + n_k * per_case + 1 + n_k
    eta = n - 1 - n_k

    def col_y(k, i):
        return n_x + n_pu + k * per_case + i

    def col_u(k, r):
        return n_x + n_pu + k * per_case + n_l + r

    def landed(s, a, g=1.0, spot=False):
        price = sup[s]["price"] * g * ((1 + prem) if spot else 1)
        return price * (1 + duty[s]) + freight.get((s, a), 0.0)

    def pen(a):
        p = apps[a].get("unmet_penalty")
        return short_pen if p is None else p

    case_cost = []
    for _p, f, g in cases:
        c = np.zeros(n)
        for i, (s, a, t) in enumerate(lanes):
            fd = min(f.get((s, t), 1.0), 1.0)
            c[i] = d[t] * fd * landed(s, a, g.get((s, t), 1.0))
        for j, (a, t) in enumerate(plan_unmet):
            c[n_x + j] = d[t] * apps[a]["unmet_penalty"]
        k = len(case_cost)
        for i, (s, a, t) in enumerate(lanes):
            c[col_y(k, i)] = d[t] * landed(s, a, g.get((s, t), 1.0), spot=True)
        for r, (a, t) in enumerate(rows):
            c[col_u(k, r)] = d[t] * pen(a)
        case_cost.append(c)
    obj = np.zeros(n)
    for (p, _f, _g), c in zip(cases, case_cost, strict=True):
        obj += (1 - weight) * p * c
    obj[eta] += weight
    a_eq, b_eq, a_ub, b_ub = [], [], [], []
    for a, t in rows:  # demand
        row = np.zeros(n)
        for i, (_s, a2, t2) in enumerate(lanes):
            if (a2, t2) == (a, t):
                row[i] = 1
        if (a, t) in plan_unmet:
            row[n_x + plan_unmet.index((a, t))] = 1
        a_eq.append(row)
        b_eq.append(demand.get((a, t), 0.0))
    for s in sup:
        for t in periods:
            row = np.zeros(n)
            for i, (s2, _a, t2) in enumerate(lanes):
                if (s2, t2) == (s, t):
                    row[i] = 1
            a_ub.append(row)
            b_ub.append(sup[s]["capacity"])
    for rule in inst.get("rules", []):
        values = {sup[s][rule["by"]] for s in sup}
        for v in values:
            for t in periods:
                row = np.zeros(n)
                for i, (s, _a, t2) in enumerate(lanes):
                    if t2 == t:
                        row[i] = (1.0 if sup[s][rule["by"]] == v else 0.0) - rule["limit"]
                a_ub.append(row)
                b_ub.append(0.0)
    for k, (p, f, _g) in enumerate(cases):
        for r, (a, t) in enumerate(rows):  # shortfall: spot + shortage = (1 - fd) x
            row = np.zeros(n)
            for i, (s, a2, t2) in enumerate(lanes):
                if (a2, t2) == (a, t):
                    row[col_y(k, i)] = 1
                    row[i] = -(1 - min(f.get((s, t), 1.0), 1.0))
            row[col_u(k, r)] = 1
            a_eq.append(row)
            b_eq.append(0.0)
        for s in sup:  # spare capacity
            for t in periods:
                fk = f.get((s, t), 1.0)
                row = np.zeros(n)
                for i, (s2, _a, t2) in enumerate(lanes):
                    if (s2, t2) == (s, t):
                        row[col_y(k, i)] = 1
                        row[i] = min(fk, 1.0)
                a_ub.append(row)
                b_ub.append(fk * sup[s]["capacity"])
        if weight > 0 and p > 0:  # z_k >= cost_k - eta
            row = case_cost[k].copy()
            row[eta] = -1
            row[n - n_k + k] = -1
            a_ub.append(row)
            b_ub.append(0.0)
            obj[n - n_k + k] = weight * p / (1 - alpha)
    bounds = [(0, None)] * n
    bounds[eta] = (None, None) if weight > 0 else (0, 0)
    for i, lane in enumerate(lanes):
        if fix is not None:
            bounds[i] = (fix.get(lane, 0.0), fix.get(lane, 0.0))
    res = linprog(obj, A_ub=np.array(a_ub), b_ub=np.array(b_ub), A_eq=np.array(a_eq),
                  b_eq=np.array(b_eq), bounds=bounds, method="highs")
    assert res.status == 0, res.message
    return float(res.fun), {lane: float(res.x[i]) for i, lane in enumerate(lanes)}


def _ref_cases(inst: dict[str, Any]) -> list[tuple[float, dict, dict]]:
    """The instance's scenarios, read independently (groups by supplier field)."""
    sup = {s["id"]: s for s in inst["suppliers"]}
    out = [(1 - sum(s["probability"] for s in inst["scenarios"]), {}, {})]
    for sc in inst["scenarios"]:
        facs: dict[str, dict] = {"capacity_factor": {}, "price_factor": {}}
        for key, into in facs.items():
            items = sc.get(key) or []
            for f in items if isinstance(items, list) else [items]:
                for s, row in sup.items():
                    if row.get(f["by"], row["country"] if f["by"] == "control" else None) \
                            not in f["group"]:
                        continue
                    for t in inst["periods"]:
                        if sc.get("from", t) <= t <= sc.get("until", t):
                            into[(s, t)] = into.get((s, t), 1.0) * f["factor"]
        out.append((sc["probability"], facs["capacity_factor"], facs["price_factor"]))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_against_independent_extensive_form(seed, write_instance):
    inst = random_instance(seed)
    path = write_instance(inst)
    cases = _ref_cases(inst)
    res = robust(path, alpha=0.8)
    s = res.summary
    ref_obj, _ = _reference(inst, cases)
    assert s["objective"] == pytest.approx(ref_obj, rel=1e-7)
    # each plan's expected cost and CVaR, recomputed with its contracts fixed
    for name in ("deterministic", "robust"):
        plan = res.plans[name].allocation
        fix = {(r.supplier, r.application, int(r.period)): r.gwh
               for r in plan.itertuples(index=False)}
        e, _ = _reference(inst, cases, fix=fix)
        cv, _ = _reference(inst, cases, weight=1.0, alpha=0.8, fix=fix)
        assert s["plans"][name]["expected_cost"] == pytest.approx(e, rel=1e-7)
        assert s["plans"][name]["cvar"] == pytest.approx(cv, rel=1e-7)
    # wait and see: each case alone, with probability 1
    ws = sum(p * _reference(inst, [(1.0, f, g)])[0] for p, f, g in cases if p > 0)
    assert s["wait_and_see_cost"] == pytest.approx(ws, rel=1e-7)
    assert s["evpi"] == pytest.approx(ref_obj - ws, rel=1e-6, abs=1e-6)
    det_e = s["plans"]["deterministic"]["expected_cost"]
    assert s["vss"] == pytest.approx(det_e - ref_obj, rel=1e-6, abs=1e-6)
    assert s["vss"] >= -1e-6 and s["evpi"] >= -1e-6
    # a risk-weighted objective
    res5 = robust(path, weight=0.5, alpha=0.8, evpi=False)
    assert res5.summary["objective"] == pytest.approx(
        _reference(inst, cases, weight=0.5, alpha=0.8)[0], rel=1e-7)


# ----------------------------------------------------------------------------- N-1, sampling
def test_n_minus_1_ranks_single_failures(write_instance, tmp_path, capsys):
    # plan (company cap 0.6): 60 cn1 (CATL), 40 kr1 (LGES), us1 (Peak) unused.
    # CATL lost: 60 spot from kr1 at 60 instead of 60 x 40 -> +1200.
    # LGES lost: 40 spot from cn1's spare 40 at 48 instead of 40 x 50 -> -80 (rules do not
    #   bind spot, and cn1's spot price is below kr1's contract price).
    # Peak lost: nothing changes.
    inst = world(rules=[COMPANY_CAP], scenarios=[])
    path = write_instance(inst)
    out = tmp_path / "out"
    assert main(["stress", str(path), "--n-1", "company", "--out", str(out)]) == 0
    ranking = pd.read_csv(out / "n_minus_1.csv")
    assert list(ranking["group"]) == ["CATL", "Peak", "LGES"]
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking["extra_cost"].tolist() == pytest.approx([1200, 0, -80])
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_minus_1"]["worst"] == "CATL"
    # N-1 what-ifs are outside the expectation: only the base case has probability
    assert summary["expected_cost"] == pytest.approx(4400)
    scen = pd.read_csv(out / "scenarios.csv")
    for col in ("scenario", "probability", "cost", "spot_gwh", "unmet_gwh"):
        assert col in scen.columns
    assert scen.loc[scen["kind"] == "n-1", "probability"].eq(0).all()
    printed = capsys.readouterr().out
    assert "CATL" in printed and "+1,200.0" in printed
    # by controlling country: CN (cn1) is the worst, as CATL above
    res = stress(path, n_minus_1="control")
    assert res.n_minus_1["group"].tolist()[0] == "CN"
    assert res.n_minus_1["extra_cost"].iloc[0] == pytest.approx(1200)


def _random_world(write_instance) -> Path:
    inst = two_suppliers(scenarios=[
        {"name": "ban", "probability": 0.3,
         "capacity_factor": {"by": "control", "group": ["CN"], "factor": {"uniform": [0, 0.5]}}},
        {"name": "cartel", "probability": 0.2,
         "price_factor": {"by": "control", "group": ["CN"], "factor": "triangular(1.1, 1.2, 1.6)"}},
        {"name": "fixed", "probability": 0.1,
         "price_factor": {"by": "company", "group": ["LGES"], "factor": 1.1}}])
    return write_instance(inst)


def test_sampling_is_reproducible_and_merges_fixed_outcomes(write_instance):
    path = _random_world(write_instance)
    a = stress(path, sample=60, seed=5).scenarios
    b = stress(path, sample=60, seed=5).scenarios
    pd.testing.assert_frame_equal(a, b)
    c = stress(path, sample=60, seed=6).scenarios
    assert not a["cost"].equals(c["cost"]) or len(a) != len(c)
    assert a["probability"].sum() == pytest.approx(1)
    # the base case and the scenario without distributions are merged rows
    assert (a["scenario"] == "base").sum() == 1
    assert (a["scenario"] == "fixed").sum() <= 1
    drawn = a[a["kind"] == "sample"]
    assert np.allclose(drawn["probability"], 1 / 60)
    assert drawn["scenario"].str.match(r"^(ban|cartel)#\d+$").all()
    # each draw's cost by hand. ban, capacity factor f of cn1 in [0, 0.5]: cn1 delivers 60 f
    # (2400 f), kr1 40 (2000); the 60 (1 - f) shortfall is bought first from cn1's spare
    # 100 f - 60 f = 40 f at 48, then from kr1 at 60:
    #   2000 + 2400 f + 48 x 40 f + 60 x (60 (1 - f) - 40 f) = 5600 - 1680 f.
    # cartel, price factor g on cn1: 2000 + 60 x 40 g.
    inst = load_instance(path)
    sd = scenario_data(prepare(inst))
    draws = {c.name: c.draws for c in sample_cases(inst, sd, 60, 5) if c.kind == "sample"}
    assert set(draws) == set(drawn["scenario"])
    for name, cost in zip(drawn["scenario"], drawn["cost"], strict=True):
        (v,) = draws[name]
        if name.startswith("ban#"):
            assert 0 <= v <= 0.5
            assert cost == pytest.approx(5600 - 1680 * v)
        else:
            assert 1.1 <= v <= 1.6
            assert cost == pytest.approx(2000 + 2400 * v)
    # the draws follow their distribution
    cases = sample_cases(inst, sd, 400, 1)
    values = np.array([c.draws[0] for c in cases if c.name.startswith("ban#")])
    assert len(values) > 80 and values.min() >= 0 and values.max() <= 0.5
    assert values.mean() == pytest.approx(0.25, abs=0.05)
    # without distributions, sampling estimates the exact expectation
    exact = stress(write_instance(two_suppliers()))
    est = stress(write_instance(two_suppliers()), sample=2000, seed=3)
    assert est.summary["expected_cost"] == pytest.approx(exact.summary["expected_cost"],
                                                         rel=0.01)
    assert len(est.scenarios) == 2


def test_distributions_need_sample(write_instance, capsys):
    path = _random_world(write_instance)
    assert main(["stress", str(path)]) == 2
    assert "--sample" in capsys.readouterr().err
    assert main(["stress", str(path), "--seed", "3"]) == 2
    assert main(["robust", str(path), "--sample", "20", "--seed", "3", "--no-evpi"]) == 0


def test_workers_equal_serial(write_instance):
    path = _random_world(write_instance)
    serial = stress(path, sample=40, seed=9, n_minus_1="company")
    parallel = stress(path, sample=40, seed=9, n_minus_1="company", workers=2)
    pd.testing.assert_frame_equal(serial.scenarios, parallel.scenarios)
    pd.testing.assert_frame_equal(serial.n_minus_1, parallel.n_minus_1)
    assert serial.summary["expected_cost"] == parallel.summary["expected_cost"]


def test_workers_and_scheduler_errors_name_the_options(write_instance):
    # the runner's errors, in the words of the stress and robust commands
    both = usage_error(ParallelError("both", "give either workers ... not both"))
    assert isinstance(both, ScenarioError)
    assert str(both) == "give either --workers (local processes) or --scheduler (Dask), not both"
    assert str(usage_error(ParallelError("workers", "workers must be at least 1, got 0"))) \
        == "workers must be at least 1, got 0"
    # checked before anything is solved
    path = write_instance(two_suppliers())
    with pytest.raises(ScenarioError, match="--workers"):
        stress(path, workers=2, scheduler="tcp://127.0.0.1:1")
    with pytest.raises(ScenarioError, match="at least 1, got 0"):
        robust(path, workers=0)


def test_dask_scheduler_equals_serial(write_instance):
    distributed = pytest.importorskip("dask.distributed")
    path = _random_world(write_instance)
    serial = robust(path, sample=30, seed=2)
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2,
                            dashboard_address=None) as client:
        on_dask = robust(path, sample=30, seed=2, scheduler=client)
    pd.testing.assert_frame_equal(serial.scenarios, on_dask.scenarios)
    assert serial.summary["evpi"] == pytest.approx(on_dask.summary["evpi"])


# ----------------------------------------------------------------------------- CLI and input
def test_robust_cli_outputs(write_instance, tmp_path, capsys):
    out = tmp_path / "out"
    path = write_instance(three_offers())
    assert main(["robust", str(path), "--alpha", "0.9", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    for key, value in (("objective", 5250), ("expected_cost", 5250), ("cvar", 9250),
                       ("vss", 250), ("evpi", 900)):
        assert summary[key] == pytest.approx(value)
    alloc = pd.read_csv(out / "allocation.csv")
    assert alloc.set_index("supplier")["gwh"].to_dict() == pytest.approx({"A": 50, "B": 50})
    assert (out / "allocation_deterministic.csv").exists()
    printed = capsys.readouterr().out
    for text in ("deterministic", "robust", "5,500.0", "5,250.0", "a-fails", "VSS", "EVPI"):
        assert text in printed
    # the robust plan played out by stress --plan gives the same expectation
    assert main(["stress", str(path), "--plan", str(out / "allocation.csv"), "--out",
                 str(tmp_path / "s")]) == 0
    again = json.loads((tmp_path / "s" / "summary.json").read_text())
    assert again["expected_cost"] == pytest.approx(5250)


def test_read_plan_checked(write_instance, tmp_path, capsys):
    path = write_instance(two_suppliers())
    plan = tmp_path / "plan.csv"
    # over cn1's capacity: not a contract -> exit 2, named
    plan.write_text("supplier,application,period,gwh\ncn1,grid,2026,120\n")
    assert main(["stress", str(path), "--plan", str(plan)]) == 2
    assert "capacity" in capsys.readouterr().err
    # all from cn1 breaks the company cap: played out with a warning.
    # 100 x 40 = 4000; cn1 fails: 100 spot from kr1 at 60 = 6000; E = 0.9 x 4000 + 600
    plan.write_text("supplier,application,period,gwh\ncn1,grid,2026,100\n")
    assert main(["stress", str(path), "--plan", str(plan), "--out", str(tmp_path / "o")]) == 0
    summary = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert summary["expected_cost"] == pytest.approx(4200)
    assert any("company-cap" in w for w in summary["warnings"])
    assert "warning" in capsys.readouterr().out
    # unknown supplier in the plan file: exit 2
    plan.write_text("supplier,application,period,gwh\nzz9,grid,2026,100\n")
    assert main(["stress", str(path), "--plan", str(plan)]) == 2


def test_usage_errors_and_no_plan(write_instance, capsys):
    path = write_instance(two_suppliers())
    assert main(["robust", str(path), "--cvar-weight", "1.5"]) == 2
    assert main(["robust", str(path), "--alpha", "1"]) == 2
    assert main(["stress", str(path), "--n-1", "country"]) == 2
    assert main(["stress", str(path), "--workers", "2", "--scheduler", "tcp://x:1"]) == 2
    no_scenarios = write_instance(world())
    assert main(["stress", str(no_scenarios)]) == 2
    assert main(["robust", str(no_scenarios)]) == 2
    assert "no scenarios" in capsys.readouterr().err
    # no plan at all: the company cap cannot hold with one company
    inst = two_suppliers()
    inst["suppliers"] = inst["suppliers"][:1]
    assert main(["stress", str(write_instance(inst))]) == 1
    assert main(["robust", str(write_instance(inst))]) == 1


@pytest.mark.parametrize(("scenario", "field", "words"), [
    ({"capacity_factor": {"by": "control", "group": ["CN"], "factor": -1}},
     "capacity_factor", "must be >= 0"),
    ({"price_factor": {"by": "control", "group": ["CN"], "factor": {"beta": [1, 2]}}},
     "price_factor", "unknown distribution 'beta'"),
    ({"price_factor": {"by": "control", "group": ["CN"], "factor": {"uniform": [2, 1]}}},
     "price_factor", "must not exceed high"),
    ({"price_factor": {"by": "control", "group": ["CN"], "factor": "lots"}},
     "price_factor", "a distribution"),
    ({"capacity_factor": {"by": "colour", "group": ["CN"], "factor": 0}},
     "capacity_factor", "cannot group by 'colour'"),
    ({"capacity_factor": {"by": "control", "group": ["XX"], "factor": 0}},
     "capacity_factor", "no control 'XX'"),
    ({"capacity_factor": {"by": "control", "group": [], "factor": 0}},
     "capacity_factor", "must not be empty"),
    ({"from": 2031, "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0}},
     "from", "covers none of the periods"),
    ({"name": "base", "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0}},
     "name", "name of the base case"),
    ({"probability": 1.5}, "probability", "<= 1"),
    ({"capacity_factor": {"by": "control", "group": ["CN"], "factor": 0}, "typo": 1},
     "typo", "unknown field"),
])
def test_scenario_errors_are_located(write_instance, capsys, scenario, field, words):
    sc = {"name": "s1", "probability": 0.1, **scenario}
    path = write_instance(two_suppliers(scenarios=[CN_FAILS, sc]))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    line = next(ln for ln in err.splitlines() if words in ln)
    assert "scenarios" in line and "row 2" in line and field in line, line


def test_probabilities_over_one(write_instance, capsys):
    path = write_instance(two_suppliers(scenarios=[{**CN_FAILS, "probability": 0.7},
                                                   {**CN_FAILS, "name": "b",
                                                    "probability": 0.4}]))
    assert main(["stress", str(path)]) == 2
    assert "add up to 1.1" in capsys.readouterr().err


def test_excel_scenarios(write_instance, tmp_path, capsys):
    # the same instance as a workbook (optimizer convert) plays out the same; a bad
    # factor cell is reported at its cell
    path = write_instance(two_suppliers(scenarios=[
        CN_FAILS, {"name": "mixed", "probability": 0.2, "capacity_factor": [
            {"by": "company", "group": ["CATL"], "factor": 0.5},
            {"by": "country", "group": ["HU"], "factor": {"uniform": [0.5, 1]}}]}]))
    xlsx = tmp_path / "i.xlsx"
    assert main(["convert", str(path), str(xlsx)]) == 0
    a = stress(path, sample=30, seed=4).scenarios
    b = stress(xlsx, sample=30, seed=4).scenarios
    pd.testing.assert_frame_equal(a, b)
    wb = openpyxl.load_workbook(xlsx)
    ws = wb["scenarios"]
    header = [c.value for c in ws[1]]
    col = header.index("capacity_factor.factor") + 1
    rows = [r for r in range(2, ws.max_row + 1) if ws.cell(r, 1).value == "mixed"]
    ws.cell(rows[1], col).value = "uniform(0.5)"
    wb.save(xlsx)
    assert main(["validate", str(xlsx)]) == 2
    err = capsys.readouterr().err
    cell = f"scenarios!{openpyxl.utils.get_column_letter(col)}{rows[1]}"
    assert cell in err and "uniform takes 2 parameters" in err


def test_north_america_scenarios(tmp_path):
    # the bundled instance: five cited scenarios, the base case keeps 0.30
    res = robust(None, evpi=False)
    s = res.summary
    assert s["base_probability"] == pytest.approx(0.30)
    assert s["scenario_count"] == 6
    assert s["vss"] >= -1e-6
    assert s["plans"]["robust"]["expected_cost"] <= \
        s["plans"]["deterministic"]["expected_cost"] + 1e-6
    assert s["objective"] == pytest.approx(s["expected_cost"], rel=1e-7)
    # the same plan played out by stress equals the robust table's deterministic column
    st = stress(None)
    assert st.summary["expected_cost"] == pytest.approx(
        s["plans"]["deterministic"]["expected_cost"], rel=1e-9)


def test_play_out_of_extensive_plan_matches_lane_plan(write_instance):
    # plan_from_lanes and a solve of the extensive form give a plan whose play-out cost in
    # each case equals the case's cost in the model (checked in one case by hand: 9250)
    path = write_instance(three_offers())
    inst = load_instance(path)
    data = prepare(inst)
    sd = scenario_data(data)
    cases = file_cases(inst, sd)
    sol = solve_extensive(data, sd, cases)
    assert sol.objective == pytest.approx(5250)
    plan = plan_from_lanes(inst, sd, sol.x, "robust")
    assert play_out(sd, plan, cases[1])["cost"] == pytest.approx(9250)
    assert play_out(sd, plan, cases[0])["cost"] == pytest.approx(4250)


def test_concentration_and_soft_rules_hold_in_the_robust_plan(write_instance):
    # HHI caps are enforced by tangent cuts while solving, soft rules are paid at their
    # penalty in every scenario (they are part of the plan's base cost): the robust plans
    # obey every rule (independent check) and the objective equals their play-out.
    from optimizer.check import check_plan

    inst = world(
        rules=[{"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.4},
               {"name": "soft-cn", "kind": "max_share", "by": "control", "group": ["CN"],
                "limit": 0.3, "penalty": 5},
               {"name": "top", "kind": "max_top_share", "by": "company", "k": 1,
                "limit": 0.55}],
        scenarios=[CN_FAILS, {"name": "cartel", "probability": 0.2,
                              "price_factor": {"by": "control", "group": ["CN"],
                                               "factor": 1.5}}])
    path = write_instance(inst)
    loaded = load_instance(path)
    for w in (0.0, 0.5):
        res = robust(path, weight=w, alpha=0.9)
        s = res.summary
        rob = s["plans"]["robust"]
        assert s["objective"] == pytest.approx((1 - w) * rob["expected_cost"] + w * rob["cvar"],
                                               rel=1e-7)
        for plan in res.plans.values():
            report = check_plan(loaded, plan.allocation)
            assert report.valid, report.violations["message"].tolist()
            assert plan.base_cost == pytest.approx(report.cost)
        assert s["vss"] >= -1e-6 and s["evpi"] >= -1e-6
