"""Results are written atomically: a run that fails or is interrupted while
writing leaves the previous results in --out exactly as they were, and no
staging directory behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from optimizer.cli import main
from optimizer.cli.common import EXIT_INPUT
from optimizer.report import files as output
from tests.conftest import world

CAP30 = {"name": "china-cap", "kind": "max_share", "by": "control", "group": ["CN"],
         "limit": 0.3}
CAP50 = dict(CAP30, limit=0.5)


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes()
            for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture
def old_results(write_instance, tmp_path):
    """--out holding the results of a first run (objective 4700) and an instance
    whose results differ (cap 50%: objective 4500)."""
    out = tmp_path / "out"
    assert main(["solve", str(write_instance(world(rules=[CAP30]))), "--out", str(out),
                 "--no-analysis"]) == 0
    before = snapshot(out)
    assert json.loads(before["summary.json"])["objective"] == pytest.approx(4700)
    return out, before, write_instance(world(rules=[CAP50]))


def no_staging(out: Path) -> bool:
    """No staging folder left, inside ``out`` (convert's) or beside it (results')."""
    inside = [p for p in out.iterdir() if p.name.startswith(".staging")] if out.is_dir() else []
    beside = list(out.parent.glob(f".{out.name}.staging-*"))
    return not inside and not beside


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_failure_while_writing_keeps_old_results(old_results, monkeypatch, error):
    out, before, second = old_results
    real_csv = output.OutputDir.csv
    calls = {"n": 0}

    def failing_csv(self, name, df):
        calls["n"] += 1
        if calls["n"] == 2:  # summary.json and allocation.csv are staged, then it fails
            raise error
        real_csv(self, name, df)

    monkeypatch.setattr(output.OutputDir, "csv", failing_csv)
    code = main(["solve", str(second), "--out", str(out), "--no-analysis"])
    # an OS error while writing is the folder's fault, not a bug: exit 2
    assert code == (130 if isinstance(error, KeyboardInterrupt) else EXIT_INPUT)
    assert calls["n"] == 2
    assert snapshot(out) == before
    assert no_staging(out)


def test_failure_while_swapping_keeps_old_results(old_results, monkeypatch):
    out, before, second = old_results

    def failing(a, b):
        raise OSError(5, "Input/output error", str(b))

    monkeypatch.setattr(output, "_exchange", failing)
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == EXIT_INPUT
    assert snapshot(out) == before
    assert no_staging(out)


def test_successful_run_replaces_results(old_results):
    out, _, second = old_results
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == 0
    after = snapshot(out)
    assert json.loads(after["summary.json"])["objective"] == pytest.approx(4500)
    assert set(after) >= {"summary.json", "allocation.csv", "rules.csv"}
    assert no_staging(out)


def test_no_file_of_an_older_run_survives(old_results, write_instance):
    # the first run had a plan (rules.csv, shares.csv, results.xlsx ...); an infeasible
    # instance into the same folder leaves only its own files
    out, before, _ = old_results
    assert {"rules.csv", "shares.csv", "results.xlsx"} <= set(before)
    infeasible = write_instance(world(rules=[dict(CAP30, name="no-cn", limit=0.0),
                                             {"name": "only-cn", "kind": "min_share",
                                              "by": "control", "group": ["CN"],
                                              "limit": 0.5}]))
    assert main(["solve", str(infeasible), "--out", str(out)]) == 1
    after = set(snapshot(out))
    assert after == {"summary.json", "allocation.csv", "repairs.csv", "report.html",
                     output.MARKER}
    assert no_staging(out)


KILL_AT = {
    # every file written, the folders not yet swapped: --out still holds the old run
    "before the swap": ("_exchange", "before"),
    # swapped, the old run not yet deleted: --out holds the new run
    "after the swap": ("discard", "before"),
}


@pytest.mark.parametrize("moment", list(KILL_AT))
def test_a_run_killed_at_any_moment_leaves_one_whole_run(old_results, moment):
    out, before, second = old_results
    name, _ = KILL_AT[moment]
    code = (
        "import os, signal, sys\n"
        "import optimizer.report.files as files\n"
        f"real = files.{'_exchange' if name == '_exchange' else 'OutputDir.discard'}\n"
        "def kill(*args, **kw):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        + ("files._exchange = kill\n" if name == "_exchange" else
           "def discard(self):\n"
           "    if self.names:\n"
           "        os.kill(os.getpid(), signal.SIGKILL)\n"
           "    real(self)\n"
           "files.OutputDir.discard = discard\n")
        + "from optimizer.cli import main\n"
        f"sys.exit(main(['solve', {str(second)!r}, '--out', {str(out)!r}, '--no-analysis']))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, timeout=300)
    assert proc.returncode == -9  # killed
    after = snapshot(out)
    objective = json.loads(after["summary.json"])["objective"]
    if moment == "before the swap":
        assert after == before and objective == pytest.approx(4700)
    else:
        assert objective == pytest.approx(4500)
        assert json.loads(after[output.MARKER])["files"] == sorted(
            n for n in after if n != output.MARKER)
    assert not no_staging(out)  # the dead run's staging folder is still there ...
    # ... until the next run into the same folder, which cleans it up
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == 0
    assert no_staging(out)
    assert json.loads(snapshot(out)["summary.json"])["objective"] == pytest.approx(4500)


def test_a_folder_with_files_the_tool_did_not_write_is_refused(write_instance, tmp_path,
                                                               capsys):
    # --out . in the instance's own folder: its tables are named like outputs
    folder = tmp_path / "inst"
    folder.mkdir()
    (folder / "rules.csv").write_text("name,kind,by,group,limit\n")
    (folder / "usage.csv").write_text("not ours\n")
    inst = world()
    path = folder / "instance.yaml"
    path.write_text(yaml.safe_dump(inst))
    before = snapshot(folder)
    assert main(["solve", str(path), "--out", str(folder)]) == EXIT_INPUT
    out = " ".join(capsys.readouterr().err.split())
    assert "holds files that would be replaced or deleted (instance.yaml, rules.csv, " \
           "usage.csv); it was not written by this tool" in out
    assert snapshot(folder) == before
    assert no_staging(folder)
    # a user's folder named like an output inside a results folder is not deleted
    out_dir = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out_dir), "--no-analysis"]) == 0
    (out_dir / "report.html").unlink()
    (out_dir / "report.html").mkdir()
    (out_dir / "report.html" / "mine.txt").write_text("keep me")
    assert main(["solve", str(path), "--out", str(out_dir), "--no-analysis"]) == EXIT_INPUT
    assert (out_dir / "report.html" / "mine.txt").read_text() == "keep me"
    # an empty folder is fine
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["solve", str(path), "--out", str(empty), "--no-analysis"]) == 0


def test_text_that_a_spreadsheet_would_run_is_written_inert(write_instance, tmp_path):
    import openpyxl
    import pandas as pd

    inst = world()
    inst["suppliers"][0]["company"] = '=HYPERLINK("http://x.example","click")'
    inst["suppliers"][1]["company"] = "+SUM(1,2)"
    inst["suppliers"][2]["company"] = "@cmd"
    inst["rules"] = [CAP30]
    path = write_instance(inst)
    out = tmp_path / "out"
    assert main(["solve", str(path), "--out", str(out), "--xlsx"]) == 0
    allocation = pd.read_csv(out / "allocation.csv")
    assert set(allocation["company"]) == {"'=HYPERLINK(\"http://x.example\",\"click\")",
                                          "'+SUM(1,2)"}
    wb = openpyxl.load_workbook(out / "results.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c for c in cells if c.data_type == "f"]  # no formula anywhere
    assert any(c.value == '=HYPERLINK("http://x.example","click")' for c in cells)
    # the plan written this way is read back as it was: the checker finds it valid
    assert main(["check", str(path), str(out / "allocation.csv")]) == 0


# --------------------------------------------------------------------------- convert, template

TEACHING = Path(__file__).resolve().parent.parent / "instances" / "teaching" / "instance.yaml"


@pytest.fixture
def staged(monkeypatch):
    """Every file staged through OutputDir, as (directory, name)."""
    seen: list[tuple[Path, str]] = []
    real_write = output.OutputDir.write

    def spy(self, name, writer):
        seen.append((self.target, name))
        real_write(self, name, writer)

    monkeypatch.setattr(output.OutputDir, "write", spy)
    return seen


def test_template_and_convert_write_through_output_dir(tmp_path, staged):
    assert main(["template", str(tmp_path / "blank.xlsx")]) == 0
    assert staged == [(tmp_path, "blank.xlsx")]
    staged.clear()
    # YAML with its big tables beside it: the teaching example has suppliers, demand and
    # tariffs
    assert main(["convert", str(TEACHING), str(tmp_path / "yaml" / "teaching.yaml")]) == 0
    written = sorted(p.name for p in (tmp_path / "yaml").iterdir())
    assert written == ["demand.csv", "suppliers.csv", "tariffs.csv", "teaching.yaml"]
    assert sorted(staged) == [(tmp_path / "yaml", name) for name in written]
    assert no_staging(tmp_path) and no_staging(tmp_path / "yaml")


@pytest.mark.parametrize("error", [OSError("No space left on device"), KeyboardInterrupt()])
def test_convert_failure_keeps_old_files(tmp_path, monkeypatch, error):
    """A convert --force that fails while its files are moved into place puts
    back the files it replaced: the YAML file and its CSV tables stay together."""
    out = tmp_path / "out"
    assert main(["convert", str(TEACHING), str(out / "plan.yaml")]) == 0
    before = snapshot(out)
    assert sorted(before) == ["demand.csv", "plan.yaml", "suppliers.csv", "tariffs.csv"]
    other = tmp_path / "other.yaml"
    other.write_text(TEACHING.read_text().replace("Teaching example", "Another example"))
    real_replace = os.replace
    moved = {"n": 0}

    def failing_replace(src, dst):
        if Path(src).parent.name.startswith(".staging"):
            moved["n"] += 1
            if moved["n"] == 2:  # one new file is in place, the second fails
                raise error
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", failing_replace)
    code = main(["convert", str(other), str(out / "plan.yaml"), "--force"])
    assert code == (130 if isinstance(error, KeyboardInterrupt) else EXIT_INPUT)
    assert moved["n"] == 2
    assert snapshot(out) == before
    assert no_staging(out)


def test_write_files_one_directory(tmp_path):
    def text(content):
        return lambda path: path.write_text(content)

    (tmp_path / "a.txt").write_text("old")
    written = output.write_files({tmp_path / "a.txt": text("new a"),
                                  tmp_path / "b.txt": text("new b")})
    assert written == [tmp_path / "a.txt", tmp_path / "b.txt"]
    assert snapshot(tmp_path) == {"a.txt": b"new a", "b.txt": b"new b"}
    with pytest.raises(ValueError, match="2 directories"):
        output.write_files({tmp_path / "a.txt": text("x"), tmp_path / "sub" / "c.txt": text("y")})
    # a writer that fails leaves the old files, and nothing staged
    def failing(path):
        path.write_text("half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        output.write_files({tmp_path / "b.txt": text("newer b"), tmp_path / "a.txt": failing})
    assert snapshot(tmp_path) == {"a.txt": b"new a", "b.txt": b"new b"}
    assert no_staging(tmp_path)
    assert output.write_files({}) == []


def test_convert_never_writes_over_the_instance_it_reads(tmp_path, capsys):
    src = tmp_path / "src"
    assert main(["convert", str(TEACHING), str(src / "teaching.yaml")]) == 0
    before = snapshot(src)
    # into its own folder under another name: its CSV tables would be rewritten
    code = main(["convert", str(src / "teaching.yaml"), str(src / "copy.yaml"), "--force"])
    assert code == EXIT_INPUT
    err = " ".join(capsys.readouterr().err.split())
    assert "would overwrite the input instance's own files" in err and "demand.csv" in err
    assert snapshot(src) == before
