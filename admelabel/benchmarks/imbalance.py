"""Seeded builders that make a balanced training set imbalanced, as in the benchmarks.

Every builder leaves the test set alone, keeps the original order of the examples
it keeps, and returns the new list with an ``ImbalanceSummary`` (class counts before
and after, and the achieved imbalance ratio rho = min(N) / max(N)). The same seed
gives the same subset. Counts that are not whole numbers are rounded half up
(``floor(x + 0.5)``), so 2.5 becomes 3, unlike Python's ``round``, which rounds
half to even.
"""

from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from admelabel.errors import DataError

if TYPE_CHECKING:
    # admelabel.dataset re-exports this module's builders, so a runtime import would be circular.
    from admelabel.dataset import Example

__all__ = [
    "DEFAULT_SWEEP_RATIOS",
    "ImbalanceSummary",
    "imdb_imbalance",
    "longtail_order",
    "newsgroups_longtail",
    "newsgroups_step",
    "ratio_sweep",
    "round_half_up",
]

DEFAULT_SWEEP_RATIOS: tuple[float, ...] = (0.1, 0.2, 0.3, 0.4, 0.5)


@dataclass
class ImbalanceSummary:
    """Record of what an imbalance builder did.

    ``counts_before`` and ``counts`` map each class to its number of training
    examples before and after. ``ratio`` is the achieved min(N) / max(N) over the
    classes that keep at least one example. ``majority`` lists the classes that were
    kept whole, ``params`` the builder's arguments.
    """

    builder: str
    counts_before: dict[str, int]
    counts: dict[str, int]
    ratio: float
    majority: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def total(self) -> int:
        """Number of training examples after the builder."""
        return sum(self.counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "builder": self.builder,
            "params": self.params,
            "counts_before": self.counts_before,
            "counts": self.counts,
            "total": self.total,
            "ratio": self.ratio,
            "majority": self.majority,
        }


def round_half_up(value: float) -> int:
    """Round a non-negative number to the nearest integer, halves upwards."""
    return int(math.floor(value + 0.5))


def _by_class(examples: Sequence[Example]) -> dict[str, list[int]]:
    indices: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        indices[example.label].append(index)
    if not indices:
        raise DataError("the training set is empty; nothing to make imbalanced")
    return dict(sorted(indices.items()))


def _subsample(
    examples: Sequence[Example],
    targets: dict[str, int],
    *,
    seed: int,
    builder: str,
    majority: list[str],
    params: dict[str, Any],
) -> tuple[list[Example], ImbalanceSummary]:
    """Keep ``targets[label]`` examples of each class, drawn with ``seed``, in original order."""
    rng = random.Random(seed)
    by_class = _by_class(examples)
    keep: set[int] = set()
    for label, indices in by_class.items():
        target = targets[label]
        keep.update(indices if target >= len(indices) else rng.sample(indices, target))
    kept = [example for index, example in enumerate(examples) if index in keep]
    before = {label: len(indices) for label, indices in by_class.items()}
    after_counter = Counter(example.label for example in kept)
    after = {label: after_counter.get(label, 0) for label in by_class}
    nonzero = [count for count in after.values() if count > 0]
    summary = ImbalanceSummary(
        builder=builder,
        counts_before=before,
        counts=after,
        ratio=min(nonzero) / max(nonzero),
        majority=majority,
        params=params,
    )
    return kept, summary


def imdb_imbalance(
    train: Sequence[Example],
    *,
    remove_fraction: float = 0.9,
    minority: str = "neg",
    seed: int = 0,
) -> tuple[list[Example], ImbalanceSummary]:
    """Remove a fraction of one class (by default 90% of the negative reviews).

    The ``minority`` class keeps ``round_half_up((1 - remove_fraction) * N)`` of its
    N examples, drawn with ``seed``; every other class is kept whole. With the full
    IMDB training set (12,500 per class) that leaves 1,250 negatives and rho = 0.1.

    Raises ``ValueError`` for ``remove_fraction`` outside [0, 1) and ``DataError``
    when ``minority`` has no examples.
    """
    if not 0.0 <= remove_fraction < 1.0:
        raise ValueError(f"remove_fraction must be in [0, 1), got {remove_fraction}")
    by_class = _by_class(train)
    if minority not in by_class:
        raise DataError(f"class {minority!r} has no training examples; classes are {', '.join(by_class)}")
    targets = {label: len(indices) for label, indices in by_class.items()}
    targets[minority] = max(1, round_half_up((1.0 - remove_fraction) * targets[minority]))
    majority = [label for label in by_class if label != minority]
    params = {"remove_fraction": remove_fraction, "minority": minority, "seed": seed}
    return _subsample(train, targets, seed=seed, builder="imdb", majority=majority, params=params)


def newsgroups_step(
    train: Sequence[Example],
    *,
    keep_range: tuple[int, int] = (591, 600),
    keep_fraction: float = 0.1,
    seed: int = 0,
) -> tuple[list[Example], ImbalanceSummary]:
    """Step imbalance: classes with a count inside ``keep_range`` stay whole, the rest shrink.

    A class whose training count N lies in ``keep_range`` (both ends included) is kept
    whole. Every other class keeps ``max(1, round_half_up(keep_fraction * N))``
    examples drawn with ``seed``.

    NOTE: with the commonly quoted bydate training counts (which sum to 11,314),
    eleven classes lie in [591, 600], among them two with exactly 591, whereas the
    published description speaks of ten. ``summary.majority`` lists the classes kept.

    Raises ``ValueError`` for an empty range or a fraction outside (0, 1], and
    ``DataError`` when no class lies in the range.
    """
    low, high = keep_range
    if low > high:
        raise ValueError(f"keep_range must be (low, high) with low <= high, got {keep_range}")
    if not 0.0 < keep_fraction <= 1.0:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction}")
    by_class = _by_class(train)
    counts = {label: len(indices) for label, indices in by_class.items()}
    majority = [label for label, count in counts.items() if low <= count <= high]
    if not majority:
        raise DataError(
            f"no class has between {low} and {high} training examples (counts: "
            f"{', '.join(f'{label} {count}' for label, count in counts.items())}); set keep_range to fit the data"
        )
    targets = {
        label: count if label in majority else max(1, round_half_up(keep_fraction * count))
        for label, count in counts.items()
    }
    params = {"keep_range": [low, high], "keep_fraction": keep_fraction, "seed": seed}
    return _subsample(train, targets, seed=seed, builder="step", majority=majority, params=params)


def longtail_order(counts: dict[str, int]) -> list[str]:
    """Order classes for the long tail: by descending training count, ties by name."""
    return sorted(counts, key=lambda label: (-counts[label], label))


def newsgroups_longtail(
    train: Sequence[Example],
    *,
    ratio: float = 0.1,
    seed: int = 0,
    order: Sequence[str] | None = None,
) -> tuple[list[Example], ImbalanceSummary]:
    """Long-tail imbalance: class i keeps max(N) * ratio ** (i / (n - 1)) examples.

    Classes are ranked by ``order`` (default ``longtail_order``: descending training
    count, ties by name), so class 0 is the largest and keeps all of its examples and
    class n - 1 keeps about ``ratio * max(N)``. Each target is rounded half up and
    capped at the class's own count, and is at least 1.

    Raises ``ValueError`` for a ratio outside (0, 1] or an ``order`` that is not a
    permutation of the training classes, and ``DataError`` for fewer than 2 classes.
    """
    if not 0.0 < ratio <= 1.0:
        raise ValueError(f"ratio must be in (0, 1], got {ratio}")
    by_class = _by_class(train)
    counts = {label: len(indices) for label, indices in by_class.items()}
    if len(counts) < 2:
        raise DataError(f"a long tail needs at least 2 classes, got {len(counts)}")
    ranked = list(order) if order is not None else longtail_order(counts)
    if sorted(ranked) != sorted(counts):
        raise ValueError(f"order must list each training class once; got {ranked}")

    largest = max(counts.values())
    last = len(ranked) - 1
    targets = {
        label: max(1, min(counts[label], round_half_up(largest * ratio ** (rank / last))))
        for rank, label in enumerate(ranked)
    }
    params = {"ratio": ratio, "seed": seed, "order": ranked}
    return _subsample(train, targets, seed=seed, builder="longtail", majority=ranked[:1], params=params)


def ratio_sweep(
    train: Sequence[Example],
    *,
    kind: str = "longtail",
    ratios: Sequence[float] = DEFAULT_SWEEP_RATIOS,
    seed: int = 0,
    **options: Any,
) -> list[tuple[float, list[Example], ImbalanceSummary]]:
    """Build one imbalanced training set per ratio, by default rho = 0.1, 0.2, ..., 0.5.

    ``kind`` is "longtail" (the ratio is the long-tail rho), "step" (the ratio is the
    fraction kept of the non-majority classes) or "imdb" (the ratio is the fraction of
    the minority class kept). ``options`` go to the builder. Returns a list of
    ``(ratio, examples, summary)`` in the order of ``ratios``.

    Raises ``ValueError`` for an unknown kind or an empty ``ratios``.
    """
    if not ratios:
        raise ValueError("ratios must not be empty")
    results = []
    for ratio in ratios:
        if kind == "longtail":
            examples, summary = newsgroups_longtail(train, ratio=ratio, seed=seed, **options)
        elif kind == "step":
            examples, summary = newsgroups_step(train, keep_fraction=ratio, seed=seed, **options)
        elif kind == "imdb":
            examples, summary = imdb_imbalance(train, remove_fraction=1.0 - ratio, seed=seed, **options)
        else:
            raise ValueError(f"kind must be longtail, step or imdb, got {kind!r}")
        results.append((ratio, examples, summary))
    return results
