"""The elastic copy of a model: chosen rows may be violated, at a price.

    min  sum_k w_k s_k
    s.t. the model's rows, where row r_k (a ``<=`` row) reads  a x - s_k <= b
         (a ``>=`` or ``=`` row:  a x + s_k >= b, resp. = b),  s_k >= 0,

with the purchase costs set to zero. Its optimum is the smallest weighted
relaxation that restores a plan; the repairs (:mod:`optimizer.analysis.repair`) turn
it into sentences. The copy lives in its own HiGHS instance, so the model the
plan came from is left as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import highspy
import numpy as np

from optimizer.solver.highs import INF, HighsModel, new_highs


class ElasticCopy:
    """``ElasticCopy(hm, rows, weights)``: an elastic slack on each of ``rows``;
    ``unbounded``: columns whose upper bound is lifted in the copy (bounds that
    only restate an elastic row, such as a purchase's capacity)."""

    def __init__(self, hm: HighsModel, rows: Sequence[int], weights: Sequence[float],
                 unbounded: Sequence[int] = ()):
        h = new_highs(hm.options)
        pass_whole_model(hm, h)
        n = len(hm.columns)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
        free = np.asarray(unbounded, dtype=np.int32)
        if len(free):
            lower = np.asarray(hm.lp.col_lower, dtype=float)[free]
            h.changeColsBounds(len(free), free, lower, np.full(len(free), INF))
        self.n_original = n
        self.n_slack = len(rows)
        for row, weight in zip(rows, weights, strict=True):
            coef = -1.0 if hm.sense[row] > 0 else 1.0
            h.addCol(float(weight), 0.0, INF, 1, np.array([row], dtype=np.int32),
                     np.array([coef]))
        self.highs = h

    def solve(self) -> bool:
        self.highs.run()
        return self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def slack(self) -> np.ndarray:
        """The violation of each elastic row, in the order they were given."""
        x = np.asarray(self.highs.getSolution().col_value)
        return x[self.n_original:]

    def values(self) -> np.ndarray:
        """The model's own columns in the elastic optimum."""
        return np.asarray(self.highs.getSolution().col_value)[: self.n_original]

    def feasible_with(self, k: int, slack: np.ndarray, row: int, bounds: tuple[float, float],
                      cols: np.ndarray, values: np.ndarray) -> bool:
        """Is there a plan when row ``row`` has these bounds and these
        coefficients on ``cols``, elastic row k's own slack is 0 and the other
        slacks stay at ``slack``?"""
        h = self.highs
        slack_cols = self._slack_columns()
        lower = slack.copy()
        lower[k] = 0.0
        h.changeColsBounds(len(slack_cols), slack_cols, lower, lower)
        self._set_row(row, bounds, cols, values)
        h.run()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def reset(self, row: int, bounds: tuple[float, float], cols: np.ndarray,
              values: np.ndarray) -> None:
        """Put a row's bounds and coefficients back and free every slack again."""
        self._set_row(row, bounds, cols, values)
        slack_cols = self._slack_columns()
        self.highs.changeColsBounds(len(slack_cols), slack_cols, np.zeros(len(slack_cols)),
                                    np.full(len(slack_cols), INF))

    def _set_row(self, row: int, bounds: tuple[float, float], cols: np.ndarray,
                 values: np.ndarray) -> None:
        self.highs.changeRowBounds(row, float(bounds[0]), float(bounds[1]))
        for c, v in zip(np.asarray(cols).tolist(), np.asarray(values).tolist(), strict=True):
            self.highs.changeCoeff(row, c, v)

    def _slack_columns(self) -> np.ndarray:
        return np.arange(self.n_original, self.n_original + self.n_slack, dtype=np.int32)


def pass_whole_model(hm: HighsModel, h: highspy.Highs) -> None:
    """Hand the whole model as it stands now (current bounds and
    coefficients, added rows included, in the model's own row and column
    order) to the HiGHS instance ``h``."""
    n_row, n_col = len(hm.rows), len(hm.columns)
    start, index, value = hm._matrix(np.arange(n_row), np.arange(n_col), n_col)
    h.passModel(n_col, n_row, len(value), int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), hm.offset, hm.lp.cost,
                hm.col_lower, hm.col_upper, hm.row_lower, hm.row_upper,
                start, index, value, hm.lp.integer.astype(np.int32))


def irreducible_subset(hm: HighsModel) -> tuple[list[int], list[int]] | None:
    """HiGHS's irreducible infeasible subset of an infeasible LP: (rows,
    columns whose bounds take part), or None if HiGHS finds none. Taken in
    the first block that has no plan."""
    if hm.is_mip:
        return None
    if any(b.dirty for b in hm.blocks):
        hm.run()  # the model as it stands, not as the last re-solve left it
    for block in hm.blocks:
        if block.status is None or block.status.has_solution:
            continue
        h = hm._alive(block)
        h.setOptionValue("iis_strategy", 6)  # an elastic LP reduced to an irreducible set
        try:
            status, iis = h.getIis()
        except Exception:  # an IIS is a bonus: never let it hide the repairs
            return None
        if status != highspy.HighsStatus.kOk or not iis.valid_:
            return None
        return ([block.rows[int(r)] for r in iis.row_index_],
                [int(block.cols[int(c)]) for c in iis.col_index_])
    return None
