"""The audited dataset: positives and negatives encoded once, in one indexable collection.

:class:`AuditData` keeps every record's codes in one flat array with
offsets, so every check reads batches of similar length (:meth:`AuditData.batches`)
or searches one joined buffer (:attr:`AuditData.joined`) instead of looping
over records in Python.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from os import PathLike

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.encoding import encode_indices
from seqsal.errors import check

CLASS_NAMES = ("negative", "positive")
"""Class names by label: 0 is the negative set, 1 the positive set."""


BATCH_CELLS = 1 << 21  # bases per encoded batch (about 8,000 sequences of 249 bp)


@dataclass
class AuditData:
    """Positives and negatives in one indexable collection.

    Attributes
    ----------
    ids, sequences
        Records in order: all positives first, then all negatives; sequences
        keep their case (soft-masking is measured, not lost).
    labels
        ``(N,)`` int8, 1 for positives and 0 for negatives.
    splits
        ``(N,)`` split names, or ``None`` when no split table was given.
    codes
        All sequences concatenated as ``uint8`` codes: 0-3 for ``ACGT`` (case
        ignored), 4 for ``N`` and other IUPAC codes.
    offsets
        ``(N + 1,)``: sequence ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.
    softmasked
        ``(N,)`` number of lowercase bases per sequence.
    sources
        Where the classes came from (file names), for the report.
    trimmed_5p
        ``(N,)`` bases removed from each record's 5' end by :meth:`trim`
        (library flanks), so positions map back to the records as given;
        ``None`` when nothing was trimmed.
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray
    splits: np.ndarray | None
    codes: np.ndarray
    offsets: np.ndarray
    softmasked: np.ndarray
    sources: dict[str, str]
    trimmed_5p: np.ndarray | None = None

    @classmethod
    def from_records(
        cls,
        positives: Sequence[io.Record],
        negatives: Sequence[io.Record],
        splits: Mapping[str, str] | None = None,
        sources: Mapping[str, str] | None = None,
        one_class: bool = False,
    ) -> AuditData:
        """Collect and encode two record lists, checking every base and split assignment.

        Parameters
        ----------
        positives, negatives
            The two classes; each needs at least one record.
        splits
            Record id -> split name (``train``, ``test``, ...); every record
            must have one.
        sources
            Names of the inputs for messages, e.g. ``{"positive": "pos.fa"}``.
        one_class
            Records of one set, e.g. an activity table (:mod:`seqsal.audit.activity`):
            ``negatives`` may be empty and every record is labelled 1.

        Raises
        ------
        SeqsalError
            For an empty class, a base that is not IUPAC DNA (naming the record
            and position) or records without a split.
        """
        sources = {"positive": "positives", "negative": "negatives", **(sources or {})}
        check(len(positives) > 0, f"{sources['positive']}: the positive class is empty; give at least one record")
        check(len(negatives) > 0 or one_class,
              f"{sources['negative']}: the negative class is empty; give at least one record")
        records = list(positives) + list(negatives)
        labels = np.concatenate([np.ones(len(positives), np.int8), np.zeros(len(negatives), np.int8)])
        ids = [record.id for record in records]
        sequences = [record.sequence for record in records]
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        codes = np.empty(int(offsets[-1]), dtype=np.uint8)
        for i, record in enumerate(records):
            codes[offsets[i] : offsets[i + 1]] = encode_indices(record.sequence, record.id)
        softmasked = count_softmasked(sequences)
        split_array = None
        if splits is not None:
            missing = [record_id for record_id in ids if record_id not in splits]
            source = sources.get("splits", "the split table")
            check(
                not missing,
                f"{source}: {len(missing)} of {len(ids)} sequence ids have no split (first: {missing[:3]}); "
                "the split table needs a row for every record of both classes",
            )
            split_array = np.array([str(splits[record_id]) for record_id in ids])
        return cls(ids, sequences, labels, split_array, codes, offsets, softmasked, dict(sources))

    def trim(self, left: np.ndarray, right: np.ndarray) -> AuditData:
        """A copy with ``left[i]`` bases cut from record ``i``'s 5' end and ``right[i]`` from its 3' end.

        Codes are cut from the encoded array (no re-encoding); ids, labels and
        splits stay.  ``trimmed_5p`` accumulates, so a trimmed set trimmed
        again still maps back to the records as given.
        """
        left, right = np.asarray(left, np.int64), np.asarray(right, np.int64)
        lengths = self.lengths
        check(bool(((left >= 0) & (right >= 0) & (left + right <= lengths)).all()),
              "trim lengths must be non-negative and at most each record's length")
        kept = lengths - left - right
        offsets = np.concatenate([[0], np.cumsum(kept)])
        source = np.repeat(self.offsets[:-1] + left - offsets[:-1], kept) + np.arange(int(offsets[-1]))
        sequences = [s[a : len(s) - b] for s, a, b in zip(self.sequences, left.tolist(), right.tolist())]
        softmasked = count_softmasked(sequences)
        trimmed = left if self.trimmed_5p is None else self.trimmed_5p + left
        return replace(self, sequences=sequences, codes=self.codes[source], offsets=offsets, softmasked=softmasked,
                       trimmed_5p=trimmed)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` sequence lengths."""
        return np.diff(self.offsets)

    @property
    def class_sizes(self) -> tuple[int, int]:
        """``(n_negative, n_positive)``, indexable by label."""
        n_pos = int(self.labels.sum())
        return len(self) - n_pos, n_pos

    def class_name(self, rows: np.ndarray) -> np.ndarray:
        """``"positive"`` / ``"negative"`` for each row index."""
        return np.array(CLASS_NAMES)[self.labels[rows]]

    def padded(self, rows: np.ndarray) -> np.ndarray:
        """Codes of ``rows`` as a ``(B, L_max)`` uint8 block, padded with 4 (read as ``N``)."""
        lengths = self.lengths[rows]
        width = int(lengths.max(initial=0))
        columns = np.arange(width)
        inside = columns < lengths[:, None]
        index = np.where(inside, self.offsets[rows][:, None] + columns, 0)
        source = self.codes if self.codes.size else np.full(1, 4, np.uint8)
        return np.where(inside, source[index], np.uint8(4)).astype(np.uint8)

    def batches(self, rows: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Row indices in batches of similar length holding at most about 2 million bases each.

        Sorting by length first keeps padding small when lengths vary; every
        statistic computed per batch is either a sum or indexed by row, so the
        order does not change any result.
        """
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        order = rows[np.argsort(self.lengths[rows], kind="stable")]
        start = 0
        lengths = self.lengths[order]
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * max(int(lengths[stop]), 1) <= BATCH_CELLS:
                stop += 1
            yield order[start:stop]
            start = stop

    @cached_property
    def joined(self) -> tuple[bytes, np.ndarray]:
        """All sequences upper-cased and joined by newlines, with each sequence's start offset.

        Adapter and k-mer searches run C-speed ``bytes.find`` over this one
        buffer; the newline separator can never match a base, and hits are
        mapped back to records through the start offsets.
        """
        buffer = "\n".join(self.sequences).upper().encode("ascii")
        starts = self.offsets[:-1] + np.arange(len(self))
        return buffer, starts

    def locate(self, positions: np.ndarray, width: int | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map positions in :attr:`joined` to ``(row, start)`` and whether ``width`` bases fit in that record."""
        _, starts = self.joined
        rows = np.searchsorted(starts, positions, side="right") - 1
        start = positions - starts[rows]
        fits = start + width <= self.lengths[rows]
        return rows, start, fits


def count_softmasked(sequences: Sequence[str]) -> np.ndarray:
    """``(N,)`` lowercase (soft-masked) bases per sequence; upper-case sequences cost one check each."""
    return np.fromiter((0 if s.isupper() or not s else sum(c.islower() for c in s) for s in sequences),
                       dtype=np.int64, count=len(sequences))


def read_split_table(path: str | PathLike) -> dict[str, str]:
    """Read a TSV with ``id`` and ``split`` columns into ``{id: split}``.

    Raises
    ------
    SeqsalError
        When the file is missing, not a table, has repeated ids or lacks a
        ``split`` column.
    """
    table = io.read_labels(path)
    check("split" in table.columns, f"{path}: the split table needs a 'split' column (found {list(table.columns)})")
    return {str(record_id): str(split) for record_id, split in table["split"].items()}


def load_dataset(
    positives: str | PathLike, negatives: str | PathLike, splits: str | PathLike | None = None
) -> AuditData:
    """Read the positive and negative FASTA (and a split table) into :class:`AuditData`."""
    sources = {"positive": str(positives), "negative": str(negatives)}
    split_map = None
    if splits is not None:
        sources["splits"] = str(splits)
        split_map = read_split_table(splits)
    return AuditData.from_records(io.read_fasta(positives), io.read_fasta(negatives), split_map, sources)


def find_all(buffer: bytes, needle: bytes, start: int = 0, end: int | None = None,
              limit: int | None = None) -> np.ndarray:
    """Every (overlapping) start of ``needle`` in ``buffer[start:end]``, the first ``limit`` at most."""
    end = len(buffer) if end is None else end
    found = []
    position = buffer.find(needle, start, end)
    while position >= 0 and (limit is None or len(found) < limit):
        found.append(position)
        position = buffer.find(needle, position + 1, end)
    return np.array(found, dtype=np.int64)



def with_ids(data: AuditData, table: pd.DataFrame) -> pd.DataFrame:
    """Put ``id``, ``class`` (and ``split``) of each ``row`` first; the row index stays for internal use."""
    rows = table["row"].to_numpy(dtype=np.int64)
    front = {"id": np.array(data.ids, dtype=object)[rows], "class": data.class_name(rows)}
    if data.splits is not None:
        front["split"] = data.splits[rows]
    return pd.concat([pd.DataFrame(front, index=table.index), table], axis=1)
