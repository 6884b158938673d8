"""Figures of attributions: sequence logos, heatmaps, tracks, and generic curves.

Every drawing function takes an optional ``ax`` and returns the axes it drew
on, so a figure can be composed from panels or a single panel dropped into a
user's own layout.  Nothing here chooses a matplotlib backend: scripts and
notebooks keep whatever they set up, and the CLI and tests pick ``Agg``.

Positions on every x axis are **1-based**, as in FASTA viewers, genome
browsers and papers: column ``i`` of a ``(4, L)`` array is labelled
``start + i + 1``.  ``start`` is the 0-based coordinate of the first column (for
example a window's offset in a longer sequence), so the default labels the
columns ``1..L``.  Column ``i`` is drawn centred on that label, so panels of the
same sequence share an x axis exactly.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.io import atomic_path

#: Colours shared by the track and the heatmap's colour map ends, so that
#: "positive" and "negative" read the same in every panel.
POSITIVE_COLOR = "#b2182b"
NEGATIVE_COLOR = "#2166ac"

#: Motif boxes avoid the green/blue/orange/red of the classic ACGT letters, so
#: a box never looks like part of a letter.
_MOTIF_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

_FIGURE_FORMATS = ("png", "svg", "pdf")
_PNG_DPI = 150


# --------------------------------------------------------------------------- #
# Validation and shared axis styling
# --------------------------------------------------------------------------- #


def _as_array(values: Any) -> np.ndarray:
    """Turn arrays, lists or (CPU or GPU) torch tensors into a float numpy array."""
    if hasattr(values, "detach"):
        values = values.detach().cpu().numpy()
    return np.asarray(values, dtype=float)


def _as_scores(scores: Any, name: str = "scores") -> np.ndarray:
    """Validate one sequence's ``(4, L)`` score matrix and return it as floats."""
    array = _as_array(scores)
    check(
        array.ndim == 2 and array.shape[0] == 4 and array.shape[1] > 0,
        f"{name} must be one sequence's (4, L) array with rows A, C, G, T, got shape {array.shape}; "
        "index a batch first, e.g. attributions[i]",
    )
    check(np.isfinite(array).all(), f"{name} contains NaN or infinite values; check the attribution run")
    return array


def _positions(start: int, length: int) -> np.ndarray:
    """1-based position labels of ``length`` columns whose first 0-based coordinate is ``start``."""
    check(
        isinstance(start, (int, np.integer)) and start >= 0,
        f"start must be a non-negative integer (the 0-based coordinate of the first column), got {start!r}",
    )
    return np.arange(start + 1, start + length + 1)


def _tick_spacing(length: int) -> int:
    """Tick spacing that keeps about 5-15 labelled ticks whatever the length."""
    magnitude = 1
    while True:
        for step in (1, 2, 5):
            if length / (step * magnitude) <= 15:
                return step * magnitude
        magnitude *= 10


def _style_position_axis(ax: Axes, start: int, length: int) -> None:
    """Put 1-based position ticks on ``ax``: the first position, then round multiples.

    The first position is always labelled so a reader sees where numbering
    starts; a round tick that would crowd it is left out instead.
    """
    first = start + 1
    last = start + length
    spacing = _tick_spacing(length)
    round_ticks = np.arange(int(np.ceil(first / spacing)) * spacing, last + 1, spacing)
    ticks = [first] + [int(t) for t in round_ticks if t - first > spacing / 2]
    ax.set_xticks(ticks)
    ax.set_xticklabels([str(t) for t in ticks])
    ax.set_xlim(first - 0.5, last + 0.5)
    ax.set_xlabel("position (bp)")


def _figure_width(length: int) -> float:
    """Figure width in inches for ``length`` positions.

    About one inch per 12 bp keeps letters of a 249-bp enhancer distinct at
    150 dpi; the cap keeps very long inputs printable (zoom into a window for
    base-level detail there).
    """
    return float(np.clip(length / 12, 7, 22))


def _new_axes(length: int, height: float) -> Axes:
    """A new single-panel figure, as wide as the sequence needs."""
    _, ax = plt.subplots(figsize=(_figure_width(length), height), layout="constrained")
    return ax


# --------------------------------------------------------------------------- #
# Logos
# --------------------------------------------------------------------------- #


def plot_logo(
    scores: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    start: int = 0,
    ylabel: str = "attribution",
    motif_hits: Iterable[Any] | None = None,
    color_scheme: str = "classic",
) -> Axes:
    """Draw a sequence logo of a ``(4, L)`` score matrix with logomaker.

    The same function draws both logos in common use: *projected* scores
    (hypothetical × one-hot, one letter per column, the logo of the actual
    sequence) and *hypothetical* scores (all four letters, what each base
    would contribute).  Letter height is the score; negative scores stack
    below the zero line with their letters flipped upside down, the
    convention of DeepLIFT and tangermeme logos, so a reader can tell at a
    glance which bases push the prediction down.

    Parameters
    ----------
    scores
        ``(4, L)`` array, rows ``A, C, G, T``.
    ax
        Axes to draw on; a new figure sized to the sequence length otherwise.
    title
        Axes title.
    start
        0-based coordinate of the first column; positions are labelled 1-based
        (``start + 1`` to ``start + L``).
    ylabel
        Y-axis label, e.g. the method and its units.
    motif_hits
        Objects with ``start`` and ``end`` (0-based, half-open, relative to the
        columns of ``scores``), ``name`` and optionally ``strand`` and
        ``kind``, such as :class:`seqsal.motifs.MotifHit`.  Each is marked
        (``kind`` ``"seqlet"``, the default: a filled band; ``"scan"``: a
        dashed outline; ``"truth"``: a bar along the bottom) and labelled
        above the axes.
    color_scheme
        Any logomaker colour scheme name.

    Returns
    -------
    matplotlib.axes.Axes
    """
    matrix = _as_scores(scores)
    length = matrix.shape[1]
    if ax is None:
        ax = _new_axes(length, height=2.6)
    positions = _positions(start, length)
    frame = pd.DataFrame(matrix.T, index=positions, columns=list(ALPHABET))
    with warnings.catch_warnings():
        # An all-zero matrix (a dead gradient) is legitimate; _pad_ylim fixes
        # the empty y range logomaker warns about.
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high ylims")
        logo = logomaker.Logo(frame, ax=ax, color_scheme=color_scheme, flip_below=True, baseline_width=0)
    logo.style_spines(visible=False)
    logo.style_spines(spines=("left", "bottom"), visible=True)
    ax.axhline(0.0, color="black", linewidth=0.6, zorder=1)
    _pad_ylim(ax, matrix)
    _style_position_axis(ax, start, length)
    ax.set_ylabel(ylabel)
    levels = _draw_motif_hits(ax, motif_hits, start, length) if motif_hits is not None else 0
    if title is not None:
        ax.set_title(title, pad=6 + 13 * levels)
    return ax


def _pad_ylim(ax: Axes, matrix: np.ndarray) -> None:
    """Y limits spanning the stacked letters with a little headroom, and never empty.

    logomaker fits the limits tightly to the glyphs; an all-zero attribution
    (a dead gradient) would otherwise give a zero-height axis.
    """
    top = float(np.clip(matrix, 0, None).sum(axis=0).max())
    bottom = float(np.clip(matrix, None, 0).sum(axis=0).min())
    span = top - bottom
    if span == 0:
        top, bottom, span = 1.0, -1.0, 2.0
    ax.set_ylim(bottom - 0.05 * span if bottom < 0 else 0.0, top + 0.05 * span if top > 0 else 0.0)


def _draw_motif_hits(ax: Axes, hits: Iterable[Any], start: int, length: int) -> int:
    """Mark each hit on the logo and label it above the axes.

    A hit's optional ``kind`` says what it is, and each kind looks different
    so they read apart where they overlap: ``"seqlet"`` (the default: where
    the model looked) is a filled band, ``"scan"`` (where a PWM matched) a
    dashed outline, ``"truth"`` (where a motif was planted) a solid bar along
    the bottom.  Both strands of a palindrome at one place get one label,
    ``(±)``.  Labels sit outside the data area so they never cover letters;
    labels that would collide go on separate rows.  A legend names the kinds
    when more than one is shown.  Returns the number of label rows used, so a
    title can be lifted above them.
    """
    hits = list(hits)
    if not hits:
        return 0
    strands: dict[tuple, set] = {}
    for hit in hits:
        check(
            all(hasattr(hit, attribute) for attribute in ("start", "end", "name")),
            f"motif hit {hit!r} needs start, end and name attributes (e.g. seqsal.motifs.MotifHit)",
        )
        check(
            0 <= hit.start < hit.end <= length,
            f"motif hit {hit.name!r} spans {hit.start}-{hit.end}, outside the {length} plotted columns; "
            "hit coordinates are 0-based, half-open and relative to the plotted array",
        )
        kind = getattr(hit, "kind", "seqlet")
        check(kind in _MARK_STYLES, f"motif hit {hit.name!r} has kind {kind!r}; use one of {list(_MARK_STYLES)}")
        strands.setdefault((hit.start, hit.end, kind, str(hit.name)), set()).add(getattr(hit, "strand", None))
    colors: dict[str, str] = {}
    for _, _, _, name in strands:
        colors.setdefault(name.lower(), _MOTIF_COLORS[len(colors) % len(_MOTIF_COLORS)])

    bp_per_point = _bp_per_point(ax, length)
    fontsize = 8.0
    row_ends: list[float] = []
    for (first, end, kind, name), hit_strands in sorted(strands.items()):
        color = colors[name.lower()]
        left, right = start + first + 0.5, start + end + 0.5
        ax.axvspan(left, right, **_MARK_STYLES[kind]["span"](color))
        text = _hit_label(name, hit_strands)
        # The label is left-aligned at the hit; estimate its width from the font size.
        extent_end = max(right, left + (0.62 * fontsize * len(text) + 8) * bp_per_point)
        row = next((i for i, row_end in enumerate(row_ends) if row_end < left), len(row_ends))
        row_ends[row:row + 1] = [extent_end]
        ax.annotate(text, xy=(left, 1.0), xycoords=("data", "axes fraction"), xytext=(0, 3 + 13 * row),
                    textcoords="offset points", ha="left", va="bottom", fontsize=fontsize, color="black",
                    annotation_clip=False, bbox=_MARK_STYLES[kind]["label"](color))
    kinds = [kind for kind in _MARK_STYLES if any(key[2] == kind for key in strands)]
    if len(kinds) > 1:
        handles = [Patch(label=_MARK_STYLES[kind]["legend"], **{k: v for k, v in _MARK_STYLES[kind]["span"]("#555555")
                                                                 .items() if k not in ("ymin", "ymax", "zorder")})
                   for kind in kinds]
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.005, 1.0), fontsize=7, frameon=False)
    return len(row_ends)


#: How each kind of logo mark is drawn: its span, its label box and its legend entry.
_MARK_STYLES = {
    "seqlet": {
        "span": lambda color: {"facecolor": to_rgba(color, 0.2), "linewidth": 0, "zorder": -2},
        "label": lambda color: {"boxstyle": "round,pad=0.2", "facecolor": to_rgba(color, 0.3), "edgecolor": color,
                                "lw": 0.6},
        "legend": "seqlet",
    },
    "scan": {
        "span": lambda color: {"fill": False, "edgecolor": color, "linestyle": (0, (3, 2)), "linewidth": 1.1,
                               "zorder": -1},
        "label": lambda color: {"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": color,
                                "linestyle": "--", "lw": 0.8},
        "legend": "motif scan",
    },
    "truth": {
        "span": lambda color: {"facecolor": color, "linewidth": 0, "ymin": 0, "ymax": 0.045, "zorder": 3},
        "label": lambda color: {"boxstyle": "square,pad=0.2", "facecolor": to_rgba(color, 0.75), "edgecolor": color,
                                "lw": 0.6},
        "legend": "planted",
    },
}


def _hit_label(name: str, strands: set) -> str:
    """``"GATA1 (+)"``; ``(±)`` for both strands at one place (a palindrome); no strand when none is given."""
    strands = {s for s in strands if s not in (None, "", ".")}
    if not strands:
        return name
    return f"{name} ({'±' if len(strands) > 1 else strands.pop()})"


def _bp_per_point(ax: Axes, length: int) -> float:
    """Base pairs per typographic point along the x axis, from the axes' current size."""
    width_points = ax.get_position().width * ax.figure.get_figwidth() * 72
    return length / max(width_points, 1.0)


# --------------------------------------------------------------------------- #
# Heatmap and track
# --------------------------------------------------------------------------- #


def plot_heatmap(
    scores: Any,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    start: int = 0,
    cmap: str = "RdBu_r",
) -> Axes:
    """Draw a ``(4, L)`` score matrix as a heatmap with rows ``A, C, G, T``.

    Hypothetical scores are best read this way: a logo hides the three bases
    that are not in the sequence, the heatmap shows what a mutation to each
    would do.  Colour limits are symmetric around zero so white always means
    "no effect" and the two signs are comparable.

    Parameters
    ----------
    scores
        ``(4, L)`` array, rows ``A, C, G, T``.
    ax
        Axes to draw on; a new figure otherwise.  A colorbar is added beside it.
    title
        Axes title.
    start
        0-based coordinate of the first column; positions are labelled 1-based.
    cmap
        A diverging matplotlib colour map.

    Returns
    -------
    matplotlib.axes.Axes
    """
    matrix = _as_scores(scores)
    length = matrix.shape[1]
    if ax is None:
        ax = _new_axes(length, height=1.8)
    limit = float(np.abs(matrix).max()) or 1.0
    first = start + 1
    image = ax.imshow(
        matrix,
        cmap=cmap,
        vmin=-limit,
        vmax=limit,
        aspect="auto",
        interpolation="nearest",
        extent=(first - 0.5, first + length - 0.5, 3.5, -0.5),
    )
    ax.set_yticks(range(4))
    ax.set_yticklabels(list(ALPHABET))
    _style_position_axis(ax, start, length)
    colorbar = ax.figure.colorbar(image, ax=ax, pad=0.005, fraction=0.02, aspect=8)
    colorbar.ax.tick_params(labelsize=7)
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
) -> Axes:
    """Draw per-position scores ``(L,)`` as bars, red above zero and blue below.

    Bars rather than a line because positions are discrete and a single
    strong base should look like one, not like a smooth bump.

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
        Y-axis label.

    Returns
    -------
    matplotlib.axes.Axes
    """
    values = _as_array(per_position)
    check(
        values.ndim == 1 and values.size > 0,
        f"per_position must be a non-empty (L,) array, got shape {values.shape}; "
        "sum projected attributions over the 4 rows first",
    )
    check(np.isfinite(values).all(), "per_position contains NaN or infinite values; check the attribution run")
    length = values.size
    if ax is None:
        ax = _new_axes(length, height=1.6)
    colors = np.where(values >= 0, POSITIVE_COLOR, NEGATIVE_COLOR)
    ax.bar(_positions(start, length), values, width=0.9, color=colors, linewidth=0)
    ax.axhline(0.0, color="black", linewidth=0.6)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    _style_position_axis(ax, start, length)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    return ax


# --------------------------------------------------------------------------- #
# The stacked attribution figure
# --------------------------------------------------------------------------- #


def plot_attribution(
    hypothetical: Any,
    one_hot: Any,
    *,
    record_id: str,
    prediction: float | None = None,
    method: str = "",
    motif_hits: Iterable[Any] | None = None,
    start: int = 0,
) -> Figure:
    """The standard figure for one explained sequence: logo, heatmap and track.

    Panels, sharing one x axis: (1) the logo of projected scores
    (hypothetical × one-hot), i.e. what each base of the actual sequence
    contributes, with motif hits boxed; (2) the hypothetical scores as a
    heatmap, i.e. what each possible base would contribute; (3) the
    per-position score (projected summed over rows).  The title names the
    record, the method and the model's prediction so a page torn out of a
    report still says what it shows.

    Parameters
    ----------
    hypothetical
        ``(4, L)`` hypothetical attribution scores.
    one_hot
        ``(4, L)`` one-hot encoding of the same sequence.
    record_id
        FASTA record identifier, shown in the title.
    prediction
        Model output for this record, shown in the title when given.
    method
        Attribution method name, shown in the title when given.
    motif_hits
        Hits to box on the logo; see :func:`plot_logo`.
    start
        0-based coordinate of the first column; positions are labelled 1-based.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure; close it (or hand it to :func:`save_pdf_pages`) when done.
    """
    scores = _as_scores(hypothetical, "hypothetical")
    encoding = _as_scores(one_hot, "one_hot")
    check(
        scores.shape == encoding.shape,
        f"hypothetical scores have shape {scores.shape} but one_hot has {encoding.shape}; "
        "pass the attribution and encoding of the same sequence",
    )
    projected = scores * encoding
    length = scores.shape[1]
    fig, (logo_ax, heat_ax, track_ax) = plt.subplots(
        3,
        1,
        sharex=True,
        figsize=(_figure_width(length), 5.8),
        height_ratios=(2.6, 1.2, 1.2),
        layout="constrained",
    )
    plot_logo(projected, ax=logo_ax, start=start, ylabel="projected", motif_hits=motif_hits)
    plot_heatmap(scores, ax=heat_ax, start=start)
    heat_ax.set_ylabel("hypothetical")
    plot_track(projected.sum(axis=0), ax=track_ax, start=start, ylabel="per position")
    for ax in (logo_ax, heat_ax):
        ax.set_xlabel("")
        ax.tick_params(labelbottom=False)
    fig.align_ylabels((logo_ax, heat_ax, track_ax))
    parts = [str(record_id)] + ([method] if method else [])
    if prediction is not None:
        parts.append(f"prediction {float(prediction):.3g}")
    fig.suptitle(" — ".join(parts), fontsize=12)
    return fig


# --------------------------------------------------------------------------- #
# Generic helpers for evaluation and shortcut reports
# --------------------------------------------------------------------------- #


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
    xs = _as_array(x)
    check(xs.ndim == 1 and xs.size > 0, f"x must be a non-empty 1-D array, got shape {xs.shape}")
    check(len(curves) > 0, "curves is empty; pass at least one {label: values} entry")
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.6), layout="constrained")
    for label, values in curves.items():
        ys = _as_array(values)
        check(ys.shape == xs.shape, f"curve {label!r} has shape {ys.shape} but x has {xs.shape}")
        ax.plot(xs, ys, label=str(label), linewidth=1.5)
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
    ax
        Axes to draw on; a new figure otherwise.
    xlabel, ylabel, title
        Axis labels and title.

    Returns
    -------
    matplotlib.axes.Axes
    """
    xs = _as_array(x)
    ys = _as_array(y)
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


# --------------------------------------------------------------------------- #
# Saving
# --------------------------------------------------------------------------- #


def _figure_format(path: Path, format: str | None) -> str:
    """The output format from ``format`` or, failing that, the file suffix."""
    chosen = (format or path.suffix.lstrip(".")).lower()
    check(
        chosen in _FIGURE_FORMATS,
        f"cannot tell how to save figure {str(path)!r}: use a .png, .svg or .pdf suffix or format=",
    )
    return chosen


def save_figure(fig: Figure, path: str | os.PathLike, format: str | None = None) -> Path:
    """Save ``fig`` as PNG (150 dpi), SVG or PDF, atomically.

    The figure is written to a temporary file in the target directory and
    renamed over ``path``, so an interrupted run never leaves a truncated file
    that looks complete.  The figure is left open; close it yourself (or use
    :func:`save_pdf_pages`, which does).

    Parameters
    ----------
    fig
        The figure to save.
    path
        Destination file.
    format
        ``"png"``, ``"svg"`` or ``"pdf"``; taken from the suffix of ``path`` when
        omitted.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    chosen = _figure_format(path, format)
    with atomic_path(path) as temporary:
        fig.savefig(temporary, format=chosen, dpi=_PNG_DPI, bbox_inches="tight")
    return path


def save_pdf_pages(figures: Iterable[Figure], path: str | os.PathLike) -> int:
    """Write figures as the pages of one PDF, atomically, closing each as it goes.

    ``figures`` may be a generator, so a report over thousands of records
    holds one figure in memory at a time.

    Parameters
    ----------
    figures
        Figures to write, one per page, in order.  Each is closed once written.
    path
        Destination ``.pdf`` file.

    Returns
    -------
    int
        Number of pages written.
    """
    path = Path(path)
    pages = 0
    with atomic_path(path) as temporary:
        with PdfPages(temporary) as pdf:
            for fig in figures:
                try:
                    pdf.savefig(fig, bbox_inches="tight")
                finally:
                    plt.close(fig)
                pages += 1
        check(pages > 0, f"no figures to write to {str(path)!r}; the input was empty")
    return pages
