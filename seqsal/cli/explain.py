"""``seqsal explain``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.choices import FIGURE_FORMATS, METHODS, OUTPUTS
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal explain`` and its options."""
    parser = commands.add_parser(
        "explain", help="attribute predictions to bases; write a bundle with logos and a report",
        description="Writes ohe.npz and attr.<method>.npz (hypothetical scores, readable by "
                    "'modisco motifs -s ohe.npz -a attr.<method>.npz'), scores.tsv, logos of the top "
                    "sequences, report.html and manifest.json.")
    parser.add_argument("fasta", nargs="?", default=None,
                        help="FASTA/FASTQ, plain or gzipped; '-' reads standard input; ids such as "
                             "chr1:100-200(+) give records genome coordinates (or use --bed and --genome)")
    options.add_model(parser)
    parser.add_argument("--method", default="saliency,grad_x_input",
                         help="comma-separated methods: " + ", ".join(METHODS)
                              + " (default saliency,grad_x_input)")
    options.add_output(parser)
    parser.add_argument("--target", default="0", help="output to explain: index or name (default 0)")
    parser.add_argument("--output", choices=OUTPUTS, default="logit",
                         help="explain the logit (default) or the sigmoid probability (saturates)")
    parser.add_argument("--correct", action="store_true",
                         help="apply the Majdandzic et al. 2023 gradient correction")
    parser.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    parser.add_argument("--logos", type=options.non_negative_int, default=10, help="logos for the top-K predictions (default 10)")
    parser.add_argument("--logo-format", choices=FIGURE_FORMATS, default="png",
                         help="logo file format (default png; pdf gives one multi-page file per method)")
    parser.add_argument("--motifs", type=options.name_list, default=None,
                         help="known motifs to box on logos, by TF name or matrix id, e.g. GATA1,CTCF")
    parser.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    parser.add_argument("--motif-threshold", type=options.fraction, default=0.8,
                         help="box a motif where its score reaches this fraction of its maximum (default 0.8)")
    options.add_seqlet_marks(parser)
    parser.add_argument("--seqlets", action="store_true",
                        help="call seqlets (significant stretches of attribution, named after known motifs by "
                             "Tomtom; needs memelite) into seqlets.tsv, seqlet_summary.tsv and seqlets.png, add "
                             "them to the report and box them on the logos")
    parser.add_argument("--seqlet-p", type=options.fraction, default=0.02,
                        help="with --seqlets: window p-value threshold against the run's shuffled null "
                             "(default 0.02)")
    parser.add_argument("--seqlet-fdr", type=options.fraction, default=0.5,
                        help="with --seqlets: run-level gate, the largest share of the run's significant windows "
                             "the shuffled null may explain before the window threshold is lowered; 1 turns it "
                             "off (default 0.5)")
    parser.add_argument("--batch-size", type=options.positive_int, default=128, help="sequences per batch (default 128)")
    parser.add_argument("--dedupe-ids", action="store_true",
                        help="rename repeated record ids to <id>_2, <id>_3, ... (listed in the manifest) instead "
                             "of refusing the input")
    parser.add_argument("--resume", action="store_true",
                         help="continue an interrupted run in --out from its last finished batch")
    parser.add_argument("--first-index", type=options.non_negative_int, default=0,
                         help="when FASTA is a shard (seqsal split): the 0-based place of its first record in "
                              "the whole input, so seeded methods draw what a whole-file run would (default 0)")
    method_options = parser.add_argument_group(
        "method options", "each applies to the methods that have it; unset means the method's default")
    method_options.add_argument("--steps", type=int, help="integrated_gradients: path steps (default 50)")
    method_options.add_argument("--baseline", choices=("zeros", "uniform", "shuffle"),
                         help="integrated_gradients: reference (default zeros)")
    method_options.add_argument("--n-references", type=int,
                         help="integrated_gradients with shuffle, deeplift_shap: shuffled references (default 10)")
    method_options.add_argument("--n-samples", type=int,
                         help="smoothgrad(_sq): noisy copies (default 25); lime/kernel_shap: samples (default 200)")
    method_options.add_argument("--sigma", type=float, help="smoothgrad(_sq): noise sd as a fraction of the input "
                                                     "range (default 0.15)")
    method_options.add_argument("--layer", help="grad_cam: Conv1d layer by index or module name (default: the last)")
    method_options.add_argument("--window", type=int, help="lime/kernel_shap: bases per feature window (default 10)")
    method_options.add_argument("--alpha", type=float,
                                help="lime: Lasso penalty of the surrogate (default 0.01; 0 fits least squares, for "
                                     "models whose outputs move little)")
    method_options.add_argument("--start", type=int, help="ism: first position to mutate (0-based, default 0)")
    method_options.add_argument("--end", type=int, help="ism: stop before this position (default: the length)")
    method_options.add_argument("--seed", type=options.non_negative_int, help="seed of noise and shuffled references (default 0)")
    options.add_intervals(parser)
    options.add_device(parser)
    options.add_figure(parser, window_flag="--logo-window")
    parser.set_defaults(run=run)
    return parser


def _method_options(args: argparse.Namespace) -> dict:
    """Method options the user set explicitly (None means: the method's own default)."""
    names = ("steps", "baseline", "n_references", "n_samples", "sigma", "layer", "window", "alpha", "start", "end")
    options = {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}
    if args.seed is not None:
        options["random_state"] = args.seed
    return options


def run(args: argparse.Namespace) -> None:
    from seqsal.explain.pipeline import explain_bed, explain_fasta
    from seqsal.explain.settings import ExplainSettings, parse_methods

    settings = ExplainSettings(
        methods=parse_methods(args.method), target=args.target, output=args.output, correct=args.correct,
        fit=args.fit, batch_size=args.batch_size, n_logos=args.logos, motifs=args.motifs or (),
        motif_db=args.motif_db, motif_threshold=args.motif_threshold, logo_format=args.logo_format,
        options=_method_options(args), first_index=args.first_index, dedupe_ids=args.dedupe_ids,
        seqlets=args.seqlets, seqlet_p_threshold=args.seqlet_p,
        seqlet_fdr=args.seqlet_fdr, truth=args.truth,
    )
    options.check_input(args)
    model = options.model_from_args(args)
    run_options = {"device": args.device, "progress": not args.quiet, "resume": args.resume, "force": args.force,
                   "figure": options.figure_from_args(args)}
    if args.bed is not None:
        bundle = explain_bed(args.bed, args.genome, model, args.out, settings, stranded=args.stranded,
                             **run_options)
    else:
        bundle = explain_fasta(args.fasta, model, args.out, settings, **run_options)
    ambiguous = bundle.manifest.get("ambiguous_bases", {})
    if ambiguous:
        counts = ", ".join(f"{code} {count}" for code, count in ambiguous.items())
        print(f"note: bases other than ACGT were encoded as all-zero columns (no base): {counts}", file=sys.stderr)
    renamed = bundle.manifest.get("renamed_ids", [])
    if renamed:
        first = renamed[0]
        print(f"renamed {len(renamed)} repeated record ids (first: record {first['record']} {first['id']!r} -> "
              f"{first['renamed_to']!r}); manifest.json lists all", file=sys.stderr)
    print(f"explained {len(bundle.scores)} sequences with {', '.join(settings.methods)}; "
          f"wrote {bundle.folder}/ (report.html, scores.tsv, ohe, attr.*, logos/"
          f"{', seqlets.tsv' if settings.seqlets else ''})", file=sys.stderr)
