"""Figures of the analyses, as matplotlib Figures (no global pyplot state).

:func:`frontier_figure` draws a frontier sweep
(:func:`optimizer.analysis.frontier.frontier`): the premium against the limit
of one rule with the controlling-country mix below it, or a heat map of the
premium over a grid of two rules.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def frontier_figure(df: pd.DataFrame):
    """A matplotlib Figure: the premium against the limit, with the controlling-
    country mix below it (one rule), or a heat map of the premium (a grid).
    Points without a plan are marked. Uses no global pyplot state."""
    from matplotlib.figure import Figure

    rules = df.attrs.get("rules") or [df["rule"].iloc[0]]
    if len(rules) == 1:
        return _curve_figure(df, rules[0], Figure)
    return _grid_figure(df, rules, Figure)


def _limit_label(df: pd.DataFrame, i: int, rule: str) -> str:
    kinds = df.attrs.get("kinds") or []
    kind = kinds[i] if i < len(kinds) else ""
    return f"{rule} limit" + (f" ({kind})" if kind else "")


def _curve_figure(df: pd.DataFrame, rule: str, Figure):
    fig = Figure(figsize=(8, 6.5), layout="constrained")
    ax, mix_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
    d = df.sort_values("limit")
    ok = d["objective"].notna()
    ax.plot(d.loc[ok, "limit"], d.loc[ok, "premium"], marker="o", color="tab:blue")
    bad = d.loc[~ok, "limit"]
    if len(bad):
        ax.scatter(bad, np.zeros(len(bad)), marker="x", color="tab:red", s=60, zorder=3,
                   label="no plan (" + ", ".join(sorted(set(d.loc[~ok, "status"]))) + ")")
        ax.legend(loc="best")
    ax.set_ylabel("premium over the loosest limit\n(USD million)")
    base = df.attrs.get("baseline_objective")
    title = f"Cost of diversification: {rule}"
    if base is not None and math.isfinite(base):
        title += f" (loosest optimum {base:,.1f} USD million)"
    ax.set_title(title)
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
    return fig


def _grid_figure(df: pd.DataFrame, rules: list[str], Figure):
    fig = Figure(figsize=(8, 6), layout="constrained")
    ax = fig.subplots()
    table = df.pivot_table(index="limit_2", columns="limit", values="premium", aggfunc="first",
                           dropna=False).sort_index().sort_index(axis=1)
    import matplotlib

    values = table.to_numpy(dtype=float)
    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="lightgrey")
    mesh = ax.imshow(np.ma.masked_invalid(values), origin="lower", aspect="auto", cmap=cmap)
    ax.set_xticks(range(table.shape[1]), [f"{v:g}" for v in table.columns])
    ax.set_yticks(range(table.shape[0]), [f"{v:g}" for v in table.index])
    for (r, c), v in np.ndenumerate(values):
        if not math.isfinite(v):
            ax.text(c, r, "no plan", ha="center", va="center", fontsize="x-small")
            continue
        bright = mesh.norm(v) > 0.6  # viridis is light at the top: dark text there
        ax.text(c, r, f"{v:,.0f}", ha="center", va="center", fontsize="x-small",
                color="black" if bright else "white")
    ax.set_xlabel(_limit_label(df, 0, rules[0]))
    ax.set_ylabel(_limit_label(df, 1, rules[1]))
    ax.set_title("Premium over the loosest pair of limits (USD million); grey: no plan")
    fig.colorbar(mesh, ax=ax, label="USD million")
    return fig
