"""The two-stage robust program solved in extensive form (SPEC section 5):
build it (:func:`optimizer.model.scenarios.build_robust_model`), solve it
through the solver layer, read the first stage. What the progressive-hedging
engine (:mod:`optimizer.scenarios.hedging`) returns has the same shape."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from optimizer.data import ModelData
from optimizer.data_scenarios import Case, ScenarioData
from optimizer.model.scenarios import build_robust_model
from optimizer.results_building import contracts_table, expansions_table, stock_table
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session


@dataclass
class ExtensiveSolve:
    """One solve of the extensive form."""

    status: str
    objective: float | None
    x: np.ndarray | None
    size: dict[str, int]
    seconds: float
    mip: bool
    #: first-stage funding and contracts (as expansions.csv, contracts.csv)
    funding: pd.DataFrame | None = None
    contracts: pd.DataFrame | None = None
    #: first-stage buffer stock (as stock.csv)
    stock: pd.DataFrame | None = None


def solve_extensive(data: ModelData, sd: ScenarioData, cases: list[Case], weight: float = 0.0,
                    alpha: float = 0.95, options: SolverOptions | None = None) -> ExtensiveSolve:
    """Build the extensive form (:func:`optimizer.model.scenarios.build_robust_model`),
    hand it to HiGHS, and return the first-stage contracts ``x`` per lane."""
    m = build_robust_model(data, sd, cases, weight, alpha)
    session = Session(m, data, options)
    status = session.solve()
    x = session.lane_values() if status.has_solution else None
    funding = contracts = stock = None
    if x is not None and data.building.links_periods:
        funding = expansions_table(data, session)
        contracts = contracts_table(data, session, x)
    if x is not None and not data.stock.empty:
        stock = stock_table(data, session)
    return ExtensiveSolve(status.status, status.objective if status.has_solution else None, x,
                          session.size, status.solve_seconds, session.is_mip, funding,
                          contracts, stock)
