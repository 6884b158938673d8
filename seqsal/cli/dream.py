"""``seqsal dream``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys
import time

from seqsal.choices import DREAM_MODES
from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal dream`` and its options."""
    parser = commands.add_parser(
        "dream", help="optimise sequences that maximise a model output; name the motifs they contain",
        description="Class model visualisation (Simonyan et al. 2014): from --n-seeds random starts, Adam "
                    "maximises the target logit minus --l2 times the squared norm of free per-base logits, "
                    "keeping every input one-hot (straight-through estimator) or softmax-relaxed. Keeps the "
                    "best one-hot iterate per seed, scans it for known motifs and, with --reference, ranks its "
                    "score among real sequences. Writes dream.fa, dream.tsv, motif_hits.tsv, trace.png, "
                    "logos/, report.html and manifest.json. Torch runs on one thread unless --threads is "
                    "given: the batch is small, and a thread pool on shared cores slows it down.")
    options.add_model(parser)
    options.add_output(parser)
    parser.add_argument("--target", default="0", help="output to maximise: index or name (default 0)")
    optimisation = parser.add_argument_group("optimisation")
    optimisation.add_argument("--n-seeds", type=options.positive_int, default=8,
                              help="independent random starts, optimised in one batch (default 8)")
    optimisation.add_argument("--steps", type=options.positive_int, default=200, help="Adam steps (default 200)")
    optimisation.add_argument("--learning-rate", type=float, default=0.1, help="Adam learning rate (default 0.1)")
    optimisation.add_argument("--l2", type=float, default=None,
                              help="weight of the L2 penalty on the per-base logits; 0 = none (default 0.01 with "
                                   "straight_through, 0.001 with softmax, which needs room to become one-hot)")
    optimisation.add_argument("--mode", choices=DREAM_MODES, default="straight_through",
                              help="straight_through: the model sees one-hot argmax sequences, softmax gradients "
                                   "flow back (default); softmax: the model sees the softmax relaxation")
    optimisation.add_argument("--temperature", type=float, default=1.0, help="softmax temperature (default 1)")
    optimisation.add_argument("--seed", type=options.non_negative_int, default=0,
                              help="seed of the random starts; same seed, same sequences (default 0)")
    comparison = parser.add_argument_group("reference and motifs")
    comparison.add_argument("--reference", default=None,
                            help="FASTA of real sequences (e.g. training positives) to rank the dreamed scores among")
    comparison.add_argument("--reference-labels", default=None,
                            help="labels TSV for --reference: keep only records labelled 1 for the target")
    comparison.add_argument("--fit", action="store_true",
                            help="centre-crop or N-pad reference records to the model's length")
    comparison.add_argument("--motifs", type=options.name_list, default=None,
                            help="motifs to scan for, by TF name or matrix id, or 'all' for the whole database "
                                 "(default GATA1,FOS::JUN,ETS1,CREB1,SP1: the simulated enhancer motifs)")
    comparison.add_argument("--motif-db", default=None, help="MEME or JASPAR file (default: bundled JASPAR 2016)")
    comparison.add_argument("--motif-threshold", type=options.fraction, default=0.8,
                            help="a hit scores at least this fraction of the motif's maximum (default 0.8)")
    comparison.add_argument("--logos", type=options.non_negative_int, default=4,
                            help="grad x input logos of the K best sequences, motif hits boxed (default 4; "
                                 "about 3 s each at 249 bp)")
    options.add_device(parser, threads=1)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.views.dream_run import DreamSettings, run_dream

    settings = DreamSettings(
        target=args.target, n_seeds=args.n_seeds, steps=args.steps, learning_rate=args.learning_rate, l2=args.l2,
        mode=args.mode, temperature=args.temperature, random_state=args.seed, motifs=args.motifs,
        motif_db=args.motif_db, motif_threshold=args.motif_threshold, n_logos=args.logos,
    )
    started = time.time()
    folder, table = run_dream(options.model_from_args(args), args.out, settings, reference=args.reference,
                              reference_labels=args.reference_labels, fit=args.fit, device=args.device,
                              progress=not args.quiet, force=args.force)
    above = (f"; {int(table['above_reference_p99'].sum())} of {len(table)} above the reference 99th percentile"
             if "above_reference_p99" in table else "")
    motifs = sorted({name for names in table["motifs"] for name in names.split(",") if name})
    found = ", ".join(motifs[:10]) + (f" and {len(motifs) - 10} more" if len(motifs) > 10 else "")
    print(f"dreamed {len(table)} sequences in {time.time() - started:.0f} s: logit "
          f"{table['logit'].min():.3g} to {table['logit'].max():.3g}{above}; motifs found: "
          f"{found or 'none'}; wrote {folder}/ (dream.fa, dream.tsv, motif_hits.tsv, trace.png, "
          "logos/, report.html)", file=sys.stderr)
