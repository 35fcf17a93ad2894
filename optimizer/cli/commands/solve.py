"""``optimizer solve [INSTANCE] [--out DIR]``: the cheapest plan that obeys every rule."""

from __future__ import annotations

import argparse
import time

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_BUG, EXIT_NO_PLAN, EXIT_PLAN, solver_args, solver_options

NAME = "solve"
HELP = "find the cheapest plan that obeys every rule"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    p.add_argument("--out", metavar="DIR", help="write summary.json, allocation.csv, "
                   "shares.csv, rules.csv, ... here")
    solver_args(p)
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print every table: the cost breakdown, the mix by controlling "
                        "country, company and chemistry family, every binding rule, what each "
                        "rule costs, concentration (default: one screen with the headline, "
                        "the mix by controlling country and the rules that cost the most)")
    p.add_argument("--all-rules", action="store_true", help="list every rule scope, "
                   "not only the binding ones (implies --verbose)")
    _on_off(p, "analysis", "analysis",
            "compute each rule's total cost and the concentration report "
            "(default: only for models up to 20,000 variables, and for a model "
            "with binaries within 30 s or the solve's own time; given, without a "
            "time box)",
            "skip them (marginal costs are still reported)")
    _on_off(p, "xlsx", "workbook",
            "with --out, always write results.xlsx (default: for plans up to "
            "10,000 allocation rows)",
            "with --out, do not write results.xlsx")


def _on_off(p: argparse.ArgumentParser, flag: str, dest: str, on: str, off: str) -> None:
    """``--FLAG`` / ``--no-FLAG``, not both: ``dest`` is True, False or None (not given)."""
    pair = p.add_mutually_exclusive_group()
    pair.add_argument(f"--{flag}", dest=dest, action="store_true", default=None, help=on)
    pair.add_argument(f"--no-{flag}", dest=dest, action="store_false", help=off)


def run(args: argparse.Namespace, console: Console) -> int:
    from pyomo.common.gc_manager import PauseGC

    # no cyclic garbage collection during the run: it would traverse the
    # model's millions of objects again and again (see api.solve_model)
    with PauseGC():
        return _run(args, console)


def _after_solve_imports() -> None:
    """Import what the run needs after the solve; done while HiGHS solves."""
    import optimizer.check
    import optimizer.report.files
    import optimizer.report.html
    import optimizer.report.terminal_short  # noqa: F401


def _run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.api import solve
    from optimizer.errors import PlanCheckError
    from optimizer.input import default_instance_path, load_instance

    t0 = time.perf_counter()
    inst = load_instance(args.instance or default_instance_path())
    loaded = time.perf_counter() - t0
    try:
        # the plan is checked independently of the model before anyone sees it
        result = solve(inst, solver_options(args), analysis=args.analysis,
                       meanwhile=_after_solve_imports, check=True)
    except PlanCheckError as err:
        console.print(f"[bold red]internal error: the plan breaks "
                      f"{len(err.report.violations)} requirement(s) (please report this "
                      "with the instance):[/]")
        for message in err.report.violations["message"]:
            console.print(f"  - {message}", markup=False, highlight=False)
        console.print("no results were written")
        return EXIT_BUG

    from optimizer.report.files import workbook_rows, write_result
    from optimizer.report.terminal import solve_report, titled, where_files_are
    from optimizer.report.terminal_short import short_report

    result.timings["load"] = loaded
    t2 = time.perf_counter()
    verbose = args.verbose or args.all_rules
    items = solve_report(result, all_rules=args.all_rules, width=console.width) if verbose \
        else short_report(result, width=console.width)
    for item in items:
        console.print(titled(item))
        console.print()
    result.timings["report"] = time.perf_counter() - t2
    if args.analysis is None and result.status == "optimal" and "analysis" not in result.timings:
        from optimizer.api import ANALYSIS_AUTO_LIMIT

        console.print(f"rule total costs and the concentration report skipped: the model has "
                      f"{result.model_size['variables']:,} variables (they run by themselves up "
                      f"to {ANALYSIS_AUTO_LIMIT:,}; --analysis runs them anyway)")
    names: list[str] = []
    if args.out:
        written = write_result(result, args.out, workbook=args.workbook)
        names = [p.name for p in written]
        console.print(f"wrote {', '.join(names)} to {escape(str(args.out))}")
        if result.has_plan and "results.xlsx" not in names and args.workbook is None:
            console.print(f"results.xlsx skipped: it would hold {workbook_rows(result):,} rows "
                          "(--xlsx writes it anyway)")
    console.print(where_files_are(args.out, names, verbose, console.width))
    if result.status == "optimal":
        return EXIT_PLAN
    if result.status == "time_limit" and result.has_plan:
        console.print("[yellow]stopped at the time limit: the plan may not be optimal[/]")
        return EXIT_PLAN
    if result.status == "time_limit":
        console.print("[red]stopped at the time limit before any plan was found[/]")
    return EXIT_NO_PLAN
