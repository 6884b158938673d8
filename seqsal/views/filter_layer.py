"""A model's first layer, found in its computation graph: the function from one-hot DNA to filter activations.

Filter analysis reads the first convolution over the 4 DNA channels, together
with what the network applies to each of its outputs on its own (batch norm,
the activation, a scaling, dropout in eval mode), up to the first operation
that mixes positions or channels (pooling, another convolution, a residual
sum).  Users bring ``nn.Sequential`` stacks, classes with a custom
``forward`` whose first convolution sits in no container, and ``torch.export``
programs, so the layer is looked for in the network's ``torch.fx`` graph, not
among its modules: a module is traced symbolically
(:func:`seqsal.models.graph.trace`); an exported program already is a graph,
of ATen operators (``aten.conv1d``, ``aten.batch_norm``, ``aten.relu``) with
its weights as ``get_attr`` constants.  Both are read with one vocabulary.

The nodes from the input to the last of those stages are copied into a small
graph module of their own, so the activations come from the model's own
operations and weights without running, moving or switching the rest of the
model.  A TorchScript module has no ``torch.fx`` graph and is refused.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn

from seqsal.errors import SeqsalError, check
from seqsal.models import SequenceModel, unwrap
from seqsal.models.adapter import DTYPES, network_dtype
from seqsal.models.graph import (
    argument,
    call,
    is_binary,
    is_elementwise,
    length_padding,
    module_of,
    trace,
)

_ATEN = torch.ops.aten
# ATen element-wise functions of one tensor (further arguments are numbers: a slope, bounds).
_ATEN_ELEMENTWISE = {_ATEN.relu, _ATEN.relu_, _ATEN.exp, _ATEN.sigmoid, _ATEN.tanh, _ATEN.gelu, _ATEN.silu,
                     _ATEN.mish, _ATEN.leaky_relu, _ATEN.elu, _ATEN.softplus, _ATEN.hardtanh, _ATEN.abs, _ATEN.neg,
                     _ATEN.clamp}
_ATEN_ARITHMETIC = {_ATEN.add, _ATEN.sub, _ATEN.mul, _ATEN.div}
# Operations that only move or cast the input (an adapter's transpose back to NCL, a dtype cast).
_ATEN_LAYOUT = {_ATEN.transpose, _ATEN.permute, _ATEN.contiguous, _ATEN._to_copy, _ATEN.to, _ATEN.clone,
                _ATEN.alias, _ATEN.detach}
_LAYOUT_METHODS = {"transpose", "permute", "contiguous", "float", "double", "half", "to", "type", "clone", "detach"}
_LAYOUT_FUNCTIONS = {torch.transpose, torch.permute, torch.clone}


@dataclass(frozen=True)
class FirstLayer:
    """The first-layer activations of a model, and how output positions map to input windows.

    Attributes
    ----------
    name
        The convolution's qualified name in the network (``blocks.0.0``,
        ``stem``; for an exported program the name of the module it was
        exported from), as ``layer=`` takes it.
    stages
        The operations applied after the convolution, e.g. ``("BatchNorm1d", "relu")``.
    kernel_size
        Filter width ``k``.
    n_filters
        Number of filters (output channels).
    left_pad
        Zero columns before the sequence (the convolution's padding and any
        zero padding of the input before it); output position ``l`` reads
        input columns ``l - left_pad`` to ``l - left_pad + k - 1``.
    right_pad
        Zero columns after the sequence.
    network
        A copy of the graph's nodes from the input to the last stage, in eval mode.
    input_layout
        ``"NLC"`` when the network reads ``(N, L, 4)`` (a :class:`~seqsal.models.SequenceModel`'s adapter).
    """

    name: str
    stages: tuple[str, ...]
    kernel_size: int
    n_filters: int
    left_pad: int
    right_pad: int
    network: nn.Module
    input_layout: str = "NCL"

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        """Activations ``(N, F, P)`` for one-hot ``(N, 4, L)``, in the network's own floating-point type."""
        if self.input_layout == "NLC":
            x = x.transpose(1, 2)
        return self.network(x.to(DTYPES[network_dtype(self.network)]))

    def to(self, device: str | torch.device) -> FirstLayer:
        """Move the copied layer (never the model) to ``device``; returns itself."""
        self.network.to(device)
        return self


@dataclass(frozen=True)
class _Conv:
    """A 1-D convolution node and what filter analysis needs to know of it."""

    node: fx.Node
    name: str
    shape: tuple[int, ...]  # weight (F, C / groups, k)
    stride: int
    dilation: int
    groups: int
    padding: tuple[int, int]


def first_layer(model: nn.Module, layer: str | None = None) -> FirstLayer:
    """Find a model's first convolution and the stages that turn its output into activations.

    The convolution is one that reads the network's input directly (through
    layout changes, casts, zero padding of the length or element-wise
    functions only): the first such in execution order, or the one named
    ``layer``.  It must read the 4 DNA channels with stride 1 and dilation 1,
    so that each output position corresponds to one contiguous window of
    ``k`` bases.  The chain of operations that follow it and act on each
    value alone (batch norm in eval mode, activations, scaling by constants),
    each the only reader of the one before, is applied too, because the
    activation is what decides which windows the network passes on.

    Parameters
    ----------
    model
        A 1D-CNN over one-hot DNA: any traceable module, or a model loaded by
        :func:`seqsal.load_model` (a ``torch.export`` program, code and weights).
    layer
        Qualified name of the convolution to read, e.g. ``"blocks.0.0"``; it
        must read the input.  ``None`` takes the first.

    Raises
    ------
    SeqsalError
        If the model is TorchScript or cannot be traced, has no suitable
        convolution, or ``layer`` names none of those that read the input.
    """
    check(isinstance(model, nn.Module), f"filter analysis needs a torch model, got {type(model).__name__}")
    check(layer is None or isinstance(layer, str), f"layer must be a convolution's name, got {layer!r}")
    graph, label = _graph(model)
    candidates = _input_convolutions(graph)
    if not candidates:
        has_conv = any(_convolution(graph, node) is not None for node in graph.graph.nodes)
        raise SeqsalError(
            f"no Conv1d of {label} reads the input directly (only through layout changes, zero padding or "
            "element-wise functions); filter analysis needs a first layer that convolves the one-hot DNA"
            if has_conv else f"{label} has no Conv1d layer; filter analysis needs a 1D-CNN over one-hot DNA whose "
                             "first layer is a Conv1d over 4 channels")
    names = [conv.name for conv, _ in candidates]
    check(layer is None or layer in names,
          f"layer {layer!r} is not a Conv1d that reads the input of {label}; those that do: {', '.join(names)}")
    conv, before = candidates[names.index(layer) if layer is not None else 0]
    in_channels = conv.shape[1] * conv.groups
    check(in_channels == 4 and conv.groups == 1,
          f"the first Conv1d of {label} reads {in_channels} channels (groups={conv.groups}); "
          "filter analysis needs a first layer over the 4 one-hot DNA channels")
    check(conv.stride == 1 and conv.dilation == 1,
          f"the first Conv1d has stride {conv.stride} and dilation {conv.dilation}; filter analysis "
          "needs stride 1 and dilation 1, so that every output position reads one contiguous window")
    stages = _stages(graph, conv.node)
    layout = model.adapters.input_layout if isinstance(model, SequenceModel) else "NCL"
    return FirstLayer(conv.name, tuple(_describe(graph, node) for node in stages), conv.shape[2], conv.shape[0],
                      before[0] + conv.padding[0], before[1] + conv.padding[1],
                      _slice(graph, stages[-1] if stages else conv.node), layout)


def _graph(model: nn.Module) -> tuple[fx.GraphModule, str]:
    """The network's ``torch.fx`` graph and a name for it in messages."""
    network = unwrap(model)
    source = getattr(model, "source", None) or {}
    label = (Path(source["path"]).name if source.get("path") else None) or source.get("code") or type(network).__name__
    check(not isinstance(network, torch.jit.ScriptModule),
          f"{label} is a TorchScript model, whose layers filter analysis cannot follow; load the same network "
          "as a torch.export program (.pt2) or from its code and weights (code=, weights=)")
    graph = network if isinstance(network, fx.GraphModule) else trace(network)
    check(graph is not None,
          f"{label} cannot be traced by torch.fx (data-dependent control flow or non-torch code in forward), so "
          "its first layer cannot be found; export it with torch.export and load the .pt2 file")
    return graph, label


def _input_convolutions(graph: fx.GraphModule) -> list[tuple[_Conv, tuple[int, int]]]:
    """Every convolution that reads the input directly, in execution order, with the zero padding added before it."""
    placeholder = next((node for node in graph.graph.nodes if node.op == "placeholder"), None)
    padded = {placeholder: (0, 0)}  # nodes that are the input up to layout, padding and element-wise functions
    found = []
    for node in graph.graph.nodes:
        sources = [source for source in node.all_input_nodes if source in padded]
        if len(sources) != 1 or not node.args or node.args[0] is not sources[0]:
            continue
        before = padded[sources[0]]
        conv = _convolution(graph, node)
        extra = _length_padding(node)
        if conv is not None:
            found.append((conv, before))
        elif extra is not None:
            padded[node] = (before[0] + extra[0], before[1] + extra[1])
        elif _is_layout(node) or _per_position(graph, node, sources[0]):
            padded[node] = before
    return found


def _convolution(graph: fx.GraphModule, node: fx.Node) -> _Conv | None:
    """The 1-D convolution ``node`` runs (an ``nn.Conv1d``, ``F.conv1d``, ``aten.conv1d`` or ``aten.convolution``)."""
    module = module_of(graph, node)
    if module is not None:
        if not isinstance(module, nn.Conv1d):
            return None
        return _Conv(node, str(node.target), tuple(module.weight.shape), module.stride[0], module.dilation[0],
                     module.groups, _padding(module.padding, module.kernel_size[0], module.dilation[0]))
    packet = _packet(node)
    if node.target in (F.conv1d, torch.conv1d) or packet is _ATEN.conv1d:
        groups = argument(node, 6, "groups", 1)
    elif packet is _ATEN.convolution and not argument(node, 6, "transposed", False):
        groups = argument(node, 8, "groups", 1)
    else:
        return None
    weight = argument(node, 1, "weight", None)
    shape = _shape(graph, weight) if isinstance(weight, fx.Node) else None
    if shape is None or len(shape) != 3:
        return None
    stride, dilation = _single(argument(node, 3, "stride", 1)), _single(argument(node, 5, "dilation", 1))
    name = weight.target.removesuffix(".weight") if weight.op == "get_attr" else node.name
    return _Conv(node, name, shape, stride, dilation, groups,
                 _padding(argument(node, 4, "padding", 0), shape[2], dilation))


def _stages(graph: fx.GraphModule, conv: fx.Node) -> list[fx.Node]:
    """The chain after the convolution of per-position operations, each the only reader of the one before."""
    stages, end = [], conv
    while len(end.users) == 1:
        user = next(iter(end.users))
        if not _per_position(graph, user, end):
            break
        stages.append(user)
        end = user
    return stages


def _per_position(graph: fx.GraphModule, node: fx.Node, source: fx.Node) -> bool:
    """Whether ``node``'s value at each (sequence, channel, position) depends on ``source``'s there alone.

    Other tensor inputs may only be constants of the graph: batch norm's
    per-channel statistics, or a scale with one value per channel (size 1
    along the length) or in all.
    """
    constants = [other for other in node.all_input_nodes if other is not source]
    if any(other.op != "get_attr" for other in constants):
        return False
    if _is_batch_norm(graph, node):
        return True
    if is_binary(node) or _packet(node) in _ATEN_ARITHMETIC:
        return all(_is_channel_constant(graph, other) for other in constants)
    if constants:
        return False
    if _packet(node) is _ATEN.dropout or node.target is F.dropout:
        return not argument(node, 2, "train" if _packet(node) else "training", True)
    return is_elementwise(graph, node, inplace=True) or _packet(node) in _ATEN_ELEMENTWISE


def _is_batch_norm(graph: fx.GraphModule, node: fx.Node) -> bool:
    """Batch norm with running statistics in eval mode (per channel, the same for every position)."""
    module = module_of(graph, node)
    if module is not None:
        return isinstance(module, nn.BatchNorm1d) and module.running_mean is not None
    if node.target is F.batch_norm or node.target is torch.batch_norm or _packet(node) is _ATEN.batch_norm:
        return argument(node, 5, "training", False) is False
    return False


def _is_channel_constant(graph: fx.GraphModule, node: fx.Node) -> bool:
    value = call(graph, node, (), {})
    return isinstance(value, torch.Tensor) and (value.ndim == 0 or (value.ndim <= 3 and value.shape[-1] == 1))


def _is_layout(node: fx.Node) -> bool:
    """A transpose, permutation or cast: the same values, moved or retyped."""
    if node.op == "call_method":
        return node.target in _LAYOUT_METHODS
    return node.op == "call_function" and (node.target in _LAYOUT_FUNCTIONS or _packet(node) in _ATEN_LAYOUT)


def _length_padding(node: fx.Node) -> tuple[int, int] | None:
    """``(before, after)`` of a constant zero padding of the length only (``F.pad`` or ``aten.pad``/``constant_pad_nd``)."""
    packet = _packet(node)
    if packet is _ATEN.constant_pad_nd:
        pads = argument(node, 1, "pad", ()) if argument(node, 2, "value", 0) == 0 else None
    elif packet is _ATEN.pad and argument(node, 2, "mode", "constant") == "constant":
        pads = argument(node, 1, "pad", ()) if argument(node, 3, "value", None) in (None, 0) else None
    else:
        pads = length_padding(node)
    if pads is None or len(pads) != 2 or not all(isinstance(p, int) for p in pads):
        return None
    return int(pads[0]), int(pads[1])


def _padding(padding: Any, kernel: int, dilation: int) -> tuple[int, int]:
    """Zeros before and after the sequence for a convolution's ``padding``.

    PyTorch's ``"same"`` splits ``dilation · (k − 1)`` with the extra zero of an
    odd total (an even kernel) after the sequence.
    """
    if padding == "same":
        total = dilation * (kernel - 1)
        return total // 2, total - total // 2
    if padding == "valid":
        return 0, 0
    return _single(padding), _single(padding)


def _single(value: Any) -> int:
    """An int from a 1-D convolution's ``3`` or ``(3,)`` or ``[3]``."""
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def _shape(graph: fx.GraphModule, node: fx.Node) -> tuple[int, ...] | None:
    """A tensor node's shape: a constant's own, else what tracing recorded, else unknown."""
    if node.op == "get_attr":
        value = call(graph, node, (), {})
        return tuple(value.shape) if isinstance(value, torch.Tensor) else None
    value = node.meta.get("val", node.meta.get("tensor_meta"))
    shape = getattr(value, "shape", None)
    return tuple(int(size) for size in shape) if shape is not None else None


def _packet(node: fx.Node) -> Any:
    """The ATen operator of a ``call_function`` node of an exported program (any overload), else ``None``."""
    return getattr(node.target, "overloadpacket", None) if node.op == "call_function" else None


def _describe(graph: fx.GraphModule, node: fx.Node) -> str:
    module = module_of(graph, node)
    if module is not None:
        return type(module).__name__
    if _packet(node) is not None:
        return _packet(node).__name__
    return node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))


def _slice(graph: fx.GraphModule, end: fx.Node) -> fx.GraphModule:
    """A copy, in eval mode, of the nodes ``end`` is computed from, with ``end`` as the output."""
    needed, pending = set(), [end]
    while pending:
        node = pending.pop()
        if node not in needed:
            needed.add(node)
            pending.extend(node.all_input_nodes)
    sliced: fx.Graph = fx.Graph()
    copies: dict[fx.Node, fx.Node] = {}
    for node in graph.graph.nodes:
        if node in needed:
            copies[node] = sliced.node_copy(node, copies.__getitem__)
    sliced.output(copies[end])
    return copy.deepcopy(fx.GraphModule(graph, sliced)).eval()


__all__ = ["FirstLayer", "first_layer"]
