"""Summaries of attribution maps: how much of a map falls where.

Several analyses ask the same question of a per-position map: what share of
its absolute attribution falls inside a mask (the planted adapter in the
shortcut experiment, artifact positions in the audit, the background in the
pitfalls).  It is computed here once, with one convention for the edge case.
"""

from __future__ import annotations

import numpy as np

from seqsal.errors import check


def mask_share(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Share of absolute per-position attribution that falls inside ``mask``, per sequence.

    ``Σ_{l ∈ mask} |s_l| / Σ_l |s_l|``.  The absolute value counts evidence
    against the target as attention too: a model that uses an element as
    strong negative evidence relies on it as much as one that uses it as
    positive evidence.  A map that attributes uniformly scores the mask's
    share of the positions (the chance level).

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores.
    mask
        ``(N, L)`` bool, True on the positions of interest.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` shares in [0, 1]; ``nan`` for a sequence whose scores are all
        zero, where the share is undefined (a zero would claim "nothing on the
        mask", which an all-zero map does not say).
    """
    magnitude = np.abs(np.asarray(scores, dtype=np.float64))
    mask = np.asarray(mask, dtype=bool)
    check(magnitude.shape == mask.shape, f"scores have shape {magnitude.shape} but the mask has {mask.shape}")
    check(magnitude.ndim == 2, f"scores must be (N, L) per-position scores, got shape {magnitude.shape}")
    total = magnitude.sum(axis=1)
    inside = (magnitude * mask).sum(axis=1)
    return np.divide(inside, total, out=np.full(total.shape, np.nan), where=total > 0)
