"""Small models of the architectures users bring, none of them seqsal's own class.

Each builder seeds its own generator-free initialisation with ``torch.manual_seed``
and randomises every BatchNorm (``randomized_batchnorm``), so folding is really
exercised; weights are scaled so that outputs are of order 1 and ISM deltas are
far from zero.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from tests.conftest import randomized_batchnorm


def _scaled(model: nn.Module, seed: int) -> nn.Module:
    for module in model.modules():
        if isinstance(module, (nn.Conv1d, nn.Linear)):
            module.weight.data *= 2.0
    return randomized_batchnorm(model, seed).eval()


def deepstarr_like(length: int = 41, outputs: int = 1, seed: int = 0) -> nn.Sequential:
    """A plain ``nn.Sequential`` DeepSTARR: ``Conv1d(padding=k//2)``, BatchNorm, ReLU, MaxPool, Flatten, dense head."""
    torch.manual_seed(seed)
    final = (length // 2) // 2
    return _scaled(nn.Sequential(
        nn.Conv1d(4, 8, 7, padding=3), nn.BatchNorm1d(8), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(8, 6, 3, padding=1), nn.BatchNorm1d(6), nn.ReLU(), nn.MaxPool1d(2),
        nn.Conv1d(6, 5, 5, padding=2), nn.BatchNorm1d(5), nn.ReLU(),
        nn.Flatten(), nn.Linear(5 * final, 12), nn.BatchNorm1d(12), nn.ReLU(), nn.Dropout(0.3),
        nn.Linear(12, outputs),
    ), seed)


class BPNetLike(nn.Module):
    """A BPNet-style model with its own ``forward``: wide first conv, dilated residual convs, GAP, linear head."""

    def __init__(self, channels: int = 8, layers: int = 3, outputs: int = 1, first_kernel: int = 9) -> None:
        super().__init__()
        self.first = nn.Conv1d(4, channels, first_kernel, padding=first_kernel // 2)
        self.dilated = nn.ModuleList(nn.Conv1d(channels, channels, 3, padding=2**i, dilation=2**i)
                                     for i in range(1, layers + 1))
        self.head = nn.Linear(channels, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.first(x))
        for conv in self.dilated:
            x = x + F.relu(conv(x))
        return self.head(x.mean(dim=2))


def bpnet_like(outputs: int = 1, seed: int = 0, **kwargs) -> BPNetLike:
    torch.manual_seed(seed)
    return _scaled(BPNetLike(outputs=outputs, **kwargs), seed)


class EvenSame(nn.Module):
    """``padding="same"`` with even kernels and a dilation, a channel concatenation, exp and a max-pool."""

    def __init__(self, length: int = 40) -> None:
        super().__init__()
        self.a = nn.Conv1d(4, 6, 4, padding="same")
        self.b = nn.Conv1d(4, 3, 2, padding="same", dilation=3)
        self.norm = nn.BatchNorm1d(9)
        self.c = nn.Conv1d(9, 5, 6, padding="same", bias=False)
        self.pool = nn.MaxPool1d(3, stride=2, padding=1)
        self.head = nn.Linear(5 * ((length + 2 - 3) // 2 + 1), 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = torch.exp(self.norm(torch.cat([self.a(x), self.b(x)], dim=1)) / 4)
        x = self.pool(F.leaky_relu(self.c(x), 0.1))
        return self.head(torch.flatten(x, 1))


def even_same(seed: int = 0) -> EvenSame:
    torch.manual_seed(seed)
    return _scaled(EvenSame(), seed)


class DataDependent(nn.Module):
    """Python control flow on the input (its shape): symbolic tracing cannot follow it.

    (Control flow on tensor *values* cannot be traced either, but it usually
    makes the output depend on the rest of the batch, which no oracle allows.)
    """

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 6, 5, padding=2)
        self.norm = nn.BatchNorm1d(6)
        self.head = nn.Linear(6, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = self.norm(self.conv(x))
        if x.shape[2] >= 8:
            hidden = torch.relu(hidden)
        return self.head(hidden.mean(dim=2))


def data_dependent(seed: int = 0) -> DataDependent:
    torch.manual_seed(seed)
    return _scaled(DataDependent(), seed)


class Attention(nn.Module):
    """Self-attention over positions inside the trunk: every output position sees every input position."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.conv(x)).transpose(1, 2)
        attended, _ = self.attention(hidden, hidden, hidden, need_weights=False)
        return self.head(attended.mean(dim=1))


class GlobalInTrunk(nn.Module):
    """A squeeze-and-excitation gate: a global mean inside the trunk scales every position."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 5, padding=2)
        self.gate = nn.Linear(8, 8)
        self.head = nn.Linear(8, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.relu(self.conv(x))
        hidden = hidden * torch.sigmoid(self.gate(hidden.mean(dim=2))).unsqueeze(2)
        return self.head(hidden.amax(dim=2))


def non_local(kind: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return _scaled(Attention() if kind == "attention" else GlobalInTrunk(), seed)


def saved_as_users_files(folder, builder: str, model: nn.Module, length: int, outputs: int) -> dict[str, object]:
    """``model`` (built by ``tests.families.<builder>(outputs=outputs)``) saved as a user would: code + weights, and ``.pt2``.

    The code file builds the architecture with another seed, so equal results prove the weights were loaded.
    Returns the ``load_model`` arguments for each source.
    """
    code = folder / "users_model.py"
    code.write_text(f"from tests.families import {builder}\n\n\ndef build():\n    return {builder}(outputs={outputs}, seed=99)\n")
    torch.save(model.state_dict(), folder / "weights.pt")
    example = torch.zeros(3, 4, length)
    program = torch.export.export(model, (example,), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, folder / "model.pt2")
    torch.export.save(torch.export.export(model, (example,)), folder / "fixed.pt2")
    return {"code": dict(code=f"{code}:build", weights=folder / "weights.pt", length=length),
            "pt2": dict(source=folder / "model.pt2"), "fixed-batch pt2": dict(source=folder / "fixed.pt2")}
