"""Upstream materials as numbers per lane: the mass of a material a purchase
holds and the share of it from each country at a stage (SPEC section 7), and
the rule scopes that measure something other than GWh (rules by origin, in kt
of a material; share rules with ``measure: spend``, in USD million). Data
layer: no Pyomo.

For a lane i (supplier s, chemistry c, period t), material m and stage k:

    kg_i   = content[c, m] (kg per kWh = kt per GWh)
    q_i(G) = the sum over countries g in G of origins[s, m, k, g, t]
             (rows with a period override the rows without for that period)

A rule by origin over countries G then has V = sum_i kg_i q_i(G) x_i and X =
sum_i kg_i x_i over the covered lanes (kt of the material).
"""

from __future__ import annotations

from collections.abc import Collection
from functools import cache, cached_property

import numpy as np
import pandas as pd

from optimizer.input.instance import Instance
from optimizer.input.schema import GROUPED_KINDS, Rule
from optimizer.scopes import RuleScope


class Upstream:
    """Per-lane material content and origin shares of one instance's lanes."""

    def __init__(self, inst: Instance, lanes: pd.DataFrame):
        self.inst = inst
        self.lanes = lanes
        self._kg = cache(self._kg_of)
        self._shares = cache(self._shares_of)

    def kg(self, material: str) -> np.ndarray:
        """kt of ``material`` per GWh bought, per lane."""
        return self._kg(material)

    def _kg_of(self, material: str) -> np.ndarray:
        kg = {c.chemistry: c.kg_per_kwh for c in self.inst.content if c.material == material}
        return self.lanes["chemistry"].map(kg).fillna(0.0).to_numpy(dtype=float)

    def shares(self, material: str, stage: str) -> dict[str, np.ndarray]:
        """Country -> share of ``material`` at ``stage`` from it, per lane."""
        return self._shares(material, stage)

    def _shares_of(self, material: str, stage: str) -> dict[str, np.ndarray]:
        rows = [(o.supplier, o.period, o.country, o.share) for o in self.inst.origins
                if o.material == material and o.stage == stage]
        if not rows or not len(self.lanes):
            return {}
        codes, known = self._supplier_codes
        position = {s: i for i, s in enumerate(known)}
        countries = sorted({r[2] for r in rows})
        column = {c: j for j, c in enumerate(countries)}
        rows = [r for r in rows if r[0] in position]  # suppliers without lanes: no effect
        # general rows: one line per supplier; dated rows: one line per (supplier, period)
        general = np.zeros((len(known), len(countries)))
        dated_key: dict[tuple[int, int], int] = {}
        dated_rows: list[tuple[int, int, float]] = []
        for supplier, period, country, share in rows:
            if period is None:
                general[position[supplier], column[country]] += share
            else:
                k = dated_key.setdefault((position[supplier], int(period)), len(dated_key))
                dated_rows.append((k, column[country], share))
        q = general[codes]
        if dated_key:
            dated = np.zeros((len(dated_key), len(countries)))
            for k, j, share in dated_rows:
                dated[k, j] += share
            keys = pd.MultiIndex.from_tuples(list(dated_key))
            at = keys.get_indexer(pd.MultiIndex.from_arrays(
                [codes, self.lanes["period"].to_numpy(dtype=np.int64)]))
            hit = at >= 0
            q[hit] = dated[at[hit]]
        return {c: np.ascontiguousarray(q[:, j]) for c, j in column.items()}

    @cached_property
    def _supplier_codes(self) -> tuple[np.ndarray, list[str]]:
        """Per lane, the position of its supplier in the list of suppliers with lanes."""
        codes, known = pd.factorize(self.lanes["supplier"].to_numpy(dtype=object))
        return np.asarray(codes, dtype=np.int64), [str(s) for s in known]

    def share_of(self, material: str, stage: str, countries: Collection[str]) -> np.ndarray:
        """q(G): the share of ``material`` at ``stage`` from ``countries``, per lane."""
        q = np.zeros(len(self.lanes))
        for country, share in self.shares(material, stage).items():
            if country in countries:
                q = q + share
        return q

    def countries(self, material: str, stage: str) -> list[str]:
        """Countries some supplier draws ``material`` from at ``stage``."""
        return sorted(c for c, q in self.shares(material, stage).items() if (q > 0).any())


def measured_scopes(rule: Rule, t: int, app: str | None, apps: tuple[str, ...],
                    covered: np.ndarray, values: list[str] | None, lanes: pd.DataFrame,
                    upstream: Upstream) -> list[RuleScope]:
    """The scopes of a rule by origin (kt of a material) or with ``measure:
    spend`` (USD million of landed cost) in one period and coverage."""
    if rule.by_origin:
        assert rule.material is not None and rule.stage is not None
        kg = upstream.kg(rule.material)
        covered = covered[kg[covered] > 0]  # purchases that hold the material
        weight = kg
        measure = "kt"
        coverage: tuple = (t, apps, f"kt:{rule.material}")

        def share(group: Collection[str]) -> np.ndarray:
            assert rule.material is not None and rule.stage is not None
            return upstream.share_of(rule.material, rule.stage, group)
    else:
        weight = lanes["unit_cost"].to_numpy(dtype=float)
        measure = "spend"
        coverage = (t, apps, "spend")
        by_col = lanes[str(rule.by)].to_numpy()

        def share(group: Collection[str]) -> np.ndarray:
            return np.isin(by_col, list(group)).astype(float)

    covered_w = weight[covered]
    if rule.kind in GROUPED_KINDS:
        names = list(rule.group) if rule.group is not None else list(values or [])
        groups, weights = {}, {}
        for g in names:
            w = weight[covered] * share([g])[covered]
            groups[g] = covered[w > 0]
            weights[g] = w[w > 0]
        return [RuleScope(rule, t, app, None, covered[:0], covered, coverage, groups=groups,
                          measure=measure, covered_weights=covered_w, group_weights=weights)]
    pooled = [(None, list(rule.group))] if rule.group is not None else \
        [(v, [v]) for v in values or []]
    out = []
    for name, group in pooled:
        w = weight[covered] * share(group)[covered]
        out.append(RuleScope(rule, t, app, name, covered[w > 0], covered, coverage,
                             measure=measure, member_weights=w[w > 0],
                             covered_weights=covered_w))
    return out
