"""Audit a labelled dataset for shortcuts before anyone trains on it.

A classifier that separates positives from negatives has not necessarily
learned enhancer grammar: sequencing adapters left in one class, a GC shift
between peaks and background, duplicated records across the train/test split
or a length difference all give high scores for the wrong reason.  Each check
here asks one such question of a user's own positive and negative FASTA and
answers with a :class:`Finding`: the test, its statistic, a p or q value, an
effect size, the threshold used and whether the dataset is flagged.

Checks (one function each):

- :func:`check_adapters`: known adapters anywhere (exact or one mismatch),
  adapter read-through at sequence ends, homopolymer runs; Fisher exact test
  of the per-class rates.
- :func:`check_kmers`: canonical k-mers (both strands) enriched in one class;
  Fisher tests with Benjamini-Hochberg FDR.  Enrichment of known motifs is the
  biology a model should learn; strong enrichment of a k-mer that matches *no*
  known motif is the suspicious case.
- :func:`check_composition`: GC, length, N and soft-masked content per class,
  Kolmogorov-Smirnov tests.
- :func:`check_leakage`: exact and reverse-complement duplicates and MinHash
  near-duplicates within and across classes and splits.
- :func:`check_baselines`: cross-validated AUROC of logistic regression on GC
  alone, length alone and k-mer frequencies.
- :func:`check_model`: with a trained model, how much attribution falls on the
  flagged artifacts and how much predictions move when they are shuffled away.

:func:`audit_dataset` runs them all and :func:`write_audit` writes
``summary.json``, one TSV per check, ``report.html`` and ``manifest.json``.
The k-mer, composition, homopolymer and sketch statistics come from one
streaming pass over the encoded sequences (:func:`profile_dataset`), batch by
batch, so memory stays near the size of the sequences themselves.
"""

from __future__ import annotations

import html
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from scipy import stats

import seqsal
from seqsal import io
from seqsal.encoding import ALPHABET, dinucleotide_shuffle, encode_indices, fit_length, one_hot, reverse_complement
from seqsal.errors import check
from seqsal.motifs import Motif, MotifDatabase, load_adapters
from seqsal.report import Report

if TYPE_CHECKING:  # torch is imported only when a model is actually checked
    from seqsal.models import EnhancerCNN

CLASS_NAMES = ("negative", "positive")
"""Class names by label: 0 is the negative set, 1 the positive set."""

SKETCH_K = 8
"""k-mer length of the near-duplicate sketches: 4^8 = 65,536 possible k-mers, so two unrelated
249-bp sequences share almost none (expected Jaccard about 0.004), while a copy with a few edits
keeps most."""

SKETCH_BINS = 64
"""One-permutation MinHash bins: enough for a Jaccard estimate within about 0.05 at 0.8, few
enough that a 249-bp sequence (about 240 distinct 8-mers) leaves almost no bin empty."""

LSH_BANDS = 16
"""Bands of 4 bins each: a pair with Jaccard 0.8 becomes a candidate with probability
1 - (1 - 0.8^4)^16 > 0.999, a pair with Jaccard 0.2 with probability 0.025."""

MIN_SKETCH_KMERS = SKETCH_BINS
"""Sequences with fewer distinct 8-mers than bins (shorter than about 70 bp, or low complexity)
get unreliable sketches and are left to the exact-duplicate check."""

MAX_BUCKET_PAIRS = 50
"""LSH buckets larger than this are paired as a star around their first member instead of all
pairs, so a family of thousands of near-identical records cannot explode the pair count."""

BASELINE_MAX_K = 5
"""Longest k-mer in the k-mer baseline: 4^5 = 1024 features (512 canonical) is what a linear model
can estimate from a few thousand sequences; shorter k-mers are included too."""

_EMPTY_BIN = 1 << 10  # sketch value of an empty bin; real values are below it
_SKETCH_SEED = 20240521  # fixed: sketches must not depend on the user's seed
_BATCH_CELLS = 1 << 21  # bases per encoded batch (about 8,000 sequences of 249 bp)


@dataclass(frozen=True)
class AuditThresholds:
    """When a check counts as a shortcut flag.  Every default is a documented choice, not a law.

    Attributes
    ----------
    fdr
        Largest Benjamini-Hochberg q value (or p value where a check runs a
        single test) that counts as significant.  0.01: with tens of
        thousands of k-mer tests, a 1% false-discovery rate keeps the list of
        flagged items short enough to read.
    adapter_ratio
        Smallest per-class rate ratio (either direction) of sequences with an
        adapter or homopolymer hit.  2: an artifact twice as common in one
        class is a usable cue for a model; equal rates carry no label
        information however common the artifact is.
    homopolymer_length
        Shortest run of one base counted as an artifact.  10: a run of 10 A or
        T has probability below 0.2% in a random 249-bp sequence at 41% GC, so
        such runs are mostly poly-A tails, poly-G no-signal calls or repeats.
    kmer_log2_odds
        Smallest absolute log2 odds ratio of a k-mer's presence between the
        classes.  2 (a four-fold odds ratio): sampled motif sites spread over
        many k-mer variants, so each variant of real biology is rarely this
        enriched unless it is a strong site, which then matches its motif.
    kmer_min_fraction
        Share of the enriched class that must carry the k-mer.  0.01: a
        pattern in fewer than 1% of a class cannot move AUROC much.
    motif_match
        Smallest score of a k-mer (or of the conserved element around it)
        against a known motif, as a fraction of the best score over the same
        motif columns, for it to count as that motif.  0.8 is the relative
        threshold :func:`seqsal.motifs.scan` uses.
    artifact_min_length
        Shortest conserved element around an enriched k-mer that counts as a
        copied artifact.  12: the occurrences of an adapter, barcode or vector
        piece share its whole sequence, while sampled sites of real motifs
        share only the motif's informative core (9-11 bp around 8-mers of the
        JASPAR enhancer motifs in simulated data); 12 is also the shortest
        bundled adapter.
    ks_statistic
        Smallest Kolmogorov-Smirnov D for a composition difference.  With
        100,000 sequences per class any difference is significant, so the
        effect size decides.  0.2: for a shifted distribution, D = 0.2 means
        the feature alone reaches an AUROC of about 0.64, in line with
        ``baseline_auroc``; the motif content of simulated enhancers alone
        shifts GC by D = 0.07-0.11.
    baseline_auroc
        Cross-validated AUROC of GC-only or length-only logistic regression
        that counts as a shortcut.  0.65: one composition number separating
        the classes this well lets a model look accurate without reading a
        motif, while GC-matched or shuffled backgrounds stay near 0.5.
    near_duplicate_jaccard
        Estimated Jaccard similarity of 8-mer sets above which two records are
        near-duplicates.  0.8: a few point differences in 249 bp still give
        about 0.8-0.9, unrelated sequences about 0.004.
    max_duplicate_fraction
        Largest share of records that may be redundant copies within one class
        and split.  0.01: a few repeats are normal in genomic data; more
        inflate any metric computed on that split.
    attribution_enrichment
        With a model: ratio of the attribution share on artifact positions to
        the share of positions they occupy.  2: the model looks at artifacts
        twice as much as at an average base.
    prediction_change
        With a model: mean absolute change of the logit when artifacts are
        shuffled away.  0.5: a change of half a logit unit is about a 12-point
        probability change near 0.5.
    """

    fdr: float = 0.01
    adapter_ratio: float = 2.0
    homopolymer_length: int = 10
    kmer_log2_odds: float = 2.0
    kmer_min_fraction: float = 0.01
    motif_match: float = 0.8
    artifact_min_length: int = 12
    ks_statistic: float = 0.2
    baseline_auroc: float = 0.65
    near_duplicate_jaccard: float = 0.8
    max_duplicate_fraction: float = 0.01
    attribution_enrichment: float = 2.0
    prediction_change: float = 0.5

    def __post_init__(self) -> None:
        check(0 < self.fdr < 1, f"fdr must lie strictly between 0 and 1, got {self.fdr}")
        check(self.adapter_ratio >= 1, f"adapter ratio must be at least 1, got {self.adapter_ratio}")
        check(self.homopolymer_length >= 2, f"homopolymer length must be at least 2, got {self.homopolymer_length}")
        check(self.kmer_log2_odds >= 0, f"k-mer log2 odds threshold must be non-negative, got {self.kmer_log2_odds}")
        check(0 <= self.kmer_min_fraction <= 1,
              f"k-mer minimum fraction must lie in [0, 1], got {self.kmer_min_fraction}")
        check(0 < self.motif_match <= 1, f"motif match must lie in (0, 1], got {self.motif_match}")
        check(self.artifact_min_length >= 1, f"artifact length must be positive, got {self.artifact_min_length}")
        check(0 < self.ks_statistic <= 1, f"KS threshold must lie in (0, 1], got {self.ks_statistic}")
        check(0.5 <= self.baseline_auroc <= 1,
              f"baseline AUROC threshold must lie in [0.5, 1], got {self.baseline_auroc}")
        check(0 < self.near_duplicate_jaccard <= 1,
              f"near-duplicate Jaccard threshold must lie in (0, 1], got {self.near_duplicate_jaccard}")
        check(0 <= self.max_duplicate_fraction <= 1,
              f"duplicate fraction must lie in [0, 1], got {self.max_duplicate_fraction}")
        check(self.attribution_enrichment > 0,
              f"attribution enrichment threshold must be positive, got {self.attribution_enrichment}")
        check(self.prediction_change >= 0,
              f"prediction change threshold must be non-negative, got {self.prediction_change}")


# --------------------------------------------------------------------------- #
# Results
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Finding:
    """One tested question of one check, with its evidence and verdict.

    Attributes
    ----------
    check
        The check that made it (``"adapters"``, ``"kmers"``, ...).
    item
        What was tested, e.g. an adapter name or ``"GC content"``.
    test
        The statistical test or measure, e.g. ``"Fisher exact"``.
    statistic
        The test statistic or the measured value.
    p_value, q_value
        Raw and Benjamini-Hochberg-adjusted p values, ``None`` for counts.
    effect_size
        Magnitude of the difference, in the unit named by ``effect``.
    effect
        What ``effect_size`` measures.
    flag
        Whether this item is a shortcut by the thresholds.
    threshold
        The rule that decides ``flag``, in words and numbers.
    message
        A plain-language sentence for the report: what was found and what to
        do about it when flagged, what was checked otherwise.
    """

    check: str
    item: str
    test: str
    statistic: float | None
    p_value: float | None
    q_value: float | None
    effect_size: float | None
    effect: str
    flag: bool
    threshold: str
    message: str


@dataclass
class CheckResult:
    """The findings of one check and the evidence tables behind them (one TSV each)."""

    name: str
    title: str
    description: str
    findings: list[Finding]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True when any finding is flagged."""
        return any(finding.flag for finding in self.findings)


@dataclass
class AuditResult:
    """Everything an audit found, ready to be written by :func:`write_audit`."""

    dataset: dict
    thresholds: AuditThresholds
    settings: dict
    checks: list[CheckResult]

    @property
    def findings(self) -> list[Finding]:
        """All findings of all checks, in check order."""
        return [finding for result in self.checks for finding in result.findings]

    @property
    def flags(self) -> list[Finding]:
        """The flagged findings only."""
        return [finding for finding in self.findings if finding.flag]

    @property
    def flagged(self) -> bool:
        """True when anything is flagged (``--fail-on-flag`` exits 1 then)."""
        return bool(self.flags)

    def summary(self) -> dict:
        """The content of ``summary.json``: dataset, thresholds, flags first, then every finding."""
        return {
            "tool": "seqsal",
            "kind": "audit",
            "seqsal_version": seqsal.__version__,
            "flagged": self.flagged,
            "n_flags": len(self.flags),
            "flags": [finding.message for finding in self.flags],
            "dataset": self.dataset,
            "thresholds": asdict(self.thresholds),
            "settings": self.settings,
            "checks": {
                result.name: {
                    "title": result.title,
                    "flag": result.flagged,
                    "findings": [_plain_finding(finding) for finding in result.findings],
                    "tables": [f"{name}.tsv" for name in result.tables],
                }
                for result in self.checks
            },
        }

    def findings_table(self) -> pd.DataFrame:
        """All findings as one table (``checks.tsv``), message last."""
        return pd.DataFrame([asdict(finding) for finding in self.findings])


def _plain_finding(finding: Finding) -> dict:
    """A finding as JSON-ready values: numpy scalars become floats, NaN becomes ``None``."""
    plain = {}
    for key, value in asdict(finding).items():
        if isinstance(value, (float, np.floating)):
            value = None if not np.isfinite(value) else float(value)
        elif isinstance(value, np.bool_):
            value = bool(value)
        plain[key] = value
    return plain


# --------------------------------------------------------------------------- #
# The dataset
# --------------------------------------------------------------------------- #


@dataclass
class AuditData:
    """Positives and negatives in one indexable collection.

    Attributes
    ----------
    ids, sequences
        Records in order: all positives first, then all negatives; sequences
        keep their case (soft-masking is measured, not lost).
    labels
        ``(N,)`` int8, 1 for positives and 0 for negatives.
    splits
        ``(N,)`` split names, or ``None`` when no split table was given.
    codes
        All sequences concatenated as ``uint8`` codes: 0-3 for ``ACGT`` (case
        ignored), 4 for ``N`` and other IUPAC codes.
    offsets
        ``(N + 1,)``: sequence ``i`` is ``codes[offsets[i]:offsets[i + 1]]``.
    softmasked
        ``(N,)`` number of lowercase bases per sequence.
    sources
        Where the classes came from (file names), for the report.
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray
    splits: np.ndarray | None
    codes: np.ndarray
    offsets: np.ndarray
    softmasked: np.ndarray
    sources: dict[str, str]

    @classmethod
    def from_records(
        cls,
        positives: Sequence[io.Record],
        negatives: Sequence[io.Record],
        splits: Mapping[str, str] | None = None,
        sources: Mapping[str, str] | None = None,
    ) -> AuditData:
        """Collect and encode two record lists, checking every base and split assignment.

        Parameters
        ----------
        positives, negatives
            The two classes; each needs at least one record.
        splits
            Record id -> split name (``train``, ``test``, ...); every record
            must have one.
        sources
            Names of the inputs for messages, e.g. ``{"positive": "pos.fa"}``.

        Raises
        ------
        SeqsalError
            For an empty class, a base that is not IUPAC DNA (naming the record
            and position) or records without a split.
        """
        sources = {"positive": "positives", "negative": "negatives", **(sources or {})}
        check(len(positives) > 0, f"{sources['positive']}: the positive class is empty; give at least one record")
        check(len(negatives) > 0, f"{sources['negative']}: the negative class is empty; give at least one record")
        records = list(positives) + list(negatives)
        labels = np.concatenate([np.ones(len(positives), np.int8), np.zeros(len(negatives), np.int8)])
        ids = [record.id for record in records]
        sequences = [record.sequence for record in records]
        lengths = np.fromiter((len(s) for s in sequences), dtype=np.int64, count=len(sequences))
        offsets = np.concatenate([[0], np.cumsum(lengths)])
        codes = np.empty(int(offsets[-1]), dtype=np.uint8)
        for i, record in enumerate(records):
            codes[offsets[i] : offsets[i + 1]] = encode_indices(record.sequence, record.id)
        softmasked = np.fromiter(
            (0 if s.isupper() or not s else sum(c.islower() for c in s) for s in sequences),
            dtype=np.int64,
            count=len(sequences),
        )
        split_array = None
        if splits is not None:
            missing = [record_id for record_id in ids if record_id not in splits]
            source = sources.get("splits", "the split table")
            check(
                not missing,
                f"{source}: {len(missing)} of {len(ids)} sequence ids have no split (first: {missing[:3]}); "
                "the split table needs a row for every record of both classes",
            )
            split_array = np.array([str(splits[record_id]) for record_id in ids])
        return cls(ids, sequences, labels, split_array, codes, offsets, softmasked, dict(sources))

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def lengths(self) -> np.ndarray:
        """``(N,)`` sequence lengths."""
        return np.diff(self.offsets)

    @property
    def class_sizes(self) -> tuple[int, int]:
        """``(n_negative, n_positive)``, indexable by label."""
        n_pos = int(self.labels.sum())
        return len(self) - n_pos, n_pos

    def class_name(self, rows: np.ndarray) -> np.ndarray:
        """``"positive"`` / ``"negative"`` for each row index."""
        return np.array(CLASS_NAMES)[self.labels[rows]]

    def padded(self, rows: np.ndarray) -> np.ndarray:
        """Codes of ``rows`` as a ``(B, L_max)`` uint8 block, padded with 4 (read as ``N``)."""
        lengths = self.lengths[rows]
        width = int(lengths.max(initial=0))
        columns = np.arange(width)
        inside = columns < lengths[:, None]
        index = np.where(inside, self.offsets[rows][:, None] + columns, 0)
        source = self.codes if self.codes.size else np.full(1, 4, np.uint8)
        return np.where(inside, source[index], np.uint8(4)).astype(np.uint8)

    def batches(self, rows: np.ndarray | None = None) -> Iterator[np.ndarray]:
        """Row indices in batches of similar length holding at most about 2 million bases each.

        Sorting by length first keeps padding small when lengths vary; every
        statistic computed per batch is either a sum or indexed by row, so the
        order does not change any result.
        """
        rows = np.arange(len(self)) if rows is None else np.asarray(rows)
        order = rows[np.argsort(self.lengths[rows], kind="stable")]
        start = 0
        lengths = self.lengths[order]
        while start < len(order):
            stop = start + 1
            while stop < len(order) and (stop - start + 1) * max(int(lengths[stop]), 1) <= _BATCH_CELLS:
                stop += 1
            yield order[start:stop]
            start = stop

    @cached_property
    def joined(self) -> tuple[bytes, np.ndarray]:
        """All sequences upper-cased and joined by newlines, with each sequence's start offset.

        Adapter and k-mer searches run C-speed ``bytes.find`` over this one
        buffer; the newline separator can never match a base, and hits are
        mapped back to records through the start offsets.
        """
        buffer = "\n".join(self.sequences).upper().encode("ascii")
        starts = self.offsets[:-1] + np.arange(len(self))
        return buffer, starts

    def locate(self, positions: np.ndarray, width: int | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Map positions in :attr:`joined` to ``(row, start)`` and whether ``width`` bases fit in that record."""
        _, starts = self.joined
        rows = np.searchsorted(starts, positions, side="right") - 1
        start = positions - starts[rows]
        fits = start + width <= self.lengths[rows]
        return rows, start, fits


def read_split_table(path: str | PathLike) -> dict[str, str]:
    """Read a TSV with ``id`` and ``split`` columns into ``{id: split}``.

    Raises
    ------
    SeqsalError
        When the file is missing, not a table, has repeated ids or lacks a
        ``split`` column.
    """
    table = io.read_labels(path)
    check("split" in table.columns, f"{path}: the split table needs a 'split' column (found {list(table.columns)})")
    return {str(record_id): str(split) for record_id, split in table["split"].items()}


def load_dataset(
    positives: str | PathLike, negatives: str | PathLike, splits: str | PathLike | None = None
) -> AuditData:
    """Read the positive and negative FASTA (and a split table) into :class:`AuditData`."""
    sources = {"positive": str(positives), "negative": str(negatives)}
    split_map = None
    if splits is not None:
        sources["splits"] = str(splits)
        split_map = read_split_table(splits)
    return AuditData.from_records(io.read_fasta(positives), io.read_fasta(negatives), split_map, sources)


# --------------------------------------------------------------------------- #
# k-mer codes
# --------------------------------------------------------------------------- #


def reverse_complement_codes(codes: np.ndarray, k: int) -> np.ndarray:
    """Codes of the reverse complements of k-mer codes (2 bits per base, first base most significant)."""
    codes = np.asarray(codes, dtype=np.int64)
    result = np.zeros_like(codes)
    for position in range(k):
        base = (codes >> (2 * position)) & 3
        result = (result << 2) | (3 - base)
    return result


def canonical_codes(k: int) -> np.ndarray:
    """Sorted codes of the canonical k-mers: those not larger than their reverse complement.

    Counting a k-mer together with its reverse complement under the smaller
    code is how both strands are counted at once; palindromes count once.
    """
    codes = np.arange(4**k, dtype=np.int64)
    return codes[codes <= reverse_complement_codes(codes, k)]


def decode_kmers(codes: np.ndarray, k: int) -> list[str]:
    """k-mer codes back to strings."""
    codes = np.asarray(codes, dtype=np.int64)
    shifts = 2 * np.arange(k - 1, -1, -1)
    letters = np.array(list(ALPHABET))[(codes[:, None] >> shifts) & 3]
    return ["".join(row) for row in letters]


def kmer_windows(padded: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Canonical codes of every k-mer window of a padded code block, and which windows are valid.

    Parameters
    ----------
    padded
        ``(B, L)`` codes, 4 for ``N`` or padding.
    k
        k-mer length, at most 15 (codes fit in int32).

    Returns
    -------
    tuple
        ``(B, L - k + 1)`` int32 canonical codes and a boolean array of the
        same shape that is False for windows touching an ``N`` or padding.
    """
    rows, length = padded.shape
    width = length - k + 1
    if width <= 0:
        return np.zeros((rows, 0), np.int32), np.zeros((rows, 0), bool)
    bases = (padded & 3).astype(np.int32)
    forward = np.zeros((rows, width), np.int32)
    reverse = np.zeros((rows, width), np.int32)
    for j in range(k):
        column = bases[:, j : j + width]
        forward = (forward << 2) | column
        reverse |= (3 - column) << (2 * j)
    unknown = np.zeros((rows, length + 1), np.int32)
    np.cumsum(padded >= 4, axis=1, out=unknown[:, 1:])
    valid = unknown[:, k:] == unknown[:, :width]
    return np.minimum(forward, reverse), valid


def _first_of_runs(sorted_rows: np.ndarray, sentinel: int) -> np.ndarray:
    """In row-sorted values, True at the first copy of each distinct value below ``sentinel``."""
    first = np.ones(sorted_rows.shape, dtype=bool)
    first[:, 1:] = sorted_rows[:, 1:] != sorted_rows[:, :-1]
    return first & (sorted_rows < sentinel)


def kmer_count_matrix(data: AuditData, rows: np.ndarray, k_values: Iterable[int]) -> np.ndarray:
    """Per-sequence canonical k-mer frequencies ``(len(rows), features)``, all ``k_values`` side by side.

    Frequencies (counts divided by the sequence's valid k-mers of that k), not
    raw counts, so a linear model on them sees composition and not length.
    float32 halves the memory of 40,000 x 692 features, and scikit-learn's
    scaler and logistic regression keep that precision.
    """
    rows = np.asarray(rows)
    order = np.argsort(rows, kind="stable")
    blocks = []
    for k in k_values:
        canonical = canonical_codes(k)
        matrix = np.zeros((len(rows), len(canonical)), dtype=np.float32)
        for batch in data.batches(rows):
            codes, valid = kmer_windows(data.padded(batch), k)
            keys = (np.arange(len(batch))[:, None] * 4**k + codes)[valid]
            counts = np.bincount(keys, minlength=len(batch) * 4**k).reshape(len(batch), 4**k)
            matrix[order[np.searchsorted(rows[order], batch)]] = counts[:, canonical]
        totals = matrix.sum(axis=1, keepdims=True)
        blocks.append(np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0))
    return np.hstack(blocks)


# --------------------------------------------------------------------------- #
# One streaming pass: k-mers, composition, homopolymers, sketches
# --------------------------------------------------------------------------- #


@dataclass
class DatasetProfile:
    """Per-class k-mer tables and per-sequence statistics from one pass over the data.

    Attributes
    ----------
    k_values
        The k-mer lengths counted.
    kmer_counts, kmer_presence
        ``k -> (2, 4**k)`` arrays indexed by label and canonical code: total
        occurrences on both strands, and the number of sequences containing
        the k-mer at least once.
    acgt, gc
        ``(N,)`` number of ``ACGT`` bases and of ``G``/``C`` among them.
    sketches
        ``(N, SKETCH_BINS)`` one-permutation MinHash of each sequence's
        canonical 8-mer set; empty bins hold :data:`_EMPTY_BIN`.
    sketch_kmers
        ``(N,)`` distinct canonical 8-mers per sequence.
    homopolymers
        One row per run of at least ``homopolymer_length`` identical bases:
        ``row, base, start, end`` (0-based, end exclusive).
    """

    k_values: tuple[int, ...]
    kmer_counts: dict[int, np.ndarray]
    kmer_presence: dict[int, np.ndarray]
    acgt: np.ndarray
    gc: np.ndarray
    sketches: np.ndarray
    sketch_kmers: np.ndarray
    homopolymers: pd.DataFrame


def _sketch_permutation() -> tuple[np.ndarray, np.ndarray]:
    """A fixed random relabelling of the 4^8 k-mers and its inverse; the sentinel maps to itself."""
    size = 4**SKETCH_K
    permutation = np.append(np.random.default_rng(_SKETCH_SEED).permutation(size), size).astype(np.int32)
    inverse = np.empty_like(permutation)
    inverse[permutation] = np.arange(size + 1, dtype=np.int32)
    return permutation, inverse


def profile_dataset(
    data: AuditData, k_values: Iterable[int] = range(4, 9), homopolymer_length: int = 10
) -> DatasetProfile:
    """Count k-mers per class and measure every sequence in one batched pass.

    Presence (how many sequences contain a k-mer) comes from sorting each
    sequence's k-mer codes and keeping the first of each run.  For the
    near-duplicate sketch, the 8-mer codes are first relabelled by a fixed
    random permutation; after sorting, the smallest relabelled value in each
    of :data:`SKETCH_BINS` ranges is that bin's MinHash (one-permutation
    hashing, Li, Owen & Zhang 2012), so one sort serves both presence and
    sketch.

    Parameters
    ----------
    data
        The dataset.
    k_values
        k-mer lengths to count (each from 1 to 12).
    homopolymer_length
        Shortest homopolymer run recorded.
    """
    k_values = tuple(sorted(set(int(k) for k in k_values)))
    check(k_values and all(1 <= k <= 12 for k in k_values), f"k-mer lengths must lie in 1-12, got {k_values}")
    n = len(data)
    counts = {k: np.zeros(2 * 4**k, np.int64) for k in k_values}
    presence = {k: np.zeros(2 * 4**k, np.int64) for k in k_values}
    acgt = np.zeros(n, np.int64)
    gc = np.zeros(n, np.int64)
    sketches = np.full((n, SKETCH_BINS), _EMPTY_BIN, np.uint16)
    sketch_kmers = np.zeros(n, np.int64)
    runs: list[np.ndarray] = []
    permutation, inverse = _sketch_permutation()
    sentinel = 4**SKETCH_K
    bin_shift = 2 * SKETCH_K - int(np.log2(SKETCH_BINS))
    for batch in data.batches():
        block = data.padded(batch)
        labels = data.labels[batch].astype(np.int64)
        acgt[batch] = (block < 4).sum(axis=1)
        gc[batch] = ((block == 1) | (block == 2)).sum(axis=1)
        runs.append(_homopolymer_runs(block, batch, homopolymer_length))
        for k in sorted(set(k_values) | {SKETCH_K}):
            codes, valid = kmer_windows(block, k)
            offset = (labels * 4**k)[:, None]
            if k in counts:
                counts[k] += np.bincount((codes + offset)[valid], minlength=2 * 4**k)
            if k == SKETCH_K:
                relabelled = np.sort(np.where(valid, permutation[codes], sentinel), axis=1)
                first = _first_of_runs(relabelled, sentinel)
                _fill_sketches(sketches, sketch_kmers, batch, relabelled, first, bin_shift)
                distinct = np.where(first, inverse[relabelled], 0)
            else:
                distinct = np.sort(np.where(valid, codes, 4**k), axis=1)
                first = _first_of_runs(distinct, 4**k)
            if k in presence:
                presence[k] += np.bincount((distinct + offset)[first], minlength=2 * 4**k)
    homopolymers = pd.DataFrame(np.concatenate(runs) if runs else np.zeros((0, 4), np.int64),
                                columns=["row", "base", "start", "end"])
    return DatasetProfile(
        k_values=k_values,
        kmer_counts={k: value.reshape(2, 4**k) for k, value in counts.items()},
        kmer_presence={k: value.reshape(2, 4**k) for k, value in presence.items()},
        acgt=acgt,
        gc=gc,
        sketches=sketches,
        sketch_kmers=sketch_kmers,
        homopolymers=homopolymers.sort_values(["row", "start"], kind="stable").reset_index(drop=True),
    )


def _fill_sketches(
    sketches: np.ndarray, distinct_counts: np.ndarray, batch: np.ndarray, relabelled: np.ndarray,
    first: np.ndarray, bin_shift: int,
) -> None:
    """Write each row's smallest relabelled 8-mer per bin into ``sketches`` (rows are sorted already)."""
    distinct_counts[batch] = first.sum(axis=1)
    bins = relabelled >> bin_shift
    opens_bin = first.copy()
    opens_bin[:, 1:] &= bins[:, 1:] != bins[:, :-1]
    local, column = np.nonzero(opens_bin)
    sketches[batch[local], bins[local, column]] = relabelled[local, column] & (_EMPTY_BIN - 1)


def _homopolymer_runs(block: np.ndarray, batch: np.ndarray, min_length: int) -> np.ndarray:
    """Runs of one base (not ``N``) of at least ``min_length`` as ``(row, base, start, end)`` rows."""
    rows, length = block.shape
    if length == 0:
        return np.zeros((0, 4), np.int64)
    change = np.ones(block.shape, dtype=bool)
    change[:, 1:] = block[:, 1:] != block[:, :-1]
    starts = np.flatnonzero(change.ravel())
    run_lengths = np.diff(np.append(starts, rows * length))
    bases = block.ravel()[starts]
    keep = (bases < 4) & (run_lengths >= min_length)
    starts, run_lengths, bases = starts[keep], run_lengths[keep], bases[keep]
    columns = starts % length
    return np.column_stack([batch[starts // length], bases, columns, columns + run_lengths]).astype(np.int64)


# --------------------------------------------------------------------------- #
# Statistics shared by the checks
# --------------------------------------------------------------------------- #


def fisher_two_sided(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Vectorised two-sided Fisher exact p values for ``a`` of ``n_a`` against ``b`` of ``n_b``.

    Given the margins, ``a`` is hypergeometric; the two-sided p value is
    twice the smaller tail, capped at 1 (the doubling convention), which is
    what makes tens of thousands of k-mer tests one array operation.  Tables
    repeat (many rare k-mers share their counts), so each distinct one is
    computed once.
    """
    tables, inverse = np.unique(np.column_stack([np.ravel(a), np.ravel(b)]).astype(np.int64), axis=0,
                                return_inverse=True)
    first, total = tables[:, 0], tables.sum(axis=1)
    upper = stats.hypergeom.sf(first - 1, n_a + n_b, n_a, total)
    lower = stats.hypergeom.cdf(first, n_a + n_b, n_a, total)
    return np.minimum(1.0, 2 * np.minimum(upper, lower))[inverse.ravel()].reshape(np.shape(a))


def log2_odds_ratio(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """log2 odds ratio of ``a / n_a`` against ``b / n_b`` with 0.5 added to each cell (Haldane-Anscombe).

    The pseudo-count keeps k-mers absent from one class finite and shrinks
    ratios built on a handful of sequences toward zero.
    """
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.log2((a + 0.5) * (n_b - b + 0.5) / ((b + 0.5) * (n_a - a + 0.5)))


def rate_ratio(a: np.ndarray, b: np.ndarray, n_a: int, n_b: int) -> np.ndarray:
    """Ratio of the rates ``a / n_a`` and ``b / n_b``, each smoothed by half a count."""
    return ((np.asarray(a) + 0.5) / (n_a + 1)) / ((np.asarray(b) + 0.5) / (n_b + 1))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg q values (SciPy's ``false_discovery_control``); empty input gives empty output."""
    p_values = np.asarray(p_values, dtype=np.float64)
    return stats.false_discovery_control(p_values) if p_values.size else p_values


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else f"{100 * value:.2g}%"


def _class_rates(a: int, b: int, n_pos: int, n_neg: int) -> str:
    """``"12 of 600 positives (2.0%) and 0 of 600 negatives (0.0%)"``."""
    return (f"{a} of {n_pos} positives ({_percent(a / n_pos)}) and "
            f"{b} of {n_neg} negatives ({_percent(b / n_neg)})")


# --------------------------------------------------------------------------- #
# Check 1: adapters, read-through and homopolymers
# --------------------------------------------------------------------------- #


def _find_all(buffer: bytes, needle: bytes, start: int = 0, end: int | None = None,
              limit: int | None = None) -> np.ndarray:
    """Every (overlapping) start of ``needle`` in ``buffer[start:end]``, the first ``limit`` at most."""
    end = len(buffer) if end is None else end
    found = []
    position = buffer.find(needle, start, end)
    while position >= 0 and (limit is None or len(found) < limit):
        found.append(position)
        position = buffer.find(needle, position + 1, end)
    return np.array(found, dtype=np.int64)


def _windows_mismatches(buffer_array: np.ndarray, starts: np.ndarray, pattern: bytes) -> np.ndarray:
    """Number of positions where ``buffer[start:start + len(pattern)]`` differs from ``pattern``."""
    target = np.frombuffer(pattern, dtype=np.uint8)
    windows = buffer_array[starts[:, None] + np.arange(len(pattern))]
    return (windows != target).sum(axis=1)


def find_adapter_hits(
    data: AuditData, adapters: Mapping[str, str], max_mismatches: int = 1, min_readthrough: int = 8
) -> pd.DataFrame:
    """Locate adapters in every sequence, on both strands.

    Two kinds of hit are found:

    - *anywhere*: the whole adapter with at most ``max_mismatches``
      substitutions (none for homopolymer-like entries such as poly-A,
      see :func:`_low_complexity`).  By the pigeonhole principle such a window contains one
      of ``max_mismatches + 1`` disjoint adapter pieces exactly, so exact
      searches for the pieces (C-speed ``bytes.find``) give every candidate,
      and only candidates are compared base by base.  Overlapping windows of
      one adapter (e.g. in a long poly-A run) merge into one occurrence.
    - *read-through*: the sequence ends inside the adapter, i.e. its last
      ``k`` bases (``min_readthrough <= k < len(adapter)``) are the adapter's
      first ``k``, as when a fragment is shorter than the read.  On the minus
      strand the sequence instead *starts* with the reverse complement of
      such a prefix.  Exact matches only: allowing errors in 8 bases would
      match by chance.

    Returns
    -------
    pandas.DataFrame
        One row per occurrence: ``row, adapter, strand, kind`` (``exact``,
        ``1 mismatch``, ``read-through``), ``start, end`` (0-based, end
        exclusive, plus-strand coordinates) and ``mismatches``.
    """
    check(max_mismatches >= 0, f"max_mismatches must be non-negative, got {max_mismatches}")
    buffer, seq_starts = data.joined
    buffer_array = np.frombuffer(buffer, dtype=np.uint8)
    found: dict[bytes, np.ndarray] = {}

    def occurrences(needle: str) -> np.ndarray:
        key = needle.encode("ascii")
        if key not in found:
            found[key] = _find_all(buffer, key)
        return found[key]

    frames = []
    for name, adapter in adapters.items():
        allowed = 0 if _low_complexity(adapter) else max_mismatches
        for strand, pattern in (("+", adapter), ("-", reverse_complement(adapter))):
            frames.append(_anywhere_hits(data, buffer_array, occurrences, name, strand, pattern, allowed))
            if len(adapter) > min_readthrough:
                frames.append(_readthrough_hits(data, buffer, seq_starts, occurrences, name, strand, pattern,
                                                min_readthrough))
    columns = ["row", "adapter", "strand", "kind", "start", "end", "mismatches"]
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame({column: pd.Series(dtype=object if column in ("adapter", "strand", "kind") else np.int64)
                             for column in columns})
    return pd.concat(frames, ignore_index=True)[columns].sort_values(["row", "start"], kind="stable",
                                                                     ignore_index=True)


def _low_complexity(adapter: str) -> bool:
    """True for homopolymer-like entries (one base makes up 3/4 or more), which are searched exactly.

    A poly-G 12-mer with one substitution is ``GGGGCGGGGGGG``, the GC box
    that SP/KLF factors bind; tolerating a mismatch in a homopolymer finds
    real motifs, not artifacts.
    """
    return max(adapter.count(base) for base in ALPHABET) >= 0.75 * len(adapter)


def _anywhere_hits(
    data: AuditData, buffer_array: np.ndarray, occurrences: Callable[[str], np.ndarray], name: str,
    strand: str, pattern: str, max_mismatches: int,
) -> pd.DataFrame:
    """Whole-adapter windows with at most ``max_mismatches`` substitutions, overlapping windows merged."""
    width = len(pattern)
    piece = width // (max_mismatches + 1)
    check(piece >= 4, f"adapter {name!r} ({width} bp) is too short to search with {max_mismatches} mismatches; "
                      "lower the mismatches or remove it")
    candidates = np.unique(np.concatenate([
        occurrences(pattern[j * piece : (j + 1) * piece]) - j * piece for j in range(max_mismatches + 1)
    ]))
    candidates = candidates[candidates >= 0]
    rows, starts, fits = data.locate(candidates, width)
    candidates, rows, starts = candidates[fits], rows[fits], starts[fits]
    mismatches = _windows_mismatches(buffer_array, candidates, pattern.encode("ascii"))
    keep = mismatches <= max_mismatches
    rows, starts, mismatches = rows[keep], starts[keep], mismatches[keep]
    # Windows come sorted by position; a window overlapping the previous one of the same record extends it.
    new_occurrence = np.ones(len(rows), dtype=bool)
    new_occurrence[1:] = (rows[1:] != rows[:-1]) | (starts[1:] >= starts[:-1] + width)
    group = np.cumsum(new_occurrence) - 1
    merged = pd.DataFrame({"row": rows, "start": starts, "end": starts + width, "mismatches": mismatches})
    merged = merged.groupby(group).agg(row=("row", "first"), start=("start", "min"), end=("end", "max"),
                                       mismatches=("mismatches", "min"))
    merged["kind"] = np.where(merged["mismatches"] == 0, "exact", f"{max_mismatches} mismatch")
    return merged.assign(adapter=name, strand=strand)


def _readthrough_hits(
    data: AuditData, buffer: bytes, seq_starts: np.ndarray, occurrences: Callable[[str], np.ndarray],
    name: str, strand: str, pattern: str, min_readthrough: int,
) -> pd.DataFrame:
    """Sequences ending in an adapter prefix (plus strand) or starting with its reverse complement (minus)."""
    width = len(pattern)
    lengths = data.lengths
    if strand == "+":
        # the seed is the adapter's first bases; the record must end within the adapter
        positions = occurrences(pattern[:min_readthrough])
        rows, starts, _ = data.locate(positions, 0)
        overlap = lengths[rows] - starts
    else:
        # the seed is the reverse complement's last bases; the record must start within it
        positions = occurrences(pattern[-min_readthrough:])
        rows, starts, _ = data.locate(positions, 0)
        overlap = starts + min_readthrough
        starts = np.zeros_like(starts)
    keep = (overlap >= min_readthrough) & (overlap < width)
    hits = []
    for row, start, size in zip(rows[keep], starts[keep], overlap[keep]):
        expected = pattern[:size] if strand == "+" else pattern[width - size :]
        begin = int(seq_starts[row] + start)
        if buffer[begin : begin + size].decode("ascii") == expected:
            hits.append((row, start, start + size))
    frame = pd.DataFrame(hits, columns=["row", "start", "end"], dtype=np.int64)
    return frame.assign(mismatches=0, kind="read-through", adapter=name, strand=strand)


def check_adapters(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    adapters: Mapping[str, str] | None = None,
    profile: DatasetProfile | None = None,
) -> CheckResult:
    """Compare per-class rates of adapter hits, read-through and homopolymer runs (Fisher exact tests).

    Each adapter is one test (a sequence counts when it has any kind of hit);
    homopolymer runs are two tests, A/T and C/G (a poly-A run on one strand is
    a poly-T run on the other).  q values are Benjamini-Hochberg over all of
    them.  An item is flagged when q < ``fdr`` and the rate ratio is at least
    ``adapter_ratio`` in either direction: the artifact then tells the classes
    apart, whereas equal rates carry no label information.

    Parameters
    ----------
    adapters
        Name -> sequence; the bundled Illumina/Nextera list by default.
    profile
        A :func:`profile_dataset` result, for its homopolymer runs; computed
        when not given.
    """
    adapters = load_adapters() if adapters is None else dict(adapters)
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    n_neg, n_pos = data.class_sizes
    hits = find_adapter_hits(data, adapters)
    runs = profile.homopolymers[profile.homopolymers["end"] - profile.homopolymers["start"]
                                >= thresholds.homopolymer_length]
    run_names = np.where(np.isin(runs["base"], (0, 3)), "homopolymer A/T", "homopolymer C/G")
    runs = pd.DataFrame({"row": runs["row"], "adapter": run_names, "strand": "+", "kind": "homopolymer",
                         "start": runs["start"], "end": runs["end"], "mismatches": 0})
    occurrences = pd.concat([frame for frame in (hits, runs) if len(frame)] or [hits], ignore_index=True)

    rows = []
    items = list(adapters) + ["homopolymer A/T", "homopolymer C/G"]
    for item in items:
        subset = occurrences[occurrences["adapter"] == item]
        a, b = _carriers_per_class(data, subset)
        odds_ratio, p = stats.fisher_exact([[a, n_pos - a], [b, n_neg - b]])
        detail = ", ".join(f"{kind} %d/%d" % _carriers_per_class(data, group) for kind, group in subset.groupby("kind"))
        rows.append({"item": item, "pos_sequences": a, "neg_sequences": b, "pos_rate": a / n_pos,
                     "neg_rate": b / n_neg, "rate_ratio": float(rate_ratio(a, b, n_pos, n_neg)),
                     "odds_ratio": odds_ratio, "p": p,
                     "hits_by_kind_pos_neg": detail or "none"})
    table = pd.DataFrame(rows)
    table["q"] = benjamini_hochberg(table["p"].to_numpy())
    ratio = thresholds.adapter_ratio
    lopsided = (table["rate_ratio"] >= ratio) | (table["rate_ratio"] <= 1 / ratio)
    table["flag"] = (table["q"] < thresholds.fdr) & lopsided

    findings = []
    for record in table.itertuples(index=False):
        rates = _class_rates(record.pos_sequences, record.neg_sequences, n_pos, n_neg)
        what = (f"Runs of at least {thresholds.homopolymer_length} {record.item.split()[-1]} occur"
                if record.item.startswith("homopolymer") else f"The adapter {record.item} occurs")
        if record.flag:
            richer = "positives" if record.rate_ratio > 1 else "negatives"
            message = (f"{what} in {rates} (Fisher q = {record.q:.2g}): a cue a model can use to recognise "
                       f"{richer}. Trim it (e.g. with cutadapt) or drop the affected records.")
        else:
            message = f"{what} in {rates}; no class difference."
        findings.append(Finding(
            check="adapters", item=record.item, test="Fisher exact (sequences with a hit; odds ratio)",
            statistic=float(record.odds_ratio), p_value=float(record.p), q_value=float(record.q),
            effect_size=float(record.rate_ratio), effect="rate ratio, positives / negatives", flag=bool(record.flag),
            threshold=f"q < {thresholds.fdr} and rate ratio >= {ratio:g} or <= 1/{ratio:g}", message=message,
        ))
    occurrences = occurrences.sort_values(["row", "start"], kind="stable", ignore_index=True)
    return CheckResult(
        name="adapters",
        title="Adapters and artifacts",
        description=(
            f"Known adapters ({', '.join(adapters)}) were searched on both strands, anywhere with at most one "
            "mismatch, and as read-through (a sequence ending in the first 8 or more bases of an adapter). "
            f"Homopolymer runs of at least {thresholds.homopolymer_length} bases were counted. Rates per class "
            "were compared with Fisher's exact test."
        ),
        findings=findings,
        tables={"adapters": table, "artifact_hits": _with_ids(data, occurrences)},
    )


def _carriers_per_class(data: AuditData, hits: pd.DataFrame) -> tuple[int, int]:
    """Number of positive and negative records with at least one of ``hits``."""
    carriers = np.unique(hits["row"].to_numpy(dtype=np.int64))
    positives = int(data.labels[carriers].sum())
    return positives, len(carriers) - positives


def _with_ids(data: AuditData, table: pd.DataFrame) -> pd.DataFrame:
    """Put ``id``, ``class`` (and ``split``) of each ``row`` first; the row index stays for internal use."""
    rows = table["row"].to_numpy(dtype=np.int64)
    front = {"id": np.array(data.ids, dtype=object)[rows], "class": data.class_name(rows)}
    if data.splits is not None:
        front["split"] = data.splits[rows]
    return pd.concat([pd.DataFrame(front, index=table.index), table], axis=1)


# --------------------------------------------------------------------------- #
# Check 2: enriched k-mers and their motifs
# --------------------------------------------------------------------------- #


def match_kmers(
    kmers: Sequence[str], motifs: Iterable[Motif], min_information: float = 1.0, chunk: int = 256
) -> pd.DataFrame:
    """The best-matching known motif of each k-mer (or longer element), on either strand.

    A k-mer is scored against every width-``k`` window of each motif's
    log-odds matrix (and of its reverse complement); the match is the score
    divided by the best score possible over the same columns, so 1 means the
    k-mer is the motif's consensus there.  Up to a quarter of the k-mer may
    hang over the ends of the motif (an 8-mer straddling a site and its flank
    is still that site), but no more: a motif explains a sequence only if it
    covers most of it, and with hundreds of motifs some short one fits inside
    any long sequence.  Windows whose best score averages below
    ``min_information`` bits per column are skipped: near-uniform flanks would
    match anything.

    All motifs are laid end to end on one zero-padded "tape", so scoring
    ``chunk`` k-mers against every window of every motif is ``k`` array
    additions rather than a loop over motifs.

    Returns
    -------
    pandas.DataFrame
        ``kmer, motif_id, motif, match`` in input order; ``motif`` is empty and
        ``match`` is NaN when no window qualifies.
    """
    kmers = list(kmers)
    motifs = list(motifs)
    weights = [motif.log_odds() for motif in motifs]
    best = np.full(len(kmers), -np.inf)
    best_motif = np.full(len(kmers), -1)
    lengths = np.array([len(kmer) for kmer in kmers])
    for k in np.unique(lengths):
        members = np.flatnonzero(lengths == k)
        tape, starts, ceiling, owner = _motif_tape(weights, int(k), min_information)
        if not len(starts):
            continue
        bases = np.array([[ALPHABET.index(c) for c in kmers[i]] for i in members])
        for part in range(0, len(members), chunk):
            rows = slice(part, part + chunk)
            scores = np.zeros((len(bases[rows]), len(starts)))
            for i in range(k):
                scores += tape[bases[rows, i][:, None], starts + i]
            ratio = scores / ceiling
            window = ratio.argmax(axis=1)
            best[members[rows]] = ratio[np.arange(len(window)), window]
            best_motif[members[rows]] = owner[window]
    found = best_motif >= 0
    ids = np.array([motif.id for motif in motifs] + [""], dtype=object)
    names = np.array([motif.name for motif in motifs] + [""], dtype=object)
    return pd.DataFrame({"kmer": kmers, "motif_id": ids[best_motif], "motif": names[best_motif],
                         "match": np.where(found, best, np.nan)})


def _motif_tape(
    weights: Sequence[np.ndarray], k: int, min_information: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every motif's log-odds matrix and its reverse complement, zero-padded by ``k // 4`` columns, end to end.

    Returns the ``(4, T)`` tape, the start column of each usable width-``k``
    window, each window's best possible score and the index of the motif it
    belongs to.  A window is usable when it lies within one motif's padded
    stretch, overlaps at least ``k - k // 4`` real columns and its best score
    averages at least ``min_information`` bits per real column.
    """
    pad = k // 4
    pieces, starts, ceilings, owners = [], [], [], []
    offset = 0
    for index, forward in enumerate(weights):
        for matrix in (forward, forward[::-1, ::-1]):
            width = matrix.shape[1]
            padded = np.zeros((4, width + 2 * pad))
            padded[:, pad : pad + width] = matrix
            n_windows = width + 2 * pad - k + 1
            if n_windows > 0:
                real = np.zeros(width + 2 * pad)
                real[pad : pad + width] = 1
                ceiling = np.convolve(padded.max(axis=0), np.ones(k), mode="valid")
                overlap = np.convolve(real, np.ones(k), mode="valid")
                usable = (overlap >= k - pad) & (ceiling >= min_information * overlap) & (ceiling > 0)
                starts.append(offset + np.flatnonzero(usable))
                ceilings.append(ceiling[usable])
                owners.append(np.full(int(usable.sum()), index))
            pieces.append(padded)
            offset += padded.shape[1]
    if not pieces:
        return np.zeros((4, 0)), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    return np.hstack(pieces), np.concatenate(starts), np.concatenate(ceilings), np.concatenate(owners)


_BYTE_CODES = np.full(256, 4, dtype=np.int64)
_BYTE_CODES[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(4)


def conserved_element(
    data: AuditData,
    kmer: str,
    label: int,
    flank: int = 24,
    min_occurrences: int = 20,
    min_share: float = 0.5,
    max_occurrences: int = 2000,
) -> str:
    """The longest stretch around ``kmer`` that most of its occurrences in one class share exactly.

    An adapter, barcode or vector fragment is copied whole, so the records
    carrying one of its k-mers carry the rest of it too; sampled sites of a
    real motif agree only over the motif's strongest columns, and each
    further column splits them.  The element therefore grows one base at a
    time, on whichever side keeps more occurrences, for as long as at least
    ``min_share`` of all occurrences still match the whole element.  Joint
    agreement, not a column-by-column consensus, is what counts: a column
    consensus stitches the two alignments of a palindromic site into a
    chimera longer than the site.  Occurrences on the minus strand are
    reverse-complemented so all read like ``kmer``.

    Parameters
    ----------
    data
        The dataset.
    kmer
        The seed, as listed in the k-mer table.
    label
        The class whose occurrences are used (the class the k-mer is enriched in).
    flank
        How far the element may grow on each side.
    min_occurrences
        Fewer occurrences than this are not extended (no reliable consensus).
    min_share
        Share of the occurrences that must carry the whole element.
    max_occurrences
        Occurrences used per strand at most (the first ones).

    Returns
    -------
    str
        The element, oriented like ``kmer``; ``kmer`` itself when nothing
        around it is shared.
    """
    buffer, starts = data.joined
    n_pos = data.class_sizes[1]
    region = (0, int(starts[n_pos])) if label == 1 else (int(starts[n_pos]), len(buffer))
    k = len(kmer)
    positions, minus = [], []
    for sequence in dict.fromkeys((kmer, reverse_complement(kmer))):  # a palindrome is searched once
        found = _find_all(buffer, sequence.encode("ascii"), *region, limit=max_occurrences)
        positions.append(found)
        minus.append(np.full(len(found), sequence != kmer))
    positions, minus = np.concatenate(positions), np.concatenate(minus)
    if len(positions) < min_occurrences:
        return kmer
    rows, _, _ = data.locate(positions, k)
    index = positions[:, None] + np.arange(-flank, k + flank)
    record_start = starts[rows][:, None]
    inside = (index >= record_start) & (index < record_start + data.lengths[rows][:, None])
    bases = _BYTE_CODES[np.frombuffer(buffer, dtype=np.uint8)[np.clip(index, 0, len(buffer) - 1)]]
    codes = np.where(inside, bases, 4)
    codes[minus] = np.where(codes[minus] < 4, 3 - codes[minus], 4)[:, ::-1]
    needed = min_share * len(codes)
    carriers = np.ones(len(codes), dtype=bool)
    left, right = flank, flank + k
    while True:
        options = []
        for column in (left - 1, right):
            if 0 <= column < codes.shape[1]:
                counts = np.bincount(codes[carriers, column], minlength=5)[:4]
                options.append((counts.max(), column, int(counts.argmax())))
        count, column, base = max(options, default=(0, -1, 0))
        if count < needed:
            break
        carriers &= codes[:, column] == base
        left, right = min(left, column), max(right, column + 1)
    carrier = np.flatnonzero(carriers)[0]  # every carrier reads the same element
    return "".join(ALPHABET[base] for base in codes[carrier, left:right])


def check_kmers(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    motifs: MotifDatabase | Iterable[Motif] | None = None,
    profile: DatasetProfile | None = None,
    k_values: Iterable[int] = range(4, 9),
    annotate_top: int = 20,
    max_extended: int = 200,
) -> CheckResult:
    """Find k-mers enriched in one class and ask whether a known motif explains them.

    Canonical k-mers (a k-mer and its reverse complement together) are
    tested for *presence*: how many sequences of each class contain them.
    Sequences, not occurrences, are the independent units, so a repeat
    with fifty copies in one record cannot fake significance.  Fisher exact
    tests give p values, Benjamini-Hochberg over all k-mers of all lengths
    gives q values, and the effect is the log2 odds ratio of presence with
    0.5 pseudo-counts.

    A k-mer is a *candidate* when q < ``fdr``, its absolute log2 odds ratio
    is at least ``kmer_log2_odds`` and it occurs in at least
    ``kmer_min_fraction`` of the class it is enriched in.  Candidates of the
    longest k are extended to the :func:`conserved_element` their
    occurrences share.  A candidate is *flagged* when that element is at least
    ``artifact_min_length`` long and matches no known motif (match below
    ``motif_match``): a long exact copy that is no transcription-factor site.
    Matching the k-mer alone cannot decide this, because with hundreds of
    motifs almost every 8-mer resembles part of one; enriched k-mers of known
    motifs are what a good model should learn and are never flagged.

    Parameters
    ----------
    motifs
        Known motifs; the bundled JASPAR 2016 vertebrate set by default.
    profile
        A :func:`profile_dataset` result with these ``k_values``; computed when
        not given.
    annotate_top
        Besides every candidate, the ``annotate_top`` most significant k-mers
        of each length get a motif annotation.
    max_extended
        Candidates of the longest k extended at most, the most significant
        first (each extension searches the class once).
    """
    motifs = list(MotifDatabase.default() if motifs is None else motifs)
    k_values = tuple(sorted(set(k_values)))
    if profile is None or not set(k_values) <= set(profile.k_values):
        profile = profile_dataset(data, k_values, thresholds.homopolymer_length)
    n_neg, n_pos = data.class_sizes
    table = _kmer_table(profile, k_values, n_pos, n_neg)
    enriched_rate = np.where(table["log2_odds_ratio"] > 0, table["pos_rate"], table["neg_rate"])
    strong = (table["q"] < thresholds.fdr) & (table["log2_odds_ratio"].abs() >= thresholds.kmer_log2_odds)
    candidate = strong & (enriched_rate >= thresholds.kmer_min_fraction)

    annotate = np.union1d(table.groupby("k").head(annotate_top).index, np.flatnonzero(candidate))
    kmer_matches = match_kmers(table.loc[annotate, "kmer"], motifs).set_index(annotate)
    extended = table.index[candidate & (table["k"] == k_values[-1])][:max_extended]
    elements = pd.Series({i: conserved_element(data, table.at[i, "kmer"], int(table.at[i, "log2_odds_ratio"] > 0))
                          for i in extended}, dtype=object)
    long_elements = elements[elements.str.len() >= thresholds.artifact_min_length]
    element_matches = match_kmers(long_elements.unique(), motifs).set_index("kmer")
    # A k-mer inside a long shared element is described by the element; any other by itself.
    annotation = kmer_matches[["motif", "match"]].copy()
    for i, element in long_elements.items():
        annotation.loc[i] = element_matches.loc[element, ["motif", "match"]].to_numpy()
    known = annotation["match"].astype(float) >= thresholds.motif_match
    table["annotation"] = ""
    table.loc[annotation.index, "annotation"] = np.where(known, annotation["motif"], "no known motif")
    table["motif_match"] = np.nan
    table.loc[annotation.index, "motif_match"] = annotation["match"].astype(float)
    table["element"] = ""
    table.loc[elements.index, "element"] = elements
    table["flag"] = False
    table.loc[long_elements.index, "flag"] = ~known[long_elements.index]

    flagged = table[table["flag"]]
    rule = (f"q < {thresholds.fdr}, |log2 odds ratio| >= {thresholds.kmer_log2_odds:g}, in >= "
            f"{_percent(thresholds.kmer_min_fraction)} of the enriched class, inside a shared element of >= "
            f"{thresholds.artifact_min_length} bp with motif match < {thresholds.motif_match:g}")
    if len(flagged):
        head = flagged.iloc[0]
        richer = "positives" if head["log2_odds_ratio"] > 0 else "negatives"
        elements = distinct_elements(flagged["element"])
        message = (f"Copies of {elements[0]} ({len(elements[0])} bp, no known motif) are enriched in {richer}: "
                   f"its k-mer {head['kmer']} is in "
                   f"{_class_rates(int(head['pos_sequences']), int(head['neg_sequences']), n_pos, n_neg)} "
                   f"(q = {head['q']:.2g})"
                   + (f"; {len(elements) - 1} more such element(s), e.g. {elements[1]}" if len(elements) > 1 else "")
                   + ". A long exact copy in many records is an adapter, barcode, primer or vector fragment "
                     "until shown otherwise: find its source, trim it, or pass it with --adapters.")
        statistic, q_value = float(len(flagged)), float(flagged["q"].min())
        effect = float(flagged["log2_odds_ratio"].abs().max())
    else:
        n_known = int((~table.loc[strong, "annotation"].isin(["", "no known motif"])).sum())
        message = (f"{int(strong.sum())} k-mers are at least {2 ** thresholds.kmer_log2_odds:g}-fold enriched "
                   f"(odds) in one class ({n_known} annotated with a known motif); none lies in a long shared element "
                   "without a known motif.")
        statistic, q_value = 0.0, float(table["q"].min()) if len(table) else None
        effect = float(table["log2_odds_ratio"].abs().max()) if len(table) else None
    finding = Finding(
        check="kmers", item=f"k-mers, k = {k_values[0]}-{k_values[-1]}", test="Fisher exact (presence), BH FDR",
        statistic=statistic, p_value=None, q_value=q_value, effect_size=effect,
        effect="largest |log2 odds ratio| (of flagged k-mers when any)", flag=bool(len(flagged)), threshold=rule,
        message=message,
    )
    return CheckResult(
        name="kmers",
        title="Enriched k-mers",
        description=(
            f"Canonical k-mers of length {k_values[0]} to {k_values[-1]} (both strands) were counted per class; "
            "presence per sequence was compared with Fisher's exact test (Benjamini-Hochberg FDR over all k-mers). "
            f"The most significant k-mers were matched to {len(motifs)} known motifs, and enriched "
            f"{k_values[-1]}-mers were extended to the element their occurrences share: a long shared element "
            "with no known motif is the suspicious case (an adapter, barcode or vector piece)."
        ),
        findings=[finding],
        tables={"kmers": table},
    )


def distinct_elements(elements: Iterable[str]) -> list[str]:
    """Elements without repeats: one orientation each, none contained in a longer one, longest first.

    Seeds from both strands and from different parts of one artifact give the
    same element, reverse-complemented or cut short at the search window;
    they describe one artifact and are reported once.
    """
    kept: list[str] = []
    for element in sorted(set(elements), key=len, reverse=True):
        forward, backward = element, reverse_complement(element)
        if not any(forward in longer or backward in longer for longer in kept):
            kept.append(min(forward, backward))
    return kept


def _kmer_table(profile: DatasetProfile, k_values: Sequence[int], n_pos: int, n_neg: int) -> pd.DataFrame:
    """Every canonical k-mer present in the data with its per-class counts and Fisher test, by q."""
    frames = []
    for k in k_values:
        codes = canonical_codes(k)
        present = profile.kmer_presence[k][:, codes]
        tested = present.sum(axis=0) > 0
        codes, present = codes[tested], present[:, tested]
        counted = profile.kmer_counts[k][:, codes]
        frames.append(pd.DataFrame({
            "k": k, "kmer": decode_kmers(codes, k),
            "pos_sequences": present[1], "neg_sequences": present[0],
            "pos_count": counted[1], "neg_count": counted[0],
        }))
    table = pd.concat(frames, ignore_index=True)
    a, b = table["pos_sequences"].to_numpy(), table["neg_sequences"].to_numpy()
    table["pos_rate"] = a / n_pos
    table["neg_rate"] = b / n_neg
    table["log2_odds_ratio"] = log2_odds_ratio(a, b, n_pos, n_neg)
    table["p"] = fisher_two_sided(a, b, n_pos, n_neg)
    table["q"] = benjamini_hochberg(table["p"].to_numpy())
    return table.sort_values(["q", "k"], kind="stable", ignore_index=True)


# --------------------------------------------------------------------------- #
# Check 3: composition
# --------------------------------------------------------------------------- #


def composition_table(data: AuditData, profile: DatasetProfile) -> pd.DataFrame:
    """Per-sequence length, GC (of ``ACGT`` bases), N fraction and soft-masked fraction."""
    lengths = data.lengths
    safe = np.maximum(lengths, 1)
    frame = _with_ids(data, pd.DataFrame({"row": np.arange(len(data))}))
    return frame.assign(
        length=lengths,
        gc=np.divide(profile.gc, profile.acgt, out=np.full(len(data), np.nan), where=profile.acgt > 0),
        n_fraction=(lengths - profile.acgt) / safe,
        softmasked_fraction=data.softmasked / safe,
    )


_COMPOSITION_METRICS = {
    "gc": ("GC content", "Use GC-matched negatives (e.g. sampled from background with the same GC distribution)."),
    "length": ("length", "Trim or pad both classes to one length, or draw negatives with the positives' lengths."),
    "n_fraction": ("N content", "Mask or drop N-rich records in both classes alike."),
    "softmasked_fraction": ("soft-masked (lowercase) fraction",
                            "Repeats are masked in one class only; upper-case both or mask both."),
}


def check_composition(
    data: AuditData, thresholds: AuditThresholds = AuditThresholds(), profile: DatasetProfile | None = None
) -> CheckResult:
    """Compare GC, length, N and soft-masked content between classes (two-sample Kolmogorov-Smirnov).

    KS compares whole distributions, so a shift, a spread or a second mode
    all count.  Because large datasets make every difference significant,
    a metric is flagged only when q < ``fdr`` *and* D >= ``ks_statistic``.
    """
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    table = composition_table(data, profile)
    positive = data.labels == 1
    rows = []
    for metric, (label, _) in _COMPOSITION_METRICS.items():
        values = table[metric].to_numpy(dtype=float)
        pos, neg = values[positive & ~np.isnan(values)], values[~positive & ~np.isnan(values)]
        if len(pos) and len(neg):
            result = stats.ks_2samp(pos, neg)
            statistic, p = float(result.statistic), float(result.pvalue)
        else:
            statistic, p = 0.0, 1.0
        rows.append({"metric": metric, "label": label,
                     "pos_median": np.median(pos) if len(pos) else np.nan,
                     "neg_median": np.median(neg) if len(neg) else np.nan,
                     "pos_mean": pos.mean() if len(pos) else np.nan,
                     "neg_mean": neg.mean() if len(neg) else np.nan, "ks_d": statistic, "p": p})
    summary = pd.DataFrame(rows)
    summary["q"] = benjamini_hochberg(summary["p"].to_numpy())
    summary["flag"] = (summary["q"] < thresholds.fdr) & (summary["ks_d"] >= thresholds.ks_statistic)
    findings = []
    for record in summary.itertuples(index=False):
        label, advice = _COMPOSITION_METRICS[record.metric]
        medians = (f"median {_format_metric(record.metric, record.pos_median)} in positives vs "
                   f"{_format_metric(record.metric, record.neg_median)} in negatives")
        if record.flag:
            message = (f"The {label} differs between classes ({medians}; KS D = {record.ks_d:.2f}, "
                       f"q = {record.q:.2g}): a model can separate them by composition alone. {advice}")
        else:
            message = f"The {label} is similar in both classes ({medians}; KS D = {record.ks_d:.2f})."
        findings.append(Finding(
            check="composition", item=label, test="Kolmogorov-Smirnov two-sample", statistic=record.ks_d,
            p_value=record.p, q_value=record.q, effect_size=record.ks_d, effect="KS D (largest CDF gap)",
            flag=bool(record.flag), threshold=f"q < {thresholds.fdr} and D >= {thresholds.ks_statistic:g}",
            message=message,
        ))
    return CheckResult(
        name="composition",
        title="Composition",
        description=("GC content (of A/C/G/T bases), length, N content and the soft-masked (lowercase) fraction were "
                     "compared between classes with two-sample Kolmogorov-Smirnov tests."),
        findings=findings,
        tables={"composition": summary, "sequences": table.drop(columns="row")},
    )


def _format_metric(metric: str, value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.0f} bp" if metric == "length" else _percent(value)


# --------------------------------------------------------------------------- #
# Check 4: leakage (duplicates)
# --------------------------------------------------------------------------- #


def exact_duplicates(data: AuditData) -> pd.DataFrame:
    """Groups of records with identical sequence up to case and reverse complement.

    A sequence and its reverse complement are the same DNA; a model trained
    with reverse-complement augmentation (or any strand-symmetric model) sees
    them as one, so they count as duplicates.

    Returns
    -------
    pandas.DataFrame
        ``group, row, orientation`` (``+``: as the group's first member, ``-``:
        reverse complement of it), only for groups of two or more records.
    """
    upper = [sequence.upper() for sequence in data.sequences]
    keys = [min(sequence, reverse_complement(sequence)) for sequence in upper]
    group, _ = pd.factorize(pd.Series(keys), sort=False)
    sizes = np.bincount(group)
    rows = np.flatnonzero(sizes[group] >= 2)
    forward = np.array([upper[row] == keys[row] for row in rows], dtype=bool)
    frame = pd.DataFrame({"group": group[rows], "row": rows, "forward": forward})
    first_forward = frame.groupby("group")["forward"].transform("first")
    frame["orientation"] = np.where(frame["forward"] == first_forward, "+", "-")
    frame["group"] = pd.factorize(frame["group"])[0]
    return frame.drop(columns="forward")


def near_duplicate_pairs(
    sketches: np.ndarray, eligible: np.ndarray, threshold: float, bands: int = LSH_BANDS
) -> pd.DataFrame:
    """Pairs of records whose estimated Jaccard similarity of 8-mer sets is at least ``threshold``.

    Locality-sensitive hashing on the MinHash sketches: records whose bins
    agree on a whole band of ``SKETCH_BINS / bands`` bins become candidates,
    which keeps the work roughly linear in the number of records; each
    candidate pair's Jaccard is then estimated from all bins (bins empty in
    both records are ignored).

    Returns
    -------
    pandas.DataFrame
        ``row_a, row_b, jaccard`` with ``row_a < row_b``.
    """
    n_bins = sketches.shape[1]
    check(n_bins % bands == 0, f"{n_bins} sketch bins cannot be split into {bands} bands")
    width = n_bins // bands
    pairs = []
    for band in range(bands):
        block = sketches[:, band * width : (band + 1) * width].astype(np.int64)
        rows = np.flatnonzero(eligible & (block < _EMPTY_BIN).all(axis=1))
        keys = np.zeros(len(rows), np.int64)
        for column in range(width):
            keys = (keys << 11) | block[rows, column]
        order = np.argsort(keys, kind="stable")
        rows, keys = rows[order], keys[order]
        starts = np.flatnonzero(np.diff(keys, prepend=-1))
        sizes = np.diff(np.append(starts, len(keys)))
        for start, size in zip(starts[sizes > 1], sizes[sizes > 1]):
            bucket = rows[start : start + size]
            if len(bucket) <= MAX_BUCKET_PAIRS:
                left, right = np.triu_indices(len(bucket), k=1)
                pairs.append(np.column_stack([bucket[left], bucket[right]]))
            else:
                pairs.append(np.column_stack([np.full(len(bucket) - 1, bucket[0]), bucket[1:]]))
    if not pairs:
        return pd.DataFrame({"row_a": np.zeros(0, np.int64), "row_b": np.zeros(0, np.int64), "jaccard": np.zeros(0)})
    pairs = np.unique(np.sort(np.concatenate(pairs), axis=1), axis=0)
    left, right = sketches[pairs[:, 0]], sketches[pairs[:, 1]]
    filled = (left < _EMPTY_BIN) | (right < _EMPTY_BIN)
    jaccard = ((left == right) & filled).sum(axis=1) / np.maximum(filled.sum(axis=1), 1)
    keep = jaccard >= threshold
    return pd.DataFrame({"row_a": pairs[keep, 0], "row_b": pairs[keep, 1], "jaccard": jaccard[keep]})


def check_leakage(
    data: AuditData, thresholds: AuditThresholds = AuditThresholds(), profile: DatasetProfile | None = None
) -> CheckResult:
    """Find duplicated records that leak labels or test data.

    Four findings, each a count that should be zero (or small):

    - exact or reverse-complement duplicates *across classes*: the same DNA
      labelled both ways, a label conflict no model can resolve;
    - exact or reverse-complement duplicates *across splits*: test records
      the model saw in training, so test metrics overstate generalisation;
    - near-duplicates (estimated 8-mer Jaccard >= ``near_duplicate_jaccard``)
      across classes or splits, the same problems with a few edits;
    - redundant copies within one class and split, flagged above
      ``max_duplicate_fraction`` of the records because they weight some
      sequences many times over.
    """
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    splits = data.splits if data.splits is not None else np.full(len(data), "all")
    groups = exact_duplicates(data)
    groups["label"] = data.labels[groups["row"]]
    groups["split_name"] = splits[groups["row"]]
    per_group = groups.groupby("group").agg(size=("row", "size"), classes=("label", "nunique"),
                                            split_count=("split_name", "nunique"))
    groups = groups.join(per_group, on="group")
    groups["cross_class"] = groups["classes"] > 1
    groups["cross_split"] = groups["split_count"] > 1
    cross_class = int(per_group["classes"].gt(1).sum())
    cross_split = int(per_group["split_count"].gt(1).sum())
    within = groups.groupby(["group", "label", "split_name"]).size()
    redundant = int((within - 1).sum())

    eligible = profile.sketch_kmers >= MIN_SKETCH_KMERS
    near = near_duplicate_pairs(profile.sketches, eligible, thresholds.near_duplicate_jaccard)
    exact_key = np.full(len(data), -1)
    exact_key[groups["row"].to_numpy()] = groups["group"].to_numpy()
    a, b = near["row_a"].to_numpy(), near["row_b"].to_numpy()
    near = near[(exact_key[a] < 0) | (exact_key[a] != exact_key[b])].reset_index(drop=True)
    a, b = near["row_a"].to_numpy(), near["row_b"].to_numpy()
    near_table = pd.DataFrame({
        "id_a": np.array(data.ids, dtype=object)[a], "id_b": np.array(data.ids, dtype=object)[b],
        "class_a": data.class_name(a), "class_b": data.class_name(b),
    })
    if data.splits is not None:
        near_table["split_a"], near_table["split_b"] = splits[a], splits[b]
    near_table["jaccard_estimate"] = near["jaccard"].to_numpy()
    near_cross = (data.labels[a] != data.labels[b]) | (splits[a] != splits[b])
    near_table["cross_class_or_split"] = near_cross

    n = len(data)

    def example_ids(mask: pd.Series) -> str:
        """The first three duplicate groups selected by ``mask``, e.g. ``dup0 = syn000037``."""
        chosen = groups[mask].groupby("group", sort=False)["row"].apply(
            lambda rows: " = ".join(data.ids[row] for row in rows))
        return "; ".join(chosen.head(3))

    findings = [
        _count_finding(
            "exact duplicates across classes", cross_class, cross_class > 0, "any group", n,
            f"{cross_class} sequences (or their reverse complements) occur in both classes, e.g. "
            f"{example_ids(groups['cross_class'])}: the same DNA carries both labels. Remove them from one class.",
            "No sequence occurs in both classes."),
    ]
    if data.splits is not None:
        findings.append(_count_finding(
            "exact duplicates across splits", cross_split, cross_split > 0, "any group", n,
            f"{cross_split} sequences (or their reverse complements) occur in more than one split, e.g. "
            f"{example_ids(groups['cross_split'])}: test records the model has trained on. Deduplicate before "
            "splitting, or split by genomic region.",
            "No sequence occurs in more than one split."))
    scope = "classes or splits" if data.splits is not None else "classes"
    crossing = near_table[near_cross]
    example = f"{crossing['id_a'].iloc[0]} and {crossing['id_b'].iloc[0]}" if len(crossing) else ""
    findings.append(_count_finding(
        f"near-duplicates across {scope}", len(crossing), len(crossing) > 0,
        f"any pair with Jaccard >= {thresholds.near_duplicate_jaccard:g}", n,
        f"{len(crossing)} pairs of near-identical records (8-mer Jaccard >= {thresholds.near_duplicate_jaccard:g}) "
        f"cross {scope}, e.g. {example}. Cluster by similarity (e.g. CD-HIT, MMseqs2) and keep each cluster in one "
        "split and class.",
        f"No near-identical pair crosses {scope} ({len(near_table)} near-duplicate pairs in all)."))
    fraction = redundant / n
    findings.append(_count_finding(
        "redundant copies within a class and split", redundant,
        fraction > thresholds.max_duplicate_fraction,
        f"share of records > {_percent(thresholds.max_duplicate_fraction)}", n,
        f"{redundant} records ({_percent(fraction)}) are copies of another record in the same class and split; "
        "they weight some sequences many times over. Deduplicate.",
        f"{redundant} records ({_percent(fraction)}) are copies within their class and split."))
    duplicate_table = _with_ids(data, groups[["group", "row", "orientation", "size", "cross_class", "cross_split"]])
    return CheckResult(
        name="leakage",
        title="Leakage and duplicates",
        description=(
            "Records were grouped by identical sequence (ignoring case, counting reverse complements as the same). "
            f"Near-duplicates were found with MinHash sketches of canonical {SKETCH_K}-mer sets "
            f"({SKETCH_BINS} bins, LSH with {LSH_BANDS} bands); pairs with estimated Jaccard >= "
            f"{thresholds.near_duplicate_jaccard:g} are reported."
            + ("" if data.splits is not None else " No split table was given, so splits were not checked.")
        ),
        findings=findings,
        tables={"duplicates": duplicate_table.drop(columns="row"), "near_duplicates": near_table},
    )


def _count_finding(item: str, count: int, flag: bool, rule: str, n: int, flagged: str, clean: str) -> Finding:
    """A leakage finding: a count, its share of all records, and a sentence for either verdict."""
    return Finding(check="leakage", item=item, test="count", statistic=float(count), p_value=None, q_value=None,
                   effect_size=count / n, effect="count / number of records", flag=bool(flag), threshold=rule,
                   message=flagged if flag else clean)


# --------------------------------------------------------------------------- #
# Check 5: trivial baselines
# --------------------------------------------------------------------------- #


def check_baselines(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    profile: DatasetProfile | None = None,
    max_per_class: int = 20_000,
    folds: int = 5,
    random_state: int | None = 0,
) -> CheckResult:
    """Cross-validated AUROC of logistic regression on GC alone, length alone and k-mer frequencies.

    If one number per sequence separates the classes, a deep model will find
    it first.  GC-only and length-only AUROCs at or above ``baseline_auroc``
    are flagged by themselves.  The k-mer model (canonical 1- to 5-mer
    frequencies) also captures motifs, i.e. real biology, so it is a
    reference for what a position-blind model achieves and never flagged.

    Out-of-fold decision values come from scikit-learn's
    ``cross_val_predict`` (stratified folds, seeded); the AUROC is the mean
    over folds, and the p value is a one-sided Mann-Whitney U test of the
    pooled out-of-fold scores (AUROC is U scaled to [0, 1]).  The L2 penalty
    ``C = 0.1`` keeps hundreds of k-mer weights from chasing rare k-mers and
    converges fast; BLAS runs on one thread because problems this small only
    lose time to thread hand-offs, badly so on a busy machine.

    Parameters
    ----------
    max_per_class
        Records drawn at random from each larger class; AUROC of a
        one-feature model is precise to about 0.005 at 20,000 per class.
    folds
        Cross-validation folds (fewer when a class is smaller).
    random_state
        Seed for the subsample and the folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    check(max_per_class >= 2, f"max_per_class must be at least 2, got {max_per_class}")
    check(folds >= 2, f"folds must be at least 2, got {folds}")
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    rng = np.random.default_rng(random_state)
    rows = np.sort(np.concatenate([
        rng.choice(members, size=min(len(members), max_per_class), replace=False)
        for members in (np.flatnonzero(data.labels == label) for label in (0, 1))
    ]))
    y = data.labels[rows]
    n_folds = min(folds, int(np.bincount(y, minlength=2).min()))
    gc = np.divide(profile.gc[rows], profile.acgt[rows], out=np.full(len(rows), np.nan), where=profile.acgt[rows] > 0)
    gc = np.where(np.isnan(gc), np.nanmedian(gc) if np.isfinite(gc).any() else 0.5, gc)
    features = {
        "GC only": gc[:, None],
        "length only": data.lengths[rows].astype(float)[:, None],
        f"k-mers (k <= {BASELINE_MAX_K})": kmer_count_matrix(data, rows, range(1, BASELINE_MAX_K + 1)),
    }
    results = []
    for name, X in features.items():
        if n_folds < 2:
            results.append({"baseline": name, "auroc": np.nan, "auroc_sd": np.nan, "p": np.nan, "n": len(rows),
                            "folds": n_folds})
            continue
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
        with threadpool_limits(limits=1, user_api="blas"):
            scores = cross_val_predict(model, X, y, cv=splitter, method="decision_function")
        per_fold = [roc_auc_score(y[test], scores[test]) for _, test in splitter.split(X, y)]
        if np.ptp(scores) > 0:
            p = float(stats.mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
        else:
            p = 1.0
        results.append({"baseline": name, "auroc": float(np.mean(per_fold)), "auroc_sd": float(np.std(per_fold)),
                        "p": p, "n": len(rows), "folds": n_folds})
    table = pd.DataFrame(results)
    table["flag"] = [
        bool(name != list(features)[-1] and np.isfinite(auroc) and auroc >= thresholds.baseline_auroc
             and p < thresholds.fdr)
        for name, auroc, p in zip(table["baseline"], table["auroc"], table["p"])
    ]
    findings = []
    for record in table.itertuples(index=False):
        reference = record.baseline.startswith("k-mers")
        if not np.isfinite(record.auroc):
            message = f"The {record.baseline} baseline was not run: a class has fewer than 2 records."
        elif record.flag:
            message = (f"Logistic regression on {record.baseline.replace(' only', '')} alone reaches AUROC "
                       f"{record.auroc:.2f} ({record.folds}-fold CV): any model can score this well without reading "
                       "a motif. Match this property between classes before training.")
        elif reference:
            message = (f"A position-blind model on k-mer frequencies reaches AUROC {record.auroc:.2f}: compare your "
                       "model with this, not with 0.5.")
        else:
            message = f"{record.baseline.replace(' only', '').capitalize()} alone reaches AUROC {record.auroc:.2f}."
        findings.append(Finding(
            check="baselines", item=record.baseline, test=f"logistic regression, {record.folds}-fold CV AUROC",
            statistic=record.auroc, p_value=record.p, q_value=None,
            effect_size=record.auroc - 0.5 if np.isfinite(record.auroc) else np.nan, effect="AUROC - 0.5",
            flag=bool(record.flag),
            threshold="reference only, never flagged" if reference else
            f"AUROC >= {thresholds.baseline_auroc:g} and p < {thresholds.fdr}",
            message=message,
        ))
    return CheckResult(
        name="baselines",
        title="Trivial baselines",
        description=(f"Logistic regression (scikit-learn, standardised features) was cross-validated on up to "
                     f"{max_per_class} records per class: on GC content only, on length only, and on canonical "
                     f"k-mer frequencies (k = 1-{BASELINE_MAX_K})."),
        findings=findings,
        tables={"baselines": table},
    )


# --------------------------------------------------------------------------- #
# Check 6: does a trained model use the artifacts?
# --------------------------------------------------------------------------- #


def flagged_artifacts(data: AuditData, checks: Sequence[CheckResult]) -> pd.DataFrame:
    """Every occurrence of a flagged adapter, homopolymer or suspicious k-mer: ``row, start, end, source``."""
    frames = []
    for result in checks:
        if result.name == "adapters":
            flagged_items = {finding.item for finding in result.findings if finding.flag}
            hits = result.tables["artifact_hits"]
            hits = hits[hits["adapter"].isin(flagged_items)]
            frames.append(pd.DataFrame({"row": hits["row"], "start": hits["start"], "end": hits["end"],
                                        "source": hits["adapter"]}))
        elif result.name == "kmers":
            table = result.tables["kmers"]
            frames.extend(_kmer_occurrences(data, kmer) for kmer in table.loc[table["flag"], "kmer"])
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "start": np.zeros(0, np.int64),
                             "end": np.zeros(0, np.int64), "source": np.zeros(0, object)})
    return pd.concat(frames, ignore_index=True)


def _kmer_occurrences(data: AuditData, kmer: str) -> pd.DataFrame:
    """Occurrences of a k-mer or its reverse complement in every record."""
    buffer, _ = data.joined
    positions = np.unique(np.concatenate([_find_all(buffer, s.encode("ascii"))
                                          for s in {kmer, reverse_complement(kmer)}]))
    rows, starts, fits = data.locate(positions, len(kmer))
    return pd.DataFrame({"row": rows[fits], "start": starts[fits], "end": starts[fits] + len(kmer),
                         "source": f"k-mer {kmer}"})


def check_model(
    data: AuditData,
    model: str | PathLike | EnhancerCNN,
    artifacts: pd.DataFrame,
    thresholds: AuditThresholds = AuditThresholds(),
    max_sequences: int = 1000,
    random_state: int | None = 0,
    batch_size: int = 128,
    device: str | None = None,
) -> CheckResult:
    """Measure how much a trained model relies on the flagged artifacts.

    For up to ``max_sequences`` records that carry a flagged artifact:

    - *attribution share*: gradient × input (with the Majdandzic et al.
      correction) per position, absolute values; the share of the total that
      falls on artifact positions, divided by the share of positions they
      occupy.  1 means the model looks at artifacts like at any other base.
    - *prediction change*: every artifact occurrence is overwritten with the
      bases at the same positions of a dinucleotide shuffle of the whole
      sequence, and the logit is predicted again.  Shuffling the artifact
      itself would leave a poly-A run a poly-A run; taking the bases from a
      shuffle of the record removes the artifact while keeping the record's
      own composition.

    Records are centre-cropped or N-padded to the model's input length, with
    artifact positions moved along; Wilcoxon signed-rank tests give p values.

    Parameters
    ----------
    model
        A loaded :class:`~seqsal.models.EnhancerCNN` (or a path; see
        :func:`seqsal.models.load_model`).
    artifacts
        Occurrences from :func:`flagged_artifacts`.
    """
    from seqsal.attribution import attribute, per_position
    from seqsal.models import load_model, predict

    model = load_model(model, device=device)
    rows = np.unique(artifacts["row"].to_numpy(dtype=np.int64))
    description = ("The trained model was asked how much it relies on the flagged artifacts: the share of "
                   "gradient × input attribution on artifact positions, and the change of its logit when the "
                   "artifacts are replaced by bases from a dinucleotide shuffle of the same record.")
    if not len(rows):
        finding = Finding(check="model", item="model reliance on artifacts", test="not run", statistic=None,
                          p_value=None, q_value=None, effect_size=None, effect="", flag=False,
                          threshold="needs flagged artifacts",
                          message="No artifact was flagged, so there was nothing to test the model on.")
        return CheckResult("model", "Model reliance on artifacts", description, [finding], {})
    rng = np.random.default_rng(random_state)
    if len(rows) > max_sequences:
        rows = np.sort(rng.choice(rows, size=max_sequences, replace=False))
    length = model.config.input_length
    original, cleaned, masks = [], [], np.zeros((len(rows), length), dtype=bool)
    by_row = artifacts.groupby("row")
    for i, row in enumerate(rows):
        sequence, fit = fit_length(data.sequences[row].upper(), length)
        for start, end in by_row.get_group(row)[["start", "end"]].to_numpy():
            masks[i, max(start - fit.offset, 0) : max(min(end - fit.offset, length), 0)] = True
        shuffled = dinucleotide_shuffle(sequence, rng)
        original.append(sequence)
        cleaned.append("".join(s if not m else t for s, t, m in zip(sequence, shuffled, masks[i])))
    X = one_hot(original, ids=[data.ids[row] for row in rows])
    X_clean = one_hot(cleaned, ids=[data.ids[row] for row in rows])
    before = predict(model, X, batch_size=batch_size, device=device)[:, 0]
    after = predict(model, X_clean, batch_size=batch_size, device=device)[:, 0]
    scores = np.abs(per_position(attribute(model, X, "grad_x_input", correct=True, batch_size=batch_size,
                                           device=device)))
    observed = X.sum(axis=1) > 0
    total = scores.sum(axis=1)
    share = np.divide((scores * masks).sum(axis=1), total, out=np.zeros(len(rows)), where=total > 0)
    expected = (masks & observed).sum(axis=1) / np.maximum(observed.sum(axis=1), 1)
    usable = expected > 0
    enrichment = share[usable].mean() / expected[usable].mean() if usable.any() else np.nan
    change = after - before
    share_p = _wilcoxon(share[usable] - expected[usable], "greater")
    change_p = _wilcoxon(change, "two-sided")
    mean_abs_change = float(np.abs(change).mean())
    attribution_flag = bool(np.isfinite(enrichment) and enrichment >= thresholds.attribution_enrichment
                            and share_p < thresholds.fdr)
    change_flag = bool(mean_abs_change >= thresholds.prediction_change and change_p < thresholds.fdr)
    findings = [
        Finding(
            check="model", item="attribution on artifacts", test="Wilcoxon signed-rank (share - expected share)",
            statistic=float(share.mean()), p_value=share_p, q_value=None, effect_size=float(enrichment),
            effect="attribution share / position share", flag=attribution_flag,
            threshold=f"enrichment >= {thresholds.attribution_enrichment:g} and p < {thresholds.fdr}",
            message=(f"The model puts {_percent(float(share.mean()))} of its attribution on artifacts that cover "
                     f"{_percent(float(expected.mean()))} of the positions ({enrichment:.1f}-fold, {len(rows)} records)"
                     + (": it has learned the shortcut." if attribution_flag else "."))),
        Finding(
            check="model", item="prediction change without artifacts", test="Wilcoxon signed-rank (logit change)",
            statistic=float(change.mean()), p_value=change_p, q_value=None, effect_size=mean_abs_change,
            effect="mean |logit change|", flag=change_flag,
            threshold=f"mean |change| >= {thresholds.prediction_change:g} and p < {thresholds.fdr}",
            message=(f"Shuffling the artifacts away changes the logit by {change.mean():+.2f} on average "
                     f"(mean |change| {mean_abs_change:.2f}, {len(rows)} records)"
                     + (": the model's predictions depend on them." if change_flag else "."))),
    ]
    table = _with_ids(data, pd.DataFrame({"row": rows, "logit": before, "logit_without_artifacts": after,
                                          "change": change, "attribution_share": share,
                                          "position_share": expected}))
    return CheckResult("model", "Model reliance on artifacts", description, findings,
                       {"model": table.drop(columns="row")})


def _wilcoxon(differences: np.ndarray, alternative: str) -> float:
    """Wilcoxon signed-rank p value, 1 when every difference is zero (nothing to test)."""
    differences = np.asarray(differences, dtype=float)
    if not len(differences) or np.allclose(differences, 0):
        return 1.0
    return float(stats.wilcoxon(differences, alternative=alternative).pvalue)


# --------------------------------------------------------------------------- #
# The whole audit
# --------------------------------------------------------------------------- #


def audit_dataset(
    data: AuditData,
    *,
    thresholds: AuditThresholds | None = None,
    adapters: Mapping[str, str] | None = None,
    motifs: MotifDatabase | Iterable[Motif] | None = None,
    model: str | PathLike | EnhancerCNN | None = None,
    k_values: Iterable[int] = range(4, 9),
    baseline_max_per_class: int = 20_000,
    folds: int = 5,
    max_model_sequences: int = 1000,
    random_state: int | None = 0,
    device: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> AuditResult:
    """Run every check on a dataset.

    Parameters
    ----------
    data
        From :func:`load_dataset` or :meth:`AuditData.from_records`.
    thresholds
        Flag rules; :class:`AuditThresholds` defaults when omitted.
    adapters
        Name -> sequence; the bundled list by default.
    motifs
        Known motifs for the k-mer annotation; bundled JASPAR 2016 by default.
    model
        A loaded model or model file; the model check runs only with one.
    k_values
        k-mer lengths of the enrichment check.
    baseline_max_per_class, folds
        Subsample size and folds of the baselines.
    max_model_sequences
        Records carrying artifacts that the model check explains at most.
    random_state
        Seed for every random choice; the same seed gives the same report.
    device
        Torch device for the model check.
    progress
        Called with a short note as each stage finishes (the CLI prints them).
    """
    thresholds = thresholds or AuditThresholds()
    note = progress or (lambda message: None)
    k_values = tuple(sorted(set(k_values)))
    profile = profile_dataset(data, k_values, thresholds.homopolymer_length)
    note("counted k-mers and composition")
    checks = [check_adapters(data, thresholds, adapters, profile)]
    note("adapters")
    checks.append(check_kmers(data, thresholds, motifs, profile, k_values))
    note("k-mers")
    checks.append(check_composition(data, thresholds, profile))
    checks.append(check_leakage(data, thresholds, profile))
    note("composition and leakage")
    checks.append(check_baselines(data, thresholds, profile, baseline_max_per_class, folds, random_state))
    note("baselines")
    if model is not None:
        checks.append(check_model(data, model, flagged_artifacts(data, checks), thresholds, max_model_sequences,
                                  random_state, device=device))
        note("model")
    n_neg, n_pos = data.class_sizes
    lengths = data.lengths
    splits = None
    if data.splits is not None:
        names, counts = np.unique(data.splits, return_counts=True)
        splits = {str(name): int(count) for name, count in zip(names, counts)}
    dataset = {"sources": data.sources, "n_positive": n_pos, "n_negative": n_neg,
               "length_min": int(lengths.min()), "length_max": int(lengths.max()), "splits": splits}
    model_name = None if model is None else str(model) if isinstance(model, (str, PathLike)) else "in-memory"
    settings = {"k_values": list(k_values), "baseline_max_per_class": baseline_max_per_class, "folds": folds,
                "max_model_sequences": max_model_sequences, "random_state": random_state, "model": model_name}
    return AuditResult(dataset, thresholds, settings, checks)


# --------------------------------------------------------------------------- #
# Writing: summary.json, TSVs, report.html
# --------------------------------------------------------------------------- #


def write_audit(result: AuditResult, out: str | PathLike, manifest: Mapping | None = None) -> Path:
    """Write an audit into a folder: ``summary.json``, ``checks.tsv``, one TSV per evidence table,
    ``report.html`` and ``manifest.json`` (``complete`` only once everything else is written).

    Parameters
    ----------
    result
        From :func:`audit_dataset`.
    out
        Output folder; new, empty, or an earlier seqsal output.
    manifest
        Extra provenance for ``manifest.json`` (input hashes, command).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = io.prepare_output_dir(out)
    record = {**io.manifest_header("audit"), **(manifest or {})}
    io.write_json(folder / io.MANIFEST, record)
    files = ["summary.json", "checks.tsv", "report.html"]
    for check_result in result.checks:
        for name, table in check_result.tables.items():
            io.write_table(folder / f"{name}.tsv", table.drop(columns="row", errors="ignore"))
            files.append(f"{name}.tsv")
    io.write_table(folder / "checks.tsv", result.findings_table())
    io.write_json(folder / "summary.json", result.summary())
    build_report(result).write(folder / "report.html")
    record.update(complete=True, files=files, flagged=result.flagged,
                  finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    io.write_json(folder / io.MANIFEST, record)
    return folder


def build_report(result: AuditResult) -> Report:
    """The HTML report: the verdict in plain words first, then each check's evidence."""
    data = result.dataset
    report = Report("seqsal dataset audit")
    flags = result.flags
    if flags:
        report.add_heading(f"{len(flags)} shortcut flag{'s' if len(flags) > 1 else ''}")
        report.add_paragraph("A model trained on this dataset could score well for these reasons instead of "
                             "enhancer biology:")
        titles = {result.name: result.title for result in result.checks}
        items = "".join(f"<li><strong>{html.escape(titles[flag.check])}</strong>: {html.escape(flag.message)}</li>"
                        for flag in flags)
        report.add_html(f'<ul class="flags">{items}</ul>')
    else:
        report.add_heading("No shortcut flagged")
        report.add_paragraph("None of the checks below found a way to tell the classes apart other than by their "
                             "sequence content; the evidence follows.")
    report.add_key_values({
        "positives": f"{data['n_positive']} records from {data['sources'].get('positive', '')}",
        "negatives": f"{data['n_negative']} records from {data['sources'].get('negative', '')}",
        "lengths": f"{data['length_min']}-{data['length_max']} bp",
        "splits": ", ".join(f"{name}: {count}" for name, count in data["splits"].items()) if data["splits"]
        else "no split table",
        "model": result.settings.get("model") or "none (model check not run)",
    }, caption="Dataset")
    overview = result.findings_table()[["check", "item", "test", "statistic", "p_value", "q_value", "effect_size",
                                        "flag", "threshold"]]
    report.add_table(_display(overview),
                     caption="Every check: statistic, p and q values, effect size, and the rule used.")
    for check_result in result.checks:
        report.add_heading(check_result.title)
        report.add_paragraph(check_result.description)
        for finding in check_result.findings:
            report.add_paragraph(("FLAG: " if finding.flag else "") + finding.message)
        _REPORT_EVIDENCE[check_result.name](report, check_result)
    report.add_heading("Thresholds")
    report.add_key_values(asdict(result.thresholds), caption="Change them with the audit options (see --help).")
    return report


def _display(table: pd.DataFrame) -> pd.DataFrame:
    """A table as the report shows it: no index, blanks for missing values, FLAG for flagged rows."""
    shown = table.reset_index(drop=True)
    shown = shown.astype(object).where(shown.notna(), "")
    if "flag" in shown:
        shown["flag"] = np.where(table["flag"].to_numpy(dtype=bool), "FLAG", "")
    return shown


def _adapter_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["adapters"]
    report.add_table(_display(table), caption="Sequences with a hit per class; hits by kind are positives/negatives.")
    figure = Figure(figsize=(7, 0.35 * len(table) + 1.2), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(table))
    ax.barh(positions + 0.2, 100 * table["pos_rate"], height=0.4, label="positives", color="#b2182b")
    ax.barh(positions - 0.2, 100 * table["neg_rate"], height=0.4, label="negatives", color="#2166ac")
    ax.set_yticks(positions, table["item"])
    ax.invert_yaxis()
    ax.set_xlabel("% of sequences with a hit")
    ax.legend(frameon=False)
    report.add_figure(figure, caption="Adapter and homopolymer rates by class.")
    hits = result.tables["artifact_hits"]
    if len(hits):
        report.add_table(hits.drop(columns="row").head(20), caption=f"First hits of {len(hits)} (artifact_hits.tsv).")


def _kmer_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["kmers"]
    columns = ["k", "kmer", "pos_rate", "neg_rate", "log2_odds_ratio", "q", "element", "annotation", "motif_match",
               "flag"]
    annotated = table[table["annotation"] != ""]
    report.add_table(_display(annotated.sort_values(["flag", "q"], ascending=[False, True]).head(40)[columns]),
                     caption="Most significant k-mers with their best known motif (all tested k-mers in kmers.tsv).")
    figure = Figure(figsize=(6.5, 4), layout="constrained")
    ax = figure.subplots()
    y = -np.log10(np.clip(table["q"].to_numpy(dtype=float), 1e-300, 1))
    known = table["annotation"].ne("") & table["annotation"].ne("no known motif")
    for mask, color, size, label in ((~known & ~table["flag"], "#bbbbbb", 6, "not annotated / unknown"),
                                     (known, "#4d9221", 6, "known motif"), (table["flag"], "#d6604d", 24, "flagged")):
        ax.scatter(table.loc[mask, "log2_odds_ratio"], y[mask.to_numpy()], s=size, color=color, label=label)
    ax.set_xlabel("log2 odds ratio (positives / negatives)")
    ax.set_ylabel("-log10 q")
    ax.legend(frameon=False, fontsize=8)
    report.add_figure(figure, caption="Volcano plot of all canonical k-mers.")


def _composition_evidence(report: Report, result: CheckResult) -> None:
    report.add_table(_display(result.tables["composition"]))
    sequences = result.tables["sequences"]
    figure = Figure(figsize=(9, 6))  # fixed spacing: a constrained layout would double the drawing time
    axes = figure.subplots(2, 2, gridspec_kw={"hspace": 0.35, "wspace": 0.3}).ravel()
    positive = sequences["class"].to_numpy() == "positive"
    for ax, (metric, (label, _)) in zip(axes, _COMPOSITION_METRICS.items()):
        values = sequences[metric].to_numpy(dtype=float)
        for mask, color, name in ((positive, "#b2182b", "positives"), (~positive, "#2166ac", "negatives")):
            selected = values[mask & np.isfinite(values)]
            if len(selected):
                ax.ecdf(selected, color=color, linewidth=1.5, label=name)
        ax.set_xlabel(label)
        ax.set_ylabel("share of class at or below")
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False)
    report.add_figure(figure, caption="Cumulative distributions by class; the KS statistic D is the largest "
                                      "vertical gap between the two curves.")


def _leakage_evidence(report: Report, result: CheckResult) -> None:
    duplicates, near = result.tables["duplicates"], result.tables["near_duplicates"]
    if len(duplicates):
        report.add_table(_display(duplicates.sort_values(["cross_split", "cross_class"], ascending=False).head(50)),
                         caption=f"Duplicate groups ({len(duplicates)} records in duplicates.tsv).")
    if len(near):
        report.add_table(_display(near.sort_values("cross_class_or_split", ascending=False).head(50)),
                         caption=f"Near-duplicate pairs ({len(near)} in near_duplicates.tsv).")


def _baseline_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["baselines"]
    report.add_table(_display(table))
    figure = Figure(figsize=(6, 2.4), layout="constrained")
    ax = figure.subplots()
    ax.barh(table["baseline"], table["auroc"], xerr=table["auroc_sd"], color="#777777")
    ax.axvline(0.5, color="black", linewidth=0.8)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("cross-validated AUROC")
    ax.invert_yaxis()
    report.add_figure(figure, caption="Trivial baselines (0.5 = chance).")


def _model_evidence(report: Report, result: CheckResult) -> None:
    if "model" not in result.tables:
        return
    table = result.tables["model"]
    figure = Figure(figsize=(6, 3), layout="constrained")
    ax = figure.subplots()
    ax.hist(table["change"], bins=40, color="#777777")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("logit change when artifacts are shuffled away")
    ax.set_ylabel("records")
    report.add_figure(figure, caption="Prediction change per record (model.tsv).")


_REPORT_EVIDENCE: dict[str, Callable[[Report, CheckResult], None]] = {
    "adapters": _adapter_evidence,
    "kmers": _kmer_evidence,
    "composition": _composition_evidence,
    "leakage": _leakage_evidence,
    "baselines": _baseline_evidence,
    "model": _model_evidence,
}
