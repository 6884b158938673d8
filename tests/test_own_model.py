"""A user's own model through every source seqsal reads: torch.export, TorchScript, code + weights.

Three architectures are written to a code file, built in memory, and saved
each way; the loaded model must predict and attribute exactly like the
in-memory one.  The adapters (NLC, tuple, dict, profile, float64, fixed
export batch) are checked against hand computations, and every bad input
must fail in one sentence.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from captum.attr import Saliency
from torch import nn

import seqsal
from seqsal.attribution import attribute
from seqsal.errors import SeqsalError
from seqsal.models import SequenceModel, load_model, model_provenance, predict, save_model
from tests.conftest import random_sequences

LENGTH = 60

ARCHITECTURES = '''
import torch
from torch import nn


def build_plain():
    """A plain Sequential CNN with a Flatten -> Linear head (reads exactly 60 bases)."""
    return nn.Sequential(nn.Conv1d(4, 8, 7, padding=3), nn.ReLU(), nn.Conv1d(8, 6, 5, padding=2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(6 * 60, 1))


class Residual(nn.Module):
    """A residual dilated CNN with a custom forward and global average pooling (reads any length)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(4, 8, 5, padding=2)
        self.dilated = nn.ModuleList([nn.Conv1d(8, 8, 3, padding=d, dilation=d) for d in (2, 4)])
        self.head = nn.Linear(8, 1)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        for conv in self.dilated:
            h = h + torch.relu(conv(h))
        return self.head(h.mean(dim=2))


class TwoOutputs(nn.Module):
    """Two named outputs after max pooling and Flatten -> Linear (fits 60 and 61 bases)."""

    def __init__(self):
        super().__init__()
        self.output_names = ["dev", "hk"]
        self.trunk = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.MaxPool1d(2))
        self.head = nn.Linear(6 * 30, 2)

    def forward(self, x):
        return self.head(self.trunk(x).flatten(1))
'''

# name -> (builder in the code file, length= the loader needs, discovered length)
BUILDERS = {"plain": ("build_plain", None), "residual": ("Residual", LENGTH), "two": ("TwoOutputs", LENGTH)}
# every gradient method and ISM, with few samples and steps: the comparison is exact at any count
GRADIENT_METHODS = {"gradient": {}, "saliency": {}, "grad_x_input": {}, "smoothgrad": {"n_samples": 3},
                    "smoothgrad_sq": {"n_samples": 3}, "integrated_gradients": {"steps": 4}, "ism": {"start": 25, "end": 32}}


def import_file(path: Path):
    spec = importlib.util.spec_from_file_location(f"archs_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def onehot(n: int = 5, length: int = LENGTH, seed: int = 3) -> np.ndarray:
    return seqsal.one_hot(random_sequences(n, length, seed=seed))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Every architecture in memory and saved as .pt2 (dynamic batch), TorchScript and a state dict; one fixed-batch .pt2."""
    folder = tmp_path_factory.mktemp("own")
    code = folder / "archs.py"
    code.write_text(ARCHITECTURES)
    archs = import_file(code)
    x = torch.from_numpy(onehot(3))
    result = {"code": code}
    for name, (builder, _) in BUILDERS.items():
        torch.manual_seed(len(name))
        model = getattr(archs, builder)().eval()
        program = torch.export.export(model, (x,), dynamic_shapes=({0: torch.export.Dim("batch")},))
        torch.export.save(program, folder / f"{name}.pt2")
        torch.jit.save(torch.jit.script(model), folder / f"{name}.ts")
        torch.save(model.state_dict(), folder / f"{name}.weights.pt")
        result[name] = model
    torch.export.save(torch.export.export(result["plain"], (x,)), folder / "plain_fixed.pt2")
    result["folder"] = folder
    return result


def load(saved, name: str, kind: str) -> nn.Module:
    builder, length = BUILDERS[name]
    folder = saved["folder"]
    if kind == "code":
        return load_model(code=f"{saved['code']}:{builder}", weights=folder / f"{name}.weights.pt", length=length,
                          device="cpu")
    if kind == "fixed":
        return load_model(folder / "plain_fixed.pt2", device="cpu")
    # TorchScript cannot be hooked, so a Flatten -> Linear model needs its length stated
    return load_model(folder / f"{name}.{kind}", length=LENGTH if kind == "ts" else length, device="cpu")


SOURCES = [(name, kind) for name in BUILDERS for kind in ("pt2", "ts", "code")] + [("plain", "fixed")]


@pytest.mark.parametrize("name, kind", SOURCES)
def test_loaded_model_predicts_and_attributes_like_the_in_memory_model(saved, name, kind):
    loaded, original = load(saved, name, kind), saved[name]
    X = onehot(4)
    assert isinstance(loaded, SequenceModel) and loaded.config.input_length == LENGTH
    expected = predict(original, X, device="cpu")
    np.testing.assert_allclose(predict(loaded, X, batch_size=3, device="cpu"), expected, rtol=1e-5, atol=1e-6)
    target = loaded.config.n_outputs - 1
    for method, options in GRADIENT_METHODS.items():
        ours = attribute(loaded, X, method, target, batch_size=3, device="cpu", **options)
        reference = attribute(original, X, method, target, batch_size=3, device="cpu", **options)
        np.testing.assert_allclose(ours, reference, rtol=1e-5, atol=1e-6, err_msg=method)
        assert np.abs(reference).max() > 0, method  # not two zero maps


@pytest.mark.parametrize("kind", ["pt2", "ts", "code", "fixed"])
def test_saliency_equals_captum_on_the_loaded_model(saved, kind):
    loaded = load(saved, "plain", kind)
    X = onehot(5)
    ours = attribute(loaded, X, "saliency", hypothetical=True, device="cpu")
    x = torch.from_numpy(X).requires_grad_(True)
    expected = Saliency(loaded).attribute(x, target=0, abs=True).detach().numpy()
    scale = np.abs(expected).max()
    assert scale > 1e-4
    np.testing.assert_allclose(ours, expected, rtol=0, atol=1e-5 * scale)


def test_what_is_discovered_and_recorded(saved):
    two = load(saved, "two", "ts")
    assert two.config.output_names == ("dev", "hk") and two.config.n_outputs == 2
    assert load_model(saved["folder"] / "plain.pt2").config.input_length == LENGTH  # the export's input spec
    plain_code = load_model(code=f"{saved['code']}:build_plain", weights=saved["folder"] / "plain.weights.pt")
    assert plain_code.config.input_length == LENGTH  # found by bisection on the Linear's width
    code = load(saved, "two", "code")
    entry = model_provenance(code)
    assert entry["kind"] == "code" and entry["code_sha256"] == seqsal.io.file_sha256(saved["code"])
    assert entry["sha256"] == seqsal.io.file_sha256(saved["folder"] / "two.weights.pt")
    assert entry["config"] == {"input_length": 60, "n_outputs": 2, "output_names": ["dev", "hk"],
                               "task": "regression"}
    fixed = model_provenance("ignored", load(saved, "plain", "fixed"))
    assert fixed["kind"] == "torch.export" and fixed["adapters"]["batch_size"] == 3
    assert json.loads(json.dumps(entry)) == entry  # manifests are JSON
