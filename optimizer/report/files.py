"""Writing results to a folder, atomically.

:class:`OutputDir` is the one way the package writes its outputs: results
(:func:`write_result`), scenario and frontier files (replacing a results
folder as a whole), and the files of ``optimizer convert`` and ``optimizer
template`` (:func:`write_files`, each file replacing its namesake). Text
cells are written inert (:func:`inert`).

Numbers in CSV files. Every CSV goes through :meth:`OutputDir.csv`, which
writes each floating-point number rounded to :data:`CSV_DIGITS` (10)
significant digits and at most :data:`CSV_DECIMALS` (12) decimal places
(:func:`rounded`), so that float noise does not show: ``0.4999999999999991``
is written ``0.5``, a slack of ``1.1e-16`` is written ``0``. Ten significant
digits keep a GWh volume, a USD million amount or a USD/kWh price exact to
one part in 10^10 (far inside the 1e-6 relative tolerance of ``optimizer
check``, which reads such a plan back as valid); twelve decimals keep a share
to 1e-12. Whole numbers, text, booleans, blanks and integer columns are
written as they are. JSON files and the workbook keep full precision.
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

import numpy as np
import pandas as pd

from optimizer.errors import OutputError
from optimizer.report.html import render_html
from optimizer.report.jsonsafe import json_safe
from optimizer.results import Result

__all__ = ["CSV_DECIMALS", "CSV_DIGITS", "WORKBOOK_AUTO_ROWS", "OutputDir", "json_safe",
           "round_numbers", "rounded", "workbook_rows", "write_files", "write_result"]


#: the file in a results folder that lists what this tool wrote there
MARKER = ".optimizer-output.json"


class OutputDir:
    """Collects files in a staging folder, then publishes them together.

    A results folder (``whole=True``, the default: solve, stress, robust,
    frontier) is replaced as a whole. The files are written into a hidden
    sibling folder (``.NAME.staging-PID-...``), with a list of them
    (:data:`MARKER`); publishing swaps the two folders in one atomic rename
    (Linux ``renameat2(RENAME_EXCHANGE)``), then deletes the old one. Whatever
    moment the process dies, ``--out`` holds the old run or the new run, whole,
    never a mix, and no file of an older run survives into a newer one. A
    folder that holds anything this tool did not write there (an instance's
    own files, a user's notes) is refused, never overwritten; leftovers of a
    killed run are removed by the next run into the same folder.

    With ``whole=False`` (``convert``, ``template``: files written into a folder
    of the user's) the files are staged inside the folder and each replaces its
    namesake; a failure part-way puts the old ones back.
    """

    def __init__(self, target: str | Path, whole: bool = True):
        self.target = Path(target)
        self.whole = whole
        if self.target.exists() and not self.target.is_dir():
            raise NotADirectoryError(f"--out {self.target} exists and is not a directory")
        self.names: list[str] = []
        if not whole:
            self.target.mkdir(parents=True, exist_ok=True)
            self.stage = Path(tempfile.mkdtemp(prefix=".staging-", dir=self.target))
            return
        folder = self.target.resolve()
        if self.target.exists():
            _check_ours(self.target)
        folder.parent.mkdir(parents=True, exist_ok=True)
        _clean_leftovers(folder)
        self.stage = Path(tempfile.mkdtemp(prefix=f".{folder.name}.staging-{os.getpid()}-",
                                           dir=folder.parent))

    def path(self, name: str) -> Path:
        self.names.append(name)
        return self.stage / name

    def json(self, name: str, data: Any) -> None:
        with open(self.path(name), "w", encoding="utf-8") as f:
            json.dump(json_safe(data), f, indent=2, allow_nan=False)
            f.write("\n")

    def csv(self, name: str, df: pd.DataFrame) -> None:
        """Stage ``name``: the table, numbers :func:`rounded`, text :func:`inert`."""
        inert(rounded(df)).to_csv(self.path(name), index=False)

    def write(self, name: str, writer: Callable[[Path], object]) -> None:
        """Stage ``name``: ``writer`` writes it to the path it is given."""
        writer(self.path(name))

    def publish(self) -> list[Path]:
        """Put the staged files in place (see the class docstring)."""
        if not self.whole:
            return self._publish_files()
        with open(self.stage / MARKER, "w", encoding="utf-8") as f:
            json.dump({"written_by": "optimizer", "files": sorted(self.names)}, f, indent=2)
        folder = self.target.resolve()
        if folder.exists():
            _exchange(self.stage, folder)  # atomic: the old run is now in the staging name
        else:
            os.rename(self.stage, folder)
            self.stage = folder.parent / f".{folder.name}.published"
        self.discard()
        return [self.target / name for name in self.names]

    def _publish_files(self) -> list[Path]:
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


def _check_ours(target: Path) -> None:
    """Refuse a folder that holds anything this tool did not write there."""
    entries = sorted(p.name for p in target.iterdir())
    if not entries:
        return
    listed: set[str] = set()
    try:
        with open(target / MARKER, encoding="utf-8") as f:
            listed = set(json.load(f).get("files", []))
    except (OSError, ValueError, AttributeError):
        listed = set()
    foreign = [name for name in entries if name != MARKER and not (
        name in listed and (target / name).is_file() and not (target / name).is_symlink())]
    if foreign:
        shown = ", ".join(foreign[:5]) + (f" and {len(foreign) - 5} more" if len(foreign) > 5
                                          else "")
        why = ("it was not written by this tool" if not listed else
               "this tool did not write them there")
        raise OutputError(f"--out {target} holds files that would be replaced or deleted "
                          f"({shown}); {why}. Results go to a new or empty folder, or to one "
                          "this tool wrote before")


def _clean_leftovers(folder: Path) -> None:
    """Remove the staging folders of earlier runs into ``folder`` that died
    before finishing (their process is gone)."""
    for stale in folder.parent.glob(f".{folder.name}.staging-*"):
        pid = stale.name.removeprefix(f".{folder.name}.staging-").split("-", 1)[0]
        if pid.isdigit() and _alive(int(pid)):
            continue  # another run into the same folder, still at work
        shutil.rmtree(stale, ignore_errors=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, but is not ours to signal
    return True


def _exchange(a: Path, b: Path) -> None:
    """Swap two folders in one atomic step. Where the system cannot (not Linux,
    or a file system without RENAME_EXCHANGE), two renames in a row: only a
    death between them leaves ``b`` missing, with its old content at ``a``'s
    name, which the next run cleans up."""
    import ctypes
    import errno

    libc = ctypes.CDLL(None, use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is not None:
        at_fdcwd, rename_exchange = -100, 2
        if renameat2(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0:
            return
        code = ctypes.get_errno()
        if code not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP):
            raise OSError(code, os.strerror(code), str(b))
    aside = a.with_name(a.name + "-old")
    os.rename(b, aside)
    os.rename(a, b)
    os.rename(aside, a)


#: significant digits of a number written to a CSV file
CSV_DIGITS = 10
#: decimal places of a number written to a CSV file, at most
CSV_DECIMALS = 12


def round_numbers(values: Any, digits: int = CSV_DIGITS,
                  decimals: int = CSV_DECIMALS) -> np.ndarray:
    """Floats rounded to ``digits`` significant digits and at most ``decimals``
    decimal places (half to even), as float64: each result is the double
    nearest to a decimal number of that many digits, so it prints without
    noise (``repr``). NaN and infinities stay; -0.0 becomes 0.0."""
    a = np.array(values, dtype=float)
    ok = np.isfinite(a) & (a != 0)
    v = a[ok]
    if not len(v):
        return a + 0.0
    mag = np.abs(v)
    exponent = np.floor(np.log10(mag)).astype(np.int64)
    exponent += mag >= 10.0 ** (exponent + 1)  # log10 a hair below a power of ten
    exponent -= mag < 10.0 ** exponent
    keep = np.minimum(digits - 1 - exponent, decimals)  # decimal places kept (< 0: tens...)
    scale = 10.0 ** np.abs(keep)  # exact up to 10**22
    with np.errstate(over="ignore", invalid="ignore"):
        up = np.rint(v * scale) / scale
        down = np.rint(v / scale) * scale
    r = np.where(keep >= 0, up, down)
    a[ok] = np.where(np.isfinite(r), r, v)
    return a + 0.0


def rounded(df: pd.DataFrame, digits: int = CSV_DIGITS,
            decimals: int = CSV_DECIMALS) -> pd.DataFrame:
    """The table with every float column :func:`round_numbers`-ed (a copy;
    other columns as they are)."""
    floats = [(i, dtype) for i, dtype in enumerate(df.dtypes)
              if isinstance(dtype, np.dtype) and np.issubdtype(dtype, np.floating)]
    if not floats:
        return df
    out = df.copy()
    for i, dtype in floats:
        out.isetitem(i, round_numbers(out.iloc[:, i].to_numpy(), digits, decimals).astype(dtype))
    return out


#: first characters that make a spreadsheet read a cell as a formula
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def inert(df: pd.DataFrame) -> pd.DataFrame:
    """The table with every text cell that a spreadsheet would run as a
    formula (starting with ``=``, ``+``, ``-``, ``@``) prefixed with an
    apostrophe, as spreadsheet tools expect (OWASP's advice for CSV
    injection); numbers are left alone. ``optimizer check`` and ``stress
    --plan`` read such cells back as written."""
    text = [c for c in df.columns
            if df[c].dtype == object or pd.api.types.is_string_dtype(df[c].dtype)]
    if not text:
        return df
    out = df.copy()
    for c in text:
        out[c] = [f"'{v}" if isinstance(v, str) and v.startswith(_FORMULA_START) else v
                  for v in out[c]]
    return out


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
    od = OutputDir(folder, whole=False)
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
            if not result.materials.empty:
                od.csv("materials.csv", result.materials)
            # instances with expansions or contracts: the tables, even when empty
            if len(result.expansions.columns):
                od.csv("expansions.csv", result.expansions)
            if len(result.contracts.columns):
                od.csv("contracts.csv", result.contracts)
            if len(result.stock.columns):
                od.csv("stock.csv", result.stock)
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
