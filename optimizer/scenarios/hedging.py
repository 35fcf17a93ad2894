"""The robust plan by progressive hedging (``robust --engine mpisppy``, SPEC section 10).

The glue between the robust program (:mod:`optimizer.model.scenarios`) and the
PH driver (:mod:`optimizer.solver.hedging`). The cases with a positive
probability are split into bundles B of consecutive cases (:func:`bundles`),
and each bundle is one PH scenario: the extensive form of its cases alone, each
case's probability divided by the bundle's, P_B = sum_{k in B} p_k, so that its
objective is

    sum_{k in B} (p_k / P_B) [(1 - w) (base_cost + R_k) + w (eta + excess_k / (1 - alpha))]

and sum_B P_B (that) is the extensive form's objective. With w > 0 every
bundle holds one case. The nonanticipative (first-stage) variables are every
variable :func:`~optimizer.model.build_model` makes (contracts, supplier
totals, tiers, on/off binaries, co-funding, buffer stock, the plan's own unmet
demand) and, when w > 0, ``eta``. Cases with probability 0 add nothing to the
objective and every case's recourse is complete (shortage is always
possible), so they are left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyomo.core as pyo
from pyomo.repn import generate_standard_repn

from optimizer.data import ModelData
from optimizer.data_scenarios import Case, ScenarioData
from optimizer.model.build import build_model
from optimizer.model.index import index_of
from optimizer.model.scenarios import add_base_cost, add_recourse, add_risk_objective
from optimizer.results_building import contracts_table, expansions_table, stock_table
from optimizer.scenarios.errors import ScenarioError
from optimizer.scenarios.extensive import ExtensiveSolve
from optimizer.scenarios.risk import cvar
from optimizer.solver.hedging import (
    HedgingProblem,
    HedgingRun,
    HedgingSettings,
    HedgingUnavailable,
    Path,
    progressive_hedging,
    rank_and_size,
)
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session


@dataclass
class HedgingSolve(ExtensiveSolve):
    """The robust plan found by PH: an :class:`ExtensiveSolve` (``objective`` is
    the plan's expected cost, ``x`` its contracts) and what PH proved."""

    bound: float | None = None
    gap: float | None = None
    iterations: int = 0
    convergence: float | None = None
    ranks: int = 1
    #: PH subproblems (bundles of cases)
    bundles: int = 0
    run: HedgingRun | None = None


#: with automatic bundling, about this many bundles per MPI rank (698 sampled
#: north-america cases under mpiexec -n 2: 2 per rank 11.0 s and 10 PH
#: iterations, 8 per rank 45.6 s and 30; serially 2 bundles 19.8 s, 8 84 s)
BUNDLES_PER_RANK = 2


def bundles(n: int, size: int | None, weight: float, ranks: int) -> list[list[int]]:
    """The live cases 0..n-1 split into PH subproblems of consecutive cases.

    ``size``: cases per bundle (the last may hold fewer); None: automatic, about
    :data:`BUNDLES_PER_RANK` bundles per rank (at least one case each), so that
    PH solves a few mid-sized extensive forms per iteration instead of one small
    model per case. With a CVaR weight every case is its own subproblem: the
    bound that keeps ``eta`` finite (:func:`eta_bounder`) needs each case's own
    lowest cost. Never fewer bundles than ranks (each rank needs one)."""
    if weight > 0:
        size = 1
    elif size is None:
        size = max(1, math.ceil(n / (BUNDLES_PER_RANK * max(ranks, 1))))
    size = max(1, min(size, math.ceil(n / max(ranks, 1)))) if n else 1
    return [list(range(k, min(k + size, n))) for k in range(0, n, size)]


def first_stage(m: pyo.ConcreteModel) -> list[pyo.Var]:
    """The free variables of a model :func:`build_model` has just built (in
    their order in the model: the same in every scenario)."""
    return [v for v in m.component_data_objects(pyo.Var, sort=False) if not v.fixed]


def cost_coefficients(m: pyo.ConcreteModel, first: list) -> np.ndarray:
    """Each first-stage variable's coefficient in the deterministic objective."""
    repn = generate_standard_repn(m.total_cost.expr, compute_values=True)
    coef = {id(v): float(c) for v, c in zip(repn.linear_vars, repn.linear_coefs, strict=True)}
    return np.array([coef.get(id(v), 0.0) for v in first])


def scenario_model(data: ModelData, sd: ScenarioData, cases: list[Case], weight: float,
                   alpha: float) -> tuple[pyo.ConcreteModel, list, np.ndarray]:
    """The model of one PH subproblem: a bundle of cases (one or more), its
    objective their cost, risk-weighted, with the cases' probabilities
    conditional on the bundle (the extensive form of the bundle alone), its
    first-stage variables and their cost coefficients. ``m.case_probabilities``:
    each case's own probability (for :func:`case_costs`)."""
    m = build_model(data)
    first = first_stage(m)
    costs = cost_coefficients(m, first)
    add_base_cost(m)
    total = float(sum(c.probability for c in cases))
    add_recourse(m, data, sd, [c.with_probability(c.probability / total) for c in cases])
    add_risk_objective(m, [c.probability / total for c in cases], weight, alpha)
    m.case_probabilities = [float(c.probability) for c in cases]
    if weight > 0:
        first.append(m.eta)
        costs = np.append(costs, weight)
    return m, first, costs


def case_costs(m: pyo.ConcreteModel) -> list[tuple[float, float]]:
    """A solved subproblem's cases: each one's own probability
    (``m.case_probabilities``) and cost, base_cost + R_k."""
    base = float(pyo.value(m.base_cost))
    out = []
    for k, p in enumerate(m.case_probabilities):
        coefs, variables = m.scenario_terms[k]
        out.append((float(p), base + sum(c * float(pyo.value(v))
                                         for c, v in zip(coefs, variables, strict=True))))
    return out


def risk_combiner(weight: float, alpha: float) -> Callable[[np.ndarray, np.ndarray], float]:
    """A plan's objective from its cases' probabilities and costs:
    (1 - w) E[cost] + w CVaR_alpha[cost], the threshold at its best."""
    def combine(probs: np.ndarray, costs: np.ndarray) -> float:
        return float((1 - weight) * np.dot(probs, costs) +
                     (weight * cvar(costs, probs, alpha) if weight > 0 else 0.0))
    return combine


def eta_bounder(weight: float) -> Callable[[list[pyo.ConcreteModel], float, float | None], None]:
    """With a CVaR weight, eta (free) would make the Lagrangian subproblems
    unbounded for most W. Some optimal eta is the plan's alpha-quantile of cost
    (VaR), so between the lowest cost any case can have (L, each case's own
    best) and CVaR <= (F - (1 - w) L) / w, F the objective of any feasible plan
    (E[cost] >= L): bounding eta there keeps the optimum."""
    def bound_eta(models: list[pyo.ConcreteModel], lowest: float,
                  feasible: float | None) -> None:
        if weight <= 0 or feasible is None:
            return
        upper = max(lowest, (feasible - (1 - weight) * lowest) / weight)
        for m in models:
            m.eta.setlb(lowest)
            m.eta.setub(upper)
    return bound_eta


def solve_hedging(data: ModelData, sd: ScenarioData, cases: list[Case], weight: float = 0.0,
                  alpha: float = 0.95, options: SolverOptions | None = None,
                  settings: HedgingSettings | None = None) -> HedgingSolve:
    """The robust program (:func:`optimizer.model.scenarios.build_robust_model`)
    by progressive hedging on mpi-sppy (:func:`optimizer.solver.hedging.progressive_hedging`).
    Collective under ``mpiexec``: every rank calls it and gets the same plan."""
    check = build_model(data)
    if index_of(check).hhi_scopes:
        raise ScenarioError("--engine mpisppy does not handle max_hhi rules yet (their "
                            "cuts are added between solves): use --engine extensive")
    session = Session(check, data, options)
    if session.trivial():
        return HedgingSolve("infeasible", None, None, session.size, 0.0, session.is_mip)
    live = [c for c in cases if c.probability > 0]
    settings = settings or HedgingSettings()
    if weight > 0 and settings.bundle not in (None, 1):
        raise ScenarioError("PH bundles need an expected-cost objective (--cvar-weight 0): "
                            "with a CVaR weight every case is its own subproblem")
    groups = bundles(len(live), settings.bundle, weight, rank_and_size()[1])
    names = [f"bundle{b}" for b in range(len(groups))]

    def create(name: str) -> tuple[pyo.ConcreteModel, Path, float]:
        members = [live[k] for k in groups[int(name.removeprefix("bundle"))]]
        m, first, costs = scenario_model(data, sd, members, weight, alpha)
        return m, [("ROOT", first, costs)], float(sum(c.probability for c in members))

    try:
        problem = HedgingProblem(names, create, case_costs, risk_combiner(weight, alpha),
                                 eta_bounder(weight))
        run = progressive_hedging(problem, settings, options)
    except HedgingUnavailable as exc:
        raise ScenarioError(str(exc)) from None
    if run.xhat is None:
        status = "infeasible" if run.status == "infeasible" else run.status
        return HedgingSolve(status, None, None, session.size, run.seconds, session.is_mip,
                            iterations=run.iterations, convergence=run.convergence,
                            ranks=run.ranks, bundles=len(groups), run=run)
    # the plan's tables, as the extensive form gives them: the first stage fixed at xhat
    first = first_stage(check)
    for v, value in zip(first, run.xhat["ROOT"][:len(first)].tolist(), strict=True):  # eta last
        v.setlb(value)
        v.setub(value)
    plan = Session(check, data, options)
    solved = plan.solve()
    if not solved.has_solution:
        raise ScenarioError(f"progressive hedging's plan does not solve on its own "
                            f"(status {solved.status})")
    x = plan.lane_values()
    funding = contracts = stock = None
    if data.building.links_periods:
        funding = expansions_table(data, plan)
        contracts = contracts_table(data, plan, x)
    if not data.stock.empty:
        stock = stock_table(data, plan)
    # optimal within the gap tolerance: proved by the bound
    verdict = "optimal" if run.gap is not None and run.gap <= settings.gap else run.status
    return HedgingSolve(verdict, run.objective, x, session.size, run.seconds, session.is_mip,
                        funding, contracts, stock, bound=run.bound, gap=run.gap,
                        iterations=run.iterations, convergence=run.convergence,
                        ranks=run.ranks, bundles=len(groups), run=run)
