"""Class activation maps for 1D CNNs: Grad-CAM for any convolution, exact CAM for linear GAP heads.

Both give one score per position (a coarse "where", no "which base"): the
feature map of a convolution layer, weighted by how much each channel matters
for the target, then linearly upsampled to the input length.  They are stored
as hypothetical scores with the same value in all four rows, so projecting
onto the one-hot input puts the value on the observed base.

How they fail: deep layers have been pooled several times, so the map is
blurred over ``pool_size ** depth`` bases; the ReLU drops evidence *against*
the target; and Grad-CAM's channel weights are averaged gradients, with all
the saturation problems of gradients.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqsal.attribution.base import batch_slices, frozen_model, target_scalar
from seqsal.errors import SeqsalError, check
from seqsal.models import unwrap


def find_layer(model: nn.Module, layer: str | int | None) -> tuple[str, nn.Module]:
    """Resolve a layer by module name, by index among the ``Conv1d`` layers, or the last ``Conv1d``.

    A model loaded by :func:`seqsal.models.load_model` is searched inside its
    adapter, so layer names are the user's own (``"stem"``, not ``"network.stem"``).
    """
    network = unwrap(model)
    modules = dict(network.named_modules())
    convolutions = [name for name, module in modules.items() if isinstance(module, nn.Conv1d)]
    check(convolutions, "the model has no Conv1d layer, which Grad-CAM needs; a torch.export or TorchScript "
                        "model hides its layers, so load it from its code and weights to use Grad-CAM")
    if layer is None:
        name = convolutions[-1]
    elif isinstance(layer, int) or (isinstance(layer, str) and layer.lstrip("-").isdigit()):
        index = int(layer)
        check(-len(convolutions) <= index < len(convolutions),
              f"layer {index} is out of range; the model has {len(convolutions)} Conv1d layers")
        name = convolutions[index]
    else:
        check(layer in modules, f"no layer named {layer!r}; Conv1d layers are {', '.join(convolutions)}")
        name = layer
    return name, modules[name]


def _upsample(maps: torch.Tensor, length: int) -> torch.Tensor:
    return F.interpolate(maps[:, None], size=length, mode="linear", align_corners=False)[:, 0]


def _as_hypothetical(per_position: np.ndarray) -> np.ndarray:
    return np.repeat(per_position[:, None, :], 4, axis=1).astype(np.float32)


def grad_cam(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    layer: str | int | None = None,
) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) for a 1D convolution, upsampled to the input length.

    Each channel of the layer's output is weighted by its gradient averaged
    over positions, the weighted channels are summed, and a ReLU keeps the
    evidence *for* the target.  ``layer`` defaults to the last ``Conv1d``.
    ``correct`` has no effect: the map is not a gradient with respect to bases.
    """
    _, module = find_layer(model, layer)
    maps = np.empty((len(X), X.shape[-1]), dtype=np.float32)
    captured: list[torch.Tensor] = []
    handle = module.register_forward_hook(lambda _m, _i, out: captured.append(out))
    try:
        with frozen_model(model, device), torch.enable_grad():
            for part in batch_slices(len(X), batch_size):
                captured.clear()
                x = torch.from_numpy(X[part]).to(device).requires_grad_(True)
                score = target_scalar(model, x, target, output)
                activations = captured[0]
                (grads,) = torch.autograd.grad(score.sum(), activations)
                weights = grads.mean(dim=2, keepdim=True)
                cam = torch.relu((weights * activations).sum(dim=1))
                maps[part] = _upsample(cam, X.shape[-1]).detach().cpu().numpy()
    finally:
        handle.remove()
    return _as_hypothetical(maps)


def cam(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Exact CAM (Zhou et al. 2016) for a model whose head is global average pooling followed by one Linear.

    With global average pooling and no hidden dense layer the logit is
    ``b + mean_l Σ_c w_c A_{c,l}``, so ``Σ_c w_c A_{c,l}`` is exactly position
    l's share of the logit (before upsampling and without a ReLU: negative
    values are evidence against).  The feature map ``A`` and the head are
    found by :func:`find_gap_head`; other heads have no exact CAM, use
    ``grad_cam``.
    """
    check(output == "logit", "cam explains the logit only; the sigmoid is not linear in the feature map")
    maps = np.empty((len(X), X.shape[-1]), dtype=np.float32)
    with frozen_model(model, device), torch.no_grad():
        first = torch.from_numpy(X[:1]).to(device)
        features, head = find_gap_head(model, first)
        captured: list[torch.Tensor] = []
        handle = features.register_forward_hook(lambda _m, _i, out: captured.append(out))
        try:
            for part in batch_slices(len(X), batch_size):
                captured.clear()
                model(torch.from_numpy(X[part]).to(device))
                contribution = torch.einsum("c,ncl->nl", head.weight[target], captured[-1]).float()
                maps[part] = _upsample(contribution, X.shape[-1]).cpu().numpy()
        finally:
            handle.remove()
    return _as_hypothetical(maps)


def find_gap_head(model: nn.Module, x: torch.Tensor) -> tuple[nn.Module, nn.Linear]:
    """The module whose output ``A`` (N, C, L') is averaged over positions into the model's last ``Linear``.

    Found by running ``x`` once with hooks on every module: the head is the
    last ``nn.Linear``, and its output must be the model's output; ``A`` is the
    last module output (with more than one position) whose mean over
    positions equals the head's input.  Checking the identity on the actual
    values finds the structure however the model's ``forward`` is written.

    Raises
    ------
    SeqsalError
        When no such pair exists: the message says what CAM needs.
    """
    needs = ("cam needs a model whose logits are one Linear layer applied to the global average over positions "
             "of a convolutional feature map (a GAP head without hidden dense layers); use grad_cam for other models")
    network = unwrap(model)
    linears = [module for module in network.modules() if isinstance(module, nn.Linear)]
    check(linears, needs)
    head = linears[-1]
    seen: list[tuple[nn.Module, torch.Tensor]] = []
    head_io: dict[str, torch.Tensor] = {}

    def record(module: nn.Module, inputs: tuple, out: object) -> None:
        if module is head:
            head_io.update(input=inputs[0], output=out)
        elif isinstance(out, torch.Tensor) and out.ndim == 3 and out.shape[-1] > 1:
            seen.append((module, out))

    handles = [module.register_forward_hook(record) for module in network.modules() if module is not network]
    try:
        logits = model(x)
    finally:
        for handle in handles:
            handle.remove()
    check(head_io and head_io["input"].ndim == 2 and isinstance(logits, torch.Tensor)
          and head_io["output"].shape == logits.shape
          and torch.allclose(head_io["output"].to(logits.dtype), logits, rtol=1e-4, atol=1e-5), needs)
    pooled = head_io["input"]
    for module, features in reversed(seen):
        if features.shape[1] == pooled.shape[1] and torch.allclose(features.mean(dim=2), pooled, rtol=1e-4, atol=1e-5):
            return module, head
    raise SeqsalError(needs)
