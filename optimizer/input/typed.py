"""From raw tables to typed rows: pydantic validation with located messages."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from optimizer.errors import Location, Problem, did_you_mean
from optimizer.input.fields import ROW_FIELDS, Row
from optimizer.input.schema import Settings, Supplier
from optimizer.input.sources import RawTable


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return f"'{value}'"
    return repr(value)


def friendly(error: dict[str, Any], source: str = "yaml") -> str:
    """A pydantic error as a sentence a procurement analyst can act on."""
    kind = error.get("type", "")
    value = error.get("input")
    ctx = error.get("ctx") or {}
    if kind == "missing":
        return "is required" + (" (the cell is empty)" if source != "yaml" else "")
    if kind in ("float_parsing", "float_type"):
        return f"must be a number, got {_shown(value)}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number (a year or a count), got {_shown(value)}"
    if kind == "finite_number":
        return f"must be a finite number, got {_shown(value)}"
    if kind == "greater_than_equal":
        return f"must be >= {ctx.get('ge')}, got {_shown(value)}"
    if kind == "less_than_equal":
        return f"must be <= {ctx.get('le')}, got {_shown(value)}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}, got {_shown(value)}"
    if kind == "bool_parsing" or kind == "bool_type":
        return f"must be true or false, got {_shown(value)}"
    if kind in ("string_type", "string_too_short"):
        if kind == "string_too_short":
            return "must not be empty"
        return f"must be text, got {_shown(value)}"
    if kind == "too_short":
        return "must not be empty"
    if kind in ("list_type",):
        return f"must be a list, got {_shown(value)}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"must be a mapping of field: value, got {_shown(value)}"
    if kind == "value_error":
        msg = str(ctx.get("error", error.get("msg", "")))
        return msg
    if kind == "extra_forbidden":
        return "is not a known field"
    return str(error.get("msg", kind))


def _field_of(loc: tuple[Any, ...]) -> str | None:
    for part in loc:
        if isinstance(part, str):
            return part
    return None


def validate_table(
    table: RawTable,
    model: type[Row],
    problems: list[Problem],
    allowed_extra: tuple[str, ...] = (),
    source: str = "yaml",
) -> list[tuple[Row, Location]]:
    """Validate every row of a table; return the valid ones with their location.

    Unknown CSV/Excel columns are reported once per table (not once per row)
    and then left out, so that each row's other fields are still checked.
    """
    fields = list(model.model_fields)
    aliases = [f.alias for f in model.model_fields.values() if f.alias]
    known = [*[a for a in aliases], *[f for f in fields if f.rstrip("_") == f], *allowed_extra]
    allows_extra = model.model_config.get("extra") == "allow"
    rows = table.rows
    if table.header is not None:
        unknown = [c for c in table.header if c not in known]
        for col in unknown:
            problems.append(
                Problem(
                    table.header_location or Location(file=table.file, table=table.name),
                    f"unknown column '{col}'{did_you_mean(col, known)}"
                    + (
                        "; extra supplier columns must be declared under 'attributes'"
                        if allows_extra
                        else ""
                    ),
                )
            )
        if unknown:
            rows = [{k: v for k, v in r.items() if k not in unknown} for r in rows]

    out: list[tuple[Row, Location]] = []
    for row, loc in zip(rows, table.locations, strict=True):
        unsafe = _unsafe_cells(row)
        if unsafe:
            problems.extend(Problem(loc, message, field=name) for name, message in unsafe)
            continue
        if allows_extra:
            for key in row:
                if key not in known:
                    problems.append(
                        Problem(
                            loc,
                            f"unknown field{did_you_mean(key, known)}; extra supplier "
                            "fields must be declared under 'attributes'",
                            field=key,
                        )
                    )
            row = {k: v for k, v in row.items() if k in known}
        try:
            out.append((model.model_validate(row), loc))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                if err.get("type") == ROW_FIELDS:
                    for name, message in err["ctx"]["fields"]:
                        problems.append(Problem(loc, message, field=name))
                    continue
                name = _field_of(tuple(err.get("loc", ())))
                message = friendly(dict(err), source)
                if err.get("type") == "extra_forbidden" and name is not None:
                    message = f"unknown field{did_you_mean(name, known)}"
                problems.append(Problem(loc, message, field=name))
    return out


def validate_settings(
    settings: dict[str, Any],
    locations: dict[str, Location],
    file: str,
    problems: list[Problem],
) -> Settings | None:
    unsafe = []
    for setting, value in settings.items():
        # a description may run over several lines; nothing else may hold a control
        values = value if isinstance(value, list) else [value]
        allowed = "\n\t\r" if setting == "description" else ""
        for v in values:
            if isinstance(v, str) and any(unicodedata.category(c) == "Cc" and c not in allowed
                                          for c in v):
                unsafe.append(setting)
                bad = next(c for c in v if unicodedata.category(c) == "Cc" and c not in allowed)
                problems.append(Problem(
                    locations.get(setting, Location(file=file)),
                    f"key '{setting}' contains the control character U+{ord(bad):04X}: text must "
                    "be plain printable text"))
                break
    if unsafe:
        return None
    try:
        return Settings.model_validate(settings)
    except ValidationError as exc:
        for err in exc.errors(include_url=False):
            loc = tuple(err.get("loc", ()))
            key = _field_of(loc)
            where = locations.get(key or "", Location(file=file))
            message = friendly(dict(err))
            if err.get("type") == "missing":
                message = "is required at the top level of the file"
            problems.append(Problem(where, f"key '{key}' {message}" if key else message))
        return None


def lenient_settings(settings: dict[str, Any]) -> Settings | None:
    """Settings to check the tables against when some top-level keys are wrong
    (already reported): wrong keys take their defaults and periods out of order
    are sorted. None when the periods or attributes themselves are unusable, as
    every check of a period or of an extra supplier column would be a guess."""
    data = dict(settings)
    periods = data.get("periods")
    if isinstance(periods, list) and all(
        isinstance(t, int) and not isinstance(t, bool) for t in periods
    ):
        data["periods"] = sorted(set(periods))
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        wrong = {str(err["loc"][0]) for err in exc.errors() if err.get("loc")}
    if wrong & {"periods", "attributes"}:
        return None
    data = {key: value for key, value in data.items() if key not in wrong}
    data.setdefault("format", 1)
    data.setdefault("name", "?")
    try:
        return Settings.model_validate(data)
    except ValidationError:
        return None


_ADAPTERS: dict[type[BaseModel], TypeAdapter[Any]] = {}


def supplier_extra_names(supplier: Supplier) -> list[str]:
    return list((supplier.__pydantic_extra__ or {}).keys())


#: a cell holding a number written with more characters than this is refused
MAX_NUMBER_CHARS = 100
_NUMBER = re.compile(r"^[\s+-]*[0-9_.,]+(?:[eE][+-]?[0-9]+)?\s*$")
#: Unicode category Cc (control characters): C0, DEL and C1
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def _unsafe_cells(row: dict[str, Any]) -> list[tuple[str, str]]:
    """(field, message) for each cell that cannot be taken as it is: text with a
    control character (an escape sequence would reach the terminal, a newline
    could forge lines in a report) or a number too long to be one."""
    out = []
    for name, value in row.items():
        if not isinstance(value, str):
            continue
        found = _CONTROL.search(value)
        if found is not None:
            bad = found.group()
            out.append((name, f"contains the control character U+{ord(bad):04X}: ids, names "
                              "and other text must be plain printable text"))
        elif len(value) > MAX_NUMBER_CHARS and _NUMBER.match(value):
            out.append((name, f"a number written with {len(value):,} characters: too long "
                              "to be a quantity of this model"))
    return out
