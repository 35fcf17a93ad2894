"""Fixed costs, minimum orders, count rules and price tiers, by hand.

Same world as tests/test_rules.py: 100 GWh of 'grid' in 2026; cn1 (CATL, made in
HU, controlled from CN) 40 USD/kWh, kr1 (LGES) 50, us1 (Peak, Na-ion) 70,
100 GWh each.
"""

from __future__ import annotations

import json

import pytest

from optimizer.cli import main
from tests.conftest import supplier, world

REL = 1e-9
CAP30 = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3}


def volumes(res):
    return res.allocation.groupby("supplier")["gwh"].sum().to_dict()


# ------------------------------------------------------------------ fixed costs
def test_fixed_cost_binding(solve_dict):
    # using cn1 costs 4000 + 1500 = 5500 > 5000 for kr1 alone
    inst = world()
    supplier(inst, "cn1")["fixed_cost"] = 1500
    res = solve_dict(inst)
    assert res.objective == pytest.approx(5000, rel=REL)
    assert volumes(res) == pytest.approx({"kr1": 100})
    assert res.cost_breakdown["fixed"] == 0
    assert res.model_size["binaries"] == 1


def test_fixed_cost_slack(solve_dict):
    # 4000 + 500 = 4500 < 5000: cn1 is used and its fixed cost charged
    inst = world()
    supplier(inst, "cn1")["fixed_cost"] = 500
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4500, rel=REL)
    assert res.cost_breakdown["fixed"] == pytest.approx(500)
    usage = res.usage.set_index("supplier")
    assert bool(usage.loc["cn1", "used"]) and usage.loc["cn1", "fixed_cost"] == 500
    assert not bool(usage.loc["kr1", "used"])


def test_fixed_cost_with_share_cap_and_mip_duals(solve_dict):
    # cap CN at 30%: cn1 30 + kr1 70 = 4700 (+200 fixed) = 4900 < 5000 (kr1 alone).
    # With the binary fixed at 1, the LP's cap dual is the usual 10 per point.
    inst = world(rules=[CAP30])
    supplier(inst, "cn1")["fixed_cost"] = 200
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4900, rel=REL)
    assert res.rules.iloc[0]["marginal_cost"] == pytest.approx(10.0)


def test_fixed_costs_are_discounted(solve_dict):
    # two years, r = 10%, fixed 100 per year in which cn1 delivers:
    # (4000 + 100) + (4000 + 100) / 1.1
    inst = world(periods=[2026, 2027], discount_rate=0.1,
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)])
    supplier(inst, "cn1")["fixed_cost"] = 100
    assert solve_dict(inst).objective == pytest.approx(4100 + 4100 / 1.1, rel=REL)


# ------------------------------------------------------------------ minimum orders
def test_min_order_binding_switches_supplier_off(solve_dict):
    # the cap allows cn1 only 30 GWh, below its minimum order of 40: cn1 is off, 5000
    inst = world(rules=[CAP30])
    supplier(inst, "cn1")["min_order"] = 40
    res = solve_dict(inst)
    assert res.objective == pytest.approx(5000, rel=REL)
    assert volumes(res) == pytest.approx({"kr1": 100})


def test_min_order_binding_raises_volume(solve_dict):
    # kr1 must take >= 80 if used: cn1 20 + kr1 80 = 800 + 4000 = 4800
    # (kr1 70 is not allowed; without kr1: cn1 30 + us1 70 = 6100)
    inst = world(rules=[CAP30])
    supplier(inst, "kr1")["min_order"] = 80
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4800, rel=REL)
    assert volumes(res) == pytest.approx({"cn1": 20, "kr1": 80})


def test_min_order_slack(solve_dict):
    inst = world(rules=[CAP30])
    supplier(inst, "cn1")["min_order"] = 20
    assert solve_dict(inst).objective == pytest.approx(4700, rel=REL)


# ------------------------------------------------------------------ count rules
def count_rule(kind, limit, threshold=None, **kw):
    r = {"name": "count", "kind": kind, "by": "company", "limit": limit, **kw}
    if threshold is not None:
        r["threshold"] = threshold
    return r


def test_max_count_binding(solve_dict):
    # at most one company, CN <= 30%: a single company must be non-CN: kr1 100 = 5000
    res = solve_dict(world(rules=[CAP30, count_rule("max_count", 1)]))
    assert res.objective == pytest.approx(5000, rel=REL)
    row = res.rules[res.rules["rule"] == "count"].iloc[0]
    assert row["value"] == 1 and bool(row["binding"])


def test_max_count_slack(solve_dict):
    res = solve_dict(world(rules=[CAP30, count_rule("max_count", 2)]))
    assert res.objective == pytest.approx(4700, rel=REL)


def test_max_count_threshold_boundary(solve_dict):
    # count companies above 25%, at most one: with cn1 <= 30% and kr1 the rest both would
    # count. cn1 at exactly 25% does not count (V > h X is strict): cn1 25, kr1 75 = 4750
    res = solve_dict(world(rules=[CAP30, count_rule("max_count", 1, threshold=0.25)]))
    assert res.objective == pytest.approx(4750, rel=REL)
    assert volumes(res) == pytest.approx({"cn1": 25, "kr1": 75})


def test_min_count_binding_at_threshold(solve_dict):
    # at least two companies with >= 20% each: cn1 80, kr1 exactly 20 (counts) = 4200
    res = solve_dict(world(rules=[count_rule("min_count", 2, threshold=0.2)]))
    assert res.objective == pytest.approx(4200, rel=REL)
    assert volumes(res) == pytest.approx({"cn1": 80, "kr1": 20})


def test_min_count_three(solve_dict):
    # three companies with >= 20%: cn1 60, kr1 20, us1 20 = 2400 + 1000 + 1400
    res = solve_dict(world(rules=[count_rule("min_count", 3, threshold=0.2)]))
    assert res.objective == pytest.approx(4800, rel=REL)


def test_min_count_slack(solve_dict):
    res = solve_dict(world(rules=[count_rule("min_count", 1, threshold=0.2)]))
    assert res.objective == pytest.approx(4000, rel=REL)


def test_min_count_over_listed_group(solve_dict):
    # at least one of {LGES, Peak} with >= 10%: kr1 10, cn1 90 = 3600 + 500 = 4100
    res = solve_dict(world(rules=[count_rule("min_count", 1, threshold=0.1,
                                             group=["LGES", "Peak"])]))
    assert res.objective == pytest.approx(4100, rel=REL)


def test_min_count_infeasible(write_instance, capsys):
    # four companies cannot be found among three
    path = write_instance(world(rules=[count_rule("min_count", 4, threshold=0.1)]))
    assert main(["solve", str(path)]) == 1
    assert "count" in capsys.readouterr().out


def test_min_count_needs_threshold(write_instance, capsys):
    path = write_instance(world(rules=[count_rule("min_count", 2)]))
    assert main(["validate", str(path)]) == 2
    assert "threshold" in capsys.readouterr().err


# ------------------------------------------------------------------ price tiers
def test_rising_tiers_stay_lp(solve_dict):
    # cn1: 40 up to 50 GWh, 60 beyond (dearer than kr1's 50): cn1 50 + kr1 50 = 4500.
    # The total sits exactly on the breakpoint: it belongs to the upper tier.
    inst = world(price_tiers=[{"supplier": "cn1", "from_gwh": 0, "price": 40},
                              {"supplier": "cn1", "from_gwh": 50, "price": 60}])
    del supplier(inst, "cn1")["price"]
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4500, rel=REL)
    assert res.model_size["binaries"] == 0
    tiers = res.tiers.set_index("tier")
    assert tiers.loc[0, "gwh"] == pytest.approx(50) and tiers.loc[1, "gwh"] == pytest.approx(0)
    assert bool(tiers.loc[1, "current"]) and not bool(tiers.loc[0, "current"])


def test_falling_tiers_need_binaries(solve_dict):
    # kr1: 60 for the first 50 GWh, 30 beyond; cn1 only 60 GWh.
    #   kr1 all 100: 50 x 60 + 50 x 30 = 4500;  kr1 50 + w: 5000 - 10 w -> 4500 at w = 50;
    #   kr1 <= 50: cn1 60 x 40 + kr1 40 x 60 = 4800.   Optimum 4500.
    # (Without binaries the LP would buy the cheap second tier first: 3500.)
    inst = world(price_tiers=[{"supplier": "kr1", "from_gwh": 0, "price": 60},
                              {"supplier": "kr1", "from_gwh": 50, "price": 30}])
    supplier(inst, "cn1")["capacity"] = 60
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4500, rel=REL)
    assert res.model_size["binaries"] == 1
    assert volumes(res) == pytest.approx({"kr1": 100})
    # the ex-works price reported for kr1 is the average over its tiers: 45
    assert res.allocation.iloc[0]["unit_landed_cost"] == pytest.approx(45)


def test_tariffs_apply_to_tier_prices(solve_dict):
    # 10% on HU: cn1's tiers become 44 (to 50 GWh) and 66: cn1 50 x 44 + kr1 50 x 50 = 4700,
    # of which tariffs 50 x 4 = 200
    inst = world(price_tiers=[{"supplier": "cn1", "from_gwh": 0, "price": 40},
                              {"supplier": "cn1", "from_gwh": 50, "price": 60}],
                 tariffs=[{"origin": "HU", "rate": 0.1}])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4700, rel=REL)
    assert res.cost_breakdown["tariff"] == pytest.approx(200)
    assert res.cost_breakdown["ex_works"] == pytest.approx(4500)


def test_period_specific_tiers_win(solve_dict):
    # 2027 has its own list for cn1 (flat 45): 2026 as above (4500), 2027 cn1 100 x 45
    inst = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)],
                 price_tiers=[{"supplier": "cn1", "from_gwh": 0, "price": 40},
                              {"supplier": "cn1", "from_gwh": 50, "price": 60},
                              {"supplier": "cn1", "from_gwh": 0, "price": 45, "period": 2027}])
    assert solve_dict(inst).objective == pytest.approx(4500 + 4500, rel=REL)


# ------------------------------------------------------------------ solver controls
def test_summary_has_gap_and_bound(write_instance, tmp_path):
    inst = world(rules=[CAP30])
    supplier(inst, "cn1")["fixed_cost"] = 200
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(inst)), "--out", str(out),
                 "--mip-gap", "0", "--threads", "1"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["objective"] == pytest.approx(4900)
    assert summary["best_bound"] == pytest.approx(4900)
    assert summary["mip_gap"] == pytest.approx(0, abs=1e-9)
    assert summary["cost_breakdown"]["fixed"] == pytest.approx(200)


@pytest.fixture(scope="module")
def hard_mip(tmp_path_factory):
    """A generated instance with ~1,800 binaries that takes HiGHS tens of seconds."""
    from benchmarks.generate import generate, write

    inst = generate(7, 400, 4, 4, features={"fixed_cost", "min_order", "count", "tiers"})
    return write(inst, tmp_path_factory.mktemp("hard"))


def test_time_limit_with_a_plan(hard_mip, tmp_path, capsys):
    # HiGHS finds a first plan within a fraction of a second but needs ~20 s to prove
    # optimality: at 2 s it stops with a plan, a best bound and a gap.
    out = tmp_path / "out"
    assert main(["solve", str(hard_mip), "--out", str(out), "--time-limit", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "time_limit"
    assert summary["objective"] is not None
    assert summary["best_bound"] <= summary["objective"]
    assert summary["mip_gap"] > 0
    assert "time limit" in capsys.readouterr().out


def test_time_limit_without_a_plan(hard_mip, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["solve", str(hard_mip), "--out", str(out), "--time-limit", "0.01"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "time_limit" and summary["objective"] is None
    assert "before any plan was found" in capsys.readouterr().out


def test_same_input_same_plan(solve_dict):
    inst = world(rules=[CAP30, count_rule("min_count", 2, threshold=0.1)])
    for sid in ("cn1", "kr1", "us1"):
        supplier(inst, sid)["fixed_cost"] = 50
    a, b = solve_dict(inst), solve_dict(inst)
    assert a.objective == b.objective
    assert a.allocation[["supplier", "gwh"]].equals(b.allocation[["supplier", "gwh"]])
