"""Self-checks of the reference model on tiny instances solved by hand.

Base instance (one period 2030, 100 GWh of `ev`, which allows nmc and lfp):
  A: lfp, made in CN (bloc asia), cap 100, 50 USD/kWh, carbon 80
  B: nmc, made in KR (bloc asia), cap 100, 70 USD/kWh, carbon 40
  C: nai (sodium), made in US (bloc west), cap 50, 90 USD/kWh, carbon 10
Unconstrained optimum: 100 from A = 5000 USD million.
"""
import copy

import pytest
import yaml

from tests.reference.check import check_plan, plan_cost
from tests.reference.load import load
from tests.reference.model import solve

BASE = {
    "format": 1, "name": "tiny", "periods": [2030],
    "chemistries": [{"id": "nmc", "family": "lithium"}, {"id": "lfp", "family": "lithium"},
                    {"id": "nai", "family": "sodium"}],
    "countries": [{"id": "CN", "bloc": "asia"}, {"id": "KR", "bloc": "asia"},
                  {"id": "US", "bloc": "west"}],
    "applications": [{"id": "ev", "chemistries": ["nmc", "lfp"]},
                     {"id": "grid", "chemistries": ["lfp", "nai"], "unmet_penalty": 80}],
    "demand": [{"application": "ev", "period": 2030, "gwh": 100}],
    "attributes": ["union"],
    "suppliers": [
        {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
         "price": 50, "carbon_intensity": 80, "union": "no"},
        {"id": "B", "company": "b", "country": "KR", "chemistry": "nmc", "capacity": 100,
         "price": 70, "carbon_intensity": 40, "union": "yes"},
        {"id": "C", "company": "c", "country": "US", "chemistry": "nai", "capacity": 50,
         "price": 90, "carbon_intensity": 10, "union": "yes"}],
}


def inst(rules=(), **kw):
    d = copy.deepcopy(BASE)
    d["rules"] = rules if isinstance(rules, str) else list(rules)
    d.update(kw)
    return d


def sup(d, sid, **kw):
    next(s for s in d["suppliers"] if s["id"] == sid).update(kw)
    return d


def rows(x):
    return [{"supplier": s, "application": a, "period": t, "gwh": q} for (s, a, t), q in x.items()]


def assert_solves(d, objective, x=None):
    r = solve(d)
    assert r["status"] == "optimal"
    assert r["objective"] == pytest.approx(objective, abs=1e-6)
    if x is not None:
        assert {k: round(v, 6) for k, v in r["x"].items()} == x
    assert check_plan(d, rows(r["x"])) == []
    assert plan_cost(d, rows(r["x"])) == pytest.approx(objective, abs=1e-6)
    return r


def test_unconstrained():
    assert_solves(inst(), 5000, {("A", "ev", 2030): 100})


def test_share_cap_and_checker():
    # CN <= 40%: A 40 @50 + B 60 @70 = 2000 + 4200 = 6200
    d = inst([{"name": "cn", "kind": "max_share", "by": "control", "group": ["CN"], "limit": 0.4}])
    assert_solves(d, 6200, {("A", "ev", 2030): 40, ("B", "ev", 2030): 60})
    bad = check_plan(d, rows({("A", "ev", 2030): 100}))
    assert len(bad) == 1 and "rule cn" in bad[0]
    bad = check_plan(d, rows({("A", "ev", 2030): 30, ("B", "ev", 2030): 110, ("C", "ev", 2030): 1}))
    assert any("capacity of B" in e for e in bad)
    assert any("over-bought" in e for e in bad)
    assert any("(C, ev, 2030)" in e and "chemistry" in e for e in bad)
    assert any("unmet" in e for e in check_plan(d, rows({("A", "ev", 2030): 40})))


def test_per_value_share_infeasible_drop_override():
    # every company <= 30%: A+B (C is sodium, not allowed) give at most 60 < 100 -> infeasible
    d = inst([{"name": "co", "kind": "max_share", "by": "company", "limit": 0.3}])
    assert solve(d)["status"] == "infeasible"
    assert solve(d, drop_rules=["co"])["objective"] == pytest.approx(5000)
    # limit 0.5: 50 @50 + 50 @70 = 6000
    assert solve(d, override_limits={"co": 0.5})["objective"] == pytest.approx(6000)


def test_bloc_min_share_family_attribute():
    # ev also allows sodium; asia bloc <= 70%: A 70 + C 30 = 3500 + 2700 = 6200
    apps = copy.deepcopy(BASE["applications"])
    apps[0]["chemistries"] = ["nmc", "lfp", "nai"]
    d = inst([{"name": "asia", "kind": "max_share", "by": "bloc", "group": "asia", "limit": 0.7}],
             applications=apps)
    assert_solves(d, 6200)
    # sodium floor 20%: C 20 + A 80 = 1800 + 4000 = 5800
    d = inst([{"name": "alt", "kind": "min_share", "by": "family", "group": ["sodium"],
               "limit": 0.2}], applications=apps)
    assert_solves(d, 5800, {("A", "ev", 2030): 80, ("C", "ev", 2030): 20})
    # declared text attribute: union=yes at least 45 GWh -> B 45: 2750 + 3150 = 5900
    d = inst([{"name": "u", "kind": "min_volume", "by": "union", "group": "yes", "limit": 45}])
    assert_solves(d, 5900)


def test_average_tariff_carbon_lanes():
    # average carbon <= 60: 80a + 40(1-a) <= 60 -> a <= .5: 2500 + 3500 = 6000
    d = inst([{"name": "co2", "kind": "max_average", "attribute": "carbon_intensity", "limit": 60}])
    assert_solves(d, 6000)
    # stacked CN tariffs 20% + 30% (lithium): A lands at 75 > 70 -> all B: 7000
    t = [{"origin": "CN", "rate": 0.2}, {"origin": "CN", "rate": 0.3, "family": "lithium"},
         {"origin": "CN", "rate": 5, "family": "sodium"}, {"origin": "CN", "rate": 5, "from": 2031}]
    assert_solves(inst(tariffs=t), 7000, {("B", "ev", 2030): 100})
    # carbon 250 USD/t: A +20 (70), B +10 (80) -> A: 7000
    assert_solves(inst(carbon_price=250), 7000, {("A", "ev", 2030): 100})
    # lane freight A->ev 25 (75) beats scalar freight 0 -> B: 7000
    assert_solves(inst(lanes=[{"supplier": "A", "application": "ev", "freight": 25}]), 7000,
                  {("B", "ev", 2030): 100})


def test_periods_discount_capacity_availability_unmet():
    # 2030 & 2032, r = 10%. 2030: all A = 5000. 2032: A capacity 30 (capacity table);
    # grid (10 GWh, unmet at 60) can use A (lfp) but not C (available from 2033).
    # A to ev saves 20/GWh vs B, A to grid saves only 10 vs unmet, so A goes to ev:
    # 30 @50 + 70 @70 + 10 unmet @60 = 1500 + 4900 + 600 = 7000, discounted by 1.21.
    apps = copy.deepcopy(BASE["applications"])
    apps[1]["unmet_penalty"] = 60
    d = inst(periods=[2030, 2032], discount_rate=0.1, applications=apps,
             demand=[{"application": "ev", "period": 2030, "gwh": 100},
                     {"application": "ev", "period": 2032, "gwh": 100},
                     {"application": "grid", "period": 2032, "gwh": 10}],
             capacity=[{"supplier": "A", "period": 2032, "gwh": 30}])
    sup(d, "C", available_from=2033)
    r = assert_solves(d, 5000 + 7000 / 1.21)
    assert r["unmet"] == {("grid", 2032): pytest.approx(10)}
    assert any("outside availability" in e
               for e in check_plan(d, rows({("C", "grid", 2032): 1})))
    # exclude CN from ev: ev all B in both years (7000 each); grid takes A 10 @50 = 500
    d["rules"] = [{"name": "feoc", "kind": "exclude", "by": "control", "group": ["CN"],
                   "applications": ["ev"]}]
    r = assert_solves(d, 7000 + 7500 / 1.21)
    assert r["unmet"] == {}
    assert any("excluded by rule feoc" in e
               for e in check_plan(d, rows({("A", "ev", 2030): 1})))


def test_counts():
    # min_count 2 companies >= 20%: A 80 + B 20 = 4000 + 1400 = 5400
    d = inst([{"name": "dual", "kind": "min_count", "by": "company", "limit": 2, "threshold": 0.2}])
    assert_solves(d, 5400, {("A", "ev", 2030): 80, ("B", "ev", 2030): 20})
    assert check_plan(d, rows({("A", "ev", 2030): 90, ("B", "ev", 2030): 10}))
    # A capacity 60: free optimum A 60 + B 40 = 5800; at most 1 company -> B alone 7000
    d = sup(inst([{"name": "one", "kind": "max_count", "by": "company", "limit": 1}]), "A",
            capacity=60)
    assert_solves(d, 7000, {("B", "ev", 2030): 100})
    assert check_plan(d, rows({("A", "ev", 2030): 60, ("B", "ev", 2030): 40}))
    assert solve(d, drop_rules=["one"])["objective"] == pytest.approx(5800)
    # with threshold 0.4, B at 40% does not count: A 60 + B 40 = 5800 allowed
    d["rules"][0]["threshold"] = 0.4
    assert_solves(d, 5800)


def test_fixed_cost_min_order():
    assert_solves(sup(inst(), "A", fixed_cost=1500), 6500, {("A", "ev", 2030): 100})
    assert_solves(sup(inst(), "A", fixed_cost=2500), 7000, {("B", "ev", 2030): 100})
    # CN <= 20% and min order 30 at A: A cannot deliver -> 7000 (without min order 6600)
    d = inst([{"name": "cn", "kind": "max_share", "by": "country", "group": "CN", "limit": 0.2}])
    assert_solves(d, 6600)
    d = sup(d, "A", min_order=30)
    assert_solves(d, 7000)
    assert any("min_order" in e
               for e in check_plan(d, rows({("A", "ev", 2030): 20, ("B", "ev", 2030): 80})))


def test_price_tiers():
    # falling tiers at A: 60 up to 50 GWh, then 30. CN <= 60%:
    # A 60: 50*60 + 10*30 = 3300, + B 40 @70 = 2800 -> 6100 (an LP without tier
    # binaries would wrongly fill the cheap tier first: 60*30 + 2800 = 4600)
    tiers = [{"supplier": "A", "from_gwh": 0, "price": 60},
             {"supplier": "A", "from_gwh": 50, "price": 30}]
    d = inst([{"name": "cn", "kind": "max_share", "by": "control", "group": "CN", "limit": 0.6}],
             price_tiers=tiers)
    assert_solves(d, 6100, {("A", "ev", 2030): 60, ("B", "ev", 2030): 40})
    # with a 10% tariff on CN: A 60 costs 3300 * 1.1 = 3630 -> 6430
    assert_solves(inst(d["rules"], price_tiers=tiers, tariffs=[{"origin": "CN", "rate": 0.1}]),
                  6430)
    # rising tiers (40 up to 50, then 80) with a 2030-specific list that wins over the
    # period-less one: A 50 @40 = 2000, then B 50 @70 = 3500 -> 5500
    rising = [*tiers,
              {"supplier": "A", "from_gwh": 0, "price": 40, "period": 2030},
              {"supplier": "A", "from_gwh": 50, "price": 80, "period": 2030}]
    assert_solves(inst(price_tiers=rising), 5500, {("A", "ev", 2030): 50, ("B", "ev", 2030): 50})


def test_csv_loading(tmp_path):
    (tmp_path / "suppliers.csv").write_text(
        "# source: made up\n"
        "id,company,country,control,chemistry,capacity,price,freight,carbon_intensity,union\n"
        "A,a,CN,,lfp,100,50,,80,no\n"
        "# a comment line in between\n"
        "B,b,KR,,nmc,100,70,,40,yes\n"
        "C,c,US,,nai,50,90,,10,yes\n")
    (tmp_path / "applications.csv").write_text(
        "id,chemistries,unmet_penalty\nev,nmc;lfp,\ngrid,lfp; nai,80\n")
    (tmp_path / "rules.csv").write_text(
        "name,kind,by,group,limit,applications,per_application,periods\n"
        "cn,max_share,control,CN,0.4,ev;grid,true,2030\n")
    d = inst(suppliers="suppliers.csv", applications="applications.csv", rules="rules.csv")
    (tmp_path / "inst.yaml").write_text(yaml.safe_dump(d))
    loaded = load(tmp_path / "inst.yaml")
    assert loaded["applications"][1] == {"id": "grid", "chemistries": ["lfp", "nai"],
                                         "unmet_penalty": 80.0}
    assert "control" not in loaded["suppliers"][0]
    assert loaded["rules"][0]["group"] == ["CN"] and loaded["rules"][0]["periods"] == [2030]
    r = solve(tmp_path / "inst.yaml")
    assert r["objective"] == pytest.approx(6200)
    assert check_plan(tmp_path / "inst.yaml", rows(r["x"])) == []


def test_unsupported():
    with pytest.raises(NotImplementedError):
        solve(inst([{"name": "h", "kind": "max_hhi", "by": "company", "limit": 0.5}]))
    with pytest.raises(NotImplementedError):
        solve(inst([{"name": "s", "kind": "max_count", "by": "company", "limit": 1,
                     "threshold": 0.2, "penalty": 10}]))
