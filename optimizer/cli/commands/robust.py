"""``optimizer robust INSTANCE [--cvar-weight W] [--alpha A] [--out DIR]``: the plan
that does best over the scenarios (two-stage stochastic program, SPEC section 5)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.cli.commands.stress import money, no_plan, scenario_args
from optimizer.cli.common import (
    EXIT_INPUT,
    EXIT_PLAN,
    UsageError,
    positive_number,
    solver_args,
    solver_options,
    whole_number,
)

if TYPE_CHECKING:
    from optimizer.scenarios import RobustResult

NAME = "robust"
HELP = ("the robust plan: lowest (1 - W) x expected cost + W x CVaR over the scenarios, "
        "every rule kept; compared with the deterministic plan, with VSS and EVPI")

#: groups shown per mix table
MIX_ROWS = 10


def _weight(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not 0 <= v <= 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got '{value}'")
    return v


def _lag(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of years, got '{value}'") \
            from None
    if not 0 <= v <= 100:
        raise argparse.ArgumentTypeError(f"must be 0 to 100 years, got '{value}'")
    return v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    p.add_argument("--cvar-weight", type=_weight, default=0.0, metavar="W",
                   help="weight of CVaR in the objective, 0 (expected cost, default) to 1 "
                        "(CVaR only)")
    p.add_argument("--adaptive", action="store_true",
                   help="also solve the adaptive plan: each scenario re-plans LAG years after "
                        "it starts (the multi-stage program on the tree of scenarios and "
                        "their parents); writes tree.csv and adaptive.csv")
    p.add_argument("--lag", type=_lag, default=1, metavar="L",
                   help="with --adaptive: years between a scenario's start and its own plan "
                        "(default 1; 0 = it re-plans at once)")
    p.add_argument("--no-evpi", dest="evpi", action="store_false",
                   help="skip the wait-and-see solves (one per scenario) behind EVPI")
    p.add_argument("--out", metavar="DIR", help="write summary.json, allocation.csv (the "
                   "robust plan), allocation_deterministic.csv, scenarios.csv and report.html here")
    scenario_args(p)
    e = p.add_argument_group("engine (docs/scenarios.md, progressive hedging)")
    e.add_argument("--engine", choices=["extensive", "mpisppy"], default="extensive",
                   help="extensive: the whole program in HiGHS (default); mpisppy: progressive "
                        "hedging on mpi-sppy, a few scenarios per subproblem (serially, or "
                        "under mpiexec -n N), reporting its proved bound and gap")
    e.add_argument("--ph-rho", type=positive_number, default=None, metavar="R",
                   help="with mpisppy: PH penalty as a multiple of each first-stage "
                        "variable's cost (default 0.1)")
    e.add_argument("--ph-iterations", type=whole_number(1), default=None, metavar="N",
                   help="with mpisppy: at most N PH iterations (default 500)")
    e.add_argument("--ph-bundle", type=whole_number(1), default=None, metavar="K",
                   help="with mpisppy, two-stage plan: K cases per PH subproblem (each the "
                        "extensive form of its cases; default: about 2 subproblems per "
                        "process; 1 with --cvar-weight above 0)")
    e.add_argument("--ph-tolerance", type=positive_number, default=None, metavar="T",
                   help="with mpisppy: stop when scenarios and their average differ, and "
                        "the average moves, by less than T on average (GWh; default 1e-4)")
    solver_args(p)


def _pct(v: float) -> str:
    from optimizer.labels import pct

    return pct(v) if v >= 0.0005 else "–"


def comparison_table(res: RobustResult) -> Table:
    det, rob = res.summary["plans"]["deterministic"], res.summary["plans"]["robust"]
    t = Table(title="Deterministic and robust plan, played out in the scenarios "
                    "(USD million, discounted)", title_justify="left")
    t.add_column("")
    t.add_column("deterministic", justify="right")
    t.add_column("robust", justify="right")
    t.add_column("change", justify="right")

    def row(label: str, key: str) -> None:
        a, b = det[key], rob[key]
        t.add_row(label, money(a), money(b), f"{b - a:+,.1f}")

    row("cost in the base case", "base_cost")
    row("expected cost", "expected_cost")
    row(f"CVaR {res.alpha:g}", "cvar")
    wd, wr = det["worst_scenario"], rob["worst_scenario"]
    t.add_row("worst scenario", Text(f"{wd['scenario']}: {money(wd['cost'])}"),
              Text(f"{wr['scenario']}: {money(wr['cost'])}"), f"{wr['cost'] - wd['cost']:+,.1f}")
    t.add_row("expected spot GWh", f"{det['expected_spot_gwh']:,.2f}",
              f"{rob['expected_spot_gwh']:,.2f}",
              f"{rob['expected_spot_gwh'] - det['expected_spot_gwh']:+,.2f}")
    t.add_row("expected unmet GWh", f"{det['expected_unmet_gwh']:,.2f}",
              f"{rob['expected_unmet_gwh']:,.2f}",
              f"{rob['expected_unmet_gwh'] - det['expected_unmet_gwh']:+,.2f}")
    return t


def mix_table(res: RobustResult, by: str, title: str) -> Table:
    df = res.mix(by)
    t = Table(title=title, title_justify="left")
    t.add_column(by)
    t.add_column("deterministic", justify="right")
    t.add_column("robust", justify="right")
    t.add_column("change, points", justify="right")
    for group, r in df.head(MIX_ROWS).iterrows():
        a, b = float(r["deterministic"]), float(r["robust"])
        change = round(100 * (b - a), 1) + 0.0  # no "-0.0"
        t.add_row(Text(str(group)), _pct(a), _pct(b), f"{change:+.1f}")
    if len(df) > MIX_ROWS:
        t.caption = f"first {MIX_ROWS} of {len(df)}"
    return t


def print_robust(res: RobustResult, console: Console) -> None:
    s: dict[str, Any] = res.summary
    console.print(comparison_table(res))
    console.print()
    for by, title in (("control", "Mix by controlling country (share of GWh, all periods)"),
                      ("family", "Mix by chemistry family"),
                      ("company", "Mix by company")):
        console.print(mix_table(res, by, title))
        console.print()
    what = "expected cost" if res.weight == 0 else \
        f"{1 - res.weight:g} x expected cost + {res.weight:g} x CVaR {res.alpha:g}"
    two_stage = s["two_stage"]["objective"] if "two_stage" in s else s["objective"]
    console.print(f"robust objective ({what}): [bold]{money(two_stage)}[/] USD million"
                  + (" (the two-stage plan)" if "two_stage" in s else ""))
    plan = " (of the expected-cost plan)" if res.weight > 0 else ""
    console.print(f"value of the stochastic solution{plan}: VSS = {money(s['vss'])}")
    if s.get("evpi") is not None:
        console.print(f"expected value of perfect information: EVPI = {money(s['evpi'])} "
                      f"(wait-and-see {money(s['wait_and_see_cost'])})")
    if s.get("sample"):
        console.print(f"sampled {s['sample']['n']} outcomes, seed {s['sample']['seed']}")
    robust_plan = res.plans["robust"]
    from optimizer.report.terminal_building import building_text

    line = building_text(robust_plan.funding, robust_plan.contracts, console.width)
    if line is not None:
        console.print(Text("The robust plan: ").append_text(line))
    if s.get("engine") == "mpisppy":
        two = s.get("two_stage")
        print_hedging({**s, "status": two["status"]} if two else s, console,
                      ", two-stage plan" if two else "")
    if res.adaptive is not None:
        print_adaptive(res, console)
    for w in s.get("warnings", []):
        console.print(f"[yellow]warning:[/] {escape(str(w))}")


def print_hedging(s: dict[str, Any], console: Console, what: str = "") -> None:
    """What progressive hedging proved: the bound, the gap, its iterations."""
    gap = s.get("gap")
    ranks = s.get("ranks") or 1
    bundles = f", {s['bundles']} subproblems" if s.get("bundles") else ""
    console.print(f"progressive hedging{what} (mpi-sppy, {ranks} rank{'s' if ranks != 1 else ''}"
                  f"{bundles}): {s.get('iterations')} iterations, status {s.get('status')}; "
                  f"lower bound {money(s.get('bound'))}, gap "
                  f"{'–' if gap is None else f'{100 * gap:.3g}%'}")


def print_adaptive(res: RobustResult, console: Console) -> None:
    """The adaptive plan: each case's node, when it re-plans, its cost."""
    ad = res.summary["adaptive"]
    assert res.adaptive is not None
    t = Table(title=f"Adaptive plan: each scenario re-plans {ad['lag']} year(s) after it "
                    "starts (USD million, discounted)", title_justify="left")
    for col, right in (("scenario", False), ("branches from", False), ("probability", True),
                       ("own plan from", True), ("cost", True), ("spot GWh", True),
                       ("unmet GWh", True)):
        t.add_column(col, justify="right" if right else "left")
    last = res.sd.periods[-1] if res.sd is not None else None
    for r in res.adaptive.tree.to_dict("records"):
        own = int(r["decides_from"])
        t.add_row(Text(str(r["scenario"])), Text(str(r["parent"] or "")),
                  f"{float(r['probability']):g}",
                  str(own) if last is None or own <= last else "never",
                  money(float(r["cost"])), f"{float(r['spot_gwh']):,.2f}",
                  f"{float(r['unmet_gwh']):,.2f}")
    console.print(t)
    what = "expected cost" if res.weight == 0 else \
        f"{1 - res.weight:g} x expected cost + {res.weight:g} x CVaR {res.alpha:g}"
    console.print(f"adaptive objective ({what}): [bold]{money(ad['objective'])}[/] USD million")
    console.print(f"adaptive expected cost: {money(ad['expected_cost'])} USD million; "
                  f"value of adapting (two-stage {money(ad['two_stage_expected_cost'])} minus "
                  f"adaptive): {money(ad['value_of_adapting'])}")
    if ad.get("engine") == "mpisppy":
        print_hedging(ad, console, ", adaptive plan")


def _hedging(args: argparse.Namespace) -> tuple[Any, bool]:
    """PH settings from the command line (None: not asked for), and whether this
    process is an MPI rank other than 0 (it then prints nothing)."""
    ph = (args.ph_rho, args.ph_iterations, args.ph_tolerance, args.ph_bundle)
    if args.engine != "mpisppy":
        if any(v is not None for v in ph):
            raise UsageError("--ph-rho, --ph-iterations, --ph-tolerance and --ph-bundle need "
                             "--engine mpisppy")
        return None, False
    if args.ph_bundle not in (None, 1) and args.cvar_weight > 0:
        raise UsageError("--ph-bundle above 1 needs --cvar-weight 0: with a CVaR weight "
                         "every case is its own PH subproblem")
    from optimizer.solver.hedging import HedgingSettings, rank_and_size

    defaults = HedgingSettings()
    settings = HedgingSettings(
        rho=defaults.rho if args.ph_rho is None else args.ph_rho,
        max_iterations=defaults.max_iterations if args.ph_iterations is None
        else args.ph_iterations,
        tolerance=defaults.tolerance if args.ph_tolerance is None else args.ph_tolerance,
        bundle=args.ph_bundle)
    return settings, rank_and_size()[0] != 0


def run(args: argparse.Namespace, console: Console) -> int:
    if args.engine != "mpisppy":
        return _run(args, console)
    from optimizer.errors import InputError
    from optimizer.solver.hedging import finish_mpi, rank_and_size

    try:
        return _run(args, console)
    except (InputError, UsageError):
        if rank_and_size()[0] != 0:
            return EXIT_INPUT  # every rank read the same input: rank 0 says why, once
        raise
    finally:
        finish_mpi()  # before the command line's os._exit, or mpiexec stops every rank


def _run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.report.scenario_files import write_robust
    from optimizer.scenarios import NoPlanError, ScenarioError, robust
    from optimizer.scenarios.cases import instance_of
    from optimizer.scenarios.errors import HelperRank

    hedging, helper = _hedging(args)
    try:
        res = robust(args.instance, weight=args.cvar_weight, alpha=args.alpha,
                     sample=args.sample, seed=args.seed, options=solver_options(args),
                     evpi=args.evpi, workers=args.workers, scheduler=args.scheduler,
                     adaptive=args.adaptive, lag=args.lag, engine=args.engine,
                     hedging=hedging)
    except HelperRank:
        return EXIT_PLAN  # another MPI rank: its share of PH done, rank 0 reports
    except ScenarioError as exc:
        if helper:
            return EXIT_INPUT  # rank 0 says why
        raise UsageError(str(exc)) from None
    except NoPlanError as exc:
        return no_plan(console, exc)
    print_robust(res, console)
    if args.out:
        written = write_robust(res, args.out, instance=instance_of(args.instance))
        console.print(f"wrote {', '.join(p.name for p in written)} to {escape(str(args.out))}")
    return EXIT_PLAN
