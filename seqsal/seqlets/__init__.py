"""Seqlets: the motif instances an attribution map points at, called against a null and named.

A per-base attribution map is hard to read at scale; what a reader wants is
a list of *seqlets* (Shrikumar et al., TF-MoDISco, 2018): short stretches
whose attribution stands out from the background, each with a sign, a score,
a significance, and, where possible, the known motif it resembles.  This
module turns projected per-position scores ``(N, L)`` into that list, in
three steps that each work on plain arrays:

1. **Calibrate a null** (:class:`SeqletNull`).  The statistic is the
   *signed* sum of the scores in a sliding window of ``w`` bases.  Summing
   signed scores, rather than smoothing ``|score|``, lets background noise of
   either sign cancel while the bases of a motif, which push the output the
   same way, add up; the test is two-sided on ``|window sum|`` so activating
   and repressing stretches are found alike.  The null distribution of that
   statistic comes either from attributions of dinucleotide-shuffled copies
   of the sequences (:func:`shuffled_null`, :func:`empirical_null`: the
   preferred, assumption-free route; shuffling keeps composition but breaks
   motifs) or, without a model at hand, from a Laplace tail fitted robustly
   to the run's own window sums (:func:`laplace_null`).
2. **Call** (:func:`call_seqlets`).  Each window gets an empirical p-value;
   runs of significant windows of one sign are merged, trimmed to their
   best-scoring stretch, split when too long, dropped when too short and
   padded with flanks.  A run-level gate (:mod:`seqsal.seqlets.fdr`,
   :class:`WindowTally`) first lowers the per-window threshold until the
   estimated false discovery rate among the run's significant windows is
   acceptable, so a model that points at nothing gets (almost) no seqlets.
   Given the null and that cutoff, every sequence is handled on its own, so
   results do not depend on batch size or order.
3. **Name** (:func:`annotate_seqlets`).  Each seqlet's hypothetical
   contributions become a probability matrix that Tomtom (memelite) compares
   with a motif database in one batched call; the best match is kept when its
   Benjamini-Hochberg q-value passes.

:func:`summarize_seqlets` then counts, per motif, how often and where seqlets
occur across a set of sequences.
"""

from __future__ import annotations

from seqsal.lazy import lazy_names

#: Public names and their modules, imported on first use: the annotation constants and the table columns
#: then load without torch, which only the null (attributions of shuffles) needs.
_API = {
    **dict.fromkeys(("ANNOTATION_COLUMNS", "DEFAULT_Q_THRESHOLD", "UNKNOWN", "annotate_seqlets",
                     "contribution_matrix"), "seqsal.seqlets.annotation"),
    **dict.fromkeys(("SEQLET_COLUMNS", "SeqletSettings", "call_seqlets"), "seqsal.seqlets.calling"),
    **dict.fromkeys(("DEFAULT_FDR", "WindowTally", "fdr_cutoff"), "seqsal.seqlets.fdr"),
    **dict.fromkeys(("SeqletNull", "empirical_null", "laplace_null", "shuffled_null", "window_sums"),
                    "seqsal.seqlets.null"),
    "summarize_seqlets": "seqsal.seqlets.summary",
}

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_names(__name__, _API)
