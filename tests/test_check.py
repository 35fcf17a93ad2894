"""The independent plan checker (optimizer/check.py) and ``optimizer check``.

Hand-worked plans on the three-supplier world of tests/conftest.py (100 GWh of
'grid' in 2026; cn1 CATL made in HU controlled from CN, LFP, 40 USD/kWh; kr1
LGES, KR, LFP, 50; us1 Peak, US, Na-ion, 70; 100 GWh capacity each): every kind
of violation once where it is broken (with its size worked out in a comment)
and once where the plan is just within it. Then agreement with the reference
checker of tests/reference/check.py on generated instances, on the product's
optimal plans and on plans broken on purpose.
"""

from __future__ import annotations

import csv
import json
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from benchmarks.generate import generate, write
from optimizer.check import check_plan, read_plan
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.input.schema import Rule
from tests.conftest import supplier, world
from tests.reference.check import check_plan as ref_check
from tests.reference.check import plan_cost as ref_cost

CAP30 = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3}


def plan(*rows, period=2026, application="grid"):
    """plan(("cn1", 30), ("kr1", 70)) or rows (supplier, application, period, gwh)."""
    full = [r if len(r) == 4 else (r[0], application, period, r[1]) for r in rows]
    return pd.DataFrame(full, columns=["supplier", "application", "period", "gwh"])


@pytest.fixture
def load(write_instance):
    def run(inst):
        return optimizer.load_instance(write_instance(inst))
    return run


def kinds(report):
    return sorted(report.violations["kind"])


def only(report, kind):
    v = report.violations
    assert list(v["kind"]) == [kind], v.to_string()
    return v.iloc[0]


# ------------------------------------------------------------------ valid plans and cost
def test_optimal_plan_is_valid_and_costs_its_objective(load):
    inst = load(world(rules=[CAP30]))
    res = optimizer.solve(inst, analysis=False)
    report = check_plan(inst, res.allocation, objective=res.objective)
    # 30 from cn1 at 40 + 70 from kr1 at 50 = 4700
    assert report.valid
    assert report.cost == pytest.approx(4700)
    assert report.cost_breakdown["ex_works"] == pytest.approx(4700)


def test_cost_components_by_hand(load):
    # two periods, discount 10%: 2027 costs are divided by 1.1. cn1 is made in HU:
    # a 20% duty on HU lithium from 2027; freight 3 (kr1's lane to grid: 5);
    # carbon 50 kg/kWh x 100 USD/t / 1000 = 5 USD/kWh on cn1.
    inst = world(periods=[2026, 2027], discount_rate=0.1, carbon_price=100,
                 demand=[{"application": "grid", "period": 2026, "gwh": 100},
                         {"application": "grid", "period": 2027, "gwh": 100}],
                 tariffs=[{"origin": "HU", "rate": 0.2, "family": "lithium", "from": 2027}],
                 lanes=[{"supplier": "kr1", "application": "grid", "freight": 5}])
    supplier(inst, "cn1").update(freight=3, carbon_intensity=50)
    p = plan(("cn1", "grid", 2026, 60), ("kr1", "grid", 2026, 40),
             ("cn1", "grid", 2027, 100))
    r = check_plan(load(inst), p)
    assert r.valid
    c = r.cost_breakdown
    # ex works: 60 x 40 + 40 x 50 + 100 x 40 / 1.1 = 2400 + 2000 + 3636.36...
    assert c["ex_works"] == pytest.approx(4400 + 4000 / 1.1)
    # tariff: 2027 only, 100 x 40 x 0.2 / 1.1
    assert c["tariff"] == pytest.approx(800 / 1.1)
    # freight: 60 x 3 + 40 x 5 + 100 x 3 / 1.1
    assert c["freight"] == pytest.approx(380 + 300 / 1.1)
    # carbon: (60 + 100 / 1.1) x 5
    assert c["carbon"] == pytest.approx(300 + 500 / 1.1)
    assert c["total"] == pytest.approx(sum(v for k, v in c.items() if k != "total"))


def test_price_tiers_fixed_costs_and_unmet_penalty(load):
    # kr1: 50 up to 50 GWh, then 45 (falling); fixed cost 100. grid may go unmet at 300.
    # Plan: kr1 70, cn1 20, 10 unmet: tiers 50 x 50 + 20 x 45 = 3400, cn1 800,
    # fixed 100, unmet 10 x 300 = 3000.
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"],
                                "unmet_penalty": 300}],
                 price_tiers=[{"supplier": "kr1", "from_gwh": 0, "price": 50},
                              {"supplier": "kr1", "from_gwh": 50, "price": 45}])
    supplier(inst, "kr1")["fixed_cost"] = 100
    r = check_plan(load(inst), plan(("kr1", 70), ("cn1", 20)))
    assert r.valid
    assert r.cost_breakdown["ex_works"] == pytest.approx(3400 + 800)
    assert r.cost_breakdown["fixed"] == pytest.approx(100)
    assert r.cost_breakdown["unmet_penalty"] == pytest.approx(3000)
    assert r.unmet.set_index("application").loc["grid", "unmet"] == pytest.approx(10)
    assert r.cost == pytest.approx(7300)


def test_price_tiers_split_over_applications(load):
    # tiers apply to the supplier's total over applications: 30 + 40 = 70 GWh of kr1
    # cost 50 x 50 + 20 x 45 = 3400, whichever application takes which part
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp"]},
                               {"id": "home", "chemistries": ["lfp"]}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 30},
                         {"application": "home", "period": 2026, "gwh": 40}],
                 price_tiers=[{"supplier": "kr1", "from_gwh": 0, "price": 50},
                              {"supplier": "kr1", "from_gwh": 50, "price": 45}])
    r = check_plan(load(inst), plan(("kr1", "grid", 2026, 30), ("kr1", "home", 2026, 40)))
    assert r.valid and r.cost == pytest.approx(3400)


def test_objective_mismatch(load):
    inst = load(world())
    r = check_plan(inst, plan(("cn1", 100)), objective=4000.05)
    assert r.valid is False
    row = only(r, "objective")
    assert row["excess"] == pytest.approx(0.05)
    assert check_plan(inst, plan(("cn1", 100)), objective=4000 * (1 + 1e-9)).valid


# ------------------------------------------------------------------ lanes, capacity, demand
def test_capacity_and_overbuying(load):
    # cn1 110 of a capacity of 100: 10 over; grid gets 110 of a demand of 100: 10 over
    r = check_plan(load(world()), plan(("cn1", 110)))
    assert kinds(r) == ["capacity", "demand_over"]
    assert list(r.violations["excess"]) == pytest.approx([10, 10])


def test_unmet_demand_without_penalty(load):
    r = check_plan(load(world()), plan(("cn1", 60), ("kr1", 30)))
    assert only(r, "demand_unmet")["excess"] == pytest.approx(10)


def test_within_tolerance_is_valid(load):
    # 1e-7 GWh over a 100 GWh capacity is solver noise (tolerance 1e-6 x 100 + 1e-6)
    r = check_plan(load(world()), plan(("cn1", 100 + 1e-7)))
    assert r.valid
    r = check_plan(load(world()), plan(("cn1", 100 + 1e-3)))
    assert kinds(r) == ["capacity", "demand_over"]


def test_ineligible_lanes(load):
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "sodium_only", "chemistries": ["naion"]}],
                 capacity=[{"supplier": "kr1", "period": 2026, "gwh": 0}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 100},
                         {"application": "sodium_only", "period": 2026, "gwh": 5}])
    supplier(inst, "us1")["available_from"] = 2027
    p = plan(("cn1", "grid", 2026, 50), ("kr1", "grid", 2026, 30), ("us1", "grid", 2026, 20),
             ("cn1", "sodium_only", 2026, 5))
    r = check_plan(load(inst), p)
    v = r.violations[r.violations["kind"] == "ineligible"].set_index("supplier")
    # kr1 has no capacity in 2026, us1 is not available yet, cn1 is LFP
    assert v["excess"].to_dict() == pytest.approx({"kr1": 30, "us1": 20, "cn1": 5})
    assert "chemistry lfp is not allowed" in v.loc["cn1", "message"]
    assert "no capacity" in v.loc["kr1", "message"]
    assert "availability" in v.loc["us1", "message"]


def test_exclusion(load):
    ex = {"name": "no-cn", "kind": "exclude", "by": "control", "group": ["CN"]}
    r = check_plan(load(world(rules=[ex])), plan(("cn1", 40), ("kr1", 60)))
    row = only(r, "exclude")
    assert (row["rule"], row["supplier"], row["excess"]) == ("no-cn", "cn1", 40)
    assert check_plan(load(world(rules=[ex])), plan(("kr1", 100))).valid


def test_negative_volume(load):
    # -5 on kr1: grid then gets 100 - 5 = 95 < 100 as well
    r = check_plan(load(world()), plan(("cn1", 100), ("kr1", -5)))
    assert kinds(r) == ["demand_unmet", "negative"]
    assert r.violations.set_index("kind").loc["negative", "excess"] == pytest.approx(5)


def test_min_order(load):
    inst = world()
    supplier(inst, "kr1")["min_order"] = 25
    # kr1 delivers 10 < 25: 15 short; delivering nothing is fine
    assert only(check_plan(load(inst), plan(("cn1", 90), ("kr1", 10))), "min_order")[
        "excess"] == pytest.approx(15)
    assert check_plan(load(inst), plan(("cn1", 100))).valid
    assert check_plan(load(inst), plan(("cn1", 75), ("kr1", 25))).valid


# ------------------------------------------------------------------ rules
@pytest.mark.parametrize(("rule", "broken", "ok", "excess"), [
    # china cap 30%: cn1 40 of 100 is 10 GWh over; 30 is exactly at it
    (CAP30, [("cn1", 40), ("kr1", 60)], [("cn1", 30), ("kr1", 70)], 10),
    # sodium floor 15%: us1 10 of 100 is 5 short
    ({"name": "alt", "kind": "min_share", "by": "family", "group": ["sodium"], "limit": 0.15},
     [("cn1", 90), ("us1", 10)], [("cn1", 85), ("us1", 15)], 5),
    # every company at most 50%: CATL 70 is 20 over
    ({"name": "co", "kind": "max_share", "by": "company", "limit": 0.5},
     [("cn1", 70), ("kr1", 30)], [("cn1", 50), ("kr1", 50)], 20),
    # at most 35 GWh from asia (KR is asia; cn1 is made in HU, bloc eu)
    ({"name": "asia", "kind": "max_volume", "by": "bloc", "group": ["asia"], "limit": 35},
     [("cn1", 50), ("kr1", 50)], [("cn1", 65), ("kr1", 35)], 15),
    # at least 20 GWh from the US: 12 is 8 short
    ({"name": "us", "kind": "min_volume", "by": "country", "group": ["US"], "limit": 20},
     [("cn1", 88), ("us1", 12)], [("cn1", 80), ("us1", 20)], 8),
    # text attribute: region europe at most 25%
    ({"name": "eu", "kind": "max_share", "by": "region", "group": ["europe"], "limit": 0.25},
     [("cn1", 30), ("kr1", 70)], [("cn1", 25), ("kr1", 75)], 5),
    # average risk <= 0.5: 60 x 0.9 + 40 x 0.2 = 62 risk-GWh, limit 50 -> 12 over
    ({"name": "risk", "kind": "max_average", "attribute": "risk_score", "limit": 0.5},
     [("cn1", 60), ("kr1", 40)], [("cn1", 30), ("kr1", 70)], 12),
    # average cycles >= 5000: 80 x 3000 + 20 x 10000 = 440000 < 500000 -> 60000 short
    ({"name": "cycles", "kind": "min_average", "attribute": "cycles", "limit": 5000},
     [("cn1", 80), ("us1", 20)], [("cn1", 500 / 7), ("us1", 200 / 7)], 60000),
])
def test_rule_broken_and_kept(load, rule, broken, ok, excess):
    inst = load(world(rules=[rule]))
    row = only(check_plan(inst, plan(*broken)), "rule")
    assert row["rule"] == rule["name"]
    assert row["excess"] == pytest.approx(excess)
    assert check_plan(inst, plan(*ok)).valid


def test_count_rules(load):
    two = {"name": "dual", "kind": "min_count", "by": "company", "limit": 2, "threshold": 0.2}
    # CATL 85, LGES 15: only one company holds 20% -> 1 short
    inst = load(world(rules=[two]))
    assert only(check_plan(inst, plan(("cn1", 85), ("kr1", 15))), "rule")["excess"] == 1
    assert check_plan(inst, plan(("cn1", 80), ("kr1", 20))).valid
    one = {"name": "single", "kind": "max_count", "by": "country", "limit": 1}
    # any positive volume counts: HU and KR are two countries, one too many
    inst = load(world(rules=[one]))
    assert only(check_plan(inst, plan(("cn1", 99), ("kr1", 1))), "rule")["excess"] == 1
    assert check_plan(inst, plan(("cn1", 100))).valid


def test_per_application_and_periods(load):
    rule = {"name": "co", "kind": "max_share", "by": "company", "limit": 0.6,
            "per_application": True, "periods": [2027]}
    inst = world(periods=[2026, 2027],
                 applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "home", "chemistries": ["lfp"]}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 50},
                         {"application": "grid", "period": 2027, "gwh": 50},
                         {"application": "home", "period": 2027, "gwh": 50}],
                 rules=[rule])
    # 2026 is not covered: CATL 100% there is fine. 2027 home: CATL 40 of 50 = 80%,
    # 10 GWh over 60%; 2027 grid: CATL 30 of 50 = 60%, exactly at the cap
    p = plan(("cn1", "grid", 2026, 50), ("cn1", "home", 2027, 40), ("kr1", "home", 2027, 10),
             ("cn1", "grid", 2027, 30), ("kr1", "grid", 2027, 20))
    row = only(check_plan(load(inst), p), "rule")
    assert (row["application"], row["period"], row["group"]) == ("home", 2027, "CATL")
    assert row["excess"] == pytest.approx(10)


def test_top_share_hhi_and_soft_rules(load):
    # kinds and soft rules the model may not support yet are still checked
    inst = load(world())
    top = Rule(name="top1", kind="max_top_share", by="company", k=1, limit=0.6)
    hhi = Rule(name="hhi", kind="max_hhi", by="company", limit=0.55)
    p = plan(("cn1", 70), ("kr1", 30))
    r = check_plan(inst.with_rules([top, hhi]), p)
    v = r.violations.set_index("rule")
    # top company holds 70%: 10 GWh over 60%; HHI 0.49 + 0.09 = 0.58 > 0.55;
    # at 60/40 the top share is 60% and the HHI 0.36 + 0.16 = 0.52
    assert v.loc["top1", "excess"] == pytest.approx(10)
    assert v.loc["hhi", "value"] == pytest.approx(0.58)
    assert check_plan(inst.with_rules([top, hhi]), plan(("cn1", 60), ("kr1", 40))).valid
    # the same 70/30 split of a volume at the solver's tolerance of nothing (a scope a
    # plan leaves unmet, found by tests/test_properties.py): 7e-7 and 3e-7 GWh are
    # noise within the volume floor (1e-6 GWh), so no HHI finding; at 7 and 3 GWh
    # the split is real: 0.58 again
    def hhi_rows(p):
        r = check_plan(inst.with_rules([hhi]), p).violations
        return r[r["rule"] == "hhi"] if len(r) else r
    assert len(hhi_rows(plan(("cn1", 7e-7), ("kr1", 3e-7)))) == 0
    assert hhi_rows(plan(("cn1", 7), ("kr1", 3)))["value"].tolist() == pytest.approx([0.58])
    soft = Rule(name="soft-cap", kind="max_share", by="control", group=["CN"], limit=0.3,
                penalty=2)
    r = check_plan(inst.with_rules([soft]), plan(("cn1", 40), ("kr1", 60)))
    # 10 GWh over the soft cap at 2 USD/kWh: 20 on top of 1600 + 3000
    assert r.valid
    assert r.misses["miss"].tolist() == pytest.approx([10])
    assert r.cost_breakdown["rule_penalty"] == pytest.approx(20)
    assert r.cost == pytest.approx(4620)


@pytest.mark.parametrize(("rule", "cost"), [
    # CATL at most 60%: cn1 60 at 40 + kr1 40 at 50 = 4400
    ({"name": "top1", "kind": "max_top_share", "by": "company", "k": 1, "limit": 0.6}, 4400),
    # soft CN cap 30% at 5 USD/kWh: all from cn1, 70 GWh over: 4000 + 350
    ({"name": "soft", "kind": "max_share", "by": "control", "group": ["CN"], "limit": 0.3,
      "penalty": 5}, 4350),
    # soft: 3 companies with 20% each, 100 per missing company: all cn1, 2 short: 4200
    ({"name": "sc", "kind": "min_count", "by": "company", "limit": 3, "threshold": 0.2,
      "penalty": 100}, 4200),
    # soft top-2 cap 70% at 3: all cn1, 30 GWh over: 4090
    ({"name": "st", "kind": "max_top_share", "by": "company", "k": 2, "limit": 0.7,
      "penalty": 3}, 4090),
    # soft risk average 0.3 at 20 per risk-GWh: moving a GWh from kr1 (0.2) to cn1 (0.9)
    # saves 10 but costs 0.7 x 20 = 14, so the average is met: cn1 100/7, kr1 600/7
    ({"name": "sa", "kind": "max_average", "attribute": "risk_score", "limit": 0.3,
      "penalty": 20}, 34000 / 7),
])
def test_solver_plans_with_concentration_and_soft_rules(load, rule, cost):
    inst = load(world(rules=[rule]))
    res = optimizer.solve(inst, analysis=False)
    report = check_plan(inst, res.allocation, objective=res.objective)
    assert report.valid, report.violations["message"].tolist()
    assert report.cost == pytest.approx(cost)
    assert res.objective == pytest.approx(cost)


def test_soft_rule_beside_an_exclusion(load):
    # (found by tests/test_properties.py: the rule table crashed on this pair)
    # us1 is excluded; soft CN cap 30% at 5: 70 GWh from kr1 at 50 cost 3500 against
    # 70 over the cap from cn1 at 40 + 5 = 3150: all from cn1, 4000 + 350 = 4350
    inst = load(world(rules=[
        {"name": "soft", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3, "penalty": 5},
        {"name": "no-us", "kind": "exclude", "by": "country", "group": ["US"]}]))
    res = optimizer.solve(inst, analysis=False)
    assert res.objective == pytest.approx(4350)
    report = check_plan(inst, res.allocation, objective=res.objective)
    assert report.valid and report.cost_breakdown["rule_penalty"] == pytest.approx(350)


def test_solver_plans_with_hhi_caps(load):
    # an HHI cap of 0.4 by company: the plan's HHI is at most 0.4 + 1e-6, and the checker
    # finds it valid at the product's cost
    inst = load(world(rules=[{"name": "hhi", "kind": "max_hhi", "by": "company",
                              "limit": 0.4}]))
    res = optimizer.solve(inst, analysis=False)
    v = res.allocation.groupby("supplier")["gwh"].sum()
    assert ((v / v.sum()) ** 2).sum() <= 0.4 + 1e-6
    assert check_plan(inst, res.allocation, objective=res.objective).valid
    # and a plan over the cap is not: 60/40 has an HHI of 0.52
    r = check_plan(inst, plan(("cn1", 60), ("kr1", 40)))
    assert only(r, "rule")["value"] == pytest.approx(0.52)


# ------------------------------------------------------------------ reading plan files
def test_read_plan_problems(load, tmp_path):
    inst = load(world())
    f = tmp_path / "plan.csv"
    f.write_text("supplier,application,period,gwh\ncn1,grid,2026,abc\nxx1,grid,2026,1\n"
                 "kr1,grid,2031,1\nkr1,grid,2026,nan\ncn1,grid,2026,5\nus1,grid,2026,\n")
    with pytest.raises(InputError) as err:
        read_plan(str(f), inst)
    text = str(err.value)
    for expected in ("row 1 (line 2), field 'gwh': must be a number, got 'abc'",
                     "row 2 (line 3), field 'supplier': unknown supplier 'xx1'",
                     "row 3 (line 4), field 'period': period 2031 is not one of the periods",
                     "row 4 (line 5), field 'gwh': must be a finite number",
                     "row 6 (line 7), field 'gwh': is required"):
        assert expected in text
    f.write_text("supplier,application,gwh\ncn1,grid,5\n")
    with pytest.raises(InputError, match="missing column 'period'"):
        read_plan(str(f), inst)
    f.write_text("supplier,application,period,gwh\ncn1,grid,2026,50\ncn1,grid,2026,50\n")
    with pytest.raises(InputError, match=r"appears twice \(first in row 1\)"):
        read_plan(str(f), inst)


def test_plan_frames_of_any_typing(load):
    # a plan DataFrame is read like a file, whatever its column types: 30 GWh from
    # cn1 at 40 + 70 from kr1 at 50 = 4700 with ids padded, years as floats, object
    # columns or a shuffled index alike
    inst = load(world())
    clean = plan(("cn1", 30), ("kr1", 70))
    padded = clean.assign(supplier=[" cn1", "kr1 "])
    loose = clean.astype(object).assign(period=[2026.0, 2026.0])
    for frame in (clean, padded, loose, clean.iloc[::-1], clean.set_index([[7, 3]])):
        report = check_plan(inst, frame, objective=4700)
        assert report.valid, report.violations
        assert report.cost == pytest.approx(4700)
        assert list(report.supplies["gwh"]) == [30, 70]
    # what a DataFrame can hold that a plan cannot: the same problems as a file
    for frame, message in (
            (plan(("cn1", 30), ("cn1", 70)), r"appears twice \(first in row 1\)"),
            (plan(("cn1", 30), ("xx1", 70)), "row 2, field 'supplier': unknown supplier 'xx1'"),
            (plan(("cn1", 30), ("kr1", np.nan)), "field 'gwh': must be a finite number"),
            (plan(("cn1", 30), ("kr1", 70), period=2031), "period 2031 is not one of"),
            (clean.assign(supplier=["cn1", " "]), "field 'supplier': is required"),
            # an empty cell of a text column is NaN in a DataFrame: still "required"
            (clean.assign(supplier=["cn1", np.nan]), "row 2, field 'supplier': is required"),
            (clean.assign(application=[None, "grid"]),
             "row 1, field 'application': is required")):
        with pytest.raises(InputError, match=message):
            check_plan(inst, frame)


def test_cli_check(write_instance, tmp_path, capsys):
    path = write_instance(world(rules=[CAP30]))
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out), "--no-analysis"]) == 0
    objective = json.loads((out / "summary.json").read_text())["objective"]
    capsys.readouterr()
    assert main(["check", str(path), str(out / "allocation.csv"),
                 "--objective", str(objective)]) == 0
    assert "valid" in capsys.readouterr().out
    bad = tmp_path / "bad.csv"
    bad.write_text("supplier,application,period,gwh\ncn1,grid,2026,40\nkr1,grid,2026,60\n")
    assert main(["check", str(path), str(bad)]) == 1
    printed = capsys.readouterr().out
    assert "NOT valid" in printed and "china-cap" in printed and "10 GWh beyond" in printed
    assert main(["check", str(path), str(tmp_path / "missing.csv")]) == 2
    assert main(["check", str(path), str(bad), "--objective", "nan"]) == 2


def test_solve_refuses_to_write_a_broken_plan(write_instance, tmp_path, capsys, monkeypatch):
    # a model bug simulated: the plan handed back buys 10% more than it should
    import optimizer.results as results

    real = results.plan_from_solution

    def buggy(*args, **kw):
        out = real(*args, **kw)
        out["allocation"]["gwh"] *= 1.1
        return out

    monkeypatch.setattr(results, "plan_from_solution", buggy)
    out = tmp_path / "out"
    code = main(["solve", str(write_instance(world(rules=[CAP30]))), "--out", str(out)])
    printed = capsys.readouterr().out
    assert code == 3
    assert "internal error: the plan breaks" in printed and "please report" in printed
    assert not out.exists() or not any(out.iterdir())


def test_python_users_get_checked_plans(write_instance, monkeypatch):
    # optimizer.solve checks the plan independently, as the command does
    import optimizer.results as results
    from optimizer.errors import PlanCheckError

    path = write_instance(world(rules=[CAP30]))
    res = optimizer.solve(path)
    assert res.check is not None and res.check.valid
    assert res.check.cost == pytest.approx(res.objective)  # 30x40 + 70x50 = 4700
    assert res.objective == pytest.approx(4700)
    assert optimizer.solve(path, check=False).check is None

    real = results.plan_from_solution

    def buggy(*args, **kw):  # a model bug simulated: 10% more than demand
        out = real(*args, **kw)
        out["allocation"]["gwh"] *= 1.1
        return out

    monkeypatch.setattr(results, "plan_from_solution", buggy)
    with pytest.raises(PlanCheckError, match="the plan breaks") as caught:
        optimizer.solve(path)
    assert not caught.value.report.valid
    assert caught.value.result.objective == pytest.approx(4700)
    optimizer.solve(path, check=False)  # unchecked, as asked


# ------------------------------------------------------------------ against the reference
# seeds whose instances have a plan (the others are infeasible: nothing to check)
LP_SEEDS = [0, 1, 2, 4, 5, 7, 8, 11, 12, 13]
MIP_SEEDS = [100, 103, 104, 105, 107, 108, 109, 110]
FEATURES = frozenset({"fixed_cost", "min_order", "count", "tiers"})


@cache
def generated(seed: int) -> dict:
    if seed >= 100:
        return generate(seed, 8 + seed % 8, 2 + seed % 3, 2 + seed % 2, features=FEATURES)
    return generate(seed, 6 + seed % 10, 2 + seed % 3, 2 + (seed // 3) % 3)


def broken_plans(inst, rows: list[dict], seed: int) -> list[tuple[str, list[dict]]]:
    """Plans derived from a valid one: some break something, some may not."""
    rng = np.random.default_rng(seed)
    out = []
    if rows:
        k = int(rng.integers(len(rows)))
        for factor in (1.5, 0.5, 0.0):
            p = [dict(r) for r in rows]
            p[k]["gwh"] = p[k]["gwh"] * factor
            out.append((f"row {k} x {factor}", p))
        # move volume between two suppliers of the same application and period
        for _ in range(3):
            a = rows[int(rng.integers(len(rows)))]
            same = [r for r in rows if (r["application"], r["period"]) ==
                    (a["application"], a["period"]) and r["supplier"] != a["supplier"]]
            if same:
                b = same[int(rng.integers(len(same)))]
                moved = a["gwh"] * float(rng.uniform(0.2, 1.0))
                p = [dict(r) for r in rows]
                for r in p:
                    if r is not None and (r["supplier"], r["application"], r["period"]) == \
                            (a["supplier"], a["application"], a["period"]):
                        r["gwh"] -= moved
                    elif (r["supplier"], r["application"], r["period"]) == \
                            (b["supplier"], b["application"], b["period"]):
                        r["gwh"] += moved
                out.append((f"move {moved:g} {a['supplier']} -> {b['supplier']}", p))
    # a lane that no plan may use: a supplier whose chemistry the application refuses
    for s in inst.suppliers:
        for a in inst.applications:
            if s.chemistry not in a.chemistries:
                out.append(("ineligible lane", [*rows, {"supplier": s.id, "application": a.id,
                                                        "period": inst.periods[0],
                                                        "gwh": 1.0}]))
                return out
    return out


@pytest.mark.parametrize("seed", LP_SEEDS + MIP_SEEDS)
def test_agrees_with_reference_checker(seed, tmp_path):
    path = write(generated(seed), tmp_path)
    inst = optimizer.load_instance(path)
    res = optimizer.solve(inst, analysis=False)
    assert res.has_plan, res.status
    rows = res.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    ours = check_plan(inst, res.allocation, objective=res.objective)
    assert ours.valid and ref_check(path, rows) == []
    assert ours.cost == pytest.approx(ref_cost(path, rows), rel=1e-9)
    verdicts = []
    for label, p in broken_plans(inst, rows, seed):
        mine = check_plan(inst, pd.DataFrame(p))
        theirs = ref_check(path, p)
        assert mine.valid == (theirs == []), (
            f"seed {seed}, {label}: checker says {mine.violations['message'].tolist()}, "
            f"reference says {theirs}")
        verdicts.append(mine.valid)
        if mine.valid and all(r["gwh"] >= 0 for r in p):
            assert mine.cost == pytest.approx(ref_cost(path, p), rel=1e-9)
    assert verdicts.count(False) >= 1


def test_cli_check_on_solve_output_files(tmp_path):
    # the allocation.csv that solve writes, read back, is valid at the summary's objective
    path = write(generated(5), tmp_path / "inst")
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out), "--no-analysis"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    inst = optimizer.load_instance(path)
    plan_df = read_plan(str(out / "allocation.csv"), inst)
    assert check_plan(inst, plan_df, objective=summary["objective"]).valid
    with open(out / "allocation.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert ref_check(path, rows) == []
    assert main(["check", str(path), str(out / "allocation.csv"),
                 "--objective", repr(summary["objective"])]) == 0


def test_plan_file_path_is_reported(tmp_path, write_instance):
    bad = Path(tmp_path / "p.csv")
    bad.write_text('supplier,application,period,gwh\n"cn1,grid,2026,1\n')
    with pytest.raises(InputError, match="not valid CSV"):
        read_plan(str(bad), optimizer.load_instance(write_instance(world())))


def test_checker_is_independent_of_the_model():
    # the checker recomputes everything itself: it imports no model, solver or data code
    import ast

    import optimizer.check as package

    imported: set[str | None] = set()
    for path in Path(package.__file__).parent.glob("*.py"):  # every module of the checker
        tree = ast.parse(path.read_text(encoding="utf-8"))
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {a.name for node in ast.walk(tree) if isinstance(node, ast.Import)
                     for a in node.names}
    forbidden = {"optimizer.model", "optimizer.solver", "optimizer.data", "optimizer.results",
                 "optimizer.api", "pyomo", "highspy"}
    assert imported and not {m for m in imported if m and any(m.startswith(f) for f in forbidden)}
