"""The results workbook (``results.xlsx``): the plan for people who work in Excel.

Sheets: ``summary`` (status, cost and its parts, price of the rules),
``charts`` (native Excel charts: the mix per year as stacked columns of GWh by
controlling country, and the cost breakdown as bars, each drawn from a small
table on the same sheet), ``allocation`` (one row per supplier, application
and year), ``pivot`` (GWh per supplier and year, with totals), ``shares``,
``rules`` (every rule scope with its slack and marginal cost), ``rule_costs``
and ``concentration`` when the analysis ran, ``materials`` (kt by origin
country, material and stage) with upstream tables, ``expansions`` and
``contracts`` (funding decisions and contracts, SPEC section 8) in instances
that have them, ``demand`` (bought and unmet)
and ``usage`` (capacity use).

Every sheet has its header row frozen and filterable, units in the column
names (``gwh (GWh)``, ``cost (USD million)``) and number formats that suit the
unit. Values are written, not formulas, so any reader sees the same numbers
as allocation.csv.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.chart import BarChart, Reference
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.labels import (
    COST_ALWAYS,
    COST_LABELS,
    XLSX_FRACTION,
    XLSX_SECONDS,
    cost_label,
    grouping_label,
)
from optimizer.labels import XLSX_GWH as GWH
from optimizer.labels import XLSX_MUSD as MUSD
from optimizer.labels import XLSX_PLAIN as PLAIN
from optimizer.labels import XLSX_POINTS as POINTS
from optimizer.labels import XLSX_SHARE as SHARE
from optimizer.labels import XLSX_USD_KWH as USD_KWH
from optimizer.labels import XLSX_YEAR as YEAR
from optimizer.results import Result

#: column -> (unit shown in the header, number format)
COLUMNS: dict[str, tuple[str | None, str | None]] = {
    "period": (None, YEAR),
    "gwh": ("GWh", GWH),
    "capacity": ("GWh", GWH),
    "demand": ("GWh", GWH),
    "bought": ("GWh", GWH),
    "unmet": ("GWh", GWH),
    "group_gwh": ("see measure", GWH),
    "covered_gwh": ("see measure", GWH),
    "from_gwh": ("GWh", GWH),
    "ex_works": ("USD/kWh", USD_KWH),
    "tariff": ("USD/kWh", USD_KWH),
    "freight": ("USD/kWh", USD_KWH),
    "carbon": ("USD/kWh", USD_KWH),
    "price": ("USD/kWh", USD_KWH),
    "penalty": ("USD/kWh", USD_KWH),
    "unit_landed_cost": ("USD/kWh", USD_KWH),
    "tariff_rate": ("fraction", SHARE),
    "cost": ("USD million", MUSD),
    "discounted_cost": ("USD million", MUSD),
    "fixed_cost": ("USD million", MUSD),
    "total_cost": ("USD million", MUSD),
    "marginal_cost": ("USD million per unit tightened", MUSD),
    "share": ("%", SHARE),
    "kt": ("kt", GWH),
    "utilisation": ("%", SHARE),
    "top1_share": ("%", SHARE),
    "top3_share": ("%", SHARE),
    "top1_share_no_rules": ("%", SHARE),
    "top3_share_no_rules": ("%", SHARE),
    "hhi": ("points, 0-10,000", POINTS),
    "hhi_no_rules": ("points, 0-10,000", POINTS),
    "value": ("see unit", PLAIN),
    "limit": ("see unit", PLAIN),
    "slack": ("see unit", PLAIN),
    "steps": ("steps", PLAIN),
    "shortfall_gwh": ("GWh", GWH),
    "shortfall_cost": ("USD million", MUSD),
    "discount": ("USD million", MUSD),
}

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_TOTAL_FONT = Font(bold=True)


def header_label(column: str) -> str:
    unit = COLUMNS.get(column, (None, None))[0]
    return f"{column} ({unit})" if unit else column


def _plain(value: Any) -> Any:
    """A cell value: numpy scalars as Python ones, NaN and None as an empty cell."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or (isinstance(value, float) and (math.isnan(value) or math.isinf(value))):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, list | tuple | dict):
        return str(value)
    return value


def _headers(ws: Worksheet, labels: list[str], freeze: str = "A2") -> None:
    for c, label in enumerate(labels, start=1):
        cell = ws.cell(row=1, column=c, value=label)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        ws.column_dimensions[get_column_letter(c)].width = min(max(len(label) + 3, 11), 45)
    ws.freeze_panes = freeze


def frame_sheet(wb: Workbook, title: str, df: pd.DataFrame) -> Worksheet:
    """A DataFrame as a sheet: units in the headers, formats per column, filters."""
    ws = wb.create_sheet(title)
    columns = [str(c) for c in df.columns]
    _headers(ws, [header_label(c) for c in columns])
    formats = [COLUMNS.get(c, (None, None))[1] for c in columns]
    for r, row in enumerate(df.itertuples(index=False, name=None), start=2):
        for c, value in enumerate(row, start=1):
            v = _plain(value)
            if v is None:
                continue
            cell = ws.cell(row=r, column=c, value=v)
            fmt = formats[c - 1]
            if fmt is not None and isinstance(v, int | float) and not isinstance(v, bool):
                cell.number_format = fmt
    if columns:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{max(len(df) + 1, 2)}"
    return ws


def pivot_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """GWh per supplier (rows) and year (columns), summed over applications."""
    keys = [k for k in ("supplier", "company", "country", "control", "chemistry")
            if k in allocation.columns]
    if allocation.empty:
        return pd.DataFrame(columns=keys)
    table = allocation.pivot_table(index=keys, columns="period", values="gwh", aggfunc="sum",
                                   fill_value=0.0)
    table = table.reindex(sorted(table.columns), axis=1)
    return table.reset_index()


def _pivot_sheet(wb: Workbook, allocation: pd.DataFrame) -> Worksheet:
    table = pivot_table(allocation)
    keys = [c for c in table.columns if not isinstance(c, int | np.integer)]
    periods = [c for c in table.columns if isinstance(c, int | np.integer)]
    ws = wb.create_sheet("pivot")
    labels = [*keys, *(f"{int(t)} (GWh)" for t in periods), "total (GWh)"]
    _headers(ws, labels, freeze=f"{get_column_letter(len(keys) + 1)}2")
    for r, row in enumerate(table.itertuples(index=False, name=None), start=2):
        for c, value in enumerate(row[: len(keys)], start=1):
            ws.cell(row=r, column=c, value=_plain(value))
        volumes = [float(v) for v in row[len(keys):]]
        for c, value in enumerate([*volumes, sum(volumes)], start=len(keys) + 1):
            ws.cell(row=r, column=c, value=value).number_format = GWH
    total_row = len(table) + 2
    ws.cell(row=total_row, column=1, value="total").font = _TOTAL_FONT
    sums = [float(table[t].sum()) for t in periods]
    for c, value in enumerate([*sums, sum(sums)], start=len(keys) + 1):
        cell = ws.cell(row=total_row, column=c, value=value)
        cell.number_format = GWH
        cell.font = _TOTAL_FONT
    return ws


def mix_table(allocation: pd.DataFrame, by: str = "control") -> pd.DataFrame:
    """GWh bought per period (rows) and group of ``by`` (columns, the largest
    over all periods first), summed over applications."""
    if allocation.empty or by not in allocation.columns:
        return pd.DataFrame()
    table = allocation.pivot_table(index="period", columns=by, values="gwh", aggfunc="sum",
                                   fill_value=0.0).sort_index()
    order = table.sum().sort_values(ascending=False, kind="stable").index
    return table[order]


def cost_rows(result: Result) -> list[tuple[str, float]]:
    """(label, USD million) of each cost component, as the reports list them:
    ex-works, tariffs and freight always, the others when they are not zero."""
    costs = result.cost_breakdown
    return [(cost_label(key), float(costs.get(key) or 0.0)) for key in COST_LABELS
            if key in COST_ALWAYS or abs(float(costs.get(key) or 0.0)) > 1e-9]


#: size of each chart on the charts sheet, in cm
CHART_SIZE = (16.0, 9.0)


def _charts_sheet(wb: Workbook, result: Result) -> Worksheet:
    """Two tables side by side from A1, each drawn as a chart below them: GWh
    per period by controlling country (a stacked column chart) and the cost
    breakdown (a bar chart). The charts read the tables' cells, so a reader
    who edits a number sees the chart follow."""
    ws = wb.create_sheet("charts")
    mix = mix_table(result.allocation)
    groups = [str(g) for g in mix.columns]
    _headers(ws, ["period", *groups])
    for r, (period, row) in enumerate(zip(mix.index.tolist(), mix.to_numpy().tolist(),
                                          strict=True), start=2):
        ws.cell(row=r, column=1, value=int(period)).number_format = YEAR
        for c, value in enumerate(row, start=2):
            ws.cell(row=r, column=c, value=float(value)).number_format = GWH
    first = len(groups) + 3  # the cost table, one empty column to the right
    costs = cost_rows(result)
    for c, label in enumerate(("cost component", "USD million (discounted)"), start=first):
        cell = ws.cell(row=1, column=c, value=label)
        cell.font = _HEADER_FONT
        cell.fill = _HEADER_FILL
        ws.column_dimensions[get_column_letter(c)].width = 26
    for r, (label, value) in enumerate(costs, start=2):
        ws.cell(row=r, column=first, value=label)
        ws.cell(row=r, column=first + 1, value=value).number_format = MUSD
    anchor = f"A{max(len(mix), len(costs)) + 3}"
    width, height = CHART_SIZE
    if len(mix) and groups:
        chart = BarChart()
        chart.type = "col"
        chart.grouping = "stacked"
        chart.overlap = 100
        chart.title = f"Mix by {grouping_label('control')} (GWh)"
        chart.y_axis.title = "GWh"
        chart.x_axis.title = "period"
        chart.add_data(Reference(ws, min_col=2, max_col=len(groups) + 1, min_row=1,
                                 max_row=len(mix) + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=len(mix) + 1))
        chart.width, chart.height = width, height
        ws.add_chart(chart, anchor)
        anchor = f"{get_column_letter(11)}{anchor[1:]}"
    if costs:
        chart = BarChart()
        chart.type = "bar"
        chart.title = "Cost breakdown (USD million, discounted)"
        chart.x_axis.title = "cost component"
        chart.y_axis.title = "USD million"
        chart.legend = None
        chart.add_data(Reference(ws, min_col=first + 1, min_row=1, max_row=len(costs) + 1),
                       titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=first, min_row=2, max_row=len(costs) + 1))
        chart.width, chart.height = width, height
        ws.add_chart(chart, anchor)
    return ws


def summary_rows(result: Result) -> list[tuple[str, Any, str]]:
    """(item, value, unit) rows of the summary sheet."""
    rows: list[tuple[str, Any, str]] = [
        ("instance", result.instance, ""),
        ("status", result.status, ""),
        ("total cost (discounted)", result.objective, "USD million"),
    ]
    for key, value in result.cost_breakdown.items():
        if key == "total":
            continue
        label = ("purchases, undiscounted" if key == "undiscounted_purchases"
                 else f"cost: {cost_label(key)}")
        rows.append((label, value, "USD million"))
    if not result.allocation.empty:
        rows.append(("volume bought", float(result.allocation["gwh"].sum()), "GWh"))
    if not result.unmet.empty and "unmet" in result.unmet.columns:
        rows.append(("demand left unmet", float(result.unmet["unmet"].sum()), "GWh"))
    price = result.price_of_rules or {}
    if price.get("objective_no_rules") is not None:
        rows.append(("total cost without any rule", price["objective_no_rules"], "USD million"))
    if price.get("cost_of_rules") is not None:
        rows.append(("price of the rules", price["cost_of_rules"], "USD million"))
    if price.get("cost_of_rules_pct") is not None:
        rows.append(("price of the rules, share of the cost without rules",
                     price["cost_of_rules_pct"] / 100, "%"))
    if result.solver.get("mip"):
        rows.append(("MIP gap", result.solver.get("mip_gap"), "fraction"))
        rows.append(("best bound", result.solver.get("best_bound"), "USD million"))
    if "solve" in result.timings:
        rows.append(("HiGHS time", result.timings["solve"], "s"))
    for w in result.warnings:
        rows.append(("warning", w, ""))
    return rows


def _summary_sheet(wb: Workbook, result: Result) -> Worksheet:
    ws = wb.active
    assert ws is not None
    ws.title = "summary"
    _headers(ws, ["item", "value", "unit"])
    ws.column_dimensions["A"].width = 50
    ws.column_dimensions["B"].width = 22
    formats = {"USD million": MUSD, "GWh": GWH, "%": SHARE, "fraction": XLSX_FRACTION,
               "s": XLSX_SECONDS}
    for r, (item, value, unit) in enumerate(summary_rows(result), start=2):
        ws.cell(row=r, column=1, value=item)
        cell = ws.cell(row=r, column=2, value=_plain(value))
        if unit in formats and isinstance(cell.value, int | float):
            cell.number_format = formats[unit]
        ws.cell(row=r, column=3, value=unit or None)
    return ws


def results_workbook(result: Result) -> Workbook:
    wb = Workbook()
    _summary_sheet(wb, result)
    _charts_sheet(wb, result)
    frame_sheet(wb, "allocation", result.allocation)
    _pivot_sheet(wb, result.allocation)
    frame_sheet(wb, "shares", result.shares)
    frame_sheet(wb, "rules", result.rules)
    if not result.rule_summary.empty:
        frame_sheet(wb, "rule_costs", result.rule_summary)
    if not result.concentration.empty:
        frame_sheet(wb, "concentration", result.concentration)
    if not result.materials.empty:
        frame_sheet(wb, "materials", result.materials)
    if len(result.expansions.columns):
        frame_sheet(wb, "expansions", result.expansions)
    if len(result.contracts.columns):
        frame_sheet(wb, "contracts", result.contracts)
    if not result.unmet.empty:
        frame_sheet(wb, "demand", result.unmet)
    if not result.usage.empty:
        frame_sheet(wb, "usage", result.usage)
    _inert(wb)
    return wb


def _inert(wb: Workbook) -> None:
    """Every cell as text or number, never a formula: openpyxl would store a
    name written ``=HYPERLINK(...)`` as a live formula (this workbook writes
    none of its own)."""
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"


def write_results_xlsx(result: Result, path: str | Path) -> None:
    """Write ``results.xlsx`` for a result that has a plan."""
    results_workbook(result).save(path)
