"""Independent reference MILP of the sourcing model (tests only), on highspy.

solve(path_or_dict, drop_rules=(), override_limits=None) -> dict
    status: 'optimal' | 'infeasible'; objective: USD million (discounted);
    x: {(supplier, application, period): gwh > 1e-9}; unmet: {(application, period): gwh}.
"""
import highspy
import numpy as np

from .load import Data

UNSUPPORTED = ("max_top_share", "max_hhi")


class _Builder:
    def __init__(self):
        self.lb, self.ub, self.cost, self.integ = [], [], [], []
        self.rows = []          # (coefs: dict col -> val, lo, hi)

    def var(self, lb=0.0, ub=np.inf, cost=0.0, binary=False):
        self.lb.append(lb), self.ub.append(1.0 if binary else ub)
        self.cost.append(cost), self.integ.append(1 if binary else 0)
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


def solve(path_or_dict, drop_rules=(), override_limits=None):
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
    # per supplier-period: big-M = what it can possibly deliver
    M = {(s, t): min(d.cap(s, t), sum(dem(a, t) for a in aa)) for (s, t), aa in st_lanes.items()}
    tiered = {k for k in st_lanes if d.tiers(*k)}

    x = {}
    for (s, a, t) in lanes:
        c = d.lane_extra(s, a) if (s, t) in tiered else d.unit_cost(s, a, t)
        x[s, a, t] = B.var(ub=min(d.cap(s, t), dem(a, t)), cost=d.df[t] * c)

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
        B.row(y, hi=d.cap(s, t))                                   # capacity
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
                        Mg = min(Dmax, sum(d.cap(s, t) for s in mem
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

    status, obj, sol = B.solve()
    if status != "optimal":
        return {"status": status, "objective": None, "x": {}, "unmet": {}}
    return {"status": "optimal", "objective": obj,
            "x": {k: sol[j] for k, j in x.items() if sol[j] > 1e-9},
            "unmet": {k: sol[j] for k, j in u.items() if sol[j] > 1e-9}}
