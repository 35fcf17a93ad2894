"""docs/outputs.md documents every column of every CSV the commands write, with
its unit: each command is run on small instances that exercise every
optional table and column, and each header it writes must be in the document."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest

from optimizer.analysis.repair import RowInfo, _repair_item
from optimizer.cli import main
from tests.conftest import supplier, world

DOC = Path(__file__).resolve().parents[1] / "docs" / "outputs.md"
COMMANDS = ("solve", "stress", "robust", "frontier", "alternatives")


def documented() -> dict[tuple[str, str], dict[str, str]]:
    """(command, file) -> {column (a pattern when it holds <id>): unit}, read
    from the document's sections ``## command[, command]: `file`[, `file`]``
    and their tables ``| `column` | unit | meaning |``."""
    out: dict[tuple[str, str], dict[str, str]] = {}
    keys: list[tuple[str, str]] = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("## "):
            commands, _, files = line[3:].partition(":")
            names = [c.strip() for c in commands.split(",")]
            assert set(names) <= set(COMMANDS), line
            keys = [(c, f) for c in names for f in re.findall(r"`([^`]+)`", files)]
            assert keys, line
            for key in keys:
                assert key not in out, f"{key} documented twice"
                out[key] = {}
        elif line.startswith("| `") and keys:
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            column = cells[0].strip("`")
            for key in keys:
                assert column not in out[key], f"{column} twice in {key}"
                out[key][column] = cells[1]
    return out


def undocumented(command: str, name: str, columns: list[str]) -> list[str]:
    """The columns of ``name`` (written by ``command``) that docs/outputs.md lacks."""
    doc = documented().get((command, name))
    if doc is None:
        return [f"(the whole file {name})"]
    patterns = [re.compile(re.escape(c).replace(re.escape("<id>"), ".+") + "$") for c in doc]
    return [c for c in columns if not any(p.match(c) for p in patterns)]


def header_of(path: Path) -> list[str]:
    with open(path, encoding="utf-8", newline="") as f:
        return next(csv.reader(f))


def check_folder(command: str, out: Path) -> set[str]:
    """Every CSV in ``out`` has only documented columns; the files seen."""
    seen = set()
    for path in sorted(out.glob("*.csv")):
        assert undocumented(command, path.name, header_of(path)) == [], (command, path.name)
        seen.add(path.name)
    return seen


def rich_world() -> dict[str, Any]:
    """Two years, an unmet penalty, falling price tiers (binaries), a soft
    rule, an exclusion, an HHI cap and two scenarios: every optional column."""
    inst = world(
        periods=[2026, 2027],
        applications=[{"id": "grid", "chemistries": ["lfp", "naion"], "unmet_penalty": 500},
                      {"id": "defense", "chemistries": ["lfp"]}],
        demand=[{"application": "grid", "period": 2026, "gwh": 100},
                {"application": "grid", "period": 2027, "gwh": 100},
                {"application": "defense", "period": 2027, "gwh": 5}],
        price_tiers=[{"supplier": "kr1", "from_gwh": 0, "price": 60},
                     {"supplier": "kr1", "from_gwh": 20, "price": 45}],
        rules=[{"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
                "limit": 0.6},
               {"name": "alt-floor", "kind": "min_share", "by": "family", "group": ["sodium"],
                "limit": 0.1, "penalty": 5},
               {"name": "defense-feoc", "kind": "exclude", "by": "control", "group": ["CN"],
                "applications": ["defense"]},
               {"name": "spread", "kind": "max_hhi", "by": "company", "limit": 0.6}],
        scenarios=[{"name": "cn-ban", "probability": 0.1,
                    "capacity_factor": {"by": "control", "group": ["CN"], "factor": 0.0}},
                   {"name": "markup", "probability": 0.2,
                    "price_factor": {"by": "control", "group": ["CN"], "factor": 1.3}}],
        # upstream tables: materials.csv and the concentration by origin
        materials=[{"id": "graphite"}],
        stages=["active_material"],
        content=[{"chemistry": "lfp", "material": "graphite", "kg_per_kwh": 1.0}],
        origins=[{"supplier": s, "material": "graphite", "stage": "active_material",
                  "country": c, "share": 1.0} for s, c in (("cn1", "CN"), ("kr1", "KR"))],
    )
    return inst


def test_every_column_written_is_documented(write_instance, tmp_path):
    path = str(write_instance(rich_world()))
    seen: dict[str, set[str]] = {}

    out = tmp_path / "solve"
    assert main(["solve", path, "--out", str(out)]) == 0
    seen["solve"] = check_folder("solve", out)
    assert {"miss", "penalty_cost", "excluded_lanes", "total_cost"} \
        <= set(header_of(out / "rules.csv"))

    out = tmp_path / "stress"
    assert main(["stress", path, "--n-1", "company", "--out", str(out)]) == 0
    seen["stress"] = check_folder("stress", out)

    out = tmp_path / "robust"
    assert main(["robust", path, "--cvar-weight", "0.5", "--out", str(out)]) == 0
    seen["robust"] = check_folder("robust", out)

    out = tmp_path / "frontier"
    assert main(["frontier", path, "--rule", "china-cap", "--values", "0.8,0.6",
                 "--rule", "alt-floor", "--values", "0.05,0.1", "--out", str(out)]) == 0
    seen["frontier"] = check_folder("frontier", out)
    assert {"rule_2", "limit_2", "marginal_cost_2", "mip_gap", "share_control_CN"} \
        <= set(header_of(out / "frontier.csv"))

    # building supply: expansions.csv, contracts.csv, max_change rows in rules.csv
    inst = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)],
                 expansions=[{"supplier": "us1", "step_gwh": 20, "cost": 10}],
                 contracts=[{"name": "kr", "supplier": "kr1", "min_gwh": 5, "discount": 0.05,
                             "take_or_pay": True}],
                 rules=[{"name": "ramp", "kind": "max_change", "by": "control", "limit": 50}],
                 scenarios=[{"name": "cn-ban", "probability": 0.1,
                             "capacity_factor": {"by": "control", "group": ["CN"],
                                                 "factor": 0.0}}])
    building = str(write_instance(inst, "building.yaml"))
    out = tmp_path / "building"
    assert main(["solve", building, "--out", str(out)]) == 0
    found = check_folder("solve", out)
    assert {"expansions.csv", "contracts.csv"} <= found
    assert "direction" in header_of(out / "rules.csv")
    seen["solve"] |= found
    out = tmp_path / "building-robust"
    assert main(["robust", building, "--no-evpi", "--out", str(out)]) == 0
    found = check_folder("robust", out)
    assert {"expansions.csv", "contracts.csv"} <= found
    seen["robust"] |= found

    # a buffer stock: stock.csv, survival.csv (stress and robust)
    stocked = dict(inst)
    stocked["stock"] = [{"application": "grid", "max_gwh": 20, "holding_cost": 1}]
    stocked_path = str(write_instance(stocked, "stocked.yaml"))
    out = tmp_path / "stock-solve"
    assert main(["solve", stocked_path, "--out", str(out)]) == 0
    seen["solve"] |= check_folder("solve", out)
    out = tmp_path / "stock-stress"
    assert main(["stress", stocked_path, "--out", str(out)]) == 0
    assert "survival.csv" in check_folder("stress", out)
    seen["stress"] |= {"survival.csv"}
    out = tmp_path / "stock-robust"
    assert main(["robust", stocked_path, "--no-evpi", "--out", str(out)]) == 0
    found = check_folder("robust", out)
    assert {"stock.csv", "survival.csv"} <= found
    seen["robust"] |= found

    # the adaptive plan: tree.csv, adaptive.csv
    tree = world(periods=[2026, 2027],
                 demand=[{"application": "grid", "period": t, "gwh": 100} for t in (2026, 2027)],
                 scenarios=[{"name": "cn-ban", "probability": 0.1, "from": 2027,
                             "capacity_factor": {"by": "control", "group": ["CN"],
                                                 "factor": 0.0}}])
    out = tmp_path / "adaptive"
    assert main(["robust", str(write_instance(tree, "tree.yaml")), "--no-evpi", "--adaptive",
                 "--lag", "0", "--out", str(out)]) == 0
    found = check_folder("robust", out)
    assert {"tree.csv", "adaptive.csv"} <= found
    seen["robust"] |= found

    out = tmp_path / "alternatives"
    assert main(["alternatives", path, "--count", "2", "--out", str(out)]) == 0
    seen["alternatives"] = check_folder("alternatives", out)

    # infeasible: rule repairs, then demand repairs
    cap = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
           "limit": 0.25}
    inst = world(rules=[cap])
    supplier(inst, "kr1")["capacity"] = 60
    supplier(inst, "us1")["capacity"] = 10
    out = tmp_path / "rule-repair"
    assert main(["solve", str(write_instance(inst)), "--out", str(out)]) == 1
    seen["solve"] |= check_folder("solve", out)
    inst = world(applications=[{"id": "grid", "chemistries": ["lfp", "naion"]},
                               {"id": "defense", "chemistries": ["lfp"]}],
                 demand=[{"application": "grid", "period": 2026, "gwh": 50},
                         {"application": "defense", "period": 2026, "gwh": 5}],
                 rules=[{"name": "defense-feoc", "kind": "exclude", "by": "control",
                         "group": ["CN"], "applications": ["defense"]}])
    supplier(inst, "kr1")["capacity"] = 3
    out = tmp_path / "demand-repair"
    assert main(["solve", str(write_instance(inst)), "--out", str(out)]) == 1
    assert "repairs.csv" in check_folder("solve", out)

    # every file of the document was written by some run above
    # (the robust plans' files share their section with stress's allocation.csv)
    robust_only = {("stress", "allocation_deterministic.csv"),
                   ("stress", "allocation_expected_cost.csv")}
    assert {(c, f) for c, files in seen.items() for f in files} == set(documented()) - robust_only


def test_every_repair_field_is_documented():
    # a capacity repair is rare in a solve (capacity is the last thing to move): its
    # fields, and those of the other repairs, are checked here one by one
    capacity = RowInfo("capacity", 0, 1000.0, supplier="kr1", period=2026, limit=60.0)
    demand = RowInfo("demand", 0, 100.0, application="grid", period=2026, limit=100.0)
    fields = set(_repair_item(capacity, 100.0, 40.0)) | set(_repair_item(demand, 70.0, 30.0))
    assert undocumented("solve", "repairs.csv", sorted(fields)) == []
    assert _repair_item(capacity, 100.0, 40.0)["message"] == \
        "kr1 would need 40 GWh more capacity in 2026 (100 GWh instead of 60 GWh)"


def test_every_documented_column_has_a_unit():
    doc = documented()
    assert len(doc) >= 14
    for key, columns in doc.items():
        assert columns, key
        for column, unit in columns.items():
            assert unit, (key, column)


@pytest.mark.parametrize(("command", "name", "columns", "missing"), [
    ("solve", "shares.csv", ["period", "by", "group", "gwh", "share"], []),
    ("solve", "shares.csv", ["period", "gwh_per_capita"], ["gwh_per_capita"]),
    ("frontier", "frontier.csv", ["share_control_CN", "share_family_zinc", "share_bloc_eu"],
     ["share_bloc_eu"]),
    ("solve", "new.csv", ["a"], ["(the whole file new.csv)"]),
])
def test_the_check_finds_undocumented_columns(command, name, columns, missing):
    assert undocumented(command, name, columns) == missing


def test_every_csv_file_the_code_names_is_documented():
    # a new CSV only some instances produce would escape the runs above: every
    # file name the writers pass to OutputDir.csv must have a section
    package = Path(__file__).resolve().parents[1] / "optimizer"
    named = {m for path in package.rglob("*.py")
             for m in re.findall(r"\.csv\(\s*\"([^\"]+\.csv)\"", path.read_text(encoding="utf-8"))}
    assert {"allocation.csv", "rules.csv", "frontier.csv", "n_minus_1.csv"} <= named
    files = {f for _, f in documented()}
    assert named - files == set()
