"""The command line: one end-to-end run, and every bad input a user can cause."""

from __future__ import annotations

import json
import re
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
import torch

from seqsal.cli import main
from seqsal.models import save_model
from tests.conftest import TINY, random_sequences


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def write_fasta(path, sequences, prefix="s"):
    path.write_text("".join(f">{prefix}{i}\n{s}\n" for i, s in enumerate(sequences)))
    return path


@pytest.fixture
def model_file(tmp_path, tiny_model):
    return save_model(tiny_model, tmp_path / "tiny.pt", {"note": "test"})


@pytest.fixture
def good_fasta(tmp_path):
    return write_fasta(tmp_path / "in.fa", random_sequences(5, TINY.input_length))


def test_version_through_console_script():
    result = subprocess.run([sys.executable, "-m", "seqsal.cli", "--version"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("seqsal ")


def test_end_to_end_simulate_train_predict_explain_logo(tmp_path, capsys):
    synth = tmp_path / "synth"
    assert run(capsys, "simulate", "--out", synth, "--n", 300, "--length", 60, "--seed", 3)[0] == 0
    model = tmp_path / "model.pt"
    status, _, err = run(capsys, "train", "--fasta", synth / "train.fa", "--labels", synth / "labels.tsv",
                         "--valid-fasta", synth / "valid.fa", "--test-fasta", synth / "test.fa",
                         "--channels", "8,8", "--kernels", "7,3", "--dense", "16", "--epochs", 2,
                         "--activation", "exp", "--out", model, "--quiet")
    assert status == 0, err
    metadata = torch.load(model, weights_only=True)["metadata"]

    status, out, _ = run(capsys, "predict", synth / "test.fa", "--model", model)
    table = pd.read_csv(__import__("io").StringIO(out), sep="\t")
    assert status == 0 and list(table.columns[:3]) == ["id", "label.logit", "label.probability"]
    assert len(table) == sum(1 for line in open(synth / "test.fa") if line.startswith(">"))
    labels = pd.read_csv(synth / "labels.tsv", sep="\t").set_index("id").loc[table["id"], "label"]
    # the AUROC stored in the model file is the one its own predictions on the test set give
    assert metadata["test_metrics"]["auroc"] == pytest.approx(roc_auc_score(labels, table["label.logit"]), abs=1e-4)

    run_dir = tmp_path / "run"
    status, _, err = run(capsys, "explain", synth / "test.fa", "--model", model, "--method",
                         "saliency,grad_x_input", "--out", run_dir, "--logos", 2, "--correct",
                         "--motifs", "GATA1,SP1", "--quiet")
    assert status == 0, err
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["complete"] and manifest["settings"]["correct"]
    with np.load(run_dir / "ohe.npz") as ohe, np.load(run_dir / "attr.grad_x_input.npz") as attr:
        assert ohe["arr_0"].shape == attr["arr_0"].shape == (table.shape[0], 4, 60)
    assert len(list((run_dir / "logos").glob("*.png"))) == 4
    html = (run_dir / "report.html").read_text()
    assert "data:image/png;base64," in html and "grad_x_input" in html

    evaluation = tmp_path / "evaluation"
    status, _, err = run(capsys, "evaluate", run_dir, "--masks", synth / "masks.npz", "--max-sequences", 8,
                         "--steps", 4, "--out", evaluation)
    assert status == 0, err
    metrics = pd.read_csv(evaluation / "metrics.tsv", sep="\t")
    plausible = metrics[metrics["metric"] == "plausibility_auroc"]
    assert set(plausible["method"]) == {"saliency", "grad_x_input"}
    assert plausible["value"].between(0, 1).all()
    assert {"deletion_auc.logit", "randomized_spearman_last", "max_sensitivity_median"} <= set(metrics["metric"])
    assert "data:image/png;base64," in (evaluation / "report.html").read_text()

    ids = pd.read_csv(run_dir / "scores.tsv", sep="\t")["id"].tolist()[:2]
    status, out, _ = run(capsys, "logo", run_dir, "--ids", ",".join(ids), "--format", "pdf")
    assert status == 0
    pdf = (run_dir / "logos" / "saliency.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 2


def _assert_clean_failure(status, err, pattern):
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    assert pattern in lines[0], lines[0]


def test_empty_fasta(tmp_path, capsys, model_file):
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    status, _, err = run(capsys, "explain", empty, "--model", model_file, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "empty")
    assert not (tmp_path / "o").exists()


def test_missing_fasta(tmp_path, capsys, model_file):
    status, _, err = run(capsys, "explain", tmp_path / "nope.fa", "--model", model_file, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "no such file")


def test_not_a_fasta(tmp_path, capsys, model_file):
    text = tmp_path / "notes.txt"
    text.write_text("gene\tvalue\nGATA1\t3\n")
    status, _, err = run(capsys, "explain", text, "--model", model_file, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "not a FASTA")


def test_bad_base_names_record_and_position(tmp_path, capsys, model_file):
    sequences = random_sequences(3, TINY.input_length)
    sequences[2] = sequences[2][:9] + "Z" + sequences[2][10:]
    fasta = write_fasta(tmp_path / "bad.fa", sequences)
    status, _, err = run(capsys, "explain", fasta, "--model", model_file, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "'s2' has 'Z' at position 10")
    assert not (tmp_path / "o").exists()


def test_wrong_length_needs_fit(tmp_path, capsys, model_file):
    fasta = write_fasta(tmp_path / "long.fa", random_sequences(2, TINY.input_length + 7))
    status, _, err = run(capsys, "explain", fasta, "--model", model_file, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "--fit")
    status, _, err = run(capsys, "explain", fasta, "--model", model_file, "--out", tmp_path / "o", "--fit",
                         "--logos", 0, "--quiet")
    assert status == 0, err
    scores = pd.read_csv(tmp_path / "o" / "scores.tsv", sep="\t")
    assert set(scores["length_fit"]) == {"cropped"} and set(scores["offset"]) == {3}


def test_unknown_method_lists_valid_ones(tmp_path, capsys, model_file, good_fasta):
    status, _, err = run(capsys, "explain", good_fasta, "--model", model_file, "--method", "deeplift",
                         "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "saliency")


def test_unknown_motif_lists_suggestions(tmp_path, capsys, model_file, good_fasta):
    status, _, err = run(capsys, "explain", good_fasta, "--model", model_file, "--motifs", "GATA99",
                         "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "GATA99")


def test_model_file_that_is_not_a_seqsal_model(tmp_path, capsys, good_fasta):
    plain = tmp_path / "plain.pt"
    torch.save({"weights": torch.zeros(3)}, plain)
    status, _, err = run(capsys, "explain", good_fasta, "--model", plain, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "plain.pt")


class _Payload:
    def __reduce__(self):
        return (print, ("code ran",))


def test_pickle_carrying_code_is_refused(tmp_path, capsys, good_fasta):
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(_Payload()))
    status, out, err = run(capsys, "explain", good_fasta, "--model", evil, "--out", tmp_path / "o")
    _assert_clean_failure(status, err, "evil.pt")
    assert "code ran" not in out


def test_labels_that_do_not_match(tmp_path, capsys, good_fasta):
    labels = tmp_path / "labels.tsv"
    labels.write_text("id\tlabel\nother1\t1\nother2\t0\n")
    status, _, err = run(capsys, "train", "--fasta", good_fasta, "--labels", labels, "--out", tmp_path / "m.pt")
    _assert_clean_failure(status, err, "no label")
    assert not (tmp_path / "m.pt").exists()


def test_out_into_foreign_folder(tmp_path, capsys, model_file, good_fasta):
    foreign = tmp_path / "paper"
    foreign.mkdir()
    (foreign / "draft.docx").write_text("do not touch")
    status, _, err = run(capsys, "explain", good_fasta, "--model", model_file, "--out", foreign)
    _assert_clean_failure(status, err, "not made by seqsal")
    assert [p.name for p in foreign.iterdir()] == ["draft.docx"]


def test_train_positives_against_shuffled_negatives(tmp_path, capsys):
    pos = write_fasta(tmp_path / "peaks.fa", random_sequences(40, 30, seed=4), prefix="peak")
    model = tmp_path / "m.pt"
    status, _, err = run(capsys, "train", "--pos", pos, "--neg", "shuffle", "--channels", "4", "--kernels", "5",
                         "--dense", "8", "--epochs", 1, "--quiet", "--out", model)
    assert status == 0, err
    saved = torch.load(model, weights_only=True)
    assert saved["metadata"]["n_train"] + saved["metadata"]["n_valid"] == 80
    assert saved["config"]["output_names"] == ["label"]


def test_predict_reads_a_gzipped_fasta_from_standard_input(tmp_path, tiny_model):
    import gzip

    from seqsal.models import save_model

    model = save_model(tiny_model, tmp_path / "tiny.pt")
    sequences = random_sequences(5, TINY.input_length, seed=4)
    fasta = tmp_path / "in.fa"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
    command = [sys.executable, "-m", "seqsal.cli", "predict", "--model", str(model)]
    from_file = subprocess.run([*command, str(fasta)], capture_output=True, text=True)
    piped = subprocess.run([*command, "-"], input=gzip.compress(fasta.read_bytes()), capture_output=True)
    assert from_file.returncode == 0 and piped.returncode == 0, piped.stderr
    assert piped.stdout.decode() == from_file.stdout and len(from_file.stdout.splitlines()) == 6
    empty = subprocess.run([*command, "-"], input=b"", capture_output=True)
    assert empty.returncode == 2 and b"standard input is empty" in empty.stderr


@pytest.mark.slow
def test_every_model_command_takes_the_bundled_model_and_short_records_under_fit(tmp_path, capsys):
    """Each command that reads a model runs with ``--model default``; a 100-bp record and an N-rich one under --fit."""
    from tests.conftest import random_sequences

    short, full = random_sequences(3, 100, seed=7), random_sequences(6, 249, seed=8)
    fasta = tmp_path / "mixed.fa"
    fasta.write_text("".join(f">short{i}\n{s}\n" for i, s in enumerate(short))
                     + "".join(f">full{i}\n{s[:100]}NNRYW{s[105:]}\n" for i, s in enumerate(full)))
    default = ["--model", "default"]
    assert main(["predict", str(fasta), *default, "--fit"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 10
    run = tmp_path / "run"
    assert main(["explain", str(fasta), *default, "--fit", "--method", "grad_x_input,ism", "--start", "120",
                 "--end", "125", "--logos", "9", "--quiet", "--out", str(run)]) == 0
    err = capsys.readouterr().err
    assert "note: bases other than ACGT were encoded as all-zero columns (no base): N 12, R 6, Y 6, W 6" in err
    assert main(["logo", str(run), "--ids", "short0,full1", "--method", "grad_x_input"]) == 0
    assert main(["evaluate", str(run), *default, "--checks", "deletion", "--quiet",
                 "--out", str(tmp_path / "eval")]) == 0
    assert main(["filters", "--fasta", str(fasta), *default, "--fit", "--min-sites", "50", "--logos", "1",
                 "--quiet", "--out", str(tmp_path / "filters")]) == 0
    assert main(["dream", *default, "--n-seeds", "2", "--steps", "3", "--logos", "0", "--reference", str(fasta),
                 "--fit", "--quiet", "--out", str(tmp_path / "dream")]) == 0
    for pitfall in ("saturation", "off-simplex"):
        assert main(["pitfalls", pitfall, "--fasta", str(fasta), *default, "--fit", "--quiet",
                     "--out", str(tmp_path / pitfall)]) == 0
    positives, negatives = tmp_path / "pos.fa", tmp_path / "neg.fa"
    positives.write_text("".join(f">p{i}\n{s}\n" for i, s in enumerate(random_sequences(12, 249, seed=9))))
    negatives.write_text("".join(f">n{i}\n{s}\n" for i, s in enumerate(random_sequences(12, 249, seed=10))))
    assert main(["audit", "--pos", str(positives), "--neg", str(negatives), *default, "--quiet",
                 "--out", str(tmp_path / "audit")]) == 0
    assert (tmp_path / "audit" / "report.html").is_file()
