"""What every HTML page of the package is made of: tables and cards of text,
the colours, the Jinja2 environment, and the JSON blob the charts are drawn from.

The solve report (:mod:`optimizer.report.html`) and the what-if reports
(:mod:`optimizer.report.scenario_html`, :mod:`optimizer.report.frontier_html`)
share the page skeleton (``templates/base.html.j2``), the stylesheet
(``report.css``) and the script (``charts.js``, the drawing code, and
``report.js``, which draws each chart of the page from the JSON blob and makes
tables sortable and filterable). Autoescaping is on: every piece of text from
an instance is escaped where a template puts it, and the JSON blob cannot end
its ``<script>`` element (:func:`json_for_script`).

Charts. A chart container carries ``data-chart="<name>"``; the blob's
``charts`` object holds, under that name, what to draw (``type`` is one of
``columns``, ``stacked``, ``hbars``, ``lines``; see ``charts.js``). Once drawn
the container gets ``data-rendered="true"`` (or ``"error"``, with the error
logged to the console).
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from typing import Any

import jinja2
import markupsafe

from optimizer.report.jsonsafe import json_safe

#: Paul Tol's "muted" scheme, distinguishable with the common colour-vision deficiencies
PALETTE = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933", "#DDCC77", "#CC6677",
           "#882255", "#AA4499")
OTHERS_COLOUR = "#BBBBBB"
#: marks what stands out in a chart (the CVaR tail, a failure that costs)
ALERT_COLOUR = "#CC6677"
#: the base case, a plan's own cost: a neutral dark line
BASE_COLOUR = "#1d2433"

#: the templates' folder inside the package
TEMPLATES = "templates"
#: the scripts copied into every page, in this order (one ``<script>`` element)
SCRIPTS = ("charts.js", "report.js")


# --------------------------------------------------------------------------- what templates show

@dataclass(frozen=True)
class Cell:
    """A table cell: its text, and an optional note shown muted after it.
    ``sort``: the value a sortable table sorts the column by (a number, or text)."""

    text: str
    note: str = ""
    sort: float | str | None = None


@dataclass
class Row:
    cells: list[Cell]
    #: a total: every cell in bold
    strong: bool = False
    #: ``data-*`` attributes of the row (``{"app": "ev"}`` -> ``data-app="ev"``)
    data: dict[str, str] = field(default_factory=dict)


@dataclass
class Table:
    """A table of text: ``columns`` are (label, numeric?) pairs. ``sortable``:
    clicking a header sorts the rows (``report.js``); ``key`` names the table
    for its filter box and counters (``data-table``)."""

    columns: list[tuple[str, bool]]
    rows: list[Row] = field(default_factory=list)
    cls: str = ""
    sortable: bool = False
    key: str = ""

    def add(self, *cells: str | Cell, strong: bool = False,
            data: dict[str, str] | None = None) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"a row of {len(cells)} cells in a table of "
                             f"{len(self.columns)} columns")
        self.rows.append(Row([c if isinstance(c, Cell) else Cell(c) for c in cells], strong,
                             dict(data or {})))


@dataclass
class Card:
    """A headline number: ``before`` and ``after`` are units set small around it."""

    key: str
    label: str
    value: str
    before: str = ""
    after: str = ""
    note: str = ""
    #: the objective as Python writes it (``repr``), for the ``data-objective`` attribute
    objective: str | None = None


def card_columns(cards: list[Card]) -> int:
    """Cards per row: all in one row up to six, else two even rows."""
    return len(cards) if len(cards) <= 6 else -(-len(cards) // 2)


# --------------------------------------------------------------------------- the page

def json_for_script(data: Any) -> str:
    """JSON that cannot end the ``<script>`` element it sits in."""
    text = json.dumps(json_safe(data), ensure_ascii=False, allow_nan=False)
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _asset(env: jinja2.Environment, name: str) -> markupsafe.Markup:
    """A stylesheet or script from the templates' folder, copied into the page as
    it is (never read as a template)."""
    assert env.loader is not None
    text = env.loader.get_source(env, name)[0]
    if "</style" in text.lower() or "</script" in text.lower():
        raise ValueError(f"{name} would end the element it is copied into")
    return markupsafe.Markup(text)


@functools.cache
def environment() -> jinja2.Environment:
    """The templates, loaded from the installed package (autoescaping on)."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("optimizer.report", TEMPLATES),
        autoescape=True, undefined=jinja2.StrictUndefined,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    env.filters["script_json"] = lambda data: markupsafe.Markup(json_for_script(data))
    env.globals["asset"] = functools.partial(_asset, env)
    env.globals["scripts"] = SCRIPTS
    return env


def render(template: str, context: dict[str, Any]) -> str:
    """One page: ``template`` (a page template of the templates' folder) with
    ``context``; ``context["data"]`` becomes the JSON blob."""
    return environment().get_template(template).render(context)
