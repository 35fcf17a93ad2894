"""``optimizer examples [NAME] [--to DIR]``: the bundled instances, and a copy
of one to start from.

The instances ship inside the package (``optimizer/data/NAME/``; in a clone of
the repository ``instances/NAME`` leads to the same folder), each with its
CSV tables and, for the market instances, ``SOURCES.md``. Without NAME the
command lists them with the question each answers; with NAME it copies that
instance's folder into DIR (default ``./NAME``), which must not exist or must
be empty. The copy is made beside DIR and renamed into place, so DIR never
holds half an instance.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.cli.common import EXIT_PLAN, UsageError
from optimizer.examples import ExampleError, bundled, copy_example

NAME = "examples"
HELP = ("list the bundled example instances, or copy one (its YAML, CSV tables and "
        "SOURCES.md) into a folder to start from")

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="the instance to copy (without it: list them)")
    p.add_argument("--to", metavar="DIR",
                   help="the folder to copy it into, created; it must not exist or be "
                        "empty (default: ./NAME)")


def listing(examples: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title="Bundled instances", title_justify="left", title_style="bold")
    table.add_column("name", no_wrap=True)
    table.add_column("the question it answers", overflow="fold")
    for e in examples:
        name = Text(e["name"] + (" (default)" if e["default"] else ""))
        table.add_row(name, Text(e["question"]))
    return table


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.errors import did_you_mean

    examples = bundled()
    if args.name is None:
        if args.to:
            raise UsageError("--to says where to copy an instance: name it, e.g. "
                             f"optimizer examples {examples[-1]['name']} --to {args.to}")
        console.print(listing(examples))
        console.print()
        console.print("copy one to start from: optimizer examples NAME [--to DIR]\n"
                      "then solve it: optimizer solve DIR/instance.yaml", markup=False,
                      highlight=False)
        return EXIT_PLAN
    names = [e["name"] for e in examples]
    match = next((e for e in examples if e["name"] == args.name), None)
    if match is None:
        raise UsageError(f"no bundled instance '{args.name}'{did_you_mean(args.name, names)}; "
                         f"they are: {', '.join(names)}")
    dest = Path(args.to) if args.to else Path(match["name"])
    try:
        copied = copy_example(match["path"].parent, dest)
    except ExampleError as exc:
        raise UsageError(str(exc)) from None
    console.print(f"copied {match['name']} to {escape(str(dest))}: "
                  f"{escape(', '.join(p.name for p in copied))}", highlight=False)
    console.print(f"solve it with: optimizer solve {escape(str(dest / 'instance.yaml'))}",
                  highlight=False)
    return EXIT_PLAN
