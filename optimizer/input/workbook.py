"""Writing instances: to an Excel workbook, as a blank template, and as YAML + CSV.

Both directions start from a validated :class:`Instance` (``Instance.to_dict``),
so converting never guesses: what is written is what the loader understood, and
reading the output back gives the same tables (tested by solving both).

Comment lines of CSV tables (``# source ...``) and full-line comments of the
YAML file are not data, but they often cite sources, so conversion keeps them:
a workbook holds them in its ``notes`` sheet (``table | before_row | note``),
and converting back puts them in front of the same row of the CSV file (or at
the top of the YAML file). Comments at the end of a YAML line are lost.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import yaml
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from optimizer.input.excel import (
    FACTOR_KEYS,
    FACTOR_PARTS,
    NOTES_SHEET,
    SETTINGS_SHEET,
    cell_text,
    required_columns,
    table_columns,
)
from optimizer.input.instance import Instance
from optimizer.input.schema import BUILTIN_GROUPINGS, SETTINGS_KEYS, TABLES, RuleKind
from optimizer.input.sources import RawInstance
from optimizer.input.workbook_docs import REFERENCES, column_doc, settings_note

#: tables written to CSV files beside the YAML file (the others stay inline)
CSV_TABLES = ("suppliers", "demand", "capacity", "prices", "tariffs", "price_tiers", "lanes",
              "expansions", "contracts", "stock")
NOTES_COLUMNS = ("table", "before_row", "note")
#: the last row a drop-down covers (and of the lists it offers)
LAST_ROW = 1_048_576  # the whole column

# --------------------------------------------------------------------------- notes


@dataclass(frozen=True)
class Note:
    """A comment line of the source: the table ('' = the file) and the 0-based index of
    the data row it stands before (None = the top; the row count = after the last)."""

    table: str
    before: int | None
    text: str


def _comment_text(line: str) -> str:
    text = line.strip()[1:]
    return text[1:] if text.startswith(" ") else text


def collect_notes(raw: RawInstance) -> list[Note]:
    """Full-line comments of an instance's YAML file and of its CSV tables."""
    notes: list[Note] = []
    try:
        lines = Path(raw.file).read_text(encoding="utf-8-sig").splitlines()
    except (OSError, UnicodeDecodeError):
        lines = []
    notes += [Note("", None, _comment_text(line)) for line in lines
              if line.lstrip().startswith("#")]
    for name, table in raw.tables.items():
        if table.header is None or table.file == raw.file:
            continue
        try:
            text = Path(table.file).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError):
            continue
        starts = [loc.line or 0 for loc in table.locations]
        header_line = table.header_location.line if table.header_location else None
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.lstrip().startswith("#"):
                continue
            if header_line is None or number < header_line:
                before: int | None = None
            else:
                before = next((i for i, s in enumerate(starts) if s > number), len(starts))
            notes.append(Note(name, before, _comment_text(line)))
    return notes


def read_notes(path: str | Path) -> list[Note]:
    """The notes sheet of a workbook (empty when there is none)."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        if NOTES_SHEET not in wb.sheetnames:
            return []
        out = []
        rows = wb[NOTES_SHEET].iter_rows(values_only=True)
        next(rows, None)  # header
        for values in rows:
            table, before, text = ([*list(values), None, None, None])[:3]
            if table is None and before is None and text is None:
                continue
            index = int(before) - 2 if isinstance(before, int | float) else None
            out.append(Note(cell_text(table).strip() if table is not None else "",
                            max(index, 0) if index is not None else None,
                            "" if text is None else cell_text(text)))
        return out
    finally:
        wb.close()


# --------------------------------------------------------------------------- xlsx

_HEADER_FONT = Font(bold=True)
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="FCE4D6")
_NUMBER = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]*[1-9])?")


def _excel_value(value: Any, attribute: bool = False) -> Any:
    """A value as it goes into a cell: lists ';'-joined, numbers as numbers. A text
    attribute that is exactly a number's text (risk_score read from a CSV) becomes
    that number, so that Excel can compute with it; it reads back to the same text."""
    if isinstance(value, list | tuple):
        return ";".join(cell_text(v) for v in value)
    if attribute and isinstance(value, str) and _NUMBER.fullmatch(value):
        number = float(value)
        if cell_text(number) == value:
            return int(number) if number.is_integer() and abs(number) < 1e15 else number
    return value


def _put(ws: Worksheet, row: int, col: int, value: Any) -> None:
    if value is None:
        return
    cell = ws.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"  # never a formula, whatever the text starts with


def _header_row(ws: Worksheet, table: str, columns: list[str],
                attributes: Iterable[str] = ()) -> None:
    required = set(required_columns(table)) if table in TABLES else {"key"}
    for c, name in enumerate(columns, start=1):
        cell = ws.cell(row=1, column=c, value=name)
        cell.data_type = "s"
        cell.font = _HEADER_FONT
        cell.fill = _REQUIRED_FILL if name in required else _HEADER_FILL
        comment = Comment(column_doc(table, name, attributes), "optimizer")
        comment.width, comment.height = 320, 140
        cell.comment = comment
        width = max(len(name) + 3, 10)
        ws.column_dimensions[get_column_letter(c)].width = min(width, 40)
    ws.freeze_panes = "A2"


def _list_validation(ws: Worksheet, column: int, formula: str, strict: bool,
                     prompt: str) -> None:
    if len(formula) > 255:
        return  # Excel refuses longer lists
    dv = DataValidation(type="list", formula1=formula, allow_blank=True,
                        showDropDown=False, showErrorMessage=True,
                        errorStyle="stop" if strict else "warning")
    dv.error = prompt
    dv.errorTitle = "Not in the list"
    letter = get_column_letter(column)
    dv.add(f"{letter}2:{letter}{LAST_ROW}")
    ws.add_data_validation(dv)


def _validations(ws: Worksheet, table: str, columns: list[str], attributes: list[str]) -> None:
    groupings = [*BUILTIN_GROUPINGS, *attributes]
    for c, name in enumerate(columns, start=1):
        ref = REFERENCES.get((table, name))
        if ref is not None:
            sheet, key = ref
            letter = get_column_letter(table_columns(sheet, attributes).index(key) + 1)
            _list_validation(ws, c, f"{sheet}!${letter}$2:${letter}${LAST_ROW}", True,
                             f"Not a {key} of sheet '{sheet}': add it there first.")
        elif table == "rules" and name == "kind":
            _list_validation(ws, c, '"' + ",".join(get_args(RuleKind)) + '"', True,
                             "Not a rule kind.")
        elif table == "rules" and name == "per_application":
            _list_validation(ws, c, '"TRUE,FALSE"', True, "TRUE or FALSE.")
        elif (table, name) in (("rules", "by"), ("scenarios", "capacity_factor.by"),
                               ("scenarios", "price_factor.by")):
            _list_validation(ws, c, '"' + ",".join(groupings) + '"', False,
                             "Not a built-in grouping or a declared attribute.")
        elif table == "rules" and name == "attribute":
            _list_validation(ws, c, '"' + ",".join(["carbon_intensity", *attributes]) + '"',
                             False, "Not carbon_intensity or a declared attribute.")


def _flat_scenarios(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for sc in rows:
        factors = {k: list(sc.get(k) or []) for k in FACTOR_KEYS}
        n = max(1, *(len(f) for f in factors.values()))
        for i in range(n):
            flat = {k: v for k, v in sc.items() if k not in FACTOR_KEYS} if i == 0 \
                else {"name": sc["name"]}
            for key, items in factors.items():
                if i < len(items):
                    for part in FACTOR_PARTS[key]:
                        flat[f"{key}.{part}"] = _factor_cell(items[i].get(part))
            out.append(flat)
    return out


def _factor_cell(value: Any) -> Any:
    """A factor as a cell holds it: a number, or a distribution written
    ``uniform(0.2, 0.6)`` (the YAML form is ``{uniform: [0.2, 0.6]}``)."""
    if isinstance(value, dict) and len(value) == 1:
        (kind, params), = value.items()
        return f"{kind}({', '.join(cell_text(p) for p in params)})"
    return value


def instance_workbook(data: dict[str, Any] | None, notes: Iterable[Note] = ()) -> Workbook:
    """A workbook holding an instance (``Instance.to_dict()``), or a blank template."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = SETTINGS_SHEET
    data = data or {}
    attributes = [cell_text(a) for a in data.get("attributes", [])]
    _header_row(ws, SETTINGS_SHEET, ["key", "value", "note"])
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 80
    for r, key in enumerate(SETTINGS_KEYS, start=2):
        _put(ws, r, 1, key)
        value = data.get(key, 1 if key == "format" else None)
        _put(ws, r, 2, _excel_value(value))
        _put(ws, r, 3, settings_note(key))
    for table in TABLES:
        ws = wb.create_sheet(table)
        columns = table_columns(table, attributes)
        _header_row(ws, table, columns, attributes)
        rows = data.get(table, [])
        if table == "scenarios":
            rows = _flat_scenarios(rows)
        extra = set(attributes) if table == "suppliers" else set()
        for r, row in enumerate(rows, start=2):
            for c, name in enumerate(columns, start=1):
                _put(ws, r, c, _excel_value(row.get(name), attribute=name in extra))
        _validations(ws, table, columns, attributes)
    ws = wb.create_sheet(NOTES_SHEET)
    _header_row(ws, NOTES_SHEET, list(NOTES_COLUMNS))
    ws.column_dimensions["C"].width = 120
    for r, note in enumerate(notes, start=2):
        _put(ws, r, 1, note.table or None)
        _put(ws, r, 2, note.before + 2 if note.before is not None else None)
        _put(ws, r, 3, note.text)
    return wb


def write_workbook(inst: Instance, path: str | Path, notes: Iterable[Note] = ()) -> Path:
    """Write a validated instance as an Excel workbook."""
    instance_workbook(inst.to_dict(), notes).save(path)
    return Path(path)


def write_template(path: str | Path) -> Path:
    """A blank workbook: every sheet with its headers, a note on every column, and
    drop-downs where a column refers to another sheet."""
    instance_workbook(None).save(path)
    return Path(path)


# --------------------------------------------------------------------------- YAML + CSV


def csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return ";".join(csv_cell(v) for v in value)
    if isinstance(value, float):
        return cell_text(value) if value.is_integer() and abs(value) < 1e15 else repr(value)
    return str(value)


def _comments(notes: Iterable[Note]) -> str:
    return "".join(f"# {n.text}\n" if n.text else "#\n" for n in notes)


def _csv_text(table: str, rows: list[dict[str, Any]], attributes: list[str],
              notes: list[Note]) -> str:
    columns = [c for c in table_columns(table, attributes) if any(c in r for r in rows)]
    cells = [[csv_cell(r.get(c)) for c in columns] for r in rows]
    # a first cell starting with '#' would read as a comment line: quote everything then
    hashed = any(r and r[0].lstrip().startswith("#") for r in cells)
    out = io.StringIO()
    out.write(_comments(n for n in notes if n.before is None))
    writer = csv.writer(out, lineterminator="\n",
                        quoting=csv.QUOTE_ALL if hashed else csv.QUOTE_MINIMAL)
    writer.writerow(columns)
    for i, row in enumerate(cells):
        before = [n for n in notes if n.before == i]
        if before:
            out.write(_comments(before))
        writer.writerow(row)
    out.write(_comments(n for n in notes if n.before is not None and n.before >= len(cells)))
    return out.getvalue()


def yaml_files(inst: Instance, yaml_path: str | Path, notes: Iterable[Note] = (),
               inline: bool = False) -> dict[Path, str]:
    """The files of an instance in YAML form: path -> text. Big tables go to CSV files
    beside the YAML file (``<table>.csv``) unless ``inline``."""
    yaml_path = Path(yaml_path)
    data = inst.to_dict()
    attributes = list(inst.settings.attributes)
    by_table: dict[str, list[Note]] = {}
    for n in notes:
        by_table.setdefault(n.table if n.table in TABLES else "", []).append(n)
    files: dict[Path, str] = {}
    parts = [_comments(by_table.get("", []))]
    for key, value in data.items():
        table_notes = by_table.get(key, [])
        if key in CSV_TABLES and not inline:
            name = f"{key}.csv"
            files[yaml_path.parent / name] = _csv_text(key, value, attributes, table_notes)
            value = name
        elif table_notes:
            parts.append(_comments(table_notes))
        parts.append(_yaml_entry(key, value))
    files[yaml_path] = "".join(parts)
    return files


def _yaml_entry(key: str, value: Any) -> str:
    """``key: value`` with each row of a table on one line (``- {id: lfp, ...}``)."""
    if isinstance(value, list) and value and all(isinstance(r, dict) for r in value):
        rows = [yaml.safe_dump(r, sort_keys=False, default_flow_style=True, allow_unicode=True,
                               width=1_000_000).strip() for r in value]
        return f"{key}:\n" + "".join(f"  - {r}\n" for r in rows)
    flow = None if isinstance(value, list) else False
    return yaml.safe_dump({key: value}, sort_keys=False, default_flow_style=flow,
                          allow_unicode=True, width=110)


def write_yaml(inst: Instance, yaml_path: str | Path, notes: Iterable[Note] = (),
               inline: bool = False) -> list[Path]:
    """Write an instance as YAML (+ CSV tables); return the files written."""
    files = yaml_files(inst, yaml_path, notes, inline)
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    return list(files)
