"""Labelled training sets assembled from files: FASTA + labels table, or positives vs negatives.

Two shapes of input cover most enhancer work: a FASTA with a labels table
(``seqsal simulate`` writes one; so do most benchmark sets), and a positive
peak set with either a negative FASTA or no negatives at all, in which case
dinucleotide-shuffled copies of the positives serve as negatives.  Shuffled
negatives keep GC content and dinucleotide composition, so a model can only
separate the classes by the *order* of bases (motifs), not by composition.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from seqsal import io
from seqsal.encoding import LengthFit, dinucleotide_shuffle, encode_indices, fit_length, one_hot, reverse_complement
from seqsal.errors import check


@dataclass
class LabelledSet:
    """Encoded sequences with their targets."""

    ids: list[str]
    X: np.ndarray  # (N, 4, L) float32
    y: np.ndarray  # (N, T) float32
    target_names: tuple[str, ...]

    def subset(self, index: np.ndarray) -> "LabelledSet":
        """The rows at ``index`` (indices or a boolean mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        return LabelledSet([self.ids[i] for i in index], self.X[index], self.y[index], self.target_names)

    def with_reverse_complements(self) -> "LabelledSet":
        """The set plus the reverse complement of every sequence (ids ``<id>_rc``), same targets.

        Enhancer activity does not depend on which strand was sequenced, so
        reverse complements are free extra training data, and they teach the
        model each motif in both orientations.
        """
        return LabelledSet(self.ids + [f"{i}_rc" for i in self.ids],
                           np.concatenate([self.X, reverse_complement(self.X)]),
                           np.concatenate([self.y, self.y]), self.target_names)


def check_length(record: io.Record, length: int, fit: bool) -> None:
    """Refuse a record of the wrong length unless the user asked for fitting."""
    check(
        fit or len(record.sequence) == length,
        f"record {record.id!r} has length {len(record.sequence)} but {length} bp are expected; "
        "centre-crop or N-pad sequences to that length with fit=True (--fit on the command line)",
    )


def encode_records(
    records: list[io.Record], length: int | None = None, fit: bool = False
) -> tuple[np.ndarray, list[LengthFit]]:
    """One-hot encode records to ``length`` bases (default: the first record's).

    Without ``fit`` every record must already have that length, because a
    silently cropped enhancer would be explained as if it were whole.  With
    ``fit`` records are centre-cropped or N-padded, and the returned
    :class:`~seqsal.encoding.LengthFit` list says what happened to each.
    """
    check(records, "no records to encode")
    length = length or len(records[0].sequence)
    sequences, fits = [], []
    for record in records:
        check_length(record, length, fit)
        encode_indices(record.sequence, record.id)  # name bad bases by their position in the input
        sequence, how = fit_length(record.sequence, length)
        sequences.append(sequence)
        fits.append(how)
    return one_hot(sequences, ids=[r.id for r in records]), fits


def from_labels(
    fasta: str | Path, labels_path: str | Path, length: int | None = None, fit: bool = False
) -> LabelledSet:
    """Records of ``fasta`` with targets from a labels TSV (``id`` column + target columns)."""
    records = io.read_fasta(fasta)
    labels = io.read_labels(labels_path)
    y = io.labels_for(records, labels, labels_path)
    X, _ = encode_records(records, length, fit)
    return LabelledSet([r.id for r in records], X, y, tuple(io.target_columns(labels)))


def from_pos_neg(
    positives: str | Path,
    negatives: str | Path,
    length: int | None = None,
    fit: bool = False,
    random_state: int | None = 0,
) -> LabelledSet:
    """Positives labelled 1 and negatives labelled 0; ``negatives="shuffle"`` makes them.

    With ``"shuffle"``, each positive gets one dinucleotide-shuffled copy
    (seeded), named ``<id>_shuf``.
    """
    pos = io.read_fasta(positives)
    if str(negatives) == "shuffle":
        rng = np.random.default_rng(random_state)
        neg = [io.Record(f"{r.id}_shuf", dinucleotide_shuffle(r.sequence, rng)) for r in pos]
    else:
        neg = io.read_fasta(negatives)
    records = pos + neg
    y = np.concatenate([np.ones(len(pos)), np.zeros(len(neg))]).astype(np.float32)[:, None]
    X, _ = encode_records(records, length, fit)
    return LabelledSet([r.id for r in records], X, y, ("label",))
