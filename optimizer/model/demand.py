"""Demand: what is bought plus what is left unmet equals demand."""

from __future__ import annotations

from typing import Any, cast

import numpy as np
import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.common import linear, pick
from optimizer.model.index import Trivial, index_of
from optimizer.model.stock import stock_terms


def unmet_allowed(data: ModelData) -> list[tuple[str, int]]:
    """(application, period) whose demand may go unmet: an ``unmet_penalty``
    and some demand."""
    d = data.demand
    allowed = d[d["unmet_penalty"].notna() & (d["gwh"] > 0)]
    return list(zip(allowed["application"], allowed["period"].tolist(), strict=True))


def add_unmet(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set UNMET_ALLOWED (:func:`unmet_allowed`) and variable ``unmet[a, t] >= 0``
    (GWh of demand not served)."""
    m.UNMET_ALLOWED = pyo.Set(
        initialize=unmet_allowed(data),
        dimen=2, ordered=True, doc="(application, period) whose demand may go unmet",
    )
    m.unmet = pyo.Var(m.UNMET_ALLOWED, within=pyo.NonNegativeReals, doc="GWh unmet")


def add_demand_balance(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every application a and period t:

        sum_s x[s, a, t] + unmet[a, t] = demand[a, t]

    (``unmet`` only where the application has an ``unmet_penalty``; with a
    buffer stock, ``- level[a, t] + level[a, t-1]`` as well:
    :mod:`optimizer.model.stock`). A demand
    that no lane can serve and that may not go unmet is recorded in
    the model index as a trivial conflict instead of becoming an empty row.
    """
    lanes = data.lanes
    # pandas-stubs widens ``indices``; at runtime every value is an int64 array
    groups = cast("dict[tuple[str, int], np.ndarray]",
                  lanes.groupby(["application", "period"], sort=False).indices)
    rows: dict[tuple[str, int], tuple[Any, float]] = {}
    for a, t, gwh in data.demand[["application", "period", "gwh"]].itertuples(index=False):
        positions = groups.get((a, t), np.array([], dtype=int))
        variables = pick(m.lane_vars, positions)
        if (a, t) in m.UNMET_ALLOWED:
            variables.append(m.unmet[a, t])
        stock, moved = stock_terms(m, data, str(a), int(t))
        if not variables and not stock:
            if gwh > 0:
                index_of(m).trivial.append(Trivial("demand", gwh=float(gwh), application=a,
                                                   period=int(t)))
            continue
        rows[(a, int(t))] = (linear(None, variables, extra=stock), float(gwh) + moved)
    m.DEMANDS = pyo.Set(initialize=list(rows), dimen=2, ordered=True)
    m.demand_balance = pyo.Constraint(
        m.DEMANDS, rule=lambda m, a, t: rows[(a, t)][0] == rows[(a, t)][1]
    )
    index_of(m).demand.update({key: m.demand_balance[key] for key in rows})
