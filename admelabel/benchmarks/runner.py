"""Benchmark runs: build the imbalanced training set, compare the methods, write the results.

One *setting* is one imbalanced training set (IMDB, 20 Newsgroups step, or long tail
at one ratio). For each setting, ``admelabel.evaluation.run_comparison`` trains every
method with every seed on the same training and test data as ``admelabel train``
does for the ADME task. The runner adds the micro-F1 over the non-majority classes.
Every class that the builder kept whole counts as majority, so for the step
imbalance all of its large classes are left out. The runner also saves each finished
setting to its own JSON file, so an interrupted sweep resumes, and draws the plots.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from admelabel.benchmarks.imbalance import ImbalanceSummary, round_half_up
from admelabel.dataset import Example, fingerprint
from admelabel.io import write_json_atomic, write_text_atomic

__all__ = [
    "BenchSettings",
    "BenchmarkResult",
    "PUBLISHED_F1",
    "SettingResult",
    "markdown_tables",
    "nonmajority_micro_f1",
    "quick_subsample",
    "run_benchmark",
    "run_setting",
    "run_tsne_check",
    "sweep_points",
]

log = logging.getLogger(__name__)

DEFAULT_METHODS: tuple[str, ...] = ("vanilla", "oversample", "lp-ft", "prefinetune-da")


@dataclass
class BenchSettings:
    """How to train and score one benchmark.

    ``config`` is an ``admelabel.training.recipes.TrainConfig``; ``augment_method`` and
    ``augment_options`` go to ``admelabel.augment.augment_examples`` for the
    pre-finetuning data of ``prefinetune-da``. ``tsne_points`` caps each of the two sets
    in the t-SNE plot (augmented and held-out original examples).
    """

    methods: list[str]
    seeds: list[int]
    config: Any
    augment_method: str = "eda"
    augment_options: dict[str, Any] = field(default_factory=dict)
    tsne: bool = True
    tsne_points: int = 300

    def to_dict(self) -> dict[str, Any]:
        return {
            "methods": self.methods,
            "seeds": self.seeds,
            "config": self.config.to_dict(),
            "augment_method": self.augment_method,
            "augment_options": self.augment_options,
            "tsne": self.tsne,
            "tsne_points": self.tsne_points,
        }


@dataclass
class SettingResult:
    """The outcome of one setting: the builder's summary, the comparison and the extra metric."""

    tag: str
    ratio: float | None
    imbalance: ImbalanceSummary | dict[str, Any]
    report: Any
    nonmajority: dict[str, dict[str, float]]
    resumed: bool = False

    def to_dict(self) -> dict[str, Any]:
        imbalance = self.imbalance.to_dict() if isinstance(self.imbalance, ImbalanceSummary) else self.imbalance
        return {
            "tag": self.tag,
            "ratio": self.ratio,
            "imbalance": imbalance,
            "nonmajority_micro_f1": self.nonmajority,
            "report": self.report.to_dict(),
        }


def quick_subsample(examples: Sequence[Example], *, max_per_class: int, seed: int = 0) -> list[Example]:
    """Shrink every class by the same factor so that the largest has at most ``max_per_class``.

    Each class keeps ``max(1, round_half_up(N_c * factor))`` examples drawn with ``seed``,
    with ``factor = max_per_class / max(N)``, so the imbalance ratio stays about the
    same. Original order is kept. Raises ``ValueError`` when ``max_per_class`` < 1.
    """
    if max_per_class < 1:
        raise ValueError(f"max_per_class must be at least 1, got {max_per_class}")
    by_class: dict[str, list[int]] = defaultdict(list)
    for index, example in enumerate(examples):
        by_class[example.label].append(index)
    if not by_class:
        return []
    factor = min(1.0, max_per_class / max(len(indices) for indices in by_class.values()))
    rng = random.Random(seed)
    keep: set[int] = set()
    for label in sorted(by_class):
        indices = by_class[label]
        target = max(1, round_half_up(len(indices) * factor))
        keep.update(rng.sample(indices, min(target, len(indices))))
    return [example for index, example in enumerate(examples) if index in keep]


def nonmajority_micro_f1(confusion: Sequence[Sequence[int]], labels: Sequence[str], majority: Sequence[str]) -> float:
    """Micro-F1 pooled over the classes not in ``majority``, from a confusion matrix.

    Rows are true classes and columns predicted classes, both in ``labels`` order.
    Returns 0.0 when those classes have no true and no predicted example.
    """
    classes = [index for index, label in enumerate(labels) if label not in set(majority)]
    true_positives = sum(confusion[c][c] for c in classes)
    predicted = sum(sum(row[c] for row in confusion) for c in classes)
    actual = sum(sum(confusion[c]) for c in classes)
    denominator = predicted + actual
    return 0.0 if denominator == 0 else 2 * true_positives / denominator


def _nonmajority_summary(report: Any, majority: Sequence[str]) -> dict[str, dict[str, float]]:
    from admelabel.evaluation import mean_sem

    summary = {}
    for method in report.methods:
        values = [
            nonmajority_micro_f1(run["metrics"]["confusion_matrix"], report.labels, majority)
            for run in report.runs
            if run["method"] == method
        ]
        mean, sem = mean_sem(values)
        summary[method] = {"mean": mean, "sem": sem}
    return summary


def _setting_key(train: Sequence[Example], test: Sequence[Example], settings: BenchSettings) -> str:
    """Hash the data and every setting that changes the comparison (the t-SNE options do not)."""
    relevant = {name: value for name, value in settings.to_dict().items() if not name.startswith("tsne")}
    payload = json.dumps(
        {"train": fingerprint(train), "test": fingerprint(test), "settings": relevant},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _load_finished(path: Path, key: str) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        saved = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None
    return saved if saved.get("key") == key else None


def _report_from_dict(data: dict[str, Any]) -> Any:
    from admelabel.evaluation import ComparisonReport

    return ComparisonReport(
        split_name=data["split"],
        protocol=data["protocol"],
        methods=data["methods"],
        labels=data["labels"],
        seeds=data["seeds"],
        splits=data["splits"],
        runs=data["runs"],
        settings=data["settings"],
        seconds=data["seconds"],
    )


def _compare_resumable(
    tag: str,
    train: Sequence[Example],
    test: Sequence[Example],
    *,
    labels: Sequence[str],
    settings: BenchSettings,
    key: str,
    runs_dir: Path,
    progress: Callable[[dict[str, Any]], None] | None,
    augment_fn: Callable[[Sequence[Example], int], Sequence[Example]] | None,
) -> Any:
    """Call ``run_comparison`` once per (seed, method), skipping runs saved earlier, and merge the reports."""
    from admelabel.evaluation import ComparisonReport, run_comparison

    def inner_progress(event: dict[str, Any]) -> None:
        # run_comparison numbers its runs 1/1 here; the runner sends its own "run" events.
        if progress is not None and event.get("event") != "run":
            progress(event)

    merged = None
    total = len(settings.seeds) * len(settings.methods)
    index = 0
    for seed in settings.seeds:
        for method in settings.methods:
            index += 1
            run_path = runs_dir / f"{method}-seed{seed}.json"
            saved = _load_finished(run_path, key)
            if saved is None:
                if progress is not None:
                    progress({"event": "run", "method": method, "split": 0, "seed": seed, "index": index, "total": total})
                report = run_comparison(
                    [(list(train), list(test))],
                    methods=[method],
                    labels=labels,
                    config=settings.config,
                    seeds=[seed],
                    augment_method=settings.augment_method,
                    augment_options=settings.augment_options or None,
                    split_name=tag,
                    protocol="holdout (official test split)",
                    progress=inner_progress,
                    augment_fn=augment_fn,
                )
                saved = {"key": key, "report": report.to_dict()}
                write_json_atomic(run_path, saved)
            else:
                log.info("run %s seed %d of %s already finished; reusing %s", method, seed, tag, run_path)
            part = saved["report"]
            if merged is None:
                merged = ComparisonReport(
                    split_name=tag, protocol=part["protocol"], methods=list(settings.methods), labels=list(labels),
                    seeds=list(settings.seeds), splits=part["splits"], settings=part["settings"],
                )
            merged.runs.extend(part["runs"])
            merged.seconds += part["seconds"]
    return merged


def run_setting(
    tag: str,
    train: Sequence[Example],
    test: Sequence[Example],
    *,
    labels: Sequence[str],
    imbalance: ImbalanceSummary,
    settings: BenchSettings,
    out_dir: str | Path,
    ratio: float | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    augment_fn: Callable[[Sequence[Example], int], Sequence[Example]] | None = None,
    published: Mapping[str, float] | None = None,
) -> SettingResult:
    """Compare the methods on one imbalanced training set and save the result.

    Writes ``<out_dir>/<tag>.json`` (the setting's summary, report and non-majority
    micro-F1), ``<out_dir>/<tag>.md`` (the tables of ``markdown_tables``, with the
    ``published`` micro-F1 per method beside ours) and ``<out_dir>/<tag>/per_class_f1.png``.
    When that JSON already exists for the same data and settings, the saved result is
    returned without training (``resumed`` is true). Each (method, seed) run is also
    saved in ``<out_dir>/<tag>/runs/`` as soon as it finishes, so an interrupted
    setting continues with the first run that has no file.

    ``augment_fn(train, seed)``, when given, returns the complete pre-finetuning data and
    replaces the call to ``augment_examples`` (see ``run_comparison``).

    Raises whatever ``run_comparison`` raises: ``ValueError`` for invalid settings,
    ``DataError`` and ``ModelError`` from training.
    """
    from admelabel.benchmarks.plots import plot_per_class_f1

    out_dir = Path(out_dir)
    path = out_dir / f"{tag}.json"
    key = _setting_key(train, test, settings)
    saved = _load_finished(path, key)
    if saved is not None:
        log.info("setting %s already finished; reusing %s", tag, path)
        report = _report_from_dict(saved["report"])
        return SettingResult(tag, ratio, saved["imbalance"], report, saved["nonmajority_micro_f1"], resumed=True)

    report = _compare_resumable(
        tag, train, test, labels=labels, settings=settings, key=key,
        runs_dir=out_dir / tag / "runs", progress=progress, augment_fn=augment_fn,
    )
    result = SettingResult(tag, ratio, imbalance, report, _nonmajority_summary(report, imbalance.majority))
    plot_per_class_f1(report.summary(), report.labels, out_dir / tag / "per_class_f1.png", title=f"Per-class F1, {tag}")
    write_text_atomic(out_dir / f"{tag}.md", markdown_tables(result, published))
    write_json_atomic(path, dict(result.to_dict(), key=key))
    return result


def _cell(value: Mapping[str, float]) -> str:
    return f"{value['mean']:.4f} ± {value['sem']:.4f}"


def markdown_tables(result: SettingResult, published: Mapping[str, float] | None = None) -> str:
    """Format a setting's scores as two Markdown tables: per method, then per class.

    The first table has micro-F1, micro-F1 over the non-majority classes and macro-F1
    (mean ± SEM over seeds), plus the published micro-F1 when ``published`` has one
    for the method. The second has one row per class and one column per method.
    """
    summary = result.report.summary()
    published = published or {}
    lines = [
        f"### {result.tag}",
        "",
        "| method | runs | micro-F1 | non-majority micro-F1 | macro-F1 | published micro-F1 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for method, entry in summary.items():
        figure = f"{published[method]:.4f}" if method in published else ""
        lines.append(
            f"| {method} | {entry['n_runs']} | {_cell(entry['micro_f1'])} | {_cell(result.nonmajority[method])} "
            f"| {_cell(entry['macro_f1'])} | {figure} |"
        )
    lines += ["", "| class | " + " | ".join(summary) + " |", "|---|" + "---:|" * len(summary)]
    for label in result.report.labels:
        cells = " | ".join(_cell(entry["per_class_f1"][label]) for entry in summary.values())
        lines.append(f"| {label} | {cells} |")
    return "\n".join(lines) + "\n"


def sweep_points(results: Sequence[SettingResult], metric: str = "micro_f1") -> dict[str, list[tuple[float, float, float]]]:
    """Collect ``(ratio, mean, sem)`` of ``metric`` per method from a sweep's results.

    ``metric`` is a summary metric of ``ComparisonReport`` (``micro_f1``,
    ``minority_micro_f1``, ``macro_f1``) or ``nonmajority_micro_f1``.
    """
    points: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    for result in results:
        if result.ratio is None:
            continue
        if metric == "nonmajority_micro_f1":
            values = result.nonmajority
        else:
            values = {method: entry[metric] for method, entry in result.report.summary().items()}
        for method, value in values.items():
            points[method].append((result.ratio, value["mean"], value["sem"]))
    return dict(points)


def run_tsne_check(
    train: Sequence[Example],
    test: Sequence[Example],
    *,
    labels: Sequence[str],
    settings: BenchSettings,
    out_path: str | Path,
    augmented: Sequence[Example] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Fine-tune with pre-finetuning on augmented data and plot a t-SNE of the embeddings.

    Trains one ``prefinetune-da`` model with the first seed. ``run_comparison`` does not
    keep its models, so this is one extra run. Then embeds up to ``settings.tsne_points``
    augmented examples and as many held-out test examples with ``embed_texts``, and
    writes the joint t-SNE plot to ``out_path``. ``augmented`` is the complete
    pre-finetuning data; without it, it is built with ``augmented_training_set``. Only
    augmented copies (examples whose ``meta`` names a ``source_id``) are plotted.

    Returns a dict with the plot path and the number of points of each set.
    """
    from admelabel.benchmarks.embeddings import embed_texts
    from admelabel.benchmarks.plots import plot_tsne
    from admelabel.training.recipes import augmented_training_set, train_classifier

    seed = settings.seeds[0]
    if augmented is None:
        augmented, _ = augmented_training_set(
            train, augment_method=settings.augment_method, seed=seed, options=settings.augment_options or None
        )
    augmented = list(augmented)
    config = replace(settings.config, seed=seed, checkpoint_dir=None, resume=False)
    trained = train_classifier(
        train, method="prefinetune-da", labels=labels, config=config, augmented=augmented, progress=progress
    )

    rng = random.Random(seed)
    copies = [example for example in augmented if "source_id" in example.meta]
    copies = rng.sample(copies, min(settings.tsne_points, len(copies)))
    originals = rng.sample(list(test), min(settings.tsne_points, len(test)))
    vectors = {
        name: embed_texts(trained.model, trained.tokenizer, [e.text for e in examples], max_length=config.max_length,
                           precision=config.precision)
        for name, examples in (("augmented", copies), ("original", originals))
    }
    path = plot_tsne(
        vectors["augmented"],
        vectors["original"],
        out_path,
        augmented_labels=[example.label for example in copies],
        original_labels=[example.label for example in originals],
        seed=seed,
    )
    return {"path": str(path), "n_augmented": len(copies), "n_original": len(originals), "seed": seed}


PUBLISHED_F1: dict[str, dict[str, float]] = {
    "20ng-step": {"vanilla": 0.6433, "prefinetune-da": 0.6781},
    "20ng-longtail": {"vanilla": 0.7137, "prefinetune-da": 0.7571},
}
"""Figures published by Shi et al. 2022 (PMLR 183:68-82) for comparison; not measured here."""


def _result_name(benchmark: str, imbalance: str) -> str:
    return benchmark if benchmark == "imdb" else f"{benchmark}-{imbalance}"


@dataclass
class BenchmarkResult:
    """All settings of one ``admelabel bench`` call, with the t-SNE check and the plot paths."""

    benchmark: str
    imbalance: str
    settings: BenchSettings
    results: list[SettingResult]
    data: dict[str, Any] = field(default_factory=dict)
    tsne: dict[str, Any] | None = None
    plots: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        name = _result_name(self.benchmark, self.imbalance)
        return {
            "benchmark": self.benchmark,
            "imbalance": self.imbalance,
            "data": self.data,
            "settings": self.settings.to_dict(),
            "results": [result.to_dict() for result in self.results],
            "tsne": self.tsne,
            "plots": self.plots,
            "published_f1": PUBLISHED_F1.get(name, {}),
        }


class _AugmentCache:
    """Builds the pre-finetuning data and keeps the first set for the t-SNE check.

    ``run_comparison`` requests the first setting's first seed first, which is the
    training set and seed that the t-SNE check uses.
    """

    def __init__(self, settings: BenchSettings) -> None:
        self.settings = settings
        self.first: list[Example] | None = None
        self.first_key: tuple[list[str], int] | None = None

    def __call__(self, train: Sequence[Example], seed: int) -> list[Example]:
        from admelabel.training.recipes import augmented_training_set

        augmented, stats = augmented_training_set(
            train,
            augment_method=self.settings.augment_method,
            seed=seed,
            options=self.settings.augment_options or None,
        )
        log.info("augmented %d training examples to %d with seed %d: %s", len(train), len(augmented), seed, stats)
        if self.first is None:
            self.first = augmented
            self.first_key = ([example.id for example in train], seed)
        return augmented

    def lookup(self, train: Sequence[Example], seed: int) -> list[Example] | None:
        """Return the kept set when it was built from ``train`` with ``seed``, else None."""
        if self.first is None or self.first_key != ([example.id for example in train], seed):
            return None
        return self.first


def run_benchmark(
    benchmark: str,
    imbalance: str,
    builds: Sequence[tuple[str, float | None, list[Example], ImbalanceSummary]],
    test: Sequence[Example],
    *,
    labels: Sequence[str],
    settings: BenchSettings,
    out_dir: str | Path,
    data_info: dict[str, Any] | None = None,
    progress: Callable[[dict[str, Any]], None] | None = None,
    on_setting: Callable[[SettingResult], None] | None = None,
) -> BenchmarkResult:
    """Run every imbalanced training set of a benchmark and write ``<out_dir>/bench.json``.

    ``builds`` contains ``(tag, ratio, train, summary)`` per setting, as the imbalance
    builders return them; ``test`` is the untouched test split. Each setting goes
    through ``run_setting``, and ``on_setting`` receives its result. A sweep (more than
    one setting with a ratio) also gets ``f1_vs_ratio.png`` and
    ``nonmajority_f1_vs_ratio.png``. With ``settings.tsne`` the first setting gets the
    t-SNE check (``run_tsne_check``), written to ``tsne.png``.

    Returns the ``BenchmarkResult`` that ``bench.json`` contains.
    """
    from admelabel.benchmarks.plots import plot_sweep

    out_dir = Path(out_dir)
    cache = _AugmentCache(settings)
    results = []
    for tag, ratio, train, summary in builds:
        result = run_setting(
            tag, train, test, labels=labels, imbalance=summary, settings=settings, out_dir=out_dir,
            ratio=ratio, progress=progress, augment_fn=cache, published=PUBLISHED_F1.get(_result_name(benchmark, imbalance)),
        )
        results.append(result)
        if on_setting is not None:
            on_setting(result)

    outcome = BenchmarkResult(benchmark, imbalance, settings, results, data=dict(data_info or {}))
    outcome.plots = [str(out_dir / result.tag / "per_class_f1.png") for result in results]
    if sum(result.ratio is not None for result in results) > 1:
        xlabel = {
            "step": "fraction kept of the classes outside the keep range",
            "minority": "fraction kept of the minority class",
        }.get(imbalance, "imbalance ratio rho = min(N) / max(N)")
        for metric, name in (("micro_f1", "micro-F1"), ("nonmajority_micro_f1", "non-majority micro-F1")):
            path = out_dir / ("f1_vs_ratio.png" if metric == "micro_f1" else "nonmajority_f1_vs_ratio.png")
            title = f"{benchmark} {imbalance}: {name} against the ratio"
            plot_sweep(sweep_points(results, metric), path, metric=name, title=title, xlabel=xlabel)
            outcome.plots.append(str(path))

    if settings.tsne:
        tag, _, train, _ = builds[0]
        outcome.tsne = run_tsne_check(
            train, test, labels=labels, settings=settings, out_path=out_dir / "tsne.png",
            augmented=cache.lookup(train, settings.seeds[0]), progress=progress,
        )
        outcome.tsne["setting"] = tag
        outcome.plots.append(outcome.tsne["path"])

    write_json_atomic(out_dir / "bench.json", outcome.to_dict())
    return outcome
