"""Downloads of the benchmark archives against a real HTTP server on 127.0.0.1.

The server serves a tar.gz built from the test fixtures, honours Range requests
(unless created with ranges=False) and can cut the first response short to imitate a dropped
connection.
"""

from __future__ import annotations

import hashlib
import io
import socket
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from admelabel.benchmarks.download import DatasetMissingError, download_archive, extract_archive
from admelabel.benchmarks.imdb import load_imdb
from admelabel.benchmarks.newsgroups import load_newsgroups
from admelabel.errors import DataError, FetchError

pytestmark = pytest.mark.network


def _tar_gz(folder: Path, arcname_prefix: str = "") -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            tar.add(path, arcname=arcname_prefix + path.relative_to(folder).as_posix(), recursive=False)
    return buffer.getvalue()


class ArchiveServer:
    """A local HTTP server for one archive, recording the Range header of each request."""

    def __init__(self, payload: bytes, *, ranges: bool = True, cut_first_at: int | None = None) -> None:
        self.payload = payload
        self.ranges = ranges
        self.cut_first_at = cut_first_at
        self.requests: list[str | None] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                header = self.headers.get("Range")
                server.requests.append(header)
                start = 0
                if header and server.ranges:
                    start = int(header.removeprefix("bytes=").split("-")[0])
                    if start >= len(server.payload):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(server.payload) - 1}/{len(server.payload)}")
                else:
                    self.send_response(200)
                body = server.payload[start:]
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if server.cut_first_at is not None and len(server.requests) == 1:
                    self.wfile.write(body[: server.cut_first_at])
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    return
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/archive.tar.gz"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "ArchiveServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def imdb_archive(fixtures_dir: Path) -> bytes:
    return _tar_gz(fixtures_dir / "aclImdb", "aclImdb/")


@pytest.fixture(scope="module")
def newsgroups_archive(fixtures_dir: Path) -> bytes:
    return _tar_gz(fixtures_dir / "20news-bydate")


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/archive.tar.gz"


def test_download_resumes_after_cut(tmp_path: Path, imdb_archive: bytes) -> None:
    dest = tmp_path / "aclImdb_v1.tar.gz"
    cut = len(imdb_archive) // 3
    with ArchiveServer(imdb_archive, cut_first_at=cut) as server:
        with pytest.raises(FetchError, match="run again to resume"):
            download_archive(server.url, dest)
        part = tmp_path / "aclImdb_v1.tar.gz.part"
        assert not dest.exists()
        assert part.stat().st_size == cut

        download_archive(server.url, dest)

    assert server.requests == [None, f"bytes={cut}-"]
    assert dest.read_bytes() == imdb_archive
    assert not part.exists()
    sidecar = (tmp_path / "aclImdb_v1.tar.gz.sha256").read_text().split()
    assert sidecar == [hashlib.sha256(imdb_archive).hexdigest(), "aclImdb_v1.tar.gz"]


def test_download_restarts_without_ranges(tmp_path: Path, imdb_archive: bytes) -> None:
    dest = tmp_path / "a.tar.gz"
    with ArchiveServer(imdb_archive, ranges=False, cut_first_at=100) as server:
        with pytest.raises(FetchError):
            download_archive(server.url, dest)
        download_archive(server.url, dest)
    assert server.requests == [None, "bytes=100-"]
    assert dest.read_bytes() == imdb_archive


def test_download_wrong_sha256_deletes_part(tmp_path: Path, imdb_archive: bytes) -> None:
    dest = tmp_path / "a.tar.gz"
    with ArchiveServer(imdb_archive) as server:
        with pytest.raises(DataError, match="expected 00000"):
            download_archive(server.url, dest, sha256="0" * 64)
    assert not dest.exists()
    assert not (tmp_path / "a.tar.gz.part").exists()


def test_existing_archive_checked_against_sidecar(tmp_path: Path, imdb_archive: bytes) -> None:
    dest = tmp_path / "a.tar.gz"
    with ArchiveServer(imdb_archive) as server:
        download_archive(server.url, dest)
        dest.write_bytes(imdb_archive[:-10])
        with pytest.raises(DataError, match="SHA-256 is"):
            download_archive(server.url, dest)
    assert server.requests == [None]


def test_extract_rejects_path_traversal(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 2
        tar.addfile(info, io.BytesIO(b"hi"))
    archive = tmp_path / "bad.tar.gz"
    archive.write_bytes(buffer.getvalue())
    with pytest.raises(DataError, match="cannot extract"):
        extract_archive(archive, tmp_path / "out" / "x")
    assert not (tmp_path / "out" / "escape.txt").exists()
    assert not (tmp_path / "out" / "x").exists()


def test_load_imdb_downloads_into_data_dir(tmp_path: Path, imdb_archive: bytes) -> None:
    with ArchiveServer(imdb_archive) as server:
        data = load_imdb(data_dir=tmp_path, url=server.url)
        again = load_imdb(data_dir=tmp_path, url=server.url)
    assert server.requests == [None]
    assert (tmp_path / "aclImdb_v1.tar.gz").is_file()
    assert data.root == tmp_path / "aclImdb_v1" / "aclImdb"
    assert data.counts("train") == {"neg": 20, "pos": 20}
    assert [example.id for example in again.train] == [example.id for example in data.train]


def test_load_newsgroups_downloads_into_data_dir(tmp_path: Path, newsgroups_archive: bytes) -> None:
    with ArchiveServer(newsgroups_archive) as server:
        data = load_newsgroups(data_dir=tmp_path, url=server.url)
    assert data.root == tmp_path / "20news-bydate"
    assert len(data.train) == 175
    assert len(data.test) == 40


def test_offline_without_copy_names_archive(tmp_path: Path) -> None:
    url = _closed_port_url()
    with pytest.raises(DatasetMissingError) as info:
        load_imdb(data_dir=tmp_path / "data", url=url)
    message = str(info.value)
    assert "aclImdb_v1.tar.gz" in message
    assert url in message
    assert str(tmp_path / "data" / "aclImdb_v1.tar.gz") in message
    assert "--data PATH" in message


def test_no_download_names_canonical_url(tmp_path: Path) -> None:
    with pytest.raises(DatasetMissingError) as info:
        load_newsgroups(data_dir=tmp_path, download=False)
    message = str(info.value)
    assert "http://qwone.com/~jason/20Newsgroups/20news-bydate.tar.gz" in message
    assert str(tmp_path / "20news-bydate.tar.gz") in message
    assert "downloads are disabled" in message
