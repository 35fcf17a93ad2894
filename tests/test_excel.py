"""Excel workbooks: reading instances, templates, conversion both ways, results.xlsx.

The round trips are checked against the YAML optimum: an instance converted
to Excel by ``optimizer convert`` (and back to YAML) must give the same plan
cost, and read back as the same tables.
"""

from __future__ import annotations

import datetime
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd
import pytest
import yaml

import optimizer
from benchmarks.generate import generate, write
from optimizer.cli import main
from optimizer.cli.commands.convert import comparable
from optimizer.errors import InputError
from optimizer.input import load_instance
from optimizer.input.schema import TABLES

ROOT = Path(__file__).resolve().parent.parent


def _objective(path: Path) -> tuple[str, float | None]:
    r = optimizer.solve(path, analysis=False)
    return r.status, r.objective


def _round_trip(src: Path, tmp: Path) -> None:
    """YAML -> xlsx -> YAML with the CLI; all three give the same optimum and tables."""
    xlsx, back = tmp / "instance.xlsx", tmp / "back" / "instance.yaml"
    assert main(["convert", str(src), str(xlsx)]) == 0
    assert main(["convert", str(xlsx), str(back)]) == 0
    status, objective = _objective(src)
    for path in (xlsx, back):
        s, obj = _objective(path)
        assert s == status
        if objective is None:
            assert obj is None
        else:
            assert obj == pytest.approx(objective, rel=1e-9, abs=1e-9)
    original = comparable(load_instance(src).to_dict())
    assert comparable(load_instance(xlsx).to_dict()) == original
    assert comparable(load_instance(back).to_dict()) == original


@pytest.mark.parametrize("name", ["north-america", "teaching"])
def test_bundled_instances_round_trip(name: str, tmp_path: Path) -> None:
    _round_trip(ROOT / "instances" / name / "instance.yaml", tmp_path)


def test_teaching_optimum_from_excel(tmp_path: Path) -> None:
    # worked by hand in instances/teaching/instance.yaml: 1722 + 1916 = 3638
    xlsx = tmp_path / "teaching.xlsx"
    assert main(["convert", str(ROOT / "instances/teaching/instance.yaml"), str(xlsx)]) == 0
    assert _objective(xlsx) == ("optimal", pytest.approx(3638.0, rel=1e-9))


def _with_scenarios(inst: dict[str, Any]) -> dict[str, Any]:
    """Scenarios with several factors each, one of them a distribution."""
    periods = inst["periods"]
    company = inst["suppliers"][0]["company"]
    inst["scenarios"] = [
        {"name": "cn-ban", "probability": 0.1, "from": periods[-1],
         "capacity_factor": [{"by": "control", "group": ["CN"], "factor": 0.0},
                             {"by": "company", "group": [company], "factor": 0.5}],
         "price_factor": {"by": "family", "group": ["lithium"], "factor": 1.25}},
        {"name": "markup", "probability": 0.2,
         "price_factor": [{"by": "control", "group": ["CN"], "factor": {"uniform": [1.1, 1.5]}},
                          {"by": "bloc", "group": ["korea", "japan"], "factor": 1.05},
                          {"by": "region", "group": ["asia"], "factor": 1.01}]},
        {"name": "quiet", "probability": 0.05},
    ]
    return inst


@pytest.mark.parametrize("seed,features", [
    (3, frozenset()),
    (5, frozenset({"fixed_cost", "min_order", "count", "tiers"})),
    (8, frozenset({"tiers"})),
])
def test_generated_instances_round_trip(seed: int, features: frozenset[str],
                                        tmp_path: Path) -> None:
    inst = _with_scenarios(generate(seed, suppliers=25, applications=3, periods=3,
                                    features=features))
    src = write(inst, tmp_path / "src")
    loaded = load_instance(src)
    # the round trip covers every table the generator fills
    assert loaded.lanes and loaded.tariffs and loaded.rules and loaded.capacity
    assert loaded.settings.attributes
    assert ("tiers" not in features) or loaded.price_tiers
    assert len(loaded.scenarios) == 3
    _round_trip(src, tmp_path / "out")


def test_scenario_rows_in_the_workbook(tmp_path: Path) -> None:
    """Several factors: one row each, the name repeated, the head only on the first."""
    inst = _with_scenarios(generate(3, suppliers=10, applications=2, periods=2))
    src = write(inst, tmp_path / "src")
    xlsx = tmp_path / "i.xlsx"
    assert main(["convert", str(src), str(xlsx)]) == 0
    ws = openpyxl.load_workbook(xlsx)["scenarios"]
    header = [c.value for c in ws[1]]
    rows = [dict(zip(header, r, strict=True)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert [r["name"] for r in rows] == ["cn-ban", "cn-ban", "markup", "markup", "markup",
                                         "quiet"]
    assert [r["probability"] for r in rows] == [0.1, None, 0.2, None, None, 0.05]
    assert rows[0]["capacity_factor.group"] == "CN" and rows[0]["capacity_factor.factor"] == 0
    assert rows[1]["capacity_factor.factor"] == 0.5 and rows[1]["price_factor.by"] is None
    assert rows[2]["price_factor.factor"] == "uniform(1.1, 1.5)"
    assert rows[3]["price_factor.group"] == "korea;japan"
    sc = load_instance(xlsx).scenarios
    assert [len(s.capacity_factor or []) for s in sc] == [2, 0, 0]
    assert [len(s.price_factor or []) for s in sc] == [1, 3, 0]
    assert sc[1].price_factor is not None and sc[1].price_factor[0].random


# --------------------------------------------------------------------------- planted errors


def test_planted_errors_name_each_cell(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    path = tmp_path / "bad.xlsx"
    assert main(["convert", str(ROOT / "instances/teaching/instance.yaml"), str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    sup = wb["suppliers"]
    header = [c.value for c in sup[1]]
    assert header[:7] == ["id", "company", "country", "control", "chemistry", "capacity",
                          "price"]
    # rows 2-5: catl, catl-hu, lges, peak
    sup["G3"] = "cheap"                                    # text in a number cell
    sup["B4"] = None                                       # a required cell left empty
    sup.cell(row=1, column=len(header) + 1, value="pricee")  # unknown column
    unknown_column = openpyxl.utils.get_column_letter(len(header) + 1)
    sup.append(["catl", "CATL", "CN", None, "lfp", 5, 41])   # duplicate id (row 6)
    sup["F5"] = "=10*4"                                    # formula without a saved result
    wb["demand"]["A3"] = "evv"                             # dangling reference
    wb["countries"]["C3"] = datetime.datetime(2026, 1, 1)  # a date where text belongs
    settings = wb["settings"]
    keys = [c.value for c in settings["A"]]
    settings.cell(row=keys.index("discount_rate") + 1, column=2, value=2)  # bad settings value
    settings.append(["carbon_pric", 3])                    # unknown setting (last row)
    unknown_row = len(keys) + 1
    wb["rules"]["B2"] = "max_shares"                       # bad rule rows
    wb["rules"]["E3"] = 1.5
    wb.create_sheet("Supplier")                            # unknown sheet
    scen = wb["scenarios"]
    scen.append(["ban", 0.1, None, None, "control", "CN", 0])
    scen.append(["ban", 0.3, None, None, "control", "HU", 0])  # continuation with a head
    wb.save(path)
    expected = {
        "suppliers!G3": "price must be a number, got 'cheap'",
        "suppliers!B4": "company is required (the cell is empty)",
        f"suppliers!{unknown_column}1": "unknown column 'pricee' (did you mean 'price'?)",
        "suppliers!A6": "duplicate supplier id 'catl' (first in row 2)",
        "suppliers!F5": "formula whose result was not saved",
        "demand!A3": "unknown application 'evv' (did you mean 'ev'?)",
        "countries!C3": "holds a date",
        "settings!B6": "key 'discount_rate' must be <= 1, got 2",
        f"settings!A{unknown_row}": "unknown setting 'carbon_pric' (did you mean 'carbon_price'?)",
        "rules!B2": "kind must be 'max_share'",
        "rules!E3": "limit must be a share between 0 and 1, got 1.5",
        "Supplier!A1": "unknown sheet 'Supplier' (did you mean 'suppliers'?)",
        "scenarios!B3": "scenario 'ban' starts in row 2",
    }
    with pytest.raises(InputError) as err:
        load_instance(path)
    messages = [str(p) for p in err.value.problems]
    assert len(messages) == len(expected), "\n".join(messages)
    for cell, text in expected.items():
        hits = [m for m in messages if f"bad.xlsx: {cell}: " in m]
        assert len(hits) == 1, (cell, messages)
        assert text in hits[0]
    assert main(["validate", str(path)]) == 2
    assert main(["solve", str(path)]) == 2
    printed = capsys.readouterr().err
    assert "Traceback" not in printed
    for cell in expected:
        assert f"{cell}: " in printed


def _patch_sheet(path: Path, sheet: str, old: str, new: str) -> None:
    """Edit a sheet's XML inside the workbook (what Excel saves, openpyxl cannot write)."""
    sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
    member = f"xl/worksheets/sheet{sheets.index(sheet) + 1}.xml"
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    xml = files[member].decode()
    assert old in xml
    files[member] = xml.replace(old, new).encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


def test_formulas_give_their_saved_results(tmp_path: Path) -> None:
    path = tmp_path / "f.xlsx"
    assert main(["convert", str(ROOT / "instances/teaching/instance.yaml"), str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    wb["suppliers"]["F5"] = "=5*2"   # peak's capacity, 10 GWh as before
    wb.save(path)
    # as Excel saves it: the formula and its result
    _patch_sheet(path, "suppliers", '<c r="F5"><f>5*2</f><v /></c>',
                 '<c r="F5"><f>5*2</f><v>10</v></c>')
    inst = load_instance(path)
    assert inst.suppliers[3].id == "peak" and inst.suppliers[3].capacity == 10
    assert _objective(path) == ("optimal", pytest.approx(3638.0, rel=1e-9))
    # a formula whose result is an error names its cell
    _patch_sheet(path, "suppliers", '<c r="F5"><f>5*2</f><v>10</v></c>',
                 '<c r="F5" t="e"><f>5/0</f><v>#DIV/0!</v></c>')
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}: suppliers!F5: holds the Excel error #DIV/0!"]


def _tiny_workbook(path: Path, **changes: Any) -> Path:
    """A small instance typed into a blank template, the way a person would: ids as
    numbers, periods as one number cell. Two suppliers for 10 GWh in 2026:
    supplier 7 (40 USD/kWh, 6 GWh) and 'b' (50 USD/kWh): 6 x 40 + 4 x 50 = 440."""
    assert main(["template", str(path)]) == 0
    wb = openpyxl.load_workbook(path)
    settings = {"name": "tiny", "periods": 2026}
    settings.update(changes.pop("settings", {}))
    ws = wb["settings"]
    for row in ws.iter_rows(min_row=2):
        if row[0].value in settings:
            row[1].value = settings[row[0].value]
    data = {
        "chemistries": [["lfp", "lithium"]],
        "countries": [["US", "United States", "usmca"], [44, 1234, None]],
        "applications": [["grid", "lfp"]],
        "demand": [["grid", 2026, 10]],
        "suppliers": [[7, "Seven", "US", None, "lfp", 100, 40],
                      ["b", "Bee", 44.0, None, "lfp", 100, 50]],
        "capacity": [[7.0, 2026, 6]],
    }
    data.update(changes)
    for table, rows in data.items():
        for row in rows:
            wb[table].append(row)
    wb.save(path)
    return path


def test_filled_template_solves(tmp_path: Path) -> None:
    path = _tiny_workbook(tmp_path / "tiny.xlsx")
    inst = load_instance(path)
    assert [s.id for s in inst.suppliers] == ["7", "b"]      # ids are text
    assert inst.suppliers[1].country == "44"                # 44.0 stored by Excel
    assert inst.countries[1].name == "1234"                 # free text, typed as a number
    assert inst.capacity[0].supplier == "7"
    assert inst.periods == [2026]
    assert _objective(path) == ("optimal", pytest.approx(440.0, rel=1e-9))


def test_lists_in_settings_and_cells(tmp_path: Path) -> None:
    # 2027 added: the same 10 GWh at the same prices again, capacity 6 only in 2026,
    # so 2027 buys 10 from supplier 7 at 40 (cheaper): 440 + 400 = 840.
    path = _tiny_workbook(
        tmp_path / "t.xlsx", settings={"periods": "2026; 2027"},
        demand=[["grid", 2026, 10], ["grid", 2027, 10]],
        rules=[["cap", "max_share", "supplier", "7;b", 1, "grid", True, "2026;2027"]])
    inst = load_instance(path)
    assert inst.periods == [2026, 2027]
    rule = inst.rules[0]
    assert rule.group == ["7", "b"] and rule.periods == [2026, 2027]
    assert rule.per_application is True
    assert _objective(path) == ("optimal", pytest.approx(840.0, rel=1e-9))


def test_settings_sheet_problems(tmp_path: Path) -> None:
    path = _tiny_workbook(tmp_path / "t.xlsx", settings={"name": None, "periods": "2026;20x7"})
    with pytest.raises(InputError) as err:
        load_instance(path)
    messages = sorted(str(p) for p in err.value.problems)
    assert len(messages) == 2, messages
    assert "settings!B3: key 'name' is required (the cell is empty)" in messages[0]
    assert "settings!B5: key 'periods' must be a whole number" in messages[1]
    # no settings sheet at all: one message naming the rows it needs
    wb = openpyxl.load_workbook(path)
    del wb["settings"]
    wb.save(path)
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}: table 'settings': no row 'format', 'name', 'periods' in the settings sheet "
        "(key | value rows): they are required"]


def test_missing_required_column_is_one_message(tmp_path: Path) -> None:
    path = _tiny_workbook(tmp_path / "t.xlsx")
    wb = openpyxl.load_workbook(path)
    wb["suppliers"].delete_cols(2)  # company
    wb.save(path)
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert [str(p) for p in err.value.problems] == [
        f"{path}: table 'suppliers', row 1: the required column 'company' is missing "
        "(add it to the header row)"]


@pytest.mark.parametrize("content", [
    b"just text, not a workbook",
    b"",
    b"PK\x03\x04garbage",
])
def test_not_a_workbook_is_one_problem(content: bytes, tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert len(err.value.problems) == 1
    assert str(err.value.problems[0]).startswith(f"{path}: ")
    assert "workbook" in str(err.value.problems[0])


def test_zip_that_is_no_workbook(tmp_path: Path) -> None:
    path = tmp_path / "x.xlsx"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(InputError) as err:
        load_instance(path)
    assert len(err.value.problems) == 1
    assert main(["validate", str(path)]) == 2


# --------------------------------------------------------------------------- template


def test_template_headers_notes_and_dropdowns(tmp_path: Path) -> None:
    path = tmp_path / "blank.xlsx"
    assert main(["template", str(path)]) == 0
    assert main(["template", str(path)]) == 2          # exists: not overwritten
    assert main(["template", str(path), "--force"]) == 0
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["settings", *TABLES, "notes"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        headers = [c for c in ws[1] if c.value is not None]
        assert headers
        for cell in headers:
            assert cell.comment is not None, (ws.title, cell.value)
            text = cell.comment.text
            assert "Required." in text or "Optional" in text, (ws.title, cell.value)
    notes = {c.value: c.comment.text for c in wb["suppliers"][1]}
    assert "Unit: USD/kWh." in notes["price"] and "Optional" in notes["price"]
    assert "Required." in notes["company"]
    assert "Unit: GWh" in notes["capacity"]
    settings = [r[0] for r in wb["settings"].iter_rows(min_row=2, values_only=True)]
    assert settings[:3] == ["format", "name", "description"]

    def lists(sheet: str) -> dict[str, str]:
        ws = wb[sheet]
        out = {}
        for dv in ws.data_validations.dataValidation:
            for rng in str(dv.sqref).split():
                col = ws[rng.split(":")[0]].column
                out[ws.cell(row=1, column=col).value] = dv.formula1
        return out

    assert lists("suppliers")["country"] == "countries!$A$2:$A$1048576"
    assert lists("suppliers")["control"] == "countries!$A$2:$A$1048576"
    assert lists("suppliers")["chemistry"] == "chemistries!$A$2:$A$1048576"
    assert lists("demand")["application"] == "applications!$A$2:$A$1048576"
    assert lists("capacity")["supplier"] == "suppliers!$A$2:$A$1048576"
    assert lists("tariffs")["family"] == "chemistries!$B$2:$B$1048576"
    assert lists("lanes") == {"supplier": "suppliers!$A$2:$A$1048576",
                              "application": "applications!$A$2:$A$1048576"}
    assert "max_share" in lists("rules")["kind"]
    # a blank template is refused with messages, not a traceback
    assert main(["validate", str(path)]) == 2


def test_template_wants_xlsx(tmp_path: Path) -> None:
    assert main(["template", str(tmp_path / "blank.yaml")]) == 2


# --------------------------------------------------------------------------- convert


def test_convert_keeps_source_comments(tmp_path: Path) -> None:
    src = ROOT / "instances/north-america/instance.yaml"
    xlsx, back = tmp_path / "na.xlsx", tmp_path / "na" / "instance.yaml"
    assert main(["convert", str(src), str(xlsx)]) == 0
    assert main(["convert", str(xlsx), str(back)]) == 0
    for table in ("capacity", "prices", "suppliers"):
        original = (src.parent / f"{table}.csv").read_text().splitlines()
        again = (back.parent / f"{table}.csv").read_text().splitlines()
        # every comment line again, in front of the same data row
        assert [i for i, line in enumerate(original) if line.startswith("#")] == \
            [i for i, line in enumerate(again) if line.startswith("#")]
        assert [line for line in original if line.startswith("#")] == \
            [line for line in again if line.startswith("#")]
    assert "sodium" in yaml.safe_load(back.read_text())["description"]


def test_convert_refuses_to_overwrite(tmp_path: Path) -> None:
    src = ROOT / "instances/teaching/instance.yaml"
    out = tmp_path / "t.xlsx"
    assert main(["convert", str(src), str(out)]) == 0
    before = out.read_bytes()
    assert main(["convert", str(src), str(out)]) == 2
    assert out.read_bytes() == before
    assert main(["convert", str(src), str(tmp_path / "t.csv")]) == 2
    assert main(["convert", str(out), str(out), "--force"]) == 2   # the input itself
    assert main(["convert", str(src), str(out), "--force"]) == 0


def test_convert_inline_yaml(tmp_path: Path) -> None:
    xlsx, back = tmp_path / "t.xlsx", tmp_path / "t.yaml"
    assert main(["convert", str(ROOT / "instances/teaching/instance.yaml"), str(xlsx)]) == 0
    assert main(["convert", str(xlsx), str(back), "--inline"]) == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.xlsx", "t.yaml"]
    assert isinstance(yaml.safe_load(back.read_text())["suppliers"], list)
    assert _objective(back) == ("optimal", pytest.approx(3638.0, rel=1e-9))


def test_convert_bad_input_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: 1\nname: x\n")
    assert main(["convert", str(bad), str(tmp_path / "o.xlsx")]) == 2
    assert not (tmp_path / "o.xlsx").exists()


# --------------------------------------------------------------------------- results.xlsx


def test_results_workbook(tmp_path: Path) -> None:
    xlsx = tmp_path / "teaching.xlsx"
    out = tmp_path / "out"
    assert main(["convert", str(ROOT / "instances/teaching/instance.yaml"), str(xlsx)]) == 0
    assert main(["solve", str(xlsx), "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out / "results.xlsx")
    for sheet in ("summary", "allocation", "pivot", "shares", "rules", "rule_costs",
                  "concentration"):
        assert sheet in wb.sheetnames
    for ws in wb.worksheets:
        assert ws.freeze_panes is not None and ws.freeze_panes.endswith("2"), ws.title

    def table(sheet: str) -> pd.DataFrame:
        rows = list(wb[sheet].iter_rows(values_only=True))
        return pd.DataFrame(rows[1:], columns=rows[0])

    summary = table("summary").set_index("item")
    assert summary.loc["total cost (discounted)", "value"] == pytest.approx(3638.0)
    assert summary.loc["total cost (discounted)", "unit"] == "USD million"
    # the hand-worked cost of the rules: 3638 - 3204 (all from the cheapest suppliers)
    assert summary.loc["price of the rules", "value"] == pytest.approx(434.0)

    alloc = table("allocation")
    for col in ("gwh (GWh)", "unit_landed_cost (USD/kWh)", "cost (USD million)"):
        assert col in alloc.columns
    csv = pd.read_csv(out / "allocation.csv")
    assert alloc["gwh (GWh)"].sum() == pytest.approx(csv["gwh"].sum())
    assert alloc["gwh (GWh)"].sum() == pytest.approx(62.0)   # 30 + 32 GWh of demand
    ws = wb["allocation"]
    header = [c.value for c in ws[1]]
    assert ws.cell(row=2, column=header.index("gwh (GWh)") + 1).number_format == "#,##0.000"
    assert ws.cell(row=2, column=header.index("cost (USD million)") + 1).number_format \
        == "#,##0.00"
    assert ws.cell(row=2, column=header.index("period") + 1).number_format == "0"
    shares = wb["shares"]
    sh = [c.value for c in shares[1]]
    assert "share (%)" in sh
    assert shares.cell(row=2, column=sh.index("share (%)") + 1).number_format == "0.0%"

    pivot = table("pivot")
    assert wb["pivot"].freeze_panes == "F2"
    body = pivot[pivot["supplier"] != "total"].set_index("supplier")
    sums = csv.groupby(["supplier", "period"])["gwh"].sum()
    for (supplier, period), gwh in sums.items():
        assert body.loc[supplier, f"{period} (GWh)"] == pytest.approx(gwh)
    assert body["total (GWh)"].to_dict() == pytest.approx(
        csv.groupby("supplier")["gwh"].sum().to_dict())
    # teaching: catl 11 + 8, catl-hu 10 + 10, lges 7 + 12, peak 2 + 2 (hand-worked)
    assert body["total (GWh)"].to_dict() == pytest.approx(
        {"catl": 19, "catl-hu": 20, "lges": 19, "peak": 4})
    total = pivot[pivot["supplier"] == "total"].iloc[0]
    assert total["2026 (GWh)"] == pytest.approx(30) and total["2027 (GWh)"] == pytest.approx(32)
    rules = table("rules")
    china = rules[(rules["rule"] == "china-cap") & (rules["period"] == 2026)].iloc[0]
    assert china["binding"]
    assert china["marginal_cost (USD million per unit tightened)"] == pytest.approx(5.4)


def test_no_results_workbook_without_a_plan(tmp_path: Path,
                                            write_instance: Any) -> None:
    from tests.conftest import world

    # 100 GWh needed, a 10% cap on every company but only three companies: infeasible
    path = write_instance(world(rules=[{"name": "tiny-cap", "kind": "max_share",
                                        "by": "company", "limit": 0.1}]))
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out)]) == 1
    assert (out / "summary.json").exists()
    assert not (out / "results.xlsx").exists()


def _cells(wb: openpyxl.Workbook, ref: str) -> list[Any]:
    """The values of a chart reference such as ``'charts'!$B$2:$B$3``."""
    from openpyxl.utils.cell import range_boundaries

    sheet, _, cells = ref.rpartition("!")
    ws = wb[sheet.strip("'")]
    min_col, min_row, max_col, max_row = range_boundaries(cells.replace("$", ""))
    return [ws.cell(row=r, column=c).value for r in range(min_row, max_row + 1)
            for c in range(min_col, max_col + 1)]


def test_results_workbook_charts(tmp_path: Path) -> None:
    from openpyxl.chart import BarChart

    from optimizer.report.xlsx import write_results_xlsx

    result = optimizer.solve(ROOT / "instances/teaching/instance.yaml")
    write_results_xlsx(result, tmp_path / "results.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "results.xlsx")
    assert wb.sheetnames[:2] == ["summary", "charts"]
    ws = wb["charts"]
    mix, costs = ws._charts
    assert isinstance(mix, BarChart) and isinstance(costs, BarChart)

    # the mix: GWh by controlling country per year, stacked (README: 2026 70.0% /
    # 23.3% / 6.7% of 30 GWh, 2027 56.2% / 37.5% / 6.2% of 32 GWh)
    assert (mix.type, mix.grouping, mix.overlap) == ("col", "stacked", 100)
    assert [s.tx.strRef.f for s in mix.series] == ["'charts'!B1", "'charts'!C1", "'charts'!D1"]
    assert [_cells(wb, s.tx.strRef.f)[0] for s in mix.series] == ["CN", "KR", "US"]
    assert [s.val.numRef.f for s in mix.series] == ["'charts'!$B$2:$B$3", "'charts'!$C$2:$C$3",
                                                    "'charts'!$D$2:$D$3"]
    volumes = {_cells(wb, s.tx.strRef.f)[0]: _cells(wb, s.val.numRef.f) for s in mix.series}
    assert volumes == {"CN": pytest.approx([21, 18]), "KR": pytest.approx([7, 12]),
                       "US": pytest.approx([2, 2])}
    categories = {s.cat.numRef.f for s in mix.series}
    assert categories == {"'charts'!$A$2:$A$3"}
    assert _cells(wb, categories.pop()) == [2026, 2027]
    by_period = result.allocation.groupby(["control", "period"])["gwh"].sum()
    for control, gwh in volumes.items():
        assert gwh == pytest.approx([by_period[(control, 2026)], by_period[(control, 2027)]])

    # the cost breakdown: one series of the components, beside their labels
    assert costs.type == "bar"
    (series,) = costs.series
    assert series.val.numRef.f == "'charts'!$G$2:$G$4"
    labels = series.cat.strRef.f if series.cat.strRef is not None else series.cat.numRef.f
    assert labels == "'charts'!$F$2:$F$4"
    assert _cells(wb, labels) == ["ex-works price", "tariffs", "freight"]
    assert _cells(wb, series.val.numRef.f) == pytest.approx([3390.0, 190.0, 58.0])
    assert sum(_cells(wb, series.val.numRef.f)) == pytest.approx(result.objective)
    # the charts sit below the tables, side by side
    assert mix.anchor._from.row == costs.anchor._from.row == 5
    assert (mix.anchor._from.col, costs.anchor._from.col) == (0, 10)
    assert ws.freeze_panes == "A2"
    assert ws["G2"].number_format == "#,##0.00" and ws["B2"].number_format == "#,##0.000"
