"""The adaptive plan's part of the robust report (SPEC section 10): the
scenario tree with what each node decides, as a table and a chart of each
node's own purchases by controlling country."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pandas as pd

from optimizer.labels import as_number, gwh, money, pct_short
from optimizer.report.html_base import OTHERS_COLOUR, PALETTE, Cell, Table

if TYPE_CHECKING:
    from optimizer.scenarios import RobustResult

#: controlling countries shown by name in the chart (the rest are "others")
TOP_GROUPS = 6


def _depth(tree: pd.DataFrame) -> dict[str, int]:
    parent = dict(zip(tree["scenario"].astype(str), tree["parent"].fillna("").astype(str),
                      strict=True))
    out: dict[str, int] = {}
    for name in parent:
        d, up = 0, parent[name]
        while up and d < len(parent):
            d, up = d + 1, parent.get(up, "")
        out[name] = d
    return out


def _own_buys(res: RobustResult, by: str) -> pd.DataFrame:
    """GWh each node buys in the years it decides itself, per group ``by``."""
    assert res.adaptive is not None and res.sd is not None
    plans = res.adaptive.plans
    own = plans[plans["scenario"] == plans["decided_by"]]
    sup = res.sd.supplies.drop_duplicates("supplier").set_index("supplier")[by]
    groups = own["supplier"].map(sup).astype(object).fillna("(none)").astype(str)
    return own.assign(group=groups).pivot_table(index="scenario", columns="group",
                                                values="gwh", aggfunc="sum", fill_value=0.0)


def hedging_sentence(block: dict[str, Any], what: str) -> str | None:
    """What progressive hedging proved about ``what`` (summary.json's engine
    fields: top level for the two-stage plan, ``adaptive`` for the adaptive
    one); None when the extensive form solved it."""
    if block.get("engine") != "mpisppy":
        return None
    ranks = int(block.get("ranks") or 1)
    gap = as_number(block.get("gap"))
    bundles = int(block.get("bundles") or 0)
    parts = f", {bundles} subproblem{'s' if bundles != 1 else ''}" if bundles else ""
    out = (f"{what} was solved by progressive hedging on mpi-sppy ({ranks} "
           f"process{'es' if ranks != 1 else ''}{parts}, {block.get('iterations')} iterations), "
           f"not as one whole program: its objective is USD {money(block.get('objective'))} m")
    if as_number(block.get("bound")) is None or gap is None:
        return out + "; no lower bound was proved, so how far it is from the best is unknown."
    out += (f", and no plan can do better than USD {money(block.get('bound'))} m "
            f"(a proved lower bound)")
    return out + (": it is the best plan, to the solver's tolerance." if gap < 1e-9 else
                  f": it is within {100 * gap:.3g}% of the best.")


def adaptive_section(res: RobustResult, charts: dict[str, Any]) -> dict[str, Any] | None:
    """The tree table (``tree``), the sentence on the value of adapting, and
    the chart ``adaptive-own`` (added to ``charts``); None without ``--adaptive``."""
    if res.adaptive is None:
        return None
    ad = res.summary["adaptive"]
    tree = res.adaptive.tree
    last = res.sd.periods[-1] if res.sd is not None else None
    depth = _depth(tree)
    buys = _own_buys(res, "control")
    buys = buys.reindex([n for n in tree["scenario"].astype(str) if n in buys.index])
    t = Table([("scenario", False), ("branches from", False), ("probability", True),
               ("own plan from", True), ("buys in its own years", False),
               ("cost, USD m", True), ("spot GWh", True), ("unmet GWh", True)],
              cls="tree", key="tree")
    for r in tree.to_dict("records"):
        name = str(r["scenario"])
        own_from = int(r["decides_from"])
        if name in buys.index and buys.loc[name].sum() > 0:
            row = pd.Series(buys.loc[name], dtype=float)
            row = row.iloc[(row.to_numpy() > 1e-9).nonzero()[0]].sort_values(ascending=False)
            what = ", ".join(f"{g} {gwh(v)}" for g, v in row.items()) + " GWh"
        else:
            what = "nothing of its own" if last is not None and own_from > last else "–"
        t.add(Cell(("  " * depth[name]) + ("└ " if depth[name] else "") + name, sort=name),
              str(r["parent"]) if isinstance(r["parent"], str) else "",
              Cell(pct_short(float(r["probability"])), sort=float(r["probability"])),
              Cell(str(own_from) if last is None or own_from <= last else "never",
                   sort=own_from),
              what, Cell(money(float(r["cost"])), sort=float(r["cost"])),
              Cell(gwh(float(r["spot_gwh"])), sort=float(r["spot_gwh"])),
              Cell(gwh(float(r["unmet_gwh"])), sort=float(r["unmet_gwh"])))
    if len(buys):
        order = buys.sum().sort_values(ascending=False).index.tolist()
        named, rest = order[:TOP_GROUPS], order[TOP_GROUPS:]
        series = [{"name": str(g), "colour": PALETTE[i % len(PALETTE)],
                   "values": [as_number(v) for v in buys[g].tolist()]}
                  for i, g in enumerate(named)]
        if rest:
            series.append({"name": "others", "colour": OTHERS_COLOUR,
                           "values": [as_number(v) for v in buys[rest].sum(axis=1).tolist()]})
        charts["adaptive-own"] = {"type": "columns", "unit": "GWh", "stacked": True,
                                  "y_label": "GWh bought in its own years",
                                  "categories": [str(s) for s in buys.index], "series": series}
    value = float(ad["value_of_adapting"])
    sentence = (f"Re-planning {ad['lag']} year(s) after a scenario starts brings the expected "
                f"cost from USD {money(ad['two_stage_expected_cost'])} m (the two-stage plan, "
                f"fixed before anything is known) to USD {money(ad['expected_cost'])} m: the "
                f"value of adapting is USD {money(value)} m.")
    if value < 0:
        sentence += (" It is negative: a scenario's own plan must obey every rule, while the "
                     "spot purchases before it re-plans are outside the rules.")
    return {"table": t, "sentence": sentence, "chart": "adaptive-own" in charts,
            "lag": ad["lag"], "engine": hedging_sentence(ad, "The adaptive plan")}
