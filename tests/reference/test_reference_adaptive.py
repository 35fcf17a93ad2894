"""The adaptive (multi-stage) robust program of SPEC section 10 (``robust --adaptive
--lag L``): self-checks of the independent reference tests/reference/adaptive.py worked
by hand, and a cross-check of the product against it on generated instances.

Hand world: one application ``grid`` (lfp), 2030-2032, 100 GWh a year, no discount;
A (CN) 200 GWh at 40 USD/kWh, B (KR) 200 GWh at 50; spot_premium 0.2 (spot from B at
60), shortage_penalty 1000. Money in USD million.
"""
import copy
import json

import numpy as np
import pytest

from tests.reference.adaptive import adaptive
from tests.reference.scenarios import case_probabilities, playout_costs, robust_objective, tree

P = [2030, 2031, 2032]
A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 200,
     "price": 40}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 200,
     "price": 50}


def world(*scenarios, **kw):
    d = {"format": 1, "name": "adaptive", "periods": list(P),
         "chemistries": [{"id": "lfp", "family": "lithium"}],
         "countries": [{"id": "CN"}, {"id": "KR"}],
         "applications": [{"id": "grid", "chemistries": ["lfp"]}],
         "demand": [{"application": "grid", "period": t, "gwh": 100} for t in P],
         "suppliers": [dict(A), dict(B)], "scenarios": copy.deepcopy(list(scenarios))}
    d.update(copy.deepcopy(kw))
    return d


def ban(p=0.2):
    return {"name": "ban", "probability": p, "from": 2031,
            "capacity_factor": {"by": "country", "group": ["CN"], "factor": 0.0}}


STRIKE = {"name": "strike", "probability": 0.05, "from": 2032, "parent": "ban",
          "capacity_factor": {"by": "country", "group": ["KR"], "factor": 0.5}}


# ----------------------------------------------------------------------------- by hand
def test_the_ban_by_lag():
    # Two-stage: the plan buys A every year (12,000); in the ban A delivers nothing in
    # 2031-2032 and B's spot at 60 covers it: 4,000 + 2 x 6,000 = 16,000;
    # E = 0.8 x 12,000 + 0.2 x 16,000 = 12,800.
    # Adaptive, the ban re-plans from 2031 + L and buys B at 50 (5,000 a year):
    #   L = 0: 4,000 + 5,000 + 5,000 = 14,000 -> 12,400;
    #   L = 1: 2031 still the base plan (spot 6,000): 15,000 -> 12,600;
    #   L = 2: beyond the horizon, the two-stage plan: 16,000 -> 12,800.
    d = world(ban())
    assert robust_objective(d) == pytest.approx(12800)
    for lag, ban_cost in ((0, 14000), (1, 15000), (2, 16000), (5, 16000)):
        got = adaptive(d, lag)
        assert got["costs"] == pytest.approx({"base": 12000, "ban": ban_cost})
        assert got["objective"] == pytest.approx(0.8 * 12000 + 0.2 * ban_cost)
        assert got["expected_cost"] == pytest.approx(got["objective"])
    one = adaptive(d, 1)
    assert one["deciders"]["ban", 2031] == "base" and one["deciders"]["ban", 2032] == "ban"
    assert one["plans"]["ban", 2032] == pytest.approx({("B", "grid", 2032): 100})


def test_a_strike_within_the_ban():
    # ban 0.15; strike (parent ban, from 2032, KR capacity x 0.5) 0.05; lag 1.
    # strike: 2030 base plan (4,000); 2031 the base plan in the ban's data (A nothing,
    # spot 100 from B at 60: 6,000); 2032 the ban's plan (B 100 at 50) in the strike's
    # data: B delivers 50 (2,500), 50 spot from B's spare 100 - 50 at 60 (3,000):
    # 15,500. E = 0.8 x 12,000 + 0.15 x 15,000 + 0.05 x 15,500 = 12,625.
    # Lag 0: the strike buys B's 100 itself in 2032: 14,000 like the ban.
    d = world(ban(0.15), STRIKE)
    assert tree(d) == {"base": (None, 2030), "ban": ("base", 2031), "strike": ("ban", 2032)}
    got = adaptive(d, 1)
    assert got["costs"] == pytest.approx({"base": 12000, "ban": 15000, "strike": 15500})
    assert got["objective"] == pytest.approx(12625)
    assert got["deciders"]["strike", 2032] == "ban"
    assert adaptive(d, 0)["costs"]["strike"] == pytest.approx(14000)
    # the strike's data keeps the ban's factor: the two-stage plays it out with A at 0
    assert playout_costs(d, {("A", "grid", t): 100 for t in P})["strike"] == \
        pytest.approx(16000)


def test_cvar_and_bad_parents():
    # CVaR_0.9 over the ban world, lag 1 (the 10% tail lies in the ban's 20%): the
    # plan can only lower the ban's cost by buying B before the ban re-plans, in 2031:
    # base 12,000 + 1,000 = 13,000, ban 4,000 + 5,000 + 5,000 = 14,000 -> CVaR 14,000.
    got = adaptive(world(ban()), 1, weight=1.0, alpha=0.9)
    assert got["objective"] == pytest.approx(14000)
    assert got["cvar"] == pytest.approx(14000)
    for bad in ({**STRIKE, "parent": "nope"}, {**STRIKE, "from": 2030},
                {**STRIKE, "parent": "strike"}):
        with pytest.raises(ValueError, match="parent"):
            adaptive(world(ban(0.15), bad), 1)


# ----------------------------------------------------------------------------- generated
def generated(seed):
    """3-6 suppliers, 1-2 applications, 3 years, 2-3 scenarios (one a child of another)
    with capacity, price and demand factors; for some seeds a stock table, a max_share
    rule, a soft application, a duty and a discount rate."""
    rng = np.random.default_rng(seed)
    n_sup = int(rng.integers(3, 7))
    countries = ["CN", "KR", "US", "PL"]
    chems = ["lfp", "nmc", "naion"]
    suppliers = []
    for k in range(n_sup):
        suppliers.append({"id": f"s{k}", "company": f"Co{k % 3}",
                          "country": countries[k % 4], "chemistry": chems[k % 3],
                          "capacity": float(rng.integers(40, 110)),
                          "price": round(float(rng.uniform(35, 80)), 2)})
    apps = [{"id": "grid", "chemistries": ["lfp", "naion"]}]
    if rng.random() < 0.6:
        apps.append({"id": "ev", "chemistries": ["lfp", "nmc"]})
    if rng.random() < 0.5:
        apps[0]["unmet_penalty"] = float(rng.integers(90, 200))
    d = {"format": 1, "name": f"adaptive {seed}", "periods": list(P),
         "discount_rate": round(float(rng.uniform(0, 0.1)), 3),
         "spot_premium": round(float(rng.uniform(0.1, 0.5)), 3),
         "shortage_penalty": 400.0, "surplus_value": round(float(rng.uniform(0, 0.8)), 3),
         "chemistries": [{"id": "lfp", "family": "lithium"}, {"id": "nmc", "family": "lithium"},
                         {"id": "naion", "family": "sodium"}],
         "countries": [{"id": c} for c in countries],
         "applications": apps,
         "demand": [{"application": a["id"], "period": t, "gwh": float(rng.integers(30, 80))}
                    for a in apps for t in P],
         "suppliers": suppliers,
         "tariffs": [{"origin": "CN", "rate": 0.25}] if rng.random() < 0.5 else []}
    if rng.random() < 0.6:
        d["rules"] = [{"name": "cap", "kind": "max_share", "by": "company", "limit": 0.7}]
    if rng.random() < 0.6:
        d["stock"] = [{"application": "grid", "max_gwh": 20.0,
                       "holding_cost": round(float(rng.uniform(0.5, 4)), 2),
                       "initial_gwh": float(rng.integers(0, 10))}]
    first = int(rng.choice([2030, 2031]))
    scen = [{"name": "cut", "probability": 0.2, "from": first,
             "capacity_factor": {"by": "country", "group": ["CN"],
                                 "factor": round(float(rng.uniform(0, 0.6)), 2)},
             "price_factor": {"by": "country", "group": ["KR"],
                              "factor": round(float(rng.uniform(1.1, 1.6)), 2)}},
            {"name": "deeper", "probability": 0.1, "parent": "cut",
             "from": int(rng.choice([y for y in P if y >= first])),
             "capacity_factor": {"by": "company", "group": ["Co1"],
                                 "factor": round(float(rng.uniform(0, 0.8)), 2)},
             "demand_factor": {"factor": round(float(rng.uniform(0.7, 1.4)), 2)}}]
    if rng.random() < 0.7:
        scen.append({"name": "boom", "probability": 0.15, "from": 2031,
                     "demand_factor": {"applications": ["grid"],
                                       "factor": round(float(rng.uniform(0.6, 1.5)), 2)},
                     "price_factor": {"by": "supplier", "group": ["s0"], "factor": 1.3}})
    d["scenarios"] = scen
    return d


def branching(seed):
    """generated(seed) with a deeper tree and the corners of the recourse: the first
    scenario also scales demand and lifts US capacity (factor up to 1.6), sometimes ends
    in 2031 or has probability 0 (its branches still follow its plan); its child also
    scales demand and CN/US prices; a grandchild cuts s1/s2 and grid demand; for some
    seeds every application is hard and a stock covers each application. (Seeds 15 and
    21 refund a scenario plan's own unmet demand of a hard application within a demand
    drop; many draw on the stock in the lag years.)"""
    rng = np.random.default_rng(1000 + seed)
    d = generated(seed)
    sc = d["scenarios"]
    sc[0]["demand_factor"] = {"factor": round(float(rng.uniform(0.6, 1.5)), 2)}
    sc[0]["capacity_factor"] = [sc[0]["capacity_factor"], {
        "by": "country", "group": ["US"], "factor": round(float(rng.uniform(0.8, 1.6)), 2)}]
    if rng.random() < 0.5:
        sc[0]["until"] = 2031
    if rng.random() < 0.4:
        sc[0]["probability"] = 0.0
    sc[1]["demand_factor"] = {"factor": round(float(rng.uniform(0.5, 1.5)), 2)}
    sc[1]["price_factor"] = {"by": "country", "group": ["CN", "US"],
                             "factor": round(float(rng.uniform(0.7, 1.5)), 2)}
    start = max(sc[1]["from"], 2031)
    sc.append({"name": "deepest", "probability": 0.05, "parent": "deeper",
               "from": start + int(rng.integers(0, 2)) if start < 2032 else 2032,
               "capacity_factor": {"by": "supplier", "group": ["s1", "s2"],
                                   "factor": round(float(rng.uniform(0, 1.3)), 2)},
               "demand_factor": {"applications": ["grid"],
                                 "factor": round(float(rng.uniform(0.5, 1.5)), 2)}})
    if rng.random() < 0.5:
        for a in d["applications"]:
            a.pop("unmet_penalty", None)
    if rng.random() < 0.7:
        d["stock"] = [{"application": a["id"], "max_gwh": 25.0,
                       "holding_cost": round(float(rng.uniform(0.2, 2)), 2),
                       "initial_gwh": float(rng.integers(0, 12))} for a in d["applications"]]
    d["surplus_value"] = round(float(rng.uniform(0.2, 1.0)), 3)
    return d


# (generator, seed): children re-planning a year after their parent, a ban from the
# first year, a plan whose adaptive value is negative at lag 1 (a rule binds the
# re-plans, not the two-stage spot), a parent of probability 0, hard refunds, stock
INSTANCES = [(generated, 2), (generated, 8), (generated, 10), (generated, 11),
             (branching, 2), (branching, 8), (branching, 15), (branching, 21)]
IDS = [f"{g.__name__}-{s}" for g, s in INSTANCES]


@pytest.mark.parametrize(("gen", "seed"), INSTANCES, ids=IDS)
def test_reference_beyond_the_horizon_is_the_two_stage_program(gen, seed):
    # with a lag past the last year every case follows the base plan: the two-stage
    # extensive form of tests/reference/scenarios.py (its own formulation)
    d = gen(seed)
    assert adaptive(d, 3)["objective"] == pytest.approx(robust_objective(d), rel=1e-9)
    assert adaptive(d, 3, 0.5, 0.8)["objective"] == pytest.approx(
        robust_objective(d, 0.5, 0.8), rel=1e-9)
    got = adaptive(d, 1)
    assert set(got["costs"]) == set(case_probabilities(d))
    assert got["expected_cost"] == pytest.approx(got["objective"], rel=1e-9)


@pytest.mark.parametrize(("gen", "seed"), INSTANCES, ids=IDS)
def test_product_matches_the_reference(gen, seed, write_instance):
    from optimizer.scenarios import robust

    d = gen(seed)
    path = write_instance(d)
    for lag in (0, 1):
        ref = adaptive(d, lag)["objective"]
        res = robust(path, evpi=False, adaptive=True, lag=lag)
        assert res.summary["adaptive"]["objective"] == pytest.approx(ref, rel=1e-6), lag
        assert res.summary["objective"] == pytest.approx(ref, rel=1e-6), lag
        assert res.summary["adaptive"]["expected_cost"] == pytest.approx(ref, rel=1e-6), lag
    # the two-stage program on the same tree (parents' factors kept by their children)
    assert res.summary["two_stage"]["objective"] == pytest.approx(robust_objective(d),
                                                                  rel=1e-6)
    ref = adaptive(d, 1, 0.5, 0.8)                                 # half CVaR
    res = robust(path, evpi=False, adaptive=True, lag=1, weight=0.5, alpha=0.8)
    assert res.summary["adaptive"]["objective"] == pytest.approx(ref["objective"], rel=1e-6)
    # the expected cost and CVaR of the plan: ties between optimal plans may move them,
    # their mix is the objective
    got = res.summary["adaptive"]
    assert 0.5 * got["expected_cost"] + 0.5 * got["cvar"] == pytest.approx(
        ref["objective"], rel=1e-6)


@pytest.mark.parametrize(("gen", "seed"), [(generated, 2), (branching, 15)],
                         ids=["generated-2", "branching-15"])
def test_cli_matches_the_reference(gen, seed, write_instance, tmp_path):
    from optimizer.cli import main

    d = gen(seed)
    path = write_instance(d)
    for lag in (0, 1):
        out = tmp_path / f"out{lag}"
        code = main(["robust", str(path), "--adaptive", "--lag", str(lag), "--no-evpi",
                     "--out", str(out)])
        assert code == 0
        summary = json.loads((out / "summary.json").read_text())
        assert summary["objective"] == pytest.approx(adaptive(d, lag)["objective"], rel=1e-6)
