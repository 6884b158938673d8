"""A user's own model through every source seqsal reads: torch.export, TorchScript, code + weights.

Three architectures are written to a code file, built in memory, and saved
each way; the loaded model must predict and attribute exactly like the
in-memory one.  The adapters (NLC, tuple, dict, profile, float64, fixed
export batch) are checked against hand computations, and every bad input
must fail in one sentence.
"""

from __future__ import annotations

import importlib.util
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from captum.attr import Saliency
from torch import nn

import seqsal
from seqsal.attribution import attribute
from seqsal.errors import SeqsalError
from seqsal.models import SequenceModel, load_model, model_provenance, predict
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
                    "smoothgrad_sq": {"n_samples": 3}, "integrated_gradients": {"steps": 4},
                    "ism": {"start": 25, "end": 32}}


def import_file(path: Path):
    spec = importlib.util.spec_from_file_location(f"archs_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def onehot(n: int = 5, length: int = LENGTH, seed: int = 3) -> np.ndarray:
    return seqsal.one_hot(random_sequences(n, length, seed=seed))


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """Each architecture in memory and saved as .pt2 (dynamic batch), TorchScript and state dict; a fixed-batch .pt2."""
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


# --- adapters, each against a hand computation ---------------------------------------------------------------


class Lambda(nn.Module):
    """A module computing ``function(x)`` with one trainable weight ``w`` (so dtype and device follow it)."""

    def __init__(self, function, shape=(4, LENGTH)):
        super().__init__()
        self.w = nn.Parameter(torch.randn(*shape, generator=torch.Generator().manual_seed(5)))
        self.function = function

    def forward(self, x):
        return self.function(self, x)


def hand_gradient(function, X: np.ndarray) -> np.ndarray:
    x = torch.from_numpy(X).double().requires_grad_(True)
    (grad,) = torch.autograd.grad(function(x).sum(), x)
    return grad.numpy()


def test_nlc_layout_transposes_the_input():
    model = Lambda(lambda self, x: (x * self.w.T).sum(dim=(1, 2))[:, None])  # reads (N, L, 4)
    loaded = load_model(model, input_layout="NLC", length=LENGTH)
    X = onehot(3)
    w = model.w.detach().numpy()
    np.testing.assert_allclose(predict(loaded, X, device="cpu")[:, 0], (X * w).sum(axis=(1, 2)), rtol=1e-5)
    gradient = attribute(loaded, X, "gradient", hypothetical=True, device="cpu")
    np.testing.assert_allclose(gradient, np.broadcast_to(w, X.shape), rtol=1e-6)


def test_tuple_and_dict_outputs_are_selected():
    def both(self, x):
        score = (x * self.w).sum(dim=(1, 2))[:, None]
        return score * 0, score
    X = onehot(3)
    expected = (X * Lambda(both).w.detach().numpy()).sum(axis=(1, 2))[:, None]
    tupled = load_model(Lambda(both), output_index=1, length=LENGTH)
    np.testing.assert_allclose(predict(tupled, X, device="cpu"), expected, rtol=1e-5)
    keyed = load_model(Lambda(lambda self, x: dict(zip(("zero", "score"), both(self, x)))), output_key="score",
                       length=LENGTH)
    np.testing.assert_allclose(predict(keyed, X, device="cpu"), expected, rtol=1e-5)


@pytest.mark.parametrize("reduce", ["sum", "mean", "profile"])
def test_profile_reductions(reduce):
    def profile(self, x):  # (N, 2, L): two tracks, each a weighted position-wise score
        track = (x * self.w).sum(dim=1)
        return torch.stack([track, 2 * track], dim=1)
    loaded = load_model(Lambda(profile), reduce=reduce, length=LENGTH)
    X = onehot(3)
    tracks = (X * Lambda(profile).w.detach().numpy()).sum(axis=1)
    tracks = np.stack([tracks, 2 * tracks], axis=1)
    softmax = np.exp(tracks) / np.exp(tracks).sum(axis=2, keepdims=True)
    expected = {"sum": tracks.sum(axis=2), "mean": tracks.mean(axis=2), "profile": (tracks * softmax).sum(axis=2)}
    np.testing.assert_allclose(predict(loaded, X, device="cpu"), expected[reduce], rtol=1e-5)
    if reduce == "profile":  # the softmax weights are held fixed: the gradient is w × softmax
        w = Lambda(profile).w.detach().numpy()
        gradient = attribute(loaded, X, "gradient", target=0, hypothetical=True, device="cpu")
        np.testing.assert_allclose(gradient, w[None] * softmax[:, :1], rtol=1e-4, atol=1e-7)


def test_float64_model_runs_in_float64_and_returns_float32():
    model = Lambda(lambda self, x: torch.sin(x * self.w).sum(dim=(1, 2))[:, None]).double()
    loaded = load_model(model, length=LENGTH)
    assert loaded.adapters.dtype == "float64"
    X = onehot(3)
    prediction = predict(loaded, X, device="cpu")
    assert prediction.dtype == np.float32
    np.testing.assert_allclose(prediction[:, 0], np.sin(X * model.w.detach().numpy()).sum(axis=(1, 2)), rtol=1e-6)
    gradient = attribute(loaded, X, "gradient", hypothetical=True, device="cpu")
    expected = hand_gradient(lambda x: torch.sin(x * model.w.detach()).sum(dim=(1, 2)), X)
    np.testing.assert_allclose(gradient, expected, rtol=1e-6, atol=1e-7)


def test_options_from_the_user_and_from_the_model():
    model = Lambda(lambda self, x: (x * self.w).sum(dim=2))  # (N, 4): four outputs
    model.task = "classification"
    loaded = load_model(model, output_names=["a", "c", "g", "t"], length=LENGTH)
    assert loaded.config.output_names == ("a", "c", "g", "t") and loaded.config.task == "classification"
    assert attribute(loaded, onehot(2), "gradient", target="g", device="cpu").shape == (2, 4, LENGTH)
    assert load_model(Lambda(lambda self, x: (x * self.w).sum(dim=(1, 2))), length=LENGTH).config.n_outputs == 1


# --- cam and grad_cam on a user's model -------------------------------------------------------------------------


def test_cam_finds_the_gap_head_of_a_users_model():
    torch.manual_seed(2)
    network = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                            nn.Linear(6, 2)).eval()
    loaded = load_model(network, length=LENGTH)
    X = onehot(3)
    maps = attribute(loaded, X, "cam", target=1, hypothetical=True, device="cpu")[:, 0]
    with torch.no_grad():
        features = network[1](network[0](torch.from_numpy(X)))
        expected = torch.einsum("c,ncl->nl", network[4].weight[1], features).numpy()
    np.testing.assert_allclose(maps, expected, rtol=1e-5, atol=1e-6)  # same length: no upsampling
    np.testing.assert_allclose(maps.mean(axis=1) + network[4].bias[1].item(), predict(loaded, X)[:, 1], rtol=1e-5)


def test_cam_and_grad_cam_say_what_they_need(saved):
    with pytest.raises(SeqsalError, match="global average") as error:
        attribute(load(saved, "plain", "code"), onehot(2), "cam", device="cpu")
    assert "--" not in str(error.value)  # a library message names no CLI flags
    with pytest.raises(SeqsalError, match="hides its layers"):
        attribute(load(saved, "residual", "pt2"), onehot(2), "grad_cam", device="cpu")
    by_name = attribute(load(saved, "residual", "code"), onehot(2), "grad_cam", layer="dilated.1", device="cpu")
    assert by_name.shape == (2, 4, LENGTH) and np.abs(by_name).max() > 0


# --- bad input: one sentence each -----------------------------------------------------------------------------


def one_line(error: pytest.ExceptionInfo) -> str:
    message = str(error.value)
    assert "\n" not in message and message
    return message


def test_a_file_that_is_no_model_names_the_formats(tmp_path):
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(SeqsalError) as error:
        load_model(path)
    assert all(kind in one_line(error) for kind in ("seqsal model", "torch.export", "TorchScript", "code="))


def test_a_pickled_module_is_refused_with_the_alternatives(tmp_path):
    path = tmp_path / "whole.pt"
    torch.save(nn.Sequential(nn.Conv1d(4, 2, 3)), path)
    with pytest.raises(SeqsalError, match="contains code") as error:
        load_model(path)
    assert "torch.export.save" in one_line(error) and "torch.jit.save" in one_line(error)


def test_a_state_dict_asks_for_its_code(saved):
    with pytest.raises(SeqsalError, match="code=") as error:
        load_model(saved["folder"] / "plain.weights.pt")
    one_line(error)


@pytest.mark.parametrize("spec, fragment", [
    ("missing.py:build", "does not exist"),
    ("{code}:nothing_here", "does not define 'nothing_here'"),
    ("no_such_package_xyz.models:Net", "cannot be imported"),
    ("{code}", "FILE.py:NAME"),
])
def test_bad_code_specs(saved, spec, fragment):
    with pytest.raises(SeqsalError, match=fragment) as error:
        load_model(code=spec.format(code=saved["code"]))
    one_line(error)


def test_weights_that_do_not_fit_list_the_keys(saved):
    with pytest.raises(SeqsalError, match=r"does not fit .*missing keys stem.weight") as error:
        load_model(code=f"{saved['code']}:Residual", weights=saved["folder"] / "plain.weights.pt", length=LENGTH)
    assert "unexpected keys 0.weight" in one_line(error)


def test_an_exported_program_with_two_inputs_is_refused(tmp_path):
    class Two(nn.Module):
        def forward(self, x, y):
            return (x + y).sum(dim=(1, 2))[:, None]
    x = torch.zeros(2, 4, LENGTH)
    torch.export.save(torch.export.export(Two(), (x, x)), tmp_path / "two.pt2")
    with pytest.raises(SeqsalError, match="2 arguments, not one") as error:
        load_model(tmp_path / "two.pt2")
    one_line(error)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"model": "tuple"}, "output_index="),
    ({"model": "profile"}, "reduce="),
    ({"model": "residual"}, "any length"),
    ({"model": "two"}, "from 60 to 61"),
    ({"model": "plain-ts"}, "pass length="),
    ({"model": "plain", "input_layout": "NLC"}, "input_layout"),
])
def test_what_the_loader_cannot_guess_is_asked_for(saved, kwargs, fragment):
    archs = import_file(saved["code"])
    models = {"tuple": lambda: Lambda(lambda self, x: ((x * self.w).sum(dim=(1, 2))[:, None],) * 2),
              "profile": lambda: Lambda(lambda self, x: x * self.w),
              "residual": archs.Residual, "two": archs.TwoOutputs, "plain": lambda: saved["folder"] / "plain.pt2",
              "plain-ts": lambda: saved["folder"] / "plain.ts"}
    options = {k: v for k, v in kwargs.items() if k != "model"}
    with pytest.raises(SeqsalError, match=fragment) as error:
        load_model(models[kwargs["model"]](), **({"length": LENGTH} if kwargs["model"] in ("tuple", "profile")
                                                 else {}), **options)
    assert "--" not in one_line(error)


# --- the command line ----------------------------------------------------------------------------------------


def test_cli_predict_through_each_source(saved, tmp_path, capsys):
    from seqsal.cli import main
    fasta = tmp_path / "in.fa"
    sequences = random_sequences(3, LENGTH, seed=9)
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
    expected = predict(saved["two"], seqsal.one_hot(sequences))
    folder, code = saved["folder"], saved["code"]
    for extra in (["--model", folder / "two.pt2", "--output-names", "dev,hk"],  # a program carries no names
                  ["--model", folder / "two.ts", "--model-length", LENGTH],
                  ["--model-code", f"{code}:TwoOutputs", "--weights", folder / "two.weights.pt",
                   "--model-length", LENGTH, "--model-task", "classification"]):
        assert main(["predict", str(fasta), *map(str, extra)]) == 0
        table = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
        np.testing.assert_allclose(table[["dev.logit", "hk.logit"]].to_numpy(), expected, rtol=1e-4)
    assert "dev.probability" in table  # --model-task classification
    assert main(["predict", str(fasta), "--model", str(folder / "two.ts")]) == 2  # 60 or 61: asks for the length
    assert "pass --model-length with the length" in capsys.readouterr().err  # the option, not the library's length=
    assert main(["predict", str(fasta), "--weights", str(folder / "two.weights.pt")]) == 2
    assert "--weights needs --model-code" in capsys.readouterr().err


# --------------------------------------------------------------------------- every command through the CLI
CLI_METHODS = "gradient,saliency,grad_x_input,smoothgrad,integrated_gradients,ism"
CLI_OPTIONS = ["--n-samples", "3", "--steps", "4", "--start", "25", "--end", "32", "--seed", "0"]


def model_args(saved, name: str, kind: str) -> list[str]:
    builder, length = BUILDERS[name]
    folder = saved["folder"]
    if kind == "code":
        args = ["--model-code", f"{saved['code']}:{builder}", "--weights", str(folder / f"{name}.weights.pt")]
    else:
        args = ["--model", str(folder / f"{name}.{'pt2' if kind == 'export' else 'ts'}")]
    # TorchScript cannot be hooked, so its length is always stated (as in load() above)
    if kind == "torchscript":
        length = LENGTH
    needs_length = length is not None and kind != "export"
    return args + (["--model-length", str(length)] if needs_length else []) + (
        ["--output-names", "dev,hk"] if name == "two" and kind == "torchscript" else [])


@pytest.mark.parametrize("kind", ["export", "torchscript", "code"])
@pytest.mark.parametrize("name", list(BUILDERS))
def test_every_command_runs_on_a_users_model_through_the_cli(saved, tmp_path, name, kind, capsys):
    from seqsal.cli import main
    from seqsal.explain import load_bundle

    sequences = random_sequences(6, LENGTH, seed=11)
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(sequences)))
    args = model_args(saved, name, kind)
    assert main(["predict", str(fasta), *args]) == 0
    predicted = pd.read_csv(io.StringIO(capsys.readouterr().out), sep="\t")
    X = seqsal.one_hot(sequences)
    in_memory = saved[name]
    with torch.no_grad():
        expected = in_memory(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(predicted.filter(like=".logit").to_numpy(), expected, rtol=1e-5, atol=1e-5)

    run = tmp_path / "run"
    assert main(["explain", str(fasta), *args, "--method", CLI_METHODS, *CLI_OPTIONS, "--logos", "1",
                 "--quiet", "--out", str(run)]) == 0, capsys.readouterr().err
    bundle = load_bundle(run)
    for method, options in GRADIENT_METHODS.items():
        if method == "smoothgrad_sq":
            continue
        options = {**options, **({"random_state": 0} if method == "smoothgrad" else {})}
        reference = attribute(in_memory, X, method, hypothetical=True, **options)
        np.testing.assert_allclose(bundle.attributions[method], reference, rtol=1e-5,
                                   atol=1e-5 * max(np.abs(reference).max(), 1e-12), err_msg=method)
    captum = Saliency(in_memory).attribute(torch.from_numpy(X).requires_grad_(True), target=0).numpy()
    np.testing.assert_allclose(bundle.attributions["saliency"], captum, atol=1e-5 * np.abs(captum).max())

    assert main(["evaluate", str(run), "--checks", "deletion,randomization", "--max-sequences", "4",
                 "--quiet", "--out", str(tmp_path / "eval")]) == 0, capsys.readouterr().err
    assert (tmp_path / "eval" / "metrics.tsv").is_file()
    # seqlets of the finished bundle: the model is reloaded from the manifest, whatever its source, and is the
    # same file (its SHA-256 recorded again); given again by its options, it is accepted as the same model
    for given in ([], args):
        seqlets = tmp_path / f"seqlets{len(given)}"
        assert main(["seqlets", str(run), *given, "--out", str(seqlets), "--method", "grad_x_input", "--no-names",
                     "--null-sequences", "12", "--fdr", "1", "--quiet"]) == 0, capsys.readouterr().err
        manifest = json.loads((seqlets / "manifest.json").read_text())
        assert manifest["model"]["sha256"] == bundle.manifest["model"]["sha256"]
        assert manifest["seqlets"]["null"]["grad_x_input"]["null_windows"] == 12 * (LENGTH - 6)
        assert len(pd.read_csv(seqlets / "seqlets.tsv", sep="\t")) == manifest["seqlets"]["n_seqlets"]["grad_x_input"]
    status = main(["filters", "--fasta", str(fasta), *args, "--min-sites", "1", "--logos", "2", "--quiet",
                   "--out", str(tmp_path / "filters")])
    if kind == "torchscript":  # no torch.fx graph to find the first layer in: refused, nothing written
        assert status == 2
        assert "is a TorchScript model, whose layers filter analysis cannot follow; load the same network as a " \
               "torch.export program (.pt2) or from its code and weights" in capsys.readouterr().err
        assert not (tmp_path / "filters").exists()
        return
    assert status == 0, capsys.readouterr().err
    assert len(pd.read_csv(tmp_path / "filters" / "filters.tsv", sep="\t")) == (8 if name != "two" else 6)


def test_explained_model_takes_models_built_in_memory_and_names_a_wrong_file(saved, tmp_path, tiny_model):
    """A run made with a model built in memory records no hash: the model given again is taken as it is (it used to
    fail while formatting the message of a check that passes); a file with another hash is refused by its path."""
    from seqsal.models import EnhancerCNN, explained_model, save_model

    in_memory = {"kind": "in-memory", "path": None, "sha256": None}
    assert explained_model(in_memory, tiny_model) is tiny_model
    wrapped = load_model(saved["plain"])
    assert explained_model(in_memory, wrapped) is wrapped
    made = save_model(tiny_model, tmp_path / "made.pt")
    torch.manual_seed(5)
    other = save_model(EnhancerCNN(tiny_model.config), tmp_path / "other.pt")
    entry = model_provenance(made, load_model(made))
    assert explained_model(entry, tiny_model) is tiny_model  # an object without a file: nothing to compare
    with pytest.raises(SeqsalError, match=r"other\.pt: is not the model that made run/ \(SHA-256"):
        explained_model(entry, other, run="run/")
