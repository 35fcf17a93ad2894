"""Command line: ``optimizer COMMAND ...`` (also ``python -m optimizer``).

Each command is a module of :mod:`optimizer.cli.commands` (``NAME``, ``HELP``,
``add_arguments(parser)``, ``run(args, console) -> exit code``): it parses,
calls the library and prints. What they share (exit codes, argument types)
is in :mod:`optimizer.cli.common`.

Exit codes: 0 a plan was found; 1 no feasible plan (the conflicting
requirements are named); 2 bad input or usage; 3 an internal error (a bug:
please report it with the output of ``--debug``).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from types import ModuleType
from typing import Any, TextIO

from rich.console import Console
from rich.markup import escape

from optimizer.cli.commands import (
    alternatives,
    check,
    convert,
    examples,
    frontier,
    robust,
    serve,
    solve,
    stress,
    template,
    validate,
)
from optimizer.cli.common import (
    EXIT_BUG,
    EXIT_INPUT,
    UsageError,
    positive_number,
    print_problems,
)
from optimizer.errors import InputError, OutputError

#: the commands, in the order --help lists them
COMMANDS: tuple[ModuleType, ...] = (solve, validate, check, frontier, stress, robust,
                                    alternatives, examples, template, convert, serve)


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, ModuleType]]:
    parser = argparse.ArgumentParser(
        prog="optimizer",
        description="Diversified battery-cell sourcing: the cheapest plan no company or "
                    "country can corner.",
        epilog="Exit codes: 0 a plan (or a valid file), 1 no feasible plan, "
               "2 bad input or usage, 3 internal error.",
    )
    parser.add_argument("--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("--max-file-mb", type=positive_number, metavar="MB",
                        help="read files up to this size (default 256 MB per file; a workbook "
                             "may unzip to 4 times as much, at least 512 MB)")
    parser.add_argument("--allow-outside-tables", action="store_true",
                        help="read table paths that lead outside the instance's folder")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = {}
    for mod in COMMANDS:
        p = sub.add_parser(mod.NAME, help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        commands[mod.NAME] = mod
    return parser, commands


class ClosedPipeGuard:
    """A stream (stdout, stderr) that outlives a closed pipe.

    ``optimizer solve | head`` closes the pipe after ten lines; the next write
    raises BrokenPipeError. From then on the stream's file descriptor points
    to the null device and the command carries on quietly: it still writes
    its files and exits with its own status, with no traceback.
    """

    def __init__(self, stream: TextIO):
        self.stream = stream
        self.closed_pipe = False

    def write(self, text: str) -> int:
        try:
            return self.stream.write(text)
        except BrokenPipeError:
            self._to_devnull()
            return len(text)

    def flush(self) -> None:
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._to_devnull()

    def _to_devnull(self) -> None:
        self.closed_pipe = True
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            try:
                os.dup2(null, self.stream.fileno())
            finally:
                os.close(null)
            self.stream.flush()  # what was left in its buffer goes to the null device
        except (OSError, ValueError):  # no file descriptor (a test's capture): nothing to do
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def _guarded(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, ClosedPipeGuard) else ClosedPipeGuard(stream)  # type: ignore[return-value]


def _width() -> int | None:
    """The terminal's width; a pipe or a file gets ``COLUMNS`` if set, else 120
    (rather than rich's 80)."""
    if sys.stdout.isatty():
        return None
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        return 120
    return columns if columns >= 40 else 120


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; the exit code. Output to a pipe that closes early
    (``optimizer solve | head``) is dropped quietly (:class:`ClosedPipeGuard`)."""
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _guarded(sys.stdout), _guarded(sys.stderr)
    try:
        code = _main(argv)
        sys.stdout.flush()
        return code
    finally:
        sys.stdout, sys.stderr = saved


def _main(argv: Sequence[str] | None) -> int:
    parser, commands = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    width = _width()
    # no emoji codes: a name such as ":x:" is shown as written
    console = Console(highlight=False, soft_wrap=False, width=width, emoji=False)
    err_console = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
    if args.command is None:
        parser.print_help()
        return EXIT_INPUT
    if args.max_file_mb is not None or args.allow_outside_tables:
        from optimizer.input.limits import limits, set_limits

        mb = args.max_file_mb or limits().max_file_mb
        set_limits(max_file_mb=mb, max_unzipped_mb=max(limits().max_unzipped_mb, 4 * mb),
                   allow_outside=bool(args.allow_outside_tables))
    try:
        return int(commands[args.command].run(args, console))
    except InputError as err:
        print_problems(err_console, err)
        return EXIT_INPUT
    except (UsageError, OutputError, NotADirectoryError, FileExistsError,
            PermissionError) as err:
        err_console.print(f"[bold red]error:[/] {escape(str(err))}", highlight=False)
        return EXIT_INPUT
    except OSError as err:  # a folder that cannot be written, a full disk: not a bug
        where = f" ({err.filename})" if getattr(err, "filename", None) else ""
        err_console.print(f"[bold red]error:[/] {escape(err.strerror or str(err))}"
                          f"{escape(where)}: the files could not be read or written there",
                          highlight=False)
        return EXIT_INPUT
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as exc:  # a bug, not the user's fault
        if args.debug:
            traceback.print_exc()
        else:
            err_console.print(
                f"[bold red]internal error[/] ({type(exc).__name__}: {escape(str(exc))}). "
                "This is a bug; run again with --debug and report the traceback.",
                highlight=False)
        return EXIT_BUG


def run() -> None:
    code = main()
    # The work is done and every file is written and closed. Leave without
    # tearing down a model of a million Python objects one by one (seconds).
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(BrokenPipeError, ValueError):  # a closed pipe: nothing to say
            stream.flush()
    os._exit(code)


if __name__ == "__main__":
    run()
