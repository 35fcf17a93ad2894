"""A validated instance: typed rows, each with the location it came from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from optimizer.errors import Location, Problem
from optimizer.input.schema import (
    Application,
    CapacityRow,
    Chemistry,
    Content,
    Country,
    Demand,
    Lane,
    Material,
    Origin,
    PriceRow,
    PriceTier,
    Rule,
    Scenario,
    Settings,
    Supplier,
    Tariff,
)
from optimizer.input.schema_building import Contract, Expansion, Stock


@dataclass
class Instance:
    """Everything an instance file says, typed and checked.

    Tables are lists of pydantic rows; ``locations[table][i]`` says where row
    ``i`` of ``table`` came from, so later checks can still point at the file.
    Use :meth:`with_rules` and friends to derive variants without touching the
    file (the frontier and the rule-cost table do).
    """

    source: str
    settings: Settings
    chemistries: list[Chemistry]
    countries: list[Country]
    applications: list[Application]
    demand: list[Demand]
    suppliers: list[Supplier]
    capacity: list[CapacityRow] = field(default_factory=list)
    prices: list[PriceRow] = field(default_factory=list)
    tariffs: list[Tariff] = field(default_factory=list)
    price_tiers: list[PriceTier] = field(default_factory=list)
    lanes: list[Lane] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    scenarios: list[Scenario] = field(default_factory=list)
    materials: list[Material] = field(default_factory=list)
    content: list[Content] = field(default_factory=list)
    origins: list[Origin] = field(default_factory=list)
    expansions: list[Expansion] = field(default_factory=list)
    contracts: list[Contract] = field(default_factory=list)
    stock: list[Stock] = field(default_factory=list)
    locations: dict[str, list[Location]] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.settings.name

    @property
    def periods(self) -> list[int]:
        return list(self.settings.periods)

    def location(self, table: str, index: int) -> Location:
        locs = self.locations.get(table)
        if locs is not None and index < len(locs):
            return locs[index]
        return Location(file=self.source, table=table, row=index + 1)

    def rule(self, name: str) -> Rule:
        for r in self.rules:
            if r.name == name:
                return r
        raise KeyError(f"no rule named '{name}' (rules: {', '.join(r.name for r in self.rules)})")

    def with_rules(self, rules: list[Rule]) -> Instance:
        """A copy with another rule list (locations of new rules are synthetic)."""
        return replace(self, rules=list(rules), locations={**self.locations, "rules": []})

    def with_rule_limit(self, name: str, limit: float) -> Instance:
        """A copy in which rule ``name`` has another limit."""
        rules = [r.model_copy(update={"limit": float(limit)}) if r.name == name else r
                 for r in self.rules]
        self.rule(name)  # raises if absent
        return replace(self, rules=rules)

    def without_rules(self, *names: str) -> Instance:
        return replace(self, rules=[r for r in self.rules if r.name not in names])

    def without_contracts(self, *names: str) -> Instance:
        """A copy without the contracts ``names`` (what is a contract worth?)."""
        return replace(self, contracts=[c for c in self.contracts if c.name not in names],
                       locations={**self.locations, "contracts": []})

    def without_expansions(self, *positions: int) -> Instance:
        """A copy without the expansion rows at ``positions`` (0-based)."""
        return replace(self, expansions=[e for i, e in enumerate(self.expansions)
                                         if i not in positions],
                       locations={**self.locations, "expansions": []})

    def to_dict(self) -> dict[str, Any]:
        """The instance as plain data (the YAML layout, all tables inline)."""
        out: dict[str, Any] = self.settings.model_dump(exclude_none=True, by_alias=True)
        for table in (
            "chemistries", "countries", "applications", "demand", "suppliers", "capacity",
            "prices", "tariffs", "price_tiers", "lanes", "rules", "scenarios", "materials",
            "content", "origins", "expansions", "contracts", "stock",
        ):
            rows = getattr(self, table)
            if rows:
                out[table] = [r.model_dump(exclude_none=True, by_alias=True,
                                           exclude_defaults=table == "rules") for r in rows]
        return out
