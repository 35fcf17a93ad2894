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

from typing import TYPE_CHECKING

# The names below are imported on first use (PEP 562), so that the command
# line starts without importing what a command does not need.
_WHERE = {
    "default_instance_path": "optimizer.api",
    "solve": "optimizer.api",
    "solve_model": "optimizer.api",
    "ModelData": "optimizer.data",
    "prepare": "optimizer.data",
    "InputError": "optimizer.errors",
    "Problem": "optimizer.errors",
    "Instance": "optimizer.input.instance",
    "load_instance": "optimizer.input",
    "build_model": "optimizer.model",
    "Result": "optimizer.results",
    "robust": "optimizer.scenarios",
    "stress": "optimizer.scenarios",
    "SolverOptions": "optimizer.solver.options",
    "frontier": "optimizer.analysis.frontier",
    "building_worth": "optimizer.analysis.building",
    "ranges": "optimizer.analysis.alternatives",
    "alternatives": "optimizer.analysis.alternatives",
}

if TYPE_CHECKING:
    from optimizer.analysis.alternatives import alternatives, ranges
    from optimizer.analysis.building import building_worth
    from optimizer.analysis.frontier import frontier
    from optimizer.api import default_instance_path, solve, solve_model
    from optimizer.data import ModelData, prepare
    from optimizer.errors import InputError, Problem
    from optimizer.input import load_instance
    from optimizer.input.instance import Instance
    from optimizer.model import build_model
    from optimizer.results import Result
    from optimizer.scenarios import robust, stress
    from optimizer.solver.options import SolverOptions


def __getattr__(name: str):
    if name in _WHERE:
        import importlib

        value = getattr(importlib.import_module(_WHERE[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'optimizer' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


__version__ = "0.1.0"

__all__ = [
    "InputError",
    "Instance",
    "ModelData",
    "Problem",
    "Result",
    "SolverOptions",
    "alternatives",
    "build_model",
    "building_worth",
    "default_instance_path",
    "frontier",
    "load_instance",
    "prepare",
    "ranges",
    "robust",
    "solve",
    "solve_model",
    "stress",
]
