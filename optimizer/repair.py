"""Why no plan exists, and the smallest change that makes one possible.

Three views of an infeasible model, all on the matrix HiGHS already holds:

* **repairs**: an elastic copy of the model in which every rule scope, every
  demand and every capacity may be violated at a price (rules are cheapest to
  move, then demand, then capacity: policy gives way before the business need,
  and the business need before physics). The violations HiGHS finds are turned
  into sentences ("raise china-cap from 0.30 to 0.34 in 2027"); for share and
  average rules the limit that restores a plan is then pinned down exactly by
  bisection, all other repairs held where they are.
* **conflicts**: the rules whose removal alone restores a plan.
* **iis**: for a linear model, HiGHS's irreducible infeasible subset, named
  in business terms: a smallest set of requirements that cannot hold together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import highspy
import numpy as np
import pyomo.core as pyo

from optimizer.data import ModelData, RuleScope
from optimizer.model.shares import coverage_label
from optimizer.results import current_limits
from optimizer.rows import scope_rows
from optimizer.schema import AVERAGE_KINDS, CONCENTRATION_KINDS, COUNT_KINDS, SHARE_KINDS
from optimizer.solver import INF, HighsModel, new_highs

#: price per unit of violation in the elastic model
WEIGHT_RULE = 1.0
WEIGHT_DEMAND = 100.0
WEIGHT_CAPACITY = 1000.0
TOL = 1e-7


@dataclass
class RowInfo:
    """What a row of the HiGHS model means to a buyer."""

    kind: str  # "rule", "demand" or "capacity"
    row: int  # the row; for capacity (a column bound) the column
    weight: float
    scope: RuleScope | None = None
    application: str | None = None
    supplier: str | None = None
    period: int | None = None
    limit: float = 0.0

    def describe(self) -> str:
        if self.kind == "rule":
            assert self.scope is not None
            return f"rule {_scope_text(self.scope)}"
        if self.kind == "demand":
            return f"demand for {self.application} in {self.period} ({self.limit:g} GWh)"
        return f"capacity of {self.supplier} in {self.period} ({self.limit:g} GWh)"


def _scope_text(scope: RuleScope) -> str:
    text = f"'{scope.rule.name}'"
    if scope.application is not None:
        text += f" for {scope.application}"
    elif scope.rule.applications:
        text += f" for {', '.join(scope.rule.applications)}"
    if scope.group is not None:
        text += f" ({scope.rule.by} {scope.group})"
    return text + f" in {scope.period}"


def row_catalog(data: ModelData, m: pyo.ConcreteModel, hm: HighsModel) -> list[RowInfo]:
    """The rows a repair may move: rule scopes, demands, capacities."""
    rows: list[RowInfo] = []
    limits = current_limits(m)
    for scope, scope_rows_ in scope_rows(m, hm).values():
        limit = limits.get(scope.rule.name, 0.0)
        for r in scope_rows_:
            weight = WEIGHT_RULE
            if scope.rule.kind in AVERAGE_KINDS:
                weight /= max(1.0, abs(limit))
            elif scope.rule.kind in COUNT_KINDS:
                weight *= max(1.0, scope.max_covered)
            rows.append(RowInfo("rule", r, weight, scope=scope, period=scope.period,
                                application=scope.application,
                                limit=limit))
    demand = data.demand.set_index(["application", "period"])["gwh"]
    for (a, t), con in m.demand_balance.items():
        demand_row = hm.row_of.get(id(con))
        if demand_row is not None:
            rows.append(RowInfo("demand", demand_row, WEIGHT_DEMAND, application=a, period=int(t),
                                limit=float(demand[(a, t)])))
    for (s, t), var in m.supplied.items():
        j = hm.col_of.get(id(var))
        if j is not None and var.ub is not None:
            rows.append(RowInfo("capacity", j, WEIGHT_CAPACITY, supplier=s, period=int(t),
                                limit=float(var.ub)))
    return rows


class ElasticModel:
    """A copy of the model with a priced slack column on every movable row."""

    def __init__(self, hm: HighsModel, rows: list[RowInfo]):
        self.hm = hm
        self.rows = rows
        h = new_highs(hm.options)
        h.passModel(hm.highs.getLp())
        n = len(hm.columns)
        h.changeColsCost(n, np.arange(n, dtype=np.int32), np.zeros(n))
        self.n_original = n
        # a <= row gets -s (activity - s <= ub), a >= or = row gets +s; a capacity
        # (a column's upper bound) becomes the row  supplied - s <= capacity
        for info in rows:
            if info.kind == "capacity":
                h.changeColBounds(info.row, 0.0, INF)
                new_row = h.getNumRow()
                h.addRow(-INF, info.limit, 1, np.array([info.row], dtype=np.int32),
                         np.array([1.0]))
                h.addCol(info.weight, 0.0, INF, 1, np.array([new_row], dtype=np.int32),
                         np.array([-1.0]))
                continue
            coef = -1.0 if hm.sense[info.row] > 0 else 1.0
            h.addCol(info.weight, 0.0, INF, 1, np.array([info.row], dtype=np.int32),
                     np.array([coef]))
        self.highs = h

    def solve(self) -> bool:
        self.highs.run()
        return self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal

    def slack(self) -> np.ndarray:
        x = np.asarray(self.highs.getSolution().col_value)
        return x[self.n_original:]

    def values(self) -> np.ndarray:
        return np.asarray(self.highs.getSolution().col_value)[: self.n_original]

    def feasible_with(self, k: int, row: int, column: int, coef: float,
                      slack: np.ndarray) -> bool:
        """Is there a plan when row ``row`` has coefficient ``coef`` on ``column``,
        its own slack is 0 and the other slacks stay at ``slack``?"""
        h = self.highs
        cols = np.arange(self.n_original, self.n_original + len(slack), dtype=np.int32)
        lower = slack.copy()
        lower[k] = 0.0
        h.changeColsBounds(len(cols), cols, lower, lower)
        h.changeCoeff(row, column, coef)
        h.run()
        return h.getModelStatus() == highspy.HighsModelStatus.kOptimal


def _exact_ratio_limit(elastic: ElasticModel, k: int, info: RowInfo, m: pyo.ConcreteModel,
                       approx: float, slack: np.ndarray) -> float:
    """The tightest share/average limit at which the scope can hold, by bisection
    between the broken limit and the elastic model's value."""
    scope = info.scope
    assert scope is not None
    col = elastic.hm.col_of.get(id(m.covered_volume[coverage_label(scope.coverage)]))
    if col is None:
        return approx
    lo, hi = info.limit, approx  # the broken limit, and one that works
    for _ in range(40):
        if abs(hi - lo) <= 1e-9 * max(1.0, abs(hi)):
            break
        mid = 0.5 * (lo + hi)
        if elastic.feasible_with(k, info.row, col, -mid, slack):
            hi = mid
        else:
            lo = mid
    elastic.highs.changeCoeff(info.row, col, -info.limit)
    cols = np.arange(elastic.n_original, elastic.n_original + len(slack), dtype=np.int32)
    elastic.highs.changeColsBounds(len(cols), cols, np.zeros(len(cols)), np.full(len(cols), INF))
    return hi


def _repair_item(info: RowInfo, required: float, change: float) -> dict[str, Any]:
    if info.kind == "demand":
        return {
            "demand": info.application, "application": info.application,
            "period": info.period, "limit": info.limit, "required": required,
            "change": -change,
            "message": f"{info.application} demand in {info.period} exceeds what the "
                       f"eligible suppliers can deliver under the rules by {change:.4g} GWh "
                       f"(at most {required:.6g} of {info.limit:.6g} GWh can be served)",
        }
    if info.kind == "capacity":
        return {
            "capacity": info.supplier, "supplier": info.supplier, "period": info.period,
            "limit": info.limit, "required": required, "change": change,
            "message": f"{info.supplier} would need {change:.4g} GWh more capacity in "
                       f"{info.period} ({required:.6g} instead of {info.limit:.6g} GWh)",
        }
    scope = info.scope
    assert scope is not None
    rule = scope.rule
    kind = rule.kind
    unit = {"max_volume": " GWh", "min_volume": " GWh"}.get(kind, "")
    where = _scope_text(scope)
    if kind in COUNT_KINDS:
        what = "allow" if kind == "max_count" else "require only"
        message = (f"{what} {required:g} instead of {info.limit:g} groups in {where}")
    elif kind.startswith("max_"):
        message = f"raise {where} from {info.limit:.6g}{unit} to {required:.6g}{unit}"
    else:
        message = f"lower {where} to {required:.6g}{unit} instead of {info.limit:.6g}{unit}"
    item: dict[str, Any] = {
        "rule": rule.name, "kind": kind, "period": scope.period,
        "application": scope.application if scope.application is not None
        else (";".join(rule.applications) if rule.applications else None),
        "group": scope.group if scope.group is not None else ";".join(rule.group or []) or None,
        "limit": info.limit, "required": required, "change": required - info.limit,
        "message": message,
    }
    return item


def find_repairs(data: ModelData, m: pyo.ConcreteModel, hm: HighsModel,
                 exact: bool = True) -> list[dict[str, Any]]:
    """The smallest weighted relaxation that restores a plan, as repairs."""
    rows = row_catalog(data, m, hm)
    if not rows:
        return []
    elastic = ElasticModel(hm, rows)
    if not elastic.solve():
        return []
    slack = elastic.slack()
    slack[slack < TOL] = 0.0
    x = elastic.values()
    lane_cols = np.array([hm.col_of.get(id(v), -1) for v in m.lane_vars])
    lanes_x = np.where(lane_cols >= 0, x[np.maximum(lane_cols, 0)], 0.0)
    repairs: list[tuple[float, dict[str, Any]]] = []
    done: set[str] = set()  # an HHI cap has several cuts but gets one repair
    for k, info in enumerate(rows):
        s = float(slack[k])
        if s <= TOL * max(1.0, abs(info.limit)):
            continue
        if info.scope is not None and info.scope.label in done:
            continue
        if info.kind == "demand":
            repairs.append((info.weight * s, _repair_item(info, info.limit - s, s)))
            continue
        if info.kind == "capacity":
            repairs.append((info.weight * s, _repair_item(info, info.limit + s, s)))
            continue
        scope = info.scope
        assert scope is not None
        kind = scope.rule.kind
        total = float(lanes_x[scope.covered].sum())
        if kind in SHARE_KINDS:
            approx = float(lanes_x[scope.members].sum()) / total if total > TOL else info.limit
        elif kind in AVERAGE_KINDS:
            assert scope.weights is not None
            approx = float(scope.weights @ lanes_x[scope.covered]) / total if total > TOL \
                else info.limit
        elif kind in COUNT_KINDS:
            approx = info.limit - s if kind == "min_count" else info.limit + s
            approx = float(np.floor(approx + 1e-9)) if kind == "min_count" \
                else float(np.ceil(approx - 1e-9))
        elif kind in CONCENTRATION_KINDS:
            volumes = np.sort([lanes_x[p].sum() for p in (scope.groups or {}).values()])[::-1]
            if total <= TOL:
                approx = info.limit
            elif kind == "max_top_share":
                approx = float(volumes[: int(scope.rule.k or 1)].sum()) / total
            else:
                approx = float(((volumes / total) ** 2).sum())
                done.add(scope.label)
        else:  # volumes: the slack is the change in GWh
            approx = info.limit + s if kind.startswith("max_") else info.limit - s
        required = approx
        if exact and kind in (*SHARE_KINDS, *AVERAGE_KINDS, "max_top_share") and not hm.is_mip:
            required = _exact_ratio_limit(elastic, k, info, m, approx, slack)
        repairs.append((info.weight * s, _repair_item(info, required, abs(required -
                                                                         info.limit))))
    repairs.sort(key=lambda r: -r[0])
    return [r for _, r in repairs]


def removable_conflicts(m: pyo.ConcreteModel, hm: HighsModel,
                        max_rules: int = 60) -> list[str]:
    """Rules whose removal alone restores a plan (warm re-solves, one per rule)."""
    by_rule: dict[str, list[int]] = {}
    for scope, rows in scope_rows(m, hm).values():
        by_rule.setdefault(scope.rule.name, []).extend(rows)
    found = []
    for name, rows in list(by_rule.items())[:max_rules]:
        idx = np.array(rows, dtype=np.int32)
        hm.relax_rows(idx)
        status = hm.run()
        hm.restore_rows(idx)
        if status.status in ("optimal", "time_limit") and status.has_solution:
            found.append(name)
    return found


def irreducible_subset(data: ModelData, m: pyo.ConcreteModel,
                       hm: HighsModel) -> list[str]:
    """HiGHS's irreducible infeasible subset, named in business terms (LP only)."""
    if hm.is_mip:
        return []
    by_row = {(info.kind, info.row): info for info in row_catalog(data, m, hm)}
    h = hm.highs
    h.setOptionValue("iis_strategy", 6)
    try:
        status, iis = h.getIis()
    except Exception:  # an IIS is a bonus: never let it hide the repairs
        return []
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return []
    names = []
    for r in iis.row_index_:
        info = by_row.get(("rule", int(r))) or by_row.get(("demand", int(r)))
        if info is not None:
            names.append(info.describe())
    for c in iis.col_index_:
        info = by_row.get(("capacity", int(c)))
        if info is not None:
            names.append(info.describe())
    return names


def trivial_repairs(m: pyo.ConcreteModel) -> list[dict[str, Any]]:
    """Requirements no variable can meet at all (recorded while building)."""
    out = []
    for item in m.trivial_conflicts:
        if item[0] == "demand":
            _, a, t, gwh = item
            out.append({
                "demand": a, "application": a, "period": t, "limit": gwh, "required": 0.0,
                "change": -gwh,
                "message": f"{a} demand in {t} is {gwh:g} GWh, but no supplier can deliver "
                           "to it at all (allowed chemistries, capacity, availability and "
                           "exclusions leave no offer) and it has no unmet_penalty",
            })
        else:
            _, _label, scope, limit = item
            out.append({
                "rule": scope.rule.name, "kind": scope.rule.kind, "period": scope.period,
                "application": scope.application, "limit": limit, "required": 0.0,
                "change": -limit,
                "message": f"lower {_scope_text(scope)} to 0 instead of {limit:g}: no "
                           "supplier in the group can deliver there",
            })
    return out


def explain_infeasible(data: ModelData, m: pyo.ConcreteModel,
                       hm: HighsModel | None) -> dict[str, Any]:
    """Everything we can say about an infeasible model."""
    trivial = trivial_repairs(m)
    if trivial or hm is None:
        return {"repairs": trivial, "conflicts": [], "iis": []}
    repairs = find_repairs(data, m, hm)
    conflicts = removable_conflicts(m, hm) if len(hm.rows) <= 200_000 else []
    iis = irreducible_subset(data, m, hm) if len(hm.rows) <= 200_000 else []
    return {"repairs": repairs, "conflicts": conflicts, "iis": iis}
