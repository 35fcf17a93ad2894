"""Soft rules: a rule with a ``penalty`` may be missed, at that price.

Each scope of such a rule gets ``rule_miss[scope] >= 0`` in the rule's own
unit (GWh for share, volume and top-k rules; attribute x GWh for averages;
groups for count rules); the rule's row moves by the miss and the objective
pays ``discount x penalty x miss``.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData


def add_rule_misses(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set SOFT_SCOPES (scope labels of rules with a penalty) and ``rule_miss >= 0``."""
    soft = {s.label: s for s in data.scopes if s.rule.penalty is not None}
    m.SOFT_SCOPES = pyo.Set(initialize=list(soft), ordered=True,
                            doc="scopes of soft rules (rules with a penalty)")
    m.rule_miss = pyo.Var(m.SOFT_SCOPES, within=pyo.NonNegativeReals,
                          doc="how far a soft rule is missed, in the rule's unit")
    m.objective_terms.append((
        [data.discount[soft[k].period] * float(soft[k].rule.penalty or 0.0)
         for k in m.SOFT_SCOPES],
        [m.rule_miss[k] for k in m.SOFT_SCOPES],
    ))


def miss_term(m: pyo.ConcreteModel, label: str, upper: bool) -> list[tuple[float, object]]:
    """The extra term that lets a soft rule's row be missed: ``-miss`` in a
    ``<=`` row, ``+miss`` in a ``>=`` row; nothing for a hard rule."""
    if label not in m.SOFT_SCOPES:
        return []
    return [(-1.0 if upper else 1.0, m.rule_miss[label])]
