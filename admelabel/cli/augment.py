"""The `admelabel augment` command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from admelabel.cli._app import app, console, err_console, handle_errors

SAMPLE_ROWS = 5
SAMPLE_CHARS = 160


def counts_table(stats: dict) -> Table:
    """Build the table of per-class counts from ``AugmentResult.stats``."""
    table = Table(title="Augmented examples per class")
    table.add_column("class")
    for name in ("sampled", "produced", "dropped identical", "dropped empty", "distinct"):
        table.add_column(name, justify="right")
    totals = [0, 0, 0, 0, 0]
    for label, counts in stats.items():
        if not isinstance(counts, dict):
            continue
        row = [counts["sampled"], counts["produced"], counts["dropped_identical"], counts["dropped_empty"], counts["distinct"]]
        totals = [total + value for total, value in zip(totals, row)]
        table.add_row(label, *(str(value) for value in row))
    table.add_row("total", *(str(value) for value in totals), style="bold")
    return table


def samples_table(sources: dict, examples: list, rows: int = SAMPLE_ROWS) -> Table:
    """Build a table of a few (source, augmented) pairs, one per class first."""
    table = Table(title="Samples (source -> augmented)", show_lines=True)
    table.add_column("class")
    table.add_column("operation")
    table.add_column("source")
    table.add_column("augmented")
    seen: set[str] = set()
    picked = []
    for example in examples:
        if example.label not in seen:
            seen.add(example.label)
            picked.append(example)
    for example in picked[:rows]:
        source = sources.get(example.meta["source_id"])
        table.add_row(example.label, example.meta["operation"], _clip(source.text if source else "?"), _clip(example.text))
    return table


def _clip(text: str) -> str:
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 3] + "..."


@app.command()
@handle_errors
def augment(
    dataset: Path = typer.Argument(..., help="Dataset JSONL written by 'admelabel extract' (fields text and label)."),
    out: Path = typer.Option(..., "--out", "-o", help="Output JSONL: id, source_id, label, method, operation, text."),
    method: str = typer.Option("eda", "--method", "-m", help="Augmenter: backtranslate, eda or apertium."),
    per_class: int | None = typer.Option(None, "--per-class", help="Draws per class; default: the size of the largest class."),
    copies: int = typer.Option(1, "--copies", help="Augmented outputs requested per draw."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling and of EDA's random choices."),
    split: str = typer.Option("dedup", "--split", help="Holdout split mode whose training side is augmented: dedup, random, group-text or group-drug."),
    split_seed: int = typer.Option(0, "--split-seed", help="Seed of the holdout split; use the one you train and evaluate with."),
    test_size: float = typer.Option(0.15, "--test-size", help="Fraction held out as the test set, which is never augmented."),
    no_split: bool = typer.Option(False, "--no-split", help="Augment every example of DATASET, as given (no split, no de-duplication)."),
    model_pairs: list[str] | None = typer.Option(
        None, "--model-pairs",
        help="backtranslate: PIVOT=FORWARD,BACKWARD model names or folders; repeat per pivot. Default: de and ru opus-mt pairs.",
    ),
    device: str | None = typer.Option(None, "--device", help="backtranslate: torch device; default cuda when available, else cpu."),
    batch_size: int | None = typer.Option(None, "--batch-size", help="backtranslate: sentences per batch (32); apertium: paragraphs per call (200)."),
    operations: str | None = typer.Option(None, "--operations", help="eda: comma-separated operations among synonym, swap, delete (default all three)."),
    cache_dir: Path | None = typer.Option(None, "--cache-dir", help="Cache folder; default $ADMELABEL_HOME/augment-cache or ./data/augment-cache."),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print no tables."),
) -> None:
    """Write a class-balanced augmented set of a dataset's training split as JSONL.

    By default the training side of the de-duplicated 85/15 holdout split is augmented, so that no test paragraph leaks into augmented training data.
    """
    from admelabel.augment import AUGMENT_METHODS, augment_examples, check_arguments, default_cache_dir
    from admelabel.dataset import holdout_split, read_examples_any
    from admelabel.io import write_jsonl_atomic

    if method not in AUGMENT_METHODS:
        raise ValueError(f"--method must be one of {', '.join(AUGMENT_METHODS)}, got {method!r}")
    options = _method_options(method, model_pairs, device, batch_size, operations)
    check_arguments(method, per_class=per_class, copies=copies, **options)

    examples = read_examples_any(dataset)
    if no_split:
        train = examples
        err_console.print(f"augmenting all {len(train)} examples of {dataset} (--no-split)", highlight=False)
    else:
        train, test = holdout_split(examples, test_size=test_size, seed=split_seed, mode=split)  # type: ignore[arg-type]
        err_console.print(
            f"augmenting the training side of the {split} holdout split (seed {split_seed}, test size {test_size:g}): "
            f"{len(train)} training examples; {len(test)} test examples left out",
            highlight=False,
        )

    with Progress(
        SpinnerColumn(), TextColumn(f"augmenting ({method})"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True, disable=quiet,
    ) as progress:
        task = progress.add_task("outputs", total=None)
        result = augment_examples(
            train, method=method, per_class=per_class, copies=copies, seed=seed,
            cache_dir=None if no_cache else (cache_dir or default_cache_dir()),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
            **options,
        )

    records = (
        {"id": example.id, "source_id": example.meta["source_id"], "label": example.label,
         "method": example.meta["method"], "operation": example.meta["operation"], "text": example.text}
        for example in result.examples
    )
    written = write_jsonl_atomic(out, records)
    if not quiet:
        console.print(counts_table(result.stats))
        console.print(samples_table({example.id: example for example in train}, result.examples))
    hit = " (from the cache)" if result.stats["cache_hit"] else ""
    console.print(f"wrote {written} augmented examples to {out} in {result.stats['seconds']:.1f} s{hit}", highlight=False)


def _method_options(method: str, model_pairs: list[str] | None, device: str | None, batch_size: int | None, operations: str | None) -> dict:
    """Collect the method-specific options that were given; reject those of another method."""
    method_flags = {"--model-pairs": model_pairs, "--device": device, "--operations": operations}
    allowed = {"backtranslate": {"--model-pairs", "--device"}, "eda": {"--operations"}, "apertium": set()}[method]
    wrong = [name for name, value in method_flags.items() if value and name not in allowed]
    if wrong:
        raise ValueError(f"{', '.join(wrong)} does not apply to --method {method}")
    if batch_size is not None and method == "eda":
        raise ValueError("--batch-size does not apply to --method eda")

    options: dict = {}
    if model_pairs:
        options["model_pairs"] = list(model_pairs)
    if device:
        options["device"] = device
    if batch_size is not None:
        options["batch_size"] = batch_size
    if operations:
        options["operations"] = tuple(op.strip() for op in operations.split(",") if op.strip())
    return options
