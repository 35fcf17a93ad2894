"""``optimizer frontier [INSTANCE] --rule NAME --values 1.0,0.8,0.6 [--out DIR]``:
the cost of diversification as a curve.

For each value of a rule's limit: the optimum, the premium over the loosest
value, the marginal cost and the mix by controlling country and family. Values
come as a list (``--values 0.6,0.5,0.4``; shares also as ``60%,50%``) or a range
(``--from 0.6 --to 0.2 --steps 9``). Two ``--rule`` options (each followed by
its values) sweep a grid of every pair. ``--out DIR`` writes ``frontier.csv``
and ``frontier.png`` (``--html`` adds ``report.html``: the plan at the
instance's own limits with the frontier chart).

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

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
                        "rule; not an exclusion)")
    g.add_argument("--values", action=_Axis, dest="values", metavar="V1,V2,...",
                   help="comma-separated limits, e.g. 1.0,0.8,0.6 (shares also as 60%%)")
    g.add_argument("--from", action=_Axis, dest="start", metavar="A",
                   help="first limit of an evenly spaced range (with --to and --steps)")
    g.add_argument("--to", action=_Axis, dest="stop", metavar="B", help="last limit")
    g.add_argument("--steps", action=_Axis, dest="steps", metavar="N",
                   help="number of points from A to B, both included")
    p.set_defaults(axes=None)
    p.add_argument("--out", metavar="DIR", help="write frontier.csv and frontier.png here")
    p.add_argument("--html", action="store_true", help="with --out: also write report.html "
                   "(the plan at the instance's own limits, with the frontier chart)")
    r = p.add_argument_group("where to run")
    r.add_argument("--workers", type=whole_number(1), default=1, metavar="N",
                   help="local processes (each builds the model once; default 1)")
    r.add_argument("--scheduler", metavar="ADDRESS",
                   help="a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786")
    solver_args(p)


# --------------------------------------------------------------------------- parsing
def _number(text: str, what: str, percent_ok: bool) -> float:
    t = text.strip()
    scale = 1.0
    if t.endswith("%"):
        if not percent_ok:
            raise UsageError(f"{what}: '{text}' is a percentage, but the rule's limit is not "
                             "a share")
        t, scale = t[:-1].strip(), 0.01
    try:
        v = float(t)
    except ValueError:
        raise UsageError(f"{what}: '{text}' is not a number") from None
    if not math.isfinite(v):
        raise UsageError(f"{what}: '{text}' is not a finite number")
    return round(v * scale, 12)


def _axis_values(axis: dict[str, Any], kind: str | None) -> list[float]:
    from optimizer.analysis.frontier import FRACTION_KINDS, value_range

    name = axis["rule"]
    pct = kind is None or kind in FRACTION_KINDS  # an unknown rule is reported later
    ranged = [k for k in ("start", "stop", "steps") if k in axis]
    if "values" in axis and ranged:
        raise UsageError(f"rule '{name}': give either --values or --from/--to/--steps, "
                         "not both")
    if "values" in axis:
        opt, text = axis["values"]
        items = [s for s in text.replace(" ", ",").split(",") if s.strip()]
        if not items:
            raise UsageError(f"rule '{name}': {opt} is empty; give at least one limit")
        return [_number(s, f"rule '{name}' {opt}", pct) for s in items]
    if len(ranged) != 3:
        missing = [f"--{'from' if k == 'start' else 'to' if k == 'stop' else k}"
                   for k in ("start", "stop", "steps") if k not in axis]
        if not ranged:
            raise UsageError(f"rule '{name}': give its limits with --values V1,V2,... or "
                             "--from A --to B --steps N")
        raise UsageError(f"rule '{name}': a range needs {', '.join(missing)} as well")
    start = _number(axis["start"][1], f"rule '{name}' --from", pct)
    stop = _number(axis["stop"][1], f"rule '{name}' --to", pct)
    try:
        steps = int(axis["steps"][1])
    except ValueError:
        raise UsageError(f"rule '{name}' --steps: '{axis['steps'][1]}' is not a whole "
                         "number") from None
    return value_range(start, stop, steps)


def sweep_spec(axes: list[dict[str, Any]] | None, inst) -> dict[str, list[float]]:
    """The ``{rule: values}`` mapping of the command line."""
    axes = axes or []
    spec: dict[str, list[float]] = {}
    for axis in axes:
        if "rule" not in axis:
            opts = ", ".join(v[0] for v in axis.values())
            raise UsageError(f"{opts} given without a --rule it belongs to")
        name = axis["rule"]
        if name in spec:
            raise UsageError(f"rule '{name}' is swept twice; a grid needs two different rules")
        kind = next((r.kind for r in inst.rules if r.name == name), None)
        spec[name] = _axis_values(axis, kind)
    return spec


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
def _limit_text(v: float, kind: str) -> str:
    from optimizer.analysis.frontier import FRACTION_KINDS

    if kind in FRACTION_KINDS:
        return f"{100 * v:g}%"
    return f"{v:g}"


def _num(v: Any, fmt: str) -> str:
    return "–" if v is None or (isinstance(v, float) and not math.isfinite(v)) else fmt.format(v)


def frontier_table(df: pd.DataFrame) -> Table:
    rules, kinds, units = df.attrs["rules"], df.attrs["kinds"], df.attrs["units"]
    title = "Frontier: " + " x ".join(f"{r} ({k})" for r, k in zip(rules, kinds, strict=True))
    t = Table(title=title, title_justify="left")
    for r in rules:
        t.add_column(r if len(rules) > 1 else "limit", justify="right")
    t.add_column("status")
    t.add_column("cost, USD m", justify="right")
    t.add_column("premium, USD m", justify="right")
    t.add_column("premium", justify="right")
    for i, r in enumerate(rules):
        if kinds[i] not in ("max_count", "min_count"):
            head = f"marginal{f' {r}' if len(rules) > 1 else ''}, USD m / {units[i]}"
            t.add_column(head, justify="right")
    shown = df if len(df) <= MAX_PRINTED else df.iloc[:MAX_PRINTED]
    for _, row in shown.iterrows():
        cells = [_limit_text(row["limit" if i == 0 else f"limit_{i + 1}"], kinds[i])
                 for i in range(len(rules))]
        status = row["status"]
        cells.append(status if status == "optimal" else f"[red]{status}[/]")
        cells += [_num(row["objective"], "{:,.1f}"), _num(row["premium"], "{:+,.1f}"),
                  _num(row["premium_pct"], "{:+.2f}%")]
        for i in range(len(rules)):
            if kinds[i] not in ("max_count", "min_count"):
                col = "marginal_cost" if i == 0 else f"marginal_cost_{i + 1}"
                cells.append(_num(row[col], "{:,.2f}"))
        t.add_row(*cells)
    if len(df) > MAX_PRINTED:
        t.caption = f"first {MAX_PRINTED} of {len(df)} points; all are in frontier.csv"
    return t


def report_frame(df: pd.DataFrame) -> pd.DataFrame:
    """The frontier as the HTML report draws it (``rule``, ``limit``,
    ``objective``): one line per value of the second rule for a grid."""
    if "limit_2" not in df.columns:
        return df[["rule", "limit", "objective"]]
    import pandas as pd

    label = df["rule"] + " (" + df["rule_2"] + " = " + df["limit_2"].map("{:g}".format) + ")"
    return pd.DataFrame({"rule": label, "limit": df["limit"], "objective": df["objective"]})


def _write_html(args: argparse.Namespace, df: pd.DataFrame) -> list:
    from optimizer.api import solve
    from optimizer.report.files import OutputDir
    from optimizer.report.html import render_html

    result = solve(args.instance, solver_options(args), analysis=False)
    page = render_html(result, frontier=report_frame(df))

    def write(path: Path) -> None:
        path.write_text(page, encoding="utf-8")

    od = OutputDir(args.out)
    try:
        od.write("report.html", write)
        return od.publish()
    except BaseException:
        od.discard()
        raise


def run(args: argparse.Namespace, console: Console) -> int:
    from optimizer.analysis.frontier import FrontierError, frontier
    from optimizer.input import default_instance_path, load_instance
    from optimizer.report.scenario_files import write_frontier

    if args.html and not args.out:
        raise UsageError("--html writes report.html into the --out directory: give --out DIR")
    inst = load_instance(args.instance or default_instance_path())
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    bar = LazyProgress(err)
    try:
        spec = sweep_spec(args.axes, inst)
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
    console.print(frontier_table(df))
    base = df.attrs.get("baseline_objective")
    loosest = ", ".join(f"{r} = {v:g}" for r, v in zip(df.attrs["rules"], df.attrs["loosest"],
                                                       strict=True))
    if base is not None and math.isfinite(base):
        console.print(f"premium over the loosest point ({loosest}): {base:,.1f} USD million")
    else:
        console.print(f"[yellow]the loosest point ({loosest}) has no plan: no premiums[/]")
    if "warning" in df.columns and df["warning"].notna().any():
        console.print(f"[yellow]{int(df['warning'].notna().sum())} points have a numerical "
                      "warning (column 'warning' of frontier.csv)[/]")
    n_plan = int(df["objective"].notna().sum())
    console.print(f"{n_plan} of {len(df)} points have a plan; "
                  f"{df.attrs['seconds']:.1f} s ({df.attrs['mode']} re-solves)")
    if args.out:
        written = write_frontier(df, args.out)
        if args.html:
            written += _write_html(args, df)
        console.print(f"wrote {', '.join(p.name for p in written)} to {escape(str(args.out))}")
    return EXIT_PLAN if n_plan > 0 else EXIT_NO_PLAN
