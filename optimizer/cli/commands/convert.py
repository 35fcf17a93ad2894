"""``optimizer convert IN OUT``: an instance from YAML (+CSV) to Excel or back.

The output kind follows OUT's name: ``.xlsx`` gives a workbook, ``.yaml``/``.yml``
a YAML file with the big tables as CSV files beside it (``--inline``: all in the
YAML file). IN must be a valid instance. The output is read back and compared
with IN before the command reports success.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from optimizer.cli.common import EXIT_PLAN, UsageError

NAME = "convert"
HELP = "convert an instance between YAML (+CSV) and Excel, either way"

KINDS = (".yaml", ".yml", ".xlsx")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", metavar="IN", help="instance file (.yaml/.yml/.xlsx)")
    p.add_argument("output", metavar="OUT",
                   help="file to write: .xlsx for Excel, .yaml/.yml for YAML (+CSV files "
                        "beside it)")
    p.add_argument("--inline", action="store_true",
                   help="YAML output: every table inline, no CSV files")
    p.add_argument("--force", action="store_true", help="overwrite files that exist")


def comparable(data: dict[str, Any]) -> dict[str, Any]:
    """``Instance.to_dict()`` with supplier attributes as the text rules compare."""
    from optimizer.input.schema import SUPPLIER_FIELDS
    from optimizer.input.validate import text

    out = dict(data)
    out["suppliers"] = [{k: (text(v) if k not in SUPPLIER_FIELDS else v) for k, v in s.items()}
                        for s in data.get("suppliers", [])]
    return out


def _write_text(content: str, path: Path) -> None:
    path.write_text(content, encoding="utf-8")


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.input import load_instance
    from optimizer.input.load import read_raw
    from optimizer.input.workbook import (
        collect_notes,
        read_notes,
        write_workbook,
        yaml_files,
    )
    from optimizer.report.files import write_files

    src, dst = Path(args.input), Path(args.output)
    if dst.suffix.lower() not in KINDS:
        raise UsageError(f"{dst}: the output's name must end in .xlsx (Excel) or .yaml/.yml "
                         "(YAML with CSV tables)")
    inst = load_instance(src)
    for w in inst.warnings:
        console.print(f"  - {w}", markup=False, highlight=False)
    raw = read_raw(src) if src.suffix.lower() != ".xlsx" else None
    notes = read_notes(src) if raw is None else collect_notes(raw)
    # the files the instance is read from: never written over, even with --force
    inputs = {src.resolve()} | ({Path(t.file).resolve() for t in raw.tables.values()
                                 if t.header is not None} if raw is not None else set())
    writers: dict[Path, Callable[[Path], Any]] = {}
    if dst.suffix.lower() == ".xlsx":
        writers[dst] = partial(write_workbook, inst, notes=notes)
    else:
        for path, content in yaml_files(inst, dst, notes, inline=args.inline).items():
            writers[path] = partial(_write_text, content)
    targets = list(writers)
    clash = sorted(str(t) for t in targets if t.resolve() in inputs)
    if clash:
        raise UsageError(f"{dst}: would overwrite the input instance's own file"
                         f"{'s' if len(clash) > 1 else ''} {', '.join(clash)}: write the "
                         "converted instance to another folder or name")
    existing = [str(t) for t in targets if t.exists()]
    if existing and not args.force:
        raise UsageError(f"{', '.join(existing)} exist{'s' if len(existing) == 1 else ''} "
                         "(use --force to overwrite)")
    write_files(writers)
    again = load_instance(dst)
    if comparable(again.to_dict()) != comparable(inst.to_dict()):
        raise RuntimeError(f"{dst} does not read back as the same instance as {src}")
    console.print(f"wrote {escape(', '.join(str(t) for t in targets))}: {len(inst.suppliers)} "
                  f"suppliers, {len(inst.rules)} rules, {len(inst.scenarios)} scenarios "
                  "(read back: same instance)", highlight=False)
    return EXIT_PLAN
