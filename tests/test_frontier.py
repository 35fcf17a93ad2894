"""Frontier sweeps: values against hand-worked optima and independent re-solves.

The three-supplier world of conftest.py (one application 'grid', 100 GWh in
2026): cn1 (CATL, controlled from CN, LFP) 40 USD/kWh, kr1 (LGES, KR, LFP) 50,
us1 (Peak, US, Na-ion) 70; 100 GWh capacity each. Every optimum below is worked
by hand in a comment, and every point is also re-solved from scratch by the
independent reference model (tests/reference) at that limit.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyomo.environ as pyo
import pytest

import optimizer
from benchmarks.generate import generate, write
from optimizer.analysis.frontier import (
    FrontierError,
    Sweeper,
    _assemble,
    check_axes,
    frontier,
    value_range,
)
from optimizer.cli import main
from tests.conftest import world
from tests.reference.model import solve as ref_solve

CN_CAP = {"name": "cn-cap", "kind": "max_share", "by": "control", "group": ["CN"], "limit": 0.5}
SODIUM_FLOOR = {"name": "na-floor", "kind": "min_share", "by": "family", "group": ["sodium"],
                "limit": 0.1}
COMPANY_CAP = {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.5}
NO_CN = {"name": "no-cn", "kind": "exclude", "by": "control", "group": ["CN"]}


def approx(v, rel=1e-7):
    return pytest.approx(v, rel=rel, abs=1e-6)


def assert_matches_reference(df: pd.DataFrame, path: Path, rules: list[str]) -> None:
    """Every point, re-solved from scratch by the reference model at its limits,
    has the same status and (with a plan) the same optimum."""
    limit_cols = ["limit", "limit_2"][:len(rules)]
    for _, row in df.iterrows():
        limits = {r: float(row[c]) for r, c in zip(rules, limit_cols, strict=True)}
        ref = ref_solve(path, override_limits=limits)
        assert row["status"] == ref["status"], limits
        if ref["status"] == "optimal":
            assert row["objective"] == approx(ref["objective"], rel=1e-6), limits
        else:
            assert math.isnan(row["objective"]) and math.isnan(row["premium"])


# --------------------------------------------------------------------------- curves
def test_china_cap_curve_worked_by_hand(write_instance):
    # A sodium floor of 10% keeps 10 GWh on us1 (700). The CN cap L leaves
    # min(90, 100 L) GWh on cn1 at 40 and the rest on kr1 at 50:
    #   L=1.0: 90x40 + 10x70 = 4300 (cap slack: CN holds 90%)
    #   L=0.8: 80x40 + 10x50 + 700 = 4400;  L=0.5: 4700;  L=0.2: 5000;  L=0.1: 5100.
    # Each percentage point tighter moves 1 GWh from cn1 to kr1: +10 USD million.
    # (Points are kept off kinks of the curve, where a marginal cost is one of two
    # slopes, e.g. L=0 where cn1's bound and the cap hold together.)
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    values = [1.0, 0.8, 0.5, 0.2, 0.1]
    df = optimizer.frontier(path, "cn-cap", values)
    assert list(df["limit"]) == values
    assert list(df["rule"]) == ["cn-cap"] * 5
    assert list(df["status"]) == ["optimal"] * 5
    assert list(df["objective"]) == [approx(v) for v in (4300, 4400, 4700, 5000, 5100)]
    assert list(df["premium"]) == [approx(v) for v in (0, 100, 400, 700, 800)]
    assert df["premium_pct"].iloc[1] == approx(100 * 100 / 4300)
    assert list(df["marginal_cost"]) == [approx(v) for v in (0, 10, 10, 10, 10)]
    assert list(df["share_control_CN"]) == [approx(v) for v in (0.9, 0.8, 0.5, 0.2, 0.1)]
    assert list(df["share_control_KR"]) == [approx(v) for v in (0.0, 0.1, 0.4, 0.7, 0.8)]
    assert list(df["share_family_sodium"]) == [approx(0.1)] * 5
    assert list(df["gwh"]) == [approx(100)] * 5
    assert df.attrs["mode"] == "warm" and df.attrs["baseline_objective"] == approx(4300)
    assert_matches_reference(df, path, ["cn-cap"])


def test_infeasible_points_are_kept_in_order(write_instance):
    # A company cap L needs three companies of 100 GWh to cover 100 GWh: 3L >= 1.
    #   L=1: all cn1 = 4000;  L=0.5: 50 cn1 + 50 kr1 = 4500;
    #   L=0.45: 45 + 45 + 10 us1 = 1800 + 2250 + 700 = 4750;
    #   L=0.4: 40 + 40 + 20 us1 = 1600 + 2000 + 1400 = 5000;  L=0.3, L=0: no plan.
    # Each point tighter (L=0.45, 0.4) moves 1 GWh of cn1 and 1 of kr1 to us1: 30 + 20.
    # (L=0.5 would be a kink: 50 tighter, 10 looser.)
    # The points are given out of order, an infeasible one first, so every warm
    # re-solve starts from a different (or no) basis.
    path = write_instance(world(rules=[COMPANY_CAP]))
    values = [0.3, 1.0, 0.0, 0.45, 0.4]
    df = frontier(path, "company-cap", values)
    assert list(df["limit"]) == values
    assert list(df["status"]) == ["infeasible", "optimal", "infeasible", "optimal", "optimal"]
    assert df["objective"].iloc[[1, 3, 4]].tolist() == [approx(v) for v in (4000, 4750, 5000)]
    assert df["premium"].iloc[[1, 3, 4]].tolist() == [approx(v) for v in (0, 750, 1000)]
    assert df["marginal_cost"].iloc[[3, 4]].tolist() == [approx(50), approx(50)]
    for col in ("objective", "premium", "marginal_cost", "share_control_CN", "gwh"):
        assert df[col].iloc[[0, 2]].isna().all()
    assert_matches_reference(df, path, ["company-cap"])


def test_loosest_point_without_plan_gives_no_premiums(write_instance):
    # Demand 400 GWh is more than the 300 GWh on offer: no limit has a plan.
    inst = world(rules=[CN_CAP], demand=[{"application": "grid", "period": 2026, "gwh": 400}])
    df = frontier(write_instance(inst), "cn-cap", [1.0, 0.5])
    assert list(df["status"]) == ["infeasible", "infeasible"]
    assert df["premium"].isna().all() and math.isnan(df.attrs["baseline_objective"])


def test_volume_average_and_floor_rules_by_hand(write_instance):
    rules = [
        {"name": "catl-volume", "kind": "max_volume", "by": "company", "group": ["CATL"],
         "limit": 100},
        {"name": "peak-volume", "kind": "min_volume", "by": "company", "group": ["Peak"],
         "limit": 0},
        {"name": "risk", "kind": "max_average", "attribute": "risk_score", "limit": 1.0},
    ]
    path = write_instance(world(rules=rules))
    # CATL volume V: V x 40 + (100 - V) x 50 = 5000 - 10 V; +10 per GWh tighter.
    df = frontier(path, "catl-volume", [100, 60, 20])
    assert list(df["objective"]) == [approx(4000), approx(4400), approx(4800)]
    assert list(df["marginal_cost"])[1:] == [approx(10), approx(10)]
    # Peak floor F: F x 70 + (100 - F) x 40; +30 per GWh raised. Loosest is the
    # smallest value of a floor.
    df = frontier(path, "peak-volume", [20, 0, 100])
    assert list(df["objective"]) == [approx(4600), approx(4000), approx(7000)]
    assert list(df["premium"]) == [approx(600), approx(0), approx(3000)]
    assert df["marginal_cost"].iloc[0] == approx(30)
    # Average risk (cn1 0.9, kr1 0.2) at most A: a GWh on cn1 with
    # 0.9 a + 0.2 (100 - a) <= 100 A, so a = (100 A - 20) / 0.7:
    #   A = 0.55: a = 50: 2000 + 2500 = 4500. Cost 5000 - 10 a falls by
    #   10 x 100 / 0.7 = 1428.57 per unit of A.
    df = frontier(path, "risk", [1.0, 0.55])
    assert list(df["objective"]) == [approx(4000), approx(4500)]
    assert df["marginal_cost"].iloc[1] == approx(1000 / 0.7)
    assert_matches_reference(df, path, ["risk"])


def test_count_rule_sweep_is_a_mip(write_instance):
    # At least N companies with 20% each (threshold 0.2):
    #   N <= 1: 4000;  N=2: 80 cn1 + 20 kr1 = 4200;  N=3: 60 + 20 + 20 = 4800;
    #   N=4: only three companies exist, no plan.
    rule = {"name": "dual", "kind": "min_count", "by": "company", "limit": 2,
            "threshold": 0.2}
    path = write_instance(world(rules=[rule]))
    df = frontier(path, "dual", [4, 0, 2, 3, 1])
    assert list(df["status"]) == ["infeasible", "optimal", "optimal", "optimal", "optimal"]
    assert df["objective"].iloc[1:].tolist() == [approx(v) for v in (4000, 4200, 4800, 4000)]
    assert df["premium"].iloc[1:].tolist() == [approx(v) for v in (0, 200, 800, 0)]
    assert df["marginal_cost"].isna().all()      # a count has no price per unit
    assert "mip_gap" in df.columns
    assert_matches_reference(df, path, ["dual"])


def test_floor_on_a_group_without_offers(write_instance):
    # No plant is in China (cn1 is in Hungary): a floor on country CN above 0
    # cannot be met at all; at 0 it costs nothing.
    rule = {"name": "cn-made", "kind": "min_volume", "by": "country", "group": ["CN"],
            "limit": 5}
    path = write_instance(world(rules=[rule]))
    df = frontier(path, "cn-made", [0, 5, 0])
    assert list(df["status"]) == ["optimal", "infeasible", "optimal"]
    assert df["objective"].iloc[[0, 2]].tolist() == [approx(4000), approx(4000)]
    assert_matches_reference(df, path, ["cn-made"])


def test_two_rule_grid(write_instance):
    # CN cap C and sodium floor S (cn1 40, kr1 50, us1 70): us1 takes 100 S, cn1
    # min(100 C, the rest), kr1 what is left.
    #   C=1:   S=.1: 90x40 + 10x70 = 4300;  S=.3: 70x40 + 30x70 = 4900;  S=.5: 5500
    #   C=.6:  S=.1: 60x40 + 30x50 + 700 = 4600;  S=.3: 2400 + 500 + 2100 = 5000;
    #          S=.5: 50 cn1 + 50 us1 = 5500 (the cap is slack again)
    # Loosest pair: C = 1 (the largest cap), S = 0.1 (the smallest floor): 4300.
    # A point of cap tighter moves cn1 -> kr1 (+10) where the cap binds; a point of
    # floor higher moves cn1 -> us1 (+30), or kr1 -> us1 (+20) where the cap binds.
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    df = optimizer.frontier(path, {"cn-cap": [1.0, 0.6], "na-floor": [0.1, 0.3, 0.5]})
    assert list(df.columns[:4]) == ["rule", "limit", "rule_2", "limit_2"]
    assert list(zip(df["limit"], df["limit_2"], strict=True)) == [
        (1.0, 0.1), (1.0, 0.3), (1.0, 0.5), (0.6, 0.1), (0.6, 0.3), (0.6, 0.5)]
    assert list(df["objective"]) == [approx(v) for v in (4300, 4900, 5500, 4600, 5000, 5500)]
    assert list(df["premium"]) == [approx(v) for v in (0, 600, 1200, 300, 700, 1200)]
    assert list(df["marginal_cost"]) == [approx(v) for v in (0, 0, 0, 10, 10, 0)]
    assert list(df["marginal_cost_2"]) == [approx(v) for v in (30, 30, 30, 20, 20, 30)]
    assert df.attrs["loosest"] == [1.0, 0.1]
    assert_matches_reference(df, path, ["cn-cap", "na-floor"])


@pytest.mark.parametrize("rule", ["alt-floor", "biggest-company-volume", "carbon-cap",
                                  "recycled-floor", "dual-source", "few-countries"])
def test_generated_instance_against_reference(tmp_path, rule):
    """Every kind with a limit on a generated instance (counts make it a MIP):
    the sweep agrees with the reference model re-solved from scratch at each
    limit, feasible or not."""
    inst = generate(1, suppliers=8, applications=3, periods=2, features={"count"})
    path = write(inst, tmp_path)
    limit = next(r["limit"] for r in inst["rules"] if r["name"] == rule)
    kind = next(r["kind"] for r in inst["rules"] if r["name"] == rule)
    if kind.endswith("_count"):
        values = [0, 1, 2, 3, 5]
    elif kind.endswith("_share"):
        values = [1.0, 0.6, 0.3, 0.0]
    else:
        values = [round(limit * f, 6) for f in (2.0, 1.0, 0.6, 0.0)]
    df = frontier(path, rule, values)
    assert df.attrs["mode"] == "warm"
    assert set(df["status"]) >= {"optimal"}
    assert_matches_reference(df, path, [rule])


# --------------------------------------------------------------------------- mechanics
def test_a_rebuilt_model_per_point_gives_the_same_curve(write_instance):
    # the warm sweep changes limits in place; building a new model at every point
    # must give the same frontier (same solve path, nothing carried over)
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    warm = frontier(path, "cn-cap", [1.0, 0.5, 0.0])
    inst = optimizer.load_instance(path)
    sw = Sweeper(inst, ["cn-cap"], rebuild=True)
    rows = sw.sweep([(0, (1.0,)), (1, (0.5,)), (2, (0.0,))])
    assert {r["_mode"] for r in rows} == {"rebuild"}
    cold = _assemble(rows, check_axes(inst, {"cn-cap": [1.0, 0.5, 0.0]}))
    cols = [c for c in warm.columns if c != "solve_seconds"]
    pd.testing.assert_frame_equal(warm[cols], cold[cols], rtol=1e-9, atol=1e-9)


def test_pyomo_parameter_follows_the_sweep(write_instance):
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    sw = Sweeper(optimizer.load_instance(path), ["cn-cap"])
    row = sw.solve((0.3,))
    assert pyo.value(sw.session.m.rule_limit["cn-cap"]) == 0.3
    assert pyo.value(sw.session.m.rule_limit["na-floor"]) == 0.1
    assert row["objective"] == approx(30 * 40 + 60 * 50 + 10 * 70)


def test_numerics_are_checked_against_the_swept_matrix(write_instance):
    # a warm sweep changes coefficients (share caps) and row bounds (volume caps) in
    # HiGHS; the compiled copy the plan's numerics are checked against follows them,
    # so a sound plan draws no warning, and a copy that disagreed would draw one
    cn_volume = {"name": "cn-volume", "kind": "max_volume", "by": "control", "group": ["CN"],
                 "limit": 80}
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR, cn_volume]))
    sw = Sweeper(optimizer.load_instance(path), ["cn-cap", "cn-volume"])
    assert sw.warm
    row = sw.solve((0.3, 20.0))
    # CN holds min(0.3 x 100, 20) = 20 GWh: 20x40 + 70x50 + 10x70 = 5000
    assert row["objective"] == approx(20 * 40 + 70 * 50 + 10 * 70)
    assert "warning" not in row
    session = sw.session
    hm = session.hm
    # the cap reads V <= limit x 100 (covered demand, no unmet allowed): bound 30
    (cap_label,) = session.index.scopes_of_rule("cn-cap")
    r = session.row(session.index.rule_rows[cap_label].constraint)
    _, _, _, held, _ = hm.highs.getRows(1, np.array([r], dtype=np.int32))
    assert float(np.asarray(held)[0]) == approx(30.0) and hm.lp.row_upper[r] == approx(30.0)
    (volume_label,) = session.index.scopes_of_rule("cn-volume")
    volume_row = session.row(session.index.rule_rows[volume_label].constraint)
    assert hm.lp.row_upper[volume_row] == 20.0
    # a copy at a cap of 10% would see 20 GWh on a row bounded by 0.1 x 100 = 10:
    # 10 over, relative to the bound's size 10
    hm.lp.row_upper[r] = 10.0
    assert "breaks a constraint by 1 (relative)" in (hm.trouble() or "")


def test_progress_is_reported(write_instance):
    seen = []
    path = write_instance(world(rules=[CN_CAP]))
    frontier(path, "cn-cap", [1.0, 0.5, 0.0], progress=lambda d, n: seen.append((d, n)))
    assert seen == [(1, 3), (2, 3), (3, 3)]


def test_value_range():
    assert value_range(1.0, 0.0, 5) == [1.0, 0.75, 0.5, 0.25, 0.0]
    assert value_range(0.6, 0.2, 5) == [0.6, 0.5, 0.4, 0.3, 0.2]   # no 0.30000000000000004
    with pytest.raises(FrontierError):
        value_range(1, 0, 1)


@pytest.mark.parametrize(("rule", "values", "message"), [
    ("cn-capp", [0.5], "rule 'cn-capp' is not in"),
    ("no-cn", [0.5], "is an exclusion"),
    ("cn-cap", [], "no values given"),
    ("cn-cap", [1.2], "not a share between 0 and 1"),
    ("cn-cap", [float("nan")], "not a finite number"),
    ("catl-volume", [-1], "not a volume >= 0"),
    ("dual", [1.5], "not a whole number"),
])
def test_bad_sweeps_are_refused(write_instance, rule, values, message):
    rules = [CN_CAP, NO_CN,
             {"name": "catl-volume", "kind": "max_volume", "by": "company", "group": ["CATL"],
              "limit": 100},
             {"name": "dual", "kind": "min_count", "by": "company", "limit": 2,
              "threshold": 0.2}]
    path = write_instance(world(rules=rules))
    with pytest.raises(FrontierError, match=message):
        frontier(path, rule, values)


def test_bad_sweep_reports_every_problem_and_hints(write_instance):
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    with pytest.raises(FrontierError) as err:
        frontier(path, {"cn-capp": [0.5], "na-floor": [2.0, -1.0]})
    assert len(err.value.problems) == 3
    assert "did you mean 'cn-cap'" in err.value.problems[0]
    with pytest.raises(FrontierError, match="one rule or a grid of two"):
        frontier(path, {"cn-cap": [1], "na-floor": [0], "x": [1]})
    with pytest.raises(FrontierError, match="either workers"):
        frontier(path, "cn-cap", [1], workers=2, scheduler="tcp://127.0.0.1:1")


# --------------------------------------------------------------------------- parallel
# The optimum at a limit is unique; the plan and the duals need not be. Where a
# point has several optimal plans or several dual solutions (a kink of the
# curve), the mix and the marginal cost are the ones HiGHS reaches from the
# previous point's basis, and a worker starts from another point. So on the
# bundled instance (degenerate at some points) serial and parallel sweeps are
# compared on status, optimum and premium; on the world instance, whose plans
# and duals are unique, on every column.
def _same(a: pd.DataFrame, b: pd.DataFrame, every_column: bool = False) -> None:
    cols = [c for c in a.columns if c != "solve_seconds"] if every_column else \
        [c for c in a.columns if c.startswith(("rule", "limit", "status", "objective",
                                               "premium", "gwh", "unmet"))]
    assert list(a["status"]) == list(b["status"])
    pd.testing.assert_frame_equal(a[cols], b[cols], rtol=1e-7, atol=1e-6)


def test_workers_equal_serial():
    values = value_range(1.0, 0.0, 9)
    inst = optimizer.load_instance(optimizer.default_instance_path())
    serial = frontier(inst, "china-cap", values)
    parallel = frontier(inst, "china-cap", values, workers=2)
    _same(serial, parallel)


@pytest.fixture(scope="module")
def dask_cluster():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False,
                                       dashboard_address=None)
    yield cluster
    cluster.close()


def test_dask_local_cluster_equals_serial(dask_cluster, write_instance):
    from dask.distributed import Client

    inst = optimizer.load_instance(optimizer.default_instance_path())
    values = value_range(1.0, 0.0, 9)
    serial = frontier(inst, {"china-cap": values, "alt-floor": [0.0, 0.3]})
    with Client(dask_cluster) as client:
        on_dask = frontier(inst, {"china-cap": values, "alt-floor": [0.0, 0.3]},
                           scheduler=client)
    _same(serial, on_dask)
    # and with infeasible points, through the scheduler's address
    path = write_instance(world(rules=[COMPANY_CAP]))
    values = [0.9, 0.3, 0.45, 0.0]
    by_address = frontier(path, "company-cap", values, scheduler=dask_cluster.scheduler_address)
    assert list(by_address["status"]) == ["optimal", "infeasible", "optimal", "infeasible"]
    _same(frontier(path, "company-cap", values), by_address, every_column=True)


def test_cli_scheduler(dask_cluster, write_instance, tmp_path):
    path = write_instance(world(rules=[COMPANY_CAP]))
    out = tmp_path / "out"
    code = main(["frontier", str(path), "--rule", "company-cap", "--values", "1,0.4,0.2",
                 "--scheduler", dask_cluster.scheduler_address, "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out / "frontier.csv")
    assert list(df["status"]) == ["optimal", "optimal", "infeasible"]
    assert df["objective"].iloc[1] == approx(5000)


# --------------------------------------------------------------------------- CLI
def test_cli_writes_csv_and_png(write_instance, tmp_path, capsys):
    path = write_instance(world(rules=[COMPANY_CAP]))
    out = tmp_path / "out"
    code = main(["frontier", str(path), "--rule", "company-cap", "--values", "100%,45%,40%,30%",
                 "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out / "frontier.csv")
    assert list(df.columns[:6]) == ["rule", "limit", "status", "objective", "premium",
                                    "premium_pct"]
    assert list(df["limit"]) == [1.0, 0.45, 0.4, 0.3]
    assert list(df["status"]) == ["optimal", "optimal", "optimal", "infeasible"]
    assert df["objective"].iloc[:3].tolist() == [approx(4000), approx(4750), approx(5000)]
    assert np.isnan(df["objective"].iloc[3])
    assert (out / "frontier.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    printed = capsys.readouterr().out
    assert "infeasible" in printed and "3 of 4 points have a plan" in printed


def test_cli_range_and_grid(write_instance, tmp_path):
    path = write_instance(world(rules=[CN_CAP, SODIUM_FLOOR]))
    out = tmp_path / "grid"
    code = main(["frontier", str(path), "--rule", "cn-cap", "--from", "1", "--to", "0.6",
                 "--steps", "2", "--rule", "na-floor", "--values", "0.1,0.3,0.5",
                 "--out", str(out)])
    assert code == 0
    df = pd.read_csv(out / "frontier.csv")     # worked in test_two_rule_grid
    assert len(df) == 6 and list(df["limit"].unique()) == [1.0, 0.6]
    assert list(df["objective"]) == [approx(v) for v in (4300, 4900, 5500, 4600, 5000, 5500)]
    assert (out / "frontier.png").stat().st_size > 0


def test_cli_exit_1_when_no_point_has_a_plan(write_instance, tmp_path):
    path = write_instance(world(rules=[COMPANY_CAP]))
    out = tmp_path / "none"
    assert main(["frontier", str(path), "--rule", "company-cap", "--values", "0.1,0.2",
                 "--out", str(out)]) == 1
    assert list(pd.read_csv(out / "frontier.csv")["status"]) == ["infeasible"] * 2


@pytest.mark.parametrize(("argv", "message"), [
    (["--rule", "nope", "--values", "0.5"], "rule 'nope' is not in"),
    (["--rule", "no-cn", "--values", "0.5"], "is an exclusion"),
    (["--rule", "cn-cap", "--values", "1.5"], "not a share between 0 and 1"),
    (["--rule", "cn-cap", "--values", ","], "is empty"),
    (["--rule", "cn-cap", "--values", "abc"], "'abc' is not a number"),
    (["--rule", "cn-cap", "--from", "1", "--to", "0"], "needs --steps"),
    (["--rule", "cn-cap", "--values", "1", "--from", "1"], "either --values or"),
    (["--rule", "cn-cap", "--values", "1", "--rule", "cn-cap", "--values", "0"],
     "swept twice"),
    (["--values", "1", "--rule", "cn-cap", "--values", "0.5", "--values", "2"],
     "without a --rule"),
])
def test_cli_bad_sweeps_exit_2(write_instance, capsys, argv, message):
    path = write_instance(world(rules=[CN_CAP, NO_CN]))
    assert main(["frontier", str(path), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_html_report_carries_the_frontier(write_instance, tmp_path):
    path = write_instance(world(rules=[COMPANY_CAP]))
    out = tmp_path / "html"
    assert main(["frontier", str(path), "--rule", "company-cap", "--values", "0.9,0.45",
                 "--out", str(out), "--html"]) == 0
    # one whole run: the sweep's files and the plan at the instance's limits
    assert sorted(p.name for p in out.iterdir()) == [".optimizer-output.json", "frontier.csv",
                                                      "frontier.png",
                                                      "plan.html", "report.html"]
    page = (out / "plan.html").read_text(encoding="utf-8")
    assert 'data-chart="frontier"' in page and "company-cap" in page
    assert main(["frontier", str(path), "--rule", "company-cap", "--values", "0.9",
                 "--html"]) == 2                      # --html needs --out
