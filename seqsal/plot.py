"""Figures of one sequence's attributions: sequence logos, heatmaps, per-position tracks, the stacked figure.

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

Size, lettering, resolution and the window drawn come from a
:class:`seqsal.figures.style.FigureOptions` (``figure=``): ``screen`` figures are
as wide as the sequence needs, ``paper`` figures are drawn at a journal
column's width with 7-pt text.  Logos are drawn by the fast glyph engine of
:mod:`seqsal.figures.glyphs` by default; ``engine="logomaker"`` draws them with
logomaker, the reference the fast engine is tested against.  Generic curves
and scatter plots live in :mod:`seqsal.figures.charts` (re-exported here).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Iterable

import logomaker
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from seqsal.checks import check_choice
from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.figures.axes import (
    apply_font_size,
    as_scores,
    compact_ticks,
    new_axes,
    position_labels,
    prediction_title,
    style_position_axis,
    windowed,
)
from seqsal.figures.charts import plot_curves, plot_scatter
from seqsal.figures.glyphs import draw_glyphs
from seqsal.figures.panels import (
    NEGATIVE_COLOR,
    POSITIVE_COLOR,
    plot_heatmap,
    plot_track,
    heatmap_mesh,
    place_colorbar_offset,
    set_heatmap,
    track_bars,
    track_limits,
)
from seqsal.figures.style import FigureOptions, figure_width
from seqsal.figures.png import write_png
from seqsal.figures.saving import PNG_DPI, figure_format, save_figure, save_pdf_pages

__all__ = [
    "ENGINES", "AttributionCanvas", "NEGATIVE_COLOR", "POSITIVE_COLOR", "plot_attribution", "plot_curves", "plot_heatmap", "plot_logo",
    "figure_width", "plot_scatter", "plot_track", "prediction_title", "save_figure", "save_pdf_pages",
]

#: Motif boxes avoid the green/blue/orange/red of the classic ACGT letters, so
#: a box never looks like part of a letter.
_MOTIF_COLORS = ("#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")

#: Logo engines: ``fast`` (one path collection per logo) and ``logomaker`` (the reference, a patch per letter).
ENGINES = ("fast", "logomaker")

#: Characters the stacked figure leaves room for in a value axis's tick labels (:func:`compact_ticks`: "−0.125").
TICK_LABEL_CHARACTERS = 6



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
    engine: str = "fast",
    figure: FigureOptions | None = None,
) -> Axes:
    """Draw a sequence logo of a ``(4, L)`` score matrix.

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
        Axes to draw on; a new figure sized by ``figure`` otherwise.
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
        above the axes; a palindrome's hits on both strands get one label, strand ``±``.
    color_scheme
        Any logomaker colour scheme name.
    engine
        ``"fast"`` (default: every glyph of a letter in one path, many times
        faster to draw and save) or ``"logomaker"`` (the reference).
    figure
        Size, font size and window (:class:`~seqsal.figures.style.FigureOptions`);
        screen defaults when omitted.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check_choice(engine, "engine", ENGINES)
    options = (figure or FigureOptions()).checked()
    matrix, start, hits = windowed(as_scores(scores), start, motif_hits, options)
    length = matrix.shape[1]
    restyle = ax is None or figure is not None
    if ax is None:
        ax = new_axes(options, length, "logo")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.axhline(0.0, color="black", linewidth=0.6, zorder=1)
    ax.set_ylabel(ylabel)
    if restyle:
        apply_font_size([ax], options)
    _fill_logo(ax, matrix, start, hits, engine, color_scheme, title)
    return ax


def _fill_logo(ax: Axes, matrix: np.ndarray, start: int, hits: list[Any] | None, engine: str, color_scheme: str,
               title: str | None) -> int:
    """The part of a logo that changes from record to record: letters, limits, ticks, motif boxes, title.

    Returns the number of motif label rows drawn above the axes.
    """
    length = matrix.shape[1]
    positions = position_labels(start, length)
    if engine == "fast":
        draw_glyphs(ax, matrix, positions, ALPHABET, color_scheme)
    else:
        _logomaker_glyphs(ax, matrix, positions, color_scheme)
    _pad_ylim(ax, matrix)
    style_position_axis(ax, start, length)
    levels = _draw_motif_hits(ax, hits, start, length) if hits is not None else 0
    if title is not None:
        ax.set_title(title, pad=6 + 13 * levels)
    return levels


def _logomaker_glyphs(ax: Axes, matrix: np.ndarray, positions: np.ndarray, color_scheme: str) -> None:
    """Draw the letters with logomaker, one patch per letter (the reference engine)."""
    frame = pd.DataFrame(matrix.T, index=positions, columns=list(ALPHABET))
    with warnings.catch_warnings():
        # An all-zero matrix (a dead gradient) is legitimate; _pad_ylim fixes
        # the empty y range logomaker warns about.
        warnings.filterwarnings("ignore", message="Attempting to set identical low and high ylims")
        logomaker.Logo(frame, ax=ax, color_scheme=color_scheme, flip_below=True, baseline_width=0)


def _pad_ylim(ax: Axes, matrix: np.ndarray) -> None:
    """Y limits spanning the stacked letters with a little headroom, and never empty.

    An all-zero attribution (a dead gradient) would otherwise give a
    zero-height axis.
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
    task: str = "regression",
    unit: str = "model output",
    signed: bool | None = None,
    engine: str = "fast",
    figure: FigureOptions | None = None,
) -> Figure:
    """The standard figure for one explained sequence: logo, heatmap and track.

    Panels, sharing one x axis: (1) the logo of projected scores
    (hypothetical × one-hot), i.e. what each base of the actual sequence
    contributes, with motif hits boxed; (2) the hypothetical scores as a
    heatmap, i.e. what each possible base would contribute, with a labelled
    colour bar; (3) the per-position score (projected summed over rows).  The
    title names the record, the method and the model's output, saying which
    number it is, so a page torn out of a report still says what it shows.
    To draw many records, reuse one :class:`AttributionCanvas` instead.

    Parameters
    ----------
    hypothetical
        ``(4, L)`` hypothetical attribution scores.
    one_hot
        ``(4, L)`` one-hot encoding of the same sequence.
    record_id
        FASTA record identifier, shown in the title.
    prediction
        Model output for this record (a classifier's logit), shown in the title when given.
    method
        Attribution method name, shown in the title when given.
    motif_hits
        Hits to box on the logo; see :func:`plot_logo`.
    start
        0-based coordinate of the first column; positions are labelled 1-based.
    task
        ``"classification"`` titles the prediction as a logit with its
        probability; anything else as a plain prediction.
    unit
        What the scores are in, e.g. ``"logit"``; shown on the axes and colour bar.
    signed
        Whether the method's scores can be negative (colour map of the
        heatmap); by default, whether any score here is negative.
    engine
        Logo engine, ``"fast"`` or ``"logomaker"``; see :func:`plot_logo`.
    figure
        Size, font size and window; screen defaults when omitted.

    Returns
    -------
    matplotlib.figure.Figure
        A new figure; close it (or hand it to :func:`save_pdf_pages`) when done.
    """
    options = (figure or FigureOptions()).checked()
    lo, hi = options.columns(start, as_scores(hypothetical, "hypothetical").shape[1])
    canvas = AttributionCanvas(hi - lo, unit=unit, engine=engine, figure=options)
    return canvas.draw(hypothetical, one_hot, record_id=record_id, prediction=prediction, method=method,
                       motif_hits=motif_hits, start=start, task=task, signed=signed)


class AttributionCanvas:
    """A stacked attribution figure built once and redrawn for record after record.

    Building a figure (axes, ticks, colour bar, layout) costs more than
    drawing one record in it, so batch drawing (the logos of ``seqsal explain``,
    ``seqsal logo --top 1000``) keeps one canvas per sequence length and
    replaces only what changes: letters, motif boxes, heatmap data, bars,
    limits, ticks and the title.  The layout is fixed in inches from the
    font size (no layout engine runs per record), so every figure has the
    size the options ask for.  :meth:`save` writes PNG by redrawing only
    those changing parts over pixels of the rest cached from the first
    record (frames, position axis, labels), which is most of the text a
    figure holds.

    Parameters
    ----------
    length
        Number of positions drawn (after the window).
    unit
        What the scores are in, e.g. ``"logit"``; shown on the axes and colour bar.
    engine
        Logo engine, ``"fast"`` or ``"logomaker"``.
    figure
        Size, font size and window; screen defaults when omitted.
    """

    def __init__(self, length: int, *, unit: str = "model output", engine: str = "fast",
                 figure: FigureOptions | None = None) -> None:
        check_choice(engine, "engine", ENGINES)
        self.options = (figure or FigureOptions()).checked()
        self.length, self.engine = length, engine
        self.figure = plt.figure(figsize=(self.options.figure_width(length), self.options.figure_height("stacked")))
        self.logo_ax, self.heat_ax, self.track_ax, colorbar_ax = (self.figure.add_axes((0, 0, 1, 1))
                                                                  for _ in range(4))
        for ax in (self.heat_ax, self.track_ax):
            ax.sharex(self.logo_ax)
        for ax in (self.logo_ax, self.track_ax):
            ax.spines[["top", "right"]].set_visible(False)
            ax.axhline(0.0, color="black", linewidth=0.6, zorder=1)
            ax.yaxis.set_major_formatter(compact_ticks())  # the colour bar gets its own through format=
        self.heatmap = heatmap_mesh(self.heat_ax, length)
        size = self.options.resolved_font_size()
        colorbar = self.figure.colorbar(self.heatmap, cax=colorbar_ax, format=compact_ticks())
        colorbar.set_label(f"hypothetical\n({unit})", size=size)
        colorbar_ax.tick_params(labelsize=size)
        place_colorbar_offset(colorbar)
        for ax, label in ((self.logo_ax, "projected"), (self.heat_ax, "hypothetical"), (self.track_ax, "per position")):
            ax.set_ylabel(label if ax is self.heat_ax else f"{label}\n({unit})")
        for ax in (self.logo_ax, self.heat_ax):
            ax.tick_params(labelbottom=False)
        apply_font_size((self.logo_ax, self.heat_ax, self.track_ax), self.options)
        # The value axes' titles never change from record to record, so they are drawn as figure text at
        # places fixed in inches (:meth:`_layout`), beyond the widest compact tick labels, and go into the
        # cached layer; their axis labels keep the text but are not drawn.
        self._value_titles = {}
        for ax in (self.logo_ax, self.track_ax, colorbar_ax):
            ax.yaxis.offsetText.set_fontsize(size)
            label = ax.yaxis.label
            self._value_titles[ax] = self.figure.text(0, 0, label.get_text(), rotation=90, fontsize=size,
                                                      va="center", ha="left" if ax is colorbar_ax else "right",
                                                      multialignment="center")
            label.set_visible(False)
        self.title = self.figure.suptitle("", fontsize=size + 2)
        self._zero_lines = [ax.lines[0] for ax in (self.logo_ax, self.track_ax)]
        self._drawn: list[Any] = []
        self._rows = -1
        self._start = 0
        self._background: tuple[tuple, Any] | None = None

    def _layout(self, label_rows: int) -> None:
        """Place the panels in inches: margins for labels from the font size, room above for motif labels."""
        size = self.options.resolved_font_size() / 72
        width, height = self.figure.get_size_inches()
        # Beside a value axis: a two-line title (2.2 em), the widest compact tick label and 9 pt of tick and padding.
        ticks = 0.64 * TICK_LABEL_CHARACTERS * size + 9 / 72
        left, right = 6.3 * size + 0.14, 6.3 * size + 0.3
        bottom, top = 2.6 * size + 0.16, 1.5 * size + 0.16 + label_rows * 13 / 72
        gap, track_gap = 0.08, 1.4 * size + 0.04  # the track's gap holds its "1e−3" when it has one
        panel_width = width - left - right
        usable = height - bottom - top - gap - track_gap
        heights = np.array([2.6, 1.2, 1.2]) / 5.0 * usable
        # The heatmap's four rows each need a line of text for their A/C/G/T label; when motif label rows
        # above the logo leave too little height, the logo gives up what the heatmap needs.
        shortfall = max(0.0, 4 * 1.25 * size - heights[1])
        heights += np.array([-shortfall, shortfall, 0.0])
        y_track = bottom
        y_heat = y_track + heights[2] + track_gap
        y_logo = y_heat + heights[1] + gap
        for ax, y, h in ((self.logo_ax, y_logo, heights[0]), (self.heat_ax, y_heat, heights[1]),
                         (self.track_ax, y_track, heights[2])):
            ax.set_position((left / width, y / height, panel_width / width, h / height))
            if ax in self._value_titles:
                self._value_titles[ax].set_position(((left - ticks) / width, (y + h / 2) / height))
        colorbar_left = left + panel_width + 0.06
        self.figure.axes[3].set_position((colorbar_left / width, y_heat / height, 0.1 / width, heights[1] / height))
        self._value_titles[self.figure.axes[3]].set_position(((colorbar_left + 0.1 + ticks) / width,
                                                              (y_heat + heights[1] / 2) / height))
        self.title.set_y(1 - 0.06 / height)
        self._rows = label_rows

    def draw(self, hypothetical: Any, one_hot: Any, *, record_id: str, prediction: float | None = None,
             method: str = "", motif_hits: Iterable[Any] | None = None, start: int = 0,
             task: str = "regression", signed: bool | None = None) -> Figure:
        """Draw one record (arguments as for :func:`plot_attribution`) and return the canvas's figure."""
        scores = as_scores(hypothetical, "hypothetical")
        encoding = as_scores(one_hot, "one_hot")
        check(scores.shape == encoding.shape,
              f"hypothetical scores have shape {scores.shape} but one_hot has {encoding.shape}; "
              "pass the attribution and encoding of the same sequence")
        scores, window_start, hits = windowed(scores, start, motif_hits, self.options)
        encoding = encoding[:, window_start - start:window_start - start + scores.shape[1]]
        check(scores.shape[1] == self.length,
              f"record {record_id!r} has {scores.shape[1]} positions to draw but this canvas holds {self.length}")
        projected = scores * encoding
        self._start = window_start
        for artist in self._drawn:
            artist.remove()
        if self._rows < 0:
            self._layout(0)
        before = set(self.logo_ax.get_children())
        rows = _fill_logo(self.logo_ax, projected, window_start, hits, self.engine, "classic", None)
        self.logo_ax.set_xlabel("")
        set_heatmap(self.heatmap, scores, window_start, signed=signed)
        bars = track_bars(projected.sum(axis=0), window_start)
        self.track_ax.add_collection(bars)
        self.track_ax.set_ylim(*track_limits(projected.sum(axis=0)))
        self.track_ax.set_xlabel("position (bp)")
        self._drawn = [artist for artist in self.logo_ax.get_children() if artist not in before] + [bars]
        if rows != self._rows:
            self._layout(rows)
        parts = [str(record_id)] + ([method] if method else [])
        if prediction is not None:
            parts.append(prediction_title(prediction, task))
        self.title.set_text(" — ".join(parts))
        return self.figure

    def save(self, path: str | os.PathLike, format: str | None = None, *, dpi: int = PNG_DPI) -> Path:
        """Write the record drawn last to ``path`` (PNG, SVG or PDF by ``format`` or suffix); returns the path.

        PNG is drawn in two layers: what every record of this canvas shares
        (frames, the position axis, axis labels) is drawn once and kept as
        pixels; each record redraws only what it changes (letters, marks,
        heatmap, bars, y axes, colour bar, title) on a copy of them.  The
        picture is the one ``savefig`` draws, to the odd anti-aliased edge
        pixel (``tests/test_plot.py`` compares them).  SVG and PDF go through
        :func:`seqsal.plot.save_figure`.
        """
        if figure_format(Path(path), format) != "png" or not isinstance(self.figure.canvas, FigureCanvasAgg):
            return save_figure(self.figure, path, format, dpi=dpi, tight=False)
        self._render(dpi)
        return write_png(path, np.asarray(self.figure.canvas.buffer_rgba()), dpi=dpi)

    def _changing(self) -> list[Any]:
        """The artists a record changes, in the order a full draw paints them (axes by axes, by z-order)."""
        changing = {id(artist) for artist in [*self._drawn, *self._zero_lines, self.heatmap, self.logo_ax.yaxis,
                                              self.track_ax.yaxis]}
        for ax in (self.logo_ax, self.heat_ax, self.track_ax):
            changing.update(id(spine) for spine in ax.spines.values())  # letters and bars may touch a frame
        ordered = []
        for ax in (self.logo_ax, self.heat_ax, self.track_ax):
            ordered += sorted((child for child in ax.get_children() if id(child) in changing),
                              key=lambda artist: artist.get_zorder())
        # The colour bar's strip depends only on the colour map (part of the cached layer's key); its scale
        # follows the record's scores.
        return ordered + [self.figure.axes[3].yaxis, self.title]

    def _render(self, dpi: int) -> None:
        """Paint the figure's pixels for the record drawn last: the cached shared layer, then the changes."""
        figure, canvas = self.figure, self.figure.canvas
        if figure.dpi != dpi:
            figure.set_dpi(dpi)
        changing = self._changing()
        key = (self._rows, self._start, dpi, self.heatmap.get_cmap().name)
        if self._background is None or self._background[0] != key:
            for artist in changing:
                artist.set_animated(True)
            try:
                canvas.draw()
            finally:
                for artist in changing:
                    artist.set_animated(False)
            self._background = (key, canvas.copy_from_bbox(figure.bbox))
        else:
            canvas.restore_region(self._background[1])
        for artist in changing:
            figure.draw_artist(artist)

    def close(self) -> None:
        """Close the canvas's figure."""
        plt.close(self.figure)
