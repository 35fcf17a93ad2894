"""The frontier in HTML: the cost-versus-limit chart of the solve report, and
the page ``optimizer frontier --out DIR`` writes (``report.html``).

A sweep is the DataFrame :func:`optimizer.analysis.frontier.frontier` returns
(its docstring lists the columns and ``attrs``). Limits of share-like rules
(``kinds`` in ``attrs``) are drawn on percent axes. The instance's own limit of
the swept rule (``current``, or ``attrs["current"]``: one value per swept rule)
is marked with a vertical line. The cost of each step, the premium of a point
minus the premium of the next looser one, is written on the curve, charted,
and listed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from typing import Any

import pandas as pd

from optimizer.input.schema import CONCENTRATION_KINDS, SHARE_KINDS
from optimizer.labels import (
    as_number,
    gwh,
    limit_text,
    marginal_cost,
    money,
    number,
)
from optimizer.report.html_base import (
    OTHERS_COLOUR,
    PALETTE,
    Card,
    Cell,
    Table,
    card_columns,
    render,
)

#: kinds whose limit is a share in [0, 1], drawn on a percent axis
FRACTION_KINDS = (*SHARE_KINDS, *CONCENTRATION_KINDS)
#: the page's template
FRONTIER_TEMPLATE = "frontier.html.j2"
#: a mix chart shows at most this many controlling countries (the rest pooled)
MAX_MIX = 8


# --------------------------------------------------------------------------- the sweep's shape

def _kinds(df: pd.DataFrame) -> list[str]:
    return [str(k) for k in df.attrs.get("kinds") or []]


def kind_of(df: pd.DataFrame, i: int = 0) -> str:
    """The kind of the ``i``-th swept rule ("" when the sweep does not say)."""
    kinds = _kinds(df)
    return kinds[i] if i < len(kinds) else ""


def is_fraction(df: pd.DataFrame, i: int = 0) -> bool:
    """Is the limit of the ``i``-th swept rule a share (a percent axis)?"""
    return kind_of(df, i) in FRACTION_KINDS and kind_of(df, i) != "max_hhi"


def axis_unit(df: pd.DataFrame, i: int = 0) -> str:
    """How a chart writes the ``i``-th rule's limits: ``%``, ``hhi`` (points of
    0-10,000) or plain numbers ("")."""
    return "hhi" if kind_of(df, i) == "max_hhi" else "%" if is_fraction(df, i) else ""


def tighter_is_lower(df: pd.DataFrame, i: int = 0) -> bool | None:
    """True if tightening the rule lowers its limit (a ``max_*`` rule), False if
    it raises it (``min_*``), None when the kind is not known."""
    kinds = _kinds(df)
    if i >= len(kinds):
        return None
    return kinds[i].startswith("max_") if kinds[i].startswith(("max_", "min_")) else None


def current_limits(df: pd.DataFrame, current: Sequence[float | None] | None = None
                   ) -> list[float | None]:
    """The instance's own limit of each swept rule: ``current``, else
    ``df.attrs["current"]``, else unknown (None)."""
    rules = df.attrs.get("rules") or ([str(df["rule"].iloc[0])] if "rule" in df.columns
                                      and len(df) else ["limit"])
    given = list(current) if current is not None else list(df.attrs.get("current") or [])
    out = [as_number(v) for v in given[:len(rules)]]
    return out + [None] * (len(rules) - len(out))


def _groups(df: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """One line per rule, or per second limit for a grid of two rules."""
    if "limit_2" in df.columns:
        second = str(df["rule_2"].iloc[0]) if "rule_2" in df.columns else "limit 2"
        kind = kind_of(df, 1)
        return [(f"{second} = {limit_text(v, kind) if kind else f'{v:g}'}", g)
                for v, g in df.groupby("limit_2", sort=True)]
    if "rule" in df.columns:
        return [(str(r), g) for r, g in df.groupby("rule", sort=False)]
    return [("optimum", df)]


def tightening_steps(points: Sequence[tuple[float | None, float | None]], lower: bool | None
           ) -> list[tuple[float, float, float, float, float]]:
    """Consecutive points from loosest to tightest, both with a plan: (x from,
    y from, x to, y to, cost of the step)."""
    if lower is None:
        return []
    ordered = sorted((p for p in points if p[0] is not None), key=lambda p: p[0] or 0.0,
                     reverse=lower)
    out = []
    for (xa, ya), (xb, yb) in itertools.pairwise(ordered):
        if xa is not None and xb is not None and ya is not None and yb is not None:
            out.append((xa, ya, xb, yb, yb - ya))
    return out


# --------------------------------------------------------------------------- chart data

def sweep_lines(frontier: pd.DataFrame | None, current: Sequence[float | None] | None = None,
                y: str = "objective") -> dict[str, Any] | None:
    """The line chart of a sweep: per line its points ``[limit, y]`` (None: no
    plan), and its steps ``[x from, y from, x to, y to, "+cost"]`` from looser
    to tighter; ``markers``: the instance's own limit."""
    if frontier is None or frontier.empty:
        return None
    missing = {"limit", y} - set(frontier.columns)
    if missing:
        raise ValueError(f"frontier needs the columns limit and {y}; missing: "
                         f"{', '.join(sorted(missing))}")
    rules = [str(r) for r in frontier["rule"].unique()] if "rule" in frontier.columns else []
    lower = tighter_is_lower(frontier)
    series = []
    for i, (name, g) in enumerate(_groups(frontier)):
        g = g.sort_values("limit", kind="stable")
        points = [(as_number(a), as_number(b)) for a, b in zip(g["limit"], g[y], strict=True)]
        series.append({"name": name, "colour": PALETTE[i % len(PALETTE)],
                       "points": [[a, b] for a, b in points],
                       "steps": [[xa, ya, xb, yb, number(d, 1, signed=True)]
                                 for xa, ya, xb, yb, d in tightening_steps(points, lower)]})
    fraction, kind = is_fraction(frontier), kind_of(frontier)
    x_label = f"limit of {rules[0]}" if len(rules) == 1 else "limit"
    now = current_limits(frontier, current)[0]
    markers = [] if now is None else [
        {"x": now, "label": f"in the instance: {limit_text(now, kind)}"}]
    y_label = ("Premium over the loosest limit, USD million" if y == "premium"
               else "Total cost, USD million")
    return {"series": series, "x_label": x_label, "x_share": fraction,
            "x_unit": axis_unit(frontier), "x_kind": kind, "markers": markers,
            "y_label": y_label}


def sweep_table(fr: dict[str, Any] | None) -> Table | None:
    """The points of :func:`sweep_lines`: line, limit, cost, and the cost of
    the step from the next looser point."""
    if fr is None:
        return None
    unit = "premium" if fr.get("y_label", "").startswith("Premium") else "total cost"
    table = Table([("line", False), ("limit", True), (f"{unit}, USD m", True),
                   ("step from the looser point, USD m", True)])
    for s in fr["series"]:
        step = {(b[2]): b[4] for b in s.get("steps", [])}
        for x, y in s["points"]:
            table.add(s["name"], limit_text(x, fr.get("x_kind") or None),
                      money(y, missing="no plan"),
                      step.get(x, "–"))
    return table


def _ordered(df: pd.DataFrame) -> pd.DataFrame:
    """A one-rule sweep from its loosest point to its tightest."""
    lower = tighter_is_lower(df)
    return df.sort_values("limit", ascending=not lower if lower is not None else True,
                          kind="stable")


def step_chart(df: pd.DataFrame) -> dict[str, Any] | None:
    """Bars of what each step of tightening costs (USD million), one bar per
    pair of neighbouring limits, and per line of a grid."""
    lower = tighter_is_lower(df)
    if lower is None or "premium" not in df.columns:
        return None
    kind = kind_of(df)
    xs = sorted({float(v) for v in df["limit"]}, reverse=lower)
    pairs = list(itertools.pairwise(xs))
    if not pairs:
        return None
    series = []
    for i, (name, g) in enumerate(_groups(df)):
        y = {float(a): as_number(b) for a, b in zip(g["limit"], g["premium"], strict=True)}
        values = [None if y.get(a) is None or y.get(b) is None else y[b] - y[a]  # type: ignore
                  for a, b in pairs]
        series.append({"name": name, "colour": PALETTE[i % len(PALETTE)], "values": values,
                       "labels": [number(v, 1, signed=True) for v in values]})
    if all(v is None for s in series for v in s["values"]):
        return None
    return {"type": "columns", "unit": "USD m", "y_label": "USD million per step",
            "categories": [f"{limit_text(a, kind)} → {limit_text(b, kind)}"
                           for a, b in pairs],
            "series": series}


def mix_chart(df: pd.DataFrame) -> dict[str, Any] | None:
    """The controlling-country mix at each limit with a plan (one-rule sweeps):
    stacked shares, loosest limit first."""
    cols = [c for c in df.columns if c.startswith("share_control_")]
    if "limit_2" in df.columns or not cols:
        return None
    d = _ordered(df)
    d = d[d["objective"].notna()]
    if d.empty:
        return None
    shares = d[cols].fillna(0.0)
    totals = shares.sum().sort_values(ascending=False, kind="stable")
    order: list[str] = [str(c) for c in totals[totals > 1e-9].index]
    keep, rest = (order, []) if len(order) <= MAX_MIX else (order[:MAX_MIX - 1],
                                                            order[MAX_MIX - 1:])
    series = [{"name": c.removeprefix("share_control_"), "colour": PALETTE[i % len(PALETTE)],
               "values": [float(v) for v in shares[c]]} for i, c in enumerate(keep)]
    if rest:
        series.append({"name": f"{len(rest)} others", "colour": OTHERS_COLOUR,
                       "values": [float(v) for v in shares[rest].sum(axis=1)]})
    return {"type": "stacked", "mode": "share", "unit": "%",
            "periods": [limit_text(v, kind_of(df)) for v in d["limit"]],
            "series": series, "x_label": f"limit of {df['rule'].iloc[0]}",
            "share_label": "Share of GWh bought"}


# --------------------------------------------------------------------------- the page

def _point_at(df: pd.DataFrame, limit: float) -> pd.Series | None:
    hit = df[(df["limit"] - limit).abs() <= 1e-9]
    if "limit_2" in df.columns or hit.empty:
        return None
    return hit.iloc[0]


def _cards(df: pd.DataFrame, current: list[float | None]) -> list[Card]:
    rules = df.attrs.get("rules") or [str(df["rule"].iloc[0])]
    kind = kind_of(df)
    base = as_number(df.attrs.get("baseline_objective"))
    loosest = (df.attrs.get("loosest") or [None])[0]
    cards = [Card("baseline", "Loosest limit", money(base), "USD", "m",
                  f"the optimum at {rules[0]} = {limit_text(loosest, kind)}"
                  if loosest is not None else "the optimum at the loosest point")]
    if current[0] is not None:
        point = _point_at(df, current[0])
        note = ("not among the swept limits" if point is None else
                f"premium USD {money(point.get('premium'))} m at this limit"
                if as_number(point.get("objective")) is not None else "no plan at this limit")
        cards.append(Card("current", "Limit in the instance", limit_text(current[0], kind),
                          note=note))
    ok = _ordered(df)[lambda d: d["objective"].notna()] if "limit_2" not in df.columns \
        else df[df["objective"].notna()]
    if len(ok) and "limit_2" not in df.columns:
        last = ok.iloc[-1]
        cards.append(Card("tightest", "Tightest limit with a plan",
                          limit_text(last["limit"], kind),
                          note=f"premium USD {money(last.get('premium'))} m "
                               f"({number(last.get('premium_pct'), 1, signed=True)}%)"))
    cards.append(Card("points", "Points with a plan", f"{len(ok)} of {len(df)}",
                      note=f"{number(df.attrs.get('seconds'), 1)} s of re-solves"
                      if df.attrs.get("seconds") is not None else ""))
    return cards


def _points_table(df: pd.DataFrame) -> Table:
    rules = df.attrs.get("rules") or [str(df["rule"].iloc[0])]
    grid = "limit_2" in df.columns
    steps = {}
    for _, g in _groups(df):
        pts = [(as_number(a), as_number(b)) for a, b in zip(g["limit"], g["premium"],
                                                              strict=True)]
        key2 = g["limit_2"].iloc[0] if grid else None
        steps.update({(xb, key2): d for _, _, xb, _, d in
                      tightening_steps(pts, tighter_is_lower(df))})
    cols: list[tuple[str, bool]] = [(rules[0] if grid else "limit", True)]
    if grid:
        cols.append((str(rules[1]) if len(rules) > 1 else "limit 2", True))
    cols += [("status", False), ("total cost, USD m", True), ("premium, USD m", True),
             ("premium", True), ("step from the looser limit, USD m", True),
             ("marginal cost, USD m", True), ("GWh bought", True), ("unmet GWh", True)]
    table = Table(cols, cls="points", sortable=True, key="points")
    for r in (df if grid else _ordered(df)).to_dict("records"):
        x, x2 = float(r["limit"]), r.get("limit_2") if grid else None
        cells: list[str | Cell] = [Cell(limit_text(x, kind_of(df)), sort=x)]
        if grid:
            cells.append(Cell(limit_text(x2, kind_of(df, 1)), sort=as_number(x2)))
        step = steps.get((x, x2))
        cells += [str(r.get("status", "")),
                  Cell(money(r.get("objective"), missing="no plan"),
                       sort=as_number(r.get("objective"))),
                  Cell(money(r.get("premium")), sort=as_number(r.get("premium"))),
                  Cell(number(r.get("premium_pct"), 2, signed=True) + "%"
                       if as_number(r.get("premium_pct")) is not None else "–",
                       sort=as_number(r.get("premium_pct"))),
                  Cell(number(step, 1, signed=True), sort=step),
                  Cell(marginal_cost(r.get("marginal_cost")),
                       sort=as_number(r.get("marginal_cost"))),
                  Cell(gwh(r.get("gwh")), sort=as_number(r.get("gwh"))),
                  Cell(gwh(r.get("unmet_gwh")), sort=as_number(r.get("unmet_gwh")))]
        table.add(*cells)
    return table


def frontier_context(df: pd.DataFrame, current: Sequence[float | None] | None = None
                     ) -> dict[str, Any]:
    """What ``templates/frontier.html.j2`` shows."""
    if df.empty:
        raise ValueError("the sweep has no points")
    now = current_limits(df, current)
    rules = [str(r) for r in (df.attrs.get("rules") or [df["rule"].iloc[0]])]
    base = as_number(df.attrs.get("baseline_objective"))
    y = "premium" if base is not None and "premium" in df.columns else "objective"
    charts: dict[str, Any] = {"frontier": {"type": "lines", **(sweep_lines(df, now, y) or {})}}
    steps, mix = step_chart(df), mix_chart(df)
    if steps:
        charts["frontier-steps"] = steps
    if mix:
        charts["frontier-mix"] = mix
    units = df.attrs.get("units") or []
    cards = _cards(df, now)
    return {
        "instance": str(df.attrs.get("instance") or "Frontier"),
        "rules": rules, "grid": "limit_2" in df.columns,
        "kind": _kinds(df)[0] if _kinds(df) else "",
        "unit": str(units[0]) if units else "unit",
        "fraction": is_fraction(df), "y": y,
        "current": [limit_text(v, kind_of(df, i)) if v is not None else None
                    for i, v in enumerate(now)],
        "cards": cards, "card_columns": card_columns(cards),
        "lines_table": sweep_table(charts["frontier"]),
        "points": _points_table(df),
        "has_steps": bool(steps), "has_mix": bool(mix),
        "baseline_missing": base is None or not math.isfinite(base),
        "data": {"charts": charts},
    }


def render_frontier(df: pd.DataFrame, current: Sequence[float | None] | None = None) -> str:
    """The report of a frontier sweep as one self-contained HTML page.
    ``current``: the instance's own limit of each swept rule (else
    ``df.attrs["current"]``, else not marked)."""
    return render(FRONTIER_TEMPLATE, frontier_context(df, current))


__all__ = ["FRACTION_KINDS", "axis_unit", "current_limits", "frontier_context", "is_fraction",
           "kind_of", "mix_chart",
           "render_frontier", "step_chart", "sweep_lines", "sweep_table"]
