"""Wall time and peak memory of ``seqsal audit`` on a large simulated dataset.

The issue's target: 100,000 sequences of 249 bp per class audited in at most 5 minutes on 2
cores.  The dataset is ``simulate_enhancers`` output (positives with enhancer motifs, negatives
with background motifs, same GC) with a TruSeq adapter planted into 2% of the positives and
three test negatives copied into the training positives, so the run does the work of a dataset
that has something to find.  The files are generated once into ``--data`` (not timed) and
reused by later runs; the timed part is the full command, FASTA reading to report writing.

    python benchmarks/bench_audit.py [--n-per-class 100000] [--data build/bench_audit]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.io import Record, write_fasta
from seqsal.motifs import load_adapters
from seqsal.simulate import plant, simulate_enhancers

PLANTED_FRACTION = 0.02
ADAPTER = "illumina_universal_truseq_r1"


def make_dataset(folder: Path, n_per_class: int, length: int, seed: int) -> None:
    """Write pos.fa, neg.fa and splits.tsv unless a dataset of this size is already there."""
    stamp = folder / "dataset.json"
    wanted = {"n_per_class": n_per_class, "length": length, "seed": seed}
    if stamp.is_file() and json.loads(stamp.read_text()) == wanted:
        return
    folder.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    data = simulate_enhancers(2 * n_per_class, length, random_state=seed)
    sequences, labels, splits = list(data.sequences), data.labels.astype(int), list(data.splits)
    ids = list(data.ids)
    rng = np.random.default_rng(seed)
    adapter = load_adapters()[ADAPTER]
    positives = np.flatnonzero(labels == 1)
    for i in rng.choice(positives, round(PLANTED_FRACTION * len(positives)), replace=False):
        sequences[i] = plant(sequences[i], adapter, int(rng.integers(0, length - len(adapter) + 1)))
    test_negatives = [i for i in range(len(ids)) if labels[i] == 0 and splits[i] == "test"][:3]
    for copy, i in enumerate(test_negatives):
        ids.append(f"copy{copy}")
        sequences.append(sequences[i])
        labels = np.append(labels, 1)
        splits.append("train")
    records = [Record(record_id, sequence) for record_id, sequence in zip(ids, sequences)]
    write_fasta(folder / "pos.fa", (r for r, label in zip(records, labels) if label == 1))
    write_fasta(folder / "neg.fa", (r for r, label in zip(records, labels) if label == 0))
    pd.DataFrame({"id": ids, "split": splits}).to_csv(folder / "splits.tsv", sep="\t", index=False)
    stamp.write_text(json.dumps(wanted))
    print(f"generated {len(ids)} records in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n-per-class", type=int, default=100_000)
    parser.add_argument("--length", type=int, default=249)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--data", default="build/bench_audit", help="where the dataset and the audit go")
    args = parser.parse_args()

    folder = Path(args.data)
    make_dataset(folder, args.n_per_class, args.length, args.seed)
    from seqsal.cli import main as seqsal_main

    out = folder / "audit"
    command = ["audit", "--pos", str(folder / "pos.fa"), "--neg", str(folder / "neg.fa"),
               "--splits", str(folder / "splits.tsv"), "--out", str(out)]
    started = time.perf_counter()
    status = seqsal_main(command)
    seconds = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    summary = json.loads((out / "summary.json").read_text())
    print(f"seqsal audit, {args.n_per_class} + {args.n_per_class} sequences of {args.length} bp: "
          f"{seconds:.0f} s wall, peak RSS {peak_mib:.0f} MiB, exit {status}")
    print(f"machine: {platform.processor() or platform.machine()}, {len(os.sched_getaffinity(0))} CPUs usable")
    print(f"flags ({summary['n_flags']}):")
    for flag in summary["flags"]:
        print(f"  - {flag}")


if __name__ == "__main__":
    main()
