"""The explain pipeline: FASTA in, an attribution bundle out, streaming and resumable.

A bundle is a folder that tfmodisco-lite, a plotting script and a lab report
can all read:

``ohe.npz|npy``             one-hot sequences ``(N, 4, L)``, key ``arr_0``
``attr.<method>.npz|npy``   hypothetical scores ``(N, 4, L)``, key ``arr_0``
``prediction.npy``          logits ``(N, T)``
``scores.tsv``              id, prediction, how each sequence was fitted, top positions
``logos/``                  stacked logo figures of the top-K sequences
``report.html``             one self-contained page with settings, predictions and logos
``manifest.json``           versions, hashes, method parameters; ``complete`` is
                            false until every other file is written

Memory stays one batch wide: records stream from the FASTA, results go
straight to disk, and the score table is written in chunks.  After every batch
the manifest records how many sequences are done, so ``resume=True``
continues an interrupted run from there; per-sequence random streams (noise,
shuffled references) are seeded by the sequence's index, so a resumed run
gives the same numbers as an uninterrupted one.
"""

from __future__ import annotations

import itertools
import json
import sys
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.special import expit
from tqdm import tqdm

from seqsal import io
from seqsal.attribution import METHODS, attribute, method_options, per_position
from seqsal.attribution.base import resolve_target
from seqsal.explain.bundle import NPZ_MAX_SEQUENCES, ArrayStore, Bundle, load_bundle, to_npz
from seqsal.datasets import check_length, encode_records
from seqsal.encoding import encode_indices, fit_length
from seqsal.errors import check
from seqsal.models import EnhancerCNN, load_model, model_provenance, predict
from seqsal.motifs import Motif, MotifDatabase, scan
from seqsal.plot import plot_attribution, save_figure, save_pdf_pages
from seqsal.report import Report

N_TOP_POSITIONS = 5
REPORT_ROWS = 200


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
    motif_threshold: float = 0.8
    logo_format: str = "png"
    options: dict = field(default_factory=dict)
    first_index: int = 0  # global index of the input's first record: seeds stay those of a whole-file run


@dataclass
class LogoItem:
    """What one stacked logo figure needs."""

    record_id: str
    onehot: np.ndarray
    hypothetical: np.ndarray
    prediction: float
    start: int = 0  # 0-based input position of the first model position (negative when padded)


def parse_methods(text: str | Sequence[str]) -> tuple[str, ...]:
    """Split ``"saliency,grad_x_input"`` and check every name against the registry."""
    names = [m.strip() for m in (text.split(",") if isinstance(text, str) else text) if m.strip()]
    check(names, "no attribution method given; choose from " + ", ".join(METHODS))
    for name in names:
        check(name in METHODS, f"unknown method {name!r}; choose from {', '.join(METHODS)}")
    return tuple(dict.fromkeys(names))


def _check_options(settings: ExplainSettings) -> None:
    accepted = {name for method in settings.methods for name in method_options(method)}
    for name in settings.options:
        check(name in accepted, f"option {name!r} applies to none of the methods {list(settings.methods)}")


def _options_for(method: str, settings: ExplainSettings, offset: int) -> dict:
    """The run's options that ``method`` accepts, with the batch's global offset for seeding."""
    accepted = method_options(method)
    options = {k: v for k, v in settings.options.items() if k in accepted}
    if "offset" in accepted:
        options["offset"] = offset
    return options


def load_motif_list(names: Sequence[str], motif_db: str | None = None) -> list[Motif]:
    """Motifs by TF name or matrix id from ``motif_db`` (default: the bundled JASPAR); none for no names."""
    if not names:
        return []
    database = MotifDatabase.from_file(motif_db) if motif_db else MotifDatabase.default()
    return list(database.get_many(names))


def _dry_run(model: EnhancerCNN, fasta: Path, target: int, settings: ExplainSettings, device) -> None:
    """Run every method on the first record, so a bad option fails before any file exists."""
    check(settings.batch_size > 0, f"--batch-size must be positive, got {settings.batch_size}")
    first = next(io.iter_records(fasta))
    X, _ = encode_records([first], model.config.input_length, settings.fit)
    for method in settings.methods:
        attribute(model, X, method, target, output=settings.output, correct=settings.correct, hypothetical=True,
                  batch_size=settings.batch_size, device=device, **_options_for(method, settings, 0))


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


def explain_fasta(
    fasta: str | Path,
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: ExplainSettings | None = None,
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
    resume: bool = False,
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
        Methods, target, method options and plotting options; the defaults
        explain with saliency and gradient × input.
    device
        Where to compute; CUDA when available by default.
    progress
        Show a progress bar with sequences/second on stderr (only on a terminal).
    resume
        Continue an interrupted run in ``out`` with the same input, model and
        settings from its last finished batch.
    """
    settings = settings or ExplainSettings()
    settings.methods = parse_methods(settings.methods)
    _check_options(settings)
    fasta = Path(fasta)
    loaded = load_model(model)
    target = resolve_target(loaded, settings.target)
    motifs = load_motif_list(settings.motifs, settings.motif_db)
    length = loaded.config.input_length
    n = validate_fasta(fasta, length, settings.fit)
    _dry_run(loaded, fasta, target, settings, device)
    manifest = _manifest(fasta, model, loaded, settings, n, target)
    folder, done = _start(out, manifest, resume)

    shape = (n, 4, length)
    stores = {
        "ohe": ArrayStore(folder / "ohe.npy", shape, create=done == 0),
        "prediction": ArrayStore(folder / "prediction.npy", (n, loaded.config.n_outputs), create=done == 0),
        **{m: ArrayStore(folder / f"attr.{m}.npy", shape, create=done == 0) for m in settings.methods},
    }
    records = itertools.islice(io.iter_records(fasta), done, None)
    bar = tqdm(total=n, initial=done, unit="seq", desc="explain", smoothing=0.1,
               disable=not (progress and sys.stderr.isatty()))
    with bar:
        for batch in io.iter_batches(records, settings.batch_size):
            X, _ = encode_records(batch, length, settings.fit)
            stores["ohe"].write(done, X)
            stores["prediction"].write(done, predict(loaded, X, batch_size=settings.batch_size, device=device))
            for method in settings.methods:
                scores = attribute(loaded, X, method, target, output=settings.output, correct=settings.correct,
                                   hypothetical=True, batch_size=settings.batch_size, device=device,
                                   **_options_for(method, settings, settings.first_index + done))
                stores[method].write(done, scores)
            done += len(batch)
            manifest["n_done"] = done
            io.write_json(folder / io.MANIFEST, manifest)
            bar.update(len(batch))

    _write_scores(folder / "scores.tsv", fasta, stores, stores["prediction"].read(0, n)[:, target], loaded,
                  settings)
    return finish_bundle(folder, manifest, stores, settings, motifs)


def finish_bundle(folder: Path, manifest: dict, stores: dict[str, ArrayStore], settings: ExplainSettings,
                  motifs: Sequence[Motif] = ()) -> Bundle:
    """Logos, report, ``.npz`` conversion and the completed manifest: the end of an explain run or a merge.

    Expects the arrays in ``stores`` and ``scores.tsv`` to be written.  Logos
    show the ``settings.n_logos`` highest predictions of the explained target,
    ranked at full precision (ties keep input order), so a merged bundle gets
    the logos its single-run equivalent would.
    """
    n = manifest["n_sequences"]
    predictions = stores["prediction"].read(0, n)[:, manifest["target_index"]]
    top = np.argsort(-predictions, kind="stable")[: settings.n_logos]
    rows = _score_rows_at(folder / "scores.tsv", top)
    if manifest["model"]["config"]["task"] == "classification":
        predictions = expit(predictions)
    items = {
        m: [LogoItem(rows[i][0], stores["ohe"].read(i, i + 1)[0], stores[m].read(i, i + 1)[0],
                     float(predictions[i]), start=rows[i][1])
            for i in top]
        for m in settings.methods
    }
    logo_paths = draw_logos(folder, items, motifs=motifs, fmt=settings.logo_format, correct=settings.correct,
                            motif_threshold=settings.motif_threshold)
    write_report(folder, manifest, _top_rows(folder / "scores.tsv", REPORT_ROWS), logo_paths)
    if n <= NPZ_MAX_SEQUENCES:
        for name in ("ohe", *(f"attr.{m}" for m in settings.methods)):
            to_npz(folder / f"{name}.npy")
    manifest["files"] = _file_names(folder, settings.methods)
    manifest.update(complete=True, finished=datetime.now(timezone.utc).isoformat(timespec="seconds"))
    io.write_json(folder / io.MANIFEST, manifest)
    return load_bundle(folder)


_RESUME_KEYS = ("input", "model", "settings", "n_sequences")

#: Settings that only shape logos and the report, drawn at the end: a resumed run (or a merge) may change them.
PRESENTATION_SETTINGS = ("n_logos", "logo_format", "motifs", "motif_db", "motif_threshold")


_OUTPUTS = ("ohe.npy", "ohe.npz", "prediction.npy", "scores.tsv", "report.html")


def _start(out: str | Path, manifest: dict, resume: bool) -> tuple[Path, int]:
    """Create the output folder, or reopen an unfinished run when resuming; returns (folder, n_done).

    The ``complete: false`` manifest is written before any array, so a run
    stopped at any point leaves a folder that ``--resume`` can continue.
    Starting afresh in an earlier run's folder removes that run's arrays and
    logos, so no stale file can be mistaken for this run's.
    """
    if resume:
        previous_path = Path(out) / io.MANIFEST
        check(previous_path.is_file(), f"--resume: {out} holds no explain run to continue")
        previous = io.read_manifest(out)
        check(not previous.get("complete"), f"--resume: the run in {out} already finished")
        check(not previous.get("shards"), f"--resume: {out} holds an unfinished merge; run seqsal merge again")
        for key in _RESUME_KEYS:
            check(_comparable(_resume_view(previous.get(key), key)) == _comparable(_resume_view(manifest[key], key)),
                  f"--resume: the {key} differ from the interrupted run in {out}; "
                  "resume with the same input, model and options, or start a new folder")
        manifest["started"] = previous["started"]
        manifest["n_done"] = int(previous.get("n_done", 0))
        return Path(out), manifest["n_done"]
    folder = io.prepare_output_dir(out)
    previous = io.read_manifest(folder) if (folder / io.MANIFEST).is_file() else None
    unfinished = previous is not None and not previous.get("complete") and previous.get("kind") == "explain"
    check(not unfinished or previous.get("shards"),
          f"{folder} holds an unfinished explain run; continue it with --resume or choose a new folder")
    for name in _OUTPUTS:
        (folder / name).unlink(missing_ok=True)
    for stale in [*folder.glob("attr.*.np[yz]"), *folder.glob("logos/*")]:
        stale.unlink()
    io.write_json(folder / io.MANIFEST, manifest)
    return folder, 0


def _resume_view(value, key: str):
    """What must match for a resume: the input's content (not how its path was typed), every setting that
    decides the numbers."""
    if key == "input" and isinstance(value, dict):
        return value.get("sha256")
    if key == "settings" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k not in PRESENTATION_SETTINGS}
    return value


def _comparable(value):
    """JSON round trip, so tuples and lists compare equal."""
    return json.loads(json.dumps(value, default=str))


def _manifest(fasta: Path, source, model: EnhancerCNN, settings: ExplainSettings, n: int,
              target: int) -> dict:
    return {
        **io.manifest_header("explain"),
        "n_sequences": n,
        "target_index": target,
        "n_done": 0,
        "input": {"path": str(fasta), "sha256": io.file_sha256(fasta)},
        "model": model_provenance(source, model),
        "settings": asdict(settings),
        "score_kind": "hypothetical; projected = hypothetical * one-hot",
    }


def _file_names(folder: Path, methods: Sequence[str]) -> dict:
    def name(stem: str) -> str:
        return f"{stem}.npz" if (folder / f"{stem}.npz").is_file() else f"{stem}.npy"

    return {"onehot": name("ohe"), "attributions": {m: name(f"attr.{m}") for m in methods},
            "prediction": "prediction.npy", "scores": "scores.tsv", "report": "report.html"}


def _write_scores(path: Path, fasta: Path, stores: dict, predictions: np.ndarray, model: EnhancerCNN,
                  settings: ExplainSettings) -> None:
    """Write ``scores.tsv`` chunk by chunk from the stored arrays and a second pass over the FASTA."""
    classification = model.config.task == "classification"
    with io.atomic_path(path) as temp, open(temp, "w") as handle:
        start = 0
        for chunk in io.iter_batches(io.iter_records(fasta), 4096):
            stop = start + len(chunk)
            fits = [fit_length(r.sequence, model.config.input_length)[1] for r in chunk]
            table = pd.DataFrame({"id": [r.id for r in chunk], "prediction": predictions[start:stop]})
            if classification:
                table["probability"] = expit(table["prediction"].to_numpy())
            table["length_fit"] = [f.action for f in fits]
            table["original_length"] = [f.original_length for f in fits]
            table["offset"] = offsets = np.array([f.offset for f in fits])
            onehot = stores["ohe"].read(start, stop)
            for method in settings.methods:
                projected = stores[method].read(start, stop) * onehot
                table[f"top_positions.{method}"] = _top_positions(projected, offsets,
                                                                   table["original_length"].to_numpy())
            table.to_csv(handle, sep="\t", index=False, header=start == 0, float_format="%.6g")
            start = stop


def _top_positions(projected: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> list[str]:
    """1-based positions in the *original* sequence of the strongest non-zero per-position scores.

    Padding and positions that score exactly zero (``N``) are never listed, so
    a row may hold fewer than ``N_TOP_POSITIONS`` positions.
    """
    scores = np.abs(per_position(projected))
    top = np.argsort(-scores, axis=1, kind="stable")
    rows = []
    for order, row_scores, offset, length in zip(top, scores, offsets, lengths):
        original = order + offset
        keep = (original >= 0) & (original < length) & (row_scores[order] > 0)
        rows.append(",".join(str(int(p) + 1) for p in original[keep][:N_TOP_POSITIONS]))
    return rows


def _top_rows(path: Path, n_rows: int) -> pd.DataFrame:
    """The ``n_rows`` highest predictions of a score table, read in chunks."""
    best = None
    for chunk in io.read_tsv(path, chunksize=50_000):
        best = chunk if best is None else pd.concat([best, chunk])
        best = best.nlargest(n_rows, "prediction", keep="first")
    return best.reset_index(drop=True)


def _score_rows_at(path: Path, indices: np.ndarray) -> dict[int, tuple[str, int]]:
    """Record id and length-fit offset of the given rows of ``scores.tsv``, read in chunks."""
    wanted = set(int(i) for i in indices)
    rows = {}
    for chunk in io.read_tsv(path, usecols=["id", "offset"], chunksize=50_000):
        for i in wanted.intersection(chunk.index):
            rows[i] = (chunk.at[i, "id"], int(chunk.at[i, "offset"]))
    return rows


def bundle_logo_items(bundle: Bundle, ids: Sequence[str], method: str) -> list[LogoItem]:
    """Logo inputs for ``ids`` from a finished bundle."""
    check(method in bundle.attributions,
          f"{bundle.folder}: has no attributions for {method!r}; it has {list(bundle.attributions)}")
    index = {record_id: i for i, record_id in enumerate(bundle.scores["id"])}
    items = []
    for record_id in ids:
        check(record_id in index, f"{bundle.folder}: no record with id {record_id!r}")
        row = bundle.scores.iloc[index[record_id]]
        prediction = row["probability"] if "probability" in row else row["prediction"]
        i = index[record_id]
        items.append(LogoItem(record_id, np.asarray(bundle.onehot[i]), np.asarray(bundle.attributions[method][i]),
                              float(prediction), start=int(row["offset"])))
    return items


def draw_logos(
    folder: Path,
    items: dict[str, list[LogoItem]],
    *,
    motifs: Sequence[Motif] = (),
    fmt: str = "png",
    correct: bool = False,
    motif_threshold: float = 0.8,
) -> list[Path]:
    """Draw a stacked logo figure per item and method into ``<folder>/logos``.

    PNG and SVG give one file per id and method; PDF gives one multi-page file
    per method, the format for a supplement with many sequences.  Known motifs
    are boxed where their log-odds score reaches ``motif_threshold`` of its
    maximum.
    """
    check(fmt in ("png", "svg", "pdf"), f"unknown logo format {fmt!r}; choose png, svg or pdf")
    logos = folder / "logos"
    logos.mkdir(exist_ok=True)
    paths = []
    for method, method_items in items.items():
        if not method_items:
            continue
        label = f"{method} (corrected)" if correct else method
        figures = (_figure(item, label, motifs, motif_threshold) for item in method_items)
        if fmt == "pdf":
            path = logos / f"{method}.pdf"
            save_pdf_pages(figures, path)
            paths.append(path)
            continue
        for item, stem, figure in zip(method_items, _file_stems(method_items), figures):
            path = logos / f"{stem}.{method}.{fmt}"
            save_figure(figure, path)
            plt.close(figure)
            paths.append(path)
    return paths


def _figure(item: LogoItem, label: str, motifs: Sequence[Motif], motif_threshold: float):
    hits = scan(item.onehot[None], motifs, relative_threshold=motif_threshold) if motifs else []
    return plot_attribution(item.hypothetical, item.onehot, record_id=item.record_id,
                            prediction=item.prediction, method=label, motif_hits=hits, start=item.start)


def _file_stems(items: Sequence[LogoItem]) -> list[str]:
    """File-system-safe names from record ids; ids that collide (duplicates, or ``a/b`` and ``a_b``) get ``_2``,
    ``_3``, ... in order, so no logo overwrites another."""
    stems, used = [], set()
    for item in items:
        base = "".join(c if c.isalnum() or c in "._-" else "_" for c in item.record_id)
        stem, copy = base, 1
        while stem in used:
            copy += 1
            stem = f"{base}_{copy}"
        used.add(stem)
        stems.append(stem)
    return stems


def write_report(folder: Path, manifest: dict, top_rows: pd.DataFrame, logo_paths: Sequence[Path]) -> Path:
    """Write ``report.html``: settings, the top of the prediction table and the logos, all embedded."""
    settings = manifest["settings"]
    digest = manifest["input"]["sha256"]
    report = Report(f"seqsal explain — {Path(manifest['input']['path']).name}")
    report.add_paragraph(
        f"{manifest['n_sequences']} sequences explained with {', '.join(settings['methods'])} "
        f"({'with' if settings['correct'] else 'without'} gradient correction) on the model's "
        f"{settings['output']} for target {settings['target']}. Logos show projected scores "
        "(hypothetical × one-hot): letters above the axis raise the prediction, letters below lower it; "
        "shaded boxes mark known-motif matches."
    )
    report.add_key_values({
        "input": manifest["input"]["path"],
        "input sha256": f"{digest[:16]}…" if digest else "per shard, listed in manifest.json",
        "model": manifest["model"]["path"],
        "model task": manifest["model"]["config"]["task"],
        "method options": ", ".join(f"{k}={v}" for k, v in settings["options"].items()) or "defaults",
        "seqsal version": manifest["seqsal_version"],
        "torch version": manifest["torch_version"],
    }, caption="Run")
    report.add_heading("Predictions")
    report.add_table(top_rows, caption=f"The {len(top_rows)} highest predictions (all rows are in scores.tsv); "
                                       "top positions are 1-based in the input sequence.")
    pngs = [p for p in logo_paths if p.suffix == ".png"]
    if pngs:
        report.add_heading("Logos of the top sequences")
        for path in pngs:
            report.add_image(path, caption=path.name)
    path = folder / "report.html"
    report.write(path)
    return path
