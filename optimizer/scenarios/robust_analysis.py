"""The robust plan (SPEC section 5): the two-stage stochastic program in
extensive form (:mod:`optimizer.model.scenarios`), compared with the
deterministic plan, with VSS and EVPI (wait-and-see solves, one per case)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.data import ModelData, prepare
from optimizer.data_scenarios import Case, ScenarioData, scenario_data
from optimizer.input.instance import Instance
from optimizer.scenarios.adaptive import AdaptivePlan, adaptive_plan
from optimizer.scenarios.cases import cases_for, draw_seed, instance_of
from optimizer.scenarios.errors import HelperRank, NoPlanError, ScenarioError
from optimizer.scenarios.extensive import ExtensiveSolve, solve_extensive
from optimizer.scenarios.plans import Plan, deterministic_plan, plan_from_lanes, plan_mix
from optimizer.scenarios.playout import SCENARIO_COLUMNS, check_workers, play_all, run_cases
from optimizer.scenarios.risk import check_risk, cvar, risk_summary
from optimizer.scenarios.stress_analysis import SURVIVAL_COLUMNS, survival_table
from optimizer.solver.options import SolverOptions

if TYPE_CHECKING:
    from optimizer.solver.hedging import HedgingSettings


#: how ``robust`` solves the two-stage program
ENGINES = ("extensive", "mpisppy")


def _engine(engine: str) -> str:
    if engine not in ENGINES:
        raise ScenarioError(f"unknown engine '{engine}': use {' or '.join(ENGINES)}")
    return engine


def _hedge(inst: Instance, data: ModelData, sd: ScenarioData, cases: list[Case], weight: float,
           alpha: float, options: SolverOptions | None, settings: HedgingSettings | None,
           adaptive: bool, lag: int
           ) -> tuple[ExtensiveSolve, ExtensiveSolve | None, AdaptivePlan | None]:
    """The robust plan (and, with a CVaR weight, the expected-cost plan; with
    ``adaptive``, the adaptive plan) by progressive hedging, on every MPI rank;
    ranks but 0 stop here."""
    from optimizer.scenarios.adaptive_hedging import solve_adaptive_hedging
    from optimizer.scenarios.hedging import solve_hedging
    from optimizer.solver.hedging import rank_and_size

    sol = solve_hedging(data, sd, cases, weight, alpha, options, settings)
    sol0 = solve_hedging(data, sd, cases, 0.0, alpha, options, settings) \
        if weight > 0 and sol.x is not None else None
    tree = solve_adaptive_hedging(inst, data, sd, cases, lag, weight, alpha, options, settings) \
        if adaptive and sol.x is not None else None
    rank, size = rank_and_size()
    if rank:
        raise HelperRank(f"rank {rank} of {size}: progressive hedging done, rank 0 reports")
    return sol, sol0, tree


def _engine_summary(engine: str, sol: ExtensiveSolve) -> dict[str, Any]:
    """summary.json's engine fields: for mpisppy, the proved bound, the gap, PH's
    iterations and last convergence value, the MPI ranks and the subproblems (bundles
    of cases)."""
    out: dict[str, Any] = {"engine": engine}
    if engine == "mpisppy":
        for key in ("bound", "gap", "iterations", "convergence", "ranks", "bundles"):
            out[key] = getattr(sol, key, None)
    return out


def _wait_and_see(shared: tuple[ModelData, ScenarioData, SolverOptions | None],
                  cases: list[Case]) -> list[tuple[str, float | None]]:
    """The best plan for each case known in advance: the extensive form of that
    case alone, with probability 1. Returns (status, cost) per case."""
    data, sd, options = shared
    out = []
    for case in cases:
        res = solve_extensive(data, sd, [case.with_probability(1.0)], 0.0, 0.95, options)
        out.append((res.status, res.objective))
    return out


@dataclass
class RobustResult:
    """The robust plan and how it compares with the deterministic one.

    ``scenarios``: per case, its probability, the cost of the deterministic and
    of the robust plan played out (and spot and unmet GWh), and the
    wait-and-see cost (the best plan for that case chosen knowing it).
    ``plans``: deterministic, robust (and, when the CVaR weight is positive,
    the expected-cost plan used for VSS and EVPI). ``tables``: each plan's
    play-out table. ``summary``: the content of summary.json.
    """

    instance: str
    status: str
    objective: float | None
    weight: float
    alpha: float
    plans: dict[str, Plan]
    tables: dict[str, pd.DataFrame]
    scenarios: pd.DataFrame
    summary: dict[str, Any]
    sd: ScenarioData | None = None
    #: instances with a buffer stock: time to survive per plan, case and application
    survival: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: ``adaptive=True``: the adaptive program's plans (SPEC section 10)
    adaptive: AdaptivePlan | None = None

    @property
    def has_plan(self) -> bool:
        return self.objective is not None

    def mix(self, by: str) -> pd.DataFrame:
        """Each group's share in the deterministic and the robust plan."""
        assert self.sd is not None
        return plan_mix(self.sd, [self.plans["deterministic"], self.plans["robust"]], by)


def robust(instance: str | Path | Instance | None = None, *, weight: float = 0.0,
           alpha: float = 0.95, sample: int | None = None, seed: int | None = None,
           options: SolverOptions | None = None, evpi: bool = True, workers: int = 1,
           scheduler: Any = None, adaptive: bool = False, lag: int = 1,
           engine: str = "extensive", hedging: HedgingSettings | None = None) -> RobustResult:
    """The robust plan (SPEC section 5): minimize ``(1 - weight) E[cost] + weight
    CVaR_alpha[cost]`` over plans that meet demand and obey every rule, each
    case's shortfall bought spot or left unmet. Also plays the deterministic
    optimum out, and computes VSS and EVPI for the expected-cost plan
    (weight 0; solved as well when ``weight`` > 0). ``evpi=False`` skips the
    wait-and-see solves (one per case); they are independent and run on
    ``workers`` / ``scheduler`` like play-outs. ``adaptive``: also solve the
    multi-stage program on the scenario tree, each scenario re-planning ``lag``
    periods after its ``from`` (:func:`optimizer.scenarios.adaptive.adaptive_plan`),
    and report the value of adapting (the two-stage plan's expected cost minus
    the adaptive program's). ``engine``: ``extensive`` (the extensive form in
    HiGHS) or ``mpisppy`` (progressive hedging on mpi-sppy with ``hedging``
    settings, :mod:`optimizer.scenarios.hedging`; collective under ``mpiexec``:
    every rank but 0 raises :class:`~optimizer.scenarios.errors.HelperRank` once
    its part is done).
    """
    check_risk(weight, alpha)
    check_workers(workers, scheduler)
    t0 = time.perf_counter()
    inst = instance_of(instance)
    seed = draw_seed(sample, seed)
    if not inst.scenarios:
        raise ScenarioError(f"{inst.source} has no scenarios: a robust plan needs a "
                            "'scenarios' section (docs/scenarios.md)")
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd, sample, seed)
    solves = _hedge(inst, data, sd, cases, weight, alpha, options, hedging, adaptive, lag) \
        if _engine(engine) == "mpisppy" else None
    det, _ = deterministic_plan(inst, data, sd, options)
    sol = solves[0] if solves else solve_extensive(data, sd, cases, weight, alpha, options)
    if sol.x is None:
        raise NoPlanError(f"the robust model has no plan (status {sol.status})")
    plans = {"deterministic": det, "robust": plan_from_lanes(inst, sd, sol.x, "robust",
                                                             sol.funding, sol.contracts,
                                                             sol.stock)}
    sol0 = sol
    if weight > 0:
        sol0 = solves[1] if solves and solves[1] else \
            solve_extensive(data, sd, cases, 0.0, alpha, options)
        if sol0.x is None:
            raise NoPlanError(f"the expected-cost robust model has no plan "
                              f"(status {sol0.status})")
        plans["expected-cost"] = plan_from_lanes(inst, sd, sol0.x, "expected-cost",
                                                 sol0.funding, sol0.contracts, sol0.stock)
    names = list(plans)
    played = play_all(sd, [plans[n] for n in names], cases, workers=workers,
                      scheduler=scheduler)
    tables = {n: t[SCENARIO_COLUMNS] for n, t in zip(names, played, strict=True)}
    # time to survive with each plan's buffer stock, per case and application
    survival = pd.concat([survival_table(t).assign(plan=n) for n, t in
                          zip(names, played, strict=True)], ignore_index=True) \
        if sd.stocked.any() else pd.DataFrame()
    risks = {n: risk_summary(t, alpha) for n, t in tables.items()}
    e0 = risks["expected-cost" if weight > 0 else "robust"]["expected_cost"]

    probs = np.array([c.probability for c in cases])
    ws = np.full(len(cases), np.nan)
    ws_status: list[str] = []
    wait_and_see: float | None = None
    if evpi:
        todo = [c for c in cases if c.probability > 0 and c.kind != "base"]
        got = run_cases(_wait_and_see, (data, sd, options), todo, (), workers, scheduler)
        by_name = {c.name: r for c, r in zip(todo, got, strict=True)}
        for k, c in enumerate(cases):
            if c.kind == "base":
                ws[k] = det.base_cost
            elif c.name in by_name:
                status, value = by_name[c.name]
                ws_status.append(status)
                ws[k] = np.nan if value is None else value
        live = probs > 0
        wait_and_see = float(np.dot(probs[live], ws[live]))
    scen = pd.DataFrame({
        "scenario": [c.name for c in cases], "kind": [c.kind for c in cases],
        "probability": probs,
        "deterministic_cost": tables["deterministic"]["cost"].to_numpy(),
        "robust_cost": tables["robust"]["cost"].to_numpy(),
        "robust_spot_gwh": tables["robust"]["spot_gwh"].to_numpy(),
        "robust_unmet_gwh": tables["robust"]["unmet_gwh"].to_numpy(),
        "deterministic_spot_gwh": tables["deterministic"]["spot_gwh"].to_numpy(),
        "deterministic_unmet_gwh": tables["deterministic"]["unmet_gwh"].to_numpy(),
    })
    if weight > 0:
        scen["expected_cost_plan_cost"] = tables["expected-cost"]["cost"].to_numpy()
    if evpi:
        scen["wait_and_see_cost"] = ws
    rob = risks["robust"]
    summary: dict[str, Any] = {
        "instance": inst.name,
        "status": sol.status,
        "objective": sol.objective,
        "objective_unit": "USD million (discounted)",
        "cvar_weight": weight,
        "alpha": alpha,
        "expected_cost": rob["expected_cost"],
        "cvar": rob["cvar"],
        "vss": risks["deterministic"]["expected_cost"] - e0,
        "evpi": e0 - wait_and_see if evpi else None,
        "wait_and_see_cost": wait_and_see if evpi else None,
        "base_probability": float(probs[[c.kind == "base" for c in cases]].sum()),
        "scenario_count": len(cases),
        "plans": risks,
        "sample": {"n": sample, "seed": seed} if sample is not None else None,
        "spot_premium": sd.spot_premium,
        "shortage_penalty": sd.shortage_penalty,
        "model_size": sol.size,
        "mip": sol.mip,
        "seconds": time.perf_counter() - t0,
    }
    summary.update(_engine_summary(engine, sol))
    if weight > 0:
        summary["vss_evpi_plan"] = "expected-cost (cvar weight 0)"
    bad = [s for s in ws_status if s != "optimal"]
    if bad:
        summary["warnings"] = [f"{len(bad)} wait-and-see solve(s) ended with status "
                               f"{', '.join(sorted(set(bad)))}: EVPI is approximate"]
    if len(survival.columns):
        survival = survival[["plan", *SURVIVAL_COLUMNS]]
    tree = None
    if adaptive:
        tree = solves[2] if solves and solves[2] is not None else \
            adaptive_plan(inst, data, sd, cases, lag, weight, alpha, options)
        if tree.objective is None:
            raise NoPlanError(f"the adaptive program has no plan (status {tree.status})")
        two_stage = rob["expected_cost"]
        probs_t = tree.tree["probability"].to_numpy(dtype=float)
        live_t = probs_t > 0
        tree_cvar = cvar(tree.tree["cost"].to_numpy(dtype=float)[live_t],
                         probs_t[live_t] / probs_t[live_t].sum(), alpha)
        summary["adaptive"] = {
            "lag": lag, "status": tree.status, "objective": tree.objective,
            "expected_cost": tree.expected_cost, "cvar": tree_cvar,
            "two_stage_expected_cost": two_stage,
            "value_of_adapting": two_stage - (tree.expected_cost or 0.0),
            "nodes": len(tree.tree), "model_size": tree.size, "mip": tree.mip,
            "seconds": tree.seconds, **(tree.engine or {"engine": "extensive"})}
        # with --adaptive the plan is the adaptive one (SPEC section 10): the top-level
        # status, objective, expected cost and CVaR are its; the two-stage program's
        # stay under "two_stage" (VSS and EVPI are about the two-stage plan)
        summary["two_stage"] = {k: summary[k] for k in
                                ("status", "objective", "expected_cost", "cvar")}
        summary.update({"status": tree.status, "objective": tree.objective,
                        "expected_cost": tree.expected_cost, "cvar": tree_cvar})
        if summary["adaptive"]["value_of_adapting"] < -1e-6 * max(1.0, abs(two_stage)):
            summary.setdefault("warnings", []).append(
                "the adaptive plan's expected cost is higher than the two-stage plan's: a "
                "scenario's own plan must obey every rule, while the spot purchases that "
                "cover its shortfall before it re-plans are outside the rules")
        summary["seconds"] = time.perf_counter() - t0
    return RobustResult(inst.name, sol.status, sol.objective, weight, alpha, plans, tables,
                        scen, summary, sd, survival, tree)
