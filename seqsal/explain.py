"""The explain pipeline: FASTA in, an attribution bundle out.

A bundle is a folder that tfmodisco-lite, a plotting script and a lab report
can all read:

``ohe.npz``                 one-hot sequences ``(N, 4, L)``, key ``arr_0``
``attr.<method>.npz``       hypothetical scores ``(N, 4, L)``, key ``arr_0``
``scores.tsv``              id, prediction, how each sequence was fitted, top positions
``logos/``                  stacked logo figures of the top-K sequences
``report.html``             one self-contained page with settings, predictions and logos
``manifest.json``           versions, hashes, method parameters; ``complete`` is
                            false until every other file is written
"""

from __future__ import annotations

import platform
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from tqdm import tqdm

import seqsal
from seqsal import io
from seqsal.attribution import METHODS, attribute, per_position
from seqsal.attribution.base import resolve_target
from seqsal.datasets import check_length, encode_records
from seqsal.encoding import encode_indices
from seqsal.errors import check
from seqsal.models import EnhancerCNN, default_model_path, load_model, predict
from seqsal.motifs import Motif, MotifDatabase, scan
from seqsal.plot import plot_attribution, save_figure, save_pdf_pages
from seqsal.report import Report

N_TOP_POSITIONS = 5


@dataclass
class ExplainSettings:
    """Everything that decides the numbers in a bundle; recorded in its manifest."""

    methods: tuple[str, ...] = ("saliency", "grad_x_input")
    target: int | str = 0
    output: str = "logit"
    correct: bool = False
    fit: bool = False
    batch_size: int = 128
    n_logos: int = 10
    motifs: tuple[str, ...] = ()
    motif_db: str | None = None
    logo_format: str = "png"
    extra: dict = field(default_factory=dict)


@dataclass
class Bundle:
    """An explain bundle read back from disk."""

    folder: Path
    ids: list[str]
    onehot: np.ndarray
    attributions: dict[str, np.ndarray]
    scores: pd.DataFrame
    manifest: dict


def parse_methods(text: str | Sequence[str]) -> tuple[str, ...]:
    """Split ``"saliency,grad_x_input"`` and check every name against the registry."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    check(names, "no attribution method given; choose from " + ", ".join(METHODS))
    for name in names:
        check(name in METHODS, f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return tuple(dict.fromkeys(names))


def _load_motifs(settings: ExplainSettings) -> list[Motif]:
    if not settings.motifs:
        return []
    database = MotifDatabase.from_file(settings.motif_db) if settings.motif_db else MotifDatabase.default()
    return list(database.get_many(settings.motifs))


def validate_fasta(fasta: Path, length: int, fit: bool) -> int:
    """Check every record before anything is written; return the record count.

    One streaming pass finds a bad base or a wrong length in record 190,000
    up front, so a failed run never leaves a half-written bundle behind.
    """
    n_records = 0
    for record in io.iter_records(fasta):
        encode_indices(record.sequence, record.id)
        check_length(record, length, fit)
        n_records += 1
    return n_records


def _top_positions(projected: np.ndarray, offsets: np.ndarray) -> list[str]:
    """1-based positions in the *original* sequence of the strongest per-position scores."""
    scores = np.abs(per_position(projected))
    top = np.argsort(-scores, axis=1, kind="stable")[:, :N_TOP_POSITIONS]
    return [",".join(str(int(p) + int(o) + 1) for p in row) for row, o in zip(top, offsets)]


def explain_fasta(
    fasta: str | Path,
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: ExplainSettings | None = None,
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
) -> Bundle:
    """Explain every record of ``fasta`` and write a bundle into ``out``.

    Parameters
    ----------
    fasta
        FASTA or FASTQ file, plain or gzipped.
    model
        A model file, ``"default"`` for the bundled model, or a loaded model.
    out
        Output folder; must be new, empty, or an earlier seqsal output.
    settings
        Methods, target and plotting options; defaults explain with saliency
        and gradient × input.
    device
        Where to compute; CUDA when available by default.
    progress
        Show a progress bar on stderr (only when it is a terminal).
    """
    settings = settings or ExplainSettings()
    settings.methods = parse_methods(settings.methods)
    fasta = Path(fasta)
    loaded = load_model(model)
    motifs = _load_motifs(settings)
    length = loaded.config.input_length
    n_records = validate_fasta(fasta, length, settings.fit)
    folder = io.prepare_output_dir(out)
    manifest = _manifest(fasta, model, loaded, settings)
    io.write_json(folder / io.MANIFEST, manifest)

    ids: list[str] = []
    onehots, logits, fits = [], [], []
    hypothetical: dict[str, list[np.ndarray]] = {m: [] for m in settings.methods}
    bar = tqdm(total=n_records, unit="seq", desc="explain", disable=not (progress and sys.stderr.isatty()))
    with bar:
        for records in io.iter_batches(io.iter_records(fasta), settings.batch_size):
            X, batch_fits = encode_records(records, length, settings.fit)
            ids.extend(r.id for r in records)
            fits.extend(batch_fits)
            onehots.append(X)
            logits.append(predict(loaded, X, batch_size=settings.batch_size, device=device))
            for method in settings.methods:
                hypothetical[method].append(
                    attribute(loaded, X, method, settings.target, output=settings.output,
                              correct=settings.correct, hypothetical=True,
                              batch_size=settings.batch_size, device=device)
                )
            bar.update(len(records))

    onehot = np.concatenate(onehots)
    attributions = {m: np.concatenate(parts) for m, parts in hypothetical.items()}
    scores = _score_table(loaded, ids, np.concatenate(logits), fits, onehot, attributions, settings)
    io.write_npz(folder / "ohe.npz", onehot)
    for method, values in attributions.items():
        io.write_npz(folder / f"attr.{method}.npz", values)
    io.write_table(folder / "scores.tsv", scores)

    bundle = Bundle(folder, ids, onehot, attributions, scores, manifest)
    top_ids = scores.sort_values("prediction", ascending=False, kind="stable")["id"].head(settings.n_logos)
    logo_paths = draw_logos(bundle, list(top_ids), motifs=motifs, fmt=settings.logo_format)
    write_report(bundle, logo_paths)
    manifest.update(complete=True, n_sequences=len(ids),
                    finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    io.write_json(folder / io.MANIFEST, manifest)
    return bundle


def _manifest(fasta: Path, source, model: EnhancerCNN, settings: ExplainSettings) -> dict:
    model_path = None if isinstance(source, EnhancerCNN) else _model_file(source)
    return {
        "tool": "seqsal",
        "kind": "explain",
        "complete": False,
        "seqsal_version": seqsal.__version__,
        "torch_version": torch.__version__,
        "numpy_version": np.__version__,
        "python_version": platform.python_version(),
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "input": {"path": str(fasta), "sha256": io.file_sha256(fasta)},
        "model": {
            "path": str(model_path) if model_path else "in-memory",
            "sha256": io.file_sha256(model_path) if model_path else None,
            "config": model.config.to_dict(),
            "metadata": getattr(model, "metadata", {}),
        },
        "settings": asdict(settings),
        "files": {"onehot": "ohe.npz", "attributions": {m: f"attr.{m}.npz" for m in settings.methods},
                  "scores": "scores.tsv", "report": "report.html"},
        "score_kind": "hypothetical; projected = hypothetical * one-hot",
    }


def _model_file(source: str | Path) -> Path:
    return default_model_path() if str(source) == "default" else Path(source)


def _score_table(model, ids, logits, fits, onehot, attributions, settings) -> pd.DataFrame:
    target = resolve_target(model, settings.target)
    table = pd.DataFrame({"id": ids, "prediction": logits[:, target]})
    if model.config.task == "classification":
        table["probability"] = 1.0 / (1.0 + np.exp(-table["prediction"].to_numpy()))
    table["length_fit"] = [f.action for f in fits]
    table["original_length"] = [f.original_length for f in fits]
    table["offset"] = [f.offset for f in fits]
    offsets = table["offset"].to_numpy()
    for method, values in attributions.items():
        table[f"top_positions.{method}"] = _top_positions(values * onehot, offsets)
    return table


def load_bundle(folder: str | Path) -> Bundle:
    """Read an explain bundle back; refuses folders that are not complete seqsal bundles."""
    folder = Path(folder)
    manifest = io.read_manifest(folder)
    check(manifest.get("kind") == "explain", f"{folder}: not an explain bundle")
    check(manifest.get("complete"), f"{folder}: the explain run did not finish; run it again")
    scores = pd.read_csv(folder / "scores.tsv", sep="\t", dtype={"id": str})
    with np.load(folder / "ohe.npz") as data:
        onehot = data["arr_0"]
    attributions = {}
    for method, name in manifest["files"]["attributions"].items():
        with np.load(folder / name) as data:
            attributions[method] = data["arr_0"]
    return Bundle(folder, list(scores["id"]), onehot, attributions, scores, manifest)


def draw_logos(
    bundle: Bundle,
    ids: Sequence[str],
    *,
    methods: Sequence[str] | None = None,
    motifs: Sequence[Motif] = (),
    fmt: str = "png",
) -> list[Path]:
    """Draw the stacked logo figure of each id under each method into ``<bundle>/logos``.

    PNG and SVG give one file per id and method; PDF gives one multi-page file
    per method, the format for a supplement with many sequences.
    """
    check(fmt in ("png", "svg", "pdf"), f"unknown logo format {fmt!r}; choose png, svg or pdf")
    methods = list(methods or bundle.attributions)
    for method in methods:
        check(method in bundle.attributions,
              f"{bundle.folder}: has no attributions for {method!r}; it has {list(bundle.attributions)}")
    index = {record_id: i for i, record_id in enumerate(bundle.ids)}
    for record_id in ids:
        check(record_id in index, f"{bundle.folder}: no record with id {record_id!r}")
    folder = bundle.folder / "logos"
    folder.mkdir(exist_ok=True)
    paths = []
    for method in methods:
        figures = (_figure(bundle, index[record_id], method, motifs) for record_id in ids)
        if fmt == "pdf":
            path = folder / f"{method}.pdf"
            save_pdf_pages(figures, path)
            paths.append(path)
            continue
        for record_id, figure in zip(ids, figures):
            path = folder / f"{_safe_name(record_id)}.{method}.{fmt}"
            save_figure(figure, path)
            plt.close(figure)
            paths.append(path)
    return paths


def _figure(bundle: Bundle, i: int, method: str, motifs: Sequence[Motif]):
    row = bundle.scores.iloc[i]
    onehot = bundle.onehot[i]
    hits = scan(onehot[None], motifs) if motifs else []
    prediction = row["probability"] if "probability" in row else row["prediction"]
    correct = bundle.manifest["settings"].get("correct")
    label = f"{method} (corrected)" if correct else method
    return plot_attribution(bundle.attributions[method][i], onehot, record_id=str(row["id"]),
                            prediction=float(prediction), method=label, motif_hits=hits)


def _safe_name(record_id: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in record_id)


def write_report(bundle: Bundle, logo_paths: Sequence[Path]) -> Path:
    """Write ``report.html``: settings, the prediction table and the logos, all embedded."""
    manifest = bundle.manifest
    settings = manifest["settings"]
    report = Report(f"seqsal explain — {Path(manifest['input']['path']).name}")
    report.add_paragraph(
        f"{len(bundle.ids)} sequences explained with {', '.join(settings['methods'])} "
        f"({'with' if settings['correct'] else 'without'} gradient correction) on the model's "
        f"{settings['output']} for target {settings['target']}. Logos show projected scores "
        "(hypothetical × one-hot): letters above the axis raise the prediction, letters below lower it."
    )
    report.add_key_values({
        "input": manifest["input"]["path"],
        "input sha256": manifest["input"]["sha256"][:16] + "…",
        "model": manifest["model"]["path"],
        "model task": manifest["model"]["config"]["task"],
        "seqsal version": manifest["seqsal_version"],
        "torch version": manifest["torch_version"],
    }, caption="Run")
    report.add_heading("Predictions")
    ranked = bundle.scores.sort_values("prediction", ascending=False, kind="stable")
    report.add_table(ranked, caption="Sorted by prediction; top positions are 1-based in the input sequence.")
    pngs = [p for p in logo_paths if p.suffix == ".png"]
    if pngs:
        report.add_heading("Logos of the top sequences")
        for path in pngs:
            report.add_image(path, caption=path.name)
    path = bundle.folder / "report.html"
    report.write(path)
    return path
