"""``attribute(model, X, method=...)``: one call shape for every attribution method.

Every method computes *hypothetical* scores ``(N, 4, L)``: a value for each of
the four bases at every position, including bases that are not in the
sequence (what tfmodisco-lite consumes).  The *projected* scores, hypothetical
× one-hot, keep only the observed base; they are what a logo of the actual
sequence shows and what Captum's ``InputXGradient`` returns.
"""

from __future__ import annotations

import inspect
from typing import Callable

import numpy as np
import torch
from torch import nn

from seqsal.attribution.base import OUTPUTS, as_onehot_array, resolve_target
from seqsal.attribution.cam import cam, grad_cam
from seqsal.attribution.captum_methods import deeplift_shap, kernel_shap, lime
from seqsal.attribution.gradients import (
    completeness_gap,
    correct_gradient,
    gradient,
    integrated_gradients,
    saliency,
    smoothgrad,
    smoothgrad_sq,
)
from seqsal.attribution.ism import ism
from seqsal.errors import check
from seqsal.models import predict, resolve_device

Method = Callable[..., np.ndarray]

METHODS: dict[str, Method] = {
    "gradient": gradient,
    "saliency": saliency,
    "grad_x_input": gradient,
    "smoothgrad": smoothgrad,
    "smoothgrad_sq": smoothgrad_sq,
    "integrated_gradients": integrated_gradients,
    "grad_cam": grad_cam,
    "cam": cam,
    "deeplift_shap": deeplift_shap,
    "lime": lime,
    "kernel_shap": kernel_shap,
    "ism": ism,
}

# Methods whose own forward pass yields the logits of every output (they take ``return_predictions``).
PREDICTING_METHODS = ("gradient", "saliency", "grad_x_input")


def attribute(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    target: int | str = 0,
    *,
    output: str = "logit",
    correct: bool = False,
    hypothetical: bool = False,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    return_predictions: bool = False,
    **options: object,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Attribute a model's output to every base of one-hot sequences.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` float32 to logits ``(N, T)``.  Its mode, device and
        ``requires_grad`` flags are restored before this returns.
    X
        One-hot sequences ``(N, 4, L)`` (numpy or torch); ``(4, L)`` is one sequence,
        returned as ``(1, 4, L)``.
    method
        One of :data:`METHODS`.
    target
        The output to explain, by index or by the model's output name.
    output
        ``"logit"`` (default) or ``"probability"`` (sigmoid of the logit; its
        gradients vanish when the prediction is confident).
    correct
        Apply the Majdandzic et al. (2023) gradient correction.
    hypothetical
        Return hypothetical scores (all four rows) instead of projected ones.
    batch_size
        Sequences per forward/backward pass; results do not depend on it.
    device
        Where to compute; CUDA when available by default.
    return_predictions
        Also return the logits ``(N, T)`` of every output, as
        ``(scores, logits)``.  Free (same forward pass) for
        :data:`PREDICTING_METHODS`; one extra forward pass otherwise.
    **options
        Method-specific settings, e.g. ``steps`` and ``baseline`` for
        ``integrated_gradients`` or ``n_samples`` and ``sigma`` for
        ``smoothgrad``; see each method's docstring.

    Returns
    -------
    numpy.ndarray or tuple of numpy.ndarray
        float32 scores ``(N, 4, L)``; with ``return_predictions``, a pair
        ``(scores, logits)`` with float32 logits ``(N, T)``.
    """
    check(method in METHODS, f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    check(output in OUTPUTS, f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
    task = getattr(getattr(model, "config", None), "task", "classification")
    check(output == "logit" or task == "classification",
          "output 'probability' is the sigmoid of a classification logit; this is a regression model, use 'logit'")
    onehot = as_onehot_array(X)
    function = METHODS[method]
    accepted = method_options(method)
    for name in options:
        check(name in accepted, f"method {method!r} has no option {name!r}; "
                                f"its options are {', '.join(accepted) or 'none'}")
    device = resolve_device(device)
    if return_predictions and method in PREDICTING_METHODS:
        options["return_predictions"] = True
    result = function(
        model,
        onehot,
        target=resolve_target(model, target),
        output=output,
        correct=correct,
        batch_size=batch_size,
        device=device,
        **options,
    )
    scores, predictions = result if "return_predictions" in options else (result, None)
    scores = scores if hypothetical else scores * onehot
    if not return_predictions:
        return scores
    if predictions is None:
        predictions = predict(model, onehot, batch_size=batch_size, device=device)
    return scores, predictions


_COMMON = ("target", "output", "correct", "batch_size", "device", "return_predictions")


def method_options(method: str) -> tuple[str, ...]:
    """The method-specific keyword options a method accepts, beyond the common ones."""
    check(method in METHODS, f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    parameters = inspect.signature(METHODS[method]).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in _COMMON)


def per_position(projected: np.ndarray) -> np.ndarray:
    """Per-position scores ``(N, L)``: projected attributions summed over the four rows."""
    return projected.sum(axis=-2)


__all__ = ["METHODS", "PREDICTING_METHODS", "attribute", "completeness_gap", "correct_gradient", "method_options", "per_position"]
