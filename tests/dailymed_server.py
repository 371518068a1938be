"""A local imitation of DailyMed web services v2 for tests and benchmarks.

``FakeDailyMed`` is a real ``ThreadingHTTPServer`` on 127.0.0.1 with an ephemeral
port. It serves real labels from the shared SPL folder through the endpoints that
``admelabel fetch`` uses:

- ``.../spls.json``: the listing (``metadata`` + ``data``), paged with ``page`` and
  ``pagesize``, filtered by ``doctype``, ``drug_name`` and ``published_date`` with
  ``published_date_comparison``. Missing links are the string ``"null"``; counts are
  strings on even pages and numbers on odd pages, as both shapes occur at DailyMed.
- ``.../spls/{setid}/history.json``: the versions present in the folder, newest first.
- ``.../spls/{setid}.xml``: the newest version's XML.
- ``.../getFile.cfm?type=zip&setid=...&version=...``: a zip of ``<document id>.xml`` plus an image.
- ``/files/{name}``: any bytes placed in ``server.files`` (release zips built by a test).

Routing matches on the end of the path, so both ``http://127.0.0.1:PORT`` and
``http://127.0.0.1:PORT/dailymed/services/v2`` work as base URLs.

Faults are queued per request with ``add_fault(match, *faults)``: the next requests
whose target contains ``match`` get the faults in order, then normal responses. Faults:
``"429"`` (with ``Retry-After``), ``"500"``, ``"slow"`` (answers after ``slow_seconds``),
``"truncate"`` (half the body under the full ``Content-Length``), ``"html"`` (an HTML
page with status 200), ``"disconnect"`` (closes the connection without an answer),
``"notspl"`` (well-formed XML that is not SPL), ``"badzip"`` (a cut-off zip),
``"evilzip"`` (a zip whose member name climbs out with ``..``) and ``"hang"`` (waits
until ``release_hung()`` or shutdown).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import sqlite3
import threading
import time
import urllib.parse
import zipfile
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from lxml import etree

HL7 = "{urn:hl7-org:v3}"
HTML_PAGE = b"<!DOCTYPE html><html><head><title>DailyMed</title></head><body>Service temporarily unavailable</body></html>"
NOT_SPL = b'<?xml version="1.0"?><error><message>No SPL found</message></error>'


@dataclass
class FakeLabel:
    set_id: str
    version: int
    title: str
    doc_type: str
    published: dt.date
    path: Path
    document_id: str = ""


@dataclass
class RequestRecord:
    time: float
    target: str
    status: int
    user_agent: str


@dataclass
class Catalogue:
    """Label versions by set id, newest last."""

    versions: dict[str, list[FakeLabel]] = field(default_factory=dict)

    def latest(self) -> list[FakeLabel]:
        return [versions[-1] for versions in self.versions.values()]


def _document_id(path: Path) -> str:
    head = path.read_bytes()[:4096]
    match = re.search(rb'<id\s+root="([^"]+)"', head)
    return match.group(1).decode().lower() if match else "unknown"


def load_catalogue(spl_dir: Path, *, count: int | None = None, extra_set_ids: tuple[str, ...] = (), include_versions: bool = True) -> Catalogue:
    """Build a catalogue from ``MANIFEST.tsv`` in ``spl_dir``: the first ``count`` labels by set id, plus ``extra_set_ids``.

    Published dates are made up, one day apart going back from 2024-06-30, so that
    date filters have something to select.
    """
    with (spl_dir / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        rows = sorted((row for row in csv.DictReader(handle, delimiter="\t") if "/" not in row["file"]), key=lambda row: row["setid"].lower())
    if count is not None:
        rows = rows[:count] + [row for row in rows[count:] if row["setid"].lower() in extra_set_ids]
    catalogue = Catalogue()
    start = dt.date(2024, 6, 30)
    for index, row in enumerate(rows):
        set_id = row["setid"].lower()
        label = FakeLabel(set_id, int(row["version"]), row["title"], row["doc_type"], start - dt.timedelta(days=index), spl_dir / row["file"])
        label.document_id = _document_id(label.path)
        versions = [label]
        if include_versions:
            for old in sorted((spl_dir / "versions").glob(f"{set_id}_v*.xml")):
                version = int(old.stem.rsplit("_v", 1)[1])
                versions.append(FakeLabel(set_id, version, row["title"], row["doc_type"], label.published - dt.timedelta(days=365 * version), old, _document_id(old)))
        catalogue.versions[set_id] = sorted(versions, key=lambda item: item.version)
    return catalogue


def catalogue_from_files(paths: list[Path]) -> Catalogue:
    """Build a catalogue from SPL files by reading their headers (for the small fixtures in tests/fixtures)."""
    catalogue = Catalogue()
    start = dt.date(2024, 6, 30)
    for index, path in enumerate(sorted(paths)):
        root = etree.parse(str(path)).getroot()
        set_id, version = header_of(path)
        title = " ".join("".join(root.find(f"{HL7}title").itertext()).split()) if root.find(f"{HL7}title") is not None else ""
        doc_type = root.find(f"{HL7}code").get("code")
        label = FakeLabel(set_id, version, title, doc_type, start - dt.timedelta(days=index), path, _document_id(path))
        catalogue.versions.setdefault(set_id, []).append(label)
    for versions in catalogue.versions.values():
        versions.sort(key=lambda item: item.version)
    return catalogue


def _format_date(day: dt.date) -> str:
    return day.strftime("%b %d, %Y")


class FakeDailyMed:
    """The server; use as a context manager or call ``start()`` and ``stop()``."""

    def __init__(self, catalogue: Catalogue, *, retry_after: int = 1, slow_seconds: float = 3.0, record_user_agent: bool = True) -> None:
        self.catalogue = catalogue
        self.retry_after = retry_after
        self.slow_seconds = slow_seconds
        self.files: dict[str, bytes] = {}
        self.requests: list[RequestRecord] = []
        self._faults: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._unhang = threading.Event()
        self.hung = threading.Event()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-dailymed", daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/dailymed/services/v2"

    def start(self) -> FakeDailyMed:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._unhang.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeDailyMed:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- faults and counters ---------------------------------------------

    def add_fault(self, match: str, *faults: str) -> None:
        with self._lock:
            self._faults.append((match, list(faults)))

    def release_hung(self) -> None:
        self._unhang.set()

    def _take_fault(self, target: str) -> str | None:
        with self._lock:
            for match, queue in self._faults:
                if match in target and queue:
                    return queue.pop(0)
        return None

    def _record(self, target: str, user_agent: str) -> RequestRecord:
        """Log a request on arrival; its status stays 0 when no response is sent."""
        record = RequestRecord(time.monotonic(), target, 0, user_agent)
        with self._lock:
            self.requests.append(record)
        return record

    def count(self, match: str) -> int:
        """Return how many requests had ``match`` in their target."""
        with self._lock:
            return sum(1 for record in self.requests if match in record.target)

    def label_downloads(self) -> dict[str, int]:
        """Return how many label downloads (``.xml`` or zip) each set id received, successful or not."""
        counts: dict[str, int] = {}
        with self._lock:
            records = list(self.requests)
        for record in records:
            set_id = _label_set_id(record.target)
            if set_id:
                counts[set_id] = counts.get(set_id, 0) + 1
        return counts

    def max_requests_per_second(self) -> int:
        """Return the highest number of request arrivals in any window [t, t + 1 s) that starts at an arrival."""
        with self._lock:
            times = sorted(record.time for record in self.requests)
        best = 0
        end = 0
        for start_index, start in enumerate(times):
            while end < len(times) and times[end] < start + 1.0:
                end += 1
            best = max(best, end - start_index)
        return best

    # ---- responses --------------------------------------------------------

    def listing(self, query: dict[str, str], base: str) -> dict[str, object]:
        labels = self.catalogue.latest()
        if query.get("doctype"):
            labels = [label for label in labels if label.doc_type == query["doctype"]]
        if query.get("drug_name"):
            labels = [label for label in labels if query["drug_name"].lower() in label.title.lower()]
        if query.get("published_date"):
            since = dt.date.fromisoformat(query["published_date"])
            comparison = query.get("published_date_comparison", "eq")
            keep = {"gte": lambda d: d >= since, "gt": lambda d: d > since, "lte": lambda d: d <= since, "lt": lambda d: d < since, "eq": lambda d: d == since}[comparison]
            labels = [label for label in labels if keep(label.published)]
        page = int(query.get("page", 1))
        pagesize = min(int(query.get("pagesize", 100)), 100)
        total_pages = max(1, -(-len(labels) // pagesize))
        chunk = labels[(page - 1) * pagesize : page * pagesize]

        def link(number: int) -> str:
            params = {key: value for key, value in query.items() if key not in ("page", "pagesize")}
            params.update(page=str(number), pagesize=str(pagesize))
            return f"{base}/spls.json?{urllib.parse.urlencode(params)}"

        as_text = page % 2 == 0
        number = (lambda value: str(value)) if as_text else (lambda value: value)
        metadata = {
            "total_elements": number(len(labels)),
            "elements_per_page": number(pagesize),
            "total_pages": number(total_pages),
            "current_page": number(page),
            "current_url": link(page),
            "previous_page": number(page - 1) if page > 1 else "null",
            "previous_page_url": link(page - 1) if page > 1 else "null",
            "next_page": number(page + 1) if page < total_pages else "null",
            "next_page_url": link(page + 1) if page < total_pages else "null",
            "db_published_date": "Jun 30, 2024 05:00:00PM EST",
        }
        data = [{"spl_version": label.version, "published_date": _format_date(label.published), "title": label.title, "setid": label.set_id} for label in chunk]
        return {"metadata": metadata, "data": data}

    def history(self, set_id: str, base: str) -> dict[str, object] | None:
        versions = self.catalogue.versions.get(set_id)
        if not versions:
            return None
        history = [{"spl_version": label.version, "published_date": _format_date(label.published)} for label in reversed(versions)]
        metadata = {"db_published_date": "Jun 30, 2024 05:00:00PM EST", "elements_per_page": 100, "current_url": f"{base}/spls/{set_id}/history",
                    "next_page_url": "null", "total_elements": len(history), "total_pages": 1, "current_page": 1,
                    "previous_page": "null", "previous_page_url": "null", "next_page": "null"}
        return {"data": {"spl": {"title": versions[-1].title, "setid": set_id}, "history": history}, "metadata": metadata}

    def label(self, set_id: str, version: int | None) -> FakeLabel | None:
        versions = self.catalogue.versions.get(set_id.lower())
        if not versions:
            return None
        if version is None:
            return versions[-1]
        return next((label for label in versions if label.version == version), None)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                server._serve(self)

        return Handler

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        target = handler.path
        record = self._record(target, handler.headers.get("User-Agent", ""))
        fault = self._take_fault(target)
        if fault == "hang":
            self.hung.set()
            self._unhang.wait()
            handler.close_connection = True
            return
        if fault == "disconnect":
            handler.close_connection = True
            handler.connection.shutdown(2)
            return
        if fault == "slow":
            self._stop.wait(self.slow_seconds)
        if fault == "429":
            record.status = 429
            self._send(handler, 429, b"Too Many Requests", "text/plain", headers={"Retry-After": str(self.retry_after)})
            return
        if fault == "500":
            record.status = 500
            self._send(handler, 500, b"Internal Server Error", "text/plain")
            return
        if fault == "html":
            record.status = 200
            self._send(handler, 200, HTML_PAGE, "text/html; charset=UTF-8")
            return

        status, body, content_type = self._route(target, handler)
        if fault == "notspl" and status == 200:
            body, content_type = NOT_SPL, "application/xml"
        if fault == "badzip" and status == 200:
            body = body[: len(body) // 2]
        if fault == "evilzip" and status == 200:
            body = _zip({"../../evil.xml": _xml_member(body)})
        record.status = status
        self._send(handler, status, body, content_type, truncate=fault == "truncate")

    def _route(self, target: str, handler: BaseHTTPRequestHandler) -> tuple[int, bytes, str]:
        parsed = urllib.parse.urlsplit(target)
        path = parsed.path
        query = dict(urllib.parse.parse_qsl(parsed.query))
        base = f"{self.url}{path.rsplit('/spls', 1)[0]}" if "/spls" in path else self.url
        if path.endswith("/spls.json"):
            return 200, json.dumps(self.listing(query, base)).encode(), "application/json;charset=UTF-8"
        match = re.search(r"/spls/([^/]+)/history(\.json)?$", path)
        if match:
            payload = self.history(match.group(1).lower(), base)
            if payload is None:
                return 404, b"Not Found", "text/plain"
            return 200, json.dumps(payload, indent=2).encode(), "application/json;charset=UTF-8"
        match = re.search(r"/spls/([^/]+)\.xml$", path)
        if match:
            label = self.label(match.group(1), None)
            if label is None:
                return 404, b"Not Found", "text/plain"
            return 200, label.path.read_bytes(), "text/xml;charset=UTF-8"
        if path.endswith("/getFile.cfm") and query.get("type") == "zip":
            version = int(query["version"]) if query.get("version") else None
            label = self.label(query.get("setid", ""), version)
            if label is None:
                return 404, b"Not Found", "text/plain"
            members = {f"{label.document_id}.xml": label.path.read_bytes(), "image-01.jpg": b"\xff\xd8\xff\xe0 not a real image"}
            return 200, _zip(members), "application/zip"
        match = re.search(r"/files/([^/]+)$", path)
        if match and match.group(1) in self.files:
            return 200, self.files[match.group(1)], "application/zip"
        return 404, b"Not Found", "text/plain"

    @staticmethod
    def _send(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str, *, headers: dict[str, str] | None = None, truncate: bool = False) -> None:
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(body)))
            for name, value in (headers or {}).items():
                handler.send_header(name, value)
            handler.end_headers()
            handler.wfile.write(body[: len(body) // 2] if truncate else body)
            handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass
        handler.close_connection = True


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _xml_member(body: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        name = next(info.filename for info in archive.infolist() if info.filename.endswith(".xml"))
        return archive.read(name)


def _label_set_id(target: str) -> str | None:
    parsed = urllib.parse.urlsplit(target)
    match = re.search(r"/spls/([0-9a-fA-F-]{36})\.xml$", parsed.path)
    if match:
        return match.group(1).lower()
    if parsed.path.endswith("/getFile.cfm"):
        return dict(urllib.parse.parse_qsl(parsed.query)).get("setid", "").lower() or None
    return None


def build_release_zip(labels: list[FakeLabel], *, extra_members: dict[str, bytes] | None = None) -> bytes:
    """Build a release zip like DailyMed's: ``prescription/<date>_<setid>.zip`` members, each holding one label's XML."""
    members = {}
    for label in labels:
        inner = _zip({f"{label.document_id}.xml": label.path.read_bytes(), "image-01.jpg": b"\xff\xd8 not a real image"})
        members[f"prescription/20240630_{label.set_id}.zip"] = inner
    members.update(extra_members or {})
    return _zip(members)


def header_of(path: Path) -> tuple[str, int]:
    """Return (lower-case set id, version) of an SPL file, for checks in tests."""
    root = etree.parse(str(path)).getroot()
    return root.find(f"{HL7}setId").get("root").lower(), int(root.find(f"{HL7}versionNumber").get("value"))


def wait_for_ok_rows(home: Path, count: int, timeout: float = 30.0) -> None:
    """Wait until the killed-to-be run has committed ``count`` ok rows, so the kill lands after them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            db = sqlite3.connect(f"file:{home / 'corpus.sqlite'}?mode=ro", uri=True)
            try:
                done = db.execute("SELECT COUNT(*) FROM labels WHERE status = 'ok'").fetchone()[0]
            finally:
                db.close()
            if done >= count:
                return
        except sqlite3.Error:
            pass
        time.sleep(0.05)
    raise AssertionError(f"the run did not store {count} labels within {timeout} s")

