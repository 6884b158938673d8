"""The explain bundle: killed mid-run and resumed, it equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from seqsal.explain.bundle import load_bundle
from seqsal.cli import main
from seqsal.errors import SeqsalError
from seqsal.models import save_model
from tests.conftest import TINY, random_sequences

ARGS = ["--method", "grad_x_input,smoothgrad", "--n-samples", "8", "--batch-size", "16", "--logos", "1",
        "--quiet", "--threads", "1"]


def _manifest(folder):
    try:
        return json.loads((folder / "manifest.json").read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def test_killed_run_resumes_to_identical_results(tmp_path, tiny_model):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(3000, TINY.input_length))))
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
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(20, TINY.input_length))))
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
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(30, TINY.input_length))))
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "saliency",
                 "--logos", "0", "--quiet"]) == 0
    assert (out / "ohe.npy").is_file() and not (out / "ohe.npz").exists()
    bundle = load_bundle(out)
    assert isinstance(bundle.onehot, np.memmap) and bundle.attributions["saliency"].shape == (30, 4, 40)
    assert _manifest(out)["files"]["onehot"] == "ohe.npy"


def test_bad_method_option_fails_before_anything_is_written(tmp_path, tiny_model):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(5, TINY.input_length))))
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--method", "grad_cam", "--layer", "99",
                 "--out", str(out), "--quiet"]) == 2
    assert not out.exists()


def test_rerun_in_the_same_folder_leaves_no_stale_outputs(tmp_path, tiny_model):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(6, TINY.input_length))))
    out = tmp_path / "run"
    common = ["--model", str(model), "--out", str(out), "--logos", "1", "--quiet"]
    assert main(["explain", str(fasta), "--method", "saliency,gradient", *common]) == 0
    assert main(["explain", str(fasta), "--method", "gradient", *common]) == 0
    assert sorted(p.name for p in out.glob("attr.*")) == ["attr.gradient.npz"]
    logos = [p.name for p in (out / "logos").iterdir()]
    assert len(logos) == 1 and ".gradient." in logos[0]
    assert list(load_bundle(out).attributions) == ["gradient"]


def test_records_with_the_same_id_get_one_logo_each(tmp_path, tiny_model):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    ids = ["dup", "dup", "a/b", "a_b"]
    fasta.write_text("".join(f">{i}\n{s}\n" for i, s in zip(ids, random_sequences(4, TINY.input_length))))
    out = tmp_path / "run"
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(out), "--method", "saliency",
                 "--logos", "4", "--quiet"]) == 0
    names = sorted(p.name for p in (out / "logos").iterdir())
    assert len(names) == 4
    assert {name.split(".")[0] for name in names} == {"dup", "dup_2", "a_b", "a_b_2"}


def test_a_run_stopped_while_packing_npz_resumes(tmp_path, tiny_model):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(6, TINY.input_length))))
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
