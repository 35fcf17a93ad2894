"""Bad input never produces a traceback.

Every malformed instance must give exit code 2 and one clear message per
problem, naming the file, the table, the row and the field. YAML is loaded
safely; nothing the user wrote is silently dropped or guessed.

Each case starts from a small valid instance (:data:`BASE`), breaks one thing,
and checks three ways: the CLI (``validate`` and ``solve``) exits with 2 and
prints no traceback; ``load_instance`` raises :class:`InputError` with exactly
the expected number of errors (a single mistake must not cascade into
several messages); and one of those messages contains every expected piece
(file name, table, ``row N``, field, what is wrong).
"""

from __future__ import annotations

import copy
import csv
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import optimizer
from optimizer.cli import main
from optimizer.errors import InputError, Problem

# --------------------------------------------------------------------------- base instance

BASE: dict[str, Any] = {
    "format": 1,
    "name": "input-errors",
    "periods": [2026, 2027],
    "discount_rate": 0.05,
    "chemistries": [
        {"id": "lfp", "family": "lithium"},
        {"id": "naion", "family": "sodium"},
    ],
    "countries": [
        {"id": "CN", "name": "China", "bloc": "china"},
        {"id": "US", "name": "United States", "bloc": "usmca"},
    ],
    "applications": [
        {"id": "ev", "chemistries": ["lfp", "naion"], "unmet_penalty": 300},
        {"id": "grid", "chemistries": ["lfp"]},
    ],
    "demand": [
        {"application": "ev", "period": 2026, "gwh": 60},
        {"application": "ev", "period": 2027, "gwh": 80},
        {"application": "grid", "period": 2026, "gwh": 20},
        {"application": "grid", "period": 2027, "gwh": 30},
    ],
    "suppliers": [
        {"id": "s1", "company": "alpha", "country": "CN", "chemistry": "lfp",
         "capacity": 100, "price": 50},
        {"id": "s2", "company": "beta", "country": "US", "control": "CN", "chemistry": "lfp",
         "capacity": 80, "price": 70},
        {"id": "s3", "company": "gamma", "country": "US", "chemistry": "naion",
         "capacity": 40, "price": 90},
    ],
    "tariffs": [{"origin": "CN", "rate": 0.25}],
    "rules": [
        {"name": "company-cap", "kind": "max_share", "by": "company", "limit": 0.6},
        {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.9},
    ],
}

Mutation = Callable[[dict[str, Any]], None]


def write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    """Rows as a CSV file: header = every key in first-seen order; lists as ``a;b``."""
    header: list[str] = []
    for row in rows:
        header += [k for k in row if k not in header]
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            cells = []
            for key in header:
                value = row.get(key)
                if isinstance(value, list):
                    value = ";".join(map(str, value))
                cells.append("" if value is None else value)
            writer.writerow(cells)


def write_instance(
    tmp_path: Path,
    data: dict[str, Any] | None = None,
    csv_tables: tuple[str, ...] = (),
    name: str = "instance.yaml",
) -> Path:
    """Write an instance into ``tmp_path``; tables in ``csv_tables`` go to ``<table>.csv``."""
    data = copy.deepcopy(BASE if data is None else data)
    for table in csv_tables:
        write_csv(tmp_path / f"{table}.csv", data[table])
        data[table] = f"{table}.csv"
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def mutated(change: Mutation, csv_tables: tuple[str, ...] = ()) -> Callable[[Path], Path]:
    """A case builder: BASE with ``change`` applied, written to ``tmp_path``."""

    def make(tmp_path: Path) -> Path:
        data = copy.deepcopy(BASE)
        change(data)
        return write_instance(tmp_path, data, csv_tables)

    return make


def set_field(table: str, row: int, field: str, value: Any) -> Mutation:
    """Set ``field`` of 1-based ``row`` of ``table`` (as the messages count rows)."""

    def change(data: dict[str, Any]) -> None:
        data[table][row - 1][field] = value

    return change


def update_row(table: str, row: int, **fields: Any) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        data[table][row - 1].update(fields)

    return change


def drop_field(table: str, row: int, field: str) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        del data[table][row - 1][field]

    return change


def set_key(key: str, value: Any) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        data[key] = value

    return change


def drop_key(key: str) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        del data[key]

    return change


def add_row(table: str, row: dict[str, Any]) -> Mutation:
    def change(data: dict[str, Any]) -> None:
        data[table].append(row)

    return change


def raw_text(text: str, name: str = "instance.yaml") -> Callable[[Path], Path]:
    """A case builder writing ``text`` as is (for what ``yaml.safe_dump`` cannot write)."""

    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_text(text, encoding="utf-8")
        return path

    return make


def yaml_with_csv(csv_name: str, csv_text: str, table: str = "suppliers") -> Callable[[Path], Path]:
    """BASE with ``table`` read from a hand-written CSV file."""

    def make(tmp_path: Path) -> Path:
        (tmp_path / csv_name).write_text(csv_text, encoding="utf-8")
        data = copy.deepcopy(BASE)
        data[table] = csv_name
        return write_instance(tmp_path, data)

    return make


def raw_bytes(data: bytes, name: str = "instance.yaml") -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return make


def directory(name: str) -> Callable[[Path], Path]:
    """A case builder: ``name`` is a directory, not a file."""

    def make(tmp_path: Path) -> Path:
        path = tmp_path / name
        path.mkdir()
        return path

    return make


def suppliers_from(make_csv: Callable[[Path], Path]) -> Callable[[Path], Path]:
    """BASE with its suppliers table pointing at what ``make_csv`` creates."""

    def make(tmp_path: Path) -> Path:
        csv_path = make_csv(tmp_path)
        return write_instance(tmp_path, {**BASE, "suppliers": csv_path.name})

    return make


def base_yaml_text() -> str:
    return yaml.safe_dump(BASE, sort_keys=False)


# --------------------------------------------------------------------------- helpers


@pytest.fixture(autouse=True)
def wide_console(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rich wraps at 80 columns when not on a terminal; long tmp paths would wrap."""
    monkeypatch.setenv("COLUMNS", "1000")


def errors_of(path: Path) -> list[Problem]:
    with pytest.raises(InputError) as info:
        optimizer.load_instance(path)
    return [p for p in info.value.problems if p.severity == "error"]


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out + err


def assert_reported(problems: list[Problem], expected: list[str]) -> None:
    """One problem's message contains every expected piece."""
    messages = [str(p) for p in problems]
    assert any(all(e in m for e in expected) for m in messages), (
        f"no message contains all of {expected}:\n" + "\n".join(messages)
    )


# --------------------------------------------------------------------------- the cases

# (builder, pieces one message must contain, number of errors expected)
CASES = [
    # ---- the file itself
    pytest.param(lambda tmp: tmp / "nowhere.yaml", ["nowhere.yaml", "not found"], 1,
                 id="missing-file"),
    pytest.param(lambda tmp: tmp / "nowhere.yml", ["nowhere.yml", "not found"], 1,
                 id="missing-file-yml"),
    pytest.param(lambda tmp: tmp / "nowhere.txt", ["nowhere.txt", "not found"], 1,
                 id="missing-file-other-suffix"),
    pytest.param(raw_text("format: 1\n", name="instance.json"),
                 ["instance.json", "unsupported file type", ".yaml"], 1, id="wrong-suffix"),
    pytest.param(directory("dir.yaml"),
                 ["dir.yaml", "directory"], 1, id="directory-not-file"),
    pytest.param(raw_text(""), ["instance.yaml", "empty"], 1, id="empty-file"),
    pytest.param(raw_text("   \n# only a comment\n\n"), ["instance.yaml", "empty"], 1,
                 id="only-comments"),
    pytest.param(raw_text("---\n...\n"), ["instance.yaml", "empty"], 1, id="empty-document"),
    pytest.param(raw_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe"),
                 ["instance.yaml", "UTF-8"], 1, id="binary-file"),
    pytest.param(raw_bytes("format: 1\nname: Gr\u00fcn\n".encode("latin-1")),
                 ["instance.yaml", "UTF-8"], 1, id="latin-1-file"),
    pytest.param(raw_text("format: 1\nname: x\nperiods: [2026, 2027\nchemistries: []\n"),
                 ["instance.yaml", "line 4", "not valid YAML"], 1, id="yaml-syntax-error"),
    pytest.param(raw_text("format: 1\nname: x\n  periods: [2026]\n"),
                 ["instance.yaml", "line 3", "not valid YAML"], 1, id="yaml-bad-indent"),
    pytest.param(raw_text("format: 1\n\tname: x\n"),
                 ["instance.yaml", "line 2", "not valid YAML"], 1, id="yaml-tab"),
    pytest.param(raw_text("- format: 1\n- name: x\n"), ["instance.yaml", "mapping", "list"], 1,
                 id="top-level-list"),
    pytest.param(raw_text("just some words\n"),
                 ["instance.yaml", "mapping", "the text 'just some words'"], 1,
                 id="top-level-text"),
    pytest.param(raw_text("format: 1\n---\nname: x\n"), ["instance.yaml", "line 2"], 1,
                 id="two-documents"),
    pytest.param(raw_text(base_yaml_text() + "name: again\n"),
                 ["instance.yaml", "duplicate key 'name'", "line"], 1, id="duplicate-yaml-key"),
    pytest.param(raw_text(base_yaml_text().replace("company: alpha", "company: alpha\n  id: s9")),
                 ["instance.yaml", "suppliers", "row 1", "duplicate key 'id'"], 1,
                 id="duplicate-key-in-row"),
    pytest.param(raw_text(base_yaml_text() + "x: *nowhere\n"),
                 ["instance.yaml", "not valid YAML", "nowhere"], 1, id="yaml-undefined-alias"),
    pytest.param(raw_text("format: 1\nname: " + "[" * 5000 + "]" * 5000 + "\n"),
                 ["instance.yaml", "not valid YAML", "nested too deeply"], 1,
                 id="yaml-nested-too-deeply"),
    pytest.param(raw_text(base_yaml_text() + "? [a, b]\n: 1\n"),
                 ["instance.yaml", "unusable key", "line"], 1, id="yaml-list-as-key"),
    pytest.param(raw_bytes(b"PK\x03\x04 not really a workbook", name="instance.xlsx"),
                 ["instance.xlsx"], 1, id="broken-workbook"),
    pytest.param(directory("folder"),
                 ["folder", "directory"], 1, id="directory-without-suffix"),
    # ---- top-level keys
    pytest.param(mutated(set_key("discount_rat", 0.1)),
                 ["instance.yaml", "unknown key 'discount_rat'", "did you mean 'discount_rate'"],
                 1, id="unknown-top-level-key"),
    pytest.param(mutated(drop_key("periods")), ["instance.yaml", "periods", "required"], 1,
                 id="missing-periods"),
    pytest.param(mutated(drop_key("name")), ["instance.yaml", "name", "required"], 1,
                 id="missing-name"),
    pytest.param(mutated(drop_key("suppliers")), ["instance.yaml", "suppliers", "required"], 1,
                 id="missing-suppliers-table"),
    pytest.param(mutated(set_key("suppliers", [])), ["instance.yaml", "suppliers", "no rows"], 1,
                 id="empty-suppliers-table"),
    pytest.param(mutated(set_key("format", 2)), ["instance.yaml", "format", "1", "2"], 1,
                 id="format-2"),
    pytest.param(mutated(set_key("format", True)), ["instance.yaml", "format", "number", "true"], 1,
                 id="format-true"),
    pytest.param(mutated(set_key("periods", [2027, 2026])),
                 ["instance.yaml", "line", "'periods'", "increasing", "2026 follows 2027"], 1,
                 id="periods-decreasing"),
    pytest.param(mutated(set_key("periods", [2026, 2026, 2027])),
                 ["instance.yaml", "periods", "increasing"], 1, id="periods-repeated"),
    pytest.param(mutated(set_key("periods", [2026, 2027.5])),
                 ["instance.yaml", "periods", "whole number", "2027.5"], 1,
                 id="period-not-a-year"),
    pytest.param(mutated(set_key("periods", "2026")), ["instance.yaml", "periods", "list"], 1,
                 id="periods-not-a-list"),
    pytest.param(mutated(set_key("periods", [])), ["instance.yaml", "periods", "empty"], 1,
                 id="periods-empty"),
    pytest.param(mutated(set_key("discount_rate", 2)),
                 ["instance.yaml", "discount_rate", "<= 1", "2"], 1, id="discount-rate-2"),
    pytest.param(mutated(set_key("discount_rate", float("nan"))),
                 ["instance.yaml", "discount_rate", "finite"], 1, id="discount-rate-nan"),
    pytest.param(mutated(set_key("carbon_price", -5)),
                 ["instance.yaml", "carbon_price", ">= 0", "-5"], 1, id="carbon-price-negative"),
    pytest.param(mutated(set_key("carbon_price", "cheap")),
                 ["instance.yaml", "carbon_price", "number", "'cheap'"], 1,
                 id="carbon-price-text"),
    # ---- tables: shape
    pytest.param(mutated(set_key("countries", {"id": "CN"})),
                 ["instance.yaml", "countries", "list of rows", "a mapping"], 1,
                 id="table-is-mapping"),
    pytest.param(mutated(set_key("countries", 7)),
                 ["instance.yaml", "countries", "list of rows", "the number 7"], 1,
                 id="table-is-number"),
    pytest.param(mutated(add_row("countries", "KR")),
                 ["instance.yaml", "countries", "row 3", "mapping", "'KR'"], 1,
                 id="row-is-not-mapping"),
    pytest.param(mutated(set_field("chemistries", 2, "famly", "sodium")),
                 ["instance.yaml", "chemistries", "row 2", "famly", "did you mean 'family'"], 1,
                 id="unknown-field-inline"),
    pytest.param(mutated(set_field("suppliers", 3, "prise", 1)),
                 ["instance.yaml", "suppliers", "row 3", "prise", "did you mean 'price'",
                  "attributes"], 1, id="unknown-supplier-field-inline"),
    pytest.param(mutated(drop_field("suppliers", 2, "company")),
                 ["instance.yaml", "suppliers", "row 2", "company", "required"], 1,
                 id="missing-required-field"),
    pytest.param(mutated(set_field("countries", 1, "id", "")),
                 ["instance.yaml", "countries", "row 1", "'id'", "empty"], 1, id="empty-id"),
    # ---- numbers
    pytest.param(mutated(set_field("suppliers", 2, "price", float("nan"))),
                 ["instance.yaml", "suppliers", "row 2", "price", "finite"], 1,
                 id="yaml-nan-price"),
    pytest.param(mutated(set_field("suppliers", 1, "capacity", float("inf"))),
                 ["instance.yaml", "suppliers", "row 1", "capacity", "finite"], 1,
                 id="yaml-inf-capacity"),
    pytest.param(mutated(set_field("suppliers", 2, "price", "nan"), ("suppliers",)),
                 ["suppliers.csv", "suppliers", "row 2", "line 3", "price", "finite"], 1,
                 id="csv-nan-price"),
    pytest.param(mutated(set_field("suppliers", 3, "capacity", "inf"), ("suppliers",)),
                 ["suppliers.csv", "suppliers", "row 3", "capacity", "finite"], 1,
                 id="csv-inf-capacity"),
    pytest.param(mutated(set_field("demand", 4, "gwh", "-Infinity"), ("demand",)),
                 ["demand.csv", "demand", "row 4", "gwh", "finite"], 1, id="csv-minus-infinity"),
    pytest.param(mutated(set_field("suppliers", 1, "capacity", -10)),
                 ["instance.yaml", "suppliers", "row 1", "capacity", ">= 0", "-10"], 1,
                 id="negative-capacity"),
    pytest.param(mutated(set_field("suppliers", 2, "price", "cheap"), ("suppliers",)),
                 ["suppliers.csv", "row 2", "price", "number", "'cheap'"], 1,
                 id="csv-text-for-number"),
    pytest.param(mutated(set_field("suppliers", 2, "price", "cheap")),
                 ["instance.yaml", "suppliers", "row 2", "price", "number", "'cheap'"], 1,
                 id="yaml-text-for-number"),
    pytest.param(mutated(set_field("suppliers", 2, "price", True)),
                 ["instance.yaml", "suppliers", "row 2", "price", "number"], 1,
                 id="yaml-boolean-for-number"),
    pytest.param(mutated(set_field("suppliers", 2, "price", [50, 60])),
                 ["instance.yaml", "suppliers", "row 2", "price", "number"], 1,
                 id="yaml-list-for-number"),
    pytest.param(mutated(set_field("demand", 2, "period", "2027a"), ("demand",)),
                 ["demand.csv", "row 2", "period", "whole number", "'2027a'"], 1,
                 id="csv-bad-period"),
    pytest.param(mutated(set_field("applications", 1, "unmet_penalty", -1)),
                 ["instance.yaml", "applications", "row 1", "unmet_penalty", ">= 0"], 1,
                 id="negative-penalty"),
    pytest.param(mutated(set_field("tariffs", 1, "rate", -0.1)),
                 ["instance.yaml", "tariffs", "row 1", "rate", ">= 0", "-0.1"], 1,
                 id="tariff-rate-negative"),
    pytest.param(mutated(set_field("rules", 1, "limit", 1.5)),
                 ["instance.yaml", "rules", "row 1", "limit", "between 0 and 1", "1.5"], 1,
                 id="share-limit-1.5"),
    pytest.param(mutated(set_field("rules", 2, "limit", -0.2)),
                 ["instance.yaml", "rules", "row 2", "limit", "between 0 and 1"], 1,
                 id="share-limit-negative"),
    # ---- ids and references
    pytest.param(mutated(set_field("suppliers", 3, "id", "s1")),
                 ["instance.yaml", "suppliers", "row 3", "field 'id'", "duplicate", "'s1'",
                  "row 1"], 1,
                 id="duplicate-supplier-id"),
    pytest.param(mutated(set_field("suppliers", 3, "id", "s1"), ("suppliers",)),
                 ["suppliers.csv", "row 3", "line 4", "duplicate", "'s1'", "row 1"], 1,
                 id="duplicate-supplier-id-csv"),
    pytest.param(mutated(add_row("chemistries", {"id": "lfp", "family": "lithium"})),
                 ["instance.yaml", "chemistries", "row 3", "duplicate", "'lfp'"], 1,
                 id="duplicate-chemistry-id"),
    pytest.param(mutated(set_field("rules", 2, "name", "company-cap")),
                 ["instance.yaml", "rules", "row 2", "field 'name'", "duplicate",
                  "'company-cap'"], 1,
                 id="duplicate-rule-name"),
    pytest.param(mutated(add_row("demand", {"application": "ev", "period": 2026, "gwh": 5})),
                 ["instance.yaml", "demand", "row 5", "duplicate", "row 1"], 1,
                 id="duplicate-demand"),
    pytest.param(mutated(set_field("suppliers", 2, "country", "MX")),
                 ["instance.yaml", "suppliers", "row 2", "country", "unknown country 'MX'"], 1,
                 id="dangling-supplier-country"),
    pytest.param(mutated(set_field("suppliers", 2, "control", "KR"), ("suppliers",)),
                 ["suppliers.csv", "row 2", "control", "unknown country 'KR'"], 1,
                 id="dangling-supplier-control"),
    pytest.param(mutated(set_field("suppliers", 1, "chemistry", "lfpp")),
                 ["instance.yaml", "suppliers", "row 1", "chemistry", "'lfpp'",
                  "did you mean 'lfp'"], 1, id="dangling-supplier-chemistry"),
    pytest.param(mutated(set_field("demand", 3, "application", "gird")),
                 ["instance.yaml", "demand", "row 3", "application", "'gird'",
                  "did you mean 'grid'"], 1, id="dangling-demand-application"),
    pytest.param(mutated(set_field("applications", 2, "chemistries", ["lfp", "nmc"])),
                 ["instance.yaml", "applications", "row 2", "chemistries", "'nmc'"], 1,
                 id="dangling-application-chemistry"),
    pytest.param(mutated(set_field("tariffs", 1, "origin", "XX")),
                 ["instance.yaml", "tariffs", "row 1", "origin", "'XX'"], 1,
                 id="dangling-tariff-origin"),
    pytest.param(mutated(set_field("rules", 2, "group", ["CN", "RU"])),
                 ["instance.yaml", "rules", "row 2", "group", "'RU'"], 1,
                 id="dangling-rule-group"),
    pytest.param(mutated(set_field("rules", 1, "by", "compnay")),
                 ["instance.yaml", "rules", "row 1", "by", "'compnay'",
                  "did you mean 'company'"], 1, id="rule-by-unknown"),
    pytest.param(mutated(set_field("rules", 1, "applications", ["ev", "truck"])),
                 ["instance.yaml", "rules", "row 1", "applications", "'truck'"], 1,
                 id="dangling-rule-application"),
    pytest.param(mutated(set_field("rules", 1, "periods", [2026, 2031])),
                 ["instance.yaml", "rules", "row 1", "periods", "2031"], 1,
                 id="rule-period-unknown"),
    pytest.param(mutated(set_field("demand", 2, "period", 2030)),
                 ["instance.yaml", "demand", "row 2", "period", "2030", "2026, 2027"], 1,
                 id="demand-period-not-in-periods"),
    pytest.param(mutated(set_key("capacity", [{"supplier": "s4", "period": 2026, "gwh": 1}])),
                 ["instance.yaml", "capacity", "row 1", "supplier", "'s4'"], 1,
                 id="dangling-capacity-supplier"),
    # ---- prices
    pytest.param(mutated(drop_field("suppliers", 2, "price")),
                 ["instance.yaml", "suppliers", "row 2", "price", "capacity but no price"], 1,
                 id="capacity-without-price"),
    pytest.param(mutated(set_field("suppliers", 3, "price", None), ("suppliers",)),
                 ["suppliers.csv", "row 3", "line 4", "price", "capacity but no price"], 1,
                 id="capacity-without-price-csv"),
    # ---- rules
    pytest.param(mutated(set_field("rules", 1, "kind", "max_shares")),
                 ["instance.yaml", "rules", "row 1", "kind", "'max_shares'"], 1,
                 id="rule-kind-unknown"),
    pytest.param(mutated(set_key("rules", [
        {"name": "no-cn", "kind": "exclude", "by": "control", "applications": ["grid"]}])),
                 ["instance.yaml", "rules", "row 1", "group", "required", "exclude"], 1,
                 id="exclude-without-group"),
    pytest.param(mutated(set_key("rules", [
        {"name": "dual", "kind": "min_count", "by": "company", "limit": 2}])),
                 ["instance.yaml", "rules", "row 1", "threshold", "min_count"], 1,
                 id="min-count-without-threshold"),
    pytest.param(mutated(set_key("rules", [
        {"name": "no-cn", "kind": "exclude", "by": "control", "group": "CN", "limit": 0}])),
                 ["instance.yaml", "rules", "row 1", "field 'limit'", "not used by kind exclude"],
                 1, id="exclude-with-limit"),
    pytest.param(mutated(set_key("rules", [
        {"name": "cap", "kind": "max_share", "by": "company"}])),
                 ["instance.yaml", "rules", "row 1", "limit", "required"], 1,
                 id="rule-without-limit"),
    pytest.param(mutated(set_field("rules", 1, "limit", True)),
                 ["instance.yaml", "rules", "row 1", "limit", "number", "true"], 1,
                 id="rule-limit-boolean"),
    pytest.param(mutated(update_row("suppliers", 3, available_from=2027, available_until=2026)),
                 ["instance.yaml", "suppliers", "row 3", "field 'available_until'", "2027"], 1,
                 id="availability-window-reversed"),
    pytest.param(mutated(set_field("rules", 1, "per_application", "maybe")),
                 ["instance.yaml", "rules", "row 1", "per_application", "true or false"], 1,
                 id="rule-flag-not-boolean"),
    # ---- CSV files
    pytest.param(mutated(set_key("suppliers", "no-such-file.csv")),
                 ["instance.yaml", "suppliers", "no-such-file.csv", "does not exist"], 1,
                 id="csv-missing"),
    pytest.param(mutated(set_field("suppliers", 2, "prize", 1), ("suppliers",)),
                 ["suppliers.csv", "unknown column 'prize'", "did you mean 'price'"], 1,
                 id="csv-unknown-column"),
    pytest.param(yaml_with_csv("suppliers.csv",
                               "id,company,country,chemistry,capacity,price\n"
                               "s1,alpha,CN,lfp,100,50\n"
                               "s2,beta,US,lfp,80,70,extra\n"
                               "s3,gamma,US,naion,40,90\n"),
                 ["suppliers.csv", "row 2", "line 3", "7 cells", "6 columns"], 1,
                 id="csv-too-many-cells"),
    pytest.param(yaml_with_csv("suppliers.csv",
                               "# offers, sources in SOURCES.md\n"
                               "id,company,country,chemistry,capacity,price\n"
                               "s1,alpha,CN,lfp,100,50\n"
                               "# s2 is an estimate\n"
                               "s2,beta,US,lfp,80\n"
                               "s3,gamma,US,naion,40,90\n"),
                 ["suppliers.csv", "row 2", "line 5", "price", "capacity but no price"], 1,
                 id="csv-too-few-cells-with-comments"),
    pytest.param(yaml_with_csv("suppliers.csv",
                               "id,company,country,chemistry,capacity,price\n"
                               "s1,alpha,CN,lfp,100,50,6\n"
                               "s2,beta,US,lfp,80,-70\n"
                               "s3,gamma,US,naion,40,90\n"),
                 ["suppliers.csv", "row 2", "line 3", "price", ">= 0"], 2,
                 id="csv-rows-numbered-after-a-bad-row"),
    pytest.param(yaml_with_csv("suppliers.csv",
                               "id,company,country,chemistry,capacity,price\n"
                               's1,"alpha,CN,lfp,100,50\n'
                               "s2,beta,US,lfp,80,70\n"),
                 ["suppliers.csv", "line 2", "not valid CSV", "never closed"], 1,
                 id="csv-unclosed-quote"),
    pytest.param(yaml_with_csv("suppliers.csv", ""), ["suppliers.csv", "empty"], 1,
                 id="csv-empty"),
    pytest.param(yaml_with_csv("suppliers.csv", "id,company,country,chemistry\n"),
                 ["suppliers.csv", "no rows"], 1, id="csv-header-only"),
    pytest.param(yaml_with_csv("suppliers.csv", "id,company,,chemistry\ns1,alpha,CN,lfp\n"),
                 ["suppliers.csv", "column 3", "empty header"], 1, id="csv-empty-header"),
    pytest.param(yaml_with_csv("suppliers.csv",
                               "id,company,country,country,chemistry\ns1,a,CN,CN,lfp\n"),
                 ["suppliers.csv", "'country'", "more than once"], 1,
                 id="csv-duplicate-column"),
    pytest.param(suppliers_from(raw_bytes(b"id,company\ns1,\xe9\xe8\n", name="suppliers.csv")),
                 ["suppliers.csv", "UTF-8"], 1, id="csv-not-utf8"),
    pytest.param(suppliers_from(directory("suppliers.csv")),
                 ["suppliers.csv", "directory"], 1, id="csv-is-directory"),
]


@pytest.mark.parametrize(("make", "expected", "count"), CASES)
def test_bad_input_is_reported(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    make: Callable[[Path], Path],
    expected: list[str],
    count: int,
) -> None:
    path = make(tmp_path)

    problems = errors_of(path)
    assert_reported(problems, expected)
    assert len(problems) == count, "\n".join(map(str, problems))

    for command in ("validate", "solve"):
        code, output = cli(capsys, command, str(path))
        assert code == 2, output
        assert "Traceback" not in output
        assert all(e in output for e in expected), output


# --------------------------------------------------------------------------- specific checks


def test_base_instance_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_instance(tmp_path, csv_tables=("suppliers", "demand", "applications", "rules"))
    inst = optimizer.load_instance(path)
    assert [s.id for s in inst.suppliers] == ["s1", "s2", "s3"]
    assert cli(capsys, "validate", str(path))[0] == 0
    assert cli(capsys, "solve", str(path))[0] == 0


def test_python_tag_is_never_executed(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    marker = tmp_path / "PWNED"
    path = tmp_path / "instance.yaml"
    path.write_text(
        "format: 1\nname: evil\n"
        f'periods: !!python/object/apply:os.system ["touch {marker}"]\n',
        encoding="utf-8",
    )
    problems = errors_of(path)
    assert_reported(problems, ["instance.yaml", "line 3", "tag", "python/object/apply"])
    for command in ("validate", "solve"):
        code, output = cli(capsys, command, str(path))
        assert code == 2
        assert "Traceback" not in output
    # also through a real interpreter, where nothing is patched
    proc = subprocess.run([sys.executable, "-m", "optimizer", "validate", str(path)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert not marker.exists()


@pytest.mark.parametrize("tag", [
    "!!python/object/new:os.system [echo]",
    "!!python/name:os.system",
    "!!python/tuple [1, 2]",
    "!custom {a: 1}",
])
def test_other_tags_are_refused(tmp_path: Path, tag: str) -> None:
    path = raw_text(base_yaml_text() + f"description: {tag}\n")(tmp_path)
    assert_reported(errors_of(path), ["instance.yaml", "tag", "not allowed"])


def test_list_cells_are_split_on_semicolons(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["applications"][0]["chemistries"] = " lfp ; naion ;"
    data["rules"].append({"name": "alt-floor", "kind": "min_share", "by": "family",
                          "group": "sodium", "limit": 0.1, "applications": "ev",
                          "periods": "2026;2027"})
    data["rules"].append({"name": "two", "kind": "max_share", "by": "country",
                          "group": ["CN", "US"], "limit": 1.0})
    path = write_instance(tmp_path, data, csv_tables=("applications", "rules"))
    inst = optimizer.load_instance(path)
    assert inst.applications[0].chemistries == ["lfp", "naion"]
    floor = inst.rule("alt-floor")
    assert floor.group == ["sodium"]
    assert floor.applications == ["ev"]
    assert floor.periods == [2026, 2027]
    assert inst.rule("two").group == ["CN", "US"]


def test_numeric_ids_stay_text(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["suppliers"][0]["id"] = "007"
    path = write_instance(tmp_path, data, csv_tables=("suppliers",))
    assert optimizer.load_instance(path).suppliers[0].id == "007"


def test_every_problem_is_reported_at_once(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    data = copy.deepcopy(BASE)
    data["discount_rat"] = 0.1                       # 1 unknown key
    data["periods"] = [2026, 2027]
    data["suppliers"][0]["capacity"] = -1            # 2 negative
    data["suppliers"][1]["price"] = "nan"            # 3 not finite (CSV)
    data["suppliers"][2]["country"] = "MX"           # 4 dangling reference
    data["demand"][1]["application"] = "truck"       # 5 dangling reference
    data["demand"][2]["period"] = 2040               # 6 period not in periods
    data["rules"][0]["limit"] = 1.5                  # 7 share out of range
    data["rules"][1]["by"] = "contrl"                # 8 unknown grouping
    data["tariffs"][0]["rate"] = -0.25               # 9 negative rate
    data["chemistries"].append({"id": "lfp", "family": "lithium"})  # 10 duplicate id
    path = write_instance(tmp_path, data, csv_tables=("suppliers", "demand"))

    expected = [
        ["instance.yaml", "discount_rat"],
        ["suppliers.csv", "row 1", "capacity", ">= 0"],
        ["suppliers.csv", "row 2", "price", "finite"],
        ["suppliers.csv", "row 3", "country", "'MX'"],
        ["demand.csv", "row 2", "application", "'truck'"],
        ["demand.csv", "row 3", "period", "2040"],
        ["instance.yaml", "rules", "row 1", "limit"],
        ["instance.yaml", "rules", "row 2", "by", "'contrl'"],
        ["instance.yaml", "tariffs", "row 1", "rate"],
        ["instance.yaml", "chemistries", "row 3", "duplicate"],
    ]
    problems = errors_of(path)
    for pieces in expected:
        assert_reported(problems, pieces)
    assert len(problems) == len(expected), "\n".join(map(str, problems))

    code, output = cli(capsys, "validate", str(path))
    assert code == 2
    assert f"{len(expected)} problems in the input" in output
    assert output.count("\n  - ") == len(expected)


def test_wrong_settings_do_not_hide_table_problems(tmp_path: Path) -> None:
    """Periods out of order, a wrong format: the tables are still checked."""
    data = copy.deepcopy(BASE)
    data["format"] = 2
    data["periods"] = [2027, 2026]
    data["discount_rate"] = 1.5
    data["suppliers"][1]["country"] = "MX"
    data["demand"][0]["period"] = 2031
    path = write_instance(tmp_path, data)
    problems = errors_of(path)
    for pieces in (["'format'", "must be 1"], ["'periods'", "increasing"],
                   ["'discount_rate'", "<= 1"], ["suppliers", "row 2", "country", "'MX'"],
                   ["demand", "row 1", "period", "2031"]):
        assert_reported(problems, ["instance.yaml", *pieces])
    assert len(problems) == 5, "\n".join(map(str, problems))


def test_unusable_periods_skip_period_checks(tmp_path: Path) -> None:
    """Without usable periods, no demand row is blamed for its period."""
    data = copy.deepcopy(BASE)
    data["periods"] = [2026, "soon"]
    path = write_instance(tmp_path, data)
    problems = errors_of(path)
    assert_reported(problems, ["instance.yaml", "periods", "'soon'"])
    assert len(problems) == 1, "\n".join(map(str, problems))


def test_each_field_of_a_rule_is_reported_on_its_own(tmp_path: Path) -> None:
    data = copy.deepcopy(BASE)
    data["rules"] = [{"name": "no-cn", "kind": "exclude", "by": "control", "limit": 0.5,
                      "threshold": 0.1}]
    path = write_instance(tmp_path, data, csv_tables=("rules",))
    problems = errors_of(path)
    for name in ("group", "limit", "threshold"):
        assert_reported(problems, ["rules.csv", "row 1", "line 2", f"field '{name}'",
                                   "kind exclude"])
    assert len(problems) == 3, "\n".join(map(str, problems))


def test_an_unreadable_table_does_not_cascade(tmp_path: Path) -> None:
    """Suppliers cannot be read: references to suppliers are not blamed, and the
    table is not also reported as missing."""
    data = copy.deepcopy(BASE)
    data["suppliers"] = "supliers.csv"
    data["capacity"] = [{"supplier": "s1", "period": 2026, "gwh": 50}]
    data["rules"].append({"name": "s1-cap", "kind": "max_share", "by": "supplier",
                          "group": ["s1"], "limit": 0.5})
    data["rules"].append({"name": "alpha-cap", "kind": "max_share", "by": "company",
                          "group": ["alpha"], "limit": 0.5})
    path = write_instance(tmp_path, data)
    problems = errors_of(path)
    assert_reported(problems, ["instance.yaml", "suppliers", "supliers.csv", "does not exist"])
    assert len(problems) == 1, "\n".join(map(str, problems))


def test_a_broken_row_does_not_cascade(tmp_path: Path) -> None:
    """A supplier row that fails to parse still counts as known to other tables."""
    data = copy.deepcopy(BASE)
    data["suppliers"][0]["price"] = "cheap"
    data["capacity"] = [{"supplier": "s1", "period": 2026, "gwh": 50}]
    data["countries"][0]["bloc"] = ""          # broken country row CN
    path = write_instance(tmp_path, data)
    problems = errors_of(path)
    assert len(problems) == 2, "\n".join(map(str, problems))


def test_a_broken_price_row_does_not_cascade(tmp_path: Path) -> None:
    """A bad row in 'prices' is not also reported as a supplier without a price."""
    data = copy.deepcopy(BASE)
    del data["suppliers"][1]["price"]
    data["prices"] = [{"supplier": "s2", "period": 2026, "price": 70},
                      {"supplier": "s2", "period": 2027, "price": "seventy"}]
    path = write_instance(tmp_path, data, csv_tables=("prices",))
    problems = errors_of(path)
    assert_reported(problems, ["prices.csv", "row 2", "line 3", "price", "'seventy'"])
    assert len(problems) == 1, "\n".join(map(str, problems))


def test_yaml_booleans_are_not_guessed(tmp_path: Path) -> None:
    """``NO`` (Norway) and ``yes`` stay text: YAML 1.1 would make them booleans."""
    data = copy.deepcopy(BASE)
    data["countries"].append({"id": "NO", "name": "Norway"})
    data["suppliers"][2]["country"] = "NO"
    path = write_instance(tmp_path, data)
    text = path.read_text().replace("'NO'", "NO")
    path.write_text(text)
    inst = optimizer.load_instance(path)
    assert inst.suppliers[2].country == "NO"


@pytest.mark.parametrize("unreadable", ["instance.yaml", "suppliers.csv"])
def test_unreadable_file(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                         monkeypatch: pytest.MonkeyPatch, unreadable: str) -> None:
    """A file without read permission (simulated: the tests may run as root)."""
    import builtins

    path = write_instance(tmp_path, csv_tables=("suppliers",))
    real_open = builtins.open

    def refuse(file, *args, **kwargs):  # type: ignore[no-untyped-def]
        if isinstance(file, str | Path) and Path(file).name == unreadable:
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", refuse)
    problems = errors_of(path)
    assert_reported(problems, [unreadable, "cannot be read", "Permission denied"])
    assert len(problems) == 1, "\n".join(map(str, problems))
    code, output = cli(capsys, "validate", str(path))
    assert code == 2 and "Traceback" not in output


SUBPROCESS_CASES = [
    pytest.param(lambda tmp: tmp / "missing.yaml", "missing.yaml", id="missing"),
    pytest.param(raw_text("format: 1\nname: [unclosed\n"), "instance.yaml", id="syntax"),
    pytest.param(mutated(set_field("suppliers", 2, "price", "nan"), ("suppliers",)),
                 "suppliers.csv", id="csv-nan"),
    pytest.param(mutated(set_field("rules", 1, "kind", "max_shares")), "rules", id="rule-kind"),
]


@pytest.mark.parametrize(("make", "expected"), SUBPROCESS_CASES)
def test_real_process_exits_2_without_traceback(
    tmp_path: Path, make: Callable[[Path], Path], expected: str
) -> None:
    path = make(tmp_path)
    env = {**os.environ, "COLUMNS": "1000"}
    proc = subprocess.run([sys.executable, "-m", "optimizer", "solve", str(path)],
                          capture_output=True, text=True, timeout=120, env=env)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 2, output
    assert "Traceback" not in output
    assert expected in output
