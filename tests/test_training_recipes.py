"""Recipes, freezing, determinism, resume and inference on a one-layer MiniLM."""

from __future__ import annotations

import pytest
import torch

from admelabel import LABELS
from admelabel.dataset import fingerprint
from admelabel.errors import DataError
from admelabel.training.freezing import set_trainable
from admelabel.training.inference import predict_labels, predict_proba
from admelabel.training.recipes import TrainConfig, train_classifier

from _training_data import make_examples, reverse_words

pytestmark = pytest.mark.slow

HEAD = {"bert.pooler.dense.weight", "bert.pooler.dense.bias", "classifier.weight", "classifier.bias"}


def _config(**changes):
    settings = dict(max_length=32, batch_size=8, epochs=1, learning_rate=5e-5, seed=0, device="cpu",
                    model_overrides={"num_hidden_layers": 2}, lp_epochs=1)
    settings.update(changes)
    return TrainConfig(**settings)


def _layer_names(model, layer):
    prefix = f"bert.encoder.layer.{layer}."
    return {name for name, _ in model.named_parameters() if name.startswith(prefix)}


@pytest.fixture(scope="module")
def train():
    return make_examples()


def test_prefinetune_stages_train_expected_parameters(train):
    augmented = reverse_words(train)
    trained = train_classifier(train, method="prefinetune-da", labels=LABELS, config=_config(), augmented=augmented)
    model = trained.model
    all_names = {name for name, _ in model.named_parameters()}
    first, second = trained.history

    assert first["name"] == "prefinetune"
    assert set(first["trainable"]) == HEAD | _layer_names(model, 1)
    assert not any(name.startswith("bert.embeddings.") for name in first["trainable"])
    assert first["settings"]["learning_rate"] == 1e-4
    assert first["settings"]["epochs"] == 1
    assert second["name"] == "finetune"
    assert set(second["trainable"]) == all_names
    assert second["settings"]["learning_rate"] == 5e-5


def test_prefinetune_uses_augmented_then_original(train):
    augmented = reverse_words(train)
    trained = train_classifier(train, method="prefinetune-da", labels=LABELS, config=_config(), augmented=augmented)
    first, second = trained.history

    assert first["data"] == "augmented"
    assert first["n_examples"] == 2 * len(train)
    assert first["data_fingerprint"] == fingerprint(augmented)
    assert second["data"] == "train"
    assert second["n_examples"] == len(train)
    assert second["data_fingerprint"] == fingerprint(train)


def test_prefinetune_without_augmented_data_fails(train):
    with pytest.raises(DataError, match="needs augmented examples"):
        train_classifier(train, method="prefinetune-da", labels=LABELS, config=_config())


def test_lp_ft_stages_train_expected_parameters(train):
    trained = train_classifier(train, method="lp-ft", labels=LABELS, config=_config(lp_lr=1e-3))
    all_names = {name for name, _ in trained.model.named_parameters()}
    probe, finetune = trained.history

    assert probe["name"] == "linear-probe"
    assert set(probe["trainable"]) == HEAD
    assert probe["settings"]["learning_rate"] == 1e-3
    assert probe["data_fingerprint"] == fingerprint(train)
    assert set(finetune["trainable"]) == all_names


@pytest.mark.parametrize("method", ["vanilla", "oversample"])
def test_single_stage_methods_train_everything(train, method):
    trained = train_classifier(train, method=method, labels=LABELS, config=_config())
    (stage,) = trained.history

    assert set(stage["trainable"]) == {name for name, _ in trained.model.named_parameters()}
    if method == "vanilla":
        assert stage["n_examples"] == len(train)
        assert stage["data_fingerprint"] == fingerprint(train)
    else:
        largest = max(sum(1 for e in train if e.label == label) for label in LABELS)
        assert stage["n_examples"] == largest * len(LABELS)


def test_frozen_parameters_do_not_change(train):
    from admelabel.training.loop import StageSettings, resolve_device, train_stage
    from admelabel.training.models import load_classifier

    model, tokenizer = load_classifier(None, LABELS, num_hidden_layers=2)
    before = {name: parameter.detach().clone() for name, parameter in model.named_parameters()}
    settings = StageSettings(name="prefinetune", trainable="top-layer", epochs=1, batch_size=8,
                             learning_rate=1e-3, max_length=32)
    result = train_stage(model, tokenizer, train, labels=LABELS, settings=settings, device=resolve_device("cpu"))

    changed = {name for name, parameter in model.named_parameters() if not torch.equal(parameter, before[name])}
    assert changed == set(result.trainable)


def test_set_trainable_rejects_unknown_stage():
    from admelabel.training.models import load_classifier

    model, _ = load_classifier(None, LABELS, num_hidden_layers=1)
    with pytest.raises(ValueError, match="freezing stage must be one of"):
        set_trainable(model, "middle")


def test_same_seed_gives_identical_weights(train):
    first = train_classifier(train, method="vanilla", labels=LABELS, config=_config(seed=3, epochs=2))
    second = train_classifier(train, method="vanilla", labels=LABELS, config=_config(seed=3, epochs=2))
    third = train_classifier(train, method="vanilla", labels=LABELS, config=_config(seed=4, epochs=2))

    first_state = first.model.state_dict()
    second_state = second.model.state_dict()
    assert all(torch.equal(first_state[name], second_state[name]) for name in first_state)
    assert first.history[0]["epoch_losses"] == second.history[0]["epoch_losses"]
    assert not torch.equal(first_state["classifier.weight"], third.model.state_dict()["classifier.weight"])


class _StopAfterFirstEpoch(Exception):
    pass


def _stop_after_first_epoch(event):
    if event["event"] == "epoch_end" and event["stage"] == "finetune" and event["epoch"] == 1:
        raise _StopAfterFirstEpoch


def test_resume_equals_uninterrupted_run(train, tmp_path):
    config = _config(epochs=2, seed=1)
    uninterrupted = train_classifier(train, method="lp-ft", labels=LABELS, config=config)

    checkpoints = tmp_path / "checkpoints"
    interrupted = _config(epochs=2, seed=1, checkpoint_dir=str(checkpoints))
    with pytest.raises(_StopAfterFirstEpoch):
        train_classifier(train, method="lp-ft", labels=LABELS, config=interrupted, progress=_stop_after_first_epoch)
    assert (checkpoints / "linear-probe.pt").is_file()
    assert (checkpoints / "finetune.pt").is_file()
    assert torch.load(checkpoints / "finetune.pt", weights_only=False)["epoch"] == 1

    events = []
    resumed = train_classifier(train, method="lp-ft", labels=LABELS,
                               config=_config(epochs=2, seed=1, checkpoint_dir=str(checkpoints), resume=True),
                               progress=events.append)

    assert [e["event"] for e in events if e["stage"] == "linear-probe"] == ["skip"]
    assert [e["epoch"] for e in events if e["event"] == "epoch_end"] == [2]
    assert resumed.history[1]["resumed_from_epoch"] == 1
    assert resumed.history[1]["epoch_losses"] == uninterrupted.history[1]["epoch_losses"]
    expected = uninterrupted.model.state_dict()
    actual = resumed.model.state_dict()
    assert all(torch.equal(expected[name], actual[name]) for name in expected)


def test_resume_rejects_checkpoint_of_other_data(train, tmp_path):
    from admelabel.errors import ModelError

    config = _config(checkpoint_dir=str(tmp_path))
    train_classifier(train, method="vanilla", labels=LABELS, config=config)
    with pytest.raises(ModelError, match="other training data"):
        train_classifier(train[:-3], method="vanilla", labels=LABELS,
                         config=_config(checkpoint_dir=str(tmp_path), resume=True))


def test_predict_proba_keeps_input_order(train):
    trained = train_classifier(train, method="vanilla", labels=LABELS, config=_config())
    texts = [e.text for e in train]
    together = predict_proba(trained.model, trained.tokenizer, texts, batch_size=4, max_length=32, precision="fp32")
    one_by_one = [predict_proba(trained.model, trained.tokenizer, [t], max_length=32, precision="fp32")[0]
                  for t in texts[:5]]

    assert together.shape == (len(texts), len(LABELS))
    assert together.sum(axis=1) == pytest.approx(1.0, abs=1e-5)
    for row, single in zip(together[:5], one_by_one):
        assert row == pytest.approx(single, abs=1e-5)
    assert predict_labels(trained.model, trained.tokenizer, texts[:2], max_length=32)[0] in LABELS
    assert predict_proba(trained.model, trained.tokenizer, []).shape == (0, len(LABELS))


@pytest.mark.parametrize(
    ("change", "message"),
    [({"learning_rate": -1}, "learning_rate must be > 0, got -1"),
     ({"epochs": 0}, "epochs must be > 0, got 0"),
     ({"max_length": 4}, "max_length must be at least 8"),
     ({"warmup_ratio": 1.5}, "warmup_ratio must be in")],
)
def test_invalid_config_is_rejected(train, change, message):
    with pytest.raises(ValueError, match=message):
        train_classifier(train, method="vanilla", labels=LABELS, config=_config(**change))


def test_unknown_method_is_rejected(train):
    with pytest.raises(ValueError, match="method must be one of"):
        train_classifier(train, method="mixup", labels=LABELS, config=_config())


def test_precision_names_resolve():
    from admelabel.training.loop import cpu_has_native_bf16, resolve_precision

    assert resolve_precision("fp32", "cpu") == "fp32"
    assert resolve_precision("bf16", "cpu") == "bf16"
    assert resolve_precision("auto", "cpu") == ("bf16" if cpu_has_native_bf16() else "fp32")
    assert resolve_precision(None, "cpu") == resolve_precision("auto", "cpu")
    with pytest.raises(ValueError, match="precision must be one of auto, bf16, fp32, got 'fp16'"):
        resolve_precision("fp16", "cpu")
    with pytest.raises(ValueError, match="precision must be one of"):
        train_classifier(make_examples(), method="vanilla", labels=LABELS, config=_config(precision="half"))


def test_bf16_training_records_precision_and_repeats(train):
    """bf16 autocast on the CPU (emulated where the CPU lacks bfloat16) is as reproducible as fp32."""
    first = train_classifier(train, method="vanilla", labels=LABELS, config=_config(precision="bf16", seed=2))
    second = train_classifier(train, method="vanilla", labels=LABELS, config=_config(precision="bf16", seed=2))
    plain = train_classifier(train, method="vanilla", labels=LABELS, config=_config(precision="fp32", seed=2))

    assert first.history[0]["settings"]["precision"] == "bf16"
    assert plain.history[0]["settings"]["precision"] == "fp32"
    first_state, second_state = first.model.state_dict(), second.model.state_dict()
    assert all(torch.equal(first_state[name], second_state[name]) for name in first_state)
    assert all(value.dtype == torch.float32 for value in first_state.values() if value.is_floating_point())
    # bf16 rounds the forward pass, so the weights differ from the fp32 run's, but only slightly.
    assert not torch.equal(first_state["classifier.weight"], plain.model.state_dict()["classifier.weight"])
    assert torch.allclose(first_state["classifier.weight"], plain.model.state_dict()["classifier.weight"], atol=1e-2)


def test_bf16_inference_close_to_fp32(train):
    trained = train_classifier(train, method="vanilla", labels=LABELS, config=_config())
    texts = [e.text for e in train]
    fp32 = predict_proba(trained.model, trained.tokenizer, texts, max_length=32, precision="fp32")
    bf16 = predict_proba(trained.model, trained.tokenizer, texts, max_length=32, precision="bf16")

    assert bf16.dtype == fp32.dtype
    assert bf16.sum(axis=1) == pytest.approx(1.0, abs=1e-5)
    assert abs(bf16 - fp32).max() < 0.05
    assert not (bf16 == fp32).all()
