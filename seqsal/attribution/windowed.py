"""Windowed ISM: recompute only the part of each activation that a substitution can change.

A substitution at position ``p`` changes the output of a stride-1 convolution
only at the positions whose kernel covers ``p``; an element-wise function
keeps that window, a pooling maps it to the few pooled positions that read it,
the next convolution widens it by its own reach, a residual sum or a channel
concatenation takes the union of its inputs' windows.  So for a *local* trunk
the mutant's activations equal the reference's everywhere but in a small
window per layer (the idea behind fastISM, Nair et al. 2022).  This module
plans that computation on the model's ``torch.fx`` graph, whatever the model's
class:

* the **trunk** is every node computed from the input by local operations:
  stride-1 ``Conv1d`` (any kernel, dilation, groups and zero padding), ``F.pad``
  of the length, max/average pooling, element-wise functions and per-channel
  BatchNorm, element-wise sums and products, concatenation along channels;
* a **boundary** leaves the trunk: a flatten (when a ``Linear`` reads it, the
  change of that layer's output is the product of the changed feature columns
  of its weight with the changed features), or a mean, sum or max over length;
* the **head** is everything after the boundaries; it runs in full on the
  mutants, which is cheap because it has no length dimension.

A reference pass caches the activations the windows are cut from; then the
mutants of a few consecutive positions, for all cached sequences, run together
through the union of their windows.  A convolution of the input itself is not
run at all: a substitution changes one one-hot column, so its output changes
by the weight columns of the new base minus those of the old one.  Anything else in the trunk (attention, recurrence, a global
statistic used inside the trunk, strided convolution, an unknown module or
function) makes :func:`plan` return ``None`` and ISM runs by brute force.
"""

from __future__ import annotations

import functools
from collections import ChainMap
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from seqsal.attribution.base import select_scalar
from seqsal.attribution.parallel import map_on_cores, one_thread_per_operation
from seqsal.models.graph import (
    argument,
    concatenated_dim,
    conv_padding,
    evaluate,
    is_binary,
    is_elementwise,
    length_padding,
    module_of,
)

@dataclass(frozen=True)
class _Step:
    """How one trunk node maps a window of changed input positions to its own, and recomputes it.

    ``kind`` is ``"conv"``, ``"pool"`` or ``"pad"`` (one input, positions
    shifted and widened: output ``o`` reads inputs ``o·stride − before`` to
    ``o·stride − before + reach − 1``) or ``"pointwise"`` (any number of
    inputs of the same length, output window = union of the input windows).
    """

    node: fx.Node
    kind: str
    sources: tuple[fx.Node, ...]  # the trunk nodes it reads
    length: int  # of its output
    before: int = 0  # padding before the sequence
    reach: int = 1  # input positions one output reads: dilation · (kernel − 1) + 1
    stride: int = 1
    fill: float = 0.0  # value of the padding
    module: nn.Module | None = None


@dataclass(frozen=True)
class _Boundary:
    """A node that reduces a trunk tensor to one without a length dimension."""

    node: fx.Node  # whose mutant value this computes
    source: fx.Node  # the trunk node it reads
    kind: str  # "linear" (flatten then Linear), "flatten", "mean", "sum" or "max"
    shape: tuple[int, ...]  # per-sequence shape of the result
    weight: torch.Tensor | None = None  # "linear": (L, C, H), a window of positions is one slice


@dataclass(frozen=True)
class Plan:
    """A traced model taken apart for windowed recomputation; build it with :func:`plan`."""

    graph: fx.GraphModule
    steps: tuple[_Step, ...]
    boundaries: tuple[_Boundary, ...]
    head: tuple[fx.Node, ...]  # input-dependent nodes after the boundaries, in order
    cached: frozenset[fx.Node]  # trunk nodes whose reference value windows are cut from
    output: fx.Node
    input: fx.Node
    first_layers: frozenset[fx.Node]  # convolutions of the input itself, recomputed from their weight columns


def plan(graph: fx.GraphModule, example: torch.Tensor) -> Plan | None:
    """The windowed plan for ``graph`` (as from ``rewritten_graph``), or ``None`` when its trunk is not local.

    Parameters
    ----------
    graph
        A traced eval-mode model with a single input.
    example
        One input ``(1, 4, L)``; shapes of every node are taken from a run on it.
    """
    placeholders = [node for node in graph.graph.nodes if node.op == "placeholder"]
    if len(placeholders) != 1:
        return None
    _record_shapes(graph, example)
    trunk: dict[fx.Node, _Step] = {placeholders[0]: _Step(placeholders[0], "input", (), example.shape[2])}
    boundaries: dict[fx.Node, _Boundary] = {}
    head: list[fx.Node] = []
    output = None
    for node in graph.graph.nodes:
        if node.op == "placeholder" or node in boundaries:
            continue
        if node.op == "output":
            output = node
            if any(source in trunk for source in node.all_input_nodes):
                return None
            continue
        sources = [source for source in node.all_input_nodes if source in trunk or source in boundaries
                   or source in head]
        if not sources:  # a constant: get_attr, or a computation on parameters only
            continue
        if not any(source in trunk for source in sources):
            head.append(node)
            continue
        if not all(source in trunk for source in sources):
            return None  # mixes positions with something already reduced over positions
        step = _trunk_step(graph, node, sources)
        if step is not None:
            trunk[node] = step
            continue
        boundary = _boundary(graph, node, sources[0]) if len(sources) == 1 else None
        if boundary is None:
            return None
        boundaries[boundary.node] = boundary
    if output is None or not boundaries or not (isinstance(output.args[0], fx.Node)
                                                 and (output.args[0] in head or output.args[0] in boundaries)):
        return None
    steps = tuple(step for step in trunk.values() if step.kind != "input")
    cached = {source for step in steps if step.kind != "pointwise" or len(step.sources) > 1 for source in step.sources}
    cached |= {boundary.source for boundary in boundaries.values()}
    first_layers = {step.node for step in steps if step.kind == "conv" and step.sources == (placeholders[0],)
                    and step.module.groups == 1}
    return Plan(graph, steps, tuple(boundaries.values()), tuple(head), frozenset(cached | first_layers), output,
                placeholders[0], frozenset(first_layers))


def _record_shapes(graph: fx.GraphModule, example: torch.Tensor) -> None:
    """Run ``example`` through the graph and note each tensor node's shape in ``node.meta["shape"]``."""
    values: dict[fx.Node, Any] = {}
    for node in graph.graph.nodes:
        if node.op == "output":
            break
        values[node] = example if node.op == "placeholder" else evaluate(graph, node, values)
        node.meta["shape"] = tuple(values[node].shape) if isinstance(values[node], torch.Tensor) else None


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    return node.meta.get("shape")


def _trunk_step(graph: fx.GraphModule, node: fx.Node, sources: list[fx.Node]) -> _Step | None:
    """The step for a local operation on trunk tensors, or ``None``."""
    shape = _shape(node)
    if shape is None or len(shape) != 3:
        return None
    length = shape[2]
    module = module_of(graph, node)
    if len(sources) == 1 and node.args and node.args[0] is sources[0]:
        if isinstance(module, nn.Conv1d):
            if module.stride != (1,) or module.padding_mode != "zeros" or len(node.args) != 1 or node.kwargs:
                return None
            before, _ = conv_padding(module)
            reach = module.dilation[0] * (module.kernel_size[0] - 1) + 1
            return _Step(node, "conv", tuple(sources), length, before, reach, module=module)
        if isinstance(module, (nn.MaxPool1d, nn.AvgPool1d)):
            return _pool_step(node, sources[0], module, length)
        padding = length_padding(node)
        if padding is not None:
            return _Step(node, "pad", tuple(sources), length, padding[0], 1)
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.running_mean is not None:
            return _Step(node, "pointwise", tuple(sources), length)  # per channel: a function of each position
    input_lengths = {_shape(source)[2] for source in sources}
    if input_lengths != {length} or not all(_broadcasts_over_length(arg) for arg in node.all_input_nodes
                                            if arg not in sources):
        return None
    if is_elementwise(graph, node) or is_binary(node) or concatenated_dim(node) in (1, -2):
        return _Step(node, "pointwise", tuple(dict.fromkeys(sources)), length)
    return None


def _pool_step(node: fx.Node, source: fx.Node, pool: nn.Module, length: int) -> _Step | None:
    if getattr(pool, "return_indices", False) or len(node.args) != 1 or node.kwargs:
        return None
    kernel, stride, padding = (_single(value) for value in (pool.kernel_size, pool.stride, pool.padding))
    if isinstance(pool, nn.MaxPool1d):
        dilation = _single(pool.dilation)
        return _Step(node, "pool", (source,), length, padding, dilation * (kernel - 1) + 1, stride,
                     float("-inf"), pool)
    if padding != 0 or pool.ceil_mode:  # average pooling counts padding; keep it simple and exact
        return None
    return _Step(node, "pool", (source,), length, 0, kernel, stride, 0.0, pool)


def _single(value: int | tuple[int, ...]) -> int:
    """A 1-D module's size argument, given as ``k`` or ``(k,)``."""
    return value[0] if isinstance(value, tuple) else value


def _broadcasts_over_length(node: fx.Node) -> bool:
    """Whether a constant operand has no length dimension of its own (a scalar, or size 1 in the last dim)."""
    shape = _shape(node)
    return shape is None or len(shape) == 0 or shape[-1] == 1


def _boundary(graph: fx.GraphModule, node: fx.Node, source: fx.Node) -> _Boundary | None:
    """The boundary for a reduction of a trunk tensor over its length, or ``None``."""
    shape = _shape(node)
    if shape is None or node.args[0] is not source:
        return None
    module = module_of(graph, node)
    if _is_flatten(graph, node):
        users = list(node.users)
        linear = module_of(graph, users[0]) if len(users) == 1 else None
        if isinstance(linear, nn.Linear) and users[0].args == (node,) and not users[0].kwargs:
            channels, length = _shape(source)[1:]
            weight = linear.weight.detach().view(-1, channels, length).permute(2, 1, 0).contiguous()
            return _Boundary(users[0], source, "linear", _shape(users[0])[1:], weight)
        return _Boundary(node, source, "flatten", shape[1:])
    if isinstance(module, nn.AdaptiveAvgPool1d) and module.output_size in (1, (1,)):
        return _Boundary(node, source, "mean", shape[1:])
    if isinstance(module, nn.AdaptiveMaxPool1d) and module.output_size in (1, (1,)) and not module.return_indices:
        return _Boundary(node, source, "max", shape[1:])
    reductions = {"mean": "mean", "sum": "sum", "amax": "max"}
    name = node.target if node.op == "call_method" else getattr(node.target, "__name__", None)
    if node.op in ("call_method", "call_function") and name in reductions and node.target in (
            name, torch.mean, torch.sum, torch.amax):
        dim = argument(node, 1, "dim", None)
        dim = dim[0] if isinstance(dim, (tuple, list)) and len(dim) == 1 else dim
        extra = set(node.kwargs) - {"dim", "keepdim"}
        if dim in (2, -1) and not extra and len(node.args) <= 3:
            return _Boundary(node, source, reductions[name], shape[1:])
    return None


def _is_flatten(graph: fx.GraphModule, node: fx.Node) -> bool:
    module = module_of(graph, node)
    if isinstance(module, nn.Flatten):
        return module.start_dim == 1 and module.end_dim == -1
    if (node.op == "call_function" and node.target is torch.flatten) or (
            node.op == "call_method" and node.target == "flatten"):
        return argument(node, 1, "start_dim", 0) == 1 and argument(node, 2, "end_dim", -1) == -1
    return False


# Mutants run through the windows in one pass: several positions' mutants together cut the per-pass overhead
# (every layer is a few small tensor operations) while keeping memory bounded.
MUTANTS_PER_PASS = 512
MAX_POSITIONS_PER_PASS = 4


def windowed_deltas(
    plan: Plan,
    x: torch.Tensor,
    bases: np.ndarray,
    target: int,
    output: str,
    start: int,
    end: int,
    positions_per_pass: int | None = None,
    workers: int = 1,
) -> torch.Tensor:
    """Deltas ``(n, 4, L)`` for a chunk of sequences, recomputing only each mutant's affected windows.

    The mutants of ``positions_per_pass`` consecutive positions (by default
    as many as keep a pass near ``MUTANTS_PER_PASS`` mutants, at most
    ``MAX_POSITIONS_PER_PASS``) run together: the three substitutions of
    every sequence at each position, and base 0 at a column that is not
    one-hot.  Each layer recomputes the union of their windows, which is a
    little wider than one position's but replaces ``positions_per_pass``
    passes of small tensor operations by one.  The reference base is not
    run: its delta is 0 by definition.

    The passes are independent given the reference, so ``workers`` of them
    run at once (:func:`~seqsal.attribution.parallel.map_on_cores`).  On CPU
    every operation runs on one thread, the reference pass included, so the
    deltas do not depend on ``workers`` or on torch's thread count.
    """
    with one_thread_per_operation(x.device):
        reference = _reference(plan, x)
        scores = select_scalar(reference[plan.output.args[0]], target, output)
        n = len(x)
        if positions_per_pass is None:
            positions_per_pass = max(1, min(MAX_POSITIONS_PER_PASS, MUTANTS_PER_PASS // max(3 * n, 1)))
        rows, positions, substituted = _substitutions(torch.from_numpy(bases).to(x.device), start, end)

        def run(first: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
            chosen = (positions >= first) & (positions < first + positions_per_pass)
            row, position, base = rows[chosen], positions[chosen], substituted[chosen]
            mutants = _Mutants(plan, reference, x, row, position, base, first, int(position.max()) + 1)
            return row, base, position, _mutant_scores(plan, reference, mutants, target, output) - scores[row]

        passes = map_on_cores(run, range(start, end, positions_per_pass), workers)
    deltas = torch.zeros_like(x)
    for row, base, position, delta in passes:
        deltas[row, base, position] = delta
    return deltas


def _substitutions(bases: torch.Tensor, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(sequence, position, base)`` of every single-base substitution at ``start <= position < end``.

    Every base but the reference; all four at a column that is not one-hot (reference index 4).
    """
    span = bases[:, start:end]
    substituted = torch.arange(4, device=bases.device) != span[:, :, None]  # (n, width, 4)
    row, position, base = torch.nonzero(substituted, as_tuple=True)
    return row, position + start, base


def _reference(plan: Plan, x: torch.Tensor) -> dict[Any, Any]:
    """Every node's value on the reference sequences; trunk values kept only where windows are cut from them."""
    values: dict[Any, Any] = {}
    for node in plan.graph.graph.nodes:
        if node.op == "placeholder":
            values[node] = x
        elif node.op != "output":
            values[node] = evaluate(plan.graph, node, values)
    for step in plan.steps:
        if step.node not in plan.cached:
            del values[step.node]
    for boundary in plan.boundaries:
        if boundary.kind == "max":  # the maximum left and right of any window
            source = values[boundary.source]
            values[boundary, "prefix"] = source.cummax(dim=2).values
            values[boundary, "suffix"] = source.flip(2).cummax(dim=2).values.flip(2)
    return values


@dataclass
class _Window:
    """Mutant values of one trunk node at positions ``first .. first + width − 1``; the reference elsewhere."""

    first: int
    values: torch.Tensor  # (M, C, width)

    @property
    def end(self) -> int:
        return self.first + self.values.shape[2]


class _Mutants:
    """Mutants being run through the windows, each node's changed window, and how to read any span of a node.

    Mutant ``m`` is cached sequence ``rows[m]`` with base ``bases[m]`` put at
    ``positions[m]``; all positions lie in ``first .. last − 1``, the input
    window every mutant carries.
    """

    def __init__(self, plan: Plan, reference: dict[Any, Any], x: torch.Tensor, rows: torch.Tensor,
                 positions: torch.Tensor, bases: torch.Tensor, first: int, last: int) -> None:
        self.reference, self.rows, self.positions, self.first = reference, rows, positions, first
        index = torch.arange(len(rows), device=x.device)
        columns = x[rows, :, first:last]  # (M, 4, width): the reference around each substitution
        self.change = -columns[index, :, positions - first]  # (M, 4): new column − old column
        self.change[index, bases] += 1
        columns[index, :, positions - first] += self.change
        self.windows: dict[fx.Node, _Window | None] = {plan.input: _Window(first, columns)}

    def own(self, key: Any, *index: Any) -> torch.Tensor:
        """The reference value ``reference[key][:, *index]`` of each mutant's own sequence."""
        return self.reference[key][(slice(None), *index)].index_select(0, self.rows)

    def cut(self, node: fx.Node, low: int, high: int, fill: float = 0.0) -> torch.Tensor:
        """Mutant values of a trunk node at positions ``low .. high − 1``, ``fill`` outside the sequence.

        Put together in one copy from the fill, the reference left and right
        of the node's changed window, and the window itself; a span inside
        the window is a view of it (no operation in the trunk is in place).
        """
        length = self.reference[node].shape[2]
        a, b = max(low, 0), min(high, length)
        window = self.windows.get(node)
        if window is None or window.end <= a or b <= window.first:
            pieces = [self.own(node, slice(None), slice(a, b))]
        else:
            lo, hi = max(a, window.first), min(b, window.end)
            pieces = [window.values[:, :, lo - window.first : hi - window.first]]
            if a < lo:
                pieces.insert(0, self.own(node, slice(None), slice(a, lo)))
            if hi < b:
                pieces.append(self.own(node, slice(None), slice(hi, b)))
        shape = pieces[0].shape[:2]
        if low < a:
            pieces.insert(0, pieces[0].new_full((*shape, a - low), fill))
        if high > b:
            pieces.append(pieces[0].new_full((*shape, high - b), fill))
        return pieces[0] if len(pieces) == 1 else torch.cat(pieces, dim=2)


def _mutant_scores(plan: Plan, reference: dict[Any, Any], mutants: _Mutants, target: int, output: str) -> torch.Tensor:
    """The explained scalar ``(M,)`` of the mutants."""
    for step in plan.steps:
        mutants.windows[step.node] = _recompute(plan, step, mutants)
    values = ChainMap({boundary.node: _leave(boundary, mutants) for boundary in plan.boundaries}, reference)
    for node in plan.head:
        values[node] = evaluate(plan.graph, node, values)
    return select_scalar(values[plan.output.args[0]], target, output)


def _recompute(plan: Plan, step: _Step, mutants: _Mutants) -> _Window | None:
    """The window of ``step``'s output that differs from the reference, with its mutant values."""
    inputs = [mutants.windows.get(source) for source in step.sources]
    if all(window is None for window in inputs):
        return None
    if step.kind == "pointwise":
        low = min(window.first for window in inputs if window is not None)
        high = max(window.end for window in inputs if window is not None)
        if len(step.sources) == 1:
            gathered = {step.sources[0]: inputs[0].values}
        else:
            gathered = {source: mutants.cut(source, low, high) for source in step.sources}
        return _Window(low, evaluate(plan.graph, step.node, ChainMap(gathered, mutants.reference)))
    (window,) = inputs
    # Output o reads inputs o·stride − before .. o·stride − before + reach − 1.
    low = max(-(-(window.first + step.before - step.reach + 1) // step.stride), 0)
    high = min((window.end - 1 + step.before) // step.stride + 1, step.length)
    if low >= high:
        return None  # the change reaches only positions the operation drops
    if step.node in plan.first_layers:
        return _Window(low, _first_layer(step, mutants, low, high))
    first, last = low * step.stride - step.before, (high - 1) * step.stride - step.before + step.reach
    if step.kind == "conv":
        return _Window(low, _conv(step, mutants, first, last))
    source = mutants.cut(step.sources[0], first, last, step.fill)
    if step.kind == "pad":
        return _Window(low, source)
    if isinstance(step.module, nn.MaxPool1d):
        return _Window(low, _max_pool(source, step))
    return _Window(low, F.avg_pool1d(source, step.module.kernel_size, step.module.stride))


def _conv(step: _Step, mutants: _Mutants, first: int, last: int) -> torch.Tensor:
    """The convolution of the mutants' input positions ``first .. last − 1`` (zeros outside the sequence).

    Where the window runs past both ends (late layers of a dilated trunk
    cover the whole sequence), the padding the two ends share is the
    convolution's own: no padded copy of the widest windows is made.
    """
    length = mutants.reference[step.sources[0]].shape[2]
    shared = max(min(-first, last - length), 0)
    source = mutants.cut(step.sources[0], first + shared, last - shared)
    module = step.module
    return F.conv1d(source, module.weight, module.bias, 1, shared, module.dilation, module.groups)


def _max_pool(source: torch.Tensor, step: _Step) -> torch.Tensor:
    """``F.max_pool1d`` of an already padded window, as the maximum of the kernel's strided slices.

    The same maxima; ``F.max_pool1d`` on CPU was 1.5–2.7× slower on the
    small windows of ISM (96 mutants × 60–256 channels × 8–16 positions).
    """
    dilation = _single(step.module.dilation)
    width = (source.shape[2] - step.reach) // step.stride + 1
    taps = range(0, step.reach, dilation)  # reach = dilation · (kernel − 1) + 1
    return functools.reduce(torch.maximum, (source[:, :, tap : tap + (width - 1) * step.stride + 1 : step.stride]
                                            for tap in taps))


def _first_layer(step: _Step, mutants: _Mutants, low: int, high: int) -> torch.Tensor:
    """A convolution of the input at outputs ``low .. high − 1``: the reference plus the weight columns of the change.

    Each mutant changes one input column by ``change`` (the new base's
    indicator minus the old column), so output ``o`` changes by
    ``W[:, :, j] · change`` where tap ``j`` reads that column:
    ``o = position + before − j·dilation``.  One small matrix product
    replaces the convolution of the whole window.
    """
    weight = step.module.weight  # (C, 4, k)
    taps = weight.shape[2]
    effect = torch.einsum("cbj,mb->mcj", weight, mutants.change)  # (M, C, k)
    where = mutants.positions[:, None] + step.before - step.module.dilation[0] * torch.arange(
        taps, device=weight.device) - low  # (M, k) output index in the window
    width = high - low
    where = torch.where((where >= 0) & (where < width), where, width)  # taps outside the window: a spare column
    changed = effect.new_zeros(effect.shape[0], effect.shape[1], width + 1)
    changed.scatter_add_(2, where[:, None, :].expand_as(effect), effect)
    return mutants.own(step.node, slice(None), slice(low, high)) + changed[:, :, :width]


def _leave(boundary: _Boundary, mutants: _Mutants) -> torch.Tensor:
    """The mutants' value ``(M, ...)`` of a boundary node, from the reference and the source's changed window."""
    own = mutants.own(boundary.node)
    window = mutants.windows.get(boundary.source)
    if window is None:
        return own
    length = mutants.reference[boundary.source].shape[2]
    if boundary.kind == "flatten":
        return mutants.cut(boundary.source, 0, length).flatten(1)
    if boundary.kind == "max":
        parts = [window.values.amax(dim=2)]
        for key, index in (("prefix", window.first - 1), ("suffix", window.end)):
            if 0 <= index < length:
                parts.append(mutants.own((boundary, key), slice(None), index))
        return torch.stack(parts).amax(dim=0).view(own.shape)
    # The rest are linear in the window: apply them to the mutants' window and to the (fewer) reference rows.
    def linear(values: torch.Tensor) -> torch.Tensor:
        if boundary.kind == "linear":
            columns = boundary.weight[window.first : window.end].flatten(0, 1)  # (width · C, H)
            return values.transpose(1, 2).flatten(1) @ columns
        total = values.sum(dim=2)
        return total / length if boundary.kind == "mean" else total

    reference = linear(mutants.reference[boundary.source][:, :, window.first : window.end])
    return own + (linear(window.values) - reference.index_select(0, mutants.rows)).view(own.shape)
