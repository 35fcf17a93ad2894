"""A self-contained HTML report of a result: one file that opens offline.

:func:`render_html` returns the page as a string. Everything the page needs is
inside it: the stylesheet, a small script that draws the charts as SVG, and the
numbers as a JSON blob (``<script type="application/json" id="report-data">``).
It loads nothing from the network, so it opens the same way on a laptop in a
plane as on a server.

The page is laid out by Jinja2 templates shipped with the package
(``optimizer/report/templates``: ``report.html.j2`` on the skeleton
``base.html.j2``, its sections in ``sections.html.j2`` and the glossary in
``glossary.html.j2``; the stylesheet ``report.css`` and the scripts
``charts.js`` and ``report.js`` are copied into the page as they are; see
:mod:`optimizer.report.html_base`). This module computes what the templates
show: table rows and cards with their numbers already written out
(:mod:`optimizer.labels`), and the data the charts are drawn from.
Autoescaping is on: every piece of text from an instance is escaped where
the template puts it; the JSON blob is written so that it cannot end its
``<script>`` element. The charts are drawn in the browser from the JSON blob,
with text set through the DOM (``textContent``), never parsed as markup.

Near the top, "What to buy" lists the plan row by row (supplier, company,
countries, chemistry, application, year, GWh, landed USD/kWh, USD million),
sortable by any column and filtered by a text box and an application
selector (at most :data:`MAX_BUY_ROWS` rows; allocation.csv has them all).

Each chart container carries ``data-chart="<name>"``; once drawn it gets
``data-rendered="true"`` (or ``"error"``, with the error logged to the
console), so a test can check that the charts really rendered. Every chart has
a data table beside it (in a ``<details>`` element) that reads without
JavaScript.

The optional ``frontier`` argument takes a cost-versus-limit sweep as
``optimizer.frontier`` returns it (one row per point; columns ``limit`` and
``objective``, optionally ``rule``, and ``rule_2``/``limit_2`` for a grid of two
rules) and adds a line chart of it: one line per rule, or per second limit
(:func:`optimizer.report.frontier_html.sweep_lines`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.labels import (
    COST_ALWAYS,
    COST_LABELS,
    GROUPING_LABELS,
    as_number,
    capfirst,
    grouping_label,
    gwh,
    is_missing,
    marginal_cost,
    money,
    number,
    pct,
    per_unit,
    rule_value,
    sig,
    usd_per_kwh,
)
from optimizer.report.frontier_html import sweep_lines, sweep_table
from optimizer.report.html_base import (
    OTHERS_COLOUR,
    PALETTE,
    TEMPLATES,
    Card,
    Cell,
    Row,
    Table,
    card_columns,
    environment,
    json_for_script,
    render,
)
from optimizer.report.html_building import building_section
from optimizer.results import Result

__all__ = ["MAX_BUY_ROWS", "MAX_SERIES", "MIX_CHARTS", "PAGE_TEMPLATE", "TEMPLATES", "Card",
           "Cell", "Row", "Table", "environment", "json_for_script", "mix_series",
           "page_context", "render_html", "report_data", "what_to_buy"]

#: the groupings shown as stacked bars
MIX_CHARTS: tuple[str, ...] = ("control", "company", "family")

#: a chart shows at most this many groups; beyond it, the smallest are pooled
MAX_SERIES = 9

#: at most this many binding scopes are listed (all of them are in rules.csv)
MAX_SCOPE_ROWS = 200
#: at most this many rows of the plan are listed under "What to buy" (all of
#: them are in allocation.csv): a browser sorts and filters a few thousand rows
#: at once, not a hundred thousand
MAX_BUY_ROWS = 2000

#: the page's template
PAGE_TEMPLATE = "report.html.j2"


# --------------------------------------------------------------------------- helpers

def _listed(value: Any) -> str:
    """Pooled groups and applications are joined with ";" in the tables: show a list."""
    return "" if is_missing(value) else ", ".join(str(value).split(";"))


# --------------------------------------------------------------------------- chart data

def mix_series(shares: pd.DataFrame, by: str,
               max_series: int = MAX_SERIES) -> dict[str, Any]:
    """The stacked-bar data of one grouping: periods, and per group its GWh in
    each period. Groups are ordered by total GWh (largest first, drawn at the
    bottom of each bar); beyond ``max_series`` groups, all but the largest
    ``max_series - 1`` are pooled into one "N others" series."""
    sub = shares[shares["by"] == by] if not shares.empty else shares
    if sub.empty:
        return {"id": by, "periods": [], "series": []}
    pivot = sub.pivot_table(index="group", columns="period", values="gwh", aggfunc="sum",
                            fill_value=0.0)
    order = pivot.sum(axis=1).sort_values(ascending=False, kind="stable").index
    pivot = pivot.loc[order]
    periods = [int(t) for t in pivot.columns]
    series: list[dict[str, Any]] = []
    if len(pivot) > max_series:
        keep, rest = pivot.iloc[:max_series - 1], pivot.iloc[max_series - 1:]
    else:
        keep, rest = pivot, pivot.iloc[:0]
    for i, (group, row) in enumerate(keep.iterrows()):
        series.append({"name": str(group), "colour": PALETTE[i % len(PALETTE)],
                       "values": [float(row[t]) for t in pivot.columns]})
    if len(rest):
        series.append({"name": f"{len(rest)} others", "colour": OTHERS_COLOUR, "others": True,
                       "members": [str(g) for g in rest.index],
                       "values": [float(rest[t].sum()) for t in pivot.columns]})
    return {"id": by, "periods": periods, "series": series}


def _cost_items(result: Result) -> list[dict[str, Any]]:
    costs = result.cost_breakdown
    total = as_number(costs.get("total")) or 0.0
    items = []
    for key, label in COST_LABELS.items():
        v = as_number(costs.get(key)) or 0.0
        if v == 0 and key not in COST_ALWAYS:
            continue
        items.append({"key": key, "label": capfirst(label), "value": v,
                      "share": v / total if total else None})
    return items


def _rule_cost_items(result: Result) -> list[dict[str, Any]]:
    df = result.rule_summary
    if df.empty:
        return []
    df = df.assign(_c=df["total_cost"].astype(float).fillna(-np.inf)).sort_values(
        ["_c", "rule"], ascending=[False, True], kind="stable")
    return [{"rule": str(r["rule"]), "kind": str(r["kind"]), "cost": as_number(r["total_cost"]),
             "binding": int(as_number(r["binding_scopes"]) or 0)}
            for r in df.to_dict("records")]


def report_data(result: Result, frontier: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything the page's script draws, as plain JSON-able data."""
    mix = []
    for by in MIX_CHARTS:
        d = mix_series(result.shares, by)
        d["title"] = capfirst(grouping_label(by))
        mix.append(d)
    from optimizer.report.html_building import building_series

    return {
        "mix": mix,
        "building": building_series(result),
        "costs": _cost_items(result),
        "rule_costs": _rule_cost_items(result),
        "frontier": sweep_lines(frontier),
        "charts": {},
    }


NO_CHARTS: dict[str, Any] = {"mix": [], "building": [], "costs": [], "rule_costs": [],
                             "frontier": None, "charts": {}}


# --------------------------------------------------------------------------- sections

def _status(status: str) -> dict[str, str]:
    return {"key": status, "cls": {"optimal": "ok", "time_limit": "warn"}.get(status, "bad"),
            "text": {"time_limit": "time limit"}.get(status, status)}


def _largest_share(result: Result, by: str) -> tuple[float, str, int] | None:
    s = result.shares
    if s.empty:
        return None
    sub = s[s["by"] == by]
    if sub.empty:
        return None
    row = sub.iloc[int(np.argmax(sub["share"].to_numpy()))]
    return float(row["share"]), str(row["group"]), int(row["period"])


def headline_cards(result: Result) -> list[Card]:
    cards = [Card("objective", "Total cost", money(result.objective), "USD", "m",
                  "discounted, all periods", objective=repr(result.objective))]
    po = result.price_of_rules
    if as_number(po.get("cost_of_rules")) is not None and not result.rules.empty:
        cards.append(Card("price_of_rules", "Price of the rules", money(po["cost_of_rules"]),
                          "+ USD", "m",
                          f"+{as_number(po.get('cost_of_rules_pct')) or 0:.1f}% over the "
                          f"cheapest plan with no rules (USD "
                          f"{money(po.get('objective_no_rules'))} m)"))
    alloc = result.allocation
    if not alloc.empty:
        periods = sorted(int(t) for t in alloc["period"].unique())
        span = f"{periods[0]}–{periods[-1]}" if len(periods) > 1 else str(periods[0])
        cards.append(Card("gwh", "Cells bought", gwh(alloc["gwh"].sum()), after="GWh",
                          note=f"{len(periods)} period{'s' if len(periods) != 1 else ''}, "
                               f"{span}"))
        offered = result.usage["supplier"].nunique() if not result.usage.empty else None
        used = alloc["supplier"].nunique()
        cards.append(Card("suppliers", "Suppliers used", f"{used}",
                          note=f"of {offered} with capacity" if offered else ""))
    for by in ("control", "company"):
        top = _largest_share(result, by)
        if top is not None:
            share, group, period = top
            cards.append(Card(f"top_{by}", f"Top {grouping_label(by)}", pct(share),
                              after=group, note=f"largest share in any period ({period})"))
    unmet = result.unmet
    if not unmet.empty and "unmet" in unmet.columns and unmet["unmet"].sum() > 0:
        cards.append(Card("unmet", "Unmet demand", gwh(unmet["unmet"].sum()), after="GWh",
                          note="bought nowhere: penalty charged"))
    gap = as_number(result.solver.get("mip_gap"))
    if gap is not None and result.solver.get("mip"):
        cards.append(Card("gap", "MIP gap", f"{sig(100 * gap, 3)}%",
                          note=f"best bound USD {money(result.solver.get('best_bound'))} m"))
    return cards


def _mix_table(d: dict[str, Any]) -> Table:
    periods = d["periods"]
    totals = [sum(s["values"][i] for s in d["series"]) for i in range(len(periods))]
    table = Table([("group", False), *[(str(t), True) for t in periods]])
    for s in d["series"]:
        members = f"({', '.join(s['members'])})" if s.get("members") else ""
        cells = [Cell(s["name"], members)]
        for i in range(len(periods)):
            v = s["values"][i]
            cells.append(Cell(gwh(v), pct(v / totals[i])) if v > 0 and totals[i]
                         else Cell("–"))
        table.add(*cells)
    table.add("total", *[gwh(t) for t in totals], strong=True)
    return table


def mix_boxes(data: dict[str, Any]) -> list[dict[str, Any]]:
    """The mix charts with a purchase in some period, with their data tables."""
    return [{"name": f"mix-{d['id']}", "title": f"Mix by {d['title'].lower()}",
             "grouping": grouping_label(d["id"]), "table": _mix_table(d)}
            for d in data["mix"] if d["periods"]]


def cost_section(result: Result, data: dict[str, Any]) -> dict[str, Any]:
    total = as_number(result.cost_breakdown.get("total"))
    table = Table([("component", False), ("USD million", True), ("share", True)],
                  cls="compact")
    for i in data["costs"]:
        table.add(i["label"], money(i["value"]), pct(i["share"]))
    table.add("Total", money(total), "100.0%" if total else "", strong=True)
    undiscounted = as_number(result.cost_breakdown.get("undiscounted_purchases"))
    shown = (undiscounted is not None and total is not None
             and abs(undiscounted - total) > 1e-6)
    return {"table": table, "undiscounted": money(undiscounted) if shown else ""}


def _binding_scopes(result: Result) -> pd.DataFrame:
    df = result.rules
    if df.empty:
        return df
    sub = df[df["binding"].astype(bool)]
    if "excluded_lanes" in sub.columns:
        excl = sub["kind"] == "exclude"
        sub = sub[~excl | (sub["excluded_lanes"].fillna(0) > 0)]
    mc = sub["marginal_cost"].abs().fillna(0) if "marginal_cost" in sub.columns else 0
    return sub.assign(_mc=mc).sort_values(["_mc", "rule", "period"],
                                          ascending=[False, True, True], kind="stable")


def _scope_table(scopes: pd.DataFrame) -> Table:
    has_total = "total_cost" in scopes.columns
    columns = [("rule", False), ("period", True), ("application", False), ("group", False),
               ("value", True), ("limit", True), ("marginal cost, USD m", True)]
    if has_total:
        columns.append(("cost of this scope, USD m", True))
    table = Table(columns, cls="rules")
    for r in scopes.head(MAX_SCOPE_ROWS).to_dict("records"):
        unit = str(r.get("unit") or "")
        if r["kind"] == "exclude":
            n = int(as_number(r.get("excluded_lanes")) or 0)
            value, limit = f"{n} offer{'s' if n != 1 else ''} excluded", "none"
        else:
            value, limit = rule_value(r["value"], unit), rule_value(r["limit"], unit)
        mc = marginal_cost(r.get("marginal_cost"))
        cells: list[str | Cell] = [
            str(r["rule"]), str(r["period"]), _listed(r["application"]), _listed(r["group"]),
            value, limit, Cell(mc, f"/ {per_unit(unit)}") if as_number(
                r.get("marginal_cost")) is not None else Cell(mc)]
        if has_total:
            cells.append(money(r.get("total_cost"), 2))
        table.add(*cells)
    return table


def rules_section(result: Result, data: dict[str, Any]) -> dict[str, Any]:
    per_rule = None
    if data["rule_costs"]:
        per_rule = Table([("rule", False), ("kind", False), ("binding scopes", True),
                          ("total cost, USD m", True)], cls="compact")
        for i in data["rule_costs"]:
            per_rule.add(i["rule"], i["kind"], str(i["binding"]), money(i["cost"], 2))
        together = result.price_of_rules.get("cost_of_rules")
        if as_number(together) is not None:
            per_rule.add("all rules together", "", "", money(together, 2), strong=True)
    scopes = _binding_scopes(result)
    return {"any": not result.rules.empty, "per_rule": per_rule,
            "scopes": _scope_table(scopes) if not scopes.empty else None,
            "more": max(0, len(scopes) - MAX_SCOPE_ROWS)}


def concentration_table(result: Result) -> Table | None:
    df = result.concentration
    if df.empty:
        return None
    order = {by: i for i, by in enumerate(GROUPING_LABELS)}
    df = df.sort_values(["by", "period"], key=lambda c: c.map(order).fillna(len(order))
                        if c.name == "by" else c, kind="stable")
    table = Table([("by", False), ("period", True), ("HHI", True), ("HHI, no rules", True),
                   ("change", True), ("largest", False), ("largest, no rules", False),
                   ("top 3", True), ("top 3, no rules", True)], cls="conc")
    for r in df.to_dict("records"):
        hhi, free = as_number(r.get("hhi")), as_number(r.get("hhi_no_rules"))
        change = number(hhi - free, 0, signed=True) if hhi is not None and free is not None \
            else "–"
        top1_free = ("–" if is_missing(r.get("top1_group_no_rules"))
                     else f"{r.get('top1_group_no_rules')} {pct(r.get('top1_share_no_rules'))}")
        table.add(grouping_label(r["by"]), str(r["period"]), number(hhi, 0), number(free, 0),
                  change, f"{r.get('top1_group')} {pct(r.get('top1_share'))}", top1_free,
                  pct(r.get("top3_share")), pct(r.get("top3_share_no_rules")))
    return table


def frontier_table(data: dict[str, Any]) -> Table | None:
    return sweep_table(data["frontier"])


#: the columns of "What to buy": (allocation column, label, numeric?)
BUY_COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("supplier", "supplier", False), ("company", "company", False),
    ("country", grouping_label("country"), False), ("control", grouping_label("control"), False),
    ("chemistry", "chemistry", False), ("application", "application", False),
    ("period", "year", True), ("gwh", "GWh", True),
    ("unit_landed_cost", "landed USD/kWh", True), ("cost", "USD million", True))


def _buy_rows(alloc: pd.DataFrame, limit: int) -> pd.DataFrame:
    """The rows listed: all of them, or the ``limit`` largest by GWh with every
    supplier's largest row among them (so that each supplier shows), in the
    order year, application, GWh (largest first)."""
    if len(alloc) > limit:
        order = alloc.sort_values("gwh", ascending=False, kind="stable")
        firsts = order.drop_duplicates("supplier").head(limit)
        rest = order.drop(index=firsts.index).head(limit - len(firsts))
        alloc = alloc.loc[firsts.index.union(rest.index)]
    return alloc.sort_values(["period", "application", "gwh"], ascending=[True, True, False],
                             kind="stable")


def buy_count(rows: int, total_rows: int, total_gwh: Any, total_cost: Any) -> str:
    """The line above the table (the page's script rewrites it as rows are filtered)."""
    return (f"Showing {rows} of {total_rows} rows: {gwh(total_gwh)} GWh, "
            f"USD {money(total_cost)} m.")


def what_to_buy(result: Result, limit: int | None = None) -> dict[str, Any] | None:
    """The plan as a sortable, filterable table: one row per supplier,
    application and year (allocation.csv's rows), at most ``limit`` of them
    (default :data:`MAX_BUY_ROWS`)."""
    alloc = result.allocation
    if alloc.empty:
        return None
    rows = _buy_rows(alloc, MAX_BUY_ROWS if limit is None else limit)
    table = Table([(label, num) for _, label, num in BUY_COLUMNS], cls="buy", sortable=True,
                  key="buy")
    for r in rows.to_dict("records"):
        g, unit, cost = as_number(r.get("gwh")), as_number(r.get("unit_landed_cost")), \
            as_number(r.get("cost"))
        table.add(*[Cell("" if is_missing(r.get(c)) else str(r.get(c)))
                    for c, _, _ in BUY_COLUMNS[:6]],
                  Cell(str(r["period"]), sort=int(r["period"])),
                  Cell(gwh(g), sort=g), Cell(usd_per_kwh(unit), sort=unit),
                  Cell(money(cost, 2), sort=cost),
                  data={"app": str(r.get("application")), "gwh": repr(g or 0.0),
                        "cost": repr(cost or 0.0)})
    applications = sorted({str(a) for a in alloc["application"]})
    return {"table": table, "applications": applications,
            "count": buy_count(len(rows), len(rows), rows["gwh"].sum(),
                               rows["cost"].sum() if "cost" in rows else None),
            "more": len(alloc) > len(rows), "total_rows": f"{len(alloc):,}",
            "shown_rows": f"{len(rows):,}"}


def unmet_table(result: Result) -> Table | None:
    u = result.unmet
    if u.empty or "unmet" not in u.columns or not (u["unmet"] > 0).any():
        return None
    table = Table([("application", False), ("period", True), ("demand, GWh", True),
                   ("unmet, GWh", True), ("penalty, USD/kWh", True)])
    for r in u[u["unmet"] > 0].to_dict("records"):
        table.add(str(r["application"]), str(r["period"]), gwh(r["demand"]), gwh(r["unmet"]),
                  sig(r.get("penalty"), 6))
    return table


#: columns of the repairs table, when some repair has them; numbers among them
REPAIR_COLUMNS = ("rule", "demand", "capacity", "period", "application", "group", "limit",
                  "required", "change")
REPAIR_NUMBERS = ("limit", "required", "change")


def no_plan_section(result: Result) -> dict[str, Any]:
    """Why there is no plan: repairs, conflicting rules, an IIS."""
    repairs = None
    if result.repairs:
        cols = [c for c in REPAIR_COLUMNS if any(c in r for r in result.repairs)]
        repairs = Table([(c, c in (*REPAIR_NUMBERS, "period")) for c in cols])
        for r in result.repairs:
            repairs.add(*["–" if is_missing(r.get(c)) else
                          sig(r.get(c), 6) if c in REPAIR_NUMBERS
                          and as_number(r.get(c)) is not None else str(r.get(c))
                          for c in cols])
    return {"messages": [str(r.get("message", r)) for r in result.repairs],
            "repairs": repairs, "conflicts": [str(c) for c in result.conflicts],
            "iis": [str(i) for i in result.iis]}


def footer_text(result: Result) -> str:
    size = result.model_size
    bits = []
    if size:
        bits.append(f"{size.get('variables', 0):,} variables, "
                    f"{size.get('constraints', 0):,} constraints")
        if size.get("binaries"):
            n = size["binaries"]
            bits.append(f"{n:,} binar{'y' if n == 1 else 'ies'}")
    if "solve" in result.timings:
        bits.append(f"HiGHS {result.timings['solve']:.2f} s")
    return "; ".join(bits)


# --------------------------------------------------------------------------- page

def page_context(result: Result, frontier: pd.DataFrame | None = None) -> dict[str, Any]:
    """What the page template shows (see templates/report.html.j2)."""
    context: dict[str, Any] = {
        "instance": result.instance, "status": _status(result.status),
        "has_plan": result.has_plan, "warnings": [str(w) for w in result.warnings],
        "footer": footer_text(result),
    }
    if result.has_plan:
        data = report_data(result, frontier)
        cards = headline_cards(result)
        context.update(
            cards=cards, card_columns=card_columns(cards), buy=what_to_buy(result),
            unmet=unmet_table(result), mix=mix_boxes(data),
            building=building_section(result),
            costs=cost_section(result, data), rules=rules_section(result, data),
            frontier=frontier_table(data), concentration=concentration_table(result))
    else:
        data = NO_CHARTS
        context["no_plan"] = no_plan_section(result) if result.status == "infeasible" else None
    context["data"] = data
    return context


def render_html(result: Result, frontier: pd.DataFrame | None = None) -> str:
    """The report as one self-contained HTML page.

    ``frontier``: optional cost-versus-limit points as :func:`optimizer.frontier`
    returns them (columns ``limit`` and ``objective``, USD million or NaN where
    no plan exists; optionally ``rule``, and ``rule_2``/``limit_2`` for a grid),
    drawn as a line chart.
    """
    return render(PAGE_TEMPLATE, page_context(result, frontier))
