"""Capacity: a supplier's deliveries to all applications share its capacity."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear, pick


def add_capacity(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every supplier s and period t in which it can deliver:

        sum_a x[s, a, t] <= capacity[s, t]
    """
    groups = data.lanes.groupby(["supplier", "period"], sort=False).indices
    cap = {(s, int(t)): g for s, t, g in data.capacity.itertuples(index=False)}
    index = [key for key in groups if (key[0], int(key[1])) in cap]
    m.SUPPLY = pyo.Set(initialize=[(s, int(t)) for s, t in index], dimen=2, ordered=True,
                       doc="(supplier, period) with capacity")

    def rule(m, s, t):
        positions = groups[(s, t)]
        return linear([1.0] * len(positions), pick(m.lane_vars, positions)) <= cap[(s, t)]

    m.capacity_limit = pyo.Constraint(m.SUPPLY, rule=rule)
