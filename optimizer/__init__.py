"""Diversified battery sourcing: the cheapest plan that no company or country can corner.

Typical use::

    import optimizer
    result = optimizer.solve("instances/north-america/instance.yaml")
    result.allocation      # GWh per supplier, application, period
    result.rules           # each rule scope: value, limit, slack, binding, marginal cost

Step by step (inspect or change the Pyomo model between steps)::

    inst = optimizer.load_instance(path)
    data = optimizer.prepare(inst)
    m = optimizer.build_model(data)
    result = optimizer.solve_model(m, data)
"""

from optimizer.api import default_instance_path, solve, solve_model
from optimizer.data import ModelData, prepare
from optimizer.errors import InputError, Problem
from optimizer.frontier import frontier
from optimizer.instance import Instance
from optimizer.io import load_instance
from optimizer.model import build_model
from optimizer.results import Result
from optimizer.scenarios import robust, stress
from optimizer.solver import SolverOptions

__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Instance",
    "ModelData",
    "Problem",
    "Result",
    "SolverOptions",
    "build_model",
    "default_instance_path",
    "frontier",
    "load_instance",
    "prepare",
    "robust",
    "solve",
    "solve_model",
    "stress",
]
