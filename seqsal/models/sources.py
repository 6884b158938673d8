"""The one model loader: seqsal files, ``torch.export`` programs, TorchScript, and trusted code plus weights.

:func:`load_model` turns whatever names a model into a module seqsal can
explain.  Only two kinds of file are read without code: seqsal's own model
file (rebuilt from its config) and a user's model saved by PyTorch as a graph,
either a ``torch.export`` program (``.pt2``) or TorchScript.  A plain state
dict has no architecture, so the user names the Python code that builds it
(``code="file.py:build"`` or ``"package.module:Class"``); that code is
imported only when named, and the manifest records its SHA-256.  A whole
pickled module is code hidden in a data file and is refused.

Every model that is not seqsal's own is wrapped in
:class:`~seqsal.models.adapter.SequenceModel`, whose ``config`` is discovered
here (input length, outputs, names, task) and whose ``source`` records the
files and adapters for :func:`model_provenance`.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import torch
from torch import nn

from seqsal.checks import check_choice, check_int
from seqsal.errors import SeqsalError, check
from seqsal.io import file_sha256
from seqsal.models.adapter import TASKS, Adapters, ModelInterface, SequenceModel, dtype_name, network_dtype
from seqsal.models.cnn import EnhancerCNN, ModelConfig
from seqsal.models.files import (
    BUNDLED_MODELS, bundled_model_path, is_seqsal_payload, model_file_path, model_from_payload, read_weights,
)
from seqsal.models.probe import discover_length, try_forward
from seqsal.models.running import resolve_device


@dataclass(frozen=True)
class ModelOptions:
    """What the user says about a model that is not seqsal's own (all optional; see :func:`load_model`)."""

    input_layout: str = "NCL"
    output_index: int | None = None
    output_key: str | None = None
    reduce: str | None = None
    output_names: tuple[str, ...] | None = None
    length: int | None = None
    task: str | None = None

    def __post_init__(self) -> None:
        if self.length is not None:
            check_int(self.length, "length", minimum=1)
        if self.task is not None:
            check_choice(self.task, "task", TASKS)
        check(self.output_names is None or (self.output_names and all(isinstance(n, str) for n in self.output_names)),
              f"output_names must be a non-empty list of strings, got {self.output_names!r}")

    def given(self) -> list[str]:
        """Names of the options set away from their defaults (refused for seqsal's own models)."""
        return [name for name, value in vars(self).items() if value != getattr(ModelOptions, name)]


def load_model(
    source: str | os.PathLike | nn.Module = "default",
    device: str | torch.device | None = None,
    *,
    code: str | None = None,
    weights: str | os.PathLike | None = None,
    input_layout: str = "NCL",
    output_index: int | None = None,
    output_key: str | None = None,
    reduce: str | None = None,
    output_names: Sequence[str] | None = None,
    length: int | None = None,
    task: str | None = None,
) -> nn.Module:
    """Load a model from any source seqsal reads, as a module mapping one-hot ``(N, 4, L)`` to ``(N, T)``.

    Parameters
    ----------
    source
        ``"default"`` for the bundled model; a seqsal model file
        (:func:`~seqsal.models.files.save_model`); a ``torch.export`` program
        (``torch.export.save``); a TorchScript file (``torch.jit.save``); or a
        module, returned unchanged if it is seqsal's own (an ``EnhancerCNN``
        or an already loaded model) and wrapped otherwise.
    device
        Where to put the model; ``None`` means CUDA if available.
    code
        Trusted Python that builds the module: ``"path/to/file.py:NAME"`` or
        ``"package.module:NAME"``, where ``NAME`` is a class or function
        called without arguments (or a module instance).  Imported only when
        given.
    weights
        A state dict for the module ``code`` builds (read ``weights_only``);
        without it the built module is used as it comes.
    input_layout
        ``"NCL"`` (``(N, 4, L)``) or ``"NLC"`` for a model reading ``(N, L, 4)``.
    output_index, output_key
        Which output of a model returning a tuple or a dict to explain.
    reduce
        ``"sum"``, ``"mean"`` or ``"profile"`` for a model returning
        profiles ``(N, T, L)``; see :class:`~seqsal.models.adapter.Adapters`.
    output_names
        One name per output; else the model's ``output_names`` or
        ``config.output_names`` attribute, else ``output0``, ``output1``, ...
    length
        The input length, where the model does not state or reveal one.
    task
        ``"classification"`` or ``"regression"``; else the model's ``task``
        or ``config.task`` attribute, else regression (no probabilities).

    Returns
    -------
    torch.nn.Module
        An :class:`EnhancerCNN` for seqsal files, else a
        :class:`~seqsal.models.adapter.SequenceModel`; in eval mode.

    Raises
    ------
    SeqsalError
        One sentence naming the file or code: missing, none of the formats
        above, code that carries no such name, weights that do not fit, a
        program whose input is not one tensor, or a model whose length or
        output cannot be used without an option (the sentence names it).
    """
    options = ModelOptions(input_layout, output_index, output_key, reduce,
                           None if output_names is None else tuple(output_names), length, task)
    if code is not None:
        check(not isinstance(source, nn.Module), "code= builds the model; do not pass a module as well")
        check(weights is None or str(source) == "default",
              f"give the state dict once: as weights= ({weights}) or as the source ({source}), not both")
        weights = weights if weights is not None or str(source) == "default" else source
        return _ready(_from_code(code, weights, options), device)
    check(weights is None, "weights= needs code= naming the Python that builds the module the weights are for")
    if isinstance(source, (EnhancerCNN, SequenceModel)):
        check(not options.given(), f"the model is already loaded; {', '.join(options.given())} apply only when "
                                   "loading a model that is not seqsal's own")
        return source
    if isinstance(source, nn.Module):
        return _ready(_adapted(source, {"kind": "in-memory", "path": None, "sha256": None}, options), device)
    return _from_file(_existing_file(source), options, device)


def _from_file(path: Path, options: ModelOptions, device: str | torch.device | None) -> nn.Module:
    """A model file of any of the three kinds; a plain state dict is sent to ``code=``."""
    kind = file_kind(path)
    if kind == "torch.export":
        return _ready(_from_export(path, options), device)
    if kind == "torchscript":
        return _ready(_from_torchscript(path, options), device)
    payload = read_weights(path)
    check(is_seqsal_payload(payload),
          f"model file {path} is not a seqsal model but a plain state dict (weights without the architecture); "
          "load it with code= naming the Python that builds the module and weights=")
    check(not options.given(), f"model file {path} is a seqsal model, which states its own length and outputs; "
                               f"{', '.join(options.given())} apply only to other models")
    model = model_from_payload(payload, path)
    model.source = {"kind": "seqsal", "path": str(path.resolve()), "sha256": file_sha256(path)}
    return model.to(resolve_device(device))


def _ready(model: SequenceModel, device: str | torch.device | None) -> SequenceModel:
    return model.to(resolve_device(device)).eval()


def _existing_file(source: str | os.PathLike) -> Path:
    if str(source) in BUNDLED_MODELS:
        path = bundled_model_path(str(source))
        check(path.is_file(), f"the bundled {source} model {path} is missing; build it with "
                              f"`{BUNDLED_MODELS[str(source)][1]}` or pass a model file")
        return path
    path = Path(source)
    check(path.exists(), f"model file {path} does not exist; check the path")
    check(not path.is_dir(), f"model file {path} is a directory; pass the model file inside it")
    return path


def file_kind(path: Path) -> str:
    """``"torch.export"``, ``"torchscript"`` or ``"torch.save"``, from the member names of the zip archive.

    All three are zip archives with one top folder; ``torch.export.save``
    writes ``archive_format``, ``torch.jit.save`` writes ``constants.pkl`` and
    a ``code/`` folder.  Anything else (also a non-zip file) is left to
    ``torch.load``, which refuses what it cannot read.
    """
    if not zipfile.is_zipfile(path):
        return "torch.save"
    with zipfile.ZipFile(path) as archive:
        members = {name.split("/", 1)[-1] for name in archive.namelist()}
    if "archive_format" in members:
        return "torch.export"
    if "constants.pkl" in members and any(name.startswith("code/") for name in members):
        return "torchscript"
    return "torch.save"


def _from_export(path: Path, options: ModelOptions) -> SequenceModel:
    """Wrap ``ExportedProgram.module()``; its input spec gives the dtype, a static length and a fixed batch size."""
    try:
        with open(path, "rb") as stream:  # a stream: torch.export.load wants a .pt2 suffix on file names
            program = torch.export.load(stream)
    except Exception as err:  # torch raises many types for a damaged archive
        raise SeqsalError(f"model file {path} is a torch.export archive that could not be read "
                          f"({type(err).__name__}); export and save it again with this torch version") from None
    inputs = [node for node in program.graph.nodes
              if node.op == "placeholder" and node.name in program.graph_signature.user_inputs]
    spec = inputs[0].meta.get("val") if len(inputs) == 1 else None
    check(isinstance(spec, torch.Tensor) and spec.ndim == 3,
          f"model file {path} is a program whose input is {_describe_inputs(inputs)}, not one (N, 4, L) tensor; "
          "export a module whose forward takes the one-hot batch alone")
    shape = [dim if isinstance(dim, int) else None for dim in spec.shape]
    channels, static_length = (shape[1], shape[2]) if options.input_layout == "NCL" else (shape[2], shape[1])
    check(channels == 4, f"model file {path} is exported for input {tuple(spec.shape)}, which has no 4-base axis "
                         f"where layout {options.input_layout} puts it; pass input_layout='NLC' for (N, L, 4) "
                         "models or 'NCL' for (N, 4, L)")
    check(options.length is None or static_length is None or options.length == static_length,
          f"length={options.length} was given but model file {path} is exported for length {static_length}")
    adapters = _adapters(options, dtype_name(spec.dtype), batch_size=shape[0])
    model = SequenceModel(program.module(), adapters, _file_source("torch.export", path), fixed_mode=True)
    return _described(model, options, static_length, str(path))


def _describe_inputs(inputs: list) -> str:
    if len(inputs) != 1:
        return f"{len(inputs)} arguments"
    value = inputs[0].meta.get("val")
    return f"of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else f"a {type(value).__name__}"


def _from_torchscript(path: Path, options: ModelOptions) -> SequenceModel:
    try:
        network = torch.jit.load(str(path), map_location="cpu")
    except Exception as err:  # torch raises RuntimeError subclasses with long C++ traces
        raise SeqsalError(f"model file {path} is a TorchScript archive that could not be read "
                          f"({type(err).__name__}); save it again with torch.jit.save") from None
    model = SequenceModel(network.eval(), _adapters(options, network_dtype(network)),
                          _file_source("torchscript", path))
    return _described(model, options, None, str(path))


def _from_code(code: str, weights: str | os.PathLike | None, options: ModelOptions) -> SequenceModel:
    """Import the named code, build the module, load the state dict ``weights_only`` into it."""
    network, code_file = build_from_code(code)
    source: dict[str, Any] = {"kind": "code", "code": code, "code_sha256": file_sha256(code_file),
                              "weights": None, "weights_sha256": None}
    if weights is not None:
        weights_path = Path(weights)
        check(weights_path.is_file(), f"weights file {weights_path} does not exist; check the path")
        load_weights(network, read_weights(weights_path, "weights file"), f"weights file {weights_path}", code)
        source |= {"weights": str(weights_path.resolve()), "weights_sha256": file_sha256(weights_path)}
    recorded = Path(source["weights"] or code_file)
    source |= {"path": str(recorded.resolve()), "sha256": file_sha256(recorded)}
    model = SequenceModel(network.eval(), _adapters(options, network_dtype(network)), source)
    return _described(model, options, None, f"the model built by {code}")


def build_from_code(code: str) -> tuple[nn.Module, Path]:
    """Import ``"file.py:NAME"`` or ``"package.module:NAME"``, call ``NAME()``; return the module and the code file.

    Nothing but the named file or module is imported (its own imports aside).
    """
    check(isinstance(code, str) and ":" in code,
          f"code {code!r} must be FILE.py:NAME or package.module:NAME (the class or function that builds the model)")
    where, name = code.rsplit(":", 1)
    if where.endswith(".py") or os.sep in where or "/" in where:
        file = Path(where)
        check(file.is_file(), f"code file {file} does not exist; check the path in {code!r}")
        namespace = _import_file(file, code)
    else:
        try:
            namespace = importlib.import_module(where)
        except ImportError as err:
            raise SeqsalError(f"code module {where!r} cannot be imported ({err}); check the name in {code!r} "
                              "or give a file path") from None
        file = Path(getattr(namespace, "__file__", "") or "")
        check(file.is_file(), f"code module {where!r} has no source file to record; give a file path instead")
    check(hasattr(namespace, name), f"code {where} does not define {name!r}; name the class or function that "
                                    "builds the model")
    built = getattr(namespace, name)
    if not isinstance(built, nn.Module):
        check(callable(built), f"code {code!r} names a {type(built).__name__}, not a class or function")
        try:
            built = built()
        except Exception as err:  # the user's constructor failed
            raise SeqsalError(f"calling {code!r} without arguments failed ({type(err).__name__}: {err}); "
                              "name a function that builds the model with its settings") from None
    check(isinstance(built, nn.Module), f"{code!r} built a {type(built).__name__}, not a torch.nn.Module")
    return built, file


def _import_file(file: Path, code: str) -> Any:
    digest = hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]
    module_name = f"seqsal_user_code_{digest}"
    spec = importlib.util.spec_from_file_location(module_name, file)
    check(spec is not None and spec.loader is not None, f"code file {file} cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look their module up here
    try:
        spec.loader.exec_module(module)
    except Exception as err:  # the user's file failed to run
        del sys.modules[module_name]
        raise SeqsalError(f"code file {file} failed to import ({type(err).__name__}: {err}); fix it and retry "
                          f"{code!r}") from None
    return module


def load_weights(network: nn.Module, payload: Any, name: str, code: str) -> None:
    """Load a state dict (or a checkpoint dict holding one under ``"state_dict"``) strictly into ``network``.

    Raises
    ------
    SeqsalError
        Listing the first missing, unexpected and wrongly shaped keys.
    """
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]
    check(isinstance(payload, dict) and all(isinstance(v, torch.Tensor) for v in payload.values()),
          f"{name} is not a state dict (a dictionary of tensors); save it with torch.save(model.state_dict(), ...)")
    expected = network.state_dict()
    problems = {
        "missing keys": [key for key in expected if key not in payload],
        "unexpected keys": [key for key in payload if key not in expected],
        "wrong shapes": [f"{key} {tuple(payload[key].shape)} vs {tuple(expected[key].shape)}" for key in expected
                         if key in payload and payload[key].shape != expected[key].shape],
    }
    found = [f"{kind} {', '.join(keys[:3])}{' ...' if len(keys) > 3 else ''}"
             for kind, keys in problems.items() if keys]
    check(not found, f"{name} does not fit the module built by {code!r}: {'; '.join(found)}")
    network.load_state_dict(payload)


def _file_source(kind: str, path: Path) -> dict[str, Any]:
    return {"kind": kind, "path": str(path.resolve()), "sha256": file_sha256(path)}


def _adapters(options: ModelOptions, dtype: str, batch_size: int | None = None) -> Adapters:
    return Adapters(options.input_layout, options.output_index, options.output_key, options.reduce, dtype,
                    batch_size)


def _adapted(network: nn.Module, source: dict[str, Any], options: ModelOptions) -> SequenceModel:
    """Wrap an in-memory module (a user's own, not seqsal's)."""
    model = SequenceModel(network, _adapters(options, network_dtype(network)), source)
    return _described(model, options, None, f"the {type(network).__name__} model")


def _described(model: SequenceModel, options: ModelOptions, stated_length: int | None, name: str) -> SequenceModel:
    """Find the length and outputs with trial runs, and fill in ``model.config``."""
    model.train(False)
    length = options.length or stated_length or discover_length(model, model.network, name)
    output, error = try_forward(model, length)
    check(output is not None, f"{name} failed on a trial batch of length {length} ({error}); check length and "
                              "input_layout")
    n_outputs = output.shape[1]
    names = options.output_names or _attribute(model.network, "output_names")
    if not names:
        names = ["output"] if n_outputs == 1 else [f"output{j}" for j in range(n_outputs)]
    task = options.task or _attribute(model.network, "task") or "regression"
    model.config = ModelInterface(int(length), int(n_outputs), tuple(names), task)
    return model


def _attribute(network: nn.Module, name: str) -> Any:
    """``network.NAME`` or ``network.config.NAME``, where the user's model states it."""
    value = getattr(network, name, None)
    return value if value is not None else getattr(getattr(network, "config", None), name, None)


def reload_model(entry: dict[str, Any], device: str | torch.device | None = None) -> nn.Module:
    """Load the model a manifest's ``model`` entry describes, with the same adapters and interface.

    Lets a later command (``evaluate``, ``logo``) re-examine a bundle with the
    model that made it, whatever its source; a model that was built in memory
    cannot be reloaded and must be passed again.
    """
    kind = entry.get("kind")
    check(kind not in (None, "in-memory"),
          "the model was built in memory, not loaded from a file or code; pass the model explicitly")
    if kind == "seqsal":
        return load_model(entry["path"], device)
    adapters, config = entry.get("adapters") or {}, entry.get("config") or {}
    options = {"input_layout": adapters.get("input_layout", "NCL"), "output_index": adapters.get("output_index"),
               "output_key": adapters.get("output_key"), "reduce": adapters.get("reduce"),
               "output_names": config.get("output_names"), "length": config.get("input_length"),
               "task": config.get("task")}
    if kind == "code":
        return load_model(device=device, code=entry["code"], weights=entry.get("weights"), **options)
    return load_model(entry["path"], device, **options)


def explained_model(
    entry: dict[str, Any],
    model: str | os.PathLike | nn.Module | None = None,
    device: str | torch.device | None = None,
    *,
    run: str = "the run",
) -> nn.Module:
    """The model that made a run, for a later command that must use the same one (``evaluate``, ``seqlets``).

    Parameters
    ----------
    entry
        The run manifest's ``model`` entry (:func:`model_provenance`).
    model
        None to reload what ``entry`` describes (:func:`reload_model`), or
        the model as the user gives it again: a file, a bundled name, or a
        loaded module.  Whatever its source, its SHA-256 must equal the
        recorded one where both are known, so a run is never re-examined
        with another model by mistake.
    device
        Where to load it.
    run
        How errors name the run, e.g. its folder.
    """
    if model is None:
        return reload_model(entry, device)
    loaded = load_model(model, device)
    provenance = model_provenance(model, loaded)
    given, recorded = provenance.get("sha256"), entry.get("sha256")
    if given and recorded and given != recorded:
        name = provenance.get("path") or provenance.get("code") or type(loaded).__name__
        raise SeqsalError(f"{name}: is not the model that made {run} (SHA-256 {given[:12]}… vs {recorded[:12]}…); "
                          "pass the model it was made with")
    return loaded


def model_provenance(source: str | os.PathLike | nn.Module, model: nn.Module | None = None) -> dict[str, Any]:
    """Manifest entry for a model: what it was loaded from (with SHA-256s), its adapters and its config.

    ``source`` is what the user gave: a path, ``"default"`` (resolved to the
    bundled file), or the model itself.  A model loaded by :func:`load_model`
    from a user's file or code records that file, the code's SHA-256 and the
    adapters, whichever way it is passed; seqsal's own model passed as an
    object keeps the file it was loaded from; one built in memory is
    ``in-memory``, without a hash.  ``model_provenance(model)``
    is the same as ``model_provenance(model, model)``.
    """
    model = source if model is None else model
    config = getattr(model, "config", None)
    if isinstance(model, SequenceModel):
        entry = {**model.source, "path": model.source.get("path") or "in-memory",
                 "adapters": model.adapters.to_dict()}
    elif isinstance(getattr(model, "source", None), dict):
        entry = dict(model.source)
    elif isinstance(source, nn.Module):
        entry = {"kind": "seqsal" if isinstance(model, EnhancerCNN) else "in-memory", "path": "in-memory",
                 "sha256": None}
    else:
        path = model_file_path(source)
        entry = {"kind": "seqsal", "path": str(path.resolve()), "sha256": file_sha256(path)}
    entry["config"] = config.to_dict() if isinstance(config, (ModelConfig, ModelInterface)) else None
    entry["metadata"] = getattr(model, "metadata", {})
    return entry
