"""A rule scope: one row of a rule (a period, maybe one application, maybe one
group value), as positions of the lanes it sums (data layer, no Pyomo)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from optimizer.input.schema import Rule


@dataclass
class RuleScope:
    """One row of a rule: a period, maybe one application, maybe one group value.

    ``members`` and ``covered`` are positions in :attr:`ModelData.lanes`:
    V is the volume on ``members``, X the volume on ``covered`` (members are a
    subset of covered). ``coverage`` keys the covered volume so that rules over
    the same applications and period share one total.
    """

    rule: Rule
    period: int
    application: str | None
    group: str | None
    members: np.ndarray
    covered: np.ndarray
    #: (period, applications) for GWh; (period, applications, measure) otherwise
    coverage: tuple
    weights: np.ndarray | None = None  # average rules: attribute value per covered lane
    #: count, top-k and HHI rules: lane positions of each group
    groups: dict[str, np.ndarray] | None = None
    #: an upper bound on the covered volume X (big-M for count rules), from demand
    max_covered: float = 0.0
    #: what V and X measure: ``gwh`` (purchases), ``kt`` (a material's mass: rules
    #: by origin) or ``spend`` (landed cost, USD million)
    measure: str = "gwh"
    #: with another measure than GWh: each member's, covered lane's and group
    #: lane's weight (kt or USD million per GWh bought)
    member_weights: np.ndarray | None = None
    covered_weights: np.ndarray | None = None
    group_weights: dict[str, np.ndarray] | None = None
    #: ``max_change`` rules: "rise" (V_t - V_t-1 <= limit) or "fall" (V_t-1 - V_t <= limit)
    direction: str | None = None

    def volume(self, x: np.ndarray) -> float:
        """V: the group's volume in the scope's measure, for lane volumes x."""
        if self.member_weights is None:
            return float(x[self.members].sum())
        return float(x[self.members] @ self.member_weights)

    def covered_volume(self, x: np.ndarray) -> float:
        """X: the covered volume in the scope's measure."""
        if self.covered_weights is None:
            return float(x[self.covered].sum())
        return float(x[self.covered] @ self.covered_weights)

    def group_volumes(self, x: np.ndarray) -> dict[str, float]:
        """V_g of each group (count, top-k and HHI rules)."""
        out = {}
        for g, positions in (self.groups or {}).items():
            w = self.group_weights.get(g) if self.group_weights is not None else None
            out[g] = float(x[positions].sum()) if w is None else float(x[positions] @ w)
        return out

    @property
    def label(self) -> str:
        parts = [self.rule.name, str(self.period)]
        if self.application is not None:
            parts.append(self.application)
        if self.group is not None:
            parts.append(self.group)
        if self.direction is not None:
            parts.append(self.direction)
        return "/".join(parts)
