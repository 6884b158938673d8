"""The explain pipeline: FASTA in, an attribution bundle out, streaming and resumable.

A bundle is a folder that tfmodisco-lite, a plotting script and a lab report
can all read:

``ohe.npz|npy``             one-hot sequences ``(N, 4, L)``, key ``arr_0``
``attr.<method>.npz|npy``   hypothetical scores ``(N, 4, L)``, key ``arr_0``
``prediction.npy``          logits ``(N, T)``
``scores.tsv``              id, prediction, how each sequence was fitted, top positions; where the
                            input says where records lie (BED, coordinate ids): their genome span
                            and top positions in genome coordinates (:mod:`.coordinates`)
``seqlets.tsv`` ...         with ``settings.seqlets``: seqlets, their summary and chart
                            (:mod:`seqsal.explain.seqlets`)
``logos/``                  stacked logo figures of the top-K sequences
``report.html``             one self-contained page with settings, predictions and logos
``manifest.json``           versions, hashes, method parameters; ``complete`` is
                            false until every other file is written

Every record is checked first (:mod:`seqsal.explain.records`), so a bad
record fails the run before a file exists.  Memory then stays one batch wide:
records stream from the FASTA, results go straight to disk, and the score
table is written in chunks.  After every batch the manifest records how many
sequences are done, so ``resume=True`` continues an interrupted run from
there; per-sequence random streams (noise, shuffled references) are seeded by
the sequence's index, so a resumed run gives the same numbers as an
uninterrupted one.  The output folder is claimed through
:class:`seqsal.runs.RunFolder`: another kind of run is never overwritten, nor
a finished explain run whose arrays this run would not rewrite (unless
``force``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.special import expit

from seqsal import io
from seqsal.attribution import PREDICTING_METHODS, attribute, per_position
from seqsal.attribution.base import resolve_target
from seqsal.datasets import encode_records
from seqsal.encoding import fit_length
from seqsal.errors import check
from seqsal.explain.bundle import (
    NPZ_MAX_SEQUENCES,
    STALE_FILES,
    ArrayStore,
    Bundle,
    bundle_files,
    bundle_writes,
    load_bundle,
    pack_arrays,
)
from seqsal.explain.coordinates import coordinate_columns, genome_top_positions
from seqsal.explain.records import (
    STDIN,
    CheckedInput,
    input_file,
    open_intervals,
    scan_input,
)
from seqsal.explain.render import draw_bundle, read_truth
from seqsal.explain.seqlet_files import SeqletResult, write_seqlet_files
from seqsal.explain.seqlets import RECORD_COLUMNS, BundleRows, SeqletRunSettings, call_bundle_seqlets
from seqsal.explain.settings import (
    PRESENTATION_SETTINGS,
    ExplainSettings,
    checked,
    options_for,
)
from seqsal.figures.style import FigureOptions
from seqsal.models import EnhancerCNN, load_model, model_provenance, predict
from seqsal.motif_compare import load_tomtom
from seqsal.motifs import Motif, resolve_motifs
from seqsal.progress import Progress
from seqsal.runs import RunFolder

N_TOP_POSITIONS = 5

# What must match for a resume: the input's content, the model, the settings that decide the numbers.
_RESUME_KEYS = ("input", "model", "settings", "n_sequences", "coordinates")


def explain_fasta(
    fasta: str | Path,
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: ExplainSettings | None = None,
    *,
    device: str | torch.device | None = None,
    progress: bool = True,
    resume: bool = False,
    force: bool = False,
    figure: FigureOptions | None = None,
) -> Bundle:
    """Explain every record of ``fasta`` and write a bundle into ``out``.

    Parameters
    ----------
    fasta
        FASTA or FASTQ file, plain or gzipped; ``"-"`` reads standard input
        (recorded as ``-`` with the content's hash).
    model
        A model file, ``"default"`` for the bundled model, or a loaded model.
    out
        Output folder: new, empty, or an earlier explain run that this run
        rewrites completely (same methods or more).
    settings
        Methods, target, method options and plotting options; the defaults
        explain with saliency and gradient × input.  Never modified.
    device
        Where to compute; CUDA when available by default.
    progress
        Report progress on stderr: a bar on a terminal, a line every 30 s otherwise.
    resume
        Continue an interrupted run in ``out`` with the same input, model and
        settings from its last finished batch.
    force
        Replace an earlier explain run in ``out`` even when this run would not
        rewrite all its files, or when it is unfinished.
    figure
        Size, font size, resolution and window of the logos (screen defaults when omitted).

    Raises
    ------
    SeqsalError
        For a bad setting, a bad record (base, length, empty, repeated id
        unless ``settings.dedupe_ids``), or an output folder this run must not
        write into; nothing is written then.
    """
    settings, loaded, target, motifs = _prepare(model, settings)
    with input_file(fasta) as path:
        source = scan_input(path, loaded.config.input_length, settings.fit,
                            duplicate_ids="rename" if settings.dedupe_ids else "refuse")
        name = STDIN if str(fasta) == STDIN else io.input_name(fasta)
        return _explain(source, name, model, loaded, out, settings, target, motifs, device=device,
                        progress=progress, resume=resume, force=force, figure=figure)


def explain_bed(
    bed: str | Path,
    genome: str | Path,
    model: str | Path | EnhancerCNN,
    out: str | Path,
    settings: ExplainSettings | None = None,
    *,
    stranded: bool = False,
    device: str | torch.device | None = None,
    progress: bool = True,
    resume: bool = False,
    force: bool = False,
    figure: FigureOptions | None = None,
) -> Bundle:
    """Explain the intervals of a BED/narrowPeak file, fetched from ``genome``; write a bundle into ``out``.

    Each interval becomes one record of the model's input length, centred on
    its summit (narrowPeak) or its middle (:func:`seqsal.explain.records.open_intervals`);
    ``stranded`` reverse-complements minus-strand intervals.  ``scores.tsv``
    gets the genome span of every record, and the manifest the chromosome
    sizes that :func:`seqsal.explain.export.write_tracks` puts in bigWig headers.
    The other parameters are those of :func:`explain_fasta` (``settings.fit``
    and ``settings.dedupe_ids`` do not apply: windows have the model's length,
    and repeated names are always renamed, since repeated intervals are allowed).

    Raises
    ------
    SeqsalError
        For a malformed BED line (named), chromosomes the genome lacks (all
        named), a genome that cannot be indexed, and as :func:`explain_fasta`.
    """
    settings, loaded, target, motifs = _prepare(model, settings)
    with open_intervals(bed, genome, loaded.config.input_length, stranded=stranded) as source:
        return _explain(source, str(bed), model, loaded, out, settings, target, motifs, device=device,
                        progress=progress, resume=resume, force=force, figure=figure)


def _prepare(model, settings: ExplainSettings | None) -> tuple[ExplainSettings, EnhancerCNN, int, list[Motif]]:
    """Check the settings, load the model, resolve the target and the motifs: all before the input is read."""
    settings = checked(settings or ExplainSettings())
    loaded = load_model(model)
    if settings.truth:
        read_truth(settings.truth)
    if settings.seqlets:
        load_tomtom("naming seqlets after known motifs")
    return settings, loaded, resolve_target(loaded, settings.target), resolve_motifs(settings.motifs,
                                                                                       settings.motif_db)


def _explain(source: CheckedInput, name: str, model_source, model: EnhancerCNN, out: str | Path,
             settings: ExplainSettings, target: int, motifs: Sequence[Motif], *, device, progress: bool,
             resume: bool, force: bool, figure: FigureOptions | None) -> Bundle:
    """The run itself, once the input is checked: dry run, folder, arrays, scores, logos and report."""
    _dry_run(model, source, target, settings, device)
    fields = _manifest_fields(name, source, model_source, model, settings, target)
    folder = _open_folder(out, fields, bundle_writes(settings.methods, settings.seqlets), resume=resume,
                          force=force)
    stores = _stores(folder, source.n_records, model, settings.methods)
    _explain_records(folder, stores, source, model, target, settings, device, progress)
    predictions = stores["prediction"].read(0, source.n_records)[:, target]
    _write_scores(folder.path / "scores.tsv", source, stores, predictions, model, settings)
    seqlets = _seqlets(folder, stores, model, target, settings, device, progress) if settings.seqlets else None
    return finish_bundle(folder, stores, settings, motifs, seqlets, figure)


def _seqlets(folder: RunFolder, stores: dict[str, ArrayStore], model: EnhancerCNN, target: int,
             settings: ExplainSettings, device, progress: bool) -> SeqletResult:
    """The run's seqlets, called from the stored arrays (one null per method, see :mod:`.seqlets`)."""
    records = io.read_tsv(folder.path / "scores.tsv", usecols=lambda column: column in RECORD_COLUMNS)
    rows = BundleRows(stores["ohe"].read, {m: stores[m].read for m in settings.methods}, records)
    run_settings = SeqletRunSettings(p_threshold=settings.seqlet_p_threshold, fdr=settings.seqlet_fdr,
                                     motif_db=settings.motif_db)
    return call_bundle_seqlets(model, rows, settings, target, run_settings, device=device, progress=progress)


def _dry_run(model: EnhancerCNN, source: CheckedInput, target: int, settings: ExplainSettings, device) -> None:
    """Run every method on the first record, so a bad option fails before any file exists."""
    X, _ = encode_records([next(source.records())], model.config.input_length, settings.fit)
    for method in settings.methods:
        attribute(model, X, method, target, output=settings.output, correct=settings.correct, hypothetical=True,
                  batch_size=settings.batch_size, device=device, **options_for(method, settings, 0))


def _explain_records(folder: RunFolder, stores: dict[str, ArrayStore], source: CheckedInput, model: EnhancerCNN,
                     target: int, settings: ExplainSettings, device, progress: bool) -> None:
    """Attribute the records not yet done batch by batch, recording progress in the manifest after each."""
    done = folder.manifest["n_done"]
    length = model.config.input_length
    # The first method that computes the logits anyway hands them over, saving a separate forward pass.
    predicting = next((m for m in settings.methods if m in PREDICTING_METHODS), None)
    with Progress(source.n_records, "explain", "seq", enabled=progress, initial=done) as bar:
        for batch in io.iter_batches(source.records(done), settings.batch_size):
            X, _ = encode_records(batch, length, settings.fit)
            stores["ohe"].write(done, X)
            if predicting is None:
                stores["prediction"].write(done, predict(model, X, batch_size=settings.batch_size, device=device))
            for method in settings.methods:
                scores = attribute(model, X, method, target, output=settings.output, correct=settings.correct,
                                   hypothetical=True, batch_size=settings.batch_size, device=device,
                                   return_predictions=method == predicting,
                                   **options_for(method, settings, settings.first_index + done))
                if method == predicting:
                    scores, logits = scores
                    stores["prediction"].write(done, logits)
                stores[method].write(done, scores)
            done += len(batch)
            folder.save(n_done=done)
            bar.update(len(batch))


def finish_bundle(folder: RunFolder, stores: dict[str, ArrayStore], settings: ExplainSettings,
                  motifs: Sequence[Motif] = (), seqlets: SeqletResult | None = None,
                  figure: FigureOptions | None = None) -> Bundle:
    """Seqlet files, logos, report, ``.npz`` conversion and the completed manifest: the end of an explain
    run or a merge.

    Expects the arrays in ``stores`` and ``scores.tsv`` to be written; ``figure`` shapes the logos.
    """
    seqlet_files = {}
    if seqlets is not None:
        seqlet_files = write_seqlet_files(folder.path, seqlets, "seqlet_summary.tsv")
        folder.save(seqlets=seqlets.info)
    draw_bundle(folder.path, folder.manifest, stores, settings, motifs, seqlets, figure)
    if folder.manifest["n_sequences"] <= NPZ_MAX_SEQUENCES:
        pack_arrays(folder.path, settings.methods)
    folder.finish({**bundle_files(folder.path, settings.methods), **seqlet_files})
    return load_bundle(folder.path)


def _stores(folder: RunFolder, n: int, model: EnhancerCNN, methods: Sequence[str]) -> dict[str, ArrayStore]:
    """The bundle's arrays: created for a new run, reopened (and checked) for a resumed one."""
    create = folder.manifest["n_done"] == 0
    shape = (n, 4, model.config.input_length)
    return {
        "ohe": ArrayStore(folder.path / "ohe.npy", shape, create=create),
        "prediction": ArrayStore(folder.path / "prediction.npy", (n, model.config.n_outputs), create=create),
        **{m: ArrayStore(folder.path / f"attr.{m}.npy", shape, create=create) for m in methods},
    }


def _open_folder(out: str | Path, fields: dict, writes: set[str], *, resume: bool, force: bool) -> RunFolder:
    """Claim ``out`` for a new run, or reopen the interrupted run there; the manifest says ``complete: false``.

    The manifest is written before any array, so a run stopped at any point
    leaves a folder that ``resume`` can continue.
    """
    if not resume:
        folder = RunFolder.claim(out, "explain", writes=writes, force=force, resumable=True,
                                 clear=STALE_FILES)
        folder.start(fields)
        return folder
    folder = RunFolder.reopen(out, "explain")
    previous = folder.previous
    check(not previous.get("shards"), f"--resume: {out} holds an unfinished merge; run seqsal merge again")
    for key in _RESUME_KEYS:
        check(_comparable(_resume_view(previous.get(key), key)) == _comparable(_resume_view(fields.get(key), key)),
              f"--resume: the {key} differ from the interrupted run in {out}; "
              "resume with the same input, model and options, or start a new folder")
    folder.start({**fields, "started": previous["started"], "n_done": int(previous.get("n_done", 0))})
    return folder


def _resume_view(value, key: str):
    """What must match for a resume: the input's content (not how its path was typed), every setting that
    decides the numbers (a setting added since the interrupted run was written counts as its default)."""
    if key == "input" and isinstance(value, dict):
        return value.get("sha256")
    if key == "coordinates" and isinstance(value, dict):
        return {k: v for k, v in value.items() if k != "genome"}  # the genome's path may be typed differently
    if key == "settings" and isinstance(value, dict):
        value = {**asdict(ExplainSettings()), **value}
        return {k: v for k, v in value.items() if k not in PRESENTATION_SETTINGS}
    return value


def _comparable(value):
    """JSON round trip, so tuples and lists compare equal."""
    return json.loads(json.dumps(value, default=str))


def _manifest_fields(name: str, source: CheckedInput, model_source, model: EnhancerCNN,
                     settings: ExplainSettings, target: int) -> dict:
    fields = {
        "n_sequences": source.n_records,
        "target_index": target,
        "n_done": 0,
        "input": {"path": name, "sha256": io.file_sha256(source.path)},
        "model": model_provenance(model_source, model),
        "settings": asdict(settings),
        "score_kind": "hypothetical; projected = hypothetical * one-hot",
    }
    if source.renamed:
        fields["renamed_ids"] = source.renames()
    if source.ambiguous:
        fields["ambiguous_bases"] = dict(source.ambiguous)
    if source.coordinates:
        fields["coordinates"] = dict(source.coordinates)
    return fields


def _write_scores(path: Path, source: CheckedInput, stores: dict[str, ArrayStore], predictions: np.ndarray,
                 model: EnhancerCNN, settings: ExplainSettings) -> None:
    """Write ``scores.tsv`` chunk by chunk from the stored arrays and a second pass over the FASTA."""
    classification = model.config.task == "classification"
    with io.atomic_path(path) as temp, open(temp, "w") as handle:
        start = 0
        for chunk in io.iter_batches(source.located(), 4096):
            stop = start + len(chunk)
            fits = [fit_length(r.sequence, model.config.input_length)[1] for r, _ in chunk]
            locations = [location for _, location in chunk]
            table = pd.DataFrame({"id": [r.id for r, _ in chunk], "prediction": predictions[start:stop]})
            if classification:
                table["probability"] = expit(table["prediction"].to_numpy())
            table["length_fit"] = [f.action for f in fits]
            table["original_length"] = [f.original_length for f in fits]
            table["offset"] = offsets = np.array([f.offset for f in fits])
            if source.coordinates:
                table = table.assign(**coordinate_columns(locations, offsets))
            onehot = stores["ohe"].read(start, stop)
            for method in settings.methods:
                projected = stores[method].read(start, stop) * onehot
                top = _top_positions(projected, offsets, table["original_length"].to_numpy())
                table[f"top_positions.{method}"] = [",".join(str(p + 1) for p in row) for row in top]
                if source.coordinates:
                    table[f"top_genome_positions.{method}"] = genome_top_positions(top, locations)
            table.to_csv(handle, sep="\t", index=False, header=start == 0, float_format="%.6g")
            start = stop


def _top_positions(projected: np.ndarray, offsets: np.ndarray, lengths: np.ndarray) -> list[list[int]]:
    """0-based positions in the *original* sequence of the strongest non-zero per-position scores.

    Padding and positions that score exactly zero (``N``) are never listed, so
    a row may hold fewer than ``N_TOP_POSITIONS`` positions.
    """
    scores = np.abs(per_position(projected))
    top = np.argsort(-scores, axis=1, kind="stable")
    rows = []
    for order, row_scores, offset, length in zip(top, scores, offsets, lengths):
        original = order + offset
        keep = (original >= 0) & (original < length) & (row_scores[order] > 0)
        rows.append([int(p) for p in original[keep][:N_TOP_POSITIONS]])
    return rows
