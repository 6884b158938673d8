"""Attribution throughput of seqsal against Captum and tangermeme on three model families, in one run.

Families (random weights, eval mode, BatchNorm with randomised statistics, fed
identical random one-hot tensors of 249 bp):

* ``enhancer``: seqsal's own :class:`~seqsal.models.EnhancerCNN` with the default
  (DeepSTARR) configuration;
* ``deepstarr``: the same architecture as a user would write it, a plain
  ``nn.Sequential`` (conv 256x7, 60x3, 60x5, 120x3 with BatchNorm, ReLU and
  max-pool 2; Flatten; dense 256, 256; one output);
* ``bpnet``: a BPNet-style model with its own ``forward``: Conv1d(4, 64, 21),
  7 dilated residual convolutions (64 channels, kernel 3, dilation 2^i,
  ``x = x + relu(conv(x))``), global average pooling, Linear.

Within each family every round times each tool once, in turn (round-robin);
each figure is the median over rounds.  Writes a markdown table to
``benchmarks/results.md``.

    pip install -e '.[bench]'
    python benchmarks/bench_attribution.py [--threads 2] [--repeats 5]

``--methods ism --families bpnet --out /tmp/ism.md`` times only some methods
(the plain forward always runs: the last column is relative to it) on some
families, without overwriting this file's table.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from seqsal.attribution import attribute
from seqsal.models import EnhancerCNN, ModelConfig, predict

BATCH = 128
METHODS = ("saliency", "grad_x_input", "integrated_gradients", "ism")


def interleaved_medians(functions: list[tuple[Callable[[], object], int]]) -> list[float]:
    """Median wall time of each function over its repeats, measured round-robin.

    Every round times each function once, in turn, so a slow spell of a shared
    machine lands on all tools alike instead of on whichever ran during it.
    """
    for function, _ in functions:
        function()  # warm-up: allocator, oneDNN primitive caches
    times: list[list[float]] = [[] for _ in functions]
    for round_ in range(max(repeats for _, repeats in functions)):
        for (function, repeats), measured in zip(functions, times):
            if round_ < repeats:
                start = time.perf_counter()
                function()
                measured.append(time.perf_counter() - start)
    return [statistics.median(measured) for measured in times]


def batched(function: Callable[[torch.Tensor], object], X: torch.Tensor, grad: bool = True) -> Callable[[], None]:
    def run() -> None:
        with torch.set_grad_enabled(grad):
            for start in range(0, len(X), BATCH):
                function(X[start : start + BATCH])
    return run


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))].transpose(0, 2, 1).copy()


class BPNetStyle(nn.Module):
    """Wide first convolution, dilated residual convolutions, global average pooling, linear head."""

    def __init__(self, channels: int = 64, layers: int = 7) -> None:
        super().__init__()
        self.first = nn.Conv1d(4, channels, 21, padding=10)
        self.dilated = nn.ModuleList(nn.Conv1d(channels, channels, 3, padding=2**i, dilation=2**i)
                                     for i in range(1, layers + 1))
        self.head = nn.Linear(channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.first(x))
        for conv in self.dilated:
            x = x + F.relu(conv(x))
        return self.head(x.mean(dim=2))


def deepstarr_sequential(length: int = 249) -> nn.Sequential:
    """DeepSTARR written as a user would: one ``nn.Sequential``, ``padding=k//2``."""
    layers: list[nn.Module] = []
    channels = 4
    for out, kernel in zip((256, 60, 60, 120), (7, 3, 5, 3)):
        layers += [nn.Conv1d(channels, out, kernel, padding=kernel // 2), nn.BatchNorm1d(out), nn.ReLU(),
                   nn.MaxPool1d(2)]
        channels, length = out, length // 2
    layers += [nn.Flatten(), nn.Linear(channels * length, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.4),
               nn.Linear(256, 256), nn.BatchNorm1d(256), nn.ReLU(), nn.Dropout(0.4), nn.Linear(256, 1)]
    return nn.Sequential(*layers)


def families() -> dict[str, nn.Module]:
    """The three benchmarked models, with randomised BatchNorm statistics, in eval mode."""
    torch.manual_seed(0)
    models = {"enhancer": EnhancerCNN(ModelConfig()), "deepstarr": deepstarr_sequential(), "bpnet": BPNetStyle()}
    generator = torch.Generator().manual_seed(0)
    for model in models.values():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm1d):
                module.running_mean.copy_(torch.rand(module.num_features, generator=generator) - 0.5)
                module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
        model.eval()
    return models


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=256, help="sequences for gradient methods")
    parser.add_argument("--n-ig", type=int, default=16, help="sequences for Integrated Gradients")
    parser.add_argument("--n-ism", type=int, default=4, help="sequences for ISM")
    parser.add_argument("--ism-repeats", type=int, default=3,
                        help="rounds for ISM, both tools (tangermeme's brute force is the slowest task)")
    parser.add_argument("--methods", default=",".join(METHODS),
                        help=f"comma-separated subset of {','.join(METHODS)}")
    parser.add_argument("--families", default="enhancer,deepstarr,bpnet",
                        help="comma-separated subset of enhancer,deepstarr,bpnet")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args()
    args.methods = set(args.methods.split(","))
    unknown = args.methods - set(METHODS) | set(args.families.split(",")) - set(families())
    if unknown:
        parser.error(f"unknown methods or families: {', '.join(sorted(unknown))}")
    torch.set_num_threads(args.threads)
    from captum.attr import InputXGradient

    X = random_onehot(args.n, 249)
    args.load_before = os.getloadavg()
    results = {}
    for family, model in families().items():
        if family not in args.families.split(","):
            continue
        print(f"--- {family}", flush=True)
        rows = measure(model, X, args)
        agreement = relative_difference(
            attribute(model, X[:BATCH], "grad_x_input", batch_size=BATCH),
            InputXGradient(model).attribute(torch.from_numpy(X[:BATCH]), target=0).detach().numpy())
        results[family] = (rows, agreement)
    args.load_after = os.getloadavg()
    write_table(results, args)


def measure(model: nn.Module, X: np.ndarray, args: argparse.Namespace) -> list[tuple[str, str, float, int]]:
    """``(method, tool, median seconds, sequences)`` for every tool on one model, timed round-robin."""
    from captum.attr import InputXGradient, IntegratedGradients, Saliency
    from tangermeme.saliency import saliency as tm_saliency
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    x = torch.from_numpy(X)
    X_ig, X_ism = X[: args.n_ig], X[: args.n_ism]
    x_ig = torch.from_numpy(X_ig)
    tasks = [  # (method, tool, function, n sequences, repeats)
        ("forward", "plain", batched(lambda b: model(b), x, grad=False), args.n, args.repeats),
        ("forward", "seqsal", lambda: predict(model, X, batch_size=BATCH), args.n, args.repeats),
        ("saliency", "seqsal", lambda: attribute(model, X, "saliency", hypothetical=True, batch_size=BATCH),
         args.n, args.repeats),
        ("saliency", "captum", batched(lambda b: Saliency(model).attribute(b, target=0, abs=True), x), args.n,
         args.repeats),
        ("grad_x_input", "seqsal", lambda: attribute(model, X, "grad_x_input", batch_size=BATCH), args.n,
         args.repeats),
        ("grad_x_input", "captum", batched(lambda b: InputXGradient(model).attribute(b, target=0), x), args.n,
         args.repeats),
        # tangermeme has one gradient function (gradient x input); it is the reference for both rows
        ("grad_x_input", "tangermeme", lambda: tm_saliency(model, x, batch_size=BATCH, gradient_correction=False),
         args.n, args.repeats),
        ("integrated_gradients", "seqsal",
         lambda: attribute(model, X_ig, "integrated_gradients", steps=50, batch_size=BATCH), args.n_ig, 3),
        ("integrated_gradients", "captum",
         lambda: IntegratedGradients(model).attribute(x_ig, target=0, n_steps=50, internal_batch_size=BATCH),
         args.n_ig, 3),
        ("ism", "seqsal", lambda: attribute(model, X_ism, "ism", batch_size=BATCH), args.n_ism, args.ism_repeats),
        ("ism", "tangermeme", lambda: tm_ism(model, torch.from_numpy(X_ism), batch_size=BATCH, target=0),
         args.n_ism, args.ism_repeats),
    ]
    tasks = [task for task in tasks if task[0] == "forward" or task[0] in args.methods]
    seconds = interleaved_medians([(task[2], task[4]) for task in tasks])
    rows = [(method, tool, elapsed, n) for (method, tool, _, n, _), elapsed in zip(tasks, seconds)]
    if "saliency" in args.methods and "grad_x_input" in args.methods:
        rows.append(("saliency", "tangermeme",
                     *next(r for r in rows if r[:2] == ("grad_x_input", "tangermeme"))[2:]))
    for method, tool, elapsed, n in rows:
        print(f"{method:22s} {tool:11s} {n / elapsed:10.1f} seq/s", flush=True)
    return rows


def relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest absolute difference, relative to the reference's largest magnitude."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{value:.1f}" for value in load)


def _subset(args: argparse.Namespace) -> str:
    """The ``--methods``/``--families`` options of a run that timed only some of them."""
    options = ""
    if args.methods != set(METHODS):
        options += f" --methods {','.join(method for method in METHODS if method in args.methods)}"
    if set(args.families.split(",")) != set(families()):
        options += f" --families {args.families}"
    return options


def write_table(results: dict[str, tuple[list[tuple[str, str, float, int]], float]],
                args: argparse.Namespace) -> None:
    lines = [
        "# Attribution throughput",
        "",
        f"Three model families (see `benchmarks/bench_attribution.py`), random weights, eval mode, 249 bp; "
        f"batch {BATCH}; {args.threads} threads; median of {args.repeats} rounds (IG: 3; ISM: {args.ism_repeats}), "
        f"the tools timed in turn within each round. {platform.processor() or platform.machine()}, "
        f"torch {torch.__version__}. Produced by `python benchmarks/bench_attribution.py "
        f"--threads {args.threads} --repeats {args.repeats} --n {args.n} --n-ig {args.n_ig} --n-ism {args.n_ism} "
        f"--ism-repeats {args.ism_repeats}{_subset(args)}`. "
        f"Load average (1, 5, 15 min) {_load(args.load_before)} at the start, {_load(args.load_after)} at the end.",
        "",
        "`forward`: `plain` is the model as given under `no_grad`, `seqsal` is `seqsal.models.predict` (the "
        "rewritten copy). `time / forward` is a method's time per sequence over the plain forward's.",
        "",
        "| family | method | seqsal seq/s | captum seq/s | tangermeme seq/s | vs captum | vs tangermeme "
        "| time / forward |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for family, (rows, agreement) in results.items():
        speed = {(m, t): n / s for m, t, s, n in rows}
        plain = speed[("forward", "plain")]
        for method in dict.fromkeys(m for m, _, _, _ in rows):
            ours = speed.get((method, "seqsal"))
            captum = speed.get((method, "captum"))
            tangermeme = speed.get((method, "tangermeme"))
            lines.append("| " + " | ".join([
                family,
                method,
                f"{ours:.1f}",
                f"{captum:.1f}" if captum else "",
                f"{tangermeme:.1f}" if tangermeme else "",
                f"{ours / captum:.2f}x" if captum else "",
                f"{ours / tangermeme:.2f}x" if tangermeme else "",
                f"{plain / ours:.2f}",
            ]) + " |")
    lines += [""] + [f"{family}: grad_x_input agrees with Captum InputXGradient on the first {BATCH} sequences to "
                     f"{agreement:.1e} of the largest attribution." for family, (_, agreement) in results.items()]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
