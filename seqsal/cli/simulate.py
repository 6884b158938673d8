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
    parser.add_argument("--out", required=True, help="output folder (new or empty)")
    parser.add_argument("--n", type=int, default=20000, help="number of sequences (default 20000)")
    parser.add_argument("--length", type=int, default=249, help="sequence length in bp (default 249)")
    parser.add_argument("--positive-fraction", type=float, default=0.5, help="share of positives (default 0.5)")
    parser.add_argument("--seed", type=options.non_negative_int, default=0, help="random seed; same seed, same files (default 0)")
    parser.set_defaults(run=run)
    return parser


def run(args: argparse.Namespace) -> None:
    from seqsal.simulate import simulate_enhancers, write_synthetic_set
    from seqsal import io

    out = io.prepare_output_dir(args.out)
    dataset = simulate_enhancers(args.n, args.length, positive_fraction=args.positive_fraction,
                                 random_state=args.seed)
    paths = write_synthetic_set(dataset, out)
    io.write_json(out / io.MANIFEST, {
        **io.manifest_header("simulate"), "complete": True,
        "n": args.n, "length": args.length, "seed": args.seed, "positive_fraction": args.positive_fraction,
        "files": {k: Path(v).name for k, v in paths.items()},
    })
    n_pos = int(dataset.labels.sum())
    print(f"wrote {args.n} sequences ({n_pos} positives) to {out}/: "
          + ", ".join(Path(p).name for p in paths.values()), file=sys.stderr)
