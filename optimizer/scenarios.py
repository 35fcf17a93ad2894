"""Disruption and cartel scenarios (SPEC section 5), as data and numbers.

A *scenario* multiplies the capacity and/or the ex-works price of groups of
suppliers in some periods. Resolved on the model data it becomes a
:class:`Case`: one capacity factor and one price factor per (supplier, period).
The probability not given to any scenario is the *base case* (nothing changes),
and it counts in every expectation.

A plan (GWh contracted per supplier, application and period) *plays out* in a
case like this (docs/scenarios.md has the same in words, with the choices):

* contracts are index-linked: a supplier whose capacity is scaled by ``f``
  delivers ``min(f, 1)`` times each of its contracts, and every delivered GWh
  is paid at the case's price: ``d_t * (g * price * (1 + tariff) + freight +
  carbon)``; a tiered supplier keeps its tier structure, each tier's price
  times ``g`` and each tier's volume times ``min(f, 1)``;
* each application's shortfall (contracted minus delivered) is covered at least
  cost by spot purchases from the spare capacity ``f * capacity - min(f, 1) *
  contracted`` of any eligible supplier, at ``d_t * (g * price * (1 +
  spot_premium) * (1 + tariff) + freight + carbon)``, and the rest is left
  unmet at the application's ``unmet_penalty``, else ``shortage_penalty``
  (a small LP per case, solved by HiGHS: cheapest spare capacity first, shared
  between applications that compete for it);
* fixed costs, the plan's own unmet demand (at its penalty) and soft-rule
  penalties are those of the plan in the base case: the plan is contracted.

So ``cost_k = base_cost + (contract_k - contract_base) + spot_k + shortage_k``.

Three analyses are built on it: :func:`stress` (a fixed plan in every case,
optionally N-1), :func:`robust` (the two-stage stochastic program, extensive
form, see :mod:`optimizer.model.scenarios`) with VSS and EVPI, and sampling
(:func:`sample_cases`). Library code only: it returns DataFrames and
dataclasses; the CLI prints them.
"""

from __future__ import annotations

import math
import multiprocessing
import time
from collections import Counter
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from optimizer.data import GROUP_COLUMNS, ModelData, prepare
from optimizer.input.instance import Instance
from optimizer.input.schema import Distribution, Factor, Scenario
from optimizer.solver.options import SolverOptions

#: the name of the base case in tables
BASE = "base"
#: groupings N-1 can knock out, one group at a time
N_MINUS_1_BY = ("company", "control")
#: volumes (GWh) below this are treated as zero in play-outs
EPS = 1e-9

SCENARIO_COLUMNS = ["scenario", "kind", "group", "probability", "cost", "extra_cost",
                    "contract_cost", "spot_cost", "unmet_cost", "other_cost",
                    "delivered_gwh", "shortfall_gwh", "spot_gwh", "unmet_gwh"]


class ScenarioError(Exception):
    """A scenario analysis that cannot be carried out as asked (bad usage, exit 2)."""


class NoPlanError(Exception):
    """The instance has no feasible plan: nothing to stress or make robust (exit 1).
    ``result`` is the deterministic :class:`~optimizer.results.Result` (conflicts,
    repairs) when the deterministic model was the one that failed."""

    def __init__(self, message: str, result: Any = None):
        super().__init__(message)
        self.result = result


# ----------------------------------------------------------------------------- data
@dataclass
class ScenarioData:
    """The numbers a play-out needs, as arrays (picklable, no Pyomo).

    Lanes are in :attr:`ModelData.lanes` order, supplies in
    :attr:`ModelData.supplies` order, demand rows in :attr:`ModelData.demand`
    order. Prices per lane include the supplier's stacked tariffs:
    ``contract_price`` = ex-works x (1 + tariff) (0 where price tiers carry the
    ex-works cost), ``spot_price`` = list price x (1 + tariff) (the list price
    of a tiered supplier is its first tier's price: a spot buy gets no volume
    discount), ``other_unit`` = freight + carbon.
    """

    lanes: pd.DataFrame            # supplier, application, period
    supplies: pd.DataFrame         # supplier, period, capacity + grouping columns
    demand: pd.DataFrame           # application, period, gwh, unmet_penalty, penalty, discount
    lane_supply: np.ndarray
    lane_demand: np.ndarray
    discount: np.ndarray
    contract_price: np.ndarray
    other_unit: np.ndarray
    spot_price: np.ndarray
    tier_keys: list[tuple[str, int, int]]
    tier_supply: np.ndarray
    tier_from: np.ndarray
    tier_width: np.ndarray
    tier_unit: np.ndarray          # tier price x (1 + tariff)
    tier_discount: np.ndarray
    periods: list[int]
    spot_premium: float
    shortage_penalty: float
    groupings: tuple[str, ...] = GROUP_COLUMNS
    #: the same columns as arrays (play-outs run many times)
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))
    demand_gwh: np.ndarray = field(default_factory=lambda: np.zeros(0))
    has_penalty: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    row_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def __post_init__(self) -> None:
        self.capacity = self.supplies["capacity"].to_numpy(dtype=float)
        self.demand_gwh = self.demand["gwh"].to_numpy(dtype=float)
        self.has_penalty = self.demand["unmet_penalty"].notna().to_numpy()
        self.row_cost = (self.demand["discount"] * self.demand["penalty"]).to_numpy(dtype=float)

    @property
    def n_lanes(self) -> int:
        return len(self.lanes)

    @property
    def n_supplies(self) -> int:
        return len(self.supplies)

    def lane_index(self, allocation: pd.DataFrame) -> np.ndarray:
        """Position in :attr:`lanes` of each (supplier, application, period) row
        of ``allocation`` (-1 where the plan names a lane the model does not have)."""
        keys = pd.MultiIndex.from_frame(self.lanes[["supplier", "application", "period"]])
        probe = pd.MultiIndex.from_arrays([
            allocation["supplier"].astype(str).to_numpy(),
            allocation["application"].astype(str).to_numpy(),
            allocation["period"].astype(int).to_numpy()])
        return np.asarray(keys.get_indexer(probe), dtype=np.int64)


def scenario_data(data: ModelData) -> ScenarioData:
    """Arrays for play-outs and for the robust model, from the model data."""
    inst = data.instance
    lanes = data.lanes
    supplies = data.supplies[["supplier", "period", "capacity"]].copy()
    groupings = (*GROUP_COLUMNS, *inst.settings.attributes)
    sup = data.suppliers
    for by in groupings:
        col = sup[by] if by != "supplier" else sup["supplier"]
        supplies[by] = col.reindex(supplies["supplier"]).to_numpy()
    supplies["period"] = supplies["period"].astype(int)
    lane_supply = np.asarray(data.supply_of_lane, dtype=np.int64)

    demand = data.demand.copy()
    demand["period"] = demand["period"].astype(int)
    demand["penalty"] = demand["unmet_penalty"].astype(float).fillna(
        inst.settings.shortage_penalty)
    demand["discount"] = demand["period"].map(data.discount).astype(float)
    key = pd.MultiIndex.from_frame(demand[["application", "period"]])
    lane_demand = key.get_indexer(pd.MultiIndex.from_arrays([
        lanes["application"].to_numpy(), lanes["period"].astype(int).to_numpy()]))
    assert (lane_demand >= 0).all()

    rate = lanes["tariff_rate"].to_numpy(dtype=float)
    ex_works = lanes["ex_works"].to_numpy(dtype=float)
    list_price = np.zeros(len(supplies))
    np.maximum.at(list_price, lane_supply, ex_works)  # one ex-works price per supply
    tiers = data.tiers
    supply_pos = pd.MultiIndex.from_frame(supplies[["supplier", "period"]])
    if len(tiers):
        tier_supply = supply_pos.get_indexer(pd.MultiIndex.from_arrays([
            tiers["supplier"].to_numpy(), tiers["period"].astype(int).to_numpy()]))
        assert (tier_supply >= 0).all()
        first = tiers[tiers["tier"] == 0]
        first_pos = supply_pos.get_indexer(pd.MultiIndex.from_arrays([
            first["supplier"].to_numpy(), first["period"].astype(int).to_numpy()]))
        list_price[first_pos] = first["price"].to_numpy(dtype=float)
        tier_keys = [(s, int(t), int(k)) for s, t, k in
                     tiers[["supplier", "period", "tier"]].itertuples(index=False)]
        tier_arrays: tuple[np.ndarray, ...] = (
            np.asarray(tier_supply, dtype=np.int64),
            tiers["from_gwh"].to_numpy(dtype=float),
            tiers["width"].to_numpy(dtype=float),
            (tiers["price"] * (1.0 + tiers["tariff_rate"])).to_numpy(dtype=float),
            tiers["period"].astype(int).map(data.discount).to_numpy(dtype=float),
        )
    else:
        tier_keys = []
        tier_arrays = (np.zeros(0, dtype=np.int64), *(np.zeros(0) for _ in range(4)))
    return ScenarioData(
        lanes=lanes[["supplier", "application", "period"]].reset_index(drop=True),
        supplies=supplies.reset_index(drop=True),
        demand=demand[["application", "period", "gwh", "unmet_penalty", "penalty",
                       "discount"]].reset_index(drop=True),
        lane_supply=lane_supply,
        lane_demand=np.asarray(lane_demand, dtype=np.int64),
        discount=lanes["discount"].to_numpy(dtype=float),
        contract_price=ex_works * (1.0 + rate),
        other_unit=(lanes["freight"] + lanes["carbon"]).to_numpy(dtype=float),
        spot_price=list_price[lane_supply] * (1.0 + rate),
        tier_keys=tier_keys,
        tier_supply=tier_arrays[0],
        tier_from=tier_arrays[1],
        tier_width=tier_arrays[2],
        tier_unit=tier_arrays[3],
        tier_discount=tier_arrays[4],
        periods=list(data.periods),
        spot_premium=float(inst.settings.spot_premium),
        shortage_penalty=float(inst.settings.shortage_penalty),
        groupings=groupings,
    )


# ----------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class Case:
    """A scenario resolved on the data: per supply (:attr:`ScenarioData.supplies`),
    the capacity factor ``f`` and the price factor ``g``.

    ``kind`` is ``base``, ``scenario`` (from the file), ``sample`` (a draw of a
    scenario with uncertain factors) or ``n-1``; ``group`` names what an N-1
    case knocks out. ``draws`` records the sampled factor values.
    """

    name: str
    probability: float
    capacity: np.ndarray
    price: np.ndarray
    kind: str = "scenario"
    group: str | None = None
    draws: tuple[float, ...] = ()

    @property
    def delivery(self) -> np.ndarray:
        """Share of each contract delivered: ``min(f, 1)``."""
        return np.minimum(self.capacity, 1.0)

    @property
    def disrupted(self) -> bool:
        return bool((self.capacity < 1.0).any())

    def with_probability(self, p: float) -> Case:
        return Case(self.name, p, self.capacity, self.price, self.kind, self.group, self.draws)


def base_case(sd: ScenarioData, probability: float) -> Case:
    ones = np.ones(sd.n_supplies)
    return Case(BASE, probability, ones, ones.copy(), kind="base")


def _members(sd: ScenarioData, scenario: Scenario, f: Factor) -> np.ndarray:
    periods = sd.supplies["period"].to_numpy()
    window = np.ones(len(periods), dtype=bool)
    if scenario.from_ is not None:
        window &= periods >= scenario.from_
    if scenario.until is not None:
        window &= periods <= scenario.until
    values = sd.supplies[f.by].astype(object).to_numpy()
    return window & np.isin(values, list(f.group))


def resolve(sd: ScenarioData, scenario: Scenario, values: Sequence[float] | None = None,
            *, name: str | None = None, probability: float | None = None,
            kind: str = "scenario") -> Case:
    """The factors of ``scenario`` per supply. ``values`` gives a number for each
    factor in :attr:`Scenario.factors` order (the draws of a sample); otherwise
    every factor must be a number. Factors matching one supplier multiply."""
    capacity = np.ones(sd.n_supplies)
    price = np.ones(sd.n_supplies)
    for j, (which, f) in enumerate(scenario.factors):
        if values is not None:
            factor = float(values[j])
        elif isinstance(f.factor, Distribution):
            raise ScenarioError(
                f"scenario '{scenario.name}' draws a factor from {f.factor.describe()}: "
                "run with --sample N (and --seed S to repeat the draws)")
        else:
            factor = float(f.factor)
        hit = _members(sd, scenario, f)
        (capacity if which == "capacity" else price)[hit] *= factor
    return Case(name or scenario.name, scenario.probability if probability is None
                else probability, capacity, price, kind=kind,
                draws=tuple(float(v) for v in values) if values is not None else ())


def base_probability(inst: Instance) -> float:
    """The probability left to the base case: 1 - sum of the scenarios'."""
    return max(0.0, 1.0 - math.fsum(s.probability for s in inst.scenarios))


def file_cases(inst: Instance, sd: ScenarioData) -> list[Case]:
    """The base case and every scenario of the file, with their probabilities."""
    return [base_case(sd, base_probability(inst)), *(resolve(sd, s) for s in inst.scenarios)]


def _draw(dist: Distribution, rng: np.random.Generator) -> float:
    p = dist.params
    if dist.kind == "uniform":
        return float(rng.uniform(p[0], p[1])) if p[1] > p[0] else float(p[0])
    if dist.kind == "triangular":
        return float(rng.triangular(p[0], p[1], p[2])) if p[2] > p[0] else float(p[0])
    return max(0.0, float(rng.normal(p[0], p[1]))) if p[1] > 0 else float(p[0])


def sample_cases(inst: Instance, sd: ScenarioData, n: int, seed: int) -> list[Case]:
    """``n`` equally likely draws (``numpy.random.default_rng(seed)``).

    Each draw picks one outcome, the base case or a scenario, with the file's
    probabilities (scenarios exclude each other, as without sampling); a
    scenario with uncertain factors then draws each of them once (one value
    for every supplier and period the factor covers). Draws of the base case or
    of a scenario without uncertain factors are identical: they are merged into
    one case whose probability is their count / n. Draw ``i`` of scenario ``s``
    with uncertain factors is the case ``s#i`` (i from 1).
    """
    if n < 1:
        raise ScenarioError(f"--sample must be at least 1, got {n}")
    scenarios = inst.scenarios
    probs = np.array([base_probability(inst), *(s.probability for s in scenarios)], dtype=float)
    probs = probs / probs.sum()
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(probs), size=n, p=probs)
    counts: Counter[int] = Counter()
    drawn: list[Case] = []
    for i, j in enumerate(picks.tolist(), start=1):
        if j == 0 or not scenarios[j - 1].random:
            counts[j] += 1
            continue
        sc = scenarios[j - 1]
        values = [_draw(f.factor, rng) if isinstance(f.factor, Distribution) else float(f.factor)
                  for _, f in sc.factors]
        drawn.append(resolve(sd, sc, values, name=f"{sc.name}#{i}", probability=1.0 / n,
                             kind="sample"))
    out = [base_case(sd, counts[0] / n)]
    for j, sc in enumerate(scenarios, start=1):
        if counts[j]:
            out.append(resolve(sd, sc, probability=counts[j] / n))
    return out + drawn


def n_minus_1_cases(sd: ScenarioData, by: str) -> list[Case]:
    """One case per company (``by="company"``) or controlling country
    (``by="control"``) that loses all its capacity in every period.
    Probability 0: N-1 cases are what-ifs, outside every expectation."""
    if by not in N_MINUS_1_BY:
        raise ScenarioError(f"--n-1 takes {' or '.join(N_MINUS_1_BY)}, got '{by}'")
    values = sd.supplies[by].astype(str).to_numpy()
    out = []
    for v in sorted(set(values.tolist())):
        capacity = np.where(values == v, 0.0, 1.0)
        out.append(Case(f"N-1 {by} {v}", 0.0, capacity, np.ones(sd.n_supplies), kind="n-1",
                        group=v))
    return out


def cases_for(inst: Instance, sd: ScenarioData, sample: int | None = None,
              seed: int | None = None) -> list[Case]:
    """The file's cases, or ``sample`` draws of them."""
    if sample is not None:
        return sample_cases(inst, sd, sample, 0 if seed is None else seed)
    return file_cases(inst, sd)


# ----------------------------------------------------------------------------- plans
@dataclass
class Plan:
    """A plan to play out: GWh per lane (:attr:`ScenarioData.lanes` order) and its
    cost in the base case (USD million, discounted, as the objective counts it:
    purchases, fixed costs, its own unmet demand, soft-rule penalties)."""

    name: str
    x: np.ndarray
    base_cost: float
    allocation: pd.DataFrame
    #: problems found by the independent plan check (rules a read plan breaks)
    warnings: list[str] = field(default_factory=list)


def plan_from_allocation(inst: Instance, sd: ScenarioData, allocation: pd.DataFrame,
                         name: str, strict: bool = True) -> Plan:
    """A :class:`Plan` from an allocation (supplier, application, period, gwh).

    The plan is checked independently (:func:`optimizer.check.check_plan`),
    which also gives its base-case cost. With ``strict``, a plan that is not a
    contract at all (negative or ineligible volumes, excluded lanes, above
    capacity, buying more than demand, or leaving hard demand unmet) raises
    :class:`~optimizer.errors.InputError`; a plan that only breaks a rule or a
    minimum order is played out with a warning.
    """
    from optimizer.check import check_plan
    from optimizer.errors import InputError, Location, Problem

    report = check_plan(inst, allocation)
    structural = ("negative", "ineligible", "exclude", "capacity", "demand_over",
                  "demand_unmet")
    v = report.violations
    hard = v[v["kind"].isin(structural)]
    if strict and len(hard):
        where = Location(file=name, table="plan")
        raise InputError([Problem(where, f"the plan cannot be played out: {m}")
                          for m in hard["message"]])
    warnings = [f"the plan breaks: {m}" for m in v.loc[~v["kind"].isin(structural), "message"]]
    plan = allocation[["supplier", "application", "period", "gwh"]].copy()
    plan["period"] = plan["period"].astype(int)
    plan["gwh"] = plan["gwh"].astype(float)
    plan = plan[plan["gwh"] > 0].reset_index(drop=True)
    pos = sd.lane_index(plan) if len(plan) else np.zeros(0, dtype=np.int64)
    x = np.zeros(sd.n_lanes)
    np.add.at(x, pos[pos >= 0], plan["gwh"].to_numpy()[pos >= 0])
    return Plan(name=name, x=x, base_cost=float(report.cost), allocation=plan,
                warnings=warnings)


def plan_from_lanes(inst: Instance, sd: ScenarioData, x: np.ndarray, name: str) -> Plan:
    """A :class:`Plan` from lane volumes (a solver's answer)."""
    x = np.where(np.abs(x) < EPS, 0.0, np.asarray(x, dtype=float))
    keep = x > 0
    allocation = sd.lanes.loc[keep].assign(gwh=x[keep]).reset_index(drop=True)
    return plan_from_allocation(inst, sd, allocation, name, strict=False)


def deterministic_plan(inst: Instance, data: ModelData, sd: ScenarioData,
                       options: SolverOptions | None = None) -> tuple[Plan, Any]:
    """The deterministic optimum (SPEC section 4) as a :class:`Plan`, and its Result."""
    from optimizer.api import solve_model
    from optimizer.model import build_model

    result = solve_model(build_model(data), data, options, analysis=False)
    if not result.has_plan:
        raise NoPlanError(f"the instance has no plan (status {result.status}); "
                          "`optimizer solve` names the conflicting rules", result)
    plan = plan_from_allocation(inst, sd, result.allocation, "deterministic", strict=False)
    return plan, result


# ----------------------------------------------------------------------------- play-out
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
    else:
        fd, g = case.delivery, case.price
    fl, gl = fd[sd.lane_supply], g[sd.lane_supply]
    cost = float(np.sum(sd.discount * fl * (gl * sd.contract_price + sd.other_unit) * x))
    if len(sd.tier_supply):
        tv = _tier_volumes(sd, x)
        ts = sd.tier_supply
        cost += float(np.sum(sd.tier_discount * fd[ts] * g[ts] * sd.tier_unit * tv))
    return cost


def _solve_spot(cost: np.ndarray, penalty: np.ndarray, short: np.ndarray,
                lane_row: np.ndarray, lane_supply: np.ndarray,
                spare: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The recourse LP of one case, for a fixed plan::

        min  sum_i cost_i y_i + sum_r penalty_r u_r
        s.t. sum_{i in row r} y_i + u_r = short_r        (each short application-period)
             sum_{i of supply s} y_i   <= spare_s        (each supply with spot lanes)
             y, u >= 0

    Returns (y, u)."""
    from scipy.sparse import csr_matrix

    from optimizer.solver.highs import solve_matrices

    n_y, n_u = len(cost), len(penalty)
    if n_y == 0:
        return np.zeros(0), short.copy()
    supplies, supply_row = np.unique(lane_supply, return_inverse=True)
    n_rows = n_u + len(supplies)
    a = csr_matrix(
        (np.ones(2 * n_y + n_u),
         (np.concatenate([lane_row, np.arange(n_u), n_u + supply_row]),
          np.concatenate([np.arange(n_y), n_y + np.arange(n_u), np.arange(n_y)]))),
        shape=(n_rows, n_y + n_u))
    inf = float("inf")
    sol = solve_matrices(
        np.concatenate([cost, penalty]), np.zeros(n_y + n_u), np.full(n_y + n_u, inf), a,
        np.concatenate([short, np.full(len(supplies), -inf)]),
        np.concatenate([short, spare[supplies]]), what="the spot purchase LP")
    return np.maximum(sol[:n_y], 0.0), np.maximum(sol[n_y:], 0.0)


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
    short = np.bincount(sd.lane_demand, weights=(1.0 - fl) * x, minlength=n_rows)
    short[short < EPS] = 0.0
    bought = np.bincount(sd.lane_demand, weights=x, minlength=n_rows)
    plan_unmet = np.where(sd.has_penalty, np.maximum(sd.demand_gwh - bought, 0.0), 0.0)
    plan_unmet[plan_unmet < EPS] = 0.0
    row_cost = sd.row_cost
    plan_unmet_cost = float(np.sum(row_cost * plan_unmet))
    spot_gwh = spot_cost = shortage_gwh = shortage_cost = 0.0
    rows: list[tuple[int, float, float, float]] = []
    if short.sum() > 0:
        total = np.bincount(sd.lane_supply, weights=x, minlength=sd.n_supplies)
        spare = np.maximum(case.capacity * sd.capacity - fd * total, 0.0)
        short_rows = np.flatnonzero(short > 0)
        row_pos = np.full(n_rows, -1)
        row_pos[short_rows] = np.arange(len(short_rows))
        lanes = np.flatnonzero((row_pos[sd.lane_demand] >= 0) & (spare[sd.lane_supply] > EPS))
        s = sd.lane_supply[lanes]
        unit = sd.discount[lanes] * (g[s] * sd.spot_price[lanes] * (1.0 + sd.spot_premium)
                                     + sd.other_unit[lanes])
        y, u = _solve_spot(unit, row_cost[short_rows], short[short_rows],
                           row_pos[sd.lane_demand[lanes]], s, spare)
        spot_gwh, spot_cost = float(y.sum()), float(unit @ y)
        shortage_gwh, shortage_cost = float(u.sum()), float(row_cost[short_rows] @ u)
        if details:
            by_row = np.bincount(row_pos[sd.lane_demand[lanes]], weights=y,
                                 minlength=len(short_rows))
            rows = [(int(r), float(short[r]), float(by_row[k]), float(u[k]))
                    for k, r in enumerate(short_rows)]
    cost = plan.base_cost + (contract - base_contract) + spot_cost + shortage_cost
    delivered = float(np.sum(fl * x))
    out: dict[str, Any] = {
        "scenario": case.name, "kind": case.kind, "group": case.group,
        "probability": case.probability, "cost": cost, "extra_cost": cost - plan.base_cost,
        "contract_cost": contract, "spot_cost": spot_cost,
        "unmet_cost": plan_unmet_cost + shortage_cost,
        "other_cost": plan.base_cost - base_contract - plan_unmet_cost,
        "delivered_gwh": delivered, "shortfall_gwh": float(short.sum()), "spot_gwh": spot_gwh,
        "unmet_gwh": float(plan_unmet.sum()) + shortage_gwh,
    }
    if details:
        apps = sd.demand["application"].tolist()
        periods = sd.demand["period"].tolist()
        out["rows"] = [{"scenario": case.name, "application": apps[r], "period": int(periods[r]),
                        "shortfall_gwh": sh, "spot_gwh": sp, "unmet_gwh": un}
                       for r, sh, sp, un in rows]
    return out


# ----------------------------------------------------------------------------- risk
def expected(costs: ArrayLike, probabilities: ArrayLike) -> float:
    return float(np.dot(np.asarray(costs, dtype=float), np.asarray(probabilities, dtype=float)))


def cvar(costs: ArrayLike, probabilities: ArrayLike, alpha: float) -> float:
    """CVaR_alpha of a discrete cost distribution: the mean cost over the worst
    ``1 - alpha`` of probability, an atom split where the tail boundary falls in
    it. Equal to the Rockafellar-Uryasev value
    ``min_eta eta + E[(cost - eta)+] / (1 - alpha)``. Probabilities must add up to 1."""
    if not 0 <= alpha < 1:
        raise ScenarioError(f"alpha must be in [0, 1), got {alpha}")
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    if abs(p.sum() - 1.0) > 1e-9:
        raise ValueError(f"probabilities add up to {p.sum():.12g}, not 1")
    tail = 1.0 - alpha
    taken = 0.0
    total = 0.0
    for i in np.argsort(-c, kind="stable"):
        if taken >= tail:
            break
        take = min(p[i], tail - taken)
        total += take * c[i]
        taken += take
    return float(total / tail)


# ----------------------------------------------------------------------------- running
def _chunks(items: list, parts: int) -> list[list]:
    n = max(1, min(len(items), 4 * parts))
    size = math.ceil(len(items) / n) if items else 1
    return [items[k:k + size] for k in range(0, len(items), size)] or [[]]


def run_parallel(func: Callable[..., list], shared: Any, chunks: list[list], extra: tuple,
                 workers: int = 1, scheduler: Any = None) -> list:
    """``func(shared, chunk, *extra)`` for every chunk, results in chunk order:
    here, on ``workers`` local processes, or on a Dask ``scheduler`` (an address
    or a ``dask.distributed.Client``)."""
    if workers < 1:
        raise ScenarioError(f"workers must be at least 1, got {workers}")
    if workers > 1 and scheduler is not None:
        raise ScenarioError("give either --workers (local processes) or --scheduler (Dask), "
                            "not both")
    if scheduler is not None:
        try:
            from dask.distributed import Client
        except ImportError:  # pragma: no cover - dask is a dependency
            raise ScenarioError("--scheduler needs dask.distributed: pip install "
                                "'dask[distributed]'") from None
        own = not isinstance(scheduler, Client)
        if own:
            try:
                client = Client(scheduler, timeout=20)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ScenarioError(f"cannot reach the Dask scheduler at {scheduler}: "
                                    f"{exc}") from None
        else:
            client = scheduler
        try:
            remote = client.scatter([shared], broadcast=True)[0]
            remote_futures = [client.submit(func, remote, chunk, *extra, pure=False)
                              for chunk in chunks]
            return [f.result() for f in remote_futures]
        finally:
            if own:
                client.close()
    if workers > 1 and len(chunks) > 1:
        ctx = multiprocessing.get_context("spawn")  # no fork of a process holding HiGHS
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures = [pool.submit(func, shared, chunk, *extra) for chunk in chunks]
            return [f.result() for f in futures]
    return [func(shared, chunk, *extra) for chunk in chunks]


def play_all(sd: ScenarioData, plans: list[Plan], cases: list[Case], details: bool = False,
             workers: int = 1, scheduler: Any = None) -> list[pd.DataFrame]:
    """Every plan played out in every case: one table per plan (rows in case
    order, columns :data:`SCENARIO_COLUMNS`, plus ``rows`` with ``details``).
    Play-outs are independent given the plans: they run in chunks of cases on
    ``workers`` processes or a Dask scheduler."""
    chunks = _chunks(cases, workers if scheduler is None else 8)
    parts = run_parallel(_play_on, (sd, plans), chunks, (details,), workers, scheduler)
    return [pd.DataFrame.from_records([rec for part in parts for rec in part[k]])
            for k in range(len(plans))]


def _play_on(shared: tuple[ScenarioData, list[Plan]], cases: list[Case],
             details: bool) -> list[list[dict[str, Any]]]:
    """Every plan in every case of a chunk (runs in worker processes and Dask workers)."""
    sd, plans = shared
    return [[play_out(sd, plan, case, details) for case in cases] for plan in plans]


# ----------------------------------------------------------------------------- analyses
def _instance(instance: str | Path | Instance | None) -> Instance:
    from optimizer.input import default_instance_path, load_instance

    if instance is None:
        instance = default_instance_path()
    return instance if isinstance(instance, Instance) else load_instance(instance)


def _seed(sample: int | None, seed: int | None) -> int | None:
    """The seed to draw with: the one given, else a fresh one (reported, so that
    the draws can be repeated)."""
    if sample is None:
        if seed is not None:
            raise ScenarioError("--seed only matters with --sample N")
        return None
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**32))
    return int(seed)


def _check_risk(weight: float, alpha: float) -> None:
    if not (0.0 <= weight <= 1.0) or weight != weight:
        raise ScenarioError(f"the CVaR weight must be in [0, 1], got {weight}")
    if not (0.0 <= alpha < 1.0) or alpha != alpha:
        raise ScenarioError(f"alpha must be in [0, 1), got {alpha}")


def _worst(table: pd.DataFrame) -> dict[str, Any] | None:
    """The dearest case with a positive probability."""
    live = table[table["probability"] > 0]
    if live.empty:
        return None
    row = live.iloc[int(np.argmax(live["cost"].to_numpy()))]
    return {"scenario": row["scenario"], "cost": float(row["cost"]),
            "probability": float(row["probability"])}


def risk_summary(table: pd.DataFrame, alpha: float) -> dict[str, Any]:
    """Expected cost, CVaR and worst case of one plan's play-out table (N-1
    what-ifs, of probability 0, do not count)."""
    live = table[table["kind"] != "n-1"]
    p = live["probability"].to_numpy(dtype=float)
    return {
        "base_cost": float(live.loc[live["kind"] == "base", "cost"].iloc[0]),
        "expected_cost": expected(live["cost"], p),
        "cvar": cvar(live["cost"].to_numpy(), p, alpha),
        "expected_spot_gwh": expected(live["spot_gwh"], p),
        "expected_unmet_gwh": expected(live["unmet_gwh"], p),
        "worst_scenario": _worst(live),
    }


def plan_mix(sd: ScenarioData, plans: Sequence[Plan], by: str) -> pd.DataFrame:
    """Share of each group (``by``: company, control, family ...) in each plan's
    total GWh over the horizon: one column per plan, groups by largest share."""
    values = sd.supplies[by].astype(object).fillna("(none)").astype(str).to_numpy()
    cols = {}
    for plan in plans:
        total = plan.x.sum()
        by_group = pd.Series(plan.x, index=values[sd.lane_supply]).groupby(level=0).sum()
        cols[plan.name] = by_group / total if total > 0 else by_group * 0.0
    df = pd.DataFrame(cols).fillna(0.0)
    df = df[(df > 1e-9).any(axis=1)]
    df = df.loc[df.max(axis=1).sort_values(ascending=False, kind="stable").index]
    df.index.name = by
    return df


@dataclass
class StressResult:
    """A plan played out in every case.

    ``scenarios``: one row per case (:data:`SCENARIO_COLUMNS`; the base case
    first, N-1 cases last with probability 0). ``shortfalls``: per case and
    application-period with a shortfall, the shortfall, spot and unmet GWh.
    ``n_minus_1``: the N-1 cases ranked, the most expensive first. ``summary``:
    the content of summary.json.
    """

    instance: str
    plan: Plan
    scenarios: pd.DataFrame
    shortfalls: pd.DataFrame
    n_minus_1: pd.DataFrame
    summary: dict[str, Any]


def stress(instance: str | Path | Instance | None = None,
           plan: str | Path | pd.DataFrame | Plan | None = None, *,
           n_minus_1: str | None = None, alpha: float = 0.95, sample: int | None = None,
           seed: int | None = None, options: SolverOptions | None = None,
           workers: int = 1, scheduler: Any = None) -> StressResult:
    """Play a plan out in every scenario (SPEC section 5, stress test).

    ``plan``: None plays the deterministic optimum; a path reads an
    ``allocation.csv``; a DataFrame has columns supplier, application, period,
    gwh. ``n_minus_1`` ("company" or "control") adds one case per group losing
    all capacity, ranked in :attr:`StressResult.n_minus_1`. ``sample`` draws that
    many cases (``seed``; see :func:`sample_cases`). ``workers`` / ``scheduler``
    run the play-outs on local processes / a Dask cluster.
    """
    _check_risk(0.0, alpha)
    t0 = time.perf_counter()
    inst = _instance(instance)
    seed = _seed(sample, seed)
    if not inst.scenarios and n_minus_1 is None:
        raise ScenarioError(f"{inst.source} has no scenarios: add a 'scenarios' section "
                            "(docs/scenarios.md) or ask for --n-1 company|control")
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd, sample, seed)
    if n_minus_1 is not None:
        cases += n_minus_1_cases(sd, n_minus_1)
    if plan is None:
        the_plan, _ = deterministic_plan(inst, data, sd, options)
    elif isinstance(plan, Plan):
        the_plan = plan
    elif isinstance(plan, pd.DataFrame):
        the_plan = plan_from_allocation(inst, sd, plan, "<plan>")
    else:
        from optimizer.check import read_plan

        the_plan = plan_from_allocation(inst, sd, read_plan(str(plan), inst), str(plan))
    table = play_all(sd, [the_plan], cases, details=True, workers=workers,
                     scheduler=scheduler)[0]
    shortfalls = pd.DataFrame.from_records(
        [r for rows in table.pop("rows") for r in rows],
        columns=["scenario", "application", "period", "shortfall_gwh", "spot_gwh", "unmet_gwh"])
    table = table[SCENARIO_COLUMNS]
    ranking = table[table["kind"] == "n-1"].drop(columns=["kind", "probability"])
    ranking = ranking.sort_values(["extra_cost", "group"], ascending=[False, True],
                                  kind="stable").reset_index(drop=True)
    ranking.insert(0, "rank", np.arange(1, len(ranking) + 1))
    risk = risk_summary(table, alpha)
    summary: dict[str, Any] = {
        "instance": inst.name,
        "plan": the_plan.name,
        "cost_unit": "USD million (discounted)",
        **risk,
        "alpha": alpha,
        "base_probability": float(table.loc[table["kind"] == "base", "probability"].iloc[0]),
        "scenario_count": int((table["kind"] != "n-1").sum()),
        "spot_premium": sd.spot_premium,
        "shortage_penalty": sd.shortage_penalty,
        "sample": {"n": sample, "seed": seed} if sample is not None else None,
        "seconds": time.perf_counter() - t0,
    }
    if n_minus_1 is not None:
        summary["n_minus_1"] = {
            "by": n_minus_1,
            "worst": ranking.iloc[0]["group"] if len(ranking) else None,
            "ranking": ranking[["rank", "group", "cost", "extra_cost", "shortfall_gwh",
                                "spot_gwh", "unmet_gwh"]].to_dict("records"),
        }
    if the_plan.warnings:
        summary["warnings"] = the_plan.warnings
    return StressResult(inst.name, the_plan, table.reset_index(drop=True), shortfalls,
                        ranking, summary)


@dataclass
class ExtensiveSolve:
    """One solve of the extensive form."""

    status: str
    objective: float | None
    x: np.ndarray | None
    size: dict[str, int]
    seconds: float
    mip: bool


def solve_extensive(data: ModelData, sd: ScenarioData, cases: list[Case], weight: float = 0.0,
                    alpha: float = 0.95, options: SolverOptions | None = None) -> ExtensiveSolve:
    """Build the extensive form (:func:`optimizer.model.scenarios.build_robust_model`),
    hand it to HiGHS, and return the first-stage contracts ``x`` per lane."""
    from optimizer.model.scenarios import build_robust_model
    from optimizer.solver.session import Session

    m = build_robust_model(data, sd, cases, weight, alpha)
    session = Session(m, data, options)
    status = session.solve()
    x = session.lane_values() if status.has_solution else None
    return ExtensiveSolve(status.status, status.objective if status.has_solution else None, x,
                          session.size, status.solve_seconds, session.is_mip)


def _wait_and_see(shared: tuple[ModelData, ScenarioData, SolverOptions | None],
                  cases: list[Case]) -> list[tuple[str, float | None]]:
    """The best plan for each case known in advance: the extensive form of that
    case alone, with probability 1. Returns (status, cost) per case."""
    data, sd, options = shared
    out = []
    for case in cases:
        res = solve_extensive(data, sd, [case.with_probability(1.0)], 0.0, 0.95, options)
        out.append((res.status, res.objective))
    return out


@dataclass
class RobustResult:
    """The robust plan and how it compares with the deterministic one.

    ``scenarios``: per case, its probability, the cost of the deterministic and
    of the robust plan played out (and spot and unmet GWh), and the
    wait-and-see cost (the best plan for that case chosen knowing it).
    ``plans``: deterministic, robust (and, when the CVaR weight is positive,
    the expected-cost plan used for VSS and EVPI). ``tables``: each plan's
    play-out table. ``summary``: the content of summary.json.
    """

    instance: str
    status: str
    objective: float | None
    weight: float
    alpha: float
    plans: dict[str, Plan]
    tables: dict[str, pd.DataFrame]
    scenarios: pd.DataFrame
    summary: dict[str, Any]
    sd: ScenarioData | None = None

    @property
    def has_plan(self) -> bool:
        return self.objective is not None

    def mix(self, by: str) -> pd.DataFrame:
        """Each group's share in the deterministic and the robust plan."""
        assert self.sd is not None
        return plan_mix(self.sd, [self.plans["deterministic"], self.plans["robust"]], by)


def robust(instance: str | Path | Instance | None = None, *, weight: float = 0.0,
           alpha: float = 0.95, sample: int | None = None, seed: int | None = None,
           options: SolverOptions | None = None, evpi: bool = True, workers: int = 1,
           scheduler: Any = None) -> RobustResult:
    """The robust plan (SPEC section 5): minimize ``(1 - weight) E[cost] + weight
    CVaR_alpha[cost]`` over plans that meet demand and obey every rule, each
    case's shortfall bought spot or left unmet. Also plays the deterministic
    optimum out, and computes VSS and EVPI for the expected-cost plan
    (weight 0; solved as well when ``weight`` > 0). ``evpi=False`` skips the
    wait-and-see solves (one per case); they are independent and run on
    ``workers`` / ``scheduler`` like play-outs.
    """
    _check_risk(weight, alpha)
    t0 = time.perf_counter()
    inst = _instance(instance)
    seed = _seed(sample, seed)
    if not inst.scenarios:
        raise ScenarioError(f"{inst.source} has no scenarios: a robust plan needs a "
                            "'scenarios' section (docs/scenarios.md)")
    data = prepare(inst)
    sd = scenario_data(data)
    cases = cases_for(inst, sd, sample, seed)
    det, _ = deterministic_plan(inst, data, sd, options)
    sol = solve_extensive(data, sd, cases, weight, alpha, options)
    if sol.x is None:
        raise NoPlanError(f"the robust model has no plan (status {sol.status})")
    plans = {"deterministic": det, "robust": plan_from_lanes(inst, sd, sol.x, "robust")}
    sol0 = sol
    if weight > 0:
        sol0 = solve_extensive(data, sd, cases, 0.0, alpha, options)
        if sol0.x is None:
            raise NoPlanError(f"the expected-cost robust model has no plan "
                              f"(status {sol0.status})")
        plans["expected-cost"] = plan_from_lanes(inst, sd, sol0.x, "expected-cost")
    names = list(plans)
    played = play_all(sd, [plans[n] for n in names], cases, workers=workers,
                      scheduler=scheduler)
    tables = {n: t[SCENARIO_COLUMNS] for n, t in zip(names, played, strict=True)}
    risks = {n: risk_summary(t, alpha) for n, t in tables.items()}
    e0 = risks["expected-cost" if weight > 0 else "robust"]["expected_cost"]

    probs = np.array([c.probability for c in cases])
    ws = np.full(len(cases), np.nan)
    ws_status: list[str] = []
    wait_and_see: float | None = None
    if evpi:
        todo = [c for c in cases if c.probability > 0 and c.kind != "base"]
        chunks = _chunks(todo, workers if scheduler is None else 8)
        got = [r for part in run_parallel(_wait_and_see, (data, sd, options), chunks, (),
                                          workers, scheduler) for r in part]
        by_name = {c.name: r for c, r in zip(todo, got, strict=True)}
        for k, c in enumerate(cases):
            if c.kind == "base":
                ws[k] = det.base_cost
            elif c.name in by_name:
                status, value = by_name[c.name]
                ws_status.append(status)
                ws[k] = np.nan if value is None else value
        live = probs > 0
        wait_and_see = float(np.dot(probs[live], ws[live]))
    scen = pd.DataFrame({
        "scenario": [c.name for c in cases], "kind": [c.kind for c in cases],
        "probability": probs,
        "deterministic_cost": tables["deterministic"]["cost"].to_numpy(),
        "robust_cost": tables["robust"]["cost"].to_numpy(),
        "robust_spot_gwh": tables["robust"]["spot_gwh"].to_numpy(),
        "robust_unmet_gwh": tables["robust"]["unmet_gwh"].to_numpy(),
        "deterministic_spot_gwh": tables["deterministic"]["spot_gwh"].to_numpy(),
        "deterministic_unmet_gwh": tables["deterministic"]["unmet_gwh"].to_numpy(),
    })
    if weight > 0:
        scen["expected_cost_plan_cost"] = tables["expected-cost"]["cost"].to_numpy()
    if evpi:
        scen["wait_and_see_cost"] = ws
    rob = risks["robust"]
    summary: dict[str, Any] = {
        "instance": inst.name,
        "status": sol.status,
        "objective": sol.objective,
        "objective_unit": "USD million (discounted)",
        "cvar_weight": weight,
        "alpha": alpha,
        "expected_cost": rob["expected_cost"],
        "cvar": rob["cvar"],
        "vss": risks["deterministic"]["expected_cost"] - e0,
        "evpi": e0 - wait_and_see if evpi else None,
        "wait_and_see_cost": wait_and_see if evpi else None,
        "base_probability": float(probs[[c.kind == "base" for c in cases]].sum()),
        "scenario_count": len(cases),
        "plans": risks,
        "sample": {"n": sample, "seed": seed} if sample is not None else None,
        "spot_premium": sd.spot_premium,
        "shortage_penalty": sd.shortage_penalty,
        "model_size": sol.size,
        "mip": sol.mip,
        "seconds": time.perf_counter() - t0,
    }
    if weight > 0:
        summary["vss_evpi_plan"] = "expected-cost (cvar weight 0)"
    bad = [s for s in ws_status if s != "optimal"]
    if bad:
        summary["warnings"] = [f"{len(bad)} wait-and-see solve(s) ended with status "
                               f"{', '.join(sorted(set(bad)))}: EVPI is approximate"]
    return RobustResult(inst.name, sol.status, sol.objective, weight, alpha, plans, tables,
                        scen, summary, sd)


# ----------------------------------------------------------------------------- files
def write_stress(res: StressResult, out: str | Path) -> list[Path]:
    """scenarios.csv, shortfalls.csv, allocation.csv (the plan played out),
    n_minus_1.csv (with --n-1) and summary.json."""
    from optimizer.report.files import OutputDir

    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("scenarios.csv", res.scenarios)
        od.csv("shortfalls.csv", res.shortfalls)
        od.csv("allocation.csv", res.plan.allocation)
        if not res.n_minus_1.empty:
            od.csv("n_minus_1.csv", res.n_minus_1)
        return od.publish()
    except BaseException:
        od.discard()
        raise


def write_robust(res: RobustResult, out: str | Path) -> list[Path]:
    """summary.json, allocation.csv (the robust plan), allocation_deterministic.csv,
    scenarios.csv (both plans per case, and the wait-and-see cost)."""
    from optimizer.report.files import OutputDir

    od = OutputDir(out)
    try:
        od.json("summary.json", res.summary)
        od.csv("allocation.csv", res.plans["robust"].allocation)
        od.csv("allocation_deterministic.csv", res.plans["deterministic"].allocation)
        if "expected-cost" in res.plans:
            od.csv("allocation_expected_cost.csv", res.plans["expected-cost"].allocation)
        od.csv("scenarios.csv", res.scenarios)
        return od.publish()
    except BaseException:
        od.discard()
        raise
