"""``seqsal pitfalls``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal pitfalls`` and its options."""
    parser = commands.add_parser(
        "pitfalls", help="five figures on where gradient explanations mislead",
        description="Reproducible demonstrations of gradient pitfalls, one command each: saturation (probability "
                    "vs logit maps), activations (first-layer ReLU / leaky ReLU / exponential), off-simplex "
                    "(gradient angle to the one-hot simplex, before and after correction), fully-connected "
                    "(a dense baseline next to a CNN) and constant-flanks (attribution on adapters that never "
                    "vary in the training data, on the real lentiMPRA model). Each writes <pitfall>.png, <pitfall>.tsv (metric, "
                    "condition, value) and manifest.json, and prints a one-line summary.")
    which = parser.add_subparsers(dest="pitfall", metavar="<pitfall>", required=True)
    pitfall_parsers = {
        "saturation": which.add_parser(
            "saturation", help="explain the most confident sequence against its logit and its probability",
            description="grad x input of the highest-logit sequence of a FASTA, once for the logit and once for "
                        "the probability; the probability map is the logit map times sigmoid'(logit), which "
                        "vanishes for confident predictions. Reports both maps' L1/L2 norms and their ratio."),
        "activations": which.add_parser(
            "activations", help="train ReLU, leaky ReLU and exponential first-layer CNNs; compare their maps",
            description="Simulates enhancers with planted motifs, trains one small CNN per first-layer activation "
                        "with a shared seed (same data, same initial weights) and scores corrected grad x input "
                        "on the test positives: plausibility AUROC against the motif masks and background share "
                        "(share of |attribution| outside the motifs; lower is cleaner). Torch runs on one thread "
                        "unless --threads is given. About 1.5 min on two CPU cores with the defaults."),
        "off-simplex": which.add_parser(
            "off-simplex", help="angle of each position's gradient to the one-hot simplex, raw and corrected",
            description="sin(angle) = |sum of the 4 gradient entries| / (2 |gradient|) at every position of "
                        "every sequence; the Majdandzic et al. (2023) correction makes it 0. Histogram in "
                        "degrees, with the distribution of random directions as a reference."),
        "fully-connected": which.add_parser(
            "fully-connected", help="a fully connected model next to a CNN on the same simulated data",
            description="Trains the small CNN and a fully connected network (flattened one-hot -> dense layers) "
                        "on the same simulated set with the same seed; compares test AUROC, plausibility AUROC, "
                        "background share and the maps of the same test positives. Torch runs on one thread "
                        "unless --threads is given. About 1 min on two CPU cores with the defaults."),
        "constant-flanks": which.add_parser(
            "constant-flanks", help="attribution on library adapters identical in every training sequence",
            description="Mean |attribution| per position of corrected grad x input, saliency and ISM over a FASTA, "
                        "and the share of it on the positions identical in every sequence (lentiMPRA's 15-bp "
                        "adapters on both ends): the data never varied them, so nothing the maps say there is "
                        "identified by the data. Give --model (e.g. build/wtc11_model.pt from make model-wtc11); "
                        "the default FASTA is 100 held-out lentiMPRA elements (data/wtc11_heldout.fa)."),
    }
    for sub in pitfall_parsers.values():
        options.add_output(sub)
    for name in ("saturation", "off-simplex", "constant-flanks"):
        sub = pitfall_parsers[name]
        flanks = name == "constant-flanks"
        sub.add_argument("--fasta", default=None,
                         help="sequences to explain (default: " + ("data/wtc11_heldout.fa, 100 x 230 bp)" if flanks
                                                                   else "data/synthetic_demo/test.fa, 30 x 249 bp)"))
        options.add_model(sub, default=None if flanks else "default")
        sub.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    pitfall_parsers["saturation"].add_argument("--id", default=None,
                                               help="explain this record instead of the highest-logit one")
    pitfall_parsers["saturation"].add_argument("--correct", action="store_true",
                                               help="apply the gradient correction to both maps")
    for name in ("activations", "fully-connected"):
        sub = pitfall_parsers[name]
        sub.add_argument("--n", type=options.positive_int, default=None, help="simulated sequences (default 10000)")
        sub.add_argument("--length", type=options.positive_int, default=None, help="sequence length in bp (default 150)")
        sub.add_argument("--epochs", type=options.positive_int, default=None,
                         help="training epochs at most, early stopping with patience 3 (default 12)")
        sub.add_argument("--seed", type=options.non_negative_int, default=None,
                         help="seed of the simulation, initial weights and batch order (default 0)")
    pitfall_parsers["fully-connected"].add_argument("--hidden", type=options.int_list, default=None,
                                                    help="hidden layer widths of the fully connected model "
                                                         "(default 128,64; empty for logistic regression)")
    pitfall_parsers["fully-connected"].add_argument("--activation", choices=("relu", "exp", "leaky_relu"),
                                                    default=None,
                                                    help="first-layer activation of the CNN (default exp)")
    for name, sub in pitfall_parsers.items():
        sub.add_argument("--batch-size", type=options.positive_int, default=128,
                         help="sequences per attribution batch (default 128)")
        options.add_device(sub, threads=1 if name in ("activations", "fully-connected") else None)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    """Run the chosen pitfall with the options it takes; the others are absent from ``args``."""
    from seqsal.experiments.pitfalls import run_pitfall

    names = {"fasta": "fasta", "fit_length": "fit", "record_id": "id", "correct": "correct", "n": "n",
             "length": "length", "epochs": "epochs", "seed": "seed", "hidden_units": "hidden",
             "activation": "activation"}
    # Options a pitfall lacks are absent from args; unset ones are None: both leave the library default.
    settings = {key: getattr(args, option) for key, option in names.items() if getattr(args, option, None) is not None}
    if args.pitfall in ("saturation", "off-simplex", "constant-flanks"):
        settings["model"] = options.model_from_args(args)
    result = run_pitfall(args.pitfall, args.out, batch_size=args.batch_size, device=args.device,
                         progress=not args.quiet, force=args.force, **settings)
    print(result.summary, file=sys.stderr)
