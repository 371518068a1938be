"""admelabel annotate: records, provenance, agreement, formats, resume and bad input, with a tiny real model."""

from __future__ import annotations

import csv
import io
import json
import shutil
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel import LABELS
from admelabel.annotate import (
    ANNOTATION_FIELDS,
    CSV_FIELDS,
    annotate_inputs,
    annotate_to_file,
    load_annotator,
    read_annotations,
    resolve_inputs,
    resolve_model_dir,
    rule_label_of,
)
from admelabel.cli import app
from admelabel.errors import InputError, ModelError
from admelabel.extract import extract_records

runner = CliRunner()

PROVENANCE = ("set_id", "version", "document_id", "section_path", "paragraph_index", "source")


@pytest.fixture(scope="module")
def annotator(tiny_adme_model):
    return load_annotator(tiny_adme_model, batch_size=16, device="cpu")


@pytest.fixture(scope="module")
def real_sources(shared_spl) -> list[Path]:
    """The first 30 real labels by file name: they include a label without PK and old-format labels."""
    return sorted(shared_spl.glob("*.xml"))[:30]


@pytest.fixture()
def spl_dir(fixtures_dir) -> Path:
    return fixtures_dir / "spl"


def paragraph_records(path: Path) -> list[dict]:
    return [record for record in read_annotations(path) if record["status"] == "ok"]


def test_real_labels_one_record_per_paragraph(annotator, real_sources, tmp_path):
    out = tmp_path / "adme.jsonl"
    summary = annotate_to_file(real_sources, out, annotator, workers=0)
    records = list(read_annotations(out))
    expected = list(extract_records(real_sources))

    paragraphs = [record for record in records if record["status"] == "ok"]
    assert [record["id"] for record in paragraphs] == [record["id"] for record in expected]
    assert len({record["id"] for record in paragraphs}) == len(paragraphs)
    assert summary.paragraphs == len(paragraphs)
    assert any(record["rule_id"] == "pk-intro" for record in paragraphs)

    for record, extracted in zip(paragraphs, expected):
        assert set(record) == set(ANNOTATION_FIELDS)
        for name in PROVENANCE:
            assert record[name] == extracted[name], name
        assert record["text"] == extracted["text"]
        probabilities = record["probabilities"]
        assert list(probabilities) == list(LABELS)
        assert sum(probabilities.values()) == pytest.approx(1.0, abs=1e-3)
        assert record["predicted"] == max(probabilities, key=probabilities.get)
        assert record["confidence"] == probabilities[record["predicted"]]
        assert record["model"] == "tiny-adme"


def test_real_labels_without_pk_listed(annotator, real_sources, shared_spl, tmp_path):
    manifest = {row["file"]: row for row in csv.DictReader((shared_spl / "MANIFEST.tsv").open(encoding="utf-8"), delimiter="\t")}
    without = sorted(str(path) for path in real_sources if manifest[path.name]["has_43682_4"] == "no")
    assert without, "the first 30 labels should include one without 43682-4"

    out = tmp_path / "adme.jsonl"
    summary = annotate_to_file(real_sources, out, annotator)
    no_pk_records = [record for record in read_annotations(out) if record["status"] == "no_pk_section"]

    assert summary.labels_read == len(real_sources)
    assert {record["source"] for record in no_pk_records} == set(summary.labels_without_pk)
    assert len(no_pk_records) == len(summary.labels_without_pk)
    for record in no_pk_records:
        assert record["set_id"] and record["version"]
        assert record["predicted"] is None
        assert record["text"] is None
    # An old-format label without 43682-4 may still have PK text under Clinical Pharmacology,
    # so only some of the manifest's "no" labels are expected among the labels without PK.
    assert set(summary.labels_without_pk) <= set(without)


def test_agreement_with_heading_rules(annotator, spl_dir):
    summary_counts = {label: [0, 0] for label in LABELS}
    results = list(annotate_inputs(resolve_inputs([spl_dir]), annotator, include_tables=True))
    records = [record for result in results if result.status == "ok" for record in result.records]
    extracted = {record["id"]: record for record in extract_records([spl_dir], include_tables=True)}
    assert len(records) == len(extracted) == 33

    for record in records:
        source = extracted[record["id"]]
        if source["rule_id"] == "pk-intro":
            assert record["rule_label"] is None
            assert record["agrees"] is None
        else:
            assert record["rule_label"] == source["label"]
            assert record["agrees"] is (record["predicted"] == source["label"])
            summary_counts[source["label"]][0] += record["predicted"] == source["label"]
            summary_counts[source["label"]][1] += 1

    from admelabel.annotate import AnnotateSummary

    summary = AnnotateSummary()
    for result in results:
        summary.add(result)
    assert summary.agreement == summary_counts
    assert summary.no_heading == 4
    assert sum(total for _, total in summary.agreement.values()) == 29


def test_rule_label_of_intro_is_none():
    assert rule_label_of({"rule_id": "pk-intro", "label": "Other"}) is None
    assert rule_label_of({"rule_id": "other-heading", "label": "Other"}) == "Other"
    assert rule_label_of({"rule_id": "metabolism-heading", "label": "Metabolism"}) == "Metabolism"


def test_tables_only_with_flag(annotator, spl_dir, tmp_path):
    without = paragraph_records(_annotate(annotator, [spl_dir / "titled_subsections.xml"], tmp_path / "a.jsonl"))
    with_tables = paragraph_records(_annotate(annotator, [spl_dir / "titled_subsections.xml"], tmp_path / "b.jsonl", include_tables=True))
    assert "table" not in {record["block_kind"] for record in without}
    assert [record["block_kind"] for record in with_tables].count("table") == 1
    assert len(with_tables) == len(without) + 1


def _annotate(annotator, paths, out, **options):
    annotate_to_file(paths, out, annotator, **options)
    return out


def test_workers_match_in_process(annotator, real_sources, tmp_path):
    serial = list(annotate_inputs(resolve_inputs(real_sources[:12]), annotator, workers=0, chunk_size=5))
    parallel = list(annotate_inputs(resolve_inputs(real_sources[:12]), annotator, workers=2, chunk_size=5))
    assert [result.source for result in parallel] == [str(path) for path in real_sources[:12]]
    assert [(r.source, r.status) for r in serial] == [(r.source, r.status) for r in parallel]
    serial_records = [(rec["id"], rec["predicted"]) for r in serial for rec in r.records]
    parallel_records = [(rec["id"], rec["predicted"]) for r in parallel for rec in r.records]
    assert serial_records == parallel_records


def test_csv_matches_jsonl(annotator, spl_dir, tmp_path):
    jsonl = _annotate(annotator, [spl_dir], tmp_path / "adme.jsonl")
    table = _annotate(annotator, [spl_dir], tmp_path / "adme.csv")

    with table.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        assert tuple(reader.fieldnames) == CSV_FIELDS
        rows = list(reader)
    from_json = list(read_annotations(jsonl))
    assert len(rows) == len(from_json) == 32 + 1
    for row, record in zip(rows, from_json):
        assert row["id"] == record["id"]
        assert row["status"] == record["status"]
        if record["status"] == "ok":
            assert row["predicted"] == record["predicted"]
            assert float(row[f"p_{record['predicted']}"]) == record["confidence"]
            assert row["agrees"] == {True: "true", False: "false", None: ""}[record["agrees"]]
    keys = ("id", "status", "predicted", "confidence", "probabilities", "rule_label", "agrees", "section_path", "paragraph_index", "set_id", "version")
    read_back = [{key: record[key] for key in keys} for record in read_annotations(table)]
    assert read_back == [{key: record[key] for key in keys} for record in from_json]


def test_zip_and_set_id_inputs(annotator, spl_dir, tmp_path):
    direct = paragraph_records(_annotate(annotator, [spl_dir / "untitled_subsections.xml"], tmp_path / "direct.jsonl"))
    set_id = direct[0]["set_id"]
    version = direct[0]["version"]

    inner = io.BytesIO()
    with zipfile.ZipFile(inner, "w") as archive:
        archive.write(spl_dir / "untitled_subsections.xml", "label.xml")
    with zipfile.ZipFile(tmp_path / "release.zip", "w") as archive:
        archive.writestr("prescription/label.zip", inner.getvalue())
    zipped = paragraph_records(_annotate(annotator, [tmp_path / "release.zip"], tmp_path / "zipped.jsonl"))

    corpus = tmp_path / "corpus"
    fetched = runner.invoke(app, ["fetch", str(spl_dir), "--data-dir", str(corpus)])
    assert fetched.exit_code == 0, fetched.output
    by_id = paragraph_records(_annotate(annotator, [set_id], tmp_path / "by_id.jsonl", data_dir=corpus))
    whole_corpus = paragraph_records(_annotate(annotator, ["corpus:"], tmp_path / "corpus.jsonl", data_dir=corpus))

    assert [(r["id"], r["predicted"]) for r in zipped] == [(r["id"], r["predicted"]) for r in direct]
    assert [(r["id"], r["predicted"]) for r in by_id] == [(r["id"], r["predicted"]) for r in direct]
    assert zipped[0]["source"].endswith("release.zip!prescription/label.zip!label.xml")
    assert by_id[0]["source"] == str(corpus / "spl" / set_id / f"{version}.xml")
    assert len(whole_corpus) == 32


def test_unknown_set_id_fails_alone(annotator, spl_dir, tmp_path):
    unknown = "12345678-1234-1234-1234-123456789abc"
    no_corpus = annotate_to_file([spl_dir / "old_format.xml", unknown], tmp_path / "a.jsonl", annotator, data_dir=tmp_path / "none")
    assert no_corpus.labels_read == 1
    assert len(no_corpus.failures) == 1
    assert "fetch the labels with 'admelabel fetch'" in no_corpus.failures[0][1]

    corpus = tmp_path / "corpus"
    assert runner.invoke(app, ["fetch", str(spl_dir / "inline_leads.xml"), "--data-dir", str(corpus)]).exit_code == 0
    missing = annotate_to_file([unknown, spl_dir / "old_format.xml"], tmp_path / "b.jsonl", annotator, data_dir=corpus)
    assert missing.labels_read == 1
    assert [source for source, _ in missing.failures] == [unknown]
    assert "not in the corpus" in missing.failures[0][1]


class Interrupted(Exception):
    pass


def test_resume_after_interruption(annotator, real_sources, tmp_path):
    full = tmp_path / "full.jsonl"
    full_summary = annotate_to_file(real_sources, full, annotator, chunk_size=4)
    expected = [(record["id"], record["predicted"]) for record in read_annotations(full)]

    out = tmp_path / "adme.jsonl"
    seen = []

    def stop_after_ten(result):
        seen.append(result.source)
        if len(seen) == 10:
            raise Interrupted

    with pytest.raises(Interrupted):
        annotate_to_file(real_sources, out, annotator, chunk_size=4, on_label=stop_after_ten)
    assert not out.exists()
    assert out.with_name("adme.jsonl.partial").exists()

    summary = annotate_to_file(real_sources, out, annotator, chunk_size=4, resume=True)
    resumed = [(record["id"], record["predicted"]) for record in read_annotations(out)]
    assert sorted(resumed) == sorted(expected)
    assert len(set(resumed)) == len(resumed)
    assert summary.labels_skipped == 8  # two chunks of four were committed before the interruption
    assert not out.with_name("adme.jsonl.partial").exists()
    # The summary of the resumed run describes the whole file, as the uninterrupted run's does.
    assert summary.paragraphs == full_summary.paragraphs
    assert summary.labels_read == full_summary.labels_read
    assert summary.labels_with_pk == full_summary.labels_with_pk
    assert sorted(summary.labels_without_pk) == sorted(full_summary.labels_without_pk)
    assert summary.per_class == full_summary.per_class
    assert summary.agreement == full_summary.agreement


def test_resume_finished_run_adds_new_labels(annotator, spl_dir, tmp_path):
    out = tmp_path / "adme.csv"
    first = annotate_to_file([spl_dir / "inline_leads.xml"], out, annotator)
    second = annotate_to_file([spl_dir / "inline_leads.xml", spl_dir / "old_format.xml"], out, annotator, resume=True)
    ids = [record["id"] for record in read_annotations(out)]
    assert first.paragraphs == 9
    assert second.labels_skipped == 1
    assert second.labels_with_pk == 2
    assert second.paragraphs == 11  # 9 kept from the first run, 2 new
    assert len(ids) == len(set(ids)) == 11


def test_resume_with_other_model_rejected(annotator, tiny_adme_model, spl_dir, tmp_path):
    out = tmp_path / "adme.jsonl"
    annotate_to_file([spl_dir / "inline_leads.xml"], out, annotator)
    other_dir = tmp_path / "other-model"
    shutil.copytree(tiny_adme_model, other_dir)
    other = load_annotator(other_dir)
    with pytest.raises(InputError, match="another model"):
        annotate_to_file([spl_dir / "inline_leads.xml"], out, other, resume=True)
    with pytest.raises(InputError, match="another --tables setting"):
        annotate_to_file([spl_dir / "inline_leads.xml"], out, annotator, resume=True, include_tables=True)


def test_model_folder_errors(tmp_path, tiny_adme_model):
    with pytest.raises(ModelError, match="model folder not found"):
        load_annotator(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ModelError, match="admelabel.json is missing"):
        load_annotator(tmp_path / "plain")
    other_task = tmp_path / "sentiment"
    shutil.copytree(tiny_adme_model, other_task)
    info = json.loads((other_task / "admelabel.json").read_text())
    info["labels"] = ["negative", "positive", "a", "b", "c"]
    (other_task / "admelabel.json").write_text(json.dumps(info))
    with pytest.raises(ModelError, match="not the ADME classes"):
        load_annotator(other_task)
    with pytest.raises(ModelError, match="run 'admelabel train'"):
        resolve_model_dir(None, tmp_path / "models")


def test_newest_model_is_default(tiny_adme_model, tmp_path):
    models = tmp_path / "models"
    for name, created in (("older", "2026-01-01T00:00:00+00:00"), ("newer", "2026-06-01T00:00:00+00:00")):
        shutil.copytree(tiny_adme_model, models / name)
        info = json.loads((models / name / "admelabel.json").read_text())
        info["created"] = created
        (models / name / "admelabel.json").write_text(json.dumps(info))
    (models / "newest.partial").mkdir()
    assert resolve_model_dir(None, models) == models / "newer"


# ----------------------------------------------------------------------------- the command


def test_cli_bad_inputs_carry_on(tiny_adme_model, spl_dir, tmp_path):
    (tmp_path / "notes.xml").write_text("these are notes, not XML")
    (tmp_path / "broken.xml").write_text("<document xmlns='urn:hl7-org:v3'><component>")
    (tmp_path / "empty.xml").write_text("")
    out = tmp_path / "adme.jsonl"
    inputs = [str(spl_dir / "inline_leads.xml"), str(tmp_path / "notes.xml"), str(tmp_path / "broken.xml"), str(tmp_path / "empty.xml"), str(spl_dir / "no_pk.xml")]

    result = runner.invoke(app, ["annotate", *inputs, "--model", str(tiny_adme_model), "--out", str(out), "--workers", "0"])

    assert result.exit_code == 1, result.output
    failed_lines = [line for line in result.output.splitlines() if line.startswith("failed:")]
    assert len(failed_lines) == 3
    for name in ("notes.xml", "broken.xml", "empty.xml"):
        assert sum(name in line for line in failed_lines) == 1
    assert f"no PK section (LOINC 43682-4): {spl_dir / 'no_pk.xml'}" in result.output
    records = list(read_annotations(out))
    assert [r["status"] for r in records].count("ok") == 9
    assert [r["status"] for r in records].count("no_pk_section") == 1


def test_cli_nothing_readable_exit_two(tiny_adme_model, tmp_path):
    (tmp_path / "notes.xml").write_text("these are notes, not XML")
    for extra in ([], ["--out", str(tmp_path / "adme.jsonl")]):
        result = runner.invoke(app, ["annotate", str(tmp_path / "notes.xml"), "--model", str(tiny_adme_model), "--workers", "0", *extra])
        assert result.exit_code == 2, result.output
        assert "no SPL label could be read" in result.output
        assert "notes.xml: malformed XML" in result.output
    assert not (tmp_path / "adme.jsonl").exists()


def test_cli_good_batch_exit_zero(tiny_adme_model, spl_dir, tmp_path):
    out = tmp_path / "adme.csv"
    summary_json = tmp_path / "summary.json"
    result = runner.invoke(app, ["annotate", str(spl_dir), "--model", str(tiny_adme_model), "--out", str(out), "--summary-json", str(summary_json)])
    assert result.exit_code == 0, result.output
    summary = json.loads(summary_json.read_text())
    assert summary["paragraphs"] == 32
    assert summary["labels_without_pk"] == [str(spl_dir / "no_pk.xml")]
    assert sum(summary["per_class"].values()) == 32
    assert f"Wrote 32 paragraphs to {out}" in result.output


def test_cli_missing_model_exit_two(tmp_path, spl_dir):
    result = runner.invoke(app, ["annotate", str(spl_dir), "--model", str(tmp_path / "nope")])
    assert result.exit_code == 2
    assert "model folder not found" in result.output
    result = runner.invoke(app, ["annotate", str(spl_dir), "--models-dir", str(tmp_path / "models")])
    assert result.exit_code == 2
    assert "run 'admelabel train' first" in result.output


def test_cli_terminal_tables(tiny_adme_model, spl_dir):
    result = runner.invoke(app, ["annotate", str(spl_dir / "untitled_subsections.xml"), "--model", str(tiny_adme_model)], terminal_width=160)
    assert result.exit_code == 0, result.output
    assert "Annotation summary" in result.output
    assert "paragraphs annotated" in result.output
    assert "set id" in result.output
    assert "no heading" in result.output


def test_cli_jsonl_to_stdout(tiny_adme_model, spl_dir):
    result = runner.invoke(app, ["annotate", str(spl_dir / "old_format.xml"), "--model", str(tiny_adme_model), "--format", "jsonl", "--quiet"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines() if line.startswith("{")]
    assert len(lines) == 2
    assert {line["rule_label"] for line in lines} == {"Distribution", "Excretion"}


def test_streaming_reads_two_chunks_ahead(annotator, spl_dir):
    from admelabel.spl.sources import iter_spl_inputs

    consumed = []

    def inputs():
        for number in range(10):
            for item in iter_spl_inputs([spl_dir / "old_format.xml"]):
                consumed.append(number)
                yield item

    stream = annotate_inputs(inputs(), annotator, chunk_size=2)
    first = next(stream)
    assert first.status == "ok"
    assert len(consumed) == 4  # the chunk being classified and the next one being parsed
    rest = list(stream)
    assert len(rest) == 9
    assert len(consumed) == 10


def test_cli_resume_and_option_errors(tiny_adme_model, spl_dir, tmp_path):
    model = ["--model", str(tiny_adme_model)]
    report = tmp_path / "report.html"
    first = runner.invoke(app, ["annotate", str(spl_dir / "inline_leads.xml"), *model, "--out", str(report)])
    assert first.exit_code == 0, first.output
    assert report.read_text(encoding="utf-8").count('<tr class="p"') == 9

    again = runner.invoke(app, ["annotate", str(spl_dir / "inline_leads.xml"), *model, "--out", str(report), "--resume"])
    assert again.exit_code == 2
    assert "cannot extend a finished HTML report" in again.output

    out = tmp_path / "adme.jsonl"
    assert runner.invoke(app, ["annotate", str(spl_dir / "inline_leads.xml"), *model, "--out", str(out)]).exit_code == 0
    resumed = runner.invoke(app, ["annotate", str(spl_dir), *model, "--out", str(out), "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert "labels already done (--resume)" in resumed.output
    ids = [record["id"] for record in read_annotations(out)]
    assert len(ids) == len(set(ids)) == 32 + 1

    no_out = runner.invoke(app, ["annotate", str(spl_dir), *model, "--format", "html"])
    assert no_out.exit_code == 2
    assert "--format html needs --out" in no_out.output
    bad_threshold = runner.invoke(app, ["annotate", str(spl_dir), *model, "--low-confidence", "1.5"])
    assert bad_threshold.exit_code == 2
    assert "--low-confidence must be between 0 and 1, got 1.5" in bad_threshold.output


def test_repeated_texts_run_through_the_model_once(tiny_adme_model, monkeypatch):
    """Spies on the model call (a wrapper around the real one) to count the texts it gets."""
    import admelabel.annotate as annotate_module
    from admelabel.training.inference import predict_proba

    annotator = load_annotator(tiny_adme_model, batch_size=4, device="cpu", precision="fp32")
    annotator.cache_size = 3
    seen: list[str] = []

    def counting(model, tokenizer, texts, **options):
        seen.extend(texts)
        return predict_proba(model, tokenizer, texts, **options)

    monkeypatch.setattr(annotate_module, "_predict_proba", counting)
    texts = ["Absorption is rapid.", "It is excreted in urine.", "Absorption is rapid.", "CYP3A4 metabolizes it."]
    first = annotator.predict_proba(texts)
    assert seen == ["Absorption is rapid.", "It is excreted in urine.", "CYP3A4 metabolizes it."]
    assert (first[0] == first[2]).all()
    direct = predict_proba(annotator.model, annotator.tokenizer, texts, max_length=annotator.max_length, precision="fp32")
    assert first == pytest.approx(direct, abs=1e-5)

    seen.clear()
    again = annotator.predict_proba(["CYP3A4 metabolizes it.", "Protein binding is 90%."])
    assert seen == ["Protein binding is 90%."]
    assert again[0] == pytest.approx(first[3])
    assert len(annotator._cache) == 3
    assert "It is excreted in urine." not in annotator._cache  # the least recently used text went first
    assert annotator.predict_proba([]).shape == (0, len(LABELS))


def test_unknown_precision_rejected(tiny_adme_model):
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32"):
        load_annotator(tiny_adme_model, precision="int8")
