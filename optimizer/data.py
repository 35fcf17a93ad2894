"""Model data: everything the optimization model needs, as plain tables.

This is where an :class:`~optimizer.input.instance.Instance` becomes numbers:
which supplier can deliver to which application in which period (a *lane*),
at what landed unit cost, under which rule scopes. No Pyomo here: the model
modules read these tables and trust them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import cast

import numpy as np
import pandas as pd

from optimizer.data_building import Building, building_of, change_scopes, signed_discounts
from optimizer.data_upstream import Upstream, measured_scopes
from optimizer.input.building import expandable
from optimizer.input.instance import Instance
from optimizer.input.schema import AVERAGE_KINDS, CHANGE_KINDS, GROUPED_KINDS, Rule
from optimizer.input.validate import text
from optimizer.scopes import RuleScope

#: the columns a rule's ``by`` can name besides declared attributes
GROUP_COLUMNS = ("supplier", "company", "country", "control", "bloc", "chemistry", "family")


@dataclass
class ModelData:
    """The numbers behind one model.

    ``lanes``: one row per eligible (supplier, application, period), in that
    canonical order, with the supplier's groupings and cost components:
    ``ex_works`` (USD/kWh), ``tariff_rate`` (sum of stacked duties),
    ``tariff`` (USD/kWh), ``freight``, ``carbon``, ``unit_cost`` (landed) and
    ``discount`` (the period's discount factor).
    """

    instance: Instance
    periods: list[int]
    discount: dict[int, float]
    suppliers: pd.DataFrame
    lanes: pd.DataFrame
    capacity: pd.DataFrame  # supplier, period, gwh (positive, within availability)
    demand: pd.DataFrame  # application, period, gwh, unmet_penalty
    scopes: list[RuleScope] = field(default_factory=list)
    excluded: pd.DataFrame = field(default_factory=pd.DataFrame)  # lanes removed by exclude
    #: (supplier, period) with a fixed cost or a minimum order: capacity, fixed_cost, min_order
    switched: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: price tiers per (supplier, period): tier, from_gwh, width, price, tariff_rate, unit_cost
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: co-funded capacity, contracts and qualification costs (SPEC section 8)
    building: Building = field(default_factory=Building)
    #: buffer stock per application (SPEC section 10): application, max_gwh,
    #: holding_cost (USD/kWh per period), initial_gwh
    stock: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(
        columns=["application", "max_gwh", "holding_cost", "initial_gwh"]))

    @property
    def name(self) -> str:
        return self.instance.name

    @cached_property
    def upstream(self) -> Upstream:
        """Material content and origin shares per lane (upstream tables)."""
        return Upstream(self.instance, self.lanes)

    def scopes_of(self, *kinds: str) -> list[tuple[int, RuleScope]]:
        return [(i, s) for i, s in enumerate(self.scopes) if s.rule.kind in kinds]

    @property
    def falling_tiers(self) -> set[tuple[str, int]]:
        """(supplier, period) whose tier prices fall somewhere: they need binaries."""
        if self.tiers.empty:
            return set()
        falling = self.tiers.groupby(["supplier", "period"])["price"].apply(
            lambda p: bool((np.diff(p.to_numpy()) < 0).any()))
        items = cast("Iterable[tuple[tuple[str, int], bool]]", falling.items())
        return {(sup, int(t)) for (sup, t), f in items if f}

    @property
    def tiered(self) -> set[tuple[str, int]]:
        if self.tiers.empty:
            return set()
        return {(sup, int(t)) for sup, t in
                self.tiers[["supplier", "period"]].drop_duplicates().itertuples(index=False)}

    @cached_property
    def lanes_by_supply(self) -> dict[tuple[str, int], np.ndarray]:
        """Lane positions of each (supplier, period): what the supplier delivers."""
        # pandas-stubs widens ``indices``; at runtime every value is an int64 array
        groups = cast("dict[tuple[str, int], np.ndarray]",
                      self.lanes.groupby(["supplier", "period"], sort=False).indices)
        return {(s, int(t)): pos for (s, t), pos in groups.items()}

    @cached_property
    def supplies(self) -> pd.DataFrame:
        """One row per (supplier, period) with at least one lane: ``capacity``
        (what it has without funding) and ``max_capacity`` (with every
        expansion that could have arrived by then fully funded)."""
        keys = list(self.lanes_by_supply)
        df = pd.DataFrame(keys, columns=["supplier", "period"])
        cap = self.capacity.set_index(["supplier", "period"])["gwh"]
        df["capacity"] = cap.reindex(pd.MultiIndex.from_frame(df)).to_numpy()
        added = self.building.max_added
        df["max_capacity"] = df["capacity"].to_numpy(dtype=float) + np.array(
            [added.get(k, 0.0) for k in keys], dtype=float)
        return df

    @cached_property
    def supply_of_lane(self) -> np.ndarray:
        """For each lane, the position of its (supplier, period) in :attr:`supplies`."""
        out = np.empty(len(self.lanes), dtype=np.int64)
        for k, positions in enumerate(self.lanes_by_supply.values()):
            out[positions] = k
        return out

    def coverages(self) -> dict[tuple[int, tuple[str, ...]], np.ndarray]:
        """Each distinct (period, applications) total that some rule refers to."""
        out: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
        for s in self.scopes:
            out.setdefault(s.coverage, s.covered)
        return out


def prepare(inst: Instance) -> ModelData:
    """Turn a validated instance into model data."""
    periods = inst.periods
    t0 = periods[0]
    r = inst.settings.discount_rate
    discount = {t: (1.0 + r) ** -(t - t0) for t in periods}  # underflows to 0, never overflows

    suppliers = _supplier_table(inst)
    capacity = _capacity_table(inst, suppliers)
    building = building_of(inst, discount, _unit_prices(inst, suppliers))
    reach = capacity.copy()  # the most capacity there could be, expansions funded
    reach["gwh"] = reach["gwh"].to_numpy(dtype=float) + np.array(
        [building.max_added.get((sup, int(t)), 0.0)
         for sup, t in zip(reach["supplier"], reach["period"], strict=True)], dtype=float)
    tiers = _tier_table(inst, reach)
    signed = signed_discounts(inst)
    if signed and len(tiers):
        cut = np.array([signed.get((sup, int(t)), 0.0)
                        for sup, t in zip(tiers["supplier"], tiers["period"], strict=True)])
        tiers["price"] = tiers["price"].to_numpy(dtype=float) * (1.0 - cut)
    lanes = _lane_table(inst, suppliers, capacity, discount, tiers, signed)
    lanes, excluded = _apply_exclusions(inst, lanes)
    demand = _demand_table(inst)
    data = ModelData(
        instance=inst,
        periods=periods,
        discount=discount,
        suppliers=suppliers,
        lanes=lanes,
        capacity=capacity,
        demand=demand,
        excluded=excluded,
        switched=_switched_table(inst, capacity),
        tiers=tiers,
        building=building,
        stock=pd.DataFrame([(st.application, float(st.max_gwh), float(st.holding_cost),
                             float(st.initial_gwh)) for st in inst.stock],
                           columns=["application", "max_gwh", "holding_cost", "initial_gwh"]),
    )
    data.scopes = rule_scopes(inst, lanes, demand)
    if len(tiers):
        rates = lanes[["supplier", "period", "tariff_rate", "discount"]].drop_duplicates(
            ["supplier", "period"])
        tiers = tiers.merge(rates, on=["supplier", "period"], how="inner")
        tiers["unit_cost"] = tiers["price"] * (1.0 + tiers["tariff_rate"])
        data.tiers = tiers.reset_index(drop=True)
    return data


def _switched_table(inst: Instance, capacity: pd.DataFrame) -> pd.DataFrame:
    """Supplier-periods that need an on/off decision: a fixed cost or a minimum order."""
    fixed = {s.id: s.fixed_cost or 0.0 for s in inst.suppliers}
    min_order = {s.id: s.min_order or 0.0 for s in inst.suppliers}
    df = capacity.assign(
        fixed_cost=capacity["supplier"].map(fixed).astype(float),
        min_order=capacity["supplier"].map(min_order).astype(float),
    )
    df = df[(df["fixed_cost"] > 0) | (df["min_order"] > 0)]
    return df.rename(columns={"gwh": "capacity"}).reset_index(drop=True)


def _tier_table(inst: Instance, capacity: pd.DataFrame) -> pd.DataFrame:
    """Incremental price tiers per (supplier, period) where the supplier can deliver.

    A list given for the period wins over the supplier's list without a period.
    ``width`` is the GWh the tier spans (the last tier runs to the capacity);
    tiers that start at or beyond the capacity are left out.
    """
    columns = ["supplier", "period", "tier", "from_gwh", "width", "price"]
    if not inst.price_tiers:
        return pd.DataFrame(columns=columns)
    lists: dict[tuple[str, int | None], list[tuple[float, float]]] = {}
    for t in inst.price_tiers:
        lists.setdefault((t.supplier, t.period), []).append((t.from_gwh, t.price))
    rows = []
    for sup, period, cap in capacity[["supplier", "period", "gwh"]].itertuples(index=False):
        tiers = lists.get((sup, int(period)), lists.get((sup, None)))
        if tiers is None:
            continue
        tiers = sorted(tiers)
        for k, (start, price) in enumerate(tiers):
            if start >= cap and k > 0:
                break
            end = tiers[k + 1][0] if k + 1 < len(tiers) else cap
            rows.append((sup, int(period), k, start, min(end, cap) - start, price))
    return pd.DataFrame(rows, columns=columns)


def _supplier_table(inst: Instance) -> pd.DataFrame:
    family = {c.id: c.family for c in inst.chemistries}
    bloc = {c.id: c.bloc for c in inst.countries}
    rows = []
    for s in inst.suppliers:
        row = {
            "supplier": s.id,
            "company": s.company,
            "country": s.country,
            "control": s.control or s.country,
            "bloc": bloc.get(s.country),
            "chemistry": s.chemistry,
            "family": family[s.chemistry],
            "price": s.price,
            "freight": s.freight or 0.0,
            "carbon_intensity": s.carbon_intensity,
            "available_from": s.available_from,
            "available_until": s.available_until,
            "scalar_capacity": s.capacity or 0.0,
        }
        for name in inst.settings.attributes:
            value = s.attributes.get(name)
            row[name] = None if value is None else text(value)
        rows.append(row)
    df = pd.DataFrame(rows)
    df["order"] = np.arange(len(df))
    return df.set_index("supplier", drop=False)


def _capacity_table(inst: Instance, suppliers: pd.DataFrame) -> pd.DataFrame:
    """Capacity per supplier and period where a supplier can deliver at all."""
    periods = inst.periods
    grid = pd.DataFrame(
        {
            "supplier": np.repeat(suppliers["supplier"].to_numpy(), len(periods)),
            "period": np.tile(np.array(periods, dtype=int), len(suppliers)),
            "gwh": np.repeat(suppliers["scalar_capacity"].to_numpy(dtype=float), len(periods)),
        }
    )
    if inst.capacity:
        override = pd.DataFrame(
            [(c.supplier, c.period, c.gwh) for c in inst.capacity],
            columns=["supplier", "period", "gwh_override"],
        )
        grid = grid.merge(override, on=["supplier", "period"], how="left")
        grid["gwh"] = grid["gwh_override"].fillna(grid["gwh"])
        grid = grid.drop(columns="gwh_override")
    lo = suppliers["available_from"].reindex(grid["supplier"]).to_numpy(dtype=float)
    hi = suppliers["available_until"].reindex(grid["supplier"]).to_numpy(dtype=float)
    t = grid["period"].to_numpy(dtype=float)
    funded = expandable(inst)  # periods an expansion could give capacity to
    could = np.array([int(p) in funded.get(sup, ()) for sup, p in
                      zip(grid["supplier"], grid["period"], strict=True)], dtype=bool) \
        if funded else np.zeros(len(grid), dtype=bool)
    ok = ((grid["gwh"].to_numpy() > 0) | could) & ~(t < lo) & ~(t > hi)
    return grid[ok].reset_index(drop=True)


def _lane_table(
    inst: Instance,
    suppliers: pd.DataFrame,
    capacity: pd.DataFrame,
    discount: dict[int, float],
    tiers: pd.DataFrame,
    signed: dict[tuple[str, int], float] | None = None,
) -> pd.DataFrame:
    allowed = pd.DataFrame(
        [(a.id, c, i) for i, a in enumerate(inst.applications) for c in a.chemistries],
        columns=["application", "chemistry", "app_order"],
    )
    sp = capacity[["supplier", "period"]].merge(
        suppliers.drop(columns=["supplier"]).reset_index(), on="supplier"
    )
    # ex-works price per supplier and period
    price = sp["price"].astype(float)
    if inst.prices:
        override = pd.DataFrame(
            [(p.supplier, p.period, p.price) for p in inst.prices],
            columns=["supplier", "period", "price_override"],
        )
        sp = sp.merge(override, on=["supplier", "period"], how="left")
        price = sp["price_override"].fillna(sp["price"]).astype(float)
    # where price tiers apply, the tier variables carry the ex-works cost (and its
    # tariff); the lane itself then costs only freight and carbon
    tiered = pd.MultiIndex.from_frame(tiers[["supplier", "period"]].drop_duplicates()) \
        if len(tiers) else None
    sp["tiered"] = (
        pd.MultiIndex.from_frame(sp[["supplier", "period"]]).isin(tiered)
        if tiered is not None else np.zeros(len(sp), dtype=bool)
    )
    sp["ex_works"] = np.where(sp["tiered"], 0.0, price.fillna(0.0))
    if signed:  # an already-signed contract's discount lowers the ex-works price
        cut = np.array([signed.get((sup, int(t)), 0.0)
                        for sup, t in zip(sp["supplier"], sp["period"], strict=True)])
        sp["ex_works"] = sp["ex_works"].to_numpy(dtype=float) * (1.0 - cut)
    sp["tariff_rate"] = _tariff_rates(inst, sp)
    sp["carbon"] = sp["carbon_intensity"].fillna(0.0).astype(float) * (
        inst.settings.carbon_price / 1000.0
    )
    lanes = sp.merge(allowed, on="chemistry")
    if inst.lanes:
        lane_freight = pd.DataFrame(
            [(x.supplier, x.application, x.freight) for x in inst.lanes],
            columns=["supplier", "application", "lane_freight"],
        )
        lanes = lanes.merge(lane_freight, on=["supplier", "application"], how="left")
        lanes["freight"] = lanes["lane_freight"].fillna(lanes["freight"])
        lanes = lanes.drop(columns="lane_freight")
    lanes["freight"] = lanes["freight"].astype(float)
    lanes["tariff"] = lanes["ex_works"] * lanes["tariff_rate"]
    lanes["unit_cost"] = lanes["ex_works"] + lanes["tariff"] + lanes["freight"] + lanes["carbon"]
    lanes["discount"] = lanes["period"].map(discount).astype(float)
    lanes = lanes.sort_values(["order", "app_order", "period"], kind="stable")
    keep = [
        "supplier", "application", "period", *GROUP_COLUMNS[1:], *inst.settings.attributes,
        "carbon_intensity", "tiered", "ex_works", "tariff_rate", "tariff", "freight", "carbon",
        "unit_cost", "discount",
    ]
    return lanes[keep].reset_index(drop=True)


def _unit_prices(inst: Instance, suppliers: pd.DataFrame) -> dict[tuple[str, int], float]:
    """(supplier, period) -> ex-works price with tariffs (USD/kWh), for the
    suppliers under contract: what a take-or-pay shortfall costs and what a
    contract discount is taken from. A supplier priced only by tiers: its
    first tier's price."""
    keys = sorted({(c.supplier, t) for c in inst.contracts for t in inst.periods})
    if not keys:
        return {}
    sp = pd.DataFrame(keys, columns=["supplier", "period"]).merge(
        suppliers.drop(columns=["supplier"]).reset_index(), on="supplier")
    override = {(p.supplier, p.period): p.price for p in inst.prices}
    first_tier: dict[tuple[str, int | None], tuple[float, float]] = {}
    for tier in inst.price_tiers:
        key = (tier.supplier, tier.period)
        if key not in first_tier or tier.from_gwh < first_tier[key][0]:
            first_tier[key] = (tier.from_gwh, tier.price)
    prices = []
    for sup, t, base in zip(sp["supplier"], sp["period"], sp["price"], strict=True):
        price = override.get((sup, int(t)))
        if price is None and not pd.isna(base):
            price = float(base)
        if price is None:
            first = first_tier.get((sup, int(t)), first_tier.get((sup, None)))
            price = first[1] if first is not None else 0.0
        prices.append(float(price))
    rates = _tariff_rates(inst, sp)
    return {(sup, int(t)): p * (1.0 + r) for sup, t, p, r in
            zip(sp["supplier"], sp["period"], prices, rates, strict=True)}


def _tariff_rates(inst: Instance, sp: pd.DataFrame) -> np.ndarray:
    """Sum of every tariff row matching each (supplier, period): duties stack."""
    rate = np.zeros(len(sp))
    country = sp["country"].to_numpy()
    chemistry = sp["chemistry"].to_numpy()
    family = sp["family"].to_numpy()
    period = sp["period"].to_numpy()
    for t in inst.tariffs:
        mask = country == t.origin
        if t.chemistry is not None:
            mask &= chemistry == t.chemistry
        if t.family is not None:
            mask &= family == t.family
        if t.from_ is not None:
            mask &= period >= t.from_
        if t.until is not None:
            mask &= period <= t.until
        rate[mask] += t.rate
    return rate


def _scope_mask(rule: Rule, lanes: pd.DataFrame) -> np.ndarray:
    mask = np.ones(len(lanes), dtype=bool)
    if rule.applications is not None:
        mask &= lanes["application"].isin(rule.applications).to_numpy()
    if rule.periods is not None:
        mask &= lanes["period"].isin(rule.periods).to_numpy()
    return mask


def _apply_exclusions(inst: Instance, lanes: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove the lanes an ``exclude`` rule forbids; keep them aside for reports."""
    upstream = Upstream(inst, lanes)
    hit = np.zeros(len(lanes), dtype=bool)
    by_rule = np.full(len(lanes), None, dtype=object)
    for rule in inst.rules:
        if rule.kind != "exclude":
            continue
        assert rule.by is not None and rule.group is not None
        if rule.by_origin:
            assert rule.material is not None and rule.stage is not None
            # cells without the material carry none from the group, whatever origins say
            mask = _scope_mask(rule, lanes) & (upstream.kg(rule.material) > 0) & (
                upstream.share_of(rule.material, rule.stage, rule.group) > 0)
        else:
            mask = _scope_mask(rule, lanes) & lanes[rule.by].isin(rule.group).to_numpy()
        by_rule[mask & ~hit] = rule.name
        hit |= mask
    excluded = lanes[hit].assign(excluded_by=by_rule[hit]).reset_index(drop=True)
    return lanes[~hit].reset_index(drop=True), excluded


def _demand_table(inst: Instance) -> pd.DataFrame:
    penalty = {a.id: a.unmet_penalty for a in inst.applications}
    given = {(d.application, d.period): d.gwh for d in inst.demand}
    rows = [
        (a.id, t, given.get((a.id, t), 0.0), penalty[a.id])
        for a in inst.applications
        for t in inst.periods
    ]
    df = pd.DataFrame(rows, columns=["application", "period", "gwh", "unmet_penalty"])
    return df


def rule_scopes(inst: Instance, lanes: pd.DataFrame, demand: pd.DataFrame) -> list[RuleScope]:
    scopes: list[RuleScope] = []
    demand_of = demand.set_index(["application", "period"])["gwh"]
    app_ids = [a.id for a in inst.applications]
    # lanes covered by each (period, applications): many rules share them, and
    # comparing integer codes is much faster than matching strings per rule
    period_of_lane = lanes["period"].to_numpy()
    app_code = pd.Categorical(lanes["application"], categories=app_ids).codes
    covered_by: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}
    upstream = Upstream(inst, lanes)

    def lanes_covered(t: int, apps: tuple[str, ...]) -> np.ndarray:
        if (t, apps) not in covered_by:
            wanted = np.isin(np.arange(len(app_ids)), [app_ids.index(a) for a in apps])
            covered = np.flatnonzero((period_of_lane == t) & wanted[app_code])
            covered.flags.writeable = False  # shared by the scopes of several rules
            covered_by[(t, apps)] = covered
        return covered_by[(t, apps)]

    for rule in inst.rules:
        if rule.kind == "exclude":
            continue  # enforced by removing lanes
        periods = rule.periods if rule.periods is not None else inst.periods
        covered_apps = [a for a in app_ids if rule.applications is None or a in rule.applications]
        app_scopes: list[str | None] = list(covered_apps) if rule.per_application else [None]
        values: list[str] | None = None
        if rule.by_origin and rule.group is None:
            assert rule.material is not None and rule.stage is not None
            values = upstream.countries(rule.material, rule.stage)
        elif rule.by is not None and rule.group is None:
            values = sorted({v for v in _supplier_values(inst, rule.by) if v is not None})
        if rule.kind in CHANGE_KINDS:
            scopes.extend(change_scopes(rule, inst.periods, app_scopes, covered_apps, lanes,
                                        lanes_covered, values))
            continue
        for t in periods:
            for app in app_scopes:
                apps = tuple(covered_apps) if app is None else (app,)
                covered = lanes_covered(t, apps)
                coverage = (t, apps)
                weights = None
                if rule.kind in AVERAGE_KINDS:
                    assert rule.attribute is not None
                    weights = lanes[rule.attribute].to_numpy()[covered].astype(float)
                    scopes.append(RuleScope(rule, t, app, None, covered, covered, coverage,
                                            weights))
                    continue
                assert rule.by is not None
                if rule.by_origin or rule.measure == "spend":
                    scopes.extend(measured_scopes(rule, t, app, apps, covered, values, lanes,
                                                  upstream))
                    continue
                by_col = lanes[rule.by].to_numpy()[covered]
                if rule.kind in GROUPED_KINDS:
                    # each listed value (or every value) is a group of its own
                    names = list(rule.group) if rule.group is not None else values
                    assert names is not None
                    groups = {g: covered[by_col == g] for g in names}
                    most = float(sum(demand_of.get((a, t), 0.0) for a in apps))
                    scopes.append(RuleScope(rule, t, app, None, covered[:0], covered, coverage,
                                            groups=groups, max_covered=most))
                    continue
                if values is None:
                    assert rule.group is not None
                    member = covered[np.isin(by_col, rule.group)]
                    scopes.append(RuleScope(rule, t, app, None, member, covered, coverage))
                else:
                    positions = pd.Series(covered).groupby(by_col).indices if len(covered) else {}
                    for v in values:
                        idx = positions.get(v)
                        member = covered[idx] if idx is not None else covered[:0]
                        scopes.append(RuleScope(rule, t, app, v, member, covered, coverage))
    return scopes


def _supplier_values(inst: Instance, by: str) -> set[str | None]:
    """Values of a grouping that occur among the suppliers."""
    family = {c.id: c.family for c in inst.chemistries}
    bloc = {c.id: c.bloc for c in inst.countries}
    out: set[str | None] = set()
    for s in inst.suppliers:
        if by == "supplier":
            out.add(s.id)
        elif by == "company":
            out.add(s.company)
        elif by == "country":
            out.add(s.country)
        elif by == "control":
            out.add(s.control or s.country)
        elif by == "bloc":
            out.add(bloc.get(s.country))
        elif by == "chemistry":
            out.add(s.chemistry)
        elif by == "family":
            out.add(family[s.chemistry])
        else:
            value = s.attributes.get(by)
            out.add(None if value is None else text(value))
    return out
