"""The bundled example instances (``optimizer/data/NAME/``, listed in
``optimizer/data/examples.yaml``), and a copy of one to start from. Used by
``optimizer examples``, ``optimizer template --example`` and the web
workspace."""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path
from typing import Any


class ExampleError(ValueError):
    """A copy that cannot be made, in words."""


#: the list of bundled instances, beside them in the package
INDEX = "examples.yaml"


def data_dir() -> Path:
    """The package's folder of bundled instances."""
    from importlib import resources

    return Path(str(resources.files("optimizer") / "data"))


def bundled() -> list[dict[str, Any]]:
    """The bundled instances: ``name``, ``question``, ``default`` and ``path``
    (of its ``instance.yaml``), in the order they are listed."""
    import yaml

    root = data_dir()
    entries = yaml.safe_load((root / INDEX).read_text(encoding="utf-8"))
    return [{"name": str(e["name"]), "question": " ".join(str(e["question"]).split()),
             "default": bool(e.get("default", False)),
             "path": root / str(e["name"]) / "instance.yaml"} for e in entries]


def _files(folder: Path) -> list[Path]:
    """The instance's own files (its YAML, CSV tables, SOURCES.md, ...)."""
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def copy_example(source: Path, dest: Path) -> list[Path]:
    """Copy the files of the folder ``source`` into the new folder ``dest``
    (created whole, or not at all); the names copied."""
    if dest.exists() and not dest.is_dir():
        raise ExampleError(f"{dest} exists and is not a folder: choose another --to")
    if dest.is_dir() and any(dest.iterdir()):
        raise ExampleError(f"{dest} exists and is not empty: choose another --to, or empty it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = dest.parent / f".{dest.name}.copying-{uuid.uuid4().hex[:8]}"
    staging.mkdir()
    try:
        files = _files(source)
        for f in files:
            shutil.copyfile(f, staging / f.name)  # the content, never a link
        if dest.is_dir():
            dest.rmdir()  # empty (checked above): the rename takes its place
        os.replace(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return [dest / f.name for f in files]
