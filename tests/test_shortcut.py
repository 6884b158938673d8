"""The planted-adapter experiment: planting, metrics on hand cases, and one quick run through the CLI."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch

from seqsal.experiments import shortcut
from seqsal.cli import main
from seqsal.encoding import decode, one_hot
from seqsal.errors import SeqsalError
from seqsal.models import EnhancerCNN, load_model
from seqsal.motifs import MotifDatabase, load_adapters
from seqsal.experiments.shortcut import (
    DEFAULT_ADAPTER,
    MOTIF_PRIOR,
    ShortcutConfig,
    adapter_insert,
    adapter_mask,
    adapter_motif_matches,
    adapter_room,
    adapter_share,
    explain,
    parse_method,
    place_adapters,
    plant_adapters,
    prepare_data,
)
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


def test_adapter_share_on_a_hand_case():
    scores = np.array([[1.0, -1.0, 2.0, 0.0], [0.0, 0.0, 0.0, 0.0]])
    mask = np.array([[False, True, True, False], [True, False, False, False]])
    share = adapter_share(scores, mask)
    assert share[0] == pytest.approx(0.75)  # |−1| + |2| of a total 4
    assert np.isnan(share[1])  # no attribution at all: no share to speak of


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
    (["--rates", "0,2"], "rates must lie in"),
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
    assert manifest["rates_done"] == [0.0, 1.0]
    for name in ("shortcut.tsv", "reliance.tsv", "tradeoff.png", "rates.png", "report.html",
                 "logos/rate_0.png", "logos/rate_1.png"):
        assert (out / name).is_file(), name
    for rate in ("rate_0", "rate_1"):
        assert load_model(out / "models" / f"{rate}.pt").config.input_length == ShortcutConfig.quick().length

    reliance = pd.read_csv(out / "reliance.tsv", sep="\t").set_index("rate")
    assert reliance.loc[1.0, "flip_neg_to_pos"] > reliance.loc[0.0, "flip_neg_to_pos"]
    assert reliance.loc[1.0, "auroc_contaminated"] > reliance.loc[1.0, "auroc_clean"]

    metrics = pd.read_csv(out / "shortcut.tsv", sep="\t")
    methods = ShortcutConfig.quick().methods
    assert len(metrics) == 2 * len(methods) and set(metrics["method"]) == set(methods)
    prior = metrics[metrics["method"] == MOTIF_PRIOR]
    assert prior["plausibility_auroc"].nunique() == 1 and prior["adapter_share"].nunique() == 1
    report = (out / "report.html").read_text()
    assert "Does the expected story hold?" in report and "data:image/png;base64," in report


def test_an_interrupted_run_keeps_the_finished_rates(tmp_path, monkeypatch):
    real_fit = shortcut.fit
    calls = []

    def fit_then_interrupt(*args, **kwargs):  # Ctrl-C while the second model trains
        calls.append(1)
        if len(calls) > 1:
            raise KeyboardInterrupt
        return real_fit(*args, **kwargs)

    monkeypatch.setattr(shortcut, "fit", fit_then_interrupt)
    config = ShortcutConfig.quick(n=600, length=100, epochs=1, n_eval=10, methods=("grad_x_input",))
    with pytest.raises(KeyboardInterrupt):
        shortcut.run_shortcut(config, tmp_path / "run", progress=False)

    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text())
    assert manifest["complete"] is False and manifest["rates_done"] == [0.0]
    assert (tmp_path / "run" / "models" / "rate_0.pt").is_file()
    assert pd.read_csv(tmp_path / "run" / "shortcut.tsv", sep="\t")["rate"].tolist() == [0.0]
    assert not (tmp_path / "run" / "report.html").exists()
