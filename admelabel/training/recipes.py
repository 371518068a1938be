"""The four training methods compared in the ADME experiments.

``vanilla``
    Full fine-tuning on the training data as it is (imbalanced). With ``grid=True`` the
    batch size and learning rate are first chosen on a validation split.
``oversample``
    Vanilla on a training set where minority classes are randomly duplicated up to the
    size of the largest class.
``lp-ft``
    Linear probing, then fine-tuning: the head (pooler and classifier) trains alone on
    frozen features, then every parameter trains.
``prefinetune-da``
    Pre-finetuning on augmented data (Shi et al. 2022, "Improving Imbalanced Learning by
    Pre-finetuning with Data Augmentation"): the top encoder layer and the head train
    for ``prefinetune_epochs`` at ``prefinetune_lr`` on the augmented set, then every
    parameter trains on the original imbalanced data with the vanilla settings.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from admelabel.dataset import Example, oversample
from admelabel.errors import DataError
from admelabel.training.loop import PRECISIONS, ProgressCallback, StageSettings, resolve_device, train_stage
from admelabel.training.models import load_classifier

log = logging.getLogger(__name__)

METHODS: tuple[str, ...] = ("prefinetune-da", "vanilla", "oversample", "lp-ft")
GRID_BATCH_SIZES: tuple[int, ...] = (8, 16, 32)
GRID_LEARNING_RATES: tuple[float, ...] = (5e-6, 1e-5, 3e-5, 5e-5)


@dataclass
class TrainConfig:
    """Settings shared by every recipe.

    Attributes
    ----------
    model_name_or_path : str or None
        A local model folder or Hugging Face name; None is the shipped all-MiniLM-L6-v2.
    max_length : int
        Tokens per text after truncation.
    batch_size, learning_rate, epochs, warmup_ratio, weight_decay, grad_clip
        The vanilla fine-tuning settings (also the fine-tuning stage of every recipe).
        ``warmup_ratio`` is the fraction of steps with a rising learning rate,
        ``grad_clip`` the maximum gradient L2 norm (0 disables clipping).
    seed : int
        Seeds weights of the head, dropout, batch order and oversampling.
    num_threads : int or None
        torch CPU threads; None leaves torch's default.
    device : str
        ``auto``, ``cpu`` or ``cuda``.
    precision : str
        ``auto`` (bf16 autocast where the GPU or CPU supports bfloat16, else fp32),
        ``bf16`` or ``fp32``.
    prefinetune_lr, prefinetune_epochs
        The pre-finetuning stage of ``prefinetune-da``.
    lp_lr, lp_epochs
        The linear-probe stage of ``lp-ft``.
    grid : bool
        Choose batch size and learning rate of the fine-tuning stage on a validation split.
    checkpoint_dir : str or None
        Folder for per-epoch checkpoints; ``resume`` continues from them.
    model_overrides : dict
        Extra config values for ``from_pretrained``, e.g. ``{"num_hidden_layers": 2}``.
    """

    model_name_or_path: str | None = None
    max_length: int = 128
    batch_size: int = 16
    learning_rate: float = 5e-5
    epochs: int = 3
    warmup_ratio: float = 0.1
    weight_decay: float = 0.01
    grad_clip: float = 1.0
    seed: int = 0
    num_threads: int | None = None
    device: str = "auto"
    precision: str = "auto"
    prefinetune_lr: float = 1e-4
    prefinetune_epochs: int = 1
    lp_lr: float = 1e-3
    lp_epochs: int = 1
    grid: bool = False
    checkpoint_dir: str | None = None
    resume: bool = False
    model_overrides: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid setting and the value it got."""
        positive = {
            "max_length": self.max_length, "batch_size": self.batch_size, "learning_rate": self.learning_rate,
            "epochs": self.epochs, "prefinetune_lr": self.prefinetune_lr, "prefinetune_epochs": self.prefinetune_epochs,
            "lp_lr": self.lp_lr, "lp_epochs": self.lp_epochs,
        }
        for name, value in positive.items():
            if not value > 0:
                raise ValueError(f"{name} must be > 0, got {value}")
        if self.max_length < 8:
            raise ValueError(f"max_length must be at least 8 tokens, got {self.max_length}")
        if not 0.0 <= self.warmup_ratio < 1.0:
            raise ValueError(f"warmup_ratio must be in [0, 1), got {self.warmup_ratio}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}")
        if self.grad_clip < 0:
            raise ValueError(f"grad_clip must be >= 0, got {self.grad_clip}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.num_threads is not None and self.num_threads < 1:
            raise ValueError(f"num_threads must be at least 1, got {self.num_threads}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainedClassifier:
    """A trained model, its tokenizer and the record of each stage (``StageResult.to_dict()``)."""

    model: Any
    tokenizer: Any
    history: list[dict[str, Any]]
    config: TrainConfig


def stage_plan(method: str, config: TrainConfig) -> list[tuple[StageSettings, str]]:
    """Return the stages of ``method`` as (settings, data) pairs; data is ``"augmented"`` or ``"train"``.

    Raises ``ValueError`` for an unknown method.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    common = dict(warmup_ratio=config.warmup_ratio, weight_decay=config.weight_decay, grad_clip=config.grad_clip,
                  max_length=config.max_length, seed=config.seed, batch_size=config.batch_size,
                  precision=config.precision)
    finetune = StageSettings(name="finetune", trainable="all", epochs=config.epochs,
                             learning_rate=config.learning_rate, **common)
    if method == "prefinetune-da":
        first = StageSettings(name="prefinetune", trainable="top-layer", epochs=config.prefinetune_epochs,
                              learning_rate=config.prefinetune_lr, **common)
        return [(first, "augmented"), (finetune, "train")]
    if method == "lp-ft":
        first = StageSettings(name="linear-probe", trainable="head", epochs=config.lp_epochs,
                              learning_rate=config.lp_lr, **common)
        return [(first, "train"), (finetune, "train")]
    return [(finetune, "train")]


def train_classifier(
    train: Sequence[Example],
    *,
    method: str,
    labels: Sequence[str],
    config: TrainConfig,
    augmented: Sequence[Example] | None = None,
    validation: Sequence[Example] | None = None,
    progress: ProgressCallback | None = None,
) -> TrainedClassifier:
    """Train a classifier with one of ``METHODS`` and return it with the record of its stages.

    Parameters
    ----------
    train : sequence of Example
        The original (imbalanced) training data.
    method : str
        One of ``METHODS``.
    labels : sequence of str
        Class names in label-id order.
    config : TrainConfig
    augmented : sequence of Example, optional
        The data of the pre-finetuning stage; required by ``prefinetune-da`` and unused
        otherwise. The caller decides what it contains (admelabel's CLI passes the
        class-balanced augmented copies from ``augmented_training_set``).
    validation : sequence of Example, optional
        Used by ``config.grid``; without it 15% of ``train`` is held out for the search
        and the final model still trains on all of ``train``.
    progress : callable, optional
        Receives the training loop's events.

    Raises
    ------
    ValueError
        For an unknown method or an invalid setting.
    DataError
        When ``prefinetune-da`` gets no augmented data, or data is empty.
    ModelError
        When the model cannot be loaded.
    """
    import torch

    config.validate()
    plan = stage_plan(method, config)
    if method == "prefinetune-da" and not augmented:
        raise DataError("method prefinetune-da needs augmented examples for its pre-finetuning stage; none were given")
    if not train:
        raise DataError("no training examples")
    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)

    if config.grid:
        best = grid_search(train, method=method, labels=labels, config=config, augmented=augmented,
                           validation=validation, progress=progress)
        config = replace(config, batch_size=best["batch_size"], learning_rate=best["learning_rate"], grid=False)
        plan = stage_plan(method, config)

    data = {"train": list(train), "augmented": list(augmented or [])}
    if method == "oversample":
        data["train"] = oversample(train, seed=config.seed)

    from admelabel.training.loop import seed_everything

    seed_everything(config.seed)
    model, tokenizer = load_classifier(config.model_name_or_path, labels, **config.model_overrides)
    history = []
    for settings, data_name in plan:
        result = train_stage(model, tokenizer, data[data_name], labels=labels, settings=settings, device=device,
                             checkpoint_dir=config.checkpoint_dir, resume=config.resume, progress=progress)
        record = result.to_dict()
        record["data"] = data_name
        history.append(record)
    return TrainedClassifier(model=model, tokenizer=tokenizer, history=history, config=config)


def grid_search(
    train: Sequence[Example],
    *,
    method: str,
    labels: Sequence[str],
    config: TrainConfig,
    augmented: Sequence[Example] | None = None,
    validation: Sequence[Example] | None = None,
    progress: ProgressCallback | None = None,
    batch_sizes: Sequence[int] = GRID_BATCH_SIZES,
    learning_rates: Sequence[float] = GRID_LEARNING_RATES,
) -> dict[str, Any]:
    """Try every (batch size, learning rate) pair and return the best by validation micro-F1.

    Returns ``{"batch_size", "learning_rate", "micro_f1", "results": [...]}``; ties go
    to the pair tried first. Without ``validation``, 15% of ``train`` (stratified,
    seeded with ``config.seed``) is held out.
    """
    from admelabel.dataset import holdout_split
    from admelabel.evaluation import compute_metrics
    from admelabel.training.inference import predict_labels

    if validation is None:
        train, validation = holdout_split(train, test_size=0.15, seed=config.seed, mode="random")
    results = []
    for batch_size, learning_rate in itertools.product(batch_sizes, learning_rates):
        trial = replace(config, batch_size=batch_size, learning_rate=learning_rate, grid=False,
                        checkpoint_dir=None, resume=False)
        trained = train_classifier(train, method=method, labels=labels, config=trial, augmented=augmented,
                                   progress=progress)
        predicted = predict_labels(trained.model, trained.tokenizer, [e.text for e in validation],
                                   max_length=config.max_length, precision=config.precision)
        score = compute_metrics([e.label for e in validation], predicted, labels)["micro_f1"]
        log.info("grid: batch_size=%d learning_rate=%g micro_f1=%.4f", batch_size, learning_rate, score)
        results.append({"batch_size": batch_size, "learning_rate": learning_rate, "micro_f1": score})
    best = max(results, key=lambda item: item["micro_f1"])
    return {**best, "results": results}


def checkpoint_dir_for(folder: str | Path) -> str:
    """Return the checkpoint folder used inside a partial model folder."""
    return str(Path(folder) / "checkpoints")


def augmented_training_set(
    train: Sequence[Example],
    *,
    augment_method: str = "eda",
    seed: int = 0,
    options: dict[str, Any] | None = None,
    include_original: bool = False,
) -> tuple[list[Example], dict[str, Any]]:
    """Return the pre-finetuning data and the augmenter's stats.

    The pre-finetuning data is the class-balanced augmented set that
    ``admelabel.augment.augment_examples(train, method=augment_method, seed=seed,
    **options)`` draws from ``train``, as the method prescribes. With
    ``include_original`` the original ``train`` examples come first, followed by
    the augmented ones; that set is no longer class-balanced. Raises ``DataError``
    when the augment module is not available.
    """
    try:
        from admelabel.augment import augment_examples
    except ImportError:
        raise DataError(
            "method prefinetune-da needs admelabel.augment.augment_examples, which this installation lacks; "
            "use another --method or install an admelabel with the augment module"
        ) from None
    result = augment_examples(list(train), method=augment_method, seed=seed, **(options or {}))
    augmented = list(result.examples)
    if include_original:
        return list(train) + augmented, dict(result.stats)
    return augmented, dict(result.stats)
