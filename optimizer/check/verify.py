"""The check itself: demand, capacity, minimum orders, every rule and the cost
of a plan, each broken requirement with its size."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optimizer.check import building
from optimizer.check.base import (
    COST_KEYS,
    HHI_SLACK,
    TOL,
    VIOLATION_COLUMNS,
    CheckReport,
)
from optimizer.check.facts import _at, _Facts, _Rows, _sequential_sum
from optimizer.check.plan_input import plan_frame
from optimizer.input.instance import Instance
from optimizer.input.schema import Rule


def check_plan(inst: Instance, allocation: pd.DataFrame, tol: float = TOL,
               objective: float | None = None, funding: pd.DataFrame | None = None,
               contracts: pd.DataFrame | None = None,
               stock: pd.DataFrame | None = None) -> CheckReport:
    """Check a plan against an instance and recompute its cost.

    ``allocation`` needs the columns supplier, application, period, gwh (others,
    like those of ``Result.allocation``, are ignored); a (supplier, application,
    period) missing from it is 0. With ``objective`` (USD million), the
    recomputed cost must also match it. See the module docstring for the
    tolerances. ``funding`` and ``contracts`` (as ``expansions.csv`` and
    ``contracts.csv``): the plan's co-funded steps and the contracts it signs
    (:mod:`optimizer.check.building`); without them nothing is funded and only
    already-signed contracts hold. ``stock`` (as ``stock.csv``: application,
    period, level_gwh): the buffer held at the end of each period; without it
    every stock stays at its initial level.

    The tests run on whole columns; the rows they flag are then gone through one
    at a time to say what is wrong with each.
    """
    demands = [d.gwh for d in inst.demand if d.gwh > 0]
    scale = max(demands) if demands else 1.0
    floor = tol * min(1.0, scale)
    violations: list[dict[str, Any]] = []
    misses: list[dict[str, Any]] = []

    def allowed(magnitude: Any) -> Any:
        return tol * abs(magnitude) + floor

    def breach(kind: str, excess: float, message: str, **where: Any) -> None:
        violations.append({"kind": kind, "excess": float(excess), "message": message, **where})

    added, funding_costs = building.funded_capacity(inst, funding, allowed, breach)
    facts = _Facts(inst, added)
    plan = plan_frame(inst, allocation)
    rows = _Rows.of(facts, plan)

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
    # a buffer stock: what goes into stock is bought on top of demand (taken out: less)
    into, holding = building.stock_flows(inst, stock, allowed, breach)
    unmet_rows = []
    for a, app in facts.apps.items():
        for t in facts.periods:
            dem = facts.demand.get((a, t), 0.0) + into.get((a, t), 0.0)
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
        if rule.kind == "max_change":
            building.check_change(facts, rule, plan, allowed, breach, misses)
        elif rule.kind != "exclude":
            _check_rule(facts, rule, rows, allowed, tol, breach, misses)

    # --- cost -----------------------------------------------------------------------
    costs = _costs(facts, rows, supplies, sup_at, period_at, unmet, misses)
    if inst.stock:
        costs = {**{k: v for k, v in costs.items() if k != "total"}, "holding": holding}
        costs["total"] = float(sum(costs.values()))
    if inst.expansions or inst.contracts or any(sp.qualification_cost for sp in inst.suppliers):
        per_supply = {(str(s), int(t)): float(q) for s, t, q in
                      supplies[["supplier", "period", "gwh"]].itertuples(index=False)}
        signed = building.signed_of(inst, contracts)
        shortfall, discount = building.contract_costs(inst, facts, signed, per_supply, allowed,
                                                      breach)
        extra = {
            "expansions": float(sum(facts.discount[t] * c for t, c in funding_costs)),
            "qualification": building.qualification_cost(facts, per_supply, floor),
            "contract_shortfall": shortfall,
            "contract_discount": discount,
        }
        costs = {**{k: v for k, v in costs.items() if k != "total"}, **extra}
        costs["total"] = float(sum(costs.values()))
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
    unit = "GWh"
    if rule.kind in ("max_average", "min_average"):
        assert rule.attribute is not None
        of_row = facts.numbers(rule.attribute)[rows.sup]
    elif rule.by_origin:
        of_row = np.zeros(len(rows.sup), dtype=np.intp)  # split into countries below
        unit = "kt"
    else:
        assert rule.by is not None
        of_row = facts.group_codes(rule.by)[rows.sup]
    spend = _unit_costs(facts, rows) if rule.measure == "spend" else None
    if spend is not None:
        unit = "USD million"
    for t, apps in _covered(rule, facts):
        covered = np.zeros(len(facts.apps), dtype=bool)
        covered[[facts.app_at[a] for a in apps]] = True
        in_period = rows.by_period[facts.period_at[t]]
        scope_rows = in_period[covered[rows.app[in_period]]]
        where: dict[str, Any] = {"rule": rule.name, "period": t,
                                 "application": apps[0] if rule.per_application else None}
        scope = f"rule '{rule.name}' ({rule.kind}) in {t}" + \
            (f" for {apps[0]}" if rule.per_application else "")
        codes, q = of_row[scope_rows], rows.gwh[scope_rows]
        if rule.by_origin:
            codes, q = _origin_pieces(facts, rule, rows, scope_rows, t)
        elif spend is not None:
            q = q * spend[scope_rows]
        found = _scope_findings(facts, rule, scope, codes, q, allowed, tol, unit)
        for f in found:
            if rule.penalty is not None:
                misses.append({**where, **f, "kind": rule.kind, "miss": f["excess"],
                               "cost": f["excess"] * rule.penalty * facts.discount[t]})
            else:
                breach("rule", **where, **f)


def _origin_pieces(facts: _Facts, rule: Rule, rows: _Rows, scope_rows: np.ndarray,
                   t: int) -> tuple[np.ndarray, np.ndarray]:
    """A rule by origin measures kt of its material: each plan row splits into one
    piece per country it draws the material from at the rule's stage, kt = GWh x
    kg per kWh x that country's share (the pieces of a row add up to its kt)."""
    assert rule.material is not None and rule.stage is not None
    position = {c: k for k, c in enumerate(facts.countries)}
    suppliers = list(facts.sup)
    codes: list[int] = []
    kt: list[float] = []
    for j in scope_rows.tolist():
        s = suppliers[int(rows.sup[j])]
        mass = float(rows.gwh[j]) * facts.kg(s, rule.material)
        if mass == 0:
            continue
        for country, share in facts.origin(s, rule.material, rule.stage, t).items():
            codes.append(position[country])
            kt.append(mass * share)
    return np.array(codes, dtype=np.intp), np.array(kt, dtype=float)


def _scope_findings(facts: _Facts, rule: Rule, scope: str, of_row: np.ndarray, q: np.ndarray,
                    allowed: Any, tol: float, unit: str = "GWh") -> list[dict[str, Any]]:
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
                    f"volume {value:g} {unit}"
                add(gap, f"{scope}, {rule.by} {name}: {what}, limit {limit:g} "
                    f"({gap:g} {unit} beyond it)", unit, value, name)
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
        # in GWh^2: sum v^2 - limit T^2, with room for the volumes' own noise (each
        # within the volume floor allowed(0)): a scope bought at the solver's
        # tolerance of nothing has no meaningful HHI
        hhi = float(sum((v / x_total) ** 2 for v in volumes))
        excess = float(sum(v * v for v in volumes)) - limit * x_total ** 2
        if excess > (HHI_SLACK + tol) * x_total ** 2 + 2.0 * allowed(0.0) * x_total:
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
