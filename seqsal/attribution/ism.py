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
Brute force runs the model ``3L`` times per sequence (the reference base
needs no run: its delta is 0).  Almost all of that work is repeated when the
model's trunk is *local* (convolutions, element-wise functions, pooling,
residual sums, channel concatenations): a substitution changes each layer
only in a window of a few positions.  :mod:`seqsal.attribution.windowed`
plans that computation on the model's traced graph (whatever its class, a
user's model loaded from code and weights or from a ``torch.export`` program
included) and recomputes only the windows, the mutants of a few positions at
once; the result equals brute force up to float32 rounding.  The passes are
independent, so on CPU they run on ``torch.get_num_threads()`` threads with
every operation single-threaded (:mod:`seqsal.attribution.parallel`): small
operations do not use several cores well, independent passes do, and the
deltas are the same whatever the thread count.  A model that cannot be traced,
or whose trunk holds a non-local operation (attention, recurrence, a global
statistic), runs every mutant, in batches.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqsal.attribution.base import (
    OUTPUTS,
    as_onehot_array,
    batch_slices,
    frozen_model,
    resolve_target,
    target_scalar,
)
from seqsal.models.rewrite import rewritten_graph
from seqsal.attribution.parallel import workers_for
from seqsal.attribution.windowed import Plan, plan, windowed_deltas
from seqsal.errors import check
from seqsal.models import resolve_device


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
        Maps ``(N, 4, L)`` float32 to logits ``(N, T)``.  A traceable model
        with a local trunk takes the fast windowed path; any other module is
        run on every mutant.  Its mode, device and ``requires_grad`` flags
        are restored before this returns.
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
        Where to compute; CUDA when available by default.  On CPU the fast
        path runs ``torch.get_num_threads()`` passes at once, each on one
        thread; torch's thread setting, process-wide, is 1 meanwhile and is
        restored before this returns.

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
    expected = getattr(getattr(model, "config", None), "input_length", length)
    check(
        length == expected,
        f"X has sequences of length {length} but the model reads {expected}; "
        "crop or pad them with seqsal.encoding.fit_length",
    )
    target = resolve_target(model, target)
    device = resolve_device(device)
    bases = _reference_bases(onehot)
    with frozen_model(model, device), torch.inference_mode():
        plan = fast_plan(model, onehot[:1], device)
        if plan is None:
            mutable = np.arange(4)[None, :, None] != bases[:, None, :]
            mutable[:, :, :start] = mutable[:, :, end:] = False
            return _brute_force_deltas(model, onehot, mutable, target, output, batch_size, device)
        deltas = np.zeros_like(onehot)
        for part in batch_slices(len(onehot), batch_size):
            x = torch.from_numpy(onehot[part]).to(device)
            deltas[part] = windowed_deltas(plan, x, bases[part], target, output, start, end,
                                           workers=workers_for(device)).cpu().numpy()
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


def fast_plan(model: nn.Module, example: np.ndarray, device: torch.device) -> Plan | None:
    """The windowed plan for ``model`` (rewritten: padding explicit, BatchNorm folded), or ``None`` for brute force.

    ``example`` is one sequence ``(1, 4, L)`` used to learn every layer's shape.
    """
    if len(example) == 0:
        return None
    graph = rewritten_graph(model)
    return None if graph is None else plan(graph, torch.from_numpy(example).to(device))
