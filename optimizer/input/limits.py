"""How much the readers accept: files are read bounded, never trusted.

Every file an instance names is opened only if it is a regular file (not a
device such as ``/dev/zero``, a pipe that would block, or a socket) and read
only up to a size limit; a workbook's zip members only up to an unzipped
limit; a YAML file's aliases only up to a number of values once expanded;
table paths only inside the instance's folder. The limits are generous for
real instances (a million-lane instance is a few tens of MB) and can be
raised: ``optimizer --max-file-mb 2000 --allow-outside-tables solve ...``, or
:func:`set_limits` from Python.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, replace
from pathlib import Path


@dataclass(frozen=True)
class ReadLimits:
    """What a reader accepts."""

    #: the largest file read, in MB
    max_file_mb: float = 256.0
    #: the most a workbook's zip members may hold once unzipped, in MB
    max_unzipped_mb: float = 512.0
    #: the most values a YAML file may hold once its aliases are expanded
    max_yaml_values: int = 2_000_000
    #: table paths may lead outside the instance's folder
    allow_outside: bool = False
    #: problems listed in a message at most (the rest are counted)
    max_problems_shown: int = 100


LIMITS = ReadLimits()


def set_limits(**changes: object) -> ReadLimits:
    """Change the limits for this process (``max_file_mb=2000``, ...); returns
    the previous ones, so that a caller can put them back."""
    global LIMITS
    before = LIMITS
    LIMITS = replace(LIMITS, **changes)  # type: ignore[arg-type]
    return before


def limits() -> ReadLimits:
    return LIMITS


def _mb(n: float) -> str:
    return f"{n:,.0f} MB" if n >= 10 else f"{n:,.1f} MB"


def read_bounded(path: Path) -> tuple[bytes | None, str | None]:
    """The bytes of a regular file within the size limit, or (None, why not):
    "file not found", "is a directory", not a regular file, too large, an OS
    error. Nothing is opened that could block or never end."""
    try:
        info = os.stat(path)  # follows symlinks: what would really be read
    except FileNotFoundError:
        return None, "file not found"
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if stat.S_ISDIR(info.st_mode):
        return None, "is a directory, not a file"
    if not stat.S_ISREG(info.st_mode):
        return None, ("is not a regular file (a device, a pipe or a socket): only ordinary "
                      "files are read")
    limit = int(LIMITS.max_file_mb * 2**20)
    too_large = (f"is larger than the limit of {_mb(LIMITS.max_file_mb)} per file "
                 "(optimizer --max-file-mb N raises it)")
    if info.st_size > limit:
        return None, f"is {_mb(info.st_size / 2**20)}, " + too_large.removeprefix("is ")
    try:
        with open(path, "rb") as f:
            data = f.read(limit + 1)  # a file that grows meanwhile is still bounded
    except OSError as exc:
        return None, f"cannot be read: {exc.strerror or exc}"
    if len(data) > limit:
        return None, too_large
    return data, None


def inside(path: Path, folder: Path) -> bool:
    """Is ``path`` (symlinks resolved) inside ``folder`` (resolved too)?"""
    try:
        return path.resolve().is_relative_to(folder.resolve())
    except (OSError, RuntimeError):  # a symlink loop
        return False
