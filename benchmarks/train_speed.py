"""Training throughput, peak memory and F1: admelabel's loop against the Hugging Face Trainer.

Every contender trains the same model (the shipped all-MiniLM-L6-v2 cut to its first
``--layers`` layers, head initialised with the same seed) on the same real PK
paragraphs with the same batch size, epochs, learning rate, warm-up, weight decay,
gradient clipping and maximum length, each in a fresh subprocess so that peak
memory (``ru_maxrss``) belongs to that contender alone. All are scored with the same
inference function on the same held-out paragraphs.

Contenders:
  ours                admelabel.training.loop.train_stage with its defaults: length-grouped
                      batches, dynamic padding, precision "auto" (bf16 autocast on a CPU
                      with bfloat16 instructions, else fp32)
  ours-fp32           the same loop with precision "fp32"
  trainer             transformers.Trainer with its defaults (random batches,
                      DataCollatorWithPadding, fp32)
  trainer-group       the Trainer with train_sampling_strategy="group_by_length"
  trainer-bf16        the Trainer with bf16=True (CPU autocast)
  trainer-group-bf16  the Trainer with both options

Every model is scored in fp32, so only training differs.

Throughput is given per wall-clock second and per CPU second (user + system time of the
process during training). On a machine shared with other jobs only the second is stable.

Usage:
  PYTHONPATH=. python benchmarks/train_speed.py [--spl DIR] [--labels 120] [--epochs 3] [--threads 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CONTENDERS = ("ours", "ours-fp32", "trainer", "trainer-group", "trainer-bf16", "trainer-group-bf16")


def build_data(spl: Path, n_labels: int, out: Path) -> dict:
    """Write train/test JSONL files of the deduplicated PK paragraphs of the first ``n_labels`` labels."""
    from admelabel.dataset import examples_from_records, holdout_split, save_examples
    from admelabel.extract import ExtractSummary, extract_records

    files = sorted(spl.glob("*.xml"))[:n_labels]
    examples = examples_from_records(extract_records(files, summary=ExtractSummary()))
    train, test = holdout_split(examples, test_size=0.2, seed=0, mode="dedup")
    save_examples(out / "train.jsonl", train)
    save_examples(out / "test.jsonl", test)
    return {"labels_read": len(files), "n_train": len(train), "n_test": len(test)}


def run_contender(args: argparse.Namespace) -> dict:
    """Train one contender in this process and return its figures."""
    import torch

    from admelabel import LABELS
    from admelabel.dataset import load_examples
    from admelabel.evaluation import compute_metrics
    from admelabel.training.inference import predict_labels
    from admelabel.training.loop import StageSettings, resolve_device, seed_everything, train_stage
    from admelabel.training.models import load_classifier

    torch.set_num_threads(args.threads)
    data = Path(args.data)
    train = load_examples(data / "train.jsonl")
    test = load_examples(data / "test.jsonl")
    seed_everything(args.seed)
    model, tokenizer = load_classifier(None, LABELS, num_hidden_layers=args.layers)

    precision = "fp32"
    if args.contender.startswith("ours"):
        settings = StageSettings(name="finetune", trainable="all", epochs=args.epochs, batch_size=args.batch_size,
                                 learning_rate=args.lr, warmup_ratio=0.1, weight_decay=0.01, grad_clip=1.0,
                                 max_length=args.max_length, seed=args.seed,
                                 precision="fp32" if args.contender == "ours-fp32" else "auto")
        started, cpu_started = time.perf_counter(), time.process_time()
        result = train_stage(model, tokenizer, train, labels=LABELS, settings=settings, device=resolve_device("cpu"))
        seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
        precision = result.settings["precision"]
    else:
        seconds, cpu_seconds = _train_with_trainer(model, tokenizer, train, args)
        precision = "bf16" if args.contender.endswith("bf16") else "fp32"

    predicted = predict_labels(model, tokenizer, [e.text for e in test], max_length=args.max_length, precision="fp32")
    metrics = compute_metrics([e.label for e in test], predicted, LABELS)
    return {
        "contender": args.contender,
        "training_precision": precision,
        "seconds": seconds,
        "examples_per_second": len(train) * args.epochs / seconds,
        "cpu_seconds": cpu_seconds,
        "examples_per_cpu_second": len(train) * args.epochs / cpu_seconds,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "micro_f1": metrics["micro_f1"],
        "macro_f1": metrics["macro_f1"],
    }


def _train_with_trainer(model, tokenizer, train, args: argparse.Namespace) -> tuple[float, float]:
    from transformers import DataCollatorWithPadding, Trainer, TrainingArguments

    from admelabel import LABELS

    label_ids = {label: i for i, label in enumerate(LABELS)}
    encoded = tokenizer([e.text for e in train], truncation=True, max_length=args.max_length)
    rows = [{"input_ids": ids, "attention_mask": mask, "labels": label_ids[e.label]}
            for ids, mask, e in zip(encoded["input_ids"], encoded["attention_mask"], train)]
    steps = -(-len(rows) // args.batch_size) * args.epochs
    sampling = "group_by_length" if args.contender.startswith("trainer-group") else "random"
    with tempfile.TemporaryDirectory() as output_dir:
        training_args = TrainingArguments(
            output_dir=output_dir, per_device_train_batch_size=args.batch_size, num_train_epochs=args.epochs,
            learning_rate=args.lr, warmup_steps=int(0.1 * steps), weight_decay=0.01, max_grad_norm=1.0,
            lr_scheduler_type="linear", seed=args.seed, use_cpu=True, report_to=[], save_strategy="no",
            logging_strategy="no", dataloader_num_workers=0, disable_tqdm=True, train_sampling_strategy=sampling,
            bf16=args.contender.endswith("bf16"),
        )
        trainer = Trainer(model=model, args=training_args, train_dataset=rows,
                          data_collator=DataCollatorWithPadding(tokenizer))
        started, cpu_started = time.perf_counter(), time.process_time()
        trainer.train()
        return time.perf_counter() - started, time.process_time() - cpu_started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--spl", type=Path, default=Path(os.environ.get("ADMELABEL_SHARED_SPL", "../shared/data/spl")),
                        help="Folder of SPL labels.")
    parser.add_argument("--labels", type=int, default=120, help="How many labels (in file-name order) to read.")
    parser.add_argument("--layers", type=int, default=2, help="Encoder layers of MiniLM to keep.")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-4)
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads; 1 keeps CPU time comparable on a machine shared with other jobs.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--contenders", default="ours,trainer", help=f"Comma-separated, from {', '.join(CONTENDERS)}.")
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.contender:
        print(json.dumps(run_contender(args)))
        return

    with tempfile.TemporaryDirectory() as folder:
        data = build_data(args.spl, args.labels, Path(folder))
        print(f"data: {data['n_train']} train / {data['n_test']} test distinct PK paragraphs from {data['labels_read']} labels")
        print(f"settings: MiniLM {args.layers} layers, batch {args.batch_size}, {args.epochs} epochs, lr {args.lr:g}, "
              f"max_length {args.max_length}, {args.threads} threads")
        results = []
        for contender in args.contenders.split(","):
            command = [sys.executable, __file__, "--contender", contender, "--data", folder]
            for name in ("layers", "epochs", "batch_size", "lr", "max_length", "threads", "seed"):
                command += [f"--{name.replace('_', '-')}", str(getattr(args, name))]
            output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
            results.append(json.loads(output.strip().splitlines()[-1]))
            print(json.dumps(results[-1]))

    by_name = {r["contender"]: r for r in results}
    print(f"\n{'contender':<19} {'ex/s':>8} {'ex/CPU-s':>9} {'seconds':>8} {'CPU s':>8} {'peak RSS MB':>12} "
          f"{'micro-F1':>9} {'macro-F1':>9}")
    for r in results:
        print(f"{r['contender']:<19} {r['examples_per_second']:8.1f} {r['examples_per_cpu_second']:9.1f} "
              f"{r['seconds']:8.1f} {r['cpu_seconds']:8.1f} {r['peak_rss_mb']:12.0f} {r['micro_f1']:9.4f} {r['macro_f1']:9.4f}")
    if "ours" in by_name:
        for other in CONTENDERS[1:]:
            if other in by_name:
                wall = by_name["ours"]["examples_per_second"] / by_name[other]["examples_per_second"]
                cpu = by_name["ours"]["examples_per_cpu_second"] / by_name[other]["examples_per_cpu_second"]
                print(f"throughput ours / {other}: {wall:.2f}x per wall-clock second, {cpu:.2f}x per CPU second")


if __name__ == "__main__":
    main()
