"""Statistics shared by the checks: vectorised Fisher tests, odds and rate ratios, FDR, signed-rank tests."""

from __future__ import annotations

import numpy as np
from scipy import stats


def fisher_two_sided(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Vectorised two-sided Fisher exact p values for ``a`` of ``n_a`` against ``b`` of ``n_b``.

    Given the margins, ``a`` is hypergeometric; the two-sided p value is
    twice the smaller tail, capped at 1 (the doubling convention), which is
    what makes tens of thousands of k-mer tests one array operation.  Tables
    repeat (many rare k-mers share their counts), so each distinct one is
    computed once.
    """
    tables, inverse = np.unique(np.column_stack([np.ravel(a), np.ravel(b)]).astype(np.int64), axis=0,
                                return_inverse=True)
    first, total = tables[:, 0], tables.sum(axis=1)
    upper = stats.hypergeom.sf(first - 1, n_a + n_b, n_a, total)
    lower = stats.hypergeom.cdf(first, n_a + n_b, n_a, total)
    return np.minimum(1.0, 2 * np.minimum(upper, lower))[inverse.ravel()].reshape(np.shape(a))


def log2_odds_ratio(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """log2 odds ratio of ``a / n_a`` against ``b / n_b`` with 0.5 added to each cell (Haldane-Anscombe).

    The pseudo-count keeps k-mers absent from one class finite and shrinks
    ratios built on a handful of sequences toward zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.log2((a + 0.5) * (n_b - b + 0.5) / ((b + 0.5) * (n_a - a + 0.5)))


def rate_ratio(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Ratio of the rates ``a / n_a`` and ``b / n_b``, each smoothed by half a count."""
    return ((np.asarray(a) + 0.5) / (n_a + 1)) / ((np.asarray(b) + 0.5) / (n_b + 1))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q values (SciPy's ``false_discovery_control``); empty input gives empty output."""
    p_values = np.asarray(p_values, dtype=np.float64)
    return stats.false_discovery_control(p_values) if p_values.size else p_values


def wilcoxon(differences: np.ndarray, alternative: str) -> float:
    """Wilcoxon signed-rank p value, 1 when every difference is zero (nothing to test)."""
    differences = np.asarray(differences, dtype=float)
    if not len(differences) or np.allclose(differences, 0):
        return 1.0
    return float(stats.wilcoxon(differences, alternative=alternative).pvalue)


def separation_p(n_pos: int, n_neg: int, test: str) -> float:
    """The smallest p value ``test`` can give with these class sizes: a complete separation of the classes.

    ``"fisher"``: a feature in every record of one class and none of the
    other (doubled two-sided Fisher); ``"ks"``: every value of one class
    below every value of the other (two-sided Kolmogorov-Smirnov); ``"rank"``:
    the same for the one-sided Mann-Whitney test of the baselines.  No data
    can do better, so a check whose separation p cannot pass its threshold
    has too few records to tell anything.
    """
    if min(n_pos, n_neg) < 1:
        return 1.0
    if test == "fisher":
        return float(fisher_two_sided(np.array([n_pos, 0]), np.array([0, n_neg]), n_pos, n_neg).min())
    low, high = np.arange(n_neg, dtype=float), n_neg + np.arange(n_pos, dtype=float)
    if test == "ks":
        return float(stats.ks_2samp(high, low).pvalue)
    return float(stats.mannwhitneyu(high, low, alternative="greater").pvalue)


def minimum_class_size(test: str, tests: int, fdr: float, limit: int = 200) -> int | None:
    """Smallest size of two equal classes at which one complete separation survives ``tests`` tests at ``fdr``.

    A single separating feature among ``tests`` gets the Benjamini-Hochberg
    q value ``p * tests``; below this size no finding of the check can be
    flagged, whatever the data.  ``None`` when even ``limit`` is not enough.
    """
    for n in range(2, limit + 1):
        if separation_p(n, n, test) * max(tests, 1) < fdr:
            return n
    return None
