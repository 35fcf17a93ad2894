"""``optimizer check INSTANCE PLAN``: does a plan meet demand, capacity and every rule?"""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from optimizer.cli.common import EXIT_NO_PLAN, EXIT_PLAN, UsageError

if TYPE_CHECKING:
    from optimizer.check import CheckReport

NAME = "check"
HELP = ("check a plan (an allocation.csv) against an instance, independently of the model: "
        "every violation with its size, and the plan's cost")


def _finite(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not math.isfinite(v):
        raise argparse.ArgumentTypeError(f"must be a finite number, got '{value}'")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", help="instance file (.yaml/.yml/.xlsx)")
    p.add_argument("plan", help="the plan: a CSV file with columns supplier, application, "
                   "period, gwh (other columns are ignored), e.g. allocation.csv of solve --out")
    p.add_argument("--objective", type=_finite, metavar="USD_MILLION",
                   help="also check that the plan costs this much (e.g. the objective in "
                        "summary.json)")
    p.add_argument("--tolerance", type=_finite, default=None, metavar="REL",
                   help="relative tolerance of every comparison (default 1e-6)")
    p.add_argument("--expansions", metavar="CSV", help="the plan's co-funded steps "
                   "(expansions.csv of solve --out; default: the one beside PLAN, if any)")
    p.add_argument("--contracts", metavar="CSV", help="the contracts the plan signs "
                   "(contracts.csv of solve --out; default: the one beside PLAN, if any)")
    p.add_argument("--stock", metavar="CSV", help="the plan's buffer stock levels "
                   "(stock.csv of solve --out; default: the one beside PLAN, if any)")


#: the largest expansions.csv or contracts.csv read (bytes)
MAX_TABLE_BYTES = 50_000_000


def _side_table(given: str | None, plan: str, name: str, columns: tuple[str, ...]):
    """expansions.csv, contracts.csv or stock.csv: as given, else beside the
    plan, else None."""
    from pathlib import Path

    import pandas as pd

    path = Path(given) if given else Path(plan).with_name(name)
    if not given and not path.is_file():
        return None
    if not path.is_file():
        raise UsageError(f"{path}: no such file")
    if path.stat().st_size > MAX_TABLE_BYTES:
        raise UsageError(f"{path}: larger than {MAX_TABLE_BYTES:,} bytes")
    try:
        df = pd.read_csv(path)
    except (ValueError, OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: not a readable CSV table ({exc})") from None
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise UsageError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.check import TOL, check_plan, read_plan
    from optimizer.input import load_instance

    tol = TOL if args.tolerance is None else args.tolerance
    if not 0 <= tol < 1:
        raise UsageError(f"--tolerance must be in [0, 1), got {args.tolerance}")
    inst = load_instance(args.instance)
    plan = read_plan(args.plan, inst)
    funding = _side_table(args.expansions, args.plan, "expansions.csv",
                          ("supplier", "period", "steps")) if inst.expansions else None
    contracts = _side_table(args.contracts, args.plan, "contracts.csv",
                            ("contract", "signed")) if inst.contracts else None
    stock = _side_table(args.stock, args.plan, "stock.csv",
                        ("application", "period", "level_gwh")) if inst.stock else None
    report = check_plan(inst, plan, tol=tol, objective=args.objective, funding=funding,
                        contracts=contracts, stock=stock)
    for item in renderables(report, args.plan):
        console.print(item)
        console.print()
    return EXIT_PLAN if report.valid else EXIT_NO_PLAN


def renderables(report: CheckReport, plan: str, limit: int = 200) -> list[RenderableType]:
    """The verdict, every violation with its size, and the recomputed cost."""
    from optimizer.check import COST_KEYS
    from optimizer.labels import COST_ALWAYS, cost_label, number

    out: list[RenderableType] = []
    v = report.violations
    if report.valid:
        out.append(Text(f"valid: {plan} meets demand, capacity and every rule", style="bold green"))
    else:
        n = len(v)
        out.append(Text(f"NOT valid: {plan} breaks {n} requirement{'s' if n != 1 else ''}",
                        style="bold red"))
        table = Table(title="Violations (excess: how far beyond the limit)", title_justify="left")
        for col in ("kind", "rule", "where", "value", "limit", "excess", "unit"):
            table.add_column(col, justify="right" if col in ("value", "limit", "excess")
                             else "left")
        for row in v.head(limit).itertuples(index=False):
            where = " ".join(str(x) for x in (row.supplier, row.application, row.period,
                                               row.group) if _given(x))
            unit = str(row.unit) if _given(row.unit) else ""
            # ids and names are data, never markup; shares read as percentages
            table.add_row(Text(str(row.kind)), Text(str(row.rule) if _given(row.rule) else ""),
                          Text(where), _num(row.value, unit), _num(row.limit, unit),
                          _num(row.excess, unit), Text(unit))
        out.append(table)
        if n > limit:
            out.append(Text(f"... and {n - limit} more"))
        out.append(Text("\n".join(f"  - {m}" for m in v["message"].head(limit))))
    if not report.misses.empty:
        text = Text(f"{len(report.misses)} soft rule scope(s) missed, paid at their penalty:\n",
                    style="yellow")
        text.append("\n".join(f"  - {m}" for m in report.misses["message"]), style="default")
        out.append(text)
    costs = Table(title="Cost of the plan (USD million, discounted)", title_justify="left",
                  min_width=44)
    costs.add_column("component")
    costs.add_column("USD million", justify="right")
    # the components of building supply follow, in instances that have them
    extra = [k for k in report.cost_breakdown if k not in COST_KEYS and k != "total"]
    for key in [*COST_KEYS, *extra]:
        value = report.cost_breakdown.get(key, 0.0)
        if value or key in COST_ALWAYS:
            costs.add_row(cost_label(key), number(value, 6))
    costs.add_row("total", number(report.cost, 6), style="bold")
    out.append(costs)
    unmet = report.unmet[report.unmet["unmet"] > report.volume_floor]
    if not unmet.empty:
        out.append(Text(f"unmet demand (paid at its penalty): {unmet['unmet'].sum():,.6g} GWh "
                        f"in {len(unmet)} application-period(s)"))
    return out


def _given(x: object) -> bool:
    return x is not None and not (isinstance(x, float) and math.isnan(x)) and x != ""


def _num(x: object, unit: str = "") -> str:
    from optimizer.labels import pct, sig

    if not _given(x):
        return ""
    return pct(x, 2, missing="") if unit == "share" else sig(x, 6, missing="")
