"""Fast windowed ISM vs brute force on a DeepSTARR-size model (random weights, eval mode).

Run: ``.venv/bin/python benchmarks/bench_ism.py [--sequences 64] [--brute-sequences 64]``.
Brute force is the same function on the model wrapped in ``nn.Sequential``,
which hides the EnhancerCNN structure and so runs the model on every mutant;
it is timed on the first ``--brute-sequences`` sequences, which is also where
the two are compared.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from torch import nn

from seqsal.attribution.ism import ism_deltas
from seqsal.models import EnhancerCNN, ModelConfig


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=64, help="sequences for fast ISM")
    parser.add_argument("--brute-sequences", type=int, default=64, help="sequences for brute force (a prefix)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = EnhancerCNN(ModelConfig()).eval()  # DeepSTARR: 249 bp, conv 256x7, 60x3, 60x5, 120x3, dense 256, 256
    rng = np.random.default_rng(0)
    X = np.eye(4, dtype=np.float32)[rng.integers(0, 4, (args.sequences, 249))].transpose(0, 2, 1).copy()
    brute_X = X[: args.brute_sequences]

    begin = time.perf_counter()
    fast = ism_deltas(model, X, batch_size=args.batch_size, device="cpu")
    fast_rate = len(X) / (time.perf_counter() - begin)
    begin = time.perf_counter()
    brute = ism_deltas(nn.Sequential(model), brute_X, batch_size=args.batch_size, device="cpu")
    brute_rate = len(brute_X) / (time.perf_counter() - begin)

    print(f"threads {args.threads}, batch size {args.batch_size}")
    print(f"fast ISM:     {fast_rate:8.2f} seq/s ({len(X)} sequences)")
    print(f"brute force:  {brute_rate:8.2f} seq/s ({len(brute_X)} sequences)")
    print(f"speedup:      {fast_rate / brute_rate:8.1f}x")
    difference = np.abs(fast[: len(brute_X)] - brute).max()
    print(f"max abs diff: {difference:.2e} (largest |delta| {np.abs(brute).max():.3g})")


if __name__ == "__main__":
    main()
