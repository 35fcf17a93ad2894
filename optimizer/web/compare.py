"""Two solves side by side: what each costs, the mix by controlling country
and by company (from their ``shares.csv``), and the rules whose limit or
binding changed (their ``run.json`` and ``rules.csv``). Only files the runs
wrote are read, through :meth:`Workspace.served_file`."""

from __future__ import annotations

from typing import Any

from optimizer.web.workspace import NotFound, Workspace, read_json

#: the cost lines of summary.json's cost_breakdown, in order, with their labels
COST_LINES = (("ex_works", "ex-works price"), ("tariff", "tariffs"), ("freight", "freight"),
              ("carbon", "carbon"), ("fixed", "fixed costs"), ("unmet_penalty", "unmet demand"),
              ("rule_penalties", "rule penalties"), ("total", "total (discounted)"))
MIX_ROWS = 15


def _read(ws: Workspace, run: dict[str, Any], name: str) -> Any:
    import pandas as pd

    try:
        path = ws.served_file(ws.folder("runs", run["id"]) / "out", name)
    except NotFound:
        return None
    if name.endswith(".json"):
        return read_json(path)
    return pd.read_csv(path)


def _mix(shares: Any, by: str) -> dict[str, float]:
    """Each group's share of all GWh bought over every period."""
    if shares is None or shares.empty:
        return {}
    rows = shares[shares["by"] == by]
    total = float(rows["gwh"].sum())
    if total <= 0:
        return {}
    return {str(g): float(v) / total for g, v in rows.groupby("group")["gwh"].sum().items()}


def _binding(rules: Any) -> dict[str, int]:
    if rules is None or rules.empty:
        return {}
    flags = rules["binding"].astype(str).str.lower().eq("true")
    return {str(k): int(v) for k, v in flags.groupby(rules["rule"]).sum().items()}


def comparison(ws: Workspace, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    from optimizer.labels import money, pct

    sa, sb = _read(ws, a, "summary.json") or {}, _read(ws, b, "summary.json") or {}
    ca, cb = sa.get("cost_breakdown") or {}, sb.get("cost_breakdown") or {}
    costs = []
    for key, label in COST_LINES:
        x, y = ca.get(key), cb.get(key)
        if not x and not y and key != "total":
            continue
        change = (y - x) if isinstance(x, (int, float)) and isinstance(y, (int, float)) else None
        costs.append({"label": label, "a": money(x), "b": money(y),
                      "change": f"{change:+,.1f}" if change is not None else "",
                      "total": key == "total"})
    oa, ob = sa.get("objective"), sb.get("objective")
    headline = {"a": money(oa), "b": money(ob),
                "change": f"{ob - oa:+,.1f}" if isinstance(oa, (int, float))
                and isinstance(ob, (int, float)) else ""}
    mixes = []
    sha, shb = _read(ws, a, "shares.csv"), _read(ws, b, "shares.csv")
    for by, title in (("control", "Mix by controlling country"), ("company", "Mix by company")):
        ma, mb = _mix(sha, by), _mix(shb, by)
        groups = sorted(set(ma) | set(mb), key=lambda g: -max(ma.get(g, 0), mb.get(g, 0)))
        rows = []
        for g in groups:
            x, y = ma.get(g, 0.0), mb.get(g, 0.0)
            points = round(100 * (y - x), 1) + 0.0
            rows.append({"group": g, "a": pct(x), "b": pct(y), "change": f"{points:+.1f}"})
        mixes.append({"by": by, "title": title, "rows": rows[:MIX_ROWS],
                      "more": max(0, len(rows) - MIX_ROWS)})
    ra = {r["name"]: r for r in a.get("rules") or []}
    rb = {r["name"]: r for r in b.get("rules") or []}
    ba, bb = _binding(_read(ws, a, "rules.csv")), _binding(_read(ws, b, "rules.csv"))
    changed = []
    for name in [*ra, *[n for n in rb if n not in ra]]:
        x, y = ra.get(name), rb.get(name)
        limit_a = "" if x is None else ("—" if x.get("limit") is None else f"{x['limit']:.12g}")
        limit_b = "" if y is None else ("—" if y.get("limit") is None else f"{y['limit']:.12g}")
        na, nb = ba.get(name, 0), bb.get(name, 0)
        what = []
        if x is None:
            what.append("added")
        elif y is None:
            what.append("dropped")
        elif x.get("limit") != y.get("limit"):
            what.append("limit changed")
        if x is not None and y is not None and (na > 0) != (nb > 0):
            what.append("now binding" if nb else "no longer binding")
        elif na != nb and x is not None and y is not None:
            what.append("binding in more scopes" if nb > na else "binding in fewer scopes")
        if what:
            changed.append({"name": name, "kind": (x or y or {}).get("kind", ""),
                            "limit_a": limit_a or "not in this run",
                            "limit_b": limit_b or "not in this run",
                            "binding_a": na if x is not None else "", "binding_b":
                            nb if y is not None else "", "what": ", ".join(what)})
    return {"costs": costs, "headline": headline, "mixes": mixes, "changed": changed}
