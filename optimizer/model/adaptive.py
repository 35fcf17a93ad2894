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

from optimizer.data_tree import Node
from optimizer.model.build import build_model
from optimizer.model.scenarios import add_base_cost, add_recourse, add_risk_objective


def add_node(top: pyo.ConcreteModel, k: int, node: Node) -> pyo.ConcreteModel:
    """Block ``node_k``: the node's deterministic model on its data, its
    ``base_cost`` and the recourse for its relief (``scenario_terms[0]``)."""
    b = build_model(node.data)
    add_base_cost(b)
    add_recourse(b, node.data, node.sd, [node.relief])
    top.add_component(f"node_{k}", b)
    return b


def add_non_anticipativity(top: pyo.ConcreteModel, nodes: list[Node],
                           blocks: list[pyo.ConcreteModel]) -> None:
    """``same_plan``: for each node k with a parent p and each period t before
    k decides, x, unmet and stock level equal p's (module docstring)."""
    pairs: list[tuple[pyo.Var, pyo.Var]] = []
    for k, node in enumerate(nodes):
        if node.parent is None:
            continue
        b, p = blocks[k], blocks[node.parent]
        before = node.decides_from
        for key in b.x:
            if int(key[-1]) < before:
                pairs.append((b.x[key], p.x[key]))
        for key in b.unmet:
            if int(key[-1]) < before:
                pairs.append((b.unmet[key], p.unmet[key]))
        for key in b.level:
            if int(key[-1]) < before:
                pairs.append((b.level[key], p.level[key]))
        # building supply: funding decided, contracts signed and suppliers qualified
        # before the node re-plans are its parent's
        funded_in = node.data.building.funding["period"].astype(int).tolist()
        for k in b.fund:
            if funded_in[k] < before:
                pairs.append((b.fund[k], p.fund[k]))
        cp = node.data.building.contract_periods
        starts_in = cp.groupby("contract")["period"].min().astype(int).to_dict() \
            if len(cp) else {}
        for c in b.sign:
            if starts_in[c] < before:
                pairs.append((b.sign[c], p.sign[c]))
        for key in b.starts:
            if int(key[-1]) < before:
                pairs.append((b.starts[key], p.starts[key]))
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
