"""Back-translation through Apertium (English -> Spanish -> English) on real PK paragraphs.

Skipped when the Debian packages apertium and apertium-eng-spa are not installed;
scripts/install.sh installs them, so CI runs these tests.
"""

from __future__ import annotations

import shutil

import pytest

from admelabel.augment import MissingToolError, augment_examples, create_augmenter
from admelabel.augment.apertium import check_apertium
from admelabel.dataset import deduplicate, examples_from_records

pytestmark = pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium not installed (apt-get install apertium apertium-eng-spa)")


@pytest.fixture(scope="module")
def pk_paragraphs(shared_spl):
    """Labelled PK paragraphs of ten words or more from the first real labels, de-duplicated."""
    from admelabel.extract import extract_records

    files = sorted(shared_spl.glob("*.xml"))[:40]
    examples = deduplicate(examples_from_records(extract_records(files)))
    examples = [example for example in examples if len(example.text.split()) >= 10]
    assert len({example.label for example in examples}) >= 4
    return examples


def test_apertium_back_translates_real_paragraphs(pk_paragraphs):
    result = augment_examples(pk_paragraphs, method="apertium", per_class=3, seed=0, batch_size=4)
    by_id = {example.id: example for example in pk_paragraphs}

    for label, counts in result.class_stats().items():
        assert counts["sampled"] == 3, label
        assert counts["produced"] + counts["dropped_identical"] + counts["dropped_empty"] == 3, label
    assert len(result.examples) >= 10
    for example in result.examples:
        source = by_id[example.meta["source_id"]]
        assert example.label == source.label
        assert example.meta == {"source_id": source.id, "method": "apertium", "operation": "spa"}
        # Back in English, of similar length, and not a copy.
        assert example.text != source.text
        assert 0.5 < len(example.text.split()) / len(source.text.split()) < 2.0
        assert " the " in f" {example.text.lower()} " or " of " in f" {example.text.lower()} "


def test_separator_keeps_paragraphs_apart():
    augmenter = create_augmenter("apertium")
    texts = ["The drug is absorbed rapidly.", "", "Metabolism occurs in the liver.\nIt is extensive.", "Excretion is renal."]
    outputs = augmenter.back_translate(texts)
    assert len(outputs) == 4
    assert "absorbed" in outputs[0]
    assert outputs[1] == ""
    assert "liver" in outputs[2]
    assert "renal" in outputs[3]


def test_missing_executable_names_packages():
    with pytest.raises(MissingToolError, match="'apertium-not-installed' not found on PATH.*apertium-eng-spa"):
        check_apertium("apertium-not-installed")


def test_same_input_same_output(pk_paragraphs):
    first = augment_examples(pk_paragraphs[:6], method="apertium", per_class=1, seed=0)
    again = augment_examples(pk_paragraphs[:6], method="apertium", per_class=1, seed=0)
    assert [(e.id, e.text) for e in first.examples] == [(e.id, e.text) for e in again.examples]
