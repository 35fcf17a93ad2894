"""Results as tidy DataFrames keyed by the instance's ids.

Everything here is computed from the plan (GWh per lane) and the model data,
plus the row duals for marginal costs: no printing, no files.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from optimizer.data import ModelData, RuleScope
from optimizer.input.schema import (
    AVERAGE_KINDS,
    CHANGE_KINDS,
    CONCENTRATION_KINDS,
    COUNT_KINDS,
    SHARE_KINDS,
    VOLUME_KINDS,
)
from optimizer.results_building import (
    building_costs,
    contracts_table,
    expansions_table,
    stock_table,
)
from optimizer.solver.highs import SolveStatus
from optimizer.solver.session import Session

#: volumes below this are reported as zero (HiGHS's feasibility tolerance is 1e-7)
TINY = 1e-9
#: a rule is binding when its slack is within this (relative) tolerance
BINDING_TOL = 1e-6

SHARE_GROUPINGS = ("company", "country", "control", "family")


@dataclass
class Result:
    """The answer to one instance.

    ``status`` is ``optimal``, ``time_limit`` (a plan, maybe not optimal),
    ``infeasible``, ``unbounded`` or ``error``. DataFrames are empty when
    there is no plan; ``conflicts`` then explains why.
    """

    instance: str
    status: str
    objective: float | None
    allocation: pd.DataFrame
    unmet: pd.DataFrame
    shares: pd.DataFrame
    rules: pd.DataFrame
    cost_breakdown: dict[str, float]
    solver: dict[str, Any]
    model_size: dict[str, int]
    timings: dict[str, float]
    #: rules whose removal alone restores a plan (infeasible results)
    conflicts: list[str] = field(default_factory=list)
    #: the smallest changes that restore a plan, each with a ``message``
    repairs: list[dict[str, Any]] = field(default_factory=list)
    #: an irreducible set of requirements that cannot hold together (LP only)
    iis: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: per supplier and period: GWh, capacity use, used or not, fixed cost charged
    usage: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: volume in each price tier (empty without price tiers)
    tiers: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: per rule: total cost of the rule (all scopes removed at once)
    rule_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: kt of each upstream material by stage, origin country and period
    materials: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: co-funded capacity: one row per funding decision (instances with expansions)
    expansions: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: offtake agreements: one row per contract and period (instances with contracts)
    contracts: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: buffer stock per application and period (instances with a stock table)
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: what each contract and expansion is worth: the optimum without it minus
    #: with it (:func:`optimizer.analysis.building.building_worth`), when the
    #: analysis ran
    option_worth: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: HHI and top-1/top-3 shares per period and grouping, with and without rules
    concentration: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: the optimum, the optimum with no rules at all, and the difference
    price_of_rules: dict[str, Any] = field(default_factory=dict)
    #: the independent check of the plan (:class:`optimizer.check.CheckReport`),
    #: when ``optimizer.solve(..., check=True)`` ran it
    check: Any = field(default=None, repr=False)
    #: the solve session (model loaded in HiGHS), kept for warm re-solves (None
    #: when nothing was solved)
    session: Session | None = field(default=None, repr=False)

    @property
    def highs(self) -> Any:
        """The HiGHS model underneath the session (None when nothing was solved)."""
        return self.session.hm if self.session is not None else None

    @property
    def has_plan(self) -> bool:
        """A plan exists (optimal, or the best found before the time limit)."""
        return self.status in ("optimal", "time_limit") and self.objective is not None

    def summary(self) -> dict[str, Any]:
        """The content of ``summary.json``."""
        out: dict[str, Any] = {
            "instance": self.instance,
            "status": self.status,
            "objective": self.objective,
            "objective_unit": "USD million (discounted)",
            "cost_breakdown": self.cost_breakdown,
            "solver": self.solver,
            "model_size": self.model_size,
            "timings": self.timings,
        }
        if self.status in ("optimal", "time_limit") and not self.unmet.empty:
            out["unmet_gwh"] = float(self.unmet["unmet"].sum())
        if self.price_of_rules:
            out["price_of_rules"] = self.price_of_rules
        if not self.rule_summary.empty:
            out["rule_costs"] = self.rule_summary.to_dict("records")
        if not self.option_worth.empty:
            out["option_worth"] = self.option_worth.to_dict("records")
        if self.solver.get("mip"):
            out["mip_gap"] = self.solver.get("mip_gap")
            out["best_bound"] = self.solver.get("best_bound")
        if self.status == "infeasible":
            out["repairs"] = self.repairs
            out["conflicts"] = self.conflicts
            out["irreducible_conflict"] = self.iis
        if self.warnings:
            out["warnings"] = self.warnings
        return out


def tier_table(data: ModelData, session: Session) -> pd.DataFrame:
    """Volume in each price tier; ``current`` marks the tier a supplier's total
    lies in (a total exactly at a breakpoint belongs to the upper tier)."""
    tiers = data.tiers
    if tiers.empty:
        return pd.DataFrame(columns=["supplier", "period", "tier", "from_gwh", "price", "gwh",
                                     "current"])
    m = session.m
    v = session.values_of([m.tier_volume[k] for k in m.TIERS])
    v[np.abs(v) < TINY] = 0.0
    df = tiers[["supplier", "period", "tier", "from_gwh", "price", "tariff_rate", "unit_cost",
                "discount"]].copy()
    df["gwh"] = v
    total = df.groupby(["supplier", "period"])["gwh"].transform("sum")
    reached = df["from_gwh"] <= total + 1e-7
    highest = df[reached].groupby(["supplier", "period"])["tier"].transform("max")
    df["current"] = False
    df.loc[highest.index, "current"] = df.loc[highest.index, "tier"] == highest
    return df.reset_index(drop=True)


def _tiered_prices(tiers: pd.DataFrame) -> pd.DataFrame:
    """Average ex-works price and tariff per GWh of each tiered (supplier, period)."""
    t = tiers.assign(ex=tiers["gwh"] * tiers["price"],
                     duty=tiers["gwh"] * tiers["price"] * tiers["tariff_rate"])
    g = t.groupby(["supplier", "period"])[["ex", "duty", "gwh"]].sum()
    g = g[g["gwh"] > 0]
    return pd.DataFrame({"avg_ex_works": g["ex"] / g["gwh"], "avg_tariff": g["duty"] / g["gwh"]})


def allocation_table(data: ModelData, x: np.ndarray, tiers: pd.DataFrame) -> pd.DataFrame:
    lanes = data.lanes
    keep = x > 0
    df = lanes.loc[keep, ["supplier", "company", "country", "control", "bloc", "chemistry",
                          "family", "application", "period", "tiered", "ex_works", "tariff",
                          "freight", "carbon", "discount"]].copy()
    df.insert(9, "gwh", x[keep])
    if df["tiered"].any() and not tiers.empty:
        avg = _tiered_prices(tiers)
        key = pd.MultiIndex.from_frame(df[["supplier", "period"]])
        ex = avg["avg_ex_works"].reindex(key).to_numpy()
        duty = avg["avg_tariff"].reindex(key).to_numpy()
        tiered = df["tiered"].to_numpy()
        df.loc[tiered, "ex_works"] = ex[tiered]
        df.loc[tiered, "tariff"] = duty[tiered]
    df["unit_landed_cost"] = df["ex_works"] + df["tariff"] + df["freight"] + df["carbon"]
    df["cost"] = df["gwh"] * df["unit_landed_cost"]
    df["discounted_cost"] = df["cost"] * df.pop("discount")
    return df.drop(columns="tiered").reset_index(drop=True)


def usage_table(data: ModelData, session: Session, x: np.ndarray) -> pd.DataFrame:
    """Per supplier and period where it could deliver: GWh, capacity use, whether
    it is used, and the fixed cost charged."""
    cap = data.capacity.rename(columns={"gwh": "capacity"})
    delivered = pd.DataFrame({"supplier": data.lanes["supplier"],
                              "period": data.lanes["period"], "gwh": x})
    delivered = delivered.groupby(["supplier", "period"], as_index=False)[["gwh"]].sum()
    df = cap.merge(delivered, on=["supplier", "period"], how="inner")
    df["utilisation"] = df["gwh"] / df["capacity"]
    df["used"] = df["gwh"] > TINY
    # the fixed cost is charged where the on/off decision is on (as in the objective)
    m = session.m
    keys = list(m.SWITCHED)
    on = session.values_of([m.delivers[k] for k in keys]) if keys else np.zeros(0)
    fixed = data.switched.set_index(["supplier", "period"])["fixed_cost"]
    charged = {k: float(fixed[k]) for k, v in zip(keys, on, strict=True) if v > 0.5}
    df["fixed_cost"] = [charged.get((s, int(t)), 0.0) for s, t in
                        zip(df["supplier"], df["period"], strict=True)]
    return df.reset_index(drop=True)


def unmet_table(data: ModelData, session: Session, x: np.ndarray) -> pd.DataFrame:
    d = data.demand.copy()
    bought = (
        pd.Series(x, index=pd.MultiIndex.from_frame(data.lanes[["application", "period"]]))
        .groupby(level=[0, 1]).sum()
    )
    d["bought"] = [float(bought.get((a, t), 0.0)) for a, t in zip(d["application"], d["period"],
                                                                 strict=True)]
    m = session.m
    keys = list(m.UNMET_ALLOWED)
    vals = session.values_of([m.unmet[k] for k in keys]) if keys else np.zeros(0)
    unmet = {k: (v if v > TINY else 0.0) for k, v in zip(keys, vals, strict=True)}
    d["unmet"] = [unmet.get((a, int(t)), 0.0) for a, t in zip(d["application"], d["period"],
                                                              strict=True)]
    return d.rename(columns={"gwh": "demand", "unmet_penalty": "penalty"})


def cost_breakdown(data: ModelData, x: np.ndarray, unmet: pd.DataFrame,
                   tiers: pd.DataFrame, usage: pd.DataFrame,
                   rule_penalties: float = 0.0,
                   building: dict[str, float] | None = None) -> dict[str, float]:
    """Discounted cost components in USD million; they add up to ``total``.
    ``building``: the components of co-funded capacity, qualification and
    contracts (:func:`optimizer.results_building.building_costs`), listed
    only in instances that have them."""
    lanes = data.lanes
    w = x * lanes["discount"].to_numpy()
    penalty = unmet["penalty"].astype(float).fillna(0.0).to_numpy()
    disc = unmet["period"].map(data.discount).to_numpy(dtype=float)
    tier_ex = tier_duty = 0.0
    if not tiers.empty:
        tw = tiers["gwh"] * tiers["price"] * tiers["discount"]
        tier_ex = float(tw.sum())
        tier_duty = float((tw * tiers["tariff_rate"]).sum())
    usage_disc = usage["period"].map(data.discount).to_numpy(dtype=float)
    out = {
        "ex_works": float(w @ lanes["ex_works"].to_numpy()) + tier_ex,
        "tariff": float(w @ lanes["tariff"].to_numpy()) + tier_duty,
        "freight": float(w @ lanes["freight"].to_numpy()),
        "carbon": float(w @ lanes["carbon"].to_numpy()),
        "fixed": float((usage["fixed_cost"].to_numpy() * usage_disc).sum()),
        "unmet_penalty": float((unmet["unmet"].to_numpy() * penalty * disc).sum()),
        "rule_penalties": float(rule_penalties),
    }
    if data.building.links_periods or not data.stock.empty:
        out.update(building or {})
    out["total"] = float(sum(out.values()))
    return out


def shares_table(data: ModelData, x: np.ndarray) -> pd.DataFrame:
    """Share of each company, country, controlling country and chemistry family
    in each period's total purchases (all applications)."""
    lanes = data.lanes
    frames = []
    total = pd.Series(x, index=lanes["period"]).groupby(level=0).sum()
    for by in SHARE_GROUPINGS:
        g = pd.DataFrame({"period": lanes["period"], "group": lanes[by], "gwh": x})
        g = g[g["gwh"] > 0].groupby(["period", "group"], as_index=False)[["gwh"]].sum()
        g.insert(1, "by", by)
        frames.append(g)
    df = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if df.empty:
        return pd.DataFrame(columns=["period", "by", "group", "gwh", "share"])
    df["share"] = df["gwh"] / df["period"].map(total)
    return df.sort_values(["period", "by", "gwh"], ascending=[True, True, False],
                          kind="stable").reset_index(drop=True)


def materials_table(data: ModelData, x: np.ndarray) -> pd.DataFrame:
    """The materials the plan's cells hold, by where they come from: one row
    per material, stage, origin country and period with ``kt`` (1 GWh x 1
    kg/kWh = 1 kt) and ``share`` (of that material's kt at that stage in the
    period). Empty without upstream tables."""
    columns = ["material", "stage", "country", "period", "kt", "share"]
    inst = data.instance
    if not inst.origins or not len(data.lanes):
        return pd.DataFrame(columns=columns)
    up = data.upstream
    codes, periods = pd.factorize(data.lanes["period"].to_numpy(dtype=np.int64), sort=True)
    rows: list[tuple[str, str, str, int, float]] = []
    for material in (mat.id for mat in inst.materials):
        mass = x * up.kg(material)
        if not (mass > 0).any():
            continue
        for stage in inst.settings.stages:
            for country, q in up.shares(material, stage).items():
                kt = np.bincount(codes, weights=mass * q, minlength=len(periods))
                rows += [(material, stage, country, int(t), float(v))
                         for t, v in zip(periods, kt, strict=True)]
    if not rows:
        return pd.DataFrame(columns=columns)
    df = pd.DataFrame(rows, columns=["material", "stage", "country", "period", "kt"])
    df = df[df["kt"] > TINY]
    total = df.groupby(["material", "stage", "period"])["kt"].transform("sum")
    df = df.assign(share=df["kt"] / total)
    return df.sort_values(["material", "stage", "period", "kt"],
                          ascending=[True, True, True, False]).reset_index(drop=True)[columns]


class CoveredTotals(dict):
    """X of each coverage (period, applications), summed once: many rule scopes
    (a cap on every company) share one coverage."""

    def __init__(self, x: np.ndarray):
        super().__init__()
        self.x = x

    def of(self, scope: RuleScope) -> float:
        key = scope.coverage
        if key not in self:
            self[key] = scope.covered_volume(self.x)
        return self[key]


def _rule_row(scope: RuleScope, x: np.ndarray, limit: float,
              totals: CoveredTotals | None = None) -> dict[str, Any]:
    rule = scope.rule
    kind = rule.kind
    v = scope.volume(x)
    total = (totals if totals is not None else CoveredTotals(x)).of(scope)
    group = scope.group if scope.group is not None else ";".join(rule.group or [])
    if kind in SHARE_KINDS:
        value = v / total if total > TINY else np.nan
        gap = limit * total - v  # GWh of room (max) / excess (min, negated)
        unit = "share"
        scale = max(1.0, total)
    elif kind in VOLUME_KINDS or kind in CHANGE_KINDS:
        value = v  # max_change: the rise (or fall) from the period before
        gap = limit - v
        unit = "kt" if scope.measure == "kt" else "GWh"
        scale = max(1.0, abs(limit))
    elif kind in AVERAGE_KINDS:
        assert scope.weights is not None
        weighted = float(scope.weights @ x[scope.covered])
        value = weighted / total if total > TINY else np.nan
        gap = limit * total - weighted
        unit = rule.attribute or ""
        scale = max(1.0, total * max(1.0, abs(limit)))
    elif kind in COUNT_KINDS:
        h = float(rule.threshold or 0.0)
        volumes = [float(x[pos].sum()) for pos in (scope.groups or {}).values()]
        tol = 1e-6 * max(1.0, total)
        if kind == "max_count":
            value = float(sum(vg > h * total + tol for vg in volumes))
        else:
            value = float(sum(vg >= h * total - tol for vg in volumes))
        gap = limit - value
        unit = "groups"
        scale = 1.0
        v = value
    elif kind == "max_top_share":
        volumes = sorted(scope.group_volumes(x).values(), reverse=True)
        v = float(sum(volumes[: int(rule.k or 1)]))
        value = v / total if total > TINY else np.nan
        gap = limit * total - v
        unit = "share"
        scale = max(1.0, total)
    elif kind == "max_hhi":
        group_volumes = np.array(list(scope.group_volumes(x).values()))
        value = float(((group_volumes / total) ** 2).sum()) if total > TINY else np.nan
        gap = limit - value if total > TINY else limit
        unit = "hhi"
        scale = 10.0  # cuts stop within 1e-6 of the limit: binding within 1e-5
    else:
        value, gap, unit, scale = v, -v, "GWh", 1.0
    if kind.startswith("min_"):
        gap = -gap
    if kind in SHARE_KINDS or kind in AVERAGE_KINDS or kind in CONCENTRATION_KINDS:
        slack = (limit - value if kind.startswith("max_") else value - limit) \
            if total > TINY else np.nan
    elif kind in COUNT_KINDS:
        slack = gap
    else:
        slack = gap
    binding = bool(abs(gap) <= BINDING_TOL * scale) and (
        total > TINY or kind in VOLUME_KINDS or kind in COUNT_KINDS or kind in CHANGE_KINDS)
    out = {
        "rule": rule.name,
        "kind": kind,
        "by": rule.by or rule.attribute or "",
        "group": group,
        "period": scope.period,
        "application": scope.application if scope.application is not None
        else ";".join(rule.applications or []) or "all",
        "value": value,
        "limit": limit,
        "unit": unit,
        "slack": slack,
        "binding": binding,
        "group_gwh": v,
        "covered_gwh": total,
        # what group_gwh and covered_gwh measure: GWh, kt of a material (rules
        # by origin) or USD million (measure: spend)
        "measure": scope.measure,
    }
    if scope.direction is not None:  # max_change: "rise" or "fall" from the period before
        out["direction"] = scope.direction
    return out


def rule_misses(session: Session) -> dict[str, float]:
    """How far each soft rule scope is missed in the current solution."""
    m = session.m
    keys = list(m.SOFT_SCOPES)
    values: np.ndarray | list[float] = session.values_of([m.rule_miss[k] for k in keys]) \
        if keys else []
    return {k: (float(v) if v > TINY else 0.0) for k, v in zip(keys, values, strict=True)}


def rules_table(data: ModelData, session: Session, x: np.ndarray,
                duals: np.ndarray | None = None,
                misses: dict[str, float] | None = None) -> pd.DataFrame:
    """One row per rule scope: value, limit, slack, binding, marginal cost.

    ``marginal_cost`` is the rise in the optimum (USD million) per unit the
    rule is tightened: per percentage point of a share limit, per GWh of a
    volume limit, per unit of an average limit; from the LP's row duals.
    """
    limits = session.limits()
    totals = CoveredTotals(x)
    rows = [_rule_row(s, x, limits.get(s.rule.name, 0.0), totals) for s in data.scopes]
    for r in _exclusion_rows(data):
        rows.append(r)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["rule", "kind", "by", "group", "period", "application",
                                     "value", "limit", "unit", "slack", "binding",
                                     "marginal_cost"])
    marginal = np.full(len(df), np.nan)
    if duals is not None:
        marginal[: len(data.scopes)] = scope_marginal_costs(data, session, x, duals, totals)
    df["marginal_cost"] = marginal
    if misses:
        labels = [s.label for s in data.scopes] + [None] * (len(df) - len(data.scopes))
        df["miss"] = [misses.get(k, np.nan) if k is not None else np.nan for k in labels]
        penalty = [s.rule.penalty for s in data.scopes] + [None] * (len(df) - len(data.scopes))
        disc = [data.discount[s.period] for s in data.scopes] + [1.0] * (len(df) - len(data.scopes))
        df["penalty_cost"] = [float(p) * mi * d if p is not None and not np.isnan(mi) else 0.0
                              for p, mi, d in zip(penalty, df["miss"], disc, strict=True)]
    return df


def _exclusion_rows(data: ModelData) -> list[dict[str, Any]]:
    """Exclusions are enforced by removing lanes; report them per period."""
    out = []
    for rule in data.instance.rules:
        if rule.kind != "exclude":
            continue
        ex = data.excluded[data.excluded["excluded_by"] == rule.name] if len(data.excluded) \
            else data.excluded
        for t in rule.periods or data.periods:
            n = int((ex["period"] == t).sum()) if len(ex) else 0
            out.append({
                "rule": rule.name, "kind": "exclude", "by": rule.by,
                "group": ";".join(rule.group or []), "period": t,
                "application": ";".join(rule.applications or []) or "all",
                "value": 0.0, "limit": 0.0, "unit": "GWh", "slack": 0.0,
                "binding": n > 0, "group_gwh": 0.0, "covered_gwh": np.nan,
                "excluded_lanes": n,
            })
    return out


def scope_marginal_costs(data: ModelData, session: Session, x: np.ndarray,
                         duals: np.ndarray, totals: CoveredTotals | None = None,
                         rules: Collection[str] | None = None) -> np.ndarray:
    """Each rule scope's marginal cost (in ``data.scopes`` order): the rise in
    the optimum per unit its rule is tightened, from the row duals (USD
    million per percentage point of a share, per GWh, per unit of an average,
    per 100 HHI points); 0 for a scope without a row, NaN for count rules
    (a count has no price per unit) and for scopes of rules not in ``rules``
    (when given)."""
    totals = totals if totals is not None else CoveredTotals(x)
    out = np.full(len(data.scopes), np.nan)
    position = {s.label: i for i, s in enumerate(data.scopes)}
    for label, (scope, rows) in session.scope_rows().items():
        if rules is not None and scope.rule.name not in rules:
            continue
        i = position[label]
        kind = scope.rule.kind
        if kind in COUNT_KINDS or not rows:
            continue
        total = totals.of(scope)
        if kind == "max_hhi":
            # every cut  a.V - sqrt(L) X <= 0  moves by X / (2 sqrt L) per unit of L
            limit = session.limit(scope.rule.name)
            if limit > 0:
                out[i] = float(-duals[rows].sum() * total / (2.0 * np.sqrt(limit)) * 0.01)
            continue
        y = float(duals[rows[0]])
        if kind in SHARE_KINDS or kind == "max_top_share":
            per_unit = y * total * 0.01  # per percentage point
        elif kind in AVERAGE_KINDS:
            per_unit = y * total
        else:
            per_unit = y
        # tightening a max rule lowers its limit; a min rule raises it
        out[i] = -per_unit if kind.startswith("max_") else per_unit
    # scopes without a row cannot bind: zero marginal cost
    countable = np.array([s.rule.kind not in COUNT_KINDS and
                          (rules is None or s.rule.name in rules) for s in data.scopes],
                         dtype=bool)
    out[np.isnan(out) & countable] = 0.0
    out[np.abs(out) < 1e-12] = 0.0
    return out


def plan_from_solution(data: ModelData, session: Session,
                       status: SolveStatus) -> dict[str, Any]:
    x = session.lane_values()
    unmet = unmet_table(data, session, x)
    tiers = tier_table(data, session)
    usage = usage_table(data, session, x)
    misses = rule_misses(session)
    # duals last: for a MIP they come from re-solving with the binaries fixed
    duals = session.duals() if status.status == "optimal" else None
    allocation = allocation_table(data, x, tiers)
    rules = rules_table(data, session, x, duals, misses)
    penalties = float(rules["penalty_cost"].sum()) if "penalty_cost" in rules.columns else 0.0
    expansions = expansions_table(data, session)
    contracts = contracts_table(data, session, x)
    building = building_costs(data, session, x, expansions, contracts)
    stock = stock_table(data, session)
    if len(stock):
        building["holding"] = float((stock["holding_cost"]
                                     * stock["period"].map(data.discount)).sum())
    costs = cost_breakdown(data, x, unmet, tiers, usage, penalties, building)
    costs["undiscounted_purchases"] = float(allocation["cost"].sum())
    return {
        "x": x,
        "allocation": allocation,
        "unmet": unmet,
        "shares": shares_table(data, x),
        "materials": materials_table(data, x),
        "expansions": expansions,
        "contracts": contracts,
        "stock": stock,
        "rules": rules,
        "usage": usage,
        "tiers": tiers.drop(columns=["unit_cost", "discount"], errors="ignore"),
        "cost_breakdown": costs,
    }


def result_from(data: ModelData, session: Session, status: SolveStatus,
                solver: dict[str, Any] | None = None,
                timings: dict[str, float] | None = None) -> Result:
    """The :class:`Result` of a solved session that has a plan: the plan's
    tables, its numerical check, the solution written into the Pyomo
    variables. ``solver`` and ``timings`` are carried into the result."""
    solver = dict(solver or {})
    if session.polished:
        solver.update({"polished": True, "best_bound": status.best_bound,
                       "mip_gap": status.mip_gap})
    warnings = []
    status.numerical_trouble = session.trouble()
    if status.numerical_trouble:
        solver["numerical_trouble"] = status.numerical_trouble
        warnings.append(status.numerical_trouble)
    session.load_into_pyomo()
    plan = plan_from_solution(data, session, status)
    return Result(
        instance=data.name,
        status=status.status,
        objective=float(status.objective) if status.objective is not None else None,
        allocation=plan["allocation"],
        unmet=plan["unmet"],
        shares=plan["shares"],
        materials=plan["materials"],
        expansions=plan["expansions"],
        contracts=plan["contracts"],
        stock=plan["stock"],
        rules=plan["rules"],
        cost_breakdown=plan["cost_breakdown"],
        solver=solver,
        model_size=session.size,
        timings=timings if timings is not None else {},
        usage=plan["usage"],
        tiers=plan["tiers"],
        session=session,
        warnings=warnings,
    )
