"""The whole audit: library flanks first, then every check on one dataset, sharing one counting pass.

:func:`audit_dataset` runs the checks on data in memory; :func:`run_audit`
is the command: it reads and checks every input, claims the output folder,
runs the audit and writes it, so ``seqsal audit`` is one call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.audit.adapters import check_adapters, low_complexity
from seqsal.audit.alignment import AdapterIndex
from seqsal.audit.baselines import check_baselines
from seqsal.audit.composition import check_composition
from seqsal.audit.data import AuditData, load_dataset
from seqsal.audit.enrichment import check_kmers
from seqsal.audit.findings import AuditResult, AuditThresholds, CheckResult
from seqsal.audit.flanks import check_flanks, find_flanks, trim_flanks
from seqsal.audit.leakage import check_leakage
from seqsal.audit.model_check import check_model, flagged_artifacts
from seqsal.audit.profile import profile_dataset
from seqsal.audit.report import planned_files, write_audit_files
from seqsal.audit.stats import minimum_class_size
from seqsal.checks import check_int
from seqsal.motifs import Motif, MotifDatabase, load_adapters, load_database
from seqsal.progress import Progress
from seqsal.runs import RunFolder

if TYPE_CHECKING:
    from seqsal.models import EnhancerCNN


def audit_dataset(
    data: AuditData,
    *,
    thresholds: AuditThresholds | None = None,
    adapters: Mapping[str, str] | None = None,
    motifs: MotifDatabase | Iterable[Motif] | None = None,
    model: str | PathLike | EnhancerCNN | None = None,
    k_values: Iterable[int] = range(4, 9),
    baseline_max_per_class: int = 20_000,
    folds: int = 5,
    max_model_sequences: int = 1000,
    random_state: int | None = 0,
    device: str | None = None,
    progress: bool = False,
    model_label: str | None = None,
) -> AuditResult:
    """Run every check on a dataset.

    Library flanks shared by almost every record (:mod:`seqsal.audit.flanks`)
    are reported first and cut from the records that carry them; every class
    test then runs on the trimmed records, and positions the model check
    uses are mapped back to the records as given.

    Parameters
    ----------
    data
        From :func:`~seqsal.audit.data.load_dataset` or
        :meth:`~seqsal.audit.data.AuditData.from_records`.
    thresholds
        Flag rules; :class:`AuditThresholds` defaults when omitted.
    adapters
        Name -> sequence; the bundled list by default.
    motifs
        Known motifs for the k-mer annotation; bundled JASPAR 2016 by default.
    model
        A model, a model file or ``"default"`` (loaded once, by
        :func:`seqsal.models.load_model`); the model check runs only with one.
    k_values
        k-mer lengths of the enrichment check, each in 1-12.
    baseline_max_per_class, folds
        Subsample size and folds of the baselines.
    max_model_sequences
        Records carrying artifacts that the model check explains at most.
    random_state
        Seed for every random choice; the same seed gives the same report.
    device
        Torch device for the model check.
    progress
        Show progress (records counted, then each stage) on standard error.
    model_label
        How the report names the model; by default the path given, or
        ``"in-memory"`` for a model object.
    """
    thresholds = thresholds or AuditThresholds()
    k_values = check_settings(k_values, baseline_max_per_class, folds, max_model_sequences)
    adapters = load_adapters() if adapters is None else dict(adapters)
    motifs = load_database(None) if motifs is None else motifs
    loaded = None
    if model is not None:
        from seqsal.models import load_model

        loaded = load_model(model, device=device)  # a bad model stops here, before the long checks
    flanks = find_flanks(data, thresholds.flank_min_share, thresholds.flank_min_length)
    work = trim_flanks(data, flanks)
    index = AdapterIndex.build({name: s for name, s in adapters.items() if not low_complexity(s)},
                               thresholds.adapter_min_length, thresholds.adapter_mismatch_rate)
    with Progress(len(work), "audit", "seq", enabled=progress) as bar:
        profile = profile_dataset(work, k_values, thresholds.homopolymer_length, index, bar)
        bar.note("counted k-mers, composition and adapter seeds")
        checks = [check_adapters(work, thresholds, adapters, profile)]
        checks.append(check_kmers(work, thresholds, motifs, profile, k_values, adapters))
        bar.note("adapters and k-mers")
        checks.append(check_composition(work, thresholds, profile))
        checks.append(check_leakage(work, thresholds, profile))
        bar.note("composition and leakage")
        checks.append(check_baselines(work, thresholds, profile, baseline_max_per_class, folds, random_state))
        bar.note("baselines")
        if loaded is not None:
            checks.append(check_model(data, loaded, _as_given(work, flagged_artifacts(work, checks)), thresholds,
                                      max_model_sequences, random_state, device=device))
            bar.note("model")
    checks.append(check_flanks(data, flanks, thresholds, adapters))
    model_name = model_label or (None if model is None else str(model) if isinstance(model, (str, PathLike))
                                 else "in-memory")
    settings = {"k_values": list(k_values), "baseline_max_per_class": baseline_max_per_class, "folds": folds,
                "max_model_sequences": max_model_sequences, "random_state": random_state, "model": model_name}
    return AuditResult(_describe(data, checks, thresholds), thresholds, settings, checks)


def check_settings(
    k_values: Iterable[int] = range(4, 9), baseline_max_per_class: int = 20_000, folds: int = 5,
    max_model_sequences: int = 1000, **_: object,
) -> tuple[int, ...]:
    """Check :func:`audit_dataset`'s computation settings before any work; returns the sorted distinct k values."""
    k_values = tuple(sorted({check_int(k, "k_values", minimum=1, maximum=12) for k in k_values}))
    check_int(len(k_values), "the number of k_values", minimum=1)
    check_int(baseline_max_per_class, "baseline_max_per_class", minimum=2)
    check_int(folds, "folds", minimum=2)
    check_int(max_model_sequences, "max_model_sequences", minimum=1)
    return k_values


def _as_given(work: AuditData, artifacts: pd.DataFrame) -> pd.DataFrame:
    """Artifact positions in trimmed records moved back to the records as given."""
    if work.trimmed_5p is None or not len(artifacts):
        return artifacts
    shift = work.trimmed_5p[artifacts["row"].to_numpy(dtype=np.int64)]
    return artifacts.assign(start=artifacts["start"] + shift, end=artifacts["end"] + shift)


def _describe(data: AuditData, checks: list[CheckResult], thresholds: AuditThresholds) -> dict:
    """The dataset part of ``summary.json``: sources, class sizes, lengths, splits, minimum class sizes."""
    n_neg, n_pos = data.class_sizes
    lengths = data.lengths
    splits = None
    if data.splits is not None:
        names, counts = np.unique(data.splits, return_counts=True)
        splits = {str(name): int(count) for name, count in zip(names, counts)}
    by_name = {result.name: result for result in checks}
    tests = {"adapters": ("fisher", len(by_name["adapters"].findings)),
             "k-mers": ("fisher", len(by_name["kmers"].tables["kmers"])),
             "composition": ("ks", len(by_name["composition"].findings)), "baselines": ("rank", 1)}
    return {"sources": data.sources, "n_positive": n_pos, "n_negative": n_neg,
            "length_min": int(lengths.min()), "length_max": int(lengths.max()), "splits": splits,
            "minimum_class_size": {name: minimum_class_size(test, count, thresholds.fdr)
                                   for name, (test, count) in tests.items()}}


def run_audit(
    positives: str | PathLike,
    negatives: str | PathLike,
    out: str | PathLike,
    *,
    splits: str | PathLike | None = None,
    model: str | PathLike | None = None,
    motif_db: str | PathLike | None = None,
    adapters: str | PathLike | None = None,
    force: bool = False,
    **options: Any,
) -> AuditResult:
    """Read the inputs, audit them and write the audit to ``out``: what ``seqsal audit`` does.

    Every input is read and checked (and the model loaded) before the folder
    is claimed, so a bad input writes nothing; the folder's manifest records
    each input's path and SHA-256 (``model: "default"`` names the bundled
    model) and the command line given.

    Parameters
    ----------
    positives, negatives
        FASTA files of the two classes.
    out
        Output folder (see :func:`~seqsal.audit.report.write_audit`).
    splits
        TSV with ``id`` and ``split`` columns.
    model, motif_db, adapters
        Model file or ``"default"``; MEME/JASPAR motif file; adapter FASTA.
    force
        Replace an earlier audit in ``out`` even when this one would not
        rewrite all of its files.
    options
        :func:`audit_dataset`'s keyword options (thresholds, k_values, ...).
    """
    check_settings(**options)
    data = load_dataset(positives, negatives, splits)
    loaded = None
    if model is not None:
        from seqsal.models import load_model, model_provenance

        loaded = load_model(model, device=options.get("device"))  # once, and before anything is written
        provenance = model_provenance(model, loaded)
    motifs = load_database(motif_db)
    adapter_list = load_adapters(adapters)
    given = (("positives", positives), ("negatives", negatives), ("splits", splits), ("motif_db", motif_db),
             ("adapters", adapters))
    inputs = {name: {"path": str(path), **({"sha256": io.file_sha256(path)} if Path(path).is_file() else {})}
              for name, path in given if path is not None}
    if loaded is not None:
        inputs["model"] = {key: provenance[key] for key in ("kind", "path", "sha256")}
    folder = RunFolder.claim(out, "audit", writes=planned_files(model is not None), force=force)
    folder.start({"inputs": inputs})
    result = audit_dataset(data, adapters=adapter_list, motifs=motifs, model=loaded,
                           model_label=None if model is None else _model_label(model, provenance), **options)
    write_audit_files(result, folder)
    return result


def _model_label(model: object, provenance: dict) -> str:
    """How the report names the model: the path or name given, else the file it was loaded from."""
    return str(model) if isinstance(model, (str, PathLike)) else str(provenance.get("path") or "in-memory model")
