"""The price of diversification: what each rule costs.

:func:`rule_costs` adds ``total_cost`` to the rule table: the optimum with
  the scope's row removed, subtracted from the optimum with it (a warm re-solve
  on the HiGHS model the plan came from, through the solve session: HHI caps
  keep their cuts and get new ones). In a linear program a scope whose rows
  all have a zero dual costs nothing (LP duality), so only the others are
  re-solved; exclusions, which remove offers from the model, are re-built
  without them.
  In a model with binaries every re-solve is a MIP, which may take as long as
  the plan's own solve; a :class:`Budget` bounds their time, and a cost that
  is not computed, or not proven optimal, is left blank (NaN), never guessed.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from optimizer.analysis.budget import Budget, solve_alone
from optimizer.data import ModelData
from optimizer.input.instance import Instance
from optimizer.results import Result
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: a row dual at most this (USD million per unit of the row) is zero
DUAL_ZERO = 1e-9

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
    other, _, _ = solve_alone(replace(inst, rules=rules), budget.options(options))
    if other.status != "optimal" or other.objective is None:
        return budget.missed(what)
    return base - float(other.objective)


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
