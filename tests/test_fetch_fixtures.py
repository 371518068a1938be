"""`admelabel fetch` on the small fixture labels, so the core paths run even without the real labels."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel.cli import app
from admelabel.dailymed.store import iter_inputs, open_corpus
from dailymed_server import FakeDailyMed, build_release_zip, catalogue_from_files, wait_for_ok_rows

pytestmark = pytest.mark.network

REPO_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def catalogue(fixtures_dir):
    return catalogue_from_files(sorted((fixtures_dir / "spl").glob("*.xml")))


@pytest.fixture()
def server(catalogue):
    with FakeDailyMed(catalogue, retry_after=0) as fake:
        yield fake


def fetch_args(server: FakeDailyMed, home: Path, *extra: str) -> list[str]:
    return ["fetch", "--base-url", server.url, "--data-dir", str(home), "--rate", "100", "--backoff", "0.01", "--timeout", "1", *extra]


def test_fixture_fetch_then_nothing(server, catalogue, tmp_path):
    server.add_fault("spls.json", "html")
    server.add_fault(".xml", "500", "disconnect")
    first = CliRunner().invoke(app, fetch_args(server, tmp_path))
    assert first.exit_code == 0, first.output
    with open_corpus(tmp_path, readonly=True) as corpus:
        assert {record.set_id for record in corpus.iter_labels("ok")} == set(catalogue.versions)
        assert corpus.check() == []
    downloads = server.label_downloads()
    assert sum(downloads.values()) == len(catalogue.versions) + 2

    before = len(server.requests)
    second = CliRunner().invoke(app, fetch_args(server, tmp_path))
    assert second.exit_code == 0, second.output
    assert len(server.requests) == before + 1
    assert server.label_downloads() == downloads
    assert len(list(iter_inputs(["corpus:"], tmp_path))) == len(catalogue.versions)


def test_fixture_kill_and_resume(server, catalogue, tmp_path):
    order = [label.set_id for label in catalogue.latest()]  # listing order
    server.add_fault(f"{order[3]}.xml", "hang")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-c", "from admelabel.cli import main; main()", *fetch_args(server, tmp_path, "--concurrency", "1", "--timeout", "30")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert server.hung.wait(timeout=60), "the fetch never reached the hanging download"
        wait_for_ok_rows(tmp_path, 3)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    server.release_hung()

    result = CliRunner().invoke(app, fetch_args(server, tmp_path))
    assert result.exit_code == 0, result.output
    downloads = server.label_downloads()
    assert [downloads[set_id] for set_id in order] == [1, 1, 1, 2, 1, 1]
    with open_corpus(tmp_path, readonly=True) as corpus:
        assert corpus.check() == []
        assert len(list(corpus.iter_labels("ok"))) == len(order)
    assert [path for path in tmp_path.rglob("*.tmp")] == []


def test_fixture_release_zip(catalogue, tmp_path):
    release = tmp_path / "dm_spl_release_human_rx_part1.zip"
    release.write_bytes(build_release_zip(catalogue.latest()))
    result = CliRunner().invoke(app, ["fetch", str(release), "--data-dir", str(tmp_path / "home")])
    assert result.exit_code == 0, result.output
    with open_corpus(tmp_path / "home", readonly=True) as corpus:
        assert {record.set_id for record in corpus.iter_labels("ok")} == set(catalogue.versions)
