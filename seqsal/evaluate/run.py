"""``seqsal evaluate``: score the explanations in an explain bundle for faithfulness and plausibility.

The metrics live in their own modules (see :mod:`seqsal.evaluate.metrics`); this
module runs every requested check for every method of a bundle, on the
sequences the model is most confident about (the explanations users actually
look at), and writes tables, figures and a report.  A check a method cannot
have is never dropped silently: it gets a row with the reason instead of a
value, in ``metrics.tsv`` and in the report.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from matplotlib.figure import Figure

from seqsal import io
from seqsal.attribution import method_options, per_position
from seqsal.checks import check_choice, check_int, check_number
from seqsal.choices import EVALUATION_CHECKS, SCORES
from seqsal.errors import SeqsalError, check
from seqsal.evaluate.deletion import REPLACEMENTS, deletion_insertion
from seqsal.evaluate.plausibility import motif_masks, plausibility
from seqsal.evaluate.plots import perturbation_figure, randomization_figure
from seqsal.evaluate.randomization import randomization_check
from seqsal.evaluate.report import write_report
from seqsal.evaluate.stability import max_sensitivity
from seqsal.explain.bundle import Bundle, load_bundle
from seqsal.models import explained_model
from seqsal.progress import Progress
from seqsal.pvalues import DEFAULT_PVALUE
from seqsal.runs import RunFolder

CHECKS = EVALUATION_CHECKS

RECOMPUTED_SEQUENCES = 50
"""Sequences the randomization and stability checks re-explain.

Both re-run the attribution method many times (once per randomized layer, ten
times per sequence for stability), so they use the first 50 evaluated
sequences; the deletion and plausibility checks use all of them.
"""


@dataclass(frozen=True)
class EvaluationSettings:
    """What ``seqsal evaluate`` computes, recorded in its manifest.

    Attributes
    ----------
    checks
        Which of :data:`CHECKS` to run.
    max_sequences
        Evaluate the sequences with the highest predictions, at most this many.
    replacement
        What replaces deleted bases (see :func:`~seqsal.evaluate.deletion.deletion_insertion`).
    steps
        Points on each deletion and insertion curve.
    masks
        ``masks.npz`` from ``seqsal simulate``: ground truth by record id.
    motifs, motif_db
        Instead of ``masks``: known motifs whose scan hits are the ground truth.
    motif_pvalue
        A motif hit has a p-value at most this (exact, uniform background).
    motif_threshold
        Instead of ``motif_pvalue``: a hit scores at least this fraction of
        the motif's maximum.  When given, ``motif_pvalue`` is not used.
    score
        ``"signed"`` ranks positions by their score, so evidence *against*
        the target ranks last; ``"abs"`` ranks by magnitude.  Applies to the
        deletion ranking, plausibility and the reported randomization number.
    random_state, batch_size
        Seed and sequences per forward pass.
    """

    checks: tuple[str, ...] = CHECKS
    max_sequences: int = 200
    replacement: str = "shuffle"
    steps: int = 20
    masks: str | None = None
    motifs: tuple[str, ...] = ()
    motif_db: str | None = None
    motif_pvalue: float = DEFAULT_PVALUE
    motif_threshold: float | None = None
    score: str = "signed"
    random_state: int = 0
    batch_size: int = 128

    def checked(self) -> EvaluationSettings:
        """A copy with tuples for lists, after checking every field (messages name the field)."""
        for name in self.checks:
            check_choice(name, "checks", CHECKS)
        check_int(self.max_sequences, "max_sequences", minimum=1)
        check_choice(self.replacement, "replacement", REPLACEMENTS)
        check_int(self.steps, "steps", minimum=1)
        check_int(self.random_state, "random_state", minimum=0)
        check_int(self.batch_size, "batch_size", minimum=1)
        check_choice(self.score, "score", SCORES)
        check_number(self.motif_pvalue, "motif_pvalue", minimum=0, maximum=1, include_minimum=False)
        if self.motif_threshold is not None:
            check_number(self.motif_threshold, "motif_threshold", minimum=0, maximum=1, include_minimum=False)
        check(not (self.masks and self.motifs), "give either masks or motifs as ground truth, not both")
        return replace(self, checks=tuple(dict.fromkeys(self.checks)), motifs=tuple(self.motifs))


@dataclass
class Evaluation:
    """What the checks produced, gathered method by method."""

    metrics: list[dict] = field(default_factory=list)
    curves: list[pd.DataFrame] = field(default_factory=list)
    randomization: list[pd.DataFrame] = field(default_factory=list)
    figures: list[tuple[str, Figure]] = field(default_factory=list)

    def cannot(self, method: str, name: str, reason: str) -> None:
        """Record that ``method`` cannot have check ``name``, and why."""
        self.metrics.append({"method": method, "check": name, "metric": name, "reason": reason})

    def table(self) -> pd.DataFrame:
        """``metrics.tsv``: one row per method and number, or per check a method could not have."""
        columns = ["method", "check", "metric", "value", "normalised", "sd", "n", "of", "reason"]
        table = pd.DataFrame(self.metrics).reindex(columns=columns)
        table["reason"] = table["reason"].astype(object).fillna("")
        return table


@dataclass(frozen=True)
class _Context:
    """Everything the checks of one method share."""

    model: nn.Module
    X: np.ndarray
    masks: np.ndarray | None
    settings: EvaluationSettings
    common: dict
    gradient_options: dict


def evaluate_bundle(
    bundle_dir: str | Path,
    out: str | Path,
    settings: EvaluationSettings | None = None,
    *,
    model: str | Path | nn.Module | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    force: bool = False,
) -> pd.DataFrame:
    """Run the chosen checks on every method of a bundle; returns the metrics table.

    Parameters
    ----------
    bundle_dir
        A finished ``seqsal explain`` folder.
    out
        Output folder for ``metrics.tsv``, ``curves.tsv``, ``randomization.tsv``,
        ``report.html`` and ``manifest.json``.
    settings
        Checks and their parameters.
    model
        The explained model; by default the file named in the bundle's manifest.
        A model file whose hash differs from the one that made the bundle is refused.
    device
        Where to compute; CUDA when available by default.
    progress
        Report progress on stderr, one unit per check and method.
    force
        Replace an earlier evaluation in ``out`` even when this one would not
        rewrite all of its files.

    Returns
    -------
    pandas.DataFrame
        ``metrics.tsv``: columns ``method``, ``check``, ``metric``, ``value``,
        ``normalised`` (deletion and insertion AUCs on the 0-1 scale of
        :meth:`~seqsal.evaluate.deletion.PerturbationCurves.auc`), ``sd``, ``n`` (sequences behind the value: for plausibility, those with
        ground truth), ``of`` (sequences the check looked at) and ``reason``
        (why a check a method cannot have has no value; empty otherwise).
    """
    settings = (settings or EvaluationSettings()).checked()
    bundle = load_bundle(bundle_dir)
    loaded = explained_model(bundle.manifest["model"], model, run=str(bundle.folder))
    folder = RunFolder.claim(out, "evaluate", writes=_files(settings), force=force)
    folder.start({"bundle": str(bundle.folder.resolve()), "input": bundle.manifest["input"],
                  "model": {"path": bundle.manifest["model"]["path"], "sha256": bundle.manifest["model"]["sha256"]},
                  "settings": asdict(settings)})

    predictions = bundle.scores["prediction"].to_numpy()
    rows = np.sort(np.argsort(-predictions, kind="stable")[: settings.max_sequences])
    X = np.asarray(bundle.onehot[rows], dtype=np.float32)
    explained = bundle.manifest["settings"]
    masks = _ground_truth(bundle, rows, X, settings) if "plausibility" in settings.checks else None
    context = _Context(loaded, X, masks, settings,
                       common=dict(target=explained["target"], batch_size=settings.batch_size, device=device),
                       gradient_options=dict(output=explained["output"], correct=explained["correct"]))

    evaluation = Evaluation()
    with Progress(len(bundle.attributions) * len(settings.checks), "evaluate", "check",
                  enabled=progress) as bar:
        for method, values in bundle.attributions.items():
            options = {k: v for k, v in explained["options"].items() if k in method_options(method)}
            _evaluate_method(method, np.asarray(values[rows], dtype=np.float32), options, context, evaluation, bar)

    table = evaluation.table()
    io.write_table(folder.path / "metrics.tsv", table)
    files = {"metrics": "metrics.tsv", "report": "report.html"}
    if evaluation.curves:
        io.write_table(folder.path / "curves.tsv", pd.concat(evaluation.curves, ignore_index=True))
        files["curves"] = "curves.tsv"
    if evaluation.randomization:
        randomized = pd.concat(evaluation.randomization, ignore_index=True)
        io.write_table(folder.path / "randomization.tsv", randomized)
        files["randomization"] = "randomization.tsv"
        evaluation.figures.append(("Model-randomization sanity check: Spearman correlation with the original map "
                                   "as layers are re-initialised from the output down",
                                   randomization_figure(randomized)))
    write_report(folder.path / "report.html", bundle.folder, table, evaluation.figures, settings,
                 bundle.scores.iloc[rows], len(bundle.scores), _ground_truth_note(settings, masks))
    folder.finish(files, ground_truth=_ground_truth_counts(masks, len(rows)))
    return table


def _files(settings: EvaluationSettings) -> set[str]:
    """The files a run with these settings lists in its manifest (for replacing an earlier run)."""
    files = {"metrics.tsv", "report.html"}
    if "deletion" in settings.checks:
        files.add("curves.tsv")
    if "randomization" in settings.checks:
        files.add("randomization.tsv")
    return files


def _ground_truth(bundle: Bundle, rows: np.ndarray, X: np.ndarray, settings: EvaluationSettings) -> np.ndarray | None:
    """Masks for plausibility: simulated masks by id, known-motif scan hits, or ``None`` without either."""
    if not (settings.masks or settings.motifs):
        return None
    check(set(bundle.scores["length_fit"]) == {"unchanged"},
          f"{bundle.folder}: some sequences were cropped or padded (fit); ground-truth masks need the "
          "sequences at their model length")
    if settings.masks:
        masks = io.read_masks(settings.masks)
        ids = [bundle.ids[i] for i in rows]
        missing = [i for i in ids if i not in masks]
        check(not missing, f"{settings.masks}: has no mask for {len(missing)} bundle ids (first: {missing[:1]})")
        return np.stack([masks[i] for i in ids])
    return motif_masks(X, list(settings.motifs), settings.motif_db, pvalue=settings.motif_pvalue,
                       relative_threshold=settings.motif_threshold)


def _ground_truth_counts(masks: np.ndarray | None, n: int) -> dict | None:
    """How many evaluated sequences carry any ground-truth position (a motif hit)."""
    return None if masks is None else {"sequences_with_ground_truth": int(masks.any(axis=1).sum()), "of": n}


def _ground_truth_note(settings: EvaluationSettings, masks: np.ndarray | None) -> str:
    """One sentence for the report: where the plausibility masks came from and how many sequences have one."""
    if masks is None:
        return "No ground truth was given, so plausibility was not computed."
    with_truth = int(masks.any(axis=1).sum())
    if settings.masks:
        source = f"the planted-motif masks in {settings.masks}"
    else:
        rule = (f"scoring at least {settings.motif_threshold:g} of the motif's maximum"
                if settings.motif_threshold is not None else f"with p ≤ {settings.motif_pvalue:g}")
        source = f"scan hits of {', '.join(settings.motifs)} {rule}"
    return (f"Ground truth: {source}; {with_truth} of {len(masks)} evaluated sequences have at least one "
            "ground-truth position, and plausibility is averaged over those.")


def _evaluate_method(method: str, A: np.ndarray, options: dict, context: _Context, evaluation: Evaluation,
                     bar: Progress) -> None:
    """Run every requested check on one method; a check it cannot have gets its reason instead."""
    bar.note(method)
    runners = {"deletion": _deletion, "plausibility": _plausibility, "randomization": _randomization,
               "stability": _stability}
    for name in context.settings.checks:
        if name == "plausibility" and context.masks is None:
            evaluation.cannot(method, name, "no ground truth was given: masks from seqsal simulate, or motifs")
        else:
            try:
                runners[name](method, A, options, context, evaluation)
            except SeqsalError as error:
                # A method that cannot be re-run this way on this model or these sequences: say so, go on.
                evaluation.cannot(method, name, str(error))
                bar.note(f"{method}: no {name} check: {error}")
        bar.update()


def _deletion(method: str, A: np.ndarray, options: dict, context: _Context, evaluation: Evaluation) -> None:
    settings = context.settings
    result = deletion_insertion(context.model, context.X, A, steps=settings.steps, replacement=settings.replacement,
                                random_state=settings.random_state, absolute=settings.score == "abs",
                                **context.common)
    for row in result.auc().itertuples(index=False):
        evaluation.metrics.append({"method": method, "check": "deletion", "metric": f"{row.curve}_auc.{row.output}",
                                   "value": row.auc, "normalised": row.normalised_auc, "n": len(A), "of": len(A)})
    evaluation.curves.append(result.mean_curves().assign(method=method))
    evaluation.figures.append((f"Deletion/insertion curves, {method}",
                               perturbation_figure(result, f"{method}: deletion and insertion "
                                                           f"({settings.replacement} replacement)")))


def _plausibility(method: str, A: np.ndarray, options: dict, context: _Context, evaluation: Evaluation) -> None:
    result = plausibility(per_position(A * context.X), context.masks, absolute=context.settings.score == "abs")
    for name, row in result.summary().iterrows():
        evaluation.metrics.append({"method": method, "check": "plausibility", "metric": f"plausibility_{name}",
                                   "value": row["mean"], "sd": row["sd"], "n": row["n_scored"], "of": len(A)})


def _randomization(method: str, A: np.ndarray, options: dict, context: _Context, evaluation: Evaluation) -> None:
    X = context.X[:RECOMPUTED_SEQUENCES]
    table = randomization_check(context.model, X, method, random_state=context.settings.random_state,
                                method_options=options, **context.common, **context.gradient_options)
    evaluation.randomization.append(table.assign(method=method))
    column = "spearman_abs_mean" if context.settings.score == "abs" else "spearman_mean"
    evaluation.metrics.append({"method": method, "check": "randomization", "metric": "randomized_spearman_last",
                               "value": float(table[column].iloc[-1]), "n": int(table["n_sequences"].iloc[-1]),
                               "of": len(X)})


def _stability(method: str, A: np.ndarray, options: dict, context: _Context, evaluation: Evaluation) -> None:
    X = context.X[:RECOMPUTED_SEQUENCES]
    sensitivity = max_sensitivity(context.model, X, method, random_state=context.settings.random_state,
                                  method_options=options, **context.common, **context.gradient_options)
    evaluation.metrics.append({"method": method, "check": "stability", "metric": "max_sensitivity_median",
                               "value": float(np.nanmedian(sensitivity)),
                               "n": int(np.isfinite(sensitivity).sum()), "of": len(X)})
