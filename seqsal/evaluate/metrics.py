"""Can an explanation be trusted?  Faithfulness, stability and plausibility metrics.

An attribution map makes two different claims, and each needs its own test.

*Faithfulness*: the map reflects what the model actually uses.

``deletion_insertion``
    Petsiuk et al. (BMVC 2018), adapted to DNA.  Positions are ranked by their
    per-position score; *deletion* replaces the top-``k`` positions of a
    sequence, *insertion* starts from the replacement and restores them.  A
    faithful map makes the target logit fall fast under deletion and rise
    fast under insertion.  The same curves for a random ranking are the
    reference, because the absolute numbers depend on the model and on the
    replacement.
``randomization_check``
    Adebayo et al. (NeurIPS 2018).  Re-initialising the model's layers from
    the output down must change the explanation; a map that survives a
    randomized model describes the input (e.g. edge detection) rather than the
    model.
``max_sensitivity``
    Yeh et al. (NeurIPS 2019).  Substituting a few unimportant bases should not
    rewrite the explanation; a large relative change means the map is unstable.

*Plausibility*: the map agrees with known biology.  ``plausibility`` scores
per-position attributions against a ground-truth mask (planted motif positions
in simulated data, or PWM-scan hits of named motifs, see ``motif_masks``) as a
per-sequence AUROC and AUPRC.

The two can disagree: a model that learned a sequencing-adapter shortcut can be
explained faithfully and implausibly at once, which is what the shortcut
experiments demonstrate.

Conventions follow the package: one-hot ``X`` is ``(N, 4, L)``, attributions
``(N, 4, L)``, per-position scores ``(N, L)`` are projected attributions summed
over the four rows (:func:`seqsal.attribution.per_position`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from os import PathLike
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from scipy.special import expit
from scipy.stats import rankdata
from sklearn.metrics import average_precision_score, roc_auc_score
from torch import nn

from seqsal.attribution import attribute, per_position
from seqsal.attribution.base import (
    as_onehot_array,
    batch_slices,
    frozen_model,
    resolve_target,
    target_scalar,
)
from seqsal.encoding import decode, dinucleotide_shuffles, one_hot
from seqsal.errors import check
from seqsal.models import as_input_tensor, resolve_device
from seqsal.motifs import MotifDatabase, hits_to_mask, scan
from seqsal.plot import plot_curves
from seqsal.simulate import MASK_MIN_INFORMATION

REPLACEMENTS = ("shuffle", "random", "uniform")

CURVES = ("deletion", "insertion", "random_deletion", "random_insertion")
"""The four curves of :class:`PerturbationCurves`, in the order they are stored and drawn."""

_OUTPUTS = ("logit", "probability")


# --------------------------------------------------------------------------- #
# Deletion and insertion curves
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class PerturbationCurves:
    """Deletion and insertion curves of a target output, per sequence.

    Every curve array is ``(N, K)``: one row per sequence, one column per
    entry of ``k``.  Column ``j`` of a deletion curve is the model's output
    after the ``k[j]`` top-ranked positions were replaced; of an insertion
    curve, after they were restored into the fully replaced sequence.  So all
    four curves start or end at the same two points: the original sequence
    (deletion at ``k = 0``, insertion at ``k = L``) and the full replacement
    (deletion at ``k = L``, insertion at ``k = 0``).

    Attributes
    ----------
    k
        ``(K,)`` numbers of perturbed positions, increasing, always including
        ``0`` and ``length``.
    length
        Sequence length ``L``.
    replacement
        What replaced the deleted positions (see :func:`deletion_insertion`).
    deletion_logit, deletion_probability
        Ranking by attribution, top positions replaced.
    insertion_logit, insertion_probability
        Ranking by attribution, top positions restored.
    random_deletion_logit, random_deletion_probability, random_insertion_logit, random_insertion_probability
        The same with one uniformly random ranking per sequence.
    """

    k: np.ndarray
    length: int
    replacement: str
    deletion_logit: np.ndarray
    deletion_probability: np.ndarray
    insertion_logit: np.ndarray
    insertion_probability: np.ndarray
    random_deletion_logit: np.ndarray
    random_deletion_probability: np.ndarray
    random_insertion_logit: np.ndarray
    random_insertion_probability: np.ndarray

    @property
    def fraction(self) -> np.ndarray:
        """``k / L``: the x axis of the curves and of the AUC, in ``[0, 1]``."""
        return self.k / self.length

    def curve(self, name: str, output: str = "logit") -> np.ndarray:
        """The ``(N, K)`` curve ``name`` (one of :data:`CURVES`) of ``output`` (``"logit"`` or ``"probability"``)."""
        check(name in CURVES, f"unknown curve {name!r}; choose one of {list(CURVES)}")
        check(output in _OUTPUTS, f"unknown output {output!r}; choose one of {list(_OUTPUTS)}")
        return getattr(self, f"{name}_{output}")

    def mean_curves(self) -> pd.DataFrame:
        """Curves averaged over sequences: columns ``k``, ``fraction`` and ``<curve>_<output>`` for all eight."""
        table = pd.DataFrame({"k": self.k, "fraction": self.fraction})
        for output in _OUTPUTS:
            for name in CURVES:
                table[f"{name}_{output}"] = self.curve(name, output).mean(axis=0)
        return table

    def auc(self) -> pd.DataFrame:
        """Areas under the mean curves, raw and normalised; one row per curve and output.

        ``auc`` is the trapezoidal area under the curve averaged over
        sequences, ``f̄(t)``, over ``t = k / L`` in ``[0, 1]``: the mean output
        while the perturbation sweeps from none to all positions, in the
        output's units.

        ``normalised_auc`` rescales the mean curve so that the original
        sequence scores 1 and the full replacement 0, i.e.
        ``(auc - f̄_R) / (f̄_X - f̄_R)`` with ``f̄_X`` the mean output on the
        original sequences and ``f̄_R`` on their full replacements.  It removes
        the model's scale and the replacement's offset so that methods, models
        and replacements are comparable: a perturbation whose effect grows
        linearly with ``k`` (what a random ranking gives on average for an
        additive model) scores 0.5; a faithful ranking scores well below 0.5
        for deletion and above 0.5 for insertion.  It is ``nan`` when
        ``f̄_X == f̄_R`` and unstable when they are close (an untrained model,
        or sequences whose output the replacement hardly moves, e.g. negatives
        under a shuffle): there is little to attribute, so compare the raw
        ``auc`` with the random reference instead.

        Returns
        -------
        pandas.DataFrame
            Columns ``curve``, ``output``, ``auc``, ``normalised_auc``.
        """
        rows = []
        for output in _OUTPUTS:
            deletion = self.curve("deletion", output)
            original, replaced = deletion[:, 0].mean(), deletion[:, -1].mean()
            for name in CURVES:
                area = float(np.trapezoid(self.curve(name, output).mean(axis=0), self.fraction))
                normalised = (area - replaced) / (original - replaced) if original != replaced else np.nan
                rows.append({"curve": name, "output": output, "auc": area, "normalised_auc": float(normalised)})
        return pd.DataFrame(rows)


def deletion_insertion(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    attributions: np.ndarray,
    *,
    target: int | str = 0,
    steps: int = 20,
    fractions: Sequence[float] | None = None,
    replacement: str = "shuffle",
    random_state: int | None = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
) -> PerturbationCurves:
    """Deletion and insertion curves for a ranking of positions by attribution.

    Positions are ranked by per-position score, **descending**: the bases
    with the strongest positive evidence for the target come first, so a
    faithful map makes the target fall fastest under deletion.  Negative
    scores rank last (removing evidence *against* the target raises it).
    Ties keep sequence order (a stable sort), so the ranking is deterministic.

    The deleted positions are replaced with something a DNA model has seen,
    never with all-zero columns: zeros are ``N`` bases, off the data
    distribution, and a curve on them measures the model's reaction to
    unfamiliar input as much as the importance of what was removed.

    Inputs for many ``(sequence, k, curve)`` triples are built on the device
    and share forward passes of ``batch_size`` rows, so the whole sweep costs
    ``4 · N · K / batch_size`` passes.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``; its mode, device and
        ``requires_grad`` flags are restored before this returns.
    X
        One-hot sequences ``(N, 4, L)``.
    attributions
        ``(N, 4, L)`` attributions, hypothetical or projected (they are
        projected onto ``X`` and summed over the rows either way), or ``(N, L)``
        per-position scores used as given.
    target
        The output, by index or by the model's output name.
    steps
        Number of equal steps in ``k / L`` from 0 to 1 (``K = steps + 1``
        points, fewer if rounding to whole positions merges some); use
        ``steps >= L`` for every ``k``.
    fractions
        Explicit fractions of ``L`` in ``[0, 1]`` instead of ``steps``; they are
        rounded to whole positions, and ``0`` and ``1`` are always added so the
        AUC spans ``[0, 1]``.
    replacement
        ``"shuffle"`` (default): a dinucleotide-shuffled copy of the sequence,
        which keeps its base and dinucleotide composition, so the curve
        measures the loss of arrangement, not of composition.  ``"random"``:
        independent uniformly random bases.  ``"uniform"``: 0.25 in every row,
        the expectation over random bases (deterministic, but not a sequence).
    random_state
        Seed for the replacement and for the random reference ranking.
    batch_size
        Perturbed sequences per forward pass; results do not depend on it.
    device
        Where to compute; CUDA when available by default.

    Returns
    -------
    PerturbationCurves
        Per-sequence curves of the target logit and its sigmoid probability;
        ``.auc()`` gives the areas, ``.mean_curves()`` the averages.
    """
    check(replacement in REPLACEMENTS, f"unknown replacement {replacement!r}; choose one of {list(REPLACEMENTS)}")
    onehot = as_input_tensor(X, model, "X")
    n, _, length = onehot.shape
    scores = _per_position_scores(attributions, onehot.numpy())
    k = _k_grid(length, steps, fractions)
    rng = np.random.default_rng(random_state)
    replaced = torch.from_numpy(_replacement(onehot.numpy(), replacement, rng))
    ranks = np.stack([_ranks(scores), np.argsort(rng.random((n, length)), axis=1)])
    index = resolve_target(model, target)
    where = resolve_device(device)

    logits = np.empty(len(CURVES) * n * len(k), dtype=np.float64)
    with frozen_model(model, where), torch.inference_mode():
        originals, replacements = onehot.to(where), replaced.to(where)
        rank_table = torch.from_numpy(ranks).to(where)
        k_table = torch.from_numpy(k).to(where)
        for part in batch_slices(logits.size, batch_size):
            job = torch.arange(part.start, part.stop, device=where)
            curve, sequence, column = job // (n * len(k)), (job // len(k)) % n, job % len(k)
            chosen = rank_table[curve // 2, sequence] < k_table[column, None]
            # Deletion takes the replacement at chosen positions; insertion everywhere else.
            use_replacement = (chosen != (curve % 2 == 1)[:, None])[:, None, :]
            inputs = torch.where(use_replacement, replacements[sequence], originals[sequence])
            logits[part] = target_scalar(model, inputs, index, "logit").double().cpu().numpy()

    by_curve = logits.reshape(len(CURVES), n, len(k))
    probabilities = expit(by_curve)
    fields = {}
    for position, name in enumerate(CURVES):
        fields[f"{name}_logit"] = by_curve[position]
        fields[f"{name}_probability"] = probabilities[position]
    return PerturbationCurves(k=k, length=length, replacement=replacement, **fields)


def _per_position_scores(attributions: np.ndarray | torch.Tensor, onehot: np.ndarray) -> np.ndarray:
    """``(N, L)`` scores from ``(N, 4, L)`` attributions (projected onto ``onehot``) or as given."""
    if isinstance(attributions, torch.Tensor):
        attributions = attributions.detach().cpu().numpy()
    values = np.asarray(attributions, dtype=np.float64)
    n, _, length = onehot.shape
    check(
        values.shape in ((n, 4, length), (n, length)),
        f"attributions have shape {values.shape} but X has {onehot.shape}; pass (N, 4, L) attributions "
        "or (N, L) per-position scores of the same sequences",
    )
    check(np.isfinite(values).all(), "attributions contain NaN or infinite values; check the attribution run")
    return per_position(values * onehot) if values.ndim == 3 else values


def _k_grid(length: int, steps: int, fractions: Sequence[float] | None) -> np.ndarray:
    """Increasing whole numbers of positions, always including 0 and ``length``."""
    if fractions is None:
        check(
            isinstance(steps, (int, np.integer)) and not isinstance(steps, bool) and steps >= 1,
            f"steps must be a positive integer, got {steps!r}",
        )
        fractions = np.linspace(0.0, 1.0, int(steps) + 1)
    values = np.asarray(fractions, dtype=np.float64)
    check(
        values.ndim == 1 and values.size > 0 and np.all((values >= 0) & (values <= 1)),
        f"fractions must be a non-empty list of numbers in [0, 1], got {list(np.ravel(values))}",
    )
    return np.unique(np.concatenate([[0, length], np.rint(values * length)])).astype(np.int64)


def _ranks(scores: np.ndarray) -> np.ndarray:
    """Rank of every position (0 = highest score), ties broken by position."""
    order = np.argsort(-scores, axis=1, kind="stable")
    ranks = np.empty_like(order)
    np.put_along_axis(ranks, order, np.arange(scores.shape[1])[None, :], axis=1)
    return ranks


def _replacement(onehot: np.ndarray, kind: str, rng: np.random.Generator) -> np.ndarray:
    """The fully replaced version of every sequence (see ``replacement`` in :func:`deletion_insertion`)."""
    n, _, length = onehot.shape
    if kind == "shuffle":
        shuffled = [copies[0] for copies in dinucleotide_shuffles(decode(onehot), 1, rng)]
        return one_hot(shuffled)
    if kind == "random":
        bases = rng.integers(0, 4, size=(n, length))
        return np.ascontiguousarray(np.moveaxis(np.eye(4, dtype=np.float32)[bases], -1, 1))
    return np.full(onehot.shape, 0.25, dtype=np.float32)


# --------------------------------------------------------------------------- #
# Plausibility
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class PlausibilityResult:
    """Per-sequence agreement of per-position attributions with a ground-truth mask.

    Attributes
    ----------
    auroc
        ``(N,)`` area under the ROC curve of each sequence, ``nan`` where skipped.
    auprc
        ``(N,)`` average precision of each sequence, ``nan`` where skipped.
    skipped
        ``(N,)`` True where the mask is all-true or all-false, so that neither
        curve is defined (e.g. negatives of a simulated set, which carry no
        enhancer motif).
    """

    auroc: np.ndarray
    auprc: np.ndarray
    skipped: np.ndarray

    @property
    def n_scored(self) -> int:
        """Sequences that entered the mean and sd."""
        return int((~self.skipped).sum())

    @property
    def n_skipped(self) -> int:
        """Sequences left out because their mask has only one class."""
        return int(self.skipped.sum())

    def summary(self) -> pd.DataFrame:
        """Mean and sample sd (``ddof=1``, ``nan`` below two sequences) of each metric over scored sequences.

        Returns
        -------
        pandas.DataFrame
            Index ``auroc``, ``auprc``; columns ``mean``, ``sd``, ``n_scored``, ``n_skipped``.
        """
        rows = {}
        for name, values in (("auroc", self.auroc), ("auprc", self.auprc)):
            kept = values[~self.skipped]
            rows[name] = {
                "mean": float(kept.mean()) if kept.size else float("nan"),
                "sd": float(kept.std(ddof=1)) if kept.size > 1 else float("nan"),
                "n_scored": self.n_scored,
                "n_skipped": self.n_skipped,
            }
        return pd.DataFrame.from_dict(rows, orient="index")


def plausibility(
    scores: np.ndarray,
    masks: np.ndarray,
    *,
    absolute: bool = False,
) -> PlausibilityResult:
    """AUROC and AUPRC of per-position attributions against ground-truth positions, per sequence.

    Each sequence is its own ranking problem: which of its positions does the
    map put first?  Pooling positions across sequences would instead reward a
    map whose *scale* tracks the prediction, which is a different question.

    Parameters
    ----------
    scores
        ``(N, L)`` per-position scores (projected attributions summed over the
        four rows, :func:`seqsal.attribution.per_position`).
    masks
        ``(N, L)`` booleans, True at ground-truth positions: planted motifs in
        simulated data (``SyntheticSet.masks``) or motif-scan hits
        (:func:`motif_masks`).
    absolute
        Rank positions by ``|score|``.  The default ranks signed scores, so
        positions that *lower* the target count as unimportant; use
        ``absolute=True`` when the ground truth includes repressor sites.

    Returns
    -------
    PlausibilityResult
        AUROC from :func:`sklearn.metrics.roc_auc_score` (0.5 is chance) and
        AUPRC as :func:`sklearn.metrics.average_precision_score` (the step-wise
        estimator, not the optimistic trapezoid; chance is the fraction of
        masked positions).  Sequences whose mask has one class are skipped and
        counted.
    """
    values = np.asarray(scores.detach().cpu().numpy() if isinstance(scores, torch.Tensor) else scores, dtype=float)
    truth = np.asarray(masks)
    check(
        values.ndim == 2,
        f"scores must be (N, L) per-position scores, got shape {values.shape}; "
        "sum projected attributions over the 4 rows first (seqsal.attribution.per_position)",
    )
    check(truth.shape == values.shape, f"masks have shape {truth.shape} but scores have {values.shape}")
    check(
        truth.dtype == bool or np.isin(truth, (0, 1)).all(),
        "masks must be boolean (True at ground-truth positions); got values other than 0 and 1",
    )
    check(np.isfinite(values).all(), "scores contain NaN or infinite values; check the attribution run")
    truth = truth.astype(bool)
    ranked = np.abs(values) if absolute else values
    n = values.shape[0]
    auroc = np.full(n, np.nan)
    auprc = np.full(n, np.nan)
    skipped = truth.all(axis=1) | ~truth.any(axis=1)
    for row in np.flatnonzero(~skipped):
        auroc[row] = roc_auc_score(truth[row], ranked[row])
        auprc[row] = average_precision_score(truth[row], ranked[row])
    return PlausibilityResult(auroc=auroc, auprc=auprc, skipped=skipped)


def motif_masks(
    X: np.ndarray | torch.Tensor,
    motif_names: str | Iterable[str],
    motif_db: MotifDatabase | str | PathLike[str] | None = None,
    *,
    relative_threshold: float = 0.8,
    min_information: float = MASK_MIN_INFORMATION,
) -> np.ndarray:
    """Ground-truth masks for real sequences: where named known motifs occur.

    Real enhancers carry no answer key; the next best thing is where a PWM
    scan finds the motifs the user expects the model to use (both strands).

    Parameters
    ----------
    X
        One-hot sequences ``(N, 4, L)``.
    motif_names
        TF names or matrix ids, as a list or one comma-separated string
        (``"CTCF,GATA1"``); unknown names raise with suggestions.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or ``None``
        for the bundled JASPAR CORE vertebrates.
    relative_threshold
        A window is a hit when it scores at least this fraction of the motif's
        best possible log-odds score (see :func:`seqsal.motifs.scan`).
    min_information
        Only motif columns carrying more than this many bits are marked, the
        same rule as simulated masks (:data:`seqsal.simulate.MASK_MIN_INFORMATION`):
        near-uniform flanks have no sequence preference for a model to learn.

    Returns
    -------
    numpy.ndarray
        ``(N, L)`` bool.
    """
    onehot = as_onehot_array(X)
    if motif_db is None:
        database = MotifDatabase.default()
    elif isinstance(motif_db, MotifDatabase):
        database = motif_db
    else:
        database = MotifDatabase.from_file(motif_db)
    motifs = database.get_many(motif_names)
    hits = scan(onehot, motifs, relative_threshold=relative_threshold)
    return hits_to_mask(hits, onehot.shape[0], onehot.shape[2], motifs=motifs, min_information=min_information)


# --------------------------------------------------------------------------- #
# Model-randomization sanity check
# --------------------------------------------------------------------------- #


def randomization_check(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    *,
    target: int | str = 0,
    output: str = "logit",
    correct: bool = False,
    layers: Sequence[str] | None = None,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    method_options: dict | None = None,
) -> pd.DataFrame:
    """Cascading model randomization (Adebayo et al. 2018): does the explanation depend on the weights?

    Layers are re-initialised one after another, from the output down, each
    step keeping the earlier re-initialisations (a cascade).  After every step
    the per-position scores are recomputed and compared with the original
    model's by Spearman rank correlation, per sequence.  A faithful method's
    correlation should drop towards 0 as soon as the top layers are
    randomized; one that stays high explains the input, not the model.

    Re-initialisation uses each layer's own ``reset_parameters`` (PyTorch's
    default initialiser; batch norm also forgets its running statistics), on
    the CPU and under a seed derived from ``random_state``, so results do not
    depend on the device and the global torch RNG is left untouched.  The work
    is done on a deep copy: the caller's model is never modified.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``.
    X
        One-hot sequences ``(N, 4, L)``.
    method, target, output, correct
        As for :func:`seqsal.attribution.attribute`.
    layers
        Names from ``model.named_modules()`` in the order to randomize them.
        By default every module that holds parameters itself (convolutions,
        linear and batch-norm layers), in reverse registration order, which
        for :class:`~seqsal.models.EnhancerCNN` runs from the output layer down
        to the first convolution.
    random_state
        Seed of the re-initialisations.
    batch_size, device
        As for :func:`seqsal.attribution.attribute`.
    method_options
        Method-specific options passed to :func:`seqsal.attribution.attribute`
        (e.g. IG ``steps``), so the check explains the way the run did.

    Returns
    -------
    pandas.DataFrame
        One row per step: ``step`` (0 = the intact model, whose correlation is
        1 by construction), ``layer`` (the layer re-initialised at this step,
        ``"none"`` at step 0), ``spearman_mean``, ``spearman_sd`` (signed
        scores), ``spearman_abs_mean``, ``spearman_abs_sd`` (absolute scores,
        as Adebayo et al. also report, because a sign flip alone makes the
        signed correlation negative) and ``n_sequences`` (sequences whose
        correlation is defined: a constant score row has none).  The sd is the
        sample sd (``ddof=1``).
    """
    onehot = as_onehot_array(X)
    randomized = copy.deepcopy(model).cpu()
    names = _cascade(randomized, layers)
    modules = dict(randomized.named_modules())
    seeds = np.random.SeedSequence(random_state).generate_state(len(names), dtype=np.uint64)

    def explain() -> np.ndarray:
        projected = attribute(randomized, onehot, method, target, output=output, correct=correct,
                              batch_size=batch_size, device=device, **(method_options or {}))
        return per_position(projected).astype(np.float64)

    original = explain()
    rows = [_correlation_row(0, "none", original, original)]
    for step, (name, seed) in enumerate(zip(names, seeds), start=1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            modules[name].reset_parameters()
        rows.append(_correlation_row(step, name, original, explain()))
    return pd.DataFrame(rows)


def _cascade(model: nn.Module, layers: Sequence[str] | None) -> list[str]:
    """The layer names to randomize, in order, each checked to exist and to be re-initialisable."""
    modules = dict(model.named_modules())
    if layers is None:
        names = [name for name, module in modules.items() if next(module.parameters(recurse=False), None) is not None]
        names.reverse()
    else:
        names = [layers] if isinstance(layers, str) else list(layers)
    check(names, "there are no layers to randomize; the model has no parameters or layers= is empty")
    for name in names:
        check(
            name in modules,
            f"the model has no layer named {name!r}; pass names from model.named_modules(), e.g. "
            f"{', '.join(n for n in list(modules)[1:4])}",
        )
        check(
            callable(getattr(modules[name], "reset_parameters", None)),
            f"layer {name!r} ({type(modules[name]).__name__}) has no reset_parameters method, so it cannot be "
            "re-initialised; leave it out with layers=",
        )
    return names


def _correlation_row(step: int, layer: str, original: np.ndarray, randomized: np.ndarray) -> dict[str, object]:
    signed = _spearman_rows(original, randomized)
    absolute = _spearman_rows(np.abs(original), np.abs(randomized))
    return {
        "step": step,
        "layer": layer,
        "spearman_mean": _nanmean(signed),
        "spearman_sd": _nansd(signed),
        "spearman_abs_mean": _nanmean(absolute),
        "spearman_abs_sd": _nansd(absolute),
        "n_sequences": int(np.isfinite(signed).sum()),
    }


def _spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``a`` with the same row of ``b`` (average ranks for ties)."""
    ranks_a = rankdata(a, axis=1)
    ranks_b = rankdata(b, axis=1)
    ranks_a -= ranks_a.mean(axis=1, keepdims=True)
    ranks_b -= ranks_b.mean(axis=1, keepdims=True)
    # sqrt of the product (not a product of norms) makes identical rows give exactly 1.
    denominator = np.sqrt((ranks_a**2).sum(axis=1) * (ranks_b**2).sum(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ranks_a * ranks_b).sum(axis=1) / denominator


def _nanmean(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.mean()) if kept.size else float("nan")


def _nansd(values: np.ndarray) -> float:
    kept = values[np.isfinite(values)]
    return float(kept.std(ddof=1)) if kept.size > 1 else float("nan")


# --------------------------------------------------------------------------- #
# Stability
# --------------------------------------------------------------------------- #


def max_sensitivity(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    method: str = "grad_x_input",
    *,
    target: int | str = 0,
    output: str = "logit",
    correct: bool = False,
    n_samples: int = 10,
    n_substitutions: int = 1,
    exclude_top: int = 10,
    random_state: int = 0,
    batch_size: int = 128,
    device: str | torch.device | None = None,
    method_options: dict | None = None,
) -> np.ndarray:
    """Relative max-sensitivity (Yeh et al. 2019) under random base substitutions.

    For each sequence ``x`` with projected attributions ``A(x)``::

        sensitivity(x) = max over x' of ||A(x') - A(x)||_F / ||A(x)||_F

    where each of the ``n_samples`` perturbed copies ``x'`` carries
    ``n_substitutions`` single-base substitutions at distinct positions,
    each base changed to one of the three others, uniformly.  Substitutions
    avoid the ``exclude_top`` positions with the largest ``|per-position
    score|`` (strong negative evidence is as important as strong positive) and
    ``N`` positions: changing an important base legitimately changes the
    explanation, while changing an unimportant one should not.  Dividing by
    ``||A(x)||`` makes the number comparable across methods and models with
    different attribution scales (Captum's ``sensitivity_max`` leaves it
    unnormalised).  Projected attributions move with the base at a substituted
    position, so even a constant gradient gives a non-zero sensitivity there;
    this is the floor any method pays.

    Parameters
    ----------
    model
        Maps ``(N, 4, L)`` to logits ``(N, T)``.
    X
        One-hot sequences ``(N, 4, L)``.
    method, target, output, correct
        As for :func:`seqsal.attribution.attribute`.
    n_samples
        Perturbed copies per sequence; the maximum over more samples is larger.
    n_substitutions
        Bases changed in each copy.
    exclude_top
        How many top positions are never substituted.
    random_state
        Seed; each sequence draws from its own stream, so results do not
        depend on ``batch_size``.
    batch_size, device
        As for :func:`seqsal.attribution.attribute`; ``batch_size`` also bounds
        how many sequences' perturbed copies are held at once.
    method_options
        Method-specific options passed to :func:`seqsal.attribution.attribute`.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` float64; ``nan`` where ``A(x)`` is all zero (no relative
        change is defined).
    """
    limits = (("n_samples", n_samples, 1), ("n_substitutions", n_substitutions, 1), ("exclude_top", exclude_top, 0))
    for name, value, low in limits:
        check(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= low,
            f"{name} must be an integer of at least {low}, got {value!r}",
        )
    onehot = as_onehot_array(X)

    def explain(inputs: np.ndarray) -> np.ndarray:
        return attribute(model, inputs, method, target, output=output, correct=correct, batch_size=batch_size,
                         device=device, **(method_options or {})).astype(np.float64)

    reference = explain(onehot)
    scores = per_position(reference)
    streams = np.random.SeedSequence(random_state).spawn(len(onehot))
    sensitivity = np.empty(len(onehot))
    for part in batch_slices(len(onehot), batch_size):
        perturbed = np.concatenate(
            [
                _substituted(onehot[i], scores[i], n_samples, n_substitutions, exclude_top, streams[i], i)
                for i in range(part.start, part.stop)
            ]
        )
        changed = explain(perturbed).reshape(part.stop - part.start, n_samples, *onehot.shape[1:])
        distance = np.sqrt(((changed - reference[part, None]) ** 2).sum(axis=(2, 3)))
        norm = np.sqrt((reference[part] ** 2).sum(axis=(1, 2)))
        with np.errstate(invalid="ignore", divide="ignore"):
            sensitivity[part] = np.where(norm > 0, distance.max(axis=1) / norm, np.nan)
    return sensitivity


def _substituted(
    sequence: np.ndarray,
    scores: np.ndarray,
    n_samples: int,
    n_substitutions: int,
    exclude_top: int,
    seed: np.random.SeedSequence,
    index: int,
) -> np.ndarray:
    """``n_samples`` copies of one ``(4, L)`` sequence, each with substitutions at distinct allowed positions."""
    rng = np.random.default_rng(seed)
    allowed = sequence.sum(axis=0) == 1
    allowed[np.argsort(-np.abs(scores), kind="stable")[:exclude_top]] = False
    candidates = np.flatnonzero(allowed)
    check(
        candidates.size >= n_substitutions,
        f"sequence {index + 1} has only {candidates.size} substitutable positions outside the top {exclude_top} "
        f"and N bases, fewer than n_substitutions={n_substitutions}; lower exclude_top or n_substitutions",
    )
    positions = candidates[np.argsort(rng.random((n_samples, candidates.size)), axis=1)[:, :n_substitutions]]
    bases = (sequence.argmax(axis=0)[positions] + rng.integers(1, 4, size=positions.shape)) % 4
    copies = np.repeat(sequence[None], n_samples, axis=0)
    samples = np.arange(n_samples)[:, None]
    copies[samples, :, positions] = 0
    copies[samples, bases, positions] = 1
    return copies


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


def plot_perturbation_curves(curves: PerturbationCurves, *, output: str = "logit", ax: Axes | None = None) -> Axes:
    """Mean deletion and insertion curves with their random-ranking references, normalised AUCs in the legend.

    Reference curves are dashed in the colour of their counterpart, so the
    gap between a solid curve and its dashed twin is what the attribution
    adds over a random ranking.

    Parameters
    ----------
    curves
        From :func:`deletion_insertion`.
    output
        ``"logit"`` or ``"probability"``.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    check(output in _OUTPUTS, f"unknown output {output!r}; choose one of {list(_OUTPUTS)}")
    aucs = curves.auc().set_index(["curve", "output"])["normalised_auc"]
    lines = {
        f"{name.replace('_', ' ')} (nAUC {aucs[name, output]:.2f})": curves.curve(name, output).mean(axis=0)
        for name in CURVES
    }
    ax = plot_curves(
        curves.fraction,
        lines,
        ax=ax,
        xlabel="fraction of positions perturbed (k / L)",
        ylabel=f"target {output}",
        title=f"deletion / insertion ({curves.replacement} replacement)",
    )
    drawn = ax.get_lines()[-len(CURVES):]
    for line, reference in zip(drawn[2:], drawn[:2]):
        line.set_linestyle("--")
        line.set_color(reference.get_color())
    ax.legend(frameon=False, fontsize=8)
    return ax


def plot_randomization(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Spearman correlation with the original explanation along the randomization cascade, ± 1 sd.

    Parameters
    ----------
    table
        From :func:`randomization_check`.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    required = ["step", "layer", "spearman_mean", "spearman_sd", "spearman_abs_mean", "spearman_abs_sd"]
    missing = [column for column in required if column not in table.columns]
    check(not missing, f"the table lacks columns {missing}; pass the output of randomization_check")
    steps = table["step"].to_numpy(dtype=float)
    series = {"signed scores": "spearman", "absolute scores": "spearman_abs"}
    ax = plot_curves(
        steps,
        {label: table[f"{prefix}_mean"].to_numpy(dtype=float) for label, prefix in series.items()},
        ax=ax,
        xlabel="layers re-initialised (cumulative, from the output down)",
        ylabel="Spearman vs original",
        title="model-randomization sanity check",
    )
    for line, prefix in zip(ax.get_lines()[-len(series):], series.values()):
        mean = table[f"{prefix}_mean"].to_numpy(dtype=float)
        sd = np.nan_to_num(table[f"{prefix}_sd"].to_numpy(dtype=float))
        ax.fill_between(steps, mean - sd, mean + sd, color=line.get_color(), alpha=0.2, linewidth=0)
    ax.axhline(0.0, color="black", linewidth=0.6)
    ax.set_ylim(-1.05, 1.05)
    ax.set_xticks(steps)
    ax.set_xticklabels(table["layer"].astype(str), rotation=45, ha="right", fontsize=7)
    return ax
