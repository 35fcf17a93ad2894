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
from optimizer.input.instance import Instance
from optimizer.input.schema import Distribution, Factor, Scenario
from optimizer.scenarios.errors import ScenarioError

#: groupings N-1 can knock out, one group at a time
N_MINUS_1_BY = ("company", "control")


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
