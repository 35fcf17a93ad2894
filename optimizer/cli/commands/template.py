"""``optimizer template FILE.xlsx [--example [NAME]]``: a workbook to fill in,
or a bundled instance as a workbook to start from.

The blank workbook has every sheet with its headers, a note on every column
and drop-downs for ids, and nothing else: it does not validate until it holds
an instance (a name and the periods in ``settings``, and rows of chemistries,
countries, applications, demand and suppliers). An empty instance cannot be
valid (there would be nothing to plan), so rather than invent rows the
command says so, and ``optimizer validate`` on the untouched template says
what is missing and that it is the blank template. ``--example`` writes a
filled workbook instead (the teaching instance, or the bundled instance
NAME), which validates and solves as it is.
"""

from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_PLAN, UsageError

NAME = "template"
HELP = ("write a blank Excel workbook to fill in (headers, a note on every column, "
        "drop-downs), or with --example a filled one that solves as it is")

#: the instance ``--example`` writes when it is given without a name
DEFAULT_EXAMPLE = "teaching"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the workbook to write (.xlsx)")
    p.add_argument("--example", nargs="?", const=DEFAULT_EXAMPLE, metavar="NAME",
                   help="write a filled workbook that validates and solves: the teaching "
                        "instance, or the bundled instance NAME (optimizer examples lists them)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def _missing(path: Path) -> int:
    """How many problems the blank workbook has (what is left to fill in)."""
    from optimizer.errors import InputError
    from optimizer.input import load_instance

    try:
        load_instance(path)
    except InputError as err:
        return sum(1 for p in err.problems if p.severity == "error")
    return 0


def _write_example(name: str, path: Path, console: Console) -> None:
    from optimizer.cli.commands.convert import comparable
    from optimizer.errors import did_you_mean
    from optimizer.examples import bundled
    from optimizer.input import load_instance
    from optimizer.input.load import read_raw
    from optimizer.input.workbook import collect_notes, write_workbook
    from optimizer.report.files import write_files

    examples = {e["name"]: e for e in bundled()}
    if name not in examples:
        raise UsageError(f"--example: no bundled instance '{name}'"
                         f"{did_you_mean(name, list(examples))}; they are: "
                         f"{', '.join(examples)}")
    src = examples[name]["path"]
    inst = load_instance(src)
    write_files({path: partial(write_workbook, inst, notes=collect_notes(read_raw(src)))})
    if comparable(load_instance(path).to_dict()) != comparable(inst.to_dict()):
        raise RuntimeError(f"{path} does not read back as the bundled instance '{name}'")
    console.print(f"wrote {escape(str(path))}: the bundled instance '{escape(name)}' "
                  f"({len(inst.suppliers)} suppliers, {len(inst.applications)} applications, "
                  f"{len(inst.periods)} periods, {len(inst.rules)} rules) as a workbook; it "
                  f"validates and solves as it is: optimizer solve {escape(str(path))}",
                  highlight=False)


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.input.workbook import write_template
    from optimizer.report.files import write_files

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"{path}: a template is an Excel workbook: the name must end in .xlsx")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists (use --force to overwrite it)")
    if args.example is not None:
        _write_example(args.example, path, console)
        return EXIT_PLAN
    write_files({path: write_template})
    n = _missing(path)
    console.print(f"wrote {escape(str(path))}: a blank workbook to fill in (hover over a column "
                  "name for what it means). It is not an instance yet: it needs a name and the "
                  "periods in 'settings' and rows in chemistries, countries, applications, "
                  f"demand and suppliers; optimizer validate {escape(str(path))} lists what is "
                  f"still missing ({n} problem{'s' if n != 1 else ''} as it is now). "
                  "To start from a filled one instead: optimizer template FILE.xlsx --example",
                  highlight=False)
    return EXIT_PLAN
