"""Risk measures of a plan's play-out: expected cost, CVaR, the worst case."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from optimizer.scenarios.errors import ScenarioError


def expected(costs: ArrayLike, probabilities: ArrayLike) -> float:
    """The probability-weighted sum of ``costs``."""
    return float(np.dot(np.asarray(costs, dtype=float), np.asarray(probabilities, dtype=float)))


def cvar(costs: ArrayLike, probabilities: ArrayLike, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: the mean cost over the worst
    ``1 - alpha`` of probability, an atom split where the tail boundary falls in
    it. Equal to the Rockafellar-Uryasev value
    ``min_eta eta + E[(cost - eta)+] / (1 - alpha)``. Probabilities must add up to 1."""
    if not 0 <= alpha < 1:
        raise ScenarioError(f"alpha must be in [0, 1), got {alpha}")
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"probabilities add up to {p.sum():.12g}, not 1")
    tail = 1.0 - alpha
    taken = 0.0
    total = 0.0
    for i in np.argsort(-c, kind="stable"):
        if taken >= tail:
            break
        take = min(p[i], tail - taken)
        total += take * c[i]
        taken += take
    return float(total / tail)


def check_risk(weight: float, alpha: float) -> None:
    """A CVaR weight in [0, 1] and a level alpha in [0, 1), else :class:`ScenarioError`."""
    if not (0.0 <= weight <= 1.0) or weight != weight:
        raise ScenarioError(f"the CVaR weight must be in [0, 1], got {weight}")
    if not (0.0 <= alpha < 1.0) or alpha != alpha:
        raise ScenarioError(f"alpha must be in [0, 1), got {alpha}")


def _worst(table: pd.DataFrame) -> dict[str, Any] | None:
    """The dearest case with a positive probability."""
    live = table[table["probability"] > 0]
    if live.empty:
        return None
    row = live.iloc[int(np.argmax(live["cost"].to_numpy()))]
    return {"scenario": row["scenario"], "cost": float(row["cost"]),
            "probability": float(row["probability"])}


def risk_summary(table: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """Expected cost, CVaR and worst case of one plan's play-out table (N-1
    what-ifs, of probability 0, do not count)."""
    live = table[table["kind"] != "n-1"]
    p = live["probability"].to_numpy(dtype=float)
    return {
        "base_cost": float(live.loc[live["kind"] == "base", "cost"].iloc[0]),
        "expected_cost": expected(live["cost"], p),
        "cvar": cvar(live["cost"].to_numpy(), p, alpha),
        "expected_spot_gwh": expected(live["spot_gwh"], p),
        "expected_unmet_gwh": expected(live["unmet_gwh"], p),
        "worst_scenario": _worst(live),
    }
