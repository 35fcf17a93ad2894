"""``optimizer alternatives INSTANCE --slack 0.02 [--by company] [--count 5]
[--out DIR]``: how far each group can move for a small premium, and plans that
differ from the optimum within it (SPEC section 9).

``--by`` takes any grouping of the rules (company, country, control, bloc,
chemistry, family, supplier, a declared attribute) or ``origin`` with
``--material`` and ``--stage``. The ranges are two warm re-solves per group
on one model; ``--workers N`` or ``--scheduler ADDRESS`` spread the groups
(each worker builds the model once). ``--out DIR`` writes ranges.csv,
alternatives.csv, alternatives_summary.csv, summary.json, report.html and
results.xlsx.

Exit codes: 0 done; 1 the instance has no plan; 2 bad input or usage.
"""

from __future__ import annotations

import argparse

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.cli.common import (
    EXIT_NO_PLAN,
    EXIT_PLAN,
    UsageError,
    solver_args,
    solver_options,
    whole_number,
)

NAME = "alternatives"
HELP = "how far each company's (or country's) volume can move for a small premium, and " \
       "plans that differ from the optimum within it"
#: groups printed (all are in ranges.csv)
MAX_ROWS = 25


def _slack(value: str) -> float:
    from optimizer.labels import fraction_or_percent

    try:
        return fraction_or_percent(value, 0.0, 10.0)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    p.add_argument("--slack", type=_slack, default=0.02, metavar="S",
                   help="premium allowed over the optimum, 0.02 or 2%% (default 2%%)")
    p.add_argument("--by", default="company", help="the grouping: company (default), "
                   "country, control, bloc, chemistry, family, supplier, an attribute, or "
                   "origin (with --material and --stage)")
    p.add_argument("--material", metavar="M", help="with --by origin: the material")
    p.add_argument("--stage", metavar="K", help="with --by origin: the stage")
    p.add_argument("--count", type=whole_number(0), default=5, metavar="N",
                   help="alternative plans to find (default 5; 0: ranges only)")
    p.add_argument("--out", metavar="DIR", help="write ranges.csv, alternatives.csv, "
                   "alternatives_summary.csv, summary.json, report.html, results.xlsx here")
    r = p.add_argument_group("where to run")
    r.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                   help="local processes for the ranges (default 1)")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    solver_args(p)


def ranges_table(df, what: str, unit: str) -> Table:
    from optimizer.labels import number, pct

    t = Table(title=Text(f"Range of each {what} within the budget ({unit} over all years)"),
              title_justify="left")
    for col, right in (("group", False), ("least", True), ("optimum", True), ("most", True),
                       ("share", True)):
        t.add_column(col, justify="right" if right else "left")
    shown = df.sort_values("optimum_gwh", ascending=False, kind="stable").head(MAX_ROWS)
    for r in shown.to_dict("records"):
        share = f"{pct(r['min_share'])}-{pct(r['max_share'])}"
        t.add_row(Text(str(r["group"])), number(r["min_gwh"], 1), number(r["optimum_gwh"], 1),
                  number(r["max_gwh"], 1), share)
    if len(df) > MAX_ROWS:
        t.caption = f"the {MAX_ROWS} largest of {len(df)}; all are in ranges.csv"
    blank = int((df["min_status"] != "optimal").sum() + (df["max_status"] != "optimal").sum())
    if blank:
        t.caption = (t.caption + "; " if t.caption else "") + \
            f"{blank} ends not proven (time limit): left blank"
    return t


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.analysis.alternatives import AlternativesError, alternatives, ranges
    from optimizer.cli.commands.frontier import LazyProgress
    from optimizer.input import default_instance_path, load_instance
    from optimizer.labels import grouping_label, money, number
    from optimizer.parallel import ParallelError
    from optimizer.report.scenario_files import write_alternatives

    inst = load_instance(args.instance or default_instance_path())
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = LazyProgress(err)
    try:
        df = ranges(inst, args.slack, args.by, material=args.material, stage=args.stage,
                    options=solver_options(args), workers=args.workers,
                    scheduler=args.scheduler, progress=bar)
        plans, summary = alternatives(inst, args.slack, args.by, args.count,
                                      material=args.material, stage=args.stage,
                                      options=solver_options(args)) if args.count else \
            (None, None)
    except (AlternativesError, ParallelError) as exc:
        msg = str(exc)
        if "no optimal plan" in msg:
            console.print(f"[bold red]no plan:[/] {escape(msg)} (optimizer solve explains why)")
            return EXIT_NO_PLAN
        raise UsageError(msg) from None
    finally:
        bar.close()
    a = df.attrs
    what = grouping_label(args.by) if args.by != "origin" else \
        f"origin country of {args.material} ({args.stage})"
    unit = str(df["unit"].iloc[0]) if len(df) else "GWh"
    console.print(f"optimum USD {money(a['objective'])} million; budget USD "
                  f"{money(a['budget'])} million (+{100 * args.slack:g}%); "
                  f"{len(df)} groups, {a['seconds']:.1f} s", highlight=False)
    console.print(ranges_table(df, what, unit))
    if summary is not None and len(summary):
        t = Table(title="Alternative plans (cost USD million, share of each plan)",
                  title_justify="left")
        groups = [c[len("share_"):] for c in summary.columns if str(c).startswith("share_")]
        top = sorted(groups, key=lambda g: -float(summary[f"share_{g}"].fillna(0).mean()))[:5]
        for col in ("plan", "cost", "premium", *top):
            t.add_column(col, justify="left" if col == "plan" else "right")
        for r in summary.to_dict("records"):
            name = "optimum" if r["alternative"] == 0 else f"alt {r['alternative']}"
            if not r.get("checked"):
                name += " (not found)" if r["status"] != "optimal" else " (check failed)"
            t.add_row(name, money(r["objective"]), f"{number(r['premium_pct'], 2)}%",
                      *[f"{number(100 * (r.get(f'share_{g}') or 0.0), 1)}%" for g in top])
        console.print(t)
    if args.out:
        import pandas as pd

        written = write_alternatives(
            df, plans if plans is not None else pd.DataFrame(
                columns=["alternative", "supplier", "application", "period", "gwh"]),
            summary if summary is not None else pd.DataFrame(), args.out, inst.name)
        console.print(f"wrote {', '.join(p.name for p in written)} to {escape(str(args.out))}")
    return EXIT_PLAN
