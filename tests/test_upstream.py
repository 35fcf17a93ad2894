"""Upstream materials (SPEC section 7): rules and scenarios by origin, by hand
and against the independent reference model.

The upstream world extends the three-supplier world of conftest.py:

    LFP cells hold 1 kg of graphite per kWh (1 GWh -> 1 kt); Na-ion none.
    Active graphite of cn1 (CATL): 100% CN; of kr1 (LGES): 50% CN, 50% KR.
    Prices: cn1 40, kr1 50, us1 70 USD/kWh; 100 GWh of grid demand.

With c, k, u the GWh bought from cn1, kr1, us1 (c + k + u = 100):
    graphite kt      = c + k
    CN graphite kt   = c + 0.5 k
    KR graphite kt   = 0.5 k
    cost             = 40 c + 50 k + 70 u
Without rules: c = 100, cost 4000.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from benchmarks.generate import add_upstream, generate, write
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.scenarios import robust, stress
from tests.conftest import supplier, world
from tests.reference.check import check_plan
from tests.reference.model import solve as ref_solve

REL = 1e-7
GRAPHITE = {"material": "graphite", "stage": "active_material"}


def upstream_world(rules=(), **changes):
    inst = world(
        materials=[{"id": "graphite"}],
        stages=["mining", "active_material"],
        content=[{"chemistry": "lfp", "material": "graphite", "kg_per_kwh": 1.0}],
        origins=[
            {"supplier": "cn1", **GRAPHITE, "country": "CN", "share": 1.0},
            {"supplier": "kr1", **GRAPHITE, "country": "CN", "share": 0.5},
            {"supplier": "kr1", **GRAPHITE, "country": "KR", "share": 0.5},
        ],
        rules=list(rules),
        **changes,
    )
    return inst


def origin_rule(name, kind, **kw):
    return {"name": name, "kind": kind, "by": "origin", **GRAPHITE, **kw}


#: CATL at most 10% of GWh: then c = 10, k = 90 (cost 400 + 4500 = 4900), and
#: CN graphite = 10 + 45 = 55 kt of 100 kt (55%), KR 45 kt (45%)
CATL10 = {"name": "catl10", "kind": "max_share", "by": "company", "group": ["CATL"],
          "limit": 0.1}


def row_of(res, name):
    rows = res.rules[res.rules["rule"] == name]
    assert len(rows) >= 1
    return rows.iloc[0]


def gwh(res, sid):
    return float(res.allocation.loc[res.allocation["supplier"] == sid, "gwh"].sum())


def agrees_with_reference(path, res):
    ref = ref_solve(path)
    assert ref["status"] == "optimal"
    assert res.objective == pytest.approx(ref["objective"], rel=1e-7)
    assert check_plan(path, res.allocation.to_dict("records")) == []


# ------------------------------------------------------------------ share of mass
def test_origin_max_share_binding(write_instance):
    # CN <= 60% of graphite: c + 0.5k <= 0.6(c + k) <=> k >= 4c; Na-ion (70) costs
    # more than the mix, so c + k = 100: c = 20, k = 80, cost 800 + 4000 = 4800.
    # The cost as a function of the limit L: c = 200(L - 0.5), cost 5000 - 2000(L - 0.5):
    # a point tighter costs 20 more.
    path = write_instance(upstream_world([origin_rule("cap", "max_share", group=["CN"],
                                                      limit=0.6)]))
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(4800, rel=REL)
    assert gwh(res, "cn1") == pytest.approx(20) and gwh(res, "kr1") == pytest.approx(80)
    row = row_of(res, "cap")
    assert row["value"] == pytest.approx(0.6) and bool(row["binding"])
    assert row["measure"] == "kt"
    assert row["group_gwh"] == pytest.approx(60) and row["covered_gwh"] == pytest.approx(100)
    assert row["marginal_cost"] == pytest.approx(20, rel=1e-6)
    assert row["total_cost"] == pytest.approx(800, rel=1e-6)  # 4800 - 4000 without it
    assert res.model_size["binaries"] == 0
    agrees_with_reference(path, res)


@pytest.mark.parametrize(("penalty", "expected", "miss"), [(5, 4200, 40), (30, 4800, 0)])
def test_soft_origin_share(solve_dict, penalty, expected, miss):
    # the penalty is per kt of miss (USD million per kt = USD/kg). Meeting the 60% cap
    # costs 20 per kt of CN graphite moved (see above), so a penalty of 5 is paid on
    # all 40 kt (4000 + 200) and one of 30 is not paid at all (4800)
    res = solve_dict(upstream_world([origin_rule("cap", "max_share", group=["CN"],
                                                 limit=0.6, penalty=penalty)]))
    assert res.objective == pytest.approx(expected, rel=REL)
    assert row_of(res, "cap")["miss"] == pytest.approx(miss, abs=1e-6)


def test_origin_max_share_slack(solve_dict):
    # with CATL <= 10%: CN graphite is 55% <= 60%
    res = solve_dict(upstream_world([origin_rule("cap", "max_share", group=["CN"],
                                                 limit=0.6), CATL10]))
    assert res.objective == pytest.approx(4900, rel=REL)
    row = row_of(res, "cap")
    assert row["value"] == pytest.approx(0.55) and row["slack"] == pytest.approx(0.05)
    assert not bool(row["binding"]) and row["marginal_cost"] == pytest.approx(0)


def test_origin_min_share_binding_and_slack(solve_dict):
    # KR >= 40% of graphite: 0.5k >= 0.4(c + k) <=> k >= 4c: the same 4800
    floor = origin_rule("kr-floor", "min_share", group=["KR"], limit=0.4)
    res = solve_dict(upstream_world([floor]))
    assert res.objective == pytest.approx(4800, rel=REL)
    assert bool(row_of(res, "kr-floor")["binding"])
    # KR >= 10% with CATL <= 10%: KR is 45%
    res = solve_dict(upstream_world([{**floor, "limit": 0.1}, CATL10]))
    assert res.objective == pytest.approx(4900, rel=REL)
    row = row_of(res, "kr-floor")
    assert row["value"] == pytest.approx(0.45) and not bool(row["binding"])


# ------------------------------------------------------------------ volume in kt
def test_origin_max_volume_binding(write_instance):
    # CN graphite <= 30 kt: c + 0.5k <= 30. cost = 7000 - 30c - 20k with u = 100 - c - k:
    # the best vertex is c = 0, k = 60, u = 40: 3000 + 2800 = 5800 (c = 30, k = 0 gives
    # 6100). Each kt more lets 2 GWh move from Peak (70) to LGES (50): 40 per kt.
    path = write_instance(upstream_world([origin_rule("vol", "max_volume", group=["CN"],
                                                      limit=30)]))
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(5800, rel=REL)
    assert gwh(res, "kr1") == pytest.approx(60) and gwh(res, "us1") == pytest.approx(40)
    row = row_of(res, "vol")
    assert row["unit"] == "kt" and row["value"] == pytest.approx(30) and bool(row["binding"])
    assert row["marginal_cost"] == pytest.approx(40, rel=1e-6)
    assert row["total_cost"] == pytest.approx(1800, rel=1e-6)
    agrees_with_reference(path, res)


def test_origin_max_volume_slack(solve_dict):
    res = solve_dict(upstream_world([origin_rule("vol", "max_volume", group=["CN"],
                                                 limit=60), CATL10]))
    assert res.objective == pytest.approx(4900, rel=REL)
    row = row_of(res, "vol")
    assert row["value"] == pytest.approx(55) and row["slack"] == pytest.approx(5)
    assert not bool(row["binding"])


def test_origin_min_volume_binding_and_slack(solve_dict):
    # KR graphite >= 30 kt: 0.5k >= 30, k >= 60: c = 40, k = 60: 1600 + 3000 = 4600
    floor = origin_rule("kr-kt", "min_volume", group=["KR"], limit=30)
    res = solve_dict(upstream_world([floor]))
    assert res.objective == pytest.approx(4600, rel=REL)
    assert bool(row_of(res, "kr-kt")["binding"])
    res = solve_dict(upstream_world([{**floor, "limit": 10}, CATL10]))
    row = row_of(res, "kr-kt")
    assert row["value"] == pytest.approx(45) and not bool(row["binding"])


# ------------------------------------------------------------------ exclude
def test_origin_exclude_binding(write_instance):
    # no CN graphite at all: cn1 (100% CN) and kr1 (50% CN) are out: Peak 100 x 70
    path = write_instance(upstream_world([origin_rule("no-cn", "exclude", group=["CN"])]))
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(7000, rel=REL)
    assert gwh(res, "us1") == pytest.approx(100)
    agrees_with_reference(path, res)


def test_origin_exclude_slack(solve_dict):
    # no KR graphite: only kr1 is out, and the optimum buys from cn1 anyway
    res = solve_dict(upstream_world([origin_rule("no-kr", "exclude", group=["KR"])]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert gwh(res, "cn1") == pytest.approx(100)


def test_origin_exclude_ignores_cells_without_the_material(solve_dict):
    # Na-ion holds no graphite: origins given for us1 do not make it excluded
    inst = upstream_world([origin_rule("no-cn", "exclude", group=["CN"])])
    inst["origins"].append({"supplier": "us1", **GRAPHITE, "country": "CN", "share": 1.0})
    assert solve_dict(inst).objective == pytest.approx(7000, rel=REL)


# ------------------------------------------------------------------ top-k and HHI
def test_origin_top_share_binding_and_slack(solve_dict):
    # the largest origin country <= 60%: CN is the largest (c + 0.5k >= 0.5k): as the cap, 4800
    top = origin_rule("top", "max_top_share", k=1, limit=0.6)
    res = solve_dict(upstream_world([top]))
    assert res.objective == pytest.approx(4800, rel=REL)
    assert bool(row_of(res, "top")["binding"])
    assert res.model_size["binaries"] == 0
    # with CATL <= 10% the largest is CN at 55% <= 60%
    res = solve_dict(upstream_world([top, CATL10]))
    row = row_of(res, "top")
    assert row["value"] == pytest.approx(0.55) and not bool(row["binding"])


def test_origin_hhi_binding_and_slack(solve_dict):
    # t = k/(c + k), u = t/2 the KR share: HHI = (1 - u)^2 + u^2 <= 0.58
    # <=> u^2 - u + 0.21 <= 0 <=> u in [0.3, 0.7]: t >= 0.6: c = 40, k = 60: 4600
    hhi = origin_rule("hhi", "max_hhi", limit=0.58)
    res = solve_dict(upstream_world([hhi]))
    assert res.objective == pytest.approx(4600, rel=1e-5)
    assert gwh(res, "kr1") == pytest.approx(60, rel=1e-4)
    assert row_of(res, "hhi")["value"] == pytest.approx(0.58, abs=1e-5)
    assert res.model_size["binaries"] == 0
    # with CATL <= 10%: u = 0.45, HHI = 0.55^2 + 0.45^2 = 0.505 <= 0.9
    res = solve_dict(upstream_world([{**hhi, "limit": 0.9}, CATL10]))
    row = row_of(res, "hhi")
    assert row["value"] == pytest.approx(0.505) and not bool(row["binding"])


# ------------------------------------------------------------------ spend
def test_spend_share_binding(write_instance):
    # CATL <= 30% of spend: 40c <= 0.3(40c + 50k + 70u). LGES is the cheaper
    # partner: 28c <= 15k with c + k = 100: k = 2800/43 = 65.116, c = 34.884,
    # cost = 40c + 50k = 4651.16
    rule = {"name": "sp", "kind": "max_share", "by": "company", "group": ["CATL"],
            "limit": 0.3, "measure": "spend"}
    path = write_instance(world(rules=[rule]))
    res = optimizer.solve(path)
    k = 2800 / 43
    assert res.objective == pytest.approx(40 * (100 - k) + 50 * k, rel=REL)
    row = row_of(res, "sp")
    assert row["measure"] == "spend" and row["value"] == pytest.approx(0.3)
    assert bool(row["binding"])
    agrees_with_reference(path, res)


def test_spend_share_slack(solve_dict):
    # CATL <= 25% of GWh: c = 25, k = 75; spend share 1000 / 4750 = 21% <= 30%
    rules = [{"name": "sp", "kind": "max_share", "by": "company", "group": ["CATL"],
              "limit": 0.3, "measure": "spend"},
             {**CATL10, "limit": 0.25}]
    res = solve_dict(world(rules=rules))
    assert res.objective == pytest.approx(4750, rel=REL)
    row = row_of(res, "sp")
    assert row["value"] == pytest.approx(1000 / 4750) and not bool(row["binding"])


def test_spend_counts_tariffs(solve_dict):
    # a 25% duty on KR cells makes kr1 cost 62.5: 28c <= 0.3 x 62.5 k - ... :
    # 40c <= 0.3(40c + 62.5k) <=> 28c <= 18.75k; c + k = 100: k = 2800/46.75
    rule = {"name": "sp", "kind": "max_share", "by": "company", "group": ["CATL"],
            "limit": 0.3, "measure": "spend"}
    res = solve_dict(world(rules=[rule], tariffs=[{"origin": "KR", "rate": 0.25}]))
    k = 2800 / 46.75
    assert res.objective == pytest.approx(40 * (100 - k) + 62.5 * k, rel=REL)


# ------------------------------------------------------------------ periods
def test_dated_origins_override_for_their_period(solve_dict):
    # in 2027 kr1's graphite is 100% KR: CN <= 60% means c <= 0.6(c + k): c = 60,
    # k = 40: 2400 + 2000 = 4400; 2026 as before: 4800
    inst = upstream_world([origin_rule("cap", "max_share", group=["CN"], limit=0.6)],
                          periods=[2026, 2027],
                          demand=[{"application": "grid", "period": 2026, "gwh": 100},
                                  {"application": "grid", "period": 2027, "gwh": 100}])
    inst["origins"].append({"supplier": "kr1", **GRAPHITE, "country": "KR", "share": 1.0,
                            "period": 2027})
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4800 + 4400, rel=REL)
    mats = res.materials.set_index(["period", "country"])["kt"]
    assert mats[(2027, "CN")] == pytest.approx(60) and mats[(2027, "KR")] == pytest.approx(40)
    assert mats[(2026, "CN")] == pytest.approx(60) and mats[(2026, "KR")] == pytest.approx(40)


# ------------------------------------------------------------------ materials table
def test_materials_table_adds_up_to_the_allocation(solve_dict):
    inst = upstream_world([origin_rule("cap", "max_share", group=["CN"], limit=0.6)])
    inst["materials"].append({"id": "lithium"})
    inst["content"].append({"chemistry": "lfp", "material": "lithium", "kg_per_kwh": 0.1})
    inst["content"].append({"chemistry": "naion", "material": "lithium", "kg_per_kwh": 0.0})
    inst["origins"] += [
        {"supplier": s, "material": "lithium", "stage": "mining", "country": c, "share": q}
        for s, c, q in (("cn1", "CN", 0.3), ("cn1", "KR", 0.7), ("kr1", "US", 1.0))]
    res = solve_dict(inst)
    m = res.materials
    # graphite at active_material: CN 20 + 40 = 60 kt, KR 40 kt; lithium at mining:
    # cn1 20 GWh x 0.1 = 2 kt (0.6 CN, 1.4 KR), kr1 80 x 0.1 = 8 kt US
    got = {(r.material, r.stage, r.country): r.kt for r in m.itertuples()}
    assert got == pytest.approx({("graphite", "active_material", "CN"): 60,
                                 ("graphite", "active_material", "KR"): 40,
                                 ("lithium", "mining", "CN"): 0.6,
                                 ("lithium", "mining", "KR"): 1.4,
                                 ("lithium", "mining", "US"): 8.0})
    for _, part in m.groupby(["material", "stage", "period"]):
        assert part["share"].sum() == pytest.approx(1.0)
    # the built-in independent check splits plan rows by origin country: it passed
    assert res.check is not None and res.check.valid
    assert res.check.cost == pytest.approx(res.objective)


# ------------------------------------------------------------------ against the reference
@pytest.mark.parametrize("seed", range(6))
def test_random_upstream_instances_match_the_reference(tmp_path, seed):
    inst = add_upstream(generate(seed, 12, 3, 2, rules=False), seed)
    path = write(inst, tmp_path / "i")
    res = optimizer.solve(path)
    ref = ref_solve(path)
    assert res.status == ref["status"]
    if ref["status"] == "optimal":
        assert res.objective == pytest.approx(ref["objective"], rel=1e-7)
        assert check_plan(path, res.allocation.to_dict("records")) == []
        # materials.csv adds up: kt per material and stage = sum of gwh x kg/kWh
        kg = {(c["chemistry"], c["material"]): c["kg_per_kwh"] for c in inst["content"]}
        chem = {s["id"]: s["chemistry"] for s in inst["suppliers"]}
        alloc = res.allocation
        for (mat, _stage), part in res.materials.groupby(["material", "stage"]):
            expected = sum(r.gwh * kg.get((chem[r.supplier], mat), 0.0)
                           for r in alloc.itertuples())
            assert part["kt"].sum() == pytest.approx(expected, rel=1e-9, abs=1e-9)


def test_some_random_origin_rules_bind(tmp_path):
    # the comparison above is only worth something if origin rules shape the optimum
    binding = 0
    for seed in range(2, 6):
        path = write(add_upstream(generate(seed, 12, 3, 2, rules=False), seed),
                     tmp_path / str(seed))
        res = optimizer.solve(path)
        rules = res.rules
        binding += int((rules["by"].eq("origin") & rules["binding"].astype(bool)).sum())
    assert binding >= 3


# ------------------------------------------------------------------ analyses
def test_frontier_on_an_origin_rule(write_instance):
    # cost = 5000 - 2000(L - 0.5) for L in [0.5, 1]: 4800, 4600, 4400 at 0.6, 0.7, 0.8
    path = write_instance(upstream_world([origin_rule("cap", "max_share", group=["CN"],
                                                      limit=0.6)]))
    df = optimizer.frontier(path, {"cap": [0.6, 0.7, 0.8]})
    assert df["objective"].tolist() == pytest.approx([4800, 4600, 4400], rel=1e-7)


def test_repair_names_an_origin_rule_in_kt(write_instance, tmp_path, capsys):
    # CN graphite <= 10 kt and Na-ion <= 50%: c + k >= 50 needs k >= 50 with c = 0,
    # i.e. 25 kt of CN graphite: the cap must rise to 25 kt (or Na-ion to 80%)
    inst = upstream_world([origin_rule("vol", "max_volume", group=["CN"], limit=10),
                           {"name": "na", "kind": "max_share", "by": "family",
                            "group": ["sodium"], "limit": 0.5}])
    out = tmp_path / "o"
    assert main(["solve", str(write_instance(inst)), "--out", str(out)]) == 1
    summary = json.loads((out / "summary.json").read_text())
    (fix,) = summary["repairs"]  # the smallest change: 15 kt on 'vol'
    assert fix["rule"] == "vol" and fix["unit"] == "kt"
    assert fix["required"] == pytest.approx(25, rel=1e-6)
    assert fix["message"] == "raise 'vol' in 2026 from 10 kt to 25 kt"
    assert set(summary["conflicts"]) == {"na", "vol"}


# ------------------------------------------------------------------ scenarios by origin
SCENARIOS = [
    {"name": "cut", "probability": 0.2, "capacity_factor": [
        {"by": "origin", **GRAPHITE, "group": ["CN"], "factor": 0.5}]},
    {"name": "price", "probability": 0.1, "price_add": [
        {"by": "origin", **GRAPHITE, "group": ["CN"], "usd_per_kg": 5}]},
]


def test_stress_by_origin(write_instance):
    # the plan: cn1 100 GWh at 40.
    # cut: cn1 (q = 1) keeps 1 - 1 x 0.5 = 50%: 50 delivered (2000), 50 short; kr1 (q = 0.5)
    #   keeps 75 GWh, all spare: 50 spot at 50 x 1.2 = 60: 3000. Total 5000.
    # price: cn1 pays 5 USD/kg x 1 kg/kWh x 1 = +5 USD/kWh: 45 x 100 = 4500.
    # N-1 CN: cn1 keeps 0, kr1 50: 50 spot at 60 (3000) + 50 at 70 x 1.2 (4200) = 7200;
    # N-1 KR: kr1 keeps 50 GWh, cn1 untouched: 4000.
    path = write_instance(upstream_world(scenarios=SCENARIOS))
    res = stress(path, n_minus_1="origin", material="graphite", stage="active_material")
    cost = res.scenarios.set_index("scenario")["cost"]
    assert cost["base"] == pytest.approx(4000)
    assert cost["cut"] == pytest.approx(5000)
    assert cost["price"] == pytest.approx(4500)
    ranking = res.n_minus_1.set_index("group")["cost"]
    assert ranking["CN"] == pytest.approx(7200) and ranking["KR"] == pytest.approx(4000)
    assert res.n_minus_1["group"].iloc[0] == "CN"
    assert res.summary["n_minus_1"]["material"] == "graphite"


def test_cli_n_minus_1_by_origin(write_instance, tmp_path, capsys):
    # the same world as above, from the command line: CN first (7200, +3200), then KR
    path = write_instance(upstream_world(scenarios=SCENARIOS))
    out = tmp_path / "n1"
    assert main(["stress", str(path), "--n-1", "origin", "--material", "graphite",
                 "--stage", "active_material", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "each origin country of graphite (active_material) stopping supply" in text
    assert "+3,200.0" in text
    ranking = pd.read_csv(out / "n_minus_1.csv")
    assert ranking["group"].tolist()[:2] == ["CN", "KR"]
    assert ranking["cost"].tolist()[:2] == pytest.approx([7200, 4000])
    assert (out / "report.html").is_file()
    # the flags go together; a material the instance does not have is named
    assert main(["stress", str(path), "--n-1", "origin"]) == 2
    assert "--material and --stage" in capsys.readouterr().err
    assert main(["stress", str(path), "--n-1", "company", "--material", "graphite"]) == 2
    assert "go with --n-1 origin" in capsys.readouterr().err
    assert main(["stress", str(path), "--n-1", "origin", "--material", "lead",
                 "--stage", "refining"]) == 2
    assert "no material 'lead'" in capsys.readouterr().err


def test_price_add_pays_duty_and_spot_premium(write_instance):
    # a 10% duty on HU-made cells: cn1 costs 44; +5 USD/kWh ex-works becomes +5.5
    inst = upstream_world(scenarios=[SCENARIOS[1]], tariffs=[{"origin": "HU", "rate": 0.1}])
    res = stress(write_instance(inst))
    cost = res.scenarios.set_index("scenario")["cost"]
    assert cost["base"] == pytest.approx(4400) and cost["price"] == pytest.approx(4950)


def test_robust_with_origin_scenarios(write_instance):
    # Knowing the cut (wait-and-see), the best contracts mix cn1 and kr1: with c of
    # cn1 and 100 - c of kr1, 25 + 0.25c GWh fall short; cn1's spare 50 - 0.5c sells at 48
    # first: cost 4950 - 5.5c up to c = 100/3, then 4650 + 3.5c: 4766.67 at c = 100/3.
    # Price case: cn1 still cheapest at 45: 4500. Base 4000.
    # W&S = 0.7 x 4000 + 0.2 x 4766.67 + 0.1 x 4500 = 4203.33; the robust plan is cn1 100
    # (E = 0.7 x 4000 + 0.2 x 5000 + 0.1 x 4500 = 4250), so EVPI = 46.67.
    res = robust(write_instance(upstream_world(scenarios=SCENARIOS)))
    assert res.summary["expected_cost"] == pytest.approx(4250, rel=1e-7)
    assert res.summary["wait_and_see_cost"] == pytest.approx(2800 + 0.2 * 14300 / 3 + 450,
                                                             rel=1e-7)
    assert res.summary["evpi"] == pytest.approx(4250 - 2800 - 0.2 * 14300 / 3 - 450,
                                                rel=1e-6)


def test_sampled_price_add(write_instance):
    # usd_per_kg drawn from uniform(0, 10): each draw adds 100 x draw to the base 4000
    inst = upstream_world(scenarios=[{"name": "price", "probability": 1.0, "price_add": [
        {"by": "origin", **GRAPHITE, "group": ["CN"], "usd_per_kg": {"uniform": [0, 10]}}]}])
    res = stress(write_instance(inst), sample=20, seed=3)
    drawn = res.scenarios[res.scenarios["kind"] == "sample"]
    assert len(drawn) == 20
    rng = np.random.default_rng(3)
    rng.choice(2, size=20, p=[0.0, 1.0])
    expected = [4000 + 100 * rng.uniform(0, 10) for _ in range(20)]
    assert drawn["cost"].tolist() == pytest.approx(expected)


# ------------------------------------------------------------------ input errors
def problems_of(write_instance, inst):
    with pytest.raises(InputError) as err:
        optimizer.load_instance(write_instance(inst))
    return [str(p) for p in err.value.problems]


def test_shares_that_do_not_add_up_name_the_supplier(write_instance):
    inst = upstream_world()
    inst["origins"][2]["share"] = 0.4
    (msg,) = problems_of(write_instance, inst)
    assert "origins" in msg and "'kr1'" in msg and "add up to 0.9, not 1" in msg


def test_a_rule_on_a_material_without_origins_names_the_supplier(write_instance):
    inst = upstream_world([origin_rule("cap", "max_share", group=["CN"], limit=0.6)])
    inst["origins"] = [o for o in inst["origins"] if o["supplier"] != "kr1"]
    (msg,) = problems_of(write_instance, inst)
    assert "rules" in msg and "none for kr1" in msg and "graphite" in msg


def test_a_scenario_on_a_stage_without_origins_names_the_supplier(write_instance):
    inst = upstream_world(scenarios=[{"name": "mine", "probability": 0.1, "capacity_factor": [
        {"by": "origin", "material": "graphite", "stage": "mining", "group": ["CN"],
         "factor": 0.5}]}])
    (msg,) = problems_of(write_instance, inst)
    assert "scenarios" in msg and "none for cn1, kr1" in msg and "mining" in msg


@pytest.mark.parametrize(("change", "expected"), [
    ({"material": "cobalt"}, "unknown material 'cobalt'"),
    ({"stage": "smelting"}, "unknown stage 'smelting'"),
    ({"material": None}, "field 'material': is required"),
    ({"kind": "max_count", "threshold": 0.1}, "max_count cannot group by origin"),
    ({"measure": "spend"}, "field 'measure': is not used with by: origin"),
    ({"group": ["XX"]}, "no origin 'XX'"),
])
def test_malformed_origin_rules(write_instance, change, expected):
    rule = {k: v for k, v in {**origin_rule("r", "max_share", group=["CN"], limit=0.6),
                              **change}.items() if v is not None}
    msgs = problems_of(write_instance, upstream_world([rule]))
    assert any(expected in m for m in msgs), msgs


@pytest.mark.parametrize(("table", "row", "expected"), [
    ("content", {"chemistry": "lfp", "material": "cobalt", "kg_per_kwh": 1},
     "unknown material 'cobalt'"),
    ("content", {"chemistry": "lfp", "material": "graphite", "kg_per_kwh": -1},
     "kg_per_kwh"),
    ("origins", {"supplier": "zz1", **GRAPHITE, "country": "CN", "share": 1.0},
     "unknown supplier 'zz1'"),
    ("origins", {"supplier": "us1", **GRAPHITE, "country": "XX", "share": 1.0},
     "unknown country 'XX'"),
    ("origins", {"supplier": "us1", **GRAPHITE, "country": "CN", "share": 1.5},
     "share"),
])
def test_malformed_upstream_rows(write_instance, table, row, expected):
    inst = upstream_world()
    inst[table].append(row)
    msgs = problems_of(write_instance, inst)
    assert any(expected in m and table in m for m in msgs), msgs


def test_scenario_factor_fields(write_instance):
    bad = [
        ({"name": "a", "probability": 0.1, "price_factor": [
            {"by": "origin", **GRAPHITE, "group": ["CN"], "factor": 2}]},
         "field 'price_factor': cannot group by origin"),
        ({"name": "b", "probability": 0.1, "price_add": [
            {"by": "company", **GRAPHITE, "group": ["CATL"], "usd_per_kg": 2}]},
         "must be origin"),
        ({"name": "c", "probability": 0.1, "capacity_factor": [
            {"by": "origin", "material": "graphite", "group": ["CN"], "factor": 0.5}]},
         "field 'stage': is required with by: origin"),
        ({"name": "d", "probability": 0.1, "price_add": [
            {"by": "origin", **GRAPHITE, "group": ["CN"], "usd_per_kg": -1}]},
         "usd_per_kg must be >= 0"),
    ]
    for sc, expected in bad:
        msgs = problems_of(write_instance, upstream_world(scenarios=[sc]))
        assert any(expected in m for m in msgs), (expected, msgs)


# ------------------------------------------------------------------ Excel round trip
def test_upstream_tables_round_trip_through_excel(write_instance, tmp_path):
    inst = upstream_world([origin_rule("cap", "max_share", group=["CN"], limit=0.6)],
                          scenarios=SCENARIOS)
    path = write_instance(inst)
    xlsx = tmp_path / "u.xlsx"
    assert main(["convert", str(path), str(xlsx)]) == 0
    a, b = optimizer.load_instance(path), optimizer.load_instance(xlsx)
    assert b.settings.stages == ["mining", "active_material"]
    assert [o.model_dump() for o in a.origins] == [o.model_dump() for o in b.origins]
    assert [s.model_dump() for s in a.scenarios] == [s.model_dump() for s in b.scenarios]
    assert optimizer.solve(xlsx).objective == pytest.approx(4800, rel=REL)


def test_lp_stays_lp_and_no_rows_without_upstream_rules(solve_dict):
    # upstream tables alone add nothing to the model
    plain = solve_dict(world())
    tables = solve_dict(upstream_world())
    assert tables.objective == pytest.approx(4000)
    assert tables.model_size == plain.model_size
    assert math.isclose(tables.objective, plain.objective)
    assert isinstance(tables.materials, pd.DataFrame) and len(tables.materials) == 1
    _ = supplier, Path
