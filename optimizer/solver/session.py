"""One solve path: a built model loaded into HiGHS once, then solved and re-solved.

Everything in the package that needs an optimum goes through a
:class:`Session`: ``solve`` and the Python API, rule costs, repairs, the
frontier, the robust plan and the wait-and-see plans, in this process or in a
worker. A session does, in this order:

1. **trivial conflicts**: requirements that no variable can meet (recorded
   in the model index while building) make the model infeasible without a
   solve;
2. **the run**: HiGHS on the compiled matrices (:mod:`optimizer.solver.highs`);
3. **HHI cut rounds**: for every HHI cap (not dropped for the moment) that the
   plan breaks by more than ``HHI_TOL``, a tangent cut is added and HiGHS
   re-solves warm, until every cap holds;
4. **polish**: a MIP stopped by its time limit has its purchases fixed and
   the rest re-solved, so its cost is the plan's own.

Between solves the model changes only through this class: :meth:`set_limit`
(a rule's limit, in Pyomo and in HiGHS, whatever kind of row carries it) and
:meth:`without` (a rule scope's rows dropped for one re-solve, its HHI cuts
included and no new cut made for it). Re-solves start from the last basis.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterable, Iterator
from functools import cached_property
from typing import Any

import numpy as np
import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.model.concentration import HHI_TOL, MAX_HHI_ROUNDS, hhi_cut, hhi_values
from optimizer.model.index import (
    CoveredMeasure,
    CoveredVolume,
    ModelIndex,
    Trivial,
    index_of,
)
from optimizer.solver.highs import HighsModel, SolveStatus
from optimizer.solver.options import SolverOptions

#: volumes below this are zero (HiGHS's feasibility tolerance is 1e-7)
TINY = 1e-9


class Session:
    """A built model (``m``, from :func:`optimizer.model.build_model` on
    ``data``) compiled and loaded into HiGHS.

    ``session.solve()`` gives the optimum; ``session.lane_values()``,
    ``session.duals()`` read it. ``hm`` is the HiGHS model underneath, for
    reading only: changes go through :meth:`set_limit` and :meth:`without`.
    """

    def __init__(self, m: pyo.ConcreteModel, data: ModelData,
                 options: SolverOptions | None = None, compiler: str = "bulk"):
        self.m = m
        self.data = data
        self.index: ModelIndex = index_of(m)
        self.options = options or SolverOptions()
        self.hm = HighsModel(m, self.options, compiler)
        #: scope labels whose rows are dropped for the moment (:meth:`without`)
        self.relaxed: set[str] = set()
        #: HHI cut rounds so far (each one a warm re-solve)
        self.hhi_rounds = 0
        #: the last solve's status
        self.last: SolveStatus | None = None
        self.polished = False

    # ------------------------------------------------------------- structure
    @property
    def is_mip(self) -> bool:
        return self.hm.is_mip

    @property
    def size(self) -> dict[str, int]:
        return self.hm.size

    @cached_property
    def lane_columns(self) -> np.ndarray:
        """The HiGHS column of each lane's purchase ``x`` (-1: fixed in Pyomo)."""
        ids = np.fromiter(map(id, self.m.lane_vars), dtype=np.uint64,
                          count=len(self.m.lane_vars))
        return self.hm.column_index.find(ids)

    def column(self, var: Any) -> int:
        """The HiGHS column of a Pyomo variable (-1 if it is not one)."""
        return self.hm.col_of.get(id(var), -1)

    def row(self, constraint: Any) -> int:
        """The HiGHS row of a Pyomo constraint (-1 if it is not one)."""
        return self.hm.row_of.get(id(constraint), -1)

    def scope_rows(self) -> dict[str, tuple[RuleScope, list[int]]]:
        """Scope label -> (scope, its HiGHS rows): the rule row, or an HHI
        cap's cuts (none until a plan has broken it)."""
        out: dict[str, tuple[RuleScope, list[int]]] = {}
        for label, rr in self.index.rule_rows.items():
            r = self.row(rr.constraint)
            if r >= 0:
                out[label] = (rr.scope, [r])
        for label, scope in self.index.hhi_scopes.items():
            rows = [r for r in map(self.row, self.index.hhi_cuts.get(label, [])) if r >= 0]
            out[label] = (scope, rows)
        return out

    def rows_of(self, labels: Iterable[str]) -> np.ndarray:
        """The HiGHS rows of these scopes."""
        rows: list[int] = []
        for label in labels:
            rr = self.index.rule_rows.get(label)
            if rr is not None:
                r = self.row(rr.constraint)
                if r >= 0:
                    rows.append(r)
            for cut in self.index.hhi_cuts.get(label, []):
                r = self.row(cut)
                if r >= 0:
                    rows.append(r)
        return np.array(rows, dtype=np.int32)

    def limit(self, rule: str) -> float:
        """A rule's limit as the model holds it now."""
        return float(pyo.value(self.m.rule_limit[rule]))

    def limits(self) -> dict[str, float]:
        """Every rule's limit as the model holds it now (a notebook may have
        changed ``m.rule_limit`` since the instance was read)."""
        return {name: self.limit(name) for name in self.m.RULES}

    # ------------------------------------------------------------- trivial
    def trivial(self) -> list[Trivial]:
        """Requirements no variable can meet at the current limits (scopes
        dropped by :meth:`without` excepted)."""
        out = []
        for item in self.index.trivial:
            if item.kind == "demand":
                out.append(item)
                continue
            assert item.scope is not None
            if item.scope.label in self.relaxed:
                continue
            if self.limit(item.scope.rule.name) > item.above:
                out.append(item)
        return out

    # ------------------------------------------------------------- solving
    def solve(self, meanwhile: Callable[[], object] | None = None,
              polish: bool = True) -> SolveStatus:
        """The optimum (see the module docstring). ``meanwhile``: work that
        needs no solution, run while HiGHS solves (``HighsModel.run``)."""
        if self.trivial():
            return self._no_run()
        status = self.hm.run(meanwhile=meanwhile)
        status = self._cut_hhi(status, None)
        if polish and self.is_mip and status.status == "time_limit" and status.has_solution:
            # the incumbent may pay for switches it does not use or fill tiers out of
            # order; with its purchases fixed, settle the rest at their cheapest
            m = self.m
            status = self.hm.polish([m.x[k] for k in m.LANES] +
                                    [m.unmet[k] for k in m.UNMET_ALLOWED])
            self.polished = True
        self.last = status
        return status

    def resolve(self, time_limit: float | None = None) -> SolveStatus:
        """A warm re-solve after a change (HHI cut rounds included), within
        ``time_limit`` seconds in all (``None``: the user's own limit)."""
        if self.trivial():
            return self._no_run()
        t0 = time.perf_counter()
        status = self.hm.run_within(time_limit)
        status = self._cut_hhi(status, None if time_limit is None else t0 + time_limit)
        self.last = status
        return status

    def _no_run(self) -> SolveStatus:
        self.last = SolveStatus("infeasible", False, None, 0.0,
                                highs_status="not run: a requirement no offer can meet")
        return self.last

    def _cut_hhi(self, status: SolveStatus, deadline: float | None) -> SolveStatus:
        """Tangent cuts for every HHI cap the plan breaks, and warm re-solves,
        until each holds within ``HHI_TOL`` (or ``MAX_HHI_ROUNDS`` is reached,
        or the ``deadline`` passes). A model made of several plans (the
        adaptive program: ``m.hhi_parts``, one deterministic model each) gets
        the cuts of each part's plan in that part."""
        parts = []
        for part in getattr(self.m, "hhi_parts", None) or [self.m]:
            idx = index_of(part)
            scopes = {k: s for k, s in idx.hhi_scopes.items() if k not in self.relaxed}
            if scopes:
                parts.append((part, idx, scopes))
        seconds = status.solve_seconds
        rounds = 0
        while parts and status.has_solution and rounds < MAX_HHI_ROUNDS:
            new = []
            for part, idx, scopes in parts:
                x = self.lane_values() if part is self.m else self._part_lanes(part)
                broken = [label for label, hhi in hhi_values(scopes, x).items()
                          if hhi > float(pyo.value(part.rule_limit[scopes[label].rule.name]))
                          + HHI_TOL]
                for label in broken:
                    cut = hhi_cut(part, scopes[label], x)
                    if cut is not None:
                        con = part.hhi_cuts.add(cut)
                        idx.hhi_cuts[label].append(con)
                        new.append(con)
            if not new:
                break
            self.hm.add_constraints(new)
            rounds += 1
            left = None if deadline is None else max(0.0, deadline - time.perf_counter())
            status = self.hm.run_within(left)
            seconds += status.solve_seconds
        self.hhi_rounds += rounds
        status.solve_seconds = seconds
        return status

    def _part_lanes(self, part: Any) -> np.ndarray:
        """GWh on each lane of one part's plan (values below ``TINY`` are 0)."""
        out = np.asarray(self.hm.values_of(list(part.lane_vars)), dtype=float)
        out[np.abs(out) < TINY] = 0.0
        return out

    # ------------------------------------------------------------- changes
    @contextlib.contextmanager
    def without(self, labels: Iterable[str]) -> Iterator[None]:
        """Drop the rows of these rule scopes (and make no HHI cut for them)
        while the block runs; they are put back afterwards."""
        labels = [k for k in labels if k not in self.relaxed]
        rows = self.rows_of(labels)
        self.hm.relax_rows(rows)
        self.relaxed.update(labels)
        try:
            yield
        finally:
            self.relaxed.difference_update(labels)
            self.hm.restore_rows(rows)

    def set_limit(self, rule: str, value: float) -> None:
        """Rule ``rule``'s limit := ``value``, in the Pyomo model and in HiGHS,
        wherever it enters: a row's bound, times the covered demand where the
        row compares with ``limit * X`` (and then also the coefficients of the
        unmet demand), with sqrt(limit) in an HHI cap's cuts."""
        if self.relaxed:
            raise RuntimeError("a limit cannot change while rows are dropped")
        value = float(value)
        self.m.rule_limit[rule] = value
        for label in self.index.scopes_of_rule(rule):
            rr = self.index.rule_rows.get(label)
            if rr is not None:
                self._set_row_limit(self.row(rr.constraint), rr.side, rr.covered, value)
                continue
            scope = self.index.hhi_scopes[label]
            covered = self.index.covered[scope.coverage]
            for cut in self.index.hhi_cuts.get(label, []):
                self._set_row_limit(self.row(cut), "upper", covered,
                                    math.sqrt(max(value, 0.0)))

    def _set_row_limit(self, r: int, side: str, covered: CoveredVolume | CoveredMeasure | None,
                       factor: float) -> None:
        """Row r's limit := factor: its ``side`` bound (x the covered demand D,
        and the coefficients of the covered unmet demand := factor), or, where
        X is a column of its own, X's coefficient := -factor."""
        if r < 0:
            return
        hm = self.hm
        if isinstance(covered, CoveredMeasure):
            c = self.column(covered.variable)
            if c >= 0:
                hm.change_coefficients(np.array([r]), np.array([c]), np.array([-factor]))
            return
        bound = factor if covered is None else factor * covered.demand
        lower, upper = hm.row_lower0[r], hm.row_upper0[r]
        if side == "upper":
            upper = bound
        else:
            lower = bound
        hm.change_row_bounds(np.array([r]), np.array([lower]), np.array([upper]))
        if covered is not None and covered.unmet:
            cols = np.array([self.column(u) for u in covered.unmet])
            keep = cols >= 0
            hm.change_coefficients(np.full(int(keep.sum()), r), cols[keep],
                                   np.full(int(keep.sum()), factor))

    def objective_costs(self) -> tuple[np.ndarray, float]:
        """The objective now: (cost per column, in model order; constant)."""
        return self.hm.lp.cost.copy(), float(self.hm.lp.offset)

    def set_objective_costs(self, cost: np.ndarray) -> None:
        """Minimize ``cost @ columns`` from now on (an analysis that looks for
        other plans within a budget row: :mod:`optimizer.analysis.alternatives`)."""
        self.hm.change_costs(cost)

    def bases(self) -> list[Any]:
        """The current basis of each block (:meth:`restore_bases`)."""
        return self.hm.bases()

    def restore_bases(self, bases: list[Any]) -> None:
        """Start the next re-solve from ``bases``: many analyses re-solve
        faster from the optimum's basis than from the last one."""
        self.hm.restore_bases(bases)

    def add_rows(self, constraints: list) -> np.ndarray:
        """Append Pyomo constraints (already on the model) as rows."""
        return self.hm.add_constraints(constraints)

    def put_back(self, x: np.ndarray) -> None:
        """Make column values ``x`` HiGHS's current solution again (no basis):
        after re-solves of a MIP, cheaper than solving it once more."""
        self.hm.put_back(x)

    # ------------------------------------------------------------- reading
    def lane_values(self) -> np.ndarray:
        """GWh bought on each lane (values below ``TINY`` are 0)."""
        x = self.hm.col_values()
        cols = self.lane_columns
        out = np.where(cols >= 0, x[np.maximum(cols, 0)] if len(x) else 0.0, 0.0)
        fixed = np.flatnonzero(cols < 0)
        for k in fixed.tolist():
            out[k] = self.m.lane_vars[k].value or 0.0
        out[np.abs(out) < TINY] = 0.0
        return out

    def values_of(self, variables: list) -> np.ndarray:
        """Values of Pyomo variables in the current solution."""
        return self.hm.values_of(variables)

    def col_values(self) -> np.ndarray:
        return self.hm.col_values()

    def duals(self) -> np.ndarray | None:
        """Row duals of the current solution; for a MIP, those of the LP with
        its integer variables fixed (None if that LP does not solve)."""
        return self.hm.fixed_integer_duals() if self.is_mip else self.hm.row_duals()

    def trouble(self) -> str | None:
        """A sentence if the plan breaks the compiled model by more than the
        tolerance (numerical trouble), else None."""
        return self.hm.trouble()

    def load_into_pyomo(self) -> None:
        """Write the solution into the Pyomo variables."""
        self.hm.load_into_pyomo()
