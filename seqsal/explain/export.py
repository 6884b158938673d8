"""A bundle in genome coordinates: bigWig/bedGraph tracks, top positions and seqlets as BED.

:func:`write_tracks` maps every record of a bundle with coordinates
(:mod:`.coordinates`) back to the plus strand of the genome and writes, per
method, the projected per-position attribution (hypothetical × one-hot,
summed over the four rows) as ``<method>.bw`` and ``<method>.bedGraph``, and
with ``per_base`` the hypothetical score of each base as
``<method>.{A,C,G,T}.bw``.  A minus-strand record (``stranded``) is reversed
and its rows complemented, so every track reads along the plus strand.
Overlapping windows are resolved by :data:`seqsal.tracks.OVERLAP_RULES`,
recorded in the manifest.  ``top_positions.<method>.bed`` lists each
record's top positions as single bases, and ``seqlets.bed`` the bundle's
``seqlets.tsv`` when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.checks import check_choice
from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.explain.bundle import load_bundle
from seqsal.explain.coordinates import Placements, chrom_sizes_of, read_placements, record_spans_on_genome
from seqsal.explain.seqlet_files import read_seqlets
from seqsal.genome import missing_chromosomes
from seqsal.progress import Progress
from seqsal.runs import RunFolder
from seqsal.tracks import OVERLAP_RULES, RULE_DESCRIPTIONS, TrackWriter


@dataclass(frozen=True)
class TrackSettings:
    """What :func:`write_tracks` writes: which methods, the per-base tracks, the overlap rule, which seqlets."""

    methods: tuple[str, ...] | None = None  # None: every method of the bundle
    per_base: bool = False
    overlap: str = "midpoint"
    seqlets: str | None = None  # a seqlets.tsv of the bundle (seqsal seqlets); None: the bundle's own, if any


def write_tracks(bundle: str | Path, out: str | Path, settings: TrackSettings | None = None, *,
                 chrom_sizes: Mapping[str, int] | None = None, progress: bool = True, force: bool = False) -> Path:
    """Write genome-browser tracks and BED files of an explain bundle into ``out``; returns ``out``.

    Parameters
    ----------
    bundle
        A finished explain bundle whose records have genome coordinates.
    out
        Output folder: new, empty, or an earlier tracks run.
    settings
        Methods, per-base tracks and overlap rule.
    chrom_sizes
        Chromosome sizes for the bigWig headers; default: those the bundle's
        manifest recorded (runs on a genome record them; FASTA runs need them given).

    Raises
    ------
    SeqsalError
        When the bundle has no coordinates, a method is not in it, the sizes
        are missing or lack a chromosome of the bundle, or ``out`` must not be written.
    """
    settings = settings or TrackSettings()
    check_choice(settings.overlap, "overlap", OVERLAP_RULES)
    loaded = load_bundle(bundle)
    methods = tuple(settings.methods or loaded.attributions)
    for method in methods:
        check(method in loaded.attributions, f"{bundle}: has no {method!r} attributions; it has "
                                             f"{', '.join(loaded.attributions)}")
    placements = read_placements(loaded.folder)
    sizes = _sizes(loaded.folder, loaded.manifest, chrom_sizes, placements)
    seqlets = Path(settings.seqlets) if settings.seqlets else loaded.folder / "seqlets.tsv"
    # read (and checked against the bundle) before anything is written
    seqlet_bed = seqlets_bed(seqlets, placements) if settings.seqlets or seqlets.is_file() else None
    folder = RunFolder.claim(out, "tracks", force=force, clear=("*.bw", "*.bedGraph", "*.bed"))
    folder.start({"bundle": str(loaded.folder), "methods": list(methods), "per_base": settings.per_base,
                  "overlap": {"rule": settings.overlap, "description": RULE_DESCRIPTIONS[settings.overlap]},
                  "chrom_sizes": sizes, "seqlets": None if seqlet_bed is None else str(seqlets)})
    order = _genome_order(placements, sizes, loaded.onehot.shape[-1])
    files = []
    with Progress(len(methods) * len(order), "tracks", "seq", enabled=progress) as bar:
        for method in methods:
            files += _method_tracks(folder.path, method, loaded.onehot, loaded.attributions[method], placements,
                                    order, sizes, settings, bar)
    for method in methods:
        files.append(write_top_positions_bed(loaded.folder, method, folder.path / f"top_positions.{method}.bed"))
    if seqlet_bed is not None:
        files.append(write_bed(folder.path / "seqlets.bed", seqlet_bed))
    folder.finish(sorted(path.name for path in files), n_records=len(order))
    return folder.path


def _sizes(folder: Path, manifest: dict, given: Mapping[str, int] | None, placements: Placements) -> dict[str, int]:
    sizes = dict(given) if given else chrom_sizes_of(manifest)
    check(sizes, f"{folder}: the bundle records no chromosome sizes (its input was a FASTA); give them "
                 "(chrom_sizes; --chrom-sizes FILE or --genome genome.fa)")
    used = set(placements.chrom[placements.chrom != ""])
    missing = missing_chromosomes(used, sizes)
    check(not missing, f"the chromosome sizes lack {len(missing)} chromosomes of the bundle: "
                       f"{', '.join(missing[:5])}; give the sizes of the genome the bundle was explained on")
    return {name: size for name, size in sizes.items() if name in used}


def _genome_order(placements: Placements, sizes: Mapping[str, int], length: int) -> np.ndarray:
    """Indices of the records with coordinates, sorted by chromosome (header order) and plus-strand start."""
    located = np.flatnonzero(placements.chrom != "")
    rank = {name: i for i, name in enumerate(sizes)}
    starts = np.array([placements.columns_to_genome(i, 0, length)[0] for i in located], dtype=np.int64)
    chroms = np.array([rank[c] for c in placements.chrom[located]], dtype=np.int64)
    return located[np.lexsort((starts, chroms))]


def _method_tracks(out: Path, method: str, onehot: np.ndarray, attributions: np.ndarray, placements: Placements,
                   order: np.ndarray, sizes: Mapping[str, int], settings: TrackSettings, bar: Progress) -> list[Path]:
    """One method's bigWig(s) and bedGraph, from the records in genome order."""
    paths = [out / f"{method}.bw"]
    if settings.per_base:
        paths += [out / f"{method}.{base}.bw" for base in ALPHABET]
    writer = TrackWriter(paths, sizes, settings.overlap, bedgraph=out / f"{method}.bedGraph")
    length = onehot.shape[-1]
    try:
        for index in order:
            window = _record_window(placements, int(index), np.asarray(onehot[index]),
                                    np.asarray(attributions[index]), length, settings.per_base)
            if window is not None:
                writer.add(*window)
            bar.update(1)
    finally:
        writer.close()
    return [*paths, out / f"{method}.bedGraph"]


def _record_window(placements: Placements, index: int, onehot: np.ndarray, hypothetical: np.ndarray, length: int,
                   per_base: bool) -> tuple[str, int, np.ndarray, float] | None:
    """A record's plus-strand span, its tracks ``(K, n)`` (projected, then A, C, G, T) and its centre."""
    offset = int(placements.genome_offset[index])
    span = int(placements.end[index] - placements.start[index])
    first, stop = max(-offset, 0), min(span - offset, length)  # model columns on the genome
    if stop <= first:
        return None
    projected = (hypothetical * onehot).sum(axis=0, keepdims=True)
    values = np.concatenate([projected, hypothetical]) if per_base else projected
    values = values[:, first:stop]
    minus = placements.strand[index] == "-"
    if minus:  # reverse the positions; rows 1-4 (A, C, G, T) complement to T, G, C, A
        values = values[:, ::-1]
        if per_base:
            values = np.concatenate([values[:1], values[1:][::-1]])
    start, _ = placements.columns_to_genome(index, first, stop)
    middle = offset + (length - 1) / 2  # the window's centre, counted along the strand
    centre = placements.end[index] - 1 - middle if minus else placements.start[index] + middle
    return str(placements.chrom[index]), start, values, float(centre)


def write_top_positions_bed(bundle: Path, method: str, path: Path) -> Path:
    """``scores.tsv``'s top genome positions of ``method`` as BED6: one base each, named ``<id>#<rank>``."""
    column = f"top_genome_positions.{method}"
    with io.atomic_path(path) as temp, open(temp, "w") as bed:
        for chunk in pd.read_csv(bundle / "scores.tsv", sep="\t", usecols=["id", "chrom", "strand", column],
                                 chunksize=100_000, dtype=str, keep_default_na=False):
            for record_id, chrom, strand, positions in chunk.itertuples(index=False):
                for rank, position in enumerate(filter(None, positions.split(",")), 1):
                    bed.write(f"{chrom}\t{int(position) - 1}\t{position}\t{record_id}#{rank}\t0\t{strand}\n")
    return path


def spans_bed(placements: Placements, records: Sequence[int], starts: Sequence[int], ends: Sequence[int],
              names: Sequence[str], reverse: Sequence[bool] | None = None) -> pd.DataFrame:
    """Spans of model columns ``[start, end)`` of the given records as BED6 rows on the genome's plus strand.

    ``reverse`` marks spans read on the other strand than their record (a
    reverse-complement match); the BED strand is the record's strand flipped
    for those.  Spans wholly on padding are dropped.  Mapped by
    :func:`~seqsal.explain.coordinates.record_spans_on_genome`, as ``seqlets.tsv`` is.
    """
    records = np.asarray(records, dtype=np.int64)
    check(((records >= 0) & (records < len(placements))).all(),
          f"a record index is outside the bundle's {len(placements)} records; is this the bundle the seqlets "
          "came from?")
    offsets = placements.offset[records]
    strands = np.where(np.asarray(reverse, dtype=bool), "-", "+") if reverse is not None else ["+"] * len(records)
    spans = record_spans_on_genome(placements, records, np.asarray(starts) + offsets + 1, np.asarray(ends) + offsets,
                                   strands)
    return _bed_rows(spans, names)


def _bed_rows(spans: pd.DataFrame, names: Sequence[str]) -> pd.DataFrame:
    """BED6 rows of genome spans (:data:`~seqsal.explain.coordinates.GENOME_SPAN_COLUMNS`), without those off it."""
    bed = pd.DataFrame({"chrom": spans["chrom"], "start": spans["genome_start"], "end": spans["genome_end"],
                        "name": list(names), "score": 0, "strand": spans["genome_strand"]})
    return bed.dropna(subset=["chrom"]).reset_index(drop=True)


def write_bed(path: Path, table: pd.DataFrame) -> Path:
    """A BED table without header, atomically, sorted by chromosome and start (the order browsers index)."""
    table = table.sort_values(["chrom", "start", "end"], kind="stable")
    with io.atomic_path(path) as temp:
        table.to_csv(temp, sep="\t", header=False, index=False)
    return path


def seqlets_bed(seqlets: Path, placements: Placements) -> pd.DataFrame:
    """A bundle's ``seqlets.tsv`` as BED6 rows on the genome's plus strand.

    Each seqlet's span (with flanks, ``start``/``end`` in its record as given)
    is mapped like ``seqlets.tsv``'s genome columns
    (:func:`~seqsal.explain.coordinates.record_spans_on_genome`); the name is
    ``<id>:<method>:<motif>`` (a site found by two methods is two lines) and the strand that of the motif
    match on the genome
    (``.`` for unnamed seqlets).  Seqlets wholly on padding are left out.
    """
    table = read_seqlets(seqlets)
    index = {record_id: i for i, record_id in enumerate(placements.ids)}
    unknown = sorted(set(table["id"]) - set(index))
    check(not unknown, f"{seqlets}: names records the bundle does not have (first: {unknown[:1]}); is it this "
                       "bundle's seqlet table?")
    records = table["id"].map(index).to_numpy()
    spans = record_spans_on_genome(placements, records, table["start"], table["end"], table["strand"])
    return _bed_rows(spans, table["id"] + ":" + table["method"] + ":" + table["motif"])
