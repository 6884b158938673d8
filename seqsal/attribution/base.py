"""What every attribution method shares: a frozen model, the target scalar, batching.

Attribution must not disturb the caller's model.  :func:`frozen_model` puts it
in eval mode, turns off parameter gradients (attribution needs gradients with
respect to the *input* only, and skipping the weight gradients saves a large
part of the backward pass) and moves it to the requested device, then puts
everything back as it was, also when an error interrupts the work.
"""

from __future__ import annotations

import contextlib
from typing import Iterator, Sequence

import numpy as np
import torch
from torch import nn

from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError, check

OUTPUTS = ("logit", "probability")


@contextlib.contextmanager
def frozen_model(model: nn.Module, device: torch.device) -> Iterator[nn.Module]:
    """Eval mode, no parameter gradients, on ``device``; restored on exit."""
    was_training = model.training
    parameters = list(model.parameters())
    flags = [p.requires_grad for p in parameters]
    home = parameters[0].device if parameters else device
    try:
        model.eval()
        for parameter in parameters:
            parameter.requires_grad_(False)
        model.to(device)
        yield model
    finally:
        model.to(home)
        for parameter, flag in zip(parameters, flags):
            parameter.requires_grad_(flag)
        model.train(was_training)


def resolve_target(model: nn.Module, target: int | str) -> int:
    """Index of the output to explain, given as an index or as an output name."""
    names = tuple(getattr(getattr(model, "config", None), "output_names", ()) or ())
    if isinstance(target, str) and not target.lstrip("-").isdigit():
        check(target in names, f"unknown target {target!r}; the model's outputs are {list(names) or 'unnamed'}")
        return names.index(target)
    index = int(target)
    if names:
        check(0 <= index < len(names), f"target {index} is out of range; the model has {len(names)} output(s)")
    return index


def target_scalar(model: nn.Module, x: torch.Tensor, target: int, output: str) -> torch.Tensor:
    """The per-sequence scalar ``S(x)`` being explained: a logit, or its sigmoid.

    The logit is the default because the sigmoid saturates: for a confident
    prediction its gradient vanishes and every attribution shrinks towards 0.
    """
    return select_scalar(model(x), target, output)


def select_scalar(logits: torch.Tensor, target: int, output: str) -> torch.Tensor:
    """The explained scalar from logits ``(N, T)``: one column, or its sigmoid (see :func:`target_scalar`)."""
    check(output in OUTPUTS, f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
    check(logits.ndim == 2, f"the model must return (N, T) logits, got shape {tuple(logits.shape)}")
    check(0 <= target < logits.shape[1], f"target {target} is out of range for {logits.shape[1]} output(s)")
    selected = logits[:, target]
    if output == "logit":
        return selected
    # float64: in float32 the sigmoid rounds to exactly 1 above a logit of ~16.6 and its gradient to exactly 0,
    # which would turn "saturated" into "no attribution at all"
    return torch.sigmoid(selected.double()).to(selected.dtype)


def as_onehot_array(X: np.ndarray | torch.Tensor | str | Sequence[str]) -> np.ndarray:
    """Validate a ``(N, 4, L)`` input and return it as contiguous float32 numpy.

    DNA strings (one, or a list of equal length) are one-hot encoded first, so
    ``attribute(model, "ACGT...")`` works as a user would expect.  Values that
    are not finite are refused: a NaN input gives NaN attributions everywhere,
    which nobody wants silently.
    """
    if isinstance(X, str) or (isinstance(X, (list, tuple)) and X and all(isinstance(x, str) for x in X)):
        X = one_hot(X)
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    try:
        X = np.asarray(X, dtype=np.float32)
    except (TypeError, ValueError):
        raise SeqsalError("X must be one-hot sequences (N, 4, L) as numpy or torch, or DNA strings; "
                          f"got {type(X).__name__} that does not convert to numbers") from None
    if X.ndim == 2:
        X = X[None]
    check(X.ndim == 3 and X.shape[1] == 4, f"expected one-hot input of shape (N, 4, L), got {X.shape}")
    check(X.shape[0] > 0 and X.shape[2] > 0, f"X is empty (shape {X.shape}); pass at least one sequence")
    check(np.isfinite(X).all(), "X contains NaN or infinite values; encode sequences with seqsal.one_hot")
    return np.ascontiguousarray(X)


def batch_slices(n: int, batch_size: int) -> Iterator[slice]:
    """Consecutive slices covering ``range(n)`` in steps of ``batch_size``."""
    check(batch_size > 0, f"batch size must be positive, got {batch_size}")
    for start in range(0, n, batch_size):
        yield slice(start, min(start + batch_size, n))
