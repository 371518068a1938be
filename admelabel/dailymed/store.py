"""The corpus store: an SQLite table of label versions plus the raw SPL XML files.

Layout under the corpus home (``--data-dir``, else ``$ADMELABEL_HOME``, else ``./data``)::

    corpus.sqlite              one row per (set id, version)
    spl/<setid>/<version>.xml  the label exactly as downloaded
    downloads/                 release zips fetched by URL

A row is marked ``ok`` only in the same transaction that records a file already
renamed into place, so a run killed at any moment leaves either a complete label or
none. Leftover temporary files of a killed run are removed when the store is opened
for writing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import hashlib
import logging
import os
import re
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from admelabel.errors import FetchError, InputError, SPLError
from admelabel.io import write_bytes_atomic
from admelabel.spl.safe_xml import HL7_NS
from admelabel.spl.sources import SPLInput

__all__ = [
    "HOME_ENV",
    "LabelHeader",
    "LabelRecord",
    "Corpus",
    "resolve_home",
    "open_corpus",
    "read_header",
    "iter_corpus_inputs",
    "CORPUS_PREFIX",
    "iter_inputs",
]

log = logging.getLogger(__name__)

HOME_ENV = "ADMELABEL_HOME"
CORPUS_PREFIX = "corpus:"
"""Input argument prefix that names the corpus: ``corpus:`` (every label) or ``corpus:SETID[,SETID...]``."""
DB_NAME = "corpus.sqlite"
SCHEMA_VERSION = 1

_SET_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_NS = {"v3": HL7_NS}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS labels (
    set_id TEXT NOT NULL,
    version INTEGER NOT NULL,
    document_id TEXT,
    title TEXT,
    published_date TEXT,
    effective_time TEXT,
    doc_type TEXT,
    source TEXT NOT NULL,
    path TEXT,
    sha256 TEXT,
    size INTEGER,
    fetched_at TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
    reason TEXT,
    PRIMARY KEY (set_id, version)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def resolve_home(data_dir: str | Path | None = None) -> Path:
    """Return the corpus home: ``data_dir``, else ``$ADMELABEL_HOME``, else ``./data``."""
    if data_dir:
        return Path(data_dir)
    env = os.environ.get(HOME_ENV)
    return Path(env) if env else Path("data")


@dataclass(frozen=True)
class LabelHeader:
    """The identifying fields of one SPL document, read from its XML header."""

    set_id: str
    version: int
    document_id: str
    title: str
    effective_time: str
    doc_type: str


def read_header(root: etree._Element, source: str) -> LabelHeader:
    """Read set id (lower-cased), version, document id, title, effective time and LOINC type from an SPL root.

    Raises ``SPLError`` naming ``source`` when the set id is missing or not a UUID, or
    the version number is missing or not an integer.
    """
    set_id = (root.xpath("string(v3:setId/@root)", namespaces=_NS) or "").strip().lower()
    if not _SET_ID.match(set_id):
        raise SPLError(source, f"<setId root> is missing or not a UUID ({set_id!r})")
    version_text = (root.xpath("string(v3:versionNumber/@value)", namespaces=_NS) or "").strip()
    try:
        version = int(version_text)
    except ValueError:
        raise SPLError(source, f"<versionNumber value> is missing or not an integer ({version_text!r})") from None
    document_id = (root.xpath("string(v3:id/@root)", namespaces=_NS) or "").strip().lower()
    title_nodes = root.xpath("v3:title", namespaces=_NS)
    title = " ".join("".join(title_nodes[0].itertext()).split()) if title_nodes else ""
    effective_time = (root.xpath("string(v3:effectiveTime/@value)", namespaces=_NS) or "").strip()
    doc_type = (root.xpath("string(v3:code/@code)", namespaces=_NS) or "").strip()
    return LabelHeader(set_id, version, document_id, title, effective_time, doc_type)


@dataclass(frozen=True)
class LabelRecord:
    """One row of the corpus: a label version, where its file is, and whether it was fetched."""

    set_id: str
    version: int
    document_id: str | None
    title: str | None
    published_date: str | None
    effective_time: str | None
    doc_type: str | None
    source: str
    path: Path | None
    sha256: str | None
    size: int | None
    fetched_at: str
    status: str
    reason: str | None

    @property
    def ok(self) -> bool:
        return self.status == "ok"


def iso_date(text: str | None) -> str | None:
    """Return a DailyMed date such as ``May 12, 2021`` as ``2021-05-12``; other text is returned unchanged."""
    if not text:
        return None
    for pattern in ("%b %d, %Y", "%B %d, %Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(text.strip(), pattern).date().isoformat()
        except ValueError:
            continue
    return text


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Corpus:
    """A corpus store at ``home``; open it with ``open_corpus``.

    Writes happen on the thread that opened the store. A writable store holds an
    exclusive lock file, so two fetch runs cannot fill the same corpus at once.
    """

    def __init__(self, home: Path, *, readonly: bool = False, missing_ok: bool = False) -> None:
        self.home = Path(home)
        self.readonly = readonly
        self.db_path = self.home / DB_NAME
        self._lock_handle = None
        if readonly and not self.db_path.is_file():
            if not missing_ok:
                raise InputError(self.db_path, "corpus database not found; run `admelabel fetch` first or pass --data-dir")
            # An empty in-memory corpus, so that a dry run against a new home creates nothing.
            self.db = sqlite3.connect(":memory:")
            self.db.executescript(_SCHEMA)
        elif readonly:
            self.db = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True)
        else:
            self.home.mkdir(parents=True, exist_ok=True)
            self._take_lock()
            self.db = sqlite3.connect(self.db_path)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            with self.db:
                self.db.executescript(_SCHEMA)
                self.db.execute("INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),))
            self.remove_stale_temp_files()
        self.db.row_factory = sqlite3.Row

    def _take_lock(self) -> None:
        handle = open(self.home / "corpus.lock", "a+")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise FetchError(f"{self.home}: another admelabel fetch is writing to this corpus; wait for it or use another --data-dir") from None
        self._lock_handle = handle

    def close(self) -> None:
        """Close the database and release the lock."""
        self.db.close()
        if self._lock_handle is not None:
            self._lock_handle.close()
            self._lock_handle = None

    def __enter__(self) -> Corpus:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- files ------------------------------------------------------------

    def file_for(self, set_id: str, version: int) -> Path:
        """Return the path where the XML of ``set_id`` ``version`` is stored (it may not exist yet)."""
        if not _SET_ID.match(set_id):
            raise ValueError(f"not a set id: {set_id!r}")
        return self.home / "spl" / set_id / f"{int(version)}.xml"

    def remove_stale_temp_files(self) -> int:
        """Delete temporary files that a killed run left under ``spl/`` and ``downloads/``; return how many."""
        removed = 0
        for folder in (self.home / "spl", self.home / "downloads"):
            if not folder.is_dir():
                continue
            for path in folder.rglob(".*.tmp"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    removed += 1
        if removed:
            log.info("removed %d temporary files left by an interrupted run under %s", removed, self.home)
        return removed

    # ---- reading ----------------------------------------------------------

    def _record(self, row: sqlite3.Row) -> LabelRecord:
        values = dict(row)
        values["path"] = self.home / values["path"] if values["path"] else None
        return LabelRecord(**values)

    def get(self, set_id: str, version: int) -> LabelRecord | None:
        """Return the row of one label version, or None."""
        row = self.db.execute("SELECT * FROM labels WHERE set_id = ? AND version = ?", (set_id.lower(), version)).fetchone()
        return self._record(row) if row else None

    def has_ok(self, set_id: str, version: int) -> bool:
        """Return whether ``set_id`` ``version`` is stored with status ok."""
        row = self.db.execute("SELECT 1 FROM labels WHERE set_id = ? AND version = ? AND status = 'ok'", (set_id.lower(), version)).fetchone()
        return row is not None

    def has_set_id(self, set_id: str) -> bool:
        """Return whether any version of ``set_id`` is stored with status ok."""
        row = self.db.execute("SELECT 1 FROM labels WHERE set_id = ? AND status = 'ok' LIMIT 1", (set_id.lower(),)).fetchone()
        return row is not None

    def iter_labels(self, status: str | None = "ok", *, latest_only: bool = False, set_ids: Iterable[str] | None = None) -> Iterator[LabelRecord]:
        """Yield rows ordered by set id and version.

        ``status`` filters on ``"ok"`` or ``"failed"`` (None: every row);
        ``latest_only`` keeps the highest stored version of each set id;
        ``set_ids`` keeps only those set ids (any case).
        """
        sql = "SELECT * FROM labels"
        clauses, args = [], []
        if status is not None:
            clauses.append("status = ?")
            args.append(status)
        wanted = sorted({s.lower() for s in set_ids}) if set_ids is not None else None
        if wanted is not None:
            clauses.append(f"set_id IN ({','.join('?' * len(wanted))})")
            args.extend(wanted)
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY set_id, version"
        rows = [self._record(row) for row in self.db.execute(sql, args)]
        if latest_only:
            latest: dict[str, LabelRecord] = {}
            for record in rows:
                latest[record.set_id] = record
            rows = list(latest.values())
        yield from rows

    def path_for(self, set_id: str, version: int | None = None) -> Path:
        """Return the XML file of ``set_id`` at ``version`` (the newest stored ok version when None).

        Raises ``InputError`` when the corpus contains no such label.
        """
        set_id = set_id.lower()
        if version is None:
            row = self.db.execute("SELECT * FROM labels WHERE set_id = ? AND status = 'ok' ORDER BY version DESC LIMIT 1", (set_id,)).fetchone()
        else:
            row = self.db.execute("SELECT * FROM labels WHERE set_id = ? AND version = ? AND status = 'ok'", (set_id, version)).fetchone()
        if row is None:
            wanted = set_id if version is None else f"{set_id} version {version}"
            raise InputError(wanted, f"label not in the corpus at {self.home}; fetch it first")
        return self._record(row).path  # type: ignore[return-value]

    def counts(self) -> dict[str, int]:
        """Return the number of rows per status."""
        return {status: count for status, count in self.db.execute("SELECT status, COUNT(*) FROM labels GROUP BY status")}

    # ---- writing ----------------------------------------------------------

    def store_label(self, header: LabelHeader, data: bytes, *, source: str, published_date: str | None = None) -> LabelRecord:
        """Write the XML file atomically, then mark the version ok in one transaction, and return the row."""
        path = self.file_for(header.set_id, header.version)
        digest = hashlib.sha256(data).hexdigest()
        existing_ok = self.get(header.set_id, header.version)
        if not (existing_ok and existing_ok.ok and existing_ok.sha256 == digest and path.is_file()):
            write_bytes_atomic(path, data)
        published_date = iso_date(published_date)
        if published_date is None and existing_ok is not None:
            published_date = existing_ok.published_date
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO labels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'ok', NULL)",
                (header.set_id, header.version, header.document_id, header.title, published_date, header.effective_time,
                 header.doc_type, source, path.relative_to(self.home).as_posix(), digest, len(data), _now()),
            )
        return self.get(header.set_id, header.version)  # type: ignore[return-value]

    def record_failure(self, set_id: str, version: int, *, source: str, reason: str, title: str | None = None, published_date: str | None = None) -> None:
        """Record that ``set_id`` ``version`` could not be fetched; an ok row is never overwritten."""
        if self.has_ok(set_id, version):
            return
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO labels (set_id, version, title, published_date, source, fetched_at, status, reason) "
                "VALUES (?, ?, ?, ?, ?, ?, 'failed', ?)",
                (set_id.lower(), version, title, iso_date(published_date), source, _now(), reason),
            )

    def check(self) -> list[str]:
        """Return a list of inconsistencies: ok rows whose file is missing or whose checksum differs."""
        problems = []
        for record in self.iter_labels("ok"):
            if record.path is None or not record.path.is_file():
                problems.append(f"{record.set_id} v{record.version}: file missing")
                continue
            if hashlib.sha256(record.path.read_bytes()).hexdigest() != record.sha256:
                problems.append(f"{record.set_id} v{record.version}: checksum differs from the database")
        return problems


def open_corpus(home: str | Path | None = None, *, readonly: bool = False, missing_ok: bool = False) -> Corpus:
    """Open (creating it when writable) the corpus at ``home`` (see ``resolve_home``).

    Raises ``InputError`` when ``readonly`` and no corpus exists there, unless
    ``missing_ok`` requests an empty in-memory one instead; raises ``FetchError`` when
    another writer holds the corpus.
    """
    return Corpus(resolve_home(home), readonly=readonly, missing_ok=missing_ok)


def iter_corpus_inputs(home: str | Path | None = None, set_ids: Iterable[str] | None = None, *, all_versions: bool = False) -> Iterator[SPLInput]:
    """Yield the corpus's labels as ``SPLInput`` documents, so other commands can read them like files.

    Yields the newest ok version of each set id (every ok version with ``all_versions``),
    restricted to ``set_ids`` when given. A requested set id that the corpus lacks, and
    a stored file that cannot be read, are yielded with ``error`` set.
    """
    with open_corpus(home, readonly=True) as corpus:
        records = list(corpus.iter_labels("ok", latest_only=not all_versions, set_ids=set_ids))
    found = {record.set_id for record in records}
    for set_id in sorted({s.lower() for s in set_ids or ()} - found):
        yield SPLInput(set_id, error=InputError(set_id, f"label not in the corpus at {resolve_home(home)}; fetch it first"))
    for record in records:
        source = str(record.path)
        try:
            data = record.path.read_bytes()  # type: ignore[union-attr]
        except OSError as exc:
            yield SPLInput(source, error=InputError(source, f"corpus file cannot be read ({exc.strerror or exc})"))
            continue
        yield SPLInput(source, data=data)


def iter_inputs(arguments: Iterable[str | Path], home: str | Path | None = None) -> Iterator[SPLInput]:
    """Yield SPL documents for command arguments that mix paths and corpus references.

    ``corpus:`` yields the newest version of every label in the corpus at ``home``,
    ``corpus:SETID[,SETID...]`` yields the newest version of those set ids, and any
    other argument goes to ``iter_spl_inputs`` as a path. Errors are yielded as in
    ``iter_spl_inputs``; a missing corpus raises ``InputError``.
    """
    from admelabel.spl.sources import iter_spl_inputs

    for argument in arguments:
        text = str(argument)
        if not text.startswith(CORPUS_PREFIX):
            yield from iter_spl_inputs([argument])
            continue
        wanted = [part.strip() for part in text[len(CORPUS_PREFIX):].split(",") if part.strip()]
        yield from iter_corpus_inputs(home, wanted or None)
