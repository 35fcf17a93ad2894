"""Capacity: what a supplier delivers in a period, to all applications together.

A supplier's total in a period is the sum of its lanes, written out where it is
used (no variable of its own): a variable defined by an equality and used in
other rows stops HiGHS's presolve from substituting it and slows the dual
simplex many times over (see benchmarks/README.md).
"""

from __future__ import annotations

from collections.abc import Sequence

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear, pick
from optimizer.model.index import CapacityRow, index_of


def supplier_total(m: pyo.ConcreteModel, data: ModelData, s: str, t: int,
                   extra: Sequence[tuple] = ()):
    """``sum_a x[s, a, t]`` (plus ``extra`` terms): what s delivers in t."""
    return linear(None, pick(m.lane_vars, data.lanes_by_supply[(s, t)]), extra=extra)


def funded_capacity(m: pyo.ConcreteModel, data: ModelData, s: str, t: int) -> list[tuple]:
    """``-step * fund[k]`` for every funding k whose capacity serves s in t
    (the terms a capacity row adds to read ``V - funded <= capacity``)."""
    return [(-step, m.fund[k]) for k, step in data.building.arrivals.get((s, t), ())]


def add_capacity(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every (s, t) that can deliver and has no on/off decision, with
    fund[k] the steps of co-funded capacity that serve s in t:

        sum_a x[s, a, t] - sum_k step_gwh[k] * fund[k] <= capacity[s, t]

    (a supplier-period with a fixed cost or a minimum order gets its capacity
    row from :func:`optimizer.model.switching.add_delivery_switches`, and this
    row as well when expansions can serve it).
    """
    capacity = dict(zip(data.lanes_by_supply, data.supplies["capacity"].tolist(), strict=True))
    arrivals = data.building.arrivals
    keys = [k for k in data.lanes_by_supply if k not in m.SWITCHED or k in arrivals]
    m.CAPACITY = pyo.Set(initialize=keys, dimen=2, ordered=True,
                         doc="(supplier, period) whose capacity is a row of its own")
    m.capacity = pyo.Constraint(
        m.CAPACITY, rule=lambda m, s, t: supplier_total(
            m, data, s, t, extra=funded_capacity(m, data, s, t)) <= capacity[(s, t)])
    index = index_of(m)
    for s, t in keys:
        if (s, t) not in m.SWITCHED:
            index.capacity[(s, t)] = CapacityRow(s, t, float(capacity[(s, t)]),
                                                 m.capacity[s, t])
