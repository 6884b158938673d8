"""Exact p-values of position-weight-matrix scores: the score a random window beats with a given probability.

The score of a window is a sum of one entry per column, so under a background
that draws bases independently its distribution is a convolution of the
columns' distributions.  On integer scores it is computed exactly, column by
column, by shifting the partial sums' distribution by each base's score and
weighting it by the base's frequency (Staden 1989; Touzet & Varré 2007; the
approach of FIMO and MOODS).  :mod:`seqsal.motifs` rounds log2-odds to
:data:`PVALUE_STEPS_PER_BIT` and scans on the same grid, so its p-value hits are exact.
"""

from __future__ import annotations

import numpy as np

from seqsal.checks import check_number
from seqsal.errors import check

DEFAULT_PVALUE = 1e-4
"""p-value of a motif hit under a uniform background, FIMO's default: about one chance hit per 5 kb per strand."""

PVALUE_STEPS_PER_BIT = 1000
"""Resolution of the exact score distribution: log2-odds are rounded to 1/1000 bit before it is computed.

The number of distinct scores is then at most ``1000 × (score range in
bits)``, so the dynamic programme over them is a few vector additions per
column; the rounding moves a window's score by at most ``w / 2000`` bits.
"""


def score_threshold(steps: np.ndarray, pvalue: float, background: np.ndarray) -> int | None:
    """The lowest integer score a window can reach whose upper-tail probability is at most ``pvalue``.

    Parameters
    ----------
    steps
        ``(4, w)`` integer scores, rows ``A, C, G, T``.
    pvalue
        In ``(0, 1]``.
    background
        ``(4,)`` base frequencies a random window is drawn from.

    Returns
    -------
    int or None
        ``None`` when even the best window is more likely than ``pvalue``.
    """
    check_number(pvalue, "pvalue", minimum=0, maximum=1, include_minimum=False)
    steps = np.asarray(steps)
    check(steps.ndim == 2 and steps.shape[0] == 4 and np.issubdtype(steps.dtype, np.integer),
          f"steps must be a (4, width) integer matrix, got {steps.dtype} of shape {steps.shape}")
    distribution, lowest = np.ones(1), 0
    for column in steps.T:
        shifts = column - column.min()
        grown = np.zeros(distribution.size + int(shifts.max()))
        for base, shift in enumerate(shifts):
            grown[shift : shift + distribution.size] += background[base] * distribution
        distribution, lowest = grown, lowest + int(column.min())
    # tail[i] = P(score >= lowest + i); the relative slack absorbs the rounding of the sums.  Only
    # scores a window can reach (probability > 0) qualify, so the threshold is an attained score.
    tail = np.cumsum(distribution[::-1])[::-1]
    passing = np.flatnonzero((tail <= pvalue * (1 + 1e-9)) & (distribution > 0))
    return lowest + int(passing[0]) if passing.size else None
