"""Running a model: the device choice, input checks and batched prediction.

These work on any module that maps one-hot ``(N, 4, L)`` to ``(N, T)``:
seqsal's :class:`~seqsal.models.cnn.EnhancerCNN` or a user's model wrapped in
:class:`~seqsal.models.adapter.SequenceModel` by
:func:`~seqsal.models.sources.load_model`.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqsal.checks import check_int
from seqsal.errors import SeqsalError, check
from seqsal.models.rewrite import attribution_copy


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a user's device choice into a :class:`torch.device`; ``None`` means CUDA if available, else CPU.

    Raises
    ------
    SeqsalError
        If the name is not a device, or CUDA is asked for but not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise SeqsalError(f"device {device!r} is not a valid device; use 'cpu' or 'cuda'") from err
    check(
        resolved.type != "cuda" or torch.cuda.is_available(),
        f"device {str(device)!r} was requested but CUDA is not available; use 'cpu'",
    )
    return resolved


def predict(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Logits ``(N, T)`` for one-hot ``X`` ``(N, 4, L)``, batch by batch.

    The model runs in eval mode (batch norm uses its running statistics, so
    results do not depend on ``batch_size``) under ``torch.inference_mode``,
    as the faster copy of :func:`seqsal.models.rewrite.attribution_copy`
    (BatchNorm folded, max-pool before activation, channels-last on CPU): the
    same function to float rounding.  The model itself is not changed; its
    previous train/eval mode and device are restored afterwards, also when an
    error is raised.

    Parameters
    ----------
    model
        Any module mapping ``(N, 4, L)`` to ``(N, T)``; one with a
        ``config.input_length`` (an :class:`EnhancerCNN`, a loaded
        :class:`SequenceModel`) additionally has its input length checked.
    X
        numpy array or tensor, one-hot (or any real-valued) ``(N, 4, L)``.
    batch_size
        Sequences per forward pass; bounds memory, not results.
    device
        Where to compute; ``None`` means CUDA if available.

    Returns
    -------
    numpy.ndarray
        float32 logits ``(N, T)`` on the CPU.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    X = as_input_tensor(X, model, "X")
    target = resolve_device(device)
    original_device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    try:
        fast = attribution_copy(model.to(target).eval())
        outputs = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], batch_size):
                logits = check_logits(fast(X[start : start + batch_size].to(target)))
                outputs.append(logits.float().cpu())
        return torch.cat(outputs).numpy()
    finally:
        model.to(original_device).train(was_training)


def as_input_tensor(X: np.ndarray | torch.Tensor, model: nn.Module, name: str) -> torch.Tensor:
    """Check that ``X`` is a non-empty ``(N, 4, L)`` batch the model can read and return it as float32 CPU tensor.

    Shared by prediction and training so that a wrong shape or length gets the
    same precise message wherever it is passed.
    """
    check(
        isinstance(X, (np.ndarray, torch.Tensor)),
        f"{name} must be a numpy array or tensor of one-hot sequences, got {type(X).__name__}",
    )
    tensor = torch.as_tensor(X).detach().to("cpu", torch.float32)
    check(
        tensor.ndim == 3 and tensor.shape[1] == 4,
        f"{name} has shape {tuple(tensor.shape)}, expected one-hot (N, 4, L); encode sequences with seqsal.encoding.one_hot",
    )
    check(tensor.shape[0] > 0, f"{name} is empty; pass at least one sequence")
    length = getattr(getattr(model, "config", None), "input_length", None)
    if length is not None:
        check(
            tensor.shape[2] == length,
            f"{name} has sequences of length {tensor.shape[2]} but the model reads {length}; "
            "crop or pad them with seqsal.encoding.fit_length",
        )
    return tensor


def check_logits(output: object) -> torch.Tensor:
    """Return a model's output if it is a ``(N, T)`` tensor, else say how to adapt the model.

    A module returning a tuple, a dict or a profile ``(N, T, L)`` needs the
    adapters of :func:`seqsal.models.load_model`, which pick and reduce the
    output once for every command.
    """
    if not isinstance(output, torch.Tensor):
        raise SeqsalError(
            f"the model returned a {type(output).__name__}, not a (N, T) tensor; wrap it with "
            "seqsal.load_model(model, output_index=...) or output_key=... to choose the output to explain"
        )
    check(output.ndim == 2,
          f"the model returned shape {tuple(output.shape)}, expected (N, T) logits; wrap it with "
          "seqsal.load_model(model, reduce='sum'|'mean'|'profile') for a profile output (N, T, L)")
    return output
