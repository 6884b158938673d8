"""ATen-level graphs (from ``torch.export``) rewritten into the module-level vocabulary the fast paths read.

A ``torch.export`` program's ``module()`` is already an fx graph, but at the
level of ATen operators: ``aten.conv1d.default(x, weight, bias, …)`` with the
weights as ``get_attr`` nodes, ``aten.batch_norm.default``, ``aten.relu.default``,
and input checks (``torch._assert`` on ``x.size()``).  The rewrites and
windowed ISM recognise layers as modules (``nn.Conv1d``, ``nn.BatchNorm1d``…)
and functions as their ``torch`` names, so :func:`module_form` turns the
ATen calls they need into that form, sharing the program's own tensors.  The
result computes the same function; an ATen call not listed here is left as
it is (which only means that the fast paths do not see through it).

The input checks are dropped: they compare the input's shape with the one
the program was exported for, which seqsal checks before running a model,
and windowed ISM feeds windows of other lengths through single layers.
"""

from __future__ import annotations

import operator
from typing import Any

import torch
import torch.nn.functional as F
from torch import fx, nn
from torch.nn.utils import skip_init

aten = torch.ops.aten

# ATen operators that are plain functions of their tensor arguments, as the torch functions graph.py knows.
_FUNCTIONS = {
    aten.relu.default: torch.relu, aten.sigmoid.default: torch.sigmoid, aten.tanh.default: torch.tanh,
    aten.exp.default: torch.exp, aten.abs.default: torch.abs, aten.neg.default: operator.neg,
    aten.gelu.default: F.gelu, aten.silu.default: F.silu, aten.mish.default: F.mish, aten.elu.default: F.elu,
    aten.leaky_relu.default: F.leaky_relu, aten.softplus.default: F.softplus, aten.hardtanh.default: F.hardtanh,
    aten.mul.Tensor: operator.mul, aten.div.Tensor: operator.truediv, aten.cat.default: torch.cat,
    aten.flatten.using_ints: torch.flatten, aten.mean.dim: torch.mean, aten.sum.dim_IntList: torch.sum,
    aten.amax.default: torch.amax, aten.pad.default: F.pad,
}


class AnyBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Eval-mode batch normalisation over dimension 1 of an input of any rank (what ``aten.batch_norm`` computes)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        return None


def module_form(graph: fx.GraphModule) -> fx.GraphModule:
    """Rewrite ``graph``'s ATen layer calls into modules and its ATen functions into ``torch`` ones, in place."""
    changed = False
    for node in list(graph.graph.nodes):
        if node.op != "call_function":
            continue
        if node.target is torch._assert:
            graph.graph.erase_node(node)
            changed = True
        elif node.target in _FUNCTIONS:
            node.target = _FUNCTIONS[node.target]
            changed = True
        elif node.target in (aten.add.Tensor, aten.sub.Tensor) and node.kwargs.get("alpha", 1) == 1:
            node.target = operator.add if node.target is aten.add.Tensor else operator.sub
            node.kwargs = {}
            changed = True
        elif node.target is aten.dropout.default and not (len(node.args) > 2 and node.args[2]):
            node.replace_all_uses_with(node.args[0])
            graph.graph.erase_node(node)
            changed = True
        else:
            changed |= _as_module(graph, node)
    if changed:
        graph.graph.eliminate_dead_code()
        graph.recompile()
        graph.delete_all_unused_submodules()
    return graph


def _as_module(graph: fx.GraphModule, node: fx.Node) -> bool:
    """Replace an ATen convolution, linear layer, batch norm or pooling by a module call; whether it did."""
    if not node.args or node.kwargs or not isinstance(node.args[0], fx.Node):
        return False
    arguments = [_constant(graph, arg) if isinstance(arg, fx.Node) else arg for arg in node.args[1:]]
    if any(isinstance(arg, fx.Node) and value is None for arg, value in zip(node.args[1:], arguments)):
        return False  # a tensor argument computed from the input, or a symbolic size
    module = _module(node.target, arguments)
    if module is None:
        return False
    graph.add_submodule(node.name, module)
    with graph.graph.inserting_before(node):
        call = graph.graph.call_module(node.name, (node.args[0],))
    node.replace_all_uses_with(call)
    graph.graph.erase_node(node)
    return True


def _module(target: Any, arguments: list[Any]) -> nn.Module | None:
    """The module computing ATen ``target`` on an input and the constant ``arguments`` after it, or ``None``."""
    if target is aten.conv1d.default:
        weight, bias, stride, padding, dilation, groups = _padded(arguments, (None, None, 1, 0, 1, 1))
        conv = skip_init(nn.Conv1d, weight.shape[1] * groups, weight.shape[0], weight.shape[2],
                         stride=_single(stride), padding=_single(padding), dilation=_single(dilation), groups=groups,
                         bias=bias is not None, device=weight.device, dtype=weight.dtype)
        return _holding(conv, weight=weight, bias=bias)
    if target is aten.linear.default:
        weight, bias = _padded(arguments, (None, None))
        linear = skip_init(nn.Linear, weight.shape[1], weight.shape[0], bias=bias is not None, device=weight.device,
                           dtype=weight.dtype)
        return _holding(linear, weight=weight, bias=bias)
    if target is aten.batch_norm.default:
        weight, bias, mean, var, training, _, eps, _ = _padded(arguments, (None,) * 4 + (False, 0.1, 1e-5, False))
        if training or mean is None or var is None:
            return None
        norm = AnyBatchNorm(len(mean), eps=eps, affine=weight is not None, device=mean.device, dtype=mean.dtype)
        norm.running_mean, norm.running_var = mean, var
        return _holding(norm.eval(), weight=weight, bias=bias)
    if target is aten.max_pool1d.default:
        kernel, stride, padding, dilation, ceil_mode = _padded(arguments, (None, (), 0, 1, False))
        return nn.MaxPool1d(_single(kernel), _single(stride) or _single(kernel), _single(padding), _single(dilation),
                            ceil_mode=ceil_mode)
    return None


def _padded(arguments: list[Any], defaults: tuple[Any, ...]) -> list[Any]:
    """Positional ``arguments`` completed with the operator's ``defaults``."""
    return [*arguments, *defaults[len(arguments):]]


def _holding(module: nn.Module, **tensors: torch.Tensor | None) -> nn.Module:
    """``module`` with the program's own tensors as its parameters (shared, not copied)."""
    for name, tensor in tensors.items():
        if tensor is not None:
            setattr(module, name, tensor if isinstance(tensor, nn.Parameter)
                    else nn.Parameter(tensor, requires_grad=False))
    return module


def _constant(graph: fx.GraphModule, node: fx.Node) -> torch.Tensor | None:
    """The tensor a ``get_attr`` node reads, else ``None``."""
    if node.op != "get_attr":
        return None
    value: Any = graph
    for name in node.target.split("."):
        value = getattr(value, name)
    return value if isinstance(value, torch.Tensor) else None


def _single(value: Any) -> Any:
    """``[k]`` → ``k`` (ATen passes 1-D sizes as one-element lists); ``[]`` → ``None``."""
    if isinstance(value, (list, tuple)):
        return value[0] if len(value) == 1 else (None if not value else value)
    return value
