"""Plausibility: does an attribution map agree with known biology?

``plausibility`` scores per-position attributions against a ground-truth mask
(planted motif positions in simulated data, or scan hits of named known motifs,
see ``motif_masks``) as a per-sequence AUROC and AUPRC.  Faithfulness and
plausibility can disagree: a model that learned a sequencing-adapter shortcut
can be explained faithfully and implausibly at once, which is what the
shortcut experiments demonstrate.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from typing import Iterable

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import average_precision_score, roc_auc_score

from seqsal.attribution.base import as_onehot_array
from seqsal.checks import check_number
from seqsal.errors import check
from seqsal.motifs import MASK_MIN_INFORMATION, MotifDatabase, hits_to_mask, resolve_motifs, scan
from seqsal.pvalues import DEFAULT_PVALUE


@dataclass(frozen=True, eq=False)
class PlausibilityResult:
    """Per-sequence agreement of per-position attributions with a ground-truth mask.

    Attributes
    ----------
    auroc
        ``(N,)`` area under the ROC curve of each sequence, ``nan`` where skipped.
    auprc
        ``(N,)`` average precision of each sequence, ``nan`` where skipped.
    skipped
        ``(N,)`` True where the mask is all-true or all-false, so that neither
        curve is defined (e.g. negatives of a simulated set, which carry no
        enhancer motif).
    """

    auroc: np.ndarray
    auprc: np.ndarray
    skipped: np.ndarray

    @property
    def n_scored(self) -> int:
        """Sequences that entered the mean and sd."""
        return int((~self.skipped).sum())

    @property
    def n_skipped(self) -> int:
        """Sequences left out because their mask has only one class."""
        return int(self.skipped.sum())

    def summary(self) -> pd.DataFrame:
        """Mean and sample sd (``ddof=1``, ``nan`` below two sequences) of each metric over scored sequences.

        Returns
        -------
        pandas.DataFrame
            Index ``auroc``, ``auprc``; columns ``mean``, ``sd``, ``n_scored``, ``n_skipped``.
        """
        rows = {}
        for name, values in (("auroc", self.auroc), ("auprc", self.auprc)):
            kept = values[~self.skipped]
            rows[name] = {
                "mean": float(kept.mean()) if kept.size else float("nan"),
                "sd": float(kept.std(ddof=1)) if kept.size > 1 else float("nan"),
                "n_scored": self.n_scored,
                "n_skipped": self.n_skipped,
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def plausibility(
    scores: np.ndarray,
    masks: np.ndarray,
    *,
    absolute: bool = False,
) -> PlausibilityResult:
    """AUROC and AUPRC of per-position attributions against ground-truth positions, per sequence.

    Each sequence is its own ranking problem: which of its positions does the
    map put first?  Pooling positions across sequences would instead reward a
    map whose *scale* tracks the prediction, which is a different question.

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores (projected attributions summed over the
        four rows, :func:`seqsal.attribution.per_position`).
    masks
        ``(N, L)`` booleans, True at ground-truth positions: planted motifs in
        simulated data (``SyntheticSet.masks``) or motif-scan hits
        (:func:`motif_masks`).
    absolute
        Rank positions by ``|score|``.  The default ranks signed scores, so
        positions that *lower* the target count as unimportant; use
        ``absolute=True`` when the ground truth includes repressor sites.

    Returns
    -------
    PlausibilityResult
        AUROC from :func:`sklearn.metrics.roc_auc_score` (0.5 is chance) and
        AUPRC as :func:`sklearn.metrics.average_precision_score` (the step-wise
        estimator, not the optimistic trapezoid; chance is the fraction of
        masked positions).  Sequences whose mask has one class are skipped and
        counted.
    """
    values = np.asarray(scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else scores, dtype=float)
    truth = np.asarray(masks)
    check(
        values.ndim == 2,
        f"scores must be (N, L) per-position scores, got shape {values.shape}; "
        "sum projected attributions over the 4 rows first (seqsal.attribution.per_position)",
    )
    check(truth.shape == values.shape, f"masks have shape {truth.shape} but scores have {values.shape}")
    check(
        truth.dtype == bool or np.isin(truth, (0, 1)).all(),
        "masks must be boolean (True at ground-truth positions); got values other than 0 and 1",
    )
    check(np.isfinite(values).all(), "scores contain NaN or infinite values; check the attribution run")
    truth = truth.astype(bool)
    ranked = np.abs(values) if absolute else values
    n = values.shape[0]
    auroc = np.full(n, np.nan)
    auprc = np.full(n, np.nan)
    skipped = truth.all(axis=1) | ~truth.any(axis=1)
    for row in np.flatnonzero(~skipped):
        auroc[row] = roc_auc_score(truth[row], ranked[row])
        auprc[row] = average_precision_score(truth[row], ranked[row])
    return PlausibilityResult(auroc=auroc, auprc=auprc, skipped=skipped)


def motif_masks(
    X: np.ndarray | torch.Tensor,
    motif_names: str | Iterable[str],
    motif_db: MotifDatabase | str | PathLike[str] | None = None,
    *,
    pvalue: float = DEFAULT_PVALUE,
    relative_threshold: float | None = None,
    min_information: float = MASK_MIN_INFORMATION,
) -> np.ndarray:
    """Ground-truth masks for real sequences: where named known motifs occur.

    Real enhancers carry no answer key; the next best thing is where a PWM
    scan finds the motifs the user expects the model to use (both strands).
    A hit is a window whose p-value is at most ``pvalue`` (FIMO's rule): a
    fixed fraction of the maximum score is far stricter for long motifs than
    for short ones, and on real peaks it leaves most sequences without any
    ground truth.

    Parameters
    ----------
    X
        One-hot sequences ``(N, 4, L)``.
    motif_names
        TF names or matrix ids, as a list or one comma-separated string
        (``"CTCF,GATA1"``); unknown names raise with suggestions.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or ``None``
        for the bundled JASPAR CORE vertebrates.
    pvalue
        A window is a hit when a random window (uniform background) scores at
        least as high with at most this probability; the threshold is exact
        (:func:`seqsal.motifs.pvalue_threshold`).
    relative_threshold
        Instead of ``pvalue``: a window is a hit when it scores at least this
        fraction of the motif's best possible log-odds score.
    min_information
        Only motif columns carrying more than this many bits are marked, the
        same rule as simulated masks (:data:`seqsal.motifs.MASK_MIN_INFORMATION`):
        near-uniform flanks have no sequence preference for a model to learn.

    Returns
    -------
    numpy.ndarray
        ``(N, L)`` bool.
    """
    onehot = as_onehot_array(X)
    motifs = resolve_motifs(motif_names, motif_db)
    check(motifs, "no motif names given; pass names or ids such as 'CTCF,GATA1'")
    if relative_threshold is None:
        hits = scan(onehot, motifs, pvalue=pvalue)
    else:
        hits = scan(onehot, motifs, relative_threshold=check_number(
            relative_threshold, "relative_threshold", minimum=0, maximum=1, include_minimum=False))
    return hits_to_mask(hits, onehot.shape[0], onehot.shape[2], motifs=motifs, min_information=min_information)
