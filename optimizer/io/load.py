"""Load an instance file: read, type every row, check across tables."""

from __future__ import annotations

from pathlib import Path

from optimizer.errors import InputError, Location, Problem
from optimizer.instance import Instance
from optimizer.io.sources import RawInstance, read_yaml
from optimizer.io.typed import validate_settings, validate_table
from optimizer.schema import TABLES, Supplier
from optimizer.validate import check_instance

YAML_SUFFIXES = (".yaml", ".yml")
EXCEL_SUFFIXES = (".xlsx",)


def read_raw(path: str | Path) -> RawInstance:
    """Read an instance file (YAML + CSV, or Excel) without typing it."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix in YAML_SUFFIXES:
        return read_yaml(p)
    if suffix in EXCEL_SUFFIXES:
        from optimizer.io.excel import read_workbook

        return read_workbook(p)
    raw = RawInstance(file=str(p), settings={}, setting_locations={}, tables={})
    kinds = ", ".join((*YAML_SUFFIXES, *EXCEL_SUFFIXES))
    if not p.exists():
        raw.problems.append(Problem(Location(str(p)), "file not found"))
    else:
        raw.problems.append(
            Problem(Location(str(p)), f"unsupported file type '{p.suffix}': expected {kinds}")
        )
    return raw


def parse_raw(raw: RawInstance, source_kind: str = "yaml") -> Instance:
    """Type and check a raw instance; raise :class:`InputError` listing every problem."""
    problems = list(raw.problems)
    if problems and not raw.settings and not raw.tables:
        raise InputError(problems)
    settings = validate_settings(raw.settings, raw.setting_locations, raw.file, problems)
    attributes = tuple(settings.attributes) if settings else ()
    typed: dict[str, list] = {}
    locations: dict[str, list[Location]] = {}
    for name, (model, required) in TABLES.items():
        table = raw.tables.get(name)
        if table is None:
            if required:
                problems.append(Problem(Location(raw.file), f"table '{name}' is required"))
            typed[name] = []
            locations[name] = []
            continue
        if required and not table.rows and not any(
            p.location.table == name for p in problems
        ):
            problems.append(
                Problem(Location(table.file, table=name), "table has no rows")
            )
        extra = attributes if model is Supplier else ()
        kind = "yaml" if table.header is None else source_kind
        rows = validate_table(table, model, problems, allowed_extra=extra, source=kind)
        typed[name] = [r for r, _ in rows]
        locations[name] = [loc for _, loc in rows]
    if settings is None:
        raise InputError(problems)
    inst = Instance(source=raw.file, settings=settings, locations=locations, **typed)
    if problems:
        # cross-table checks on what did parse, so that all problems come at once;
        # ids of rows that failed to parse still count as known (no cascades)
        broken_ids = {
            name: {str(r["id"]) for r in raw.tables[name].rows if "id" in r}
            for name in ("chemistries", "countries", "applications", "suppliers")
            if name in raw.tables
        }
        errors, _ = check_instance(inst, broken_ids)
        raise InputError(problems + errors)
    errors, warnings = check_instance(inst)
    if errors:
        raise InputError(errors)
    inst.warnings = warnings
    return inst


def load_instance(path: str | Path) -> Instance:
    """Read and validate an instance file (YAML with inline or CSV tables)."""
    raw = read_raw(path)
    return parse_raw(raw, "xlsx" if Path(path).suffix.lower() in EXCEL_SUFFIXES else "csv")
