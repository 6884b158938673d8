"""The run-level gate of seqlet calling: how many significant windows a whole run has beyond its null.

A per-window threshold gives every model the same rate of significant noise
windows, so a model that learnt nothing (random weights, a failed training)
still gets seqlets at that rate, in every run.  The gate asks the question a
reader means by "the model points at motifs here": across the run, are there
*more* significant windows than the null predicts?  At a threshold ``t`` the
null predicts ``t * m`` of the run's ``m`` windows, so the estimated false
discovery rate among the windows called is ``t * m / #{p <= t}`` (the
Benjamini-Hochberg estimate, taking every window as possibly null).  The
cutoff is the largest window p-value below ``p_threshold`` whose estimate is
at most ``fdr``.  On a trained model the estimate at ``p_threshold`` is well
below ``fdr`` and the calls are those of the per-window threshold; on a model
without motifs it is about 1 and almost nothing passes.

The estimate counts as "null" every window a shuffle could also produce,
including chance motif matches the model really responds to, so it is
conservative; that is why the default ``fdr`` is as high as 0.5
(:class:`~seqsal.seqlets.SeqletSettings`).
"""

from __future__ import annotations

import numpy as np

from seqsal.checks import check_number
from seqsal.seqlets.null import SeqletNull, as_scores, window_sums

DEFAULT_FDR = 0.5
"""Default largest estimated false discovery rate among a run's significant windows (see :class:`WindowTally`)."""


def fdr_cutoff(p_values: np.ndarray, n_windows: int, fdr: float) -> float:
    """The largest of ``p_values`` whose estimated false discovery rate is at most ``fdr``.

    Parameters
    ----------
    p_values
        Every window p-value of the run below the per-window threshold (the
        windows the cutoff can admit); any shape.
    n_windows
        All windows of the run, ``m``; at least ``p_values.size``.
    fdr
        Largest estimated false discovery rate ``p * m / #{p-values <= p}``.

    Returns
    -------
    float
        The cutoff (windows with ``p <= cutoff`` pass), or 0.0 when no
        p-value qualifies; 1.0 when ``fdr`` is 1 (no gate).
    """
    check_number(fdr, "fdr", minimum=0, maximum=1, include_minimum=False)
    if fdr >= 1:
        return 1.0
    ordered = np.sort(np.asarray(p_values, dtype=np.float64).ravel())
    if ordered.size == 0:
        return 0.0
    # At the last of tied values, its 1-based rank is the count of p-values <= it.
    estimated = ordered * n_windows / np.arange(1, ordered.size + 1)
    passing = np.flatnonzero(estimated <= fdr)
    return float(ordered[passing[-1]]) if passing.size else 0.0


class WindowTally:
    """A whole run's window p-values, gathered chunk by chunk, and the cutoff they imply.

    Add every sequence of the run (in any chunks and order), then read
    :attr:`cutoff` and pass it to :func:`~seqsal.seqlets.call_seqlets`: calls
    made chunk by chunk with it equal those of one call on the whole run.
    Only the p-values below ``p_threshold`` are kept, so memory grows with the
    significant windows, not with the run.

    Parameters
    ----------
    null
        The null the calls use.
    p_threshold, fdr
        As in :class:`~seqsal.seqlets.SeqletSettings`.
    """

    def __init__(self, null: SeqletNull, p_threshold: float, fdr: float = DEFAULT_FDR) -> None:
        self.null = null
        self.p_threshold = check_number(p_threshold, "p_threshold", minimum=0, maximum=1, include_minimum=False)
        self.fdr = check_number(fdr, "fdr", minimum=0, maximum=1, include_minimum=False)
        self.n_windows = 0
        self._below: list[np.ndarray] = []

    def add(self, scores: np.ndarray) -> None:
        """Count the windows of per-position scores ``(N, L)`` (a chunk of the run)."""
        p = self.null.p_values(window_sums(as_scores(scores, "scores"), self.null.window))
        self.n_windows += p.size
        self._below.append(p[p < self.p_threshold])

    @property
    def n_below(self) -> int:
        """Windows below ``p_threshold``, the ones a per-window threshold alone would call significant."""
        return sum(part.size for part in self._below)

    @property
    def cutoff(self) -> float:
        """Windows with ``p <= cutoff`` (and ``p < p_threshold``) are significant; 0.0 admits none."""
        below = np.concatenate(self._below) if self._below else np.empty(0)
        return fdr_cutoff(below, self.n_windows, self.fdr)

    @property
    def estimated_fdr(self) -> float:
        """Estimated false discovery rate at ``p_threshold`` without the gate (inf when nothing is below it)."""
        return self.p_threshold * self.n_windows / self.n_below if self.n_below else float("inf")

    def describe(self) -> dict:
        """The tally in numbers for a manifest: windows, those below the threshold, the estimate and the cutoff."""
        return {"windows": self.n_windows, "windows_below_p": self.n_below, "fdr": self.fdr,
                "estimated_fdr_at_p": round(self.estimated_fdr, 4) if self.n_below else None,
                "window_cutoff": self.cutoff}
