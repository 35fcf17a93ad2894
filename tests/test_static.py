"""Static checks: mypy (config in pyproject.toml [tool.mypy]) and ruff stay clean.

Both run as subprocesses from the repository root with this interpreter, so they
see the same packages and configuration as a developer running them by hand.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUFF_TARGETS = ["optimizer", "tests", "benchmarks"]


def _need(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed in this interpreter ({sys.executable})")


def _run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600)


def test_mypy_clean():
    _need("mypy")
    proc = _run(["mypy"], ROOT)
    assert proc.returncode == 0, f"mypy found problems:\n{proc.stdout}{proc.stderr}"
    # the configured package was really checked, not an empty target list
    assert "Success: no issues found" in proc.stdout


def test_ruff_clean():
    _need("ruff")
    proc = _run(["ruff", "check", *RUFF_TARGETS], ROOT)
    assert proc.returncode == 0, f"ruff found problems:\n{proc.stdout}{proc.stderr}"


def test_checks_do_fail_on_bad_code(tmp_path):
    """The harness reports a failure when there is one (outside the repo's config)."""
    _need("mypy")
    _need("ruff")
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n\nx: int = 'not an int'\n")
    mypy = _run(["mypy", "--no-incremental", str(bad)], tmp_path)
    assert mypy.returncode == 1
    assert 'Incompatible types in assignment (expression has type "str"' in mypy.stdout
    ruff = _run(["ruff", "check", "--no-cache", "--select", "F401", str(bad)], tmp_path)
    assert ruff.returncode == 1
    assert "F401" in ruff.stdout
