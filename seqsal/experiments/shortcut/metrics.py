"""What a shortcut run measures: the adapter's own content, the models' reliance on it, and the maps.

Reliance on the shortcut (:func:`reliance`) is measured on test sets that are
the same for every rate:

- *clean*: the test split as simulated;
- *contaminated*: every test positive with room carries the adapter,
  negatives stay clean.  The worst case at deployment, and independent of
  the rate, so only the model changes along the rate axis;
- *counterfactual*: the adapter inserted into test negatives, and removed
  again (its original bases put back) from the contaminated positives.
  ``flip_neg_to_pos`` is the share of negatives predicted negative (logit
  < 0) that turn positive with the adapter; ``flip_pos_to_neg`` the share of
  contaminated positives predicted positive that turn negative without it;
  ``flip_neg_to_pos_control`` inserts a dinucleotide shuffle of the adapter
  instead, so it shows how many flips changing that many bases causes at
  all.  The adapter is not neutral DNA to an enhancer model
  (:func:`adapter_motif_matches`), so even a clean model flips a few.

Explanations are scored on contaminated test positives twice over.  On
average (:func:`score_method`): the share of attribution on the adapter
(:func:`seqsal.attribution.summary.mask_share`), plausibility as a
per-sequence AUROC against the motif mask, and faithfulness as normalised
deletion and insertion AUCs.  And sequence by sequence
(:func:`adapter_effects`, :func:`effect_correlation`): does a map put more
of its attribution on the adapter in the sequences whose logit the adapter
moves most?  An average share can look like chance while the model leans on
the adapter in a third of the sequences; the per-sequence ranking asks
whether the map at least points at the right ones.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr
from torch import nn

from seqsal.attribution import per_position
from seqsal.attribution.summary import mask_share
from seqsal.encoding import dinucleotide_shuffle, dinucleotide_shuffles, one_hot
from seqsal.errors import check
from seqsal.evaluate.metrics import deletion_insertion, plausibility
from seqsal.experiments.shortcut.maps import best_log_odds
from seqsal.experiments.shortcut.plant import ShortcutData, plant_adapters
from seqsal.models import predict
from seqsal.motifs import Motif, scan
from seqsal.train import evaluate_predictions

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
        best = best_log_odds(motif)
        rows.append({
            "motif": motif.name, "window": insert[top.start : top.end], "strand": top.strand,
            "relative_score": scores[0] / best, "shuffled_median": float(np.median(scores[1:])) / best,
            "shuffles_at_least": float((scores[1:] >= scores[0]).mean()),
        })
    columns = ["motif", "window", "strand", "relative_score", "shuffled_median", "shuffles_at_least"]
    return pd.DataFrame(rows, columns=columns).sort_values("shuffles_at_least", kind="stable").reset_index(drop=True)


def reliance(
    model: nn.Module,
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
    model: nn.Module,
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
        "adapter_share": float(np.nanmean(mask_share(scores, adapter_positions))),
        "adapter_share_chance": float(adapter_positions.mean()),
        "plausibility_auroc": float(agreement["auroc"]),
        "plausibility_auprc": float(agreement["auprc"]),
        "deletion_auc": float(logit["deletion"]),
        "insertion_auc": float(logit["insertion"]),
        "random_deletion_auc": float(logit["random_deletion"]),
    }


def adapter_effects(
    model: nn.Module,
    X_with: np.ndarray,
    X_without: np.ndarray,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> pd.DataFrame:
    """Per sequence, what removing the adapter does to the model's output: the counterfactual truth.

    ``X_without`` is ``X_with`` with the adapter's positions given back their
    original bases, so the difference is the adapter and nothing else.  This
    is what the model *does* with the adapter in each sequence; a faithful map
    should rank the sequences the same way.

    Parameters
    ----------
    model
        A single-output classifier (logit in column 0).
    X_with, X_without
        ``(N, 4, L)`` the same sequences with and without the adapter.
    batch_size, device
        As for :func:`seqsal.models.predict`.

    Returns
    -------
    pandas.DataFrame
        One row per sequence: ``logit_with``, ``logit_without``, ``effect``
        (``logit_with − logit_without``: how much the adapter raises the
        logit) and ``flips`` (the call, logit ≥ 0, differs with and without).
    """
    check(X_with.shape == X_without.shape,
          f"X_with has shape {X_with.shape} but X_without has {X_without.shape}; pass the same sequences")
    with_adapter = predict(model, X_with, batch_size=batch_size, device=device)[:, 0].astype(np.float64)
    without = predict(model, X_without, batch_size=batch_size, device=device)[:, 0].astype(np.float64)
    return pd.DataFrame({"logit_with": with_adapter, "logit_without": without, "effect": with_adapter - without,
                         "flips": (with_adapter >= 0) != (without >= 0)})


def effect_correlation(effect: np.ndarray, share: np.ndarray) -> tuple[float, float]:
    """Spearman correlation between the adapter's effect size ``|effect|`` and a map's share on it.

    A rank correlation because the two live on different scales (logit units
    against a share in [0, 1]) and only the order matters: a faithful map puts
    more of its attribution on the adapter in the sequences whose logit it
    moves more.  The magnitude of the effect is used because the share counts
    absolute attribution: an adapter that pushes a call down is relied on as
    much as one that pushes it up.

    Returns
    -------
    tuple of float
        ``(rho, p_value)``; both ``nan`` with fewer than three sequences with
        a defined share, or when either side is constant (no ranking to
        compare, e.g. a model-blind map that never touches the adapter).
    """
    magnitude = np.abs(np.asarray(effect, dtype=np.float64))
    share = np.asarray(share, dtype=np.float64)
    check(magnitude.shape == share.shape, f"got {magnitude.size} effects for {share.size} shares")
    defined = np.isfinite(magnitude) & np.isfinite(share)
    x, y = magnitude[defined], share[defined]
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    rho, p_value = spearmanr(x, y)
    return float(rho), float(p_value)
