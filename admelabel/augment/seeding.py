"""Seeding of the random generators that nlpaug and torch use, restored afterwards."""

from __future__ import annotations

import contextlib
import hashlib
import random
import sys
from collections.abc import Iterator


def seed_int(key: str) -> int:
    """Return a 32-bit integer derived from ``key`` (numpy and torch need integer seeds)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:4], "big")


@contextlib.contextmanager
def seeded(key: str) -> Iterator[None]:
    """Seed Python's ``random``, numpy and (when already imported) torch from ``key``.

    The previous states of ``random`` and numpy are restored on exit so that the
    caller's own random streams are not disturbed. torch is seeded inside
    ``torch.random.fork_rng``, which restores its CPU and CUDA states.
    """
    import numpy as np

    python_state = random.getstate()
    numpy_state = np.random.get_state()
    value = seed_int(key)
    random.seed(value)
    np.random.seed(value)
    try:
        if "torch" in sys.modules:
            import torch

            devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
            with torch.random.fork_rng(devices=devices):
                torch.manual_seed(value)
                yield
        else:
            yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)
