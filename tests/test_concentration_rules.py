"""Top-k caps, HHI caps and soft rules, with optima worked out by hand.

World (tests/conftest.py): 100 GWh in 2026; cn1 (CATL) 40 USD/kWh, kr1 (LGES)
50, us1 (Peak) 70, 100 GWh each. Without rules: all from cn1, 4000.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from optimizer.cli import main
from tests.conftest import world

REL = 1e-9
CAP30 = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3}


def rule_row(res, name):
    rows = res.rules[res.rules["rule"] == name]
    assert len(rows) == 1
    return rows.iloc[0]


# ------------------------------------------------------------------ top-k
def test_top_two_share_binding(solve_dict):
    # the two largest companies <= 90%: the third needs >= 10%, and so does the second.
    # Cheapest: cn1 80, kr1 10, us1 10 = 3200 + 500 + 700 = 4400
    top2 = {"name": "top2", "kind": "max_top_share", "by": "company", "k": 2, "limit": 0.9}
    res = solve_dict(world(rules=[top2]))
    assert res.objective == pytest.approx(4400, rel=REL)
    row = rule_row(res, "top2")
    assert row["value"] == pytest.approx(0.9)
    assert bool(row["binding"])
    assert res.model_size["binaries"] == 0  # exact and linear
    # a point less (top two <= 89%): with a + m <= 89 for the largest other share m,
    # and both others <= m, the cheapest is cn1 78, kr1 11, us1 11 = 4440: 40 per point
    assert row["marginal_cost"] == pytest.approx(40)


def test_top_one_equals_a_cap_on_every_company(solve_dict):
    # k = 1 is a 40% cap on each company: CATL 40, LGES 40, Peak 20 = 5000
    top1 = {"name": "top1", "kind": "max_top_share", "by": "company", "k": 1, "limit": 0.4}
    assert solve_dict(world(rules=[top1])).objective == pytest.approx(5000, rel=REL)


def test_top_share_slack(solve_dict):
    # with CN <= 30% the plan is CATL 30 / LGES 70: the largest is 70% <= 80%
    top1 = {"name": "top1", "kind": "max_top_share", "by": "company", "k": 1, "limit": 0.8}
    res = solve_dict(world(rules=[CAP30, top1]))
    assert res.objective == pytest.approx(4700, rel=REL)
    row = rule_row(res, "top1")
    assert row["value"] == pytest.approx(0.7) and row["slack"] == pytest.approx(0.1)
    assert not bool(row["binding"])


# ------------------------------------------------------------------ HHI
def two_suppliers(**kw):
    inst = world(**kw)
    inst["suppliers"] = [s for s in inst["suppliers"] if s["id"] != "us1"]
    return inst


def test_hhi_cap_two_companies(solve_dict):
    # shares s and 1 - s: s^2 + (1 - s)^2 <= 0.68  <=>  s <= (1 + sqrt(2 x 0.68 - 1)) / 2 = 0.8
    # so CATL 80, LGES 20: 3200 + 1000 = 4200
    hhi = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.68}
    res = solve_dict(two_suppliers(rules=[hhi]))
    assert res.objective == pytest.approx(4200, rel=1e-6)
    row = rule_row(res, "hhi")
    assert row["value"] <= 0.68 + 1e-6
    assert row["value"] == pytest.approx(0.68, abs=1e-5)
    assert res.solver["hhi_rounds"] >= 1
    # d cost / d limit: cost = 5000 - 10 s x 100 with s = (1 + sqrt(2L - 1)) / 2,
    # ds/dL = 1 / (2 sqrt(2L - 1)) = 1 / 1.2; per 0.01 of the limit: 1000 x 0.01 / 1.2.
    # The duals come from the final tangent cuts, an outer approximation: within 1%.
    assert row["marginal_cost"] == pytest.approx(1000 * 0.01 / 1.2, rel=1e-2)


def test_hhi_cap_three_companies(solve_dict):
    # min 40 a + 50 b + 70 c, a + b + c = 100, a^2 + b^2 + c^2 <= L 100^2, L = 0.5.
    # KKT: x_i = 100/3 - beta (c_i - mean c); beta from the HHI equation (all x_i > 0).
    costs = np.array([40.0, 50.0, 70.0])
    d = costs - costs.mean()
    beta = math.sqrt((0.5 * 100**2 - 3 * (100 / 3) ** 2) / (d @ d))
    x = 100 / 3 - beta * d
    expected = float(costs @ x)  # about 4451.0
    hhi = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.5}
    res = solve_dict(world(rules=[hhi]))
    assert (x > 0).all()
    assert res.objective == pytest.approx(expected, rel=1e-5)
    assert rule_row(res, "hhi")["value"] <= 0.5 + 1e-6


def test_hhi_slack_needs_no_cuts(solve_dict):
    hhi = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 1.0}
    res = solve_dict(world(rules=[hhi]))
    assert res.objective == pytest.approx(4000, rel=REL)
    assert res.solver["hhi_rounds"] == 0


def test_hhi_rounds_and_cost_in_outputs(write_instance, tmp_path):
    hhi = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.68}
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(two_suppliers(rules=[hhi]))),
                 "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["solver"]["hhi_rounds"] >= 1
    # removing the cap saves 200 (4200 -> 4000)
    assert summary["rule_costs"][0]["total_cost"] == pytest.approx(200, rel=1e-5)


# ------------------------------------------------------------------ soft rules
@pytest.mark.parametrize(("penalty", "expected", "miss"), [
    (5, 4000 + 70 * 5, 70),   # cheaper to pay: 70 GWh over the cap at 5 each
    (15, 4700, 0),            # obeying costs 10 per GWh: cheaper than 15
])
def test_soft_share_cap(solve_dict, penalty, expected, miss):
    res = solve_dict(world(rules=[{**CAP30, "penalty": penalty}]))
    assert res.objective == pytest.approx(expected, rel=REL)
    row = rule_row(res, "china-cap")
    assert row["miss"] == pytest.approx(miss, abs=1e-7)
    assert row["penalty_cost"] == pytest.approx(miss * penalty, abs=1e-6)
    assert res.cost_breakdown["rule_penalties"] == pytest.approx(miss * penalty, abs=1e-6)


@pytest.mark.parametrize(("penalty", "expected"), [(20, 4000 + 10 * 20), (40, 4300)])
def test_soft_min_volume(solve_dict, penalty, expected):
    # Peak >= 10 GWh costs 30 per GWh to obey
    rule = {"name": "peak", "kind": "min_volume", "by": "company", "group": ["Peak"],
            "limit": 10, "penalty": penalty}
    assert solve_dict(world(rules=[rule])).objective == pytest.approx(expected, rel=REL)


def test_soft_average(solve_dict):
    # risk <= 0.5, missed by sum (risk - 0.5) x GWh = 0.4 x 100 = 40 units at 10 each:
    # 4400 < 4571.43 (obeying; moving a GWh to kr1 costs 10 and cuts the miss by 0.7)
    rule = {"name": "risk", "kind": "max_average", "attribute": "risk_score", "limit": 0.5,
            "penalty": 10}
    res = solve_dict(world(rules=[rule]))
    assert res.objective == pytest.approx(4400, rel=REL)
    assert rule_row(res, "risk")["miss"] == pytest.approx(40)


def test_soft_min_count(solve_dict):
    # three companies with >= 20%, 500 per company short:
    # one company 4000 + 1000, two (cn1 80, kr1 20) 4200 + 500, three 4800: 4700
    rule = {"name": "three", "kind": "min_count", "by": "company", "limit": 3,
            "threshold": 0.2, "penalty": 500}
    res = solve_dict(world(rules=[rule]))
    assert res.objective == pytest.approx(4700, rel=REL)
    assert rule_row(res, "three")["miss"] == pytest.approx(1)


def test_soft_top_share(solve_dict):
    # the top two over 90% by 10 GWh at 5 each (obeying costs 400): 4050
    rule = {"name": "top2", "kind": "max_top_share", "by": "company", "k": 2, "limit": 0.9,
            "penalty": 5}
    assert solve_dict(world(rules=[rule])).objective == pytest.approx(4050, rel=REL)


def test_hhi_cannot_be_soft(write_instance, capsys):
    rule = {"name": "hhi", "kind": "max_hhi", "by": "company", "limit": 0.5, "penalty": 1}
    assert main(["validate", str(write_instance(world(rules=[rule])))]) == 2
    assert "penalty" in capsys.readouterr().err


def test_top_share_needs_k(write_instance, capsys):
    rule = {"name": "top", "kind": "max_top_share", "by": "company", "limit": 0.5}
    assert main(["validate", str(write_instance(world(rules=[rule])))]) == 2
    assert "'k'" in capsys.readouterr().err
