"""``seqsal evaluate``: score the explanations in an explain bundle for faithfulness and plausibility.

The metrics live in :mod:`seqsal.evaluate.metrics`; this module runs them over every
method of a bundle, on the sequences the model is most confident about (the
explanations users actually look at), and writes tables, figures and a report.
"""

from __future__ import annotations

import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import torch
from matplotlib import pyplot as plt

from seqsal import io
from seqsal.attribution import method_options, per_position
from seqsal.explain.bundle import Bundle, load_bundle
from seqsal.errors import check
from seqsal.evaluate.metrics import (
    deletion_insertion,
    max_sensitivity,
    motif_masks,
    plausibility,
    plot_perturbation_curves,
    plot_randomization,
    randomization_check,
)
from seqsal.models import EnhancerCNN, default_model_path, load_model
from seqsal.report import Report
from seqsal.simulate import read_masks

CHECKS = ("deletion", "plausibility", "randomization", "stability")


@dataclass
class EvaluationSettings:
    """What ``seqsal evaluate`` computes, recorded in its manifest."""

    checks: tuple[str, ...] = CHECKS
    max_sequences: int = 200
    replacement: str = "shuffle"
    steps: int = 20
    masks: str | None = None
    motifs: tuple[str, ...] = ()
    motif_db: str | None = None
    random_state: int = 0
    batch_size: int = 128


def _ground_truth(bundle: Bundle, rows: np.ndarray, X: np.ndarray, settings: EvaluationSettings) -> np.ndarray | None:
    """Masks for plausibility: simulated masks by id, or known-motif scan hits."""
    check(set(bundle.scores["length_fit"]) == {"unchanged"},
          f"{bundle.folder}: some sequences were cropped or padded (--fit); ground-truth masks need the "
          "sequences at their model length")
    if settings.masks:
        masks = read_masks(settings.masks)
        ids = [bundle.ids[i] for i in rows]
        missing = [i for i in ids if i not in masks]
        check(not missing, f"{settings.masks}: has no mask for {len(missing)} bundle ids (first: {missing[:1]})")
        return np.stack([masks[i] for i in ids])
    if settings.motifs:
        return motif_masks(X, list(settings.motifs), settings.motif_db)
    return None


def evaluate_bundle(
    bundle_dir: str | Path,
    out: str | Path,
    settings: EvaluationSettings | None = None,
    *,
    model: str | Path | EnhancerCNN | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Run the chosen checks on every method of a bundle; returns the metrics table.

    Parameters
    ----------
    bundle_dir
        A finished ``seqsal explain`` folder.
    out
        Output folder for ``metrics.tsv``, ``curves.tsv``, ``randomization.tsv``,
        figures, ``report.html`` and ``manifest.json``.
    settings
        Checks and their parameters.
    model
        The explained model; by default the file named in the bundle's manifest.
        A model file whose hash differs from the one that made the bundle is refused.
    progress
        Print one line per method on stderr.
    """
    settings = settings or EvaluationSettings()
    for name in settings.checks:
        check(name in CHECKS, f"unknown check {name!r}; choose from {', '.join(CHECKS)}")
    check(not (settings.masks and settings.motifs), "give either --masks or --motifs as ground truth, not both")
    if "plausibility" in settings.checks and not (settings.masks or settings.motifs):
        check(len(settings.checks) > 1, "the plausibility check needs ground truth: --masks or --motifs")
        settings.checks = tuple(c for c in settings.checks if c != "plausibility")
        _say("evaluate: no --masks or --motifs given; skipping plausibility", progress)
    bundle = load_bundle(bundle_dir)
    explain_settings = bundle.manifest["settings"]
    if model is None:
        path = bundle.manifest["model"]["path"]
        check(path != "in-memory", f"{bundle_dir}: the model was not a file; pass --model")
        model = path
    loaded = load_model(model)
    recorded = bundle.manifest["model"]["sha256"]
    if recorded and not isinstance(model, EnhancerCNN):
        model_file = default_model_path() if str(model) == "default" else Path(model)
        check(io.file_sha256(model_file) == recorded,
              f"{model}: is not the model that made {bundle_dir} (its SHA-256 differs); pass the explained model")
    folder = io.prepare_output_dir(out)
    manifest = {**io.manifest_header("evaluate"), "bundle": str(Path(bundle_dir).resolve()),
                "input": bundle.manifest["input"], "model": {"path": bundle.manifest["model"]["path"],
                                                             "sha256": recorded},
                "settings": asdict(settings)}
    io.write_json(folder / io.MANIFEST, manifest)

    predictions = bundle.scores["prediction"].to_numpy()
    rows = np.sort(np.argsort(-predictions, kind="stable")[: settings.max_sequences])
    X = np.asarray(bundle.onehot[rows], dtype=np.float32)
    masks = _ground_truth(bundle, rows, X, settings) if "plausibility" in settings.checks else None
    common = dict(target=explain_settings["target"], batch_size=settings.batch_size, device=device)
    gradient_options = dict(output=explain_settings["output"], correct=explain_settings["correct"])

    metrics, curves, randomization = [], [], []
    figures: list[tuple[str, plt.Figure]] = []
    for method, values in bundle.attributions.items():
        _say(f"evaluate: {method}", progress)
        A = np.asarray(values[rows], dtype=np.float32)
        options = {k: v for k, v in explain_settings["options"].items() if k in method_options(method)}
        if "deletion" in settings.checks:
            result = deletion_insertion(loaded, X, A, steps=settings.steps, replacement=settings.replacement,
                                        random_state=settings.random_state, **common)
            for row in result.auc().itertuples(index=False):
                metrics.append({"method": method, "metric": f"{row.curve}_auc.{row.output}", "value": row.auc,
                                "normalised": row.normalised_auc})
            curves.append(result.mean_curves().assign(method=method))
            fig, ax = plt.subplots(figsize=(6, 4))
            plot_perturbation_curves(result, ax=ax)
            ax.set_title(f"{method}: deletion and insertion ({settings.replacement} replacement)")
            figures.append((f"Deletion/insertion curves, {method}", fig))
        if masks is not None:
            summary = plausibility(per_position(A * X), masks).summary()
            for name, row in summary.iterrows():
                metrics.append({"method": method, "metric": f"plausibility_{name}", "value": row["mean"],
                                "sd": row["sd"], "n": row["n_scored"]})
        if "randomization" in settings.checks and method in _GRADIENT_FAMILY:
            table = randomization_check(loaded, X[:50], method, random_state=settings.random_state,
                                        method_options=options, **common, **gradient_options)
            randomization.append(table.assign(method=method))
            metrics.append({"method": method, "metric": "randomized_spearman_last",
                            "value": float(table["spearman_mean"].iloc[-1])})
        if "stability" in settings.checks and method in _GRADIENT_FAMILY:
            sensitivity = max_sensitivity(loaded, X[:50], method, random_state=settings.random_state,
                                          method_options=options, **common, **gradient_options)
            metrics.append({"method": method, "metric": "max_sensitivity_median",
                            "value": float(np.nanmedian(sensitivity))})

    table = pd.DataFrame(metrics)
    io.write_table(folder / "metrics.tsv", table)
    if curves:
        io.write_table(folder / "curves.tsv", pd.concat(curves, ignore_index=True))
    if randomization:
        random_table = pd.concat(randomization, ignore_index=True)
        io.write_table(folder / "randomization.tsv", random_table)
        methods = list(random_table["method"].unique())
        fig, axes = plt.subplots(1, len(methods), figsize=(4.5 * len(methods), 4.2), sharey=True,
                                 squeeze=False, layout="constrained")
        for ax, method in zip(axes[0], methods):
            plot_randomization(random_table[random_table["method"] == method], ax=ax)
            ax.set_title(method)
        figures.append(("Model-randomization sanity check: Spearman correlation with the original map as "
                        "layers are re-initialised from the output down", fig))
    _write_report(folder, bundle, table, figures, settings, len(rows))
    manifest["complete"] = True
    io.write_json(folder / io.MANIFEST, manifest)
    return table


def _say(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr)


_GRADIENT_FAMILY = ("gradient", "saliency", "grad_x_input", "smoothgrad", "smoothgrad_sq", "integrated_gradients")


def _write_report(folder: Path, bundle: Bundle, table: pd.DataFrame, figures: Sequence, settings, n: int) -> None:
    report = Report(f"seqsal evaluate — {bundle.folder.name}")
    report.add_paragraph(
        f"Explanations of the {n} highest-scoring sequences of {bundle.folder}. Faithfulness: deleting the "
        "top-ranked positions of a faithful map makes the prediction fall faster than deleting random positions "
        "(lower deletion AUC, higher insertion AUC than the random reference); a map that barely changes when the "
        "model's layers are re-initialised (Spearman near 1) does not depend on what the model learned. "
        "Plausibility: AUROC of per-position scores against the ground-truth mask (known motifs). "
        "Max-sensitivity: relative change of the map under single-base substitutions away from its top positions."
    )
    report.add_key_values({k: ", ".join(v) if isinstance(v, tuple) else ("—" if v in (None, ()) else str(v))
                           for k, v in asdict(settings).items()}, caption="Settings")
    report.add_table(table, caption="Metrics per method")
    for caption, fig in figures:
        report.add_figure(fig, caption=caption)
    report.write(folder / "report.html")
