"""Where the maps hide a shortcut the model uses, and what a user should do about it: the report's words.

The two ends of the rate axis tell themselves: a clean model ignores the
adapter, a fully contaminated one lives on it and every faithful map shows
it.  In between, a model can already lean on the adapter for a good share of
its calls while the maps put little more than chance on it and stay as
plausible as the clean model's, so a reader of the logos would not see the
shortcut.  This module turns one run's numbers into those sentences, rate by
rate, and into the advice that follows from them: test the suspect element
counterfactually (insert it, remove it, count the calls that change), which
catches what the maps hide.

Every function takes the run's tables and returns plain text, so the words
can be checked against hand-made numbers.
"""

from __future__ import annotations

import pandas as pd

from seqsal.experiments.shortcut.claims import (
    FAITHFUL_METHODS,
    PLAUSIBILITY_TOLERANCE,
    STRONG_RANK,
    hides,
    relies,
    shows,
)
from seqsal.experiments.shortcut.config import MOTIF_PRIOR


def described_methods(metrics: pd.DataFrame) -> list[str]:
    """The methods the sentences speak for: the faithful ones that were run, else every model-based one."""
    run = list(dict.fromkeys(metrics["method"]))
    faithful = [method for method in FAITHFUL_METHODS if method in run]
    return faithful or [method for method in run if method != MOTIF_PRIOR]


def rate_paragraph(rate: float, reliance_table: pd.DataFrame, metrics: pd.DataFrame,
                   effects: pd.DataFrame) -> str:
    """What the model trained at ``rate`` does with the adapter, and what each described method's maps show.

    Parameters
    ----------
    rate
        One of the run's rates, above the lowest (whose model is the clean reference).
    reliance_table, metrics, effects
        ``reliance.tsv``, ``shortcut.tsv`` and ``adapter_effects.tsv`` of the run.
    """
    low = reliance_table["rate"].min()
    model = reliance_table.set_index("rate").loc[rate]
    if relies(model):
        text = (f"At rate {rate:g} the model relies on the adapter: inserting it turns "
                f"{model['flip_neg_to_pos']:.0%} of the negatives positive (a shuffled adapter "
                f"{model['flip_neg_to_pos_control']:.0%}), and removing it turns {model['flip_pos_to_neg']:.0%} of "
                "the contaminated positives negative.")
    else:
        text = (f"At rate {rate:g} the model hardly relies on the adapter: inserting it turns "
                f"{model['flip_neg_to_pos']:.0%} of the negatives positive (a shuffled adapter "
                f"{model['flip_neg_to_pos_control']:.0%}).")
    by = metrics.set_index(["rate", "method"])
    for method in described_methods(metrics):
        scores, clean = by.loc[(rate, method)], by.loc[(low, method)]
        text += " " + _map_sentence(method, model, scores, clean, low)
        text += " " + _rank_sentence(method, scores, effects[(effects["rate"] == rate)
                                                             & (effects["method"] == method)])
    return text


def _map_sentence(method: str, model: pd.Series, scores: pd.Series, clean: pd.Series, low: float) -> str:
    """Where one method's maps put their mass, and whether a reader would see the shortcut in them."""
    share, chance = scores["adapter_share"], scores["adapter_share_chance"]
    plausibility = (f"plausibility {scores['plausibility_auroc']:.2f} (rate-{low:g} model "
                    f"{clean['plausibility_auroc']:.2f})")
    if hides(model, scores, clean):
        return (f"Yet {method} puts only {share:.2f} of its attribution on the adapter (chance {chance:.3f}) and its "
                f"{plausibility} stays within {PLAUSIBILITY_TOLERANCE:g}: a reader of its logos would not see the "
                "shortcut.")
    if shows(scores):
        return (f"{method} puts {share:.2f} of its attribution on the adapter ({share / chance:.1f} x chance), "
                f"{plausibility}: its logos show the shortcut.")
    return f"{method} puts {share:.2f} of its attribution on the adapter (chance {chance:.3f}), {plausibility}."


def _rank_sentence(method: str, scores: pd.Series, effects: pd.DataFrame) -> str:
    """How well one method's per-sequence share follows the adapter's per-sequence effect."""
    rho = scores["effect_spearman"]
    if pd.isna(rho):
        return "Its share on the adapter does not vary with the adapter's effect (no rank correlation defined)."
    flipped = effects[effects["flips"]]
    kept = effects[~effects["flips"]]
    detail = ""
    if len(flipped) and not len(kept):
        detail = (f"; every one of the {len(flipped)} calls flips without the adapter, so all these sequences "
                  "depend on it and the ranking has little to find")
    if len(flipped) and len(kept):
        detail = (f"; the {len(flipped)} sequences whose call flips without the adapter get a mean share of "
                  f"{flipped['adapter_share'].mean():.2f}, the other {len(kept)} {kept['adapter_share'].mean():.2f}")
    verdict = ("it does rank the sequences that depend on the adapter first" if rho >= STRONG_RANK else
               "it does not reliably rank the sequences that depend on the adapter first")
    return (f"Sequence by sequence, its share on the adapter follows the adapter's effect on the logit with "
            f"Spearman ρ = {rho:.2f}{detail}: {verdict}.")


def advice_paragraph(reliance_table: pd.DataFrame, metrics: pd.DataFrame) -> str:
    """What to do: the counterfactual test, with the numbers of the rate where it matters most in this run.

    That rate is the lowest one at which the model relies on the adapter
    while a described method's maps hide it; failing that, the lowest one at
    which the model relies on the adapter at all.
    """
    low = reliance_table["rate"].min()
    by = metrics.set_index(["rate", "method"])
    methods = described_methods(metrics)
    chosen = None
    for rate, model in reliance_table.set_index("rate").sort_index().iterrows():
        if rate == low or not relies(model):
            continue
        hiding = [m for m in methods if hides(model, by.loc[(rate, m)], by.loc[(low, m)])]
        if hiding:
            chosen = (rate, model, hiding[0])
            break
        chosen = chosen or (rate, model, methods[0])
    test = ("Look at what the model does, not only at its maps. The counterfactual test (insert the suspect "
            "element into sequences the model calls negative, remove it from those it calls positive, and count the "
            "calls that change) measures reliance directly, so it catches what the maps hide. ")
    audit = ("On your own data, 'seqsal audit --pos ... --neg ... --model ...' runs the removal half of it: it "
             "finds adapters and other artifacts that separate the classes, shuffles them away in the records that "
             "carry them and reports the logit change with a Wilcoxon signed-rank test, next to the attribution "
             "share on the artifacts. Insertion is a prediction on edited sequences, as this experiment does it.")
    if chosen is None:
        return test + "No model of this run relied on the adapter beyond the shuffled-adapter control. " + audit
    rate, model, method = chosen
    share, chance = by.loc[(rate, method), "adapter_share"], by.loc[(rate, method), "adapter_share_chance"]
    return (test + f"In this run, at rate {rate:g}, inserting the adapter turned {model['flip_neg_to_pos']:.0%} of "
            f"the negatives positive against {model['flip_neg_to_pos_control']:.0%} for a shuffled adapter, and "
            f"removing it turned {model['flip_pos_to_neg']:.0%} of the contaminated positives negative, while the "
            f"maps of {method} put {share:.2f} of their attribution on it ({share / chance:.1f} x chance). " + audit)
