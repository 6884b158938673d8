"""Attribution throughput of seqsal against Captum and tangermeme, in one run on one machine.

Model: the DeepSTARR architecture (249 bp; conv 256x7, 60x3, 60x5, 120x3 with BatchNorm,
ReLU and max-pool 2; dense 256, 256; one output), random weights, eval mode, fed identical
random one-hot tensors.  Each timing is the median of ``--repeats`` runs; ratios compare
medians from this same run.  Writes a markdown table to ``benchmarks/results.md``.

    pip install -e '.[bench]'
    python benchmarks/bench_attribution.py [--threads 2] [--repeats 5]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from seqsal.attribution import attribute
from seqsal.attribution.rewrite import attribution_copy
from seqsal.models import EnhancerCNN, ModelConfig, predict

BATCH = 128


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


def batched(function: Callable[[torch.Tensor], object], X: torch.Tensor) -> Callable[[], None]:
    def run() -> None:
        for start in range(0, len(X), BATCH):
            function(X[start : start + BATCH])
    return run


def random_onehot(n: int, length: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.eye(4, dtype=np.float32)[rng.integers(0, 4, size=(n, length))].transpose(0, 2, 1).copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--n", type=int, default=512, help="sequences for gradient methods")
    parser.add_argument("--n-ig", type=int, default=64, help="sequences for Integrated Gradients")
    parser.add_argument("--n-ism", type=int, default=16, help="sequences for ISM")
    parser.add_argument("--out", default=str(Path(__file__).with_name("results.md")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    from captum.attr import InputXGradient, IntegratedGradients, Saliency
    from tangermeme.saliency import saliency as tm_saliency
    from tangermeme.saturation_mutagenesis import saturation_mutagenesis as tm_ism

    model = EnhancerCNN(ModelConfig()).eval()
    X = random_onehot(args.n, 249)
    x = torch.from_numpy(X)
    X_ig, X_ism = X[: args.n_ig], X[: args.n_ism]
    x_ig = torch.from_numpy(X_ig)
    fast = attribution_copy(model)
    tasks = [  # (method, tool, function, n sequences, repeats)
        ("forward", "model", lambda: predict(model, X, batch_size=BATCH), args.n, args.repeats),
        ("forward", "rewritten", lambda: predict(fast, X, batch_size=BATCH), args.n, args.repeats),
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
        ("ism", "seqsal", lambda: attribute(model, X_ism, "ism", batch_size=BATCH), args.n_ism, 3),
        ("ism", "tangermeme", lambda: tm_ism(model, torch.from_numpy(X_ism), batch_size=BATCH, target=0),
         args.n_ism, 1),
    ]
    seconds = interleaved_medians([(task[2], task[4]) for task in tasks])
    rows = [(method, tool, elapsed, n) for (method, tool, _, n, _), elapsed in zip(tasks, seconds)]
    rows.append(("saliency", "tangermeme", *next(r for r in rows if r[:2] == ("grad_x_input", "tangermeme"))[2:]))
    for method, tool, elapsed, n in rows:
        print(f"{method:22s} {tool:11s} {n / elapsed:10.1f} seq/s", flush=True)
    agreement = relative_difference(
        attribute(model, X[:BATCH], "grad_x_input", batch_size=BATCH),
        InputXGradient(model).attribute(x[:BATCH], target=0).detach().numpy())

    write_table(rows, args, agreement)


def relative_difference(ours: np.ndarray, reference: np.ndarray) -> float:
    """Largest absolute difference, relative to the reference's largest magnitude."""
    return float(np.abs(ours - reference).max() / np.abs(reference).max())


def write_table(rows: list[tuple[str, str, float, int]], args: argparse.Namespace, agreement: float) -> None:
    speed = {(m, t): n / s for m, t, s, n in rows}
    plain, rewritten = speed[("forward", "model")], speed[("forward", "rewritten")]
    lines = [
        "# Attribution throughput",
        "",
        f"DeepSTARR architecture, random weights, eval mode; batch {BATCH}; {args.threads} threads; "
        f"median of {args.repeats} rounds (IG, ISM: 3; tangermeme ISM: 1), the tools timed in turn within each "
        f"round. {platform.processor() or platform.machine()}, torch {torch.__version__}. Produced by "
        "`python benchmarks/bench_attribution.py`.",
        "",
        f"Forward pass (`seqsal.predict`): {plain:.1f} seq/s with the model as given, {rewritten:.1f} seq/s with "
        "the rewritten copy the gradient methods run (BatchNorm folded, max-pool before activation, "
        "channels-last convolutions).",
        "",
        "| method | seqsal seq/s | captum seq/s | tangermeme seq/s | vs captum | vs tangermeme "
        "| time / forward | time / rewritten forward |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for method in dict.fromkeys(m for m, _, _, _ in rows if m != "forward"):
        ours = speed.get((method, "seqsal"))
        captum = speed.get((method, "captum"))
        tangermeme = speed.get((method, "tangermeme"))
        lines.append("| " + " | ".join([
            method,
            f"{ours:.1f}",
            f"{captum:.1f}" if captum else "",
            f"{tangermeme:.1f}" if tangermeme else "",
            f"{ours / captum:.2f}x" if captum else "",
            f"{ours / tangermeme:.2f}x" if tangermeme else "",
            f"{plain / ours:.2f}",
            f"{rewritten / ours:.2f}",
        ]) + " |")
    lines += ["", f"grad_x_input agrees with Captum InputXGradient on the first {BATCH} sequences to "
                  f"{agreement:.1e} of the largest attribution."]
    text = "\n".join(lines) + "\n"
    Path(args.out).write_text(text)
    print(text)


if __name__ == "__main__":
    main()
