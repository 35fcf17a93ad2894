"""The stress test (SPEC section 5): a fixed plan played out in every case,
optionally N-1 (each company or controlling country losing all capacity)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.check import read_plan
from optimizer.check.plan_input import sides_beside
from optimizer.data import prepare
from optimizer.data_scenarios import scenario_data
from optimizer.input.instance import Instance
from optimizer.results import Result
from optimizer.scenarios.cases import cases_for, draw_seed, instance_of, n_minus_1_cases
from optimizer.scenarios.errors import ScenarioError
from optimizer.scenarios.plans import Plan, deterministic_plan, plan_from_allocation
from optimizer.scenarios.playout import SCENARIO_COLUMNS, check_workers, play_all
from optimizer.scenarios.risk import check_risk, risk_summary
from optimizer.solver.options import SolverOptions

SURVIVAL_COLUMNS = ["scenario", "application", "months", "covers_to_end"]


def survival_table(table: pd.DataFrame) -> pd.DataFrame:
    """Time to survive per case and stocked application, from a play-out table
    (an empty table without a buffer stock)."""
    if "survival" not in table.columns:
        return pd.DataFrame()
    rows = [(case, a, np.nan if months is None else months, bool(lasts))
            for case, items in zip(table["scenario"], table["survival"], strict=True)
            if isinstance(items, list) for a, months, lasts in items]
    return pd.DataFrame(rows, columns=SURVIVAL_COLUMNS)


def survival_summary(survival: pd.DataFrame) -> list[dict[str, Any]]:
    """Per stocked application, the shortest time to survive over the cases with
    a loss (and which case)."""
    out = []
    for a, g in survival.groupby("application", sort=False):
        lost = g[g["months"].notna()]
        if lost.empty:
            out.append({"application": a, "shortest_months": None, "scenario": None})
            continue
        worst = lost.sort_values("months", kind="stable").iloc[0]
        out.append({"application": a, "shortest_months": float(worst["months"]),
                    "scenario": worst["scenario"],
                    "covers_to_end": bool(worst["covers_to_end"])})
    return out


@dataclass
class StressResult:
    """A plan played out in every case.

    ``scenarios``: one row per case (:data:`SCENARIO_COLUMNS`; the base case
    first, N-1 cases last with probability 0). ``shortfalls``: per case and
    application-period with a shortfall, the shortfall, spot and unmet GWh.
    ``n_minus_1``: the N-1 cases ranked, the most expensive first. ``summary``:
    the content of summary.json.
    """

    instance: str
    plan: Plan
    scenarios: pd.DataFrame
    shortfalls: pd.DataFrame
    n_minus_1: pd.DataFrame
    summary: dict[str, Any]
    #: instances with a buffer stock: per case and stocked application, the
    #: months the stock covers the losses (``survival_table``)
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)


def stress(instance: str | Path | Instance | None = None,
           plan: str | Path | pd.DataFrame | Plan | Result | None = None, *,
           n_minus_1: str | None = None, material: str | None = None,
           stage: str | None = None, alpha: float = 0.95, sample: int | None = None,
           seed: int | None = None, options: SolverOptions | None = None,
           workers: int = 1, scheduler: Any = None) -> StressResult:
    """Play a plan out in every scenario (SPEC section 5, stress test).

    ``plan``: None plays the deterministic optimum; a path reads an
    ``allocation.csv`` (and the ``expansions.csv``, ``contracts.csv`` and
    ``stock.csv`` beside it, as ``solve --out`` writes them); a DataFrame has
    columns supplier, application, period, gwh; a solve's :class:`Result`
    brings its funding, contracts and buffer stock along. ``n_minus_1``
    ("company" or "control") adds one case per group losing all capacity,
    ranked in :attr:`StressResult.n_minus_1`; ``"origin"`` with
    ``material`` and ``stage`` one case per country that stops supplying that
    material at that stage (a supplier drawing a share q from it keeps 1 - q of
    its capacity). ``sample`` draws that
    many cases (``seed``; see :func:`sample_cases`). ``workers`` / ``scheduler``
    run the play-outs on local processes / a Dask cluster.
    """
    check_risk(0.0, alpha)
    check_workers(workers, scheduler)
    t0 = time.perf_counter()
    inst = instance_of(instance)
    seed = draw_seed(sample, seed)
    if not inst.scenarios and n_minus_1 is None:
        raise ScenarioError(f"{inst.source} has no scenarios: add a 'scenarios' section "
                            "(docs/scenarios.md) or ask for --n-1 company|control|origin")
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd, sample, seed)
    if n_minus_1 is not None:
        cases += n_minus_1_cases(sd, n_minus_1, material, stage)
    if plan is None:
        the_plan, _ = deterministic_plan(inst, data, sd, options)
    elif isinstance(plan, Plan):
        the_plan = plan
    elif isinstance(plan, pd.DataFrame):
        the_plan = plan_from_allocation(inst, sd, plan, "<plan>")
    elif isinstance(plan, Result):  # a solve's result: its funding, contracts and stock too
        the_plan = plan_from_allocation(
            inst, sd, plan.allocation, "<plan>",
            funding=plan.expansions if len(plan.expansions.columns) else None,
            contracts=plan.contracts if len(plan.contracts.columns) else None,
            stock=plan.stock if len(plan.stock.columns) else None)
    else:  # an allocation.csv, with the expansions, contracts and stock beside it
        sides = sides_beside(str(plan), inst)
        the_plan = plan_from_allocation(inst, sd, read_plan(str(plan), inst), str(plan),
                                        funding=sides["funding"], contracts=sides["contracts"],
                                        stock=sides["stock"])
    table = play_all(sd, [the_plan], cases, details=True, workers=workers,
                     scheduler=scheduler)[0]
    shortfalls = pd.DataFrame.from_records(
        [r for rows in table.pop("rows") for r in rows],
        columns=["scenario", "application", "period", "shortfall_gwh", "spot_gwh", "unmet_gwh"])
    survival = survival_table(table)
    table = table[SCENARIO_COLUMNS]
    ranking = table[table["kind"] == "n-1"].drop(columns=["kind", "probability"])
    ranking = ranking.sort_values(["extra_cost", "group"], ascending=[False, True],
                                  kind="stable").reset_index(drop=True)
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    risk = risk_summary(table, alpha)
    summary: dict[str, Any] = {
        "instance": inst.name,
        "plan": the_plan.name,
        "cost_unit": "USD million (discounted)",
        **risk,
        "alpha": alpha,
        "base_probability": float(table.loc[table["kind"] == "base", "probability"].iloc[0]),
        "scenario_count": int((table["kind"] != "n-1").sum()),
        "spot_premium": sd.spot_premium,
        "shortage_penalty": sd.shortage_penalty,
        "sample": {"n": sample, "seed": seed} if sample is not None else None,
        "seconds": time.perf_counter() - t0,
    }
    if n_minus_1 is not None:
        summary["n_minus_1"] = {
            "by": n_minus_1,
            **({"material": material, "stage": stage} if n_minus_1 == "origin" else {}),
            "worst": ranking.iloc[0]["group"] if len(ranking) else None,
            "ranking": ranking[["rank", "group", "cost", "extra_cost", "shortfall_gwh",
                                "spot_gwh", "unmet_gwh"]].to_dict("records"),
        }
    if the_plan.warnings:
        summary["warnings"] = the_plan.warnings
    if len(survival):
        summary["time_to_survive"] = survival_summary(survival)
    return StressResult(inst.name, the_plan, table.reset_index(drop=True), shortfalls,
                        ranking, summary, survival)
