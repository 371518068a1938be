"""Tokenising once, length-grouped batches and dynamic padding.

Sorting texts of similar length into the same batch and padding each batch only to
its longest member removes nearly all padding. On the 1,335 de-duplicated training
paragraphs of the shared labels (MiniLM tokens, cut at 128: median 83, mean 84), random
batches of 16 padded per batch were 34% padding and length-grouped batches 1.6%.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

MEGABATCH_FACTOR = 50
"""Batches are formed by sorting windows of ``MEGABATCH_FACTOR * batch_size`` shuffled examples by length."""


def encode_texts(tokenizer: Any, texts: Sequence[str], max_length: int) -> list[list[int]]:
    """Tokenise ``texts`` without padding, truncated to ``max_length`` tokens, and return the token ids."""
    if max_length < 8:
        raise ValueError(f"max_length must be at least 8 tokens, got {max_length}")
    encoded = tokenizer(list(texts), truncation=True, max_length=max_length, padding=False)
    return [list(ids) for ids in encoded["input_ids"]]


def length_grouped_batches(lengths: Sequence[int], batch_size: int, rng: np.random.Generator) -> list[list[int]]:
    """Return batches of indices whose members have similar lengths, in a random order.

    The indices are shuffled with ``rng``, cut into windows of ``MEGABATCH_FACTOR *
    batch_size``, each window is sorted by length (longest first) and cut into batches,
    and the order of the batches is shuffled. The same ``rng`` state gives the same batches.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    order = rng.permutation(len(lengths))
    window = MEGABATCH_FACTOR * batch_size
    batches: list[list[int]] = []
    for start in range(0, len(order), window):
        chunk = sorted(order[start : start + window].tolist(), key=lambda i: -lengths[i])
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    permutation = rng.permutation(len(batches))
    return [batches[i] for i in permutation]


def sorted_batches(lengths: Sequence[int], batch_size: int) -> list[list[int]]:
    """Return batches of indices sorted by length (longest first), for inference."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[i : i + batch_size] for i in range(0, len(order), batch_size)]


def collate(encoded: Sequence[Sequence[int]], indices: Sequence[int], pad_token_id: int) -> dict[str, Any]:
    """Pad the selected sequences to the longest among them and return ``input_ids`` and ``attention_mask`` tensors."""
    import torch

    width = max(len(encoded[i]) for i in indices)
    input_ids = torch.full((len(indices), width), pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(indices), width), dtype=torch.long)
    for row, i in enumerate(indices):
        ids = encoded[i]
        input_ids[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        attention_mask[row, : len(ids)] = 1
    return {"input_ids": input_ids, "attention_mask": attention_mask}
