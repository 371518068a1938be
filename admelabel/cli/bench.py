"""The `admelabel bench` commands: the IMDB and 20 Newsgroups benchmarks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.table import Table

from admelabel.cli._app import app, console, err_console, handle_errors

__all__ = ["bench_app"]

bench_app = typer.Typer(
    help="Reproduce the imbalanced IMDB and 20 Newsgroups benchmarks with the ADME training methods.",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench")

METHOD_NAMES = ("vanilla", "oversample", "lp-ft", "prefinetune-da")
AUGMENTERS = ("eda", "backtranslate", "apertium")
QUICK_SEEDS = 2
QUICK_MAX_LENGTH = 128

Data = Annotated[Optional[Path], typer.Option("--data", help="Local copy: the .tar.gz, the extracted folder or its parent.")]
DataDir = Annotated[Path, typer.Option("--data-dir", help="Folder for downloads and extracted data.")]
Download = Annotated[bool, typer.Option("--download/--no-download", help="Download the archive when no local copy is found.")]
Sha256 = Annotated[Optional[str], typer.Option("--sha256", help="Expected SHA-256 of the archive (hex).")]
Url = Annotated[Optional[str], typer.Option("--url", help="Download address; default: the dataset's canonical source.")]
Methods = Annotated[str, typer.Option("--methods", help=f"Comma-separated methods out of {', '.join(METHOD_NAMES)}.")]
Seeds = Annotated[Optional[int], typer.Option("--seeds", help=f"Number of seeds (0, 1, ...); default 5, or {QUICK_SEEDS} with --quick.")]
Augment = Annotated[str, typer.Option("--augment", help=f"Augmenter for prefinetune-da: {', '.join(AUGMENTERS)}.")]
Model = Annotated[Optional[str], typer.Option("--model", help="Model folder or Hugging Face name; default: the shipped all-MiniLM-L6-v2.")]
Layers = Annotated[Optional[int], typer.Option("--layers", help="Keep only the first N encoder layers (a smaller, faster model).")]
MaxLength = Annotated[Optional[int], typer.Option("--max-length", help=f"Tokens per text; default 256, or {QUICK_MAX_LENGTH} with --quick.")]
BatchSize = Annotated[int, typer.Option("--batch-size", help="Examples per training batch.")]
Epochs = Annotated[int, typer.Option("--epochs", help="Fine-tuning epochs.")]
LearningRate = Annotated[float, typer.Option("--lr", help="Fine-tuning learning rate.")]
Device = Annotated[str, typer.Option("--device", help="auto, cpu or cuda.")]
Quick = Annotated[bool, typer.Option("--quick", help="Subsample train and test for a CPU run (see --quick-train, --quick-test).")]
QuickTrain = Annotated[int, typer.Option("--quick-train", help="With --quick: examples in the largest training class; the others shrink by the same factor.")]
QuickTest = Annotated[int, typer.Option("--quick-test", help="With --quick: test examples per class at most.")]
Tsne = Annotated[bool, typer.Option("--tsne/--no-tsne", help="Train one extra prefinetune-da model and plot augmented vs held-out examples.")]
TsnePoints = Annotated[int, typer.Option("--tsne-points", help="Examples of each set (augmented, original) in the t-SNE plot.")]
Seed = Annotated[int, typer.Option("--seed", help="Seed of the imbalance builder and the subsampling.")]
Out = Annotated[Optional[Path], typer.Option("--out", help="Results folder; default bench-results/<benchmark>.")]
PrepareOnly = Annotated[bool, typer.Option("--prepare-only", help="Load and build the training sets, print the class counts, and stop.")]


def _parse_methods(text: str) -> list[str]:
    methods = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHOD_NAMES]
    if not methods or unknown:
        raise typer.BadParameter(f"choose from {', '.join(METHOD_NAMES)}; got {text!r}", param_hint="--methods")
    return methods


def _settings(options: dict[str, Any]) -> Any:
    from admelabel.benchmarks.runner import BenchSettings
    from admelabel.training.recipes import TrainConfig

    if options["augment"] not in AUGMENTERS:
        raise typer.BadParameter(f"choose from {', '.join(AUGMENTERS)}; got {options['augment']!r}", param_hint="--augment")
    quick = options["quick"]
    seeds = options["seeds"]
    if seeds is None:
        seeds = QUICK_SEEDS if quick else 5
    if seeds < 1:
        raise typer.BadParameter(f"must be at least 1, got {seeds}", param_hint="--seeds")
    max_length = options["max_length"] or (QUICK_MAX_LENGTH if quick else 256)
    overrides = {"num_hidden_layers": options["layers"]} if options["layers"] else {}
    config = TrainConfig(
        model_name_or_path=options["model"],
        max_length=max_length,
        batch_size=options["batch_size"],
        learning_rate=options["lr"],
        epochs=options["epochs"],
        device=options["device"],
        model_overrides=overrides,
    )
    config.validate()
    return BenchSettings(
        methods=_parse_methods(options["methods"]),
        seeds=list(range(seeds)),
        config=config,
        augment_method=options["augment"],
        tsne=options["tsne"],
        tsne_points=options["tsne_points"],
    )


def _download_progress() -> Any:
    state: dict[str, int] = {"last": -1}

    def report(done: int, total: int | None) -> None:
        step = done >> 23  # one line per 8 MiB
        if step != state["last"]:
            state["last"] = step
            size = f" of {total / 2**20:.0f} MiB" if total else ""
            err_console.print(f"downloaded {done / 2**20:.0f} MiB{size}", highlight=False)

    return report


def _print_counts(tag: str, summary: Any) -> None:
    table = Table(title=f"{tag}: training examples per class", title_justify="left")
    table.add_column("class")
    table.add_column("before", justify="right")
    table.add_column("after", justify="right")
    for label, count in summary.counts.items():
        kept = " (kept whole)" if label in summary.majority else ""
        table.add_row(label + kept, str(summary.counts_before[label]), str(count))
    console.print(table)
    console.print(f"{tag}: {summary.total} training examples, achieved rho = min/max = {summary.ratio:.4f}", highlight=False)


def _quick_data(data: Any, options: dict[str, Any]) -> None:
    from admelabel.benchmarks.runner import quick_subsample

    if not options["quick"]:
        return
    data.test = quick_subsample(data.test, max_per_class=options["quick_test"], seed=options["seed"])
    console.print(f"--quick: {len(data.test)} test examples (at most {options['quick_test']} per class)", highlight=False)


def _shrink_builds(builds: list[tuple], options: dict[str, Any]) -> list[tuple]:
    """With --quick, shrink each built training set by one factor per set, keeping its imbalance."""
    from dataclasses import replace

    from admelabel.benchmarks.runner import quick_subsample

    if not options["quick"]:
        return builds
    shrunk = []
    for tag, ratio, train, summary in builds:
        small = quick_subsample(train, max_per_class=options["quick_train"], seed=options["seed"])
        counts = {label: sum(1 for example in small if example.label == label) for label in summary.counts}
        nonzero = [count for count in counts.values() if count]
        summary = replace(summary, counts=counts, ratio=min(nonzero) / max(nonzero), params=dict(summary.params, quick_train=options["quick_train"]))
        shrunk.append((tag, ratio, small, summary))
    return shrunk


def _cell(value: dict[str, float]) -> str:
    return f"{value['mean']:.4f} ± {value['sem']:.4f}"


def _print_result(result: Any, published: dict[str, float]) -> None:
    summary = result.report.summary()
    table = Table(title=f"{result.tag}: mean ± SEM over seeds", title_justify="left", caption=result.report.caption())
    for column in ("method", "runs", "micro-F1", "non-majority micro-F1", "macro-F1", "published micro-F1"):
        table.add_column(column, justify="left" if column == "method" else "right")
    for method, entry in summary.items():
        figure = f"{published[method]:.4f}" if method in published else ""
        table.add_row(
            method, str(entry["n_runs"]), _cell(entry["micro_f1"]), _cell(result.nonmajority[method]),
            _cell(entry["macro_f1"]), figure,
        )
    console.print(table)

    per_class = Table(title=f"{result.tag}: per-class F1", title_justify="left")
    per_class.add_column("class")
    for method in summary:
        per_class.add_column(method, justify="right")
    for label in result.report.labels:
        per_class.add_row(label, *(_cell(entry["per_class_f1"][label]) for entry in summary.values()))
    console.print(per_class)
    if published:
        console.print("published micro-F1: Shi et al. 2022, for comparison; not measured here", highlight=False)
    if result.resumed:
        console.print(f"{result.tag}: reused the finished result from an earlier run", highlight=False)


def _run(benchmark: str, imbalance: str, data: Any, builds: list[tuple], options: dict[str, Any]) -> None:
    from admelabel.benchmarks.runner import PUBLISHED_F1, run_benchmark
    from admelabel.io import write_json_atomic

    name = benchmark if benchmark == "imdb" else f"{benchmark}-{imbalance}"
    out = options["out"] or Path("bench-results") / name
    builds = _shrink_builds(builds, options)
    for tag, _, _, summary in builds:
        _print_counts(tag, summary)
    data_info = {
        "root": str(data.root),
        "options": data.options,
        "quick": options["quick"],
        "n_test": len(data.test),
        "test_counts": data.counts("test"),
    }
    if options["prepare_only"]:
        write_json_atomic(out / "imbalance.json", {"data": data_info, "settings": [summary.to_dict() for *_, summary in builds]})
        console.print(f"class counts written to {out / 'imbalance.json'}; no training (--prepare-only)", highlight=False)
        return

    settings = _settings(options)
    published = PUBLISHED_F1.get(name, {})

    def show_event(event: dict[str, Any]) -> None:
        if event.get("event") == "run":
            err_console.print(
                f"run {event['index']}/{event['total']}: {event['method']}, seed {event['seed']}", highlight=False
            )

    result = run_benchmark(
        benchmark, imbalance, builds, data.test, labels=data.labels, settings=settings, out_dir=out,
        data_info=data_info, progress=show_event, on_setting=lambda setting: _print_result(setting, published),
    )
    console.print(f"results: {out / 'bench.json'}", highlight=False)
    for path in result.plots:
        console.print(f"plot: {path}", highlight=False)


def _common(**options: Any) -> dict[str, Any]:
    if options["quick_train"] < 1 or options["quick_test"] < 1:
        raise typer.BadParameter("must be at least 1", param_hint="--quick-train/--quick-test")
    _parse_methods(options["methods"])
    return options


@bench_app.command("imdb")
@handle_errors
def bench_imdb(
    data: Data = None,
    data_dir: DataDir = Path("data"),
    download: Download = True,
    sha256: Sha256 = None,
    url: Url = None,
    remove_fraction: Annotated[float, typer.Option("--remove-fraction", help="Fraction of the negative training reviews removed.")] = 0.9,
    methods: Methods = ",".join(METHOD_NAMES),
    seeds: Seeds = None,
    augment: Augment = "eda",
    model: Model = None,
    layers: Layers = None,
    max_length: MaxLength = None,
    batch_size: BatchSize = 16,
    epochs: Epochs = 3,
    lr: LearningRate = 5e-5,
    device: Device = "auto",
    quick: Quick = False,
    quick_train: QuickTrain = 100,
    quick_test: QuickTest = 50,
    tsne: Tsne = True,
    tsne_points: TsnePoints = 300,
    seed: Seed = 0,
    out: Out = None,
    prepare_only: PrepareOnly = False,
) -> None:
    """IMDB sentiment: remove 90% of the negative training reviews, compare the methods."""
    from admelabel.benchmarks.imbalance import imdb_imbalance
    from admelabel.benchmarks.imdb import load_imdb

    options = _common(**locals())
    data = load_imdb(data, data_dir=data_dir, download=download, url=url, sha256=sha256, progress=_download_progress())
    _quick_data(data, options)
    train, summary = imdb_imbalance(data.train, remove_fraction=remove_fraction, seed=seed)
    _run("imdb", "minority", data, [("imdb", round(1 - remove_fraction, 6), train, summary)], options)


@bench_app.command("20ng")
@handle_errors
def bench_newsgroups(
    imbalance: Annotated[str, typer.Option("--imbalance", help="step or longtail.")] = "step",
    ratio: Annotated[Optional[float], typer.Option("--ratio", help="longtail: rho (default 0.1); step: fraction kept of the other classes (default 0.1).")] = None,
    sweep: Annotated[bool, typer.Option("--sweep", help="Run rho = 0.1, 0.2, 0.3, 0.4, 0.5 and plot F1 against rho.")] = False,
    keep_range: Annotated[tuple[int, int], typer.Option("--keep-range", help="step: classes whose training count lies in LOW..HIGH (both included) stay whole.")] = (591, 600),
    remove: Annotated[str, typer.Option("--remove", help="Comma-separated parts stripped from messages: headers, footers, quotes; or none.")] = "headers,footers,quotes",
    data: Data = None,
    data_dir: DataDir = Path("data"),
    download: Download = True,
    sha256: Sha256 = None,
    url: Url = None,
    methods: Methods = ",".join(METHOD_NAMES),
    seeds: Seeds = None,
    augment: Augment = "eda",
    model: Model = None,
    layers: Layers = None,
    max_length: MaxLength = None,
    batch_size: BatchSize = 16,
    epochs: Epochs = 3,
    lr: LearningRate = 5e-5,
    device: Device = "auto",
    quick: Quick = False,
    quick_train: QuickTrain = 100,
    quick_test: QuickTest = 50,
    tsne: Tsne = True,
    tsne_points: TsnePoints = 300,
    seed: Seed = 0,
    out: Out = None,
    prepare_only: PrepareOnly = False,
) -> None:
    """20 Newsgroups: step or long-tail imbalance, one ratio or a sweep, compare the methods."""
    from admelabel.benchmarks.imbalance import DEFAULT_SWEEP_RATIOS, ratio_sweep
    from admelabel.benchmarks.newsgroups import load_newsgroups

    if imbalance not in ("step", "longtail"):
        raise typer.BadParameter(f"choose step or longtail; got {imbalance!r}", param_hint="--imbalance")
    if sweep and ratio is not None:
        raise typer.BadParameter("use either --ratio or --sweep, not both", param_hint="--ratio/--sweep")
    parts = [] if remove.strip() == "none" else [part.strip() for part in remove.split(",") if part.strip()]
    options = _common(**locals())

    data = load_newsgroups(
        data, data_dir=data_dir, download=download, url=url, sha256=sha256, remove=parts, progress=_download_progress()
    )
    _quick_data(data, options)
    if sweep:
        ratios = list(DEFAULT_SWEEP_RATIOS)
    else:
        ratios = [0.1 if ratio is None else ratio]
    extra = {"keep_range": keep_range} if imbalance == "step" else {}
    built = ratio_sweep(data.train, kind=imbalance, ratios=ratios, seed=seed, **extra)
    builds = [(f"20ng-{imbalance}-{value:g}", value, train, summary) for value, train, summary in built]
    _run("20ng", imbalance, data, builds, options)

