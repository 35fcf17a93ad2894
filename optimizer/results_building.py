"""Results of building supply (SPEC section 8): what was funded, what was
signed, what each costs. Money is in USD million as charged in its period
(not discounted), as the SPEC's outputs ask; the discounted amounts are in
the cost breakdown.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from optimizer.data import ModelData
from optimizer.solver.session import Session

#: volumes and steps below this are solver noise, reported as 0
TINY = 1e-9

EXPANSION_COLUMNS = ["supplier", "period", "steps", "gwh", "available_from", "cost",
                     "expansion"]
CONTRACT_COLUMNS = ["contract", "supplier", "period", "signed", "gwh", "shortfall_gwh",
                    "shortfall_cost", "discount"]


def _clean(v: float) -> float:
    return 0.0 if abs(v) < TINY else float(v)


def funded_steps(data: ModelData, session: Session) -> np.ndarray:
    """Steps funded, per row of ``data.building.funding``."""
    m = session.m
    keys = list(m.FUNDING)
    if not keys:
        return np.zeros(0)
    return np.array([_clean(v) for v in session.values_of([m.fund[k] for k in keys])])


def expansions_table(data: ModelData, session: Session) -> pd.DataFrame:
    """One row per funding decision (steps > 0): supplier, period funded,
    steps, GWh per period added, the first period it is there, and its cost
    (USD million, in the period funded); ``expansion`` is the row of the
    instance's expansions table (1 = the first)."""
    f = data.building.funding
    if f.empty:  # no expansion to fund: no table (a table without columns)
        return pd.DataFrame()
    steps = funded_steps(data, session)
    if not (steps > 0).any():
        return pd.DataFrame(columns=EXPANSION_COLUMNS)
    df = f.assign(steps=steps)
    df = df[df["steps"] > 0]
    return pd.DataFrame({
        "supplier": df["supplier"].to_numpy(),
        "period": df["period"].astype(int).to_numpy(),
        "steps": df["steps"].to_numpy(dtype=float),
        "gwh": (df["steps"] * df["step_gwh"]).to_numpy(dtype=float),
        "available_from": df["available_from"].astype(int).to_numpy(),
        "cost": (df["steps"] * df["cost"]).to_numpy(dtype=float),
        "expansion": df["expansion"].astype(int).to_numpy() + 1,
    }).reset_index(drop=True)


def signed_contracts(data: ModelData, session: Session) -> dict[str, bool]:
    """Contract name -> signed (already, or by the model)."""
    cp = data.building.contract_periods
    m = session.m
    optional = list(m.OPTIONAL_CONTRACTS)
    decided = dict(zip(optional, session.values_of([m.sign[c] for c in optional]),
                       strict=True)) if optional else {}
    out = {}
    for name, signed in zip(cp["contract"], cp["signed"], strict=True):
        out[name] = bool(signed) or float(decided.get(name, 0.0)) > 0.5
    return out


def contracts_table(data: ModelData, session: Session, x: np.ndarray) -> pd.DataFrame:
    """One row per contract and period of its window: signed or not, the
    supplier's GWh in that period, the GWh below the minimum paid for (take or
    pay) and what they cost, and what the discount saved (USD million, in
    that period; 0 for a contract not signed)."""
    cp = data.building.contract_periods
    if cp.empty:  # no contract: no table (a table without columns)
        return pd.DataFrame()
    signed = signed_contracts(data, session)
    delivered: dict[tuple[str, int], float] = {
        key: float(x[pos].sum()) for key, pos in data.lanes_by_supply.items()}
    rows: list[dict[str, Any]] = []
    periods: list[Any] = list(cp.itertuples(index=False))
    for r in periods:
        is_signed = signed[str(r.contract)]
        gwh = _clean(delivered.get((str(r.supplier), int(r.period)), 0.0))
        short = max(0.0, float(r.min_gwh) - gwh) if is_signed and r.take_or_pay else 0.0
        short = _clean(short)
        rows.append({
            "contract": r.contract, "supplier": r.supplier, "period": int(r.period),
            "signed": is_signed, "gwh": gwh, "shortfall_gwh": short,
            "shortfall_cost": short * float(r.unit_price),
            "discount": float(r.discount) * float(r.unit_price) * gwh if is_signed else 0.0,
        })
    return pd.DataFrame(rows, columns=CONTRACT_COLUMNS)


def qualification_table(data: ModelData, x: np.ndarray) -> dict[tuple[str, int], float]:
    """(supplier, period) -> the qualification cost charged there (USD million,
    undiscounted): the first period each supplier with one delivers."""
    cost = data.building.qualification
    out: dict[tuple[str, int], float] = {}
    first: dict[str, int] = {}
    for (s, t), pos in data.lanes_by_supply.items():
        if s in cost and float(x[pos].sum()) > TINY and (s not in first or t < first[s]):
            first[s] = t
    for s, t in first.items():
        out[(s, t)] = cost[s]
    return out


def building_costs(data: ModelData, session: Session, x: np.ndarray,
                   expansions: pd.DataFrame, contracts: pd.DataFrame) -> dict[str, float]:
    """Discounted cost components of building supply (USD million):
    ``expansions`` (funding), ``qualification``, ``contract_shortfall``
    (take-or-pay GWh paid for) and ``contract_discount`` (negative: what
    discounts saved). A discount of an already-signed contract is already in
    the ex-works component (its lanes are priced lower), so it is left out
    here."""
    d = data.discount
    out = {"expansions": 0.0, "qualification": 0.0, "contract_shortfall": 0.0,
           "contract_discount": 0.0}
    if not data.building.links_periods:
        return out
    if len(expansions):
        out["expansions"] = float(sum(d[int(t)] * c for t, c in
                                      zip(expansions["period"], expansions["cost"], strict=True)))
    out["qualification"] = float(sum(d[t] * c for (_, t), c in
                                     qualification_table(data, x).items()))
    if len(contracts):
        already = dict(zip(data.building.contract_periods["contract"],
                           data.building.contract_periods["signed"], strict=True))
        disc = contracts["period"].map(d).to_numpy(dtype=float)
        out["contract_shortfall"] = float((disc * contracts["shortfall_cost"]).sum())
        optional = ~contracts["contract"].map(already).to_numpy(dtype=bool)
        out["contract_discount"] = -float((disc * contracts["discount"])[optional].sum())
    return out


STOCK_COLUMNS = ["application", "period", "level_gwh", "inflow_gwh", "holding_cost"]


def stock_table(data: ModelData, session: Session) -> pd.DataFrame:
    """Per stocked application and period: GWh held at the end of the period,
    GWh put in (negative: taken out to meet demand) and what holding costs in
    that period (USD million, not discounted). A table without columns when
    the instance has no stock."""
    st = data.stock
    if st.empty:
        return pd.DataFrame()
    m = session.m
    keys = list(m.STOCK_LEVELS)
    values = session.values_of([m.level[k] for k in keys])
    level = {k: _clean(float(v)) for k, v in zip(keys, values, strict=True)}
    initial = dict(zip(st["application"], st["initial_gwh"], strict=True))
    hold = dict(zip(st["application"], st["holding_cost"], strict=True))
    rows = []
    for a in st["application"]:
        before = float(initial[a])
        for t in data.periods:
            now = level[(a, t)]
            rows.append((a, t, now, _clean(now - before), now * float(hold[a])))
            before = now
    return pd.DataFrame(rows, columns=STOCK_COLUMNS)
