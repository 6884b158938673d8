"""``seqsal evaluate``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys


from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal evaluate`` and its options."""
    parser = commands.add_parser(
        "evaluate", help="score an explain bundle for faithfulness and plausibility",
        description="Deletion/insertion curves against a random ranking, plausibility AUROC against "
                    "ground-truth masks (--masks from seqsal simulate, or --motifs scanned in the sequences), "
                    "the model-randomization sanity check and max-sensitivity, for every method of the bundle.")
    parser.add_argument("bundle", help="folder written by seqsal explain")
    parser.add_argument("--out", required=True, help="output folder (new, empty, or an earlier seqsal run)")
    parser.add_argument("--model", default=None, help="the explained model (default: the bundle's)")
    parser.add_argument("--checks", type=options.name_list, default=("deletion", "plausibility", "randomization",
                                                                 "stability"),
                          help="comma-separated: deletion, plausibility, randomization, stability (default all)")
    parser.add_argument("--masks", default=None, help="masks.npz from seqsal simulate (ground truth by id)")
    parser.add_argument("--motifs", type=options.name_list, default=(),
                          help="without --masks: known motifs whose scan hits are the ground truth, e.g. GATA1,CTCF")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--max-sequences", type=options.positive_int, default=200,
                          help="evaluate the N highest predictions (default 200)")
    parser.add_argument("--replacement", choices=("shuffle", "random", "uniform"), default="shuffle",
                          help="what replaces deleted bases (default: a dinucleotide-shuffled copy)")
    parser.add_argument("--steps", type=int, default=20, help="points on each deletion curve (default 20)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=options.positive_int, default=128, help="sequences per batch (default 128)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.evaluate.run import EvaluationSettings, evaluate_bundle

    settings = EvaluationSettings(
        checks=tuple(args.checks), max_sequences=args.max_sequences, replacement=args.replacement,
        steps=args.steps, masks=args.masks, motifs=tuple(args.motifs), motif_db=args.motif_db,
        random_state=args.seed, batch_size=args.batch_size,
    )
    table = evaluate_bundle(args.bundle, args.out, settings, model=args.model, device=args.device,
                            progress=not args.quiet)
    if not args.quiet:
        print(table.to_string(index=False), file=sys.stderr)
