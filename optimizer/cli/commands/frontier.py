"""``optimizer frontier [INSTANCE] --rule NAME --values 1.0,0.8,0.6 [--out DIR]``:
the cost of diversification as a curve.

For each value of a rule's limit: the optimum, the premium over the loosest
value, the marginal cost and the mix by controlling country and family. Values
come as a list (``--values 0.6,0.5,0.4``; shares also as ``60%,50%``) or a range
(``--from 0.6 --to 0.2 --steps 9``); a rule given without either is swept
around its own limit L (:func:`default_values`: a share from 20 points looser
to 30 points tighter in steps of 5 points, L included; a volume, an average or
a count from half as tight to half again as tight, in steps of a tenth of L).
Two ``--rule`` options (each followed by its values) sweep a grid of every
pair. ``--out DIR`` writes ``frontier.csv``, ``frontier.png`` and
``report.html`` (the premium charts; ``--html`` adds ``plan.html``: the plan at
the instance's own limits with the frontier chart).

``--workers N`` spreads the points over N local processes; ``--scheduler
ADDRESS`` sends them to a Dask cluster (``dask scheduler`` / ``dask worker
ADDRESS --nthreads 1`` on each machine).

Exit codes: 0 at least one point has a plan; 1 no point has one; 2 bad input
or usage (an unknown rule, an exclusion, values out of range).
"""

from __future__ import annotations

import argparse
import math
import time
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from optimizer.analysis.sweep_axes import (
    DEFAULT_RANGE_HELP,
    SweepError,
    defaulted,
    sweep_spec,
)
from optimizer.cli.common import (
    EXIT_INPUT,
    EXIT_NO_PLAN,
    EXIT_PLAN,
    UsageError,
    solver_args,
    solver_options,
    whole_number,
)

if TYPE_CHECKING:
    import pandas as pd

NAME = "frontier"
HELP = "sweep a rule's limit: the cost of diversification as a curve (or a grid of two rules)"

#: show a progress bar once a sweep has run this long (seconds), on a terminal
PROGRESS_AFTER = 2.0
#: list at most this many points in the terminal (all are in frontier.csv)
MAX_PRINTED = 60
class _Axis(argparse.Action):
    """``--rule`` starts a swept rule; ``--values``/``--from``/``--to``/``--steps``
    belong to the rule before them (or, given first, to the next ``--rule``)."""

    def __call__(self, parser, namespace, value, option_string=None):
        axes: list[dict[str, Any]] = list(getattr(namespace, "axes", None) or [])
        field = self.dest
        if field == "rule":
            if axes and "rule" not in axes[-1]:
                axes[-1]["rule"] = value
            else:
                axes.append({"rule": value})
        else:
            if not axes or field in axes[-1]:
                axes.append({})
            axes[-1][field] = (option_string, value)
        namespace.axes = axes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("instance", nargs="?", help="instance file (.yaml/.yml/.xlsx); "
                   "default: the bundled North American example")
    g = p.add_argument_group("what to sweep (give --rule twice for a grid)")
    g.add_argument("--rule", action=_Axis, dest="rule", metavar="NAME", required=True,
                   help="the rule whose limit is swept (a share, volume, count or average "
                        "rule; not an exclusion). " + DEFAULT_RANGE_HELP.replace("%", "%%"))
    g.add_argument("--values", action=_Axis, dest="values", metavar="V1,V2,...",
                   help="comma-separated limits, e.g. 1.0,0.8,0.6 (shares also as 60%%)")
    g.add_argument("--from", action=_Axis, dest="start", metavar="A",
                   help="first limit of an evenly spaced range (with --to and --steps)")
    g.add_argument("--to", action=_Axis, dest="stop", metavar="B", help="last limit")
    g.add_argument("--steps", action=_Axis, dest="steps", metavar="N",
                   help="number of points from A to B, both included")
    p.set_defaults(axes=None)
    p.add_argument("--out", metavar="DIR",
                   help="write frontier.csv, frontier.png and report.html here")
    p.add_argument("--html", action="store_true", help="with --out: also write plan.html "
                   "(the plan at the instance's own limits, with the frontier chart)")
    r = p.add_argument_group("where to run")
    r.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                   help="local processes (each builds the model once; default 1)")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    solver_args(p)


# --------------------------------------------------------------------------- progress
class LazyProgress:
    """A rich progress bar on a terminal, shown only once a sweep has run for
    ``PROGRESS_AFTER`` seconds (short sweeps print nothing)."""

    def __init__(self, console: Console):
        self.console = console
        self.start = time.perf_counter()
        self.bar: Any = None
        self.task: Any = None

    def __call__(self, done: int, total: int) -> None:
        if not self.console.is_terminal:
            return
        if self.bar is None:
            if time.perf_counter() - self.start < PROGRESS_AFTER or done >= total:
                return
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self.bar = Progress(TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(),
                                TimeElapsedColumn(), TimeRemainingColumn(),
                                console=self.console, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("points", total=total)
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# --------------------------------------------------------------------------- output
def unit_of(kind: str, attribute: str | None = None) -> str:
    """The unit of a rule's limit, as the rules table names it (``share``,
    ``hhi``, ``GWh``, ``groups`` or the attribute averaged)."""
    from optimizer.input.schema import CHANGE_KINDS, COUNT_KINDS, VOLUME_KINDS

    if kind == "max_hhi":
        return "hhi"
    if kind in VOLUME_KINDS or kind in CHANGE_KINDS:
        return "GWh"
    if kind in COUNT_KINDS:
        return "groups"
    if kind.endswith("_average"):
        return attribute or ""
    return "share"


def _limit_text(v: float, kind: str) -> str:
    """A swept limit as the rules table writes it (:func:`optimizer.labels.
    rule_value`): shares as percentages (``35.0%``), volumes in GWh (``60 GWh``),
    counts in groups; an HHI cap in points of 0-10,000 (``HHI 2,500``)."""
    from optimizer.labels import number, rule_value

    unit = unit_of(kind)
    return f"HHI {number(10_000 * v, 0)}" if unit == "hhi" else rule_value(v, unit)


def _num(v: Any, fmt: str) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


def frontier_table(df: pd.DataFrame) -> Table:
    """The sweep, one row per point, narrow enough for 80 columns: a point
    without a plan says its status in the cost column."""
    rules, kinds, units = df.attrs["rules"], df.attrs["kinds"], df.attrs["units"]
    priced = [i for i in range(len(rules)) if kinds[i] not in ("max_count", "min_count")]
    grid = len(rules) > 1
    tag = [f" {i + 1}" if grid else "" for i in range(len(rules))]
    names = " x ".join(f"{'rule' + tag[i] + ' = ' if grid else ''}{r} ({k})"
                       for i, (r, k) in enumerate(zip(rules, kinds, strict=True)))
    per = ", ".join(f"per {units[i]}{tag[i] and ' of rule' + tag[i]}" for i in priced)
    title = (f"Frontier of {names}: cost in USD million (discounted), premium over the "
             f"loosest point" + (f", marginal cost {per} tighter" if priced else ""))
    # rule names are data, never markup
    t = Table(title=Text(title), title_justify="left")
    for i in range(len(rules)):
        t.add_column(f"rule{tag[i]}" if grid else "limit", justify="right", no_wrap=True)
    t.add_column("cost", justify="right", no_wrap=True)
    t.add_column("premium", justify="right", no_wrap=True)
    t.add_column("%", justify="right", no_wrap=True)
    for i in priced:
        t.add_column(f"marginal{tag[i]}", justify="right", overflow="fold")
    shown = df if len(df) <= MAX_PRINTED else df.iloc[:MAX_PRINTED]
    not_proven = False
    for _, row in shown.iterrows():
        cells: list[str | Text] = [
            _limit_text(row["limit" if i == 0 else f"limit_{i + 1}"], kinds[i])
            for i in range(len(rules))]
        status, objective = str(row["status"]), row["objective"]
        has_plan = objective is not None and math.isfinite(objective)
        if not has_plan:
            cells.append(Text(status, style="red"))
        else:
            star = "" if status == "optimal" else "*"
            not_proven = not_proven or bool(star)
            cells.append(_num(objective, "{:,.1f}") + star)
        cells += [_num(row["premium"], "{:+,.1f}"), _num(row["premium_pct"], "{:+.1f}%")]
        for i in priced:
            col = "marginal_cost" if i == 0 else f"marginal_cost_{i + 1}"
            cells.append(_num(row[col], "{:,.2f}"))
        t.add_row(*cells)
    notes = []
    if not_proven:
        notes.append("* stopped at the time limit: maybe not optimal")
    if len(df) > MAX_PRINTED:
        notes.append(f"first {MAX_PRINTED} of {len(df)} points; all are in frontier.csv")
    if notes:
        t.caption = "; ".join(notes)
    return t


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.analysis.frontier import FrontierError, frontier
    from optimizer.input import default_instance_path, load_instance
    from optimizer.report.scenario_files import write_frontier

    if args.html and not args.out:
        raise UsageError("--html writes plan.html into the --out directory: give --out DIR")
    inst = load_instance(args.instance or default_instance_path())
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = LazyProgress(err)
    try:
        try:
            spec = sweep_spec(args.axes, inst)
        except SweepError as exc:
            raise UsageError(str(exc)) from None
        df = frontier(inst, spec, options=solver_options(args), workers=args.workers,
                      scheduler=args.scheduler, progress=bar)
    except FrontierError as exc:
        n = len(exc.problems)
        err.print(f"[bold red]{n} problem{'s' if n != 1 else ''} with the sweep:[/]")
        for p in exc.problems:
            err.print(f"  - {p}", markup=False, highlight=False)
        return EXIT_INPUT
    finally:
        bar.close()
    for name in defaulted(args.axes):
        rule = inst.rule(name)
        values = spec[name]
        assert rule.limit is not None  # a rule without a limit is refused by the sweep
        console.print(f"no limits given for '{escape(name)}': swept from "
                      f"{_limit_text(values[0], rule.kind)} to {_limit_text(values[-1], rule.kind)}"
                      f" ({len(values)} points) around its own limit, "
                      f"{_limit_text(float(rule.limit), rule.kind)} (--values or --from/--to/"
                      "--steps to choose)", highlight=False)
    from optimizer.report.terminal import titled

    console.print(titled(frontier_table(df)))
    base = df.attrs.get("baseline_objective")
    loosest = escape(", ".join(f"{r} = {_limit_text(v, k)}" for r, v, k in
                               zip(df.attrs["rules"], df.attrs["loosest"], df.attrs["kinds"],
                                   strict=True)))
    if base is not None and math.isfinite(base):
        console.print(f"premiums are over the loosest point ({loosest}), which costs "
                      f"{base:,.1f} USD million")
    else:
        console.print(f"[yellow]the loosest point ({loosest}) has no plan: no premiums[/]")
    if "warning" in df.columns and df["warning"].notna().any():
        console.print(f"[yellow]{int(df['warning'].notna().sum())} points have a numerical "
                      "warning (column 'warning' of frontier.csv)[/]")
    n_plan = int(df["objective"].notna().sum())
    console.print(f"{n_plan} of {len(df)} points have a plan; "
                  f"{df.attrs['seconds']:.1f} s ({df.attrs['mode']} re-solves)")
    if args.out:
        from optimizer.api import solve

        plan = solve(inst, solver_options(args), analysis=False) if args.html else None
        written = write_frontier(df, args.out, instance=inst, plan=plan)
        console.print(f"wrote {', '.join(p.name for p in written)} to {escape(str(args.out))}")
    return EXIT_PLAN if n_plan > 0 else EXIT_NO_PLAN
