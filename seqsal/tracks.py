"""Genome-browser tracks: per-base values of overlapping windows merged by a stated rule, as bigWig and bedGraph.

Explained peaks overlap; a browser track has one value per base.
:class:`TrackWriter` takes windows one at a time, sorted by chromosome (in
header order) and start, each a contiguous plus-strand span with ``K``
values per base, and resolves every base that several windows cover by one
of two rules (:data:`OVERLAP_RULES`):

``midpoint``  the value of the window whose centre is nearest (ties: the earlier
              window), i.e. overlaps are split at the midpoint between the
              centres, as ChromBPNet does when it writes contribution bigWigs;
``mean``      the mean over every window covering the base.

A base is final once a window starting after it arrives, so memory stays
one window wide however many windows a chromosome holds.  Finished runs of
bases go to ``K`` bigWig files (``pyBigWig``; the header carries the
chromosome sizes) and, for the first track, optionally a bedGraph with runs of
equal values merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from seqsal.choices import OVERLAP_RULES
from seqsal.errors import SeqsalError, check

#: One line per rule, recorded in manifests.
RULE_DESCRIPTIONS = {
    "midpoint": "each base takes the value of the covering window whose centre is nearest (ties: the window "
                "that starts first), so overlapping windows are split at the midpoint between their centres",
    "mean": "each base takes the mean of the values of every window covering it",
}


def open_bigwig(path: Path, sizes: Mapping[str, int]):
    """A new bigWig file whose header lists ``sizes`` in the given order."""
    try:
        import pyBigWig
    except ImportError:
        raise SeqsalError("writing bigWig needs pyBigWig; install it with pip install 'seqsal[genome]'") from None
    handle = pyBigWig.open(str(path), "w")
    check(handle is not None, f"{path}: cannot be created as a bigWig file")
    handle.addHeader([(name, int(size)) for name, size in sizes.items()])
    return handle


class _Pile:
    """The not yet final bases of one chromosome: values, and the distance to the owning centre (or counts)."""

    def __init__(self, n_tracks: int, origin: int, rule: str) -> None:
        self.rule = rule
        self.origin = origin
        self.values = np.zeros((n_tracks, 0))
        self.weight = np.zeros(0)  # midpoint: distance to the owner's centre; mean: number of windows

    def flush(self, before: int | None) -> tuple[int, np.ndarray] | None:
        """Remove and return the final bases (all before ``before``; all when ``None``)."""
        n = self.weight.size if before is None else int(np.clip(before - self.origin, 0, self.weight.size))
        if n == 0:
            return None
        start, values = self.origin, self.values[:, :n]
        if self.rule == "mean":
            values = values / self.weight[:n]
        self.values, self.weight, self.origin = self.values[:, n:], self.weight[n:], self.origin + n
        return start, values

    def add(self, start: int, values: np.ndarray, centre: float) -> None:
        if self.weight.size == 0:
            self.origin = start
        stop = start + values.shape[1]
        grow = stop - (self.origin + self.weight.size)
        if grow > 0:
            fill = np.inf if self.rule == "midpoint" else 0.0
            self.values = np.concatenate([self.values, np.zeros((len(values), grow))], axis=1)
            self.weight = np.concatenate([self.weight, np.full(grow, fill)])
        where = slice(start - self.origin, stop - self.origin)
        if self.rule == "mean":
            self.values[:, where] += values
            self.weight[where] += 1
            return
        distance = np.abs(np.arange(start, stop) - centre)
        closer = distance < self.weight[where]
        self.values[:, where][:, closer] = values[:, closer]
        self.weight[where][closer] = distance[closer]


class TrackWriter:
    """Write ``len(paths)`` bigWig tracks (and a bedGraph of the first) from sorted, possibly overlapping windows.

    Parameters
    ----------
    paths
        One bigWig file per track.
    sizes
        Chromosome sizes in header order; windows must come in this order.
    rule
        One of :data:`OVERLAP_RULES`.
    bedgraph
        Also write the first track as bedGraph text to this path.
    """

    def __init__(self, paths: Sequence[Path], sizes: Mapping[str, int], rule: str = "midpoint",
                 bedgraph: Path | None = None) -> None:
        check(rule in OVERLAP_RULES, f"overlap must be one of {', '.join(OVERLAP_RULES)}, got {rule!r}")
        self.sizes = dict(sizes)
        self.order = {name: i for i, name in enumerate(self.sizes)}
        self.rule = rule
        self.bigwigs = [open_bigwig(path, self.sizes) for path in paths]
        self.bedgraph = open(bedgraph, "w") if bedgraph is not None else None
        self.chrom: str | None = None
        self.pile: _Pile | None = None
        self.last = (-1, -1)

    def add(self, chrom: str, start: int, values: np.ndarray, centre: float) -> None:
        """One window: ``values`` ``(K, n)`` for bases ``start .. start + n - 1`` of ``chrom`` (plus strand).

        ``centre`` is the window's centre in genome coordinates (it may lie on
        padding, off the covered bases).  Windows come sorted by chromosome
        (header order) and start.
        """
        check(chrom in self.order, f"chromosome {chrom!r} is not in the chromosome sizes")
        check(start + values.shape[1] <= self.sizes[chrom],
              f"a window {chrom}:{start}-{start + values.shape[1]} ends past {chrom} ({self.sizes[chrom]} bases); "
              "are the chromosome sizes from the genome the bundle was explained on?")
        key = (self.order[chrom], start)
        check(key >= self.last, "windows must come sorted by chromosome and start")
        self.last = key
        if chrom != self.chrom:
            self._emit(self.pile.flush(None) if self.pile else None)
            self.chrom, self.pile = chrom, _Pile(len(values), start, self.rule)
        self._emit(self.pile.flush(start))
        self.pile.add(start, np.asarray(values, dtype=np.float64), centre)

    def close(self) -> None:
        """Write the last bases and close every file."""
        if self.pile is not None:
            self._emit(self.pile.flush(None))
        for handle in self.bigwigs:
            handle.close()
        if self.bedgraph is not None:
            self.bedgraph.close()

    def _emit(self, run: tuple[int, np.ndarray] | None) -> None:
        if run is None:
            return
        start, values = run
        for handle, row in zip(self.bigwigs, values):
            handle.addEntries(self.chrom, int(start), values=row.astype(np.float64), span=1, step=1)
        if self.bedgraph is not None:
            for first, stop, value in equal_runs(values[0]):
                self.bedgraph.write(f"{self.chrom}\t{start + first}\t{start + stop}\t{value:.6g}\n")


def equal_runs(values: np.ndarray) -> list[tuple[int, int, float]]:
    """``(first, stop, value)`` for each run of equal consecutive values (bedGraph's compact form)."""
    if values.size == 0:
        return []
    breaks = np.flatnonzero(values[1:] != values[:-1]) + 1
    starts = np.concatenate([[0], breaks])
    stops = np.concatenate([breaks, [values.size]])
    return [(int(a), int(b), float(values[a])) for a, b in zip(starts, stops)]
