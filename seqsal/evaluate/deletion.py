"""Deletion and insertion curves (Petsiuk et al., BMVC 2018), adapted to DNA: does the map rank what the model uses?

Positions are ranked by their per-position score; *deletion* replaces the
top-``k`` positions of a sequence, *insertion* starts from the replacement and
restores them.  A faithful map makes the target logit fall fast under
deletion and rise fast under insertion.  The same curves for a random ranking
are the reference, because the absolute numbers depend on the model and on
the replacement.

Conventions follow the package: one-hot ``X`` is ``(N, 4, L)``, attributions
``(N, 4, L)``, per-position scores ``(N, L)`` are projected attributions summed
over the four rows (:func:`seqsal.attribution.per_position`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from torch import nn

from seqsal.attribution import per_position
from seqsal.attribution.base import batch_slices, frozen_model, resolve_target, target_scalar
from seqsal.checks import check_choice, check_int
from seqsal.choices import OUTPUTS, REPLACEMENTS
from seqsal.encoding import decode, dinucleotide_shuffles, one_hot
from seqsal.errors import check
from seqsal.models import as_input_tensor, resolve_device

CURVES = ("deletion", "insertion", "random_deletion", "random_insertion")
"""The four curves of :class:`PerturbationCurves`, in the order they are stored and drawn."""


@dataclass(frozen=True, eq=False)
class PerturbationCurves:
    """Deletion and insertion curves of a target output, per sequence.

    Every curve array is ``(N, K)``: one row per sequence, one column per
    entry of ``k``.  Column ``j`` of a deletion curve is the model's output
    after the ``k[j]`` top-ranked positions were replaced; of an insertion
    curve, after they were restored into the fully replaced sequence.  So all
    four curves start or end at the same two points: the original sequence
    (deletion at ``k = 0``, insertion at ``k = L``) and the full replacement
    (deletion at ``k = L``, insertion at ``k = 0``).

    Attributes
    ----------
    k
        ``(K,)`` numbers of perturbed positions, increasing, always including
        ``0`` and ``length``.
    length
        Sequence length ``L``.
    replacement
        What replaced the deleted positions (see :func:`deletion_insertion`).
    deletion_logit, deletion_probability
        Ranking by attribution, top positions replaced.
    insertion_logit, insertion_probability
        Ranking by attribution, top positions restored.
    random_deletion_logit, random_deletion_probability, random_insertion_logit, random_insertion_probability
        The same with one uniformly random ranking per sequence.
    """

    k: np.ndarray
    length: int
    replacement: str
    deletion_logit: np.ndarray
    deletion_probability: np.ndarray
    insertion_logit: np.ndarray
    insertion_probability: np.ndarray
    random_deletion_logit: np.ndarray
    random_deletion_probability: np.ndarray
    random_insertion_logit: np.ndarray
    random_insertion_probability: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        """``k / L``: the x axis of the curves and of the AUC, in ``[0, 1]``."""
        return self.k / self.length

    def curve(self, name: str, output: str = "logit") -> np.ndarray:
        """The ``(N, K)`` curve ``name`` (one of :data:`CURVES`) of ``output`` (``"logit"`` or ``"probability"``)."""
        check_choice(name, "curve", CURVES)
        check_choice(output, "output", OUTPUTS)
        return getattr(self, f"{name}_{output}")

    def mean_curves(self) -> pd.DataFrame:
        """Curves averaged over sequences: columns ``k``, ``fraction`` and ``<curve>_<output>`` for all eight."""
        table = pd.DataFrame({"k": self.k, "fraction": self.fraction})
        for output in OUTPUTS:
            for name in CURVES:
                table[f"{name}_{output}"] = self.curve(name, output).mean(axis=0)
        return table

    def auc(self) -> pd.DataFrame:
        """Areas under the mean curves, raw and normalised; one row per curve and output.

        ``auc`` is the trapezoidal area under the curve averaged over
        sequences, ``f̄(t)``, over ``t = k / L`` in ``[0, 1]``: the mean output
        while the perturbation sweeps from none to all positions, in the
        output's units.

        ``normalised_auc`` rescales the mean curve so that the original
        sequence scores 1 and the full replacement 0, i.e.
        ``(auc - f̄_R) / (f̄_X - f̄_R)`` with ``f̄_X`` the mean output on the
        original sequences and ``f̄_R`` on their full replacements.  It removes
        the model's scale and the replacement's offset so that methods, models
        and replacements are comparable: a perturbation whose effect grows
        linearly with ``k`` (what a random ranking gives on average for an
        additive model) scores 0.5; a faithful ranking scores well below 0.5
        for deletion and above 0.5 for insertion.  It is ``nan`` when
        ``f̄_X == f̄_R`` and unstable when they are close (an untrained model,
        or sequences whose output the replacement hardly moves, e.g. negatives
        under a shuffle): there is little to attribute, so compare the raw
        ``auc`` with the random reference instead.

        Returns
        -------
        pandas.DataFrame
            Columns ``curve``, ``output``, ``auc``, ``normalised_auc``.
        """
        rows = []
        for output in OUTPUTS:
            deletion = self.curve("deletion", output)
            original, replaced = deletion[:, 0].mean(), deletion[:, -1].mean()
            for name in CURVES:
                area = float(np.trapezoid(self.curve(name, output).mean(axis=0), self.fraction))
                normalised = (area - replaced) / (original - replaced) if original != replaced else np.nan
                rows.append({"curve": name, "output": output, "auc": area, "normalised_auc": float(normalised)})
        return pd.DataFrame(rows)


def deletion_insertion(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    attributions: np.ndarray,
    *,
    target: int | str = 0,
    steps: int = 20,
    fractions: Sequence[float] | None = None,
    replacement: str = "shuffle",
    random_state: int | None = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    absolute: bool = False,
) -> PerturbationCurves:
    """Deletion and insertion curves for a ranking of positions by attribution.

    Positions are ranked by per-position score, **descending**: the bases
    with the strongest positive evidence for the target come first, so a
    faithful map makes the target fall fastest under deletion.  Negative
    scores rank last (removing evidence *against* the target raises it),
    unless ``absolute`` ranks by magnitude.  Ties keep sequence order (a
    stable sort), so the ranking is deterministic.

    The deleted positions are replaced with something a DNA model has seen,
    never with all-zero columns: zeros are ``N`` bases, off the data
    distribution, and a curve on them measures the model's reaction to
    unfamiliar input as much as the importance of what was removed.

    Inputs for many ``(sequence, k, curve)`` triples are built on the device
    and share forward passes of ``batch_size`` rows, so the whole sweep costs
    ``4 · N · K / batch_size`` passes.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``; its mode, device and
        ``requires_grad`` flags are restored before this returns.
    X
        One-hot sequences ``(N, 4, L)``.
    attributions
        ``(N, 4, L)`` attributions, hypothetical or projected (they are
        projected onto ``X`` and summed over the rows either way), or ``(N, L)``
        per-position scores used as given.
    target
        The output, by index or by the model's output name.
    steps
        Number of equal steps in ``k / L`` from 0 to 1 (``K = steps + 1``
        points, fewer if rounding to whole positions merges some); use
        ``steps >= L`` for every ``k``.
    fractions
        Explicit fractions of ``L`` in ``[0, 1]`` instead of ``steps``; they are
        rounded to whole positions, and ``0`` and ``1`` are always added so the
        AUC spans ``[0, 1]``.
    replacement
        ``"shuffle"`` (default): a dinucleotide-shuffled copy of the sequence,
        which keeps its base and dinucleotide composition, so the curve
        measures the loss of arrangement, not of composition.  ``"random"``:
        independent uniformly random bases.  ``"uniform"``: 0.25 in every row,
        the expectation over random bases (deterministic, but not a sequence).
    random_state
        Seed for the replacement and for the random reference ranking.
    batch_size
        Perturbed sequences per forward pass; results do not depend on it.
    device
        Where to compute; CUDA when available by default.
    absolute
        Rank positions by ``|score|``: strong evidence either way first.  A
        map whose sign is unreliable (ReLU models, ``saliency``) or that marks
        repressor sites negative is judged on what it highlights.

    Returns
    -------
    PerturbationCurves
        Per-sequence curves of the target logit and its sigmoid probability;
        ``.auc()`` gives the areas, ``.mean_curves()`` the averages.
    """
    check_choice(replacement, "replacement", REPLACEMENTS)
    check_int(batch_size, "batch_size", minimum=1)
    onehot = as_input_tensor(X, model, "X")
    n, _, length = onehot.shape
    scores = _per_position_scores(attributions, onehot.numpy())
    k = _k_grid(length, steps, fractions)
    rng = np.random.default_rng(random_state)
    replaced = torch.from_numpy(_replacement(onehot.numpy(), replacement, rng))
    ranks = np.stack([_ranks(np.abs(scores) if absolute else scores), np.argsort(rng.random((n, length)), axis=1)])
    index = resolve_target(model, target)
    where = resolve_device(device)

    logits = np.empty(len(CURVES) * n * len(k), dtype=np.float64)
    with frozen_model(model, where), torch.inference_mode():
        originals, replacements = onehot.to(where), replaced.to(where)
        rank_table = torch.from_numpy(ranks).to(where)
        k_table = torch.from_numpy(k).to(where)
        for part in batch_slices(logits.size, batch_size):
            job = torch.arange(part.start, part.stop, device=where)
            curve, sequence, column = job // (n * len(k)), (job // len(k)) % n, job % len(k)
            chosen = rank_table[curve // 2, sequence] < k_table[column, None]
            # Deletion takes the replacement at chosen positions; insertion everywhere else.
            use_replacement = (chosen != (curve % 2 == 1)[:, None])[:, None, :]
            inputs = torch.where(use_replacement, replacements[sequence], originals[sequence])
            logits[part] = target_scalar(model, inputs, index, "logit").double().cpu().numpy()

    by_curve = logits.reshape(len(CURVES), n, len(k))
    probabilities = expit(by_curve)
    fields = {}
    for position, name in enumerate(CURVES):
        fields[f"{name}_logit"] = by_curve[position]
        fields[f"{name}_probability"] = probabilities[position]
    return PerturbationCurves(k=k, length=length, replacement=replacement, **fields)


def _per_position_scores(attributions: np.ndarray | torch.Tensor, onehot: np.ndarray) -> np.ndarray:
    """``(N, L)`` scores from ``(N, 4, L)`` attributions (projected onto ``onehot``) or as given."""
    if isinstance(attributions, torch.Tensor):
        attributions = attributions.detach().cpu().numpy()
    values = np.asarray(attributions, dtype=np.float64)
    n, _, length = onehot.shape
    check(
        values.shape in ((n, 4, length), (n, length)),
        f"attributions have shape {values.shape} but X has {onehot.shape}; pass (N, 4, L) attributions "
        "or (N, L) per-position scores of the same sequences",
    )
    check(np.isfinite(values).all(), "attributions contain NaN or infinite values; check the attribution run")
    return per_position(values * onehot) if values.ndim == 3 else values


def _k_grid(length: int, steps: int, fractions: Sequence[float] | None) -> np.ndarray:
    """Increasing whole numbers of positions, always including 0 and ``length``."""
    if fractions is None:
        fractions = np.linspace(0.0, 1.0, check_int(steps, "steps", minimum=1) + 1)
    values = np.asarray(fractions, dtype=np.float64)
    check(
        values.ndim == 1 and values.size > 0 and np.all((values >= 0) & (values <= 1)),
        f"fractions must be a non-empty list of numbers in [0, 1], got {list(np.ravel(values))}",
    )
    return np.unique(np.concatenate([[0, length], np.rint(values * length)])).astype(np.int64)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every position (0 = highest score), ties broken by position."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :], axis=1)
    return ranks


def _replacement(onehot: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The fully replaced version of every sequence (see ``replacement`` in :func:`deletion_insertion`)."""
    n, _, length = onehot.shape
    if kind == "shuffle":
        shuffled = [copies[0] for copies in dinucleotide_shuffles(decode(onehot), 1, rng)]
        return one_hot(shuffled)
    if kind == "random":
        bases = rng.integers(0, 4, size=(n, length))
        return np.ascontiguousarray(np.moveaxis(np.eye(4, dtype=np.float32)[bases], -1, 1))
    return np.full(onehot.shape, 0.25, dtype=np.float32)
