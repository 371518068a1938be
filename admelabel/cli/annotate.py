"""The `admelabel annotate` command."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from admelabel import LABELS
from admelabel.cli._app import PRECISION_HELP, app, console, err_console, handle_errors

MAX_LABEL_TABLES = 20
"""With more labels than this, the terminal shows only the summary (as with --summary-only)."""

MAX_LISTED = 20

_CLASS_STYLES = {"Absorption": "blue", "Distribution": "green", "Metabolism": "yellow", "Excretion": "magenta", "Other": "white"}


def label_table(result, low_confidence: float) -> Table:
    """Build the rich table of one annotated label: section, heading, class, confidence, agreement, text."""
    table = Table(title=f"{result.title} (set id {result.set_id}, version {result.version})", title_justify="left", expand=True)
    table.add_column("section", ratio=2, overflow="ellipsis", no_wrap=True)
    table.add_column("heading", ratio=1, overflow="ellipsis", no_wrap=True)
    table.add_column("predicted", no_wrap=True)
    table.add_column("conf.", justify="right", no_wrap=True)
    table.add_column("rules", no_wrap=True)
    table.add_column("text", ratio=4, overflow="ellipsis", no_wrap=True)
    for record in result.records:
        confidence = record["confidence"]
        if record["agrees"] is None:
            rules = Text("no heading", style="dim")
        elif record["agrees"]:
            rules = Text(f"✓ {record['rule_label']}", style="green")
        else:
            rules = Text(f"✗ {record['rule_label']}", style="bold red")
        table.add_row(
            " > ".join(record["section_path"]),
            record["heading"] or "",
            Text(record["predicted"], style=_CLASS_STYLES.get(record["predicted"], "")),
            Text(f"{confidence:.2f}", style="bold red" if confidence < low_confidence else ""),
            rules,
            record["text"].replace("\n", " "),
        )
    return table


def summary_tables(summary) -> list[Table]:
    """Build the rich tables of an annotation summary: overview, and per class with agreement."""
    overview = Table(title="Annotation summary", show_header=False)
    overview.add_column("what")
    overview.add_column("count", justify="right")
    overview.add_row("labels read", str(summary.labels_read))
    overview.add_row("labels with PK paragraphs", str(summary.labels_with_pk))
    overview.add_row("labels without a PK section", str(len(summary.labels_without_pk)))
    if summary.labels_without_paragraphs:
        overview.add_row("labels whose PK section has no paragraphs", str(len(summary.labels_without_paragraphs)))
    if summary.labels_skipped:
        overview.add_row("labels already done (--resume)", str(summary.labels_skipped))
    overview.add_row("inputs failed", str(len(summary.failures)))
    overview.add_row("paragraphs annotated", str(summary.paragraphs))
    overview.add_row(f"low confidence (< {summary.low_confidence_threshold:g})", str(summary.low_confidence))
    overview.add_row("paragraphs without a heading", str(summary.no_heading))
    rate = summary.agreement_rate()
    overview.add_row("agreement with the heading rules", "n/a" if rate is None else f"{rate:.1%}")

    classes = Table(title="Per class")
    classes.add_column("class")
    classes.add_column("predicted", justify="right")
    classes.add_column("heading rules say", justify="right")
    classes.add_column("model agrees", justify="right")
    for label in LABELS:
        agree, total = summary.agreement.get(label, [0, 0])
        share = f"{agree / total:.1%}" if total else "n/a"
        classes.add_row(Text(label, style=_CLASS_STYLES[label]), str(summary.per_class.get(label, 0)), str(total), share)
    return [overview, classes]


@app.command()
@handle_errors
def annotate(
    inputs: list[str] = typer.Argument(..., help="SPL XML files, folders, zip files (DailyMed release zips included), set ids of the fetched corpus, or corpus: / corpus:SETID,... ."),
    model: Path | None = typer.Option(None, "--model", "-m", help="Model folder written by 'admelabel train'. Default: the newest under --models-dir."),
    models_dir: Path = typer.Option(Path("models"), "--models-dir", help="Folder searched for the newest model when --model is not given."),
    out: Path | None = typer.Option(None, "--out", "-o", help="Output file, written atomically. Without it, records go to the terminal (or stdout for jsonl/csv)."),
    fmt: str | None = typer.Option(None, "--format", "-f", help="jsonl, csv or html. Default: from the --out suffix, else tables in the terminal."),
    tables: bool = typer.Option(False, "--tables", help="Also annotate the text of tables inside PK sections."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run into the same --out, skipping labels already written."),
    workers: int | None = typer.Option(None, "--workers", help="Processes that parse labels. Default: min(4, CPU count); 0 parses in this process."),
    batch_size: int = typer.Option(64, "--batch-size", help="Paragraphs per inference batch."),
    device: str | None = typer.Option(None, "--device", help="Torch device, e.g. cpu or cuda. Default: cuda when a GPU is present."),
    precision: str = typer.Option("auto", "--precision", help=PRECISION_HELP),
    low_confidence: float = typer.Option(0.6, "--low-confidence", help="Confidence below which a paragraph counts as low confidence (0 to 1)."),
    summary_only: bool = typer.Option(False, "--summary-only", help=f"Print only the summary, not a table per label (automatic above {MAX_LABEL_TABLES} labels)."),
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Also write the run summary as JSON to this file."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Corpus folder for set ids and corpus: inputs. Default: $ADMELABEL_HOME, else ./data."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures."),
) -> None:
    """Classify every Pharmacokinetics paragraph of SPL labels as Absorption, Distribution, Metabolism, Excretion or Other.

    Exit code 0 when every input was read, 1 when any input failed (the others are
    still annotated), 2 when no input could be read, for a missing or unusable model,
    or for an invalid option.
    """
    from admelabel.annotate import annotate_to_file, format_for_path, load_annotator, resolve_model_dir
    from admelabel.io import write_json_atomic

    if fmt is None:
        fmt = (format_for_path(out) or "jsonl") if out is not None else "table"
    if fmt not in ("table", "jsonl", "csv", "html"):
        raise ValueError(f"--format must be jsonl, csv or html, got {fmt!r}")
    if fmt == "html" and out is None:
        raise ValueError("--format html needs --out FILE.html")
    if fmt == "table" and out is not None:
        raise ValueError("--out needs --format jsonl, csv or html (or an --out name ending in one of them)")
    if not 0.0 <= low_confidence <= 1.0:
        raise ValueError(f"--low-confidence must be between 0 and 1, got {low_confidence}")
    if workers is None:
        workers = min(4, os.cpu_count() or 1)
    if resume and out is None:
        raise ValueError("--resume needs --out: it continues the run that writes that file")

    model_dir = resolve_model_dir(model, models_dir)
    annotator = load_annotator(model_dir, batch_size=batch_size, device=device, precision=precision)
    if not quiet:
        err_console.print(f"model: {model_dir} ({annotator.device}, {annotator.precision})", highlight=False)

    if out is not None:
        try:
            summary = _annotate_to_file(inputs, out, fmt, annotator, tables, workers, resume, low_confidence, data_dir, quiet)
        except KeyboardInterrupt:
            err_console.print(f"interrupted: the labels finished so far are kept; rerun the same command with --resume to continue {out}")
            raise typer.Exit(130) from None
    else:
        summary = _annotate_to_terminal(inputs, fmt, annotator, tables, workers, low_confidence, data_dir, summary_only, quiet)
        if summary.labels_read == 0:
            # The same outcome as with --out, where nothing is written: exit code 2, not 1.
            from admelabel.errors import InputError
            from admelabel.extract import no_label_read_reason

            raise InputError(", ".join(str(item) for item in inputs), no_label_read_reason(summary.failures))

    if summary_json is not None:
        write_json_atomic(summary_json, summary.to_dict())
    if not quiet:
        summary_console = err_console if out is None and fmt != "table" else console
        for table in summary_tables(summary):
            summary_console.print(table)
        if out is not None and summary.labels_skipped:
            summary_console.print(f"Wrote {out}: {summary.paragraphs} paragraphs in all, with the {summary.labels_skipped} "
                                  "labels of the earlier run kept as they were", highlight=False, soft_wrap=True)
        elif out is not None:
            summary_console.print(f"Wrote {summary.paragraphs} paragraphs to {out}", highlight=False, soft_wrap=True)
        for source in summary.labels_without_pk[:MAX_LISTED]:
            err_console.print(f"no PK section (LOINC 43682-4): {source}", highlight=False, soft_wrap=True)
        if len(summary.labels_without_pk) > MAX_LISTED:
            err_console.print(f"... and {len(summary.labels_without_pk) - MAX_LISTED} more labels without a PK section (all are in the output)")
    for source, reason in summary.failures:
        err_console.print(f"[red]failed:[/red] {source}: {reason}", highlight=False, soft_wrap=True)
    if summary.failures:
        err_console.print(f"[red]{len(summary.failures)} input(s) failed[/red]; the other {summary.labels_read} labels were read and annotated.")
        raise typer.Exit(1)


def _progress(quiet: bool) -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("annotating labels"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True, disable=quiet,
    )


def _annotate_to_file(inputs, out, fmt, annotator, tables, workers, resume, low_confidence, data_dir, quiet):
    from admelabel.annotate import annotate_to_file

    with _progress(quiet) as progress:
        task = progress.add_task("labels", total=None)
        return annotate_to_file(
            inputs, out, annotator, fmt=fmt, include_tables=tables, workers=workers, resume=resume,
            low_confidence=low_confidence, data_dir=data_dir, on_label=lambda _result: progress.advance(task),
        )


def _annotate_to_terminal(inputs, fmt, annotator, tables, workers, low_confidence, data_dir, summary_only, quiet):
    import csv
    import json

    from admelabel.annotate import CSV_FIELDS, AnnotateSummary, csv_row, annotate_inputs, resolve_inputs

    summary = AnnotateSummary(low_confidence_threshold=low_confidence)
    pending_tables = []
    writer = csv.writer(sys.stdout) if fmt == "csv" else None
    if writer is not None:
        writer.writerow(CSV_FIELDS)
    for result in annotate_inputs(resolve_inputs(inputs, data_dir), annotator, include_tables=tables, workers=workers):
        summary.add(result)
        if fmt == "jsonl":
            for record in result.records:
                sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
        elif writer is not None:
            for record in result.records:
                writer.writerow(csv_row(record))
        elif not (summary_only or quiet) and result.status == "ok":
            # Tables are printed only once it is known that the batch has at most MAX_LABEL_TABLES labels.
            if pending_tables is not None:
                pending_tables.append(result)
                if len(pending_tables) > MAX_LABEL_TABLES:
                    pending_tables = None
                    err_console.print(f"more than {MAX_LABEL_TABLES} labels: printing only the summary (write records with --out)")
    if fmt == "table" and pending_tables:
        for result in pending_tables:
            console.print(label_table(result, low_confidence))
    return summary
