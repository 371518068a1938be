"""The `admelabel extract` command."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from admelabel import LABELS
from admelabel.cli._app import app, console, err_console, handle_errors
from admelabel.labeling import RULES


def summary_tables(summary) -> list[Table]:
    """Build the rich tables that show an extraction summary."""
    overview = Table(title="Extraction summary", show_header=False)
    overview.add_column("what")
    overview.add_column("count", justify="right")
    overview.add_row("labels read", str(summary.labels_read))
    overview.add_row("labels with a PK section", str(summary.labels_with_pk))
    overview.add_row("labels without a PK section", str(len(summary.labels_without_pk)))
    overview.add_row("files skipped", str(len(summary.failures)))
    overview.add_row("paragraphs written", str(summary.paragraphs))
    overview.add_row("heading-only paragraphs (not examples)", str(summary.headings))
    overview.add_row("tables left out (use --tables)", str(summary.tables_skipped))

    classes = Table(title="Paragraphs per class")
    classes.add_column("class")
    classes.add_column("paragraphs", justify="right")
    for label in LABELS:
        classes.add_row(label, str(summary.per_label.get(label, 0)))

    rules = Table(title="Paragraphs per rule")
    rules.add_column("rule")
    rules.add_column("paragraphs", justify="right")
    rules.add_column("what it matches")
    for rule in RULES:
        rules.add_row(rule.id, str(summary.per_rule.get(rule.id, 0)), rule.description)
    return [overview, classes, rules]


MAX_LISTED = 20


def report_without_pk(sources: list[str]) -> None:
    """List the labels that have no PK section on stderr, at most ``MAX_LISTED`` of them."""
    for source in sources[:MAX_LISTED]:
        err_console.print(f"no PK section (LOINC 43682-4): {source}", highlight=False, soft_wrap=True)
    if len(sources) > MAX_LISTED:
        err_console.print(f"... and {len(sources) - MAX_LISTED} more labels without a PK section (all are listed by --summary-json)")


@app.command()
@handle_errors
def extract(
    paths: list[str] = typer.Argument(..., help="SPL XML files, folders (searched recursively), zip files (DailyMed release zips included), or corpus: / corpus:SETID,... for fetched labels."),
    out: Path = typer.Option(..., "--out", "-o", help="Output file: one record per PK paragraph."),
    fmt: str = typer.Option("jsonl", "--format", "-f", help="Output format: jsonl or csv."),
    tables: bool = typer.Option(False, "--tables", help="Also write the text of tables inside PK sections, as block kind 'table'."),
    summary_json: Path | None = typer.Option(None, "--summary-json", help="Also write the run summary as JSON to this file."),
    data_dir: Path | None = typer.Option(None, "--data-dir", help="Corpus folder for corpus: inputs (default: $ADMELABEL_HOME or ./data)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print only failures: no tables and no list of labels without a PK section."),
) -> None:
    """Extract the Pharmacokinetics paragraphs of SPL labels, labelled by the heading rules.

    Exits with code 1 when some inputs could not be read (the output still contains every label that could) and 2 when none could.
    """
    from admelabel.extract import extract_dataset
    from admelabel.io import write_json_atomic

    if fmt not in ("jsonl", "csv"):
        raise ValueError(f"--format must be jsonl or csv, got {fmt!r}")
    with Progress(
        SpinnerColumn(), TextColumn("reading labels"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=err_console, transient=True, disable=quiet,
    ) as progress:
        task = progress.add_task("labels", total=None)
        summary = extract_dataset(paths, out, fmt=fmt, include_tables=tables, on_document=lambda _doc: progress.advance(task), home=data_dir)
    if summary_json is not None:
        write_json_atomic(summary_json, summary.to_dict())
    if not quiet:
        for table in summary_tables(summary):
            console.print(table)
        console.print(f"Wrote {summary.paragraphs} paragraphs to {out}")
    if not quiet:
        report_without_pk(summary.labels_without_pk)
    for source, reason in summary.failures:
        err_console.print(f"[red]failed:[/red] {source}: {reason}", highlight=False, soft_wrap=True)
    if summary.failures:
        err_console.print(f"[red]{len(summary.failures)} input(s) failed[/red]; the output contains the {summary.labels_read} label(s) that could be read.")
        raise typer.Exit(1)
