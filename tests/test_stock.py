"""Buffer stock and time to survive (SPEC section 10), worked out by hand.

World: one application ``grid`` (lfp), 2030-2031, 100 GWh a year, no discount;
A (CN) 150 GWh a year at 60 USD/kWh, the only offer; shortage penalty 1000
USD/kWh. A stock of up to 50 GWh at 5 USD/kWh a year. The ban (probability
0.2): A delivers nothing in 2031.
"""

from __future__ import annotations

import pandas as pd
import pytest

import optimizer
from optimizer.cli import main
from optimizer.scenarios import robust, stress

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 150,
     "price": 60}
BAN = {"name": "ban", "probability": 0.2, "from": 2031,
       "capacity_factor": {"by": "supplier", "group": ["A"], "factor": 0.0}}


def world(stock=None, scenarios=(BAN,)):
    d = {"format": 1, "name": "stock", "periods": [2030, 2031],
         "chemistries": [{"id": "lfp", "family": "lithium"}],
         "countries": [{"id": "CN"}],
         "applications": [{"id": "grid", "chemistries": ["lfp"]}],
         "demand": [{"application": "grid", "period": t, "gwh": 100} for t in (2030, 2031)],
         "suppliers": [dict(A)], "scenarios": list(scenarios)}
    d["stock"] = stock if stock is not None else [
        {"application": "grid", "max_gwh": 50, "holding_cost": 5}]
    return d


def test_the_deterministic_plan_holds_no_stock_and_initial_stock_is_used(write_instance):
    # holding costs 5 a year and nothing can go wrong: no stock, 2 x 6000 = 12,000
    res = optimizer.solve(write_instance(world()))
    assert res.objective == pytest.approx(12000)
    assert res.stock["level_gwh"].tolist() == [0.0, 0.0]
    # 20 GWh in stock at the start: used in 2030 (80 bought): 4800 + 6000 = 10,800
    res = optimizer.solve(write_instance(world(stock=[
        {"application": "grid", "max_gwh": 50, "holding_cost": 5, "initial_gwh": 20}]), "i.yaml"))
    assert res.objective == pytest.approx(10800)
    assert res.stock["inflow_gwh"].tolist() == [-20.0, 0.0]
    assert res.check is not None and res.check.valid


def test_stress_and_time_to_survive_without_stock(write_instance):
    # the ban: 100 GWh lost in 2031, no spare capacity, no stock: 100 x 1000 unmet;
    # 12,000 - 6000 (A's 2031 contracts not delivered) + 100,000 = 106,000: 0 months
    res = stress(write_instance(world()))
    sc = res.scenarios.set_index("scenario")
    assert sc.loc["ban", "cost"] == pytest.approx(106000)
    surv = res.survival.set_index("scenario")
    assert surv.loc["ban", "months"] == pytest.approx(0) and not surv.loc["ban", "covers_to_end"]
    assert pd.isna(surv.loc["base", "months"])  # nothing lost in the base case


def test_robust_plan_buys_ahead_and_a_held_stock_survives_six_months(write_instance, tmp_path):
    # Robust: buy 50 GWh more in 2030 (A has 150) and use them in 2031, buying only 50
    # then: base 150 x 60 + 5 x 50 (held through 2030) + 50 x 60 = 12,250; in the ban
    # only the 50 contracted for 2031 are lost, unmet at 1000: 12,250 - 3000 + 50,000
    # = 59,250. E = 0.8 x 12,250 + 0.2 x 59,250 = 21,650 (holding 50 through 2031
    # instead would cost 70 a GWh in every case: E 24,300). Deterministic plan: E =
    # 0.8 x 12,000 + 0.2 x 106,000 = 30,800, VSS 9150.
    path = write_instance(world())
    res = robust(path, evpi=False)
    assert res.summary["expected_cost"] == pytest.approx(21650)
    assert res.summary["vss"] == pytest.approx(9150)
    assert res.plans["robust"].stock["level_gwh"].tolist() == pytest.approx([50, 0])
    out = tmp_path / "robust"
    assert main(["robust", str(path), "--no-evpi", "--out", str(out)]) == 0
    assert pd.read_csv(out / "stock.csv")["level_gwh"].tolist() == pytest.approx([50, 0])
    assert (out / "survival.csv").is_file()
    # a plan that holds the 50 GWh through 2031 instead: the ban loses 100 GWh in a
    # year, the stock covers 50 of them: 6 months. Cost 12,000 + 3000 + 2 x 250 =
    # 15,500 in the base case; ban: 15,500 - 6000 + 50 x 1000 = 59,500.
    inst = optimizer.load_instance(path)
    from optimizer.data import prepare
    from optimizer.scenarios import scenario_data
    from optimizer.scenarios.plans import plan_from_allocation

    sd = scenario_data(prepare(inst))
    plan = pd.DataFrame([("A", "grid", 2030, 150.0), ("A", "grid", 2031, 100.0)],
                        columns=["supplier", "application", "period", "gwh"])
    levels = pd.DataFrame([("grid", 2030, 50.0), ("grid", 2031, 50.0)],
                          columns=["application", "period", "level_gwh"])
    held = plan_from_allocation(inst, sd, plan, "held", stock=levels)
    st = stress(inst, held)
    assert st.scenarios.set_index("scenario").loc["ban", "cost"] == pytest.approx(59500)
    surv = st.survival.set_index("scenario")
    assert surv.loc["ban", "months"] == pytest.approx(6)
    assert not surv.loc["ban", "covers_to_end"]
    assert st.summary["time_to_survive"][0]["shortest_months"] == pytest.approx(6)


def test_draws_are_limited_by_the_level_across_periods(write_instance):
    # a plan that holds 30 GWh at the end of 2030 and 10 at the end of 2031 (20 taken
    # out to meet 2031's demand: 80 bought then), played in a ban from 2030 on:
    # 2030: 130 contracted (100 + 30 into stock), none delivered; draws up to 2030's
    # level are at most 30 but what is drawn is gone: 2031's level, 10, caps the total.
    d = world(scenarios=[{**BAN, "from": 2030}], stock=[
        {"application": "grid", "max_gwh": 50, "holding_cost": 5}])
    path = write_instance(d)
    inst = optimizer.load_instance(path)
    plan = pd.DataFrame([("A", "grid", 2030, 130.0), ("A", "grid", 2031, 80.0)],
                        columns=["supplier", "application", "period", "gwh"])
    from optimizer.data import prepare
    from optimizer.scenarios import scenario_data
    from optimizer.scenarios.plans import plan_from_allocation
    from optimizer.scenarios.playout import play_out

    sd = scenario_data(prepare(inst))
    levels = pd.DataFrame([("grid", 2030, 30.0), ("grid", 2031, 10.0)],
                          columns=["application", "period", "level_gwh"])
    p = plan_from_allocation(inst, sd, plan, "p", stock=levels)
    # base cost: 210 x 60 + holding 5 x (30 + 10) = 12,800
    assert p.base_cost == pytest.approx(12800)
    from optimizer.scenarios.cases import file_cases

    ban = file_cases(inst, sd)[1]
    out = play_out(sd, p, ban)
    # lost: 100 (2030; the 30 bought into stock are lost too, but only demand counts:
    # need = lost deliveries = 130 ... of which 100 meet demand) -- the play-out
    # covers each period's lost contracted GWh: 130 in 2030 and 80 in 2031; draws
    # at most 10 in all (the 2031 level): unmet 130 + 80 - 10 = 200 at 1000.
    # cost = 12,800 - 12,600 (nothing delivered) + 200,000 = 200,200
    assert out["stock_drawn_gwh"] == pytest.approx(10)
    assert out["cost"] == pytest.approx(200200)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_against_the_independent_reference(write_instance, seed):
    """Generated instances with stock for two applications, demand shocks, cuts
    and a likely ban (tests/reference/test_reference_stock.stocked): the robust
    objective (expected cost, half CVaR), every case's play-out of the
    deterministic and robust plans (purchases and levels) and time to survive,
    against tests/reference/scenarios.py."""
    from tests.reference.scenarios import playout_costs, robust_objective, time_to_survive
    from tests.reference.test_reference_stock import stocked

    d = stocked(seed)
    path = write_instance(d)
    res = robust(path, alpha=0.8, evpi=False)
    assert res.summary["objective"] == pytest.approx(robust_objective(d), rel=1e-7)
    half = robust(path, weight=0.5, alpha=0.8, evpi=False)
    assert half.summary["objective"] == pytest.approx(robust_objective(d, 0.5, 0.8), rel=1e-7)
    for name in ("deterministic", "robust"):
        p = res.plans[name]
        plan = {(r.supplier, r.application, int(r.period)): r.gwh
                for r in p.allocation.itertuples(index=False)}
        levels = {(r.application, int(r.period)): r.level_gwh
                  for r in p.stock.itertuples(index=False)} if p.stock is not None else {}
        ref = playout_costs(d, plan, levels)
        got = res.tables[name].set_index("scenario")["cost"]
        for case, cost in ref.items():
            assert got[case] == pytest.approx(cost, rel=1e-7), (name, case)
        surv = res.survival[res.survival["plan"] == name].set_index(["scenario",
                                                                    "application"])
        for (case, app), (months, to_end) in time_to_survive(d, plan, levels).items():
            row = surv.loc[(case, app)]
            if months is None:
                assert pd.isna(row["months"])
            else:
                assert row["months"] == pytest.approx(months, abs=1e-6), (name, case, app)
                assert bool(row["covers_to_end"]) == to_end


def test_time_to_survive_in_the_reports(write_instance, tmp_path):
    # the held plan above (50 GWh through 2031): 6 months in the ban, nothing lost in the
    # base case; the robust plan holds nothing in 2031: 0 months for it, 6 for none
    from optimizer.data import prepare
    from optimizer.report.scenario_files import write_robust, write_stress
    from optimizer.scenarios import scenario_data
    from optimizer.scenarios.plans import plan_from_allocation

    from .test_scenario_reports import charts_of, page_of, series

    path = write_instance(world())
    inst = optimizer.load_instance(path)
    sd = scenario_data(prepare(inst))
    plan = pd.DataFrame([("A", "grid", 2030, 150.0), ("A", "grid", 2031, 100.0)],
                        columns=["supplier", "application", "period", "gwh"])
    levels = pd.DataFrame([("grid", 2030, 50.0), ("grid", 2031, 50.0)],
                          columns=["application", "period", "level_gwh"])
    held = plan_from_allocation(inst, sd, plan, "held", stock=levels)
    write_stress(stress(inst, held), tmp_path / "s", instance=inst)
    _, page = page_of(tmp_path / "s")
    chart = charts_of(page)["survival"]
    assert chart["categories"] == ["ban (grid)"]
    assert series(chart) == {"the plan": pytest.approx([6.0])}
    rows = page.table("survival")
    assert rows[0][:3] == ["scenario", "application", "months"]
    assert [r[:3] for r in rows[1:]] == [["base", "grid", "–"], ["ban", "grid", "6.0"]]
    assert "24 months at most" in page.plain
    # robust: the robust plan's 2031 level is 0, so the ban leaves it 0 months
    write_robust(robust(inst, evpi=False), tmp_path / "r", instance=inst)
    _, page = page_of(tmp_path / "r")
    assert series(charts_of(page)["survival"]) == {"robust plan": pytest.approx([0.0])}
    # without a stock table there is no section at all
    bare = optimizer.load_instance(write_instance(world(stock=[]), "bare.yaml"))
    write_stress(stress(bare), tmp_path / "b", instance=bare)
    assert "survival" not in charts_of(page_of(tmp_path / "b")[1])


def test_a_plan_that_holds_stock_is_checked_and_stressed_with_its_stock(write_instance,
                                                                        tmp_path):
    # A costs 60 in 2030 and 80 in 2031; holding a GWh through 2030 costs 5: the plan
    # buys the full 50 GWh of stock ahead (150 in 2030, 50 in 2031):
    # 150 x 60 + 50 x 5 + 50 x 80 = 13,250 (instead of 6000 + 8000 = 14,000)
    inst = world()
    inst["prices"] = [{"supplier": "A", "period": 2031, "price": 80}]
    path = write_instance(inst)
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(13250)
    out = tmp_path / "solve"
    assert main(["solve", str(path), "--out", str(out)]) == 0
    # check and stress read the stock.csv beside allocation.csv
    assert main(["check", str(path), str(out / "allocation.csv"), "--objective",
                 "13250"]) == 0
    assert main(["stress", str(path), "--plan", str(out / "allocation.csv")]) == 0
    # the ban (2031): the 50 contracted for 2031 are lost; the 50 in stock were bought
    # for 2031's demand already and are drawn as planned (level 0 at the end of 2031),
    # so 50 GWh go unmet: 13,250 - 4000 + 50 x 1000 = 59,250, and no stock is left
    # over to survive on (0 months)
    st = stress(path, res)
    assert st.scenarios.set_index("scenario").loc["ban", "cost"] == pytest.approx(59250)
    assert st.survival.set_index("scenario").loc["ban", "months"] == pytest.approx(0)
    assert stress(path, str(out / "allocation.csv")).summary["expected_cost"] == \
        pytest.approx(st.summary["expected_cost"])
    # without its stock the plan buys 50 GWh more than 2030's demand: not a plan
    (out / "stock.csv").rename(tmp_path / "elsewhere.csv")
    assert main(["check", str(path), str(out / "allocation.csv")]) == 1
    assert main(["check", str(path), str(out / "allocation.csv"), "--stock",
                 str(tmp_path / "elsewhere.csv")]) == 0
