"""The workspace folder: every file the web application reads or writes.

::

    WORKSPACE/
      instances/ID/meta.json     what the instance is called, where it came from,
                                 and its versions (the first the upload or the
                                 example's copy, one more .xlsx per edit)
      instances/ID/src/...       the uploaded workbook, or the YAML folder (the
                                 example's copy, or a .zip's files)
      instances/ID/vN.xlsx       the instance after the Nth edit
      runs/ID/run.json           what was run (kind, instance version, options),
                                 its status and headline
      runs/ID/out/...            the run's output folder (as ``--out`` writes it)
      runs/ID/progress.json      points done / to do, written by the run
      runs/ID/outcome.json       how the run ended, written by the run

Ids are made here (``uuid4().hex``), never taken from a user: a URL's id must
be 32 hex digits naming a folder that exists, and a file is served only if it
is listed in that folder, is a regular file (not a link), and resolves inside
the workspace (:meth:`Workspace.served_file`). Anything else is
:class:`NotFound`, without saying why.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import stat
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from optimizer.errors import Problem
    from optimizer.input.instance import Instance

ID = re.compile(r"[0-9a-f]{32}")
#: a run's output file as served: a plain name, no folder
FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,120}")
#: the output folder's list of the files it holds (not offered for download)
OUTPUT_MARKER = ".optimizer-output.json"


class NotFound(Exception):
    """An id or a file the workspace does not hold (a 404, said without detail)."""


def new_id() -> str:
    return uuid.uuid4().hex


def now() -> float:
    return time.time()


def write_json(path: Path, data: Any) -> None:
    """Write ``data`` as JSON, atomically (a reader sees the old or the new file)."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(data, f, indent=1, allow_nan=False)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_json(path: Path) -> Any:
    """The JSON in ``path`` (a regular file), or None."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return None
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def display_name(filename: str) -> str:
    """An uploaded file's name as shown (and used in problems): its last part,
    printable characters only, at most 100 of them."""
    base = re.split(r"[\\/]", filename or "")[-1]
    base = "".join(c for c in base if c.isprintable()).strip()
    return base[:100] or "upload"


@dataclass
class Loaded:
    """An instance file read by the library: the instance, or its problems."""

    instance: Instance | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


class Workspace:
    """The workspace folder (created if missing), and everything that touches it."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        for sub in ("instances", "runs"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._cache: dict[tuple[str, int, int], Loaded] = {}

    # ----------------------------------------------------------------- paths
    def folder(self, kind: str, ident: str) -> Path:
        """``instances/ID`` or ``runs/ID``; NotFound unless ID is one of ours."""
        if kind not in ("instances", "runs") or not isinstance(ident, str) \
                or not ID.fullmatch(ident):
            raise NotFound
        path = self.root / kind / ident
        try:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise NotFound
        except OSError:
            raise NotFound from None
        return path

    def inside(self, path: Path) -> bool:
        try:
            return path.resolve(strict=True).is_relative_to(self.root)
        except (OSError, RuntimeError):
            return False

    def relative(self, path: Path) -> str:
        return path.resolve().relative_to(self.root).as_posix()

    def path_of(self, relative: str) -> Path:
        """A workspace-relative path recorded by this module, checked again."""
        path = (self.root / relative).resolve()
        if not path.is_relative_to(self.root):
            raise NotFound
        return path

    def served_file(self, folder: Path, name: str) -> Path:
        """The file ``name`` of ``folder`` (a folder of the workspace), if it
        may be served: a plain name listed there, a regular file, not a link,
        inside the workspace. NotFound otherwise."""
        if not isinstance(name, str) or not FILE_NAME.fullmatch(name) or name == OUTPUT_MARKER:
            raise NotFound
        try:
            if name not in os.listdir(folder):
                raise NotFound
            path = folder / name
            if not stat.S_ISREG(os.lstat(path).st_mode):  # lstat: a link is not followed
                raise NotFound
        except OSError:
            raise NotFound from None
        if not self.inside(path):
            raise NotFound
        return path

    def output_files(self, run_id: str) -> list[Path]:
        """The files of a run's output folder, as offered for download."""
        out = self.folder("runs", run_id) / "out"
        try:
            names = sorted(os.listdir(out))
        except OSError:
            return []
        files = []
        for name in names:
            with contextlib.suppress(NotFound):
                files.append(self.served_file(out, name))
        return files

    # ----------------------------------------------------------------- instances
    def new_instance(self) -> tuple[str, Path]:
        """A new, empty instance folder (with ``src/``); its meta.json is written
        by :meth:`finish_instance` once the source files are in place."""
        ident = new_id()
        folder = self.root / "instances" / ident
        (folder / "src").mkdir(parents=True)
        return ident, folder

    def finish_instance(self, ident: str, name: str, origin: str, source: Path) -> None:
        folder = self.root / "instances" / ident
        meta = {"id": ident, "name": name, "origin": origin, "created": now(),
                "versions": [{"file": source.relative_to(folder).as_posix(), "created": now(),
                              "note": f"{origin}: {name}"}]}
        write_json(folder / "meta.json", meta)

    def discard_instance(self, ident: str) -> None:
        if ID.fullmatch(ident):
            shutil.rmtree(self.root / "instances" / ident, ignore_errors=True)

    def instance_meta(self, ident: str) -> dict[str, Any]:
        meta = read_json(self.folder("instances", ident) / "meta.json")
        if not isinstance(meta, dict):
            raise NotFound
        return meta

    def _records(self, kind: str, name: str) -> list[dict[str, Any]]:
        """The JSON record ``name`` of every folder of ``kind``, newest first."""
        out = []
        for entry in os.scandir(self.root / kind):
            if ID.fullmatch(entry.name) and entry.is_dir(follow_symlinks=False):
                record = read_json(Path(entry.path) / name)
                if isinstance(record, dict):
                    out.append(record)
        return sorted(out, key=lambda r: -float(r.get("created", 0)))

    def instances(self) -> list[dict[str, Any]]:
        """Every instance's meta, newest first."""
        return self._records("instances", "meta.json")

    def version_path(self, ident: str, version: int | None = None) -> Path:
        """The file of an instance's version (1-based; None: the latest)."""
        meta = self.instance_meta(ident)
        versions = meta["versions"]
        if version is None:
            version = len(versions)
        if not 1 <= version <= len(versions):
            raise NotFound
        path = self.folder("instances", ident) / versions[version - 1]["file"]
        if not self.inside(path):
            raise NotFound
        return path

    def add_version(self, ident: str, written: Path, note: str) -> int:
        """Record ``written`` (a validated .xlsx in the instance's folder) as the
        next version; its number."""
        with self.lock:
            folder = self.folder("instances", ident)
            meta = self.instance_meta(ident)
            n = len(meta["versions"]) + 1
            target = folder / f"v{n}.xlsx"
            os.replace(written, target)
            meta["versions"].append({"file": target.name, "created": now(), "note": note})
            write_json(folder / "meta.json", meta)
            return n

    def load(self, path: Path, display: str, prefix: Path) -> Loaded:
        """Read an instance file with the library (cached while the file is
        unchanged). Problems name the file as the user knows it: ``display``
        for ``path`` itself, other files relative to ``prefix``."""
        from optimizer.errors import InputError
        from optimizer.input import load_instance

        info = path.stat()
        key = (str(path), info.st_mtime_ns, info.st_size)
        with self.lock:
            hit = self._cache.get(key)
        if hit is not None:
            return hit
        try:
            inst = load_instance(path)
            loaded = Loaded(inst, [renamed(p, path, display, prefix) for p in inst.warnings])
        except InputError as err:
            loaded = Loaded(None, [renamed(p, path, display, prefix) for p in err.problems])
        with self.lock:
            if len(self._cache) > 32:
                self._cache.clear()
            self._cache[key] = loaded
        return loaded

    def load_version(self, ident: str, version: int | None = None) -> Loaded:
        meta = self.instance_meta(ident)
        path = self.version_path(ident, version)
        folder = self.folder("instances", ident)
        n = version or len(meta["versions"])
        return self.load(path, self.version_display(meta, n), folder / "src")

    @staticmethod
    def version_display(meta: dict[str, Any], version: int) -> str:
        """The name a version is shown and downloaded under: the upload's own
        name for the first version of an upload, else NAME-vN.xlsx."""
        file = meta["versions"][version - 1]["file"]
        if version == 1:
            return meta["name"] if meta.get("origin") == "upload" and \
                file == "src/instance.xlsx" else file.removeprefix("src/")
        stem = re.sub(r"\.(xlsx|zip|yaml|yml)$", "", str(meta["name"]), flags=re.I)
        return f"{stem}-v{version}.xlsx"

    # ----------------------------------------------------------------- runs
    def new_run(self, record: dict[str, Any]) -> str:
        ident = new_id()
        folder = self.root / "runs" / ident
        folder.mkdir(parents=True)
        write_json(folder / "run.json", {**record, "id": ident, "status": "queued",
                                         "created": now()})
        return ident

    def run(self, ident: str) -> dict[str, Any]:
        record = read_json(self.folder("runs", ident) / "run.json")
        if not isinstance(record, dict):
            raise NotFound
        return record

    def update_run(self, ident: str, **changes: Any) -> dict[str, Any]:
        with self.lock:
            record = {**self.run(ident), **changes}
            write_json(self.folder("runs", ident) / "run.json", record)
            return record

    def runs(self) -> list[dict[str, Any]]:
        """Every run's record, newest first."""
        return self._records("runs", "run.json")

    def progress(self, ident: str) -> dict[str, Any] | None:
        data = read_json(self.folder("runs", ident) / "progress.json")
        return data if isinstance(data, dict) else None


def renamed(problem: Problem, path: Path, display: str, prefix: Path) -> Problem:
    """``problem`` with the workspace's paths replaced by the names the user
    knows (the uploaded file's name, a path inside the uploaded folder)."""
    loc = problem.location
    file = loc.file
    message = problem.message
    for absolute, shown in ((str(path), display), (f"{prefix}{os.sep}", "")):
        file = file.replace(absolute, shown)
        message = message.replace(absolute, shown)
    return replace(problem, location=replace(loc, file=file), message=message)
