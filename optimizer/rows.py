"""Which HiGHS rows belong to which rule scope (shared by the analyses)."""

from __future__ import annotations

import pyomo.core as pyo

from optimizer.data import RuleScope
from optimizer.solver import HighsModel


def scope_rows(m: pyo.ConcreteModel, hm: HighsModel) -> dict[str, tuple[RuleScope, list[int]]]:
    """Scope label -> (scope, its rows): one row for most rules, the tangent cuts
    for an HHI cap (none until a plan has broken it)."""
    out: dict[str, tuple[RuleScope, list[int]]] = {}
    for cname, scopes in m.scope_rows.items():
        con = getattr(m, cname)
        for label, scope in scopes.items():
            r = hm.row_of.get(id(con[label]))
            if r is not None:
                out[label] = (scope, [r])
    hhi = {s.label: s for s in getattr(m, "hhi_scopes", {}).values()}
    for idx, label in getattr(m, "hhi_cut_scope", {}).items():
        r = hm.row_of.get(id(m.hhi_cuts[idx]))
        if r is not None and label in hhi:
            out.setdefault(label, (hhi[label], []))[1].append(r)
    return out
