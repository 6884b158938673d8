"""Tests for the enhancer CNN, its config, safe save/load and prediction."""

from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch
from torch import nn

import seqsal.models as models
from seqsal.errors import SeqsalError
from seqsal.models import (
    EnhancerCNN,
    Exponential,
    ModelConfig,
    load_model,
    predict,
    resolve_device,
    save_model,
)

TINY = ModelConfig(input_length=32, conv_channels=(8, 8), kernel_sizes=(5, 3), dense_units=(16,))


def random_one_hot(n: int, length: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 4, length), dtype=np.float32)
    X[np.arange(n)[:, None], rng.integers(0, 4, (n, length)), np.arange(length)] = 1
    return X


def trained_like(config: ModelConfig = TINY, seed: int = 0) -> EnhancerCNN:
    """A model with non-trivial batch-norm statistics, so save/load and mode tests mean something."""
    torch.manual_seed(seed)
    model = EnhancerCNN(config)
    model.train()
    with torch.no_grad():
        model(torch.from_numpy(random_one_hot(16, config.input_length, seed)))
    return model.eval()


# --- config ------------------------------------------------------------------


def test_default_config_is_deepstarr():
    config = ModelConfig()
    assert config.input_length == 249
    assert config.conv_channels == (256, 60, 60, 120)
    assert config.kernel_sizes == (7, 3, 5, 3)
    assert config.dense_units == (256, 256)
    assert config.final_length == 15  # 249 -> 124 -> 62 -> 31 -> 15


def test_config_round_trips_through_dict():
    data = TINY.to_dict()
    assert data["conv_channels"] == [8, 8]
    assert ModelConfig.from_dict(data) == TINY


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        ({"conv_channels": (8, 8), "kernel_sizes": (5,)}, "kernel_sizes"),
        ({"input_length": 3}, "too short"),
        ({"activation": "gelu"}, "relu, exp, leaky_relu"),
        ({"head": "attention"}, "flatten, gap"),
        ({"task": "ranking"}, "classification"),
        ({"n_outputs": 2}, "one name"),
        ({"dropout": 1.0}, "dropout"),
        ({"conv_channels": (), "kernel_sizes": ()}, "at least one block"),
    ],
)
def test_config_rejects_bad_values(kwargs, fragment):
    with pytest.raises(SeqsalError, match=fragment):
        ModelConfig(**{**TINY.to_dict(), **kwargs})


def test_config_rejects_unknown_keys():
    with pytest.raises(SeqsalError, match="activaton"):
        ModelConfig.from_dict({**TINY.to_dict(), "activaton": "exp"})


# --- architecture ------------------------------------------------------------


@pytest.mark.parametrize("head", ["flatten", "gap"])
@pytest.mark.parametrize("activation", ["relu", "exp", "leaky_relu"])
def test_output_shape(head, activation):
    config = ModelConfig(**{**TINY.to_dict(), "head": head, "activation": activation})
    model = EnhancerCNN(config).eval()
    assert model(torch.from_numpy(random_one_hot(5))).shape == (5, 1)


def test_multi_output_shape():
    config = ModelConfig(**{**TINY.to_dict(), "n_outputs": 2, "output_names": ["dev", "hk"]})
    assert EnhancerCNN(config).eval()(torch.zeros(3, 4, 32)).shape == (3, 2)


def test_activation_applies_to_first_block_only():
    model = EnhancerCNN(ModelConfig(**{**TINY.to_dict(), "activation": "exp"}))
    assert isinstance(model.blocks[0][2], Exponential)
    assert isinstance(model.blocks[1][2], nn.ReLU)
    assert sum(isinstance(m, nn.Conv1d) for m in model.modules()) == 2
    assert sum(isinstance(m, nn.BatchNorm1d) for m in model.modules()) == 3  # 2 conv + 1 dense


# --- save / load -------------------------------------------------------------


def test_save_load_round_trip(tmp_path):
    model = trained_like()
    X = random_one_hot(10)
    path = save_model(model, tmp_path / "model.pt", metadata={"auroc": np.float64(0.9), "names": ("a", "b")})
    loaded = load_model(path, device="cpu")
    assert not loaded.training
    assert loaded.config == model.config
    assert loaded.metadata == {"auroc": 0.9, "names": ["a", "b"]}
    np.testing.assert_array_equal(predict(loaded, X, device="cpu"), predict(model, X, device="cpu"))
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"]  # no temp file left behind


def test_save_uses_model_metadata_by_default(tmp_path):
    model = trained_like()
    model.metadata = {"trained_on": "demo"}
    assert load_model(save_model(model, tmp_path / "m.pt")).metadata == {"trained_on": "demo"}


def test_save_rejects_non_plain_metadata(tmp_path):
    with pytest.raises(SeqsalError, match=r"metadata\['array'\]"):
        save_model(trained_like(), tmp_path / "m.pt", metadata={"array": np.zeros(3)})
    assert not (tmp_path / "m.pt").exists()


def test_save_into_missing_directory(tmp_path):
    with pytest.raises(SeqsalError, match="does not exist"):
        save_model(trained_like(), tmp_path / "nope" / "m.pt")


def test_load_passes_a_model_through():
    model = trained_like().train()
    assert load_model(model) is model
    assert model.training


class Smuggled:
    """A class defined here: a weights-only loader must refuse to import it."""


class RunsCode:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_load_refuses_pickled_objects(tmp_path):
    path = tmp_path / "object.pt"
    torch.save({"format": "seqsal-model", "payload": Smuggled()}, path)
    with pytest.raises(SeqsalError, match="refused: the file contains code"):
        load_model(path)


@pytest.mark.parametrize("writer", ["torch", "pickle"])
def test_load_refuses_code_without_running_it(tmp_path, writer):
    marker = tmp_path / "executed"
    path = tmp_path / "evil.pt"
    if writer == "torch":
        torch.save({"x": RunsCode(marker)}, path)
    else:
        path.write_bytes(pickle.dumps(RunsCode(marker)))
    with pytest.raises(SeqsalError, match=str(path)):
        load_model(path)
    assert not marker.exists()


def test_load_refuses_plain_dict(tmp_path):
    path = tmp_path / "state.pt"
    torch.save(trained_like().state_dict(), path)
    with pytest.raises(SeqsalError, match="not a seqsal model"):
        load_model(path)


@pytest.mark.parametrize("content", [b"hello world\n", b"", bytes(range(256))])
def test_load_refuses_non_torch_files(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(SeqsalError, match="not a PyTorch model file"):
        load_model(path)


def test_load_refuses_missing_path_and_directory(tmp_path):
    with pytest.raises(SeqsalError, match="does not exist"):
        load_model(tmp_path / "missing.pt")
    with pytest.raises(SeqsalError, match="is a directory"):
        load_model(tmp_path)


def test_load_refuses_weights_that_do_not_match_config(tmp_path):
    path = save_model(trained_like(), tmp_path / "m.pt")
    payload = torch.load(path, weights_only=True)
    payload["config"]["conv_channels"] = [16, 8]
    torch.save(payload, path)
    with pytest.raises(SeqsalError, match="do not match its config"):
        load_model(path)


def test_missing_default_model_says_how_to_build_it(tmp_path, monkeypatch):
    monkeypatch.setattr(models.sources, "bundled_model_path", lambda name: tmp_path / f"{name}_model.pt")
    with pytest.raises(SeqsalError, match="make model"):
        load_model()
    with pytest.raises(SeqsalError, match="make model-pu1"):
        load_model("pu1")


# --- predict -----------------------------------------------------------------


def test_predict_restores_train_mode_and_is_deterministic():
    model = trained_like().train()
    X = random_one_hot(7)
    first = predict(model, X, device="cpu")
    assert model.training
    assert first.shape == (7, 1) and first.dtype == np.float32
    np.testing.assert_array_equal(first, predict(model, torch.from_numpy(X), device="cpu"))


def test_predict_restores_mode_on_error():
    class Broken(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = Broken().train()
    with pytest.raises(RuntimeError):
        predict(model, random_one_hot(2), device="cpu")
    assert model.training


def test_predict_does_not_depend_on_batch_size():
    model = trained_like()
    X = random_one_hot(23)
    reference = predict(model, X, batch_size=23, device="cpu")
    for batch_size in (1, 4, 10):
        np.testing.assert_allclose(predict(model, X, batch_size=batch_size, device="cpu"), reference, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("family", ["deepstarr", "bpnet", "untraceable"])
def test_predict_runs_a_rewritten_copy_that_agrees_with_the_model(family):
    from tests.families import bpnet_like, data_dependent, deepstarr_like

    model = {"deepstarr": lambda: deepstarr_like(32), "bpnet": lambda: bpnet_like(outputs=2),
             "untraceable": data_dependent}[family]()
    X = random_one_hot(9)
    before = {key: value.clone() for key, value in model.state_dict().items()}
    with torch.no_grad():
        expected = model(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(predict(model, X, batch_size=4, device="cpu"), expected, rtol=1e-5,
                               atol=1e-5 * np.abs(expected).max())
    assert all(torch.equal(value, before[key]) for key, value in model.state_dict().items())
    assert any(isinstance(module, nn.BatchNorm1d) for module in model.modules()) or family == "bpnet"


@pytest.mark.parametrize(
    "X, fragment",
    [(np.zeros((2, 32)), r"\(N, 4, L\)"), (np.zeros((2, 4, 30)), "length 30"), (np.zeros((0, 4, 32)), "empty")],
)
def test_predict_rejects_bad_input(X, fragment):
    with pytest.raises(SeqsalError, match=fragment):
        predict(trained_like(), X, device="cpu")


def test_resolve_device():
    assert resolve_device("cpu") == torch.device("cpu")
    assert resolve_device(torch.device("cpu")) == torch.device("cpu")
    assert resolve_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(SeqsalError, match="not a valid device"):
        resolve_device("gpu0")
