"""The report layer as code: one wording and one number format for every
output (optimizer/labels.py), the HTML page's templates shipped as
package data and loaded from the installed package, no JavaScript or CSS
inside Python, and no import circle between the report modules."""

from __future__ import annotations

import ast
import glob
import importlib.resources
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

import optimizer
from optimizer.labels import (
    COST_LABELS,
    as_number,
    capfirst,
    cost_label,
    grouping_label,
    gwh,
    is_missing,
    marginal_cost,
    money,
    number,
    pct,
    per_unit,
    rule_value,
    rule_value_short,
    sig,
)
from optimizer.report import files, html, jsonsafe
from optimizer.report.terminal import cost_table
from optimizer.report.xlsx import summary_rows

from .conftest import world

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "optimizer"
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"
TEMPLATE_FILES = {"base.html.j2", "report.html.j2", "sections.html.j2", "glossary.html.j2",
                  "stress.html.j2", "robust.html.j2", "frontier.html.j2", "alternatives.html.j2",
                  "report.css",
                  "charts.js", "report.js"}


@pytest.fixture(scope="module")
def teaching() -> optimizer.Result:
    return optimizer.solve(TEACHING)


# --------------------------------------------------------------------------- number formats

def test_money_and_numbers() -> None:
    assert money(3638) == "3,638.0"
    assert money(1_234_567.891, 2) == "1,234,567.89"
    assert money(np.float64(5)) == "5.0"
    assert money(-0.04) == "-0.0"
    assert number(3, 0, signed=True) == "+3"
    assert number(-1234.4, 0, signed=True) == "-1,234"
    # missing values: None, NaN, infinities, pandas' NA; the terminal asks for a hyphen
    for missing in (None, float("nan"), float("inf"), -np.inf, pd.NA, np.float32("nan")):
        assert money(missing) == "–"
        assert pct(missing, missing="-") == "-"
    assert money("not a number") == "–"


def test_percentages_volumes_and_significant_digits() -> None:
    assert pct(0.7) == "70.0%"
    assert pct(0.5625) == "56.2%"  # 56.25 rounds half to even
    assert pct(np.float32(0.25), 0) == "25%"
    assert gwh(12.5) == "12.5"
    assert gwh(100.0) == "100"
    assert gwh(2.25) == "2.25"
    assert gwh(0.004) == "0"
    assert gwh(1234.6) == "1,235"
    assert sig(100.0, 6) == "100"
    assert sig(0.1 + 0.2, 6) == "0.3"
    assert sig(12_345.0, 6) == "12,345"
    assert sig(3.14159) == "3.142"


def test_rule_values_and_marginal_costs() -> None:
    # the HTML page: with the unit
    assert rule_value(0.7, "share") == "70.0%"
    assert rule_value(60, "GWh") == "60 GWh"
    assert rule_value(1500.0, "GWh") == "1,500 GWh"
    assert rule_value(3, "groups") == "3 groups"
    assert rule_value(2.5, "") == "2.5"
    assert rule_value(None, "share") == "–"
    # the terminal's narrow columns: three significant digits, whole numbers from 1,000
    assert rule_value_short(0.3, "share") == "30.0%"
    assert rule_value_short(60, "GWh") == "60"
    assert rule_value_short(12.345, "GWh") == "12.3"
    assert rule_value_short(2500.4, "GWh") == "2,500"
    assert rule_value_short(float("nan"), "share", "-") == "-"
    assert marginal_cost(5.4) == "5.400"
    assert marginal_cost(-1234.5) == "-1,234.500"
    assert [per_unit(u) for u in ("share", "GWh", "groups", "", "USD/kWh")] == [
        "pt", "GWh", "group", "unit", "USD/kWh"]


def test_missing_and_numbers() -> None:
    for v in (None, float("nan"), pd.NA, pd.NaT, np.datetime64("NaT")):
        assert is_missing(v)
    for v in (0, 0.0, "", "x", [1, 2], (None,)):
        assert not is_missing(v)
    assert as_number("2.5") == 2.5 and as_number(np.int64(3)) == 3.0
    assert as_number(float("inf")) is None and as_number([1]) is None


# --------------------------------------------------------------------------- one wording

def test_labels() -> None:
    assert cost_label("ex_works") == "ex-works price"
    assert cost_label("tariff") == "tariffs"
    assert cost_label("rule_penalty") == cost_label("rule_penalties") == "soft rule penalties"
    assert cost_label("something_new") == "something new"
    assert grouping_label("control") == "controlling country"
    assert grouping_label("bloc") == "bloc"
    assert capfirst("ex-works price") == "Ex-works price" and capfirst("") == ""


def test_every_output_names_costs_alike(solve_dict: Any) -> None:
    """The terminal, the HTML page and the workbook list the same cost components
    with the same words (the page starts them with a capital)."""
    # 400 GWh of demand, 300 of capacity (unmet at 100 USD/kWh), a fixed cost on us1
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"],
                                "unmet_penalty": 100}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 400}])
    inst["suppliers"][2]["fixed_cost"] = 50
    r = solve_dict(inst)
    shown = ["ex_works", "tariff", "freight", "fixed", "unmet_penalty"]
    labels = [COST_LABELS[k] for k in shown]
    assert labels == ["ex-works price", "tariffs", "freight", "fixed costs",
                      "unmet demand penalty"]
    console = Console(record=True, width=120, file=open("/dev/null", "w"))  # noqa: SIM115
    console.print(cost_table(r))
    terminal = [line.split("│")[1].strip() for line in console.export_text().splitlines()
                if line.startswith("│")]
    assert terminal == [*labels, "total"]
    page = html.page_context(r)
    assert [row.cells[0].text for row in page["costs"]["table"].rows] == [
        *map(capfirst, labels), "Total"]
    assert [c["label"] for c in page["data"]["costs"]] == [capfirst(x) for x in labels]
    workbook = [item for item, _, _ in summary_rows(r) if item.startswith("cost: ")]
    # the components of building supply are listed only for instances that have them
    assert "expansions" not in r.cost_breakdown
    listed = [f"cost: {x}" for k, x in COST_LABELS.items() if k in r.cost_breakdown]
    assert len(listed) == 7
    assert workbook[:len(listed)] == listed


def test_cost_labels_are_defined_once() -> None:
    mapping = re.compile(r"""["']ex_works["']\s*:\s*["']""")
    where = [p.relative_to(ROOT) for p in sorted(PACKAGE.rglob("*.py"))
             if p.name != "labels.py" and mapping.search(p.read_text(encoding="utf-8"))]
    assert where == []


def test_soft_rule_penalties_are_listed(solve_dict: Any) -> None:
    """A missed soft rule's penalty is a cost component of its own: the listed
    components add up to the total."""
    r = solve_dict(world(rules=[{"name": "soft-cap", "kind": "max_share", "by": "company",
                                 "group": ["CATL"], "limit": 0.3, "penalty": 1}]))
    # all 100 GWh from CATL at 40 (4000) rather than 70 from LGES at 50: the miss of
    # 70 points at 1 USD million each (70) is cheaper than the 700 the cap would cost
    assert r.objective == pytest.approx(4070)
    items = {c["key"]: c["value"] for c in html.report_data(r)["costs"]}
    assert items == pytest.approx({"ex_works": 4000, "tariff": 0, "freight": 0,
                                   "rule_penalties": 70})
    assert sum(items.values()) == pytest.approx(r.cost_breakdown["total"])


# --------------------------------------------------------------------------- no JS or CSS in .py

#: what gives away a stylesheet or a script in a Python string
CODE_SIGNS = (
    (re.compile(r"<\s*(style|script)\b", re.IGNORECASE), "a <style> or <script> element"),
    (re.compile(r"\bfunction\s*\(|addEventListener|querySelector|=>\s*\{"), "JavaScript"),
    (re.compile(r"[\w\-.#*\])]\s*\{[^{}]*?[\w-]+\s*:[^{};]+;[^{}]*\}"), "a CSS rule"),
)
#: a string this long (lines) with braces and semicolons is code, whatever it says
MAX_CODE_LINES = 8


def web_code_in_strings(source: str) -> list[str]:
    """Strings of a Python module (docstrings aside) that hold CSS or JavaScript."""
    tree = ast.parse(source)
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) \
                and node.body and isinstance(node.body[0], ast.Expr) \
                and isinstance(node.body[0].value, ast.Constant):
            docstrings.add(id(node.body[0].value))
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Constant) and isinstance(node.value, str)) \
                or id(node) in docstrings:
            continue
        text = node.value
        found += [f"line {node.lineno}: {what}" for pattern, what in CODE_SIGNS
                  if pattern.search(text)]
        if text.count("\n") >= MAX_CODE_LINES and "{" in text and ";" in text:
            found.append(f"line {node.lineno}: {text.count(chr(10))} lines with braces and "
                         "semicolons")
    return found


def test_no_javascript_or_css_in_python() -> None:
    found = {str(p.relative_to(ROOT)): web_code_in_strings(p.read_text(encoding="utf-8"))
             for p in sorted(PACKAGE.rglob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}


@pytest.mark.parametrize("source", [
    '_CSS = """\n:root { --ink:#1d2433; }\nbody { margin:0; color:var(--ink); }\n"""\n',
    "CSS = '.card .label { color:#5b6475; font-size:12px; }'\n",
    "JS = 'document.body.addEventListener(\"click\", go);'\n",
    "JS = '(function () { var x = 1; })();'\n",
    "PAGE = '<html><head><style>{css}</style></head></html>'\n",
    "def page(js):\n    return f'<script>{js}</script>'\n",
    "CODE = '''\n" + "var a = {b: 1};\n" * 8 + "'''\n",
])
def test_the_check_finds_web_code(source: str) -> None:
    assert web_code_in_strings(source) != []


def test_the_check_leaves_python_alone() -> None:
    source = ('"""A page with a <script type="application/json"> blob; function(x) { y; }"""\n'
              "def f(x: dict) -> str:\n"
              "    '''Also a docstring: <style>a { b: c; }</style>'''\n"
              "    return f\"{x['a']:,.1f} <small>USD</small> {{not: code; }}\"\n"
              "MESSAGE = 'a rule: 70%; or less {see below}'\n"
              "WIDTH = {'a': 1, 'b': 2}\n")
    assert web_code_in_strings(source) == []


# --------------------------------------------------------------------------- templates

def test_templates_are_package_data() -> None:
    """pyproject.toml ships every file of optimizer/report/templates."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["optimizer"]
    shipped = {Path(p) for pattern in patterns
               for p in glob.glob(pattern, root_dir=PACKAGE, recursive=True)}
    templates = {p.relative_to(PACKAGE) for p in (PACKAGE / "report" / "templates").iterdir()
                 if p.is_file()}
    assert {p.name for p in templates} == TEMPLATE_FILES
    assert templates <= shipped
    assert "Jinja2>=3.1" in config["project"]["dependencies"]


def test_templates_load_from_the_package() -> None:
    env = html.environment()
    assert env.autoescape is True
    folder = Path(str(importlib.resources.files("optimizer.report") / html.TEMPLATES))
    filename = env.get_template(html.PAGE_TEMPLATE).filename
    assert filename is not None and Path(filename).parent == folder


def test_page_carries_the_stylesheet_and_script_as_they_are(teaching: optimizer.Result) -> None:
    page = html.render_html(teaching)
    folder = importlib.resources.files("optimizer.report") / html.TEMPLATES
    css = (folder / "report.css").read_text(encoding="utf-8")
    charts = (folder / "charts.js").read_text(encoding="utf-8")
    js = (folder / "report.js").read_text(encoding="utf-8")
    assert f"<style>\n{css}</style>" in page
    # the chart code, then the page's own script, in one element
    assert f"<script>\n{charts}{js}</script>" in page
    assert page.count("<style") == 1 and page.count("<script") == 2
    blob = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page,
                     re.DOTALL)
    assert blob is not None
    assert json.loads(blob.group(1))["costs"][0]["value"] == pytest.approx(3390.0)


def installed_copy(site: Path, with_data: bool = True) -> None:
    """The package as pip installs it from pyproject.toml: its modules, and the
    package data its globs select (``with_data=False``: the modules alone)."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))[
        "tool"]["setuptools"]["package-data"]["optimizer"] if with_data else []
    chosen = {Path(p) for p in glob.glob("**/*.py", root_dir=PACKAGE, recursive=True)}
    chosen |= {Path(p) for pattern in patterns
               for p in glob.glob(pattern, root_dir=PACKAGE, recursive=True)}
    for rel in chosen:
        if (PACKAGE / rel).is_file() and "__pycache__" not in rel.parts:
            (site / "optimizer" / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(PACKAGE / rel, site / "optimizer" / rel)


RENDER = """
import sys
from pathlib import Path
import optimizer
from optimizer.report.html import PAGE_TEMPLATE, environment, render_html
site = Path(sys.argv[1])
assert Path(optimizer.__file__).is_relative_to(site), optimizer.__file__
print(environment().get_template(PAGE_TEMPLATE).filename)
Path(sys.argv[2]).write_text(render_html(optimizer.solve(sys.argv[3])), encoding="utf-8")
"""


def test_report_renders_from_an_installed_copy(tmp_path: Path) -> None:
    """The page renders from a copy of the package holding what pyproject.toml
    ships, away from the source tree; without the package data it cannot."""
    site = tmp_path / "site"
    installed_copy(site)
    run = subprocess.run([sys.executable, "-c", RENDER, str(site), str(tmp_path / "r.html"),
                          str(TEACHING)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(site)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert Path(run.stdout.strip()) == site / "optimizer" / "report" / "templates" \
        / html.PAGE_TEMPLATE
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "Teaching example" in page and 'data-chart="mix-control"' in page
    bare = tmp_path / "bare"
    installed_copy(bare, with_data=False)
    run = subprocess.run([sys.executable, "-c", RENDER, str(bare), str(tmp_path / "x.html"),
                          str(TEACHING)], cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(bare)},
                         capture_output=True, text=True, timeout=300)
    assert run.returncode != 0
    assert "could not find a 'templates' directory in the 'optimizer.report' package" \
        in run.stderr


# --------------------------------------------------------------------------- layering

def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            modules |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
            modules |= {f"{node.module}.{a.name}" for a in node.names}
    return {m for m in modules if m.startswith("optimizer")}


def test_report_modules_import_downwards_only() -> None:
    report = PACKAGE / "report"
    # labels (below every layer: analyses word repairs with it) and jsonsafe stand
    # alone; html uses them and the results, never files
    assert imported_modules(PACKAGE / "labels.py") == set()
    assert imported_modules(report / "jsonsafe.py") == set()
    for name in ("html.py", "terminal.py", "xlsx.py"):
        found = imported_modules(report / name)
        assert not {m for m in found if m.startswith(("optimizer.report.files",
                                                      "optimizer.cli", "optimizer.api"))}, name
    assert "optimizer.report.html.render_html" in imported_modules(report / "files.py")
    # json_safe is one function, whichever module it is imported from
    assert files.json_safe is jsonsafe.json_safe
    code = "import sys, optimizer.report.html\nprint('optimizer.report.files' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert run.stdout.split() == ["False"]


def test_report_modules_stay_small() -> None:
    sizes = {p.name: len(p.read_text(encoding="utf-8").splitlines())
             for p in (PACKAGE / "report").glob("*.py")}
    assert {k: n for k, n in sizes.items() if n > 600} == {}
