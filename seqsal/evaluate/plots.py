"""Figures of the evaluation metrics, drawn with :func:`seqsal.plot.plot_curves`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib import pyplot as plt
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqsal.checks import check_choice
from seqsal.choices import OUTPUTS
from seqsal.errors import check
from seqsal.evaluate.deletion import CURVES, PerturbationCurves
from seqsal.plot import plot_curves

def plot_perturbation_curves(curves: PerturbationCurves, *, output: str = "logit", ax: Axes | None = None) -> Axes:
    """Mean deletion and insertion curves with their random-ranking references, normalised AUCs in the legend.

    Reference curves are dashed in the colour of their counterpart, so the
    gap between a solid curve and its dashed twin is what the attribution
    adds over a random ranking.

    Parameters
    ----------
    curves
        From :func:`deletion_insertion`.
    output
        ``"logit"`` or ``"probability"``.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_choice(output, "output", OUTPUTS)
    aucs = curves.auc().set_index(["curve", "output"])["normalised_auc"]
    lines = {
        f"{name.replace('_', ' ')} (nAUC {aucs[name, output]:.2f})": curves.curve(name, output).mean(axis=0)
        for name in CURVES
    }
    ax = plot_curves(
        curves.fraction,
        lines,
        ax=ax,
        xlabel="fraction of positions perturbed (k / L)",
        ylabel=f"target {output}",
        title=f"deletion / insertion ({curves.replacement} replacement)",
    )
    drawn = ax.get_lines()[-len(CURVES):]
    for line, reference in zip(drawn[2:], drawn[:2]):
        line.set_linestyle("--")
        line.set_color(reference.get_color())
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_randomization(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Spearman correlation with the original explanation along the randomization cascade, ± 1 sd.

    Parameters
    ----------
    table
        From :func:`randomization_check`.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    required = ["step", "layer", "spearman_mean", "spearman_sd", "spearman_abs_mean", "spearman_abs_sd"]
    missing = [column for column in required if column not in table.columns]
    check(not missing, f"the table lacks columns {missing}; pass the output of randomization_check")
    steps = table["step"].to_numpy(dtype=float)
    series = {"signed scores": "spearman", "absolute scores": "spearman_abs"}
    ax = plot_curves(
        steps,
        {label: table[f"{prefix}_mean"].to_numpy(dtype=float) for label, prefix in series.items()},
        ax=ax,
        xlabel="layers re-initialised (cumulative, from the output down)",
        ylabel="Spearman vs original",
        title="model-randomization sanity check",
    )
    for line, prefix in zip(ax.get_lines()[-len(series):], series.values()):
        mean = table[f"{prefix}_mean"].to_numpy(dtype=float)
        sd = np.nan_to_num(table[f"{prefix}_sd"].to_numpy(dtype=float))
        ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(steps)
    ax.set_xticklabels(table["layer"].astype(str), rotation=45, ha="right", fontsize=7)
    return ax


def perturbation_figure(curves: PerturbationCurves, title: str) -> Figure:
    """One method's deletion and insertion curves (logit) as a figure of their own, for a report."""
    fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
    plot_perturbation_curves(curves, ax=ax)
    ax.set_title(title)
    return fig


def randomization_figure(table: pd.DataFrame) -> Figure:
    """One randomization panel per method, side by side on a shared y axis.

    Parameters
    ----------
    table
        :func:`~seqsal.evaluate.randomization.randomization_check` tables of
        several methods, concatenated with a ``method`` column.
    """
    check("method" in table.columns, "the table lacks a method column; concatenate tables with method=<name>")
    methods = list(table["method"].unique())
    fig, axes = plt.subplots(1, len(methods), figsize=(4.5 * len(methods), 4.2), sharey=True, squeeze=False,
                             layout="constrained")
    for ax, method in zip(axes[0], methods):
        plot_randomization(table[table["method"] == method], ax=ax)
        ax.set_title(method)
    return fig
