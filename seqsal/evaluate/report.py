"""The ``report.html`` of ``seqsal evaluate``: what was checked, the numbers, and what could not be checked."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Sequence

import pandas as pd
from matplotlib.figure import Figure

from seqsal.report import Report

if TYPE_CHECKING:
    from seqsal.evaluate.run import EvaluationSettings

INTRODUCTION = (
    "Faithfulness: deleting the top-ranked positions of a faithful map makes the prediction fall faster than "
    "deleting random positions (lower deletion AUC, higher insertion AUC than the random reference); a map that "
    "barely changes when the model's layers are re-initialised (Spearman near 1) does not depend on what the "
    "model learned. Plausibility: AUROC of per-position scores against the ground-truth mask, over the sequences "
    "that have one. Max-sensitivity: relative change of the map under single-base substitutions away from its "
    "top positions; stochastic methods (SmoothGrad, DeepLIFT-SHAP, LIME, KernelSHAP, IG with sampled "
    "baselines) reuse each sequence's own random draws for its perturbed copies, so the number measures the "
    "input change, not sampling noise."
)


def write_report(path: Path, bundle: Path, table: pd.DataFrame, figures: Sequence[tuple[str, Figure]],
                 settings: EvaluationSettings, evaluated: pd.DataFrame, n_bundle: int, ground_truth: str) -> Path:
    """Write the report: settings, metrics, a method × check overview with reasons, the figures, and the
    sequences evaluated (``evaluated``: their ``id`` and ``prediction``), ranked by prediction."""
    report = Report(f"seqsal evaluate — {bundle.name}")
    ranking = "by magnitude (|score|)" if settings.score == "abs" else "signed (evidence against the target last)"
    report.add_paragraph(f"Explanations of {describe_selection(evaluated['prediction'], n_bundle)} of {bundle}. "
                         f"Positions are ranked {ranking}. {INTRODUCTION}")
    report.add_paragraph(ground_truth)
    report.add_heading("Settings")
    report.add_key_values({k: "—" if v in (None, ()) else ", ".join(v) if isinstance(v, tuple) else str(v)
                           for k, v in asdict(settings).items()})
    report.add_table(coverage(table), caption="Checks per method: 'yes' where the check ran; otherwise why the "
                                              "method cannot have it here.")
    measured = table[table["reason"] == ""].drop(columns="reason")
    report.add_table(measured, caption="Metrics per method (n: sequences behind the number; of: sequences the "
                                       "check looked at)", max_rows=max(len(measured), 1))
    for caption, fig in figures:
        report.add_figure(fig, caption=caption)
    report.add_heading("Sequences evaluated")
    ranked = evaluated[["id", "prediction"]].sort_values("prediction", ascending=False, kind="stable")
    report.add_table(ranked.reset_index(drop=True), max_rows=50,
                     caption="Ranked by the model's prediction (the explained output), highest first.")
    return report.write(path)


def describe_selection(predictions: pd.Series, n_bundle: int) -> str:
    """Which sequences were evaluated, in words that stay true when every sequence of the bundle was taken."""
    low, high = float(predictions.min()), float(predictions.max())
    if len(predictions) == n_bundle:
        return f"all {n_bundle} sequences (predictions {low:.3g} to {high:.3g})"
    return f"the {len(predictions)} highest predictions of {n_bundle} sequences ({low:.3g} to {high:.3g})"


def coverage(table: pd.DataFrame) -> pd.DataFrame:
    """Methods × checks: ``"yes"`` where a check produced numbers, else the reason it could not run."""
    cells = {}
    for (method, name), rows in table.groupby(["method", "check"], sort=False):
        reasons = rows["reason"][rows["reason"] != ""]
        cells.setdefault(method, {})[name] = reasons.iloc[0] if len(reasons) else "yes"
    return pd.DataFrame.from_dict(cells, orient="index").rename_axis("method")
