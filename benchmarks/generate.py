"""Seeded generator of synthetic battery-sourcing instances (SPEC format 1).

    from benchmarks.generate import generate, write
    inst = generate(seed=1, suppliers=2000, applications=8, periods=10)
    path = write(inst, Path("out/big"))          # out/big/instance.yaml + CSV tables

or from the shell::

    python benchmarks/generate.py --seed 1 --suppliers 2000 --applications 8 \
        --periods 10 --out DIR [--no-rules] [--features fixed_cost,min_order,count,tiers]
        [--inline]

The same arguments always give the same instance (``numpy.random.default_rng(seed)``).

Structure (meant to look like a real cell market, not to be one):

* ~11 countries in blocs (china, korea, japan, usmca, eu; one country in no
  bloc, one without a name); companies own several plants, mostly at home,
  some abroad (then ``control`` is the home country and differs from
  ``country``), company sizes are skewed so a few are large;
* chemistries lfp/nmc (family lithium), naion (sodium), zn (zinc);
  applications allow subsets (EV ones mostly lithium, storage ones the
  alternative families too); about half have an ``unmet_penalty``;
* capacity and price per period: scalar, a full ``capacity``/``prices`` table,
  or a scalar with a few table overrides (some capacity overrides are 0);
  availability windows (``available_from``/``available_until``, sometimes a
  year that is not a period); scalar freight for most suppliers and ``lanes``
  overrides for ~12% of supplier-application pairs; stacked ``tariffs`` with
  chemistry, family and period filters; ``carbon_intensity`` on every supplier,
  ``carbon_price`` and ``discount_rate``; declared attributes ``risk_score`` and
  ``recycled_content`` (numeric) and ``region`` (text);
* demand per application and period is a fraction of the capacity eligible for
  it (a few pairs left out, meaning 0), so most instances are feasible; the
  rules are random and are *not* guaranteed to be satisfiable.

Rules (``rules=True``): a company cap (no group: every company), a cap on
CN-controlled cells, a sodium/zinc floor on storage applications, a per-country
cap per application (``per_application``), a cap on the china bloc restricted to
the later periods, a floor share of usmca production in the later periods, a
``max_volume`` on the largest company and a ``min_volume`` on the usmca bloc, an
``exclude`` (CN-controlled cells out of defense, or the largest company out of
one application), ``max_average`` on carbon_intensity (all) and risk_score
(some applications), ``min_average`` on recycled_content, and sometimes a cap
on the text attribute ``region``.

``features`` adds the SPEC features that make the model a MIP: ``fixed_cost``
and ``min_order`` (supplier columns), ``count``
(``min_count``/``max_count`` rules) and ``tiers`` (a ``price_tiers`` table, some
with falling prices, some per period). The default is none.
"""

from __future__ import annotations

import argparse
import csv as _csv
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

FEATURES = frozenset({"fixed_cost", "min_order", "count", "tiers"})

#: tables written as CSV files beside instance.yaml by ``write(csv=True)``
CSV_TABLES = ("suppliers", "capacity", "prices", "demand", "lanes", "tariffs", "price_tiers",
              "origins")

#: column order in the CSV files (declared attributes follow, in first-seen order)
COLUMN_ORDER = ["id", "supplier", "material", "stage", "application", "origin", "company",
                "country", "control",
                "chemistry", "family", "period", "from", "until", "from_gwh", "capacity", "gwh",
                "price", "rate", "freight", "fixed_cost", "min_order", "carbon_intensity",
                "available_from", "available_until"]

# id, name, bloc, weight (share of companies), price factor, carbon (kg/kWh), risk, region
COUNTRIES = [
    ("CN", "China", "china", 0.36, 0.82, 95.0, 7.0, "asia"),
    ("KR", "South Korea", "korea", 0.12, 1.00, 70.0, 3.5, "asia"),
    ("JP", "Japan", "japan", 0.08, 1.05, 62.0, 2.5, "asia"),
    ("US", "United States", "usmca", 0.12, 1.15, 55.0, 2.0, "americas"),
    ("CA", "Canada", "usmca", 0.05, 1.12, 32.0, 2.0, "americas"),
    ("MX", "Mexico", "usmca", 0.04, 1.00, 66.0, 4.0, "americas"),
    ("DE", "Germany", "eu", 0.06, 1.20, 45.0, 2.0, "europe"),
    ("PL", "Poland", "eu", 0.05, 1.05, 82.0, 3.0, "europe"),
    ("HU", "Hungary", "eu", 0.05, 1.00, 60.0, 3.5, "europe"),
    ("SE", None, "eu", 0.03, 1.18, 20.0, 1.5, "europe"),        # a country without a name
    ("ID", "Indonesia", None, 0.04, 0.90, 90.0, 5.5, "asia"),   # a country in no bloc
]

CHEMISTRIES = [  # id, family, share of plants, base price USD/kWh, carbon factor
    ("lfp", "lithium", 0.38, 62.0, 0.9),
    ("nmc", "lithium", 0.34, 88.0, 1.1),
    ("naion", "sodium", 0.16, 70.0, 0.8),
    ("zn", "zinc", 0.12, 105.0, 0.6),
]

# id, allowed chemistries, is storage, may have an unmet_penalty
APP_TEMPLATES = [
    ("ev_standard", ["lfp", "nmc", "naion"], False, True),
    ("grid_storage", ["lfp", "naion", "zn"], True, True),
    ("ev_long", ["nmc"], False, True),
    ("long_duration", ["lfp", "naion", "zn"], True, True),
    ("defense", ["nmc", "lfp"], False, False),
    ("commercial_vehicle", ["lfp", "nmc"], False, True),
    ("two_wheeler", ["lfp", "naion"], False, True),
    ("backup_power", ["lfp", "naion", "zn"], True, True),
]


def _r(x: float, nd: int = 3) -> float:
    return float(round(float(x), nd))


def generate(seed: int, suppliers: int, applications: int, periods: int, *,
             features: set[str] | frozenset[str] = frozenset(), rules: bool = True) -> dict:
    """A random instance as a plain dict in the YAML layout (every table inline).

    ``suppliers`` x ``applications`` x ``periods`` bounds the number of
    variables; about 45% of those triples are eligible lane-periods.
    """
    features = frozenset(features)
    if features - FEATURES:
        raise ValueError(f"unknown features {sorted(features - FEATURES)}; "
                         f"known {sorted(FEATURES)}")
    if suppliers < 1 or applications < 1 or periods < 1:
        raise ValueError("suppliers, applications and periods must be >= 1")
    rng = np.random.default_rng(seed)
    S, A, T = int(suppliers), int(applications), int(periods)

    # ---- periods, settings --------------------------------------------------
    step = 2 if rng.random() < 0.2 else 1
    first = 2026 + int(rng.integers(0, 3))
    years = [first + step * k for k in range(T)]
    late = years[T // 2:] if T > 1 else years          # "later periods" for period rules

    countries = []
    for cid, name, bloc, *_ in COUNTRIES:
        row: dict[str, Any] = {"id": cid}
        if name is not None:
            row["name"] = name
        if bloc is not None:
            row["bloc"] = bloc
        countries.append(row)
    cinfo = {c[0]: c for c in COUNTRIES}
    cids = [c[0] for c in COUNTRIES]
    cw = np.array([c[3] for c in COUNTRIES])
    cw /= cw.sum()
    chem = {c[0]: c for c in CHEMISTRIES}
    chw = np.array([c[2] for c in CHEMISTRIES])
    chw /= chw.sum()

    # ---- applications --------------------------------------------------------
    apps, storage, app_chems = [], [], {}
    for k in range(A):
        base_id, chems, is_storage, may_unmet = APP_TEMPLATES[k % len(APP_TEMPLATES)]
        aid = base_id if k < len(APP_TEMPLATES) else f"{base_id}_{k // len(APP_TEMPLATES) + 1}"
        chems = list(chems)
        if k >= len(APP_TEMPLATES):                  # later copies: a random non-empty subset
            keep = [c for c in chems if rng.random() < 0.75]
            chems = keep or [chems[int(rng.integers(len(chems)))]]
        row = {"id": aid, "chemistries": chems}
        if may_unmet and rng.random() < 0.5:
            row["unmet_penalty"] = _r(rng.uniform(180, 400), 1)
        apps.append(row)
        app_chems[aid] = set(chems)
        if is_storage:
            storage.append(aid)

    # ---- companies and suppliers -------------------------------------------
    n_comp = max(2, int(np.rint(S / rng.uniform(3.0, 5.0))))
    n_comp = min(n_comp, S)
    comp_home = [cids[i] for i in rng.choice(len(cids), size=n_comp, p=cw)]
    comp_size = np.minimum(rng.pareto(1.2, size=n_comp) + 1.0, 25.0)  # skewed: a few big ones
    comp_names = [f"co{j:0{len(str(n_comp))}d}" for j in range(n_comp)]
    owner = np.concatenate([np.arange(n_comp),      # every company owns at least one plant
                            rng.choice(n_comp, size=S - n_comp, p=comp_size / comp_size.sum())])
    rng.shuffle(owner)
    # chemistries drawn up front; every application gets at least one plant it may use
    plant_chem = [CHEMISTRIES[k][0] for k in rng.choice(len(CHEMISTRIES), size=S, p=chw)]
    for k, a in enumerate(apps):
        if not app_chems[a["id"]] & set(plant_chem):
            plant_chem[k % S] = a["chemistries"][0]
    width = len(str(S))
    sup_rows, cap_rows, price_rows = [], [], []
    cap_of: dict[tuple[str, int], float] = {}        # effective capacity, for demand sizing
    window: dict[str, tuple[int, int]] = {}
    sup_chem: dict[str, str] = {}
    for i in range(S):
        sid = f"S{i:0{width}d}"
        j = int(owner[i])
        home = comp_home[j]
        country = home if rng.random() < 0.72 else cids[int(rng.choice(len(cids), p=cw))]
        ch = plant_chem[i]
        _, _, _, _, pf, carbon0, risk0, region = cinfo[country]
        row = {"id": sid, "company": comp_names[j], "country": country}
        if home != country or rng.random() < 0.1:    # explicit control, sometimes redundant
            row["control"] = home
        row["chemistry"] = ch
        # capacity: GWh per period, lognormal size, growth over the periods
        size = float(np.exp(rng.normal(np.log(8.0), 0.8))) * (1.0 + 0.3 * comp_size[j] / 5)
        growth = rng.uniform(-0.02, 0.15)
        caps = [size * (1 + growth) ** k for k in range(T)]
        mode = rng.random()
        eff_caps = list(caps)
        if mode < 0.5:
            row["capacity"] = _r(size)
            eff_caps = [_r(size)] * T
        elif mode < 0.85:
            ramp = int(rng.integers(1, max(1, T // 2) + 1)) if rng.random() < 0.45 else 0
            for k, t in enumerate(years):
                if k < ramp and (k < T - 1):         # not built yet: a 0 row or no row at all
                    eff_caps[k] = 0.0
                    if rng.random() < 0.5:
                        cap_rows.append({"supplier": sid, "period": t, "gwh": 0.0})
                    continue
                eff_caps[k] = _r(caps[k])
                cap_rows.append({"supplier": sid, "period": t, "gwh": eff_caps[k]})
        else:                                        # scalar + a few overrides
            row["capacity"] = _r(size)
            eff_caps = [_r(size)] * T
            for k, t in enumerate(years):
                if rng.random() < 0.3:
                    v = 0.0 if rng.random() < 0.2 else _r(caps[k] * rng.uniform(0.7, 1.3))
                    cap_rows.append({"supplier": sid, "period": t, "gwh": v})
                    eff_caps[k] = v
        # price: USD/kWh ex works, falling over time
        p0 = chem[ch][3] * pf * rng.uniform(0.85, 1.2)
        fall = rng.uniform(0.0, 0.06)
        prices = [p0 * (1 - fall) ** (step * k) for k in range(T)]
        mode = rng.random()
        if mode < 0.55:
            row["price"] = _r(p0, 2)
        elif mode < 0.8:                             # table only, every period
            for k, t in enumerate(years):
                price_rows.append({"supplier": sid, "period": t, "price": _r(prices[k], 2)})
        else:                                        # scalar + overrides
            row["price"] = _r(p0, 2)
            for k, t in enumerate(years):
                if rng.random() < 0.4:
                    price_rows.append({"supplier": sid, "period": t, "price": _r(prices[k], 2)})
        if rng.random() < 0.7:
            row["freight"] = _r(rng.uniform(0.3, 6.0), 2)
        row["carbon_intensity"] = _r(carbon0 * chem[ch][4] * rng.uniform(0.75, 1.25), 1)
        lo, hi = years[0], years[-1]
        if T > 1 and rng.random() < 0.25:
            lo = int(rng.integers(years[0] + 1, years[-1] + 1))
            row["available_from"] = lo
        if T > 1 and rng.random() < 0.15:
            hi = int(rng.integers(lo, years[-1] + 1))
            row["available_until"] = hi
        window[sid] = (lo, hi)
        row["risk_score"] = _r(min(10.0, max(0.0, risk0 + rng.normal(0, 1.2))), 1)
        row["recycled_content"] = _r(rng.uniform(0.0, 0.4), 3)
        row["region"] = region
        if "fixed_cost" in features and rng.random() < 0.3:
            row["fixed_cost"] = _r(rng.uniform(5, 60), 1)
        if "min_order" in features and rng.random() < 0.25:
            row["min_order"] = _r(min(eff_caps) * rng.uniform(0.1, 0.5) if min(eff_caps) > 0
                                  else size * 0.2)
        sup_rows.append(row)
        sup_chem[sid] = ch
        for k, t in enumerate(years):
            cap_of[sid, t] = eff_caps[k] if lo <= t <= hi else 0.0

    # ---- lanes: freight overrides for some allowed supplier-application pairs -
    lane_rows = []
    app_ids = [a["id"] for a in apps]
    for s in sup_rows:
        for a in app_ids:
            if s["chemistry"] in app_chems[a] and rng.random() < 0.12:
                lane_rows.append({"supplier": s["id"], "application": a,
                                  "freight": _r(rng.uniform(0.0, 10.0), 2)})

    # ---- tariffs: stacked, with filters ------------------------------------
    mid = years[len(years) // 2]
    tariffs = [
        {"origin": "CN", "rate": _r(rng.uniform(0.15, 0.35), 3)},
        {"origin": "CN", "rate": _r(rng.uniform(0.05, 0.2), 3), "family": "lithium", "from": mid},
        {"origin": "CN", "rate": _r(rng.uniform(0.02, 0.1), 3), "chemistry": "naion",
         "until": mid},
        {"origin": "ID", "rate": _r(rng.uniform(0.05, 0.15), 3)},
        {"origin": "KR", "rate": _r(rng.uniform(0.0, 0.05), 3)},
        {"origin": "JP", "rate": _r(rng.uniform(0.0, 0.04), 3), "until": years[-1] - step},
        {"origin": "MX", "rate": _r(rng.uniform(0.02, 0.1), 3), "chemistry": "lfp"},
        {"origin": "HU", "rate": _r(rng.uniform(0.01, 0.05), 3), "family": "lithium",
         "from": years[0], "until": mid},
    ]

    # ---- demand: a share of the capacity eligible for each application -------
    n_overlap = {a: sum(1 for b in app_ids if app_chems[a] & app_chems[b]) for a in app_ids}
    demand: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    for a in app_ids:
        w = rng.uniform(0.35, 0.7) / n_overlap[a]
        for t in years:
            elig = sum(cap_of[s, t] for s in sup_chem if sup_chem[s] in app_chems[a])
            row = {"application": a, "period": t, "gwh": _r(elig * w * rng.uniform(0.8, 1.2), 2)}
            if elig <= 0:
                continue
            (dropped if rng.random() < 0.04 else demand).append(row)  # missing pair: 0
    if not demand:                                   # the table must have a row
        demand = dropped[:1] or [{"application": app_ids[0], "period": years[0], "gwh": 1.0}]

    inst: dict[str, Any] = {
        "format": 1,
        "name": f"synthetic seed {seed} ({S} suppliers, {A} applications, {T} periods)",
        "description": "Generated by benchmarks/generate.py: synthetic, not market data.",
        "periods": years,
        "discount_rate": _r(rng.uniform(0.0, 0.1), 3),
        "carbon_price": _r(rng.uniform(0.0, 120.0), 1),
        "chemistries": [{"id": c[0], "family": c[1]} for c in CHEMISTRIES],
        "countries": countries,
        "applications": apps,
        "attributes": ["risk_score", "recycled_content", "region"],
        "suppliers": sup_rows,
        "capacity": cap_rows,
        "prices": price_rows,
        "demand": demand,
        "lanes": lane_rows,
        "tariffs": tariffs,
    }

    if "tiers" in features:
        tiers = []
        first_price: dict[Any, Any] = {}
        for price_row in price_rows:
            first_price.setdefault(price_row["supplier"], price_row["price"])
        for s in sup_rows:
            if rng.random() >= 0.2:
                continue
            base = s.get("price") or first_price[s["id"]]
            per: list[int | None] = [int(rng.choice(years))] if rng.random() < 0.3 else [None]
            for year in per:
                b, p = 0.0, base * rng.uniform(1.0, 1.1)
                falling = rng.random() < 0.6
                for _ in range(int(rng.integers(2, 4))):
                    row = {"supplier": s["id"], "from_gwh": _r(b), "price": _r(p, 2)}
                    if year is not None:
                        row["period"] = year
                    tiers.append(row)
                    b += rng.uniform(1.0, 6.0)
                    p *= rng.uniform(0.85, 0.97) if falling else rng.uniform(1.03, 1.15)
        inst["price_tiers"] = tiers

    if rules:
        inst["rules"] = _rules(rng, inst, years, late, storage, app_chems, cap_of, sup_chem,
                               features)
    return inst


def _rules(rng, inst, years, late, storage, app_chems, cap_of, sup_chem, features):
    """Random rules whose limits are set loosely against the capacity on offer
    (a share cap at least what the other groups' capacity allows, a floor well
    below the group's capacity share), so most instances stay feasible."""
    sups = inst["suppliers"]
    app_ids = [a["id"] for a in inst["applications"]]
    U = rng.uniform

    capm = np.array([[cap_of[s["id"], t] for t in years] for s in sups]).reshape(len(sups), -1)
    chem_arr = np.array([s["chemistry"] for s in sups])
    col = {t: k for k, t in enumerate(years)}

    def _base(apps, periods):
        apps, periods = apps or app_ids, periods or years
        chems = sorted(set().union(*(app_chems[a] for a in apps)))
        sub = capm[:, [col[t] for t in periods]] * np.isin(chem_arr, chems)[:, None]
        tot = sub.sum(axis=0)
        return sub[:, tot > 0], tot[tot > 0]

    def share(pred, apps=None, periods=None, worst=min):
        """Smallest (worst=max: largest) share over `periods` of the capacity
        eligible for `apps` held by the suppliers satisfying pred."""
        sub, tot = _base(apps, periods)
        if not len(tot):
            return 0.0
        mask = np.array([bool(pred(s)) for s in sups])
        return float(worst(sub[mask].sum(axis=0) / tot))

    def top_share(key, apps=None, periods=None):
        """The largest share any one value of key(s) holds in any period."""
        sub, tot = _base(apps, periods)
        if not len(tot):
            return 0.0
        vals, idx = np.unique([key(s) for s in sups], return_inverse=True)
        per = np.zeros((len(vals), len(tot)))
        np.add.at(per, idx, sub)
        return float((per / tot).max())

    def loose_cap(lo, hi, top):
        """A max_share limit in [lo, hi], raised so that the others' capacity
        can take the rest (1: not binding, when the group holds ~everything)."""
        if top > 0.95:
            return 1.0
        return _r(min(0.95, max(U(lo, hi), top + 0.05)), 3)

    def cap_limit(pred, lo, hi, **kw):
        return loose_cap(lo, hi, share(pred, worst=max, **kw))

    def floor_limit(pred, lo, hi, **kw):
        return _r(min(U(lo, hi), 0.7 * share(pred, **kw)), 3)

    companies = sorted({s["company"] for s in sups})
    comp_cap: dict[str, float] = {}
    for s in sups:
        comp_cap[s["company"]] = comp_cap.get(s["company"], 0.0) + \
            min(cap_of[s["id"], t] for t in years)
    biggest = max(comp_cap, key=lambda c: (comp_cap[c], c))
    ctrl = lambda s: s.get("control", s["country"])  # noqa: E731
    out: list[dict[str, Any]] = []
    top = top_share(lambda s: s["company"])
    out.append({"name": "company-cap", "kind": "max_share", "by": "company",
                "limit": loose_cap(0.25, 0.4, top)})
    out.append({"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
                "limit": cap_limit(lambda s: ctrl(s) == "CN", 0.35, 0.65)})
    alt_apps = storage or [a for a in app_ids if app_chems[a] & {"naion", "zn"}]
    alt = lambda s: s["chemistry"] in ("naion", "zn")  # noqa: E731
    if alt_apps and share(alt, alt_apps) > 0:
        out.append({"name": "alt-floor", "kind": "min_share", "by": "family",
                    "group": ["sodium", "zinc"],
                    "limit": floor_limit(alt, 0.04, 0.18, apps=alt_apps),
                    "applications": alt_apps})
    cover = []
    for a in app_ids:                      # applications offered by 3+ countries every period
        sub, _ = _base([a], years)
        per_t = [{sups[i]["country"] for i in np.flatnonzero(sub[:, k] > 0)}
                 for k in range(sub.shape[1])]
        if len(per_t) == len(years) and all(len(c) >= 3 for c in per_t) and rng.random() < 0.8:
            cover.append(a)
    if cover:
        top = max(top_share(lambda s: s["country"], [a]) for a in cover)
        out.append({"name": "country-cap-per-app", "kind": "max_share", "by": "country",
                    "limit": loose_cap(0.6, 0.9, top),
                    "per_application": True, "applications": cover})
    china = lambda s: _bloc(s) == "china"  # noqa: E731
    out.append({"name": "china-bloc-late", "kind": "max_share", "by": "bloc",
                "group": ["china"], "limit": cap_limit(china, 0.3, 0.55, periods=late),
                "periods": list(late)})
    usmca = lambda s: _bloc(s) == "usmca"  # noqa: E731
    if share(usmca, periods=late) > 0:
        out.append({"name": "usmca-late-floor", "kind": "min_share", "by": "bloc",
                    "group": "usmca", "limit": floor_limit(usmca, 0.03, 0.12, periods=late),
                    "periods": list(late)})
    big_min = min(sum(cap_of[s["id"], t] for s in sups if s["company"] == biggest)
                  for t in years)
    out.append({"name": "biggest-company-volume", "kind": "max_volume", "by": "company",
                "group": [biggest], "limit": _r(max(0.5, big_min * U(0.5, 0.9)), 2)})
    us_min = min(sum(cap_of[s["id"], t] for s in sups if usmca(s)) for t in years)
    if us_min > 0:
        out.append({"name": "usmca-volume", "kind": "min_volume", "by": "bloc",
                    "group": ["usmca"], "limit": _r(us_min * U(0.05, 0.25), 2)})
    if "defense" in app_ids:
        ex = {"name": "defense-no-cn", "kind": "exclude", "by": "control", "group": ["CN"],
              "applications": ["defense"]}
        if rng.random() < 0.5 and len(years) > 1:
            ex["periods"] = list(late)
        out.append(ex)
    elif len(companies) > 2:               # a blacklisted small company out of one application
        small = sorted(companies, key=lambda c: (comp_cap[c], c))[:max(1, len(companies) // 2)]
        bad = small[int(rng.integers(len(small)))]
        out.append({"name": f"no-{bad}", "kind": "exclude", "by": "company", "group": bad,
                    "applications": [app_ids[int(rng.integers(len(app_ids)))]]})
    carbon = np.array([s["carbon_intensity"] for s in sups])
    out.append({"name": "carbon-cap", "kind": "max_average", "attribute": "carbon_intensity",
                "limit": _r(float(np.mean(carbon)) * U(0.95, 1.15), 2)})
    risk = np.array([s["risk_score"] for s in sups])
    rapps = [a for a in app_ids if rng.random() < 0.5] or app_ids[-1:]
    out.append({"name": "risk-cap", "kind": "max_average", "attribute": "risk_score",
                "limit": _r(float(np.mean(risk)) * U(0.95, 1.2), 2),
                "applications": rapps})
    rec = np.array([s["recycled_content"] for s in sups])
    out.append({"name": "recycled-floor", "kind": "min_average", "attribute": "recycled_content",
                "limit": _r(float(np.mean(rec)) * U(0.4, 0.85), 4)})
    asia = lambda s: s["region"] == "asia"  # noqa: E731
    if rng.random() < 0.5 and any(asia(s) for s in sups):   # a text-attribute group
        out.append({"name": "asia-cap", "kind": "max_share", "by": "region", "group": ["asia"],
                    "limit": cap_limit(asia, 0.6, 0.85)})
    if "count" in features:
        multi = [a for a in app_ids if len(app_chems[a]) > 1] or app_ids
        out.append({"name": "dual-source", "kind": "min_count", "by": "company", "limit": 2,
                    "threshold": _r(U(0.05, 0.2), 3), "applications": multi,
                    "per_application": True})
        out.append({"name": "few-countries", "kind": "max_count", "by": "country",
                    "limit": int(rng.integers(4, 8)), "threshold": 0.02})
    return out


#: upstream materials (id, {chemistry: kg per kWh}), illustrative intensities
MATERIALS = [
    ("lithium", {"lfp": 0.10, "nmc": 0.12}),
    ("graphite", {"lfp": 1.0, "nmc": 0.9}),
    ("nickel", {"nmc": 0.6}),
    ("manganese", {"nmc": 0.1, "naion": 0.3}),
]
STAGES = ["mining", "refining", "active_material"]
#: where each stage tends to happen: (country, weight); China dominates refining
STAGE_COUNTRIES = {
    "mining": [("CN", 0.25), ("ID", 0.2), ("CA", 0.15), ("US", 0.1), ("SE", 0.1),
               ("MX", 0.1), ("KR", 0.1)],
    "refining": [("CN", 0.6), ("KR", 0.1), ("JP", 0.1), ("US", 0.1), ("DE", 0.1)],
    "active_material": [("CN", 0.55), ("KR", 0.15), ("JP", 0.15), ("PL", 0.05),
                        ("US", 0.1)],
}


def add_upstream(inst: dict, seed: int, materials: int = 4, stages: int = 3,
                 rules: bool = True) -> dict:
    """``inst`` with upstream tables (SPEC section 7): ``materials`` of
    :data:`MATERIALS`, the first ``stages`` of :data:`STAGES`, content per
    chemistry, and for every supplier whose cells hold a material, its origin
    at each stage: one to three countries, shares in thousandths adding up to
    1, some suppliers with a different split in the last period. With
    ``rules``, origin rules: no country above 70% of any material at any
    stage (CRMA-like, on the last period), China-refined graphite out of
    defense, and a kt cap on Chinese active graphite. Returns a new dict."""
    rng = np.random.default_rng(seed + 7919)
    out = {**inst}
    mats = MATERIALS[:materials]
    stage_ids = STAGES[:stages]
    out["materials"] = [{"id": m} for m, _ in mats]
    out["stages"] = stage_ids
    out["content"] = [{"chemistry": c, "material": m, "kg_per_kwh": kg}
                      for m, per in mats for c, kg in per.items()]
    last = inst["periods"][-1]
    origins = []
    for s in inst["suppliers"]:
        for m, per in mats:
            if s["chemistry"] not in per:
                continue
            for k in stage_ids:
                names = [c for c, _ in STAGE_COUNTRIES[k]]
                weights = np.array([w for _, w in STAGE_COUNTRIES[k]])
                for period in (None, last) if rng.random() < 0.15 else (None,):
                    n = int(rng.integers(1, 4))
                    picks = rng.choice(len(names), size=n, replace=False,
                                       p=weights / weights.sum())
                    raw = rng.dirichlet(np.ones(n))
                    parts = np.floor(raw * 1000).astype(int)
                    parts[0] += 1000 - parts.sum()
                    for j, part in zip(picks, parts, strict=True):
                        if part <= 0:
                            continue
                        row = {"supplier": s["id"], "material": m, "stage": k,
                               "country": names[j], "share": float(part) / 1000}
                        if period is not None:
                            row["period"] = period
                        origins.append(row)
    out["origins"] = origins
    if rules:
        extra = []
        for m, _ in mats:
            extra.append({"name": f"crma-{m}", "kind": "max_share", "by": "origin",
                          "material": m, "stage": stage_ids[-1], "limit": 0.7,
                          "periods": [last]})
        apps = {a["id"] for a in inst["applications"]}
        if "defense" in apps and any(m == "graphite" for m, _ in mats) and "refining" in \
                stage_ids:
            extra.append({"name": "defense-no-cn-graphite", "kind": "exclude",
                          "by": "origin", "material": "graphite", "stage": "refining",
                          "group": ["CN"], "applications": ["defense"]})
        if any(m == "graphite" for m, _ in mats):
            extra.append({"name": "cn-graphite-kt", "kind": "max_volume", "by": "origin",
                          "material": "graphite", "stage": stage_ids[-1], "group": ["CN"],
                          "limit": _r(rng.uniform(200, 400) * len(inst["suppliers"]) / 100,
                                      1)})
        out["rules"] = [*inst.get("rules", []), *extra]
    return out


def add_building(inst: dict, seed: int, expansions: int = 15, contracts: int = 10,
                 qualified: float = 0.3, ramp: bool = True) -> dict:
    """``inst`` with building options (SPEC section 8): ``expansions`` co-funded
    capacity options (integer and fractional steps, lead times of 0-2 periods,
    a third of them at suppliers with no capacity of their own until funded),
    ``contracts`` offtake agreements (min/max GWh, take-or-pay, discounts, a
    third already signed, windows of two periods or more), qualification
    costs on a share ``qualified`` of the suppliers, and with ``ramp`` a
    ``max_change`` rule on the largest controlling country. Returns a new dict."""
    rng = np.random.default_rng(seed + 104729)
    out = {**inst, "suppliers": [dict(s) for s in inst["suppliers"]]}
    years = inst["periods"]
    sups = out["suppliers"]
    picks = rng.choice(len(sups), size=min(expansions, len(sups)), replace=False)
    out["expansions"] = []
    fresh = set()
    for k, i in enumerate(picks.tolist()):
        s = sups[i]
        step = _r(float(rng.uniform(0.5, 4.0)) * max(1.0, float(s.get("capacity") or 1.0)) / 5)
        price = float(s.get("price") or 60.0)
        if k % 3 == 0 and "price" in s:  # exists only once funded
            fresh.add(s["id"])
        out["expansions"].append({
            "supplier": s["id"], "step_gwh": max(step, 0.1),
            "cost": _r(step * price * float(rng.uniform(0.05, 0.4))),
            "lead_time": int(rng.integers(0, 3)), "max_steps": int(rng.integers(1, 4)),
            "integer": bool(rng.random() < 0.6)})
    if fresh:
        out["capacity"] = [c for c in inst.get("capacity", []) if c["supplier"] not in fresh]
        for s in sups:
            if s["id"] in fresh:
                s["capacity"] = 0.0
    taken = set(picks.tolist())
    rest = [i for i in range(len(sups)) if i not in taken and "price" in sups[i]]
    chosen = rng.choice(len(rest), size=min(contracts, len(rest)), replace=False)
    out["contracts"] = []
    for k, j in enumerate(chosen.tolist()):
        s = sups[rest[j]]
        cap = float(s.get("capacity") or 1.0)
        start = int(rng.integers(0, max(1, len(years) - 1)))
        c = {"name": f"K{k:02d}", "supplier": s["id"], "from": years[start],
             "until": years[min(len(years) - 1, start + int(rng.integers(1, len(years))))],
             "min_gwh": _r(cap * float(rng.uniform(0.0, 0.3))),
             "discount": _r(float(rng.choice([0.0, 0.02, 0.05, 0.08])), 3),
             # a signed contract is take-or-pay: its supplier may be excluded or
             # unavailable in some period, and a forced minimum would leave no plan
             "take_or_pay": bool(rng.random() < 0.5) or k % 3 == 0, "signed": k % 3 == 0}
        if rng.random() < 0.4:
            c["max_gwh"] = _r(cap * float(rng.uniform(0.5, 1.0)))
        out["contracts"].append(c)
    for s in sups:
        if rng.random() < qualified:
            s["qualification_cost"] = _r(float(rng.uniform(1.0, 20.0)))
    if ramp:
        control = pd.Series([s.get("control", s["country"]) for s in sups]).mode()[0]
        total = sum(d["gwh"] for d in inst["demand"]) / max(1, len(years))
        out["rules"] = [*inst.get("rules", []),
                        {"name": "ramp", "kind": "max_change", "by": "control",
                         "group": [str(control)], "limit": _r(0.3 * total)}]
    return out


def _bloc(s):
    return next(c[2] for c in COUNTRIES if c[0] == s["country"])


def write(instance: dict, directory: Path, csv: bool = True) -> Path:
    """Write ``instance`` as ``directory/instance.yaml``; return that path.

    With ``csv`` the big tables (suppliers, capacity, prices, demand, lanes,
    tariffs, price_tiers) go to CSV files beside it (empty cell = absent);
    empty optional tables are left out, empty required ones written as ``[]``.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {}
    for key, val in instance.items():
        if key in CSV_TABLES and isinstance(val, list) and not val:
            if key in ("suppliers", "demand"):   # required even when empty
                doc[key] = []
            continue
        if csv and key in CSV_TABLES and isinstance(val, list):
            cols: list[str] = []
            for row in val:
                cols += [c for c in row if c not in cols]
            cols.sort(key=lambda c: COLUMN_ORDER.index(c) if c in COLUMN_ORDER
                      else len(COLUMN_ORDER))        # stable: attributes keep their order
            fname = f"{key}.csv"
            with open(directory / fname, "w", newline="", encoding="utf-8") as f:
                w = _csv.writer(f, lineterminator="\n")
                w.writerow(cols)
                for row in val:
                    w.writerow([_cell(row.get(c)) for c in cols])
            doc[key] = fname
        else:
            doc[key] = val
    path = directory / "instance.yaml"
    with open(path, "w", encoding="utf-8") as f:
        f.write("# generated by benchmarks/generate.py\n")
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=120,
                       allow_unicode=True)
    return path


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, (list, tuple)):
        return ";".join(_cell(x) for x in v)
    if isinstance(v, float) and v.is_integer():
        return str(int(v)) if abs(v) < 1e15 else repr(v)
    return str(v)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Generate a synthetic sourcing instance.")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--suppliers", type=int, default=50)
    p.add_argument("--applications", type=int, default=4)
    p.add_argument("--periods", type=int, default=5)
    p.add_argument("--features", default="",
                   help="comma-separated: fixed_cost,min_order,count,tiers (binaries: "
                        "the model becomes a MIP)")
    p.add_argument("--no-rules", action="store_true")
    p.add_argument("--upstream", type=int, default=0, metavar="M",
                   help="add upstream tables for M materials (1-4) x 3 stages")
    p.add_argument("--inline", action="store_true", help="all tables inline in the YAML")
    p.add_argument("--out", required=True, type=Path)
    a = p.parse_args(argv)
    feats = {f.strip() for f in a.features.split(",") if f.strip()}
    t0 = time.perf_counter()
    try:
        inst = generate(a.seed, a.suppliers, a.applications, a.periods, features=feats,
                        rules=not a.no_rules)
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if a.upstream:
        inst = add_upstream(inst, a.seed, a.upstream, rules=not a.no_rules)
    path = write(inst, a.out, csv=not a.inline)
    print(f"{path}: {len(inst['suppliers'])} suppliers, {len(inst['demand'])} demand rows, "
          f"{len(inst['lanes'])} lane overrides, {len(inst.get('rules', []))} rules, "
          f"{time.perf_counter() - t0:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
