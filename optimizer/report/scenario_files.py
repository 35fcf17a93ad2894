"""The files of the what-if commands: ``stress``, ``robust`` and ``frontier``
results written to a directory, atomically (:class:`~optimizer.report.files.OutputDir`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.report.figures import frontier_figure
from optimizer.report.files import OutputDir

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.scenarios import RobustResult, StressResult


def write_stress(res: StressResult, out: str | Path) -> list[Path]:
    """scenarios.csv, shortfalls.csv, allocation.csv (the plan played out),
    n_minus_1.csv (with --n-1) and summary.json."""
    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("scenarios.csv", res.scenarios)
        od.csv("shortfalls.csv", res.shortfalls)
        od.csv("allocation.csv", res.plan.allocation)
        if not res.n_minus_1.empty:
            od.csv("n_minus_1.csv", res.n_minus_1)
        return od.publish()
    except BaseException:
        od.discard()
        raise


def write_robust(res: RobustResult, out: str | Path) -> list[Path]:
    """summary.json, allocation.csv (the robust plan), allocation_deterministic.csv,
    allocation_expected_cost.csv (with a CVaR weight), scenarios.csv (the plans
    per case, and the wait-and-see cost)."""
    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("allocation.csv", res.plans["robust"].allocation)
        od.csv("allocation_deterministic.csv", res.plans["deterministic"].allocation)
        if "expected-cost" in res.plans:
            od.csv("allocation_expected_cost.csv", res.plans["expected-cost"].allocation)
        od.csv("scenarios.csv", res.scenarios)
        return od.publish()
    except BaseException:
        od.discard()
        raise


def write_frontier(df: pd.DataFrame, out: str | Path) -> list[Path]:
    """``frontier.csv`` (:func:`optimizer.analysis.frontier.frontier`'s table) and
    ``frontier.png`` (:func:`~optimizer.report.figures.frontier_figure`)."""
    od = OutputDir(out)
    try:
        od.csv("frontier.csv", df)
        od.write("frontier.png", lambda p: frontier_figure(df).savefig(p, dpi=120))
        return od.publish()
    except BaseException:
        od.discard()
        raise
