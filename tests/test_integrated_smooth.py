"""Integrated Gradients and SmoothGrad against Captum and the completeness identity."""

import numpy as np
import pytest
import torch
from captum.attr import IntegratedGradients, Saliency

from seqsal.attribution import attribute, completeness_gap
from seqsal.attribution.gradients import ig_baselines, smoothgrad_noise
from seqsal.encoding import decode
from seqsal.errors import SeqsalError


def test_ig_zeros_matches_captum(tiny_model, onehot_batch):
    ours = attribute(tiny_model, onehot_batch, "integrated_gradients", steps=20)
    x = torch.from_numpy(onehot_batch)
    expected = IntegratedGradients(tiny_model).attribute(x, target=0, n_steps=20).detach().numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    assert np.abs(expected).max() > 1e-3


def test_ig_uniform_matches_captum_per_position(tiny_model, onehot_batch):
    """With a non-zero baseline Captum also credits absent bases; the per-position sums agree."""
    ours = attribute(tiny_model, onehot_batch, "integrated_gradients", steps=20, baseline="uniform")
    x = torch.from_numpy(onehot_batch)
    expected = IntegratedGradients(tiny_model).attribute(x, baselines=torch.full_like(x, 0.25), target=0,
                                                        n_steps=20).detach().numpy()
    np.testing.assert_allclose(ours.sum(axis=1), expected.sum(axis=1), atol=1e-5, rtol=0)


@pytest.mark.parametrize("baseline", ["zeros", "uniform", "shuffle"])
def test_ig_completeness(tiny_model, onehot_batch, baseline):
    projected = attribute(tiny_model, onehot_batch, "integrated_gradients", steps=64, baseline=baseline,
                          n_references=3)
    gap = completeness_gap(tiny_model, onehot_batch, projected, baseline=baseline, n_references=3)
    with torch.no_grad():
        scale = np.abs(tiny_model(torch.from_numpy(onehot_batch)).numpy()).max()
    assert np.abs(gap).max() < 1e-3 * max(scale, 1.0)


def test_shuffle_baselines_are_dinucleotide_shuffles(onehot_batch):
    references = ig_baselines(onehot_batch[:2], "shuffle", 4, random_state=0)
    assert references.shape == (2, 4, 4, onehot_batch.shape[-1])
    for sequence, refs in zip(decode(onehot_batch[:2]), references):
        for ref in decode(refs):
            assert sorted(ref[i:i + 2] for i in range(len(ref) - 1)) == \
                sorted(sequence[i:i + 2] for i in range(len(sequence) - 1))


def test_smoothgrad_is_mean_of_captum_gradients_at_noisy_points(tiny_model, onehot_batch):
    X = onehot_batch[:4]
    ours = attribute(tiny_model, X, "smoothgrad", hypothetical=True, n_samples=5, sigma=0.2, random_state=3)
    noise = smoothgrad_noise(len(X), X.shape[1:], 5, 0.2, random_state=3)
    saliency = Saliency(tiny_model)
    expected = np.mean([
        saliency.attribute(torch.from_numpy(X + noise[:, s]), target=0, abs=False).numpy() for s in range(5)
    ], axis=0)
    np.testing.assert_allclose(ours, expected, atol=1e-5, rtol=0)
    squared = attribute(tiny_model, X, "smoothgrad_sq", hypothetical=True, n_samples=5, sigma=0.2,
                        random_state=3)
    expected_sq = np.mean([
        saliency.attribute(torch.from_numpy(X + noise[:, s]), target=0, abs=False).numpy() ** 2
        for s in range(5)
    ], axis=0)
    np.testing.assert_allclose(squared, expected_sq, atol=1e-5, rtol=0)


def test_smoothgrad_with_zero_noise_is_the_gradient(tiny_model, onehot_batch):
    smooth = attribute(tiny_model, onehot_batch, "smoothgrad", n_samples=2, sigma=0.0, correct=True)
    plain = attribute(tiny_model, onehot_batch, "gradient", correct=True)
    np.testing.assert_allclose(smooth, plain, atol=1e-6)


@pytest.mark.parametrize("method, options", [
    ("integrated_gradients", {"steps": 8, "baseline": "shuffle", "n_references": 2}),
    ("smoothgrad", {"n_samples": 3}),
    ("smoothgrad_sq", {"n_samples": 3}),
])
def test_batch_size_invariance(tiny_model, onehot_batch, method, options):
    results = [attribute(tiny_model, onehot_batch, method, batch_size=b, **options) for b in (1, 7, 64)]
    for other in results[1:]:
        np.testing.assert_allclose(results[0], other, atol=1e-6, rtol=0)


def test_unknown_option_names_valid_ones(tiny_model, onehot_batch):
    with pytest.raises(SeqsalError, match="steps"):
        attribute(tiny_model, onehot_batch, "integrated_gradients", n_steps=5)
    with pytest.raises(SeqsalError, match="baseline"):
        attribute(tiny_model, onehot_batch, "integrated_gradients", baseline="gaussian")
