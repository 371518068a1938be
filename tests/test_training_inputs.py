"""Training inputs: SPL paths, datasets and the fetched corpus."""

from __future__ import annotations


def test_corpus_input_reads_fetched_labels(fixtures_dir, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from admelabel.cli import app
    from admelabel.training.inputs import load_training_examples

    home = tmp_path / "home"
    fetched = CliRunner().invoke(app, ["fetch", str(fixtures_dir / "spl"), "--data-dir", str(home)])
    assert fetched.exit_code == 0, fetched.output
    monkeypatch.setenv("ADMELABEL_HOME", str(home))
    from_corpus, summary = load_training_examples(["corpus:"])
    from_folder, _ = load_training_examples([fixtures_dir / "spl"])
    assert sorted(e.id for e in from_corpus) == sorted(e.id for e in from_folder)
    assert summary["inputs"] == ["corpus:"]
