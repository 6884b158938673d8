"""The input of an explain run: a FASTA (file or standard input) or BED intervals on a genome, checked first.

Every record is checked before anything is written (bases, length, id), so a
problem in record 190,000 fails the run up front instead of leaving a
half-written bundle.  Record ids name rows of ``scores.tsv`` and logo files,
so they must be unique: repeated ids are refused with their record numbers,
or, when asked, renamed ``<id>_2``, ``<id>_3``, ... in input order (the
renames are recorded in the manifest).  Renaming is decided by the whole
file, so every later pass over it (and a resumed run) sees the same ids.
The check keeps eight bytes per record (a hash of its id) and reads the file
a second time only when two hashes are equal.

Every record comes with its place in the genome when it is known
(:class:`seqsal.genome.Location`): from a BED interval fetched from a genome
(:func:`open_intervals`), or from a FASTA id of the forms ``bedtools
getfasta`` and ``samtools faidx`` write (``chr1:100-200``,
``chr1:100-200(+)``, ``chr1:100-200:+``, ``peak7::chr1:100-200``), or at the
end of the header after the id (``>peak7 chr1:100-200``).  A
getfasta id is 0-based, end-exclusive, a faidx one 1-based, inclusive: the
record's length says which, and an id whose span fits neither is refused.
Both kinds of input are read through the same record iterator, so the
pipeline streams a million peaks exactly as it streams a FASTA.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import itertools
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import numpy as np

from seqsal import io
from seqsal.checks import check_choice
from seqsal.datasets import check_length
from seqsal.encoding import AMBIGUITY_CODES, encode_indices
from seqsal.errors import SeqsalError, SeqsalWarning, check
from seqsal.genome import (
    Genome,
    Location,
    interval_id,
    read_intervals,
    survey_intervals,
    window,
)

#: The name a run records for standard input in its manifest.
STDIN = "-"

#: What a scan does with repeated record ids.
DUPLICATE_IDS = ("refuse", "rename", "allow")

_SHOWN = 3  # repeated ids listed in an error message


@contextlib.contextmanager
def input_file(fasta: str | Path) -> Iterator[Path]:
    """``fasta`` as a path; ``"-"`` spools standard input to a temporary file for the duration."""
    if str(fasta) == STDIN:
        with io.stdin_as_file() as path:
            yield path
    else:
        yield Path(fasta)


#: A record and where it lies in the genome (``None``: unknown).
Located = tuple[io.Record, Location | None]


def fasta_reader(path: Path) -> Callable[[], Iterator[Located]]:
    """The records of a FASTA/FASTQ file with the coordinates their headers carry."""
    def read() -> Iterator[Located]:
        for record in io.iter_records(path):
            yield record, header_location(record)
    return read


def header_location(record: io.Record) -> Location | None:
    """The genome span a FASTA header names (id, else description), checked against the record's length;
    ``None`` when it names none.

    Raises
    ------
    SeqsalError
        When the id looks like coordinates whose span has neither the
        record's length (0-based, end-exclusive) nor one base less (1-based,
        inclusive).
    """
    parsed = io.record_coordinates(record)
    if parsed is None:
        return None
    chrom, start, end, strand = parsed
    n = len(record.sequence)
    if end - start + 1 == n and start >= 1:
        start -= 1  # samtools faidx: 1-based, inclusive
    check(end - start == n, f"record {record.id!r} names {end - start} bases of {chrom} but holds {n}; fix the "
                            "header (0-based end-exclusive as bedtools getfasta writes, or 1-based as samtools "
                            "faidx writes) or drop the coordinates from it")
    return Location(chrom, start, end, strand or ".")


@dataclass(frozen=True)
class CheckedInput:
    """An input that passed :func:`scan_source`: its size, the ids to read it with, where it lies.

    ``path`` is the file whose hash the manifest records; ``coordinates`` is
    the manifest's account of the records' genome coordinates.
    """

    path: Path
    n_records: int
    renamed: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # record index -> (id in file, id used)
    reader: Callable[[], Iterator[Located]] | None = None  # None: the FASTA at ``path``
    coordinates: Mapping = field(default_factory=dict)
    ambiguous: Mapping[str, int] = field(default_factory=dict)  # IUPAC code other than ACGT -> bases seen

    def located(self, start: int = 0) -> Iterator[Located]:
        """The records from index ``start`` on, with repeated ids renamed, and their locations."""
        read = self.reader or fasta_reader(self.path)
        for index, (record, location) in enumerate(itertools.islice(read(), start, None), start):
            rename = self.renamed.get(index)
            yield (record if rename is None else record._replace(id=rename[1])), location

    def records(self, start: int = 0) -> Iterator[io.Record]:
        """The records from index ``start`` on, with repeated ids renamed."""
        for record, _ in self.located(start):
            yield record

    def locations(self, start: int = 0) -> Iterator[Location | None]:
        """Each record's place in the genome from index ``start`` on (``None`` where unknown)."""
        for _, location in self.located(start):
            yield location

    def renames(self) -> list[dict]:
        """The renames as the manifest lists them: 1-based record number, id in the file, id used."""
        return [{"record": index + 1, "id": old, "renamed_to": new} for index, (old, new) in self.renamed.items()]


def scan_input(path: Path, length: int, fit: bool, *, duplicate_ids: str = "refuse") -> CheckedInput:
    """Check every record of the FASTA ``path`` in one streaming pass; see :func:`scan_source`."""
    return scan_source(path, fasta_reader(path), length, fit, duplicate_ids=duplicate_ids)


def scan_source(path: Path, reader: Callable[[], Iterator[Located]], length: int, fit: bool, *,
                duplicate_ids: str = "refuse", coordinates: Mapping | None = None) -> CheckedInput:
    """Check every record ``reader`` yields in one streaming pass; return its size and the unique ids to use.

    Parameters
    ----------
    path
        The input file (FASTA/FASTQ, or BED), named in messages and hashed in the manifest.
    reader
        Called for each pass; yields the records with their locations.
    length
        The model's input length; records must have it unless ``fit``.
    fit
        Records will be centre-cropped or N-padded, so any length passes.
    duplicate_ids
        ``"refuse"`` (a :class:`SeqsalError` naming the records), ``"rename"``
        (suffix ``_2``, ``_3``, ... in input order, skipping ids the file
        already uses) or ``"allow"`` (for callers that never name anything
        after an id).
    coordinates
        What the manifest says of the records' coordinates; default: how many
        FASTA ids named them.
    """
    check_choice(duplicate_ids, "duplicate_ids", DUPLICATE_IDS)
    hashes = array.array("Q")
    n_located = 0
    ambiguous = dict.fromkeys(AMBIGUITY_CODES, 0)
    for index, (record, location) in enumerate(reader()):
        check(record.sequence, f"record {index + 1} ({record.id!r}) has no bases; remove it from the input")
        encode_indices(record.sequence, record.id)
        check_length(record, length, fit)
        hashes.append(_id_hash(record.id))
        n_located += location is not None
        upper = record.sequence.upper()
        for code in AMBIGUITY_CODES:
            ambiguous[code] += upper.count(code)
    taken = np.sort(np.frombuffer(hashes, dtype=np.uint64))
    repeated = _repeated_ids(reader, taken) if duplicate_ids != "allow" else {}
    if repeated and duplicate_ids == "refuse":
        raise SeqsalError(_duplicates_message(path, repeated))
    if coordinates is None:
        coordinates = {"source": "FASTA ids", "n_located": n_located} if n_located else {}
    return CheckedInput(path, len(hashes), _unique_ids(repeated, taken), reader, dict(coordinates),
                        {code: count for code, count in ambiguous.items() if count})


def _id_hash(record_id: str) -> int:
    """A 64-bit hash of an id: eight bytes per record keep the id check small for millions of records."""
    return int.from_bytes(hashlib.blake2b(record_id.encode(), digest_size=8).digest(), "little")


def _repeated_ids(reader: Callable[[], Iterator[Located]], hashes: np.ndarray) -> dict[str, list[int]]:
    """Ids used more than once, with their record indices; a second pass only when some hash repeats."""
    candidates = set(hashes[1:][hashes[1:] == hashes[:-1]].tolist())
    if not candidates:
        return {}
    indices: dict[str, list[int]] = {}
    for index, (record, _) in enumerate(reader()):
        if _id_hash(record.id) in candidates:
            indices.setdefault(record.id, []).append(index)
    return {record_id: found for record_id, found in indices.items() if len(found) > 1}


def _duplicates_message(path: Path, repeated: dict[str, list[int]]) -> str:
    shown = "; ".join(f"{record_id!r} (records {', '.join(str(i + 1) for i in indices)})"
                      for record_id, indices in itertools.islice(repeated.items(), _SHOWN))
    more = f" and {len(repeated) - _SHOWN} more" if len(repeated) > _SHOWN else ""
    return (f"{path}: {len(repeated)} record ids are used more than once: {shown}{more}; ids name rows and "
            "logo files, so make them unique, or let seqsal rename repeats to <id>_2, <id>_3 (dedupe_ids, "
            "--dedupe-ids)")


def _unique_ids(repeated: dict[str, list[int]], taken: np.ndarray) -> dict[int, tuple[str, str]]:
    """New ids for the second and later uses of each repeated id, never one the file may already use.

    ``taken`` holds the sorted hashes of the file's ids; a candidate whose hash
    is among them is skipped (on a rare hash collision, one number too many).
    """
    used = set()
    renamed = {}
    for record_id, indices in repeated.items():
        copy = 1
        for index in indices[1:]:
            copy += 1
            while _is_taken(f"{record_id}_{copy}", taken) or f"{record_id}_{copy}" in used:
                copy += 1
            renamed[index] = (record_id, f"{record_id}_{copy}")
            used.add(f"{record_id}_{copy}")
    return dict(sorted(renamed.items()))


def _is_taken(record_id: str, hashes: np.ndarray) -> bool:
    value = np.uint64(_id_hash(record_id))
    position = int(np.searchsorted(hashes, value))
    return position < len(hashes) and hashes[position] == value


def validate_fasta(fasta: str | Path, length: int, fit: bool) -> int:
    """Check every record's bases and length before anything is written; return the record count.

    For callers that never name files or rows after record ids (repeated ids
    pass); an explain run uses :func:`scan_input`.
    """
    return scan_input(Path(fasta), length, fit, duplicate_ids="allow").n_records


@contextlib.contextmanager
def open_intervals(bed: str | Path, genome: str | Path, length: int, *, stranded: bool = False
                   ) -> Iterator[CheckedInput]:
    """The intervals of ``bed`` as ``length``-base records fetched from ``genome``, checked; closed after use.

    Each interval is centred on its summit (narrowPeak) or middle, padded
    with ``N`` where it runs off a chromosome, and reverse-complemented on
    ``-`` when ``stranded``.  Ids are the BED names (else ``chrom:start-end``);
    repeated ones are renamed ``<id>_2``, ... since repeated intervals are
    allowed.  Unsorted or repeated intervals and padded windows are counted
    in ``coordinates`` and announced with a :class:`SeqsalWarning`.
    """
    reference = Genome(genome)
    try:
        survey = survey_intervals(bed, reference.sizes, length)
        _announce(Path(bed), survey)
        coordinates = {"source": "BED", "genome": str(genome), "stranded": bool(stranded), **survey}
        reader = partial(_interval_records, Path(bed), reference, length, stranded)
        yield scan_source(Path(bed), reader, length, False, duplicate_ids="rename", coordinates=coordinates)
    finally:
        reference.close()


def _interval_records(bed: Path, genome: Genome, length: int, stranded: bool) -> Iterator[Located]:
    for interval in read_intervals(bed):
        start, end = window(interval, length)
        strand = "-" if stranded and interval.strand == "-" else "+"  # the strand the model reads
        sequence, location = genome.fetch(interval.chrom, start, end, strand)
        yield io.Record(interval_id(interval), sequence), location


def _announce(bed: Path, survey: Mapping) -> None:
    """Say what is allowed but may surprise: unsorted or repeated intervals, windows past a chromosome end."""
    notes = []
    if not survey["sorted"]:
        notes.append("the intervals are not sorted (kept in file order)")
    if survey["n_duplicate_intervals"]:
        notes.append(f"{survey['n_duplicate_intervals']} intervals repeat an earlier one (explained again)")
    if survey["n_windows_padded"]:
        notes.append(f"{survey['n_windows_padded']} windows run off a chromosome end (padded with N; see n_padded "
                     "in scores.tsv)")
    if notes:
        warnings.warn(f"{bed}: " + "; ".join(notes), SeqsalWarning, stacklevel=5)  # the caller of explain_bed
