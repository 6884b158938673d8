"""seqsal's own enhancer 1D-CNN and its configuration.

The default architecture is DeepSTARR (de Almeida et al., Nature Genetics
2022): four convolution blocks (convolution, batch norm, activation, max
pooling) followed by two dense layers.  The activation of the *first* block is
configurable because Koo & Ploenzke (Nature Machine Intelligence 2021) showed
that an exponential activation there makes first-layer filters learn whole,
readable motifs, which in turn makes attribution maps cleaner.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import torch
from torch import nn

from seqsal.errors import check

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
            check(is_positive_int(getattr(self, name)), f"model config {name!r} must be a positive integer")
        for name in ("conv_channels", "kernel_sizes", "dense_units"):
            check(
                all(is_positive_int(v) for v in getattr(self, name)),
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


def is_positive_int(value: object) -> bool:
    """True for a positive integer (numpy integers too), False for booleans and everything else."""
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
