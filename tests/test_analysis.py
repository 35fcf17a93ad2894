"""Rule costs, the concentration report and infeasibility repairs, by hand."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.analysis.budget import Budget, budget_warning
from optimizer.cli import main
from tests.conftest import supplier, world

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"
CAP30 = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3}


# ------------------------------------------------------------------ rule costs
def test_rule_costs_teaching_instance():
    # instances/teaching/instance.yaml, optimum 3638:
    # - china-cap 2026 removed: floor 2 at 75, then 28 GWh China-controlled
    #   (10 at 51, 18 at 52): 1596 instead of 1722 -> 126
    # - china-cap 2027 slack: 0
    # - alt-floor 2026 removed: 2 GWh of peak (75) become lges (70): 10
    # - alt-floor 2027 removed: 2 GWh of peak (75) become catl (52): 46
    # - ev-no-china-2027 lifted: the cap then allows 22.4 GWh of CN in 2027; 4.4 GWh more
    #   go to ev at 52 instead of lges at 70: 4.4 x 18 = 79.2
    res = optimizer.solve(TEACHING)
    tc = res.rules.set_index(["rule", "period"])["total_cost"]
    assert tc[("china-cap", 2026)] == pytest.approx(126)
    assert tc[("china-cap", 2027)] == pytest.approx(0)
    assert tc[("alt-floor", 2026)] == pytest.approx(10)
    assert tc[("alt-floor", 2027)] == pytest.approx(46)
    assert tc[("ev-no-china-2027", 2027)] == pytest.approx(79.2)
    per_rule = res.rule_summary.set_index("rule")["total_cost"]
    assert per_rule["alt-floor"] == pytest.approx(56)  # both years removed together
    # no rules at all: 2026 10 x 51 + 20 x 52 = 1550; 2027 10 x 51 + 22 x 52 = 1654
    assert res.price_of_rules["objective_no_rules"] == pytest.approx(3204)
    assert res.price_of_rules["cost_of_rules"] == pytest.approx(434)


def test_rule_cost_columns_in_rules_csv(write_instance, tmp_path):
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(world(rules=[CAP30]))), "--out", str(out)]) == 0
    import pandas as pd

    rules = pd.read_csv(out / "rules.csv")
    for col in ("rule", "period", "application", "value", "limit", "slack", "binding",
                "marginal_cost", "total_cost"):
        assert col in rules.columns
    # the cap moves 70 GWh from 40 to 50: total cost 700; 10 per percentage point
    assert rules.loc[0, "total_cost"] == pytest.approx(700)
    assert rules.loc[0, "marginal_cost"] == pytest.approx(10)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["price_of_rules"]["cost_of_rules"] == pytest.approx(700)


def test_rule_costs_with_binaries(solve_dict):
    # cn1 fixed cost 200, CN <= 30%: optimum 4900 (tests/test_binaries.py).
    # Without the cap: cn1 100 at 40 + 200 = 4200 -> total cost 700; the LP with the
    # binary fixed gives the marginal cost 10 per point.
    inst = world(rules=[CAP30])
    supplier(inst, "cn1")["fixed_cost"] = 200
    res = solve_dict(inst)
    row = res.rules.iloc[0]
    assert row["total_cost"] == pytest.approx(700)
    assert row["marginal_cost"] == pytest.approx(10)


# Two rules in a MIP (tests/test_binaries.py's world): cn1 (40, fixed cost 200),
# kr1 (50), us1 (70), 100 GWh of demand; CN <= 30%, KR <= 60%. Optimum: cn1 30,
# kr1 60, us1 10 = 1200 + 200 + 3000 + 700 = 5100 (without cn1: 60 x 50 + 40 x 70
# = 5800). Without the CN cap: cn1 100 = 4200, so it costs 900. Without the KR
# cap: cn1 30 + kr1 70 = 1200 + 200 + 3500 = 4900, so it costs 200. No rules: 4200.
KR60 = {"name": "kr-cap", "kind": "max_share", "by": "control", "group": ["KR"], "limit": 0.6}


def two_rule_mip() -> dict:
    inst = world(rules=[CAP30, KR60])
    supplier(inst, "cn1")["fixed_cost"] = 200
    return inst


class Allows(Budget):
    """A budget spent after ``n`` re-solves (whatever the clock says)."""

    def __init__(self, n: int):
        super().__init__(seconds=1e9)
        self.n = n

    def spent(self) -> bool:
        self.n -= 1
        return self.n < 0


def test_mip_analysis_within_its_budget(solve_dict):
    # the automatic budget (30 s at least) is slack on this small MIP
    res = solve_dict(two_rule_mip())
    assert res.objective == pytest.approx(5100)
    assert res.rule_summary.set_index("rule")["total_cost"].to_dict() == \
        pytest.approx({"china-cap": 900, "kr-cap": 200})
    assert res.rules.set_index("rule")["total_cost"].to_dict() == \
        pytest.approx({"china-cap": 900, "kr-cap": 200})
    assert res.price_of_rules["objective_no_rules"] == pytest.approx(4200)
    assert not any("left blank" in w for w in res.warnings)
    # HiGHS holds the plan again after the re-solves (put back, not re-solved)
    plain = solve_dict(two_rule_mip(), analysis=False)
    assert res.highs.col_values() == pytest.approx(plain.highs.col_values(), abs=1e-9)


def test_mip_analysis_budget_spent_leaves_costs_blank(solve_dict, monkeypatch):
    import optimizer.api

    monkeypatch.setattr(optimizer.api, "mip_budget", lambda seconds: Budget(0.0))
    res = solve_dict(two_rule_mip())
    assert res.objective == pytest.approx(5100)  # the plan itself is untouched
    assert res.rule_summary["total_cost"].isna().all()
    assert res.rules["total_cost"].isna().all()
    assert res.price_of_rules["objective_no_rules"] is None
    assert res.price_of_rules["cost_of_rules"] is None
    assert res.concentration["hhi_no_rules"].isna().all()
    assert res.concentration["hhi"].notna().all()
    blank = [w for w in res.warnings if "left blank" in w]
    assert blank == ["total cost left blank for 2 of 2 rules, 2 of 2 rule scopes and the "
                     "plan without rules (concentration report): the analysis re-solves this "
                     "model with binaries for at most 0 s (as long as the solve, at least "
                     "30 s; --analysis lifts this)"]
    # asked for explicitly, the analysis is not time-boxed
    res = solve_dict(two_rule_mip(), analysis=True)
    assert res.rule_summary.set_index("rule")["total_cost"].to_dict() == \
        pytest.approx({"china-cap": 900, "kr-cap": 200})
    # an LP's automatic analysis is not time-boxed either: CN cap alone costs
    # 70 x (50 - 40) = 700 (test_rule_cost_columns_in_rules_csv)
    res = solve_dict(world(rules=[CAP30]))
    assert res.rules.iloc[0]["total_cost"] == pytest.approx(700)


def test_mip_analysis_budget_goes_to_the_plan_without_rules_then_rules_then_scopes(
        solve_dict, monkeypatch):
    import optimizer.api

    # three re-solves: the plan without rules, then each rule; the scopes stay blank
    monkeypatch.setattr(optimizer.api, "mip_budget", lambda seconds: Allows(3))
    res = solve_dict(two_rule_mip())
    assert res.price_of_rules["cost_of_rules"] == pytest.approx(900)
    assert res.rule_summary.set_index("rule")["total_cost"].to_dict() == \
        pytest.approx({"china-cap": 900, "kr-cap": 200})
    assert res.rules["total_cost"].isna().all()
    assert any(w.startswith("total cost left blank for 2 of 2 rule scopes:")
               for w in res.warnings)
    # four: the binding CN scope as well
    monkeypatch.setattr(optimizer.api, "mip_budget", lambda seconds: Allows(4))
    tc = solve_dict(two_rule_mip()).rules.set_index("rule")["total_cost"]
    assert tc["china-cap"] == pytest.approx(900) and np.isnan(tc["kr-cap"])


def test_re_solve_stopped_before_an_optimum_leaves_the_cost_blank(solve_dict, monkeypatch):
    """A re-solve stopped by its time limit has only a bound on the cost: blank."""
    import optimizer.api

    class Instant(Budget):
        def spent(self) -> bool:
            return False

        def left(self) -> float:
            return 1e-12  # every re-solve stops at once

    monkeypatch.setattr(optimizer.api, "mip_budget", lambda seconds: Instant(1.0))
    res = solve_dict(two_rule_mip())
    assert res.rule_summary["total_cost"].isna().all()
    assert res.rules["total_cost"].isna().all()
    assert res.price_of_rules["cost_of_rules"] is None


def test_budget_warning_without_a_budget_names_the_time_limit():
    budget = Budget()
    assert budget_warning(budget, 5, 2) is None
    budget.missed("scope")
    assert budget_warning(budget, 5, 2) == (
        "total cost left blank for 1 of 5 rule scopes: their re-solves stopped at the "
        "time limit before proving an optimum")


def test_slack_rule_costs_nothing(solve_dict):
    # KR gets nothing in the optimum: a 50% cap on it is slack
    res = solve_dict(world(rules=[{**CAP30, "group": ["KR"], "limit": 0.5}]))
    assert res.rules.iloc[0]["total_cost"] == 0
    assert res.rules.iloc[0]["marginal_cost"] == 0


def test_no_analysis_flag(write_instance, tmp_path):
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(world(rules=[CAP30]))), "--out", str(out),
                 "--no-analysis"]) == 0
    assert not (out / "concentration.csv").exists()
    import pandas as pd

    assert "total_cost" not in pd.read_csv(out / "rules.csv").columns


def test_automatic_analysis_skipped_is_said(write_instance, capsys, monkeypatch):
    import optimizer.api

    path = str(write_instance(world(rules=[CAP30])))
    assert main(["solve", path]) == 0
    # 3 variables (the purchases): analysed
    assert "skipped" not in capsys.readouterr().out
    monkeypatch.setattr(optimizer.api, "ANALYSIS_AUTO_LIMIT", 2)
    assert main(["solve", path]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "rule total costs and the concentration report skipped: the model has 3 " \
        "variables (they run by themselves up to 2; --analysis runs them anyway)" in out
    assert main(["solve", path, "--no-analysis"]) == 0  # asked for: nothing to say
    assert "skipped" not in capsys.readouterr().out


# ------------------------------------------------------------------ concentration
def test_concentration_report(write_instance, tmp_path):
    # CN <= 30%: companies CATL 30, LGES 70 -> HHI 30^2 + 70^2 = 5800, top-1 LGES 70%;
    # without rules CATL takes all: HHI 10,000
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(world(rules=[CAP30]))), "--out", str(out)]) == 0
    import pandas as pd

    conc = pd.read_csv(out / "concentration.csv").set_index("by")
    assert set(conc.index) == {"company", "country", "control", "family"}
    company = conc.loc["company"]
    assert company["hhi"] == pytest.approx(5800)
    assert company["hhi_no_rules"] == pytest.approx(10000)
    assert company["top1_group"] == "LGES" and company["top1_share"] == pytest.approx(0.7)
    assert company["top1_group_no_rules"] == "CATL"
    assert company["top3_share"] == pytest.approx(1.0)
    assert conc.loc["family", "hhi"] == pytest.approx(10000)  # all lithium


# ------------------------------------------------------------------ repairs
def repairs_of(path, tmp_path):
    out = tmp_path / "rep"
    assert main(["solve", str(path), "--out", str(out)]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["status"] == "infeasible"
    return summary


def test_repair_max_share(write_instance, tmp_path, capsys):
    # non-CN capacity is kr1 60 + us1 10 = 70 of 100 GWh: CN needs 30%, cap says 25%.
    # 2027 adds 5 GWh of defense that may not use CN cells: CN needs 35 of 105 = 1/3.
    inst = world(
        periods=[2026, 2027],
        applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                      {"id": "defense", "chemistries": ["lfp"]}],
        demand=[{"application": "grid", "period": 2026, "gwh": 100},
                {"application": "grid", "period": 2027, "gwh": 100},
                {"application": "defense", "period": 2027, "gwh": 5}],
        rules=[{**CAP30, "limit": 0.25},
               {"name": "defense-feoc", "kind": "exclude", "by": "control", "group": ["CN"],
                "applications": ["defense"]}],
    )
    supplier(inst, "kr1")["capacity"] = 60
    supplier(inst, "us1")["capacity"] = 10
    summary = repairs_of(write_instance(inst), tmp_path)
    fixes = {r["period"]: r for r in summary["repairs"]}
    assert set(fixes) == {2026, 2027}
    assert all(r["rule"] == "china-cap" and r["limit"] == 0.25 for r in fixes.values())
    assert fixes[2026]["required"] == pytest.approx(0.30, abs=1e-6)
    assert fixes[2027]["required"] == pytest.approx(1 / 3, abs=1e-6)
    assert {r["unit"] for r in fixes.values()} == {"share"}
    # in percent; 1/3 is shown rounded up, as 33.3% would still leave no plan
    assert fixes[2026]["message"] == "raise 'china-cap' in 2026 from 25% to 30%"
    assert fixes[2027]["message"] == "raise 'china-cap' in 2027 from 25% to 33.4%"
    printed = capsys.readouterr().out
    assert "raise 'china-cap' in 2026 from 25% to 30%" in printed
    # repairs.csv keeps the numbers as fractions, beside the sentence
    csv = pd.read_csv(tmp_path / "rep" / "repairs.csv").set_index("period")
    assert csv.loc[2027, "limit"] == 0.25 and csv.loc[2027, "unit"] == "share"
    assert csv.loc[2027, "required"] == pytest.approx(1 / 3, abs=1e-6)
    assert csv.loc[2027, "message"] == "raise 'china-cap' in 2027 from 25% to 33.4%"
    assert summary["conflicts"] == ["china-cap"]
    assert any("china-cap" in item for item in summary["irreducible_conflict"])


def test_repair_min_share(write_instance, tmp_path):
    # sodium >= 15% but us1 has 10 of 100 GWh: the floor must come down to 10%
    inst = world(rules=[{"name": "alt-floor", "kind": "min_share", "by": "family",
                         "group": ["sodium"], "limit": 0.15}])
    supplier(inst, "us1")["capacity"] = 10
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["rule"] == "alt-floor" and fix["period"] == 2026
    assert fix["limit"] == 0.15 and fix["required"] == pytest.approx(0.10, abs=1e-6)
    assert fix["message"] == "lower 'alt-floor' in 2026 to 10% instead of 15%"


def test_repair_min_volume(write_instance, tmp_path):
    # at least 25 GWh from Peak, which can make 12
    inst = world(rules=[{"name": "peak-floor", "kind": "min_volume", "by": "company",
                         "group": ["Peak"], "limit": 25}])
    supplier(inst, "us1")["capacity"] = 12
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["rule"] == "peak-floor" and fix["required"] == pytest.approx(12)
    assert fix["unit"] == "GWh"
    assert fix["message"] == "lower 'peak-floor' in 2026 to 12 GWh instead of 25 GWh"


def test_repair_max_average(write_instance, tmp_path):
    # risk <= 0.12, but the least risky mix is us1 50 (0.1) + kr1 50 (0.2): 0.15
    inst = world(rules=[{"name": "low-risk", "kind": "max_average", "attribute": "risk_score",
                         "limit": 0.12}])
    supplier(inst, "us1")["capacity"] = 50
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["rule"] == "low-risk" and fix["required"] == pytest.approx(0.15, abs=1e-6)
    assert fix["unit"] == "risk_score"
    assert fix["message"] == "raise 'low-risk' in 2026 from 0.12 risk_score to 0.15 risk_score"


def test_repair_demand(write_instance, tmp_path, capsys):
    # defense may not use CN cells and only kr1 (3 GWh) is left: 2 GWh short
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "defense", "chemistries": ["lfp"]}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 50},
                         {"application": "defense", "period": 2026, "gwh": 5}],
                 rules=[{"name": "defense-feoc", "kind": "exclude", "by": "control",
                         "group": ["CN"], "applications": ["defense"]}])
    supplier(inst, "kr1")["capacity"] = 3
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["demand"] == "defense" and fix["period"] == 2026
    assert fix["limit"] == 5 and fix["required"] == pytest.approx(3)
    assert fix["unit"] == "GWh"
    message = ("defense demand in 2026 exceeds what the eligible suppliers can deliver under "
               "the rules by 2 GWh (at most 3 GWh of 5 GWh can be served)")
    assert fix["message"] == message
    assert message in " ".join(capsys.readouterr().out.split())


def test_repair_min_count(write_instance, tmp_path):
    # four companies with >= 10% each, but only three exist
    inst = world(rules=[{"name": "four-makers", "kind": "min_count", "by": "company",
                         "limit": 4, "threshold": 0.1}])
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["rule"] == "four-makers" and fix["required"] == 3
    assert fix["unit"] == "groups"
    assert fix["message"] == "require only 3 instead of 4 groups in 'four-makers' in 2026"


def test_repair_demand_without_any_offer(write_instance, tmp_path):
    inst = world(chemistries=[{"id": "lfp", "family": "lithium"},
                              {"id": "naion", "family": "sodium"},
                              {"id": "zn", "family": "zinc"}],
                 applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "long", "chemistries": ["zn"]}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 10},
                         {"application": "long", "period": 2026, "gwh": 4}])
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["demand"] == "long" and fix["required"] == 0 and fix["limit"] == 4
    assert fix["message"].startswith("long demand in 2026 is 4 GWh, but no supplier can deliver")


def test_repair_max_hhi_in_points(write_instance, tmp_path):
    # an HHI cap of 2,500 points on three companies with 100, 100 and 30 GWh of
    # capacity: the least concentrated plan buys 35 + 35 + 30 (HHI 3,350 points).
    # The repair of an HHI cap is the HHI of the elastic model's plan (no
    # bisection): at least that, and the message gives it in points, rounded up.
    inst = world(rules=[{"name": "hhi-cap", "kind": "max_hhi", "by": "company",
                         "limit": 0.25}])
    supplier(inst, "us1")["capacity"] = 30
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["rule"] == "hhi-cap" and fix["unit"] == "hhi" and fix["limit"] == 0.25
    assert 0.335 - 1e-6 <= fix["required"] <= 0.5
    points = math.ceil(fix["required"] * 10_000 - 1e-6)
    assert fix["message"] == f"raise 'hhi-cap' in 2026 from HHI 2,500 to HHI {points:,}"


def test_repair_max_top_share_in_percent(write_instance, tmp_path):
    # the two largest companies at most 50%, but Peak can make only 20 of 100 GWh:
    # the top two hold at least 80 GWh (40 + 40)
    inst = world(rules=[{"name": "top-two", "kind": "max_top_share", "by": "company",
                         "k": 2, "limit": 0.5}])
    supplier(inst, "us1")["capacity"] = 20
    (fix,) = repairs_of(write_instance(inst), tmp_path)["repairs"]
    assert fix["unit"] == "share" and fix["required"] == pytest.approx(0.8, abs=1e-6)
    assert fix["message"] == "raise 'top-two' in 2026 from 50% to 80%"


def test_changed_limit_in_the_model_is_reported(write_instance):
    # a notebook user lowers the cap in the built model: the rule table must show
    # the limit the model solved with (0.2: cn1 20 + kr1 80 = 4800, tight)
    inst = optimizer.load_instance(write_instance(world(rules=[CAP30])))
    data = optimizer.prepare(inst)
    m = optimizer.build_model(data)
    m.rule_limit["china-cap"] = 0.2
    res = optimizer.solve_model(m, data)
    assert res.objective == pytest.approx(4800)
    row = res.rules.iloc[0]
    assert row["limit"] == pytest.approx(0.2) and bool(row["binding"])
    assert row["total_cost"] == pytest.approx(800)
