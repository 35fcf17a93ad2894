"""Independent reference for the adaptive (multi-stage) robust program of SPEC section
10 (``robust --adaptive --lag L``), as one extensive-form LP (tests only, nothing from
``optimizer``; built on tests/reference/scenarios.py's reading of the instance, its
cases with parents and its stock table).

    adaptive(inst_dict, lag=1, weight=0.0, alpha=0.95)
        -> {"objective", "expected_cost", "cvar", "costs": {case: cost},
            "deciders": {(case, period): node}, "plans": {(node, period): {lane: gwh}}}

Tree. The cases are the base case and every scenario; a scenario's parent is its
``parent`` (else the base case); its data (capacity factor f, price factor g, demand
factor h) is its parent's with its own factors multiplied on top in its own window
(scenarios._cases). from_k is the scenario's ``from`` (else the first period). In period
t case k follows the plan of its decider n(k, t): the nearest node on the path
k -> parent -> ... -> base with from + L <= t (years); the base case decides every period.

Plans. Each node d deciding a period t has its own plan in t: x[d, lane], its own unmet
u[d, a, t] (applications with an unmet_penalty; in periods decided by a scenario also the
others, at shortage_penalty) and stock levels lev[d, a, t] in [0, max_gwh], made under
d's data in t:
    per supplier:  sum_a x <= f_d capacity
    per row (a,t): sum x + u = h_d D + lev[d, a, t] - lev[n(d, t'), a, t']   (t' = the
                   period before; initial_gwh before the first)
    every share/volume/average rule on x, per period as in the deterministic model;
    plan cost: d_t [sum x ((g_d price) (1 + tariffs) + freight + carbon)
                    + sum pen u + sum holding lev].

Case k's cost: sum over t of the plan cost of d = n(k, t) in t plus the two-stage
recourse (tests/reference/scenarios.py) for k's data relative to d's: each contract
delivers min(f_k / f_d, 1) of itself, paid at k's price (g_k); lost deliveries plus the
extra demand E = (h_k - h_d) D are covered by draws on the stock (cumulative draws of k
up to each period's level of the plan k follows), spot from k's spare capacity
(f_k capacity minus deliveries) at k's price x (1 + spot_premium), then unmet at the
application's penalty (unmet_penalty else shortage_penalty); a drop (Delta = max(0, -E))
first refunds d's own unmet demand (at its penalty) and recovers surplus_value x the
row's lowest k ex-works price on cells beyond demand.

Objective: (1 - w) sum_k p_k cost_k + w CVaR_alpha (Rockafellar-Uryasev over the cases).
Same scope as tests/reference/scenarios.py (NotImplementedError beyond it).
"""
import math

from .scenarios import _LP, BASE, INF, _Inst, cvar, tree


def deciders(m, lag, parents):
    """{(case, t): the node whose plan case follows in t}."""
    out = {}
    for k in parents:
        for t in m.d.periods:
            n = k
            while n != BASE and parents[n][1] + lag > t:
                n = parents[n][0]
            out[k, t] = n
    return out


def adaptive(inst_dict, lag=1, weight=0.0, alpha=0.95):
    if not 0 <= weight <= 1:
        raise ValueError("weight must be in [0, 1]")
    if weight > 0 and not 0 <= alpha < 1:
        raise ValueError("alpha must be in [0, 1)")
    if int(lag) != lag or lag < 0:
        raise ValueError("lag must be a whole number of years >= 0")
    m = _Inst(inst_dict)
    d = m.d
    parents = tree(inst_dict, d)
    cases = {c[0]: c for c in m.cases}
    dec = deciders(m, lag, parents)
    periods = d.periods
    prev = {t: (periods[i - 1] if i else None) for i, t in enumerate(periods)}
    lanes_t = {t: [i for i in m.lanes if i[2] == t] for t in periods}
    lp = _LP()

    def fac(case, key, which):
        return cases[case][which].get(key, 1.0)

    # ------------------------------------------------------------ the nodes' plans
    x, u, lev, pen_u, plan_cost = {}, {}, {}, {}, {}
    plans = sorted({(n, t) for (_, t), n in dec.items()}, key=lambda nt: (nt[1], nt[0]))
    for n, t in plans:                      # in period order: lev of n(n, t') exists
        for i in lanes_t[t]:
            x[n, i] = lp.var()
        for a in m.stock:
            lev[n, a, t] = lp.var(0.0, m.stock[a][0])
        cost = {}
        for i in lanes_t[t]:
            s = i[0]
            cost[x[n, i]] = d.df[t] * (fac(n, (s, t), 3) * m.cp[i] + m.ou[i])
        for (s, tt), lanes in m.of_st.items():
            if tt == t:
                lp.row([(x[n, i], 1.0) for i in lanes], hi=fac(n, (s, t), 2) * d.cap(s, t))
        for a in d.apps:
            r = (a, t)
            coefs = [(x[n, i], 1.0) for i in m.of_row[r]]
            rhs = fac(n, r, 4) * m.D[r]
            pen = m.soft(a) if m.soft(a) is not None else (m.short_pen if n != BASE else None)
            if pen is not None:
                u[n, r] = lp.var()
                pen_u[n, r] = pen
                cost[u[n, r]] = d.df[t] * pen
                coefs.append((u[n, r], 1.0))
            if a in m.stock:
                coefs.append((lev[n, a, t], -1.0))
                cost[lev[n, a, t]] = d.df[t] * m.stock[a][1]
                if prev[t] is None:
                    rhs -= m.stock[a][2]
                else:
                    coefs.append((lev[dec[n, prev[t]], a, prev[t]], 1.0))
            lp.row(coefs, rhs, rhs)
        for rule in d.rules:                # rules on the contracts, per period
            kind, lim = rule["kind"], rule.get("limit")
            if kind == "exclude":
                continue                    # lanes already removed
            for tt, apps in d.rule_scopes(rule):
                if tt != t:
                    continue
                scope = [i for a in apps for i in m.of_row[a, t]]
                for _, members in d.rule_groups(rule):
                    v = [(x[n, i], 1.0) for i in scope if i[0] in members]
                    tot = [(x[n, i], -lim) for i in scope]
                    if kind == "max_share":
                        lp.row(v + tot, hi=0.0)
                    elif kind == "min_share":
                        lp.row(v + tot, lo=0.0)
                    elif kind == "max_volume":
                        lp.row(v, hi=lim)
                    elif kind == "min_volume":
                        lp.row(v, lo=lim)
                    else:
                        avg = [(x[n, i], d.attr(i[0], rule["attribute"]) - lim)
                               for i in scope if i[0] in members]
                        lp.row(avg, **({"hi": 0.0} if kind == "max_average" else {"lo": 0.0}))
        plan_cost[n, t] = cost

    # ------------------------------------------------------------ the cases
    eta = lp.var(lb=-INF, cost=weight) if weight > 0 else None
    case_cost = {}
    for k, (_, p, fk, gk, hk) in cases.items():
        cost = {}

        def add(j, v, cost=cost):
            cost[j] = cost.get(j, 0.0) + v

        draw = {(a, t): lp.var() for a in m.stock for t in periods}
        for a in m.stock:                   # what is drawn is gone
            for i, t in enumerate(periods):
                lp.row([(draw[a, tau], 1.0) for tau in periods[:i + 1]]
                       + [(lev[dec[k, t], a, t], -1.0)], hi=0.0)
        for t in periods:
            n = dec[k, t]
            dt = d.df[t]
            for j, v in plan_cost[n, t].items():
                add(j, v)
            fr = {}                          # delivered share of each supplier's contracts
            for i in lanes_t[t]:
                s = i[0]
                fn, fc = fac(n, (s, t), 2), fk.get((s, t), 1.0)
                fr[s] = min(fc / fn, 1.0) if fn > 0 else 0.0
                gn, gc = fac(n, (s, t), 3), gk.get((s, t), 1.0)
                # delivered GWh paid at k's price instead of the plan's GWh at n's
                add(x[n, i], dt * ((fr[s] * gc - gn) * m.cp[i] + (fr[s] - 1.0) * m.ou[i]))
            spot = {}
            for i in lanes_t[t]:
                s = i[0]
                if fk.get((s, t), 1.0) > 0:
                    spot[i] = lp.var()
                    add(spot[i], dt * (gk.get((s, t), 1.0) * m.cp[i] * (1 + m.prem) + m.ou[i]))
            for a in d.apps:
                r = (a, t)
                e = (hk.get(r, 1.0) - fac(n, r, 4)) * m.D[r]
                delta = max(0.0, -e)
                short = lp.var()
                add(short, dt * m.pen(a))
                coefs = [(spot[i], 1.0) for i in m.of_row[r] if i in spot] + [(short, 1.0)]
                coefs += [(x[n, i], -(1.0 - fr[i[0]])) for i in m.of_row[r]]
                if r in draw:
                    coefs.append((draw[r], 1.0))
                if delta > 0:
                    if (n, r) in u:
                        refund = lp.var(ub=delta)
                        add(refund, -dt * pen_u[n, r])
                        lp.row([(refund, 1.0), (u[n, r], -1.0)], hi=0.0)
                        coefs.append((refund, -1.0))
                    surplus = lp.var(ub=delta)
                    add(surplus, -dt * m.sv * m.low_price(r, gk))
                    coefs.append((surplus, -1.0))
                lp.row(coefs, e, e)
            for (s, tt), lanes in m.of_st.items():      # k's spare capacity
                if tt != t:
                    continue
                cols = [(spot[i], 1.0) for i in lanes if i in spot]
                if cols:
                    lp.row(cols + [(x[n, i], fr[s]) for i in lanes],
                           hi=fk.get((s, t), 1.0) * d.cap(s, t))
        case_cost[k] = cost
        for j, v in cost.items():
            lp.cost[j] += (1 - weight) * p * v
        if eta is not None and p > 0:       # z >= cost - eta, z >= 0
            z = lp.var(cost=weight * p / (1 - alpha))
            lp.row([*cost.items(), (eta, -1.0), (z, -1.0)], hi=0.0)
    obj, sol = lp.solve()
    costs = {k: sum(v * float(sol[j]) for j, v in c.items()) for k, c in case_cost.items()}
    probs = {k: c[1] for k, c in cases.items()}
    return {"objective": obj,
            "expected_cost": sum(probs[k] * c for k, c in costs.items()),
            "cvar": cvar(list(costs.values()), list(probs.values()), alpha)
            if 0 <= alpha < 1 else math.nan,
            "costs": costs,
            "deciders": dec,
            "plans": {(n, t): {i: float(sol[x[n, i]]) for i in lanes_t[t]
                               if sol[x[n, i]] > 1e-9} for n, t in plans}}
