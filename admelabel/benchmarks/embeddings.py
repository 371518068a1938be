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
    precision: str = "auto",
) -> np.ndarray:
    """Return the last layer's hidden state at the first token ([CLS]) for each text.

    ``model`` is a Hugging Face sequence classifier. It runs with
    ``output_hidden_states=True`` in length-sorted batches on the device of its
    parameters (``admelabel.training.inference.forward_sorted``). Texts are truncated
    to ``max_length`` tokens. Returns a float32 array of shape ``(len(texts),
    hidden_size)``, rows in input order. Raises ``ValueError`` for a ``batch_size``
    below 1.
    """
    from admelabel.training.inference import forward_sorted

    def first_token(output: Any) -> Any:
        return output.hidden_states[-1][:, 0, :]

    return forward_sorted(model, tokenizer, texts, first_token, model.config.hidden_size, batch_size=batch_size,
                          max_length=max_length, precision=precision, output_hidden_states=True)
