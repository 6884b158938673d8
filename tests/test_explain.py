"""The explain bundle: killed mid-run and resumed, it equals an uninterrupted run."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import FrozenInstanceError
from io import BytesIO, TextIOWrapper

import numpy as np
import pytest

from seqsal.cli import main
from seqsal.errors import SeqsalError
from seqsal.explain.bundle import load_bundle
from seqsal.explain.pipeline import explain_fasta
from seqsal.explain.render import bundle_logo_items
from seqsal.explain.settings import ExplainSettings
from seqsal.io import read_fasta
from seqsal.models import save_model
from seqsal.runs import read_manifest
from tests.conftest import TINY, random_sequences

ARGS = ["--method", "grad_x_input,smoothgrad", "--n-samples", "8", "--batch-size", "16", "--logos", "1",
        "--quiet", "--threads", "1"]


def _manifest(folder):
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _inputs(tmp_path, tiny_model, n):
    """The tiny model saved to a file and a FASTA of ``n`` random records r0, r1, ... of its length."""
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(n, TINY.input_length))))
    return model, fasta


def test_killed_run_resumes_to_identical_results(tmp_path, tiny_model):
    model, fasta = _inputs(tmp_path, tiny_model, 3000)
    interrupted = tmp_path / "interrupted"
    command = [sys.executable, "-m", "seqsal.cli", "explain", str(fasta), "--model", str(model),
               "--out", str(interrupted), *ARGS]
    process = subprocess.Popen(command, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while _manifest(interrupted).get("n_done", 0) < 64 and time.time() < deadline and process.poll() is None:
        time.sleep(0.01)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    state = _manifest(interrupted)
    assert state["complete"] is False and 0 < state["n_done"] < 3000, state
    with pytest.raises(SeqsalError, match="--resume"):
        load_bundle(interrupted)
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(interrupted), *ARGS]) == 2

    assert main(["explain", str(fasta), "--model", str(model), "--out", str(interrupted), "--resume", *ARGS]) == 0
    fresh = tmp_path / "fresh"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(fresh), *ARGS]) == 0

    resumed, uninterrupted = load_bundle(interrupted), load_bundle(fresh)
    np.testing.assert_array_equal(resumed.onehot, uninterrupted.onehot)
    for method in ("grad_x_input", "smoothgrad"):
        np.testing.assert_array_equal(resumed.attributions[method], uninterrupted.attributions[method])
    assert resumed.scores.equals(uninterrupted.scores)
    assert resumed.manifest["started"] == state["started"]


def test_resume_refuses_changed_settings(tmp_path, tiny_model):
    model, fasta = _inputs(tmp_path, tiny_model, 20)
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), *ARGS]) == 0
    state = _manifest(out)
    state.update(complete=False, n_done=16)
    (out / "manifest.json").write_text(json.dumps(state))
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--resume",
                 "--method", "saliency", "--quiet"]) == 2
    # logos are drawn at the end, so their settings may change on resume
    more_logos = ["--method", "grad_x_input,smoothgrad", "--n-samples", "8", "--batch-size", "16", "--logos", "2",
                  "--logo-format", "svg", "--quiet"]
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--resume", *more_logos]) == 0
    assert len(list((out / "logos").glob("*.svg"))) == 2 * 2


def test_large_bundles_stay_npy_and_load_memory_mapped(tmp_path, tiny_model, monkeypatch):
    monkeypatch.setattr("seqsal.explain.pipeline.NPZ_MAX_SEQUENCES", 10)
    model, fasta = _inputs(tmp_path, tiny_model, 30)
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "saliency",
                 "--logos", "0", "--quiet"]) == 0
    assert (out / "ohe.npy").is_file() and not (out / "ohe.npz").exists()
    bundle = load_bundle(out)
    assert isinstance(bundle.onehot, np.memmap) and bundle.attributions["saliency"].shape == (30, 4, 40)
    assert _manifest(out)["files"]["onehot"] == "ohe.npy"


def test_bad_method_option_fails_before_anything_is_written(tmp_path, tiny_model):
    model, fasta = _inputs(tmp_path, tiny_model, 5)
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--method", "grad_cam", "--layer", "99",
                 "--out", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_rerun_with_fewer_methods_is_refused_and_force_replaces_the_run(tmp_path, tiny_model, capsys):
    model, fasta = _inputs(tmp_path, tiny_model, 6)
    out = tmp_path / "run"
    common = ["--model", str(model), "--out", str(out), "--logos", "1", "--quiet"]
    assert main(["explain", str(fasta), "--method", "saliency,gradient", *common]) == 0
    capsys.readouterr()
    assert main(["explain", str(fasta), "--method", "gradient", *common]) == 2
    assert "attr.saliency.npz" in capsys.readouterr().err
    assert sorted(p.name for p in out.glob("attr.*")) == ["attr.gradient.npz", "attr.saliency.npz"]
    assert main(["explain", str(fasta), "--method", "saliency,gradient,grad_x_input", *common]) == 0  # a superset
    assert main(["explain", str(fasta), "--method", "gradient", "--force", *common]) == 0
    assert sorted(p.name for p in out.glob("attr.*")) == ["attr.gradient.npz"]
    logos = [p.name for p in (out / "logos").iterdir()]
    assert len(logos) == 1 and ".gradient." in logos[0]
    assert list(load_bundle(out).attributions) == ["gradient"]


def test_explain_refuses_a_simulate_folder(tmp_path, tiny_model, capsys):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    simulated = tmp_path / "synth"
    assert main(["simulate", "--out", str(simulated), "--n", "20", "--length", "60"]) == 0
    before = {p.name: p.read_bytes() for p in simulated.iterdir()}
    capsys.readouterr()
    assert main(["explain", str(simulated / "test.fa"), "--model", str(model), "--out", str(simulated),
                 "--fit", "--quiet"]) == 2
    assert "holds a seqsal simulate run" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in simulated.iterdir()} == before


def test_simulate_refuses_an_explain_folder(tmp_path, tiny_model):
    model, fasta = _inputs(tmp_path, tiny_model, 3)
    explained = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(explained), "--method", "saliency",
                 "--logos", "0", "--quiet"]) == 0
    assert main(["simulate", "--out", str(explained), "--n", "20", "--length", "60"]) == 2
    assert load_bundle(explained).manifest["kind"] == "explain"


def test_repeated_ids_are_refused_with_their_record_numbers_or_renamed(tmp_path, tiny_model, capsys):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    ids = ["dup", "a/b", "dup", "a_b", "dup_2"]
    fasta.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, random_sequences(5, TINY.input_length))))
    out = tmp_path / "run"
    command = ["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "saliency",
               "--logos", "5", "--quiet"]
    assert main(command) == 2
    assert "'dup' (records 1, 3)" in capsys.readouterr().err and not out.exists()

    assert main([*command, "--dedupe-ids"]) == 0
    assert "'dup' -> 'dup_3'" in capsys.readouterr().err  # dup_2 is taken by record 5
    bundle = load_bundle(out)
    assert bundle.ids == ["dup", "a/b", "dup_3", "a_b", "dup_2"]
    assert bundle.manifest["renamed_ids"] == [{"record": 3, "id": "dup", "renamed_to": "dup_3"}]
    stems = {name.split(".")[0] for name in os.listdir(out / "logos")}
    assert len(stems) == 5 and {"dup", "dup_2", "dup_3", "a_b"} < stems  # a/b gets a hashed name of its own
    assert main(["logo", str(out), "--ids", "dup_3"]) == 0
    assert capsys.readouterr().out.strip().endswith("dup_3.saliency.png")


def test_short_long_and_oddly_named_records_complete_with_logos_of_their_own_bases(tmp_path, tiny_model, capsys):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    long_id = "peak:" + "x" * 300
    lengths = {"short": 10, long_id: 25, "exact": TINY.input_length, "cropped": 101}
    sequences = [s[:n] for s, n in zip(random_sequences(4, 101), lengths.values())]
    fasta = tmp_path / "mixed.fa"
    fasta.write_text("".join(f">{i}\n{s}\n" for i, s in zip(lengths, sequences)))
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "grad_x_input",
                 "--fit", "--logos", "4", "--quiet"]) == 0
    bundle = load_bundle(out)
    assert bundle.manifest["complete"] and len(list((out / "logos").iterdir())) == 4
    assert all(len(p.name) < 120 for p in (out / "logos").iterdir())
    capsys.readouterr()
    assert main(["logo", str(out), "--ids", f"short,{long_id}", "--format", "svg"]) == 0
    assert len(capsys.readouterr().out.split()) == 2
    # a run of the previous version that failed at its logos resumes: every array is done, logos are drawn
    manifest = _manifest(out)
    manifest["complete"] = False
    del manifest["files"], manifest["settings"]["dedupe_ids"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "grad_x_input",
                 "--fit", "--logos", "4", "--quiet", "--resume"]) == 0

    items = {item.record_id: item for item in bundle_logo_items(bundle, list(lengths), "grad_x_input")}
    onehot, _, start = items["short"].real_bases()
    assert start == 0 and onehot.shape == (4, 10) and (onehot.sum(axis=0) == 1).all()  # no padding drawn
    onehot, _, start = items["cropped"].real_bases()
    assert start == (101 - TINY.input_length) // 2 and onehot.shape == (4, TINY.input_length)
    assert "".join("ACGT"[i] for i in onehot.argmax(axis=0)) == sequences[3][start:start + TINY.input_length]


def test_standard_input_is_explained_and_split_with_its_hash_recorded(tmp_path, tiny_model, monkeypatch):
    model, fasta = _inputs(tmp_path, tiny_model, 5)

    def pipe_in():
        monkeypatch.setattr(sys, "stdin", TextIOWrapper(BytesIO(gzip.compress(fasta.read_bytes(), mtime=0))))

    pipe_in()
    assert main(["explain", "-", "--model", str(model), "--out", str(tmp_path / "run"), "--method", "saliency",
                 "--logos", "1", "--quiet"]) == 0
    bundle = load_bundle(tmp_path / "run")
    assert bundle.manifest["input"]["path"] == "-" and bundle.ids == [f"r{i}" for i in range(5)]
    pipe_in()
    assert main(["split", "-", "--shard-size", "2", "--out", str(tmp_path / "shards")]) == 0
    shards = sorted((tmp_path / "shards").glob("shard_*.fa"))
    assert [len(read_fasta(p)) for p in shards] == [2, 2, 1]
    assert read_manifest(tmp_path / "shards")["input"] == {"path": "-", "sha256": bundle.manifest["input"]["sha256"]}


def test_settings_are_checked_by_name_and_never_modified(tmp_path, tiny_model):
    _, fasta = _inputs(tmp_path, tiny_model, 3)
    with pytest.raises(SeqsalError, match=r"^batch_size must be an integer ≥ 1, got 0$"):
        explain_fasta(fasta, tiny_model, tmp_path / "bad", ExplainSettings(batch_size=0), progress=False)
    settings = ExplainSettings(methods=["saliency"], n_logos=0)
    bundle = explain_fasta(fasta, tiny_model, tmp_path / "run", settings, progress=False)
    assert settings.methods == ["saliency"] and bundle.manifest["settings"]["methods"] == ["saliency"]
    with pytest.raises(FrozenInstanceError):
        settings.methods = ("gradient",)


def test_a_run_stopped_while_packing_npz_resumes(tmp_path, tiny_model):
    model, fasta = _inputs(tmp_path, tiny_model, 6)
    out = tmp_path / "run"
    command = ["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "saliency,gradient",
               "--logos", "1", "--quiet"]
    assert main(command) == 0
    finished = {name: np.load(out / name)["arr_0"] for name in ("ohe.npz", "attr.saliency.npz", "attr.gradient.npz")}
    # the state of a run killed after packing ohe and saliency but before gradient and the final manifest
    manifest = _manifest(out)
    manifest["complete"] = False
    del manifest["files"]
    (out / "manifest.json").write_text(json.dumps(manifest))
    np.save(out / "attr.gradient.npy", finished["attr.gradient.npz"])
    (out / "attr.gradient.npz").unlink()
    assert main([*command, "--resume"]) == 0
    for name, expected in finished.items():
        np.testing.assert_array_equal(np.load(out / name)["arr_0"], expected)
    assert _manifest(out)["complete"]
    assert sorted(p.name for p in out.glob("*.npy")) == ["prediction.npy"]


# --------------------------------------------------------------------------- seqlets in explain runs
# The tiny model has random weights, so the run-level gate would keep none of its seqlets: it is off here.
SEQLET_ARGS = ["--method", "grad_x_input", "--logos", "2", "--quiet", "--threads", "1", "--seqlets",
               "--seqlet-p", "0.1", "--seqlet-fdr", "1"]


@pytest.mark.slow
def test_explain_seqlets_do_not_depend_on_batch_size_and_seqsal_seqlets_gives_the_same(tmp_path, tiny_model):
    """One null per run (a fixed-seed sample), so batch size changes nothing; the command reproduces the run."""
    import pandas as pd

    from seqsal.explain.seqlet_files import TABLE_COLUMNS

    model, fasta = _inputs(tmp_path, tiny_model, 30)
    runs = {}
    for batch in (4, 16):
        out = tmp_path / f"b{batch}"
        assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--batch-size",
                     str(batch), *SEQLET_ARGS]) == 0
        runs[batch] = pd.read_csv(out / "seqlets.tsv", sep="\t")
    table = runs[4]
    assert len(table) > 0 and list(table.columns) == list(TABLE_COLUMNS)
    pd.testing.assert_frame_equal(table, runs[16])
    assert ((table["start"] <= table["core_start"]) & (table["core_end"] <= table["end"])).all()
    assert table["start"].between(1, TINY.input_length).all() and table["end"].between(1, TINY.input_length).all()
    manifest = read_manifest(tmp_path / "b4")
    assert manifest["files"]["seqlets"] == "seqlets.tsv" and (tmp_path / "b4" / "seqlets.png").is_file()
    assert manifest["seqlets"]["null"]["grad_x_input"]["records_sampled"] == 30
    assert manifest["seqlets"]["settings"]["p_threshold"] == 0.1
    assert "<h2>Seqlets</h2>" in (tmp_path / "b4" / "report.html").read_text()

    out = tmp_path / "command"
    assert main(["seqlets", str(tmp_path / "b4"), "--out", str(out), "--p-threshold", "0.1", "--fdr", "1",
                 "--quiet", "--threads", "1"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "seqlets.tsv", sep="\t"), table)
    summary = pd.read_csv(out / "summary.tsv", sep="\t")
    assert summary["n_seqlets"].sum() == len(table)
    assert read_manifest(out)["kind"] == "seqlets" and (out / "report.html").is_file()

    # With the run-level gate (the default), the random model's windows are no more often significant than the
    # shuffled null's, so nothing is kept, and the report says why.
    gated = tmp_path / "gated"
    assert main(["seqlets", str(tmp_path / "b4"), "--out", str(gated), "--p-threshold", "0.1", "--quiet",
                 "--threads", "1"]) == 0
    assert pd.read_csv(gated / "seqlets.tsv", sep="\t").empty
    gate = read_manifest(gated)["seqlets"]["gate"]["grad_x_input"]
    assert gate["windows"] == 30 * (TINY.input_length - 6) and gate["window_cutoff"] == 0.0
    assert gate["windows_below_p"] > 0 and gate["estimated_fdr_at_p"] > 0.5
    report = (gated / "report.html").read_text()
    assert "none kept" in report and "Most frequent motifs" not in report  # no empty table


def test_seqlet_positions_are_1_based_inclusive_in_the_record_as_given(tiny_model):
    """A cropped record (offset 5) and a padded one (offset -10, 30 bases): cores map to record positions and
    flanks are clipped to the record's bases."""
    import pandas as pd

    from seqsal.explain.seqlets import SeqletRunSettings, call_bundle_seqlets, rows_from_arrays

    length = TINY.input_length
    onehot = np.zeros((2, 4, length), dtype=np.float32)
    onehot[:, 0, :] = 1
    attributions = np.zeros_like(onehot)
    attributions[0, 0, 10:18] = 5.0  # model columns 10..17 of a record cropped at offset 5
    attributions[1, 0, 10:16] = 5.0  # columns 10..15 of a record padded with 10 Ns on the left
    records = pd.DataFrame({"id": ["cropped", "padded"], "offset": [5, -10], "original_length": [60, 30]})
    rows = rows_from_arrays(onehot, {"grad_x_input": attributions}, records)
    result = call_bundle_seqlets(tiny_model, rows, ExplainSettings(methods=("grad_x_input",)), 0,
                                 SeqletRunSettings(annotate=False), progress=False)
    table = result.table.set_index("id")
    assert table.loc["cropped", ["core_start", "core_end", "start", "end"]].tolist() == [16, 23, 13, 26]
    assert table.loc["padded", ["core_start", "core_end", "start", "end"]].tolist() == [1, 6, 1, 9]
    assert (table["motif"] == "unknown").all() and (table["strand"] == ".").all()


def test_logo_marks_seqlets_scan_hits_and_truth_differently_with_one_label_per_palindrome():
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    from seqsal.explain.render import LogoMark
    from seqsal.plot import plot_logo

    marks = [LogoMark(5, 12, "Gata1"), LogoMark(20, 28, "FOS::JUN", "scan", "+"),
             LogoMark(20, 28, "FOS::JUN", "scan", "-"), LogoMark(4, 15, "Gata1", "truth", "+")]
    ax = plot_logo(np.ones((4, 40)), motif_hits=marks)
    labels = sorted(text.get_text() for text in ax.texts)
    assert labels == ["FOS::JUN (±)", "Gata1", "Gata1 (+)"]
    spans = [p for p in ax.patches if isinstance(p, Rectangle)]  # axvspan rectangles; letters are PathPatches
    filled = [p for p in spans if p.get_fill() and p.get_linewidth() == 0]
    dashed = [p for p in spans if not p.get_fill()]
    assert len(dashed) == 1 and dashed[0].get_linestyle() == (0, (3, 2))
    assert len(filled) == 2  # the seqlet band and the truth bar
    bar_heights = sorted(p.get_bbox().height for p in filled)
    assert bar_heights[0] < 0.1 * bar_heights[1]  # the truth bar is a thin strip, the seqlet band full height
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["seqlet", "motif scan", "planted"]
    plt.close(ax.figure)


@pytest.mark.slow
def test_explain_with_truth_and_seqlets_draws_marked_logos_and_bad_truth_fails_first(tmp_path, tiny_model, capsys):
    model, fasta = _inputs(tmp_path, tiny_model, 6)
    truth = tmp_path / "planted.tsv"
    truth.write_text("id\tname\tstart\tend\tstrand\nr0\tGata1\t3\t9\t+\n")
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--truth", str(truth),
                 "--motifs", "GATA1", *SEQLET_ARGS]) == 0
    assert len(list((out / "logos").glob("*.png"))) == 2
    assert main(["logo", str(out), "--ids", "r0", "--no-seqlets", "--truth", str(truth)]) == 0
    bad = tmp_path / "bad.tsv"
    bad.write_text("id\tmotif\nr0\tGata1\n")
    capsys.readouterr()
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(tmp_path / "new"), "--truth",
                 str(bad), *SEQLET_ARGS]) == 2
    assert "lacks columns ['name', 'start', 'end']" in capsys.readouterr().err
    assert not (tmp_path / "new").exists()
    import torch

    from seqsal.models import EnhancerCNN

    torch.manual_seed(1)
    other = save_model(EnhancerCNN(TINY), tmp_path / "other.pt")
    assert main(["seqlets", str(out), "--out", str(tmp_path / "other"), "--model", str(other), "--quiet"]) == 2
    assert "is not the model that made" in capsys.readouterr().err and not (tmp_path / "other").exists()


def test_a_bundle_run_tallies_one_gate_over_all_its_chunks(tiny_model, monkeypatch):
    """300 records in chunks of 7 or in one: the same cutoff (it binds here) and the same seqlets."""
    import pandas as pd

    import seqsal.explain.seqlets as bundle_seqlets
    from seqsal.explain.seqlets import SeqletRunSettings, call_bundle_seqlets, rows_from_arrays
    from seqsal.seqlets import empirical_null

    n, length = 300, TINY.input_length
    rng = np.random.default_rng(8)
    onehot = np.zeros((n, 4, length), dtype=np.float32)
    onehot[:, 0, :] = 1  # all A: the projected score is row A of the attributions
    attributions = np.zeros_like(onehot)
    attributions[:, 0, :] = rng.normal(0, 0.05, size=(n, length))
    attributions[:15:3, 0, 10:18] += 0.2
    null = empirical_null(rng.normal(0, 0.05, size=(200, length)), 7)
    monkeypatch.setattr(bundle_seqlets, "null_for", lambda *args, **kwargs: (null, {"records_sampled": 0}))
    records = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "offset": 0, "original_length": length})
    rows = rows_from_arrays(onehot, {"grad_x_input": attributions}, records)
    results = {}
    for chunk in (7, 1024):
        monkeypatch.setattr(bundle_seqlets, "CHUNK", chunk)
        results[chunk] = call_bundle_seqlets(tiny_model, rows, ExplainSettings(methods=("grad_x_input",)), 0,
                                             SeqletRunSettings(p_threshold=0.01, annotate=False), progress=False)
    pd.testing.assert_frame_equal(results[7].table, results[1024].table)
    gate = results[7].info["gate"]["grad_x_input"]
    assert gate == results[1024].info["gate"]["grad_x_input"]
    assert gate["estimated_fdr_at_p"] > 0.5 and 0 < gate["window_cutoff"] < 0.01
    assert {"r0", "r3", "r6", "r9", "r12"} <= set(results[7].table["id"])


def test_seqlets_leave_out_magnitude_methods_unless_asked(tiny_model, monkeypatch):
    """saliency scores |gradient|: no sign, no preferred base. A bundle's seqlets skip it when it has a signed
    method, say so in the result, and still call it when named or when it is all the bundle has."""
    import pandas as pd

    import seqsal.explain.seqlets as bundle_seqlets
    from seqsal.explain.seqlets import SeqletRunSettings, call_bundle_seqlets, rows_from_arrays
    from seqsal.seqlets import empirical_null

    n, length = 20, TINY.input_length
    rng = np.random.default_rng(3)
    onehot = np.zeros((n, 4, length), dtype=np.float32)
    onehot[:, 0, :] = 1
    signed = np.zeros_like(onehot)
    signed[:, 0, :] = rng.normal(0, 0.05, size=(n, length))
    signed[:, 0, 10:18] += 0.3
    null = empirical_null(rng.normal(0, 0.05, size=(200, length)), 7)
    monkeypatch.setattr(bundle_seqlets, "null_for", lambda *args, **kwargs: (null, {"records_sampled": 0}))
    records = pd.DataFrame({"id": [f"r{i}" for i in range(n)], "offset": 0, "original_length": length})
    settings = ExplainSettings(methods=("saliency", "grad_x_input"))

    def called(attributions, methods=None):
        rows = rows_from_arrays(onehot, attributions, records)
        result = call_bundle_seqlets(tiny_model, rows, settings, 0, SeqletRunSettings(annotate=False),
                                     methods=methods, progress=False)
        return set(result.table["method"]), result.info["left_out"]

    both = {"saliency": np.abs(signed), "grad_x_input": signed}
    assert called(both) == ({"grad_x_input"}, ["saliency"])
    assert called(both, ["saliency"]) == ({"saliency"}, ["grad_x_input"])
    assert called({"saliency": np.abs(signed)}) == ({"saliency"}, [])
