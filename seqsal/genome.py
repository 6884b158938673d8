"""Genomic intervals and a reference genome: reading BED/narrowPeak, centring windows, fetching bases.

Peak callers write intervals (BED3, BED6, ENCODE narrowPeak), not sequences;
a model reads a fixed number of bases.  This module turns one into the other
without holding either in memory: :func:`read_intervals` streams a BED file
line by line (errors name the line), :func:`window` centres each interval
(on its summit when narrowPeak gives one) to the model's length, and
:class:`Genome` fetches the bases from an indexed FASTA through ``pyfaidx``
(plain FASTA, or bgzip-compressed with its ``.fai``/``.gzi``; a missing index
is built beside the file).  A window that runs off a chromosome end is padded
with ``N`` and says how much (:class:`Location`); a minus-strand interval is
reverse-complemented when asked, so the model reads it 5'→3'.

Coordinates are BED's throughout: 0-based, end-exclusive.  ``pyfaidx`` (and
``pyBigWig`` for :mod:`seqsal.tracks`) come with the ``seqsal[genome]``
extra and are imported only when a genome is opened.
"""

from __future__ import annotations

import array
import gzip
import hashlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import IO, NamedTuple

import numpy as np

from seqsal.encoding import reverse_complement
from seqsal.errors import SeqsalError, check

#: Columns of ENCODE narrowPeak; the 10th is the summit's offset from ``start`` (-1: none).
NARROWPEAK_COLUMNS = 10

#: How the extra that brings the genome libraries is installed, for error messages.
GENOME_EXTRA = "pip install 'seqsal[genome]'"

_SKIPPED = ("#", "track", "browser")


class Interval(NamedTuple):
    """One BED line: 0-based, end-exclusive; ``summit`` is an offset from ``start`` or -1; ``line`` is 1-based."""

    chrom: str
    start: int
    end: int
    name: str | None
    strand: str  # "+", "-" or "."
    summit: int
    line: int


class Location(NamedTuple):
    """Where a sequence lies in the genome.

    The sequence as read is ``pad_before`` ``N`` bases (the window ran off a
    chromosome end), then the bases of ``[start, end)`` on ``strand`` (read
    5'→3': on ``-`` that is the reverse complement), then padding again.
    ``strand`` is ``"."`` when unknown; it is then read like ``+``.
    """

    chrom: str
    start: int
    end: int
    strand: str
    pad_before: int = 0
    n_padded: int = 0

    def genome_position(self, index: int) -> int | None:
        """The 0-based genome position of base ``index`` of the sequence as read; ``None`` for padding."""
        k = index - self.pad_before
        if not 0 <= k < self.end - self.start:
            return None
        return self.end - 1 - k if self.strand == "-" else self.start + k


def _open_text(path: Path) -> IO[str]:
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
    return gzip.open(path, "rt") if gzipped else open(path, "rt", encoding="utf-8-sig")


def read_intervals(path: str | Path) -> Iterator[Interval]:
    """Yield the intervals of a BED3/BED6/narrowPeak file (plain or gzipped) one line at a time.

    Header lines (``#``, ``track``, ``browser``) and blank lines are skipped.
    Column 4 is the name (``.``: none), column 6 the strand, and a line of
    exactly ten columns is narrowPeak, whose 10th column is the summit.

    Raises
    ------
    SeqsalError
        For a missing file, a line with fewer than three columns, a coordinate
        that is not a whole number, a negative start, ``start >= end``, a
        strand other than ``+ - .``, a summit outside the interval, or a file
        with no interval; each names the line.
    """
    path = Path(path)
    check(path.is_file(), f"{path}: no such BED file")
    count = 0
    try:
        with _open_text(path) as handle:
            for number, line in enumerate(handle, 1):
                if not line.strip() or line.startswith(_SKIPPED):
                    continue
                count += 1
                yield _interval(path, number, line.rstrip("\r\n").split("\t"))
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise SeqsalError(f"{path}: cannot be read as a text BED file ({error})") from None
    check(count > 0, f"{path}: contains no intervals")


def _interval(path: Path, number: int, fields: list[str]) -> Interval:
    """One checked BED line."""
    if len(fields) < 3:
        fields = fields[0].split()  # space-separated BED, as some tools write it
    where = f"{path}, line {number}"
    check(len(fields) >= 3, f"{where}: a BED line needs chrom, start and end separated by tabs, got {fields[0]!r}")
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise SeqsalError(f"{where}: start and end must be whole numbers, got {fields[1]!r} and {fields[2]!r}") \
            from None
    check(start >= 0, f"{where}: negative start {start}; BED coordinates start at 0")
    check(start < end, f"{where}: start {start} is not before end {end}; an interval must hold a base")
    name = fields[3] if len(fields) > 3 and fields[3] not in ("", ".") else None
    strand = fields[5] if len(fields) > 5 else "."
    check(strand in ("+", "-", "."), f"{where}: strand must be +, - or ., got {strand!r}")
    summit = -1
    if len(fields) == NARROWPEAK_COLUMNS:
        try:
            summit = int(fields[9])
        except ValueError:
            raise SeqsalError(f"{where}: the narrowPeak summit (column 10) must be a whole number, "
                              f"got {fields[9]!r}") from None
        check(summit == -1 or 0 <= summit < end - start,
              f"{where}: summit offset {summit} lies outside the interval of {end - start} bases")
    return Interval(fields[0], start, end, name, strand, summit, number)


def window(interval: Interval, length: int) -> tuple[int, int]:
    """The ``length``-base window centred on the summit (narrowPeak) or on the interval's middle.

    The centre base is ``start + summit`` or ``(start + end) // 2``; the window
    puts it at index ``length // 2``.  It may reach below 0 or past the
    chromosome's end; :meth:`Genome.fetch` pads those bases with ``N``.
    """
    centre = interval.start + interval.summit if interval.summit >= 0 else (interval.start + interval.end) // 2
    start = centre - length // 2
    return start, start + length


def interval_id(interval: Interval) -> str:
    """A record id for an interval: its name, else ``chrom:start-end`` with the strand when known."""
    if interval.name is not None:
        return interval.name
    strand = f"({interval.strand})" if interval.strand != "." else ""
    return f"{interval.chrom}:{interval.start}-{interval.end}{strand}"


class Genome:
    """An indexed reference FASTA, read through ``pyfaidx`` one window at a time.

    Plain FASTA gets its ``.fai`` built beside it when missing; bgzip FASTA
    needs ``.fai`` and ``.gzi`` (built likewise).  Plain gzip cannot be
    indexed and is refused with the command that fixes it.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        check(self.path.is_file(), f"{self.path}: no such genome FASTA")
        try:
            import pyfaidx
        except ImportError:
            raise SeqsalError(f"reading a genome needs pyfaidx; install it with {GENOME_EXTRA}") from None
        try:
            self._fasta = pyfaidx.Fasta(str(self.path), as_raw=True, sequence_always_upper=False)
        except pyfaidx.UnsupportedCompressionFormat:
            raise SeqsalError(f"{self.path}: gzip-compressed but not with bgzip, so it cannot be indexed; "
                              f"recompress it: gunzip -c {self.path} | bgzip > genome.fa.gz") from None
        except (OSError, pyfaidx.FastaIndexingError, ValueError) as error:
            raise SeqsalError(f"{self.path}: cannot index the genome ({' '.join(str(error).split())}); "
                              f"index it with 'samtools faidx {self.path}' in a writable folder") from None
        self.sizes: dict[str, int] = {name: len(record) for name, record in self._fasta.records.items()}

    def fetch(self, chrom: str, start: int, end: int, strand: str = "+") -> tuple[str, Location]:
        """The bases of ``[start, end)`` on ``strand``, ``N``-padded where the window leaves the chromosome."""
        size = self.sizes[chrom]
        check(start < size and end > 0, f"window {chrom}:{start}-{end} lies outside {chrom} ({size} bases)")
        first, last = max(start, 0), min(end, size)
        bases = "N" * (first - start) + self._fasta[chrom][first:last] + "N" * (end - last)
        before, after = first - start, end - last
        if strand == "-":
            bases, before = reverse_complement(bases), after
        return bases, Location(chrom, first, last, strand, before, (first - start) + (end - last))

    def close(self) -> None:
        self._fasta.close()


def read_chrom_sizes(path: str | Path) -> dict[str, int]:
    """A UCSC ``chrom.sizes`` file (name, tab, length per line) as a dict in file order."""
    path = Path(path)
    check(path.is_file(), f"{path}: no such chromosome sizes file")
    sizes = {}
    with _open_text(path) as handle:
        for number, line in enumerate(handle, 1):
            fields = line.split()
            if not fields or fields[0].startswith("#"):
                continue
            check(len(fields) >= 2 and fields[1].isdigit(),
                  f"{path}, line {number}: expected a chromosome name and its length, got {line.strip()!r}")
            sizes[fields[0]] = int(fields[1])
    check(sizes, f"{path}: lists no chromosomes")
    return sizes


def missing_chromosomes(used: set[str], sizes: Mapping[str, int]) -> list[str]:
    """Chromosomes in ``used`` that ``sizes`` lacks, sorted (for one error naming them all)."""
    return sorted(used - set(sizes))


def survey_intervals(path: str | Path, sizes: Mapping[str, int], length: int) -> dict:
    """Check every interval of ``path`` against the genome in one pass; return what the manifest records.

    Returns the number of intervals, whether they are sorted (by chromosome
    blocks and start), how many repeat an earlier interval exactly, how many
    ``length``-base windows run off a chromosome end, and the sizes of the
    chromosomes used (which a bigWig header needs).

    Raises
    ------
    SeqsalError
        Naming every chromosome the genome lacks, or the first interval that
        ends past its chromosome's end (a peak file of another assembly).
    """
    keys = array.array("Q")
    used: dict[str, int] = {}
    missing: set[str] = set()
    is_sorted, previous, n_padded = True, None, 0
    for interval in read_intervals(path):
        size = sizes.get(interval.chrom)
        if size is None:
            missing.add(interval.chrom)
            continue
        check(interval.end <= size, f"{path}, line {interval.line}: {interval.chrom}:{interval.start}-"
                                    f"{interval.end} ends past the end of {interval.chrom} ({size} bases); "
                                    "is the peak file from another assembly than the genome?")
        if previous is not None and (interval.start < previous[1] if interval.chrom == previous[0]
                                     else interval.chrom in used):
            is_sorted = False  # a start before the previous one, or a chromosome's intervals in two blocks
        previous = (interval.chrom, interval.start)
        used.setdefault(interval.chrom, size)
        start, end = window(interval, length)
        n_padded += start < 0 or end > size
        keys.append(_key_hash(interval))
    if missing:
        shown = ", ".join(sorted(missing)[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise SeqsalError(f"{path}: {len(missing)} chromosomes are not in the genome: {shown}; use the genome the "
                          "peaks were called on, or drop those intervals (check chr1 vs 1 naming)")
    hashes = np.frombuffer(keys, dtype=np.uint64)
    return {"n_intervals": len(hashes), "sorted": is_sorted,
            "n_duplicate_intervals": int(len(hashes) - len(np.unique(hashes))),
            "n_windows_padded": int(n_padded), "chrom_sizes": used}


def _key_hash(interval: Interval) -> int:
    """Eight bytes per interval: enough to count exact repeats among millions of them."""
    key = f"{interval.chrom}\t{interval.start}\t{interval.end}\t{interval.strand}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little")
