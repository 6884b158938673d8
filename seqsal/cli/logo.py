"""``seqsal logo``: parse its options and call the library."""

from __future__ import annotations

import argparse

from seqsal.choices import FIGURE_FORMATS
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal logo`` and its options."""
    parser = commands.add_parser("logo", help="draw logos from an explain bundle",
                               description="Re-draw logos from a finished 'seqsal explain' folder.")
    parser.add_argument("bundle", help="folder written by seqsal explain")
    parser.add_argument("--ids", type=options.name_list, default=None, help="comma-separated record ids")
    parser.add_argument("--top", type=options.positive_int, default=10, help="without --ids: the N highest predictions (default 10)")
    parser.add_argument("--method", type=options.name_list, default=None, help="methods to draw (default: all)")
    parser.add_argument("--format", choices=FIGURE_FORMATS, default="png",
                      help="png/svg: a file per id; pdf: one multi-page file per method (default png)")
    parser.add_argument("--motifs", type=options.name_list, default=None,
                        help="known motifs to outline where a PWM scan matches, e.g. GATA1,CTCF")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--motif-threshold", type=options.fraction, default=0.8,
                      help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    parser.add_argument("--workers", type=options.positive_int, default=None,
                        help="processes drawing PNG/SVG files (default: 1 below 50 figures, else one per CPU "
                             "core, at most 8)")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress (a bar on a terminal, a line every 30 s in a log otherwise)")
    options.add_figure(parser)
    parser.add_argument("--seqlets", default=None, metavar="SEQLETS.TSV",
                        help="seqlets to box (default: the bundle's own, when explain ran with --seqlets; or the "
                             "seqlets.tsv of seqsal seqlets)")
    parser.add_argument("--no-seqlets", action="store_true", help="draw no seqlet boxes")
    options.add_seqlet_marks(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    import dataclasses

    from seqsal.explain.bundle import load_bundle
    from seqsal.explain.render import bundle_logo_items, bundle_style, draw_logos, read_truth
    from seqsal.explain.seqlet_files import read_seqlets
    from seqsal.motifs import resolve_motifs

    figure = options.figure_from_args(args)
    bundle = load_bundle(args.bundle)
    ranked = bundle.scores.sort_values("prediction", ascending=False, kind="stable")["id"]
    ids = list(args.ids) if args.ids else list(ranked.head(args.top))
    methods = list(args.method) if args.method else list(bundle.attributions)
    items = {method: bundle_logo_items(bundle, ids, method) for method in methods}
    motifs = resolve_motifs(args.motifs or (), args.motif_db)
    seqlets = None if args.no_seqlets else read_seqlets(args.seqlets) if args.seqlets else bundle.seqlets()
    truth = read_truth(args.truth) if args.truth else None
    style = dataclasses.replace(bundle_style(bundle.manifest, args.format, figure),
                                motif_threshold=args.motif_threshold)
    paths = draw_logos(bundle.folder, items, motifs=motifs, style=style, workers=args.workers,
                       progress=not args.quiet, seqlets=seqlets, truth=truth)
    for path in paths:
        print(path)
