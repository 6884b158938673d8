"""Seqlet calling, null calibration, annotation and summary (unit tests run in seconds)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from seqsal.errors import SeqsalError
from seqsal.motifs import MotifDatabase
from seqsal.seqlets import (
    ANNOTATION_COLUMNS,
    SEQLET_COLUMNS,
    SeqletNull,
    SeqletSettings,
    WindowTally,
    annotate_seqlets,
    call_seqlets,
    contribution_matrix,
    empirical_null,
    fdr_cutoff,
    laplace_null,
    summarize_seqlets,
    window_sums,
)

SETTINGS = SeqletSettings(window=5, p_threshold=0.01, min_length=3, max_length=20, flank=0)


def noise(n: int, length: int, seed: int, scale: float = 0.05) -> np.ndarray:
    return np.random.default_rng(seed).normal(0, scale, size=(n, length))


@pytest.fixture(scope="module")
def null() -> SeqletNull:
    return empirical_null(noise(200, 60, seed=1), window=SETTINGS.window)


def cores(table: pd.DataFrame) -> list[tuple[int, int, int, int]]:
    return list(table[["sequence_index", "core_start", "core_end", "sign"]].itertuples(index=False, name=None))


def test_hand_made_track_gives_exactly_its_segments(null):
    scores = np.zeros((2, 60))
    scores[0, 10:18] = 1.0
    scores[0, 35:41] = -1.0
    scores[1, 50:56] = 0.5
    table = call_seqlets(scores, SETTINGS, null)
    assert list(table.columns) == list(SEQLET_COLUMNS)
    assert cores(table) == [(0, 10, 18, 1), (0, 35, 41, -1), (1, 50, 56, 1)]
    assert (table["start"] == table["core_start"]).all() and (table["end"] == table["core_end"]).all()
    assert table["score"].tolist() == pytest.approx([8.0, -6.0, 3.0])
    assert (table["p"] == null.smallest_p).all()


def test_flanks_are_added_and_clipped_at_the_ends(null):
    scores = np.zeros((1, 60))
    scores[0, 0:5] = 1.0
    scores[0, 20:26] = 1.0
    table = call_seqlets(scores, SeqletSettings(window=5, min_length=3, max_length=20, flank=3), null)
    assert table[["start", "end", "core_start", "core_end"]].values.tolist() == [[0, 8, 0, 5], [17, 29, 20, 26]]


def test_min_length_drops_lone_spikes(null):
    scores = np.zeros((1, 60))
    scores[0, 30:32] = 3.0
    assert call_seqlets(scores, SETTINGS, null).empty
    short = SeqletSettings(window=5, min_length=2, max_length=20, flank=0)
    assert cores(call_seqlets(scores, short, null)) == [(0, 30, 32, 1)]


def test_max_length_splits_adjacent_sites_at_the_gap(null):
    scores = np.zeros((1, 60))
    scores[0, 10:18] = 1.0
    scores[0, 19:27] = 1.0
    merged = call_seqlets(scores, SETTINGS, null)
    assert cores(merged) == [(0, 10, 27, 1)]
    split = call_seqlets(scores, SeqletSettings(window=5, min_length=3, max_length=10, flank=0), null)
    assert cores(split) == [(0, 10, 18, 1), (0, 19, 27, 1)]
    scores[0, 10:50] = 1.0
    long = call_seqlets(scores, SeqletSettings(window=5, min_length=3, max_length=10, flank=0), null)
    lengths = long["core_end"] - long["core_start"]
    assert lengths.between(3, 10).all() and lengths.sum() == 40


def test_empirical_null_gives_the_nominal_false_positive_rate_on_noise():
    """At p < 0.05, about 5 % of pure-noise windows are significant (binomial tolerance over independent windows)."""
    window = 5
    for draw in (np.random.default_rng(2).normal, np.random.default_rng(3).laplace):
        null = empirical_null(draw(0, 1, size=(400, 100)), window)
        test = draw(0, 1, size=(400, 100))
        rate = (null.p_values(window_sums(test, window)) < 0.05).mean()
        independent = test.size / window  # overlapping windows share bases; count non-overlapping ones
        assert abs(rate - 0.05) < 4 * np.sqrt(0.05 * 0.95 / independent)


def test_laplace_null_tail_and_smallest_p():
    scores = np.random.default_rng(4).laplace(0, 1, size=(50, 40))
    null = laplace_null(scores, 5)
    median = np.median(np.abs(window_sums(scores, 5)))
    assert null.p_values(np.array([0.0, median, -median])) == pytest.approx([1.0, 0.5, 0.5])
    assert null.smallest_p == 0.0
    assert empirical_null(scores, 5).smallest_p == pytest.approx(1 / (1 + 50 * 36))


def test_calls_do_not_depend_on_batch_size_or_order(null):
    rng = np.random.default_rng(5)
    scores = rng.normal(0, 0.05, size=(12, 60))
    for i in range(12):
        start = rng.integers(0, 50)
        scores[i, start:start + 8] += rng.choice([-1, 1]) * rng.uniform(0.3, 1.0)
    whole = call_seqlets(scores, SETTINGS, null)
    assert len(whole) >= 12
    order = rng.permutation(12)
    shuffled = call_seqlets(scores[order], SETTINGS, null)
    shuffled["sequence_index"] = order[shuffled["sequence_index"]]
    # The run-level gate needs the whole run: tally it chunk by chunk, then call each chunk with its cutoff.
    tally = WindowTally(null, SETTINGS.p_threshold, SETTINGS.fdr)
    for i in range(0, 12, 5):
        tally.add(scores[i:i + 5])
    chunks = [call_seqlets(scores[i:i + 5], SETTINGS, null, cutoff=tally.cutoff)
              .assign(sequence_index=lambda t, i=i: t["sequence_index"] + i) for i in range(0, 12, 5)]
    key = ["sequence_index", "start", "core_start"]
    for other in (shuffled, pd.concat(chunks)):
        pd.testing.assert_frame_equal(other.sort_values(key).reset_index(drop=True), whole)


def brute_force_cutoff(p: np.ndarray, n_windows: int, fdr: float) -> float:
    """The definition, threshold by threshold: the largest p-value t with t * m / #{p <= t} <= fdr (0 if none)."""
    passing = [t for t in p if t * n_windows / np.sum(p <= t) <= fdr]
    return max(passing, default=0.0)


def test_fdr_cutoff_matches_hand_computed_values_and_the_definition():
    p = np.array([0.03, 0.004, 0.2, 0.001, 0.004])
    # estimates at 0.001, 0.004 (two of them), 0.03, 0.2 over 10 windows: 0.01, 0.0133, 0.075, 0.4
    assert fdr_cutoff(p, 10, 0.1) == 0.03
    assert fdr_cutoff(p, 10, 0.05) == 0.004
    assert fdr_cutoff(p, 10, 0.005) == 0.0
    assert fdr_cutoff(p, 10, 1) == 1.0 and fdr_cutoff(np.empty(0), 10, 0.5) == 0.0
    rng = np.random.default_rng(7)
    for _ in range(20):
        m = int(rng.integers(50, 500))
        p = np.round(rng.uniform(0, 0.05, size=int(rng.integers(1, 40))) ** 2, 4)  # ties included
        for fdr in (0.05, 0.2, 0.5):
            assert fdr_cutoff(p, m, fdr) == brute_force_cutoff(p, m, fdr)
    with pytest.raises(SeqsalError, match="fdr"):
        fdr_cutoff(p, 10, 0)


def test_run_level_gate_silences_pure_noise_and_keeps_real_segments(null):
    """Noise scored against a null of the same noise: about 1 % of windows pass p < 0.01 alone, but the run has
    no more of them than the null predicts, so the gate keeps (almost) none; with planted segments it stands aside."""
    scores = noise(300, 60, seed=8)
    ungated = call_seqlets(scores, replace(SETTINGS, fdr=1), null)
    gated = call_seqlets(scores, SETTINGS, null)
    assert len(ungated) >= 30 and len(gated) <= 0.1 * len(ungated)
    tally = WindowTally(null, 0.01, 0.5)
    tally.add(scores)
    assert tally.describe()["windows"] == 300 * 56 and tally.estimated_fdr > 0.5
    planted = scores.copy()
    planted[:30, 20:28] += 0.2
    found = call_seqlets(planted, SETTINGS, null)
    hits = found[(found["sequence_index"] < 30) & (found["core_start"] < 28) & (found["core_end"] > 20)]
    assert sorted(set(hits["sequence_index"])) == list(range(30))
    # A tenth of the run carrying a segment brings the estimate at the threshold below 0.5, so the gate stands
    # aside and the calls are those of the per-window threshold alone (noise seqlets at its rate included).
    tally = WindowTally(null, 0.01, 0.5)
    tally.add(planted)
    assert tally.estimated_fdr < 0.5
    ungated_planted = call_seqlets(planted, replace(SETTINGS, fdr=1), null)
    pd.testing.assert_frame_equal(found, ungated_planted)


def test_a_binding_gate_gives_the_whole_run_and_its_chunks_the_same_seqlets(null):
    """Five segments among 300 noise tracks: the estimate at p < 0.01 is above 0.5, so the gate lowers the cutoff.
    Chunks called with the run's tallied cutoff give the whole run's seqlets; chunks gated on their own do not."""
    scores = noise(300, 60, seed=8)
    scores[:15:3, 20:28] += 0.2
    tally = WindowTally(null, SETTINGS.p_threshold, SETTINGS.fdr)
    for i in range(0, 300, 50):
        tally.add(scores[i:i + 50])
    assert tally.estimated_fdr > 0.5 and 0 < tally.cutoff < SETTINGS.p_threshold
    whole = call_seqlets(scores, SETTINGS, null)
    chunked = pd.concat([call_seqlets(scores[i:i + 50], SETTINGS, null, cutoff=tally.cutoff)
                         .assign(sequence_index=lambda t, i=i: t["sequence_index"] + i) for i in range(0, 300, 50)])
    pd.testing.assert_frame_equal(chunked.reset_index(drop=True), whole)
    own_gates = sum(len(call_seqlets(scores[i:i + 50], SETTINGS, null)) for i in range(0, 300, 50))
    assert own_gates != len(whole)
    assert set(range(0, 15, 3)) <= set(whole["sequence_index"])  # the segments are kept


@pytest.mark.parametrize(
    ("settings", "name"),
    [
        (dict(window=0), "window"),
        (dict(p_threshold=0), "p_threshold"),
        (dict(p_threshold=1.5), "p_threshold"),
        (dict(min_length=0), "min_length"),
        (dict(min_length=6, max_length=10), "max_length"),
        (dict(flank=-1), "flank"),
        (dict(window=2.5), "window"),
        (dict(fdr=0), "fdr"),
        (dict(fdr=1.5), "fdr"),
    ],
)
def test_bad_settings_name_the_parameter(settings, name):
    with pytest.raises(SeqsalError, match=name):
        SeqletSettings(**settings)


def test_bad_inputs_name_the_culprit(null):
    with pytest.raises(SeqsalError, match="scores"):
        call_seqlets(np.zeros((2, 4, 60)), SETTINGS, null)
    with pytest.raises(SeqsalError, match="NaN"):
        call_seqlets(np.full((1, 60), np.nan), SETTINGS, null)
    with pytest.raises(SeqsalError, match="window"):
        call_seqlets(np.zeros((1, 60)), SeqletSettings(window=7), null)
    with pytest.raises(SeqsalError, match="window"):
        call_seqlets(np.zeros((1, 4)), SETTINGS, null)
    with pytest.raises(SeqsalError, match="p_threshold"):
        call_seqlets(np.zeros((1, 60)), SETTINGS, empirical_null(np.zeros((1, 20)), 5))
    with pytest.raises(SeqsalError, match="empirical_null"):
        laplace_null(np.zeros((3, 60)), 5)
    with pytest.raises(SeqsalError, match="n_sequences"):
        summarize_seqlets(pd.DataFrame(columns=list(SEQLET_COLUMNS)), 0, 60)
    with pytest.raises(SeqsalError, match="bins"):
        summarize_seqlets(pd.DataFrame(columns=list(SEQLET_COLUMNS)), 1, 60, bins=0)
    table = pd.DataFrame({"sequence_index": [0], "start": [50], "end": [70], "sign": [1]})
    with pytest.raises(SeqsalError, match="outside"):
        annotate_seqlets(table, np.zeros((1, 4, 60)), np.zeros((1, 4, 60)))
    with pytest.raises(SeqsalError, match="q_threshold"):
        annotate_seqlets(table, np.zeros((1, 4, 60)), np.zeros((1, 4, 60)), q_threshold=0)


def test_contribution_matrix_is_a_probability_matrix_sharp_where_important():
    hypothetical = np.array([[2.0, 0.1], [-1.0, 0.0], [-0.5, 0.0], [-0.5, -0.1]])
    onehot = np.array([[1.0, 1.0], [0, 0], [0, 0], [0, 0]])
    matrix = contribution_matrix(hypothetical, onehot, sign=1)
    assert matrix.sum(axis=0) == pytest.approx([1, 1])
    assert matrix[:, 0] == pytest.approx([1, 0, 0, 0])
    assert matrix[0, 1] == pytest.approx(0.25 * 0.95 + 0.05 * 1)
    flipped = contribution_matrix(-hypothetical, onehot, sign=-1)
    assert flipped == pytest.approx(matrix)


def test_annotation_names_a_planted_jaspar_motif_on_either_sign():
    gata = MotifDatabase.default().get("MA0035.3")  # Gata1
    length = 40
    onehot = np.zeros((2, 4, length))
    onehot[:, gata.pwm.argmax(axis=0), np.arange(10, 10 + gata.width)] = 1
    onehot[:, 0, :10] = onehot[:, 0, 10 + gata.width:] = 1
    hypothetical = np.zeros((2, 4, length))
    hypothetical[0, :, 10:10 + gata.width] = gata.pwm - 0.25
    hypothetical[1, :, 10:10 + gata.width] = -(gata.pwm - 0.25)
    table = pd.DataFrame({"sequence_index": [0, 1, 0], "start": [7, 7, 25], "end": [24, 24, 35], "sign": [1, -1, 1],
                          "core_start": [10, 10, 26], "core_end": [21, 21, 34], "score": [5.0, -5.0, 0.0]})
    annotated = annotate_seqlets(table, hypothetical, onehot)
    assert list(annotated.columns) == [*table.columns, *ANNOTATION_COLUMNS]
    assert annotated["motif"].str.lower().str.startswith("gata").tolist()[:2] == [True, True]
    assert (annotated["match_q"][:2] < 0.05).all()
    assert annotated["consensus"][0].upper() == "AAA" + gata.consensus + "AAA"
    assert ((annotated["motif"] == "unknown") == (annotated["match_q"] >= 0.05)).all()
    strict = annotate_seqlets(table, hypothetical, onehot, q_threshold=1e-300)
    assert (strict["motif"] == "unknown").all()
    assert strict["consensus"].tolist() == annotated["consensus"].tolist()
    assert annotated.loc[2, "consensus"] == "a" * 10  # zero contributions: a uniform matrix, no strong column


def test_summary_counts_motifs_records_and_positions():
    table = pd.DataFrame({
        "sequence_index": [0, 0, 1, 2], "core_start": [0, 50, 10, 90], "core_end": [10, 60, 20, 100],
        "sign": [1, 1, 1, -1], "score": [2.0, 4.0, 6.0, -1.0], "motif": ["GATA2", "GATA2", "GATA2", "unknown"],
    })
    summary = summarize_seqlets(table, n_sequences=4, length=100, bins=4)
    assert summary.columns.tolist()[-4:] == ["pos_0_25", "pos_25_50", "pos_50_75", "pos_75_100"]
    first = summary.iloc[0]
    assert (first["motif"], first["sign"], first["n_seqlets"], first["n_records"]) == ("GATA2", 1, 3, 2)
    assert first["record_share"] == pytest.approx(0.5) and first["mean_score"] == pytest.approx(4.0)
    assert first[["pos_0_25", "pos_25_50", "pos_50_75", "pos_75_100"]].tolist() == [2, 0, 1, 0]
    assert summary.iloc[1][["motif", "sign", "pos_75_100"]].tolist() == ["unknown", -1, 1]
    assert summarize_seqlets(table.iloc[:0], 4, 100).empty


@pytest.mark.slow
def test_seqlets_recover_planted_motifs_with_the_bundled_model():
    """Held-out simulated positives: seqlets find planted motifs and name them; a random model gets (almost) none.

    Measured by ``benchmarks/bench_seqlets.py`` (which holds the matching rule
    and the motif families); here on a smaller held-out set, grad x input only.
    """
    import torch

    import seqsal
    from benchmarks.bench_seqlets import USED_DELTA, enhancer_instances, evaluate, instance_effects
    from seqsal.models import EnhancerCNN
    from seqsal.simulate import simulate_enhancers

    data = simulate_enhancers(200, 249, random_state=2027)
    positives = data.labels == 1
    ids = [i for i, keep in zip(data.ids, positives) if keep]
    X = seqsal.one_hot([s for s, keep in zip(data.sequences, positives) if keep])
    trained = seqsal.load_model("default", device="cpu")
    torch.manual_seed(0)
    random = EnhancerCNN(trained.config).eval()
    instances = enhancer_instances(data.planted, ids)
    instances["used"] = instance_effects(trained, X, instances) > USED_DELTA
    found, _, _ = evaluate(trained, X, instances, "grad_x_input", SeqletSettings())
    chance, _, _ = evaluate(random, X, instances, "grad_x_input", SeqletSettings(), annotate=False)
    print(f"\ntrained: {found}\nrandom: {chance}")
    assert found["precision"] >= 0.8
    assert found["recall"] >= 0.6  # the 0.85 over all planted instances is not reached (see the benchmark)
    # Over the instances the model uses (measured 0.84), and seqlets mark what the model responds to (0.996):
    # the seqlets that hit no planted motif sit on chance sites in the background.
    assert found["recall_used"] >= 0.78 and found["recall_used"] > found["recall"] + 0.1
    assert found["precision_model"] >= 0.95
    assert found["annotation"] >= 0.8
    # The random model's windows are no more often significant than on its own shuffles, so the run-level gate
    # keeps (almost) none of them; the trained model's estimate is far below the gate's 0.5.
    assert found["estimated_fdr"] < 0.45 and found["window_cutoff"] > 0.01
    assert chance["n_seqlets"] <= 0.05 * found["n_seqlets"] and chance["estimated_fdr"] > 0.7


def test_instance_effects_are_the_logit_drop_of_replacing_the_instance():
    """A linear model that counts A at positions 10-16: the drop is known in expectation, zero elsewhere."""
    import torch

    from benchmarks.bench_seqlets import instance_effects

    class CountA(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x[:, 0:1, 10:17].sum(dim=2)

    X = np.zeros((2, 4, 40))
    X[:, 0, :] = 1  # all A
    instances = pd.DataFrame({"sequence_index": [0, 1, 1], "start": [10, 20, 12], "end": [17, 27, 15]})
    delta = instance_effects(CountA(), X, instances, gc=0.41, n_draws=400)
    share_not_a = 1 - 0.59 / 2  # background bases are A with probability (1 - gc) / 2
    assert delta[0] == pytest.approx(7 * share_not_a, abs=0.15)  # sd of the mean: sqrt(7 * 0.3 * 0.7 / 400) = 0.06
    assert delta[1] == 0.0  # outside what the model reads
    assert delta[2] == pytest.approx(3 * share_not_a, abs=0.1)
    again = instance_effects(CountA(), X, instances, gc=0.41, n_draws=400)
    np.testing.assert_array_equal(delta, again)


def test_seqlet_functions_are_in_the_top_level_api():
    import seqsal
    from seqsal import seqlets

    for name in ("call_seqlets", "annotate_seqlets", "summarize_seqlets"):
        assert getattr(seqsal, name) is getattr(seqlets, name) and name in dir(seqsal)


def test_best_matches_is_one_row_per_query_with_bh_q_of_the_best(monkeypatch):
    """The shared Tomtom step: best target by p, q = step-up BH over the query's comparisons."""
    from seqsal import motif_compare

    motifs = list(MotifDatabase.default())[:10]
    p = np.full((2, 10), 0.5)
    p[0, 3], p[0, 7], p[1, 0] = 0.001, 0.002, 0.2
    strands = np.zeros((2, 10))
    strands[0, 3] = 1
    monkeypatch.setattr(motif_compare, "load_tomtom",
                        lambda purpose: lambda q, t: (p, p, np.zeros_like(p), np.full_like(p, 5), strands))
    table = motif_compare.best_matches([np.full((4, 6), 0.25)] * 2, MotifDatabase(motifs))
    assert table["match_id"].tolist() == [motifs[3].id, motifs[0].id]
    assert table["q_value"].tolist() == pytest.approx([0.002 * 10 / 2, 0.5])
    assert table["strand"].tolist() == ["-", "+"] and table["overlap"].tolist() == [5, 5]
    assert motif_compare.best_matches([], MotifDatabase(motifs)).empty
    with pytest.raises(SeqsalError, match=r"query 0 must be a \(4, w\)"):
        motif_compare.best_matches([np.zeros((3, 5))])


def test_simulation_oracle_sums_over_placements_and_separates_the_classes():
    """The benchmark's Bayes-optimal classifier: its placement sum against brute force, and its accuracy."""
    import itertools

    from sklearn.metrics import roc_auc_score

    import seqsal
    from benchmarks.simulation_oracle import SimulationOracle
    from seqsal.simulate import simulate_enhancers

    ratios = np.random.default_rng(9).uniform(0, 3, size=(2, 6))
    brute = [np.mean([sum(np.prod(row[list(starts)]) for starts in itertools.permutations(range(6), k))
                      for k in range(1, 4)]) for row in ratios]
    assert SimulationOracle._class_ratio(ratios, (1, 3)) == pytest.approx(brute)
    data = simulate_enhancers(300, 249, random_state=5)
    logits = SimulationOracle()(seqsal.one_hot(data.sequences))
    assert roc_auc_score(data.labels, logits) > 0.98
    assert np.mean(np.logaddexp(0, logits) - data.labels * logits) < 0.2  # log-loss; the bundled model's is 0.16
