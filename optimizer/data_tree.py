"""The scenario tree of an adaptive plan (SPEC section 10), as plain data.

Every case (the base case, each scenario) is a *node* with its own plan. A
node's plan equals its parent's in every period before it ``decides_from``
(the scenario's ``from`` plus the lag; the base case decides from the first
period), and is its own from then on. In period t the plan a case follows was
therefore made by its *decider* ``n(k, t)``: the nearest node on the path from
k up to the base case that decides in t. The decider made it knowing its own
data in t; the case then plays it out in its own data.

:func:`node_data` turns the base model data into the data a node's plan is
made with: per period, the decider's capacities, prices and demand (a
scenario's ``from`` onward: every scenario on its path multiplied in). No Pyomo
here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from optimizer.data import ModelData, rule_scopes
from optimizer.data_scenarios import Case, ScenarioData


@dataclass
class Node:
    """One case of the tree and the data its plan is made with.

    ``parent``: the position of the parent node (None for the base case);
    ``decides_from``: the first period of its own plan; ``case``: the case's
    data relative to the base (every factor on its path); ``data``/``sd``: the
    model data its plan is made with (per period, its decider's); ``relief``:
    what the case changes relative to those data (in the periods it inherits
    while its own factors already apply), played out like a two-stage case.
    """

    name: str
    probability: float
    parent: int | None
    decides_from: int
    case: Case
    data: ModelData
    sd: ScenarioData
    relief: Case


def deciders(parents: list[int | None], decides_from: list[int],
             periods: list[int]) -> np.ndarray:
    """``out[k, j]``: the node whose plan case k follows in ``periods[j]``: k
    itself from its ``decides_from`` on, before that its parent's decider."""
    out = np.zeros((len(parents), len(periods)), dtype=np.int64)
    for k in range(len(parents)):
        for j, t in enumerate(periods):
            a: int | None = k
            while a is not None and decides_from[a] > t:
                a = parents[a]
            out[k, j] = 0 if a is None else a
    return out


def mixed_case(cases: list[Case], who: np.ndarray, sd: ScenarioData) -> Case:
    """Per supply and demand row, the factors of the case ``who[period]`` names."""
    col = {t: j for j, t in enumerate(sd.periods)}
    sup_j = np.array([col[int(t)] for t in sd.supplies["period"]], dtype=np.int64)
    row_j = np.array([col[int(t)] for t in sd.demand["period"]], dtype=np.int64)
    pick_s = who[sup_j]
    pick_r = who[row_j]
    cap = np.array([cases[c].capacity[j] for j, c in enumerate(pick_s.tolist())])
    price = np.array([cases[c].price[j] for j, c in enumerate(pick_s.tolist())])
    added = None
    if any(c.price_add is not None for c in cases):
        added = np.array([0.0 if cases[c].price_add is None else cases[c].price_add[j]
                          for j, c in enumerate(pick_s.tolist())])
    demand = None
    if any(c.demand is not None for c in cases):
        demand = np.array([1.0 if cases[c].demand is None else cases[c].demand[r]
                           for r, c in enumerate(pick_r.tolist())])
    return Case("mixed", 1.0, cap, price, price_add=added, demand=demand)


def relief(case: Case, made: Case) -> Case:
    """What ``case`` changes relative to ``made`` (the data its plan was made
    with): capacity, price and demand factors divided out (1 where ``made``'s
    factor is 0: a descendant multiplies factors, so its own is 0 there too),
    the price added beyond ``made``'s, scaled like a price."""
    def ratio(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        safe = np.where(b != 0, b, 1.0)
        return np.where(b != 0, a / safe, 1.0)

    price = ratio(case.price, made.price)
    added = None
    if case.price_add is not None or made.price_add is not None:
        mine = case.price_add if case.price_add is not None else np.zeros(len(price))
        theirs = made.price_add if made.price_add is not None else np.zeros(len(price))
        added = mine - price * theirs
        if not np.any(np.abs(added) > 1e-12):
            added = None
    demand = None
    if case.demand is not None or made.demand is not None:
        n = len(case.demand) if case.demand is not None else len(made.demand)  # type: ignore[arg-type]
        ones = np.ones(n)
        demand = ratio(case.demand if case.demand is not None else ones,
                       made.demand if made.demand is not None else ones)
    return Case(case.name, 1.0, ratio(case.capacity, made.capacity), price, case.kind,
                case.group, case.draws, added, demand)


def node_data(data: ModelData, sd: ScenarioData, made: Case,
              own_unmet_periods: set[int]) -> ModelData:
    """The base model data with ``made``'s factors applied: capacities (and
    the capacity of on/off suppliers and co-funded capacity) times f, ex-works,
    tier and contract prices times g
    plus the price added (tariffs on top, landed costs recomputed), demand times the
    demand factor. Demand of an application without an ``unmet_penalty`` may
    go unmet at ``shortage_penalty`` in ``own_unmet_periods`` (a scenario's own
    plan: what it cannot contract is its own unmet demand). The lanes stay the
    same (a capacity of 0 bounds them at 0), so every node's plan has the same
    variables."""
    supply_pos = {(str(s), int(t)): j for j, (s, t) in enumerate(
        zip(sd.supplies["supplier"], sd.supplies["period"], strict=True))}
    cap = data.capacity.copy()
    f = np.array([made.capacity[supply_pos[(str(s), int(t))]]
                  if (str(s), int(t)) in supply_pos else 1.0
                  for s, t in zip(cap["supplier"], cap["period"], strict=True)])
    cap["gwh"] = cap["gwh"].to_numpy(dtype=float) * f
    switched = data.switched
    if len(switched):
        switched = switched.copy()
        fs = np.array([made.capacity[supply_pos[(str(s), int(t))]]
                       if (str(s), int(t)) in supply_pos else 1.0
                       for s, t in zip(switched["supplier"], switched["period"], strict=True)])
        switched["capacity"] = switched["capacity"].to_numpy(dtype=float) * fs
    lanes = data.lanes.copy()
    j = sd.lane_supply
    ex = lanes["ex_works"].to_numpy(dtype=float) * made.price[j]
    if made.price_add is not None:
        ex = ex + made.price_add[j]
    lanes["ex_works"] = ex
    lanes["tariff"] = lanes["ex_works"] * lanes["tariff_rate"]
    lanes["unit_cost"] = lanes["ex_works"] + lanes["tariff"] + lanes["freight"] + lanes["carbon"]
    tiers = data.tiers
    if len(tiers):  # tier prices scale like the ex-works price (an added price sits on lanes)
        tiers = tiers.copy()
        g = np.array([made.price[supply_pos[(str(s), int(t))]]
                      if (str(s), int(t)) in supply_pos else 1.0
                      for s, t in zip(tiers["supplier"], tiers["period"], strict=True)])
        tiers["price"] = tiers["price"].to_numpy(dtype=float) * g
        tiers["unit_cost"] = tiers["price"] * (1.0 + tiers["tariff_rate"])
    building = data.building
    if not building.empty:  # funded capacity scales like the rest; contract prices too
        def f_of(key: tuple[str, int]) -> float:
            j = supply_pos.get((str(key[0]), int(key[1])))
            return 1.0 if j is None else float(made.capacity[j])

        def g_of(key: tuple[str, int]) -> float:
            j = supply_pos.get((str(key[0]), int(key[1])))
            return 1.0 if j is None else float(made.price[j])

        cp = building.contract_periods.copy()
        if len(cp):
            cp["unit_price"] = cp["unit_price"].to_numpy(dtype=float) * np.array(
                [g_of((s, t)) for s, t in zip(cp["supplier"], cp["period"], strict=True)])
        building = dataclasses.replace(
            building,
            arrivals={key: [(k, step * f_of(key)) for k, step in steps]
                      for key, steps in building.arrivals.items()},
            max_added={key: v * f_of(key) for key, v in building.max_added.items()},
            contract_periods=cp)
    demand = data.demand.copy()
    if made.demand is not None:
        demand["gwh"] = demand["gwh"].to_numpy(dtype=float) * made.demand
    if own_unmet_periods:
        own = demand["period"].astype(int).isin(own_unmet_periods).to_numpy()
        fill = float(data.instance.settings.shortage_penalty)
        demand["unmet_penalty"] = demand["unmet_penalty"].astype(float).where(
            ~own | demand["unmet_penalty"].notna(), fill)
    out = dataclasses.replace(data, capacity=cap, switched=switched, lanes=lanes,
                              demand=demand, tiers=tiers, building=building)
    out.scopes = rule_scopes(data.instance, lanes, demand)
    return out
