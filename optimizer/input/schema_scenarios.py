"""The typed rows of the ``scenarios`` table (SPEC sections 5, 7 and 10):
capacity and price factors, prices added by origin, demand factors, the
distributions a sampled factor is drawn from, and the scenario itself (with
its window and ``parent``). Re-exported by :mod:`optimizer.input.schema`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, Field, model_serializer, model_validator

from optimizer.input.fields import (
    ORIGIN,
    Fraction,
    Row,
    Text,
    TextList,
    Year,
    field_problems,
)

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
