"""Command line: ``optimizer solve|validate ...`` (also ``python -m optimizer``).

Exit codes: 0 a plan was found; 1 no feasible plan (the conflicting
requirements are named); 2 bad input or usage; 3 an internal error (a bug:
please report it with the output of ``--debug``).
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence

from rich.console import Console

from optimizer.errors import InputError

EXIT_PLAN, EXIT_NO_PLAN, EXIT_INPUT, EXIT_BUG = 0, 1, 2, 3


class UsageError(Exception):
    """A command line that cannot be carried out (exit code 2)."""


def _positive(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{value}'")
    return v


def _gap(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got '{value}'")
    return v


def _threads(value: str) -> int:
    try:
        v = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got '{value}'") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got '{value}'")
    return v


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="optimizer",
        description="Diversified battery-cell sourcing: the cheapest plan no company or "
                    "country can corner.",
        epilog="Exit codes: 0 a plan, 1 no feasible plan, 2 bad input or usage.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("solve", help="find the cheapest plan that obeys every rule")
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    p.add_argument("--out", metavar="DIR", help="write summary.json, allocation.csv, "
                   "shares.csv, rules.csv here")
    _solver_args(p)
    p.add_argument("--all-rules", action="store_true", help="list every rule scope, "
                   "not only the binding ones")
    a = p.add_mutually_exclusive_group()
    a.add_argument("--analysis", dest="analysis", action="store_true", default=None,
                   help="compute each rule's total cost and the concentration report "
                        "(default: only for models up to 20,000 variables)")
    a.add_argument("--no-analysis", dest="analysis", action="store_false",
                   help="skip them (marginal costs are still reported)")

    v = sub.add_parser("validate", help="check an instance file and list every problem")
    v.add_argument("instance", help="instance file (.yaml/.yml/.xlsx)")
    return parser


def _solver_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("solver")
    g.add_argument("--time-limit", type=_positive, metavar="SECONDS",
                   help="stop HiGHS after this many seconds")
    g.add_argument("--mip-gap", type=_gap, default=1e-6, metavar="GAP",
                   help="relative MIP gap (default 1e-6)")
    g.add_argument("--threads", type=_threads, metavar="N", help="HiGHS threads")
    g.add_argument("--solver-log", action="store_true", help="show HiGHS's own log")


def _options(args: argparse.Namespace):
    from optimizer.solver import SolverOptions

    return SolverOptions(time_limit=args.time_limit, mip_gap=args.mip_gap,
                         threads=args.threads, log=args.solver_log)


def _print_problems(console: Console, err: InputError) -> None:
    errors = [p for p in err.problems if p.severity == "error"]
    n = len(errors)
    console.print(f"[bold red]{n} problem{'s' if n != 1 else ''} in the input:[/]")
    for p in err.problems:
        console.print(f"  - {p}", markup=False, highlight=False)


def cmd_solve(args: argparse.Namespace, console: Console) -> int:
    from optimizer.api import solve
    from optimizer.output import write_result
    from optimizer.report import solve_report, titled

    result = solve(args.instance, _options(args), analysis=args.analysis)
    for item in solve_report(result, all_rules=args.all_rules):
        console.print(titled(item))
        console.print()
    if args.out:
        written = write_result(result, args.out)
        console.print(f"wrote {', '.join(p.name for p in written)} to {args.out}")
    if result.status == "optimal":
        return EXIT_PLAN
    if result.status == "time_limit" and result.has_plan:
        console.print("[yellow]stopped at the time limit: the plan may not be optimal[/]")
        return EXIT_PLAN
    if result.status == "time_limit":
        console.print("[red]stopped at the time limit before any plan was found[/]")
    return EXIT_NO_PLAN


def cmd_validate(args: argparse.Namespace, console: Console) -> int:
    from optimizer.io import load_instance

    inst = load_instance(args.instance)
    for w in inst.warnings:
        console.print(f"  - {w}", markup=False, highlight=False)
    console.print(
        f"[green]ok[/]: {args.instance}: {len(inst.suppliers)} suppliers, "
        f"{len(inst.applications)} applications, {len(inst.periods)} periods, "
        f"{len(inst.rules)} rules, {len(inst.scenarios)} scenarios"
    )
    return EXIT_PLAN


COMMANDS = {"solve": cmd_solve, "validate": cmd_validate}


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    # a pipe or a file gets 120 columns rather than rich's 80
    width = None if sys.stdout.isatty() else 120
    console = Console(highlight=False, soft_wrap=False, width=width)
    err_console = Console(stderr=True, highlight=False, soft_wrap=True)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    try:
        return COMMANDS[args.command](args, console)
    except InputError as err:
        _print_problems(err_console, err)
        return EXIT_INPUT
    except (UsageError, NotADirectoryError, FileExistsError, PermissionError) as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False)
        return EXIT_INPUT
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # a bug, not the user's fault
        if args.debug:
            traceback.print_exc()
        else:
            err_console.print(
                f"[bold red]internal error[/] ({type(exc).__name__}: {exc}). This is a bug; "
                "run again with --debug and report the traceback.", highlight=False)
        return EXIT_BUG


def run() -> None:
    sys.exit(main())


if __name__ == "__main__":
    run()
