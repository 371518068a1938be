"""HTTP client for DailyMed web services v2: rate limit, retries and response checks.

Only the standard library is used (``urllib.request``), so the client runs wherever
admelabel runs. Every request, retries included, passes through one ``RateLimiter``
shared by all worker threads.
"""

from __future__ import annotations

import collections
import contextlib
import email.utils
import http.client
import json
import logging
import math
import os
import random
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, TypeVar

from admelabel import __version__
from admelabel.errors import FetchError
from admelabel.io import atomic_write

__all__ = [
    "DEFAULT_BASE_URL",
    "BASE_URL_ENV",
    "DEFAULT_RATE",
    "DEFAULT_CONCURRENCY",
    "USER_AGENT",
    "ListingItem",
    "RateLimiter",
    "RetryPolicy",
    "DailyMedClient",
    "resolve_base_url",
]

log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://dailymed.nlm.nih.gov/dailymed/services/v2"
BASE_URL_ENV = "ADMELABEL_DAILYMED_URL"

DEFAULT_RATE = 3.0
"""Requests per second. NLM limits NCBI E-utilities clients without an API key to 3 requests
per second (NLM support article KA-05317). No figure for DailyMed itself was found, so the
fetcher uses the same one."""

DEFAULT_CONCURRENCY = 2
"""Open connections. Two overlap one label's transfer with the next request's latency
without holding many server slots; the rate limit, not this number, bounds the load."""

USER_AGENT = f"admelabel/{__version__} (DailyMed label fetcher; Python urllib)"

RX_DOCTYPE = "34391-3"
"""LOINC document type of human prescription drug labels."""

MAX_PAGESIZE = 100
"""Largest ``pagesize`` that the listing endpoint accepts."""

SET_ID_PATTERN = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
"""A set id is a UUID; anything else is rejected before it can become part of a URL or path."""

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})

_T = TypeVar("_T")


def resolve_base_url(base_url: str | None = None) -> str:
    """Return the web-services base URL: ``base_url``, then ``$ADMELABEL_DAILYMED_URL``, then DailyMed.

    Raises ``ValueError`` for a URL that is not http or https.
    """
    url = base_url or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ValueError(f"--base-url must be an http or https URL, got {url!r}")
    return url.rstrip("/")


def normalize_set_id(value: object) -> str | None:
    """Return ``value`` as a lower-case set id, or None when it is not a UUID."""
    text = str(value or "").strip().lower()
    return text if SET_ID_PATTERN.match(text) else None


def parse_count(value: object) -> int | None:
    """Parse a paging count that DailyMed sends as a number, a string or the string "null"."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not text or text.lower() == "null":
        return None
    try:
        return int(float(text))
    except ValueError:
        return None


def parse_link(value: object) -> str | None:
    """Return a paging link, or None for JSON null, an empty string or the string "null"."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    return None if not text or text.lower() == "null" else text


@dataclass(frozen=True)
class ListingItem:
    """One label version named by a listing or history response."""

    set_id: str
    version: int
    title: str = ""
    published_date: str = ""


class _Slot:
    """One request's place in the rate limiter: when it started and when its response began."""

    __slots__ = ("start", "end")

    def __init__(self, start: float) -> None:
        self.start = start
        self.end: float | None = None


class RateLimiter:
    """Keep requests to at most ``rate`` per second as the server counts them, across all threads.

    Two rules decide when a request may start. Starts are spaced ``1 / rate`` seconds
    apart, which sets the average. And with ``k = max(1, floor(rate))``, a request may
    not start until one second after the response to the request ``k`` places earlier
    began. Starts are in order, so the same then holds for every earlier request. A
    server receives each request between its start and the start of its response, so
    no one-second window on the server's clock can hold more than ``k`` requests,
    however long a request waits between acquiring its slot and being sent (thread
    scheduling, connection set-up).
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        if not rate > 0:
            raise ValueError(f"--rate must be > 0 requests per second, got {rate}")
        self.rate = float(rate)
        self.interval = 1.0 / self.rate
        self.window = max(1, math.floor(self.rate))
        self._clock = clock
        self._sleep = sleep
        self._condition = threading.Condition()
        self._recent: collections.deque[_Slot] = collections.deque()
        self._next_start = 0.0

    def acquire(self) -> _Slot:
        """Block until this caller may start a request; pass the returned slot to ``release``."""
        while True:
            with self._condition:
                now = self._clock()
                wait = self._next_start - now
                if len(self._recent) >= self.window:
                    oldest = self._recent[0]
                    if oldest.end is None:
                        # The request k places earlier is still waiting for its response.
                        self._condition.wait(timeout=1.0)
                        continue
                    wait = max(wait, oldest.end + 1.0 - now)
                if wait <= 0:
                    slot = _Slot(now)
                    self._recent.append(slot)
                    if len(self._recent) > self.window:
                        self._recent.popleft()
                    self._next_start = now + self.interval
                    return slot
            self._sleep(wait)

    def release(self, slot: _Slot) -> None:
        """Record that the response to ``slot``'s request began (or the request failed); repeated calls are ignored."""
        with self._condition:
            if slot.end is None:
                slot.end = self._clock()
                self._condition.notify_all()


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before a request is sent again.

    ``attempts`` counts the first try. The wait before retry ``n`` (1-based) is drawn
    uniformly from ``[0, min(max_backoff, backoff * 2 ** (n - 1))]`` ("full jitter"),
    unless the server sent ``Retry-After``, which is honoured when it is at most
    ``max_retry_after`` seconds. Times are in seconds.
    """

    attempts: int = 5
    backoff: float = 1.0
    max_backoff: float = 60.0
    max_retry_after: float = 300.0
    timeout: float = 30.0

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"--retries must be >= 0, got {self.attempts - 1}")
        if not self.timeout > 0:
            raise ValueError(f"--timeout must be > 0 seconds, got {self.timeout}")
        if self.backoff < 0 or self.max_backoff < 0:
            raise ValueError(f"backoff times must be >= 0, got {self.backoff} and {self.max_backoff}")

    def delay(self, retry: int, rng: random.Random) -> float:
        """Return the jittered wait in seconds before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * 2 ** (retry - 1))
        return rng.uniform(0.0, ceiling)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Return the wait in seconds named by a ``Retry-After`` header (seconds or HTTP date), or None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, moment.timestamp() - current)


class _RetryableError(Exception):
    """A failed attempt that may succeed when sent again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class ContentError(Exception):
    """A response arrived whole but its content is not what was requested (HTML for JSON, not SPL...)."""


@dataclass
class DailyMedClient:
    """A polite client for DailyMed web services v2 or a mirror of them.

    ``base_url`` is the web-services root (``.../dailymed/services/v2``); the label zip
    endpoint ``getFile.cfm`` is resolved next to the ``services`` folder. Thread-safe:
    worker threads share the rate limiter. ``requests_sent`` counts every request,
    retries included.
    """

    base_url: str = DEFAULT_BASE_URL
    rate: float = DEFAULT_RATE
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    seed: int | None = None
    user_agent: str = USER_AGENT

    def __post_init__(self) -> None:
        self.base_url = resolve_base_url(self.base_url)
        self.limiter = RateLimiter(self.rate)
        self._rng = random.Random(self.seed)
        self._rng_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.requests_sent = 0
        self.retries = 0
        self._stopped = threading.Event()

    def stop(self) -> None:
        """Make requests not yet started, and retries not yet sent, raise ``FetchError`` at once.

        A request already in flight still runs to its end or its timeout.
        """
        self._stopped.set()

    # ---- URLs -------------------------------------------------------------

    def url(self, path: str, params: dict[str, Any] | None = None) -> str:
        """Return the URL of ``path`` under the base URL with ``params`` as the query string."""
        url = f"{self.base_url}/{path.lstrip('/')}"
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None and v != ""})
        return url

    def zip_url(self, set_id: str, version: int | None = None) -> str:
        """Return the ``getFile.cfm`` URL of one label version's zip."""
        root = self.base_url
        suffix = "/services/v2"
        root = root[: -len(suffix)] if root.endswith(suffix) else root
        params: dict[str, Any] = {"type": "zip", "setid": set_id}
        if version is not None:
            params["version"] = version
        return f"{root}/getFile.cfm?{urllib.parse.urlencode(params)}"

    # ---- raw requests -----------------------------------------------------

    def get(self, url: str, *, accept: str = "*/*", check: Callable[[bytes, str], None] | None = None) -> bytes:
        """Send GET ``url`` and return the body, retrying transient failures.

        Retries on 429, 500, 502, 503, 504, timeouts, refused or dropped connections,
        truncated bodies, and on bodies that ``check(body, content_type)`` rejects by
        raising ``ContentError`` (DailyMed has sent HTML where JSON was requested).
        Raises ``FetchError`` naming the URL and the last reason when no attempt works.
        """

        def attempt() -> bytes:
            body, content_type = self._send(url, accept)
            if check is not None:
                check(body, content_type)
            return body

        return self._with_retries(url, attempt)

    def download_file(self, url: str, path: Path, *, check: Callable[[IO[bytes]], None] | None = None, chunk_size: int = 1 << 20) -> Path:
        """Stream GET ``url`` into ``path`` atomically, with the same retries as ``get``.

        For files too large to hold in memory (release zips run to gigabytes). ``check``
        receives the finished temporary file, open for reading and writing, and may
        raise ``ContentError``; the temporary file is then removed.
        A file is only ever visible at ``path`` when complete and checked.
        """

        def attempt() -> Path:
            request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept": "application/zip"})
            with self._request_slot() as slot, self._translate_errors(url):
                with urllib.request.urlopen(request, timeout=self.retry.timeout) as response:
                    self.limiter.release(slot)
                    expected = parse_count(response.headers.get("Content-Length"))
                    with atomic_write(path, "w+b") as handle:
                        received = 0
                        while chunk := response.read(chunk_size):
                            handle.write(chunk)
                            received += len(chunk)
                        if expected is not None and received < expected:
                            raise http.client.IncompleteRead(b"", expected - received)
                        handle.flush()
                        if check is not None:
                            handle.seek(0)
                            check(handle)
            return path

        return self._with_retries(url, attempt)

    def _with_retries(self, url: str, attempt_once: Callable[[], _T]) -> _T:
        reason = "no attempt made"
        attempt = 0
        for attempt in range(1, self.retry.attempts + 1):
            if self._stopped.is_set():
                raise FetchError(f"{url}: not sent because the run was stopped")
            try:
                return attempt_once()
            except ContentError as exc:
                reason = str(exc)
                retry_after = None
            except _RetryableError as exc:
                reason = exc.reason
                retry_after = exc.retry_after
            if attempt == self.retry.attempts:
                break
            if retry_after is not None and retry_after > self.retry.max_retry_after:
                reason += f"; Retry-After of {retry_after:.0f} s is over the {self.retry.max_retry_after:.0f} s limit"
                break
            with self._rng_lock:
                wait = self.retry.delay(attempt, self._rng)
            if retry_after is not None:
                wait = max(wait, retry_after)
            with self._count_lock:
                self.retries += 1
            log.warning("retrying %s in %.2f s (attempt %d of %d failed: %s)", url, wait, attempt, self.retry.attempts, reason)
            if self._stopped.wait(wait):
                raise FetchError(f"{url}: {reason}; no retry because the run was stopped")
        raise FetchError(f"{url}: {reason} (after {attempt} attempt{'s' if attempt > 1 else ''})")

    @contextlib.contextmanager
    def _request_slot(self) -> Iterator[_Slot]:
        """Wait for the rate limiter, count the request, and release its slot however it ends."""
        slot = self.limiter.acquire()
        with self._count_lock:
            self.requests_sent += 1
        try:
            yield slot
        finally:
            self.limiter.release(slot)

    def _send(self, url: str, accept: str) -> tuple[bytes, str]:
        request = urllib.request.Request(url, headers={"User-Agent": self.user_agent, "Accept": accept})
        with self._request_slot() as slot, self._translate_errors(url):
            with urllib.request.urlopen(request, timeout=self.retry.timeout) as response:
                self.limiter.release(slot)
                body = response.read()
                return body, response.headers.get("Content-Type", "")

    @contextlib.contextmanager
    def _translate_errors(self, url: str) -> Iterator[None]:
        """Turn transport failures into ``_RetryableError`` and permanent HTTP errors into ``FetchError``."""
        try:
            yield
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code in RETRY_STATUSES:
                raise _RetryableError(f"HTTP {exc.code}", parse_retry_after(exc.headers.get("Retry-After"))) from None
            raise FetchError(f"{url}: HTTP {exc.code} {exc.reason}") from None
        except http.client.IncompleteRead as exc:
            raise _RetryableError(f"truncated body ({len(exc.partial)} bytes received, {exc.expected} more expected)") from None
        except (TimeoutError, socket.timeout):
            raise _RetryableError(f"timed out after {self.retry.timeout:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (TimeoutError, socket.timeout)):
                raise _RetryableError(f"timed out after {self.retry.timeout:g} s") from None
            if isinstance(exc.reason, OSError):
                raise _RetryableError(f"connection failed ({exc.reason})") from None
            raise FetchError(f"{url}: {exc.reason}") from None
        except (http.client.HTTPException, ConnectionError) as exc:
            raise _RetryableError(f"connection dropped ({type(exc).__name__}: {exc})") from None

    # ---- endpoints --------------------------------------------------------

    def get_json(self, url: str) -> dict[str, Any]:
        """GET ``url`` and return the decoded JSON object, retrying when the server sends HTML or broken JSON."""
        body = self.get(url, accept="application/json", check=_check_json)
        return json.loads(body)

    def iter_listing(self, params: dict[str, Any], *, limit: int | None = None, on_total: Callable[[int], None] | None = None) -> Iterator[ListingItem]:
        """Yield the label versions listed by ``spls.json`` for the filters in ``params``, page by page.

        Follows ``next_page_url`` when it points at the same server as the base URL
        (a mirror's links may name the real DailyMed) and otherwise requests the next
        page number itself. ``on_total`` receives ``total_elements`` from the first page.
        Raises ``FetchError`` when a page cannot be fetched or is not a listing.
        """
        query = dict(params)
        query.setdefault("pagesize", MAX_PAGESIZE)
        query["page"] = 1
        url = self.url("spls.json", query)
        yielded = 0
        seen_pages = 0
        while url:
            payload = self.get_json(url)
            metadata = payload.get("metadata")
            data = payload.get("data")
            if not isinstance(metadata, dict) or not isinstance(data, list):
                raise FetchError(f"{url}: not a DailyMed listing (expected 'metadata' and a 'data' list)")
            if seen_pages == 0 and on_total is not None:
                total = parse_count(metadata.get("total_elements"))
                if total is not None:
                    on_total(total if limit is None else min(total, limit))
            seen_pages += 1
            for raw in data:
                item = _listing_item(raw)
                if item is None:
                    log.warning("skipping a listing entry without a valid setid and spl_version: %r", raw)
                    continue
                yield item
                yielded += 1
                if limit is not None and yielded >= limit:
                    return
            url = self._next_page(metadata, query, data)

    def _next_page(self, metadata: dict[str, Any], query: dict[str, Any], data: list[Any]) -> str | None:
        current = parse_count(metadata.get("current_page")) or query["page"]
        total_pages = parse_count(metadata.get("total_pages"))
        link = parse_link(metadata.get("next_page_url"))
        next_page = parse_count(metadata.get("next_page"))
        if not data or (link is None and next_page is None):
            return None
        if total_pages is not None and current >= total_pages:
            return None
        if link is not None and _same_origin(link, self.base_url):
            return link
        query["page"] = next_page or current + 1
        return self.url("spls.json", query)

    def history(self, set_id: str) -> list[ListingItem]:
        """Return every published version of ``set_id``, newest first, from ``spls/{setid}/history.json``."""
        url = self.url(f"spls/{set_id}/history.json")
        payload = self.get_json(url)
        data = payload.get("data")
        history = data.get("history") if isinstance(data, dict) else None
        if not isinstance(history, list):
            raise FetchError(f"{url}: not a DailyMed history response (expected data.history as a list)")
        spl = data.get("spl") if isinstance(data.get("spl"), dict) else {}
        title = str(spl.get("title") or "")
        items = []
        for entry in history:
            version = parse_count(entry.get("spl_version")) if isinstance(entry, dict) else None
            if version is None:
                log.warning("%s: skipping a history entry without spl_version: %r", url, entry)
                continue
            items.append(ListingItem(set_id, version, title, str(entry.get("published_date") or "")))
        return sorted(items, key=lambda item: item.version, reverse=True)

    def download_latest(self, set_id: str) -> bytes:
        """Return the SPL XML of the newest version of ``set_id`` from ``spls/{setid}.xml``."""
        return self.get(self.url(f"spls/{set_id}.xml"), accept="application/xml", check=_check_xml)

    def download_zip(self, set_id: str, version: int | None) -> bytes:
        """Return the zip of one label version from ``getFile.cfm`` (the XML plus images)."""
        return self.get(self.zip_url(set_id, version), accept="application/zip", check=_check_zip)


def _listing_item(raw: object) -> ListingItem | None:
    if not isinstance(raw, dict):
        return None
    set_id = normalize_set_id(raw.get("setid"))
    version = parse_count(raw.get("spl_version"))
    if set_id is None or version is None:
        return None
    return ListingItem(set_id, version, str(raw.get("title") or ""), str(raw.get("published_date") or ""))


def _same_origin(url: str, base: str) -> bool:
    left, right = urllib.parse.urlsplit(url), urllib.parse.urlsplit(base)
    return (left.scheme, left.netloc) == (right.scheme, right.netloc)


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip().lower()
    return head.startswith(b"<!doctype html") or head.startswith(b"<html")


def _check_json(body: bytes, content_type: str) -> None:
    if _looks_like_html(body) or "text/html" in content_type.lower():
        raise ContentError("server sent HTML where JSON was requested")
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ContentError(f"response is not valid JSON ({exc})") from None
    if not isinstance(payload, dict):
        raise ContentError("response is JSON but not an object")


def _check_xml(body: bytes, content_type: str) -> None:
    if _looks_like_html(body):
        raise ContentError("server sent HTML where SPL XML was requested")
    if not body.lstrip().startswith(b"<"):
        raise ContentError("response is not XML")


def _check_zip(body: bytes, content_type: str) -> None:
    if not body.startswith(b"PK"):
        raise ContentError("response is not a zip file")
    # A zip's central directory sits at its end, so a cut-off transfer loses it.
    if b"PK\x05\x06" not in body[-65557:]:
        raise ContentError("zip file is truncated (no end-of-central-directory record)")
