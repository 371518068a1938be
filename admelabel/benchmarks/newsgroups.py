"""The 20 Newsgroups "bydate" split: loader and download.

``20news-bydate.tar.gz`` extracts to ``20news-bydate-train/<group>/<id>`` and
``20news-bydate-test/<group>/<id>``: one Usenet message per file, named by its
numeric article id, with a header block (From:, Subject:, Organization:, Lines:
...), a blank line and the body, encoded in Latin-1. The training split contains
11,314 messages.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from admelabel.benchmarks.data import BenchmarkData, DatasetSpec, locate_dataset
from admelabel.benchmarks.download import ProgressCallback
from admelabel.dataset import Example
from admelabel.errors import DataError

__all__ = [
    "NEWSGROUPS",
    "NEWSGROUPS_URL",
    "REMOVABLE_PARTS",
    "find_newsgroups_root",
    "load_newsgroups",
    "read_newsgroups_split",
    "strip_message",
]

NEWSGROUPS_URL = "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz"
REMOVABLE_PARTS = ("headers", "footers", "quotes")
_SPLIT_DIRS = {"train": "20news-bydate-train", "test": "20news-bydate-test"}


def find_newsgroups_root(path: Path) -> Path | None:
    """Return the folder at or directly under ``path`` that contains both split folders, or None."""
    for candidate in (path, path / "20news-bydate"):
        if all((candidate / name).is_dir() for name in _SPLIT_DIRS.values()):
            return candidate
    return None


NEWSGROUPS = DatasetSpec(
    name="20 Newsgroups",
    archive="20news-bydate.tar.gz",
    url=NEWSGROUPS_URL,
    extract_dir="20news-bydate",
    find_root=find_newsgroups_root,
)


def _check_remove(remove: Iterable[str]) -> tuple[str, ...]:
    remove = tuple(remove)
    unknown = [part for part in remove if part not in REMOVABLE_PARTS]
    if unknown:
        raise ValueError(f"remove may contain {', '.join(REMOVABLE_PARTS)}; got {', '.join(unknown)}")
    return remove


def strip_message(text: str, remove: Iterable[str] = REMOVABLE_PARTS) -> str:
    """Remove headers, signature blocks and quoted lines from one message.

    Uses scikit-learn's own helpers (``sklearn.datasets._twenty_newsgroups``,
    checked with scikit-learn 1.9.1), so the text equals what
    ``fetch_20newsgroups(remove=...)`` returns. ``headers`` drops everything up to
    the first blank line, ``footers`` the block after the last blank line or line of
    hyphens, ``quotes`` the lines that start with ``>`` or ``|`` and lines such as
    "... writes:" or "In article ..." that introduce a quotation.
    """
    from sklearn.datasets._twenty_newsgroups import (
        strip_newsgroup_footer,
        strip_newsgroup_header,
        strip_newsgroup_quoting,
    )

    remove = _check_remove(remove)
    if "headers" in remove:
        text = strip_newsgroup_header(text)
    if "footers" in remove:
        text = strip_newsgroup_footer(text)
    if "quotes" in remove:
        text = strip_newsgroup_quoting(text)
    return text


def _article_sort_key(path: Path) -> tuple[int, str]:
    return (int(path.name), path.name) if path.name.isdigit() else (-1, path.name)


def read_newsgroups_split(root: str | Path, split: str, *, remove: Iterable[str] = REMOVABLE_PARTS) -> tuple[list[Example], list[str]]:
    """Read one split ("train" or "test") of the bydate layout.

    Returns the examples and the group names in sorted order. Each example has the id
    ``20ng-<split>-<group>-<article id>``, the group name as label, and ``meta`` with
    the file path relative to ``root``. Files are decoded as Latin-1, so every byte
    maps to a character. Parts named in ``remove`` are stripped with ``strip_message``.

    Raises ``DataError`` when the split folder has no group folders or a group folder
    contains a file whose name is not a number.
    """
    root = Path(root)
    remove = _check_remove(remove)
    split_dir = root / _SPLIT_DIRS[split]
    groups = sorted(child.name for child in split_dir.iterdir() if child.is_dir())
    if not groups:
        raise DataError(f"{split_dir}: no newsgroup folders found")
    examples = []
    for group in groups:
        for path in sorted((split_dir / group).iterdir(), key=_article_sort_key):
            if not path.is_file():
                continue
            if not path.name.isdigit():
                raise DataError(f"{path}: 20 Newsgroups message files are named by their numeric article id")
            text = strip_message(path.read_text(encoding="latin-1"), remove)
            examples.append(
                Example(
                    id=f"20ng-{split}-{group}-{path.name}",
                    text=text,
                    label=group,
                    meta={"file": path.relative_to(root).as_posix()},
                )
            )
    return examples, groups


def load_newsgroups(
    data: str | Path | None = None,
    *,
    data_dir: str | Path = "data",
    download: bool = True,
    url: str | None = None,
    sha256: str | None = None,
    remove: Iterable[str] = REMOVABLE_PARTS,
    progress: ProgressCallback | None = None,
) -> BenchmarkData:
    """Load the 20 Newsgroups bydate train and test splits, downloading the archive if needed.

    ``remove`` defaults to all of headers, footers and quotes, because headers,
    signatures and quoted replies identify the posters and let a model score well
    without reading the topic (the reason scikit-learn's documentation gives for its
    ``remove`` option). Pass ``()`` to keep the raw messages. ``data``, ``data_dir``, ``download``,
    ``url`` and ``sha256`` are as in ``locate_dataset``.

    Raises ``DataError`` when the train and test splits have different groups.
    """
    remove = _check_remove(remove)
    root = locate_dataset(
        NEWSGROUPS, data=data, data_dir=data_dir, download=download, url=url, sha256=sha256, progress=progress
    )
    train, train_groups = read_newsgroups_split(root, "train", remove=remove)
    test, test_groups = read_newsgroups_split(root, "test", remove=remove)
    if train_groups != test_groups:
        only = sorted(set(train_groups) ^ set(test_groups))
        raise DataError(f"{root}: train and test have different newsgroups ({', '.join(only)})")
    return BenchmarkData(
        name="20ng",
        train=train,
        test=test,
        labels=train_groups,
        root=root,
        options={"remove": list(remove)},
    )
