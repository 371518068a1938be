"""On-disk cache of augmented sets, keyed by the inputs and every setting that shapes the output."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from admelabel.dataset import Example
from admelabel.io import write_jsonl_atomic

log = logging.getLogger(__name__)

# Raise this when the meaning of a cached file changes, so old entries stop matching.
CACHE_FORMAT = 2


def default_cache_dir() -> Path:
    """Return ``<ADMELABEL_HOME>/augment-cache``, or ``./data/augment-cache`` when ADMELABEL_HOME is unset."""
    home = os.environ.get("ADMELABEL_HOME")
    return (Path(home) if home else Path("data")) / "augment-cache"


def cache_key(
    *, method: str, options: Mapping[str, Any], seed: int, copies: int, per_class: int | None,
    examples: Sequence[Example],
) -> str:
    """Return the SHA-256 hex digest over the settings and the (id, label, text) of every input.

    ``options`` should be the resolved options (defaults included), so that passing a
    default explicitly gives the same key as leaving it out.
    """
    digest = hashlib.sha256()
    header = {
        "format": CACHE_FORMAT, "method": method, "options": options, "seed": seed,
        "copies": copies, "per_class": per_class,
    }
    digest.update(json.dumps(header, sort_keys=True, default=str, ensure_ascii=False).encode("utf-8"))
    for example in examples:
        digest.update(b"\n")
        digest.update(json.dumps([example.id, example.label, example.text], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def cache_path(cache_dir: str | Path, method: str, key: str) -> Path:
    """Return the file that contains the augmented set of ``key``."""
    return Path(cache_dir) / f"{method}-{key[:32]}.jsonl"


def load_cached(path: Path, key: str) -> tuple[list[Example], dict[str, Any]] | None:
    """Read a cached set; return None when the file is absent, unreadable or for another key.

    A damaged file counts as a miss, and it is logged, because the caller can rebuild it.
    """
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            if header.get("key") != key or header.get("format") != CACHE_FORMAT:
                log.warning("augment cache %s belongs to another key; rebuilding it", path)
                return None
            examples = [Example(**json.loads(line)) for line in handle if line.strip()]
    except (OSError, ValueError, TypeError) as exc:
        log.warning("augment cache %s is unreadable (%s); rebuilding it", path, exc)
        return None
    if len(examples) != header.get("count"):
        log.warning("augment cache %s contains %d examples, but its header expects %s; rebuilding it", path, len(examples), header.get("count"))
        return None
    return examples, header["stats"]


def store(path: Path, key: str, examples: Sequence[Example], stats: Mapping[str, Any]) -> None:
    """Write a set atomically: a header line with the key and stats, then one example per line."""
    header = {"format": CACHE_FORMAT, "key": key, "count": len(examples), "stats": dict(stats)}
    write_jsonl_atomic(path, [header, *(example.to_dict() for example in examples)])


def checkpoint_dir(path: Path) -> Path:
    """Return the folder of saved chunks of the unfinished run whose result goes to ``path``."""
    return path.with_name(path.stem + ".partial")


def store_checkpoint(folder: Path, index: int, outputs: Sequence[tuple[str, str]]) -> None:
    """Save the ``(text, operation)`` outputs of chunk ``index`` atomically."""
    write_jsonl_atomic(folder / f"{index:06d}.jsonl", ({"text": text, "operation": operation} for text, operation in outputs))


def load_checkpoint(folder: Path, index: int, expected: int) -> list[tuple[str, str]] | None:
    """Read chunk ``index``; return None when it is missing, unreadable or not ``expected`` outputs long."""
    path = folder / f"{index:06d}.jsonl"
    if not path.is_file():
        return None
    try:
        with path.open(encoding="utf-8") as handle:
            outputs = [(record["text"], record["operation"]) for record in map(json.loads, handle) if record]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        log.warning("augment checkpoint %s is unreadable (%s); augmenting that chunk again", path, exc)
        return None
    if len(outputs) != expected:
        log.warning("augment checkpoint %s contains %d outputs, expected %d; augmenting that chunk again", path, len(outputs), expected)
        return None
    return outputs


def remove_checkpoints(folder: Path) -> None:
    """Delete the saved chunks of a finished run."""
    shutil.rmtree(folder, ignore_errors=True)
