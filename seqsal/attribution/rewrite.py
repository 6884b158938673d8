"""Faster copies of a model that compute the same function, for gradient attribution.

Gradient methods run the model forward and backward thousands of times with
fixed weights, so it pays to rewrite it once into a cheaper equivalent.
:func:`attribution_copy` applies every rewrite that is valid for the model:

1. :func:`fold_batchnorm` merges each eval-mode ``BatchNorm1d`` into the layer
   before it (a fixed affine map folds into the weights).
2. :func:`pool_before_activation` swaps ``activation -> MaxPool1d`` into
   ``MaxPool1d -> activation`` when the activation is monotone non-decreasing.
   ``max(f(a), f(b)) = f(max(a, b))`` for such ``f``, and the gradient is routed
   to the same element, so values *and* gradients are identical, while the
   activation and its backward touch half as many elements.
3. :func:`channels_last_cnn` runs the convolution trunk of an
   :class:`~seqsal.models.EnhancerCNN` as ``(N, C, 1, L)`` 2-D convolutions in
   channels-last memory layout, where oneDNN's convolutions and max-pooling are
   several times faster on CPU than the 1-D channels-first kernels.

The rewrites change floating-point summation order, so results agree with the
original model to rounding (≈1e-6 relative).  Gradients of ReLU networks are
piecewise constant; where a pre-activation lies within rounding of 0 the two
versions may route a gradient differently, as any two correct implementations
can.
"""

from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils import skip_init

from seqsal.models import EnhancerCNN, Exponential

# Monotone non-decreasing element-wise activations commute with max-pooling.
_MONOTONE = (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.Softplus, Exponential)


def attribution_copy(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` rewritten for fast gradients; ``model`` is untouched."""
    rewritten = pool_before_activation(fold_batchnorm(model))
    return channels_last_cnn(rewritten) if isinstance(rewritten, EnhancerCNN) else rewritten


@torch.no_grad()
def fold_batchnorm(model: nn.Module) -> nn.Module:
    """A copy of an eval-mode model with every BatchNorm1d merged into the layer before it.

    In eval mode BatchNorm is a fixed affine map, so ``BN(W x + b)`` equals a
    single layer with weights ``s W`` and bias ``s (b − μ) + β`` where
    ``s = γ / sqrt(σ² + ε)``.  Folding removes a pass over every activation in
    both the forward and the backward pass.  Only a ``BatchNorm1d`` that
    directly follows a ``Conv1d`` or ``Linear`` inside an ``nn.Sequential`` is
    folded; anything else is copied unchanged, so the copy computes the same
    function.
    """
    folded = copy.deepcopy(model).eval()
    for container in _sequentials(folded):
        names = list(container._modules)
        for first, second in zip(names, names[1:]):
            layer, norm = container._modules[first], container._modules[second]
            if not (isinstance(layer, (nn.Conv1d, nn.Linear)) and isinstance(norm, nn.BatchNorm1d)
                    and norm.running_mean is not None):
                continue
            gamma = norm.weight if norm.weight is not None else torch.ones_like(norm.running_var)
            beta = norm.bias if norm.bias is not None else torch.zeros_like(norm.running_mean)
            scale = gamma / torch.sqrt(norm.running_var + norm.eps)
            bias = layer.bias if layer.bias is not None else torch.zeros_like(norm.running_mean)
            layer.weight.mul_(scale.view(-1, *([1] * (layer.weight.dim() - 1))))
            layer.bias = nn.Parameter((bias - norm.running_mean) * scale + beta, requires_grad=False)
            container._modules[second] = nn.Identity()
    return folded


def pool_before_activation(model: nn.Module) -> nn.Module:
    """A copy in which each monotone ``activation -> MaxPool1d`` pair of a Sequential is swapped.

    Identity modules (left by :func:`fold_batchnorm`) between the two are
    skipped over.  ``LeakyReLU`` qualifies only with a non-negative slope.
    """
    swapped = copy.deepcopy(model)
    for container in _sequentials(swapped):
        names = [name for name, module in container._modules.items() if not isinstance(module, nn.Identity)]
        for first, second in zip(names, names[1:]):
            activation, pool = container._modules[first], container._modules[second]
            if _is_monotone(activation) and isinstance(pool, nn.MaxPool1d):
                container._modules[first], container._modules[second] = pool, activation
    return swapped


class ChannelsLastCNN(nn.Module):
    """An :class:`~seqsal.models.EnhancerCNN` whose trunk runs as channels-last 2-D layers.

    Built by :func:`channels_last_cnn`; takes and returns what the original
    takes and returns: ``(N, 4, L)`` in, ``(N, T)`` logits out.
    """

    def __init__(self, trunk: nn.Sequential, head: str, dense: nn.Module, output: nn.Module) -> None:
        super().__init__()
        self.trunk, self.head, self.dense, self.output = trunk, head, dense, output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.trunk(x.unsqueeze(2).contiguous(memory_format=torch.channels_last))
        pooled = hidden.flatten(1) if self.head == "flatten" else hidden.mean(dim=(2, 3))
        return self.output(self.dense(pooled))


@torch.no_grad()
def channels_last_cnn(model: EnhancerCNN) -> nn.Module:
    """The same network with 1-D convolutions and max-pools run as channels-last 2-D ones.

    Works on the blocks of an :class:`~seqsal.models.EnhancerCNN` (after any
    other rewrite); a block holding a layer other than ``Conv1d``,
    ``MaxPool1d`` or an element-wise activation leaves the model unconverted.
    Flattening ``(N, C, 1, L)`` gives the same feature order as ``(N, C, L)``,
    so the dense head is reused unchanged.
    """
    layers: list[nn.Module] = []
    for block in model.blocks:
        for module in block:
            if isinstance(module, nn.Conv1d):
                layers.append(_conv2d_like(module))
            elif isinstance(module, nn.MaxPool1d):
                layers.append(nn.MaxPool2d((1, _single(module.kernel_size)), (1, _single(module.stride)),
                                           (0, _single(module.padding)), (1, _single(module.dilation)),
                                           ceil_mode=module.ceil_mode))
            elif isinstance(module, (nn.LeakyReLU, nn.Dropout, *_MONOTONE)):
                layers.append(module)
            elif not isinstance(module, nn.Identity):
                return model
    return ChannelsLastCNN(nn.Sequential(*layers), model.config.head, model.dense, model.output).eval()


def _conv2d_like(conv: nn.Conv1d) -> nn.Conv2d:
    padding = conv.padding if isinstance(conv.padding, str) else (0, conv.padding[0])
    # skip_init: no random initialisation, so the caller's global RNG is not consumed.
    conv2d = skip_init(nn.Conv2d, conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]), stride=(1, conv.stride[0]),
                       padding=padding, dilation=(1, conv.dilation[0]), groups=conv.groups,
                       bias=conv.bias is not None, padding_mode=conv.padding_mode, device=conv.weight.device)
    weight = conv.weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
    conv2d.weight = nn.Parameter(weight, requires_grad=False)
    if conv.bias is not None:
        conv2d.bias = nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
    return conv2d


def _single(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else value


def _is_monotone(module: nn.Module) -> bool:
    if isinstance(module, nn.LeakyReLU):
        return module.negative_slope >= 0
    return isinstance(module, _MONOTONE)


def _sequentials(model: nn.Module) -> list[nn.Sequential]:
    return [module for module in model.modules() if isinstance(module, nn.Sequential)]
