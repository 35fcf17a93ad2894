"""Why no plan exists: the rules and requirements that conflict.

First the requirements no variable can meet at all (a hard demand no supplier
can serve, a volume floor on a group without any lane). Then, on the model
HiGHS already holds, each rule is switched off in turn (its rows' bounds
freed, a warm re-solve): a rule whose removal alone restores a plan is named.
If none does, the rules are switched off together to tell "the rules conflict
with each other" from "demand exceeds what can be delivered".
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from optimizer.data import ModelData
from optimizer.solver import HighsModel


def rule_rows(m: pyo.ConcreteModel, hm: HighsModel) -> dict[str, np.ndarray]:
    """Row positions in HiGHS of each rule's constraints."""
    rows: dict[str, list[int]] = defaultdict(list)
    for cname, scopes in m.scope_rows.items():
        con = getattr(m, cname)
        for label, scope in scopes.items():
            r = hm.row_of.get(id(con[label]))
            if r is not None:
                rows[scope.rule.name].append(r)
    return {k: np.array(v, dtype=np.int32) for k, v in rows.items()}


def trivial_conflicts(m: pyo.ConcreteModel) -> list[dict[str, Any]]:
    out = []
    for item in m.trivial_conflicts:
        if item[0] == "demand":
            _, a, t, gwh = item
            out.append({
                "kind": "demand", "application": a, "period": t, "required": gwh,
                "limit": 0.0,
                "message": f"demand for {a} in {t} is {gwh:g} GWh, but no supplier can "
                           "deliver to it (chemistry, capacity, availability and exclusions "
                           "leave no lane) and it has no unmet_penalty",
            })
        else:
            _, _label, scope, limit = item
            out.append({
                "kind": "rule", "rule": scope.rule.name, "period": scope.period,
                "application": scope.application, "limit": limit, "required": 0.0,
                "message": f"rule '{scope.rule.name}' asks for at least {limit:g} GWh in "
                           f"{scope.period}, but no supplier in the group can deliver",
            })
    return out


def diagnose(data: ModelData, m: pyo.ConcreteModel, hm: HighsModel) -> list[dict[str, Any]]:
    """Explain an infeasible model; each item has ``kind`` and a ``message``."""
    found = trivial_conflicts(m)
    if found:
        return found
    by_rule = rule_rows(m, hm)
    single: list[str] = []
    for name, rows in by_rule.items():
        hm.relax_rows(rows)
        status = hm.run()
        hm.restore_rows(rows)
        if status.status == "optimal":
            single.append(name)
    for name in single:
        found.append({
            "kind": "rule", "rule": name,
            "message": f"rule '{name}' conflicts with the other requirements: "
                       "without it alone a plan exists",
        })
    if single:
        return found
    all_rows = np.concatenate(list(by_rule.values())) if by_rule else np.zeros(0, np.int32)
    if len(all_rows):
        hm.relax_rows(all_rows)
        status = hm.run()
        hm.restore_rows(all_rows)
        if status.status == "optimal":
            names = ", ".join(f"'{n}'" for n in by_rule)
            return [{
                "kind": "rules", "rules": list(by_rule),
                "message": f"the rules {names} cannot all hold together, although no "
                           "single one of them is to blame alone",
            }]
    return _demand_vs_capacity(data)


def _demand_vs_capacity(data: ModelData) -> list[dict[str, Any]]:
    """Hard demand above what eligible suppliers can deliver, per application
    and period, and per period over all hard applications."""
    out: list[dict[str, Any]] = []
    lanes = data.lanes
    cap = data.capacity.set_index(["supplier", "period"])["gwh"]
    hard = data.demand[data.demand["unmet_penalty"].isna() & (data.demand["gwh"] > 0)]
    for a, t, gwh in hard[["application", "period", "gwh"]].itertuples(index=False):
        sup = lanes.loc[(lanes["application"] == a) & (lanes["period"] == t), "supplier"]
        available = float(sum(cap.get((s, t), 0.0) for s in sup.unique()))
        if gwh > available + 1e-9:
            out.append({
                "kind": "demand", "application": a, "period": int(t), "required": float(gwh),
                "limit": available,
                "message": f"demand for {a} in {t} is {gwh:g} GWh but eligible suppliers "
                           f"can deliver at most {available:g} GWh (short by "
                           f"{gwh - available:g} GWh)",
            })
    if out:
        return out
    for t, group in hard.groupby("period"):
        apps = set(group["application"])
        sup = lanes.loc[lanes["application"].isin(apps) & (lanes["period"] == t), "supplier"]
        available = float(sum(cap.get((s, t), 0.0) for s in sup.unique()))
        need = float(group["gwh"].sum())
        if need > available + 1e-9:
            out.append({
                "kind": "capacity", "period": int(t), "required": need, "limit": available,
                "message": f"in {t} the applications without an unmet_penalty need "
                           f"{need:g} GWh together, but the suppliers that can serve them "
                           f"have {available:g} GWh",
            })
    if not out:
        out.append({
            "kind": "capacity",
            "message": "demand cannot be met from the capacity available, given which "
                       "chemistries each application allows (shared capacity is too small)",
        })
    return out


def conflicts_frame(conflicts: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(conflicts)
