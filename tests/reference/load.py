"""Independent reference loader for instance files (tests only).

`load(path)` reads an instance YAML and its CSV tables into plain typed dicts.
`Data(inst)` derives the lookups shared by the reference model and checker
(eligibility, capacity, landed cost, tiers, rule scopes, and the building-supply
tables of SPEC section 8: expansions by position, contracts, funded capacity).
Follows docs/instance-format.md; validation is minimal on purpose.
"""
import csv
import os

import yaml

TABLES = ("chemistries", "countries", "applications", "demand", "suppliers", "capacity",
          "prices", "tariffs", "price_tiers", "lanes", "rules", "scenarios", "materials",
          "content", "origins", "expansions", "contracts")
FLOATS = {"gwh", "price", "rate", "freight", "capacity", "fixed_cost", "min_order",
          "carbon_intensity", "unmet_penalty", "from_gwh", "limit", "threshold", "penalty",
          "probability", "kg_per_kwh", "share"}
INTS = {"period", "available_from", "available_until", "from", "until", "k"}
LISTS = {"chemistries", "group", "applications", "periods"}   # list-valued cells
LIST_TABLES = {"applications", "rules"}   # tables where LISTS columns are lists
# building supply (SPEC section 8): typed only in their own tables
TABLE_FLOATS = {"expansions": {"step_gwh", "cost", "max_steps"},
                "contracts": {"min_gwh", "max_gwh", "discount"},
                "suppliers": {"qualification_cost"}}
TABLE_INTS = {"expansions": {"lead_time", "first", "last"}}
TABLE_BOOLS = {"expansions": {"integer"}, "contracts": {"take_or_pay", "signed"}}


def sid(v):
    """Canonical text id: 1 / 1.0 / '1' all become '1'."""
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def _int(v):
    return int(float(v))


def _bool(v):
    if isinstance(v, bool):
        return v
    s = str(v).strip().lower()
    if s in ("true", "yes", "1"):
        return True
    if s in ("false", "no", "0"):
        return False
    raise ValueError(f"not a boolean: {v!r}")


def _read_csv(path):
    with open(path, newline="", encoding="utf-8-sig") as f:
        lines = [ln for ln in f if not ln.startswith("#") and ln.strip()]
    rows = []
    for r in csv.DictReader(lines):
        rows.append({k.strip(): v for k, v in r.items()
                     if k is not None and v is not None and v.strip() != ""})
    return rows


def _typed(table, row, attributes):
    out = {}
    for k, v in row.items():
        if v is None or (isinstance(v, str) and v.strip() == ""):
            continue                                   # empty = absent
        if table in LIST_TABLES and k in LISTS:
            if isinstance(v, str):
                v = [p for p in (q.strip() for q in v.split(";")) if p]
            elif not isinstance(v, (list, tuple)):
                v = [v]
            v = [_int(p) for p in v] if k == "periods" else [sid(p) for p in v]
        elif k == "per_application" or k in TABLE_BOOLS.get(table, ()):
            v = _bool(v)
        elif k in TABLE_INTS.get(table, ()):
            v = _int(v)
        elif k in TABLE_FLOATS.get(table, ()) and not (table == "suppliers"
                                                       and k in attributes):
            v = float(v)
        elif k in INTS and table != "scenarios":
            v = _int(v)
        elif k in FLOATS and not (table == "suppliers" and k in attributes):
            v = float(v)
        elif table == "suppliers" and k in attributes:
            v = v.strip() if isinstance(v, str) else v   # raw; typed when used
        elif isinstance(v, (str, int, float)):
            v = sid(v)
        out[k] = v
    return out


def load(path_or_dict, base_dir=None):
    """Instance YAML path (or an already parsed raw mapping) -> typed dict.

    Tables become lists of dicts with typed fields (absent fields omitted)."""
    if isinstance(path_or_dict, dict):
        if path_or_dict.get("_loaded"):
            return path_or_dict
        raw, base = path_or_dict, base_dir or os.getcwd()
    else:
        path = os.fspath(path_or_dict)
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
        base = base_dir or os.path.dirname(os.path.abspath(path))
    inst = {"_loaded": True}
    attributes = [sid(a) for a in (raw.get("attributes") or [])]
    inst["attributes"] = attributes
    for key, val in raw.items():
        if key in TABLES:
            rows = _read_csv(os.path.join(base, val)) if isinstance(val, str) else list(val or [])
            inst[key] = [_typed(key, r, attributes) for r in rows]
        elif key == "periods":
            inst[key] = [_int(p) for p in val]
        elif key in ("discount_rate", "carbon_price", "spot_premium", "shortage_penalty"):
            inst[key] = float(val)
        elif key != "attributes":
            inst[key] = val
    for key in TABLES:
        inst.setdefault(key, [])
    inst.setdefault("discount_rate", 0.0)
    inst.setdefault("carbon_price", 0.0)
    if list(inst["periods"]) != sorted(set(inst["periods"])):
        raise ValueError("periods must be strictly increasing")
    return inst


KINDS = {"max_share", "min_share", "max_volume", "min_volume", "exclude", "max_average",
         "min_average", "max_count", "min_count", "max_top_share", "max_hhi",
         "max_change"}


class Data:
    """Derived lookups of a loaded instance (after dropping/overriding rules)."""

    def __init__(self, inst, drop_rules=(), override_limits=None):
        inst = load(inst)
        self.inst = inst
        self.periods = list(inst["periods"])
        t0 = self.periods[0]
        r = inst["discount_rate"]
        self.df = {t: 1.0 / (1.0 + r) ** (t - t0) for t in self.periods}
        self.family = {c["id"]: c["family"] for c in inst["chemistries"]}
        self.bloc = {c["id"]: c.get("bloc") for c in inst["countries"]}
        self.apps = {a["id"]: a for a in inst["applications"]}
        self.demand = {}
        for d in inst["demand"]:
            self.demand[(d["application"], d["period"])] = d["gwh"]
        self.sup = {s["id"]: s for s in inst["suppliers"]}
        self._cap = {(c["supplier"], c["period"]): c["gwh"] for c in inst["capacity"]}
        self._price = {(p["supplier"], p["period"]): p["price"] for p in inst["prices"]}
        self._lane = {(ln["supplier"], ln["application"]): ln["freight"] for ln in inst["lanes"]}
        self._tiers = {}
        for row in inst["price_tiers"]:
            self._tiers.setdefault((row["supplier"], row.get("period")), []).append(
                (row["from_gwh"], row["price"]))
        for key, tiers in self._tiers.items():
            tiers.sort()
            if tiers[0][0] != 0 or len({b for b, _ in tiers}) != len(tiers):
                raise ValueError(f"price tiers {key}: must start at 0, distinct from_gwh")
        # rules
        rules = [dict(rr) for rr in inst["rules"]]
        names = {rr["name"] for rr in rules}
        unknown = (set(drop_rules) | set(override_limits or {})) - names
        if unknown:
            raise ValueError(f"unknown rule names {sorted(unknown)}")
        rules = [rr for rr in rules if rr["name"] not in set(drop_rules)]
        for rr in rules:
            if rr["name"] in (override_limits or {}):
                rr["limit"] = float(override_limits[rr["name"]])
            if rr["kind"] not in KINDS:
                raise ValueError(f"rule {rr['name']}: unknown kind {rr['kind']}")
            if rr["kind"] == "exclude" and not rr.get("group"):
                raise ValueError(f"rule {rr['name']}: exclude needs a group")
            if rr["kind"] == "min_count" and not rr.get("threshold", 0) > 0:
                raise ValueError(f"rule {rr['name']}: min_count needs threshold > 0")
        self.rules = rules
        # upstream (SPEC section 7): kg per kWh by chemistry, origin shares
        self.kg_of = {(c["chemistry"], c["material"]): c["kg_per_kwh"] for c in inst["content"]}
        self._origins = {}
        for o in inst["origins"]:
            key = (o["supplier"], o["material"], o["stage"], o.get("period"))
            self._origins.setdefault(key, {})[o["country"]] = o["share"]
        # building supply (SPEC section 8): expansions by position, contracts by name
        first, last = self.periods[0], self.periods[-1]
        self.expansions = []
        for e in inst["expansions"]:
            e = {"lead_time": 0, "max_steps": 1, "first": first, "last": last,
                 "integer": True, **e}
            if e["supplier"] not in self.sup:
                raise ValueError(f"expansion of unknown supplier {e['supplier']}")
            self.expansions.append(e)
        self._maxcap = {}
        self.contracts = []
        for c in inst["contracts"]:
            c = {"from": first, "until": last, "discount": 0.0, "take_or_pay": False,
                 "signed": False, **c}
            if c["supplier"] not in self.sup:
                raise ValueError(f"contract {c['name']} of unknown supplier {c['supplier']}")
            if not 0 <= c["discount"] <= 1:
                raise ValueError(f"contract {c['name']}: discount outside 0..1")
            self.contracts.append(c)
        if len({c["name"] for c in self.contracts}) != len(self.contracts):
            raise ValueError("contract names must be unique")

    # ---- supplier facts -------------------------------------------------
    def value(self, s, by):
        """The group key of supplier s under attribute `by` (None: in no group)."""
        sp = self.sup[s]
        if by == "supplier":
            return s
        if by == "control":
            return sp.get("control", sp["country"])
        if by == "bloc":
            b = self.bloc.get(sp["country"])
            return sid(b) if b is not None else None
        if by == "family":
            return self.family[sp["chemistry"]]
        if by in ("company", "country", "chemistry") or by in self.inst["attributes"]:
            v = sp.get(by)
            return sid(v) if v is not None else None
        raise ValueError(f"unknown `by`: {by}")

    def cap(self, s, t):
        """Base capacity (without any co-funded expansion)."""
        return self._cap.get((s, t), self.sup[s].get("capacity", 0.0))

    def in_window(self, s, t):
        sp = self.sup[s]
        return sp.get("available_from", t) <= t <= sp.get("available_until", t)

    # ---- building supply (SPEC section 8) ----------------------------------
    def fund_periods(self, e):
        """Periods in which expansion row e (an index) may be funded: within
        first..last and with some period tau >= t + lead_time in the supplier's
        availability window for the capacity to arrive in."""
        x = self.expansions[e]
        return [t for t in self.periods if x["first"] <= t <= x["last"]
                and any(self.arrives(e, t, tau) for tau in self.periods)]

    def arrives(self, e, t, tau):
        """Does a step of expansion e funded in t add capacity in period tau?"""
        x = self.expansions[e]
        return t + x["lead_time"] <= tau and self.in_window(x["supplier"], tau)

    def available_from(self, e, t):
        """First period in which a step of e funded in t is capacity (None: never)."""
        return next((tau for tau in self.periods if self.arrives(e, t, tau)), None)

    def max_cap(self, s, tau):
        """Most capacity s can have in tau: base + every expansion that could
        have arrived by then, at max_steps."""
        if (s, tau) in self._maxcap:
            return self._maxcap[s, tau]
        tot = self.cap(s, tau)
        for e, x in enumerate(self.expansions):
            if x["supplier"] == s and any(self.arrives(e, t, tau) for t in self.fund_periods(e)):
                tot += x["step_gwh"] * x["max_steps"]
        self._maxcap[s, tau] = tot
        return tot

    def funded_cap(self, s, tau, funding):
        """Base + funded capacity of s in tau; funding: {(e, t): steps}."""
        tot = self.cap(s, tau)
        for (e, t), n in funding.items():
            if self.expansions[e]["supplier"] == s and self.arrives(e, t, tau):
                tot += self.expansions[e]["step_gwh"] * n
        return tot

    def contract_window(self, c):
        return [t for t in self.periods if c["from"] <= t <= c["until"]]

    def ex_price(self, s, t):
        """Ex-works price with tariffs (USD/kWh = USD million per GWh), the
        price of a take-or-pay shortfall and the base of a contract discount."""
        if self.tiers(s, t):
            raise NotImplementedError(f"contract price of {s} in {t} with price tiers")
        p = self.price(s, t)
        if p is None:
            raise ValueError(f"supplier {s} has no price in {t}")
        return p * (1 + self.tariff(s, t))

    def price(self, s, t):
        return self._price.get((s, t), self.sup[s].get("price"))

    def tiers(self, s, t):
        """Sorted [(from_gwh, price)] for s in t, or None (base price applies)."""
        return self._tiers.get((s, t)) or self._tiers.get((s, None))

    def tariff(self, s, t):
        sp = self.sup[s]
        tot = 0.0
        for row in self.inst["tariffs"]:
            if row["origin"] != sp["country"]:
                continue
            if "chemistry" in row and row["chemistry"] != sp["chemistry"]:
                continue
            if "family" in row and row["family"] != self.family[sp["chemistry"]]:
                continue
            if "from" in row and t < row["from"]:
                continue
            if "until" in row and t > row["until"]:
                continue
            tot += row["rate"]
        return tot

    def freight(self, s, a):
        return self._lane.get((s, a), self.sup[s].get("freight", 0.0))

    def carbon(self, s):
        return self.sup[s].get("carbon_intensity", 0.0) * self.inst["carbon_price"] / 1000.0

    def lane_extra(self, s, a):
        """Per-GWh cost that does not depend on the price: freight + carbon."""
        return self.freight(s, a) + self.carbon(s)

    def unit_cost(self, s, a, t):
        """Landed unit cost with the base (non-tier) price."""
        p = self.price(s, t)
        if p is None:
            raise ValueError(f"supplier {s} has no price in {t}")
        return p * (1 + self.tariff(s, t)) + self.lane_extra(s, a)

    def tier_cost(self, s, t, y):
        """Ex-works cost (tariffs included) of total volume y under s's tiers in t."""
        tiers = self.tiers(s, t)
        tot = 0.0
        for k, (b, p) in enumerate(tiers):
            top = tiers[k + 1][0] if k + 1 < len(tiers) else float("inf")
            tot += p * max(0.0, min(y, top) - b)
        return tot * (1 + self.tariff(s, t))

    # ---- upstream -------------------------------------------------------
    def kg(self, s, m):
        """kt of material m per GWh of supplier s's cells."""
        return self.kg_of.get((self.sup[s]["chemistry"], m), 0.0)

    def origin(self, s, m, k, t):
        """{country: share} of material m at stage k for supplier s in period t."""
        dated = self._origins.get((s, m, k, t))
        return dated if dated is not None else self._origins.get((s, m, k, None), {})

    def q(self, s, m, k, countries, t):
        """Share of s's material m at stage k that comes from `countries` in t."""
        return sum(v for c, v in self.origin(s, m, k, t).items() if c in countries)

    # ---- eligibility ----------------------------------------------------
    def ineligible(self, s, a, t):
        """None if lane-period (s,a,t) may carry volume, else the reason."""
        sp, app = self.sup[s], self.apps[a]
        if sp["chemistry"] not in app["chemistries"]:
            return f"chemistry {sp['chemistry']} not allowed for {a}"
        if not self.in_window(s, t):
            return f"{t} outside availability window"
        if not self.max_cap(s, t) > 0:      # base, or what expansions could add
            return f"no capacity in {t}"
        for r in self.rules:
            if r["kind"] != "exclude" or a not in self.rule_apps(r) \
                    or t not in self.rule_periods(r):
                continue
            if r["by"] == "origin":
                if self.kg(s, r["material"]) > 0 and \
                        self.q(s, r["material"], r["stage"], r["group"], t) > 0:
                    return f"excluded by rule {r['name']}"
            elif self.value(s, r["by"]) in r["group"]:
                return f"excluded by rule {r['name']}"
        return None

    def lanes(self):
        """All eligible (s, a, t)."""
        return [(s, a, t) for t in self.periods for a in self.apps for s in self.sup
                if self.ineligible(s, a, t) is None]

    # ---- rule scopes ----------------------------------------------------
    def rule_apps(self, r):
        return list(r.get("applications") or self.apps)

    def rule_periods(self, r):
        return [t for t in self.periods if "periods" not in r or t in r["periods"]]

    def group_values(self, by):
        vals = []
        for s in self.sup:
            v = self.value(s, by)
            if v is not None and v not in vals:
                vals.append(v)
        return vals

    def rule_groups(self, r):
        """[(label, set of suppliers)] for a rule: one pooled group if `group`
        is given (count rules: each listed value separately), else one per
        value of `by`; without `by` (average rules) one group of all suppliers."""
        by = r.get("by")
        if by is None:
            return [("*", set(self.sup))]
        if r["kind"] in ("max_count", "min_count"):
            vals = r.get("group") or self.group_values(by)
            return [(v, {s for s in self.sup if self.value(s, by) == v}) for v in vals]
        if r.get("group"):
            g = set(r["group"])
            return [("+".join(r["group"]), {s for s in self.sup if self.value(s, by) in g})]
        return [(v, {s for s in self.sup if self.value(s, by) == v})
                for v in self.group_values(by)]

    def rule_scopes(self, r):
        """[(period, tuple of applications)] for a rule."""
        apps = self.rule_apps(r)
        app_sets = [(a,) for a in apps] if r.get("per_application") else [tuple(apps)]
        return [(t, aa) for t in self.rule_periods(r) for aa in app_sets]

    def attr(self, s, name):
        v = self.sup[s].get(name)
        if v is None:
            raise ValueError(f"supplier {s} has no value for {name}")
        return float(v)
