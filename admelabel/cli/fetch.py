"""The `admelabel fetch` command: bring DailyMed labels into the local corpus."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from admelabel.cli._app import app, console, err_console, handle_errors


def _progress_text(counts: Counter[str]) -> str:
    return (
        f"new {counts['new']}  updated {counts['updated']}  "
        f"unchanged {counts['unchanged']}  [red]failed {counts['failed']}[/red]"
    )


class _RateColumn(TextColumn):
    """Labels per second since the start."""

    def __init__(self) -> None:
        super().__init__("")

    def render(self, task):  # type: ignore[no-untyped-def]
        from rich.text import Text

        elapsed = task.elapsed or 0.0
        rate = task.completed / elapsed if elapsed > 0 else 0.0
        return Text(f"{rate:.1f} labels/s", style="progress.data.speed")


def _print_summary(report, home: Path, output_format: str) -> None:  # type: ignore[no-untyped-def]
    counts = report.counts
    target = err_console if output_format == "jsonl" else console
    if report.dry_run:
        would = [o for o in report.outcomes if o.dry_run]
        if output_format == "table" and would:
            table = Table(title=f"Would fetch ({len(would)})")
            for column in ("status", "set id", "version", "title", "source"):
                table.add_column(column)
            for outcome in would:
                table.add_row(outcome.status, outcome.set_id or "", str(outcome.version or ""), outcome.title, outcome.source)
            console.print(table)
    summary = Table(title=f"{'Dry run' if report.dry_run else 'Fetch'} summary ({home})")
    for column in ("new", "updated", "unchanged", "failed", "requests", "retries"):
        summary.add_column(column, justify="right")
    summary.add_row(*(str(counts[s]) for s in ("new", "updated", "unchanged", "failed")), str(report.requests), str(report.retries))
    target.print(summary)
    if report.failures:
        failures = Table(title=f"Failures ({len(report.failures)})", show_lines=False)
        for column in ("set id", "version", "source", "reason"):
            failures.add_column(column, overflow="fold")
        for outcome in report.failures:
            failures.add_row(outcome.set_id or "", str(outcome.version or ""), outcome.source, outcome.reason or "")
        target.print(failures)


@app.command()
@handle_errors
def fetch(
    sources: list[str] = typer.Argument(None, help="Folders, SPL XML files, zips, or release zips (path, URL or a dm_spl_*.zip name). None: DailyMed web services.", show_default=False),
    base_url: str = typer.Option(None, "--base-url", envvar="ADMELABEL_DAILYMED_URL", help="Web-services root of DailyMed or a mirror. Default: https://dailymed.nlm.nih.gov/dailymed/services/v2."),
    data_dir: Path = typer.Option(None, "--data-dir", envvar="ADMELABEL_HOME", help="Corpus folder. Default: ./data."),
    rx_only: bool = typer.Option(True, "--rx-only/--all-types", help="List human prescription labels only (LOINC 34391-3), or every document type."),
    drug_name: str = typer.Option(None, "--drug-name", help="List labels of this drug name only."),
    labeler: str = typer.Option(None, "--labeler", help="List labels of this labeler only."),
    published_since: str = typer.Option(None, "--published-since", help="List labels published on or after this date (YYYY-MM-DD)."),
    limit: int = typer.Option(None, "--limit", help="Consider only the first N labels of the listing."),
    all_versions: bool = typer.Option(False, "--all-versions", help="Fetch every published version of each listed label, not only the newest."),
    rate: float = typer.Option(None, "--rate", help="Maximum requests per second, retries included. Default: 3."),
    concurrency: int = typer.Option(None, "--concurrency", help="Concurrent downloads. Default: 2."),
    timeout: float = typer.Option(30.0, "--timeout", help="Seconds to wait for a connection or for data before retrying."),
    retries: int = typer.Option(4, "--retries", help="Retries per request after the first attempt."),
    backoff: float = typer.Option(1.0, "--backoff", help="Base of the exponential backoff between retries, in seconds (the wait is jittered)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="List what would be fetched; download and write nothing."),
    output_format: str = typer.Option("table", "--format", help="Output: table, or jsonl (one JSON object per label on stdout)."),
) -> None:
    """Fetch labels from DailyMed (or a mirror, a release zip or local files) into the corpus.

    A second run downloads only what the corpus lacks, and a run that was stopped
    continues where it stopped. Exits 1 when any label failed.
    """
    from admelabel.dailymed.client import DEFAULT_CONCURRENCY, DEFAULT_RATE, DailyMedClient, RetryPolicy
    from admelabel.dailymed.fetch import WebQuery, fetch_web, import_sources
    from admelabel.dailymed.store import open_corpus, resolve_home

    if output_format not in ("table", "jsonl"):
        raise ValueError(f"--format must be table or jsonl, got {output_format!r}")
    if retries < 0:
        raise ValueError(f"--retries must be >= 0, got {retries}")
    web_filters = [name for name, value in (("--drug-name", drug_name), ("--labeler", labeler), ("--published-since", published_since), ("--limit", limit)) if value is not None]
    if sources and (web_filters or all_versions):
        raise ValueError(f"{', '.join(web_filters + (['--all-versions'] if all_versions else []))} only apply to web services, not to SOURCE paths")

    client = DailyMedClient(
        base_url=base_url,
        rate=rate if rate is not None else DEFAULT_RATE,
        retry=RetryPolicy(attempts=retries + 1, backoff=backoff, max_backoff=max(backoff * 32, backoff), timeout=timeout),
    )
    concurrency = concurrency if concurrency is not None else DEFAULT_CONCURRENCY
    query = None if sources else WebQuery(rx_only=rx_only, drug_name=drug_name, labeler=labeler, published_since=published_since, limit=limit, all_versions=all_versions)
    home = resolve_home(data_dir)

    counts: Counter[str] = Counter()
    with (
        open_corpus(home, readonly=dry_run, missing_ok=dry_run) as corpus,
        Progress(
            TextColumn("[bold]fetch[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TaskProgressColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("{task.description}"),
            console=err_console,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task(_progress_text(counts), total=None)

        def on_progress(kind: str, value: object) -> None:
            if kind == "total":
                progress.update(task, total=int(value))  # type: ignore[call-overload]
                return
            counts[value.status] += 1  # type: ignore[attr-defined]
            progress.update(task, advance=1, description=_progress_text(counts))
            if output_format == "jsonl":
                console.print_json(json.dumps(value.to_dict()), indent=None)  # type: ignore[attr-defined]

        try:
            if query is not None:
                report = fetch_web(corpus, client, query, concurrency=concurrency, dry_run=dry_run, progress=on_progress)
            else:
                report = import_sources(corpus, sources, client=client, dry_run=dry_run, progress=on_progress)
        except KeyboardInterrupt:
            progress.stop()
            err_console.print(f"[yellow]interrupted[/yellow]: labels stored so far are kept in {home}; run the same command again to continue.")
            raise typer.Exit(130) from None

    _print_summary(report, home, output_format)
    if not report.ok:
        raise typer.Exit(1)
