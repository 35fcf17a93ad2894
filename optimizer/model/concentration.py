"""Concentration caps beyond single shares: the top k groups, and the HHI.

``max_top_share``: the k largest groups' volumes together are at most
limit x X. The sum of the k largest of V_1..V_n is at most L exactly when
some t >= 0 and u_g >= 0 have  k t + sum_g u_g <= L  and  u_g >= V_g - t
(Ogryczak and Tamir, 2003): linear, no binaries.

``max_hhi``: sum_g (V_g / X)^2 <= limit, i.e. ||V||_2 <= sqrt(limit) X, a
second-order cone. HiGHS has no quadratic constraints, so the cone is
approximated from outside by tangent cuts  (V* / ||V*||) . V <= sqrt(limit) X
at plans V* that break it, added and re-solved until the plan's HHI is within
1e-6 of the limit (the solve layer does this: :mod:`optimizer.solver.session`).
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.model.common import linear, total
from optimizer.model.index import index_of
from optimizer.model.shares import limit_times_covered
from optimizer.model.soft import miss_term

HHI_TOL = 1e-6
MAX_HHI_ROUNDS = 200


def _scopes(data: ModelData, kind: str) -> dict[str, RuleScope]:
    return {s.label: s for _, s in data.scopes_of(kind) if len(s.covered) > 0 and s.groups}


def add_top_share_variables(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Per top-k scope: ``top_threshold[scope] >= 0`` (t) and
    ``top_excess[scope, group] >= 0`` (u_g)."""
    scopes = _scopes(data, "max_top_share")
    m.TOP_SCOPES = pyo.Set(initialize=list(scopes), ordered=True)
    m.TOP_GROUPS = pyo.Set(initialize=[(k, g) for k, s in scopes.items()
                                       for g in (s.groups or {})], dimen=2, ordered=True)
    m.top_threshold = pyo.Var(m.TOP_SCOPES, within=pyo.NonNegativeReals)
    m.top_excess = pyo.Var(m.TOP_GROUPS, within=pyo.NonNegativeReals)


def _group_volume(m: pyo.ConcreteModel, scope: RuleScope, g: str, extra=()):
    assert scope.groups is not None
    weights = scope.group_weights.get(g) if scope.group_weights is not None else None
    return total(m.lane_vars, scope.groups[g], weights, extra=extra)


def add_top_share_rules(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every top-k scope, with X its covered volume:

        top_excess[g] >= V_g - top_threshold                      (each group g)
        k top_threshold + sum_g top_excess[g] <= limit X          (the cap)

    (``limit X`` written as in :mod:`optimizer.model.shares`).
    """
    scopes = _scopes(data, "max_top_share")
    m.top_excess_def = pyo.Constraint(
        m.TOP_GROUPS,
        rule=lambda m, label, g: _group_volume(
            m, scopes[label], g,
            extra=[(-1.0, m.top_excess[label, g]), (-1.0, m.top_threshold[label])]) <= 0,
    )

    def cap(m, label):
        scope = scopes[label]
        groups = list(scope.groups or {})
        terms, bound = limit_times_covered(m, scope)
        body = linear(None, [m.top_excess[label, g] for g in groups], extra=[
            (float(scope.rule.k or 1), m.top_threshold[label]), *terms,
            *miss_term(m, label, upper=True),
        ])
        return body <= bound

    m.top_share_rule = pyo.Constraint(m.TOP_SCOPES, rule=cap)
    index_of(m).add_rule_rows(m.top_share_rule, scopes, "upper", covered=True)


def add_hhi_cuts(m: pyo.ConcreteModel, data: ModelData) -> None:
    """``hhi_cuts``: the tangent cuts of HHI caps, added while solving
    (:func:`hhi_cut`); the index lists the HHI scopes and, later, their cuts."""
    index = index_of(m)
    index.hhi_scopes.update(_scopes(data, "max_hhi"))
    index.hhi_cuts.update({label: [] for label in index.hhi_scopes})
    m.hhi_cuts = pyo.ConstraintList()


def hhi_values(scopes: dict[str, RuleScope], x: np.ndarray) -> dict[str, float]:
    """HHI (a fraction) of each HHI scope in a plan; NaN where nothing is bought."""
    out = {}
    for scope in scopes.values():
        total_x = scope.covered_volume(x)
        if total_x <= 0:
            out[scope.label] = float("nan")
            continue
        v = np.array(list(scope.group_volumes(x).values()))
        out[scope.label] = float(((v / total_x) ** 2).sum())
    return out


def hhi_cut(m: pyo.ConcreteModel, scope: RuleScope, x: np.ndarray):
    """The tangent cut of the scope's cone at plan x (None if V = 0):

        sum_g (V*_g / ||V*||) V_g - sqrt(limit) X <= 0

    with X written as in :mod:`optimizer.model.shares` and the limit as the
    model's parameter, so that a changed limit changes the cut (which stays a
    tangent of the new cone)."""
    assert scope.groups is not None
    volumes = scope.group_volumes(x)
    v = np.array(list(volumes.values()))
    norm = float(np.linalg.norm(v))
    if norm <= 0:
        return None
    lanes: list[int] = []
    coefs: list[float] = []
    for g, vg in volumes.items():
        if vg > 0:
            positions = scope.groups[g]
            w = scope.group_weights.get(g) if scope.group_weights is not None else None
            lanes.extend(positions.tolist())
            coefs.extend((vg / norm * (np.ones(len(positions)) if w is None else w)).tolist())
    terms, bound = limit_times_covered(m, scope, pyo.sqrt(m.rule_limit[scope.rule.name]))
    return linear(coefs, [m.lane_vars[i] for i in lanes], extra=terms) <= bound
