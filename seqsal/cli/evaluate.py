"""``seqsal evaluate``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.choices import EVALUATION_CHECKS, REPLACEMENTS, SCORES
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal evaluate`` and its options."""
    parser = commands.add_parser(
        "evaluate", help="score an explain bundle for faithfulness and plausibility",
        description="Deletion/insertion curves against a random ranking, plausibility AUROC against "
                    "ground-truth masks (--masks from seqsal simulate, or --motifs scanned in the sequences), "
                    "the model-randomization sanity check and max-sensitivity, for every method of the bundle. "
                    "A check a method cannot have is listed with the reason, in metrics.tsv and the report.")
    parser.add_argument("bundle", help="folder written by seqsal explain")
    options.add_output(parser)
    options.add_model(parser, default=None)
    parser.add_argument("--checks", type=options.name_list, default=EVALUATION_CHECKS,
                        help=f"comma-separated: {', '.join(EVALUATION_CHECKS)} (default all)")
    parser.add_argument("--score", choices=SCORES, default="signed",
                        help="rank positions by signed score, evidence against the target last (default), or "
                             "by magnitude (abs: for ReLU models and maps whose sign is unreliable)")
    truth = parser.add_argument_group("ground truth for plausibility")
    truth.add_argument("--masks", default=None, help="masks.npz from seqsal simulate (ground truth by id)")
    truth.add_argument("--motifs", type=options.name_list, default=(),
                       help="without --masks: known motifs whose scan hits are the ground truth, e.g. GATA1,CTCF")
    truth.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    truth.add_argument("--motif-pvalue", type=options.fraction, default=None,
                       help="a motif hit has a p-value at most this, computed exactly from the PWM under a uniform "
                            "background, as FIMO does (default 1e-4)")
    truth.add_argument("--motif-threshold", type=options.fraction, default=None,
                       help="instead of --motif-pvalue: a hit scores at least this fraction of the motif's "
                            "maximum (e.g. 0.8)")
    parser.add_argument("--max-sequences", type=options.positive_int, default=200,
                        help="evaluate the N highest predictions (default 200)")
    parser.add_argument("--replacement", choices=REPLACEMENTS, default="shuffle",
                        help="what replaces deleted bases (default: a dinucleotide-shuffled copy)")
    parser.add_argument("--steps", type=options.positive_int, default=20,
                        help="points on each deletion curve (default 20)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=options.positive_int, default=128,
                        help="sequences per batch (default 128)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.errors import check
    from seqsal.evaluate.run import EvaluationSettings, evaluate_bundle

    check(args.motif_pvalue is None or args.motif_threshold is None,
          "give --motif-pvalue or --motif-threshold, not both")
    pvalue = {} if args.motif_pvalue is None else {"motif_pvalue": args.motif_pvalue}
    settings = EvaluationSettings(
        checks=tuple(args.checks), max_sequences=args.max_sequences, replacement=args.replacement,
        steps=args.steps, masks=args.masks, motifs=tuple(args.motifs), motif_db=args.motif_db,
        motif_threshold=args.motif_threshold, score=args.score, random_state=args.seed,
        batch_size=args.batch_size, **pvalue,
    )
    table = evaluate_bundle(args.bundle, args.out, settings, model=options.model_from_args(args), device=args.device,
                            progress=not args.quiet, force=args.force)
    if not args.quiet:
        print(format_metrics(table, args.out), file=sys.stderr)


def format_metrics(table, out: str) -> str:
    """The measured metrics as a terminal table: 3 significant digits, '—' where a column does not apply."""
    measured = table[table["reason"] == ""].drop(columns="reason")
    text = measured.to_string(index=False, na_rep="—", float_format=lambda value: f"{value:.3g}")
    return (f"{text}\n— : does not apply to that row; checks a method cannot have are listed with the reason in "
            f"{out}/metrics.tsv and report.html")
