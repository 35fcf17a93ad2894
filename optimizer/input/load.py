"""Load an instance file: read, type every row, check across tables."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from optimizer.errors import InputError, Location, Problem
from optimizer.input.excel import AT, SETTINGS_SHEET, read_workbook
from optimizer.input.instance import Instance
from optimizer.input.schema import TABLES, Settings, Supplier
from optimizer.input.sources import RawInstance, read_yaml
from optimizer.input.typed import lenient_settings, validate_settings, validate_table
from optimizer.input.validate import Broken, check_instance

YAML_SUFFIXES = (".yaml", ".yml")
EXCEL_SUFFIXES = (".xlsx",)


def read_raw(path: str | Path) -> RawInstance:
    """Read an instance file (YAML + CSV, or Excel) without typing it."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return read_yaml(p)
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(p)
    raw = RawInstance(file=str(p), settings={}, setting_locations={}, tables={})
    top = Location(str(p))
    kinds = ", ".join((*YAML_SUFFIXES, *EXCEL_SUFFIXES))
    if p.is_dir():
        raw.problems.append(Problem(top, "is a directory, not an instance file"))
    elif not p.exists():
        raw.problems.append(Problem(top, "file not found"))
    else:
        raw.problems.append(Problem(top, f"unsupported file type '{p.suffix}': expected {kinds}"))
    return raw


def parse_raw(raw: RawInstance, source_kind: str = "yaml") -> Instance:
    """Type and check a raw instance; raise :class:`InputError` listing every problem.

    Problems are collected, never raised one at a time: a wrong top-level key, a
    bad row or an unreadable table is reported, and the rest is still checked,
    without cascades (a reference to a row that failed counts as known).
    """
    problems = list(raw.problems)
    if problems and not raw.settings and not raw.tables and not raw.unreadable:
        raise InputError(problems)
    settings = _validate_settings(raw, problems)
    # with a wrong key (reported), the tables are still checked against the others
    usable = settings or lenient_settings(raw.settings)
    attributes = tuple(usable.attributes) if usable else ()
    typed: dict[str, list] = {}
    locations: dict[str, list[Location]] = {}
    broken: Broken = {}
    for name, (model, required) in TABLES.items():
        table = raw.tables.get(name)
        if table is None:
            if name in raw.unreadable:
                broken[name] = None
            elif required:
                problems.append(Problem(Location(raw.file), f"table '{name}' is required"))
            typed[name] = []
            locations[name] = []
            continue
        if required and not table.rows and not any(
            p.location.table == name for p in problems
        ):
            problems.append(
                Problem(Location(table.file, table=name), "has no rows")
            )
        extra = attributes if model is Supplier else ()
        kind = "yaml" if table.header is None else source_kind
        rows = validate_table(table, model, problems, allowed_extra=extra, source=kind)
        typed[name] = [r for r, _ in rows]
        locations[name] = [loc for _, loc in rows]
        parsed = {id(loc) for _, loc in rows}
        failed = [r for r, loc in zip(table.rows, table.locations, strict=True)
                  if id(loc) not in parsed]
        if table.incomplete:
            broken[name] = None
        elif failed:
            broken[name] = failed
    if usable is None:
        raise InputError(problems)
    inst = Instance(source=raw.file, settings=usable, locations=locations, **typed)
    if problems:
        # cross-table checks on what did parse, so that all problems come at once
        errors, _ = check_instance(inst, broken)
        raise InputError(problems + errors)
    errors, warnings = check_instance(inst)
    if errors:
        raise InputError(errors)
    inst.warnings = warnings
    return inst


def _validate_settings(raw: RawInstance, problems: list[Problem]) -> Settings | None:
    """Top-level settings; in a workbook, problems name the settings sheet's cells."""
    found: list[Problem] = []
    settings = validate_settings(raw.settings, raw.setting_locations, raw.file, found)
    if Path(raw.file).suffix.lower() not in EXCEL_SUFFIXES:
        problems.extend(found)
        return settings
    missing: list[str] = []
    for p in found:
        loc = p.location
        required = p.message.endswith(" is required at the top level of the file")
        key = p.message.split("'")[1] if p.message.startswith("key '") else None
        if loc.sheet_row is not None:
            if required and any(q.location.sheet_row == loc.sheet_row
                                and q.location.table == loc.table for q in raw.problems):
                continue  # the cell was unreadable, already reported
            message = f"key '{key}' is required (the cell is empty)" if required else p.message
            problems.append(replace(p, message=message, field="value"))
        elif required and key is not None:
            missing.append(key)
        else:
            problems.append(p)
    if missing:
        rows = ", ".join(f"'{k}'" for k in missing)
        problems.append(Problem(
            Location(raw.file, table=SETTINGS_SHEET),
            f"no row {rows} in the {SETTINGS_SHEET} sheet (key | value rows): "
            f"{'it is' if len(missing) == 1 else 'they are'} required"))
    return settings


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file (YAML with inline or CSV tables, or Excel)."""
    raw = read_raw(path)
    if Path(path).suffix.lower() not in EXCEL_SUFFIXES:
        return parse_raw(raw, "csv")
    try:
        inst = parse_raw(raw, "xlsx")
    except InputError as err:
        raise InputError([_with_subject(p) for p in err.problems]) from None
    inst.warnings = [_with_subject(p) for p in inst.warnings]
    return inst


def _with_subject(problem: Problem) -> Problem:
    """``suppliers!G3: price must be a number``: where a cell stands for the field, a
    message that is only a predicate ("must be a number") gets the column as subject."""
    field = problem.field
    if (field is not None and problem.location.cell(field) is not None and field != AT
            and problem.message.startswith(("must ", "is "))):
        return replace(problem, message=f"{field} {problem.message}")
    return problem


def default_instance_path() -> Path:
    """The bundled default instance (North American buyer, 2026-2030)."""
    from importlib import resources

    return Path(str(resources.files("optimizer") / "data" / "north-america" / "instance.yaml"))
