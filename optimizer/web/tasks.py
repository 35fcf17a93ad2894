"""What a run's own process does: read ``run.json``, call the library as the
command of the same name does, write the output folder (the command's
``--out`` writers), then ``outcome.json`` (status, headline, message).

Run in a separate process (:mod:`optimizer.web.jobs` starts it, spawned), so
that Cancel can end it at any moment: the output folder is published whole
or not at all (:class:`optimizer.report.files.OutputDir`).
"""

from __future__ import annotations

import json
import math
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optimizer.web.workspace import write_json

Outcome = dict[str, Any]
Progress = Callable[[int, int], None]

#: the kinds of run, with the label shown for each
KINDS = {
    "solve": "Solve",
    "frontier": "Frontier",
    "stress": "Stress test",
    "n-1": "N-1 (each company lost)",
    "robust": "Robust plan",
    "alternatives": "Alternatives",
}


def _options() -> Any:
    from optimizer.solver.options import SolverOptions

    return SolverOptions()  # the command line's defaults


def _money(v: Any) -> str:
    from optimizer.labels import money

    return money(v)


def _no_plan(exc: Exception) -> Outcome:
    result = getattr(exc, "result", None)
    conflicts = list(getattr(result, "conflicts", None) or [])
    return {"status": "no_plan", "message": f"no plan: {exc}", "details": conflicts}


def run_solve(inst: Any, params: dict[str, Any], out: Path, progress: Progress) -> Outcome:
    """``optimizer solve INSTANCE --out DIR``."""
    from optimizer.api import solve
    from optimizer.errors import PlanCheckError
    from optimizer.report.files import write_result

    try:
        result = solve(inst, _options(), analysis=None, check=True)
    except PlanCheckError as err:
        return {"status": "failed", "message": "internal error: the plan breaks "
                f"{len(err.report.violations)} requirement(s); no results were written "
                "(please report this with the instance)",
                "details": [str(m) for m in err.report.violations["message"]]}
    write_result(result, out)
    if result.status == "optimal" or (result.status == "time_limit" and result.has_plan):
        headline = f"total cost: USD {_money(result.objective)} million (discounted)"
        note = "stopped at the time limit: the plan may not be optimal" \
            if result.status == "time_limit" else None
        return {"status": "done", "headline": headline, "objective": result.objective,
                "message": note}
    return {"status": "no_plan", "message": f"no feasible plan (status: {result.status})",
            "details": list(result.conflicts)}


def run_frontier(inst: Any, params: dict[str, Any], out: Path, progress: Progress) -> Outcome:
    """``optimizer frontier INSTANCE --rule NAME [--values ...] --out DIR``."""
    from optimizer.analysis.frontier import FrontierError, frontier
    from optimizer.analysis.sweep_axes import SweepError, sweep_spec
    from optimizer.report.scenario_files import write_frontier

    axis: dict[str, Any] = {"rule": params.get("rule", "")}
    if str(params.get("values") or "").strip():
        axis["values"] = ("values", str(params["values"]))
    try:
        spec = sweep_spec([axis], inst)
        df = frontier(inst, spec, options=_options(), progress=progress)
    except SweepError as exc:
        return {"status": "failed", "message": str(exc)}
    except FrontierError as exc:
        return {"status": "failed", "message": "problems with the sweep",
                "details": [str(p) for p in exc.problems]}
    write_frontier(df, out, instance=inst)
    n_plan = int(df["objective"].notna().sum())
    base = df.attrs.get("baseline_objective")
    headline = f"{n_plan} of {len(df)} points have a plan"
    if base is not None and math.isfinite(base):
        headline += f"; the loosest point costs USD {_money(base)} million"
    return {"status": "done" if n_plan else "no_plan", "headline": headline}


def _stress(inst: Any, params: dict[str, Any], out: Path, n_minus_1: str | None) -> Outcome:
    from optimizer.report.scenario_files import write_stress
    from optimizer.scenarios import NoPlanError, ScenarioError, stress

    try:
        res = stress(inst, None, n_minus_1=n_minus_1, options=_options())
    except ScenarioError as exc:
        return {"status": "failed", "message": str(exc)}
    except NoPlanError as exc:
        return _no_plan(exc)
    write_stress(res, out, instance=inst)
    s = res.summary
    headline = (f"expected cost USD {_money(s['expected_cost'])} million; "
                f"CVaR {s['alpha']:g}: USD {_money(s['cvar'])} million")
    n1 = s.get("n_minus_1") or {}
    if n1.get("worst") is not None:
        headline += f"; the costliest {n1.get('by')} to lose: {n1['worst']}"
    return {"status": "done", "headline": headline}


def run_stress(inst: Any, params: dict[str, Any], out: Path, progress: Progress) -> Outcome:
    """``optimizer stress INSTANCE --out DIR``."""
    return _stress(inst, params, out, None)


def run_n_1(inst: Any, params: dict[str, Any], out: Path, progress: Progress) -> Outcome:
    """``optimizer stress INSTANCE --n-1 company --out DIR``."""
    return _stress(inst, params, out, "company")


def run_robust(inst: Any, params: dict[str, Any], out: Path, progress: Progress) -> Outcome:
    """``optimizer robust INSTANCE --out DIR``."""
    from optimizer.report.scenario_files import write_robust
    from optimizer.scenarios import NoPlanError, ScenarioError, robust

    try:
        res = robust(inst, options=_options())
    except ScenarioError as exc:
        return {"status": "failed", "message": str(exc)}
    except NoPlanError as exc:
        return _no_plan(exc)
    write_robust(res, out, instance=inst)
    s = res.summary
    return {"status": "done",
            "headline": f"robust plan: expected cost USD {_money(s['objective'])} million; "
                        f"value of the stochastic solution USD {_money(s['vss'])} million"}


def run_alternatives(inst: Any, params: dict[str, Any], out: Path,
                     progress: Progress) -> Outcome:
    """``optimizer alternatives INSTANCE --slack S --out DIR``."""
    import pandas as pd

    from optimizer.analysis.alternatives import AlternativesError, alternatives, ranges
    from optimizer.parallel import ParallelError
    from optimizer.report.scenario_files import write_alternatives

    slack = float(params.get("slack", 0.02))
    by, count = "company", 5
    try:
        df = ranges(inst, slack, by, options=_options(), progress=progress)
        plans, summary = alternatives(inst, slack, by, count, options=_options())
    except (AlternativesError, ParallelError) as exc:
        if "no optimal plan" in str(exc):
            return {"status": "no_plan", "message": f"no plan: {exc}"}
        return {"status": "failed", "message": str(exc)}
    write_alternatives(df, plans if plans is not None else pd.DataFrame(), summary, out,
                       inst.name)
    a = df.attrs
    return {"status": "done",
            "headline": f"optimum USD {_money(a['objective'])} million; budget USD "
                        f"{_money(a['budget'])} million (+{100 * slack:g}%); "
                        f"{len(df)} companies, {max(0, len(summary) - 1)} alternative plans"}


RUNNERS: dict[str, Callable[[Any, dict[str, Any], Path, Progress], Outcome]] = {
    "solve": run_solve, "frontier": run_frontier, "stress": run_stress, "n-1": run_n_1,
    "robust": run_robust, "alternatives": run_alternatives,
}


def execute(run_dir: str, root: str) -> None:
    """The body of a run's process."""
    folder = Path(run_dir)
    outcome: Outcome
    try:
        spec = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        outcome = perform(spec, Path(root), folder)
    except Exception as exc:  # a bug: said in one line; the traceback kept beside the run
        (folder / "traceback.txt").write_text(traceback.format_exc(), encoding="utf-8")
        outcome = {"status": "failed",
                   "message": f"internal error ({type(exc).__name__}: {exc}). This is a bug; "
                              "please report it with the instance."}
    write_json(folder / "outcome.json", outcome)


def perform(spec: dict[str, Any], root: Path, folder: Path) -> Outcome:
    from optimizer.errors import InputError
    from optimizer.input import load_instance

    last = [0.0]

    def progress(done: int, total: int) -> None:
        t = time.monotonic()
        if done >= total or t - last[0] > 0.25:
            last[0] = t
            write_json(folder / "progress.json", {"done": int(done), "total": int(total)})

    path = (root / spec["instance_file"]).resolve()
    if not path.is_relative_to(root.resolve()):
        return {"status": "failed", "message": "the instance is not in the workspace"}
    try:
        inst = load_instance(path)
    except InputError as err:
        return {"status": "failed", "message": f"{len(err.problems)} problems in the input",
                "details": [str(p) for p in err.problems[:100]]}
    return RUNNERS[spec["kind"]](inst, dict(spec.get("params") or {}), folder / "out", progress)
