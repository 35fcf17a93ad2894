"""Adaptive plans (SPEC section 10): the multi-stage program on the scenario
tree, where each scenario re-plans ``lag`` periods after it starts.

:func:`tree_nodes` turns the cases into the tree's nodes (data per node,
:mod:`optimizer.data_tree`); :func:`adaptive_plan` builds the extensive form
(:mod:`optimizer.model.adaptive`), solves it through the solver layer and
returns each case's plan and cost as tables.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from optimizer.data import ModelData
from optimizer.data_scenarios import BASE, Case, ScenarioData, scenario_data
from optimizer.data_tree import Node, deciders, mixed_case, node_data, relief
from optimizer.input.instance import Instance
from optimizer.input.schema_scenarios import Scenario
from optimizer.model.adaptive import build_adaptive_model
from optimizer.scenarios.cases import ancestors, resolve
from optimizer.scenarios.errors import ScenarioError
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: GWh below this are left out of the plans table
_TINY = 1e-9

#: the columns of tree.csv and adaptive.csv
TREE_COLUMNS = ["scenario", "parent", "probability", "from", "decides_from", "cost",
                "spot_gwh", "unmet_gwh"]
PLAN_COLUMNS = ["scenario", "supplier", "application", "period", "gwh", "decided_by"]


@dataclass
class AdaptivePlan:
    """The adaptive program's solution.

    ``tree``: one row per node (case): its parent, probability, the scenario's
    ``from`` and the first period of its own plan, its cost (USD million,
    discounted), spot and unmet GWh. ``plans``: the plan each case follows,
    per lane with GWh bought, and the node that decided it.
    """

    status: str
    objective: float | None
    lag: int
    expected_cost: float | None
    tree: pd.DataFrame
    plans: pd.DataFrame
    size: dict[str, int]
    seconds: float
    mip: bool
    stock: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: HiGHS's own time (``seconds`` is the whole call: build, compile, solve, read)
    highs_seconds: float = 0.0
    #: ``engine="mpisppy"``: PH's proved bound, its relative gap, iterations, last
    #: convergence value and MPI ranks (:mod:`optimizer.scenarios.adaptive_hedging`)
    engine: dict = field(default_factory=dict)


def _scenario_of(inst: Instance, case: Case) -> Scenario:
    name = case.name.rsplit("#", 1)[0] if case.kind == "sample" else case.name
    for sc in inst.scenarios:
        if sc.name == name:
            return sc
    raise ScenarioError(f"case '{case.name}' belongs to no scenario of the instance")


def tree_nodes(inst: Instance, data: ModelData, sd: ScenarioData, cases: list[Case],
               lag: int) -> list[Node]:
    """The tree's nodes, the base case first. A scenario's parent is the case
    of its ``parent`` scenario (added with probability 0 when a sample drew no
    case of it: its plan is still the one its children follow before they
    re-plan). A node decides from its scenario's ``from`` (the first period
    when it has none) plus ``lag``."""
    if lag < 0:
        raise ScenarioError(f"--lag must be 0 or more periods, got {lag}")
    if not cases or cases[0].kind != "base":
        raise ScenarioError("the adaptive program needs the base case first")
    periods = list(data.periods)
    first = periods[0]
    cases = list(cases)
    scenario = [None] + [_scenario_of(inst, c) for c in cases[1:]]
    index = {c.name: k for k, c in enumerate(cases)}
    parents: list[int | None] = [None]
    k = 1
    while k < len(cases):
        sc = scenario[k]
        assert sc is not None
        if sc.parent is None:
            parents.append(0)
        else:
            if sc.parent not in index:
                up = next(s for s in inst.scenarios if s.name == sc.parent)
                cases.append(resolve(sd, up, probability=0.0, parents=ancestors(inst, up)))
                scenario.append(up)
                index[up.name] = len(cases) - 1
            parents.append(index[sc.parent])
        k += 1
    decides = [first] + [((sc.from_ if sc.from_ is not None else first) + lag)
                         for sc in scenario[1:] if sc is not None]
    who = deciders(parents, decides, periods)
    nodes = []
    for k, case in enumerate(cases):
        made = mixed_case(cases, who[k], sd)
        own = {t for j, t in enumerate(periods) if who[k, j] != 0}
        node_d = data if k == 0 else node_data(data, sd, made, own)
        node_sd = sd if k == 0 else scenario_data(node_d)
        nodes.append(Node(case.name, case.probability, parents[k], decides[k], case,
                          node_d, node_sd, relief(case, made)))
    return nodes


def adaptive_plan(inst: Instance, data: ModelData, sd: ScenarioData, cases: list[Case],
                  lag: int = 1, weight: float = 0.0, alpha: float = 0.95,
                  options: SolverOptions | None = None) -> AdaptivePlan:
    """Solve the adaptive program (:func:`optimizer.model.adaptive.build_adaptive_model`)
    on the cases' tree and read each case's plan and cost."""
    t0 = time.perf_counter()
    nodes = tree_nodes(inst, data, sd, cases, lag)
    m = build_adaptive_model(nodes, weight, alpha)
    session = Session(m, data, options)
    status = session.solve()
    tree = pd.DataFrame(columns=TREE_COLUMNS)
    plans = pd.DataFrame(columns=PLAN_COLUMNS)
    expected_cost = None
    stock = pd.DataFrame()
    if status.has_solution:
        tree, plans, stock = read_tree(session, m, nodes, data, lag)
        probs = tree["probability"].to_numpy(dtype=float)
        expected_cost = float(np.dot(probs, tree["cost"].to_numpy(dtype=float)))
    return AdaptivePlan(status.status, status.objective if status.has_solution else None,
                        lag, expected_cost, tree, plans, session.size,
                        time.perf_counter() - t0, session.is_mip, stock, status.solve_seconds)


def read_tree(session: Session, m, nodes: list[Node], data: ModelData, lag: int
          ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    periods = list(data.periods)
    decides = [n.decides_from for n in nodes]
    who = deciders([n.parent for n in nodes], decides, periods)
    col = {t: j for j, t in enumerate(periods)}
    lanes = data.lanes[["supplier", "application", "period"]]
    lane_period = lanes["period"].astype(int).to_numpy()
    rows = []
    plan_parts = []
    stock_parts = []
    for k, (node, b) in enumerate(zip(nodes, m.blocks, strict=True)):
        coefs, variables = m.scenario_terms[k]
        base = float(session.values_of([b.base_cost])[0])
        extra = float(np.dot(coefs, session.values_of(variables))) if variables else 0.0
        spot = float(session.values_of(list(b.spot.values())).sum()) if len(b.spot) else 0.0
        short = float(session.values_of(list(b.shortage.values())).sum()) \
            if len(b.shortage) else 0.0
        own = float(session.values_of(list(b.unmet.values())).sum()) if len(b.unmet) else 0.0
        parent = nodes[node.parent].name if node.parent is not None else ""
        sc_from = node.decides_from - lag if k else None
        rows.append((node.name, parent, node.probability, sc_from, node.decides_from,
                     base + extra, spot, short + own))
        x = session.values_of(list(b.lane_vars))
        keep = np.flatnonzero(x > _TINY)
        part = lanes.iloc[keep].copy()
        part.insert(0, "scenario", node.name)
        part["gwh"] = x[keep]
        part["decided_by"] = [nodes[int(who[k, col[int(t)]])].name for t in lane_period[keep]]
        plan_parts.append(part)
        if len(b.level):
            keys = list(b.level.keys())
            levels = session.values_of([b.level[key] for key in keys])
            stock_parts.append(pd.DataFrame({
                "scenario": node.name, "application": [a for a, _ in keys],
                "period": [int(t) for _, t in keys], "level_gwh": levels}))
    tree = pd.DataFrame(rows, columns=TREE_COLUMNS)
    tree["from"] = tree["from"].astype("Int64")
    plans = pd.concat(plan_parts, ignore_index=True)[PLAN_COLUMNS] if plan_parts else \
        pd.DataFrame(columns=PLAN_COLUMNS)
    stock = pd.concat(stock_parts, ignore_index=True) if stock_parts else pd.DataFrame()
    return tree, plans, stock


__all__ = ["BASE", "AdaptivePlan", "adaptive_plan", "tree_nodes"]
