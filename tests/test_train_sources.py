"""Training from real-data layouts: sequence tables (MPRA), chromosome hold-outs, the k-mer baseline, bundled names."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch

from seqsal import datasets
from seqsal.cli import main
from seqsal.encoding import reverse_complement
from seqsal.errors import SeqsalError
from seqsal.models import BUNDLED_MODELS, bundled_model_path, model_file_path
from tests.conftest import random_sequences

TINY_NET = ["--channels", "4", "--kernels", "5", "--dense", "8", "--epochs", "1", "--quiet"]


def write_table(path, sequences, values):
    with gzip.open(path, "wt") as stream:
        stream.write("seq\tmean_value\n" + "".join(f"{s}\t{v}\n" for s, v in zip(sequences, values)))
    return path


def test_table_rows_become_named_records_with_targets(tmp_path):
    path = write_table(tmp_path / "mpra.tsv.gz", ["ACGTA", "TTTTN"], [0.5, -1.25])
    data = datasets.from_table(path, "seq", ("mean_value",))
    assert data.ids == ["mpra:1", "mpra:2"]
    np.testing.assert_array_equal(data.y[:, 0], [0.5, -1.25])
    assert data.X[1, :, 4].sum() == 0  # N stays an all-zero column
    with pytest.raises(SeqsalError, match="no column 'activity'"):
        datasets.from_table(path, "seq", ("activity",))


def test_kmer_counts_hand_computed():
    X = datasets.encode_records([datasets.io.Record("a", "AACNA")])[0]
    counts = datasets.kmer_counts(X, 2)
    assert counts.shape == (1, 16)
    assert counts[0, 0] == 1 and counts[0, 1] == 1 and counts.sum() == 2  # AA, AC; CN and NA skipped
    np.testing.assert_array_equal(datasets.kmer_counts(X, 1)[0], [3, 1, 0, 0])


def test_test_chromosomes_are_never_trained_or_validated_on(tmp_path, capsys):
    sequences = random_sequences(48, 30, seed=3)
    chroms = ["chr1", "chr2", "chr8", "chr9"] * 12
    pos = tmp_path / "peaks.fa"
    pos.write_text("".join(f">{c}:{100 * i}-{100 * i + 30}\n{s}\n" for i, (c, s) in enumerate(zip(chroms, sequences))))
    model = tmp_path / "m.pt"
    status = main(["train", "--pos", str(pos), "--neg", "shuffle", "--test-chroms", "chr8,chr9",
                   "--valid-chroms", "chr2", *TINY_NET, "--out", str(model)])
    assert status == 0, capsys.readouterr().err
    metadata = torch.load(model, weights_only=True)["metadata"]
    # 12 peaks per chromosome, each with its shuffled copy on the same side of the split
    assert (metadata["n_train"], metadata["n_valid"], metadata["n_test"]) == (24, 24, 48)
    assert set(metadata["test_metrics"]) == {"auroc", "auprc"}
    status = main(["train", "--pos", str(pos), "--neg", "shuffle", "--test-chroms", "chrX", *TINY_NET,
                   "--out", str(model)])
    assert status == 2 and "no record lies on chrX" in capsys.readouterr().err


def test_chromosome_hold_out_needs_coordinates(tmp_path, capsys):
    pos = tmp_path / "peaks.fa"
    pos.write_text("".join(f">peak{i}\n{s}\n" for i, s in enumerate(random_sequences(8, 30, seed=1))))
    status = main(["train", "--pos", str(pos), "--neg", "shuffle", "--test-chroms", "chr8", *TINY_NET,
                   "--out", str(tmp_path / "m.pt")])
    assert status == 2 and "needs genomic coordinates" in capsys.readouterr().err


def test_table_regression_records_spearman_and_the_kmer_baseline(tmp_path, capsys):
    rng = np.random.default_rng(0)
    sequences = random_sequences(80, 24, seed=5)
    values = [s.count("GC") + rng.normal(0, 0.1) for s in sequences]  # activity from a dinucleotide
    train = write_table(tmp_path / "train.tsv.gz", sequences[:60], values[:60])
    test = write_table(tmp_path / "test.tsv.gz", sequences[60:], values[60:])
    model = tmp_path / "m.pt"
    status = main(["train", "--table", str(train), "--target-column", "mean_value", "--test-table", str(test),
                   "--description", "toy activities", *TINY_NET, "--out", str(model)])
    assert status == 0, capsys.readouterr().err
    metadata = torch.load(model, weights_only=True)["metadata"]
    assert metadata["description"] == "toy activities" and metadata["n_test"] == 20
    assert set(metadata["test_metrics"]) == {"mse", "pearson", "spearman"}
    assert metadata["baseline_test_metrics"]["pearson"] > 0.4  # the ridge counts the GC dinucleotides


def revcomp(sequence: str) -> str:
    return sequence[::-1].translate(str.maketrans("ACGTN", "TGCAN"))


def test_reverse_complement_groups_pair_inserts_between_fixed_adapters():
    left, right = "AGGACCGGATCAACT", "CATTGCGTGAACCGA"
    inserts = random_sequences(6, 20, seed=2)
    inserts[5] = "ACGTACGTACGTACGTANNT"  # N matches only N
    # the elements once each, then again in reverse order with their inserts reverse complemented (adapters not)
    sequences = [left + s + right for s in inserts] + [left + revcomp(s) + right for s in inserts[::-1]]
    records = [datasets.io.Record(f"r{i}", s) for i, s in enumerate(sequences)]
    X, _ = datasets.encode_records(records)
    assert datasets.shared_flanks(X) == (15, 35)
    groups = datasets.reverse_complement_groups(X)
    # oracle: the canonical insert, computed on the strings
    keys = [min(s[15:35], revcomp(s[15:35])) for s in sequences]
    assert all((groups[i] == groups[j]) == (keys[i] == keys[j]) for i in range(12) for j in range(12))
    np.testing.assert_array_equal(groups, [0, 1, 2, 3, 4, 5, 5, 4, 3, 2, 1, 0])
    # reverse-complementing the whole record (adapters too) does not hide the pair either
    whole = datasets.reverse_complement_groups(np.concatenate([X[:3], reverse_complement(X[:3])]))
    assert list(whole) == [0, 1, 2, 0, 1, 2]


def test_group_reverse_complements_keeps_both_orientations_on_one_side(tmp_path, capsys):
    inserts = random_sequences(25, 20, seed=4)
    sequences = [f"ACGTAC{s}GGATCC" for s in inserts] + [f"ACGTAC{revcomp(s)}GGATCC" for s in inserts]
    table = write_table(tmp_path / "mpra.tsv.gz", sequences, np.random.default_rng(1).normal(size=50))
    model = tmp_path / "m.pt"
    for grouped, n_valid in ((False, 5), (True, 6)):  # 10% of 50 records is 5, which splits a pair
        status = main(["train", "--table", str(table), "--target-column", "mean_value", "--valid-fraction", "0.1",
                       *(["--group-reverse-complements"] if grouped else []), *TINY_NET, "--out", str(model)])
        assert status == 0, capsys.readouterr().err
        metadata = torch.load(model, weights_only=True)["metadata"]
        assert (metadata["n_valid"], metadata["n_train"]) == (n_valid, 50 - n_valid)
    status = main(["train", "--table", str(table), "--target-column", "mean_value", "--valid-table", str(table),
                   "--group-reverse-complements", *TINY_NET, "--out", str(model)])
    assert status == 2 and "a validation file is split already" in capsys.readouterr().err
    status = main(["train", "--table", str(table), "--target-column", "mean_value", "--rc-keep-flanks", *TINY_NET,
                   "--out", str(model)])
    assert status == 2 and "rc_keep_flanks only changes augment_rc" in capsys.readouterr().err


def test_bundled_model_names_resolve_to_package_files(tmp_path):
    assert list(BUNDLED_MODELS) == ["default", "pu1"]
    assert model_file_path("pu1") == bundled_model_path("pu1")
    assert bundled_model_path("pu1").name == "pu1_model.pt"
    assert model_file_path(tmp_path / "x.pt") == tmp_path / "x.pt"
    with pytest.raises(SeqsalError, match="not a bundled model"):
        bundled_model_path("wtc11")  # trained by make model-wtc11, not shipped: it loses to its k-mer baseline


def test_explain_report_says_what_the_model_was_trained_on():
    from seqsal.explain.render import model_card

    card = model_card({"description": "PU.1 peaks", "test_metrics": {"auroc": 0.9712}})
    assert card == {"model trained on": "PU.1 peaks", "model test metrics": "auroc 0.971"}
    assert model_card({})["model trained on"] == "not recorded in the model file"
