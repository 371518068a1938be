"""extract_dataset and the extract command over files, folders, zips and bad input."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel import LABELS
from admelabel.cli import app
from admelabel.errors import SPLError
from admelabel.extract import RECORD_FIELDS, extract_dataset, extract_records

runner = CliRunner()


@pytest.fixture()
def spl_dir(fixtures_dir) -> Path:
    return fixtures_dir / "spl"


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_folder_and_summary(spl_dir, tmp_path):
    out = tmp_path / "adme.jsonl"
    summary = extract_dataset([spl_dir], out)
    lines = out.read_text().splitlines()
    assert len(lines) == summary.paragraphs == 32
    assert summary.labels_read == 6
    assert summary.labels_with_pk == 5
    assert summary.labels_without_pk == [str(spl_dir / "no_pk.xml")]
    assert summary.failures == []
    assert set(json.loads(lines[0])) == set(RECORD_FIELDS)
    assert summary.found_by["clinical-pharmacology-title"] == 1


def test_nested_release_zip(spl_dir, tmp_path):
    # DailyMed release layout: prescription/<label>.zip, each holding the XML and images.
    inner = {
        f"prescription/{path.stem}.zip": zip_bytes({f"{path.stem}.xml": path.read_bytes(), "image.jpg": b"\xff\xd8"})
        for path in sorted(spl_dir.glob("*.xml"))
    }
    release = tmp_path / "dm_spl_release_human_rx_part1.zip"
    release.write_bytes(zip_bytes(inner))
    from_zip = [r["id"] for r in extract_records([release])]
    from_folder = [r["id"] for r in extract_records([spl_dir])]
    assert from_zip == from_folder
    source = next(extract_records([release]))["source"]
    assert source.startswith(str(release) + "!prescription/")
    assert source.count("!") == 2


def test_bad_inputs_reported_and_batch_continues(spl_dir, tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.xml").write_bytes(b"")
    (bad / "broken.xml").write_bytes(b"<document xmlns='urn:hl7-org:v3'><oops></document>")
    (bad / "other.xml").write_bytes(b"<spls><spl/></spls>")
    (bad / "bomb.xml").write_bytes(b'<!DOCTYPE d [<!ENTITY a "a">]><document xmlns="urn:hl7-org:v3">&a;</document>')
    (bad / "noxml.zip").write_bytes(zip_bytes({"readme.txt": b"hello"}))
    (bad / "truncated.zip").write_bytes(zip_bytes({"a.xml": b"<x/>" * 1000})[:60])
    out = tmp_path / "out.jsonl"
    summary = extract_dataset([spl_dir / "titled_subsections.xml", bad, tmp_path / "missing.xml"], out)
    reasons = {Path(source.split("!")[0]).name: reason for source, reason in summary.failures}
    assert reasons["empty.xml"] == "file is empty"
    assert reasons["broken.xml"].startswith("malformed XML")
    assert reasons["other.xml"].startswith("not an SPL document")
    assert "entities" in reasons["bomb.xml"]
    assert reasons["noxml.zip"] == "zip file contains no .xml or .zip members"
    assert "zip" in reasons["truncated.zip"]
    assert reasons["missing.xml"] == "file or folder not found"
    assert summary.labels_read == 1
    assert len(out.read_text().splitlines()) == 10


def test_nothing_readable_raises_and_writes_nothing(tmp_path):
    (tmp_path / "empty.xml").write_bytes(b"")
    out = tmp_path / "out.jsonl"
    with pytest.raises(SPLError, match="no SPL label could be read"):
        extract_dataset([tmp_path / "empty.xml"], out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [tmp_path / "empty.xml"]


def test_output_replaced_atomically(spl_dir, tmp_path):
    out = tmp_path / "out.jsonl"
    out.write_text("previous content\n")
    extract_dataset([spl_dir / "old_format.xml"], out)
    assert len(out.read_text().splitlines()) == 2
    assert [p.name for p in tmp_path.iterdir()] == ["out.jsonl"]


def test_csv_output(spl_dir, tmp_path):
    out = tmp_path / "out.csv"
    extract_dataset([spl_dir / "titled_subsections.xml"], out, fmt="csv")
    rows = list(csv.DictReader(out.open()))
    assert list(rows[0]) == list(RECORD_FIELDS)
    assert rows[6]["section_path"] == "12.3 Pharmacokinetics > Elimination > Metabolism"
    assert rows[6]["label"] == "Metabolism"


def test_cli_extract_prints_summary(spl_dir, tmp_path):
    out = tmp_path / "adme.jsonl"
    result = runner.invoke(app, ["extract", str(spl_dir), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "labels read" in result.output
    assert "Wrote 32 paragraphs" in result.output
    assert f"no PK section (LOINC 43682-4): {spl_dir / 'no_pk.xml'}" in result.output
    for label in LABELS:
        assert label in result.output


def test_cli_extract_exit_code_on_failure(spl_dir, tmp_path):
    out = tmp_path / "adme.jsonl"
    (tmp_path / "broken.xml").write_text("<document")
    result = runner.invoke(app, ["extract", str(spl_dir / "old_format.xml"), str(tmp_path / "broken.xml"), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert f"failed: {tmp_path / 'broken.xml'}: malformed XML" in result.output
    assert out.exists()


def test_cli_extract_rejects_bad_format(spl_dir, tmp_path):
    result = runner.invoke(app, ["extract", str(spl_dir), "--out", str(tmp_path / "x"), "--format", "xlsx"])
    assert result.exit_code == 2
    assert "--format must be jsonl or csv, got 'xlsx'" in result.output


def test_cli_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.startswith("admelabel ")


def test_extract_from_fetched_corpus(spl_dir, tmp_path):
    home = tmp_path / "home"
    fetched = runner.invoke(app, ["fetch", str(spl_dir), "--data-dir", str(home)])
    assert fetched.exit_code == 0, fetched.output
    out = tmp_path / "adme.jsonl"
    result = runner.invoke(app, ["extract", "corpus:", "--data-dir", str(home), "--out", str(out)])
    assert result.exit_code == 0, result.output
    from_corpus = sorted(json.loads(line)["id"] for line in out.read_text().splitlines())
    from_folder = sorted(r["id"] for r in extract_records([spl_dir]))
    assert from_corpus == from_folder
    one = runner.invoke(app, ["extract", "corpus:55555555-5555-5555-5555-555555555555", "--data-dir", str(home), "--out", str(out)])
    assert one.exit_code == 0, one.output
    assert len(out.read_text().splitlines()) == 2


def test_output_has_umask_mode(spl_dir, tmp_path):
    import os

    out = tmp_path / "out.jsonl"
    extract_dataset([spl_dir / "old_format.xml"], out)
    from admelabel.io import _UMASK

    assert out.stat().st_mode & 0o777 == 0o666 & ~_UMASK
    assert os.access(out, os.R_OK)
