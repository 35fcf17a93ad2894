"""The HTML report: content, escaping, offline-ness, and a real browser.

The browser tests open ``report.html`` in headless Chromium, driven over the
DevTools protocol on a pipe (``--remote-debugging-pipe``: standard library
only, no driver, nothing downloaded). They collect uncaught exceptions,
``console.error`` calls, browser log errors (failed loads, CSP violations) and
every network request; they are skipped, with the reason, when no Chromium is
installed (set ``CHROMIUM=/path/to/binary`` to choose one).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import json
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import optimizer
from optimizer.cli import main
from optimizer.cli.common import EXIT_NO_PLAN, EXIT_PLAN
from optimizer.labels import gwh
from optimizer.report import html
from optimizer.report.files import write_result
from optimizer.report.html import MAX_SERIES, mix_series, render_html, what_to_buy

from .conftest import world

ROOT = Path(__file__).resolve().parent.parent
NORTH_AMERICA = ROOT / "instances" / "north-america" / "instance.yaml"
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"


# --------------------------------------------------------------------------- fixtures

@pytest.fixture(scope="module")
def teaching() -> optimizer.Result:
    return optimizer.solve(TEACHING)


@pytest.fixture(scope="module")
def north_america() -> optimizer.Result:
    return optimizer.solve(NORTH_AMERICA)


def infeasible_world() -> dict[str, Any]:
    # three companies, each capped at 30%: at most 90% of the demand can be bought
    return world(rules=[{"name": "company-cap", "kind": "max_share", "by": "company",
                         "limit": 0.3}])


# --------------------------------------------------------------------------- page parsing

class Page(HTMLParser):
    """Elements with their attributes, the visible text, the JSON blob, and the
    tables (by class) as rows of cell texts."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.data_blob = ""
        self.text: list[str] = []
        self.tables: list[tuple[str, list[list[str]]]] = []
        self._in: str | None = None  # inside a script or style element
        self._cell: list[str] | None = None
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.elements.append((tag, a))
        if tag in ("script", "style"):
            self._in = "data" if a.get("id") == "report-data" else tag
        elif tag == "table":
            self.tables.append((a.get("class") or "", []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._in = None
        elif tag in ("td", "th") and self._cell is not None and self.tables:
            self.tables[-1][1][-1].append(re.sub(r"\s+", " ", "".join(self._cell)).strip())
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in == "data":
            self.data_blob += data
        elif self._in is None:
            self.text.append(data)
            if self._cell is not None:
                self._cell.append(data)

    def table(self, cls: str) -> list[list[str]]:
        """The rows of the one table with class ``cls``, header first."""
        found = [rows for c, rows in self.tables if c == cls]
        assert len(found) == 1, (cls, [c for c, _ in self.tables])
        return found[0]

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_blob)

    @property
    def plain(self) -> str:
        return re.sub(r"\s+", " ", " ".join(self.text))

    def attr(self, name: str) -> list[str]:
        return [a[name] or "" for _, a in self.elements if name in a]


def mix_of(page: Page, by: str) -> dict[str, Any]:
    return next(d for d in page.data["mix"] if d["id"] == by)


def expected_segments(result: optimizer.Result, by: str) -> dict[int, int]:
    """Groups with volume in each period, counted from the shares table (with the
    smallest pooled into one "others" segment when there are too many)."""
    s = result.shares[(result.shares["by"] == by) & (result.shares["gwh"] > 0)]
    totals = s.groupby("group")["gwh"].sum().sort_values(ascending=False, kind="stable")
    keep = set(totals.index[:MAX_SERIES - 1]) if len(totals) > MAX_SERIES else set(totals.index)
    out = {}
    for t, g in s.groupby("period"):
        kept = g["group"].isin(keep)
        out[int(t)] = int(kept.sum()) + int((~kept).any())
    return out


# --------------------------------------------------------------------------- content

def test_teaching_page_content(teaching: optimizer.Result) -> None:
    page = Page(render_html(teaching))
    text = page.plain
    # the objective worked by hand in instances/teaching/instance.yaml: 1722 + 1916 = 3638
    assert teaching.objective == pytest.approx(3638.0)
    assert "USD 3,638.0 m" in text
    assert page.attr("data-objective") == [repr(teaching.objective)]
    # the cheapest plan with no rules: 2026 all 30 GWh from CATL (catl-hu 10 at 51, catl 20 at
    # 52) = 1550; 2027 32 GWh (catl-hu 10 at 51, catl 22 at 52) = 1654; total 3204.
    assert "+ USD 434.0 m" in text and "USD 3,204.0 m" in text
    # cost breakdown: ex-works 2026 10x50 + 11x40 + 7x70 + 2x75 = 1580,
    # 2027 12x70 + 2x75 + 10x50 + 8x40 = 1810; tariffs 25% of CN-made ex-works (11 + 8 GWh at
    # 40) = 190; freight 10x1 + 11x2 + 10x1 + 8x2 = 58.
    costs = {c["key"]: c["value"] for c in page.data["costs"]}
    assert costs == pytest.approx({"ex_works": 3390.0, "tariff": 190.0, "freight": 58.0})
    assert {"Ex-works price", "Tariffs", "Freight"} <= set(re.findall(r"[A-Z][a-z-]+(?: price)?",
                                                                       text))
    # rule costs (each rule removed on its own, worked by hand):
    #   china-cap: 2026 the 7 GWh of lges (70) go to catl (52): 7 x 18 = 126
    #   alt-floor: 2 GWh of peak (75) to lges (70) in 2026 and to catl (52) in 2027: 10 + 46 = 56
    #   ev-no-china-2027: 4.4 GWh of ev from lges (70) to catl (52), up to china-cap's
    #   0.7 x 32 = 22.4 GWh: 4.4 x 18 = 79.2
    rule_costs = {r["rule"]: r["cost"] for r in page.data["rule_costs"]}
    assert rule_costs == pytest.approx({"china-cap": 126.0, "alt-floor": 56.0,
                                        "ev-no-china-2027": 79.2})
    assert [r["rule"] for r in page.data["rule_costs"]] == ["china-cap", "ev-no-china-2027",
                                                           "alt-floor"]
    for cost in ("126.00", "56.00", "79.20"):
        assert cost in text
    # binding scopes with their marginal costs (per percentage point) and own costs:
    # china-cap 2026 5.4 (126), alt-floor 2026 1.0 (10) and 2027 4.6 (46), the exclusion of
    # ev's 2 CN-controlled offers in 2027 (79.2); china-cap 2027 (56.25%) is slack: not listed
    rows = page.table("rules")
    assert rows[0] == ["rule", "period", "application", "group", "value", "limit",
                       "marginal cost, USD m", "cost of this scope, USD m"]
    assert rows[1:] == [
        ["china-cap", "2026", "all", "CN", "70.0%", "70.0%", "5.400 / pt", "126.00"],
        ["alt-floor", "2027", "storage", "sodium", "10.0%", "10.0%", "4.600 / pt", "46.00"],
        ["alt-floor", "2026", "storage", "sodium", "10.0%", "10.0%", "1.000 / pt", "10.00"],
        ["ev-no-china-2027", "2027", "ev", "CN", "2 offers excluded", "none", "–", "79.20"],
    ]


@pytest.mark.parametrize("by", ["control", "company", "family"])
def test_teaching_mix_charts(teaching: optimizer.Result, by: str) -> None:
    page = Page(render_html(teaching))
    assert f"mix-{by}" in page.attr("data-chart")
    d = mix_of(page, by)
    assert d["periods"] == [2026, 2027]
    # GWh per group and period, from the plan in the instance's comments
    expected = {
        "control": {"CN": [21, 18], "KR": [7, 12], "US": [2, 2]},
        "company": {"CATL": [21, 18], "LGES": [7, 12], "Peak": [2, 2]},
        "family": {"lithium": [28, 30], "sodium": [2, 2]},
    }[by]
    got = {s["name"]: s["values"] for s in d["series"]}
    assert got == {k: pytest.approx(v) for k, v in expected.items()}
    # largest first: drawn at the bottom of each bar
    assert d["series"][0]["name"] == max(expected, key=lambda k: sum(expected[k]))


def test_north_america_page(north_america: optimizer.Result) -> None:
    r = north_america
    page = Page(render_html(r))
    assert f"USD {r.objective:,.1f} m" in page.plain
    periods = sorted(int(t) for t in r.allocation["period"].unique())
    assert len(periods) == 5
    for by in ("control", "company", "family"):
        d = mix_of(page, by)
        assert d["periods"] == periods
        # one bar per period; the values of each bar add up to that period's purchases
        bought = r.allocation.groupby("period")["gwh"].sum()
        for i, t in enumerate(periods):
            assert sum(s["values"][i] for s in d["series"]) == pytest.approx(bought[t])
        segs = {t: sum(s["values"][i] > 0 for s in d["series"]) for i, t in enumerate(periods)}
        assert segs == expected_segments(r, by)
    # every binding rule appears with its total cost
    summary = r.rule_summary
    assert (summary["total_cost"] > 0).sum() >= 3
    shown = {x["rule"]: x["cost"] for x in page.data["rule_costs"]}
    for row in summary.itertuples():
        assert shown[row.rule] == pytest.approx(row.total_cost)
        if row.total_cost > 0:
            assert f"{row.total_cost:,.2f}" in page.plain
    assert "Concentration" in page.plain
    for row in r.concentration.itertuples():
        assert f"{row.hhi:,.0f}" in page.plain


def unmet_world() -> dict[str, Any]:
    # 400 GWh of grid demand, 300 GWh of capacity; unmet GWh cost 100 USD/kWh; us1 has a
    # fixed cost of 50 (a binary decision). Every supplier is cheaper than going without:
    # cn1 100 x 40 + kr1 100 x 50 + us1 100 x 70 + 50 fixed + 100 unmet x 100
    # = 4000 + 5000 + 7050 + 10000 = 26050
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"],
                                "unmet_penalty": 100}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 400}])
    inst["suppliers"][2]["fixed_cost"] = 50
    return inst


def test_unmet_demand_fixed_costs_and_mip_page(solve_dict: Any) -> None:
    r = solve_dict(unmet_world())
    assert r.objective == pytest.approx(26050)
    page = Page(render_html(r))
    costs = {c["key"]: c["value"] for c in page.data["costs"]}
    assert costs == pytest.approx({"ex_works": 16000, "tariff": 0, "freight": 0, "fixed": 50,
                                   "unmet_penalty": 10000})
    cards = page.plain
    assert "USD 26,050.0 m" in cards and "Unmet demand 100 GWh" in cards
    assert "MIP gap" in cards
    rows = [t for c, t in page.tables if c == ""]
    assert [["application", "period", "demand, GWh", "unmet, GWh", "penalty, USD/kWh"],
            ["grid", "2026", "400", "100", "100"]] in rows
    assert "This instance sets no rules." in page.plain


def test_mix_pools_small_groups_into_others() -> None:
    # 12 companies in one period, 1..12 GWh: the 8 largest keep their colour, the other 4
    # (1 + 2 + 3 + 4 = 10 GWh) are pooled into "4 others"
    shares = pd.DataFrame({"period": 2030, "by": "company",
                           "group": [f"c{i:02d}" for i in range(1, 13)],
                           "gwh": np.arange(1.0, 13.0)})
    d = mix_series(shares, "company")
    names = [s["name"] for s in d["series"]]
    assert len(names) == MAX_SERIES == 9
    assert names[:8] == [f"c{i:02d}" for i in range(12, 4, -1)]
    assert names[-1] == "4 others"
    assert d["series"][-1]["values"] == [10.0]
    assert d["series"][-1]["members"] == ["c04", "c03", "c02", "c01"]
    assert len({s["colour"] for s in d["series"]}) == 9
    # exactly MAX_SERIES groups: nothing is pooled
    d9 = mix_series(shares[shares["gwh"] <= 9], "company")
    assert [s["name"] for s in d9["series"]] == [f"c{i:02d}" for i in range(9, 0, -1)]


NASTY = '<script>alert("x")</script> & "Co" \'s <img src=x onerror=alert(1)>'


@pytest.fixture
def nasty_result(solve_dict: Any) -> optimizer.Result:
    """A plan whose instance name and a company name are hostile markup."""
    inst = world(name=f"Plan {NASTY}")
    inst["suppliers"][0]["company"] = NASTY
    inst["rules"] = [{"name": "cap", "kind": "max_share", "by": "company", "limit": 0.5}]
    r = solve_dict(inst)
    assert r.status == "optimal"
    return r


def test_user_text_is_escaped(nasty_result: optimizer.Result) -> None:
    nasty = NASTY
    text = render_html(nasty_result)
    assert "<script>alert" not in text
    # in the tables and headings the text comes back exactly; in the JSON blob too
    page = Page(text)
    assert nasty in page.plain
    assert nasty in {s["name"] for s in mix_of(page, "company")["series"]}
    # exactly two script elements: the data blob and the drawing code
    assert [t for t, _ in page.elements].count("script") == 2
    # escaped where the templates put it: the title, a card, the concentration table
    assert ("<title>Battery sourcing plan: Plan &lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; "
            "&amp; &#34;Co&#34; &#39;s &lt;img src=x onerror=alert(1)&gt;</title>") in text
    assert f"Top company 50.0% {nasty}" in page.plain
    company = page.table("conc")[1]
    assert company[:2] == ["company", "2026"]
    # in the what-to-buy table: a cell with exactly the text, and an option of nothing
    bought = {r["supplier"]: r for r in buy_rows(page)}
    assert bought["cn1"]["company"] == nasty
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &#34;Co&#34;" in text
    assert company[5:7] == [f"{nasty} 50.0%", f"{nasty} 100.0%"]
    # a frontier line named after hostile text: in the table and the blob, inert
    frontier = pd.DataFrame({"rule": [nasty] * 2, "limit": [0.5, 0.6],
                             "objective": [4500.0, 4400.0]})
    text = render_html(nasty_result, frontier=frontier)
    assert "<script>alert" not in text
    page = Page(text)
    assert page.data["frontier"]["series"][0]["name"] == nasty
    # (no rule kind: which way is tighter is unknown, so no step costs)
    assert [nasty, "0.5", "4,500.0", "–"] in [row for _, rows in page.tables for row in rows]
    assert [t for t, _ in page.elements].count("script") == 2


# ------------------------------------------------------------- what to buy, notes, glossary

BUY_HEADER = ["supplier", "company", "production country", "controlling country", "chemistry",
              "application", "year", "GWh", "landed USD/kWh", "USD million"]


def buy_rows(page: Page) -> list[dict[str, str]]:
    rows = page.table("buy")
    assert rows[0] == BUY_HEADER
    return [dict(zip(rows[0], r, strict=True)) for r in rows[1:]]


def test_what_to_buy_teaching(teaching: optimizer.Result) -> None:
    page = Page(render_html(teaching))
    rows = buy_rows(page)
    alloc = teaching.allocation
    # one row per allocation row, with the same GWh, landed cost and cost
    assert len(rows) == len(alloc) == 9
    got = sorted((r["supplier"], r["application"], r["year"], r["GWh"], r["landed USD/kWh"],
                  r["USD million"]) for r in rows)
    want = sorted((a.supplier, a.application, str(a.period), f"{a.gwh:g}",
                   f"{a.unit_landed_cost:.2f}", f"{a.cost:,.2f}") for a in alloc.itertuples())
    assert got == want
    # per supplier and year, as worked by hand in the instance's comments: catl 11 GWh in 2026
    # at 40 x 1.25 + 2 = 52 USD/kWh, catl-hu 10 at 40 x 1.25 + 1 ... lges 7 and 12 at 70, peak 2
    # at 75; china-cap holds CN-controlled cells (catl, catl-hu) to 21 GWh in 2026
    total: dict[tuple[str, str], float] = {}
    for r in rows:
        key = (r["supplier"], r["year"])
        total[key] = total.get(key, 0.0) + float(r["GWh"])
    assert total == pytest.approx({("catl", "2026"): 11, ("catl-hu", "2026"): 10,
                                   ("lges", "2026"): 7, ("peak", "2026"): 2,
                                   ("catl", "2027"): 8, ("catl-hu", "2027"): 10,
                                   ("lges", "2027"): 12, ("peak", "2027"): 2})
    landed = {r["supplier"]: r["landed USD/kWh"] for r in rows}
    assert landed == {"catl": "52.00", "catl-hu": "51.00", "lges": "70.00", "peak": "75.00"}
    assert {r["controlling country"] for r in rows if r["supplier"].startswith("catl")} == {"CN"}
    assert {r["production country"] for r in rows if r["supplier"] == "catl-hu"} == {"HU"}
    # the rows carry their numbers for sorting and the totals line; the count line adds up
    body = [a for t, a in page.elements if t == "tr" and "data-app" in a]
    assert len(body) == 9
    assert sum(float(a["data-gwh"] or 0) for a in body) == pytest.approx(62.0)
    assert sum(float(a["data-cost"] or 0) for a in body) == pytest.approx(alloc["cost"].sum())
    assert "Showing 9 of 9 rows: 62 GWh, USD 3,638.0 m." in page.plain
    # the application selector offers each application once
    options = [a.get("value") for t, a in page.elements if t == "option"]
    assert options == ["", "ev", "storage"]
    assert 'data-sortable' in render_html(teaching)


def test_what_to_buy_lists_every_supplier_of_a_large_plan(north_america: optimizer.Result,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    r = north_america
    suppliers = set(r.allocation["supplier"])
    assert len(r.allocation) > 20 and len(suppliers) >= 10
    rows = buy_rows(Page(render_html(r)))
    assert len(rows) == len(r.allocation)
    assert sum(float(x["GWh"].replace(",", "")) for x in rows) == pytest.approx(
        r.allocation["gwh"].sum(), abs=0.01 * len(rows))
    # a plan larger than the page lists: the largest rows, every supplier among them, a note
    limit = len(suppliers) + 3
    monkeypatch.setattr(html, "MAX_BUY_ROWS", limit)
    page = Page(render_html(r))
    rows = buy_rows(page)
    assert len(rows) == limit
    assert {x["supplier"] for x in rows} == suppliers
    biggest = r.allocation.sort_values("gwh", ascending=False, kind="stable").drop_duplicates(
        "supplier")
    for b in biggest.itertuples():  # each supplier's largest row is the one listed
        assert any(x["supplier"] == b.supplier and x["application"] == b.application
                   and x["year"] == str(b.period) for x in rows)
    assert (f"The plan has {len(r.allocation)} rows; the {limit} shown here are the largest"
            in page.plain)
    assert "The full list is in allocation.csv" in page.plain
    # every row at most: nothing cut, no note
    assert what_to_buy(r, limit=len(r.allocation))["more"] is False  # type: ignore[index]


GLOSSARY_TERMS = ["Landed cost", "Binding rule, binding scope", "Marginal cost",
                  "Total cost of a rule", "HHI (Herfindahl-Hirschman index)", "Top-k share",
                  "CVaR (conditional value at risk)", "VSS (value of the stochastic solution)",
                  "EVPI (expected value of perfect information)", "N-1", "Spot purchase",
                  "Unmet demand", "Controlling country and production country"]


def glossary_terms(text: str) -> list[str]:
    section = re.search(r'<section id="glossary">(.*?)</section>', text, re.DOTALL)
    assert section is not None
    return [re.sub(r"\s+", " ", t).strip() for t in
            re.findall(r"<dt[^>]*>(.*?)</dt>", section.group(1), re.DOTALL)]


def test_glossary_and_notes(teaching: optimizer.Result, solve_dict: Any) -> None:
    text = render_html(teaching)
    assert glossary_terms(text) == GLOSSARY_TERMS
    plain = Page(text).plain
    assert "above 2,500 highly concentrated" in plain
    assert "made in HU and controlled by CN" in plain
    # a plain-language note under each section
    sections = re.findall(r'<section id="([\w-]+)"', text)
    assert sections == ["what-to-buy", "mix", "costs", "rules", "concentration", "glossary"]
    assert text.count('<p class="what"><strong>What this shows:</strong>') == len(sections) - 1
    # the page explaining an infeasible instance has the glossary too
    assert glossary_terms(render_html(solve_dict(infeasible_world()))) == GLOSSARY_TERMS


def test_page_is_self_contained(north_america: optimizer.Result) -> None:
    text = render_html(north_america)
    page = Page(text)
    for name in ("src", "href", "srcset", "action", "poster", "data"):
        for value in page.attr(name):
            assert not re.match(r"\s*(https?:)?//", value), (name, value)
    assert not any(t in ("link", "img", "iframe", "object", "embed") for t, _ in page.elements)
    assert not re.search(r"url\(\s*['\"]?(https?:)?//", text)
    assert "@import" not in text


def test_infeasible_page_explains_repairs(solve_dict: Any) -> None:
    r = solve_dict(infeasible_world())
    assert r.status == "infeasible" and r.repairs
    page = Page(render_html(r))
    text = page.plain
    assert "No plan satisfies every requirement" in text
    # 3 companies at most 30% each cover at most 90%: the smallest repair raises one
    # company's cap (the cheapest, CATL) to 1 - 2 x 0.3 = 0.4
    assert [(x["rule"], x["group"]) for x in r.repairs] == [("company-cap", "CATL")]
    assert r.repairs[0]["required"] == pytest.approx(0.4, abs=1e-6)
    assert r.repairs[0]["message"] in text
    header, row = page.table("")[0], page.table("")[1]
    assert dict(zip(header, row, strict=True)) == {
        "rule": "company-cap", "period": "2026", "application": "–", "group": "CATL",
        "limit": "0.3", "required": "0.4", "change": "0.1"}
    assert "company-cap" in text and "rule 'company-cap' (company LGES) in 2026" in text
    assert page.attr("data-chart") == []


def test_frontier_hook(teaching: optimizer.Result) -> None:
    frontier = pd.DataFrame({"rule": ["china-cap"] * 4, "limit": [0.5, 0.6, 0.7, 0.8],
                             "objective": [np.nan, 3700.0, 3638.0, 3600.0]})
    page = Page(render_html(teaching, frontier=frontier))
    assert "frontier" in page.attr("data-chart")
    fr = page.data["frontier"]
    assert fr["series"][0]["points"] == [[0.5, None], [0.6, 3700.0], [0.7, 3638.0],
                                         [0.8, 3600.0]]
    assert "no plan" in page.plain
    assert fr["x_label"] == "limit of china-cap"
    assert "frontier" not in Page(render_html(teaching)).attr("data-chart")
    # a grid of two rules (as optimizer.frontier returns it): one line per second limit
    grid = pd.DataFrame({"rule": "china-cap", "limit": [0.6, 0.7, 0.6, 0.7],
                         "rule_2": "alt-floor", "limit_2": [0.1, 0.1, 0.2, 0.2],
                         "objective": [3700.0, 3638.0, 3760.0, 3690.0]})
    fr = Page(render_html(teaching, frontier=grid)).data["frontier"]
    assert [(s["name"], s["points"]) for s in fr["series"]] == [
        ("alt-floor = 0.1", [[0.6, 3700.0], [0.7, 3638.0]]),
        ("alt-floor = 0.2", [[0.6, 3760.0], [0.7, 3690.0]])]
    with pytest.raises(ValueError, match="limit"):
        render_html(teaching, frontier=pd.DataFrame({"objective": [1.0]}))


def test_write_result_writes_report(teaching: optimizer.Result, tmp_path: Path,
                                    solve_dict: Any) -> None:
    written = {p.name for p in write_result(teaching, tmp_path / "a")}
    assert "report.html" in written
    assert "USD 3,638.0 m" in Page((tmp_path / "a" / "report.html").read_text()).plain
    infeasible = solve_dict(infeasible_world())
    written = {p.name for p in write_result(infeasible, tmp_path / "b")}
    assert "report.html" in written
    error = dataclasses.replace(teaching, status="error", objective=None)
    assert "report.html" not in {p.name for p in write_result(error, tmp_path / "c")}


def test_cli_solve_out_writes_report(tmp_path: Path, write_instance: Any) -> None:
    assert main(["solve", str(TEACHING), "--out", str(tmp_path / "plan")]) == EXIT_PLAN
    page = Page((tmp_path / "plan" / "report.html").read_text(encoding="utf-8"))
    assert "USD 3,638.0 m" in page.plain
    assert {"mix-control", "mix-company", "mix-family", "costs", "rule-costs"} <= set(
        page.attr("data-chart"))
    bad = write_instance(infeasible_world())
    assert main(["solve", str(bad), "--out", str(tmp_path / "none")]) == EXIT_NO_PLAN
    assert "No plan satisfies" in (tmp_path / "none" / "report.html").read_text()


# --------------------------------------------------------------------------- a real browser

def chromium_binary() -> str | None:
    env = os.environ.get("CHROMIUM")
    if env:
        return env if Path(env).exists() else shutil.which(env)
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable",
                 "chrome", "headless_shell"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclasses.dataclass
class PageRun:
    errors: list[str]
    requests: list[str]
    state: Any
    after: Any = None
    screenshot: bytes | None = None


class Browser:
    """Headless Chromium driven over the DevTools protocol on a pipe.

    The pipe is file descriptors 3 (commands in) and 4 (replies out) of the
    browser process; each message is JSON ended by a NUL byte.
    """

    FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-extensions", "--disable-default-apps", "--mute-audio",
             "--hide-scrollbars", "--window-size=1280,900")

    def __init__(self, binary: str, timeout: float = 30.0):
        self.timeout = timeout
        self.profile = tempfile.mkdtemp(prefix="chromium-test-")
        to_chrome_r, self._w = os.pipe()
        self._r, from_chrome_w = os.pipe()

        def child_fds() -> None:  # in the child, before exec: the pipe on fds 3 and 4
            os.dup2(to_chrome_r, 100)
            os.dup2(from_chrome_w, 101)
            os.dup2(100, 3)
            os.dup2(101, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        self.proc = subprocess.Popen(
            [binary, *self.FLAGS, f"--user-data-dir={self.profile}",
             "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=child_fds)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._next = 0
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._replies: dict[int, dict[str, Any]] = {}
        self._events: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(self._r, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                self._inbox.put(None)
                return
            buf += chunk
            while b"\0" in buf:
                msg, buf = buf.split(b"\0", 1)
                self._inbox.put(json.loads(msg))

    def _pump(self, deadline: float) -> bool:
        try:
            msg = self._inbox.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return False
        if msg is None:
            raise RuntimeError("Chromium closed the DevTools pipe")
        if "id" in msg:
            self._replies[msg["id"]] = msg
        else:
            self._events.append(msg)
            if msg["method"] == "Page.javascriptDialogOpening":  # recorded; dismiss, go on
                self._post("Page.handleJavaScriptDialog", {"accept": False}, msg["sessionId"])
        return True

    def _post(self, method: str, params: dict[str, Any], session: str | None) -> int:
        self._next += 1
        msg: dict[str, Any] = {"id": self._next, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._w, json.dumps(msg).encode() + b"\0")
        return self._next

    def send(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None) -> dict[str, Any]:
        mid = self._post(method, params or {}, session)
        deadline = time.monotonic() + self.timeout
        while mid not in self._replies:
            if not self._pump(deadline):
                raise TimeoutError(f"no reply to {method}")
        reply = self._replies.pop(mid)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply.get("result", {})

    def wait_event(self, method: str, session: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not any(e["method"] == method and e.get("sessionId") == session
                      for e in self._events):
            if not self._pump(deadline):
                raise TimeoutError(f"no {method} event")

    def evaluate(self, script: str, session: str) -> Any:
        reply = self.send("Runtime.evaluate", {"expression": script, "returnByValue": True},
                          session=session)
        if "exceptionDetails" in reply:
            raise RuntimeError(f"probe failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def open(self, path: Path, script: str, then: str | None = None,
             screenshot: bool = False, settle: float = 0.3) -> PageRun:
        """Load ``path``, evaluate ``script`` (an expression) once loaded, then
        ``then`` if given, and return what the page logged and requested."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target,
                                                      "flatten": True})["sessionId"]
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.send(f"{domain}.enable", session=session)
        self.send("Page.navigate", {"url": path.resolve().as_uri()}, session=session)
        self.wait_event("Page.loadEventFired", session)
        deadline = time.monotonic() + settle
        while self._pump(deadline):
            pass
        state = self.evaluate(script, session)
        after = self.evaluate(then, session) if then else None
        deadline = time.monotonic() + 0.1
        while self._pump(deadline):
            pass
        shot = None
        if screenshot:
            metrics = self.send("Page.getLayoutMetrics", session=session)
            height = int(metrics["cssContentSize"]["height"])
            self.send("Emulation.setDeviceMetricsOverride", {
                "width": 1280, "height": height, "deviceScaleFactor": 1, "mobile": False},
                session=session)
            shot = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png"},
                                              session=session)["data"])
        events = [e for e in self._events if e.get("sessionId") == session]
        self._events = [e for e in self._events if e.get("sessionId") != session]
        self.send("Target.closeTarget", {"targetId": target})
        return PageRun(errors=page_errors(events), requests=external_requests(events),
                       state=state, after=after, screenshot=shot)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.send("Browser.close")
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for fd in (self._w, self._r):
            with contextlib.suppress(OSError):
                os.close(fd)
        shutil.rmtree(self.profile, ignore_errors=True)


def page_errors(events: list[dict[str, Any]]) -> list[str]:
    """Uncaught exceptions, console.error/assert, and browser log errors."""
    out = []
    for e in events:
        p = e.get("params", {})
        if e["method"] == "Runtime.exceptionThrown":
            d = p["exceptionDetails"]
            out.append("exception: " + str(d.get("exception", {}).get("description")
                                            or d.get("text")))
        elif e["method"] == "Runtime.consoleAPICalled" and p["type"] in ("error", "assert"):
            out.append("console: " + " ".join(str(a.get("value", a.get("description")))
                                              for a in p["args"]))
        elif e["method"] == "Log.entryAdded" and p["entry"]["level"] == "error":
            out.append(f"log ({p['entry']['source']}): {p['entry']['text']}")
        elif e["method"] == "Page.javascriptDialogOpening":
            out.append(f"dialog: {p.get('message')}")
    return out


def external_requests(events: list[dict[str, Any]]) -> list[str]:
    local = ("file:", "data:", "about:", "blob:")
    return [e["params"]["request"]["url"] for e in events
            if e["method"] == "Network.requestWillBeSent"
            and not e["params"]["request"]["url"].startswith(local)]


PROBE = """(() => {
  const charts = [...document.querySelectorAll('[data-chart]')].map(c => ({
    name: c.dataset.chart,
    rendered: c.dataset.rendered || null,
    svg: c.querySelectorAll('svg').length,
    bars: [...c.querySelectorAll('g.bar')].map(b => ({
      period: Number(b.dataset.period),
      segments: b.querySelectorAll('rect.seg').length,
      height: [...b.querySelectorAll('rect.seg')].reduce(
        (s, r) => s + r.getBoundingClientRect().height, 0)})),
    hbars: c.querySelectorAll('rect.hbar').length,
    points: c.querySelectorAll('circle.point').length,
    legend: c.querySelectorAll('.legend li').length}));
  return {ready: document.body.dataset.reportReady || null, charts};
})()"""


#: switch the mix charts to shares; every bar then has the same height (100%)
SHARE_PROBE = """(() => {
  const button = document.querySelector('.toggle button[data-mode="share"]');
  if (button) { button.click(); }
  return [...document.querySelectorAll('[data-chart^="mix-"]')].map(c => ({
    name: c.dataset.chart, rendered: c.dataset.rendered,
    heights: [...c.querySelectorAll('g.bar')].map(b => [...b.querySelectorAll('rect.seg')]
      .reduce((s, r) => s + r.getBoundingClientRect().height, 0))}));
})()"""


@pytest.fixture(scope="module")
def browser() -> Any:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install Debian's chromium, or set CHROMIUM to "
                    "its path): the report was not checked in a browser")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


def open_report(browser: Browser, result: optimizer.Result, tmp_path: Path, name: str,
                **kw: Any) -> PageRun:
    out = tmp_path / name
    write_result(result, out)
    run = browser.open(out / "report.html", PROBE, screenshot=bool(os.environ.get(
        "REPORT_SCREENSHOTS")), then=SHARE_PROBE, **kw)
    if run.screenshot:  # REPORT_SCREENSHOTS=DIR keeps a full-page picture to look at
        Path(os.environ["REPORT_SCREENSHOTS"], f"{name}.png").write_bytes(run.screenshot)
    return run


def check_rendered(run: PageRun, result: optimizer.Result) -> dict[str, Any]:
    assert run.errors == []
    assert run.requests == []
    assert run.state["ready"] == "true"
    charts = {c["name"]: c for c in run.state["charts"]}
    assert all(c["rendered"] == "true" and c["svg"] == 1 for c in charts.values()), charts
    for by in ("control", "company", "family"):
        c = charts[f"mix-{by}"]
        want = expected_segments(result, by)
        assert {b["period"]: b["segments"] for b in c["bars"]} == want
        assert all(b["height"] > 10 for b in c["bars"])  # drawn, with a real size
        assert c["legend"] == result.shares[result.shares["by"] == by]["group"].nunique() \
            or c["legend"] == MAX_SERIES
    # the GWh / share toggle redraws the mix charts as 100% bars
    assert [c["name"] for c in run.after] == ["mix-control", "mix-company", "mix-family"]
    for c in run.after:
        assert c["rendered"] == "true"
        assert c["heights"] == pytest.approx([c["heights"][0]] * len(c["heights"]), rel=1e-3)
        assert c["heights"][0] > 100
    return charts


def test_browser_renders_teaching_report(browser: Browser, teaching: optimizer.Result,
                                         tmp_path: Path) -> None:
    charts = check_rendered(open_report(browser, teaching, tmp_path, "teaching"), teaching)
    assert charts["costs"]["hbars"] == 3  # ex-works, tariffs, freight
    assert charts["rule-costs"]["hbars"] == 3  # three rules


def test_browser_renders_north_america_report(browser: Browser,
                                              north_america: optimizer.Result,
                                              tmp_path: Path) -> None:
    charts = check_rendered(open_report(browser, north_america, tmp_path, "north-america"),
                            north_america)
    assert charts["rule-costs"]["hbars"] == len(north_america.rule_summary)


def test_browser_renders_frontier_and_infeasible_page(browser: Browser,
                                                      teaching: optimizer.Result,
                                                      tmp_path: Path, solve_dict: Any) -> None:
    frontier = pd.DataFrame({"limit": [0.5, 0.6, 0.7, 0.8],
                             "objective": [np.nan, 3700.0, 3638.0, 3600.0]})
    path = tmp_path / "frontier.html"
    path.write_text(render_html(teaching, frontier=frontier), encoding="utf-8")
    run = browser.open(path, PROBE)
    assert run.errors == [] and run.requests == []
    fr = next(c for c in run.state["charts"] if c["name"] == "frontier")
    assert fr["rendered"] == "true" and fr["points"] == 3  # the infeasible limit is a gap

    run = open_report(browser, solve_dict(infeasible_world()), tmp_path, "infeasible")
    assert run.errors == [] and run.requests == []
    assert run.state == {"ready": "true", "charts": []} and run.after == []


def test_browser_renders_unmet_and_mip_report(browser: Browser, solve_dict: Any,
                                             tmp_path: Path) -> None:
    r = solve_dict(unmet_world())
    charts = check_rendered(open_report(browser, r, tmp_path, "unmet"), r)
    assert charts["costs"]["hbars"] == 5  # ex-works, tariffs, freight, fixed, unmet penalty
    assert "rule-costs" not in charts  # no rules


def test_browser_shows_hostile_names_as_text(browser: Browser, nasty_result: optimizer.Result,
                                             tmp_path: Path) -> None:
    probe = """(() => ({
      legend: [...document.querySelectorAll('[data-chart="mix-company"] .legend li')]
        .map(li => li.textContent),
      title: document.querySelector('h1').textContent,
      buy: [...document.querySelectorAll('table[data-table="buy"] tbody td:nth-child(2)')]
        .map(td => td.textContent).sort(),
      images: document.images.length}))()"""
    out = tmp_path / "nasty"
    write_result(nasty_result, out)
    run = browser.open(out / "report.html", probe)
    assert run.errors == [] and run.requests == []
    assert run.state == {"legend": [NASTY, "LGES"], "title": f"Plan {NASTY}",
                         "buy": sorted([NASTY, "LGES"]), "images": 0}


#: the what-to-buy table as the browser shows it: sorted by a header, filtered by
#: the text box and the application selector
BUY_PROBE = """(() => {
  const table = document.querySelector('table[data-table="buy"]');
  const heads = [...table.tHead.rows[0].cells].map(th => th.textContent.trim());
  const col = name => heads.indexOf(name);
  const visible = () => [...table.tBodies[0].rows].filter(r => !r.hidden);
  const cells = name => visible().map(r => r.cells[col(name)].textContent.trim());
  const sortBy = name => table.tHead.rows[0].cells[col(name)].querySelector('button').click();
  const box = document.querySelector('[data-filter="buy"]');
  const select = document.querySelector('[data-select="buy"]');
  const count = () => document.querySelector('[data-count="buy"]').textContent;
  const out = {suppliers: cells('supplier'), rows: visible().length, start: count()};
  sortBy('GWh'); out.gwhUp = cells('GWh'); out.ariaUp = table.tHead.rows[0].cells[col('GWh')]
    .getAttribute('aria-sort');
  sortBy('GWh'); out.gwhDown = cells('GWh');
  sortBy('company'); out.companies = cells('company');
  box.value = 'catl 2027'; box.dispatchEvent(new Event('input'));
  out.filtered = visible().map(r => [...r.cells].map(c => c.textContent.trim()));
  out.filteredCount = count();
  box.value = ''; box.dispatchEvent(new Event('input'));
  select.value = 'defense'; select.dispatchEvent(new Event('change'));
  out.defense = cells('application'); out.defenseCount = count();
  return out;
})()"""


def test_browser_sorts_and_filters_what_to_buy(browser: Browser,
                                               north_america: optimizer.Result,
                                               tmp_path: Path) -> None:
    r = north_america
    out = tmp_path / "buy"
    write_result(r, out)
    run = browser.open(out / "report.html", BUY_PROBE)
    assert run.errors == [] and run.requests == []
    got = run.state
    # every supplier the plan buys from is a cell of the table, one row per allocation row
    assert set(got["suppliers"]) == set(r.allocation["supplier"])
    assert got["rows"] == len(r.allocation)
    assert got["start"] == (f"Showing {len(r.allocation)} of {len(r.allocation)} rows: "
                            f"{gwh(r.allocation['gwh'].sum())} GWh, USD "
                            f"{r.allocation['cost'].sum():,.1f} m.")
    # a click on GWh sorts by it, smallest first; a second click, largest first
    up = [float(v.replace(",", "")) for v in got["gwhUp"]]
    assert up == sorted(up) and got["ariaUp"] == "ascending"
    assert [float(v.replace(",", "")) for v in got["gwhDown"]] == sorted(up, reverse=True)
    assert got["companies"] == sorted(got["companies"], key=str.lower)
    # "catl 2027": the rows holding both words (supplier ids catl-..., company CATL, year)
    catl = r.allocation[(r.allocation["company"] == "CATL") & (r.allocation["period"] == 2027)]
    assert len(catl) > 0
    assert sorted((row[0], row[5]) for row in got["filtered"]) == sorted(
        zip(catl["supplier"], catl["application"], strict=True))
    assert got["filteredCount"].startswith(f"Showing {len(catl)} of {len(r.allocation)} rows: "
                                           f"{gwh(catl['gwh'].sum())} GWh")
    # the application selector: defense alone, with its totals
    defense = r.allocation[r.allocation["application"] == "defense"]
    assert got["defense"] == ["defense"] * len(defense) and len(defense) > 0
    assert got["defenseCount"] == (f"Showing {len(defense)} of {len(r.allocation)} rows: "
                                   f"{gwh(defense['gwh'].sum())} GWh, USD "
                                   f"{defense['cost'].sum():,.1f} m.")


def test_browser_harness_detects_errors(browser: Browser, tmp_path: Path) -> None:
    """A test of the test: a broken page must be caught."""
    broken = tmp_path / "broken.html"
    broken.write_text("<!DOCTYPE html><html><body><div data-chart='x'></div>"
                      "<script>console.error('drawing failed');</script>"
                      "<script>undefinedFunction();</script>"
                      "<img src='http://127.0.0.1:9/pixel.png'>"
                      "</body></html>", encoding="utf-8")
    run = browser.open(broken, PROBE, settle=1.0)
    joined = "\n".join(run.errors)
    assert "drawing failed" in joined
    assert "undefinedFunction is not defined" in joined
    assert run.requests == ["http://127.0.0.1:9/pixel.png"]
    assert run.state["charts"][0]["rendered"] is None


def test_browser_draws_the_building_timeline(browser: Browser, solve_dict: Any,
                                             tmp_path: Path) -> None:
    """Co-funded capacity and contract volumes as stacked bars per year (SPEC
    section 8): N's step (100 GWh, funded 2030, there from 2031) and the
    contract with B signed for 2030 (tests/test_building.py has the world)."""
    a = {"id": "A", "company": "a", "country": "CN", "chemistry": "lfp", "capacity": 100,
         "price": 60}
    n = {"id": "N", "company": "n", "country": "US", "chemistry": "lfp", "price": 50}
    b = {"id": "B", "company": "b", "country": "KR", "chemistry": "lfp", "capacity": 100,
         "price": 62}
    periods = [2030, 2031, 2032]
    inst = {"format": 1, "name": "build", "periods": periods,
            "chemistries": [{"id": "lfp", "family": "lithium"}],
            "countries": [{"id": "CN"}, {"id": "US"}, {"id": "KR"}],
            "applications": [{"id": "ev", "chemistries": ["lfp"]}],
            "demand": [{"application": "ev", "period": t, "gwh": 100} for t in periods],
            "suppliers": [a, n, b],
            "expansions": [{"supplier": "N", "step_gwh": 100, "cost": 500, "lead_time": 1}],
            "contracts": [{"name": "kr", "supplier": "B", "min_gwh": 100, "discount": 0.05,
                           "until": 2030}]}
    result = solve_dict(inst)
    # 2030: B under contract at 58.9; 2031-2032: N at 50, funded in 2030 for 500
    assert result.objective == pytest.approx(5890 + 5000 + 5000 + 500)
    out = tmp_path / "building"
    write_result(result, out)
    run = browser.open(out / "report.html", PROBE)
    assert run.errors == [] and run.requests == []
    charts = {c["name"]: c for c in run.state["charts"]}
    funded, contracted = charts["mix-funded"], charts["mix-contracted"]
    assert funded["rendered"] == contracted["rendered"] == "true"
    heights = {bar["period"]: bar["height"] for bar in funded["bars"]}
    assert heights[2031] > 10 and heights[2031] == pytest.approx(heights[2032])
    assert heights.get(2030, 0.0) == 0.0
    signed = {bar["period"]: bar["height"] for bar in contracted["bars"]}
    assert signed[2030] > 10 and signed.get(2031, 0.0) == 0.0
    page = (out / "report.html").read_text(encoding="utf-8")
    assert "Building supply: co-funded capacity and contracts" in page
