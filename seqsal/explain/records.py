"""The input of an explain run: standard input or a file, checked in one pass, read with unique ids.

Every record is checked before anything is written (bases, length, id), so a
problem in record 190,000 fails the run up front instead of leaving a
half-written bundle.  Record ids name rows of ``scores.tsv`` and logo files,
so they must be unique: repeated ids are refused with their record numbers,
or, when asked, renamed ``<id>_2``, ``<id>_3``, ... in input order (the
renames are recorded in the manifest).  Renaming is decided by the whole
file, so every later pass over it (and a resumed run) sees the same ids.
The check keeps eight bytes per record (a hash of its id) and reads the file
a second time only when two hashes are equal.
"""

from __future__ import annotations

import array
import contextlib
import hashlib
import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from seqsal import io
from seqsal.checks import check_choice
from seqsal.datasets import check_length
from seqsal.encoding import AMBIGUITY_CODES, encode_indices
from seqsal.errors import SeqsalError, check

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


@dataclass(frozen=True)
class CheckedInput:
    """A FASTA that passed :func:`scan_input`: its size and the ids to read it with."""

    path: Path
    n_records: int
    renamed: Mapping[int, tuple[str, str]] = field(default_factory=dict)  # record index -> (id in file, id used)
    ambiguous: Mapping[str, int] = field(default_factory=dict)  # IUPAC code other than ACGT -> bases seen

    def records(self, start: int = 0) -> Iterator[io.Record]:
        """The records from index ``start`` on, with repeated ids renamed."""
        records = itertools.islice(io.iter_records(self.path), start, None)
        for index, record in enumerate(records, start):
            rename = self.renamed.get(index)
            yield record if rename is None else io.Record(rename[1], record.sequence)

    def renames(self) -> list[dict]:
        """The renames as the manifest lists them: 1-based record number, id in the file, id used."""
        return [{"record": index + 1, "id": old, "renamed_to": new} for index, (old, new) in self.renamed.items()]


def scan_input(path: Path, length: int, fit: bool, *, duplicate_ids: str = "refuse") -> CheckedInput:
    """Check every record of ``path`` in one streaming pass; return its size and the unique ids to use.

    Parameters
    ----------
    path
        FASTA or FASTQ file, plain or gzipped.
    length
        The model's input length; records must have it unless ``fit``.
    fit
        Records will be centre-cropped or N-padded, so any length passes.
    duplicate_ids
        ``"refuse"`` (a :class:`SeqsalError` naming the records), ``"rename"``
        (suffix ``_2``, ``_3``, ... in input order, skipping ids the file
        already uses) or ``"allow"`` (for callers that never name anything
        after an id).
    """
    check_choice(duplicate_ids, "duplicate_ids", DUPLICATE_IDS)
    hashes = array.array("Q")
    ambiguous = dict.fromkeys(AMBIGUITY_CODES, 0)
    for index, record in enumerate(io.iter_records(path)):
        check(record.sequence, f"record {index + 1} ({record.id!r}) has no bases; remove it from the input")
        encode_indices(record.sequence, record.id)
        check_length(record, length, fit)
        hashes.append(_id_hash(record.id))
        upper = record.sequence.upper()
        for code in AMBIGUITY_CODES:
            ambiguous[code] += upper.count(code)
    taken = np.sort(np.frombuffer(hashes, dtype=np.uint64))
    repeated = _repeated_ids(path, taken) if duplicate_ids != "allow" else {}
    if repeated and duplicate_ids == "refuse":
        raise SeqsalError(_duplicates_message(path, repeated))
    seen = {code: count for code, count in ambiguous.items() if count}
    return CheckedInput(path, len(hashes), _unique_ids(repeated, taken), seen)


def _id_hash(record_id: str) -> int:
    """A 64-bit hash of an id: eight bytes per record keep the id check small for millions of records."""
    return int.from_bytes(hashlib.blake2b(record_id.encode(), digest_size=8).digest(), "little")


def _repeated_ids(path: Path, hashes: np.ndarray) -> dict[str, list[int]]:
    """Ids used more than once, with their record indices; a second pass only when some hash repeats."""
    candidates = set(hashes[1:][hashes[1:] == hashes[:-1]].tolist())
    if not candidates:
        return {}
    indices: dict[str, list[int]] = {}
    for index, record in enumerate(io.iter_records(path)):
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
