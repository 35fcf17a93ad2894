"""Terminal report of a result (rich renderables; the CLI prints them)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from optimizer.labels import (
    COST_ALWAYS,
    COST_LABELS,
    grouping_label,
    lines_of,
    marginal_cost,
    money,
    number,
    pct,
    rule_value_short,
    sig,
)
from optimizer.results import Result

#: a missing number in the terminal's tables
NA = "-"


def _row(table: Table, *cells: Any, **kw: Any) -> None:
    """A table row whose text is shown as written: a name such as ``[/]LGES``
    is data, not rich markup."""
    table.add_row(*(Text(c) if isinstance(c, str) else c for c in cells), **kw)


def headline(result: Result, width: int | None = None, brief: bool = False) -> Text:
    """The instance, the status and the cost, the model's size and the time
    taken; ``width``: the timings on a line of their own when the model's line
    would be longer; ``brief``: the model's size without its nonzeros."""
    status = result.status
    style = "bold green" if status == "optimal" else "bold yellow" if status == "time_limit" \
        else "bold red"
    lines = Text()
    lines.append(f"{result.instance}\n", style="bold")
    lines.append("status: ")
    lines.append(status, style=style)
    if result.objective is not None:
        lines.append(f"   total cost: USD {money(result.objective)} million (discounted)")
    size = result.model_size
    if size:
        lines.append(
            f"\nmodel: {size.get('variables', 0):,} variables, "
            f"{size.get('constraints', 0):,} constraints"
            + ("" if brief else f", {size.get('nonzeros', 0):,} nonzeros")
        )
        if size.get("binaries"):
            lines.append(f", {size['binaries']:,} binaries")
    t = result.timings
    if "solve" in t:
        total = sum(v for k, v in t.items() if k != "total_solve_step")
        times = f"HiGHS: {t['solve']:.2f} s   whole run: {total:.2f} s"
        last = lines.plain.rsplit("\n", 1)[-1]
        fits = width is None or len(last) + 3 + len(times) <= width
        lines.append(("   " if fits else "\n") + times)
    if result.solver.get("mip_gap") is not None:
        bound, gap = result.solver["best_bound"], result.solver["mip_gap"]
        lines.append(f"\nbest bound: {number(bound, 4)}   gap: {gap:.2e}")
    return lines


def cost_table(result: Result) -> Table:
    table = Table(title="Cost breakdown (USD million, discounted)", title_justify="left")
    table.add_column("component")
    table.add_column("USD million", justify="right")
    table.add_column("share", justify="right")
    total = result.cost_breakdown.get("total", 0.0) or 0.0
    for key, label in COST_LABELS.items():
        v = result.cost_breakdown.get(key, 0.0)
        if v == 0 and key not in COST_ALWAYS:
            continue
        _row(table, label, money(v), pct(v / total) if total else "")
    _row(table, "total", money(total), "100.0%" if total else "", style="bold")
    return table


def mix_table(result: Result, by: str, title: str | None = None, top: int = 12,
              width: int | None = None) -> Table:
    """Share of purchases per period, one row per group (title: "Mix by" the
    grouping). ``width``: show only as many periods as fit in that many
    columns (the first, the last and evenly spaced ones between)."""
    shares = result.shares
    table = Table(title=title or f"Mix by {grouping_label(by)}", title_justify="left")
    table.add_column(by, overflow="fold")
    sub = shares[shares["by"] == by] if not shares.empty else shares
    periods = sorted(sub["period"].unique()) if not sub.empty else []
    totals = result.allocation.groupby("period")["gwh"].sum() if not result.allocation.empty \
        else pd.Series(dtype=float)
    if width is not None and periods:
        names = [str(g) for g in sub["group"].unique()] + ["total GWh"]
        cell = max([6] + [len(number(v)) for v in totals])
        fitted = fit_periods(periods, width, min(max(len(n) for n in names), 24), cell)
        if len(fitted) < len(periods):
            table.caption = (f"{len(fitted)} of {len(periods)} years shown; every year in "
                             "shares.csv and with --verbose")
        periods = fitted
    for t in periods:
        table.add_column(str(t), justify="right")
    if sub.empty:
        return table
    pivot = sub.pivot_table(index="group", columns="period", values="share", aggfunc="sum",
                            fill_value=0.0)
    pivot = pivot.loc[pivot.sum(axis=1).sort_values(ascending=False).index]
    if len(pivot) == top + 1:  # a row "1 others" would say less than the group itself
        top += 1
    shown = pivot.iloc[:top]
    for group, row in shown.iterrows():
        _row(table, str(group), *[pct(row.get(t, 0.0)) if row.get(t, 0.0) > 0
                                    else NA for t in periods])
    if len(pivot) > top:
        rest = pivot.iloc[top:].sum()
        _row(table, f"{len(pivot) - top} others", *[pct(rest.get(t, 0.0))
                                                      if rest.get(t, 0.0) > 0 else NA
                                                      for t in periods], style="dim")
    _row(table, "total GWh", *[number(totals.get(t, 0.0)) for t in periods], style="bold")
    return table


def rules_table(result: Result, only_binding: bool = True, limit: int = 30,
                width: int | None = None) -> Table:
    """The rule scopes (binding ones, or all) with their value, limit and
    costs. Narrower than :data:`NARROW` columns, a scope's group and
    application share one column, so that every column keeps its words."""
    df = result.rules
    title = "Binding rules" if only_binding else "Rules"
    narrow = width is not None and width < NARROW
    about = ("USD million: marginal per point tightened, total without the scope" if narrow
             else "marginal cost: USD million per point tightened")
    table = Table(title=f"{title} ({about})", title_justify="left")
    # names are wrapped at a "; " or folded, never cut short; numbers never wrap
    name_column(table, "rule", [str(r) for r in df["rule"]] if not df.empty else [])
    table.add_column("period", justify="right", no_wrap=True)
    if narrow:
        table.add_column("group (application)", overflow="fold")
    else:
        table.add_column("application", overflow="fold")
        table.add_column("group", overflow="fold")
    for col in ("value", "limit"):
        table.add_column(col, justify="right", no_wrap=True)
    # narrow: "marginal" and "total" (the title says of what), never wrapped
    table.add_column("marginal" if narrow else "marginal cost", justify="right",
                     no_wrap=narrow)
    if "total_cost" in df.columns:
        table.add_column("total" if narrow else "total cost", justify="right", no_wrap=narrow)
    if df.empty:
        return table
    if only_binding:
        cost = df["marginal_cost"].abs().fillna(0) if "marginal_cost" in df.columns else 0
        if "total_cost" in df.columns:
            cost = cost + df["total_cost"].abs().fillna(0)
        sub = df[df["binding"] & ((cost > 1e-9) | (df["kind"] != "exclude"))]
    else:
        sub = df
    if "marginal_cost" in sub.columns:
        sub = sub.assign(_mc=sub["marginal_cost"].abs().fillna(0)).sort_values(
            ["_mc", "rule", "period"], ascending=[False, True, True], kind="stable")
    for row in sub.head(limit).itertuples(index=False):
        unit = str(row.unit)
        group, app = scope_group(row), ids(row.application)
        where = [f"{group} ({app})" if group else app] if narrow else [app, group]
        cells = [
            str(row.rule), str(row.period), *where,
            rule_value_short(row.value, unit, NA), rule_value_short(row.limit, unit, NA),
            marginal_cost(getattr(row, "marginal_cost", None), NA),
        ]
        if "total_cost" in df.columns:
            cells.append(money(getattr(row, "total_cost", None), 2, NA))
        _row(table, *cells)
    if len(sub) > limit:
        table.caption = f"{len(sub) - limit} more in rules.csv"
    return table


def rule_summary_table(result: Result) -> Table | None:
    df = result.rule_summary
    if df.empty:
        return None
    po = result.price_of_rules
    title = "What each rule costs (USD million: optimum without the rule, minus with it)"
    table = Table(title=title, title_justify="left")
    for col, just in (("rule", "left"), ("kind", "left"), ("binding scopes", "right"),
                      ("total cost", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in df.sort_values("total_cost", ascending=False, na_position="last").itertuples():
        _row(table, str(row.rule), str(row.kind), str(row.binding_scopes),
                      money(row.total_cost, 2, NA))
    if po.get("cost_of_rules") is not None:
        _row(table, "all rules together", "", "", money(po["cost_of_rules"], 2),
                      style="bold")
    return table


def _percent(v: Any) -> str:
    """A percentage (a number already in %): one decimal, two significant
    digits below 0.1%."""
    f = float(v or 0)
    return f"{sig(f, 2)}%" if 0 < abs(f) < 0.1 else f"{f:.1f}%"


def price_of_rules_line(result: Result, width: int | None = None) -> Text | None:
    po = result.price_of_rules
    if po.get("cost_of_rules") is None:
        return None
    parts = ["The cheapest plan with no rules at all costs", "USD",
             f"{money(po['objective_no_rules'])} million;", "the rules add",
             f"{money(po['cost_of_rules'])} million",
             f"({_percent(po.get('cost_of_rules_pct', 0))})."]
    return Text(" ".join(parts) if width is None else lines_of(parts, width, " "))


def concentration_table(result: Result) -> Table | None:
    df = result.concentration
    if df.empty:
        return None
    table = Table(title="Concentration: HHI (0-10,000) and top-1 / top-3 shares, "
                        "plan vs. no rules", title_justify="left")
    for col, just in (("period", "right"), ("by", "left"), ("HHI", "right"),
                      ("HHI no rules", "right"), ("top-1", "left"), ("top-1 no rules", "left"),
                      ("top-3", "right"), ("top-3 no rules", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for row in df.itertuples(index=False):
        _row(table, str(row.period), str(row.by), number(row.hhi, 0, NA),
                      number(row.hhi_no_rules, 0, NA),
                      f"{row.top1_group} {pct(row.top1_share, missing=NA)}",
                      f"{row.top1_group_no_rules} {pct(row.top1_share_no_rules, missing=NA)}",
                      pct(row.top3_share, missing=NA), pct(row.top3_share_no_rules, missing=NA))
    return table


def unmet_table(result: Result, top: int | None = None) -> Table | None:
    df = result.unmet
    if df.empty or not (df["unmet"] > 0).any():
        return None
    if top is not None:
        df = df[df["unmet"] > 0].sort_values("unmet", ascending=False, kind="stable").head(top)
    table = Table(title="Unmet demand", title_justify="left")
    for col in ("application", "period", "demand GWh", "unmet GWh", "penalty USD/kWh"):
        table.add_column(col, justify="right" if "GWh" in col or "USD" in col else "left")
    for row in df[df["unmet"] > 0].itertuples(index=False):
        _row(table, str(row.application), str(row.period), number(row.demand, 2),
                      number(row.unmet, 2), sig(row.penalty, 6))
    return table


def usage_view(result: Result) -> Table | None:
    """Which suppliers deliver in each period (shown when some have fixed costs,
    minimum orders or tiers, i.e. when being used is a decision of its own)."""
    usage = result.usage
    if usage.empty or not (usage["fixed_cost"].gt(0).any() or result.solver.get("mip")):
        return None
    table = Table(title="Suppliers used (GWh; * = fixed cost charged)", title_justify="left")
    table.add_column("supplier")
    periods = sorted(usage["period"].unique())
    for t in periods:
        table.add_column(str(t), justify="right")
    pivot = usage.pivot_table(index="supplier", columns="period", values="gwh", aggfunc="sum")
    fixed = usage.pivot_table(index="supplier", columns="period", values="fixed_cost",
                              aggfunc="sum")
    for sup in pivot.index:
        if not (pivot.loc[sup] > 0).any():
            continue
        cells = []
        for t in periods:
            v = pivot.loc[sup].get(t, np.nan)
            star = "*" if fixed.loc[sup].get(t, 0) > 0 else ""
            cells.append(NA if not v or np.isnan(v) else f"{number(v, 2)}{star}")
        _row(table, str(sup), *cells)
    return table


def conflicts_view(result: Result, limit: int | None = None) -> RenderableType:
    """Why there is no plan; ``limit``: list at most that many repairs and
    requirements (the rest are counted)."""
    text = Text()
    text.append("No plan satisfies every requirement.\n", style="bold red")

    def items(lines: list[str], where: str) -> None:
        shown = lines if limit is None else lines[:limit]
        for line in shown:
            text.append(f"  - {line}\n")
        if len(lines) > len(shown):
            text.append(f"  ... and {len(lines) - len(shown)} more ({where})\n")

    if result.repairs:
        text.append("The smallest change that makes a plan possible:\n", style="bold")
        items([str(r["message"]) for r in result.repairs], "repairs in summary.json")
    if result.conflicts:
        names = ", ".join(result.conflicts)
        text.append(f"Rules that alone stand in the way (dropping any one of them restores "
                    f"a plan): {names}\n")
    if result.iis:
        text.append("A smallest set of requirements that cannot all hold:\n", style="bold")
        items([str(i) for i in result.iis], "all with --verbose")
    return text


def solve_report(result: Result, all_rules: bool = False,
                 width: int | None = None) -> Iterator[RenderableType]:
    yield headline(result)
    if result.status == "infeasible":
        yield conflicts_view(result)
    if result.allocation.empty and result.status not in ("optimal", "time_limit"):
        return
    yield cost_table(result)
    yield mix_table(result, "control",
                    f"Mix by {grouping_label('control')} (share of GWh bought)")
    yield mix_table(result, "company")
    yield mix_table(result, "family")
    unmet = unmet_table(result)
    if unmet is not None:
        yield unmet
    used = usage_view(result)
    if used is not None:
        yield used
    from optimizer.report.terminal_building import contracts_view, expansions_view, worth_view

    for view in (expansions_view(result), contracts_view(result), worth_view(result)):
        if view is not None:
            yield view
    yield rules_table(result, only_binding=not all_rules, limit=10_000 if all_rules else 30,
                      width=width)
    for extra in (rule_summary_table(result), price_of_rules_line(result),
                  concentration_table(result)):
        if extra is not None:
            yield extra
    for w in result.warnings:
        yield Text(w, style="yellow")


# --------------------------------------------------------------------------- narrow consoles
#: a rule name up to this long is never wrapped in a table of rules
LONG_NAME = 24
#: the rules table of a narrower console puts group and application in one column
NARROW = 110


def scope_group(row: Any) -> str:
    """A rule scope's group as the tables show it; a ``max_change`` scope says
    which way it limits (``CN rise``: the rise from the year before)."""
    group = ids(row.group)
    direction = getattr(row, "direction", None)
    if isinstance(direction, str) and direction:
        return f"{group} {direction}".strip()
    return group


def ids(text: Any) -> str:
    """A list of ids as people read it: ``grid_storage;long_duration`` ->
    ``grid_storage; long_duration`` (a narrow column wraps after each)."""
    return str(text).replace(";", "; ")


def fit_periods(periods: list[Any], width: int, first: int, cell: int = 6) -> list[Any]:
    """The periods a table of ``width`` columns has room for: all of them, or
    the first, the last and evenly spaced ones between. ``first`` is the
    width of the first column, ``cell`` that of a period's numbers."""
    room = max(2, (width - first - 4) // (cell + 3))  # a cell's padding and border
    if len(periods) <= room:
        return list(periods)
    picks = np.linspace(0, len(periods) - 1, room).round().astype(int)
    return [periods[i] for i in sorted(set(picks.tolist()))]


def name_column(table: Table, header: str, names: list[str]) -> None:
    """A column of names: never wrapped when they are short enough to fit,
    folded (never cut) when one is longer."""
    longest = max((len(n) for n in names), default=0)
    if longest <= LONG_NAME:
        table.add_column(header, no_wrap=True)
    else:
        table.add_column(header, overflow="fold")


def where_files_are(out: str | None, written: list[str], verbose: bool,
                    width: int = 80) -> Text:
    """The closing line: where the full report is, or how to get it."""
    if out is None:
        parts = ["--out DIR writes report.html, results.xlsx", "and CSV files",
                 "(allocation, shares, rules, ...)"]
    elif "report.html" in written:
        parts = [f"full report: {Path(out) / 'report.html'}"]
    else:
        parts = [f"files in {out}"]
    if not verbose:
        parts[-1] += ";"
        parts.append("every table here: --verbose")
    return Text(lines_of(parts, width, " "))


def titled(item: RenderableType) -> RenderableType:
    """A table's title on its own line: rich would wrap it to the table's width."""
    if isinstance(item, Table) and item.title:
        title = Text(str(item.title), style="bold")
        item.title = None
        return Group(title, item)
    return item


def render(result: Result) -> Group:
    return Group(*(titled(i) for i in solve_report(result)))
