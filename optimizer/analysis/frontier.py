"""Frontier sweeps: the optimum as a curve of one rule's limit (or a grid of two).

    df = optimizer.frontier("instance.yaml", "china-cap", [0.6, 0.5, 0.4, 0.3])
    df = optimizer.frontier(inst, {"china-cap": [0.6, 0.4], "alt-floor": [0.1, 0.2]})

One row per point (a limit, or a pair of limits for a grid), in the order the
values were given (a grid: the first rule's values outside, the second's
inside). Columns:

* ``rule``, ``limit`` (and ``rule_2``, ``limit_2`` for a grid);
* ``status``: ``optimal``, ``infeasible``, ``time_limit``, ``unbounded`` or
  ``error``. Points without a plan are kept, with NaN numbers;
* ``objective``: the optimum, USD million (discounted, as ``solve`` reports it);
* ``premium`` / ``premium_pct``: the optimum minus the optimum at the loosest
  point (the largest limit of a ``max_*`` rule, the smallest of a ``min_*``
  rule; both rules loosest for a grid), in USD million and in % of the latter.
  NaN everywhere if the loosest point has no plan;
* ``marginal_cost`` (``marginal_cost_2``): the rise in the optimum per unit the
  rule is tightened at that point, summed over the rule's scopes (all of them
  move together): USD million per percentage point of a share, per GWh of a
  volume, per unit of an average; from the LP's duals (a MIP's come from the LP
  with its binaries fixed), so at a kink of the curve it is one of the two
  slopes. NaN for count rules (a count has no price per unit);
* ``gwh`` (bought) and ``unmet_gwh``, over all applications and periods;
* the mix of one optimal plan: ``share_control_<country>`` and
  ``share_family_<family>``, each group's GWh over the GWh bought, **summed
  over all applications and periods** (one number per point; per-period shares
  of any single plan come from ``optimizer.solve``);
* ``mip_gap`` (models with binaries only), ``solve_seconds``, and ``warning``
  where HiGHS's plan breaks a constraint by more than the tolerance.

The optimum at a limit is unique; the plan and the duals need not be. Where a
point has several optimal plans, or sits on a kink of the curve (a limit where
the slope changes, or a group at zero volume under a zero limit), the mix and
the marginal cost are those HiGHS reaches from the previous point's basis: a
parallel sweep, which starts its chunks elsewhere, can report another of the
equally valid answers there, never another optimum.

``df.attrs`` holds ``rules``, ``kinds``, ``loosest``, ``baseline_objective``,
``mode`` (``warm``: the model is built once and the limits are changed in
place) and ``model_size``.

How it is fast: the instance is prepared, built and handed to HiGHS once. For
each point, the limit goes into the matrix directly through the solve session
(:meth:`optimizer.solver.session.Session.set_limit`): share, average and top-k
rows read ``V - limit * X <= 0`` (or ``>=``), so the coefficient of the
covered volume X in each of the rule's rows becomes ``-limit``; volume and
count rows ``V <= limit`` take new row bounds; an HHI cap's cuts take
``-sqrt(limit)`` on X. The Pyomo parameter ``m.rule_limit[name]`` is kept in
step, then HiGHS re-solves from the previous basis, with the HHI cut rounds
any solve has. With ``workers`` (local processes) or a Dask ``scheduler`` the
points are split into contiguous chunks (:mod:`optimizer.parallel`); each
worker process builds its own model once and sweeps its chunks warm.

:func:`optimizer.report.figures.frontier_figure` draws a sweep and
:func:`optimizer.report.scenario_files.write_frontier` writes it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import numpy as np
import pandas as pd

from optimizer.data import prepare
from optimizer.errors import did_you_mean
from optimizer.input.instance import Instance
from optimizer.input.schema import (
    AVERAGE_KINDS,
    CHANGE_KINDS,
    COUNT_KINDS,
    SHARE_KINDS,
    VOLUME_KINDS,
)
from optimizer.model import build_model
from optimizer.parallel import ParallelError, Progress, check_where, map_chunks
from optimizer.results import scope_marginal_costs
from optimizer.solver.highs import SolveStatus
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: at most this many swept rules (a curve, or a grid of two)
MAX_RULES = 2
#: volumes below this are zero (as in results.py)
TINY = 1e-9
#: kinds whose limit is a share in [0, 1]
FRACTION_KINDS = (*SHARE_KINDS, "max_top_share", "max_hhi")


class FrontierError(ValueError):
    """A sweep that cannot be carried out as asked; ``problems`` lists why."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Axis:
    """One swept rule and its values."""

    rule: str
    kind: str
    values: tuple[float, ...]

    @property
    def loosest(self) -> float:
        """The value that allows the most plans."""
        return max(self.values) if self.kind.startswith("max_") else min(self.values)

    @property
    def unit(self) -> str:
        if self.kind in FRACTION_KINDS:
            return "percentage point"
        if self.kind in VOLUME_KINDS or self.kind in CHANGE_KINDS:
            return "GWh"
        if self.kind in AVERAGE_KINDS:
            return "unit of the average"
        return "group"


def value_range(start: float, stop: float, steps: int) -> list[float]:
    """``steps`` evenly spaced values from ``start`` to ``stop``, both included
    (rounded to 12 decimals, so that 0.1 steps print as 0.3, not 0.30000000000000004)."""
    if steps < 2:
        raise FrontierError([f"steps must be at least 2 (from and to are both points), "
                             f"got {steps}"])
    return [round(float(v), 12) for v in np.linspace(start, stop, steps)]


def _check_value(kind: str, v: float) -> str | None:
    if not math.isfinite(v):
        return f"{v} is not a finite number"
    if kind in FRACTION_KINDS and not 0 <= v <= 1:
        return f"{v:g} is not a share between 0 and 1 (write 40% as 0.4)"
    if (kind in VOLUME_KINDS or kind in CHANGE_KINDS) and v < 0:
        return f"{v:g} is not a volume >= 0 GWh"
    if kind in COUNT_KINDS and (v < 0 or not float(v).is_integer()):
        return f"{v:g} is not a whole number of groups >= 0"
    return None


def check_axes(inst: Instance, spec: Mapping[str, Sequence[float]]) -> list[Axis]:
    """The swept rules and values, checked: every problem is reported at once."""
    problems: list[str] = []
    if not spec:
        problems.append("name a rule to sweep")
    if len(spec) > MAX_RULES:
        problems.append(f"a frontier sweeps one rule or a grid of two, not {len(spec)} "
                        f"({', '.join(spec)})")
    limited = [r.name for r in inst.rules if r.limit is not None]
    axes = []
    for name, values in spec.items():
        try:
            rule = inst.rule(name)
        except KeyError:
            known = ", ".join(limited) if limited else "none"
            problems.append(f"rule '{name}' is not in {inst.source}"
                            f"{did_you_mean(name, [r.name for r in inst.rules])}; "
                            f"rules with a limit: {known}")
            continue
        if rule.kind == "exclude" or rule.limit is None:
            problems.append(f"rule '{name}' is an exclusion (kind {rule.kind}): it has no "
                            "limit to sweep")
            continue
        vals = [float(v) for v in values]
        if not vals:
            problems.append(f"no values given for rule '{name}'")
            continue
        bad = [msg for v in vals if (msg := _check_value(rule.kind, v)) is not None]
        for msg in bad:
            problems.append(f"rule '{name}' ({rule.kind}): {msg}")
        axes.append(Axis(name, rule.kind, tuple(vals)))
    if problems:
        raise FrontierError(problems)
    return axes


# --------------------------------------------------------------------------- one model
class Sweeper:
    """An instance built once, whose swept limits change in place.

    ``Sweeper(inst, names).solve((0.4,))`` sets the limit of rule ``names[0]``
    to 0.4, re-solves warm and returns one frontier row (a dict, without
    premiums). Limits change through the solve session
    (:meth:`optimizer.solver.session.Session.set_limit`), which knows where each
    kind of rule holds its limit; every point is a whole solve (HHI caps get
    their cuts). ``rebuild=True`` builds and solves a new model per point
    instead (the same answers, slower: a cross-check).
    """

    def __init__(self, inst: Instance, names: Sequence[str],
                 options: SolverOptions | None = None, rebuild: bool = False):
        self.inst = inst
        self.names = list(names)
        self.options = options or SolverOptions()
        self.kinds = [inst.rule(n).kind for n in self.names]
        self.warm = not rebuild
        self.session = self._session(inst)
        self._index_results()

    def _session(self, inst: Instance) -> Session:
        data = prepare(inst)
        return Session(build_model(data), data, self.options)

    def _index_results(self) -> None:
        m, lanes = self.session.m, self.session.data.lanes
        self.unmet_cols = np.array([self.session.column(m.unmet[k]) for k in m.UNMET_ALLOWED],
                                   dtype=np.int64)
        self.unmet_cols = self.unmet_cols[self.unmet_cols >= 0]
        # the mix: each lane's group code under control and family
        self.mix: list[tuple[list[str], np.ndarray]] = []
        self.mix_columns: list[str] = []
        for by in ("control", "family"):
            values = lanes[by].astype(str).to_numpy()
            groups = sorted(set(values.tolist()))
            codes = np.searchsorted(np.array(groups, dtype=str), values).astype(np.int64)
            self.mix.append(([f"share_{by}_{g}" for g in groups], codes))
            self.mix_columns += self.mix[-1][0]

    # ------------------------------------------------------------ solving
    def sweep(self, points: Sequence[tuple[int, Sequence[float]]],
              progress: Progress | None = None) -> list[dict[str, Any]]:
        """Solve each (index, limits) point in turn, warm; rows tagged with the point."""
        rows = []
        for index, limits in points:
            row = self.solve(limits)
            row["_point"] = index
            row["_mode"] = "warm" if self.warm else "rebuild"
            rows.append(row)
            if progress:
                progress(len(rows), len(points))
        return rows

    def solve(self, limits: Sequence[float]) -> dict[str, Any]:
        """One frontier row at these limits (one per swept rule)."""
        limits = [float(v) for v in limits]
        if self.warm:
            for name, v in zip(self.names, limits, strict=True):
                if self.session.limit(name) != v:
                    self.session.set_limit(name, v)
            status = self.session.resolve()
        else:
            inst = self.inst
            for name, v in zip(self.names, limits, strict=True):
                inst = inst.with_rule_limit(name, v)
            self.session = self._session(inst)
            status = self.session.solve(polish=False)
        return self._row(limits, status)

    def _row_head(self, limits: Sequence[float]) -> dict[str, Any]:
        row: dict[str, Any] = {}
        for i, (name, v) in enumerate(zip(self.names, limits, strict=True)):
            suffix = "" if i == 0 else f"_{i + 1}"
            row[f"rule{suffix}"] = name
            row[f"limit{suffix}"] = v
        return row

    def _row(self, limits: Sequence[float], st: SolveStatus) -> dict[str, Any]:
        session = self.session
        row = self._row_head(limits)
        nan = float("nan")
        row.update({"status": st.status, "objective": nan, "gwh": nan, "unmet_gwh": nan,
                    **{f"marginal_cost{'' if i == 0 else f'_{i + 1}'}": nan
                       for i in range(len(self.names))},
                    **dict.fromkeys(self.mix_columns, nan), "solve_seconds": st.solve_seconds})
        if session.is_mip:
            row["mip_gap"] = st.mip_gap if st.mip_gap is not None else nan
        if not st.has_solution or st.objective is None:
            return row
        trouble = session.trouble()
        if trouble:
            row["warning"] = trouble
        x = session.lane_values()
        total = float(x.sum())
        row["objective"] = float(st.objective)
        row["gwh"] = total
        cols = session.col_values()
        unmet = float(cols[self.unmet_cols].sum()) if len(self.unmet_cols) else 0.0
        row["unmet_gwh"] = unmet if unmet > TINY else 0.0
        if total > 0:
            for columns, codes in self.mix:
                shares = np.bincount(codes, weights=x, minlength=len(columns)) / total
                row.update(zip(columns, shares.tolist(), strict=True))
        if st.status == "optimal":
            duals = session.duals()
            if duals is not None:
                data = session.data
                for i, name in enumerate(self.names):
                    if self.kinds[i] in COUNT_KINDS:
                        continue  # a count has no price per unit
                    per_scope = scope_marginal_costs(data, session, x, duals, rules={name})
                    mc = float(np.nansum(per_scope))
                    row[f"marginal_cost{'' if i == 0 else f'_{i + 1}'}"] = \
                        0.0 if abs(mc) < 1e-12 else mc
        return row


# --------------------------------------------------------------------------- workers
_CACHE: OrderedDict[tuple[str, int], Sweeper] = OrderedDict()
_CACHE_SIZE = 2
#: HiGHS instances in one process share a thread scheduler: threads of one
#: process (a threaded Dask worker) take turns
_LOCK = threading.Lock()


def _run_chunk(inst: Instance, points: list[tuple[int, tuple[float, ...]]], names: list[str],
               options: SolverOptions, token: str) -> list[dict[str, Any]]:
    """Sweep a chunk of points on this process's model for this sweep (built on
    the first chunk, then re-used warm). Runs in worker processes and Dask
    workers, through :func:`optimizer.parallel.map_chunks`."""
    with _LOCK:
        key = (token, threading.get_ident())
        sweeper = _CACHE.get(key)
        if sweeper is None:
            sweeper = Sweeper(inst, names, options)
            _CACHE[key] = sweeper
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        _CACHE.move_to_end(key)
        return sweeper.sweep(points)


# --------------------------------------------------------------------------- entry point
def frontier(
    instance: str | Path | Instance | None,
    rule: str | Mapping[str, Sequence[float]],
    values: Sequence[float] | None = None,
    *,
    options: SolverOptions | None = None,
    workers: int = 1,
    scheduler: Any = None,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The optimum, premium, marginal cost and mix at each limit of a rule.

    ``rule`` is a rule name with ``values``, or a mapping ``{name: values}`` of
    one or two rules (two make a grid of every pair). ``instance`` is a path,
    an :class:`Instance` or None (the bundled default). ``workers`` > 1 sweeps
    on that many local processes; ``scheduler`` (a ``dask.distributed``
    address such as ``tcp://host:8786``, or a ``Client``) on a Dask cluster.
    ``progress(done, total)`` is called as points finish. See the module
    docstring for the columns. Raises :class:`FrontierError` for a sweep that
    cannot be done (unknown rule, an exclusion, values out of range).
    """
    from optimizer.input import default_instance_path, load_instance

    if isinstance(rule, str):
        if values is None:
            raise FrontierError([f"no values given for rule '{rule}'"])
        spec: dict[str, Sequence[float]] = {rule: list(values)}
    else:
        if values is not None:
            raise FrontierError(["give the values inside the mapping {rule: values}, "
                                 "not as a separate argument"])
        spec = {str(k): list(v) for k, v in rule.items()}
    try:
        check_where(workers, scheduler)
    except ParallelError as exc:
        raise FrontierError([str(exc)]) from None
    if instance is None:
        instance = default_instance_path()
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    axes = check_axes(inst, spec)
    names = [a.rule for a in axes]
    grid = np.array(np.meshgrid(*[a.values for a in axes], indexing="ij")).reshape(len(axes), -1)
    points = [(k, tuple(float(v) for v in grid[:, k])) for k in range(grid.shape[1])]
    options = options or SolverOptions()

    t0 = time.perf_counter()
    size: dict[str, int] = {}
    if scheduler is not None or (workers > 1 and len(points) > 1):
        # each worker process builds the model once and sweeps its chunks warm
        try:
            rows = map_chunks(_run_chunk, inst, points, (names, options, uuid4().hex),
                              workers=workers, scheduler=scheduler, progress=progress)
        except ParallelError as exc:
            raise FrontierError([str(exc)]) from None
    else:
        sweeper = Sweeper(inst, names, options)
        size = sweeper.session.size
        rows = sweeper.sweep(points, progress)
    df = _assemble(rows, axes)
    df.attrs.update({
        "rules": names,
        "kinds": [a.kind for a in axes],
        "units": [a.unit for a in axes],
        "loosest": [a.loosest for a in axes],
        "mode": rows[0]["_mode"] if rows else "warm",
        "model_size": size,
        "seconds": time.perf_counter() - t0,
        "instance": inst.name,
    })
    return df


def _assemble(rows: list[dict[str, Any]], axes: list[Axis]) -> pd.DataFrame:
    df = pd.DataFrame(rows).sort_values("_point", kind="stable")
    df = df.drop(columns=["_point", "_mode"]).reset_index(drop=True)
    loose = np.ones(len(df), dtype=bool)
    for i, a in enumerate(axes):
        loose &= df[f"limit{'' if i == 0 else f'_{i + 1}'}"].to_numpy() == a.loosest
    base = df.loc[loose, "objective"]
    baseline = float(base.iloc[0]) if len(base) else float("nan")
    df.attrs["baseline_objective"] = baseline
    premium = df["objective"] - baseline
    usable = math.isfinite(baseline) and baseline != 0
    df["premium"] = premium
    df["premium_pct"] = 100 * premium / baseline if usable else np.nan
    head = ["rule", "limit"] + (["rule_2", "limit_2"] if len(axes) > 1 else [])
    marg = [c for c in df.columns if c.startswith("marginal_cost")]
    shares = [c for c in df.columns if c.startswith("share_")]
    tail = [c for c in ("mip_gap", "solve_seconds", "warning") if c in df.columns]
    order = [*head, "status", "objective", "premium", "premium_pct", *marg, "gwh",
             "unmet_gwh", *shares, *tail]
    return df[order]


__all__ = ["Axis", "FrontierError", "Sweeper", "check_axes", "frontier", "value_range"]
