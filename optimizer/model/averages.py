"""Average rules: the volume-weighted average of a numeric supplier attribute
(carbon intensity, a risk score) over the covered volume."""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.input.schema import AVERAGE_KINDS
from optimizer.model.common import total
from optimizer.model.index import index_of
from optimizer.model.shares import limit_times_covered
from optimizer.model.soft import miss_term


def add_average_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a ``max_average`` / ``min_average`` rule:

        max_average:  sum_i w_i x_i <= limit * X
        min_average:  sum_i w_i x_i >= limit * X

    where i runs over the covered lanes, w_i is the supplier's attribute and
    X the covered volume: the average sum(w x) / X is bounded without a
    division. As for shares, ``limit * X`` is written ``limit * D`` in the bound
    and ``limit * unmet`` terms in the row (:mod:`optimizer.model.shares`).
    """
    rows: dict[str, RuleScope] = {
        scope.label: scope for _, scope in data.scopes_of(*AVERAGE_KINDS)
        if len(scope.covered) > 0
    }
    m.AVERAGE_SCOPES = pyo.Set(initialize=list(rows), ordered=True)

    def rule(m, label):
        scope = rows[label]
        assert scope.weights is not None
        upper = scope.rule.kind == "max_average"
        terms, bound = limit_times_covered(m, scope)
        body = total(m.lane_vars, scope.covered, scope.weights,
                     extra=[*terms, *miss_term(m, label, upper)])
        return body <= bound if upper else body >= bound

    m.average_rule = pyo.Constraint(m.AVERAGE_SCOPES, rule=rule)
    index_of(m).add_rule_rows(
        m.average_rule, rows,
        lambda scope: "upper" if scope.rule.kind == "max_average" else "lower", covered=True)
