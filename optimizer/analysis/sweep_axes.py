"""The limits a frontier sweeps, as a buyer writes them (SPEC section 5 and
the README): ``--values V1,V2,...`` (shares also as percentages), a range
``--from A --to B --steps N``, or nothing, for a range around the rule's own
limit. Used by the command line and the web workspace alike; a
:class:`SweepError` says what is wrong in their words."""

from __future__ import annotations

import math
from typing import Any


class SweepError(ValueError):
    """A sweep that cannot be made, said as the buyer wrote it."""


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


def _number(text: str, what: str, percent_ok: bool) -> float:
    t = text.strip()
    scale = 1.0
    if t.endswith("%"):
        if not percent_ok:
            raise SweepError(f"{what}: '{text}' is a percentage, but the rule's limit is not "
                             "a share")
        t, scale = t[:-1].strip(), 0.01
    try:
        v = float(t)
    except ValueError:
        raise SweepError(f"{what}: '{text}' is not a number") from None
    if not math.isfinite(v):
        raise SweepError(f"{what}: '{text}' is not a finite number")
    return round(v * scale, 12)


def _multiples(lo: float, hi: float, step: float) -> list[float]:
    """The multiples of ``step`` from ``lo`` to ``hi`` (both included when they are)."""
    first, last = math.ceil(lo / step - 1e-9), math.floor(hi / step + 1e-9)
    return [round(k * step, 12) for k in range(first, last + 1)]


def default_values(kind: str, limit: float) -> list[float]:
    """The limits a rule of ``kind`` whose own limit is ``limit`` is swept
    over when none are given, loosest first (see :data:`DEFAULT_RANGE_HELP`).
    A SweepError when no range can be made around it (a volume or an average
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
            raise SweepError("its limit is 0, so there is no range in proportion to it: give "
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
        raise SweepError(f"rule '{name}': give either --values or --from/--to/--steps, "
                         "not both")
    if "values" in axis:
        opt, text = axis["values"]
        items = [s for s in text.replace(" ", ",").split(",") if s.strip()]
        if not items:
            raise SweepError(f"rule '{name}': {opt} is empty; give at least one limit")
        return [_number(s, f"rule '{name}' {opt}", pct) for s in items]
    if len(ranged) != 3:
        missing = [f"--{'from' if k == 'start' else 'to' if k == 'stop' else k}"
                   for k in ("start", "stop", "steps") if k not in axis]
        if not ranged:
            if rule is None or rule.limit is None:  # reported by the sweep, with the reason
                return []
            try:
                return default_values(rule.kind, float(rule.limit))
            except SweepError as err:
                raise SweepError(f"rule '{name}': {err}") from None
        raise SweepError(f"rule '{name}': a range needs {', '.join(missing)} as well")
    start = _number(axis["start"][1], f"rule '{name}' --from", pct)
    stop = _number(axis["stop"][1], f"rule '{name}' --to", pct)
    try:
        steps = int(axis["steps"][1])
    except ValueError:
        raise SweepError(f"rule '{name}' --steps: '{axis['steps'][1]}' is not a whole "
                         "number") from None
    return value_range(start, stop, steps)


def sweep_spec(axes: list[dict[str, Any]] | None, inst) -> dict[str, list[float]]:
    """The ``{rule: values}`` mapping of the command line."""
    axes = axes or []
    spec: dict[str, list[float]] = {}
    for axis in axes:
        if "rule" not in axis:
            opts = ", ".join(v[0] for v in axis.values())
            raise SweepError(f"{opts} given without a --rule it belongs to")
        name = axis["rule"]
        if name in spec:
            raise SweepError(f"rule '{name}' is swept twice; a grid needs two different rules")
        rule = next((r for r in inst.rules if r.name == name), None)
        spec[name] = _axis_values(axis, rule)
    return spec


def defaulted(axes: list[dict[str, Any]] | None) -> list[str]:
    """The rules of the command line given without limits (swept around their own)."""
    return [a["rule"] for a in axes or [] if "rule" in a
            and not any(k in a for k in ("values", "start", "stop", "steps"))]
