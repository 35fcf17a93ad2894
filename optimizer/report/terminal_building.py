"""Building supply in the terminal (SPEC section 8): what the plan funds and
which contracts it signs, as a few lines (the one-screen view) or as tables
(``--verbose``). Ids from the instance are data, never markup."""

from __future__ import annotations

import pandas as pd
from rich.table import Table
from rich.text import Text

from optimizer.labels import lines_of, number
from optimizer.results import Result


def _years(periods: pd.Series) -> str:
    years = sorted({int(t) for t in periods})
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]}-{years[-1]}"


def building_line(result: Result, width: int = 80) -> Text | None:
    """One paragraph: each funding decision and each signed contract of a solve."""
    return building_text(result.expansions, result.contracts, width)


def building_text(e: pd.DataFrame | None, c: pd.DataFrame | None,
                  width: int = 80) -> Text | None:
    """One paragraph from the tables of expansions.csv and contracts.csv (a
    table without columns: the instance has no such option)."""
    e = e if e is not None else pd.DataFrame()
    c = c if c is not None else pd.DataFrame()
    if not len(e.columns) and not len(c.columns):
        return None
    parts: list[str] = []
    if len(e.columns):
        if e.empty:
            parts.append("Co-funded capacity: none funded.")
        else:
            items = [f"{r['supplier']} {number(r['gwh'], 1)} GWh/yr from "
                     f"{int(r['available_from'])} (funded {int(r['period'])}, USD "
                     f"{number(r['cost'], 1)} million)" for r in e.to_dict("records")]
            parts.append("Co-funded capacity:")
            parts += [f"{x}{',' if i < len(items) - 1 else '.'}" for i, x in enumerate(items)]
    if len(c.columns):
        signed = c[c["signed"].astype(bool)]
        if signed.empty:
            parts.append("Contracts: none signed.")
        else:
            items = []
            for name, g in signed.groupby("contract", sort=False):
                short = float(g["shortfall_cost"].sum())
                saved = float(g["discount"].sum())
                extra = []
                if saved > 0:
                    extra.append(f"saves {number(saved, 1)}")
                if short > 0:
                    extra.append(f"pays {number(short, 1)} for GWh not taken")
                items.append(f"{name} with {g['supplier'].iloc[0]} {_years(g['period'])}"
                             + (f" ({', '.join(extra)})" if extra else ""))
            parts.append("Contracts signed:")
            parts += [f"{x}{',' if i < len(items) - 1 else '.'}" for i, x in enumerate(items)]
            unsigned = sorted(set(c["contract"]) - set(signed["contract"]))
            if unsigned:
                parts.append(f"Not signed: {', '.join(map(str, unsigned))}.")
    return Text(lines_of(parts, width, " "))


def expansions_view(result: Result) -> Table | None:
    """``--verbose``: one row per funding decision."""
    e = result.expansions
    if not len(e.columns):
        return None
    t = Table(title="Co-funded capacity (USD million in the year funded)", title_justify="left")
    for col, right in (("supplier", False), ("funded", True), ("steps", True),
                       ("GWh/yr", True), ("from", True), ("cost", True)):
        t.add_column(col, justify="right" if right else "left")
    for r in e.to_dict("records"):
        t.add_row(Text(str(r["supplier"])), str(int(r["period"])), number(r["steps"], 2),
                  number(r["gwh"], 1), str(int(r["available_from"])), number(r["cost"], 1))
    if e.empty:
        t.caption = "nothing funded"
    return t


def contracts_view(result: Result) -> Table | None:
    """``--verbose``: one row per contract and year."""
    c = result.contracts
    if not len(c.columns):
        return None
    t = Table(title="Contracts (GWh; USD million in the year)", title_justify="left")
    for col, right in (("contract", False), ("supplier", False), ("year", True),
                       ("signed", False), ("GWh", True), ("short GWh", True),
                       ("short cost", True), ("discount", True)):
        t.add_column(col, justify="right" if right else "left")
    for r in c.to_dict("records"):
        t.add_row(Text(str(r["contract"])), Text(str(r["supplier"])), str(int(r["period"])),
                  "yes" if r["signed"] else "no", number(r["gwh"], 1),
                  number(r["shortfall_gwh"], 1), number(r["shortfall_cost"], 1),
                  number(r["discount"], 1))
    return t


def worth_view(result: Result) -> Table | None:
    """``--verbose``: what each contract and expansion is worth."""
    w = result.option_worth
    if w.empty:
        return None
    t = Table(title="What each option is worth (USD million: the optimum without it minus "
                    "with it)", title_justify="left")
    t.add_column("option")
    t.add_column("worth", justify="right")
    for r in w.to_dict("records"):
        worth = r["worth"]
        text = "no plan without it" if worth == float("inf") else number(worth, 1)
        t.add_row(Text(str(r["option"])), text)
    return t
