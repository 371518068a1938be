"""Choosing which parameters of a BERT-like classifier train in each stage of a recipe.

Stages
------
``all``
    Every parameter trains (full fine-tuning).
``top-layer``
    The top encoder layer, the pooler and the classification head train; the
    embeddings and all lower layers are frozen (the pre-finetuning stage).
``head``
    Only the pooler and the classification head train (the linear-probe stage).

The pooler is counted as part of the head because ``BertForSequenceClassification``
feeds the pooled [CLS] vector (a dense layer with tanh) into its classifier, so the
head cannot adapt without it. Models without a pooler (RoBERTa, DistilBERT) have their
own dense layer inside the head, which is trained either way.
"""

from __future__ import annotations

from typing import Any

from admelabel.errors import ModelError

STAGES: tuple[str, ...] = ("all", "top-layer", "head")


def encoder_layers(model: Any) -> Any:
    """Return the ``ModuleList`` of transformer layers of a BERT-like model.

    Supports ``base_model.encoder.layer`` (BERT, RoBERTa, ELECTRA and relatives) and
    ``base_model.transformer.layer`` (DistilBERT). Raises ``ModelError`` otherwise.
    """
    base = model.base_model
    for path in (("encoder", "layer"), ("transformer", "layer")):
        module = base
        for name in path:
            module = getattr(module, name, None)
            if module is None:
                break
        if module is not None:
            return module
    raise ModelError(
        f"cannot find the encoder layers of {type(model).__name__}: expected base_model.encoder.layer "
        "or base_model.transformer.layer; use a BERT, RoBERTa, ELECTRA or DistilBERT model"
    )


def head_parameter_names(model: Any) -> set[str]:
    """Return the names of the head's parameters: everything outside the base model, plus its pooler."""
    prefix = model.base_model_prefix + "."
    names = {name for name, _ in model.named_parameters() if not name.startswith(prefix)}
    pooler = getattr(model.base_model, "pooler", None)
    if pooler is not None:
        names.update(prefix + "pooler." + name for name, _ in pooler.named_parameters())
    return names


def top_layer_parameter_names(model: Any) -> set[str]:
    """Return the names of the parameters of the top (last) encoder layer."""
    layers = encoder_layers(model)
    top = layers[len(layers) - 1]
    top_ids = {id(parameter) for parameter in top.parameters()}
    return {name for name, parameter in model.named_parameters() if id(parameter) in top_ids}


def set_trainable(model: Any, stage: str) -> list[str]:
    """Freeze or unfreeze parameters for ``stage`` and return the sorted names of the trainable ones.

    Raises ``ValueError`` for an unknown stage and ``ModelError`` when the encoder
    layers cannot be found.
    """
    if stage not in STAGES:
        raise ValueError(f"freezing stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if stage == "all":
        wanted = {name for name, _ in model.named_parameters()}
    elif stage == "top-layer":
        wanted = head_parameter_names(model) | top_layer_parameter_names(model)
    else:
        wanted = head_parameter_names(model)

    for name, parameter in model.named_parameters():
        parameter.requires_grad_(name in wanted)
    return trainable_parameter_names(model)


def trainable_parameter_names(model: Any) -> list[str]:
    """Return the sorted names of parameters with ``requires_grad`` set."""
    return sorted(name for name, parameter in model.named_parameters() if parameter.requires_grad)
