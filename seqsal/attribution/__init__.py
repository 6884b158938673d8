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
from seqsal.models import resolve_device

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
    **options: object,
) -> np.ndarray:
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
    **options
        Method-specific settings, e.g. ``steps`` and ``baseline`` for
        ``integrated_gradients`` or ``n_samples`` and ``sigma`` for
        ``smoothgrad``; see each method's docstring.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``.
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
    scores = function(
        model,
        onehot,
        target=resolve_target(model, target),
        output=output,
        correct=correct,
        batch_size=batch_size,
        device=resolve_device(device),
        **options,
    )
    return scores if hypothetical else scores * onehot


_COMMON = ("target", "output", "correct", "batch_size", "device")


def method_options(method: str) -> tuple[str, ...]:
    """The method-specific keyword options a method accepts, beyond the common ones."""
    check(method in METHODS, f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    parameters = inspect.signature(METHODS[method]).parameters.values()
    return tuple(p.name for p in parameters if p.kind is p.KEYWORD_ONLY and p.name not in _COMMON)


def per_position(projected: np.ndarray) -> np.ndarray:
    """Per-position scores ``(N, L)``: projected attributions summed over the four rows."""
    return projected.sum(axis=-2)


__all__ = ["METHODS", "attribute", "completeness_gap", "correct_gradient", "method_options", "per_position"]
