"""What the plan checker's parts share: tolerances, column names, the report."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

#: default relative tolerance of every comparison
TOL = 1e-6
#: an HHI cap holds once the plan's HHI is within this of the limit (SPEC section 3:
#: the cuts stop there), plus ``tol``
HHI_SLACK = 1e-6

PLAN_COLUMNS = ("supplier", "application", "period", "gwh")

VIOLATION_COLUMNS = ["kind", "rule", "supplier", "application", "period", "group", "value",
                     "limit", "excess", "unit", "message"]

COST_KEYS = ("ex_works", "tariff", "freight", "carbon", "fixed", "unmet_penalty",
             "rule_penalty")

@dataclass
class CheckReport:
    """What the checker found.

    ``violations``: one row per broken requirement (columns ``kind``, ``rule``,
    ``supplier``, ``application``, ``period``, ``group``, ``value``, ``limit``,
    ``excess`` (how far beyond the limit, in ``unit``), ``unit``, ``message``).
    ``kind`` is one of ``negative``, ``ineligible``, ``exclude``, ``capacity``,
    ``min_order``, ``demand_over``, ``demand_unmet``, ``rule``, ``funding``,
    ``contract``, ``objective``.
    ``cost_breakdown``: the plan's discounted cost in USD million, by component,
    with ``total``. ``unmet``: demand, bought and unmet per application and
    period. ``misses``: soft rules missed (paid at their penalty, not violations).
    """

    violations: pd.DataFrame
    cost_breakdown: dict[str, float]
    unmet: pd.DataFrame
    supplies: pd.DataFrame
    misses: pd.DataFrame = field(default_factory=pd.DataFrame)
    objective: float | None = None
    tolerance: float = TOL
    volume_floor: float = TOL

    @property
    def valid(self) -> bool:
        return self.violations.empty

    @property
    def cost(self) -> float:
        return self.cost_breakdown["total"]


def _text(value: Any) -> str:
    """An attribute or id as text, the way instance ids are compared."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


