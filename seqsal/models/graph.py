"""A model as a ``torch.fx`` graph, and the vocabulary of operations the fast paths understand.

Users bring their own architectures: ``nn.Sequential`` stacks, classes with a
custom ``forward``, residual and concatenating trunks.  Rather than recognise
model *classes*, the rewrites (:mod:`seqsal.models.rewrite`) and windowed
ISM (:mod:`seqsal.attribution.windowed`) work on the model's computation graph,
obtained once by symbolic tracing, and ask of each node only what kind of
operation it is: a 1-D convolution, a pooling, an element-wise function, a
monotone one, a sum of tensors, a concatenation of channels.  Anything this
module does not recognise is simply left alone by the rewrites and makes ISM
fall back to brute force, so an unknown operation can cost speed but never
correctness.
"""

from __future__ import annotations

import copy
import operator
import sys
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import fx, nn

from seqsal.models.aten import module_form
from seqsal.models.traceable import traceable

# Element-wise modules, and which of them are monotone non-decreasing (they commute with max-pooling).
# Dropout is the identity in eval mode, which is the only mode attribution runs in.
_MONOTONE_MODULES = (nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.Softplus, nn.Hardtanh, nn.Softsign, nn.Identity)
_ELEMENTWISE_MODULES = (*_MONOTONE_MODULES, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Mish, nn.Dropout)
_MONOTONE_FUNCTIONS: set[Callable[..., Any]] = {
    F.relu, torch.relu, F.relu6, torch.sigmoid, F.sigmoid, torch.tanh, F.tanh, F.softplus, torch.exp, F.hardtanh,
}
_ELEMENTWISE_FUNCTIONS = _MONOTONE_FUNCTIONS | {F.leaky_relu, F.elu, F.gelu, F.silu, F.mish, torch.abs, operator.neg}
_MONOTONE_METHODS = {"relu", "sigmoid", "tanh", "exp"}
_ELEMENTWISE_METHODS = _MONOTONE_METHODS | {"abs", "neg"}
# Element-wise functions of several tensors (broadcasting); used by residual connections.
_BINARY_FUNCTIONS = {operator.add, operator.sub, operator.mul, operator.truediv, torch.add, torch.sub, torch.mul,
                     torch.div}
_BINARY_METHODS = {"add", "sub", "mul", "div"}
_CONCATENATIONS = {torch.cat, torch.concat, torch.concatenate}


def trace(model: nn.Module, *, verbose: bool = False) -> fx.GraphModule | None:
    """An eval-mode copy of ``model`` as a ``torch.fx`` graph, or ``None`` when it cannot be traced.

    Symbolic tracing fails on data-dependent control flow (``if x.sum() > 0``)
    and on non-torch code applied to tensors; such a model keeps its plain
    path.  Tracing happens in eval mode, so ``if self.training`` branches are
    resolved the way attribution runs them.  A user's model wrapped in
    :class:`~seqsal.models.adapter.SequenceModel` is traced through its
    adapters into its network (:mod:`seqsal.models.traceable`), and the ATen
    calls of a ``torch.export`` program are put in module form
    (:mod:`seqsal.models.aten`).  ``model`` itself is not touched.

    Parameters
    ----------
    model
        Any module.
    verbose
        Print a one-line note to stderr when the model cannot be traced.
    """
    graph, note = traced(model)
    if note is not None and verbose:
        print(note, file=sys.stderr)
    return graph


def traced(model: nn.Module) -> tuple[fx.GraphModule | None, str | None]:
    """:func:`trace`'s graph, and the note saying why there is none (``None`` when there is one)."""
    root = traceable(copy.deepcopy(model).eval())
    if root is None:
        return None, (f"seqsal: {type(model).__name__} runs in batches of a fixed size and cannot be traced; "
                      "running it as given, without graph rewrites")
    try:
        return module_form(fx.symbolic_trace(root)), None
    except Exception as error:  # tracing can fail in arbitrary user code; every failure means "run as given"
        message = str(error).splitlines()[0] if str(error) else ""
        return None, (f"seqsal: {type(model).__name__} cannot be traced ({type(error).__name__}: {message}); "
                      "running it as given, without graph rewrites")


def module_of(graph: fx.GraphModule, node: fx.Node) -> nn.Module | None:
    """The submodule a ``call_module`` node runs, else ``None``."""
    return graph.get_submodule(node.target) if node.op == "call_module" else None


def argument(node: fx.Node, index: int, name: str, default: Any) -> Any:
    """A call's argument by position or keyword, as it appears in the graph."""
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(name, default)


def is_elementwise(graph: fx.GraphModule, node: fx.Node, *, inplace: bool = False) -> bool:
    """Whether ``node`` applies a function of one tensor element by element, whatever its shape.

    In-place forms are excluded unless ``inplace`` is true: swapping or
    windowing them would change what other users of the input see, but a
    caller that only reads the value (of an input with no other user) may
    accept them.
    """
    module = module_of(graph, node)
    if module is not None:
        return isinstance(module, _ELEMENTWISE_MODULES) and (inplace or not getattr(module, "inplace", False))
    if (node.kwargs.get("inplace", False) and not inplace) or len(node.all_input_nodes) != 1:
        return False
    if node.op == "call_function":
        return node.target in _ELEMENTWISE_FUNCTIONS and (inplace or not (
            node.target in (F.relu, F.relu6) and len(node.args) > 1 and node.args[1]))
    return node.op == "call_method" and node.target in _ELEMENTWISE_METHODS


def is_monotone(graph: fx.GraphModule, node: fx.Node) -> bool:
    """Whether ``node`` is element-wise and monotone non-decreasing, so ``max(f(a), f(b)) = f(max(a, b))``.

    Leaky ReLU qualifies only with a non-negative slope, ELU only with a
    non-negative ``alpha``.
    """
    if not is_elementwise(graph, node):
        return False
    module = module_of(graph, node)
    if module is not None:
        if isinstance(module, nn.LeakyReLU):
            return module.negative_slope >= 0
        if isinstance(module, nn.ELU):
            return module.alpha >= 0
        return isinstance(module, _MONOTONE_MODULES)
    if node.target is F.leaky_relu:
        return argument(node, 1, "negative_slope", 0.01) >= 0
    if node.target is F.elu:
        return argument(node, 1, "alpha", 1.0) >= 0
    return node.target in _MONOTONE_FUNCTIONS or (node.op == "call_method" and node.target in _MONOTONE_METHODS)


def is_binary(node: fx.Node) -> bool:
    """Whether ``node`` is an element-wise sum, difference, product or quotient (broadcasting)."""
    if node.kwargs.get("out") is not None:
        return False
    return ((node.op == "call_function" and node.target in _BINARY_FUNCTIONS)
            or (node.op == "call_method" and node.target in _BINARY_METHODS))


def concatenated_dim(node: fx.Node) -> int | None:
    """The dimension a ``torch.cat`` node joins along, or ``None`` for any other node."""
    if node.op != "call_function" or node.target not in _CONCATENATIONS:
        return None
    return argument(node, 1, "dim", 0)


def length_padding(node: fx.Node) -> tuple[int, int] | None:
    """``(before, after)`` of an ``F.pad`` call that zero-pads (or crops) the last dimension only, else ``None``."""
    if not (node.op == "call_function" and node.target is F.pad):
        return None
    pad, mode, value = argument(node, 1, "pad", ()), argument(node, 2, "mode", "constant"), argument(node, 3, "value", 0)
    if mode != "constant" or value not in (0, None, 0.0) or not isinstance(pad, (tuple, list)) or len(pad) != 2:
        return None
    return pad[0], pad[1]


def same_padding(conv: nn.Conv1d) -> tuple[int, int]:
    """Zeros before and after the sequence that ``padding="same"`` adds, as PyTorch places them.

    The total ``dilation · (kernel − 1)`` is split with the extra zero of an odd
    total (an even kernel) going *after* the sequence.
    """
    total = conv.dilation[0] * (conv.kernel_size[0] - 1)
    return total // 2, total - total // 2


def conv_padding(conv: nn.Conv1d) -> tuple[int, int]:
    """Zeros before and after the sequence that a zero-padded ``Conv1d`` adds."""
    if conv.padding == "same":
        return same_padding(conv)
    if conv.padding == "valid":
        return 0, 0
    return conv.padding[0], conv.padding[0]


def call(graph: fx.GraphModule, node: fx.Node, args: tuple, kwargs: dict) -> Any:
    """Run one node's operation on the given arguments (which need not be the graph's own values)."""
    if node.op == "call_module":
        return graph.get_submodule(node.target)(*args, **kwargs)
    if node.op == "call_function":
        return node.target(*args, **kwargs)
    if node.op == "call_method":
        return getattr(args[0], node.target)(*args[1:], **kwargs)
    if node.op == "get_attr":
        target: Any = graph
        for name in node.target.split("."):
            target = getattr(target, name)
        return target
    raise ValueError(f"cannot call a {node.op!r} node")


def evaluate(graph: fx.GraphModule, node: fx.Node, values: dict[fx.Node, Any]) -> Any:
    """A node's value, given the values of the nodes it reads."""
    args = fx.node.map_arg(node.args, values.__getitem__)
    kwargs = fx.node.map_arg(node.kwargs, values.__getitem__)
    return call(graph, node, args, kwargs)
