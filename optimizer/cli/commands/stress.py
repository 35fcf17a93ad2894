"""``optimizer stress INSTANCE [--plan CSV] [--n-1 company|control|origin [--material M
--stage K]] [--out DIR]``:
a plan played out in every disruption and cartel scenario (SPEC section 5)."""

from __future__ import annotations

import argparse
import math
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.cli.common import (
    EXIT_NO_PLAN,
    EXIT_PLAN,
    UsageError,
    fraction_below_one,
    solver_args,
    solver_options,
    whole_number,
)

if TYPE_CHECKING:
    import pandas as pd

    from optimizer.scenarios import StressResult

NAME = "stress"
HELP = ("play a plan (the deterministic optimum, or --plan) out in every scenario: cost, "
        "spot and unmet GWh, expected cost and CVaR; --n-1 ranks single failures")

#: rows of a scenario table printed on the terminal (all are in scenarios.csv)
MAX_ROWS = 25


def scenario_args(p: argparse.ArgumentParser) -> None:
    """--alpha, --sample/--seed, --workers/--scheduler (shared with ``robust``)."""
    p.add_argument("--alpha", type=fraction_below_one, default=0.95, metavar="A",
                   help="CVaR level: the mean of the worst 1 - A of probability "
                        "(default 0.95)")
    s = p.add_argument_group("sampling (scenarios with uncertain factors, docs/scenarios.md)")
    s.add_argument("--sample", type=whole_number(1), metavar="N",
                   help="draw N equally likely outcomes from the scenarios' probabilities "
                        "and factor distributions")
    s.add_argument("--seed", type=whole_number(0), metavar="S",
                   help="random seed of --sample (default: a fresh one, reported)")
    r = p.add_argument_group("where to run")
    r.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                   help="local processes for independent solves (default 1)")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    p.add_argument("--plan", metavar="CSV", help="play this plan out instead of the "
                   "deterministic optimum: columns supplier, application, period, gwh "
                   "(e.g. allocation.csv of solve --out)")
    p.add_argument("--n-1", dest="n_minus_1", choices=["company", "control", "origin"],
                   help="add one scenario per company (or controlling country) that loses "
                        "all capacity, and rank them; origin (with --material and --stage): "
                        "one per country that stops supplying that material at that stage")
    p.add_argument("--material", metavar="M", help="with --n-1 origin: the material "
                   "(an id of the instance's materials table, e.g. graphite)")
    p.add_argument("--stage", metavar="K", help="with --n-1 origin: the stage (e.g. refining)")
    p.add_argument("--out", metavar="DIR", help="write scenarios.csv, summary.json, "
                   "shortfalls.csv, allocation.csv, report.html (and n_minus_1.csv) here")
    scenario_args(p)
    solver_args(p)


def money(v: Any) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) \
        else f"{v:,.1f}"


def gwh(v: Any) -> str:
    return f"{v:,.2f}" if abs(v) >= 0.005 else "0"


def scenario_table(df: pd.DataFrame, title: str) -> Table:
    t = Table(title=title, title_justify="left")
    for col, right in (("scenario", False), ("probability", True), ("cost, USD m", True),
                       ("vs base", True), ("shortfall GWh", True), ("spot GWh", True),
                       ("unmet GWh", True)):
        t.add_column(col, justify="right" if right else "left")
    for row in df.head(MAX_ROWS).itertuples(index=False):
        t.add_row(Text(str(row.scenario)), f"{row.probability:.4g}", money(row.cost),
                  f"{row.extra_cost:+,.1f}", gwh(row.shortfall_gwh), gwh(row.spot_gwh),
                  gwh(row.unmet_gwh))
    if len(df) > MAX_ROWS:
        t.caption = f"first {MAX_ROWS} of {len(df)} scenarios"
    return t


def ranking_table(df: pd.DataFrame, by: str, material: str | None = None,
                  stage: str | None = None) -> Table:
    what = f"each {by} losing all capacity" if by != "origin" else \
        f"each origin country of {material} ({stage}) stopping supply"
    t = Table(title=Text(f"N-1: {what}, most expensive first"), title_justify="left")
    for col in ("rank", by, "extra cost, USD m", "shortfall GWh", "spot GWh", "unmet GWh"):
        t.add_column(col, justify="left" if col == by else "right")
    for row in df.head(MAX_ROWS).itertuples(index=False):
        t.add_row(str(row.rank), Text(str(row.group)), f"{row.extra_cost:+,.1f}",
                  gwh(row.shortfall_gwh), gwh(row.spot_gwh), gwh(row.unmet_gwh))
    if len(df) > MAX_ROWS:
        t.caption = f"first {MAX_ROWS} of {len(df)}; all are in n_minus_1.csv"
    return t


def print_stress(res: StressResult, console: Console, n_minus_1: str | None) -> None:
    s = res.summary
    live = res.scenarios[res.scenarios["kind"] != "n-1"]
    if len(live) > 1 or res.scenarios["kind"].eq("n-1").sum() == 0:
        console.print(scenario_table(live, f"Plan '{res.plan.name}' played out in each "
                                           "scenario (USD million, discounted)"))
        console.print()
    if s.get("sample"):
        console.print(f"sampled {s['sample']['n']} outcomes, seed {s['sample']['seed']}")
    console.print(f"base case {money(s['base_cost'])}  (probability "
                  f"{s['base_probability']:.4g})")
    console.print(f"expected cost [bold]{money(s['expected_cost'])}[/] USD million;  "
                  f"CVaR {s['alpha']:g}: {money(s['cvar'])}")
    worst = s.get("worst_scenario")
    if worst:
        console.print(f"worst scenario: {escape(str(worst['scenario']))} ({money(worst['cost'])}, "
                      f"probability {worst['probability']:.4g})")
    if n_minus_1 is not None:
        console.print()
        n1 = s.get("n_minus_1") or {}
        console.print(ranking_table(res.n_minus_1, n_minus_1, n1.get("material"),
                                    n1.get("stage")))
    for w in s.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(str(w))}", highlight=False)


def no_plan(console: Console, exc: Exception) -> int:
    console.print(f"[bold red]no plan:[/] {escape(str(exc))}")
    result = getattr(exc, "result", None)
    for name in getattr(result, "conflicts", None) or []:
        console.print(f"  - conflicting rule: {name}", markup=False)
    return EXIT_NO_PLAN


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.report.scenario_files import write_stress
    from optimizer.scenarios import NoPlanError, ScenarioError, stress
    from optimizer.scenarios.cases import instance_of

    try:
        res = stress(args.instance, args.plan, n_minus_1=args.n_minus_1,
                     material=args.material, stage=args.stage, alpha=args.alpha,
                     sample=args.sample, seed=args.seed, options=solver_options(args),
                     workers=args.workers, scheduler=args.scheduler)
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None
    except NoPlanError as exc:
        return no_plan(console, exc)
    print_stress(res, console, args.n_minus_1)
    if args.out:
        written = write_stress(res, args.out, instance=instance_of(args.instance))
        console.print(f"wrote {', '.join(p.name for p in written)} to {escape(str(args.out))}")
    return EXIT_PLAN
