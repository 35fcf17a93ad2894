"""Costs: the objective, the discounted total cost of the plan."""

from __future__ import annotations

import pyomo.environ as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear


def add_objective(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Minimize, in USD million (GWh x USD/kWh):

        sum_{s,a,t} d_t * landed[s,a,t] * x[s,a,t] + sum_{a,t} d_t * penalty[a] * unmet[a,t]

    with d_t = 1 / (1 + r)^(t - t0) and landed = ex-works x (1 + stacked
    tariffs) + freight + carbon.
    """
    lanes = data.lanes
    coefs = (lanes["discount"] * lanes["unit_cost"]).tolist()
    variables = list(m.lane_vars)
    penalty = data.demand.set_index(["application", "period"])["unmet_penalty"]
    for a, t in m.UNMET_ALLOWED:
        coefs.append(data.discount[t] * float(penalty[(a, t)]))
        variables.append(m.unmet[a, t])
    m.total_cost = pyo.Objective(expr=linear(coefs, variables), sense=pyo.minimize)
