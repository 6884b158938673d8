"""Seqlets: the motif instances an attribution map points at, called against a null and named.

A per-base attribution map is hard to read at scale; what a reader wants is
a list of *seqlets* (Shrikumar et al., TF-MoDISco, 2018): short stretches
whose attribution stands out from the background, each with a sign, a score,
a significance, and, where possible, the known motif it resembles.  This
module turns projected per-position scores ``(N, L)`` into that list, in
three steps that each work on plain arrays:

1. **Calibrate a null** (:class:`SeqletNull`).  The statistic is the
   *signed* sum of the scores in a sliding window of ``w`` bases.  Summing
   signed scores, rather than smoothing ``|score|``, lets background noise of
   either sign cancel while the bases of a motif, which push the output the
   same way, add up; the test is two-sided on ``|window sum|`` so activating
   and repressing stretches are found alike.  The null distribution of that
   statistic comes either from attributions of dinucleotide-shuffled copies
   of the sequences (:func:`shuffled_null`, :func:`empirical_null`: the
   preferred, assumption-free route; shuffling keeps composition but breaks
   motifs) or, without a model at hand, from a Laplace tail fitted robustly
   to the run's own window sums (:func:`laplace_null`).
2. **Call** (:func:`call_seqlets`).  Each window gets an empirical p-value;
   runs of significant windows of one sign are merged, trimmed to their
   best-scoring stretch, split when too long, dropped when too short and
   padded with flanks.  Given the null, every sequence is handled on its own,
   so results do not depend on batch size or order.
3. **Name** (:func:`annotate_seqlets`).  Each seqlet's hypothetical
   contributions become a probability matrix that Tomtom (memelite) compares
   with a motif database in one batched call; the best match is kept when its
   Benjamini-Hochberg q-value passes.

:func:`summarize_seqlets` then counts, per motif, how often and where seqlets
occur across a set of sequences.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from scipy import stats
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.encoding import ALPHABET, decode, dinucleotide_shuffle, one_hot
from seqsal.errors import SeqsalError, check
from seqsal.motifs import MotifDatabase

SEQLET_COLUMNS = ("sequence_index", "start", "end", "core_start", "core_end", "sign", "score", "p")
ANNOTATION_COLUMNS = ("motif", "match_id", "match_name", "match_p", "match_q", "match_strand", "consensus")
UNKNOWN = "unknown"

DEFAULT_Q_THRESHOLD = 0.05
"""q-value below which a seqlet takes its best database match's name (as for filters)."""


@dataclass(frozen=True)
class SeqletSettings:
    """How seqlets are called from per-position scores.

    Attributes
    ----------
    window
        Width ``w`` of the sliding window whose signed score sum is tested.
        Transcription-factor sites span 6-20 bases with an informative core
        of 4-8; a 7-base window covers a core, so a motif's bases add up while
        noise averages out, yet is short enough not to merge neighbouring
        sites.
    p_threshold
        A window is significant when its empirical p-value is below this.  No
        multiple-testing correction is applied: each window is a candidate
        site, not a hypothesis about the sequence, and a reader wants sites
        at a known per-window false-positive rate; expect about
        ``p_threshold * (L - w + 1)`` significant noise windows per sequence
        (overlapping ones merge into fewer seqlets).  0.02 was chosen on a
        simulated tuning set (bundled model, shuffled null, grad x input and
        ISM): it kept precision above 0.8 with recall about 0.7, where 0.01
        lost a sixth of the recall for little precision and 0.05 gained recall
        (about 0.84) at a precision of about 0.7.
    min_length
        Shortest seqlet core kept.  A core of one or two bases is a lone
        spike (a gradient artefact or a single strong base), not a motif.
    max_length
        Longest seqlet core.  Longer cores are split at their weakest point,
        because adjacent sites merge into one run of significant windows but
        are separate instances; must be at least ``2 * min_length`` so a split
        is always possible.
    flank
        Bases added on each side of the core (clipped at the sequence ends).
        Tomtom aligns with overhangs, and flanks let a trimmed core still
        show the motif's weaker outer positions.
    """

    window: int = 7
    p_threshold: float = 0.02
    min_length: int = 4
    max_length: int = 20
    flank: int = 3

    def __post_init__(self) -> None:
        _check_window(self.window)
        check(
            isinstance(self.p_threshold, (int, float)) and 0 < self.p_threshold <= 1,
            f"p_threshold must be in (0, 1], got {self.p_threshold!r}",
        )
        check(
            _is_int(self.min_length) and self.min_length >= 1,
            f"min_length must be a positive integer, got {self.min_length!r}",
        )
        check(
            _is_int(self.max_length) and self.max_length >= 2 * self.min_length,
            f"max_length must be an integer of at least 2 * min_length = {2 * self.min_length} "
            f"(so long seqlets can be split), got {self.max_length!r}",
        )
        check(_is_int(self.flank) and self.flank >= 0, f"flank must be a non-negative integer, got {self.flank!r}")


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def _check_window(window: object) -> None:
    check(_is_int(window) and window >= 1, f"window must be a positive integer, got {window!r}")


def _as_scores(scores: object, name: str) -> np.ndarray:
    """Validate per-position scores as a finite float64 ``(N, L)`` array (a single ``(L,)`` track is one row)."""
    array = np.asarray(scores, dtype=np.float64)
    if array.ndim == 1:
        array = array[None]
    check(array.ndim == 2 and array.size > 0,
          f"{name} must be per-position scores of shape (N, L); got shape {array.shape} "
          "(sum projected attributions over the four bases first)")
    check(np.isfinite(array).all(), f"{name} contains NaN or infinite values; recompute the attributions")
    return array


def window_sums(scores: np.ndarray, window: int) -> np.ndarray:
    """Signed sums of ``scores`` over every window of ``window`` bases.

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores.
    window
        Window width ``w``; must not exceed ``L``.

    Returns
    -------
    numpy.ndarray
        ``(N, L - w + 1)``; entry ``i`` sums positions ``[i, i + w)``.
    """
    scores = _as_scores(scores, "scores")
    _check_window(window)
    check(window <= scores.shape[1],
          f"window ({window}) must not exceed the sequence length ({scores.shape[1]})")
    cumulative = np.zeros((scores.shape[0], scores.shape[1] + 1))
    np.cumsum(scores, axis=1, out=cumulative[:, 1:])
    return cumulative[:, window:] - cumulative[:, :-window]


@dataclass(frozen=True, eq=False)
class SeqletNull:
    """The distribution of ``|window sum|`` when no motif is present; turns window sums into p-values.

    Build it with :func:`shuffled_null`, :func:`empirical_null` or
    :func:`laplace_null`, once per model and method, and reuse it for every
    batch: calls then depend on each sequence alone.

    Attributes
    ----------
    window
        The window width the null was built for; :func:`call_seqlets` requires
        the same width in its settings.
    kind
        ``"empirical"`` (p-values counted against ``values``) or ``"laplace"``
        (a fitted exponential tail of ``|window sum|`` with scale ``scale``).
    values
        Sorted null ``|window sums|`` for an empirical null; empty otherwise.
    scale
        Laplace scale ``b`` for a Laplace null, so ``P(|S| >= x) = exp(-x / b)``;
        NaN otherwise.
    """

    window: int
    kind: str
    values: np.ndarray
    scale: float = math.nan

    def __post_init__(self) -> None:
        _check_window(self.window)
        check(self.kind in ("empirical", "laplace"), f"kind must be 'empirical' or 'laplace', got {self.kind!r}")
        values = np.sort(np.abs(np.asarray(self.values, dtype=np.float64)).ravel())
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        if self.kind == "empirical":
            check(values.size > 0, "an empirical null needs at least one null window sum")
        else:
            check(self.scale > 0 and math.isfinite(self.scale),
                  f"a Laplace null needs a positive finite scale, got {self.scale!r}")

    @property
    def smallest_p(self) -> float:
        """The smallest p-value this null can give: ``1 / (1 + n_null)`` for an empirical null, else 0."""
        return 1.0 / (1 + self.values.size) if self.kind == "empirical" else 0.0

    def p_values(self, sums: np.ndarray) -> np.ndarray:
        """Two-sided p-values of window sums.

        For an empirical null, ``p = (1 + #{null >= |x|}) / (1 + n_null)``: the
        +1 counts the observed window as one more draw from the null, so a
        p-value is never zero and is valid (``P(p <= a) <= a``) for any null
        size.  For a Laplace null, ``p = exp(-|x| / b)``.
        """
        magnitude = np.abs(np.asarray(sums, dtype=np.float64))
        if self.kind == "laplace":
            return np.exp(-magnitude / self.scale)
        at_least = self.values.size - np.searchsorted(self.values, magnitude, side="left")
        return (1.0 + at_least) / (1.0 + self.values.size)


def empirical_null(null_scores: np.ndarray, window: int = SeqletSettings.window) -> SeqletNull:
    """A null from per-position scores of sequences that carry no motif, typically shuffles.

    Every window of every null sequence contributes one ``|window sum|``;
    overlapping windows are correlated, which leaves the p-values valid (they
    are ranks against the null's marginal distribution) but means the null's
    effective size is about ``n_windows / window``.

    Parameters
    ----------
    null_scores
        ``(M, L')`` projected per-position scores, e.g. of dinucleotide
        shuffles of the sequences under study, from the same model and method.
    window
        The window width the calls will use.
    """
    return SeqletNull(window=window, kind="empirical", values=window_sums(null_scores, window))


def laplace_null(scores: np.ndarray, window: int = SeqletSettings.window) -> SeqletNull:
    """A null fitted to the run's own window sums, for when no shuffled attributions are available.

    Most windows of a sequence hold no motif, so the bulk of the window sums
    describes the background.  Their median ``|window sum|`` is barely moved
    by the few motif windows, and a zero-centred Laplace distribution with
    that median (``b = median / ln 2``) extrapolates the tail.  This is a
    rough substitute: attribution window sums are heavier-tailed than a
    Laplace (chance motif matches in the background), so the p-values are
    optimistic.  On simulated enhancers with the bundled model it called
    about twice as many seqlets as the shuffled null at the same threshold,
    at clearly lower precision; use :func:`shuffled_null` whenever the model
    is at hand.  Unlike a shuffled null it also depends on which sequences
    are passed: fit it once on the whole set and pass it to every
    :func:`call_seqlets` call.

    Parameters
    ----------
    scores
        ``(N, L)`` projected per-position scores of the sequences themselves.
    window
        The window width the calls will use.
    """
    sums = window_sums(scores, window)
    median = float(np.median(np.abs(sums)))
    check(median > 0, "scores are zero in most windows, so no background scale can be fitted; "
                      "pass null scores from shuffled sequences to empirical_null instead")
    return SeqletNull(window=window, kind="laplace", values=np.empty(0), scale=median / math.log(2))


def shuffled_null(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    *,
    window: int = SeqletSettings.window,
    n_shuffles: int = 1,
    random_state: int | np.random.Generator | None = 0,
    **attribute_options: object,
) -> SeqletNull:
    """The recommended null: attributions of dinucleotide-shuffled copies of the sequences.

    A dinucleotide shuffle (:func:`seqsal.encoding.dinucleotide_shuffle`)
    keeps base and dinucleotide composition, so CpG content or GC-driven
    scores stay, but breaks the ordered bases of motifs.  What the model
    attributes on shuffles is therefore what it attributes to composition and
    noise, and a window that beats it points at ordered sequence.  A chance
    motif in a shuffle only makes the null heavier, i.e. the calls more
    conservative.

    Parameters
    ----------
    model, X, method
        As for :func:`seqsal.attribution.attribute`; ``X`` is one-hot ``(N, 4, L)``.
    window
        The window width the calls will use.
    n_shuffles
        Shuffles per sequence; the null holds ``N * n_shuffles * (L - w + 1)``
        window sums, which must reach ``1 / p_threshold`` for anything to be
        called.
    random_state
        Seed of the shuffles; fixed by default so a run is reproducible.
    **attribute_options
        Passed to :func:`~seqsal.attribution.attribute` (``correct=True``,
        ``batch_size``, method options ...); ``hypothetical`` is not allowed
        because the null is built from projected scores.
    """
    check(_is_int(n_shuffles) and n_shuffles >= 1, f"n_shuffles must be a positive integer, got {n_shuffles!r}")
    check("hypothetical" not in attribute_options,
          "shuffled_null builds the null from projected scores; do not pass hypothetical")
    onehot = X.detach().cpu().numpy() if isinstance(X, torch.Tensor) else np.asarray(X)
    rng = np.random.default_rng(random_state)
    shuffled = [dinucleotide_shuffle(sequence, rng) for sequence in decode(onehot) for _ in range(n_shuffles)]
    projected = attribute(model, one_hot(shuffled), method, **attribute_options)
    return empirical_null(per_position(projected), window)


# --------------------------------------------------------------------------- calling
def call_seqlets(
    scores: np.ndarray,
    settings: SeqletSettings | None = None,
    null: SeqletNull | None = None,
) -> pd.DataFrame:
    """Find contiguous stretches of significant attribution, positive and negative.

    For each sequence: (1) the signed sum of every ``w``-base window gets a
    two-sided p-value from ``null``; (2) runs of consecutive significant
    windows *of the same sign* are merged, so an activating site next to a
    repressing one stays two seqlets; (3) a run covers up to ``w - 1`` noise
    bases on each side of the site, so it is trimmed to its maximum-sum
    stretch (of ``sign * score``), the part whose every prefix and suffix
    adds to the seqlet's sign; (4) cores longer than ``max_length`` are split
    at the base where the centred ``w``-base sum is lowest (the gap between two sites) and each
    part is trimmed again; (5) cores shorter than ``min_length``, or overlapping
    no significant window after a split, are dropped; (6) flanks are added.

    Parameters
    ----------
    scores
        Projected per-position scores ``(N, L)`` (attribution × one-hot,
        summed over the four bases; :func:`seqsal.attribution.per_position`).
    settings
        Window, threshold and lengths; :class:`SeqletSettings` defaults when None.
    null
        Built with the same window, preferably by :func:`shuffled_null`.  When
        None, :func:`laplace_null` is fitted to ``scores`` themselves, which
        makes the calls depend on the batch; build the null once to avoid that.

    Returns
    -------
    pandas.DataFrame
        One row per seqlet, sorted by ``sequence_index`` then ``start``, with
        the columns of :data:`SEQLET_COLUMNS`: ``start``/``end`` are the
        0-based half-open span *with* flanks (what to annotate or draw),
        ``core_start``/``core_end`` the trimmed significant core; ``sign`` is
        +1 (raises the output) or -1; ``score`` sums the projected scores over
        the core; ``p`` is the smallest p-value among the windows of that
        sign overlapping the core.

    Raises
    ------
    SeqsalError
        If the scores are malformed, the null was built for another window,
        or the null is too small to reach ``p_threshold``.
    """
    settings = settings if settings is not None else SeqletSettings()
    check(isinstance(settings, SeqletSettings), f"settings must be a SeqletSettings, got {type(settings).__name__}")
    scores = _as_scores(scores, "scores")
    w = settings.window
    check(w <= scores.shape[1], f"window ({w}) must not exceed the sequence length ({scores.shape[1]})")
    if null is None:
        null = laplace_null(scores, w)
    check(isinstance(null, SeqletNull), f"null must be a SeqletNull, got {type(null).__name__}")
    check(null.window == w, f"null was built for window {null.window} but settings.window is {w}; "
                            "build the null with the same window")
    check(null.smallest_p < settings.p_threshold,
          f"the null holds {null.values.size} window sums, so no p-value can fall below p_threshold "
          f"{settings.p_threshold}; use more null sequences (n_shuffles) or a larger p_threshold")

    sums = window_sums(scores, w)
    p = null.p_values(sums)
    rows = []
    for index in range(scores.shape[0]):
        for sign in (1, -1):
            rows.extend(_sequence_seqlets(index, scores[index], sums[index], p[index], sign, settings))
    table = pd.DataFrame(rows, columns=list(SEQLET_COLUMNS))
    table = table.astype({column: "int64" for column in SEQLET_COLUMNS[:6]} | {"score": "float64", "p": "float64"})
    return table.sort_values(["sequence_index", "start", "core_start"], kind="stable").reset_index(drop=True)


def _sequence_seqlets(index: int, scores: np.ndarray, sums: np.ndarray, p: np.ndarray, sign: int,
                      settings: SeqletSettings) -> list[tuple]:
    """Seqlets of one sign in one sequence (steps 2-6 of :func:`call_seqlets`)."""
    w = settings.window
    oriented = sign * scores
    significant = (p < settings.p_threshold) & (sign * sums > 0)
    # A window's p-value only counts for seqlets of the window's own sign.
    signed_p = np.where(sign * sums > 0, p, np.inf)
    rows = []
    for first, last in _runs(significant):
        for start, end in _cores(oriented, first, last + w, settings):
            lowest = signed_p[max(0, start - w + 1): end].min()
            if lowest < settings.p_threshold:
                rows.append((
                    index,
                    max(0, start - settings.flank),
                    min(scores.size, end + settings.flank),
                    start,
                    end,
                    sign,
                    float(scores[start:end].sum()),
                    float(lowest),
                ))
    return rows


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive ``(first, last)`` indices of each run of True values."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(np.diff(padded.astype(np.int8)))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def _best_stretch(values: np.ndarray, start: int, end: int) -> tuple[int, int]:
    """The maximum-sum sub-interval of ``values[start:end]`` (Kadane), as absolute ``(start, end)``.

    Returns an empty interval when no value is positive.
    """
    best, best_span = 0.0, (start, start)
    running, running_start = 0.0, start
    for position in range(start, end):
        if running <= 0:
            running, running_start = 0.0, position
        running += values[position]
        if running > best:
            best, best_span = running, (running_start, position + 1)
    return best_span


def _cores(oriented: np.ndarray, start: int, end: int, settings: SeqletSettings) -> list[tuple[int, int]]:
    """Trim ``[start, end)`` to its best stretch, split it while too long, and keep parts of ``min_length``."""
    start, end = _best_stretch(oriented, start, end)
    length = end - start
    if length < settings.min_length:
        return []
    if length <= settings.max_length:
        return [(start, end)]
    # Cut at the base where the w-base sum centred on it is lowest (ties: the lowest base itself);
    # each side keeps at least min_length bases.
    half = settings.window // 2
    cumulative = np.concatenate([[0.0], np.cumsum(oriented)])
    bases = np.arange(start + settings.min_length, end - settings.min_length + 1)
    smoothed = cumulative[np.minimum(bases + half + 1, end)] - cumulative[np.maximum(bases - half, start)]
    cut = int(bases[np.lexsort((oriented[bases], smoothed))[0]])
    return _cores(oriented, start, cut, settings) + _cores(oriented, cut, end, settings)


# --------------------------------------------------------------------------- annotation
def contribution_matrix(hypothetical: np.ndarray, onehot: np.ndarray, sign: int) -> np.ndarray:
    """A seqlet's contributions as a ``(4, w)`` probability matrix that Tomtom can compare with PWMs.

    Tomtom scores columns by Euclidean distance, so a query must live on the
    scale of letter probabilities.  Each column is a mix of the uniform
    distribution and the base preferences the model expresses there: the
    positive part of ``sign * hypothetical`` normalised to sum to one (what
    the model would reward at that position, for a negative seqlet what it
    would penalise), weighted by the position's importance, its projected
    ``|score|`` relative to the seqlet's largest.  Unimportant flank columns
    thus look uniform, as in a JASPAR matrix, and important ones are as sharp
    as the model's preference.

    Parameters
    ----------
    hypothetical
        ``(4, w)`` hypothetical attributions over the seqlet.
    onehot
        ``(4, w)`` the seqlet's bases.
    sign
        +1 or -1, the seqlet's sign.
    """
    oriented = sign * np.asarray(hypothetical, dtype=np.float64)
    importance = np.abs((oriented * onehot).sum(axis=0))
    weight = importance / importance.max() if importance.max() > 0 else np.zeros_like(importance)
    preference = np.clip(oriented, 0, None)
    totals = preference.sum(axis=0)
    preference = np.where(totals > 0, preference / np.where(totals > 0, totals, 1), 0.25)
    return (1 - weight) * 0.25 + weight * preference


def annotate_seqlets(
    seqlets: pd.DataFrame,
    hypothetical: np.ndarray,
    onehot: np.ndarray,
    motif_db: MotifDatabase | str | os.PathLike | None = None,
    *,
    q_threshold: float = DEFAULT_Q_THRESHOLD,
) -> pd.DataFrame:
    """Name each seqlet after its most similar database motif (Tomtom), or ``"unknown"``.

    Every seqlet's span (with flanks) becomes a probability matrix
    (:func:`contribution_matrix`) and all of them go to memelite's Tomtom in
    one call against the whole database, both strands.  The best match is the
    motif with the smallest p-value; its q-value is the Benjamini-Hochberg
    adjustment over that seqlet's comparisons with every database motif (as
    for first-layer filters in :mod:`seqsal.filters`), so a seqlet is named
    only when its best match stands out among all motifs it was compared with.

    Parameters
    ----------
    seqlets
        From :func:`call_seqlets` (at least ``sequence_index``, ``start``,
        ``end`` and ``sign``).
    hypothetical
        Hypothetical attributions ``(N, 4, L)``, the same run the seqlets were
        called from (``attribute(..., hypothetical=True)``).
    onehot
        The one-hot sequences ``(N, 4, L)``.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or None
        for the bundled JASPAR 2016 vertebrates.  Use a whole database: Tomtom
        takes its background from the target columns.
    q_threshold
        A seqlet takes its best match's name when the q-value is below this.

    Returns
    -------
    pandas.DataFrame
        A copy of ``seqlets`` with the columns of :data:`ANNOTATION_COLUMNS`:
        ``motif`` is the matched TF name or ``"unknown"``; ``match_id``,
        ``match_name``, ``match_p``, ``match_q`` describe the best candidate
        even when it does not pass; ``match_strand`` is ``+`` when the motif
        as given matched the seqlet's plus strand, ``-`` for its reverse
        complement; ``consensus`` is the highest-probability base of each
        column of the seqlet's matrix, upper case where the position is at
        least half as important as the seqlet's top position.

    Raises
    ------
    SeqsalError
        If memelite is missing, the arrays disagree, or a seqlet lies outside them.
    """
    check(0 < q_threshold <= 1, f"q_threshold must be in (0, 1], got {q_threshold!r}")
    missing = {"sequence_index", "start", "end", "sign"} - set(seqlets.columns)
    check(not missing, f"seqlets lacks columns {sorted(missing)}; pass the table from call_seqlets")
    hypothetical = np.asarray(hypothetical, dtype=np.float64)
    onehot = np.asarray(onehot, dtype=np.float64)
    check(hypothetical.ndim == 3 and hypothetical.shape[1] == 4,
          f"hypothetical must be attributions of shape (N, 4, L), got {hypothetical.shape}")
    check(onehot.shape == hypothetical.shape,
          f"onehot has shape {onehot.shape} but hypothetical has {hypothetical.shape}; pass the same sequences")
    n, _, length = hypothetical.shape
    index = seqlets["sequence_index"].to_numpy()
    starts, ends = seqlets["start"].to_numpy(), seqlets["end"].to_numpy()
    check(((index >= 0) & (index < n) & (starts >= 0) & (starts < ends) & (ends <= length)).all(),
          f"some seqlets lie outside the {n} x {length} attribution arrays; pass the arrays they were called from")

    table = seqlets.copy()
    table["motif"] = UNKNOWN
    table["match_id"] = ""
    table["match_name"] = ""
    table["match_p"] = np.nan
    table["match_q"] = np.nan
    table["match_strand"] = ""
    table["consensus"] = ""
    if table.empty:
        return table
    database = _database(motif_db)
    queries = []
    consensus = []
    for i, start, end, sign in zip(index, starts, ends, seqlets["sign"].to_numpy()):
        matrix = contribution_matrix(hypothetical[i, :, start:end], onehot[i, :, start:end], int(sign))
        queries.append(np.ascontiguousarray(matrix))
        consensus.append(_consensus(matrix))
    targets = list(database)
    p_values, _, _, _, strands = _tomtom()(queries, [np.ascontiguousarray(motif.pwm) for motif in targets])
    best = np.argmin(p_values, axis=1)
    rows = np.arange(len(queries))
    q_values = stats.false_discovery_control(p_values, axis=1)
    best_q = q_values[rows, best]
    table["match_id"] = [targets[k].id for k in best]
    table["match_name"] = [targets[k].name for k in best]
    table["match_p"] = p_values[rows, best]
    table["match_q"] = best_q
    table["match_strand"] = ["+-"[int(s)] for s in strands[rows, best]]
    table["motif"] = np.where(best_q < q_threshold, table["match_name"], UNKNOWN)
    table["consensus"] = consensus
    return table


def _consensus(matrix: np.ndarray) -> str:
    """Arg-max base per column; upper case where the column departs at least half as much from uniform as the sharpest."""
    sharpness = matrix.max(axis=0) - 0.25
    strong = sharpness >= 0.5 * sharpness.max() if sharpness.max() > 0 else np.zeros(matrix.shape[1], bool)
    letters = [ALPHABET[k] for k in matrix.argmax(axis=0)]
    return "".join(letter if keep else letter.lower() for letter, keep in zip(letters, strong))


def _database(motif_db: MotifDatabase | str | os.PathLike | None) -> MotifDatabase:
    if motif_db is None:
        return MotifDatabase.default()
    if isinstance(motif_db, MotifDatabase):
        return motif_db
    return MotifDatabase.from_file(motif_db)


def _tomtom():
    """memelite's Tomtom, imported on first use because memelite (and numba) are an optional extra."""
    try:
        from memelite import tomtom
    except ImportError:
        raise SeqsalError("naming seqlets after known motifs needs memelite; install it with "
                          "pip install 'seqsal[motifs]'") from None
    return tomtom


# --------------------------------------------------------------------------- summary
def summarize_seqlets(seqlets: pd.DataFrame, n_sequences: int, length: int, bins: int = 10) -> pd.DataFrame:
    """Per motif and sign: how many seqlets, in how many sequences, how strong, and where.

    Parameters
    ----------
    seqlets
        Annotated seqlets (:func:`annotate_seqlets`); an unannotated table is
        summarised as one motif, ``"unknown"``.
    n_sequences
        Number of sequences the seqlets were called on, including those
        without any, so ``record_share`` is a share of the whole set.
    length
        Sequence length, the range of the positional histogram.
    bins
        Equal-width position bins; a seqlet counts in the bin of its core's
        centre.

    Returns
    -------
    pandas.DataFrame
        One row per ``(motif, sign)``, most frequent first: ``n_seqlets``,
        ``n_records`` (sequences with at least one), ``record_share``,
        ``mean_score``, then one count column per bin named ``pos_<a>_<b>``
        for positions ``[a, b)``.
    """
    check(_is_int(n_sequences) and n_sequences >= 1, f"n_sequences must be a positive integer, got {n_sequences!r}")
    check(_is_int(length) and length >= 1, f"length must be a positive integer, got {length!r}")
    check(_is_int(bins) and 1 <= bins <= length, f"bins must be an integer from 1 to length ({length}), got {bins!r}")
    edges = np.linspace(0, length, bins + 1).round().astype(int)
    bin_columns = [f"pos_{a}_{b}" for a, b in zip(edges[:-1], edges[1:])]
    columns = ["motif", "sign", "n_seqlets", "n_records", "record_share", "mean_score", *bin_columns]
    if seqlets.empty:
        return pd.DataFrame(columns=columns)
    motif = seqlets["motif"] if "motif" in seqlets.columns else pd.Series(UNKNOWN, index=seqlets.index)
    centres = (seqlets["core_start"] + seqlets["core_end"]) / 2
    check(((centres >= 0) & (centres <= length)).all(), f"some seqlets lie beyond length {length}; pass the sequence length")
    position_bin = np.clip(np.searchsorted(edges, centres.to_numpy(), side="right") - 1, 0, bins - 1)
    frame = pd.DataFrame({"motif": motif, "sign": seqlets["sign"], "sequence_index": seqlets["sequence_index"],
                          "score": seqlets["score"], "bin": position_bin})
    rows = []
    for (name, sign), group in frame.groupby(["motif", "sign"], sort=False):
        counts = np.bincount(group["bin"], minlength=bins)
        n_records = group["sequence_index"].nunique()
        rows.append([name, sign, len(group), n_records, n_records / n_sequences, group["score"].mean(), *counts])
    summary = pd.DataFrame(rows, columns=columns)
    return summary.sort_values(["n_seqlets", "motif", "sign"], ascending=[False, True, False],
                               kind="stable").reset_index(drop=True)
