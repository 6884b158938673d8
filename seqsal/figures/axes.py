"""Conventions every panel of an attribution figure shares: checked score matrices, 1-based position axes,
the window drawn, lettering at the figure's font size, and motif hits moved into the window.

Positions on every x axis are **1-based**, as in FASTA viewers, genome
browsers and papers: column ``i`` of a ``(4, L)`` array is labelled
``start + i + 1``, where ``start`` is the 0-based coordinate of the first
column.  Column ``i`` is drawn centred on that label, so panels of the same
sequence share an x axis exactly.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Iterable

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.ticker import ScalarFormatter

from seqsal.errors import check
from seqsal.figures.charts import as_array
from seqsal.figures.style import FigureOptions


def as_scores(scores: Any, name: str = "scores") -> np.ndarray:
    """Validate one sequence's ``(4, L)`` score matrix and return it as floats."""
    array = as_array(scores)
    check(
        array.ndim == 2 and array.shape[0] == 4 and array.shape[1] > 0,
        f"{name} must be one sequence's (4, L) array with rows A, C, G, T, got shape {array.shape}; "
        "index a batch first, e.g. attributions[i]",
    )
    check(np.isfinite(array).all(), f"{name} contains NaN or infinite values; check the attribution run")
    return array


def position_labels(start: int, length: int) -> np.ndarray:
    """1-based position labels of ``length`` columns whose first 0-based coordinate is ``start``."""
    check(
        isinstance(start, (int, np.integer)) and start >= 0,
        f"start must be a non-negative integer (the 0-based coordinate of the first column), got {start!r}",
    )
    return np.arange(start + 1, start + length + 1)


def _tick_spacing(length: int, max_ticks: int = 15) -> int:
    """Tick spacing that keeps at most ``max_ticks`` labelled ticks whatever the length."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if length / (step * magnitude) <= max_ticks:
                return step * magnitude
        magnitude *= 10


def style_position_axis(ax: Axes, start: int, length: int) -> None:
    """Put 1-based position ticks on ``ax``: the first position, then round multiples.

    The first position is always labelled so a reader sees where numbering
    starts; a round tick that would crowd it is left out instead.  Ticks are
    spaced for about one label per 0.5 in of axis, so a narrow paper figure
    does not crowd them.
    """
    first = start + 1
    last = start + length
    width = ax.get_position().width * ax.figure.get_figwidth()
    spacing = _tick_spacing(length, max_ticks=int(np.clip(width / 0.5, 4, 15)))
    round_ticks = np.arange(int(np.ceil(first / spacing)) * spacing, last + 1, spacing)
    ticks = [first] + [int(t) for t in round_ticks if t - first > spacing / 2]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.set_xlabel("position (bp)")


def new_axes(options: FigureOptions, length: int, kind: str) -> Axes:
    """A new single-panel figure sized by ``options`` for ``length`` positions."""
    _, ax = plt.subplots(figsize=(options.figure_width(length), options.figure_height(kind)), layout="constrained")
    return ax


def compact_ticks() -> ScalarFormatter:
    """A tick formatter whose labels stay at most six characters wide ("−12.5", "−0.125") at any scale.

    Values from 0.1 to 999 are written as they are; smaller or larger ones as
    multiples of a power of ten shown once at the end of the axis ("1e−3").
    For axes beside a margin of fixed width, where "−0.0025" would push the
    axis title off the figure.
    """
    formatter = ScalarFormatter()
    formatter.set_powerlimits((-1, 3))
    return formatter


def apply_font_size(axes: Iterable[Axes], options: FigureOptions) -> None:
    """Set tick labels, axis labels and titles of ``axes`` to the options' font size."""
    size = options.resolved_font_size()
    for ax in axes:
        ax.tick_params(labelsize=size)
        ax.xaxis.label.set_size(size)
        ax.yaxis.label.set_size(size)
        ax.title.set_size(size + 1)


def replaced(hit: Any, **changes: Any) -> Any:
    """A copy of a duck-typed hit with some attributes changed (dataclass, named tuple or plain object)."""
    if dataclasses.is_dataclass(hit):
        return dataclasses.replace(hit, **changes)
    if hasattr(hit, "_replace"):
        return hit._replace(**changes)
    moved = copy.copy(hit)
    for name, value in changes.items():
        setattr(moved, name, value)
    return moved


def windowed(matrix: np.ndarray, start: int, hits: Iterable[Any] | None,
              options: FigureOptions) -> tuple[np.ndarray, int, list[Any] | None]:
    """The columns of ``matrix`` inside the options' window, their start, and the hits in view.

    Hits are clipped to the window and moved to its columns; hits wholly
    outside are left out.  Malformed or out-of-range hits are passed on
    unchanged, so the logo's box drawing reports them.
    """
    hits = None if hits is None else list(hits)
    lo, hi = options.columns(start, matrix.shape[1])
    if hits is not None:
        well_formed = all(hasattr(h, a) for h in hits for a in ("start", "end", "name"))
        if well_formed:
            in_range = all(0 <= h.start < h.end <= matrix.shape[1] for h in hits)
            if in_range and (lo, hi) != (0, matrix.shape[1]):
                hits = [replaced(h, start=max(h.start, lo) - lo, end=min(h.end, hi) - lo)
                        for h in hits if h.end > lo and h.start < hi]
    return matrix[:, lo:hi], start + lo, hits


def prediction_title(prediction: float, task: str = "regression") -> str:
    """Say what the number is: ``"logit 7.04, p = 0.999"`` for a classifier, ``"prediction 1.23"`` otherwise.

    A classifier's output is its logit (what attribution explains); the
    probability is added because that is what a reader compares with a
    threshold.  Probabilities that round to 0 or 1 are written as bounds.
    """
    value = float(prediction)
    if task != "classification":
        return f"prediction {value:.3g}"
    probability = 0.5 * (1.0 + np.tanh(0.5 * value))  # the sigmoid, without overflow
    if probability >= 0.9995:
        shown = "p > 0.999"
    elif probability < 0.0005:
        shown = "p < 0.001"
    else:
        shown = f"p = {probability:.3f}"
    return f"logit {value:.3g}, {shown}"
