"""Progressive hedging on mpi-sppy: a two-stage or multi-stage program solved
scenario by scenario.

The caller gives one Pyomo model per scenario (:class:`HedgingProblem`): its
path through the scenario tree (two-stage: the root alone), at each node the
variables decided there (the *nonanticipative* ones: listed in the same order
in every scenario through that node), the scenario's own recourse, the
scenario's cost as objective, its probability. mpi-sppy's PH (:class:`mpisppy.opt.ph.PH`) then
solves every scenario alone, with a price ``W`` on each nonanticipative
variable's distance from its node's probability-weighted average ``xbar`` (over
the scenarios through the node) and a proximal term
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
  most the optimum: weak duality, at every node), or the *trivial* bound of iteration 0 (each
  scenario knowing its future, ``W = 0``); ``bound`` is the best so far;
* **objective**: the expected cost of one policy ``xhat`` (values per node)
  that every scenario keeps (its nodes' values fixed, the recourse re-solved):
  the averages ``xbar`` (in a two-stage program a plan that obeys every
  first-stage row, as an average of plans that do, when the first stage is
  continuous; in a multi-stage one it may fail a scenario, then no candidate
  this round); integer variables are rounded, and if that fails some scenario,
  each node's first scenario's own values are tried. The best policy so far is
  kept.
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


#: PH stops as converged after this many iterations in a row within the tolerance
CALM_ITERATIONS = 3

#: a scenario's path through the tree: per node from the root, its name, the
#: variables decided there and their cost coefficients
Path = list[tuple[str, list[Any], np.ndarray]]

#: values per node of the tree (a policy)
Policy = dict[str, np.ndarray]

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
    and mean |xbar_t - xbar_t-1| over nonanticipative variables, GWh for
    purchases, below ``tolerance`` for :data:`CALM_ITERATIONS` iterations in a
    row); ``max_iterations``; the solver time limit.
    """

    rho: float = 0.1
    max_iterations: int = 500
    tolerance: float = 1e-4
    gap: float = 1e-4
    check_every: int = 10
    #: cases per subproblem of a two-stage program (each subproblem the extensive
    #: form of its cases); None: the caller's choice
    bundle: int | None = None


@dataclass
class HedgingProblem:
    """What PH needs from the caller: ``names`` of the scenarios; ``create(name)``
    builds one scenario's model and returns it with its path through the tree
    (:data:`Path`: per node from the root, the node's name, the variables decided
    there, the same ones in the same order in every scenario through it, and
    their cost coefficients, for rho) and its probability.

    Two-stage: every path is ``[("ROOT", ...)]`` and ``tree`` is None.
    Multi-stage: ``tree`` maps every node of mpi-sppy's tree (leaves too:
    ``ROOT``, ``ROOT_0``, ``ROOT_0_1``..., children numbered from 0, every leaf
    at the same depth, one leaf per scenario, the scenarios in ``names`` in the
    order of their leaves) to its probability (the sum of its scenarios')."""

    names: list[str]
    create: Callable[[str], tuple[pyo.ConcreteModel, Path, float]]
    #: optional: a solved scenario model's cases (one, or a bundle), each one's own
    #: probability and cost, and the objective of a plan from every case's
    #: probability and cost (e.g. with a CVaR term, whose threshold is then the best
    #: one for the plan rather than the average of the scenarios')
    outcome: Callable[[pyo.ConcreteModel], list[tuple[float, float]]] | None = None
    combine: Callable[[np.ndarray, np.ndarray], float] | None = None
    #: optional, called after iteration 0 with this rank's scenario models, the
    #: lowest case cost there (``outcome`` at iteration 0: each case's best when
    #: every scenario model holds one case) and the objective of one feasible
    #: plan (iteration 0's average): e.g. to bound a free first-stage variable so
    #: that the Lagrangian subproblems stay bounded
    after_first_round: Callable[[list[pyo.ConcreteModel], float, float | None], None] | None \
        = None
    tree: dict[str, float] | None = None
    #: the typical cost coefficient (rho's floor is 1% of it), the same for every
    #: scenario; None: each scenario's mean nonzero coefficient (fine when every
    #: scenario has the same nonanticipative costs, as in a two-stage program). In a
    #: multi-stage program it must be given: W sums to zero at a node (and the
    #: Lagrangian bound holds) only if every scenario there has the same rho
    cost_scale: float | None = None
    #: fix the nonanticipative variables (to evaluate a plan) by their bounds in
    #: HiGHS (:func:`_fixed_as_bounds`: 2.6x faster on 71 sampled north-america
    #: cases) rather than by taking them out of every row. The subproblems then
    #: start warm from the evaluation's basis, and PH's path changes: on the
    #: adaptive strike tree with a CVaR weight it cycled for 500 iterations
    #: (13,898 to 13,919) instead of reaching 13,887.5, so the adaptive program
    #: turns it off under a CVaR weight
    fixed_as_bounds: bool = True


@dataclass
class HedgingRun:
    """The outcome of PH (the same on every rank).

    ``status``: ``gap`` (the gap reached its tolerance), ``converged`` (the
    scenarios agree within the tolerance), ``iteration_limit``, ``time_limit``,
    or ``infeasible`` (a scenario has no plan at iteration 0). ``xhat``: the best
    policy's values per node (in the order of the node's variables);
    ``objective``: its expected cost; ``bound``: the best proved lower bound;
    ``gap``: relative. ``convergence``: the last max(mean |x_s - xbar|, mean
    |xbar_t - xbar_t-1|). ``ranks``: MPI processes.
    """

    status: str
    xhat: Policy | None
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
    #: per node, the least and the most value each variable takes over the node's
    #: scenarios at the last iteration (every rank has all nodes); None when PH
    #: stopped on its gap (its plan is proved good enough)
    low: Policy | None = None
    high: Policy | None = None


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
        self.xhat: Policy | None = None
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
    """An mpi-sppy extension: before the first solve, if the problem asks for it,
    each subproblem's HiGHS interface is told to keep a fixed variable as a
    column with equal bounds (:func:`_fixed_as_bounds`); after iteration 0 (its
    trivial bound taken), the average plan is evaluated (the first candidate)
    and the problem's ``after_first_round`` called."""
    from mpisppy.extensions.extension import Extension

    class FirstRound(Extension):  # type: ignore[misc]
        def __init__(self, ph: Any):
            super().__init__(ph)
            self.ph = ph

        def iter0_post_solver_creation(self) -> None:
            if problem.fixed_as_bounds:
                for s in self.ph.local_scenarios.values():
                    _fixed_as_bounds(s._solver_plugin)

        def post_iter0_after_sync(self) -> None:
            ph = self.ph
            if problem.outcome is None or problem.after_first_round is None:
                return
            local = min((cost for s in ph.local_scenarios.values()
                         for _, cost in problem.outcome(s)), default=math.inf)
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
            self.previous: dict[tuple[str, int], float] | None = None
            self.reason = ""
            self.calm = 0

        def is_converged(self) -> bool:
            ph = self.ph
            local = np.zeros(1)
            xbars: dict[tuple[str, int], float] = {}
            for s in ph.local_scenarios.values():
                keys = list(s._mpisppy_data.nonant_indices)
                x = np.fromiter((v._value for v in s._mpisppy_data.nonant_indices.values()),
                                dtype="d", count=len(keys))
                xbar = np.fromiter((s._mpisppy_model.xbars[key]._value for key in keys),
                                   dtype="d", count=len(keys))
                xbars.update(zip(keys, xbar.tolist(), strict=True))
                local[0] += s._mpisppy_probability * float(np.abs(x - xbar).sum()) / \
                    max(len(keys), 1)
            total = np.zeros(1)
            ph.comms["ROOT"].Allreduce(local, total, op=MPI.SUM)
            moved = np.zeros(1)
            if self.previous is None or not xbars:
                moved[0] = math.inf
            else:
                moved[0] = float(np.mean([abs(v - self.previous.get(key, math.inf))
                                          for key, v in xbars.items()]))
            most = np.zeros(1)
            ph.comms["ROOT"].Allreduce(moved, most, op=MPI.MAX)
            self.previous = xbars
            dual = float(most[0])
            self.conv = max(float(total[0]), dual)
            # agreement must last: the proximal term's tangent cuts are refined at the
            # scenarios' values only after a solve, and until then the linearized term
            # can hold every scenario at a common plan that is not optimal
            self.calm = self.calm + 1 if self.conv < settings.tolerance else 0
            if self.calm >= CALM_ITERATIONS:
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
        from mpisppy.scenario_tree import ScenarioNode
        from mpisppy.utils import sputils

        m, path, probability = problem.create(name)
        if problem.tree is None:
            sputils.attach_root_node(m, 0.0, path[0][1])
        else:
            nodes, parent = [], None
            for stage, (ndn, variables, _) in enumerate(path, start=1):
                cond = 1.0 if parent is None else problem.tree[ndn] / problem.tree[parent]
                nodes.append(ScenarioNode(ndn, cond, stage, 0.0, variables, m,
                                          parent_name=parent))
                parent = ndn
            m._mpisppy_node_list = nodes
        m._mpisppy_probability = probability
        m._hedging_costs = np.concatenate([np.asarray(c, dtype=float) for _, _, c in path])
        if any(v.is_integer() or v.is_binary() for _, variables, _ in path for v in variables):
            is_integer["any"] = True
        return m

    def rho_setter(s: pyo.ConcreteModel) -> list[tuple[int, float]]:
        costs = np.abs(s._hedging_costs)
        nonzero = costs[costs > 1e-12]
        scale = problem.cost_scale if problem.cost_scale is not None else \
            float(nonzero.mean()) if len(nonzero) else 100.0
        floor = 0.01 * scale
        rho = settings.rho * np.maximum(costs, floor)
        variables = [v for node in s._mpisppy_node_list for v in node.nonant_vardata_list]
        return [(id(v), float(r)) for v, r in zip(variables, rho, strict=True)]

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
                          all_nodenames=None if problem.tree is None else list(problem.tree),
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
        low = high = None
        if status != "gap":
            low, high = _spread(ph)  # of the PH iterate (update solves the scenarios again)
            best.update(ph)
    if trivial is not None and math.isfinite(trivial):
        best.bound = max(best.bound, float(trivial))
    bound = best.bound if math.isfinite(best.bound) else None
    return HedgingRun(status, best.xhat, None if best.xhat is None else best.objective, bound,
                      None if trivial is None else float(trivial), best.lagrangian, best.gap,
                      iterations, None if converger is None else converger.conv,
                      time.perf_counter() - t0, ranks, len(problem.names), best.source,
                      low, high)


def _fixed_as_bounds(plugin: Any) -> None:
    """Pyomo's persistent HiGHS interface, by default, takes a fixed variable out
    of every row it is in: fixing the first stage to evaluate a plan (and freeing
    it again) removed and re-added nearly every row of a subproblem, and the
    columns with them, one HiGHS call each: on 71 sampled north-america cases in 8
    subproblems, 60% of PH's time. Kept as a column whose bounds are the fixed
    value, fixing is a bound change and HiGHS keeps its basis."""
    if hasattr(plugin, "_treat_fixed_vars_as_params"):
        plugin._treat_fixed_vars_as_params = False


def _allgather(comm: Any, obj: Any) -> list[Any]:
    """Every rank's ``obj`` (mpi-sppy's stand-in communicator without mpi4py has
    one rank and no allgather)."""
    return list(comm.allgather(obj)) if hasattr(comm, "allgather") else [obj]


def _per_node(ph: Any, values: Callable[[Any, Any], np.ndarray]) -> Policy:
    """Per node of the tree, ``values(scenario, node)`` of the first scenario
    through it on the lowest rank that holds one (every rank gets them all)."""
    local: Policy = {}
    for s in ph.local_scenarios.values():
        for node in s._mpisppy_node_list:
            if node.name not in local:
                local[node.name] = values(s, node)
    out: Policy = {}
    for part in _allgather(ph.mpicomm, local):
        for ndn, found in part.items():
            out.setdefault(ndn, found)
    return out


def _xbar(ph: Any) -> Policy:
    """Per node, the probability-weighted average of its scenarios' values
    (mpi-sppy reduces it over every rank; gathered so that every rank has all
    nodes)."""
    ph.Compute_Xbar()
    return _per_node(ph, lambda s, node: np.array(
        [pyo.value(s._mpisppy_model.xbars[node.name, i])
         for i in range(s._mpisppy_data.nlens[node.name])]))


def _spread(ph: Any) -> tuple[Policy, Policy]:
    """Per node, the least and the most value of each variable over the node's
    scenarios (their last solves; every rank gets all nodes)."""
    low: Policy = {}
    high: Policy = {}
    for s in ph.local_scenarios.values():
        for node in s._mpisppy_node_list:
            x = np.array([v.value or 0.0 for v in node.nonant_vardata_list])
            low[node.name] = np.minimum(low[node.name], x) if node.name in low else x
            high[node.name] = np.maximum(high[node.name], x) if node.name in high else x
    lows: Policy = {}
    highs: Policy = {}
    for part_low, part_high in _allgather(ph.mpicomm, (low, high)):
        for ndn, x in part_low.items():
            lows[ndn] = np.minimum(lows[ndn], x) if ndn in lows else x
        for ndn, x in part_high.items():
            highs[ndn] = np.maximum(highs[ndn], x) if ndn in highs else x
    return lows, highs


def _own_plan(ph: Any) -> Policy:
    """Per node, its first scenario's own values (the lowest rank's), on every rank."""
    return _per_node(ph, lambda s, node: np.array([v.value or 0.0
                                                   for v in node.nonant_vardata_list]))


def _integers(ph: Any) -> dict[str, np.ndarray]:
    """Per node, which of its variables are integer (every rank gets all nodes)."""
    return _per_node(ph, lambda s, node: np.array([v.is_integer() or v.is_binary()
                                                   for v in node.nonant_vardata_list],
                                                  dtype=bool))


def _evaluate(ph: Any, xbar: Policy, solver_options: dict[str, Any], integer: bool,
              problem: HedgingProblem) -> tuple[Policy | None, float | None, str]:
    """The expected cost of a policy every scenario keeps: ``xbar`` (integers
    rounded), else each node's first scenario's own values (integer programs)."""
    candidates: list[tuple[str, Policy]] = [("xbar", xbar)]
    if integer:
        candidates.append(("scenario", _own_plan(ph)))
    masks = _integers(ph) if integer else {}
    for source, values in candidates:
        value = _fixed_value(ph, values, solver_options, problem)
        if value is not None:
            fixed = {ndn: np.where(masks[ndn], np.round(v), v) if ndn in masks else
                     np.array(v, dtype=float) for ndn, v in values.items()}
            return fixed, value, source
    return None, None, "none"


def _fixed_value(ph: Any, values: Policy, solver_options: dict[str, Any],
                 problem: HedgingProblem) -> float | None:
    """Every scenario with its nodes' values fixed at ``values``, W and prox off:
    the expected cost (or the problem's ``combine`` of the scenarios' costs), or
    None if some scenario has no plan."""
    ph.disable_W_and_prox()
    ph._save_nonants()
    ph._fix_nonants({ndn: list(v) for ndn, v in values.items()})
    ph.solve_loop(solver_options=solver_options, need_solution=False)
    feasible = all(s._mpisppy_data.solution_available for s in ph.local_scenarios.values())
    everywhere = ph.allreduce_or(not feasible) is False
    value = None
    if everywhere and problem.outcome is not None and problem.combine is not None:
        local = [pair for s in ph.local_scenarios.values() for pair in problem.outcome(s)]
        pairs = [pair for part in _allgather(ph.mpicomm, local) for pair in part]
        value = float(problem.combine(np.array([p for p, _ in pairs]),
                                      np.array([c for _, c in pairs])))
    elif everywhere:
        value = float(ph.Eobjective())
    ph._restore_nonants()
    ph.reenable_W_and_prox()
    return value
