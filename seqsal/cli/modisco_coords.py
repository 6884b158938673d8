"""``seqsal modisco-coords``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal modisco-coords`` and its options."""
    parser = commands.add_parser(
        "modisco-coords", help="map tfmodisco-lite seqlets of a bundle back to genome coordinates (BED)",
        description="Reads every seqlet of modisco.h5 (pos_patterns and neg_patterns) and writes it as BED6 in "
                    "the genome coordinates of the bundle modisco ran on, named after its pattern; the strand "
                    "is flipped for reverse-complement seqlets.")
    parser.add_argument("modisco", help="modisco.h5 from 'modisco motifs' on the bundle's arrays")
    parser.add_argument("bundle", help="the explain bundle (with genome coordinates) modisco read")
    parser.add_argument("--out", required=True, help="BED file to write")
    parser.add_argument("--window", type=options.positive_int, default=None,
                        help="the -w modisco ran with, for files that do not record it (default: the whole sequence)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.modisco import modisco_seqlets_bed

    n = modisco_seqlets_bed(args.modisco, args.bundle, args.out, window=args.window)
    print(f"wrote {n} seqlets in genome coordinates to {args.out}", file=sys.stderr)
