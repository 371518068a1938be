"""The `admelabel augment` command, driven through Typer's test runner."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel.cli import app

FIXTURE = Path(__file__).parent / "fixtures" / "augment_small.jsonl"
runner = CliRunner()


def read_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_eda_writes_balanced_jsonl(tmp_path):
    out = tmp_path / "eda.jsonl"
    result = runner.invoke(
        app, ["augment", str(FIXTURE), "--method", "eda", "--per-class", "4", "--copies", "2", "--no-split",
              "--cache-dir", str(tmp_path / "cache"), "--out", str(out)],
    )
    assert result.exit_code == 0, result.output

    records = read_records(out)
    assert set(records[0]) == {"id", "source_id", "label", "method", "operation", "text"}
    counts = Counter(record["label"] for record in records)
    assert set(counts) == {"Absorption", "Distribution", "Metabolism", "Excretion", "Other"}
    assert all(6 <= count <= 8 for count in counts.values()), counts
    sources = {json.loads(line)["id"]: json.loads(line) for line in FIXTURE.read_text().splitlines()}
    for record in records:
        assert record["label"] == sources[record["source_id"]]["label"]
        assert record["id"].startswith(record["source_id"] + "#aug")
        assert record["method"] == "eda"
        assert record["operation"] in {"synonym", "swap", "delete"}

    assert "Augmented examples per class" in result.output
    assert "Samples (source -> augmented)" in result.output
    assert f"wrote {len(records)} augmented examples" in result.output


def test_second_run_reads_cache(tmp_path):
    args = ["augment", str(FIXTURE), "--method", "eda", "--per-class", "2", "--no-split", "-q",
            "--cache-dir", str(tmp_path / "cache")]
    first = runner.invoke(app, [*args, "--out", str(tmp_path / "a.jsonl")])
    second = runner.invoke(app, [*args, "--out", str(tmp_path / "b.jsonl")])
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "(from the cache)" not in first.output
    assert "(from the cache)" in second.output
    assert (tmp_path / "a.jsonl").read_text() == (tmp_path / "b.jsonl").read_text()


def test_default_split_leaves_test_side_out(tmp_path):
    out = tmp_path / "eda.jsonl"
    result = runner.invoke(
        app, ["augment", str(FIXTURE), "--method", "eda", "--per-class", "2", "--test-size", "0.34", "--no-cache", "--out", str(out)],
    )
    assert result.exit_code == 0, result.output
    assert "training side of the dedup holdout split" in result.output

    from admelabel.dataset import holdout_split, load_examples

    _, test = holdout_split(load_examples(FIXTURE), test_size=0.34, seed=0, mode="dedup")
    test_ids = {example.id for example in test}
    assert test_ids
    assert not {record["source_id"] for record in read_records(out)} & test_ids


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--method", "paraphrase"], "--method must be one of backtranslate, eda, apertium, got 'paraphrase'"),
        (["--method", "eda", "--model-pairs", "de=a,b"], "--model-pairs does not apply to --method eda"),
        (["--method", "eda", "--copies", "0"], "copies must be at least 1, got 0"),
        (["--method", "eda", "--operations", "insert"], "EDA operations must be among synonym, swap, delete"),
    ],
)
def test_invalid_values_exit_2(tmp_path, extra, message):
    result = runner.invoke(app, ["augment", str(FIXTURE), "--no-split", "--no-cache", "--out", str(tmp_path / "x.jsonl"), *extra])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "x.jsonl").exists()


def test_missing_dataset_exit_2(tmp_path):
    result = runner.invoke(app, ["augment", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "x.jsonl")])
    assert result.exit_code == 2, result.output
    assert "dataset file not found" in " ".join(result.output.split())


@pytest.mark.skipif(shutil.which("apertium") is None, reason="apertium not installed")
def test_apertium_command(tmp_path):
    out = tmp_path / "apertium.jsonl"
    result = runner.invoke(app, ["augment", str(FIXTURE), "--method", "apertium", "--no-split", "--no-cache", "--out", str(out)])
    assert result.exit_code == 0, result.output
    records = read_records(out)
    assert {record["operation"] for record in records} == {"spa"}
    assert len(records) >= 15
