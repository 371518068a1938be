"""Augmenters for pre-finetuning: back-translation (MarianMT, Apertium) and EDA, with a cache.

``augment_examples`` draws a class-balanced sample of a training split, augments
it with one method and returns the new examples with per-class counts. Heavy
libraries (nlpaug, torch, transformers) are imported only when an augmenter is built.
"""

from __future__ import annotations

from admelabel.augment.base import Augmenter, AugmentJob, MissingToolError, create_augmenter, register
from admelabel.augment.cache import default_cache_dir
from admelabel.augment.core import AUGMENT_METHODS, STAT_FIELDS, AugmentResult, augment_examples, check_arguments
from admelabel.augment.sampling import balanced_sample
from admelabel.dataset import Example

__all__ = [
    "AUGMENT_METHODS",
    "STAT_FIELDS",
    "AugmentJob",
    "AugmentResult",
    "Augmenter",
    "Example",
    "MissingToolError",
    "augment_examples",
    "balanced_sample",
    "check_arguments",
    "create_augmenter",
    "default_cache_dir",
    "register",
]
