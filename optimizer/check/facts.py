"""The instance's facts recomputed for a plan, from its tables alone:
eligibility, capacities, prices, tariffs, tiers, rule scopes and groups."""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from dataclasses import dataclass
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from optimizer.check.base import _text
from optimizer.input.instance import Instance


class _Facts:
    """The instance's tables as lookups, worked out here from the rows themselves.

    Besides the per-item lookups, the same facts as arrays indexed by positions
    (``sup_pos``, ``app_pos``, ``period_pos``): ``[supplier, period]`` matrices
    of capacity, price, tariff and tiers, ``[supplier, application]`` ones of
    freight and chemistry, and per-supplier vectors; each is built once, the
    first time it is needed, from the same lookups."""

    def __init__(self, inst: Instance,
                 added: dict[tuple[str, int], float] | None = None):
        """``added``: capacity a plan's co-funded expansions add, per (supplier,
        period) (:func:`optimizer.check.building.funded_capacity`)."""
        self.inst = inst
        self.added = dict(added or {})
        # already-signed contracts lower the ex-works price (SPEC section 8)
        self.cut: dict[tuple[str, int], float] = {}
        for c in inst.contracts:
            if c.signed and c.discount > 0:
                for t in inst.periods:
                    if (c.from_ is None or t >= c.from_) and (c.until is None or t <= c.until):
                        self.cut[(c.supplier, t)] = c.discount
        self.periods = list(inst.periods)
        t0 = self.periods[0]
        r = inst.settings.discount_rate
        self.discount = {t: (1.0 + r) ** -(t - t0) for t in self.periods}
        self.family = {c.id: c.family for c in inst.chemistries}
        self.bloc = {c.id: c.bloc for c in inst.countries}
        self.apps = {a.id: a for a in inst.applications}
        self.sup = {s.id: s for s in inst.suppliers}
        self.cap_rows = {(c.supplier, c.period): c.gwh for c in inst.capacity}
        self.price_rows = {(p.supplier, p.period): p.price for p in inst.prices}
        self.lane_freight = {(x.supplier, x.application): x.freight for x in inst.lanes}
        tiers: dict[tuple[str, int | None], list[tuple[float, float]]] = defaultdict(list)
        for row in inst.price_tiers:
            tiers[(row.supplier, row.period)].append((row.from_gwh, row.price))
        self.tier_rows = {k: sorted(v) for k, v in tiers.items()}
        self.demand = {(d.application, d.period): d.gwh for d in inst.demand}
        # positions of suppliers, applications and periods in the arrays below
        self.sup_pos = pd.Index(list(self.sup), dtype=object)
        self.app_pos = pd.Index(list(self.apps), dtype=object)
        self.period_pos = pd.Index(self.periods)
        self.app_at = {a: i for i, a in enumerate(self.apps)}
        self.period_at = {t: j for j, t in enumerate(self.periods)}
        self._value_maps: dict[str, dict[str, str | None]] = {}
        self._values: dict[str, list[str]] = {}
        self._arrays: dict[Any, np.ndarray] = {}
        # upstream: kg of each material per kWh of each chemistry, and origin shares
        self.content = {(c.chemistry, c.material): c.kg_per_kwh for c in inst.content}
        self.origin_rows: dict[tuple[str, str, str], dict[int | None, dict[str, float]]] = \
            defaultdict(lambda: defaultdict(dict))
        for o in inst.origins:
            shares = self.origin_rows[(o.supplier, o.material, o.stage)][o.period]
            shares[o.country] = shares.get(o.country, 0.0) + o.share
        self.countries = sorted(c.id for c in inst.countries)

    def value(self, s: str, by: str) -> str | None:
        """The group supplier ``s`` belongs to under ``by`` (None: no group)."""
        return self.value_map(by)[s]

    def values(self, by: str) -> list[str]:
        """Every value of ``by`` that occurs among the suppliers (for ``origin``:
        every country)."""
        if by == "origin":
            return self.countries
        if by not in self._values:
            self._values[by] = sorted({v for v in self.value_map(by).values() if v is not None})
        return self._values[by]

    def value_map(self, by: str) -> dict[str, str | None]:
        """Supplier id -> its group under ``by`` (worked out once per grouping)."""
        if by not in self._value_maps:
            sps = self.sup.values()
            vm: dict[str, str | None]
            if by in ("supplier", "company", "country", "chemistry"):
                name = "id" if by == "supplier" else by
                vm = {sp.id: getattr(sp, name) for sp in sps}
            elif by == "control":
                vm = {sp.id: sp.control if sp.control is not None else sp.country for sp in sps}
            elif by == "bloc":
                vm = {sp.id: self.bloc.get(sp.country) for sp in sps}
            elif by == "family":
                vm = {sp.id: self.family.get(sp.chemistry) for sp in sps}
            else:  # an attribute of the suppliers
                vm = {}
                for sp in sps:
                    v = sp.attributes.get(by)
                    vm[sp.id] = None if v is None else _text(v)
            self._value_maps[by] = vm
        return self._value_maps[by]

    def number(self, s: str, attribute: str) -> float:
        sp = self.sup[s]
        v = sp.carbon_intensity if attribute == "carbon_intensity" else \
            sp.attributes.get(attribute)
        try:
            return float(v) if v is not None else math.nan
        except (TypeError, ValueError):
            return math.nan

    def capacity(self, s: str, t: int) -> float:
        """Capacity in t, with what the plan's funded expansions add."""
        base = self.cap_rows[(s, t)] if (s, t) in self.cap_rows else \
            self.sup[s].capacity or 0.0
        return base + self.added.get((s, t), 0.0)

    def available(self, s: str, t: int) -> bool:
        sp = self.sup[s]
        return not ((sp.available_from is not None and t < sp.available_from)
                    or (sp.available_until is not None and t > sp.available_until))

    def tiers(self, s: str, t: int) -> list[tuple[float, float]] | None:
        return self.tier_rows.get((s, t)) or self.tier_rows.get((s, None))

    def price(self, s: str, t: int) -> float:
        """Ex-works price in t (less an already-signed contract's discount)."""
        cut = 1.0 - self.cut.get((s, t), 0.0)
        if (s, t) in self.price_rows:
            return self.price_rows[(s, t)] * cut
        p = self.sup[s].price
        return math.nan if p is None else p * cut

    def tariff(self, s: str, t: int) -> float:
        sp = self.sup[s]
        return self._tariff(sp.country, sp.chemistry, t)

    def _tariff(self, origin: str, chemistry: str, t: int) -> float:
        """The summed tariff rate on cells of ``chemistry`` made in ``origin`` in ``t``."""
        rate = 0.0
        for row in self.inst.tariffs:
            if row.origin != origin:
                continue
            if row.chemistry is not None and row.chemistry != chemistry:
                continue
            if row.family is not None and row.family != self.family.get(chemistry):
                continue
            if row.from_ is not None and t < row.from_:
                continue
            if row.until is not None and t > row.until:
                continue
            rate += row.rate
        return rate

    def freight(self, s: str, a: str) -> float:
        if (s, a) in self.lane_freight:
            return self.lane_freight[(s, a)]
        return self.sup[s].freight or 0.0

    def carbon(self, s: str) -> float:
        return (self.sup[s].carbon_intensity or 0.0) * self.inst.settings.carbon_price / 1000.0

    def tier_cost(self, s: str, t: int, total: float) -> float:
        """Ex-works cost (before tariffs) of ``total`` GWh under the supplier's tiers:
        each tier's price applies to the GWh within it."""
        tiers = self.tiers(s, t) or []
        cost = 0.0
        for k, (start, price) in enumerate(tiers):
            end = tiers[k + 1][0] if k + 1 < len(tiers) else math.inf
            cost += price * max(0.0, min(total, end) - start)
        return cost * (1.0 - self.cut.get((s, t), 0.0))

    def kg(self, s: str, material: str) -> float:
        """kg of ``material`` per kWh of supplier ``s``'s cells (kt per GWh)."""
        return self.content.get((self.sup[s].chemistry, material), 0.0)

    def origin(self, s: str, material: str, stage: str, t: int) -> dict[str, float]:
        """Country -> share of ``material`` at ``stage`` in supplier ``s``'s cells in
        ``t``: the rows for ``t`` if there are any, else the rows without a period."""
        by_period = self.origin_rows.get((s, material, stage), {})
        return by_period.get(t) or by_period.get(None) or {}

    def excluded_by(self, s: str, a: str, t: int) -> str | None:
        for rule in self.inst.rules:
            if rule.kind != "exclude" or rule.by is None or rule.group is None:
                continue
            if rule.applications is not None and a not in rule.applications:
                continue
            if rule.periods is not None and t not in rule.periods:
                continue
            if rule.by_origin:
                assert rule.material is not None and rule.stage is not None
                shares = self.origin(s, rule.material, rule.stage, t)
                if self.kg(s, rule.material) > 0 and \
                        sum(shares.get(g, 0.0) for g in rule.group) > 0:
                    return rule.name
            elif self.value(s, rule.by) in rule.group:
                return rule.name
        return None

    # --- the same facts as arrays --------------------------------------------------

    def _array(self, key: Any, make: Any) -> np.ndarray:
        if key not in self._arrays:
            self._arrays[key] = make()
        return self._arrays[key]

    def _by_supplier_period(self, default: list[float],
                            rows: dict[tuple[str, int], float]) -> np.ndarray:
        """A [supplier, period] matrix: the per-period row where there is one, else the
        supplier's own value."""
        out = np.repeat(np.array(default, dtype=float)[:, None], len(self.periods), axis=1)
        if rows:
            keys = list(rows)
            i = _at(self.sup_pos, [k[0] for k in keys])
            j = _at(self.period_pos, [k[1] for k in keys])
            ok = (i >= 0) & (j >= 0)
            out[i[ok], j[ok]] = np.fromiter(rows.values(), dtype=float, count=len(keys))[ok]
        return out

    def capacities(self) -> np.ndarray:
        """[supplier, period] :meth:`capacity`."""
        def make() -> np.ndarray:
            out = self._by_supplier_period([sp.capacity or 0.0 for sp in self.sup.values()],
                                           self.cap_rows)
            for (s, t), gwh in self.added.items():
                if s in self.sup and t in self.period_at:
                    out[self.sup_pos.get_loc(s), self.period_at[t]] += gwh
            return out
        return self._array("capacity", make)

    def prices(self) -> np.ndarray:
        """[supplier, period] :meth:`price` (NaN: none)."""
        def make() -> np.ndarray:
            out = self._by_supplier_period(
                [math.nan if sp.price is None else sp.price for sp in self.sup.values()],
                self.price_rows)
            for (s, t), cut in self.cut.items():
                if s in self.sup and t in self.period_at:
                    out[self.sup_pos.get_loc(s), self.period_at[t]] *= 1.0 - cut
            return out
        return self._array("price", make)

    def tariffs(self) -> np.ndarray:
        """[supplier, period] :meth:`tariff`, worked out once per origin and chemistry."""
        def make() -> np.ndarray:
            rates: dict[tuple[str, str], list[float]] = {}
            rows = []
            for sp in self.sup.values():
                key = (sp.country, sp.chemistry)
                if key not in rates:
                    rates[key] = [self._tariff(sp.country, sp.chemistry, t)
                                  for t in self.periods]
                rows.append(rates[key])
            return np.array(rows, dtype=float).reshape(len(self.sup), len(self.periods))
        return self._array("tariff", make)

    def tiered(self) -> np.ndarray:
        """[supplier, period]: does the supplier sell on price tiers then?"""
        return self._array("tiered", lambda: ~np.isnan(self.top_tier_prices()))

    def top_tier_prices(self) -> np.ndarray:
        """[supplier, period] highest tier price (NaN: no tiers)."""
        def make() -> np.ndarray:
            out = np.full((len(self.sup), len(self.periods)), math.nan)
            for s in {s for s, _ in self.tier_rows}:
                if s not in self.sup:
                    continue
                i = self.sup_pos.get_loc(s)
                for j, t in enumerate(self.periods):
                    tiers = self.tiers(s, t)
                    if tiers:
                        out[i, j] = max(p for _, p in tiers)
            return out
        return self._array("top_tier", make)

    def freights(self) -> np.ndarray:
        """[supplier, application] :meth:`freight`."""
        def make() -> np.ndarray:
            out = np.repeat(np.array([sp.freight or 0.0 for sp in self.sup.values()],
                                     dtype=float)[:, None], len(self.apps), axis=1)
            if self.lane_freight:
                keys = list(self.lane_freight)
                i = _at(self.sup_pos, [k[0] for k in keys])
                j = _at(self.app_pos, [k[1] for k in keys])
                ok = (i >= 0) & (j >= 0)
                values = np.fromiter(self.lane_freight.values(), dtype=float, count=len(keys))
                out[i[ok], j[ok]] = values[ok]
            return out
        return self._array("freight", make)

    def carbons(self) -> np.ndarray:
        """Per supplier :meth:`carbon`."""
        return self._array("carbon", lambda: np.array([self.carbon(s) for s in self.sup],
                                                      dtype=float))

    def per_supplier(self, name: str) -> np.ndarray:
        """Per supplier ``min_order`` or ``fixed_cost`` (0 where not given)."""
        return self._array(name, lambda: np.array(
            [getattr(sp, name) or 0.0 for sp in self.sup.values()], dtype=float))

    def lane_ok(self) -> np.ndarray:
        """[supplier, application]: is the supplier's chemistry allowed for it?"""
        def make() -> np.ndarray:
            chem = [sp.chemistry for sp in self.sup.values()]
            code, uniques = pd.factorize(np.array(chem, dtype=object))
            allowed = np.array([[c in app.chemistries for app in self.apps.values()]
                                for c in uniques], dtype=bool).reshape(len(uniques),
                                                                       len(self.apps))
            return allowed[code]
        return self._array("lane_ok", make)

    def availability(self) -> np.ndarray:
        """[supplier, period] :meth:`available`."""
        def make() -> np.ndarray:
            sps = list(self.sup.values())
            never, always = int(np.iinfo(np.int64).min), int(np.iinfo(np.int64).max)
            first = np.array([never if sp.available_from is None else sp.available_from
                              for sp in sps], dtype=np.int64)
            last = np.array([always if sp.available_until is None else sp.available_until
                             for sp in sps], dtype=np.int64)
            t = np.array(self.periods, dtype=np.int64)[None, :]
            return (t >= first[:, None]) & (t <= last[:, None])
        return self._array("available", make)

    def group_codes(self, by: str) -> np.ndarray:
        """Per supplier, the position of its group under ``by`` in :meth:`values`
        (-1: no group)."""
        def make() -> np.ndarray:
            pos = {v: k for k, v in enumerate(self.values(by))}
            return np.array([-1 if v is None else pos[v] for v in self.value_map(by).values()],
                            dtype=np.intp)
        return self._array(("group", by), make)

    def in_group(self, by: str, group: list[str]) -> np.ndarray:
        """Per supplier: is its value under ``by`` in ``group``?"""
        return np.array([v in group for v in self.value_map(by).values()], dtype=bool)

    def numbers(self, attribute: str) -> np.ndarray:
        """Per supplier :meth:`number`."""
        return self._array(("number", attribute), lambda: np.array(
            [self.number(s, attribute) for s in self.sup], dtype=float))


@dataclass
class _Rows:
    """The plan's rows as positions into the facts' arrays."""

    sup: np.ndarray
    app: np.ndarray
    period: np.ndarray
    gwh: np.ndarray
    #: the rows of each period (by position), in plan order
    by_period: list[np.ndarray]

    @classmethod
    def of(cls, facts: _Facts, plan: pd.DataFrame) -> _Rows:
        period = _at(facts.period_pos, plan["period"])
        order = np.argsort(period, kind="stable")
        starts = np.searchsorted(period[order], np.arange(len(facts.periods) + 1))
        return cls(sup=_at(facts.sup_pos, plan["supplier"]),
                   app=_at(facts.app_pos, plan["application"]), period=period,
                   gwh=plan["gwh"].to_numpy(dtype=float),
                   by_period=[order[starts[j]:starts[j + 1]]
                              for j in range(len(facts.periods))])


def _sequential_sum(terms: Any) -> float:
    """``0.0 + terms[0] + terms[1] + ...`` in this order (numpy sums pairwise, Python
    3.12 compensates; both differ in the last bits from adding one term at a time)."""
    return float(reduce(operator.add, np.asarray(terms, dtype=float).tolist(), 0.0))


def _at(index: pd.Index, values: Any) -> np.ndarray:
    """The positions of ``values`` in ``index`` (-1: not in it)."""
    return np.asarray(index.get_indexer(pd.Index(values)))


# ----------------------------------------------------------------------------- checking

