"""The enhancer 1D-CNN, its configuration, and safe saving and loading.

The default architecture is DeepSTARR (de Almeida et al., Nature Genetics
2022): four convolution blocks (convolution, batch norm, activation, max
pooling) followed by two dense layers.  The activation of the *first* block is
configurable because Koo & Ploenzke (Nature Machine Intelligence 2021) showed
that an exponential activation there makes first-layer filters learn whole,
readable motifs, which in turn makes attribution maps cleaner.

A model file is data, never code: it holds a plain dictionary (format tag,
config, tensors, JSON-like metadata) and is always read with
``torch.load(..., weights_only=True)``, so a file that tries to smuggle code in
is refused instead of executed.
"""

from __future__ import annotations

import os
import pickle
import warnings
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

import seqsal
from seqsal.errors import SeqsalError, check
from seqsal.io import atomic_path, file_sha256

FORMAT = "seqsal-model"
FORMAT_VERSION = 1

ACTIVATIONS = ("relu", "exp", "leaky_relu")
HEADS = ("flatten", "gap")
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild an :class:`EnhancerCNN` from scratch.

    The defaults reproduce DeepSTARR, so ``ModelConfig()`` is the published
    architecture.  The config is stored next to the weights in every model
    file, which is what lets :func:`load_model` rebuild a model without any
    code from the file.

    Parameters
    ----------
    input_length
        Sequence length ``L`` the model reads; the flatten head depends on it.
    n_outputs
        Number of logits ``T`` per sequence.
    conv_channels, kernel_sizes
        Filters and kernel width of each convolution block (same length).
    dense_units
        Width of each dense layer of the head; may be empty.
    activation
        Activation of the first convolution block: ``"relu"``, ``"exp"`` or
        ``"leaky_relu"``.  Later blocks always use ReLU (see module docstring).
    head
        ``"flatten"`` (DeepSTARR: position-aware) or ``"gap"`` (global average
        pooling over length: position-invariant, and what CAM needs).
    dropout
        Dropout after each dense layer.
    pool_size
        Max-pooling width after each convolution block.
    task
        ``"classification"`` (logits for BCE) or ``"regression"`` (MSE).
    output_names
        One name per output, used in reports and tables.
    """

    input_length: int = 249
    n_outputs: int = 1
    conv_channels: tuple[int, ...] = (256, 60, 60, 120)
    kernel_sizes: tuple[int, ...] = (7, 3, 5, 3)
    dense_units: tuple[int, ...] = (256, 256)
    activation: str = "relu"
    head: str = "flatten"
    dropout: float = 0.4
    pool_size: int = 2
    task: str = "classification"
    output_names: tuple[str, ...] = ("enhancer",)

    def __post_init__(self) -> None:
        # Accept lists (e.g. straight from JSON) but store tuples, so the
        # frozen config stays hashable and comparable.
        for name in ("conv_channels", "kernel_sizes", "dense_units", "output_names"):
            value = getattr(self, name)
            check(
                isinstance(value, (list, tuple)),
                f"model config {name!r} must be a list, got {type(value).__name__}",
            )
            object.__setattr__(self, name, tuple(value))
        for name in ("input_length", "n_outputs", "pool_size"):
            check(_is_positive_int(getattr(self, name)), f"model config {name!r} must be a positive integer")
        for name in ("conv_channels", "kernel_sizes", "dense_units"):
            check(
                all(_is_positive_int(v) for v in getattr(self, name)),
                f"model config {name!r} must hold positive integers, got {list(getattr(self, name))}",
            )
        check(len(self.conv_channels) > 0, "model config 'conv_channels' is empty; give at least one block")
        check(
            len(self.conv_channels) == len(self.kernel_sizes),
            f"model config has {len(self.conv_channels)} conv_channels but {len(self.kernel_sizes)} "
            "kernel_sizes; give one kernel size per convolution block",
        )
        check(
            self.activation in ACTIVATIONS,
            f"model config activation {self.activation!r} is unknown; use one of {', '.join(ACTIVATIONS)}",
        )
        check(self.head in HEADS, f"model config head {self.head!r} is unknown; use one of {', '.join(HEADS)}")
        check(self.task in TASKS, f"model config task {self.task!r} is unknown; use one of {', '.join(TASKS)}")
        check(
            isinstance(self.dropout, (int, float)) and not isinstance(self.dropout, bool) and 0 <= self.dropout < 1,
            f"model config dropout must be in [0, 1), got {self.dropout!r}",
        )
        check(
            len(self.output_names) == self.n_outputs and all(isinstance(n, str) for n in self.output_names),
            f"model config has n_outputs={self.n_outputs} but output_names={list(self.output_names)}; "
            "give one name (a string) per output",
        )
        check(
            self.final_length >= 1,
            f"model config input_length={self.input_length} is too short for {len(self.conv_channels)} "
            f"pooling steps of size {self.pool_size}; use at least {self.pool_size ** len(self.conv_channels)} bases "
            "or fewer convolution blocks",
        )

    @property
    def final_length(self) -> int:
        """Length left after all pooling steps (``padding="same"`` keeps convolutions length-preserving)."""
        length = self.input_length
        for _ in self.conv_channels:
            length //= self.pool_size
        return length

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-like dictionary (tuples become lists) for model files and manifests."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild a config from :meth:`to_dict` output; unknown keys are an error, not silently dropped.

        Rejecting unknown keys matters because a typo (``"activaton"``) would
        otherwise build a different model than the user asked for.
        """
        check(isinstance(data, dict), f"model config must be a dictionary, got {type(data).__name__}")
        known = {field.name for field in fields(cls)}
        unknown = sorted(set(data) - known)
        check(
            not unknown,
            f"model config has unknown keys {unknown}; valid keys are {', '.join(sorted(known))}",
        )
        return cls(**data)


def _is_positive_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value > 0


class Exponential(nn.Module):
    """Element-wise ``exp(x)``, the first-layer activation of Koo & Ploenzke (2021).

    Exponential activations suppress background (negative pre-activations go
    to almost zero) and amplify strong motif matches, so first-layer filters
    learn whole motifs instead of distributed fragments.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.exp(x)


def _first_activation(name: str) -> nn.Module:
    if name == "exp":
        return Exponential()
    if name == "leaky_relu":
        return nn.LeakyReLU()
    return nn.ReLU()


class EnhancerCNN(nn.Module):
    """DeepSTARR-style 1D-CNN mapping one-hot DNA ``(N, 4, L)`` to logits ``(N, T)``.

    Each convolution block is ``Conv1d(padding="same") -> BatchNorm1d ->
    activation -> MaxPool1d`` in ``self.blocks``; attribution code (e.g. CAM,
    model randomization) finds layers by walking ``model.modules()``.  The head
    is ``self.dense`` (``Linear -> BatchNorm1d -> ReLU -> Dropout`` per dense
    layer, as in DeepSTARR) followed by ``self.output`` (``Linear`` to ``T``
    logits).

    Parameters
    ----------
    config
        The architecture; stored as ``self.config`` and saved with the weights.

    Attributes
    ----------
    metadata : dict
        Free-form, JSON-like provenance (training data, metrics) that
        :func:`save_model` writes and :func:`load_model` restores.
    """

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        self.config = config if config is not None else ModelConfig()
        self.metadata: dict[str, Any] = {}
        blocks = []
        in_channels = 4
        for index, (channels, kernel) in enumerate(zip(self.config.conv_channels, self.config.kernel_sizes)):
            blocks.append(
                nn.Sequential(
                    nn.Conv1d(in_channels, channels, kernel, padding="same"),
                    nn.BatchNorm1d(channels),
                    _first_activation(self.config.activation) if index == 0 else nn.ReLU(),
                    nn.MaxPool1d(self.config.pool_size),
                )
            )
            in_channels = channels
        self.blocks = nn.ModuleList(blocks)
        features = in_channels * (self.config.final_length if self.config.head == "flatten" else 1)
        dense: list[nn.Module] = []
        for units in self.config.dense_units:
            dense += [nn.Linear(features, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(self.config.dropout)]
            features = units
        self.dense = nn.Sequential(*dense)
        self.output = nn.Linear(features, self.config.n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` for one-hot input ``(N, 4, L)``."""
        for block in self.blocks:
            x = block(x)
        x = x.flatten(1) if self.config.head == "flatten" else x.mean(dim=2)
        return self.output(self.dense(x))


def model_provenance(source: str | os.PathLike | nn.Module, model: nn.Module) -> dict:
    """Manifest entry for a model: its file (``"default"`` resolves to the bundled one) with SHA-256, its config.

    ``source`` is what the user gave: a path, ``"default"``, or the loaded
    model itself (then recorded as ``in-memory``, without a hash).
    """
    config = getattr(model, "config", None)
    entry: dict[str, Any] = {"path": "in-memory", "sha256": None}
    if not isinstance(source, nn.Module):
        path = default_model_path() if str(source) == "default" else Path(source)
        entry = {"path": str(path.resolve()), "sha256": file_sha256(path)}
    entry["config"] = config.to_dict() if isinstance(config, ModelConfig) else None
    entry["metadata"] = getattr(model, "metadata", {})
    return entry


def default_model_path() -> Path:
    """Where the bundled default model lives (built by ``make model``)."""
    return Path(seqsal.__file__).parent / "default_model.pt"


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """Turn a user's device choice into a :class:`torch.device`; ``None`` means CUDA if available, else CPU.

    Raises
    ------
    SeqsalError
        If the name is not a device, or CUDA is asked for but not available.
    """
    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise SeqsalError(f"device {device!r} is not a valid device; use 'cpu' or 'cuda'") from err
    check(
        resolved.type != "cuda" or torch.cuda.is_available(),
        f"device {str(device)!r} was requested but CUDA is not available; use 'cpu'",
    )
    return resolved


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
        The model to save.
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
    check(isinstance(model, EnhancerCNN), f"save_model needs an EnhancerCNN, got {type(model).__name__}")
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


def load_model(
    source: str | os.PathLike | EnhancerCNN = "default", device: str | torch.device | None = None
) -> EnhancerCNN:
    """Load a seqsal model file, refusing anything that is not plain weights.

    Parameters
    ----------
    source
        ``"default"`` for the bundled model, a path to a file written by
        :func:`save_model`, or an :class:`EnhancerCNN`, which is returned
        unchanged (so library functions can accept either).
    device
        Where to put the loaded model; ``None`` means CUDA if available.

    Returns
    -------
    EnhancerCNN
        In eval mode, with ``metadata`` restored.

    Raises
    ------
    SeqsalError
        One sentence naming the file: missing, a directory, not a PyTorch
        file, a file carrying code, not a seqsal model, or weights that do not
        match the stored config.
    """
    if isinstance(source, EnhancerCNN):
        return source
    if isinstance(source, str) and source == "default":
        path = default_model_path()
        check(
            path.is_file(),
            f"the bundled default model {path} is missing; build it with `make model` or pass a model file",
        )
    else:
        path = Path(source)
        check(path.exists(), f"model file {path} does not exist; check the path")
        check(not path.is_dir(), f"model file {path} is a directory; pass the .pt file inside it")
    try:
        with warnings.catch_warnings():
            # torch warns about a raw pickle's protocol before refusing it; the
            # SeqsalError below already says what is wrong.
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        # The weights-only unpickler names the class or function it was asked
        # to import ("GLOBAL module.name"); anything else it refuses is not a
        # torch file at all.
        if "GLOBAL" in str(err):
            raise SeqsalError(
                f"model file {path} was refused: the file contains code, not just weights; "
                "re-save the model with seqsal.models.save_model"
            ) from None
        raise SeqsalError(f"model file {path} is not a PyTorch model file; pass a file written by save_model") from None
    except Exception as err:  # torch raises many types for non-torch bytes (KeyError, EOFError, RuntimeError, ...)
        raise SeqsalError(
            f"model file {path} is not a PyTorch model file ({type(err).__name__}); pass a file written by save_model"
        ) from None
    check(
        isinstance(payload, dict) and payload.get("format") == FORMAT,
        f"model file {path} is not a seqsal model (no format tag {FORMAT!r}); "
        "load plain state dicts into an EnhancerCNN yourself and save it with save_model",
    )
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
    return model.to(resolve_device(device)).eval()


def predict(
    model: nn.Module,
    X: np.ndarray | torch.Tensor,
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Logits ``(N, T)`` for one-hot ``X`` ``(N, 4, L)``, batch by batch.

    The model runs in eval mode (batch norm uses its running statistics, so
    results do not depend on ``batch_size``) under ``torch.inference_mode``,
    as the rewritten copy of :func:`seqsal.attribution.rewrite.attribution_copy`
    (BatchNorm folded, max-pool before activation, channels-last on CPU): the
    same function to float rounding, faster.  The model itself is not changed;
    its previous train/eval mode and device are restored afterwards, also
    when an error is raised.

    Parameters
    ----------
    model
        Any module mapping ``(N, 4, L)`` to ``(N, T)``; an :class:`EnhancerCNN`
        additionally has its input length checked.
    X
        numpy array or tensor, one-hot (or any real-valued) ``(N, 4, L)``.
    batch_size
        Sequences per forward pass; bounds memory, not results.
    device
        Where to compute; ``None`` means CUDA if available.

    Returns
    -------
    numpy.ndarray
        float32 logits ``(N, T)`` on the CPU.
    """
    check(_is_positive_int(batch_size), f"batch_size must be a positive integer, got {batch_size!r}")
    X = as_input_tensor(X, model, "X")
    target = resolve_device(device)
    original_device = next(model.parameters(), torch.empty(0)).device
    was_training = model.training
    try:
        # Imported here: the rewrites live with attribution, which builds on this module.
        from seqsal.attribution.rewrite import attribution_copy

        fast = attribution_copy(model.to(target).eval())
        outputs = []
        with torch.inference_mode():
            for start in range(0, X.shape[0], batch_size):
                outputs.append(fast(X[start : start + batch_size].to(target)).float().cpu())
        return torch.cat(outputs).numpy()
    finally:
        model.to(original_device).train(was_training)


def as_input_tensor(X: np.ndarray | torch.Tensor, model: nn.Module, name: str) -> torch.Tensor:
    """Check that ``X`` is a non-empty ``(N, 4, L)`` batch the model can read and return it as float32 CPU tensor.

    Shared by prediction and training so that a wrong shape or length gets the
    same precise message wherever it is passed.
    """
    check(
        isinstance(X, (np.ndarray, torch.Tensor)),
        f"{name} must be a numpy array or tensor of one-hot sequences, got {type(X).__name__}",
    )
    tensor = torch.as_tensor(X).detach().to("cpu", torch.float32)
    check(
        tensor.ndim == 3 and tensor.shape[1] == 4,
        f"{name} has shape {tuple(tensor.shape)}, expected one-hot (N, 4, L); encode sequences with seqsal.encoding.one_hot",
    )
    check(tensor.shape[0] > 0, f"{name} is empty; pass at least one sequence")
    length = getattr(getattr(model, "config", None), "input_length", None)
    if length is not None:
        check(
            tensor.shape[2] == length,
            f"{name} has sequences of length {tensor.shape[2]} but the model reads {length}; "
            "crop or pad them with seqsal.encoding.fit_length",
        )
    return tensor
