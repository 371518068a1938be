"""The `admelabel report` command: the HTML curation report from annotations already written."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from admelabel.cli._app import app, err_console, handle_errors


@app.command()
@handle_errors
def report(
    annotations: Path = typer.Argument(..., help="Annotations written by 'admelabel annotate --format jsonl' or csv."),
    out: Path = typer.Option(..., "--out", "-o", help="HTML file to write (atomically)."),
    summary_json: Path | None = typer.Option(None, "--summary-json", help="The run summary of 'admelabel annotate --summary-json', to list the inputs that failed."),
    low_confidence: float = typer.Option(0.6, "--low-confidence", help="Confidence below which a paragraph counts as low confidence (0 to 1)."),
    title: str = typer.Option("ADME annotation report", "--title", help="Title of the page."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Print nothing on success."),
) -> None:
    """Build the self-contained HTML curation report from a JSONL or CSV of annotations, without running the model again."""
    from admelabel.report import build_report_from_file

    if not 0.0 <= low_confidence <= 1.0:
        raise ValueError(f"--low-confidence must be between 0 and 1, got {low_confidence}")
    failures = _read_failures(summary_json) if summary_json is not None else []
    stats = build_report_from_file(annotations, out, failures=failures, low_confidence=low_confidence, title=title)
    if not quiet:
        labels = "label" if stats["labels"] == 1 else "labels"
        err_console.print(f"{stats['paragraphs']} paragraphs of {stats['labels']} {labels} -> {out}", highlight=False)


def _read_failures(path: Path) -> list[tuple[str, str]]:
    from admelabel.errors import InputError

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [(str(item["source"]), str(item["reason"])) for item in data.get("failures", [])]
    except FileNotFoundError:
        raise InputError(str(path), "summary file not found; pass the file written by 'admelabel annotate --summary-json'") from None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(str(path), f"not a summary written by 'admelabel annotate --summary-json' ({exc})") from None
