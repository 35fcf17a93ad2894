"""Properties every optimum must have, on instances drawn by hypothesis.

Instances come from ``benchmarks/generate.py`` (seed, size, with or without
rules, with or without fixed costs, minimum orders, count rules and price
tiers), all tables inline, plus maybe a top-k cap, an HHI cap and a soft rule.
For each:

* every optimal plan passes the independent checker at the cost it claims;
* tightening any rule's limit never lowers the optimum (nor makes an
  infeasible instance feasible);
* adding capacity, or a copy of a supplier, never raises it;
* multiplying every price (ex-works, tiers, freight, carbon, fixed costs,
  unmet and rule penalties) by k multiplies the optimum by k;
* shuffling the rows of every table (and the lists inside them) changes
  neither the status nor the optimum.

Optima are compared within 3e-6 relative: both sides may stop anywhere within
HiGHS's relative MIP gap of 1e-6.
"""

from __future__ import annotations

import copy
import random
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import optimizer
from benchmarks.generate import generate
from optimizer.check import check_plan

REL = 3e-6
SETTINGS = settings(max_examples=30, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow])
FEATURES = ("fixed_cost", "min_order", "count", "tiers")


@st.composite
def instances(draw) -> dict:
    features = draw(st.sets(st.sampled_from(FEATURES)))
    doc = generate(draw(st.integers(0, 10**6)), draw(st.integers(3, 9)),
                   draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                   features=features, rules=draw(st.booleans()))
    # concentration caps and soft rules, which the generator does not write
    rules = doc.setdefault("rules", [])
    for extra in draw(st.sets(st.sampled_from(["top", "hhi", "soft"]))):
        if extra == "top":
            rules.append({"name": "top-k", "kind": "max_top_share", "by": "company",
                          "k": draw(st.integers(1, 2)),
                          "limit": draw(st.sampled_from([0.6, 0.8, 0.95]))})
        elif extra == "hhi":
            rules.append({"name": "hhi-cap", "kind": "max_hhi", "by": "country",
                          "limit": draw(st.sampled_from([0.35, 0.5, 0.8]))})
        else:
            hard = [r for r in rules if r.get("limit") is not None and r["kind"] != "max_hhi"]
            if hard:
                hard[draw(st.integers(0, len(hard) - 1))]["penalty"] = \
                    draw(st.sampled_from([1.0, 30.0, 500.0]))
    return doc


def solve(doc: dict) -> tuple[optimizer.Instance, optimizer.Result]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "instance.yaml"
        path.write_text(yaml.safe_dump(doc, sort_keys=False))
        inst = optimizer.load_instance(path)
    return inst, optimizer.solve(inst, analysis=False)


def cost(res: optimizer.Result) -> float:
    """The optimum, +inf without a plan."""
    assert res.status in ("optimal", "infeasible"), res.status
    return res.objective if res.status == "optimal" else float("inf")


def at_most(a: float, b: float) -> bool:
    """a <= b up to the solver's gap (inf <= inf)."""
    return a <= b or abs(a - b) <= REL * max(abs(a), abs(b), 1.0)


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= REL * max(abs(a), abs(b), 1.0)


@SETTINGS
@given(instances())
def test_optimal_plans_pass_the_checker(doc):
    inst, res = solve(doc)
    if res.status == "optimal":
        report = check_plan(inst, res.allocation, objective=res.objective)
        assert report.valid, report.violations["message"].tolist()


def tightened(rule: dict, u: float) -> dict | None:
    """The rule with a stricter limit (u in [0, 1) says how much), or None."""
    kind, limit = rule["kind"], rule.get("limit")
    if limit is None:
        return None
    rule = dict(rule)
    if kind in ("max_share", "max_volume", "max_top_share", "max_hhi"):
        rule["limit"] = round(limit * u, 6)
    elif kind == "min_share":
        rule["limit"] = round(limit + (1 - limit) * u, 6)
    elif kind == "min_volume":
        rule["limit"] = round(limit * (1 + u) + u, 6)
    elif kind == "max_count":
        rule["limit"] = max(0, int(limit) - 1)
    elif kind == "min_count":
        rule["limit"] = int(limit) + 1
    elif kind == "max_average":
        rule["limit"] = round(limit * (1 - 0.2 * u), 6)
    elif kind == "min_average":
        rule["limit"] = round(limit * (1 + 0.2 * u), 6)
    return rule


@SETTINGS
@given(instances(), st.integers(0, 100), st.floats(0, 0.99))
def test_tightening_a_rule_never_lowers_the_cost(doc, pick, u):
    rules = [r for r in doc.get("rules", []) if r.get("limit") is not None]
    if not rules:
        doc = dict(doc, rules=[{"name": "company-cap", "kind": "max_share",
                                "by": "company", "limit": 0.8}])
        rules = doc["rules"]
    k = pick % len(rules)
    rule = tightened(rules[k], u)
    assert rule is not None
    strict = copy.deepcopy(doc)
    strict["rules"] = [rule if r["name"] == rule["name"] else r for r in doc["rules"]]
    base, tight = cost(solve(doc)[1]), cost(solve(strict)[1])
    assert at_most(base, tight), (rules[k], rule, base, tight)


@SETTINGS
@given(instances(), st.integers(0, 100), st.floats(1.0, 3.0), st.booleans())
def test_more_capacity_or_a_new_supplier_never_raises_the_cost(doc, pick, factor, clone):
    more = copy.deepcopy(doc)
    s = more["suppliers"][pick % len(more["suppliers"])]
    if clone:
        # a copy of a supplier: same company, country, chemistry, prices, tiers, lanes
        new = dict(s, id="clone")
        more["suppliers"].append(new)
        for table in ("capacity", "prices", "price_tiers", "lanes"):
            more[table] = more.get(table, []) + [dict(r, supplier="clone")
                                                  for r in more.get(table, [])
                                                  if r["supplier"] == s["id"]]
    else:
        if "capacity" in s:
            s["capacity"] = round(s["capacity"] * factor, 3)
        for row in more.get("capacity", []):
            if row["supplier"] == s["id"]:
                row["gwh"] = round(row["gwh"] * factor, 3)
    base, bigger = cost(solve(doc)[1]), cost(solve(more)[1])
    assert at_most(bigger, base), (s["id"], clone, factor, base, bigger)


def priced(doc: dict, k: float) -> dict:
    """Every amount of money per kWh or in total multiplied by k (tariff rates are
    fractions of the price and stay)."""
    doc = copy.deepcopy(doc)
    for s in doc["suppliers"]:
        for key in ("price", "freight", "fixed_cost"):
            if key in s:
                s[key] = s[key] * k
    for table, key in (("prices", "price"), ("price_tiers", "price"), ("lanes", "freight")):
        for row in doc.get(table, []):
            row[key] = row[key] * k
    for a in doc["applications"]:
        if "unmet_penalty" in a:
            a["unmet_penalty"] = a["unmet_penalty"] * k
    doc["carbon_price"] = doc.get("carbon_price", 0) * k
    for rule in doc.get("rules", []):
        if "penalty" in rule:
            rule["penalty"] = rule["penalty"] * k
    return doc


@SETTINGS
@given(instances(), st.sampled_from([0.01, 0.37, 3.0, 100.0]))
def test_scaling_every_price_scales_the_cost(doc, k):
    base, scaled = solve(doc)[1], solve(priced(doc, k))[1]
    assert base.status == scaled.status
    if base.status == "optimal":
        assert close(scaled.objective, k * base.objective), (k, base.objective,
                                                             scaled.objective)


def shuffled(doc: dict, rng: random.Random) -> dict:
    doc = copy.deepcopy(doc)
    for key, value in doc.items():
        if isinstance(value, list) and key not in ("periods", "attributes"):
            rng.shuffle(value)
            for row in value:
                for field in ("chemistries", "group", "applications", "periods"):
                    if isinstance(row, dict) and isinstance(row.get(field), list):
                        rng.shuffle(row[field])
        if isinstance(value, list) and key == "attributes":
            rng.shuffle(value)
    # the order of fields within a row, too
    for key, value in doc.items():
        if isinstance(value, list):
            doc[key] = [dict(rng.sample(list(r.items()), len(r))) if isinstance(r, dict)
                        else r for r in value]
    return doc


@SETTINGS
@given(instances(), st.integers(0, 2**32))
def test_shuffling_rows_changes_nothing(doc, seed):
    inst, base = solve(doc)
    _, again = solve(shuffled(doc, random.Random(seed)))
    assert base.status == again.status
    if base.status == "optimal":
        assert close(again.objective, base.objective), (base.objective, again.objective)
        assert check_plan(inst, again.allocation, objective=again.objective).valid
