"""Reading instance files into raw tables, with the location of every row.

A *raw* instance is what the file says, before any typing: top-level settings
and, per table, a list of ``{field: value}`` rows with where each came from.
Readers never raise on bad content; they collect :class:`Problem` objects so
that every problem in a file is reported at once.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from optimizer.errors import Location, Problem, did_you_mean
from optimizer.input import limits
from optimizer.input.limits import inside, read_bounded
from optimizer.input.schema import SETTINGS_KEYS, TABLES


@dataclass
class RawTable:
    name: str
    rows: list[dict[str, Any]]
    locations: list[Location]
    #: the file the rows came from (a CSV path, the YAML file, a workbook)
    file: str
    #: columns in the header (CSV/Excel) in file order; None for inline YAML
    header: list[str] | None = None
    header_location: Location | None = None
    #: some rows could not be read at all (already reported): their ids are unknown
    incomplete: bool = False


@dataclass
class RawInstance:
    file: str
    settings: dict[str, Any]
    setting_locations: dict[str, Location]
    tables: dict[str, RawTable]
    problems: list[Problem] = field(default_factory=list)
    #: tables the file gives but that could not be read (already reported)
    unreadable: set[str] = field(default_factory=set)


# --------------------------------------------------------------------------- YAML


class _SafeLineLoader(yaml.SafeLoader):
    """PyYAML's safe loader, plus: line numbers of mappings, duplicate keys
    reported instead of silently overwritten, and only ``true``/``false`` as
    booleans (YAML 1.1 would turn a country code ``NO`` or a value ``yes``
    into a boolean)."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self.lines: dict[int, int] = {}
        self.key_lines: dict[int, dict[str, int]] = {}
        #: id of a mapping -> (line, key, message) of each key it repeats or cannot use
        self.duplicates: dict[int, list[tuple[int, str, str]]] = {}


_SafeLineLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_SafeLineLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def _construct_mapping(loader: _SafeLineLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    data: dict[Any, Any] = {}
    key_lines: dict[str, int] = {}
    duplicates = loader.duplicates.setdefault(id(data), [])
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        try:
            hash(key)
        except TypeError:
            duplicates.append((line, str(key), f"unusable key {key!r}: keys must be text"))
            continue
        if key in data:
            duplicates.append(
                (line, str(key), f"duplicate key '{key}' (first on line {key_lines[str(key)]})")
            )
            continue
        data[key] = loader.construct_object(value_node, deep=True)
        key_lines[str(key)] = key_node.start_mark.line + 1
    loader.lines[id(data)] = node.start_mark.line + 1
    loader.key_lines[id(data)] = key_lines
    return data


_SafeLineLoader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)  # type: ignore[arg-type]

#: a number written with more characters than this is refused (Python's int()
#: refuses more than 4,300 digits anyway, and no quantity here needs 50)
MAX_NUMBER_CHARS = 100


def _bounded_number(kind: str):
    base = getattr(yaml.SafeLoader, f"construct_yaml_{kind}")

    def construct(loader: _SafeLineLoader, node: yaml.ScalarNode) -> Any:
        text = str(node.value)
        if len(text) > MAX_NUMBER_CHARS:
            raise yaml.constructor.ConstructorError(
                None, None, f"a number written with {len(text):,} characters: too long to "
                "be a quantity of this model", node.start_mark)
        return base(loader, node)

    return construct


_SafeLineLoader.add_constructor("tag:yaml.org,2002:int", _bounded_number("int"))
_SafeLineLoader.add_constructor("tag:yaml.org,2002:float", _bounded_number("float"))


def _expanded_size(node: yaml.Node, memo: dict[int, int]) -> int:
    """How many values the node holds once every alias is written out (the
    document is a graph where aliases share nodes; an alias bomb is small as a
    graph and astronomically large expanded)."""
    key = id(node)
    if key in memo:
        return memo[key]
    memo[key] = 1  # a node that contains itself counts once
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, memo) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    memo[key] = size
    return size


def read_yaml(path: Path) -> RawInstance:
    """Read an instance YAML file and the CSV tables it points to."""
    file = str(path)
    raw = RawInstance(file=file, settings={}, setting_locations={}, tables={})
    top = Location(file=file)
    data, why = read_bounded(path)
    if data is None:
        raw.problems.append(Problem(top, "is a directory, not an instance file"
                                    if why == "is a directory, not a file" else str(why)))
        return raw
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raw.problems.append(
            Problem(top, f"is not a UTF-8 text file (byte {exc.start}); is it really YAML?")
        )
        return raw
    if text.strip() == "":
        raw.problems.append(Problem(top, "file is empty"))
        return raw
    try:
        # the reader refuses control characters as soon as it is created
        loader = _SafeLineLoader(text)
    except yaml.YAMLError as exc:
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raw.problems.append(Problem(Location(file=file, line=line),
                                    f"not valid YAML: {_yaml_problem(exc)}"))
        return raw
    try:
        node = loader.get_single_node()
        if node is not None:
            values, cap = _expanded_size(node, {}), limits.limits().max_yaml_values
            if values > cap:
                raw.problems.append(Problem(top, (
                    f"not valid YAML for an instance: its aliases (*name) expand to more than "
                    f"{cap:,} values ({values:,}); write the tables out or give them as CSV "
                    "files")))
                return raw
        doc = loader.construct_document(node) if node is not None else None
    except yaml.constructor.ConstructorError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        if str(exc.problem).startswith("a number written with"):
            raw.problems.append(Problem(Location(file=file, line=line), str(exc.problem)))
            return raw
        tag = ""
        m = re.search(r"tag '([^']*)'", str(exc.problem))
        if m:
            tag = f" '{m.group(1)}'"
        raw.problems.append(
            Problem(
                Location(file=file, line=line),
                f"the YAML tag{tag} is not allowed: instance files are plain data and are "
                "loaded safely (nothing in the file was executed)",
            )
        )
        return raw
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raw.problems.append(Problem(Location(file=file, line=line), f"not valid YAML: {what}"))
        return raw
    except (RecursionError, MemoryError):
        raw.problems.append(Problem(top, "not valid YAML: nested too deeply"))
        return raw
    finally:
        loader.dispose()
    if doc is None:
        raw.problems.append(Problem(top, "file is empty"))
        return raw
    if not isinstance(doc, dict):
        raw.problems.append(
            Problem(top, f"must be a mapping of keys (format, name, periods, ...), "
                         f"found {_describe(doc)}")
        )
        return raw

    key_lines = loader.key_lines.get(id(doc), {})
    known = (*SETTINGS_KEYS, *TABLES)
    for line, _, what in loader.duplicates.pop(id(doc), []):
        raw.problems.append(Problem(Location(file=file, line=line), what))
    for key, value in doc.items():
        key_s = str(key)
        loc = Location(file=file, line=key_lines.get(key_s))
        if key_s in TABLES:
            table = _read_table_value(key_s, value, path, loc, loader, raw.problems)
            if table is None:
                raw.unreadable.add(key_s)
            else:
                raw.tables[key_s] = table
        elif key_s in SETTINGS_KEYS:
            raw.settings[key_s] = value
            raw.setting_locations[key_s] = loc
        else:
            raw.problems.append(Problem(loc, f"unknown key '{key_s}'{did_you_mean(key_s, known)}"))
    # repeated keys deeper down (in a rule's capacity_factor, say): the line says where
    for found in loader.duplicates.values():
        for line, _, what in found:
            raw.problems.append(Problem(Location(file=file, line=line), what))
    return raw


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """PyYAML's complaint in one line, with the line number when it has one."""
    if isinstance(exc, yaml.reader.ReaderError):
        c = exc.character
        shown = f"U+{c:04X}" if isinstance(c, int) else repr(c)
        return f"the control character {shown} is not allowed in a YAML file"
    return str(getattr(exc, "problem", None) or str(exc).splitlines()[0])


def _describe(value: Any) -> str:
    """A YAML value the way its author sees it: 'a list', 'the number 7'..."""
    if isinstance(value, bool):
        return f"'{str(value).lower()}'"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    return f"a {type(value).__name__}"


def _read_table_value(
    name: str,
    value: Any,
    yaml_path: Path,
    loc: Location,
    loader: _SafeLineLoader,
    problems: list[Problem],
) -> RawTable | None:
    file = str(yaml_path)
    if isinstance(value, str):
        if "\x00" in value or value.strip() == "":
            problems.append(Problem(Location(file=file, table=name, line=loc.line),
                                    f"must be a list of rows or the path of a CSV file, "
                                    f"found {_describe(value)}"))
            return None
        csv_path = (yaml_path.parent / value).resolve()
        shown = str(yaml_path.parent / value)
        if not limits.limits().allow_outside and not inside(csv_path, yaml_path.parent):
            problems.append(Problem(
                Location(file=file, table=name, line=loc.line),
                f"the table path '{value}' leads outside the instance's folder "
                f"({yaml_path.parent.resolve()}); tables are read only from inside it (optimizer "
                "--allow-outside-tables reads it anyway)"))
            return None
        return read_csv(csv_path, name, shown, problems, referenced_from=loc)
    if value is None:
        return RawTable(name=name, rows=[], locations=[], file=file)
    if not isinstance(value, list):
        problems.append(
            Problem(
                Location(file=file, table=name, line=loc.line),
                f"must be a list of rows or the path of a CSV file, found {_describe(value)}",
            )
        )
        return None
    rows: list[dict[str, Any]] = []
    locations: list[Location] = []
    incomplete = False
    for i, item in enumerate(value, start=1):
        line = loader.lines.get(id(item)) if isinstance(item, dict) else None
        row_loc = Location(file=file, table=name, row=i, line=line)
        if not isinstance(item, dict):
            problems.append(
                Problem(row_loc, f"must be a mapping of field: value, found {item!r}")
            )
            incomplete = True
            continue
        for key_line, key, what in loader.duplicates.pop(id(item), []):
            problems.append(Problem(replace(row_loc, line=key_line), what, field=key))
        rows.append({str(k): v for k, v in item.items() if v is not None})
        locations.append(row_loc)
    return RawTable(name=name, rows=rows, locations=locations, file=file, incomplete=incomplete)


# --------------------------------------------------------------------------- CSV


def read_csv(
    path: Path,
    table: str,
    shown: str,
    problems: list[Problem],
    referenced_from: Location | None = None,
) -> RawTable | None:
    """Read one CSV table. ``#`` lines are comments; an empty cell is absent."""
    where = Location(file=shown, table=table)
    data, why = read_bounded(path)
    if data is None:
        if why == "file not found":
            ref = referenced_from or where
            problems.append(Problem(Location(file=ref.file, table=table, line=ref.line),
                                    f"the CSV file '{shown}' does not exist"))
        elif why == "is a directory, not a file":
            problems.append(Problem(where, "is a directory, not a CSV file"))
        else:
            problems.append(Problem(where, str(why)))
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(where, f"is not UTF-8 text (byte {exc.start})"))
        return None
    if "\x00" in text:
        problems.append(Problem(where, "is not a text file (it contains NUL bytes)"))
        return None

    original_lines: list[int] = []

    def content_lines() -> Iterator[str]:
        for number, line in enumerate(io.StringIO(text), start=1):
            if line.lstrip().startswith("#"):
                continue
            original_lines.append(number)
            yield line

    def original(line_num: int) -> int | None:
        """The file line of the reader's ``line_num``-th content line (1-based)."""
        return original_lines[line_num - 1] if 0 < line_num <= len(original_lines) else None

    # strict: an unclosed quote is an error, not a cell that swallows the rest of the file
    reader = csv.reader(content_lines(), strict=True)
    header: list[str] | None = None
    header_loc = where
    rows: list[dict[str, Any]] = []
    locations: list[Location] = []
    incomplete = False
    consumed = 0
    data_rows = 0
    try:
        for cells in reader:
            start_line = original(consumed + 1)
            consumed = reader.line_num
            if not cells or all(c.strip() == "" for c in cells):
                continue
            if header is None:
                header = [c.strip() for c in cells]
                header_loc = Location(file=shown, table=table, line=start_line)
                bad = False
                for j, name in enumerate(header, start=1):
                    if name == "":
                        problems.append(Problem(header_loc, f"column {j} has an empty header"))
                        bad = True
                dupes = sorted({h for h in header if h and header.count(h) > 1})
                for d in dupes:
                    problems.append(Problem(header_loc, f"column '{d}' appears more than once"))
                    bad = True
                if bad:
                    return None
                continue
            data_rows += 1
            loc = Location(file=shown, table=table, row=data_rows, line=start_line)
            if len(cells) > len(header) and any(c.strip() for c in cells[len(header):]):
                problems.append(
                    Problem(loc, f"has {len(cells)} cells but the header has {len(header)} columns")
                )
                incomplete = True
                continue
            row = {
                name: cell.strip()
                for name, cell in zip(header, cells, strict=False)
                if cell.strip() != ""
            }
            rows.append(row)
            locations.append(loc)
    except csv.Error as exc:
        start = original(consumed + 1)
        hint = ""
        if "end of data" in str(exc) and start is not None:
            hint = f" (the quote opened on line {start} is never closed)"
        problems.append(
            Problem(Location(file=shown, table=table, line=start), f"not valid CSV: {exc}{hint}")
        )
        return None
    if header is None:
        problems.append(Problem(where, "is empty (no header row)"))
        return None
    return RawTable(
        name=table, rows=rows, locations=locations, file=shown, header=header,
        header_location=header_loc, incomplete=incomplete,
    )
