"""Share and volume rules: caps and floors on what a group supplies.

A share rule compares the volume V bought from a group with the volume X
bought for the covered applications in the period. Shares stay linear:
V <= limit * X, never V / X. X needs no variable: every demand row says
bought + unmet = demand, so X = D - sum(unmet), with D the covered demand (a
number) and the unmet demand of the covered applications (where demand may go
unmet; none where it is hard). The row

    V - limit * X <= 0      is written      V + limit * sum(unmet) <= limit * D

short (the group's lanes and a few unmet columns) and with no helper variable
defined by an equality, which would slow HiGHS down (benchmarks/README.md).
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.input.schema import CHANGE_KINDS, SHARE_KINDS, VOLUME_KINDS
from optimizer.model.common import total
from optimizer.model.index import CoveredMeasure, CoveredVolume, Trivial, index_of
from optimizer.model.soft import miss_term


def add_rule_limits(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Mutable parameter ``rule_limit[name]`` for every rule with a limit, so a
    notebook user (or a sweep) can change a limit and solve again."""
    limits = {r.name: float(r.limit) for r in data.instance.rules if r.limit is not None}
    m.RULES = pyo.Set(initialize=list(limits), ordered=True, doc="rules with a limit")
    m.rule_limit = pyo.Param(m.RULES, initialize=limits, mutable=True)


def add_covered_volumes(m: pyo.ConcreteModel, data: ModelData) -> None:
    """The covered volume X of every coverage some rule refers to, recorded in
    the model index. In GWh (coverage (t, apps)):

        X[t, apps] = sum_{a in apps} (demand[a, t] - unmet[a, t])

    (``unmet`` only where it is a variable: no row, no column). In another
    measure (coverage (t, apps, measure): kt of a material, USD million of
    spend), or where an application has a buffer stock, a variable and its
    definition:

        covered_measure[t, apps, measure] = sum_i w_i x_i     (covered lanes i)
    """
    d = data.demand
    demand = {(a, int(t)): float(g) for a, t, g in
              d[["application", "period", "gwh"]].itertuples(index=False)}
    index = index_of(m)
    measured: dict[tuple, RuleScope] = {}
    # what is bought for an application with a buffer stock is not demand minus
    # unmet demand (cells go into and out of stock): X is a column of its own
    stocked = set(data.stock["application"].astype(str))
    for scope in data.scopes:
        if scope.coverage in index.covered or scope.coverage in measured:
            continue
        if len(scope.coverage) == 3 or stocked & set(scope.coverage[1]):
            measured[scope.coverage] = scope
            continue
        t, apps = scope.coverage
        index.covered[scope.coverage] = CoveredVolume(
            float(sum(demand.get((a, int(t)), 0.0) for a in apps)),
            [m.unmet[a, int(t)] for a in apps if (a, int(t)) in m.UNMET_ALLOWED])
    m.MEASURED = pyo.Set(initialize=range(len(measured)), ordered=True,
                         doc="coverages measured in kt or USD million")
    m.covered_measure = pyo.Var(m.MEASURED, within=pyo.NonNegativeReals,
                                doc="the covered volume in kt of a material or USD million")
    keys = list(measured)

    def definition(m, k):
        scope = measured[keys[k]]
        return total(m.lane_vars, scope.covered, scope.covered_weights,
                     extra=[(-1.0, m.covered_measure[k])]) == 0

    m.covered_measure_def = pyo.Constraint(m.MEASURED, rule=definition)
    for k, key in enumerate(keys):
        index.covered[key] = CoveredMeasure(m.covered_measure[k])


def limit_times_covered(m: pyo.ConcreteModel, scope: RuleScope, factor=None):
    """``(terms, bound)`` for ``limit * X`` moved to a row's bound: in GWh,
    ``factor * X = factor * D - sum(factor * unmet)``, so the row gains the
    terms ``factor * unmet`` and its bound is ``factor * D``; in another
    measure the row gains ``-factor * X`` and its bound is 0. ``factor`` is
    the rule's limit (a parameter of the model) unless given."""
    covered = index_of(m).covered[scope.coverage]
    if factor is None:
        factor = m.rule_limit[scope.rule.name]
    if isinstance(covered, CoveredMeasure):
        return [(-factor, covered.variable)], 0.0
    return [(factor, u) for u in covered.unmet], factor * covered.demand


def _group_volume(m: pyo.ConcreteModel, scope: RuleScope, extra=()):
    """V: the group's volume in the scope, in its measure (plus ``extra`` terms)."""
    return total(m.lane_vars, scope.members, scope.member_weights, extra=extra)


def label_is_hard(scope: RuleScope) -> bool:
    return scope.rule.penalty is None


def add_share_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a ``max_share`` / ``min_share`` rule:

        max_share:  V <= limit * X (+ miss)        min_share:  V >= limit * X (- miss)

    with V the group's volume and X the scope's covered volume, written
    ``V + limit * sum(unmet) (-/+ miss) <= / >= limit * D`` (module docstring);
    the miss exists only for soft rules (:mod:`optimizer.model.soft`).
    Scopes where the row would be empty or trivially true get no row.
    """
    rows: dict[str, RuleScope] = {}
    for _, scope in data.scopes_of(*SHARE_KINDS):
        if len(scope.covered) == 0:
            continue
        if scope.rule.kind == "max_share" and len(scope.members) == 0:
            continue  # V = 0 <= limit X always
        rows[scope.label] = scope
    m.SHARE_SCOPES = pyo.Set(initialize=list(rows), ordered=True)

    def rule(m, label):
        scope = rows[label]
        upper = scope.rule.kind == "max_share"
        terms, bound = limit_times_covered(m, scope)
        body = _group_volume(m, scope, extra=[*terms, *miss_term(m, label, upper)])
        return body <= bound if upper else body >= bound

    m.share_rule = pyo.Constraint(m.SHARE_SCOPES, rule=rule)
    index_of(m).add_rule_rows(
        m.share_rule, rows, lambda scope: "upper" if scope.rule.kind == "max_share" else "lower",
        covered=True)


def add_volume_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a ``max_volume`` / ``min_volume`` rule:

        max_volume:  V <= limit        min_volume:  V >= limit

    and of a ``max_change`` rule, V then being the change of a group's GWh
    from the period before (:func:`optimizer.data_building.change_scopes`):

        rise:  V(t) - V(t-1) <= limit      fall:  V(t-1) - V(t) <= limit

    A floor on a group with no eligible lane gets no row: it is recorded as a
    trivial conflict, which holds whenever its limit is above 0.
    """
    rows: dict[str, RuleScope] = {}
    for _, scope in data.scopes_of(*VOLUME_KINDS, *CHANGE_KINDS):
        if len(scope.members) == 0 and label_is_hard(scope):
            if scope.rule.kind == "min_volume":  # a conflict whenever the limit is > 0
                index_of(m).trivial.append(Trivial("rule", scope=scope, above=0.0))
            continue
        rows[scope.label] = scope
    m.VOLUME_SCOPES = pyo.Set(initialize=list(rows), ordered=True)

    def rule(m, label):
        scope = rows[label]
        upper = scope.rule.kind != "min_volume"
        v = _group_volume(m, scope, extra=miss_term(m, label, upper))
        limit = m.rule_limit[scope.rule.name]
        return v <= limit if upper else v >= limit

    m.volume_rule = pyo.Constraint(m.VOLUME_SCOPES, rule=rule)
    index_of(m).add_rule_rows(
        m.volume_rule, rows,
        lambda scope: "lower" if scope.rule.kind == "min_volume" else "upper")
