"""Shared fixtures: tiny models and short random sequences keep the suite fast on 2 cores."""

from __future__ import annotations

import os

os.environ.setdefault("MPLBACKEND", "Agg")

import numpy as np
import pytest
import torch

from seqsal.encoding import ALPHABET, one_hot
from seqsal.models import EnhancerCNN, ModelConfig

# Tiny models on 2 shared cores: torch's thread pool spins and slows small passes ~100-fold,
# so the suite runs torch single-threaded.
torch.set_num_threads(1)

TINY = ModelConfig(input_length=40, conv_channels=(8, 6), kernel_sizes=(5, 3), dense_units=(12,),
                   dropout=0.0)


def random_sequences(n: int, length: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    return ["".join(rng.choice(list(ALPHABET), size=length)) for _ in range(n)]


def randomized_batchnorm(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """Give every BatchNorm1d non-trivial statistics and affine weights (seeded), so folding it is tested; eval mode."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            size = module.num_features
            module.running_mean.copy_(torch.rand(size, generator=generator) - 0.5)
            module.running_var.copy_(torch.rand(size, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(size, generator=generator) + 0.5)
            module.bias.data.copy_(torch.rand(size, generator=generator) * 0.4 - 0.2)
    return model.eval()


@pytest.fixture
def tiny_model() -> EnhancerCNN:
    """A randomly initialised tiny CNN with non-trivial BatchNorm statistics, in eval mode."""
    torch.manual_seed(0)
    model = EnhancerCNN(TINY)
    for module in model.modules():
        if isinstance(module, torch.nn.BatchNorm1d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.uniform_(0.5, 1.5)
            module.bias.data.uniform_(-0.2, 0.2)
    return model.eval()


@pytest.fixture
def onehot_batch() -> np.ndarray:
    return one_hot(random_sequences(16, TINY.input_length, seed=1))
