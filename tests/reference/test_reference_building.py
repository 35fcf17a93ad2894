"""Self-checks of the reference model's building-supply features (SPEC section 8)
on tiny instances solved by hand: co-funded expansions, qualification costs,
offtake contracts and max_change rules.

Base instance (discount rate 0 unless said; one application `ev` allowing lfp,
100 GWh per period):
  A: lfp, CN, capacity 100, 60 USD/kWh (the incumbent)
  N: lfp, US, no capacity, 50 USD/kWh (exists only once an expansion is funded)
  B: lfp, KR, capacity 100, 64 USD/kWh (a contract candidate; absent unless added)
Without anything else every GWh comes from A: 6000 USD million per period.
"""
import copy

import pytest
import yaml

from tests.reference.check import check_plan, plan_cost
from tests.reference.load import Data, load
from tests.reference.model import solve, tables

A = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
     "price": 60}
N = {"id": "N", "company": "n", "country": "US", "chemistry": "lfp", "price": 50}
B = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 100,
     "price": 64}


def inst(periods=(2030,), demand=100, suppliers=(A, N), **kw):
    periods = list(periods)
    dem = demand if isinstance(demand, (list, tuple)) else [demand] * len(periods)
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


def exp(**kw):
    return {"supplier": "N", **kw}


def solved(d, objective, x=None, funded=None, signed=None):
    """Solve, compare with the hand optimum, and have the checker and the cost
    recomputation agree with the reference's own solution."""
    r = solve(d)
    assert r["status"] == "optimal"
    assert r["objective"] == pytest.approx(objective, abs=1e-6)
    if x is not None:
        assert {k: round(v, 6) for k, v in r["x"].items()} == x
    if funded is not None:
        assert {k: round(v, 6) for k, v in r["expansions"].items()} == funded
    if signed is not None:
        assert r["contracts"] == signed
    alloc, exps, cons = tables(d, r)
    assert check_plan(d, alloc, exps, cons) == []
    assert plan_cost(d, alloc, exps, cons) == pytest.approx(objective, abs=1e-6)
    return r, alloc, exps, cons


# ---- expansions -------------------------------------------------------------

def test_expansion_integer_vs_continuous_and_slack():
    # N steps of 30 GWh at 200 each (up to 4). A step saves 10/GWh on 30 GWh = 300.
    # integer: 3 steps: 90 @50 + 10 @60 + 600 = 4500 + 600 + 600 = 5700
    #          (4 steps: 5000 + 800 = 5800; 2 steps: 3000 + 2400 + 400 = 5800)
    d = inst(expansions=[exp(step_gwh=30, cost=200, max_steps=4)])
    solved(d, 5700, {("A", "ev", 2030): 10, ("N", "ev", 2030): 90}, {(0, 2030): 3})
    # continuous: capacity costs 200/30 = 6.67 < 10 per GWh -> fund exactly 100 GWh:
    # 100 @50 + 200 * 10/3 = 5000 + 666.67 = 5666.67
    d["expansions"][0]["integer"] = False
    r, *_ = solved(d, 5000 + 2000 / 3, {("N", "ev", 2030): 100})
    assert r["expansions"][0, 2030] == pytest.approx(10 / 3)
    # slack: 400 per step is 13.3/GWh > the 10 saved: nothing funded, all A = 6000
    d["expansions"][0]["cost"] = 400
    solved(d, 6000, {("A", "ev", 2030): 100}, {})


def test_max_steps_over_all_periods():
    # two periods; steps of 50 GWh at 100, lead 0. Funding in 2030 serves both periods:
    # one step: 2 x (50 @50 + 50 @60) + 100 = 11000 + 100 = 11100.
    # (Were max_steps per period, 2030 and 2031 steps would give 5500 + 5000 + 200 = 10700.)
    d = inst([2030, 2031], expansions=[exp(step_gwh=50, cost=100)])
    solved(d, 11100, funded={(0, 2030): 1})
    # max_steps 2: both in 2030 -> 100 GWh of N in both periods: 10000 + 200 = 10200
    d["expansions"][0]["max_steps"] = 2
    solved(d, 10200, {("N", "ev", 2030): 100, ("N", "ev", 2031): 100}, {(0, 2030): 2})


def test_two_expansions_of_one_supplier_and_row_matching():
    # N: a 50 GWh step at 100 (saves 500) and a 30 GWh step at 200 (saves 300), one
    # each; both: 80 @50 + 20 @60 + 300 = 4000 + 1200 + 300 = 5500
    # (50 only: 2500 + 3000 + 100 = 5600; 30 only: 1500 + 4200 + 200 = 5900)
    d = inst(expansions=[exp(step_gwh=50, cost=100), exp(step_gwh=30, cost=200)])
    _, alloc, exps, _ = solved(d, 5500, {("A", "ev", 2030): 20, ("N", "ev", 2030): 80},
                               {(0, 2030): 1, (1, 2030): 1})
    # without the `expansion` column the rows are told apart by their gwh
    plain = [{k: v for k, v in e.items() if k != "expansion"} for e in exps]
    assert check_plan(d, alloc, plain) == []
    assert plan_cost(d, alloc, plain) == pytest.approx(5500)
    # ... and a row that fits neither is reported
    bad = check_plan(d, alloc, [*plain, {**plain[0], "gwh": 40}])
    assert any("no expansion of N" in e for e in bad)


def test_lead_time_delays_capacity():
    # three periods; one step of 100 GWh at 500.
    # lead 1: funded 2030, there from 2031: 6000 + 5000 + 5000 + 500 = 16500
    d = inst([2030, 2031, 2032], expansions=[exp(step_gwh=100, cost=500, lead_time=1)])
    solved(d, 16500, {("A", "ev", 2030): 100, ("N", "ev", 2031): 100,
                      ("N", "ev", 2032): 100}, {(0, 2030): 1})
    assert Data(d).fund_periods(0) == [2030, 2031]      # 2032 + 1 is past the horizon
    # lead 0: 15000 + 500 = 15500; lead 2: 6000 + 6000 + 5000 + 500 = 17500
    d["expansions"][0]["lead_time"] = 0
    solved(d, 15500, funded={(0, 2030): 1})
    d["expansions"][0]["lead_time"] = 2
    solved(d, 17500, funded={(0, 2030): 1})
    # lead 3: the capacity would never arrive: no funding variable, all A = 18000
    d["expansions"][0]["lead_time"] = 3
    assert Data(d).fund_periods(0) == []
    solved(d, 18000, funded={})
    # lead 1 at r = 10%: funding 2030 costs 500 and saves 1000/1.1 + 1000/1.21 = 1735.5,
    # funding 2031 costs 454.5 and saves 826.4 only -> 2030:
    # 6000 + 5000/1.1 + 5000/1.21 + 500 = 15177.686
    d["expansions"][0]["lead_time"] = 1
    d["discount_rate"] = 0.1
    solved(d, 6000 + 5000 / 1.1 + 5000 / 1.21 + 500, funded={(0, 2030): 1})


def test_supplier_only_once_funded_window_and_checker():
    # N available 2031..2031 only; a 100 GWh step at 500, lead 0, r = 10%.
    # Funding in 2030 or 2031 both arrive in 2031 (2032 is outside the window: no
    # variable); the later one is cheaper: 500/1.1. Savings 1000/1.1 > 500/1.1.
    # 6000 + (5000 + 500)/1.1 + 6000/1.21 = 15958.678
    sn = {**N, "available_from": 2031, "available_until": 2031}
    d = inst([2030, 2031, 2032], suppliers=(A, sn), discount_rate=0.1,
             expansions=[exp(step_gwh=100, cost=500)])
    assert Data(d).fund_periods(0) == [2030, 2031]
    r, alloc, exps, _ = solved(d, 6000 + 5500 / 1.1 + 6000 / 1.21,
                                  {("A", "ev", 2030): 100, ("N", "ev", 2031): 100,
                                   ("A", "ev", 2032): 100}, {(0, 2031): 1})
    assert exps == [{"supplier": "N", "period": 2031, "steps": pytest.approx(1),
                     "gwh": pytest.approx(100), "available_from": 2031,
                     "cost": pytest.approx(500), "expansion": 0}]
    # the same plan without its funding: N has no capacity
    assert any("capacity of N in 2031" in e for e in check_plan(d, alloc))
    # funding rows without the `expansion` column (one expansion of N: unambiguous)
    plain = [{k: v for k, v in e.items() if k != "expansion"} for e in exps]
    assert check_plan(d, alloc, plain) == []
    # funded in 2030 instead: also valid, and 500 instead of 500/1.1
    early = [{**exps[0], "period": 2030}]
    assert check_plan(d, alloc, early) == []
    assert plan_cost(d, alloc, early) == pytest.approx(r["objective"] + 500 - 500 / 1.1)
    # outside the funding window, too many steps, fractional steps, wrong columns
    bad = check_plan(d, alloc, [{**exps[0], "period": 2032}])
    assert any("outside its funding window" in e for e in bad)
    assert any("capacity of N in 2031" in e for e in bad)
    bad = check_plan(d, alloc, [{**exps[0], "steps": 1.5, "gwh": 150, "cost": 750}])
    assert any("max_steps" in e for e in bad) and any("not an integer" in e for e in bad)
    bad = check_plan(d, alloc, [{**exps[0], "cost": 400, "available_from": 2032}])
    assert any("cost 400" in e for e in bad) and any("available_from" in e for e in bad)
    # N in 2032 is outside its window whatever is funded
    assert any("outside availability" in e for e in
               check_plan(d, [*alloc[:-1], {"supplier": "N", "application": "ev",
                                            "period": 2032, "gwh": 100}], exps))


# ---- qualification cost -----------------------------------------------------

def test_qualification_cost_once():
    # B at 58, qualification 300: switching saves 2/GWh, 200 per period, 400 over two
    # periods > 300 charged once -> all B: 2 x 5800 + 300 = 11900
    # (charged every period it would be 12200 > 12000)
    b = {**B, "price": 58, "qualification_cost": 300}
    d = inst([2030, 2031], suppliers=(A, b))
    solved(d, 11900, {("B", "ev", 2030): 100, ("B", "ev", 2031): 100})
    # 500 > 400: the slightly cheaper newcomer is not worth qualifying: all A = 12000
    d["suppliers"][1]["qualification_cost"] = 500
    solved(d, 12000, {("A", "ev", 2030): 100, ("A", "ev", 2031): 100})
    # the cost of a plan using B is charged once, in its first period of delivery
    mixed = [{"supplier": "A", "application": "ev", "period": 2030, "gwh": 100},
             {"supplier": "B", "application": "ev", "period": 2031, "gwh": 100}]
    assert plan_cost(d, mixed) == pytest.approx(6000 + 5800 + 500)


def test_qualification_discounted_in_first_delivery_period():
    # B at 55 from 2031, qualification 300, r = 10%: in 2031 B saves 500/1.1 > 300/1.1:
    # 6000 + (5500 + 300)/1.1 = 11272.727
    b = {**B, "price": 55, "qualification_cost": 300, "available_from": 2031}
    d = inst([2030, 2031], suppliers=(A, b), discount_rate=0.1)
    solved(d, 6000 + 5800 / 1.1, {("A", "ev", 2030): 100, ("B", "ev", 2031): 100})


def test_qualification_of_a_funded_supplier():
    # N has qualification 250 and a 100 GWh step at 500 (lead 0), two periods:
    # funded and used in both: 2 x 5000 + 500 + 250 = 10750 < 12000
    d = inst([2030, 2031], expansions=[exp(step_gwh=100, cost=500)])
    d["suppliers"][1]["qualification_cost"] = 250
    solved(d, 10750, funded={(0, 2030): 1})
    # qualification 1600: 2000 saved - 500 - 1600 < 0: all A = 12000
    d["suppliers"][1]["qualification_cost"] = 1600
    solved(d, 12000, funded={})


# ---- contracts --------------------------------------------------------------

def test_discount_makes_contract_worth_signing():
    # B at 62 with a 5% discount on at least 100 GWh: 58.9 < 60 -> signed, 5890
    d = inst(suppliers=(A, {**B, "price": 62}),
             contracts=[{"name": "kb", "supplier": "B", "min_gwh": 100, "discount": 0.05}])
    _, alloc, _, cons = solved(d, 5890, {("B", "ev", 2030): 100}, signed={"kb": 1})
    assert cons == [{"contract": "kb", "supplier": "B", "period": 2030, "signed": True,
                     "gwh": pytest.approx(100), "shortfall_gwh": 0.0, "shortfall_cost": 0.0,
                     "discount": pytest.approx(310)}]
    # the discount is only paid with the contract signed
    assert plan_cost(d, alloc) == pytest.approx(6200)
    # 2%: 60.76 > 60: not signed, all A = 6000
    d["contracts"][0]["discount"] = 0.02
    solved(d, 6000, {("A", "ev", 2030): 100}, signed={"kb": 0})
    # with a 10% tariff on KR cells the discount is on 62 x 1.1 = 68.2: 5% of it is
    # 3.41 and B lands at 64.79 > 60: not signed; at 15% (10.23): 57.97 -> signed,
    # 100 x 57.97 = 5797
    d["tariffs"] = [{"origin": "KR", "rate": 0.1}]
    d["contracts"][0]["discount"] = 0.15
    solved(d, 5797, {("B", "ev", 2030): 100}, signed={"kb": 1})


def test_max_gwh_caps_signed_contract():
    # B at 64, 10% off (57.6) up to 40 GWh: B 40 @57.6 + A 60 @60 = 2304 + 3600 = 5904
    c = {"name": "kb", "supplier": "B", "min_gwh": 0, "max_gwh": 40, "discount": 0.1}
    d = inst(suppliers=(A, B), contracts=[c])
    solved(d, 5904, {("A", "ev", 2030): 60, ("B", "ev", 2030): 40}, signed={"kb": 1})
    # A only 50: signed, B may give 40 only and demand (hard) would fail -> unsigned:
    # A 50 @60 + B 50 @64 = 3000 + 3200 = 6200
    d["suppliers"][0]["capacity"] = 50
    _, alloc, *_ = solved(d, 6200, {("A", "ev", 2030): 50, ("B", "ev", 2030): 50},
                          signed={"kb": 0})
    signed_rows = [{"contract": "kb", "supplier": "B", "period": 2030, "signed": True,
                    "gwh": 50, "shortfall_gwh": 0, "shortfall_cost": 0, "discount": 320}]
    assert any("max_gwh" in e for e in check_plan(d, alloc, None, signed_rows))


def test_take_or_pay_shortfall_paid():
    # demand 100 then 45; B at 64, 10% off (57.6), min 50/period, take-or-pay.
    # signed: 2030 B 100 @57.6 = 5760; 2031 B 45 @57.6 = 2592 + 5 short @64 = 320
    #   -> 8672; unsigned: 6000 + 45 @60 = 2700 -> 8700. Signed wins by 28.
    c = {"name": "kb", "supplier": "B", "min_gwh": 50, "discount": 0.1, "take_or_pay": True}
    d = inst([2030, 2031], demand=[100, 45], suppliers=(A, B), contracts=[c])
    r, alloc, _, cons = solved(d, 8672, {("B", "ev", 2030): 100, ("B", "ev", 2031): 45},
                                  signed={"kb": 1})
    assert r["shortfall"] == {("kb", 2031): pytest.approx(5)}
    assert cons[1]["shortfall_gwh"] == pytest.approx(5)
    assert cons[1]["shortfall_cost"] == pytest.approx(320)
    assert cons[1]["discount"] == pytest.approx(288)         # 10% of 64 x 45
    # a wrong shortfall or volume in the rows is reported
    bad = check_plan(d, alloc, None, [cons[0], {**cons[1], "shortfall_gwh": 0,
                                                "shortfall_cost": 0, "gwh": 40}])
    assert any("shortfall_gwh" in e for e in bad) and any("gwh 40" in e for e in bad)
    # without take-or-pay 50 GWh cannot be bought in 2031 (demand 45): unsigned, 8700
    d["contracts"][0]["take_or_pay"] = False
    solved(d, 8700, {("A", "ev", 2030): 100, ("A", "ev", 2031): 45}, signed={"kb": 0})
    # ... unless the window is 2030 only: then signed, 5760 + 2700 = 8460
    d["contracts"][0]["until"] = 2030
    solved(d, 8460, signed={"kb": 1})


def test_signed_true_forces():
    # B at 64 no discount, min 30, already signed: B 30 @64 + A 70 @60 = 1920 + 4200 = 6120
    c = {"name": "kb", "supplier": "B", "min_gwh": 30, "signed": True}
    d = inst(suppliers=(A, B), contracts=[c])
    solved(d, 6120, {("A", "ev", 2030): 70, ("B", "ev", 2030): 30},
                          signed={"kb": 1})
    # undecided, the model would not sign it: 6000
    d["contracts"][0]["signed"] = False
    solved(d, 6000, signed={"kb": 0})
    # signed: true is checked without any contract rows
    d["contracts"][0]["signed"] = True
    assert any("min_gwh" in e for e in
               check_plan(d, [{"supplier": "A", "application": "ev", "period": 2030,
                               "gwh": 100}]))
    # signed with a max and a 20% discount at B = 50: B 40 @40 + A 60 @60 = 1600 + 3600
    c = {"name": "kb", "supplier": "B", "min_gwh": 0, "max_gwh": 40, "discount": 0.2,
         "signed": True}
    d = inst(suppliers=(A, {**B, "price": 50}), contracts=[c])
    solved(d, 5200, {("A", "ev", 2030): 60, ("B", "ev", 2030): 40}, signed={"kb": 1})
    # take-or-pay, signed, min 120 > demand 100: every GWh at B (64) cuts the shortfall
    # (also paid at 64) and saves buying at A: B 100 @64 + 20 short @64 = 6400 + 1280
    c = {"name": "kb", "supplier": "B", "min_gwh": 120, "take_or_pay": True, "signed": True}
    d = inst(suppliers=(A, B), contracts=[c])
    r, *_ = solved(d, 7680, {("B", "ev", 2030): 100}, signed={"kb": 1})
    assert r["shortfall"] == {("kb", 2030): pytest.approx(20)}


# ---- max_change ---------------------------------------------------------------

def ramp(**rule):
    # N 0 -> 100 -> 100 GWh of capacity (capacity table), A 100 at 60, N at 50.
    # Free: 6000 + 5000 + 5000 = 16000.
    r = {"name": "ramp", "kind": "max_change", **rule}
    return inst([2030, 2031, 2032],
                suppliers=(A, {**N, "capacity": 100}),
                capacity=[{"supplier": "N", "period": 2030, "gwh": 0}], rules=[r])


def test_max_change_binding_and_slack():
    # N ramps by at most 30 a period (from 0 in 2030, where it has no lane):
    # 2031: N 30 + A 70 = 1500 + 4200 = 5700; 2032: N 60 + A 40 = 3000 + 2400 = 5400
    # -> 6000 + 5700 + 5400 = 17100
    x = {("A", "ev", 2030): 100, ("A", "ev", 2031): 70, ("N", "ev", 2031): 30,
         ("A", "ev", 2032): 40, ("N", "ev", 2032): 60}
    d = ramp(by="supplier", group=["N"], limit=30)
    solved(d, 17100, x)
    # the decrease side: A may fall by 30 a period only -> the same plan
    solved(ramp(by="supplier", group=["A"], limit=30), 17100, x)
    # each supplier its own group (no `group`): the same plan
    solved(ramp(by="supplier", limit=30), 17100, x)
    # pooled over both suppliers the total never changes: slack, 16000
    solved(ramp(by="supplier", group=["A", "N"], limit=30), 16000)
    # limit 100: slack, 16000
    solved(ramp(by="supplier", limit=100), 16000)
    # only 2031 (vs 2030) covered: N 30 in 2031, free in 2032: 6000 + 5700 + 5000 = 16700
    solved(ramp(by="supplier", limit=30, periods=[2031]), 16700)
    # only 2030 covered: the first period has no predecessor, nothing to limit: 16000
    solved(ramp(by="supplier", limit=30, periods=[2030]), 16000)
    # the checker finds the free plan's jump
    free = [{"supplier": s, "application": "ev", "period": t, "gwh": 100}
            for s, t in (("A", 2030), ("N", 2031), ("N", 2032))]
    bad = check_plan(d, free)
    assert len(bad) == 1 and "rule ramp" in bad[0] and "2031" in bad[0]


def test_max_change_by_country_per_application():
    # two applications (ev and grid, 50 GWh each per period); US (N) <= +20 per
    # application per period: 2031 N 20 + 20, A 30 + 30 -> 2000 + 3600 = 5600;
    # 2032 N 40 + 40, A 10 + 10 -> 4000 + 1200 = 5200; 6000 + 5600 + 5200 = 16800.
    # Pooled over both applications (+20 in all): 2031 N 20 -> 1000 + 4800 = 5800,
    # 2032 N 40 -> 2000 + 3600 = 5600: 6000 + 5800 + 5600 = 17400.
    d = ramp(by="country", group="US", limit=20, per_application=True)
    d["applications"].append({"id": "grid", "chemistries": ["lfp"]})
    d["demand"] = [{"application": a, "period": t, "gwh": 50}
                   for a in ("ev", "grid") for t in d["periods"]]
    solved(d, 16800)
    d["rules"][0]["per_application"] = False
    solved(d, 17400)
    # applications: [ev] only: ev N 20/40, grid free (N 50 in 2031 and 2032):
    # 2031: N 70 + A 30 = 3500 + 1800 = 5300; 2032: N 90 + A 10 = 4500 + 600 = 5100
    d["rules"][0]["applications"] = ["ev"]
    solved(d, 6000 + 5300 + 5100)


# ---- files and errors ------------------------------------------------------------

def test_csv_tables(tmp_path):
    (tmp_path / "expansions.csv").write_text(
        "# made up\nsupplier,step_gwh,cost,lead_time,max_steps,first,last,integer\n"
        "N,30,200,,4,,2030,false\n")
    (tmp_path / "contracts.csv").write_text(
        "name,supplier,from,until,min_gwh,max_gwh,discount,take_or_pay,signed\n"
        "kb,B,2030,,0,,0.1,no,true\n")
    d = inst(suppliers=(A, N, B), expansions="expansions.csv", contracts="contracts.csv")
    d["suppliers"][2]["qualification_cost"] = "0"
    (tmp_path / "inst.yaml").write_text(yaml.safe_dump(d))
    loaded = load(tmp_path / "inst.yaml")
    assert loaded["expansions"] == [{"supplier": "N", "step_gwh": 30.0, "cost": 200.0,
                                     "max_steps": 4, "last": 2030, "integer": False}]
    assert loaded["contracts"][0] == {"name": "kb", "supplier": "B", "from": 2030,
                                      "min_gwh": 0.0, "discount": 0.1, "take_or_pay": False,
                                      "signed": True}
    # continuous N (5000 + 666.67 for 100 GWh) vs B signed at 57.6: N at 56.67 wins
    solved(tmp_path / "inst.yaml", 5000 + 2000 / 3, {("N", "ev", 2030): 100}, signed={"kb": 1})


def test_unsupported_and_infeasible():
    # a discount on a supplier with price tiers is not modelled here
    d = inst(suppliers=(A, B), price_tiers=[{"supplier": "B", "from_gwh": 0, "price": 64}],
             contracts=[{"name": "kb", "supplier": "B", "min_gwh": 0, "discount": 0.1}])
    with pytest.raises(NotImplementedError):
        solve(d)
    with pytest.raises(NotImplementedError):
        solve(ramp(by="supplier", limit=30, penalty=5))
    # signed: true with a minimum above what B can ever deliver (demand 100): infeasible
    d = inst(suppliers=(A, B), contracts=[{"name": "kb", "supplier": "B", "min_gwh": 120,
                                           "signed": True}])
    r = solve(d)
    assert r["status"] == "infeasible" and r["expansions"] == {} and r["contracts"] == {}
