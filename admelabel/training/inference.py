"""Batched prediction with length-sorted batches and dynamic padding."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from admelabel.training.batching import collate, encode_texts, sorted_batches


def forward_sorted(
    model: Any,
    tokenizer: Any,
    texts: Sequence[str],
    rows_of: Callable[[Any], Any],
    width: int,
    *,
    batch_size: int = 64,
    max_length: int = 256,
    device: Any = None,
    precision: str = "auto",
    **model_options: Any,
) -> np.ndarray:
    """Run ``model`` over ``texts`` in length-sorted batches and return one row per text, in input order.

    ``rows_of`` turns the model output of one batch into a float tensor of shape
    ``(batch, width)``. Texts are sorted by token length so that each batch is padded
    only to its longest member. The model runs under ``torch.inference_mode``, and
    under bf16 autocast when ``precision`` resolves to bf16 (``auto``: a GPU or CPU with
    bfloat16 support; see ``admelabel.training.loop.resolve_precision``). ``device``
    defaults to the device of the model's parameters; ``model_options`` go to every
    forward call. Raises ``ValueError`` for a ``batch_size`` below 1 or an unknown
    ``precision``.
    """
    import torch

    from admelabel.training.loop import autocast_context, resolve_precision

    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if not texts:
        return np.zeros((0, width), dtype=np.float32)
    if device is None:
        device = next(model.parameters()).device
    device = torch.device(device)
    precision = resolve_precision(precision, device)
    model.to(device)
    was_training = model.training
    model.eval()

    encoded = encode_texts(tokenizer, texts, max_length)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    output = np.zeros((len(texts), width), dtype=np.float32)
    with torch.inference_mode(), autocast_context(device, precision):
        for indices in sorted_batches([len(ids) for ids in encoded], batch_size):
            batch = {key: value.to(device) for key, value in collate(encoded, indices, pad_id).items()}
            output[indices] = rows_of(model(**batch, **model_options)).float().cpu().numpy()
    if was_training:
        model.train()
    return output


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

    Runs ``forward_sorted``: length-sorted batches, dynamic padding and bf16 autocast
    where ``precision`` resolves to bf16. Raises ``ValueError`` for a ``batch_size``
    below 1 or an unknown ``precision``.
    """
    import torch

    def probabilities(output: Any) -> Any:
        return torch.softmax(output.logits.float(), dim=-1)

    return forward_sorted(model, tokenizer, texts, probabilities, model.config.num_labels, batch_size=batch_size,
                          max_length=max_length, device=device, precision=precision)


def predict_labels(model: Any, tokenizer: Any, texts: Sequence[str], **options: Any) -> list[str]:
    """Return the most probable class name for each text, using the model's ``id2label``."""
    probabilities = predict_proba(model, tokenizer, texts, **options)
    id2label = model.config.id2label
    return [id2label[int(i)] for i in probabilities.argmax(axis=1)]
