"""Genomic overlap between records of different splits or classes, from coordinates in the record ids.

Identical sequences are only the plainest leak: two peaks called on
overlapping windows (a 500-bp region and its 300-bp core, tiles with a
stride shorter than their width) share most of their DNA, and a model tested
on one has seen the other.  When the ids carry coordinates (``chr1:100-200``,
see :func:`seqsal.io.parse_coordinates`), overlapping intervals in different
groups are found by one sweep per group over the intervals sorted by
chromosome and start.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqsal.io import parse_coordinates


def record_intervals(ids: list[str]) -> pd.DataFrame | None:
    """``chrom, start, end`` of every record, or ``None`` unless every id carries coordinates."""
    parsed = [parse_coordinates(record_id) for record_id in ids]
    if not parsed or any(item is None for item in parsed):
        return None
    return pd.DataFrame([item[:3] for item in parsed], columns=["chrom", "start", "end"])


def overlapping_pairs(intervals: pd.DataFrame, groups: np.ndarray) -> pd.DataFrame:
    """Records whose interval overlaps an earlier-starting record of another group, with that record.

    Sorted by chromosome and start, a record overlaps an earlier one exactly
    when that one ends after this one starts; the running maximum of the end
    within each group (chromosome, end and row packed into one integer key)
    gives, for every record and every other group, the earlier record
    reaching furthest.  Every overlapping record appears in at least one pair.

    Returns
    -------
    pandas.DataFrame
        ``row_a, row_b`` (``row_a`` starts first) and ``overlap`` in bp.
    """
    n = len(intervals)
    chrom = pd.factorize(intervals["chrom"])[0].astype(np.int64)
    start, end = intervals["start"].to_numpy(np.int64), intervals["end"].to_numpy(np.int64)
    order = np.lexsort((start, chrom))
    span = int(end.max(initial=0)) + 1
    key = (chrom[order] * span + end[order]) * (n + 1) + order
    codes = pd.factorize(np.asarray(groups))[0][order]
    pairs = []
    for group in np.unique(codes):
        reach = np.maximum.accumulate(np.where(codes == group, key, -1))
        earlier = np.concatenate([[-1], reach[:-1]])  # furthest-reaching earlier record of this group
        partner = earlier % (n + 1)
        same_chrom = (earlier >= 0) & (earlier // (n + 1) // span == chrom[order])
        partner_end = earlier // (n + 1) % span
        hit = (codes != group) & same_chrom & (partner_end > start[order])
        rows = order[hit]
        pairs.append(pd.DataFrame({"row_a": partner[hit], "row_b": rows,
                                   "overlap": np.minimum(partner_end[hit], end[rows]) - start[rows]}))
    return pd.concat(pairs, ignore_index=True).drop_duplicates(["row_a", "row_b"], ignore_index=True)
