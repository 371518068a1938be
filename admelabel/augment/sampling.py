"""Class-balanced sampling of a training split before augmentation."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Sequence

from admelabel import LABELS
from admelabel.dataset import Example
from admelabel.errors import DataError


def group_by_label(examples: Sequence[Example]) -> dict[str, list[Example]]:
    """Group examples by label, in ``LABELS`` order first, then other labels sorted."""
    groups: dict[str, list[Example]] = defaultdict(list)
    for example in examples:
        groups[example.label].append(example)
    order = [label for label in LABELS if label in groups] + sorted(set(groups) - set(LABELS))
    return {label: groups[label] for label in order}


def balanced_sample(examples: Sequence[Example], *, per_class: int | None = None, seed: int = 0) -> list[Example]:
    """Draw the same number of examples from every class present in ``examples``.

    Parameters
    ----------
    examples : sequence of Example
        The training split to sample from.
    per_class : int or None
        Examples drawn per class. None means the size of the largest class.
    seed : int
        The same seed and input give the same sample.

    Returns
    -------
    list of Example
        Grouped by class in ``LABELS`` order. A class with at least ``per_class``
        examples is sampled without replacement. A smaller class is sampled with
        replacement in a way that uses every example: each appears
        ``per_class // size`` times and the remainder is drawn without repeats.

    Raises
    ------
    ValueError
        When ``per_class`` is less than 1.
    DataError
        When ``examples`` is empty.
    """
    if per_class is not None and per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    groups = group_by_label(examples)
    if not groups:
        raise DataError("no examples to sample from")
    target = per_class if per_class is not None else max(len(items) for items in groups.values())

    sample: list[Example] = []
    for label, items in groups.items():
        rng = random.Random(f"{seed}:{label}")
        if len(items) >= target:
            drawn = rng.sample(items, target)
        else:
            repeats, remainder = divmod(target, len(items))
            drawn = items * repeats + rng.sample(items, remainder)
            rng.shuffle(drawn)
        sample.extend(drawn)
    return sample
