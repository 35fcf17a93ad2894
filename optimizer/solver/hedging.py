"""Progressive hedging on mpi-sppy: a two-stage program solved scenario by scenario.

The caller gives one Pyomo model per scenario (:class:`HedgingProblem`): the
same first stage in each (its variables listed in the same order, the
*nonanticipative* ones), the scenario's own second stage, the scenario's cost as
objective, its probability. mpi-sppy's PH (:class:`mpisppy.opt.ph.PH`) then
solves every scenario alone, with a price ``W`` on each first-stage variable's
distance from the probability-weighted average ``xbar`` and a proximal term
``rho/2 (x - xbar)^2``, and updates ``W += rho (x - xbar)`` until the proved gap
or the scenarios' agreement reaches its tolerance, or ``max_iterations``, or the
time limit (:class:`HedgingSettings`; the time limit is ``SolverOptions.time_limit``,
for the whole run).

Under ``mpiexec -n N`` each rank holds and solves its share of the scenarios
(mpi-sppy splits them in order); without MPI (or with one rank) one process
holds them all. Every rank returns the same :class:`HedgingRun`.

Every ``check_every`` iterations, and at the end:

* **bound** (proved): the Lagrangian bound ``sum_s p_s min_x [cost_s(x) + W_s x]``
  with the current ``W`` (they sum to zero over the scenarios, so this is at
  most the optimum: weak duality), or the *trivial* bound of iteration 0 (each
  scenario knowing its future, ``W = 0``); ``bound`` is the best so far;
* **objective**: the expected cost of one plan ``xhat`` that every scenario
  keeps (its first stage fixed, the second stage re-solved): the average
  ``xbar`` (a plan that obeys every first-stage row, as an average of plans
  that do, when the first stage is continuous); integer first-stage variables
  are rounded, and if that plan fails some scenario, rank 0's first scenario's
  own plan is tried. The best plan so far is kept.
  ``gap = (objective - bound) / |objective|``; the optimum lies in
  [bound, objective].

With integer first-stage variables PH is a heuristic (it need not converge to
the optimum, and may cycle); the plan is feasible and the bound still holds
(each scenario MIP's own bound is used), so the gap says how far off it can be.

HiGHS solves the scenarios through Pyomo's ``highs`` interface. The proximal
term is linearized (tangent cuts, mpi-sppy's ``linearize_proximal_terms``) so
that every scenario stays an LP: HiGHS's QP solver took minutes per PH
iteration on the bundled instance. mpi-sppy and mpi4py are optional
dependencies (``pip install .[mpi]``); this module imports them only when a run
starts.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyomo.core as pyo

from optimizer.solver.options import SolverOptions

#: Pyomo's name of the HiGHS interface mpi-sppy solves the scenarios with
SOLVER_NAME = "highs"


#: how far (in cost) the proximal term's tangent cuts may fall below the quadratic
PROX_TOLERANCE = 1e-4


class HedgingUnavailable(RuntimeError):
    """mpi-sppy (or mpi4py) is not installed."""


@dataclass(frozen=True)
class HedgingSettings:
    """PH controls.

    ``rho``: multiplier of the cost-proportional penalty: each first-stage
    variable gets ``rho x max(|its cost coefficient|, floor)`` (the floor is 1% of
    the mean nonzero coefficient, for variables without a cost of their own).
    PH stops at the first of: the relative ``gap`` between the best plan's
    expected cost and the best bound is at most ``gap`` (checked every
    ``check_every`` iterations: two more rounds of scenario solves each time);
    the scenarios agree and their average has stopped moving (mean |x_s - xbar|
    and mean |xbar_t - xbar_t-1| over first-stage variables, GWh for purchases,
    below ``tolerance``); ``max_iterations``; the solver time limit.
    """

    rho: float = 0.1
    max_iterations: int = 500
    tolerance: float = 1e-4
    gap: float = 1e-4
    check_every: int = 10


@dataclass
class HedgingProblem:
    """What PH needs from the caller: ``names`` of the scenarios; ``create(name)``
    builds one scenario's model and returns it with its first-stage variables (the
    same ones, in the same order, in every scenario), its first-stage cost
    coefficients (one per variable, for rho) and its probability."""

    names: list[str]
    create: Callable[[str], tuple[pyo.ConcreteModel, list[Any], np.ndarray, float]]
    #: optional: a solved scenario's cost, and the objective of a plan from every
    #: scenario's probability and cost (e.g. with a CVaR term, whose threshold is
    #: then the best one for the plan rather than the average of the scenarios')
    outcome: Callable[[pyo.ConcreteModel], float] | None = None
    combine: Callable[[np.ndarray, np.ndarray], float] | None = None
    #: optional, called after iteration 0 with this rank's scenario models, the
    #: lowest scenario cost there (each scenario's best: ``outcome`` at iteration
    #: 0) and the objective of one feasible plan (iteration 0's average): e.g. to
    #: bound a free first-stage variable so that the Lagrangian subproblems stay
    #: bounded
    after_first_round: Callable[[list[pyo.ConcreteModel], float, float | None], None] | None \
        = None


@dataclass
class HedgingRun:
    """The outcome of PH (the same on every rank).

    ``status``: ``gap`` (the gap reached its tolerance), ``converged`` (the
    scenarios agree within the tolerance), ``iteration_limit``, ``time_limit``,
    or ``infeasible`` (a scenario has no plan at iteration 0). ``xhat``: the best
    plan's first-stage values (in the order of the problem's variables);
    ``objective``: its expected cost; ``bound``: the best proved lower bound;
    ``gap``: relative. ``convergence``: the last max(mean |x_s - xbar|, mean
    |xbar_t - xbar_t-1|). ``ranks``: MPI processes.
    """

    status: str
    xhat: np.ndarray | None
    objective: float | None
    bound: float | None
    trivial_bound: float | None
    lagrangian_bound: float | None
    gap: float | None
    iterations: int
    convergence: float | None
    seconds: float
    ranks: int
    scenarios: int
    xhat_source: str = "xbar"


class _Best:
    """The best bound and the best plan found so far (the same on every rank)."""

    def __init__(self, problem: HedgingProblem, integer: bool,
                 solver_options: dict[str, Any]):
        self.problem = problem
        self.integer = integer
        self.solver_options = solver_options
        self.bound = -math.inf
        self.lagrangian: float | None = None
        self.objective = math.inf
        self.xhat: np.ndarray | None = None
        self.source = "none"

    @property
    def gap(self) -> float | None:
        if self.xhat is None or not math.isfinite(self.bound):
            return None
        return max(0.0, (self.objective - self.bound) / max(abs(self.objective), 1e-9))

    def update(self, ph: Any) -> None:
        """The average plan's expected cost, then the Lagrangian bound with the
        current W (the scenarios' values are overwritten: PH has used them)."""
        xbar = _xbar(ph)
        xhat, value, source = _evaluate(ph, xbar, self.solver_options, self.integer,
                                        self.problem)
        if xhat is not None and value is not None and value < self.objective:
            self.xhat, self.objective, self.source = xhat, value, source
        bound = float(ph.post_solve_bound(solver_options=self.solver_options))
        # a scenario without an optimum (unbounded with this W: eta is free) keeps a
        # stale bound from its last solve: no bound from this round then
        failed = any(not s._mpisppy_data.solution_available for s in ph.local_scenarios.values())
        if not ph.allreduce_or(failed) and math.isfinite(bound):
            self.lagrangian = bound
            self.bound = max(self.bound, bound)


def _first_round(problem: HedgingProblem, best: _Best) -> type:
    """An mpi-sppy extension: after iteration 0 (its trivial bound taken), the
    average plan is evaluated (the first candidate) and the problem's
    ``after_first_round`` called."""
    from mpisppy.extensions.extension import Extension

    class FirstRound(Extension):  # type: ignore[misc]
        def __init__(self, ph: Any):
            super().__init__(ph)
            self.ph = ph

        def post_iter0_after_sync(self) -> None:
            ph = self.ph
            if problem.outcome is None or problem.after_first_round is None:
                return
            local = min((problem.outcome(s) for s in ph.local_scenarios.values()),
                        default=math.inf)
            lowest = float(min(_allgather(ph.mpicomm, local)))
            xhat, value, source = _evaluate(ph, _xbar(ph), best.solver_options, best.integer,
                                            problem)
            if xhat is not None and value is not None and value < best.objective:
                best.xhat, best.objective, best.source = xhat, value, source
            problem.after_first_round(list(ph.local_scenarios.values()), lowest,
                                      None if xhat is None else value)

    return FirstRound


def _converger(settings: HedgingSettings, best: _Best) -> type:
    """An mpi-sppy converger (module docstring, :class:`HedgingSettings`)."""
    from mpisppy import MPI
    from mpisppy.convergers.converger import Converger

    class Agreement(Converger):  # type: ignore[misc]
        def __init__(self, ph: Any):
            super().__init__(ph)
            self.ph = ph
            self.previous: np.ndarray | None = None
            self.reason = ""

        def is_converged(self) -> bool:
            ph = self.ph
            local = np.zeros(1)
            xbar = np.zeros(0)
            for s in ph.local_scenarios.values():
                node = s._mpisppy_node_list[0]
                n = s._mpisppy_data.nlens[node.name]
                xbar = np.fromiter((s._mpisppy_model.xbars[node.name, i]._value
                                    for i in range(n)), dtype="d", count=n)
                x = np.fromiter((v._value for v in node.nonant_vardata_list), dtype="d",
                                count=n)
                local[0] += s._mpisppy_probability * float(np.abs(x - xbar).sum()) / max(n, 1)
            total = np.zeros(1)
            ph.comms["ROOT"].Allreduce(local, total, op=MPI.SUM)
            dual = math.inf if self.previous is None or not len(xbar) else \
                float(np.abs(xbar - self.previous).mean())
            self.previous = xbar
            self.conv = max(float(total[0]), dual)
            if self.conv < settings.tolerance:
                self.reason = "converged"
                return True
            if ph._PHIter % max(settings.check_every, 1) == 0:
                trivial = getattr(ph, "trivial_bound", None)
                if trivial is not None and math.isfinite(trivial):
                    best.bound = max(best.bound, float(trivial))
                best.update(ph)
                gap = best.gap
                if gap is not None and gap <= settings.gap:
                    self.reason = "gap"
                    return True
            return False

    return Agreement


def rank_and_size() -> tuple[int, int]:
    """This process's MPI rank and the number of ranks (0, 1 without MPI)."""
    try:
        from mpi4py import MPI
    except ImportError:
        return 0, 1
    comm = MPI.COMM_WORLD
    return int(comm.Get_rank()), int(comm.Get_size())


def finish_mpi() -> None:
    """Under ``mpiexec`` with several ranks, finalize MPI (a rank that leaves
    without it, as the command line does with ``os._exit``, makes ``mpiexec``
    stop every rank). Alone (one rank) MPI stays up: the process may solve again."""
    import sys

    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None and mpi.Is_initialized() and not mpi.Is_finalized() and \
            mpi.COMM_WORLD.Get_size() > 1:
        mpi.Finalize()


@contextlib.contextmanager
def _quiet(show: bool) -> Iterator[None]:
    """mpi-sppy prints its progress on rank 0's stdout: keep it unless ``show``."""
    if show:
        yield
        return
    with contextlib.redirect_stdout(io.StringIO()):
        yield


def _import_ph() -> Any:
    try:
        with _quiet(False):
            import mpisppy.opt.ph as ph_module
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise HedgingUnavailable(
            "--engine mpisppy needs mpi-sppy and mpi4py: pip install 'mpi-sppy' 'mpi4py' "
            "'mpich' (or the project's extra: pip install '.[mpi]')") from exc
    return ph_module


def _solver_options(options: SolverOptions) -> dict[str, Any]:
    out: dict[str, Any] = {"mip_rel_gap": options.mip_gap}
    if options.threads:
        out["threads"] = options.threads
    return out


def progressive_hedging(problem: HedgingProblem, settings: HedgingSettings | None = None,
                        options: SolverOptions | None = None) -> HedgingRun:
    """Run PH on ``problem`` (module docstring). Collective under MPI: every
    rank calls it with the same arguments and gets the same result."""
    settings = settings or HedgingSettings()
    options = options or SolverOptions()
    ph_module = _import_ph()
    t0 = time.perf_counter()
    is_integer = {"any": False}

    def scenario_creator(name: str) -> pyo.ConcreteModel:
        from mpisppy.utils import sputils

        m, first, costs, probability = problem.create(name)
        sputils.attach_root_node(m, 0.0, first)
        m._mpisppy_probability = probability
        m._hedging_costs = np.asarray(costs, dtype=float)
        if any(v.is_integer() or v.is_binary() for v in first):
            is_integer["any"] = True
        return m

    def rho_setter(s: pyo.ConcreteModel) -> list[tuple[int, float]]:
        node = s._mpisppy_node_list[0]
        costs = np.abs(s._hedging_costs)
        nonzero = costs[costs > 1e-12]
        floor = 0.01 * float(nonzero.mean()) if len(nonzero) else 1.0
        rho = settings.rho * np.maximum(costs, floor)
        return [(id(v), float(r)) for v, r in zip(node.nonant_vardata_list, rho, strict=True)]

    solver_options = _solver_options(options)
    ph_options: dict[str, Any] = {
        "solver_name": SOLVER_NAME,
        "PHIterLimit": settings.max_iterations,
        "defaultPHrho": settings.rho,
        "convthresh": -1.0,  # the converger decides (mpi-sppy's own metric is primal only)
        "verbose": False,
        "display_progress": options.log,
        "display_timing": False,
        "solver_options_layers": [{"when": "default", "options": dict(solver_options)}],
        "time_limit": options.time_limit,
        # the proximal term as tangent cuts: every scenario stays an LP (HiGHS's QP
        # solver needed minutes per PH iteration on the bundled instance)
        "linearize_proximal_terms": True,
        "linearize_binary_proximal_terms": True,
        "proximal_linearization_tolerance": PROX_TOLERANCE,
    }
    best = _Best(problem, False, solver_options)
    with _quiet(options.log):
        ph = ph_module.PH(ph_options, list(problem.names), scenario_creator,
                          rho_setter=rho_setter, ph_converger=_converger(settings, best),
                          extensions=_first_round(problem, best))
        ranks = int(ph.mpicomm.size)
        best.integer = ph.allreduce_or(is_integer["any"])
        try:
            _, _, trivial = ph.ph_main(finalize=False)
        except RuntimeError as exc:
            if "infeasible" in str(exc).lower():
                return HedgingRun("infeasible", None, None, None, None, None, None, 0, None,
                                  time.perf_counter() - t0, ranks, len(problem.names))
            raise
        iterations = int(ph._PHIter)
        converger = ph.convobject
        status = converger.reason if converger is not None and converger.reason else \
            "time_limit" if options.time_limit is not None and \
            time.perf_counter() - ph.start_time >= options.time_limit else "iteration_limit"
        if status != "gap":
            best.update(ph)
    if trivial is not None and math.isfinite(trivial):
        best.bound = max(best.bound, float(trivial))
    bound = best.bound if math.isfinite(best.bound) else None
    return HedgingRun(status, best.xhat, None if best.xhat is None else best.objective, bound,
                      None if trivial is None else float(trivial), best.lagrangian, best.gap,
                      iterations, None if converger is None else converger.conv,
                      time.perf_counter() - t0, ranks, len(problem.names), best.source)


def _allgather(comm: Any, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (mpi-sppy's stand-in communicator without mpi4py has
    one rank and no allgather)."""
    return list(comm.allgather(obj)) if hasattr(comm, "allgather") else [obj]


def _xbar(ph: Any) -> np.ndarray:
    """The probability-weighted average of the first-stage values (the same on
    every rank: mpi-sppy reduces it over all of them)."""
    ph.Compute_Xbar()
    s = next(iter(ph.local_scenarios.values()))
    xbars = s._mpisppy_model.xbars
    return np.array([pyo.value(xbars[key]) for key in s._mpisppy_data.nonant_indices])


def _own_plan(ph: Any) -> np.ndarray:
    """Rank 0's first scenario's own first-stage values, on every rank."""
    s = next(iter(ph.local_scenarios.values()))
    values = np.array([v.value or 0.0 for v in s._mpisppy_data.nonant_indices.values()])
    return np.asarray(ph.mpicomm.bcast(values, root=0))


def _evaluate(ph: Any, xbar: np.ndarray, solver_options: dict[str, Any], integer: bool,
              problem: HedgingProblem) -> tuple[np.ndarray | None, float | None, str]:
    """The expected cost of a plan every scenario keeps: ``xbar`` (integers
    rounded), else rank 0's first scenario's own plan (integer first stages)."""
    candidates: list[tuple[str, np.ndarray]] = [("xbar", xbar)]
    if integer:
        candidates.append(("scenario", _own_plan(ph)))
    for source, values in candidates:
        value = _fixed_value(ph, values, solver_options, problem)
        if value is not None:
            fixed = np.array(values, dtype=float)
            s = next(iter(ph.local_scenarios.values()))
            for i, v in enumerate(s._mpisppy_data.nonant_indices.values()):
                if v.is_integer() or v.is_binary():
                    fixed[i] = round(fixed[i])
            return fixed, value, source
    return None, None, "none"


def _fixed_value(ph: Any, values: np.ndarray, solver_options: dict[str, Any],
                 problem: HedgingProblem) -> float | None:
    """Every scenario with its first stage fixed at ``values``, W and prox off:
    the expected cost (or the problem's ``combine`` of the scenarios' costs), or
    None if some scenario has no plan."""
    ph.disable_W_and_prox()
    ph._save_nonants()
    ph._fix_nonants({"ROOT": list(values)})
    ph.solve_loop(solver_options=solver_options, need_solution=False)
    feasible = all(s._mpisppy_data.solution_available for s in ph.local_scenarios.values())
    everywhere = ph.allreduce_or(not feasible) is False
    value = None
    if everywhere and problem.outcome is not None and problem.combine is not None:
        local = [(float(s._mpisppy_probability), problem.outcome(s))
                 for s in ph.local_scenarios.values()]
        pairs = [pair for part in _allgather(ph.mpicomm, local) for pair in part]
        value = float(problem.combine(np.array([p for p, _ in pairs]),
                                      np.array([c for _, c in pairs])))
    elif everywhere:
        value = float(ph.Eobjective())
    ph._restore_nonants()
    ph.reenable_W_and_prox()
    return value
