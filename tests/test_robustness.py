"""Ordinary real inputs either work or stop with one clear line (issue 16: reader, API, progress, training logs)."""

from __future__ import annotations

import gzip
import io as stdio
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch
from torch import nn

import seqsal
from seqsal import io
from seqsal.cli import main
from seqsal.errors import SeqsalError, SeqsalWarning
from seqsal.progress import Progress

from tests.conftest import random_sequences


def _cli(*argv: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "seqsal.cli", *argv], input=stdin, capture_output=True)


def test_blank_lines_before_the_first_record_and_a_byte_order_mark_are_read(tmp_path):
    path = tmp_path / "in.fa"
    path.write_bytes("\ufeff\n\n>a desc\nACGT\n\n>b\nGG\nTT\n".encode())
    assert io.read_fasta(path) == [io.Record("a", "ACGT", "desc"), io.Record("b", "GGTT")]


@pytest.mark.parametrize("text, message", [
    (">a\nACGT\n>b\n>c\nAC\n", "'b' (record 2) has no bases"),
    (">a\n", "'a' (record 1) has no bases"),
    (">\nACGT\n", "record 1 has an empty header"),
])
def test_empty_records_and_headers_are_refused_by_the_cli_in_one_line(tmp_path, text, message, capsys):
    path = tmp_path / "in.fa"
    path.write_text(text)
    assert main(["predict", str(path), "--fit"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_dash_means_standard_input_for_a_command_with_an_output_folder(tmp_path):
    fasta = "".join(f">s{i}\n{s}\n" for i, s in enumerate(random_sequences(5, 30, seed=1)))
    result = _cli("split", "-", "--shard-size", "2", "--out", str(tmp_path / "shards"), stdin=gzip.compress(fasta.encode()))
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in (tmp_path / "shards").glob("shard_*.fa")) == [
        "shard_00000.fa", "shard_00001.fa", "shard_00002.fa"]


def test_help_and_version_do_not_import_torch():
    for flag in ("--help", "--version"):
        result = subprocess.run([sys.executable, "-X", "importtime", "-m", "seqsal.cli", flag],
                                capture_output=True, text=True)
        assert result.returncode == 0
        imported = {line.rsplit("|", 1)[-1].strip() for line in result.stderr.splitlines()}
        assert "torch" not in imported and "matplotlib" not in imported


def test_drawing_a_finished_bundle_imports_neither_torch_nor_scipy():
    """``seqsal logo`` draws from arrays on disk; loading torch would add seconds to every call."""
    code = ("import sys; import seqsal.explain.render, seqsal.explain.bundle, seqsal.explain.seqlet_files; "
            "print(sorted(m for m in ('torch', 'scipy.stats') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_api_is_listed_by_dir_and_help():
    listed = dir(seqsal)
    for name in ("attribute", "read_fasta", "load_model", "explain_fasta", "plot_logo", "SeqsalError"):
        assert name in listed and name in seqsal.__doc__


def test_attribute_accepts_dna_strings_and_refuses_nan(tiny_model):
    sequence = random_sequences(1, tiny_model.config.input_length, seed=3)[0]
    from_string = seqsal.attribute(tiny_model, sequence, "grad_x_input")
    np.testing.assert_array_equal(from_string, seqsal.attribute(tiny_model, seqsal.one_hot([sequence]), "grad_x_input"))
    X = seqsal.one_hot([sequence])
    X[0, 0, 3] = np.nan
    with pytest.raises(SeqsalError, match="NaN"):
        seqsal.attribute(tiny_model, X, "saliency")
    with pytest.raises(SeqsalError, match="one-hot sequences"):
        seqsal.attribute(tiny_model, [[object()]], "saliency")


def test_progress_writes_timed_lines_with_rate_and_eta_when_not_a_terminal():
    stream = stdio.StringIO()
    with Progress(10, "explain", "seq", interval=0, stream=stream) as progress:
        progress.update(4)
        progress.note("a note")
        progress.update(6)
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("explain: 4/10 seq (40%)") and "seq/s" in lines[0] and "ETA" in lines[0]
    assert lines[1] == "explain: a note"
    assert lines[-1].startswith("explain: 10/10 seq (100%) in ")
    silent = stdio.StringIO()
    with Progress(3, "x", enabled=False, interval=0, stream=silent) as progress:
        progress.update(3)
    assert silent.getvalue() == ""


def test_training_logs_every_epoch_and_keeps_the_history_in_the_model_file(tmp_path):
    from seqsal.models import load_model

    sequences = random_sequences(40, 30, seed=5)
    fasta = tmp_path / "train.fa"
    io.write_fasta(fasta, [io.Record(f"s{i}", s) for i, s in enumerate(sequences)])
    (tmp_path / "labels.tsv").write_text("id\tlabel\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(40)))
    result = _cli("train", "--fasta", str(fasta), "--labels", str(tmp_path / "labels.tsv"), "--channels", "4",
                  "--kernels", "3", "--dense", "8", "--epochs", "2", "--patience", "5", "--valid-fraction", "0.5",
                  "--out", str(tmp_path / "m.pt"))
    assert result.returncode == 0, result.stderr
    epochs = [line for line in result.stderr.decode().splitlines() if line.startswith("train: epoch")]
    assert len(epochs) == 2 and "valid_loss" in epochs[0] and epochs[0].endswith(" s)")
    metadata = load_model(tmp_path / "m.pt").metadata
    assert [row["epoch"] for row in metadata["history"]] == [1, 2]
    assert metadata["command"][:2] == ["seqsal", "train"]


def test_lime_warns_when_every_attribution_is_zero_and_says_what_to_change():
    pytest.importorskip("captum")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv1d(4, 2, 3, padding=1), nn.Flatten(), nn.Linear(2 * 20, 1))
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.mul_(1e-4)
    X = seqsal.one_hot(random_sequences(2, 20, seed=1))
    with pytest.warns(SeqsalWarning, match=r"lime: every attribution of 2 of 2 sequences is zero; lower alpha"):
        seqsal.attribute(model, X, "lime", n_samples=50, window=5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqsalWarning)
        assert np.abs(seqsal.attribute(model, X, "lime", n_samples=50, window=5, alpha=0.0)).max() > 0


class _ExpHead(nn.Module):
    """A model DeepLIFT's rules do not cover exactly: an exponential inside."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(4, 3, 3, padding=1)
        self.linear = nn.Linear(3 * 20, 1)

    def forward(self, x):
        return self.linear(torch.exp(self.conv(x)).flatten(1))


def test_deeplift_shap_reports_its_convergence_deltas():
    pytest.importorskip("captum")
    torch.manual_seed(0)
    relu = nn.Sequential(nn.Conv1d(4, 3, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(3 * 20, 1))
    X = seqsal.one_hot(random_sequences(3, 20, seed=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqsalWarning)
        seqsal.attribute(relu, X, "deeplift_shap", n_references=3)
    with pytest.warns(SeqsalWarning, match="convergence delta"):
        seqsal.attribute(_ExpHead(), X, "deeplift_shap", n_references=3)
