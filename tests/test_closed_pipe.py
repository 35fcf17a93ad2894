"""``optimizer solve | head``: a pipe closed early is not an error.

The command carries on with its output going nowhere, still writes its files,
and exits with its own status, without a traceback or an error message.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from optimizer.cli import ClosedPipeGuard, main

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "instances" / "teaching" / "instance.yaml"


def run_into_closed_pipe(argv: list[str]) -> tuple[int, str]:
    """Run ``python -m optimizer ARGV`` with its stdout a pipe whose reading
    end is closed before it writes anything; the exit code and stderr."""
    proc = subprocess.Popen([sys.executable, "-m", "optimizer", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=ROOT)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # like `head` that has read enough
    err = proc.stderr.read().decode()
    return proc.wait(timeout=300), err


@pytest.mark.slow
@pytest.mark.parametrize(("argv", "code"), [
    (["solve", str(TEACHING), "--verbose"], 0),
    (["--help"], 0),
    (["examples"], 0),
    (["solve", "no-such-file.yaml"], 2),
])
def test_closed_pipe_exits_with_the_commands_own_status(argv, code):
    exit_code, err = run_into_closed_pipe(argv)
    assert exit_code == code, err
    assert "Traceback" not in err and "Broken pipe" not in err and "BrokenPipe" not in err
    if code == 0:
        assert err == ""


@pytest.mark.slow
def test_closed_pipe_still_writes_the_files(tmp_path):
    out = tmp_path / "out"
    code, err = run_into_closed_pipe(["solve", str(TEACHING), "--out", str(out)])
    assert code == 0 and err == ""
    assert json.loads((out / "summary.json").read_text())["objective"] == pytest.approx(3638)
    assert (out / "report.html").is_file()


@pytest.mark.slow
def test_shell_pipe_into_head(tmp_path):
    script = Path(sys.executable).parent / "optimizer"
    shell = (f'"{script}" solve "{TEACHING}" --verbose | head -n 2; '
             'echo "status=${PIPESTATUS[0]}"')
    proc = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "COLUMNS": "80"})
    lines = proc.stdout.splitlines()
    assert lines == ["Teaching example (illustrative)",
                     "status: optimal   total cost: USD 3,638.0 million (discounted)",
                     "status=0"]
    assert proc.stderr == ""


class Closing(io.StringIO):
    """A stream whose reader has gone after ``room`` characters."""

    def __init__(self, room: int):
        super().__init__()
        self.room = room

    def write(self, s: str) -> int:
        if self.tell() + len(s) > self.room:
            raise BrokenPipeError(32, "Broken pipe")
        return super().write(s)

    def flush(self) -> None:
        if self.tell() >= self.room:
            raise BrokenPipeError(32, "Broken pipe")


def test_guard_swallows_the_broken_pipe():
    stream = Closing(10)
    guard = ClosedPipeGuard(stream)  # type: ignore[arg-type]
    assert guard.write("0123456789") == 10
    assert guard.write("and more") == 8      # no error: the reader has gone
    guard.flush()
    assert guard.closed_pipe
    assert stream.getvalue() == "0123456789"
    assert not guard.isatty()                # everything else is the stream's


def test_main_returns_its_code_when_stdout_closes(monkeypatch, tmp_path):
    monkeypatch.setattr(sys, "stdout", Closing(200))
    out = tmp_path / "out"
    assert main(["solve", str(TEACHING), "--out", str(out)]) == 0
    assert (out / "summary.json").is_file()
    assert isinstance(sys.stdout, Closing)   # put back as it was
