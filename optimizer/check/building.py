"""The plan checker's part for building supply (SPEC section 8), worked out
again from the instance's tables: the capacity a plan's funding adds (and
whether that funding is allowed), what its contracts require and cost, the
qualification costs it incurs, and ``max_change`` rules.

A plan here is the allocation plus, for an instance with expansions or
contracts, the funding decisions (rows as ``expansions.csv``: ``supplier,
period, steps`` and optionally ``expansion``, the 1-based row of the
instance's expansions table) and the contracts signed (``contract`` and
``signed``, as ``contracts.csv``). Without them no expansion is funded and
no optional contract is signed.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import pandas as pd

from optimizer.check.facts import _Facts
from optimizer.input.instance import Instance
from optimizer.input.schema import Rule

Breach = Callable[..., None]


def _window(inst: Instance, supplier: str) -> tuple[int | None, int | None]:
    for s in inst.suppliers:
        if s.id == supplier:
            return s.available_from, s.available_until
    return None, None


def funded_capacity(inst: Instance, funding: pd.DataFrame | None, allowed: Callable,
                    breach: Breach) -> tuple[dict[tuple[str, int], float], list[tuple[int, float]]]:
    """(capacity added per (supplier, period), [(period funded, cost)]): a step
    funded in t adds ``step_gwh`` in every period tau >= t + lead_time inside
    the supplier's availability window. Funding outside an expansion's window,
    negative, fractional where steps are whole, or beyond ``max_steps`` is a
    breach."""
    added: dict[tuple[str, int], float] = {}
    costs: list[tuple[int, float]] = []
    if funding is None or funding.empty or not inst.expansions:
        return added, costs
    periods = inst.periods
    total: dict[int, float] = {}
    for row in funding.to_dict("records"):
        s, t, steps = str(row["supplier"]), int(row["period"]), float(row["steps"])
        if "expansion" in row and row["expansion"] is not None \
                and not (isinstance(row["expansion"], float) and math.isnan(row["expansion"])):
            k = int(row["expansion"]) - 1
            candidates = [k] if 0 <= k < len(inst.expansions) else []
        else:
            candidates = [k for k, e in enumerate(inst.expansions) if e.supplier == s]
        where = {"supplier": s, "period": t, "unit": "steps"}
        if len(candidates) != 1 or inst.expansions[candidates[0]].supplier != s:
            breach("funding", abs(steps), f"{s} funded in {t}: no single expansion of "
                   f"{s} matches (give the 'expansion' column)", value=steps, limit=0.0,
                   **where)
            continue
        k = candidates[0]
        e = inst.expansions[k]
        first = periods[0] if e.first is None else e.first
        last = periods[-1] if e.last is None else e.last
        if steps < -allowed(1.0):
            breach("funding", -steps, f"{s} funded in {t}: negative steps {steps:g}",
                   value=steps, limit=0.0, **where)
            continue
        if not first <= t <= last or t not in periods:
            breach("funding", steps, f"{s} funded in {t}, outside its window {first}-{last}",
                   value=steps, limit=0.0, **where)
            continue
        if e.integer and abs(steps - round(steps)) > allowed(1.0):
            breach("funding", abs(steps - round(steps)), f"{s} funded in {t}: {steps:g} steps, "
                   "but steps are whole", value=steps, limit=round(steps), **where)
        total[k] = total.get(k, 0.0) + steps
        lo, hi = _window(inst, s)
        for tau in periods:
            if tau >= t + e.lead_time and (lo is None or tau >= lo) and (hi is None or tau <= hi):
                added[(s, tau)] = added.get((s, tau), 0.0) + steps * e.step_gwh
        costs.append((t, steps * e.cost))
    for k, n in total.items():
        e = inst.expansions[k]
        if n - e.max_steps > allowed(e.max_steps):
            breach("funding", n - e.max_steps, f"{e.supplier}: {n:g} steps funded in all, "
                   f"at most {e.max_steps:g}", supplier=e.supplier, value=n,
                   limit=e.max_steps, unit="steps")
    return added, costs


def contract_periods(inst: Instance, c: Any) -> list[int]:
    return [t for t in inst.periods if (c.from_ is None or t >= c.from_)
            and (c.until is None or t <= c.until)]


def signed_of(inst: Instance, contracts: pd.DataFrame | None) -> dict[str, bool]:
    """Contract -> signed: already (``signed: true``) or in the plan's table."""
    claimed: dict[str, bool] = {}
    if contracts is not None and not contracts.empty and "signed" in contracts.columns:
        for name, signed in zip(contracts["contract"], contracts["signed"], strict=True):
            flag = str(signed).strip().lower() in ("true", "1", "yes")
            claimed[str(name)] = claimed.get(str(name), False) or flag
    return {c.name: bool(c.signed) or claimed.get(c.name, False) for c in inst.contracts}


def unit_price(facts: _Facts, s: str, t: int) -> float:
    """The ex-works price with tariffs in t, before any contract discount: the
    supplier's price, else its first tier's."""
    cut = 1.0 - facts.cut.get((s, t), 0.0)
    p = facts.price(s, t) / cut if cut > 0 else math.nan
    if math.isnan(p):
        tiers = facts.tiers(s, t)
        p = tiers[0][1] if tiers else 0.0
    return p * (1.0 + facts.tariff(s, t))


def contract_costs(inst: Instance, facts: _Facts, signed: dict[str, bool],
                   supplied: dict[tuple[str, int], float], allowed: Callable,
                   breach: Breach) -> tuple[float, float]:
    """(discounted take-or-pay payments, discounted discounts of contracts the
    plan signs) and a breach for every signed minimum or maximum not kept."""
    shortfall = discount = 0.0
    for c in inst.contracts:
        if not signed.get(c.name):
            continue
        for t in contract_periods(inst, c):
            v = supplied.get((c.supplier, t), 0.0)
            where = {"rule": c.name, "supplier": c.supplier, "period": t, "unit": "GWh"}
            price = unit_price(facts, c.supplier, t)
            if v < c.min_gwh - allowed(c.min_gwh):
                if c.take_or_pay:
                    shortfall += facts.discount[t] * (c.min_gwh - v) * price
                else:
                    breach("contract", c.min_gwh - v, f"contract '{c.name}' in {t}: {v:g} GWh "
                           f"from {c.supplier}, below its minimum {c.min_gwh:g}", value=v,
                           limit=c.min_gwh, **where)
            if c.max_gwh is not None and v > c.max_gwh + allowed(c.max_gwh):
                breach("contract", v - c.max_gwh, f"contract '{c.name}' in {t}: {v:g} GWh "
                       f"from {c.supplier}, above its maximum {c.max_gwh:g}", value=v,
                       limit=c.max_gwh, **where)
            if not c.signed:  # an already-signed discount is in the ex-works price
                discount += facts.discount[t] * c.discount * price * v
    return shortfall, -discount


def qualification_cost(facts: _Facts, supplied: dict[tuple[str, int], float],
                       floor: float) -> float:
    """Discounted qualification costs: each supplier's, in the first period it
    delivers more than ``floor``."""
    total = 0.0
    for s, sp in facts.sup.items():
        if not sp.qualification_cost:
            continue
        for t in facts.periods:
            if supplied.get((s, t), 0.0) > floor:
                total += facts.discount[t] * sp.qualification_cost
                break
    return total


def check_change(facts: _Facts, rule: Rule, plan: pd.DataFrame, allowed: Callable,
                 breach: Breach, misses: list[dict[str, Any]]) -> None:
    """A ``max_change`` rule: for each group, covered applications and period t
    after the first, |V(t) - V(t-1)| <= limit."""
    assert rule.by is not None and rule.limit is not None
    limit = float(rule.limit)
    periods = facts.periods
    apps = [a for a in facts.apps if rule.applications is None or a in rule.applications]
    sets = [(a,) for a in apps] if rule.per_application else [tuple(apps)]
    group_of = facts.value_map(rule.by)
    listed = set(rule.group) if rule.group is not None else None
    df = plan[plan["application"].isin(apps)]
    if listed is not None:
        keys = df["supplier"].map(lambda s: ";".join(rule.group or []) if group_of.get(s)
                                  in listed else None)
    else:
        keys = df["supplier"].map(group_of)
    df = df.assign(group=keys)
    df = df[df["group"].notna()]
    for prev, t in itertools.pairwise(periods):
        if rule.periods is not None and t not in rule.periods:
            continue
        for aa in sets:
            sub = df[df["application"].isin(aa)]
            now = sub[sub["period"] == t].groupby("group")["gwh"].sum()
            before = sub[sub["period"] == prev].groupby("group")["gwh"].sum()
            for g in sorted(set(now.index) | set(before.index)):
                change = float(now.get(g, 0.0)) - float(before.get(g, 0.0))
                excess = abs(change) - limit
                if excess > allowed(max(1.0, limit)):
                    where = {"rule": rule.name, "period": t, "group": g,
                             "application": aa[0] if rule.per_application else None}
                    message = (f"rule '{rule.name}' (max_change) in {t}, {rule.by} {g}: "
                               f"{change:+g} GWh from {prev}, limit {limit:g}")
                    if rule.penalty is not None:
                        misses.append({**where, "kind": rule.kind, "miss": excess,
                                       "cost": excess * rule.penalty * facts.discount[t],
                                       "excess": excess, "message": message})
                    else:
                        breach("rule", excess, message, value=change, limit=limit,
                               unit="GWh", **where)


def stock_flows(inst: Instance, stock: pd.DataFrame | None, allowed: Callable,
                breach: Breach) -> tuple[dict[tuple[str, int], float], float]:
    """((application, period) -> GWh put into stock (negative: taken out), the
    discounted holding cost), from the plan's levels (``stock.csv``: application,
    period, level_gwh); a level outside [0, max_gwh] is a breach. Without
    levels, every stock stays at its initial level."""
    if not inst.stock:
        return {}, 0.0
    t0 = inst.periods[0]
    r = inst.settings.discount_rate
    given: dict[tuple[str, int], float] = {}
    if stock is not None and len(stock):
        for a, t, v in zip(stock["application"], stock["period"], stock["level_gwh"],
                           strict=True):
            given[(str(a), int(t))] = float(v)
    into: dict[tuple[str, int], float] = {}
    holding = 0.0
    for st in inst.stock:
        before = st.initial_gwh
        for t in inst.periods:
            level = given.get((st.application, t), st.initial_gwh)
            if level < -allowed(1.0) or level > st.max_gwh + allowed(st.max_gwh):
                breach("stock", max(-level, level - st.max_gwh), f"stock of {st.application} "
                       f"in {t}: {level:g} GWh, outside 0 to {st.max_gwh:g}",
                       application=st.application, period=t, value=level,
                       limit=st.max_gwh, unit="GWh")
            into[(st.application, t)] = level - before
            holding += (1.0 + r) ** -(t - t0) * st.holding_cost * level
            before = level
    return into, holding
