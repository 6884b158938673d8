"""``seqsal simulate``: parse its options and call the library."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


from seqsal.cli import options


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Register ``seqsal simulate`` and its options."""
    parser = commands.add_parser(
        "simulate", help="write a synthetic enhancer set with planted motifs and ground-truth masks",
        description="Positives carry 2-4 known enhancer motifs (GATA1, FOS::JUN, ETS1, CREB1, SP1) sampled "
                    "into random background; negatives carry unrelated background motifs or none. Writes "
                    "train/valid/test FASTA, labels.tsv (id, label, split), masks.npz and planted.tsv.")
    options.add_output(parser)
    parser.add_argument("--n", type=int, default=20000, help="number of sequences (default 20000)")
    parser.add_argument("--length", type=int, default=249, help="sequence length in bp (default 249)")
    parser.add_argument("--positive-fraction", type=float, default=0.5, help="share of positives (default 0.5)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed; same seed, same files (default 0)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.simulate import simulate_to_folder

    dataset, paths = simulate_to_folder(args.out, args.n, args.length, positive_fraction=args.positive_fraction,
                                        random_state=args.seed, force=args.force)
    print(f"wrote {args.n} sequences ({int(dataset.labels.sum())} positives) to {args.out}/: "
          + ", ".join(Path(p).name for p in paths.values()), file=sys.stderr)
