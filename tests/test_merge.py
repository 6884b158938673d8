"""Splitting a FASTA into shards and merging the shards' explain bundles back, without Snakemake."""

from __future__ import annotations

import json

import numpy as np
import pytest

from seqsal import io
from seqsal.errors import SeqsalError
from seqsal.explain.bundle import load_bundle
from seqsal.explain.merge import merge_bundles
from seqsal.explain.pipeline import explain_fasta
from seqsal.explain.settings import ExplainSettings
from seqsal.explain.shards import split_fasta
from seqsal.models import EnhancerCNN, save_model
from seqsal.runs import read_manifest
from tests.conftest import TINY, random_sequences

SEEDED = ExplainSettings(methods=("saliency", "smoothgrad"), batch_size=4, n_logos=1,
                         options={"n_samples": 3})


@pytest.fixture
def peaks(tmp_path):
    ids = ["NA", "null", *(f"r{i}" for i in range(8))]  # pandas would read the first two as missing
    path = tmp_path / "peaks.fa"
    io.write_fasta(path, [io.Record(i, s) for i, s in zip(ids, random_sequences(10, TINY.input_length, seed=2))])
    return path


@pytest.fixture
def model_file(tmp_path, tiny_model):
    return save_model(tiny_model, tmp_path / "tiny.pt")


def explain_shards(shards, model_file, folder, settings=SEEDED, first_indices=None):
    bundles = []
    for number, shard in enumerate(shards):
        first = shard.first_index if first_indices is None else first_indices[number]
        shard_settings = ExplainSettings(**{**settings.__dict__, "first_index": first, "n_logos": 0})
        bundles.append(explain_fasta(shard.path, model_file, folder / f"ex{number}", shard_settings,
                                     progress=False).folder)
    return bundles


def test_split_writes_shards_in_input_order_and_a_complete_manifest(tmp_path, peaks):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    assert [(s.path.name, s.first_index, s.n_records) for s in shards] == [
        ("shard_00000.fa", 0, 4), ("shard_00001.fa", 4, 4), ("shard_00002.fa", 8, 2)]
    assert [r for s in shards for r in io.read_fasta(s.path)] == io.read_fasta(peaks)
    manifest = read_manifest(tmp_path / "shards")
    assert manifest["complete"] and manifest["kind"] == "split" and len(manifest["shards"]) == 3
    assert manifest["input"]["sha256"] == io.file_sha256(peaks)


def test_merged_shards_equal_one_run_and_keep_ids_that_look_missing(tmp_path, peaks, model_file):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    merged = merge_bundles(explain_shards(shards, model_file, tmp_path), tmp_path / "merged", n_logos=1)
    whole = explain_fasta(peaks, model_file, tmp_path / "whole", SEEDED, progress=False)
    for method in SEEDED.methods:
        np.testing.assert_array_equal(merged.attributions[method], whole.attributions[method])
    np.testing.assert_array_equal(merged.onehot, whole.onehot)
    assert merged.ids == whole.ids == [r.id for r in io.read_fasta(peaks)]
    assert (merged.folder / "scores.tsv").read_text() == (whole.folder / "scores.tsv").read_text()
    assert [s["first_index"] for s in merged.manifest["shards"]] == [0, 4, 8]


def test_merge_draws_its_logos_with_the_figure_options_given(tmp_path, peaks, model_file):
    from PIL import Image

    from seqsal.cli import main

    shards = split_fasta(peaks, tmp_path / "shards", 4)
    bundles = [str(b) for b in explain_shards(shards, model_file, tmp_path)]
    assert main(["merge", *bundles, "--out", str(tmp_path / "paper"), "--logos", "1", "--style", "paper",
                 "--width", "3.5", "--dpi", "100"]) == 0
    logos = sorted((tmp_path / "paper" / "logos").glob("*.png"))
    assert len(logos) == len(SEEDED.methods)  # the top record, once per method
    for logo in logos:
        with Image.open(logo) as image:
            assert image.size[0] == 350  # 3.5 in at 100 dpi, not the screen style's width for the sequence


def test_merges_of_merges_keep_their_place_in_the_input(tmp_path, peaks, model_file):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    bundles = explain_shards(shards, model_file, tmp_path)
    first = merge_bundles(bundles[:1], tmp_path / "first", n_logos=0)
    rest = merge_bundles(bundles[1:], tmp_path / "rest", n_logos=0)
    assert rest.manifest["settings"]["first_index"] == 4
    both = merge_bundles([first.folder, rest.folder], tmp_path / "both", n_logos=0)
    direct = merge_bundles(bundles, tmp_path / "direct", n_logos=0)
    np.testing.assert_array_equal(both.attributions["smoothgrad"], direct.attributions["smoothgrad"])


def test_merge_refuses_out_of_order_seeded_shards_other_models_and_its_own_inputs(tmp_path, peaks, model_file):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    bundles = explain_shards(shards, model_file, tmp_path)
    with pytest.raises(SeqsalError, match="first_index is 0, but the shards before it end at 8"):
        merge_bundles([bundles[1], bundles[0]], tmp_path / "swapped")
    with pytest.raises(SeqsalError, match="one of the bundles being merged"):
        merge_bundles(bundles, bundles[0])
    assert load_bundle(bundles[0]).manifest["complete"]  # the refused merge touched nothing

    other = save_model(EnhancerCNN(TINY).eval(), tmp_path / "other.pt")
    stranger = explain_fasta(shards[1].path, other, tmp_path / "stranger",
                             ExplainSettings(**{**SEEDED.__dict__, "first_index": 4}), progress=False)
    with pytest.raises(SeqsalError, match="another model"):
        merge_bundles([bundles[0], stranger.folder], tmp_path / "mixed")


def test_unseeded_shards_merge_in_any_order_the_user_gives(tmp_path, peaks, model_file):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    plain = ExplainSettings(methods=("saliency",), batch_size=4)
    bundles = explain_shards(shards, model_file, tmp_path, plain, first_indices=[0, 0, 0])
    merged = merge_bundles(bundles[::-1], tmp_path / "reversed", n_logos=0)
    assert merged.ids[:2] == [r.id for r in io.read_fasta(shards[2].path)]


def test_resume_accepts_the_same_input_spelled_differently(tmp_path, peaks, model_file, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "run"
    explain_fasta(peaks, model_file, run, SEEDED, progress=False)
    manifest = json.loads((run / "manifest.json").read_text())
    manifest.update(complete=False, n_done=4)
    del manifest["files"]
    (run / "manifest.json").write_text(json.dumps(manifest))
    resumed = explain_fasta(f"./{peaks.name}", model_file, run, SEEDED, progress=False, resume=True)
    assert resumed.manifest["complete"]


def test_shards_that_share_a_record_id_are_refused(tmp_path, peaks, model_file):
    shards = split_fasta(peaks, tmp_path / "shards", 4)
    plain = ExplainSettings(methods=("saliency",), batch_size=4)
    bundles = explain_shards([shards[0], shards[0]], model_file, tmp_path, plain, first_indices=[0, 4])
    with pytest.raises(SeqsalError, match="record id 'NA' appears in .*ex0 and again in .*ex1"):
        merge_bundles(bundles, tmp_path / "merged")
    assert not (tmp_path / "merged").exists()
