"""``augment_examples``: balanced sampling, one augmenter, filtering, statistics and the cache."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from admelabel.augment import cache
from admelabel.augment.base import AugmentJob, augmenter_class, resolve_options
from admelabel.augment.sampling import balanced_sample, group_by_label
from admelabel.dataset import Example, normalize_text
from admelabel.errors import DataError

log = logging.getLogger(__name__)

AUGMENT_METHODS: tuple[str, ...] = ("backtranslate", "eda", "apertium")
# Outputs per saved chunk of a cached run; an interrupted run loses at most one chunk.
CHECKPOINT_JOBS = 512
STAT_FIELDS: tuple[str, ...] = ("sampled", "produced", "dropped_identical", "dropped_empty", "distinct")


@dataclass
class AugmentResult:
    """The augmented examples of one run and what happened to the outputs.

    Attributes
    ----------
    examples : list of Example
        Augmented examples only, without their sources. Each keeps its source's
        label and group. Its id is ``f"{source_id}#aug{k}"``, where ``k`` counts the
        outputs of that source from 0. ``meta`` contains ``source_id``, ``method``
        and ``operation``: a pivot such as ``"de"``, ``"ru"``, ``"spa"``, or an EDA
        operation ``"synonym"``, ``"swap"``, ``"delete"``.
    stats : dict
        One entry per class, ``{"sampled", "produced", "dropped_identical",
        "dropped_empty", "distinct"}`` counts (``sampled`` counts draws, and each draw
        requests ``copies`` outputs; ``distinct`` counts different texts among the
        produced ones), plus ``"cache_hit"`` (bool) and ``"seconds"`` (wall time
        of this call).
    """

    examples: list[Example]
    stats: dict[str, Any] = field(default_factory=dict)

    def class_stats(self) -> dict[str, dict[str, int]]:
        """Return the per-class entries of ``stats`` only."""
        return {key: value for key, value in self.stats.items() if isinstance(value, dict)}


def augment_examples(
    examples: Sequence[Example],
    *,
    method: str = "eda",
    per_class: int | None = None,
    copies: int = 1,
    seed: int = 0,
    cache_dir: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    **options: Any,
) -> AugmentResult:
    """Draw a class-balanced sample of ``examples`` and augment each draw ``copies`` times.

    Parameters
    ----------
    examples : sequence of Example
        The training split. Pass only training examples, so that no test text
        reaches the augmented set.
    method : {"backtranslate", "eda", "apertium"}
    per_class : int or None
        Draws per class; None means the size of the largest class. Classes smaller
        than this are drawn with replacement (see ``balanced_sample``).
    copies : int
        Outputs requested per draw.
    seed : int
        The same seed, inputs and options give the same sample and the same EDA output.
    cache_dir : path or None
        Folder of the on-disk cache (see ``default_cache_dir()``); None disables it.
        On a hit nothing is sampled or augmented and no augmenter is constructed.
        While a run is in progress, every ``CHECKPOINT_JOBS`` outputs are saved
        there, so a run that was interrupted continues where it stopped.
    progress : callable or None
        Called as ``progress(done, total)`` in outputs while augmenting.
    **options
        Options of the method: ``model_pairs``, ``device``, ``batch_size``,
        ``max_length`` for backtranslate; ``operations``, ``synonym_p``, ``swap_p``,
        ``delete_p`` for eda; ``executable``, ``batch_size``, ``timeout`` for apertium.

    Returns
    -------
    AugmentResult
        Outputs that are empty or equal to their input (case and white space folded)
        are dropped and counted in ``stats``.

    Raises
    ------
    ValueError
        For an unknown method or option, ``copies`` < 1 or ``per_class`` < 1.
    DataError
        When ``examples`` is empty.
    ModelError, MissingToolError
        When a translation model, WordNet or Apertium is missing.

    Examples
    --------
    On the training side of the de-duplicated split of the shared labels:

    >>> result = augment_examples(train, method="eda", seed=0)  # doctest: +SKIP
    >>> result.stats["Absorption"]  # doctest: +SKIP
    {'sampled': 711, 'produced': 704, 'dropped_identical': 7, 'dropped_empty': 0, 'distinct': 696}
    """
    started = time.perf_counter()
    resolved = _validate(method, per_class, copies, options)
    examples = list(examples)
    if not examples:
        raise DataError("no examples to augment")

    key = path = None
    if cache_dir is not None:
        key = cache.cache_key(method=method, options=resolved, seed=seed, copies=copies, per_class=per_class, examples=examples)
        path = cache.cache_path(cache_dir, method, key)
        cached = cache.load_cached(path, key)
        if cached is not None:
            log.info("augment cache hit: %s", path)
            augmented, stats = cached
            return AugmentResult(augmented, {**stats, "cache_hit": True, "seconds": time.perf_counter() - started})

    sample = balanced_sample(examples, per_class=per_class, seed=seed)
    sources, jobs = _make_jobs(sample, copies, seed)
    checkpoints = cache.checkpoint_dir(path) if path is not None else None
    outputs = _run_in_chunks(method, options, jobs, checkpoints, _progress_counter(progress, len(jobs)))

    augmented, class_stats = _collect(method, sample, sources, jobs, outputs)
    stats: dict[str, Any] = dict(class_stats)
    if path is not None and key is not None:
        cache.store(path, key, augmented, stats)
        if checkpoints is not None:
            cache.remove_checkpoints(checkpoints)
    stats.update(cache_hit=False, seconds=time.perf_counter() - started)
    return AugmentResult(augmented, stats)


def check_arguments(method: str, *, per_class: int | None = None, copies: int = 1, **options: Any) -> dict[str, Any]:
    """Check the method, counts and option names of ``augment_examples`` without running it.

    Returns the options merged over the method's defaults. Raises ``ValueError``
    naming the first invalid value. Option values are checked when the augmenter
    is constructed.
    """
    return _validate(method, per_class, copies, options)


def _validate(method: str, per_class: int | None, copies: int, options: dict[str, Any]) -> dict[str, Any]:
    cls = augmenter_class(method)
    if copies < 1:
        raise ValueError(f"copies must be at least 1, got {copies}")
    if per_class is not None and per_class < 1:
        raise ValueError(f"per_class must be at least 1, got {per_class}")
    return resolve_options(method, cls.defaults, options)


def _run_in_chunks(
    method: str, options: dict[str, Any], jobs: Sequence[AugmentJob], checkpoints: Path | None,
    advance: Callable[[int], None] | None,
) -> list[tuple[str, str]]:
    """Augment ``jobs`` in chunks of ``CHECKPOINT_JOBS``, saving each chunk under ``checkpoints``.

    A run that was interrupted continues from its saved chunks. The augmenter is
    constructed only when some chunk is missing.
    """
    augmenter = None
    outputs: list[tuple[str, str]] = []
    for index, start in enumerate(range(0, len(jobs), CHECKPOINT_JOBS)):
        chunk = jobs[start : start + CHECKPOINT_JOBS]
        saved = cache.load_checkpoint(checkpoints, index, len(chunk)) if checkpoints is not None else None
        if saved is not None:
            outputs.extend(saved)
            if advance is not None:
                advance(len(chunk))
            continue
        if augmenter is None:
            augmenter = augmenter_class(method)(**options)
        result = augmenter.augment(chunk, advance)
        if len(result) != len(chunk):
            raise RuntimeError(f"augmenter {method!r} returned {len(result)} outputs for {len(chunk)} inputs")
        if checkpoints is not None:
            cache.store_checkpoint(checkpoints, index, result)
        outputs.extend(result)
    return outputs


def _make_jobs(sample: Sequence[Example], copies: int, seed: int) -> tuple[list[Example], list[AugmentJob]]:
    # A source drawn several times gets a new draw number each time, hence new seeds.
    draws: dict[str, int] = defaultdict(int)
    sources: list[Example] = []
    jobs: list[AugmentJob] = []
    for example in sample:
        draw = draws[example.id]
        draws[example.id] += 1
        for copy_index in range(copies):
            sources.append(example)
            jobs.append(AugmentJob(example.text, copy_index, f"{seed}:{example.id}:{draw}"))
    return sources, jobs


def _collect(
    method: str, sample: Sequence[Example], sources: Sequence[Example], jobs: Sequence[AugmentJob],
    outputs: Sequence[tuple[str, str]],
) -> tuple[list[Example], dict[str, dict[str, int]]]:
    stats = {label: dict.fromkeys(STAT_FIELDS, 0) for label in group_by_label(sample)}
    for label, items in group_by_label(sample).items():
        stats[label]["sampled"] = len(items)

    output_numbers: dict[str, int] = defaultdict(int)
    augmented = []
    for source, job, (text, operation) in zip(sources, jobs, outputs):
        number = output_numbers[source.id]
        output_numbers[source.id] += 1
        counts = stats[source.label]
        if not text or not text.strip():
            counts["dropped_empty"] += 1
            continue
        if normalize_text(text) == normalize_text(job.text):
            counts["dropped_identical"] += 1
            continue
        counts["produced"] += 1
        meta = {"source_id": source.id, "method": method, "operation": operation}
        augmented.append(Example(id=f"{source.id}#aug{number}", text=text, label=source.label, group=source.group, meta=meta))

    for label, counts in stats.items():
        counts["distinct"] = len({normalize_text(example.text) for example in augmented if example.label == label})
    return augmented, stats


def _progress_counter(progress: Callable[[int, int], None] | None, total: int) -> Callable[[int], None] | None:
    if progress is None:
        return None
    done = 0

    def advance(count: int) -> None:
        nonlocal done
        done += count
        progress(done, total)

    progress(0, total)
    return advance
