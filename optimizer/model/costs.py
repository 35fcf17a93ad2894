"""Costs: the objective, the discounted total cost of the plan."""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear


def add_objective(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Minimize, in USD million (GWh x USD/kWh), with d_t = 1 / (1 + r)^(t - t0):

        sum_{s,a,t} d_t * landed[s,a,t] * x[s,a,t]          purchases
      + sum_{a,t}   d_t * penalty[a] * unmet[a,t]           unmet demand
      + sum_{s,t}   d_t * fixed_cost[s] * delivers[s,t]     fixed costs
      + sum_{s,t,k} d_t * tier_cost[s,t,k] * tier_volume[s,t,k]   tiered ex-works

    landed = ex-works x (1 + stacked tariffs) + freight + carbon; where price
    tiers apply, the ex-works part (and its tariff) is in the tier term instead.
    Other modules register their terms in ``m.objective_terms``.
    """
    lanes = data.lanes
    coefs = (lanes["discount"] * lanes["unit_cost"]).tolist()
    variables = list(m.lane_vars)
    penalty = data.demand.set_index(["application", "period"])["unmet_penalty"]
    for a, t in m.UNMET_ALLOWED:
        coefs.append(data.discount[t] * float(penalty[(a, t)]))
        variables.append(m.unmet[a, t])
    for term_coefs, term_vars in m.objective_terms:
        coefs.extend(term_coefs)
        variables.extend(term_vars)
    m.total_cost = pyo.Objective(expr=linear(coefs, variables), sense=pyo.minimize)
