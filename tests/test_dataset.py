"""Examples, de-duplication and seeded splits."""

from __future__ import annotations

from collections import Counter

import pytest

from admelabel.dataset import (
    Example,
    class_counts,
    count_overlap,
    deduplicate,
    drug_key,
    fingerprint,
    holdout_split,
    kfold_splits,
    normalize_text,
    oversample,
)
from admelabel.errors import DataError

LABELS5 = ["Absorption", "Distribution", "Metabolism", "Excretion", "Other"]


def make_examples(copies: int = 3, per_class: int = 12) -> list[Example]:
    examples = []
    for label in LABELS5:
        for i in range(per_class):
            for copy in range(copies):
                text = f"{label} paragraph number {i}" if copy == 0 else f"  {label.upper()} paragraph   number {i} "
                examples.append(Example(id=f"{label}-{i}-{copy}", text=text, label=label, group=f"drug{i % 6}"))
    return examples


def test_normalize_text_folds_case_and_space():
    assert normalize_text("  Naproxen\n is  ABSORBED ") == "naproxen is absorbed"


def test_drug_key_uses_generic_name():
    assert drug_key("Naproxen Sodium (naproxen sodium)") == "naproxen sodium"
    assert drug_key("ALEVE") == "aleve"
    assert drug_key("", "ABC") == "abc"


def test_deduplicate_counts_and_majority_label():
    examples = [
        Example("a", "Same text", "Absorption", "x"),
        Example("b", "same   TEXT", "Distribution", "y"),
        Example("c", "Same text.", "Other", "x"),
        Example("d", "SAME TEXT", "Distribution", "z"),
    ]
    folded = deduplicate(examples)
    assert [e.id for e in folded] == ["a", "c"]
    assert folded[0].label == "Distribution"
    assert folded[0].count == 3
    assert folded[0].meta["groups"] == ["x", "y", "z"]


def test_random_holdout_is_seeded_and_stratified():
    examples = make_examples()
    train1, test1 = holdout_split(examples, test_size=0.15, seed=7)
    train2, test2 = holdout_split(examples, test_size=0.15, seed=7)
    assert [e.id for e in test1] == [e.id for e in test2]
    assert len(test1) == 27
    assert len(train1) + len(test1) == len(examples)
    assert set(Counter(e.label for e in test1).values()) <= {5, 6}
    assert count_overlap(train1, test1) > 0  # copies land on both sides in random mode


@pytest.mark.parametrize("mode", ["dedup", "group-text"])
def test_text_modes_have_no_overlap(mode):
    train, test = holdout_split(make_examples(), test_size=0.2, seed=1, mode=mode)
    assert count_overlap(train, test) == 0
    assert test


def test_group_drug_keeps_drugs_apart():
    train, test = holdout_split(make_examples(), test_size=0.3, seed=3, mode="group-drug")
    assert {e.group for e in train}.isdisjoint({e.group for e in test})


def test_kfold_covers_every_example_once():
    examples = make_examples(copies=1)
    folds = kfold_splits(examples, n_splits=5, seed=0)
    test_ids = [e.id for _, test in folds for e in test]
    assert sorted(test_ids) == sorted(e.id for e in examples)
    for train, test in folds:
        assert {e.id for e in train}.isdisjoint({e.id for e in test})


def test_grouped_kfold_needs_enough_groups():
    examples = make_examples(copies=1, per_class=2)
    with pytest.raises(DataError, match="needs at least 5 groups, got 2"):
        kfold_splits(examples, n_splits=5, mode="group-drug")


def test_invalid_split_arguments():
    with pytest.raises(ValueError, match="test_size must be between 0 and 1, got 1.5"):
        holdout_split(make_examples(), test_size=1.5)
    with pytest.raises(ValueError, match="split mode must be one of"):
        holdout_split(make_examples(), mode="bydrug")
    with pytest.raises(ValueError, match="n_splits must be at least 2, got 1"):
        kfold_splits(make_examples(), n_splits=1)


def test_oversample_balances_classes():
    examples = [Example(str(i), f"t{i}", "Other") for i in range(10)] + [Example("m", "m", "Metabolism")]
    balanced = oversample(examples, seed=0)
    assert class_counts(balanced, ["Other", "Metabolism"]) == {"Other": 10, "Metabolism": 10}
    assert oversample(examples, seed=0) == balanced


def test_fingerprint_changes_with_labels():
    examples = make_examples(copies=1, per_class=2)
    changed = [Example(e.id, e.text, "Other" if i == 0 else e.label, e.group) for i, e in enumerate(examples)]
    assert fingerprint(examples) == fingerprint(list(examples))
    assert fingerprint(examples) != fingerprint(changed)


def test_holdout_tiny_set_falls_back_to_shuffle():
    examples = [Example(str(i), f"text {i}", LABELS5[i % 5]) for i in range(10)]
    train, test = holdout_split(examples, test_size=0.15, seed=0)
    assert len(test) == 2
    assert len(train) == 8
