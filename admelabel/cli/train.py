"""The `admelabel train` and `admelabel evaluate` commands."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from admelabel import LABELS
from admelabel.cli._app import PRECISION_HELP, app, console, err_console, handle_errors

METHOD_HELP = "prefinetune-da (default), vanilla, oversample or lp-ft."
RUN_FILE = "run.json"


def _check_options(**values: Any) -> None:
    """Raise ValueError for the first option outside its range; None means "use the profile's value"."""
    positive = ("epochs", "batch_size", "lr", "max_length", "threads", "seeds", "folds")
    for name, value in values.items():
        if value is None:
            continue
        if name in positive and not value > 0:
            raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {value}")
    test_size = values.get("test_size")
    if test_size is not None and not 0.0 < test_size < 1.0:
        raise ValueError(f"--test-size must be between 0 and 1, got {test_size}")
    if values.get("folds") is not None and values["folds"] < 2:
        raise ValueError(f"--folds must be at least 2, got {values['folds']}")


def _choice(name: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise ValueError(f"--{name} must be one of {', '.join(choices)}, got {value!r}")


def build_config(
    *, profile: str | None, model: str | None, epochs: int | None, batch_size: int | None, lr: float | None,
    max_length: int | None, grid: bool | None, seed: int, threads: int | None, device: str, precision: str = "auto",
) -> tuple[str, Any]:
    """Merge a profile's defaults with the options given and return (profile name, TrainConfig).

    ``precision`` is resolved here for the chosen device, so the config (and the model
    folder written from it) records ``bf16`` or ``fp32`` rather than ``auto``.
    """
    from admelabel.training.loop import PRECISIONS, resolve_device, resolve_precision
    from admelabel.training.profiles import profile_settings
    from admelabel.training.recipes import TrainConfig

    name, settings = profile_settings(profile)
    overrides = {"model_name_or_path": model, "epochs": epochs, "batch_size": batch_size, "learning_rate": lr,
                 "max_length": max_length, "grid": grid}
    settings.update({key: value for key, value in overrides.items() if value is not None})
    _choice("precision", precision, PRECISIONS)
    resolved = resolve_precision(precision, resolve_device(device))
    config = TrainConfig(**settings, seed=seed, num_threads=threads or _available_cores(), device=device,
                         precision=resolved)
    config.validate()
    return name, config


def _available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def _describe_setup(profile: str, config: Any) -> str:
    from admelabel.training.loop import resolve_device

    device = resolve_device(config.device)
    model = config.model_name_or_path or "all-MiniLM-L6-v2 (shipped)"
    precision = "bf16 autocast" if config.precision == "bf16" else "fp32"
    return (f"profile {profile}; device {device} ({precision}, {config.num_threads} CPU threads); model {model}; "
            f"max_length {config.max_length}; batch {config.batch_size}; lr {config.learning_rate:g}; "
            f"epochs {config.epochs}; grid {'on' if config.grid else 'off'}")


class TrainingProgress:
    """A rich progress display fed by the training loop's events."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task: Any = None
        self.rate = 0.0

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event["event"]
        if kind == "start":
            if self.task is not None:
                self.progress.remove_task(self.task)
            self.task = self.progress.add_task(event["stage"], total=event["total_steps"], completed=event["completed"],
                                               loss=float("nan"), rate=0.0)
        elif kind == "step" and self.task is not None:
            self.rate = event["examples_per_second"]
            self.progress.update(self.task, completed=event["step"], loss=event["loss"], rate=self.rate)
        elif kind == "epoch_end" and not self.progress.console.is_terminal:
            # Rich draws no bar when standard error is a file or a pipe, so a log shows one line per epoch.
            self.progress.console.print(f"stage {event['stage']}: epoch {event['epoch']}/{event['epochs']} done, "
                                        f"loss {event['loss']:.4f}, {self.rate:.1f} examples/s", highlight=False)
        elif kind == "skip":
            self.progress.console.print(f"stage {event['stage']}: finished before, restored from its checkpoint")


def _progress_display() -> Progress:
    return Progress(
        TextColumn("{task.description:<13}"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]:.4f}"), TextColumn("{task.fields[rate]:.1f} ex/s"),
        TimeElapsedColumn(), TimeRemainingColumn(), console=err_console,
    )


def metrics_table(metrics: dict[str, Any], title: str) -> Table:
    """Build a table of one evaluation: the summary scores, then F1 per class."""
    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    table.add_row("micro-F1", f"{metrics['micro_f1']:.4f}")
    table.add_row(f"micro-F1 without {metrics['majority_label']}", f"{metrics['minority_micro_f1']:.4f}")
    table.add_row("macro-F1", f"{metrics['macro_f1']:.4f}")
    for label, value in metrics["per_class_f1"].items():
        table.add_row(f"F1 {label}", f"{value:.4f}")
    return table


def _resume_settings(resume: Path) -> tuple[Path, dict[str, Any]]:
    from admelabel.errors import InputError
    from admelabel.training.model_folder import PARTIAL_SUFFIX, partial_dir

    staging = resume if resume.name.endswith(PARTIAL_SUFFIX) else partial_dir(resume)
    run_file = staging / RUN_FILE
    if not run_file.is_file():
        raise InputError(resume, f"nothing to resume: {run_file} not found; pass the .partial folder of an interrupted run")
    import json

    return staging, json.loads(run_file.read_text(encoding="utf-8"))


@app.command()
@handle_errors
def train(
    inputs: list[Path] = typer.Argument(None, help="SPL XML files, folders or zips, corpus: (labels fetched into $ADMELABEL_HOME or ./data), or a dataset .jsonl from 'admelabel extract'."),
    method: str = typer.Option("prefinetune-da", "--method", "-m", help=METHOD_HELP),
    model: str | None = typer.Option(None, "--model", help="Hugging Face encoder name or local folder (default: the profile's; cpu: shipped all-MiniLM-L6-v2)."),
    augment: str = typer.Option("eda", "--augment", help="Augmenter for prefinetune-da: eda, apertium or backtranslate."),
    split: str = typer.Option("dedup", "--split", help="random (copies on both sides), dedup, group-text or group-drug."),
    test_size: float = typer.Option(0.15, "--test-size", help="Fraction held out for the final evaluation."),
    seed: int = typer.Option(0, "--seed", help="Seed of the split, the head's weights, dropout and batch order."),
    epochs: int | None = typer.Option(None, "--epochs", help="Fine-tuning epochs (default: the profile's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Examples per batch (default: the profile's)."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate of fine-tuning (default: the profile's)."),
    max_length: int | None = typer.Option(None, "--max-length", help="Tokens per paragraph after truncation (default: the profile's)."),
    grid: bool | None = typer.Option(None, "--grid/--no-grid", help="Search batch size {8,16,32} x lr {5e-6,1e-5,3e-5,5e-5} on a validation split (default: the profile's)."),
    profile: str | None = typer.Option(None, "--profile", help="cpu or full (default: full with a CUDA GPU, else cpu)."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch (default: all available cores)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("auto", "--precision", help=PRECISION_HELP),
    out: Path | None = typer.Option(None, "--out", "-o", help="Model folder to write (default: MODELS_DIR/<method>-<YYYYmmdd-HHMMSS>)."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help="Where default model folders go."),
    resume: Path | None = typer.Option(None, "--resume", help="Continue an interrupted run from its folder (the .partial folder or the name it was to get)."),
) -> None:
    """Train an ADME paragraph classifier, evaluate it on a held-out split and save the model folder."""
    from admelabel.dataset import SPLIT_MODES, holdout_split
    from admelabel.evaluation import compute_metrics
    from admelabel.io import exclusive_lock, write_json_atomic
    from admelabel.training.inference import predict_labels
    from admelabel.training.inputs import describe_split, load_training_examples
    from admelabel.training.model_folder import default_model_dir, partial_dir, save_model_folder
    from admelabel.training.recipes import METHODS, augmented_training_set, checkpoint_dir_for, train_classifier

    started = time.perf_counter()
    if resume is not None:
        staging, run = _resume_settings(resume)
        inputs = [Path(item) for item in run["inputs"]]
        method, augment, split, test_size, seed = run["method"], run["augment"], run["split"], run["test_size"], run["seed"]
        profile, model, epochs, batch_size, lr, max_length, grid = (run[key] for key in
            ("profile", "model", "epochs", "batch_size", "lr", "max_length", "grid"))
        precision = run.get("precision", "auto")
        out = staging.with_name(staging.name[: -len(".partial")])
        console.print(f"Resuming {staging} with the settings it was started with", highlight=False)
    if not inputs:
        raise ValueError("no INPUT given; pass SPL files, folders, zips, corpus: (the fetched corpus) or a dataset .jsonl")
    _choice("method", method, METHODS)
    _choice("split", split, SPLIT_MODES)
    _choice("augment", augment, ("eda", "apertium", "backtranslate"))
    _check_options(epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, threads=threads, test_size=test_size)
    profile, config = build_config(profile=profile, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                                   max_length=max_length, grid=grid, seed=seed, threads=threads, device=device,
                                   precision=precision)
    console.print(_describe_setup(profile, config), highlight=False)

    examples, source = load_training_examples(inputs)
    for failure in source["failures"]:
        err_console.print(f"skipped: {failure}", highlight=False, soft_wrap=True)
    train_set, test_set = holdout_split(examples, test_size=test_size, seed=seed, mode=split)
    data = describe_split(train_set, test_set, labels=LABELS, mode=split, test_size=test_size, seed=seed)
    data["n_examples_read"] = len(examples)
    console.print(f"{len(examples)} labelled paragraphs; split {split}: {len(train_set)} train, {len(test_set)} test, "
                  f"{data['test_texts_in_train']} test texts also in training", highlight=False)

    out = out or default_model_dir(method, models_dir)
    if out.exists() and resume is None:
        raise ValueError(f"--out {out} already exists; choose another folder")
    staging = partial_dir(out)
    with exclusive_lock(out.with_name(out.name + ".lock"), f"model folder {out}"):
        run = {"inputs": [str(p) for p in inputs], "method": method, "augment": augment, "split": split,
               "test_size": test_size, "seed": seed, "profile": profile, "model": model, "epochs": epochs,
               "batch_size": batch_size, "lr": lr, "max_length": max_length, "grid": grid, "precision": precision, "out": str(out)}
        write_json_atomic(staging / RUN_FILE, run)
        config.checkpoint_dir = checkpoint_dir_for(staging)
        config.resume = resume is not None

        augmented, augment_stats = None, {}
        if method == "prefinetune-da":
            augmented, augment_stats = augmented_training_set(train_set, augment_method=augment, seed=seed,
                                                              options=_augment_cache_options())
            console.print(f"pre-finetuning set: {len(augmented)} class-balanced examples augmented with {augment} "
                          f"from {len(train_set)} training paragraphs", highlight=False)
        try:
            with _progress_display() as display:
                trained = train_classifier(train_set, method=method, labels=LABELS, config=config, augmented=augmented,
                                           progress=TrainingProgress(display))
        except KeyboardInterrupt:
            err_console.print(f"interrupted; continue with: admelabel train --resume {staging}", highlight=False)
            raise typer.Exit(130) from None

        predicted = predict_labels(trained.model, trained.tokenizer, [e.text for e in test_set], max_length=config.max_length,
                                   precision=config.precision)
        majority = max(data["train_class_counts"].items(), key=lambda item: item[1])[0]
        metrics = compute_metrics([e.label for e in test_set], predicted, LABELS, majority_label=majority)
        metrics["wall_seconds"] = round(time.perf_counter() - started, 1)
        settings = dict(trained.config.to_dict(), method=method, profile=profile, augment=augment if augmented else None,
                        augment_stats=augment_stats, stages=trained.history, inputs=run["inputs"], source=source)
        data["augmented_sha256"] = trained.history[0]["data_fingerprint"] if augmented else None
        folder = save_model_folder(out, trained.model, trained.tokenizer, labels=LABELS, settings=settings,
                                   data_fingerprint=data, metrics=metrics, method=method)
        console.print(metrics_table(metrics, f"{method} on the {split} test split ({len(test_set)} paragraphs)"))
        console.print(f"Model saved to {folder} ({metrics['wall_seconds'] / 60:.1f} min)", highlight=False)


def _augment_cache_options() -> dict[str, Any]:
    """Return the options that turn on the augmenter's on-disk cache, if the augment module offers one."""
    try:
        from admelabel.augment import default_cache_dir
    except ImportError:
        return {}
    return {"cache_dir": default_cache_dir()}


def _partial_report(json_out: Path, protocol: str) -> Any:
    """Return the report saved after each run of an earlier ``evaluate --json JSON_OUT``, or None when there is none."""
    import json

    from admelabel.errors import InputError
    from admelabel.evaluation import ComparisonReport

    path = json_out.with_name(f"{json_out.stem}.{protocol}.partial.json")
    if not path.is_file():
        err_console.print(f"--resume: {path} not found, so every {protocol} run starts now", highlight=False)
        return None
    try:
        report = ComparisonReport.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, KeyError, TypeError) as exc:
        raise InputError(path, f"cannot read the saved runs ({exc}); delete the file to start again") from None
    err_console.print(f"--resume: {len(report.runs)} finished {protocol} runs read from {path}", highlight=False)
    return report


def _parse_seeds(seeds: int, seed_list: str | None) -> list[int]:
    if seed_list:
        try:
            return [int(item) for item in seed_list.split(",") if item.strip()]
        except ValueError:
            raise ValueError(f"--seed-list must be comma-separated integers, got {seed_list!r}") from None
    return list(range(seeds))


@app.command()
@handle_errors
def evaluate(
    inputs: list[Path] = typer.Argument(..., help="SPL XML files, folders or zips, corpus:, or a dataset .jsonl from 'admelabel extract'."),
    methods: str = typer.Option("vanilla,oversample,lp-ft,prefinetune-da", "--methods", help="Comma-separated methods to compare."),
    protocol: str = typer.Option("holdout", "--protocol", help="holdout (85/15 by default), kfold, or both."),
    seeds: int = typer.Option(5, "--seeds", help="Run seeds 0..N-1."),
    seed_list: str | None = typer.Option(None, "--seed-list", help="Explicit seeds, e.g. 0,1,2 (overrides --seeds)."),
    split: str = typer.Option("random", "--split", help="random (the published protocol), dedup, group-text or group-drug."),
    test_size: float = typer.Option(0.15, "--test-size", help="Held-out fraction of the holdout protocol."),
    folds: int = typer.Option(5, "--folds", help="Folds of the kfold protocol."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the split itself (the same split for every training seed)."),
    augment: str = typer.Option("eda", "--augment", help="Augmenter for prefinetune-da: eda, apertium or backtranslate."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the full report (every run) as JSON."),
    plots: Path | None = typer.Option(None, "--plots", help="Folder for PNG plots (per-class F1, confusion matrices)."),
    model: str | None = typer.Option(None, "--model", help="Hugging Face encoder name or local folder (default: the profile's)."),
    epochs: int | None = typer.Option(None, "--epochs", help="Fine-tuning epochs (default: the profile's)."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="Examples per batch (default: the profile's)."),
    lr: float | None = typer.Option(None, "--lr", help="Peak learning rate of fine-tuning (default: the profile's)."),
    max_length: int | None = typer.Option(None, "--max-length", help="Tokens per paragraph (default: the profile's)."),
    grid: bool | None = typer.Option(None, "--grid/--no-grid", help="Grid search per run (default: the profile's)."),
    profile: str | None = typer.Option(None, "--profile", help="cpu or full (default: full with a CUDA GPU, else cpu)."),
    threads: int | None = typer.Option(None, "--threads", help="CPU threads for torch (default: all available cores)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("auto", "--precision", help=PRECISION_HELP),
    resume: bool = typer.Option(False, "--resume", help="Keep the finished runs saved beside --json by a stopped run with the same options, and train only the rest."),
) -> None:
    """Compare training methods over seeds on a holdout split and/or k-fold cross-validation."""
    from admelabel.dataset import SPLIT_MODES, holdout_split, kfold_splits
    from admelabel.evaluation import run_comparison, save_plots
    from admelabel.io import write_json_atomic
    from admelabel.training.inputs import load_training_examples
    from admelabel.training.recipes import METHODS

    method_list = [item.strip() for item in methods.split(",") if item.strip()]
    unknown = [item for item in method_list if item not in METHODS]
    if not method_list or unknown:
        raise ValueError(f"--methods must list methods from {', '.join(METHODS)}, got {methods!r}")
    _choice("protocol", protocol, ("holdout", "kfold", "both"))
    _choice("split", split, SPLIT_MODES)
    _choice("augment", augment, ("eda", "apertium", "backtranslate"))
    _check_options(epochs=epochs, batch_size=batch_size, lr=lr, max_length=max_length, threads=threads,
                   seeds=seeds, folds=folds, test_size=test_size)
    seed_values = _parse_seeds(seeds, seed_list)
    if resume and json_out is None:
        raise ValueError("--resume needs --json: the finished runs are saved beside that file")
    profile, config = build_config(profile=profile, model=model, epochs=epochs, batch_size=batch_size, lr=lr,
                                   max_length=max_length, grid=grid, seed=0, threads=threads, device=device,
                                   precision=precision)
    console.print(_describe_setup(profile, config), highlight=False)

    examples, source = load_training_examples(inputs)
    for failure in source["failures"]:
        err_console.print(f"skipped: {failure}", highlight=False, soft_wrap=True)
    protocols = ["holdout", "kfold"] if protocol == "both" else [protocol]
    reports = {}
    for name in protocols:
        if name == "holdout":
            splits = [holdout_split(examples, test_size=test_size, seed=split_seed, mode=split)]
        else:
            splits = kfold_splits(examples, n_splits=folds, seed=split_seed, mode=split)
        with _progress_display() as display:
            overall = display.add_task(f"{name} runs", total=len(splits) * len(seed_values) * len(method_list),
                                       loss=float("nan"), rate=0.0)
            stage_progress = TrainingProgress(display)

            def on_event(event: dict[str, Any]) -> None:
                if event["event"] == "run":
                    display.update(overall, completed=event["index"] - 1,
                                   description=f"{event['method']} s{event['seed']} f{event['split']}"[:13])
                elif event["event"] == "run_done":
                    # Save finished runs as they come, so that a stopped comparison keeps them.
                    if json_out is not None:
                        write_json_atomic(json_out.with_name(f"{json_out.stem}.{name}.partial.json"),
                                          event["report"].to_dict())
                else:
                    stage_progress(event)

            previous = _partial_report(json_out, name) if resume else None
            report = run_comparison(splits, methods=method_list, labels=LABELS, config=config, seeds=seed_values,
                                    augment_method=augment, augment_options=_augment_cache_options(),
                                    split_name=split, protocol=name, progress=on_event, previous=previous)
            display.update(overall, completed=len(report.runs))
        report.settings.update(profile=profile, inputs=[str(p) for p in inputs], split_seed=split_seed,
                               test_size=test_size if name == "holdout" else None, folds=folds if name == "kfold" else None)
        reports[name] = report
        console.print(report.to_table())
        if plots is not None:
            for path in save_plots(report, plots / name if len(protocols) > 1 else plots):
                console.print(f"Wrote {path}", highlight=False)
    if json_out is not None:
        payload = {name: report.to_dict() for name, report in reports.items()}
        write_json_atomic(json_out, payload if len(payload) > 1 else next(iter(payload.values())))
        for name in reports:
            json_out.with_name(f"{json_out.stem}.{name}.partial.json").unlink(missing_ok=True)
        console.print(f"Wrote {json_out}", highlight=False)
