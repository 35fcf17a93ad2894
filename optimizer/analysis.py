"""The price of diversification: what each rule costs and what the rules buy.

* :func:`rule_costs` adds ``total_cost`` to the rule table: the optimum with
  the scope's row removed, subtracted from the optimum with it (a warm re-solve
  on the HiGHS model the plan came from). In a linear program a rule that is
  slack at the optimum costs nothing, so only binding scopes are re-solved;
  exclusions, which remove offers from the model, are re-built without them.
* :func:`concentration` reports HHI and top-1 / top-3 shares per period by
  company, country, controlling country and family, for the plan and for the
  cheapest plan with no rules at all, side by side.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, SupportsInt, cast

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.instance import Instance
from optimizer.results import SHARE_GROUPINGS, Result, current_limits
from optimizer.rows import scope_rows
from optimizer.solver import HighsModel, SolverOptions

#: re-solve at most this many scopes of a model with binaries (each is a MIP)
MAX_MIP_RESOLVES = 60


def _resolve_without(hm: HighsModel, rows: list[int], base: float) -> float:
    idx = np.array(rows, dtype=np.int32)
    hm.relax_rows(idx)
    try:
        status = hm.run()
    finally:
        hm.restore_rows(idx)
    if not status.has_solution or status.objective is None:
        return np.nan
    return base - float(status.objective)


def _exclusion_costs(inst: Instance, rule_name: str, periods: list[int] | None,
                     base: float, options: SolverOptions | None) -> float:
    """Optimum minus the optimum with the exclusion lifted (in ``periods`` only)."""
    from optimizer.api import solve

    rules = []
    for r in inst.rules:
        if r.name != rule_name:
            rules.append(r)
        elif periods is not None:
            keep = [t for t in (r.periods or inst.periods) if t not in periods]
            if keep:
                rules.append(r.model_copy(update={"periods": keep}))
    other = solve(replace(inst, rules=rules), options, analysis=False)
    if other.objective is None:
        return np.nan
    return base - other.objective


def rule_costs(result: Result, data: ModelData, m: pyo.ConcreteModel,
               options: SolverOptions | None = None) -> pd.DataFrame:
    """Add ``total_cost`` (USD million) to ``result.rules`` and return a per-rule
    summary: each rule's total cost with all its scopes removed at once."""
    hm: HighsModel = result.highs
    rules = result.rules
    if rules.empty or result.objective is None or result.status != "optimal":
        return pd.DataFrame(columns=["rule", "kind", "total_cost", "binding_scopes"])
    base = float(result.objective)
    labels = [s.label for s in data.scopes]
    row_of = {label: rows for label, (_, rows) in scope_rows(m, hm).items()}
    total = np.zeros(len(rules))
    budget = MAX_MIP_RESOLVES if hm.is_mip else len(rules)
    for i, label in enumerate(labels):
        r = row_of.get(label)
        if r is None:
            continue
        binding = bool(rules.iloc[i]["binding"])
        if not binding and not hm.is_mip:
            continue  # convexity: a slack row of an LP costs nothing
        if budget <= 0:
            total[i] = np.nan
            continue
        budget -= 1
        total[i] = _resolve_without(hm, r, base)
    # exclusions are not rows: rebuild without them, per period (with the limits
    # the model holds now, which a notebook may have changed)
    inst = data.instance
    for name, limit in current_limits(m).items():
        if inst.rule(name).limit != limit:
            inst = inst.with_rule_limit(name, limit)
    for i in range(len(labels), len(rules)):
        row = rules.iloc[i]
        if row["kind"] == "exclude":
            total[i] = (_exclusion_costs(inst, row["rule"], [int(row["period"])], base, options)
                        if int(row.get("excluded_lanes", 0) or 0) > 0 else 0.0)
    total[np.abs(total) < 1e-9] = 0.0
    rules["total_cost"] = total

    summary = []
    by_rule: dict[str, list[int]] = {}
    for s in data.scopes:
        r = row_of.get(s.label)
        if r is not None:
            by_rule.setdefault(s.rule.name, []).extend(r)
    for rule in inst.rules:
        binding_scopes = int(rules.loc[rules["rule"] == rule.name, "binding"].sum())
        if rule.kind == "exclude":
            cost = _exclusion_costs(inst, rule.name, None, base, options)
        elif rule.name in by_rule and (binding_scopes or hm.is_mip):
            cost = _resolve_without(hm, by_rule[rule.name], base)
        else:
            cost = 0.0
        summary.append({"rule": rule.name, "kind": rule.kind,
                        "total_cost": 0.0 if abs(cost) < 1e-9 else cost,
                        "binding_scopes": binding_scopes})
    hm.run()  # leave HiGHS holding the plan again
    return pd.DataFrame(summary)


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


def concentration(result: Result, data: ModelData,
                  options: SolverOptions | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """HHI (0-10,000) and top-1/top-3 shares per period and grouping, for the plan
    and for the cheapest plan with no rules at all; and the cost difference."""
    from optimizer.api import solve

    free = solve(data.instance.with_rules([]), options, analysis=False)
    plan = _concentration_of(result.shares) if not result.shares.empty else pd.DataFrame()
    free_shares = free.shares if free.status == "optimal" else pd.DataFrame()
    other = _concentration_of(free_shares) if not free_shares.empty else pd.DataFrame()
    if plan.empty:
        return plan, {}
    if other.empty:
        other = plan[["period", "by"]].copy()
    merged = plan.merge(other, on=["period", "by"], how="left", suffixes=("", "_no_rules"))
    order = {by: i for i, by in enumerate(SHARE_GROUPINGS)}
    merged = merged.sort_values(["period", "by"], key=lambda c: c.map(order) if c.name == "by"
                                else c).reset_index(drop=True)
    price: dict[str, Any] = {
        "objective": result.objective,
        "objective_no_rules": free.objective,
        "cost_of_rules": (result.objective - free.objective)
        if free.objective is not None and result.objective is not None else None,
    }
    if price["cost_of_rules"] is not None and free.objective:
        price["cost_of_rules_pct"] = 100 * price["cost_of_rules"] / free.objective
    return merged, price

