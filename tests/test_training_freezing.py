"""Freezing on randomly initialised tiny models of other architectures."""

from __future__ import annotations

import pytest

from admelabel.errors import ModelError
from admelabel.training.freezing import encoder_layers, set_trainable


def _tiny_distilbert():
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    config = DistilBertConfig(vocab_size=100, dim=16, n_layers=2, n_heads=2, hidden_dim=32, num_labels=5)
    return DistilBertForSequenceClassification(config)


def test_distilbert_top_layer_stage():
    model = _tiny_distilbert()
    trainable = set(set_trainable(model, "top-layer"))
    top = {name for name, _ in model.named_parameters() if name.startswith("distilbert.transformer.layer.1.")}
    head = {"pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"}

    assert len(encoder_layers(model)) == 2
    assert trainable == top | head


def test_distilbert_head_stage():
    model = _tiny_distilbert()

    assert set(set_trainable(model, "head")) == {
        "pre_classifier.weight", "pre_classifier.bias", "classifier.weight", "classifier.bias"}


def test_unsupported_architecture_is_rejected():
    from transformers import GPT2Config, GPT2ForSequenceClassification

    model = GPT2ForSequenceClassification(GPT2Config(vocab_size=100, n_embd=16, n_layer=1, n_head=2, num_labels=5))
    with pytest.raises(ModelError, match="cannot find the encoder layers of GPT2ForSequenceClassification"):
        set_trainable(model, "top-layer")
