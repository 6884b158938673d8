"""``seqsal tracks``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.choices import OVERLAP_RULES
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal tracks`` and its options."""
    parser = commands.add_parser(
        "tracks", help="write a bundle's attributions as bigWig/bedGraph tracks and BED files for a genome browser",
        description="Maps every record of an explain bundle with genome coordinates (from --bed/--genome, or "
                    "FASTA ids such as chr1:100-200(+)) to the plus strand and writes, per method, <method>.bw and "
                    "<method>.bedGraph of the projected attribution (hypothetical x one-hot, summed over A, C, "
                    "G, T), top_positions.<method>.bed, and seqlets.bed when the bundle has seqlets.tsv (or "
                    "--seqlets names one).")
    parser.add_argument("bundle", help="a finished explain bundle with genome coordinates")
    options.add_output(parser)
    parser.add_argument("--method", type=options.name_list, default=None,
                        help="comma-separated methods of the bundle to write (default: all)")
    parser.add_argument("--per-base", action="store_true",
                        help="also write the hypothetical score of each base: <method>.A.bw, .C.bw, .G.bw, .T.bw")
    parser.add_argument("--overlap", choices=OVERLAP_RULES, default="midpoint",
                        help="bases that several windows cover: midpoint (the window with the nearest centre, "
                             "i.e. split at the midpoint between centres, as ChromBPNet does; default) or mean")
    parser.add_argument("--seqlets", default=None,
                        help="seqlets.tsv to write as seqlets.bed, e.g. one 'seqsal seqlets' wrote for this bundle "
                             "(default: the bundle's own, when it was explained with --seqlets)")
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--chrom-sizes", default=None,
                       help="UCSC chrom.sizes file for the bigWig header (default: the sizes the bundle recorded "
                            "when explained with --genome)")
    sizes.add_argument("--genome", default=None, help="reference FASTA to read the chromosome sizes from (its .fai)")
    parser.add_argument("--quiet", action="store_true", help="no progress")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.export import TrackSettings, write_tracks
    from seqsal.genome import Genome, read_chrom_sizes

    sizes = None
    if args.chrom_sizes is not None:
        sizes = read_chrom_sizes(args.chrom_sizes)
    elif args.genome is not None:
        genome = Genome(args.genome)
        sizes = genome.sizes
        genome.close()
    settings = TrackSettings(methods=args.method, per_base=args.per_base, overlap=args.overlap,
                             seqlets=args.seqlets)
    out = write_tracks(args.bundle, args.out, settings, chrom_sizes=sizes, progress=not args.quiet,
                       force=args.force)
    print(f"wrote tracks of {args.bundle} to {out}/ (overlap rule: {args.overlap}); load the .bw files in a "
          "genome browser", file=sys.stderr)
