"""The figures of a shortcut run: example logos, the trade-off, the rate curves, the per-sequence scatter."""

from __future__ import annotations

import math
from typing import Mapping, NamedTuple, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seqsal.plot import figure_width, plot_curves, plot_logo

class Box(NamedTuple):
    """A labelled span for the logo figures (what :func:`seqsal.plot.plot_logo` boxes)."""

    start: int
    end: int
    name: str
    strand: str

def plot_example(onehot: np.ndarray, hypothetical: dict[str, np.ndarray], boxes: Sequence[Box],
                 title: str) -> Figure:
    """One sequence's projected logo under every method, one panel each, motifs and adapter boxed.

    Each panel has its own y scale: methods differ in units (logit change,
    gradient, log-odds), and what matters is *where* each puts its mass.
    """
    length = onehot.shape[1]
    fig, axes = plt.subplots(len(hypothetical), 1, sharex=True, squeeze=False, layout="constrained",
                             figsize=(figure_width(length, minimum=9), 1.9 * len(hypothetical) + 0.6))
    for ax, (method, scores) in zip(axes[:, 0], hypothetical.items()):
        plot_logo(scores * onehot, ax=ax, ylabel=method, motif_hits=boxes)
        ax.yaxis.label.set_fontsize(9)
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")
    fig.suptitle(title, fontsize=12)
    return fig


def plot_tradeoff(metrics: pd.DataFrame) -> Figure:
    """Faithfulness (deletion AUC) against plausibility (AUROC) per method, clean and most contaminated model."""
    rates = sorted({metrics["rate"].min(), metrics["rate"].max()})
    # Separate x scales: a weak model's normalised AUCs can span a much wider range than a strong one's.
    fig, axes = plt.subplots(1, len(rates), figsize=(5.2 * len(rates), 4.4), squeeze=False, sharey=True,
                             layout="constrained")
    colors = plt.get_cmap("tab10").colors
    for ax, rate in zip(axes[0], rates):
        rows = metrics[metrics["rate"] == rate]
        # Methods often sit on top of each other, so they are told apart by colour and marker in a legend
        # rather than by text labels beside the points (what seqsal.plot.plot_scatter draws).
        for index, row in enumerate(rows.itertuples()):
            ax.scatter(row.deletion_auc, row.plausibility_auroc, s=40, color=colors[index % len(colors)],
                       marker="os^Dv<>P"[index % 8], label=row.method, zorder=3)
        ax.set(xlabel="deletion AUC (normalised; lower = more faithful)", ylabel="plausibility AUROC vs motif mask",
               title=f"model trained at rate {rate:g}")
        ax.margins(0.12)
        ax.grid(alpha=0.3)
        ax.axvline(rows["random_deletion_auc"].mean(), color="#999999", linestyle="--", linewidth=1,
                   label="random ranking")
        ax.axhline(0.5, color="#999999", linestyle=":", linewidth=1, label="chance plausibility")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False, fontsize=8)
    return fig


def plot_rates(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> Figure:
    """Every metric against the contamination rate: reliance panels first, then one curve per method."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
    rates = reliance_table["rate"].to_numpy()
    plot_curves(rates, {"clean test": reliance_table["auroc_clean"],
                        "contaminated test": reliance_table["auroc_contaminated"]},
                ax=axes[0, 0], xlabel="contamination rate", ylabel="test AUROC", title="classifier AUROC")
    plot_curves(rates, {"negative -> positive (adapter added)": reliance_table["flip_neg_to_pos"],
                        "negative -> positive (shuffled adapter)": reliance_table["flip_neg_to_pos_control"],
                        "positive -> negative (adapter removed)": reliance_table["flip_pos_to_neg"]},
                ax=axes[0, 1], xlabel="contamination rate", ylabel="share flipped", title="counterfactual flips")
    panels = [
        ("adapter_share", "share of |attribution| on adapter", "attribution on the adapter"),
        ("plausibility_auroc", "AUROC vs motif mask", "plausibility"),
        ("deletion_auc", "normalised AUC (lower = faithful)", "deletion"),
        ("insertion_auc", "normalised AUC (higher = faithful)", "insertion"),
    ]
    ordered = metrics.sort_values("rate")
    for ax, (column, ylabel, title) in zip([axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]], panels):
        curves = {method: rows[column] for method, rows in ordered.groupby("method", sort=False)}
        plot_curves(sorted(ordered["rate"].unique()), curves, ax=ax, xlabel="contamination rate",
                    ylabel=ylabel, title=title)
    for ax in axes.flat:  # markers keep a single rate visible, and show where the measurements are
        for line in ax.get_lines():
            line.set_marker("o")
            line.set_markersize(4)
        ax.legend(frameon=False, fontsize=8)  # rebuilt, so the legend shows the markers too
    axes[0, 2].axhline(metrics["adapter_share_chance"].mean(), color="#999999", linestyle="--", linewidth=1,
                       label="chance: adapter's share of positions")
    axes[0, 2].legend(frameon=False, fontsize=8)
    return fig


FLIPPED_COLOR = "#b2182b"
KEPT_COLOR = "#7f7f7f"


def plot_effects(effects: pd.DataFrame, correlations: Mapping[str, float], chance: float, title: str) -> Figure:
    """Per sequence, the adapter's effect on the logit against each method's share on the adapter.

    One panel per method, all on the same axes, so panels compare at a
    glance: a faithful map climbs to the right (more attribution on the
    adapter where removing it changes the logit more).  Sequences whose call
    flips when the adapter is removed are coloured: the ones that depend on
    it outright.

    Parameters
    ----------
    effects
        Rows of ``adapter_effects.tsv`` for one model: ``method``, ``effect``,
        ``flips`` and ``adapter_share``.
    correlations
        Method to Spearman ρ (:func:`~seqsal.experiments.shortcut.metrics.effect_correlation`).
    chance
        The adapter's share of the positions: the share of a map that does not single it out.
    title
        The figure's title (which model).
    """
    methods = list(dict.fromkeys(effects["method"]))
    columns = min(4, len(methods))
    rows = math.ceil(len(methods) / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.3 * columns + 0.4, 3.0 * rows + 0.9), sharex=True,
                             sharey=True, squeeze=False, layout="constrained")
    for ax, method in zip(axes.flat, methods):
        points = effects[effects["method"] == method]
        for flipped, color, label in ((False, KEPT_COLOR, "call kept without the adapter"),
                                      (True, FLIPPED_COLOR, "call flips without the adapter")):
            chosen = points[points["flips"] == flipped]
            ax.scatter(chosen["effect"], chosen["adapter_share"], s=12, alpha=0.6, color=color,
                       edgecolors="none", label=f"{label} ({len(chosen)})", zorder=3)
        ax.axhline(chance, color="#333333", linestyle="--", linewidth=1, label="chance: adapter's share of positions")
        ax.axvline(0.0, color="#bbbbbb", linewidth=0.8)
        rho = correlations.get(method, float("nan"))
        ax.set_title(f"{method}: Spearman ρ = {rho:.2f}" if np.isfinite(rho) else f"{method}: ρ undefined",
                     fontsize=10)
        ax.grid(alpha=0.3)
    for ax in axes.flat[len(methods):]:
        ax.set_axis_off()
    axes[0, 0].set_ylim(-0.03, 1.03)
    for ax in axes[:, 0]:
        ax.set_ylabel("share of |attribution|\non the adapter")
    for index, ax in enumerate(axes.flat[: len(methods)]):
        if index + columns >= len(methods):  # the lowest panel of its column, above any empty slot
            ax.set_xlabel("logit change from the adapter\n(with − without)")
            ax.tick_params(labelbottom=True)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, frameon=False, fontsize=9)
    fig.suptitle(title, fontsize=12)
    return fig
