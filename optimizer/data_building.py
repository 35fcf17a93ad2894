"""Model data for building supply (SPEC section 8): funding options, contract
periods and qualification, as plain tables (no Pyomo).

* ``funding``: one row per expansion and period it may be funded in
  (``expansion`` is the row's position in the instance's ``expansions``);
  ``arrivals[(s, tau)]`` lists the funding rows whose capacity serves supplier
  s in period tau, with the GWh a step adds.
* ``contract_periods``: one row per contract and period of its window, with
  ``unit_price`` = the supplier's ex-works price with tariffs in that period
  (USD/kWh, before any contract discount): what a take-or-pay shortfall
  costs per GWh, and what the discount is taken from.
* ``qualification``: supplier -> qualification cost (USD million), for the
  suppliers that have one.
* ``change_scopes``: the scopes of ``max_change`` rules (built with the other
  scopes in :mod:`optimizer.data`).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.input.building import contract_periods, funding_periods
from optimizer.input.instance import Instance
from optimizer.input.schema import Rule
from optimizer.scopes import RuleScope

FUNDING_COLUMNS = ["expansion", "supplier", "period", "step_gwh", "cost", "integer",
                   "max_steps", "available_from", "discount"]
CONTRACT_COLUMNS = ["contract", "supplier", "period", "signed", "min_gwh", "max_gwh",
                    "discount", "take_or_pay", "unit_price", "discount_factor"]


@dataclass
class Building:
    """What the buyer can build or sign, as tables (see the module docstring)."""

    funding: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FUNDING_COLUMNS))
    arrivals: dict[tuple[str, int], list[tuple[int, float]]] = field(default_factory=dict)
    #: (supplier, period) -> the most capacity expansions could add there (GWh)
    max_added: dict[tuple[str, int], float] = field(default_factory=dict)
    contract_periods: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=CONTRACT_COLUMNS))
    qualification: dict[str, float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return self.funding.empty and self.contract_periods.empty and not self.qualification

    @property
    def links_periods(self) -> bool:
        """Something ties periods together (funding, multi-year contracts,
        qualification): the model cannot be solved one period at a time."""
        return not self.empty


def building_of(inst: Instance, discount: dict[int, float],
                unit_price: dict[tuple[str, int], float]) -> Building:
    """The building options of an instance. ``unit_price``: (supplier, period)
    -> ex-works price with tariffs, USD/kWh (before contract discounts)."""
    rows: list[tuple] = []
    arrivals: dict[tuple[str, int], list[tuple[int, float]]] = {}
    max_added: dict[tuple[str, int], float] = {}
    for i, e in enumerate(inst.expansions):
        options = funding_periods(inst, e)
        for t, serves in options.items():
            k = len(rows)
            rows.append((i, e.supplier, t, float(e.step_gwh), float(e.cost), bool(e.integer),
                         float(e.max_steps), serves[0], discount[t]))
            for tau in serves:
                arrivals.setdefault((e.supplier, tau), []).append((k, float(e.step_gwh)))
        reach = sorted({tau for serves in options.values() for tau in serves})
        for tau in reach:
            key = (e.supplier, tau)
            max_added[key] = max_added.get(key, 0.0) + float(e.step_gwh) * float(e.max_steps)
    funding = pd.DataFrame(rows, columns=FUNDING_COLUMNS)
    crows = []
    for c in inst.contracts:
        for t in contract_periods(inst, c):
            crows.append((c.name, c.supplier, t, bool(c.signed), float(c.min_gwh),
                          np.nan if c.max_gwh is None else float(c.max_gwh),
                          float(c.discount), bool(c.take_or_pay),
                          float(unit_price.get((c.supplier, t), 0.0)), discount[t]))
    contracts = pd.DataFrame(crows, columns=CONTRACT_COLUMNS)
    qualification = {s.id: float(s.qualification_cost) for s in inst.suppliers
                     if s.qualification_cost}
    return Building(funding, arrivals, max_added, contracts, qualification)


def signed_discounts(inst: Instance) -> dict[tuple[str, int], float]:
    """(supplier, period) -> the discount of an already-signed contract there:
    it lowers the ex-works price of every GWh, folded into the lane costs."""
    out: dict[tuple[str, int], float] = {}
    for c in inst.contracts:
        if c.signed and c.discount > 0:
            for t in contract_periods(inst, c):
                out[(c.supplier, t)] = float(c.discount)
    return out


def change_scopes(rule: Rule, periods: list[int], app_scopes: list[str | None],
                  covered_apps: list[str], lanes: pd.DataFrame,
                  lanes_covered: Callable[[int, tuple[str, ...]], np.ndarray],
                  values: list[str] | None) -> list[RuleScope]:
    """The scopes of a ``max_change`` rule: for each period t after the first
    (and in the rule's periods), each covered application set and each group
    g, two rows ("rise" and "fall"):

        V_g(t) - V_g(t-1) <= limit        V_g(t-1) - V_g(t) <= limit

    V_g(t) the GWh bought from g's suppliers for the covered applications in
    t, t-1 the period before t in the instance's list. Each is a scope whose
    members are the lanes of both periods, weighted +1 and -1."""
    assert rule.by is not None
    wanted = rule.periods if rule.periods is not None else periods
    by_col = lanes[rule.by].to_numpy()
    out = []
    for prev, t in itertools.pairwise(periods):
        if t not in wanted:
            continue
        for app in app_scopes:
            apps = tuple(covered_apps) if app is None else (app,)
            now, before = lanes_covered(t, apps), lanes_covered(prev, apps)
            groups: list[tuple[str | None, np.ndarray, np.ndarray]]
            if values is None:
                assert rule.group is not None
                groups = [(None, now[np.isin(by_col[now], rule.group)],
                           before[np.isin(by_col[before], rule.group)])]
            else:
                groups = [(v, now[by_col[now] == v], before[by_col[before] == v])
                          for v in values]
            for g, a, b in groups:
                members = np.concatenate([a, b])
                for direction, sign in (("rise", 1.0), ("fall", -1.0)):
                    weights = np.concatenate([np.full(len(a), sign), np.full(len(b), -sign)])
                    out.append(RuleScope(rule, t, app, g, members, now, (t, apps),
                                         member_weights=weights, direction=direction))
    return out
