"""Balanced sampling, EDA with real WordNet offline, seeds and the cache of admelabel.augment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from admelabel.augment import AUGMENT_METHODS, augment_examples, balanced_sample, default_cache_dir
from admelabel.augment.eda import EDAAugmenter, wordnet_tag
from admelabel.augment.sentences import split_sentences
from admelabel.dataset import Example, load_examples, normalize_text
from admelabel.errors import DataError

FIXTURE = Path(__file__).parent / "fixtures" / "augment_small.jsonl"
REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small() -> list[Example]:
    return load_examples(FIXTURE)


def test_methods_constant():
    assert AUGMENT_METHODS == ("backtranslate", "eda", "apertium")


def test_default_cache_dir_follows_home(monkeypatch, tmp_path):
    monkeypatch.setenv("ADMELABEL_HOME", str(tmp_path))
    assert default_cache_dir() == tmp_path / "augment-cache"
    monkeypatch.delenv("ADMELABEL_HOME")
    assert default_cache_dir() == Path("data") / "augment-cache"


# --- balanced sampling -------------------------------------------------------------


def test_sample_defaults_to_largest_class(small):
    sample = balanced_sample(small, seed=0)
    counts = Counter(example.label for example in sample)
    assert set(counts) == {"Absorption", "Distribution", "Metabolism", "Excretion", "Other"}
    assert set(counts.values()) == {4}


def test_sample_small_class_uses_every_example(small):
    sample = balanced_sample(small, per_class=5, seed=0)
    metabolism = Counter(example.id for example in sample if example.label == "Metabolism")
    # Two Metabolism examples, five draws: each is drawn twice, one of them a third time.
    assert sorted(metabolism.values()) == [2, 3]


def test_sample_large_class_without_replacement(small):
    sample = balanced_sample(small, per_class=3, seed=0)
    absorption = [example.id for example in sample if example.label == "Absorption"]
    assert len(absorption) == 3
    assert len(set(absorption)) == 3


def test_sample_is_seeded(small):
    first = [example.id for example in balanced_sample(small, per_class=3, seed=7)]
    again = [example.id for example in balanced_sample(small, per_class=3, seed=7)]
    other = [example.id for example in balanced_sample(small, per_class=3, seed=8)]
    assert first == again
    assert first != other


def test_sample_rejects_bad_values(small):
    with pytest.raises(ValueError, match="per_class must be at least 1, got 0"):
        balanced_sample(small, per_class=0)
    with pytest.raises(DataError):
        balanced_sample([])


# --- argument checks ---------------------------------------------------------------


def test_unknown_method_names_value(small):
    with pytest.raises(ValueError, match="unknown augmentation method 'paraphrase'"):
        augment_examples(small, method="paraphrase")


def test_unknown_option_names_value(small):
    with pytest.raises(ValueError, match="unknown option.*temperature"):
        augment_examples(small, method="eda", temperature=0.7)


def test_bad_copies_and_empty_input(small):
    with pytest.raises(ValueError, match="copies must be at least 1, got 0"):
        augment_examples(small, method="eda", copies=0)
    with pytest.raises(DataError, match="no examples"):
        augment_examples([], method="eda")


def test_eda_rejects_unknown_operation(small):
    with pytest.raises(ValueError, match="insert"):
        augment_examples(small, method="eda", operations=("insert",))


# --- EDA with real WordNet -----------------------------------------------------------


def test_wordnet_tags_follow_most_frequent_sense():
    assert wordnet_tag("drug") == "NN"
    assert wordnet_tag("reached") == "VB"
    assert wordnet_tag("rapidly") == "RB"
    assert wordnet_tag("unchanged") == "JJ"
    # Skipped by nlpaug: auxiliaries, tokens with digits, words WordNet lacks.
    assert wordnet_tag("is") == "DT"
    assert wordnet_tag("CYP3A4") == "DT"
    assert wordnet_tag("tromethamine") == "DT"


def test_eda_changes_text_keeps_labels(small):
    result = augment_examples(small, method="eda", per_class=4, copies=3, seed=1)
    by_id = {example.id: example for example in small}

    assert result.stats["cache_hit"] is False
    assert len(result.examples) == sum(counts["produced"] for counts in result.class_stats().values())
    for label, counts in result.class_stats().items():
        assert counts["sampled"] == 4, label
        assert counts["produced"] + counts["dropped_identical"] + counts["dropped_empty"] == 12, label
        assert counts["produced"] >= 10, label

    for example in result.examples:
        source = by_id[example.meta["source_id"]]
        assert example.label == source.label
        assert example.id.startswith(source.id + "#aug")
        assert example.meta["method"] == "eda"
        assert normalize_text(example.text) != normalize_text(source.text)
    assert len({example.id for example in result.examples}) == len(result.examples)
    assert {example.meta["operation"] for example in result.examples} == {"synonym", "swap", "delete"}


def test_eda_synonyms_come_from_wordnet(small):
    result = augment_examples(small, method="eda", operations=("synonym",), per_class=3, seed=2)
    by_id = {example.id: example for example in small}
    replaced = 0
    for example in result.examples:
        source_words = set(normalize_text(by_id[example.meta["source_id"]].text).split())
        new_words = set(normalize_text(example.text).split()) - source_words
        replaced += bool(new_words)
        assert example.meta["operation"] == "synonym"
    assert replaced == len(result.examples) > 10


def test_eda_same_seed_same_output(small):
    first = augment_examples(small, method="eda", per_class=3, copies=2, seed=5)
    again = augment_examples(small, method="eda", per_class=3, copies=2, seed=5)
    other = augment_examples(small, method="eda", per_class=3, copies=2, seed=6)
    assert [(e.id, e.text) for e in first.examples] == [(e.id, e.text) for e in again.examples]
    assert [(e.id, e.text) for e in first.examples] != [(e.id, e.text) for e in other.examples]


def test_missing_wordnet_says_how_to_install():
    # A fresh interpreter whose nltk search path contains no WordNet.
    code = (
        "import nltk; nltk.data.path[:] = ['/nonexistent-nltk-data']\n"
        "from admelabel.augment.eda import check_wordnet\n"
        "check_wordnet()\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert completed.returncode != 0
    assert "MissingToolError" in completed.stderr
    assert "python -m admelabel.augment.wordnet_data install" in completed.stderr
    assert "apt-get install wordnet-base wordnet-sense-index" in completed.stderr


# --- cache -------------------------------------------------------------------------


def test_cache_hit_constructs_no_augmenter(small, tmp_path, monkeypatch):
    first = augment_examples(small, method="eda", per_class=2, copies=2, seed=3, cache_dir=tmp_path)
    files = list(tmp_path.glob("eda-*.jsonl"))
    assert len(files) == 1
    assert not list(tmp_path.glob(".*.tmp"))

    def fail(*args, **kwargs):
        raise AssertionError("augmenter constructed on a cache hit")

    monkeypatch.setattr(EDAAugmenter, "__init__", fail)
    second = augment_examples(small, method="eda", per_class=2, copies=2, seed=3, cache_dir=tmp_path)
    assert second.stats["cache_hit"] is True
    assert second.class_stats() == first.class_stats()
    assert [(e.id, e.text, e.label, e.meta) for e in second.examples] == [(e.id, e.text, e.label, e.meta) for e in first.examples]

    # Any change of inputs or settings is a miss, which here reaches the failing constructor.
    with pytest.raises(AssertionError, match="cache hit"):
        augment_examples(small, method="eda", per_class=2, copies=2, seed=4, cache_dir=tmp_path)
    with pytest.raises(AssertionError, match="cache hit"):
        augment_examples(small[:-1], method="eda", per_class=2, copies=2, seed=3, cache_dir=tmp_path)


def test_damaged_cache_is_rebuilt(small, tmp_path):
    augment_examples(small, method="eda", per_class=1, seed=3, cache_dir=tmp_path)
    (path,) = tmp_path.glob("eda-*.jsonl")
    lines = path.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert header["count"] == len(lines) - 1
    path.write_text("\n".join(lines[:-1]) + "\n", encoding="utf-8")

    result = augment_examples(small, method="eda", per_class=1, seed=3, cache_dir=tmp_path)
    assert result.stats["cache_hit"] is False
    assert len(path.read_text(encoding="utf-8").splitlines()) == len(lines)


# --- sentence splitting --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Cmax was approx. 0.5 mg/L. It fell after 2 h. Done.", ["Cmax was approx. 0.5 mg/L.", "It fell after 2 h.", "Done."]),
        ("See Fig. 2 and e.g. Table 3 (J. Smith et al. 2001).", ["See Fig. 2 and e.g. Table 3 (J. Smith et al. 2001)."]),
        ("Is it renal? Yes! 40% is renal.", ["Is it renal?", "Yes!", "40% is renal."]),
        ("no final period", ["no final period"]),
        ("   ", []),
    ],
)
def test_split_sentences(text, expected):
    assert split_sentences(text) == expected


def test_tokenize_round_trip():
    from admelabel.augment.eda import detokenize, tokenize

    text = "Five metabolites (4’-hydroxy-, 5-hydroxy-) were found; about 70% of the first-pass dose [see Table 2]. Cmax was 0.5 mg/kg."
    tokens = tokenize(text)
    assert tokens[:4] == ["Five", "metabolites", "(", "4’-hydroxy-"]
    assert "first-pass" in tokens
    assert "mg/kg" in tokens
    assert detokenize(tokens) == text


def test_eda_keeps_numbers(small):
    result = augment_examples(small, method="eda", operations=("delete",), per_class=4, copies=2, seed=0, delete_p=0.5)
    from admelabel.augment.eda import tokenize

    def numbers(text: str) -> list[str]:
        return [token for token in tokenize(text) if any(char.isdigit() for char in token)]

    by_id = {example.id: example for example in small}
    assert result.examples
    for example in result.examples:
        assert numbers(example.text) == numbers(by_id[example.meta["source_id"]].text)


def test_interrupted_run_resumes(small, tmp_path, monkeypatch):
    import admelabel.augment.core as core

    monkeypatch.setattr(core, "CHECKPOINT_JOBS", 4)
    expected = augment_examples(small, method="eda", per_class=2, copies=2, seed=9)

    calls: list[int] = []
    interrupt = [True]
    original = EDAAugmenter.augment

    def fail_on_third_chunk(self, jobs, progress=None):
        calls.append(len(jobs))
        if interrupt[0] and len(calls) == 3:
            raise RuntimeError("simulated interruption")
        return original(self, jobs, progress)

    monkeypatch.setattr(EDAAugmenter, "augment", fail_on_third_chunk)
    with pytest.raises(RuntimeError, match="simulated interruption"):
        augment_examples(small, method="eda", per_class=2, copies=2, seed=9, cache_dir=tmp_path)
    (partial,) = tmp_path.glob("eda-*.partial")
    assert len(list(partial.glob("*.jsonl"))) == 2

    # 5 classes x 2 draws x 2 copies = 20 outputs in 5 chunks; 2 were saved.
    calls.clear()
    interrupt[0] = False
    resumed = augment_examples(small, method="eda", per_class=2, copies=2, seed=9, cache_dir=tmp_path)
    assert calls == [4, 4, 4]
    assert [(e.id, e.text) for e in resumed.examples] == [(e.id, e.text) for e in expected.examples]
    assert not partial.exists()
