"""PNG files from a figure's pixels, written fast enough for a thousand logos.

matplotlib writes PNG through Pillow, which picks a filter for every row by
trying several and deflates at level 6; for a 3112 × 870-pixel stacked logo
figure that costs about as much as drawing it.  Figures are mostly flat
background with long horizontal runs of one colour, so one filter serves every
row: PNG's "Up" filter (each byte minus the byte above) turns repeated rows and
the white background into zeros, and zlib at level 1 compresses those nearly as
well as Pillow's choice does (measured on a stacked logo figure: 165 kB against
154 kB, in well under half the time).  Pixels are stored losslessly, so a decoder reads back exactly the
array given; the resolution goes into a ``pHYs`` chunk so viewers and word
processors size the image as the figure was sized.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np

from seqsal.errors import check
from seqsal.io import atomic_path

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_UP_FILTER = 2
_RGBA = 6  # PNG colour type: 8-bit red, green, blue and alpha
_METRES_PER_INCH = 0.0254


def _chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and the CRC of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(rgba: np.ndarray, *, dpi: float | None = None, compress_level: int = 1) -> bytes:
    """The bytes of a PNG file holding an ``(height, width, 4)`` uint8 RGBA image.

    The alpha channel is kept even when opaque: filtered, it is a run of
    zeros that costs almost nothing to deflate, while dropping it would take
    a strided copy that costs more than it saves.

    Parameters
    ----------
    rgba
        Pixels, row 0 at the top, as ``FigureCanvasAgg.buffer_rgba()`` gives them.
    dpi
        Resolution recorded in the file; omitted when ``None``.
    compress_level
        zlib level, 0 (store) to 9 (smallest, slowest).

    Returns
    -------
    bytes
    """
    pixels = np.ascontiguousarray(rgba)
    check(pixels.ndim == 3 and pixels.shape[2] == 4 and pixels.dtype == np.uint8 and pixels.size > 0,
          f"rgba must be a non-empty (height, width, 4) uint8 array, got {pixels.dtype} {pixels.shape}")
    height, width = pixels.shape[:2]
    rows = pixels.reshape(height, width * 4)
    filtered = np.empty((height, width * 4 + 1), dtype=np.uint8)
    filtered[:, 0] = _UP_FILTER
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])  # uint8 arithmetic wraps modulo 256, as PNG's does
    chunks = [_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, _RGBA, 0, 0, 0))]
    if dpi is not None:
        per_metre = round(dpi / _METRES_PER_INCH)
        chunks.append(_chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1)))
    chunks.append(_chunk(b"IDAT", zlib.compress(filtered, compress_level)))  # the array is the buffer: no copy
    chunks.append(_chunk(b"IEND", b""))
    return _SIGNATURE + b"".join(chunks)


def write_png(path: str | os.PathLike, rgba: np.ndarray, *, dpi: float | None = None) -> Path:
    """Write ``rgba`` to ``path`` as PNG (:func:`encode_png`), atomically; returns the path."""
    path = Path(path)
    data = encode_png(rgba, dpi=dpi)
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)
    return path
