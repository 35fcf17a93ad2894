"""``optimizer validate INSTANCE``: check a file and list every problem."""

from __future__ import annotations

import argparse

from rich.console import Console

from optimizer.cli.common import EXIT_PLAN

NAME = "validate"
HELP = "check an instance file and list every problem"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", help="instance file (.yaml/.yml/.xlsx)")


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.input import load_instance

    inst = load_instance(args.instance)
    for w in inst.warnings:
        console.print(f"  - {w}", markup=False, highlight=False)
    console.print(
        f"[green]ok[/]: {args.instance}: {len(inst.suppliers)} suppliers, "
        f"{len(inst.applications)} applications, {len(inst.periods)} periods, "
        f"{len(inst.rules)} rules, {len(inst.scenarios)} scenarios"
    )
    return EXIT_PLAN
