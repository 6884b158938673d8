"""Stability (Yeh et al., NeurIPS 2019): substituting a few unimportant bases should not rewrite the map.

A large relative change of the explanation under such substitutions means the
map is unstable, whatever it highlights.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.attribution import method_options as accepted_options
from seqsal.attribution.base import as_onehot_array, batch_slices
from seqsal.checks import check_int
from seqsal.errors import check

def max_sensitivity(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    *,
    target: int | str = 0,
    output: str = "logit",
    correct: bool = False,
    n_samples: int = 10,
    n_substitutions: int = 1,
    exclude_top: int = 10,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    method_options: dict | None = None,
) -> np.ndarray:
    """Relative max-sensitivity (Yeh et al. 2019) under random base substitutions.

    For each sequence ``x`` with projected attributions ``A(x)``::

        sensitivity(x) = max over x' of ||A(x') - A(x)||_F / ||A(x)||_F

    where each of the ``n_samples`` perturbed copies ``x'`` carries
    ``n_substitutions`` single-base substitutions at distinct positions,
    each base changed to one of the three others, uniformly.  Substitutions
    avoid the ``exclude_top`` positions with the largest ``|per-position
    score|`` (strong negative evidence is as important as strong positive) and
    ``N`` positions: changing an important base legitimately changes the
    explanation, while changing an unimportant one should not.  Dividing by
    ``||A(x)||`` makes the number comparable across methods and models with
    different attribution scales (Captum's ``sensitivity_max`` leaves it
    unnormalised).  Projected attributions move with the base at a substituted
    position, so even a constant gradient gives a non-zero sensitivity there;
    this is the floor any method pays.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``.
    X
        One-hot sequences ``(N, 4, L)``.
    method, target, output, correct
        As for :func:`seqsal.attribution.attribute`.
    n_samples
        Perturbed copies per sequence; the maximum over more samples is larger.
    n_substitutions
        Bases changed in each copy.
    exclude_top
        How many top positions are never substituted.
    random_state
        Seed; each sequence draws from its own stream, so results do not
        depend on ``batch_size``.
    batch_size, device
        As for :func:`seqsal.attribution.attribute`; ``batch_size`` also bounds
        how many sequences' perturbed copies are held at once.
    method_options
        Method-specific options passed to :func:`seqsal.attribution.attribute`.
        A stochastic method (one with an ``offset`` option: SmoothGrad,
        sampled baselines, LIME, KernelSHAP) explains every perturbed copy
        with the random draws of its original sequence, so the result does
        not depend on ``batch_size`` and does not count sampling noise as
        instability.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64; ``nan`` where ``A(x)`` is all zero (no relative
        change is defined).
    """
    n_samples = check_int(n_samples, "n_samples", minimum=1)
    n_substitutions = check_int(n_substitutions, "n_substitutions", minimum=1)
    exclude_top = check_int(exclude_top, "exclude_top", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    onehot = as_onehot_array(X)
    options = dict(method_options or {})
    seeded = "offset" in accepted_options(method)
    first = options.pop("offset", 0)

    def explain(inputs: np.ndarray, start: int = 0) -> np.ndarray:
        """Attributions of ``inputs`` whose row ``j`` draws the random numbers of sequence ``start + j``."""
        seeding = {"offset": first + start} if seeded else {}
        return attribute(model, inputs, method, target, output=output, correct=correct, batch_size=batch_size,
                         device=device, **options, **seeding).astype(np.float64)

    reference = explain(onehot)
    scores = per_position(reference)
    streams = np.random.SeedSequence(random_state).spawn(len(onehot))
    sensitivity = np.empty(len(onehot))
    for part in batch_slices(len(onehot), batch_size):
        perturbed = np.stack([
            _substituted(onehot[i], scores[i], n_samples, n_substitutions, exclude_top, streams[i], i)
            for i in range(part.start, part.stop)
        ])
        if seeded:
            # A stochastic method (noise, sampled baselines) explains each copy with its sequence's own
            # draws, so the distance measures the substitution, not a fresh sample of the method's noise.
            changed = np.stack([explain(perturbed[:, s], part.start) for s in range(n_samples)], axis=1)
        else:
            changed = explain(perturbed.reshape(-1, *onehot.shape[1:])).reshape(perturbed.shape)
        distance = np.sqrt(((changed - reference[part, None]) ** 2).sum(axis=(2, 3)))
        norm = np.sqrt((reference[part] ** 2).sum(axis=(1, 2)))
        with np.errstate(invalid="ignore", divide="ignore"):
            sensitivity[part] = np.where(norm > 0, distance.max(axis=1) / norm, np.nan)
    return sensitivity


def _substituted(
    sequence: np.ndarray,
    scores: np.ndarray,
    n_samples: int,
    n_substitutions: int,
    exclude_top: int,
    seed: np.random.SeedSequence,
    index: int,
) -> np.ndarray:
    """``n_samples`` copies of one ``(4, L)`` sequence, each with substitutions at distinct allowed positions."""
    rng = np.random.default_rng(seed)
    allowed = sequence.sum(axis=0) == 1
    allowed[np.argsort(-np.abs(scores), kind="stable")[:exclude_top]] = False
    candidates = np.flatnonzero(allowed)
    check(
        candidates.size >= n_substitutions,
        f"sequence {index + 1} has only {candidates.size} substitutable positions outside the top {exclude_top} "
        f"and N bases, fewer than n_substitutions={n_substitutions}; lower exclude_top or n_substitutions",
    )
    positions = candidates[np.argsort(rng.random((n_samples, candidates.size)), axis=1)[:, :n_substitutions]]
    bases = (sequence.argmax(axis=0)[positions] + rng.integers(1, 4, size=positions.shape)) % 4
    copies = np.repeat(sequence[None], n_samples, axis=0)
    samples = np.arange(n_samples)[:, None]
    copies[samples, :, positions] = 0
    copies[samples, bases, positions] = 1
    return copies
