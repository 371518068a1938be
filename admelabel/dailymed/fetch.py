"""Fetch runs: plan which label versions are missing, download them, store them, report.

``fetch_web`` lists labels through DailyMed web services and downloads only versions
that the corpus lacks; ``import_sources`` reads local folders, zips and release zips.
Both return a ``FetchReport`` and call ``progress`` with each ``LabelOutcome`` as it
happens. Database writes stay on the calling thread; worker threads only download
and validate.
"""

from __future__ import annotations

import concurrent.futures as futures
import io
import logging
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from admelabel.dailymed.client import RX_DOCTYPE, DailyMedClient, ListingItem
from admelabel.dailymed.sources import download_release, iter_source_inputs, resolve_source
from admelabel.dailymed.store import Corpus, LabelHeader, read_header
from admelabel.errors import AdmelabelError, FetchError, InputError, SPLError
from admelabel.spl.safe_xml import parse_spl_bytes
from admelabel.spl.sources import SPLInput, safe_member_name

__all__ = ["STATUSES", "WebQuery", "LabelOutcome", "FetchReport", "fetch_web", "import_sources"]

log = logging.getLogger(__name__)

STATUSES = ("new", "updated", "unchanged", "failed")
"""Outcome of one label version: ``new`` set id, ``updated`` (a new version of a known
set id), ``unchanged`` (already stored, nothing downloaded) or ``failed``."""


@dataclass(frozen=True)
class WebQuery:
    """Filters of a web-services listing. Dates are ``YYYY-MM-DD``."""

    rx_only: bool = True
    drug_name: str | None = None
    labeler: str | None = None
    published_since: str | None = None
    limit: int | None = None
    all_versions: bool = False

    def __post_init__(self) -> None:
        if self.limit is not None and self.limit < 1:
            raise ValueError(f"--limit must be >= 1, got {self.limit}")
        if self.published_since is not None:
            import datetime as dt

            try:
                dt.date.fromisoformat(self.published_since)
            except ValueError:
                raise ValueError(f"--published-since must be a date YYYY-MM-DD, got {self.published_since!r}") from None

    def params(self) -> dict[str, str]:
        """Return the ``spls.json`` query parameters for these filters."""
        params: dict[str, str] = {}
        if self.rx_only:
            params["doctype"] = RX_DOCTYPE
        if self.drug_name:
            params["drug_name"] = self.drug_name
        if self.labeler:
            params["labeler"] = self.labeler
        if self.published_since:
            params["published_date"] = self.published_since
            params["published_date_comparison"] = "gte"
        return params


@dataclass(frozen=True)
class LabelOutcome:
    """The result of one label version (or one unreadable input) in a run.

    ``set_id`` and ``version`` are None when an input failed before they could be read;
    ``dry_run`` marks an outcome that would happen but did not.
    """

    status: str
    source: str
    set_id: str | None = None
    version: int | None = None
    title: str = ""
    reason: str | None = None
    path: Path | None = None
    dry_run: bool = False

    def to_dict(self) -> dict[str, object]:
        return {
            "status": self.status,
            "set_id": self.set_id,
            "version": self.version,
            "title": self.title,
            "source": self.source,
            "reason": self.reason,
            "path": str(self.path) if self.path else None,
            "dry_run": self.dry_run,
        }


@dataclass
class FetchReport:
    """The outcomes of one run and the requests it sent (retries included)."""

    outcomes: list[LabelOutcome] = field(default_factory=list)
    requests: int = 0
    retries: int = 0
    dry_run: bool = False

    @property
    def counts(self) -> dict[str, int]:
        counter = Counter(outcome.status for outcome in self.outcomes)
        return {status: counter.get(status, 0) for status in STATUSES}

    @property
    def failures(self) -> list[LabelOutcome]:
        return [outcome for outcome in self.outcomes if outcome.status == "failed"]

    @property
    def ok(self) -> bool:
        return not self.failures


Progress = Callable[[str, object], None]
"""Progress callback: ``("total", int)`` once the size of the work is known, then ``("outcome", LabelOutcome)``."""


def _no_progress(kind: str, value: object) -> None:
    return None


# ---- web services ---------------------------------------------------------


@dataclass(frozen=True)
class _Task:
    item: ListingItem
    latest: bool
    source: str


def _xml_from_label_zip(data: bytes, source: str) -> bytes:
    """Return the SPL XML member of a one-label zip (the XML plus images)."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise FetchError(f"{source}: not a readable zip file ({exc})") from None
    with archive:
        for info in archive.infolist():
            if safe_member_name(info.filename) is None:
                raise FetchError(f"{source}: zip member name {info.filename!r} is absolute or climbs out of its folder")
        xml_members = [info for info in archive.infolist() if info.filename.lower().endswith(".xml") and not info.is_dir()]
        if not xml_members:
            raise FetchError(f"{source}: zip file contains no .xml member")
        try:
            return archive.read(xml_members[0])
        except (zipfile.BadZipFile, OSError, EOFError) as exc:
            raise FetchError(f"{source}: unreadable zip member {xml_members[0].filename!r} ({exc})") from None


def _download(client: DailyMedClient, task: _Task) -> tuple[LabelHeader, bytes]:
    """Download and validate one label version; runs on a worker thread."""
    item = task.item
    if task.latest:
        source = client.url(f"spls/{item.set_id}.xml")
        data = client.download_latest(item.set_id)
    else:
        source = client.zip_url(item.set_id, item.version)
        data = _xml_from_label_zip(client.download_zip(item.set_id, item.version), source)
    header = read_header(parse_spl_bytes(data, source), source)
    if header.set_id != item.set_id:
        raise SPLError(source, f"document has set id {header.set_id}, expected {item.set_id}")
    return header, data


def _iter_tasks(client: DailyMedClient, query: WebQuery, progress: Progress, failures: list[LabelOutcome]) -> Iterator[_Task]:
    listing_source = client.url("spls.json", query.params())
    try:
        for item in client.iter_listing(query.params(), limit=query.limit, on_total=lambda total: progress("total", total)):
            if not query.all_versions:
                yield _Task(item, True, "web")
                continue
            try:
                history = client.history(item.set_id)
            except FetchError as exc:
                failures.append(LabelOutcome("failed", "web", item.set_id, None, item.title, f"history: {exc}"))
                continue
            newest = max((entry.version for entry in history), default=item.version)
            for entry in history or [item]:
                title = entry.title or item.title
                yield _Task(ListingItem(entry.set_id, entry.version, title, entry.published_date), entry.version == newest, "web")
    except FetchError as exc:
        failures.append(LabelOutcome("failed", listing_source, reason=f"listing stopped: {exc}"))


def _adopt_orphan(corpus: Corpus, item: ListingItem, source: str) -> LabelHeader | None:
    """Return the header of a complete file that a killed run wrote but did not record, or None."""
    path = corpus.file_for(item.set_id, item.version)
    if not path.is_file():
        return None
    try:
        data = path.read_bytes()
        header = read_header(parse_spl_bytes(data, path), str(path))
    except (OSError, SPLError):
        return None
    if (header.set_id, header.version) != (item.set_id, item.version):
        return None
    corpus.store_label(header, data, source=source, published_date=item.published_date or None)
    log.info("recorded %s v%d from a file an interrupted run had written", item.set_id, item.version)
    return header


def fetch_web(
    corpus: Corpus,
    client: DailyMedClient,
    query: WebQuery,
    *,
    concurrency: int = 2,
    dry_run: bool = False,
    progress: Progress = _no_progress,
) -> FetchReport:
    """List labels through DailyMed web services and store every version the corpus lacks.

    A version already stored ok costs no request. Each new label costs one request:
    ``spls/{setid}.xml`` for the newest version, or ``getFile.cfm`` for an older one
    (``query.all_versions``, which also costs one ``history`` request per set id).
    With ``dry_run`` only listing and history requests are sent and nothing is written.
    Failures are recorded in the corpus and the report; the run carries on past them.
    """
    if concurrency < 1:
        raise ValueError(f"--concurrency must be >= 1, got {concurrency}")
    report = FetchReport(dry_run=dry_run)
    known_set_ids = {record.set_id for record in corpus.iter_labels("ok")}
    listing_failures: list[LabelOutcome] = []

    def finish(outcome: LabelOutcome) -> None:
        report.outcomes.append(outcome)
        progress("outcome", outcome)

    def status_for(set_id: str) -> str:
        return "updated" if set_id in known_set_ids else "new"

    def handle(task: _Task, future: futures.Future[tuple[LabelHeader, bytes]]) -> None:
        item = task.item
        try:
            header, data = future.result()
        except (AdmelabelError, OSError) as exc:
            reason = getattr(exc, "reason", None) if isinstance(exc, InputError) else None
            corpus.record_failure(item.set_id, item.version, source=task.source, reason=reason or str(exc), title=item.title, published_date=item.published_date)
            finish(LabelOutcome("failed", task.source, item.set_id, item.version, item.title, reason or str(exc)))
            return
        if header.version != item.version:
            # The listing was older (or newer) than the document: store what arrived under its own version.
            log.warning("%s: listed as version %d but the document is version %d", item.set_id, item.version, header.version)
        record = corpus.store_label(header, data, source=task.source, published_date=item.published_date if header.version == item.version else None)
        finish(LabelOutcome(status_for(item.set_id), task.source, header.set_id, header.version, header.title, path=record.path))

    max_pending = concurrency * 4
    planned: set[tuple[str, int]] = set()
    with futures.ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="fetch") as pool:
        pending: dict[futures.Future[tuple[LabelHeader, bytes]], _Task] = {}
        try:
            for task in _iter_tasks(client, query, progress, listing_failures):
                item = task.item
                if (item.set_id, item.version) in planned:
                    # Listings shift while they are paged, so a label can appear on two pages.
                    log.info("%s v%d is listed twice; fetching it once", item.set_id, item.version)
                    continue
                planned.add((item.set_id, item.version))
                if corpus.has_ok(item.set_id, item.version):
                    finish(LabelOutcome("unchanged", task.source, item.set_id, item.version, item.title, path=corpus.file_for(item.set_id, item.version)))
                    continue
                if dry_run:
                    finish(LabelOutcome(status_for(item.set_id), task.source, item.set_id, item.version, item.title, dry_run=True))
                    continue
                header = _adopt_orphan(corpus, item, task.source)
                if header is not None:
                    finish(LabelOutcome(status_for(item.set_id), task.source, item.set_id, item.version, header.title, path=corpus.file_for(item.set_id, item.version)))
                    continue
                pending[pool.submit(_download, client, task)] = task
                while len(pending) >= max_pending:
                    done, _ = futures.wait(pending, return_when=futures.FIRST_COMPLETED)
                    for future in done:
                        handle(pending.pop(future), future)
            for future in futures.as_completed(list(pending)):
                handle(pending.pop(future), future)
        except BaseException as exc:
            # Ctrl-C or an unexpected error: start nothing new, so the pool's shutdown waits
            # only for downloads in flight. Stored labels stay, and the next run resumes.
            client.stop()
            for future in pending:
                future.cancel()
            if isinstance(exc, KeyboardInterrupt):
                # Keep the downloads that were in flight, so the next run need not repeat them.
                finished, _ = futures.wait(pending)
                for future in finished:
                    if not future.cancelled() and future.exception() is None:
                        handle(pending[future], future)
            raise
    for outcome in listing_failures:
        finish(outcome)
    report.requests = client.requests_sent
    report.retries = client.retries
    return report


# ---- local paths and release zips -----------------------------------------


def _import_input(corpus: Corpus, item: SPLInput, source: str, known_set_ids: set[str], dry_run: bool) -> LabelOutcome:
    if item.error is not None:
        return LabelOutcome("failed", item.source, reason=item.error.reason if isinstance(item.error, InputError) else str(item.error))
    try:
        header = read_header(parse_spl_bytes(item.data or b"", item.source), item.source)
    except SPLError as exc:
        return LabelOutcome("failed", item.source, reason=exc.reason)
    existing = corpus.get(header.set_id, header.version)
    status = "updated" if header.set_id in known_set_ids else "new"
    if existing is not None and existing.ok:
        return LabelOutcome("unchanged", item.source, header.set_id, header.version, header.title, path=existing.path)
    if dry_run:
        return LabelOutcome(status, item.source, header.set_id, header.version, header.title, dry_run=True)
    record = corpus.store_label(header, item.data or b"", source=source)
    return LabelOutcome(status, item.source, header.set_id, header.version, header.title, path=record.path)


def import_sources(
    corpus: Corpus,
    sources: Iterable[str],
    *,
    client: DailyMedClient | None = None,
    dry_run: bool = False,
    progress: Progress = _no_progress,
) -> FetchReport:
    """Store the labels found in local folders, XML files, zips and release zips (paths or URLs).

    A URL or bare release file name is downloaded once into ``<home>/downloads`` with
    ``client`` (required then). Versions already stored ok are ``unchanged``; unreadable
    files, non-SPL XML and unsafe zip member names are ``failed`` with the reason.
    With ``dry_run`` nothing is downloaded or written, and a URL source is listed only.
    """
    report = FetchReport(dry_run=dry_run)
    known_set_ids = {record.set_id for record in corpus.iter_labels("ok")}

    def finish(outcome: LabelOutcome) -> None:
        report.outcomes.append(outcome)
        progress("outcome", outcome)

    for text in sources:
        resolved = resolve_source(text)
        path = resolved.path
        if resolved.url is not None:
            if client is None:
                raise ValueError("a client is required to download a release zip by URL")
            if dry_run:
                finish(LabelOutcome("new", resolved.url, title="release zip (not downloaded in a dry run)", dry_run=True))
                continue
            try:
                path = download_release(client, resolved.url, corpus.home / "downloads")
            except (FetchError, InputError) as exc:
                finish(LabelOutcome("failed", resolved.url, reason=str(exc)))
                continue
        label = "local" if resolved.url is None else "release"
        source_name = f"{label}:{Path(resolved.text).name if resolved.url else resolved.text}"
        for item in iter_source_inputs(path):  # type: ignore[arg-type]
            outcome = _import_input(corpus, item, source_name, known_set_ids, dry_run)
            finish(outcome)
    if client is not None:
        report.requests = client.requests_sent
        report.retries = client.retries
    return report
