"""Reading an instance from an Excel workbook (``.xlsx``) into raw tables.

The layout (docs/excel.md): a ``settings`` sheet of ``key | value`` rows (an
optional ``note`` column is free text), one sheet per table of the format
named exactly like the table, with the column names in the first non-empty
row, and an optional ``notes`` sheet of free text that is never read. Every
row keeps its cell position so that problems name cells as Excel shows them
(``suppliers!C7``).

What a cell holds is kept: a number cell gives a number, a text cell text, a
TRUE/FALSE cell a boolean; an empty cell is absent. Ids are made text later
by the schema (a supplier id typed as 2026 is ``"2026"``). List cells
(``applications.chemistries``, a rule's ``group`` ...) are ``;``-separated.

Scenarios are flattened: ``capacity_factor.by``, ``capacity_factor.group``,
``capacity_factor.factor`` (and ``.material``, ``.stage`` for ``by: origin``),
the same for ``price_factor``, and ``price_add.by``, ``.material``, ``.stage``,
``.group``, ``.usd_per_kg``. A scenario with
several factors takes one row per factor: the first row carries the name,
probability and period window, further rows repeat the name and leave
probability, ``from`` and ``until`` empty.

Like the YAML reader, this never raises on bad content: it collects
:class:`Problem` objects so that every problem is reported at once.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from optimizer.errors import Location, Problem, did_you_mean
from optimizer.input.limits import limits, read_bounded
from optimizer.input.schema import (
    SETTINGS_KEYS,
    TABLES,
    Row,
    Supplier,
)
from optimizer.input.schema_scenarios import DemandFactor, Factor, PriceAdd
from optimizer.input.sources import RawInstance, RawTable
from optimizer.input.typed import friendly

SETTINGS_SHEET = "settings"
#: free text (sources, remarks); never read as data
NOTES_SHEET = "notes"
SETTINGS_COLUMNS = ("key", "value", "note")
#: settings whose value is a list: ``;``-separated in one cell
LIST_SETTINGS = ("periods", "attributes", "stages")
#: settings that are free text even when the cell holds a number
TEXT_SETTINGS = ("name", "description")
#: table columns that are free text even when the cell holds a number
TEXT_COLUMNS = {("countries", "name")}
FACTOR_KEYS = ("capacity_factor", "price_factor", "price_add", "demand_factor")
#: the parts of each nested factor of a scenario
FACTOR_PARTS: dict[str, tuple[str, ...]] = {
    "capacity_factor": ("by", "group", "factor", "material", "stage"),
    "price_factor": ("by", "group", "factor"),
    "price_add": ("by", "material", "stage", "group", "usd_per_kg"),
    "demand_factor": ("applications", "factor"),
}
#: the row model of each nested factor
FACTOR_MODELS: dict[str, type[Row]] = {
    "capacity_factor": Factor, "price_factor": Factor, "price_add": PriceAdd,
    "demand_factor": DemandFactor}
#: the scenarios sheet's columns: nested factors flattened as ``key.part``
SCENARIO_COLUMNS = ("name", "probability", "from", "until",
                    *(f"{key}.{part}" for key in FACTOR_KEYS for part in FACTOR_PARTS[key]),
                    "parent")
_SCENARIO_HEAD = ("probability", "from", "until", "parent")
EXCEL_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A",
                "#GETTING_DATA", "#SPILL!", "#CALC!", "#FIELD!", "#BLOCKED!", "#UNKNOWN!")


def model_columns(model: type[Row]) -> list[str]:
    """The column names of a table, in schema order (``from_`` is written ``from``)."""
    return [f.alias or name for name, f in model.model_fields.items()]


def table_columns(table: str, attributes: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Every column a table's sheet may have."""
    if table == "scenarios":
        return list(SCENARIO_COLUMNS)
    model = TABLES[table][0]
    return model_columns(model) + (list(attributes) if model is Supplier else [])


def required_columns(table: str) -> list[str]:
    if table == "scenarios":
        return ["name", "probability"]
    model = TABLES[table][0]
    return [f.alias or name for name, f in model.model_fields.items() if f.is_required()]


def cell_text(value: Any) -> str:
    """A number cell read as text, the way Excel shows it (2026.0 -> ``2026``)."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Sheet:
    """One worksheet as rows of cell values (formulas replaced by their results)."""

    title: str
    #: (Excel row number, cell values from column A); trailing empty cells cut
    rows: list[tuple[int, list[Any]]]
    #: (row, column index) -> problem text for cells that cannot be read
    bad: dict[tuple[int, int], str]


def _describe_value(value: Any) -> str:
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return f"holds a date or time ({value}); write it as a number or as text"
    return f"holds {value!r}, which is neither a number nor text"


def _cell_value(cell: Any) -> tuple[Any, str | None]:
    """(value, problem) of a read-only cell; ``None`` value means empty."""
    value = cell.value
    if value is None:
        return None, None
    if getattr(cell, "data_type", None) == "e" or (isinstance(value, str)
                                                   and value.strip() in EXCEL_ERRORS):
        return None, f"holds the Excel error {str(value).strip()}"
    if isinstance(value, str):
        value = value.strip()
        return (value or None), None
    if isinstance(value, bool | int | float):
        return value, None
    return None, _describe_value(value)


def _load(data: bytes, data_only: bool) -> Any:
    import openpyxl

    return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)


def _unzipped_problem(data: bytes) -> str | None:
    """Why the workbook's zip members may not be unzipped (too much once
    unzipped: a zip bomb), or None. Reads only the zip's directory."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile):
        return None  # reported as "not a zip archive" by the reader
    cap = limits().max_unzipped_mb
    if total > cap * 2**20:
        return (f"would unzip to {total / 2**20:,.0f} MB, more than the limit of {cap:,.0f} MB "
                "(a workbook that large is unusual; optimizer --max-file-mb N raises both "
                "limits)")
    return None


def _rows(ws: Any) -> Any:
    """A read-only sheet's rows as they are in the file: the size the file
    claims for the sheet (its <dimension>) is not trusted, it may hide rows
    or claim a million empty ones."""
    ws.reset_dimensions()
    return ws.iter_rows()


def _read_sheets(data: bytes, top: Location, problems: list[Problem]) -> list[_Sheet] | None:
    """Every sheet's cells; formulas give their saved results."""
    too_big = _unzipped_problem(data)
    if too_big is not None:
        problems.append(Problem(top, too_big))
        return None
    try:
        wb = _load(data, data_only=False)
    except (zipfile.BadZipFile, zipfile.LargeZipFile):
        problems.append(Problem(top, "is not an Excel workbook (.xlsx): the file is not a "
                                "zip archive (an old .xls, a password-protected workbook or "
                                "another kind of file renamed?)"))
        return None
    except Exception as exc:  # openpyxl raises many kinds of errors for damaged files
        problems.append(Problem(top, f"cannot be read as an Excel workbook (.xlsx): "
                                f"{type(exc).__name__}: {exc}".rstrip(": ")))
        return None
    sheets: list[_Sheet] = []
    formulas: dict[str, set[tuple[int, int]]] = {}
    try:
        for ws in wb.worksheets:
            rows: list[tuple[int, list[Any]]] = []
            bad: dict[tuple[int, int], str] = {}
            for r, cells in enumerate(_rows(ws), start=1):
                values: list[Any] = []
                for c, cell in enumerate(cells):
                    if getattr(cell, "data_type", None) == "f" or (
                        isinstance(cell.value, str) and cell.value.startswith("=")
                        and getattr(cell, "data_type", None) != "s"
                    ):
                        formulas.setdefault(ws.title, set()).add((r, c))
                        values.append(None)
                        continue
                    value, problem = _cell_value(cell)
                    if problem is not None:
                        bad[(r, c)] = problem
                    values.append(value)
                while values and values[-1] is None:
                    values.pop()
                if values or any(k[0] == r for k in bad):
                    rows.append((r, values))
            sheets.append(_Sheet(ws.title, rows, bad))
    except Exception as exc:
        problems.append(Problem(top, f"cannot be read as an Excel workbook (.xlsx): "
                                f"{type(exc).__name__}: {exc}"))
        return None
    finally:
        wb.close()
    if formulas:
        _fill_formula_results(data, sheets, formulas)
    return sheets


def _fill_formula_results(data: bytes, sheets: list[_Sheet],
                          formulas: dict[str, set[tuple[int, int]]]) -> None:
    """Replace formula cells by the results Excel saved with the file."""
    wb = _load(data, data_only=True)
    try:
        by_title = {s.title: s for s in sheets}
        for title, cells in formulas.items():
            sheet = by_title[title]
            rows = dict(sheet.rows)
            for r, cached in enumerate(_rows(wb[title]), start=1):
                for c, cell in enumerate(cached):
                    if (r, c) not in cells:
                        continue
                    value, problem = _cell_value(cell)
                    if problem is None and value is None and cell.value is None:
                        problem = ("holds a formula whose result was not saved with the file: "
                                   "open the workbook in Excel and save it, or type the value")
                    if problem is not None:
                        sheet.bad[(r, c)] = problem
                        rows.setdefault(r, [])
                        continue
                    if value is None:
                        continue
                    line = rows.setdefault(r, [])
                    line.extend([None] * (c + 1 - len(line)))
                    line[c] = value
            sheet.rows = sorted(rows.items())
    finally:
        wb.close()


def read_workbook(path: str | Path) -> RawInstance:
    """Read an instance workbook; problems are collected in ``raw.problems``."""
    p = Path(path)
    file = str(p)
    raw = RawInstance(file=file, settings={}, setting_locations={}, tables={})
    top = Location(file)
    data, why = read_bounded(p)
    if data is None:
        raw.problems.append(Problem(top, "is a directory, not an instance file"
                                    if why == "is a directory, not a file" else str(why)))
        return raw
    sheets = _read_sheets(data, top, raw.problems)
    if sheets is None:
        return raw
    by_title = {s.title: s for s in sheets}
    known = (SETTINGS_SHEET, NOTES_SHEET, *TABLES)
    for sheet in sheets:
        if sheet.title not in known:
            raw.problems.append(Problem(
                at_cell(file, sheet.title, 1, 0),
                f"unknown sheet '{sheet.title}'{did_you_mean(sheet.title, known)}: sheets are "
                f"{SETTINGS_SHEET}, the tables ({', '.join(TABLES)}) and {NOTES_SHEET}",
                field=AT))
    if SETTINGS_SHEET in by_title:
        _read_settings(by_title[SETTINGS_SHEET], raw)
    attributes = raw.settings.get("attributes")
    attributes = [cell_text(a) for a in attributes] if isinstance(attributes, list) else []
    for name in TABLES:
        if name in by_title:
            table = _read_table(by_title[name], name, raw, attributes)
            if table is None:
                raw.unreadable.add(name)
            else:
                raw.tables[name] = table
    return raw


def _cell_location(file: str, sheet: str, row: int, columns: tuple[str, ...]) -> Location:
    return Location(file, table=sheet, row=row, sheet_row=row, columns=columns)


#: the field name under which a cell is named by its position alone
AT = "\x00at"


def at_cell(file: str, sheet: str, row: int, column: int) -> Location:
    """A location naming the cell at a 0-based column index: use ``field=AT``."""
    return Location(file, table=sheet, row=row, sheet_row=row,
                    columns=(*("",) * column, AT))


def _bad_cells(sheet: _Sheet, row: int, columns: tuple[str, ...], file: str,
               problems: list[Problem]) -> set[int]:
    """Report the unreadable cells of a row; return their column indices."""
    out = set()
    for (r, c), message in sorted(sheet.bad.items()):
        if r == row:
            out.add(c)
            problems.append(Problem(at_cell(file, sheet.title, row, c), message, field=AT))
    return out


def _header(sheet: _Sheet, file: str, problems: list[Problem]
            ) -> tuple[int, tuple[str, ...], list[tuple[int, list[Any]]]] | None:
    """(header row, column names by position, data rows) of a sheet, or None when the
    header is unusable (reported). The header is the first non-empty row."""
    rows = sheet.rows
    if not rows:
        return 0, (), []
    head_row, head = rows[0]
    columns = tuple("" if v is None else cell_text(v).strip() for v in head)
    ok = True
    for c in sorted(c for (r, c) in sheet.bad if r == head_row):
        problems.append(Problem(at_cell(file, sheet.title, head_row, c),
                                sheet.bad[(head_row, c)] + " (a column name is expected here)",
                                field=AT))
        ok = False
    first: dict[str, int] = {}
    for c, name in enumerate(columns):
        if name and name in first:
            problems.append(Problem(at_cell(file, sheet.title, head_row, c),
                                    f"column '{name}' appears more than once", field=AT))
            ok = False
        first.setdefault(name, c)
    unnamed: dict[int, int] = {}  # column index -> first row with data under no name
    for r, values in rows[1:]:
        for c, value in enumerate(values):
            if value is not None and (c >= len(columns) or not columns[c]):
                unnamed.setdefault(c, r)
    for c, r in sorted(unnamed.items()):
        problems.append(Problem(at_cell(file, sheet.title, head_row, c),
                                f"the column has data (first in row {r}) but no name",
                                field=AT))
        ok = False
    if not ok:
        return None
    return head_row, columns, rows[1:]


def _read_table(sheet: _Sheet, name: str, raw: RawInstance,
                attributes: list[str]) -> RawTable | None:
    file = raw.file
    parsed = _header(sheet, file, raw.problems)
    if parsed is None:
        return None
    head_row, columns, data = parsed
    header_loc = _cell_location(file, sheet.title, head_row or 1, columns)
    if not columns:
        return RawTable(name=name, rows=[], locations=[], file=file, header=[],
                        header_location=header_loc)
    known = table_columns(name, attributes)
    allows_extra = name == "suppliers"
    header: list[str] = []
    for col in columns:
        if not col:
            continue
        if col in known:
            header.append(col)
            continue
        hint = did_you_mean(col, known)
        if allows_extra:
            hint += "; extra supplier columns must be declared in the settings row 'attributes'"
        raw.problems.append(Problem(header_loc, f"unknown column '{col}'{hint}", field=col))
    missing = [c for c in required_columns(name) if c not in header]
    if missing:
        for col in missing:
            raw.problems.append(Problem(
                Location(file, table=sheet.title, row=head_row),
                f"the required column '{col}' is missing (add it to the header row)"))
        # every row would lack it: one message, not one per row
        return RawTable(name=name, rows=[], locations=[], file=file, header=header,
                        header_location=header_loc, incomplete=True)
    rows: list[dict[str, Any]] = []
    locations: list[Location] = []
    incomplete = False
    for r, values in data:
        if _bad_cells(sheet, r, columns, file, raw.problems):
            # reported; the row is left out, and what it names counts as known
            incomplete = True
            continue
        row: dict[str, Any] = {}
        for c, value in enumerate(values):
            col = columns[c]
            if value is None or col not in header:
                continue
            if (name, col) in TEXT_COLUMNS and not isinstance(value, str):
                value = cell_text(value)
            row[col] = value
        rows.append(row)
        locations.append(_cell_location(file, sheet.title, r, columns))
    table = RawTable(name=name, rows=rows, locations=locations, file=file, header=header,
                     header_location=header_loc, incomplete=incomplete)
    if name == "scenarios":
        table = _merge_scenarios(table, columns, raw.problems)
    return table


def _merge_scenarios(table: RawTable, columns: tuple[str, ...],
                     problems: list[Problem]) -> RawTable:
    """Rows of the flat scenarios sheet -> one row per scenario, factors nested."""
    merged: list[dict[str, Any]] = []
    locations: list[Location] = []
    first: dict[str, int] = {}
    # where the validator's problems with a scenario's factors point: the group column
    named = tuple(c.removesuffix(".group") if c in (f"{k}.group" for k in FACTOR_KEYS) else c
                  for c in columns)
    for row, loc in zip(table.rows, table.locations, strict=True):
        factors: dict[str, dict[str, Any]] = {}
        for key in FACTOR_KEYS:
            given = {part: row[f"{key}.{part}"] for part in FACTOR_PARTS[key]
                     if f"{key}.{part}" in row}
            if not given:
                continue
            try:
                FACTOR_MODELS[key].model_validate(given)
                factors[key] = given
            except ValidationError as exc:
                for err in exc.errors(include_url=False):
                    part = next((p for p in err.get("loc", ()) if isinstance(p, str)), None)
                    field = f"{key}.{part}" if part else None
                    problems.append(Problem(loc, friendly(dict(err), "xlsx"), field=field))
        name = row.get("name")
        key_name = cell_text(name) if name is not None else None
        if key_name is not None and key_name in first:
            i = first[key_name]
            start = locations[i].sheet_row
            repeated = [f for f in _SCENARIO_HEAD if f in row]
            for f in repeated:
                problems.append(Problem(
                    loc, f"scenario '{key_name}' starts in row {start}: a row that adds "
                    "factors to it leaves probability, from, until and parent empty (two "
                    "scenarios need two names)", field=f))
            if not factors and not repeated and not any(
                    f"{k}.{p}" in row for k in FACTOR_KEYS for p in FACTOR_PARTS[k]):
                problems.append(Problem(
                    loc, f"repeats scenario '{key_name}' (row {start}) but gives no factor",
                    field="name"))
            for key, factor in factors.items():
                merged[i].setdefault(key, []).append(factor)
            continue
        out = {k: v for k, v in row.items() if k in ("name", *_SCENARIO_HEAD)}
        for key, factor in factors.items():
            out[key] = [factor]
        if key_name is not None:
            first[key_name] = len(merged)
        merged.append(out)
        locations.append(Location(loc.file, table=loc.table, row=loc.row,
                                  sheet_row=loc.sheet_row, columns=named))
    header = [c for c in (table.header or []) if c in ("name", *_SCENARIO_HEAD)]
    header += [k for k in FACTOR_KEYS if any(c.startswith(k + ".") for c in table.header or [])]
    return RawTable(name=table.name, rows=merged, locations=locations, file=table.file,
                    header=header, header_location=table.header_location,
                    incomplete=table.incomplete)


def _read_settings(sheet: _Sheet, raw: RawInstance) -> None:
    file = raw.file
    parsed = _header(sheet, file, raw.problems)
    if parsed is None:
        return
    head_row, columns, data = parsed
    head_loc = _cell_location(file, sheet.title, head_row or 1, columns)
    if not columns:
        return
    if columns[:2] != ("key", "value"):
        raw.problems.append(Problem(
            Location(file, table=sheet.title, row=head_row),
            "the first row must name the columns key | value (| note), got "
            + " | ".join(c or "(empty)" for c in columns)))
        return
    for col in columns[2:]:
        if col and col not in SETTINGS_COLUMNS:
            raw.problems.append(Problem(
                head_loc, f"unknown column '{col}'{did_you_mean(col, SETTINGS_COLUMNS)}: the "
                "settings sheet has the columns key, value and note", field=col))
    seen: dict[str, int] = {}
    for r, values in data:
        loc = _cell_location(file, sheet.title, r, columns)
        bad = _bad_cells(sheet, r, columns, file, raw.problems)
        key = values[0] if values and 0 not in bad else None
        value = values[1] if len(values) > 1 and 1 not in bad else None
        if key is None:
            if value is not None:
                raw.problems.append(Problem(loc, "a value without a key", field="value"))
            continue
        key = cell_text(key)
        if key in TABLES:
            raw.problems.append(Problem(
                loc, f"'{key}' is a table: give it a sheet of its own named '{key}'",
                field="key"))
            continue
        if key not in SETTINGS_KEYS:
            raw.problems.append(Problem(
                loc, f"unknown setting '{key}'{did_you_mean(key, SETTINGS_KEYS)}",
                field="key"))
            continue
        if key in seen:
            raw.problems.append(Problem(
                loc, f"setting '{key}' is given again (first in row {seen[key]})", field="key"))
            continue
        seen[key] = r
        raw.setting_locations[key] = loc
        if 1 in bad:
            continue  # reported; load.py does not add "is required" for it
        if value is None:
            continue  # empty: the default applies (or 'is required' is reported)
        if key in LIST_SETTINGS:
            value = list(_split(value))
        elif key in TEXT_SETTINGS and not isinstance(value, str):
            value = cell_text(value)
        raw.settings[key] = value


def _split(value: Any) -> Iterator[Any]:
    """A list cell: ``2026;2027`` -> ``"2026", "2027"``; a number cell is one item."""
    if isinstance(value, str):
        for part in value.split(";"):
            if part.strip():
                yield part.strip()
    else:
        yield value

