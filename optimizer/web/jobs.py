"""The job table: runs queued, running (each in its own spawned process, at
most ``slots`` at a time) and finished, with Cancel.

Requests never wait for a run: they add it to the queue and return; a
thread of the server starts processes as slots free up, notices when they
end, and records the outcome in the run's ``run.json``. Cancel takes a
queued run off the queue, or terminates the running process (its output
folder is published whole or not at all, so nothing half-written remains).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import threading
from collections import deque
from typing import Any

from optimizer.web.workspace import NotFound, Workspace, now, read_json

log = logging.getLogger(__name__)

FINISHED = ("done", "no_plan", "failed", "cancelled", "interrupted")
#: seconds a terminated run is given to end before it is killed
GRACE = 3.0


class Jobs:
    def __init__(self, workspace: Workspace, slots: int = 2):
        self.ws = workspace
        self.slots = max(1, slots)
        self.ctx = multiprocessing.get_context("spawn")
        self.pending: deque[str] = deque()
        self.running: dict[str, Any] = {}
        self.cancelling: set[str] = set()
        self.lock = threading.Lock()
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    # ----------------------------------------------------------------- control
    def start(self) -> None:
        """Mark runs left unfinished by an earlier server as interrupted; start
        the thread that runs the queue."""
        for record in self.ws.runs():
            if record.get("status") not in FINISHED and not _alive(record.get("server")):
                with contextlib.suppress(NotFound):
                    self.ws.update_run(record["id"], status="interrupted", finished=now(),
                                       message="the server stopped before the run ended")
        self.thread = threading.Thread(target=self._loop, name="optimizer-jobs", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        """Stop the queue; end the runs still going (recorded as interrupted)."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=5)
        with self.lock:
            for run_id, proc in list(self.running.items()):
                self._end(proc)
                with contextlib.suppress(NotFound):
                    self.ws.update_run(run_id, status="interrupted", finished=now(),
                                       message="the server stopped before the run ended")
            self.running.clear()
            for run_id in self.pending:
                with contextlib.suppress(NotFound):
                    self.ws.update_run(run_id, status="interrupted", finished=now(),
                                       message="the server stopped before the run started")
            self.pending.clear()

    def submit(self, run_id: str) -> None:
        self.ws.update_run(run_id, server=os.getpid())
        with self.lock:
            self.pending.append(run_id)
        self.wake.set()

    def cancel(self, run_id: str) -> bool:
        """Cancel a queued or running run; False if it had already finished."""
        with self.lock:
            if run_id in self.pending:
                self.pending.remove(run_id)
                self.ws.update_run(run_id, status="cancelled", finished=now(),
                                   message="cancelled before it started")
                return True
            proc = self.running.get(run_id)
            if proc is None:
                return False
            self.cancelling.add(run_id)
            proc.terminate()
        self.wake.set()
        return True

    def position(self, run_id: str) -> int | None:
        """A queued run's place in the queue (1: next), else None."""
        with self.lock:
            try:
                return self.pending.index(run_id) + 1
            except ValueError:
                return None

    # ----------------------------------------------------------------- the loop
    def _loop(self) -> None:
        from optimizer.web.tasks import execute

        while not self.stopping.is_set():
            try:
                with self.lock:
                    self._reap()
                    self._launch(execute)
            except Exception:  # a full disk, a process that cannot start: the queue goes on
                log.exception("the job queue hit an error")
            self.wake.wait(0.2)
            self.wake.clear()

    def _launch(self, execute: Any) -> None:
        while self.pending and len(self.running) < self.slots:
            run_id = self.pending.popleft()
            try:
                self.ws.update_run(run_id, status="running", started=now())
                folder = self.ws.folder("runs", run_id)
            except NotFound:
                continue
            proc = self.ctx.Process(target=execute, args=(str(folder), str(self.ws.root)),
                                    name=f"optimizer-run-{run_id[:8]}", daemon=True)
            try:
                proc.start()
            except Exception as exc:
                self.ws.update_run(run_id, status="failed", finished=now(),
                                   message=f"the run's process could not start ({exc})")
                continue
            self.running[run_id] = proc

    def _reap(self) -> None:
        for run_id, proc in list(self.running.items()):
            if proc.exitcode is None:
                continue
            proc.join()
            code = proc.exitcode
            del self.running[run_id]
            with contextlib.suppress(ValueError):
                proc.close()
            with contextlib.suppress(NotFound):
                self._record(run_id, code)

    def _record(self, run_id: str, exitcode: int) -> None:
        if run_id in self.cancelling:
            self.cancelling.discard(run_id)
            self.ws.update_run(run_id, status="cancelled", finished=now(),
                               message="cancelled while it ran; nothing was written")
            return
        outcome = read_json(self.ws.folder("runs", run_id) / "outcome.json")
        if not isinstance(outcome, dict):
            self.ws.update_run(run_id, status="failed", finished=now(),
                               message=f"the run's process ended without a result "
                                       f"(exit code {exitcode})")
            return
        status = outcome.get("status") if outcome.get("status") in FINISHED else "failed"
        self.ws.update_run(run_id, status=status, finished=now(),
                           headline=outcome.get("headline"), message=outcome.get("message"),
                           details=outcome.get("details") or [],
                           objective=outcome.get("objective"))

    @staticmethod
    def _end(proc: Any) -> None:
        proc.terminate()
        proc.join(GRACE)
        if proc.exitcode is None:
            proc.kill()
            proc.join(GRACE)


def _alive(pid: object) -> bool:
    """Is the server process ``pid`` (that queued a run) still running? (Two
    servers on one workspace leave each other's runs alone.)"""
    if not isinstance(pid, int) or pid <= 0 or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
