"""Peak RSS of ``seqsal explain --bed --genome`` on N random intervals (tiny model, saliency), in a fresh process.

    python benchmarks/bench_bed_memory.py 10000; python benchmarks/bench_bed_memory.py 100000

Builds a random 8 Mb genome (4 chromosomes) and N sorted 300-base intervals (alternate strands, some repeated
by chance) in a temporary folder, explains them with --stranded into .npy arrays, and prints the child's peak
resident memory: it should not grow with N, because intervals are fetched batch by batch.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from seqsal.models import EnhancerCNN, ModelConfig, save_model


def setup(folder: Path, n: int) -> None:
    rng = np.random.default_rng(0)
    with open(folder / "g.fa", "w") as handle:
        for c in range(4):
            bases = "".join(rng.choice(list("ACGT"), 2_000_000))
            handle.write(f">chr{c + 1}\n" + "\n".join(bases[i:i + 60] for i in range(0, len(bases), 60)) + "\n")
    chrom, start = rng.integers(1, 5, n), rng.integers(0, 1_999_000, n)
    with open(folder / "p.bed", "w") as handle:
        for i in np.lexsort((start, chrom)):
            handle.write(f"chr{chrom[i]}\t{start[i]}\t{start[i] + 300}\tpeak{i}\t0\t{'+-'[i % 2]}\n")
    torch.manual_seed(0)
    config = ModelConfig(input_length=200, conv_channels=(8, 6), kernel_sizes=(5, 3), dense_units=(12,), dropout=0.0)
    save_model(EnhancerCNN(config).eval(), folder / "m.pt")


def peak_rss_mib(n: int) -> float:
    """Peak RSS of one explain run over ``n`` intervals; call once per process (the peak is over all children)."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        setup(folder, n)
        subprocess.run([sys.executable, "-m", "seqsal.cli", "explain", "--bed", str(folder / "p.bed"), "--genome",
                        str(folder / "g.fa"), "--stranded", "--model", str(folder / "m.pt"), "--method", "saliency",
                        "--logos", "0", "--out", str(folder / "out"), "--quiet", "--threads", "1",
                        "--batch-size", "256"], check=True)
        return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the one child's peak


if __name__ == "__main__":
    torch.set_num_threads(1)
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"{count} intervals: peak RSS {peak_rss_mib(count):.0f} MiB")
