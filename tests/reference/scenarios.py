"""Independent reference for scenario play-outs and the two-stage robust plan, with
demand shocks and a buffer stock (SPEC sections 5 and 10; tests only, nothing from
``optimizer``).

    playout_costs(inst_dict, plan, levels=None) -> {case name: cost}  (USD million, discounted)
    robust_objective(inst_dict, weight=0.0, alpha=0.95, *, plan=None, levels=None) -> float
    robust_plan(inst_dict, weight=0.0, alpha=0.95)
        -> (objective, {(s, a, t): gwh > 1e-9}, {(a, t): level gwh})
    time_to_survive(inst_dict, plan_x, levels=None)
        -> {(case name, application): (months or None, covers_to_end)}
    case_probabilities(inst_dict) -> {case name: probability}     (the base case first)
    cvar(costs, probabilities, alpha) -> float                    (mean of the worst 1 - alpha)

``inst_dict`` is an instance in the YAML layout (tables inline; ``stock`` may also be a
CSV path, read relative to the working directory); ``plan`` maps (supplier, application,
period) to GWh and ``levels`` maps (application, period) to the stock level in GWh at the
end of that period (missing entries, or ``levels=None``, mean 0; only applications with
a stock row). ``robust_plan`` returns the levels of every stocked application and period
(zeros included, so they can be passed back as they are; {} without a stock table).
Landed costs, tariffs, eligibility and rule scopes come from ``tests.reference.load.Data``;
the scenarios and the stock are read here.

Semantics. Cases: the base case (probability 1 - sum of the scenarios', every factor 1)
and each scenario; a scenario's capacity factor f, price factor g and demand factor h
apply in its periods ``from``..``until`` (default: all), several matching entries
multiply.

Stock (table ``application, max_gwh, holding_cost, initial_gwh?``, one row per
application): first-stage levels lev[a,t] in [0, max_gwh] at the end of period t, the
level before the first period being initial_gwh (default 0). Per application-period row
r = (a, t) the plan must buy R_r = D_r + lev[a,t] - lev[a,t-1] (R_r = D_r without a
stock row): sum_i x_i + unmet_r = R_r; cells bought into stock are ordinary purchases on
lanes (capacities and rules count them; a share rule's X is the GWh bought). Holding
cost sum_t d_t holding_cost_a lev[a,t] (USD million; USD/kWh per period) is paid in
every case. Per case and row r:

    D_r demand, D'_r = h_r D_r, E_r = D'_r - D_r, Delta_r = max(0, -E_r);
    X_r = sum of the plan's x_i in r, L_r = sum (1 - fd_s) x_i (fd = min(f, 1)),
    U_r = R_r - X_r for applications with an unmet_penalty (else 0).
    Recourse: spot_i >= 0 (lanes of r whose supplier has f > 0), shortage_r >= 0,
    draw_r >= 0 (stocked applications; for each t: sum_{tau <= t} draw[a,tau] <=
    lev[a,t], what is drawn is gone from then on), refund_r in [0, Delta_r],
    refund_r <= U_r (only with an unmet_penalty), surplus_r in [0, Delta_r];
        sum spot + shortage + draw - refund - surplus = L_r + E_r
        per supplier-period: sum spot + fd sum x <= f capacity
    cost = base cost (landed cost of x + d_t unmet_penalty U_r + holding cost)
         + sum_i d_t ((fd g - 1) cp_i + (fd - 1) ou_i) x_i    (index-linked contracts)
         + sum d_t (g cp_i (1 + spot_premium) + ou_i) spot_i
         + sum d_t pen_r shortage_r - d_t unmet_penalty_r refund_r
         - d_t surplus_value p_r surplus_r                      (draws cost nothing)
    cp = ex-works price x (1 + tariffs), ou = freight + carbon, pen_r = the application's
    unmet_penalty else shortage_penalty (1000), p_r = the lowest g x ex-works price (no
    tariff) over all eligible lanes of r.
    (A corner of this algebra: within a demand drop, stock may be drawn and declared
    surplus or refund, so drawn cells recover surplus_value; draws never serve the plan's
    own unmet demand beyond the drop.)

Time to survive (case k, stocked application a): need_t = max(0, L_r + E_r) per period
(before any stock or spot). No need in any period: (None, False). Else t* = the first
period with need > 0, S = lev[a,t*]; for t = t*, t*+1, ...: if S >= need_t, 12 months
more and S -= need_t, else 12 S / need_t months more and stop; (months, covers_to_end),
covers_to_end True when S lasts to the end of the horizon.

Play-outs solve the recourse LP of each case with the plan's numbers (x and levels) as
constants (base and contract costs are summed directly); the robust program is a
separate extensive form over x, U, the levels and every case's recourse, minimizing
(1 - w) E[cost] + w CVaR_alpha[cost] (Rockafellar-Uryasev). The two are computed
independently so each checks the other (``robust_objective(..., plan=..., levels=...)``).

Not handled (NotImplementedError): price tiers, fixed costs, minimum orders,
qualification costs, expansions, contracts, upstream tables, soft rules, rules
other than share/volume/average/exclude (or by origin, or measured in spend), factors
by origin, ``price_add``, distributions. A scenario with ``parent: NAME`` keeps all of
the parent's factors (in the parent's window, recursively) and multiplies its own on top
in its own window (``tree`` gives each case's parent and first period; the adaptive
program on that tree is tests/reference/adaptive.py).
"""
import math

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from .load import Data, _read_csv, sid

BASE = "base"
INF = math.inf
TOL = 1e-6
RULE_KINDS = {"max_share", "min_share", "max_volume", "min_volume", "exclude",
              "max_average", "min_average"}
SCENARIO_KEYS = {"name", "probability", "from", "until", "capacity_factor", "price_factor",
                 "demand_factor", "parent"}
STOCK_KEYS = {"application", "max_gwh", "holding_cost", "initial_gwh"}


# ----------------------------------------------------------------------------- LP
class _LP:
    """Columns with bounds and costs, rows lo <= a x <= hi; solved by scipy (HiGHS)."""

    def __init__(self):
        self.lb, self.ub, self.cost = [], [], []
        self.rows = []

    def var(self, lb=0.0, ub=INF, cost=0.0):
        self.lb.append(lb)
        self.ub.append(ub)
        self.cost.append(cost)
        return len(self.lb) - 1

    def row(self, coefs, lo=-INF, hi=INF):
        c = {}
        for j, v in coefs:
            c[j] = c.get(j, 0.0) + v
        self.rows.append((c, lo, hi))

    def solve(self):
        n = len(self.lb)
        if n == 0:
            if all(lo <= TOL and hi >= -TOL for _, lo, hi in self.rows):
                return 0.0, np.zeros(0)
            raise RuntimeError("infeasible")
        eq, ub = ([], [], [], []), ([], [], [], [])     # (rows, cols, vals, rhs)

        def put(into, coefs, rhs, sign=1.0):
            i = len(into[3])
            for j, v in coefs.items():
                into[0].append(i)
                into[1].append(j)
                into[2].append(sign * v)
            into[3].append(sign * rhs)

        for coefs, lo, hi in self.rows:
            if lo == hi:
                put(eq, coefs, lo)
                continue
            if hi < INF:
                put(ub, coefs, hi)
            if lo > -INF:
                put(ub, coefs, lo, -1.0)

        def mat(m):
            if not m[3]:
                return None, None
            return coo_matrix((m[2], (m[0], m[1])), shape=(len(m[3]), n)).tocsr(), \
                np.array(m[3], dtype=float)

        a_ub, b_ub = mat(ub)
        a_eq, b_eq = mat(eq)
        bounds = [(lo if lo > -INF else None, hi if hi < INF else None)
                  for lo, hi in zip(self.lb, self.ub, strict=True)]
        res = linprog(np.array(self.cost, dtype=float), A_ub=a_ub, b_ub=b_ub, A_eq=a_eq,
                      b_eq=b_eq, bounds=bounds, method="highs")
        if res.status != 0:
            raise RuntimeError(f"LP not solved: {res.message}")
        return float(res.fun), res.x


# ----------------------------------------------------------------------------- reading
def _entries(value):
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _number(value, where):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise NotImplementedError(f"{where}: only numeric factors (no distributions)")
    if value < 0:
        raise ValueError(f"{where}: negative factor")
    return float(value)


def _check_supported(inst, d):
    for key in ("price_tiers", "expansions", "contracts", "materials", "stages", "content",
                "origins"):
        if inst.get(key):
            raise NotImplementedError(f"reference scenarios: {key}")
    for s, sp in d.sup.items():
        for key in ("fixed_cost", "min_order", "qualification_cost"):
            if float(sp.get(key) or 0) > 0:
                raise NotImplementedError(f"reference scenarios: {key} of supplier {s}")
    for r in d.rules:
        if r["kind"] not in RULE_KINDS or r.get("by") == "origin" \
                or r.get("measure", "gwh") != "gwh" or r.get("penalty") is not None:
            raise NotImplementedError(f"reference scenarios: rule {r['name']} ({r['kind']})")


class ParentError(ValueError, NotImplementedError):
    """A bad ``parent`` (unknown, a circle, or a child starting before its parent): an
    input error (a ValueError; also a NotImplementedError, as an unknown parent was
    refused before parents were supported)."""


def _first(sc, periods):
    return int(sc["from"]) if sc.get("from") is not None else periods[0]


def _own_factors(sc, d):
    """(f, g, h) of one scenario's own entries in its own window."""
    periods = d.periods
    name = sid(sc["name"])
    lo = _first(sc, periods)
    hi = int(sc["until"]) if sc.get("until") is not None else periods[-1]
    window = [t for t in periods if lo <= t <= hi]
    f, g, h = {}, {}, {}
    for key, into in (("capacity_factor", f), ("price_factor", g)):
        for e in _entries(sc.get(key)):
            if e.get("by") == "origin" or set(e) - {"by", "group", "factor"}:
                raise NotImplementedError(f"scenario {name}: {key} {e}")
            v = _number(e["factor"], f"scenario {name} {key}")
            group = {sid(x) for x in _entries(e["group"])}
            for s in d.sup:
                if d.value(s, e["by"]) in group:
                    for t in window:
                        into[s, t] = into.get((s, t), 1.0) * v
    for e in _entries(sc.get("demand_factor")):
        if set(e) - {"applications", "factor"}:
            raise NotImplementedError(f"scenario {name}: demand_factor {e}")
        v = _number(e["factor"], f"scenario {name} demand_factor")
        apps = [sid(a) for a in _entries(e.get("applications"))] or list(d.apps)
        for a in apps:
            if a not in d.apps:
                raise ValueError(f"scenario {name}: unknown application {a}")
            for t in window:
                h[a, t] = h.get((a, t), 1.0) * v
    return f, g, h


def tree(inst, d=None):
    """{case name: (parent name or None, first period of its own data)}: the base case
    has no parent; a scenario without ``parent`` branches from the base case. Checked:
    the parent exists, no circle, a child does not start before its parent."""
    d = d or Data(inst)
    scen = list(inst.get("scenarios") or [])
    names = [sid(sc["name"]) for sc in scen]
    out = {BASE: (None, d.periods[0])}
    for sc, name in zip(scen, names, strict=True):
        par = sid(sc["parent"]) if sc.get("parent") is not None else BASE
        if par != BASE and (par not in names or par == name):
            raise ParentError(f"scenario {name}: unknown parent {par}")
        out[name] = (par, _first(sc, d.periods))
    for name in names:                                  # no circle, not before the parent
        seen, k = {name}, out[name][0]
        while k is not None:
            if k in seen:
                raise ParentError(f"scenario {name}: its parents go round in a circle")
            seen.add(k)
            k = out[k][0]
        par = out[name][0]
        if par != BASE and out[name][1] < out[par][1]:
            raise ParentError(f"scenario {name} starts before its parent {par}")
    return out


def _cases(inst, d):
    """[(name, probability, f, g, h)]: f, g by (supplier, period), h by (application,
    period); missing keys mean 1. A scenario with a parent keeps all of the parent's
    factors (in the parent's window; recursively) and multiplies its own on top."""
    scen = list(inst.get("scenarios") or [])
    out = [(BASE, 1.0 - sum(float(sc.get("probability", 0)) for sc in scen), {}, {}, {})]
    for sc in scen:
        extra = set(sc) - SCENARIO_KEYS
        if extra:
            raise NotImplementedError(f"scenario {sid(sc['name'])}: {sorted(extra)}")
    own = {sid(sc["name"]): _own_factors(sc, d) for sc in scen}
    if len({c[0] for c in out} | set(own)) != len(scen) + 1:
        raise ValueError("case names must be unique (and not 'base')")
    parents = tree(inst, d) if any(sc.get("parent") is not None for sc in scen) else {}
    for sc in scen:
        name = sid(sc["name"])
        chain, k = [], name                              # name, parent, ..., (not base)
        while k is not None and k != BASE:
            chain.append(k)
            k = parents.get(k, (BASE,))[0]
        f, g, h = {}, {}, {}
        for k in chain:
            for into, mine in zip((f, g, h), own[k], strict=True):
                for key, v in mine.items():
                    into[key] = into.get(key, 1.0) * v
        out.append((name, float(sc.get("probability", 0)), f, g, h))
    if out[0][1] < -1e-9:
        raise ValueError("scenario probabilities add up to more than 1")
    return out


def _stock(inst, d):
    """{application: (max_gwh, holding_cost, initial_gwh)} from the ``stock`` table."""
    raw = inst.get("stock")
    if not raw:
        return {}
    rows = _read_csv(raw) if isinstance(raw, str) else list(raw)
    out = {}
    for row in rows:
        row = {k: v for k, v in row.items() if v is not None and str(v).strip() != ""}
        extra = set(row) - STOCK_KEYS
        if extra:
            raise ValueError(f"stock: unknown columns {sorted(extra)}")
        missing = {"application", "max_gwh", "holding_cost"} - set(row)
        if missing:
            raise ValueError(f"stock: missing {sorted(missing)}")
        a = sid(row["application"])
        if a not in d.apps:
            raise ValueError(f"stock: unknown application {a}")
        if a in out:
            raise ValueError(f"stock: two rows for {a}")
        mx, hold, init = (float(row.get(k, 0.0)) for k in ("max_gwh", "holding_cost",
                                                           "initial_gwh"))
        if min(mx, hold, init) < 0 or not all(map(math.isfinite, (mx, hold, init))):
            raise ValueError(f"stock of {a}: negative or infinite number")
        if init > mx + TOL:
            raise ValueError(f"stock of {a}: initial_gwh above max_gwh")
        out[a] = (mx, hold, init)
    return out


class _Inst:
    """The instance as the play-out and the extensive form see it."""

    def __init__(self, inst):
        self.d = d = Data(inst)
        _check_supported(inst, d)
        self.prem = float(inst.get("spot_premium", 0.2))
        self.short_pen = float(inst.get("shortage_penalty", 1000.0))
        self.sv = float(inst.get("surplus_value", 0.0))
        if not 0 <= self.sv <= 1:
            raise ValueError("surplus_value outside 0..1")
        self.lanes = d.lanes()
        self.rows = [(a, t) for a in d.apps for t in d.periods]
        self.of_row = {r: [] for r in self.rows}
        self.of_st = {}
        for i in self.lanes:
            s, a, t = i
            self.of_row[a, t].append(i)
            self.of_st.setdefault((s, t), []).append(i)
        self.D = {r: float(d.demand.get(r, 0.0)) for r in self.rows}
        self.cp, self.ou = {}, {}
        for i in self.lanes:
            s, a, t = i
            p = d.price(s, t)
            if p is None:
                raise ValueError(f"supplier {s} has no price in {t}")
            self.cp[i] = float(p) * (1 + d.tariff(s, t))
            self.ou[i] = d.lane_extra(s, a)
        self.cases = _cases(inst, d)
        self.stock = _stock(d.inst, d)
        self.srows = [(a, t) for a in self.stock for t in d.periods]   # level keys

    def prev(self, r):
        """The (a, t') key of the period before r, or None (the level is initial_gwh)."""
        a, t = r
        k = self.d.periods.index(t)
        return (a, self.d.periods[k - 1]) if k > 0 else None

    def required(self, r, lev):
        """R_r: demand plus stock put in minus stock taken out (the plan's levels)."""
        if r[0] not in self.stock:
            return self.D[r]
        q = self.prev(r)
        before = self.stock[r[0]][2] if q is None else lev[q]
        return self.D[r] + lev[r] - before

    def holding(self, lev):
        return sum(self.d.df[t] * self.stock[a][1] * lev[a, t] for a, t in self.srows)

    def soft(self, a):
        """The application's unmet_penalty, or None (hard demand)."""
        p = self.d.apps[a].get("unmet_penalty")
        return None if p is None else float(p)

    def pen(self, a):
        p = self.soft(a)
        return self.short_pen if p is None else p

    def low_price(self, r, g):
        """p_r: the lowest scenario ex-works price (no tariff) among the row's lanes."""
        prices = [g.get((s, t), 1.0) * float(self.d.price(s, t)) for (s, _, t) in self.of_row[r]]
        return min(prices) if prices else 0.0


# ----------------------------------------------------------------------------- play-out
def _levels(m, levels):
    """The levels as {(a, t): gwh} over every stocked application and period (missing: 0)."""
    lev = dict.fromkeys(m.srows, 0.0)
    for (a, t), q in (levels or {}).items():
        key, q = (sid(a), int(t)), float(q)
        if key not in lev:
            if abs(q) <= TOL:
                continue
            raise ValueError(f"level {key}: no stock row for {key[0]} or unknown period")
        if not -TOL <= q <= m.stock[key[0]][0] + TOL:
            raise ValueError(f"level {key} outside 0..max_gwh")
        lev[key] = min(max(q, 0.0), m.stock[key[0]][0])
    return lev


def _plan(m, plan, lev):
    """The plan as {lane: gwh} on eligible lanes, checked to be a contract."""
    x = dict.fromkeys(m.lanes, 0.0)
    for (s, a, t), q in plan.items():
        key = (sid(s), sid(a), int(t))
        q = float(q)
        if q < -TOL:
            raise ValueError(f"negative volume on {key}")
        if key not in x:
            if abs(q) <= TOL:
                continue
            raise ValueError(f"{key} is not an eligible lane")
        x[key] += max(q, 0.0)
    for (s, t), lanes in m.of_st.items():
        if sum(x[i] for i in lanes) > m.d.cap(s, t) + TOL:
            raise ValueError(f"{s} above its capacity in {t}")
    for r in m.rows:
        xr, need = sum(x[i] for i in m.of_row[r]), m.required(r, lev)
        if xr > need + TOL:
            raise ValueError(f"more than the demand (with stock) of {r}")
        if m.soft(r[0]) is None and xr < need - TOL:
            raise ValueError(f"hard demand (with stock) of {r} not met")
    return x


def _recourse(m, case, x, lev):
    """Cheapest spot, shortage, draws, refund and surplus of one case for a fixed plan."""
    _, _, f, g, h = case
    d = m.d
    lp = _LP()
    spot = {}
    for i in m.lanes:
        s, _, t = i
        if f.get((s, t), 1.0) > 0:
            spot[i] = lp.var(cost=d.df[t] * (g.get((s, t), 1.0) * m.cp[i] * (1 + m.prem)
                                             + m.ou[i]))
    draw = {r: lp.var() for r in m.srows}
    for a in m.stock:                                       # what is drawn is gone
        for k, t in enumerate(d.periods):
            lp.row([(draw[a, tau], 1.0) for tau in d.periods[:k + 1]], hi=lev[a, t])
    for r in m.rows:
        a, t = r
        dt, lanes = d.df[t], m.of_row[r]
        e = (h.get(r, 1.0) - 1.0) * m.D[r]
        delta = max(0.0, -e)
        loss = sum((1 - min(f.get((i[0], t), 1.0), 1.0)) * x[i] for i in lanes)
        coefs = [(spot[i], 1.0) for i in lanes if i in spot]
        coefs.append((lp.var(cost=dt * m.pen(a)), 1.0))
        if r in draw:
            coefs.append((draw[r], 1.0))
        if delta > 0:
            if m.soft(a) is not None:
                own = max(0.0, m.required(r, lev) - sum(x[i] for i in lanes))
                coefs.append((lp.var(ub=min(delta, own), cost=-dt * m.soft(a)), -1.0))
            coefs.append((lp.var(ub=delta, cost=-dt * m.sv * m.low_price(r, g)), -1.0))
        lp.row(coefs, loss + e, loss + e)
    for (s, t), lanes in m.of_st.items():
        fk = f.get((s, t), 1.0)
        cols = [(spot[i], 1.0) for i in lanes if i in spot]
        if cols:
            spare = fk * d.cap(s, t) - min(fk, 1.0) * sum(x[i] for i in lanes)
            lp.row(cols, hi=max(0.0, spare))
    return lp.solve()[0]


def playout_costs(inst_dict, plan, levels=None):
    """{case name: cost of the plan (purchases x, stock levels) in that case} (the base
    case first)."""
    m = _Inst(inst_dict)
    d = m.d
    lev = _levels(m, levels)
    x = _plan(m, plan, lev)
    base = sum(d.df[i[2]] * (m.cp[i] + m.ou[i]) * q for i, q in x.items()) + m.holding(lev)
    for r in m.rows:
        if m.soft(r[0]) is not None:
            base += d.df[r[1]] * m.soft(r[0]) * max(
                0.0, m.required(r, lev) - sum(x[i] for i in m.of_row[r]))
    out = {}
    for case in m.cases:
        name, _, f, g, _ = case
        adj = 0.0
        for i, q in x.items():
            s, _, t = i
            fd, gk = min(f.get((s, t), 1.0), 1.0), g.get((s, t), 1.0)
            adj += d.df[t] * ((fd * gk - 1) * m.cp[i] + (fd - 1) * m.ou[i]) * q
        out[name] = base + adj + _recourse(m, case, x, lev)
    return out


def time_to_survive(inst_dict, plan_x, levels=None):
    """{(case name, application): (months or None, covers_to_end)} for every case and
    every application with a stock row: how long the plan's stock covers the case's need
    (lost deliveries plus extra demand) from the first period with a need on."""
    m = _Inst(inst_dict)
    d = m.d
    lev = _levels(m, levels)
    x = _plan(m, plan_x, lev)
    out = {}
    for name, _, f, _, h in m.cases:
        for a in m.stock:
            need = []
            for t in d.periods:
                r = (a, t)
                loss = sum((1 - min(f.get((i[0], t), 1.0), 1.0)) * x[i] for i in m.of_row[r])
                need.append(max(0.0, loss + (h.get(r, 1.0) - 1.0) * m.D[r]))
            first = next((k for k, q in enumerate(need) if q > TOL), None)
            if first is None:
                out[name, a] = (None, False)
                continue
            stock, months, to_end = lev[a, d.periods[first]], 0.0, True
            for q in need[first:]:
                if stock >= q:
                    months += 12.0
                    stock -= q
                else:
                    months += 12.0 * stock / q
                    to_end = False
                    break
            out[name, a] = (months, to_end)
    return out


def case_probabilities(inst_dict):
    """{case name: probability}, the base case first."""
    return {c[0]: c[1] for c in _Inst(inst_dict).cases}


def cvar(costs, probabilities, alpha):
    """The mean cost over the worst 1 - alpha of probability (an atom on the tail
    boundary counts with the part of its probability inside the tail)."""
    if not 0 <= alpha < 1:
        raise ValueError("alpha must be in [0, 1)")
    tail, acc, tot = 1.0 - alpha, 0.0, 0.0
    for c, p in sorted(zip(costs, probabilities, strict=True), key=lambda cp: -cp[0]):
        if acc >= tail:
            break
        take = min(p, tail - acc)                  # 0 for a case of probability 0
        tot += take * c
        acc += take
    return tot / tail


# ----------------------------------------------------------------------------- robust
def _extensive(m, weight, alpha, plan=None, levels=None):
    """The two-stage extensive form; returns (objective, {lane: gwh}, {(a, t): level})."""
    if not 0 <= weight <= 1:
        raise ValueError("weight must be in [0, 1]")
    if weight > 0 and not 0 <= alpha < 1:
        raise ValueError("alpha must be in [0, 1)")
    d = m.d
    lp = _LP()
    if levels is not None or plan is not None:
        lev0 = _levels(m, levels)
        lev = {k: lp.var(q, q) for k, q in lev0.items()}
    else:
        lev = {(a, t): lp.var(0.0, m.stock[a][0]) for a, t in m.srows}
    fixed = _plan(m, plan, lev0) if plan is not None else None
    x = {i: lp.var(*((fixed[i], fixed[i]) if fixed is not None else (0.0, INF))) for i in m.lanes}
    u = {}
    for r in m.rows:                                        # bought + unmet = demand
        coefs = [(x[i], 1.0) for i in m.of_row[r]]          #   + stock in - stock out
        rhs = m.D[r]
        if r in lev:
            coefs.append((lev[r], -1.0))
            q = m.prev(r)
            if q is None:
                rhs -= m.stock[r[0]][2]
            else:
                coefs.append((lev[q], 1.0))
        if m.soft(r[0]) is not None:
            u[r] = lp.var()
            coefs.append((u[r], 1.0))
        lp.row(coefs, rhs, rhs)
    for (s, t), lanes in m.of_st.items():                   # capacity
        lp.row([(x[i], 1.0) for i in lanes], hi=d.cap(s, t))
    for rule in d.rules:                                    # rules on the contracts
        kind, lim = rule["kind"], rule.get("limit")
        if kind == "exclude":
            continue                                        # lanes already removed
        for t, apps in d.rule_scopes(rule):
            scope = [i for a in apps for i in m.of_row[a, t]]
            for _, members in d.rule_groups(rule):
                v = [(x[i], 1.0) for i in scope if i[0] in members]
                if kind == "max_share":
                    lp.row(v + [(x[i], -lim) for i in scope], hi=0.0)
                elif kind == "min_share":
                    lp.row(v + [(x[i], -lim) for i in scope], lo=0.0)
                elif kind == "max_volume":
                    lp.row(v, hi=lim)
                elif kind == "min_volume":
                    lp.row(v, lo=lim)
                else:
                    avg = [(x[i], d.attr(i[0], rule["attribute"]) - lim)
                           for i in scope if i[0] in members]
                    lp.row(avg, **({"hi": 0.0} if kind == "max_average" else {"lo": 0.0}))
    eta = lp.var(lb=-INF, cost=weight) if weight > 0 else None
    for _name, p, f, g, h in m.cases:
        cost = {}                                           # this case's cost, column -> coef

        def add(j, v, cost=cost):
            cost[j] = cost.get(j, 0.0) + v

        for i in m.lanes:                                   # base + index-linked contracts
            s, _, t = i
            fd, gk = min(f.get((s, t), 1.0), 1.0), g.get((s, t), 1.0)
            add(x[i], d.df[t] * (fd * gk * m.cp[i] + fd * m.ou[i]))
        for r, j in u.items():
            add(j, d.df[r[1]] * m.soft(r[0]))
        for (a, t), j in lev.items():                       # holding cost, in every case
            add(j, d.df[t] * m.stock[a][1])
        draw = {r: lp.var() for r in m.srows}
        for a in m.stock:                                   # what is drawn is gone
            for k, t in enumerate(d.periods):
                lp.row([(draw[a, tau], 1.0) for tau in d.periods[:k + 1]]
                       + [(lev[a, t], -1.0)], hi=0.0)
        spot = {}
        for i in m.lanes:
            s, _, t = i
            if f.get((s, t), 1.0) > 0:
                spot[i] = lp.var()
                add(spot[i], d.df[t] * (g.get((s, t), 1.0) * m.cp[i] * (1 + m.prem) + m.ou[i]))
        for r in m.rows:
            a, t = r
            dt, lanes = d.df[t], m.of_row[r]
            e = (h.get(r, 1.0) - 1.0) * m.D[r]
            delta = max(0.0, -e)
            short = lp.var()
            add(short, dt * m.pen(a))
            coefs = [(spot[i], 1.0) for i in lanes if i in spot] + [(short, 1.0)]
            coefs += [(x[i], -(1 - min(f.get((i[0], t), 1.0), 1.0))) for i in lanes]
            if r in draw:
                coefs.append((draw[r], 1.0))
            if delta > 0:
                if r in u:
                    refund = lp.var(ub=delta)
                    add(refund, -dt * m.soft(a))
                    lp.row([(refund, 1.0), (u[r], -1.0)], hi=0.0)
                    coefs.append((refund, -1.0))
                surplus = lp.var(ub=delta)
                add(surplus, -dt * m.sv * m.low_price(r, g))
                coefs.append((surplus, -1.0))
            lp.row(coefs, e, e)
        for (s, t), lanes in m.of_st.items():               # spare capacity
            fk = f.get((s, t), 1.0)
            cols = [(spot[i], 1.0) for i in lanes if i in spot]
            if cols:
                lp.row(cols + [(x[i], min(fk, 1.0)) for i in lanes], hi=fk * d.cap(s, t))
        for j, v in cost.items():
            lp.cost[j] += (1 - weight) * p * v
        if eta is not None and p > 0:                       # z >= cost - eta, z >= 0
            z = lp.var(cost=weight * p / (1 - alpha))
            lp.row([*cost.items(), (eta, -1.0), (z, -1.0)], hi=0.0)
    obj, sol = lp.solve()
    return obj, {i: float(sol[j]) for i, j in x.items()}, \
        {k: min(max(float(sol[j]), 0.0), m.stock[k[0]][0]) for k, j in lev.items()}


def robust_objective(inst_dict, weight=0.0, alpha=0.95, *, plan=None, levels=None):
    """min (1 - weight) E[cost] + weight CVaR_alpha[cost] over the plans (purchases and
    stock levels) that meet demand and obey every rule (with ``plan``: that plan's value of
    the same expression, its levels ``levels``, missing ones 0; ``levels`` alone fixes the
    levels only)."""
    return _extensive(_Inst(inst_dict), weight, alpha, plan, levels)[0]


def robust_plan(inst_dict, weight=0.0, alpha=0.95):
    """(objective, {(s, a, t): gwh > 1e-9}, {(a, t): level}) of the two-stage program; the
    levels cover every stocked application and period (zeros included; {} without stock)."""
    obj, x, lev = _extensive(_Inst(inst_dict), weight, alpha)
    return obj, {i: q for i, q in x.items() if q > 1e-9}, lev
