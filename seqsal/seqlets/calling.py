"""Calling seqlets: runs of significant windows, trimmed, split and padded (see :mod:`seqsal.seqlets`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqsal.checks import check_int, check_number
from seqsal.errors import check
from seqsal.seqlets.fdr import DEFAULT_FDR, fdr_cutoff
from seqsal.seqlets.null import (
    DEFAULT_WINDOW,
    SeqletNull,
    as_scores,
    laplace_null,
    window_sums,
)

SEQLET_COLUMNS = ("sequence_index", "start", "end", "core_start", "core_end", "sign", "score", "p")


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
        A window is significant when its empirical p-value is below this
        (and at most the run's cutoff, see ``fdr``).  Each window is a
        candidate site, not a hypothesis about the sequence, and a reader
        wants sites at a known per-window false-positive rate; where the run
        has signal, expect about ``p_threshold * (L - w + 1)`` significant
        noise windows per sequence (overlapping ones merge into fewer
        seqlets).  0.02 was chosen on a
        simulated tuning set (bundled model, shuffled null, grad x input and
        ISM): it kept precision above 0.8 with recall about 0.7, where 0.01
        lost a sixth of the recall for little precision and 0.05 gained recall
        (about 0.84) at a precision of about 0.7.  Over the planted sites the
        model responds to, recall at 0.02 was about 0.87, and almost every
        seqlet on no planted site marked a chance site the model responds to
        (``benchmarks/bench_seqlets.py``, ``recall_used``, ``precision_model``).
    fdr
        The run-level gate (:mod:`seqsal.seqlets.fdr`): the per-window
        threshold is lowered below ``p_threshold`` until the estimated false
        discovery rate among the run's significant windows, ``p * m / #{p-values
        <= p}`` over its ``m`` windows, is at most ``fdr``.  A run without more
        significant windows than its null predicts gets almost none.  The
        estimate counts chance motif matches of the shuffles, which the model
        really responds to, as false, so it is conservative: at ``p_threshold``
        it was 0.22-0.30 for the bundled model on simulated enhancers and
        0.14-0.23 for the pu1 model on held-out peaks (grad x input, ISM), and
        0.81-1.12 for five random-weight models.  0.5 leaves the trained models'
        calls as the per-window threshold makes them, with room to spare, and
        leaves random models almost none.  1 turns the gate off.
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

    window: int = DEFAULT_WINDOW
    p_threshold: float = 0.02
    fdr: float = DEFAULT_FDR
    min_length: int = 4
    max_length: int = 20
    flank: int = 3

    def __post_init__(self) -> None:
        check_int(self.window, "window", minimum=1)
        check(
            isinstance(self.p_threshold, (int, float)) and 0 < self.p_threshold <= 1,
            f"p_threshold must be in (0, 1], got {self.p_threshold!r}",
        )
        check_number(self.fdr, "fdr", minimum=0, maximum=1, include_minimum=False)
        check_int(self.min_length, "min_length", minimum=1)
        check_int(self.max_length, "max_length", minimum=1)
        check(
            self.max_length >= 2 * self.min_length,
            f"max_length must be an integer of at least 2 * min_length = {2 * self.min_length} "
            f"(so long seqlets can be split), got {self.max_length!r}",
        )
        check_int(self.flank, "flank", minimum=0)



def call_seqlets(
    scores: np.ndarray,
    settings: SeqletSettings | None = None,
    null: SeqletNull | None = None,
    *,
    cutoff: float | None = None,
) -> pd.DataFrame:
    """Find contiguous stretches of significant attribution, positive and negative.

    For each sequence: (1) the signed sum of every ``w``-base window gets a
    two-sided p-value from ``null``, and is significant below
    ``settings.p_threshold`` and at most the run's ``cutoff`` (the run-level
    gate, ``settings.fdr``); (2) runs of consecutive significant
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
    cutoff
        The run's window cutoff, from a :class:`~seqsal.seqlets.WindowTally`
        over every sequence of the run.  When None it is computed from
        ``scores``, which then are the run: the gate depends on the sequences
        passed together (as any false discovery rate does), so to call a run
        in chunks, tally it first and pass the cutoff to every chunk.  Given
        the null and the cutoff, each sequence is called on its own.

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
    scores = as_scores(scores, "scores")
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
    if cutoff is None:
        cutoff = fdr_cutoff(p[p < settings.p_threshold], p.size, settings.fdr)
    cutoff = check_number(cutoff, "cutoff", minimum=0, maximum=1)
    passing = (p < settings.p_threshold) & (p <= cutoff)
    rows = []
    for index in range(scores.shape[0]):
        for sign in (1, -1):
            rows.extend(_sequence_seqlets(index, scores[index], sums[index], p[index], passing[index], sign,
                                          settings))
    table = pd.DataFrame(rows, columns=list(SEQLET_COLUMNS))
    table = table.astype({column: "int64" for column in SEQLET_COLUMNS[:6]} | {"score": "float64", "p": "float64"})
    return table.sort_values(["sequence_index", "start", "core_start"], kind="stable").reset_index(drop=True)


def _sequence_seqlets(index: int, scores: np.ndarray, sums: np.ndarray, p: np.ndarray, passing: np.ndarray,
                      sign: int, settings: SeqletSettings) -> list[tuple]:
    """Seqlets of one sign in one sequence (steps 2-6 of :func:`call_seqlets`); ``passing`` flags significant windows."""
    w = settings.window
    oriented = sign * scores
    significant = passing & (sign * sums > 0)
    # A window's p-value only counts for seqlets of the window's own sign.
    signed_p = np.where(significant, p, np.inf)
    rows = []
    for first, last in _runs(significant):
        for start, end in _cores(oriented, first, last + w, settings):
            lowest = signed_p[max(0, start - w + 1): end].min()
            if np.isfinite(lowest):
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
