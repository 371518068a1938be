"""Measure the offline augmenters on real PK paragraphs: examples per second, and the cache-hit time.

Usage:
    PYTHONPATH=. python benchmarks/augment_speed.py DATASET.jsonl [--per-class 40] [--seed 0]

DATASET is a file written by ``admelabel extract``. The benchmark takes the training
side of the de-duplicated 85/15 holdout split (seed 0), as ``admelabel augment``
does, draws ``--per-class`` examples per class and augments them once with EDA and
once with Apertium, each into a fresh cache folder. It then repeats each call to
time the cache hit. Construction time (loading WordNet, nlpaug, checking Apertium)
is reported apart from the augmentation itself.
"""

from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import tempfile
import time
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dataset", type=Path)
    parser.add_argument("--per-class", type=int, default=40, help="Draws per class (default 40).")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    from admelabel.augment import augment_examples, create_augmenter
    from admelabel.dataset import holdout_split, load_examples

    train, _ = holdout_split(load_examples(args.dataset), test_size=0.15, seed=0, mode="dedup")
    words = statistics.median(len(example.text.split()) for example in train)
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, python {platform.python_version()}")
    print(f"input: {len(train)} training paragraphs (dedup split), median {words:.0f} words; {args.per_class} draws per class")
    print(f"{'method':10} {'build s':>8} {'examples':>9} {'seconds':>8} {'examples/s':>11} {'cache hit ms':>13}")

    methods = ["eda"] + (["apertium"] if shutil.which("apertium") else [])
    for method in methods:
        started = time.perf_counter()
        create_augmenter(method)
        build_seconds = time.perf_counter() - started
        with tempfile.TemporaryDirectory() as cache_dir:
            # The augmenter is built again inside this call, but WordNet and nlpaug are
            # already loaded, so the time is the augmentation itself.
            result = augment_examples(train, method=method, per_class=args.per_class, seed=args.seed, cache_dir=cache_dir)
            hit = augment_examples(train, method=method, per_class=args.per_class, seed=args.seed, cache_dir=cache_dir)
        assert hit.stats["cache_hit"], "second call did not hit the cache"
        outputs = sum(counts["sampled"] for counts in result.class_stats().values())
        seconds = result.stats["seconds"]
        print(
            f"{method:10} {build_seconds:8.1f} {outputs:9d} {seconds:8.1f} {outputs / seconds:11.1f} "
            f"{hit.stats['seconds'] * 1000:13.1f}"
        )
    if "apertium" not in methods:
        print("apertium: not installed, skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
