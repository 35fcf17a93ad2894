"""Capacity: what a supplier delivers in a period, to all applications together.

``supplied[s, t]`` is a variable of its own: capacity bounds it, fixed costs,
minimum orders and price tiers act on it, and rules that cover every
application sum it (one term per supplier rather than one per lane).
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear, pick


def add_supplied(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set SUPPLY of (supplier, period) with a lane, and variable

        0 <= supplied[s, t] <= capacity[s, t]

    (capacity is the variable's bound rather than a row of its own).
    """
    keys = list(data.lanes_by_supply)
    cap = dict(zip(keys, data.supplies["capacity"].tolist(), strict=True))
    m.SUPPLY = pyo.Set(initialize=keys, dimen=2, ordered=True,
                       doc="(supplier, period) that can deliver")
    m.supplied = pyo.Var(m.SUPPLY, within=pyo.NonNegativeReals,
                         bounds=lambda m, s, t: (0.0, cap[(s, t)]),
                         doc="GWh a supplier delivers in a period (capacity: its bound)")
    # variables in the order of data.supplies, for modules summing over positions
    m.supply_vars = list(m.supplied.values())


def add_supply_balance(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every (s, t) in SUPPLY:

        sum_a x[s, a, t] - supplied[s, t] = 0
    """
    def rule(m, s, t):
        positions = data.lanes_by_supply[(s, t)]
        return linear(None, pick(m.lane_vars, positions), extra=[(-1.0, m.supplied[s, t])]) == 0

    m.supplied_def = pyo.Constraint(m.SUPPLY, rule=rule)
