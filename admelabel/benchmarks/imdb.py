"""The IMDB Large Movie Review Dataset (Maas et al. 2011): loader and download.

The archive ``aclImdb_v1.tar.gz`` extracts to ``aclImdb/{train,test}/{pos,neg}/``,
one review per file named ``<id>_<rating>.txt`` with the star rating 1 to 10.
Negative reviews have a rating of at most 4 and positive ones at least 7; the
dataset's README states 12,500 of each class in each split. ``unsup/``, the
bag-of-words files and the URL lists are not read.
"""

from __future__ import annotations

import re
from pathlib import Path

from admelabel.benchmarks.data import BenchmarkData, DatasetSpec, locate_dataset
from admelabel.benchmarks.download import ProgressCallback
from admelabel.dataset import Example
from admelabel.errors import DataError

__all__ = ["IMDB", "IMDB_LABELS", "IMDB_URL", "find_imdb_root", "load_imdb", "read_imdb_split"]

IMDB_URL = "https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz"
IMDB_LABELS = ["neg", "pos"]

_FILE_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_LINE_BREAK = re.compile(r"<br\s*/?>", re.IGNORECASE)
_RATINGS = {"neg": range(1, 5), "pos": range(7, 11)}


def find_imdb_root(path: Path) -> Path | None:
    """Return the ``aclImdb`` folder at or directly under ``path``, or None."""
    for candidate in (path, path / "aclImdb"):
        if all((candidate / split / label).is_dir() for split in ("train", "test") for label in IMDB_LABELS):
            return candidate
    return None


IMDB = DatasetSpec(
    name="IMDB",
    archive="aclImdb_v1.tar.gz",
    url=IMDB_URL,
    extract_dir="aclImdb_v1",
    find_root=find_imdb_root,
)


def _review_sort_key(path: Path) -> tuple[int, str]:
    match = _FILE_NAME.match(path.name)
    return (int(match.group(1)) if match else -1, path.name)


def read_imdb_split(root: str | Path, split: str) -> list[Example]:
    """Read the labelled reviews of one split ("train" or "test") of an ``aclImdb`` folder.

    Each example has the id ``imdb-<split>-<label>-<review id>``, the label ``neg``
    or ``pos``, and ``meta`` with the star rating and the file path relative to the
    root. HTML line breaks (``<br />``) in the reviews become spaces. Files are read
    in order of review id, negatives first.

    Raises ``DataError`` for a file name that is not ``<id>_<rating>.txt``, for a
    rating that does not fit the folder's class, or for a split with no reviews.
    """
    root = Path(root)
    examples = []
    for label in IMDB_LABELS:
        folder = root / split / label
        for path in sorted(folder.glob("*.txt"), key=_review_sort_key):
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise DataError(f"{path}: IMDB review files are named <id>_<rating>.txt")
            review_id, rating = match.group(1), int(match.group(2))
            if rating not in _RATINGS[label]:
                raise DataError(f"{path}: rating {rating} does not fit class {label!r} (neg is 1-4, pos is 7-10)")
            text = _LINE_BREAK.sub(" ", path.read_text(encoding="utf-8")).strip()
            examples.append(
                Example(
                    id=f"imdb-{split}-{label}-{review_id}",
                    text=text,
                    label=label,
                    meta={"rating": rating, "file": path.relative_to(root).as_posix()},
                )
            )
    if not examples:
        raise DataError(f"{root / split}: no reviews found in pos/ or neg/")
    return examples


def load_imdb(
    data: str | Path | None = None,
    *,
    data_dir: str | Path = "data",
    download: bool = True,
    url: str | None = None,
    sha256: str | None = None,
    progress: ProgressCallback | None = None,
) -> BenchmarkData:
    """Load the IMDB train and test splits, downloading the archive if needed.

    ``data`` is a local copy (``aclImdb_v1.tar.gz``, the ``aclImdb`` folder or its
    parent). Without it the data is looked up in ``data_dir`` and, when ``download``
    is true, downloaded there from ``url`` (default: the Stanford address). See
    ``locate_dataset`` for the errors.
    """
    root = locate_dataset(
        IMDB, data=data, data_dir=data_dir, download=download, url=url, sha256=sha256, progress=progress
    )
    return BenchmarkData(
        name="imdb",
        train=read_imdb_split(root, "train"),
        test=read_imdb_split(root, "test"),
        labels=list(IMDB_LABELS),
        root=root,
    )
