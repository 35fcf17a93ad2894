"""``optimizer template FILE.xlsx``: a blank instance workbook to fill in."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_PLAN, UsageError

NAME = "template"
HELP = "write a blank Excel workbook to fill in (headers, a note on every column, drop-downs)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="the workbook to write (.xlsx)")
    p.add_argument("--force", action="store_true", help="overwrite FILE if it exists")


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.input.workbook import write_template
    from optimizer.report.files import write_files

    path = Path(args.file)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"{path}: a template is an Excel workbook: the name must end in .xlsx")
    if path.exists() and not args.force:
        raise UsageError(f"{path} exists (use --force to overwrite it)")
    write_files({path: write_template})
    console.print(f"wrote {escape(str(path))}: fill in the sheets (hover over a column name "
                  f"for what it means), then run: optimizer validate {escape(str(path))}",
                  highlight=False)
    return EXIT_PLAN
