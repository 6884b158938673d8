"""Naming seqlets: each seqlet's contributions as a probability matrix, compared with known motifs by Tomtom."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.motif_compare import best_matches
from seqsal.motifs import MotifDatabase

ANNOTATION_COLUMNS = ("motif", "match_id", "match_name", "match_p", "match_q", "match_strand", "consensus")
UNKNOWN = "unknown"

DEFAULT_Q_THRESHOLD = 0.05
"""q-value below which a seqlet takes its best database match's name (as for filters)."""


def contribution_matrix(hypothetical: np.ndarray, onehot: np.ndarray, sign: int) -> np.ndarray:
    """A seqlet's contributions as a ``(4, w)`` probability matrix that Tomtom can compare with PWMs.

    Tomtom scores columns by Euclidean distance, so a query must live on the
    scale of letter probabilities.  Each column is a mix of the uniform
    distribution and the base preferences the model expresses there: the
    positive part of ``sign * hypothetical`` normalised to sum to one (what
    the model would reward at that position, for a negative seqlet what it
    would penalise), weighted by the position's importance, its projected
    ``|score|`` relative to the seqlet's largest.  Unimportant flank columns
    thus look uniform, as in a JASPAR matrix, and important ones are as sharp
    as the model's preference.

    Parameters
    ----------
    hypothetical
        ``(4, w)`` hypothetical attributions over the seqlet.
    onehot
        ``(4, w)`` the seqlet's bases.
    sign
        +1 or -1, the seqlet's sign.
    """
    oriented = sign * np.asarray(hypothetical, dtype=np.float64)
    importance = np.abs((oriented * onehot).sum(axis=0))
    weight = importance / importance.max() if importance.max() > 0 else np.zeros_like(importance)
    preference = np.clip(oriented, 0, None)
    totals = preference.sum(axis=0)
    preference = np.where(totals > 0, preference / np.where(totals > 0, totals, 1), 0.25)
    return (1 - weight) * 0.25 + weight * preference


def annotate_seqlets(
    seqlets: pd.DataFrame,
    hypothetical: np.ndarray,
    onehot: np.ndarray,
    motif_db: MotifDatabase | str | os.PathLike | None = None,
    *,
    q_threshold: float = DEFAULT_Q_THRESHOLD,
) -> pd.DataFrame:
    """Name each seqlet after its most similar database motif (Tomtom), or ``"unknown"``.

    Every seqlet's span (with flanks) becomes a probability matrix
    (:func:`contribution_matrix`) and all of them go to memelite's Tomtom in
    one call against the whole database, both strands.  The best match is the
    motif with the smallest p-value; its q-value is the Benjamini-Hochberg
    adjustment over that seqlet's comparisons with every database motif (as
    for first-layer filters in :mod:`seqsal.filters`), so a seqlet is named
    only when its best match stands out among all motifs it was compared with.

    Parameters
    ----------
    seqlets
        From :func:`call_seqlets` (at least ``sequence_index``, ``start``,
        ``end`` and ``sign``).
    hypothetical
        Hypothetical attributions ``(N, 4, L)``, the same run the seqlets were
        called from (``attribute(..., hypothetical=True)``).
    onehot
        The one-hot sequences ``(N, 4, L)``.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or None
        for the bundled JASPAR 2016 vertebrates.  Use a whole database: Tomtom
        takes its background from the target columns.
    q_threshold
        A seqlet takes its best match's name when the q-value is below this.

    Returns
    -------
    pandas.DataFrame
        A copy of ``seqlets`` with the columns of :data:`ANNOTATION_COLUMNS`:
        ``motif`` is the matched TF name or ``"unknown"``; ``match_id``,
        ``match_name``, ``match_p``, ``match_q`` describe the best candidate
        even when it does not pass; ``match_strand`` is ``+`` when the motif
        as given matched the seqlet's plus strand, ``-`` for its reverse
        complement; ``consensus`` is the highest-probability base of each
        column of the seqlet's matrix, upper case where the position is at
        least half as important as the seqlet's top position.

    Raises
    ------
    SeqsalError
        If memelite is missing, the arrays disagree, or a seqlet lies outside them.
    """
    check(0 < q_threshold <= 1, f"q_threshold must be in (0, 1], got {q_threshold!r}")
    missing = {"sequence_index", "start", "end", "sign"} - set(seqlets.columns)
    check(not missing, f"seqlets lacks columns {sorted(missing)}; pass the table from call_seqlets")
    hypothetical = np.asarray(hypothetical, dtype=np.float64)
    onehot = np.asarray(onehot, dtype=np.float64)
    check(hypothetical.ndim == 3 and hypothetical.shape[1] == 4,
          f"hypothetical must be attributions of shape (N, 4, L), got {hypothetical.shape}")
    check(onehot.shape == hypothetical.shape,
          f"onehot has shape {onehot.shape} but hypothetical has {hypothetical.shape}; pass the same sequences")
    n, _, length = hypothetical.shape
    index = seqlets["sequence_index"].to_numpy()
    starts, ends = seqlets["start"].to_numpy(), seqlets["end"].to_numpy()
    check(((index >= 0) & (index < n) & (starts >= 0) & (starts < ends) & (ends <= length)).all(),
          f"some seqlets lie outside the {n} x {length} attribution arrays; pass the arrays they were called from")

    table = seqlets.copy()
    table["motif"] = UNKNOWN
    table["match_id"] = ""
    table["match_name"] = ""
    table["match_p"] = np.nan
    table["match_q"] = np.nan
    table["match_strand"] = ""
    table["consensus"] = ""
    if table.empty:
        return table
    queries = [contribution_matrix(hypothetical[i, :, start:end], onehot[i, :, start:end], int(sign))
               for i, start, end, sign in zip(index, starts, ends, seqlets["sign"].to_numpy())]
    matches = best_matches(queries, motif_db, purpose="naming seqlets after known motifs")
    table["match_id"] = matches["match_id"].to_numpy()
    table["match_name"] = matches["match_name"].to_numpy()
    table["match_p"] = matches["p_value"].to_numpy()
    table["match_q"] = matches["q_value"].to_numpy()
    table["match_strand"] = matches["strand"].to_numpy()
    table["motif"] = np.where(matches["q_value"].to_numpy() < q_threshold, table["match_name"], UNKNOWN)
    consensus = [_consensus(matrix) for matrix in queries]
    table["consensus"] = consensus
    return table


def _consensus(matrix: np.ndarray) -> str:
    """Arg-max base per column; upper case where the column departs at least half as much from uniform as the sharpest."""
    sharpness = matrix.max(axis=0) - 0.25
    strong = sharpness >= 0.5 * sharpness.max() if sharpness.max() > 0 else np.zeros(matrix.shape[1], bool)
    letters = [ALPHABET[k] for k in matrix.argmax(axis=0)]
    return "".join(letter if keep else letter.lower() for letter, keep in zip(letters, strong))
