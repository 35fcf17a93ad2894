"""Results are written atomically: a run that fails or is interrupted while
writing leaves the previous results in --out exactly as they were, and no
staging directory behind."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from optimizer.cli import main
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
    assert code == (130 if isinstance(error, KeyboardInterrupt) else 3)
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
    assert main(["solve", str(second), "--out", str(out), "--no-analysis"]) == 3
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
