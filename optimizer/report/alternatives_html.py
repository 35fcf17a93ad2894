"""The report of ``optimizer alternatives --out DIR`` (SPEC section 9): each
group's range within the budget as a bar with the optimum marked (drawn in
HTML and CSS, no script needed), the alternative plans' mixes side by side
(a stacked chart) and the tables behind both."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from optimizer.labels import grouping_label, money, number, pct
from optimizer.report.html_base import (
    OTHERS_COLOUR,
    PALETTE,
    Card,
    Cell,
    Table,
    card_columns,
    render,
)

TEMPLATE = "alternatives.html.j2"
#: groups drawn in the alternatives' stacked chart (the rest pooled)
MAX_GROUPS = 8


def _finite(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def range_rows(ranges: pd.DataFrame) -> list[dict[str, Any]]:
    """Per group, largest optimum first: the bar's left edge and width and the
    optimum's mark, in percent of the largest maximum; text as the tables
    write it."""
    top = max([_finite(v) or 0.0 for v in ranges["max_gwh"]] + [1e-12])
    unit = str(ranges["unit"].iloc[0]) if len(ranges) else "GWh"
    rows = []
    ordered = ranges.sort_values(["optimum_gwh", "max_gwh"], ascending=False, kind="stable")
    for r in ordered.to_dict("records"):
        lo, hi, opt = _finite(r["min_gwh"]), _finite(r["max_gwh"]), _finite(r["optimum_gwh"])
        rows.append({
            "group": str(r["group"]),
            "left": 100 * (lo or 0.0) / top, "width": 100 * max(0.0, (hi or 0.0) - (lo or 0.0))
            / top, "mark": 100 * (opt or 0.0) / top, "complete": lo is not None and hi is not None,
            "text": f"{number(lo, 1)} to {number(hi, 1)} {unit} (optimum {number(opt, 1)}; "
                    f"{pct(_finite(r['min_share']))} to {pct(_finite(r['max_share']))} of "
                    "the plan)",
        })
    return rows


def _ranges_table(ranges: pd.DataFrame) -> Table:
    unit = str(ranges["unit"].iloc[0]) if len(ranges) else "GWh"
    t = Table([("group", False), (f"least, {unit}", True), (f"optimum, {unit}", True),
               (f"most, {unit}", True), ("least share", True), ("most share", True),
               ("status", False)], sortable=True, key="ranges")
    for r in ranges.to_dict("records"):
        status = "optimal" if r["min_status"] == r["max_status"] == "optimal" else \
            f"{r['min_status']} / {r['max_status']}"
        t.add(str(r["group"]), Cell(number(r["min_gwh"], 2), sort=_finite(r["min_gwh"])),
              Cell(number(r["optimum_gwh"], 2), sort=_finite(r["optimum_gwh"])),
              Cell(number(r["max_gwh"], 2), sort=_finite(r["max_gwh"])),
              pct(_finite(r["min_share"])), pct(_finite(r["max_share"])), status)
    return t


def _summary_table(summary: pd.DataFrame, groups: list[str]) -> Table:
    t = Table([("plan", False), ("cost, USD m", True), ("premium", True), ("checked", False),
               *[(g, True) for g in groups]], key="alternatives")
    for r in summary.to_dict("records"):
        name = "optimum" if r["alternative"] == 0 else f"alternative {r['alternative']}"
        premium = _finite(r["premium_pct"])
        t.add(name, money(r["objective"]), pct(premium / 100 if premium is not None else None),
              "yes" if r.get("checked") else "no",
              *[pct(_finite(r.get(f"share_{g}"))) for g in groups])
    return t


def _mix_chart(summary: pd.DataFrame, groups: list[str]) -> dict[str, Any]:
    ok = summary[summary["checked"].astype(bool)]
    labels = ["optimum" if a == 0 else f"alt {a}" for a in ok["alternative"]]
    means = {g: float(ok[f"share_{g}"].fillna(0).mean()) for g in groups}
    order = sorted(groups, key=lambda g: -means[g])
    keep, rest = order[:MAX_GROUPS - 1], order[MAX_GROUPS - 1:]
    if len(order) <= MAX_GROUPS:
        keep, rest = order, []
    series = [{"name": g, "colour": PALETTE[i % len(PALETTE)],
               "values": [float(v) for v in ok[f"share_{g}"].fillna(0.0)]}
              for i, g in enumerate(keep)]
    if rest:
        series.append({"name": f"{len(rest)} others", "colour": OTHERS_COLOUR,
                       "values": [float(sum(ok[f"share_{g}"].fillna(0.0).iloc[i] for g in rest))
                                  for i in range(len(ok))]})
    return {"type": "stacked", "mode": "share", "unit": "%", "periods": labels,
            "series": series, "x_label": "plan", "share_label": "Share of the plan"}


def alternatives_context(ranges: pd.DataFrame, summary: pd.DataFrame,
                         instance: str) -> dict[str, Any]:
    """What ``templates/alternatives.html.j2`` shows."""
    a = ranges.attrs
    by = str(a.get("by", "company"))
    what = grouping_label(by) if by != "origin" else \
        f"origin country of {a.get('material')} ({a.get('stage')})"
    groups = [c[len("share_"):] for c in summary.columns if str(c).startswith("share_")]
    cards = [Card("objective", "Optimum", money(a.get("objective")), "USD", "m"),
             Card("budget", "Budget", money(a.get("budget")), "USD", "m",
                  note=f"optimum + {pct(a.get('slack'))}"),
             Card("groups", "Groups", str(len(ranges)), note=what),
             Card("plans", "Alternatives", str(max(0, len(summary) - 1)))]
    return {
        "instance": instance, "what": what, "slack": pct(a.get("slack")),
        "cards": cards, "card_columns": card_columns(cards),
        "ranges": range_rows(ranges), "ranges_table": _ranges_table(ranges),
        "summary_table": _summary_table(summary, groups) if len(summary) else None,
        "data": {"charts": {"alternatives-mix": _mix_chart(summary, groups)}
                 if len(summary) and groups else {}},
    }


def render_alternatives(ranges: pd.DataFrame, summary: pd.DataFrame, instance: str) -> str:
    """The ranges and alternatives as one self-contained page."""
    return render(TEMPLATE, alternatives_context(ranges, summary, instance))
