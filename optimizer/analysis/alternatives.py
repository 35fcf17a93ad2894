"""Near-optimal alternatives (SPEC section 9): how far each group's volume can
move for a small premium, and plans that differ from the optimum as much as
possible within it.

One model is solved for its optimum z*; a budget row

    total cost (the objective as the model counts it) <= z* + slack |z*|

is added, and the objective swapped, warm each time:

* **ranges**: for each group g (companies, countries, ... or origin countries
  of a material at a stage), min and max of V_g = sum of g's purchases over
  all periods (kt of the material for ``by="origin"``): two solves per group;
* **alternatives**: ``count`` plans, each minimizing sum_g w_g V_g with w_g
  the share of g in the plans found so far (the optimum first), so that each
  new plan moves away from the groups the earlier ones relied on most. Every
  alternative is checked by the independent plan checker.

A solve that stops at its time limit (a MIP) leaves its value blank and says
so in ``status``: a bound is never passed off as the range.

Batches run through :func:`optimizer.parallel.map_chunks`: each worker builds
the model once and solves its groups warm.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimizer.analysis.budget import solve_alone
from optimizer.check import check_plan
from optimizer.data import ModelData
from optimizer.input import load_instance
from optimizer.input.instance import Instance
from optimizer.input.schema import BUILTIN_GROUPINGS, ORIGIN
from optimizer.parallel import Progress, map_chunks
from optimizer.results_building import contracts_table, expansions_table
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: random directions tried when leaning away from the plans so far gives one of them again
RETRIES = 3

RANGE_COLUMNS = ["group", "min_gwh", "max_gwh", "min_share", "max_share", "optimum_gwh",
                 "unit", "min_status", "max_status"]


class AlternativesError(ValueError):
    """An analysis that cannot run as asked (a grouping the instance lacks, no
    plan to start from)."""


@dataclass
class Groups:
    """V_g per lane: ``weights[g]`` (GWh or kt per GWh bought on each lane) and
    the unit of V."""

    weights: dict[str, np.ndarray]
    unit: str = "GWh"

    def volumes(self, x: np.ndarray) -> dict[str, float]:
        return {g: float(w @ x) for g, w in self.weights.items()}


def groups_of(data: ModelData, by: str, material: str | None = None,
              stage: str | None = None) -> Groups:
    """The groups of ``by`` among the instance's lanes."""
    lanes = data.lanes
    if by == ORIGIN:
        if material is None or stage is None:
            raise AlternativesError("--by origin needs --material and --stage")
        if material not in {m.id for m in data.instance.materials}:
            raise AlternativesError(f"no material '{material}' in this instance")
        kg = data.upstream.kg(material)
        shares = data.upstream.shares(material, stage)
        if not shares:
            raise AlternativesError(f"no origins of {material} at stage '{stage}'")
        return Groups({c: kg * q for c, q in sorted(shares.items()) if (kg * q).any()}, "kt")
    if material is not None or stage is not None:
        raise AlternativesError("--material and --stage go with --by origin")
    known = (*BUILTIN_GROUPINGS, *data.instance.settings.attributes)
    if by not in known:
        raise AlternativesError(f"cannot group by '{by}': use one of {', '.join(known)}, "
                                "or origin")
    values = lanes[by].astype(object).to_numpy()
    out = {}
    for g in sorted({str(v) for v in values if v is not None and v == v}):
        out[g] = (values == g).astype(float)
    return Groups(out)


@dataclass
class Explorer:
    """A model solved to its optimum, with the budget row added: each call
    swaps the objective and re-solves warm."""

    inst: Instance
    slack: float
    options: SolverOptions | None = None
    by: str = "company"
    material: str | None = None
    stage: str | None = None
    session: Session = field(init=False)
    data: ModelData = field(init=False)
    objective: float = field(init=False)
    budget: float = field(init=False)
    groups: Groups = field(init=False)
    x_opt: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        status, data, session = solve_alone(self.inst, self.options)
        if status.status != "optimal" or status.objective is None:
            raise AlternativesError(f"the instance has no optimal plan (status "
                                    f"{status.status}): nothing to explore around")
        self.session, self.data = session, data
        #: a MIP's re-solves are time-boxed like the rule-cost analysis: each
        #: may take 30 s, or as long as the solve took if that is longer
        self.box = max(30.0, float(status.solve_seconds)) if session.is_mip else None
        self.objective = float(status.objective)
        self.budget = self.objective + self.slack * abs(self.objective)
        self.x_opt = session.lane_values()
        #: the optimum's funding and contracts (instances that build supply)
        self.opt_tables: tuple[pd.DataFrame, pd.DataFrame] | None = (
            expansions_table(data, session), contracts_table(data, session, self.x_opt)) \
            if data.building.links_periods else None
        self.groups = groups_of(data, self.by, self.material, self.stage)
        self.base_cost, self.offset = session.objective_costs()
        m = session.m
        m.alternatives_budget = pyo.Constraint(expr=m.total_cost.expr <= self.budget)
        session.add_rows([m.alternatives_budget])
        self.lane_cols = session.lane_columns
        # the optimum again, with the budget row (a warm re-solve: the joined
        # block starts from the blocks' bases): every later re-solve starts from
        # its basis, which is 4x faster than from the last extreme plan's (the
        # 7e4 instance: 608 primal iterations per LP against 1,186)
        session.resolve()
        self.start = session.bases()

    def _lane_cost(self, weights: np.ndarray) -> np.ndarray:
        """A cost vector over all columns: ``weights`` on the lanes' columns."""
        cost = np.zeros(len(self.base_cost))
        cols = self.lane_cols
        ok = cols >= 0
        np.add.at(cost, cols[ok], weights[ok])
        return cost

    def optimize(self, weights: np.ndarray, time_limit: float | None = None
                 ) -> tuple[str, np.ndarray | None]:
        """Minimize ``weights @ x`` within the budget: (status, lane values)."""
        self.session.restore_bases(self.start)
        self.session.set_objective_costs(self._lane_cost(weights))
        status = self.session.resolve(time_limit if time_limit is not None else self.box)
        if status.status != "optimal":
            return status.status, None
        return "optimal", self.session.lane_values()

    def cost_of(self, x_cols: np.ndarray) -> float:
        """The plan's cost as the original objective counts it."""
        return float(self.base_cost @ x_cols + self.offset)

    def range_of(self, group: str, time_limit: float | None = None) -> dict[str, Any]:
        w = self.groups.weights[group]
        total_w = np.ones(len(w)) if self.groups.unit == "GWh" else \
            sum(self.groups.weights.values())
        row: dict[str, Any] = {"group": group, "unit": self.groups.unit,
                               "optimum_gwh": float(w @ self.x_opt)}
        for side, sign in (("min", 1.0), ("max", -1.0)):
            status, x = self.optimize(sign * w, time_limit)
            row[f"{side}_status"] = status
            if x is None:
                row[f"{side}_gwh"] = row[f"{side}_share"] = np.nan
                continue
            v = float(w @ x)
            total = float(total_w @ x)
            row[f"{side}_gwh"] = v
            row[f"{side}_share"] = v / total if total > 0 else np.nan
        return row


# --------------------------------------------------------------------------- workers
_CACHE: OrderedDict[tuple[str, int], Explorer] = OrderedDict()
_LOCK = threading.Lock()


def _range_chunk(inst: Instance, groups: list[str], slack: float, by: str,
                 material: str | None, stage: str | None, options: SolverOptions | None,
                 time_limit: float | None, token: str) -> list[dict[str, Any]]:
    """Ranges of a chunk of groups on this process's model (built once per run)."""
    with _LOCK:
        key = (token, threading.get_ident())
        explorer = _CACHE.get(key)
        if explorer is None:
            explorer = Explorer(inst, slack, options, by, material, stage)
            _CACHE[key] = explorer
            while len(_CACHE) > 2:
                _CACHE.popitem(last=False)
        return [explorer.range_of(g, time_limit) for g in groups]


def _instance(instance: str | Path | Instance | None) -> Instance:
    if isinstance(instance, Instance):
        return instance
    from optimizer.input import default_instance_path

    return load_instance(instance or default_instance_path())


def ranges(instance: str | Path | Instance | None, slack: float = 0.02, by: str = "company",
           *, material: str | None = None, stage: str | None = None,
           options: SolverOptions | None = None, workers: int = 1, scheduler: Any = None,
           time_limit: float | None = None, progress: Progress | None = None,
           groups: list[str] | None = None) -> pd.DataFrame:
    """For each group of ``by`` (or only those in ``groups``): the least and
    most it can supply (GWh over all periods; kt for ``by="origin"``) in any
    plan that obeys every rule and costs at most ``(1 + slack)`` times the
    optimum, with its share of that plan's
    total, and what the optimum buys from it. ``time_limit``: seconds per
    solve (a MIP's value is left blank when it stops there). ``attrs`` hold the
    objective, the budget and the time taken."""
    if not 0 <= slack <= 10:
        raise AlternativesError(f"slack must be between 0 and 10 (a share of the optimum), "
                                f"got {slack:g}")
    inst = _instance(instance)
    t0 = time.perf_counter()
    here = Explorer(inst, slack, options, by, material, stage)
    names = list(here.groups.weights)
    if groups is not None:
        unknown = sorted(set(groups) - set(names))
        if unknown:
            raise AlternativesError(f"no {by} group(s) {', '.join(unknown)} in this instance")
        names = [g for g in names if g in set(groups)]
    if scheduler is None and workers <= 1:
        rows = []
        for i, g in enumerate(names):
            rows.append(here.range_of(g, time_limit))
            if progress:
                progress(i + 1, len(names))
    else:
        rows = map_chunks(_range_chunk, inst, names,
                          (slack, by, material, stage, options, time_limit, uuid4().hex),
                          workers=workers, scheduler=scheduler, progress=progress)
    df = pd.DataFrame(rows, columns=RANGE_COLUMNS)
    df.attrs.update({"objective": here.objective, "budget": here.budget, "slack": slack,
                     "by": by, "material": material, "stage": stage,
                     "seconds": time.perf_counter() - t0,
                     "model_size": here.session.size, "instance": inst.name})
    return df


def alternatives(instance: str | Path | Instance | None, slack: float = 0.02,
                 by: str = "company", count: int = 5, *, material: str | None = None,
                 stage: str | None = None, options: SolverOptions | None = None,
                 time_limit: float | None = None, progress: Progress | None = None
                 ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``count`` plans within ``(1 + slack)`` of the optimum that differ from it
    and from each other: (``alternatives``: alternative, supplier, application,
    period, gwh; ``summary``: alternative, objective, premium_pct, status,
    distinct (its group volumes differ from every earlier plan's: a small
    instance may have fewer different plans than asked for), checked, and
    ``share_<group>`` per group). Alternative 0 is the optimum.
    Each is checked by :func:`optimizer.check.check_plan` (``checked``: no
    violation)."""
    if count < 1:
        raise AlternativesError(f"count must be at least 1, got {count}")
    inst = _instance(instance)
    ex = Explorer(inst, slack, options, by, material, stage)
    lanes = ex.data.lanes
    g_names = list(ex.groups.weights)
    weights = np.array([ex.groups.weights[g] for g in g_names])  # groups x lanes
    plans: list[np.ndarray] = [ex.x_opt]
    statuses = ["optimal"]
    costs = [ex.objective]
    distinct = [True]
    funding: list[pd.DataFrame | None] = [ex.opt_tables[0] if ex.opt_tables else None]
    contracts: list[pd.DataFrame | None] = [ex.opt_tables[1] if ex.opt_tables else None]
    rng = np.random.default_rng(0)
    for k in range(count):
        used = np.zeros(len(g_names))
        for x in plans:
            v = weights @ x
            used += v / v.sum() if v.sum() > 0 else 0.0
        # lean away from the groups the plans so far used most, towards the others
        directions = [used - used.mean()]
        directions += [rng.uniform(-1.0, 1.0, len(g_names)) for _ in range(RETRIES)]
        best: tuple[float, str, np.ndarray | None, Any, Any] = (-1.0, "not run", None, None,
                                                                 None)
        for d in directions:
            status, found = ex.optimize(d @ weights, time_limit)
            if found is None:
                if best[2] is None:
                    best = (-1.0, status, None, None, None)
                continue
            v = weights @ found
            gap = min(float(np.abs(v - weights @ p).sum()) for p in plans)
            if gap > best[0]:
                building = ex.data.building.links_periods
                best = (gap, status, found, ex.cost_of(ex.session.hm.col_values()),
                        (expansions_table(ex.data, ex.session),
                         contracts_table(ex.data, ex.session, found)) if building else None)
            if gap > 1e-6 * max(1.0, float(v.sum())):
                break  # a plan unlike every earlier one
        if progress:
            progress(k + 1, count)
        gap, status, chosen, cost, tables = best
        statuses.append(status)
        distinct.append(chosen is not None and gap > 1e-6 * max(1.0, float(chosen.sum())))
        plans.append(chosen if chosen is not None else np.full(len(lanes), np.nan))
        costs.append(cost if cost is not None else np.nan)
        funding.append(tables[0] if tables else None)
        contracts.append(tables[1] if tables else None)
    rows, summary = [], []
    for i, x in enumerate(plans):
        row: dict[str, Any] = {"alternative": i, "objective": costs[i],
                               "premium_pct": 100 * (costs[i] / ex.objective - 1)
                               if ex.objective and costs[i] == costs[i] else np.nan,
                               "status": statuses[i], "distinct": distinct[i]}
        if np.isnan(x).any():
            row["checked"] = False
            summary.append(row)
            continue
        keep = x > 0
        alloc = lanes.loc[keep, ["supplier", "application", "period"]].assign(gwh=x[keep])
        report = check_plan(inst, alloc, funding=funding[i], contracts=contracts[i])
        row["checked"] = bool(report.valid)
        v = weights @ x
        total = float(v.sum())
        for g, vg in zip(g_names, v, strict=True):
            row[f"share_{g}"] = float(vg / total) if total > 0 else np.nan
        summary.append(row)
        rows.append(alloc.assign(alternative=i))
    plans_df = pd.concat(rows, ignore_index=True)[
        ["alternative", "supplier", "application", "period", "gwh"]] if rows else \
        pd.DataFrame(columns=["alternative", "supplier", "application", "period", "gwh"])
    summary_df = pd.DataFrame(summary)
    summary_df.attrs.update({"objective": ex.objective, "budget": ex.budget, "slack": slack,
                             "by": by, "unit": ex.groups.unit})
    return plans_df, summary_df
