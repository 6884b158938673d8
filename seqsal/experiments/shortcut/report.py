"""``report.html`` of a shortcut run: the figures and tables with what they show, in plain words.

Sections, in order: the expected story checked claim by claim; where the maps
hide a shortcut the model uses (rate by rate, with the per-sequence scatter)
and what to do about it; how much each model relies on the adapter; faithful
against plausible; one example sequence under every method; the settings.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from seqsal.experiments.shortcut.claims import (
    LARGE_SHARE,
    NEAR_ZERO_FLIP,
    PLAUSIBILITY_TOLERANCE,
    RELIANCE_MARGIN,
    STRONG_RANK,
    rate_claims,
    story_checks,
)
from seqsal.experiments.shortcut.config import MOTIF_PRIOR, ShortcutConfig
from seqsal.experiments.shortcut.files import rate_file
from seqsal.experiments.shortcut.hiding import advice_paragraph, described_methods, rate_paragraph
from seqsal.report import Report


def write_report(folder: Path, config: ShortcutConfig, manifest: dict, reliance_table: pd.DataFrame,
                 metrics: pd.DataFrame, matches: pd.DataFrame, effects: pd.DataFrame) -> Path:
    """Write ``report.html`` into ``folder``, embedding the figures the run saved there.

    ``matches`` is :func:`~seqsal.experiments.shortcut.metrics.adapter_motif_matches`
    of the planted adapter; it explains why a model that never saw the adapter
    may still react to it.  ``effects`` is ``adapter_effects.tsv``.
    """
    width = len(manifest["adapter"]["sequence"])
    report = Report("seqsal shortcut — a planted sequencing adapter")
    report.add_paragraph(
        f"Synthetic enhancers ({config.n} sequences of {config.length} bp) carry known motifs. The "
        f"{config.adapter} adapter ({width} nt, {config.placement} placement, never over a motif) was planted "
        f"into a share of the positive training sequences, one model was trained per share "
        f"({', '.join(f'{r:g}' for r in config.rates)}), and each model was explained with "
        f"{', '.join(config.methods)}. A faithful explanation shows what the model uses; a plausible one shows the "
        "motifs a biologist expects. A model that learned the adapter can only be explained faithfully by "
        "pointing at the adapter, so the two criteria part ways."
    )
    _story_section(report, reliance_table, metrics, matches)
    _hiding_section(report, folder, config, reliance_table, metrics, effects)
    _reliance_section(report, folder, reliance_table, matches, width)
    _tradeoff_section(report, folder, reliance_table, metrics)
    report.add_heading("One contaminated sequence under every method")
    report.add_paragraph(
        "The same test positive, with the adapter planted, explained by the model of every rate. Letters are the "
        "projected scores (what each observed base contributes); shaded boxes mark the planted motifs and the "
        "adapter. Each panel has its own scale."
    )
    for rate in config.rates:
        report.add_image(folder / rate_file("logos/{label}.png", rate),
                         caption=f"Model trained at contamination rate {rate:g}.")
    report.add_heading("Settings")
    report.add_key_values({**config.to_dict(), "adapter sequence": manifest["adapter"]["sequence"],
                           "device": manifest["device"], "torch threads": manifest["torch_threads"],
                           "seqsal version": manifest["seqsal_version"], "torch version": manifest["torch_version"],
                           "run time (s)": manifest["seconds"]})
    return report.write(folder / "report.html")


def _verdicts(claims: pd.DataFrame) -> pd.DataFrame:
    """Claims with ``holds`` as yes / no, for reading."""
    return claims.assign(holds=claims["holds"].map({True: "yes", False: "no"}))


def _story_section(report: Report, reliance_table: pd.DataFrame, metrics: pd.DataFrame,
                   matches: pd.DataFrame) -> None:
    """The expected story, claim by claim; the two extremes in short; why a clean model reacts at all."""
    low, high = reliance_table["rate"].min(), reliance_table["rate"].max()
    by_rate = reliance_table.set_index("rate")
    clean, dirty = by_rate.loc[low], by_rate.loc[high]
    story = story_checks(metrics, reliance_table)
    report.add_heading("Does the expected story hold?")
    report.add_table(_verdicts(story), caption="Each claim checked against the numbers below (claims.tsv).")
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


def _hiding_section(report: Report, folder: Path, config: ShortcutConfig, reliance_table: pd.DataFrame,
                    metrics: pd.DataFrame, effects: pd.DataFrame) -> None:
    """Rate by rate: does the model rely on the adapter, do the maps show it; the scatter; what to do."""
    low = reliance_table["rate"].min()
    methods = described_methods(metrics)
    report.add_heading("Where do the maps hide the shortcut?")
    report.add_paragraph(
        "The extremes are easy to read; the rates in between are the lesson. A model relies on the adapter when "
        f"inserting it turns at least {RELIANCE_MARGIN:.0%} more of its negatives positive than a shuffled adapter "
        f"does. A map shows the adapter when at least {LARGE_SHARE:g} x the adapter's share of positions of its "
        f"attribution lands there, and hides it when the model relies on the adapter while the map shows it no more "
        f"than that and stays within {PLAUSIBILITY_TOLERANCE:g} plausibility AUROC of the same method on the "
        f"rate-{low:g} model. Described here: {', '.join(methods)}."
    )
    for rate in sorted(set(config.rates) - {low}):
        report.add_paragraph(rate_paragraph(rate, reliance_table, metrics, effects))
    report.add_table(_verdicts(rate_claims(metrics, reliance_table)), float_format="{:g}",
                     caption="Findings at every rate (claims.tsv, after the expected story).")
    correlations = metrics.pivot(index="method", columns="rate", values="effect_spearman")
    correlations.columns = [f"rate {rate:g}" for rate in correlations.columns]
    report.add_table(correlations.reindex(list(dict.fromkeys(metrics["method"]))), float_format="{:.2f}",
                     caption="Spearman ρ between each sequence's share of attribution on the adapter and the "
                             "|logit change| when the adapter is removed (its original bases put back), over the "
                             f"contaminated test positives; nan where a map's share never varies. ρ >= "
                             f"{STRONG_RANK:g} counts as ranking the sequences that depend on the adapter first.")
    for rate in config.rates:
        report.add_image(folder / rate_file("effects/{label}.png", rate),
                         caption=f"Model trained at rate {rate:g}: per contaminated test positive, how much the "
                                 "adapter raises the logit (x) against each method's share of attribution on it "
                                 "(y; dashed: the adapter's share of positions). Red: the call flips when the "
                                 "adapter is removed (adapter_effects.tsv).")
    report.add_heading("What should a user do about it?")
    report.add_paragraph(advice_paragraph(reliance_table, metrics))


def _reliance_section(report: Report, folder: Path, reliance_table: pd.DataFrame, matches: pd.DataFrame,
                      width: int) -> None:
    """The models' AUROCs and counterfactual flip rates; the adapter's own motif content; the rate curves."""
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


def _tradeoff_section(report: Report, folder: Path, reliance_table: pd.DataFrame, metrics: pd.DataFrame) -> None:
    """Deletion AUC against plausibility per method, and the methods' tables at both ends of the rate axis."""
    low, high = reliance_table["rate"].min(), reliance_table["rate"].max()
    report.add_heading("Faithful or plausible?")
    report.add_paragraph(
        f"Each method's scores on {int(metrics['n_eval'].iloc[0])} contaminated test positives. Faithfulness is "
        "the deletion AUC: the bases a map ranks first are replaced by a dinucleotide shuffle, and the area under "
        "the logit curve is normalised so that 1 means the output never drops and 0 that it drops at once to "
        "that of the fully shuffled sequence (below 0: on the way it falls even lower). A map that ranks what the "
        "model really uses first drives the output down fast (low AUC); the dashed line is a random ranking. "
        "Insertion is the reverse (restoring the top-ranked bases into the shuffle; higher is better). "
        "Plausibility is the per-sequence AUROC of the per-position scores against the planted-motif mask (0.5 is "
        f"chance). {MOTIF_PRIOR} is a PWM scan of the enhancer motifs that never looks at the model: it shows how "
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
