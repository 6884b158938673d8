"""Splitting a FASTA into shards that are explained separately and merged back.

Shards keep input order and are named so that they sort in it; each knows the
index of its first record in the whole input, which an explain run of the
shard takes as ``first_index`` so that seeded methods draw what a whole-file
run would.  :func:`seqsal.explain.merge.merge_bundles` joins the bundles.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import NamedTuple

from seqsal import io
from seqsal.checks import check_int
from seqsal.explain.records import STDIN, input_file
from seqsal.runs import RunFolder


class Shard(NamedTuple):
    """One piece of a split input: its file, the 0-based index of its first record, its size."""

    path: Path
    first_index: int
    n_records: int


def shard_name(index: int) -> str:
    """File name of shard ``index``, zero-padded so that names sort in input order."""
    return f"shard_{index:05d}.fa"


def split_fasta(path: str | Path, out: str | Path, shard_size: int, *, force: bool = False) -> list[Shard]:
    """Split a FASTA/FASTQ file (``"-"``: standard input) into FASTA shards of ``shard_size`` records.

    Shards are named by :func:`shard_name` and written atomically as they
    fill, so only one shard is held in memory.  ``out`` must be new, empty or
    an earlier split (whose shards are all replaced: a stale shard would be
    merged with the new ones); ``manifest.json`` records the input's hash and
    every shard.  ``force`` replaces an unfinished split too.
    """
    shard_size = check_int(shard_size, "shard_size", minimum=1)
    with input_file(path) as source:
        records = io.iter_records(source)
        first = next(records)  # a missing, empty or non-FASTA input fails before the folder is claimed
        sha256 = io.file_sha256(source)
        folder = RunFolder.claim(out, "split", force=force, clear=("shard_*.fa",))
        name = STDIN if str(path) == STDIN else io.input_name(path)
        folder.start({"input": {"path": name, "sha256": sha256}, "shard_size": shard_size})
        shards = []
        for index, batch in enumerate(io.iter_batches(itertools.chain([first], records), shard_size)):
            shard = Shard(folder.path / shard_name(index), index * shard_size, len(batch))
            io.write_fasta(shard.path, batch)
            shards.append(shard)
    folder.finish([s.path.name for s in shards],
                  shards=[{"file": s.path.name, "first_index": s.first_index, "n_records": s.n_records}
                          for s in shards])
    return shards
