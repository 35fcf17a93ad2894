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
    model_serializer,
    model_validator,
)

from optimizer.input.fields import (
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
#: the grouping of upstream origin: countries a material comes from at a stage
ORIGIN = "origin"
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


#: the largest capacity or price factor a scenario may give (a price a thousand
#: times the list price is already no market; a larger number is a typing error
#: that would otherwise overflow the costs to infinity)
MAX_FACTOR = 1000.0

#: distributions a scenario factor may be drawn from (``optimizer stress/robust --sample``),
#: with the parameters each takes, in order
DISTRIBUTIONS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "triangular": ("low", "mode", "high"),
    "normal": ("mean", "sd"),
}
_DISTRIBUTION_HELP = ("a number >= 0, or a distribution: {uniform: [low, high]}, "
                      "{triangular: [low, mode, high]} or {normal: [mean, sd]} "
                      "(in a CSV or Excel cell: uniform(low, high) ...)")


class Distribution(Row):
    """An uncertain factor: ``{uniform: [low, high]}``, ``{triangular: [low,
    mode, high]}`` or ``{normal: [mean, sd]}`` (draws below 0 become 0).
    Sampled by ``--sample``; see docs/scenarios.md."""

    kind: Literal["uniform", "triangular", "normal"]
    params: tuple[float, ...]

    @property
    def mean(self) -> float:
        """The mean of the (unclipped) distribution."""
        return float(sum(self.params) / len(self.params)) if self.kind != "normal" \
            else float(self.params[0])

    def describe(self) -> str:
        return f"{self.kind}({', '.join(f'{p:g}' for p in self.params)})"

    @model_serializer
    def _yaml_form(self) -> dict[str, Any]:
        """Dumped in the YAML form, ``{kind: [params]}``."""
        return {self.kind: list(self.params)}


def _parse_distribution(value: Any) -> Distribution:
    """``{kind: [params]}`` or the text ``kind(p1, p2, ...)`` -> a checked Distribution."""
    if isinstance(value, str):
        text = value.strip()
        head, sep, rest = text.partition("(")
        if not sep or not rest.endswith(")"):
            raise ValueError(f"must be {_DISTRIBUTION_HELP}, got '{value}'")
        raw_params: Any = [p.strip() for p in rest[:-1].replace(";", ",").split(",")]
        kind = head.strip().lower()
    elif isinstance(value, dict):
        if len(value) != 1:
            raise ValueError(f"a distribution is one key, its kind, with a list of parameters "
                             f"(e.g. {{uniform: [0, 0.5]}}), got {value}")
        (kind, raw_params), = value.items()
        kind = str(kind)
    else:
        raise ValueError(f"must be {_DISTRIBUTION_HELP}, got {value!r}")
    if kind not in DISTRIBUTIONS:
        raise ValueError(f"unknown distribution '{kind}': use "
                         f"{', '.join(DISTRIBUTIONS)}")
    names = DISTRIBUTIONS[kind]
    if not isinstance(raw_params, list | tuple) or len(raw_params) != len(names):
        raise ValueError(f"{kind} takes {len(names)} parameters [{', '.join(names)}], "
                         f"got {raw_params!r}")
    params: list[float] = []
    for name, p in zip(names, raw_params, strict=True):
        try:
            if isinstance(p, bool):
                raise ValueError
            number = float(p)
        except (TypeError, ValueError):
            raise ValueError(f"{kind}: {name} must be a number, got {p!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"{kind}: {name} must be a finite number, got {p!r}")
        if number < 0:
            raise ValueError(f"{kind}: {name} must be >= 0 (factors are never negative), "
                             f"got {number:g}")
        if number > MAX_FACTOR:
            raise ValueError(f"{kind}: {name} must be at most {MAX_FACTOR:g}, got {number:g}")
        params.append(number)
    if kind == "uniform" and params[0] > params[1]:
        raise ValueError(f"uniform: low ({params[0]:g}) must not exceed high ({params[1]:g})")
    if kind == "triangular" and not params[0] <= params[1] <= params[2]:
        raise ValueError(f"triangular: needs low <= mode <= high, got "
                         f"[{', '.join(f'{p:g}' for p in params)}]")
    return Distribution(kind=kind, params=tuple(params))  # type: ignore[arg-type]


def _factor_value(value: Any) -> Any:
    """A factor is a number >= 0 or a distribution (one clear message either way)."""
    if isinstance(value, Distribution):
        return value
    if isinstance(value, bool):
        raise ValueError(f"factor must be {_DISTRIBUTION_HELP}, got {str(value).lower()}")
    if isinstance(value, str | dict):
        try:
            number = float(value.strip()) if isinstance(value, str) else None
        except ValueError:
            number = None
        if number is None and isinstance(value, str) and "(" not in value:
            raise ValueError(f"factor must be {_DISTRIBUTION_HELP}, got '{value}'")
        if number is None:
            try:
                return _parse_distribution(value)
            except ValueError as exc:
                raise ValueError(f"factor: {exc}") from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise ValueError(f"factor must be {_DISTRIBUTION_HELP}, got {value!r}")
    if number != number or number in (float("inf"), float("-inf")):
        raise ValueError(f"factor must be a finite number, got {value!r}")
    if number < 0:
        raise ValueError(f"factor must be >= 0 (it scales a capacity or a price), "
                         f"got {number:g}")
    if number > MAX_FACTOR:
        raise ValueError(f"factor must be at most {MAX_FACTOR:g} (it scales a capacity or a "
                         f"price; a larger one is surely a typing error), got {number:g}")
    return number


FactorValue = Annotated[float | Distribution, BeforeValidator(_factor_value)]


def _origin_fields(row: Any) -> list[tuple[str, str]]:
    """``material`` and ``stage`` go with ``by: origin`` and only with it."""
    problems = []
    if row.by == ORIGIN:
        problems += [(name, "is required with by: origin") for name in ("material", "stage")
                     if getattr(row, name) is None]
    else:
        problems += [(name, f"is used only with by: origin (a {name} of the cells' "
                            "materials), not with by: " + str(row.by))
                     for name in ("material", "stage") if getattr(row, name) is not None]
    return problems


class Factor(Row):
    """One group of suppliers whose capacity or price a scenario scales:
    ``by``/``group`` as in rules, ``factor`` a number or a distribution. With
    ``by: origin`` (capacity only), ``material`` and ``stage`` say whose origin
    the countries of ``group`` are, and a supplier drawing a share q of that
    material from them keeps ``1 - q (1 - factor)`` of its capacity."""

    by: Text
    group: Annotated[TextList, Field(min_length=1)]
    factor: FactorValue
    material: Text | None = None
    stage: Text | None = None

    @property
    def random(self) -> bool:
        return isinstance(self.factor, Distribution)

    @model_validator(mode="after")
    def _origin(self) -> Factor:
        if problems := _origin_fields(self):
            raise field_problems(problems)
        return self


def _usd_per_kg(value: Any) -> Any:
    """A price added per kg: a number >= 0 or a distribution."""
    try:
        return _factor_value(value)
    except ValueError as exc:
        raise ValueError(str(exc).replace("factor must be", "usd_per_kg must be").replace(
            "(it scales a capacity or a price)", "(USD per kg of the material)").replace(
            "(it scales a capacity or a price; a larger one is surely a typing error)",
            "USD per kg (a larger one is surely a typing error)")) from None


class PriceAdd(Row):
    """A price rise on a material from some countries at a stage (SPEC section
    7): a supplier drawing a share q of ``material`` at ``stage`` from the
    countries of ``group`` sees ``usd_per_kg x kg_per_kwh x q`` USD/kWh added
    to its ex-works price. ``by`` is always ``origin``."""

    by: Text
    material: Text
    stage: Text
    group: Annotated[TextList, Field(min_length=1)]
    usd_per_kg: Annotated[float | Distribution, BeforeValidator(_usd_per_kg)]

    @property
    def factor(self) -> float | Distribution:
        """The amount drawn or given (named as a factor's, for sampling)."""
        return self.usd_per_kg

    @property
    def random(self) -> bool:
        return isinstance(self.usd_per_kg, Distribution)

    @model_validator(mode="after")
    def _by_origin(self) -> PriceAdd:
        if self.by != ORIGIN:
            raise field_problems([("by", f"must be origin (a price added per kg of a "
                                         f"material from some countries), got '{self.by}'")])
        return self


class DemandFactor(Row):
    """A demand shock (SPEC section 10): the demand of ``applications`` (every
    application when absent) times ``factor`` in the scenario's periods; a
    number >= 0 or a distribution."""

    applications: TextList | None = None
    factor: FactorValue

    @property
    def random(self) -> bool:
        return isinstance(self.factor, Distribution)


def _to_factor_list(value: Any) -> Any:
    if value is None or isinstance(value, list):
        return value
    return [value]


FactorList = Annotated[list[Factor], BeforeValidator(_to_factor_list)]
PriceAddList = Annotated[list[PriceAdd], BeforeValidator(_to_factor_list)]
DemandFactorList = Annotated[list[DemandFactor], BeforeValidator(_to_factor_list)]


class Scenario(Row):
    model_config = ConfigDict(populate_by_name=True)

    name: Text
    probability: Fraction
    from_: Year | None = Field(default=None, alias="from")
    until: Year | None = None
    capacity_factor: FactorList | None = None
    price_factor: FactorList | None = None
    price_add: PriceAddList | None = None
    demand_factor: DemandFactorList | None = None
    #: the scenario this one branches from (SPEC section 10); None: the base case
    parent: Text | None = None

    @property
    def factors(self) -> list[tuple[str, Factor | PriceAdd | DemandFactor]]:
        """``("capacity", f)``, ``("price", f)``, ``("price_add", a)`` and
        ``("demand", d)`` pairs, in that order (the order of a sample's draws)."""
        return [*(("capacity", f) for f in self.capacity_factor or []),
                *(("price", f) for f in self.price_factor or []),
                *(("price_add", a) for a in self.price_add or []),
                *(("demand", d) for d in self.demand_factor or [])]

    @model_validator(mode="after")
    def _price_factor_not_by_origin(self) -> Scenario:
        if any(f.by == ORIGIN for f in self.price_factor or []):
            raise field_problems([("price_factor", "cannot group by origin: a price rise on "
                                   "a material is a price_add {by: origin, material, stage, "
                                   "group, usd_per_kg}")])
        return self

    @property
    def random(self) -> bool:
        """Some factor is drawn from a distribution (needs ``--sample``)."""
        return any(f.random for _, f in self.factors)


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
