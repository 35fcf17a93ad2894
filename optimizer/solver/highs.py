"""Hand a built Pyomo model to HiGHS and read the answer back, in memory.

The model is compiled once into sparse matrices (:mod:`optimizer.solver.compile`) and
passed to ``highspy`` in one call (no LP files, no per-constraint
translation). The :class:`HighsModel` keeps the HiGHS instance,
so that callers can change a row's bounds or a coefficient and re-solve warm
(rule costs, frontier sweeps, infeasibility diagnosis all do).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import highspy
import numpy as np
import pyomo.core as pyo

from optimizer.solver.compile import (
    ColumnIndex,
    compile_model,
    compile_with_pyomo,
    row_of_constraint,
)
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
def _quiet_stdout() -> Iterator[None]:
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
    with _quiet_stdout():
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


def _violation(values: np.ndarray, lower, upper) -> float:
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


def _user_scale(lp) -> tuple[int, int]:
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


def _run_beside(h: highspy.Highs, meanwhile: Callable[[], object]) -> float:
    """``h.run()`` on a worker thread while ``meanwhile()`` runs here; the
    solver's own seconds. (highspy's ``startSolve``/``joinSolve`` do the same
    but swallow a Ctrl-C while waiting and then return before the solver has
    stopped; here a Ctrl-C reaches the caller, who exits.)"""
    clock: dict[str, float] = {}
    failure: list[BaseException] = []

    def solve() -> None:
        t0 = time.perf_counter()
        try:
            h.run()
        except BaseException as exc:  # handed to the caller below
            failure.append(exc)
        finally:
            clock["seconds"] = time.perf_counter() - t0
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
    return clock["seconds"]


class HighsModel:
    """A Pyomo model compiled to matrix form and loaded into HiGHS.

    ``columns`` are the Pyomo variables in column order, ``rows`` the Pyomo
    constraints in row order (one row per constraint; ranged constraints are
    not used by this project's model). ``row_of`` and ``col_of`` map Pyomo
    components (by ``id``) to positions.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolverOptions | None = None,
                 compiler: str = "bulk"):
        self.model = model
        self.options = options or SolverOptions()
        t0 = time.perf_counter()
        if compiler == "pyomo":
            lp = compile_with_pyomo(model)
        elif compiler == "bulk":
            lp = compile_model(model)
        else:
            raise ValueError(f"unknown compiler '{compiler}': use 'bulk' or 'pyomo'")
        self.compile_seconds = time.perf_counter() - t0
        self.lp = lp
        self.columns = lp.columns
        self.rows = lp.rows
        self.sense = lp.sense
        self.cost = lp.cost
        self.offset = lp.offset
        self.is_mip = bool(lp.integer.any())
        t1 = time.perf_counter()
        self.highs = new_highs(self.options)
        n_col, n_row = len(self.columns), len(self.rows)
        status = self.highs.passModel(
            n_col, n_row, lp.nnz, int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMinimize), lp.offset,
            lp.cost, lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper,
            lp.start, lp.index, lp.value, lp.integer.astype(np.int32),
        )
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model")
        self.user_scale = _user_scale(lp)
        self.highs.setOptionValue("user_bound_scale", self.user_scale[0])
        self.highs.setOptionValue("user_objective_scale", self.user_scale[1])
        self.handoff_seconds = time.perf_counter() - t1
        self.row_lower0 = lp.row_lower.copy()
        self.row_upper0 = lp.row_upper.copy()
        self.last: SolveStatus | None = None

    @cached_property
    def col_of(self) -> dict[int, int]:
        """Column of each Pyomo variable, by ``id``."""
        return {id(v): j for j, v in enumerate(self.columns)}

    @cached_property
    def row_of(self) -> dict[int, int]:
        """Row of each Pyomo constraint, by ``id``."""
        return {id(con): i for i, con in enumerate(self.rows)}

    @cached_property
    def column_index(self) -> ColumnIndex:
        """Finds the columns of many variables at once."""
        return self.lp.column_index or ColumnIndex(self.columns)

    def prefetch(self) -> None:
        """Work out the lookups the results need (no solution needed)."""
        _ = self.col_of, self.row_of, self.column_index

    # ----------------------------------------------------------------- solving
    def run(self, meanwhile: Callable[[], object] | None = None) -> SolveStatus:
        """Solve. ``meanwhile`` (work that needs no solution, such as
        :meth:`prefetch`) runs on this thread while HiGHS solves on another:
        HiGHS releases the GIL, so on a machine with a second core the two
        overlap. HiGHS's object must not be touched meanwhile."""
        h = self.highs
        if meanwhile is None:
            t0 = time.perf_counter()
            h.run()
            seconds = time.perf_counter() - t0
        else:
            seconds = _run_beside(h, meanwhile)
        model_status = h.getModelStatus()
        info = h.getInfo()
        has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
        ms = highspy.HighsModelStatus
        if model_status == ms.kOptimal:
            status = "optimal"
        elif model_status == ms.kInfeasible:
            status = "infeasible"
        elif model_status == ms.kUnboundedOrInfeasible:
            status = self._infeasible_or_unbounded()
        elif model_status == ms.kUnbounded:
            status = "unbounded"
        elif model_status in (ms.kTimeLimit, ms.kInterrupt, ms.kIterationLimit,
                              ms.kSolutionLimit):
            status = "time_limit"
        else:
            status = "error"
        objective = info.objective_function_value if has_solution else None
        best_bound = gap = None
        if self.is_mip:
            best_bound = float(info.mip_dual_bound)
            gap = float(info.mip_gap) if has_solution else None
        self.last = SolveStatus(
            status=status,
            has_solution=has_solution and status in ("optimal", "time_limit"),
            objective=objective,
            solve_seconds=seconds,
            best_bound=best_bound,
            mip_gap=gap,
            highs_status=h.modelStatusToString(model_status),
        )
        return self.last

    def trouble(self, tol: float = 1e-6) -> str | None:
        """Does the current solution break a row, a bound or an integrality of the
        compiled model by more than ``tol`` (relative to the size of the bound, at
        least 1)? HiGHS works within absolute tolerances of 1e-7 (1e-6 for a MIP)
        on its scaled model; anything beyond ``tol`` here is numerical trouble
        worth telling the user. Computed from the matrices this object compiled
        (rows added later, such as HHI cuts, are the solver's own business)."""
        lp = self.lp
        x = self.col_values()
        if len(x) < len(lp.columns):
            return None
        x = x[: len(lp.columns)]
        if not np.all(np.isfinite(x)):
            return "HiGHS returned a plan with values that are not finite numbers"
        # measured in the units HiGHS works in (bounds scaled by 2^user_bound_scale)
        scale = 2.0 ** self.user_scale[0]
        continuous = ~lp.integer
        worst: list[tuple[float, str]] = [(0.0, "")]
        worst.append((_violation(scale * x[continuous], scale * lp.col_lower[continuous],
                                 scale * lp.col_upper[continuous]), "a variable's bounds"))
        if len(lp.rows):
            products = lp.value * x[lp.index] if lp.nnz else np.zeros(0)
            sums = np.concatenate([[0.0], np.cumsum(products)])
            activity = sums[lp.start[1:]] - sums[lp.start[:-1]]
            worst.append((_violation(scale * activity, scale * lp.row_lower,
                                     scale * lp.row_upper), "a constraint"))
        if self.is_mip:
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

    def _infeasible_or_unbounded(self) -> str:
        h = self.highs
        h.setOptionValue("presolve", "off")
        h.run()
        h.setOptionValue("presolve", "choose")
        if h.getModelStatus() == highspy.HighsModelStatus.kUnbounded:
            return "unbounded"
        return "infeasible"

    # ----------------------------------------------------------------- results
    def col_values(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().col_value, dtype=float)

    def row_duals(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().row_dual, dtype=float)

    def row_values(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().row_value, dtype=float)

    def values_of(self, variables: list) -> np.ndarray:
        """Values of Pyomo variables (fixed ones, absent from the matrix, too)."""
        x = self.col_values()
        cols = self.column_index.find(
            np.fromiter(map(id, variables), dtype=np.uint64, count=len(variables)))
        cols[cols >= len(x)] = -1
        out = x[np.maximum(cols, 0)] if len(x) else np.zeros(len(variables))
        for k in np.flatnonzero(cols < 0).tolist():
            out[k] = variables[k].value or 0.0
        return out

    def load_into_pyomo(self) -> None:
        """Write the solution into the Pyomo variables (``m.x[...].value``)."""
        for v, val in zip(self.columns, self.col_values(), strict=True):
            v.set_value(float(val), skip_validation=True)

    def put_back(self, x: np.ndarray) -> None:
        """Make ``x`` HiGHS's current solution again (values only, no basis),
        e.g. the plan after re-solves of changed models: cheaper than solving a
        MIP once more."""
        solution = highspy.HighsSolution()
        solution.col_value = np.asarray(x, dtype=float).tolist()
        solution.value_valid = True
        self.highs.setSolution(solution)

    def run_within(self, seconds: float | None) -> SolveStatus:
        """:meth:`run` with this time limit instead of the user's (``None``:
        the user's); the user's applies again afterwards."""
        if seconds is None:
            return self.run()
        h = self.highs
        h.setOptionValue("time_limit", max(0.0, float(seconds)))
        try:
            return self.run()
        finally:
            user = self.options.time_limit
            h.setOptionValue("time_limit", float(user if user is not None else INF))

    def polish(self, variables: list) -> SolveStatus:
        """Fix ``variables`` at their values in the current plan and re-solve the
        rest (a small MIP). Used on a plan found before the time limit: what it
        buys stays as it is, but unused fixed costs and tier fills are settled
        at their cheapest, so the reported cost is the plan's own. The model
        keeps those variables fixed afterwards. The gap and bound stay those of
        the interrupted search."""
        before = self.last
        assert before is not None
        x = self.col_values()
        cols = np.array([self.col_of[id(v)] for v in variables if id(v) in self.col_of],
                        dtype=np.int32)
        if len(cols) == 0:
            return before
        h = self.highs
        h.changeColsBounds(len(cols), cols, x[cols], x[cols])
        after = self.run_within(max(60.0, float(self.options.time_limit or 0)))
        if not after.has_solution or after.objective is None:
            return before
        self.last = SolveStatus(
            status=before.status, has_solution=True, objective=after.objective,
            solve_seconds=before.solve_seconds, best_bound=before.best_bound,
            mip_gap=(after.objective - before.best_bound) / max(abs(after.objective), 1e-9)
            if before.best_bound is not None else None,
            highs_status=before.highs_status,
            numerical_trouble=after.numerical_trouble,
        )
        return self.last

    def add_constraints(self, constraints: list) -> np.ndarray:
        """Append Pyomo constraints (already in the model) to the HiGHS model as
        rows, keeping the row maps in step; returns their row positions."""
        new = []
        for con in constraints:
            lower, upper, cols, vals = row_of_constraint(con, self.col_of)
            r = self.highs.getNumRow()
            self.highs.addRow(lower, upper, len(cols), np.asarray(cols, dtype=np.int32),
                              np.asarray(vals, dtype=float))
            self.rows.append(con)
            self.row_of[id(con)] = r
            sense = 0 if lower == upper else 1 if lower == -INF else -1 if upper == INF else 2
            self.sense = np.append(self.sense, np.int8(sense))
            self.row_lower0 = np.append(self.row_lower0, lower)
            self.row_upper0 = np.append(self.row_upper0, upper)
            new.append(r)
        return np.array(new, dtype=np.int32)

    def fixed_integer_duals(self) -> np.ndarray | None:
        """Row duals of the LP with every integer variable fixed at its value in
        the current solution (how a MIP gets shadow prices); the model is put
        back as it was afterwards. None if that LP does not solve."""
        h = self.highs
        integer = np.flatnonzero([v.is_integer() for v in self.columns]).astype(np.int32)
        if len(integer) == 0:
            return self.row_duals()
        x = self.col_values()
        fixed = np.round(x[integer])
        lower = np.array([-INF if self.columns[j].lb is None else self.columns[j].lb
                          for j in integer], dtype=float)
        upper = np.array([INF if self.columns[j].ub is None else self.columns[j].ub
                          for j in integer], dtype=float)
        n = len(integer)
        h.changeColsIntegrality(n, integer, np.zeros(n, dtype=np.uint8))
        h.changeColsBounds(n, integer, fixed, fixed)
        try:
            h.run()
            ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
            duals = self.row_duals() if ok else None
        finally:
            h.changeColsBounds(n, integer, lower, upper)
            h.changeColsIntegrality(n, integer, np.ones(n, dtype=np.uint8))
        return duals

    # --------------------------------------------------------------- changes
    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        if len(rows):
            # highspy's stubs omit changeRowsBounds, which the extension does provide
            self.highs.changeRowsBounds(  # type: ignore[attr-defined]
                len(rows), rows, np.asarray(lower, dtype=float), np.asarray(upper, dtype=float))

    def change_row_bounds(self, rows: np.ndarray, lower: np.ndarray,
                          upper: np.ndarray) -> None:
        """New bounds for good (a changed limit): HiGHS, the compiled matrices
        (which :meth:`trouble` checks the plan against) and the bounds
        :meth:`restore_rows` goes back to."""
        rows = np.asarray(rows, dtype=np.int64)
        self.row_lower0[rows] = lower
        self.row_upper0[rows] = upper
        compiled = rows[rows < len(self.lp.row_lower)]
        self.lp.row_lower[compiled] = self.row_lower0[compiled]
        self.lp.row_upper[compiled] = self.row_upper0[compiled]
        self.set_row_bounds(rows, self.row_lower0[rows], self.row_upper0[rows])

    def change_coefficients(self, rows: np.ndarray, cols: np.ndarray,
                            values: np.ndarray) -> None:
        """A[rows[k], cols[k]] := values[k] in HiGHS and in the compiled matrices
        (rows added after compiling, such as HHI cuts, are HiGHS's alone)."""
        lp = self.lp
        for r, c, v in zip(np.asarray(rows).tolist(), np.asarray(cols).tolist(),
                           np.asarray(values, dtype=float).tolist(), strict=True):
            self.highs.changeCoeff(r, c, v)
            if r < len(lp.row_lower):
                lo, hi = int(lp.start[r]), int(lp.start[r + 1])
                hit = np.flatnonzero(lp.index[lo:hi] == c)
                if len(hit):
                    lp.value[lo + int(hit[0])] = v

    def irreducible_subset(self) -> tuple[list[int], list[int]] | None:
        """HiGHS's irreducible infeasible subset of an infeasible LP: (rows,
        columns whose bounds take part), or None if HiGHS finds none."""
        if self.is_mip:
            return None
        h = self.highs
        h.setOptionValue("iis_strategy", 6)  # an elastic LP reduced to an irreducible set
        try:
            status, iis = h.getIis()
        except Exception:  # an IIS is a bonus: never let it hide the repairs
            return None
        if status != highspy.HighsStatus.kOk or not iis.valid_:
            return None
        return [int(r) for r in iis.row_index_], [int(c) for c in iis.col_index_]

    def relax_rows(self, rows: np.ndarray) -> None:
        """Drop rows (free bounds) until :meth:`restore_rows` puts them back."""
        n = len(rows)
        self.set_row_bounds(rows, np.full(n, -INF), np.full(n, INF))

    def restore_rows(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int32)
        self.set_row_bounds(rows, self.row_lower0[rows], self.row_upper0[rows])

    def rows_of(self, constraints) -> np.ndarray:
        return np.array([self.row_of[id(c)] for c in constraints if id(c) in self.row_of],
                        dtype=np.int32)

    @property
    def size(self) -> dict[str, int]:
        return {
            "variables": len(self.columns),
            "constraints": len(self.rows),
            "nonzeros": int(self.lp.nnz),
            "binaries": int(self.lp.integer.sum()),
        }


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
