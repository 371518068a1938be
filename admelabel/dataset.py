"""Labelled examples, de-duplication and seeded splits.

The ADME records written by ``admelabel extract`` repeat a lot: generic labels from
different labelers share paragraphs word for word. A random split then puts copies
of test paragraphs into training and inflates every score, so this module offers
de-duplication and splits grouped by text or by drug, and counts the overlap.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from admelabel import LABELS
from admelabel.errors import DataError, InputError
from admelabel.io import read_jsonl

SplitMode = Literal["random", "dedup", "group-text", "group-drug"]
SPLIT_MODES: tuple[str, ...] = ("random", "dedup", "group-text", "group-drug")

_SPACE = re.compile(r"\s+")
_GENERIC = re.compile(r"\(([^()]+)\)\s*$")


@dataclass(frozen=True)
class Example:
    """One text with its class.

    ``group`` is the drug key used by grouped splits and ``count`` the number of
    copies that de-duplication folded into this example.
    """

    id: str
    text: str
    label: str
    group: str = ""
    count: int = 1
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def normalize_text(text: str) -> str:
    """Fold case and white space; the key under which two paragraphs count as copies."""
    return _SPACE.sub(" ", text).strip().casefold()


def text_key(text: str) -> str:
    """Return a short stable hash of the normalised text."""
    return hashlib.sha1(normalize_text(text).encode("utf-8")).hexdigest()[:16]


def drug_key(title: str, set_id: str = "") -> str:
    """Return the grouping key of a drug from a label title such as ``Naproxen (naproxen)``.

    The generic name in the last brackets is used when present, because generics of
    one drug from many labelers carry the same text. Falls back to the title, then
    to the set id.
    """
    title = (title or "").strip()
    match = _GENERIC.search(title)
    if match:
        return normalize_text(match.group(1))
    if title:
        return normalize_text(title)
    return set_id.lower()


def examples_from_records(records: Iterable[dict[str, Any]], *, labelled_only: bool = True) -> list[Example]:
    """Turn extract records (dicts) into examples.

    Records with ``label`` None (headings, undecidable combined headings) are skipped
    when ``labelled_only`` is true. Raises ``DataError`` for a label outside ``LABELS``.
    """
    examples = []
    for record in records:
        label = record.get("label")
        if label is None:
            if labelled_only:
                continue
            label = ""
        elif label not in LABELS:
            raise DataError(f"record {record.get('id')!r} has label {label!r}; expected one of {', '.join(LABELS)}")
        text = record.get("text") or ""
        if not text.strip():
            continue
        examples.append(
            Example(
                id=str(record.get("id") or text_key(text)),
                text=text,
                label=label,
                group=drug_key(record.get("title", ""), record.get("set_id", "")),
                meta={k: record[k] for k in ("set_id", "version", "rule_id", "section_path") if k in record},
            )
        )
    return examples


def load_examples(path: str | Path, *, labelled_only: bool = True) -> list[Example]:
    """Read a dataset JSONL written by ``admelabel extract`` (or any JSONL with ``text`` and ``label``)."""
    path = Path(path)
    try:
        examples = examples_from_records(read_jsonl(path), labelled_only=labelled_only)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from None
    if not examples:
        raise DataError(f"{path}: no labelled examples; run 'admelabel extract' on SPL labels first")
    return examples


def save_examples(path: str | Path, examples: Iterable[Example]) -> int:
    """Write examples as JSONL atomically and return how many were written."""
    from admelabel.io import write_jsonl_atomic

    return write_jsonl_atomic(path, (example.to_dict() for example in examples))


def deduplicate(examples: Iterable[Example]) -> list[Example]:
    """Fold examples whose normalised text is equal, keeping the first and counting copies.

    When copies disagree on the label, the most frequent label wins (ties go to the
    label seen first), because the heading rules are the same for every copy and a
    disagreement means one layout was read differently.
    """
    order: list[str] = []
    first: dict[str, Example] = {}
    labels: dict[str, Counter[str]] = defaultdict(Counter)
    groups: dict[str, list[str]] = defaultdict(list)
    for example in examples:
        key = normalize_text(example.text)
        if key not in first:
            first[key] = example
            order.append(key)
        labels[key][example.label] += example.count
        if example.group not in groups[key]:
            groups[key].append(example.group)
    folded = []
    for key in order:
        example = first[key]
        counts = labels[key]
        best = max(counts.items(), key=lambda item: (item[1], -list(counts).index(item[0])))[0]
        meta = dict(example.meta)
        meta["groups"] = groups[key]
        folded.append(replace(example, label=best, count=sum(counts.values()), meta=meta))
    return folded


def class_counts(examples: Iterable[Example], labels: Sequence[str] = LABELS) -> dict[str, int]:
    """Count examples per class, in ``labels`` order, including classes with zero."""
    counts = Counter(example.label for example in examples)
    ordered = {label: counts.get(label, 0) for label in labels}
    for label, count in counts.items():
        ordered.setdefault(label, count)
    return ordered


def count_overlap(train: Iterable[Example], test: Iterable[Example]) -> int:
    """Return how many test examples have a normalised text that also occurs in training."""
    seen = {normalize_text(example.text) for example in train}
    return sum(1 for example in test if normalize_text(example.text) in seen)


def _group_ids(examples: Sequence[Example], mode: str) -> list[str] | None:
    if mode == "group-text":
        return [normalize_text(example.text) for example in examples]
    if mode == "group-drug":
        return [example.group or example.id for example in examples]
    return None


def _prepare(examples: Sequence[Example], mode: str) -> list[Example]:
    if mode not in SPLIT_MODES:
        raise ValueError(f"split mode must be one of {', '.join(SPLIT_MODES)}, got {mode!r}")
    examples = list(examples)
    if mode == "dedup":
        examples = deduplicate(examples)
    if len(examples) < 2:
        raise DataError(f"need at least 2 examples to split, got {len(examples)}")
    return examples


def _stratify_labels(examples: Sequence[Example], n_splits: int) -> list[str] | None:
    counts = Counter(example.label for example in examples)
    if min(counts.values()) < n_splits:
        return None
    return [example.label for example in examples]


def holdout_split(
    examples: Sequence[Example],
    *,
    test_size: float = 0.15,
    seed: int = 0,
    mode: SplitMode = "random",
) -> tuple[list[Example], list[Example]]:
    """Split into training and test sets, stratified by class where every class allows it.

    Parameters
    ----------
    examples : sequence of Example
    test_size : float
        Fraction of examples (or of groups, in a grouped mode) put in the test set.
    seed : int
        The same seed gives the same split.
    mode : {"random", "dedup", "group-text", "group-drug"}
        ``random`` splits paragraphs as they are (the published protocol, with copies
        on both sides); ``dedup`` folds copies first; ``group-text`` keeps all copies
        of a text on one side; ``group-drug`` keeps all labels of one drug on one side.

    Raises
    ------
    ValueError
        For a ``test_size`` outside (0, 1) or an unknown mode.
    DataError
        When there are too few examples or groups to split.
    """
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must be between 0 and 1, got {test_size}")
    from sklearn.model_selection import GroupShuffleSplit, StratifiedShuffleSplit, ShuffleSplit

    examples = _prepare(examples, mode)
    groups = _group_ids(examples, mode)
    indices = list(range(len(examples)))
    if groups is not None:
        if len(set(groups)) < 2:
            raise DataError(f"split mode {mode} needs at least 2 groups, got {len(set(groups))}")
        splitter = GroupShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
        train_idx, test_idx = next(splitter.split(indices, groups=groups))
    else:
        strata = _stratify_labels(examples, 2)
        n_classes = len(set(example.label for example in examples))
        n_test = math.ceil(test_size * len(examples))
        if strata is not None and min(n_test, len(examples) - n_test) >= n_classes:
            # Stratification needs room for every class on both sides; tiny sets fall back to a plain shuffle.
            splitter = StratifiedShuffleSplit(n_splits=1, test_size=test_size, random_state=seed)
            train_idx, test_idx = next(splitter.split(indices, strata))
        else:
            train_idx, test_idx = next(ShuffleSplit(n_splits=1, test_size=test_size, random_state=seed).split(indices))
    return [examples[i] for i in sorted(train_idx)], [examples[i] for i in sorted(test_idx)]


def kfold_splits(
    examples: Sequence[Example],
    *,
    n_splits: int = 5,
    seed: int = 0,
    mode: SplitMode = "random",
) -> list[tuple[list[Example], list[Example]]]:
    """Return ``n_splits`` (train, test) pairs of a shuffled, stratified k-fold split.

    Grouped modes use ``StratifiedGroupKFold`` so that no group is on both sides.
    Raises ``ValueError`` when ``n_splits`` < 2 and ``DataError`` when there are
    fewer examples or groups than folds.
    """
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits}")
    from sklearn.model_selection import KFold, StratifiedGroupKFold, StratifiedKFold

    examples = _prepare(examples, mode)
    groups = _group_ids(examples, mode)
    indices = list(range(len(examples)))
    labels = [example.label for example in examples]
    if groups is not None:
        if len(set(groups)) < n_splits:
            raise DataError(f"split mode {mode} needs at least {n_splits} groups, got {len(set(groups))}")
        folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(indices, labels, groups)
    elif len(examples) < n_splits:
        raise DataError(f"need at least {n_splits} examples for {n_splits} folds, got {len(examples)}")
    elif _stratify_labels(examples, n_splits) is not None:
        folds = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed).split(indices, labels)
    else:
        folds = KFold(n_splits=n_splits, shuffle=True, random_state=seed).split(indices)
    return [([examples[i] for i in sorted(tr)], [examples[i] for i in sorted(te)]) for tr, te in folds]


def oversample(examples: Sequence[Example], *, seed: int = 0) -> list[Example]:
    """Randomly duplicate minority-class examples until every class has as many as the largest.

    The result is shuffled with ``seed``; the original examples are all kept.
    """
    by_label: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        by_label[example.label].append(example)
    if not by_label:
        return []
    target = max(len(items) for items in by_label.values())
    rng = random.Random(seed)
    result = list(examples)
    for label in sorted(by_label):
        items = by_label[label]
        result.extend(rng.choice(items) for _ in range(target - len(items)))
    rng.shuffle(result)
    return result


def fingerprint(examples: Iterable[Example]) -> str:
    """Return a SHA-256 over ids, labels and texts: identifies the exact data a model saw."""
    digest = hashlib.sha256()
    for example in examples:
        digest.update(json.dumps([example.id, example.label, example.text], ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def read_examples_any(path: str | Path) -> list[Example]:
    """Read examples from a JSONL file; a thin wrapper kept for callers that pass user paths."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, "dataset file not found; write one with 'admelabel extract PATH --out FILE'")
    return load_examples(path)


# The imbalance builders of the IMDB and 20 Newsgroups benchmarks live with their
# loaders; they are re-exported here because they are dataset operations too.
from admelabel.benchmarks.imbalance import (  # noqa: E402
    ImbalanceSummary,
    imdb_imbalance,
    newsgroups_longtail,
    newsgroups_step,
    ratio_sweep,
)
