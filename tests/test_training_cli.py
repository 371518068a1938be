"""The train and evaluate commands on a few hundred real PK paragraphs with a one-layer MiniLM."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from admelabel import LABELS
from admelabel.cli import app

pytestmark = pytest.mark.slow

runner = CliRunner()
N_LABELS = 30


@pytest.fixture(scope="module")
def dataset(shared_spl, tmp_path_factory):
    """A dataset JSONL of the PK paragraphs of the first real labels, in file-name order."""
    from admelabel.extract import ExtractSummary, extract_records, write_records

    files = sorted(shared_spl.glob("*.xml"))[:N_LABELS]
    path = tmp_path_factory.mktemp("data") / "pk.jsonl"
    records = [r for r in extract_records(files, summary=ExtractSummary()) if r["label"] is not None]
    write_records(records, path)
    assert len(records) >= 200
    return path


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """The shipped MiniLM cut to its first layer, saved as a local folder."""
    from admelabel.training.models import load_classifier

    folder = tmp_path_factory.mktemp("model") / "minilm-1"
    model, tokenizer = load_classifier(None, LABELS, num_hidden_layers=1)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def _train_args(dataset, tiny_model, out, *extra):
    return ["train", str(dataset), "--method", "vanilla", "--model", str(tiny_model), "--epochs", "1",
            "--max-length", "32", "--threads", "2", "--out", str(out), *extra]


def test_train_writes_model_folder(dataset, tiny_model, tmp_path):
    from transformers import AutoModelForSequenceClassification

    from admelabel.training.loop import resolve_precision

    result = runner.invoke(app, _train_args(dataset, tiny_model, tmp_path / "m"))

    assert result.exit_code == 0, result.output
    assert "profile cpu; device cpu" in result.output
    assert "micro-F1" in result.output
    info = json.loads((tmp_path / "m" / "admelabel.json").read_text())
    assert info["method"] == "vanilla"
    assert info["data_fingerprint"]["split"] == "dedup"
    assert info["data_fingerprint"]["test_texts_in_train"] == 0
    assert 0.0 <= info["metrics"]["micro_f1"] <= 1.0
    assert info["settings"]["epochs"] == 1
    assert info["settings"]["stages"][0]["name"] == "finetune"
    assert info["settings"]["precision"] == resolve_precision("auto", "cpu")
    assert info["settings"]["stages"][0]["settings"]["precision"] == info["settings"]["precision"]
    assert "stage finetune: epoch 1/1 done, loss" in result.output
    assert not (tmp_path / "m.partial").exists()
    assert AutoModelForSequenceClassification.from_pretrained(tmp_path / "m").config.num_labels == len(LABELS)


def test_train_resume_continues_interrupted_run(dataset, tiny_model, tmp_path):
    result = runner.invoke(app, _train_args(dataset, tiny_model, tmp_path / "full", "--epochs", "2"))
    assert result.exit_code == 0, result.output
    full = json.loads((tmp_path / "full" / "admelabel.json").read_text())
    staging = tmp_path / "m.partial"

    # Recreate the state of a run stopped after epoch 1: rerun with a checkpoint-only copy.
    from admelabel.dataset import holdout_split, load_examples
    from admelabel.training.recipes import TrainConfig, train_classifier

    train_set, _ = holdout_split(load_examples(dataset), test_size=0.15, seed=0, mode="dedup")
    config = TrainConfig(model_name_or_path=str(tiny_model), max_length=32, epochs=2, num_threads=2,
                         checkpoint_dir=str(staging / "checkpoints"))

    def stop(event):
        if event["event"] == "epoch_end" and event["epoch"] == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train_classifier(train_set, method="vanilla", labels=LABELS, config=config, progress=stop)
    run = {"inputs": [str(dataset)], "method": "vanilla", "augment": "eda", "split": "dedup", "test_size": 0.15,
           "seed": 0, "profile": "cpu", "model": str(tiny_model), "epochs": 2, "batch_size": None, "lr": None,
           "max_length": 32, "grid": None, "out": str(tmp_path / "m")}
    (staging / "run.json").write_text(json.dumps(run))

    result = runner.invoke(app, ["train", "--resume", str(staging), "--threads", "2"])

    assert result.exit_code == 0, result.output
    resumed = json.loads((tmp_path / "m" / "admelabel.json").read_text())
    assert not staging.exists()
    assert resumed["settings"]["stages"][0]["resumed_from_epoch"] == 1
    assert resumed["settings"]["stages"][0]["epoch_losses"] == full["settings"]["stages"][0]["epoch_losses"]
    assert resumed["metrics"]["micro_f1"] == full["metrics"]["micro_f1"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [(["--lr", "-1"], "--lr must be > 0, got -1"),
     (["--epochs", "0"], "--epochs must be > 0, got 0"),
     (["--method", "mixup"], "--method must be one of"),
     (["--split", "shuffled"], "--split must be one of"),
     (["--test-size", "1.5"], "--test-size must be between 0 and 1")],
)
def test_train_rejects_invalid_options(dataset, tiny_model, tmp_path, extra, message):
    result = runner.invoke(app, _train_args(dataset, tiny_model, tmp_path / "m", *extra))

    assert result.exit_code == 2
    assert message in result.output


def test_train_reports_model_missing_offline(dataset, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(app, ["train", str(dataset), "--method", "vanilla", "--model", "example-org/no-such-encoder",
                                 "--out", str(tmp_path / "m")])

    assert result.exit_code == 2
    assert "model 'example-org/no-such-encoder' not found offline" in result.output


def test_train_reports_missing_model_folder(dataset, tmp_path):
    result = runner.invoke(app, ["train", str(dataset), "--method", "vanilla", "--model", str(tmp_path / "absent"),
                                 "--out", str(tmp_path / "m")])

    assert result.exit_code == 2
    assert "model folder not found" in result.output


def test_evaluate_writes_table_json_and_plots(dataset, tiny_model, tmp_path):
    result = runner.invoke(app, [
        "evaluate", str(dataset), "--methods", "vanilla,lp-ft", "--seed-list", "0,1", "--split", "random",
        "--model", str(tiny_model), "--epochs", "1", "--max-length", "32", "--threads", "2",
        "--json", str(tmp_path / "report.json"), "--plots", str(tmp_path / "plots"),
    ])

    assert result.exit_code == 0, result.output
    assert "split: random" in result.output
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["split"] == "random"
    assert report["seeds"] == [0, 1]
    assert len(report["runs"]) == 4
    assert report["splits"][0]["overlap"] > 0
    assert set(report["summary"]) == {"vanilla", "lp-ft"}
    assert (tmp_path / "plots" / "per_class_f1.png").is_file()
    assert (tmp_path / "plots" / "confusion_lp-ft.png").is_file()

    # A run stopped after three of its four runs left them beside --json; --resume trains only the fourth.
    partial = dict(report, runs=report["runs"][:3])
    (tmp_path / "report.holdout.partial.json").write_text(json.dumps(partial))
    resumed = runner.invoke(app, [
        "evaluate", str(dataset), "--methods", "vanilla,lp-ft", "--seed-list", "0,1", "--split", "random",
        "--model", str(tiny_model), "--epochs", "1", "--max-length", "32", "--threads", "2",
        "--json", str(tmp_path / "report.json"), "--resume",
    ])
    assert resumed.exit_code == 0, resumed.output
    assert "3 finished holdout runs read" in resumed.output
    again = json.loads((tmp_path / "report.json").read_text())
    assert again["runs"][:3] == report["runs"][:3]
    assert again["runs"][3]["metrics"] == report["runs"][3]["metrics"]
    assert not (tmp_path / "report.holdout.partial.json").exists()


def test_evaluate_resume_needs_json(dataset):
    result = runner.invoke(app, ["evaluate", str(dataset), "--methods", "vanilla", "--resume"])

    assert result.exit_code == 2
    assert "--resume needs --json" in result.output


def test_evaluate_rejects_unknown_method(dataset):
    result = runner.invoke(app, ["evaluate", str(dataset), "--methods", "vanilla,mixup"])

    assert result.exit_code == 2
    assert "--methods must list methods from" in result.output
