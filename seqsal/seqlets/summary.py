"""Summarising seqlets over a set of sequences: per motif and sign, how many, in how many records, where."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqsal.checks import check_int
from seqsal.errors import check
from seqsal.seqlets.annotation import UNKNOWN


def summarize_seqlets(seqlets: pd.DataFrame, n_sequences: int, length: int, bins: int = 10) -> pd.DataFrame:
    """Per motif and sign: how many seqlets, in how many sequences, how strong, and where.

    Parameters
    ----------
    seqlets
        Annotated seqlets (:func:`annotate_seqlets`); an unannotated table is
        summarised as one motif, ``"unknown"``.
    n_sequences
        Number of sequences the seqlets were called on, including those
        without any, so ``record_share`` is a share of the whole set.
    length
        Sequence length, the range of the positional histogram.
    bins
        Equal-width position bins; a seqlet counts in the bin of its core's
        centre.

    Returns
    -------
    pandas.DataFrame
        One row per ``(motif, sign)``, most frequent first: ``n_seqlets``,
        ``n_records`` (sequences with at least one), ``record_share``,
        ``mean_score``, then one count column per bin named ``pos_<a>_<b>``
        for positions ``[a, b)``.
    """
    check_int(n_sequences, "n_sequences", minimum=1)
    check_int(length, "length", minimum=1)
    check_int(bins, "bins", minimum=1, maximum=length)
    edges = np.linspace(0, length, bins + 1).round().astype(int)
    bin_columns = [f"pos_{a}_{b}" for a, b in zip(edges[:-1], edges[1:])]
    columns = ["motif", "sign", "n_seqlets", "n_records", "record_share", "mean_score", *bin_columns]
    if seqlets.empty:
        return pd.DataFrame(columns=columns)
    motif = seqlets["motif"] if "motif" in seqlets.columns else pd.Series(UNKNOWN, index=seqlets.index)
    centres = (seqlets["core_start"] + seqlets["core_end"]) / 2
    check(((centres >= 0) & (centres <= length)).all(), f"some seqlets lie beyond length {length}; pass the sequence length")
    position_bin = np.clip(np.searchsorted(edges, centres.to_numpy(), side="right") - 1, 0, bins - 1)
    frame = pd.DataFrame({"motif": motif, "sign": seqlets["sign"], "sequence_index": seqlets["sequence_index"],
                          "score": seqlets["score"], "bin": position_bin})
    rows = []
    for (name, sign), group in frame.groupby(["motif", "sign"], sort=False):
        counts = np.bincount(group["bin"], minlength=bins)
        n_records = group["sequence_index"].nunique()
        rows.append([name, sign, len(group), n_records, n_records / n_sequences, group["score"].mean(), *counts])
    summary = pd.DataFrame(rows, columns=columns)
    return summary.sort_values(["n_seqlets", "motif", "sign"], ascending=[False, True, False],
                               kind="stable").reset_index(drop=True)
