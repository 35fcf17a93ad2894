"""HiGHS itself: a fresh solver, what its statuses mean, running it beside other
work, and small LPs given as arrays. The only module besides
:mod:`optimizer.solver.highs` and :mod:`optimizer.solver.elastic` that
imports highspy."""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import highspy
import numpy as np

from optimizer.solver.options import SolverOptions

INF = highspy.kHighsInf


@dataclass
class SolveStatus:
    """What HiGHS said: ``status`` is one of ``optimal``, ``infeasible``,
    ``unbounded``, ``time_limit`` (with or without a plan), ``error``."""

    status: str
    has_solution: bool
    objective: float | None
    solve_seconds: float
    best_bound: float | None = None
    mip_gap: float | None = None
    highs_status: str = ""
    #: a sentence when the plan HiGHS returned breaks its own rows or bounds by more
    #: than the tolerance (numerical trouble), else None
    numerical_trouble: str | None = None


@contextlib.contextmanager
def quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout (HiGHS prints a banner when it is created)."""
    fd = 1  # the process's stdout, whatever sys.stdout is (pytest, Jupyter)
    try:
        sys.stdout.flush()
        os.fstat(fd)
    except (AttributeError, OSError, ValueError):
        yield
        return
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def new_highs(options: SolverOptions | None = None) -> highspy.Highs:
    with quiet_stdout():
        h = highspy.Highs()
    opts = options or SolverOptions()
    h.setOptionValue("output_flag", bool(opts.log))
    if opts.time_limit is not None:
        h.setOptionValue("time_limit", float(opts.time_limit))
    h.setOptionValue("mip_rel_gap", float(opts.mip_gap))
    if opts.threads is not None:
        # HiGHS keeps one thread pool per process: resize it for this run
        h.resetGlobalScheduler(True)
        h.setOptionValue("threads", int(opts.threads))
    h.setOptionValue("random_seed", 0)
    return h


def violation(values: np.ndarray, lower, upper) -> float:
    """The largest amount by which ``values`` leave [lower, upper], each relative to
    the size of the bound it breaks (at least 1)."""
    lo = np.asarray(lower, dtype=float)
    hi = np.asarray(upper, dtype=float)
    if not len(values):
        return 0.0
    with np.errstate(invalid="ignore"):  # infinite bounds give NaN: never broken
        below = (lo - values) / np.maximum(1.0, np.abs(lo))
        above = (values - hi) / np.maximum(1.0, np.abs(hi))
        worst = np.nanmax(np.concatenate([below, above, [0.0]]))
    return float(worst)


def user_scale(lp) -> tuple[int, int]:
    """Powers of two by which HiGHS should scale bounds and costs so that typical
    volumes and unit costs are about 1: HiGHS's tolerances are absolute (1e-7,
    and 1e-6 GWh/USD million of MIP gap), too coarse for an instance whose
    demands are a thousandth of a GWh. Only small numbers are scaled up; large
    ones are left alone (their absolute tolerance is already relatively tiny).
    HiGHS hands solutions back in the model's own units."""
    def exponent(values: np.ndarray, limit: float) -> int:
        v = np.abs(values[np.isfinite(values)])
        v = v[(v > 0) & (v < INF)]
        if not len(v):
            return 0
        k = int(np.floor(-np.log2(float(np.median(v)))))
        # never push the largest value near HiGHS's "infinite" (1e20)
        room = int(np.floor(np.log2(limit / float(v.max()))))
        return max(0, min(k, room, 30))

    continuous = ~np.asarray(lp.integer, dtype=bool)
    bounds = np.concatenate([lp.row_lower, lp.row_upper, lp.col_lower[continuous],
                             lp.col_upper[continuous]])
    return exponent(bounds, 1e12), exponent(np.asarray(lp.cost, dtype=float), 1e12)


def solve_matrices(cost: np.ndarray, col_lower: np.ndarray, col_upper: np.ndarray,
                   matrix, row_lower: np.ndarray, row_upper: np.ndarray,
                   what: str) -> np.ndarray:
    """Solve a small LP given as arrays (``matrix`` a SciPy CSR matrix) on a
    fresh HiGHS and return its optimal column values. Used for LPs that are
    not Pyomo models: the spot purchases of a scenario play-out. ``what``
    names the LP in the error raised if it does not solve to optimality."""
    a = matrix.tocsr()
    a.sort_indices()
    n_col, n_row = a.shape[1], a.shape[0]
    h = new_highs()
    h.passModel(
        n_col, n_row, int(a.nnz), int(highspy.MatrixFormat.kRowwise),
        int(highspy.ObjSense.kMinimize), 0.0,
        np.asarray(cost, dtype=float), np.asarray(col_lower, dtype=float),
        np.asarray(col_upper, dtype=float), np.asarray(row_lower, dtype=float),
        np.asarray(row_upper, dtype=float), a.indptr.astype(np.int32),
        a.indices.astype(np.int32), a.data.astype(float), np.zeros(n_col, dtype=np.int32),
    )
    h.run()
    if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
        raise RuntimeError(f"{what} did not solve: {h.modelStatusToString(h.getModelStatus())}")
    return np.asarray(h.getSolution().col_value, dtype=float)


def run_beside(work: Callable[[], object], meanwhile: Callable[[], object]) -> None:
    """``work()`` (HiGHS solving) on a worker thread while ``meanwhile()`` runs
    here. (highspy's ``startSolve``/``joinSolve`` do the same but swallow a
    Ctrl-C while waiting and then return before the solver has stopped; here
    a Ctrl-C reaches the caller, who exits.)"""
    failure: list[BaseException] = []

    def solve() -> None:
        try:
            work()
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)
        finally:
            # as highspy does after a solve on its own threads (a deadlock on Windows)
            highspy.Highs.resetThreadScheduler(False)

    worker = threading.Thread(target=solve, name="highs-run", daemon=True)
    worker.start()
    try:
        meanwhile()
    finally:
        worker.join()
    if failure:
        raise failure[0]


def status_of(h: highspy.Highs, is_mip: bool, seconds: float) -> SolveStatus:
    """What one HiGHS run ended with, in this package's words."""
    model_status = h.getModelStatus()
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    ms = highspy.HighsModelStatus
    if model_status == ms.kOptimal:
        status = "optimal"
    elif model_status == ms.kInfeasible:
        status = "infeasible"
    elif model_status == ms.kUnboundedOrInfeasible:
        status = infeasible_or_unbounded(h)
    elif model_status == ms.kUnbounded:
        status = "unbounded"
    elif model_status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit,
                          ms.kSolutionLimit):
        status = "time_limit"
    else:
        status = "error"
    objective = info.objective_function_value if has_solution else None
    best_bound = gap = None
    if is_mip:
        best_bound = float(info.mip_dual_bound)
        gap = float(info.mip_gap) if has_solution else None
    return SolveStatus(
        status=status,
        has_solution=has_solution and status in ("optimal", "time_limit"),
        objective=objective,
        solve_seconds=seconds,
        best_bound=best_bound,
        mip_gap=gap,
        highs_status=h.modelStatusToString(model_status),
    )


def infeasible_or_unbounded(h: highspy.Highs) -> str:
    """Tell the two apart by solving once more without presolve."""
    h.setOptionValue("presolve", "off")
    h.run()
    h.setOptionValue("presolve", "choose")
    if h.getModelStatus() == highspy.HighsModelStatus.kUnbounded:
        return "unbounded"
    return "infeasible"


def timed_run(h: highspy.Highs, seconds: float | None, user: float | None) -> float:
    """``h.run()`` within ``seconds`` (None: ``user``'s limit), the user's limit
    set again afterwards; the seconds it took."""
    if seconds is not None:
        h.setOptionValue("time_limit", max(0.0, float(seconds)))
    t0 = time.perf_counter()
    try:
        h.run()
    finally:
        if seconds is not None:
            h.setOptionValue("time_limit", float(user if user is not None else INF))
    return time.perf_counter() - t0


def trouble(lp, x: np.ndarray, scale_exponents: tuple[int, int], is_mip: bool,
            tol: float = 1e-6) -> str | None:
    """Does the current solution break a row, a bound or an integrality of the
    compiled model by more than ``tol`` (relative to the size of the bound, at
    least 1)? HiGHS works within absolute tolerances of 1e-7 (1e-6 for a MIP)
    on its scaled model; anything beyond ``tol`` here is numerical trouble
    worth telling the user. ``lp`` is the compiled model, ``x`` the column
    values (rows added later, such as HHI cuts, are the solver's own business);
    ``scale_exponents`` HiGHS's user scaling, powers of two."""
    if len(x) < len(lp.columns):
        return None
    x = x[: len(lp.columns)]
    if not np.all(np.isfinite(x)):
        return "HiGHS returned a plan with values that are not finite numbers"
    # measured in the units HiGHS works in (bounds scaled by 2^user_bound_scale)
    scale = 2.0 ** scale_exponents[0]
    continuous = ~lp.integer
    worst: list[tuple[float, str]] = [(0.0, "")]
    worst.append((violation(scale * x[continuous], scale * lp.col_lower[continuous],
                            scale * lp.col_upper[continuous]), "a variable's bounds"))
    if len(lp.rows):
        products = lp.value * x[lp.index] if lp.nnz else np.zeros(0)
        sums = np.concatenate([[0.0], np.cumsum(products)])
        activity = sums[lp.start[1:]] - sums[lp.start[:-1]]
        worst.append((violation(scale * activity, scale * lp.row_lower,
                                scale * lp.row_upper), "a constraint"))
    if is_mip:
        frac = np.abs(x - np.round(x))[~continuous]
        # HiGHS accepts 1e-6 off an integer (mip_feasibility_tolerance)
        worst.append((float(frac.max()) / 10 if len(frac) else 0.0,
                      "an integer variable's integrality"))
    size, what = max(worst)
    if size <= tol:
        return None
    return (f"HiGHS returned a plan that breaks {what} by {size:.2g} (relative), more "
            f"than the tolerance {tol:g}: the model has numbers too large or too small "
            "for the solver to be exact; check the plan")
