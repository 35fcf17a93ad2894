"""Rows of the tables that build supply (SPEC section 8): co-funded capacity
(``expansions``) and offtake agreements (``contracts``).

Each row checks itself (ranges, a window that is not reversed, a maximum not
below the minimum); whether the supplier exists, whether a contract's window
overlaps another's on the same supplier and whether an expansion can ever
deliver are checked by :mod:`optimizer.input.building`.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, ConfigDict, Field, model_validator

from optimizer.input.fields import (
    MAX_AMOUNT,
    Fraction,
    NonNegative,
    Row,
    Text,
    Year,
    _at_most,
    _not_bool,
    field_problems,
)

#: a positive amount (GWh of a step)
Positive = Annotated[float, BeforeValidator(_not_bool), Field(gt=0), _at_most(MAX_AMOUNT)]


class Expansion(Row):
    """Co-funded capacity: in a period t from ``first`` to ``last`` the buyer
    may fund steps of ``step_gwh`` GWh per period at ``cost`` USD million a
    step (charged in t); the capacity is there from the first period at
    least ``lead_time`` years after t. ``max_steps`` in all over the window;
    ``integer: false`` lets steps be fractions (the model stays linear)."""

    supplier: Text
    step_gwh: Positive
    cost: NonNegative
    lead_time: Annotated[int, BeforeValidator(_not_bool), Field(ge=0, le=100)] = 0
    max_steps: Positive = 1.0
    first: Year | None = None
    last: Year | None = None
    integer: bool = True

    @model_validator(mode="after")
    def _window(self) -> Expansion:
        problems: list[tuple[str, str]] = []
        if self.first is not None and self.last is not None and self.last < self.first:
            problems.append(("last", f"must not be before first ({self.first}), "
                                     f"got {self.last}"))
        if self.integer and not float(self.max_steps).is_integer():
            problems.append(("max_steps", f"must be a whole number of steps when integer is "
                                          f"true, got {self.max_steps:g}"))
        if problems:
            raise field_problems(problems)
        return self


class Contract(Row):
    """An offtake agreement with one supplier over the periods ``from`` to
    ``until``: once signed, the supplier's volume in each such period is at
    least ``min_gwh`` (with ``take_or_pay``, GWh below it are paid for at the
    ex-works price with tariffs instead) and at most ``max_gwh``, and every
    GWh from it costs ``discount`` less on the ex-works price. ``signed:
    true``: already signed; otherwise the model decides."""

    model_config = ConfigDict(populate_by_name=True)

    name: Text
    supplier: Text
    from_: Year | None = Field(default=None, alias="from")
    until: Year | None = None
    min_gwh: NonNegative
    max_gwh: NonNegative | None = None
    discount: Annotated[Fraction, Field(lt=1)] = 0.0
    take_or_pay: bool = False
    signed: bool = False

    @model_validator(mode="after")
    def _window(self) -> Contract:
        problems: list[tuple[str, str]] = []
        if self.from_ is not None and self.until is not None and self.until < self.from_:
            problems.append(("until", f"must not be before from ({self.from_}), "
                                      f"got {self.until}"))
        if self.max_gwh is not None and self.max_gwh < self.min_gwh:
            problems.append(("max_gwh", f"must not be below min_gwh ({self.min_gwh:g}), "
                                        f"got {self.max_gwh:g}"))
        if problems:
            raise field_problems(problems)
        return self


class Stock(Row):
    """A buffer stock of one application's cells (SPEC section 10): held from
    period to period (at most ``max_gwh``) at ``holding_cost`` USD/kWh per
    period, starting from ``initial_gwh``. In a scenario the buyer draws on
    it before buying spot."""

    application: Text
    max_gwh: NonNegative
    holding_cost: NonNegative
    initial_gwh: NonNegative = 0.0

    @model_validator(mode="after")
    def _initial(self) -> Stock:
        if self.initial_gwh > self.max_gwh:
            raise field_problems([("initial_gwh", f"must not be above max_gwh "
                                                  f"({self.max_gwh:g}), got "
                                                  f"{self.initial_gwh:g}")])
        return self
