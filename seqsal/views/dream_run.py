"""``seqsal dream``: dream sequences for a model, name the motifs in them, rank them among real ones, report.

The optimisation itself is :func:`seqsal.views.dream.dream`; this module puts
its result in context (the scores of real sequences, known-motif hits,
grad × input logos) and writes the run's folder.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.ticker import MaxNLocator

from seqsal import io
from seqsal.attribution import attribute
from seqsal.attribution.base import resolve_target
from seqsal.checks import check_int, check_number
from seqsal.datasets import encode_records
from seqsal.errors import check
from seqsal.models import EnhancerCNN, load_model, model_provenance, predict
from seqsal.motifs import ENHANCER_MOTIFS, Motif, MotifHit, hits_to_frame, resolve_motifs, scan
from seqsal.plot import plot_attribution, save_figure
from seqsal.report import Report
from seqsal.runs import RunFolder
from seqsal.views.dream import DreamResult, dream

REFERENCE_PERCENTILE = 99.0
"""The reference percentile a dreamed sequence should beat to count as a stronger positive than nearly all real ones."""


def reference_percentiles(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Percent of reference scores at or below each score (0-100).

    This is the "weak" percentile: a score equal to the reference maximum is at
    100, one below every reference score at 0.
    """
    reference = np.asarray(reference, dtype=np.float64).ravel()
    check(reference.size > 0, "the reference has no scores; give a FASTA with at least one sequence")
    ranked = np.sort(reference)
    below_or_equal = np.searchsorted(ranked, np.asarray(scores, dtype=np.float64), side="right")
    return 100.0 * below_or_equal / ranked.size


def reference_scores(
    model: EnhancerCNN,
    fasta: str | Path,
    target: int,
    *,
    labels: str | Path | None = None,
    fit: bool = False,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Target logits of a reference set, e.g. the training positives.

    With ``labels``, only records whose label for the target is 1 are kept, so
    a training FASTA holding both classes can be given as it is.  The label
    column is the one named like the target output, or the only target column.
    """
    records = io.read_fasta(fasta)
    if labels is not None:
        table = io.read_labels(labels)
        columns = io.target_columns(table)
        names = tuple(getattr(model.config, "output_names", ()))
        name = names[target] if target < len(names) else None
        column = name if name in columns else (columns[0] if len(columns) == 1 else None)
        check(column is not None, f"{labels}: no label column named {name!r} for the target, and more than one "
                                  f"target column ({columns}); keep only the target's column")
        values = io.labels_for(records, table[[column]], labels)[:, 0]
        records = [record for record, value in zip(records, values) if value == 1]
        check(records, f"{fasta}: no record is labelled 1 in column {column!r} of {labels}; "
                       "give the positives' labels or leave out the labels")
    X, _ = encode_records(records, model.config.input_length, fit)
    return predict(model, X, batch_size=batch_size, device=device)[:, target]


def hits_table(hits: Sequence[MotifHit], ids: Sequence[str]) -> pd.DataFrame:
    """Motif hits as a table, one row each, with the id of the hit sequence first."""
    table = hits_to_frame(hits)
    table.insert(0, "id", [ids[hit.sequence_index] for hit in hits])
    return table


def _motif_summary(hits: pd.DataFrame, n_sequences: int) -> list[str]:
    """Per sequence, the distinct motif names found, in order of position, comma-separated."""
    summary = []
    for index in range(n_sequences):
        names = hits.loc[hits["sequence_index"] == index, "name"]
        summary.append(",".join(dict.fromkeys(names)))
    return summary


def plot_trace(result: DreamResult, *, threshold: float | None = None, ax: Axes | None = None) -> Axes:
    """The target logit of each seed's argmax sequence against the step, with the kept iterate marked.

    Parameters
    ----------
    result
        From :func:`dream`.
    threshold
        A reference score to draw as a dashed line, e.g. the 99th percentile of
        the training positives.
    ax
        Axes to draw on; a new figure otherwise.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4), layout="constrained")
    steps = np.arange(result.trace.shape[1])
    colors = plt.get_cmap("tab10")
    for seed, (curve, best) in enumerate(zip(result.trace, result.best_step)):
        color = colors(seed % 10)
        ax.plot(steps, curve, color=color, linewidth=1.2, label=f"seed {seed}")
        ax.plot(best, curve[best], marker="o", color=color, markersize=5, markeredgecolor="black",
                markeredgewidth=0.6)
    if threshold is not None:
        ax.axhline(threshold, color="black", linestyle="--", linewidth=1,
                   label=f"reference {REFERENCE_PERCENTILE:g}th percentile")
    ax.set_xlabel("optimisation step")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.set_ylabel(f"target logit (output {result.target})")
    ax.set_title(f"dream ({result.settings.get('mode', '')}): score of the one-hot sequence; dot = kept")
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7, ncol=2 if len(result.trace) > 6 else 1, loc="lower right")
    return ax


@dataclass(frozen=True)
class DreamSettings:
    """Everything that decides the numbers of a dream folder; recorded in its manifest."""

    target: int | str = 0
    n_seeds: int = 8
    steps: int = 200
    learning_rate: float = 0.1
    l2: float | None = None
    mode: str = "straight_through"
    temperature: float = 1.0
    random_state: int = 0
    motifs: tuple[str, ...] | None = None
    motif_db: str | None = None
    motif_threshold: float = 0.8
    n_logos: int = 4


def run_dream(
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: DreamSettings | None = None,
    *,
    reference: str | Path | None = None,
    reference_labels: str | Path | None = None,
    fit: bool = False,
    device: str | torch.device | None = None,
    progress: bool = False,
    force: bool = False,
) -> tuple[Path, pd.DataFrame]:
    """Dream sequences for a model and write them, their scores, motifs and figures to a folder.

    Writes ``dream.fa``, ``dream.tsv`` (one row per seed: score, probability,
    percentile among the reference, motifs found), ``motif_hits.tsv``,
    ``trace.png``, ``logos/dream_<seed>.png`` (grad × input logos of the
    ``settings.n_logos`` best sequences with motif hits boxed; logomaker needs
    about 3 s per 249 bp logo, more than the optimisation of a seed),
    ``report.html`` and ``manifest.json``.
    Every input (model, target, motifs, reference) is checked and the
    reference scored before the optimisation starts, so a mistake fails fast.
    The motifs default to :data:`seqsal.motifs.ENHANCER_MOTIFS`.

    Parameters
    ----------
    model
        A model file, ``"default"`` for the bundled model, or a loaded model.
    out
        Output folder: new, empty, or an earlier seqsal output.
    settings
        Optimisation and motif settings.
    reference
        FASTA of real sequences (e.g. the training positives) whose scores
        the dreamed ones are ranked among.
    reference_labels
        Labels TSV for ``reference``: keep only its positives.
    fit
        Centre-crop or N-pad reference records to the model's length.
    device
        Where to compute.
    progress
        Report the optimisation's progress on stderr.
    force
        Accepted for the common call shape: a dream run always rewrites all
        of an earlier one's files (stale logos are removed), so it may always
        replace it.

    Returns
    -------
    (pathlib.Path, pandas.DataFrame)
        The folder and the ``dream.tsv`` table.
    """
    settings = settings or DreamSettings()
    check_int(settings.n_logos, "n_logos", minimum=0)
    check_number(settings.motif_threshold, "motif_threshold", minimum=0, maximum=1, include_minimum=False)
    check(reference_labels is None or reference is not None, "reference labels need a reference FASTA")
    loaded = load_model(model, device="cpu")
    target = resolve_target(loaded, settings.target)
    check(0 <= target < loaded.config.n_outputs,
          f"target {settings.target!r} is out of range; the model has {loaded.config.n_outputs} output(s)")
    motifs = resolve_motifs(settings.motifs, settings.motif_db, default=ENHANCER_MOTIFS)
    ref_scores = (reference_scores(loaded, reference, target, labels=reference_labels, fit=fit, device=device)
                  if reference is not None else None)
    folder = RunFolder.claim(out, "dream", force=force, clear=("logos/dream_*.png",))
    folder.start(_manifest(model, loaded, settings, target, reference, reference_labels, motifs))

    result = dream(loaded, target=target, n_seeds=settings.n_seeds, steps=settings.steps,
                   learning_rate=settings.learning_rate, l2=settings.l2, mode=settings.mode,
                   temperature=settings.temperature, random_state=settings.random_state, device=device,
                   progress=progress)
    folder.save(dream={**result.settings, "trace_final": result.trace[:, -1].tolist()})  # l2 resolved
    ids = [f"dream_{seed}" for seed in range(settings.n_seeds)]
    found = scan(result.onehot, motifs, relative_threshold=settings.motif_threshold)
    hits = hits_table(found, ids)
    table, threshold = _dream_table(result, ids, hits, ref_scores)

    io.write_fasta(folder.path / "dream.fa", [io.Record(i, s) for i, s in zip(ids, result.sequences)])
    io.write_table(folder.path / "dream.tsv", table)
    io.write_table(folder.path / "motif_hits.tsv", hits)
    trace_path = folder.path / "trace.png"
    ax = plot_trace(result, threshold=threshold)
    save_figure(ax.figure, trace_path)
    plt.close(ax.figure)
    logo_paths = _draw_logos(folder.path, loaded, result, ids, found, settings.n_logos, device)
    summary = _summary(table, ref_scores, threshold)
    _write_report(folder.path, folder.manifest, table, hits, summary, trace_path, logo_paths)
    folder.finish({"sequences": "dream.fa", "table": "dream.tsv", "motif_hits": "motif_hits.tsv",
                   "trace": trace_path.name, "logos": [str(p.relative_to(folder.path)) for p in logo_paths],
                   "report": "report.html"}, summary=summary)
    return folder.path, table


def _dream_table(result: DreamResult, ids: Sequence[str], hits: pd.DataFrame,
                 ref_scores: np.ndarray | None) -> tuple[pd.DataFrame, float | None]:
    """``dream.tsv`` (one row per seed) and the reference percentile it was compared with, if any."""
    table = pd.DataFrame({"id": ids, "seed": np.arange(len(ids)), "best_step": result.best_step,
                          "logit": result.scores})
    if result.probability is not None:
        table["probability"] = result.probability
    threshold = None
    if ref_scores is not None:
        threshold = float(np.percentile(ref_scores, REFERENCE_PERCENTILE))
        table["reference_percentile"] = reference_percentiles(result.scores, ref_scores)
        table["above_reference_p99"] = result.scores > threshold
    table["n_motif_hits"] = [int((hits["sequence_index"] == i).sum()) for i in range(len(ids))]
    table["motifs"] = _motif_summary(hits, len(ids))
    return table, threshold


def _draw_logos(folder: Path, model: EnhancerCNN, result: DreamResult, ids: Sequence[str],
                hits: Sequence[MotifHit], n_logos: int, device: str | torch.device | None) -> list[Path]:
    """Grad × input logos of the best ``n_logos`` sequences, motif hits boxed (earlier runs' were cleared on claim)."""
    logos = folder / "logos"
    logos.mkdir(exist_ok=True)
    best = np.argsort(-result.scores, kind="stable")[:n_logos]
    if best.size == 0:
        return []
    hypothetical = attribute(model, result.onehot[best], "grad_x_input", result.target, hypothetical=True,
                             device=device)
    classifier = result.probability is not None  # the title then reads "logit 7.04, p = 0.999"
    paths = []
    for row, index in enumerate(best):
        record_id = ids[index]
        boxes = [hit for hit in hits if hit.sequence_index == index]
        fig = plot_attribution(hypothetical[row], result.onehot[index], record_id=record_id,
                               prediction=float(result.scores[index]), method="grad_x_input",
                               task="classification" if classifier else "regression",
                               unit="logit" if classifier else "model output", motif_hits=boxes)
        path = save_figure(fig, logos / f"{record_id}.png")
        plt.close(fig)
        paths.append(path)
    return paths


def _summary(table: pd.DataFrame, ref_scores: np.ndarray | None, threshold: float | None) -> dict:
    motifs = sorted({name for names in table["motifs"] for name in names.split(",") if name})
    summary = {
        "n_sequences": len(table),
        "logit_min": float(table["logit"].min()),
        "logit_median": float(table["logit"].median()),
        "logit_max": float(table["logit"].max()),
        "sequences_with_motif": int((table["n_motif_hits"] > 0).sum()),
        "motifs_found": motifs,
    }
    if ref_scores is not None:
        summary.update(reference_n=int(ref_scores.size), reference_max=float(ref_scores.max()),
                       reference_p99=threshold, above_reference_p99=int(table["above_reference_p99"].sum()))
    return summary


def _manifest(source: str | Path | EnhancerCNN, model: EnhancerCNN, settings: DreamSettings, target: int,
              reference: str | Path | None, reference_labels: str | Path | None, motifs: Sequence[Motif]) -> dict:
    """The manifest's fields after the header: what was dreamed for, with which settings and inputs."""
    files = {"reference": reference, "reference_labels": reference_labels}
    return {
        "model": model_provenance(source, model),
        "target_index": target,
        "settings": asdict(settings),
        "seed": settings.random_state,
        "inputs": {name: {"path": str(path), "sha256": io.file_sha256(path)}
                   for name, path in files.items() if path is not None},
        "motifs": [{"id": motif.id, "name": motif.name} for motif in motifs],
        "logo_method": "grad_x_input, target logit, uncorrected",
    }


def _write_report(folder: Path, manifest: dict, table: pd.DataFrame, hits: pd.DataFrame, summary: dict,
                  trace_path: Path, logo_paths: Sequence[Path]) -> Path:
    settings = manifest["settings"] | manifest["dream"]
    report = Report(f"seqsal dream — {Path(manifest['model']['path']).name}")
    report.add_paragraph(
        f"Class model visualisation (Simonyan et al. 2014): {summary['n_sequences']} sequences optimised from "
        f"random starts to maximise output {manifest['target_index']} of the model, with Adam on free logits θ "
        f"({settings['mode']}; objective: target logit − {settings['l2']:g}·‖θ‖²). Each row is the best one-hot "
        "iterate of one seed, scored by the model. Scores far above those of real sequences mean the model "
        "extrapolates: read the motifs, not the numbers."
    )
    key_values = {
        "model": manifest["model"]["path"], "target index": manifest["target_index"], "mode": settings["mode"],
        "steps": settings["steps"], "learning rate": settings["learning_rate"], "l2": settings["l2"],
        "temperature": settings["temperature"], "seeds": settings["n_seeds"], "random state": settings["random_state"],
        "motif threshold": settings["motif_threshold"], "seqsal version": manifest["seqsal_version"],
    }
    report.add_key_values(key_values, caption="settings")
    facts = {"logit min / median / max": f"{summary['logit_min']:.3g} / {summary['logit_median']:.3g} / "
                                         f"{summary['logit_max']:.3g}",
             "sequences with a known motif": f"{summary['sequences_with_motif']} of {summary['n_sequences']}",
             "motifs found": ", ".join(summary["motifs_found"]) or "none"}
    if "reference_p99" in summary:
        facts.update({"reference sequences": summary["reference_n"],
                      "reference max / 99th percentile": f"{summary['reference_max']:.3g} / "
                                                         f"{summary['reference_p99']:.3g}",
                      "dreamed above the reference 99th percentile": f"{summary['above_reference_p99']} of "
                                                                     f"{summary['n_sequences']}"})
    report.add_key_values(facts, caption="summary")
    report.add_heading("Dreamed sequences")
    report.add_table(table, caption="dream.tsv")
    report.add_image(trace_path, caption="Target logit of each seed's one-hot sequence during the optimisation; "
                                         "the dot marks the kept iterate.")
    report.add_heading("Known motifs")
    if hits.empty:
        report.add_paragraph("No motif of the list reaches the threshold in any dreamed sequence.")
    else:
        report.add_table(hits.drop(columns="sequence_index"), caption="motif_hits.tsv")
    report.add_heading("Logos")
    if not logo_paths:
        report.add_paragraph("No logos were drawn (n_logos = 0).")
    for path in logo_paths:
        report.add_image(path, caption=f"{path.stem}: grad × input of the target logit; known motif hits shaded")
    return report.write(folder / "report.html")
