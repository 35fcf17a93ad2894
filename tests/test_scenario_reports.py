"""The reports of stress, robust and frontier: report.html beside their CSV
files, with the solve report's look and chart code; their numbers, the
scenarios in words, escaping, and a real browser (see test_html_report.py for
the harness); and the frontier figure (percent axes, the current limit, the
cost of each step)."""

from __future__ import annotations

import json
import types
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import yaml

import optimizer
from optimizer.cli import main
from optimizer.input import load_instance
from optimizer.labels import limit_text
from optimizer.report.figures import frontier_figure
from optimizer.report.scenario_files import write_frontier, write_robust, write_stress
from optimizer.report.scenario_html import describe_scenario, tail_mask
from optimizer.scenarios import robust, stress

from .conftest import world
from .test_html_report import (
    GLOSSARY_TERMS,
    NASTY,
    Browser,
    Page,
    chromium_binary,
    glossary_terms,
)
from .test_scenarios import CN_FAILS, COMPANY_CAP, three_offers

ROOT = Path(__file__).resolve().parent.parent
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"

#: every chart of a page: drawn, with an SVG and something in it, and the page's state
PROBE = """(() => ({
  ready: document.body.dataset.reportReady || null,
  charts: [...document.querySelectorAll('[data-chart]')].map(c => ({
    name: c.dataset.chart, rendered: c.dataset.rendered || null,
    svg: c.querySelectorAll('svg').length,
    marks: c.querySelectorAll('rect.col, rect.hbar, rect.seg, circle.point').length,
    lines: [...c.querySelectorAll('line.ref-line')].map(l => l.dataset.line),
    markers: c.querySelectorAll('line.marker').length,
    steps: c.querySelectorAll('text.step-label').length,
    tail: [...c.querySelectorAll('rect.col')].filter(r => r.getAttribute('fill') === '#CC6677')
      .map(r => r.parentNode.dataset.category)}))}))()"""


def page_of(out: Path) -> tuple[str, Page]:
    text = (out / "report.html").read_text(encoding="utf-8")
    return text, Page(text)


def charts_of(page: Page) -> dict[str, Any]:
    return page.data["charts"]


def series(chart: dict[str, Any]) -> dict[str, list[float]]:
    return {s["name"]: s["values"] for s in chart["series"]}


def lines(chart: dict[str, Any]) -> dict[str, float]:
    return {x["name"]: x["value"] for x in chart.get("lines", [])}


@pytest.fixture(scope="module")
def browser() -> Any:
    binary = chromium_binary()
    if binary is None:
        pytest.skip("no Chromium binary found (install Debian's chromium, or set CHROMIUM to "
                    "its path): the reports were not checked in a browser")
    b = Browser(binary)
    try:
        yield b
    finally:
        b.close()


def rendered(browser: Browser, out: Path, at_least: int = 2) -> dict[str, Any]:
    """Open a report: no errors, no requests, every chart drawn with something in it."""
    run = browser.open(out / "report.html", PROBE)
    assert run.errors == [] and run.requests == []
    assert run.state["ready"] == "true"
    charts = {c["name"]: c for c in run.state["charts"]}
    assert len(charts) >= at_least
    for c in charts.values():
        assert c["rendered"] == "true" and c["svg"] == 1 and c["marks"] > 0, c
    return charts


# --------------------------------------------------------------------------- stress

@pytest.fixture(scope="module")
def stress_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """optimizer stress --n-1 company --out DIR on the bundled default instance."""
    out = tmp_path_factory.mktemp("stress") / "out"
    assert main(["stress", "--n-1", "company", "--out", str(out)]) == 0
    return out


def test_stress_report_numbers(stress_out: Path) -> None:
    text, page = page_of(stress_out)
    summary = json.loads((stress_out / "summary.json").read_text())
    scen = pd.read_csv(stress_out / "scenarios.csv")
    live = scen[scen["kind"] != "n-1"]
    assert len(live) >= 4  # the base case and the instance's scenarios
    charts = charts_of(page)
    # the instance holds a defense buffer stock: time to survive gets a chart of its own
    assert set(charts) == {"stress-cost", "stress-shortfall", "n1-cost", "n1-shortfall",
                           "survival"}
    assert set(page.attr("data-chart")) == set(charts)
    surv = pd.read_csv(stress_out / "survival.csv")
    lost = surv[surv["months"].notna()]
    assert charts["survival"]["categories"] == [
        f"{s} ({a})" for s, a in zip(lost["scenario"], lost["application"], strict=True)]
    assert series(charts["survival"])["the plan"] == pytest.approx(lost["months"].tolist())
    assert len(page.table("survival")) == len(surv) + 1
    # cost per scenario against the base cost, the expected cost and CVaR
    cost = charts["stress-cost"]
    assert cost["categories"] == live["scenario"].tolist()
    assert series(cost)["cost of the plan"] == pytest.approx(live["cost"].tolist())
    assert lines(cost) == pytest.approx({"base cost": summary["base_cost"],
                                         "expected cost": summary["expected_cost"],
                                         "CVaR 0.95": summary["cvar"]})
    # the CVaR tail: the worst 5% of probability lies inside the dearest scenario (10%), so
    # that scenario alone is marked and CVaR is its cost
    worst = summary["worst_scenario"]
    assert worst["probability"] >= 0.05
    assert cost["marked"] == [s == worst["scenario"] for s in live["scenario"]]
    assert summary["cvar"] == pytest.approx(worst["cost"])
    short = series(charts["stress-shortfall"])
    assert short["bought spot"] == pytest.approx(live["spot_gwh"].tolist())
    assert short["left unmet"] == pytest.approx(live["unmet_gwh"].tolist())
    # N-1: the failures ranked by what they cost, as n_minus_1.csv ranks them
    ranking = pd.read_csv(stress_out / "n_minus_1.csv", keep_default_na=False)
    items = charts["n1-cost"]["items"]
    assert [i["label"] for i in items] == ranking["group"].astype(str).tolist()
    assert [i["value"] for i in items] == pytest.approx(ranking["extra_cost"].tolist())
    assert items[0]["value"] > 0 and items[0]["label"] == summary["n_minus_1"]["worst"]
    # tables: one row per scenario, one per failure; cards; glossary
    assert len(page.table("scenarios")) == len(live) + 1
    assert len(page.table("n-1")) == len(ranking) + 1
    assert f"USD {summary['expected_cost']:,.1f} m" in page.plain
    assert glossary_terms(text) == GLOSSARY_TERMS
    assert "report.html" in json.loads((stress_out / ".optimizer-output.json").read_text())[
        "files"]


def test_stress_report_in_browser(browser: Browser, stress_out: Path) -> None:
    charts = rendered(browser, stress_out, at_least=4)
    summary = json.loads((stress_out / "summary.json").read_text())
    cost = charts["stress-cost"]
    assert cost["lines"] == ["base cost", "expected cost", "CVaR 0.95"]
    assert cost["tail"] == [summary["worst_scenario"]["scenario"]]
    assert charts["n1-cost"]["marks"] == len(pd.read_csv(stress_out / "n_minus_1.csv"))


def test_stress_describes_scenarios(write_instance: Any, tmp_path: Path) -> None:
    # company cap 0.6: 60 GWh from cn1 (CATL, CN-controlled), 40 from kr1; CN fails with
    # probability 0.1: 60 GWh short, bought spot from kr1's spare 60 at 50 x 1.2 = 60 -> 5600
    path = write_instance(world(rules=[COMPANY_CAP], scenarios=[CN_FAILS]))
    inst = load_instance(path)
    res = stress(inst)
    write_stress(res, tmp_path / "s", instance=inst)
    _, page = page_of(tmp_path / "s")
    rows = {r[0]: r for r in page.table("scenarios")[1:]}
    assert rows["cn-fails"][1:5] == ["Capacity × 0 for controlling country CN, every year.",
                                     "10.0%", "5,600.0", "+1,200.0"]
    assert rows["cn-fails"][6:] == ["60", "0", "yes"]  # spot 60 GWh, none unmet, the tail
    assert rows["base"][1].startswith("Nothing changes")
    # a scenario's own description, where an instance gives one, comes first
    sc = types.SimpleNamespace(
        name="ban", from_=2027, until=2028, description="China stops cell exports",
        factors=[("capacity", types.SimpleNamespace(by="country", group=["CN"], factor=0.0)),
                 ("price", types.SimpleNamespace(by="control", group=["CN"], factor=1.3))])
    assert describe_scenario(sc) == ("China stops cell exports (Capacity × 0 for production "
                                     "country CN; price × 1.3 for controlling country CN, "
                                     "2027–2028).")


def test_stress_n_minus_1_only(write_instance: Any, tmp_path: Path) -> None:
    # no scenarios of its own: the N-1 charts alone (CATL +1200, Peak 0, LGES -80, as in
    # test_scenarios.test_n_minus_1_ranks_single_failures)
    path = write_instance(world(rules=[COMPANY_CAP], scenarios=[]))
    write_stress(stress(path, n_minus_1="company"), tmp_path / "n1")
    _, page = page_of(tmp_path / "n1")
    charts = charts_of(page)
    assert set(charts) == {"n1-cost", "n1-shortfall"}
    assert [(i["label"], i["value"]) for i in charts["n1-cost"]["items"]] == [
        ("CATL", pytest.approx(1200)), ("Peak", pytest.approx(0)), ("LGES", pytest.approx(-80))]
    assert "The instance has no scenarios of its own" in page.plain


def test_stress_report_escapes_names(write_instance: Any, tmp_path: Path,
                                     browser: Browser) -> None:
    scenario = dict(CN_FAILS, name=NASTY)
    inst = world(rules=[COMPANY_CAP], scenarios=[scenario])
    inst["suppliers"][0]["company"] = NASTY
    path = write_instance(inst)
    write_stress(stress(path, n_minus_1="company"), tmp_path / "x",
                 instance=load_instance(path))
    text, page = page_of(tmp_path / "x")
    assert "<script>alert" not in text
    assert [t for t, _ in page.elements].count("script") == 2
    assert NASTY in [r[0] for r in page.table("scenarios")]
    assert NASTY in [r[1] for r in page.table("n-1")]
    assert charts_of(page)["stress-cost"]["categories"] == ["base", NASTY]
    run = browser.open(tmp_path / "x" / "report.html", """(() => ({
      images: document.images.length,
      labels: [...document.querySelectorAll('[data-chart="n1-cost"] text')]
        .map(t => t.textContent).filter(t => t.includes('script'))}))()""")
    assert run.errors == [] and run.requests == []
    assert run.state == {"images": 0, "labels": [NASTY]}


def test_tail_mask() -> None:
    # CVaR 0.8: the worst 20% = 10% at 5600 and half of the 20% at 4500: both marked
    assert tail_mask([4000, 5600, 4500], [0.7, 0.1, 0.2], 0.8) == [False, True, True]
    assert tail_mask([4000, 5600, 4500], [0.7, 0.1, 0.2], 0.95) == [False, True, False]
    # a what-if of probability 0 is never in the tail
    assert tail_mask([4000, 9000], [1.0, 0.0], 0.95) == [True, False]


# --------------------------------------------------------------------------- robust

@pytest.fixture(scope="module")
def robust_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("robust")
    path = folder / "three.yaml"
    path.write_text(yaml.safe_dump(three_offers(), sort_keys=False))
    inst = load_instance(path)
    write_robust(robust(inst, alpha=0.9), folder / "out", instance=inst)
    return folder / "out"


def test_robust_report_numbers(robust_out: Path) -> None:
    # worked by hand in test_scenarios.test_vss_and_evpi_worked_by_hand: deterministic plan
    # all from A (4000; A fails: 11500), robust A 50 + B 50 (4250; 9250), wait and see
    # 4000 and 5750; E_det 5500, E_rob 5250, VSS 250, EVPI 900
    text, page = page_of(robust_out)
    charts = charts_of(page)
    assert set(charts) == {"robust-mix-control", "robust-mix-family", "robust-costs",
                           "robust-shortfall"}
    mix = charts["robust-mix-control"]
    assert mix["periods"] == ["deterministic", "robust"]
    assert series(mix) == {"CN": pytest.approx([1.0, 0.5]), "KR": pytest.approx([0.0, 0.5])}
    costs = charts["robust-costs"]
    assert costs["categories"] == ["base", "a-fails"]
    assert series(costs) == {"deterministic plan": pytest.approx([4000, 11500]),
                             "robust plan": pytest.approx([4250, 9250]),
                             "best plan knowing the scenario": pytest.approx([4000, 5750])}
    assert lines(costs) == pytest.approx({"expected cost, deterministic plan": 5500,
                                          "expected cost, robust plan": 5250})
    # spot + unmet when A fails: deterministic 100 GWh, robust 50
    assert series(charts["robust-shortfall"]) == {"deterministic plan": pytest.approx([0, 100]),
                                                  "robust plan": pytest.approx([0, 50])}
    plain = page.plain
    assert ("VSS = USD 250.0 m: planning for the scenarios instead of for the base case alone "
            "lowers the expected cost from USD 5,500.0 m") in plain
    assert "EVPI = USD 900.0 m" in plain and "down to USD 4,350.0 m" in plain
    compare = {r[0]: r[1:] for r in page.table("compare")[1:]}
    assert compare["expected cost, USD m"] == ["5,500.0", "5,250.0", "-250.0"]
    assert compare["CVaR 0.9, USD m"] == ["11,500.0", "9,250.0", "-2,250.0"]
    rows = {r[0]: r for r in page.table("scenarios")[1:]}
    assert rows["a-fails"][1] == "Capacity × 0 for supplier A, every year."
    assert rows["a-fails"][2:7] == ["20.0%", "11,500.0", "9,250.0", "-2,250.0", "5,750.0"]
    assert glossary_terms(text) == GLOSSARY_TERMS


def test_robust_report_in_browser(browser: Browser, robust_out: Path) -> None:
    charts = rendered(browser, robust_out, at_least=4)
    assert charts["robust-costs"]["lines"] == ["expected cost, deterministic plan",
                                               "expected cost, robust plan"]
    assert charts["robust-costs"]["marks"] == 6  # 2 scenarios x 3 plans


def test_robust_cli_writes_the_report(write_instance: Any, tmp_path: Path) -> None:
    path = write_instance(three_offers())
    assert main(["robust", str(path), "--out", str(tmp_path / "r")]) == 0
    _, page = page_of(tmp_path / "r")
    assert len(page.attr("data-chart")) >= 2
    assert "VSS = USD 250.0 m" in page.plain


# --------------------------------------------------------------------------- frontier

@pytest.fixture(scope="module")
def teaching_sweep() -> pd.DataFrame:
    return optimizer.frontier(TEACHING, "china-cap", [1.0, 0.8, 0.7, 0.6])


def test_frontier_report_numbers(teaching_sweep: pd.DataFrame, tmp_path: Path) -> None:
    df = teaching_sweep
    inst = load_instance(TEACHING)
    written = {p.name for p in write_frontier(df, tmp_path / "f", instance=inst)}
    assert written == {"frontier.csv", "frontier.png", "report.html"}
    text, page = page_of(tmp_path / "f")
    charts = charts_of(page)
    assert set(charts) == {"frontier", "frontier-steps", "frontier-mix"}
    fr = charts["frontier"]
    # the premium on a percent axis, the instance's own limit (china-cap 0.7) marked
    assert fr["x_share"] is True
    assert fr["markers"] == [{"x": 0.7, "label": "in the instance: 70%"}]
    d = df.sort_values("limit")
    assert fr["series"][0]["points"] == [[x, pytest.approx(y)] for x, y in
                                         zip(d["limit"], d["premium"], strict=True)]
    # at its own limit the teaching instance costs 3638 (worked by hand in the file)
    at = df.set_index("limit")["objective"]
    assert at[0.7] == pytest.approx(3638.0)
    # each step from looser to tighter: the difference of the optimum
    tight = df.sort_values("limit", ascending=False)["objective"].to_numpy()
    diffs = np.diff(tight)
    assert (diffs >= -1e-6).all() and diffs.sum() > 0
    assert [s[4] for s in fr["series"][0]["steps"]] == [f"{v:+,.1f}" for v in diffs]
    steps = charts["frontier-steps"]
    assert steps["categories"] == ["100% → 80%", "80% → 70%", "70% → 60%"]
    assert series(steps)["china-cap"] == pytest.approx(list(diffs))
    mix = charts["frontier-mix"]
    assert mix["periods"] == ["100%", "80%", "70%", "60%"]
    assert series(mix)["CN"] == pytest.approx(
        df.sort_values("limit", ascending=False)["share_control_CN"].tolist())
    # the cards and the table of points
    assert "Limit in the instance 70%" in page.plain
    assert f"premium USD {at[0.7] - at[1.0]:,.1f} m at this limit" in page.plain
    rows = page.table("points")
    assert [r[0] for r in rows[1:]] == ["100%", "80%", "70%", "60%"]
    assert [r[5] for r in rows[1:]] == ["–", *[f"{v:+,.1f}" for v in diffs]]
    assert glossary_terms(text) == GLOSSARY_TERMS


def test_frontier_report_in_browser(browser: Browser, teaching_sweep: pd.DataFrame,
                                    tmp_path: Path) -> None:
    write_frontier(teaching_sweep, tmp_path / "f", instance=load_instance(TEACHING))
    charts = rendered(browser, tmp_path / "f", at_least=3)
    assert charts["frontier"]["marks"] == 4 and charts["frontier"]["markers"] == 1
    assert charts["frontier"]["steps"] == 3
    assert charts["frontier-steps"]["marks"] == 3


def test_frontier_cli_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    assert main(["frontier", str(TEACHING), "--rule", "china-cap", "--values", "1,0.8,0.7,0.6",
                 "--out", str(out)]) == 0
    assert {"frontier.csv", "frontier.png", "report.html"} <= {p.name for p in out.iterdir()}
    _, page = page_of(out)
    assert len(set(page.attr("data-chart"))) >= 2


def test_frontier_grid_report(tmp_path: Path) -> None:
    df = optimizer.frontier(TEACHING, {"china-cap": [1.0, 0.7], "alt-floor": [0.1, 0.2]})
    write_frontier(df, tmp_path / "g", current=[0.7, 0.1])
    _, page = page_of(tmp_path / "g")
    charts = charts_of(page)
    assert set(charts) == {"frontier", "frontier-steps"}
    assert [s["name"] for s in charts["frontier"]["series"]] == ["alt-floor = 10%",
                                                                 "alt-floor = 20%"]
    assert charts["frontier-steps"]["categories"] == ["100% → 70%"]


def test_frontier_figure_marks_limit_and_steps(teaching_sweep: pd.DataFrame) -> None:
    df = teaching_sweep
    fig = frontier_figure(df, current=[0.7])
    ax, mix_ax = fig.axes[:2]
    vertical = [line for line in ax.get_lines() if list(line.get_xdata()) == [0.7, 0.7]]
    assert len(vertical) == 1 and vertical[0].get_label() == "in the instance: 70%"
    assert mix_ax.xaxis.get_major_formatter()(0.7, 0) == "70%"
    assert mix_ax.yaxis.get_major_formatter()(0.25, 0) == "25%"
    tight = df.sort_values("limit", ascending=False)["objective"].to_numpy()
    assert [t.get_text() for t in ax.texts if t.get_text().startswith(("+", "-"))] == [
        f"{v:+,.1f}" for v in np.diff(tight)]
    # from the sweep's attrs when not given; none at all: no line
    marked = df.copy()
    marked.attrs = {**df.attrs, "current": [0.8]}
    ax = frontier_figure(marked).axes[0]
    assert [list(x.get_xdata()) for x in ax.get_lines()][-1] == [0.8, 0.8]
    ax = frontier_figure(df).axes[0]
    assert not any(list(x.get_xdata()) == [0.7, 0.7] for x in ax.get_lines())
    # a grid: percent ticks, the instance's pair outlined
    grid = optimizer.frontier(TEACHING, {"china-cap": [1.0, 0.7], "alt-floor": [0.1, 0.2]})
    ax = frontier_figure(grid, current=[0.7, 0.1]).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["70%", "100%"]
    assert len(ax.patches) == 1 and "outlined" in ax.get_title()


def test_frontier_writes_the_plan_page(teaching_sweep: pd.DataFrame, tmp_path: Path) -> None:
    """``plan``: the solve at the instance's own limits, as plan.html with the frontier."""
    plan = optimizer.solve(TEACHING, analysis=False)
    written = write_frontier(teaching_sweep, tmp_path / "p", instance=load_instance(TEACHING),
                             plan=plan)
    assert {p.name for p in written} == {"frontier.csv", "frontier.png", "report.html",
                                         "plan.html"}
    page = Page((tmp_path / "p" / "plan.html").read_text(encoding="utf-8"))
    assert "USD 3,638.0 m" in page.plain
    assert page.data["frontier"]["markers"] == [{"x": 0.7, "label": "in the instance: 70%"}]


def test_frontier_limits_by_kind(write_instance: Any, tmp_path: Path) -> None:
    # an HHI cap is written in points of 0-10,000, a share in percent, a volume as it is
    assert limit_text(0.25, "max_hhi") == "HHI 2,500"
    assert limit_text(0.425, "max_top_share") == "42.5%"
    assert limit_text(0.4, "min_share") == "40%"
    assert limit_text(60, "max_volume") == "60"
    hhi = {"name": "hhi-cap", "kind": "max_hhi", "by": "company", "limit": 0.5}
    df = optimizer.frontier(write_instance(world(rules=[hhi])), "hhi-cap", [1.0, 0.5, 0.4])
    write_frontier(df, tmp_path / "h", current=[0.5])
    _, page = page_of(tmp_path / "h")
    fr = charts_of(page)["frontier"]
    assert fr["x_unit"] == "hhi" and fr["x_share"] is False
    assert fr["markers"] == [{"x": 0.5, "label": "in the instance: HHI 5,000"}]
    assert [r[0] for r in page.table("points")[1:]] == ["HHI 10,000", "HHI 5,000", "HHI 4,000"]
