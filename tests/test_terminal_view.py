"""``optimizer solve`` prints one screen by default (``--verbose``: everything).

The default view of the bundled instance, of generated instances and of an
infeasible one fits in 60 lines of an 80-column terminal, no name is cut to
a stub, binding rules that cost nothing are left out, and shares read as
percentages. ``--verbose`` prints every table the full report always had.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from rich.console import Console

import optimizer
from benchmarks.generate import generate, write
from optimizer.cli import main
from optimizer.report.terminal import fit_periods, lines_of, solve_report, titled
from optimizer.report.terminal_short import binding_costs_table, count_lines, short_report
from tests.conftest import world

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"
CAP = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
       "limit": 0.3}


def solve_80(argv: list[str], capsys, monkeypatch) -> tuple[int, list[str]]:
    """Run ``optimizer`` into a pipe of 80 columns; the exit code and the lines."""
    monkeypatch.setenv("COLUMNS", "80")
    code = main(argv)
    return code, capsys.readouterr().out.splitlines()


def assert_one_screen(lines: list[str]) -> None:
    assert len(lines) <= 60, "\n".join(lines)
    assert max(len(line) for line in lines) <= 80
    # rich cuts a cell that does not fit with an ellipsis: no name is cut
    assert not [line for line in lines if "…" in line], "\n".join(lines)


def test_default_instance_fits_one_screen(capsys, monkeypatch):
    code, lines = solve_80(["solve"], capsys, monkeypatch)
    assert code == 0
    assert_one_screen(lines)
    text = "\n".join(lines)
    # the headline, the mix, the costliest rules and where the files are
    assert lines[0] == "North America 2026-2030 (automaker + storage integrator)"
    assert "status: optimal   total cost: USD 11,945.1 million (discounted)" in text
    assert "Mix by controlling country (share of GWh bought)" in text
    assert re.search(r"│ CN\s+│ 40\.0% │ 40\.0% │ 40\.0% │ 40\.0% │ 40\.0% │", text)
    assert "The rules that cost the most" in text
    # china-cap costs 437.76 in all (rule_costs), its limit read as a percentage
    assert re.search(r"│ china-cap\s+│ max_share │ 40\.0% │\s+5 │\s+437\.76 │", text)
    assert re.search(r"│ all rules together .*│\s+742\.27 │", text)
    # the scope of a rule with two applications wraps at its "; ", never cut
    assert "(grid_storage;" in text and "long_duration)" in text
    assert lines[-2:] == ["--out DIR writes report.html, results.xlsx and CSV files",
                          "(allocation, shares, rules, ...); every table here: --verbose"]
    # what only --verbose prints
    for table in ("Cost breakdown", "Mix by company", "Mix by chemistry family",
                  "Binding rules (", "Concentration: HHI"):
        assert table not in text


def test_default_view_names_the_largest_upstream_origin(capsys, monkeypatch):
    """The bundled instance's refined graphite in 2030, worked out from the
    plan, the content table and origins.csv alone: CN share = sum x k q_CN /
    sum x k over the plan's purchases of 2030."""
    import pandas as pd

    res = optimizer.solve(optimizer.default_instance_path(), analysis=False)
    inst = optimizer.load_instance(optimizer.default_instance_path())
    kg = {c.chemistry: c.kg_per_kwh for c in inst.content if c.material == "graphite"}
    origins = pd.read_csv(ROOT / "instances" / "north-america" / "origins.csv", comment="#")
    cn = origins[(origins["material"] == "graphite") & (origins["stage"] == "refining")
                 & (origins["country"] == "CN") & origins["period"].isna()]
    q = dict(zip(cn["supplier"], cn["share"], strict=True))
    buy = res.allocation[res.allocation["period"] == 2030]
    mass = buy["gwh"] * buy["chemistry"].map(kg).fillna(0.0)
    share = float((mass * buy["supplier"].map(q).fillna(0.0)).sum() / mass.sum())
    code, lines = solve_80(["solve"], capsys, monkeypatch)
    assert code == 0
    assert_one_screen(lines)
    text = " ".join(lines)
    assert "Upstream in 2030, largest origin of each material:" in text
    assert f"graphite refining CN {100 * share:.1f}%" in text
    assert "nickel refining ID 62.0%" in text        # every nmc plant: ID 0.62


def test_verbose_prints_every_table(capsys, monkeypatch):
    code, lines = solve_80(["solve", str(TEACHING), "-v"], capsys, monkeypatch)
    assert code == 0
    text = "\n".join(lines)
    for table in ("Cost breakdown (USD million, discounted)", "Mix by controlling country",
                  "Mix by company", "Mix by chemistry family", "Binding rules (",
                  "What each rule costs", "The cheapest plan with no rules at all costs",
                  "Concentration: HHI"):
        assert table in text, table
    assert re.search(r"│ ex-works price │\s+3,390\.0 │\s+93\.2% │", text)
    # 80 columns: a scope's group and application share a column
    assert re.search(r"│ china-cap\s+│\s+2026 │ CN \(all\)\s+│ 70\.0% │ 70\.0% │\s+5\.400 │"
                     r"\s+126\.00 │", text)
    assert max(len(line) for line in lines) <= 80 and "…" not in text
    # 120 columns (a pipe's default): a column each, as the report always had
    monkeypatch.delenv("COLUMNS")
    assert main(["solve", str(TEACHING), "-v"]) == 0
    wide = capsys.readouterr().out
    assert re.search(r"│ china-cap\s+│\s+2026 │ all\s+│ CN\s+│ 70\.0% │ 70\.0% │\s+5\.400 │"
                     r"\s+126\.00 │", wide)
    # where the files are, without the hint to --verbose
    assert lines[-2:] == ["--out DIR writes report.html, results.xlsx and CSV files",
                          "(allocation, shares, rules, ...)"]
    # --all-rules lists every scope, in the full view
    code, lines = solve_80(["solve", "--all-rules"], capsys, monkeypatch)
    assert code == 0 and any(line.startswith("Rules (USD million") for line in lines)


def test_binding_rules_that_cost_nothing_are_left_out():
    result = optimizer.solve()
    rules = result.rules
    free = rules[rules["binding"] & (rules["marginal_cost"].abs() < 1e-9)
                 & (rules["total_cost"].abs() < 1e-9)]
    assert len(free) > 0  # company-cap binds at no cost in several scopes
    table = binding_costs_table(result, top=1000)
    assert table is not None
    assert table.row_count == int(rules["binding"].sum()) - len(free)


@pytest.mark.parametrize(("seed", "suppliers", "applications", "periods", "features"), [
    (2, 50, 4, 5, ()),
    pytest.param(5, 30, 3, 20, (), marks=pytest.mark.slow),
    pytest.param(1, 200, 6, 10, (), marks=pytest.mark.slow),
    pytest.param(3, 400, 8, 12, (), marks=pytest.mark.slow),
    # a MIP: its rule costs are re-solves boxed to 30 s
    pytest.param(4, 30, 3, 4, ("fixed_cost", "count"), marks=pytest.mark.slow),
])
def test_generated_instances_fit_one_screen(tmp_path, capsys, monkeypatch, seed, suppliers,
                                            applications, periods, features):
    inst = generate(seed=seed, suppliers=suppliers, applications=applications,
                    periods=periods, features=set(features))
    path = write(inst, tmp_path / "gen")
    code, lines = solve_80(["solve", str(path), "--out", str(tmp_path / "out")], capsys,
                           monkeypatch)
    assert code in (0, 1)
    assert_one_screen(lines)
    text = "\n".join(lines)
    if code == 0:
        assert "Mix by controlling country" in text
        if periods > 7:  # 80 columns hold 7 years of shares: the others are counted
            assert re.search(rf"\d of {periods} years shown", text)
    assert f"full report: {tmp_path / 'out' / 'report.html'};" in " ".join(text.split())
    assert lines[-1].endswith("every table here: --verbose")


def test_infeasible_fits_one_screen(write_instance, capsys, monkeypatch):
    inst = world(rules=[
        {"name": "alt-floor", "kind": "min_share", "by": "family", "group": ["sodium"],
         "limit": 0.5},
        {"name": "peak-cap", "kind": "max_volume", "by": "company", "group": ["Peak"],
         "limit": 10}, CAP])
    code, lines = solve_80(["solve", str(write_instance(inst))], capsys, monkeypatch)
    assert code == 1
    assert_one_screen(lines)
    text = "\n".join(lines)
    assert "No plan satisfies every requirement." in text
    assert "alt-floor" in text and "peak-cap" in text


def test_short_view_cuts_lists_to_the_lines_it_has():
    result = optimizer.solve()
    roomy = short_report(result, width=80)
    tight = short_report(result, width=80, lines=42)
    assert count_lines(tight, 80) <= 42 < count_lines(roomy, 80)


def test_fit_periods_keeps_first_and_last():
    years = list(range(2026, 2046))
    assert fit_periods(years[:5], 80, 9) == years[:5]
    shown = fit_periods(years, 80, 9)
    assert shown[0] == 2026 and shown[-1] == 2045 and 2 <= len(shown) < 20
    assert shown == sorted(shown)


def test_lines_of_never_splits_a_part():
    parts = ["of which ex-works price 3,390.0 (93.2%)", "tariffs 190.0 (5.2%)",
             "freight 58.0 (1.6%)"]
    assert lines_of(parts, 80) == ("of which ex-works price 3,390.0 (93.2%), tariffs 190.0 "
                                   "(5.2%),\nfreight 58.0 (1.6%)")
    assert lines_of(parts, 200).count("\n") == 0


def test_names_are_shown_as_written(write_instance, capsys, monkeypatch):
    """A rule or company name that looks like markup is printed as it is."""
    inst = world(rules=[{**CAP, "name": "[bold]cap[/bold]"}])
    inst["suppliers"][1]["company"] = "[red]LGES"
    code, lines = solve_80(["solve", str(write_instance(inst))], capsys, monkeypatch)
    assert code == 0
    text = "\n".join(lines)
    assert "[bold]cap[/bold]" in text


def test_short_view_renders_at_80_columns_in_python():
    """The same view from Python, on a Console 80 columns wide."""
    result = optimizer.solve(TEACHING)
    console = Console(width=80, record=True, color_system=None)
    for item in short_report(result, width=80):
        console.print(titled(item))
    text = console.export_text()
    assert "│ china-cap          │ max_share │ 70.0% │              1 │     126.00 │" in text
    assert "│ china-cap        │ 2026 │ CN (all)            │    70.0% │    5.400 │" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # the full report still has the verbose tables
    full = list(solve_report(result))
    assert len(full) > len(short_report(result))
