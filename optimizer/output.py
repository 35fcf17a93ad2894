"""Writing results to a directory, atomically.

Files are first written into a hidden staging directory beside the target and
then moved into place one by one with ``os.replace``: an interrupted run never
leaves a half-written file, and a failed run leaves older results untouched.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimizer.results import Result


def _clean(obj: Any) -> Any:
    """JSON-safe: NaN and infinities become null, numpy scalars plain numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and (math.isnan(obj) or math.isinf(obj)):
        return None
    return obj


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
            json.dump(_clean(data), f, indent=2, allow_nan=False)
            f.write("\n")

    def csv(self, name: str, df: pd.DataFrame) -> None:
        df.to_csv(self.path(name), index=False)

    def write(self, name: str, writer: Callable[[Path], None]) -> None:
        writer(self.path(name))

    def publish(self) -> list[Path]:
        out = []
        for name in self.names:
            os.replace(self.stage / name, self.target / name)
            out.append(self.target / name)
        self.discard()
        return out

    def discard(self) -> None:
        shutil.rmtree(self.stage, ignore_errors=True)


def write_result(result: Result, out: str | Path,
                 extra: dict[str, Callable[[Path], None]] | None = None) -> list[Path]:
    """Write summary.json, allocation.csv, shares.csv, rules.csv, unmet.csv, ... and
    report.html (a self-contained page: for a plan, or explaining an infeasible model)."""
    od = OutputDir(out)
    try:
        od.json("summary.json", result.summary())
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
        if result.has_plan:
            from optimizer.results_xlsx import write_results_xlsx
            od.write("results.xlsx", lambda path: write_results_xlsx(result, path))
        if result.has_plan or result.status == "infeasible":
            from optimizer.html_report import render_html

            with open(od.path("report.html"), "w", encoding="utf-8") as f:
                f.write(render_html(result))
        for name, writer in (extra or {}).items():
            od.write(name, writer)
        return od.publish()
    except BaseException:
        od.discard()
        raise
