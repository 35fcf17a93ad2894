"""The project's LP written in linopy (v0.10) and solved with HiGHS through highspy.

Built from the same prepared data as the project's model
(``optimizer.prepare(optimizer.load_instance(path))``), with the same
formulation:

* ``x[lane] >= 0`` per eligible lane; ``unmet[demand] >= 0`` where the
  application may go unmet and its demand is positive (a masked variable);
* ``x <= capacity`` of its supplier on every lane (as the project states it);
* the covered volume of a (period, covered applications), written as the
  project writes it: X = D - sum(unmet), D the covered demand, so ``limit * X``
  is ``limit * D`` on the right-hand side and ``limit * unmet`` in the row;
* demand ``sum x + unmet = demand``, capacity ``sum_{lanes of (s, t)} x <= capacity``;
* share rules ``V - limit X <= 0`` (``>= 0``), volume rules ``V <= limit``
  (``>= limit``), average rules ``sum_{covered} w x - limit X <= 0`` (``>= 0``),
  top-k caps ``V_g - t - u_g <= 0`` and ``k t + sum_g u_g - limit X <= 0``, and
  for soft rules a miss ``>= 0`` in the row, paid in the objective;
* minimise ``sum discount * unit_cost * x + discount * penalty * unmet (+ misses)``.

Each family of rows is one vectorised linopy expression: the lanes of all its
rows are picked from ``x`` at once (``x.isel``) and summed per row with one
``groupby(...).sum()``; the model uses linopy's v1 semantics and its sparse
(CSR) build path (``Model(sparse=True)``), the fastest we found in 0.10. It is
solved with ``m.solve(solver_name="highs", io_api="direct")``: linopy builds a
``highspy.Highs`` from its matrices and runs it.

    python benchmarks/linopy_model.py INSTANCE_PATH [--dense]

prints one JSON line: ``imports`` (numpy, pandas, xarray, linopy, highspy),
``data`` (importing this package, loading and preparing the instance),
``build`` (the linopy model), ``solve`` (the whole ``m.solve`` call: linopy's
matrices, the hand-off to highspy, HiGHS, the solution read back into the
model), ``highs_run`` (HiGHS's own run time inside that call), ``wall`` (all of
it, from the first import), ``objective``, ``iterations``, ``status``, the
model size and ``max_rss_mb``.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()

import inspect  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import sys  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import highspy  # noqa: E402, F401  (imported here so that its import is counted)
import linopy  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import xarray as xr  # noqa: E402

T_IMPORTS = time.perf_counter()

#: rule kinds written here; every other kind raises NotImplementedError
LP_KINDS = frozenset({"max_share", "min_share", "max_volume", "min_volume", "max_average",
                      "min_average", "max_top_share"})


def _index(size: int, name: str) -> pd.RangeIndex:
    return pd.RangeIndex(size, name=name)


def sparse_available() -> bool:
    """Whether this linopy has the v1 semantics and the sparse (CSR) build path (0.10)."""
    return "sparse" in inspect.signature(linopy.Model).parameters


class _Builder:
    def __init__(self, data: Any, sparse: bool) -> None:
        self.data = data
        self.m = linopy.Model(sparse=True) if sparse else linopy.Model()
        self.n = len(data.lanes)
        # x <= the supplier's capacity, as the project's model states it on each lane
        capacity = data.supplies["capacity"].to_numpy(dtype=float)[data.supply_of_lane]
        self.x = self.m.add_variables(
            lower=0.0, upper=xr.DataArray(capacity, coords=[_index(self.n, "lane")]),
            coords=[_index(self.n, "lane")], name="x")
        self.objective: list[Any] = []

    def lane_sum(self, positions: np.ndarray, rows: np.ndarray, dim: str, size: int,
                 coefs: np.ndarray | None = None) -> Any:
        """Per row r in ``range(size)``: ``sum_i coefs[i] x[positions[i]]`` over the
        entries i with ``rows[i] == r`` (an empty row is 0)."""
        xs = self.x.isel(lane=xr.DataArray(positions, dims="entry"))
        if coefs is None:
            coefs = np.ones(len(positions))
        terms = xr.DataArray(coefs, dims="entry") * xs
        expr = terms.groupby(xr.DataArray(rows, dims="entry", name=dim)).sum()
        if len(np.unique(rows)) < size:
            expr = expr.reindex({dim: _index(size, dim)}).fillna(0)
        return expr

    def rows_of(self, sets: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Concatenated positions and the row each belongs to."""
        sizes = np.fromiter((len(s) for s in sets), dtype=np.int64, count=len(sets))
        positions = np.concatenate(sets) if sets else np.zeros(0, dtype=np.int64)
        return positions.astype(np.int64, copy=False), np.repeat(np.arange(len(sets)), sizes)

    def miss(self, name: str, scopes: list, dim: str) -> Any | None:
        """The miss of the soft scopes among ``scopes`` (a masked variable over
        ``dim``), as an expression with 0 in hard rows; None if all are hard."""
        soft = np.array([s.rule.penalty is not None for s in scopes])
        if not soft.any():
            return None
        idx = _index(len(scopes), dim)
        var = self.m.add_variables(lower=0.0, coords=[idx], name=f"miss_{name}",
                                   mask=xr.DataArray(soft, coords=[idx]))
        price = np.array([self.data.discount[int(s.period)] * float(s.rule.penalty or 0.0)
                          for s in scopes])
        self.objective.append((xr.DataArray(price, coords=[idx]) * var).sum())
        return var.to_linexpr().fillna(0)

    def build(self) -> linopy.Model:
        data, m, x, n = self.data, self.m, self.x, self.n
        kinds = sorted({s.rule.kind for s in data.scopes} - LP_KINDS)
        if kinds:
            raise NotImplementedError(f"linopy model: rule kinds {kinds} need binaries or cuts")
        if len(getattr(data, "switched", ())) or len(getattr(data, "tiers", ())):
            raise NotImplementedError("linopy model: fixed costs, minimum orders and price "
                                      "tiers are not supported")
        lanes = data.lanes

        # ---- demand: sum x + unmet = demand ---------------------------------------------
        demand = data.demand
        nd = len(demand)
        gwh = demand["gwh"].to_numpy(dtype=float)
        penalty = demand["unmet_penalty"].to_numpy(dtype=float)
        allowed = ~np.isnan(penalty) & (gwh > 0)
        didx = _index(nd, "demand")
        unmet = m.add_variables(lower=0.0, coords=[didx], name="unmet",
                                mask=xr.DataArray(allowed, coords=[didx]))
        dem_of_lane = pd.MultiIndex.from_frame(demand[["application", "period"]]).get_indexer(
            pd.MultiIndex.from_frame(lanes[["application", "period"]]))
        ok = dem_of_lane >= 0
        has_lane = np.zeros(nd, dtype=bool)
        has_lane[dem_of_lane[ok]] = True
        if ((gwh > 0) & ~has_lane & ~allowed).any():
            raise ValueError("a positive demand that no lane can serve and that may not go "
                             "unmet: the instance is infeasible")
        bought = self.lane_sum(np.flatnonzero(ok), dem_of_lane[ok], "demand", nd)
        keep = has_lane | allowed
        lhs = bought + unmet.to_linexpr().fillna(0)
        m.add_constraints(lhs == xr.DataArray(gwh, coords=[didx]), name="demand",
                          mask=xr.DataArray(keep, coords=[didx]))
        d_price = demand["period"].map(data.discount).to_numpy(dtype=float) * np.nan_to_num(penalty)
        self.objective.append((xr.DataArray(d_price, coords=[didx]) * unmet).sum())

        # ---- capacity: sum_a x <= capacity ------------------------------------------------
        cap = data.capacity
        cap_of_lane = pd.MultiIndex.from_frame(cap[["supplier", "period"]]).get_indexer(
            pd.MultiIndex.from_frame(lanes[["supplier", "period"]]))
        used, cap_row = np.unique(cap_of_lane, return_inverse=True)
        supplied = x.groupby(xr.DataArray(cap_row, coords=[_index(n, "lane")],
                                          name="supply")).sum()
        m.add_constraints(supplied <= xr.DataArray(cap["gwh"].to_numpy(dtype=float)[used],
                                                   coords=[_index(len(used), "supply")]),
                          name="capacity")

        # ---- covered volumes: X = D - sum(unmet), as the project writes it ----------------
        d_period = demand["period"].to_numpy()
        d_app = demand["application"].to_numpy()
        cover: dict[Any, tuple[float, np.ndarray]] = {}
        for s in data.scopes:
            if s.coverage not in cover:
                t, apps = s.coverage
                sel = (d_period == t) & np.isin(d_app, list(apps))
                cover[s.coverage] = (float(gwh[sel].sum()), np.flatnonzero(sel & allowed))

        def x_total(scopes: list, dim: str, limits: np.ndarray) -> Any:
            """``limit * X`` of each scope's coverage, over ``dim``:
            ``limit * D - limit * sum(unmet)`` (D the covered demand)."""
            idx = _index(len(scopes), dim)
            demand_of = np.array([cover[s.coverage][0] for s in scopes])
            const = xr.DataArray(limits * demand_of, coords=[idx])
            pos, rows = self.rows_of([cover[s.coverage][1] for s in scopes])
            if len(pos) == 0:
                return const
            picked = unmet.isel(demand=xr.DataArray(pos, dims="entry"))
            terms = xr.DataArray(limits[rows], dims="entry") * picked
            expr = terms.groupby(xr.DataArray(rows, dims="entry", name=dim)).sum()
            if len(np.unique(rows)) < len(scopes):
                expr = expr.reindex({dim: idx}).fillna(0)
            return const - expr

        def add_rows(name: str, scopes: list, body: Any, upper: bool, rhs: Any = 0.0) -> None:
            miss = self.miss(name, scopes, name)
            if miss is not None:
                body = body - miss if upper else body + miss
            con = body <= rhs if upper else body >= rhs
            m.add_constraints(con, name=name)

        by_kind: dict[str, list] = {}
        for s in data.scopes:
            by_kind.setdefault(s.rule.kind, []).append(s)

        for kind in ("max_share", "min_share"):
            upper = kind == "max_share"
            scopes = [s for s in by_kind.get(kind, []) if len(s.covered) > 0 and
                      not (upper and len(s.members) == 0)]
            if scopes:
                pos, rows = self.rows_of([s.members for s in scopes])
                limits = np.array([float(s.rule.limit) for s in scopes])
                body = (self.lane_sum(pos, rows, kind, len(scopes))
                        - x_total(scopes, kind, limits))
                add_rows(kind, scopes, body, upper)

        for kind in ("max_volume", "min_volume"):
            upper = kind == "max_volume"
            scopes = []
            for s in by_kind.get(kind, []):
                if len(s.members) == 0 and s.rule.penalty is None:
                    if not upper and float(s.rule.limit) > 0:
                        raise ValueError(f"{s.label}: a volume floor on a group without any "
                                         "lane: the instance is infeasible")
                    continue
                scopes.append(s)
            if scopes:
                pos, rows = self.rows_of([s.members for s in scopes])
                limits = np.array([float(s.rule.limit) for s in scopes])
                add_rows(kind, scopes, self.lane_sum(pos, rows, kind, len(scopes)), upper,
                         xr.DataArray(limits, coords=[_index(len(scopes), kind)]))

        for kind in ("max_average", "min_average"):
            upper = kind == "max_average"
            scopes = [s for s in by_kind.get(kind, []) if len(s.covered) > 0]
            if scopes:
                pos, rows = self.rows_of([s.covered for s in scopes])
                weights = np.concatenate([np.asarray(s.weights, dtype=float) for s in scopes])
                limits = np.array([float(s.rule.limit) for s in scopes])
                body = (self.lane_sum(pos, rows, kind, len(scopes), weights)
                        - x_total(scopes, kind, limits))
                add_rows(kind, scopes, body, upper)

        top = [s for s in by_kind.get("max_top_share", []) if len(s.covered) > 0 and s.groups]
        if top:
            g_sets: list[np.ndarray] = []
            g_top: list[int] = []
            for i, s in enumerate(top):
                for positions in s.groups.values():
                    g_sets.append(positions)
                    g_top.append(i)
            tidx, gidx = _index(len(top), "top"), _index(len(g_sets), "top_group")
            t = m.add_variables(lower=0.0, coords=[tidx], name="top_threshold")
            u = m.add_variables(lower=0.0, coords=[gidx], name="top_excess")
            pos, rows = self.rows_of(g_sets)
            t_of_group = t.isel(top=xr.DataArray(np.array(g_top), dims="top_group",
                                                 coords=[gidx]))
            m.add_constraints(self.lane_sum(pos, rows, "top_group", len(g_sets)) - u
                              - t_of_group <= 0, name="top_excess_def")
            k = xr.DataArray(np.array([float(s.rule.k or 1) for s in top]), coords=[tidx])
            limits = np.array([float(s.rule.limit) for s in top])
            excess = u.groupby(xr.DataArray(np.array(g_top), coords=[gidx], name="top")).sum()
            add_rows("top", top, k * t + excess - x_total(top, "top", limits), True)

        # ---- objective ----------------------------------------------------------------------
        price = lanes["discount"].to_numpy(dtype=float) * lanes["unit_cost"].to_numpy(dtype=float)
        total = (xr.DataArray(price, coords=[_index(n, "lane")]) * x).sum()
        for term in self.objective:
            total = total + term
        m.add_objective(total)
        return m


def build(data: Any, sparse: bool | None = None) -> linopy.Model:
    """The linopy model of prepared ``data`` (see the module docstring); by
    default on the sparse path with v1 semantics where this linopy has them,
    else (or with ``sparse=False``) dense, with linopy's default semantics."""
    if sparse is None:
        sparse = sparse_available()
    if sparse:
        linopy.options["semantics"] = "v1"  # required by the sparse build path
    return _Builder(data, sparse).build()


def solve(m: linopy.Model) -> dict:
    """``m.solve`` with HiGHS through highspy, silent; what HiGHS reports."""
    # ``progress`` is a keyword of Model.solve in recent linopy; older ones would
    # hand it to HiGHS as an option
    quiet: dict[str, Any] = (
        {"progress": False} if "progress" in inspect.signature(m.solve).parameters else {})
    status, condition = m.solve(solver_name="highs", io_api="direct", output_flag=False,
                                random_seed=0, **quiet)
    h = m.solver_model
    info = h.getInfo()
    value = m.objective.value
    return {"status": f"{status}/{condition}",
            "objective": float("nan") if value is None else float(value),
            "highs_run": float(h.getRunTime()), "iterations": int(info.simplex_iteration_count),
            "rows": int(h.getNumRow()), "cols": int(h.getNumCol()), "nnz": int(h.getNumNz())}


def main(path: str, sparse: bool | None = None) -> dict:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    t = time.perf_counter()
    import optimizer

    data = optimizer.prepare(optimizer.load_instance(path))
    t_data = time.perf_counter() - t
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # linopy's notes on its semantics and densified steps
        t = time.perf_counter()
        m = build(data, sparse)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        result = solve(m)
        t_solve = time.perf_counter() - t
    return {
        "imports": T_IMPORTS - T_START, "data": t_data, "build": t_build, "solve": t_solve,
        "sparse": bool(m.sparse) if hasattr(m, "sparse") else False,
        **result, "wall": time.perf_counter() - T_START,
        "max_rss_mb": peak_rss_mb(),
    }


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss
    would also count that of the process it was started from)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--dense"]
    print(json.dumps(main(args[0], sparse=False if "--dense" in sys.argv else None)),
          flush=True)
    os._exit(0)  # skip tearing the model down
