"""Tests of seqsal.views.dream: optima known in closed form, exact one-hot inputs, bookkeeping, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqsal.cli import main
from seqsal.views.dream import _initial_logits, dream
from seqsal.views import dream_run
from seqsal.views.dream_run import hits_table, plot_trace, reference_percentiles, reference_scores
from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError
from seqsal.io import Record, read_fasta, write_fasta
from seqsal.models import predict, save_model
from seqsal.motifs import MotifDatabase, scan
from seqsal.motifs import ENHANCER_MOTIFS
from tests.conftest import TINY, random_sequences


class PositionWeights(nn.Module):
    """``S(x) = Σ W ⊙ x``: the best sequence takes each column's largest weight."""

    def __init__(self, weights: np.ndarray) -> None:
        super().__init__()
        self.weights = nn.Parameter(torch.tensor(weights, dtype=torch.float32))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weights).sum(dim=(1, 2))[:, None]


class BestPWMMatch(nn.Module):
    """The best log-odds score of one motif along the sequence (plus strand): a PWM scanner as a network."""

    def __init__(self, log_odds: np.ndarray) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 1, log_odds.shape[1], bias=False)
        self.conv.weight.data = torch.tensor(log_odds, dtype=torch.float32)[None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).amax(dim=2)


class CountA(nn.Module):
    """``S(x) = −(#A − c)²``: best at exactly ``c`` A's; the straight-through gradient overshoots around it."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return -((x[:, 0].sum(dim=1) - self.c) ** 2)[:, None]


class Recorder(nn.Module):
    """Passes inputs to ``inner`` and keeps a copy of every input it was given."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return self.inner(x)


def _weights(length: int = 12, seed: int = 3) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(4, length))


def _onehot_of_argmax(weights: np.ndarray) -> np.ndarray:
    return np.eye(4, dtype=np.float32)[weights.argmax(axis=0)].T


@pytest.mark.parametrize("mode", ["straight_through", "softmax"])
def test_linear_model_reaches_its_analytic_optimum(mode):
    weights = _weights()
    result = dream(PositionWeights(weights), n_seeds=3, steps=80, mode=mode, length=12, device="cpu")
    optimum = _onehot_of_argmax(weights)
    for seed in range(3):
        np.testing.assert_array_equal(result.onehot[seed], optimum)
    np.testing.assert_allclose(result.scores, weights.max(axis=0).sum(), rtol=1e-6)
    assert result.probability is not None and np.allclose(result.probability, 1 / (1 + np.exp(-result.scores)))


def test_pwm_scanner_dreams_the_motif_consensus():
    gata1 = MotifDatabase.default().get("GATA1")
    weights = gata1.log_odds()
    result = dream(BestPWMMatch(weights), n_seeds=2, steps=120, length=30, device="cpu")
    np.testing.assert_allclose(result.scores, weights.max(axis=0).sum(), rtol=1e-5)
    ids = ["dream_0", "dream_1"]
    table = hits_table(scan(result.onehot, [gata1], relative_threshold=0.999), ids)
    forward = table[table["strand"] == "+"]
    assert sorted(set(forward["id"])) == ids
    for row in forward.itertuples():
        window = result.onehot[row.sequence_index, :, row.start:row.end]
        # The best window scores the sum of column maxima: each base is a column's best base.
        assert np.isclose((window * weights).sum(), weights.max(axis=0).sum(), rtol=1e-6)


def test_straight_through_feeds_the_model_exact_one_hots():
    recorder = Recorder(PositionWeights(_weights()))
    dream(recorder, n_seeds=2, steps=10, length=12, device="cpu")
    # the start and one per update (the final scoring by predict runs a traced copy of the model, which the
    # recorder does not see: seqsal.models.rewrite)
    assert len(recorder.seen) == 11
    for x in recorder.seen:
        assert set(np.unique(x.numpy())) == {0.0, 1.0}
        np.testing.assert_array_equal(x.sum(dim=1).numpy(), 1.0)


def test_softmax_mode_feeds_the_relaxation_then_scores_its_argmax():
    recorder = Recorder(PositionWeights(_weights()))
    dream(recorder, n_seeds=2, steps=3, length=12, mode="softmax", temperature=0.5, random_state=4, device="cpu")
    start = torch.softmax(torch.tensor(_initial_logits(2, 12, 4)) / 0.5, dim=1)
    np.testing.assert_allclose(recorder.seen[0].numpy(), start.numpy(), rtol=1e-6)
    hard = torch.nn.functional.one_hot(start.argmax(dim=1), 4).permute(0, 2, 1).float()
    np.testing.assert_array_equal(recorder.seen[1].numpy(), hard.numpy())


def test_same_seed_same_result_and_seeds_do_not_interact():
    model = PositionWeights(_weights())
    first = dream(model, n_seeds=3, steps=15, length=12, random_state=9, device="cpu")
    again = dream(model, n_seeds=3, steps=15, length=12, random_state=9, device="cpu")
    np.testing.assert_array_equal(first.onehot, again.onehot)
    np.testing.assert_array_equal(first.trace, again.trace)
    other = dream(model, n_seeds=3, steps=15, length=12, random_state=10, device="cpu")
    assert not np.array_equal(first.trace[:, 0], other.trace[:, 0])
    alone = dream(model, n_seeds=1, steps=15, length=12, random_state=9, device="cpu")
    np.testing.assert_array_equal(alone.onehot[0], first.onehot[0])
    np.testing.assert_array_equal(alone.trace[0], first.trace[0])


def test_the_best_iterate_is_kept_not_the_last():
    result = dream(CountA(5.0), n_seeds=4, steps=30, learning_rate=0.1, l2=0.0, length=20, device="cpu")
    # Precondition: the biased straight-through gradient left at least one seed off its optimum at the end.
    assert (result.trace[:, -1] < result.trace.max(axis=1)).any()
    np.testing.assert_array_equal(result.onehot[:, 0].sum(axis=1), 5.0)
    np.testing.assert_array_equal(result.scores, 0.0)
    np.testing.assert_array_equal(result.best_step, result.trace.argmax(axis=1))
    np.testing.assert_array_equal(result.scores, result.trace.max(axis=1))


def test_real_cnn_state_is_restored_and_scores_match_predict(tiny_model):
    tiny_model.train()
    for parameter in tiny_model.parameters():
        parameter.requires_grad_(True)
    running = [m.running_mean.clone() for m in tiny_model.modules() if isinstance(m, nn.BatchNorm1d)]
    result = dream(tiny_model, n_seeds=2, steps=5, device="cpu")
    assert tiny_model.training
    assert all(p.requires_grad for p in tiny_model.parameters())
    after = [m.running_mean for m in tiny_model.modules() if isinstance(m, nn.BatchNorm1d)]
    assert all(torch.equal(a, b) for a, b in zip(running, after))  # eval mode: batch norm statistics untouched
    np.testing.assert_allclose(result.logits, predict(tiny_model, one_hot(result.sequences), device="cpu"),
                               rtol=1e-6)
    np.testing.assert_allclose(result.scores, result.trace[[0, 1], result.best_step], rtol=1e-5)


@pytest.mark.parametrize("options, message", [
    ({"target": "nope"}, "unknown target"),
    ({"target": 3}, "out of range"),
    ({"target": -1}, "out of range"),
    ({"steps": 0}, "steps must be an integer ≥ 1, got 0"),
    ({"n_seeds": 1.5}, "n_seeds must be an integer"),
    ({"mode": "gumbel"}, "mode must be one of straight_through, softmax"),
    ({"l2": -1.0}, "l2 must be a number ≥ 0"),
    ({"learning_rate": 0.0}, "learning_rate must be a number > 0"),
])
def test_bad_arguments_raise_one_sentence(tiny_model, options, message):
    with pytest.raises(SeqsalError, match=message):
        dream(tiny_model, device="cpu", **options)


def test_a_model_without_config_needs_a_length():
    with pytest.raises(SeqsalError, match="pass length="):
        dream(PositionWeights(_weights()), device="cpu")
    with pytest.raises(SeqsalError, match="out of range"):
        dream(PositionWeights(_weights()), target=1, length=12, device="cpu")


def test_reference_percentiles_by_hand():
    got = reference_percentiles(np.array([0.0, 2.0, 2.5, 4.0, 5.0]), np.array([4.0, 1.0, 3.0, 2.0]))
    np.testing.assert_allclose(got, [0.0, 50.0, 50.0, 100.0, 100.0])
    with pytest.raises(SeqsalError):
        reference_percentiles(np.array([1.0]), np.array([]))


def test_reference_scores_keep_labelled_positives(tiny_model, tmp_path):
    sequences = random_sequences(3, TINY.input_length, seed=5)
    write_fasta(tmp_path / "ref.fa", [Record(f"r{i}", s) for i, s in enumerate(sequences)])
    pd.DataFrame({"id": ["r0", "r1", "r2"], "enhancer": [1, 0, 1]}).to_csv(tmp_path / "labels.tsv", sep="\t",
                                                                           index=False)
    got = reference_scores(tiny_model, tmp_path / "ref.fa", 0, labels=tmp_path / "labels.tsv", device="cpu")
    expected = predict(tiny_model, one_hot([sequences[0], sequences[2]]), device="cpu")[:, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_trace_figure_marks_the_threshold():
    import matplotlib.pyplot as plt

    result = dream(PositionWeights(_weights()), n_seeds=2, steps=6, length=12, device="cpu")
    ax = plot_trace(result, threshold=1.5)
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) == 7]
    assert len(curves) == 2
    np.testing.assert_array_equal(curves[0].get_ydata(), result.trace[0])
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 1 and np.allclose(dashed[0].get_ydata(), 1.5)
    plt.close(ax.figure)


@pytest.fixture
def saved_tiny(tiny_model, tmp_path):
    path = tmp_path / "tiny.pt"
    save_model(tiny_model, path)
    reference = random_sequences(20, TINY.input_length, seed=2)
    write_fasta(tmp_path / "ref.fa", [Record(f"r{i}", s) for i, s in enumerate(reference)])
    return path, tmp_path / "ref.fa", tiny_model


def test_cli_writes_a_complete_folder(saved_tiny, tmp_path, capsys, monkeypatch):
    model_path, reference, model = saved_tiny
    out = tmp_path / "dream"
    argv = ["dream", "--model", str(model_path), "--out", str(out), "--n-seeds", "3", "--steps", "6",
            "--reference", str(reference), "--device", "cpu", "--quiet", "--seed", "1"]
    titles, plot = [], dream_run.plot_attribution

    def recording_plot(*args, **kwargs):
        figure = plot(*args, **kwargs)
        titles.append(figure.get_suptitle())
        return figure

    monkeypatch.setattr(dream_run, "plot_attribution", recording_plot)
    assert main(argv + ["--logos", "2"]) == 0
    assert "dreamed 3 sequences" in capsys.readouterr().err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "seqsal" and manifest["kind"] == "dream" and manifest["complete"]
    assert manifest["seed"] == 1 and manifest["settings"]["steps"] == 6
    assert manifest["command"][:2] == ["seqsal", "dream"]
    database = MotifDatabase.default()  # the default motifs are the simulated enhancer motifs
    assert [m["id"] for m in manifest["motifs"]] == [database.get(name).id for name in ENHANCER_MOTIFS]
    table = pd.read_csv(out / "dream.tsv", sep="\t")
    records = read_fasta(out / "dream.fa")
    assert list(table["id"]) == [r.id for r in records] == ["dream_0", "dream_1", "dream_2"]
    logits = predict(model, one_hot([r.sequence for r in records]), device="cpu")[:, 0]
    np.testing.assert_allclose(table["logit"], logits, rtol=1e-5)
    np.testing.assert_allclose(table["probability"], 1 / (1 + np.exp(-logits)), rtol=1e-5)
    ref = predict(model, one_hot([r.sequence for r in read_fasta(reference)]), device="cpu")[:, 0]
    np.testing.assert_allclose(table["reference_percentile"], [100 * np.mean(ref <= s) for s in logits], atol=1e-9)
    assert list(table["above_reference_p99"]) == list(logits > np.percentile(ref, 99))
    hits = pd.read_csv(out / "motif_hits.tsv", sep="\t")
    assert list(hits.columns[:3]) == ["id", "sequence_index", "motif_id"]
    assert list(table["n_motif_hits"]) == [int((hits["sequence_index"] == i).sum()) for i in range(3)]
    assert len(list((out / "logos").glob("dream_*.png"))) == 2
    best = table.sort_values("logit", ascending=False).iloc[0]  # a classifier's logo title says which number it is
    assert titles[0] == f"{best['id']} — grad_x_input — logit {best['logit']:.3g}, p = {best['probability']:.3f}"
    assert (out / "trace.png").stat().st_size > 0 and "seqsal dream" in (out / "report.html").read_text()

    # A second run into the same folder replaces it, stale logos included; --motifs all scans the database.
    assert main(argv + ["--logos", "0", "--motifs", "all"]) == 0
    assert not list((out / "logos").glob("*.png"))
    assert len(json.loads((out / "manifest.json").read_text())["motifs"]) == len(database)


def test_cli_user_errors_exit_2(saved_tiny, tmp_path, capsys):
    model_path, _, _ = saved_tiny
    assert main(["dream", "--model", str(model_path), "--out", str(tmp_path / "a"), "--target", "nope",
                 "--quiet"]) == 2
    assert "unknown target 'nope'" in capsys.readouterr().err
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep")
    assert main(["dream", "--model", str(model_path), "--out", str(foreign), "--steps", "2", "--quiet"]) == 2
    assert "was not made by seqsal" in capsys.readouterr().err
    assert main(["dream", "--model", str(model_path), "--out", str(tmp_path / "b"), "--motifs", "NOT_A_TF",
                 "--quiet"]) == 2
    assert not (tmp_path / "b").exists()  # refused before any folder was made
