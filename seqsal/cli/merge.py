"""``seqsal merge``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.choices import FIGURE_FORMATS
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal merge`` and its options."""
    parser = commands.add_parser(
        "merge", help="merge explain bundles of consecutive shards into one bundle",
        description="Concatenates the arrays and score tables of explain bundles in the order given and "
                    "draws logos and a report as 'seqsal explain' would; the manifest lists every shard with "
                    "its hashes. The shards must share model and options.")
    parser.add_argument("bundles", nargs="+", help="explain bundles, first shard first")
    options.add_output(parser)
    parser.add_argument("--logos", type=options.non_negative_int, default=10,
                       help="logos for the top-K predictions (default 10)")
    parser.add_argument("--logo-format", choices=FIGURE_FORMATS, default="png",
                       help="logo file format (default png)")
    parser.add_argument("--motifs", type=options.name_list, default=None, help="known motifs to box, e.g. GATA1,CTCF")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--motif-threshold", type=options.fraction, default=0.8,
                       help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    options.add_figure(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.merge import merge_bundles

    bundle = merge_bundles(args.bundles, args.out, n_logos=args.logos, logo_format=args.logo_format,
                           motifs=args.motifs or (), motif_db=args.motif_db, motif_threshold=args.motif_threshold,
                           figure=options.figure_from_args(args), force=args.force)
    print(f"merged {len(args.bundles)} bundles, {len(bundle.scores)} sequences; wrote {bundle.folder}/",
          file=sys.stderr)
