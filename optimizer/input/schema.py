"""The typed schema of an instance (SPEC section 2, 3 and 5).

Each table row is a pydantic model that refuses unknown fields, NaN and
infinity, and values out of range. Cross-table checks (references, duplicate
ids, missing prices) live in :mod:`optimizer.input.validate`; this module only knows
single rows and top-level settings.
"""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from optimizer.input.fields import (
    ORIGIN,
    Fraction,
    NonNegative,
    Number,
    Row,
    Text,
    TextList,
    Year,
    YearList,
    _not_bool,
    _to_list,
    field_problems,
)
from optimizer.input.schema_building import Contract, Expansion, Stock
from optimizer.input.schema_scenarios import Scenario


class Chemistry(Row):
    id: Text
    family: Text


class Country(Row):
    id: Text
    name: str | None = None
    bloc: Text | None = None


class Application(Row):
    id: Text
    chemistries: Annotated[TextList, Field(min_length=1)]
    unmet_penalty: NonNegative | None = None


class Demand(Row):
    application: Text
    period: Year
    gwh: NonNegative


SUPPLIER_FIELDS = (
    "id",
    "company",
    "country",
    "control",
    "chemistry",
    "capacity",
    "price",
    "freight",
    "fixed_cost",
    "min_order",
    "carbon_intensity",
    "available_from",
    "available_until",
    "qualification_cost",
)


class Supplier(Row):
    """A supplier offer. Declared attributes arrive as extra fields and are
    checked against the instance's ``attributes`` list by the validator."""

    model_config = ConfigDict(
        extra="allow", allow_inf_nan=False, str_strip_whitespace=True, frozen=True
    )

    id: Text
    company: Text
    country: Text
    control: Text | None = None
    chemistry: Text
    capacity: NonNegative | None = None
    price: NonNegative | None = None
    freight: NonNegative | None = None
    fixed_cost: NonNegative | None = None
    min_order: NonNegative | None = None
    carbon_intensity: NonNegative | None = None
    available_from: Year | None = None
    available_until: Year | None = None
    #: USD million, charged once in the first period the supplier delivers
    qualification_cost: NonNegative | None = None

    @property
    def attributes(self) -> dict[str, Any]:
        return dict(self.__pydantic_extra__ or {})

    @model_validator(mode="after")
    def _window(self) -> Supplier:
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until < self.available_from
        ):
            raise field_problems([(
                "available_until",
                f"must not be before available_from ({self.available_from}), "
                f"got {self.available_until}",
            )])
        return self


class CapacityRow(Row):
    supplier: Text
    period: Year
    gwh: NonNegative


class PriceRow(Row):
    supplier: Text
    period: Year
    price: NonNegative


class Tariff(Row):
    model_config = ConfigDict(populate_by_name=True)

    origin: Text
    rate: NonNegative
    chemistry: Text | None = None
    family: Text | None = None
    from_: Year | None = Field(default=None, alias="from")
    until: Year | None = None


class PriceTier(Row):
    supplier: Text
    from_gwh: NonNegative
    price: NonNegative
    period: Year | None = None


class Lane(Row):
    supplier: Text
    application: Text
    freight: NonNegative


RuleKind = Literal[
    "max_share",
    "min_share",
    "max_volume",
    "min_volume",
    "exclude",
    "max_count",
    "min_count",
    "max_average",
    "min_average",
    "max_top_share",
    "max_hhi",
    "max_change",
]

class Material(Row):
    """An upstream material held in cells (lithium, graphite, nickel ...)."""

    id: Text
    name: str | None = None


class Content(Row):
    """Mass of a material embedded per kWh of a chemistry's cells (1 GWh x 1
    kg/kWh = 1 kt). A chemistry without a row for a material holds none."""

    chemistry: Text
    material: Text
    kg_per_kwh: NonNegative


class Origin(Row):
    """Where a supplier's material comes from at one stage: the share from
    one country (the shares of a supplier, material, stage and period add up
    to 1); rows with a ``period`` override the rows without for that period."""

    supplier: Text
    material: Text
    stage: Text
    country: Text
    share: Fraction
    period: Year | None = None


SHARE_KINDS = ("max_share", "min_share")
VOLUME_KINDS = ("max_volume", "min_volume")
#: how fast a group's volume may move between consecutive periods (GWh)
CHANGE_KINDS = ("max_change",)
COUNT_KINDS = ("max_count", "min_count")
CONCENTRATION_KINDS = ("max_top_share", "max_hhi")
#: rules whose scope holds several groups at once (rather than one V)
GROUPED_KINDS = (*COUNT_KINDS, *CONCENTRATION_KINDS)
AVERAGE_KINDS = ("max_average", "min_average")
BUILTIN_GROUPINGS = ("supplier", "company", "country", "control", "bloc", "chemistry", "family")
#: rule kinds that may group by origin
ORIGIN_KINDS = (*SHARE_KINDS, *VOLUME_KINDS, "max_top_share", "max_hhi", "exclude")
#: what a share rule measures: GWh of cells (default) or the landed cost spent
MEASURES = ("gwh", "spend")


class Rule(Row):
    """An allocation rule. Which fields a kind needs is checked here; whether
    the names it refers to exist is checked by the validator."""

    name: Text
    kind: RuleKind
    by: Text | None = None
    group: TextList | None = None
    limit: Number | None = None
    applications: TextList | None = None
    per_application: bool = False
    periods: YearList | None = None
    threshold: Fraction | None = None
    attribute: Text | None = None
    k: Annotated[int, BeforeValidator(_not_bool), Field(ge=1)] | None = None
    penalty: NonNegative | None = None
    #: ``by: origin``: the material and the stage whose origin the rule caps
    material: Text | None = None
    stage: Text | None = None
    #: share rules: ``gwh`` (default) or ``spend`` (landed cost)
    measure: Literal["gwh", "spend"] | None = None

    @property
    def by_origin(self) -> bool:
        return self.by == ORIGIN

    @model_validator(mode="after")
    def _fields_for_kind(self) -> Rule:
        kind = self.kind
        problems: list[tuple[str, str]] = []

        def need(name: str) -> None:
            if getattr(self, name) is None:
                problems.append((name, f"is required for kind {kind}"))

        def refuse(name: str, why: str) -> None:
            if getattr(self, name) is not None:
                problems.append((name, f"is not used by kind {kind} ({why})"))

        if kind in AVERAGE_KINDS:
            need("attribute")
            need("limit")
            refuse("by", "an average is taken over all covered volume")
            refuse("group", "an average is taken over all covered volume")
        else:
            need("by")
            refuse("attribute", "only average rules take an attribute")
        if kind == "exclude":
            need("group")
            refuse("limit", "an exclusion allows no volume at all")
            refuse("penalty", "an exclusion cannot be soft")
        elif kind not in AVERAGE_KINDS:
            need("limit")
        if kind == "max_hhi":
            refuse("penalty", "an HHI cap is enforced by cuts and cannot be soft")
        if kind not in COUNT_KINDS:
            refuse("threshold", "only count rules take a threshold")
        if kind != "max_top_share":
            refuse("k", "only max_top_share takes k")
        else:
            need("k")
        if self.by == ORIGIN:
            need("material")
            need("stage")
            if kind not in ORIGIN_KINDS:
                problems.append(("kind", f"{kind} cannot group by origin: use one of "
                                         f"{', '.join(ORIGIN_KINDS)}"))
            if self.measure is not None:
                problems.append(("measure", "is not used with by: origin (a rule on a "
                                            "material's origin measures its mass, in kt)"))
        else:
            refuse("material", "only rules with by: origin name a material")
            refuse("stage", "only rules with by: origin name a stage")
        if self.measure is not None and kind not in SHARE_KINDS:
            problems.append(("measure", f"is not used by kind {kind} (only share rules "
                                        "measure GWh or spend)"))
        if self.group is not None and len(self.group) == 0:
            problems.append(("group", "is empty: name at least one value or leave it out"))
        if self.applications is not None and len(self.applications) == 0:
            problems.append(("applications", "is empty: name at least one or leave it out"))
        if self.periods is not None and len(self.periods) == 0:
            problems.append(("periods", "is empty: name at least one or leave it out"))

        limit = self.limit
        if limit is not None:
            if kind in (*SHARE_KINDS, "max_top_share", "max_hhi") and not 0 <= limit <= 1:
                problems.append(("limit", f"must be a share between 0 and 1, got {limit:g}"))
            elif kind in CHANGE_KINDS and limit < 0:
                problems.append(("limit", f"must be a change in volume >= 0 GWh, got {limit:g}"))
            elif kind in VOLUME_KINDS and limit < 0:
                unit = "kt" if self.by == ORIGIN else "GWh"
                problems.append(("limit", f"must be a volume >= 0 {unit}, got {limit:g}"))
            elif kind in COUNT_KINDS and (limit < 0 or not float(limit).is_integer()):
                problems.append(
                    ("limit", f"must be a whole number of groups >= 0, got {limit:g}")
                )
        if kind == "min_count" and not (self.threshold or 0) > 0:
            problems.append(
                ("threshold", "must be > 0 for min_count (the share a group must supply)")
            )
        if problems:
            raise field_problems(problems)
        return self


class Settings(BaseModel):
    """Top-level scalar keys of an instance."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    format: Annotated[Literal[1], BeforeValidator(_not_bool)]
    name: Text
    description: str | None = None
    periods: Annotated[list[Year], Field(min_length=1)]
    discount_rate: Fraction = 0.0
    carbon_price: NonNegative = 0.0
    attributes: Annotated[list[Text], BeforeValidator(_to_list)] = Field(default_factory=list)
    #: upstream stages, in order (mining, refining, active_material ...)
    stages: Annotated[list[Text], BeforeValidator(_to_list)] = Field(default_factory=list)
    spot_premium: NonNegative = 0.2
    #: scenarios: cells delivered beyond a scenario's demand recover this share of
    #: their scenario ex-works price (SPEC section 10)
    surplus_value: Fraction = 0.0
    shortage_penalty: NonNegative = 1000.0

    @field_validator("periods")
    @classmethod
    def _increasing(cls, periods: list[int]) -> list[int]:
        for a, b in itertools.pairwise(periods):
            if b <= a:
                raise ValueError(f"must be strictly increasing, but {b} follows {a}")
        return periods


#: table name -> (row model, required?)
TABLES: dict[str, tuple[type[Row], bool]] = {
    "chemistries": (Chemistry, True),
    "countries": (Country, True),
    "applications": (Application, True),
    "demand": (Demand, True),
    "suppliers": (Supplier, True),
    "capacity": (CapacityRow, False),
    "prices": (PriceRow, False),
    "tariffs": (Tariff, False),
    "price_tiers": (PriceTier, False),
    "lanes": (Lane, False),
    "rules": (Rule, False),
    "scenarios": (Scenario, False),
    "materials": (Material, False),
    "content": (Content, False),
    "origins": (Origin, False),
    "expansions": (Expansion, False),
    "contracts": (Contract, False),
    "stock": (Stock, False),
}

SETTINGS_KEYS = tuple(Settings.model_fields)
