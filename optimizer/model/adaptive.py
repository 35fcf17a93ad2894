"""The adaptive plan (SPEC section 10): the multi-stage stochastic program on
the tree the scenarios form, in extensive form.

Each node k of the tree (:class:`optimizer.data_tree.Node`: the base case and
every scenario) gets a block ``node_k``: the deterministic model of
:func:`~optimizer.model.build.build_model` on the data its plan is made with
(per period, the data of the node that decides that period, its *decider*),
its cost in those data ``base_cost_k``, and the two-stage recourse of
:func:`~optimizer.model.scenarios.add_recourse` for what the case changes
relative to them (``relief``: in the periods between the scenario's ``from``
and ``from + lag`` it still follows its parent's plan while its own factors
already apply). With p_k the node's probability and R_k that recourse:

    cost_k = base_cost_k + R_k
    min (1 - w) sum_k p_k cost_k + w CVaR_alpha[cost_k]           (as two-stage)

Non-anticipativity: a node decides nothing before ``decides_from_k`` (its
scenario's ``from`` plus the lag): for every such period t

    x_k[s, a, t] = x_parent(k)[s, a, t]        (contracts, every lane)
    unmet_k[a, t] = unmet_parent(k)[a, t]      (its own unmet demand)
    level_k[a, t] = level_parent(k)[a, t]      (its buffer stock)
    fund_k[j] = fund_parent(k)[j]              (co-funding decided in a period t)
    sign_k[c] = sign_parent(k)[c]              (a contract starting in t)
    starts_k[s, t] = starts_parent(k)[s, t]    (a qualification in t)

Every other variable of a block (covered volumes, rule misses) follows from
these within the block. An HHI cap gets its tangent cuts in each block from
that block's plan (the solver layer's cut loop, ``m.hhi_parts``). Two cases
sharing a decider in t thus buy the same in t; the equalities are doubletons
that HiGHS presolve removes.
"""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.data_tree import Node
from optimizer.model.build import build_model
from optimizer.model.scenarios import add_base_cost, add_recourse, add_risk_objective


def node_model(node: Node) -> pyo.ConcreteModel:
    """The node's deterministic model on its data, its ``base_cost`` and the
    recourse for its relief (``scenario_terms[0]``)."""
    b = build_model(node.data)
    add_base_cost(b)
    add_recourse(b, node.data, node.sd, [node.relief])
    return b


def add_node(top: pyo.ConcreteModel, k: int, node: Node) -> pyo.ConcreteModel:
    """Block ``node_k``: :func:`node_model`."""
    b = node_model(node)
    top.add_component(f"node_{k}", b)
    return b


def decided_in(b: pyo.ConcreteModel, data: ModelData) -> dict[int, list[pyo.Var]]:
    """Per period t, the variables of a node's block decided in t (the ones
    non-anticipativity ties, in the same order in every node): x[s, a, t],
    unmet[a, t], level[a, t], starts[s, t], the co-funding steps funded in t and
    the contracts starting in t."""
    out: dict[int, list[pyo.Var]] = {int(t): [] for t in data.periods}
    for var in (b.x, b.unmet, b.level):
        for key in var:
            out[int(key[-1])].append(var[key])
    funded_in = data.building.funding["period"].astype(int).tolist()
    for k in b.fund:
        out[funded_in[k]].append(b.fund[k])
    cp = data.building.contract_periods
    starts_in = cp.groupby("contract")["period"].min().astype(int).to_dict() if len(cp) else {}
    for c in b.sign:
        out[int(starts_in[c])].append(b.sign[c])
    for key in b.starts:
        out[int(key[-1])].append(b.starts[key])
    return out


def add_non_anticipativity(top: pyo.ConcreteModel, nodes: list[Node],
                           blocks: list[pyo.ConcreteModel]) -> None:
    """``same_plan``: for each node k with a parent p and each period t before
    k decides, what k decides in t (:func:`decided_in`) equals p's (module
    docstring)."""
    pairs: list[tuple[pyo.Var, pyo.Var]] = []
    for k, node in enumerate(nodes):
        if node.parent is None:
            continue
        mine = decided_in(blocks[k], node.data)
        theirs = decided_in(blocks[node.parent], nodes[node.parent].data)
        for t, variables in mine.items():
            if t < node.decides_from:
                pairs.extend(zip(variables, theirs[t], strict=True))
    top.SAME = pyo.RangeSet(0, len(pairs) - 1) if pairs else pyo.Set(initialize=[])
    top.same_plan = pyo.Constraint(top.SAME, rule=lambda m, i: pairs[i][0] - pairs[i][1] == 0)


def build_adaptive_model(nodes: list[Node], weight: float = 0.0,
                         alpha: float = 0.95) -> pyo.ConcreteModel:
    """The adaptive program's extensive form: a block per node
    (:func:`add_node`), non-anticipativity (:func:`add_non_anticipativity`),
    the risk-weighted objective over the nodes' costs. ``nodes[0]`` is the base
    case; the model's ``lane_vars`` are its plan's."""
    top = pyo.ConcreteModel(name="adaptive")
    blocks = [add_node(top, k, node) for k, node in enumerate(nodes)]
    # the base case's plan stands for the model (its rows, requirements no
    # offer can meet, lanes); HHI cuts go into each node's own plan
    top.model_index = blocks[0].model_index
    top.lane_vars = blocks[0].lane_vars
    top.blocks = blocks
    top.hhi_parts = blocks
    add_non_anticipativity(top, nodes, blocks)
    top.scenario_terms = {k: b.scenario_terms[0] for k, b in enumerate(blocks)}
    add_risk_objective(top, [n.probability for n in nodes], weight, alpha,
                       bases=[b.base_cost for b in blocks])
    return top
