"""Tests of seqsal.experiments.pitfalls: each number checked against a hand computation or an independent route."""

from __future__ import annotations

import copy
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.metrics import roc_auc_score

from seqsal.experiments import pitfalls
from seqsal.attribution import attribute, per_position
from seqsal.cli import main
from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError
from seqsal.evaluate.metrics import plausibility
from seqsal.io import Record, file_sha256, write_fasta
from seqsal.models import EnhancerCNN, predict, save_model
from seqsal.simulate import simulate_enhancers
from seqsal.train import fit
from tests.conftest import TINY, random_sequences


def _autograd_gradient(model: torch.nn.Module, X: np.ndarray) -> np.ndarray:
    """d logit / d x straight from autograd on the unmodified model: the oracle for attribute()."""
    model = copy.deepcopy(model).eval()
    x = torch.tensor(X, requires_grad=True)
    model(x)[:, 0].sum().backward()
    return x.grad.numpy()


# --------------------------------------------------------------------------- saturation


def test_sigmoid_derivative_hand_values():
    assert pitfalls.sigmoid_derivative(0.0) == pytest.approx(0.25)
    assert pitfalls.sigmoid_derivative(np.log(3.0)) == pytest.approx(0.75 * 0.25)  # σ(ln 3) = 3/4
    # Computed as σ(z)σ(−z): no cancellation in 1 − σ(z), so a huge logit still gives e^−z, not 0.
    assert pitfalls.sigmoid_derivative(40.0) == pytest.approx(np.exp(-40.0), rel=1e-9)


def test_probability_map_is_sigmoid_derivative_times_logit_map(tiny_model, onehot_batch):
    ids = [f"r{i}" for i in range(len(onehot_batch))]
    result = pitfalls.saturation(tiny_model, onehot_batch, ids, device="cpu")
    logits = predict(tiny_model, onehot_batch, device="cpu")[:, 0]
    assert result.record_id == ids[int(np.argmax(logits))]
    assert result.logit == pytest.approx(float(logits.max()), abs=1e-6)
    factor = result.sigmoid_derivative
    np.testing.assert_allclose(result.probability_map, factor * result.logit_map, rtol=1e-5, atol=1e-9)
    assert result.ratio(1) == pytest.approx(factor, rel=1e-5)
    assert result.ratio(2) == pytest.approx(factor, rel=1e-5)
    # The logit map is grad × input: the autograd gradient at the observed bases.
    index = ids.index(result.record_id)
    oracle = _autograd_gradient(tiny_model, onehot_batch[index : index + 1])[0] * onehot_batch[index]
    np.testing.assert_allclose(result.logit_map, oracle, rtol=1e-4, atol=1e-6)

    # A confident model: shifting the output bias leaves the logit map unchanged but shrinks the
    # probability map by σ'(new logit), which is what saturation means.
    confident = copy.deepcopy(tiny_model)
    with torch.no_grad():
        confident.output.bias += 7.0
    shifted = pitfalls.saturation(confident, onehot_batch, ids, device="cpu")
    assert shifted.record_id == result.record_id
    np.testing.assert_allclose(shifted.logit_map, result.logit_map, rtol=1e-4, atol=1e-7)
    assert shifted.sigmoid_derivative < 1e-3
    assert shifted.ratio(1) == pytest.approx(shifted.sigmoid_derivative, rel=1e-3)
    table = shifted.table().set_index(["metric", "condition"])["value"]
    assert table[("ratio_l1_relative_error", "vs sigmoid_derivative")] < 1e-3
    assert table[("attribution_l1", "probability")] == pytest.approx(
        np.abs(shifted.probability_map).sum(), rel=1e-6)

    chosen = pitfalls.saturation(tiny_model, onehot_batch, ids, record_id="r3", device="cpu")
    assert chosen.record_id == "r3" and chosen.logit == pytest.approx(float(logits[3]), abs=1e-6)
    with pytest.raises(SeqsalError, match="not in the input"):
        pitfalls.saturation(tiny_model, onehot_batch, ids, record_id="nope", device="cpu")
    axes = pitfalls.plot_saturation(shifted)
    assert len(axes) == 2 and "probability" in axes[1].get_ylabel()
    plt.close(axes[0].figure)


# --------------------------------------------------------------------------- off-simplex


def test_simplex_angle_hand_made_vectors():
    columns = np.array([
        [1, 1, 1, 1],     # along (1,1,1,1): straight off the simplex
        [-2, -2, -2, -2],  # the same direction with the other sign
        [1, -1, 0, 0],    # trades A for C: within the plane
        [1, 0, 0, 0],     # sin θ = 1 / (2 · 1)
        [1, 1, 0, 0],     # sin θ = 2 / (2 · √2)
        [2, 1, 0, 0],     # sin θ = 3 / (2 · √5)
        [0, 0, 0, 0],     # no direction
    ], dtype=np.float32).T[None]
    angles = pitfalls.simplex_angle(columns)[0]
    expected = [90.0, 90.0, 0.0, 30.0, 45.0, np.degrees(np.arcsin(3 / (2 * np.sqrt(5)))), np.nan]
    np.testing.assert_allclose(angles, expected, atol=1e-9)
    with pytest.raises(SeqsalError, match="4, L"):
        pitfalls.simplex_angle(np.zeros((3, 5)))


def test_simplex_angle_matches_projection_onto_the_plane():
    g = np.random.default_rng(0).normal(size=(3, 4, 25))
    normal = np.full(4, 0.5)  # unit normal of the plane sum(x) = 1
    along = np.einsum("nbl,b->nl", g, normal)
    in_plane = g - along[:, None, :] * normal[None, :, None]
    oracle = np.degrees(np.arctan2(np.abs(along), np.linalg.norm(in_plane, axis=1)))
    np.testing.assert_allclose(pitfalls.simplex_angle(g), oracle, atol=1e-9)


def test_isotropic_reference_matches_random_directions():
    angles = pitfalls.simplex_angle(np.random.default_rng(1).normal(size=(1, 4, 40000)))[0]
    for threshold in (10.0, 30.0, 45.0):
        assert (angles <= threshold).mean() == pytest.approx(float(pitfalls.isotropic_angle_cdf(threshold)), abs=0.01)
    assert np.median(angles) == pytest.approx(pitfalls.ISOTROPIC_MEDIAN_DEG, abs=0.5)
    assert float(pitfalls.isotropic_angle_cdf(pitfalls.ISOTROPIC_MEDIAN_DEG)) == pytest.approx(0.5, abs=1e-12)


def test_corrected_gradients_lie_in_the_simplex(tiny_model, onehot_batch):
    result = pitfalls.off_simplex(tiny_model, onehot_batch, device="cpu")
    assert result.uncorrected.shape == result.corrected.shape == (16, TINY.input_length)
    assert np.nanmax(result.corrected) < 1e-9
    oracle = pitfalls.simplex_angle(_autograd_gradient(tiny_model, onehot_batch))
    finite = np.isfinite(oracle)
    np.testing.assert_allclose(result.uncorrected[finite], oracle[finite], atol=1e-2)
    assert np.median(oracle[finite]) > 1.0  # the raw gradient really is off the simplex
    table = result.table().set_index(["metric", "condition"])["value"]
    assert table[("max_deg", "corrected")] < 1e-9
    assert table[("median_deg", "uncorrected")] == pytest.approx(np.nanmedian(result.uncorrected))
    assert table[("share_above_30deg", "uncorrected")] == pytest.approx(np.nanmean(result.uncorrected > 30))
    assert table[("n_positions", "uncorrected")] == 16 * TINY.input_length
    ax = pitfalls.plot_off_simplex(result)
    assert "degrees" in ax.get_xlabel()
    plt.close(ax.figure)


# --------------------------------------------------------------------------- noise measure


def test_background_share_hand_made():
    scores = np.array([[1.0, -2.0, 3.0, 0.0], [0.0, 0.0, 0.0, 0.0], [5.0, 0.0, 0.0, 0.0]])
    masks = np.array([[False, True, False, False], [True, False, False, False], [True, False, False, False]])
    share = pitfalls.background_share(scores, masks)
    np.testing.assert_allclose(share, [4.0 / 6.0, np.nan, 0.0])
    with pytest.raises(SeqsalError):
        pitfalls.background_share(scores, masks[:, :3])


# --------------------------------------------------------------------------- fully connected model


def test_fully_connected_shapes_and_attribution(onehot_batch):
    torch.manual_seed(0)
    logistic = pitfalls.FullyConnected(TINY.input_length, hidden_units=()).eval()
    assert logistic(torch.from_numpy(onehot_batch)).shape == (16, 1)
    # Logistic regression on the one-hot: the gradient is the weight of each (base, position).
    weight = logistic.output.weight.detach().numpy().reshape(4, TINY.input_length)
    np.testing.assert_allclose(attribute(logistic, onehot_batch, device="cpu"), weight * onehot_batch,
                               rtol=1e-6, atol=1e-7)

    torch.manual_seed(1)
    model = pitfalls.FullyConnected(TINY.input_length, hidden_units=(8, 6), n_outputs=2)
    model.train()
    with torch.no_grad():  # non-trivial batch-norm statistics, so folding them is really tested
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
    assert model(torch.from_numpy(onehot_batch)).shape == (16, 2)
    scores = attribute(model, onehot_batch, device="cpu")
    np.testing.assert_allclose(scores, _autograd_gradient(model, onehot_batch) * onehot_batch, rtol=1e-4, atol=1e-6)
    assert model.training  # attribute() restored the mode
    with pytest.raises(SeqsalError, match="reads"):
        model(torch.zeros(2, 4, TINY.input_length + 1))


def test_fully_connected_trains_with_fit_on_a_positional_rule():
    X = one_hot(random_sequences(240, 20, seed=3))
    y = X[:, 0, 5].copy()  # label: an A at position 6
    torch.manual_seed(0)
    model = pitfalls.FullyConnected(20, hidden_units=())
    fit(model, X[:200], y[:200], X[200:], y[200:], lr=0.05, max_epochs=15, patience=15, batch_size=32,
        progress=False, device="cpu")
    assert roc_auc_score(y[200:], predict(model, X[200:], device="cpu")[:, 0]) > 0.99


def test_seeded_builds_equal_weights_and_leaves_the_global_rng_alone():
    state = torch.random.get_rng_state()
    first = pitfalls.seeded(lambda: EnhancerCNN(pitfalls.small_cnn_config(60, "relu")), 5)
    second = pitfalls.seeded(lambda: EnhancerCNN(pitfalls.small_cnn_config(60, "exp")), 5)
    assert torch.equal(torch.random.get_rng_state(), state)
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name


# --------------------------------------------------------------------------- training comparisons


def _check_comparison(result: pitfalls.ComparisonResult, n: int, length: int, seed: int) -> None:
    """Recompute every score of a comparison from its returned models and an independent simulation."""
    dataset = simulate_enhancers(n, length, random_state=seed)
    X = one_hot(dataset.sequences)
    test = dataset.splits == "test"
    rows = np.flatnonzero(test & (dataset.labels == 1))
    table = result.table().set_index(["metric", "condition"])["value"]
    assert table[("background_positions", "data")] == pytest.approx((~dataset.masks[rows]).mean())
    for name, model in result.models.items():
        auroc = roc_auc_score(dataset.labels[test], predict(model, X[test], device="cpu")[:, 0])
        assert table[("test_auroc", name)] == pytest.approx(auroc, abs=1e-9)
        scores = per_position(attribute(model, X[rows], correct=True, device="cpu"))
        assert table[("plausibility_auroc", name)] == pytest.approx(
            np.nanmean(plausibility(scores, dataset.masks[rows]).auroc), abs=1e-6)
        magnitude = np.abs(scores)
        share = (magnitude * ~dataset.masks[rows]).sum(axis=1) / magnitude.sum(axis=1)
        assert table[("background_share", name)] == pytest.approx(share.mean(), abs=1e-6)
        np.testing.assert_allclose(result.maps[name], attribute(model, X[rows[: len(result.example_ids)]],
                                                                correct=True, device="cpu"), atol=1e-6)
    assert result.example_ids == [dataset.ids[i] for i in rows[: len(result.example_ids)]]
    for ids, boxes in zip(result.example_ids, result.boxes):
        assert {box.id for box in boxes} == {ids}
        assert len(boxes) == int((dataset.planted["id"] == ids).sum()) > 0


def test_activations_end_to_end():
    result = pitfalls.activations(200, 100, epochs=1, seed=0, device="cpu")
    assert list(result.models) == list(pitfalls.ACTIVATIONS)
    assert [model.config.activation for model in result.models.values()] == list(pitfalls.ACTIVATIONS)
    assert set(result.table()["condition"]) == {*pitfalls.ACTIVATIONS, "data"}
    _check_comparison(result, 200, 100, 0)
    axes = pitfalls.plot_comparison(result)
    assert len(axes) == 1 + 3
    plt.close(axes[0].figure)


def test_fully_connected_end_to_end_is_reproducible():
    result = pitfalls.fully_connected(200, 100, epochs=1, seed=2, hidden_units=(16,), n_examples=2, device="cpu")
    assert list(result.models) == ["cnn_exp", "fully_connected"]
    assert isinstance(result.models["fully_connected"], pitfalls.FullyConnected)
    assert result.maps["fully_connected"].shape == (2, 4, 100)
    _check_comparison(result, 200, 100, 2)
    again = pitfalls.fully_connected(200, 100, epochs=1, seed=2, hidden_units=(16,), n_examples=2, device="cpu")
    pd.testing.assert_frame_equal(again.table(), result.table())
    axes = pitfalls.plot_comparison(result)
    assert len(axes) == 1 + 2 * 2
    plt.close(axes[0].figure)


# --------------------------------------------------------------------------- command line


def test_cli_off_simplex_writes_figure_table_and_manifest(tmp_path, tiny_model, capsys):
    sequences = random_sequences(6, TINY.input_length, seed=4)
    fasta, model_path = tmp_path / "in.fa", tmp_path / "tiny.pt"
    write_fasta(fasta, [Record(f"s{i}", s) for i, s in enumerate(sequences)])
    save_model(tiny_model, model_path)
    out = tmp_path / "out"
    assert main(["pitfalls", "off-simplex", "--out", str(out), "--fasta", str(fasta), "--model", str(model_path),
                 "--device", "cpu"]) == 0
    assert "off-simplex: over 240 positions" in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "seqsal" and manifest["kind"] == "pitfalls-off-simplex" and manifest["complete"]
    assert manifest["parameters"]["model"]["sha256"] == file_sha256(model_path)
    assert manifest["inputs"]["fasta"]["sha256"] == file_sha256(fasta)
    assert (out / "off-simplex.png").stat().st_size > 0
    table = pd.read_csv(out / "off-simplex.tsv", sep="\t")
    assert list(table.columns) == ["metric", "condition", "value"]
    values = table.set_index(["metric", "condition"])["value"]
    expected = pitfalls.off_simplex(tiny_model, one_hot(sequences), device="cpu")
    assert values[("median_deg", "uncorrected")] == pytest.approx(np.nanmedian(expected.uncorrected), rel=1e-5)
    assert values[("max_deg", "corrected")] < 1e-9

    # User errors exit with status 2 and one sentence: a wrong length, a foreign output folder.
    write_fasta(fasta, [Record("short", "ACGT")])
    assert main(["pitfalls", "saturation", "--out", str(tmp_path / "o2"), "--fasta", str(fasta),
                 "--model", str(model_path)]) == 2
    assert "--fit on the command line" in capsys.readouterr().err
    (tmp_path / "foreign").mkdir()
    (tmp_path / "foreign" / "notes.txt").write_text("mine")
    assert main(["pitfalls", "off-simplex", "--out", str(tmp_path / "foreign"), "--model", str(model_path),
                 "--fasta", str(fasta), "--fit"]) == 2
    assert "not made by seqsal" in capsys.readouterr().err

    # The folder belongs to one kind of run: the same pitfall replaces it, another pitfall is refused.
    again = ["--out", str(out), "--fasta", str(fasta), "--model", str(model_path), "--fit", "--device", "cpu"]
    assert main(["pitfalls", "off-simplex", *again]) == 0
    assert json.loads((out / "manifest.json").read_text())["complete"]
    capsys.readouterr()
    assert main(["pitfalls", "saturation", *again]) == 2
    assert "holds a seqsal pitfalls-off-simplex run" in capsys.readouterr().err
    assert (out / "off-simplex.tsv").is_file() and not (out / "saturation.tsv").exists()


@pytest.mark.parametrize("settings, message", [
    ({"n": 50}, "n must be an integer ≥ 100"),
    ({"epochs": 0}, "epochs must be an integer ≥ 1"),
    ({"hidden_units": (8, 0)}, "hidden_units must be an integer ≥ 1"),
    ({"batch_size": 0}, "batch_size must be an integer ≥ 1"),
])
def test_training_pitfalls_check_settings_before_writing(tmp_path, settings, message):
    with pytest.raises(SeqsalError, match=message):
        pitfalls.run_pitfall("fully-connected", tmp_path / "out", **settings)
    assert not (tmp_path / "out").exists()


def test_saturation_defaults_explain_the_bundled_model_on_the_demo_set(tmp_path):
    run = pitfalls.run_pitfall("saturation", tmp_path / "sat", device="cpu")
    values = run.table.set_index(["metric", "condition"])["value"]
    assert values[("logit", "prediction")] > 5  # the demo set's most confident positive is saturated
    assert values[("ratio_l1", "probability/logit")] == pytest.approx(values[("sigmoid_derivative", "prediction")],
                                                                      rel=1e-3)
    manifest = json.loads((tmp_path / "sat" / "manifest.json").read_text())
    assert manifest["kind"] == "pitfalls-saturation" and manifest["complete"] and manifest["seed"] is None
    assert manifest["inputs"]["fasta"]["sha256"] == file_sha256(pitfalls.default_fasta())
    assert manifest["record_id"] in run.summary and (tmp_path / "sat" / "saturation.png").is_file()
