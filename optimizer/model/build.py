"""Build the Pyomo model of an instance: the model's table of contents."""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.model.averages import add_average_rules
from optimizer.model.building import add_contracts, add_funding, add_qualification
from optimizer.model.capacity import add_capacity
from optimizer.model.concentration import (
    add_hhi_cuts,
    add_top_share_rules,
    add_top_share_variables,
)
from optimizer.model.costs import add_objective
from optimizer.model.counts import add_count_rules, add_counted
from optimizer.model.demand import add_demand_balance, add_unmet
from optimizer.model.index import ModelIndex
from optimizer.model.purchases import add_purchases
from optimizer.model.shares import (
    add_covered_volumes,
    add_rule_limits,
    add_share_rules,
    add_volume_rules,
)
from optimizer.model.soft import add_rule_misses
from optimizer.model.stock import add_stock_levels
from optimizer.model.switching import add_delivers, add_delivery_switches
from optimizer.model.tiers import add_tier_balance, add_tier_volumes


def build_model(data: ModelData) -> pyo.ConcreteModel:
    """The sourcing model: sets and variables, constraints, objective.

    ``m.model_index`` (:class:`~optimizer.model.index.ModelIndex`) names the rows a
    buyer can speak of: each rule scope's row, each capacity and demand, and
    the requirements no variable can meet (a hard demand no lane can serve, a
    volume floor on a group without any lane), which get no row.
    ``m.objective_terms`` collects the cost terms of optional modules.
    Binaries appear only for fixed costs, minimum orders, count rules,
    falling price tiers, integer expansion steps, qualification costs and
    contracts the model may sign, so a plain instance stays a linear program. HHI caps
    start without rows: their cuts are added while solving.
    """
    m = pyo.ConcreteModel(name=data.name)
    m.model_index = ModelIndex()
    m.objective_terms = []
    # sets, parameters and variables
    add_purchases(m, data)
    add_unmet(m, data)
    add_rule_limits(m, data)
    add_covered_volumes(m, data)
    add_delivers(m, data)
    add_tier_volumes(m, data)
    add_counted(m, data)
    add_top_share_variables(m, data)
    add_rule_misses(m, data)
    add_funding(m, data)  # co-funded capacity (SPEC section 8)
    add_stock_levels(m, data)  # buffer stock (SPEC section 10)
    # constraints
    add_demand_balance(m, data)
    add_delivery_switches(m, data)  # capacity of suppliers with an on/off decision
    add_capacity(m, data)  # capacity of the others
    add_tier_balance(m, data)
    add_qualification(m, data)  # charged once, in the first period a supplier delivers
    add_contracts(m, data)  # offtake agreements
    add_share_rules(m, data)
    add_volume_rules(m, data)
    add_average_rules(m, data)
    add_count_rules(m, data)
    add_top_share_rules(m, data)
    add_hhi_cuts(m, data)  # filled while solving: see optimizer/solver/session.py
    # objective
    add_objective(m, data)
    return m
