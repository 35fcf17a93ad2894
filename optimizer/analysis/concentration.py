"""How concentrated the plan is: HHI (0-10,000) and top-1 / top-3 shares per
period by company, country, controlling country and family, for the plan and
for the cheapest plan with no rules at all, side by side."""

from __future__ import annotations

from typing import Any, SupportsInt, cast

import numpy as np
import pandas as pd

from optimizer.analysis.budget import Budget, solve_alone
from optimizer.data import ModelData
from optimizer.results import SHARE_GROUPINGS, Result, materials_table, shares_table
from optimizer.solver.options import SolverOptions


def _concentration_of(shares: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (t, by), g in shares.groupby(["period", "by"], sort=True):
        s = g.sort_values("share", ascending=False)
        rows.append({
            "period": int(cast(SupportsInt, t)), "by": by,
            "hhi": float((100 * s["share"]).pow(2).sum()),
            "top1_share": float(s["share"].iloc[0]),
            "top1_group": str(s["group"].iloc[0]),
            "top3_share": float(s["share"].iloc[:3].sum()),
        })
    return pd.DataFrame(rows)


def _with_origins(shares: pd.DataFrame, materials: pd.DataFrame) -> pd.DataFrame:
    """The shares table plus, for each material and stage, the origin countries'
    shares of its kt (grouping ``origin <material> <stage>``)."""
    if materials.empty:
        return shares
    origin = materials.assign(by="origin " + materials["material"] + " " + materials["stage"])
    origin = origin.rename(columns={"country": "group"})[["period", "by", "group", "share"]]
    return pd.concat([shares[["period", "by", "group", "share"]], origin], ignore_index=True)


def concentration(result: Result, data: ModelData,
                  options: SolverOptions | None = None,
                  budget: Budget | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """HHI (0-10,000) and top-1/top-3 shares per period and grouping, for the plan
    and for the cheapest plan with no rules at all; and the cost difference.
    Without that plan (``budget`` spent, or not proven optimal) its columns
    and the cost difference are blank."""
    budget = budget or Budget()
    free_objective: float | None = None
    free_shares = pd.DataFrame()
    if not budget.spent():
        status, free_data, session = solve_alone(data.instance.with_rules([]),
                                                 budget.options(options))
        if status.status == "optimal" and status.objective is not None:
            free_objective = float(status.objective)
            x = session.lane_values()
            free_shares = _with_origins(shares_table(free_data, x),
                                        materials_table(free_data, x))
    if free_objective is None:
        budget.missed("no_rules")
    shares = _with_origins(result.shares, result.materials) if not result.shares.empty \
        else result.shares
    plan = _concentration_of(shares) if not shares.empty else pd.DataFrame()
    other = _concentration_of(free_shares) if not free_shares.empty else pd.DataFrame()
    if plan.empty:
        return plan, {}
    if other.empty:  # no plan without rules: its columns stay blank
        other = plan[["period", "by"]].assign(hhi=np.nan, top1_share=np.nan,
                                              top1_group=None, top3_share=np.nan)
    merged = plan.merge(other, on=["period", "by"], how="left", suffixes=("", "_no_rules"))
    order = {by: i for i, by in enumerate(SHARE_GROUPINGS)}
    merged = merged.sort_values(["period", "by"],
                                key=lambda c: c.map(lambda b: (order.get(b, len(order)), b))
                                if c.name == "by" else c).reset_index(drop=True)
    price: dict[str, Any] = {
        "objective": result.objective,
        "objective_no_rules": free_objective,
        "cost_of_rules": (result.objective - free_objective)
        if free_objective is not None and result.objective is not None else None,
    }
    if price["cost_of_rules"] is not None and free_objective:
        price["cost_of_rules_pct"] = 100 * price["cost_of_rules"] / free_objective
    return merged, price

