"""Every LP rule kind once binding and once slack, with the optimum by hand.

The world (tests/conftest.py): 100 GWh of 'grid' demand in 2026 and three
suppliers of 100 GWh each: cn1 (CATL, made in HU, controlled from CN, LFP,
40 USD/kWh), kr1 (LGES, KR, LFP, 50), us1 (Peak, US, Na-ion, 70). Without rules
everything comes from cn1: 4000 USD million.
"""

from __future__ import annotations

import pytest

from tests.conftest import supplier, world

REL = 1e-9


def rule(**kw):
    return {"name": "r", **kw}


def row(result, name="r", **match):
    df = result.rules[result.rules["rule"] == name]
    for k, v in match.items():
        df = df[df[k] == v]
    assert len(df) == 1, df
    return df.iloc[0]


def test_no_rules_buys_cheapest(solve_dict):
    res = solve_dict(world())
    assert res.status == "optimal"
    assert res.objective == pytest.approx(4000, rel=REL)
    assert res.allocation.set_index("supplier")["gwh"].to_dict() == pytest.approx({"cn1": 100})


# ---------------------------------------------------------------- max_share
def test_max_share_binding(solve_dict):
    # CN-controlled <= 30%: 30 GWh from cn1 at 40, 70 from kr1 at 50:
    # 1200 + 3500 = 4700. One percentage point (1 GWh) more for cn1 saves 50-40 = 10.
    res = solve_dict(world(rules=[rule(kind="max_share", by="control", group=["CN"],
                                       limit=0.3)]))
    assert res.objective == pytest.approx(4700, rel=REL)
    r = row(res)
    assert r["value"] == pytest.approx(0.3)
    assert r["slack"] == pytest.approx(0.0, abs=1e-9)
    assert bool(r["binding"])
    assert r["marginal_cost"] == pytest.approx(10.0)


def test_max_share_slack(solve_dict):
    # a 100% cap cannot bind: 4000, slack 0 but zero marginal cost;
    # a 90% cap on KR (which gets nothing) is slack by 0.9.
    res = solve_dict(world(rules=[rule(kind="max_share", by="country", group=["KR"],
                                       limit=0.9)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    r = row(res)
    assert r["value"] == pytest.approx(0.0)
    assert r["slack"] == pytest.approx(0.9)
    assert not bool(r["binding"])
    assert r["marginal_cost"] == pytest.approx(0.0)


# ---------------------------------------------------------------- min_share
def test_min_share_binding(solve_dict):
    # sodium >= 20%: 20 GWh from us1 at 70 and 80 from cn1 at 40: 1400 + 3200 = 4600.
    # Each extra point moves 1 GWh from 40 to 70: marginal cost 30.
    res = solve_dict(world(rules=[rule(kind="min_share", by="family", group=["sodium"],
                                       limit=0.2)]))
    assert res.objective == pytest.approx(4600, rel=REL)
    r = row(res)
    assert r["value"] == pytest.approx(0.2)
    assert bool(r["binding"])
    assert r["marginal_cost"] == pytest.approx(30.0)


def test_min_share_slack(solve_dict):
    # lithium >= 50%: met by cn1 anyway (100%), slack 0.5
    res = solve_dict(world(rules=[rule(kind="min_share", by="family", group=["lithium"],
                                       limit=0.5)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    r = row(res)
    assert r["slack"] == pytest.approx(0.5)
    assert not bool(r["binding"])


# ---------------------------------------------------------------- volumes
def test_max_volume_binding(solve_dict):
    # CATL <= 60 GWh: 60 x 40 + 40 x 50 = 4400; marginal cost 10 per GWh.
    res = solve_dict(world(rules=[rule(kind="max_volume", by="company", group=["CATL"],
                                       limit=60)]))
    assert res.objective == pytest.approx(4400, rel=REL)
    r = row(res)
    assert r["value"] == pytest.approx(60)
    assert r["marginal_cost"] == pytest.approx(10.0)


def test_max_volume_slack(solve_dict):
    res = solve_dict(world(rules=[rule(kind="max_volume", by="company", group=["CATL"],
                                       limit=150)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert row(res)["slack"] == pytest.approx(50)


def test_min_volume_binding(solve_dict):
    # Peak >= 10 GWh: 10 x 70 + 90 x 40 = 4300; marginal cost 30 per GWh.
    res = solve_dict(world(rules=[rule(kind="min_volume", by="company", group=["Peak"],
                                       limit=10)]))
    assert res.objective == pytest.approx(4300, rel=REL)
    assert row(res)["marginal_cost"] == pytest.approx(30.0)


def test_min_volume_slack(solve_dict):
    res = solve_dict(world(rules=[rule(kind="min_volume", by="company", group=["CATL"],
                                       limit=50)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert row(res)["slack"] == pytest.approx(50)


# ---------------------------------------------------------------- exclude
def test_exclude_binding(solve_dict):
    # no CN-controlled cells: all from kr1, 100 x 50 = 5000
    res = solve_dict(world(rules=[rule(kind="exclude", by="control", group=["CN"])]))
    assert res.objective == pytest.approx(5000, rel=REL)
    assert "cn1" not in set(res.allocation["supplier"])


def test_exclude_slack(solve_dict):
    # excluding production in CN excludes nothing: cn1 is made in HU
    res = solve_dict(world(rules=[rule(kind="exclude", by="country", group=["CN"])]))
    assert res.objective == pytest.approx(4000, rel=REL)


# ---------------------------------------------------------------- averages
def test_max_average_binding(solve_dict):
    # average risk <= 0.5: 0.9 x + 0.2 y <= 0.5 (x + y), x + y = 100 -> x <= 300/7.
    # Moving a GWh from cn1 to kr1 costs 10 and cuts risk by 0.7 (cheaper per unit of
    # risk than us1: 30 / 0.8), so cost = 5000 - 10 x = 5000 - 3000/7 = 4571.428...
    # d cost / d limit = -10 * 100 / 0.7 = -1428.57 per unit of average.
    res = solve_dict(world(rules=[rule(kind="max_average", attribute="risk_score",
                                       limit=0.5)]))
    assert res.objective == pytest.approx(5000 - 3000 / 7, rel=REL)
    r = row(res)
    assert r["value"] == pytest.approx(0.5)
    assert r["marginal_cost"] == pytest.approx(1000 / 0.7, rel=1e-7)


def test_max_average_slack(solve_dict):
    res = solve_dict(world(rules=[rule(kind="max_average", attribute="risk_score",
                                       limit=0.95)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert row(res)["slack"] == pytest.approx(0.05)


def test_min_average_binding(solve_dict):
    # average cycles >= 4000: 3000 (100 - z) + 10000 z >= 400000 -> z >= 100/7;
    # cost = 40 (100 - z) + 70 z = 4000 + 30 z = 4000 + 3000/7
    res = solve_dict(world(rules=[rule(kind="min_average", attribute="cycles", limit=4000)]))
    assert res.objective == pytest.approx(4000 + 3000 / 7, rel=REL)
    assert row(res)["value"] == pytest.approx(4000)


def test_min_average_slack(solve_dict):
    res = solve_dict(world(rules=[rule(kind="min_average", attribute="cycles", limit=2500)]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert row(res)["slack"] == pytest.approx(500)


def test_average_on_carbon_intensity(solve_dict):
    # carbon intensity (kg/kWh) cn1 90, kr1 30, us1 20; average <= 60:
    # 90 x + 30 (100 - x) <= 6000 -> x <= 50: 50 x 40 + 50 x 50 = 4500
    inst = world(rules=[rule(kind="max_average", attribute="carbon_intensity", limit=60)])
    for sid, ci in (("cn1", 90), ("kr1", 30), ("us1", 20)):
        supplier(inst, sid)["carbon_intensity"] = ci
    assert solve_dict(inst).objective == pytest.approx(4500, rel=REL)


# ------------------------------------------------- pooled group vs each value
def test_each_value_separately(solve_dict):
    # no group: every controlling country <= 40%: CN 40 @40, KR 40 @50, US 20 @70
    # = 1600 + 2000 + 1400 = 5000
    res = solve_dict(world(rules=[rule(kind="max_share", by="control", limit=0.4)]))
    assert res.objective == pytest.approx(5000, rel=REL)
    assert set(res.rules["group"]) == {"CN", "KR", "US"}


def test_pooled_group(solve_dict):
    # CN and KR together <= 40%: 40 from cn1 @40, 60 from us1 @70 = 1600 + 4200 = 5800
    res = solve_dict(world(rules=[rule(kind="max_share", by="control", group=["CN", "KR"],
                                       limit=0.4)]))
    assert res.objective == pytest.approx(5800, rel=REL)
    assert len(res.rules) == 1


# ------------------------------------------------- grouping by every attribute
@pytest.mark.parametrize(
    ("by", "group", "expected"),
    [
        # a cap of 60 GWh on a group holding cn1 costs 60 x 40 + 40 x 50 = 4400;
        # on a group without cn1 it costs nothing
        ("supplier", "cn1", 4400),
        ("company", "CATL", 4400),
        ("country", "HU", 4400),
        ("country", "CN", 4000),  # cn1 is made in HU, not CN
        ("control", "CN", 4400),
        ("bloc", "eu", 4400),  # bloc of the production country HU
        ("bloc", "asia", 4000),  # CN's bloc, but no plant is in CN; KR gets nothing
        ("chemistry", "lfp", None),  # lfp holds cn1 and kr1: 60 x 40 + 40 x 70 = 5200
        ("family", "lithium", None),
        ("region", "europe", 4400),  # a declared text attribute
    ],
)
def test_group_by(solve_dict, by, group, expected):
    res = solve_dict(world(rules=[rule(kind="max_volume", by=by, group=[group], limit=60)]))
    assert res.objective == pytest.approx(expected if expected is not None else 5200, rel=REL)


# ------------------------------------------------- per_application, applications, periods
def two_applications(**rule_kw):
    # 'ev' takes LFP only, 'grid' LFP or Na-ion, 50 GWh each; us1 costs 45 here.
    inst = world(
        applications=[{"id": "ev", "chemistries": ["lfp"]},
                      {"id": "grid", "chemistries": ["lfp", "naion"]}],
        demand=[{"application": "ev", "period": 2026, "gwh": 50},
                {"application": "grid", "period": 2026, "gwh": 50}],
        rules=[rule(**rule_kw)] if rule_kw else [],
    )
    supplier(inst, "us1")["price"] = 45
    return inst


def test_pooled_over_applications(solve_dict):
    # CN <= 50% of ev + grid pooled: ev all cn1 (50 @40), grid all us1 (50 @45) = 4250
    res = solve_dict(two_applications(kind="max_share", by="control", group=["CN"],
                                      limit=0.5))
    assert res.objective == pytest.approx(4250, rel=REL)


def test_per_application(solve_dict):
    # CN <= 50% of each application: ev 25 cn1 + 25 kr1, grid 25 cn1 + 25 us1
    # = 1000 + 1250 + 1000 + 1125 = 4375
    res = solve_dict(two_applications(kind="max_share", by="control", group=["CN"],
                                      limit=0.5, per_application=True))
    assert res.objective == pytest.approx(4375, rel=REL)
    assert set(res.rules["application"]) == {"ev", "grid"}


def test_applications_filter(solve_dict):
    # CN <= 20% of ev only: ev 10 cn1 + 40 kr1 = 2400, grid 50 cn1 = 2000: 4400
    res = solve_dict(two_applications(kind="max_share", by="control", group=["CN"],
                                      limit=0.2, applications=["ev"]))
    assert res.objective == pytest.approx(4400, rel=REL)


def test_periods_filter(solve_dict):
    # two years of 100 GWh; CN <= 30% in 2027 only: 4000 + 4700 = 8700
    inst = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)],
                 rules=[rule(kind="max_share", by="control", group=["CN"], limit=0.3,
                             periods=[2027])])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(8700, rel=REL)
    assert list(res.rules["period"]) == [2027]
