"""How a figure is sized and lettered: screen or paper, inches, dpi, font size, and the window drawn.

A logo that fills a screen (20 in wide at 10 pt) is unreadable once shrunk
into a journal column: its tick labels end up at 3 pt.  A figure meant for
print is therefore drawn at its print size (a 3.5-in single or 7.2-in double
column) with fonts at their print size (at least 7 pt), and saved as vector
files whose text stays text (editable in Illustrator or Inkscape, searchable
in the PDF).  :class:`FigureOptions` holds those choices; the plotting
functions take one and never change it.

This module imports neither matplotlib nor torch, so the command line can
parse ``--window 80:140`` before anything heavy is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass

from seqsal.checks import check_choice, check_int, check_number
from seqsal.choices import FIGURE_STYLES
from seqsal.errors import check

#: Widths of journal columns, in inches.
SINGLE_COLUMN = 3.5
DOUBLE_COLUMN = 7.2

#: Heights in inches of each figure kind, per style: (screen, paper).
_HEIGHTS = {"logo": (2.6, 1.5), "stacked": (5.8, 3.0), "heatmap": (1.8, 1.1), "track": (1.6, 1.0)}


@dataclass(frozen=True)
class FigureOptions:
    """Size, resolution, lettering and window of a figure.

    Parameters
    ----------
    style
        ``"screen"``: as wide as the sequence needs (about 1 in per 12 bp,
        7 to 22 in), 10-pt text, PNG at 150 dpi.  ``"paper"``: a 7.2-in double
        column, 7-pt text, PNG at 300 dpi; pass ``width=3.5`` for a single
        column.
    width, height
        Figure size in inches; ``None`` takes the style's.
    dpi
        Resolution of PNG files; ``None`` takes the style's.  Vector files
        (PDF, SVG) are resolution-free.
    font_size
        Text size in points at the figure's own size; ``None`` takes the style's.
    window
        ``(first, last)``: draw only positions ``first`` to ``last`` (1-based,
        inclusive, in the coordinates the axis is labelled with); ``None``
        draws everything.
    """

    style: str = "screen"
    width: float | None = None
    height: float | None = None
    dpi: int | None = None
    font_size: float | None = None
    window: tuple[int, int] | None = None

    def checked(self) -> FigureOptions:
        """Return ``self`` once every field is valid; a bad one raises ``SeqsalError`` naming it."""
        check_choice(self.style, "style", FIGURE_STYLES)
        for name in ("width", "height"):
            value = getattr(self, name)
            if value is not None:
                check_number(value, name, minimum=0.5, maximum=50)
        if self.dpi is not None:
            check_int(self.dpi, "dpi", minimum=30, maximum=1200)
        if self.font_size is not None:
            check_number(self.font_size, "font_size", minimum=4, maximum=30)
        if self.window is not None:
            check(len(self.window) == 2 and all(isinstance(v, int) for v in self.window)
                  and 1 <= self.window[0] <= self.window[1],
                  f"window must be (first, last) with 1 <= first <= last, got {self.window!r}")
        return self

    @property
    def paper(self) -> bool:
        return self.style == "paper"

    def figure_width(self, length: int) -> float:
        """Width in inches of a figure of ``length`` positions.

        On screen, about one inch per 12 bp keeps letters of a 249-bp enhancer
        distinct at 150 dpi; the cap keeps very long inputs printable.
        """
        if self.width is not None:
            return float(self.width)
        if self.paper:
            return DOUBLE_COLUMN
        return figure_width(length)

    def figure_height(self, kind: str) -> float:
        """Height in inches of a figure of ``kind`` (``logo``, ``stacked``, ``heatmap`` or ``track``)."""
        if self.height is not None:
            return float(self.height)
        return _HEIGHTS[kind][1 if self.paper else 0]

    def resolved_dpi(self) -> int:
        """PNG resolution: the given dpi, else 300 for paper and 150 for screen."""
        return self.dpi if self.dpi is not None else (300 if self.paper else 150)

    def resolved_font_size(self) -> float:
        """Text size in points: the given size, else 7 for paper and 10 for screen."""
        return float(self.font_size) if self.font_size is not None else (7.0 if self.paper else 10.0)

    def rc(self) -> dict:
        """matplotlib ``rcParams`` for this style: font sizes, line widths, and text kept as text in vector files."""
        size = self.resolved_font_size()
        params = {
            "font.size": size, "axes.labelsize": size, "axes.titlesize": size + 1,
            "xtick.labelsize": size, "ytick.labelsize": size, "legend.fontsize": size,
            "figure.titlesize": size + 2,
            "svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42,
        }
        if self.paper:
            params.update({"axes.linewidth": 0.6, "xtick.major.width": 0.6, "ytick.major.width": 0.6,
                           "xtick.major.size": 2.5, "ytick.major.size": 2.5})
        return params

    def columns(self, start: int, length: int) -> tuple[int, int]:
        """The ``[lo, hi)`` columns of a ``length``-column array whose first column is 0-based ``start``
        that fall inside the window (all of them without one)."""
        if self.window is None:
            return 0, length
        first, last = self.window
        lo = max(first - 1 - start, 0)
        hi = min(last - start, length)
        check(lo < hi, f"window {first}:{last} lies outside positions {start + 1}-{start + length} of the figure")
        return lo, hi


def parse_window(text: str) -> tuple[int, int]:
    """``"80:140"`` as ``(80, 140)``: the first and last position to draw, 1-based and inclusive."""
    parts = text.split(":")
    check(len(parts) == 2 and all(part.strip().isdigit() for part in parts),
          f"window must be FIRST:LAST, two positive integers such as 80:140, got {text!r}")
    first, last = (int(part) for part in parts)
    check(1 <= first <= last, f"window {text!r} must have 1 <= FIRST <= LAST (1-based, inclusive)")
    return first, last


def figure_width(length: int | float, minimum: float = 7.0) -> float:
    """Screen width in inches for ``length`` positions: about one inch per 12 bp, at least ``minimum``, at most 22.

    Figures with titles or legends beside short sequences ask for a larger
    ``minimum``; the cap keeps very long inputs printable.
    """
    return float(min(max(length / 12, minimum), 22))
