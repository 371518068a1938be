"""Named sets of defaults for ``admelabel train`` and ``admelabel evaluate``.

``cpu``
    The shipped all-MiniLM-L6-v2, 128 tokens, 3 fine-tuning epochs, no grid search.
    ``admelabel train`` (prefinetune-da) with it on the 1,566 distinct labelled PK
    paragraphs of the 437 shared labels took 2.8 minutes on 2 idle CPU cores (AMD
    EPYC, bf16 autocast), EDA augmentation included.
``full``
    The published protocol: bert-base-uncased (from the Hugging Face hub or its local
    cache), 256 tokens, grid search over batch size and learning rate, 5 epochs. Meant
    for a GPU.
"""

from __future__ import annotations

from typing import Any

PROFILES: dict[str, dict[str, Any]] = {
    "cpu": {
        "model_name_or_path": None,
        "max_length": 128,
        "batch_size": 16,
        "learning_rate": 5e-5,
        "epochs": 3,
        "grid": False,
    },
    "full": {
        "model_name_or_path": "bert-base-uncased",
        "max_length": 256,
        "batch_size": 16,
        "learning_rate": 3e-5,
        "epochs": 5,
        "grid": True,
    },
}


def default_profile() -> str:
    """Return ``full`` when a CUDA GPU is available, else ``cpu``."""
    import torch

    return "full" if torch.cuda.is_available() else "cpu"


def profile_settings(name: str | None) -> tuple[str, dict[str, Any]]:
    """Return the profile's name (resolving None to ``default_profile()``) and a copy of its settings.

    Raises ``ValueError`` for an unknown name.
    """
    name = name or default_profile()
    if name not in PROFILES:
        raise ValueError(f"--profile must be one of {', '.join(PROFILES)}, got {name!r}")
    return name, dict(PROFILES[name])
