"""The price of diversification: what each rule costs and what the rules buy.

* :func:`rule_costs` adds ``total_cost`` to the rule table: the optimum with
  the scope's row removed, subtracted from the optimum with it (a warm re-solve
  on the HiGHS model the plan came from, through the solve session: HHI caps
  keep their cuts and get new ones). In a linear program a scope whose rows
  all have a zero dual costs nothing (LP duality), so only the others are
  re-solved; exclusions, which remove offers from the model, are re-built
  without them.
  In a model with binaries every re-solve is a MIP, which may take as long as
  the plan's own solve; a :class:`Budget` bounds their time, and a cost that
  is not computed, or not proven optimal, is left blank (NaN), never guessed.
* :func:`concentration` reports HHI and top-1 / top-3 shares per period by
  company, country, controlling country and family, for the plan and for the
  cheapest plan with no rules at all, side by side.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, SupportsInt, cast

import numpy as np
import pandas as pd

from optimizer.data import ModelData
from optimizer.instance import Instance
from optimizer.results import SHARE_GROUPINGS, Result
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: a row dual at most this (USD million per unit of the row) is zero
DUAL_ZERO = 1e-9
#: the automatic analysis of a model with binaries (where every re-solve is a
#: MIP) starts no re-solve after this many seconds, or after as long as the plan's
#: own solve took if that is longer; ``analysis=True`` (``--analysis``) lifts it
MIP_ANALYSIS_SECONDS = 30.0


@dataclass
class Budget:
    """Wall-clock seconds the analysis may spend on re-solves (``None``: no
    limit). Each re-solve may use only the time left; a re-solve not started,
    or stopped before it was proven optimal, leaves its cost blank (NaN)."""

    seconds: float | None = None
    started: float = field(default_factory=time.perf_counter)
    #: blank costs, by what they are the cost of ("scope", "rule", ...)
    blank: dict[str, int] = field(default_factory=dict)

    def left(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.perf_counter() - self.started)

    def spent(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def time_limit(self, user: float | None) -> float | None:
        """The time limit of the next re-solve: the time left, or the user's
        own ``time_limit`` if that comes first (``None``: no limit)."""
        left = self.left()
        if left is None or user is None:
            return user if left is None else max(0.0, left)
        return max(0.0, min(left, user))

    def options(self, options: SolverOptions | None) -> SolverOptions:
        """``options`` for a whole re-solve that may use only the time left."""
        options = options or SolverOptions()
        return replace(options, time_limit=self.time_limit(options.time_limit))

    def missed(self, what: str) -> float:
        self.blank[what] = self.blank.get(what, 0) + 1
        return np.nan


def mip_budget(solve_seconds: float) -> Budget:
    """The automatic analysis's budget for a model with binaries."""
    return Budget(max(MIP_ANALYSIS_SECONDS, solve_seconds))


def _resolve_without(session: Session, labels: list[str], base: float, budget: Budget,
                     what: str) -> float:
    """The optimum minus the optimum without the rows of these rule scopes; NaN
    (counted in the budget) when that re-solve is not started or not proven
    optimal. The re-solve is a whole solve (HHI caps still hold, by their cuts)."""
    if budget.spent():
        return budget.missed(what)
    with session.without(labels):
        status = session.resolve(budget.time_limit(session.options.time_limit))
    if status.status != "optimal" or status.objective is None:
        return budget.missed(what)
    return base - float(status.objective)


def _exclusion_costs(inst: Instance, rule_name: str, periods: list[int] | None,
                     base: float, options: SolverOptions | None, budget: Budget,
                     what: str) -> float:
    """Optimum minus the optimum with the exclusion lifted (in ``periods`` only)."""
    from optimizer.api import solve

    if budget.spent():
        return budget.missed(what)
    rules = []
    for r in inst.rules:
        if r.name != rule_name:
            rules.append(r)
        elif periods is not None:
            keep = [t for t in (r.periods or inst.periods) if t not in periods]
            if keep:
                rules.append(r.model_copy(update={"periods": keep}))
    other = solve(replace(inst, rules=rules), budget.options(options), analysis=False)
    if other.status != "optimal" or other.objective is None:
        return budget.missed(what)
    return base - other.objective


def rule_costs(result: Result, data: ModelData, session: Session,
               options: SolverOptions | None = None,
               budget: Budget | None = None) -> pd.DataFrame:
    """Add ``total_cost`` (USD million) to ``result.rules`` and return a per-rule
    summary: each rule's total cost with all its scopes removed at once.

    The re-solves run in order of use: each rule as a whole, then the binding
    scopes, then (in a model with binaries, where a slack rule may still cost
    something) the slack ones. ``budget`` bounds their time; what it leaves
    blank is counted in it (see :func:`budget_warning`)."""
    budget = budget or Budget()
    rules = result.rules
    if rules.empty or result.objective is None or result.status != "optimal":
        return pd.DataFrame(columns=["rule", "kind", "total_cost", "binding_scopes"])
    base = float(result.objective)
    is_mip = session.is_mip
    plan = session.col_values()
    # LP duality: a scope whose rows all have a zero dual in an optimal dual
    # solution costs nothing (that dual solution stays feasible without them);
    # any other may, even one that is not "binding" in the report's sense (a
    # rule met only by buying nothing for what it covers)
    duals = None if is_mip else np.abs(session.hm.row_duals())
    labels = [s.label for s in data.scopes]
    with_rows = set(session.scope_rows())
    # exclusions are not rows: rebuilt without them (with the limits the model
    # holds now, which a notebook may have changed)
    inst = data.instance
    for name, limit in session.limits().items():
        if inst.rule(name).limit != limit:
            inst = inst.with_rule_limit(name, limit)

    def priced(labels: list[str]) -> bool:
        """May dropping these scopes lower the optimum?"""
        if duals is None:
            return True
        rows = session.rows_of(labels)
        rows = rows[rows < len(duals)]  # HHI cuts made by later re-solves were not there
        return bool(len(rows)) and bool((duals[rows] > DUAL_ZERO).any())

    summary = []
    by_rule: dict[str, list[str]] = {}
    for s in data.scopes:
        if s.label in with_rows:
            by_rule.setdefault(s.rule.name, []).append(s.label)
    for rule in inst.rules:
        binding_scopes = int(rules.loc[rules["rule"] == rule.name, "binding"].sum())
        if rule.kind == "exclude":
            cost = _exclusion_costs(inst, rule.name, None, base, options, budget, "rule")
        elif rule.name in by_rule and priced(by_rule[rule.name]):
            cost = _resolve_without(session, by_rule[rule.name], base, budget, "rule")
        else:
            cost = 0.0
        summary.append({"rule": rule.name, "kind": rule.kind,
                        "total_cost": 0.0 if abs(cost) < 1e-9 else cost,
                        "binding_scopes": binding_scopes})

    total = np.zeros(len(rules))
    binding = rules["binding"].to_numpy(dtype=bool)
    worth = np.array([i >= len(labels) or (labels[i] in with_rows and priced([labels[i]]))
                      for i in range(len(rules))], dtype=bool)
    order = [i for i in range(len(rules)) if binding[i]] + \
        [i for i in range(len(rules)) if not binding[i]]
    for i in order:
        if i >= len(labels):  # an exclusion, per period
            row = rules.iloc[i]
            if row["kind"] == "exclude" and int(row.get("excluded_lanes", 0) or 0) > 0:
                total[i] = _exclusion_costs(inst, row["rule"], [int(row["period"])], base,
                                            options, budget, "scope")
            continue
        if not worth[i]:
            continue  # no row, or an LP row with a zero dual: it costs nothing
        total[i] = _resolve_without(session, [labels[i]], base, budget, "scope")
    total[np.abs(total) < 1e-9] = 0.0
    rules["total_cost"] = total
    # leave HiGHS holding the plan again: an LP's warm re-solve takes moments (and
    # brings back its basis and duals); a MIP's would take as long as the solve
    if is_mip:
        session.put_back(plan)
    else:
        session.resolve()
    return pd.DataFrame(summary)


def budget_warning(budget: Budget, n_scopes: int, n_rules: int) -> str | None:
    """A sentence on the costs ``budget`` left blank, if any."""
    if not budget.blank:
        return None
    parts = []
    if budget.blank.get("rule"):
        parts.append(f"{budget.blank['rule']} of {n_rules} rules")
    if budget.blank.get("scope"):
        parts.append(f"{budget.blank['scope']} of {n_scopes} rule scopes")
    if budget.blank.get("no_rules"):
        parts.append("the plan without rules (concentration report)")
    if budget.seconds is not None:
        why = (f"the analysis re-solves this model with binaries for at most "
               f"{budget.seconds:.0f} s (as long as the solve, at least "
               f"{MIP_ANALYSIS_SECONDS:.0f} s; --analysis lifts this)")
    else:
        why = "their re-solves stopped at the time limit before proving an optimum"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"total cost left blank for {listed}: {why}"


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
                  options: SolverOptions | None = None,
                  budget: Budget | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """HHI (0-10,000) and top-1/top-3 shares per period and grouping, for the plan
    and for the cheapest plan with no rules at all; and the cost difference.
    Without that plan (``budget`` spent, or not proven optimal) its columns
    and the cost difference are blank."""
    from optimizer.api import solve

    budget = budget or Budget()
    free = solve(data.instance.with_rules([]), budget.options(options), analysis=False) \
        if not budget.spent() else None
    if free is None or free.status != "optimal":
        budget.missed("no_rules")
        free = None
    plan = _concentration_of(result.shares) if not result.shares.empty else pd.DataFrame()
    free_shares = free.shares if free is not None else pd.DataFrame()
    other = _concentration_of(free_shares) if not free_shares.empty else pd.DataFrame()
    if plan.empty:
        return plan, {}
    if other.empty:  # no plan without rules: its columns stay blank
        other = plan[["period", "by"]].assign(hhi=np.nan, top1_share=np.nan,
                                              top1_group=None, top3_share=np.nan)
    merged = plan.merge(other, on=["period", "by"], how="left", suffixes=("", "_no_rules"))
    order = {by: i for i, by in enumerate(SHARE_GROUPINGS)}
    merged = merged.sort_values(["period", "by"], key=lambda c: c.map(order) if c.name == "by"
                                else c).reset_index(drop=True)
    free_objective = free.objective if free is not None else None
    price: dict[str, Any] = {
        "objective": result.objective,
        "objective_no_rules": free_objective,
        "cost_of_rules": (result.objective - free_objective)
        if free_objective is not None and result.objective is not None else None,
    }
    if price["cost_of_rules"] is not None and free_objective:
        price["cost_of_rules_pct"] = 100 * price["cost_of_rules"] / free_objective
    return merged, price

