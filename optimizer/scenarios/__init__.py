"""Disruption and cartel scenarios (SPEC section 5), as data and numbers.

A *scenario* multiplies the capacity and/or the ex-works price of groups of
suppliers in some periods; resolved on the model data it is a
:class:`~optimizer.data_scenarios.Case` (:mod:`.cases`). A plan (:mod:`.plans`)
*plays out* in a case (:mod:`.playout`): index-linked contracts deliver what
capacity allows, the shortfall is bought spot or left unmet. Three analyses
are built on it: :func:`stress` (a fixed plan in every case, optionally N-1),
:func:`robust` (the two-stage stochastic program, extensive form, see
:mod:`optimizer.model.scenarios`) with VSS and EVPI, and sampling
(:func:`sample_cases`); :mod:`.risk` gives expected cost and CVaR.

Library code only: it returns DataFrames and dataclasses; the command line
prints them and :mod:`optimizer.report.scenario_files` writes them.
"""

from optimizer.data_scenarios import BASE, Case, ScenarioData, base_case, scenario_data
from optimizer.scenarios.cases import (
    N_MINUS_1_BY,
    base_probability,
    cases_for,
    file_cases,
    n_minus_1_cases,
    resolve,
    sample_cases,
)
from optimizer.scenarios.errors import NoPlanError, ScenarioError
from optimizer.scenarios.extensive import ExtensiveSolve, solve_extensive
from optimizer.scenarios.plans import (
    EPS,
    Plan,
    deterministic_plan,
    plan_from_allocation,
    plan_from_lanes,
    plan_mix,
)
from optimizer.scenarios.playout import SCENARIO_COLUMNS, contract_cost, play_all, play_out
from optimizer.scenarios.risk import cvar, expected, risk_summary
from optimizer.scenarios.robust_analysis import RobustResult, robust
from optimizer.scenarios.stress_analysis import StressResult, stress

__all__ = [
    "BASE",
    "EPS",
    "N_MINUS_1_BY",
    "SCENARIO_COLUMNS",
    "Case",
    "ExtensiveSolve",
    "NoPlanError",
    "Plan",
    "RobustResult",
    "ScenarioData",
    "ScenarioError",
    "StressResult",
    "base_case",
    "base_probability",
    "cases_for",
    "contract_cost",
    "cvar",
    "deterministic_plan",
    "expected",
    "file_cases",
    "n_minus_1_cases",
    "plan_from_allocation",
    "plan_from_lanes",
    "plan_mix",
    "play_all",
    "play_out",
    "resolve",
    "risk_summary",
    "robust",
    "sample_cases",
    "scenario_data",
    "solve_extensive",
    "stress",
]
