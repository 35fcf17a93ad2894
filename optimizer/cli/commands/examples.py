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
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.cli.common import EXIT_PLAN, UsageError

NAME = "examples"
HELP = ("list the bundled example instances, or copy one (its YAML, CSV tables and "
        "SOURCES.md) into a folder to start from")

#: the list of bundled instances, beside them in the package
INDEX = "examples.yaml"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("name", nargs="?", metavar="NAME",
                   help="the instance to copy (without it: list them)")
    p.add_argument("--to", metavar="DIR",
                   help="the folder to copy it into, created; it must not exist or be "
                        "empty (default: ./NAME)")


def data_dir() -> Path:
    """The package's folder of bundled instances."""
    from importlib import resources

    return Path(str(resources.files("optimizer") / "data"))


def bundled() -> list[dict[str, Any]]:
    """The bundled instances: ``name``, ``question``, ``default`` and ``path``
    (of its ``instance.yaml``), in the order they are listed."""
    import yaml

    root = data_dir()
    entries = yaml.safe_load((root / INDEX).read_text(encoding="utf-8"))
    return [{"name": str(e["name"]), "question": " ".join(str(e["question"]).split()),
             "default": bool(e.get("default", False)),
             "path": root / str(e["name"]) / "instance.yaml"} for e in entries]


def listing(examples: list[dict[str, Any]]) -> Table:
    table = Table(box=box.SIMPLE_HEAD, show_edge=False, pad_edge=False,
                  title="Bundled instances", title_justify="left", title_style="bold")
    table.add_column("name", no_wrap=True)
    table.add_column("the question it answers", overflow="fold")
    for e in examples:
        name = Text(e["name"] + (" (default)" if e["default"] else ""))
        table.add_row(name, Text(e["question"]))
    return table


def _files(folder: Path) -> list[Path]:
    """The instance's own files (its YAML, CSV tables, SOURCES.md, ...)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def copy_example(source: Path, dest: Path) -> list[Path]:
    """Copy the files of the folder ``source`` into the new folder ``dest``
    (created whole, or not at all); the names copied."""
    if dest.exists() and not dest.is_dir():
        raise UsageError(f"{dest} exists and is not a folder: choose another --to")
    if dest.is_dir() and any(dest.iterdir()):
        raise UsageError(f"{dest} exists and is not empty: choose another --to, or empty it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.copying-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        files = _files(source)
        for f in files:
            shutil.copyfile(f, staging / f.name)  # the content, never a link
        if dest.is_dir():
            dest.rmdir()  # empty (checked above): the rename takes its place
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [dest / f.name for f in files]


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
    copied = copy_example(match["path"].parent, dest)
    console.print(f"copied {match['name']} to {escape(str(dest))}: "
                  f"{escape(', '.join(p.name for p in copied))}", highlight=False)
    console.print(f"solve it with: optimizer solve {escape(str(dest / 'instance.yaml'))}",
                  highlight=False)
    return EXIT_PLAN
