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
#: a share rule swept without limits: this much looser and tighter than its
#: own limit, in steps of this much (shares: 0.05 is 5 percentage points)
SHARE_LOOSER, SHARE_TIGHTER, SHARE_STEP = 0.20, 0.30, 0.05
#: any other rule swept without limits: from (1 + SCALE) x its limit to
#: (1 - SCALE) x its limit (for a floor the other way round), in steps of
#: SCALE_STEP x its limit (counts: whole numbers)
SCALE, SCALE_STEP = 0.5, 0.1

DEFAULT_RANGE_HELP = (
    "Without --values or --from/--to/--steps, the rule is swept around its own limit L, "
    "from the loosest value to the tightest: a share (max_share, min_share, max_top_share, "
    "max_hhi) from L+0.2 to L-0.3 (a floor: L-0.2 to L+0.3), kept within 0 and 1, at every "
    "multiple of 0.05 between and L itself; a volume, an average or a count from 1.5 L to "
    "0.5 L (a floor: 0.5 L to 1.5 L) in steps of 0.1 L (counts: every whole number between).")


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


def _multiples(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of ``step`` from ``lo`` to ``hi`` (both included when they are)."""
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def default_values(kind: str, limit: float) -> list[float]:
    """The limits a rule of ``kind`` whose own limit is ``limit`` is swept
    over when none are given, loosest first (see :data:`DEFAULT_RANGE_HELP`).
    A UsageError when no range can be made around it (a volume or an average
    limit of 0)."""
    from optimizer.analysis.frontier import FRACTION_KINDS
    from optimizer.input.schema import COUNT_KINDS

    cap = kind.startswith("max_")
    if kind in FRACTION_KINDS:
        lo = max(0.0, limit - (SHARE_TIGHTER if cap else SHARE_LOOSER))
        hi = min(1.0, limit + (SHARE_LOOSER if cap else SHARE_TIGHTER))
        values = {*_multiples(lo, hi, SHARE_STEP), round(lo, 12), round(hi, 12),
                  round(limit, 12)}
    elif kind in COUNT_KINDS:
        lo = max(0, math.floor((1 - SCALE) * limit))
        hi = max(math.ceil((1 + SCALE) * limit), round(limit) + 1)
        values = {float(v) for v in range(min(lo, max(0, round(limit) - 1)), hi + 1)}
    else:
        if limit == 0:
            raise UsageError("its limit is 0, so there is no range in proportion to it: give "
                             "its limits with --values V1,V2,... or --from A --to B --steps N")
        size = abs(limit)
        values = {round(limit + k * SCALE_STEP * size, 12)
                  for k in range(-round(SCALE / SCALE_STEP), round(SCALE / SCALE_STEP) + 1)}
        if kind.endswith("_volume"):
            values = {v for v in values if v >= 0}
    return sorted(values, reverse=cap)


def _axis_values(axis: dict[str, Any], rule: Any) -> list[float]:
    from optimizer.analysis.frontier import FRACTION_KINDS, value_range

    name = axis["rule"]
    kind = rule.kind if rule is not None else None
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
            if rule is None or rule.limit is None:  # reported by the sweep, with the reason
                return []
            try:
                return default_values(rule.kind, float(rule.limit))
            except UsageError as err:
                raise UsageError(f"rule '{name}': {err}") from None
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
        rule = next((r for r in inst.rules if r.name == name), None)
        spec[name] = _axis_values(axis, rule)
    return spec


def defaulted(axes: list[dict[str, Any]] | None) -> list[str]:
    """The rules of the command line given without limits (swept around their own)."""
    return [a["rule"] for a in axes or [] if "rule" in a
            and not any(k in a for k in ("values", "start", "stop", "steps"))]


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
