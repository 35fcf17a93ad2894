"""Command line: ``optimizer COMMAND ...`` (also ``python -m optimizer``).

Each command lives in its own module in :mod:`optimizer.commands`.

Exit codes: 0 a plan was found; 1 no feasible plan (the conflicting
requirements are named); 2 bad input or usage; 3 an internal error (a bug:
please report it with the output of ``--debug``).
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
import traceback
from collections.abc import Callable, Sequence
from types import ModuleType
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


#: commands listed first in --help; other modules in optimizer/commands follow
COMMAND_ORDER = ("solve", "validate", "check", "frontier", "stress", "robust", "template",
                 "convert")


def command_modules() -> list[ModuleType]:
    """Every module in ``optimizer.commands``: each defines ``NAME``, ``HELP``,
    ``add_arguments(parser)`` and ``run(args, console) -> exit code``."""
    import optimizer.commands as pkg

    names = [m.name for m in pkgutil.iter_modules(pkg.__path__) if not m.name.startswith("_")]
    mods = [importlib.import_module(f"optimizer.commands.{n}") for n in names]
    rank = {n: i for i, n in enumerate(COMMAND_ORDER)}
    return sorted(mods, key=lambda m: (rank.get(m.NAME, len(rank)), m.NAME))


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="optimizer",
        description="Diversified battery-cell sourcing: the cheapest plan no company or "
                    "country can corner.",
        epilog="Exit codes: 0 a plan (or a valid file), 1 no feasible plan, "
               "2 bad input or usage, 3 internal error.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for mod in command_modules():
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        commands[mod.NAME] = mod
    return parser, commands


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
    errors = [p for p in err.problems if p.severity == "error"]
    n = len(errors)
    console.print(f"[bold red]{n} problem{'s' if n != 1 else ''} in the input:[/]")
    for p in err.problems:
        console.print(f"  - {p}", markup=False, highlight=False)


def main(argv: Sequence[str] | None = None) -> int:
    parser, commands = build_parser()
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
        return int(commands[args.command].run(args, console))
    except InputError as err:
        print_problems(err_console, err)
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
    code = main()
    # The work is done and every file is written and closed. Leave without
    # tearing down a model of a million Python objects one by one (seconds).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
