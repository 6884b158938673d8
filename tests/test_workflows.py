"""The Snakemake workflows, run for real on a tiny model: sharded explain equals one whole-file run."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from seqsal import io
from seqsal.cli import main
from seqsal.models import EnhancerCNN, save_model
from seqsal.runs import read_manifest
from tests.conftest import TINY, random_sequences

pytest.importorskip("snakemake")

WORKFLOWS = Path(__file__).resolve().parents[1] / "workflows"
N_RECORDS, SHARD_SIZE, BATCH_SIZE = 22, 8, 4  # three shards: 8 + 8 + 6 records
METHODS = ["saliency", "smoothgrad"]  # smoothgrad is seeded by the global sequence index


def run_snakemake(workflow: str, config: Path, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run a workflow with the test interpreter's ``seqsal`` first on PATH."""
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    command = [sys.executable, "-m", "snakemake", "-s", str(WORKFLOWS / workflow / "Snakefile"),
               "--configfile", str(config), "--cores", "2", *extra]
    return subprocess.run(command, cwd=workdir, env=env, capture_output=True, text=True)


def snakemake(workflow: str, config: Path, workdir: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run a workflow that must succeed."""
    result = run_snakemake(workflow, config, workdir, *extra)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return result


def write_config(folder: Path, workflow: str, overrides: dict) -> Path:
    """The workflow's example config with ``overrides``, written to ``folder/config.yaml``."""
    config = yaml.safe_load((WORKFLOWS / workflow / "config.yaml").read_text())
    config.update(overrides)
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def ran_jobs(result: subprocess.CompletedProcess) -> dict[str, int]:
    """How many jobs of each rule snakemake started (or planned, in a dry run)."""
    counts: dict[str, int] = {}
    log = result.stdout + result.stderr
    for match in re.finditer(r"^(?:local)?(?:rule|checkpoint) (\w+):$", log, flags=re.MULTILINE):
        counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


@pytest.fixture
def explain_setup(tmp_path: Path) -> tuple[Path, Path]:
    model = EnhancerCNN(TINY).eval()
    save_model(model, tmp_path / "tiny.pt")
    records = [io.Record(f"seq{i:02d}", s) for i, s in enumerate(random_sequences(N_RECORDS, TINY.input_length, 3))]
    io.write_fasta(tmp_path / "peaks.fa", records)
    config = write_config(tmp_path, "explain", {
        "inputs": {"peaks": "peaks.fa"}, "outdir": "results", "model": "tiny.pt", "methods": METHODS,
        "method_options": "--n-samples 3", "shard_size": SHARD_SIZE, "batch_size": BATCH_SIZE,
        "explain_threads": 1, "logos": 2, "modisco": False,
    })
    return tmp_path, config


@pytest.mark.slow
def test_sharded_explain_equals_one_run_and_reruns_only_a_deleted_shard(explain_setup):
    workdir, config = explain_setup
    first = snakemake("explain", config, workdir)
    assert ran_jobs(first) == {"all": 1, "explain": 3, "merge": 1, "split": 1}

    assert main(["explain", str(workdir / "peaks.fa"), "--model", str(workdir / "tiny.pt"), "--out",
                 str(workdir / "whole"), "--method", ",".join(METHODS), "--n-samples", "3",
                 "--batch-size", str(BATCH_SIZE), "--logos", "2", "--quiet"]) == 0
    merged, whole = workdir / "results/peaks/bundle", workdir / "whole"
    for name in ["ohe.npz", *(f"attr.{m}.npz" for m in METHODS)]:
        with np.load(merged / name) as got, np.load(whole / name) as expected:
            np.testing.assert_array_equal(got["arr_0"], expected["arr_0"])
    np.testing.assert_array_equal(np.load(merged / "prediction.npy"), np.load(whole / "prediction.npy"))
    assert (merged / "scores.tsv").read_text() == (whole / "scores.tsv").read_text()
    assert sorted(p.name for p in (merged / "logos").iterdir()) == sorted(p.name for p in (whole / "logos").iterdir())
    manifest = read_manifest(merged)
    assert manifest["complete"] and manifest["n_sequences"] == N_RECORDS
    assert [s["first_index"] for s in manifest["shards"]] == [0, 8, 16]
    assert all(len(s["files_sha256"]) == 2 + 1 + len(METHODS) for s in manifest["shards"])

    shards = workdir / "results/peaks/explain"
    untouched = {p.name: (p / "manifest.json").stat().st_mtime_ns for p in shards.iterdir()}
    shutil.rmtree(shards / "shard_00001")
    again = snakemake("explain", config, workdir)
    assert ran_jobs(again) == {"all": 1, "explain": 1, "merge": 1}
    for name in ("shard_00000", "shard_00002"):
        assert (shards / name / "manifest.json").stat().st_mtime_ns == untouched[name]
    with np.load(merged / "attr.smoothgrad.npz") as got, np.load(whole / "attr.smoothgrad.npz") as expected:
        np.testing.assert_array_equal(got["arr_0"], expected["arr_0"])


def test_dry_run_schedules_modisco_on_the_merged_bundle(explain_setup):
    workdir, config = explain_setup
    result = snakemake("explain", config, workdir, "-n", "--config", "modisco=true", "modisco_method=saliency")
    jobs = ran_jobs(result)
    assert jobs["modisco_motifs"] == 1 and jobs["modisco_report"] == 1 and jobs["split"] == 1


def test_dry_run_refuses_a_modisco_method_that_is_not_explained(explain_setup):
    workdir, config = explain_setup
    result = run_snakemake("explain", config, workdir, "-n", "--config", "modisco=true", "modisco_method=ism")
    assert result.returncode != 0
    assert "modisco_method 'ism' is not among the methods" in result.stdout + result.stderr


def test_audit_workflow_plans_one_audit_per_dataset(tmp_path: Path):
    for name in ("pos", "neg"):
        io.write_fasta(tmp_path / f"{name}.fa", [io.Record(f"{name}{i}", s)
                                                 for i, s in enumerate(random_sequences(5, 30, seed=len(name)))])
    config = write_config(tmp_path, "audit", {"datasets": {
        "first": {"pos": "pos.fa", "neg": "neg.fa"}, "second": {"pos": "neg.fa", "neg": "pos.fa"}}})
    result = snakemake("audit", config, tmp_path, "-n")
    assert ran_jobs(result) == {"all": 1, "audit": 2}


def test_changing_the_shard_size_or_the_model_reruns_what_depends_on_it(explain_setup):
    workdir, config = explain_setup
    snakemake("explain", config, workdir)
    assert ran_jobs(snakemake("explain", config, workdir, "-n")) == {}
    resplit = ran_jobs(snakemake("explain", config, workdir, "-n", "--config", "shard_size=4"))
    assert resplit["split"] == 1 and resplit["merge"] == 1
    save_model(EnhancerCNN(TINY).eval(), workdir / "other.pt")
    other = ran_jobs(snakemake("explain", config, workdir, "-n", "--config", "model=other.pt"))
    assert other["explain"] == 3 and "split" not in other


def test_inputs_that_would_share_a_name_are_refused(explain_setup):
    workdir, config = explain_setup
    for folder in ("a", "b"):
        (workdir / folder).mkdir()
        (workdir / folder / "peaks.fa").write_text((workdir / "peaks.fa").read_text())
    settings = yaml.safe_load(config.read_text())
    settings["inputs"] = ["a/peaks.fa", "b/peaks.fa"]
    config.write_text(yaml.safe_dump(settings))
    result = run_snakemake("explain", config, workdir, "-n")
    assert result.returncode != 0 and "several files would be named peaks" in result.stdout + result.stderr


USER_MODEL_CODE = '''
from torch import nn


def build():
    return nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.ReLU(), nn.AdaptiveAvgPool1d(1), nn.Flatten(),
                         nn.Linear(6, 1))
'''


@pytest.mark.slow
def test_the_workflow_explains_a_users_own_model_from_code_and_weights(tmp_path: Path):
    import torch

    (tmp_path / "net.py").write_text(USER_MODEL_CODE)
    namespace: dict = {}
    exec(USER_MODEL_CODE, namespace)
    torch.manual_seed(0)
    torch.save(namespace["build"]().state_dict(), tmp_path / "net.weights.pt")
    records = [io.Record(f"seq{i:02d}", s) for i, s in enumerate(random_sequences(10, 30, 4))]
    io.write_fasta(tmp_path / "peaks.fa", records)
    model_args = ["--model-code", "net.py:build", "--weights", "net.weights.pt", "--model-length", "30"]
    config = write_config(tmp_path, "explain", {
        "inputs": {"peaks": "peaks.fa"}, "outdir": "results", "model_code": "net.py:build",
        "weights": "net.weights.pt", "model_options": "--model-length 30", "methods": ["grad_x_input"],
        "shard_size": 4, "batch_size": 4, "explain_threads": 1, "logos": 1, "modisco": False,
        "seqlets": True, "seqlet_fdr": 1,
    })
    snakemake("explain", config, tmp_path)
    # the seqlets rule reloaded the user's model from the merged bundle's manifest (code + weights)
    seqlets = read_manifest(tmp_path / "results/peaks/seqlets")
    assert seqlets["complete"] and seqlets["model"]["kind"] == "code"
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        assert main(["explain", "peaks.fa", *model_args, "--out", "whole", "--method", "grad_x_input",
                     "--batch-size", "4", "--logos", "1", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    with np.load(tmp_path / "results/peaks/bundle/attr.grad_x_input.npz") as got, \
            np.load(tmp_path / "whole/attr.grad_x_input.npz") as expected:
        np.testing.assert_array_equal(got["arr_0"], expected["arr_0"])
    assert read_manifest(tmp_path / "results/peaks/bundle")["model"]["kind"] == "code"


def test_dry_run_schedules_seqlets_on_the_merged_bundle(explain_setup):
    workdir, config = explain_setup
    assert "seqlets" not in ran_jobs(snakemake("explain", config, workdir, "-n"))
    jobs = ran_jobs(snakemake("explain", config, workdir, "-n", "--config", "seqlets=true"))
    assert jobs["seqlets"] == 1 and jobs["merge"] == 1
