"""``optimizer validate INSTANCE``: check a file and list every problem."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_PLAN
from optimizer.errors import InputError

NAME = "validate"
HELP = "check an instance file and list every problem"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", help="instance file (.yaml/.yml/.xlsx)")


def blank_template(path: Path) -> bool:
    """``path`` is a workbook whose tables hold no rows at all (as
    ``optimizer template`` writes it)."""
    if path.suffix.lower() != ".xlsx" or not path.is_file():
        return False
    try:
        from openpyxl import load_workbook

        from optimizer.input.schema import TABLES

        wb = load_workbook(path, read_only=True)
        try:
            for table in TABLES:
                if table not in wb.sheetnames:
                    continue
                for row in wb[table].iter_rows(min_row=2, values_only=True):
                    if any(v is not None and str(v).strip() for v in row):
                        return False
        finally:
            wb.close()
    except Exception:  # not a workbook it can read: the problems say why
        return False
    return True


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.input import load_instance

    try:
        inst = load_instance(args.instance)
    except InputError:
        if blank_template(Path(args.instance)):
            err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)
            err.print(f"{escape(args.instance)} is a blank template: every table is empty. Fill "
                      "in the sheets (the problems below are what is still missing), or write a "
                      "filled workbook to start from: optimizer template EXAMPLE.xlsx --example",
                      highlight=False)
        raise
    for w in inst.warnings:
        console.print(f"  - {w}", markup=False, highlight=False)
    console.print(
        f"[green]ok[/]: {escape(str(args.instance))}: {len(inst.suppliers)} suppliers, "
        f"{len(inst.applications)} applications, {len(inst.periods)} periods, "
        f"{len(inst.rules)} rules, {len(inst.scenarios)} scenarios"
    )
    return EXIT_PLAN
