"""The explanations a shortcut run scores: attribution methods, and the model-blind motif prior.

:func:`explain` turns a method label of :mod:`~seqsal.experiments.shortcut.config`
(a registered method, optionally ``_corrected``, or ``motif_prior``) into
hypothetical scores ``(N, 4, L)``, so every label is scored the same way.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from torch import nn

from seqsal.attribution import attribute, method_options
from seqsal.experiments.shortcut.config import MOTIF_PRIOR, parse_method
from seqsal.motifs import Motif, scan

def motif_prior(X: np.ndarray, motifs: Sequence[Motif]) -> np.ndarray:
    """A model-blind "explanation": how well the best motif window covering each position matches.

    Every window of every motif on both strands that scores above zero
    log2-odds (more likely under the motif than under a uniform background;
    :func:`seqsal.motifs.scan`) spreads its score, divided by the motif's best
    possible score, over the positions it covers; each position keeps the
    best.  It ranks motif instances first by construction, so it is as
    plausible as a map can be, and it never looks at a model, so it cannot
    be faithful to one.

    Returns
    -------
    numpy.ndarray
        ``(N, L)`` float32 scores in [0, 1].
    """
    X = np.asarray(X)
    prior = np.zeros((X.shape[0], X.shape[2]), dtype=np.float32)
    best = {motif.id: best_log_odds(motif) for motif in motifs}
    for hit in scan(X, motifs, threshold=0.0):
        window = prior[hit.sequence_index, hit.start : hit.end]
        np.maximum(window, hit.score / best[hit.motif_id], out=window)
    return prior


def best_log_odds(motif: Motif) -> float:
    """The highest log2-odds score any window can reach: the sum of the column maxima.

    Dividing a window's score by it puts motifs of different widths and
    information content on one scale, where 1 is the consensus.
    """
    return float(motif.log_odds().max(axis=0).sum())


def explain(
    model: nn.Module,
    X: np.ndarray,
    method: str,
    motifs: Sequence[Motif],
    *,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Hypothetical scores ``(N, 4, L)`` of one method label (see :func:`parse_method`).

    ``motif_prior`` has no hypothetical scores; its per-position score is put
    on the observed base, so projecting onto the sequence gives it back.
    ``random_state`` seeds the methods that draw noise or references.
    """
    base, corrected = parse_method(method)
    if base == MOTIF_PRIOR:
        return motif_prior(X, motifs)[:, None, :] * X
    options = {"random_state": random_state} if "random_state" in method_options(base) else {}
    return attribute(model, X, base, correct=corrected, hypothetical=True, batch_size=batch_size,
                     device=device, **options)

