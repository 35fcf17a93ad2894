"""The model's index: which Pyomo rows carry which rule scope, capacity or demand.

Every model module that writes a row a buyer can name (a rule scope, a
supplier's capacity, a demand) records it here, so that the solve layer and
the analyses find rows through typed fields instead of reading attributes of
the Pyomo model back by name. ``build_model`` puts one :class:`ModelIndex` on
the model as ``m.model_index``.

Where a rule's limit enters its row (:attr:`RuleRow.side`, :attr:`RuleRow.covered`):

* volume and count rows read ``V <= limit`` or ``V >= limit``: the limit is
  the row's bound (``covered`` is None);
* share, average and top-k rows compare with ``limit * X``, X the volume
  bought for the covered applications. Every demand row says bought + unmet =
  demand, so X = D - sum(unmet) with D the covered demand (a number): the row
  ``... - limit * X <= 0`` is written ``... + limit * sum(unmet) <= limit * D``
  (or ``>=``), short and without a helper variable. Changing the limit changes
  the bound and the coefficients of the unmet demand (:attr:`covered`);
* HHI caps have no row of their own: their tangent cuts
  ``sum_g a_g V_g - sqrt(limit) X <= 0`` are added while solving
  (:attr:`ModelIndex.hhi_cuts`), written the same way with sqrt(limit).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from optimizer.data import RuleScope

Side = Literal["upper", "lower"]


@dataclass
class CoveredVolume:
    """X, the GWh bought for some applications in a period: ``demand`` (the
    covered demand, GWh) minus the sum of ``unmet`` (those applications' unmet
    demand variables, where demand may go unmet)."""

    demand: float
    unmet: list[Any]


@dataclass
class CoveredMeasure:
    """X in another measure than GWh (kt of a material, USD million of spend):
    a variable defined by ``X = sum_i w_i x_i`` over the covered purchases (it
    cannot be written from demand: the weights differ by purchase)."""

    variable: Any


@dataclass
class RuleRow:
    """The row of one rule scope: the limit is its ``side`` bound, times the
    covered demand (and then also the coefficient of each unmet variable)
    when ``covered`` is given."""

    scope: RuleScope
    #: the Pyomo constraint (one row)
    constraint: Any
    side: Side
    covered: CoveredVolume | CoveredMeasure | None = None


@dataclass
class CapacityRow:
    """A supplier's capacity in a period: ``sum_a x[s, a, t] <= capacity`` (or,
    for a supplier with an on/off decision, ``<= capacity * delivers``)."""

    supplier: str
    period: int
    capacity: float
    constraint: Any


@dataclass
class ContractRow:
    """The minimum of an already-signed contract in one period:
    ``sum_a x[s, a, t] (+ shortfall) >= min_gwh`` (SPEC section 8)."""

    contract: str
    supplier: str
    period: int
    min_gwh: float
    constraint: Any


@dataclass
class Trivial:
    """A requirement that no variable can meet, found while building (no row).

    ``kind`` is ``demand`` (a hard demand no lane can serve: always infeasible)
    or ``rule`` (a floor on groups that have no lane: infeasible while the
    rule's limit is above ``above``)."""

    kind: Literal["demand", "rule"]
    gwh: float = 0.0
    application: str | None = None
    period: int | None = None
    scope: RuleScope | None = None
    above: float = 0.0


@dataclass
class ModelIndex:
    """Typed handles on the rows of a built model (see the module docstring)."""

    #: scope label -> its row (every rule kind but exclusions and HHI caps)
    rule_rows: dict[str, RuleRow] = field(default_factory=dict)
    #: coverage (period, covered applications[, measure]) -> the covered volume X
    covered: dict[tuple, CoveredVolume | CoveredMeasure] = field(default_factory=dict)
    #: scope label -> scope, for every HHI cap with something to cover
    hhi_scopes: dict[str, RuleScope] = field(default_factory=dict)
    #: scope label -> the tangent cuts added so far (Pyomo constraints)
    hhi_cuts: dict[str, list[Any]] = field(default_factory=dict)
    #: (supplier, period) -> capacity row
    capacity: dict[tuple[str, int], CapacityRow] = field(default_factory=dict)
    #: (application, period) -> demand row
    demand: dict[tuple[str, int], Any] = field(default_factory=dict)
    #: (contract, period) -> the minimum row of an already-signed contract
    contracts: dict[tuple[str, int], ContractRow] = field(default_factory=dict)
    #: requirements that no variable can meet (no row was written for them)
    trivial: list[Trivial] = field(default_factory=list)

    def add_rule_rows(self, constraint: Any, scopes: dict[str, RuleScope], side: Any,
                      covered: bool = False) -> None:
        """Record the rows of an indexed constraint, one per scope label.

        ``side`` is a :data:`Side`, or a function of the scope giving one;
        ``covered``: the limit multiplies the scope's covered volume X."""
        for label, scope in scopes.items():
            at = side(scope) if callable(side) else side
            self.rule_rows[label] = RuleRow(scope, constraint[label], at,
                                            self.covered[scope.coverage] if covered else None)

    def scopes_of_rule(self, name: str) -> list[str]:
        """Labels of the scopes of rule ``name`` that have a row or cuts."""
        labels = [k for k, r in self.rule_rows.items() if r.scope.rule.name == name]
        labels += [k for k, s in self.hhi_scopes.items() if s.rule.name == name]
        return labels


def index_of(m: Any) -> ModelIndex:
    """The index ``build_model`` put on a model."""
    index = m.model_index
    assert isinstance(index, ModelIndex), "not a model made by optimizer.build_model"
    return index
