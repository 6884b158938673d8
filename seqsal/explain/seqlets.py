"""Seqlets of an explain run: one null per run and method, calls in record coordinates.

:mod:`seqsal.seqlets` works on arrays; this module runs it over a whole
bundle, during ``seqsal explain --seqlets`` or afterwards with ``seqsal
seqlets BUNDLE``; :mod:`seqsal.explain.seqlet_files` writes what a reader opens:

``seqlets.tsv``    one row per seqlet: record id, method, 1-based inclusive
                   ``start``/``end`` (with flanks) and ``core_start``/``core_end`` in the
                   record's own coordinates (as ``top_positions`` in ``scores.tsv``),
                   ``strand`` of the motif match, ``sign``, ``score``, ``p``, ``motif``
                   (``unknown`` unless the best Tomtom match passes), ``q`` and the
                   best candidate's id, name and p-value, and the consensus; when the
                   records lie on a genome, ``chrom``, ``genome_start``, ``genome_end``
                   (0-based, end-exclusive) and ``genome_strand``
                   (:func:`~seqsal.explain.coordinates.record_spans_on_genome`)
summary table      per method, motif and sign: seqlets, records with one, their
                   share, mean score, and a positional histogram over the model's
                   input columns
``seqlets.png``    the most frequent motifs per method, as bars

**One null per run.**  The null of each method is built from dinucleotide
shuffles of a fixed-seed sample of the run's sequences (at most
``null_sequences`` records, each shuffled often enough to give about
``null_sequences`` shuffles), attributed with the run's own model, target and
method options.  Every record is then called against that null on its own, so
the seqlets do not depend on batch size, and a resumed run gets the same ones.

**One gate per run.**  Before any record is called, the window p-values of
all records are tallied (:class:`seqsal.seqlets.WindowTally`), and the run's
cutoff (the run-level false discovery gate, ``fdr``) applies to every chunk.
The manifest records the tally per method: windows, those below the
threshold, the estimated false discovery rate there and the cutoff.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from torch import nn

from seqsal.attribution import per_position
from seqsal.checks import check_int, check_number
from seqsal.choices import UNSIGNED_METHODS
from seqsal.errors import check
from seqsal.explain.coordinates import COORDINATE_COLUMNS, GENOME_SPAN_COLUMNS, placements_of, record_spans_on_genome
from seqsal.explain.seqlet_files import TABLE_COLUMNS, SeqletResult
from seqsal.explain.settings import ExplainSettings, options_for
from seqsal.progress import Progress
from seqsal.seqlets import (
    DEFAULT_Q_THRESHOLD,
    UNKNOWN,
    SeqletNull,
    SeqletSettings,
    WindowTally,
    annotate_seqlets,
    call_seqlets,
    shuffled_null,
    summarize_seqlets,
)

#: Records whose seqlets are called (and annotated) at a time; memory stays this wide.
CHUNK = 1024

#: The columns of ``scores.tsv`` the seqlets of a bundle need: ids and offsets, and where the records lie on
#: the genome when it is known (then ``seqlets.tsv`` gets genome columns too).
RECORD_COLUMNS = ("id", "offset", "original_length", *COORDINATE_COLUMNS)

@dataclass(frozen=True)
class SeqletRunSettings:
    """How the seqlets of a bundle are called and named; recorded in the manifest.

    Attributes
    ----------
    p_threshold
        Window p-value threshold (:class:`seqsal.seqlets.SeqletSettings`).
    fdr
        Largest estimated false discovery rate among the run's significant
        windows (:class:`seqsal.seqlets.SeqletSettings`); 1 turns the gate off.
    q_threshold
        A seqlet takes its best Tomtom match's name when the match's q-value is below this.
    motif_db
        MEME or JASPAR file to name seqlets from; None for the bundled JASPAR 2016 vertebrates.
    null_sequences
        Shuffled sequences in each method's null: at most this many records
        are sampled, each shuffled ``ceil(null_sequences / sample)`` times.
        200 shuffles of a 249-bp input give about 48,000 null windows, enough
        for p-values well below the default threshold.
    seed
        Seed of the sample and the shuffles.
    annotate
        Name seqlets with Tomtom (needs memelite); without it every motif is ``unknown``.
    """

    p_threshold: float = SeqletSettings.p_threshold
    fdr: float = SeqletSettings.fdr
    q_threshold: float = DEFAULT_Q_THRESHOLD
    motif_db: str | None = None
    null_sequences: int = 200
    seed: int = 0
    annotate: bool = True

    def __post_init__(self) -> None:
        check_number(self.q_threshold, "q_threshold", minimum=0, maximum=1, include_minimum=False)
        check_int(self.null_sequences, "null_sequences", minimum=1)
        check_int(self.seed, "seed", minimum=0)
        SeqletSettings(p_threshold=self.p_threshold, fdr=self.fdr)  # checks p_threshold and fdr

    @property
    def calling(self) -> SeqletSettings:
        return SeqletSettings(p_threshold=self.p_threshold, fdr=self.fdr)


@dataclass(frozen=True)
class BundleRows:
    """Read access to a bundle's arrays by row range, from an explain run's stores or a loaded bundle.

    ``records`` holds ``id``, ``offset`` and ``original_length`` per row, as in ``scores.tsv``, and its
    coordinate columns when the bundle has them (:data:`RECORD_COLUMNS`).
    """

    onehot: Callable[[int, int], np.ndarray]
    attributions: Mapping[str, Callable[[int, int], np.ndarray]]
    records: pd.DataFrame

    @property
    def n(self) -> int:
        return len(self.records)


def null_for(model: nn.Module, rows: BundleRows, method: str, attribute_options: dict,
             settings: SeqletRunSettings) -> tuple[SeqletNull, dict]:
    """The run's null for ``method``: shuffles of a fixed-seed sample of its records, and how it was built."""
    rng = np.random.default_rng(settings.seed)
    size = min(rows.n, settings.null_sequences)
    sample = np.sort(rng.choice(rows.n, size=size, replace=False))
    X = np.concatenate([rows.onehot(int(i), int(i) + 1) for i in sample])
    n_shuffles = math.ceil(settings.null_sequences / size)
    null = shuffled_null(model, X, method, window=settings.calling.window, n_shuffles=n_shuffles,
                         random_state=rng, **attribute_options)
    return null, {"records_sampled": int(size), "shuffles_per_record": n_shuffles,
                  "null_windows": int(null.values.size), "seed": settings.seed}


def call_bundle_seqlets(
    model: nn.Module,
    rows: BundleRows,
    explain: ExplainSettings,
    target: int,
    settings: SeqletRunSettings | None = None,
    *,
    methods: Sequence[str] | None = None,
    device=None,
    progress: bool = True,
) -> SeqletResult:
    """Call (and name) the seqlets of every record and method of a bundle.

    Parameters
    ----------
    model
        The model the bundle was explained with; builds each method's null.
    rows
        The bundle's arrays and records.
    explain
        The bundle's explain settings: the null is attributed with the same
        output, correction, batch size and method options.
    target
        Index of the explained output.
    settings
        Threshold, motif database, null size and seed.
    methods
        Methods to call seqlets for (default: the bundle's signed ones, or all of them when it has none;
        :data:`~seqsal.choices.UNSIGNED_METHODS` score magnitudes, so their seqlets have no sign and no name).
    """
    settings = settings or SeqletRunSettings()
    if methods is None:
        signed = [m for m in rows.attributions if m not in UNSIGNED_METHODS]
        methods = signed or list(rows.attributions)
    methods = list(methods)
    for method in methods:
        check(method in rows.attributions, f"the bundle has no attributions for {method!r}; it has "
                                           f"{list(rows.attributions)}")
    tables, summaries, nulls, gates = [], [], {}, {}
    with Progress(rows.n * len(methods), "seqlets", "seq", enabled=progress) as bar:
        for method in methods:
            options = dict(target=target, output=explain.output, correct=explain.correct,
                           batch_size=explain.batch_size, device=device, **options_for(method, explain, 0))
            null, nulls[method] = null_for(model, rows, method, options, settings)
            table, length, gates[method] = _call_method(rows, method, null, settings, bar)
            summaries.append(summarize_seqlets(table, rows.n, length).assign(method=method))
            tables.append(_record_coordinates(table, rows.records).assign(method=method))
    table = pd.concat(tables, ignore_index=True)
    table = table[[*TABLE_COLUMNS, *(c for c in GENOME_SPAN_COLUMNS if c in table.columns)]]
    summary = pd.concat(summaries, ignore_index=True)
    summary = summary[["method", *[c for c in summary.columns if c != "method"]]]
    info = {"settings": asdict(settings), "window": settings.calling.window, "null": nulls, "gate": gates,
            "left_out": [m for m in rows.attributions if m not in methods],
            "n_seqlets": {m: int((table["method"] == m).sum()) for m in methods}}
    return SeqletResult(table, summary, info)


def _call_method(rows: BundleRows, method: str, null: SeqletNull, settings: SeqletRunSettings,
                 bar: Progress) -> tuple[pd.DataFrame, int, dict]:
    """Seqlets of one method over all records, chunk by chunk, in model-input coordinates, and the run's gate."""
    tally = WindowTally(null, settings.p_threshold, settings.fdr)
    for start, stop in _chunks(rows.n):
        tally.add(_projected(rows, method, start, stop))
    cutoff = tally.cutoff
    parts = []
    length = 0
    for start, stop in _chunks(rows.n):
        onehot = rows.onehot(start, stop)
        hypothetical = rows.attributions[method](start, stop)
        length = onehot.shape[-1]
        part = call_seqlets(per_position(hypothetical * onehot), settings.calling, null, cutoff=cutoff)
        if settings.annotate:
            part = annotate_seqlets(part, hypothetical, onehot, settings.motif_db, q_threshold=settings.q_threshold)
        parts.append(part.assign(sequence_index=part["sequence_index"] + start))
        bar.update(stop - start)
    return pd.concat(parts, ignore_index=True), length, tally.describe()


def _chunks(n: int) -> list[tuple[int, int]]:
    """``(start, stop)`` row ranges of at most :data:`CHUNK` records covering ``n``."""
    return [(start, min(n, start + CHUNK)) for start in range(0, n, CHUNK)]


def _projected(rows: BundleRows, method: str, start: int, stop: int) -> np.ndarray:
    """Per-position scores (attribution at the sequence's bases) of rows ``[start, stop)``."""
    return per_position(rows.attributions[method](start, stop) * rows.onehot(start, stop))


def _record_coordinates(table: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """Model-input seqlets as ``seqlets.tsv`` rows: 1-based inclusive positions in the record as given,
    clipped to its bases (flanks may reach into N padding), and their genome spans when the records have them."""
    record = records.iloc[table["sequence_index"].to_numpy()]
    offset = record["offset"].to_numpy()
    length = record["original_length"].to_numpy()
    out = pd.DataFrame({"id": record["id"].to_numpy()})
    for name in ("start", "core_start"):
        out[name] = np.clip(table[name].to_numpy() + offset + 1, 1, length)
    for name in ("end", "core_end"):
        out[name] = np.clip(table[name].to_numpy() + offset, 1, length)
    named = table["motif"] != UNKNOWN if "motif" in table else np.zeros(len(table), bool)
    out["strand"] = np.where(named, table.get("match_strand", "."), ".")
    out["sign"] = table["sign"].to_numpy()
    out["score"] = table["score"].to_numpy()
    out["p"] = table["p"].to_numpy()
    out["motif"] = table["motif"].to_numpy() if "motif" in table else UNKNOWN
    out["q"] = table["match_q"].to_numpy() if "match_q" in table else np.nan
    for name in ("match_id", "match_name", "match_p", "consensus"):
        out[name] = table[name].to_numpy() if name in table else ""
    placements = placements_of(records)
    if placements is None:
        return out
    genome = record_spans_on_genome(placements, table["sequence_index"], out["start"], out["end"], out["strand"])
    return pd.concat([out, genome], axis=1)


def rows_from_arrays(onehot, attributions: Mapping[str, np.ndarray], records: pd.DataFrame) -> BundleRows:
    """:class:`BundleRows` over in-memory or memory-mapped arrays (a loaded bundle)."""
    return BundleRows(lambda a, b: np.asarray(onehot[a:b], dtype=np.float32),
                      {m: (lambda a, b, array=array: np.asarray(array[a:b], dtype=np.float32))
                       for m, array in attributions.items()},
                      records.reset_index(drop=True))
