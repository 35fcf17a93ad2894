"""Writing results to a directory, atomically.

Files are first written into a hidden staging directory inside the target
directory and then moved into place one by one with ``os.replace``: an
interrupted run never leaves a half-written file, and a failed run leaves
older results untouched. :class:`OutputDir` is the one way the package writes
its outputs: results (:func:`write_result`), scenario and frontier files, and
the files of ``optimizer convert`` and ``optimizer template``
(:func:`write_files`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from optimizer.report.html import render_html
from optimizer.report.jsonsafe import json_safe
from optimizer.results import Result

__all__ = ["WORKBOOK_AUTO_ROWS", "OutputDir", "json_safe", "workbook_rows", "write_files",
           "write_result"]


class OutputDir:
    """Collects files in a staging directory, then publishes them together."""

    def __init__(self, target: str | Path):
        self.target = Path(target)
        if self.target.exists() and not self.target.is_dir():
            raise NotADirectoryError(f"--out {self.target} exists and is not a directory")
        self.target.mkdir(parents=True, exist_ok=True)
        self.stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.target))
        self.names: list[str] = []

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.stage / name

    def json(self, name: str, data: Any) -> None:
        with open(self.path(name), "w", encoding="utf-8") as f:
            json.dump(json_safe(data), f, indent=2, allow_nan=False)
            f.write("\n")

    def csv(self, name: str, df: pd.DataFrame) -> None:
        df.to_csv(self.path(name), index=False)

    def write(self, name: str, writer: Callable[[Path], object]) -> None:
        """Stage ``name``: ``writer`` writes it to the path it is given."""
        writer(self.path(name))

    def publish(self) -> list[Path]:
        """Move the staged files into place. The files they replace are set aside
        until every new one is in place, so that a failure or an interruption
        part-way puts the old ones back: the directory holds the old results or
        the new ones, never a mix."""
        aside = self.stage / ".replaced"
        aside.mkdir()
        kept: list[str] = []
        placed: list[str] = []
        try:
            for name in self.names:
                if (self.target / name).exists():
                    os.replace(self.target / name, aside / name)
                    kept.append(name)
                os.replace(self.stage / name, self.target / name)
                placed.append(name)
        except BaseException:
            for name in placed:
                (self.target / name).unlink(missing_ok=True)
            for name in kept:
                os.replace(aside / name, self.target / name)
            raise
        self.discard()
        return [self.target / name for name in self.names]

    def discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


def write_files(writers: Mapping[Path, Callable[[Path], object]]) -> list[Path]:
    """Write files of one directory together, through an :class:`OutputDir`:
    each writer writes its file to the staged path it is given; once all are
    written they replace the files of those names. An error, or an interrupt,
    leaves every target as it was."""
    if not writers:
        return []
    folders = {Path(target).parent for target in writers}
    if len(folders) != 1:
        raise ValueError(f"files to write together lie in {len(folders)} directories: "
                         f"{', '.join(sorted(map(str, folders)))}")
    folder = folders.pop()
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"{folder} exists and is not a directory")
    od = OutputDir(folder)
    try:
        for target, writer in writers.items():
            od.write(Path(target).name, writer)
        return od.publish()
    except BaseException:
        od.discard()
        raise


#: results.xlsx is written by default when its sheets hold up to this many rows
#: (openpyxl writes some 20,000 cells a second: beyond this the workbook takes
#: longer than the solve)
WORKBOOK_AUTO_ROWS = 10_000


def workbook_rows(result: Result) -> int:
    """Rows the results workbook would hold (allocation, rules, shares, ...)."""
    return sum(len(df) for df in (result.allocation, result.rules, result.shares,
                                  result.concentration, result.usage))


def write_result(result: Result, out: str | Path,
                 extra: dict[str, Callable[[Path], None]] | None = None,
                 workbook: bool | None = None) -> list[Path]:
    """Write summary.json, allocation.csv, shares.csv, rules.csv, unmet.csv, ...,
    results.xlsx (``workbook``: None writes it for plans up to
    ``WORKBOOK_AUTO_ROWS`` rows) and report.html (a self-contained page: for a
    plan, or explaining an infeasible model)."""
    if workbook is None:
        workbook = workbook_rows(result) <= WORKBOOK_AUTO_ROWS
    t0 = time.perf_counter()
    od = OutputDir(out)
    try:
        columns = ["supplier", "company", "country", "control", "bloc", "chemistry", "family",
                   "application", "period", "gwh", "unit_landed_cost", "cost"]
        allocation = result.allocation if not result.allocation.empty \
            else pd.DataFrame(columns=columns)
        od.csv("allocation.csv", allocation)
        if result.status in ("optimal", "time_limit"):
            od.csv("shares.csv", result.shares)
            od.csv("rules.csv", result.rules)
            od.csv("unmet.csv", result.unmet)
            od.csv("usage.csv", result.usage)
            if not result.concentration.empty:
                od.csv("concentration.csv", result.concentration)
            if not result.tiers.empty:
                od.csv("tiers.csv", result.tiers)
        if result.repairs:
            od.csv("repairs.csv", pd.DataFrame(result.repairs))
        if result.has_plan and workbook:
            from optimizer.report.xlsx import write_results_xlsx
            od.write("results.xlsx", lambda path: write_results_xlsx(result, path))
        if result.has_plan or result.status == "infeasible":
            with open(od.path("report.html"), "w", encoding="utf-8") as f:
                f.write(render_html(result))
        for name, writer in (extra or {}).items():
            od.write(name, writer)
        # last, so that its timings include the time taken to write the other files
        summary = result.summary()
        summary["timings"] = {**summary.get("timings", {}), "write": time.perf_counter() - t0}
        od.json("summary.json", summary)
        # listed first, as the main result
        return sorted(od.publish(), key=lambda path: path.name != "summary.json")
    except BaseException:
        od.discard()
        raise
