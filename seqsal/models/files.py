"""The seqsal model file: a weights-only dictionary that rebuilds an :class:`EnhancerCNN` without code.

A model file is data, never code: it holds a plain dictionary (format tag,
config, tensors, JSON-like metadata) and is always read with
``torch.load(..., weights_only=True)``, so a file that tries to smuggle code in
is refused instead of executed.  :func:`read_weights` is that one safe reader;
the loader of other people's models (:mod:`seqsal.models.sources`) uses it for
their state dicts too.
"""

from __future__ import annotations

import os
import pickle
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

import seqsal
from seqsal.choices import BUNDLED_MODEL_NAMES
from seqsal.errors import SeqsalError, check
from seqsal.io import atomic_path
from seqsal.models.cnn import EnhancerCNN, ModelConfig

FORMAT = "seqsal-model"
FORMAT_VERSION = 1

#: The model sources :func:`seqsal.models.load_model` reads, named in every "not a model" message.
ACCEPTED = ("a seqsal model file (save_model), a torch.export program (torch.export.save), a TorchScript file "
            "(torch.jit.save), or a state dict together with the code that builds the module (code= and weights=)")


#: The models shipped inside the package: the name ``--model`` accepts → (file next to this package's
#: ``__init__``, the ``make`` target that rebuilds it).  The README has a model card for each.
BUNDLED_MODELS: dict[str, tuple[str, str]] = {
    "default": ("default_model.pt", "make model"),
    "pu1": ("pu1_model.pt", "make model-pu1"),
}
assert tuple(BUNDLED_MODELS) == BUNDLED_MODEL_NAMES, "seqsal.choices.BUNDLED_MODEL_NAMES must list the same names"


def bundled_model_path(name: str = "default") -> Path:
    """Where a bundled model lives (``name`` is a key of :data:`BUNDLED_MODELS`)."""
    check(name in BUNDLED_MODELS, f"{name!r} is not a bundled model; use one of {', '.join(BUNDLED_MODELS)}")
    return Path(seqsal.__file__).parent / BUNDLED_MODELS[name][0]


def default_model_path() -> Path:
    """Where the bundled default model lives (built by ``make model``)."""
    return bundled_model_path("default")


def model_file_path(source: str | os.PathLike) -> Path:
    """The file a model source names: a bundled model's file for its name, else the path as given."""
    return bundled_model_path(str(source)) if str(source) in BUNDLED_MODELS else Path(source)


def save_model(model: EnhancerCNN, path: str | os.PathLike, metadata: dict[str, Any] | None = None) -> Path:
    """Write ``model`` as a weights-only seqsal model file, atomically.

    The file holds ``{"format", "format_version", "config", "state_dict",
    "metadata"}`` with CPU tensors and plain values only, so it loads with
    ``weights_only=True`` on any machine.  It is written to a temporary file
    in the same directory and renamed, so an interrupted save never leaves a
    truncated file that looks complete.

    Parameters
    ----------
    model
        The model to save; only seqsal's own :class:`EnhancerCNN` has a config
        that rebuilds it without code (save other modules with
        ``torch.export.save`` or ``torch.jit.save``).
    path
        Destination file (conventionally ``.pt``); its directory must exist.
    metadata
        JSON-like values (str, int, float, bool, None, lists, dicts with string
        keys); numpy scalars are converted.  Defaults to ``model.metadata``.

    Returns
    -------
    pathlib.Path
        The path written.
    """
    check(isinstance(model, EnhancerCNN),
          f"save_model writes seqsal's own EnhancerCNN, got {type(model).__name__}; save other modules with "
          "torch.export.save or torch.jit.save, or save their state_dict and load it with code= and weights=")
    path = Path(path)
    check(path.parent.is_dir(), f"cannot save model to {path}: directory {path.parent} does not exist; create it first")
    check(not path.is_dir(), f"cannot save model to {path}: it is a directory; give a file name such as model.pt")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "config": model.config.to_dict(),
        "state_dict": {key: value.detach().cpu().clone() for key, value in model.state_dict().items()},
        "metadata": _plain(model.metadata if metadata is None else metadata, "metadata"),
    }
    with atomic_path(path) as temporary, open(temporary, "wb") as stream:
        torch.save(payload, stream)
    return path


def _plain(value: Any, where: str) -> Any:
    """Copy ``value`` as plain Python JSON-like data, or name the offending entry.

    ``weights_only`` loading refuses anything but builtin containers and
    scalars; numpy scalars (``np.float64`` from a metric) would make the saved
    file unloadable, so they are converted here rather than discovered later.
    """
    if isinstance(value, (np.bool_, np.integer, np.floating)):
        return value.item()
    if value is None or isinstance(value, bool):
        return value
    for kind in (str, int, float):
        # Subclasses (an IntEnum, a str enum) would be pickled by class name
        # and refused on load; store their plain value.
        if isinstance(value, kind):
            return kind(value)
    if isinstance(value, (list, tuple)):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(value)]
    if isinstance(value, dict):
        check(
            all(isinstance(key, str) for key in value),
            f"{where} has a non-string key; model metadata keys must be strings",
        )
        return {str(key): _plain(item, f"{where}[{key!r}]") for key, item in value.items()}
    raise SeqsalError(
        f"{where} is a {type(value).__name__}; model metadata may only hold strings, numbers, booleans, "
        "None, lists and dicts, so convert it first"
    )


def read_weights(path: Path, what: str = "model file") -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU, with one sentence for every refusal.

    Parameters
    ----------
    path
        An existing file.
    what
        How the message names the file (``"model file"``, ``"weights file"``).

    Raises
    ------
    SeqsalError
        The file carries code (a whole pickled module: the message says how
        to save it instead), or is no PyTorch file at all (the message lists
        the formats accepted).
    """
    try:
        with warnings.catch_warnings():
            # torch warns about a raw pickle's protocol before refusing it; the
            # SeqsalError below already says what is wrong.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # The weights-only unpickler names the class or function it was asked
        # to import ("GLOBAL module.name"); anything else it refuses is not a
        # torch file at all.
        if "GLOBAL" in str(err):
            raise SeqsalError(
                f"{what} {path} was refused: the file contains code, not just weights (a pickled module or "
                "object); save the model with torch.export.save or torch.jit.save, or save its state_dict and "
                "load it with code= and weights="
            ) from None
        raise SeqsalError(f"{what} {path} is not a PyTorch model file; seqsal reads {ACCEPTED}") from None
    except Exception as err:  # torch raises many types for non-torch bytes (KeyError, EOFError, RuntimeError, ...)
        raise SeqsalError(
            f"{what} {path} is not a PyTorch model file ({type(err).__name__}); seqsal reads {ACCEPTED}"
        ) from None


def is_seqsal_payload(payload: Any) -> bool:
    """True when a loaded file is a seqsal model file (carries the format tag)."""
    return isinstance(payload, dict) and payload.get("format") == FORMAT


def model_from_payload(payload: dict[str, Any], path: Path) -> EnhancerCNN:
    """Rebuild the :class:`EnhancerCNN` of a seqsal model file from its loaded dictionary (CPU, eval mode).

    Raises
    ------
    SeqsalError
        A newer format version, an invalid config, or weights that do not
        match the stored config.
    """
    version = payload.get("format_version")
    check(
        isinstance(version, int) and version <= FORMAT_VERSION,
        f"model file {path} has format version {version!r}, newer than this seqsal reads ({FORMAT_VERSION}); "
        "upgrade seqsal",
    )
    try:
        config = ModelConfig.from_dict(payload.get("config"))
    except SeqsalError as err:
        raise SeqsalError(f"model file {path} has an invalid config: {err}") from None
    model = EnhancerCNN(config)
    state_dict = payload.get("state_dict")
    check(isinstance(state_dict, dict), f"model file {path} has no state_dict; re-save it with save_model")
    try:
        model.load_state_dict(state_dict)
    except RuntimeError as err:
        detail = " ".join(str(err).split())[:200]
        raise SeqsalError(f"model file {path} has weights that do not match its config ({detail}); re-save it") from None
    metadata = payload.get("metadata", {})
    check(isinstance(metadata, dict), f"model file {path} has metadata that is not a dictionary; re-save it")
    model.metadata = metadata
    return model.eval()
