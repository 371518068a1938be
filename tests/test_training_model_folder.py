"""Saving, loading and finding model folders."""

from __future__ import annotations

import json

import pytest

from admelabel import LABELS
from admelabel.errors import ModelError
from admelabel.training.model_folder import (
    find_latest_model, load_model_folder, partial_dir, read_model_info, save_model_folder,
)
from admelabel.training.models import load_classifier

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny():
    return load_classifier(None, LABELS, num_hidden_layers=1)


def _save(directory, model, tokenizer, labels=LABELS, metrics=None):
    return save_model_folder(directory, model, tokenizer, labels=labels, settings={"epochs": 1},
                             data_fingerprint={"split": "dedup", "n_train": 3}, metrics=metrics or {"micro_f1": 0.5},
                             method="vanilla")


def test_saved_folder_loads_with_transformers(tmp_path, tiny):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model, tokenizer = tiny
    folder = _save(tmp_path / "m", model, tokenizer)
    loaded = AutoModelForSequenceClassification.from_pretrained(folder)
    AutoTokenizer.from_pretrained(folder)

    assert (folder / "model.safetensors").is_file()
    assert not partial_dir(folder).exists()
    assert loaded.config.id2label == dict(enumerate(LABELS))
    assert loaded.config.label2id == {label: i for i, label in enumerate(LABELS)}
    info = json.loads((folder / "admelabel.json").read_text())
    assert info["task"] == "adme-pk-paragraph-classification"
    assert info["labels"] == list(LABELS)
    assert info["method"] == "vanilla"
    assert info["split"] == "dedup"
    assert info["metrics"] == {"micro_f1": 0.5}
    assert set(info["library_versions"]) >= {"torch", "transformers", "admelabel", "python"}


def test_load_model_folder_returns_info(tmp_path, tiny):
    model, tokenizer = tiny
    folder = _save(tmp_path / "m", model, tokenizer)
    loaded, loaded_tokenizer, info = load_model_folder(folder)

    assert not loaded.training
    assert info["data_fingerprint"]["n_train"] == 3
    assert loaded_tokenizer("absorption")["input_ids"][0] == tokenizer.cls_token_id


def test_load_missing_folder_fails(tmp_path):
    with pytest.raises(ModelError, match="model folder not found"):
        load_model_folder(tmp_path / "absent")


def test_load_plain_transformers_folder_fails(tmp_path, tiny):
    model, tokenizer = tiny
    model.save_pretrained(tmp_path / "plain")
    with pytest.raises(ModelError, match="not an admelabel model folder"):
        load_model_folder(tmp_path / "plain")


def test_load_other_task_fails(tmp_path):
    model, tokenizer = load_classifier(None, ["neg", "pos"], num_hidden_layers=1)
    folder = _save(tmp_path / "sentiment", model, tokenizer, labels=["neg", "pos"])

    with pytest.raises(ModelError, match="not the ADME classes"):
        load_model_folder(folder)
    assert load_model_folder(folder, expected_labels=None)[2]["labels"] == ["neg", "pos"]


def test_save_refuses_existing_folder(tmp_path, tiny):
    model, tokenizer = tiny
    (tmp_path / "m").mkdir()
    with pytest.raises(ModelError, match="already exists"):
        _save(tmp_path / "m", model, tokenizer)


def test_find_latest_model_uses_created_time(tmp_path, tiny):
    model, tokenizer = tiny
    assert find_latest_model(tmp_path / "none") is None
    first = _save(tmp_path / "b-first", model, tokenizer)
    second = _save(tmp_path / "a-second", model, tokenizer)
    for folder, created in ((first, "2026-01-01T00:00:00+00:00"), (second, "2026-02-01T00:00:00+00:00")):
        info = read_model_info(folder)
        info["created"] = created
        (folder / "admelabel.json").write_text(json.dumps(info))
    (tmp_path / "c.partial").mkdir()

    assert find_latest_model(tmp_path) == second
