"""The (nearly) Bayes-optimal classifier of ``seqsal simulate``'s enhancers: what any model could know.

The simulator's positives carry 2-4 instances of enhancer motifs, its
negatives 0-3 of background motifs, each instance a motif drawn uniformly,
sampled from its matrix, on a random strand at a random place, in i.i.d.
background bases of GC 0.41 (:func:`seqsal.simulate.simulate_enhancers`).
The likelihood of a sequence under either class, relative to pure
background, is then a sum over the ways its instances could have been
placed.  With ``a_p`` the chance-weighted likelihood ratio of a site starting
at ``p`` (averaged over motifs and strands, times ``1 / n_starts``), ``k``
instances at distinct starts give ``k! e_k(a)``, ``e_k`` the elementary
symmetric polynomial, and each class averages that over its range of ``k``.
The logit is the log ratio of the two (equal class sizes).  Two
approximations: starts are independent and uniform (the simulator keeps
instances from overlapping), and overlapping candidate sites are counted as
if they could coexist.

``benchmarks/bench_seqlets.py --oracle`` asks which planted instances this
classifier *uses* (the same replacement test as for the trained model): an
instance it barely responds to carries too little evidence for any model of
these data to use, so no caller faithful to a model can find it.  On 4,000
sequences of seed 7 its predicted probabilities matched the observed positive
rate in every logit bin, with a log-loss of 0.100 (the bundled model: 0.160).

Usage: python benchmarks/simulation_oracle.py [--n 4000] [--seed 7]   (AUROC, log-loss, calibration by bin)
"""

from __future__ import annotations

import argparse
import math

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from sklearn.metrics import roc_auc_score

import seqsal
from seqsal.motifs import Motif, MotifDatabase
from seqsal.simulate import DEFAULT_BACKGROUND_MOTIFS, DEFAULT_ENHANCER_MOTIFS, simulate_enhancers


class SimulationOracle:
    """Logits of :func:`~seqsal.simulate.simulate_enhancers` data under its own generative model.

    Parameters
    ----------
    enhancer_motifs, background_motifs, n_motifs, n_background_motifs, gc
        The simulator's settings (its defaults here).
    """

    def __init__(self, enhancer_motifs=DEFAULT_ENHANCER_MOTIFS, background_motifs=DEFAULT_BACKGROUND_MOTIFS,
                 n_motifs: tuple[int, int] = (2, 4), n_background_motifs: tuple[int, int] = (0, 3),
                 gc: float = 0.41) -> None:
        database = MotifDatabase.default()
        self.enhancers = database.get_many(list(enhancer_motifs))
        self.backgrounds = database.get_many(list(background_motifs))
        self.n_motifs = n_motifs
        self.n_background_motifs = n_background_motifs
        self.background = np.array([(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2])

    def __call__(self, X: np.ndarray, batch_size: int = 2000) -> np.ndarray:
        """Logits ``(N,)`` of one-hot sequences ``(N, 4, L)``: log P(X | positive) / P(X | negative)."""
        X = np.asarray(X, dtype=np.float64)
        return np.concatenate([self._logits(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])

    def _logits(self, X: np.ndarray) -> np.ndarray:
        positive = self._class_ratio(self._site_ratios(X, self.enhancers), self.n_motifs)
        negative = self._class_ratio(self._site_ratios(X, self.backgrounds), self.n_background_motifs)
        return np.log(positive) - np.log(negative)

    def _site_ratios(self, X: np.ndarray, motifs: list[Motif]) -> np.ndarray:
        """``a_p``: P(a site of a random motif and strand starts at p, with these bases) over background."""
        n, _, length = X.shape
        ratios = np.zeros((n, length))
        for motif in motifs:
            starts = length - motif.width + 1
            with np.errstate(divide="ignore"):
                log_ratio = np.log(motif.pwm / self.background[:, None])  # (4, w); -inf for impossible bases
            windows = sliding_window_view(X, motif.width, axis=2)  # (N, 4, starts, w)
            for matrix in (log_ratio, log_ratio[::-1, ::-1]):  # plus strand, reverse complement
                finite = np.where(np.isfinite(matrix), matrix, -1e9)
                ratios[:, :starts] += np.exp(np.einsum("nbpw,bw->np", windows, finite)) / (
                    2 * len(motifs) * starts)
        return ratios

    @staticmethod
    def _class_ratio(ratios: np.ndarray, counts: tuple[int, int]) -> np.ndarray:
        """Average over the class's instance counts k of ``k! e_k(a)`` (instances at distinct starts)."""
        low, high = counts
        symmetric = [np.ones(len(ratios))] + [np.zeros(len(ratios)) for _ in range(high)]
        for column in ratios.T:
            for k in range(high, 0, -1):
                symmetric[k] = symmetric[k] + symmetric[k - 1] * column
        return sum(math.factorial(k) * symmetric[k] for k in range(low, high + 1)) / (high - low + 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    data = simulate_enhancers(args.n, 249, random_state=args.seed)
    logits = SimulationOracle()(seqsal.one_hot(data.sequences))
    labels = data.labels
    log_loss = float(np.mean(np.logaddexp(0, logits) - labels * logits))
    print(f"oracle on {args.n} sequences (seed {args.seed}): AUROC {roc_auc_score(labels, logits):.4f}, "
          f"log-loss {log_loss:.4f}")
    bins = pd.cut(logits, [-np.inf, -6, -3, -1, 1, 3, 6, np.inf])
    table = pd.DataFrame({"logit": bins, "observed": labels, "predicted": 1 / (1 + np.exp(-logits))})
    print(table.groupby("logit", observed=True).agg(n=("observed", "size"), observed=("observed", "mean"),
                                                    predicted=("predicted", "mean")).to_markdown(floatfmt=".3f"))


if __name__ == "__main__":
    main()
