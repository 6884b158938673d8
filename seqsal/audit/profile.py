"""One streaming pass over the dataset: per-class k-mer tables, composition counts, homopolymer runs, sketches."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqsal.audit.alignment import AdapterIndex, concat_hits
from seqsal.audit.data import AuditData
from seqsal.audit.kmers import first_of_runs, kmer_windows
from seqsal.audit.sketch import (
    EMPTY_BIN,
    SKETCH_BINS,
    SKETCH_K,
    fill_sketches,
    sketch_permutation,
)
from seqsal.errors import check
from seqsal.progress import Progress


@dataclass
class DatasetProfile:
    """Per-class k-mer tables and per-sequence statistics from one pass over the data.

    Attributes
    ----------
    k_values
        The k-mer lengths counted.
    kmer_counts, kmer_presence
        ``k -> (2, 4**k)`` arrays indexed by label and canonical code: total
        occurrences on both strands, and the number of sequences containing
        the k-mer at least once.
    acgt, gc
        ``(N,)`` number of ``ACGT`` bases and of ``G``/``C`` among them.
    sketches
        ``(N, SKETCH_BINS)`` one-permutation MinHash of each sequence's
        canonical 8-mer set; empty bins hold :data:`EMPTY_BIN`.
    sketch_kmers
        ``(N,)`` distinct canonical 8-mers per sequence.
    homopolymers
        One row per run of at least ``homopolymer_length`` identical bases:
        ``row, base, start, end`` (0-based, end exclusive).
    adapter_hits
        With an adapter index: every adapter stretch found
        (:meth:`~seqsal.audit.alignment.AdapterIndex.align`), else ``None``.
    """

    k_values: tuple[int, ...]
    kmer_counts: dict[int, np.ndarray]
    kmer_presence: dict[int, np.ndarray]
    acgt: np.ndarray
    gc: np.ndarray
    sketches: np.ndarray
    sketch_kmers: np.ndarray
    homopolymers: pd.DataFrame
    adapter_hits: pd.DataFrame | None = None


def profile_dataset(
    data: AuditData,
    k_values: Iterable[int] = range(4, 9),
    homopolymer_length: int = 10,
    adapters: AdapterIndex | None = None,
    progress: Progress | None = None,
) -> DatasetProfile:
    """Count k-mers per class and measure every sequence in one batched pass.

    Presence (how many sequences contain a k-mer) comes from sorting each
    sequence's k-mer codes and keeping the first of each run.  For the
    near-duplicate sketch, the 8-mer codes are first relabelled by a fixed
    random permutation; after sorting, the smallest relabelled value in each
    of :data:`SKETCH_BINS` ranges is that bin's MinHash (one-permutation
    hashing, Li, Owen & Zhang 2012), so one sort serves both presence and
    sketch.

    Parameters
    ----------
    data
        The dataset.
    k_values
        k-mer lengths to count (each from 1 to 12).
    homopolymer_length
        Shortest homopolymer run recorded.
    adapters
        When given, adapters are aligned to every record in the same pass,
        seeded from the 8-mer windows computed for the sketches anyway.
    progress
        Counts the records done.
    """
    k_values = tuple(sorted({int(k) for k in k_values}))
    check(k_values and all(1 <= k <= 12 for k in k_values), f"k-mer lengths must lie in 1-12, got {k_values}")
    n = len(data)
    counts = {k: np.zeros(2 * 4**k, np.int64) for k in k_values}
    presence = {k: np.zeros(2 * 4**k, np.int64) for k in k_values}
    acgt = np.zeros(n, np.int64)
    gc = np.zeros(n, np.int64)
    sketches = np.full((n, SKETCH_BINS), EMPTY_BIN, np.uint16)
    sketch_kmers = np.zeros(n, np.int64)
    runs: list[np.ndarray] = []
    adapter_hits: list[pd.DataFrame] = []
    permutation, inverse = sketch_permutation()
    sentinel = 4**SKETCH_K
    bin_shift = 2 * SKETCH_K - int(np.log2(SKETCH_BINS))
    for batch in data.batches():
        block = data.padded(batch)
        labels = data.labels[batch].astype(np.int64)
        acgt[batch] = (block < 4).sum(axis=1)
        gc[batch] = ((block == 1) | (block == 2)).sum(axis=1)
        runs.append(homopolymer_runs(block, batch, homopolymer_length))
        for k in sorted(set(k_values) | {SKETCH_K}):
            codes, valid = kmer_windows(block, k)
            offset = (labels * 4**k)[:, None]
            if k in counts:
                counts[k] += np.bincount((codes + offset)[valid], minlength=2 * 4**k)
            if k == SKETCH_K:
                if adapters is not None:
                    adapter_hits.append(adapters.align(block, data.lengths[batch], batch, (codes, valid)))
                relabelled = np.sort(np.where(valid, permutation[codes], sentinel), axis=1)
                first = first_of_runs(relabelled, sentinel)
                fill_sketches(sketches, sketch_kmers, batch, relabelled, first, bin_shift)
                distinct = np.where(first, inverse[relabelled], 0)
            else:
                distinct = np.sort(np.where(valid, codes, 4**k), axis=1)
                first = first_of_runs(distinct, 4**k)
            if k in presence:
                presence[k] += np.bincount((distinct + offset)[first], minlength=2 * 4**k)
        if progress is not None:
            progress.update(len(batch))
    homopolymers = pd.DataFrame(np.concatenate(runs) if runs else np.zeros((0, 4), np.int64),
                                columns=["row", "base", "start", "end"])
    return DatasetProfile(
        k_values=k_values,
        kmer_counts={k: value.reshape(2, 4**k) for k, value in counts.items()},
        kmer_presence={k: value.reshape(2, 4**k) for k, value in presence.items()},
        acgt=acgt,
        gc=gc,
        sketches=sketches,
        sketch_kmers=sketch_kmers,
        homopolymers=homopolymers.sort_values(["row", "start"], kind="stable").reset_index(drop=True),
        adapter_hits=None if adapters is None else concat_hits(adapter_hits),
    )


def homopolymer_runs(block: np.ndarray, batch: np.ndarray, min_length: int) -> np.ndarray:
    """Runs of one base (not ``N``) of at least ``min_length`` as ``(row, base, start, end)`` rows."""
    rows, length = block.shape
    if length == 0:
        return np.zeros((0, 4), np.int64)
    change = np.ones(block.shape, dtype=bool)
    change[:, 1:] = block[:, 1:] != block[:, :-1]
    starts = np.flatnonzero(change.ravel())
    run_lengths = np.diff(np.append(starts, rows * length))
    bases = block.ravel()[starts]
    keep = (bases < 4) & (run_lengths >= min_length)
    starts, run_lengths, bases = starts[keep], run_lengths[keep], bases[keep]
    columns = starts % length
    return np.column_stack([batch[starts // length], bases, columns, columns + run_lengths]).astype(np.int64)
