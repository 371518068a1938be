"""Local and bulk sources of labels: folders, XML files, zips and DailyMed release zips.

A release zip (``dm_spl_release_human_rx_partN.zip`` or a daily, weekly or monthly
update zip) holds a ``prescription/`` folder of per-label zips, each holding one SPL
XML file plus images. ``iter_spl_inputs`` already follows such nesting in memory.
This module adds three steps: resolving a source argument to a path or URL,
downloading a release zip by URL, and rejecting zip members whose names are absolute
or climb out with ``..``.
"""

from __future__ import annotations

import os
import re
import urllib.parse
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from admelabel.dailymed.client import ContentError, DailyMedClient
from admelabel.errors import InputError
from admelabel.spl.sources import SPLInput, iter_spl_inputs, safe_member_name

__all__ = ["RELEASE_BASE_URL", "RELEASE_URL_ENV", "Source", "resolve_source", "download_release", "iter_source_inputs"]

RELEASE_BASE_URL = "https://dailymed-data.nlm.nih.gov/public-release-files/"
RELEASE_URL_ENV = "ADMELABEL_RELEASE_URL"
"""Environment variable naming another folder URL for release files given by bare name."""

_RELEASE_NAME = re.compile(r"^dm_spl_[A-Za-z0-9_]+\.zip$")


@dataclass(frozen=True)
class Source:
    """A resolved SOURCE argument: a local ``path`` or a ``url`` to download."""

    text: str
    path: Path | None = None
    url: str | None = None


def resolve_source(text: str) -> Source:
    """Resolve a SOURCE argument.

    An ``http(s)://`` URL is downloaded, and an existing path is read as it is. A bare
    release file name such as ``dm_spl_release_human_rx_part1.zip`` that is not a local
    file is fetched from ``$ADMELABEL_RELEASE_URL`` (default: DailyMed's public release
    folder). Raises ``InputError`` for anything else.
    """
    scheme = urllib.parse.urlsplit(text).scheme.lower()
    if scheme in ("http", "https"):
        return Source(text, url=text)
    path = Path(text)
    if path.exists():
        return Source(text, path=path)
    if _RELEASE_NAME.match(text):
        base = os.environ.get(RELEASE_URL_ENV) or RELEASE_BASE_URL
        return Source(text, url=base.rstrip("/") + "/" + text)
    raise InputError(text, "file or folder not found (give a folder, an XML or zip file, a release zip name or an http(s) URL)")


def _release_file_name(url: str) -> str:
    name = Path(urllib.parse.urlsplit(url).path).name
    if not name.lower().endswith(".zip") or safe_member_name(name) != name:
        raise InputError(url, "a release URL must end in a .zip file name")
    return name


def _check_zip_file(handle: IO[bytes]) -> None:
    if not zipfile.is_zipfile(handle):
        raise ContentError("downloaded file is not a complete zip file")


def download_release(client: DailyMedClient, url: str, downloads: Path) -> Path:
    """Download the release zip at ``url`` into ``downloads`` once, and return its path.

    A zip that an earlier run finished is reused without a request: files appear in
    ``downloads`` only when complete and readable as zip. Raises ``FetchError`` when
    the download fails after retries.
    """
    path = downloads / _release_file_name(url)
    if path.is_file() and zipfile.is_zipfile(path):
        return path
    # NOTE: an interrupted download restarts from the first byte; HTTP range requests are not used.
    return client.download_file(url, path, check=_check_zip_file)


def iter_source_inputs(path: Path) -> Iterator[SPLInput]:
    """Yield the SPL documents under ``path`` (see ``iter_spl_inputs``), rejecting unsafe zip member names.

    A member whose name, at any level of zip nesting, is absolute or climbs out with
    ``..`` is yielded with ``error`` set instead of its data.
    """
    if path.is_file() and path.suffix.lower() == ".zip" and not zipfile.is_zipfile(path):
        reason = "not a readable zip file (truncated or damaged: no end-of-central-directory record)"
        yield SPLInput(str(path), error=InputError(path, reason))
        return
    for item in iter_spl_inputs([path]):
        members = item.source.split("!")[1:]
        unsafe = [name for name in members if safe_member_name(name) is None]
        if unsafe:
            error = InputError(item.source, f"zip member name {unsafe[0]!r} is absolute or climbs out of its folder; skipped")
            yield SPLInput(item.source, error=error)
            continue
        yield item
