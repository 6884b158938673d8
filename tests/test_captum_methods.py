"""DeepLIFT-SHAP, LIME and KernelSHAP through Captum, with DNA-shaped references and features."""

import importlib.util

import numpy as np
import pytest
import torch
from captum.attr import DeepLiftShap
from torch import nn

from seqsal.attribution import attribute
from seqsal.attribution.gradients import ig_baselines
from seqsal.errors import SeqsalError


def test_deeplift_shap_per_position_matches_captum(tiny_model, onehot_batch):
    X = onehot_batch[:3]
    ours = attribute(tiny_model, X, "deeplift_shap", n_references=4, random_state=2)
    references = ig_baselines(X, "shuffle", 4, random_state=2)
    for i in range(len(X)):
        x = torch.from_numpy(X[i : i + 1])
        expected = DeepLiftShap(tiny_model).attribute(x, baselines=torch.from_numpy(references[i]), target=0)
        np.testing.assert_allclose(ours[i].sum(axis=0), expected.detach().numpy()[0].sum(axis=0), atol=1e-5)


def test_deeplift_shap_sums_to_the_difference_from_references():
    """On a ReLU network without pooling, DeepLIFT's rescale rule is exact: contributions add up."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.Flatten(), nn.Linear(6 * 20, 1)).eval()
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(3, 20))].transpose(0, 2, 1).copy()
    projected = attribute(model, X, "deeplift_shap", n_references=5)
    references = ig_baselines(X, "shuffle", 5, random_state=0)
    with torch.no_grad():
        f_x = model(torch.from_numpy(X))[:, 0].numpy()
        f_ref = model(torch.from_numpy(references.reshape(-1, 4, 20)))[:, 0].numpy().reshape(3, 5).mean(axis=1)
    np.testing.assert_allclose(projected.sum(axis=(1, 2)), f_x - f_ref, atol=1e-4)


def _linear_model(length: int) -> tuple[nn.Module, np.ndarray]:
    model = nn.Sequential(nn.Flatten(), nn.Linear(4 * length, 1))
    weights = np.random.default_rng(5).normal(size=(4, length)).astype(np.float32)
    with torch.no_grad():
        model[1].weight.copy_(torch.from_numpy(weights.reshape(1, -1)))
        model[1].bias.zero_()
    return model.eval(), weights


@pytest.mark.parametrize("method", ["kernel_shap", "lime"])
def test_window_methods_recover_a_linear_model(onehot_batch, method):
    """For a linear model, a window's Shapley value is its exact share of f(x) − f(reference)."""
    X = onehot_batch[:2]
    model, weights = _linear_model(X.shape[-1])
    scores = attribute(model, X, method, hypothetical=True, window=10, n_samples=300)
    reference = ig_baselines(X, "shuffle", 1, random_state=0)[:, 0]
    contribution = ((X - reference) * weights).sum(axis=1)  # (N, L)
    expected = contribution.reshape(len(X), -1, 10).sum(axis=2)  # one value per window
    got = scores[:, 0, ::10]
    if method == "kernel_shap":
        np.testing.assert_allclose(got, expected, atol=1e-3)
    else:  # LIME fits a locally weighted linear surrogate: right ranking, approximate values
        assert all(np.corrcoef(g, e)[0, 1] > 0.95 for g, e in zip(got, expected))
    np.testing.assert_array_equal(scores[:, :, :10], np.repeat(scores[:, :1, :1], 4, axis=1).repeat(10, axis=2))


def test_missing_captum_names_the_extra(tiny_model, onehot_batch, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "captum" else real(name, *a))
    with pytest.raises(SeqsalError, match=r"seqsal\[captum\]"):
        attribute(tiny_model, onehot_batch, "deeplift_shap")
