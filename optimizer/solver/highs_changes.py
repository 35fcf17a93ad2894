"""Changes to a model handed to HiGHS (:class:`optimizer.solver.highs.HighsModel`):
rows added (HHI cuts, an analysis's budget row; a row that joins blocks
merges them, warm), row bounds and coefficients moved, column bounds fixed,
the objective swapped. Each change goes to the HiGHS instance of the block it
touches and to the arrays a released block is rebuilt from; row and column
numbers are the model's own (global)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import highspy
import numpy as np

from optimizer.solver.blocks import Block
from optimizer.solver.compile import CompiledModel, row_of_constraint
from optimizer.solver.highs_base import INF


class ModelChanges:
    """The changes half of :class:`~optimizer.solver.highs.HighsModel` (its
    state is set up there)."""

    lp: CompiledModel
    rows: list
    added: dict[int, tuple[np.ndarray, np.ndarray]]
    sense: np.ndarray
    n_compiled: int
    row_lower0: np.ndarray
    row_upper0: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    col_block: np.ndarray
    col_local: np.ndarray
    row_block: np.ndarray
    row_local: np.ndarray
    blocks: list[Block]
    highs_options: dict[str, Any]

    @property
    def col_of(self) -> dict[int, int]:  # pragma: no cover - HighsModel's
        raise NotImplementedError

    @property
    def row_of(self) -> dict[int, int]:  # pragma: no cover - HighsModel's
        raise NotImplementedError

    def _number_blocks(self) -> None:  # pragma: no cover - HighsModel's
        raise NotImplementedError

    def _alive(self, block: Block) -> highspy.Highs:  # pragma: no cover - HighsModel's
        raise NotImplementedError

    # --------------------------------------------------------------- changes
    def add_constraints(self, constraints: list) -> np.ndarray:
        """Append Pyomo constraints (already in the model) to the HiGHS model as
        rows, keeping the row maps in step; returns their row positions."""
        new = []
        for con in constraints:
            lower, upper, cols, vals = row_of_constraint(con, self.col_of)
            cols_arr = np.asarray(cols, dtype=np.int64)
            vals_arr = np.asarray(vals, dtype=float)
            touched = np.unique(self.col_block[cols_arr]).tolist() if len(cols_arr) else [0]
            r = len(self.rows)
            self.rows.append(con)
            self.row_of[id(con)] = r
            self.added[r] = (cols_arr, vals_arr)
            sense = 0 if lower == upper else 1 if lower == -INF else -1 if upper == INF else 2
            self.sense = np.append(self.sense, np.int8(sense))
            self.row_lower0 = np.append(self.row_lower0, lower)
            self.row_upper0 = np.append(self.row_upper0, upper)
            self.row_lower = np.append(self.row_lower, lower)
            self.row_upper = np.append(self.row_upper, upper)
            block = self.blocks[touched[0]]
            self.row_block = np.append(self.row_block, touched[0])
            self.row_local = np.append(self.row_local, len(block.rows))
            block.rows.append(r)
            block.dirty = True
            if len(touched) > 1:
                self._merge(touched)
            elif block.highs is not None:
                block.highs.addRow(lower, upper, len(cols_arr),
                                   self.col_local[cols_arr].astype(np.int32), vals_arr)
            new.append(r)
        return np.array(new, dtype=np.int32)

    def _merge(self, ids: Sequence[int]) -> None:
        """Solve these blocks as one from now on (a row joins them): a new HiGHS
        instance built from the arrays, started from the parts' bases put
        together (the new rows basic), so the next solve is warm."""
        parts = [self.blocks[k] for k in ids]
        merged = Block(sorted(r for b in parts for r in b.rows),
                       np.sort(np.concatenate([b.cols for b in parts])),
                       any(b.is_mip for b in parts))
        merged.basis = _joined_basis(parts, merged)
        self.blocks = [b for k, b in enumerate(self.blocks) if k not in ids] + [merged]
        self._number_blocks()
        self._alive(merged)

    def _built_blocks(self, items: np.ndarray, owner: np.ndarray
                      ) -> Iterator[tuple[highspy.Highs, np.ndarray]]:
        """Each block that holds some of ``items`` (rows or columns; ``owner``:
        their block), marked changed; for those with a HiGHS built, that HiGHS
        and the block's items."""
        blocks = owner[items]
        for k in np.unique(blocks).tolist():
            block = self.blocks[k]
            block.dirty = True
            if block.highs is not None:
                yield block.highs, items[blocks == k]

    def _touch_rows(self, rows: np.ndarray) -> None:
        """Put the current bounds of ``rows`` into their blocks' HiGHS."""
        rows = np.asarray(rows, dtype=np.int64)
        for highs, at in self._built_blocks(rows, self.row_block):
            local = self.row_local[at]
            # highspy's stubs omit changeRowsBounds, which the extension does provide
            highs.changeRowsBounds(  # type: ignore[attr-defined]
                len(local), local.astype(np.int32), self.row_lower[at], self.row_upper[at])

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """Bounds of ``rows`` for now (a relaxation :meth:`restore_rows` undoes)."""
        rows = np.asarray(rows, dtype=np.int64)
        self.row_lower[rows] = lower
        self.row_upper[rows] = upper
        self._touch_rows(rows)

    def change_row_bounds(self, rows: np.ndarray, lower: np.ndarray,
                          upper: np.ndarray) -> None:
        """New bounds for good (a changed limit): HiGHS, the compiled matrices
        (which :meth:`trouble` checks the plan against) and the bounds
        :meth:`restore_rows` goes back to."""
        rows = np.asarray(rows, dtype=np.int64)
        self.row_lower0[rows] = lower
        self.row_upper0[rows] = upper
        compiled = rows[rows < self.n_compiled]
        self.lp.row_lower[compiled] = self.row_lower0[compiled]
        self.lp.row_upper[compiled] = self.row_upper0[compiled]
        self.set_row_bounds(rows, self.row_lower0[rows], self.row_upper0[rows])

    def change_coefficients(self, rows: np.ndarray, cols: np.ndarray,
                            values: np.ndarray) -> None:
        """A[rows[k], cols[k]] := values[k] in HiGHS and in this object's arrays."""
        lp = self.lp
        for r, c, v in zip(np.asarray(rows).tolist(), np.asarray(cols).tolist(),
                           np.asarray(values, dtype=float).tolist(), strict=True):
            if r < self.n_compiled:
                lo, hi = int(lp.start[r]), int(lp.start[r + 1])
                hit = np.flatnonzero(lp.index[lo:hi] == c)
                if not len(hit):
                    raise ValueError(f"row {r} has no entry in column {c} to change")
                lp.value[lo + int(hit[0])] = v
            else:
                row_cols, row_vals = self.added[r]
                hit = np.flatnonzero(row_cols == c)
                if not len(hit):
                    raise ValueError(f"row {r} has no entry in column {c} to change")
                row_vals[hit[0]] = v
            k = int(self.row_block[r])
            if int(self.col_block[c]) != k:  # cannot happen: the entry ties them
                raise AssertionError("a row and its column in different blocks")
            block = self.blocks[k]
            block.dirty = True
            if block.highs is not None:
                block.highs.changeCoeff(int(self.row_local[r]), int(self.col_local[c]), v)

    def change_col_bounds(self, cols: np.ndarray, lower: np.ndarray,
                          upper: np.ndarray) -> None:
        """Bounds of columns for good (e.g. a plan's purchases fixed)."""
        cols = np.asarray(cols, dtype=np.int64)
        self.col_lower[cols] = lower
        self.col_upper[cols] = upper
        for highs, at in self._built_blocks(cols, self.col_block):
            local = self.col_local[at].astype(np.int32)
            highs.changeColsBounds(len(local), local, self.col_lower[at], self.col_upper[at])

    def change_costs(self, cost: np.ndarray) -> None:
        """A new objective (column costs in model order, minimized) for good,
        in HiGHS and in the arrays a released block is rebuilt from. The last
        basis stays primal feasible, so re-solves use the primal simplex from
        then on (about 30 times fewer iterations than the dual, measured on a
        19,000-column model: benchmarks/alternatives_bench.py)."""
        self.lp.cost[:] = np.asarray(cost, dtype=float)
        self.highs_options["simplex_strategy"] = 4  # primal
        for block in self.blocks:
            block.dirty = True
            if block.highs is not None:
                local = self.col_local[block.cols].astype(np.int32)
                block.highs.changeColsCost(len(local), local, self.lp.cost[block.cols])
                block.highs.setOptionValue("simplex_strategy", 4)

    def bases(self) -> list[Any]:
        """Each block's current basis (to start later solves from it again)."""
        out = []
        for block in self.blocks:
            h = block.highs
            out.append(h.getBasis() if h is not None else block.basis)
        return out

    def restore_bases(self, bases: list[Any]) -> None:
        """Start the next solve of each block from ``bases`` (:meth:`bases`;
        the blocks must be the same)."""
        if len(bases) != len(self.blocks):
            raise ValueError("the blocks changed since these bases were taken")
        for block, basis in zip(self.blocks, bases, strict=True):
            if basis is None or not basis.valid:
                continue
            if len(basis.row_status) < len(block.rows):  # rows added since (HHI cuts): basic
                grown = highspy.HighsBasis()
                grown.col_status = list(basis.col_status)
                grown.row_status = list(basis.row_status) + [highspy.HighsBasisStatus.kBasic] * (
                    len(block.rows) - len(basis.row_status))
                grown.valid = True
                basis = grown
            block.dirty = True
            if block.highs is not None:
                block.highs.setBasis(basis)
            else:
                block.basis = basis

    def relax_rows(self, rows: np.ndarray) -> None:
        """Drop rows (free bounds) until :meth:`restore_rows` puts them back."""
        n = len(rows)
        self.set_row_bounds(rows, np.full(n, -INF), np.full(n, INF))

    def restore_rows(self, rows: np.ndarray) -> None:
        rows = np.asarray(rows, dtype=np.int64)
        self.set_row_bounds(rows, self.row_lower0[rows], self.row_upper0[rows])


def _joined_basis(parts: Sequence[Block], merged: Block) -> Any:
    """The parts' last bases as one basis of ``merged`` (rows a part's HiGHS
    does not have yet, the rows that joined them, basic); None when a part has
    no valid basis (the merged block then starts cold)."""
    col_at = {c: i for i, c in enumerate(merged.cols.tolist())}
    row_at = {r: i for i, r in enumerate(merged.rows)}
    cols = [highspy.HighsBasisStatus.kLower] * len(merged.cols)
    rows = [highspy.HighsBasisStatus.kBasic] * len(merged.rows)
    for b in parts:
        basis = b.highs.getBasis() if b.highs is not None else b.basis
        if basis is None or not basis.valid:
            return None
        for c, status in zip(b.cols.tolist(), basis.col_status, strict=True):
            cols[col_at[c]] = status
        for r, status in zip(b.rows, basis.row_status, strict=False):
            rows[row_at[r]] = status
    joined = highspy.HighsBasis()
    joined.col_status = cols
    joined.row_status = rows
    joined.valid = True
    return joined
