"""Adaptive plans on the scenario tree (SPEC section 10), worked out by hand.

World: one application ``grid`` (lfp), 2030-2032, 100 GWh a year, no
discount, shortage penalty 1000 USD/kWh, spot premium 0.2. A (CN) 200 GWh a
year at 40 USD/kWh, B (KR) 200 GWh at 50. The ban (probability 0.2): CN
capacity 0 from 2031.

Two-stage: per year from 2031 a GWh contracted from A costs 0.8 x 40 + 0.2 x
60 (spot from B's spare capacity in the ban) = 44 in expectation, from B 50:
all A. 2030: 4000; 2031 and 2032: 0.8 x 4000 + 0.2 x 6000 = 4400 each.
E = 12,800 (the ban costs 4000 + 6000 + 6000 = 16,000).

Adaptive, lag 1: the ban re-plans from 2032 and buys B at 50 (5000 instead of
6000): E = 4000 + 4400 + (0.8 x 4000 + 0.2 x 5000) = 12,600, value of
adapting 200. Lag 0: it re-plans in 2031 already: E = 4000 + 2 x 4200 =
12,400. Lag 2: no re-planning within the horizon: E = 12,800.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from optimizer.cli import main
from optimizer.input import load_instance
from optimizer.scenarios import ScenarioError, robust, stress
from optimizer.scenarios.adaptive import adaptive_plan

from .test_scenario_reports import browser  # noqa: F401  (the fixture)

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 200,
     "price": 40}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 200,
     "price": 50}
C = {"id": "C", "company": "c", "country": "KR", "chemistry": "lfp", "capacity": 200,
     "price": 55}
BAN = {"name": "ban", "probability": 0.2, "from": 2031,
       "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.0}}
#: a strike at B in the ban's last year: KR capacity halved, on top of the ban
STRIKE = {"name": "strike", "probability": 0.05, "from": 2032, "parent": "ban",
          "capacity_factor": {"by": "country", "group": ["KR"], "factor": 0.5}}


def world(scenarios=(BAN,), suppliers=(A, B), rules=()):
    return {"format": 1, "name": "adapt", "periods": [2030, 2031, 2032],
            "chemistries": [{"id": "lfp", "family": "lithium"}],
            "countries": [{"id": "CN"}, {"id": "KR"}],
            "applications": [{"id": "grid", "chemistries": ["lfp"]}],
            "demand": [{"application": "grid", "period": t, "gwh": 100}
                       for t in (2030, 2031, 2032)],
            "suppliers": [dict(s) for s in suppliers], "rules": list(rules),
            "scenarios": [dict(s) for s in scenarios]}


@pytest.mark.parametrize(("lag", "expected"), [(0, 12400), (1, 12600), (2, 12800)])
def test_the_value_of_adapting_by_hand(write_instance, lag, expected):
    res = robust(write_instance(world()), evpi=False, adaptive=True, lag=lag)
    ad = res.summary["adaptive"]
    assert res.summary["two_stage"]["expected_cost"] == pytest.approx(12800)
    assert res.summary["plans"]["robust"]["expected_cost"] == pytest.approx(12800)
    # with --adaptive the top-level objective is the adaptive program's
    assert res.summary["objective"] == pytest.approx(expected)
    assert res.summary["expected_cost"] == pytest.approx(expected)
    assert ad["objective"] == pytest.approx(expected)
    assert ad["expected_cost"] == pytest.approx(expected)
    assert ad["value_of_adapting"] == pytest.approx(12800 - expected)
    tree = res.adaptive.tree.set_index("scenario")
    assert tree.loc["base", "cost"] == pytest.approx(12000)
    assert tree.loc["ban", "decides_from"] == 2031 + lag
    # the ban: 4000 (2030), then 6000 a year played out, 5000 a year re-planned
    assert tree.loc["ban", "cost"] == pytest.approx(4000 + sum(
        5000 if t >= 2031 + lag else 6000 for t in (2031, 2032)))
    assert tree.loc["ban", "spot_gwh"] == pytest.approx(100 * sum(
        1 for t in (2031, 2032) if t < 2031 + lag))


def test_each_case_follows_its_parent_until_it_re_plans(write_instance):
    res = robust(write_instance(world()), evpi=False, adaptive=True, lag=1)
    plans = res.adaptive.plans
    ban = plans[plans["scenario"] == "ban"].sort_values("period")
    assert ban[["supplier", "period", "gwh", "decided_by"]].values.tolist() == [
        ["A", 2030, 100.0, "base"], ["A", 2031, 100.0, "base"], ["B", 2032, 100.0, "ban"]]
    base = plans[plans["scenario"] == "base"]
    assert base["supplier"].tolist() == ["A"] * 3 and set(base["decided_by"]) == {"base"}


def test_a_child_scenario_keeps_its_parents_factors(write_instance):
    # the strike (0.05) branches from the ban (now 0.15) in 2032: A 0 (the ban) and B
    # 100 GWh (half). Played out, the all-A plan: 2032 short 100, spot from B's spare
    # 0.5 x 200 = 100 at 60: 4000 + 6000 + 6000 = 16,000 (as in the ban)
    path = write_instance(world([dict(BAN, probability=0.15), STRIKE]))
    st = stress(path).scenarios.set_index("scenario")
    assert st.loc["strike", "cost"] == pytest.approx(16000)
    # adaptive, lag 1: the ban re-plans from 2032 (B 100); the strike would re-plan
    # from 2033, so it follows the ban's 2032 plan: B delivers half (50 x 50 = 2500)
    # and 50 more are bought spot from B's 100 - 50 spare at 60 (3000):
    # 4000 + 6000 + 5500 = 15,500.
    # E = 4000 + 4400 + (0.8 x 4000 + 0.15 x 5000 + 0.05 x 5500) = 12,625; two-stage
    # stays all A (12,800): value of adapting 175
    res = robust(path, evpi=False, adaptive=True)
    tree = res.adaptive.tree.set_index("scenario")
    assert tree.loc["strike", "parent"] == "ban"
    assert tree.loc["strike", "cost"] == pytest.approx(15500)
    assert tree.loc["strike", "spot_gwh"] == pytest.approx(100 + 50)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(12625)
    assert res.summary["adaptive"]["value_of_adapting"] == pytest.approx(175)
    strike = res.adaptive.plans[res.adaptive.plans["scenario"] == "strike"]
    assert strike["decided_by"].tolist() == ["base", "base", "ban"]


def test_a_rule_binds_the_re_planned_years(write_instance):
    # company cap 0.7, C (KR, 55) added. Every plan: A 70 + B 30 = 4300 a year.
    # The ban, 2031 (played out): B 30 delivered (1500) + 70 spot at 60 (4200) = 5700;
    # 2032 (re-planned, A at 0): B 70 + C 30 = 3500 + 1650 = 5150.
    # E = 4300 + (0.8 x 4300 + 0.2 x 5700) + (0.8 x 4300 + 0.2 x 5150) = 13,350
    cap = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.7}
    res = robust(write_instance(world(suppliers=(A, B, C), rules=[cap])), evpi=False,
                 adaptive=True)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(13350)
    ban = res.adaptive.plans.query("scenario == 'ban' and period == 2032")
    assert dict(zip(ban["supplier"], ban["gwh"], strict=True)) == pytest.approx(
        {"B": 70, "C": 30})
    # slack (limit 1): as without the rule, the ban re-plans to B alone
    loose = dict(cap, limit=1.0)
    res = robust(write_instance(world(suppliers=(A, B, C), rules=[loose])), evpi=False,
                 adaptive=True)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(12600)


def test_own_plans_obey_every_rule_even_where_spot_would_not(write_instance):
    # company cap 0.6 with only A and B: in the ban B alone could serve, but a plan
    # of B alone breaks the cap, so the re-planned 2032 leaves all 100 GWh unmet at the
    # shortage penalty (100,000), where the played-out 2031 buys spot (SPEC section 10:
    # what a scenario's own plan cannot contract is its own unmet demand). Base plan
    # A 60 + B 40 = 4400 a year; ban 2031: 2000 + 60 x 60 = 5600.
    # E = 4400 + (0.8 x 4400 + 0.2 x 5600) + (0.8 x 4400 + 0.2 x 100,000) = 32,560;
    # two-stage E = 4400 + 2 x 4640 = 13,680: adapting costs 18,880, with a warning
    cap = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.6}
    res = robust(write_instance(world(rules=[cap])), evpi=False, adaptive=True)
    ad = res.summary["adaptive"]
    assert res.summary["two_stage"]["expected_cost"] == pytest.approx(13680)
    assert ad["expected_cost"] == pytest.approx(32560)
    assert ad["value_of_adapting"] == pytest.approx(-18880)
    assert any("obey every rule" in w for w in res.summary["warnings"])
    tree = res.adaptive.tree.set_index("scenario")
    assert tree.loc["ban", "unmet_gwh"] == pytest.approx(100)


@pytest.mark.parametrize(("lag", "expected"), [(0, 12920), (1, 13180)])
def test_price_tiers_scale_with_the_scenario(write_instance, lag, expected):
    # A sells its first 50 GWh a year at 40, the rest at 44; B 50. Markup (0.2): CN
    # prices x 1.5 from 2031, so A's tiers cost 60 and 66 there.
    # Two-stage: a tier-0 GWh from 2031 costs 0.8 x 40 + 0.2 x 60 = 44 in expectation,
    # tier 1 48.4, both below B's 50: all A, 4620 a year, 4200 in 2030: 13,440.
    # Adaptive, lag 0: the markup re-plans 2031-2032 to B (5000 a year): 14,200; base
    # 12,600: E = 0.8 x 12,600 + 0.2 x 14,200 = 12,920. Lag 1: 2031 on the base plan
    # at the markup's prices (1.5 x 4200 = 6300), 2032 B: 15,500: E = 13,180.
    markup = {"name": "markup", "probability": 0.2, "from": 2031,
              "price_factor": {"by": "country", "group": ["CN"], "factor": 1.5}}
    inst = world([markup])
    inst["price_tiers"] = [{"supplier": "A", "from_gwh": 0, "price": 40},
                           {"supplier": "A", "from_gwh": 50, "price": 44}]
    res = robust(write_instance(inst), evpi=False, adaptive=True, lag=lag)
    assert res.summary["two_stage"]["expected_cost"] == pytest.approx(13440)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(expected)
    tree = res.adaptive.tree.set_index("scenario")
    assert tree.loc["markup", "cost"] == pytest.approx({0: 14200, 1: 15500}[lag])


def test_without_re_planning_it_is_the_two_stage_program():
    # lag 10: nobody re-plans within 2026-2030, so the tree of blocks tied by
    # non-anticipativity is the two-stage extensive form built another way: same optimum
    inst = load_instance(default_path())
    for weight in (0.0, 0.5):
        res = robust(inst, evpi=False, adaptive=True, lag=10, weight=weight)
        assert res.summary["adaptive"]["objective"] == pytest.approx(
            res.summary["two_stage"]["objective"], rel=1e-7)
        assert res.summary["objective"] == res.summary["adaptive"]["objective"]
    # re-planning one year after each scenario starts can only help here
    res = robust(inst, evpi=False, adaptive=True, lag=1)
    assert res.summary["adaptive"]["value_of_adapting"] > 0


def default_path():
    from optimizer.input import default_instance_path

    return default_instance_path()


def test_cli_writes_the_tree(write_instance, tmp_path, capsys):
    path = write_instance(world([dict(BAN, probability=0.15), STRIKE]))
    out = tmp_path / "out"
    assert main(["robust", str(path), "--adaptive", "--no-evpi", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "value of adapting" in text and "175.0" in text
    tree = pd.read_csv(out / "tree.csv")
    assert tree["scenario"].tolist() == ["base", "ban", "strike"]
    assert tree["parent"].fillna("").tolist() == ["", "base", "ban"]
    assert tree["decides_from"].tolist() == [2030, 2032, 2033]
    plans = pd.read_csv(out / "adaptive.csv")
    assert plans.groupby("scenario")["gwh"].sum().to_dict() == pytest.approx(
        {"base": 300, "ban": 300, "strike": 300})
    summary = json.loads((out / "summary.json").read_text())
    assert summary["adaptive"]["lag"] == 1
    assert summary["adaptive"]["value_of_adapting"] == pytest.approx(175)
    assert "Adaptive plan" in (out / "report.html").read_text()
    # --lag must be a whole number of years
    assert main(["robust", str(path), "--adaptive", "--lag", "-1"]) == 2


def test_an_hhi_cap_binds_each_branch_plan(write_instance):
    # company HHI <= 0.5 with A, B and C. In the ban's own year (2032, lag 1) only B
    # (50) and C (55) sell: b^2 + c^2 <= 0.5 with b + c = 1 forces 50/50, 2500 + 2750
    # = 5250. Without the cap (limit 1) the ban buys B alone (5000), as without C.
    hhi = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.5}
    res = robust(write_instance(world(suppliers=(A, B, C), rules=[hhi])), evpi=False,
                 adaptive=True)
    plans = res.adaptive.plans
    own = plans.query("scenario == 'ban' and period == 2032")
    got = dict(zip(own["supplier"], own["gwh"], strict=True))
    assert got == pytest.approx({"B": 50, "C": 50}, abs=0.5)  # cuts: within HHI_TOL
    for (_, _), g in plans.groupby(["scenario", "period"]):
        shares = g.groupby("supplier")["gwh"].sum() / g["gwh"].sum()
        assert float((shares ** 2).sum()) <= 0.5 + 1e-3
    loose = dict(hhi, limit=1.0)
    res = robust(write_instance(world(suppliers=(A, B, C), rules=[loose])), evpi=False,
                 adaptive=True)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(12600)


def test_funding_decided_before_a_scenario_re_plans_is_kept(write_instance):
    # B (KR) has 20 GWh at 50; an expansion adds 80 GWh to B from 2031 for 150, to be
    # decided in 2030 (first = last = 2030, lead time 1). Without it the ban leaves 80 GWh
    # a year unmet at 1000: so the base case funds it (the decision is 2030's, before
    # anything is known, and every branch keeps it).
    # Two-stage: all A (44 < 50 a GWh in expectation); the ban buys B's 100 spot at 60:
    # E = 150 + 4000 + 2 x (0.8 x 4000 + 0.2 x 6000) = 12,950.
    # Adaptive, lag 1: the ban re-plans 2032 to contract B's 100 at 50:
    # E = 150 + 4000 + 4400 + (0.8 x 4000 + 0.2 x 5000) = 12,750.
    small_b = dict(B, capacity=20)
    inst = world(suppliers=(A, small_b))
    inst["expansions"] = [{"supplier": "B", "step_gwh": 80, "cost": 150, "lead_time": 1,
                           "first": 2030, "last": 2030}]
    res = robust(write_instance(inst), evpi=False, adaptive=True)
    assert res.summary["two_stage"]["expected_cost"] == pytest.approx(12950)
    assert res.summary["adaptive"]["expected_cost"] == pytest.approx(12750)
    ban = res.adaptive.plans.query("scenario == 'ban' and period == 2032")
    assert ban[["supplier", "gwh"]].values.tolist() == [["B", 100.0]]
    # without re-planning it is the two-stage program, MIP included
    res = robust(write_instance(inst), evpi=False, adaptive=True, lag=5)
    assert res.summary["adaptive"]["objective"] == pytest.approx(12950)


def test_building_supply_without_re_planning_is_the_two_stage_program():
    # the bundled north-america-build instance (expansions, contracts, qualification
    # costs: a MIP): with a lag beyond the horizon, the same optimum as two-stage
    from optimizer.input import default_instance_path

    path = default_instance_path().parent.parent / "north-america-build" / "instance.yaml"
    res = robust(path, evpi=False, adaptive=True, lag=10)
    assert res.summary["adaptive"]["objective"] == pytest.approx(
        res.summary["two_stage"]["objective"], rel=1e-6)


def test_adaptive_plan_directly(write_instance):
    # the library function a notebook calls: base case first, then the scenarios
    from optimizer.data import prepare
    from optimizer.data_scenarios import scenario_data
    from optimizer.scenarios.cases import cases_for

    inst = load_instance(write_instance(world()))
    data = prepare(inst)
    sd = scenario_data(data)
    plan = adaptive_plan(inst, data, sd, cases_for(inst, sd), lag=0)
    assert plan.status == "optimal" and plan.expected_cost == pytest.approx(12400)
    with pytest.raises(ScenarioError, match="--lag"):
        adaptive_plan(inst, data, sd, cases_for(inst, sd), lag=-1)


@pytest.mark.parametrize(("change", "message"), [
    ({"parent": "nope"}, "no scenario 'nope' to branch from"),
    ({"parent": "strike"}, "names itself as its parent"),
    ({"from": 2030}, "starts in 2030, before its parent 'ban' (2031)"),
])
def test_parents_are_checked(write_instance, capsys, change, message):
    path = write_instance(world([dict(BAN, probability=0.15), dict(STRIKE, **change)]))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr()
    assert message in err.out + err.err


def test_a_circle_of_parents_is_refused(write_instance, capsys):
    one = dict(BAN, name="one", parent="two", probability=0.1)
    two = dict(BAN, name="two", parent="one", probability=0.1)
    assert main(["validate", str(write_instance(world([one, two])))]) == 2
    err = capsys.readouterr()
    assert "go round in a circle (one -> two -> one)" in err.out + err.err


def test_the_report_shows_the_tree(write_instance, tmp_path, browser):  # noqa: F811
    from optimizer.report.scenario_files import write_robust

    from .test_scenario_reports import charts_of, page_of, rendered, series

    path = write_instance(world([dict(BAN, probability=0.15), STRIKE]))
    write_robust(robust(path, evpi=False, adaptive=True), tmp_path / "r",
                 instance=load_instance(path))
    _, page = page_of(tmp_path / "r")
    rows = page.table("tree")
    assert rows[0][:5] == ["scenario", "branches from", "probability", "own plan from",
                           "buys in its own years"]
    assert [r[:5] for r in rows[1:]] == [
        ["base", "", "80%", "2030", "CN 300 GWh"],
        ["└ ban", "base", "15%", "2032", "KR 100 GWh"],
        ["└ strike", "ban", "5%", "never", "nothing of its own"]]
    # what each branch buys in its own years: base 300 GWh from A (CN), the ban 100 from B
    chart = charts_of(page)["adaptive-own"]
    assert chart["categories"] == ["base", "ban"]
    assert series(chart) == {"CN": pytest.approx([300, 0]), "KR": pytest.approx([0, 100])}
    assert "the value of adapting is USD 175.0 m" in page.plain
    charts = rendered(browser, tmp_path / "r", at_least=5)
    assert charts["adaptive-own"]["marks"] >= 2
