"""Results are written atomically: a run that fails or is interrupted while
writing leaves the previous results in --out exactly as they were, and no
staging directory behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

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
    return not [p for p in out.iterdir() if p.name.startswith(".staging")]


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


def test_failure_while_publishing_puts_old_files_back(old_results, monkeypatch):
    # the third file moved into place fails: the two already replaced are restored
    out, before, second = old_results
    real_replace = os.replace
    moved = {"n": 0}

    def failing_replace(src, dst):
        if Path(src).parent.name.startswith(".staging"):
            moved["n"] += 1
            if moved["n"] == 3:
                raise OSError("device unplugged")
        real_replace(src, dst)

    monkeypatch.setattr(output.os, "replace", failing_replace)
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == EXIT_INPUT
    assert moved["n"] == 3
    assert snapshot(out) == before
    assert no_staging(out)


def test_successful_run_replaces_results(old_results):
    out, _, second = old_results
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == 0
    after = snapshot(out)
    assert json.loads(after["summary.json"])["objective"] == pytest.approx(4500)
    assert set(after) >= {"summary.json", "allocation.csv", "rules.csv"}
    assert no_staging(out)


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
