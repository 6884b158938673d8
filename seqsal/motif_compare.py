"""Comparing probability matrices with a motif database: Tomtom's best match per query, with q-values.

Two analyses name what a model learned by comparing a matrix with a motif
database: first-layer filters (:mod:`seqsal.views.filter_matching`) and
seqlets (:mod:`seqsal.seqlets`).  Both use Tomtom (Gupta et al., Genome
Biology 2007) as implemented by memelite (``pip install 'seqsal[motifs]'``)
and keep, per query, the database motif with the smallest p-value.  memelite
returns the p-value of the best alignment over both orientations of each
motif (already corrected for trying two strands, ``1 - (1 - p)^2``).  The
q-value of the best match is the Benjamini-Hochberg adjustment over that
query's comparisons with *every* motif of the database, so "q < 0.05" reads:
among the database motifs this query is called similar to, at most 5 % are
expected to be chance.  Tomtom takes its background from the target columns,
so compare with a whole database, not a handful of motifs.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from seqsal.errors import SeqsalError, check
from seqsal.motifs import MotifDatabase, load_database

#: Columns of :func:`best_matches`, one row per query.
MATCH_COLUMNS = ("match_id", "match_name", "p_value", "q_value", "offset", "overlap", "strand")


def load_tomtom(purpose: str) -> Callable:
    """memelite's Tomtom, imported on first use because memelite (and numba) are an optional extra.

    ``purpose`` completes the error message ("naming seqlets after known
    motifs needs memelite"), so the user learns which step needs it.
    """
    try:
        from memelite import tomtom
    except ImportError:
        raise SeqsalError(f"{purpose} needs memelite; install it with pip install 'seqsal[motifs]'") from None
    return tomtom


def best_matches(
    queries: Sequence[np.ndarray],
    motif_db: MotifDatabase | str | os.PathLike | None = None,
    *,
    purpose: str = "comparing matrices with known motifs",
) -> pd.DataFrame:
    """Each query's most similar database motif by Tomtom, with its p-value and BH q-value.

    Parameters
    ----------
    queries
        ``(4, w)`` letter-probability matrices (rows ``A, C, G, T``; widths may
        differ), compared in one batched Tomtom call.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or None
        for the bundled JASPAR 2016 vertebrates.
    purpose
        What the comparison is for, named in the error when memelite is missing.

    Returns
    -------
    pandas.DataFrame
        One row per query, in order, with the columns of :data:`MATCH_COLUMNS`:
        ``offset`` is the position of the database motif (in the matched
        orientation) that lines up with the query's first column, negative
        when the query's column ``-offset`` lines up with the motif's first;
        ``overlap`` is the number of aligned columns; ``strand`` is ``+`` for
        the motif as given and ``-`` for its reverse complement.

    Raises
    ------
    SeqsalError
        If memelite is missing or a query is not a ``(4, w)`` matrix.
    """
    matrices = [np.ascontiguousarray(query, dtype=np.float64) for query in queries]
    for i, matrix in enumerate(matrices):
        check(matrix.ndim == 2 and matrix.shape[0] == 4 and matrix.shape[1] > 0,
              f"query {i} must be a (4, w) probability matrix, got shape {matrix.shape}")
    if not matrices:
        return pd.DataFrame(columns=list(MATCH_COLUMNS))
    tomtom = load_tomtom(purpose)
    targets = list(load_database(motif_db))
    p_values, _, offsets, overlaps, strands = tomtom(
        matrices, [np.ascontiguousarray(motif.pwm) for motif in targets])
    best = np.argmin(p_values, axis=1)
    rows = np.arange(len(matrices))
    from scipy import stats  # here, not above: drawing a bundle should not wait a second for it

    q_values = stats.false_discovery_control(p_values, axis=1)
    return pd.DataFrame({
        "match_id": [targets[k].id for k in best],
        "match_name": [targets[k].name for k in best],
        "p_value": p_values[rows, best],
        "q_value": q_values[rows, best],
        "offset": offsets[rows, best].astype(np.int64),
        "overlap": overlaps[rows, best].astype(np.int64),
        "strand": ["+-"[int(s)] for s in strands[rows, best]],
    })
