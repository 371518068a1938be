"""Sentence embeddings from a (fine-tuned) classifier: the [CLS] hidden state of the last layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["embed_texts"]


def embed_texts(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    max_length: int = 128,
    batch_size: int = 32,
) -> np.ndarray:
    """Return the last layer's hidden state at the first token ([CLS]) for each text.

    ``model`` is a Hugging Face sequence classifier; it runs with
    ``output_hidden_states=True`` under ``torch.inference_mode`` on the device of its
    parameters. Texts are truncated to ``max_length`` tokens. Returns a float32 array
    of shape ``(len(texts), hidden_size)``, rows in input order. Raises ``ValueError``
    for a ``batch_size`` below 1.
    """
    import torch

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    hidden_size = model.config.hidden_size
    if not texts:
        return np.zeros((0, hidden_size), dtype=np.float32)

    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    rows = []
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(
                list(texts[start : start + batch_size]),
                truncation=True,
                max_length=max_length,
                padding=True,
                return_tensors="pt",
            ).to(device)
            output = model(**batch, output_hidden_states=True)
            rows.append(output.hidden_states[-1][:, 0, :].float().cpu().numpy())
    if was_training:
        model.train()
    return np.concatenate(rows, axis=0)
