"""Capacity: a supplier's deliveries to all applications share its capacity."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear, pick


def supplied(m: pyo.ConcreteModel, data: ModelData, s: str, t: int):
    """The expression sum_a x[s, a, t]: what supplier s delivers in period t."""
    positions = data.lanes_by_supply[(s, t)]
    return linear([1.0] * len(positions), pick(m.lane_vars, positions))


def add_capacity(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every supplier s and period t in which it can deliver:

        sum_a x[s, a, t] <= capacity[s, t]
    """
    cap = {(s, int(t)): g for s, t, g in data.capacity.itertuples(index=False)}
    index = [key for key in data.lanes_by_supply if key in cap]
    m.SUPPLY = pyo.Set(initialize=index, dimen=2, ordered=True,
                       doc="(supplier, period) with capacity")
    m.capacity_limit = pyo.Constraint(
        m.SUPPLY, rule=lambda m, s, t: supplied(m, data, s, t) <= cap[(s, t)]
    )
