"""How the reports say things: one wording for each cost component and
grouping, and one way to write each kind of number.

The terminal report, the HTML page, the results workbook and the commands
that print tables all take their labels and number formats from here, so that
a cost component or a share reads the same everywhere. Labels are written in
lower case, as they appear in the terminal's tables; the HTML page starts
them with a capital (:func:`capfirst`).

Every formatting function accepts any number-like value (floats, ints,
numpy scalars) and returns ``missing`` (an en dash unless given) for None,
NaN, infinite and non-numeric values.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

#: the components of ``Result.cost_breakdown`` (USD million, discounted), in
#: the order the reports list them
COST_LABELS: dict[str, str] = {
    "ex_works": "ex-works price",
    "tariff": "tariffs",
    "freight": "freight",
    "carbon": "carbon",
    "fixed": "fixed costs",
    "unmet_penalty": "unmet demand penalty",
    "rule_penalties": "soft rule penalties",
}
#: cost components listed even when they are zero
COST_ALWAYS = ("ex_works", "tariff", "freight")
#: other names of a cost component (the plan checker says ``rule_penalty``)
COST_ALIASES = {"rule_penalty": "rule_penalties"}

#: the groupings of the shares table (``Result.shares["by"]``), as the reports name them
GROUPING_LABELS: dict[str, str] = {
    "company": "company",
    "country": "production country",
    "control": "controlling country",
    "family": "chemistry family",
}

#: what a missing number is shown as (the terminal report uses a plain hyphen)
DASH = "–"

# Excel number formats of the results workbook, by quantity
XLSX_GWH = "#,##0.000"
XLSX_USD_KWH = "0.000"
XLSX_MUSD = "#,##0.00"
XLSX_SHARE = "0.0%"
XLSX_YEAR = "0"
XLSX_PLAIN = "#,##0.####"
XLSX_POINTS = "#,##0"
XLSX_FRACTION = "0.00E+00"
XLSX_SECONDS = "0.00"


# --------------------------------------------------------------------------- labels

def cost_label(key: str) -> str:
    """The label of a cost component (unknown keys: their words)."""
    key = COST_ALIASES.get(key, key)
    return COST_LABELS.get(key, key.replace("_", " "))


def grouping_label(by: str) -> str:
    """The label of a grouping (``control`` -> ``controlling country``)."""
    return GROUPING_LABELS.get(by, by)


def capfirst(text: str) -> str:
    """``text`` with its first letter in upper case (the rest as it is)."""
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- numbers

def is_missing(v: Any) -> bool:
    """None, NaN, pandas' NA and NaT."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # a list or an array: not one missing value
        return False


def as_number(v: Any) -> float | None:
    """A plain float, or None for missing, infinite and non-numeric values."""
    if is_missing(v):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def number(v: Any, digits: int = 1, missing: str = DASH, signed: bool = False) -> str:
    """A number with thousands separators and ``digits`` decimals: ``1,234.5``
    (``signed``: ``+1,234.5``)."""
    f = as_number(v)
    if f is None:
        return missing
    return f"{f:+,.{digits}f}" if signed else f"{f:,.{digits}f}"


def money(v: Any, digits: int = 1, missing: str = DASH) -> str:
    """An amount in USD million: ``3,638.0`` (the unit is said around it)."""
    return number(v, digits, missing)


def pct(v: Any, digits: int = 1, missing: str = DASH) -> str:
    """A fraction as a percentage: 0.7 -> ``70.0%``."""
    f = as_number(v)
    return missing if f is None else f"{100 * f:.{digits}f}%"


def sig(v: Any, digits: int = 4, missing: str = DASH) -> str:
    """A number to ``digits`` significant digits, with thousands separators:
    ``0.3``, ``12.35``, ``1,235``."""
    f = as_number(v)
    return missing if f is None else f"{f:,.{digits}g}"


def gwh(v: Any, missing: str = DASH) -> str:
    """A volume in GWh: up to two decimals, no trailing zeros (``12.5``,
    ``100``); whole GWh from 1,000 up (``1,234``)."""
    f = as_number(v)
    if f is None:
        return missing
    return f"{f:,.0f}" if abs(f) >= 1000 else f"{f:,.2f}".rstrip("0").rstrip(".")


def rule_value(v: Any, unit: str, missing: str = DASH) -> str:
    """A rule's value or limit with its unit: ``70.0%``, ``60 GWh``, ``3 groups``."""
    f = as_number(v)
    if f is None:
        return missing
    if unit == "share":
        return pct(f)
    if unit == "GWh":
        return f"{gwh(f)} GWh"
    return f"{sig(f)} {unit}".strip()


def rule_value_short(v: Any, unit: str, missing: str = DASH) -> str:
    """A rule's value or limit in a narrow column, its unit left to the rule's
    kind: shares as percentages, other values to three significant digits
    (whole numbers from 1,000 up)."""
    f = as_number(v)
    if f is None:
        return missing
    if unit == "share":
        return pct(f)
    return sig(f, 3) if abs(f) < 1000 else number(f, 0)


def marginal_cost(v: Any, missing: str = DASH) -> str:
    """A marginal cost, USD million per unit a limit is tightened: ``5.400``."""
    return number(v, 3, missing)


def per_unit(unit: str) -> str:
    """The unit a marginal cost is per: a percentage point of a share, a GWh, ..."""
    return {"share": "pt", "GWh": "GWh", "groups": "group"}.get(unit, unit or "unit")
