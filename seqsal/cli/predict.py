"""``seqsal predict``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterator

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal predict`` and its options."""
    parser = commands.add_parser("predict", help="print a TSV of predictions (logits and probabilities)",
                                  description="Stream a FASTA (or BED intervals of a genome) through a model; "
                                              "writes TSV to stdout.")
    parser.add_argument("fasta", nargs="?", default=None,
                        help="FASTA/FASTQ, plain or gzipped; '-' reads standard input (or use --bed and --genome)")
    options.add_model(parser)
    parser.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    parser.add_argument("--batch-size", type=options.positive_int, default=256, help="sequences per batch (default 256)")
    options.add_intervals(parser)
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal import io
    from seqsal.models import load_model

    options.check_input(args)
    model = load_model(options.model_from_args(args), args.device)
    if args.bed is not None:
        from seqsal.explain.records import open_intervals

        with open_intervals(args.bed, args.genome, model.config.input_length, stranded=args.stranded) as source:
            _predict(source.located(), model, args)
    else:
        _predict(((record, None) for record in io.iter_records(args.fasta)), model, args)


def _predict(located: Iterator, model, args: argparse.Namespace) -> None:
    """Predict records with their locations (``None`` for FASTA input); genome columns for located ones."""
    import numpy as np
    import pandas as pd
    from scipy.special import expit

    from seqsal import io
    from seqsal.datasets import encode_records
    from seqsal.explain.coordinates import coordinate_columns
    from seqsal.models import predict

    names = list(model.config.output_names)
    first = True
    for batch in io.iter_batches(located, args.batch_size):
        records = [record for record, _ in batch]
        X, fits = encode_records(records, model.config.input_length, args.fit)
        logits = predict(model, X, batch_size=args.batch_size, device=args.device)
        table = pd.DataFrame({"id": [r.id for r in records]})
        for j, name in enumerate(names):
            table[f"{name}.logit"] = logits[:, j]
            if model.config.task == "classification":
                table[f"{name}.probability"] = expit(logits[:, j])
        table["length_fit"] = [f.action for f in fits]
        if args.bed is not None:
            locations = [location for _, location in batch]
            table = table.assign(**coordinate_columns(locations, np.array([f.offset for f in fits])))
        table.to_csv(sys.stdout, sep="\t", index=False, header=first, float_format="%.6g")
        first = False
