"""Labelled training sets assembled from files: FASTA + labels table, or positives vs negatives.

Two shapes of input cover most enhancer work: a FASTA with a labels table
(``seqsal simulate`` writes one; so do most benchmark sets), and a positive
peak set with either a negative FASTA or no negatives at all, in which case
dinucleotide-shuffled copies of the positives serve as negatives.  Shuffled
negatives keep GC content and dinucleotide composition, so a model can only
separate the classes by the *order* of bases (motifs), not by composition.
Measurement tables (MPRA) come in as a third shape; their records are
grouped by element (:func:`reverse_complement_groups`) so that a split never
puts the two orientations of one element on opposite sides.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.encoding import LengthFit, dinucleotide_shuffle, encode_indices, fit_length, one_hot, reverse_complement
from seqsal.errors import SeqsalError, check


@dataclass
class LabelledSet:
    """Encoded sequences with their targets."""

    ids: list[str]
    X: np.ndarray  # (N, 4, L) float32
    y: np.ndarray  # (N, T) float32
    target_names: tuple[str, ...]
    #: Each record's chromosome from its header (``None`` without coordinates); a shuffled negative inherits
    #: its positive's, so a chromosome hold-out keeps both copies of a peak on the same side.
    chroms: list[str | None] | None = None

    def subset(self, index: np.ndarray) -> "LabelledSet":
        """The rows at ``index`` (indices or a boolean mask)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        chroms = None if self.chroms is None else [self.chroms[i] for i in index]
        return LabelledSet([self.ids[i] for i in index], self.X[index], self.y[index], self.target_names, chroms)

    def with_reverse_complements(self, keep_flanks: bool = False) -> "LabelledSet":
        """The set plus the reverse complement of every sequence (ids ``<id>_rc``), same targets.

        Enhancer activity does not depend on which strand was sequenced, so
        reverse complements are free extra training data, and they teach the
        model each motif in both orientations.  With ``keep_flanks``, only the
        part between the :func:`shared_flanks` is reverse complemented: an MPRA
        clones the insert in either orientation between fixed adapters, so a
        copy with reverse-complemented adapters is a construct never measured.
        """
        start, stop = shared_flanks(self.X) if keep_flanks else (0, self.X.shape[-1])
        flipped = self.X.copy()
        flipped[:, :, start:stop] = reverse_complement(self.X[:, :, start:stop])
        return LabelledSet(self.ids + [f"{i}_rc" for i in self.ids],
                           np.concatenate([self.X, flipped]),
                           np.concatenate([self.y, self.y]), self.target_names,
                           None if self.chroms is None else self.chroms * 2)

    def on_chromosomes(self, chroms: tuple[str, ...], what: str) -> np.ndarray:
        """Boolean mask of the records on ``chroms`` (refused when a record has no coordinates).

        Parameters
        ----------
        chroms
            Chromosome names as the headers write them (``chr8``).
        what
            The parameter that asked (``test_chroms``), for the message.
        """
        known = self.chroms or [None] * len(self.ids)
        missing = [i for i, chrom in zip(self.ids, known) if chrom is None]
        check(not missing, f"{what} needs genomic coordinates in every header (chr1:100-200), but "
                           f"{len(missing)} records have none (first: {missing[0] if missing else ''!r})")
        mask = np.isin(np.asarray(known, dtype=object), list(chroms))
        check(mask.any(), f"{what}: no record lies on {', '.join(chroms)}")
        return mask


def chromosomes(records: list[io.Record]) -> list[str | None]:
    """The chromosome in each record's header (``chr8:100-200`` → ``chr8``), ``None`` where there is none."""
    found = [io.record_coordinates(r) for r in records]
    return [None if where is None else where[0] for where in found]


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
    return LabelledSet([r.id for r in records], X, y, tuple(io.target_columns(labels)), chromosomes(records))


def read_table(path: str | Path, sequence_column: str, target_columns: tuple[str, ...] = ()) -> pd.DataFrame:
    """A tab-separated table of sequences (plain or gzip), checked for the named columns.

    Measurement tables such as MPRA results carry the sequence in a column
    instead of a FASTA; records are named ``<file stem>:<row>`` (1-based) unless
    the table has an ``id`` column.
    """
    path = Path(path)
    check(path.is_file(), f"{path}: no such table")
    try:
        table = io.read_tsv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SeqsalError(f"{path}: not a tab-separated table ({error})") from None
    for column in (sequence_column, *target_columns):
        check(column in table.columns, f"{path}: no column {column!r} (found {list(table.columns)})")
    if "id" not in table.columns:
        stem = path.name.split(".")[0]
        table.insert(0, "id", [f"{stem}:{row}" for row in range(1, len(table) + 1)])
    table["id"] = table["id"].astype(str)
    return table


def table_records(table: pd.DataFrame, sequence_column: str) -> list[io.Record]:
    """The rows of a :func:`read_table` table as FASTA-like records."""
    return [io.Record(i, str(s)) for i, s in zip(table["id"], table[sequence_column])]


def from_table(
    path: str | Path, sequence_column: str, target_columns: tuple[str, ...],
    length: int | None = None, fit: bool = False,
) -> LabelledSet:
    """Sequences and targets from the columns of one table (e.g. ``seq`` and ``mean_value`` of an MPRA)."""
    check(target_columns, "a table needs at least one target column")
    table = read_table(path, sequence_column, target_columns)
    try:
        y = table[list(target_columns)].to_numpy(dtype=np.float32).copy()
    except ValueError:
        raise SeqsalError(f"{path}: target columns {list(target_columns)} hold non-numbers") from None
    records = table_records(table, sequence_column)
    X, _ = encode_records(records, length, fit)
    return LabelledSet([r.id for r in records], X, y, tuple(target_columns), chromosomes(records))


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
    chroms = chromosomes(pos)
    chroms += chroms if str(negatives) == "shuffle" else chromosomes(neg)
    return LabelledSet([r.id for r in records], X, y, ("label",), chroms)


def shared_flanks(X: np.ndarray) -> tuple[int, int]:
    """The variable part ``[start, stop)`` of one-hot sequences ``(N, 4, L)``: the columns between the flanks all share.

    MPRA and STARR-seq libraries put the same adapters on every element; those
    columns say nothing about which element a record is, so comparisons of
    elements (:func:`reverse_complement_groups`) skip them.  Sequences that
    are all the same give ``(L, L)``.
    """
    check(np.ndim(X) == 3 and np.shape(X)[1] == 4, f"expected one-hot sequences (N, 4, L), got shape {np.shape(X)}")
    same = np.asarray((X == X[:1]).all(axis=(0, 1)))
    if same.all():
        return X.shape[-1], X.shape[-1]
    return int(np.argmin(same)), X.shape[-1] - int(np.argmin(same[::-1]))


def reverse_complement_groups(X: np.ndarray) -> np.ndarray:
    """A group number per record: records whose variable parts are equal up to reverse complement share one.

    Libraries that measure each element in both orientations (lentiMPRA
    clones the insert both ways between fixed adapters) hold two records per
    element whose activities are strongly correlated; a validation split that
    separates them scores the model on sequences it has, in effect, trained
    on.  The variable part is what lies between the :func:`shared_flanks`, so
    the adapters, which are not reverse complemented, do not hide the pair.

    Parameters
    ----------
    X
        One-hot sequences ``(N, 4, L)`` (``N`` stays an all-zero column and matches only ``N``).

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64 group numbers, 0, 1, ... in order of first appearance.
    """
    start, stop = shared_flanks(X)
    core = np.asarray(X)[:, :, start:stop]

    def codes(one_hot: np.ndarray) -> np.ndarray:
        return (one_hot.argmax(axis=1) + 4 * (one_hot.sum(axis=1) == 0)).astype(np.uint8)

    keys = [min(f.tobytes(), r.tobytes()) for f, r in zip(codes(core), codes(reverse_complement(core)))]
    return pd.factorize(pd.Series(keys, dtype=object), sort=False)[0].astype(np.int64)


def kmer_counts(X: np.ndarray, k: int) -> np.ndarray:
    """Counts ``(N, 4**k)`` of every k-mer (plus strand, ``ACGT`` order) in one-hot sequences ``(N, 4, L)``.

    The features of a position-blind baseline: a linear model on them is what
    a CNN must beat to show that it uses more than composition and motif
    presence.  Windows touching an ``N`` (an all-zero column) are skipped.
    """
    check(1 <= k <= 8, f"k must be between 1 and 8, got {k}")
    X = np.asarray(X)
    known = X.sum(axis=1) > 0
    bases = X.argmax(axis=1).astype(np.int64)
    width = X.shape[-1] - k + 1
    check(width > 0, f"sequences of {X.shape[-1]} bases hold no {k}-mer")
    codes = np.zeros((X.shape[0], width), np.int64)
    valid = np.ones((X.shape[0], width), bool)
    for j in range(k):
        codes = codes * 4 + bases[:, j: j + width]
        valid &= known[:, j: j + width]
    keys = (np.arange(X.shape[0])[:, None] * 4**k + codes)[valid]
    return np.bincount(keys, minlength=X.shape[0] * 4**k).reshape(X.shape[0], 4**k).astype(np.float32)
