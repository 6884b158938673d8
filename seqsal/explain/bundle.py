"""The on-disk attribution bundle: arrays filled batch by batch, manifest, and reading it back.

Arrays are ``.npy`` files created with :func:`numpy.lib.format.open_memmap`
and filled one batch at a time.  Each write maps the file, copies the batch
in, flushes and unmaps again, so resident memory stays one batch wide however
many sequences the file holds (a mapping kept open would count every touched
page towards the process's memory).  Small bundles are converted to
compressed ``.npz`` at the end, the form ``modisco motifs -s ohe.npz -a
attr.npz`` documents; tfmodisco-lite reads the ``.npy`` of large ones too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.errors import check
from seqsal.runs import read_manifest

NPZ_MAX_SEQUENCES = 20_000

#: Files an earlier explain run may leave besides those its manifest lists (an unfinished run lists none).
STALE_FILES = ("ohe.np[yz]", "attr.*.np[yz]", "prediction.npy", "scores.tsv", "report.html", "logos/*", "seqlets.tsv",
               "seqlet_summary.tsv", "seqlets.png")

#: Files a run with seqlets adds (:mod:`seqsal.explain.seqlets`).
SEQLET_FILES = ("seqlets.tsv", "seqlet_summary.tsv", "seqlets.png")


class ArrayStore:
    """A ``.npy`` file of fixed shape, written and read in row ranges."""

    def __init__(self, path: Path, shape: tuple[int, ...], create: bool = True) -> None:
        self.path = Path(path)
        self.shape = shape
        if create:
            array = np.lib.format.open_memmap(self.path, mode="w+", dtype=np.float32, shape=shape)
            del array
        else:
            packed = self.path.with_suffix(".npz")
            if not self.path.is_file() and packed.is_file():
                # the run stopped while converting its finished arrays to .npz: unpack to continue
                with io.atomic_path(self.path) as temp, open(temp, "wb") as handle, np.load(packed) as data:
                    np.save(handle, data["arr_0"])
                packed.unlink()
            check(self.path.is_file(), f"{self.path}: missing; the run cannot be resumed, start it again")
            existing = np.load(self.path, mmap_mode="r")
            check(existing.shape == shape, f"{self.path}: has shape {existing.shape}, expected {shape}; "
                                           "the run cannot be resumed, start it again")
            del existing

    def write(self, start: int, values: np.ndarray) -> None:
        """Copy ``values`` into rows ``start:start+len(values)`` and flush them to disk."""
        array = np.load(self.path, mmap_mode="r+")
        array[start : start + len(values)] = values
        array.flush()
        del array

    def read(self, start: int, stop: int) -> np.ndarray:
        """Rows ``start:stop`` as an in-memory array."""
        array = np.load(self.path, mmap_mode="r")
        rows = np.array(array[start:stop])
        del array
        return rows


def to_npz(npy: Path) -> Path:
    """Replace ``x.npy`` by ``x.npz`` holding the same array under ``arr_0`` (positional)."""
    target = npy.with_suffix(".npz")
    io.write_npz(target, np.load(npy))
    npy.unlink()
    return target


def array_stems(methods: Sequence[str]) -> list[str]:
    """Stems of a bundle's sequence-wide arrays: the one-hot input and one attribution array per method."""
    return ["ohe", *(f"attr.{m}" for m in methods)]


def pack_arrays(folder: Path, methods: Sequence[str]) -> None:
    """Convert the arrays of a small finished bundle to ``.npz`` (what ``modisco motifs -s/-a`` documents)."""
    for stem in array_stems(methods):
        to_npz(folder / f"{stem}.npy")


def bundle_files(folder: Path, methods: Sequence[str]) -> dict:
    """The manifest's ``files`` entry of a finished bundle: each array as ``.npz`` or ``.npy``, as it lies."""
    def name(stem: str) -> str:
        return f"{stem}.npz" if (folder / f"{stem}.npz").is_file() else f"{stem}.npy"

    return {"onehot": name("ohe"), "attributions": {m: name(f"attr.{m}") for m in methods},
            "prediction": "prediction.npy", "scores": "scores.tsv", "report": "report.html"}


def bundle_writes(methods: Sequence[str], seqlets: bool = False) -> set[str]:
    """Every file a run explaining ``methods`` rewrites: each array in either form, since which form a
    run leaves depends on its size, and replacing one form by the other loses nothing."""
    arrays = {f"{stem}.{suffix}" for stem in array_stems(methods) for suffix in ("npy", "npz")}
    return arrays | {"prediction.npy", "scores.tsv", "report.html"} | (set(SEQLET_FILES) if seqlets else set())


def top_rows(path: Path, n_rows: int) -> pd.DataFrame:
    """The ``n_rows`` highest predictions of a score table (ties keep input order), read in chunks."""
    best = None
    for chunk in io.read_tsv(path, chunksize=50_000):
        best = chunk if best is None else pd.concat([best, chunk])
        best = best.nlargest(n_rows, "prediction", keep="first")
    return best.reset_index(drop=True)


def score_rows(path: Path, indices: Sequence[int], columns: Sequence[str]) -> dict[int, pd.Series]:
    """The given rows (0-based) of a score table, restricted to ``columns``, read in chunks."""
    wanted = {int(i) for i in indices}
    rows = {}
    for chunk in io.read_tsv(path, usecols=list(columns), chunksize=50_000):
        for i in wanted.intersection(chunk.index):
            rows[i] = chunk.loc[i]
    return rows


def load_array(path: Path) -> np.ndarray:
    """A bundle array: ``.npz`` loaded whole (small), ``.npy`` memory-mapped (possibly huge)."""
    if path.suffix == ".npz":
        with np.load(path) as data:
            return data["arr_0"]
    return np.load(path, mmap_mode="r")


@dataclass
class Bundle:
    """A finished explain bundle read back from disk; arrays may be memory-mapped."""

    folder: Path
    manifest: dict
    scores: pd.DataFrame
    onehot: np.ndarray
    attributions: dict[str, np.ndarray]

    @property
    def ids(self) -> list[str]:
        return list(self.scores["id"])

    def seqlets(self) -> pd.DataFrame | None:
        """The run's ``seqlets.tsv`` (``explain --seqlets``), or None when it called none."""
        name = self.manifest["files"].get("seqlets")
        return io.read_tsv(self.folder / name) if name else None


def load_bundle(folder: str | Path) -> Bundle:
    """Read a finished explain bundle; refuses folders that are not complete seqsal bundles."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    check(manifest.get("kind") == "explain", f"{folder}: not an explain bundle")
    check(manifest.get("complete"), f"{folder}: the explain run did not finish; continue it with --resume")
    scores = io.read_tsv(folder / "scores.tsv")
    files = manifest["files"]
    onehot = load_array(folder / files["onehot"])
    attributions = {m: load_array(folder / name) for m, name in files["attributions"].items()}
    return Bundle(folder, manifest, scores, onehot, attributions)
