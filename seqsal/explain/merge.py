"""Merging explain bundles of consecutive shards into the bundle of the whole input.

Large inputs are split (:func:`seqsal.explain.shards.split_fasta`), each shard is explained
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
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from seqsal import io
from seqsal.attribution import method_options
from seqsal.errors import check
from seqsal.explain.bundle import (
    STALE_FILES,
    ArrayStore,
    Bundle,
    bundle_writes,
    load_bundle,
)
from seqsal.explain.pipeline import finish_bundle
from seqsal.explain.settings import PRESENTATION_SETTINGS, ExplainSettings, checked
from seqsal.figures.style import FigureOptions
from seqsal.motifs import resolve_motifs
from seqsal.runs import MANIFEST, RunFolder, read_manifest

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
    figure: FigureOptions | None = None,
    force: bool = False,
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
        Output folder: new, empty, an unfinished merge, or an earlier explain
        bundle that the merge rewrites completely (same methods or more).
    n_logos, logo_format, motifs, motif_db, motif_threshold
        Logos of the merged bundle, as for ``seqsal explain``.
    figure
        Size, lettering and window of the logos; screen defaults when omitted.
    force
        Replace an explain bundle in ``out`` even when the merge would not
        rewrite all its files, or when it is an unfinished explain run.

    Raises
    ------
    SeqsalError
        When a folder is not a finished bundle, the shards disagree on model or
        settings, seeded shards are out of order, two shards hold the same
        record id, or ``out`` must not be written into.
    """
    check(len(folders) > 0, "give at least one explain bundle to merge")
    shards = [load_bundle(folder) for folder in folders]
    check(len({s.folder.resolve() for s in shards}) == len(shards), "the same bundle is listed twice")
    check(Path(out).resolve() not in {s.folder.resolve() for s in shards},
          f"--out {out} is one of the bundles being merged; write the merge to a new folder")
    _check_unique_ids(shards)
    settings = _common_settings(shards)
    # Shards' seqlets come from per-shard nulls; the merge keeps none (seqsal seqlets calls them on the merge).
    settings.update(n_logos=n_logos, logo_format=logo_format, motifs=tuple(motifs), motif_db=motif_db,
                    motif_threshold=motif_threshold, seqlets=False, truth=None)
    merged_settings = checked(ExplainSettings(**settings))
    motif_list = resolve_motifs(merged_settings.motifs, motif_db)

    folder = RunFolder.claim(out, "explain", writes=bundle_writes(merged_settings.methods), force=force,
                             resumable=not _is_unfinished_merge(Path(out)), clear=STALE_FILES)
    n = sum(len(shard.scores) for shard in shards)
    folder.start(_merged_fields(shards, settings, n))

    first = shards[0]
    stores = {
        "ohe": ArrayStore(folder.path / "ohe.npy", (n, *first.onehot.shape[1:])),
        "prediction": ArrayStore(folder.path / "prediction.npy",
                                 (n, first.manifest["model"]["config"]["n_outputs"])),
        **{m: ArrayStore(folder.path / f"attr.{m}.npy", (n, *first.onehot.shape[1:])) for m in settings["methods"]},
    }
    start = 0
    with io.atomic_path(folder.path / "scores.tsv") as temp, open(temp, "w") as scores:
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
    return finish_bundle(folder, stores, merged_settings, motif_list, figure=figure)


def _is_unfinished_merge(out: Path) -> bool:
    """Whether ``out`` holds an interrupted merge: replaced without ``force``, since a merge cannot resume."""
    if not (out / MANIFEST).is_file():
        return False
    previous = read_manifest(out)
    return previous.get("kind") == "explain" and not previous.get("complete") and bool(previous.get("shards"))


def _check_unique_ids(shards: Sequence[Bundle]) -> None:
    """Refuse a record id that two rows share: the merged bundle names rows and logo files by id."""
    owner: dict[str, Path] = {}
    for shard in shards:
        for record_id in shard.scores["id"]:
            earlier = owner.get(record_id)
            check(earlier is None, f"record id {record_id!r} appears in {earlier} and again in {shard.folder}; "
                                   "ids must be unique across the input, so make them unique before splitting")
            owner[record_id] = shard.folder


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


def _merged_fields(shards: Sequence[Bundle], settings: dict, n: int) -> dict:
    """The merged bundle's manifest fields: the shards' common ones, the whole input's size, every shard."""
    first = shards[0].manifest
    inputs = [shard.manifest["input"] for shard in shards]
    return {
        "n_sequences": n,
        "target_index": first["target_index"],
        "n_done": n,
        "input": {"path": f"{len(shards)} shards: " + ", ".join(Path(i["path"]).name for i in inputs),
                  "sha256": None},
        "model": copy.deepcopy(first["model"]),
        "settings": settings,
        "score_kind": first["score_kind"],
        "shards": [_shard_entry(shard) for shard in shards],
        **_merged_coordinates(shards),
    }


def _merged_coordinates(shards: Sequence[Bundle]) -> dict:
    """The shards' coordinate accounts as one: the sources, and every chromosome size any shard recorded."""
    accounts = [shard.manifest.get("coordinates") for shard in shards]
    if not any(accounts):
        return {}
    sizes = {name: size for account in accounts if account for name, size in account.get("chrom_sizes", {}).items()}
    merged = {"source": sorted({account["source"] for account in accounts if account}),
              "n_shards_located": sum(bool(account) for account in accounts)}
    return {"coordinates": {**merged, "chrom_sizes": sizes} if sizes else merged}


def _shard_entry(shard: Bundle) -> dict:
    files = shard.manifest["files"]
    names = [files["onehot"], files["prediction"], files["scores"], *files["attributions"].values()]
    return {
        "folder": str(shard.folder.resolve()),
        "input": shard.manifest["input"],
        "first_index": int(shard.manifest["settings"].get("first_index", 0)),
        "n_sequences": len(shard.scores),
        "manifest_sha256": io.file_sha256(shard.folder / MANIFEST),
        "files_sha256": {name: io.file_sha256(shard.folder / name) for name in names},
    }
