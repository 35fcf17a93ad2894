"""Checks of the tables that build supply (SPEC section 8), and when funded
capacity can arrive.

An expansion funded in period t serves every period tau >= t + lead_time
within the supplier's availability window (:func:`expansion_arrivals`); a
funding period whose capacity could never arrive is no option at all. A
contract's window holds the instance's periods from ``from`` to ``until``;
two contracts may not cover the same supplier in the same period (both
discounts would apply to the same GWh).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection

from optimizer.input.instance import Instance
from optimizer.input.schema_building import Contract, Expansion


def _window(inst: Instance, supplier: str) -> tuple[int | None, int | None]:
    for s in inst.suppliers:
        if s.id == supplier:
            return s.available_from, s.available_until
    return None, None


def funding_periods(inst: Instance, e: Expansion) -> dict[int, list[int]]:
    """Funding period t -> the periods its capacity serves (in order): every
    period tau >= t + lead_time inside the supplier's availability window.
    Funding periods whose capacity never arrives are left out."""
    lo, hi = _window(inst, e.supplier)
    first = inst.periods[0] if e.first is None else e.first
    last = inst.periods[-1] if e.last is None else e.last
    out: dict[int, list[int]] = {}
    for t in inst.periods:
        if not first <= t <= last:
            continue
        serves = [tau for tau in inst.periods if tau >= t + e.lead_time
                  and (lo is None or tau >= lo) and (hi is None or tau <= hi)]
        if serves:
            out[t] = serves
    return out


def expandable(inst: Instance) -> dict[str, set[int]]:
    """Supplier -> the periods in which some expansion could give it capacity."""
    out: dict[str, set[int]] = defaultdict(set)
    for e in inst.expansions:
        for serves in funding_periods(inst, e).values():
            out[e.supplier].update(serves)
    return dict(out)


def contract_periods(inst: Instance, c: Contract) -> list[int]:
    """The instance's periods a contract covers."""
    return [t for t in inst.periods if (c.from_ is None or t >= c.from_)
            and (c.until is None or t <= c.until)]


def check_building(inst: Instance, err: Callable[..., None],
                   ref: Callable[..., bool], unique: Callable[..., None],
                   supplier_ids: Collection[str], warn: Callable[..., None]) -> None:
    """Every problem of the expansions and contracts tables, and of max_change
    rules' periods, through the validator's ``err``/``ref``/``unique``."""
    periods = inst.periods
    period_list = ", ".join(map(str, periods))
    tiered = {t.supplier for t in inst.price_tiers}
    for i, e in enumerate(inst.expansions):
        if not ref("expansions", i, "supplier", e.supplier, supplier_ids, "supplier"):
            continue
        first = periods[0] if e.first is None else e.first
        last = periods[-1] if e.last is None else e.last
        if not any(first <= t <= last for t in periods):
            err("expansions", i, f"no period of the instance ({period_list}) lies between "
                f"first ({first}) and last ({last}): it could never be funded",
                "first" if e.first is not None else "last")
        elif not funding_periods(inst, e):
            warn("expansions", i, f"the expansion of '{e.supplier}' could never deliver: "
                 f"funded in {first}-{last} with a lead time of {e.lead_time} years, its "
                 "capacity would arrive after the last period or outside the supplier's "
                 "availability", "lead_time")
    unique("contracts", lambda r: r.name, "contract name", "name")
    covered: dict[tuple[str, int], tuple[str, int]] = {}
    for i, c in enumerate(inst.contracts):
        if not ref("contracts", i, "supplier", c.supplier, supplier_ids, "supplier"):
            continue
        window = contract_periods(inst, c)
        if not window:
            err("contracts", i, f"contract '{c.name}' covers no period of the instance "
                f"({period_list})", "from" if c.from_ is not None else "until")
        for t in window:
            other = covered.get((c.supplier, t))
            if other is not None:
                row = inst.location("contracts", other[1]).row
                err("contracts", i, f"contract '{c.name}' covers supplier '{c.supplier}' in "
                    f"{t}, as contract '{other[0]}' (row {row}) does: one contract per "
                    "supplier and period", "supplier")
                break
            covered[(c.supplier, t)] = (c.name, i)
        if c.discount > 0 and c.supplier in tiered and not c.signed:
            err("contracts", i, f"a discount on supplier '{c.supplier}', which has price "
                "tiers, needs signed: true (whether to sign is not modelled with tiers)",
                "discount")
    app_ids = {a.id for a in inst.applications}
    unique("stock", lambda r: r.application, "stock for application", "application")
    for i, st in enumerate(inst.stock):
        ref("stock", i, "application", st.application, app_ids, "application")
    for i, r in enumerate(inst.rules):
        if r.kind == "max_change" and r.periods is not None \
                and not any(t in periods[1:] for t in r.periods):
            err("rules", i, f"max_change compares a period with the one before: "
                f"periods must name one after the first ({periods[0]})", "periods")
