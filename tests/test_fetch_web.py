"""`admelabel fetch` from web services: full runs, incremental runs, faults, filters, interruption."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel.cli import app
from admelabel.dailymed.store import open_corpus
from dailymed_server import FakeDailyMed, header_of, load_catalogue, wait_for_ok_rows

pytestmark = pytest.mark.network

REPO_ROOT = Path(__file__).resolve().parent.parent
INOMAX = "762b51be-1893-4cd1-9511-e645fc420d3a"
DEPO_MEDROL = "9a7b3837-e038-48bf-97e9-78ad463760dc"


@pytest.fixture(scope="module")
def catalogue(shared_spl):
    return load_catalogue(shared_spl, count=10, extra_set_ids=(INOMAX, DEPO_MEDROL))


@pytest.fixture()
def server(catalogue):
    with FakeDailyMed(catalogue, retry_after=0, slow_seconds=2.0) as fake:
        yield fake


def fetch_args(server: FakeDailyMed, home: Path, *extra: str) -> list[str]:
    return ["fetch", "--base-url", server.base_url, "--data-dir", str(home), "--rate", "100", "--backoff", "0.01", "--timeout", "0.5", "--retries", "3", *extra]


def run_fetch(server: FakeDailyMed, home: Path, *extra: str):
    return CliRunner(env={"COLUMNS": "300"}).invoke(app, fetch_args(server, home, *extra))


def rx_set_ids(catalogue) -> set[str]:
    return {label.set_id for label in catalogue.latest() if label.doc_type == "34391-3"}


def test_fetch_fills_corpus_then_nothing(server, catalogue, tmp_path):
    result = run_fetch(server, tmp_path)
    assert result.exit_code == 0, result.output
    expected = rx_set_ids(catalogue)
    with open_corpus(tmp_path, readonly=True) as corpus:
        records = list(corpus.iter_labels("ok"))
        assert {record.set_id for record in records} == expected
        assert corpus.check() == []
    for record in records:
        assert record.path.is_file()
        assert header_of(record.path) == (record.set_id, record.version)
        assert record.source == "web"
        assert record.published_date.startswith("2024-")
        assert record.status == "ok"
        assert record.document_id
        assert len(record.sha256) == 64
    assert server.count("spls.json") == 1
    assert sum(server.label_downloads().values()) == len(expected)
    assert "new" in result.output

    before = len(server.requests)
    again = run_fetch(server, tmp_path)
    assert again.exit_code == 0, again.output
    new_requests = server.requests[before:]
    assert [record.target.split("?")[0].rsplit("/", 1)[1] for record in new_requests] == ["spls.json"]


def test_summary_table_counts(server, catalogue, tmp_path):
    run_fetch(server, tmp_path, "--limit", "4")
    result = run_fetch(server, tmp_path, "--limit", "6")
    assert result.exit_code == 0, result.output
    summary_row = next(line for line in result.output.splitlines() if line.count("│") >= 6 and any(ch.isdigit() for ch in line))
    cells = [cell.strip() for cell in summary_row.strip("│ ").split("│")]
    assert cells[:4] == ["2", "0", "4", "0"]


def test_jsonl_output_one_object_per_label(server, catalogue, tmp_path):
    result = CliRunner().invoke(app, fetch_args(server, tmp_path, "--limit", "3", "--format", "jsonl"))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(rows) == 3
    assert {row["status"] for row in rows} == {"new"}
    assert all(Path(row["path"]).is_file() for row in rows)


def test_transient_faults_recover(server, catalogue, tmp_path):
    server.add_fault("spls.json", "html", "500")
    server.add_fault(".xml", "429", "truncate", "disconnect", "slow", "500")
    # The five faults go to whichever downloads come first, and with two connections
    # one label can draw them all, so allow six attempts per request.
    result = run_fetch(server, tmp_path, "--retries", "5")
    assert result.exit_code == 0, result.output
    with open_corpus(tmp_path, readonly=True) as corpus:
        assert {record.set_id for record in corpus.iter_labels("ok")} == rx_set_ids(catalogue)
        assert corpus.counts() == {"ok": len(rx_set_ids(catalogue))}


def test_permanent_failure_recorded_and_retried_later(server, catalogue, tmp_path):
    target = sorted(rx_set_ids(catalogue))[0]
    server.add_fault(f"{target}.xml", "notspl")
    result = run_fetch(server, tmp_path)
    assert result.exit_code == 1, result.output
    assert "Failures (1)" in result.output
    assert "not an SPL document" in result.output
    with open_corpus(tmp_path, readonly=True) as corpus:
        failed = list(corpus.iter_labels("failed"))
        assert [record.set_id for record in failed] == [target]
        assert "not an SPL document" in failed[0].reason
        assert failed[0].path is None
    assert not (tmp_path / "spl" / target).exists()

    again = run_fetch(server, tmp_path)
    assert again.exit_code == 0, again.output
    with open_corpus(tmp_path, readonly=True) as corpus:
        assert corpus.get(target, failed[0].version).status == "ok"


def test_listing_failure_exits_nonzero(server, tmp_path):
    server.add_fault("spls.json", *["html"] * 4)
    result = run_fetch(server, tmp_path)
    assert result.exit_code == 1, result.output
    assert "listing stopped" in result.output


def test_dry_run_downloads_and_writes_nothing(server, catalogue, tmp_path):
    home = tmp_path / "corpus"
    result = run_fetch(server, home, "--dry-run")
    assert result.exit_code == 0, result.output
    assert not home.exists()
    assert server.label_downloads() == {}
    assert f"Would fetch ({len(rx_set_ids(catalogue))})" in result.output


def test_filters_reach_listing(server, catalogue, tmp_path):
    result = run_fetch(server, tmp_path, "--drug-name", "INOmax", "--published-since", "2024-06-01", "--all-types", "--dry-run")
    assert result.exit_code == 0, result.output
    query = server.requests[0].target
    assert "drug_name=INOmax" in query
    assert "published_date=2024-06-01" in query
    assert "published_date_comparison=gte" in query
    assert "doctype" not in query
    assert "Would fetch (1)" in result.output


def test_rx_only_is_default(server, tmp_path):
    run_fetch(server, tmp_path, "--dry-run")
    assert "doctype=34391-3" in server.requests[0].target


def test_invalid_options_rejected(server, tmp_path):
    result = run_fetch(server, tmp_path, "--published-since", "May 2021")
    assert result.exit_code == 2
    assert "--published-since must be a date YYYY-MM-DD" in result.output
    result = run_fetch(server, tmp_path, "--rate", "0")
    assert result.exit_code == 2
    assert "--rate must be > 0" in result.output


def test_all_versions_through_history(server, tmp_path):
    result = run_fetch(server, tmp_path, "--drug-name", "INOmax", "--all-versions")
    assert result.exit_code == 0, result.output
    with open_corpus(tmp_path, readonly=True) as corpus:
        versions = [record.version for record in corpus.iter_labels("ok", set_ids=[INOMAX])]
        assert versions == [2, 4, 14]
        assert corpus.path_for(INOMAX) == tmp_path / "spl" / INOMAX / "14.xml"
        assert corpus.path_for(INOMAX.upper(), 2) == tmp_path / "spl" / INOMAX / "2.xml"
    assert header_of(tmp_path / "spl" / INOMAX / "2.xml") == (INOMAX, 2)
    assert server.count("history") == 1
    assert server.count("getFile.cfm") == 2
    assert server.count(f"{INOMAX}.xml") == 1


def test_new_version_counts_as_updated(server, tmp_path):
    run_fetch(server, tmp_path, "--drug-name", "INOmax")
    result = CliRunner().invoke(app, fetch_args(server, tmp_path, "--drug-name", "INOmax", "--all-versions", "--format", "jsonl"))
    assert result.exit_code == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert sorted((row["version"], row["status"]) for row in rows) == [(2, "updated"), (4, "updated"), (14, "unchanged")]


def test_unsafe_zip_member_fails_label(server, tmp_path):
    server.add_fault("getFile.cfm", "evilzip")
    result = run_fetch(server, tmp_path, "--drug-name", "INOmax", "--all-versions")
    assert result.exit_code == 1, result.output
    assert "climbs out" in result.output
    assert not list(tmp_path.parent.glob("evil.xml"))
    assert not list(tmp_path.rglob("evil.xml"))


def test_interrupted_run_resumes_without_redownloads(server, catalogue, tmp_path):
    """Kill the real CLI with SIGKILL while a download hangs, then run it again."""
    expected = rx_set_ids(catalogue)
    order = sorted(expected)
    server.add_fault(f"{order[5]}.xml", "hang")
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    command = [sys.executable, "-c", "from admelabel.cli import main; main()", *fetch_args(server, tmp_path, "--concurrency", "1", "--timeout", "30")]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        assert server.hung.wait(timeout=60), "the fetch never reached the hanging download"
        wait_for_ok_rows(tmp_path, 5)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    server.release_hung()

    db = sqlite3.connect(tmp_path / "corpus.sqlite")
    done_before = {row[0] for row in db.execute("SELECT set_id FROM labels WHERE status = 'ok'")}
    db.close()
    assert set(order[:5]) <= done_before
    assert order[5] not in done_before
    downloads_before = server.label_downloads()

    result = run_fetch(server, tmp_path)
    assert result.exit_code == 0, result.output
    downloads_after = server.label_downloads()
    for set_id in done_before:
        assert downloads_after[set_id] == downloads_before[set_id] == 1, set_id
    assert downloads_after[order[5]] == 2
    with open_corpus(tmp_path, readonly=True) as corpus:
        assert {record.set_id for record in corpus.iter_labels("ok")} == expected
        assert corpus.check() == []
    leftovers = [path for path in tmp_path.rglob("*") if path.name.endswith(".tmp")]
    assert leftovers == []


def test_second_writer_is_rejected(server, tmp_path):
    with open_corpus(tmp_path):
        result = run_fetch(server, tmp_path)
    assert result.exit_code == 2
    assert "another admelabel fetch is writing to this corpus" in result.output


def test_label_listed_twice_fetched_once(server, catalogue, tmp_path, monkeypatch):
    original = server.listing

    def listing_with_duplicate(query, base):
        payload = original(query, base)
        payload["data"].append(dict(payload["data"][0]))
        return payload

    monkeypatch.setattr(server, "listing", listing_with_duplicate)
    result = run_fetch(server, tmp_path)
    assert result.exit_code == 0, result.output
    assert set(server.label_downloads().values()) == {1}
    assert len(server.label_downloads()) == len(rx_set_ids(catalogue))
