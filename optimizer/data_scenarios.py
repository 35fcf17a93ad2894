"""Scenario numbers as plain data: the arrays a play-out or the robust model
needs, and a scenario resolved on them (SPEC section 5). No Pyomo here.

:class:`ScenarioData` (built from the model data by :func:`scenario_data`)
holds per lane, supply and demand row the prices and volumes a play-out reads;
a :class:`Case` holds, per supply, the capacity and price factors of one
scenario. :mod:`optimizer.model.scenarios` builds the robust model from both;
:mod:`optimizer.scenarios` makes the cases and plays plans out in them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import GROUP_COLUMNS, ModelData
from optimizer.data_upstream import Upstream

#: the name of the base case in tables
BASE = "base"


@dataclass
class ScenarioData:
    """The numbers a play-out needs, as arrays (picklable, no Pyomo).

    Lanes are in :attr:`ModelData.lanes` order, supplies in
    :attr:`ModelData.supplies` order, demand rows in :attr:`ModelData.demand`
    order. Prices per lane include the supplier's stacked tariffs:
    ``contract_price`` = ex-works x (1 + tariff) (0 where price tiers carry the
    ex-works cost), ``spot_price`` = list price x (1 + tariff) (the list price
    of a tiered supplier is its first tier's price: a spot buy gets no volume
    discount), ``other_unit`` = freight + carbon.
    """

    lanes: pd.DataFrame            # supplier, application, period
    supplies: pd.DataFrame         # supplier, period, capacity + grouping columns
    demand: pd.DataFrame           # application, period, gwh, unmet_penalty, penalty, discount
    lane_supply: np.ndarray
    lane_demand: np.ndarray
    discount: np.ndarray
    contract_price: np.ndarray
    other_unit: np.ndarray
    spot_price: np.ndarray
    tier_keys: list[tuple[str, int, int]]
    tier_supply: np.ndarray
    tier_from: np.ndarray
    tier_width: np.ndarray
    tier_unit: np.ndarray          # tier price x (1 + tariff)
    tier_discount: np.ndarray
    periods: list[int]
    spot_premium: float
    shortage_penalty: float
    groupings: tuple[str, ...] = GROUP_COLUMNS
    #: 1 + the stacked tariff rate, per lane (a price added ex-works pays duty too)
    tariff_factor: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: per supply: kt of each material per GWh (upstream ``content``)
    content_kg: dict[str, np.ndarray] = field(default_factory=dict)
    #: per supply: (material, stage) -> country -> share of the material from it
    origin_shares: dict[tuple[str, str], dict[str, np.ndarray]] = field(default_factory=dict)
    #: per lane, the list ex-works price (no tariff; a tiered supplier's first tier)
    list_price: np.ndarray = field(default_factory=lambda: np.zeros(0))
    #: the share of its scenario ex-works price a surplus GWh recovers (SPEC section 10)
    surplus_value: float = 0.0
    #: buffer stock (SPEC section 10): per demand row, its application's initial
    #: stock (NaN: no stock), and the row of the same application one period
    #: earlier (-1: the first period)
    stock_initial: np.ndarray = field(default_factory=lambda: np.zeros(0))
    previous_row: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    #: the same columns as arrays (play-outs run many times)
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    demand_gwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    has_penalty: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    row_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self.capacity = self.supplies["capacity"].to_numpy(dtype=float)
        self.demand_gwh = self.demand["gwh"].to_numpy(dtype=float)
        self.has_penalty = self.demand["unmet_penalty"].notna().to_numpy()
        self.row_cost = (self.demand["discount"] * self.demand["penalty"]).to_numpy(dtype=float)

    @property
    def n_lanes(self) -> int:
        return len(self.lanes)

    @property
    def n_supplies(self) -> int:
        return len(self.supplies)

    @property
    def stocked(self) -> np.ndarray:
        """Per demand row: its application holds a buffer stock."""
        return ~np.isnan(self.stock_initial) if len(self.stock_initial) else \
            np.zeros(len(self.demand), dtype=bool)

    def inflow(self, levels: np.ndarray | None) -> np.ndarray:
        """Per demand row, GWh put into stock (negative: taken out) for end-of-period
        ``levels`` (None: every stock stays at its initial level)."""
        if levels is None or not self.stocked.any():
            return np.zeros(len(self.demand))
        before = np.where(self.previous_row >= 0, levels[np.maximum(self.previous_row, 0)],
                          np.nan_to_num(self.stock_initial))
        return np.where(self.stocked, levels - before, 0.0)

    def surplus_price(self, case: Case) -> np.ndarray:
        """Per demand row, the lowest scenario ex-works price (price factor x
        list price) among its lanes: what a surplus GWh is valued at, times
        ``surplus_value`` (inf for a row without lanes)."""
        out = np.full(len(self.demand), np.inf)
        np.minimum.at(out, self.lane_demand, case.price[self.lane_supply] * self.list_price)
        return out

    def origin_share(self, material: str, stage: str, countries: Collection[str]) -> np.ndarray:
        """q: per supply, the share of ``material`` at ``stage`` drawn from ``countries``."""
        q = np.zeros(self.n_supplies)
        for country, share in self.origin_shares.get((material, stage), {}).items():
            if country in countries:
                q = q + share
        return q

    def lane_index(self, allocation: pd.DataFrame) -> np.ndarray:
        """Position in :attr:`lanes` of each (supplier, application, period) row
        of ``allocation`` (-1 where the plan names a lane the model does not have)."""
        keys = pd.MultiIndex.from_frame(self.lanes[["supplier", "application", "period"]])
        probe = pd.MultiIndex.from_arrays([
            allocation["supplier"].astype(str).to_numpy(),
            allocation["application"].astype(str).to_numpy(),
            allocation["period"].astype(int).to_numpy()])
        return np.asarray(keys.get_indexer(probe), dtype=np.int64)


def scenario_data(data: ModelData) -> ScenarioData:
    """Arrays for play-outs and for the robust model, from the model data."""
    inst = data.instance
    lanes = data.lanes
    supplies = data.supplies[["supplier", "period", "capacity"]].copy()
    groupings = (*GROUP_COLUMNS, *inst.settings.attributes)
    sup = data.suppliers
    for by in groupings:
        col = sup[by] if by != "supplier" else sup["supplier"]
        supplies[by] = col.reindex(supplies["supplier"]).to_numpy()
    supplies["period"] = supplies["period"].astype(int)
    upstream = Upstream(inst, supplies)  # supplies carry supplier, period and chemistry
    stages = inst.settings.stages
    origin_shares = {(m.id, k): upstream.shares(m.id, k) for m in inst.materials for k in stages}
    content_kg = {m.id: upstream.kg(m.id) for m in inst.materials}
    lane_supply = np.asarray(data.supply_of_lane, dtype=np.int64)

    demand = data.demand.copy()
    demand["period"] = demand["period"].astype(int)
    demand["penalty"] = demand["unmet_penalty"].astype(float).fillna(
        inst.settings.shortage_penalty)
    demand["discount"] = demand["period"].map(data.discount).astype(float)
    key = pd.MultiIndex.from_frame(demand[["application", "period"]])
    lane_demand = key.get_indexer(pd.MultiIndex.from_arrays([
        lanes["application"].to_numpy(), lanes["period"].astype(int).to_numpy()]))
    assert (lane_demand >= 0).all()

    rate = lanes["tariff_rate"].to_numpy(dtype=float)
    ex_works = lanes["ex_works"].to_numpy(dtype=float)
    list_price = np.zeros(len(supplies))
    np.maximum.at(list_price, lane_supply, ex_works)  # one ex-works price per supply
    tiers = data.tiers
    supply_pos = pd.MultiIndex.from_frame(supplies[["supplier", "period"]])
    if len(tiers):
        tier_supply = supply_pos.get_indexer(pd.MultiIndex.from_arrays([
            tiers["supplier"].to_numpy(), tiers["period"].astype(int).to_numpy()]))
        assert (tier_supply >= 0).all()
        first = tiers[tiers["tier"] == 0]
        first_pos = supply_pos.get_indexer(pd.MultiIndex.from_arrays([
            first["supplier"].to_numpy(), first["period"].astype(int).to_numpy()]))
        list_price[first_pos] = first["price"].to_numpy(dtype=float)
        tier_keys = [(s, int(t), int(k)) for s, t, k in
                     tiers[["supplier", "period", "tier"]].itertuples(index=False)]
        tier_arrays: tuple[np.ndarray, ...] = (
            np.asarray(tier_supply, dtype=np.int64),
            tiers["from_gwh"].to_numpy(dtype=float),
            tiers["width"].to_numpy(dtype=float),
            (tiers["price"] * (1.0 + tiers["tariff_rate"])).to_numpy(dtype=float),
            tiers["period"].astype(int).map(data.discount).to_numpy(dtype=float),
        )
    else:
        tier_keys = []
        tier_arrays = (np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(4)))
    return ScenarioData(
        lanes=lanes[["supplier", "application", "period"]].reset_index(drop=True),
        supplies=supplies.reset_index(drop=True),
        demand=demand[["application", "period", "gwh", "unmet_penalty", "penalty",
                       "discount"]].reset_index(drop=True),
        lane_supply=lane_supply,
        lane_demand=np.asarray(lane_demand, dtype=np.int64),
        discount=lanes["discount"].to_numpy(dtype=float),
        contract_price=ex_works * (1.0 + rate),
        other_unit=(lanes["freight"] + lanes["carbon"]).to_numpy(dtype=float),
        spot_price=list_price[lane_supply] * (1.0 + rate),
        list_price=list_price[lane_supply],
        surplus_value=float(inst.settings.surplus_value),
        stock_initial=demand["application"].map(dict(zip(
            data.stock["application"], data.stock["initial_gwh"], strict=True))).to_numpy(
            dtype=float),
        previous_row=_previous_rows(demand),
        tier_keys=tier_keys,
        tier_supply=tier_arrays[0],
        tier_from=tier_arrays[1],
        tier_width=tier_arrays[2],
        tier_unit=tier_arrays[3],
        tier_discount=tier_arrays[4],
        periods=list(data.periods),
        spot_premium=float(inst.settings.spot_premium),
        shortage_penalty=float(inst.settings.shortage_penalty),
        groupings=groupings,
        tariff_factor=1.0 + rate,
        content_kg=content_kg,
        origin_shares={k: v for k, v in origin_shares.items() if v},
    )


def _previous_rows(demand: pd.DataFrame) -> np.ndarray:
    """Per demand row, the row of the same application in the period before (-1
    in the first period)."""
    at = {(a, int(t)): i for i, (a, t) in enumerate(zip(demand["application"],
                                                        demand["period"], strict=True))}
    periods = sorted({int(t) for t in demand["period"]})
    before = {t: periods[k - 1] for k, t in enumerate(periods) if k > 0}
    return np.array([at.get((a, before.get(int(t), -1)), -1) for a, t in
                     zip(demand["application"], demand["period"], strict=True)],
                    dtype=np.int64)


@dataclass(frozen=True)
class Case:
    """A scenario resolved on the data: per supply (:attr:`ScenarioData.supplies`),
    the capacity factor ``f`` and the price factor ``g``.

    ``kind`` is ``base``, ``scenario`` (from the file), ``sample`` (a draw of a
    scenario with uncertain factors) or ``n-1``; ``group`` names what an N-1
    case knocks out. ``draws`` records the sampled factor values.
    """

    name: str
    probability: float
    capacity: np.ndarray
    price: np.ndarray
    kind: str = "scenario"
    group: str | None = None
    draws: tuple[float, ...] = ()
    #: per supply, USD/kWh added to the ex-works price after ``price`` scales it
    #: (``price_add`` by origin); None: nothing added
    price_add: np.ndarray | None = None
    #: per demand row (:attr:`ScenarioData.demand`), the factor its demand is
    #: multiplied by (``demand_factor``, SPEC section 10); None: unchanged
    demand: np.ndarray | None = None

    @property
    def delivery(self) -> np.ndarray:
        """Share of each contract delivered: ``min(f, 1)``."""
        return np.minimum(self.capacity, 1.0)

    @property
    def disrupted(self) -> bool:
        return bool((self.capacity < 1.0).any())

    def then(self, own: Case) -> Case:
        """This case's data with ``own``'s factors on top (a child scenario on
        its parent's path, SPEC section 10): capacity, price and demand factors
        multiply; prices added add up (after every factor scales the price).
        Name, probability and kind are ``own``'s."""
        def times(a: np.ndarray | None, b: np.ndarray | None) -> np.ndarray | None:
            return b if a is None else a if b is None else a * b

        added = own.price_add if self.price_add is None else (
            self.price_add if own.price_add is None else self.price_add + own.price_add)
        return Case(own.name, own.probability, self.capacity * own.capacity,
                    self.price * own.price, own.kind, own.group, own.draws, added,
                    times(self.demand, own.demand))

    def with_probability(self, p: float) -> Case:
        return Case(self.name, p, self.capacity, self.price, self.kind, self.group, self.draws,
                    self.price_add, self.demand)

    def demand_change(self, sd: ScenarioData) -> np.ndarray:
        """Per demand row, GWh more (or, negative, less) demand than planned."""
        if self.demand is None:
            return np.zeros(len(sd.demand))
        return (self.demand - 1.0) * sd.demand_gwh

    @property
    def changes_demand(self) -> bool:
        return self.demand is not None and bool((self.demand != 1.0).any())

    def added(self, sd: ScenarioData) -> np.ndarray:
        """Per lane, USD/kWh added to the price paid, duty included: ``a_s (1 + tariff)``."""
        if self.price_add is None:
            return np.zeros(sd.n_lanes)
        return self.price_add[sd.lane_supply] * sd.tariff_factor


def base_case(sd: ScenarioData, probability: float) -> Case:
    """The base case: nothing changes (every factor 1)."""
    ones = np.ones(sd.n_supplies)
    return Case(BASE, probability, ones, ones.copy(), kind="base")
