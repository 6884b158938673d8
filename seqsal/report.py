"""Self-contained HTML reports: one file with text, tables and embedded figures.

A report reads well on a laptop screen: a wide table scrolls inside its own
box instead of pushing the page past the window, figures shrink to the page
width, and a cell with no applicable value reads "—" (explained under the
table), never ``nan``.

A report has to survive being e-mailed, attached to a lab notebook or opened
on a cluster node without internet, so everything is inline: figures are
base64 PNG data URIs, the stylesheet is a ``<style>`` block, and nothing is
fetched from elsewhere (no CDN, web font or script).  All user-supplied text is
HTML-escaped; :meth:`Report.add_html` is the one deliberate way to insert raw
markup.
"""

from __future__ import annotations

import base64
import html
import io
import numbers
import os
from pathlib import Path
from typing import Any, Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

from seqsal.errors import check
from seqsal.io import atomic_path

_PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: What a table cell shows where no value applies (instead of ``nan``).
MISSING = "—"
_FIGURE_DPI = 110

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       line-height: 1.5; max-width: 1100px; margin: 2em auto; padding: 0 1.5em; }
h1 { border-bottom: 2px solid #444; padding-bottom: 0.2em; }
h2 { border-bottom: 1px solid #ccc; padding-bottom: 0.15em; margin-top: 1.8em; }
div.table { max-width: 100%; overflow-x: auto; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; overflow-wrap: break-word; }
th { background: #f0f0f0; }
tbody tr:nth-child(even) { background: #fafafa; }
td.number { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
caption { caption-side: bottom; color: #555; font-size: 0.9em; padding-top: 0.4em; text-align: left; }
figure { margin: 1.5em 0; }
figure img { max-width: 100%; height: auto; }
figcaption { color: #555; font-size: 0.9em; }
p.note { color: #777; font-size: 0.85em; }
img, pre { max-width: 100%; }
""".strip()


class Report:
    """An HTML report built up section by section and written as one file.

    Every ``add_*`` method appends a block and returns the report, so calls
    chain::

        Report("Attribution audit").add_paragraph("...").add_figure(fig).write("report.html")

    Parameters
    ----------
    title
        Page title and top-level heading.
    """

    def __init__(self, title: str) -> None:
        self.title = title
        self._blocks: list[str] = []

    def add_heading(self, text: str, level: int = 2) -> Report:
        """Add a section heading; level 1 is reserved in spirit for the title."""
        check(level in range(1, 7), f"heading level must be 1-6, got {level!r}")
        self._blocks.append(f"<h{level}>{html.escape(text)}</h{level}>")
        return self

    def add_paragraph(self, text: str) -> Report:
        """Add a paragraph of plain text (escaped, so ``<`` and ``&`` show as typed)."""
        self._blocks.append(f"<p>{html.escape(text)}</p>")
        return self

    def add_html(self, raw: str) -> Report:
        """Add trusted markup verbatim; never pass user or file-derived text here."""
        self._blocks.append(raw)
        return self

    def add_key_values(
        self, mapping: Mapping[str, Any], caption: str | None = None, float_format: str = "{:.4g}"
    ) -> Report:
        """Add a two-column table, e.g. run parameters or a manifest summary.

        Parameters
        ----------
        mapping
            Keys and values, shown in order; floats use ``float_format``.
        caption
            Text under the table.
        float_format
            ``str.format`` pattern for float values.
        """
        rows = "".join(
            f"<tr><th>{html.escape(str(key))}</th><td>{html.escape(_format_value(value, float_format))}</td></tr>"
            for key, value in mapping.items()
        )
        table = f'<table class="key-values">{_caption(caption)}<tbody>{rows}</tbody></table>'
        self._blocks.append(_wrapped(table))
        return self

    def add_table(
        self,
        df: pd.DataFrame,
        caption: str | None = None,
        max_rows: int = 200,
        float_format: str = "{:.3g}",
    ) -> Report:
        """Add a data frame as a table, truncated to ``max_rows`` rows.

        Truncation keeps a report of thousands of records small enough to open;
        a note says how many rows were left out, so nobody mistakes the head
        for the whole.  Missing values (NaN, None) read ``—``, with a note
        under the table saying what that means.  A table wider than the page
        scrolls inside its own box.

        Parameters
        ----------
        df
            The table; its index is shown when it is not the default range.
        caption
            Text under the table.
        max_rows
            Rows shown at most.
        float_format
            ``str.format`` pattern for float cells.
        """
        check(isinstance(df, pd.DataFrame), f"add_table needs a pandas DataFrame, got {type(df).__name__}")
        check(max_rows > 0, f"max_rows must be positive, got {max_rows!r}")
        shown = df.head(max_rows)
        show_index = not isinstance(df.index, pd.RangeIndex)
        header_cells = ([html.escape(str(df.index.name or ""))] if show_index else []) + [
            html.escape(str(column)) for column in df.columns
        ]
        header = "<tr>" + "".join(f"<th>{cell}</th>" for cell in header_cells) + "</tr>"
        body = []
        # itertuples keeps each column's type; iterrows would turn ints into floats in mixed rows.
        for index, row in zip(shown.index, shown.itertuples(index=False, name=None)):
            cells = [f"<th>{html.escape(str(index))}</th>"] if show_index else []
            for value in row:
                css = ' class="number"' if _is_number(value) else ""
                cells.append(f"<td{css}>{html.escape(_format_value(value, float_format))}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        self._blocks.append(
            _wrapped(f"<table>{_caption(caption)}<thead>{header}</thead><tbody>{''.join(body)}</tbody></table>")
        )
        if any(_is_missing(value) for row in shown.itertuples(index=False, name=None) for value in row):
            self._blocks.append(f'<p class="note">{MISSING} marks a value that does not apply to that row.</p>')
        if len(df) > max_rows:
            self._blocks.append(f'<p class="note">Showing the first {max_rows} of {len(df)} rows.</p>')
        return self

    def add_figure(self, fig: Figure, caption: str | None = None, close: bool = True) -> Report:
        """Embed a matplotlib figure as a PNG data URI.

        Parameters
        ----------
        fig
            The figure to embed.
        caption
            Text under the figure, also used as the image's alt text.
        close
            Close the figure once embedded, so building a long report keeps
            memory flat; pass ``False`` to keep drawing on it.
        """
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=_FIGURE_DPI, bbox_inches="tight")
        if close:
            plt.close(fig)
        self._blocks.append(_figure_html(buffer.getvalue(), caption))
        return self

    def add_image(self, path: str | os.PathLike, caption: str | None = None) -> Report:
        """Embed an existing PNG file, e.g. a figure saved by an earlier pipeline step."""
        path = Path(path)
        check(path.is_file(), f"image {str(path)!r} does not exist; check the path")
        data = path.read_bytes()
        check(data.startswith(_PNG_MAGIC), f"image {str(path)!r} is not a PNG file; save figures as .png to embed them")
        self._blocks.append(_figure_html(data, caption))
        return self

    def to_html(self) -> str:
        """The complete HTML document as a string."""
        title = html.escape(self.title)
        body = "\n".join(self._blocks)
        return (
            "<!DOCTYPE html>\n"
            '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>\n{_STYLE}\n</style>\n</head>\n"
            f"<body>\n<h1>{title}</h1>\n{body}\n</body>\n</html>\n"
        )

    def write(self, path: str | os.PathLike) -> Path:
        """Write the report to ``path`` atomically (temporary file, then rename).

        An interrupted run never leaves a half-written report that looks
        complete.  Returns ``path``.
        """
        path = Path(path)
        with atomic_path(path) as temporary:
            temporary.write_text(self.to_html(), encoding="utf-8")
        return path


def _is_number(value: Any) -> bool:
    """True for ints and floats (numpy scalars included) but not booleans, for right-aligned cells."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_missing(value: Any) -> bool:
    """True for ``None``, NaN and pandas' missing markers: cells where no value applies."""
    if value is None:
        return True
    if isinstance(value, str) or not pd.api.types.is_scalar(value):
        return False
    return bool(pd.isna(value))


def _format_value(value: Any, float_format: str) -> str:
    """Missing values as ``—``; floats through ``float_format``; everything else (ints included) through ``str``."""
    if _is_missing(value):
        return MISSING
    if _is_number(value) and not isinstance(value, numbers.Integral):
        return float_format.format(float(value))
    return str(value)


def _wrapped(table: str) -> str:
    """A table inside a box that scrolls sideways when the table is wider than the page."""
    return f'<div class="table">{table}</div>'


def _caption(caption: str | None) -> str:
    """A ``<caption>`` element, or nothing."""
    return f"<caption>{html.escape(caption)}</caption>" if caption else ""


def _figure_html(png: bytes, caption: str | None) -> str:
    """A ``<figure>`` holding ``png`` as a data URI, with an optional caption."""
    encoded = base64.b64encode(png).decode("ascii")
    alt = html.escape(caption or "figure", quote=True)
    figcaption = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img src="data:image/png;base64,{encoded}" alt="{alt}">{figcaption}</figure>'
