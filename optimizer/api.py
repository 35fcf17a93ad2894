"""The Python entry points: load, prepare, build, solve, as separate steps.

    inst = optimizer.load_instance("instances/north-america/instance.yaml")
    data = optimizer.prepare(inst)          # tables, no Pyomo
    m = optimizer.build_model(data)         # a Pyomo ConcreteModel to inspect or change
    result = optimizer.solve_model(m, data) # HiGHS, then tidy DataFrames

or all at once: ``optimizer.solve(path_or_instance)``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyomo.core as pyo
from pyomo.common.gc_manager import PauseGC

from optimizer.analysis.budget import Budget, budget_warning, mip_budget
from optimizer.analysis.building import building_worth
from optimizer.analysis.concentration import concentration
from optimizer.analysis.repair import explain_infeasible, trivial_repairs
from optimizer.analysis.rule_costs import rule_costs
from optimizer.data import ModelData, prepare
from optimizer.errors import PlanCheckError
from optimizer.input import default_instance_path, load_instance
from optimizer.input.instance import Instance
from optimizer.model import build_model
from optimizer.results import Result, result_from
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: rule costs and the concentration report are computed by default up to this size
ANALYSIS_AUTO_LIMIT = 20_000


def _empty_result(data: ModelData, status: str, **kw: Any) -> Result:
    import pandas as pd

    return Result(
        instance=data.name, status=status, objective=None, allocation=pd.DataFrame(),
        unmet=pd.DataFrame(), shares=pd.DataFrame(), rules=pd.DataFrame(),
        cost_breakdown={}, **kw,
    )


def _both(first: Callable[[], object],
          second: Callable[[], object] | None) -> Callable[[], None]:
    def run() -> None:
        first()
        if second is not None:
            second()
    return run


def solve_model(
    m: pyo.ConcreteModel,
    data: ModelData,
    options: SolverOptions | None = None,
    diagnose_infeasible: bool = True,
    timings: dict[str, float] | None = None,
    analysis: bool | None = None,
    meanwhile: Callable[[], object] | None = None,
) -> Result:
    """Solve a built model with HiGHS and collect the results.

    ``analysis``: also compute each rule's total cost (re-solves) and the
    concentration report (one more solve without rules). ``None`` does so for
    models up to ``ANALYSIS_AUTO_LIMIT`` variables, and for a model with
    binaries spends at most ``analysis.MIP_ANALYSIS_SECONDS`` (or the solve's
    own time, if longer) on its re-solves: costs it leaves blank are named in
    ``result.warnings``. ``True`` computes them all. ``meanwhile``: work that
    needs no solution, run while HiGHS solves (see ``HighsModel.run``).

    The solution is also written into the Pyomo variables, so ``m.x[...]``
    holds the plan afterwards. ``result.session`` keeps the model loaded in
    HiGHS for warm re-solves (:class:`optimizer.solver.session.Session`).
    """
    # building and reading back large models makes millions of small objects;
    # Python's cyclic garbage collector would traverse them again and again
    # (half the build time at 100,000 variables), so it pauses meanwhile
    with PauseGC():
        return _solve_model(m, data, options, diagnose_infeasible, timings, analysis,
                            meanwhile)


def _solve_model(
    m: pyo.ConcreteModel,
    data: ModelData,
    options: SolverOptions | None,
    diagnose_infeasible: bool,
    timings: dict[str, float] | None,
    analysis: bool | None,
    meanwhile: Callable[[], object] | None,
) -> Result:
    timings = dict(timings or {})
    options = options or SolverOptions()
    solver_info: dict[str, Any] = {"name": "highs", "interface": "bulk matrix -> highspy"}
    t0 = time.perf_counter()
    session = Session(m, data, options)
    hm = session.hm
    timings["compile"] = hm.compile_seconds
    timings["handoff"] = hm.handoff_seconds
    if session.trivial():
        repairs = trivial_repairs(session.trivial(), session.limits())
        return _empty_result(data, "infeasible", solver=solver_info, model_size=hm.size,
                             timings=timings, repairs=repairs, session=session)
    # the lookups for reading the results back are built while HiGHS solves
    status = session.solve(meanwhile=_both(hm.prefetch, meanwhile))
    if session.index.hhi_scopes:
        solver_info["hhi_rounds"] = session.hhi_rounds
    timings["solve"] = status.solve_seconds
    solver_info.update({"status": status.highs_status, "mip": hm.is_mip})
    if hm.is_mip:
        solver_info.update({"best_bound": status.best_bound, "mip_gap": status.mip_gap})
    if not status.has_solution:
        t1 = time.perf_counter()
        why: dict[str, Any] = {}
        if status.status == "infeasible" and diagnose_infeasible:
            why = explain_infeasible(data, session)
        timings["diagnose"] = time.perf_counter() - t1
        return _empty_result(data, status.status, solver=solver_info, model_size=hm.size,
                             timings=timings, repairs=why.get("repairs", []),
                             conflicts=why.get("conflicts", []), iis=why.get("iis", []),
                             session=session)
    t1 = time.perf_counter()
    res = result_from(data, session, status, solver_info, timings)
    timings["results"] = time.perf_counter() - t1
    timings["total_solve_step"] = time.perf_counter() - t0
    automatic = analysis is None
    if automatic:
        analysis = hm.size["variables"] <= ANALYSIS_AUTO_LIMIT
    if analysis and res.status == "optimal":
        t2 = time.perf_counter()
        # an automatic analysis of a MIP (one MIP per re-solve) is time-boxed
        budget = mip_budget(status.solve_seconds) if automatic and hm.is_mip else Budget()
        # what each contract and expansion is worth (a few whole solves), before the
        # rule costs that may use up a MIP's time box
        if data.instance.contracts or data.instance.expansions:
            res.option_worth = building_worth(data.instance, options)
        # the plan without rules first: one solve gives the price of all rules
        res.concentration, res.price_of_rules = concentration(res, data, options, budget)
        res.rule_summary = rule_costs(res, data, session, options, budget)
        blank = budget_warning(budget, len(res.rules), len(data.instance.rules))
        if blank:
            res.warnings.append(blank)
        timings["analysis"] = time.perf_counter() - t2
        res.timings = timings
    return res


def solve(
    instance: str | Path | Instance | None = None,
    options: SolverOptions | None = None,
    analysis: bool | None = None,
    meanwhile: Callable[[], object] | None = None,
    check: bool = True,
) -> Result:
    """Load (if given a path), prepare, build and solve an instance.

    ``None`` solves the bundled default instance. ``meanwhile``: see
    :func:`solve_model`. ``check``: the plan is checked by the independent
    checker (:func:`optimizer.check.check_plan`: demand, capacity, every rule
    and the cost, recomputed from the instance alone), its report kept as
    ``result.check``; a plan that fails it raises
    :class:`~optimizer.errors.PlanCheckError` (a bug, never a plan to use).
    """
    with PauseGC():  # see solve_model
        return _solve(instance, options, analysis, meanwhile, check)


def _solve(instance: str | Path | Instance | None, options: SolverOptions | None,
           analysis: bool | None, meanwhile: Callable[[], object] | None,
           check: bool) -> Result:
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    if instance is None:
        instance = default_instance_path()
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    timings["load"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    data = prepare(inst)
    timings["prepare"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    m = build_model(data)
    timings["build"] = time.perf_counter() - t2
    result = solve_model(m, data, options, timings=timings, analysis=analysis,
                         meanwhile=meanwhile)
    result.warnings = [str(w) for w in inst.warnings] + result.warnings
    if check and result.has_plan:
        from optimizer.check import check_plan

        t3 = time.perf_counter()
        result.check = check_plan(inst, result.allocation, objective=result.objective,
                                  funding=result.expansions, contracts=result.contracts,
                                  stock=result.stock)
        result.timings["check"] = time.perf_counter() - t3
        if not result.check.valid:
            raise PlanCheckError(result.check, result)
    return result
