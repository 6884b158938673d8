"""k-mer codes: 2 bits per base, canonical (strand-free) codes, windows of encoded batches, count matrices."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from seqsal.audit.data import AuditData
from seqsal.encoding import ALPHABET


def reverse_complement_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Codes of the reverse complements of k-mer codes (2 bits per base, first base most significant)."""
    codes = np.asarray(codes, dtype=np.int64)
    result = np.zeros_like(codes)
    for position in range(k):
        base = (codes >> (2 * position)) & 3
        result = (result << 2) | (3 - base)
    return result


def canonical_codes(k: int) -> np.ndarray:
    """Sorted codes of the canonical k-mers: those not larger than their reverse complement.

    Counting a k-mer together with its reverse complement under the smaller
    code is how both strands are counted at once; palindromes count once.
    """
    codes = np.arange(4**k, dtype=np.int64)
    return codes[codes <= reverse_complement_codes(codes, k)]


def decode_kmers(codes: np.ndarray, k: int) -> list[str]:
    """k-mer codes back to strings."""
    codes = np.asarray(codes, dtype=np.int64)
    shifts = 2 * np.arange(k - 1, -1, -1)
    letters = np.array(list(ALPHABET))[(codes[:, None] >> shifts) & 3]
    return ["".join(row) for row in letters]


def kmer_windows(padded: np.ndarray, k: int, canonical: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Canonical (or plus-strand) codes of every k-mer window of a padded code block, and which are valid.

    Parameters
    ----------
    padded
        ``(B, L)`` codes, 4 for ``N`` or padding.
    k
        k-mer length, at most 15 (codes fit in int32).
    canonical
        True: the smaller of each window's code and its reverse complement's
        (counting both strands at once); False: the window as read.

    Returns
    -------
    tuple
        ``(B, L - k + 1)`` int32 canonical codes and a boolean array of the
        same shape that is False for windows touching an ``N`` or padding.
    """
    rows, length = padded.shape
    width = length - k + 1
    if width <= 0:
        return np.zeros((rows, 0), np.int32), np.zeros((rows, 0), bool)
    bases = (padded & 3).astype(np.int32)
    forward = np.zeros((rows, width), np.int32)
    reverse = np.zeros((rows, width), np.int32) if canonical else None
    for j in range(k):
        column = bases[:, j : j + width]
        forward = (forward << 2) | column
        if canonical:
            reverse |= (3 - column) << (2 * j)
    unknown = np.zeros((rows, length + 1), np.int32)
    np.cumsum(padded >= 4, axis=1, out=unknown[:, 1:])
    valid = unknown[:, k:] == unknown[:, :width]
    return (np.minimum(forward, reverse) if canonical else forward), valid


def first_of_runs(sorted_rows: np.ndarray, sentinel: int) -> np.ndarray:
    """In row-sorted values, True at the first copy of each distinct value below ``sentinel``."""
    first = np.ones(sorted_rows.shape, dtype=bool)
    first[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    return first & (sorted_rows < sentinel)


def kmer_count_matrix(data: AuditData, rows: np.ndarray, k_values: Iterable[int]) -> np.ndarray:
    """Per-sequence canonical k-mer frequencies ``(len(rows), features)``, all ``k_values`` side by side.

    Frequencies (counts divided by the sequence's valid k-mers of that k), not
    raw counts, so a linear model on them sees composition and not length.
    float32 halves the memory of 40,000 x 692 features, and scikit-learn's
    scaler and logistic regression keep that precision.
    """
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    blocks = []
    for k in k_values:
        canonical = canonical_codes(k)
        matrix = np.zeros((len(rows), len(canonical)), dtype=np.float32)
        for batch in data.batches(rows):
            codes, valid = kmer_windows(data.padded(batch), k)
            keys = (np.arange(len(batch))[:, None] * 4**k + codes)[valid]
            counts = np.bincount(keys, minlength=len(batch) * 4**k).reshape(len(batch), 4**k)
            matrix[order[np.searchsorted(rows[order], batch)]] = counts[:, canonical]
        totals = matrix.sum(axis=1, keepdims=True)
        blocks.append(np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0))
    return np.hstack(blocks)
