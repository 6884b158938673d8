"""Faster copies of a model that compute the same function, for gradient attribution and prediction.

Gradient methods run the model forward and backward thousands of times with
fixed weights, so it pays to rewrite it once into a cheaper equivalent.  The
rewrites work on the model's ``torch.fx`` graph (:mod:`seqsal.models.graph`),
wherever their pattern occurs, whatever class the model is:

1. :func:`explicit_padding` turns ``Conv1d(padding="same")`` into an explicit
   zero padding (a ``F.pad`` before the convolution where the padding is
   asymmetric), which the other rewrites and windowed ISM can reason about.
2. :func:`fold_batchnorm` merges each eval-mode BatchNorm into the convolution
   or linear layer before it (a fixed affine map folds into the weights).
3. :func:`pool_before_activation` swaps ``activation -> max-pool`` into
   ``max-pool -> activation`` when the activation is monotone non-decreasing.
   ``max(f(a), f(b)) = f(max(a, b))`` for such ``f``, and the gradient is routed
   to the same element, so values *and* gradients are identical, while the
   activation and its backward touch ``1/pool`` as many elements.
4. :func:`channels_last` runs the convolution trunk as ``(N, C, 1, L)`` 2-D
   layers in channels-last memory layout, where oneDNN's convolutions and
   max-pooling are faster on CPU than the 1-D channels-first kernels (about
   1.5x end to end on the DeepSTARR architecture, and on the BPNet-style
   family of ``benchmarks/bench_attribution.py`` once the gradient entering
   the region is made channels-last too; see :class:`_Squeeze`).  It is
   applied on CPU only.

The rewrites change floating-point summation order, so results agree with the
original model to rounding (≈1e-6 relative).  Gradients of ReLU networks are
piecewise constant; where a pre-activation lies within rounding of 0 the two
versions may route a gradient differently, as any two correct implementations
can.  A model that cannot be traced runs as given.
"""

from __future__ import annotations

import copy
import sys
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils import skip_init

from seqsal.models.adapter import SequenceModel
from seqsal.models.copies import cached
from seqsal.models.graph import (
    concatenated_dim,
    conv_padding,
    is_binary,
    is_elementwise,
    is_monotone,
    length_padding,
    module_of,
    traced,
)


def attribution_copy(model: nn.Module, *, verbose: bool = False) -> nn.Module:
    """An eval-mode copy of ``model`` rewritten for fast forward and backward passes; ``model`` is untouched.

    The copy is built once per model and reused while the model is unchanged
    (:mod:`seqsal.models.copies`: a model modified in place, retrained,
    moved or given other layers gets a new one).  It is shared between
    callers: run it, do not modify it.

    Parameters
    ----------
    model
        Any module; its parameters' device decides whether the channels-last
        layout (a CPU speed-up) is used.  A user's model in a
        :class:`~seqsal.models.adapter.SequenceModel` is rewritten through
        its adapters, or, when those cannot be traced (a fixed export batch
        size), keeps its adapters around a rewritten network.
    verbose
        Print a one-line note to stderr when the model cannot be traced and
        is therefore copied without rewrites.

    Returns
    -------
    torch.nn.Module
        A ``torch.fx.GraphModule`` computing the same function to rounding,
        a ``SequenceModel`` around one, or a plain eval-mode deep copy of an
        untraceable model.
    """
    fast, note = cached(model, "attribution copy", _fast_copy)
    if note is not None and verbose:
        print(note, file=sys.stderr)
    return fast


def rewritten_graph(model: nn.Module, *, verbose: bool = False) -> fx.GraphModule | None:
    """A traced eval copy with the rewrites that keep the ``(N, C, L)`` layout, or ``None`` if untraceable.

    Windowed ISM works on this graph; :func:`attribution_copy` adds the
    channels-last layout on top.  Cached like :func:`attribution_copy`, and
    shared: do not modify it.
    """
    graph, note = cached(model, "rewritten graph", _rewritten)
    if note is not None and verbose:
        print(note, file=sys.stderr)
    return graph


def _rewritten(model: nn.Module) -> tuple[fx.GraphModule | None, str | None]:
    graph, note = traced(model)
    if graph is None:
        return None, note
    return pool_before_activation(fold_batchnorm(explicit_padding(graph))), None


def _fast_copy(model: nn.Module) -> tuple[nn.Module, str | None]:
    graph, note = _rewritten(model)
    if graph is not None:
        on_cpu = all(parameter.device.type == "cpu" for parameter in graph.parameters())
        return (channels_last(graph) if on_cpu else graph), None
    if isinstance(model, SequenceModel):  # adapters that cannot be traced around a network that may be
        network, note = _fast_copy(model.network)
        wrapper = SequenceModel(network, model.adapters, model.source, fixed_mode=model.fixed_mode)
        wrapper.config, wrapper.metadata = model.config, dict(model.metadata)
        return wrapper.eval(), note
    return copy.deepcopy(model).eval(), note


def explicit_padding(graph: fx.GraphModule) -> fx.GraphModule:
    """Replace ``padding="same"`` of zero-padded ``Conv1d`` layers by its explicit equivalent, in place.

    A symmetric padding becomes the layer's integer padding; an asymmetric one
    (even total, e.g. an even kernel) becomes ``F.pad`` with PyTorch's split
    (the extra zero after the sequence) before an unpadded convolution, which
    also spares PyTorch's internal padded copy.
    """
    for node in list(graph.graph.nodes):
        conv = module_of(graph, node)
        if not (isinstance(conv, nn.Conv1d) and conv.padding == "same" and conv.padding_mode == "zeros"
                and _single_call_site(graph, node)):
            continue
        left, right = conv_padding(conv)
        if left == right:
            conv.padding = (left,)
            continue
        with graph.graph.inserting_before(node):
            padded = graph.graph.call_function(F.pad, (node.args[0], (left, right)))
        node.args = (padded, *node.args[1:])
        conv.padding = (0,)
    return _recompiled(graph)


@torch.no_grad()
def fold_batchnorm(graph: fx.GraphModule) -> fx.GraphModule:
    """Merge every eval-mode BatchNorm into the convolution or linear layer it directly follows, in place.

    In eval mode BatchNorm is a fixed affine map, so ``BN(W x + b)`` equals a
    single layer with weights ``s W`` and bias ``s (b − μ) + β`` where
    ``s = γ / sqrt(σ² + ε)``.  Folding removes a pass over every activation in
    both the forward and the backward pass.  Only a layer whose output goes to
    the BatchNorm alone, and that is called at one place in the graph, is
    folded; anything else is left as it is, so the graph computes the same
    function.
    """
    for node in list(graph.graph.nodes):
        norm = module_of(graph, node)
        if not (isinstance(norm, nn.modules.batchnorm._BatchNorm) and norm.running_mean is not None
                and len(node.args) == 1 and isinstance(node.args[0], fx.Node)):
            continue
        (source,) = node.args
        layer = module_of(graph, source)
        if not (isinstance(layer, (nn.Conv1d, nn.Conv2d, nn.Linear)) and len(source.users) == 1
                and _single_call_site(graph, source)):
            continue
        gamma = norm.weight if norm.weight is not None else torch.ones_like(norm.running_var)
        beta = norm.bias if norm.bias is not None else torch.zeros_like(norm.running_mean)
        scale = gamma / torch.sqrt(norm.running_var + norm.eps)
        bias = layer.bias if layer.bias is not None else torch.zeros_like(norm.running_mean)
        layer.weight = nn.Parameter(layer.weight * scale.view(-1, *([1] * (layer.weight.dim() - 1))),
                                    requires_grad=False)
        layer.bias = nn.Parameter((bias - norm.running_mean) * scale + beta, requires_grad=False)
        node.replace_all_uses_with(source)
        graph.graph.erase_node(node)
    return _recompiled(graph)


def pool_before_activation(graph: fx.GraphModule) -> fx.GraphModule:
    """Swap each ``monotone activation -> max-pool`` pair into ``max-pool -> activation``, in place.

    Applies to ``MaxPool1d``/``MaxPool2d`` modules and ``F.max_pool1d`` calls
    without indices, in module or functional form, when the pool is the
    activation's only user.  Padding and ``ceil_mode`` are fine: padded
    elements never win a max, before or after the swap.
    """
    for pool in list(graph.graph.nodes):
        if not (_is_max_pool(graph, pool) and isinstance(pool.args[0], fx.Node)):
            continue
        activation = pool.args[0]
        if not (is_monotone(graph, activation) and len(activation.users) == 1):
            continue
        with graph.graph.inserting_before(pool):
            pooled = graph.graph.create_node(pool.op, pool.target, (activation.args[0], *pool.args[1:]),
                                             dict(pool.kwargs))
            activated = graph.graph.create_node(activation.op, activation.target, (pooled, *activation.args[1:]),
                                                dict(activation.kwargs))
        pool.replace_all_uses_with(activated)
        graph.graph.erase_node(pool)
        graph.graph.erase_node(activation)
    return _recompiled(graph)


@torch.no_grad()
def channels_last(graph: fx.GraphModule) -> fx.GraphModule:
    """Run 1-D convolutions, max-pools and what lies between them as channels-last 2-D layers, in place.

    The *region* converted is every zero-padded ``Conv1d`` and ``MaxPool1d``,
    plus each element-wise function, sum or channel concatenation whose
    tensor inputs all come from the region (residual blocks stay inside).
    Tensors enter the region as ``(N, C, 1, L)`` in channels-last layout and
    leave it squeezed back to ``(N, C, L)``; flattening that gives the same
    feature order, so the layers after it are unchanged.  A graph without a
    convolution is left as it is.
    """
    region: set[fx.Node] = set()
    for node in graph.graph.nodes:
        module = module_of(graph, node)
        sources = [arg for arg in node.all_input_nodes if arg.op != "get_attr"]
        if isinstance(module, nn.Conv1d) and module.padding_mode == "zeros" and isinstance(module.padding, tuple):
            setattr(graph, node.target.replace(".", "_") + "_2d", _conv2d_like(module))
            node.target = node.target.replace(".", "_") + "_2d"
            region.add(node)
        elif isinstance(module, nn.MaxPool1d) and not module.return_indices:
            setattr(graph, node.target.replace(".", "_") + "_2d", _max_pool2d_like(module))
            node.target = node.target.replace(".", "_") + "_2d"
            region.add(node)
        elif sources and all(source in region for source in sources) and (
                is_elementwise(graph, node) or _is_scalar_binary(node) or concatenated_dim(node) == 1
                or length_padding(node) is not None):
            region.add(node)
    if not any(isinstance(module_of(graph, node), nn.Conv2d) for node in region):
        return graph
    for node in list(graph.graph.nodes):
        if node in region:
            for source in node.all_input_nodes:
                if source not in region:
                    _feed(graph, node, source, _to_channels_last)
        else:
            for source in node.all_input_nodes:
                if source in region:
                    _feed(graph, node, source, _squeezed)
    return _recompiled(graph)


def _to_channels_last(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, L)`` as ``(N, C, 1, L)`` in channels-last memory layout."""
    return x.unsqueeze(2).contiguous(memory_format=torch.channels_last)


def _squeezed(x: torch.Tensor) -> torch.Tensor:
    """``(N, C, 1, L)`` back to ``(N, C, L)``, with a gradient that comes back channels-last (see :class:`_Squeeze`)."""
    return _Squeeze.apply(x)


class _Squeeze(torch.autograd.Function):
    """``squeeze(2)`` whose backward hands the region a dense channels-last gradient.

    The gradient that reaches the region from outside (a mean's expanded
    gradient, a flatten's reshaped one) is in the default layout.  Element-wise
    backward passes (ReLU's, a residual sum's) that mix it with channels-last
    activations run on a slow strided path, about 4x slower than with matching
    layouts, and pass the mixed layout on: on the BPNet-style model this made
    ReLU's backward cost more than all the convolutions' backward.
    """

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        return x.squeeze(2)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        return grad.unsqueeze(2).contiguous(memory_format=torch.channels_last)


# Conversions are traced as leaf functions so that a converted graph prints (and re-traces) readably.
fx.wrap("_to_channels_last")
fx.wrap("_squeezed")


def _feed(graph: fx.GraphModule, user: fx.Node, source: fx.Node, convert) -> None:
    """Make ``user`` read ``convert(source)``, sharing one conversion node per source and kind."""
    converted = next((u for u in source.users if u.op == "call_function" and u.target is convert), None)
    if converted is None:
        with graph.graph.inserting_after(source):
            converted = graph.graph.call_function(convert, (source,))
    user.replace_input_with(source, converted)


def _is_scalar_binary(node: fx.Node) -> bool:
    """A sum or product whose constant operands are plain numbers (a constant tensor would broadcast differently
    against ``(N, C, 1, L)`` than against ``(N, C, L)``)."""
    return is_binary(node) and all(arg.op != "get_attr" for arg in node.all_input_nodes)


def _is_max_pool(graph: fx.GraphModule, node: fx.Node) -> bool:
    module = module_of(graph, node)
    if module is not None:
        return isinstance(module, (nn.MaxPool1d, nn.MaxPool2d)) and not module.return_indices
    return (node.op == "call_function" and node.target is F.max_pool1d
            and not node.kwargs.get("return_indices", False) and len(node.args) < 6)


def _conv2d_like(conv: nn.Conv1d) -> nn.Conv2d:
    # skip_init: no random initialisation, so the caller's global RNG is not consumed.
    conv2d = skip_init(nn.Conv2d, conv.in_channels, conv.out_channels, (1, conv.kernel_size[0]),
                       stride=(1, conv.stride[0]), padding=(0, conv.padding[0]), dilation=(1, conv.dilation[0]),
                       groups=conv.groups, bias=conv.bias is not None, device=conv.weight.device,
                       dtype=conv.weight.dtype)
    weight = conv.weight.detach().unsqueeze(2).contiguous(memory_format=torch.channels_last)
    conv2d.weight = nn.Parameter(weight, requires_grad=False)
    if conv.bias is not None:
        conv2d.bias = nn.Parameter(conv.bias.detach().clone(), requires_grad=False)
    return conv2d


def _max_pool2d_like(pool: nn.MaxPool1d) -> nn.MaxPool2d:
    return nn.MaxPool2d((1, _single(pool.kernel_size)), (1, _single(pool.stride)), (0, _single(pool.padding)),
                        (1, _single(pool.dilation)), ceil_mode=pool.ceil_mode)


def _single(value: int | tuple[int, ...]) -> int:
    return value[0] if isinstance(value, tuple) else value


def _single_call_site(graph: fx.GraphModule, node: fx.Node) -> bool:
    """Whether ``node``'s module is called nowhere else in the graph (rewriting its weights is then local)."""
    return sum(1 for other in graph.graph.nodes if other.op == "call_module" and other.target == node.target) == 1


def _recompiled(graph: fx.GraphModule) -> fx.GraphModule:
    graph.graph.lint()
    graph.recompile()
    graph.delete_all_unused_submodules()
    return graph
