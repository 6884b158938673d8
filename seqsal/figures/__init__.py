"""The parts :mod:`seqsal.plot` draws attribution figures with: options, glyphs, panels, axes, generic charts.

- ``style``: :class:`~seqsal.figures.style.FigureOptions` (screen or paper,
  inches, dpi, font size, window); imports neither matplotlib nor torch.
- ``glyphs``: the fast logo engine (letter outlines laid out once, placed by
  affine maps into one collection per logo).
- ``axes``: conventions every panel shares (1-based positions, the window,
  lettering, hits moved into the window).
- ``panels``: the heatmap and per-position track.
- ``charts``: named curves and labelled scatter plots for reports.
- ``saving``: figures to PNG, SVG or PDF files, atomically, text kept as text.
- ``png``: a PNG writer for a figure's pixels (one filter, fast deflate), so a
  thousand logos are not bound by image compression.

Users call :mod:`seqsal.plot`; this package keeps it under the size limit
and one concept per module.
"""
