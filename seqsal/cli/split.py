"""``seqsal split``: parse its options and call the library."""

from __future__ import annotations

import argparse

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal split`` and its options."""
    parser = commands.add_parser(
        "split", help="split a FASTA into shards to explain in parallel",
        description="Writes shard_00000.fa, shard_00001.fa, ... of --shard-size records each, in input order, "
                    "and a manifest.json; prints each shard's file, first index and size as a TSV. Explain "
                    "each shard with 'seqsal explain SHARD --first-index I', then 'seqsal merge'.")
    parser.add_argument("fasta", help="FASTA/FASTQ, plain or gzipped; '-' reads standard input")
    parser.add_argument("--shard-size", type=options.positive_int, required=True, help="records per shard")
    options.add_output(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.shards import split_fasta

    shards = split_fasta(args.fasta, args.out, args.shard_size, force=args.force)
    print("file\tfirst_index\tn_records")
    for shard in shards:
        print(f"{shard.path}\t{shard.first_index}\t{shard.n_records}")
