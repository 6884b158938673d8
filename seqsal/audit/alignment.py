"""Local alignment of reads (or any sequence) to a list of adapters: seed and extend, vectorised.

An adapter is rarely present whole: reads are trimmed, fragments start or end
inside it, and either strand can be sequenced.  :class:`AdapterIndex` finds any
stretch of a read that matches any part of any adapter, on either strand,
anywhere in the read:

1. **Seed.**  Every 8-mer of every adapter and of its reverse complement goes
   into a sorted table.  Each read's 8-mer windows (computed per batch, as for
   the k-mer counts) are looked up in it; a hit fixes an alignment diagonal
   (read position minus adapter position).  Adapter 8-mers are about 150 of
   65,536, so a random 249-bp read has about 0.6 seeds: the work stays linear
   in the data.
2. **Extend.**  Along each distinct diagonal, the read is compared with the
   whole adapter at once (no gaps) and the best-scoring segment is taken, with
   +1 for a match and -3 for a mismatch (the classic BLASTN reward and
   penalty).  Prefix sums make this one array operation over all seeds.
3. **Accept.**  A segment counts when it is at least ``min_length`` long, at
   most ``max_mismatch_rate`` of it mismatches, and its score is at least
   ``min_length``: every mismatch must be paid for by four more matching
   bases.  That keeps the chance of a random hit at or below that of an exact
   ``min_length``-mer: one mismatch multiplies the number of matching words
   by about ``3 L`` (48 at 16 bp), four more bases divide it by 256.  A 12-bp
   stretch with one mismatch, by contrast, occurs by chance in about 7% of
   random 249-bp reads for the bundled adapters, too often to mean anything.

Where hits of several adapters overlap in a read (the TruSeq read 1 and read 2
adapters share their first 13 bases), the best-scoring one names the stretch;
equal scores keep every tied adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqsal.audit.kmers import kmer_windows, reverse_complement_codes
from seqsal.checks import check_int, check_number
from seqsal.encoding import encode_indices, reverse_complement

SEED_K = 8
"""Seed length: long enough that random reads rarely seed (4^8 = 65,536 words), short enough that a
stretch of 16 bp with one mismatch, or 26 bp with two, always holds an exact seed."""

MATCH_SCORE, MISMATCH_SCORE = 1, -3
"""Ungapped alignment scores per base (BLASTN's classic +1/-3)."""

_OUTSIDE = -1000  # score of a column off the read's ends: no segment can cross it

HIT_COLUMNS = ["row", "adapter", "strand", "start", "end", "adapter_start", "adapter_end", "mismatches", "score"]
"""Columns of :meth:`AdapterIndex.align`: read coordinates ``start, end`` (0-based, end exclusive, plus
strand), ``adapter_start, adapter_end`` in the adapter's own orientation, ``strand`` ``-`` when the read
carries the adapter's reverse complement."""


@dataclass(frozen=True)
class AdapterIndex:
    """The seed table of a set of adapters, both strands (build it with :meth:`build`).

    Attributes
    ----------
    names
        Adapter names, in input order.
    patterns
        ``(P, W)`` codes of every adapter and of its reverse complement
        (pattern ``2 i`` and ``2 i + 1``), padded with 5, which matches nothing.
    lengths
        ``(P,)`` pattern lengths.
    seed_canonical
        ``(4**SEED_K,)`` bool: True at the canonical code of every adapter
        8-mer, so the canonical windows the k-mer pass computes anyway find
        the seeds.
    seed_starts
        ``(4**SEED_K + 1,)``: the seeds of 8-mer code ``c`` are entries
        ``seed_starts[c]:seed_starts[c + 1]`` of ``seed_pattern`` / ``seed_offset``.
    seed_pattern, seed_offset
        For every adapter 8-mer: its pattern and its position in it.
    min_length, max_mismatch_rate
        The acceptance rule (see the module docstring).
    """

    names: tuple[str, ...]
    patterns: np.ndarray
    lengths: np.ndarray
    seed_canonical: np.ndarray
    seed_starts: np.ndarray
    seed_pattern: np.ndarray
    seed_offset: np.ndarray
    min_length: int
    max_mismatch_rate: float

    @classmethod
    def build(cls, adapters: Mapping[str, str], min_length: int = 12, max_mismatch_rate: float = 0.1) -> AdapterIndex:
        """Index ``adapters`` (name -> sequence) for alignment.

        Parameters
        ----------
        adapters
            Adapter sequences; one shorter than ``min_length`` is reported
            only whole, one shorter than :data:`SEED_K` never.
        min_length
            Shortest reported stretch, at least :data:`SEED_K`.
        max_mismatch_rate
            Largest share of mismatching bases in a reported stretch.
        """
        min_length = check_int(min_length, "min_length", minimum=SEED_K)
        max_mismatch_rate = check_number(max_mismatch_rate, "max_mismatch_rate", minimum=0, maximum=0.5)
        usable = {name: sequence for name, sequence in adapters.items() if len(sequence) >= SEED_K}
        names = tuple(usable)
        oriented = [strand for sequence in usable.values() for strand in (sequence, reverse_complement(sequence))]
        width = max((len(sequence) for sequence in oriented), default=SEED_K)
        patterns = np.full((len(oriented), width), 5, np.uint8)
        codes, owners, offsets = [], [], []
        for index, sequence in enumerate(oriented):
            encoded = encode_indices(sequence, names[index // 2])
            patterns[index, : len(encoded)] = encoded
            windows, valid = kmer_windows(encoded[None, :], SEED_K, canonical=False)
            positions = np.flatnonzero(valid[0])
            codes.append(windows[0, positions])
            owners.append(np.full(len(positions), index))
            offsets.append(positions)
        codes = np.concatenate(codes) if codes else np.zeros(0, np.int64)
        order = np.argsort(codes, kind="stable")
        seed_starts = np.searchsorted(codes[order], np.arange(4**SEED_K + 1)).astype(np.int64)
        seed_canonical = np.zeros(4**SEED_K, dtype=bool)
        seed_canonical[np.minimum(codes, reverse_complement_codes(codes, SEED_K))] = True
        return cls(names, patterns, np.array([len(s) for s in oriented], dtype=np.int64), seed_canonical, seed_starts,
                   np.concatenate(owners)[order] if owners else np.zeros(0, np.int64),
                   np.concatenate(offsets)[order] if offsets else np.zeros(0, np.int64), min_length,
                   max_mismatch_rate)

    def align(
        self,
        block: np.ndarray,
        lengths: np.ndarray,
        rows: np.ndarray | None = None,
        windows: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> pd.DataFrame:
        """Every accepted adapter stretch in a block of reads, overlaps resolved (see the module docstring).

        Parameters
        ----------
        block
            ``(B, L)`` codes, 4 for ``N`` and padding.
        lengths
            ``(B,)`` read lengths.
        rows
            Row numbers to report for the block's reads (default ``0..B-1``).
        windows
            The block's canonical 8-mer codes and validity from
            :func:`~seqsal.audit.kmers.kmer_windows`, when already computed.

        Returns
        -------
        pandas.DataFrame
            :data:`HIT_COLUMNS`, one row per hit.
        """
        rows = np.arange(len(block)) if rows is None else np.asarray(rows)
        local, diagonal, pattern = self._seeds(block, windows or kmer_windows(block, SEED_K))
        if not len(local):
            return _empty_hits()
        start, end, mismatches, score = self._extend(block, lengths, local, diagonal, pattern)
        required = np.minimum(self.min_length, self.lengths[pattern])
        keep = (end - start >= required) & (score >= required) & (mismatches <= self.max_mismatch_rate * (end - start))
        local, diagonal, pattern = local[keep], diagonal[keep], pattern[keep]
        start, end, mismatches, score = start[keep], end[keep], mismatches[keep], score[keep]
        size = self.lengths[pattern]
        minus = pattern % 2 == 1
        hits = pd.DataFrame({
            "row": rows[local], "adapter": np.array(self.names, dtype=object)[pattern // 2],
            "strand": np.where(minus, "-", "+"), "start": diagonal + start, "end": diagonal + end,
            "adapter_start": np.where(minus, size - end, start), "adapter_end": np.where(minus, size - start, end),
            "mismatches": mismatches, "score": score,
        })
        return best_per_stretch(hits)

    def _seeds(
        self, block: np.ndarray, windows: tuple[np.ndarray, np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct ``(read, diagonal, pattern)`` triples of every exact 8-mer shared with an adapter."""
        canonical, valid = windows
        read, position = np.nonzero(self.seed_canonical[canonical] & valid)
        codes = np.zeros(len(read), np.int64)
        for j in range(SEED_K):  # the window as read, from its few bases
            codes = (codes << 2) | block[read, position + j]
        counts = self.seed_starts[codes + 1] - self.seed_starts[codes]
        first = self.seed_starts[codes]
        # one entry per (window, adapter 8-mer) pair: window i repeated counts[i] times
        within = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
        entry = np.repeat(first, counts) + within
        read, position = np.repeat(read, counts), np.repeat(position, counts)
        pattern = self.seed_pattern[entry]
        diagonal = position - self.seed_offset[entry]
        key = np.unique(np.column_stack([read, pattern, diagonal]), axis=0)
        return key[:, 0], key[:, 2], key[:, 1]

    def _extend(
        self, block: np.ndarray, lengths: np.ndarray, read: np.ndarray, diagonal: np.ndarray, pattern: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Best ungapped segment on each diagonal: pattern ``start, end``, mismatches and score."""
        columns = np.arange(self.patterns.shape[1])
        position = diagonal[:, None] + columns
        inside = (position >= 0) & (position < lengths[read][:, None]) & (columns < self.lengths[pattern][:, None])
        bases = block[read[:, None], np.clip(position, 0, block.shape[1] - 1)]
        match = (bases == self.patterns[pattern]) & inside
        score = np.where(inside, np.where(match, MATCH_SCORE, MISMATCH_SCORE), _OUTSIDE)
        prefix = np.zeros((len(read), len(columns) + 1), np.int64)
        np.cumsum(score, axis=1, out=prefix[:, 1:])
        lowest = np.minimum.accumulate(prefix[:, :-1], axis=1)
        end = np.argmax(prefix[:, 1:] - lowest, axis=1) + 1
        best = prefix[np.arange(len(read)), end] - lowest[np.arange(len(read)), end - 1]
        # the latest start reaching that minimum: ties add only zero-score (mismatch-laden) prefixes
        before_end = np.where(np.arange(len(columns) + 1) < end[:, None], prefix, np.iinfo(np.int64).max)
        start = len(columns) - np.argmin(before_end[:, ::-1], axis=1)
        matched = np.concatenate([np.zeros((len(read), 1), np.int64), np.cumsum(match, axis=1)], axis=1)
        matches = matched[np.arange(len(read)), end] - matched[np.arange(len(read)), start]
        return start, end, (end - start) - matches, best

    def match(self, sequence: str) -> dict | None:
        """The best adapter stretch inside one sequence (an enriched element), or ``None``.

        Returns
        -------
        dict or None
            The :data:`HIT_COLUMNS` of the best hit, without ``row``.
        """
        codes = encode_indices(sequence.upper(), "element")
        hits = self.align(codes[None, :], np.array([len(codes)]))
        if not len(hits):
            return None
        best = hits.sort_values(["score", "adapter_start"], ascending=[False, True], kind="stable").iloc[0]
        return {key: best[key] for key in HIT_COLUMNS if key != "row"}


def best_per_stretch(hits: pd.DataFrame) -> pd.DataFrame:
    """Of hits overlapping in one read, keep the best-scoring (all of them when tied)."""
    if not len(hits):
        return hits
    hits = hits.sort_values(["row", "start"], kind="stable", ignore_index=True)
    row, start, end = (hits[column].to_numpy() for column in ("row", "start", "end"))
    reach = pd.Series(end).groupby(row).cummax().to_numpy()
    opens = np.ones(len(hits), dtype=bool)
    opens[1:] = (row[1:] != row[:-1]) | (start[1:] >= reach[:-1])
    cluster = np.cumsum(opens)
    top = hits["score"].groupby(cluster).transform("max").to_numpy()
    kept = hits[hits["score"].to_numpy() == top]
    return kept.drop_duplicates(["row", "adapter", "strand", "start", "end"]).reset_index(drop=True)


def describe_match(match: Mapping) -> str:
    """``"matches illumina_universal_truseq_r1 positions 1-21, reverse strand, 0 mismatches"``."""
    strand = "reverse strand" if match["strand"] == "-" else "forward strand"
    mismatches = int(match["mismatches"])
    return (f"matches {match['adapter']} positions {int(match['adapter_start']) + 1}-{int(match['adapter_end'])}, "
            f"{strand}, {mismatches} mismatch{'' if mismatches == 1 else 'es'}")


def concat_hits(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Hits of several batches as one table, by row and start."""
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return _empty_hits()
    return pd.concat(frames, ignore_index=True).sort_values(["row", "start"], kind="stable", ignore_index=True)


def _empty_hits() -> pd.DataFrame:
    return pd.DataFrame({column: pd.Series(dtype=object if column in ("adapter", "strand") else np.int64)
                         for column in HIT_COLUMNS})
