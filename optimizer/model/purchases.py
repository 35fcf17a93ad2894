"""Purchases: the decision variables ``x[supplier, application, period]``.

Only eligible lanes get a variable (chemistry allowed, capacity positive,
within the supplier's availability window, not excluded by a rule).
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData


def add_purchases(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set LANES and variable ``x[s, a, t] >= 0`` (GWh bought)."""
    lanes = data.lanes
    index = list(zip(lanes["supplier"].tolist(), lanes["application"].tolist(),
                     lanes["period"].tolist(), strict=True))
    m.LANES = pyo.Set(initialize=index, dimen=3, ordered=True,
                      doc="eligible (supplier, application, period)")
    m.x = pyo.Var(m.LANES, within=pyo.NonNegativeReals, doc="GWh bought")
    # variables in lane order, for the modules that sum over lane positions
    m.lane_vars = list(m.x.values())
