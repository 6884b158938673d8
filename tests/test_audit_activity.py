"""The audit of an activity (regression) table: flanks, k-mer association, baselines, duplicates across splits."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd

from seqsal.cli import main
from tests.conftest import random_sequences

LEFT, RIGHT = "AGGACCGGATCAACT", "CATTGCGTGAACCGA"


def write_table(path, sequences, values):
    with gzip.open(path, "wt") as stream:
        stream.write("seq\tmean_value\n" + "".join(f"{LEFT}{s}{RIGHT}\t{v}\n" for s, v in zip(sequences, values)))
    return path


def test_activity_audit_reports_flanks_kmers_baselines_and_shared_records(tmp_path, capsys):
    rng = np.random.default_rng(0)
    cores = random_sequences(120, 40, seed=2)
    cores = [c[:10] + "GGAAGT" + c[16:] if i % 2 else c for i, c in enumerate(cores)]  # an ETS-like site in half
    values = [2.0 * ("GGAAGT" in c) + rng.normal(0, 0.3) for c in cores]
    first = write_table(tmp_path / "fold1.tsv.gz", cores[:60], values[:60])
    second = write_table(tmp_path / "fold2.tsv.gz", cores[60:] + cores[:1], values[60:] + values[:1])
    out = tmp_path / "audit"
    status = main(["audit", "--table", str(first), "--table", str(second), "--out", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 0, err
    assert f"Every record starts with {LEFT} and ends with {RIGHT}: library adapters, carry no class or " \
           "activity information" in err
    kmers = pd.read_csv(out / "activity_kmers.tsv", sep="\t")
    assert kmers["rho"].iloc[0] > 0.5 and kmers["q"].iloc[0] < 1e-6
    assert any(k in "GGAAGT" or k in "ACTTCC" for k in kmers["kmer"].head(3))  # the planted site, either strand
    baselines = pd.read_csv(out / "activity_baselines.tsv", sep="\t").set_index("baseline")
    assert baselines.loc["k-mers (k <= 5)", "r2"] > 0.3 > abs(baselines.loc["GC only", "r2"])
    summary = json.loads((out / "summary.json").read_text())
    leakage = summary["checks"]["leakage"]["findings"]
    assert any("1 " in f["message"] and "split" in f["message"] and f["flag"] for f in leakage)
    assert summary["dataset"]["splits"] == {"fold1": 60, "fold2": 61}


def test_activity_audit_refuses_class_options(tmp_path, capsys):
    table = write_table(tmp_path / "t.tsv.gz", random_sequences(4, 20), [0, 1, 2, 3])
    status = main(["audit", "--table", str(table), "--pos", str(table), "--out", str(tmp_path / "a")])
    assert status == 2 and "belong to the class audit" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()
