"""Playing a plan out in a case (SPEC section 5).

A plan (GWh contracted per supplier, application and period) *plays out* in a
case like this (docs/scenarios.md has the same in words, with the choices):

* contracts are index-linked: a supplier whose capacity is scaled by ``f``
  delivers ``min(f, 1)`` times each of its contracts, and every delivered GWh
  is paid at the case's price: ``d_t * ((g * price + a) * (1 + tariff) +
  freight + carbon)``, ``a`` the USD/kWh a price_add by origin adds; a tiered
  supplier keeps its tier structure, each tier's price times ``g`` (plus
  ``a``) and each tier's volume times ``min(f, 1)``;
* each application's shortfall (contracted minus delivered) is covered at least
  cost by spot purchases from the spare capacity ``f * capacity - min(f, 1) *
  contracted`` of any eligible supplier, at ``d_t * ((g * price + a) * (1 +
  spot_premium) * (1 + tariff) + freight + carbon)``, and the rest is left
  unmet at the application's ``unmet_penalty``, else ``shortage_penalty``
  (a small LP per case, solved by HiGHS: cheapest spare capacity first, shared
  between applications that compete for it);
* fixed costs, the plan's own unmet demand (at its penalty) and soft-rule
  penalties are those of the plan in the base case: the plan is contracted.

* a demand factor (SPEC section 10) changes each application's demand in
  its periods: more demand is covered like a shortfall (spot, then unmet);
  less first offsets the lost deliveries, then the plan's own unmet demand
  (whose penalty is refunded), and the GWh still delivered beyond demand
  are surplus: paid, and worth ``surplus_value`` times the lowest scenario
  ex-works price among the application's offers in that period.

So ``cost_k = base_cost + (contract_k - contract_base) + spot_k + shortage_k
- refund_k - surplus_k``.

Play-outs are independent given the plans: :func:`play_all` runs them in chunks of cases on
local processes or a Dask cluster (:mod:`optimizer.parallel`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from optimizer.data_scenarios import Case, ScenarioData
from optimizer.parallel import ParallelError, check_where, map_chunks
from optimizer.scenarios.errors import usage_error
from optimizer.scenarios.plans import EPS, Plan
from optimizer.solver.highs import solve_matrices

SCENARIO_COLUMNS = ["scenario", "kind", "group", "probability", "cost", "extra_cost",
                    "contract_cost", "spot_cost", "unmet_cost", "other_cost", "surplus_value",
                    "demand_gwh", "delivered_gwh", "shortfall_gwh", "spot_gwh", "unmet_gwh",
                    "surplus_gwh", "stock_drawn_gwh"]


def _tier_volumes(sd: ScenarioData, x: np.ndarray) -> np.ndarray:
    """Each tier's volume when a supplier's total fills its tiers in order."""
    if not len(sd.tier_supply):
        return np.zeros(0)
    total = np.bincount(sd.lane_supply, weights=x, minlength=sd.n_supplies)
    return np.clip(total[sd.tier_supply] - sd.tier_from, 0.0, sd.tier_width)


def contract_cost(sd: ScenarioData, x: np.ndarray, case: Case | None = None) -> float:
    """Discounted cost of what the contracts deliver in ``case`` (base: None)."""
    if case is None:
        fd = g = np.ones(sd.n_supplies)
        added = np.zeros(sd.n_lanes)
    else:
        fd, g = case.delivery, case.price
        added = case.added(sd)
    fl, gl = fd[sd.lane_supply], g[sd.lane_supply]
    cost = float(np.sum(sd.discount * fl * (gl * sd.contract_price + added + sd.other_unit)
                        * x))
    if len(sd.tier_supply):
        tv = _tier_volumes(sd, x)
        ts = sd.tier_supply
        cost += float(np.sum(sd.tier_discount * fd[ts] * g[ts] * sd.tier_unit * tv))
    return cost


def _solve_recourse(unit: np.ndarray, lane_row: np.ndarray, lane_supply: np.ndarray,
                    spare: np.ndarray, need: np.ndarray, penalty: np.ndarray,
                    refund_cap: np.ndarray, refund_worth: np.ndarray,
                    surplus_cap: np.ndarray, surplus_worth: np.ndarray,
                    draw_rows: np.ndarray, cumulative: list[tuple[np.ndarray, float]]
                    ) -> tuple[np.ndarray, ...]:
    """The recourse LP of one case for a fixed plan, over the rows R that need
    something or lose demand (the robust program's second stage, with the
    plan fixed: :func:`optimizer.model.scenarios.add_recourse`)::

        min  sum_i unit_i y_i + sum_r (penalty_r u_r - refund_worth_r f_r
                                       - surplus_worth_r s_r)   (draws w cost nothing)
        s.t. sum_{i in row r} y_i + u_r + w_r - f_r - s_r = need_r    (w_r on stocked rows)
             sum_{i of supply s} y_i <= spare_s
             sum_{r in R_j} w_r <= level_j                             (cumulative draws)
             0 <= f_r <= refund_cap_r,  0 <= s_r <= surplus_cap_r,  y, u, w >= 0

    Returns (y, u, w, f, s)."""
    from scipy.sparse import csr_matrix

    n_y, n_r, n_w = len(unit), len(need), len(draw_rows)
    supplies, supply_row = np.unique(lane_supply, return_inverse=True)
    n_s, n_c = len(supplies), len(cumulative)
    base = n_y + n_r + n_w  # f from here, s after
    rows = [lane_row, np.arange(n_r), np.asarray(draw_rows, dtype=np.int64), np.arange(n_r),
            np.arange(n_r), n_r + supply_row]
    cols = [np.arange(n_y), n_y + np.arange(n_r), n_y + n_r + np.arange(n_w),
            base + np.arange(n_r), base + n_r + np.arange(n_r), np.arange(n_y)]
    vals = [np.ones(n_y), np.ones(n_r), np.ones(n_w), -np.ones(n_r), -np.ones(n_r),
            np.ones(n_y)]
    for k, (members, _) in enumerate(cumulative):
        rows.append(np.full(len(members), n_r + n_s + k))
        cols.append(n_y + n_r + np.asarray(members, dtype=np.int64))
        vals.append(np.ones(len(members)))
    a = csr_matrix((np.concatenate(vals), (np.concatenate(rows).astype(np.int64),
                                           np.concatenate(cols).astype(np.int64))),
                   shape=(n_r + n_s + n_c, n_y + n_r + n_w + 2 * n_r))
    inf = float("inf")
    levels = np.array([lv for _, lv in cumulative], dtype=float)
    sol = solve_matrices(
        np.concatenate([unit, penalty, np.zeros(n_w), -refund_worth, -surplus_worth]),
        np.zeros(n_y + n_r + n_w + 2 * n_r),
        np.concatenate([np.full(n_y + n_r + n_w, inf), refund_cap, surplus_cap]), a,
        np.concatenate([need, np.full(n_s + n_c, -inf)]),
        np.concatenate([need, spare[supplies], levels]), what="the recourse LP")
    sol = np.maximum(sol, 0.0)
    return (sol[:n_y], sol[n_y:n_y + n_r], sol[n_y + n_r:base], sol[base:base + n_r],
            sol[base + n_r:])


def time_to_survive(sd: ScenarioData, levels: np.ndarray, need: np.ndarray
                    ) -> list[tuple[str, float | None, bool]]:
    """Per stocked application: how many months the stock it holds when losses
    start covers them (lost GWh per month = the period's need / 12, the need
    being lost deliveries plus extra demand, before stock or spot), and whether
    it lasts to the end of the horizon; None when nothing is ever lost."""
    out: list[tuple[str, float | None, bool]] = []
    apps = sd.demand["application"].to_numpy()
    periods = sd.demand["period"].to_numpy()
    stocked = sd.stocked
    for a in dict.fromkeys(apps[stocked].tolist()):
        rows = np.flatnonzero((apps == a) & stocked)
        rows = rows[np.argsort(periods[rows], kind="stable")]
        losses = np.maximum(need[rows], 0.0)
        hit = np.flatnonzero(losses > EPS)
        if not len(hit):
            out.append((str(a), None, False))
            continue
        left = float(levels[rows[hit[0]]])
        months = 0.0
        lasts = True
        for k in range(hit[0], len(rows)):
            loss = float(losses[k])
            if loss <= EPS or left >= loss:
                left -= loss
                months += 12.0
            else:
                months += 12.0 * left / loss
                lasts = False
                break
        out.append((str(a), months, lasts))
    return out


def play_out(sd: ScenarioData, plan: Plan, case: Case,
             details: bool = False) -> dict[str, Any]:
    """The cost of ``plan`` in ``case`` and its parts (USD million, discounted;
    GWh over all periods). With ``details``, also ``rows``: per application and
    period with a shortfall, the shortfall, spot and unmet GWh."""
    x = plan.x
    fd, g = case.delivery, case.price
    base_contract = contract_cost(sd, x)
    contract = contract_cost(sd, x, case)
    fl = fd[sd.lane_supply]
    n_rows = len(sd.demand)
    lost = np.bincount(sd.lane_demand, weights=(1.0 - fl) * x, minlength=n_rows)
    lost[lost < EPS] = 0.0
    bought = np.bincount(sd.lane_demand, weights=x, minlength=n_rows)
    # cells bought into stock are on top of demand (taken out: less is bought)
    inflow = sd.inflow(plan.levels)
    levels = plan.levels if plan.levels is not None else \
        np.where(sd.stocked, np.nan_to_num(sd.stock_initial), 0.0)
    plan_unmet = np.where(sd.has_penalty,
                          np.maximum(sd.demand_gwh + inflow - bought, 0.0), 0.0)
    plan_unmet[plan_unmet < EPS] = 0.0
    row_cost = sd.row_cost
    plan_unmet_cost = float(np.sum(row_cost * plan_unmet))
    # a demand shock (SPEC section 10): more demand is covered like lost deliveries;
    # less first offsets lost deliveries, then the plan's own unmet demand (its
    # penalty refunded), and what is still delivered beyond demand is surplus,
    # worth surplus_value x the row's lowest scenario ex-works price; a buffer
    # stock is drawn (free: it is paid) before spot is bought
    change = case.demand_change(sd)
    need = lost + change
    need[np.abs(need) < EPS] = 0.0
    drop = np.maximum(-change, 0.0)
    short = np.maximum(need, 0.0)
    refund = np.zeros(n_rows)
    surplus = np.zeros(n_rows)
    surplus_money = refund_money = 0.0
    spot_gwh = spot_cost = shortage_gwh = shortage_cost = drawn_gwh = 0.0
    rows: list[tuple[int, float, float, float]] = []
    cover = np.flatnonzero((need > 0) | (drop > EPS))
    if len(cover):
        total = np.bincount(sd.lane_supply, weights=x, minlength=sd.n_supplies)
        spare = np.maximum(case.capacity * plan.capacity(sd) - fd * total, 0.0)
        row_pos = np.full(n_rows, -1)
        row_pos[cover] = np.arange(len(cover))
        lanes = np.flatnonzero((row_pos[sd.lane_demand] >= 0) & (spare[sd.lane_supply] > EPS))
        s = sd.lane_supply[lanes]
        unit = sd.discount[lanes] * ((g[s] * sd.spot_price[lanes] + case.added(sd)[lanes])
                                     * (1.0 + sd.spot_premium) + sd.other_unit[lanes])
        price = sd.surplus_price(case)
        worth = np.where(np.isfinite(price), sd.surplus_value * price, 0.0) \
            * sd.demand["discount"].to_numpy(dtype=float)
        refund_cap = np.where(sd.has_penalty, np.minimum(drop, plan_unmet), 0.0)
        draw_rows, cumulative = _draws(sd, cover, levels)
        y, u, w, f, sp = _solve_recourse(
            unit, row_pos[sd.lane_demand[lanes]], s, spare, need[cover], row_cost[cover],
            refund_cap[cover], row_cost[cover], drop[cover], worth[cover], draw_rows,
            cumulative)
        refund[cover], surplus[cover] = f, sp
        drawn_gwh = float(w.sum())
        spot_gwh, spot_cost = float(y.sum()), float(unit @ y)
        shortage_gwh, shortage_cost = float(u.sum()), float(row_cost[cover] @ u)
        refund_money = float(row_cost @ refund)
        surplus_money = float(worth @ surplus)
        if details:
            by_row = np.bincount(row_pos[sd.lane_demand[lanes]], weights=y,
                                 minlength=len(cover))
            rows = [(int(r), float(short[r]), float(by_row[k]), float(u[k]))
                    for k, r in enumerate(cover) if short[r] > 0 or u[k] > EPS]
    cost = plan.base_cost + (contract - base_contract) + spot_cost + shortage_cost \
        - refund_money - surplus_money
    delivered = float(np.sum(fl * x))
    out: dict[str, Any] = {
        "scenario": case.name, "kind": case.kind, "group": case.group,
        "probability": case.probability, "cost": cost, "extra_cost": cost - plan.base_cost,
        "contract_cost": contract, "spot_cost": spot_cost,
        "unmet_cost": plan_unmet_cost - refund_money + shortage_cost,
        "other_cost": plan.base_cost - base_contract - plan_unmet_cost,
        "surplus_value": surplus_money,
        "demand_gwh": float(sd.demand_gwh.sum() + change.sum()),
        "delivered_gwh": delivered, "shortfall_gwh": float(short.sum()), "spot_gwh": spot_gwh,
        "unmet_gwh": float(plan_unmet.sum() - refund.sum()) + shortage_gwh,
        "surplus_gwh": float(surplus.sum()),
        "stock_drawn_gwh": drawn_gwh,
    }
    if sd.stocked.any():
        out["survival"] = time_to_survive(sd, levels, need)
    if details:
        apps = sd.demand["application"].tolist()
        periods = sd.demand["period"].tolist()
        out["rows"] = [{"scenario": case.name, "application": apps[r], "period": int(periods[r]),
                        "shortfall_gwh": sh, "spot_gwh": sp, "unmet_gwh": un}
                       for r, sh, sp, un in rows]
    return out


def _draws(sd: ScenarioData, short_rows: np.ndarray, levels: np.ndarray
           ) -> tuple[np.ndarray, list[tuple[np.ndarray, float]]]:
    """Draw variables (positions among the recourse rows ``short_rows``:
    stocked rows holding stock) and their cumulative limits: in every period t
    of a stocked application, from its first draw on, its draws up to t are at
    most its end-of-period level in t (what is drawn is gone from then on)."""
    stocked = sd.stocked[short_rows] & (levels[short_rows] > EPS)
    draw_rows = np.flatnonzero(stocked)
    if not len(draw_rows):
        return draw_rows, []
    all_apps = sd.demand["application"].to_numpy()
    all_periods = sd.demand["period"].to_numpy()
    apps = all_apps[short_rows[draw_rows]]
    periods = all_periods[short_rows[draw_rows]]
    cumulative: list[tuple[np.ndarray, float]] = []
    for a in dict.fromkeys(apps.tolist()):
        first = periods[apps == a].min()
        for r in np.flatnonzero((all_apps == a) & (all_periods >= first)).tolist():
            members = np.flatnonzero((apps == a) & (periods <= all_periods[r]))
            cumulative.append((members, float(levels[r])))
    return draw_rows, cumulative


def play_all(sd: ScenarioData, plans: list[Plan], cases: list[Case], details: bool = False,
             workers: int = 1, scheduler: Any = None) -> list[pd.DataFrame]:
    """Every plan played out in every case: one table per plan (rows in case
    order, columns :data:`SCENARIO_COLUMNS`, plus ``rows`` with ``details``).
    Play-outs are independent given the plans: they run in chunks of cases on
    ``workers`` processes or a Dask scheduler."""
    per_case = run_cases(_play_on, (sd, plans), cases, (details,), workers, scheduler)
    return [pd.DataFrame.from_records([played[k] for played in per_case])
            for k in range(len(plans))]


def _play_on(shared: tuple[ScenarioData, list[Plan]], cases: list[Case],
             details: bool) -> list[list[dict[str, Any]]]:
    """Every plan in every case of a chunk, per case (runs in worker processes
    and Dask workers)."""
    sd, plans = shared
    return [[play_out(sd, plan, case, details) for plan in plans] for case in cases]


def run_cases(func: Callable[..., list], shared: Any, cases: Sequence[Case], extra: tuple,
              workers: int = 1, scheduler: Any = None) -> list:
    """``func(shared, chunk, *extra)`` over chunks of ``cases`` (one result per
    case, in case order) by :func:`optimizer.parallel.map_chunks`; workers or a
    scheduler that cannot be used raise :class:`ScenarioError`."""
    try:
        return map_chunks(func, shared, cases, extra, workers=workers, scheduler=scheduler)
    except ParallelError as exc:
        raise usage_error(exc) from None


def check_workers(workers: int, scheduler: Any = None) -> None:
    """Raise :class:`ScenarioError` unless ``workers`` and ``scheduler`` can be
    used (checked before any solve)."""
    try:
        check_where(workers, scheduler)
    except ParallelError as exc:
        raise usage_error(exc) from None
