"""``seqsal pitfalls <name>``: run one pitfall and write its figure, table and manifest.

Each pitfall writes ``<name>.png``, ``<name>.tsv`` (``metric, condition,
value``) and ``manifest.json`` through :class:`seqsal.runs.RunFolder`, whose
kind is ``pitfalls-<name>``.
"""

from __future__ import annotations

import importlib.resources
from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Any, Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from torch import nn
from matplotlib.figure import Figure

from seqsal import io
from seqsal.checks import check_choice, check_int
from seqsal.datasets import encode_records
from seqsal.errors import check
from seqsal.experiments.pitfalls.activations import ACTIVATIONS, activations
from seqsal.experiments.pitfalls.compare import (
    DEFAULT_EPOCHS,
    DEFAULT_LENGTH,
    DEFAULT_N,
    LEARNING_RATE,
    PATIENCE,
    ComparisonResult,
    plot_comparison,
    small_cnn_config,
)
from seqsal.experiments.pitfalls.constant_flanks import (
    FLANK_METHODS,
    ConstantFlanksResult,
    constant_flanks,
    plot_constant_flanks,
)
from seqsal.experiments.pitfalls.fully_connected import DEFAULT_FC_DROPOUT, DEFAULT_HIDDEN_UNITS, fully_connected
from seqsal.experiments.pitfalls.off_simplex import OffSimplexResult, off_simplex, plot_off_simplex
from seqsal.experiments.pitfalls.saturation import SaturationResult, plot_saturation, saturation
from seqsal.models import load_model, model_provenance
from seqsal.plot import save_figure
from seqsal.runs import RunFolder

PITFALLS = ("saturation", "activations", "off-simplex", "fully-connected", "constant-flanks")

#: What the pitfalls that explain sequences read by default: the synthetic demo test set, or for
#: ``constant-flanks`` 100 held-out lentiMPRA elements (the test fold of ``make model-wtc11``).
DEFAULT_FASTAS = {"constant-flanks": "wtc11_heldout.fa"}


def default_fasta(name: str = "saturation") -> Path:
    """The FASTA a pitfall explains by default (the synthetic demo test set: 30 x 249 bp, the default model's)."""
    relative = DEFAULT_FASTAS.get(name, "synthetic_demo/test.fa")
    path = Path(str(importlib.resources.files("seqsal.data") / relative))
    check(path.is_file(), f"the demo FASTA {path} is missing from this installation; pass --fasta")
    return path


def load_sequences(fasta: str | PathLike[str], length: int, fit_length: bool = False) -> tuple[np.ndarray, list[str]]:
    """One-hot ``(N, 4, length)`` sequences and ids of a FASTA; other lengths are refused unless ``fit_length``."""
    records = io.read_fasta(fasta)
    X, _ = encode_records(records, length, fit_length)
    return X, [record.id for record in records]


def start_output(
    out: str | PathLike[str],
    name: str,
    parameters: dict[str, Any],
    seed: int | None,
    inputs: dict[str, str | PathLike[str]] | None = None,
    *,
    force: bool = False,
) -> RunFolder:
    """Claim ``out`` for pitfall ``name`` and write its incomplete manifest before any work starts.

    A foreign folder or another kind of run is refused at once, not after
    minutes of training (:meth:`seqsal.runs.RunFolder.claim`), and an
    interrupted run leaves ``complete: false``.  Every pitfall writes the
    same two files, so an earlier run of the same pitfall is always replaced
    and ``force`` only matters for an unfinished one.

    Parameters
    ----------
    out
        New, empty, or an earlier run of the same pitfall.
    name
        One of :data:`PITFALLS`.
    parameters
        Settings that decide the numbers (JSON-like).
    seed
        Random seed, ``None`` where nothing is random.
    inputs
        Role (``fasta``, ``model``) to file; each is recorded with its SHA-256.
    force
        Passed to :meth:`~seqsal.runs.RunFolder.claim`.

    Returns
    -------
    seqsal.runs.RunFolder
        With the manifest written; hand it to :func:`finish_output`.
    """
    check_choice(name, "name", PITFALLS)
    folder = RunFolder.claim(out, f"pitfalls-{name}", force=force)
    folder.start({
        "torch_threads": torch.get_num_threads(),
        "seed": seed,
        "parameters": parameters,
        "inputs": {role: {"path": str(Path(path).resolve()), "sha256": io.file_sha256(path)}
                   for role, path in (inputs or {}).items()},
    })
    return folder


def finish_output(folder: RunFolder, name: str, table: pd.DataFrame, figure: Figure,
                  **extra: Any) -> dict[str, Path]:
    """Write ``<name>.png`` and ``<name>.tsv`` atomically, then mark the run complete.

    ``extra`` entries (timings, model configs) are added to the manifest.
    """
    paths = {"figure": folder.path / f"{name}.png", "table": folder.path / f"{name}.tsv"}
    save_figure(figure, paths["figure"])
    io.write_table(paths["table"], table)
    folder.finish({key: path.name for key, path in paths.items()}, **extra)
    return paths


@dataclass
class PitfallRun:
    """What :func:`run_pitfall` wrote: the folder, the numbers, and a one-line summary."""

    folder: Path
    table: pd.DataFrame
    summary: str


PitfallResult = SaturationResult | OffSimplexResult | ComparisonResult | ConstantFlanksResult


def run_pitfall(
    name: str,
    out: str | PathLike[str],
    *,
    fasta: str | PathLike[str] | None = None,
    model: str | PathLike[str] | nn.Module = "default",
    record_id: str | None = None,
    correct: bool = False,
    fit_length: bool = False,
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
    activation: str = "exp",
    batch_size: int = 128,
    device: str | torch.device | None = None,
    progress: bool = False,
    force: bool = False,
) -> PitfallRun:
    """Run one pitfall and write ``<name>.png``, ``<name>.tsv`` and ``manifest.json`` into ``out``.

    ``saturation`` and ``off-simplex`` explain ``fasta`` (default: the demo
    test set, :func:`default_fasta`) with ``model`` (default: the bundled
    model); ``fit_length`` centre-crops or N-pads records to the model's
    length, and ``record_id`` and ``correct`` apply to saturation.
    ``activations`` and ``fully-connected`` simulate ``n`` sequences of
    ``length`` bp and train with ``epochs`` and ``seed``; ``fully-connected``
    also takes ``hidden_units`` and the CNN's ``activation``.  Options of the
    other pitfalls are ignored and not recorded.  The manifest holds the
    settings, the seed, and the SHA-256 of the model file and FASTA where
    there are any.  Every setting is checked before ``out`` is touched;
    ``force`` replaces an unfinished run there (:func:`start_output`).
    """
    check_choice(name, "name", PITFALLS)
    check_int(batch_size, "batch_size", minimum=1)
    common = dict(batch_size=batch_size, device=device, force=force)
    if name in ("saturation", "off-simplex", "constant-flanks"):
        result, folder, extra = _explain_pitfall(name, out, fasta, model, record_id, correct, fit_length, **common)
        figure = {"saturation": lambda: plot_saturation(result)[0].figure,
                  "off-simplex": lambda: plot_off_simplex(result).figure,
                  "constant-flanks": lambda: plot_constant_flanks(result)[0].figure}[name]()
    else:
        result, folder, extra = _training_pitfall(name, out, n, length, epochs, seed, hidden_units, activation,
                                                  progress=progress, **common)
        figure = plot_comparison(result)[0].figure
    table = result.table()
    try:
        finish_output(folder, name, table, figure, **extra)
    finally:
        plt.close(figure)
    return PitfallRun(folder=folder.path, table=table,
                      summary=f"{name}: {result.headline()}; wrote {folder.path}/ ({name}.png, {name}.tsv)")


def _explain_pitfall(
    name: str, out: str | PathLike[str], fasta: str | PathLike[str] | None, model: str | PathLike[str] | nn.Module,
    record_id: str | None, correct: bool, fit_length: bool, *, batch_size: int,
    device: str | torch.device | None, force: bool,
) -> tuple[PitfallResult, RunFolder, dict[str, Any]]:
    """``saturation``, ``off-simplex`` or ``constant-flanks``: load model and sequences, claim the folder, compute."""
    check(model is not None, f"{name} needs a model; for constant-flanks one trained on sequences with library "
                             "flanks, e.g. the lentiMPRA model that make model-wtc11 writes to build/wtc11_model.pt")
    explained = load_model(model)
    fasta_path = Path(fasta) if fasta is not None else default_fasta(name)
    X, ids = load_sequences(fasta_path, explained.config.input_length, fit_length)
    parameters: dict[str, Any] = {"model": model_provenance(model, explained), "fasta": str(fasta_path),
                                  "fit_length": fit_length}
    if name == "saturation":
        parameters |= {"method": "grad_x_input", "record_id": record_id, "correct": correct}
    elif name == "constant-flanks":
        parameters |= {"methods": list(FLANK_METHODS)}
    else:
        parameters |= {"method": "gradient"}
    folder = start_output(out, name, parameters, None, {"fasta": fasta_path}, force=force)
    if name == "saturation":
        result = saturation(explained, X, ids, record_id=record_id, correct=correct, batch_size=batch_size,
                            device=device)
        return result, folder, {"record_id": result.record_id}
    if name == "constant-flanks":
        return constant_flanks(explained, X, batch_size=batch_size, device=device), folder, {}
    return off_simplex(explained, X, ids, batch_size=batch_size, device=device), folder, {}


def _training_pitfall(
    name: str, out: str | PathLike[str], n: int, length: int, epochs: int, seed: int,
    hidden_units: Sequence[int], activation: str, *, batch_size: int, device: str | torch.device | None,
    progress: bool, force: bool,
) -> tuple[ComparisonResult, RunFolder, dict[str, Any]]:
    """``activations`` or ``fully-connected``: check the settings, claim the folder, train and compare."""
    check_int(n, "n", minimum=100)
    check_int(length, "length", minimum=1)
    check_int(epochs, "epochs", minimum=1)
    check_int(seed, "seed", minimum=0)
    hidden_units = tuple(check_int(units, "hidden_units", minimum=1) for units in hidden_units)
    cnn = small_cnn_config(length, activation).to_dict()
    parameters = {"n": n, "length": length, "epochs": epochs, "lr": LEARNING_RATE, "patience": PATIENCE,
                  "cnn_config": cnn}
    if name == "fully-connected":
        parameters |= {"fc_hidden_units": list(hidden_units), "fc_dropout": DEFAULT_FC_DROPOUT}
    else:
        cnn["activation"] = list(ACTIVATIONS)
    folder = start_output(out, name, parameters, seed, force=force)
    options = dict(epochs=epochs, seed=seed, batch_size=batch_size, device=device, progress=progress)
    if name == "activations":
        result = activations(n, length, **options)
    else:
        result = fully_connected(n, length, hidden_units=hidden_units, activation=activation, **options)
    return result, folder, {"train_seconds": result.seconds, "example_ids": result.example_ids}
