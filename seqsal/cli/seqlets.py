"""``seqsal seqlets``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal seqlets`` and its options."""
    parser = commands.add_parser(
        "seqlets", help="call and name seqlets (motif instances) in an explain bundle",
        description="Finds stretches of significant attribution in every record of a finished explain bundle, "
                    "against a null from dinucleotide shuffles of a fixed-seed sample of its records (attributed "
                    "with the bundle's model and method), and names each after its best Tomtom match (memelite; "
                    "pip install 'seqsal[motifs]'). Writes seqlets.tsv (positions 1-based, inclusive, in each "
                    "record as given), summary.tsv, seqlets.png, report.html and manifest.json.")
    parser.add_argument("bundle", help="folder written by seqsal explain or seqsal merge")
    options.add_output(parser)
    parser.add_argument("--method", type=options.name_list, default=None,
                        help="methods to call seqlets for (default: the bundle's signed methods; saliency and "
                             "smoothgrad_sq score magnitudes and are called only when named here or the bundle has "
                             "nothing else)")
    parser.add_argument("--p-threshold", type=options.fraction, default=0.02,
                        help="a window is significant below this p-value against the shuffled null (default 0.02)")
    parser.add_argument("--fdr", type=options.fraction, default=0.5,
                        help="run-level gate: lower the window threshold until the shuffled null explains at most "
                             "this share of the run's significant windows; a model that points at nothing then "
                             "gets (almost) no seqlets; 1 turns it off (default 0.5, see the README)")
    parser.add_argument("--q-threshold", type=options.fraction, default=0.05,
                        help="a seqlet takes its best Tomtom match's name below this q-value (default 0.05)")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--no-names", action="store_true", help="do not name seqlets (no memelite needed)")
    parser.add_argument("--null-sequences", type=options.positive_int, default=200,
                        help="shuffled sequences in each method's null (default 200)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0,
                        help="seed of the null's sample and shuffles (default 0)")
    options.add_model(parser, default=None)
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.seqlet_run import seqlets_of_bundle
    from seqsal.explain.seqlets import SeqletRunSettings

    settings = SeqletRunSettings(p_threshold=args.p_threshold, fdr=args.fdr, q_threshold=args.q_threshold,
                                 motif_db=args.motif_db, null_sequences=args.null_sequences, seed=args.seed,
                                 annotate=not args.no_names)
    result = seqlets_of_bundle(args.bundle, args.out, settings, model=options.model_from_args(args), methods=args.method,
                               device=args.device, progress=not args.quiet, force=args.force)
    counts = ", ".join(f"{method}: {count}" for method, count in result.info["n_seqlets"].items())
    named = (result.table["motif"] != "unknown").mean() if len(result.table) else 0.0
    print(f"called seqlets ({counts}; {named:.0%} named); wrote {args.out}/ (seqlets.tsv, summary.tsv, "
          "seqlets.png, report.html)", file=sys.stderr)
