"""The naive LP: the instance written by hand straight from the data, "rules over x".

What a user would write with highspy and no modelling layer, from the same
prepared data as the project's model (``optimizer.prepare``), with no helper
variable defined by an equality:

columns
    ``x[l] >= 0`` for every eligible lane l (``data.lanes``, in its order);
    ``unmet[a, t] >= 0`` where application a may go unmet (an ``unmet_penalty``)
    and its demand in t is positive; for a ``max_top_share`` scope a threshold
    ``t >= 0`` and an excess ``u_g >= 0`` per group with a lane; for a scope of a
    soft rule (one with a ``penalty``) its miss ``>= 0``.

rows
    *demand*, the only equalities: ``sum_{lanes of (a, t)} x + unmet[a, t] = demand``;
    *capacity*: ``sum_{lanes of (s, t)} x <= capacity[s, t]``;
    one row per rule scope, the covered volume X written out as the sum of the
    covered x (coefficients of a lane that is both member and covered combine):

    * ``max_share`` / ``min_share``: ``sum_{members} x - limit * sum_{covered} x``
      ``<= 0`` / ``>= 0``, i.e. ``(1 - limit)`` on members, ``-limit`` on the
      other covered lanes;
    * ``max_volume`` / ``min_volume``: ``sum_{members} x <= limit`` / ``>= limit``;
    * ``max_average`` / ``min_average``: ``sum_{covered} (w_l - limit) x_l``
      ``<= 0`` / ``>= 0`` with w the supplier's attribute;
    * ``max_top_share`` (top-k linearised as in optimizer/model/concentration.py):
      ``sum_{lanes of g} x - t - u_g <= 0`` per group g and
      ``k t + sum_g u_g - limit * sum_{covered} x <= 0``;

    a soft rule's row moves by its miss (``-miss`` in a ``<=`` row, ``+miss`` in
    a ``>=`` row). Scopes left out exactly as the project's model leaves them out
    (nothing covered; a cap on a group with no lane); a hard volume floor on a
    group with no lane stays as an empty, infeasible row.

objective
    ``sum_l discount_t * unit_cost_l * x_l + sum discount_t * penalty_a * unmet[a, t]
    + sum discount_t * penalty_rule * miss``.

Kinds that need binaries or cuts (``max_count``, ``min_count``, ``max_hhi``, fixed
costs, minimum orders, price tiers) raise ``NotImplementedError``. The matrix is
built with numpy and scipy.sparse (a few array operations per rule scope, none
per nonzero); ``solve_naive`` hands it to a fresh ``highspy.Highs`` and times
its ``run()`` alone.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import highspy
import numpy as np
import pandas as pd
import scipy.sparse as sp

SHARE = ("max_share", "min_share")
AVERAGE = ("max_average", "min_average")
#: rule kinds the naive LP writes; every other kind raises NotImplementedError
LP_KINDS = frozenset({"max_share", "min_share", "max_volume", "min_volume", "max_average",
                      "min_average", "max_top_share"})


@dataclass
class NaiveLP:
    """min cost.x  s.t.  row_lower <= matrix x <= row_upper,  col_lower <= x <= col_upper.

    ``blocks`` names each block of rows (``demand`` first, then ``capacity``,
    then one block per rule kind, plus ``top_share_groups``) with its slice.
    """

    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    matrix: sp.csr_array
    row_lower: np.ndarray
    row_upper: np.ndarray
    lanes: int
    unmet: int
    blocks: dict[str, slice] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def cols(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def check_supported(data: Any) -> None:
    """Raise NotImplementedError for anything the naive LP cannot write."""
    kinds = sorted({s.rule.kind for s in data.scopes} - LP_KINDS)
    if kinds:
        raise NotImplementedError(f"naive LP: rule kinds {kinds} need binaries or cuts")
    switched = getattr(data, "switched", None)
    if switched is not None and len(switched):
        raise NotImplementedError("naive LP: fixed costs and minimum orders need binaries")
    tiers = getattr(data, "tiers", None)
    if (tiers is not None and len(tiers)) or (
            "tiered" in data.lanes and bool(data.lanes["tiered"].any())):
        raise NotImplementedError("naive LP: price tiers are not supported")


class _Rows:
    """Rows collected block by block in compressed row form (each row's column
    indices and values), with their bounds; concatenated once at the end."""

    def __init__(self) -> None:
        self.sizes: list[np.ndarray] = []
        self.cols: list[np.ndarray] = []
        self.vals: list[np.ndarray] = []
        self.lower: list[np.ndarray] = []
        self.upper: list[np.ndarray] = []
        self.n = 0
        self.blocks: dict[str, slice] = {}

    def _bounds(self, name: str, lower: np.ndarray, upper: np.ndarray) -> None:
        count = len(lower)
        self.lower.append(np.asarray(lower, dtype=float))
        self.upper.append(np.asarray(upper, dtype=float))
        self.blocks[name] = slice(self.n, self.n + count)
        self.n += count

    def add_triplets(self, name: str, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray,
                     lower: np.ndarray, upper: np.ndarray) -> None:
        """A small block given as (row, column, value) with rows numbered from 0."""
        count = len(lower)
        if count == 0:
            return
        a = sp.csr_array((np.asarray(vals, dtype=float), (rows, cols)),
                         shape=(count, int(max(cols, default=-1)) + 1))
        a.sum_duplicates()
        self.sizes.append(np.diff(a.indptr))
        self.cols.append(a.indices)
        self.vals.append(a.data)
        self._bounds(name, lower, upper)

    def add_rows(self, name: str, cols: list[np.ndarray], vals: list[np.ndarray],
                 lower: np.ndarray, upper: np.ndarray) -> None:
        """A block given row by row: distinct column indices and their values."""
        if len(lower) == 0:
            return
        self.sizes.append(_sizes(cols))
        self.cols.extend(cols)
        self.vals.extend(vals)
        self._bounds(name, lower, upper)

    def matrix(self, ncols: int) -> sp.csr_array:
        sizes = np.concatenate(self.sizes) if self.sizes else np.zeros(0, np.int64)
        cols = np.concatenate(self.cols, dtype=np.int32) if self.cols else np.zeros(0, np.int32)
        vals = np.concatenate(self.vals, dtype=float) if self.vals else np.zeros(0)
        nz = vals != 0  # a member of a share row with limit 1 has coefficient 0
        if not nz.all():
            row = np.repeat(np.arange(len(sizes)), sizes)[~nz]
            sizes = sizes - np.bincount(row, minlength=len(sizes))
            cols, vals = cols[nz], vals[nz]
        index = np.int32 if len(vals) < 2**31 else np.int64
        indptr = np.zeros(len(sizes) + 1, dtype=index)
        np.cumsum(sizes, out=indptr[1:])
        return sp.csr_array((vals, cols.astype(index, copy=False), indptr),
                            shape=(self.n, ncols))


def _sizes(arrays: list[np.ndarray]) -> np.ndarray:
    return np.fromiter((len(a) for a in arrays), dtype=np.int64, count=len(arrays))


def _with(cols: np.ndarray, vals: np.ndarray, extra: list[tuple[int, float]]):
    """A row's lanes plus a few columns after them (threshold, excess, miss)."""
    if not extra:
        return cols, vals
    return (np.concatenate([cols, np.array([c for c, _ in extra], dtype=cols.dtype)]),
            np.concatenate([vals, np.array([v for _, v in extra], dtype=float)]))


def naive_lp(data: Any, covered: bool = False) -> NaiveLP:
    """The naive LP of ``data`` (an ``optimizer.prepare`` result): see the module
    docstring. ``covered=True`` writes it with one covered-volume column X per
    (period, covered applications) instead of expanding X in every row:
    ``sum_{covered} x - X = 0``, and share, average and top-k rows on X (the
    form a careful hand-writer would choose; rows stay short)."""
    check_supported(data)
    lanes = data.lanes
    n = len(lanes)
    inf = np.inf
    discount = data.discount

    # ---- columns: x, unmet, then threshold, excess and miss columns as rows need them --
    demand = data.demand
    gwh = demand["gwh"].to_numpy(dtype=float)
    penalty = demand["unmet_penalty"].to_numpy(dtype=float)
    allowed = ~np.isnan(penalty) & (gwh > 0)
    unmet_of_row = np.full(len(demand), -1, dtype=np.int64)
    unmet_of_row[allowed] = n + np.arange(int(allowed.sum()))
    d_period = demand["period"].to_numpy()
    costs = [lanes["discount"].to_numpy(dtype=float) * lanes["unit_cost"].to_numpy(dtype=float),
             np.array([discount[int(t)] for t in d_period[allowed]], dtype=float) *
             penalty[allowed]]
    ncols = n + int(allowed.sum())
    extra_cost: list[float] = []

    def new_column(cost: float) -> int:
        nonlocal ncols
        extra_cost.append(cost)
        ncols += 1
        return ncols - 1

    def miss(scope: Any, upper: bool) -> list[tuple[int, float]]:
        """A soft scope's miss: -miss in a <= row, +miss in a >= row."""
        if scope.rule.penalty is None:
            return []
        col = new_column(discount[int(scope.period)] * float(scope.rule.penalty))
        return [(col, -1.0 if upper else 1.0)]

    def bounds(count: int, upper: bool, rhs: np.ndarray | float = 0.0):
        rhs = np.broadcast_to(np.asarray(rhs, dtype=float), (count,))
        return (np.full(count, -inf), rhs) if upper else (rhs, np.full(count, inf))

    rows = _Rows()

    # ---- demand: sum_s x + unmet = demand ------------------------------------------
    dem_of_lane = pd.MultiIndex.from_frame(demand[["application", "period"]]).get_indexer(
        pd.MultiIndex.from_frame(lanes[["application", "period"]]))
    has_lane = np.zeros(len(demand), dtype=bool)
    has_lane[dem_of_lane[dem_of_lane >= 0]] = True
    keep = has_lane | allowed | (gwh > 0)  # a positive demand nothing can serve stays: infeasible
    new_row = np.cumsum(keep) - 1
    lane_ok = dem_of_lane >= 0
    rows.add_triplets("demand",
                      np.concatenate([new_row[dem_of_lane[lane_ok]], new_row[allowed]]),
                      np.concatenate([np.flatnonzero(lane_ok), unmet_of_row[allowed]]),
                      np.ones(int(lane_ok.sum() + allowed.sum())), gwh[keep], gwh[keep])

    # ---- capacity: sum_a x <= capacity -----------------------------------------------
    cap = data.capacity
    cap_of_lane = pd.MultiIndex.from_frame(cap[["supplier", "period"]]).get_indexer(
        pd.MultiIndex.from_frame(lanes[["supplier", "period"]]))
    if (cap_of_lane < 0).any():
        raise ValueError("naive LP: a lane without a capacity row")
    used, cap_row = np.unique(cap_of_lane, return_inverse=True)
    rows.add_triplets("capacity", cap_row, np.arange(n), np.ones(n),
                      np.full(len(used), -inf), cap["gwh"].to_numpy(dtype=float)[used])

    # ---- covered volumes X (covered=True): sum_{covered} x - X = 0 ----------------------
    x_of: dict[Any, int] = {}
    if covered:
        first: dict[Any, Any] = {}
        for s in data.scopes:
            if len(s.covered) and s.rule.kind in (*SHARE, *AVERAGE, "max_top_share"):
                first.setdefault(s.coverage, s)
        cols_x, vals_x = [], []
        for key, s in first.items():
            x_of[key] = new_column(0.0)
            c, v = _with(s.covered, np.ones(len(s.covered)), [(x_of[key], -1.0)])
            cols_x.append(c)
            vals_x.append(v)
        rows.add_rows("covered", cols_x, vals_x, np.zeros(len(first)), np.zeros(len(first)))

    # ---- rules, one row per scope ------------------------------------------------------
    by_kind: dict[str, list] = {}
    for s in data.scopes:
        by_kind.setdefault(s.rule.kind, []).append(s)

    for kind in ("max_share", "min_share"):
        upper = kind == "max_share"
        scopes = [s for s in by_kind.get(kind, []) if len(s.covered) > 0 and
                  not (upper and len(s.members) == 0)]
        cols, vals = [], []
        for s in scopes:
            if covered:  # V - limit X
                c, v = _with(s.members, np.ones(len(s.members)),
                             [(x_of[s.coverage], -float(s.rule.limit)), *miss(s, upper)])
                cols.append(c)
                vals.append(v)
                continue
            # -limit on every covered lane, 1 - limit on the members (a subset of them)
            lanes_in = s.covered
            v = np.full(len(lanes_in), -float(s.rule.limit))
            at = np.searchsorted(lanes_in, s.members)
            if len(at) and not np.array_equal(lanes_in[np.minimum(at, len(lanes_in) - 1)],
                                              s.members):
                raise ValueError(f"{s.label}: members are not a sorted subset of covered")
            v[at] += 1.0
            c, v = _with(lanes_in, v, miss(s, upper))
            cols.append(c)
            vals.append(v)
        rows.add_rows(kind, cols, vals, *bounds(len(scopes), upper))

    for kind in ("max_volume", "min_volume"):
        upper = kind == "max_volume"
        scopes = []
        for s in by_kind.get(kind, []):
            if len(s.members) == 0 and s.rule.penalty is None:
                if not upper and float(s.rule.limit) > 0:
                    scopes.append(s)  # an empty row >= limit > 0: infeasible, as in the model
                continue
            scopes.append(s)
        cols, vals = [], []
        for s in scopes:
            c, v = _with(s.members, np.ones(len(s.members)), miss(s, upper))
            cols.append(c)
            vals.append(v)
        rows.add_rows(kind, cols, vals,
                      *bounds(len(scopes), upper,
                             np.array([float(s.rule.limit) for s in scopes])))

    for kind in ("max_average", "min_average"):
        upper = kind == "max_average"
        scopes = [s for s in by_kind.get(kind, []) if len(s.covered) > 0]
        cols, vals = [], []
        for s in scopes:
            if covered:  # sum w x - limit X
                c, v = _with(s.covered, np.asarray(s.weights, dtype=float),
                             [(x_of[s.coverage], -float(s.rule.limit)), *miss(s, upper)])
            else:
                w = np.asarray(s.weights, dtype=float) - float(s.rule.limit)
                c, v = _with(s.covered, w, miss(s, upper))
            cols.append(c)
            vals.append(v)
        rows.add_rows(kind, cols, vals, *bounds(len(scopes), upper))

    top = [s for s in by_kind.get("max_top_share", []) if len(s.covered) > 0 and s.groups]
    if top:
        # per group g with a lane: sum_{lanes of g} x - t - u_g <= 0
        threshold = [new_column(0.0) for _ in top]
        g_cols, g_vals, excess = [], [], []
        for t, s in zip(threshold, top, strict=True):
            mine = []
            for positions in s.groups.values():
                if len(positions) == 0:
                    continue  # V_g = 0: its row holds with u_g = 0
                u = new_column(0.0)
                mine.append(u)
                c, v = _with(positions, np.ones(len(positions)), [(t, -1.0), (u, -1.0)])
                g_cols.append(c)
                g_vals.append(v)
            excess.append(mine)
        rows.add_rows("top_share_groups", g_cols, g_vals, *bounds(len(g_cols), True))
        # the cap: k t + sum_g u_g - limit * sum_{covered} x (- miss) <= 0
        cols, vals = [], []
        for t, mine, s in zip(threshold, excess, top, strict=True):
            extra = [(t, float(s.rule.k or 1)), *((u, 1.0) for u in mine), *miss(s, True)]
            if covered:
                c, v = _with(np.zeros(0, dtype=np.int64), np.zeros(0),
                             [*extra, (x_of[s.coverage], -float(s.rule.limit))])
            else:
                c, v = _with(s.covered, np.full(len(s.covered), -float(s.rule.limit)), extra)
            cols.append(c)
            vals.append(v)
        rows.add_rows("max_top_share", cols, vals, *bounds(len(top), True))

    cost = np.concatenate([*costs, np.array(extra_cost, dtype=float)])
    return NaiveLP(
        cost=cost, col_lower=np.zeros(ncols), col_upper=np.full(ncols, inf),
        matrix=rows.matrix(ncols),
        row_lower=np.concatenate(rows.lower) if rows.lower else np.zeros(0),
        row_upper=np.concatenate(rows.upper) if rows.upper else np.zeros(0),
        lanes=n, unmet=int(allowed.sum()), blocks=rows.blocks,
    )


@contextlib.contextmanager
def _quiet_stdout() -> Iterator[None]:
    """Silence C-level stdout while HiGHS prints its banner."""
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def highs_of(lp: NaiveLP) -> highspy.Highs:
    """A fresh, silent ``highspy.Highs`` holding the LP (row-wise matrix, as
    ``run.highs_alone`` hands over the project's LP)."""
    with _quiet_stdout():
        h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    h.setOptionValue("random_seed", 0)
    a = lp.matrix
    h.passModel(lp.cols, lp.rows, lp.nnz, int(highspy.MatrixFormat.kRowwise),
                int(highspy.ObjSense.kMinimize), 0.0, lp.cost, lp.col_lower, lp.col_upper,
                lp.row_lower, lp.row_upper, a.indptr.astype(np.int32, copy=False),
                a.indices.astype(np.int32, copy=False), a.data, np.zeros(lp.cols, dtype=np.int32))
    return h


def solve_naive(path: str | Path, covered: bool = False) -> dict:
    """Load and prepare the instance, build its naive LP, and time HiGHS's ``run()`` on it.

    Returns ``objective``, ``run_seconds`` (HiGHS alone), ``rows``, ``cols``,
    ``nnz``, ``iterations`` (simplex), ``build_seconds`` (the naive matrix from
    the prepared data) and ``status``.
    """
    import optimizer

    data = optimizer.prepare(optimizer.load_instance(path))
    t0 = time.perf_counter()
    lp = naive_lp(data, covered)
    build = time.perf_counter() - t0
    h = highs_of(lp)
    t1 = time.perf_counter()
    h.run()
    run = time.perf_counter() - t1
    info = h.getInfo()
    return {
        "objective": info.objective_function_value, "run_seconds": run, "rows": lp.rows,
        "cols": lp.cols, "nnz": lp.nnz, "iterations": int(info.simplex_iteration_count),
        "build_seconds": build, "status": h.modelStatusToString(h.getModelStatus()),
    }


if __name__ == "__main__":
    import json

    print(json.dumps(solve_naive(sys.argv[1])))
