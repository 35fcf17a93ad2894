"""Independent plan checker and cost recomputation (tests only).

check_plan(path_or_dict, allocation_rows, expansions_rows=None, contracts_rows=None,
           tol=1e-6) -> list[str]                                   (empty = valid)
plan_cost(path_or_dict, allocation_rows, expansions_rows=None, contracts_rows=None,
          tol=1e-9) -> float                                        (USD million)
allocation_rows: iterable of mappings with supplier, application, period, gwh.
expansions_rows: rows of expansions.csv (supplier, period, steps, gwh, available_from,
    cost, optionally `expansion` = 0-based index of the instance's expansion row).
contracts_rows: rows of contracts.csv (contract, supplier, period, signed, gwh,
    shortfall_gwh, shortfall_cost, discount), money as charged in the period.
Tolerances are absolute, scaled by max(1, X) for share/average rules (and by
max(1, value) for the money columns of expansions and contracts).
"""
from .load import Data, _bool, sid


def _plan(rows):
    plan = {}
    for r in rows:
        key = (sid(r["supplier"]), sid(r["application"]), int(float(r["period"])))
        plan[key] = plan.get(key, 0.0) + float(r["gwh"])
    return plan


def _num(v, default=0.0):
    if v is None or (isinstance(v, str) and v.strip() == ""):
        return default
    return float(v)


def _close(a, b, tol):
    return abs(a - b) <= tol * max(1.0, abs(a), abs(b))


def _funding(d, expansions_rows, errs):
    """expansions.csv rows -> {(expansion index, period): steps}; row-level
    problems (unknown supplier, ambiguous row) go to errs."""
    funding = {}
    for i, r in enumerate(expansions_rows or []):
        s, t, q = sid(r["supplier"]), int(float(r["period"])), _num(r.get("steps"))
        where = f"expansions row {i + 1} ({s}, {t})"
        if _num(r.get("expansion"), None) is not None:
            e = int(float(r["expansion"]))
            if not 0 <= e < len(d.expansions) or d.expansions[e]["supplier"] != s:
                errs.append(f"{where}: expansion {e} is not an expansion of {s}")
                continue
        else:
            cands = [e for e, x in enumerate(d.expansions) if x["supplier"] == s]
            if len(cands) > 1:      # tell them apart by step size and funding window
                g = _num(r.get("gwh"), None)
                cands = [e for e in cands if t in d.fund_periods(e)
                         and (g is None or abs(q * d.expansions[e]["step_gwh"] - g) <= 1e-6)]
            if len(cands) != 1:
                errs.append(f"{where}: {'no' if not cands else 'ambiguous'} expansion of {s}")
                continue
            e = cands[0]
        funding[e, t] = funding.get((e, t), 0.0) + q
    return funding


def _volumes(plan):
    vol = {}
    for (s, _, t), q in plan.items():
        vol[s, t] = vol.get((s, t), 0.0) + q
    return vol


def _signed(d, contracts_rows):
    """{contract name: signed?}: from the rows, and always for `signed: true`."""
    out = {c["name"]: c["signed"] for c in d.contracts}
    for r in contracts_rows or []:
        name = sid(r["contract"])
        if name in out and _bool(r.get("signed", False)):
            out[name] = True
    return out


def check_plan(path_or_dict, allocation_rows, expansions_rows=None, contracts_rows=None,
               tol=1e-6):
    d = Data(path_or_dict)
    plan = _plan(allocation_rows)
    errs = []
    funding = _funding(d, expansions_rows, errs)
    errs += _check_funding(d, funding, expansions_rows or [], tol)
    y, bought = {}, {}
    for (s, a, t), q in sorted(plan.items()):
        lane = f"lane ({s}, {a}, {t})"
        if s not in d.sup or a not in d.apps or t not in d.df:
            errs.append(f"{lane}: unknown supplier, application or period")
            continue
        if q < -tol:
            errs.append(f"{lane}: negative volume {q:g}")
        if q > tol:
            why = d.ineligible(s, a, t)
            if why:
                errs.append(f"{lane}: ineligible ({why}), volume {q:g}")
        y[s, t] = y.get((s, t), 0.0) + q
        bought[a, t] = bought.get((a, t), 0.0) + q
    for (s, t), q in sorted(y.items()):
        cap = d.funded_cap(s, t, funding)
        if q > cap + tol:
            errs.append(f"capacity of {s} in {t} exceeded: {q:g} > {cap:g}")
        mo = d.sup[s].get("min_order", 0.0)
        if tol < q < mo - tol:
            errs.append(f"min_order of {s} in {t} violated: {q:g} < {mo:g}")
    for a in d.apps:
        for t in d.periods:
            dem, q = d.demand.get((a, t), 0.0), bought.get((a, t), 0.0)
            if q > dem + tol:
                errs.append(f"demand of {a} in {t} over-bought: {q:g} > {dem:g}")
            elif q < dem - tol and d.apps[a].get("unmet_penalty") is None:
                errs.append(f"demand of {a} in {t} unmet: {q:g} < {dem:g} (no unmet_penalty)")
    for r in d.rules:
        errs += _check_rule(d, r, plan, tol)
    errs += _check_contracts(d, plan, contracts_rows, tol)
    return errs


def _check_funding(d, funding, expansions_rows, tol):
    errs = []
    for (e, t), q in sorted(funding.items()):
        ex = d.expansions[e]
        where = f"expansion {e} of {ex['supplier']} funded in {t}"
        if q < -tol:
            errs.append(f"{where}: negative steps {q:g}")
        if abs(q) > tol and t not in d.fund_periods(e):
            errs.append(f"{where}: outside its funding window")
        if ex["integer"] and abs(q - round(q)) > tol:
            errs.append(f"{where}: {q:g} steps is not an integer")
    for e, ex in enumerate(d.expansions):
        tot = sum(q for (e2, _), q in funding.items() if e2 == e)
        if tot > ex["max_steps"] + tol:
            errs.append(f"expansion {e} of {ex['supplier']}: {tot:g} steps > max_steps "
                        f"{ex['max_steps']:g}")
    for i, r in enumerate(expansions_rows):       # the row's own columns
        s, t, q = sid(r["supplier"]), int(float(r["period"])), _num(r.get("steps"))
        es = [e for (e, tt) in funding if tt == t and d.expansions[e]["supplier"] == s]
        if _num(r.get("expansion"), None) is not None:
            es = [int(float(r["expansion"]))]
        if len(es) != 1 or es[0] >= len(d.expansions) or d.expansions[es[0]]["supplier"] != s:
            continue
        ex, where = d.expansions[es[0]], f"expansions row {i + 1} ({s}, {t})"
        for col, want in (("gwh", q * ex["step_gwh"]), ("cost", q * ex["cost"])):
            if col in r and not _close(_num(r[col]), want, tol):
                errs.append(f"{where}: {col} {_num(r[col]):g} != {want:g}")
        af = d.available_from(es[0], t)
        if _num(r.get("available_from"), None) is not None and af is not None \
                and int(float(r["available_from"])) != af:
            errs.append(f"{where}: available_from {r['available_from']} != {af}")
    return errs


def _check_contracts(d, plan, contracts_rows, tol):
    """Signed contracts' minimum (unless take-or-pay) and maximum on the plan's
    volumes; with rows, also that each row agrees with the plan and the data."""
    errs, vol = [], _volumes(plan)
    signed = _signed(d, contracts_rows)
    by_name = {c["name"]: c for c in d.contracts}
    for c in d.contracts:
        if not signed[c["name"]]:
            continue
        s, mn, mx = c["supplier"], c["min_gwh"], c.get("max_gwh")
        for t in d.contract_window(c):
            v = vol.get((s, t), 0.0)
            where = f"contract {c['name']} ({s}) in {t}"
            if not c["take_or_pay"] and v < mn - tol:
                errs.append(f"{where}: volume {v:g} < min_gwh {mn:g}")
            if mx is not None and v > mx + tol:
                errs.append(f"{where}: volume {v:g} > max_gwh {mx:g}")
    if contracts_rows is None:
        return errs
    seen = set()
    for i, r in enumerate(contracts_rows):
        name, s, t = sid(r["contract"]), sid(r["supplier"]), int(float(r["period"]))
        where = f"contracts row {i + 1} ({name}, {t})"
        c = by_name.get(name)
        if c is None:
            errs.append(f"{where}: unknown contract")
            continue
        if s != c["supplier"]:
            errs.append(f"{where}: supplier {s} != {c['supplier']}")
        if t not in d.contract_window(c):
            errs.append(f"{where}: outside the contract's window")
            continue
        seen.add((name, t))
        sg = _bool(r.get("signed", False))
        if c["signed"] and not sg:
            errs.append(f"{where}: signed in the instance but not in the row")
        if sg != signed[name]:
            errs.append(f"{where}: signed in some periods of the contract only")
        v = vol.get((c["supplier"], t), 0.0)
        if not _close(_num(r.get("gwh")), v, tol):
            errs.append(f"{where}: gwh {_num(r.get('gwh')):g} != plan volume {v:g}")
        sh = max(0.0, c["min_gwh"] - v) if sg and c["take_or_pay"] else 0.0
        if not _close(_num(r.get("shortfall_gwh")), sh, tol):
            errs.append(f"{where}: shortfall_gwh {_num(r.get('shortfall_gwh')):g} != {sh:g}")
        if sg and (sh > 0 or c["discount"] > 0):
            p = d.ex_price(c["supplier"], t)
            money = (("shortfall_cost", sh * p), ("discount", c["discount"] * p * v))
        else:
            money = (("shortfall_cost", 0.0), ("discount", 0.0))
        for col, want in money:
            if not _close(_num(r.get(col)), want, tol):
                errs.append(f"{where}: {col} {_num(r.get(col)):g} != {want:g}")
    for c in d.contracts:
        for t in d.contract_window(c):
            if (c["name"], t) not in seen:
                errs.append(f"contract {c['name']}: no row for {t}")
    return errs


def _check_rule(d, r, plan, tol):
    kind, lim, name = r["kind"], r.get("limit"), r["name"]
    if r.get("penalty") is not None:
        return []                     # a soft rule may be missed: its price is in the objective
    if kind == "exclude":
        return []                     # reported per lane as ineligible
    if kind == "max_change":
        return _check_change(d, r, plan, tol)
    errs = []
    groups = d.rule_groups(r) if r.get("by") != "origin" else []
    for (t, aa) in d.rule_scopes(r):
        vols = [(s, a, q) for (s, a, tt), q in plan.items() if tt == t and a in aa and s in d.sup]
        X = sum(q for _, _, q in vols)
        scope = f"rule {name} ({kind}) period {t}" + \
            (f" application {aa[0]}" if r.get("per_application") else "")
        et = tol * max(1.0, X)
        if kind in ("max_count", "min_count"):
            thr = r.get("threshold", 0.0)
            Vs = {g: sum(q for s, _, q in vols if s in mem) for g, mem in groups}
            if kind == "max_count":
                n = sum(1 for v in Vs.values() if v > thr * X + et)
                if n > lim:
                    errs.append(f"{scope}: {n} groups above threshold > limit {lim:g}")
            else:
                n = sum(1 for v in Vs.values() if v >= thr * X - et)
                if n < lim:
                    errs.append(f"{scope}: {n} groups at/above threshold < limit {lim:g}")
            continue
        if r.get("by") == "origin" or r.get("measure") == "spend":
            errs += _check_weighted(d, r, t, vols, scope, tol)
            continue
        for g, mem in groups:
            V = sum(q for s, _, q in vols if s in mem)
            where = f"{scope}" + ("" if g == "*" else f" group {g}")
            if kind == "max_share" and lim * X + et < V:
                errs.append(f"{where}: share {V / X:.6g} > limit {lim:g}")
            elif kind == "min_share" and lim * X - et > V:
                errs.append(f"{where}: share {V / X if X else 0:.6g} < limit {lim:g}")
            elif kind == "max_volume" and lim + tol < V:
                errs.append(f"{where}: volume {V:g} > limit {lim:g}")
            elif kind == "min_volume" and lim - tol > V:
                errs.append(f"{where}: volume {V:g} < limit {lim:g}")
            elif kind in ("max_average", "min_average"):
                mv = [(s, q) for s, _, q in vols if s in mem and abs(q) > tol]
                W = sum(q for _, q in mv)
                S = sum((d.attr(s, r["attribute"]) - lim) * q for s, q in mv)
                avg = lim + S / W if W else float("nan")
                if kind == "max_average" and et < S:
                    errs.append(f"{where}: average {avg:.6g} > limit {lim:g}")
                if kind == "min_average" and -et > S:
                    errs.append(f"{where}: average {avg:.6g} < limit {lim:g}")
            elif kind in ("max_top_share", "max_hhi"):
                raise NotImplementedError(kind)
    return errs


def _check_change(d, r, plan, tol):
    """max_change: |V_g(t) - V_g(t_prev)| <= limit for each group, covered
    application set and covered period other than the instance's first."""
    errs, lim = [], r["limit"]
    for (t, aa) in d.rule_scopes(r):
        k = d.periods.index(t)
        if k == 0:
            continue
        tp = d.periods[k - 1]
        for g, mem in d.rule_groups(r):
            now, before = (sum(q for (s, a, t2), q in plan.items()
                               if t2 == tt and a in aa and s in mem) for tt in (t, tp))
            ch = now - before
            if abs(ch) > lim + tol:
                errs.append(f"rule {r['name']} (max_change) period {t}"
                            + (f" application {aa[0]}" if r.get("per_application") else "")
                            + ("" if g == "*" else f" group {g}")
                            + f": change {ch:+g} from {tp} beyond limit {lim:g}")
    return errs


def _check_weighted(d, r, t, vols, scope, tol):
    """Rules by origin (kt of a material by country, SPEC section 7) and share
    rules measured in spend (landed cost)."""
    kind, lim = r["kind"], r.get("limit")
    if r.get("by") == "origin":
        m, k = r["material"], r["stage"]
        X = sum(q * d.kg(s, m) for s, _, q in vols)
        countries = sorted({c for s in d.sup for c in d.origin(s, m, k, t)})
        if r.get("group"):
            groups = [("+".join(r["group"]), set(r["group"]))]
        else:
            groups = [(c, {c}) for c in countries]
        V = {g: sum(q * d.kg(s, m) * d.q(s, m, k, G, t) for s, _, q in vols)
             for g, G in groups}
    else:
        X = sum(q * d.unit_cost(s, a, t) for s, a, q in vols)
        V = {g: sum(q * d.unit_cost(s, a, t) for s, a, q in vols if s in mem)
             for g, mem in d.rule_groups(r)}
    et = tol * max(1.0, X)
    errs = []
    if kind == "max_top_share":
        top = sum(sorted(V.values(), reverse=True)[:r["k"]])
        if top > lim * X + et:
            errs.append(f"{scope}: top {r['k']} share {top / X:.6g} > limit {lim:g}")
        return errs
    if kind == "max_hhi":
        hhi = sum((v / X) ** 2 for v in V.values()) if tol < X else 0.0
        if hhi > lim + 1e-6:
            errs.append(f"{scope}: HHI {hhi:.6g} > limit {lim:g}")
        return errs
    for g, v in V.items():
        where = f"{scope} group {g}"
        if kind == "max_share" and lim * X + et < v:
            errs.append(f"{where}: share {v / X:.6g} > limit {lim:g}")
        elif kind == "min_share" and lim * X - et > v:
            errs.append(f"{where}: share {v / X if X else 0:.6g} < limit {lim:g}")
        elif kind == "max_volume" and lim + tol < v:
            errs.append(f"{where}: volume {v:g} kt > limit {lim:g}")
        elif kind == "min_volume" and lim - tol > v:
            errs.append(f"{where}: volume {v:g} kt < limit {lim:g}")
    return errs


def plan_cost(path_or_dict, allocation_rows, expansions_rows=None, contracts_rows=None,
              tol=1e-9):
    """Discounted landed cost + unmet penalties + fixed costs of a plan, + funded
    expansions, qualification costs, take-or-pay shortfalls - contract discounts.
    Contract money is recomputed from the data and the plan (signed contracts:
    `signed: true` in the instance or in a row), not read from the rows."""
    d = Data(path_or_dict)
    plan = _plan(allocation_rows)
    errs = []
    funding = _funding(d, expansions_rows, errs)
    if errs:
        raise ValueError("; ".join(errs))
    total = sum(d.df[t] * d.expansions[e]["cost"] * q for (e, t), q in funding.items())
    vol = _volumes(plan)
    for s, sp in d.sup.items():
        qc = sp.get("qualification_cost", 0.0)
        first = next((t for t in d.periods if vol.get((s, t), 0.0) > tol), None)
        if qc and first is not None:
            total += d.df[first] * qc
    signed = _signed(d, contracts_rows)
    for c in d.contracts:
        if not signed[c["name"]]:
            continue
        for t in d.contract_window(c):
            v, s = vol.get((c["supplier"], t), 0.0), c["supplier"]
            sh = max(0.0, c["min_gwh"] - v) if c["take_or_pay"] else 0.0
            if sh > 0 or c["discount"] > 0:
                total += d.df[t] * d.ex_price(s, t) * (sh - c["discount"] * v)
    y, bought = {}, {}
    for (s, a, t), q in plan.items():
        y[s, t] = y.get((s, t), 0.0) + q
        bought[a, t] = bought.get((a, t), 0.0) + q
        if d.tiers(s, t):
            total += d.df[t] * d.lane_extra(s, a) * q
        elif q != 0:
            total += d.df[t] * d.unit_cost(s, a, t) * q
    for (s, t), q in y.items():
        if d.tiers(s, t):
            total += d.df[t] * d.tier_cost(s, t, q)
        if q > tol:
            total += d.df[t] * d.sup[s].get("fixed_cost", 0.0)
    for (a, t), dem in d.demand.items():
        pen = d.apps[a].get("unmet_penalty")
        if pen is not None and t in d.df:
            total += d.df[t] * pen * max(0.0, dem - bought.get((a, t), 0.0))
    for r in d.rules:
        if r.get("penalty") is not None:
            total += _soft_cost(d, r, plan)
    return total


def _soft_cost(d, r, plan):
    """What a soft share or volume rule's misses cost: per scope and group, the
    discounted penalty times how far the plan is past the limit (GWh, or kt for
    a rule by origin)."""
    kind, lim, cost = r["kind"], r["limit"], 0.0
    if kind not in ("max_share", "min_share", "max_volume", "min_volume") \
            or r.get("measure") == "spend":
        raise NotImplementedError(f"soft {kind}")
    for (t, aa) in d.rule_scopes(r):
        vols = [(s, q) for (s, a, tt), q in plan.items() if tt == t and a in aa and s in d.sup]
        if r.get("by") == "origin":
            m, k = r["material"], r["stage"]
            X = sum(q * d.kg(s, m) for s, q in vols)
            groups = [set(r["group"])] if r.get("group") else \
                [{c} for c in sorted({c for s in d.sup for c in d.origin(s, m, k, t)})]
            Vs = [sum(q * d.kg(s, m) * d.q(s, m, k, G, t) for s, q in vols) for G in groups]
        else:
            X = sum(q for _, q in vols)
            Vs = [sum(q for s, q in vols if s in mem) for _, mem in d.rule_groups(r)]
        for V in Vs:
            bound = lim * X if kind.endswith("share") else lim
            over = V - bound if kind.startswith("max") else bound - V
            cost += d.df[t] * r["penalty"] * max(0.0, over)
    return cost
