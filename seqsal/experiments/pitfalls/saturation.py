"""Pitfall ``saturation``: explaining the probability instead of the logit.

By the chain rule ``∂σ(z)/∂x = σ'(z) ∂z/∂x``, so every probability
attribution is the logit attribution times ``σ'(z) = σ(z)(1 − σ(z))``, a
single number per sequence.  For a confident prediction that number is tiny
(``z = 7`` gives 9e-4): the map keeps its shape but shrinks towards zero, and
maps of sequences with different confidence are no longer comparable.  The
ratio of the two maps' norms *is* ``σ'(z)``, which :func:`saturation` reports
so the identity can be checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from scipy.special import expit
from torch import nn

from seqsal.attribution import attribute
from seqsal.attribution.base import resolve_target
from seqsal.errors import check
from seqsal.experiments.pitfalls.table import TABLE_COLUMNS
from seqsal.models import predict
from seqsal.plot import figure_width, plot_logo

def sigmoid_derivative(logit: float) -> float:
    """``σ'(z) = σ(z) σ(−z)``, written so that large ``|z|`` loses no precision to ``1 − σ(z)``."""
    return float(expit(logit) * expit(-logit))


@dataclass
class SaturationResult:
    """One sequence explained against its logit and against its probability.

    Attributes
    ----------
    record_id
        The explained sequence.
    onehot
        ``(4, L)`` its encoding.
    logit, probability
        The model's output and its sigmoid.
    logit_map, probability_map
        ``(4, L)`` projected grad × input of the logit and of the probability.
    correct
        Whether the Majdandzic gradient correction was applied (it is linear,
        so the identity below holds either way).
    """

    record_id: str
    onehot: np.ndarray
    logit: float
    probability: float
    logit_map: np.ndarray
    probability_map: np.ndarray
    correct: bool = False

    @property
    def sigmoid_derivative(self) -> float:
        """``σ'(logit)``: the factor by which the chain rule scales every probability attribution."""
        return sigmoid_derivative(self.logit)

    def norms(self, order: int) -> tuple[float, float]:
        """L1 (``order=1``) or L2 norm of the logit map and of the probability map."""
        return (float(np.linalg.norm(self.logit_map.ravel().astype(np.float64), order)),
                float(np.linalg.norm(self.probability_map.ravel().astype(np.float64), order)))

    def ratio(self, order: int) -> float:
        """Probability-map norm over logit-map norm; equals :attr:`sigmoid_derivative` by the chain rule."""
        logit_norm, probability_norm = self.norms(order)
        return probability_norm / logit_norm if logit_norm > 0 else float("nan")

    def headline(self) -> str:
        """One line: the sequence, its confidence, and the identity ratio = σ'(logit)."""
        return (f"{self.record_id} logit {self.logit:.2f}, probability {self.probability:.4f}; probability/logit "
                f"map L1 ratio {self.ratio(1):.3g} vs σ'(logit) {self.sigmoid_derivative:.3g} (relative difference "
                f"{abs(self.ratio(1) / self.sigmoid_derivative - 1):.1e})")

    def table(self) -> pd.DataFrame:
        """Rows ``metric, condition, value``; ``ratio_*_relative_error`` is ``|ratio − σ'| / σ'`` (float32 rounding)."""
        rows = [("logit", "prediction", self.logit), ("probability", "prediction", self.probability),
                ("sigmoid_derivative", "prediction", self.sigmoid_derivative)]
        for order, name in ((1, "l1"), (2, "l2")):
            logit_norm, probability_norm = self.norms(order)
            rows += [(f"attribution_{name}", "logit", logit_norm),
                     (f"attribution_{name}", "probability", probability_norm),
                     (f"ratio_{name}", "probability/logit", self.ratio(order)),
                     (f"ratio_{name}_relative_error", "vs sigmoid_derivative",
                      abs(self.ratio(order) - self.sigmoid_derivative) / self.sigmoid_derivative)]
        return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def saturation(
    model: nn.Module,
    X: np.ndarray,
    ids: Sequence[str] | None = None,
    *,
    record_id: str | None = None,
    target: int | str = 0,
    correct: bool = False,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> SaturationResult:
    """Explain the most confident sequence against its logit and against its probability.

    The explained sequence is the one with the highest logit (the most
    confident positive), unless ``record_id`` names another.  Both maps come
    from :func:`seqsal.attribution.attribute` with ``output="logit"`` and
    ``output="probability"``; nothing is rescaled here, so the ratio of their
    norms is what a user would see.

    Parameters
    ----------
    model
        A classification model, ``(N, 4, L)`` to logits.
    X
        One-hot sequences ``(N, 4, L)``.
    ids
        Record ids, one per sequence (default ``seq0, seq1, ...``).
    record_id
        Explain this record instead of the most confident one.
    target
        Output to explain, by index or name.
    correct
        Apply the gradient correction to both maps.
    batch_size, device
        As for :func:`seqsal.attribution.attribute`.
    """
    ids = list(ids) if ids is not None else [f"seq{i}" for i in range(len(X))]
    check(len(ids) == len(X), f"got {len(ids)} ids for {len(X)} sequences; give one id per sequence")
    column = resolve_target(model, target)
    logits = predict(model, X, batch_size=batch_size, device=device)[:, column]
    if record_id is None:
        index = int(np.argmax(logits))
    else:
        check(record_id in ids, f"record {record_id!r} is not in the input; pick one of its ids")
        index = ids.index(record_id)
    x = X[index : index + 1]
    maps = {output: attribute(model, x, "grad_x_input", column, output=output, correct=correct,
                              batch_size=batch_size, device=device)[0] for output in ("logit", "probability")}
    logit = float(logits[index])
    return SaturationResult(record_id=ids[index], onehot=np.asarray(x[0]), logit=logit, probability=float(expit(logit)),
                            logit_map=maps["logit"], probability_map=maps["probability"], correct=correct)


def plot_saturation(result: SaturationResult, *, ax: Sequence[Axes] | None = None) -> list[Axes]:
    """Two stacked logos, logit map above probability map, each on its own labelled y scale.

    Separate scales are the point: on a shared one the probability map would
    be a flat line.  The titles give the numbers that connect the two.

    Parameters
    ----------
    result
        From :func:`saturation`.
    ax
        Two axes (logit panel, probability panel); a new figure when omitted.
    """
    if ax is None:
        length = result.onehot.shape[1]
        _, ax = plt.subplots(2, 1, figsize=(figure_width(length, minimum=9), 5.6), layout="constrained")
    axes = list(ax)
    check(len(axes) == 2, f"plot_saturation draws two panels; got {len(axes)} axes")
    l1_logit, l1_probability = result.norms(1)
    label = "corrected grad×input" if result.correct else "grad×input"
    plot_logo(result.logit_map, ax=axes[0], ylabel=f"{label}\nof the logit",
              title=f"{result.record_id}: explaining the logit z = {result.logit:.2f} (L1 norm {l1_logit:.3g})")
    plot_logo(result.probability_map, ax=axes[1], ylabel=f"{label}\nof the probability",
              title=f"explaining the probability σ(z) = {result.probability:.4f} (L1 norm {l1_probability:.3g}): "
                    f"the same map × σ'(z) = {result.sigmoid_derivative:.3g}")
    axes[0].set_xlabel("")
    return axes

