"""``seqsal shortcut``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options
from seqsal.errors import SeqsalError


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal shortcut`` and its options."""
    parser = commands.add_parser(
        "shortcut", help="plant a sequencing adapter in training data: faithful vs plausible explanations",
        description="Simulates enhancers with known motifs, plants an adapter into a share of the positive "
                    "training sequences (never over a motif), trains one small model per share, measures how "
                    "much each relies on the adapter (AUROC on clean and contaminated test sets, counterfactual "
                    "flip rates) and scores attribution methods on contaminated positives: share on the adapter, "
                    "plausibility AUROC against the motif mask, deletion/insertion AUCs, and per sequence how "
                    "well each map's share on the adapter ranks the sequences by the adapter's effect on the "
                    "logit. Writes shortcut.tsv, reliance.tsv, adapter_motifs.tsv, adapter_effects.tsv, "
                    "claims.tsv, tradeoff.png, rates.png, logos/, effects/, models/, report.html and "
                    "manifest.json; finished rates are kept if the run is interrupted. Torch runs on one thread "
                    "unless --threads is given: the models are tiny, and a thread pool on shared cores slows them "
                    "down.")
    options.add_output(parser)
    parser.add_argument("--quick", action="store_true",
                          help="small preset (3000 x 150 bp, rates 0,0.1,1, 4 epochs, cheap methods; about a minute); "
                               "the options below override it")
    parser.add_argument("--n", type=int, default=None, help="simulated sequences (default 20000)")
    parser.add_argument("--length", type=int, default=None, help="sequence length in bp (default 200)")
    parser.add_argument("--adapter", default=None,
                          help="adapter record id (default illumina_universal_truseq_r1)")
    parser.add_argument("--adapter-length", type=int, default=None,
                          help="plant only this prefix of the adapter (default: all of it, 33 nt for TruSeq)")
    parser.add_argument("--adapter-file", default=None, help="FASTA of adapters (default: bundled list)")
    parser.add_argument("--placement", choices=("random", "3prime"), default=None,
                          help="anywhere clear of motifs, or the last bases as read-through (default random)")
    parser.add_argument("--rates", default=None,
                          help="contamination rates: shares of positive training sequences (default 0,0.1,0.5,1)")
    parser.add_argument("--methods", type=options.name_list, default=None,
                          help="attribution methods, '<method>_corrected' for the gradient correction, and "
                               "motif_prior (default saliency,grad_x_input,grad_x_input_corrected,"
                               "integrated_gradients,smoothgrad,ism,motif_prior)")
    parser.add_argument("--epochs", type=int, default=None, help="training epochs at most (default 8)")
    parser.add_argument("--n-eval", type=int, default=None,
                          help="contaminated test positives the methods are scored on (default 200)")
    parser.add_argument("--seed", type=options.non_negative_int, default=None, help="random seed (default 0)")
    parser.add_argument("--batch-size", type=options.positive_int, default=256, help="sequences per batch (default 256)")
    options.add_device(parser, threads=1)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    """Build the config from the preset and the options given, run the experiment, print the verdict."""
    from seqsal.experiments.shortcut import ShortcutConfig, run_shortcut

    overrides = {field: getattr(args, option) for field, option in (
        ("n", "n"), ("length", "length"), ("adapter", "adapter"), ("adapter_length", "adapter_length"),
        ("adapter_file", "adapter_file"), ("placement", "placement"), ("methods", "methods"),
        ("epochs", "epochs"), ("n_eval", "n_eval"), ("random_state", "seed"),
    ) if getattr(args, option) is not None}
    if args.rates is not None:
        try:
            overrides["rates"] = tuple(float(v) for v in args.rates.split(",") if v.strip())
        except ValueError:
            raise SeqsalError(f"--rates must be comma-separated numbers in [0, 1], e.g. 0,0.1,0.5,1; "
                              f"got {args.rates!r}") from None
    config = (ShortcutConfig.quick if args.quick else ShortcutConfig)(**overrides)
    result = run_shortcut(config, args.out, batch_size=args.batch_size, device=args.device,
                          progress=not args.quiet, force=args.force)
    print(f"{int(result.story['holds'].sum())} of {len(result.story)} claims of the expected story hold; wrote "
          f"{result.folder}/ (report.html, claims.tsv, shortcut.tsv, reliance.tsv, adapter_effects.tsv, figures, "
          "models/)", file=sys.stderr)
