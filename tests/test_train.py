"""Tests for fitting, early stopping, metrics and splitting."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqsal.errors import SeqsalError
from seqsal.models import EnhancerCNN, ModelConfig, predict
from seqsal.train import TrainResult, evaluate_predictions, fit, train_valid_split

TINY = ModelConfig(input_length=32, conv_channels=(8, 8), kernel_sizes=(5, 3), dense_units=(16,))


def motif_dataset(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Random sequences; label 1 when ``GGGG`` is planted at positions 10-13 (trivially learnable)."""
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 4, 32), dtype=np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, 32)), np.arange(32)] = 1
    y = (np.arange(n) % 2).astype(np.float32)
    X[y == 1, :, 10:14] = 0
    X[y == 1, 2, 10:14] = 1
    return X, y


def tiny_model(seed: int = 0, **overrides) -> EnhancerCNN:
    torch.manual_seed(seed)
    return EnhancerCNN(ModelConfig(**{**TINY.to_dict(), **overrides}))


def test_fit_learns_a_planted_motif():
    X_train, y_train = motif_dataset(256, seed=1)
    X_valid, y_valid = motif_dataset(64, seed=2)
    model = tiny_model()
    result = fit(
        model, X_train, y_train, X_valid, y_valid, lr=1e-2, max_epochs=4, batch_size=32, progress=False, device="cpu"
    )
    assert isinstance(result, TrainResult)
    assert not model.training
    assert result.history[result.best_epoch - 1]["valid_auroc"] > 0.9
    assert set(result.history[0]) == {"epoch", "train_loss", "valid_loss", "valid_auroc", "valid_auprc", "seconds"}
    scores = evaluate_predictions(y_valid, predict(model, X_valid, device="cpu"), "classification")
    assert scores["auroc"] > 0.9


def test_fit_regression_reports_mse_and_pearson():
    X_train, y_train = motif_dataset(64, seed=1)
    X_valid, y_valid = motif_dataset(32, seed=2)
    model = tiny_model(task="regression")
    result = fit(
        model, X_train, 3 * y_train, X_valid, 3 * y_valid, max_epochs=2, batch_size=32, progress=False, device="cpu"
    )
    assert {"valid_mse", "valid_pearson"} <= set(result.history[-1])


def test_same_seed_gives_identical_weights():
    X_train, y_train = motif_dataset(64, seed=1)
    X_valid, y_valid = motif_dataset(16, seed=2)
    states = []
    for _ in range(2):
        model = tiny_model(seed=0)
        fit(model, X_train, y_train, X_valid, y_valid, max_epochs=2, batch_size=16, random_state=3, progress=False,
            device="cpu")
        states.append(model.state_dict())
    for key in states[0]:
        assert torch.equal(states[0][key], states[1][key]), key


def test_fit_leaves_global_rng_untouched():
    X_train, y_train = motif_dataset(32, seed=1)
    X_valid, y_valid = motif_dataset(16, seed=2)
    model = tiny_model()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    fit(model, X_train, y_train, X_valid, y_valid, max_epochs=1, progress=False, device="cpu")
    assert torch.equal(torch.rand(3), expected)


def test_early_stopping_restores_best_weights():
    # A far too high learning rate makes validation loss bounce, so training stops early.
    X_train, y_train = motif_dataset(64, seed=1)
    X_valid, y_valid = motif_dataset(32, seed=2)
    model = tiny_model()
    result = fit(
        model, X_train, y_train, X_valid, y_valid, lr=0.5, max_epochs=30, patience=2, batch_size=16,
        progress=False, device="cpu",
    )
    losses = [row["valid_loss"] for row in result.history]
    assert result.stopped_early
    assert len(losses) == result.best_epoch + 2
    assert result.best_valid_loss == min(losses) == losses[result.best_epoch - 1]
    logits = torch.from_numpy(predict(model, X_valid, device="cpu"))
    restored = torch.nn.functional.binary_cross_entropy_with_logits(logits, torch.from_numpy(y_valid)[:, None])
    assert float(restored) == pytest.approx(result.best_valid_loss, rel=1e-5)


def test_trailing_batch_of_one_is_trained():
    """33 sequences in batches of 16: the last one joins a batch (batch norm cannot train on one) and is trained on."""
    X_train, y_train = motif_dataset(33, seed=1)
    X_valid, y_valid = motif_dataset(8, seed=2)
    model = tiny_model()
    trained_batches = []
    model.register_forward_pre_hook(lambda module, inputs: trained_batches.append(len(inputs[0]))
                                    if module.training else None)
    fit(model, X_train, y_train, X_valid, y_valid, max_epochs=1, batch_size=16, progress=False, device="cpu")
    assert sorted(trained_batches) == [16, 17]


@pytest.mark.parametrize(
    "change, fragment",
    [
        ({"X_train": np.zeros((8, 4, 30), np.float32)}, "length 30"),
        ({"y_train": np.zeros(7, np.float32)}, "7 targets for 8"),
        ({"y_train": np.full(8, 2.0, np.float32)}, "other than 0 and 1"),
        ({"y_valid": np.zeros(8, np.float32)}, "single class"),
        ({"X_valid": np.zeros((8, 32), np.float32)}, r"\(N, 4, L\)"),
    ],
)
def test_fit_rejects_bad_inputs(change, fragment):
    X, y = motif_dataset(8, seed=1)
    arguments = {"X_train": X, "y_train": y, "X_valid": X, "y_valid": y, **change}
    with pytest.raises(SeqsalError, match=fragment):
        fit(tiny_model(), progress=False, device="cpu", **arguments)


def test_evaluate_classification_hand_computed():
    y = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.4, 0.35, 0.8])
    # AUROC: of the 4 positive-negative pairs, 3 are ranked correctly.
    # AUPRC: ranked 0.8 (+), 0.4 (-), 0.35 (+), 0.1 (-): precision 1 at recall 0.5, 2/3 at recall 1.
    metrics = evaluate_predictions(y, scores, "classification")
    assert metrics["auroc"] == pytest.approx(0.75)
    assert metrics["auprc"] == pytest.approx(0.5 * 1 + 0.5 * 2 / 3)


def test_evaluate_averages_over_outputs():
    y = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    scores = np.array([[0.1, 0.9], [0.2, 0.8], [0.3, 0.7], [0.4, 0.6]])
    assert evaluate_predictions(y, scores, "classification")["auroc"] == pytest.approx((1.0 + 0.25) / 2)


def test_evaluate_regression_known_case():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    metrics = evaluate_predictions(y, 2 * y + 1, "regression")
    assert metrics["pearson"] == pytest.approx(1.0)
    assert metrics["mse"] == pytest.approx(np.mean((y + 1) ** 2))
    assert evaluate_predictions(y, -y, "regression")["pearson"] == pytest.approx(-1.0)
    assert np.isnan(evaluate_predictions(y, np.zeros(4), "regression")["pearson"])


def test_evaluate_rejects_single_class():
    with pytest.raises(SeqsalError, match="AUROC is undefined"):
        evaluate_predictions(np.ones(4), np.arange(4.0), "classification")


def test_train_valid_split():
    train, valid = train_valid_split(100, valid_fraction=0.2, random_state=5)
    assert len(valid) == 20 and len(train) == 80
    assert np.array_equal(np.sort(np.concatenate([train, valid])), np.arange(100))
    again = train_valid_split(100, valid_fraction=0.2, random_state=5)
    assert np.array_equal(train, again[0]) and np.array_equal(valid, again[1])
    assert not np.array_equal(valid, train_valid_split(100, valid_fraction=0.2, random_state=6)[1])
    with pytest.raises(SeqsalError, match="valid_fraction"):
        train_valid_split(10, valid_fraction=1.5)


def test_grouped_split_keeps_every_group_on_one_side():
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 40, 200)  # uneven group sizes, labels not in order
    train, valid = train_valid_split(200, valid_fraction=0.25, random_state=3, groups=groups)
    assert np.array_equal(np.sort(np.concatenate([train, valid])), np.arange(200))
    assert not set(groups[train]) & set(groups[valid])
    # whole groups are added while fewer than 50 records are drawn, so at most one group's worth more
    assert 50 <= len(valid) < 50 + np.bincount(groups).max()
    again = train_valid_split(200, valid_fraction=0.25, random_state=3, groups=groups)
    assert np.array_equal(valid, again[1])
    # pairs: ten records cannot be split 10% (one record) without breaking a pair, so two go
    train, valid = train_valid_split(10, valid_fraction=0.1, random_state=0, groups=np.arange(10) // 2)
    assert len(valid) == 2 and valid[0] // 2 == valid[1] // 2
    # two groups: one each side, even when the fraction asks for more
    assert [len(side) for side in train_valid_split(4, 0.9, groups=np.array([0, 0, 0, 1]))] in ([3, 1], [1, 3])
    with pytest.raises(SeqsalError, match="one group"):
        train_valid_split(5, 0.2, groups=np.zeros(5))
    with pytest.raises(SeqsalError, match="one group label per sequence"):
        train_valid_split(5, 0.2, groups=np.arange(4))
