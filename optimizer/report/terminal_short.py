"""The one screen ``optimizer solve`` prints by default (``--verbose``:
:func:`optimizer.report.terminal.solve_report`, every table).

At most :data:`SCREEN_LINES` lines of the console's width, what
``optimizer solve`` prints after it included: the headline and the cost, the
mix by controlling country, the rules that cost the most and where the limits
bind hardest, what the rules add in all, the concentration by controlling
country. Lists that would not fit are cut shorter, step by step
(:data:`SHORT_SIZES`), each with a count of what is left out.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd
from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from optimizer.labels import (
    COST_ALWAYS,
    COST_LABELS,
    grouping_label,
    marginal_cost,
    money,
    number,
    pct,
    rule_value,
)
from optimizer.report.terminal import (
    NA,
    _row,
    conflicts_view,
    headline,
    ids,
    lines_of,
    mix_table,
    name_column,
    price_of_rules_line,
    scope_group,
    titled,
    unmet_table,
)
from optimizer.report.terminal_building import building_line
from optimizer.results import Result

#: the lines of one screen: the short view, with what ``optimizer solve``
#: prints after it, fits in this many
SCREEN_LINES = 60
#: lines the short view leaves for what ``optimizer solve`` prints after it
#: (the files written, a note on skipped analyses, where the files are)
AFTER_REPORT = 7


@dataclass(frozen=True)
class Sizes:
    """How much the short view lists at most: groups of the mix, rules,
    binding scopes, lines of any other list; and whether it has the
    concentration line."""

    mix: int = 6
    rules: int = 5
    scopes: int = 6
    lists: int = 6
    concentration: bool = True


#: the short view's sizes, tried in turn until the report fits its lines
SHORT_SIZES = (Sizes(), Sizes(6, 4, 5, 5), Sizes(5, 4, 4, 4), Sizes(4, 3, 3, 3),
               Sizes(3, 3, 2, 2, False), Sizes(2, 2, 1, 1, False))
#: a cost (USD million) or a marginal cost smaller than this is nothing
NOTHING = 1e-9


def cost_line(result: Result, width: int = 80) -> Text:
    """The cost breakdown in a sentence (components that are not zero)."""
    total = result.cost_breakdown.get("total", 0.0) or 0.0
    parts = []
    for key, label in COST_LABELS.items():
        v = result.cost_breakdown.get(key, 0.0) or 0.0
        if v == 0 and key not in COST_ALWAYS:
            continue
        share = f" ({pct(v / total)})" if total else ""
        parts.append(f"{label} {money(v)}{share}")
    parts[0] = "of which " + parts[0]
    return Text(lines_of(parts, width))


def rule_cost_table(result: Result, top: int = Sizes.rules) -> Table | None:
    """The rules that cost something, the costliest first: each one's total
    cost (the optimum without it, minus with it) and its limit."""
    df = result.rule_summary
    if df.empty or "total_cost" not in df.columns:
        return None
    cost = pd.to_numeric(df["total_cost"], errors="coerce")
    sub = df[cost.abs() > NOTHING].sort_values("total_cost", ascending=False)
    if sub.empty:
        return None
    table = Table(title="The rules that cost the most (USD million saved by dropping each)",
                  title_justify="left")
    name_column(table, "rule", [str(r) for r in sub["rule"]])
    table.add_column("kind", no_wrap=True)
    table.add_column("limit", justify="right", overflow="fold")
    table.add_column("binding scopes", justify="right")
    table.add_column("total cost", justify="right", no_wrap=True)
    rules = result.rules
    for row in sub.head(top).itertuples(index=False):
        scopes = rules[rules["rule"] == row.rule] if not rules.empty else rules
        limits = {rule_value(r.limit, str(r.unit), NA)
                  for r in scopes.itertuples(index=False) if row.kind != "exclude"}
        _row(table, str(row.rule), str(row.kind), limits.pop() if len(limits) == 1
             else "varies" if limits else NA, str(row.binding_scopes),
             money(row.total_cost, 2, NA))
    po = result.price_of_rules
    if po.get("cost_of_rules") is not None:
        _row(table, "all rules together", "", "", "", money(po["cost_of_rules"], 2),
             style="bold")
    others = len(sub) - min(top, len(sub))
    if others:
        table.caption = (f"{others} more rule{'s cost' if others > 1 else ' costs'} "
                         "something: --verbose")
    return table


def binding_costs_table(result: Result, top: int = Sizes.scopes) -> Table | None:
    """The binding rule scopes with the highest marginal cost (those whose
    marginal and total cost are both zero are left out)."""
    df = result.rules
    if df.empty or "marginal_cost" not in df.columns:
        return None
    mc = pd.to_numeric(df["marginal_cost"], errors="coerce").abs().fillna(0)
    tc = pd.to_numeric(df["total_cost"], errors="coerce").abs().fillna(0) \
        if "total_cost" in df.columns else pd.Series(0.0, index=df.index)
    keep = df["binding"].astype(bool) & ((mc > NOTHING) | (tc > NOTHING))
    sub = df[keep].assign(_mc=mc[keep], _tc=tc[keep]).sort_values(
        ["_mc", "_tc", "rule", "period"], ascending=[False, False, True, True], kind="stable")
    if sub.empty:
        return None
    table = Table(title="Where the limits bind hardest (marginal: USD million per point or "
                        "GWh tighter)", title_justify="left")
    name_column(table, "rule", [str(r) for r in sub["rule"].head(top)])
    table.add_column("year", justify="right", no_wrap=True)
    table.add_column("group (application)", overflow="fold")
    table.add_column("limit", justify="right", overflow="fold")
    table.add_column("marginal", justify="right", no_wrap=True)
    for row in sub.head(top).itertuples(index=False):
        group, app = scope_group(row), ids(row.application)
        limit = "excluded" if row.kind == "exclude" else rule_value(row.limit, str(row.unit), NA)
        _row(table, str(row.rule), str(row.period), f"{group} ({app})" if group else app,
             limit, marginal_cost(row.marginal_cost, NA))
    others = len(sub) - min(top, len(sub))
    if others:
        table.caption = f"{others} more binding in rules.csv and with --verbose"
    return table


def concentration_line(result: Result, by: str = "control", width: int = 80) -> Text | None:
    """The last year's concentration by ``by``, against the plan with no rules."""
    df = result.concentration
    if df.empty:
        return None
    sub = df[df["by"] == by]
    if sub.empty:
        return None
    row = sub.sort_values("period").iloc[-1]
    parts = [f"Concentration by {grouping_label(by)} in {row['period']}:",
             f"HHI {number(row['hhi'], 0, NA)} of 10,000",
             f"(no rules: {number(row['hhi_no_rules'], 0, NA)});",
             f"largest {row['top1_group']} {pct(row['top1_share'], missing=NA)}",
             f"(no rules: {row['top1_group_no_rules']} "
             f"{pct(row['top1_share_no_rules'], missing=NA)})."]
    return Text(lines_of(parts, width, " "))


def upstream_line(result: Result, width: int = 80) -> Text | None:
    """The last year's largest origin country of each material and stage
    (instances with upstream tables; :attr:`Result.materials`)."""
    df = result.materials
    if df is None or df.empty:
        return None
    last = df[df["period"] == df["period"].max()]
    top = last.sort_values("kt", ascending=False, kind="stable") \
        .drop_duplicates(["material", "stage"])
    order = {m: i for i, m in enumerate(dict.fromkeys(df["material"]))}
    top = top.sort_values(["material", "stage"], key=lambda c: c.map(order) if c.name ==
                          "material" else c, kind="stable")
    parts = [f"Upstream in {last['period'].iloc[0]}, largest origin of each material:"]
    items = [f"{r.material} {str(r.stage).replace('_', ' ')} {r.country} "
             f"{pct(r.share, missing=NA)}" for r in top.itertuples(index=False)]
    parts += [f"{text}{',' if i < len(items) - 1 else '.'}" for i, text in enumerate(items)]
    return Text(lines_of(parts, width, " "))


def _short_items(result: Result, width: int, sizes: Sizes) -> list[RenderableType]:
    head = headline(result, width, brief=True)
    if result.has_plan:
        head.append("\n")
        head.append_text(cost_line(result, width))
    items: list[RenderableType] = [head]
    if result.status == "infeasible":
        items.append(conflicts_view(result, limit=sizes.lists))
    if result.allocation.empty and result.status not in ("optimal", "time_limit"):
        return items
    items.append(mix_table(result, "control",
                           f"Mix by {grouping_label('control')} (share of GWh bought)",
                           top=sizes.mix, width=width))
    unmet = unmet_table(result)
    if unmet is not None and unmet.row_count > sizes.lists:
        n = unmet.row_count
        unmet = unmet_table(result, top=sizes.lists)
        assert unmet is not None
        unmet.caption = f"the largest {sizes.lists} of {n}; all in unmet.csv"
    concentration = concentration_line(result, width=width) if sizes.concentration else None
    building = building_line(result, width)
    if building is not None:
        items.append(building)
    upstream = upstream_line(result, width) if sizes.concentration else None
    if concentration is not None and upstream is not None:
        concentration.append("\n")
        concentration.append_text(upstream)
    for extra in (unmet, rule_cost_table(result, sizes.rules),
                  binding_costs_table(result, sizes.scopes), price_of_rules_line(result, width),
                  concentration):
        if extra is not None:
            items.append(extra)
    if result.warnings:
        text = Text(style="yellow")
        for w in result.warnings[:sizes.lists]:
            text.append(f"{w}\n")
        if len(result.warnings) > sizes.lists:
            text.append(f"... and {len(result.warnings) - sizes.lists} more warnings "
                        "(--verbose)\n")
        text.rstrip()
        items.append(text)
    return items


def count_lines(items: list[RenderableType], width: int) -> int:
    """The lines ``items`` take printed ``width`` columns wide, each followed
    by a blank line (as ``optimizer solve`` prints them)."""
    console = Console(width=width, file=io.StringIO(), color_system=None, highlight=False,
                      emoji=False, soft_wrap=False)
    for item in items:
        console.print(titled(item))
        console.print()
    file = console.file
    assert isinstance(file, io.StringIO)
    return file.getvalue().count("\n")


def short_report(result: Result, width: int = 80,
                 lines: int = SCREEN_LINES - AFTER_REPORT) -> list[RenderableType]:
    """What ``optimizer solve`` prints by default: one screen of ``width``
    columns (at most ``lines`` lines, blank lines between items included):
    the headline and the cost, the mix by controlling country, the rules that
    cost the most, and what the rules add in all. Long lists are cut shorter
    until it fits (:data:`SHORT_SIZES`); :func:`solve_report` is everything."""
    sizes = SHORT_SIZES[0]
    for sizes in SHORT_SIZES:
        if count_lines(_short_items(result, width, sizes), width) <= lines:
            break
    # built again: printing a table takes its title (titled)
    return _short_items(result, width, sizes)


