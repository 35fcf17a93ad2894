"""Figures of the analyses, as matplotlib Figures (no global pyplot state).

:func:`frontier_figure` draws a frontier sweep
(:func:`optimizer.analysis.frontier.frontier`): the premium against the limit
of one rule with the controlling-country mix below it, or a heat map of the
premium over a grid of two rules. Limits of share-like rules are on percent
axes; the instance's own limit (``current``, else ``df.attrs["current"]``) is
marked; on a curve, each step's cost (the premium of a point minus that of the
next looser one) is written beside its segment.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from optimizer.labels import limit_text, number
from optimizer.report.frontier_html import (
    current_limits,
    kind_of,
    tightening_steps,
    tighter_is_lower,
)

#: a curve writes its steps' costs when it has at most this many of them
MAX_STEP_LABELS = 24
#: the colour of the instance's own limit
CURRENT_COLOUR = "#882255"


def frontier_figure(df: pd.DataFrame, current: Sequence[float | None] | None = None):
    """A matplotlib Figure: the premium against the limit, with the controlling-
    country mix below it (one rule), or a heat map of the premium (a grid).
    Points without a plan are marked. ``current``: the instance's own limit of
    each swept rule (else ``df.attrs["current"]``), drawn as a vertical line
    (a curve) or an outlined cell (a grid). Uses no global pyplot state."""
    from matplotlib.figure import Figure

    rules = df.attrs.get("rules") or [df["rule"].iloc[0]]
    now = current_limits(df, current)
    if len(rules) == 1:
        return _curve_figure(df, rules[0], Figure, now[0])
    return _grid_figure(df, rules, Figure, now)


def _limit_axis(axis, kind: str) -> None:
    """Ticks written as the rule's limits are (percentages, HHI points)."""
    from matplotlib.ticker import FuncFormatter

    if kind == "max_hhi" or kind.endswith("_share"):
        axis.set_major_formatter(FuncFormatter(lambda v, _: limit_text(v, kind)))


def _limit_label(df: pd.DataFrame, i: int, rule: str) -> str:
    kinds = df.attrs.get("kinds") or []
    kind = kinds[i] if i < len(kinds) else ""
    return f"{rule} limit" + (f" ({kind})" if kind else "")


def _curve_figure(df: pd.DataFrame, rule: str, Figure, current: float | None = None):
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax, mix_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    d = df.sort_values("limit")
    ok = d["objective"].notna()
    kind = kind_of(df)
    ax.plot(d.loc[ok, "limit"], d.loc[ok, "premium"], marker="o", color="tab:blue")
    points = [(float(x), None if not math.isfinite(y) else float(y))
              for x, y in zip(d["limit"], d["premium"].astype(float), strict=True)]
    steps = tightening_steps(points, tighter_is_lower(df))
    if len(steps) <= MAX_STEP_LABELS:
        for xa, ya, xb, yb, cost in steps:
            falling = (yb - ya) * (xb - xa) < 0  # the label goes above the line, beside it
            ax.annotate(number(cost, 1, signed=True), ((xa + xb) / 2, (ya + yb) / 2),
                        textcoords="offset points", xytext=(5 if falling else -5, 5),
                        ha="left" if falling else "right", va="bottom", fontsize="x-small",
                        color="tab:blue")
    bad = d.loc[~ok, "limit"]
    if len(bad):
        ax.scatter(bad, np.zeros(len(bad)), marker="x", color="tab:red", s=60, zorder=3,
                   label="no plan (" + ", ".join(sorted(set(d.loc[~ok, "status"]))) + ")")
    if current is not None:
        for a in (ax, mix_ax):
            a.axvline(current, color=CURRENT_COLOUR, linestyle="--", linewidth=1.4,
                      label=f"in the instance: {limit_text(current, kind)}"
                      if a is ax else None)
    if len(bad) or current is not None:
        ax.legend(loc="best", fontsize="small")
    ax.set_ylabel("premium over the loosest limit\n(USD million)")
    base = df.attrs.get("baseline_objective")
    title = f"Cost of diversification: {rule}"
    if base is not None and math.isfinite(base):
        title += f" (loosest optimum {base:,.1f} USD million)"
    if steps and len(steps) <= MAX_STEP_LABELS:
        title += "\nnumbers on the line: what each step of tightening adds (USD million)"
    ax.set_title(title, fontsize="medium")
    ax.grid(True, alpha=0.3)
    shares = [c for c in d.columns if c.startswith("share_control_")]
    if shares and ok.any():
        sub = d.loc[ok, ["limit", *shares]]
        keep = [c for c in shares if sub[c].max() > 1e-6]
        if keep:
            mix_ax.stackplot(sub["limit"], *[sub[c] for c in keep],
                             labels=[c.removeprefix("share_control_") for c in keep],
                             alpha=0.85)
            mix_ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize="small",
                          title="control")
    mix_ax.set_ylim(0, 1)
    mix_ax.set_ylabel("share of GWh bought\nby controlling country")
    mix_ax.set_xlabel(_limit_label(df, 0, rule))
    mix_ax.grid(True, alpha=0.3)
    _limit_axis(mix_ax.yaxis, "max_share")  # shares of GWh
    _limit_axis(mix_ax.xaxis, kind)
    return fig


def _grid_figure(df: pd.DataFrame, rules: list[str], Figure,
                 current: Sequence[float | None] = ()):
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    table = df.pivot_table(index="limit_2", columns="limit", values="premium", aggfunc="first",
                           dropna=False).sort_index().sort_index(axis=1)
    import matplotlib

    values = table.to_numpy(dtype=float)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    mesh = ax.imshow(np.ma.masked_invalid(values), origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(table.shape[1]), [limit_text(v, kind_of(df, 0))
                                          for v in table.columns])
    ax.set_yticks(range(table.shape[0]), [limit_text(v, kind_of(df, 1))
                                          for v in table.index])
    for (r, c), v in np.ndenumerate(values):
        if not math.isfinite(v):
            ax.text(c, r, "no plan", ha="center", va="center", fontsize="x-small")
            continue
        bright = mesh.norm(v) > 0.6  # viridis is light at the top: dark text there
        ax.text(c, r, f"{v:,.0f}", ha="center", va="center", fontsize="x-small",
                color="black" if bright else "white")
    ax.set_xlabel(_limit_label(df, 0, rules[0]))
    ax.set_ylabel(_limit_label(df, 1, rules[1]))
    title = "Premium over the loosest pair of limits (USD million); grey: no plan"
    now = list(current) + [None] * (2 - len(current))
    cols = [i for i, v in enumerate(table.columns) if now[0] is not None
            and abs(float(v) - now[0]) <= 1e-9]
    rows = [i for i, v in enumerate(table.index) if now[1] is not None
            and abs(float(v) - now[1]) <= 1e-9]
    if cols and rows:
        from matplotlib.patches import Rectangle

        ax.add_patch(Rectangle((cols[0] - 0.5, rows[0] - 0.5), 1, 1, fill=False,
                               edgecolor=CURRENT_COLOUR, linewidth=2.5))
        title += "\noutlined: the limits in the instance"
    elif now[0] is not None and now[1] is not None:
        title += (f"\nthe instance's limits ({limit_text(now[0], kind_of(df, 0))}, "
                  f"{limit_text(now[1], kind_of(df, 1))}) are not in the grid")
    ax.set_title(title)
    fig.colorbar(mesh, ax=ax, label="USD million")
    return fig
