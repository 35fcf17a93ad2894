"""An independent check of a plan: does it meet demand, capacity and every rule, and
what does it cost?

Everything is recomputed from the validated :class:`~optimizer.input.instance.Instance`
and the plan (GWh per supplier, application and period) alone. Nothing here
uses the optimization model, the solver or :mod:`optimizer.data`: eligibility,
capacities, prices, tariffs, tiers, rule scopes and groups are worked out
again from the instance tables, so that a mistake in the model cannot hide
itself by being repeated here.

Tolerances. A plan comes from a floating-point solver, so every comparison
allows a small excess. With ``tol`` (relative, 1e-6 by default) and the
instance's volume scale ``S`` (its largest demand row, in GWh), a requirement
``amount <= bound`` is broken when::

    amount - bound > tol * magnitude + tol * min(1, S)

where ``magnitude`` is the size of the quantities compared: the capacity, the
demand, the covered volume X of a share rule, X times max(1, |limit|) for an
average rule, the limit of a volume rule. Above 1 GWh this is a relative
tolerance of ``tol`` with an absolute floor of ``tol`` GWh; an instance whose
demands are all below 1 GWh gets a floor scaled down with it. A supplier
*delivers* in a period (so its fixed cost is due and its minimum order applies)
when it supplies more than that floor. A count rule counts a group when its
volume clears ``threshold * X`` by more than the tolerance (``max_count``) or
comes within it (``min_count``). An HHI may exceed its cap by 1e-6 (where the
model's cuts stop, SPEC section 3) plus ``tol``.
The recomputed cost agrees with a claimed objective when they differ by at most
``tol`` relative (plus the cost of the volume floor at the highest unit cost).
"""

from optimizer.check.base import (
    COST_KEYS,
    HHI_SLACK,
    PLAN_COLUMNS,
    TOL,
    VIOLATION_COLUMNS,
    CheckReport,
)
from optimizer.check.plan_input import plan_frame, plan_problems, read_plan
from optimizer.check.verify import check_plan

__all__ = ["COST_KEYS", "HHI_SLACK", "PLAN_COLUMNS", "TOL", "VIOLATION_COLUMNS", "CheckReport",
           "check_plan", "plan_frame", "plan_problems", "read_plan"]
