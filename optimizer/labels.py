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
    "expansions": "co-funded capacity",
    "qualification": "supplier qualification",
    "contract_shortfall": "take-or-pay shortfall",
    "contract_discount": "contract discounts",
    "holding": "stock holding",
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


# --------------------------------------------------------------------------- limits in sentences

#: decimals a limit is written with in a sentence, by unit (shares in
#: percent, HHI in points of 0-10,000); volumes and attribute averages
#: depend on their size (:func:`limit_phrase`)
LIMIT_DECIMALS = {"share": 1, "hhi": 0, "groups": 0}


def round_toward(v: float, step: float, up: bool | None = None) -> float:
    """``v`` as a multiple of ``step``: rounded up, down or (None) to the
    nearest. A value within a millionth of a step of a multiple counts as that
    multiple (solver noise): 0.3000000004 rounded up to 0.001 is 0.3."""
    q = v / step
    if up is None:
        n = round(q)
    elif up:
        n = math.ceil(q - 1e-6)
    else:
        n = math.floor(q + 1e-6)
    return n * step


def _limit_decimals(f: float, unit: str) -> int:
    if unit in LIMIT_DECIMALS:
        return LIMIT_DECIMALS[unit]
    size = abs(f)
    if unit in ("GWh", "kt"):  # as gwh(): two decimals, whole from 1,000 up
        return 0 if size >= 1000 else 2 if size >= 1 or size == 0 else 3
    # an attribute's average: four significant digits
    return max(0, 3 - math.floor(math.log10(size))) if size > 0 else 0


#: what a limit is multiplied by to be shown, by unit
_SHOWN_AS = {"share": 100.0, "hhi": 10_000.0}


def _plain_decimals(f: float, decimals: int) -> str:
    text = f"{f:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def limit_phrase(v: Any, unit: str, up: bool | None = None, extra_digits: int = 0,
                 missing: str = DASH) -> str:
    """A rule's limit (or a demand, a capacity) in a sentence, with its unit:
    shares as percentages (``33.4%``), ``max_hhi`` limits in HHI points
    (``HHI 2,500``), volumes as :func:`gwh` does (``12.5 GWh``, ``3 kt``),
    counts (``3 groups``), averages to four significant digits with the
    attribute's name (``0.15 risk_score``). No trailing zeros.

    ``up`` rounds up (True) or down (False) to the digits shown, rather than
    to the nearest: a cap raised to a value shown rounded up, or a floor
    lowered to one shown rounded down, still holds what the exact value holds.
    ``extra_digits`` shows that many more decimals."""
    f = as_number(v)
    if f is None:
        return missing
    decimals = _limit_decimals(f, unit) + extra_digits
    scale = _SHOWN_AS.get(unit, 1.0)
    text = _plain_decimals(scale * round_toward(f, 10.0 ** -decimals / scale, up), decimals)
    if unit == "share":
        return f"{text}%"
    if unit == "hhi":
        return f"HHI {text}"
    if unit == "groups":
        return f"{text} group" + ("" if text == "1" else "s")
    return f"{text} {unit}".strip()


def _shown_exactly(f: float, unit: str, extra_digits: int) -> bool:
    step = 10.0 ** -(_limit_decimals(f, unit) + extra_digits) / _SHOWN_AS.get(unit, 1.0)
    return abs(f / step - round(f / step)) < 1e-6


def limit_change(limit: Any, required: Any, unit: str) -> tuple[str, str]:
    """A limit and the one it must become, as two :func:`limit_phrase`. The
    limit is shown as it is (up to three more decimals than usual: a cap of
    0.125 reads 12.5%, of 0.0012 0.12%); the new one is rounded towards the
    change (up when it is larger, down when it is smaller: never short of
    what is required), with as many decimals as the limit, and more until the
    two read differently (up to four more)."""
    lo, req = as_number(limit), as_number(required)
    up = None if lo is None or req is None else req > lo
    first = 0
    while lo is not None and first < 3 and not _shown_exactly(lo, unit, first):
        first += 1
    old = new = ""
    for extra in range(first, max(first + 1, 5)):
        old = limit_phrase(limit, unit, extra_digits=extra)
        new = limit_phrase(required, unit, up=up, extra_digits=extra)
        if old != new:
            break
    return old, new


def usd_per_kwh(v: Any, missing: str = DASH) -> str:
    """A price or landed cost in USD/kWh, to the cent: ``49.74`` (the unit is
    said around it)."""
    return number(v, 2, missing)


def pct_short(v: Any, missing: str = DASH) -> str:
    """A fraction as a percentage without trailing zeros: 0.4 -> ``40%``,
    0.425 -> ``42.5%`` (limits on an axis or in a sweep)."""
    f = as_number(v)
    return missing if f is None else f"{round(100 * f, 6):g}%"


def limit_text(v: Any, kind: str | None = None, missing: str = DASH) -> str:
    """A rule's limit as a buyer reads it, by the rule's kind: a share
    (``max_share``, ``min_share``, ``max_top_share``) as a percentage
    (:func:`pct_short`), an HHI cap in points of 0-10,000 (``HHI 2,500``),
    anything else to four significant digits."""
    f = as_number(v)
    if f is None:
        return missing
    if kind == "max_hhi":
        return f"HHI {number(10_000 * f, 0)}"
    if kind is not None and kind.endswith("_share"):
        return pct_short(f)
    return sig(f)


def lines_of(parts: list[str], width: int, sep: str = ", ") -> str:
    """``parts`` joined by ``sep``, a new line wherever the next part would
    pass ``width`` (a part is never split)."""
    lines = [""]
    for i, part in enumerate(parts):
        piece = part + (sep.rstrip() if i < len(parts) - 1 else "")
        if lines[-1] and len(lines[-1]) + 1 + len(piece) > width:
            lines.append(piece)
        else:
            lines[-1] = f"{lines[-1]} {piece}" if lines[-1] else piece
    return "\n".join(lines)


def fraction_or_percent(value: str, low: float, high: float) -> float:
    """``"0.02"`` or ``"2%"`` as 0.02, which must lie in [low, high]; a
    ValueError saying what is wrong otherwise (the command line's ``--slack``
    and the web workspace's premium field)."""
    text = value.strip()
    try:
        v = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise ValueError(f"must be a number (0.02 or 2%), got '{value}'") from None
    if not low <= v <= high:
        raise ValueError(f"must be between {low:g} and {high:g}, got '{value}'")
    return v
