"""``seqsal seqlets``: call and name the seqlets of a finished explain bundle into their own folder.

The same calls ``explain --seqlets`` makes during a run (:mod:`.seqlets`), for
bundles explained without them, merged bundles, or another threshold or
motif database.  The folder holds ``seqlets.tsv``, ``summary.tsv``,
``seqlets.png``, ``report.html`` and a manifest naming the bundle (with its
manifest's SHA-256), the model and the settings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, fields
from pathlib import Path

import torch
from torch import nn

from seqsal import io
from seqsal.explain.bundle import Bundle, load_bundle
from seqsal.explain.seqlet_files import SeqletResult, add_seqlet_section, write_seqlet_files
from seqsal.explain.seqlets import RECORD_COLUMNS, SeqletRunSettings, call_bundle_seqlets, rows_from_arrays
from seqsal.explain.settings import ExplainSettings, checked
from seqsal.models import explained_model, model_provenance
from seqsal.report import Report
from seqsal.runs import MANIFEST, RunFolder

#: Files a ``seqsal seqlets`` run writes besides its manifest.
RUN_FILES = ("seqlets.tsv", "summary.tsv", "seqlets.png", "report.html")


def explain_settings_of(bundle: Bundle) -> ExplainSettings:
    """The bundle's explain settings as recorded in its manifest (keys a newer or older seqsal lacks are left out)."""
    recorded = bundle.manifest["settings"]
    known = {f.name for f in fields(ExplainSettings)}
    return checked(ExplainSettings(**{k: v for k, v in recorded.items() if k in known}))


def seqlets_of_bundle(
    bundle: str | Path,
    out: str | Path,
    settings: SeqletRunSettings | None = None,
    *,
    model: str | Path | nn.Module | None = None,
    methods: Sequence[str] | None = None,
    device: str | torch.device | None = None,
    progress: bool = True,
    force: bool = False,
) -> SeqletResult:
    """Call the seqlets of a finished explain bundle and write them, with a report, into ``out``.

    Parameters
    ----------
    bundle
        A finished ``seqsal explain`` (or merge) folder.
    out
        Output folder: new, empty, or an earlier ``seqsal seqlets`` run.
    settings
        Threshold, motif database, null size and seed.
    model
        The model the bundle was explained with: a file, a loaded model, or
        None to reload the one its manifest describes (a seqsal file, a
        user's export, TorchScript file or code with its adapters).  A model
        whose SHA-256 differs from the manifest's is refused: the null must
        come from the same model.
    methods
        Methods to call seqlets for (default: all of the bundle's).
    device, progress, force
        Where the null is attributed; progress on stderr; replace an earlier run in ``out``.
    """
    settings = settings or SeqletRunSettings()
    loaded_bundle = load_bundle(bundle)
    loaded = explained_model(loaded_bundle.manifest["model"], model, device, run=str(loaded_bundle.folder))
    explain = explain_settings_of(loaded_bundle)
    folder = RunFolder.claim(out, "seqlets", force=force)
    folder.start({"bundle": {"path": str(loaded_bundle.folder),
                             "manifest_sha256": io.file_sha256(loaded_bundle.folder / MANIFEST)},
                  "model": model_provenance(loaded if model is None else model, loaded),
                  "settings": asdict(settings)})
    records = loaded_bundle.scores[[c for c in loaded_bundle.scores.columns if c in RECORD_COLUMNS]]
    rows = rows_from_arrays(loaded_bundle.onehot, loaded_bundle.attributions, records)
    result = call_bundle_seqlets(loaded, rows, explain, loaded_bundle.manifest["target_index"], settings,
                                 methods=methods, device=device, progress=progress)
    files = write_seqlet_files(folder.path, result, "summary.tsv")
    report = Report(f"seqsal seqlets — {loaded_bundle.folder.name}")
    report.add_paragraph(f"Seqlets of the {len(loaded_bundle.scores)} records of the explain bundle "
                         f"{loaded_bundle.folder} ({', '.join(result.info['n_seqlets'])}).")
    add_seqlet_section(report, result, folder.path / files["seqlet_chart"])
    report.write(folder.path / "report.html")
    folder.finish({**files, "report": "report.html"}, seqlets=result.info)
    return result
