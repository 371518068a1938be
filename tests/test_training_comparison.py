"""run_comparison end to end with a one-layer MiniLM, on ADME and on non-ADME labels."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from admelabel import LABELS
from admelabel.evaluation import run_comparison
from admelabel.training.recipes import TrainConfig

from _training_data import make_examples, reverse_words

pytestmark = pytest.mark.slow

CONFIG = TrainConfig(max_length=32, batch_size=8, epochs=1, device="cpu", model_overrides={"num_hidden_layers": 1})


def test_comparison_runs_every_method_and_seed():
    examples = make_examples()
    train, test = examples[::2], examples[1::2]
    calls = []

    def augment(train_part, seed):
        calls.append(seed)
        return reverse_words(list(train_part))

    report = run_comparison([(train, test)], methods=["vanilla", "prefinetune-da"], labels=LABELS, config=CONFIG,
                            seeds=[0, 1], split_name="random", augment_fn=augment)
    data = json.loads(json.dumps(report.to_dict()))

    assert calls == [0, 1]
    assert [(run["method"], run["seed"]) for run in report.runs] == [
        ("vanilla", 0), ("prefinetune-da", 0), ("vanilla", 1), ("prefinetune-da", 1)]
    assert all(run["metrics"]["n"] == len(test) for run in report.runs)
    assert report.runs[1]["n_augmented"] == 2 * len(train)
    assert report.runs[1]["stages"][0]["n_examples"] == 2 * len(train)
    assert report.splits[0]["overlap"] == 0
    assert data["summary"]["vanilla"]["n_runs"] == 2
    majority = max(LABELS, key=lambda label: sum(e.label == label for e in train))
    assert report.runs[0]["metrics"]["majority_label"] == majority


def test_comparison_accepts_other_label_sets():
    examples = [replace(e, label="pos" if e.label in ("Absorption", "Metabolism") else "neg") for e in make_examples()]
    train, test = examples[::2], examples[1::2]

    report = run_comparison([(train, test), (test, train)], methods=["lp-ft"], labels=["neg", "pos"], config=CONFIG,
                            seeds=[0], split_name="fixed", protocol="kfold")

    assert len(report.runs) == 2
    assert set(report.runs[0]["metrics"]["per_class_f1"]) == {"neg", "pos"}
    assert "2 split(s)" in report.caption()


def test_comparison_rejects_unknown_method():
    examples = make_examples()
    with pytest.raises(ValueError, match="unknown methods"):
        run_comparison([(examples, examples)], methods=["mixup"], labels=LABELS, config=CONFIG, seeds=[0],
                       split_name="random")


class _StopAfterRuns(Exception):
    pass


def test_comparison_resumes_from_partial_report():
    from admelabel.evaluation import ComparisonReport

    examples = make_examples()
    train, test = examples[::2], examples[1::2]
    saved = {}

    def stop_after_two(event):
        if event["event"] == "run_done":
            saved["report"] = json.loads(json.dumps(event["report"].to_dict()))
            if event["index"] == 2:
                raise _StopAfterRuns

    with pytest.raises(_StopAfterRuns):
        run_comparison([(train, test)], methods=["vanilla", "lp-ft"], labels=LABELS, config=CONFIG, seeds=[0, 1],
                       split_name="random", progress=stop_after_two)
    partial = ComparisonReport.from_dict(saved["report"])
    assert len(partial.runs) == 2

    started = []
    resumed = run_comparison([(train, test)], methods=["vanilla", "lp-ft"], labels=LABELS, config=CONFIG, seeds=[0, 1],
                             split_name="random", previous=partial,
                             progress=lambda event: started.append(event) if event["event"] == "run" else None)
    complete = run_comparison([(train, test)], methods=["vanilla", "lp-ft"], labels=LABELS, config=CONFIG, seeds=[0, 1],
                              split_name="random")

    assert [(e["method"], e["seed"]) for e in started] == [("vanilla", 1), ("lp-ft", 1)]
    assert [(r["method"], r["seed"]) for r in resumed.runs] == [("vanilla", 0), ("lp-ft", 0), ("vanilla", 1), ("lp-ft", 1)]
    assert [r["metrics"]["micro_f1"] for r in resumed.runs] == [r["metrics"]["micro_f1"] for r in complete.runs]


def test_comparison_resume_rejects_other_settings():
    from admelabel.errors import DataError

    examples = make_examples()
    train, test = examples[::2], examples[1::2]
    earlier = run_comparison([(train, test)], methods=["lp-ft"], labels=LABELS, config=CONFIG, seeds=[0],
                             split_name="random")

    with pytest.raises(DataError, match="other settings"):
        run_comparison([(train, test)], methods=["lp-ft"], labels=LABELS, config=replace(CONFIG, epochs=2), seeds=[0],
                       split_name="random", previous=earlier)
    other_threads = run_comparison([(train, test)], methods=["lp-ft"], labels=LABELS, config=replace(CONFIG, num_threads=1),
                                   seeds=[0], split_name="random", previous=earlier)
    assert other_threads.runs == earlier.runs
    with pytest.raises(DataError, match="split 0 of the partial report to resume contains other examples"):
        run_comparison([(train[:-2], test)], methods=["lp-ft"], labels=LABELS, config=CONFIG, seeds=[0],
                       split_name="random", previous=earlier)
