"""Reading a plan (an ``allocation.csv`` or a DataFrame) and checking it is
one: columns, ids, numbers, each problem located to its row."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from optimizer.check.base import PLAN_COLUMNS, _text
from optimizer.errors import InputError, Location, Problem, did_you_mean
from optimizer.input.instance import Instance

#: first characters of text that a results CSV wrote with an apostrophe in front
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plan_problems(inst: Instance, rows: list[dict[str, Any]], locations: list[Location],
                  columns: list[str] | None, file: str) -> tuple[pd.DataFrame, list[Problem]]:
    """Type and check plan rows (supplier, application, period, gwh).

    Returns the plan as a DataFrame and the problems found: missing columns,
    empty or non-numeric cells, unknown suppliers, applications or periods,
    non-finite volumes, the same (supplier, application, period) twice.
    A negative volume is not an input problem: it is a plan that breaks
    ``gwh >= 0``, reported by :func:`check_plan`.
    """
    problems: list[Problem] = []
    where = Location(file=file, table="plan")
    if columns is not None:
        missing = [c for c in PLAN_COLUMNS if c not in columns]
        if missing:
            problems.append(Problem(where, "missing column" + ("s" if len(missing) > 1 else "")
                                    + " " + ", ".join(f"'{c}'" for c in missing)
                                    + f" (a plan needs {', '.join(PLAN_COLUMNS)})"))
            return pd.DataFrame(columns=list(PLAN_COLUMNS)), problems
    suppliers = {s.id for s in inst.suppliers}
    apps = {a.id for a in inst.applications}
    periods = set(inst.periods)
    seen: dict[tuple[str, str, int], int] = {}
    out = []
    for row, loc in zip(rows, locations, strict=True):
        ok = True

        def bad(message: str, name: str) -> None:
            nonlocal ok
            ok = False
            problems.append(Problem(loc, message, field=name))  # noqa: B023

        values: dict[str, Any] = {}
        for name in PLAN_COLUMNS:
            v = row.get(name)
            # a DataFrame marks an empty cell of a text column NaN (or NA)
            empty = v is None or v is pd.NA or (isinstance(v, str) and v.strip() == "") \
                or (name != "gwh" and isinstance(v, float) and math.isnan(v))
            if empty:
                bad("is required (the cell is empty)", name)
            values[name] = v
        if not ok:
            continue
        s, a = _text(values["supplier"]), _text(values["application"])
        if s not in suppliers:
            bad(f"unknown supplier '{s}'{did_you_mean(s, sorted(suppliers))}", "supplier")
        if a not in apps:
            bad(f"unknown application '{a}'{did_you_mean(a, sorted(apps))}", "application")
        t = _year(values["period"])
        if t is None:
            bad(f"must be a whole number (a year), got '{values['period']}'", "period")
        elif t not in periods:
            bad(f"period {t} is not one of the periods "
                f"({', '.join(map(str, inst.periods))})", "period")
        gwh = _number(values["gwh"])
        if gwh is None:
            bad(f"must be a number, got '{values['gwh']}'", "gwh")
        elif not math.isfinite(gwh):
            bad(f"must be a finite number, got '{values['gwh']}'", "gwh")
        if not ok:
            continue
        assert t is not None and gwh is not None
        key = (s, a, t)
        if key in seen:
            bad(f"({s}, {a}, {t}) appears twice (first in row {seen[key]}); give each "
                "supplier, application and period once", "supplier")
            continue
        seen[key] = loc.row or 0
        out.append((s, a, t, gwh))
    plan = pd.DataFrame(out, columns=list(PLAN_COLUMNS))
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    return plan, problems


def _year(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        f = float(str(value).strip())
    except ValueError:
        return None
    if not math.isfinite(f) or not f.is_integer():
        return None
    return int(f)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(str(value).strip())
    except ValueError:
        return None


def read_plan(path: str, inst: Instance) -> pd.DataFrame:
    """Read an ``allocation.csv`` (columns supplier, application, period, gwh; other
    columns are ignored). Raises :class:`InputError` with every problem."""
    from pathlib import Path

    from optimizer.input.sources import read_csv

    problems: list[Problem] = []
    p = Path(path)
    table = read_csv(p, "plan", str(path), problems)
    if table is None:
        raise InputError(problems)
    # a results CSV writes text that a spreadsheet would run as a formula with an
    # apostrophe in front ('=x): read it as the text it was
    rows = [{k: v[1:] if isinstance(v, str) and v[:1] == "'" and v[1:2] in FORMULA_START
             else v for k, v in row.items()} for row in table.rows]
    plan, found = plan_problems(inst, rows, table.locations, table.header, str(path))
    problems += found
    if problems:
        raise InputError(problems)
    return plan


def plan_frame(inst: Instance, allocation: pd.DataFrame) -> pd.DataFrame:
    """A plan DataFrame (e.g. ``Result.allocation``) typed and checked like a file."""
    missing = [c for c in PLAN_COLUMNS if c not in allocation.columns]
    if allocation.empty and missing:
        return pd.DataFrame({"supplier": pd.Series(dtype=str),
                             "application": pd.Series(dtype=str),
                             "period": pd.Series(dtype=int), "gwh": pd.Series(dtype=float)})
    if not missing:
        typed = _typed_plan(inst, allocation)
        if typed is not None:
            return typed
    # only the columns a plan is made of (a Result.allocation carries many more)
    rows: list[dict[str, Any]] = [
        {str(k): v for k, v in r.items()}
        for r in allocation[list(PLAN_COLUMNS)].to_dict("records")
    ] if not missing else []
    locations = [Location(file="<plan>", table="plan", row=i + 1) for i in range(len(rows))]
    plan, problems = plan_problems(inst, rows, locations, list(allocation.columns), "<plan>")
    if problems:
        raise InputError(problems)
    return plan


def _typed_plan(inst: Instance, allocation: pd.DataFrame) -> pd.DataFrame | None:
    """The plan of an allocation whose columns are already well typed, read a column
    at a time: the same frame :func:`plan_problems` builds from its rows. None when
    any cell is not plainly valid (a row-by-row reading then says what is wrong)."""
    if len(allocation) == 0 or not allocation.columns.is_unique:
        return None
    period, gwh = allocation["period"], allocation["gwh"]
    if not (isinstance(period.dtype, np.dtype) and period.dtype.kind in "iu"
            and isinstance(gwh.dtype, np.dtype) and gwh.dtype.kind in "iuf"):
        return None
    years = period.to_numpy()
    volumes = gwh.to_numpy().astype(float)
    if not (np.isin(years, inst.periods).all() and np.isfinite(volumes).all()):
        return None
    ids: dict[str, np.ndarray] = {}
    codes = []
    for name, known in (("supplier", {s.id for s in inst.suppliers}),
                        ("application", {a.id for a in inst.applications})):
        values = allocation[name].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(values, skipna=False) != "string":
            return None
        code, uniques = pd.factorize(values)
        # a known id as it stands: what _text would make of the cell
        if not all(type(u) is str and u in known and u == u.strip() for u in uniques):
            return None
        ids[name] = values
        codes.append(code)
    year_code, _ = pd.factorize(years)
    key = (codes[0].astype(np.int64) * (int(codes[1].max()) + 1) + codes[1]) \
        * (int(year_code.max()) + 1) + year_code
    if len(np.unique(key)) != len(key):
        return None  # a (supplier, application, period) twice
    plan = pd.DataFrame({"supplier": ids["supplier"], "application": ids["application"],
                         "period": years, "gwh": volumes})
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    return plan


# ----------------------------------------------------------------------------- facts



#: the most a side table of a plan (expansions.csv, contracts.csv, stock.csv) may hold
MAX_SIDE_BYTES = 50_000_000
#: the side tables a plan written by ``solve --out`` may have, and the columns read
SIDE_TABLES = {"funding": ("expansions.csv", ("supplier", "period", "steps")),
               "contracts": ("contracts.csv", ("contract", "signed")),
               "stock": ("stock.csv", ("application", "period", "level_gwh"))}


def read_side_table(path: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """One of a plan's side tables (``SIDE_TABLES``), bounded in size; an
    :class:`InputError` naming the file otherwise."""
    from pathlib import Path

    p = Path(path)
    where = Location(file=str(path))
    try:
        if not p.is_file():
            raise InputError([Problem(where, "no such file")])
        if p.stat().st_size > MAX_SIDE_BYTES:
            raise InputError([Problem(where, f"larger than {MAX_SIDE_BYTES:,} bytes")])
        df = pd.read_csv(p)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(where, f"not a readable CSV table ({exc})")]) from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError([Problem(where, f"missing column(s) {', '.join(missing)}")])
    return df


def sides_beside(plan_path: str, inst: Instance) -> dict[str, pd.DataFrame | None]:
    """The side tables found beside an ``allocation.csv`` (as ``solve --out``
    writes them), for the instance's expansions, contracts and buffer stock:
    keyword arguments of :func:`optimizer.check.check_plan`."""
    from pathlib import Path

    wanted = {"funding": bool(inst.expansions), "contracts": bool(inst.contracts),
              "stock": bool(inst.stock)}
    out: dict[str, pd.DataFrame | None] = {}
    for key, (name, columns) in SIDE_TABLES.items():
        path = Path(plan_path).with_name(name)
        out[key] = read_side_table(str(path), columns) if wanted[key] and path.is_file() \
            else None
    return out
