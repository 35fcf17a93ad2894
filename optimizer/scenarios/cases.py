"""The cases a plan is played out in (SPEC section 5): the file's scenarios,
samples of them, and N-1 failures.

A *scenario* multiplies the capacity and/or the ex-works price of groups of
suppliers in some periods. Resolved on the model data it becomes a
:class:`~optimizer.data_scenarios.Case`: one capacity factor and one price
factor per (supplier, period). The probability not given to any scenario is the
*base case* (nothing changes), and it counts in every expectation.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from optimizer.data_scenarios import Case, ScenarioData, base_case
from optimizer.input import default_instance_path, load_instance
from optimizer.input.fields import ORIGIN
from optimizer.input.instance import Instance
from optimizer.input.schema_scenarios import (
    DemandFactor,
    Distribution,
    Factor,
    PriceAdd,
    Scenario,
)
from optimizer.scenarios.errors import ScenarioError

#: groupings N-1 can knock out, one group at a time
N_MINUS_1_BY = ("company", "control", ORIGIN)


def _in_window(periods: np.ndarray, scenario: Scenario) -> np.ndarray:
    """Which of ``periods`` lie in the scenario's ``from``..``until``."""
    window = np.ones(len(periods), dtype=bool)
    if scenario.from_ is not None:
        window &= periods >= scenario.from_
    if scenario.until is not None:
        window &= periods <= scenario.until
    return window


def _window(sd: ScenarioData, scenario: Scenario) -> np.ndarray:
    return _in_window(sd.supplies["period"].to_numpy(), scenario)


def _members(sd: ScenarioData, scenario: Scenario, f: Factor) -> np.ndarray:
    values = sd.supplies[f.by].astype(object).to_numpy()
    return _window(sd, scenario) & np.isin(values, list(f.group))


def _origin_share(sd: ScenarioData, scenario: Scenario, f: Factor | PriceAdd) -> np.ndarray:
    """q per supply (0 outside the scenario's window)."""
    assert f.material is not None and f.stage is not None  # the schema requires them
    holds = sd.content_kg.get(f.material, np.zeros(sd.n_supplies)) > 0
    return np.where(_window(sd, scenario) & holds,
                    sd.origin_share(f.material, f.stage, f.group), 0.0)


def _demand_rows(sd: ScenarioData, scenario: Scenario, f: DemandFactor) -> np.ndarray:
    """The demand rows a demand factor scales: its applications (all when it
    names none), in the scenario's periods."""
    hit = _in_window(sd.demand["period"].to_numpy(), scenario)
    if f.applications is not None:
        hit &= sd.demand["application"].isin(list(f.applications)).to_numpy()
    return hit


def ancestors(inst: Instance, scenario: Scenario) -> list[Scenario]:
    """The scenarios ``scenario`` branches from (``parent``, its parent, ...),
    the root's child first; empty for a scenario that branches from the base case."""
    by_name = {s.name: s for s in inst.scenarios}
    chain: list[Scenario] = []
    up = scenario.parent
    while up is not None and up in by_name and by_name[up] not in chain:
        chain.append(by_name[up])
        up = by_name[up].parent
    return chain[::-1]


def resolve(sd: ScenarioData, scenario: Scenario, values: Sequence[float] | None = None,
            *, name: str | None = None, probability: float | None = None,
            kind: str = "scenario", parents: Sequence[Scenario] = ()) -> Case:
    """The factors of ``scenario`` per supply, on top of those of its
    ``parents`` (:func:`ancestors`; SPEC section 10: a scenario follows its
    parent's data and multiplies its own factors on top from its ``from``).
    Parents' factors must be numbers."""
    own = resolve_own(sd, scenario, values, name=name, probability=probability, kind=kind)
    if not parents:
        return own
    path = resolve_own(sd, parents[0], kind="parent")
    for sc in parents[1:]:
        path = path.then(resolve_own(sd, sc, kind="parent"))
    return path.then(own)


def resolve_own(sd: ScenarioData, scenario: Scenario, values: Sequence[float] | None = None,
                *, name: str | None = None, probability: float | None = None,
                kind: str = "scenario") -> Case:
    """The factors of ``scenario`` itself per supply (not its parent's).
    ``values`` gives a number for each factor in :attr:`Scenario.factors`
    order (the draws of a sample); otherwise every factor must be a number.
    Factors matching one supplier multiply.

    A demand factor (SPEC section 10) multiplies the demand of its
    applications in the scenario's periods (:attr:`Case.demand`, per demand
    row). By origin (SPEC section 7), with q a supply's share of the material at the
    stage from the group's countries: a capacity factor f scales its capacity by
    ``1 - q (1 - f)``; a price added ``usd_per_kg`` adds ``usd_per_kg x
    kg_per_kwh x q`` USD/kWh to its ex-works price (after price factors scale it)."""
    capacity = np.ones(sd.n_supplies)
    price = np.ones(sd.n_supplies)
    added: np.ndarray | None = None
    demand: np.ndarray | None = None
    for j, (which, f) in enumerate(scenario.factors):
        if values is not None:
            factor = float(values[j])
        elif isinstance(f.factor, Distribution):
            if kind == "parent":
                raise ScenarioError(
                    f"scenario '{scenario.name}' draws a factor from {f.factor.describe()} "
                    "and other scenarios branch from it (parent): a parent's factors must "
                    "be numbers")
            raise ScenarioError(
                f"scenario '{scenario.name}' draws a factor from {f.factor.describe()}: "
                "run with --sample N (and --seed S to repeat the draws)")
        else:
            factor = float(f.factor)
        if isinstance(f, DemandFactor):
            demand = (np.ones(len(sd.demand)) if demand is None else demand) * np.where(
                _demand_rows(sd, scenario, f), factor, 1.0)
        elif isinstance(f, PriceAdd):
            kg = sd.content_kg.get(f.material, np.zeros(sd.n_supplies))
            added = (0.0 if added is None else added) + factor * kg * _origin_share(
                sd, scenario, f)
        elif f.by == ORIGIN:
            capacity *= 1.0 - _origin_share(sd, scenario, f) * (1.0 - factor)
        else:
            hit = _members(sd, scenario, f)
            (capacity if which == "capacity" else price)[hit] *= factor
    return Case(name or scenario.name, scenario.probability if probability is None
                else probability, capacity, price, kind=kind,
                draws=tuple(float(v) for v in values) if values is not None else (),
                price_add=added, demand=demand)


def base_probability(inst: Instance) -> float:
    """The probability left to the base case: 1 - sum of the scenarios'."""
    return max(0.0, 1.0 - math.fsum(s.probability for s in inst.scenarios))


def file_cases(inst: Instance, sd: ScenarioData) -> list[Case]:
    """The base case and every scenario of the file, with their probabilities."""
    return [base_case(sd, base_probability(inst)),
            *(resolve(sd, s, parents=ancestors(inst, s)) for s in inst.scenarios)]


def _draw(dist: Distribution, rng: np.random.Generator) -> float:
    p = dist.params
    if dist.kind == "uniform":
        return float(rng.uniform(p[0], p[1])) if p[1] > p[0] else float(p[0])
    if dist.kind == "triangular":
        return float(rng.triangular(p[0], p[1], p[2])) if p[2] > p[0] else float(p[0])
    return max(0.0, float(rng.normal(p[0], p[1]))) if p[1] > 0 else float(p[0])


#: the most outcomes ``--sample`` may draw
MAX_SAMPLE = 100_000


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
    if n > MAX_SAMPLE:
        raise ScenarioError(f"--sample must be at most {MAX_SAMPLE:,} (each drawn outcome is "
                            f"a case to play out, and the robust plan holds a copy of the "
                            f"model's second stage per case), got {n:,}")
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
                             kind="sample", parents=ancestors(inst, sc)))
    out = [base_case(sd, counts[0] / n)]
    for j, sc in enumerate(scenarios, start=1):
        if counts[j]:
            out.append(resolve(sd, sc, probability=counts[j] / n,
                               parents=ancestors(inst, sc)))
    return out + drawn


def n_minus_1_cases(sd: ScenarioData, by: str, material: str | None = None,
                    stage: str | None = None) -> list[Case]:
    """One case per company (``by="company"``) or controlling country
    (``by="control"``) that loses all its capacity in every period; with
    ``by="origin"``, one case per country some supplier draws ``material`` from
    at ``stage``, which stops supplying it: a supplier drawing a share q from it
    keeps ``1 - q`` of its capacity (a plant short of graphite makes fewer cells).
    Probability 0: N-1 cases are what-ifs, outside every expectation."""
    if by not in N_MINUS_1_BY:
        raise ScenarioError(f"--n-1 takes {' or '.join(N_MINUS_1_BY)}, got '{by}'")
    if by == ORIGIN:
        return _origin_cases(sd, material, stage)
    if material is not None or stage is not None:
        raise ScenarioError("--material and --stage go with --n-1 origin")
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


def instance_of(instance: str | Path | Instance | None) -> Instance:
    """The instance named by a path, given, or (None) the bundled default."""
    if instance is None:
        instance = default_instance_path()
    return instance if isinstance(instance, Instance) else load_instance(instance)


def draw_seed(sample: int | None, seed: int | None) -> int | None:
    """The seed to draw with: the one given, else a fresh one (reported, so that
    the draws can be repeated)."""
    if sample is None:
        if seed is not None:
            raise ScenarioError("--seed only matters with --sample N")
        return None
    if seed is None:
        return int(np.random.default_rng().integers(0, 2**32))
    return int(seed)


def _origin_cases(sd: ScenarioData, material: str | None, stage: str | None) -> list[Case]:
    """N-1 by origin: each country that supplies ``material`` at ``stage`` stops."""
    if material is None or stage is None:
        raise ScenarioError("--n-1 origin needs --material and --stage (whose origin "
                            "countries fail one at a time)")
    known = sorted({m for m, _ in sd.origin_shares} | set(sd.content_kg))
    if material not in sd.content_kg:
        raise ScenarioError(f"--material: no material '{material}' in this instance"
                            + (f" (it has {', '.join(known)})" if known else
                               " (it declares no materials)"))
    shares = sd.origin_shares.get((material, stage))
    if not shares:
        raise ScenarioError(f"no origins of {material} at stage '{stage}' in this instance: "
                            "nothing to fail")
    holds = sd.content_kg[material] > 0
    out = []
    for country in sorted(shares):
        q = np.where(holds, shares[country], 0.0)
        if not (q > 0).any():
            continue
        out.append(Case(f"N-1 origin {material} {stage} {country}", 0.0, 1.0 - q,
                        np.ones(sd.n_supplies), kind="n-1", group=country))
    return out
