"""``seqsal shortcut``: train one model per contamination rate, measure, explain, and write the run's folder.

For each rate of the config, the adapter is planted into that share of the
positive training and validation sequences (validation comes from the same
contaminated data, as a user's held-out split would), and a small
:class:`~seqsal.models.EnhancerCNN` is trained with the same seed and the
same initial weights, so only the data differ.  Each model's reliance on the
adapter and each method's maps are then measured on the same contaminated
test positives (:mod:`~seqsal.experiments.shortcut.metrics`), and everything
measured so far is written after every rate, so an interrupted run keeps its
finished rates.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from seqsal import io
from seqsal.attribution import per_position
from seqsal.attribution.summary import mask_share
from seqsal.checks import check_int
from seqsal.experiments.shortcut.claims import all_claims, story_checks
from seqsal.experiments.shortcut.config import ShortcutConfig
from seqsal.experiments.shortcut.figures import Box, plot_effects, plot_example, plot_rates, plot_tradeoff
from seqsal.experiments.shortcut.files import STALE, output_files, rate_file, rate_label
from seqsal.experiments.shortcut.maps import explain
from seqsal.experiments.shortcut.metrics import (
    adapter_effects,
    adapter_motif_matches,
    effect_correlation,
    reliance,
    score_method,
)
from seqsal.experiments.shortcut.plant import ShortcutData, prepare_data
from seqsal.experiments.shortcut.report import write_report
from seqsal.models import EnhancerCNN, predict, resolve_device, save_model
from seqsal.motifs import ENHANCER_MOTIFS, Motif, resolve_motifs
from seqsal.plot import save_figure
from seqsal.progress import Progress
from seqsal.runs import RunFolder
from seqsal.train import fit

TABLE_COLUMNS = [
    "rate", "method", "adapter_share", "adapter_share_chance", "plausibility_auroc", "plausibility_auprc",
    "deletion_auc", "insertion_auc", "random_deletion_auc", "effect_spearman", "effect_spearman_p", "n_eval",
    "seconds",
]
RELIANCE_COLUMNS = [
    "rate", "n_train_positives", "n_contaminated", "achieved_rate", "best_epoch", "valid_auroc", "auroc_clean",
    "auroc_contaminated", "flip_neg_to_pos", "flip_neg_to_pos_control", "flip_pos_to_neg", "n_negatives",
    "n_positives", "train_seconds",
]
EFFECT_COLUMNS = [
    "rate", "method", "id", "adapter_start", "logit_with", "logit_without", "effect", "flips", "adapter_share",
]
"""``adapter_effects.tsv``: one row per rate × method × scored sequence (see ``metrics.adapter_effects``)."""


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
    claims
        The expected story and the findings at every rate (``claims.tsv``).
    effects
        Per scored sequence, the adapter's effect and each method's share on it (``adapter_effects.tsv``).
    """

    folder: Path
    reliance: pd.DataFrame
    metrics: pd.DataFrame
    story: pd.DataFrame
    adapter_motifs: pd.DataFrame
    claims: pd.DataFrame
    effects: pd.DataFrame


@dataclass
class _Tables:
    """The rows measured so far, rewritten after every rate."""

    reliance: list[dict] = field(default_factory=list)
    metrics: list[dict] = field(default_factory=list)
    effects: list[pd.DataFrame] = field(default_factory=list)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """``reliance.tsv``, ``shortcut.tsv`` and ``adapter_effects.tsv`` as frames."""
        effects = pd.concat(self.effects, ignore_index=True) if self.effects else pd.DataFrame()
        return (pd.DataFrame(self.reliance, columns=RELIANCE_COLUMNS),
                pd.DataFrame(self.metrics, columns=TABLE_COLUMNS), effects.reindex(columns=EFFECT_COLUMNS))

    def write(self, folder: Path) -> None:
        """Write the three tables atomically."""
        for name, table in zip(("reliance.tsv", "shortcut.tsv", "adapter_effects.tsv"), self.frames()):
            io.write_table(folder / name, table)


@dataclass(frozen=True)
class _Setup:
    """What every rate of one run shares."""

    config: ShortcutConfig
    data: ShortcutData
    motifs: list[Motif]
    eval_rows: np.ndarray
    batch_size: int
    device: torch.device
    progress: bool


def run_shortcut(
    config: ShortcutConfig,
    out: str | PathLike[str],
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = True,
    force: bool = False,
) -> ShortcutResult:
    """Run the whole experiment and write its folder; finished rates survive an interruption.

    After every rate the model (``models/rate_<r>.pt``), ``reliance.tsv``,
    ``shortcut.tsv``, ``adapter_effects.tsv``, the example logos, the effect
    scatter and the manifest are rewritten atomically; the manifest says
    ``complete: false`` (and lists the finished rates) until ``claims.tsv``,
    the summary figures and ``report.html`` are written at the end.

    Parameters
    ----------
    config
        The experiment; :meth:`ShortcutConfig.quick` for a fast one.
    out
        Output folder: new, empty, or an earlier shortcut run that this run
        rewrites completely (:meth:`seqsal.runs.RunFolder.claim`).
    batch_size
        Sequences per forward/backward pass outside training.
    device
        Where to train and attribute; CUDA when available by default.
    progress
        Report the steps (one training or one method's scoring each) with
        :class:`seqsal.progress.Progress`, and each fit's epochs.
    force
        Replace an earlier shortcut run in ``out`` even when this run would
        not rewrite all its files (other rates: their models are deleted).
    """
    check_int(batch_size, "batch_size", minimum=1)
    started = time.monotonic()
    folder = RunFolder.claim(out, "shortcut", writes=output_files(config), force=force, clear=STALE)
    for sub in ("models", "logos", "effects"):
        (folder.path / sub).mkdir(exist_ok=True)
    device = resolve_device(device)
    folder.start({"device": str(device), "torch_threads": torch.get_num_threads(), "seed": config.random_state,
                  "settings": config.to_dict(), "model_config": config.model_config().to_dict(),
                  "rates_done": [], "models": {}})
    tables = _Tables()
    with Progress(len(config.rates) * (1 + len(config.methods)), "shortcut", "step", enabled=progress) as bar:
        bar.note(f"simulating {config.n} sequences of {config.length} bp and planning adapter positions")
        data = prepare_data(config)
        motifs = resolve_motifs(None, default=ENHANCER_MOTIFS)
        matches = adapter_motif_matches(data.insert, motifs, random_state=config.random_state)
        io.write_table(folder.path / "adapter_motifs.tsv", matches)
        folder.save(adapter={"name": config.adapter, "sequence": data.insert,
                             "sequences_with_room": float((data.starts >= 0).mean())})
        setup = _Setup(config, data, motifs, data.eval_rows(config.n_eval), batch_size, device, progress)
        for rate in config.rates:
            model_path = _run_rate(setup, rate, folder.path, tables, bar)
            tables.write(folder.path)
            folder.manifest["rates_done"].append(rate)
            folder.manifest["models"][rate_label(rate)] = {"path": str(model_path.relative_to(folder.path)),
                                                           "sha256": io.file_sha256(model_path)}
            folder.save()
        bar.note("writing claims, figures and report.html")
    reliance_table, metrics, effects = tables.frames()
    claims = all_claims(metrics, reliance_table)
    io.write_table(folder.path / "claims.tsv", claims)
    for name, figure in (("tradeoff.png", plot_tradeoff(metrics)), ("rates.png", plot_rates(metrics, reliance_table))):
        save_figure(figure, folder.path / name)
        plt.close(figure)
    folder.save(seconds=round(time.monotonic() - started, 1))
    write_report(folder.path, config, folder.manifest, reliance_table, metrics, matches, effects)
    folder.finish(output_files(config))
    return ShortcutResult(folder=folder.path, reliance=reliance_table, metrics=metrics,
                          story=story_checks(metrics, reliance_table), adapter_motifs=matches, claims=claims,
                          effects=effects)


def _run_rate(setup: _Setup, rate: float, folder: Path, tables: _Tables, bar: Progress) -> Path:
    """Train the model of ``rate``, measure its reliance, score every method, draw its figures.

    Appends to ``tables`` and returns the saved model's path.
    """
    config, data, rows = setup.config, setup.data, setup.eval_rows
    options = {"batch_size": setup.batch_size, "device": setup.device}
    model, fit_row = _train_at_rate(config, data, rate, setup.device, setup.progress, bar)
    bar.update()
    tables.reliance.append({"rate": rate, **fit_row, **reliance(model, data, random_state=config.random_state,
                                                                 **options)})
    model_path = folder / rate_file("models/{label}.pt", rate)
    save_model(model, model_path, {"shortcut": tables.reliance[-1], "settings": config.to_dict()})

    X_eval, adapter = data.X_adapted[rows], data.adapter_masks[rows]
    effects = adapter_effects(model, X_eval, data.X_clean[rows], **options).assign(
        rate=rate, id=[data.dataset.ids[row] for row in rows], adapter_start=data.starts[rows])
    example, correlations, per_method = {}, {}, []
    for method in config.methods:
        tick = time.monotonic()
        hypothetical = explain(model, X_eval, method, setup.motifs, random_state=config.random_state, **options)
        scores = score_method(model, X_eval, hypothetical, data.dataset.masks[rows], adapter,
                              deletion_steps=config.deletion_steps, random_state=config.random_state, **options)
        shares = mask_share(per_position(hypothetical * X_eval), adapter)
        rho, p_value = effect_correlation(effects["effect"].to_numpy(), shares)
        tables.metrics.append({"rate": rate, "method": method, **scores, "effect_spearman": rho,
                               "effect_spearman_p": p_value, "n_eval": len(rows),
                               "seconds": round(time.monotonic() - tick, 1)})
        per_method.append(effects.assign(method=method, adapter_share=shares))
        correlations[method], example[method] = rho, hypothetical[0]
        bar.update()
        bar.note(f"{rate_label(rate)}: {method} scored in {time.monotonic() - tick:.0f} s")
    tables.effects += per_method
    _draw_rate(setup, model, rate, example, pd.concat(per_method), correlations, folder)
    return model_path


def _draw_rate(setup: _Setup, model: EnhancerCNN, rate: float, example: dict[str, np.ndarray],
               effects: pd.DataFrame, correlations: dict[str, float], folder: Path) -> None:
    """``logos/rate_<r>.png`` (the first scored sequence under every method) and ``effects/rate_<r>.png``."""
    data, row = setup.data, int(setup.eval_rows[0])
    prediction = float(predict(model, data.X_adapted[row : row + 1], device=setup.device)[0, 0])
    chance = float(data.adapter_masks[setup.eval_rows].mean())
    figures = {
        "logos/{label}.png": plot_example(
            data.X_adapted[row], example, _boxes(data, row),
            title=f"{data.dataset.ids[row]}: model trained at contamination rate {rate:g}, logit {prediction:.2f}"),
        "effects/{label}.png": plot_effects(
            effects, correlations, chance,
            title=f"Model trained at contamination rate {rate:g}: each point is one contaminated test positive"),
    }
    for pattern, figure in figures.items():
        save_figure(figure, folder / rate_file(pattern, rate))
        plt.close(figure)


def _train_at_rate(
    config: ShortcutConfig, data: ShortcutData, rate: float, device: torch.device, progress: bool, bar: Progress,
) -> tuple[EnhancerCNN, dict]:
    """Contaminate train and valid at ``rate``, train a seeded model, and describe the fit."""
    dataset = data.dataset
    carrying = data.contaminated("train", rate) | data.contaminated("valid", rate)
    X = data.inputs(carrying)
    train, valid = dataset.splits == "train", dataset.splits == "valid"
    n_positives = int((train & (dataset.labels == 1)).sum())
    n_contaminated = int((carrying & train).sum())
    bar.note(f"{rate_label(rate)}: training on {int(train.sum())} sequences, {n_contaminated} of {n_positives} "
             "positives with the adapter")
    with torch.random.fork_rng():
        torch.manual_seed(config.random_state)
        model = EnhancerCNN(config.model_config())
    tick = time.monotonic()
    result = fit(model, X[train], dataset.labels[train], X[valid], dataset.labels[valid],
                 max_epochs=config.epochs, patience=config.patience, random_state=config.random_state,
                 device=device, progress=progress)
    return model, {
        "n_train_positives": n_positives,
        "n_contaminated": n_contaminated,
        "achieved_rate": n_contaminated / max(n_positives, 1),
        "best_epoch": result.best_epoch,
        "valid_auroc": result.history[result.best_epoch - 1]["valid_auroc"],
        "train_seconds": round(time.monotonic() - tick, 1),
    }


def _boxes(data: ShortcutData, row: int) -> list[Box]:
    """The planted motifs and the adapter of one sequence, for the logo figure."""
    planted = data.dataset.planted[data.dataset.planted["id"] == data.dataset.ids[row]]
    boxes = [Box(int(r.start), int(r.end), str(r.name), str(r.strand)) for r in planted.itertuples()]
    start = int(data.starts[row])
    return boxes + [Box(start, start + len(data.insert), "adapter", "")]
