"""Building supply (SPEC section 8): co-funded capacity, offtake contracts and
qualification costs. These are the only rows that tie one period to another.

Notation: V[s, t] = sum_a x[s, a, t] (what supplier s delivers in t, written
out where used: no helper variable), d_t the discount factor, U[s, t] the most
s could deliver in t (its capacity with every expansion that could have
arrived funded, at most the demand it can serve).
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.capacity import supplier_total
from optimizer.model.common import linear
from optimizer.model.index import ContractRow, index_of


def most_delivered(data: ModelData) -> dict[tuple[str, int], float]:
    """U[s, t]: the largest V[s, t] can be (big-M of the on/off rows)."""
    lanes = data.lanes
    demand = data.demand.set_index(["application", "period"])["gwh"]
    servable = demand.reindex(pd.MultiIndex.from_frame(lanes[["application", "period"]]))
    reach = servable.fillna(0.0).to_numpy(dtype=float)
    out = {}
    for (key, positions), cap in zip(data.lanes_by_supply.items(),
                                     data.supplies["max_capacity"].tolist(), strict=True):
        out[key] = min(float(cap), float(reach[positions].sum()))
    return out


def add_funding(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Set FUNDING (rows of ``data.building.funding``) and ``fund[k]``: the
    steps of expansion e funded in period t, integer unless the expansion says
    ``integer: false``:

        0 <= fund[k] <= max_steps[e]
        sum_{k of e} fund[k] <= max_steps[e]       (when e has several funding periods)

    cost: sum_k d_t * cost[e] * fund[k]. The capacity it adds enters the
    supplier's capacity row (:func:`optimizer.model.capacity.add_capacity`).
    """
    f = data.building.funding
    m.FUNDING = pyo.Set(initialize=list(range(len(f))), ordered=True,
                        doc="(expansion, period it may be funded in), as rows of the funding table")
    integer = f["integer"].tolist()
    steps = f["max_steps"].tolist()
    m.fund = pyo.Var(
        m.FUNDING, doc="steps of an expansion funded in a period",
        within=lambda m, k: pyo.NonNegativeIntegers if integer[k] else pyo.NonNegativeReals,
        bounds=lambda m, k: (0.0, float(steps[k])))
    groups: dict[int, list[int]] = {}
    for k, e in enumerate(f["expansion"].tolist()):
        groups.setdefault(int(e), []).append(k)
    groups = {e: ks for e, ks in groups.items() if len(ks) > 1}
    m.EXPANSIONS_SPREAD = pyo.Set(initialize=list(groups), ordered=True,
                                  doc="expansions that may be funded in several periods")
    m.max_steps = pyo.Constraint(
        m.EXPANSIONS_SPREAD,
        rule=lambda m, e: linear(None, [m.fund[k] for k in groups[e]])
        <= float(f["max_steps"].iloc[groups[e][0]]))
    m.objective_terms.append((
        (f["discount"] * f["cost"]).tolist(), [m.fund[k] for k in m.FUNDING]))


def add_qualification(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every supplier s with a qualification cost q_s, binaries
    ``starts[s, t]`` (s delivers for the first time in t):

        sum_t starts[s, t] <= 1
        V[s, t] <= U[s, t] * sum_{tau <= t} starts[s, tau]

    cost: sum_t d_t * q_s * starts[s, t] (charged once, in the first period s
    delivers anything).
    """
    cost = data.building.qualification
    keys = [k for k in data.lanes_by_supply if k[0] in cost]
    m.QUALIFY = pyo.Set(initialize=keys, dimen=2, ordered=True,
                        doc="(supplier, period) of suppliers with a qualification cost")
    m.starts = pyo.Var(m.QUALIFY, within=pyo.Binary,
                       doc="1 in the first period the supplier delivers")
    periods_of: dict[str, list[int]] = {}
    for s, t in keys:
        periods_of.setdefault(s, []).append(t)
    m.QUALIFIED_SUPPLIERS = pyo.Set(initialize=list(periods_of), ordered=True)
    m.qualify_once = pyo.Constraint(
        m.QUALIFIED_SUPPLIERS,
        rule=lambda m, s: linear(None, [m.starts[s, t] for t in periods_of[s]]) <= 1)
    most = most_delivered(data)
    m.qualified_first = pyo.Constraint(
        m.QUALIFY,
        rule=lambda m, s, t: supplier_total(
            m, data, s, t,
            extra=[(-most[(s, t)], m.starts[s, tau]) for tau in periods_of[s] if tau <= t]) <= 0)
    m.objective_terms.append((
        [data.discount[t] * cost[s] for s, t in keys], [m.starts[k] for k in keys]))


def add_contracts(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every contract c with supplier s, over its periods t; y_c = 1 if
    signed (a binary unless the contract is already signed, then 1):

        V[s, t] + short[c, t] >= min_gwh * y_c      (short only with take_or_pay)
        V[s, t] <= max_gwh + U[s, t] * (1 - y_c)     (if max_gwh is given)
        w[c, t] <= V[s, t],  w[c, t] <= U[s, t] * y_c   (optional contracts with a discount)

    cost: + d_t * P[s, t] * short[c, t] (the shortfall paid at the ex-works
    price with tariffs) - d_t * discount * P[s, t] * w[c, t] (the discount on
    what is bought). An already-signed contract's discount is folded into the
    lane costs (:func:`optimizer.data_building.signed_discounts`).
    """
    cp = data.building.contract_periods
    optional = [c for c in dict.fromkeys(cp["contract"]) if not
                bool(cp.loc[cp["contract"] == c, "signed"].iloc[0])]
    m.OPTIONAL_CONTRACTS = pyo.Set(initialize=optional, ordered=True,
                                   doc="contracts the model may sign")
    m.sign = pyo.Var(m.OPTIONAL_CONTRACTS, within=pyo.Binary, doc="1 if the contract is signed")
    most = most_delivered(data)
    rows: list[Any] = list(cp.itertuples(index=False))
    keys = list(range(len(rows)))
    m.CONTRACT_PERIODS = pyo.Set(initialize=keys, ordered=True,
                                 doc="(contract, period), as rows of the contract table")

    def delivered(k: int, extra: list[tuple]) -> pyo.Expression:
        r = rows[k]
        key = (r.supplier, int(r.period))
        if key in data.lanes_by_supply:
            return supplier_total(m, data, r.supplier, int(r.period), extra=extra)
        return linear(None, [], extra=extra)

    def signed_terms(k: int, coef: float) -> list[tuple]:
        """coef * y_c as terms (nothing for an already-signed contract: see ``fixed``)."""
        r = rows[k]
        return [(coef, m.sign[r.contract])] if not r.signed else []

    shortable = [k for k in keys if rows[k].min_gwh > 0 and (
        rows[k].take_or_pay or (rows[k].supplier, int(rows[k].period)) not in data.lanes_by_supply)]
    m.CONTRACT_SHORTFALLS = pyo.Set(initialize=shortable, ordered=True)
    m.contract_short = pyo.Var(
        m.CONTRACT_SHORTFALLS, within=pyo.NonNegativeReals, doc="GWh below a contract's minimum",
        bounds=lambda m, k: (0.0, None if rows[k].take_or_pay else 0.0))
    paid = [k for k in shortable if rows[k].take_or_pay]
    m.objective_terms.append((
        [rows[k].discount_factor * rows[k].unit_price for k in paid],
        [m.contract_short[k] for k in paid]))

    floors = [k for k in keys if rows[k].min_gwh > 0]
    m.CONTRACT_FLOORS = pyo.Set(initialize=floors, ordered=True)

    def floor(m, k):
        r = rows[k]
        extra = [(1.0, m.contract_short[k])] if k in m.CONTRACT_SHORTFALLS else []
        extra += signed_terms(k, -r.min_gwh)
        body = delivered(k, extra)
        return body >= (r.min_gwh if r.signed else 0.0)

    m.contract_min = pyo.Constraint(m.CONTRACT_FLOORS, rule=floor)
    index = index_of(m)
    for k in floors:
        r = rows[k]
        if r.signed:  # a decided contract can always be left unsigned
            index.contracts[(str(r.contract), int(r.period))] = ContractRow(
                str(r.contract), str(r.supplier), int(r.period), float(r.min_gwh),
                m.contract_min[k])

    capped = [k for k in keys if not math.isnan(rows[k].max_gwh)
              and (rows[k].supplier, int(rows[k].period)) in data.lanes_by_supply]
    m.CONTRACT_CAPS = pyo.Set(initialize=capped, ordered=True)

    def cap(m, k):
        r = rows[k]
        big = max(most[(r.supplier, int(r.period))], r.max_gwh)
        body = delivered(k, signed_terms(k, big))
        return body <= r.max_gwh + (0.0 if r.signed else big)

    m.contract_max = pyo.Constraint(m.CONTRACT_CAPS, rule=cap)

    discounted = [k for k in keys if not rows[k].signed and rows[k].discount > 0
                  and (rows[k].supplier, int(rows[k].period)) in data.lanes_by_supply]
    m.CONTRACT_DISCOUNTS = pyo.Set(initialize=discounted, ordered=True)
    m.discounted = pyo.Var(m.CONTRACT_DISCOUNTS, within=pyo.NonNegativeReals,
                           doc="GWh bought at a contract's discount")
    m.discount_volume = pyo.Constraint(
        m.CONTRACT_DISCOUNTS,
        rule=lambda m, k: delivered(k, [(-1.0, m.discounted[k])]) >= 0)
    m.discount_signed = pyo.Constraint(
        m.CONTRACT_DISCOUNTS,
        rule=lambda m, k: m.discounted[k]
        <= most[(rows[k].supplier, int(rows[k].period))] * m.sign[rows[k].contract])
    m.objective_terms.append((
        [-rows[k].discount_factor * rows[k].discount * rows[k].unit_price for k in discounted],
        [m.discounted[k] for k in discounted]))
