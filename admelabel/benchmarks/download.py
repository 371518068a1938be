"""Resumable, verified downloads and safe extraction of the benchmark archives.

A download streams into ``<archive>.part`` and resumes that file with an HTTP Range
request when a server supports it. The finished file is checked against its SHA-256
and only then renamed to its final name, so ``data/`` never contains a half-written
archive under the real name.

NOTE: no published checksum of either archive could be confirmed, so none is built
in. The first complete download records its SHA-256 in ``<archive>.sha256``, and
later runs check against that record (or against a digest the caller passes).
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from admelabel.errors import DataError, FetchError

__all__ = [
    "DatasetMissingError",
    "download_archive",
    "extract_archive",
    "sha256_file",
    "verify_archive",
]

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int | None], None]
"""Called with (bytes written so far, total bytes, or None when the response has no Content-Length)."""

_CHUNK_BYTES = 1 << 20
_CONTENT_RANGE = re.compile(r"bytes (\d+)-(\d+)/(\d+|\*)")


class DatasetMissingError(DataError):
    """A benchmark archive is neither on disk nor downloadable.

    ``archive`` is the archive's file name, ``url`` its canonical address and
    ``target`` the path where a manually downloaded copy is picked up.
    """

    def __init__(self, name: str, archive: str, url: str, target: Path, reason: str) -> None:
        self.archive = archive
        self.url = url
        self.target = target
        super().__init__(
            f"{name} data not found ({reason}). "
            f"Download {archive} from {url} and put it at {target}, "
            f"or pass --data PATH to a local copy (the .tar.gz or the extracted folder)."
        )


def sha256_file(path: Path) -> str:
    """Return the hex SHA-256 of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


def _read_sidecar(path: Path) -> str | None:
    sidecar = _sidecar(path)
    if not sidecar.is_file():
        return None
    text = sidecar.read_text(encoding="utf-8").split()
    return text[0].lower() if text else None


def _write_sidecar(path: Path, digest: str) -> None:
    from admelabel.io import write_text_atomic

    write_text_atomic(_sidecar(path), f"{digest}  {path.name}\n")


def verify_archive(path: Path, expected_sha256: str | None = None) -> str:
    """Check ``path`` against ``expected_sha256`` or, when that is None, its sidecar record.

    Returns the file's SHA-256. Raises ``DataError`` on a mismatch, naming both digests.
    A file without an expected digest and without a sidecar is accepted as it is.
    """
    actual = sha256_file(path)
    expected = (expected_sha256 or _read_sidecar(path) or "").lower()
    if expected and actual != expected:
        raise DataError(
            f"{path}: SHA-256 is {actual}, expected {expected}; "
            f"delete the file and download it again, or pass the right --sha256"
        )
    return actual


def _open(url: str, offset: int, timeout: float):
    request = urllib.request.Request(url, headers={"User-Agent": "admelabel"})
    if offset:
        request.add_header("Range", f"bytes={offset}-")
    try:
        return urllib.request.urlopen(request, timeout=timeout)  # noqa: S310  (http/https URL set by the caller)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and offset:
            # The server rejects the range: the partial file is unusable, so start over.
            return None
        raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise FetchError(f"{url}: {reason}") from None


def _resume_offset(response, offset: int, url: str) -> int:
    """Return where the response body starts in the file: ``offset`` for a 206, 0 for a 200."""
    if not offset or response.status == 200:
        return 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    if response.status != 206 or not match or int(match.group(1)) != offset:
        raise FetchError(f"{url}: invalid range response {response.status} {response.headers.get('Content-Range')!r}")
    return offset


def _total_size(response, start: int) -> int | None:
    length = response.headers.get("Content-Length")
    return start + int(length) if length and length.isdigit() else None


def download_archive(
    url: str,
    dest: str | Path,
    *,
    sha256: str | None = None,
    timeout: float = 60.0,
    progress: ProgressCallback | None = None,
) -> Path:
    """Download ``url`` to ``dest``, resuming a previous partial download.

    Parameters
    ----------
    url : str
        http or https address of the archive.
    dest : path
        Final path of the archive. An existing file there is verified and reused.
    sha256 : str, optional
        Expected hex SHA-256. Without it the digest recorded in ``<dest>.sha256`` by
        an earlier download is used, and the first download writes that record.
    timeout : float
        Seconds to wait for the connection and for each read.
    progress : callable, optional
        Called as ``progress(bytes_done, total_bytes_or_None)`` after each chunk.

    Returns
    -------
    Path
        ``dest``, complete and verified.

    Raises
    ------
    FetchError
        When the server cannot be reached, returns an HTTP error, or the body ends
        early. ``<dest>.part`` is kept so that the next call resumes it.
    DataError
        When the finished file does not match the expected SHA-256; the partial file is
        deleted because resuming it would give the same result.
    """
    dest = Path(dest)
    if dest.is_file():
        verify_archive(dest, sha256)
        return dest

    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    offset = part.stat().st_size if part.is_file() else 0

    response = _open(url, offset, timeout)
    if response is None:
        part.unlink()
        offset = 0
        response = _open(url, 0, timeout)

    with response:
        start = _resume_offset(response, offset, url)
        total = _total_size(response, start)
        if offset and not start:
            log.info("%s does not support ranges; downloading %s from the start", url, dest.name)
        elif start:
            log.info("resuming %s at byte %d", dest.name, start)
        written = start
        with part.open("r+b" if start else "wb") as handle:
            handle.seek(start)
            handle.truncate()
            try:
                for chunk in iter(lambda: response.read(_CHUNK_BYTES), b""):
                    handle.write(chunk)
                    written += len(chunk)
                    if progress is not None:
                        progress(written, total)
            except OSError as exc:
                raise FetchError(f"{url}: download interrupted at byte {written} ({exc}); run again to resume") from None
            handle.flush()
            os.fsync(handle.fileno())

    if total is not None and written < total:
        raise FetchError(f"{url}: download stopped at byte {written} of {total}; run again to resume")

    try:
        digest = verify_archive(part, sha256 or _read_sidecar(dest))
    except DataError:
        part.unlink()
        raise
    os.replace(part, dest)
    if _read_sidecar(dest) is None:
        _write_sidecar(dest, digest)
    log.info("downloaded %s (%d bytes, SHA-256 %s)", dest, written, digest)
    return dest


def extract_archive(archive: str | Path, dest: str | Path) -> Path:
    """Extract a .tar.gz into the folder ``dest``, atomically.

    The members go into a temporary folder beside ``dest``, which is renamed to
    ``dest`` when extraction succeeds, so an interrupted extraction leaves no partial
    folder under the final name. Members are filtered with ``tarfile.data_filter``,
    which rejects absolute paths, ``..`` components and links that leave the folder.

    Raises ``DataError`` when the archive cannot be read or contains an unsafe member.
    Returns ``dest``.
    """
    archive, dest = Path(archive), Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", suffix=".tmp", dir=dest.parent))
    try:
        with tarfile.open(archive, "r:*") as tar:
            tar.extractall(tmp, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(tmp, dest)
    except (tarfile.TarError, OSError, EOFError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise DataError(f"{archive}: cannot extract ({exc}); delete it and download it again") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return dest
