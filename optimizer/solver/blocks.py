"""Blocks: rows and columns of a model that share nothing with the rest.

In a sourcing model a block is usually one period: the rules, demands and
capacities of 2030 never touch a purchase of 2031. :func:`split` finds them
(label passing over the compiled matrix, no graph library) and gathers small
ones, so that :class:`~optimizer.solver.highs.HighsModel` solves each as a HiGHS
model of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import highspy
import numpy as np

from optimizer.solver.compile import CompiledModel
from optimizer.solver.highs_base import SolveStatus

#: independent parts of the model are solved apart only when each has at least
#: this many columns (smaller ones are solved together: a HiGHS instance has a
#: cost of its own)
MIN_BLOCK_COLUMNS = 2000


@dataclass
class Block:
    """Rows and columns of the model that no other block shares, solved by one
    HiGHS instance. A released block (``highs`` None) keeps only its last
    solution and basis; it is rebuilt from the model's arrays when needed."""

    rows: list[int]
    cols: np.ndarray
    is_mip: bool
    highs: highspy.Highs | None = None
    #: changed since its last solve (or never solved)
    dirty: bool = True
    status: SolveStatus | None = None
    #: the last solution (column values, row duals, row values) and basis, kept
    #: when the HiGHS instance is released
    saved: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    basis: Any = field(default=None, repr=False)


def split(lp: CompiledModel, minimum: int | None = None) -> list[tuple[np.ndarray,
                                                                      np.ndarray]]:
    """(rows, columns) of each block: the connected parts of the matrix,
    small ones gathered until each block has ``minimum`` columns (default
    :data:`MIN_BLOCK_COLUMNS`); columns in no row go to the first block."""
    minimum = MIN_BLOCK_COLUMNS if minimum is None else minimum
    n_row, n_col = len(lp.rows), len(lp.columns)
    if n_row == 0 or n_col < 2 * minimum:
        return [(np.arange(n_row), np.arange(n_col))]
    col_label = _components(lp)  # a component's label is its first column
    row_label = np.empty(n_row, dtype=np.int64)
    filled_rows = np.diff(lp.start) > 0
    row_label[filled_rows] = col_label[lp.index[lp.start[:-1][filled_rows]]]
    row_label[~filled_rows] = col_label[0]  # an empty row: with the first block
    has_row = np.zeros(n_col, dtype=bool)
    has_row[row_label] = True
    width = np.bincount(col_label, minlength=n_col)
    # components in the order of their first column, gathered into groups of at
    # least `minimum` columns; a last group short of it joins the one before
    group = np.zeros(n_col, dtype=np.int64)  # components without a row: the first block
    current, filled = 0, 0
    for c in np.unique(col_label).tolist():
        if not has_row[c]:
            continue
        group[c] = current
        filled += int(width[c])
        if filled >= minimum:
            current, filled = current + 1, 0
    if filled > 0 and current > 0 and filled < minimum:
        group[group == current] = current - 1
        filled = 0
    n_groups = current + (1 if filled > 0 else 0)
    if n_groups <= 1:
        return [(np.arange(n_row), np.arange(n_col))]
    row_group, col_group = group[row_label], group[col_label]
    return [(np.flatnonzero(row_group == g), np.flatnonzero(col_group == g))
            for g in range(n_groups)]


def _components(lp: CompiledModel) -> np.ndarray:
    """A label per column: columns that share a row (directly or through other
    columns) get the same one, the smallest column number among them. Labels
    are passed along rows and back until nothing changes (a few rounds: every
    row of a sourcing model is short in steps, if not in entries)."""
    n_col = len(lp.columns)
    label = np.arange(n_col, dtype=np.int64)
    lengths = np.diff(lp.start)
    filled = np.flatnonzero(lengths > 0)
    if not len(filled):
        return label
    starts = lp.start[filled]
    index = lp.index.astype(np.int64)
    row_of_entry = np.repeat(np.arange(len(lengths)), lengths)
    while True:
        row_min = np.minimum.reduceat(label[index], starts)
        new = label.copy()
        per_row = np.full(len(lengths), np.iinfo(np.int64).max)
        per_row[filled] = row_min
        np.minimum.at(new, index, per_row[row_of_entry])
        new = new[new]  # jump: a label's own label
        if np.array_equal(new, label):
            return label
        label = new

def csr(rows: np.ndarray, cols: np.ndarray, values: np.ndarray,
         n_rows: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row-wise (start, index, value) from entries (no entry twice), each row's
    columns in order, as HiGHS takes them."""
    order = np.lexsort((cols, rows))
    start = np.zeros(n_rows + 1, dtype=np.int32)
    np.cumsum(np.bincount(rows, minlength=n_rows), out=start[1:])
    return start, cols[order].astype(np.int32), values[order].astype(float)
