"""Generic charts for evaluation and experiment reports: named curves over a shared x, labelled scatter plots.

Kept apart from :mod:`seqsal.plot` (figures of one sequence's attributions)
because they know nothing about sequences.  Curves that coincide are a
common, meaningful result (saliency and grad × input give the same |score|
per position once projected), so :func:`plot_curves` says so in its legend
instead of hiding one line under the other.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes

from seqsal.errors import check

def as_array(values: Any) -> np.ndarray:
    """Turn arrays, lists, pandas columns or (CPU or GPU) torch tensors into a float numpy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def merge_identical(curves: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Join curves with identical values (NaNs compared equal) under one label, ``"a = b"``."""
    merged: dict[str, np.ndarray] = {}
    for label, values in curves.items():
        same = next((key for key, kept in merged.items() if np.allclose(kept, values, equal_nan=True, rtol=1e-9,
                                                                        atol=0)), None)
        if same is None:
            merged[str(label)] = values
        else:
            merged[f"{same} = {label}"] = merged.pop(same)
    return merged


def plot_curves(
    x: Any,
    curves: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
) -> Axes:
    """Draw named curves over a shared x, e.g. deletion curves of several methods.

    Curves with identical values are drawn once and labelled together
    (``"saliency = grad_x_input"``), so none hides under another unmentioned.

    Parameters
    ----------
    x
        ``(n,)`` x values shared by all curves.
    curves
        Legend label to ``(n,)`` y values.
    ax
        Axes to draw on; a new figure otherwise.
    xlabel, ylabel, title
        Axis labels and title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    xs = as_array(x)
    check(xs.ndim == 1 and xs.size > 0, f"x must be a non-empty 1-D array, got shape {xs.shape}")
    check(len(curves) > 0, "curves is empty; pass at least one {label: values} entry")
    arrays = {}
    for label, values in curves.items():
        arrays[label] = as_array(values)
        check(arrays[label].shape == xs.shape, f"curve {label!r} has shape {arrays[label].shape} but x has {xs.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
    for label, ys in merge_identical(arrays).items():
        ax.plot(xs, ys, label=label, linewidth=1.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def plot_scatter(
    x: Any,
    y: Any,
    labels: Sequence[str] | None = None,
    *,
    ax: Axes | None = None,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
) -> Axes:
    """Scatter ``y`` against ``x``, optionally writing a label beside each point.

    Meant for a handful of named points (e.g. faithfulness vs plausibility of
    each attribution method), where the names matter more than a legend.

    Parameters
    ----------
    x, y
        ``(n,)`` coordinates.
    labels
        ``n`` point labels, or ``None`` for unlabelled points.
    ax, xlabel, ylabel, title
        As for :func:`plot_curves`.

    Returns
    -------
    matplotlib.axes.Axes
    """
    xs = as_array(x)
    ys = as_array(y)
    check(xs.ndim == 1 and xs.shape == ys.shape, f"x and y must be 1-D of equal length, got {xs.shape} and {ys.shape}")
    check(labels is None or len(labels) == xs.size, f"got {len(labels or [])} labels for {xs.size} points")
    if ax is None:
        _, ax = plt.subplots(figsize=(4.5, 4), layout="constrained")
    ax.scatter(xs, ys, s=28, color="#444444", zorder=2)
    for xi, yi, text in zip(xs, ys, labels or []):
        ax.annotate(str(text), (xi, yi), xytext=(4, 3), textcoords="offset points", fontsize=8)
    ax.margins(0.12)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax
