"""Back-translation with MarianMT models through nlpaug's ``BackTranslationAug``.

nlpaug passes its whole input to the tokenizer at once and crashes when an input
is longer than the model's position limit. This module therefore splits each
paragraph into sentences, truncates each sentence to the model's limit in tokens,
sorts the sentences by length and calls nlpaug one batch at a time, then joins
the translated sentences back into paragraphs.

NOTE: only tiny, randomly initialised Marian models have run through this module,
because no opus-mt weights were reachable from the development machine. Output
quality and speed with the real models are unmeasured.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from admelabel.augment.base import AugmentJob, Augmenter, register
from admelabel.augment.seeding import seeded
from admelabel.augment.sentences import split_sentences
from admelabel.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_MODEL_PAIRS: dict[str, tuple[str, str]] = {
    "de": ("Helsinki-NLP/opus-mt-en-de", "Helsinki-NLP/opus-mt-de-en"),
    "ru": ("Helsinki-NLP/opus-mt-en-ru", "Helsinki-NLP/opus-mt-ru-en"),
}


def parse_model_pairs(value: Mapping[str, Sequence[str]] | Sequence[str] | None) -> dict[str, tuple[str, str]]:
    """Normalise a model-pair option to ``{pivot: (forward model, backward model)}``.

    Accepts a mapping, or strings ``"PIVOT=FORWARD,BACKWARD"`` such as
    ``"de=Helsinki-NLP/opus-mt-en-de,Helsinki-NLP/opus-mt-de-en"``; a model is a hub
    name or a local folder. None gives ``DEFAULT_MODEL_PAIRS``. Raises ``ValueError``
    naming a malformed entry.
    """
    if value is None:
        return dict(DEFAULT_MODEL_PAIRS)
    pairs: dict[str, tuple[str, str]] = {}
    items = value.items() if isinstance(value, Mapping) else (_parse_pair(entry) for entry in value)
    for pivot, models in items:
        models = tuple(models)
        if not pivot or len(models) != 2 or not all(models):
            raise ValueError(f"model pair for pivot {pivot!r} must be two model names, got {models!r}")
        pairs[str(pivot)] = (str(models[0]), str(models[1]))
    if not pairs:
        raise ValueError("model_pairs is empty; give at least one PIVOT=FORWARD,BACKWARD pair")
    return pairs


def _parse_pair(entry: str) -> tuple[str, tuple[str, ...]]:
    pivot, sep, models = str(entry).partition("=")
    if not sep:
        raise ValueError(f"model pair must look like PIVOT=FORWARD,BACKWARD, got {entry!r}")
    return pivot.strip(), tuple(model.strip() for model in models.split(","))


def default_device() -> str:
    """Return ``"cuda"`` when torch finds a GPU, else ``"cpu"``."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@register
class BackTranslationAugmenter(Augmenter):
    """Back-translation through pivot languages; each copy of a draw takes the next pivot.

    Options
    -------
    model_pairs : mapping or sequence of "PIVOT=FORWARD,BACKWARD"
        Pivot languages and their model pairs (default German and Russian opus-mt).
    device : str or None
        Torch device; None picks ``"cuda"`` when available, else ``"cpu"``.
    batch_size : int
        Sentences per nlpaug call.
    max_length : int
        Maximum tokens of a sentence sent to the forward model, and of each
        generated translation; lowered to the model's position limit when that is smaller.

    Raises ``ModelError`` naming a model that cannot be loaded.
    """

    method = "backtranslate"
    defaults = {"model_pairs": None, "device": None, "batch_size": 32, "max_length": 256}

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.pairs = parse_model_pairs(self.options["model_pairs"])
        self.batch_size = int(self.options["batch_size"])
        self.max_length = int(self.options["max_length"])
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.options['batch_size']!r}")
        if self.max_length < 2:
            raise ValueError(f"max_length must be at least 2 tokens, got {self.options['max_length']!r}")
        self.device = self.options["device"] or default_device()
        self.pivots = list(self.pairs)
        self._augmenters = {pivot: self._load(pivot, *models) for pivot, models in self.pairs.items()}

    def _load(self, pivot: str, forward: str, backward: str) -> Any:
        for name in (forward, backward):
            if _looks_like_path(name) and not Path(name).expanduser().is_dir():
                raise ModelError(f"model folder not found: {name} (pivot {pivot}); pass an existing folder")
        import nlpaug.augmenter.word as naw
        from transformers.utils import logging as transformers_logging

        # The per-model "Loading weights" bars would break the command's own progress bar.
        transformers_logging.disable_progress_bar()
        log.info("loading translation models %s and %s (pivot %s) on %s", forward, backward, pivot, self.device)
        try:
            augmenter = naw.BackTranslationAug(
                from_model_name=forward, to_model_name=backward, device=self.device,
                batch_size=self.batch_size, max_length=self.max_length,
            )
        except (OSError, ValueError) as exc:
            raise ModelError(
                f"cannot load translation model pair {forward} / {backward} (pivot {pivot}): {_first_line(exc)}. "
                "Pass local model folders with --model-pairs PIVOT=FORWARD_DIR,BACKWARD_DIR, "
                "or use --method apertium or --method eda, which work offline"
            ) from None

        # nlpaug passes max_length to generate() for both directions, so it must fit
        # the position limit of both models as well.
        limit = min(self._token_limit(augmenter.model.src_model), self._token_limit(augmenter.model.tgt_model))
        augmenter.model.max_length = limit
        return augmenter

    def augment(
        self, jobs: Sequence[AugmentJob], progress: Callable[[int], None] | None = None
    ) -> list[tuple[str, str]]:
        pivots = [self.pivots[job.rotation(len(self.pivots))] for job in jobs]
        translated: list[list[str]] = [[] for _ in jobs]
        for pivot in self.pivots:
            indices = [i for i, job_pivot in enumerate(pivots) if job_pivot == pivot]
            if not indices:
                continue
            sentences_per_job = [split_sentences(jobs[i].text) for i in indices]
            outputs = self.translate(pivot, [s for sentences in sentences_per_job for s in sentences], seed=jobs[indices[0]].output_seed)
            position = 0
            for i, sentences in zip(indices, sentences_per_job):
                translated[i] = outputs[position : position + len(sentences)]
                position += len(sentences)
            if progress is not None:
                progress(len(indices))
        return [(" ".join(part.strip() for part in parts if part.strip()), pivot) for parts, pivot in zip(translated, pivots)]

    def translate(self, pivot: str, sentences: Sequence[str], *, seed: str = "0") -> list[str]:
        """Back-translate ``sentences`` through ``pivot``; return one output per sentence, in order.

        Each sentence is first truncated to the forward model's token limit. Batches
        hold sentences of similar length, so little of each batch is padding.
        """
        augmenter = self._augmenters[pivot]
        model = augmenter.model
        truncated = [self._truncate(model.src_tokenizer, sentence, model.max_length) for sentence in sentences]
        order = sorted(range(len(truncated)), key=lambda i: len(truncated[i]))
        outputs = [""] * len(truncated)
        with seeded(f"{seed}:{pivot}"):
            for start in range(0, len(order), self.batch_size):
                batch_indices = order[start : start + self.batch_size]
                batch = [truncated[i] for i in batch_indices]
                result = augmenter.augment(batch)
                if len(result) != len(batch):
                    raise ModelError(f"back-translation through {pivot} returned {len(result)} texts for {len(batch)} inputs")
                for i, text in zip(batch_indices, result):
                    outputs[i] = text
        return outputs

    def _token_limit(self, model: Any) -> int:
        positions = getattr(model.config, "max_position_embeddings", None) or self.max_length
        return min(self.max_length, int(positions))

    @staticmethod
    def _truncate(tokenizer: Any, sentence: str, limit: int) -> str:
        # One position goes to the end-of-sentence token that the tokenizer appends.
        tokens = tokenizer.tokenize(sentence)
        if len(tokens) + 1 <= limit:
            return sentence
        return tokenizer.convert_tokens_to_string(tokens[: limit - 1])


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else type(exc).__name__


def _looks_like_path(name: str) -> bool:
    return name.startswith(("/", "./", "../", "~")) or Path(name).expanduser().exists()
