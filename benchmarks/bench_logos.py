"""Logo drawing throughput: the fast glyph engine against logomaker, side by side in one run.

Three measurements, each written as PNG at 150 dpi into a temporary folder:

1. **Logos**: ``--n`` logos of 249 positions (projected scores of random
   sequences).  logomaker: a new figure per logo, one patch per letter, as
   ``plot_logo(engine="logomaker")`` draws it.  fast: one figure reused, the
   letters of a logo as one path collection (``plot_logo(engine="fast")``).
2. **Stacked figures** (logo + heatmap + track): logomaker engine in a new
   figure per record (``plot_attribution(engine="logomaker")``) against one
   reused :class:`seqsal.plot.AttributionCanvas` with the fast engine, written
   by its :meth:`~seqsal.plot.AttributionCanvas.save` (what ``seqsal logo`` does).
3. **``seqsal logo BUNDLE --top 1000``**: the command on a 1,000-sequence
   saliency bundle (random sequences, the bundled model), in a subprocess,
   with its default process pool (one worker per core, at most 8).

logomaker is slow enough that timing it on every logo would take most of the
run on a loaded machine, so it is timed on ``--n-reference`` of them and its
rate (figures per second) is compared; both rates are printed.  Conditions
(cores, load) are printed too: on a shared machine rates move with the load,
ratios much less.

Usage: python benchmarks/bench_logos.py [--n 200] [--n-reference 40] [--stacked 100] [--top 1000]

Measured 2026-12-01 (2 shared cores, load average 0.9-1.6, ``--n-reference 20 --stacked-reference 10``):

| figure | logomaker: n, figures/s | fast: n, figures/s | speed-up |
|---|---|---|---|
| logo | 20, 0.38 | 200, 5.66 | 15.0× |
| stacked (logo + heatmap + track) | 10, 0.32 | 100, 9.08 | 27.9× |

``seqsal logo --top 1000`` (pool of 2): 58.6 s including start-up (17.1 figures/s); the run before the
start-up fix (8 s of imports, now 3 s) took 61.5 s, and one at load 1.7 before the axis-title change 70.3 s.
Per figure, about a third of the time is PNG deflate (zlib level 1 over 10.8 MB of pixels), a third the
value axes' ticks and labels.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from seqsal.encoding import one_hot  # noqa: E402
from seqsal.plot import AttributionCanvas, plot_attribution, plot_logo, save_figure  # noqa: E402

LENGTH = 249


def random_records(n: int, seed: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """``n`` random sequences, their one-hot encodings and smooth-ish signed hypothetical scores."""
    rng = np.random.default_rng(seed)
    sequences = ["".join(rng.choice(list("ACGT"), LENGTH)) for _ in range(n)]
    onehot = np.stack([one_hot(s)[0] for s in sequences])
    hypothetical = rng.normal(size=(n, 4, LENGTH)) * np.exp(rng.normal(size=(n, 1, LENGTH)))
    return sequences, onehot, hypothetical


def time_logos(projected: np.ndarray, out: Path, engine: str) -> float:
    """Figures per second drawing and saving one logo each."""
    start = time.perf_counter()
    if engine == "logomaker":
        for i, scores in enumerate(projected):
            fig = plot_logo(scores, engine="logomaker").figure
            save_figure(fig, out / f"logomaker_{i}.png")
            plt.close(fig)
    else:
        fig = plot_logo(projected[0]).figure
        ax = fig.axes[0]
        fig.canvas.draw()
        fig.set_layout_engine("none")  # the layout of the first logo holds for all of the same length
        for i, scores in enumerate(projected):
            ax.cla()
            plot_logo(scores, ax=ax)
            save_figure(fig, out / f"fast_{i}.png", tight=False)
        plt.close(fig)
    return len(projected) / (time.perf_counter() - start)


def time_stacked(onehot: np.ndarray, hypothetical: np.ndarray, out: Path, engine: str) -> float:
    """Figures per second drawing and saving one stacked figure each."""
    start = time.perf_counter()
    if engine == "logomaker":
        for i in range(len(onehot)):
            fig = plot_attribution(hypothetical[i], onehot[i], record_id=f"r{i}", prediction=1.0,
                                   method="grad_x_input", engine="logomaker")
            save_figure(fig, out / f"stacked_logomaker_{i}.png")
            plt.close(fig)
    else:
        canvas = AttributionCanvas(LENGTH)
        for i in range(len(onehot)):
            canvas.draw(hypothetical[i], onehot[i], record_id=f"r{i}", prediction=1.0, method="grad_x_input")
            canvas.save(out / f"stacked_fast_{i}.png")
        canvas.close()
    return len(onehot) / (time.perf_counter() - start)


def time_logo_command(sequences: list[str], folder: Path) -> tuple[float, float]:
    """Seconds to explain the sequences (not timed against anything) and to run ``seqsal logo --top N``."""
    fasta = folder / "peaks.fa"
    fasta.write_text("".join(f">peak{i}\n{s}\n" for i, s in enumerate(sequences)))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    command = [sys.executable, "-m", "seqsal.cli"]
    start = time.perf_counter()
    subprocess.run([*command, "explain", str(fasta), "--method", "saliency", "--logos", "0", "--out",
                    str(folder / "bundle"), "--threads", "1", "--quiet"], check=True, env=env)
    explain = time.perf_counter() - start
    start = time.perf_counter()
    subprocess.run([*command, "logo", str(folder / "bundle"), "--top", str(len(sequences))], check=True, env=env,
                   stdout=subprocess.DEVNULL)
    return explain, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="fast logos timed (default 200)")
    parser.add_argument("--n-reference", type=int, default=40, help="logomaker logos timed (default 40)")
    parser.add_argument("--stacked", type=int, default=100, help="fast stacked figures timed (default 100)")
    parser.add_argument("--stacked-reference", type=int, default=20,
                        help="logomaker stacked figures timed (default 20)")
    parser.add_argument("--top", type=int, default=1000, help="records for seqsal logo --top (0: skip)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    sequences, onehot, hypothetical = random_records(max(args.n, args.stacked, args.top), args.seed)
    projected = hypothetical * onehot
    print(f"cores: {os.cpu_count()}, load average at start: {os.getloadavg()[0]:.1f}; PNG at 150 dpi, "
          f"{LENGTH} positions")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        reference = time_logos(projected[: args.n_reference], out, "logomaker")
        fast = time_logos(projected[: args.n], out, "fast")
        rows.append(("logo", args.n_reference, reference, args.n, fast))
        reference = time_stacked(onehot[: args.stacked_reference], hypothetical[: args.stacked_reference], out,
                                 "logomaker")
        fast = time_stacked(onehot[: args.stacked], hypothetical[: args.stacked], out, "fast")
        rows.append(("stacked (logo + heatmap + track)", args.stacked_reference, reference, args.stacked, fast))
        print(f"\n| figure | logomaker: n, figures/s | fast: n, figures/s | speed-up |\n|---|---|---|---|")
        for name, n_ref, ref, n_fast, rate in rows:
            print(f"| {name} | {n_ref}, {ref:.2f} | {n_fast}, {rate:.2f} | {rate / ref:.1f}× |")
        if args.top:
            explain, logo = time_logo_command(sequences[: args.top], out)
            print(f"\nseqsal logo --top {args.top} (stacked PNG, pool of {min(os.cpu_count() or 1, 8)}): "
                  f"{logo:.1f} s including start-up ({args.top / logo:.1f} figures/s); explain took {explain:.1f} s")
    print(f"load average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
