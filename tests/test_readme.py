"""The README says what is true: its sample output is the real output, the
bundled instances it lists are the ones that ship, and it names the fast and
the full test commands (CI runs the full one)."""

from __future__ import annotations

import re
from pathlib import Path

from optimizer.cli import main
from optimizer.examples import bundled

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
COMMAND = "optimizer solve instances/teaching/instance.yaml --out out/"


def without_timings(text: str) -> list[str]:
    """Lines without trailing blanks, every time in seconds as ``#.## s``."""
    return [re.sub(r"\d+\.\d+ s\b", "#.## s", line).rstrip() for line in text.splitlines()]


def sample_block() -> str:
    """The text block of "What you get" that starts with ``$ COMMAND``."""
    section = README.split("## What you get", 1)[1]
    match = re.search(r"```text\n\$ (.*?)\n(.*?)```", section, re.S)
    assert match is not None, "no ```text block in 'What you get'"
    assert match.group(1) == COMMAND
    return match.group(2)


def test_sample_output_is_the_real_output(tmp_path, monkeypatch, capsys):
    """Run the README's command (80 columns, in a folder of its own with the
    repository's instances/) and compare, timings aside."""
    (tmp_path / "instances").symlink_to(ROOT / "instances")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(COMMAND.split()[1:]) == 0
    real = capsys.readouterr().out
    assert without_timings(sample_block()) == without_timings(real)
    assert (tmp_path / "out" / "report.html").is_file()


def test_bundled_instances_table_lists_what_ships():
    section = README.split("## Bundled instances", 1)[1].split("\n## ", 1)[0]
    listed = re.findall(r"^\| \[`instances/([\w-]+)`\]", section, re.M)
    assert listed == [e["name"] for e in bundled()]
    assert "optimizer examples" in section


def test_fast_and_full_test_commands():
    assert 'python -m pytest -q -m "not slow"' in README
    # CI runs the README's command for the whole suite, with no marker left out
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pytest -q\n" in ci and "not slow" not in ci
    assert 'python -m pip install -e ".[test]" && python -m pytest -q\n' in README
