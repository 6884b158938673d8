"""The planted-adapter experiment: planting, metrics and claims on hand cases, and one quick run through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

import seqsal.experiments.shortcut.run as shortcut_run
from seqsal.cli import main
from seqsal.attribution import per_position
from seqsal.attribution.summary import mask_share
from seqsal.encoding import decode, one_hot
from seqsal.errors import SeqsalError
from seqsal.experiments.pitfalls import FullyConnected
from seqsal.experiments.shortcut import (
    DEFAULT_ADAPTER,
    MOTIF_PRIOR,
    ShortcutConfig,
    adapter_effects,
    adapter_insert,
    adapter_mask,
    adapter_motif_matches,
    adapter_room,
    effect_correlation,
    explain,
    parse_method,
    place_adapters,
    plant_adapters,
    prepare_data,
    rate_claims,
    story_checks,
)
from seqsal.experiments.shortcut.files import output_files
from seqsal.experiments.shortcut.hiding import advice_paragraph, rate_paragraph
from seqsal.models import EnhancerCNN, load_model
from seqsal.motifs import MotifDatabase, load_adapters
from seqsal.simulate import plant, simulate_enhancers
from tests.conftest import TINY, random_sequences

WIDTH = 33


@pytest.fixture(scope="module")
def synthetic():
    return simulate_enhancers(300, 120, random_state=3)


@pytest.fixture(scope="module")
def data():
    return prepare_data(ShortcutConfig.quick(n=400))


def _motif_cover(dataset, row: int) -> np.ndarray:
    covered = np.zeros(len(dataset.sequences[row]), dtype=bool)
    for planted in dataset.planted[dataset.planted["id"] == dataset.ids[row]].itertuples():
        covered[planted.start : planted.end] = True
    return covered


def test_adapter_insert_is_the_adapter_or_its_prefix():
    full = load_adapters()[DEFAULT_ADAPTER]
    assert adapter_insert() == full and len(full) == WIDTH
    assert adapter_insert(length=13) == "AGATCGGAAGAGC"
    with pytest.raises(SeqsalError, match="unknown adapter"):
        adapter_insert("no_such_adapter")
    with pytest.raises(SeqsalError, match="does not fit"):
        adapter_insert(length=WIDTH + 1)


@pytest.mark.parametrize("placement", ["random", "3prime"])
def test_adapters_never_touch_planted_motifs(synthetic, placement):
    starts = place_adapters(synthetic, WIDTH, placement, random_state=0)
    length = len(synthetic.sequences[0])
    room = adapter_room(synthetic, WIDTH)
    for row, start in enumerate(starts):
        covered = _motif_cover(synthetic, row)
        if start < 0:  # no room: every possible window (or the 3' window) would hit a motif
            assert not (room[row].any() if placement == "random" else room[row, -1])
            continue
        assert not covered[start : start + WIDTH].any()
        if placement == "3prime":
            assert start == length - WIDTH
    if placement == "random":
        assert (starts >= 0).mean() > 0.9
        assert len(np.unique(starts[starts >= 0])) > 20  # spread over the sequence, not one favourite spot
    else:  # the 3' end is often taken by a motif in 120 bp
        assert (starts >= 0).mean() > 0.3


def test_plant_adapters_writes_the_insert_where_asked_and_nothing_else():
    sequences = random_sequences(3, 60, seed=4)
    insert = adapter_insert()
    planted = plant_adapters(sequences, np.array([0, -1, 27]), insert)
    assert planted[0] == insert + sequences[0][WIDTH:]
    assert planted[1] == sequences[1]
    assert planted[2] == sequences[2][:27] + insert
    assert adapter_mask(np.array([2, -1]), 3, 6).tolist() == [
        [False, False, True, True, True, False], [False] * 6]


def test_shortcut_data_keeps_masks_valid_and_removal_restores_the_original(data):
    dataset, insert = data.dataset, data.insert
    adapted = decode(data.X_adapted)
    masks = data.adapter_masks
    assert not (masks & dataset.masks).any()  # the adapter never overwrites a motif position
    changed = (data.X_adapted != data.X_clean).any(axis=1)
    assert not (changed & ~masks).any()  # nothing outside the adapter changed
    for row in np.flatnonzero(data.starts >= 0)[:50]:
        start = data.starts[row]
        assert adapted[row][start : start + len(insert)] == insert
        # The removal counterfactual puts the original bases back: the clean sequence, exactly.
        original = dataset.sequences[row][start : start + len(insert)]
        assert plant(adapted[row], original, start) == dataset.sequences[row]
    assert decode(data.inputs(np.zeros(len(dataset), dtype=bool))) == dataset.sequences


def test_contamination_is_nested_and_limited_to_positives_with_room(data):
    positives = (data.dataset.splits == "train") & (data.dataset.labels == 1)
    previous = np.zeros(len(data.starts), dtype=bool)
    for rate in (0.0, 0.1, 0.5, 1.0):
        carrying = data.contaminated("train", rate)
        assert not (carrying & ~positives).any() and (data.starts[carrying] >= 0).all()
        assert carrying.sum() == min(round(rate * positives.sum()), (positives & (data.starts >= 0)).sum())
        assert not (previous & ~carrying).any()
        previous = carrying


def _linear_case():
    """A logistic model whose reliance on a planted 'AAAA' is known: A at position l is worth 0.1 l.

    Every sequence is 'GG' (worth 1.0 each) then C's (worth 0); the adapter sits at a different start in
    each, so removing it (C's back) lowers the logit by 0.1 × (sum of its positions): more, the later it sits.
    """
    length, width = 30, 4
    starts = np.arange(3, 26, 2)
    clean = ["GG" + "C" * (length - 2)] * len(starts)
    adapted = plant_adapters(clean, starts, "A" * width)
    torch.manual_seed(0)
    model = FullyConnected(length, hidden_units=()).eval()
    weight = np.zeros((4, length), dtype=np.float32)
    weight[0] = 0.1 * np.arange(length)  # A
    weight[2, :2] = 1.0  # G
    with torch.no_grad():
        model.output.weight.copy_(torch.from_numpy(weight.reshape(1, -1)))
        model.output.bias.fill_(-5.0)
    expected = np.array([0.1 * sum(range(s, s + width)) for s in starts])
    return model, one_hot(adapted), one_hot(clean), adapter_mask(starts, width, length), expected


def test_adapter_effects_and_rank_correlation_on_a_linear_model_with_known_reliance():
    model, X_with, X_without, adapter, expected = _linear_case()
    effects = adapter_effects(model, X_with, X_without, device="cpu")
    np.testing.assert_allclose(effects["effect"], expected, rtol=1e-5)
    np.testing.assert_allclose(effects["logit_without"], -3.0, rtol=1e-6)  # 2 × 1.0 − 5
    assert effects["flips"].tolist() == (-3.0 + expected >= 0).tolist()
    assert 0 < effects["flips"].sum() < len(expected)  # some calls hinge on the adapter, some do not

    # grad × input of a linear model is its weight at the observed base: the adapter's share grows with its
    # effect, so the share ranks the sequences exactly by reliance.
    faithful = mask_share(per_position(explain(model, X_with, "grad_x_input", [], device="cpu") * X_with), adapter)
    rho, p_value = effect_correlation(effects["effect"].to_numpy(), faithful)
    assert rho == pytest.approx(1.0) and p_value < 1e-6
    # A map that ranks them the other way round is anti-faithful; one that never varies has no ranking.
    assert effect_correlation(effects["effect"].to_numpy(), 1 - faithful)[0] == pytest.approx(-1.0)
    assert np.isnan(effect_correlation(effects["effect"].to_numpy(), np.full(len(expected), 0.2))[0])
    # Only the size of the effect counts: an adapter that pushes the call down is relied on too.
    assert effect_correlation(-effects["effect"].to_numpy(), faithful)[0] == pytest.approx(1.0)
    assert np.isnan(effect_correlation(np.array([1.0, 2.0]), np.array([0.1, 0.2]))[0])  # too few to rank
    with pytest.raises(SeqsalError, match="X_with has shape"):
        adapter_effects(model, X_with, X_without[:3], device="cpu")


def _tables(hidden_share: float = 0.22, control: float = 0.02):
    """Hand-made reliance.tsv and shortcut.tsv rows: a clean model, one at rate 0.1, one at rate 1."""
    reliance = pd.DataFrame({
        "rate": [0.0, 0.1, 1.0], "flip_neg_to_pos": [0.09, 0.33, 1.0],
        "flip_neg_to_pos_control": [0.01, control, 0.05], "flip_pos_to_neg": [0.02, 0.2, 0.97],
        "auroc_clean": [0.95, 0.9, 0.6], "auroc_contaminated": [0.95, 0.97, 1.0],
    })
    rows = []
    for rate, share, plausible, rho in ((0.0, 0.17, 0.79, 0.1), (0.1, hidden_share, 0.79, 0.6),
                                        (1.0, 0.98, 0.43, 0.2)):
        for method in ("ism", "grad_x_input"):
            rows.append({"rate": rate, "method": method, "adapter_share": share, "adapter_share_chance": 0.165,
                         "plausibility_auroc": plausible, "deletion_auc": 0.2, "random_deletion_auc": 0.6,
                         "effect_spearman": rho, "effect_spearman_p": 1e-4, "n_eval": 200})
        rows.append({"rate": rate, "method": MOTIF_PRIOR, "adapter_share": 0.0, "adapter_share_chance": 0.165,
                     "plausibility_auroc": 0.95, "deletion_auc": 0.7, "random_deletion_auc": 0.6,
                     "effect_spearman": np.nan, "effect_spearman_p": np.nan, "n_eval": 200})
    return reliance, pd.DataFrame(rows)


def test_story_checks_judge_the_extremes_from_the_numbers():
    reliance, metrics = _tables()
    story = story_checks(metrics, reliance).set_index("claim")
    assert list(story.columns) == ["rate", "holds", "evidence"]
    verdicts = {claim.split(":")[0].split(" (")[0]: holds for claim, holds in story["holds"].items()}
    assert verdicts["the clean model"] is False  # 9 % of its negatives flip: not "near zero"
    assert verdicts["the contaminated model"] is True
    assert verdicts["ism puts a large share on the adapter for the contaminated model"] is True
    assert verdicts["ism loses plausibility from the clean to the contaminated model"] is True
    assert verdicts[f"{MOTIF_PRIOR} is the most plausible map"] is True
    assert verdicts[f"{MOTIF_PRIOR} is the least faithful map"] is True
    assert set(story["rate"]) == {0.0, 1.0}
    # A method that was not run is left out, not reported as failing.
    without_ism = story_checks(metrics[metrics["method"] != "ism"], reliance)
    assert not without_ism["claim"].str.startswith("ism").any()


def test_rate_claims_find_the_intermediate_rate_where_maps_hide_the_shortcut():
    reliance, metrics = _tables()
    claims = rate_claims(metrics, reliance)
    assert list(claims.columns) == ["claim", "rate", "holds", "evidence"]
    assert sorted(set(claims["rate"])) == [0.0, 0.1, 1.0]

    def holds(rate, start):
        rows = claims[(claims["rate"] == rate) & claims["claim"].str.contains(start)]
        assert len(rows) >= 1, (rate, start)
        return rows["holds"].tolist()

    assert holds(0.0, "relies on the adapter: inserting") == [False]  # 9 % vs 1 %: under the 20-point margin
    assert holds(0.1, "relies on the adapter: inserting") == [True]
    assert holds(0.1, "the maps of ism hide it") == [True]
    assert holds(0.1, "the maps of ism show the adapter") == [False]
    assert holds(0.1, "the maps of ism rank") == [True]  # rho 0.6
    assert holds(1.0, "the maps of ism show the adapter") == [True]
    assert holds(1.0, "the maps of ism hide it") == [False]  # shown, and no longer plausible
    hidden = claims[(claims["rate"] == 0.1) & claims["claim"].str.contains("ism hide")]["evidence"].iloc[0]
    assert "33.0%" in hidden and "22.0%" in hidden and "0.790" in hidden

    # The same model with maps that do show the adapter, or a model that does not rely on it: nothing hidden.
    shown = rate_claims(*_tables(hidden_share=0.5)[::-1])
    assert not shown[shown["claim"].str.contains("hide")]["holds"].any()
    unused = rate_claims(*_tables(control=0.25)[::-1])
    assert not unused[(unused["rate"] == 0.1) & unused["claim"].str.contains("hide")]["holds"].any()


def test_report_words_state_the_hidden_shortcut_with_its_numbers():
    reliance, metrics = _tables()
    effects = pd.DataFrame({"rate": 0.1, "method": "ism", "flips": [True, True, False, False],
                            "adapter_share": [0.4, 0.3, 0.1, 0.2]})
    text = rate_paragraph(0.1, reliance, metrics, effects)
    assert "At rate 0.1 the model relies on the adapter: inserting it turns 33% of the negatives positive" in text
    assert "ism puts only 0.22 of its attribution on the adapter (chance 0.165)" in text
    assert "a reader of its logos would not see the shortcut" in text
    assert "Spearman ρ = 0.60" in text and "the 2 sequences whose call flips" in text and "mean share of 0.35" in text
    everything = rate_paragraph(1.0, reliance, metrics, effects.assign(rate=1.0, flips=True))
    assert "its logos show the shortcut" in everything and "every one of the 4 calls flips" in everything
    advice = advice_paragraph(reliance, metrics)
    assert "at rate 0.1, inserting the adapter turned 33% of the negatives positive against 2%" in advice
    assert "seqsal audit" in advice and "0.22 of their attribution" in advice


def test_motif_prior_ignores_the_model_and_finds_a_planted_consensus():
    motifs = MotifDatabase.default().get_many(["GATA1", "CREB1"])
    gata = motifs[0]
    sequences = random_sequences(4, TINY.input_length, seed=5)
    sequences[0] = plant(sequences[0], gata.consensus, 10)
    X = one_hot(sequences)
    torch.manual_seed(1)
    first = EnhancerCNN(TINY).eval()
    second = EnhancerCNN(TINY).eval()
    prior = explain(first, X, MOTIF_PRIOR, motifs)
    np.testing.assert_array_equal(prior, explain(second, X, MOTIF_PRIOR, motifs))
    np.testing.assert_array_equal(prior, prior * X)  # scores sit on the observed bases only
    per_position = prior.sum(axis=1)
    assert per_position[0, 10 : 10 + gata.width].min() == pytest.approx(1.0)  # the best possible window
    assert per_position.max() <= 1.0 + 1e-6


def test_adapter_motif_matches_score_a_planted_consensus_fully():
    motifs = MotifDatabase.default().get_many(["GATA1", "CREB1"])
    insert = "AC" + motifs[1].consensus + "GT"
    matches = adapter_motif_matches(insert, motifs, n_shuffles=20).set_index("motif")
    creb = matches.loc[motifs[1].name]
    assert creb["relative_score"] == pytest.approx(1.0)
    assert creb["window"] == motifs[1].consensus
    assert creb["shuffles_at_least"] <= 0.1  # the arrangement, not the composition, makes the site
    assert matches.index[0] == motifs[1].name  # the most specific match comes first


def test_method_names_parse_with_the_correction_suffix():
    assert parse_method("grad_x_input_corrected") == ("grad_x_input", True)
    assert parse_method("ism") == ("ism", False)
    assert parse_method(MOTIF_PRIOR) == (MOTIF_PRIOR, False)
    with pytest.raises(SeqsalError, match="unknown method"):
        parse_method("telepathy")


@pytest.mark.parametrize("argv, message", [
    (["--rates", "0,2"], "rates must be a number in [0, 1]"),
    (["--n", "50"], "n must be an integer ≥ 100"),
    (["--rates", "zero"], "--rates must be comma-separated"),
    (["--methods", "saliency,telepathy"], "unknown method"),
    (["--adapter", "no_such_adapter"], "unknown adapter"),
])
def test_cli_rejects_bad_settings(tmp_path, capsys, argv, message):
    assert main(["shortcut", "--quick", "--quiet", "--out", str(tmp_path / "run"), *argv]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()  # settings are checked before anything is written


def test_quick_run_writes_everything_and_shows_the_shortcut(tmp_path):
    out = tmp_path / "run"
    assert main(["shortcut", "--quick", "--quiet", "--out", str(out)]) == 0

    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["complete"] is True and manifest["kind"] == "shortcut"
    assert manifest["rates_done"] == [0.0, 0.1, 1.0]
    assert manifest["command"][:2] == ["seqsal", "shortcut"]
    on_disk = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file() and p.name != "manifest.json")
    assert manifest["files"] == on_disk == output_files(ShortcutConfig.quick())
    assert "effects/rate_0.1.png" in on_disk and "claims.tsv" in on_disk
    for rate in ("rate_0", "rate_0.1", "rate_1"):
        assert load_model(out / "models" / f"{rate}.pt").config.input_length == ShortcutConfig.quick().length

    reliance = pd.read_csv(out / "reliance.tsv", sep="\t").set_index("rate")
    assert reliance.loc[1.0, "flip_neg_to_pos"] > reliance.loc[0.0, "flip_neg_to_pos"]
    assert reliance.loc[1.0, "auroc_contaminated"] > reliance.loc[1.0, "auroc_clean"]

    metrics = pd.read_csv(out / "shortcut.tsv", sep="\t")
    methods = ShortcutConfig.quick().methods
    assert len(metrics) == 3 * len(methods) and set(metrics["method"]) == set(methods)
    prior = metrics[metrics["method"] == MOTIF_PRIOR]
    assert prior["plausibility_auroc"].nunique() == 1 and prior["adapter_share"].nunique() == 1
    by = metrics.set_index(["rate", "method"])
    assert np.isfinite(by.loc[(0.1, "grad_x_input"), "effect_spearman"])

    effects = pd.read_csv(out / "adapter_effects.tsv", sep="\t")
    n_eval = ShortcutConfig.quick().n_eval
    assert len(effects) == 3 * len(methods) * n_eval
    one = effects[(effects["rate"] == 0.1) & (effects["method"] == "grad_x_input")]
    assert np.allclose(one["effect"], one["logit_with"] - one["logit_without"], atol=1e-5)
    rho, _ = effect_correlation(one["effect"].to_numpy(), one["adapter_share"].to_numpy())
    assert rho == pytest.approx(by.loc[(0.1, "grad_x_input"), "effect_spearman"])

    claims = pd.read_csv(out / "claims.tsv", sep="\t")
    assert list(claims.columns) == ["claim", "rate", "holds", "evidence"]
    assert {0.0, 0.1, 1.0} <= set(claims["rate"])
    assert claims["claim"].str.contains("at rate 0.1 the model relies on the adapter while the maps").any()
    report = (out / "report.html").read_text()
    assert "Does the expected story hold?" in report and "data:image/png;base64," in report
    assert "At rate 0.1 the model" in report and "seqsal audit" in report

    # A run with fewer rates would leave rate 0.1's model behind: refused before anything is trained.
    assert main(["shortcut", "--quick", "--quiet", "--rates", "0,1", "--out", str(out)]) == 2
    assert (out / "models" / "rate_0.1.pt").is_file()


def test_an_interrupted_run_keeps_the_finished_rates(tmp_path, monkeypatch):
    real_fit = shortcut_run.fit
    calls = []

    def fit_then_interrupt(*args, **kwargs):  # Ctrl-C while the second model trains
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(shortcut_run, "fit", fit_then_interrupt)
    config = ShortcutConfig.quick(n=600, length=100, epochs=1, n_eval=10, methods=("grad_x_input",))
    with pytest.raises(KeyboardInterrupt):
        shortcut_run.run_shortcut(config, tmp_path / "run", progress=False)

    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["rates_done"] == [0.0]
    assert (tmp_path / "run" / "models" / "rate_0.pt").is_file()
    assert pd.read_csv(tmp_path / "run" / "shortcut.tsv", sep="\t")["rate"].tolist() == [0.0]
    assert not (tmp_path / "run" / "report.html").exists()
