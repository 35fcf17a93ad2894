"""Checks across tables: unique ids, references, prices where capacity is.

Row-level checks (types, ranges, required fields) are the schema's; here we
check what needs more than one row. Every problem names the row it is about.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterator
from typing import Any

from optimizer.errors import Location, Problem, did_you_mean
from optimizer.input.building import check_building, expandable
from optimizer.input.fields import MAX_NUMBER
from optimizer.input.instance import Instance
from optimizer.input.schema import (
    AVERAGE_KINDS,
    BUILTIN_GROUPINGS,
    ORIGIN,
    SUPPLIER_FIELDS,
    Rule,
)
from optimizer.input.upstream import check_upstream

#: features that need integer variables or cuts, and are not modelled yet
UNSUPPORTED_RULE_KINDS: frozenset[str] = frozenset()
UNSUPPORTED_FEATURES: frozenset[str] = frozenset()


def text(value: Any) -> str:
    """Attribute values as text, the way ids are compared."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def group_values(inst: Instance, by: str) -> set[str]:
    """Every value a grouping can take in this instance."""
    chem_family = {c.id: c.family for c in inst.chemistries}
    if by == "supplier":
        return {s.id for s in inst.suppliers}
    if by == "company":
        return {s.company for s in inst.suppliers}
    if by in ("country", "control", ORIGIN):
        return {c.id for c in inst.countries}
    if by == "bloc":
        return {c.bloc for c in inst.countries if c.bloc is not None}
    if by == "chemistry":
        return {c.id for c in inst.chemistries}
    if by == "family":
        return set(chem_family.values())
    return {text(s.attributes[by]) for s in inst.suppliers if by in s.attributes}


#: per table, the raw rows that failed to parse (their problems are already
#: reported), or None when the table or some of its rows could not be read at all
Broken = dict[str, list[dict[str, Any]] | None]


class _Anything(Collection[str]):
    """The values a table may hold when some of its rows could not be read:
    every reference into it is accepted rather than reported as dangling."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(())

    def __len__(self) -> int:
        return 0


ANYTHING = _Anything()


def _known(parsed: set[str], broken: Broken, table: str, field: str) -> Collection[str]:
    """Values of ``table.field`` a reference may name: those of the parsed rows and
    of the rows that failed to parse, so that one bad row does not cascade."""
    if table not in broken:
        return parsed
    rows = broken[table]
    if rows is None:
        return ANYTHING
    known = set(parsed)
    for row in rows:
        value = row.get(field)
        if not isinstance(value, str | int | float) or isinstance(value, bool) or value == "":
            return ANYTHING
        known.add(text(value))
    return known


_GROUP_SOURCES = {
    "supplier": ("suppliers", "id"),
    "company": ("suppliers", "company"),
    "country": ("countries", "id"),
    "control": ("countries", "id"),
    "origin": ("countries", "id"),
    "bloc": ("countries", "bloc"),
    "chemistry": ("chemistries", "id"),
    "family": ("chemistries", "family"),
}


def _known_group_values(inst: Instance, by: str, broken: Broken) -> Collection[str]:
    table, field = _GROUP_SOURCES.get(by, ("suppliers", by))
    return _known(group_values(inst, by), broken, table, field)


def check_instance(
    inst: Instance, broken: Broken | None = None
) -> tuple[list[Problem], list[Problem]]:
    """Return (errors, warnings) found across tables.

    ``broken`` holds, per table, the rows that failed to parse: what they name
    counts as known so that one bad row does not cascade into many.
    """
    extra = broken or {}
    errors: list[Problem] = []
    warnings: list[Problem] = []

    def err(table: str, i: int, message: str, field: str | None = None) -> None:
        errors.append(Problem(inst.location(table, i), message, field=field))

    def unique(table: str, key: Callable[[Any], Any], what: str,
               field: str | None = None) -> None:
        rows = getattr(inst, table)
        seen: dict[Any, int] = {}
        for i, row in enumerate(rows):
            k = key(row)
            if k in seen:
                first = inst.location(table, seen[k])
                err(table, i, f"duplicate {what} {k!r} (first in row {first.row})", field)
            else:
                seen[k] = i

    def ref(table: str, i: int, field: str, value: Any, known: Collection[Any], what: str) -> bool:
        if value not in known:
            hint = did_you_mean(str(value), sorted(map(str, known)))
            err(table, i, f"unknown {what} '{value}'{hint}", field)
            return False
        return True

    periods = inst.periods
    period_set = set(periods)
    chem_ids = _known({c.id for c in inst.chemistries}, extra, "chemistries", "id")
    families = _known({c.family for c in inst.chemistries}, extra, "chemistries", "family")
    country_ids = _known({c.id for c in inst.countries}, extra, "countries", "id")
    app_ids = _known({a.id for a in inst.applications}, extra, "applications", "id")
    supplier_ids = _known({s.id for s in inst.suppliers}, extra, "suppliers", "id")
    attributes = inst.settings.attributes
    period_list = ", ".join(map(str, periods))

    unique("chemistries", lambda r: r.id, "chemistry id", "id")
    unique("countries", lambda r: r.id, "country id", "id")
    unique("applications", lambda r: r.id, "application id", "id")
    unique("suppliers", lambda r: r.id, "supplier id", "id")
    unique("demand", lambda r: (r.application, r.period), "demand for (application, period)")
    unique("capacity", lambda r: (r.supplier, r.period), "capacity for (supplier, period)")
    unique("prices", lambda r: (r.supplier, r.period), "price for (supplier, period)")
    unique("lanes", lambda r: (r.supplier, r.application), "lane (supplier, application)")
    unique("price_tiers", lambda r: (r.supplier, r.period, r.from_gwh),
           "price tier (supplier, period, from_gwh)")
    unique("rules", lambda r: r.name, "rule name", "name")
    unique("scenarios", lambda r: r.name, "scenario name", "name")

    # attributes
    for name, count in Counter(attributes).items():
        if count > 1:
            errors.append(Problem(Location(inst.source), f"attribute '{name}' is declared twice",
                                  field="attributes"))
    for name in attributes:
        if name in SUPPLIER_FIELDS or name in BUILTIN_GROUPINGS:
            errors.append(Problem(Location(inst.source),
                                  f"attribute '{name}' clashes with a built-in supplier field",
                                  field="attributes"))

    for i, a in enumerate(inst.applications):
        for chem in a.chemistries:
            ref("applications", i, "chemistries", chem, chem_ids, "chemistry")
        for chem, n in Counter(a.chemistries).items():
            if n > 1:
                err("applications", i, f"chemistry '{chem}' is listed twice", "chemistries")

    for i, d in enumerate(inst.demand):
        ref("demand", i, "application", d.application, app_ids, "application")
        if d.period not in period_set:
            err("demand", i, f"period {d.period} is not one of the periods ({period_list})",
                "period")

    for i, s in enumerate(inst.suppliers):
        ref("suppliers", i, "country", s.country, country_ids, "country")
        if s.control is not None:
            ref("suppliers", i, "control", s.control, country_ids, "country")
        ref("suppliers", i, "chemistry", s.chemistry, chem_ids, "chemistry")
        for key in s.attributes:
            if key not in attributes:
                err("suppliers", i,
                    f"unknown field{did_you_mean(key, [*SUPPLIER_FIELDS, *attributes])}; "
                    "extra supplier fields must be declared under 'attributes'", key)

    for table in ("capacity", "prices"):
        for i, r in enumerate(getattr(inst, table)):
            ref(table, i, "supplier", r.supplier, supplier_ids, "supplier")
            if r.period not in period_set:
                err(table, i, f"period {r.period} is not one of the periods ({period_list})",
                    "period")

    for i, t in enumerate(inst.tariffs):
        ref("tariffs", i, "origin", t.origin, country_ids, "country")
        if t.chemistry is not None:
            ref("tariffs", i, "chemistry", t.chemistry, chem_ids, "chemistry")
        if t.family is not None:
            ref("tariffs", i, "family", t.family, families, "chemistry family")
        if t.from_ is not None and t.until is not None and t.until < t.from_:
            err("tariffs", i, f"until ({t.until}) is before from ({t.from_})", "until")

    for i, lane in enumerate(inst.lanes):
        ref("lanes", i, "supplier", lane.supplier, supplier_ids, "supplier")
        ref("lanes", i, "application", lane.application, app_ids, "application")

    _check_supported(inst, err)
    _check_tiers(inst, err, supplier_ids, period_set, period_list)
    _check_prices(inst, err, extra)
    for i, rule in enumerate(inst.rules):
        _check_rule(inst, i, rule, err, app_ids, period_set, period_list, extra)
    _check_scenarios(inst, err, errors, extra)
    check_upstream(inst, err, errors, ref, unique, extra)

    def warn(table: str, i: int, message: str, field: str | None = None) -> None:
        warnings.append(Problem(inst.location(table, i), message, field=field,
                                severity="warning"))

    check_building(inst, err, ref, unique, supplier_ids, warn)
    funded = expandable(inst)
    for i, s in enumerate(inst.suppliers):
        cap = _capacity_by_period(inst).get(s.id, {})
        if not any(v > 0 for v in cap.values()) and not funded.get(s.id):
            warnings.append(Problem(inst.location("suppliers", i),
                                    f"supplier '{s.id}' has no capacity in any period and "
                                    "can never deliver", field="capacity", severity="warning"))
    return errors, warnings


def _capacity_by_period(inst: Instance) -> dict[str, dict[int, float]]:
    cached = getattr(inst, "_capacity_cache", None)
    if cached is not None:
        return cached
    out: dict[str, dict[int, float]] = {}
    for s in inst.suppliers:
        out[s.id] = {t: (s.capacity or 0.0) for t in inst.periods}
    for row in inst.capacity:
        if row.supplier in out and row.period in out[row.supplier]:
            out[row.supplier][row.period] = row.gwh
    object.__setattr__(inst, "_capacity_cache", out)
    return out


def _check_tiers(inst: Instance, err: Callable[..., None], supplier_ids: Collection[str],
                 period_set: set[int], period_list: str) -> None:
    starts: dict[tuple[str, int | None], list[tuple[float, int]]] = defaultdict(list)
    for i, tier in enumerate(inst.price_tiers):
        ok = tier.supplier in supplier_ids
        if not ok:
            err("price_tiers", i, f"unknown supplier '{tier.supplier}'"
                f"{did_you_mean(tier.supplier, sorted(supplier_ids))}", "supplier")
        if tier.period is not None and tier.period not in period_set:
            err("price_tiers", i, f"period {tier.period} is not one of the periods "
                f"({period_list})", "period")
        starts[(tier.supplier, tier.period)].append((tier.from_gwh, i))
    for (supplier, period), rows in starts.items():
        first_from, first_row = min(rows)
        if first_from != 0:
            which = f" in {period}" if period is not None else ""
            err("price_tiers", first_row,
                f"the first price tier of supplier '{supplier}'{which} must start at "
                f"from_gwh 0, got {first_from:g}", "from_gwh")


def _check_supported(inst: Instance, err: Callable[..., None]) -> None:
    for i, s in enumerate(inst.suppliers):
        for name in ("fixed_cost", "min_order"):
            if name in UNSUPPORTED_FEATURES and getattr(s, name) is not None:
                err("suppliers", i, f"'{name}' is not supported yet by this version "
                    "(it needs integer variables)", name)
    if "price_tiers" in UNSUPPORTED_FEATURES:
        for i, _ in enumerate(inst.price_tiers):
            err("price_tiers", i, "price tiers are not supported yet by this version")


def _check_prices(inst: Instance, err: Callable[..., None], broken: Broken) -> None:
    """A supplier that can deliver in a period must have a price there."""
    price_rows = {(p.supplier, p.period) for p in inst.prices}
    tiered = {(t.supplier, t.period) for t in inst.price_tiers}
    capacity = _capacity_by_period(inst)
    funded = expandable(inst)
    # suppliers with a price or tier row that failed to parse (already reported)
    unsure = [_known(set(), broken, table, "supplier") for table in ("prices", "price_tiers")]
    for i, s in enumerate(inst.suppliers):
        if any(s.id in suppliers for suppliers in unsure):
            continue
        missing = []
        for t, cap in capacity.get(s.id, {}).items():
            if cap <= 0 and t not in funded.get(s.id, ()):
                continue
            if s.available_from is not None and t < s.available_from:
                continue
            if s.available_until is not None and t > s.available_until:
                continue
            priced = (
                s.price is not None
                or (s.id, t) in price_rows
                or (s.id, t) in tiered
                or (s.id, None) in tiered
            )
            if not priced:
                missing.append(t)
        if missing:
            err("suppliers", i,
                f"supplier '{s.id}' has capacity"
                f"{' (or could have, once funded)' if s.id in funded else ''} but no price in "
                f"{', '.join(map(str, missing))} (give 'price', rows in 'prices', "
                "or 'price_tiers')", "price")


def _check_rule(inst: Instance, i: int, rule: Rule, err: Callable[..., None],
                app_ids: Collection[str], period_set: set[int], period_list: str,
                broken: Broken) -> None:
    groupings = (*BUILTIN_GROUPINGS, ORIGIN, *inst.settings.attributes)
    if rule.kind in UNSUPPORTED_RULE_KINDS:
        err("rules", i, f"rule kind '{rule.kind}' is not supported yet by this version", "kind")
    if rule.by is not None:
        if rule.by not in groupings:
            err("rules", i, f"cannot group by '{rule.by}'{did_you_mean(rule.by, groupings)}: "
                f"use one of {', '.join(groupings)}", "by")
        elif rule.group is not None:
            values = _known_group_values(inst, rule.by, broken)
            for g in rule.group:
                if g not in values:
                    err("rules", i, f"no {rule.by} '{g}' in this instance"
                        f"{did_you_mean(g, sorted(values))}", "group")
    for a in rule.applications or []:
        if a not in app_ids:
            err("rules", i, f"unknown application '{a}'{did_you_mean(a, sorted(app_ids))}",
                "applications")
    for t in rule.periods or []:
        if t not in period_set:
            err("rules", i, f"period {t} is not one of the periods ({period_list})", "periods")
    if rule.kind in AVERAGE_KINDS and rule.attribute is not None:
        _check_average_attribute(inst, i, rule, err)
    if rule.penalty is not None and "penalty" in UNSUPPORTED_FEATURES:
        err("rules", i, "soft rules ('penalty') are not supported yet by this version",
            "penalty")


def _check_average_attribute(inst: Instance, i: int, rule: Rule,
                             err: Callable[..., None]) -> None:
    attr = rule.attribute
    assert attr is not None
    if attr != "carbon_intensity" and attr not in inst.settings.attributes:
        err("rules", i, f"attribute '{attr}' is neither carbon_intensity nor a declared "
            f"attribute{did_you_mean(attr, ['carbon_intensity', *inst.settings.attributes])}",
            "attribute")
        return
    covered = set(rule.applications) if rule.applications else {a.id for a in inst.applications}
    allowed = {c for a in inst.applications if a.id in covered for c in a.chemistries}
    for j, s in enumerate(inst.suppliers):
        if s.chemistry not in allowed:
            continue
        value = s.carbon_intensity if attr == "carbon_intensity" else s.attributes.get(attr)
        if value is None:
            err("suppliers", j, f"rule '{rule.name}' averages '{attr}', but supplier "
                f"'{s.id}' has no value for it", attr)
            continue
        try:
            number = float(value)
        except (TypeError, ValueError):
            err("suppliers", j, f"rule '{rule.name}' averages '{attr}', which must be a "
                f"number, got '{value}'", attr)
            continue
        if number != number or number in (float("inf"), float("-inf")):
            err("suppliers", j, f"'{attr}' must be a finite number, got {value}", attr)
        elif abs(number) > MAX_NUMBER:
            err("suppliers", j, f"'{attr}' must be at most {MAX_NUMBER:,.0f} in size (rule "
                f"'{rule.name}' averages it), got {number:g}", attr)


def _check_scenarios(inst: Instance, err: Callable[..., None], errors: list[Problem],
                     broken: Broken) -> None:
    groupings = (*BUILTIN_GROUPINGS, *inst.settings.attributes)
    total = 0.0
    for i, sc in enumerate(inst.scenarios):
        total += sc.probability
        for key in ("capacity_factor", "price_factor", "price_add"):
            for f in getattr(sc, key) or []:
                if f.by not in groupings and not (f.by == ORIGIN and key != "price_factor"):
                    err("scenarios", i, f"cannot group by '{f.by}'"
                        f"{did_you_mean(f.by, groupings)}", key)
                    continue
                values = _known_group_values(inst, f.by, broken)
                for g in f.group:
                    if g not in values:
                        err("scenarios", i, f"no {f.by} '{g}' in this instance"
                            f"{did_you_mean(g, sorted(values))}", key)
        apps = {a.id for a in inst.applications}
        for d in sc.demand_factor or []:
            for a in d.applications or []:
                if a not in apps:
                    err("scenarios", i, f"no application '{a}' in this instance"
                        f"{did_you_mean(a, sorted(apps))}", "demand_factor")
        if sc.from_ is not None and sc.until is not None and sc.until < sc.from_:
            err("scenarios", i, f"until ({sc.until}) is before from ({sc.from_})", "until")
        elif not any((sc.from_ is None or t >= sc.from_) and (sc.until is None or t <= sc.until)
                     for t in inst.periods):
            window = f"{sc.from_ if sc.from_ is not None else ''}..{sc.until or ''}"
            err("scenarios", i, f"its window {window} covers none of the periods "
                f"({', '.join(map(str, inst.periods))}): it would change nothing",
                "from" if sc.from_ is not None else "until")
        if sc.name.strip().lower() == "base":
            err("scenarios", i, "'base' is the name of the base case (the probability left "
                "over, where nothing changes): give this scenario another name", "name")
    _check_parents(inst, err)
    if total > 1 + 1e-9:
        errors.append(Problem(Location(inst.source, table="scenarios"),
                              f"scenario probabilities add up to {total:g}, more than 1"))


def _check_parents(inst: Instance, err: Callable[..., None]) -> None:
    """A scenario's ``parent`` (SPEC section 10) names another scenario of the
    file, the chain of parents never comes back to where it started, and a
    scenario starts no earlier than its parent (it branches off the parent's
    path; no ``from`` = the first period)."""
    by_name = {sc.name: i for i, sc in enumerate(inst.scenarios)}
    names = sorted(by_name)
    first = inst.periods[0] if inst.periods else 0
    for i, sc in enumerate(inst.scenarios):
        if sc.parent is None:
            continue
        if sc.parent == sc.name:
            err("scenarios", i, "names itself as its parent", "parent")
            continue
        j = by_name.get(sc.parent)
        if j is None:
            err("scenarios", i, f"no scenario '{sc.parent}' to branch from"
                f"{did_you_mean(sc.parent, names)} (leave parent empty to branch from "
                "the base case)", "parent")
            continue
        path = [sc.name]
        up: str | None = sc.parent
        while up is not None and up in by_name and up not in path:
            path.append(up)
            up = inst.scenarios[by_name[up]].parent
        if up is not None and up in path:
            err("scenarios", i, f"its parents go round in a circle "
                f"({' -> '.join([*path, up])}): a scenario tree has one root, the base case",
                "parent")
            continue
        parent = inst.scenarios[j]
        mine = sc.from_ if sc.from_ is not None else first
        theirs = parent.from_ if parent.from_ is not None else first
        if mine < theirs:
            err("scenarios", i, f"starts in {mine}, before its parent '{parent.name}' "
                f"({theirs}): a scenario branches off its parent's path, so its 'from' "
                "is the parent's or later", "from" if sc.from_ is not None else "parent")
