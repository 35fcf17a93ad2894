"""Why no plan exists, and the smallest change that makes one possible.

Three views of an infeasible model, all on the matrix HiGHS already holds:

* **repairs**: an elastic copy of the model in which every rule scope, every
  demand and every capacity may be violated at a price (rules are cheapest to
  move, then demand, then capacity: policy gives way before the business need,
  and the business need before physics). The violations HiGHS finds are turned
  into sentences ("raise 'china-cap' in 2027 from 30% to 33.4%"); for share and
  average rules the limit that restores a plan is then pinned down exactly by
  bisection, all other repairs held where they are. Each repair keeps its
  numbers as they are (``limit``, ``required``, ``change``, in ``unit``: a
  share or an HHI as a fraction, GWh, kt, groups or the averaged attribute);
  its ``message`` writes them as people read them (percentages, HHI points,
  GWh), with :mod:`optimizer.labels` (a module that imports nothing
  from the package), the required limit rounded towards the change so that
  the value shown restores a plan too.
* **conflicts**: the rules whose removal alone restores a plan.
* **iis**: for a linear model, HiGHS's irreducible infeasible subset, named
  in business terms: a smallest set of requirements that cannot hold together.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from optimizer.data import ModelData, RuleScope
from optimizer.input.schema import AVERAGE_KINDS, CONCENTRATION_KINDS, COUNT_KINDS, SHARE_KINDS
from optimizer.labels import limit_change, limit_phrase
from optimizer.model.index import CoveredMeasure, Trivial
from optimizer.solver.elastic import ElasticCopy
from optimizer.solver.elastic import irreducible_subset as whole_irreducible_subset
from optimizer.solver.session import Session

#: price per unit of violation in the elastic model
WEIGHT_RULE = 1.0
WEIGHT_DEMAND = 100.0
WEIGHT_CAPACITY = 1000.0
WEIGHT_CONTRACT = 10.0
TOL = 1e-7


@dataclass
class RowInfo:
    """What a row of the HiGHS model means to a buyer."""

    kind: str  # "rule", "demand", "capacity" or "contract"
    row: int  # the row in HiGHS
    weight: float
    scope: RuleScope | None = None
    application: str | None = None
    supplier: str | None = None
    period: int | None = None
    limit: float = 0.0
    contract: str | None = None

    def describe(self) -> str:
        if self.kind == "rule":
            assert self.scope is not None
            return f"rule {_scope_text(self.scope)}"
        if self.kind == "demand":
            return f"demand for {self.application} in {self.period} ({self.limit:g} GWh)"
        if self.kind == "contract":
            return (f"contract '{self.contract}' with {self.supplier} in {self.period} "
                    f"(at least {self.limit:g} GWh)")
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


def row_catalog(data: ModelData, session: Session) -> list[RowInfo]:
    """The rows a repair may move: rule scopes, demands, capacities."""
    rows: list[RowInfo] = []
    limits = session.limits()
    for scope, scope_rows_ in session.scope_rows().values():
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
    for (a, t), con in session.index.demand.items():
        demand_row = session.row(con)
        if demand_row >= 0:
            rows.append(RowInfo("demand", demand_row, WEIGHT_DEMAND, application=a, period=int(t),
                                limit=float(demand[(a, t)])))
    for (s, t), cap in session.index.capacity.items():
        r = session.row(cap.constraint)
        if r >= 0:
            rows.append(RowInfo("capacity", r, WEIGHT_CAPACITY, supplier=s, period=int(t),
                                limit=cap.capacity))
    for (name, t), c in session.index.contracts.items():
        r = session.row(c.constraint)
        if r >= 0:  # a signed commitment gives way after the rules, before demand
            rows.append(RowInfo("contract", r, WEIGHT_CONTRACT, supplier=c.supplier,
                                period=int(t), limit=c.min_gwh, contract=name))
    return rows


def elastic_copy(session: Session, rows: list[RowInfo]) -> ElasticCopy:
    """The model with a priced slack on every movable row (rules are cheapest
    to move, then demand, then capacity). A purchase's bound restates its
    supplier's capacity: it is lifted where the capacity may move."""
    lanes = session.data.lanes_by_supply
    unbounded = [int(j) for info in rows if info.kind == "capacity"
                 for j in session.lane_columns[lanes[(str(info.supplier), int(info.period or 0))]]
                 .tolist() if j >= 0]
    return ElasticCopy(session.hm, [info.row for info in rows], [info.weight for info in rows],
                       unbounded)


def _exact_ratio_limit(elastic: ElasticCopy, k: int, info: RowInfo, session: Session,
                       approx: float, slack: np.ndarray) -> float:
    """The tightest share/average/top-k limit at which the scope can hold, by
    bisection between the broken limit and the elastic model's value. The
    limit enters the row as ``limit * X`` = ``limit * D`` in its bound and
    ``limit`` on each covered unmet column (:mod:`optimizer.model.shares`)."""
    scope = info.scope
    assert scope is not None
    rr = session.index.rule_rows.get(scope.label)
    if rr is None or rr.covered is None:
        return approx
    covered = rr.covered
    hm = session.hm
    lower0, upper0 = float(hm.row_lower0[info.row]), float(hm.row_upper0[info.row])
    if isinstance(covered, CoveredMeasure):  # X is a column: its coefficient is -limit
        x_col = np.array([session.column(covered.variable)], dtype=np.int64)

        def row_at(limit: float) -> tuple[tuple[float, float], np.ndarray, np.ndarray]:
            return (lower0, upper0), x_col, np.array([-limit])
    else:
        cols = np.array([session.column(u) for u in covered.unmet], dtype=np.int64)
        cols = cols[cols >= 0]
        demand = covered.demand

        def row_at(limit: float) -> tuple[tuple[float, float], np.ndarray, np.ndarray]:
            bounds = (lower0, limit * demand) if rr.side == "upper" else (limit * demand, upper0)
            return bounds, cols, np.full(len(cols), limit)

    lo, hi = info.limit, approx  # the broken limit, and one that works
    for _ in range(40):
        if abs(hi - lo) <= 1e-9 * max(1.0, abs(hi)):
            break
        mid = 0.5 * (lo + hi)
        bounds, cols_at, values = row_at(mid)
        if elastic.feasible_with(k, slack, info.row, bounds, cols_at, values):
            hi = mid
        else:
            lo = mid
    bounds, cols_at, values = row_at(info.limit)
    elastic.reset(info.row, bounds, cols_at, values)
    return hi


def rule_unit(scope: RuleScope) -> str:
    """The unit of a rule's value and limit, as ``rules.csv`` gives it: ``share``,
    ``hhi`` (a fraction, 0-1), ``GWh`` or ``kt`` (volumes), ``groups`` or the
    averaged attribute."""
    kind = scope.rule.kind
    if kind in SHARE_KINDS or kind == "max_top_share":
        return "share"
    if kind == "max_hhi":
        return "hhi"
    if kind in COUNT_KINDS:
        return "groups"
    if kind in AVERAGE_KINDS:
        return scope.rule.attribute or ""
    return "kt" if getattr(scope, "measure", "gwh") == "kt" else "GWh"


def _repair_item(info: RowInfo, required: float, change: float) -> dict[str, Any]:
    if info.kind == "demand":
        demand, served = limit_change(info.limit, required, "GWh")
        short = limit_phrase(change, "GWh", up=True)
        return {
            "demand": info.application, "application": info.application,
            "period": info.period, "limit": info.limit, "required": required,
            "change": -change, "unit": "GWh",
            "message": f"{info.application} demand in {info.period} exceeds what the "
                       f"eligible suppliers can deliver under the rules by {short} "
                       f"(at most {served} of {demand} can be served)",
        }
    if info.kind == "contract":
        now, lowered = limit_change(info.limit, required, "GWh")
        return {
            "contract": info.contract, "supplier": info.supplier, "period": info.period,
            "limit": info.limit, "required": required, "change": required - info.limit,
            "unit": "GWh",
            "message": f"contract '{info.contract}' commits the buyer to at least {now} from "
                       f"{info.supplier} in {info.period}, more than can be bought there under "
                       f"the rules: lower its minimum to {lowered} (or make it take-or-pay)",
        }
    if info.kind == "capacity":
        now, needed = limit_change(info.limit, required, "GWh")
        more = limit_phrase(change, "GWh", up=True)
        return {
            "capacity": info.supplier, "supplier": info.supplier, "period": info.period,
            "limit": info.limit, "required": required, "change": change, "unit": "GWh",
            "message": f"{info.supplier} would need {more} more capacity in "
                       f"{info.period} ({needed} instead of {now})",
        }
    scope = info.scope
    assert scope is not None
    rule = scope.rule
    kind = rule.kind
    unit = rule_unit(scope)
    where = _scope_text(scope)
    if kind in COUNT_KINDS:
        what = "allow" if kind == "max_count" else "require only"
        message = (f"{what} {required:g} instead of {info.limit:g} groups in {where}")
    else:
        old, new = limit_change(info.limit, required, unit)
        message = f"raise {where} from {old} to {new}" if kind.startswith("max_") \
            else f"lower {where} to {new} instead of {old}"
    item: dict[str, Any] = {
        "rule": rule.name, "kind": kind, "period": scope.period,
        "application": scope.application if scope.application is not None
        else (";".join(rule.applications) if rule.applications else None),
        "group": scope.group if scope.group is not None else ";".join(rule.group or []) or None,
        "limit": info.limit, "required": required, "change": required - info.limit,
        "unit": unit, "message": message,
    }
    return item


def _funding_hint(data: ModelData, info: RowInfo, change: float) -> dict[str, Any]:
    """How co-funding (SPEC section 8) would give a supplier ``change`` GWh more
    capacity in a period: more steps of an expansion that can serve it (its
    ``max_steps`` raised), or a new expansion row. Added to the repair's
    message, with the expansion row and the steps (``funding_steps``)."""
    s, t = str(info.supplier), int(info.period or 0)
    f = data.building.funding
    serving = [k for k, _ in data.building.arrivals.get((s, t), ())]
    if not serving:
        return {"message_extra": None}
    row = f.iloc[serving[0]]
    steps = int(np.ceil(change / float(row["step_gwh"]) - 1e-9))
    cost = steps * float(row["cost"])
    e = int(row["expansion"])
    return {"expansion": e + 1, "funding_steps": steps,
            "message_extra": f"co-funding could close the gap: allow {steps} more step"
                             f"{'s' if steps != 1 else ''} of its expansion (row {e + 1} of "
                             f"expansions: {float(row['step_gwh']):g} GWh each; max_steps "
                             f"{float(row['max_steps']):g} -> "
                             f"{float(row['max_steps']) + steps:g}, about USD {cost:,.1f} million"
                             f" more)"}


def _demand_funding_hint(data: ModelData, info: RowInfo, short: float) -> dict[str, Any]:
    """For demand that cannot be met: an expansion of a supplier eligible for
    the application that could arrive by then (more of its steps would add
    capacity there)."""
    a, t = str(info.application), int(info.period or 0)
    lanes = data.lanes
    eligible = lanes.loc[(lanes["application"] == a) & (lanes["period"] == t), "supplier"]
    for sup in dict.fromkeys(eligible.astype(str)):
        if (sup, t) in data.building.arrivals:
            hint = _funding_hint(data, RowInfo("capacity", -1, 0.0, supplier=sup, period=t),
                                 short)
            if hint.get("message_extra"):
                hint["message_extra"] = f"{sup}: {hint['message_extra']}"
                return hint
    return {"message_extra": None}


def find_repairs(data: ModelData, session: Session,
                 exact: bool = True) -> list[dict[str, Any]]:
    """The smallest weighted relaxation that restores a plan, as repairs."""
    rows = row_catalog(data, session)
    if not rows:
        return []
    elastic = elastic_copy(session, rows)
    if not elastic.solve():
        return []
    slack = elastic.slack()
    slack[slack < TOL] = 0.0
    x = elastic.values()
    lane_cols = session.lane_columns
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
            item = _repair_item(info, info.limit - s, s)
            repairs.append((info.weight * s, {**item, **_demand_funding_hint(data, info, s)}))
            continue
        if info.kind == "contract":
            repairs.append((info.weight * s, _repair_item(info, max(0.0, info.limit - s), s)))
            continue
        if info.kind == "capacity":
            item = _repair_item(info, info.limit + s, s)
            repairs.append((info.weight * s, {**item, **_funding_hint(data, info, s)}))
            continue
        scope = info.scope
        assert scope is not None
        kind = scope.rule.kind
        total = scope.covered_volume(lanes_x)
        if kind in SHARE_KINDS:
            approx = scope.volume(lanes_x) / total if total > TOL else info.limit
        elif kind in AVERAGE_KINDS:
            assert scope.weights is not None
            approx = float(scope.weights @ lanes_x[scope.covered]) / total if total > TOL \
                else info.limit
        elif kind in COUNT_KINDS:
            approx = info.limit - s if kind == "min_count" else info.limit + s
            approx = float(np.floor(approx + 1e-9)) if kind == "min_count" \
                else float(np.ceil(approx - 1e-9))
        elif kind in CONCENTRATION_KINDS:
            volumes = np.sort(list(scope.group_volumes(lanes_x).values()))[::-1]
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
        if exact and kind in (*SHARE_KINDS, *AVERAGE_KINDS, "max_top_share") \
                and not session.is_mip:
            required = _exact_ratio_limit(elastic, k, info, session, approx, slack)
        repairs.append((info.weight * s, _repair_item(info, required, abs(required -
                                                                         info.limit))))
    repairs.sort(key=lambda r: -r[0])
    out = []
    for _, r in repairs:
        extra = r.pop("message_extra", None)
        if extra:
            r["message"] = f"{r['message']}; {extra}"
        out.append(r)
    return out


def removable_conflicts(session: Session, max_rules: int = 60) -> list[str]:
    """Rules whose removal alone restores a plan (warm re-solves, one per rule)."""
    by_rule: dict[str, list[str]] = {}
    for label, (scope, _rows) in session.scope_rows().items():
        by_rule.setdefault(scope.rule.name, []).append(label)
    found = []
    for name, labels in list(by_rule.items())[:max_rules]:
        with session.without(labels):
            status = session.resolve()
        if status.status in ("optimal", "time_limit") and status.has_solution:
            found.append(name)
    return found


def irreducible_subset(data: ModelData, session: Session) -> list[str]:
    """HiGHS's irreducible infeasible subset, named in business terms (LP only)."""
    found = whole_irreducible_subset(session.hm)
    if found is None:
        return []
    rows, cols = found
    catalog = row_catalog(data, session)
    by_row = {info.row: info for info in catalog}
    # a purchase's upper bound restates its supplier's capacity
    by_supply = {(info.supplier, info.period): info for info in catalog
                 if info.kind == "capacity"}
    supply_of_column = {int(j): key for key, lanes in data.lanes_by_supply.items()
                        for j in session.lane_columns[lanes].tolist()}
    names: list[str] = []
    for r in rows:
        info = by_row.get(r)
        if info is not None:
            names.append(info.describe())
    for c in cols:
        info = by_supply.get(supply_of_column.get(c, ("", 0)))
        if info is not None and info.describe() not in names:
            names.append(info.describe())
    return names


def trivial_repairs(trivial: list[Trivial],
                    limits: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """Requirements no variable can meet at all (recorded while building);
    ``limits``: the rules' limits as the model holds them (default: the instance's)."""
    out = []
    for item in trivial:
        if item.kind == "demand":
            a, t, gwh = item.application, item.period, item.gwh
            out.append({
                "demand": a, "application": a, "period": t, "limit": gwh, "required": 0.0,
                "change": -gwh,
                "unit": "GWh",
                "message": f"{a} demand in {t} is {limit_phrase(gwh, 'GWh')}, but no supplier "
                           "can deliver "
                           "to it at all (allowed chemistries, capacity, availability and "
                           "exclusions leave no offer) and it has no unmet_penalty",
            })
        else:
            scope = item.scope
            assert scope is not None
            limit = float((limits or {}).get(scope.rule.name, scope.rule.limit or 0.0))
            required = float(item.above)
            unit = rule_unit(scope)
            old, new = limit_change(limit, required, unit)
            out.append({
                "rule": scope.rule.name, "kind": scope.rule.kind, "period": scope.period,
                "application": scope.application, "limit": limit, "required": required,
                "change": required - limit, "unit": unit,
                "message": f"lower {_scope_text(scope)} to {new} instead of {old}: "
                           + ("no supplier in the group can deliver there" if required == 0
                              else f"only {limit_phrase(required, 'groups')} exist there"),
            })
    return out


def explain_infeasible(data: ModelData, session: Session) -> dict[str, Any]:
    """Everything we can say about an infeasible model."""
    trivial = session.trivial()
    if trivial:
        return {"repairs": trivial_repairs(trivial, session.limits()), "conflicts": [],
                "iis": []}
    repairs = find_repairs(data, session)
    small = len(session.hm.rows) <= 200_000
    conflicts = removable_conflicts(session) if small else []
    iis = irreducible_subset(data, session) if small else []
    return {"repairs": repairs, "conflicts": conflicts, "iis": iis}
