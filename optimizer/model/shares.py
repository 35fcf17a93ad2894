"""Share and volume rules: caps and floors on what a group supplies.

A share rule compares the volume V bought from a group with the volume X
bought for the covered applications in the period. X is a variable of its own
(``covered_volume``), defined once per (period, covered applications) and
shared by every rule over that coverage, so a cap on each of 2,000 companies
costs 2,000 short rows rather than 2,000 rows as long as the whole period.
Shares stay linear: V <= limit * X, never V / X.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.model.common import total
from optimizer.model.index import Trivial, index_of
from optimizer.model.soft import miss_term
from optimizer.schema import SHARE_KINDS, VOLUME_KINDS


def coverage_label(coverage: tuple[int, tuple[str, ...]]) -> tuple[int, str]:
    period, apps = coverage
    return int(period), "+".join(apps)


def add_rule_limits(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Mutable parameter ``rule_limit[name]`` for every rule with a limit, so a
    notebook user (or a sweep) can change a limit and solve again."""
    limits = {r.name: float(r.limit) for r in data.instance.rules if r.limit is not None}
    m.RULES = pyo.Set(initialize=list(limits), ordered=True, doc="rules with a limit")
    m.rule_limit = pyo.Param(m.RULES, initialize=limits, mutable=True)


def add_covered_volume(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Variable ``covered_volume[t, apps] >= 0`` and its definition

        covered_volume[t, apps] = sum_{s, a in apps} x[s, a, t]

    X is the one helper variable of the rule rows: it stands for a long sum
    that many short rows share, and substituting it would make every rule row
    as long as the period (HiGHS was 1.7-1.9x slower that way).
    """
    coverages: dict[tuple[int, str], RuleScope] = {}
    for scope in data.scopes:
        coverages.setdefault(coverage_label(scope.coverage), scope)
    m.COVERAGES = pyo.Set(initialize=list(coverages), dimen=2, ordered=True,
                          doc="(period, covered applications) totals used by rules")
    m.covered_volume = pyo.Var(m.COVERAGES, within=pyo.NonNegativeReals,
                               doc="GWh bought for the covered applications")

    def rule(m, t, apps):
        scope = coverages[(t, apps)]
        return total(m.lane_vars, scope.covered,
                     extra=[(-1.0, m.covered_volume[t, apps])]) == 0

    m.covered_volume_def = pyo.Constraint(m.COVERAGES, rule=rule)


def _group_volume(m: pyo.ConcreteModel, scope: RuleScope, extra=()):
    """V: the group's volume in the scope (plus ``extra`` terms)."""
    return total(m.lane_vars, scope.members, extra=extra)


def covered_volume_of(m: pyo.ConcreteModel):
    """The scope's covered volume X (for the model index)."""
    return lambda scope: m.covered_volume[coverage_label(scope.coverage)]


def label_is_hard(scope: RuleScope) -> bool:
    return scope.rule.penalty is None


def add_share_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a ``max_share`` / ``min_share`` rule:

        max_share:  V <= limit * X (+ miss)        min_share:  V >= limit * X (- miss)

    with V the group's volume and X = ``covered_volume`` of the scope; the
    miss exists only for soft rules (:mod:`optimizer.model.soft`).
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
        x_total = m.covered_volume[coverage_label(scope.coverage)]
        upper = scope.rule.kind == "max_share"
        body = _group_volume(m, scope, extra=[(-m.rule_limit[scope.rule.name], x_total),
                                              *miss_term(m, label, upper)])
        return body <= 0 if upper else body >= 0

    m.share_rule = pyo.Constraint(m.SHARE_SCOPES, rule=rule)
    index_of(m).add_rule_rows(m.share_rule, rows, "coefficient", covered_volume_of(m))


def add_volume_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every scope of a ``max_volume`` / ``min_volume`` rule:

        max_volume:  V <= limit        min_volume:  V >= limit

    A floor on a group with no eligible lane gets no row: it is recorded as a
    trivial conflict, which holds whenever its limit is above 0.
    """
    rows: dict[str, RuleScope] = {}
    for _, scope in data.scopes_of(*VOLUME_KINDS):
        if len(scope.members) == 0 and label_is_hard(scope):
            if scope.rule.kind == "min_volume":  # a conflict whenever the limit is > 0
                index_of(m).trivial.append(Trivial("rule", scope=scope, above=0.0))
            continue
        rows[scope.label] = scope
    m.VOLUME_SCOPES = pyo.Set(initialize=list(rows), ordered=True)

    def rule(m, label):
        scope = rows[label]
        upper = scope.rule.kind == "max_volume"
        v = _group_volume(m, scope, extra=miss_term(m, label, upper))
        limit = m.rule_limit[scope.rule.name]
        return v <= limit if upper else v >= limit

    m.volume_rule = pyo.Constraint(m.VOLUME_SCOPES, rule=rule)
    index_of(m).add_rule_rows(
        m.volume_rule, rows,
        lambda scope: "upper" if scope.rule.kind == "max_volume" else "lower")
