"""Metrics, repeated runs over seeds and splits, comparison tables, JSON and plots.

Scores follow the ADME experiments: micro-F1 over all classes (equal to accuracy for
single-label data), micro-F1 over the classes other than the training data's majority
class, macro-F1, per-class F1 and the confusion matrix. Each method is trained once per
(split, seed) pair and reported as the mean and the standard error of the mean
(sample standard deviation with ddof=1 divided by the square root of the number of runs).
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from admelabel.dataset import Example, count_overlap, fingerprint

log = logging.getLogger(__name__)

SUMMARY_METRICS: tuple[str, ...] = ("micro_f1", "minority_micro_f1", "macro_f1")


def compute_metrics(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    majority_label: str | None = None,
) -> dict[str, Any]:
    """Score predictions against true labels.

    Parameters
    ----------
    y_true, y_pred : sequences of class names, of equal length
    labels : sequence of str
        All classes, in the order used for per-class scores and the confusion matrix.
    majority_label : str, optional
        The class left out of ``minority_micro_f1``; it should be the majority class of
        the training data. None uses the most frequent class of ``y_true``.

    Returns
    -------
    dict with ``micro_f1``, ``macro_f1`` (unweighted mean over ``labels``; a class with no
    true and no predicted example scores 0), ``minority_micro_f1``, ``per_class_f1``
    ({label: F1}), ``confusion_matrix`` (rows true, columns predicted, ``labels`` order),
    ``majority_label`` and ``n``.

    Raises
    ------
    ValueError
        For sequences of different lengths, no examples, or a name outside ``labels``.
    """
    labels = list(labels)
    if len(y_true) != len(y_pred):
        raise ValueError(f"y_true and y_pred must have equal length, got {len(y_true)} and {len(y_pred)}")
    if not y_true:
        raise ValueError("cannot score an empty set of predictions")
    unknown = sorted((set(y_true) | set(y_pred)) - set(labels))
    if unknown:
        raise ValueError(f"labels {unknown} are not among {labels}")
    if majority_label is None:
        majority_label = Counter(y_true).most_common(1)[0][0]
    elif majority_label not in labels:
        raise ValueError(f"majority_label {majority_label!r} is not among {labels}")

    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    for true, predicted in zip(y_true, y_pred):
        matrix[index[true], index[predicted]] += 1

    per_class = {label: _f1(*_counts(matrix, [index[label]])) for label in labels}
    minority = [index[label] for label in labels if label != majority_label]
    return {
        "micro_f1": _f1(*_counts(matrix, list(range(len(labels))))),
        "minority_micro_f1": _f1(*_counts(matrix, minority)),
        "macro_f1": float(np.mean(list(per_class.values()))),
        "per_class_f1": per_class,
        "confusion_matrix": matrix.tolist(),
        "majority_label": majority_label,
        "n": len(y_true),
    }


def _counts(matrix: np.ndarray, classes: list[int]) -> tuple[int, int, int]:
    """Return true positives, false positives and false negatives pooled over ``classes``."""
    tp = int(sum(matrix[c, c] for c in classes))
    fp = int(sum(matrix[:, c].sum() - matrix[c, c] for c in classes))
    fn = int(sum(matrix[c, :].sum() - matrix[c, c] for c in classes))
    return tp, fp, fn


def _f1(tp: int, fp: int, fn: int) -> float:
    denominator = 2 * tp + fp + fn
    return 0.0 if denominator == 0 else 2 * tp / denominator


def mean_sem(values: Sequence[float]) -> tuple[float, float]:
    """Return the mean and the standard error of the mean (0 for a single value)."""
    values = [float(v) for v in values]
    if not values:
        return math.nan, math.nan
    mean = float(np.mean(values))
    if len(values) < 2:
        return mean, 0.0
    return mean, float(np.std(values, ddof=1) / math.sqrt(len(values)))


@dataclass
class ComparisonReport:
    """The runs of a comparison and their summary.

    ``runs`` contains one dict per (method, split, seed) with the metrics of that run.
    ``splits`` contains one dict per split with its sizes and ``overlap``, the number of
    test texts (case and white space folded) that also occur in its training data.
    """

    split_name: str
    protocol: str
    methods: list[str]
    labels: list[str]
    seeds: list[int]
    splits: list[dict[str, Any]] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)
    settings: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0

    def summary(self) -> dict[str, dict[str, Any]]:
        """Return, per method, mean and SEM of each summary metric and of each class's F1, plus the summed confusion matrix."""
        result = {}
        for method in self.methods:
            runs = [run for run in self.runs if run["method"] == method]
            if not runs:
                continue
            entry: dict[str, Any] = {"n_runs": len(runs)}
            for name in SUMMARY_METRICS:
                mean, sem = mean_sem([run["metrics"][name] for run in runs])
                entry[name] = {"mean": mean, "sem": sem}
            entry["per_class_f1"] = {}
            for label in self.labels:
                mean, sem = mean_sem([run["metrics"]["per_class_f1"][label] for run in runs])
                entry["per_class_f1"][label] = {"mean": mean, "sem": sem}
            entry["confusion_matrix"] = np.sum([run["metrics"]["confusion_matrix"] for run in runs], axis=0).tolist()
            result[method] = entry
        return result

    def caption(self) -> str:
        """Describe the split, protocol, seeds and train/test overlap in one line."""
        overlaps = [split["overlap"] for split in self.splits]
        tests = [split["n_test"] for split in self.splits]
        overlap_text = ", ".join(f"{o}/{t}" for o, t in zip(overlaps, tests))
        return (
            f"split: {self.split_name}; protocol: {self.protocol} ({len(self.splits)} split(s)); "
            f"seeds: {', '.join(map(str, self.seeds))}; test texts also in training: {overlap_text}"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return everything as JSON-ready data: settings, splits, runs and the summary."""
        return {
            "split": self.split_name,
            "protocol": self.protocol,
            "methods": self.methods,
            "labels": self.labels,
            "seeds": self.seeds,
            "settings": self.settings,
            "splits": self.splits,
            "summary": self.summary(),
            "runs": self.runs,
            "seconds": self.seconds,
            "caption": self.caption(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ComparisonReport:
        """Rebuild a report from ``to_dict()`` output, e.g. to merge the runs of several JSON files."""
        return cls(split_name=data["split"], protocol=data["protocol"], methods=list(data["methods"]),
                   labels=list(data["labels"]), seeds=list(data["seeds"]), splits=list(data["splits"]),
                   runs=list(data["runs"]), settings=dict(data.get("settings", {})), seconds=data.get("seconds", 0.0))

    def to_table(self) -> Any:
        """Return a rich ``Table``: one row per method, mean ± SEM of each metric and per-class F1."""
        from rich.table import Table

        table = Table(title="Method comparison", caption=self.caption())
        table.add_column("method")
        table.add_column("runs", justify="right")
        for name in ("micro-F1", "minority micro-F1", "macro-F1"):
            table.add_column(name, justify="right")
        for label in self.labels:
            table.add_column(f"F1 {label}", justify="right")
        for method, entry in self.summary().items():
            cells = [_format(entry[name]) for name in SUMMARY_METRICS]
            cells += [_format(entry["per_class_f1"][label]) for label in self.labels]
            table.add_row(method, str(entry["n_runs"]), *cells)
        return table


    def to_markdown(self) -> str:
        """Return the summary as a Markdown table (same columns as ``to_table``) followed by the caption."""
        header = ["method", "runs", "micro-F1", "minority micro-F1", "macro-F1"] + [f"F1 {label}" for label in self.labels]
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for method, entry in self.summary().items():
            cells = [method, str(entry["n_runs"])] + [_format(entry[name]) for name in SUMMARY_METRICS]
            cells += [_format(entry["per_class_f1"][label]) for label in self.labels]
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + f"\n\n{self.caption()}\n"


def _format(value: dict[str, float]) -> str:
    return f"{value['mean']:.4f} ± {value['sem']:.4f}"


def run_comparison(
    splits: Sequence[tuple[Sequence[Example], Sequence[Example]]],
    *,
    methods: Sequence[str],
    labels: Sequence[str],
    config: Any,
    seeds: Sequence[int],
    augment_method: str = "eda",
    augment_options: dict[str, Any] | None = None,
    split_name: str,
    protocol: str = "holdout",
    progress: Callable[[dict[str, Any]], None] | None = None,
    augment_fn: Callable[[Sequence[Example], int], Sequence[Example]] | None = None,
    previous: ComparisonReport | None = None,
) -> ComparisonReport:
    """Train and score every method on every (train, test) split with every seed.

    Parameters
    ----------
    splits : sequence of (train, test) pairs
        One pair for a holdout protocol, k pairs for k-fold cross-validation. Any labels
        work; they must all be in ``labels``.
    methods : sequence of str
        Names from ``admelabel.training.recipes.METHODS``.
    labels : sequence of str
        Class names in label-id order.
    config : TrainConfig
        Shared settings; ``seed`` is replaced by each seed, checkpoints are off.
    seeds : sequence of int
    augment_method, augment_options
        How ``prefinetune-da`` builds its pre-finetuning data with
        ``admelabel.augment.augment_examples``, once per (split, seed).
    split_name, protocol : str
        Recorded in the report and its caption.
    progress : callable, optional
        Receives ``{"event": "run", "method", "split", "seed", "index", "total"}`` before
        each run, the training loop's events, and ``{"event": "run_done", "report", ...}``
        with the report so far after each run.
    augment_fn : callable, optional
        ``augment_fn(train, seed)`` returning the complete pre-finetuning data; replaces
        the call to ``augment_examples``.
    previous : ComparisonReport, optional
        A partial report of the same comparison (same settings and splits), for
        example the one saved after each run by ``admelabel evaluate --json``. Its runs
        are kept and not trained again.

    Returns
    -------
    ComparisonReport

    Raises
    ------
    ValueError
        For an empty list of splits, seeds or methods, or an unknown method.
    DataError
        When ``previous`` was made with other settings or on other splits.
    """
    from admelabel.training.inference import predict_labels
    from admelabel.training.recipes import METHODS, augmented_training_set, train_classifier

    if not splits or not seeds or not methods:
        raise ValueError("run_comparison needs at least one split, one seed and one method")
    unknown = [method for method in methods if method not in METHODS]
    if unknown:
        raise ValueError(f"unknown methods {unknown}; choose from {', '.join(METHODS)}")

    report = ComparisonReport(split_name=split_name, protocol=protocol, methods=list(methods), labels=list(labels),
                              seeds=list(seeds), settings=dict(config.to_dict(), augment_method=augment_method))
    for index, (train, test) in enumerate(splits):
        report.splits.append({
            "index": index, "n_train": len(train), "n_test": len(test), "overlap": count_overlap(train, test),
            "train_class_counts": dict(Counter(example.label for example in train)),
            "train_sha256": fingerprint(train), "test_sha256": fingerprint(test),
        })
    done: set[tuple[str, int, int]] = set()
    if previous is not None:
        _check_same_comparison(previous, report)
        for run in previous.runs:
            key = (run["method"], run["split"], run["seed"])
            if run["method"] in methods and run["seed"] in seeds and run["split"] < len(splits) and key not in done:
                report.runs.append(run)
                done.add(key)
        log.info("resuming: %d of %d runs were finished before", len(done), len(splits) * len(seeds) * len(methods))
    started = time.perf_counter()
    total = len(splits) * len(seeds) * len(methods)
    count = 0
    for index, (train, test) in enumerate(splits):
        majority = Counter(example.label for example in train).most_common(1)[0][0]
        texts = [example.text for example in test]
        truth = [example.label for example in test]
        for seed in seeds:
            augmented = None
            for method in methods:
                count += 1
                if (method, index, seed) in done:
                    continue
                if progress is not None:
                    progress({"event": "run", "method": method, "split": index, "seed": seed, "index": count, "total": total})
                if method == "prefinetune-da" and augmented is None:
                    if augment_fn is not None:
                        augmented = list(augment_fn(train, seed))
                    else:
                        augmented, _ = augmented_training_set(train, augment_method=augment_method, seed=seed,
                                                              options=augment_options)
                run_config = replace(config, seed=seed, checkpoint_dir=None, resume=False)
                run_started = time.perf_counter()
                trained = train_classifier(train, method=method, labels=labels, config=run_config,
                                           augmented=augmented, progress=progress)
                predicted = predict_labels(trained.model, trained.tokenizer, texts, max_length=run_config.max_length,
                                           precision=run_config.precision)
                metrics = compute_metrics(truth, predicted, labels, majority_label=majority)
                report.runs.append({
                    "method": method, "split": index, "seed": seed, "metrics": metrics,
                    "seconds": time.perf_counter() - run_started,
                    "n_augmented": len(augmented) if method == "prefinetune-da" and augmented else 0,
                    "stages": [{k: v for k, v in stage.items() if k != "trainable"} for stage in trained.history],
                })
                log.info("%s split %d seed %d: micro-F1 %.4f", method, index, seed, metrics["micro_f1"])
                if progress is not None:
                    progress({"event": "run_done", "report": report, "index": count, "total": total})
    report.seconds = time.perf_counter() - started
    return report


def _check_same_comparison(previous: ComparisonReport, report: ComparisonReport) -> None:
    """Raise ``DataError`` unless ``previous`` was made with the settings and splits of ``report``."""
    from admelabel.errors import DataError

    def normalised(value: Any) -> str:
        return json.dumps(value, sort_keys=True, default=str)

    # Threads and device change the speed of a run, not what it trains, so a resume may change them.
    ignored = {"num_threads", "device", "checkpoint_dir", "resume"}
    settings = {key: value for key, value in previous.settings.items() if key in report.settings and key not in ignored}
    current = {key: value for key, value in report.settings.items() if key not in ignored}
    if normalised(settings) != normalised(current) or previous.split_name != report.split_name \
            or previous.protocol != report.protocol or list(previous.labels) != list(report.labels):
        raise DataError("the partial report to resume was made with other settings (split, protocol, classes or "
                        "training options); rerun with the same options, or start again without --resume")
    if len(previous.splits) != len(report.splits):
        raise DataError(f"the partial report to resume has {len(previous.splits)} splits, this run has "
                        f"{len(report.splits)}; rerun with the same inputs and options, or start again without --resume")
    for old, new in zip(previous.splits, report.splits):
        keys = [key for key in ("n_train", "n_test", "train_sha256", "test_sha256") if key in old]
        if any(old[key] != new[key] for key in keys):
            raise DataError(f"split {new['index']} of the partial report to resume contains other examples; "
                            "rerun with the same inputs, or start again without --resume")


def save_plots(report: ComparisonReport, out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write PNG plots of a report and return their paths.

    ``per_class_f1.png`` shows the mean per-class F1 of each method with SEM error bars;
    ``confusion_<method>.png`` the confusion matrix of each method summed over its runs.
    Each file is written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from admelabel.io import atomic_write

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    paths = []

    figure, axes = plt.subplots(figsize=(max(6, 1.6 * len(report.labels)), 4))
    width = 0.8 / max(1, len(summary))
    positions = np.arange(len(report.labels))
    for offset, (method, entry) in enumerate(summary.items()):
        means = [entry["per_class_f1"][label]["mean"] for label in report.labels]
        errors = [entry["per_class_f1"][label]["sem"] for label in report.labels]
        axes.bar(positions + offset * width, means, width, yerr=errors, label=method, capsize=2)
    axes.set_xticks(positions + width * (len(summary) - 1) / 2, report.labels)
    axes.set_ylim(0, 1)
    axes.set_ylabel("F1 (mean over runs)")
    axes.set_title(f"Per-class F1 ({report.split_name}, {report.protocol})")
    axes.legend(fontsize="small")
    figure.tight_layout()
    paths.append(_save_figure(figure, out / "per_class_f1.png", atomic_write))
    plt.close(figure)

    for method, entry in summary.items():
        matrix = np.array(entry["confusion_matrix"])
        figure, axes = plt.subplots(figsize=(5.5, 4.5))
        image = axes.imshow(matrix, cmap="Blues")
        axes.set_xticks(range(len(report.labels)), report.labels, rotation=45, ha="right")
        axes.set_yticks(range(len(report.labels)), report.labels)
        axes.set_xlabel("predicted")
        axes.set_ylabel("true")
        axes.set_title(f"{method}: confusion matrix, {entry['n_runs']} run(s) summed")
        for (row, column), value in np.ndenumerate(matrix):
            axes.text(column, row, str(value), ha="center", va="center",
                      color="white" if value > matrix.max() / 2 else "black", fontsize=8)
        figure.colorbar(image, ax=axes)
        figure.tight_layout()
        paths.append(_save_figure(figure, out / f"confusion_{method}.png", atomic_write))
        plt.close(figure)
    return paths


def _save_figure(figure: Any, path: Path, atomic_write: Any) -> Path:
    with atomic_write(path, "wb") as handle:
        figure.savefig(handle, format="png", dpi=120)
    return path
