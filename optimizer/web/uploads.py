"""Uploads: size-capped while they arrive, stored under server-made names,
and .zip files of a YAML folder extracted within bounds.

An upload is data, never a path: its name only says which kind it is (.xlsx
or .zip) and how it is shown; its files are written into a new folder of the
workspace and read there by the library's own loader
(:func:`optimizer.input.load_instance`, itself bounded: sizes, zip bombs,
tables outside the folder).
"""

from __future__ import annotations

import os
import stat
import zipfile
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

#: the largest upload accepted, in MB
MAX_UPLOAD_MB = 20
#: room for the form around the file
FORM_OVERHEAD = 64 * 1024
#: an oversized request body is read (and dropped) up to this many bytes
#: before the refusal is sent, so that a browser still sending it reads the
#: answer instead of a reset connection; beyond it the connection is closed
DRAIN_LIMIT = 256 * 2**20

#: a .zip of a YAML folder: at most this many files, this much once unzipped,
#: and only these kinds of file (others, such as __MACOSX/ leftovers, are skipped)
ZIP_MAX_FILES = 500
ZIP_MAX_MB = 100
ZIP_KINDS = (".yaml", ".yml", ".csv", ".md", ".txt")
UPLOAD_KINDS = (".xlsx", ".zip")


class UploadError(Exception):
    """An upload refused, with the reason as the user reads it; ``status``:
    the HTTP status (413 for a file past the size limit, else 400)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


class BodyTooLarge(Exception):
    """The request body went past the limit while it arrived."""


def max_body() -> int:
    return MAX_UPLOAD_MB * 2**20 + FORM_OVERHEAD


def too_large_message(size: int | None = None) -> str:
    what = f"The upload is {size / 2**20:,.1f} MB" if size else "The upload is too large"
    return (f"{what}: files up to {MAX_UPLOAD_MB} MB are accepted. Upload a smaller "
            "workbook, or zip the instance's YAML folder.")


Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


class Capped:
    """An ASGI ``receive`` that raises :class:`BodyTooLarge` once more than
    ``limit`` bytes of body have arrived (a body without Content-Length, or one
    that says less than it sends). ``complete``: the body's last part arrived."""

    def __init__(self, receive: Receive, limit: int):
        self.receive = receive
        self.limit = limit
        self.seen = 0
        self.complete = False

    async def __call__(self) -> MutableMapping[str, Any]:
        message = await self.receive()
        if message.get("type") == "http.request":
            self.seen += len(message.get("body", b""))
            self.complete = not message.get("more_body", False)
            if self.seen > self.limit:
                raise BodyTooLarge
        else:
            self.complete = True
        return message


async def drain(receive: Receive, limit: int = DRAIN_LIMIT) -> None:
    """Read and drop the rest of a request's body, up to ``limit`` bytes (never
    past its last part: a server's ``receive`` then waits for the response)."""
    seen = 0
    while seen <= limit:
        message = await receive()
        if message.get("type") != "http.request":
            return
        seen += len(message.get("body", b""))
        if not message.get("more_body", False):
            return


def copy_bounded(src: BinaryIO, dest: Path, limit: int) -> int:
    """Copy ``src`` into the new file ``dest``, at most ``limit`` bytes (else
    UploadError); the number of bytes."""
    total = 0
    with open(dest, "xb") as out:
        while True:
            chunk = src.read(1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:
                raise UploadError(too_large_message(), 413)
            out.write(chunk)
    return total


def kind_of(filename: str) -> str:
    suffix = PurePosixPath(filename.replace("\\", "/")).suffix.lower()
    if suffix not in UPLOAD_KINDS:
        raise UploadError("Upload an instance as an Excel workbook (.xlsx) or as a .zip of "
                          "its YAML folder (instance.yaml with its CSV tables); "
                          f"'{suffix or filename}' files are not read.")
    return suffix


def _member_path(name: str) -> PurePosixPath | None:
    """A zip member's name as a safe relative path, or None to skip it.
    UploadError for a name that tries to leave the folder."""
    if "\\" in name or name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        raise UploadError(f"The .zip holds a file with an absolute or Windows path ('{name}'): "
                          "only relative paths are accepted.")
    path = PurePosixPath(name)
    if any(part in ("..", "") for part in path.parts) or "\x00" in name:
        raise UploadError(f"The .zip holds a path that leads outside its folder ('{name}').")
    if any(part.startswith(".") or part == "__MACOSX" for part in path.parts):
        return None
    if path.suffix.lower() not in ZIP_KINDS:
        return None
    return path


def extract_zip(src: Path, dest: Path) -> Path:
    """Extract the YAML folder in the .zip ``src`` into the empty folder
    ``dest``; the instance's YAML file. Bounded: file count, size once
    unzipped (as declared and as read), no absolute paths, no ``..``, no
    links."""
    try:
        archive = zipfile.ZipFile(src)
    except (zipfile.BadZipFile, OSError):
        raise UploadError("The .zip file cannot be read as a zip archive.") from None
    with archive:
        infos = [i for i in archive.infolist() if not i.is_dir()]
        if len(infos) > ZIP_MAX_FILES:
            raise UploadError(f"The .zip holds {len(infos):,} files; at most {ZIP_MAX_FILES} "
                              "are accepted.")
        budget = ZIP_MAX_MB * 2**20
        if sum(i.file_size for i in infos) > budget:
            raise UploadError(f"The .zip unzips to more than {ZIP_MAX_MB} MB; at most "
                              f"{ZIP_MAX_MB} MB are accepted.")
        written: list[PurePosixPath] = []
        for info in infos:
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise UploadError(f"The .zip holds a symbolic link ('{info.filename}'): only "
                                  "plain files are accepted.")
            rel = _member_path(info.filename)
            if rel is None:
                continue
            target = dest.joinpath(*rel.parts)
            if not target.resolve().is_relative_to(dest.resolve()):
                raise UploadError(f"The .zip holds a path that leads outside its folder "
                                  f"('{info.filename}').")
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as member, open(target, "xb") as out:
                while True:
                    chunk = member.read(1 << 20)
                    if not chunk:
                        break
                    budget -= len(chunk)
                    if budget < 0:  # a header that lies about the size
                        raise UploadError(f"The .zip unzips to more than {ZIP_MAX_MB} MB; at "
                                          f"most {ZIP_MAX_MB} MB are accepted.")
                    out.write(chunk)
            written.append(rel)
    return dest.joinpath(*_instance_yaml(written).parts)


def _instance_yaml(files: list[PurePosixPath]) -> PurePosixPath:
    yamls = [p for p in files if p.suffix.lower() in (".yaml", ".yml")]
    if not yamls:
        raise UploadError("The .zip holds no YAML file: zip the instance's folder "
                          "(instance.yaml with its CSV tables).")
    top = min(len(p.parts) for p in yamls)
    shallow = [p for p in yamls if len(p.parts) == top]
    named = [p for p in shallow if p.name.lower() in ("instance.yaml", "instance.yml")]
    if len(named) == 1:
        return named[0]
    if len(shallow) == 1:
        return shallow[0]
    raise UploadError(f"The .zip holds several YAML files ({', '.join(sorted(map(str, shallow)))})"
                      ": zip one instance's folder, or name its file instance.yaml.")


def store_upload(filename: str, data: BinaryIO, dest: Path) -> Path:
    """Put an upload into the instance folder ``dest`` (its ``src/`` exists and
    is empty); the file the loader reads."""
    kind = kind_of(filename)
    src = dest / "src"
    if kind == ".xlsx":
        path = src / "instance.xlsx"
        copy_bounded(data, path, MAX_UPLOAD_MB * 2**20)
        return path
    archive = dest / "upload.zip"
    try:
        copy_bounded(data, archive, MAX_UPLOAD_MB * 2**20)
        return extract_zip(archive, src)
    finally:
        if archive.exists():
            os.unlink(archive)

