"""tfmodisco-lite seqlets back in genome coordinates, as BED.

``modisco motifs -s ohe.npz -a attr.<method>.npz -w W`` reads a bundle's
arrays, keeps the central ``W`` bases of every sequence and stores each
pattern's seqlets under ``{pos,neg}_patterns/pattern_<i>/seqlets/`` as
``example_idx`` (the record's row in the bundle), ``start``/``end`` (within
the central window) and ``is_revcomp``.  :func:`modisco_seqlets_bed` adds
the window's offset back (``L // 2 - W // 2``, modisco's own arithmetic;
``W`` is read from the file where modisco recorded it, else given) and maps
each seqlet through the bundle's coordinates (:mod:`.coordinates`) to BED6
named ``<pos|neg>_patterns.pattern_<i>``, strand the record's, flipped for
reverse-complement seqlets.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqsal.errors import SeqsalError, check
from seqsal.explain.bundle import load_bundle
from seqsal.explain.coordinates import read_placements
from seqsal.explain.export import spans_bed, write_bed

#: Groups of a tfmodisco-lite results file that hold patterns.
PATTERN_GROUPS = ("pos_patterns", "neg_patterns")


def read_modisco_seqlets(h5: str | Path) -> tuple[pd.DataFrame, int | None]:
    """Every seqlet of a tfmodisco-lite ``modisco.h5`` (pattern, example_idx, start, end, is_revcomp), and the
    window size modisco recorded (``None`` when the file does not say)."""
    try:
        import h5py
    except ImportError:
        raise SeqsalError("reading modisco results needs h5py; install it with pip install 'seqsal[modisco]'") \
            from None
    h5 = Path(h5)
    check(h5.is_file(), f"{h5}: no such modisco results file")
    frames = []
    try:
        with h5py.File(h5, "r") as results:
            window = results.attrs.get("window_size")
            for group in PATTERN_GROUPS:
                for name, pattern in results.get(group, {}).items():
                    seqlets = pattern["seqlets"]
                    frames.append(pd.DataFrame({
                        "pattern": f"{group}.{name}",
                        **{key: np.asarray(seqlets[key][:]) for key in ("example_idx", "start", "end")},
                        "is_revcomp": np.asarray(seqlets["is_revcomp"][:], dtype=bool)}))
    except (OSError, KeyError) as error:
        raise SeqsalError(f"{h5}: not a tfmodisco-lite results file with seqlets ({error})") from None
    check(frames, f"{h5}: holds no patterns, so there are no seqlets to map")
    return pd.concat(frames, ignore_index=True), None if window is None else int(window)


def modisco_seqlets_bed(h5: str | Path, bundle: str | Path, out: str | Path, *, window: int | None = None) -> int:
    """Write the seqlets of ``h5`` as BED6 in the genome coordinates of ``bundle``; return how many.

    Parameters
    ----------
    h5
        ``modisco.h5`` from ``modisco motifs`` run on this bundle's arrays.
    bundle
        The explain bundle (with genome coordinates) whose arrays modisco read.
    out
        The BED file to write.
    window
        The ``-w`` modisco ran with, when the file does not record it; default
        (and when larger than the sequences): the whole sequence, no offset.
    """
    seqlets, recorded = read_modisco_seqlets(h5)
    loaded = load_bundle(bundle)
    length = loaded.onehot.shape[-1]
    window = recorded or window or length
    offset = max(length // 2 - window // 2, 0)
    placements = read_placements(loaded.folder)
    check(int(seqlets["example_idx"].max()) < len(placements),
          f"{h5}: seqlets name record {int(seqlets['example_idx'].max())}, but {bundle} holds "
          f"{len(placements)}; map seqlets with the bundle modisco read")
    table = spans_bed(placements, seqlets["example_idx"], seqlets["start"] + offset, seqlets["end"] + offset,
                      seqlets["pattern"], reverse=seqlets["is_revcomp"])
    write_bed(Path(out), table)
    return len(table)
