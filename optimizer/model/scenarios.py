"""The robust plan (SPEC section 5): the two-stage stochastic program in extensive form.

The first stage is the deterministic model of :func:`~optimizer.model.build_model`
as it is (contracts ``x``, supplier totals, tiers, on/off binaries, the plan's
own unmet demand, every rule): rules govern what is contracted. This module adds,
for every case k (the base case included, probability p_k), the second stage:
spot purchases and shortage, and replaces the objective by a risk-weighted one.

Notation: i a lane (s, a, t), r an application-period, d_t the discount factor,
f the case's capacity factor of the lane's supplier in t, fd = min(f, 1) the
share of each contract delivered, g the price factor; cp_i = ex-works x (1 +
tariff) (0 where tiers carry the ex-works cost), ou_i = freight + carbon,
sp_i = list price x (1 + tariff), tu the tier price x (1 + tariff), pen_r the
application's ``unmet_penalty``, else ``shortage_penalty``, a_i the USD/kWh a
``price_add`` by origin adds to the lane's price, duty included (SPEC section 7).

The cost of the plan in case k is ``base_cost + R_k`` with

    R_k = sum_i d_t [(fd g - 1) cp_i + fd a_i + (fd - 1) ou_i] x_i     (index-linked contracts)
        + sum_tiers d_t (fd g - 1) tu tier_volume                      (tier prices and volumes)
        + sum_i d_t ((g sp_i + a_i) (1 + spot_premium) + ou_i) spot[k, i]   (spot purchases)
        + sum_r d_t pen_r shortage[k, r]                               (demand left unmet)

Linear throughout: the extensive form is an LP unless the first stage has binaries.
"""

from __future__ import annotations

import numpy as np
import pyomo.core as pyo

from optimizer.data import ModelData
from optimizer.data_scenarios import Case, ScenarioData
from optimizer.model.build import build_model
from optimizer.model.common import linear
from optimizer.model.stock import stock_terms

#: coefficients smaller than this are left out of the scenario cost terms
_ZERO = 1e-12


def add_base_cost(m: pyo.ConcreteModel) -> None:
    """Variable ``base_cost`` (free) with

        base_cost = the deterministic objective (the plan's cost in the base case:
                    purchases, fixed costs, its own unmet demand, rule penalties)

    and the deterministic objective ``total_cost`` deactivated."""
    m.base_cost = pyo.Var(within=pyo.Reals, doc="the plan's cost in the base case, USD million")
    m.base_cost_def = pyo.Constraint(expr=m.total_cost.expr - m.base_cost == 0)
    m.total_cost.deactivate()


def add_recourse(m: pyo.ConcreteModel, data: ModelData, sd: ScenarioData,
                 cases: list[Case]) -> None:
    """For every case k (indexed 0..K-1 in ``cases`` order):

    * variables ``spot[k, i] >= 0`` on the lanes of every application-period r
      where some contract may fall short (a supplier with fd < 1 serves r) and
      whose supplier keeps capacity (f > 0), and ``shortage[k, r] >= 0``;
    * ``shortfall_cover[k, r]``, E_r the case's change of demand in row r
      (``demand_factor``, SPEC section 10):
          sum_{i in r} spot[k, i] + shortage[k, r] - refund[k, r] - surplus[k, r]
              - sum_{i in r} (1 - fd_i) x_i = E_r
      (the shortfall and any extra demand are bought spot or left unmet; a drop
      in demand, -E_r, offsets lost deliveries, then the plan's own unmet
      demand, refund <= -E_r and refund + sum_{i in r} x_i <= D_r, its penalty
      refunded, and the rest is surplus <= -E_r, worth d_t surplus_value p_r,
      p_r the row's lowest scenario ex-works price);
    * ``spare_capacity[k, s, t]`` for every supplier-period with spot lanes:
          sum_{i of (s, t)} spot[k, i] + fd sum_a x[s, a, t]
              <= f (capacity[s, t] + sum_j step_j fund[j])
      (spot comes only from the capacity the contracts leave; co-funded
      capacity, a first-stage decision, is spare capacity in every case it
      exists in, scaled by the case's factor like the rest);
    * ``m.scenario_terms[k]`` = (coefficients, variables) of R_k (module docstring).

    Cases without a capacity factor below 1 need no variables: R_k is then the
    index-linked price change alone.
    """
    lanes_x = m.lane_vars
    arrivals = data.building.arrivals
    lanes_of_supply = list(data.lanes_by_supply.values())  # in ScenarioData.supplies order
    tier_vars = [m.tier_volume[key] for key in sd.tier_keys]
    capacity = sd.capacity
    row_cost = sd.row_cost
    supply_ids = [str(x) for x in sd.supplies["supplier"].tolist()]
    supply_periods = [int(x) for x in sd.supplies["period"].tolist()]
    m.case_names = [c.name for c in cases]
    m.scenario_terms = {}
    spot_index: list[tuple[int, int]] = []
    spot_cost: dict[tuple[int, int], float] = {}
    short_index: list[tuple[int, int]] = []
    cover_rows: dict[tuple[int, int], tuple[list[int], np.ndarray, np.ndarray]] = {}
    spare_rows: dict[tuple[int, str, int], tuple[list[int], float, float, int, float]] = {}
    cover_rhs: dict[tuple[int, int], float] = {}
    surplus_index: list[tuple[int, int]] = []
    surplus_bound: dict[tuple[int, int], float] = {}
    surplus_cost: dict[tuple[int, int], float] = {}
    refund_index: list[tuple[int, int]] = []
    refund_bound: dict[tuple[int, int], float] = {}
    draw_index: list[tuple[int, int]] = []
    stocked = sd.stocked
    apps_of_row = sd.demand["application"].astype(str).to_numpy()
    periods_of_row = sd.demand["period"].astype(int).to_numpy()

    for k, case in enumerate(cases):
        f, fd, g = case.capacity, case.delivery, case.price
        fl, gl = fd[sd.lane_supply], g[sd.lane_supply]
        added = case.added(sd)
        coef = sd.discount * ((fl * gl - 1.0) * sd.contract_price + fl * added
                              + (fl - 1.0) * sd.other_unit)
        nz = np.flatnonzero(np.abs(coef) > _ZERO)
        coefs = coef[nz].tolist()
        variables = [lanes_x[i] for i in nz.tolist()]
        if len(sd.tier_supply):
            ts = sd.tier_supply
            tcoef = sd.tier_discount * (fd[ts] * g[ts] - 1.0) * sd.tier_unit
            tnz = np.flatnonzero(np.abs(tcoef) > _ZERO)
            coefs += tcoef[tnz].tolist()
            variables += [tier_vars[j] for j in tnz.tolist()]
        m.scenario_terms[k] = (coefs, variables)
        if not case.disrupted and not case.changes_demand:
            continue
        change = case.demand_change(sd)
        short_lanes = fl < 1.0
        rows = np.union1d(np.unique(sd.lane_demand[short_lanes]),
                          np.flatnonzero(np.abs(change) > _ZERO))
        in_row = np.isin(sd.lane_demand, rows)
        spot_lanes = np.flatnonzero(in_row & (f[sd.lane_supply] > 0))
        worth = np.where(np.isfinite(price := sd.surplus_price(case)),
                         sd.surplus_value * price, 0.0)
        for r in rows.tolist():
            short_index.append((k, r))
            members = np.flatnonzero((sd.lane_demand == r) & short_lanes)
            spots = spot_lanes[sd.lane_demand[spot_lanes] == r]
            cover_rows[(k, r)] = (spots.tolist(), members, 1.0 - fl[members])
            cover_rhs[(k, r)] = float(change[r])
            if stocked[r]:  # the buffer stock is drawn before spot is bought
                draw_index.append((k, r))
            if change[r] < -_ZERO:  # less demand: a refund of own unmet, surplus
                drop = float(-change[r])
                surplus_index.append((k, r))
                surplus_bound[(k, r)] = drop
                surplus_cost[(k, r)] = -float(sd.demand["discount"].iloc[r]) * float(worth[r])
                if sd.has_penalty[r]:
                    refund_index.append((k, r))
                    refund_bound[(k, r)] = drop
        unit = sd.discount * ((gl * sd.spot_price + added) * (1.0 + sd.spot_premium)
                              + sd.other_unit)
        for i in spot_lanes.tolist():
            spot_index.append((k, i))
            spot_cost[(k, i)] = float(unit[i])
        by_supply: dict[int, list[int]] = {}
        for i in spot_lanes.tolist():
            by_supply.setdefault(int(sd.lane_supply[i]), []).append(i)
        for j, members_s in by_supply.items():
            s, t = supply_ids[j], supply_periods[j]
            spare_rows[(k, s, t)] = (members_s, float(fd[j]), float(f[j] * capacity[j]), j,
                                     float(f[j]))

    m.SPOT = pyo.Set(initialize=spot_index, dimen=2, ordered=True,
                     doc="(case, lane) where spot purchases are possible")
    m.spot = pyo.Var(m.SPOT, within=pyo.NonNegativeReals, doc="GWh bought spot in a case")
    m.SHORT = pyo.Set(initialize=short_index, dimen=2, ordered=True,
                      doc="(case, application-period row) that may fall short")
    m.shortage = pyo.Var(m.SHORT, within=pyo.NonNegativeReals,
                         doc="GWh of the shortfall left unmet in a case")

    m.SURPLUS = pyo.Set(initialize=surplus_index, dimen=2, ordered=True,
                        doc="(case, application-period) whose demand drops")
    m.surplus = pyo.Var(m.SURPLUS, within=pyo.NonNegativeReals,
                        bounds=lambda m, k, r: (0.0, surplus_bound[(k, r)]),
                        doc="GWh delivered beyond a case's demand")
    m.REFUND = pyo.Set(initialize=refund_index, dimen=2, ordered=True,
                       doc="(case, application-period) whose own unmet demand a drop offsets")
    m.refund = pyo.Var(m.REFUND, within=pyo.NonNegativeReals,
                       bounds=lambda m, k, r: (0.0, refund_bound[(k, r)]),
                       doc="GWh of the plan's own unmet demand a drop in demand makes up")
    demand_gwh = sd.demand_gwh
    lanes_of_row = {r: np.flatnonzero(sd.lane_demand == r) for r in {r for _, r in refund_index}}

    def own_unmet(m, k, r):
        """refund <= the plan's own unmet demand: D_r + inflow_r - sum_{i in r} x_i."""
        terms, moved = stock_terms(m, data, str(apps_of_row[r]), int(periods_of_row[r]))
        return linear(None, [m.refund[k, r], *[lanes_x[i] for i in lanes_of_row[r].tolist()]],
                      extra=terms) <= float(demand_gwh[r]) + moved

    m.refund_own = pyo.Constraint(m.REFUND, rule=own_unmet)
    m.DRAWS = pyo.Set(initialize=draw_index, dimen=2, ordered=True,
                      doc="(case, application-period) that may draw on the buffer stock")
    m.draw = pyo.Var(m.DRAWS, within=pyo.NonNegativeReals, doc="GWh drawn from stock")
    # what is drawn is gone from then on: in every period t from an application's
    # first draw, its draws up to t are at most its end-of-period level in t
    limits: list[tuple[int, str, int]] = []
    drawn: dict[tuple[int, str], list[tuple[int, int]]] = {}
    for k, r in draw_index:
        drawn.setdefault((k, str(apps_of_row[r])), []).append((int(periods_of_row[r]), r))
    for (k, a), items in drawn.items():
        first = min(t for t, _ in items)
        limits += [(k, a, t) for t in data.periods if t >= first]
    m.DRAW_LIMITS = pyo.Set(initialize=limits, dimen=3, ordered=True)
    m.draw_limit = pyo.Constraint(
        m.DRAW_LIMITS, rule=lambda m, k, a, t: linear(
            None, [m.draw[k, r] for tt, r in drawn[(k, a)] if tt <= t],
            extra=[(-1.0, m.level[a, t])]) <= 0)

    def cover(m, k, r):
        spots, members, share = cover_rows[(k, r)]
        variables = [m.spot[k, i] for i in spots] + [m.shortage[k, r]] + \
            [lanes_x[i] for i in members.tolist()]
        coefs = [1.0] * (len(spots) + 1) + (-share).tolist()
        if (k, r) in surplus_bound:
            variables.append(m.surplus[k, r])
            coefs.append(-1.0)
        if (k, r) in refund_bound:
            variables.append(m.refund[k, r])
            coefs.append(-1.0)
        if (k, r) in m.DRAWS:
            variables.append(m.draw[k, r])
            coefs.append(1.0)
        return linear(coefs, variables) == cover_rhs[(k, r)]

    m.shortfall_cover = pyo.Constraint(m.SHORT, rule=cover)
    m.SPARE = pyo.Set(initialize=list(spare_rows), dimen=3, ordered=True,
                      doc="(case, supplier, period) selling spot")

    def spare(m, k, s, t):
        members, fd_j, bound, j, f_j = spare_rows[(k, s, t)]
        variables = [m.spot[k, i] for i in members]
        coefs = [1.0] * len(members)
        if fd_j > 0:
            contracted = lanes_of_supply[j].tolist()
            variables += [lanes_x[i] for i in contracted]
            coefs += [fd_j] * len(contracted)
        # co-funded capacity (first stage) is there in every case, scaled like the rest
        for kk, step in arrivals.get((s, t), ()):
            variables.append(m.fund[kk])
            coefs.append(-f_j * step)
        return linear(coefs, variables) <= bound

    m.spare_capacity = pyo.Constraint(m.SPARE, rule=spare)
    for k, i in spot_index:
        m.scenario_terms[k][0].append(spot_cost[(k, i)])
        m.scenario_terms[k][1].append(m.spot[k, i])
    for k, r in short_index:
        m.scenario_terms[k][0].append(float(row_cost[r]))
        m.scenario_terms[k][1].append(m.shortage[k, r])
    for k, r in surplus_index:
        m.scenario_terms[k][0].append(surplus_cost[(k, r)])
        m.scenario_terms[k][1].append(m.surplus[k, r])
    for k, r in refund_index:
        m.scenario_terms[k][0].append(-float(row_cost[r]))
        m.scenario_terms[k][1].append(m.refund[k, r])


def add_risk_objective(m: pyo.ConcreteModel, probabilities: list[float], weight: float,
                       alpha: float, bases: list | None = None) -> None:
    """Objective ``robust_cost``: (1 - w) E[cost] + w CVaR_alpha[cost], with
    cost_k = base_cost + R_k and CVaR in the Rockafellar-Uryasev form:

        min  (1 - w) [ (sum_k p_k) base_cost + sum_k p_k R_k ]
           + w [ eta + 1 / (1 - alpha) sum_k p_k z_k ]
        s.t. z_k >= base_cost + R_k - eta,  z_k >= 0      (cases with p_k > 0)

    ``eta`` (free) ends at the alpha-quantile of the cost (the value at risk).
    With w = 0 there is no eta and no z. ``bases``: one base-cost variable per
    case instead of the one ``m.base_cost`` (the adaptive program, where each
    case follows a plan of its own).
    """
    w = float(weight)
    if bases is None:
        coefs: list[float] = [(1.0 - w) * float(sum(probabilities))]
        variables: list = [m.base_cost]
        base_of = [m.base_cost] * len(probabilities)
    else:
        coefs = [(1.0 - w) * p for p in probabilities if p > 0]
        variables = [b for b, p in zip(bases, probabilities, strict=True) if p > 0]
        base_of = list(bases)
    if w < 1.0:
        for k, p in enumerate(probabilities):
            if p > 0:
                c, v = m.scenario_terms[k]
                coefs += [(1.0 - w) * p * x for x in c]
                variables += v
    tail = [k for k, p in enumerate(probabilities) if p > 0]
    m.TAIL = pyo.Set(initialize=tail if w > 0 else [], ordered=True)
    m.eta = pyo.Var(within=pyo.Reals, doc="value at risk (CVaR threshold), USD million")
    m.excess = pyo.Var(m.TAIL, within=pyo.NonNegativeReals,
                       doc="cost above eta in a case, USD million")

    def excess_row(m, k):
        c, v = m.scenario_terms[k]
        return linear([1.0, -1.0, 1.0, *(-x for x in c)],
                      [m.excess[k], base_of[k], m.eta, *v]) >= 0

    m.cvar_excess = pyo.Constraint(m.TAIL, rule=excess_row)
    if w > 0:
        coefs.append(w)
        variables.append(m.eta)
        for k in tail:
            coefs.append(w * probabilities[k] / (1.0 - alpha))
            variables.append(m.excess[k])
    else:
        m.eta.fix(0.0)
    m.robust_cost = pyo.Objective(expr=linear(coefs, variables), sense=pyo.minimize)


def build_robust_model(data: ModelData, sd: ScenarioData, cases: list[Case],
                       weight: float = 0.0, alpha: float = 0.95) -> pyo.ConcreteModel:
    """The extensive form: :func:`build_model`'s first stage, a second stage per
    case (:func:`add_recourse`), the risk-weighted objective (:func:`add_risk_objective`).
    Probabilities of ``cases`` must add up to 1 (the base case takes the rest)."""
    m = build_model(data)
    add_base_cost(m)
    add_recourse(m, data, sd, cases)
    add_risk_objective(m, [c.probability for c in cases], weight, alpha)
    return m
