"""Reading training examples from SPL labels or a dataset JSONL, and describing a split."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from admelabel.dataset import Example, class_counts, count_overlap, examples_from_records, fingerprint, load_examples
from admelabel.errors import DataError, InputError


def load_training_examples(inputs: Sequence[str | os.PathLike[str]]) -> tuple[list[Example], dict[str, Any]]:
    """Return the labelled examples of ``inputs`` and a summary of where they came from.

    Inputs ending in ``.jsonl`` are read as datasets written by ``admelabel extract``.
    ``corpus:`` and ``corpus:SETID,...`` read the newest version of labels in the
    fetched corpus (``$ADMELABEL_HOME`` or ``./data``). Anything else (SPL XML files,
    folders, zips) is extracted
    with the heading rules. Inputs of both kinds can be mixed. Unreadable SPL inputs are skipped
    and counted in ``summary["failures"]``.

    Raises
    ------
    InputError
        For a path that does not exist.
    DataError
        When no labelled example is found.
    """
    from admelabel.extract import ExtractSummary, extract_records

    from admelabel.dailymed.store import CORPUS_PREFIX

    corpus = [str(item) for item in inputs if str(item).startswith(CORPUS_PREFIX)]
    paths = [Path(item) for item in inputs if not str(item).startswith(CORPUS_PREFIX)]
    if not paths and not corpus:
        raise DataError("no input given; pass SPL files, folders, zips, corpus: or a dataset JSONL")
    for path in paths:
        if not path.exists():
            raise InputError(path, "not found; pass SPL files, folders, zips, corpus: or a dataset JSONL written by 'admelabel extract'")

    examples: list[Example] = []
    datasets = [path for path in paths if path.suffix == ".jsonl"]
    labels: list[str | Path] = [path for path in paths if path.suffix != ".jsonl"] + corpus
    for path in datasets:
        examples.extend(load_examples(path))
    summary: dict[str, Any] = {"inputs": [str(path) for path in paths] + corpus, "failures": []}
    if labels:
        extract_summary = ExtractSummary()
        examples.extend(examples_from_records(extract_records(labels, summary=extract_summary)))
        summary["labels_read"] = extract_summary.labels_read
        summary["failures"] = [f"{source}: {reason}" for source, reason in extract_summary.failures]
    if not examples:
        failures = summary["failures"]
        detail = f" ({len(failures)} input(s) could not be read: {'; '.join(failures[:3])})" if failures else ""
        raise DataError(f"no labelled PK paragraphs found in {', '.join(map(str, paths + corpus))}{detail}; "
                        "pass DailyMed SPL labels that have a Pharmacokinetics section, or a dataset JSONL "
                        "written by 'admelabel extract'")
    summary["n_examples"] = len(examples)
    return examples, summary


def describe_split(
    train: Sequence[Example],
    test: Sequence[Example],
    *,
    labels: Sequence[str],
    mode: str,
    test_size: float,
    seed: int,
) -> dict[str, Any]:
    """Return the data fingerprint of a split: mode, sizes, class counts, overlap and SHA-256 of each side."""
    return {
        "split": mode,
        "test_size": test_size,
        "seed": seed,
        "labels": list(labels),
        "n_train": len(train),
        "n_test": len(test),
        "train_class_counts": class_counts(train, labels),
        "test_class_counts": class_counts(test, labels),
        "test_texts_in_train": count_overlap(train, test),
        "train_sha256": fingerprint(train),
        "test_sha256": fingerprint(test),
    }
