"""Pitfall ``constant-flanks``: attribution on positions that never vary in the training data.

An MPRA library puts the same adapters on every element (lentiMPRA: 15 bp on
each side of 200 bp).  In training the model never saw another base there,
so the data cannot identify any effect of those positions: the model's
output is free to depend on them in any way at all, and whatever the maps say
about them is an artefact.  Gradients there follow weights that were never
constrained by a contrast between bases (only by how the adapter's constant
signal mixes with its neighbours); ISM there asks the model about sequences
it has never seen, so it measures extrapolation.  :func:`constant_flanks`
measures how much of each method's |attribution| falls on those positions,
next to the share they would get if attribution were spread evenly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.errors import check
from seqsal.experiments.pitfalls.table import TABLE_COLUMNS

#: Methods compared, with the labels of the figure: corrected grad × input, raw saliency, ISM.
FLANK_METHODS = {"grad_x_input": "corrected grad × input", "saliency": "saliency", "ism": "ISM"}


def constant_positions(X: np.ndarray) -> np.ndarray:
    """``(L,)`` True where every sequence of ``X`` has the same base (an ``N`` anywhere makes a position vary)."""
    X = np.asarray(X)
    return (X == X[:1]).all(axis=(0, 1)) & (X[0].sum(axis=0) == 1)


@dataclass
class ConstantFlanksResult:
    """Per-position mean |attribution| of each method and the constant positions.

    Attributes
    ----------
    constant
        ``(L,)`` positions identical in every given sequence.
    profiles
        Method -> ``(L,)`` mean over sequences of |per-position attribution|.
    n_sequences
        How many sequences were explained.
    """

    constant: np.ndarray
    profiles: dict[str, np.ndarray]
    n_sequences: int

    @property
    def position_share(self) -> float:
        """Share of positions that are constant: what an evenly spread map would put on them."""
        return float(self.constant.mean())

    def share(self, method: str) -> float:
        """Share of ``method``'s total |attribution| on the constant positions."""
        profile = self.profiles[method]
        return float(profile[self.constant].sum() / profile.sum()) if profile.sum() > 0 else float("nan")

    def headline(self) -> str:
        """One line: each method's share on the constant positions against their share of positions."""
        shares = ", ".join(f"{FLANK_METHODS[m]} {self.share(m):.1%}" for m in self.profiles)
        return (f"{int(self.constant.sum())} constant positions ({self.position_share:.1%} of the sequence) carry "
                f"{shares} of |attribution| over {self.n_sequences} sequences")

    def table(self) -> pd.DataFrame:
        """Rows ``metric, condition, value``: shares on constant positions, and mean |attribution| inside/outside."""
        rows = [("constant_positions", "count", float(self.constant.sum())),
                ("position_share", "constant", self.position_share)]
        for method, profile in self.profiles.items():
            rows += [("attribution_share", method, self.share(method)),
                     ("mean_abs_attribution_constant", method, float(profile[self.constant].mean())),
                     ("mean_abs_attribution_varying", method, float(profile[~self.constant].mean()))]
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def constant_flanks(
    model: nn.Module,
    X: np.ndarray,
    *,
    methods: Sequence[str] = tuple(FLANK_METHODS),
    target: int | str = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> ConstantFlanksResult:
    """Mean |attribution| per position of each method, and which positions are the same in every sequence.

    The sequences should be the model's own kind (for the lentiMPRA model of ``make model-wtc11``,
    lentiMPRA elements with their adapters): the positions constant
    among them are the ones constant in training.  grad × input is
    corrected (Majdandzic et al. 2023), saliency is the raw gradient
    magnitude at the observed base, ISM is the exact single-mutation effect.

    Raises
    ------
    SeqsalError
        Fewer than two sequences, or no position constant across them.
    """
    check(len(X) >= 2, "constant positions need at least two sequences")
    constant = constant_positions(X)
    check(constant.any(), "no position is the same in every sequence; this pitfall needs library flanks")
    for method in methods:
        check(method in FLANK_METHODS, f"method {method!r} is not compared here; use {', '.join(FLANK_METHODS)}")
    profiles = {method: np.abs(per_position(attribute(model, X, method, target, correct=method != "saliency",
                                                      batch_size=batch_size, device=device))).mean(axis=0)
                for method in methods}
    return ConstantFlanksResult(constant=constant, profiles=profiles, n_sequences=len(X))


def plot_constant_flanks(result: ConstantFlanksResult, *, ax: Sequence[Axes] | None = None) -> list[Axes]:
    """One panel per method: mean |attribution| along the sequence, constant positions shaded, shares in titles.

    Each panel has its own y scale (the methods' units differ); the shaded
    bands are the positions the training data never varied.
    """
    methods = list(result.profiles)
    if ax is None:
        _, ax = plt.subplots(len(methods), 1, figsize=(9, 1.9 * len(methods) + 0.4), sharex=True,
                             layout="constrained")
    axes = list(np.atleast_1d(ax))
    check(len(axes) == len(methods), f"plot_constant_flanks draws {len(methods)} panels; got {len(axes)} axes")
    positions = np.arange(1, len(result.constant) + 1)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], result.constant.astype(int), [0]])))
    for axis, method in zip(axes, methods):
        for start, end in zip(edges[::2], edges[1::2]):
            axis.axvspan(start + 0.5, end + 0.5, color="#f4a582", alpha=0.5, linewidth=0)
        axis.plot(positions, result.profiles[method], color="black", linewidth=1)
        axis.set_ylabel(f"mean |{FLANK_METHODS[method]}|", fontsize=8)
        axis.set_title(f"{FLANK_METHODS[method]}: {result.share(method):.1%} of |attribution| on the constant "
                       f"positions ({result.position_share:.1%} of positions)", fontsize=9, loc="left")
        axis.set_ylim(bottom=0)
        axis.margins(x=0)
    axes[-1].set_xlabel(f"position (shaded: identical in all {result.n_sequences} sequences)")
    return axes
