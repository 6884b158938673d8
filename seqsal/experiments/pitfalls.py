"""Where gradient explanations mislead: four small, reproducible demonstrations.

Each pitfall is a library function that returns numbers (a result object
whose :meth:`table` is a ``metric, condition, value`` frame) and a plotting
function that draws them; ``seqsal pitfalls <name>`` writes both with a
manifest.  The four:

``saturation``
    Explaining the *probability* instead of the logit.  By the chain rule
    ``∂σ(z)/∂x = σ'(z) ∂z/∂x``, so every probability attribution is the logit
    attribution times ``σ'(z) = σ(z)(1 − σ(z))``, a single number per
    sequence.  For a confident prediction that number is tiny (``z = 7``
    gives 9e-4): the map keeps its shape but shrinks towards zero, and maps
    of sequences with different confidence are no longer comparable.  The
    ratio of the two maps' norms *is* ``σ'(z)``, which :func:`saturation`
    reports so the identity can be checked.
``activations``
    The same simulated data fitted by three CNNs that differ only in the
    first-layer activation (ReLU, leaky ReLU, exponential), scored by
    plausibility against the planted motifs and by how much attribution
    lands outside them (:func:`background_share`).  Koo & Ploenzke (Nature
    Machine Intelligence 2021) report that the exponential activation gives
    cleaner maps.
``off-simplex``
    One-hot inputs live on a simplex: at every position the four channels sum
    to one, so only gradient components *within* the plane orthogonal to
    ``(1, 1, 1, 1)`` describe a change to another real sequence.  The
    component along ``(1, 1, 1, 1)`` is off-simplex noise (Majdandzic et al.,
    Genome Biology 2023).  :func:`simplex_angle` measures, per position, the
    angle between the gradient and that plane; the correction
    ``g − mean(g)`` makes it zero.
``fully-connected``
    A fully connected network (:class:`FullyConnected`) next to a CNN on the
    same data.  Without weight sharing a dense layer must learn every motif
    at every offset separately, so on a few thousand sequences it barely
    generalises and its maps do not point at the motifs.

Training uses :func:`seqsal.train.fit` for every model, with one seed for the
simulation, the initial weights and the batch order, so two runs with the
same arguments give the same numbers (on the CPU).
"""

from __future__ import annotations

import importlib.resources
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from scipy.optimize import brentq
from scipy.special import expit
from torch import nn

from seqsal import io
from seqsal.attribution import attribute, correct_gradient, per_position
from seqsal.attribution.base import resolve_target
from seqsal.datasets import encode_records
from seqsal.encoding import one_hot
from seqsal.errors import check
from seqsal.evaluate.metrics import plausibility
from seqsal.models import EnhancerCNN, ModelConfig, default_model_path, load_model, predict
from seqsal.plot import plot_logo, save_figure
from seqsal.experiments.shortcut import adapter_share
from seqsal.simulate import SyntheticSet, simulate_enhancers
from seqsal.train import evaluate_predictions, fit

PITFALLS = ("saturation", "activations", "off-simplex", "fully-connected")
TABLE_COLUMNS = ["metric", "condition", "value"]
ACTIVATIONS = ("relu", "leaky_relu", "exp")

DEFAULT_N = 10000
DEFAULT_LENGTH = 150
DEFAULT_EPOCHS = 12
PATIENCE = 3
LEARNING_RATE = 3e-3
"""Training defaults of the two training experiments.

Measured on two shared CPU cores with seed 0: 10,000 sequences of 150 bp train
each small CNN in 10-35 s.  The learning rate 3e-3 (three times the
:func:`seqsal.train.fit` default) reached test AUROC 0.97 with the
exponential activation where 1e-3 reached 0.93 in the same epochs; the ReLU
model stayed near 0.88 with either rate.
"""

DEFAULT_HIDDEN_UNITS = (128, 64)
DEFAULT_FC_DROPOUT = 0.2
ANGLE_THRESHOLDS = (10.0, 30.0, 45.0)


def default_fasta() -> Path:
    """The synthetic demo test set shipped with seqsal (30 sequences of 249 bp, the bundled model's length)."""
    path = Path(str(importlib.resources.files("seqsal.data") / "synthetic_demo" / "test.fa"))
    check(path.is_file(), f"the demo FASTA {path} is missing from this installation; pass --fasta")
    return path


def load_sequences(fasta: str | PathLike[str], length: int, fit_length: bool = False) -> tuple[np.ndarray, list[str]]:
    """One-hot ``(N, 4, length)`` sequences and ids of a FASTA; other lengths are refused unless ``fit_length``."""
    records = io.read_fasta(fasta)
    X, _ = encode_records(records, length, fit_length)
    return X, [record.id for record in records]


# --------------------------------------------------------------------------- #
# Saturation
# --------------------------------------------------------------------------- #


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
        _, ax = plt.subplots(2, 1, figsize=(float(np.clip(length / 12, 9, 22)), 5.6), layout="constrained")
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


# --------------------------------------------------------------------------- #
# Off-simplex gradients
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Training comparisons: shared by activations and fully-connected
# --------------------------------------------------------------------------- #


@dataclass
class SimulatedData:
    """A simulated enhancer set (:func:`seqsal.simulate.simulate_enhancers`) and its encoding."""

    dataset: SyntheticSet
    X: np.ndarray

    def split(self, name: str) -> np.ndarray:
        """``(N,)`` bool: the sequences of split ``name``."""
        return self.dataset.splits == name

    @property
    def test_positives(self) -> np.ndarray:
        """Indices of the test positives, in order: the sequences whose maps are scored."""
        return np.flatnonzero(self.split("test") & (self.dataset.labels == 1))


def simulate_data(n: int, length: int, seed: int) -> SimulatedData:
    """Simulate ``n`` sequences of ``length`` bp with the default enhancer motifs, seeded."""
    check(n >= 100, f"n must be at least 100 sequences so every split holds both classes, got {n}")
    dataset = simulate_enhancers(n, length, random_state=seed)
    return SimulatedData(dataset=dataset, X=one_hot(dataset.sequences, ids=dataset.ids))


def small_cnn_config(length: int, activation: str = "relu") -> ModelConfig:
    """A small DeepSTARR-style CNN: two convolution blocks, global average pooling, one dense layer.

    The first kernel (19 bp) covers a whole motif, as in Koo & Ploenzke's
    models, so the first-layer activation decides how motif detectors
    respond; the global-average-pooling head matches motifs planted at random
    positions and trains in seconds on two CPU cores.
    """
    return ModelConfig(input_length=length, conv_channels=(32, 32), kernel_sizes=(19, 5), dense_units=(64,),
                       activation=activation, head="gap", dropout=0.2, pool_size=4)


@dataclass(frozen=True)
class DenseConfig:
    """The architecture of a :class:`FullyConnected` model, with the fields training reads."""

    input_length: int
    n_outputs: int = 1
    dense_units: tuple[int, ...] = DEFAULT_HIDDEN_UNITS
    dropout: float = DEFAULT_FC_DROPOUT
    output_names: tuple[str, ...] = ("output_0",)
    task: str = "classification"


class FullyConnected(nn.Module):
    """A fully connected baseline: flattened one-hot ``(N, 4L)`` → dense layers → logits ``(N, T)``.

    Each hidden layer is ``Linear → BatchNorm1d → ReLU → Dropout``, the dense
    head of :class:`~seqsal.models.EnhancerCNN`, so the two models differ only
    in how they see the sequence: every input weight belongs to one base at
    one position, with nothing shared between positions.  With no hidden
    layers it is logistic regression on the one-hot encoding.

    ``self.config`` is a :class:`DenseConfig`: the fields
    :func:`seqsal.train.fit` and attribution read, describing this model.

    Parameters
    ----------
    input_length
        Sequence length ``L``.
    hidden_units
        Width of each hidden layer; may be empty.
    dropout
        Dropout after each hidden layer.
    n_outputs
        Number of logits ``T``.
    """

    def __init__(self, input_length: int, hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
                 dropout: float = DEFAULT_FC_DROPOUT, n_outputs: int = 1) -> None:
        super().__init__()
        names = ModelConfig().output_names if n_outputs == 1 else tuple(f"output_{i}" for i in range(n_outputs))
        self.config = DenseConfig(input_length=input_length, n_outputs=n_outputs, dense_units=tuple(hidden_units),
                                  dropout=dropout, output_names=names)
        layers: list[nn.Module] = []
        features = 4 * input_length
        for units in self.config.dense_units:
            layers += [nn.Linear(features, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout)]
            features = units
        self.dense = nn.Sequential(*layers)
        self.output = nn.Linear(features, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` for one-hot input ``(N, 4, L)``."""
        check(x.ndim == 3 and x.shape[1:] == (4, self.config.input_length),
              f"the fully connected model reads (N, 4, {self.config.input_length}), got {tuple(x.shape)}")
        return self.output(self.dense(x.flatten(1)))


def seeded(build: Callable[[], nn.Module], seed: int) -> nn.Module:
    """Build a model with torch's RNG seeded, without disturbing the caller's RNG state.

    Models of the same architecture built with the same seed start from the
    same weights, so a comparison changes only what it means to change.
    """
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return build()


def background_share(scores: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """The saliency-noise measure: share of absolute attribution that falls *outside* the motif masks.

    ``Σ_{l ∉ mask} |s_l| / Σ_l |s_l|`` per sequence.  A map that only lights
    up planted motifs scores 0; a flat map scores the share of background
    positions (the chance level, about 0.8 for 150-bp sequences with two to
    four motifs); noise spread over the background pushes it towards 1.
    Unlike plausibility AUROC, which only asks whether motif positions rank
    first, it weighs *how much* attribution goes astray.

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores.
    masks
        ``(N, L)`` bool, True on motif positions.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` shares in [0, 1]; ``nan`` for an all-zero map.
    """
    masks = np.asarray(masks, dtype=bool)
    return adapter_share(scores, ~masks)


@dataclass
class ComparisonResult:
    """Several models trained on one simulated set, their scores and example maps.

    Attributes
    ----------
    metrics
        Rows ``metric, condition, value`` (also :meth:`table`); the condition is the model name.
        Metrics: ``test_auroc``, ``plausibility_auroc`` (mean per-sequence AUROC
        of corrected grad × input against the planted-motif masks, test
        positives), ``plausibility_auroc_sd``, ``background_share`` (mean of
        :func:`background_share`) and ``background_share_sd``, ``best_epoch``;
        and ``background_positions`` (condition ``data``), the share of the
        scored positions outside the masks, i.e. a flat map's background share.
    models
        The trained models by name, in eval mode.
    example_ids, onehot
        The example sequences (the first test positives, not hand-picked) and
        their ``(E, 4, L)`` encodings.
    maps
        Model name to ``(E, 4, L)`` projected corrected grad × input.
    logits
        Model name to ``(E,)`` logits of the examples.
    boxes
        Per example, the planted motifs (rows with ``start``, ``end``,
        ``name``, ``strand``) to box on the logos.
    seconds
        Model name to training time.
    """

    metrics: pd.DataFrame
    models: dict[str, nn.Module]
    example_ids: list[str]
    onehot: np.ndarray
    maps: dict[str, np.ndarray]
    logits: dict[str, np.ndarray]
    boxes: list[list[Any]]
    seconds: dict[str, float]

    def table(self) -> pd.DataFrame:
        """Rows ``metric, condition, value``, as every pitfall result gives them."""
        return self.metrics.copy()

    def headline(self) -> str:
        """One line: each model's test AUROC, plausibility AUROC and background share."""
        return "; ".join(
            f"{name} test AUROC {self.value('test_auroc', name):.3f}, plausibility AUROC "
            f"{self.value('plausibility_auroc', name):.3f}, background share "
            f"{self.value('background_share', name):.3f}" for name in self.models
        ) + f" (flat map: {self.value('background_positions', 'data'):.3f})"

    def value(self, metric: str, condition: str) -> float:
        """One number of :attr:`metrics`."""
        rows = self.metrics[(self.metrics["metric"] == metric) & (self.metrics["condition"] == condition)]
        check(len(rows) == 1, f"no single {metric!r} value for {condition!r} in the table")
        return float(rows["value"].iloc[0])


def compare_models(
    models: Mapping[str, nn.Module],
    data: SimulatedData,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    lr: float = LEARNING_RATE,
    patience: int = PATIENCE,
    n_examples: int = 1,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ComparisonResult:
    """Train each model on the same data with the same seed, then score its explanations.

    Every model goes through :func:`seqsal.train.fit` on the train split with
    early stopping on the valid split.  Its test AUROC measures the
    classifier; on the test positives, corrected grad × input (the
    recommended gradient map, Majdandzic et al. 2023) is scored with
    :func:`seqsal.evaluate.metrics.plausibility` against the planted-motif masks and
    with :func:`background_share`.

    Parameters
    ----------
    models
        Name to untrained model; trained in place.
    data
        From :func:`simulate_data`.
    epochs, patience, lr
        Training limits and Adam learning rate.
    seed
        Batch order and dropout of every fit.
    n_examples
        Test positives whose maps are kept for the figure.
    batch_size, device
        Attribution batch size and where to train and attribute.
    progress
        One line per model on stderr.
    """
    check(models, "no models to compare")
    check(n_examples >= 1, f"n_examples must be at least 1, got {n_examples}")
    dataset = data.dataset
    train, valid, test = data.split("train"), data.split("valid"), data.split("test")
    rows = data.test_positives
    check(rows.size > 0, "the test split holds no positive; simulate more sequences")
    masks = dataset.masks[rows]
    examples = rows[:n_examples]
    table: list[tuple[str, str, float]] = []
    trained: dict[str, nn.Module] = {}
    maps: dict[str, np.ndarray] = {}
    logits: dict[str, np.ndarray] = {}
    seconds: dict[str, float] = {}
    for index, (name, model) in enumerate(models.items(), 1):
        if progress:
            print(f"seqsal pitfalls: training {name} ({index}/{len(models)})", file=sys.stderr, flush=True)
        tick = time.time()
        result = fit(model, data.X[train], dataset.labels[train], data.X[valid], dataset.labels[valid], lr=lr,
                     max_epochs=epochs, patience=patience, random_state=seed, device=device, progress=progress)
        seconds[name] = round(time.time() - tick, 1)
        test_logits = predict(model, data.X[test], batch_size=batch_size, device=device)
        projected = attribute(model, data.X[rows], "grad_x_input", correct=True, batch_size=batch_size,
                              device=device)
        scores = per_position(projected)
        plausible = plausibility(scores, masks)
        background = background_share(scores, masks)
        table += [
            ("test_auroc", name, evaluate_predictions(dataset.labels[test], test_logits, "classification")["auroc"]),
            ("plausibility_auroc", name, float(np.nanmean(plausible.auroc))),
            ("plausibility_auroc_sd", name, float(np.nanstd(plausible.auroc, ddof=1))),
            ("background_share", name, float(np.nanmean(background))),
            ("background_share_sd", name, float(np.nanstd(background, ddof=1))),
            ("best_epoch", name, float(result.best_epoch)),
        ]
        trained[name] = model
        maps[name] = projected[: len(examples)]
        logits[name] = predict(model, data.X[examples], batch_size=batch_size, device=device)[:, 0]
    table.append(("background_positions", "data", float((~masks).mean())))
    planted = dataset.planted
    boxes = [list(planted[planted["id"] == dataset.ids[row]].itertuples(index=False)) for row in examples]
    return ComparisonResult(metrics=pd.DataFrame(table, columns=TABLE_COLUMNS), models=trained,
                            example_ids=[dataset.ids[row] for row in examples], onehot=data.X[examples],
                            maps=maps, logits=logits, boxes=boxes, seconds=seconds)


def activations(
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    activation_names: Sequence[str] = ACTIVATIONS,
    lr: float = LEARNING_RATE,
    n_examples: int = 1,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ComparisonResult:
    """Train :func:`small_cnn_config` with each first-layer activation on one simulated set and compare maps.

    The models share the data, the seed, the batch order and, because the
    activation has no weights, the initial weights: the activation is the
    only difference.  See :func:`compare_models` for the scores.
    """
    check(len(activation_names) > 0, "give at least one activation")
    data = simulate_data(n, length, seed)
    models = {name: seeded(lambda name=name: EnhancerCNN(small_cnn_config(length, name)), seed)
              for name in activation_names}
    return compare_models(models, data, epochs=epochs, seed=seed, lr=lr, n_examples=n_examples,
                          batch_size=batch_size, device=device, progress=progress)


def fully_connected(
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
    activation: str = "exp",
    lr: float = LEARNING_RATE,
    n_examples: int = 2,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ComparisonResult:
    """Train a :class:`FullyConnected` model and the small CNN on the same simulated set and compare maps.

    The CNN is :func:`small_cnn_config` with ``activation`` (exponential by
    default, like the bundled model); both are trained by
    :func:`compare_models` with the same seed and settings.  The results are
    named ``cnn_<activation>`` and ``fully_connected``.
    """
    data = simulate_data(n, length, seed)
    models = {
        f"cnn_{activation}": seeded(lambda: EnhancerCNN(small_cnn_config(length, activation)), seed),
        "fully_connected": seeded(lambda: FullyConnected(length, hidden_units), seed),
    }
    return compare_models(models, data, epochs=epochs, seed=seed, lr=lr, n_examples=n_examples,
                          batch_size=batch_size, device=device, progress=progress)


BAR_METRICS = (("test_auroc", "test AUROC\n(classifier)"),
               ("plausibility_auroc", "plausibility AUROC\n(higher = on motifs)"),
               ("background_share", "background share of |attribution|\n(lower = cleaner)"))


def plot_comparison(result: ComparisonResult, *, ax: Sequence[Axes] | None = None) -> list[Axes]:
    """Grouped bars of the scores, then one logo per example and model (corrected grad × input).

    Parameters
    ----------
    result
        From :func:`compare_models`, :func:`activations` or :func:`fully_connected`.
    ax
        ``1 + examples × models`` axes: the bar chart, then the logos example
        by example; a new figure when omitted.
    """
    names = list(result.maps)
    n_logos = len(result.example_ids) * len(names)
    if ax is None:
        length = result.onehot.shape[2]
        fig = plt.figure(figsize=(float(np.clip(length / 10, 10, 22)), 3.6 + 1.9 * n_logos), layout="constrained")
        grid = fig.add_gridspec(1 + n_logos, 1, height_ratios=[1.9] + [1.0] * n_logos)
        ax = [fig.add_subplot(grid[i, 0]) for i in range(1 + n_logos)]
    axes = list(ax)
    check(len(axes) == 1 + n_logos, f"plot_comparison needs {1 + n_logos} axes, got {len(axes)}")
    _plot_bars(result, names, axes[0])
    logo_axes = iter(axes[1:])
    for example, record_id in enumerate(result.example_ids):
        for name in names:
            panel = next(logo_axes)
            plot_logo(result.maps[name][example], ax=panel, ylabel=name, motif_hits=result.boxes[example],
                      title=f"{record_id} (test positive), model {name}: logit "
                            f"{result.logits[name][example]:.2f}, corrected grad×input")
            panel.title.set_fontsize(10)
    for panel in axes[1:-1]:
        panel.set_xlabel("")
    return axes


def _plot_bars(result: ComparisonResult, names: list[str], ax: Axes) -> None:
    """Bars per metric, one per model, with the chance level of each metric as a dashed segment."""
    width = 0.8 / len(names)
    colors = plt.get_cmap("tab10").colors
    chance = {"test_auroc": 0.5, "plausibility_auroc": 0.5,
              "background_share": result.value("background_positions", "data")}
    for group, (metric, _) in enumerate(BAR_METRICS):
        for offset, name in enumerate(names):
            value = result.value(metric, name)
            # Test AUROC is one number per model, not a mean over sequences: no error bar.
            sd = result.value(f"{metric}_sd", name) if metric != "test_auroc" else 0.0
            x = group - 0.4 + width * (offset + 0.5)
            ax.bar(x, value, width * 0.9, yerr=sd if sd > 0 else None, capsize=3, color=colors[offset % len(colors)],
                   label=name if group == 0 else None)
            ax.text(x, value + sd + 0.02, f"{value:.2f}", ha="center", va="bottom", fontsize=8)
        ax.hlines(chance[metric], group - 0.45, group + 0.45, colors="black", linestyles="--", linewidth=1,
                  label="chance (flat map / random ranking)" if group == 0 else None)
    ax.set_xticks(range(len(BAR_METRICS)), [label for _, label in BAR_METRICS])
    ax.set(ylim=(0, 1.18), ylabel="score (mean ± sd over test positives)")
    ax.legend(frameon=False, fontsize=8, ncol=len(names) + 1, loc="upper center")


# --------------------------------------------------------------------------- #
# Output folder
# --------------------------------------------------------------------------- #


def start_output(out: str | PathLike[str], name: str, parameters: dict[str, Any], seed: int | None,
                 inputs: dict[str, str | PathLike[str]] | None = None) -> tuple[Path, dict]:
    """Prepare ``out`` and write an incomplete manifest before any work starts.

    A foreign folder is refused at once, not after minutes of training, and
    an interrupted run leaves ``complete: false`` rather than a previous run's
    manifest next to half-replaced files.

    Parameters
    ----------
    out
        New, empty, or an earlier seqsal output folder.
    name
        One of :data:`PITFALLS`.
    parameters
        Settings that decide the numbers (JSON-like).
    seed
        Random seed, ``None`` where nothing is random.
    inputs
        Role (``fasta``, ``model``) to file; each is recorded with its SHA-256.
    """
    check(name in PITFALLS, f"unknown pitfall {name!r}; choose one of {', '.join(PITFALLS)}")
    folder = io.prepare_output_dir(out)
    manifest = {
        **io.manifest_header(f"pitfalls-{name}"),
        "torch_threads": torch.get_num_threads(),
        "seed": seed,
        "parameters": parameters,
        "inputs": {role: {"path": str(Path(path).resolve()), "sha256": io.file_sha256(path)}
                   for role, path in (inputs or {}).items()},
    }
    io.write_json(folder / io.MANIFEST, manifest)
    return folder, manifest


def finish_output(folder: Path, name: str, manifest: dict, table: pd.DataFrame, figure: Figure,
                  **extra: Any) -> dict[str, Path]:
    """Write ``<name>.png`` and ``<name>.tsv`` atomically, then mark the manifest complete.

    ``extra`` entries (timings, model configs) are added to the manifest.
    """
    paths = {"figure": folder / f"{name}.png", "table": folder / f"{name}.tsv"}
    save_figure(figure, paths["figure"])
    io.write_table(paths["table"], table)
    manifest.update(extra)
    manifest.update(complete=True, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    files={key: path.name for key, path in paths.items()})
    io.write_json(folder / io.MANIFEST, manifest)
    return paths


@dataclass
class PitfallRun:
    """What :func:`run_pitfall` wrote: the folder, the numbers, and a one-line summary."""

    folder: Path
    table: pd.DataFrame
    summary: str


def run_pitfall(
    name: str,
    out: str | PathLike[str],
    *,
    fasta: str | PathLike[str] | None = None,
    model: str | PathLike[str] = "default",
    record_id: str | None = None,
    correct: bool = False,
    fit_length: bool = False,
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
    activation: str = "exp",
    batch_size: int = 128,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> PitfallRun:
    """Run one pitfall and write ``<name>.png``, ``<name>.tsv`` and ``manifest.json`` into ``out``.

    ``saturation`` and ``off-simplex`` explain ``fasta`` (default: the demo
    test set, :func:`default_fasta`) with ``model`` (default: the bundled
    model); ``fit_length`` centre-crops or N-pads records to the model's
    length, and ``record_id`` and ``correct`` apply to saturation.
    ``activations`` and ``fully-connected`` simulate ``n`` sequences of
    ``length`` bp and train with ``epochs`` and ``seed``; ``fully-connected``
    also takes ``hidden_units`` and the CNN's ``activation``.  Options of the
    other pitfalls are ignored and not recorded.  The manifest holds the
    settings, the seed, and the SHA-256 of the model file and FASTA where
    there are any.
    """
    check(name in PITFALLS, f"unknown pitfall {name!r}; choose one of {', '.join(PITFALLS)}")
    result: SaturationResult | OffSimplexResult | ComparisonResult
    extra: dict[str, Any] = {}
    if name in ("saturation", "off-simplex"):
        explained = load_model(model)
        fasta_path = Path(fasta) if fasta is not None else default_fasta()
        X, ids = load_sequences(fasta_path, explained.config.input_length, fit_length)
        model_file = default_model_path() if str(model) == "default" else Path(model)
        parameters: dict[str, Any] = {"model": str(model), "fasta": str(fasta_path), "fit_length": fit_length}
        if name == "saturation":
            parameters |= {"method": "grad_x_input", "record_id": record_id, "correct": correct}
        else:
            parameters |= {"method": "gradient"}
        folder, manifest = start_output(out, name, parameters, None, {"model": model_file, "fasta": fasta_path})
        if name == "saturation":
            result = saturation(explained, X, ids, record_id=record_id, correct=correct, batch_size=batch_size,
                                device=device)
            figure = plot_saturation(result)[0].figure
            extra["record_id"] = result.record_id
        else:
            result = off_simplex(explained, X, ids, batch_size=batch_size, device=device)
            figure = plot_off_simplex(result).figure
    else:
        cnn = small_cnn_config(length, activation).to_dict()
        parameters = {"n": n, "length": length, "epochs": epochs, "lr": LEARNING_RATE, "patience": PATIENCE,
                      "cnn_config": cnn}
        if name == "fully-connected":
            parameters |= {"fc_hidden_units": list(hidden_units), "fc_dropout": DEFAULT_FC_DROPOUT}
        else:
            cnn["activation"] = list(ACTIVATIONS)
        folder, manifest = start_output(out, name, parameters, seed)
        options = dict(epochs=epochs, seed=seed, batch_size=batch_size, device=device, progress=progress)
        if name == "activations":
            result = activations(n, length, **options)
        else:
            result = fully_connected(n, length, hidden_units=hidden_units, activation=activation, **options)
        figure = plot_comparison(result)[0].figure
        extra |= {"train_seconds": result.seconds, "example_ids": result.example_ids}
    table = result.table()
    try:
        finish_output(folder, name, manifest, table, figure, **extra)
    finally:
        plt.close(figure)
    return PitfallRun(folder=folder, table=table,
                      summary=f"{name}: {result.headline()}; wrote {folder}/ ({name}.png, {name}.tsv)")


__all__ = [
    "ACTIVATIONS", "ComparisonResult", "DenseConfig", "FullyConnected", "OffSimplexResult", "PITFALLS", "PitfallRun",
    "SaturationResult", "run_pitfall",
    "SimulatedData", "activations", "background_share", "compare_models", "default_fasta", "finish_output",
    "isotropic_angle_cdf",
    "fully_connected", "load_sequences", "off_simplex", "plot_comparison", "plot_off_simplex", "plot_saturation",
    "saturation", "seeded", "sigmoid_derivative", "simplex_angle", "simulate_data", "small_cnn_config",
    "start_output",
]
