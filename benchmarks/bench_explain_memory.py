"""Peak memory of ``seqsal explain`` at 20,000 and 200,000 sequences: streaming keeps it flat.

Writes random 249-bp FASTA files and a small 249-bp model (the model's size does
not change how memory scales with N, only how long the run takes), runs
``seqsal explain`` under ``/usr/bin/time -v`` and prints the maximum resident set
size of each run and their ratio (target: the larger run within 1.25x).

    python benchmarks/bench_explain_memory.py [--sizes 20000,200000] [--workdir build/bench_memory]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from seqsal.models import EnhancerCNN, ModelConfig, save_model


def write_fasta(path: Path, n: int, length: int = 249, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    letters = np.frombuffer(b"ACGT", dtype=np.uint8)
    with open(path, "w") as handle:
        for start in range(0, n, 10_000):
            block = letters[rng.integers(0, 4, size=(min(10_000, n - start), length))]
            handle.writelines(f">seq{start + i}\n{row.tobytes().decode()}\n" for i, row in enumerate(block))


def peak_rss_mb(command: list[str]) -> tuple[float, float]:
    started = time.perf_counter()
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(result.stderr[-2000:])
    kilobytes = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return kilobytes / 1024, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--method", default="grad_x_input")
    parser.add_argument("--workdir", default="build/bench_memory")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = save_model(EnhancerCNN(ModelConfig(conv_channels=(16, 16), kernel_sizes=(7, 3), dense_units=(16,))),
                       workdir / "small.pt")
    results = []
    for n in (int(v) for v in args.sizes.split(",")):
        fasta = workdir / f"random_{n}.fa"
        if not fasta.exists():
            write_fasta(fasta, n)
        out = workdir / f"run_{n}"
        shutil.rmtree(out, ignore_errors=True)
        rss, seconds = peak_rss_mb([sys.executable, "-m", "seqsal.cli", "explain", str(fasta), "--model",
                                    str(model), "--method", args.method, "--logos", "0", "--quiet",
                                    "--batch-size", "256", "--out", str(out)])
        results.append((n, rss, seconds))
        print(f"{n:>8} sequences: peak RSS {rss:7.1f} MB, {seconds:6.1f} s", flush=True)
    (n0, rss0, _), (n1, rss1, _) = results[0], results[-1]
    print(f"peak RSS ratio {n1}/{n0} sequences: {rss1 / rss0:.3f} (target <= 1.25)")


if __name__ == "__main__":
    main()
