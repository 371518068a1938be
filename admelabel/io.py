"""Atomic file output: write to a temporary file in the target folder, then rename."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any


def _read_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# Read once at import: os.umask can only be read by setting it, which is not thread-safe.
_UMASK = _read_umask()


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", encoding: str | None = "utf-8") -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path`` and move it over ``path`` on success.

    If the block raises, the temporary file is deleted and ``path`` is left as it
    was, so readers never see a half-written output.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    binary = "b" in mode
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    # mkstemp creates the file with mode 0600; give it the mode a plain open() would.
    os.chmod(tmp_name, 0o666 & ~_UMASK)
    try:
        with os.fdopen(fd, mode, encoding=None if binary else encoding, newline=None if binary else "") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp_name)
        raise


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_write(path, "wb") as handle:
        handle.write(data)


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically, UTF-8 encoded."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def write_json_atomic(path: str | Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` atomically."""
    write_text_atomic(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl_atomic(path: str | Path, records: Iterable[dict[str, Any]]) -> int:
    """Write one JSON object per line to ``path`` atomically and return the number of lines."""
    count = 0
    with atomic_write(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> Iterator[dict[str, Any]]:
    """Yield the JSON objects of a JSONL file, skipping blank lines.

    Raises ``InputError`` naming the file and line for a line that is not a JSON object.
    """
    from admelabel.errors import InputError

    path = Path(path)
    if not path.is_file():
        raise InputError(path, "file not found")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(path, f"line {number} is not valid JSON ({exc.msg})") from None
            if not isinstance(obj, dict):
                raise InputError(path, f"line {number} is not a JSON object")
            yield obj


@contextlib.contextmanager
def exclusive_lock(path: str | Path, what: str) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` for the block, or raise ``AdmelabelError`` at once.

    The operating system releases the lock when the process ends, so a killed run
    never leaves a stale lock behind. ``what`` names the guarded resource in the error.
    The lock file is removed when the block ends.
    """
    import fcntl

    from admelabel.errors import AdmelabelError

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdmelabelError(f"{what} is in use by another admelabel process (lock {path}); wait for it to finish") from None
        try:
            yield
        finally:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    finally:
        handle.close()
