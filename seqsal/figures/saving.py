"""Writing figures to files: PNG, SVG or PDF, atomically, with text kept as text in vector files.

One place decides how a figure becomes a file, so every command's figures
share a resolution, a PNG compression and the rule that an interrupted run
never leaves a truncated file that looks complete.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import matplotlib.pyplot as plt
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure

from seqsal.choices import FIGURE_FORMATS
from seqsal.errors import check
from seqsal.io import atomic_path

#: Resolution of PNG figures unless a figure style says otherwise.
PNG_DPI = 150
#: Vector files keep text as text (editable, searchable) instead of outlines.
_VECTOR_TEXT = {"svg.fonttype": "none", "pdf.fonttype": 42, "ps.fonttype": 42}


def figure_format(path: Path, format: str | None) -> str:
    """The output format from ``format`` or, failing that, the file suffix; a format seqsal cannot write is refused."""
    chosen = (format or path.suffix.lstrip(".")).lower()
    check(
        chosen in FIGURE_FORMATS,
        f"cannot tell how to save figure {str(path)!r}: use a .png, .svg or .pdf suffix or format=",
    )
    return chosen


def save_figure(fig: Figure, path: str | os.PathLike, format: str | None = None, *, dpi: int = PNG_DPI,
                tight: bool = True) -> Path:
    """Save ``fig`` as PNG, SVG or PDF, atomically; text in SVG and PDF stays text.

    The figure is written to a temporary file in the target directory and
    renamed over ``path``, so an interrupted run never leaves a truncated file
    that looks complete.  Fonts are embedded as TrueType in PDF and kept as
    ``<text>`` in SVG, so labels can be edited and searched.  The figure is
    left open; close it yourself (or use :func:`save_pdf_pages`, which does).

    Parameters
    ----------
    fig
        The figure to save.
    path
        Destination file.
    format
        ``"png"``, ``"svg"`` or ``"pdf"``; taken from the suffix of ``path`` when
        omitted.
    dpi
        Resolution of a PNG (default 150; ``FigureOptions.resolved_dpi()`` for a styled figure).
    tight
        Crop to the drawn content.  Pass ``False`` to keep the figure's exact
        size, e.g. a 7.2-in paper figure (its layout already fits its text).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    chosen = figure_format(path, format)
    # zlib level 3 instead of 6: a third less time encoding a logo, a third more bytes.
    extra = {"pil_kwargs": {"compress_level": 3}} if chosen == "png" else {}
    with atomic_path(path) as temporary, plt.rc_context(_VECTOR_TEXT):
        fig.savefig(temporary, format=chosen, dpi=dpi, bbox_inches="tight" if tight else None, **extra)
    return path


def save_pdf_pages(figures: Iterable[Figure], path: str | os.PathLike, *, tight: bool = True) -> int:
    """Write figures as the pages of one PDF, atomically, closing each as it goes.

    ``figures`` may be a generator, so a report over thousands of records
    holds one figure in memory at a time.  Text stays text (TrueType fonts).

    Parameters
    ----------
    figures
        Figures to write, one per page, in order.  Each is closed once written.
    path
        Destination ``.pdf`` file.
    tight
        Crop each page to its drawn content; ``False`` keeps each figure's own size.

    Returns
    -------
    int
        Number of pages written.
    """
    path = Path(path)
    pages = 0
    with atomic_path(path) as temporary, plt.rc_context(_VECTOR_TEXT):
        with PdfPages(temporary) as pdf:
            for fig in figures:
                try:
                    pdf.savefig(fig, bbox_inches="tight" if tight else None)
                finally:
                    plt.close(fig)
                pages += 1
        check(pages > 0, f"no figures to write to {str(path)!r}; the input was empty")
    return pages
