"""Independent reference MILP of the sourcing model (tests only), on highspy.

solve(path_or_dict, drop_rules=(), override_limits=None) -> dict
    status: 'optimal' | 'infeasible'; objective: USD million (discounted);
    x: {(supplier, application, period): gwh > 1e-9}; unmet: {(application, period): gwh};
    expansions: {(expansion index, funding period): steps > 1e-9};
    contracts: {name: 0 or 1} (1 = signed); shortfall: {(contract, period): gwh > 1e-9}.
tables(path_or_dict, result) -> (allocation_rows, expansions_rows, contracts_rows)
    the solution as rows of allocation.csv, expansions.csv and contracts.csv.
"""
import highspy
import numpy as np

from .load import Data

UNSUPPORTED = ("max_top_share", "max_hhi")


class _Builder:
    def __init__(self):
        self.lb, self.ub, self.cost, self.integ = [], [], [], []
        self.rows = []          # (coefs: dict col -> val, lo, hi)

    def var(self, lb=0.0, ub=np.inf, cost=0.0, binary=False, integer=False):
        self.lb.append(lb), self.ub.append(1.0 if binary else ub)
        self.cost.append(cost), self.integ.append(1 if binary or integer else 0)
        return len(self.lb) - 1

    def row(self, coefs, lo=-np.inf, hi=np.inf):
        c = {}
        for j, v in coefs:
            c[j] = c.get(j, 0.0) + v
        self.rows.append((c, lo, hi))

    def solve(self):
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("mip_rel_gap", 1e-9)
        h.setOptionValue("mip_abs_gap", 1e-9)
        h.setOptionValue("mip_feasibility_tolerance", 1e-9)
        h.setOptionValue("primal_feasibility_tolerance", 1e-9)
        n, m = len(self.lb), len(self.rows)
        if n == 0:                                    # nothing to decide
            ok = all(lo <= 1e-9 and hi >= -1e-9 for _, lo, hi in self.rows)
            return ("optimal", 0.0, []) if ok else ("infeasible", None, None)
        cols = [[] for _ in range(n)]                 # column-wise matrix
        for i, (c, _, _) in enumerate(self.rows):
            for j, v in c.items():
                if v != 0:
                    cols[j].append((i, v))
        start = np.cumsum([0] + [len(c) for c in cols]).astype(np.int32)
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n, m
        lp.col_cost_ = np.array(self.cost, dtype=float)
        lp.col_lower_ = np.array(self.lb, dtype=float)
        lp.col_upper_ = np.array(self.ub, dtype=float)
        lp.row_lower_ = np.array([r[1] for r in self.rows], dtype=float)
        lp.row_upper_ = np.array([r[2] for r in self.rows], dtype=float)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_ = start
        lp.a_matrix_.index_ = np.array([i for c in cols for i, _ in c], dtype=np.int32)
        lp.a_matrix_.value_ = np.array([v for c in cols for _, v in c], dtype=float)
        if any(self.integ):
            lp.integrality_ = [highspy.HighsVarType.kInteger if k else
                               highspy.HighsVarType.kContinuous for k in self.integ]
        h.passModel(lp)
        h.run()
        st = h.getModelStatus()
        if st == highspy.HighsModelStatus.kOptimal:
            return "optimal", h.getInfo().objective_function_value, list(h.getSolution().col_value)
        if st in (highspy.HighsModelStatus.kInfeasible,
                  highspy.HighsModelStatus.kUnboundedOrInfeasible):
            return "infeasible", None, None
        raise RuntimeError(f"HiGHS status {h.modelStatusToString(st)}")


def solve(path_or_dict, drop_rules=(), override_limits=None, lane_weight=None, budget=None):
    """The reference optimum. With ``budget`` (USD million) and ``lane_weight``
    (a function of (supplier, application, period) giving each purchase's
    weight), it instead minimizes sum weight x x over the plans whose cost (the
    objective as usual) is at most ``budget`` (near-optimal ranges, SPEC
    section 9); ``objective`` is then that weighted sum."""
    d = Data(path_or_dict, drop_rules, override_limits)
    # rules by origin (SPEC section 7): V = sum x kg q(G), X = sum x kg over the scope
    for r in d.rules:
        soft_ok = r["kind"] in ("max_share", "min_share", "max_volume", "min_volume") \
            and r.get("measure") != "spend"
        if r["kind"] in UNSUPPORTED or (r.get("penalty") is not None and not soft_ok):
            raise NotImplementedError(f"rule {r['name']}: {r['kind']}"
                                      + (" (soft)" if r.get("penalty") is not None else ""))
    B = _Builder()
    dem = lambda a, t: d.demand.get((a, t), 0.0)  # noqa: E731
    lanes = [(s, a, t) for (s, a, t) in d.lanes() if dem(a, t) > 0]
    st_lanes = {}
    for (s, a, t) in lanes:
        st_lanes.setdefault((s, t), []).append(a)
    # per supplier-period: big-M = what it can possibly deliver (U[s,t]: base
    # capacity plus every expansion that could have arrived, capped by demand)
    M = {(s, t): min(d.max_cap(s, t), sum(dem(a, t) for a in aa))
         for (s, t), aa in st_lanes.items()}
    U = lambda s, t: M.get((s, t), 0.0)  # noqa: E731
    tiered = {k for k in st_lanes if d.tiers(*k)}
    # contracts signed in the instance lower the lane cost by their discount
    disc = {}
    for c in d.contracts:
        if c["signed"] and c["discount"] > 0:
            for t in d.contract_window(c):
                if (c["supplier"], t) in st_lanes:
                    disc[c["supplier"], t] = c["discount"] * d.ex_price(c["supplier"], t)

    x = {}
    for (s, a, t) in lanes:
        c = d.lane_extra(s, a) if (s, t) in tiered else d.unit_cost(s, a, t)
        c -= disc.get((s, t), 0.0)
        x[s, a, t] = B.var(ub=min(d.max_cap(s, t), dem(a, t)), cost=d.df[t] * c)
    V = lambda s, t: [(x[s, a, t], 1.0) for a in st_lanes.get((s, t), [])]  # noqa: E731

    # co-funded capacity: n[e,t] steps of expansion e funded in t
    n = {}
    for e, ex in enumerate(d.expansions):
        for t in d.fund_periods(e):
            n[e, t] = B.var(ub=ex["max_steps"], cost=d.df[t] * ex["cost"],
                            integer=ex["integer"])
        if any(k[0] == e for k in n):
            B.row([(j, 1.0) for (e2, _), j in n.items() if e2 == e], hi=ex["max_steps"])

    # demand: bought + unmet = demand
    u = {}
    for (a, t), q in d.demand.items():
        if t not in d.df or q <= 0:
            continue
        coefs = [(x[s, a2, t2], 1.0) for (s, a2, t2) in lanes if a2 == a and t2 == t]
        pen = d.apps[a].get("unmet_penalty")
        if pen is not None:
            u[a, t] = B.var(ub=q, cost=d.df[t] * pen)
            coefs.append((u[a, t], 1.0))
        B.row(coefs, q, q)

    for (s, t), aa in st_lanes.items():
        y = [(x[s, a, t], 1.0) for a in aa]
        added = [(j, -d.expansions[e]["step_gwh"]) for (e, tf), j in n.items()
                 if d.expansions[e]["supplier"] == s and d.arrives(e, tf, t)]
        B.row(y + added, hi=d.cap(s, t))                           # capacity
        sp = d.sup[s]
        fc, mo = sp.get("fixed_cost", 0.0), sp.get("min_order", 0.0)
        if fc > 0 or mo > 0:                       # delivers in t <=> z = 1
            z = B.var(binary=True, cost=d.df[t] * fc)
            B.row([*y, (z, -M[s, t])], hi=0.0)
            if mo > 0:
                B.row([*y, (z, -mo)], lo=0.0)
        if (s, t) in tiered:                       # incremental tiers on the total
            tiers = [(b, p) for b, p in d.tiers(s, t) if b < M[s, t] or b == 0]
            tf = d.df[t] * (1 + d.tariff(s, t))
            q, w = [], []
            for k, (b, p) in enumerate(tiers):
                top = tiers[k + 1][0] if k + 1 < len(tiers) else M[s, t]
                w.append(top - b)
                q.append(B.var(ub=top - b, cost=tf * p))
            B.row(y + [(qk, -1.0) for qk in q], 0.0, 0.0)
            if any(tiers[k + 1][1] < tiers[k][1] for k in range(len(tiers) - 1)):
                for k in range(1, len(tiers)):     # tier k only once tier k-1 is full
                    delta = B.var(binary=True)
                    B.row([(q[k], 1.0), (delta, -w[k])], hi=0.0)
                    B.row([(q[k - 1], 1.0), (delta, -w[k - 1])], lo=0.0)

    # qualification: once, in the first period s delivers (start[s,t] = 1 at or before it)
    for s, sp in d.sup.items():
        qc = sp.get("qualification_cost", 0.0)
        ts = [t for t in d.periods if (s, t) in st_lanes]
        if not qc > 0 or not ts:
            continue
        start = {t: B.var(binary=True, cost=d.df[t] * qc) for t in ts}
        B.row([(j, 1.0) for j in start.values()], hi=1.0)
        for t in ts:
            B.row(V(s, t) + [(start[tt], -M[s, t]) for tt in ts if tt <= t], hi=0.0)

    # offtake contracts: y_c (constant 1 when signed in the instance)
    yc, short = {}, {}
    for c in d.contracts:
        s, signed = c["supplier"], c["signed"]
        y = None if signed else B.var(binary=True)
        yc[c["name"]] = y
        mn, mx, dl = c["min_gwh"], c.get("max_gwh"), c["discount"]
        for t in d.contract_window(c):
            # minimum: V + short >= min * y
            lhs = V(s, t) + ([] if signed else [(y, -mn)])
            lo = mn if signed else 0.0
            if c["take_or_pay"] and mn > 0:
                short[c["name"], t] = j = B.var(cost=d.df[t] * d.ex_price(s, t))
                lhs.append((j, 1.0))
            B.row(lhs, lo=lo)
            # maximum: V <= max + U (1 - y)
            if mx is not None:
                if signed:
                    B.row(V(s, t), hi=mx)
                else:
                    B.row([*V(s, t), (y, U(s, t))], hi=mx + U(s, t))
            # discount on every GWh while signed (signed: in the lane cost above)
            if dl > 0 and not signed and (s, t) in st_lanes:
                w = B.var(ub=U(s, t), cost=-d.df[t] * dl * d.ex_price(s, t))
                B.row([*V(s, t), (w, -1.0)], lo=0.0)
                B.row([(w, 1.0), (y, -U(s, t))], hi=0.0)

    def miss(r, t, upper):
        """A soft rule's miss (in the rule's unit) at the discounted penalty:
        -miss in a <= row, +miss in a >= row; nothing for a hard rule."""
        if r.get("penalty") is None:
            return []
        return [(B.var(cost=d.df[t] * r["penalty"]), -1.0 if upper else 1.0)]

    for r in d.rules:
        kind, lim = r["kind"], r.get("limit")
        if kind == "exclude":
            continue                               # lanes already removed
        if kind == "max_change":                   # |V_g(t) - V_g(t_prev)| <= limit
            if r.get("by") == "origin" or r.get("measure") == "spend":
                raise NotImplementedError(f"rule {r['name']}: max_change by origin/spend")
            for (t, aa) in d.rule_scopes(r):
                k = d.periods.index(t)
                if k == 0:
                    continue
                tp = d.periods[k - 1]
                for _, mem in d.rule_groups(r):
                    now = [(x[s, a, t], 1.0) for a in aa for s in mem if (s, a, t) in x]
                    before = [(x[s, a, tp], -1.0) for a in aa for s in mem if (s, a, tp) in x]
                    if now or before:
                        B.row(now + before, lo=-lim, hi=lim)
            continue
        groups = d.rule_groups(r) if r.get("by") != "origin" else []
        for (t, aa) in d.rule_scopes(r):
            L = [(s, a) for a in aa for s in d.sup if (s, a, t) in x]
            X = [(x[s, a, t], 1.0) for (s, a) in L]
            Dmax = sum(dem(a, t) for a in aa)
            if kind in ("max_count", "min_count"):
                thr = r.get("threshold", 0.0)
                bs = []
                for _, mem in groups:
                    V = [(x[s, a, t], 1.0) for (s, a) in L if s in mem]
                    b = B.var(binary=True)
                    bs.append((b, 1.0))
                    if kind == "max_count":        # b = 0 => V <= thr X
                        Mg = min(Dmax, sum(d.max_cap(s, t) for s in mem
                                           if any((s, a, t) in x for a in aa)))
                        B.row(V + [(j, -thr) for j, _ in X] + [(b, -Mg)], hi=0.0)
                    else:                          # b = 1 => V >= thr X
                        Mg = thr * Dmax
                        B.row(V + [(j, -thr) for j, _ in X] + [(b, -Mg)], lo=-Mg)
                if kind == "max_count":
                    B.row(bs, hi=lim)
                else:
                    B.row(bs, lo=lim)
                continue
            if r.get("by") == "origin":             # kt of a material by country
                m, k = r["material"], r["stage"]
                X = [(x[s, a, t], d.kg(s, m)) for (s, a) in L]
                if r.get("group"):
                    countries = [set(r["group"])]
                else:
                    countries = [{c} for c in sorted({c for s in d.sup for c in
                                                      d.origin(s, m, k, t)})]
                for G in countries:
                    V = [(x[s, a, t], d.kg(s, m) * d.q(s, m, k, G, t)) for (s, a) in L]
                    V += miss(r, t, kind.startswith("max"))
                    if kind == "max_share":
                        B.row(V + [(j, -lim * w) for j, w in X], hi=0.0)
                    elif kind == "min_share":
                        B.row(V + [(j, -lim * w) for j, w in X], lo=0.0)
                    elif kind == "max_volume":
                        B.row(V, hi=lim)
                    elif kind == "min_volume":
                        B.row(V, lo=lim)
                    else:
                        raise NotImplementedError(kind)
                continue
            if r.get("measure") == "spend":         # landed cost instead of GWh
                X = [(x[s, a, t], d.unit_cost(s, a, t)) for (s, a) in L]
                for _, mem in groups:
                    V = [(x[s, a, t], d.unit_cost(s, a, t)) for (s, a) in L if s in mem]
                    B.row(V + [(j, -lim * w) for j, w in X],
                          **({"hi": 0.0} if kind == "max_share" else {"lo": 0.0}))
                continue
            for _, mem in groups:
                V = [(x[s, a, t], 1.0) for (s, a) in L if s in mem]
                if kind in ("max_share", "min_share", "max_volume", "min_volume"):
                    V += miss(r, t, kind.startswith("max"))
                if kind == "max_share":
                    B.row(V + [(j, -lim) for j, _ in X], hi=0.0)
                elif kind == "min_share":
                    B.row(V + [(j, -lim) for j, _ in X], lo=0.0)
                elif kind == "max_volume":
                    B.row(V, hi=lim)
                elif kind == "min_volume":
                    B.row(V, lo=lim)
                elif kind in ("max_average", "min_average"):
                    A = [(x[s, a, t], d.attr(s, r["attribute"]) - lim)
                         for (s, a) in L if s in mem]
                    B.row(A, hi=0.0) if kind == "max_average" else B.row(A, lo=0.0)
                else:
                    raise NotImplementedError(kind)

    if budget is not None:
        B.row([(j, c) for j, c in enumerate(B.cost) if c != 0], hi=budget)
        weight = lane_weight or (lambda s, a, t: 0.0)
        B.cost = [0.0] * len(B.cost)
        for (s, a, t), j in x.items():
            B.cost[j] = float(weight(s, a, t))
    status, obj, sol = B.solve()
    if status != "optimal":
        return {"status": status, "objective": None, "x": {}, "unmet": {}, "expansions": {},
                "contracts": {}, "shortfall": {}}
    return {"status": "optimal", "objective": obj,
            "x": {k: sol[j] for k, j in x.items() if sol[j] > 1e-9},
            "unmet": {k: sol[j] for k, j in u.items() if sol[j] > 1e-9},
            "expansions": {k: sol[j] for k, j in n.items() if sol[j] > 1e-9},
            "contracts": {c: 1 if j is None else round(sol[j]) for c, j in yc.items()},
            "shortfall": {k: sol[j] for k, j in short.items() if sol[j] > 1e-9}}


def tables(path_or_dict, result):
    """A solve() result as rows of allocation.csv, expansions.csv (with the
    `expansion` index column) and contracts.csv, money as charged in the period."""
    d = Data(path_or_dict)
    alloc = [{"supplier": s, "application": a, "period": t, "gwh": q}
             for (s, a, t), q in sorted(result["x"].items())]
    exps = []
    for (e, t), q in sorted(result["expansions"].items()):
        ex = d.expansions[e]
        exps.append({"supplier": ex["supplier"], "period": t, "steps": q,
                     "gwh": q * ex["step_gwh"], "available_from": d.available_from(e, t),
                     "cost": q * ex["cost"], "expansion": e})
    vol = {}
    for (s, _, t), q in result["x"].items():
        vol[s, t] = vol.get((s, t), 0.0) + q
    cons = []
    for c in d.contracts:
        s, signed = c["supplier"], bool(result["contracts"][c["name"]])
        for t in d.contract_window(c):
            v = vol.get((s, t), 0.0)
            sh = result["shortfall"].get((c["name"], t), 0.0) if signed else 0.0
            priced = signed and (sh > 0 or c["discount"] > 0)
            p = d.ex_price(s, t) if priced else 0.0
            cons.append({"contract": c["name"], "supplier": s, "period": t, "signed": signed,
                         "gwh": v, "shortfall_gwh": sh, "shortfall_cost": sh * p,
                         "discount": c["discount"] * p * v if signed else 0.0})
    return alloc, exps, cons
