"""What a shortcut run concludes, claim by claim, each checked against its numbers.

Two kinds of claims, both with the columns ``claim, rate, holds, evidence``
(``claims.tsv``):

- the *expected story* (:func:`story_checks`): the clean model hardly reacts
  to the adapter, the fully contaminated one does, faithful maps show the
  adapter there and lose plausibility, the motif prior is plausible but not
  faithful.  Each is expected to hold; one that does not is news.
- *findings at every rate* (:func:`rate_claims`): does the model trained at
  this rate rely on the adapter, do the faithful maps show it, or do they
  hide it while staying plausible, and do they rank the sequences by how much
  the adapter moves them.  These describe the run; whether they hold changes
  along the rate axis, and the case where the model relies on the adapter
  while the maps hide it is the lesson of the experiment.

Every threshold is a named constant below, so a reader can see what "relies"
or "hides" means in numbers.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqsal.experiments.shortcut.config import MOTIF_PRIOR

FAITHFUL_METHODS = ("ism", "grad_x_input")
"""Methods the expected story calls faithful: ISM is exact for single substitutions, grad × input its linearisation."""

NEAR_ZERO_FLIP = 0.05
HIGH_FLIP = 0.5
LARGE_SHARE = 2.0
"""Thresholds of the story checks: a flip rate of at most 5 % is "near zero", at least 50 % "high", and an
adapter share at least twice the adapter's share of positions is "large"."""

RELIANCE_MARGIN = 0.2
"""A model *relies* on the adapter when inserting it turns at least 20 percentage points more of its
negatives positive than inserting a dinucleotide shuffle of the adapter does (the shuffle changes as many
bases, so the margin is what the adapter's sequence itself does)."""

PLAUSIBILITY_TOLERANCE = 0.05
"""A map *stays plausible* when its plausibility AUROC is at most 0.05 below that of the same method on the
lowest-rate (clean) model: the loss a reader comparing logos could not tell from noise between models."""

STRONG_RANK = 0.5
"""A map *ranks the sequences by their reliance* on the adapter when the Spearman correlation between its
adapter share and the logit change from removing the adapter is at least 0.5."""

CLAIM_COLUMNS = ["claim", "rate", "holds", "evidence"]


def story_checks(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> pd.DataFrame:
    """Test each claim of the expected story against the measured numbers.

    The clean model is the one at the lowest rate (which should be 0), the
    contaminated one at the highest.  A claim whose methods or rates were not
    run is left out rather than reported as failing.

    Returns
    -------
    pandas.DataFrame
        Columns ``claim``, ``rate`` (the model the claim is about), ``holds``
        (bool) and ``evidence`` (the numbers, in words).
    """
    low, high = reliance_table["rate"].min(), reliance_table["rate"].max()
    clean = reliance_table.set_index("rate").loc[low]
    dirty = reliance_table.set_index("rate").loc[high]
    rows = [{
        "claim": f"the clean model (rate {low:g}) hardly flips: both flip rates <= {NEAR_ZERO_FLIP:.0%}",
        "rate": low,
        "holds": bool(clean["flip_neg_to_pos"] <= NEAR_ZERO_FLIP and clean["flip_pos_to_neg"] <= NEAR_ZERO_FLIP),
        "evidence": _flip_evidence(clean),
    }]
    if high > low:
        rows.append({
            "claim": f"the contaminated model (rate {high:g}) flips often: negatives -> positive >= {HIGH_FLIP:.0%}",
            "rate": high,
            "holds": bool(dirty["flip_neg_to_pos"] >= HIGH_FLIP),
            "evidence": _flip_evidence(dirty),
        })
    by = metrics.set_index(["rate", "method"])
    for method in FAITHFUL_METHODS:
        if high == low or (high, method) not in by.index or (low, method) not in by.index:
            continue
        share, chance = by.loc[(high, method), "adapter_share"], by.loc[(high, method), "adapter_share_chance"]
        rows.append({
            "claim": f"{method} puts a large share on the adapter for the contaminated model "
                     f"(>= {LARGE_SHARE:g} x chance)",
            "rate": high,
            "holds": shows(by.loc[(high, method)]),
            "evidence": f"{share:.1%} of the attribution on {chance:.1%} of the positions "
                        f"({share / chance:.1f} x); clean model {by.loc[(low, method), 'adapter_share']:.1%}",
        })
        before, after = by.loc[(low, method), "plausibility_auroc"], by.loc[(high, method), "plausibility_auroc"]
        rows.append({
            "claim": f"{method} loses plausibility from the clean to the contaminated model",
            "rate": high,
            "holds": bool(after < before),
            "evidence": f"plausibility AUROC {before:.3f} -> {after:.3f}",
        })
    rows += _prior_claims(metrics, high)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _prior_claims(metrics: pd.DataFrame, rate: float) -> list[dict]:
    """The motif prior is the most plausible map and the least faithful one, on the model at ``rate``."""
    at_rate = metrics[metrics["rate"] == rate].set_index("method")
    if MOTIF_PRIOR not in at_rate.index or len(at_rate) < 2:
        return []
    others, prior = at_rate.drop(index=MOTIF_PRIOR), at_rate.loc[MOTIF_PRIOR]
    return [{
        "claim": f"{MOTIF_PRIOR} is the most plausible map (rate {rate:g})",
        "rate": rate,
        "holds": bool(prior["plausibility_auroc"] > others["plausibility_auroc"].max()),
        "evidence": f"AUROC {prior['plausibility_auroc']:.3f}; best model-based "
                    f"{others['plausibility_auroc'].idxmax()} {others['plausibility_auroc'].max():.3f}",
    }, {
        "claim": f"{MOTIF_PRIOR} is the least faithful map (rate {rate:g}): highest deletion AUC",
        "rate": rate,
        "holds": bool(prior["deletion_auc"] > others["deletion_auc"].max()),
        "evidence": f"deletion AUC {prior['deletion_auc']:.3f}; worst model-based "
                    f"{others['deletion_auc'].idxmax()} {others['deletion_auc'].max():.3f}; random ranking "
                    f"{prior['random_deletion_auc']:.3f}",
    }]


def relies(row: pd.Series) -> bool:
    """Whether the model of one ``reliance.tsv`` row relies on the adapter (:data:`RELIANCE_MARGIN`)."""
    return bool(row["flip_neg_to_pos"] - row["flip_neg_to_pos_control"] >= RELIANCE_MARGIN)


def shows(scores: pd.Series) -> bool:
    """Whether a map puts at least :data:`LARGE_SHARE` × chance of its attribution on the adapter."""
    return bool(scores["adapter_share"] >= LARGE_SHARE * scores["adapter_share_chance"])


def hides(model: pd.Series, scores: pd.Series, clean: pd.Series) -> bool:
    """Whether the model relies on the adapter while a map does not show it and stays plausible.

    ``model`` is the model's ``reliance.tsv`` row, ``scores`` the map's
    ``shortcut.tsv`` row, ``clean`` the same method's row on the lowest-rate
    model; plausible means within :data:`PLAUSIBILITY_TOLERANCE` of it.
    """
    plausible = scores["plausibility_auroc"] >= clean["plausibility_auroc"] - PLAUSIBILITY_TOLERANCE
    return bool(relies(model) and not shows(scores) and plausible)


def rate_claims(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> pd.DataFrame:
    """At every rate: does the model rely on the adapter, and do the faithful maps show it, hide it, rank it?

    For each rate, one claim about the model (:func:`relies`) and, for each
    method of :data:`FAITHFUL_METHODS` that was run, three about its maps:
    they *show* the adapter (share ≥ :data:`LARGE_SHARE` × chance); the model
    relies on the adapter while the maps *hide* it (it relies, the share is
    below that, and plausibility stays within :data:`PLAUSIBILITY_TOLERANCE`
    of the clean model's); they *rank* the contaminated positives by the
    adapter's effect (Spearman ρ ≥ :data:`STRONG_RANK`, from the
    ``effect_spearman`` column of ``metrics``).

    Returns
    -------
    pandas.DataFrame
        Columns ``claim``, ``rate``, ``holds``, ``evidence``; rates in
        ascending order.
    """
    low = reliance_table["rate"].min()
    by = metrics.set_index(["rate", "method"])
    rows = []
    for _, row in reliance_table.sort_values("rate").iterrows():
        rate = row["rate"]
        rows.append({
            "claim": f"the model trained at rate {rate:g} relies on the adapter: inserting it turns at least "
                     f"{RELIANCE_MARGIN:.0%} more negatives positive than a shuffled adapter",
            "rate": rate, "holds": relies(row), "evidence": _flip_evidence(row),
        })
        for method in FAITHFUL_METHODS:
            if (rate, method) in by.index:
                clean = by.loc[(low, method)] if (low, method) in by.index else by.loc[(rate, method)]
                rows += _map_claims(method, row, by.loc[(rate, method)], clean, low)
    return pd.DataFrame(rows, columns=CLAIM_COLUMNS)


def _map_claims(method: str, model: pd.Series, scores: pd.Series, clean: pd.Series, low: float) -> list[dict]:
    """The show / hide / rank claims of one method on the model of one rate (``model`` has a ``rate`` field)."""
    rate = model["rate"]
    share, chance = scores["adapter_share"], scores["adapter_share_chance"]
    share_words = f"{method} puts {share:.1%} of its attribution on the adapter (chance {chance:.1%}, " \
                  f"{share / chance:.1f} x)"
    plausibility_words = f"plausibility AUROC {scores['plausibility_auroc']:.3f} " \
                         f"(rate-{low:g} model {clean['plausibility_auroc']:.3f})"
    rho, p_value = scores["effect_spearman"], scores["effect_spearman_p"]
    return [{
        "claim": f"at rate {rate:g} the maps of {method} show the adapter: at least {LARGE_SHARE:g} x chance "
                 "of the attribution on it",
        "rate": rate, "holds": shows(scores), "evidence": share_words,
    }, {
        "claim": f"at rate {rate:g} the model relies on the adapter while the maps of {method} hide it: "
                 f"below {LARGE_SHARE:g} x chance on the adapter, and as plausible as for the clean model",
        "rate": rate, "holds": hides(model, scores, clean),
        "evidence": f"flip rate {model['flip_neg_to_pos']:.1%} (shuffled adapter "
                    f"{model['flip_neg_to_pos_control']:.1%}); {share_words}; {plausibility_words}",
    }, {
        "claim": f"at rate {rate:g} the maps of {method} rank the contaminated positives by how much the adapter "
                 f"moves their logit: Spearman rho >= {STRONG_RANK:g}",
        "rate": rate, "holds": bool(np.isfinite(rho) and rho >= STRONG_RANK),
        "evidence": f"Spearman rho {rho:.2f} (p = {p_value:.2g}) between the share on the adapter and "
                    f"|logit change| when the adapter is removed, over {int(scores['n_eval'])} sequences",
    }]


def _flip_evidence(row: pd.Series) -> str:
    """The three counterfactual flip rates of one model, in words."""
    return (f"negatives -> positive {row['flip_neg_to_pos']:.1%} (shuffled adapter "
            f"{row['flip_neg_to_pos_control']:.1%}), positives -> negative {row['flip_pos_to_neg']:.1%}")


def all_claims(metrics: pd.DataFrame, reliance_table: pd.DataFrame) -> pd.DataFrame:
    """The expected story, then the findings at every rate: the rows of ``claims.tsv``."""
    return pd.concat([story_checks(metrics, reliance_table), rate_claims(metrics, reliance_table)],
                     ignore_index=True)
