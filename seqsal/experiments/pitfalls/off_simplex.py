"""Pitfall ``off-simplex``: the gradient component that no real sequence change can follow.

One-hot inputs live on a simplex: at every position the four channels sum to
one, so only gradient components *within* the plane orthogonal to
``(1, 1, 1, 1)`` describe a change to another real sequence.  The component
along ``(1, 1, 1, 1)`` is off-simplex noise (Majdandzic et al., Genome
Biology 2023).  :func:`simplex_angle` measures, per position, the angle
between the gradient and that plane; the correction ``g − mean(g)`` makes it
zero.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from scipy.optimize import brentq
from torch import nn

from seqsal.attribution import attribute, correct_gradient
from seqsal.errors import check
from seqsal.experiments.pitfalls.table import TABLE_COLUMNS

ANGLE_THRESHOLDS = (10.0, 30.0, 45.0)
"""Angles (degrees) at which the table reports the share of positions above."""

def simplex_angle(gradient: np.ndarray) -> np.ndarray:
    """Angle in degrees between each position's gradient and the plane of the one-hot simplex.

    At a position, valid inputs satisfy ``x_A + x_C + x_G + x_T = 1``: a plane
    with normal ``n = (1, 1, 1, 1)``, ``|n| = 2``.  The angle θ between a
    4-vector ``g`` and that plane satisfies ``sin θ = |g · n| / (|n| |g|) =
    |Σ g| / (2 |g|)``: 0° when the gradient lies in the plane (it only trades
    one base for another), 90° when it points straight off it (all four bases
    at once, a change no real sequence can make).

    Parameters
    ----------
    gradient
        ``(..., 4, L)`` hypothetical gradients (all four rows).

    Returns
    -------
    numpy.ndarray
        ``(..., L)`` float64 angles in [0, 90]; ``nan`` where the gradient is
        exactly zero and has no direction.
    """
    g = np.asarray(gradient, dtype=np.float64)
    check(g.ndim >= 2 and g.shape[-2] == 4, f"gradient must have shape (..., 4, L), got {g.shape}")
    norm = np.linalg.norm(g, axis=-2)
    along_normal = np.abs(g.sum(axis=-2)) / 2.0
    sine = np.divide(along_normal, norm, out=np.full(norm.shape, np.nan), where=norm > 0)
    return np.degrees(np.arcsin(np.clip(sine, 0.0, 1.0)))


def isotropic_angle_cdf(degrees: np.ndarray | float) -> np.ndarray:
    """Share of angles below ``degrees`` for gradients pointing in uniformly random 4-D directions.

    The reference for "how off-simplex is this": for a direction ``u``
    uniform on the 3-sphere, ``sin θ = |u · n̂|`` and the density of θ on
    [0°, 90°] is ``(4/π) cos² θ``, so ``P(θ ≤ t) = (2t + sin 2t) / π`` (t in
    radians).  Its median is 23.8° and 39 % of such angles exceed 30°.
    """
    t = np.radians(np.clip(np.asarray(degrees, dtype=np.float64), 0.0, 90.0))
    return (2 * t + np.sin(2 * t)) / np.pi


ISOTROPIC_MEDIAN_DEG = float(np.degrees(brentq(lambda t: 2 * t + np.sin(2 * t) - np.pi / 2, 0.0, np.pi / 2)))
"""Median of :func:`isotropic_angle_cdf` (23.83°): the root of ``2t + sin 2t = π/2``."""


@dataclass
class OffSimplexResult:
    """Per-position angles to the simplex, before and after the gradient correction.

    Attributes
    ----------
    uncorrected, corrected
        ``(N, L)`` angles in degrees (:func:`simplex_angle`) of the raw input
        gradient and of ``g − mean(g)``.
    ids
        The sequences' ids.
    """

    uncorrected: np.ndarray
    corrected: np.ndarray
    ids: list[str] = field(default_factory=list)

    def summary(self, condition: str) -> dict[str, float]:
        """Distribution of one condition's angles over all positions with a non-zero gradient."""
        angles = getattr(self, condition)
        finite = angles[np.isfinite(angles)]
        check(finite.size > 0, "every gradient is exactly zero; the model does not depend on its input")
        stats = {
            "n_positions": float(angles.size),
            "n_zero_gradient": float(angles.size - finite.size),
            "median_deg": float(np.median(finite)),
            "mean_deg": float(finite.mean()),
            "p90_deg": float(np.percentile(finite, 90)),
            "max_deg": float(finite.max()),
        }
        for threshold in ANGLE_THRESHOLDS:
            stats[f"share_above_{threshold:g}deg"] = float((finite > threshold).mean())
        return stats

    def headline(self) -> str:
        """One line: the raw angles against the random-direction reference, and the corrected maximum."""
        before = self.summary("uncorrected")
        return (f"over {int(before['n_positions'])} positions the raw gradient's median angle to the simplex is "
                f"{before['median_deg']:.1f}° ({100 * before['share_above_30deg']:.0f}% above 30°; random "
                f"directions: {ISOTROPIC_MEDIAN_DEG:.1f}°, {100 * (1 - float(isotropic_angle_cdf(30.0))):.0f}%); "
                f"after correction at most {self.summary('corrected')['max_deg']:.2g}°")

    def table(self) -> pd.DataFrame:
        """Rows ``metric, condition, value`` for ``uncorrected``, ``corrected`` and ``isotropic_reference``.

        The reference rows are what gradients in random directions would give
        (:func:`isotropic_angle_cdf`), to judge the raw numbers against.
        """
        rows = [(metric, condition, value) for condition in ("uncorrected", "corrected")
                for metric, value in self.summary(condition).items()]
        rows.append(("median_deg", "isotropic_reference", ISOTROPIC_MEDIAN_DEG))
        rows += [(f"share_above_{threshold:g}deg", "isotropic_reference", float(1 - isotropic_angle_cdf(threshold)))
                 for threshold in ANGLE_THRESHOLDS]
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def off_simplex(
    model: nn.Module,
    X: np.ndarray,
    ids: Sequence[str] | None = None,
    *,
    target: int | str = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> OffSimplexResult:
    """Angles between every position's input gradient and the simplex plane, raw and corrected.

    The gradient of the target logit is taken with
    :func:`seqsal.attribution.attribute` (``method="gradient"``,
    hypothetical), then corrected in float64 with
    :func:`seqsal.attribution.correct_gradient`, so the corrected angles are
    zero to float64 rounding.
    """
    gradient = attribute(model, X, "gradient", target, hypothetical=True, batch_size=batch_size, device=device)
    gradient = gradient.astype(np.float64)
    return OffSimplexResult(uncorrected=simplex_angle(gradient), corrected=simplex_angle(correct_gradient(gradient)),
                            ids=list(ids) if ids is not None else [])


def plot_off_simplex(result: OffSimplexResult, *, ax: Axes | None = None) -> Axes:
    """Histogram of the angles before correction; the corrected angles, all 0°, as a line at 0.

    The corrected distribution is a single spike, so it is drawn as a line
    rather than a bar that would dwarf the raw histogram.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7.5, 4.2), layout="constrained")
    bins = np.arange(0.0, 92.0, 2.0)
    before, after = result.summary("uncorrected"), result.summary("corrected")
    raw = result.uncorrected[np.isfinite(result.uncorrected)]
    ax.hist(raw, bins=bins, weights=np.full(raw.size, 100.0 / raw.size), color="#b2182b", alpha=0.8,
            label=f"raw gradient: {100 * before['share_above_30deg']:.0f}% of positions above 30°")
    ax.axvline(before["median_deg"], color="black", linestyle="--", linewidth=1,
               label=f"raw median {before['median_deg']:.1f}°")
    reference = 100 * np.diff(isotropic_angle_cdf(bins))
    ax.stairs(reference, bins, color="#555555", linewidth=1.5,
              label=f"random directions (reference): median {ISOTROPIC_MEDIAN_DEG:.1f}°, "
                    f"{100 * (1 - isotropic_angle_cdf(30.0)):.0f}% above 30°")
    ax.axvline(0.0, color="#2166ac", linewidth=4,
               label=f"corrected g − mean(g): every position at 0° (max {after['max_deg']:.2g}°)")
    ax.set(xlim=(0, 90), xticks=np.arange(0, 91, 15), xlabel="angle between gradient and simplex plane (degrees)",
           ylabel="% of positions per 2° bin", title=f"off-simplex gradients: {int(before['n_positions'])} "
                                                    f"positions of {len(result.uncorrected)} sequences")
    ax.legend(frameon=False, fontsize=9)
    return ax

