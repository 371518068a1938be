"""Walk input paths (files, folders, zip files with nested zips) and yield SPL XML documents.

Each yielded ``SPLInput`` carries either the document's bytes or the error that made
it unreadable, so that a batch can carry on and report every failure at the end.
Nothing is written to disk: zip members are read in memory with a size cap.
"""

from __future__ import annotations

import io
import posixpath
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from admelabel.errors import InputError

MAX_MEMBER_BYTES = 200 * 1024 * 1024
"""Largest uncompressed zip member read, in bytes; a larger one is reported as an error (zip bomb guard)."""

MAX_ZIP_DEPTH = 3
"""Deepest zip-in-zip nesting followed. DailyMed release zips nest one level (release -> label zip -> XML)."""


@dataclass(frozen=True)
class SPLInput:
    """One candidate SPL document: ``source`` names the file or ``zip!member`` path."""

    source: str
    data: bytes | None = None
    error: InputError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def safe_member_name(name: str) -> str | None:
    """Return a zip member name as a safe relative POSIX path, or None when it is unsafe.

    Absolute names, drive letters, backslash paths and names that climb out with
    ``..`` are unsafe: writing them could land outside the target folder.
    """
    if not name or "\x00" in name:
        return None
    name = name.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        return None
    normalized = posixpath.normpath(name)
    if normalized.startswith("../") or normalized == ".." or normalized.startswith("/"):
        return None
    return normalized


def _read_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, source: str) -> bytes:
    if info.file_size > MAX_MEMBER_BYTES:
        raise InputError(source, f"zip member is {info.file_size} bytes uncompressed, over the {MAX_MEMBER_BYTES} byte limit")
    with archive.open(info) as handle:
        data = handle.read(MAX_MEMBER_BYTES + 1)
    if len(data) > MAX_MEMBER_BYTES:
        raise InputError(source, f"zip member expands past the {MAX_MEMBER_BYTES} byte limit")
    return data


def _iter_zip(data: bytes | Path, source: str, depth: int) -> Iterator[SPLInput]:
    try:
        archive = zipfile.ZipFile(data if isinstance(data, Path) else io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        yield SPLInput(source, error=InputError(source, f"not a readable zip file ({exc})"))
        return
    found = False
    with archive:
        for info in sorted(archive.infolist(), key=lambda item: item.filename):
            if info.is_dir():
                continue
            member_source = f"{source}!{info.filename}"
            lower = info.filename.lower()
            if not (lower.endswith(".xml") or lower.endswith(".zip")):
                continue
            found = True
            try:
                member = _read_member(archive, info, member_source)
            except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, ValueError) as exc:
                yield SPLInput(member_source, error=InputError(member_source, f"unreadable zip member ({exc})"))
                continue
            except InputError as exc:
                yield SPLInput(member_source, error=exc)
                continue
            if lower.endswith(".zip"):
                if depth >= MAX_ZIP_DEPTH:
                    yield SPLInput(member_source, error=InputError(member_source, f"zip nested deeper than {MAX_ZIP_DEPTH} levels"))
                    continue
                yield from _iter_zip(member, member_source, depth + 1)
            else:
                yield SPLInput(member_source, data=member)
    if not found:
        yield SPLInput(source, error=InputError(source, "zip file contains no .xml or .zip members"))


def _iter_file(path: Path) -> Iterator[SPLInput]:
    source = str(path)
    try:
        if zipfile.is_zipfile(path):
            yield from _iter_zip(path, source, 1)
            return
        if path.suffix.lower() == ".zip":
            yield SPLInput(source, error=InputError(source, "not a readable zip file (truncated or corrupt); download it again"))
            return
        data = path.read_bytes()
    except OSError as exc:
        yield SPLInput(source, error=InputError(source, f"cannot read file ({exc.strerror or exc})"))
        return
    yield SPLInput(source, data=data)


def iter_spl_inputs(paths: Iterable[str | Path]) -> Iterator[SPLInput]:
    """Yield every XML document found under ``paths``, in a stable order.

    A file is read as XML unless it is a zip. A folder is walked recursively for
    ``*.xml`` and ``*.zip`` files. A zip is opened and its ``.xml`` and ``.zip``
    members are followed up to ``MAX_ZIP_DEPTH`` levels. A missing path, unreadable
    file, broken zip or zip without XML yields an ``SPLInput`` with ``error`` set.
    """
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            yield SPLInput(str(path), error=InputError(path, "file or folder not found"))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in (".xml", ".zip"))
            if not files:
                yield SPLInput(str(path), error=InputError(path, "folder contains no .xml or .zip files"))
            for file in files:
                yield from _iter_file(file)
        else:
            yield from _iter_file(path)
