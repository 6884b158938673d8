"""Fast sequence-logo glyphs: logomaker's look without its per-letter cost.

logomaker builds every letter of a logo as its own ``PathPatch``, laying out a
fresh ``TextPath`` (twice: the letter and the stretch limit) for each one, so a
249-bp logo costs about a thousand font lay-outs and a thousand artists to
draw.  Here each letter's outline is laid out once per process, normalised to
a unit box, and every glyph of a logo is that outline moved and stretched by
numpy arithmetic (the same affine map logomaker applies); all glyphs of one
letter are joined into one compound path, so a logo is a single
``PathCollection`` of four paths.  The placement rules are logomaker's
(``stack_order="big_on_top"``, ``flip_below=True``, glyph width 0.95, the
``"E"`` stretch limit, ``font_name="sans"`` in bold), so the two engines draw
the same picture; ``tests/test_plot.py`` compares their rasters.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np
from logomaker.src.colors import get_color_dict
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.textpath import TextPath

#: Glyph width in position units and the letter that limits horizontal stretch (logomaker's defaults).
GLYPH_WIDTH = 0.95
_STRETCH_LIMIT = "E"


@lru_cache(maxsize=None)
def unit_glyph(letter: str, flip: bool) -> tuple[np.ndarray, np.ndarray, float]:
    """A letter's outline scaled into the unit square, its path codes, and its width share.

    The width share is the fraction of the glyph box the letter may fill:
    logomaker stretches a letter to the box width, but never more than it
    would stretch ``"E"``, so a narrow letter such as ``"T"`` is not widened
    into a block.  ``flip`` turns the letter upside down (scores below zero).
    """
    font = FontProperties(family="sans", weight="bold")
    path = TextPath((0, 0), letter, size=1, prop=font)
    vertices = path.vertices.copy()
    if flip:
        vertices[:, 1] = -vertices[:, 1]
    extents = Path(vertices, path.codes).get_extents()  # the curves' extents, as logomaker measures them
    low = np.array([extents.x0, extents.y0])
    span = np.array([extents.width, extents.height])
    limit = TextPath((0, 0), _STRETCH_LIMIT, size=1, prop=font).get_extents().width
    share = min(1.0, span[0] / limit)
    return (vertices - low) / span, np.asarray(path.codes, dtype=np.uint8), share


def glyph_boxes(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Floors and ceilings of every glyph, stacked as logomaker stacks them.

    At each position the scores are sorted ascending; stacking starts at the
    sum of the negative scores and each glyph is as tall as its score's
    magnitude, so the largest positive letter ends on top and the most
    negative one at the bottom.  Returns ``(floor, ceiling)``, each ``(4, L)``
    in the row order of ``matrix``.
    """
    order = np.argsort(matrix, axis=0, kind="quicksort")
    ordered = np.take_along_axis(matrix, order, axis=0)
    base = np.minimum(ordered, 0).sum(axis=0)
    ceilings_sorted = base + np.cumsum(np.abs(ordered), axis=0)
    floors_sorted = ceilings_sorted - np.abs(ordered)
    floor = np.empty_like(matrix)
    ceiling = np.empty_like(matrix)
    np.put_along_axis(floor, order, floors_sorted, axis=0)
    np.put_along_axis(ceiling, order, ceilings_sorted, axis=0)
    return floor, ceiling


def letter_path(letter: str, centres: np.ndarray, floors: np.ndarray, heights: np.ndarray, flip: bool) -> Path:
    """One compound path of ``letter`` drawn at each centre, from its floor, as tall as its height."""
    unit, codes, share = unit_glyph(letter, flip)
    width = GLYPH_WIDTH * share
    n = centres.size
    vertices = np.empty((n, len(unit), 2))
    vertices[:, :, 0] = unit[None, :, 0] * width + (centres - width / 2)[:, None]
    vertices[:, :, 1] = unit[None, :, 1] * heights[:, None] + floors[:, None]
    return Path(vertices.reshape(-1, 2), np.tile(codes, n))


def draw_glyphs(ax: Axes, matrix: np.ndarray, positions: np.ndarray, alphabet: Sequence[str],
                color_scheme: str = "classic") -> PathCollection:
    """Draw the stacked letters of a ``(len(alphabet), L)`` matrix on ``ax`` as one collection.

    ``positions`` are the x centres of the columns.  Zero scores draw nothing,
    as in logomaker.  Returns the collection (one compound path per letter and
    orientation), so a caller can remove it to reuse the axes.
    """
    colors = get_color_dict(color_scheme, list(alphabet))
    floor, ceiling = glyph_boxes(matrix)
    paths, facecolors = [], []
    for row, letter in enumerate(alphabet):
        for flip in (False, True):
            chosen = (matrix[row] < 0) if flip else (matrix[row] > 0)
            if not chosen.any():
                continue
            paths.append(letter_path(letter, positions[chosen].astype(float), floor[row, chosen],
                                     (ceiling - floor)[row, chosen], flip))
            facecolors.append(colors[letter])
    collection = PathCollection(paths, facecolors=facecolors, edgecolors="none", linewidths=0,
                                transform=ax.transData)
    ax.add_collection(collection, autolim=False)
    return collection
