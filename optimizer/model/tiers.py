"""Price tiers: incremental prices on a supplier's total volume in a period.

Tier k of supplier s in period t spans ``width[k]`` GWh from ``from_gwh[k]``;
each GWh in it costs the tier price (plus the supplier's tariffs). When prices
rise with volume the LP fills the cheap tiers first by itself; when a later
tier is cheaper, binaries force the tiers to fill in order.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.capacity import supplier_total


def add_tier_volumes(m: pyo.ConcreteModel, data: ModelData) -> None:
    """Variables ``tier_volume[s, t, k]`` in [0, width] and, for falling tiers,
    binaries ``tier_reached[s, t, k]`` (k >= 1): tier k may only be used once
    tier k-1 is full."""
    tiers = data.tiers
    keys = [(s, int(t), int(k)) for s, t, k in tiers[["supplier", "period", "tier"]]
            .itertuples(index=False)] if len(tiers) else []
    width = dict(zip(keys, tiers["width"].tolist() if len(tiers) else [], strict=True))
    m.TIERS = pyo.Set(initialize=keys, dimen=3, ordered=True, doc="(supplier, period, tier)")
    m.tier_volume = pyo.Var(m.TIERS, within=pyo.NonNegativeReals,
                            bounds=lambda m, s, t, k: (0.0, width[(s, t, k)]),
                            doc="GWh bought in the tier")
    falling = data.falling_tiers
    steps = [key for key in keys if key[2] > 0 and (key[0], key[1]) in falling]
    m.TIER_STEPS = pyo.Set(initialize=steps, dimen=3, ordered=True)
    m.tier_reached = pyo.Var(m.TIER_STEPS, within=pyo.Binary,
                             doc="1 if the volume reaches the tier")
    if len(tiers):
        coefs = (tiers["discount"] * tiers["unit_cost"]).tolist()
        m.objective_terms.append((coefs, [m.tier_volume[k] for k in keys]))


def add_tier_balance(m: pyo.ConcreteModel, data: ModelData) -> None:
    """For every tiered (s, t):

        sum_k tier_volume[s, t, k] = sum_a x[s, a, t]

    and for falling tiers, for k >= 1:

        tier_volume[s, t, k-1] >= width[k-1] * tier_reached[s, t, k]
        tier_volume[s, t, k]   <= width[k]   * tier_reached[s, t, k]
    """
    tiers = data.tiers
    by_supply: dict[tuple[str, int], list[int]] = {}
    for s, t, k in m.TIERS:
        by_supply.setdefault((s, t), []).append(k)
    supplies = [key for key in by_supply if key in data.lanes_by_supply]
    m.TIERED = pyo.Set(initialize=supplies, dimen=2, ordered=True)
    m.tier_balance = pyo.Constraint(
        m.TIERED,
        rule=lambda m, s, t: supplier_total(
            m, data, s, t, extra=[(-1.0, m.tier_volume[s, t, k]) for k in by_supply[(s, t)]])
        == 0,
    )
    width = {(s, int(t), int(k)): w for s, t, k, w in
             tiers[["supplier", "period", "tier", "width"]].itertuples(index=False)} \
        if len(tiers) else {}
    m.tier_order_full = pyo.Constraint(
        m.TIER_STEPS,
        rule=lambda m, s, t, k: m.tier_volume[s, t, k - 1]
        - width[(s, t, k - 1)] * m.tier_reached[s, t, k] >= 0,
    )
    m.tier_order_open = pyo.Constraint(
        m.TIER_STEPS,
        rule=lambda m, s, t, k: m.tier_volume[s, t, k]
        - width[(s, t, k)] * m.tier_reached[s, t, k] <= 0,
    )
