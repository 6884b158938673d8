"""Gradient-based attributions: the signed gradient, saliency and gradient × input.

All three come from one backward pass of the explained scalar ``S`` (a logit by
default) with respect to the one-hot input.  They differ in what they keep:

``gradient``
    ``∂S/∂x``, signed.  Tells how S would change if a base's channel grew; the
    rows of bases that are absent are "hypothetical" effects.
``saliency``
    ``|∂S/∂x|`` (Simonyan et al. 2014).  Magnitude only: a base that strongly
    *reduces* S looks as important as one that raises it.
``grad_x_input``
    ``∂S/∂x · x``.  On one-hot input this keeps the gradient of the observed base
    and is a first-order estimate of each base's contribution.

How they fail: gradients are local.  A saturated unit (a motif already strong
enough) gives zero gradient although removing the motif would change the
output; use ISM or Integrated Gradients for such models.  On one-hot data the
gradient also has a component orthogonal to the simplex of valid inputs that
is pure noise; ``correct=True`` removes it (Majdandzic et al. 2023) by
subtracting the mean over the four bases at every position.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqsal.attribution.base import batch_slices, frozen_model, select_scalar, target_scalar
from seqsal.models.rewrite import attribution_copy
from seqsal.encoding import decode, dinucleotide_shuffle, one_hot
from seqsal.errors import check
from seqsal.models import resolve_device


def correct_gradient(gradient: np.ndarray) -> np.ndarray:
    """Remove the off-simplex component: subtract each position's mean over the 4 bases."""
    return gradient - gradient.mean(axis=1, keepdims=True)


def input_gradient(
    model: nn.Module,
    X: np.ndarray,
    target: int,
    output: str,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """``∂S/∂x`` for every sequence, batch by batch, without parameter gradients."""
    return gradient_and_logits(model, X, target, output, batch_size, device)[0]


def gradient_and_logits(
    model: nn.Module,
    X: np.ndarray,
    target: int,
    output: str,
    batch_size: int,
    device: torch.device,
) -> tuple[np.ndarray, np.ndarray]:
    """``∂S/∂x`` and the logits ``(N, T)`` of every output, both from the same forward pass.

    The forward pass that the gradient needs computes every logit anyway, so
    a caller that wants predictions too (``seqsal explain``) need not run the
    model a second time.  The model runs as
    :func:`~seqsal.models.rewrite.attribution_copy`: BatchNorm folded,
    max-pool before activation, channels-last layout; the same function with
    fewer and faster passes, so the logits equal :func:`seqsal.models.predict`
    to float rounding.
    """
    gradients = np.empty_like(X)
    logits = []
    with frozen_model(model, device), torch.enable_grad():
        fast = attribution_copy(model)
        for part in batch_slices(len(X), batch_size):
            x = torch.from_numpy(X[part]).to(device).requires_grad_(True)
            outputs = fast(x)
            (grad,) = torch.autograd.grad(select_scalar(outputs, target, output).sum(), x)
            gradients[part] = grad.detach().cpu().numpy()
            logits.append(outputs.detach().float().cpu().numpy())
    return gradients, np.concatenate(logits) if logits else np.empty((0, 0), dtype=np.float32)


def gradient(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    return_predictions: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Signed input gradient as hypothetical scores (all four rows).

    This is also the hypothetical score of ``grad_x_input``: projecting it onto
    the observed bases (multiplying by x) gives gradient × input.  With
    ``return_predictions`` the logits ``(N, T)`` of the same forward pass come
    back too, as ``(scores, logits)``.
    """
    grad, logits = gradient_and_logits(model, X, target, output, batch_size, device)
    scores = correct_gradient(grad) if correct else grad
    return (scores, logits) if return_predictions else scores


def saliency(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    return_predictions: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Saliency ``|∂S/∂x|`` as hypothetical scores; correction is applied before the absolute value.

    ``return_predictions`` as in :func:`gradient`.
    """
    signed, logits = gradient(model, X, target=target, output=output, correct=correct, batch_size=batch_size,
                              device=device, return_predictions=True)
    return (np.abs(signed), logits) if return_predictions else np.abs(signed)


def _gradients_at(
    model: nn.Module,
    points: np.ndarray,
    target: int,
    output: str,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Input gradients at arbitrary points ``(M, 4, L)`` (not necessarily one-hot)."""
    return input_gradient(model, np.ascontiguousarray(points, dtype=np.float32), target, output,
                          batch_size, device)


def smoothgrad_noise(
    n_sequences: int, shape: tuple[int, int], n_samples: int, sigma: float, random_state: int, offset: int = 0
) -> np.ndarray:
    """The Gaussian noise SmoothGrad adds: ``(n_sequences, n_samples, 4, L)``.

    Noise for sequence ``offset + i`` comes from its own generator seeded with
    ``(random_state, offset + i)``, so a sequence gets the same noise whatever
    batch it lands in, and a resumed run reproduces an uninterrupted one.
    """
    return np.stack([
        np.random.default_rng([random_state, offset + i]).normal(0.0, sigma, size=(n_samples, *shape))
        for i in range(n_sequences)
    ]).astype(np.float32)


def _smoothed(
    model: nn.Module,
    X: np.ndarray,
    *,
    square: bool,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_samples: int,
    sigma: float,
    random_state: int,
    offset: int,
) -> np.ndarray:
    check(n_samples > 0, f"n_samples must be positive, got {n_samples}")
    check(sigma >= 0, f"sigma must be non-negative, got {sigma}")
    # One-hot input spans [0, 1], so sigma as a fraction of the input range is sigma itself.
    noise = smoothgrad_noise(len(X), X.shape[1:], n_samples, sigma, random_state, offset)
    noisy = (X[:, None] + noise).reshape(-1, *X.shape[1:])
    grads = _gradients_at(model, noisy, target, output, batch_size, device)
    if correct:
        grads = correct_gradient(grads)
    grads = grads.reshape(len(X), n_samples, *X.shape[1:])
    return (grads**2 if square else grads).mean(axis=1)


def smoothgrad(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_samples: int = 25,
    sigma: float = 0.15,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """SmoothGrad (Smilkov et al. 2017): the gradient averaged over noisy copies of the input.

    Averaging over ``n_samples`` copies with Gaussian noise of standard
    deviation ``sigma`` (a fraction of the one-hot range [0, 1]) suppresses
    the sharp, sign-flipping local fluctuations of a ReLU network's gradient.
    How it fails: noisy one-hot inputs lie off the simplex of real sequences,
    so large ``sigma`` explains the model on inputs it never saw; a small
    ``n_samples`` leaves visible noise.  ``correct`` removes the off-simplex
    component of every sample's gradient before averaging.
    """
    return _smoothed(model, X, square=False, target=target, output=output, correct=correct,
                     batch_size=batch_size, device=device, n_samples=n_samples, sigma=sigma,
                     random_state=random_state, offset=offset)


def smoothgrad_sq(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    n_samples: int = 25,
    sigma: float = 0.15,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """SmoothGrad-squared: the mean *squared* gradient over noisy copies.

    Squaring keeps magnitude and drops sign, like saliency, which makes the
    map sharper but unable to tell activating from repressive bases.
    """
    return _smoothed(model, X, square=True, target=target, output=output, correct=correct,
                     batch_size=batch_size, device=device, n_samples=n_samples, sigma=sigma,
                     random_state=random_state, offset=offset)


BASELINES = ("zeros", "uniform", "shuffle")


def ig_baselines(X: np.ndarray, baseline: str, n_references: int, random_state: int, offset: int = 0) -> np.ndarray:
    """Reference inputs ``(N, K, 4, L)`` for Integrated Gradients.

    ``zeros`` and ``uniform`` (0.25 per base) give one reference;
    ``shuffle`` gives ``n_references`` dinucleotide-shuffled copies of each
    sequence, seeded per sequence like :func:`smoothgrad_noise`.
    """
    check(baseline in BASELINES, f"unknown baseline {baseline!r}; choose one of {list(BASELINES)}")
    if baseline == "zeros":
        return np.zeros((len(X), 1, *X.shape[1:]), dtype=np.float32)
    if baseline == "uniform":
        return np.full((len(X), 1, *X.shape[1:]), 0.25, dtype=np.float32)
    check(n_references > 0, f"n_references must be positive, got {n_references}")
    references = []
    for i, sequence in enumerate(decode(X)):
        rng = np.random.default_rng([random_state, offset + i])
        shuffles = [dinucleotide_shuffle(sequence, rng) for _ in range(n_references)]
        references.append(one_hot(shuffles))
    return np.stack(references)


def _gauss_legendre(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on [0, 1]; exact for polynomial paths up to degree 2·steps − 1."""
    nodes, weights = np.polynomial.legendre.leggauss(steps)
    return ((nodes + 1) / 2).astype(np.float32), (weights / 2).astype(np.float32)


def integrated_gradients(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    steps: int = 50,
    baseline: str = "zeros",
    n_references: int = 10,
    random_state: int = 0,
    offset: int = 0,
) -> np.ndarray:
    """Integrated Gradients (Sundararajan et al. 2017) as hypothetical scores.

    The path integral of the gradient from a reference x' to x is approximated
    with ``steps`` Gauss-Legendre nodes (as Captum does by default).  With the
    path-averaged gradient ḡ, the IG attribution of base b at a position is
    ``(x_b − x'_b) ḡ_b``; summed over the four rows this is what the observed
    base contributes.  The hypothetical score of base b is the contribution the
    position would have if b were present, ``ḡ_b − Σ_b' x'_b' ḡ_b'``, so that
    projecting onto the one-hot input recovers exactly the per-position IG sum
    and completeness holds for the projected scores.  With ``shuffle`` the
    attributions are averaged over ``n_references`` shuffled references
    ("expected gradients" style), each seeded per sequence.

    At an ``N`` (all-zero) column the projection recovers nothing, so with a
    non-zero baseline the projected scores miss that column's share of
    ``f(x) − f(x')``.  How it fails: too few ``steps`` leave a completeness gap (check it with
    :func:`completeness_gap`); the all-zeros baseline is not a sequence at all,
    and a uniform one is a blur that the model may score arbitrarily.
    """
    check(steps > 0, f"steps must be positive, got {steps}")
    references = ig_baselines(X, baseline, n_references, random_state, offset)
    n, k = references.shape[:2]
    alphas, weights = _gauss_legendre(steps)
    hypothetical = np.zeros_like(X)
    for j in range(k):
        reference = references[:, j]
        path = reference[:, None] + alphas[None, :, None, None] * (X - reference)[:, None]
        grads = _gradients_at(model, path.reshape(-1, *X.shape[1:]), target, output, batch_size, device)
        mean_grad = np.einsum("s,nsbl->nbl", weights, grads.reshape(n, steps, *X.shape[1:]))
        if correct:
            mean_grad = correct_gradient(mean_grad)
        hypothetical += mean_grad - (reference * mean_grad).sum(axis=1, keepdims=True)
    return hypothetical / k


def completeness_gap(
    model: nn.Module,
    X: np.ndarray,
    projected: np.ndarray,
    *,
    target: int = 0,
    output: str = "logit",
    baseline: str = "zeros",
    n_references: int = 10,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Per-sequence ``Σ attributions − (f(x) − mean f(x'))`` for Integrated Gradients.

    IG satisfies completeness exactly in the limit of infinitely many steps;
    the size of this gap tells whether ``steps`` was enough.  Use the same
    baseline settings as the attribution run.
    """
    device = resolve_device(device)
    references = ig_baselines(X, baseline, n_references, random_state)
    scores_x = _scalar(model, X, target, output, batch_size, device)
    scores_ref = _scalar(model, references.reshape(-1, *X.shape[1:]), target, output, batch_size, device)
    expected = scores_x - scores_ref.reshape(len(X), -1).mean(axis=1)
    return projected.sum(axis=(1, 2)) - expected


def _scalar(model: nn.Module, X: np.ndarray, target: int, output: str, batch_size: int,
            device: torch.device) -> np.ndarray:
    values = np.empty(len(X), dtype=np.float64)
    with frozen_model(model, device), torch.no_grad():
        for part in batch_slices(len(X), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(X[part], dtype=np.float32)).to(device)
            values[part] = target_scalar(model, x, target, output).double().cpu().numpy()
    return values
