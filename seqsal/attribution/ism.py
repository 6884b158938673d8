"""In-silico saturation mutagenesis (ISM): the exact effect of every single-base substitution.

For each position ``i`` and each base ``b`` that is not already there, ISM
builds the mutant ``x[i := b]``, runs the model and records
``Δ[b, i] = S(x[i := b]) - S(x)`` for the explained scalar ``S`` (a logit by
default).  :func:`ism_deltas` returns these raw deltas (0 at the reference
base); :func:`ism` returns them mean-centred over the four bases at every
position, as hypothetical scores, so that projecting onto the sequence gives
``-mean(Δ[:, i])``: how much the observed base beats the average of the four.

Why it is trusted, and how it fails
-----------------------------------
Unlike gradients, ISM is not a local approximation: every number is a real
model output, so saturated motifs (zero gradient, large effect when broken)
are seen.  It is exact *for single substitutions only*.  It is blind to
epistasis and redundancy: when a sequence holds two copies of a motif, breaking
either one leaves the other, the output barely moves, and both copies look
unimportant although removing both would change everything.  Cooperative motifs
(both needed) fail the other way: breaking either loses the whole effect, so
each gets full credit and the scores add up to more than the pair is worth.
The hypothetical rows also report gains: a substitution that *creates* a motif
shows up as a large effect of a base that is not in the sequence at all.

How it is made fast
-------------------
Brute force runs the model ``3L`` times per sequence.  For the enhancer CNN
(:class:`~seqsal.models.EnhancerCNN`) almost all of that work is repeated: a
substitution at position ``p`` changes the first convolution's output only at
the ``k`` positions whose kernel covers ``p``, batch norm and the activation
are element-wise, max pooling maps that window to a few pooled positions, the
next convolution widens it by its own kernel, and so on.  The first layer of
the head is linear (a flattened dense layer, or a mean over length followed by
one), so its change is the weight columns of the changed features times the
changed features.  The fast path therefore runs the reference sequence once,
caches every block's convolution output and pooled output, and for each
mutant recomputes only the affected window of each block (a few positions
instead of ``L``), splicing it into the cached reference and keeping windows
aligned to the pooling grid.  All mutants of one position (across a chunk of
sequences) share the same windows, so they run as one batch of small dense
operations.  The result equals brute force up to float32 rounding.  Any other
model runs through the brute-force path.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqsal.attribution.base import (
    OUTPUTS,
    as_onehot_array,
    batch_slices,
    frozen_model,
    resolve_target,
    target_scalar,
)
from seqsal.errors import check
from seqsal.models import EnhancerCNN, Exponential, resolve_device

_ELEMENTWISE_ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, Exponential)


def ism_deltas(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    *,
    target: int | str = 0,
    output: str = "logit",
    start: int | None = None,
    end: int | None = None,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Raw ISM: ``S(mutant) - S(x)`` for every single-base substitution.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` float32 to logits ``(N, T)``.  An
        :class:`~seqsal.models.EnhancerCNN` takes the fast windowed path;
        any other module is run on every mutant.  Its mode, device and
        ``requires_grad`` flags are restored before this returns.
    X
        One-hot sequences ``(N, 4, L)``; ``(4, L)`` is one sequence.  A
        position that is not one-hot (an ``N``, an all-zero column) gets all
        four substitutions.
    target
        The output to explain, by index or by the model's output name.
    output
        ``"logit"`` (default) or ``"probability"`` (sigmoid of the logit; it
        saturates, so large effects in confident sequences look small).
    start, end
        Mutate only positions ``start <= i < end`` (default: all); deltas
        outside that window are 0.
    batch_size
        Full-length sequences held at once: reference sequences (whose
        activations the fast path caches) or mutants (brute force).  Bounds
        memory, not results.
    device
        Where to compute; CUDA when available by default.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``: ``Δ[n, b, i]``, 0 at each reference base and
        outside the window.

    Raises
    ------
    SeqsalError
        For a bad shape, sequence length, window, output, target or batch size.
    """
    check(output in OUTPUTS, f"unknown output {output!r}; choose one of {list(OUTPUTS)}")
    check(
        isinstance(batch_size, (int, np.integer)) and not isinstance(batch_size, bool) and batch_size > 0,
        f"batch_size must be a positive integer, got {batch_size!r}",
    )
    onehot = as_onehot_array(X)
    length = onehot.shape[2]
    start, end = _window(length, start, end)
    if isinstance(model, EnhancerCNN):
        check(
            length == model.config.input_length,
            f"X has sequences of length {length} but the model reads {model.config.input_length}; "
            "crop or pad them with seqsal.encoding.fit_length",
        )
    target = resolve_target(model, target)
    device = resolve_device(device)
    bases = _reference_bases(onehot)
    with frozen_model(model, device), torch.inference_mode():
        plan = _fast_plan(model)
        if plan is None:
            mutable = np.arange(4)[None, :, None] != bases[:, None, :]
            mutable[:, :, :start] = mutable[:, :, end:] = False
            return _brute_force_deltas(model, onehot, mutable, target, output, batch_size, device)
        deltas = np.zeros_like(onehot)
        for part in batch_slices(len(onehot), batch_size):
            x = torch.from_numpy(onehot[part]).to(device)
            deltas[part] = _windowed_deltas(plan, x, bases[part], target, output, start, end).cpu().numpy()
        return deltas


def ism(
    model: nn.Module,
    X: np.ndarray,
    *,
    target: int,
    output: str,
    correct: bool,
    batch_size: int,
    device: torch.device,
    start: int | None = None,
    end: int | None = None,
) -> np.ndarray:
    """ISM as hypothetical scores: the deltas of :func:`ism_deltas`, mean-centred over the four bases.

    Centring puts every position on the same footing whatever its reference
    base: the projected score of the observed base is minus the mean delta,
    positive where substitutions hurt on average.  ``correct`` is accepted
    for the common call shape and changes nothing: the deltas are
    differences between valid one-hot sequences, so there is no off-simplex
    gradient noise to remove, and the centring is already the same operation.

    Parameters
    ----------
    start, end
        Mutate only positions ``start <= i < end``; scores elsewhere are 0.
    others
        As in :func:`seqsal.attribution.attribute`.

    Returns
    -------
    numpy.ndarray
        float32 ``(N, 4, L)``, summing to 0 over the bases at every position.
    """
    deltas = ism_deltas(
        model, X, target=target, output=output, start=start, end=end, batch_size=batch_size, device=device
    )
    return deltas - deltas.mean(axis=1, keepdims=True)


def _window(length: int, start: int | None, end: int | None) -> tuple[int, int]:
    """Validate the mutated window ``[start, end)``; ``None`` means the sequence's edge."""
    start = 0 if start is None else start
    end = length if end is None else end
    for name, value in (("start", start), ("end", end)):
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool),
            f"ISM window {name} must be an integer position, got {value!r}",
        )
    check(
        0 <= start < end <= length,
        f"ISM window start={start}, end={end} does not fit sequences of length {length}; "
        f"give 0 <= start < end <= {length}",
    )
    return int(start), int(end)


def _reference_bases(onehot: np.ndarray) -> np.ndarray:
    """``(N, L)``: the index of the base at each position, or 4 where the column is not one-hot (an N).

    Every base but the reference is substituted; a column that is not
    one-hot has no reference, so all four are.
    """
    is_base = (onehot == 1) & (onehot.sum(axis=1, keepdims=True) == 1)
    return np.where(is_base.any(axis=1), is_base.argmax(axis=1), 4)


def _brute_force_deltas(
    model: nn.Module,
    onehot: np.ndarray,
    mutable: np.ndarray,
    target: int,
    output: str,
    batch_size: int,
    device: torch.device,
) -> np.ndarray:
    """Run the model on every mutant, ``batch_size`` mutants at a time."""
    deltas = np.zeros_like(onehot)
    if len(onehot) == 0:
        return deltas
    reference = np.concatenate(
        [
            target_scalar(model, torch.from_numpy(onehot[part]).to(device), target, output).cpu().numpy()
            for part in batch_slices(len(onehot), batch_size)
        ]
    )
    rows, bases, positions = np.nonzero(mutable)
    for part in batch_slices(len(rows), batch_size):
        row, base, position = rows[part], bases[part], positions[part]
        mutants = onehot[row]
        mutant = np.arange(len(row))
        mutants[mutant, :, position] = 0
        mutants[mutant, base, position] = 1
        scores = target_scalar(model, torch.from_numpy(mutants).to(device), target, output).cpu().numpy()
        deltas[row, base, position] = scores - reference[row]
    return deltas


# For a reference base r (0-3), the three others; a column that is not one-hot (index 4: an N) gets the same three
# bases plus a separate pass for base 0.
_ALTERNATIVES = torch.tensor([[1, 2, 3], [0, 2, 3], [0, 1, 3], [0, 1, 2], [1, 2, 3]])


@dataclass(frozen=True)
class _Block:
    """One convolution block, prepared for windowed recomputation."""

    conv: nn.Conv1d
    norm: nn.BatchNorm1d
    activation: nn.Module
    matrix: torch.Tensor  # (C_in, k * C_out): every kernel tap at once, batch-norm scale folded in
    kernel: int
    right: int  # "same" padding after the sequence; PyTorch puts the extra pad of an even kernel there
    pool: int


@dataclass(frozen=True)
class _Plan:
    """An EnhancerCNN taken apart for windowed recomputation."""

    blocks: tuple[_Block, ...]
    gap: bool  # head: mean over length (True) or flatten (False)
    first: nn.Linear  # the first (linear) layer after the convolution blocks
    rest: nn.Module  # everything from there to the logits


def _fast_plan(model: nn.Module) -> _Plan | None:
    """The windowed plan for an eval-mode EnhancerCNN of the standard shape, else ``None`` (brute force).

    Every assumption the windowed arithmetic makes is checked here, so a
    modified model falls back to the exact brute-force path instead of
    giving wrong numbers.
    """
    if not isinstance(model, EnhancerCNN) or type(model).forward is not EnhancerCNN.forward:
        return None
    blocks = []
    for block in model.blocks:
        if len(block) != 4:
            return None
        conv, norm, activation, pool = block
        if not (
            type(conv) is nn.Conv1d
            and conv.padding == "same"
            and conv.padding_mode == "zeros"
            and conv.stride == (1,)
            and conv.dilation == (1,)
            and conv.groups == 1
            and type(norm) is nn.BatchNorm1d
            and norm.running_mean is not None
            and isinstance(activation, _ELEMENTWISE_ACTIVATIONS)
            and type(pool) is nn.MaxPool1d
            and pool.kernel_size == pool.stride
            and pool.padding == 0
            and pool.dilation == 1
            and not pool.ceil_mode
            and not pool.return_indices
        ):
            return None
        scale = torch.rsqrt(norm.running_var + norm.eps)
        if norm.weight is not None:
            scale = scale * norm.weight
        matrix = (conv.weight * scale[:, None, None]).permute(1, 2, 0).flatten(1).contiguous()
        kernel = conv.kernel_size[0]
        blocks.append(_Block(conv, norm, activation, matrix, kernel, kernel // 2, pool.kernel_size))
    layers = list(model.dense) + [model.output]
    if not isinstance(layers[0], nn.Linear):
        return None
    return _Plan(tuple(blocks), model.config.head == "gap", layers[0], nn.Sequential(*layers[1:]))


def _windowed_deltas(
    plan: _Plan,
    x: torch.Tensor,
    bases: np.ndarray,
    target: int,
    output: str,
    start: int,
    end: int,
) -> torch.Tensor:
    """Deltas ``(n, 4, L)`` for a chunk of sequences, recomputing only each mutant's affected windows.

    The reference pass caches every block's batch-normed convolution output
    and pooled output, length-major ``(n, L, C)`` so that a window of
    positions is one contiguous slice.  Then, position by position, the
    three substitutions of every sequence run together.
    """
    pres, pooled = [], []
    activation = x
    for block in plan.blocks:
        pre = block.norm(block.conv(activation))
        activation = F.max_pool1d(block.activation(pre), block.pool)
        pres.append(pre.transpose(1, 2).contiguous())
        pooled.append(activation.transpose(1, 2).contiguous())
    final_length = activation.shape[2]
    features = activation.mean(dim=2) if plan.gap else activation.flatten(1)
    hidden = plan.first(features)
    reference = target_scalar(plan.rest, hidden, target, output)
    weight = plan.first.weight
    if not plan.gap:  # (H, C * Lf) viewed as (Lf, C, H): a window of positions is one slice
        weight = weight.view(weight.shape[0], activation.shape[1], final_length).permute(2, 1, 0).contiguous()

    def scores(change: torch.Tensor, first: int, rows: torch.Tensor | None) -> torch.Tensor | None:
        """Delta of the explained scalar ``(n, A)`` for input changes ``(n, A, 1, 4)`` at ``first``."""
        window = _propagate(plan.blocks, pres, pooled, change, first, rows)
        if window is None:  # the substitution only reaches positions that pooling drops
            return None
        change, first = window
        n, alternatives, span, channels = change.shape
        if plan.gap:
            hidden_change = (change.sum(dim=2) / final_length) @ weight.T
        else:
            columns = weight[first : first + span].flatten(0, 1)
            hidden_change = change.reshape(n, alternatives, span * channels) @ columns
        own = hidden if rows is None else hidden[rows]
        mutant = target_scalar(plan.rest, (own[:, None] + hidden_change).flatten(0, 1), target, output)
        return mutant.view(n, alternatives) - (reference if rows is None else reference[rows])[:, None]

    alternatives = _ALTERNATIVES.to(x.device)[torch.from_numpy(bases).to(x.device)]  # (n, L, 3)
    eye = torch.eye(4, dtype=x.dtype, device=x.device)
    deltas = torch.zeros_like(x)
    for position in range(start, end):
        column = x[:, :, position]
        alternative = alternatives[:, position]
        delta = scores((eye[alternative] - column[:, None])[:, :, None], position, None)
        if delta is not None:
            deltas[:, :, position].scatter_(1, alternative, delta)
        (unknown,) = np.nonzero(bases[:, position] == 4)
        if len(unknown):  # a column that is not one-hot: base 0 is a substitution too
            rows = torch.from_numpy(unknown).to(x.device)
            delta = scores((eye[0] - column[rows])[:, None, None], position, rows)
            if delta is not None:
                deltas[rows, 0, position] = delta[:, 0]
    return deltas


def _propagate(
    blocks: tuple[_Block, ...],
    pres: list[torch.Tensor],
    pooled: list[torch.Tensor],
    change: torch.Tensor,
    first: int,
    rows: torch.Tensor | None,
) -> tuple[torch.Tensor, int] | None:
    """Carry an input change through the blocks, one affected window at a time.

    ``change`` ``(n, A, w, C)`` is mutant minus reference at block-input
    positions ``first .. first + w - 1`` (zero elsewhere) for ``A`` mutants
    of each of ``n`` sequences: all cached sequences, or ``rows`` of them.
    Convolution is linear, so its (batch-normed) output changes by the full
    convolution of ``change``, at positions ``first - right .. first + w - 1 +
    left``.  The pooled outputs covering those positions are recomputed from
    the cached output plus that change, over a window aligned to the pooling
    grid, and their difference to the cached pooled output is the next
    block's input change.  Returns the change of the last block's output and
    its first position, or ``None`` when it no longer reaches any output.
    """
    for block, pre, out in zip(blocks, pres, pooled):
        n, alternatives, width, _ = change.shape
        kernel, pool = block.kernel, block.pool
        # taps[..., i, t, :] is kernel tap t applied to input position first + i; it lands on output
        # position first + i + (kernel - 1 - t) - right.
        taps = (change @ block.matrix).view(n, alternatives, width, kernel, -1)
        offset = first - block.right  # first output position a tap can reach
        reach = offset + width + kernel - 1  # one past the last
        pool_low = max(offset, 0) // pool
        pool_high = min(-(-reach // pool), out.shape[1])
        if pool_low >= pool_high:
            return None
        a, b = pool_low * pool, pool_high * pool
        reference_pre, reference_out = pre[:, a:b], out[:, pool_low:pool_high]
        if rows is not None:
            reference_pre, reference_out = reference_pre[rows], reference_out[rows]
        window = reference_pre[:, None].repeat(1, alternatives, 1, 1)
        for tap in range(kernel):
            lands = offset + kernel - 1 - tap  # output position of input position `first`
            low, high = max(lands, a), min(lands + width, b)
            if low < high:
                window[:, :, low - a : high - a] += taps[:, :, low - lands : high - lands, tap]
        new = block.activation(window).view(n, alternatives, pool_high - pool_low, pool, -1).amax(dim=3)
        change = new - reference_out[:, None]
        first = pool_low
    return change, first
