"""Tests for seqsal.evaluate.metrics: every metric on a case whose answer can be worked out by hand."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from seqsal.attribution import attribute  # noqa: E402
from seqsal.encoding import decode, one_hot  # noqa: E402
from seqsal.errors import SeqsalError  # noqa: E402
from seqsal.evaluate.metrics import (  # noqa: E402
    CURVES,
    deletion_insertion,
    max_sensitivity,
    motif_masks,
    plausibility,
    plot_perturbation_curves,
    plot_randomization,
    randomization_check,
)
from seqsal.motifs import Motif, MotifDatabase  # noqa: E402


def linear_model(weights: np.ndarray, bias: float = 0.0) -> nn.Sequential:
    """``logit = sum(W * x) + bias``: its gradient is ``W`` everywhere, so every metric is hand-computable."""
    layer = nn.Linear(weights.size, 1)
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(weights, dtype=torch.float32).reshape(1, -1))
        layer.bias.fill_(bias)
    return nn.Sequential(nn.Flatten(), layer).eval()


class Recorder(nn.Module):
    """A linear model that keeps every input it sees, to check what the perturbations feed it."""

    def __init__(self, length: int) -> None:
        super().__init__()
        self.linear = nn.Linear(4 * length, 1)
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().cpu().clone())
        return self.linear(x.flatten(1))


# --------------------------------------------------------------------------- #
# Deletion and insertion
# --------------------------------------------------------------------------- #

# "ACGT" with weight only on the observed base: contributions [1, 4, 2, 3], logit 10.
# Uniform replacement turns position p into 0.25 * W[x_p, p], i.e. it removes 0.75 of its
# contribution; deleting in rank order (positions 1, 3, 2, 0) gives 10, 7, 4.75, 3.25, 2.5.
HAND_SEQUENCE = "ACGT"
HAND_WEIGHTS = np.array(
    [
        [1.0, 0.0, 0.0, 0.0],
        [0.0, 4.0, 0.0, 0.0],
        [0.0, 0.0, 2.0, 0.0],
        [0.0, 0.0, 0.0, 3.0],
    ]
)
HAND_DELETION = np.array([10.0, 7.0, 4.75, 3.25, 2.5])
HAND_INSERTION = np.array([2.5, 5.5, 7.75, 9.25, 10.0])


def test_deletion_and_insertion_of_a_linear_model_are_exact():
    X = one_hot(HAND_SEQUENCE)
    model = linear_model(HAND_WEIGHTS)
    attributions = attribute(model, X, "grad_x_input", device="cpu")
    curves = deletion_insertion(model, X, attributions, steps=4, replacement="uniform", device="cpu")

    np.testing.assert_array_equal(curves.k, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(curves.fraction, [0, 0.25, 0.5, 0.75, 1])
    np.testing.assert_allclose(curves.deletion_logit[0], HAND_DELETION, atol=1e-6)
    np.testing.assert_allclose(curves.insertion_logit[0], HAND_INSERTION, atol=1e-6)
    np.testing.assert_allclose(curves.deletion_probability[0], 1 / (1 + np.exp(-HAND_DELETION)), atol=1e-6)

    aucs = curves.auc().set_index(["curve", "output"])
    # Trapezoids of width 0.25: (10/2 + 7 + 4.75 + 3.25 + 2.5/2) / 4 = 5.3125; normalised (5.3125 - 2.5) / 7.5.
    assert aucs.loc[("deletion", "logit"), "auc"] == pytest.approx(5.3125, abs=1e-6)
    assert aucs.loc[("deletion", "logit"), "normalised_auc"] == pytest.approx(0.375, abs=1e-6)
    assert aucs.loc[("insertion", "logit"), "auc"] == pytest.approx(7.1875, abs=1e-6)
    assert aucs.loc[("insertion", "logit"), "normalised_auc"] == pytest.approx(0.625, abs=1e-6)

    # Hypothetical scores are projected onto the sequence first, so they rank the same way.
    hypothetical = attribute(model, X, "grad_x_input", hypothetical=True, device="cpu")
    same = deletion_insertion(model, X, hypothetical, steps=4, replacement="uniform", device="cpu")
    np.testing.assert_array_equal(same.deletion_logit, curves.deletion_logit)


def test_random_reference_shares_endpoints_and_is_never_better_for_a_linear_model():
    X = one_hot(["ACGTAC", "GGTACA", "TTACGA"])
    weights = np.random.default_rng(3).normal(size=(4, 6))
    model = linear_model(weights)
    curves = deletion_insertion(model, X, attribute(model, X, device="cpu"), steps=6, replacement="uniform",
                                device="cpu")
    # Both rankings start at the original and end at the full replacement.
    for name in ("deletion_logit", "random_deletion_logit"):
        np.testing.assert_allclose(getattr(curves, name)[:, 0], curves.insertion_logit[:, -1], atol=1e-5)
        np.testing.assert_allclose(getattr(curves, name)[:, -1], curves.insertion_logit[:, 0], atol=1e-5)
    np.testing.assert_allclose(curves.random_insertion_logit[:, [0, -1]], curves.insertion_logit[:, [0, -1]],
                               atol=1e-5)
    # Ranked by each base's exact deletion effect (its weight minus the 0.25 * sum(W) it is replaced by),
    # an additive model's curves are optimal: no random ordering deletes faster or inserts faster.
    effect = (weights[None] * X).sum(axis=1) - 0.25 * weights.sum(axis=0)[None]
    exact = deletion_insertion(model, X, effect, steps=6, replacement="uniform", device="cpu")
    assert np.all(exact.deletion_logit <= exact.random_deletion_logit + 1e-5)
    assert np.all(exact.insertion_logit >= exact.random_insertion_logit - 1e-5)


@pytest.mark.parametrize("replacement", ["shuffle", "random", "uniform"])
def test_replacements_are_sequence_like_never_zero(replacement):
    sequences = ["ACGTTGCAAGGCTTAC", "GGGCCCATATATCGCG"]
    X = one_hot(sequences)
    model = Recorder(16).eval()
    curves = deletion_insertion(model, X, np.ones((2, 16)), steps=4, replacement=replacement, device="cpu")
    seen = torch.cat(model.seen).numpy()
    assert len(seen) == len(CURVES) * 2 * len(curves.k)
    np.testing.assert_allclose(seen.sum(axis=1), 1.0)  # every column is a base or 0.25 each, never zeros
    full = seen.reshape(len(CURVES), 2, len(curves.k), 4, 16)[0, :, -1]  # deletion of every position
    if replacement == "uniform":
        np.testing.assert_array_equal(full, 0.25)
    else:
        assert set(np.unique(full)) == {0.0, 1.0}
    if replacement == "shuffle":
        for original, shuffled in zip(sequences, decode(full)):
            pairs = lambda s: sorted(s[i : i + 2] for i in range(len(s) - 1))  # noqa: E731
            assert pairs(shuffled) == pairs(original)


def test_curves_do_not_depend_on_batch_size(tiny_model, onehot_batch):
    scores = np.random.default_rng(0).normal(size=onehot_batch.shape[::2])
    runs = [
        deletion_insertion(tiny_model, onehot_batch, scores, target="enhancer", steps=5, batch_size=b, device="cpu")
        for b in (1, 13, 1000)
    ]
    for other in runs[1:]:
        for name in CURVES:
            np.testing.assert_allclose(other.curve(name), runs[0].curve(name), atol=1e-5, rtol=0)


def test_fractions_are_rounded_and_padded_to_the_full_range():
    X = one_hot("ACGTACGTAC")
    model = linear_model(np.ones((4, 10)))
    curves = deletion_insertion(model, X, np.arange(10.0)[None], fractions=[0.31, 0.5], device="cpu")
    np.testing.assert_array_equal(curves.k, [0, 3, 5, 10])
    assert list(curves.mean_curves().columns[:2]) == ["k", "fraction"]


def test_deletion_insertion_rejects_bad_input():
    X = one_hot("ACGTACGTAC")
    model = linear_model(np.ones((4, 10)))
    with pytest.raises(SeqsalError, match="replacement"):
        deletion_insertion(model, X, np.ones((1, 10)), replacement="zeros")
    with pytest.raises(SeqsalError, match="attributions have shape"):
        deletion_insertion(model, X, np.ones((1, 9)))
    with pytest.raises(SeqsalError, match="fractions"):
        deletion_insertion(model, X, np.ones((1, 10)), fractions=[1.5])


# --------------------------------------------------------------------------- #
# Plausibility
# --------------------------------------------------------------------------- #


def test_plausibility_by_hand():
    scores = np.array([[3.0, 2.0, 1.0, 0.0], [0.0, 1.0, 2.0, 3.0], [1.0, 5.0, 2.0, 0.0]])
    masks = np.array([[1, 0, 1, 0], [0, 0, 0, 0], [0, 1, 1, 0]], dtype=bool)
    result = plausibility(scores, masks)
    # Sequence 0: positives score 3 and 1, negatives 2 and 0; 3 of 4 pairs ordered -> 0.75.
    # Precision at the two positives is 1/1 and 2/3 -> AP 5/6.  Sequence 1 has no positive.
    np.testing.assert_allclose(result.auroc, [0.75, np.nan, 1.0])
    np.testing.assert_allclose(result.auprc, [5 / 6, np.nan, 1.0])
    assert (result.n_scored, result.n_skipped) == (2, 1)
    summary = result.summary()
    assert summary.loc["auroc", "mean"] == pytest.approx(0.875)
    assert summary.loc["auroc", "sd"] == pytest.approx(np.std([0.75, 1.0], ddof=1))


def test_plausibility_absolute_ranks_by_magnitude():
    scores = np.array([[-3.0, 2.0, 1.0, 0.0]])
    masks = np.array([[True, False, True, False]])
    assert plausibility(scores, masks).auroc[0] == pytest.approx(0.25)
    assert plausibility(scores, masks, absolute=True).auroc[0] == pytest.approx(0.75)


def test_plausibility_rejects_attributions_instead_of_scores():
    with pytest.raises(SeqsalError, match="per-position"):
        plausibility(np.ones((2, 4, 5)), np.ones((2, 5), dtype=bool))
    with pytest.raises(SeqsalError, match="masks have shape"):
        plausibility(np.ones((2, 5)), np.ones((2, 6), dtype=bool))


def test_motif_masks_mark_planted_sites_on_both_strands():
    motif = Motif("TEST.1", "TESTER", one_hot("GATTACA")[0] * 0.97 + 0.01)
    database = MotifDatabase([motif], source="test")
    X = one_hot(["CCCCGATTACACCCCC", "CCTGTAATCCCCCCCC", "CCCCCCCCCCCCCCCC"])
    masks = motif_masks(X, "tester", database)
    expected = np.zeros((3, 16), dtype=bool)
    expected[0, 4:11] = True
    expected[1, 2:9] = True  # reverse complement of GATTACA
    np.testing.assert_array_equal(masks, expected)
    with pytest.raises(SeqsalError, match="no motif named"):
        motif_masks(X, "NOPE", database)


# --------------------------------------------------------------------------- #
# Model randomization
# --------------------------------------------------------------------------- #


def test_randomization_cascade(tiny_model, onehot_batch):
    before = {key: value.clone() for key, value in tiny_model.state_dict().items()}
    table = randomization_check(tiny_model, onehot_batch, "grad_x_input", device="cpu")

    names = [n for n, m in tiny_model.named_modules() if next(m.parameters(recurse=False), None) is not None]
    assert list(table["layer"]) == ["none"] + names[::-1]
    assert table.loc[0, "layer"] == "none" and table.loc[0, "spearman_mean"] == 1.0
    assert table.loc[0, "spearman_sd"] == 0.0
    assert table.loc[1, "layer"] == "output" and table.loc[1, "spearman_mean"] < 1.0
    assert table["spearman_mean"].iloc[-1] < 0.9
    # The caller's model is untouched: same weights, same mode.
    for key, value in tiny_model.state_dict().items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert not tiny_model.training
    # Same seed, same table; the global torch RNG is not consumed.
    state = torch.random.get_rng_state()
    again = randomization_check(tiny_model, onehot_batch, "grad_x_input", device="cpu")
    assert torch.equal(state, torch.random.get_rng_state())
    np.testing.assert_allclose(again["spearman_mean"], table["spearman_mean"])

    ax = plot_randomization(table)
    assert len(ax.get_xticklabels()) == len(table)
    plt.close(ax.figure)


def test_randomization_of_named_layers_and_bad_names(tiny_model, onehot_batch):
    table = randomization_check(tiny_model, onehot_batch[:4], layers=["output"], device="cpu")
    assert list(table["step"]) == [0, 1]
    with pytest.raises(SeqsalError, match="no layer named"):
        randomization_check(tiny_model, onehot_batch[:4], layers=["nope"], device="cpu")


# --------------------------------------------------------------------------- #
# Max-sensitivity
# --------------------------------------------------------------------------- #


def test_max_sensitivity_of_a_linear_model_is_exact():
    # Two important positions (weight 10 on every base) and six unimportant ones (weight 1).
    # grad x input keeps W at the observed base, so ||A(x)|| = sqrt(2 * 10^2 + 6 * 1^2).
    # A substitution at position p moves W[b, p] to W[b', p]: the difference has norm sqrt(2) * w_p.
    weights = np.ones((4, 8))
    weights[:, [2, 5]] = 10.0
    model = linear_model(weights)
    X = one_hot(["ACGTACGT", "TTGCAGCA"])
    norm = np.sqrt(2 * 100 + 6)

    away = max_sensitivity(model, X, n_samples=5, exclude_top=2, device="cpu")
    np.testing.assert_allclose(away, np.sqrt(2) / norm, rtol=1e-6)
    two = max_sensitivity(model, X, n_samples=5, n_substitutions=2, exclude_top=2, device="cpu")
    np.testing.assert_allclose(two, 2 / norm, rtol=1e-6)  # distinct positions: sqrt(2 + 2)
    anywhere = max_sensitivity(model, X, n_samples=60, exclude_top=0, device="cpu")
    np.testing.assert_allclose(anywhere, np.sqrt(200) / norm, rtol=1e-6)


def test_max_sensitivity_is_seeded_and_batch_size_free(tiny_model, onehot_batch):
    X = onehot_batch[:6]
    runs = [max_sensitivity(tiny_model, X, n_samples=3, batch_size=b, device="cpu") for b in (1, 4, 64)]
    assert np.all(np.isfinite(runs[0])) and np.all(runs[0] > 0)
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], rtol=1e-5)
    with pytest.raises(SeqsalError, match="substitutable positions"):
        max_sensitivity(tiny_model, X, exclude_top=40, device="cpu")


# --------------------------------------------------------------------------- #
# Figures
# --------------------------------------------------------------------------- #


def test_plot_perturbation_curves():
    X = one_hot(HAND_SEQUENCE)
    model = linear_model(HAND_WEIGHTS)
    curves = deletion_insertion(model, X, attribute(model, X, device="cpu"), steps=4, replacement="uniform",
                                device="cpu")
    ax = plot_perturbation_curves(curves)
    labels = [text.get_text() for text in ax.get_legend().get_texts()]
    assert labels[0] == "deletion (nAUC 0.38)" and labels[1] == "insertion (nAUC 0.62)"
    lines = ax.get_lines()
    assert lines[2].get_linestyle() == "--" and lines[2].get_color() == lines[0].get_color()
    plt.close(ax.figure)


def test_checks_pass_method_options_through(tiny_model, onehot_batch):
    """Randomization and stability explain the way the run did: options reach the method."""

    X = onehot_batch[:3]
    table = randomization_check(tiny_model, X, "integrated_gradients", method_options={"steps": 4})
    assert table["spearman_mean"].iloc[0] == 1.0
    with pytest.raises(SeqsalError, match="no option 'stepz'"):
        max_sensitivity(tiny_model, X, "integrated_gradients", method_options={"stepz": 4})


def test_stochastic_stability_reuses_the_sequences_draws(tiny_model, onehot_batch):
    """SmoothGrad's perturbed copies get their sequence's own noise: the result is batch-size free."""
    X = onehot_batch[:5]
    runs = [max_sensitivity(tiny_model, X, "smoothgrad", n_samples=3, batch_size=b, device="cpu",
                            method_options={"n_samples": 4}) for b in (1, 3, 64)]
    for other in runs[1:]:
        np.testing.assert_allclose(other, runs[0], rtol=1e-5)


def test_deletion_ranks_by_magnitude_with_absolute():
    # Position 0 has the strongest (negative) score: signed ranks it last, absolute first.
    X = one_hot("ACGT")
    model = linear_model(HAND_WEIGHTS)
    scores = np.array([[-9.0, 1.0, 2.0, 3.0]])
    signed = deletion_insertion(model, X, scores, steps=4, replacement="uniform", device="cpu")
    absolute = deletion_insertion(model, X, scores, steps=4, replacement="uniform", device="cpu", absolute=True)
    # Deleting position 0 first removes 0.75 of its contribution 1: 10 -> 9.25.
    assert absolute.deletion_logit[0, 1] == pytest.approx(9.25)
    assert signed.deletion_logit[0, 1] == pytest.approx(10 - 0.75 * 3)


def test_motif_masks_at_a_pvalue_or_a_fraction_of_the_maximum():
    # GATTACA with one mismatch scores 6 * 1.95 - 3.7 bits, 0.58 of the maximum: a fraction of 0.5 counts it,
    # a p-value of 1e-4 does not (the 22 sites within one mismatch have p = 22 / 4**7 ~ 1.3e-3).
    motif = Motif("TEST.1", "TESTER", one_hot("GATTACA")[0] * 0.97 + 0.01)
    database = MotifDatabase([motif], source="test")
    X = one_hot(["CCCCGATTACACCCCC", "CCCCGATTCCACCCCC"])
    strict = motif_masks(X, "TESTER", database)
    loose = motif_masks(X, "TESTER", database, relative_threshold=0.5)
    assert strict[0, 4:11].all() and not strict[1].any()
    assert loose[1, 4:11].all()
    with pytest.raises(SeqsalError, match="relative_threshold"):
        motif_masks(X, "TESTER", database, relative_threshold=1.5)


# --------------------------------------------------------------------------- #
# The bundle run
# --------------------------------------------------------------------------- #


def make_bundle(folder, model_file, sequences, methods=("grad_x_input", "ism")):
    from seqsal.explain import explain_fasta
    from seqsal.explain.pipeline import ExplainSettings

    fasta = folder / "in.fa"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
    explain_fasta(fasta, model_file, folder / "bundle", ExplainSettings(methods=methods, n_logos=0), device="cpu",
                  progress=False)
    return folder / "bundle"


@pytest.fixture
def model_file(tmp_path, tiny_model):
    from seqsal.models import save_model

    return save_model(tiny_model, tmp_path / "tiny.pt", {})


@pytest.fixture
def tiny_bundle(tmp_path, model_file):
    from tests.conftest import random_sequences

    return make_bundle(tmp_path, model_file, random_sequences(6, 40, seed=4))


def test_evaluate_runs_every_check_for_ism_and_says_what_it_cannot(tiny_bundle, tmp_path):
    import json

    from seqsal.evaluate import EvaluationSettings, evaluate_bundle

    settings = EvaluationSettings(checks=("plausibility", "randomization", "stability"), steps=2, batch_size=64)
    table = evaluate_bundle(tiny_bundle, tmp_path / "eval", settings, device="cpu", progress=False)
    measured = table[table["reason"] == ""]
    for method in ("grad_x_input", "ism"):
        rows = set(measured.loc[measured["method"] == method, "metric"])
        assert rows == {"randomized_spearman_last", "max_sensitivity_median"}
    # No ground truth: a plausibility row per method with the reason, never a silent gap.
    missing = table[table["check"] == "plausibility"]
    assert list(missing["method"]) == ["grad_x_input", "ism"] and missing["value"].isna().all()
    assert missing["reason"].str.contains("no ground truth").all()
    manifest = json.loads((tmp_path / "eval" / "manifest.json").read_text())
    assert manifest["complete"] and manifest["settings"]["score"] == "signed"
    html = (tmp_path / "eval" / "report.html").read_text()
    assert "Checks per method" in html and "no ground truth" in html


def test_a_check_that_cannot_run_on_the_sequences_gives_its_reason(tmp_path, model_file):
    from seqsal.evaluate import EvaluationSettings, evaluate_bundle

    # Ten resolved bases, all among the top 10 positions: stability has nothing to substitute.
    bundle = make_bundle(tmp_path, model_file, ["N" * 30 + "ACGTACGTAC"], methods=("ism",))
    table = evaluate_bundle(bundle, tmp_path / "eval", EvaluationSettings(checks=("deletion", "stability")),
                            device="cpu", progress=False)
    stability = table[table["check"] == "stability"]
    assert len(stability) == 1 and stability["reason"].str.contains("substitutable positions").all()
    assert (table.loc[table["check"] == "deletion", "reason"] == "").all()


def test_evaluate_score_abs_and_force(tiny_bundle, tmp_path):
    from seqsal.evaluate import EvaluationSettings, evaluate_bundle

    bundle = tiny_bundle
    out = tmp_path / "eval"
    masks = tmp_path / "masks.npz"
    truth = np.zeros((6, 40), dtype=bool)
    truth[:, 10:20] = True
    np.savez(masks, ids=np.array([f"s{i}" for i in range(6)]), mask=truth)
    tables = {}
    for score in ("signed", "abs"):
        settings = EvaluationSettings(checks=("deletion", "plausibility"), masks=str(masks), steps=2, score=score)
        tables[score] = evaluate_bundle(bundle, out, settings, device="cpu", progress=False, force=True)
    auroc = {score: t.set_index(["method", "metric"]).loc[("ism", "plausibility_auroc"), "value"]
             for score, t in tables.items()}
    assert auroc["signed"] != pytest.approx(auroc["abs"])
    # A finished run with curves.tsv is not replaced by one that would not rewrite it, unless forced.
    with pytest.raises(SeqsalError, match="curves.tsv"):
        evaluate_bundle(bundle, out, EvaluationSettings(checks=("plausibility",), masks=str(masks)),
                        device="cpu", progress=False)
    with pytest.raises(SeqsalError, match="score must be one of"):
        evaluate_bundle(bundle, tmp_path / "other", EvaluationSettings(score="absolute"), progress=False)


def test_cli_refuses_two_motif_thresholds_before_writing(tiny_bundle, tmp_path, capsys):
    from seqsal.cli import main

    out = tmp_path / "eval"
    status = main(["evaluate", str(tiny_bundle), "--out", str(out), "--motifs", "GATA1", "--motif-pvalue", "1e-3",
                   "--motif-threshold", "0.8"])
    assert status == 2 and "not both" in capsys.readouterr().err
    assert not out.exists()
