"""The files of the what-if commands: ``stress``, ``robust`` and ``frontier``
results written to a directory, atomically (:class:`~optimizer.report.files.OutputDir`),
each with a self-contained ``report.html`` (:mod:`optimizer.report.scenario_html`,
:mod:`optimizer.report.frontier_html`).

``instance`` (optional, the :class:`~optimizer.input.instance.Instance` the
analysis ran on) lets the reports describe each scenario in words and mark the
instance's own limit on a frontier; without it the scenarios are listed by
name, and the frontier's current limit is taken from ``df.attrs["current"]``
when the sweep carries it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from optimizer.report.figures import frontier_figure
from optimizer.report.files import OutputDir

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.input.instance import Instance
    from optimizer.results import Result
    from optimizer.scenarios import RobustResult, StressResult


def _page(text: str):
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")
    return write


def write_stress(res: StressResult, out: str | Path,
                 instance: Instance | None = None) -> list[Path]:
    """scenarios.csv, shortfalls.csv, allocation.csv (the plan played out),
    n_minus_1.csv (with --n-1), summary.json and report.html."""
    from optimizer.report.scenario_html import render_stress

    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("scenarios.csv", res.scenarios)
        od.csv("shortfalls.csv", res.shortfalls)
        od.csv("allocation.csv", res.plan.allocation)
        if not res.n_minus_1.empty:
            od.csv("n_minus_1.csv", res.n_minus_1)
        if len(res.survival.columns):
            od.csv("survival.csv", res.survival)
        od.write("report.html", _page(render_stress(res, instance)))
        return od.publish()
    except BaseException:
        od.discard()
        raise


def write_robust(res: RobustResult, out: str | Path,
                 instance: Instance | None = None) -> list[Path]:
    """summary.json, allocation.csv (the robust plan), allocation_deterministic.csv,
    allocation_expected_cost.csv (with a CVaR weight), scenarios.csv (the plans
    per case, and the wait-and-see cost), expansions.csv and contracts.csv (what
    the robust plan funds and signs, in instances with expansions or contracts),
    tree.csv and adaptive.csv (with ``adaptive``: each case's node and plan)
    and report.html."""
    from optimizer.report.scenario_html import render_robust

    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("allocation.csv", res.plans["robust"].allocation)
        od.csv("allocation_deterministic.csv", res.plans["deterministic"].allocation)
        if "expected-cost" in res.plans:
            od.csv("allocation_expected_cost.csv", res.plans["expected-cost"].allocation)
        od.csv("scenarios.csv", res.scenarios)
        robust = res.plans["robust"]
        if robust.funding is not None and len(robust.funding.columns):
            od.csv("expansions.csv", robust.funding)
        if robust.contracts is not None and len(robust.contracts.columns):
            od.csv("contracts.csv", robust.contracts)
        if robust.stock is not None and len(robust.stock.columns):
            od.csv("stock.csv", robust.stock)
        if len(res.survival.columns):
            od.csv("survival.csv", res.survival)
        if res.adaptive is not None:
            od.csv("tree.csv", res.adaptive.tree)
            od.csv("adaptive.csv", res.adaptive.plans)
        od.write("report.html", _page(render_robust(res, instance)))
        return od.publish()
    except BaseException:
        od.discard()
        raise


def current_limits_of(df: pd.DataFrame, instance: Instance | None) -> list[float | None] | None:
    """The instance's own limit of each swept rule (None where the instance
    does not set one), or None without an instance."""
    if instance is None:
        return None
    limits = {r.name: r.limit for r in instance.rules}
    return [limits.get(str(name)) for name in df.attrs.get("rules") or []]


def write_frontier(df: pd.DataFrame, out: str | Path, instance: Instance | None = None,
                   plan: Result | None = None,
                   current: Sequence[float | None] | None = None) -> list[Path]:
    """``frontier.csv`` (:func:`optimizer.analysis.frontier.frontier`'s table),
    ``frontier.png`` (:func:`~optimizer.report.figures.frontier_figure`) and
    ``report.html`` (:func:`~optimizer.report.frontier_html.render_frontier`).
    ``current`` (else from ``instance``, else ``df.attrs["current"]``): the
    instance's own limit of each swept rule, marked on the charts. ``plan``:
    the solve at the instance's own limits, written as ``plan.html`` (the solve
    report with the frontier chart)."""
    from optimizer.report.frontier_html import current_limits, render_frontier

    now = current_limits(df, current if current is not None
                         else current_limits_of(df, instance))
    df = df.copy()  # the same table, its attrs carrying the current limits
    df.attrs = {**df.attrs, "current": now}
    od = OutputDir(out)
    try:
        od.csv("frontier.csv", df)
        od.write("frontier.png", lambda p: frontier_figure(df).savefig(p, dpi=120))
        od.write("report.html", _page(render_frontier(df)))
        if plan is not None:
            from optimizer.report.html import render_html

            od.write("plan.html", _page(render_html(plan, frontier=df)))
        return od.publish()
    except BaseException:
        od.discard()
        raise


def write_alternatives(ranges: pd.DataFrame, plans: pd.DataFrame, summary: pd.DataFrame,
                       out: str | Path, instance: str = "",
                       workbook: bool = True) -> list[Path]:
    """``ranges.csv``, ``alternatives.csv``, ``alternatives_summary.csv``,
    ``summary.json`` (objective, slack, budget), ``report.html`` and
    ``results.xlsx`` (SPEC section 9)."""
    from optimizer.report.alternatives_html import render_alternatives

    a = ranges.attrs
    head = {"instance": instance, "objective": a.get("objective"), "slack": a.get("slack"),
            "budget": a.get("budget"), "objective_unit": "USD million (discounted)",
            "by": a.get("by"), "unit": str(ranges["unit"].iloc[0]) if len(ranges) else "GWh",
            "groups": len(ranges), "alternatives": max(0, len(summary) - 1),
            "seconds": a.get("seconds")}
    if a.get("material"):
        head.update(material=a.get("material"), stage=a.get("stage"))
    od = OutputDir(out)
    try:
        od.json("summary.json", head)
        od.csv("ranges.csv", ranges)
        od.csv("alternatives.csv", plans)
        od.csv("alternatives_summary.csv", summary)
        od.write("report.html", _page(render_alternatives(ranges, summary, instance)))
        if workbook:
            from optimizer.report.xlsx import frame_sheet

            def book(path: Path) -> None:
                from openpyxl import Workbook

                wb = Workbook()
                wb.remove(wb.active)
                frame_sheet(wb, "ranges", ranges)
                frame_sheet(wb, "alternatives_summary", summary)
                frame_sheet(wb, "alternatives", plans)
                wb.save(path)
            od.write("results.xlsx", book)
        return od.publish()
    except BaseException:
        od.discard()
        raise
