"""The augmenter interface and the registry that maps method names to augmenters."""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from admelabel.errors import AdmelabelError


class MissingToolError(AdmelabelError):
    """An external tool or data set that an augmenter needs (Apertium, WordNet) is not installed."""


@dataclass(frozen=True)
class AugmentJob:
    """One output to produce: the source text, its draw and which copy of it this is.

    ``seed_key`` identifies the draw (run seed, source id, draw number). Seeds derived
    from it make an output independent of which other texts share its batch.
    """

    text: str
    copy_index: int
    seed_key: str

    def rotation(self, size: int) -> int:
        """Return the index of the operation or pivot for this output, out of ``size``.

        The start is drawn from ``seed_key`` and each further copy takes the next
        one, so copies of one draw use different operations and, over many draws,
        every operation is used about equally often.
        """
        import random

        start = random.Random(self.seed_key).randrange(size)
        return (start + self.copy_index) % size

    @property
    def output_seed(self) -> str:
        """Seed of the random choices for this output alone."""
        return f"{self.seed_key}:{self.copy_index}"


class Augmenter(abc.ABC):
    """Turn texts into label-preserving variants.

    Subclasses set ``method`` and ``defaults`` (every option they accept, with its
    default value) and implement ``augment``. Construction may load models or check
    for external tools; callers construct an augmenter only when they need output.
    """

    method: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]]

    def __init__(self, **options: Any) -> None:
        self.options = resolve_options(self.method, self.defaults, options)

    @abc.abstractmethod
    def augment(
        self, jobs: Sequence[AugmentJob], progress: Callable[[int], None] | None = None
    ) -> list[tuple[str, str]]:
        """Return one ``(text, operation)`` pair per job, in job order.

        ``operation`` names what produced the text: a pivot language such as
        ``"de"`` or an EDA operation such as ``"swap"``. An output may be empty or
        equal to its input; the caller counts and drops those. ``progress`` is
        called with the number of jobs finished since its last call.
        """


_REGISTRY: dict[str, type[Augmenter]] = {}


def register(cls: type[Augmenter]) -> type[Augmenter]:
    """Register an augmenter class under its ``method`` name (a class decorator)."""
    _REGISTRY[cls.method] = cls
    return cls


def augmenter_class(method: str) -> type[Augmenter]:
    """Return the augmenter class of ``method``.

    Raises ``ValueError`` naming the method and the known ones when it is unknown.
    """
    _load_builtin_augmenters()
    if method not in _REGISTRY:
        raise ValueError(f"unknown augmentation method {method!r}; expected one of {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[method]


def create_augmenter(method: str, **options: Any) -> Augmenter:
    """Construct the augmenter of ``method`` with ``options``.

    Raises ``ValueError`` for an unknown method or option, and the augmenter's own
    errors (``ModelError``, ``AdmelabelError``) when a model or tool is missing.
    """
    return augmenter_class(method)(**options)


def resolve_options(method: str, defaults: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Merge ``options`` over ``defaults``; raise ``ValueError`` naming any unknown option."""
    unknown = sorted(set(options) - set(defaults))
    if unknown:
        raise ValueError(
            f"unknown option(s) for method {method!r}: {', '.join(unknown)}; "
            f"accepted: {', '.join(sorted(defaults)) or 'none'}"
        )
    merged = dict(defaults)
    merged.update(options)
    return merged


def _load_builtin_augmenters() -> None:
    # Importing the modules registers their classes; none of them imports nlpaug or
    # torch at module level, so this stays cheap.
    from admelabel.augment import apertium, backtranslation, eda  # noqa: F401
