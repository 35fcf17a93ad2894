"""What every command shares: exit codes, argument types, solver options,
how input problems are printed."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console

from optimizer.errors import InputError

if TYPE_CHECKING:
    from optimizer.solver.options import SolverOptions

EXIT_PLAN, EXIT_NO_PLAN, EXIT_INPUT, EXIT_BUG = 0, 1, 2, 3


class UsageError(Exception):
    """A command line that cannot be carried out (exit code 2)."""


def positive_number(value: str) -> float:
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not v > 0 or v != v or v == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number, got '{value}'")
    return v


def fraction_below_one(value: str) -> float:
    """An argument in [0, 1): a gap, a CVaR level."""
    try:
        v = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got '{value}'") from None
    if not 0 <= v < 1:
        raise argparse.ArgumentTypeError(f"must be in [0, 1), got '{value}'")
    return v


def whole_number(minimum: int) -> Callable[[str], int]:
    """An argument type: a whole number of at least ``minimum``."""

    def parse(value: str) -> int:
        try:
            v = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got '{value}'") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got '{value}'")
        return v

    return parse


def solver_args(p: argparse.ArgumentParser) -> None:
    """--time-limit, --mip-gap, --threads, --solver-log."""
    g = p.add_argument_group("solver")
    g.add_argument("--time-limit", type=positive_number, metavar="SECONDS",
                   help="stop HiGHS after this many seconds")
    g.add_argument("--mip-gap", type=fraction_below_one, default=1e-6, metavar="GAP",
                   help="relative MIP gap (default 1e-6)")
    g.add_argument("--threads", type=whole_number(1), metavar="N", help="HiGHS threads")
    g.add_argument("--solver-log", action="store_true", help="show HiGHS's own log")


def solver_options(args: argparse.Namespace) -> SolverOptions:
    from optimizer.solver.options import SolverOptions

    return SolverOptions(time_limit=args.time_limit, mip_gap=args.mip_gap,
                         threads=args.threads, log=args.solver_log)


def print_problems(console: Console, err: InputError) -> None:
    """Every problem, one line each, up to a sensible number; then a count."""
    from optimizer.input.limits import limits

    errors = [p for p in err.problems if p.severity == "error"]
    n = len(errors)
    console.print(f"[bold red]{n:,} problem{'s' if n != 1 else ''} in the input:[/]")
    shown = limits().max_problems_shown
    for p in err.problems[:shown]:
        console.print(f"  - {p}", markup=False, highlight=False)
    if len(err.problems) > shown:
        console.print(f"  ... and {len(err.problems) - shown:,} more (the first {shown} are "
                      "listed; fix them and run again)", markup=False, highlight=False)
