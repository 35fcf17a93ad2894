"""An independent check of a plan: does it meet demand, capacity and every rule, and
what does it cost?

Everything is recomputed from the validated :class:`~optimizer.input.instance.Instance`
and the plan (GWh per supplier, application and period) alone. Nothing here
uses the optimization model, the solver or :mod:`optimizer.data`: eligibility,
capacities, prices, tariffs, tiers, rule scopes and groups are worked out
again from the instance tables, so that a mistake in the model cannot hide
itself by being repeated here.

Tolerances. A plan comes from a floating-point solver, so every comparison
allows a small excess. With ``tol`` (relative, 1e-6 by default) and the
instance's volume scale ``S`` (its largest demand row, in GWh), a requirement
``amount <= bound`` is broken when::

    amount - bound > tol * magnitude + tol * min(1, S)

where ``magnitude`` is the size of the quantities compared: the capacity, the
demand, the covered volume X of a share rule, X times max(1, |limit|) for an
average rule, the limit of a volume rule. Above 1 GWh this is a relative
tolerance of ``tol`` with an absolute floor of ``tol`` GWh; an instance whose
demands are all below 1 GWh gets a floor scaled down with it. A supplier
*delivers* in a period (so its fixed cost is due and its minimum order applies)
when it supplies more than that floor. A count rule counts a group when its
volume clears ``threshold * X`` by more than the tolerance (``max_count``) or
comes within it (``min_count``). An HHI may exceed its cap by 1e-6 (where the
model's cuts stop, SPEC section 3) plus ``tol``.
The recomputed cost agrees with a claimed objective when they differ by at most
``tol`` relative (plus the cost of the volume floor at the highest unit cost).
"""

from __future__ import annotations

import math
import operator
from collections import defaultdict
from dataclasses import dataclass, field
from functools import reduce
from typing import Any

import numpy as np
import pandas as pd

from optimizer.errors import InputError, Location, Problem, did_you_mean
from optimizer.input.instance import Instance
from optimizer.input.schema import Rule

#: default relative tolerance of every comparison
TOL = 1e-6
#: an HHI cap holds once the plan's HHI is within this of the limit (SPEC section 3:
#: the cuts stop there), plus ``tol``
HHI_SLACK = 1e-6

PLAN_COLUMNS = ("supplier", "application", "period", "gwh")

VIOLATION_COLUMNS = ["kind", "rule", "supplier", "application", "period", "group", "value",
                     "limit", "excess", "unit", "message"]

COST_KEYS = ("ex_works", "tariff", "freight", "carbon", "fixed", "unmet_penalty",
             "rule_penalty")

@dataclass
class CheckReport:
    """What the checker found.

    ``violations``: one row per broken requirement (columns ``kind``, ``rule``,
    ``supplier``, ``application``, ``period``, ``group``, ``value``, ``limit``,
    ``excess`` (how far beyond the limit, in ``unit``), ``unit``, ``message``).
    ``kind`` is one of ``negative``, ``ineligible``, ``exclude``, ``capacity``,
    ``min_order``, ``demand_over``, ``demand_unmet``, ``rule``, ``objective``.
    ``cost_breakdown``: the plan's discounted cost in USD million, by component,
    with ``total``. ``unmet``: demand, bought and unmet per application and
    period. ``misses``: soft rules missed (paid at their penalty, not violations).
    """

    violations: pd.DataFrame
    cost_breakdown: dict[str, float]
    unmet: pd.DataFrame
    supplies: pd.DataFrame
    misses: pd.DataFrame = field(default_factory=pd.DataFrame)
    objective: float | None = None
    tolerance: float = TOL
    volume_floor: float = TOL

    @property
    def valid(self) -> bool:
        return self.violations.empty

    @property
    def cost(self) -> float:
        return self.cost_breakdown["total"]


# ----------------------------------------------------------------------------- reading

def _text(value: Any) -> str:
    """An attribute or id as text, the way instance ids are compared."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def plan_problems(inst: Instance, rows: list[dict[str, Any]], locations: list[Location],
                  columns: list[str] | None, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Type and check plan rows (supplier, application, period, gwh).

    Returns the plan as a DataFrame and the problems found: missing columns,
    empty or non-numeric cells, unknown suppliers, applications or periods,
    non-finite volumes, the same (supplier, application, period) twice.
    A negative volume is not an input problem: it is a plan that breaks
    ``gwh >= 0``, reported by :func:`check_plan`.
    """
    problems: list[Problem] = []
    where = Location(file=file, table="plan")
    if columns is not None:
        missing = [c for c in PLAN_COLUMNS if c not in columns]
        if missing:
            problems.append(Problem(where, "missing column" + ("s" if len(missing) > 1 else "")
                                    + " " + ", ".join(f"'{c}'" for c in missing)
                                    + f" (a plan needs {', '.join(PLAN_COLUMNS)})"))
            return pd.DataFrame(columns=list(PLAN_COLUMNS)), problems
    suppliers = {s.id for s in inst.suppliers}
    apps = {a.id for a in inst.applications}
    periods = set(inst.periods)
    seen: dict[tuple[str, str, int], int] = {}
    out = []
    for row, loc in zip(rows, locations, strict=True):
        ok = True

        def bad(message: str, name: str) -> None:
            nonlocal ok
            ok = False
            problems.append(Problem(loc, message, field=name))  # noqa: B023

        values: dict[str, Any] = {}
        for name in PLAN_COLUMNS:
            v = row.get(name)
            # a DataFrame marks an empty cell of a text column NaN (or NA)
            empty = v is None or v is pd.NA or (isinstance(v, str) and v.strip() == "") \
                or (name != "gwh" and isinstance(v, float) and math.isnan(v))
            if empty:
                bad("is required (the cell is empty)", name)
            values[name] = v
        if not ok:
            continue
        s, a = _text(values["supplier"]), _text(values["application"])
        if s not in suppliers:
            bad(f"unknown supplier '{s}'{did_you_mean(s, sorted(suppliers))}", "supplier")
        if a not in apps:
            bad(f"unknown application '{a}'{did_you_mean(a, sorted(apps))}", "application")
        t = _year(values["period"])
        if t is None:
            bad(f"must be a whole number (a year), got '{values['period']}'", "period")
        elif t not in periods:
            bad(f"period {t} is not one of the periods "
                f"({', '.join(map(str, inst.periods))})", "period")
        gwh = _number(values["gwh"])
        if gwh is None:
            bad(f"must be a number, got '{values['gwh']}'", "gwh")
        elif not math.isfinite(gwh):
            bad(f"must be a finite number, got '{values['gwh']}'", "gwh")
        if not ok:
            continue
        assert t is not None and gwh is not None
        key = (s, a, t)
        if key in seen:
            bad(f"({s}, {a}, {t}) appears twice (first in row {seen[key]}); give each "
                "supplier, application and period once", "supplier")
            continue
        seen[key] = loc.row or 0
        out.append((s, a, t, gwh))
    plan = pd.DataFrame(out, columns=list(PLAN_COLUMNS))
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    return plan, problems


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(f) or not f.is_integer():
        return None
    return int(f)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def read_plan(path: str, inst: Instance) -> pd.DataFrame:
    """Read an ``allocation.csv`` (columns supplier, application, period, gwh; other
    columns are ignored). Raises :class:`InputError` with every problem."""
    from pathlib import Path

    from optimizer.input.sources import read_csv

    problems: list[Problem] = []
    p = Path(path)
    table = read_csv(p, "plan", str(path), problems)
    if table is None:
        raise InputError(problems)
    plan, found = plan_problems(inst, table.rows, table.locations, table.header, str(path))
    problems += found
    if problems:
        raise InputError(problems)
    return plan


def plan_frame(inst: Instance, allocation: pd.DataFrame) -> pd.DataFrame:
    """A plan DataFrame (e.g. ``Result.allocation``) typed and checked like a file."""
    missing = [c for c in PLAN_COLUMNS if c not in allocation.columns]
    if allocation.empty and missing:
        return pd.DataFrame({"supplier": pd.Series(dtype=str),
                             "application": pd.Series(dtype=str),
                             "period": pd.Series(dtype=int), "gwh": pd.Series(dtype=float)})
    if not missing:
        typed = _typed_plan(inst, allocation)
        if typed is not None:
            return typed
    # only the columns a plan is made of (a Result.allocation carries many more)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()}
        for r in allocation[list(PLAN_COLUMNS)].to_dict("records")
    ] if not missing else []
    locations = [Location(file="<plan>", table="plan", row=i + 1) for i in range(len(rows))]
    plan, problems = plan_problems(inst, rows, locations, list(allocation.columns), "<plan>")
    if problems:
        raise InputError(problems)
    return plan


def _typed_plan(inst: Instance, allocation: pd.DataFrame) -> pd.DataFrame | None:
    """The plan of an allocation whose columns are already well typed, read a column
    at a time: the same frame :func:`plan_problems` builds from its rows. None when
    any cell is not plainly valid (a row-by-row reading then says what is wrong)."""
    if len(allocation) == 0 or not allocation.columns.is_unique:
        return None
    period, gwh = allocation["period"], allocation["gwh"]
    if not (isinstance(period.dtype, np.dtype) and period.dtype.kind in "iu"
            and isinstance(gwh.dtype, np.dtype) and gwh.dtype.kind in "iuf"):
        return None
    years = period.to_numpy()
    volumes = gwh.to_numpy().astype(float)
    if not (np.isin(years, inst.periods).all() and np.isfinite(volumes).all()):
        return None
    ids: dict[str, np.ndarray] = {}
    codes = []
    for name, known in (("supplier", {s.id for s in inst.suppliers}),
                        ("application", {a.id for a in inst.applications})):
        values = allocation[name].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None
        code, uniques = pd.factorize(values)
        # a known id as it stands: what _text would make of the cell
        if not all(type(u) is str and u in known and u == u.strip() for u in uniques):
            return None
        ids[name] = values
        codes.append(code)
    year_code, _ = pd.factorize(years)
    key = (codes[0].astype(np.int64) * (int(codes[1].max()) + 1) + codes[1]) \
        * (int(year_code.max()) + 1) + year_code
    if len(np.unique(key)) != len(key):
        return None  # a (supplier, application, period) twice
    plan = pd.DataFrame({"supplier": ids["supplier"], "application": ids["application"],
                         "period": years, "gwh": volumes})
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    return plan


# ----------------------------------------------------------------------------- facts

class _Facts:
    """The instance's tables as lookups, worked out here from the rows themselves.

    Besides the per-item lookups, the same facts as arrays indexed by positions
    (``sup_pos``, ``app_pos``, ``period_pos``): ``[supplier, period]`` matrices
    of capacity, price, tariff and tiers, ``[supplier, application]`` ones of
    freight and chemistry, and per-supplier vectors; each is built once, the
    first time it is needed, from the same lookups."""

    def __init__(self, inst: Instance):
        self.inst = inst
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

    def value(self, s: str, by: str) -> str | None:
        """The group supplier ``s`` belongs to under ``by`` (None: no group)."""
        return self.value_map(by)[s]

    def values(self, by: str) -> list[str]:
        """Every value of ``by`` that occurs among the suppliers."""
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
        if (s, t) in self.cap_rows:
            return self.cap_rows[(s, t)]
        return self.sup[s].capacity or 0.0

    def available(self, s: str, t: int) -> bool:
        sp = self.sup[s]
        return not ((sp.available_from is not None and t < sp.available_from)
                    or (sp.available_until is not None and t > sp.available_until))

    def tiers(self, s: str, t: int) -> list[tuple[float, float]] | None:
        return self.tier_rows.get((s, t)) or self.tier_rows.get((s, None))

    def price(self, s: str, t: int) -> float:
        if (s, t) in self.price_rows:
            return self.price_rows[(s, t)]
        p = self.sup[s].price
        return math.nan if p is None else p

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
        return cost

    def excluded_by(self, s: str, a: str, t: int) -> str | None:
        for rule in self.inst.rules:
            if rule.kind != "exclude" or rule.by is None or rule.group is None:
                continue
            if rule.applications is not None and a not in rule.applications:
                continue
            if rule.periods is not None and t not in rule.periods:
                continue
            if self.value(s, rule.by) in rule.group:
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
        return self._array("capacity", lambda: self._by_supplier_period(
            [sp.capacity or 0.0 for sp in self.sup.values()], self.cap_rows))

    def prices(self) -> np.ndarray:
        """[supplier, period] :meth:`price` (NaN: none)."""
        return self._array("price", lambda: self._by_supplier_period(
            [math.nan if sp.price is None else sp.price for sp in self.sup.values()],
            self.price_rows))

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

def check_plan(inst: Instance, allocation: pd.DataFrame, tol: float = TOL,
               objective: float | None = None) -> CheckReport:
    """Check a plan against an instance and recompute its cost.

    ``allocation`` needs the columns supplier, application, period, gwh (others,
    like those of ``Result.allocation``, are ignored); a (supplier, application,
    period) missing from it is 0. With ``objective`` (USD million), the
    recomputed cost must also match it. See the module docstring for the
    tolerances.

    The tests run on whole columns; the rows they flag are then gone through one
    at a time to say what is wrong with each.
    """
    facts = _Facts(inst)
    plan = plan_frame(inst, allocation)
    rows = _Rows.of(facts, plan)
    demands = [d.gwh for d in inst.demand if d.gwh > 0]
    scale = max(demands) if demands else 1.0
    floor = tol * min(1.0, scale)
    violations: list[dict[str, Any]] = []
    misses: list[dict[str, Any]] = []

    def allowed(magnitude: Any) -> Any:
        return tol * abs(magnitude) + floor

    def breach(kind: str, excess: float, message: str, **where: Any) -> None:
        violations.append({"kind": kind, "excess": float(excess), "message": message, **where})

    # --- lanes: sign and eligibility ---------------------------------------------
    q_all = rows.gwh
    flagged = (q_all > floor) & ~(facts.lane_ok()[rows.sup, rows.app]
                                  & (facts.capacities()[rows.sup, rows.period] > 0)
                                  & facts.availability()[rows.sup, rows.period])
    for rule in inst.rules:
        if rule.kind != "exclude" or rule.by is None or rule.group is None:
            continue
        apps = np.array([rule.applications is None or a in rule.applications
                         for a in facts.apps], dtype=bool)
        periods = np.array([rule.periods is None or t in rule.periods for t in facts.periods],
                           dtype=bool)
        flagged |= ((q_all > floor) & facts.in_group(rule.by, rule.group)[rows.sup]
                    & apps[rows.app] & periods[rows.period])
    flagged |= q_all < -floor
    for s, a, t, q in plan.iloc[np.flatnonzero(flagged)].itertuples(index=False):
        lane = f"({s}, {a}, {t})"
        if q < -floor:
            breach("negative", -q, f"{lane}: negative volume {q:g} GWh", supplier=s,
                   application=a, period=t, value=q, limit=0.0, unit="GWh")
        if q <= floor:
            continue
        sp = facts.sup[s]
        why = None
        if sp.chemistry not in facts.apps[a].chemistries:
            why = f"chemistry {sp.chemistry} is not allowed for {a}"
        elif not facts.capacity(s, t) > 0:
            why = f"{s} has no capacity in {t}"
        elif not facts.available(s, t):
            why = f"{t} is outside {s}'s availability"
        if why is not None:
            breach("ineligible", q, f"{lane}: {q:g} GWh on a lane that cannot deliver "
                   f"({why})", supplier=s, application=a, period=t, value=q, limit=0.0,
                   unit="GWh")
            continue
        rule_name = facts.excluded_by(s, a, t)
        if rule_name is not None:
            breach("exclude", q, f"{lane}: {q:g} GWh excluded by rule '{rule_name}'",
                   rule=rule_name, supplier=s, application=a, period=t, value=q, limit=0.0,
                   unit="GWh")

    # --- suppliers: capacity and minimum orders ------------------------------------
    supplies = plan.groupby(["supplier", "period"])["gwh"].sum().reset_index()
    sup_at = _at(facts.sup_pos, supplies["supplier"])
    period_at = _at(facts.period_pos, supplies["period"])
    cap = facts.capacities()[sup_at, period_at]
    supplies["capacity"] = cap.tolist()
    supplies["delivers"] = supplies["gwh"] > floor
    supplied = supplies["gwh"].to_numpy(dtype=float)
    delivers = supplies["delivers"].to_numpy(dtype=bool)
    mo_all = facts.per_supplier("min_order")[sup_at]
    flagged = ((cap > 0) & (supplied - cap > allowed(cap))) | \
        (delivers & (mo_all > 0) & (mo_all - supplied > allowed(mo_all)))
    for s, t, q, cap_st, deliver in supplies.iloc[np.flatnonzero(flagged)].itertuples(
            index=False):
        if cap_st > 0 and q - cap_st > allowed(cap_st):
            breach("capacity", q - cap_st, f"{s} in {t}: supplies {q:g} GWh, capacity "
                   f"{cap_st:g}", supplier=s, period=t, value=q, limit=cap_st, unit="GWh")
        mo = facts.sup[s].min_order or 0.0
        if deliver and mo > 0 and mo - q > allowed(mo):
            breach("min_order", mo - q, f"{s} in {t}: delivers {q:g} GWh, below its minimum "
                   f"order of {mo:g}", supplier=s, period=t, value=q, limit=mo, unit="GWh")

    # --- demand -------------------------------------------------------------------
    bought = plan.groupby(["application", "period"])["gwh"].sum().to_dict()
    unmet_rows = []
    for a, app in facts.apps.items():
        for t in facts.periods:
            dem = facts.demand.get((a, t), 0.0)
            q = float(bought.get((a, t), 0.0))
            short = max(0.0, dem - q)
            if q - dem > allowed(dem):
                breach("demand_over", q - dem, f"{a} in {t}: buys {q:g} GWh, demand is "
                       f"{dem:g}", application=a, period=t, value=q, limit=dem, unit="GWh")
            if app.unmet_penalty is None and dem - q > allowed(dem):
                breach("demand_unmet", dem - q, f"{a} in {t}: buys {q:g} GWh of a demand of "
                       f"{dem:g} that may not go unmet (no unmet_penalty)", application=a,
                       period=t, value=q, limit=dem, unit="GWh")
            unmet_rows.append((a, t, dem, q, short if app.unmet_penalty is not None else 0.0,
                               app.unmet_penalty))
    unmet = pd.DataFrame(unmet_rows, columns=["application", "period", "demand", "bought",
                                              "unmet", "penalty"])

    # --- rules ----------------------------------------------------------------------
    for rule in inst.rules:
        if rule.kind != "exclude":
            _check_rule(facts, rule, rows, allowed, tol, breach, misses)

    # --- cost -----------------------------------------------------------------------
    costs = _costs(facts, rows, supplies, sup_at, period_at, unmet, misses)
    report = CheckReport(
        violations=pd.DataFrame(violations, columns=VIOLATION_COLUMNS),
        cost_breakdown=costs, unmet=unmet, supplies=supplies,
        misses=pd.DataFrame(misses), objective=objective, tolerance=tol, volume_floor=floor,
    )
    if objective is not None:
        total = costs["total"]
        top = max((_unit_costs(facts, rows).max() if len(plan) else 0.0), 0.0)
        slack = tol * max(abs(objective), abs(total)) + floor * top + 1e-12
        if not math.isfinite(objective) or abs(total - objective) > slack:
            violations.append({
                "kind": "objective", "value": objective, "limit": total,
                "excess": abs(total - objective), "unit": "USD million",
                "message": f"the claimed cost {objective:,.6f} differs from the plan's cost "
                           f"{total:,.6f} (USD million)"})
            report.violations = pd.DataFrame(violations, columns=VIOLATION_COLUMNS)
    return report


def _covered(rule: Rule, facts: _Facts) -> list[tuple[int, tuple[str, ...]]]:
    """The (period, applications) scopes of a rule."""
    periods = [t for t in facts.periods if rule.periods is None or t in rule.periods]
    apps = [a for a in facts.apps if rule.applications is None or a in rule.applications]
    sets = [(a,) for a in apps] if rule.per_application else [tuple(apps)]
    return [(t, aa) for t in periods for aa in sets]


def _check_rule(facts: _Facts, rule: Rule, rows: _Rows, allowed: Any, tol: float,
                breach: Any, misses: list[dict[str, Any]]) -> None:
    """Every scope of one rule: a breach (hard rule) or a miss paid at the penalty (soft)."""
    if rule.kind in ("max_average", "min_average"):
        assert rule.attribute is not None
        of_row = facts.numbers(rule.attribute)[rows.sup]
    else:
        assert rule.by is not None
        of_row = facts.group_codes(rule.by)[rows.sup]
    for t, apps in _covered(rule, facts):
        covered = np.zeros(len(facts.apps), dtype=bool)
        covered[[facts.app_at[a] for a in apps]] = True
        in_period = rows.by_period[facts.period_at[t]]
        scope_rows = in_period[covered[rows.app[in_period]]]
        where: dict[str, Any] = {"rule": rule.name, "period": t,
                                 "application": apps[0] if rule.per_application else None}
        scope = f"rule '{rule.name}' ({rule.kind}) in {t}" + \
            (f" for {apps[0]}" if rule.per_application else "")
        found = _scope_findings(facts, rule, scope, of_row[scope_rows], rows.gwh[scope_rows],
                                allowed, tol)
        for f in found:
            if rule.penalty is not None:
                misses.append({**where, **f, "kind": rule.kind, "miss": f["excess"],
                               "cost": f["excess"] * rule.penalty * facts.discount[t]})
            else:
                breach("rule", **where, **f)


def _scope_findings(facts: _Facts, rule: Rule, scope: str, of_row: np.ndarray, q: np.ndarray,
                    allowed: Any, tol: float) -> list[dict[str, Any]]:
    """What one scope of a rule breaks: dicts with excess, message, unit, value, limit.

    ``q`` holds the scope's plan rows (in plan order) and ``of_row`` what each row
    is weighed by (average rules: the supplier's attribute) or grouped by (the
    position of its group in ``facts.values(rule.by)``, -1 for none)."""
    kind = rule.kind
    limit = float(rule.limit) if rule.limit is not None else 0.0
    x_total = float(q.sum())
    out: list[dict[str, Any]] = []

    def add(excess: float, message: str, unit: str, value: float, group: str | None = None,
            ) -> None:
        out.append({"excess": float(excess), "message": message, "unit": unit,
                    "value": value, "limit": limit, "group": group})

    if kind in ("max_average", "min_average"):
        w = of_row
        used = q != 0
        excess_sum = float(((w[used] - limit) * q[used]).sum())
        avg = limit + excess_sum / x_total if x_total > 0 else math.nan
        gap = excess_sum if kind == "max_average" else -excess_sum
        if gap > allowed(x_total * max(1.0, abs(limit))):
            add(gap, f"{scope}: average {rule.attribute} {avg:.6g}, limit {limit:g}",
                f"{rule.attribute} x GWh", avg)
        return out
    assert rule.by is not None
    every = facts.values(rule.by)
    grouped = of_row >= 0
    # bincount adds each group's rows one at a time, in plan order
    by_group = np.bincount(of_row[grouped], weights=q[grouped], minlength=len(every)).tolist()
    volume = dict(zip(every, by_group, strict=True))
    listed = list(rule.group) if rule.group is not None else None
    names = listed if listed is not None else every
    if kind in ("max_share", "min_share", "max_volume", "min_volume"):
        if listed is not None:  # the listed values are pooled into one group
            groups = [(";".join(listed), float(sum(volume.get(v, 0.0) for v in set(listed))))]
        else:
            groups = list(zip(every, by_group, strict=True))
        for name, vol in groups:
            share = vol / x_total if x_total > 0 else math.nan
            if kind == "max_share":
                gap, mag, value = vol - limit * x_total, x_total, share
            elif kind == "min_share":
                gap, mag, value = limit * x_total - vol, x_total, share
            elif kind == "max_volume":
                gap, mag, value = vol - limit, limit, vol
            else:
                gap, mag, value = limit - vol, limit, vol
            if gap > allowed(mag):
                what = f"share {value:.6g}" if kind.endswith("share") else \
                    f"volume {value:g} GWh"
                add(gap, f"{scope}, {rule.by} {name}: {what}, limit {limit:g} "
                    f"({gap:g} GWh beyond it)", "GWh", value, name)
        return out
    volumes = [volume.get(v, 0.0) for v in names]
    if kind in ("max_count", "min_count"):
        h = float(rule.threshold or 0.0)
        slack = allowed(x_total)
        if kind == "max_count":
            count = sum(1 for v in volumes if v > h * x_total + slack)
            gap = count - limit
        else:
            count = sum(1 for v in volumes if v >= h * x_total - slack)
            gap = limit - count
        if gap > 0:
            more = "more than" if kind == "max_count" else "at least"
            add(gap, f"{scope}: {count} {rule.by} group(s) with {more} {h:g} of the volume, "
                f"limit {limit:g}", "groups", count)
        return out
    if x_total <= 0:
        return out
    if kind == "max_top_share":
        k = int(rule.k or 1)
        top = float(sum(sorted(volumes, reverse=True)[:k]))
        gap = top - limit * x_total
        if gap > allowed(x_total):
            add(gap, f"{scope}: the {k} largest {rule.by} groups hold {top / x_total:.6g}, "
                f"limit {limit:g}", "GWh", top / x_total)
    elif kind == "max_hhi":
        hhi = float(sum((v / x_total) ** 2 for v in volumes))
        if hhi - limit > HHI_SLACK + tol:
            add(hhi - limit, f"{scope}: HHI by {rule.by} {hhi:.6g}, limit {limit:g}", "HHI",
                hhi)
    else:  # pragma: no cover - the schema admits no other kind
        raise ValueError(f"rule kind {kind} cannot be checked")
    return out


def _unit_costs(facts: _Facts, rows: _Rows) -> np.ndarray:
    """Highest landed unit cost of each plan row (base or highest tier price)."""
    price = np.where(facts.tiered()[rows.sup, rows.period],
                     facts.top_tier_prices()[rows.sup, rows.period],
                     facts.prices()[rows.sup, rows.period])
    price = np.where(np.isnan(price), 0.0, price)
    return (price * (1 + facts.tariffs()[rows.sup, rows.period])
            + facts.freights()[rows.sup, rows.app] + facts.carbons()[rows.sup])


def _costs(facts: _Facts, rows: _Rows, supplies: pd.DataFrame, sup_at: np.ndarray,
           period_at: np.ndarray, unmet: pd.DataFrame,
           misses: list[dict[str, Any]]) -> dict[str, float]:
    """The plan's discounted cost by component. Each component adds its terms one at
    a time in plan order, then (tiers, fixed costs) in supplier order."""
    out = dict.fromkeys(COST_KEYS, 0.0)
    discount = np.array([facts.discount[t] for t in facts.periods], dtype=float)
    dq = discount[rows.period] * rows.gwh
    out["freight"] = _sequential_sum(dq * facts.freights()[rows.sup, rows.app])
    out["carbon"] = _sequential_sum(dq * facts.carbons()[rows.sup])
    # the ex-works part of a tiered supplier is priced on its total below
    flat = ~facts.tiered()[rows.sup, rows.period]
    price = facts.prices()[rows.sup[flat], rows.period[flat]]
    price = np.where(np.isnan(price), 0.0, price)  # an ineligible lane (reported)
    ex_works = (dq[flat] * price).tolist()
    tariff = (dq[flat] * price * facts.tariffs()[rows.sup[flat], rows.period[flat]]).tolist()
    tiered = facts.tiered()[sup_at, period_at]
    for s, t, q in supplies.loc[tiered, ["supplier", "period", "gwh"]].itertuples(index=False):
        d = facts.discount[int(t)]
        ex = facts.tier_cost(s, int(t), max(0.0, q))
        ex_works.append(d * ex)
        tariff.append(d * ex * facts.tariff(s, int(t)))
    out["ex_works"] = _sequential_sum(ex_works)
    out["tariff"] = _sequential_sum(tariff)
    delivers = supplies["delivers"].to_numpy(dtype=bool)
    out["fixed"] = _sequential_sum(discount[period_at[delivers]]
                                   * facts.per_supplier("fixed_cost")[sup_at[delivers]])
    pen = unmet["penalty"].astype(float).fillna(0.0).to_numpy()
    disc = unmet["period"].map(facts.discount).to_numpy(dtype=float)
    out["unmet_penalty"] = float((unmet["unmet"].to_numpy() * pen * disc).sum())
    out["rule_penalty"] = float(sum(m["cost"] for m in misses))
    out = {k: float(v) for k, v in out.items()}
    out["total"] = float(sum(out.values()))
    return out
