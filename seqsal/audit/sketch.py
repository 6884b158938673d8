"""MinHash sketches of 8-mer sets and the near-duplicate pairs they reveal (LSH banding)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqsal.errors import check

SKETCH_K = 8
"""k-mer length of the near-duplicate sketches: 4^8 = 65,536 possible k-mers, so two unrelated
249-bp sequences share almost none (expected Jaccard about 0.004), while a copy with a few edits
keeps most."""

SKETCH_BINS = 64
"""One-permutation MinHash bins: enough for a Jaccard estimate within about 0.05 at 0.8, few
enough that a 249-bp sequence (about 240 distinct 8-mers) leaves almost no bin empty."""

LSH_BANDS = 16
"""Bands of 4 bins each: a pair with Jaccard 0.8 becomes a candidate with probability
1 - (1 - 0.8^4)^16 > 0.999, a pair with Jaccard 0.2 with probability 0.025."""

MIN_SKETCH_KMERS = SKETCH_BINS
"""Sequences with fewer distinct 8-mers than bins (shorter than about 70 bp, or low complexity)
get unreliable sketches and are left to the exact-duplicate check."""

MAX_BUCKET_PAIRS = 50
"""LSH buckets larger than this are paired as a star around their first member instead of all
pairs, so a family of thousands of near-identical records cannot explode the pair count."""


EMPTY_BIN = 1 << 10  # sketch value of an empty bin; real values are below it
SKETCH_SEED = 20240521  # fixed: sketches must not depend on the user's seed


def sketch_permutation() -> tuple[np.ndarray, np.ndarray]:
    """A fixed random relabelling of the 4^8 k-mers and its inverse; the sentinel maps to itself."""
    size = 4**SKETCH_K
    permutation = np.append(np.random.default_rng(SKETCH_SEED).permutation(size), size).astype(np.int32)
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(size + 1, dtype=np.int32)
    return permutation, inverse


def fill_sketches(
    sketches: np.ndarray, distinct_counts: np.ndarray, batch: np.ndarray, relabelled: np.ndarray,
    first: np.ndarray, bin_shift: int,
) -> None:
    """Write each row's smallest relabelled 8-mer per bin into ``sketches`` (rows are sorted already)."""
    distinct_counts[batch] = first.sum(axis=1)
    bins = relabelled >> bin_shift
    opens_bin = first.copy()
    opens_bin[:, 1:] &= bins[:, 1:] != bins[:, :-1]
    local, column = np.nonzero(opens_bin)
    sketches[batch[local], bins[local, column]] = relabelled[local, column] & (EMPTY_BIN - 1)


def near_duplicate_pairs(
    sketches: np.ndarray, eligible: np.ndarray, threshold: float, bands: int = LSH_BANDS
) -> pd.DataFrame:
    """Pairs of records whose estimated Jaccard similarity of 8-mer sets is at least ``threshold``.

    Locality-sensitive hashing on the MinHash sketches: records whose bins
    agree on a whole band of ``SKETCH_BINS / bands`` bins become candidates,
    which keeps the work roughly linear in the number of records; each
    candidate pair's Jaccard is then estimated from all bins (bins empty in
    both records are ignored).

    Returns
    -------
    pandas.DataFrame
        ``row_a, row_b, jaccard`` with ``row_a < row_b``.
    """
    n_bins = sketches.shape[1]
    check(n_bins % bands == 0, f"{n_bins} sketch bins cannot be split into {bands} bands")
    width = n_bins // bands
    pairs = []
    for band in range(bands):
        block = sketches[:, band * width : (band + 1) * width].astype(np.int64)
        rows = np.flatnonzero(eligible & (block < EMPTY_BIN).all(axis=1))
        keys = np.zeros(len(rows), np.int64)
        for column in range(width):
            keys = (keys << 11) | block[rows, column]
        order = np.argsort(keys, kind="stable")
        rows, keys = rows[order], keys[order]
        starts = np.flatnonzero(np.diff(keys, prepend=-1))
        sizes = np.diff(np.append(starts, len(keys)))
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            bucket = rows[start : start + size]
            if len(bucket) <= MAX_BUCKET_PAIRS:
                left, right = np.triu_indices(len(bucket), k=1)
                pairs.append(np.column_stack([bucket[left], bucket[right]]))
            else:
                pairs.append(np.column_stack([np.full(len(bucket) - 1, bucket[0]), bucket[1:]]))
    if not pairs:
        return pd.DataFrame({"row_a": np.zeros(0, np.int64), "row_b": np.zeros(0, np.int64), "jaccard": np.zeros(0)})
    pairs = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    left, right = sketches[pairs[:, 0]], sketches[pairs[:, 1]]
    filled = (left < EMPTY_BIN) | (right < EMPTY_BIN)
    jaccard = ((left == right) & filled).sum(axis=1) / np.maximum(filled.sum(axis=1), 1)
    keep = jaccard >= threshold
    return pd.DataFrame({"row_a": pairs[keep, 0], "row_b": pairs[keep, 1], "jaccard": jaccard[keep]})
