"""``seqsal predict``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal predict`` and its options."""
    parser = commands.add_parser("predict", help="print a TSV of predictions (logits and probabilities)",
                                  description="Stream a FASTA through a model; writes TSV to stdout.")
    parser.add_argument("fasta", help="FASTA/FASTQ, plain or gzipped; '-' reads standard input")
    options.add_model(parser)
    parser.add_argument("--fit", action="store_true", help="centre-crop or N-pad to the model's length")
    parser.add_argument("--batch-size", type=options.positive_int, default=256, help="sequences per batch (default 256)")
    options.add_device(parser)
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.models import load_model

    _predict_file(args.fasta, load_model(options.model_from_args(args), args.device), args)


def _predict_file(path: Path, model, args: argparse.Namespace) -> None:
    import pandas as pd
    from scipy.special import expit

    from seqsal import io
    from seqsal.datasets import encode_records
    from seqsal.models import predict

    names = list(model.config.output_names)
    first = True
    for records in io.iter_batches(io.iter_records(path), args.batch_size):
        X, fits = encode_records(records, model.config.input_length, args.fit)
        logits = predict(model, X, batch_size=args.batch_size, device=args.device)
        table = pd.DataFrame({"id": [r.id for r in records]})
        for j, name in enumerate(names):
            table[f"{name}.logit"] = logits[:, j]
            if model.config.task == "classification":
                table[f"{name}.probability"] = expit(logits[:, j])
        table["length_fit"] = [f.action for f in fits]
        table.to_csv(sys.stdout, sep="\t", index=False, header=first, float_format="%.6g")
        first = False
