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

from seqsal.attribution.base import batch_slices, frozen_model, target_scalar


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
    gradients = np.empty_like(X)
    with frozen_model(model, device), torch.enable_grad():
        for part in batch_slices(len(X), batch_size):
            x = torch.from_numpy(X[part]).to(device).requires_grad_(True)
            score = target_scalar(model, x, target, output)
            (grad,) = torch.autograd.grad(score.sum(), x)
            gradients[part] = grad.detach().cpu().numpy()
    return gradients


def gradient(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Signed input gradient as hypothetical scores (all four rows).

    This is also the hypothetical score of ``grad_x_input``: projecting it onto
    the observed bases (multiplying by x) gives gradient × input.
    """
    grad = input_gradient(model, X, target, output, batch_size, device)
    return correct_gradient(grad) if correct else grad


def saliency(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Saliency ``|∂S/∂x|`` as hypothetical scores; correction is applied before the absolute value."""
    signed = gradient(model, X, target=target, output=output, correct=correct, batch_size=batch_size, device=device)
    return np.abs(signed)
