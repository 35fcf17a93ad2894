"""What the analyses share: a time budget for their re-solves, and a solve of
an instance on its own (a changed copy: an exclusion lifted, no rules at all)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from optimizer.data import ModelData, prepare
from optimizer.input.instance import Instance
from optimizer.model import build_model
from optimizer.solver.highs import SolveStatus
from optimizer.solver.options import SolverOptions
from optimizer.solver.session import Session

#: the automatic analysis of a model with binaries (where every re-solve is a
#: MIP) starts no re-solve after this many seconds, or after as long as the plan's
#: own solve took if that is longer; ``analysis=True`` (``--analysis``) lifts it
MIP_ANALYSIS_SECONDS = 30.0


@dataclass
class Budget:
    """Wall-clock seconds the analysis may spend on re-solves (``None``: no
    limit). Each re-solve may use only the time left; a re-solve not started,
    or stopped before it was proven optimal, leaves its cost blank (NaN)."""

    seconds: float | None = None
    started: float = field(default_factory=time.perf_counter)
    #: blank costs, by what they are the cost of ("scope", "rule", ...)
    blank: dict[str, int] = field(default_factory=dict)

    def left(self) -> float | None:
        if self.seconds is None:
            return None
        return self.seconds - (time.perf_counter() - self.started)

    def spent(self) -> bool:
        left = self.left()
        return left is not None and left <= 0

    def time_limit(self, user: float | None) -> float | None:
        """The time limit of the next re-solve: the time left, or the user's
        own ``time_limit`` if that comes first (``None``: no limit)."""
        left = self.left()
        if left is None or user is None:
            return user if left is None else max(0.0, left)
        return max(0.0, min(left, user))

    def options(self, options: SolverOptions | None) -> SolverOptions:
        """``options`` for a whole re-solve that may use only the time left."""
        options = options or SolverOptions()
        return replace(options, time_limit=self.time_limit(options.time_limit))

    def missed(self, what: str) -> float:
        self.blank[what] = self.blank.get(what, 0) + 1
        return np.nan


def mip_budget(solve_seconds: float) -> Budget:
    """The automatic analysis's budget for a model with binaries."""
    return Budget(max(MIP_ANALYSIS_SECONDS, solve_seconds))




def solve_alone(inst: Instance, options: SolverOptions | None = None
                ) -> tuple[SolveStatus, ModelData, Session]:
    """Prepare, build and solve an instance through the one solve path (no
    results tables, no analysis, no diagnosis)."""
    data = prepare(inst)
    session = Session(build_model(data), data, options)
    return session.solve(), data, session


def budget_warning(budget: Budget, n_scopes: int, n_rules: int) -> str | None:
    """A sentence on the costs ``budget`` left blank, if any."""
    if not budget.blank:
        return None
    parts = []
    if budget.blank.get("rule"):
        parts.append(f"{budget.blank['rule']} of {n_rules} rules")
    if budget.blank.get("scope"):
        parts.append(f"{budget.blank['scope']} of {n_scopes} rule scopes")
    if budget.blank.get("no_rules"):
        parts.append("the plan without rules (concentration report)")
    if budget.seconds is not None:
        why = (f"the analysis re-solves this model with binaries for at most "
               f"{budget.seconds:.0f} s (as long as the solve, at least "
               f"{MIP_ANALYSIS_SECONDS:.0f} s; --analysis lifts this)")
    else:
        why = "their re-solves stopped at the time limit before proving an optimum"
    listed = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return f"total cost left blank for {listed}: {why}"
