"""``seqsal train``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal train`` and its options."""
    parser = commands.add_parser(
        "train", help="train the enhancer CNN on labelled FASTA",
        description="Train a DeepSTARR-style CNN with Adam and early stopping on validation loss. Input is "
                    "either --fasta + --labels, or --pos + --neg (a FASTA, or 'shuffle' for "
                    "dinucleotide-shuffled copies of the positives).")
    source = parser.add_argument_group("data")
    source.add_argument("--fasta", help="training FASTA (with --labels)")
    source.add_argument("--labels", help="TSV with an 'id' column and one or more target columns")
    source.add_argument("--pos", help="positive FASTA (with --neg)")
    source.add_argument("--neg", help="negative FASTA, or 'shuffle'")
    source.add_argument("--table", help="TSV (plain or gzip) with a sequence column and target columns, e.g. "
                                        "MPRA activities (with --target-column)")
    source.add_argument("--sequence-column", default="seq", help="--table column holding sequences (default seq)")
    source.add_argument("--target-column", dest="target_columns", type=options.name_list, default=(),
                        help="--table column(s) to predict, comma-separated (e.g. mean_value)")
    source.add_argument("--valid-fasta", help="validation FASTA (ids in --labels); default: hold out "
                                              "--valid-fraction of the training data")
    source.add_argument("--valid-table", help="validation table (same columns as --table)")
    source.add_argument("--valid-chroms", type=options.name_list, default=(),
                        help="validate on the records of these chromosomes (comma-separated, read from "
                             "chrN:start-end headers)")
    source.add_argument("--valid-fraction", type=float, default=0.1, help="held-out share (default 0.1)")
    source.add_argument("--group-reverse-complements", action="store_true",
                        help="draw the --valid-fraction split by element: records whose sequences are reverse "
                             "complements of each other, apart from the flanks every record shares (MPRA "
                             "adapters), stay on the same side")
    source.add_argument("--test-fasta", help="test FASTA (ids in --labels); its metrics go into the model file")
    source.add_argument("--test-table", help="test table (same columns as --table); its metrics go into the model "
                                             "file")
    source.add_argument("--test-chroms", type=options.name_list, default=(),
                        help="hold out the records of these chromosomes (comma-separated) as the test set: never "
                             "trained or stopped on; their metrics go into the model file")
    source.add_argument("--length", type=int, default=None, help="model input length (default: first record's)")
    source.add_argument("--fit", action="store_true", help="centre-crop or N-pad sequences to --length")
    arch = parser.add_argument_group("model")
    arch.add_argument("--task", choices=("auto", "classification", "regression"), default="auto",
                      help="auto: classification when every label is 0 or 1 (default)")
    arch.add_argument("--activation", choices=("relu", "exp", "leaky_relu"), default="relu",
                      help="first-layer activation (default relu; exp gives more motif-like filters)")
    arch.add_argument("--head", choices=("flatten", "gap"), default="flatten",
                      help="dense head on flattened features or on global average pooling (default flatten)")
    arch.add_argument("--channels", type=options.int_list, default=(256, 60, 60, 120),
                      help="conv channels per block (default 256,60,60,120)")
    arch.add_argument("--kernels", type=options.int_list, default=(7, 3, 5, 3),
                      help="conv kernel sizes per block (default 7,3,5,3)")
    arch.add_argument("--dense", type=options.int_list, default=(256, 256), help="dense units (default 256,256)")
    arch.add_argument("--dropout", type=float, default=0.4, help="dropout in the head (default 0.4)")
    fitting = parser.add_argument_group("fitting")
    fitting.add_argument("--epochs", type=int, default=30, help="maximum epochs (default 30)")
    fitting.add_argument("--patience", type=int, default=4, help="early-stopping patience (default 4)")
    fitting.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 1e-3)")
    fitting.add_argument("--augment-rc", action="store_true",
                         help="add the reverse complement of every training sequence (motifs work on both strands)")
    fitting.add_argument("--rc-keep-flanks", action="store_true",
                         help="with --augment-rc, reverse-complement only the part between the flanks every "
                              "training sequence shares, so constant adapters (MPRA) stay as measured")
    fitting.add_argument("--weight-decay", type=float, default=0.0, help="Adam weight decay (default 0)")
    fitting.add_argument("--batch-size", type=options.positive_int, default=128, help="batch size (default 128)")
    fitting.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed (default 0)")
    parser.add_argument("--description", default=None,
                        help="one line saying what the model was trained on and is for; reports show it")
    parser.add_argument("--out", required=True, help="model file to write (.pt)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from dataclasses import fields

    from seqsal.train_run import TrainSettings, train_model

    settings = TrainSettings(**{field.name: getattr(args, field.name) for field in fields(TrainSettings)})
    _, metadata = train_model(settings, args.out, device=args.device, progress=not args.quiet)
    summary = {k: v for k, v in metadata.items() if k.endswith("metrics")}
    print(f"saved {args.out} (best epoch {metadata['best_epoch']}); {summary}", file=sys.stderr)
