"""Independent plan checker and cost recomputation (tests only).

check_plan(path_or_dict, allocation_rows, tol=1e-6) -> list[str]   (empty = valid)
plan_cost(path_or_dict, allocation_rows, tol=1e-9) -> float        (USD million)
allocation_rows: iterable of mappings with supplier, application, period, gwh.
Tolerances are absolute, scaled by max(1, X) for share/average rules.
"""
from .load import Data, sid


def _plan(rows):
    plan = {}
    for r in rows:
        key = (sid(r["supplier"]), sid(r["application"]), int(float(r["period"])))
        plan[key] = plan.get(key, 0.0) + float(r["gwh"])
    return plan


def check_plan(path_or_dict, allocation_rows, tol=1e-6):
    d = Data(path_or_dict)
    plan = _plan(allocation_rows)
    errs = []
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
        cap = d.cap(s, t)
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
    return errs


def _check_rule(d, r, plan, tol):
    kind, lim, name = r["kind"], r.get("limit"), r["name"]
    if r.get("penalty") is not None:
        return []                     # a soft rule may be missed: its price is in the objective
    if kind == "exclude":
        return []                     # reported per lane as ineligible
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


def plan_cost(path_or_dict, allocation_rows, tol=1e-9):
    """Discounted landed cost + unmet penalties + fixed costs of a plan."""
    d = Data(path_or_dict)
    plan = _plan(allocation_rows)
    total, y, bought = 0.0, {}, {}
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
