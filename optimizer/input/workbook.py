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

#: tables written to CSV files beside the YAML file (the others stay inline)
CSV_TABLES = ("suppliers", "demand", "capacity", "prices", "tariffs", "price_tiers", "lanes",
              "expansions", "contracts", "stock")
NOTES_COLUMNS = ("table", "before_row", "note")
#: the last row a drop-down covers (and of the lists it offers)
LAST_ROW = 1_048_576  # the whole column

# --------------------------------------------------------------------------- column docs

#: setting -> (meaning, unit, required?)
SETTINGS_DOCS: dict[str, tuple[str, str | None, bool]] = {
    "format": ("Instance-format version: 1.", None, True),
    "name": ("Name of the instance, shown in reports.", None, True),
    "description": ("Free text.", None, False),
    "periods": ("The years planned, strictly increasing, ';'-separated "
                "(2026;2027;2028).", "year", True),
    "discount_rate": ("Costs of year t are multiplied by 1/(1+r)^(t - first year). "
                      "Empty = 0.", "fraction, 0-1", False),
    "carbon_price": ("Added to the landed cost as carbon_intensity x price / 1000. "
                     "Empty = 0.", "USD per t CO2e", False),
    "attributes": ("Extra supplier columns, ';'-separated (risk_score;union): numeric ones "
                   "can be averaged by rules, text ones group suppliers.", None, False),
    "stages": ("Upstream stages, in order, ';'-separated (mining;refining;active_material). "
               "Origins and rules by origin name one of them.", None, False),
    "spot_premium": ("Scenarios: spot purchases cost the scenario price x (1 + premium). "
                     "Empty = 0.2.", "fraction", False),
    "surplus_value": ("Scenarios: cells delivered beyond a scenario's demand (a demand "
                      "factor below 1) recover this share of their scenario ex-works price. "
                      "Default 0.", "fraction", False),
    "shortage_penalty": ("Scenarios: cost of demand left unmet where the application has no "
                         "unmet_penalty. Empty = 1000.", "USD/kWh", False),
}

_ID = "Identifier, unique in this sheet (text, even if it looks like a number)."
_PERIOD = "A year, one of the settings' periods."

#: table -> column -> (meaning, unit); required-ness comes from the schema
COLUMN_DOCS: dict[str, dict[str, tuple[str, str | None]]] = {
    "chemistries": {
        "id": (_ID, None),
        "family": ("Chemistry family: 'lithium', or another (sodium, zinc...) which counts as "
                   "an alternative technology.", None),
    },
    "countries": {
        "id": (_ID + " Usually an ISO code (CN, US).", None),
        "name": ("Display name.", None),
        "bloc": ("Trade bloc of the country; rules can group by bloc.", None),
    },
    "applications": {
        "id": (_ID, None),
        "chemistries": ("Allowed chemistry ids, ';'-separated (lfp;nmc).", None),
        "unmet_penalty": ("If given, demand may go unmet at this cost; empty = demand is "
                          "hard.", "USD/kWh"),
    },
    "demand": {
        "application": ("Application id.", None),
        "period": (_PERIOD, "year"),
        "gwh": ("Cells needed. A missing application-year means 0.", "GWh"),
    },
    "suppliers": {
        "id": (_ID + " One offer: a plant x chemistry.", None),
        "company": ("Company making the cells; rules can cap each company.", None),
        "country": ("Country id where the cells are made (drives tariffs).", None),
        "control": ("Country id of the controlling company. Empty = country.", None),
        "chemistry": ("Chemistry id.", None),
        "capacity": ("Capacity per year, unless the capacity sheet overrides a year.",
                     "GWh per year"),
        "price": ("Ex-works price, unless the prices sheet overrides a year.", "USD/kWh"),
        "freight": ("Delivery cost; the lanes sheet can override it per application. "
                    "Empty = 0.", "USD/kWh"),
        "fixed_cost": ("Charged for each year the supplier delivers anything.", "USD million"),
        "min_order": ("If the supplier delivers in a year, at least this much.", "GWh"),
        "carbon_intensity": ("Emissions of the cells; priced by carbon_price, averaged by "
                             "rules.", "kg CO2e/kWh"),
        "available_from": ("First year it can deliver. Empty = from the start.", "year"),
        "available_until": ("Last year it can deliver. Empty = to the end.", "year"),
        "qualification_cost": ("Charged once, in the first year the supplier delivers "
                               "anything (testing, audits). Empty = already qualified.",
                               "USD million"),
    },
    "capacity": {
        "supplier": ("Supplier id.", None),
        "period": (_PERIOD, "year"),
        "gwh": ("Capacity in that year, overriding the supplier's capacity.", "GWh"),
    },
    "prices": {
        "supplier": ("Supplier id.", None),
        "period": (_PERIOD, "year"),
        "price": ("Ex-works price in that year, overriding the supplier's price.", "USD/kWh"),
    },
    "tariffs": {
        "origin": ("Country id of production the duty applies to.", None),
        "rate": ("Ad valorem duty on the ex-works price (0.25 = 25%). Matching rows add up.",
                 "fraction"),
        "chemistry": ("Only this chemistry id. Empty = all.", None),
        "family": ("Only this chemistry family. Empty = all.", None),
        "from": ("First year it applies. Empty = from the start.", "year"),
        "until": ("Last year it applies. Empty = to the end.", "year"),
    },
    "price_tiers": {
        "supplier": ("Supplier id.", None),
        "from_gwh": ("The tier starts at this total volume of the supplier in a year; the "
                     "first tier starts at 0.", "GWh"),
        "price": ("Price of each GWh within the tier; replaces the base price.", "USD/kWh"),
        "period": ("Only this year. Empty = every year.", "year"),
    },
    "lanes": {
        "supplier": ("Supplier id.", None),
        "application": ("Application id.", None),
        "freight": ("Delivery cost for this supplier-application pair, overriding the "
                    "supplier's freight.", "USD/kWh"),
    },
    "rules": {
        "name": ("Unique name; reports and repairs use it.", None),
        "kind": ("max_share, min_share, max_volume, min_volume, exclude, max_count, "
                 "min_count, max_average, min_average, max_top_share, max_hhi or "
                 "max_change.", None),
        "by": ("What forms groups: supplier, company, country, control, bloc, chemistry, "
               "family or a declared text attribute. Not for average rules.", None),
        "group": ("Values pooled into one group, ';'-separated. Empty = each value of 'by' "
                  "separately.", None),
        "limit": ("A share (0-1), a volume (GWh), a count, an average (unit of the "
                  "attribute) or a change from one year to the next (GWh, max_change), "
                  "depending on the kind.", "depends on kind"),
        "applications": ("Applications covered, pooled, ';'-separated. Empty = all.", None),
        "per_application": ("TRUE: the rule holds for each covered application separately. "
                            "Empty = FALSE.", None),
        "periods": ("Years covered, ';'-separated. Empty = every year (each separately).",
                    "year"),
        "threshold": ("Count rules: share of the covered volume a group must supply to "
                      "count.", "fraction"),
        "attribute": ("Average rules: carbon_intensity or a declared numeric attribute.", None),
        "k": ("max_top_share: how many of the largest groups are summed.", "count"),
        "penalty": ("Makes the rule soft: it may be missed at this cost per unit of miss.",
                    "USD/kWh"),
        "material": ("by origin: the material whose origin countries the rule groups.", None),
        "stage": ("by origin: the stage (one of the settings' stages).", None),
        "measure": ("Share rules: gwh (default) or spend (landed cost, as the objective "
                    "counts it). Not with by origin (always kt of the material).", None),
    },
    "materials": {
        "id": (_ID, None),
        "name": ("A readable name. Empty = the id.", None),
    },
    "content": {
        "chemistry": ("Chemistry id.", None),
        "material": ("Material id.", None),
        "kg_per_kwh": ("Mass of the material in one kWh of these cells (1 GWh x 1 kg/kWh = "
                       "1 kt). A chemistry without a row holds none.", "kg/kWh"),
    },
    "origins": {
        "supplier": ("Supplier id.", None),
        "material": ("Material id.", None),
        "stage": ("Stage (one of the settings' stages).", None),
        "country": ("Country the material comes from at this stage.", None),
        "share": ("Share of the supplier's material from this country; a supplier's shares "
                  "for one material, stage and period add up to 1.", "fraction"),
        "period": ("Only this year (overrides the rows without a year). Empty = every "
                   "year.", "year"),
    },
    "expansions": {
        "supplier": ("Supplier id whose capacity the buyer may co-fund.", None),
        "step_gwh": ("Capacity one step adds, every year from when it is there.",
                     "GWh per year"),
        "cost": ("What the buyer pays for one step, in the year it funds it.", "USD million"),
        "lead_time": ("Years from funding to capacity (0 = the same year). Empty = 0.",
                      "years"),
        "max_steps": ("Steps at most, over all years. Empty = 1.", "steps"),
        "first": ("First year it may be funded. Empty = the first year.", "year"),
        "last": ("Last year it may be funded. Empty = the last year.", "year"),
        "integer": ("TRUE: whole steps only; FALSE: fractions too (the model stays "
                    "linear). Empty = TRUE.", None),
    },
    "contracts": {
        "name": ("Unique name of the offtake agreement; reports use it.", None),
        "supplier": ("Supplier id the agreement is with.", None),
        "from": ("First year it covers. Empty = the first year.", "year"),
        "until": ("Last year it covers. Empty = the last year.", "year"),
        "min_gwh": ("Once signed, the supplier's volume in each covered year is at least "
                    "this.", "GWh"),
        "max_gwh": ("Once signed, at most this in each covered year. Empty = no maximum.",
                    "GWh"),
        "discount": ("Lowers the ex-works price of every GWh from the supplier in the "
                     "covered years (0.05 = 5%). Empty = 0.", "fraction"),
        "take_or_pay": ("TRUE: GWh below min_gwh are paid for (at the ex-works price with "
                        "tariffs) instead of bought. Empty = FALSE.", None),
        "signed": ("TRUE: already signed; FALSE or empty: the model decides whether to "
                   "sign.", None),
    },
    "stock": {
        "application": ("Application id whose cells can be held in stock.", None),
        "max_gwh": ("The most that can be held at the end of a year.", "GWh"),
        "holding_cost": ("What holding one kWh costs for a year.", "USD/kWh"),
        "initial_gwh": ("Held before the first year. Empty = 0.", "GWh"),
    },
    "scenarios": {
        "name": ("Scenario name. Several factors: one row each, repeating the name, with "
                 "probability, from and until only on the first row.", None),
        "probability": ("Probability of the scenario; all together at most 1.", "fraction"),
        "from": ("First year it applies. Empty = from the start.", "year"),
        "until": ("Last year it applies. Empty = to the end.", "year"),
        "parent": ("The scenario it branches from (it keeps that one's factors and adds its "
                   "own from its 'from' year). Empty = the base case.", None),
        "capacity_factor.by": ("Capacity factor: what forms the group (as a rule's 'by').",
                               None),
        "capacity_factor.group": ("Capacity factor: the group's values, ';'-separated.", None),
        "capacity_factor.factor": ("Capacity factor: multiplies the group's capacity "
                                   "(0 = cut off). Or a distribution: uniform(low, high), "
                                   "triangular(low, mode, high), normal(mean, sd).", "factor"),
        "price_factor.by": ("Price factor: what forms the group (as a rule's 'by').", None),
        "price_factor.group": ("Price factor: the group's values, ';'-separated.", None),
        "capacity_factor.material": ("Capacity factor by origin: the material whose origin "
                                     "the group's countries are.", None),
        "capacity_factor.stage": ("Capacity factor by origin: the stage (mining, refining "
                                  "...).", None),
        "price_factor.factor": ("Price factor: multiplies the group's ex-works price "
                                "(1.4 = +40%). Or a distribution, as for capacity.", "factor"),
        "price_add.by": ("Price added by origin: always 'origin'.", None),
        "price_add.material": ("Price added: the material whose price rises.", None),
        "price_add.stage": ("Price added: the stage the group's countries supply.", None),
        "price_add.group": ("Price added: the countries, ';'-separated.", None),
        "demand_factor.applications": ("Demand factor: the applications whose demand "
                                       "changes, ';'-separated. Empty = all.", None),
        "demand_factor.factor": ("Demand factor: multiplies their demand in the scenario's "
                                 "years (1.2 = +20%). Or a distribution, as for capacity.",
                                 "factor"),
        "price_add.usd_per_kg": ("Price added: USD per kg of the material from the group "
                                 "(x kg per kWh x the supplier's share from the group is "
                                 "added to its ex-works price). Or a distribution.", "USD/kg"),
    },
}

NOTES_DOCS = {
    "table": ("The sheet the note belongs to; empty = the instance as a whole.", None),
    "before_row": ("The row of that sheet the note stands before (empty = at the top).",
                   None),
    "note": ("Free text: sources, remarks. Never read as data.", None),
}

#: (table, column) -> (sheet, column) whose values a drop-down offers
REFERENCES: dict[tuple[str, str], tuple[str, str]] = {
    ("suppliers", "country"): ("countries", "id"),
    ("suppliers", "control"): ("countries", "id"),
    ("suppliers", "chemistry"): ("chemistries", "id"),
    ("demand", "application"): ("applications", "id"),
    ("capacity", "supplier"): ("suppliers", "id"),
    ("prices", "supplier"): ("suppliers", "id"),
    ("price_tiers", "supplier"): ("suppliers", "id"),
    ("lanes", "supplier"): ("suppliers", "id"),
    ("lanes", "application"): ("applications", "id"),
    ("tariffs", "origin"): ("countries", "id"),
    ("tariffs", "chemistry"): ("chemistries", "id"),
    ("tariffs", "family"): ("chemistries", "family"),
    ("content", "chemistry"): ("chemistries", "id"),
    ("content", "material"): ("materials", "id"),
    ("origins", "supplier"): ("suppliers", "id"),
    ("origins", "material"): ("materials", "id"),
    ("origins", "country"): ("countries", "id"),
    ("rules", "material"): ("materials", "id"),
    ("expansions", "supplier"): ("suppliers", "id"),
    ("contracts", "supplier"): ("suppliers", "id"),
    ("stock", "application"): ("applications", "id"),
}


def column_doc(table: str, column: str, attributes: Iterable[str] = ()) -> str:
    """The note on a column header: meaning, unit, required or not."""
    if table == NOTES_SHEET:
        meaning, unit = NOTES_DOCS[column]
        required = False
    elif table == SETTINGS_SHEET:
        meaning = {"key": "The setting's name (one per row).",
                   "value": "Its value; empty = the default.",
                   "note": "Free text, never read."}[column]
        unit, required = None, column == "key"
    elif column in COLUMN_DOCS.get(table, {}):
        meaning, unit = COLUMN_DOCS[table][column]
        required = column in required_columns(table)
    else:
        meaning = ("Declared supplier attribute (settings 'attributes'): a number can be "
                   "averaged by rules, a text groups suppliers in rules.")
        unit, required = None, False
    lines = [meaning]
    if unit:
        lines.append(f"Unit: {unit}.")
    ref = REFERENCES.get((table, column))
    if ref:
        lines.append(f"Pick from sheet '{ref[0]}', column '{ref[1]}'.")
    lines.append("Required." if required else "Optional: leave empty if not needed.")
    return "\n".join(lines)


def settings_note(key: str) -> str:
    meaning, unit, required = SETTINGS_DOCS[key]
    out = meaning + (f" Unit: {unit}." if unit else "")
    return out + (" Required." if required else "")


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
