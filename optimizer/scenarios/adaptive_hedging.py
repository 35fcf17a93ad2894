"""The adaptive plan by progressive hedging (``robust --adaptive --engine mpisppy``,
SPEC section 10).

The same multi-stage program as :func:`optimizer.scenarios.adaptive.adaptive_plan`,
solved scenario by scenario on mpi-sppy (:mod:`optimizer.solver.hedging`).
Every case with a positive probability is one mpi-sppy scenario; its model is
its node's block of the extensive form (:func:`optimizer.model.adaptive.node_model`:
its plan on its decider's data, its recourse in the lag years) with the risk
objective of that case alone, so that sum_k p_k (objective_k) is the extensive
form's objective.

mpi-sppy's tree has one stage per period after a root stage:

* the root holds ``eta`` (with a CVaR weight) or else a variable fixed at 0 (a
  case may decide from the first period on, so the first period need not be
  shared by everyone);
* the node of case k in period t stands for its decider n(k, t)
  (:func:`optimizer.data_tree.deciders`) and holds what the block decides in t
  (:func:`optimizer.model.adaptive.decided_in`): two cases share it exactly
  when they follow the same plan in t, which is the extensive form's
  non-anticipativity ``x_k[t] = x_parent(k)[t]`` before k decides, closed
  under the parent relation;
* a leaf per case after the last period.

Cases of probability 0 are left out: they add nothing to the objective, and
the nodes their children pass through still carry the plan the children follow.
Unlike the extensive form, nothing then requires such a case's own plan (after
all its children re-plan) to exist.

The reported tables are the extensive form's with every live case's decisions
fixed at PH's best policy, re-solved in HiGHS: the same files as
``--engine extensive``. When no policy PH evaluated holds in every case (the
per-node averages of different cases' plans need not meet an equality that
links periods exactly, such as a stock balance), the extensive form is solved
with each decision bounded by the range of its node's cases' values at PH's
last iteration (a *projection*: a policy close to PH's iterate that does). The
plan's objective and PH's proved bound give the gap reported.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.data_scenarios import Case, ScenarioData
from optimizer.data_tree import Node, deciders
from optimizer.input.instance import Instance
from optimizer.model.adaptive import build_adaptive_model, decided_in, node_model
from optimizer.model.demand import unmet_allowed
from optimizer.model.index import index_of
from optimizer.model.scenarios import add_risk_objective
from optimizer.scenarios.adaptive import (
    PLAN_COLUMNS,
    TREE_COLUMNS,
    AdaptivePlan,
    read_tree,
    tree_nodes,
)
from optimizer.scenarios.errors import ScenarioError
from optimizer.scenarios.hedging import case_costs, cost_coefficients, eta_bounder, risk_combiner
from optimizer.solver.hedging import (
    HedgingProblem,
    HedgingSettings,
    HedgingUnavailable,
    Path,
    Policy,
    progressive_hedging,
)
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: the projection's boxes: the cases' range widened by these multiples of
#: ``--ph-tolerance`` (x max(1, |value|)) in turn, until the extensive form has a plan
PROJECTION_WIDENING = (1.0, 10.0, 100.0, 1000.0)


def hedging_tree(nodes: list[Node], periods: list[int]
                 ) -> tuple[list[int], dict[int, list[str]], dict[str, float]]:
    """mpi-sppy's tree for the live cases (module docstring): the live cases in
    the order of their leaves, each one's path of node names (root, then one per
    period; the leaf is implicit) and every node's probability (leaves too)."""
    who = deciders([n.parent for n in nodes], [n.decides_from for n in nodes], periods)
    live = [k for k, n in enumerate(nodes) if n.probability > 0]
    # sorted by the deciders of each period in turn: the cases through one node
    # are then contiguous (a node's deciders so far determine it), as mpi-sppy needs
    live.sort(key=lambda k: tuple(who[k].tolist()))
    names: dict[tuple[int, ...], str] = {(): "ROOT"}
    children: dict[str, int] = {}
    tree: dict[str, float] = {"ROOT": 0.0}
    paths: dict[int, list[str]] = {}
    for k in live:
        p = nodes[k].probability
        tree["ROOT"] += p
        path = ["ROOT"]
        for j in range(len(periods)):
            key = tuple(who[k, :j + 1].tolist())
            if key not in names:
                parent = path[-1]
                names[key] = f"{parent}_{children.get(parent, 0)}"
                children[parent] = children.get(parent, 0) + 1
                tree[names[key]] = 0.0
            tree[names[key]] += p
            path.append(names[key])
        leaf = f"{path[-1]}_{children.get(path[-1], 0)}"
        children[path[-1]] = children.get(path[-1], 0) + 1
        tree[leaf] = p
        paths[k] = path
    return live, paths, tree


def _scenario(node: Node, path: list[str], periods: list[int], weight: float,
              alpha: float, pad: int = 0) -> tuple[pyo.ConcreteModel, Path]:
    """The case's model (its node's block, the case's risk objective) and its
    path: per tree node the variables decided there and their costs (``pad``
    variables fixed at 0 added to the last node)."""
    m = node_model(node)
    m.case_probabilities = [float(node.probability)]  # for case_costs
    decided = decided_in(m, node.data)
    add_risk_objective(m, [1.0], weight, alpha)
    if weight > 0:
        root: list = [m.eta]
        root_costs = np.array([weight])
    else:
        m.anchor = pyo.Var(bounds=(0.0, 0.0), doc="stands in the root stage (nothing "
                           "else is decided there)")
        root, root_costs = [m.anchor], np.zeros(1)
    out: Path = [(path[0], root, root_costs)]
    for name, t in zip(path[1:], periods, strict=True):
        variables = decided[int(t)]
        out.append((name, variables, cost_coefficients(m, variables)))
    if pad:
        # mpi-sppy needs as many nonanticipative variables in every scenario;
        # cases with the same last node share the whole path, so the same padding
        m.padding = pyo.Var(range(pad), bounds=(0.0, 0.0), doc="fills the path to the "
                            "length of the longest one (nothing is decided here)")
        name, variables, costs = out[-1]
        out[-1] = (name, variables + list(m.padding.values()), np.append(costs, np.zeros(pad)))
    # a variable in no row is not passed to the solver (mpi-sppy calls it stale)
    fillers = [v for name, variables, _ in out for v in variables
               if v.parent_component().local_name in ("anchor", "padding")]
    if fillers:
        m.fillers_at_zero = pyo.Constraint(expr=sum(fillers) == 0)
    return m, out


def solve_adaptive_hedging(inst: Instance, data: ModelData, sd: ScenarioData,
                           cases: list[Case], lag: int = 1, weight: float = 0.0,
                           alpha: float = 0.95, options: SolverOptions | None = None,
                           settings: HedgingSettings | None = None) -> AdaptivePlan:
    """The adaptive program by progressive hedging (module docstring).
    Collective under ``mpiexec``: every rank calls it and gets the same plan."""
    t0 = time.perf_counter()
    settings = settings or HedgingSettings()
    nodes = tree_nodes(inst, data, sd, cases, lag)
    base = node_model(nodes[0])
    if index_of(base).hhi_scopes:
        raise ScenarioError("--engine mpisppy does not handle max_hhi rules yet (their "
                            "cuts are added between solves): use --engine extensive")
    periods = [int(t) for t in data.periods]
    live, paths, tree = hedging_tree(nodes, periods)
    names = [f"node{k}" for k in live]

    # what each live case decides over the horizon: the blocks differ only in their
    # own unmet demand (it exists in the periods a scenario plans itself)
    decided = [v for vs in decided_in(base, nodes[0].data).values() for v in vs]
    common = len(decided) - len(base.unmet)
    length = {k: common + len(unmet_allowed(nodes[k].data)) for k in live}
    longest = max(length.values(), default=0)

    def create(name: str) -> tuple[pyo.ConcreteModel, Path, float]:
        k = int(name.removeprefix("node"))
        m, path = _scenario(nodes[k], paths[k], periods, weight, alpha, longest - length[k])
        if sum(len(variables) for _, variables, _ in path) != longest + 1:  # the root's one
            raise AssertionError(f"case {nodes[k].name}: its decisions do not fill the "
                                 "padded path")
        return m, path, float(nodes[k].probability)

    # rho's floor from the base case's plan costs: the same in every scenario
    costs = np.abs(cost_coefficients(base, decided))
    scale = float(costs[costs > 1e-12].mean()) if np.any(costs > 1e-12) else 100.0
    # fixing by bounds: 1.7-3.5x faster on north-america (71 nodes on 2 ranks: 267 s
    # -> 77 s), the 16 reference runs still optimal; with a CVaR weight the strike
    # tree of the tests then cycled (HedgingProblem.fixed_as_bounds), so not there
    problem = HedgingProblem(names, create, case_costs, risk_combiner(weight, alpha),
                             eta_bounder(weight), tree=tree, cost_scale=scale,
                             fixed_as_bounds=weight == 0)
    try:
        run = progressive_hedging(problem, settings, options)
    except HedgingUnavailable as exc:
        raise ScenarioError(str(exc)) from None
    engine = {"engine": "mpisppy", "bound": run.bound, "gap": run.gap,
              "iterations": run.iterations, "convergence": run.convergence,
              "ranks": run.ranks, "ph_status": run.status, "ph_objective": run.objective}
    m = build_adaptive_model(nodes, weight, alpha)
    # each live case's decisions per tree node, with their bounds before any change
    held: Held = []
    for k in live:
        by_period = decided_in(m.blocks[k], nodes[k].data)
        held += [(name, by_period[t]) for name, t in zip(paths[k][1:], periods, strict=True)]
    original = {id(v): (v.lb, v.ub) for _, variables in held for v in variables}
    session, solved, source = None, None, run.xhat_source
    if run.xhat is not None:
        _fix(held, run.xhat)
        session = Session(m, data, options)
        solved = session.solve()
    if (solved is None or not solved.has_solution) and run.low is not None \
            and run.high is not None:
        # no policy PH evaluated holds in every case (averages of different cases'
        # plans need not meet a stock balance exactly): the extensive form within
        # the range of the cases' own values at each node, widened step by step
        for widen in PROJECTION_WIDENING:
            _box(held, run.low, run.high, widen * settings.tolerance, original)
            session = Session(m, data, options)
            solved = session.solve()
            source = f"projection (widened by {widen * settings.tolerance:g})"
            if solved.has_solution:
                break
    if session is None or solved is None or not solved.has_solution:
        status = "infeasible" if run.status == "infeasible" else run.status
        return AdaptivePlan(status, None, lag, None, *_empty(), Session(m, data, options).size,
                            time.perf_counter() - t0, False, engine=engine)
    tree_table, plans, stock = read_tree(session, m, nodes, data, lag)
    probs = tree_table["probability"].to_numpy(dtype=float)
    expected = float(np.dot(probs, tree_table["cost"].to_numpy(dtype=float)))
    assert solved.objective is not None  # has_solution
    objective = float(solved.objective)
    # the plan's objective against the best bound PH proved
    gap = None if run.bound is None else \
        max(0.0, (objective - run.bound) / max(abs(objective), 1e-9))
    engine.update(gap=gap, ph_objective=run.objective, plan_from=source)
    verdict = "optimal" if gap is not None and gap <= settings.gap else run.status
    return AdaptivePlan(verdict, objective, lag, expected, tree_table, plans,
                        session.size, time.perf_counter() - t0, session.is_mip, stock,
                        solved.solve_seconds, engine)


def _empty() -> tuple[pd.DataFrame, pd.DataFrame]:
    return pd.DataFrame(columns=TREE_COLUMNS), pd.DataFrame(columns=PLAN_COLUMNS)


#: a live case's decisions at one tree node: the node's name and the variables
Held = list[tuple[str, list[pyo.Var]]]


def _fix(held: Held, xhat: Policy) -> None:
    """Every live case's decisions (its block in the extensive form) fixed at
    the policy's values of its nodes; eta stays free (its best value for the plan)."""
    for name, variables in held:
        values = xhat[name][:len(variables)]  # the padding left out
        for v, value in zip(variables, values.tolist(), strict=True):
            if v.is_integer() or v.is_binary():
                value = round(value)
            v.setlb(value)
            v.setub(value)


def _box(held: Held, low: Policy, high: Policy, widen: float,
         original: dict[int, tuple[float | None, float | None]]) -> None:
    """Every live case's decisions bounded by the least and the most value its
    node's cases took (widened by ``widen`` x max(1, |value|)), within their
    ``original`` bounds; the extensive form's non-anticipativity then picks one value."""
    for name, variables in held:
        n = len(variables)
        for v, lo, hi in zip(variables, low[name][:n].tolist(), high[name][:n].tolist(),
                             strict=True):
            room = widen * max(1.0, abs(lo), abs(hi))
            lo, hi = lo - room, hi + room
            if v.is_integer() or v.is_binary():
                lo, hi = float(np.ceil(lo - 1e-9)), float(np.floor(hi + 1e-9))
            lb, ub = original[id(v)]
            if lb is not None:
                lo = max(lo, float(lb))
            if ub is not None:
                hi = min(hi, float(ub))
            v.setlb(lo)
            v.setub(max(lo, hi))
