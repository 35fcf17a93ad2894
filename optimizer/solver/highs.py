"""Hand a built Pyomo model to HiGHS and read the answer back, in memory.

The model is compiled once into sparse matrices (:mod:`optimizer.solver.compile`)
and passed to ``highspy`` in one call per block (no LP files, no per-constraint
translation). **Blocks**: rows and columns that share nothing with the rest of
the model (in a sourcing model, usually one period each: the rules, demands
and capacities of 2030 never touch a purchase of 2031) are solved as separate
HiGHS models. Their optima add up to the model's; the dual simplex is
superlinear in the size of what it solves, so ten blocks of a 1e6-lane model
solve 2-2.5x faster than the whole, blocks are solved side by side on the
machine's cores (HiGHS releases the GIL), and a warm re-solve after a change
(a rule scope dropped, a limit moved) re-solves only the blocks it touched.
Rows added later (HHI cuts) go to the block of their columns; a row that
would join blocks merges them.

:class:`HighsModel` keeps the HiGHS instances, so that callers can change a
row's bounds or a coefficient and re-solve warm (rule costs, frontier sweeps,
infeasibility diagnosis all do, through :mod:`optimizer.solver.session`).
Row and column numbers are always the model's own (global), whatever block
they live in.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from functools import cached_property
from typing import Any

import highspy
import numpy as np
import pyomo.core as pyo

from optimizer.solver.blocks import Block, csr, split
from optimizer.solver.compile import (
    ColumnIndex,
    compile_model,
    compile_with_pyomo,
)
from optimizer.solver.highs_base import (
    INF,
    SolveStatus,
    new_highs,
    run_beside,
    solve_matrices,
    status_of,
    timed_run,
    trouble,
    user_scale,
)
from optimizer.solver.highs_changes import ModelChanges
from optimizer.solver.options import SolverOptions

__all__ = ["INF", "HighsModel", "SolveStatus", "new_highs", "solve_matrices"]

#: models with more columns than this release each block's HiGHS instance once the
#: block is solved (its solution and basis kept), so that one block's solver at a
#: time is in memory; smaller ones keep them for quick warm re-solves
KEEP_SOLVERS_UP_TO = 300_000
#: at most this many blocks are solved at the same time (one per core up to it)
MAX_PARALLEL_BLOCKS = 4
class HighsModel(ModelChanges):
    """A Pyomo model compiled to matrix form and loaded into HiGHS (in blocks).

    ``columns`` are the Pyomo variables in column order, ``rows`` the Pyomo
    constraints in row order (one row per constraint; ranged constraints are
    not used by this project's model). ``row_of`` and ``col_of`` map Pyomo
    components (by ``id``) to positions.

    The model as HiGHS should hold it lives in this object's arrays: the
    compiled matrix (``lp``, its coefficients kept up to date), the current
    row and column bounds, and the rows added since. Each block's HiGHS
    instance mirrors its part; with ``keep_solvers=False`` (the default above
    :data:`KEEP_SOLVERS_UP_TO` columns) an instance is
    released as soon as its block is solved (its solution and basis kept) and
    rebuilt, warm from that basis, when the block is solved again: a model of
    a million lanes then holds one block's solver at a time.
    """

    def __init__(self, model: pyo.ConcreteModel, options: SolverOptions | None = None,
                 compiler: str = "bulk", keep_solvers: bool | None = None):
        self.model = model
        self.options = options or SolverOptions()
        #: HiGHS options set on every instance of this model from now on
        self.highs_options: dict[str, Any] = {}
        t0 = time.perf_counter()
        if compiler == "pyomo":
            lp = compile_with_pyomo(model)
        elif compiler == "bulk":
            lp = compile_model(model)
        else:
            raise ValueError(f"unknown compiler '{compiler}': use 'bulk' or 'pyomo'")
        self.compile_seconds = time.perf_counter() - t0
        self.lp = lp
        #: None: keep them up to KEEP_SOLVERS_UP_TO columns
        self.keep_solvers = keep_solvers if keep_solvers is not None else \
            len(lp.columns) <= KEEP_SOLVERS_UP_TO
        self.columns = lp.columns
        self.rows = lp.rows
        self.sense = lp.sense
        self.cost = lp.cost
        self.offset = lp.offset
        self.is_mip = bool(lp.integer.any())
        t1 = time.perf_counter()
        self.user_scale = user_scale(lp)
        self.n_compiled = len(lp.rows)
        # the limits' bounds (restore_rows goes back to them) and the bounds now
        self.row_lower0 = lp.row_lower.copy()
        self.row_upper0 = lp.row_upper.copy()
        self.row_lower = lp.row_lower.copy()
        self.row_upper = lp.row_upper.copy()
        self.col_lower = lp.col_lower.copy()
        self.col_upper = lp.col_upper.copy()
        #: rows added after compiling: row -> (columns, coefficients)
        self.added: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        self.col_block = np.zeros(len(lp.columns), dtype=np.int64)
        self.col_local = np.zeros(len(lp.columns), dtype=np.int64)
        self.row_block = np.zeros(len(lp.rows), dtype=np.int64)
        self.row_local = np.zeros(len(lp.rows), dtype=np.int64)
        self.blocks = [Block(rows.tolist(), cols, bool(lp.integer[cols].any()))
                       for rows, cols in split(lp)]
        self._number_blocks()
        if self.keep_solvers:  # else each is built when it is solved
            for block in self.blocks:
                self._alive(block)
        self.handoff_seconds = time.perf_counter() - t1
        self.last: SolveStatus | None = None
        self._building = threading.Lock()

    # ------------------------------------------------------------- blocks
    def _number_blocks(self) -> None:
        """Where each row and column sits: its block and its place there."""
        for k, block in enumerate(self.blocks):
            self.col_block[block.cols] = k
            self.col_local[block.cols] = np.arange(len(block.cols))
            self.row_block[block.rows] = k
            self.row_local[block.rows] = np.arange(len(block.rows))

    def _matrix(self, rows: np.ndarray, col_at: np.ndarray,
                n_cols: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """These rows (compiled or added, in this order) with the current
        coefficients, row-wise (start, index, value); column j becomes column
        ``col_at[j]`` (of ``n_cols``)."""
        lp = self.lp
        compiled = rows < self.n_compiled
        starts = lp.start[rows[compiled]].astype(np.int64)
        lengths = lp.start[rows[compiled] + 1].astype(np.int64) - starts
        take = np.repeat(starts - np.cumsum(np.concatenate([[0], lengths[:-1]])), lengths) + \
            np.arange(int(lengths.sum()))
        r_parts = [np.repeat(np.flatnonzero(compiled), lengths)]
        c_parts = [lp.index[take].astype(np.int64)]
        v_parts = [lp.value[take]]
        for at in np.flatnonzero(~compiled).tolist():
            cols, vals = self.added[int(rows[at])]
            r_parts.append(np.full(len(cols), at))
            c_parts.append(cols)
            v_parts.append(vals)
        return csr(np.concatenate(r_parts), col_at[np.concatenate(c_parts)],
                    np.concatenate(v_parts), len(rows))

    def _alive(self, block: Block) -> highspy.Highs:
        """The block's HiGHS instance, built from the arrays if it was released
        (warm from its last basis)."""
        if block.highs is not None:
            return block.highs
        rows, cols = np.asarray(block.rows, dtype=np.int64), block.cols
        start, index, value = self._matrix(rows, self.col_local, len(cols))
        integer = self.lp.integer[cols]
        h = new_highs(self.options)
        status = h.passModel(
            len(cols), len(rows), len(value), int(highspy.MatrixFormat.kRowwise),
            int(highspy.ObjSense.kMinimize), 0.0, self.lp.cost[cols], self.col_lower[cols],
            self.col_upper[cols], self.row_lower[rows], self.row_upper[rows],
            start, index, value, integer.astype(np.int32))
        if status == highspy.HighsStatus.kError:
            raise RuntimeError("HiGHS refused the model")
        h.setOptionValue("user_bound_scale", self.user_scale[0])
        h.setOptionValue("user_objective_scale", self.user_scale[1])
        for name, value in self.highs_options.items():
            h.setOptionValue(name, value)
        if block.basis is not None:
            h.setBasis(block.basis)
        block.highs = h
        return h

    def _release(self, block: Block) -> None:
        """Keep the block's solution and basis; let its HiGHS instance go."""
        h = block.highs
        if h is None:
            return
        sol = h.getSolution()
        block.saved = (np.asarray(sol.col_value, dtype=float),
                       np.asarray(sol.row_dual, dtype=float),
                       np.asarray(sol.row_value, dtype=float))
        basis = h.getBasis()
        block.basis = basis if basis.valid else None
        block.highs = None

    @property
    def highs(self) -> highspy.Highs:
        """The HiGHS instance, for a model solved in one block."""
        if len(self.blocks) != 1:
            raise AttributeError(f"the model is solved as {len(self.blocks)} independent "
                                 "blocks: use HighsModel's methods")
        return self._alive(self.blocks[0])

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
        """Solve the blocks that changed since their last solve. ``meanwhile``
        (work that needs no solution, such as :meth:`prefetch`) runs on this
        thread while HiGHS solves on another: HiGHS releases the GIL, so on a
        machine with a second core the two overlap. HiGHS's objects must not
        be touched meanwhile."""
        return self.run_within(None, meanwhile)

    def run_within(self, seconds: float | None,
                   meanwhile: Callable[[], object] | None = None) -> SolveStatus:
        """:meth:`run` with this time limit for all blocks together instead of
        the user's (``None``: the user's); the user's applies again afterwards."""
        limit = seconds if seconds is not None else self.options.time_limit
        spent = {"seconds": 0.0}
        todo = [b for b in self.blocks if b.dirty or b.status is None]
        workers = self._workers(len(todo), limit)

        def solve_block(block: Block, left: float | None) -> SolveStatus:
            with self._building:  # HiGHS prints a banner on creation: one at a time
                h = self._alive(block)
            took = timed_run(h, left, self.options.time_limit)
            block.status = status_of(h, block.is_mip, took)
            block.dirty = False
            block.saved = None
            if not self.keep_solvers:
                self._release(block)
            return block.status

        def in_turn() -> None:
            for k, block in enumerate(todo):
                # each block gets an even share of the time left (what one does
                # not use goes to the next), so every block can find a plan
                left = None if limit is None else \
                    max(0.0, limit - spent["seconds"]) / (len(todo) - k)
                status = solve_block(block, left)
                spent["seconds"] += status.solve_seconds
                if not status.has_solution:
                    break  # the model has no plan: the other blocks can wait

        def side_by_side() -> None:
            from concurrent.futures import ThreadPoolExecutor

            def task(block: Block) -> float:
                try:
                    return solve_block(block, None).solve_seconds
                finally:
                    # as highspy does after a solve on its own threads
                    highspy.Highs.resetThreadScheduler(False)

            t0 = time.perf_counter()
            with ThreadPoolExecutor(workers, thread_name_prefix="highs-block") as pool:
                list(pool.map(task, todo))
            spent["seconds"] = time.perf_counter() - t0

        work = side_by_side if workers > 1 else in_turn
        if meanwhile is None:
            work()
        else:
            run_beside(work, meanwhile)
        self.last = self._combined(spent["seconds"])
        return self.last

    def _workers(self, blocks: int, limit: float | None) -> int:
        """How many blocks to solve at the same time: one per core, except
        under a time limit (shared out block by block) or a thread count the
        user set (HiGHS's thread pool is one per process)."""
        if blocks < 2 or limit is not None or self.options.threads is not None:
            return 1
        return max(1, min(blocks, os.cpu_count() or 1, MAX_PARALLEL_BLOCKS))

    def _combined(self, seconds: float) -> SolveStatus:
        """The model's status from its blocks' (the worst of them decides)."""
        done = [b.status for b in self.blocks if b.status is not None]
        failed = [s for s in done if not s.has_solution]
        if len(done) < len(self.blocks) and failed:
            return SolveStatus(failed[0].status, False, None, seconds,
                               highs_status=failed[0].highs_status)
        for worst in ("infeasible", "unbounded", "error", "time_limit"):
            hit = [s for s in done if s.status == worst]
            if hit:
                status, highs_status = worst, hit[0].highs_status
                break
        else:
            status, highs_status = "optimal", done[0].highs_status if done else ""
        has_solution = bool(done) and all(s.has_solution for s in done) and \
            status in ("optimal", "time_limit")
        objective = self.offset + sum(float(s.objective or 0.0) for s in done) \
            if has_solution else None
        best_bound = gap = None
        if self.is_mip:
            best_bound = self.offset + sum(
                float(s.best_bound if s.best_bound is not None else (s.objective or 0.0))
                for s in done)
            if objective is not None:
                gap = abs(objective - best_bound) / max(abs(objective), 1e-9)
        return SolveStatus(status=status, has_solution=has_solution, objective=objective,
                           solve_seconds=seconds, best_bound=best_bound, mip_gap=gap,
                           highs_status=highs_status)

    def clear_solver(self) -> None:
        """Forget every basis: the next run starts cold (for benchmarks)."""
        for block in self.blocks:
            if block.highs is not None:
                block.highs.clearSolver()
            block.basis = None
            block.dirty = True

    def trouble(self, tol: float = 1e-6) -> str | None:
        """A sentence if the current solution breaks a row, a bound or an
        integrality of the compiled model by more than ``tol`` (numerical
        trouble), else None (:func:`~optimizer.solver.highs_base.trouble`)."""
        return trouble(self.lp, self.col_values(), self.user_scale, self.is_mip, tol)

    # ----------------------------------------------------------------- results
    def _solution(self, block: Block, which: int) -> np.ndarray:
        """Column values (0), row duals (1) or row values (2) of a block."""
        if block.highs is None:
            if block.saved is None:
                n = len(block.cols) if which == 0 else len(block.rows)
                return np.zeros(n)
            return block.saved[which]
        sol = block.highs.getSolution()
        return np.asarray((sol.col_value, sol.row_dual, sol.row_value)[which], dtype=float)

    def col_values(self) -> np.ndarray:
        x = np.zeros(len(self.columns))
        for block in self.blocks:
            x[block.cols] = self._solution(block, 0)
        return x

    def row_duals(self) -> np.ndarray:
        y = np.zeros(len(self.rows))
        for block in self.blocks:
            if block.rows:
                y[block.rows] = self._solution(block, 1)
        return y

    def row_values(self) -> np.ndarray:
        y = np.zeros(len(self.rows))
        for block in self.blocks:
            if block.rows:
                y[block.rows] = self._solution(block, 2)
        return y

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
        for v, val in zip(self.columns, self.col_values().tolist(), strict=True):
            v.set_value(val, skip_validation=True)

    def put_back(self, x: np.ndarray) -> None:
        """Make ``x`` HiGHS's current solution again (values only, no basis),
        e.g. the plan after re-solves of changed models: cheaper than solving a
        MIP once more."""
        x = np.asarray(x, dtype=float)
        for block in self.blocks:
            if block.highs is None:
                _, duals, values = block.saved if block.saved is not None else \
                    (None, np.zeros(len(block.rows)), np.zeros(len(block.rows)))
                block.saved = (x[block.cols].copy(), duals, values)
                continue
            solution = highspy.HighsSolution()
            solution.col_value = x[block.cols].tolist()
            solution.value_valid = True
            block.highs.setSolution(solution)

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
                        dtype=np.int64)
        if len(cols) == 0:
            return before
        self.change_col_bounds(cols, x[cols], x[cols])
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

    def fixed_integer_duals(self) -> np.ndarray | None:
        """Row duals of the LP with every integer variable fixed at its value in
        the current solution (how a MIP gets shadow prices); the model is put
        back as it was afterwards. None if that LP does not solve."""
        if not self.is_mip:
            return self.row_duals()
        y = self.row_duals()
        x = self.col_values()
        for block in self.blocks:
            if not block.is_mip:
                continue
            integer = np.flatnonzero(self.lp.integer[block.cols]).astype(np.int32)
            cols = block.cols[integer]
            fixed = np.round(x[cols])
            h = self._alive(block)
            n = len(integer)
            h.changeColsIntegrality(n, integer, np.zeros(n, dtype=np.uint8))
            h.changeColsBounds(n, integer, fixed, fixed)
            ok = False
            try:
                h.run()
                ok = h.getModelStatus() == highspy.HighsModelStatus.kOptimal
                if ok and block.rows:
                    y[block.rows] = h.getSolution().row_dual
            finally:
                h.changeColsBounds(n, integer, self.col_lower[cols], self.col_upper[cols])
                h.changeColsIntegrality(n, integer, np.ones(n, dtype=np.uint8))
            if not ok:
                return None
        return y

    @property
    def size(self) -> dict[str, int]:
        return {
            "variables": len(self.columns),
            "constraints": len(self.rows),
            "nonzeros": int(self.lp.nnz),
            "binaries": int(self.lp.integer.sum()),
        }
