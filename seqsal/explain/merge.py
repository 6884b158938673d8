"""Merging explain bundles of consecutive shards into the bundle of the whole input.

Large inputs are split (:func:`seqsal.shards.split_fasta`), each shard is explained
on its own core or cluster node with ``first_index`` set to the shard's place
in the input, and :func:`merge_bundles` puts the pieces back together.  The
merged folder is an ordinary explain bundle: arrays and ``scores.tsv`` in
input order, logos of the top predictions and a report, and a manifest that
lists every shard with the hashes of its input, manifest and arrays.  Because
seeded methods draw their noise and references by the sequence's global
index, the merged attributions equal those of one ``seqsal explain`` run over
the whole file.
"""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import numpy as np

from seqsal import io
from seqsal.attribution import method_options
from seqsal.explain.bundle import ArrayStore, Bundle, load_bundle
from seqsal.errors import check
from seqsal.explain.pipeline import PRESENTATION_SETTINGS, ExplainSettings, finish_bundle, load_motif_list

# Settings that may differ between shards without changing the merged numbers (batch size only to rounding).
_PER_SHARD_SETTINGS = (*PRESENTATION_SETTINGS, "first_index", "batch_size")


def merge_bundles(
    folders: Sequence[str | Path],
    out: str | Path,
    *,
    n_logos: int = 10,
    logo_format: str = "png",
    motifs: Sequence[str] = (),
    motif_db: str | None = None,
    motif_threshold: float = 0.8,
) -> Bundle:
    """Concatenate the explain bundles in ``folders`` (input order) into one bundle in ``out``.

    Parameters
    ----------
    folders
        Finished explain bundles of consecutive shards, first shard first.
        They must share the model (same file hash) and every setting that
        decides the numbers; with seeded methods (SmoothGrad, shuffled
        references, LIME/KernelSHAP), each shard's ``first_index`` must equal
        the number of sequences before it.
    out
        Output folder: new, empty, or an earlier seqsal output.
    n_logos, logo_format, motifs, motif_db, motif_threshold
        Logos of the merged bundle, as for ``seqsal explain``.

    Raises
    ------
    SeqsalError
        When a folder is not a finished bundle, the shards disagree on model or
        settings, or seeded shards are out of order.
    """
    check(len(folders) > 0, "give at least one explain bundle to merge")
    shards = [load_bundle(folder) for folder in folders]
    check(len({s.folder.resolve() for s in shards}) == len(shards), "the same bundle is listed twice")
    check(Path(out).resolve() not in {s.folder.resolve() for s in shards},
          f"--out {out} is one of the bundles being merged; write the merge to a new folder")
    settings = _common_settings(shards)
    settings.update(n_logos=n_logos, logo_format=logo_format, motifs=tuple(motifs), motif_db=motif_db,
                    motif_threshold=motif_threshold)
    merged_settings = ExplainSettings(**settings)
    motif_list = load_motif_list(merged_settings.motifs, motif_db)

    folder = io.prepare_output_dir(out)
    for stale in [*folder.glob("*.np[yz]"), *folder.glob("logos/*"), folder / "scores.tsv", folder / "report.html"]:
        stale.unlink(missing_ok=True)
    n = sum(len(shard.scores) for shard in shards)
    manifest = _merged_manifest(shards, settings, n)
    io.write_json(folder / io.MANIFEST, manifest)

    first = shards[0]
    stores = {
        "ohe": ArrayStore(folder / "ohe.npy", (n, *first.onehot.shape[1:])),
        "prediction": ArrayStore(folder / "prediction.npy", (n, manifest["model"]["config"]["n_outputs"])),
        **{m: ArrayStore(folder / f"attr.{m}.npy", (n, *first.onehot.shape[1:])) for m in settings["methods"]},
    }
    start = 0
    with io.atomic_path(folder / "scores.tsv") as temp, open(temp, "w") as scores:
        for shard in shards:
            stop = start + len(shard.scores)
            stores["ohe"].write(start, shard.onehot)
            stores["prediction"].write(start, np.load(shard.folder / shard.manifest["files"]["prediction"]))
            for method in settings["methods"]:
                stores[method].write(start, shard.attributions[method])
            # the shard's table verbatim: numbers stay exactly as the shard wrote them
            with open(shard.folder / "scores.tsv") as table:
                header = table.readline()
                if start == 0:
                    scores.write(header)
                scores.writelines(table)
            start = stop
    return finish_bundle(folder, manifest, stores, merged_settings, motif_list)


def _common_settings(shards: Sequence[Bundle]) -> dict:
    """The settings every shard shares; errors name the first shard that differs."""
    first = shards[0].manifest
    reference = {k: v for k, v in first["settings"].items() if k not in _PER_SHARD_SETTINGS}
    for shard in shards[1:]:
        manifest = shard.manifest
        check(manifest["model"]["sha256"] == first["model"]["sha256"]
              and manifest["model"]["config"] == first["model"]["config"],
              f"{shard.folder}: explained with another model than {shards[0].folder}; merge only shards of one run")
        for key, value in reference.items():
            check(manifest["settings"].get(key) == value,
                  f"{shard.folder}: setting {key!r} is {manifest['settings'].get(key)!r}, but "
                  f"{value!r} in {shards[0].folder}; merge only shards explained with the same options")
        check(manifest.get("target_index") == first.get("target_index"),
              f"{shard.folder}: explains another target than {shards[0].folder}")
    seeded = any("offset" in method_options(m) for m in reference["methods"])
    expected = int(first["settings"].get("first_index", 0))  # a merge may start mid-input (merging merges)
    for shard in shards:
        first_index = int(shard.manifest["settings"].get("first_index", 0))
        check(not seeded or first_index == expected,
              f"{shard.folder}: first_index is {first_index}, but the shards before it end at {expected}; seeded "
              "methods need the shards in input order, each explained with --first-index set to its place")
        expected += len(shard.scores)
    return copy.deepcopy(dict(first["settings"]))


def _merged_manifest(shards: Sequence[Bundle], settings: dict, n: int) -> dict:
    first = shards[0].manifest
    inputs = [shard.manifest["input"] for shard in shards]
    manifest = {key: copy.deepcopy(value) for key, value in first.items()
                if key not in ("files", "finished", "input", "settings", "n_sequences", "n_done", "complete")}
    manifest.update(
        kind="explain",
        complete=False,
        n_sequences=n,
        n_done=n,
        started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        input={"path": f"{len(shards)} shards: " + ", ".join(Path(i["path"]).name for i in inputs), "sha256": None},
        settings=settings,
        shards=[_shard_entry(shard) for shard in shards],
    )
    return manifest


def _shard_entry(shard: Bundle) -> dict:
    files = shard.manifest["files"]
    names = [files["onehot"], files["prediction"], files["scores"], *files["attributions"].values()]
    return {
        "folder": str(shard.folder.resolve()),
        "input": shard.manifest["input"],
        "first_index": int(shard.manifest["settings"].get("first_index", 0)),
        "n_sequences": len(shard.scores),
        "manifest_sha256": io.file_sha256(shard.folder / io.MANIFEST),
        "files_sha256": {name: io.file_sha256(shard.folder / name) for name in names},
    }
