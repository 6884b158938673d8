"""Genome coordinates of a bundle: the columns ``scores.tsv`` carries, and mapping positions back.

When the input says where its records lie (BED intervals, or FASTA ids such
as ``chr1:100-200(+)``), ``scores.tsv`` gets, per record:

``chrom``, ``start``, ``end``   the genome span of the bases the record holds (BED convention:
                                0-based, end-exclusive; clipped to the chromosome)
``strand``                      the strand the model read: ``+``, ``-`` (reverse-complemented) or ``.``
``n_padded``                    ``N`` bases added because the window ran off a chromosome end
``genome_offset``               which base of the span the model's first input column holds, counted
                                along ``strand`` (negative when padding or ``--fit`` padded before it)
``top_genome_positions.<m>``    the ``top_positions.<m>`` as 1-based genome positions on ``chrom``

so that model column ``j`` is genome position ``start + genome_offset + j`` on
``+`` and ``end - 1 - (genome_offset + j)`` on ``-``, when ``0 <= genome_offset
+ j < end - start`` (otherwise it is padding and has no genome position).
Everything here reads that table back and maps model columns, seqlet spans
and tfmodisco-lite seqlets to the plus strand of the genome.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.errors import check
from seqsal.genome import Location

#: The coordinate columns of ``scores.tsv``, in order.
COORDINATE_COLUMNS = ("chrom", "start", "end", "strand", "n_padded", "genome_offset")

#: The columns of ``scores.tsv`` a :class:`Placements` is built from.
PLACEMENT_COLUMNS = ("id", "offset", *COORDINATE_COLUMNS)


def coordinate_columns(locations: Sequence[Location | None], offsets: np.ndarray) -> dict[str, pd.array]:
    """The coordinate columns of a chunk of ``scores.tsv``; empty cells where a record's place is unknown.

    ``offsets`` are the records' ``offset`` column: where the model's first
    column falls in the sequence as read (negative when ``--fit`` padded it).
    """
    def column(values, dtype):
        return pd.array(values, dtype=dtype)

    known = [loc is not None for loc in locations]
    return {
        "chrom": column([loc.chrom if loc else None for loc in locations], "string"),
        "start": column([loc.start if loc else None for loc in locations], "Int64"),
        "end": column([loc.end if loc else None for loc in locations], "Int64"),
        "strand": column([loc.strand if loc else None for loc in locations], "string"),
        "n_padded": column([loc.n_padded if loc else None for loc in locations], "Int64"),
        "genome_offset": column([int(o) - loc.pad_before if ok else None
                                 for loc, o, ok in zip(locations, offsets, known)], "Int64"),
    }


def genome_top_positions(top: Sequence[Sequence[int]], locations: Sequence[Location | None]) -> list[str]:
    """Top positions (0-based indices into each sequence as read) as 1-based genome positions, comma-separated."""
    rows = []
    for positions, location in zip(top, locations):
        mapped = [location.genome_position(p) for p in positions] if location is not None else []
        rows.append(",".join(str(g + 1) for g in mapped if g is not None))
    return rows


@dataclass(frozen=True)
class Placements:
    """Where every record of a bundle lies, as arrays (records without coordinates have ``chrom == ""``)."""

    ids: np.ndarray
    chrom: np.ndarray
    start: np.ndarray
    end: np.ndarray
    strand: np.ndarray
    genome_offset: np.ndarray
    offset: np.ndarray  # scores.tsv's offset: the record base (0-based, as read) in the model's first column

    def __len__(self) -> int:
        return len(self.ids)

    def columns_to_genome(self, index: int, first: int, stop: int) -> tuple[int, int]:
        """Model columns ``[first, stop)`` of record ``index`` as a plus-strand span ``[start, end)``.

        Columns on padding are dropped; an empty span (``start == end``) means
        none of them lies on the genome.
        """
        length = self.end[index] - self.start[index]
        k0 = max(self.genome_offset[index] + first, 0)
        k1 = min(self.genome_offset[index] + stop, length)
        if k1 <= k0:
            return 0, 0
        if self.strand[index] == "-":
            return int(self.end[index] - k1), int(self.end[index] - k0)
        return int(self.start[index] + k0), int(self.start[index] + k1)


def read_placements(folder: str | Path) -> Placements:
    """The coordinate columns of a bundle's ``scores.tsv``, read in chunks.

    Raises
    ------
    SeqsalError
        When the bundle has no coordinates (its input was a FASTA whose ids name none).
    """
    path = Path(folder) / "scores.tsv"
    header = io.read_tsv(path, nrows=0).columns
    check(set(COORDINATE_COLUMNS) <= set(header),
          f"{folder}: the bundle has no genome coordinates; explain BED intervals with a genome (bed=, genome=; "
          "--bed/--genome), or a FASTA whose ids name them, e.g. chr1:100-200(+) as 'bedtools getfasta -s' writes")
    parts = list(io.read_tsv(path, usecols=list(PLACEMENT_COLUMNS), chunksize=100_000))
    placements = placements_of(pd.concat(parts, ignore_index=True))
    check(placements is not None, f"{folder}: no record of the bundle has genome coordinates")
    return placements


def placements_of(table: pd.DataFrame) -> Placements | None:
    """:class:`Placements` from ``scores.tsv`` rows (:data:`PLACEMENT_COLUMNS`); None when no record has coordinates."""
    if not set(PLACEMENT_COLUMNS) <= set(table.columns) or table["chrom"].isna().all():
        return None

    def integers(name: str) -> np.ndarray:
        return table[name].fillna(0).to_numpy(dtype=np.int64)

    return Placements(table["id"].to_numpy(dtype=object), table["chrom"].fillna("").to_numpy(dtype=object),
                      integers("start"), integers("end"), table["strand"].fillna(".").to_numpy(dtype=object),
                      integers("genome_offset"), integers("offset"))


#: The genome columns of ``seqlets.tsv`` (:func:`record_spans_on_genome`).
GENOME_SPAN_COLUMNS = ("chrom", "genome_start", "genome_end", "genome_strand")


def record_spans_on_genome(placements: Placements, records: Sequence[int], starts: Sequence[int],
                           ends: Sequence[int], strands: Sequence[str]) -> pd.DataFrame:
    """Spans given in their records' own coordinates (``seqlets.tsv``) as plus-strand genome spans.

    Parameters
    ----------
    placements
        The bundle's placements.
    records
        Row index of each span's record.
    starts, ends
        1-based inclusive positions in the record as given (``seqlets.tsv``'s ``start`` and ``end``).
    strands
        Each span's orientation relative to its record (``+``, ``-``, or ``.`` when unknown, e.g. an
        unnamed seqlet).

    Returns
    -------
    pandas.DataFrame
        :data:`GENOME_SPAN_COLUMNS`: BED-convention ``genome_start``/``genome_end`` (0-based, end-exclusive)
        on ``chrom``; ``genome_strand`` is the span's orientation on the genome (its strand, flipped on a
        minus-strand record), ``.`` when unknown.  Empty cells where the record has no coordinates or
        the span lies on padding.
    """
    rows = []
    for record, first, last, strand in zip(records, starts, ends, strands):
        record = int(record)
        chrom = placements.chrom[record]
        # record positions [first, last] (1-based) are model columns [first - 1 - offset, last - offset)
        begin, end = placements.columns_to_genome(record, int(first) - 1 - int(placements.offset[record]),
                                                  int(last) - int(placements.offset[record]))
        if not chrom or end <= begin:
            rows.append((None, None, None, None))
            continue
        on_genome = "." if strand not in ("+", "-") else (
            {"+": "-", "-": "+"}[strand] if placements.strand[record] == "-" else strand)
        rows.append((chrom, begin, end, on_genome))
    table = pd.DataFrame(rows, columns=list(GENOME_SPAN_COLUMNS))
    return table.astype({"chrom": "string", "genome_start": "Int64", "genome_end": "Int64",
                         "genome_strand": "string"})


def chrom_sizes_of(manifest: dict) -> dict[str, int] | None:
    """The chromosome sizes a bundle's manifest records (runs on a genome do; FASTA runs do not)."""
    sizes = (manifest.get("coordinates") or {}).get("chrom_sizes")
    return {str(k): int(v) for k, v in sizes.items()} if sizes else None
