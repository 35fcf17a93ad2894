"""Building supply in the solve report (SPEC section 8): a timeline of the
capacity the plan co-funds and of the volumes bought under its contracts, as
stacked bars per period (drawn by the same script as the mix charts), with
the tables behind them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from optimizer.labels import gwh, money
from optimizer.report.html_base import PALETTE, Table
from optimizer.results import Result


def _periods(result: Result) -> list[int]:
    a = result.allocation
    if a.empty:
        return []
    return sorted({int(t) for t in a["period"]})


def building_series(result: Result) -> list[dict[str, Any]]:
    """Stacked-bar data (as :func:`optimizer.report.html.mix_series`): ``funded``,
    the co-funded GWh per period each supplier has (from the first period it is
    there), and ``contracted``, the GWh bought from each signed contract's
    supplier in the contract's periods."""
    periods = _periods(result)
    out: list[dict[str, Any]] = []
    e = result.expansions
    if len(e.columns) and not e.empty and periods:
        by: dict[str, list[float]] = {}
        for r in e.to_dict("records"):
            row = by.setdefault(str(r["supplier"]), [0.0] * len(periods))
            for i, t in enumerate(periods):
                if t >= int(r["available_from"]):
                    row[i] += float(r["gwh"])
        out.append({"id": "funded", "periods": periods, "series": [
            {"name": s, "colour": PALETTE[i % len(PALETTE)], "values": v}
            for i, (s, v) in enumerate(by.items())]})
    c = result.contracts
    if len(c.columns) and periods:
        signed = c[c["signed"].astype(bool)]
        if not signed.empty:
            series = []
            for i, (name, g) in enumerate(signed.groupby("contract", sort=False)):
                got = dict(zip(g["period"].astype(int), g["gwh"].astype(float), strict=True))
                series.append({"name": f"{name} ({g['supplier'].iloc[0]})",
                               "colour": PALETTE[i % len(PALETTE)],
                               "values": [got.get(t, 0.0) for t in periods]})
            out.append({"id": "contracted", "periods": periods, "series": series})
    return out


def building_section(result: Result) -> dict[str, Any] | None:
    """The section's charts and tables (None: the instance has no expansions
    or contracts)."""
    e, c = result.expansions, result.contracts
    if not len(e.columns) and not len(c.columns):
        return None
    funded = None
    if len(e.columns):
        funded = Table([("supplier", False), ("funded in", True), ("steps", True),
                        ("GWh per year", True), ("there from", True),
                        ("cost, USD m", True)], cls="compact")
        for r in e.to_dict("records"):
            funded.add(str(r["supplier"]), str(int(r["period"])), f"{float(r['steps']):g}",
                       gwh(r["gwh"]), str(int(r["available_from"])), money(r["cost"]))
    contracts = None
    if len(c.columns):
        contracts = Table([("contract", False), ("supplier", False), ("year", True),
                           ("signed", False), ("GWh", True), ("short GWh", True),
                           ("short cost, USD m", True), ("discount, USD m", True)],
                          cls="compact")
        for r in c.to_dict("records"):
            contracts.add(str(r["contract"]), str(r["supplier"]), str(int(r["period"])),
                          "yes" if r["signed"] else "no", gwh(r["gwh"]),
                          gwh(r["shortfall_gwh"]), money(r["shortfall_cost"]),
                          money(r["discount"]))
    boxes = [{"name": f"mix-{d['id']}",
              "title": "Co-funded capacity" if d["id"] == "funded" else "Bought under contract",
              "caption": ("GWh per year the plan's co-funded steps add, by supplier, from the "
                          "year they are there" if d["id"] == "funded" else
                          "GWh bought from each signed contract's supplier, per year")}
             for d in building_series(result)]
    nothing = e.empty if len(e.columns) else True
    unsigned = not bool(pd.Series(c["signed"]).astype(bool).any()) if len(c.columns) else True
    return {"boxes": boxes, "funded": funded, "contracts": contracts,
            "none": nothing and unsigned}
