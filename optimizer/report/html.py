"""A self-contained HTML report of a result: one file that opens offline.

:func:`render_html` returns the page as a string. Everything the page needs is
inside it: the stylesheet, a small script that draws the charts as SVG, and the
numbers as a JSON blob (``<script type="application/json" id="report-data">``).
It loads nothing from the network, so it opens the same way on a laptop in a
plane as on a server.

Tables are written here, in Python, with every piece of user text escaped; the
charts are drawn in the browser from the JSON blob, with text set through the
DOM (``textContent``), never parsed as markup. Each chart container carries
``data-chart="<name>"``; once drawn it gets ``data-rendered="true"`` (or
``"error"``, with the error logged to the console), so a test can check that
the charts really rendered. Every chart has a data table beside it (in a
``<details>`` element) that reads without JavaScript.

The optional ``frontier`` argument takes a cost-versus-limit sweep as
``optimizer.frontier`` returns it (one row per point; columns ``limit`` and
``objective``, optionally ``rule``, and ``rule_2``/``limit_2`` for a grid of two
rules) and adds a line chart of it: one line per rule, or per second limit.
"""

from __future__ import annotations

import html
import json
import math
from typing import Any

import numpy as np
import pandas as pd

from optimizer.input.schema import SHARE_KINDS
from optimizer.report.files import json_safe
from optimizer.results import Result

#: the groupings shown as stacked bars, with their section titles
MIX_CHARTS: tuple[tuple[str, str], ...] = (
    ("control", "Controlling country"),
    ("company", "Company"),
    ("family", "Chemistry family"),
)

#: a chart shows at most this many groups; beyond it, the smallest are pooled
MAX_SERIES = 9
#: Paul Tol's "muted" scheme, distinguishable with the common colour-vision deficiencies
PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
           "#882255", "#AA4499")
OTHERS_COLOUR = "#BBBBBB"

COST_LABELS = {
    "ex_works": "Ex-works price",
    "tariff": "Tariffs",
    "freight": "Freight",
    "carbon": "Carbon",
    "fixed": "Fixed costs",
    "unmet_penalty": "Unmet demand penalty",
}
#: cost components always listed, even at zero
COST_ALWAYS = ("ex_works", "tariff", "freight")

GROUPING_LABELS = {
    "company": "company",
    "country": "production country",
    "control": "controlling country",
    "family": "chemistry family",
}

#: at most this many binding scopes are listed (all of them are in rules.csv)
MAX_SCOPE_ROWS = 200


# --------------------------------------------------------------------------- helpers

def esc(value: Any) -> str:
    """Text for HTML content and attribute values (quotes escaped too)."""
    return html.escape("" if value is None else str(value), quote=True)


def _missing(v: Any) -> bool:
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _num(v: Any) -> float | None:
    """A plain float, or None for missing / NaN / infinite values."""
    if _missing(v):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def money(v: Any, digits: int = 1) -> str:
    f = _num(v)
    return "–" if f is None else f"{f:,.{digits}f}"


def pct(v: Any, digits: int = 1) -> str:
    f = _num(v)
    return "–" if f is None else f"{100 * f:.{digits}f}%"


def gwh(v: Any) -> str:
    f = _num(v)
    if f is None:
        return "–"
    return f"{f:,.0f}" if abs(f) >= 1000 else f"{f:,.2f}".rstrip("0").rstrip(".")


def _rule_value(v: Any, unit: str) -> str:
    f = _num(v)
    if f is None:
        return "–"
    if unit == "share":
        return pct(f)
    if unit == "GWh":
        return f"{gwh(f)} GWh"
    text = f"{f:,.4g}"
    return f"{text} {unit}".strip()


def _json_for_script(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in."""
    text = json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _table(headers: list[tuple[str, str]], rows: list[list[str]], cls: str = "") -> str:
    """An HTML table; ``headers`` are (label, "num"|"") and cells already escaped."""
    head = "".join(f'<th class="{a}" scope="col">{esc(h)}</th>' for h, a in headers)
    body = []
    for row in rows:
        cells = "".join(f'<td class="{a}">{c}</td>' for c, (_, a) in
                        zip(row, headers, strict=True))
        body.append(f"<tr>{cells}</tr>")
    return (f'<table class="{cls}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


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
    total = _num(costs.get("total")) or 0.0
    items = []
    for key, label in COST_LABELS.items():
        v = _num(costs.get(key)) or 0.0
        if v == 0 and key not in COST_ALWAYS:
            continue
        items.append({"key": key, "label": label, "value": v,
                      "share": v / total if total else None})
    return items


def _rule_cost_items(result: Result) -> list[dict[str, Any]]:
    df = result.rule_summary
    if df.empty:
        return []
    df = df.assign(_c=df["total_cost"].astype(float).fillna(-np.inf)).sort_values(
        ["_c", "rule"], ascending=[False, True], kind="stable")
    return [{"rule": str(r["rule"]), "kind": str(r["kind"]), "cost": _num(r["total_cost"]),
             "binding": int(_num(r["binding_scopes"]) or 0)} for r in df.to_dict("records")]


def _frontier_data(frontier: pd.DataFrame | None) -> dict[str, Any] | None:
    """Lines of the frontier chart: one per rule (a curve of each rule's limit),
    or, for a grid of two rules (``rule_2``, ``limit_2``), one per second limit."""
    if frontier is None or frontier.empty:
        return None
    missing = {"limit", "objective"} - set(frontier.columns)
    if missing:
        raise ValueError(f"frontier needs the columns limit and objective; missing: "
                         f"{', '.join(sorted(missing))}")
    rules = [str(r) for r in frontier["rule"].unique()] if "rule" in frontier.columns else []
    if "limit_2" in frontier.columns:
        second = str(frontier["rule_2"].iloc[0]) if "rule_2" in frontier.columns else "limit 2"
        groups = [(f"{second} = {v:g}", g) for v, g in frontier.groupby("limit_2", sort=True)]
    elif rules:
        groups = [(str(r), g) for r, g in frontier.groupby("rule", sort=False)]
    else:
        groups = [("optimum", frontier)]
    series = []
    for i, (name, g) in enumerate(groups):
        g = g.sort_values("limit", kind="stable")
        series.append({"name": name, "colour": PALETTE[i % len(PALETTE)],
                       "points": [[_num(x), _num(y)] for x, y in
                                  zip(g["limit"], g["objective"], strict=True)]})
    x_label = f"limit of {rules[0]}" if len(rules) == 1 else "limit"
    kinds = frontier.attrs.get("kinds") or []
    x_share = bool(kinds) and kinds[0] in SHARE_KINDS
    return {"series": series, "x_label": x_label, "x_share": x_share}


def report_data(result: Result, frontier: pd.DataFrame | None = None) -> dict[str, Any]:
    """Everything the page's script draws, as plain JSON-able data."""
    mix = []
    for by, title in MIX_CHARTS:
        d = mix_series(result.shares, by)
        d["title"] = title
        mix.append(d)
    return {
        "mix": mix,
        "costs": _cost_items(result),
        "rule_costs": _rule_cost_items(result),
        "frontier": _frontier_data(frontier),
    }


# --------------------------------------------------------------------------- sections

def _status_badge(status: str) -> str:
    cls = {"optimal": "ok", "time_limit": "warn"}.get(status, "bad")
    text = {"time_limit": "time limit"}.get(status, status)
    return f'<span class="badge {cls}" data-status="{esc(status)}">{esc(text)}</span>'


def _card(label: str, value: str, note: str = "", key: str = "") -> str:
    note_html = f'<div class="note">{note}</div>' if note else ""
    return (f'<div class="card" data-card="{esc(key)}"><div class="label">{esc(label)}</div>'
            f'<div class="value">{value}</div>{note_html}</div>')


def _largest_share(result: Result, by: str) -> tuple[float, str, int] | None:
    s = result.shares
    if s.empty:
        return None
    sub = s[s["by"] == by]
    if sub.empty:
        return None
    row = sub.iloc[int(np.argmax(sub["share"].to_numpy()))]
    return float(row["share"]), str(row["group"]), int(row["period"])


def headline_cards(result: Result) -> str:
    cards = [_card("Total cost", f'<small>USD</small> <span data-objective='
                   f'"{result.objective!r}">{money(result.objective)}</span> <small>m</small>',
                   "discounted, all periods", "objective")]
    po = result.price_of_rules
    if _num(po.get("cost_of_rules")) is not None and not result.rules.empty:
        cards.append(_card("Price of the rules",
                           f"<small>+ USD</small> {money(po['cost_of_rules'])} <small>m</small>",
                           f"+{_num(po.get('cost_of_rules_pct')) or 0:.1f}% over the cheapest "
                           f"plan with no rules (USD {money(po.get('objective_no_rules'))} m)",
                           "price_of_rules"))
    alloc = result.allocation
    if not alloc.empty:
        periods = sorted(int(t) for t in alloc["period"].unique())
        span = f"{periods[0]}–{periods[-1]}" if len(periods) > 1 else str(periods[0])
        cards.append(_card("Cells bought", f"{gwh(alloc['gwh'].sum())} <small>GWh</small>",
                           f"{len(periods)} period{'s' if len(periods) != 1 else ''}, {span}",
                           "gwh"))
        offered = result.usage["supplier"].nunique() if not result.usage.empty else None
        used = alloc["supplier"].nunique()
        cards.append(_card("Suppliers used", f"{used}",
                           f"of {offered} with capacity" if offered else "", "suppliers"))
    for by, label in (("control", "Top controlling country"), ("company", "Top company")):
        top = _largest_share(result, by)
        if top is not None:
            share, group, period = top
            cards.append(_card(label, f"{pct(share)} <small>{esc(group)}</small>",
                               f"largest share in any period ({period})", f"top_{by}"))
    unmet = result.unmet
    if not unmet.empty and "unmet" in unmet.columns and unmet["unmet"].sum() > 0:
        cards.append(_card("Unmet demand", f"{gwh(unmet['unmet'].sum())} GWh",
                           "bought nowhere: penalty charged", "unmet"))
    gap = _num(result.solver.get("mip_gap"))
    if gap is not None and result.solver.get("mip"):
        cards.append(_card("MIP gap", f"{100 * gap:.3g}%",
                           f"best bound USD {money(result.solver.get('best_bound'))} m",
                           "gap"))
    # one row up to six cards, else two even rows
    cols = len(cards) if len(cards) <= 6 else math.ceil(len(cards) / 2)
    return f'<div class="cards" style="--cols:{cols}">{"".join(cards)}</div>'


def _chart_box(name: str, title: str, caption: str, table_html: str = "") -> str:
    """A chart container (drawn by the page's script) with its data table, if the
    table is not already shown beside it."""
    details = (f"<details><summary>Data table</summary>{table_html}</details>"
               if table_html else "")
    return (f'<figure class="chart-box"><figcaption><h3>{esc(title)}</h3>'
            f'<p class="caption">{caption}</p></figcaption>'
            f'<div class="chart" data-chart="{esc(name)}" role="img" '
            f'aria-label="{esc(title)}"></div>{details}</figure>')


def _mix_table(d: dict[str, Any]) -> str:
    periods = d["periods"]
    totals = [sum(s["values"][i] for s in d["series"]) for i in range(len(periods))]
    rows = []
    for s in d["series"]:
        name = esc(s["name"])
        if s.get("members"):
            name += f' <span class="muted">({esc(", ".join(s["members"]))})</span>'
        cells = [name]
        for i in range(len(periods)):
            v = s["values"][i]
            cells.append(f"{gwh(v)} <span class=\"muted\">{pct(v / totals[i])}</span>"
                         if v > 0 and totals[i] else "–")
        rows.append(cells)
    rows.append(["<strong>total</strong>", *[f"<strong>{gwh(t)}</strong>" for t in totals]])
    headers = [("group", ""), *[(str(t), "num") for t in periods]]
    return _table(headers, rows)


def mix_section(data: dict[str, Any]) -> str:
    boxes = []
    for d in data["mix"]:
        if not d["periods"]:
            continue
        caption = (f"Cells bought per period by {esc(GROUPING_LABELS.get(d['id'], d['id']))}, "
                   "in GWh or as shares (switch above); hover a segment for its numbers.")
        boxes.append(_chart_box(f"mix-{d['id']}", f"Mix by {d['title'].lower()}", caption,
                                _mix_table(d)))
    if not boxes:
        return ""
    toggle = ('<div class="toggle" role="group" aria-label="bar height">'
              '<button type="button" data-mode="gwh" aria-pressed="true">GWh</button>'
              '<button type="button" data-mode="share" aria-pressed="false">Share</button></div>')
    return (f'<section id="mix"><div class="section-head"><h2>Mix per period</h2>{toggle}</div>'
            f'<div class="grid">{"".join(boxes)}</div></section>')


def cost_section(result: Result, data: dict[str, Any]) -> str:
    items = data["costs"]
    total = _num(result.cost_breakdown.get("total"))
    rows = [[esc(i["label"]), money(i["value"]), pct(i["share"])] for i in items]
    rows.append(["<strong>Total</strong>", f"<strong>{money(total)}</strong>",
                 "<strong>100.0%</strong>" if total else ""])
    undiscounted = _num(result.cost_breakdown.get("undiscounted_purchases"))
    note = (f" Purchases before discounting: USD {money(undiscounted)} m."
            if undiscounted is not None and total is not None
            and abs(undiscounted - total) > 1e-6 else "")
    table = _table([("component", ""), ("USD million", "num"), ("share", "num")], rows,
                   "compact")
    box = _chart_box("costs", "Where the money goes", "USD million, discounted." + note)
    return (f'<section id="costs"><h2>Cost breakdown</h2><div class="split">{box}'
            f'<div class="side-table"><h3>Components</h3>{table}</div></div></section>')


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


def _listed(value: Any) -> str:
    """Pooled groups and applications are joined with ";" in the tables: show a list."""
    return "" if _missing(value) else ", ".join(str(value).split(";"))


def _marginal_text(v: Any, unit: str) -> str:
    f = _num(v)
    if f is None:
        return "–"
    per = {"share": "pt", "GWh": "GWh", "groups": "group"}.get(unit, unit or "unit")
    return f"{f:,.3f} <span class=\"muted\">/ {esc(per)}</span>"


def rules_section(result: Result, data: dict[str, Any]) -> str:
    items = data["rule_costs"]
    parts = ['<section id="rules"><h2>Binding rules and what they cost</h2>']
    po = result.price_of_rules
    if items:
        rows = [[esc(i["rule"]), esc(i["kind"]), str(i["binding"]),
                 money(i["cost"], 2)] for i in items]
        if _num(po.get("cost_of_rules")) is not None:
            rows.append(["<strong>all rules together</strong>", "", "",
                         f"<strong>{money(po['cost_of_rules'], 2)}</strong>"])
        table = _table([("rule", ""), ("kind", ""), ("binding scopes", "num"),
                        ("total cost, USD m", "num")], rows, "compact")
        caption = ("Each rule's total cost: the optimum with the rule minus the optimum "
                   "without it (all its periods and groups at once), USD million. Rules "
                   "interact, so these costs need not add up to the cost of all rules "
                   "together.")
        box = _chart_box("rule-costs", "Cost of each rule", caption)
        parts.append(f'<div class="split">{box}'
                     f'<div class="side-table"><h3>Per rule</h3>{table}</div></div>')
    elif not result.rules.empty:
        parts.append('<p class="muted">Total rule costs were not computed for this run '
                     "(run <code>optimizer solve --analysis</code>); marginal costs are "
                     "below.</p>")
    scopes = _binding_scopes(result)
    if result.rules.empty:
        parts.append("<p>This instance sets no rules.</p>")
    elif scopes.empty:
        parts.append('<p>No rule binds: the cheapest plan obeys every rule with room '
                     "to spare.</p>")
    else:
        has_total = "total_cost" in scopes.columns
        headers = [("rule", ""), ("period", "num"), ("application", ""), ("group", ""),
                   ("value", "num"), ("limit", "num"),
                   ("marginal cost, USD m", "num")]
        if has_total:
            headers.append(("cost of this scope, USD m", "num"))
        rows = []
        for r in scopes.head(MAX_SCOPE_ROWS).to_dict("records"):
            unit = str(r.get("unit") or "")
            if r["kind"] == "exclude":
                n = int(_num(r.get("excluded_lanes")) or 0)
                value, limit = f"{n} offer{'s' if n != 1 else ''} excluded", "none"
            else:
                value, limit = _rule_value(r["value"], unit), _rule_value(r["limit"], unit)
            row = [esc(r["rule"]), esc(r["period"]), esc(_listed(r["application"])),
                   esc(_listed(r["group"])),
                   esc(value), esc(limit), _marginal_text(r.get("marginal_cost"), unit)]
            if has_total:
                row.append(money(r.get("total_cost"), 2))
            rows.append(row)
        more = (f'<p class="muted">{len(scopes) - MAX_SCOPE_ROWS} more binding scopes are '
                "in rules.csv.</p>" if len(scopes) > MAX_SCOPE_ROWS else "")
        parts.append('<h3>Binding scopes</h3><p class="caption">Each period, application and '
                     "group where a rule is at its limit. Marginal cost: how much the optimum "
                     "rises per unit the limit is tightened (per percentage point of a share, "
                     "per GWh of a volume).</p>"
                     f'<div class="scroll">{_table(headers, rows, "rules")}</div>{more}')
    parts.append("</section>")
    return "".join(parts)


def concentration_section(result: Result) -> str:
    df = result.concentration
    if df.empty:
        return ""
    order = {by: i for i, by in enumerate(GROUPING_LABELS)}
    df = df.sort_values(["by", "period"], key=lambda c: c.map(order).fillna(len(order))
                        if c.name == "by" else c, kind="stable")
    rows = []
    for r in df.to_dict("records"):
        hhi, free = _num(r.get("hhi")), _num(r.get("hhi_no_rules"))
        change = (f"{hhi - free:+,.0f}" if hhi is not None and free is not None else "–")
        top1 = f"{esc(r.get('top1_group'))} {pct(r.get('top1_share'))}"
        top1_free = ("–" if _missing(r.get("top1_group_no_rules"))
                     else f"{esc(r.get('top1_group_no_rules'))} "
                          f"{pct(r.get('top1_share_no_rules'))}")
        rows.append([esc(GROUPING_LABELS.get(r["by"], r["by"])), esc(r["period"]),
                     "–" if hhi is None else f"{hhi:,.0f}",
                     "–" if free is None else f"{free:,.0f}", change, top1, top1_free,
                     pct(r.get("top3_share")), pct(r.get("top3_share_no_rules"))])
    headers = [("by", ""), ("period", "num"), ("HHI", "num"), ("HHI, no rules", "num"),
               ("change", "num"), ("largest", ""), ("largest, no rules", ""),
               ("top 3", "num"), ("top 3, no rules", "num")]
    return ('<section id="concentration"><h2>Concentration</h2><p class="caption">'
            "Herfindahl-Hirschman index (sum of squared percentage shares, 0 to 10,000: "
            "higher is more concentrated) and the largest shares, for this plan and for "
            "the cheapest plan with no rules at all.</p>"
            f'{_table(headers, rows, "conc")}</section>')


def frontier_section(data: dict[str, Any]) -> str:
    fr = data["frontier"]
    if fr is None:
        return ""
    rows = []
    for s in fr["series"]:
        for x, y in s["points"]:
            rows.append([esc(s["name"]), "–" if x is None else f"{x:,.4g}",
                         "no plan" if y is None else money(y)])
    table = _table([("line", ""), ("limit", "num"), ("total cost, USD m", "num")], rows)
    return ('<section id="frontier"><h2>Cost against the limit</h2>'
            + _chart_box("frontier", "Frontier", "The optimum (USD million) as a limit "
                         "moves; gaps are limits with no feasible plan.", table)
            + "</section>")


def unmet_section(result: Result) -> str:
    u = result.unmet
    if u.empty or "unmet" not in u.columns or not (u["unmet"] > 0).any():
        return ""
    rows = [[esc(r["application"]), esc(r["period"]), gwh(r["demand"]), gwh(r["unmet"]),
             "–" if _num(r.get("penalty")) is None else f"{_num(r.get('penalty')):g}"]
            for r in u[u["unmet"] > 0].to_dict("records")]
    return ('<section id="unmet"><h2>Unmet demand</h2>'
            + _table([("application", ""), ("period", "num"), ("demand, GWh", "num"),
                      ("unmet, GWh", "num"), ("penalty, USD/kWh", "num")], rows)
            + "</section>")


def infeasible_section(result: Result) -> str:
    parts = ['<section id="no-plan"><h2>No plan satisfies every requirement</h2>']
    if result.repairs:
        parts.append("<h3>The smallest change that makes a plan possible</h3>"
                     '<ul class="repairs">')
        parts += [f"<li>{esc(r.get('message', r))}</li>" for r in result.repairs]
        parts.append("</ul>")
        cols = [c for c in ("rule", "demand", "capacity", "period", "application", "group",
                            "limit", "required", "change") if any(c in r for r in result.repairs)]
        rows = [["–" if _missing(r.get(c)) else
                 (f"{_num(r.get(c)):,.6g}" if c in ("limit", "required", "change")
                  and _num(r.get(c)) is not None else esc(r.get(c))) for c in cols]
                for r in result.repairs]
        parts.append(_table([(c, "num" if c in ("limit", "required", "change", "period")
                              else "") for c in cols], rows))
    if result.conflicts:
        parts.append("<h3>Rules that alone stand in the way</h3><p>Dropping any one of these "
                     "restores a plan:</p><ul>")
        parts += [f"<li><code>{esc(c)}</code></li>" for c in result.conflicts]
        parts.append("</ul>")
    if result.iis:
        parts.append("<h3>A smallest set of requirements that cannot all hold</h3><ul>")
        parts += [f"<li>{esc(i)}</li>" for i in result.iis]
        parts.append("</ul>")
    if not (result.repairs or result.conflicts or result.iis):
        parts.append("<p>The solver found no plan, and no repair could be worked out.</p>")
    parts.append("</section>")
    return "".join(parts)


def warnings_section(result: Result) -> str:
    if not result.warnings:
        return ""
    items = "".join(f"<li>{esc(w)}</li>" for w in result.warnings)
    return f'<section id="warnings"><h2>Warnings</h2><ul class="warnings">{items}</ul></section>'


def _footer(result: Result) -> str:
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
    text = "; ".join(bits)
    return (f'<footer>Model: {esc(text) or "–"}. Costs in USD million, discounted to the first '
            "period unless noted. The same numbers are in summary.json and the CSV files "
            "beside this report.</footer>")


# --------------------------------------------------------------------------- page

def render_html(result: Result, frontier: pd.DataFrame | None = None) -> str:
    """The report as one self-contained HTML page.

    ``frontier``: optional cost-versus-limit points as :func:`optimizer.frontier`
    returns them (columns ``limit`` and ``objective``, USD million or NaN where
    no plan exists; optionally ``rule``, and ``rule_2``/``limit_2`` for a grid),
    drawn as a line chart.
    """
    title = f"Battery sourcing plan: {result.instance}"
    body = [f'<header><div><h1>{esc(result.instance)}</h1>'
            f'<p class="sub">Battery cell sourcing plan</p></div>'
            f"{_status_badge(result.status)}</header><main>"]
    if result.has_plan:
        data = report_data(result, frontier)
        body += [headline_cards(result), unmet_section(result), mix_section(data),
                 cost_section(result, data), rules_section(result, data),
                 frontier_section(data), concentration_section(result),
                 warnings_section(result)]
    else:
        data = {"mix": [], "costs": [], "rule_costs": [], "frontier": None}
        if result.status == "infeasible":
            body.append(infeasible_section(result))
        else:
            body.append(f'<section><h2>No plan</h2><p>The solver stopped with status '
                        f'<code>{esc(result.status)}</code> and no plan.</p></section>')
        body.append(warnings_section(result))
    body.append(f"</main>{_footer(result)}")
    return _PAGE.format(
        title=esc(title), css=_CSS, body="".join(body), data=_json_for_script(data), js=_JS,
        noscript='<noscript><p class="noscript">Charts need JavaScript; each has a data '
                 "table below it with the same numbers.</p></noscript>")


_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
{noscript}
{body}
<script type="application/json" id="report-data">{data}</script>
<script>{js}</script>
</body>
</html>
"""

_CSS = """
:root { --ink:#1d2433; --muted:#5b6475; --line:#dde1e8; --bg:#f5f6f8; --card:#fff;
  --accent:#332288; }
* { box-sizing: border-box; }
body { margin:0; background:var(--bg); color:var(--ink);
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; }
header { display:flex; align-items:center; justify-content:space-between; gap:16px;
  padding:22px 32px; background:#1d2433; color:#fff; }
header h1 { margin:0; font-size:22px; font-weight:600; }
header .sub { margin:2px 0 0; color:#b9c0cc; font-size:13px; letter-spacing:.02em; }
main { max-width:1240px; margin:0 auto; padding:24px 32px 8px; }
section { background:var(--card); border:1px solid var(--line); border-radius:10px; overflow-x:auto;
  padding:20px 24px; margin:0 0 22px; }
h2 { margin:0 0 12px; font-size:18px; }
h3 { margin:14px 0 6px; font-size:15px; }
figure h3 { margin-top:0; }
.badge { padding:4px 12px; border-radius:999px; font-size:13px; font-weight:600;
  text-transform:uppercase; letter-spacing:.05em; }
.badge.ok { background:#117733; color:#fff; } .badge.warn { background:#DDCC77; color:#1d2433; }
.badge.bad { background:#882255; color:#fff; }
.cards { display:grid; grid-template-columns:repeat(var(--cols, 4), minmax(0, 1fr)); gap:14px;
  margin:0 0 22px; }
.card { background:var(--card); border:1px solid var(--line); border-left:4px solid var(--accent);
  border-radius:8px; padding:12px 16px; }
.card .label { color:var(--muted); font-size:12px; text-transform:uppercase;
  letter-spacing:.05em; }
.card .value { font-size:21px; font-weight:650; margin:4px 0 2px; line-height:1.2; }
.card .value small { font-size:14px; font-weight:500; color:var(--muted); }
.card .note { color:var(--muted); font-size:12.5px; }
.section-head { display:flex; align-items:center; justify-content:space-between; gap:12px; }
.toggle button { border:1px solid var(--line); background:#fff; padding:4px 12px;
  font:inherit; font-size:13px; cursor:pointer; }
.toggle button:first-child { border-radius:6px 0 0 6px; }
.toggle button:last-child { border-radius:0 6px 6px 0; border-left:0; }
.toggle button[aria-pressed="true"] { background:var(--accent); color:#fff;
  border-color:var(--accent); }
.grid { display:grid; grid-template-columns:repeat(auto-fit, minmax(340px, 1fr)); gap:18px; }
.split { display:grid; grid-template-columns:minmax(0, 3fr) minmax(260px, 2fr); gap:24px;
  align-items:start; }
@media (max-width: 860px) { .split { grid-template-columns:1fr; }
  .cards { grid-template-columns:repeat(2, minmax(0, 1fr)); } }
figure { margin:0; }
.caption { color:var(--muted); font-size:13px; margin:2px 0 8px; }
.chart svg { display:block; width:100%; height:auto; }
.chart text { font-family:inherit; }
.chart .tick { fill:#4a5263; font-size:11.5px; }
.chart .axis line, .chart .axis path { stroke:#8a93a3; }
.chart .axis .grid-line { stroke:#e6e9ee; }
.chart .axis-label { fill:var(--muted); font-size:12px; }
.legend { display:flex; flex-wrap:wrap; gap:4px 14px; margin:6px 0 0; padding:0;
  list-style:none; font-size:12.5px; }
.legend li { display:flex; align-items:center; gap:6px; }
.legend .swatch { width:12px; height:12px; border-radius:2px; display:inline-block; }
details { margin-top:8px; font-size:13px; }
summary { cursor:pointer; color:var(--muted); }
table { border-collapse:collapse; width:100%; font-size:13.5px; }
th, td { padding:5px 10px; border-bottom:1px solid var(--line); text-align:left;
  vertical-align:top; }
th { background:#f0f2f6; font-weight:600; font-size:12.5px; color:#3a4252; }
td.num, th.num { text-align:right; font-variant-numeric:tabular-nums; }
tbody tr:hover { background:#fafbfc; }
.scroll { max-height:520px; overflow:auto; border:1px solid var(--line); border-radius:6px; }
.scroll table th { position:sticky; top:0; }
.muted { color:var(--muted); }
.side-table h3 { margin-top:0; }
.repairs li { margin:4px 0; }
.noscript { background:#fff3cd; padding:8px 32px; margin:0; }
.tip { position:fixed; pointer-events:none; background:#1d2433; color:#fff; font-size:12.5px;
  padding:6px 9px; border-radius:5px; white-space:nowrap; display:none; z-index:10; }
footer { max-width:1240px; margin:0 auto; padding:4px 32px 28px; color:var(--muted);
  font-size:12.5px; }
code { background:#f0f2f6; padding:1px 4px; border-radius:3px; }
@media print { body { background:#fff; } .card, figure, tr { break-inside:avoid; }
  .toggle, details { display:none; } .scroll { max-height:none; overflow:visible; } }
"""

_JS = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var DATA = JSON.parse(document.getElementById("report-data").textContent);
  var fmt1 = new Intl.NumberFormat("en-US", {maximumFractionDigits: 1, minimumFractionDigits: 1});
  var fmt2 = new Intl.NumberFormat("en-US", {maximumFractionDigits: 2});
  var tip = document.createElement("div");
  tip.className = "tip";
  document.body.appendChild(tip);

  function el(name, attrs, parent) {
    var e = document.createElementNS(NS, name);
    for (var k in attrs) { if (attrs[k] !== undefined) e.setAttribute(k, attrs[k]); }
    if (parent) parent.appendChild(e);
    return e;
  }
  function text(parent, x, y, s, attrs) {
    var a = attrs || {};
    a.x = x; a.y = y;
    var t = el("text", a, parent);
    t.textContent = s;
    return t;
  }
  function hover(node, label) {
    var t = document.createElementNS(NS, "title");
    t.textContent = label;
    node.appendChild(t);
    node.addEventListener("mousemove", function (ev) {
      tip.textContent = label; tip.style.display = "block";
      tip.style.left = (ev.clientX + 14) + "px"; tip.style.top = (ev.clientY + 10) + "px";
    });
    node.addEventListener("mouseleave", function () { tip.style.display = "none"; });
  }
  function niceTicks(max, count) {
    if (!(max > 0)) { return [0, 1]; }
    var raw = max / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10], step = mag;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) { step = steps[i] * mag; break; }
    }
    var ticks = [];
    for (var v = 0; v <= max + step * 1e-9; v += step) { ticks.push(v); }
    if (ticks[ticks.length - 1] < max - step * 1e-9) { ticks.push(ticks[ticks.length - 1] + step); }
    return ticks;
  }
  function textColour(hex) {
    var r = parseInt(hex.substr(1, 2), 16), g = parseInt(hex.substr(3, 2), 16),
        b = parseInt(hex.substr(5, 2), 16);
    return (0.299 * r + 0.587 * g + 0.114 * b) > 150 ? "#1d2433" : "#ffffff";
  }
  function legend(box, items) {
    var ul = document.createElement("ul");
    ul.className = "legend";
    items.forEach(function (it) {
      var li = document.createElement("li");
      var sw = document.createElement("span");
      sw.className = "swatch"; sw.style.background = it.colour;
      li.appendChild(sw);
      li.appendChild(document.createTextNode(it.name));
      ul.appendChild(li);
    });
    box.appendChild(ul);
  }
  function clear(box) { while (box.firstChild) { box.removeChild(box.firstChild); } }
  function width(box) { return Math.max(300, Math.round(box.clientWidth || 560)); }

  function stackedBars(box, d, mode) {
    clear(box);
    var W = width(box), H = 290, m = {l: 58, r: 8, t: 20, b: 44};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, n = d.periods.length;
    var totals = d.periods.map(function (_, i) {
      return d.series.reduce(function (s, se) { return s + se.values[i]; }, 0);
    });
    var share = mode === "share";
    var ymax = share ? 1 : Math.max.apply(null, totals.concat([0]));
    var ticks = share ? [0, 0.25, 0.5, 0.75, 1] : niceTicks(ymax, 5);
    var top = ticks[ticks.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var y = function (v) { return m.t + ih - ih * v / top; };
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (t) {
      el("line", {x1: m.l, x2: m.l + iw, y1: y(t), y2: y(t), "class": "grid-line"}, g);
      text(g, m.l - 6, y(t) + 4, share ? Math.round(t * 100) + "%" : fmt2.format(t),
           {"text-anchor": "end", "class": "tick"});
    });
    el("line", {x1: m.l, x2: m.l + iw, y1: y(0), y2: y(0)}, g);
    text(svg, 14, m.t + ih / 2, share ? "Share of GWh bought" : "GWh bought",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, "Period", {"class": "axis-label", "text-anchor": "middle"});
    var slot = iw / Math.max(n, 1), bw = Math.min(70, slot * 0.64);
    var bars = 0, segs = 0;
    d.periods.forEach(function (p, i) {
      var x = m.l + slot * i + (slot - bw) / 2, acc = 0;
      var bar = el("g", {"class": "bar", "data-period": p}, svg);
      bars += 1;
      d.series.forEach(function (s) {
        var v = s.values[i];
        if (!(v > 0)) { return; }
        var val = share ? v / totals[i] : v;
        var y0 = y(acc), y1 = y(acc + val);
        var r = el("rect", {x: x, y: y1, width: bw, height: Math.max(0, y0 - y1),
                            fill: s.colour, "class": "seg", "data-group": s.name}, bar);
        hover(r, s.name + ", " + p + ": " + fmt2.format(v) + " GWh (" +
              fmt1.format(100 * v / totals[i]) + "%)");
        if (y0 - y1 >= 15 && bw >= 30) {
          text(bar, x + bw / 2, (y0 + y1) / 2 + 4, Math.round(100 * v / totals[i]) + "%",
               {"text-anchor": "middle", "font-size": 10.5, "pointer-events": "none",
                style: "fill:" + textColour(s.colour)});
        }
        acc += val; segs += 1;
      });
      text(svg, x + bw / 2, y(0) + 16, String(p), {"text-anchor": "middle", "class": "tick"});
      if (!share) {
        text(svg, x + bw / 2, y(acc) - 5, fmt2.format(totals[i]),
             {"text-anchor": "middle", "font-size": 11, "class": "axis-label"});
      }
    });
    legend(box, d.series);
    box.setAttribute("data-bars", bars);
    box.setAttribute("data-segments", segs);
  }

  function hbars(box, items, opts) {
    clear(box);
    var W = width(box), row = 34, m = {l: 60, r: 130, t: 8, b: 38};
    // the left margin fits the longest label, measured in the page's own font
    var probe = el("svg", {width: 10, height: 10}, box);
    items.forEach(function (it) {
      var t = text(probe, 0, 0, it.label, {"font-size": 13});
      m.l = Math.max(m.l, Math.ceil(t.getComputedTextLength()) + 18);
    });
    box.removeChild(probe);
    m.l = Math.min(m.l, Math.round(W * 0.45));
    var H = m.t + m.b + row * items.length, iw = W - m.l - m.r;
    var vals = items.map(function (it) { return it.value || 0; });
    var ticks = niceTicks(Math.max.apply(null, vals.concat([0])), 4);
    var top = ticks[ticks.length - 1] || 1;
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var x = function (v) { return m.l + iw * v / top; };
    var g = el("g", {"class": "axis"}, svg);
    ticks.forEach(function (t) {
      el("line", {x1: x(t), x2: x(t), y1: m.t, y2: H - m.b, "class": "grid-line"}, g);
      text(g, x(t), H - m.b + 15, fmt2.format(t), {"text-anchor": "middle", "class": "tick"});
    });
    text(svg, m.l + iw / 2, H - 4, opts.axis, {"class": "axis-label", "text-anchor": "middle"});
    var nbars = 0;
    items.forEach(function (it, i) {
      var yy = m.t + row * i + 6, v = it.value;
      text(svg, m.l - 8, yy + 15, it.label, {"text-anchor": "end", "font-size": 13});
      var bar = el("rect", {x: m.l, y: yy, width: Math.max(v > 0 ? 1.5 : 0, x(v || 0) - m.l),
                            height: row - 12, fill: it.colour || "#332288", "class": "hbar",
                            "data-label": it.label}, svg);
      hover(bar, it.label + ": " + it.note);
      text(svg, x(v || 0) + 6, yy + 15, it.note, {"font-size": 12, "class": "axis-label"});
      nbars += 1;
    });
    el("line", {x1: m.l, x2: m.l, y1: m.t, y2: H - m.b, stroke: "#8a93a3"}, svg);
    box.setAttribute("data-bars", nbars);
  }

  function niceRange(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + (Math.abs(lo) || 1); }
    var raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 2.5, 5, 10], step = mag * 10;
    for (var i = 0; i < steps.length; i++) {
      if (steps[i] * mag >= raw) { step = steps[i] * mag; break; }
    }
    var ticks = [], start = Math.floor(lo / step + 1e-9) * step;
    for (var v = start; v <= hi + step * (1 - 1e-9); v += step) {
      ticks.push(Math.round(v / step) * step);
      if (v >= hi - step * 1e-9) { break; }
    }
    return ticks;
  }

  function lines(box, fr) {
    clear(box);
    var W = width(box), H = 320, m = {l: 84, r: 20, t: 16, b: 48};
    var iw = W - m.l - m.r, ih = H - m.t - m.b, xs = [], ys = [];
    fr.series.forEach(function (s) {
      s.points.forEach(function (p) {
        if (p[0] !== null) { xs.push(p[0]); }
        if (p[1] !== null) { ys.push(p[1]); }
      });
    });
    if (!ys.length) {
      var empty = el("svg", {viewBox: "0 0 " + W + " 60", "aria-hidden": "true"}, box);
      text(empty, 10, 34, "No limit in the sweep has a plan.", {"class": "axis-label"});
      box.setAttribute("data-points", 0);
      return;
    }
    var xt = niceRange(Math.min.apply(null, xs), Math.max.apply(null, xs), 6);
    var yt = niceRange(Math.min.apply(null, ys), Math.max.apply(null, ys), 5);
    var x0 = xt[0], x1 = xt[xt.length - 1], y0 = yt[0], y1 = yt[yt.length - 1];
    var svg = el("svg", {viewBox: "0 0 " + W + " " + H, "aria-hidden": "true"}, box);
    var X = function (v) { return m.l + iw * (v - x0) / (x1 - x0); };
    var Y = function (v) { return m.t + ih - ih * (v - y0) / (y1 - y0); };
    var xfmt = function (v) { return fr.x_share ? Math.round(100 * v) + "%" : fmt2.format(v); };
    var g = el("g", {"class": "axis"}, svg);
    yt.forEach(function (v) {
      el("line", {x1: m.l, x2: m.l + iw, y1: Y(v), y2: Y(v), "class": "grid-line"}, g);
      text(g, m.l - 6, Y(v) + 4, fmt2.format(v), {"text-anchor": "end", "class": "tick"});
    });
    xt.forEach(function (v) {
      el("line", {x1: X(v), x2: X(v), y1: m.t, y2: m.t + ih, "class": "grid-line"}, g);
      text(g, X(v), m.t + ih + 16, xfmt(v), {"text-anchor": "middle", "class": "tick"});
    });
    el("line", {x1: m.l, x2: m.l + iw, y1: m.t + ih, y2: m.t + ih}, g);
    text(svg, 14, m.t + ih / 2, "Total cost, USD million",
         {"class": "axis-label", "text-anchor": "middle",
          transform: "rotate(-90 14 " + (m.t + ih / 2) + ")"});
    text(svg, m.l + iw / 2, H - 6, fr.x_label, {"class": "axis-label", "text-anchor": "middle"});
    var npts = 0;
    fr.series.forEach(function (s) {
      var dpath = "", pen = false;
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { pen = false; return; }
        dpath += (pen ? "L" : "M") + X(p[0]).toFixed(2) + "," + Y(p[1]).toFixed(2);
        pen = true;
      });
      el("path", {d: dpath, fill: "none", stroke: s.colour, "stroke-width": 2.2}, svg);
      s.points.forEach(function (p) {
        if (p[0] === null || p[1] === null) { return; }
        var c = el("circle", {cx: X(p[0]), cy: Y(p[1]), r: 4, fill: s.colour,
                              "class": "point"}, svg);
        hover(c, s.name + ": limit " + xfmt(p[0]) + ", USD " + fmt1.format(p[1]) + " m");
        npts += 1;
      });
    });
    legend(box, fr.series);
    box.setAttribute("data-points", npts);
  }

  function draw(box, fn) {
    try {
      fn();
      box.setAttribute("data-rendered", "true");
    } catch (e) {
      box.setAttribute("data-rendered", "error");
      console.error("chart " + box.getAttribute("data-chart") + " failed: " + e);
    }
  }
  function chart(name) { return document.querySelector('[data-chart="' + name + '"]'); }

  var mode = "gwh";
  function drawMix() {
    DATA.mix.forEach(function (d) {
      var box = chart("mix-" + d.id);
      if (box) { draw(box, function () { stackedBars(box, d, mode); }); }
    });
  }
  function drawAll() {
    drawMix();
    var costBox = chart("costs");
    if (costBox) {
      draw(costBox, function () {
        hbars(costBox, DATA.costs.map(function (c, i) {
          return {label: c.label, value: c.value,
                  colour: ["#332288", "#88CCEE", "#44AA99", "#117733", "#DDCC77", "#CC6677"][i % 6],
                  note: fmt1.format(c.value) + " (" +
                        (c.share === null ? "–" : fmt1.format(100 * c.share) + "%") + ")"};
        }), {axis: "USD million, discounted"});
      });
    }
    var ruleBox = chart("rule-costs");
    if (ruleBox) {
      draw(ruleBox, function () {
        hbars(ruleBox, DATA.rule_costs.map(function (r) {
          return {label: r.rule, value: r.cost === null ? 0 : Math.max(0, r.cost),
                  colour: r.cost > 0 ? "#CC6677" : "#BBBBBB",
                  note: r.cost === null ? "not computed" :
                        (r.cost > 0 ? fmt2.format(r.cost) : "0 (slack)")};
        }), {axis: "USD million: optimum with the rule minus without it"});
      });
    }
    var frBox = chart("frontier");
    if (frBox && DATA.frontier) {
      draw(frBox, function () { lines(frBox, DATA.frontier); });
    }
  }
  drawAll();
  document.querySelectorAll(".toggle button").forEach(function (b) {
    b.addEventListener("click", function () {
      mode = b.getAttribute("data-mode");
      document.querySelectorAll(".toggle button").forEach(function (o) {
        o.setAttribute("aria-pressed", String(o === b));
      });
      drawMix();
    });
  });
  var lastWidth = window.innerWidth, pending = null;
  window.addEventListener("resize", function () {
    if (window.innerWidth === lastWidth) { return; }
    lastWidth = window.innerWidth;
    clearTimeout(pending);
    pending = setTimeout(drawAll, 150);
  });
  document.body.setAttribute("data-report-ready", "true");
})();
"""
