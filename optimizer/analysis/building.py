"""What each option to build supply is worth (SPEC section 8): for every
contract and every expansion of an instance, the optimum without it minus
the optimum with it (USD million, discounted), through the one solve path.

A positive worth is what the option saves; 0 an option the plan does not use
(or could do without at no cost); for an already-signed contract the worth
can be negative (what the commitment costs). Without an option the instance
may have no plan at all: its worth is then unbounded and reported as
``inf`` with the status of the solve without it.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from optimizer.analysis.budget import solve_alone
from optimizer.input import load_instance
from optimizer.input.instance import Instance
from optimizer.solver.options import SolverOptions

WORTH_COLUMNS = ["option", "kind", "name", "supplier", "worth", "status_without"]


def _objective(inst: Instance, options: SolverOptions | None) -> tuple[float, str]:
    status, _, _ = solve_alone(inst, options)
    if status.status == "optimal" and status.objective is not None:
        return float(status.objective), "optimal"
    return math.inf, status.status


def building_worth(instance: str | Path | Instance,
                   options: SolverOptions | None = None) -> pd.DataFrame:
    """One row per contract and expansion: ``option`` (a label), ``kind``
    (contract or expansion), ``name`` (contract name or expansion row, 1 =
    the first), ``supplier``, ``worth`` (USD million: optimum without it
    minus with it) and ``status_without``."""
    inst = instance if isinstance(instance, Instance) else load_instance(instance)
    rows = []
    if not inst.contracts and not inst.expansions:
        return pd.DataFrame(columns=WORTH_COLUMNS)
    base, status = _objective(inst, options)
    if not math.isfinite(base):
        raise ValueError(f"the instance has no plan ({status}): nothing to compare with")
    for c in inst.contracts:
        without, st = _objective(inst.without_contracts(c.name), options)
        rows.append({"option": f"contract {c.name}", "kind": "contract", "name": c.name,
                     "supplier": c.supplier, "worth": without - base, "status_without": st})
    for i, e in enumerate(inst.expansions):
        without, st = _objective(inst.without_expansions(i), options)
        rows.append({"option": f"expansion {i + 1} ({e.supplier})", "kind": "expansion",
                     "name": str(i + 1), "supplier": e.supplier, "worth": without - base,
                     "status_without": st})
    return pd.DataFrame(rows, columns=WORTH_COLUMNS)
