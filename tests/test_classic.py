"""Published optima of classic problems, written in this project's format."""

from __future__ import annotations

from pathlib import Path

import pytest

import optimizer
from tests.reference.check import check_plan

DATA = Path(__file__).parent / "data"


def test_dantzig_transportation_problem():
    # GAMS model library "trnsport" (Dantzig 1963): z = 153.675
    path = DATA / "trnsport" / "instance.yaml"
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(153.675, rel=1e-9)
    # New York costs the same from both plants, so the published shipments are one of
    # several optima; what is fixed: Chicago from Seattle, Topeka from San Diego
    plan = res.allocation.set_index(["supplier", "application"])["gwh"].to_dict()
    assert plan[("seattle", "chicago")] == pytest.approx(300)
    assert plan[("san-diego", "topeka")] == pytest.approx(275)
    rows = res.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    assert check_plan(path, rows) == []


def test_whiskas_blending_problem():
    # PuLP documentation case study: 60 g beef, 40 g gel, cost 0.52
    path = DATA / "whiskas" / "instance.yaml"
    res = optimizer.solve(path)
    assert res.objective == pytest.approx(0.52, rel=1e-9)
    plan = res.allocation.set_index("supplier")["gwh"].to_dict()
    assert plan == pytest.approx({"beef": 60, "gel": 40})
    fat = res.rules.set_index("rule").loc["fat"]
    assert bool(fat["binding"]) and fat["value"] == pytest.approx(0.06)
    rows = res.allocation[["supplier", "application", "period", "gwh"]].to_dict("records")
    assert check_plan(path, rows) == []


def test_shared_capacity_case():
    # worked in the file's comments: 12 + 10 + 5 = 27
    res = optimizer.solve(DATA / "shared-capacity" / "instance.yaml")
    assert res.objective == pytest.approx(27, rel=1e-9)
