"""Reading sequences and labels, and writing output files that are never half-written.

FASTA and FASTQ go through Biopython's ``SeqIO`` (gzip is detected from the
file's magic bytes, not its name).  Readers stream: :func:`iter_batches` holds
one batch of records at a time, so explaining a million peaks does not need a
million records in memory.  Writers are atomic: data goes to a temporary file
in the destination folder and is renamed into place only when complete, so an
interrupted run never leaves a truncated file that looks finished.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import IO, Iterable, Iterator, NamedTuple, Sequence

import numpy as np
import pandas as pd
from Bio.SeqIO.FastaIO import SimpleFastaParser
from Bio.SeqIO.QualityIO import FastqGeneralIterator

from seqsal.errors import SeqsalError, check

PathLike = str | os.PathLike


class Record(NamedTuple):
    """One named sequence, exactly as read (case kept; encoding upper-cases it).

    ``description`` is the rest of the FASTA header after the id, empty when
    there is none; it may say where the record lies (``>peak7 chr1:100-200``,
    see :func:`record_coordinates`).
    """

    id: str
    sequence: str
    description: str = ""


_PLAIN_ID = re.compile(r"[A-Za-z0-9_\-][A-Za-z0-9._\-]{0,99}")


def id_file_stem(record_id: str) -> str:
    """A file-name stem for a record id, bounded and distinct for distinct ids.

    Ids may hold ``/``, spaces or hundreds of characters, none of which a file
    name can.  A plain id (letters, digits, ``.``, ``_``, ``-``, at most 100
    characters, not starting with ``.``) is its own stem, so ordinary names stay
    readable.  Any other id becomes its first 60 characters with every other
    character replaced by ``_``, then ``+`` and 12 hex digits of its SHA-256;
    ``+`` never occurs in a plain id, so the two forms cannot collide.  (On a
    case-insensitive file system, ids differing only in case still share a file.)
    """
    if _PLAIN_ID.fullmatch(record_id):
        return record_id
    prefix = re.sub(r"[^A-Za-z0-9._\-]", "_", record_id[:60]).lstrip(".")
    return f"{prefix}+{hashlib.sha256(record_id.encode()).hexdigest()[:12]}"


def _open_text(path: Path) -> IO[str]:
    """Open plain or gzipped text; ``utf-8-sig`` drops the byte-order mark some editors write."""
    with open(path, "rb") as raw:
        magic = raw.read(2)
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="utf-8-sig")
    return open(path, "rt", encoding="utf-8-sig")


def _sequence_format(path: Path) -> str:
    """Sniff FASTA (``>``) or FASTQ (``@``) from the first non-blank character."""
    check(path.exists(), f"{path}: no such file")
    check(path.is_file(), f"{path}: is a directory, not a FASTA file")
    try:
        with _open_text(path) as handle:
            for line in handle:
                if line.strip():
                    first = line.lstrip()[0]
                    break
            else:
                raise SeqsalError(f"{path}: the file is empty; give a FASTA file with at least one record")
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError) as error:
        raise SeqsalError(f"{path}: cannot be read as text FASTA ({error})") from None
    if first == ">":
        return "fasta"
    if first == "@":
        return "fastq"
    raise SeqsalError(f"{path}: not a FASTA file (the first record must start with '>')")


def iter_records(path: PathLike) -> Iterator[Record]:
    """Yield the records of a FASTA/FASTQ file (plain or gzipped) one at a time.

    Blank lines anywhere, Windows line endings and a UTF-8 byte-order mark are
    accepted.  A record's id is the first word of its header, as in Biopython's
    ``SeqIO``; the rest is its ``description``.

    Raises
    ------
    SeqsalError
        For a missing, empty or non-FASTA file, a malformed record, a record
        without an id or without bases.
    """
    path = Path(path)
    fmt = _sequence_format(path)
    count = 0
    try:
        with _open_text(path) as handle:
            parser = SimpleFastaParser(handle) if fmt == "fasta" else _fastq_entries(handle)
            for title, sequence in parser:
                count += 1
                yield _record(path, count, title, sequence)
    except (ValueError, UnicodeDecodeError, EOFError, gzip.BadGzipFile) as error:
        if isinstance(error, SeqsalError):
            raise
        reason = " ".join(str(error).split())
        raise SeqsalError(f"{path}: malformed {fmt.upper()} in record {count + 1}: {reason}") from None
    check(count > 0, f"{path}: contains no sequence records")


def _fastq_entries(handle: IO[str]) -> Iterator[tuple[str, str]]:
    for title, sequence, _quality in FastqGeneralIterator(handle):
        yield title, sequence


def _record(path: Path, number: int, title: str, sequence: str) -> Record:
    """A checked record: it has an id and at least one base."""
    words = title.split(None, 1)
    check(words, f"{path}: record {number} has an empty header; give every record a name after '>'")
    check(sequence, f"{path}: record {words[0]!r} (record {number}) has no bases; remove it or add its sequence")
    return Record(words[0], sequence, words[1].strip() if len(words) > 1 else "")


@contextlib.contextmanager
def stdin_as_file() -> Iterator[Path]:
    """Standard input copied into a temporary file, for commands given ``-`` as their FASTA.

    The readers sniff the format and gzip from the first bytes and may read a
    file more than once; a pipe allows neither, so it is spooled to disk first.
    The file is removed when the block ends.
    """
    with tempfile.TemporaryDirectory(prefix="seqsal-stdin-") as folder:
        path = Path(folder) / "stdin.fa"
        with open(path, "wb") as handle:
            shutil.copyfileobj(sys.stdin.buffer, handle)
        check(path.stat().st_size > 0, "standard input is empty; pipe a FASTA file in, or give its path")
        _SPOOLED_STDIN.add(str(path))
        try:
            yield path
        finally:
            _SPOOLED_STDIN.discard(str(path))


_SPOOLED_STDIN: set[str] = set()


def input_name(path: PathLike) -> str:
    """How a manifest names an input: ``"-"`` for standard input spooled by :func:`stdin_as_file`, else the path."""
    return "-" if str(path) in _SPOOLED_STDIN else str(path)


_COORDINATES = re.compile(
    r"(?:^|::|[|\s])(?P<chrom>[A-Za-z0-9_.]+):(?P<start>\d[\d,]*)-(?P<end>\d[\d,]*)"
    r"(?:\((?P<paren>[+.-])\)|:(?P<colon>[+.-]))?$"
)


def parse_coordinates(header: str) -> tuple[str, int, int, str | None] | None:
    """Genomic coordinates at the end of a FASTA id or header, or ``None`` when it carries none.

    Accepts ``chr1:100-200``, ``chr1:100-200(+)`` (``bedtools getfasta -s``),
    ``chr1:100-200:+`` and a name in front (``peak7::chr1:100-200``,
    ``peak7 chr1:100-200``); thousands separators are dropped.  Positions
    are returned as written (getfasta writes 0-based, end-exclusive ones).

    Returns
    -------
    tuple or None
        ``(chrom, start, end, strand)``; ``strand`` is ``"+"``, ``"-"`` or
        ``None`` when not given (or ``.``).  ``None`` when the header has no
        coordinates or ``end <= start``.
    """
    match = _COORDINATES.search(header.strip())
    if match is None:
        return None
    start, end = int(match["start"].replace(",", "")), int(match["end"].replace(",", ""))
    if end <= start:
        return None
    strand = match["paren"] or match["colon"]
    return match["chrom"], start, end, strand if strand in ("+", "-") else None


def record_coordinates(record: Record) -> tuple[str, int, int, str | None] | None:
    """The genome coordinates a record's header names (:func:`parse_coordinates`): in its id
    (``chr1:100-200(+)``, ``peak7::chr1:100-200``), else at the end of its description (``>peak7 chr1:100-200``)."""
    found = parse_coordinates(record.id)
    if found is None and record.description:
        found = parse_coordinates(record.description)
    return found


def read_fasta(path: PathLike) -> list[Record]:
    """Read every record of a FASTA/FASTQ file into a list (use :func:`iter_batches` for big files)."""
    return list(iter_records(path))


def iter_batches(records: Iterable[Record], batch_size: int) -> Iterator[list[Record]]:
    """Group a record stream into lists of at most ``batch_size`` records."""
    check(batch_size > 0, f"batch size must be positive, got {batch_size}")
    batch: list[Record] = []
    for record in records:
        batch.append(record)
        if len(batch) == batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def count_records(path: PathLike) -> int:
    """Number of records in a FASTA/FASTQ file (one streaming pass)."""
    return sum(1 for _ in iter_records(path))


def read_tsv(path: PathLike, **options) -> pd.DataFrame:
    """Read a seqsal TSV with its ``id`` and ``chrom`` columns kept as text, exactly as written.

    pandas reads ``NA``, ``null``, ``None`` or ``nan`` as missing by default;
    as record ids those are ordinary names, so only empty cells count as
    missing here.  Chromosomes named ``1``, ``2``, ... (Ensembl) stay ``"1"``,
    not ``1.0`` where some records have none.  ``options`` go to
    :func:`pandas.read_csv` (e.g. ``chunksize``).
    """
    return pd.read_csv(path, sep="\t", dtype={"id": str, "chrom": str}, keep_default_na=False, na_values=[""],
                       **options)


def read_labels(path: PathLike) -> pd.DataFrame:
    """Read a tab-separated label table with an ``id`` column; returns it indexed by id.

    Every other column except ``split`` is a target (0/1 for classification,
    numbers for regression).
    """
    path = Path(path)
    check(path.is_file(), f"{path}: no such labels file")
    try:
        table = read_tsv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise SeqsalError(f"{path}: not a tab-separated labels table ({error})") from None
    check("id" in table.columns, f"{path}: the labels table needs an 'id' column (found {list(table.columns)})")
    duplicated = table["id"][table["id"].duplicated()].tolist()
    check(not duplicated, f"{path}: id {duplicated[:1]} appears more than once; ids must be unique")
    return table.set_index("id")


def target_columns(labels: pd.DataFrame) -> list[str]:
    """The label columns that are prediction targets (all but ``split``)."""
    columns = [c for c in labels.columns if c != "split"]
    check(columns, "the labels table has no target column besides 'id' and 'split'")
    return columns


def labels_for(records: Sequence[Record], labels: pd.DataFrame, source: PathLike = "labels") -> np.ndarray:
    """Targets ``(N, T)`` float32 for ``records`` in their order; every id must be labelled."""
    ids = [r.id for r in records]
    missing = [i for i in ids if i not in labels.index]
    check(
        not missing,
        f"{source}: {len(missing)} FASTA ids have no label (first: {missing[:3]}); "
        "the labels table must have a row for every record",
    )
    values = labels.loc[ids, target_columns(labels)]
    try:
        return np.array(values.to_numpy(dtype=np.float32))  # a writable copy for torch
    except ValueError:
        raise SeqsalError(f"{source}: label columns must be numeric") from None


@contextlib.contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The temporary file sits in the destination folder so the rename is atomic
    (same file system), and is created with mode 0o666 so the user's umask
    applies as it would to a plain ``open``.  On any error it is removed and an
    existing ``path`` is left untouched.
    """
    path = Path(path)
    check(path.parent.is_dir(), f"directory {str(path.parent)!r} does not exist; create it before writing")
    temp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.part")
    os.close(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
    try:
        yield temp
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def write_text(path: PathLike, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(path) as temp:
        temp.write_text(text)


def write_json(path: PathLike, data: dict) -> None:
    """Write JSON atomically, indented for humans."""
    write_text(path, json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")


def write_table(path: PathLike, table: pd.DataFrame) -> None:
    """Write a TSV atomically, without the pandas index."""
    with atomic_path(path) as temp:
        table.to_csv(temp, sep="\t", index=False, float_format="%.6g")


def write_npz(path: PathLike, *arrays: np.ndarray) -> None:
    """Save arrays positionally (``arr_0``, ...) as tfmodisco-lite expects, atomically."""
    with atomic_path(path) as temp:
        with open(temp, "wb") as handle:
            np.savez_compressed(handle, *arrays)


def write_fasta(path: PathLike, records: Iterable[Record]) -> None:
    """Write records as single-line FASTA, atomically; a record's description follows its id in the header."""
    with atomic_path(path) as temp:
        with open(temp, "w") as handle:
            for record in records:
                header = f"{record.id} {record.description}" if record.description else record.id
                handle.write(f">{header}\n{record.sequence}\n")


def file_sha256(path: PathLike) -> str:
    """Hex SHA-256 of a file, read in chunks, for provenance in manifests."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def read_masks(path: PathLike) -> dict[str, np.ndarray]:
    """Read a ground-truth ``masks.npz`` (``seqsal simulate``'s answer key) into ``{id: (L,) bool mask}``.

    Raises
    ------
    SeqsalError
        If the file is missing or lacks the ``ids`` and ``mask`` arrays.
    """
    path = Path(path)
    check(path.is_file(), f"mask file {str(path)!r} does not exist; write it with seqsal simulate")
    try:
        with np.load(path, allow_pickle=False) as archive:
            ids, mask = archive["ids"], archive["mask"]
    except (KeyError, ValueError, OSError) as error:
        raise SeqsalError(
            f"mask file {str(path)!r} is not a seqsal masks.npz with 'ids' and 'mask' arrays; rewrite it"
        ) from error
    check(
        mask.ndim == 2 and len(ids) == len(mask),
        f"mask file {str(path)!r} has {len(ids)} ids but masks of shape {mask.shape}; rewrite it",
    )
    return {str(record_id): row.astype(bool) for record_id, row in zip(ids, mask)}
