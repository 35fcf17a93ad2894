"""Buffer stock (SPEC section 10): cells of an application bought and held
from period to period, drawn on in a scenario before buying spot.

For an application a with a stock row, ``level[a, t]`` in [0, max_gwh] is what
is held at the end of period t (``initial_gwh`` before the first). The
demand row of (a, t) becomes

    sum_s x[s, a, t] + unmet[a, t] - level[a, t] + level[a, t-1] = demand[a, t]

(:mod:`optimizer.model.demand`): cells bought into stock are ordinary
purchases, under every rule and capacity. Holding costs
``sum_t d_t * holding_cost_a * level[a, t]``. Because what is bought is then
no longer demand minus unmet demand, the rules' covered volume X of these
applications is a column of its own (:mod:`optimizer.model.shares`).
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData


def stock_apps(data: ModelData) -> set[str]:
    """Applications with a stock row."""
    return set(data.stock["application"].astype(str))


def add_stock_levels(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set STOCK_LEVELS ((application, period) of stocked applications) and
    ``level[a, t]`` in [0, max_gwh]; holding costs in the objective."""
    st = data.stock
    cap = dict(zip(st["application"], st["max_gwh"], strict=True))
    hold = dict(zip(st["application"], st["holding_cost"], strict=True))
    keys = [(str(a), int(t)) for a in st["application"] for t in data.periods]
    m.STOCK_LEVELS = pyo.Set(initialize=keys, dimen=2, ordered=True,
                             doc="(application, period) with a buffer stock")
    m.level = pyo.Var(m.STOCK_LEVELS, within=pyo.NonNegativeReals,
                      bounds=lambda m, a, t: (0.0, float(cap[a])),
                      doc="GWh held in stock at the end of the period")
    m.objective_terms.append((
        [data.discount[t] * float(hold[a]) for a, t in keys], [m.level[k] for k in keys]))


def stock_terms(m: pyo.ConcreteModel, data: ModelData, a: str, t: int
                ) -> tuple[list[tuple[float, object]], float]:
    """The terms a demand row of (a, t) gains, ``-level[a, t] + level[a, t-1]``,
    and what moves to its right-hand side (``-initial_gwh`` in the first period)."""
    if (a, t) not in m.STOCK_LEVELS:
        return [], 0.0
    terms: list[tuple[float, object]] = [(-1.0, m.level[a, t])]
    k = data.periods.index(t)
    if k > 0:
        terms.append((1.0, m.level[a, data.periods[k - 1]]))
        return terms, 0.0
    initial = dict(zip(data.stock["application"], data.stock["initial_gwh"], strict=True))
    return terms, -float(initial[a])
