"""Plans to play out: GWh contracted per lane, with their cost in the base case.

A plan comes from an allocation (a file such as ``allocation.csv``, checked
independently by :mod:`optimizer.check`), from a solver's lane volumes, or
from the deterministic optimum (solved through the solve layer).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pyomo.common.gc_manager import PauseGC

from optimizer.analysis.repair import explain_infeasible
from optimizer.check import check_plan
from optimizer.check.building import funded_capacity
from optimizer.data import ModelData
from optimizer.data_scenarios import ScenarioData
from optimizer.errors import InputError, Location, Problem
from optimizer.input.instance import Instance
from optimizer.model import build_model
from optimizer.results import Result, result_from
from optimizer.scenarios.errors import NoPlanError
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: volumes (GWh) below this are treated as zero in play-outs
EPS = 1e-9


@dataclass
class Plan:
    """A plan to play out: GWh per lane (:attr:`ScenarioData.lanes` order) and its
    cost in the base case (USD million, discounted, as the objective counts it:
    purchases, fixed costs, its own unmet demand, soft-rule penalties)."""

    name: str
    x: np.ndarray
    base_cost: float
    allocation: pd.DataFrame
    #: problems found by the independent plan check (rules a read plan breaks)
    warnings: list[str] = field(default_factory=list)
    #: capacity the plan's co-funded expansions add, per supply
    #: (:attr:`ScenarioData.supplies` order; SPEC section 8): spare capacity in
    #: every case it exists in
    added: np.ndarray | None = None
    #: the plan's funding decisions and contracts (as expansions.csv, contracts.csv)
    funding: pd.DataFrame | None = None
    contracts: pd.DataFrame | None = None
    #: buffer stock held at the end of each period, per demand row
    #: (:attr:`ScenarioData.demand` order; None: every stock at its initial level)
    levels: np.ndarray | None = None
    stock: pd.DataFrame | None = None

    def capacity(self, sd: ScenarioData) -> np.ndarray:
        """Capacity per supply with what the plan funded."""
        return sd.capacity if self.added is None else sd.capacity + self.added


def _added(inst: Instance, sd: ScenarioData, funding: pd.DataFrame | None) -> np.ndarray | None:
    """Capacity the funding adds, per supply (None without funding)."""
    if funding is None or not len(funding):
        return None
    added, _ = funded_capacity(inst, funding, lambda magnitude: 1e-6 * abs(magnitude) + 1e-9,
                               lambda *args, **kw: None)
    keys = zip(sd.supplies["supplier"].astype(str), sd.supplies["period"].astype(int),
               strict=True)
    return np.array([added.get(k, 0.0) for k in keys], dtype=float)


def _levels(sd: ScenarioData, stock: pd.DataFrame | None) -> np.ndarray | None:
    """End-of-period stock per demand row from a stock table (application,
    period, level_gwh); rows without stock 0; None without a table."""
    if stock is None or not len(stock) or not sd.stocked.any():
        return None
    given = {(str(a), int(t)): float(v) for a, t, v in
             zip(stock["application"], stock["period"], stock["level_gwh"], strict=True)}
    keys = zip(sd.demand["application"], sd.demand["period"], strict=True)
    out = np.array([given.get((str(a), int(t)), np.nan) for a, t in keys])
    return np.where(sd.stocked, np.where(np.isnan(out), np.nan_to_num(sd.stock_initial), out),
                    0.0)


def plan_from_allocation(inst: Instance, sd: ScenarioData, allocation: pd.DataFrame,
                         name: str, strict: bool = True, funding: pd.DataFrame | None = None,
                         contracts: pd.DataFrame | None = None,
                         stock: pd.DataFrame | None = None) -> Plan:
    """A :class:`Plan` from an allocation (supplier, application, period, gwh).

    The plan is checked independently (:func:`optimizer.check.check_plan`),
    which also gives its base-case cost. With ``strict``, a plan that is not a
    contract at all (negative or ineligible volumes, excluded lanes, above
    capacity, buying more than demand, or leaving hard demand unmet) raises
    :class:`~optimizer.errors.InputError`; a plan that only breaks a rule or a
    minimum order is played out with a warning.
    """
    report = check_plan(inst, allocation, funding=funding, contracts=contracts, stock=stock)
    structural = ("negative", "ineligible", "exclude", "capacity", "demand_over",
                  "demand_unmet", "funding")
    v = report.violations
    hard = v[v["kind"].isin(structural)]
    if strict and len(hard):
        where = Location(file=name, table="plan")
        raise InputError([Problem(where, f"the plan cannot be played out: {m}")
                          for m in hard["message"]])
    warnings = [f"the plan breaks: {m}" for m in v.loc[~v["kind"].isin(structural), "message"]]
    plan = allocation[["supplier", "application", "period", "gwh"]].copy()
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    plan = plan[plan["gwh"] > 0].reset_index(drop=True)
    pos = sd.lane_index(plan) if len(plan) else np.zeros(0, dtype=np.int64)
    x = np.zeros(sd.n_lanes)
    np.add.at(x, pos[pos >= 0], plan["gwh"].to_numpy()[pos >= 0])
    return Plan(name=name, x=x, base_cost=float(report.cost), allocation=plan,
                warnings=warnings, added=_added(inst, sd, funding), funding=funding,
                contracts=contracts, levels=_levels(sd, stock), stock=stock)


def plan_from_lanes(inst: Instance, sd: ScenarioData, x: np.ndarray, name: str,
                    funding: pd.DataFrame | None = None,
                    contracts: pd.DataFrame | None = None,
                    stock: pd.DataFrame | None = None) -> Plan:
    """A :class:`Plan` from lane volumes (a solver's answer), with the funding
    and contracts it decided."""
    x = np.where(np.abs(x) < EPS, 0.0, np.asarray(x, dtype=float))
    keep = x > 0
    allocation = sd.lanes.loc[keep].assign(gwh=x[keep]).reset_index(drop=True)
    return plan_from_allocation(inst, sd, allocation, name, strict=False, funding=funding,
                                contracts=contracts, stock=stock)


def deterministic_plan(inst: Instance, data: ModelData, sd: ScenarioData,
                       options: SolverOptions | None = None) -> tuple[Plan, Result]:
    """The deterministic optimum (SPEC section 4) as a :class:`Plan`, and its
    :class:`~optimizer.results.Result` (without the rule-cost analyses). No plan
    raises :class:`NoPlanError` carrying the Result, whose ``conflicts`` and
    ``repairs`` say why."""
    with PauseGC():  # as optimizer.api.solve_model: the results make many small objects
        session = Session(build_model(data), data, options)
        status = session.solve(meanwhile=session.hm.prefetch)
        if status.has_solution:
            result = result_from(data, session, status, {"name": "highs",
                                                         "status": status.highs_status,
                                                         "mip": session.is_mip})
        else:
            result = _no_plan(data, session, status.status, status.highs_status)
    if not result.has_plan:
        raise NoPlanError(f"the instance has no plan (status {result.status}); "
                          "`optimizer solve` names the conflicting rules", result)
    plan = plan_from_allocation(inst, sd, result.allocation, "deterministic", strict=False,
                                funding=result.expansions, contracts=result.contracts,
                                stock=result.stock if len(result.stock.columns) else None)
    return plan, result


def _no_plan(data: ModelData, session: Session, status: str, highs_status: str) -> Result:
    """The Result of a solve without a plan: empty tables, and for an infeasible
    model the repairs, conflicting rules and irreducible set that explain it."""
    why = explain_infeasible(data, session) if status == "infeasible" else {}
    return Result(
        instance=data.name, status=status, objective=None, allocation=pd.DataFrame(),
        unmet=pd.DataFrame(), shares=pd.DataFrame(), rules=pd.DataFrame(),
        cost_breakdown={}, solver={"name": "highs", "status": highs_status,
                                   "mip": session.is_mip},
        model_size=session.size, timings={}, repairs=why.get("repairs", []),
        conflicts=why.get("conflicts", []), iis=why.get("iis", []), session=session)


def plan_mix(sd: ScenarioData, plans: Sequence[Plan], by: str) -> pd.DataFrame:
    """Share of each group (``by``: company, control, family ...) in each plan's
    total GWh over the horizon: one column per plan, groups by largest share."""
    values = sd.supplies[by].astype(object).fillna("(none)").astype(str).to_numpy()
    cols = {}
    for plan in plans:
        total = plan.x.sum()
        by_group = pd.Series(plan.x, index=values[sd.lane_supply]).groupby(level=0).sum()
        cols[plan.name] = by_group / total if total > 0 else by_group * 0.0
    df = pd.DataFrame(cols).fillna(0.0)
    df = df[(df > 1e-9).any(axis=1)]
    df = df.loc[df.max(axis=1).sort_values(ascending=False, kind="stable").index]
    df.index.name = by
    return df
