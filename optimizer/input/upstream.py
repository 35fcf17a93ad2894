"""Checks of the upstream tables (materials, stages, content, origins) and of
what refers to them (rules and scenarios by origin): SPEC section 7.

A rule or scenario that names a material and a stage needs the origins of
that material at that stage for every supplier whose chemistry holds it, in
every period it covers: a missing one is an input error naming the supplier,
never a guess.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from typing import Any

from optimizer.errors import Location, Problem
from optimizer.input.instance import Instance

#: origin shares of one supplier, material, stage and period add up to 1 within this
SHARE_TOL = 1e-6


def holders(inst: Instance, material: str) -> set[str]:
    """Chemistries whose cells hold some of ``material``."""
    return {c.chemistry for c in inst.content if c.material == material and c.kg_per_kwh > 0}


def origin_rows(inst: Instance) -> dict[tuple[str, str, str, int | None], list[int]]:
    """(supplier, material, stage, period or None) -> row numbers of ``origins``."""
    out: dict[tuple[str, str, str, int | None], list[int]] = defaultdict(list)
    for i, o in enumerate(inst.origins):
        out[(o.supplier, o.material, o.stage, o.period)].append(i)
    return out


def check_upstream(inst: Instance, err: Callable[..., None], errors: list[Problem],
                   ref: Callable[..., bool], unique: Callable[..., None],
                   broken: dict[str, Any]) -> None:
    """Every upstream problem, through the validator's ``err``/``ref``/``unique``."""
    stages = inst.settings.stages
    for stage in {s for s in stages if stages.count(s) > 1}:
        errors.append(Problem(Location(inst.source), f"stage '{stage}' is declared twice",
                              field="stages"))
    unique("materials", lambda r: r.id, "material id", "id")
    unique("content", lambda r: (r.chemistry, r.material), "content for (chemistry, material)")
    unique("origins", lambda r: (r.supplier, r.material, r.stage, r.country, r.period),
           "origin (supplier, material, stage, country, period)")
    material_ids = {m.id for m in inst.materials}
    chem_ids = {c.id for c in inst.chemistries}
    supplier_ids = {s.id for s in inst.suppliers}
    country_ids = {c.id for c in inst.countries}
    periods = set(inst.periods)
    for i, c in enumerate(inst.content):
        ref("content", i, "chemistry", c.chemistry, chem_ids, "chemistry")
        ref("content", i, "material", c.material, material_ids, "material")
    for i, o in enumerate(inst.origins):
        ref("origins", i, "supplier", o.supplier, supplier_ids, "supplier")
        ref("origins", i, "material", o.material, material_ids, "material")
        ref("origins", i, "stage", o.stage, stages, "stage (declared under 'stages')")
        ref("origins", i, "country", o.country, country_ids, "country")
        if o.period is not None and o.period not in periods:
            err("origins", i, f"period {o.period} is not one of the periods "
                f"({', '.join(map(str, inst.periods))})", "period")
    rows = origin_rows(inst)
    for (sup, mat, stage, period), found in rows.items():
        total = sum(inst.origins[i].share for i in found)
        if abs(total - 1.0) > SHARE_TOL:
            when = f" in {period}" if period is not None else ""
            err("origins", found[-1], f"the shares of {mat} at stage {stage} for supplier "
                f"'{sup}'{when} add up to {total:.6g}, not 1 (rows "
                f"{', '.join(str(inst.location('origins', i).row) for i in found)})", "share")
    for i, rule in enumerate(inst.rules):
        if rule.by_origin:
            _check_named(inst, "rules", i, rule.material, rule.stage, rule.periods, err,
                         material_ids, stages, rows, broken)
        if rule.measure == "spend" and inst.price_tiers:
            err("rules", i, "measure: spend cannot be used with price tiers (a tier price "
                "is paid on a supplier's total, not per application)", "measure")
    for i, sc in enumerate(inst.scenarios):
        window = [t for t in inst.periods if (sc.from_ is None or t >= sc.from_)
                  and (sc.until is None or t <= sc.until)]
        for key, f in ((k, f) for k in ("capacity_factor", "price_add")
                       for f in getattr(sc, k) or []):
            if f.by == "origin":
                _check_named(inst, "scenarios", i, f.material, f.stage, window or None, err,
                             material_ids, stages, rows, broken, (key, key))


def _check_named(inst: Instance, table: str, i: int, material: str | None, stage: str | None,
                 periods: list[int] | None, err: Callable[..., None],
                 material_ids: Collection[str], stages: list[str],
                 rows: dict[tuple[str, str, str, int | None], list[int]],
                 broken: dict[str, Any],
                 fields: tuple[str, str] = ("material", "stage")) -> None:
    """A rule or scenario naming a material and stage: both exist, and every
    supplier whose chemistry holds the material has origins there (in every
    period of ``periods``, default all). ``fields`` are where the material and
    the stage are written."""
    if material is None or stage is None:
        return
    ok = True
    if material not in material_ids:
        err(table, i, f"unknown material '{material}'", fields[0])
        ok = False
    if stage not in stages:
        err(table, i, f"unknown stage '{stage}' (declare it under 'stages')", fields[1])
        ok = False
    if not ok or "origins" in broken:
        return
    chems = holders(inst, material)
    missing: list[str] = []
    for s in inst.suppliers:
        if s.chemistry not in chems:
            continue
        for t in periods or inst.periods:
            if (s.id, material, stage, t) not in rows and (s.id, material, stage, None) not in rows:
                missing.append(f"{s.id} ({t})" if (s.id, material, stage, None) not in rows
                               and any(k[:3] == (s.id, material, stage) for k in rows)
                               else s.id)
                break
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                           if len(missing) > 10 else "")
        err(table, i, f"needs the origins of {material} at stage {stage} for every supplier "
            f"whose cells hold it; none for {shown}", fields[0])
