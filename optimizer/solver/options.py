"""Solver controls (imports nothing heavy: the command line reads them)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolverOptions:
    """Solver controls. ``mip_gap`` is relative (1e-6 by default, so that MIP
    answers are exact enough to compare); ``time_limit`` in seconds."""

    time_limit: float | None = None
    mip_gap: float = 1e-6
    threads: int | None = None
    log: bool = False
