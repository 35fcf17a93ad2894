"""Purchases: the decision variables ``x[supplier, application, period]``.

Only eligible lanes get a variable (chemistry allowed, capacity positive,
within the supplier's availability window, not excluded by a rule).
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData


def add_purchases(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set LANES and variable

        0 <= x[s, a, t] <= capacity[s, t]      (GWh bought; with every expansion
                                                that could serve s in t funded)

    The upper bound is implied by the supplier's capacity row (which sums its
    lanes) and is stated on each lane as well: HiGHS's dual simplex can then
    move a purchase to its bound without a basis change, which made the
    solve 1.5-3x faster on the benchmark instances (benchmarks/README.md).
    """
    lanes = data.lanes
    index = list(zip(lanes["supplier"].tolist(), lanes["application"].tolist(),
                     lanes["period"].tolist(), strict=True))
    m.LANES = pyo.Set(initialize=index, dimen=3, ordered=True,
                      doc="eligible (supplier, application, period)")
    m.x = pyo.Var(m.LANES, within=pyo.NonNegativeReals, doc="GWh bought")
    # variables in lane order, for the modules that sum over lane positions
    m.lane_vars = list(m.x.values())
    capacity = data.supplies["max_capacity"].to_numpy(dtype=float)[data.supply_of_lane]
    for var, cap in zip(m.lane_vars, capacity.tolist(), strict=True):
        var.setub(cap)
