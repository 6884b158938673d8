"""The planted-adapter experiment: an explanation can be faithful and implausible at once.

A model trained on data where a sequencing adapter rides along with one class
learns the adapter, because it is the easiest way to separate the classes.  A
*faithful* explanation of that model must then point at the adapter; a
*plausible* one points at the enhancer motifs a biologist expects.  The two
criteria pull apart, and this module measures how far, on synthetic enhancers
whose motifs are known (:func:`seqsal.simulate.simulate_enhancers`).

The experiment
--------------
1. Simulate one enhancer set.  Every sequence gets one adapter position that
   does not overlap any planted motif (:func:`place_adapters`), so the motif
   masks stay valid after planting; a sequence with no such room never
   carries the adapter.  Placement is ``"random"`` (anywhere free; every
   200-bp sequence has room for 33 nt) or ``"3prime"`` (the last bases, as
   read-through into the adapter when the insert is shorter than the read;
   a motif sits there in about half of the 200-bp positives, so high rates
   fall short, and ``achieved_rate`` in ``reliance.tsv`` says by how much).
2. For each contamination ``rate``, the adapter is planted into that fraction
   of the *positive* training and validation sequences (validation comes from
   the same contaminated data, as a user's held-out split would).  Rates are
   nested: the sequences contaminated at 0.1 are also contaminated at 0.5.
   A small :class:`~seqsal.models.EnhancerCNN` is trained per rate with the
   same seed and the same initial weights, so only the data differ.
3. Reliance on the shortcut (:func:`reliance`) is measured on test sets that
   are the same for every rate:

   - *clean*: the test split as simulated;
   - *contaminated*: every test positive with room carries the adapter,
     negatives stay clean.  The worst case at deployment, and independent of
     the rate, so only the model changes along the rate axis;
   - *counterfactual*: the adapter inserted into test negatives, and removed
     again (its original bases put back) from the contaminated positives.
     ``flip_neg_to_pos`` is the share of negatives predicted negative (logit
     < 0) that turn positive with the adapter; ``flip_pos_to_neg`` the share
     of contaminated positives predicted positive that turn negative without
     it; ``flip_neg_to_pos_control`` inserts a dinucleotide shuffle of the
     adapter instead, so it shows how many flips changing that many bases
     causes at all.  The adapter is not neutral DNA to an enhancer model
     (:func:`adapter_motif_matches`), so even a clean model flips a few.

4. Explanations are scored on ``n_eval`` contaminated test positives
   (:func:`score_method`): the share of attribution mass on the adapter
   (:func:`adapter_share`), plausibility as a per-sequence AUROC against the
   motif mask (:func:`seqsal.evaluate.metrics.plausibility`), and faithfulness as
   normalised deletion and insertion AUCs (:func:`seqsal.evaluate.metrics.deletion_insertion`).
   ``motif_prior`` (:func:`motif_prior`) is a PWM scan of the enhancer motifs
   dressed up as an explanation: plausible by construction, blind to the model.

Faithfulness in the scatter plot is the deletion AUC (lower is more
faithful), not the adapter share: deletion asks the model itself which
ranking destroys its output fastest, so it applies to the clean model too,
where the adapter is not what a faithful map should show.
"""

from __future__ import annotations

import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from os import PathLike
from pathlib import Path
from typing import Callable, NamedTuple, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.figure import Figure

from seqsal import io
from seqsal.attribution import METHODS, attribute, method_options, per_position
from seqsal.encoding import dinucleotide_shuffle, dinucleotide_shuffles, one_hot
from seqsal.errors import check
from seqsal.evaluate.metrics import deletion_insertion, plausibility
from seqsal.models import EnhancerCNN, ModelConfig, predict, resolve_device, save_model
from seqsal.motifs import Motif, MotifDatabase, load_adapters, scan
from seqsal.plot import plot_curves, plot_logo, save_figure
from seqsal.report import Report
from seqsal.simulate import DEFAULT_ENHANCER_MOTIFS, SyntheticSet, plant, simulate_enhancers
from seqsal.train import evaluate_predictions, fit

DEFAULT_ADAPTER = "illumina_universal_truseq_r1"
"""Illumina TruSeq read-1 adapter: the most common adapter left in short-read data."""

PLACEMENTS = ("random", "3prime")

MOTIF_PRIOR = "motif_prior"
"""The model-blind pseudo-explanation (:func:`motif_prior`)."""

CORRECTED = "_corrected"
"""Suffix that asks for the Majdandzic et al. gradient correction, e.g. ``grad_x_input_corrected``."""

DEFAULT_METHODS = (
    "saliency",
    "grad_x_input",
    "grad_x_input_corrected",
    "integrated_gradients",
    "smoothgrad",
    "ism",
    MOTIF_PRIOR,
)

FAITHFUL_METHODS = ("ism", "grad_x_input")
"""Methods the expected story calls faithful: ISM is exact for single substitutions, grad × input its linearisation."""

NEAR_ZERO_FLIP = 0.05
HIGH_FLIP = 0.5
LARGE_SHARE = 2.0
"""Thresholds of the story checks: a flip rate of at most 5 % is "near zero", at least 50 % "high", and an
adapter share at least twice the adapter's share of positions is "large"."""

TABLE_COLUMNS = [
    "rate", "method", "adapter_share", "adapter_share_chance", "plausibility_auroc", "plausibility_auprc",
    "deletion_auc", "insertion_auc", "random_deletion_auc", "n_eval", "seconds",
]
RELIANCE_COLUMNS = [
    "rate", "n_train_positives", "n_contaminated", "achieved_rate", "best_epoch", "valid_auroc", "auroc_clean",
    "auroc_contaminated", "flip_neg_to_pos", "flip_neg_to_pos_control", "flip_pos_to_neg", "n_negatives",
    "n_positives", "train_seconds",
]


@dataclass(frozen=True)
class ShortcutConfig:
    """Every setting that decides the numbers of a shortcut run; stored in its manifest.

    The default model is deliberately small (two convolution blocks): the
    experiment trains one model per rate on two CPU cores, and a motif-plus-
    adapter task needs no more.  The exponential first-layer activation makes
    first-layer filters look like motifs (Koo & Ploenzke 2021), which keeps
    attributions sharp enough to read on a logo.

    Parameters
    ----------
    n, length
        Simulated sequences and their length.
    adapter
        Record id in the adapter FASTA (``adapter_file``, or the bundled list).
    adapter_length
        Plant only this prefix of the adapter; ``None`` plants it in full
        (33 nt for TruSeq read 1).  Read-through leaves a prefix, so short
        prefixes are the realistic case at the 3' end.
    adapter_file
        FASTA of adapters; ``None`` uses ``data/adapters.fa``.
    placement
        ``"random"`` or ``"3prime"`` (see the module docstring).
    rates
        Contamination rates, shares of positive training sequences, in [0, 1].
    methods
        Attribution methods of :data:`seqsal.attribution.METHODS`, optionally
        with the suffix ``_corrected``, and ``motif_prior``.
    conv_channels, kernel_sizes, dense_units, activation, head, dropout
        The :class:`~seqsal.models.ModelConfig` of every model.  The
        global-average-pooling head is position-invariant, as motifs and a
        randomly placed adapter are: on 16,000 training sequences it reached
        test AUROC 0.97 in 8 epochs where the flatten head reached 0.91.
    epochs, patience
        Training epochs at most, and early-stopping patience.
    n_eval
        Contaminated test positives on which explanations are scored.
    deletion_steps
        Steps of the deletion/insertion curves.
    random_state
        Seed of the simulation, the adapter positions, training and noise.
    """

    n: int = 20000
    length: int = 200
    adapter: str = DEFAULT_ADAPTER
    adapter_length: int | None = None
    adapter_file: str | None = None
    placement: str = "random"
    rates: tuple[float, ...] = (0.0, 0.1, 0.5, 1.0)
    methods: tuple[str, ...] = DEFAULT_METHODS
    conv_channels: tuple[int, ...] = (32, 32)
    kernel_sizes: tuple[int, ...] = (15, 5)
    dense_units: tuple[int, ...] = (32,)
    activation: str = "exp"
    head: str = "gap"
    dropout: float = 0.2
    epochs: int = 8
    patience: int = 2
    n_eval: int = 200
    deletion_steps: int = 20
    random_state: int = 0

    def __post_init__(self) -> None:
        for name in ("rates", "methods", "conv_channels", "kernel_sizes", "dense_units"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        check(self.n >= 100, f"n must be at least 100 sequences so every split holds both classes, got {self.n}")
        check(self.placement in PLACEMENTS, f"placement {self.placement!r} is unknown; use one of {PLACEMENTS}")
        check(self.rates, "rates is empty; give at least one contamination rate, e.g. 0,1")
        check(all(0 <= rate <= 1 for rate in self.rates), f"rates must lie in [0, 1], got {list(self.rates)}")
        check(len(set(self.rates)) == len(self.rates), f"rates repeat a value: {list(self.rates)}")
        check(self.methods, "methods is empty; give at least one, e.g. grad_x_input,motif_prior")
        for method in self.methods:
            parse_method(method)
        for name in ("epochs", "patience", "n_eval", "deletion_steps"):
            value = getattr(self, name)
            check(isinstance(value, int) and value > 0, f"{name} must be a positive integer, got {value!r}")
        # Everything a user can get wrong is checked here, before a run writes or trains anything.
        self.model_config()
        insert = adapter_insert(self.adapter, self.adapter_length, load_adapters(self.adapter_file))
        check(
            len(insert) < self.length,
            f"the {len(insert)}-nt adapter does not fit {self.length}-bp sequences with room for motifs; "
            "lengthen the sequences or plant a shorter prefix (adapter_length)",
        )

    @classmethod
    def quick(cls, **changes: object) -> ShortcutConfig:
        """A preset that finishes in about half a minute: the test suite's configuration.

        Shorter sequences, a clean and a fully contaminated model, four
        epochs and the cheap methods.  The adapter is learned within one
        epoch at rate 1; the clean model is weak (test AUROC about 0.85), so
        its deletion AUCs are noisy, but the contrast in flip rates between
        the two models is large (about 25 % against 100 %).
        """
        preset = dict(
            n=3000, length=150, rates=(0.0, 1.0), epochs=4, patience=2, n_eval=40, deletion_steps=10,
            methods=("saliency", "grad_x_input", "grad_x_input_corrected", MOTIF_PRIOR),
        )
        return cls(**{**preset, **changes})

    def model_config(self) -> ModelConfig:
        """The architecture of every model of the run."""
        return ModelConfig(
            input_length=self.length, conv_channels=self.conv_channels, kernel_sizes=self.kernel_sizes,
            dense_units=self.dense_units, activation=self.activation, head=self.head,
            dropout=self.dropout,
        )

    def to_dict(self) -> dict:
        """Plain JSON-like settings (tuples become lists) for the manifest."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}


def parse_method(name: str) -> tuple[str, bool]:
    """Split a method label into the attribution method and whether the gradient correction applies.

    Raises
    ------
    SeqsalError
        For a name that is neither ``motif_prior`` nor a registered method (with or without ``_corrected``).
    """
    if name == MOTIF_PRIOR:
        return name, False
    corrected = name.endswith(CORRECTED)
    base = name[: -len(CORRECTED)] if corrected else name
    check(
        base in METHODS,
        f"unknown method {name!r}; choose from {', '.join(METHODS)}, {MOTIF_PRIOR}, or a method with the "
        f"suffix {CORRECTED}",
    )
    return base, corrected


# --------------------------------------------------------------------------- #
# Planting
# --------------------------------------------------------------------------- #


def adapter_insert(name: str = DEFAULT_ADAPTER, length: int | None = None,
                   adapters: dict[str, str] | None = None) -> str:
    """The bases to plant: adapter ``name``, or its first ``length`` bases.

    A prefix, not any substring, because read-through reads the adapter from
    its 5' end: a short insert leaves the start of the adapter in the read.

    Parameters
    ----------
    name
        Record id in ``adapters``.
    length
        Prefix length; ``None`` for the whole adapter.
    adapters
        Id -> sequence, as from :func:`seqsal.motifs.load_adapters`; the
        bundled list by default.
    """
    adapters = load_adapters() if adapters is None else adapters
    check(name in adapters, f"unknown adapter {name!r}; choose one of {', '.join(adapters)}")
    sequence = adapters[name]
    length = len(sequence) if length is None else length
    check(
        0 < length <= len(sequence),
        f"adapter_length {length} does not fit adapter {name!r} of {len(sequence)} nt; give 1 to {len(sequence)}",
    )
    return sequence[:length]


def adapter_room(dataset: SyntheticSet, width: int) -> np.ndarray:
    """``(N, L - width + 1)`` bool: where a ``width``-bp insert can start without touching a planted motif.

    Planting over a motif would destroy it while its mask still claims it is
    there, so the adapter only goes where the answer key stays true.  Every
    planted instance counts, enhancer and background motifs alike.
    """
    n, length = len(dataset), len(dataset.sequences[0])
    check(0 < width <= length, f"an adapter of {width} nt does not fit sequences of {length} bp; shorten it")
    row_of = {record_id: row for row, record_id in enumerate(dataset.ids)}
    rows = dataset.planted["id"].map(row_of).to_numpy(dtype=np.int64)
    boundaries = np.zeros((n, length + 1), dtype=np.int64)
    np.add.at(boundaries, (rows, dataset.planted["start"].to_numpy(dtype=np.int64)), 1)
    np.add.at(boundaries, (rows, dataset.planted["end"].to_numpy(dtype=np.int64)), -1)
    covered = np.cumsum(boundaries, axis=1)[:, :length] > 0
    prefix = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(covered, axis=1)], axis=1)
    return (prefix[:, width:] - prefix[:, :-width]) == 0


def place_adapters(
    dataset: SyntheticSet, width: int, placement: str = "random",
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """One adapter start per sequence, clear of planted motifs; ``-1`` where there is no room.

    ``"random"`` draws uniformly among the free starts; ``"3prime"`` takes the
    last ``width`` bases, the read-through position, and gives ``-1`` when a
    motif sits there.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64 0-based starts.
    """
    check(placement in PLACEMENTS, f"placement {placement!r} is unknown; use one of {PLACEMENTS}")
    room = adapter_room(dataset, width)
    if placement == "3prime":
        return np.where(room[:, -1], room.shape[1] - 1, -1).astype(np.int64)
    keys = np.where(room, np.random.default_rng(random_state).random(room.shape), -1.0)
    return np.where(room.any(axis=1), keys.argmax(axis=1), -1).astype(np.int64)


def plant_adapters(sequences: Sequence[str], starts: np.ndarray, insert: str) -> list[str]:
    """Overwrite each sequence with ``insert`` at its start (:func:`seqsal.simulate.plant`); ``-1`` leaves it be."""
    check(len(sequences) == len(starts), f"got {len(starts)} starts for {len(sequences)} sequences")
    return [plant(s, insert, int(start)) if start >= 0 else s for s, start in zip(sequences, starts)]


def adapter_mask(starts: np.ndarray, width: int, length: int) -> np.ndarray:
    """``(N, L)`` bool, True on the adapter's bases (all False where ``start == -1``)."""
    positions = np.arange(length)
    starts = np.asarray(starts)[:, None]
    return (starts >= 0) & (positions >= starts) & (positions < starts + width)


@dataclass
class ShortcutData:
    """One simulated set with its adapter plan, encoded both ways.

    Attributes
    ----------
    dataset
        The clean simulated set (labels, splits, motif masks, planted motifs).
    insert
        The planted adapter bases.
    starts
        ``(N,)`` adapter start of each sequence, ``-1`` where there is no room.
    priority
        ``(N,)`` a random permutation; contamination at a rate takes the
        positives with room in this order, which makes the rates nested.
    X_clean, X_adapted
        ``(N, 4, L)`` one-hot without and with the adapter (rows without room
        are equal in both).  Any contamination pattern is a row-wise choice
        between the two, and removing the adapter restores ``X_clean`` exactly.
    """

    dataset: SyntheticSet
    insert: str
    starts: np.ndarray
    priority: np.ndarray
    X_clean: np.ndarray
    X_adapted: np.ndarray

    @property
    def adapter_masks(self) -> np.ndarray:
        """``(N, L)`` bool: the adapter's positions in ``X_adapted``."""
        return adapter_mask(self.starts, len(self.insert), self.X_clean.shape[2])

    def contaminated(self, split: str, rate: float) -> np.ndarray:
        """``(N,)`` bool: the positives of ``split`` that carry the adapter at ``rate``.

        ``round(rate * positives)`` of them, fewer only when not enough
        positives have room (the achieved rate is reported).
        """
        positive = (self.dataset.splits == split) & (self.dataset.labels == 1)
        eligible = np.flatnonzero(positive & (self.starts >= 0))
        chosen = eligible[np.argsort(self.priority[eligible])][: round(rate * positive.sum())]
        mask = np.zeros(len(self.starts), dtype=bool)
        mask[chosen] = True
        return mask

    def inputs(self, carrying: np.ndarray) -> np.ndarray:
        """``(N, 4, L)``: the adapted encoding on rows where ``carrying`` is True, the clean one elsewhere."""
        return np.where(carrying[:, None, None], self.X_adapted, self.X_clean)

    def eval_rows(self, n_eval: int) -> np.ndarray:
        """The test positives with room on which explanations are scored, in ``priority`` order."""
        eligible = np.flatnonzero((self.dataset.splits == "test") & (self.dataset.labels == 1) & (self.starts >= 0))
        check(eligible.size > 0, "no test positive has room for the adapter; use longer sequences or a shorter adapter")
        return eligible[np.argsort(self.priority[eligible])][:n_eval]


def prepare_data(config: ShortcutConfig) -> ShortcutData:
    """Simulate the set of ``config``, plan adapter positions and encode it with and without them."""
    rng = np.random.default_rng(config.random_state)
    adapters = load_adapters(config.adapter_file)
    insert = adapter_insert(config.adapter, config.adapter_length, adapters)
    dataset = simulate_enhancers(config.n, config.length, random_state=rng)
    starts = place_adapters(dataset, len(insert), config.placement, rng)
    return ShortcutData(
        dataset=dataset,
        insert=insert,
        starts=starts,
        priority=rng.permutation(len(dataset)),
        X_clean=one_hot(dataset.sequences, ids=dataset.ids),
        X_adapted=one_hot(plant_adapters(dataset.sequences, starts, insert), ids=dataset.ids),
    )


# --------------------------------------------------------------------------- #
# Metrics
# --------------------------------------------------------------------------- #


def adapter_share(scores: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Share of absolute per-position attribution that falls on the adapter, per sequence.

    ``sum |s| over adapter positions / sum |s| over all positions``.  The
    absolute value counts evidence against the target as attention too: a
    model that uses the adapter as strong negative evidence relies on it just
    as much.  The chance level is the adapter's share of the positions.

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores.
    mask
        ``(N, L)`` bool, True on adapter positions.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` shares in [0, 1]; ``nan`` for a sequence whose scores are all zero.
    """
    magnitude = np.abs(np.asarray(scores, dtype=np.float64))
    mask = np.asarray(mask, dtype=bool)
    check(magnitude.shape == mask.shape, f"scores have shape {magnitude.shape} but the mask has {mask.shape}")
    total = magnitude.sum(axis=1)
    on_adapter = (magnitude * mask).sum(axis=1)
    return np.divide(on_adapter, total, out=np.full(total.shape, np.nan), where=total > 0)


def motif_prior(X: np.ndarray, motifs: Sequence[Motif]) -> np.ndarray:
    """A model-blind "explanation": how well the best motif window covering each position matches.

    Every window of every motif on both strands that scores above zero
    log2-odds (more likely under the motif than under a uniform background;
    :func:`seqsal.motifs.scan`) spreads its score, divided by the motif's best
    possible score, over the positions it covers; each position keeps the
    best.  It ranks motif instances first by construction, so it is as
    plausible as a map can be, and it never looks at a model, so it cannot
    be faithful to one.

    Returns
    -------
    numpy.ndarray
        ``(N, L)`` float32 scores in [0, 1].
    """
    X = np.asarray(X)
    prior = np.zeros((X.shape[0], X.shape[2]), dtype=np.float32)
    best = {motif.id: _best_score(motif) for motif in motifs}
    for hit in scan(X, motifs, threshold=0.0):
        window = prior[hit.sequence_index, hit.start : hit.end]
        np.maximum(window, hit.score / best[hit.motif_id], out=window)
    return prior


def _best_score(motif: Motif) -> float:
    """The highest log2-odds score any window can reach: the sum of the column maxima."""
    return float(motif.log_odds().max(axis=0).sum())


def adapter_motif_matches(insert: str, motifs: Sequence[Motif], n_shuffles: int = 200,
                          random_state: int = 0) -> pd.DataFrame:
    """How much each motif the adapter already contains, against shuffles of the adapter.

    An adapter is not neutral DNA.  The TruSeq read-1 adapter holds
    ``ATCGGAAGAG``, a partial ETS site (core ``GGAA``); a model that learned
    ETS sites from clean data reads it as weak enhancer evidence, so even a
    model that never saw the adapter can flip a few predictions when it is
    inserted.  Comparing the adapter's best window with those of its
    dinucleotide shuffles (same composition, no arrangement) tells a real
    partial motif from what any sequence of that composition offers.

    Returns
    -------
    pandas.DataFrame
        One row per motif, most specific first: ``motif``, the adapter's best
        ``window`` (plus-strand bases) and its ``strand``, ``relative_score``
        (share of the best possible log2-odds), ``shuffled_median`` (the same
        for the shuffles) and ``shuffles_at_least`` (share of shuffles whose
        best window scores as high).
    """
    sequences = [insert] + dinucleotide_shuffles([insert], n_shuffles, random_state)[0]
    X = one_hot(sequences)
    rows = []
    for motif in motifs:
        hits = scan(X, [motif], threshold=-np.inf)
        if not hits:  # the motif is longer than the adapter
            continue
        scores = np.full(len(sequences), -np.inf)
        np.maximum.at(scores, [hit.sequence_index for hit in hits], [hit.score for hit in hits])
        top = max((hit for hit in hits if hit.sequence_index == 0), key=lambda hit: hit.score)
        best = _best_score(motif)
        rows.append({
            "motif": motif.name, "window": insert[top.start : top.end], "strand": top.strand,
            "relative_score": scores[0] / best, "shuffled_median": float(np.median(scores[1:])) / best,
            "shuffles_at_least": float((scores[1:] >= scores[0]).mean()),
        })
    columns = ["motif", "window", "strand", "relative_score", "shuffled_median", "shuffles_at_least"]
    return pd.DataFrame(rows, columns=columns).sort_values("shuffles_at_least", kind="stable").reset_index(drop=True)


def explain(
    model: EnhancerCNN,
    X: np.ndarray,
    method: str,
    motifs: Sequence[Motif],
    *,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Hypothetical scores ``(N, 4, L)`` of one method label (see :func:`parse_method`).

    ``motif_prior`` has no hypothetical scores; its per-position score is put
    on the observed base, so projecting onto the sequence gives it back.
    ``random_state`` seeds the methods that draw noise or references.
    """
    base, corrected = parse_method(method)
    if base == MOTIF_PRIOR:
        return motif_prior(X, motifs)[:, None, :] * X
    options = {"random_state": random_state} if "random_state" in method_options(base) else {}
    return attribute(model, X, base, correct=corrected, hypothetical=True, batch_size=batch_size,
                     device=device, **options)


def reliance(
    model: EnhancerCNN,
    data: ShortcutData,
    *,
    random_state: int = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """How much a model's test predictions hinge on the adapter (see the module docstring).

    Returns
    -------
    dict
        ``auroc_clean``, ``auroc_contaminated``, ``flip_neg_to_pos``,
        ``flip_neg_to_pos_control``, ``flip_pos_to_neg`` and the numbers of
        negatives and positives the flip rates are shares of.
    """
    dataset = data.dataset
    test = dataset.splits == "test"
    labels = dataset.labels[test]
    clean = predict(model, data.X_clean[test], batch_size=batch_size, device=device)[:, 0]
    adapted = predict(model, data.X_adapted[test], batch_size=batch_size, device=device)[:, 0]
    room = data.starts[test] >= 0
    contaminated = np.where(room & (labels == 1), adapted, clean)

    control_rows = np.flatnonzero(test & (dataset.labels == 0) & (data.starts >= 0))
    shuffled = dinucleotide_shuffle(data.insert, random_state)
    control = predict(
        model,
        one_hot(plant_adapters([dataset.sequences[i] for i in control_rows], data.starts[control_rows], shuffled)),
        batch_size=batch_size,
        device=device,
    )[:, 0]

    negatives = room & (labels == 0) & (clean < 0)
    control_negatives = clean[room & (labels == 0)] < 0
    positives = room & (labels == 1) & (adapted >= 0)
    return {
        "auroc_clean": evaluate_predictions(labels, clean, "classification")["auroc"],
        "auroc_contaminated": evaluate_predictions(labels, contaminated, "classification")["auroc"],
        "flip_neg_to_pos": _share(adapted[negatives] >= 0),
        "flip_neg_to_pos_control": _share(control[control_negatives] >= 0),
        "flip_pos_to_neg": _share(clean[positives] < 0),
        "n_negatives": int(negatives.sum()),
        "n_positives": int(positives.sum()),
    }


def _share(flags: np.ndarray) -> float:
    """Mean of booleans, ``nan`` for none (a model that calls every sequence one class)."""
    return float(flags.mean()) if flags.size else float("nan")


def score_method(
    model: EnhancerCNN,
    X: np.ndarray,
    hypothetical: np.ndarray,
    motif_mask: np.ndarray,
    adapter_positions: np.ndarray,
    *,
    deletion_steps: int = 20,
    random_state: int = 0,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> dict[str, float]:
    """Faithfulness and plausibility of one method's scores on contaminated positives.

    Per-position scores are the projected scores summed over the four rows.
    Plausibility ranks signed scores (evidence *against* the enhancer call is
    not where a biologist expects enhancer motifs); deletion and insertion
    use :func:`seqsal.evaluate.metrics.deletion_insertion` with its default shuffle
    replacement, with the same ``random_state`` for every method so that all
    share replacements and the random reference.

    Returns
    -------
    dict
        ``adapter_share`` (mean), ``adapter_share_chance``,
        ``plausibility_auroc``/``_auprc`` (means), and the normalised logit
        AUCs ``deletion_auc``, ``insertion_auc``, ``random_deletion_auc``.
    """
    scores = per_position(hypothetical * X)
    curves = deletion_insertion(model, X, scores, steps=deletion_steps, random_state=random_state,
                                batch_size=batch_size, device=device).auc()
    logit = curves[curves["output"] == "logit"].set_index("curve")["normalised_auc"]
    agreement = plausibility(scores, motif_mask).summary()["mean"]
    return {
        "adapter_share": float(np.nanmean(adapter_share(scores, adapter_positions))),
        "adapter_share_chance": float(adapter_positions.mean()),
        "plausibility_auroc": float(agreement["auroc"]),
        "plausibility_auprc": float(agreement["auprc"]),
        "deletion_auc": float(logit["deletion"]),
        "insertion_auc": float(logit["insertion"]),
        "random_deletion_auc": float(logit["random_deletion"]),
    }


# --------------------------------------------------------------------------- #
# The run
# --------------------------------------------------------------------------- #


@dataclass
class ShortcutResult:
    """What :func:`run_shortcut` measured, as written to its folder.

    Attributes
    ----------
    folder
        The output folder.
    reliance
        One row per rate (``reliance.tsv``).
    metrics
        One row per rate × method (``shortcut.tsv``).
    story
        One row per claim of the expected story, whether it holds and the evidence.
    adapter_motifs
        :func:`adapter_motif_matches` of the planted adapter (``adapter_motifs.tsv``).
    """

    folder: Path
    reliance: pd.DataFrame
    metrics: pd.DataFrame
    story: pd.DataFrame
    adapter_motifs: pd.DataFrame


class _Box(NamedTuple):
    """A labelled span for the logo figures (what :func:`seqsal.plot.plot_logo` boxes)."""

    start: int
    end: int
    name: str
    strand: str


def rate_label(rate: float) -> str:
    """``rate_0.5``: how a rate names its model and logo files."""
    return f"rate_{rate:g}"


def run_shortcut(
    config: ShortcutConfig,
    out: str | PathLike[str],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> ShortcutResult:
    """Run the whole experiment and write its folder; finished rates survive an interruption.

    After every rate the model (``models/rate_<r>.pt``), ``reliance.tsv``,
    ``shortcut.tsv``, the example logos and the manifest are rewritten
    atomically; the manifest says ``complete: false`` (and lists the finished
    rates) until the figures and ``report.html`` are written at the end.

    Parameters
    ----------
    config
        The experiment; :meth:`ShortcutConfig.quick` for a fast one.
    out
        Output folder: new, empty, or an earlier seqsal run (replaced).
    batch_size
        Sequences per forward/backward pass outside training.
    device
        Where to train and attribute; CUDA when available by default.
    progress
        One line per stage on stderr.
    """
    started = time.time()
    log = _logger(progress, started)
    folder = io.prepare_output_dir(out)
    (folder / "models").mkdir(exist_ok=True)
    (folder / "logos").mkdir(exist_ok=True)
    device = resolve_device(device)
    manifest = _manifest(config, device)
    io.write_json(folder / io.MANIFEST, manifest)

    log(f"simulating {config.n} sequences of {config.length} bp and planning adapter positions")
    data = prepare_data(config)
    motifs = MotifDatabase.default().get_many(DEFAULT_ENHANCER_MOTIFS)
    eval_rows = data.eval_rows(config.n_eval)
    X_eval = data.X_adapted[eval_rows]
    manifest["adapter"] = {"name": config.adapter, "sequence": data.insert,
                           "sequences_with_room": float((data.starts >= 0).mean())}
    matches = adapter_motif_matches(data.insert, motifs, random_state=config.random_state)
    io.write_table(folder / "adapter_motifs.tsv", matches)

    reliance_rows: list[dict] = []
    metric_rows: list[dict] = []
    for rate in config.rates:
        label = rate_label(rate)
        model, fit_row = _train_at_rate(config, data, rate, device, progress, log)
        log(f"{label}: measuring reliance on the adapter")
        reliance_rows.append({"rate": rate, **fit_row,
                              **reliance(model, data, random_state=config.random_state,
                                         batch_size=batch_size, device=device)})
        model_path = folder / "models" / f"{label}.pt"
        save_model(model, model_path, {"shortcut": reliance_rows[-1], "settings": config.to_dict()})

        example = {}
        for method in config.methods:
            tick = time.time()
            hypothetical = explain(model, X_eval, method, motifs, random_state=config.random_state,
                                   batch_size=batch_size, device=device)
            scores = score_method(model, X_eval, hypothetical, data.dataset.masks[eval_rows],
                                  data.adapter_masks[eval_rows], deletion_steps=config.deletion_steps,
                                  random_state=config.random_state, batch_size=batch_size, device=device)
            metric_rows.append({"rate": rate, "method": method, **scores, "n_eval": len(eval_rows),
                                "seconds": round(time.time() - tick, 1)})
            example[method] = hypothetical[0]
            log(f"{label}: {method} scored in {time.time() - tick:.0f} s")
        prediction = float(predict(model, X_eval[:1], device=device)[0, 0])
        figure = plot_example(X_eval[0], example, _boxes(data, eval_rows[0]),
                              title=f"{data.dataset.ids[eval_rows[0]]}: model trained at contamination rate "
                                    f"{rate:g}, logit {prediction:.2f}")
        save_figure(figure, folder / "logos" / f"{label}.png")
        plt.close(figure)

        io.write_table(folder / "reliance.tsv", pd.DataFrame(reliance_rows, columns=RELIANCE_COLUMNS))
        io.write_table(folder / "shortcut.tsv", pd.DataFrame(metric_rows, columns=TABLE_COLUMNS))
        manifest["rates_done"].append(rate)
        manifest["models"][label] = {"path": f"models/{label}.pt", "sha256": io.file_sha256(model_path)}
        io.write_json(folder / io.MANIFEST, manifest)

    reliance_table = pd.DataFrame(reliance_rows, columns=RELIANCE_COLUMNS)
    metrics = pd.DataFrame(metric_rows, columns=TABLE_COLUMNS)
    story = story_checks(metrics, reliance_table)
    log("drawing figures and writing report.html")
    for name, figure in (("tradeoff.png", plot_tradeoff(metrics)), ("rates.png", plot_rates(metrics, reliance_table))):
        save_figure(figure, folder / name)
        plt.close(figure)
    manifest["seconds"] = round(time.time() - started, 1)
    write_report(folder, config, manifest, reliance_table, metrics, story, matches)
    manifest.update(complete=True, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    files=sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()
                                 and p.name != io.MANIFEST))
    io.write_json(folder / io.MANIFEST, manifest)
    log(f"done; wrote {folder}/")
    return ShortcutResult(folder=folder, reliance=reliance_table, metrics=metrics, story=story,
                          adapter_motifs=matches)


def _logger(enabled: bool, started: float) -> Callable[[str], None]:
    """A one-line-per-stage progress printer on stderr, with elapsed time."""
    def log(message: str) -> None:
        if enabled:
            print(f"seqsal shortcut [{time.time() - started:5.0f} s] {message}", file=sys.stderr, flush=True)
    return log


def _manifest(config: ShortcutConfig, device: torch.device) -> dict:
    return {
        **io.manifest_header("shortcut"),
        "device": str(device),
        "torch_threads": torch.get_num_threads(),
        "seed": config.random_state,
        "settings": config.to_dict(),
        "model_config": config.model_config().to_dict(),
        "rates_done": [],
        "models": {},
    }


def _train_at_rate(
    config: ShortcutConfig, data: ShortcutData, rate: float, device: torch.device, progress: bool,
    log: Callable[[str], None],
) -> tuple[EnhancerCNN, dict]:
    """Contaminate train and valid at ``rate``, train a seeded model, and describe the fit."""
    dataset = data.dataset
    carrying = data.contaminated("train", rate) | data.contaminated("valid", rate)
    X = data.inputs(carrying)
    train, valid = dataset.splits == "train", dataset.splits == "valid"
    n_positives = int((train & (dataset.labels == 1)).sum())
    n_contaminated = int((carrying & train).sum())
    log(f"{rate_label(rate)}: training on {int(train.sum())} sequences, {n_contaminated} of {n_positives} "
        "positives with the adapter")
    with torch.random.fork_rng():
        torch.manual_seed(config.random_state)
        model = EnhancerCNN(config.model_config())
    tick = time.time()
    result = fit(model, X[train], dataset.labels[train], X[valid], dataset.labels[valid],
                 max_epochs=config.epochs, patience=config.patience, random_state=config.random_state,
                 device=device, progress=progress)
    return model, {
        "n_train_positives": n_positives,
        "n_contaminated": n_contaminated,
        "achieved_rate": n_contaminated / max(n_positives, 1),
        "best_epoch": result.best_epoch,
        "valid_auroc": result.history[result.best_epoch - 1]["valid_auroc"],
        "train_seconds": round(time.time() - tick, 1),
    }


def _boxes(data: ShortcutData, row: int) -> list[_Box]:
    """The planted motifs and the adapter of one sequence, for the logo figure."""
    planted = data.dataset.planted[data.dataset.planted["id"] == data.dataset.ids[row]]
    boxes = [_Box(int(r.start), int(r.end), str(r.name), str(r.strand)) for r in planted.itertuples()]
    start = int(data.starts[row])
    return boxes + [_Box(start, start + len(data.insert), "adapter", "")]


# --------------------------------------------------------------------------- #
# Verdicts, figures, report
# --------------------------------------------------------------------------- #


def story_checks(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> pd.DataFrame:
    """Test each claim of the expected story against the measured numbers.

    The clean model is the one at the lowest rate (which should be 0), the
    contaminated one at the highest.  A claim whose methods or rates were not
    run is left out rather than reported as failing.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim``, ``holds`` (bool) and ``evidence`` (the numbers, in words).
    """
    rows = []
    low, high = reliance_table["rate"].min(), reliance_table["rate"].max()
    clean = reliance_table.set_index("rate").loc[low]
    dirty = reliance_table.set_index("rate").loc[high]
    rows.append({
        "claim": f"the clean model (rate {low:g}) hardly flips: both flip rates <= {NEAR_ZERO_FLIP:.0%}",
        "holds": bool(clean["flip_neg_to_pos"] <= NEAR_ZERO_FLIP and clean["flip_pos_to_neg"] <= NEAR_ZERO_FLIP),
        "evidence": f"negatives -> positive {clean['flip_neg_to_pos']:.1%} (shuffled adapter "
                    f"{clean['flip_neg_to_pos_control']:.1%}), positives -> negative {clean['flip_pos_to_neg']:.1%}",
    })
    if high > low:
        rows.append({
            "claim": f"the contaminated model (rate {high:g}) flips often: negatives -> positive >= {HIGH_FLIP:.0%}",
            "holds": bool(dirty["flip_neg_to_pos"] >= HIGH_FLIP),
            "evidence": f"negatives -> positive {dirty['flip_neg_to_pos']:.1%} (shuffled adapter "
                        f"{dirty['flip_neg_to_pos_control']:.1%}), positives -> negative "
                        f"{dirty['flip_pos_to_neg']:.1%}",
        })
    by = metrics.set_index(["rate", "method"])
    for method in FAITHFUL_METHODS:
        if high == low or (high, method) not in by.index or (low, method) not in by.index:
            continue
        share, chance = by.loc[(high, method), "adapter_share"], by.loc[(high, method), "adapter_share_chance"]
        rows.append({
            "claim": f"{method} puts a large share on the adapter for the contaminated model "
                     f"(>= {LARGE_SHARE:g} x chance)",
            "holds": bool(share >= LARGE_SHARE * chance),
            "evidence": f"{share:.1%} of the attribution on {chance:.1%} of the positions "
                        f"({share / chance:.1f} x); clean model {by.loc[(low, method), 'adapter_share']:.1%}",
        })
        before, after = by.loc[(low, method), "plausibility_auroc"], by.loc[(high, method), "plausibility_auroc"]
        rows.append({
            "claim": f"{method} loses plausibility from the clean to the contaminated model",
            "holds": bool(after < before),
            "evidence": f"plausibility AUROC {before:.3f} -> {after:.3f}",
        })
    dirty_metrics = metrics[metrics["rate"] == high].set_index("method")
    if MOTIF_PRIOR in dirty_metrics.index and len(dirty_metrics) > 1:
        others = dirty_metrics.drop(index=MOTIF_PRIOR)
        prior = dirty_metrics.loc[MOTIF_PRIOR]
        rows.append({
            "claim": f"{MOTIF_PRIOR} is the most plausible map (rate {high:g})",
            "holds": bool(prior["plausibility_auroc"] > others["plausibility_auroc"].max()),
            "evidence": f"AUROC {prior['plausibility_auroc']:.3f}; best model-based "
                        f"{others['plausibility_auroc'].idxmax()} {others['plausibility_auroc'].max():.3f}",
        })
        rows.append({
            "claim": f"{MOTIF_PRIOR} is the least faithful map (rate {high:g}): highest deletion AUC",
            "holds": bool(prior["deletion_auc"] > others["deletion_auc"].max()),
            "evidence": f"deletion AUC {prior['deletion_auc']:.3f}; worst model-based "
                        f"{others['deletion_auc'].idxmax()} {others['deletion_auc'].max():.3f}; random ranking "
                        f"{prior['random_deletion_auc']:.3f}",
        })
    return pd.DataFrame(rows, columns=["claim", "holds", "evidence"])


def plot_example(onehot: np.ndarray, hypothetical: dict[str, np.ndarray], boxes: Sequence[_Box],
                 title: str) -> Figure:
    """One sequence's projected logo under every method, one panel each, motifs and adapter boxed.

    Each panel has its own y scale: methods differ in units (logit change,
    gradient, log-odds), and what matters is *where* each puts its mass.
    """
    length = onehot.shape[1]
    fig, axes = plt.subplots(len(hypothetical), 1, sharex=True, squeeze=False, layout="constrained",
                             figsize=(float(np.clip(length / 12, 9, 22)), 1.9 * len(hypothetical) + 0.6))
    for ax, (method, scores) in zip(axes[:, 0], hypothetical.items()):
        plot_logo(scores * onehot, ax=ax, ylabel=method, motif_hits=boxes)
        ax.yaxis.label.set_fontsize(9)
    for ax in axes[:-1, 0]:
        ax.set_xlabel("")
    fig.suptitle(title, fontsize=12)
    return fig


def plot_tradeoff(metrics: pd.DataFrame) -> Figure:
    """Faithfulness (deletion AUC) against plausibility (AUROC) per method, clean and most contaminated model."""
    rates = sorted({metrics["rate"].min(), metrics["rate"].max()})
    # Separate x scales: a weak model's normalised AUCs can span a much wider range than a strong one's.
    fig, axes = plt.subplots(1, len(rates), figsize=(5.2 * len(rates), 4.4), squeeze=False, sharey=True,
                             layout="constrained")
    colors = plt.get_cmap("tab10").colors
    for ax, rate in zip(axes[0], rates):
        rows = metrics[metrics["rate"] == rate]
        # Methods often sit on top of each other, so they are told apart by colour and marker in a legend
        # rather than by text labels beside the points (what seqsal.plot.plot_scatter draws).
        for index, row in enumerate(rows.itertuples()):
            ax.scatter(row.deletion_auc, row.plausibility_auroc, s=40, color=colors[index % len(colors)],
                       marker="os^Dv<>P"[index % 8], label=row.method, zorder=3)
        ax.set(xlabel="deletion AUC (normalised; lower = more faithful)", ylabel="plausibility AUROC vs motif mask",
               title=f"model trained at rate {rate:g}")
        ax.margins(0.12)
        ax.grid(alpha=0.3)
        ax.axvline(rows["random_deletion_auc"].mean(), color="#999999", linestyle="--", linewidth=1,
                   label="random ranking")
        ax.axhline(0.5, color="#999999", linestyle=":", linewidth=1, label="chance plausibility")
    handles, labels = axes[0, -1].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside right center", frameon=False, fontsize=8)
    return fig


def plot_rates(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> Figure:
    """Every metric against the contamination rate: reliance panels first, then one curve per method."""
    fig, axes = plt.subplots(2, 3, figsize=(15, 8), layout="constrained")
    rates = reliance_table["rate"].to_numpy()
    plot_curves(rates, {"clean test": reliance_table["auroc_clean"],
                        "contaminated test": reliance_table["auroc_contaminated"]},
                ax=axes[0, 0], xlabel="contamination rate", ylabel="test AUROC", title="classifier AUROC")
    plot_curves(rates, {"negative -> positive (adapter added)": reliance_table["flip_neg_to_pos"],
                        "negative -> positive (shuffled adapter)": reliance_table["flip_neg_to_pos_control"],
                        "positive -> negative (adapter removed)": reliance_table["flip_pos_to_neg"]},
                ax=axes[0, 1], xlabel="contamination rate", ylabel="share flipped", title="counterfactual flips")
    panels = [
        ("adapter_share", "share of |attribution| on adapter", "attribution on the adapter"),
        ("plausibility_auroc", "AUROC vs motif mask", "plausibility"),
        ("deletion_auc", "normalised AUC (lower = faithful)", "deletion"),
        ("insertion_auc", "normalised AUC (higher = faithful)", "insertion"),
    ]
    ordered = metrics.sort_values("rate")
    for ax, (column, ylabel, title) in zip([axes[0, 2], axes[1, 0], axes[1, 1], axes[1, 2]], panels):
        curves = {method: rows[column] for method, rows in ordered.groupby("method", sort=False)}
        plot_curves(sorted(ordered["rate"].unique()), curves, ax=ax, xlabel="contamination rate",
                    ylabel=ylabel, title=title)
    for ax in axes.flat:  # markers keep a single rate visible, and show where the measurements are
        for line in ax.get_lines():
            line.set_marker("o")
            line.set_markersize(4)
    axes[0, 2].axhline(metrics["adapter_share_chance"].mean(), color="#999999", linestyle="--", linewidth=1,
                       label="chance: adapter's share of positions")
    axes[0, 2].legend(frameon=False, fontsize=8)
    return fig


def write_report(folder: Path, config: ShortcutConfig, manifest: dict, reliance_table: pd.DataFrame,
                 metrics: pd.DataFrame, story: pd.DataFrame, matches: pd.DataFrame) -> Path:
    """``report.html``: the figures and tables with what they show, in plain words.

    ``matches`` is :func:`adapter_motif_matches` of the planted adapter; it
    explains why a model that never saw the adapter may still react to it.
    """
    low, high = reliance_table["rate"].min(), reliance_table["rate"].max()
    by_rate = reliance_table.set_index("rate")
    clean, dirty = by_rate.loc[low], by_rate.loc[high]
    width, length = len(manifest["adapter"]["sequence"]), config.length
    report = Report("seqsal shortcut — a planted sequencing adapter")
    report.add_paragraph(
        f"Synthetic enhancers ({config.n} sequences of {length} bp) carry known motifs. The "
        f"{config.adapter} adapter ({width} nt, {config.placement} placement, never over a motif) was planted "
        f"into a share of the positive training sequences, one model was trained per share "
        f"({', '.join(f'{r:g}' for r in config.rates)}), and each model was explained with "
        f"{', '.join(config.methods)}. A faithful explanation shows what the model uses; a plausible one shows the "
        "motifs a biologist expects. A model that learned the adapter can only be explained faithfully by "
        "pointing at the adapter, so the two criteria part ways."
    )
    report.add_heading("Does the expected story hold?")
    verdicts = story.assign(holds=story["holds"].map({True: "yes", False: "no"}))
    report.add_table(verdicts, caption="Each claim checked against the numbers below.")
    failed = story[~story["holds"]]
    report.add_paragraph(
        "Every claim holds." if failed.empty else
        f"{len(failed)} of {len(story)} claims do not hold; the evidence column gives the measured numbers, and "
        "the sections below show where the story departs from the expectation."
    )
    if high > low:
        report.add_paragraph(
            f"In short: the model trained at rate {low:g} ranks the clean test set with AUROC "
            f"{clean['auroc_clean']:.3f}. The model trained at rate {high:g} scores {dirty['auroc_contaminated']:.3f} "
            f"on the contaminated test set but {dirty['auroc_clean']:.3f} on the clean one, so its good held-out "
            f"numbers come from the adapter. Inserting the adapter turns {dirty['flip_neg_to_pos']:.0%} of its "
            f"negatives positive ({clean['flip_neg_to_pos']:.0%} for the rate-{low:g} model)."
        )
    specific = matches.iloc[0] if len(matches) else None
    if specific is not None and clean["flip_neg_to_pos"] > max(NEAR_ZERO_FLIP, clean["flip_neg_to_pos_control"]):
        report.add_paragraph(
            f"Why the rate-{low:g} model reacts to an adapter it never saw: a dinucleotide shuffle of the adapter "
            f"flips only {clean['flip_neg_to_pos_control']:.1%} of its negatives, against "
            f"{clean['flip_neg_to_pos']:.1%} for the adapter itself, so it is the adapter's arrangement, not its "
            f"composition. The adapter carries a partial {specific['motif']} site: its window {specific['window']} "
            f"scores {specific['relative_score']:.2f} of the best possible {specific['motif']} log-odds, a level only "
            f"{specific['shuffles_at_least']:.0%} of its shuffles reach (their median: "
            f"{specific['shuffled_median']:.2f}). "
            f"A model that learned {specific['motif']} sites reads it as weak enhancer evidence, enough to tip "
            "sequences near the decision boundary either way."
        )

    report.add_heading("How much do the models rely on the adapter?")
    report.add_paragraph(
        "AUROC on the clean test set and on the contaminated one (every test positive carries the adapter, "
        "negatives are clean; the same sequences for every model). Flip rates are counterfactual: the adapter "
        "is inserted into test negatives the model calls negative (share that turn positive), or removed again "
        "from contaminated positives the model calls positive (share that turn negative). The shuffled-adapter "
        "column inserts a dinucleotide shuffle of the adapter at the same places: flips there come from changing "
        f"{width} bases at all, not from the adapter."
    )
    report.add_table(reliance_table.drop(columns=["n_train_positives"]), float_format="{:.3f}",
                     caption="reliance.tsv: one row per contamination rate; achieved_rate is the share of positive "
                             "training sequences that carried the adapter.")
    report.add_paragraph(
        "Is the adapter neutral DNA? Its best window for each enhancer motif, as a share of the motif's best "
        "possible log-odds score, against the same for dinucleotide shuffles of the adapter "
        "(adapter_motifs.tsv). A low share of shuffles reaching the adapter's score marks a partial motif "
        "that the adapter's own arrangement creates."
    )
    report.add_table(matches, float_format="{:.3f}", caption="The adapter's best match to each enhancer motif.")
    report.add_image(folder / "rates.png",
                     caption="Top: classifier AUROC and flip rates against the contamination rate. Then, one line "
                             "per method: share of attribution on the adapter (dashed: the adapter's share of "
                             "positions), plausibility AUROC against the motif mask, and normalised deletion and "
                             "insertion AUCs.")

    report.add_heading("Faithful or plausible?")
    report.add_paragraph(
        f"Each method's scores on {int(metrics['n_eval'].iloc[0])} contaminated test positives. Faithfulness is "
        "the deletion AUC: the bases a map ranks first are replaced by a dinucleotide shuffle, and the area under "
        "the logit curve is normalised so that 1 means the output never drops and 0 that it drops at once to "
        "that of the fully shuffled sequence (below 0: on the way it falls even lower). A map that ranks what the "
        "model really uses first drives the output down fast (low AUC); the dashed line is a random ranking. "
        "Insertion is the reverse (restoring the top-ranked bases into the shuffle; higher is better). "
        "Plausibility is the "
        "per-sequence AUROC of the per-position scores against the planted-motif mask (0.5 is chance). "
        f"{MOTIF_PRIOR} is a PWM scan of the enhancer motifs that never looks at the model: it shows how "
        "plausible a map can be without being faithful."
    )
    report.add_image(folder / "tradeoff.png",
                     caption=f"Deletion AUC against plausibility AUROC per method, for the model trained at rate "
                             f"{low:g} (left) and at rate {high:g} (right).")
    report.add_table(metrics[metrics["rate"] == high].drop(columns=["rate"]), float_format="{:.3f}",
                     caption=f"Methods on the model trained at rate {high:g} (all rates: shortcut.tsv).")
    if high > low:
        report.add_table(metrics[metrics["rate"] == low].drop(columns=["rate"]), float_format="{:.3f}",
                         caption=f"Methods on the model trained at rate {low:g}.")

    report.add_heading("One contaminated sequence under every method")
    report.add_paragraph(
        "The same test positive, with the adapter planted, explained by the clean and by the most contaminated "
        "model. Letters are the projected scores (what each observed base contributes); shaded boxes mark the "
        "planted motifs and the adapter. Each panel has its own scale."
    )
    for rate in sorted({low, high}):
        report.add_image(folder / "logos" / f"{rate_label(rate)}.png",
                         caption=f"Model trained at contamination rate {rate:g}.")

    report.add_heading("Settings")
    report.add_key_values({**config.to_dict(), "adapter sequence": manifest["adapter"]["sequence"],
                           "device": manifest["device"], "torch threads": manifest["torch_threads"],
                           "seqsal version": manifest["seqsal_version"], "torch version": manifest["torch_version"],
                           "run time (s)": manifest["seconds"]})
    return report.write(folder / "report.html")


__all__ = [
    "DEFAULT_METHODS", "ShortcutConfig", "ShortcutData", "ShortcutResult", "adapter_insert", "adapter_mask",
    "adapter_motif_matches", "adapter_room", "adapter_share", "explain", "motif_prior", "parse_method",
    "place_adapters", "plant_adapters", "prepare_data", "reliance", "run_shortcut", "score_method", "story_checks",
]
