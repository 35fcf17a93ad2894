"""Supplier use: fixed costs and minimum orders need an on/off decision.

Only supplier-periods with a ``fixed_cost`` or a ``min_order`` get a binary;
an instance without them stays a linear program.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.capacity import supplier_total
from optimizer.model.index import CapacityRow, index_of


def _switched(data: ModelData) -> dict[tuple[str, int], tuple[float, float, float]]:
    """(supplier, period) -> (capacity, fixed cost, min order), where it can
    deliver; capacity counts every expansion that could serve it (funded
    capacity is capped by the supplier's capacity row)."""
    added = data.building.max_added
    return {
        (s, int(t)): (cap + added.get((s, int(t)), 0.0), fixed, mo)
        for s, t, cap, fixed, mo in data.switched[
            ["supplier", "period", "capacity", "fixed_cost", "min_order"]
        ].itertuples(index=False)
        if (s, int(t)) in data.lanes_by_supply
    }


def add_delivers(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set SWITCHED and binary ``delivers[s, t]``: 1 if supplier s delivers in t."""
    switched = _switched(data)
    m.SWITCHED = pyo.Set(initialize=list(switched), dimen=2, ordered=True,
                         doc="(supplier, period) with a fixed cost or a minimum order")
    m.delivers = pyo.Var(m.SWITCHED, within=pyo.Binary, doc="1 if the supplier delivers")
    m.objective_terms.append((
        [data.discount[t] * switched[(s, t)][1] for s, t in m.SWITCHED],
        [m.delivers[k] for k in m.SWITCHED],
    ))


def add_delivery_switches(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every switched (s, t), with sum_a x[s, a, t] what s delivers in t:

        sum_a x[s, a, t] <= capacity[s, t] * delivers[s, t]    (capacity; none when off)
        sum_a x[s, a, t] >= min_order[s] * delivers[s, t]      (if min_order > 0)
    """
    switched = _switched(data)
    m.delivers_link = pyo.Constraint(
        m.SWITCHED,
        rule=lambda m, s, t: supplier_total(
            m, data, s, t, extra=[(-switched[(s, t)][0], m.delivers[s, t])]) <= 0,
    )
    index = index_of(m)
    for s, t in m.SWITCHED:
        index.capacity[(s, t)] = CapacityRow(s, t, float(switched[(s, t)][0]),
                                             m.delivers_link[s, t])
    ordered = [k for k in m.SWITCHED if switched[k][2] > 0]
    m.MIN_ORDERS = pyo.Set(initialize=ordered, dimen=2, ordered=True)
    m.min_order = pyo.Constraint(
        m.MIN_ORDERS,
        rule=lambda m, s, t: supplier_total(
            m, data, s, t, extra=[(-switched[(s, t)][2], m.delivers[s, t])]) >= 0,
    )
