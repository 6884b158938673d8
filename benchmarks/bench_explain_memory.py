"""Peak memory of ``seqsal explain`` at 20,000 and 200,000 sequences: streaming keeps it flat.

Writes random 249-bp FASTA files and a small 249-bp model (the model's size does
not change how memory scales with N, only how long the run takes), runs
``seqsal explain`` under ``/usr/bin/time -v`` and prints the maximum resident set
size of each run and their ratio (target: the larger run within 1.25x).

The model is a user's: a DeepSTARR-like ``nn.Sequential`` (narrowed) given as
``--model-code FILE.py:build --weights W.pt``, the way a user brings their
own, when ``seqsal explain`` accepts those options; else (``--model seqsal``,
or an older ``explain``) a small seqsal EnhancerCNN.

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

USERS_MODEL = """import torch
from torch import nn


def build():
    layers, channels, length = [], 4, 249
    for out, kernel in zip((32, 16, 16), (7, 3, 5)):
        layers += [nn.Conv1d(channels, out, kernel, padding=kernel // 2), nn.BatchNorm1d(out), nn.ReLU(),
                   nn.MaxPool1d(2)]
        channels, length = out, length // 2
    layers += [nn.Flatten(), nn.Linear(channels * length, 32), nn.ReLU(), nn.Linear(32, 1)]
    return nn.Sequential(*layers).eval()
"""


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


def model_arguments(workdir: Path, kind: str) -> list[str]:
    """The ``explain`` options naming the benchmarked model, written to ``workdir``; says which one is used."""
    torch.manual_seed(0)
    accepts_code = "--model-code" in subprocess.run([sys.executable, "-m", "seqsal.cli", "explain", "--help"],
                                                    capture_output=True, text=True).stdout
    if kind == "users" and accepts_code:
        code = workdir / "users_model.py"
        code.write_text(USERS_MODEL)
        namespace: dict = {}
        exec(compile(USERS_MODEL, str(code), "exec"), namespace)
        torch.save(namespace["build"]().state_dict(), workdir / "users_weights.pt")
        print("model: a user's DeepSTARR-like nn.Sequential, --model-code users_model.py:build --weights W.pt "
              "--model-length 249", flush=True)
        return ["--model-code", f"{code}:build", "--weights", str(workdir / "users_weights.pt"),
                "--model-length", "249"]
    if kind == "users":
        print("model: seqsal EnhancerCNN (this seqsal explain has no --model-code yet)", flush=True)
    model = save_model(EnhancerCNN(ModelConfig(conv_channels=(16, 16), kernel_sizes=(7, 3), dense_units=(16,))),
                       workdir / "small.pt")
    return ["--model", str(model)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="20000,200000")
    parser.add_argument("--method", default="grad_x_input")
    parser.add_argument("--workdir", default="build/bench_memory")
    parser.add_argument("--model", choices=("users", "seqsal"), default="users",
                        help="a user's nn.Sequential as code + weights (if explain accepts them), or seqsal's CNN")
    args = parser.parse_args()
    workdir = Path(args.workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    model_options = model_arguments(workdir, args.model)
    results = []
    for n in (int(v) for v in args.sizes.split(",")):
        fasta = workdir / f"random_{n}.fa"
        if not fasta.exists():
            write_fasta(fasta, n)
        out = workdir / f"run_{n}"
        shutil.rmtree(out, ignore_errors=True)
        rss, seconds = peak_rss_mb([sys.executable, "-m", "seqsal.cli", "explain", str(fasta), *model_options,
                                    "--method", args.method, "--logos", "0", "--quiet",
                                    "--batch-size", "256", "--out", str(out)])
        results.append((n, rss, seconds))
        print(f"{n:>8} sequences: peak RSS {rss:7.1f} MB, {seconds:6.1f} s", flush=True)
    (n0, rss0, _), (n1, rss1, _) = results[0], results[-1]
    print(f"peak RSS ratio {n1}/{n0} sequences: {rss1 / rss0:.3f} (target <= 1.25)")


if __name__ == "__main__":
    main()
