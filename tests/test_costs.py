"""Landed cost, capacity, availability, discounting and unmet demand, by hand."""

from __future__ import annotations

import pytest

from tests.conftest import supplier, world

REL = 1e-9


def test_stacked_tariffs_with_filters(solve_dict):
    # Tariffs on cells made in HU (cn1, 40 USD/kWh):
    #   10% on everything, +5% on lithium family, +7% on lfp in 2026 only,
    #   +50% on naion (does not match lfp), +30% from 2027 (does not match 2026).
    # cn1 landed = 40 x 1.22 = 48.8 < kr1 50, so cn1 still supplies all 100 GWh: 4880,
    # of which tariffs 880.
    inst = world(tariffs=[
        {"origin": "HU", "rate": 0.10},
        {"origin": "HU", "rate": 0.05, "family": "lithium"},
        {"origin": "HU", "rate": 0.07, "chemistry": "lfp", "until": 2026},
        {"origin": "HU", "rate": 0.50, "chemistry": "naion"},
        {"origin": "HU", "rate": 0.30, "from": 2027},
        {"origin": "CN", "rate": 1.00},  # by production country, not control
    ])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4880, rel=REL)
    assert res.cost_breakdown["tariff"] == pytest.approx(880, rel=REL)
    assert res.cost_breakdown["ex_works"] == pytest.approx(4000, rel=REL)
    assert res.allocation.iloc[0]["unit_landed_cost"] == pytest.approx(48.8)


def test_tariff_tips_the_choice(solve_dict):
    # a 30% duty on HU makes cn1 52 > kr1 50: all from kr1, 5000
    res = solve_dict(world(tariffs=[{"origin": "HU", "rate": 0.3}]))
    assert res.objective == pytest.approx(5000, rel=REL)


def test_lane_freight_overrides_supplier_freight(solve_dict):
    # cn1 freight 5 (landed 45); lane cn1->grid 12 (landed 52): kr1 (freight 1, 51) wins.
    inst = world(lanes=[{"supplier": "cn1", "application": "grid", "freight": 12}])
    supplier(inst, "cn1")["freight"] = 5
    supplier(inst, "kr1")["freight"] = 1
    res = solve_dict(inst)
    assert res.objective == pytest.approx(5100, rel=REL)
    assert res.cost_breakdown["freight"] == pytest.approx(100, rel=REL)


def test_carbon_price(solve_dict):
    # 100 USD/t x 90 kg/kWh / 1000 = 9 USD/kWh on cn1 (49 < 50): 4900, carbon 900
    inst = world(carbon_price=100)
    supplier(inst, "cn1")["carbon_intensity"] = 90
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4900, rel=REL)
    assert res.cost_breakdown["carbon"] == pytest.approx(900, rel=REL)


def test_discounting(solve_dict):
    # 100 GWh in 2026 and 2028 from cn1, r = 10%: 4000 + 4000 / 1.1^2
    inst = world(periods=[2026, 2028], discount_rate=0.1,
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2028)])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4000 + 4000 / 1.21, rel=REL)
    assert res.cost_breakdown["undiscounted_purchases"] == pytest.approx(8000, rel=REL)


def test_capacity_and_price_tables_override_scalars(solve_dict):
    # 2027: cn1 capacity 30 (table) and price 45 (table); kr1 50; demand 100:
    # 2026: 100 x 40 = 4000; 2027: 30 x 45 + 70 x 50 = 4850
    inst = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)],
                 capacity=[{"supplier": "cn1", "period": 2027, "gwh": 30}],
                 prices=[{"supplier": "cn1", "period": 2027, "price": 45}])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(8850, rel=REL)


def test_shared_capacity_across_applications(solve_dict):
    # cn1 has 100 GWh for ev (50) and grid (80) together: the 30 it cannot serve
    # come from kr1: 100 x 40 + 30 x 50 = 5500
    inst = world(applications=[{"id": "ev", "chemistries": ["lfp"]},
                               {"id": "grid", "chemistries": ["lfp", "naion"]}],
                 demand=[{"application": "ev", "period": 2026, "gwh": 50},
                         {"application": "grid", "period": 2026, "gwh": 80}])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(5500, rel=REL)
    assert res.allocation.groupby("supplier")["gwh"].sum()["cn1"] == pytest.approx(100)


def test_availability_window(solve_dict):
    # cn1 only from 2027: 2026 from kr1 (5000), 2027 from cn1 (4000)
    inst = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)])
    supplier(inst, "cn1")["available_from"] = 2027
    res = solve_dict(inst)
    assert res.objective == pytest.approx(9000, rel=REL)
    alloc = res.allocation.set_index(["supplier", "period"])["gwh"]
    assert alloc[("kr1", 2026)] == pytest.approx(100)
    assert alloc[("cn1", 2027)] == pytest.approx(100)


def test_chemistry_not_allowed(solve_dict):
    # grid takes Na-ion only: all from us1, 7000
    inst = world(applications=[{"id": "grid", "chemistries": ["naion"]}])
    assert solve_dict(inst).objective == pytest.approx(7000, rel=REL)


def test_unmet_demand_at_penalty(solve_dict):
    # penalty 45: CN <= 30% leaves 70 GWh that kr1 sells at 50 > 45, so they go unmet:
    # 30 x 40 + 70 x 45 = 1200 + 3150 = 4350
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"],
                                "unmet_penalty": 45}],
                 rules=[{"name": "cap", "kind": "max_share", "by": "control", "group": ["CN"],
                         "limit": 0.3}])
    res = solve_dict(inst)
    assert res.status == "optimal"
    # the share rule counts bought volume: 30 of 30 bought is 100% CN, so cn1 must be
    # limited by X too. X = bought; V <= 0.3 X. Buying only from cn1 is not allowed;
    # with x_cn = 0.3 X and x_kr = 0.7 X: cost = 40*0.3X + 50*0.7X + 45 (100 - X)
    # = 47 X + 4500 - 45 X = 4500 + 2 X, minimised at X = 0: everything unmet, 4500.
    assert res.objective == pytest.approx(4500, rel=REL)
    assert res.unmet["unmet"].sum() == pytest.approx(100)
    assert res.cost_breakdown["unmet_penalty"] == pytest.approx(4500, rel=REL)


def test_unmet_cheaper_than_every_supplier(solve_dict):
    # penalty 30 < 40: nothing is bought, 100 x 30 = 3000
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"],
                                "unmet_penalty": 30}])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(3000, rel=REL)
    assert res.allocation.empty


def test_demand_rows_absent_mean_zero(solve_dict):
    inst = world(periods=[2026, 2027])
    res = solve_dict(inst)
    assert res.objective == pytest.approx(4000, rel=REL)
    assert set(res.allocation["period"]) == {2026}
