"""Input problems: where they are and what is wrong.

Every problem names the file, and where it applies the table, the row and the
field, so that a user can go straight to it. Problems are collected and raised
together as one :class:`InputError`; nothing is reported one at a time.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Location:
    """Where a value came from.

    ``row`` is the 1-based data row of a table (``None`` for top-level keys);
    ``line`` the line in the file (YAML or CSV) when known; ``sheet_row`` and
    ``columns`` let spreadsheet sources name cells as Excel shows them.
    """

    file: str
    table: str | None = None
    row: int | None = None
    line: int | None = None
    sheet_row: int | None = None
    columns: tuple[str, ...] = ()

    def cell(self, field_name: str | None) -> str | None:
        """The spreadsheet cell (``suppliers!C7``) of a field, if known."""
        if self.sheet_row is None or field_name is None or field_name not in self.columns:
            return None
        return f"{self.table}!{_column_letter(self.columns.index(field_name))}{self.sheet_row}"


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with the input."""

    location: Location
    message: str
    field: str | None = None
    severity: str = "error"  # "error" or "warning"

    def __str__(self) -> str:
        loc = self.location
        cell = loc.cell(self.field)
        if cell is not None:
            where = f"{loc.file}: {cell}"
        else:
            parts = []
            if loc.table is not None:
                parts.append(f"table '{loc.table}'")
            if loc.row is not None:
                row = f"row {loc.row}"
                if loc.line is not None:
                    row += f" (line {loc.line})"
                parts.append(row)
            elif loc.line is not None:
                parts.append(f"line {loc.line}")
            if self.field is not None:
                parts.append(f"field '{self.field}'")
            where = loc.file + (": " + ", ".join(parts) if parts else "")
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{prefix}{where}: {self.message}"


@dataclass
class InputError(Exception):
    """The instance cannot be used; ``problems`` lists every reason."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"{n:,} problem{'s' if n != 1 else ''} in the input"
        shown = 100
        tail = f"\n  ... and {n - shown:,} more" if n > shown else ""
        return head + ":\n" + "\n".join(f"  - {p}" for p in self.problems[:shown]) + tail


class OutputError(Exception):
    """An output folder that cannot be used as asked (it holds files this tool
    did not write, it is a file...): bad usage, never a bug."""


class PlanCheckError(Exception):
    """The independent checker found the solver's plan breaking a requirement:
    a bug in the model or the solver hand-off, never the user's input.
    ``report`` is the checker's :class:`~optimizer.check.CheckReport` and
    ``result`` the :class:`~optimizer.results.Result` it was about."""

    def __init__(self, report: Any, result: Any):
        self.report = report
        self.result = result
        messages = list(report.violations["message"])
        super().__init__(f"the plan breaks {len(messages)} requirement(s): "
                         + "; ".join(messages[:5]) + (" ..." if len(messages) > 5 else ""))


def did_you_mean(name: str, options: list[str] | tuple[str, ...]) -> str:
    """A hint naming the closest known option, or an empty string."""
    close = difflib.get_close_matches(str(name), [str(o) for o in options], n=1, cutoff=0.75)
    return f" (did you mean '{close[0]}'?)" if close else ""
