"""Back-translation end to end through nlpaug with tiny, randomly initialised Marian pairs.

No MarianMT weights can be downloaded here, so the models translate into nonsense;
the loading, sentence splitting, truncation, batching and labelling are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from admelabel.augment import augment_examples, create_augmenter
from admelabel.augment.backtranslation import parse_model_pairs
from admelabel.dataset import Example, load_examples
from admelabel.errors import ModelError
from tests.tiny_marian import build_tiny_marian

FIXTURE = Path(__file__).parent / "fixtures" / "augment_small.jsonl"
MAX_POSITIONS = 64


@pytest.fixture(scope="module")
def model_pairs(tmp_path_factory) -> list[str]:
    root = tmp_path_factory.mktemp("marian")
    forward = build_tiny_marian(root / "en-xx", max_positions=MAX_POSITIONS, seed=0)
    backward = build_tiny_marian(root / "xx-en", max_positions=MAX_POSITIONS, seed=1)
    return [f"de={forward},{backward}", f"ru={backward},{forward}"]


def test_backtranslate_end_to_end(model_pairs):
    small = load_examples(FIXTURE)
    # One sentence far over the model's 64 positions: it crashes the model unless truncated.
    long_text = " ".join(["Plasma protein binding is approximately 95 percent in adults"] * 25) + ". It is renal."
    examples = [*small, Example(id="long", text=long_text, label="Metabolism")]

    result = augment_examples(
        examples, method="backtranslate", per_class=2, copies=2, seed=0,
        model_pairs=model_pairs, device="cpu", batch_size=3, max_length=16,
    )

    by_id = {example.id: example for example in examples}
    for label, counts in result.class_stats().items():
        assert counts["sampled"] == 2, label
        assert counts["produced"] + counts["dropped_identical"] + counts["dropped_empty"] == 4, label
    assert len(result.examples) == sum(counts["produced"] for counts in result.class_stats().values())
    assert len(result.examples) > 0
    for example in result.examples:
        assert example.label == by_id[example.meta["source_id"]].label
        assert example.meta["method"] == "backtranslate"
        assert example.text.strip()
    assert len({example.id for example in result.examples}) == len(result.examples)
    # Two copies of each draw go through different pivots.
    assert {example.meta["operation"] for example in result.examples} == {"de", "ru"}


def test_long_paragraph_is_truncated(model_pairs):
    augmenter = create_augmenter("backtranslate", model_pairs=model_pairs[:1], device="cpu", batch_size=2, max_length=512)
    tokenizer = augmenter._augmenters["de"].model.src_tokenizer
    sentence = " ".join(["The elimination half-life is 12 hours in healthy adults"] * 20)
    assert len(tokenizer.tokenize(sentence)) > MAX_POSITIONS

    # The model's position limit (64) wins over max_length=512, for inputs and outputs.
    assert augmenter._augmenters["de"].model.max_length == MAX_POSITIONS
    outputs = augmenter.translate("de", [sentence, "Short one.", sentence + " again"])
    assert len(outputs) == 3
    assert all(isinstance(output, str) for output in outputs)


def test_missing_model_folder(tmp_path):
    missing = tmp_path / "no-such-model"
    with pytest.raises(ModelError, match="model folder not found: .*no-such-model"):
        create_augmenter("backtranslate", model_pairs=[f"de={missing},{missing}"], device="cpu")


def test_parse_model_pairs():
    assert parse_model_pairs(None)["de"] == ("Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-de-en")
    assert parse_model_pairs(None)["ru"] == ("Helsinki-NLP/opus-mt-en-ru", "Helsinki-NLP/opus-mt-ru-en")
    assert parse_model_pairs(["es=a/b, c/d"]) == {"es": ("a/b", "c/d")}
    with pytest.raises(ValueError, match="PIVOT=FORWARD,BACKWARD"):
        parse_model_pairs(["a/b,c/d"])
    with pytest.raises(ValueError, match="two model names"):
        parse_model_pairs(["es=a/b"])


def test_hub_model_offline_names_model():
    # A fresh interpreter with the Hugging Face client offline, so the load fails at once.
    import os
    import subprocess
    import sys

    code = (
        "from admelabel.augment import create_augmenter\n"
        "create_augmenter('backtranslate', model_pairs=['de=Helsinki-NLP/opus-mt-en-de,Helsinki-NLP/opus-mt-de-en'], device='cpu')\n"
    )
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(root)}
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=300)
    assert completed.returncode != 0
    assert "ModelError" in completed.stderr
    assert "Helsinki-NLP/opus-mt-en-de" in completed.stderr
    assert "--method apertium" in completed.stderr
