"""What a scenario analysis raises: a request it cannot carry out (bad usage,
exit 2) and an instance without a plan (exit 1)."""

from __future__ import annotations

from typing import Any

from optimizer.parallel import ParallelError

#: workers and a scheduler together, in the words of the ``stress`` and ``robust`` commands
BOTH = "give either --workers (local processes) or --scheduler (Dask), not both"


class ScenarioError(Exception):
    """A scenario analysis that cannot be carried out as asked (bad usage, exit 2)."""


class NoPlanError(Exception):
    """The instance has no feasible plan: nothing to stress or make robust (exit 1).
    ``result`` is the deterministic :class:`~optimizer.results.Result` (conflicts,
    repairs) when the deterministic model was the one that failed."""

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


class HelperRank(Exception):
    """Raised by ``robust(engine="mpisppy")`` on every MPI rank but 0 once
    progressive hedging is done: that rank took its share of the scenarios;
    rank 0 carries on (plays the plans out, reports) alone."""


def usage_error(exc: ParallelError) -> ScenarioError:
    """The :class:`ScenarioError` for workers or a scheduler that cannot be used."""
    return ScenarioError(BOTH if exc.reason == "both" else str(exc))
