"""Count rules: how many groups (companies, countries...) supply a real share.

Each group that may count gets a binary ``counted``; big-M values come from
the covered demand, which bounds the covered volume X.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.input.schema import COUNT_KINDS
from optimizer.model.common import linear, total
from optimizer.model.index import Trivial, index_of
from optimizer.model.shares import limit_times_covered
from optimizer.model.soft import miss_term


def _count_scopes(data: ModelData) -> dict[str, RuleScope]:
    """Count scopes that need variables: where something can be bought. (Where
    nothing can, X = 0 and every group counts: only a floor above the number
    of groups can fail there, see :func:`add_count_rules`.)"""
    return {s.label: s for _, s in data.scopes_of(*COUNT_KINDS) if s.max_covered > 0}


def add_counted(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Binary ``counted[scope, group]``: 1 if the group counts in that scope."""
    scopes = _count_scopes(data)
    index = [(label, g) for label, s in scopes.items() for g in (s.groups or {})]
    m.COUNT_GROUPS = pyo.Set(initialize=index, dimen=2, ordered=True,
                             doc="(count rule scope, group)")
    m.counted = pyo.Var(m.COUNT_GROUPS, within=pyo.Binary)


def add_count_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a count rule, with V_g the volume of group g, X the
    covered volume, h the threshold and M the covered demand:

        max_count:  V_g - h X <= M counted[g]            sum_g counted[g] <= limit
        min_count:  V_g - h X >= -h M (1 - counted[g])   sum_g counted[g] >= limit

    so a group counts for max_count when V_g > h X, and may count for min_count
    only when V_g >= h X.
    """
    scopes = _count_scopes(data)

    def link(m, label, g):
        scope = scopes[label]
        assert scope.groups is not None
        h = float(scope.rule.threshold or 0.0)
        terms, hd = limit_times_covered(m, scope, h)  # h X = h D - h sum(unmet)
        big_m = scope.max_covered
        if scope.rule.kind == "max_count":
            v = total(m.lane_vars, scope.groups[g],
                      extra=[*terms, (-big_m, m.counted[label, g])])
            return v <= hd
        v = total(m.lane_vars, scope.groups[g],
                  extra=[*terms, (-h * big_m, m.counted[label, g])])
        return v >= hd - h * big_m

    m.count_link = pyo.Constraint(m.COUNT_GROUPS, rule=link)
    index = index_of(m)
    for _, scope in data.scopes_of("min_count"):
        if scope.max_covered <= 0 and scope.rule.penalty is None:
            # nothing to buy: every group counts, a floor above their number fails
            index.trivial.append(Trivial("rule", scope=scope, above=len(scope.groups or {})))
    rows = {}
    for label, scope in scopes.items():
        if scope.groups:
            rows[label] = scope
        elif scope.rule.kind == "min_count" and scope.rule.penalty is None:
            # no group can count at all: a floor above zero cannot be met
            index.trivial.append(Trivial("rule", scope=scope, above=0.0))
    m.COUNT_SCOPES = pyo.Set(initialize=list(rows), ordered=True)

    def count_total(m, label):
        scope = rows[label]
        upper = scope.rule.kind == "max_count"
        n = linear(None, [m.counted[label, g] for g in (scope.groups or {})],
                   extra=miss_term(m, label, upper))
        limit = m.rule_limit[scope.rule.name]
        return n <= limit if upper else n >= limit

    m.count_limit = pyo.Constraint(m.COUNT_SCOPES, rule=count_total)
    index.add_rule_rows(m.count_limit, rows,
                        lambda scope: "upper" if scope.rule.kind == "max_count" else "lower")
