"""Batched prediction with length-sorted batches and dynamic padding."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from admelabel.training.batching import collate, encode_texts, sorted_batches


def predict_proba(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    *,
    batch_size: int = 64,
    max_length: int = 256,
    device: Any = None,
    precision: str = "auto",
) -> np.ndarray:
    """Return class probabilities, shape ``(len(texts), num_labels)``, rows in input order.

    Texts are sorted by token length so that each batch is padded only to its longest
    member; the model runs under ``torch.inference_mode``, and under bf16 autocast when
    ``precision`` resolves to bf16 (``auto``: a GPU or CPU with bfloat16 support; see
    ``admelabel.training.loop.resolve_precision``). ``device`` defaults to the device of
    the model's parameters. Raises ``ValueError`` for a ``batch_size`` below 1 or an
    unknown ``precision``.
    """
    import torch

    from admelabel.training.loop import autocast_context, resolve_precision

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    num_labels = model.config.num_labels
    if not texts:
        return np.zeros((0, num_labels), dtype=np.float32)
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    model.to(device)
    was_training = model.training
    model.eval()

    encoded = encode_texts(tokenizer, texts, max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    output = np.zeros((len(texts), num_labels), dtype=np.float32)
    with torch.inference_mode(), autocast_context(device, precision):
        for indices in sorted_batches([len(ids) for ids in encoded], batch_size):
            batch = {key: value.to(device) for key, value in collate(encoded, indices, pad_id).items()}
            logits = model(**batch).logits.float()
            output[indices] = torch.softmax(logits, dim=-1).cpu().numpy()
    if was_training:
        model.train()
    return output


def predict_labels(model: Any, tokenizer: Any, texts: Sequence[str], **options: Any) -> list[str]:
    """Return the most probable class name for each text, using the model's ``id2label``."""
    probabilities = predict_proba(model, tokenizer, texts, **options)
    id2label = model.config.id2label
    return [id2label[int(i)] for i in probabilities.argmax(axis=1)]
