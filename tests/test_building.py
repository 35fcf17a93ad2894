"""Building supply (SPEC section 8): co-funded capacity, offtake contracts,
qualification costs and max_change rules, each where it binds and where it
is slack. Optima are worked out by hand (comments) and every solve is checked
against the independent reference model (tests/reference) and its plan
checker, through the files `solve --out` writes.

The world (tests/reference/test_reference_building.py has the same): one
application `ev` (lfp), 100 GWh per period; A (CN) 100 GWh at 60 USD/kWh; N
(US) no capacity of its own at 50, which exists only once funded; B (KR) 100
GWh at 64 when added. Discount rate 0 unless said.
"""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.cli import main
from tests.reference.check import check_plan as reference_check
from tests.reference.check import plan_cost as reference_cost
from tests.reference.model import solve as reference_solve

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
     "price": 60}
N = {"id": "N", "company": "n", "country": "US", "chemistry": "lfp", "price": 50}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 100,
     "price": 64}


def inst(periods=(2030,), demand=100, suppliers=(A, N), **kw):
    periods = list(periods)
    dem = demand if isinstance(demand, list | tuple) else [demand] * len(periods)
    d = {"format": 1, "name": "build", "periods": periods,
         "chemistries": [{"id": "lfp", "family": "lithium"}],
         "countries": [{"id": "CN", "bloc": "asia"}, {"id": "US", "bloc": "west"},
                       {"id": "KR", "bloc": "asia"}],
         "applications": [{"id": "ev", "chemistries": ["lfp"]}],
         "demand": [{"application": "ev", "period": t, "gwh": q}
                    for t, q in zip(periods, dem, strict=True)],
         "suppliers": copy.deepcopy(list(suppliers))}
    d.update(copy.deepcopy(kw))
    return d


def agrees(d: dict, path: Path, out: Path, objective: float) -> optimizer.Result:
    """`solve --out` on the instance: the hand optimum, the reference model's
    optimum, and the written plan (allocation, expansions, contracts) checked
    and priced by the reference checker."""
    assert main(["solve", str(path), "--out", str(out)]) == 0
    res = optimizer.solve(path)
    assert res.status == "optimal"
    assert res.objective == pytest.approx(objective, abs=1e-6)
    ref = reference_solve(d)
    assert ref["objective"] == pytest.approx(objective, abs=1e-6)
    alloc = pd.read_csv(out / "allocation.csv")[["supplier", "application", "period", "gwh"]]
    rows = alloc.to_dict("records")
    exps = cons = None
    if (out / "expansions.csv").exists():
        e = pd.read_csv(out / "expansions.csv")
        e["expansion"] = e["expansion"] - 1  # the reference counts rows from 0
        exps = e.to_dict("records")
    if (out / "contracts.csv").exists():
        cons = pd.read_csv(out / "contracts.csv").to_dict("records")
    assert reference_check(d, rows, exps, cons) == []
    assert reference_cost(d, rows, exps, cons) == pytest.approx(objective, abs=1e-6)
    assert res.check is not None and res.check.valid, res.check.violations
    assert res.cost_breakdown["total"] == pytest.approx(objective, abs=1e-6)
    return res


@pytest.fixture
def run(write_instance, tmp_path):
    counter = iter(range(1000))

    def go(d: dict, objective: float) -> optimizer.Result:
        k = next(counter)
        return agrees(d, write_instance(d, f"i{k}.yaml"), tmp_path / f"out{k}", objective)
    return go


# --------------------------------------------------------------------------- expansions
def test_expansion_integer_binds_continuous_is_finer_and_dear_steps_are_slack(run):
    # steps of 30 GWh at 200 (up to 4); a step saves 10/GWh x 30 = 300 > 200.
    # whole steps: 3 -> 90 @ 50 + 10 @ 60 + 600 = 5700 (4: 5800; 2: 5800)
    d = inst(expansions=[{"supplier": "N", "step_gwh": 30, "cost": 200, "max_steps": 4}])
    res = run(d, 5700)
    assert res.expansions[["supplier", "period", "steps", "gwh", "available_from",
                           "cost"]].values.tolist() == [["N", 2030, 3.0, 90.0, 2030, 600.0]]
    assert res.model_size.get("binaries", 0) + res.model_size.get("integers", 0) >= 1
    # fractions allowed: 10/3 steps make exactly 100 GWh: 5000 + 2000/3
    d["expansions"][0]["integer"] = False
    res = run(d, 5000 + 2000 / 3)
    assert res.expansions["steps"].iloc[0] == pytest.approx(10 / 3)
    assert res.solver.get("mip") is not True  # continuous expansions keep an LP
    # 400 a step is 13.3/GWh, more than the 10 saved: nothing funded, 6000
    d["expansions"][0]["cost"] = 400
    res = run(d, 6000)
    assert res.expansions.empty and list(res.expansions.columns)[:2] == ["supplier", "period"]


def test_lead_time_and_max_steps_over_the_window(run):
    # three years, one step of 100 GWh at 500 (saves 1000 a year it is there).
    # lead 1: funded 2030, there 2031-2032: 6000 + 5000 + 5000 + 500 = 16500
    d = inst(periods=(2030, 2031, 2032),
             expansions=[{"supplier": "N", "step_gwh": 100, "cost": 500, "lead_time": 1}])
    res = run(d, 16500)
    assert res.expansions[["period", "available_from"]].values.tolist() == [[2030, 2031]]
    # lead 0: 15500; lead 3: it could never arrive, no option: 18000
    d["expansions"][0]["lead_time"] = 0
    run(d, 15500)
    d["expansions"][0]["lead_time"] = 3
    run(d, 18000)
    # max_steps counts over all years: steps of 50 at 100, at most 1 in all, two years:
    # one step in the first year serves both: 2 x (2500 + 3000) + 100 = 11100 (2 steps: 10200)
    d = inst(periods=(2030, 2031),
             expansions=[{"supplier": "N", "step_gwh": 50, "cost": 100}])
    run(d, 11100)
    d["expansions"][0]["max_steps"] = 2
    run(d, 10200)


def test_discounted_funding_and_availability(run):
    # r = 10%; N available only in 2031: funding in 2031 (cost 500 / 1.1) or earlier
    # (500, not discounted) serves 2031 alone; the model funds in 2031:
    # 6000 + (5000 + 500) / 1.1 = 11000; without the expansion: 6000 + 6000/1.1
    n = {**N, "available_from": 2031}
    d = inst(periods=(2030, 2031), suppliers=(A, n), discount_rate=0.1,
             expansions=[{"supplier": "N", "step_gwh": 100, "cost": 500}])
    res = run(d, 6000 + 5500 / 1.1)
    assert res.expansions["period"].tolist() == [2031]
    assert res.cost_breakdown["expansions"] == pytest.approx(500 / 1.1)


# --------------------------------------------------------------------------- qualification
def test_qualification_charged_once_binds_and_is_slack(run):
    # B at 58 (saves 2/GWh x 100 x 2 years = 400) but must be qualified first.
    b = {**B, "price": 58}
    d = inst(periods=(2030, 2031), suppliers=(A, b))
    d["suppliers"][1]["qualification_cost"] = 300
    # 300 < 400: qualify once: 2 x 5800 + 300 = 11900
    res = run(d, 11900)
    assert res.cost_breakdown["qualification"] == pytest.approx(300)
    # 500 > 400: stay with A: 12000
    d["suppliers"][1]["qualification_cost"] = 500
    res = run(d, 12000)
    assert res.cost_breakdown["qualification"] == 0.0


# --------------------------------------------------------------------------- contracts
def test_contract_discount_signs_or_not(run):
    # B at 62 with a 5% discount on min 100 GWh: 62 x 0.95 = 58.9 < 60: signed, 5890
    d = inst(suppliers=(A, {**B, "price": 62}),
             contracts=[{"name": "kr", "supplier": "B", "min_gwh": 100, "discount": 0.05}])
    res = run(d, 5890)
    assert res.contracts[["contract", "signed", "gwh"]].values.tolist() == [["kr", True, 100.0]]
    # what the contract is worth, in solve's analysis: 6000 without it - 5890 = 110
    worth = res.option_worth.set_index("option")["worth"]
    assert worth["contract kr"] == pytest.approx(110)
    assert res.summary()["option_worth"][0]["worth"] == pytest.approx(110)
    assert res.contracts["discount"].iloc[0] == pytest.approx(0.05 * 62 * 100)
    # 2%: 60.76 > 60: not signed, 6000
    d["contracts"][0]["discount"] = 0.02
    res = run(d, 6000)
    assert res.contracts["signed"].tolist() == [False]


def test_take_or_pay_max_and_already_signed(run):
    # demand 100 then 45; B at 61 with take-or-pay min 50 in both years. Not signed:
    # all A, 6000 + 2700 = 8700. Signed at 6% off (57.34): 100 + 45 GWh from B and the
    # 5 GWh short of the minimum paid at the full 61: 5734 + 2580.3 + 305 = 8619.3
    d = inst(periods=(2030, 2031), demand=[100, 45], suppliers=(A, {**B, "price": 61}),
             contracts=[{"name": "top", "supplier": "B", "min_gwh": 50, "discount": 0.06,
                         "take_or_pay": True}])
    res = run(d, 8619.3)
    row = res.contracts.set_index("period").loc[2031]
    assert row["shortfall_gwh"] == pytest.approx(5) and row["shortfall_cost"] == pytest.approx(305)
    # at 5% off signing costs 5795 + 2607.75 + 305 = 8707.75 > 8700: not signed (slack)
    d["contracts"][0]["discount"] = 0.05
    res = run(d, 8700)
    assert not res.contracts["signed"].any()
    # already signed, max 40 and 20% off B at 64 (51.2): 40 @ 51.2 + 60 @ 60 = 5648
    d = inst(suppliers=(A, B), contracts=[{"name": "s", "supplier": "B", "min_gwh": 10,
                                           "max_gwh": 40, "discount": 0.2, "signed": True}])
    res = run(d, 5648)
    assert res.contracts["gwh"].tolist() == [40.0]
    # signed without a discount, min 30 forces B (64): 30 @ 64 + 70 @ 60 = 6120
    d["contracts"][0].update(discount=0.0, min_gwh=30)
    run(d, 6120)


# --------------------------------------------------------------------------- max_change
def test_max_change_binds_and_is_slack(run):
    # N (a funded-free plant: capacity 0, 100, 100) ramps; A falls as N rises.
    n = {**N, "capacity": 100}
    d = inst(periods=(2030, 2031, 2032), suppliers=(A, n),
             capacity=[{"supplier": "N", "period": 2030, "gwh": 0}],
             rules=[{"name": "ramp", "kind": "max_change", "by": "supplier", "group": ["N"],
                     "limit": 30}])
    # N: 0, 30, 60: 6000 + (1500 + 4200) + (3000 + 2400) = 17100
    res = run(d, 17100)
    rise = res.rules[(res.rules["rule"] == "ramp") & (res.rules["direction"] == "rise")]
    assert rise["value"].tolist() == pytest.approx([30, 30]) and rise["binding"].all()
    assert (rise["marginal_cost"] > 0).all()
    # limit 150: N jumps to 100 at once: 6000 + 5000 + 5000 = 16000 (slack)
    d["rules"][0]["limit"] = 150
    res = run(d, 16000)
    assert not res.rules[res.rules["rule"] == "ramp"]["binding"].any()


def test_max_change_rule_cost_and_frontier(write_instance):
    n = {**N, "capacity": 100}
    d = inst(periods=(2030, 2031, 2032), suppliers=(A, n),
             capacity=[{"supplier": "N", "period": 2030, "gwh": 0}],
             rules=[{"name": "ramp", "kind": "max_change", "by": "supplier", "group": ["N"],
                     "limit": 30}])
    path = write_instance(d)
    res = optimizer.solve(path)
    # dropping the ramp limit saves 17100 - 16000
    total = res.rule_summary.set_index("rule").loc["ramp", "total_cost"]
    assert total == pytest.approx(1100)
    # the frontier over the limit: 50 -> N 0, 50, 100: 6000 + 5500 + 5000 = 16500
    df = optimizer.frontier(path, "ramp", [100, 50, 30])
    assert df["objective"].tolist() == pytest.approx([16000, 16500, 17100])


def test_worth_of_contracts_and_expansions(write_instance):
    from optimizer.analysis.building import building_worth

    d = inst(suppliers=(A, {**B, "price": 62}, N),
             contracts=[{"name": "kr", "supplier": "B", "min_gwh": 100, "discount": 0.05}],
             expansions=[{"supplier": "N", "step_gwh": 30, "cost": 200, "max_steps": 4,
                          "integer": False}])
    # with both: N 100 GWh for 2000/3 -> 5666.67 (the contract then is not signed);
    # without the expansion: the contract, 5890; without the contract: 5666.67.
    worth = building_worth(optimizer.load_instance(write_instance(d))).set_index("option")
    assert worth.loc["expansion 1 (N)", "worth"] == pytest.approx(5890 - (5000 + 2000 / 3))
    assert worth.loc["contract kr", "worth"] == pytest.approx(0.0, abs=1e-6)


# --------------------------------------------------------------------------- input errors
@pytest.mark.parametrize("change, message", [
    ({"expansions": [{"supplier": "Z", "step_gwh": 10, "cost": 1}]}, "unknown supplier 'Z'"),
    ({"expansions": [{"supplier": "N", "step_gwh": 0, "cost": 1}]}, "step_gwh"),
    ({"expansions": [{"supplier": "N", "step_gwh": 10, "cost": 1, "first": 2031,
                      "last": 2030}]}, "must not be before first"),
    ({"expansions": [{"supplier": "N", "step_gwh": 10, "cost": 1, "max_steps": 1.5}]},
     "whole number of steps"),
    ({"contracts": [{"name": "c", "supplier": "A", "min_gwh": 10, "max_gwh": 5}]},
     "must not be below min_gwh"),
    ({"contracts": [{"name": "c", "supplier": "A", "min_gwh": 1},
                    {"name": "d", "supplier": "A", "min_gwh": 1}]},
     "one contract per supplier and period"),
    ({"contracts": [{"name": "c", "supplier": "A", "min_gwh": 1, "discount": 1.5}]},
     "discount"),
    ({"contracts": [{"name": "c", "supplier": "A", "min_gwh": 1, "from": 2040}]},
     "covers no period"),
    ({"rules": [{"name": "r", "kind": "max_change", "by": "supplier", "limit": -1}]},
     "change in volume >= 0"),
])
def test_bad_building_tables_are_refused_with_the_row_named(write_instance, capsys, change,
                                                            message):
    d = inst(periods=(2030, 2031), **change)
    assert main(["validate", str(write_instance(d))]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_supplier_that_exists_only_once_funded_needs_a_price(write_instance, capsys):
    n = {k: v for k, v in N.items() if k != "price"}
    d = inst(suppliers=(A, n), expansions=[{"supplier": "N", "step_gwh": 10, "cost": 1}])
    assert main(["validate", str(write_instance(d))]) == 2
    assert "has capacity (or could have, once funded) but no price" in capsys.readouterr().err


# --------------------------------------------------------------------------- random instances
@pytest.mark.parametrize("seed", range(6))
def test_random_instances_match_the_reference(write_instance, tmp_path, seed):
    """Small random instances with every feature, solved by the product and
    by the reference model: same optimum; the product's plan passes the
    reference checker at that cost."""
    rng = np.random.default_rng(seed)
    periods = [2030, 2031, 2032]
    sups = []
    for k in range(5):
        sups.append({"id": f"s{k}", "company": f"c{k % 3}", "country": ["CN", "US", "KR"][k % 3],
                     "chemistry": "lfp", "capacity": float(rng.choice([0, 30, 60])),
                     "price": float(rng.integers(50, 70))})
        if rng.random() < 0.4:
            sups[-1]["qualification_cost"] = float(rng.integers(0, 200))
    d = inst(periods=periods, demand=[float(rng.integers(60, 120)) for _ in periods],
             suppliers=sups)
    d["applications"][0]["unmet_penalty"] = 200
    d["expansions"] = [{"supplier": f"s{k}", "step_gwh": float(rng.integers(10, 40)),
                        "cost": float(rng.integers(50, 400)),
                        "lead_time": int(rng.integers(0, 2)),
                        "max_steps": float(rng.integers(1, 3)),
                        "integer": bool(rng.random() < 0.5)} for k in (0, 1)]
    d["contracts"] = [{"name": "k1", "supplier": "s2", "min_gwh": float(rng.integers(0, 40)),
                       "discount": float(rng.choice([0, 0.03, 0.08])),
                       "take_or_pay": bool(rng.random() < 0.5), "from": 2031},
                      {"name": "k2", "supplier": "s3", "min_gwh": 0.0,
                       "max_gwh": float(rng.integers(10, 50)), "discount": 0.05,
                       "signed": bool(rng.random() < 0.5)}]
    d["rules"] = [{"name": "ramp", "kind": "max_change", "by": "company",
                   "limit": float(rng.integers(20, 60))}]
    path = write_instance(d)
    ref = reference_solve(d)
    res = optimizer.solve(path)
    assert res.status == ref["status"]
    if ref["status"] != "optimal":
        return
    agrees(d, path, tmp_path / "out", ref["objective"])


# --------------------------------------------------------------------------- scenarios
def test_funded_capacity_in_stress_and_as_a_first_stage_decision(write_instance):
    # one year; N (no capacity of its own, 50) exists once a step of 100 GWh is funded.
    # A Chinese cell export ban (probability 0.5) cuts A (CN) to 0; shortage 1000/kWh.
    ban = [{"name": "cn-ban", "probability": 0.5,
            "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.0}}]
    # a cheap step (500): the plan funds it and buys all from N: 5000 + 500 = 5500;
    # the ban does not touch N (its capacity was funded): 5500 in both cases
    d = inst(scenarios=ban, expansions=[{"supplier": "N", "step_gwh": 100, "cost": 500}])
    st = optimizer.stress(write_instance(d, "cheap.yaml"))
    cost = st.scenarios.set_index("scenario")["cost"]
    assert cost["base"] == pytest.approx(5500) and cost["cn-ban"] == pytest.approx(5500)
    # a dear step (1500): the deterministic plan stays with A (6000 < 6500); in the ban
    # A delivers nothing and N was never funded: 100 GWh unmet at 1000 = 100,000.
    # Robust: fund N and buy from it (6500 in every case; funding N but contracting A
    # and buying N's capacity spot in the ban would cost 7500) -> E = 6500, and
    # E[deterministic] = 0.5 x 6000 + 0.5 x 100,000 = 53,000: VSS = 46,500
    d["expansions"][0]["cost"] = 1500
    res = optimizer.robust(write_instance(d, "dear.yaml"), evpi=False)
    assert res.summary["expected_cost"] == pytest.approx(6500)
    assert res.summary["vss"] == pytest.approx(46500)
    robust_plan = res.plans["robust"]
    assert robust_plan.funding is not None
    assert robust_plan.funding[["supplier", "steps"]].values.tolist() == [["N", 1.0]]


def test_robust_cli_writes_what_the_robust_plan_funds(write_instance, tmp_path, capsys):
    # the dear-step world above: the robust plan funds N's step (first stage)
    ban = [{"name": "cn-ban", "probability": 0.5,
            "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.0}}]
    d = inst(scenarios=ban, expansions=[{"supplier": "N", "step_gwh": 100, "cost": 1500}],
             contracts=[{"name": "k", "supplier": "A", "min_gwh": 10, "discount": 0.01}])
    out = tmp_path / "robust"
    assert main(["robust", str(write_instance(d)), "--no-evpi", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "The robust plan: Co-funded capacity: N 100.0 GWh/yr from 2030" in " ".join(
        text.split())
    funded = pd.read_csv(out / "expansions.csv")
    assert funded[["supplier", "period", "steps", "cost"]].values.tolist() == [
        ["N", 2030, 1.0, 1500.0]]
    assert pd.read_csv(out / "contracts.csv")["signed"].tolist() == [False]
    assert (out / "report.html").is_file()


def test_an_infeasible_plan_is_repaired_by_funding(write_instance, capsys):
    # demand 100; A (CN) 50 GWh and a 50% cap on CN; N grows in steps of 20, one allowed:
    # at most 50 + 20 = 70 GWh. The repair names the 30 GWh gap and the funding that
    # closes it: 2 more steps (N 60 GWh: A 50 + N 50 = 100, CN at 50%).
    d = inst(suppliers=({**A, "capacity": 50}, N),
             expansions=[{"supplier": "N", "step_gwh": 20, "cost": 100}],
             rules=[{"name": "cn-cap", "kind": "max_share", "by": "country", "group": ["CN"],
                     "limit": 0.5}])
    assert main(["solve", str(write_instance(d, "tight.yaml"))]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert "by 30 GWh" in text
    assert ("N: co-funding could close the gap: allow 2 more steps of its expansion (row 1 of "
            "expansions: 20 GWh each; max_steps 1 -> 3, about USD 200.0 million more)") in text
    res = optimizer.solve(write_instance(d, "tight.yaml"))
    assert res.repairs[0]["funding_steps"] == 2 and res.repairs[0]["expansion"] == 1
    # following the advice restores a plan; N's 60 GWh are cheaper than A's, all used:
    # 60 x 50 + 40 x 60 + 3 steps x 100 = 5700
    d["expansions"][0]["max_steps"] = 3
    assert optimizer.solve(write_instance(d, "fixed.yaml")).objective == pytest.approx(5700)


def test_a_signed_contract_that_cannot_be_kept_is_named(write_instance, capsys):
    # B stops delivering after 2030, but a signed contract wants 10 GWh from it in 2031
    d = inst(periods=(2030, 2031), suppliers=(A, {**B, "available_until": 2030}),
             contracts=[{"name": "kr", "supplier": "B", "min_gwh": 10, "signed": True}])
    assert main(["solve", str(write_instance(d))]) == 1
    text = " ".join(capsys.readouterr().out.split())
    assert ("contract 'kr' commits the buyer to at least 10 GWh from B in 2031, more than can "
            "be bought there under the rules: lower its minimum to 0 GWh") in text
    # take-or-pay instead: 2030 buys 10 from B (640 + 90 x 60), 2031 pays for the 10
    # it cannot take: 6040 + 6000 + 640 = 12,680
    d["contracts"][0]["take_or_pay"] = True
    assert optimizer.solve(write_instance(d, "top.yaml")).objective == pytest.approx(12680)


def test_check_reads_the_funding_beside_the_plan(write_instance, tmp_path, capsys):
    # the plan of the cheap-step world funds N: checked with expansions.csv beside it,
    # it is valid and costs 5500; without it, N's 100 GWh break its capacity (0)
    d = inst(expansions=[{"supplier": "N", "step_gwh": 100, "cost": 500}])
    path = str(write_instance(d))
    out = tmp_path / "out"
    assert main(["solve", path, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["check", path, str(out / "allocation.csv"), "--objective", "5500"]) == 0
    text = capsys.readouterr().out
    assert "valid" in text and "co-funded capacity" in text
    alone = tmp_path / "alone"
    alone.mkdir()
    (alone / "allocation.csv").write_text((out / "allocation.csv").read_text())
    assert main(["check", path, str(alone / "allocation.csv")]) == 1
    assert "capacity" in capsys.readouterr().out


def test_frontier_of_a_ramp_reads_in_gwh(write_instance, capsys):
    n = {**N, "capacity": 100}
    d = inst(periods=(2030, 2031, 2032), suppliers=(A, n),
             capacity=[{"supplier": "N", "period": 2030, "gwh": 0}],
             rules=[{"name": "ramp", "kind": "max_change", "by": "supplier", "group": ["N"],
                     "limit": 30}])
    assert main(["frontier", str(write_instance(d)), "--rule", "ramp"]) == 0
    text = capsys.readouterr().out
    # swept around its own limit, 45 to 15 GWh; at 30 GWh the hand optimum 17,100
    import re

    assert re.search(r"│\s+30 GWh │\s+17,100\.0 │", text)
    assert "%" not in text.split("premiums")[1]
    assert "ramp = 45 GWh" in text
