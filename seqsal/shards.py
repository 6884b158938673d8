"""Splitting a large input into shards that can be explained on different machines.

A shard is a FASTA file of consecutive records plus the index of its first
record in the whole input; explaining each shard with that ``first_index``
makes seeded methods draw what a single run would, so the merged bundles
equal one run (:func:`seqsal.explain.merge.merge_bundles`).
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from seqsal.checks import check_int
from seqsal.io import PathLike, file_sha256, iter_batches, iter_records, write_fasta
from seqsal.runs import RunFolder


class Shard(NamedTuple):
    """One piece of a split input: its file, the 0-based index of its first record, its size."""

    path: Path
    first_index: int
    n_records: int


def shard_name(index: int) -> str:
    """File name of shard ``index``, zero-padded so that names sort in input order."""
    return f"shard_{index:05d}.fa"


def split_fasta(path: PathLike, out: PathLike, shard_size: int, *, force: bool = False) -> list[Shard]:
    """Split a FASTA/FASTQ file into FASTA shards of ``shard_size`` records, in input order.

    Shards are written atomically as they fill, so only one shard is held in
    memory.  The manifest records the input's hash and every shard; an
    earlier split in ``out`` is replaced (its shards are removed first).
    Explain each shard with ``first_index`` set to its
    :attr:`Shard.first_index`, then merge the bundles.
    """
    shard_size = check_int(shard_size, "shard_size", minimum=1)
    path = Path(path)
    folder = RunFolder.claim(out, "split", writes=None, force=force, clear=("shard_*.fa",))
    folder.start({"input": {"path": str(path), "sha256": file_sha256(path)}, "shard_size": shard_size})
    shards = []
    for index, batch in enumerate(iter_batches(iter_records(path), shard_size)):
        shard = Shard(folder.path / shard_name(index), index * shard_size, len(batch))
        write_fasta(shard.path, batch)
        shards.append(shard)
    folder.finish([s.path.name for s in shards],
                  shards=[{"file": s.path.name, "first_index": s.first_index, "n_records": s.n_records}
                          for s in shards])
    return shards
