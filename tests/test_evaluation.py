"""Metrics on a fixed confusion matrix, the comparison report, JSON and plots."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from admelabel.evaluation import ComparisonReport, compute_metrics, mean_sem, save_plots

LABELS3 = ["A", "B", "C"]
MATRIX = [[5, 1, 0],
          [2, 3, 1],
          [0, 1, 2]]


def _pairs_from_matrix(matrix, labels):
    y_true, y_pred = [], []
    for row, true in enumerate(labels):
        for column, predicted in enumerate(labels):
            y_true += [true] * matrix[row][column]
            y_pred += [predicted] * matrix[row][column]
    return y_true, y_pred


def test_metrics_match_hand_computed_values():
    y_true, y_pred = _pairs_from_matrix(MATRIX, LABELS3)
    metrics = compute_metrics(y_true, y_pred, LABELS3, majority_label="A")

    assert metrics["confusion_matrix"] == MATRIX
    assert metrics["n"] == 15
    assert metrics["micro_f1"] == pytest.approx(10 / 15)
    assert metrics["per_class_f1"]["A"] == pytest.approx(10 / 13)
    assert metrics["per_class_f1"]["B"] == pytest.approx(6 / 11)
    assert metrics["per_class_f1"]["C"] == pytest.approx(4 / 6)
    assert metrics["macro_f1"] == pytest.approx((10 / 13 + 6 / 11 + 4 / 6) / 3)
    assert metrics["minority_micro_f1"] == pytest.approx(10 / 17)
    assert metrics["majority_label"] == "A"


def test_minority_f1_defaults_to_most_frequent_true_class():
    y_true = ["B", "B", "B", "A", "C"]
    y_pred = ["B", "A", "B", "A", "B"]
    metrics = compute_metrics(y_true, y_pred, LABELS3)

    assert metrics["majority_label"] == "B"
    # A and C pooled: tp 1 (A), fp 1 (A predicted for a B), fn 1 (C predicted B).
    assert metrics["minority_micro_f1"] == pytest.approx(2 / 4)


def test_class_absent_from_both_sides_scores_zero():
    metrics = compute_metrics(["A", "B"], ["A", "B"], LABELS3)

    assert metrics["per_class_f1"]["C"] == 0.0
    assert metrics["macro_f1"] == pytest.approx(2 / 3)
    assert metrics["micro_f1"] == 1.0


@pytest.mark.parametrize(
    ("y_true", "y_pred", "message"),
    [(["A"], ["A", "B"], "equal length"),
     ([], [], "empty"),
     (["A"], ["Z"], "not among")],
)
def test_metrics_reject_invalid_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=message):
        compute_metrics(y_true, y_pred, LABELS3)


def test_mean_sem_uses_sample_deviation():
    mean, sem = mean_sem([0.8, 0.9, 1.0])

    assert mean == pytest.approx(0.9)
    assert sem == pytest.approx(0.1 / math.sqrt(3))
    assert mean_sem([0.5]) == (0.5, 0.0)


def _report():
    report = ComparisonReport(split_name="dedup", protocol="holdout", methods=["vanilla", "lp-ft"],
                              labels=LABELS3, seeds=[0, 1])
    report.splits.append({"index": 0, "n_train": 40, "n_test": 15, "overlap": 2, "train_class_counts": {}})
    y_true, y_pred = _pairs_from_matrix(MATRIX, LABELS3)
    perfect = compute_metrics(y_true, y_true, LABELS3, majority_label="A")
    for seed, metrics in enumerate([compute_metrics(y_true, y_pred, LABELS3, majority_label="A"), perfect]):
        report.runs.append({"method": "vanilla", "split": 0, "seed": seed, "metrics": metrics})
        report.runs.append({"method": "lp-ft", "split": 0, "seed": seed, "metrics": perfect})
    return report


def test_report_summary_is_mean_and_sem_over_runs():
    summary = _report().summary()

    assert summary["vanilla"]["n_runs"] == 2
    assert summary["vanilla"]["micro_f1"]["mean"] == pytest.approx((10 / 15 + 1) / 2)
    assert summary["vanilla"]["micro_f1"]["sem"] == pytest.approx(np.std([10 / 15, 1], ddof=1) / math.sqrt(2))
    assert summary["lp-ft"]["micro_f1"] == {"mean": 1.0, "sem": 0.0}
    assert summary["vanilla"]["per_class_f1"]["B"]["mean"] == pytest.approx((6 / 11 + 1) / 2)
    assert summary["vanilla"]["confusion_matrix"] == (np.array(MATRIX) + np.diag([6, 6, 3])).tolist()


def test_report_caption_json_and_table():
    from rich.console import Console

    report = _report()
    data = json.loads(json.dumps(report.to_dict()))
    console = Console(width=200, record=True)
    console.print(report.to_table())
    text = console.export_text()

    assert "split: dedup" in report.caption()
    assert "test texts also in training: 2/15" in report.caption()
    assert data["summary"]["lp-ft"]["macro_f1"]["mean"] == 1.0
    assert len(data["runs"]) == 4
    assert "0.8333 ± 0.1667" in text
    assert "split: dedup" in text
    assert ComparisonReport.from_dict(data).summary() == report.summary()
    markdown = report.to_markdown().splitlines()
    assert markdown[0].startswith("| method | runs | micro-F1 |")
    assert markdown[2].startswith("| vanilla | 2 | 0.8333 ± 0.1667 |")


def test_save_plots_writes_png_files(tmp_path):
    paths = save_plots(_report(), tmp_path / "plots")

    assert sorted(path.name for path in paths) == ["confusion_lp-ft.png", "confusion_vanilla.png", "per_class_f1.png"]
    for path in paths:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
