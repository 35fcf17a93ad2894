"""Hostile input: every file is read bounded and refused clearly (exit 2, the
file named, no traceback), nothing hangs, nothing outside the instance's
folder is read or echoed, and no text reaches a screen as a control sequence.
"""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path

import openpyxl
import pytest
import yaml

import optimizer
from optimizer.cli import main
from optimizer.errors import InputError
from optimizer.input.limits import limits, set_limits
from tests.conftest import world

ROOT = Path(__file__).resolve().parents[1]


def run(args: list[str], capsys) -> tuple[int, str]:
    code = main(args)
    out = capsys.readouterr()
    text = out.out + out.err
    assert "Traceback" not in text
    return code, " ".join(text.split())


@pytest.fixture(autouse=True)
def default_limits():
    before = set_limits()
    yield
    set_limits(**before.__dict__)


def test_a_yaml_alias_bomb_is_refused_at_once(tmp_path, capsys):
    # nine lists of nine aliases to the level below: 9^9 = 387 million values expanded
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    path = tmp_path / "bomb.yaml"
    path.write_text("format: 1\nname: bomb\n" + "\n".join(lines) + "\n")
    code, text = run(["validate", str(path)], capsys)
    assert code == 2
    assert "bomb.yaml: not valid YAML for an instance: its aliases (*name) expand to more " \
           "than 2,000,000 values (490,329,068)" in text


def test_a_few_aliases_are_fine(tmp_path):
    # anchors and aliases for repeated lists are ordinary YAML
    inst = yaml.safe_dump(world())
    inst = inst.replace("chemistries:\n  - lfp\n  - naion", "chemistries: &both [lfp, naion]")
    assert "&both" in inst
    path = tmp_path / "i.yaml"
    path.write_text(inst)
    assert optimizer.solve(path).objective == pytest.approx(4000)


@pytest.mark.parametrize("where", ["yaml", "csv"])
def test_a_number_with_thousands_of_digits_is_bad_input(where, tmp_path, capsys):
    inst = world()
    if where == "yaml":
        text = yaml.safe_dump(inst).replace("gwh: 100", "gwh: " + "9" * 5000)
        assert "9" * 5000 in text
    else:
        (tmp_path / "demand.csv").write_text("application,period,gwh\ngrid,2026," + "9" * 5000
                                             + "\n")
        inst["demand"] = "demand.csv"
        text = yaml.safe_dump(inst)
    path = tmp_path / "i.yaml"
    path.write_text(text)
    code, out = run(["solve", str(path)], capsys)
    assert code == 2
    assert "a number written with 5,000 characters: too long to be a quantity of this " \
           "model" in out


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
def test_a_pipe_or_a_device_is_never_opened(tmp_path, capsys):
    inst = world()
    os.mkfifo(tmp_path / "suppliers.csv")  # opening it would wait forever for a writer
    inst["suppliers"] = "suppliers.csv"
    os.symlink("/dev/zero", tmp_path / "capacity.csv")  # endless
    inst["capacity"] = "capacity.csv"
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["validate", str(path)], capsys)
    assert code == 2
    assert "suppliers.csv: table 'suppliers': is not a regular file (a device, a pipe or a " \
           "socket): only ordinary files are read" in out
    # a link to a device leads outside the folder; read anyway, it is still no file
    assert "the table path 'capacity.csv' leads outside the instance's folder" in out
    code, out = run(["--allow-outside-tables", "validate", str(path)], capsys)
    assert code == 2 and "capacity.csv: table 'capacity': is not a regular file" in out
    # an instance that is itself a link to a device
    os.symlink("/dev/zero", tmp_path / "zero.yaml")
    code, out = run(["solve", str(tmp_path / "zero.yaml")], capsys)
    assert code == 2 and "zero.yaml: is not a regular file" in out


def test_table_paths_stay_inside_the_instance_folder(tmp_path, capsys):
    secret = tmp_path / "secret.csv"
    secret.write_text("root:x:0:0:the first line of a file outside\n")
    folder = tmp_path / "instance"
    folder.mkdir()
    (folder / "inside").mkdir()
    os.symlink(secret, folder / "inside" / "link.csv")  # inside by name, outside in fact
    inst = world(demand="../secret.csv")
    inst["capacity"] = "inside/link.csv"
    path = folder / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["validate", str(path)], capsys)
    assert code == 2
    assert "table 'demand', line" in out and "the table path '../secret.csv' leads outside " \
           "the instance's folder" in out
    assert "the table path 'inside/link.csv' leads outside" in out
    assert "root:x" not in out and "first line" not in out  # nothing of the file is shown
    # the explicit option reads them (and then says what is wrong with their content)
    code, out = run(["--allow-outside-tables", "validate", str(path)], capsys)
    assert code == 2 and "leads outside" not in out


def test_files_above_the_size_limit_are_refused_and_the_limit_can_be_raised(tmp_path, capsys):
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(world()) + "# " + "x" * 20_000 + "\n")
    code, out = run(["--max-file-mb", "0.01", "validate", str(path)], capsys)
    assert code == 2
    assert re.search(r"i\.yaml: is 0\.0 MB, larger than the limit of 0\.0 MB per file "
                     r"\(optimizer --max-file-mb N raises it\)", out)
    set_limits(max_file_mb=256.0)
    code, out = run(["validate", str(path)], capsys)
    assert code == 0


def _workbook(tmp_path: Path) -> Path:
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(world(demand=[
        {"application": "grid", "period": 2026, "gwh": 10},
        {"application": "grid", "period": 2027, "gwh": 20},
        {"application": "grid", "period": 2028, "gwh": 30},
        {"application": "grid", "period": 2029, "gwh": 40}], periods=[2026, 2027, 2028, 2029])))
    xlsx = tmp_path / "i.xlsx"
    assert main(["convert", str(path), str(xlsx)]) == 0
    return xlsx


def _rewrite(path: Path, edit) -> None:
    with zipfile.ZipFile(path) as z:
        files = {n: z.read(n) for n in z.namelist()}
    edit(files)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in files.items():
            z.writestr(name, data)


def _demand_member(path: Path) -> str:
    sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
    return f"xl/worksheets/sheet{sheets.index('demand') + 1}.xml"


def test_a_workbook_whose_dimension_hides_rows_is_read_whole(tmp_path, capsys):
    xlsx = _workbook(tmp_path)
    member = _demand_member(xlsx)

    def lie(files):
        xml = files[member].decode()
        files[member] = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:C2"/>',
                               xml).encode()

    _rewrite(xlsx, lie)
    inst = optimizer.load_instance(xlsx)
    assert sorted(d.gwh for d in inst.demand) == [10, 20, 30, 40]  # all four rows, not one


def test_a_workbook_claiming_a_million_rows_reads_quickly(tmp_path, capsys):
    xlsx = _workbook(tmp_path)
    member = _demand_member(xlsx)

    def huge(files):
        xml = files[member].decode()
        files[member] = re.sub(r'<dimension ref="[^"]*"/>', '<dimension ref="A1:XFD1048576"/>',
                               xml).encode()

    _rewrite(xlsx, huge)
    inst = optimizer.load_instance(xlsx)  # read as the rows are, not as claimed
    assert len(inst.demand) == 4


def test_a_workbook_that_unzips_to_too_much_is_refused(tmp_path, capsys):
    xlsx = _workbook(tmp_path)

    def bomb(files):  # 200 MB of blanks in the shared strings: a few hundred kB zipped
        files["xl/sharedStrings.xml"] = b" " * (200 * 2**20)

    _rewrite(xlsx, bomb)
    assert xlsx.stat().st_size < 2 * 2**20
    set_limits(max_unzipped_mb=100.0)
    code, out = run(["validate", str(xlsx)], capsys)
    assert code == 2
    assert "i.xlsx: would unzip to 200 MB, more than the limit of 100 MB" in out
    assert limits().max_unzipped_mb == 100.0


def test_control_characters_in_ids_and_names_are_refused(tmp_path, capsys):
    inst = world(name="three \x1b[2J suppliers")
    inst["suppliers"][1]["company"] = "LG\x1b[31mES"
    (tmp_path / "demand.csv").write_text('application,period,gwh\n"grid\nforged",2026,1\n')
    inst["demand"] = "demand.csv"
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["validate", str(path)], capsys)
    assert code == 2
    assert "key 'name' contains the control character U+001B" in out
    assert "table 'suppliers', row 2 (line" in out and "field 'company': contains the " \
           "control character U+001B" in out
    assert "demand.csv: table 'demand', row 1" in out and "contains the control character " \
           "U+000A" in out
    assert "\x1b" not in out


def test_rich_markup_in_a_name_is_shown_as_written(tmp_path, capsys):
    inst = world()
    inst["suppliers"][1]["company"] = "[/]LGES [bold]x[/bold]"
    inst["rules"] = [{"name": "cap", "kind": "max_share", "by": "company",
                      "group": ["[/]LGES [bold]x[/bold]"], "limit": 0.5}]
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["solve", str(path), "--all-rules"], capsys)
    assert code == 0
    assert "[/]LGES [bold]x[/bold]" in out  # shown as written, not read as markup


def test_thousands_of_problems_are_listed_up_to_a_hundred(tmp_path, capsys):
    rows = "\n".join("grid,2026,1" for _ in range(5000))
    (tmp_path / "demand.csv").write_text("application,period,gwh\n" + rows + "\n")
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(world(demand="demand.csv")))
    code, out = run(["validate", str(path)], capsys)
    assert code == 2
    assert out.count(" - ") <= 101
    assert "... and 4,8" in out and "more (the first 100 are listed" in out
    with pytest.raises(InputError) as caught:
        optimizer.load_instance(path)
    assert len(str(caught.value).splitlines()) <= 102


def test_an_absurd_scenario_factor_is_bad_input(tmp_path, capsys):
    inst = world(scenarios=[{"name": "huge", "probability": 0.5,
                             "price_factor": {"by": "company", "group": ["CATL"],
                                              "factor": 1.0e308}}])
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["stress", str(path)], capsys)
    assert code == 2
    assert "factor must be at most 1000" in out and "got 1e+308" in out


def test_an_output_folder_that_cannot_be_made_is_bad_usage(tmp_path, capsys):
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(world()))
    code, out = run(["solve", str(path), "--out", "/proc/nope/x"], capsys)
    assert code == 2
    assert "error: No such file or directory (/proc/nope" in out


def test_a_sample_too_large_is_refused_before_any_work(tmp_path, capsys):
    inst = world(scenarios=[{"name": "cut", "probability": 0.5,
                             "capacity_factor": {"by": "company", "group": ["CATL"],
                                                 "factor": {"uniform": [0, 1]}}}])
    path = tmp_path / "i.yaml"
    path.write_text(yaml.safe_dump(inst))
    code, out = run(["stress", str(path), "--sample", "100000000"], capsys)
    assert code == 2
    assert "--sample must be at most 100,000" in out and "got 100,000,000" in out
