"""Saving and loading the model folder that ``admelabel train`` writes under ``models/``.

The folder is what ``save_pretrained`` writes (``config.json`` with ``id2label`` and
``label2id``, ``model.safetensors``, tokenizer files), so that
``AutoModelForSequenceClassification.from_pretrained(folder)`` loads it as it is, plus
``admelabel.json``: the task, labels, method, settings, data fingerprint, split,
library versions, metrics and creation time.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from admelabel import LABELS, __version__
from admelabel.errors import ModelError
from admelabel.io import write_json_atomic

INFO_FILE = "admelabel.json"
TASK = "adme-pk-paragraph-classification"
PARTIAL_SUFFIX = ".partial"


def library_versions() -> dict[str, str]:
    """Return the versions of Python, admelabel, torch, transformers and tokenizers in use."""
    import tokenizers
    import torch
    import transformers

    return {
        "python": platform.python_version(),
        "admelabel": __version__,
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "tokenizers": tokenizers.__version__,
    }


def default_model_dir(method: str, models_dir: str | os.PathLike[str] = "models", *, now: dt.datetime | None = None) -> Path:
    """Return ``models_dir/<method>-<YYYYmmdd-HHMMSS>`` for the current (or given) local time."""
    now = now or dt.datetime.now()
    return Path(models_dir) / f"{method}-{now:%Y%m%d-%H%M%S}"


def partial_dir(final_dir: str | os.PathLike[str]) -> Path:
    """Return the folder a run trains into before it is renamed to ``final_dir``."""
    final_dir = Path(final_dir)
    return final_dir.with_name(final_dir.name + PARTIAL_SUFFIX)


def save_model_folder(
    directory: str | os.PathLike[str],
    model: Any,
    tokenizer: Any,
    *,
    labels: Sequence[str],
    settings: dict[str, Any],
    data_fingerprint: dict[str, Any],
    metrics: dict[str, Any] | None,
    method: str | None = None,
    task: str = TASK,
) -> Path:
    """Write a model folder atomically and return its path.

    Everything is written into ``<directory>.partial`` first (kept from an interrupted
    run, checkpoints removed), which is renamed to ``directory`` at the end. Raises
    ``ModelError`` when ``directory`` already exists or the label map of the model
    disagrees with ``labels``.
    """
    directory = Path(directory)
    if directory.exists():
        raise ModelError(f"model folder already exists: {directory}; choose another --out or remove it")
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    if [id2label.get(i) for i in range(len(labels))] != list(labels):
        raise ModelError(f"the model's label map {id2label} does not match the labels {list(labels)}")

    staging = partial_dir(directory)
    staging.mkdir(parents=True, exist_ok=True)
    from admelabel.training.models import _quiet_transformers

    with _quiet_transformers():  # a one-file model needs no "Writing model shards" bar
        model.save_pretrained(staging, safe_serialization=True)
        tokenizer.save_pretrained(staging)
    info = {
        "task": task,
        "labels": list(labels),
        "method": method if method is not None else settings.get("method"),
        "settings": settings,
        "data_fingerprint": data_fingerprint,
        "split": data_fingerprint.get("split"),
        "library_versions": library_versions(),
        "metrics": metrics,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    write_json_atomic(staging / INFO_FILE, info)
    shutil.rmtree(staging / "checkpoints", ignore_errors=True)
    os.replace(staging, directory)
    return directory


def read_model_info(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """Read ``admelabel.json`` of a model folder.

    Raises ``ModelError`` for a missing folder or a folder that is not an admelabel model.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise ModelError(f"model folder not found: {directory}; train one with 'admelabel train' or pass an existing folder")
    path = directory / INFO_FILE
    if not path.is_file():
        raise ModelError(f"{directory} is not an admelabel model folder: {INFO_FILE} is missing; train one with 'admelabel train'")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ModelError(f"cannot read {path}: {exc}") from None
    if not isinstance(info, dict):
        raise ModelError(f"{path} does not contain a JSON object")
    return info


def load_model_folder(
    directory: str | os.PathLike[str],
    *,
    expected_labels: Sequence[str] | None = LABELS,
) -> tuple[Any, Any, dict[str, Any]]:
    """Load a model folder and return ``(model, tokenizer, info)``; ``info`` is ``admelabel.json``.

    ``expected_labels`` (the ADME classes by default; None accepts any) must equal both
    the labels in ``admelabel.json`` and the model's ``id2label``. The model is in eval mode.

    Raises
    ------
    ModelError
        For a missing folder, a folder without ``admelabel.json``, a label map that is
        not the expected task, or weights that transformers cannot load.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    directory = Path(directory)
    info = read_model_info(directory)
    labels = info.get("labels")
    if expected_labels is not None and list(labels or []) != list(expected_labels):
        raise ModelError(
            f"{directory} was trained for labels {labels}, not the ADME classes {list(expected_labels)}; "
            "pass a model trained by 'admelabel train'"
        )
    try:
        model = AutoModelForSequenceClassification.from_pretrained(directory, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(directory, local_files_only=True)
    except (OSError, ValueError) as exc:
        raise ModelError(f"cannot load the model in {directory}: {exc}") from None
    id2label = {int(k): v for k, v in model.config.id2label.items()}
    if [id2label.get(i) for i in range(len(labels or []))] != list(labels or []):
        raise ModelError(f"{directory}: config.json's id2label {id2label} disagrees with {INFO_FILE} labels {labels}")
    model.eval()
    return model, tokenizer, info


def find_latest_model(models_dir: str | os.PathLike[str] = "models") -> Path | None:
    """Return the most recently created model folder under ``models_dir``, or None when there is none.

    Only finished folders (with ``admelabel.json``, not ``*.partial``) count; the
    ``created`` time in ``admelabel.json`` orders them, the folder name breaks ties.
    """
    root = Path(models_dir)
    if not root.is_dir():
        return None
    found = []
    for child in root.iterdir():
        if not child.is_dir() or child.name.endswith(PARTIAL_SUFFIX) or not (child / INFO_FILE).is_file():
            continue
        try:
            created = str(read_model_info(child).get("created", ""))
        except ModelError:
            continue
        found.append((created, child.name, child))
    return max(found)[2] if found else None
