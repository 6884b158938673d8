"""Pitfall ``activations``: the first-layer activation decides how clean the maps are.

The same simulated data fitted by three CNNs that differ only in the
first-layer activation (ReLU, leaky ReLU, exponential), scored by
plausibility against the planted motifs and by how much attribution lands
outside them (:func:`~seqsal.experiments.pitfalls.compare.background_share`).
Koo & Ploenzke (Nature Machine Intelligence 2021) report that the exponential
activation gives cleaner maps.
"""

from __future__ import annotations

from typing import Sequence

import torch

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
from seqsal.models import EnhancerCNN

ACTIVATIONS = ("relu", "leaky_relu", "exp")
"""The first-layer activations compared, in the order of the figure."""

def activations(
    n: int = DEFAULT_N,
    length: int = DEFAULT_LENGTH,
    *,
    epochs: int = DEFAULT_EPOCHS,
    seed: int = 0,
    activation_names: Sequence[str] = ACTIVATIONS,
    lr: float = LEARNING_RATE,
    n_examples: int = 1,
    batch_size: int = 256,
    device: str | torch.device | None = None,
    progress: bool = False,
) -> ComparisonResult:
    """Train :func:`small_cnn_config` with each first-layer activation on one simulated set and compare maps.

    The models share the data, the seed, the batch order and, because the
    activation has no weights, the initial weights: the activation is the
    only difference.  See :func:`compare_models` for the scores.
    """
    check(len(activation_names) > 0, "give at least one activation")
    data = simulate_data(n, length, seed)
    models = {name: seeded(lambda name=name: EnhancerCNN(small_cnn_config(length, name)), seed)
              for name in activation_names}
    return compare_models(models, data, epochs=epochs, seed=seed, lr=lr, n_examples=n_examples,
                          batch_size=batch_size, device=device, progress=progress)


