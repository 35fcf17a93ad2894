"""The reports of ``optimizer stress`` and ``optimizer robust`` as HTML pages
(``report.html`` beside their CSV files), with the look and the chart code of
the solve report (:mod:`optimizer.report.html_base`).

Stress (:func:`render_stress`): the plan's cost in every scenario against its
base cost, the CVaR tail marked, the spot and unmet GWh of each scenario, and
with N-1 the single failures ranked by what they cost. Robust
(:func:`render_robust`): the robust and the deterministic plan side by side,
their mix by controlling country and chemistry family, their cost in every
scenario, and VSS and EVPI in a sentence each.

Scenarios are described in words: from the instance (``instance``: its
scenarios' factors and windows, and a scenario's ``description`` where the
instance gives one); N-1 cases and the base case describe themselves.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimizer.input.schema_scenarios import DemandFactor
from optimizer.labels import (
    as_number,
    capfirst,
    grouping_label,
    gwh,
    money,
    number,
    pct,
    pct_short,
    sig,
)
from optimizer.report.adaptive_html import adaptive_section, hedging_sentence
from optimizer.report.html_base import (
    ALERT_COLOUR,
    BASE_COLOUR,
    OTHERS_COLOUR,
    PALETTE,
    Card,
    Cell,
    Table,
    card_columns,
    render,
)

if TYPE_CHECKING:
    from optimizer.input.instance import Instance
    from optimizer.input.schema_scenarios import Scenario
    from optimizer.scenarios import RobustResult, StressResult

#: a chart shows at most this many cases (the base case and the dearest others)
MAX_CASE_BARS = 60
#: a table lists at most this many cases (all of them are in scenarios.csv)
MAX_CASE_ROWS = 2000
#: a mix chart shows at most this many groups (the smallest pooled)
MAX_GROUPS = 9

STRESS_TEMPLATE = "stress.html.j2"
ROBUST_TEMPLATE = "robust.html.j2"

BASE_TEXT = "nothing changes: every supplier delivers its contracts at the planned prices"
#: the colours of the two plans of the robust report, and of spot and unmet GWh
PLAN_COLOURS = {"deterministic": PALETTE[0], "robust": PALETTE[2],
                "wait-and-see": PALETTE[5]}
SPOT_COLOUR, UNMET_COLOUR = PALETTE[1], PALETTE[7]


# --------------------------------------------------------------------------- scenarios in words

def _members(group: Sequence[str], most: int = 6) -> str:
    names = list(group)
    if len(names) <= most:
        return ", ".join(names)
    return f"{', '.join(names[:most])} and {len(names) - most} more"


def describe_scenario(scenario: Scenario) -> str:
    """A scenario in words: its own description (if the instance gives one),
    then what it changes, for which suppliers and when."""
    changes = []
    for which, f in scenario.factors:
        value = f.factor
        amount = value.describe() if hasattr(value, "describe") else f"{float(value):g}"
        if isinstance(f, DemandFactor):
            apps = _members(f.applications) if f.applications else "every application"
            changes.append(f"demand × {amount} for {apps}")
        elif which == "price_add":  # a price added per kg of a material from some countries
            changes.append(f"price + {amount} USD per kg of {getattr(f, 'material', '?')} "
                           f"({getattr(f, 'stage', '?')}) from "
                           f"{_members(getattr(f, 'group', []))}")
        else:
            changes.append(f"{which} × {amount} for {grouping_label(getattr(f, 'by', '?'))} "
                           f"{_members(getattr(f, 'group', []))}")
    if scenario.from_ is not None and scenario.until is not None:
        when = f"{scenario.from_}–{scenario.until}"
    elif scenario.from_ is not None:
        when = f"from {scenario.from_}"
    elif scenario.until is not None:
        when = f"until {scenario.until}"
    else:
        when = "every year"
    text = f"{capfirst('; '.join(changes)) or 'No change'}, {when}."
    own = getattr(scenario, "description", None)
    return f"{str(own).strip()} ({text[:-1]})." if own and str(own).strip() else text


def scenario_descriptions(instance: Instance | None) -> dict[str, str]:
    """Each scenario of ``instance`` in words, by name."""
    if instance is None:
        return {}
    return {s.name: describe_scenario(s) for s in instance.scenarios}


def case_text(name: str, kind: str, group: Any, described: dict[str, str]) -> str:
    """What happens in a case: the base case, a file scenario, a sampled draw
    of one (``name#i``) or an N-1 failure."""
    if kind == "base":
        return capfirst(BASE_TEXT) + "."
    if kind == "n-1":
        return f"{group} loses all its capacity in every year; everything else goes on."
    if kind == "sample":
        stem, _, draw = name.rpartition("#")
        return f"Draw {draw} of {stem}: " + described.get(stem, "factors drawn at random.")
    return described.get(name, "–")


# --------------------------------------------------------------------------- numbers

def tail_mask(costs: Any, probabilities: Any, alpha: float) -> list[bool]:
    """The cases in the CVaR tail: the dearest, until they hold 1 - alpha of the
    probability (as :func:`optimizer.scenarios.cvar` takes them)."""
    c = np.asarray(costs, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    tail, taken = 1.0 - alpha, 0.0
    out = [False] * len(c)
    for i in np.argsort(-c, kind="stable"):
        if taken >= tail - 1e-12:
            break
        if p[i] <= 0:
            continue
        out[int(i)] = True
        taken += min(p[i], tail - taken)
    return out


def _charted(table: pd.DataFrame, cost: str) -> pd.DataFrame:
    """The cases a chart shows: all, or the base case and the dearest others."""
    if len(table) <= MAX_CASE_BARS:
        return table
    base = table[table["kind"] == "base"]
    rest = table[table["kind"] != "base"].sort_values(cost, ascending=False, kind="stable")
    return pd.concat([base, rest.head(MAX_CASE_BARS - len(base))])


def _chart_note(shown: int, total: int) -> str:
    return "" if shown == total else \
        f"The chart shows the base case and the {shown - 1} dearest of {total} cases; " \
        "all are in the table and in scenarios.csv."


def _floats(values: Any) -> list[float | None]:
    return [as_number(v) for v in values]


def _shortfall_chart(cats: list[str], spot: Any, unmet: Any, y_label: str) -> dict[str, Any]:
    return {"type": "columns", "stacked": True, "unit": "GWh", "y_label": y_label,
            "categories": cats,
            "series": [{"name": "bought spot", "colour": SPOT_COLOUR, "values": _floats(spot)},
                       {"name": "left unmet", "colour": UNMET_COLOUR,
                        "values": _floats(unmet)}]}


def _how_it_plays(summary: dict[str, Any]) -> list[str]:
    premium = as_number(summary.get("spot_premium"))
    penalty = as_number(summary.get("shortage_penalty"))
    return [
        "Contracts are index-linked: a supplier whose capacity falls delivers that share of "
        "each of its contracts, and every GWh delivered is paid at the scenario's price.",
        f"What a supplier cannot deliver is bought spot from the spare capacity of other "
        f"eligible suppliers, at their list price plus {pct_short(premium)}, cheapest first.",
        f"What cannot be bought at all is left unmet, at the application's penalty (else "
        f"USD {sig(penalty)} per kWh).",
        "Fixed costs and the plan's own unmet demand are those of the plan as contracted.",
    ]


# --------------------------------------------------------------------------- stress

def _stress_cards(s: dict[str, Any], n1: pd.DataFrame) -> list[Card]:
    base = as_number(s.get("base_cost"))
    exp = as_number(s.get("expected_cost"))
    alpha = float(s.get("alpha", 0.95))
    cards = [Card("base", "Base case", money(base), "USD", "m", "the plan as contracted"),
             Card("expected", "Expected cost", money(exp), "USD", "m",
                  f"{number(None if exp is None or base is None else exp - base, 1, signed=True)}"
                  " over the base case, weighted by probability"),
             Card("cvar", f"CVaR {alpha:g}", money(s.get("cvar")), "USD", "m",
                  f"mean cost in the worst {pct_short(1 - alpha)} of probability")]
    worst = s.get("worst_scenario")
    if worst:
        cards.append(Card("worst", "Worst scenario", money(worst.get("cost")), "USD", "m",
                          f"{worst.get('scenario')} (probability "
                          f"{pct_short(worst.get('probability'))})"))
    cards.append(Card("spot", "Expected spot buying", gwh(s.get("expected_spot_gwh")),
                      after="GWh", note="bought at short notice, at a premium"))
    cards.append(Card("unmet", "Expected unmet demand", gwh(s.get("expected_unmet_gwh")),
                      after="GWh", note="cells nobody could deliver"))
    if len(n1):
        top = n1.iloc[0]
        cards.append(Card("n1", "Worst single failure", number(top["extra_cost"], 1, signed=True),
                          "USD", "m", f"{top['group']} fails: over the base case"))
    return cards


def _stress_table(live: pd.DataFrame, tail: list[bool], described: dict[str, str]) -> Table:
    table = Table([("scenario", False), ("what happens", False), ("probability", True),
                   ("cost, USD m", True), ("vs base, USD m", True), ("shortfall, GWh", True),
                   ("spot, GWh", True), ("unmet, GWh", True), ("in the CVaR tail", False)],
                  cls="scenarios", sortable=True, key="scenarios")
    for r, t in list(zip(live.to_dict("records"), tail, strict=True))[:MAX_CASE_ROWS]:
        table.add(str(r["scenario"]), case_text(str(r["scenario"]), str(r["kind"]),
                                                r.get("group"), described),
                  Cell(pct(r["probability"]), sort=as_number(r["probability"])),
                  Cell(money(r["cost"]), sort=as_number(r["cost"])),
                  Cell(number(r["extra_cost"], 1, signed=True), sort=as_number(r["extra_cost"])),
                  Cell(gwh(r["shortfall_gwh"]), sort=as_number(r["shortfall_gwh"])),
                  Cell(gwh(r["spot_gwh"]), sort=as_number(r["spot_gwh"])),
                  Cell(gwh(r["unmet_gwh"]), sort=as_number(r["unmet_gwh"])),
                  "yes" if t else "")
    return table


def _n1_table(n1: pd.DataFrame, by: str) -> Table:
    table = Table([("rank", True), (grouping_label(by), False), ("cost, USD m", True),
                   ("vs base, USD m", True), ("shortfall, GWh", True), ("spot, GWh", True),
                   ("unmet, GWh", True)], cls="n-1", sortable=True, key="n-1")
    for r in n1.head(MAX_CASE_ROWS).to_dict("records"):
        table.add(Cell(str(r["rank"]), sort=int(r["rank"])), str(r["group"]),
                  Cell(money(r["cost"]), sort=as_number(r["cost"])),
                  Cell(number(r["extra_cost"], 1, signed=True), sort=as_number(r["extra_cost"])),
                  Cell(gwh(r["shortfall_gwh"]), sort=as_number(r["shortfall_gwh"])),
                  Cell(gwh(r["spot_gwh"]), sort=as_number(r["spot_gwh"])),
                  Cell(gwh(r["unmet_gwh"]), sort=as_number(r["unmet_gwh"])))
    return table


def survival_section(survival: pd.DataFrame, periods: int,
                     charts: dict[str, Any]) -> dict[str, Any] | None:
    """Time to survive per scenario and stocked application (``plan`` column
    when several plans were played), as a table and a column chart (added to
    ``charts``); None without a buffer stock."""
    if survival is None or not len(survival.columns) or survival.empty:
        return None
    by_plan = "plan" in survival.columns
    cols = [("plan", False)] if by_plan else []
    t = Table([*cols, ("scenario", False), ("application", False), ("months", True),
               ("to the end", False)], cls="survival", sortable=True,
              key="survival")
    for r in survival.to_dict("records"):
        months = as_number(r["months"])
        cells = [str(r["plan"])] if by_plan else []
        t.add(*cells, str(r["scenario"]), str(r["application"]),
              Cell(number(months, 1) if months is not None else "–", sort=months),
              "yes" if r["covers_to_end"] else "")
    shown = survival[survival["months"].notna()]
    if by_plan:
        shown = shown[shown["plan"] == "robust"]
    if len(shown):
        cats = [f"{sc} ({a})" for sc, a in zip(shown["scenario"], shown["application"],
                                                 strict=True)]
        charts["survival"] = {
            "type": "columns", "unit": "months", "y_label": "months",
            "categories": cats,
            "series": [{"name": "robust plan" if by_plan else "the plan",
                        "colour": PALETTE[0], "values": _floats(shown["months"])}]}
    return {"table": t, "horizon": 12 * periods}


def stress_context(res: StressResult, instance: Instance | None = None) -> dict[str, Any]:
    """What ``templates/stress.html.j2`` shows."""
    s = res.summary
    alpha = float(s.get("alpha", 0.95))
    described = scenario_descriptions(instance)
    table = res.scenarios
    live = table[table["kind"] != "n-1"].reset_index(drop=True)
    tail = tail_mask(live["cost"], live["probability"], alpha)
    charts: dict[str, Any] = {}
    note = ""
    if len(live) > 1:
        shown = _charted(live.assign(_tail=tail), "cost")
        cats = [str(n) for n in shown["scenario"]]
        charts["stress-cost"] = {
            "type": "columns", "unit": "USD m", "fit": True, "y_label": "USD million",
            "categories": cats,
            "series": [{"name": "cost of the plan", "colour": PALETTE[0],
                        "values": _floats(shown["cost"]),
                        "labels": [number(v, 1, signed=True) for v in shown["extra_cost"]]}],
            "notes": [f"probability {pct_short(p)}, {number(e, 1, signed=True)} vs base"
                      for p, e in zip(shown["probability"], shown["extra_cost"], strict=True)],
            "marked": [bool(t) for t in shown["_tail"]],
            "mark": {"name": f"in the CVaR tail (worst {pct_short(1 - alpha)})",
                     "colour": ALERT_COLOUR},
            "lines": [{"name": "base cost", "value": as_number(s.get("base_cost")),
                       "colour": BASE_COLOUR},
                      {"name": "expected cost", "value": as_number(s.get("expected_cost")),
                       "colour": PALETTE[3], "dash": "dashed"},
                      {"name": f"CVaR {alpha:g}", "value": as_number(s.get("cvar")),
                       "colour": ALERT_COLOUR, "dash": "dotted"}]}
        charts["stress-shortfall"] = _shortfall_chart(cats, shown["spot_gwh"],
                                                      shown["unmet_gwh"], "GWh")
        note = _chart_note(len(shown), len(live))
    n1 = res.n_minus_1
    by = (s.get("n_minus_1") or {}).get("by") or "company"
    if len(n1):
        top = n1.head(MAX_CASE_BARS)
        items = [{"label": str(r["group"]), "value": as_number(r["extra_cost"]),
                  "colour": ALERT_COLOUR if r["extra_cost"] > 0 else OTHERS_COLOUR,
                  "note": number(r["extra_cost"], 1, signed=True)}
                 for r in top.to_dict("records")]
        charts["n1-cost"] = {"type": "hbars", "axis": "USD million over the base case",
                             "items": items}
        charts["n1-shortfall"] = _shortfall_chart([str(g) for g in top["group"]],
                                                  top["spot_gwh"], top["unmet_gwh"], "GWh")
    cards = _stress_cards(s, n1)
    return {
        "instance": res.instance, "plan": res.plan.name, "alpha": f"{alpha:g}",
        "tail": pct_short(1 - alpha), "cards": cards, "card_columns": card_columns(cards),
        "scenario_count": len(live), "chart_note": note,
        "has_scenarios": len(live) > 1,
        "scenarios": _stress_table(live, tail, described),
        "more_rows": max(0, len(live) - MAX_CASE_ROWS),
        "n1": _n1_table(n1, by) if len(n1) else None, "n1_by": grouping_label(by),
        "n1_more": max(0, len(n1) - MAX_CASE_BARS),
        "how": _how_it_plays(s), "warnings": [str(w) for w in s.get("warnings") or []],
        "sample": s.get("sample"), "data": {"charts": charts},
        "survival": survival_section(res.survival, len(res.plan.allocation["period"].unique())
                                     if len(res.plan.allocation) else 1, charts),
    }


def render_stress(res: StressResult, instance: Instance | None = None) -> str:
    """The stress test as one self-contained HTML page."""
    return render(STRESS_TEMPLATE, stress_context(res, instance))


# --------------------------------------------------------------------------- robust

def _mix_chart(mix: pd.DataFrame, by: str) -> dict[str, Any]:
    keep, rest = (mix, mix.iloc[:0]) if len(mix) <= MAX_GROUPS else \
        (mix.iloc[:MAX_GROUPS - 1], mix.iloc[MAX_GROUPS - 1:])
    series = [{"name": str(g), "colour": PALETTE[i % len(PALETTE)],
               "values": [float(v) for v in row]}
              for i, (g, row) in enumerate(keep.iterrows())]
    if len(rest):
        series.append({"name": f"{len(rest)} others", "colour": OTHERS_COLOUR,
                       "values": [float(v) for v in rest.sum()]})
    return {"type": "stacked", "mode": "share", "unit": "%", "periods": list(mix.columns),
            "series": series, "x_label": "plan",
            "share_label": f"Share of GWh by {grouping_label(by)}"}


def _mix_table(mix: pd.DataFrame, by: str) -> Table:
    table = Table([(grouping_label(by), False), ("deterministic", True), ("robust", True),
                   ("change, points", True)], cls="mix", sortable=True, key=f"mix-{by}")
    for g, r in mix.iterrows():
        a, b = float(r["deterministic"]), float(r["robust"])
        table.add(str(g), Cell(pct(a), sort=a), Cell(pct(b), sort=b),
                  Cell(number(100 * (b - a) + 0.0, 1, signed=True), sort=b - a))
    return table


def _comparison(res: RobustResult) -> Table:
    det, rob = res.summary["plans"]["deterministic"], res.summary["plans"]["robust"]
    table = Table([("", False), ("deterministic plan", True), ("robust plan", True),
                   ("change", True)], cls="compare")
    for label, key, unit in (("cost in the base case, USD m", "base_cost", "m"),
                             ("expected cost, USD m", "expected_cost", "m"),
                             (f"CVaR {res.alpha:g}, USD m", "cvar", "m"),
                             ("expected spot buying, GWh", "expected_spot_gwh", "g"),
                             ("expected unmet demand, GWh", "expected_unmet_gwh", "g")):
        a, b = as_number(det.get(key)), as_number(rob.get(key))
        fmt = money if unit == "m" else gwh
        change = None if a is None or b is None else b - a
        table.add(label, fmt(a), fmt(b), number(change, 1 if unit == "m" else 2, signed=True))
    wd, wr = det.get("worst_scenario") or {}, rob.get("worst_scenario") or {}
    table.add("worst scenario, USD m", f"{wd.get('scenario', '–')}: {money(wd.get('cost'))}",
              f"{wr.get('scenario', '–')}: {money(wr.get('cost'))}",
              number(None if not wd or not wr else wr["cost"] - wd["cost"], 1, signed=True))
    return table


def _robust_table(sc: pd.DataFrame, described: dict[str, str]) -> Table:
    ws = "wait_and_see_cost" in sc.columns
    cols = [("scenario", False), ("what happens", False), ("probability", True),
            ("deterministic plan, USD m", True), ("robust plan, USD m", True),
            ("change, USD m", True)]
    if ws:
        cols.append(("best plan knowing the scenario, USD m", True))
    cols += [("spot + unmet GWh, deterministic", True), ("spot + unmet GWh, robust", True)]
    table = Table(cols, cls="scenarios", sortable=True, key="scenarios")
    for r in sc.head(MAX_CASE_ROWS).to_dict("records"):
        d, b = as_number(r["deterministic_cost"]), as_number(r["robust_cost"])
        short_d = r["deterministic_spot_gwh"] + r["deterministic_unmet_gwh"]
        short_r = r["robust_spot_gwh"] + r["robust_unmet_gwh"]
        cells: list[str | Cell] = [
            str(r["scenario"]), case_text(str(r["scenario"]), str(r["kind"]), None, described),
            Cell(pct(r["probability"]), sort=as_number(r["probability"])),
            Cell(money(d), sort=d), Cell(money(b), sort=b),
            Cell(number(None if d is None or b is None else b - d, 1, signed=True),
                 sort=None if d is None or b is None else b - d)]
        if ws:
            cells.append(Cell(money(r["wait_and_see_cost"]),
                              sort=as_number(r["wait_and_see_cost"])))
        cells += [Cell(gwh(short_d), sort=as_number(short_d)),
                  Cell(gwh(short_r), sort=as_number(short_r))]
        table.add(*cells)
    return table


def _robust_cards(res: RobustResult) -> list[Card]:
    s = res.summary
    det, rob = s["plans"]["deterministic"], s["plans"]["robust"]
    what = "expected cost" if res.weight == 0 else \
        f"{1 - res.weight:g} × expected cost + {res.weight:g} × CVaR {res.alpha:g}"
    objective = s["two_stage"]["objective"] if "two_stage" in s else s.get("objective")
    cards = [Card("objective", "Robust objective", money(objective), "USD", "m", what),
             Card("expected", "Expected cost", money(rob.get("expected_cost")), "USD", "m",
                  f"deterministic plan: USD {money(det.get('expected_cost'))} m"),
             Card("cvar", f"CVaR {res.alpha:g}", money(rob.get("cvar")), "USD", "m",
                  f"deterministic plan: USD {money(det.get('cvar'))} m"),
             Card("vss", "VSS", money(s.get("vss")), "USD", "m",
                  "value of planning for the scenarios")]
    if s.get("evpi") is not None:
        cards.append(Card("evpi", "EVPI", money(s.get("evpi")), "USD", "m",
                          "value of knowing the future"))
    if "adaptive" in s:
        ad = s["adaptive"]
        cards.append(Card("adaptive", "Adaptive expected cost", money(ad["expected_cost"]),
                          "USD", "m", f"re-planning {ad['lag']} year(s) after a scenario "
                          "starts"))
        cards.append(Card("adapting", "Value of adapting", money(ad["value_of_adapting"]),
                          "USD", "m", "two-stage minus adaptive expected cost"))
    return cards


def _sentences(res: RobustResult) -> dict[str, str]:
    s = res.summary
    plans = s["plans"]
    e0 = plans["expected-cost" if "expected-cost" in plans else "robust"]["expected_cost"]
    which = "robust plan" if "expected-cost" not in plans else \
        "expected-cost plan (the robust plan with a CVaR weight of 0)"
    out = {"vss": (f"VSS = USD {money(s.get('vss'))} m: planning for the scenarios instead of "
                   f"for the base case alone lowers the expected cost from USD "
                   f"{money(plans['deterministic']['expected_cost'])} m (the deterministic "
                   f"plan, played out in every scenario) to USD {money(e0)} m (the {which}).")}
    if s.get("evpi") is not None:
        out["evpi"] = (f"EVPI = USD {money(s.get('evpi'))} m: knowing in advance which scenario "
                       f"will happen, and buying the best plan for it, would bring the expected "
                       f"cost from USD {money(e0)} m down to USD "
                       f"{money(s.get('wait_and_see_cost'))} m; no forecast can be worth more "
                       "than that.")
    return out


def robust_context(res: RobustResult, instance: Instance | None = None) -> dict[str, Any]:
    """What ``templates/robust.html.j2`` shows."""
    s = res.summary
    described = scenario_descriptions(instance)
    sc = res.scenarios
    charts: dict[str, Any] = {}
    mixes = []
    if res.sd is not None:
        for by in ("control", "family"):
            mix = res.mix(by)
            if len(mix):
                charts[f"robust-mix-{by}"] = _mix_chart(mix, by)
                mixes.append({"name": f"robust-mix-{by}", "by": grouping_label(by),
                              "table": _mix_table(mix, by)})
    shown = _charted(sc.assign(_worst=sc[["deterministic_cost", "robust_cost"]].max(axis=1)),
                     "_worst")
    cats = [str(n) for n in shown["scenario"]]
    series = [{"name": "deterministic plan", "colour": PLAN_COLOURS["deterministic"],
               "values": _floats(shown["deterministic_cost"])},
              {"name": "robust plan", "colour": PLAN_COLOURS["robust"],
               "values": _floats(shown["robust_cost"])}]
    if "wait_and_see_cost" in shown.columns:
        series.append({"name": "best plan knowing the scenario",
                       "colour": PLAN_COLOURS["wait-and-see"],
                       "values": _floats(shown["wait_and_see_cost"])})
    plans = s["plans"]
    charts["robust-costs"] = {
        "type": "columns", "unit": "USD m", "fit": True, "y_label": "USD million",
        "categories": cats, "series": series,
        "notes": [f"probability {pct_short(p)}" for p in shown["probability"]],
        "lines": [{"name": "expected cost, deterministic plan",
                   "value": as_number(plans["deterministic"]["expected_cost"]),
                   "colour": PLAN_COLOURS["deterministic"], "dash": "dashed"},
                  {"name": "expected cost, robust plan",
                   "value": as_number(plans["robust"]["expected_cost"]),
                   "colour": PLAN_COLOURS["robust"], "dash": "dashed"}]}
    charts["robust-shortfall"] = {
        "type": "columns", "unit": "GWh", "y_label": "GWh bought spot or left unmet",
        "categories": cats,
        "series": [{"name": "deterministic plan", "colour": PLAN_COLOURS["deterministic"],
                    "values": _floats(shown["deterministic_spot_gwh"]
                                      + shown["deterministic_unmet_gwh"])},
                   {"name": "robust plan", "colour": PLAN_COLOURS["robust"],
                    "values": _floats(shown["robust_spot_gwh"] + shown["robust_unmet_gwh"])}]}
    cards = _robust_cards(res)
    return {
        "instance": res.instance, "alpha": f"{res.alpha:g}", "weight": f"{res.weight:g}",
        "cards": cards, "card_columns": card_columns(cards), "sentences": _sentences(res),
        "comparison": _comparison(res), "mixes": mixes,
        "scenarios": _robust_table(sc, described), "scenario_count": len(sc),
        "wait_and_see": "wait_and_see_cost" in sc.columns,
        "more_rows": max(0, len(sc) - MAX_CASE_ROWS),
        "chart_note": _chart_note(len(shown), len(sc)),
        "how": _how_it_plays(s), "warnings": [str(w) for w in s.get("warnings") or []],
        "sample": s.get("sample"), "data": {"charts": charts},
        "survival": survival_section(res.survival, len(res.sd.periods) if res.sd else 1,
                                     charts),
        "adaptive": adaptive_section(res, charts),
        "engine": hedging_sentence({**s, **s.get("two_stage", {})}, "The robust plan"),
    }


def render_robust(res: RobustResult, instance: Instance | None = None) -> str:
    """The robust plan against the deterministic one, as one self-contained page."""
    return render(ROBUST_TEMPLATE, robust_context(res, instance))
