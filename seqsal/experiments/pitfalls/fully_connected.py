"""Pitfall ``fully-connected``: a dense network next to a CNN on the same data.

Without weight sharing a dense layer must learn every motif at every offset
separately, so on a few thousand sequences it barely generalises and its maps
do not point at the motifs.

:class:`FullyConnected` lives here, not in :mod:`seqsal.models`, because it
is a baseline for this demonstration only: :func:`seqsal.models.save_model`
and :func:`~seqsal.models.load_model` do not know it, and no command trains
or explains one outside this pitfall.  It carries a :class:`DenseConfig` with
the fields that training and attribution read, so the library's functions
accept it like any model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from seqsal.errors import check
from seqsal.experiments.pitfalls.compare import (
    DEFAULT_EPOCHS,
    DEFAULT_LENGTH,
    DEFAULT_N,
    LEARNING_RATE,
    ComparisonResult,
    compare_models,
    seeded,
    simulate_data,
    small_cnn_config,
)
from seqsal.models import EnhancerCNN, ModelConfig

DEFAULT_HIDDEN_UNITS = (128, 64)
DEFAULT_FC_DROPOUT = 0.2

@dataclass(frozen=True)
class DenseConfig:
    """The architecture of a :class:`FullyConnected` model, with the fields training reads."""

    input_length: int
    n_outputs: int = 1
    dense_units: tuple[int, ...] = DEFAULT_HIDDEN_UNITS
    dropout: float = DEFAULT_FC_DROPOUT
    output_names: tuple[str, ...] = ("output_0",)
    task: str = "classification"


class FullyConnected(nn.Module):
    """A fully connected baseline: flattened one-hot ``(N, 4L)`` → dense layers → logits ``(N, T)``.

    Each hidden layer is ``Linear → BatchNorm1d → ReLU → Dropout``, the dense
    head of :class:`~seqsal.models.EnhancerCNN`, so the two models differ only
    in how they see the sequence: every input weight belongs to one base at
    one position, with nothing shared between positions.  With no hidden
    layers it is logistic regression on the one-hot encoding.

    ``self.config`` is a :class:`DenseConfig`: the fields
    :func:`seqsal.train.fit` and attribution read, describing this model.

    Parameters
    ----------
    input_length
        Sequence length ``L``.
    hidden_units
        Width of each hidden layer; may be empty.
    dropout
        Dropout after each hidden layer.
    n_outputs
        Number of logits ``T``.
    """

    def __init__(self, input_length: int, hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
                 dropout: float = DEFAULT_FC_DROPOUT, n_outputs: int = 1) -> None:
        super().__init__()
        names = ModelConfig().output_names if n_outputs == 1 else tuple(f"output_{i}" for i in range(n_outputs))
        self.config = DenseConfig(input_length=input_length, n_outputs=n_outputs, dense_units=tuple(hidden_units),
                                  dropout=dropout, output_names=names)
        layers: list[nn.Module] = []
        features = 4 * input_length
        for units in self.config.dense_units:
            layers += [nn.Linear(features, units), nn.BatchNorm1d(units), nn.ReLU(), nn.Dropout(dropout)]
            features = units
        self.dense = nn.Sequential(*layers)
        self.output = nn.Linear(features, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(N, T)`` for one-hot input ``(N, 4, L)``."""
        check(x.ndim == 3 and x.shape[1:] == (4, self.config.input_length),
              f"the fully connected model reads (N, 4, {self.config.input_length}), got {tuple(x.shape)}")
        return self.output(self.dense(x.flatten(1)))


def fully_connected(
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    hidden_units: Sequence[int] = DEFAULT_HIDDEN_UNITS,
    activation: str = "exp",
    lr: float = LEARNING_RATE,
    n_examples: int = 2,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ComparisonResult:
    """Train a :class:`FullyConnected` model and the small CNN on the same simulated set and compare maps.

    The CNN is :func:`small_cnn_config` with ``activation`` (exponential by
    default, like the bundled model); both are trained by
    :func:`compare_models` with the same seed and settings.  The results are
    named ``cnn_<activation>`` and ``fully_connected``.
    """
    data = simulate_data(n, length, seed)
    models = {
        f"cnn_{activation}": seeded(lambda: EnhancerCNN(small_cnn_config(length, activation)), seed),
        "fully_connected": seeded(lambda: FullyConnected(length, hidden_units), seed),
    }
    return compare_models(models, data, epochs=epochs, seed=seed, lr=lr, n_examples=n_examples,
                          batch_size=batch_size, device=device, progress=progress)


