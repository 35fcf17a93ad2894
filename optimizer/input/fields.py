"""Field types shared by the instance schema's row models (:mod:`optimizer.input.schema`,
:mod:`optimizer.input.schema_building`): ids as text, lists from ``;``-separated
cells, bounded numbers, years, and the base row that refuses unknown fields."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
)
from pydantic_core import PydanticCustomError


def _to_text(value: Any) -> Any:
    """Ids are text even when they look like numbers (``2026`` -> ``"2026"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return repr(value)
    return value


def _to_list(value: Any) -> Any:
    """A list, a single value, or a ``;``-separated string (CSV and Excel cells)."""
    if value is None:
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(";") if part.strip() != ""]
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def _not_bool(value: Any) -> Any:
    """``true`` is not a number (pydantic would read it as 1)."""
    if isinstance(value, bool):
        raise PydanticCustomError(
            "bool_not_number", "must be a number, got {value}", {"value": str(value).lower()}
        )
    return value


#: type of the error a model validator raises for problems with named fields
ROW_FIELDS = "row_fields"


def field_problems(problems: list[tuple[str, str]]) -> PydanticCustomError:
    """Problems with named fields of one row, found by a model validator: the
    loader reports each one against its own field."""
    return PydanticCustomError(
        ROW_FIELDS,
        "{summary}",
        {"summary": "; ".join(f"'{f}' {m}" for f, m in problems), "fields": tuple(problems)},
    )


Text = Annotated[str, BeforeValidator(_to_text), Field(min_length=1)]
TextList = Annotated[list[Text], BeforeValidator(_to_list)]
#: the largest volume (GWh), price (USD/kWh), sum of money (USD million) or rate an
#: instance may hold: far beyond any real market, and small enough that products of
#: them (price x tariffs, carbon intensity x carbon price) stay numbers HiGHS can use
MAX_AMOUNT = 1e6
#: the largest rule limit or averaged attribute (in the attribute's own unit)
MAX_NUMBER = 1e9


def _at_most(bound: float) -> Any:
    def check(value: float) -> float:
        if abs(value) > bound:
            raise PydanticCustomError(
                "too_large", "must be at most {bound} in size (larger numbers are surely a "
                "typo, and no solver could work with them), got {value}",
                {"bound": f"{bound:,.0f}", "value": f"{value:g}"})
        return value
    return AfterValidator(check)


Number = Annotated[float, BeforeValidator(_not_bool), _at_most(MAX_NUMBER)]
NonNegative = Annotated[float, BeforeValidator(_not_bool), Field(ge=0), _at_most(MAX_AMOUNT)]
Fraction = Annotated[float, BeforeValidator(_not_bool), Field(ge=0, le=1)]
#: a calendar year (periods, availability windows, tariff and scenario windows)
Year = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=9999)]
YearList = Annotated[list[Year], BeforeValidator(_to_list)]


class Row(BaseModel):
    """A table row: unknown fields, NaN and infinity are refused."""

    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, str_strip_whitespace=True, frozen=True
    )


#: the grouping of upstream origin: countries a material comes from at a stage
ORIGIN = "origin"
