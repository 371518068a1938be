"""`admelabel fetch` from local folders, zips and release zips, and the corpus API other commands use."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel.cli import app
from admelabel.dailymed.sources import resolve_source
from admelabel.dailymed.store import iter_corpus_inputs, iter_inputs, open_corpus, resolve_home
from admelabel.errors import InputError
from dailymed_server import FakeDailyMed, build_release_zip, header_of, load_catalogue

INOMAX = "762b51be-1893-4cd1-9511-e645fc420d3a"


@pytest.fixture(scope="module")
def catalogue(shared_spl):
    return load_catalogue(shared_spl, count=6, extra_set_ids=(INOMAX,))


@pytest.fixture()
def label_folder(catalogue, tmp_path):
    """A folder of 7 real labels, INOmax's old upper-case v2 in a subfolder, and one file that is not SPL."""
    folder = tmp_path / "labels"
    (folder / "old").mkdir(parents=True)
    for label in catalogue.latest():
        shutil.copy(label.path, folder / label.path.name)
    v2 = next(label for label in catalogue.versions[INOMAX] if label.version == 2)
    shutil.copy(v2.path, folder / "old" / v2.path.name)
    (folder / "notes.xml").write_text("<notes>not a label</notes>", encoding="utf-8")
    return folder


def run(*args: str):
    return CliRunner(env={"COLUMNS": "300"}).invoke(app, ["fetch", *args])


def test_local_folder_import_then_unchanged(label_folder, catalogue, tmp_path):
    home = tmp_path / "home"
    result = run(str(label_folder), "--data-dir", str(home))
    assert result.exit_code == 1, result.output
    assert "notes.xml" in result.output
    assert "not an SPL document" in result.output
    with open_corpus(home, readonly=True) as corpus:
        stored = {(record.set_id, record.version) for record in corpus.iter_labels("ok")}
        assert stored == {(label.set_id, label.version) for label in catalogue.latest()} | {(INOMAX, 2)}
        assert corpus.check() == []
        assert all(record.source == f"local:{label_folder}" for record in corpus.iter_labels("ok"))
    assert (home / "spl" / INOMAX / "2.xml").read_bytes() == (label_folder / "old" / f"{INOMAX}_v2.xml").read_bytes()

    again = run(str(label_folder), "--data-dir", str(home), "--format", "jsonl")
    assert '"status": "unchanged"' in again.output
    assert '"status": "new"' not in again.output


def test_data_dir_from_environment(label_folder, tmp_path, monkeypatch):
    home = tmp_path / "env-home"
    monkeypatch.setenv("ADMELABEL_HOME", str(home))
    assert resolve_home() == home
    assert resolve_home(tmp_path / "other") == tmp_path / "other"
    run(str(label_folder / "old"))
    assert (home / "spl" / INOMAX / "2.xml").is_file()


def test_release_zip_from_local_path(catalogue, tmp_path):
    release = tmp_path / "dm_spl_release_human_rx_part1.zip"
    release.write_bytes(build_release_zip(catalogue.latest()))
    result = run(str(release), "--data-dir", str(tmp_path / "home"))
    assert result.exit_code == 0, result.output
    with open_corpus(tmp_path / "home", readonly=True) as corpus:
        assert {record.set_id for record in corpus.iter_labels("ok")} == set(catalogue.versions)
        assert {record.source for record in corpus.iter_labels("ok")} == {f"local:{release}"}


def test_release_zip_by_url_downloaded_once(catalogue, tmp_path):
    home = tmp_path / "home"
    with FakeDailyMed(catalogue) as server:
        server.files["dm_spl_daily_update_06302024.zip"] = build_release_zip(catalogue.latest()[:3])
        url = f"{server.url}/files/dm_spl_daily_update_06302024.zip"
        first = run(url, "--data-dir", str(home), "--rate", "100")
        second = run(url, "--data-dir", str(home), "--rate", "100")
        assert server.count("/files/") == 1
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert (home / "downloads" / "dm_spl_daily_update_06302024.zip").is_file()
    with open_corpus(home, readonly=True) as corpus:
        assert len(list(corpus.iter_labels("ok"))) == 3
        assert {record.source for record in corpus.iter_labels("ok")} == {"release:dm_spl_daily_update_06302024.zip"}


def test_truncated_release_download_fails_clean(catalogue, tmp_path):
    home = tmp_path / "home"
    with FakeDailyMed(catalogue) as server:
        server.files["dm_spl_release_human_rx_part2.zip"] = build_release_zip(catalogue.latest()[:2])
        server.add_fault("/files/", "truncate", "truncate")
        result = run(f"{server.url}/files/dm_spl_release_human_rx_part2.zip", "--data-dir", str(home), "--rate", "100", "--retries", "1", "--backoff", "0.01")
    assert result.exit_code == 1, result.output
    assert "truncated body" in result.output
    assert list((home / "downloads").iterdir()) == []


def test_release_zip_with_unsafe_and_broken_members(catalogue, tmp_path):
    good = catalogue.latest()[0]
    evil_inner = io.BytesIO()
    with zipfile.ZipFile(evil_inner, "w") as archive:
        archive.writestr("../../escape.xml", catalogue.latest()[1].path.read_bytes())
    release = tmp_path / "release.zip"
    release.write_bytes(build_release_zip([good], extra_members={
        "/abs/label.xml": catalogue.latest()[2].path.read_bytes(),
        "prescription/evil.zip": evil_inner.getvalue(),
        "prescription/cut.zip": build_release_zip([catalogue.latest()[3]])[:200],
    }))
    home = tmp_path / "home"
    result = run(str(release), "--data-dir", str(home))
    assert result.exit_code == 1, result.output
    assert result.output.count("climbs out of its folder") == 2
    assert "not a readable zip file" in result.output
    with open_corpus(home, readonly=True) as corpus:
        assert [record.set_id for record in corpus.iter_labels("ok")] == [good.set_id]
    assert list(tmp_path.rglob("escape.xml")) == []
    assert not Path("/abs/label.xml").exists()


def test_truncated_local_release_zip(catalogue, tmp_path):
    release = tmp_path / "dm_spl_release_human_rx_part3.zip"
    release.write_bytes(build_release_zip(catalogue.latest()[:2])[:-100])
    result = run(str(release), "--data-dir", str(tmp_path / "home"))
    assert result.exit_code == 1, result.output
    assert "not a readable zip file" in result.output


def test_dry_run_local_writes_nothing(label_folder, tmp_path):
    home = tmp_path / "home"
    result = run(str(label_folder / "old"), "--data-dir", str(home), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would fetch (1)" in result.output
    assert not home.exists()


def test_web_filters_rejected_with_sources(label_folder, tmp_path):
    result = run(str(label_folder), "--data-dir", str(tmp_path), "--limit", "3")
    assert result.exit_code == 2
    assert "--limit only apply to web services" in result.output


def test_resolve_source_kinds(tmp_path, monkeypatch):
    assert resolve_source(str(tmp_path)).path == tmp_path
    assert resolve_source("http://127.0.0.1:1/x.zip").url == "http://127.0.0.1:1/x.zip"
    monkeypatch.setenv("ADMELABEL_RELEASE_URL", "http://127.0.0.1:1/releases/")
    assert resolve_source("dm_spl_release_human_rx_part1.zip").url == "http://127.0.0.1:1/releases/dm_spl_release_human_rx_part1.zip"
    with pytest.raises(InputError, match="file or folder not found"):
        resolve_source(str(tmp_path / "missing"))


def test_iter_corpus_inputs_latest_and_requested(label_folder, catalogue, tmp_path):
    home = tmp_path / "home"
    run(str(label_folder), "--data-dir", str(home))
    inputs = list(iter_corpus_inputs(home))
    assert len(inputs) == len(catalogue.versions)
    assert all(item.ok for item in inputs)
    assert {header_of(Path(item.source)) for item in inputs} == {(label.set_id, label.version) for label in catalogue.latest()}

    every = list(iter_corpus_inputs(home, all_versions=True))
    assert len(every) == len(catalogue.versions) + 1

    chosen = list(iter_corpus_inputs(home, set_ids=[INOMAX.upper(), "00000000-0000-0000-0000-000000000000"]))
    assert [item.ok for item in chosen] == [False, True]
    assert "not in the corpus" in chosen[0].error.reason
    assert chosen[1].data == (home / "spl" / INOMAX / "14.xml").read_bytes()


def test_missing_corpus_is_input_error(tmp_path):
    with pytest.raises(InputError, match="corpus database not found"):
        list(iter_corpus_inputs(tmp_path / "nothing"))
    with pytest.raises(InputError, match="label not in the corpus"):
        with open_corpus(tmp_path / "empty") as corpus:
            corpus.path_for(INOMAX)


def test_iter_inputs_mixes_corpus_and_paths(label_folder, catalogue, tmp_path):
    home = tmp_path / "home"
    run(str(label_folder), "--data-dir", str(home))
    everything = list(iter_inputs(["corpus:"], home))
    assert len(everything) == len(catalogue.versions)
    mixed = list(iter_inputs([f"corpus:{INOMAX}", label_folder / "old"], home))
    assert [Path(item.source).name for item in mixed] == ["14.xml", f"{INOMAX}_v2.xml"]
    assert all(item.ok for item in mixed)
