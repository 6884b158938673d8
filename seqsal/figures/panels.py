"""The heatmap and per-position track panels of an attribution figure.

Both are drawn as one artist each (a mesh of cells, a polygon collection), so
a figure with thousands of positions, or a thousand figures, draws quickly.
The heatmap is a mesh rather than an image: an image is resampled to the
screen's pixels on every draw, which took ten times as long as filling a
thousand rectangles.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PolyCollection, QuadMesh
from matplotlib.colorbar import Colorbar
from matplotlib.colors import to_rgba
from matplotlib.transforms import Affine2D

from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.figures.axes import (
    apply_font_size,
    as_scores,
    compact_ticks,
    new_axes,
    position_labels,
    style_position_axis,
    windowed,
)
from seqsal.figures.charts import as_array
from seqsal.figures.style import FigureOptions

#: Colours shared by the track and the heatmap's colour map ends, so that
#: "positive" and "negative" read the same in every panel.
POSITIVE_COLOR = "#b2182b"
NEGATIVE_COLOR = "#2166ac"


def plot_heatmap(
    scores: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    start: int = 0,
    cmap: str | None = None,
    signed: bool | None = None,
    label: str = "score",
    figure: FigureOptions | None = None,
) -> Axes:
    """Draw a ``(4, L)`` score matrix as a heatmap with rows ``A, C, G, T`` and a labelled colour bar.

    Hypothetical scores are best read this way: a logo hides the three bases
    that are not in the sequence, the heatmap shows what a mutation to each
    would do.  Signed scores get a diverging map with limits symmetric around
    zero, so white always means "no effect" and the two signs are comparable;
    scores that cannot be negative (saliency, a magnitude) get a sequential
    map from white at zero, so the whole colour range shows their spread
    instead of half of it going unused.

    Parameters
    ----------
    scores
        ``(4, L)`` array, rows ``A, C, G, T``.
    ax
        Axes to draw on; a new figure otherwise.  A colour bar is added beside it.
    title
        Axes title.
    start
        0-based coordinate of the first column; positions are labelled 1-based.
    cmap
        A matplotlib colour map; by default ``RdBu_r`` for signed scores and
        ``Reds`` for non-negative ones.
    signed
        Whether the scores can be negative (the method's nature, not this
        record's values); by default, whether any score here is negative.
    label
        Colour-bar label: what the colour measures, with its unit.
    figure
        Size, font size and window; screen defaults when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    options = (figure or FigureOptions()).checked()
    matrix, start, _ = windowed(as_scores(scores), start, None, options)
    length = matrix.shape[1]
    restyle = ax is None or figure is not None
    if ax is None:
        ax = new_axes(options, length, "heatmap")
    mesh = heatmap_mesh(ax, length)
    set_heatmap(mesh, matrix, start, signed=signed, cmap=cmap)
    style_position_axis(ax, start, length)
    colorbar = ax.figure.colorbar(mesh, ax=ax, pad=0.005, fraction=0.02, aspect=8, format=compact_ticks())
    size = options.resolved_font_size()
    colorbar.set_label(label, size=size)
    colorbar.ax.tick_params(labelsize=size)
    colorbar.ax.yaxis.offsetText.set_fontsize(size)
    place_colorbar_offset(colorbar)
    if restyle:
        apply_font_size([ax], options)
    if title is not None:
        ax.set_title(title)
    return ax


def plot_track(
    per_position: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    start: int = 0,
    ylabel: str = "score",
    figure: FigureOptions | None = None,
) -> Axes:
    """Draw per-position scores ``(L,)`` as bars, red above zero and blue below.

    Bars rather than a line because positions are discrete and a single
    strong base should look like one, not like a smooth bump.  The bars are
    one collection (not a patch each), so a long track draws quickly.

    Parameters
    ----------
    per_position
        ``(L,)`` array, e.g. projected attributions summed over the 4 rows.
    ax
        Axes to draw on; a new figure otherwise.
    title
        Axes title.
    start
        0-based coordinate of the first value; positions are labelled 1-based.
    ylabel
        Y-axis label: what is summed, with its unit.
    figure
        Size, font size and window; screen defaults when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    values = as_array(per_position)
    check(
        values.ndim == 1 and values.size > 0,
        f"per_position must be a non-empty (L,) array, got shape {values.shape}; "
        "sum projected attributions over the 4 rows first",
    )
    check(np.isfinite(values).all(), "per_position contains NaN or infinite values; check the attribution run")
    options = (figure or FigureOptions()).checked()
    lo, hi = options.columns(start, values.size)
    values, start = values[lo:hi], start + lo
    length = values.size
    restyle = ax is None or figure is not None
    if ax is None:
        ax = new_axes(options, length, "track")
    ax.add_collection(track_bars(values, start))
    ax.set_ylim(*track_limits(values))
    ax.axhline(0.0, color="black", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    style_position_axis(ax, start, length)
    ax.set_ylabel(ylabel)
    if restyle:
        apply_font_size([ax], options)
    if title is not None:
        ax.set_title(title)
    return ax


def heatmap_mesh(ax: Axes, length: int) -> QuadMesh:
    """An empty heatmap of ``length`` columns on ``ax``: rows ``A, C, G, T`` from the top, one cell per base.

    Cells are laid out in column numbers; :func:`set_heatmap` moves them to
    the positions of the record drawn and gives them their colours.
    """
    mesh = ax.pcolormesh(np.arange(length + 1, dtype=float), np.arange(5) - 0.5, np.zeros((4, length)),
                         antialiased=False, linewidth=0)
    ax.set_ylim(3.5, -0.5)
    ax.set_yticks(range(4), list(ALPHABET))
    return mesh


def place_colorbar_offset(colorbar: Colorbar) -> None:
    """Start a narrow vertical colour bar's power of ten ("1e−3") at the bar and run it rightwards, above the
    tick labels.

    Matplotlib right-aligns it with the bar's right edge, so on a bar a tenth of an inch wide it runs leftwards
    over the heatmap's corner; it also resets the place on every update of the colour bar, so the place is set
    again after each change of the colour scale.
    """
    def place(*_: object) -> None:
        colorbar.ax.yaxis.offsetText.set(x=0, horizontalalignment="left")

    place()
    colorbar.mappable.callbacks.connect("changed", place)


def set_heatmap(mesh: QuadMesh, matrix: np.ndarray, start: int, *, signed: bool | None = None,
                cmap: str | None = None) -> None:
    """Show ``matrix`` in a :func:`heatmap_mesh`: its values, at its 1-based positions, on a colour scale.

    Signed scores get ``RdBu_r`` symmetric around zero; non-negative ones
    ``Reds`` from zero.  Used by :func:`plot_heatmap` and by figures reused
    from record to record.
    """
    signed = bool((matrix < 0).any()) if signed is None else signed
    check(signed or not (matrix < 0).any(), "signed=False but some scores are negative; pass signed=True")
    limit = float(np.abs(matrix).max()) or 1.0
    mesh.set_array(matrix)
    # Column i spans position start + i + 1 ± 0.5.
    mesh.set_transform(Affine2D().translate(start + 0.5, 0) + mesh.axes.transData)
    cmap = cmap or ("RdBu_r" if signed else "Reds")
    if mesh.get_cmap().name != cmap:  # each change redraws an attached colour bar
        mesh.set_cmap(cmap)
    mesh.set_clim(-limit if signed else 0.0, limit)


def track_bars(values: np.ndarray, start: int) -> PolyCollection:
    """The bars of a per-position track as one collection: red above zero, blue below, 0.9 bp wide."""
    x = position_labels(start, values.size).astype(float)
    corners = np.stack([x - 0.45, x - 0.45, x + 0.45, x + 0.45], axis=1)
    heights = np.stack([np.zeros(values.size), values, values, np.zeros(values.size)], axis=1)
    colors = np.where((values >= 0)[:, None], to_rgba(POSITIVE_COLOR), to_rgba(NEGATIVE_COLOR))
    return PolyCollection(np.stack([corners, heights], axis=2), linewidths=0, facecolors=colors)


def track_limits(values: np.ndarray) -> tuple[float, float]:
    """Y limits of a track: the bars and zero, with a 5 % margin on the sides that have bars."""
    low, high = min(float(values.min()), 0.0), max(float(values.max()), 0.0)
    margin = 0.05 * (high - low) or 1.0
    return low - (margin if low < 0 else 0.0), high + (margin if high > 0 or low == 0 else 0.0)
