"""The dataset audit: each check on a dataset made to trip it, no flag on a clean one, and the CLI.

Oracles: a clean simulated set (enhancer motifs in positives, background motifs in negatives,
same GC) must give zero flags; the same set with an adapter planted into 2% of the positives
must be flagged with exactly the planted records; counting code is compared with brute-force
loops, Fisher p values with SciPy's scalar test.
"""

from __future__ import annotations

import json
from itertools import product

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import seqsal.audit.data as audit_data
from seqsal.audit import AuditThresholds, audit_dataset, write_audit
from seqsal.audit.adapters import find_adapter_hits
from seqsal.audit.baselines import check_baselines
from seqsal.audit.composition import check_composition
from seqsal.audit.data import AuditData
from seqsal.audit.enrichment import conserved_element, distinct_elements, match_kmers
from seqsal.audit.leakage import check_leakage
from seqsal.audit.model_check import check_model, flagged_artifacts
from seqsal.audit.profile import profile_dataset
from seqsal.audit.sketch import near_duplicate_pairs
from seqsal.audit.stats import fisher_two_sided
from seqsal.cli import main
from seqsal.encoding import reverse_complement
from seqsal.errors import SeqsalError
from seqsal.io import Record, write_fasta
from seqsal.motifs import MotifDatabase, load_adapters
from seqsal.simulate import plant, simulate_enhancers
from tests.conftest import TINY, random_sequences

SEED = 7
ADAPTER_NAME = "illumina_universal_truseq_r1"
ADAPTER = load_adapters()[ADAPTER_NAME]


@pytest.fixture(scope="module")
def simulated():
    return simulate_enhancers(3000, 249, random_state=SEED)


def as_data(dataset, sequences=None, with_splits=True) -> AuditData:
    sequences = dataset.sequences if sequences is None else sequences
    records = [Record(i, s) for i, s in zip(dataset.ids, sequences)]
    positives = [r for r, label in zip(records, dataset.labels) if label == 1]
    negatives = [r for r, label in zip(records, dataset.labels) if label == 0]
    splits = dict(zip(dataset.ids, dataset.splits)) if with_splits else None
    return AuditData.from_records(positives, negatives, splits)


def with_planted_adapter(dataset, fraction=0.02, seed=SEED):
    """The dataset's sequences with the TruSeq adapter written into ``fraction`` of the positives."""
    rng = np.random.default_rng(seed)
    sequences = list(dataset.sequences)
    positives = np.flatnonzero(dataset.labels == 1)
    chosen = rng.choice(positives, round(fraction * len(positives)), replace=False)
    for i in chosen:
        sequences[i] = plant(sequences[i], ADAPTER, int(rng.integers(0, len(sequences[i]) - len(ADAPTER) + 1)))
    return sequences, {dataset.ids[i] for i in chosen}


# --------------------------------------------------------------------------- the acceptance tests


def test_clean_simulated_dataset_has_no_flags_while_motif_kmers_are_enriched(simulated):
    result = audit_dataset(as_data(simulated))
    assert [finding.item for finding in result.flags] == [] and result.untold == []
    kmers = result.checks[1].tables["kmers"]
    strong = kmers[(kmers["q"] < 0.01) & (kmers["log2_odds_ratio"] >= 2)]
    gata = strong[strong["annotation"].str.upper().str.contains("GATA")]
    assert len(gata) > 0 and not gata["flag"].any()  # real biology is reported, never flagged


def test_adapters_planted_into_two_percent_of_positives_are_flagged_with_their_ids(simulated, tmp_path):
    sequences, planted = with_planted_adapter(simulated)
    result = audit_dataset(as_data(simulated, sequences))
    flagged = {finding.item for finding in result.flags}
    assert ADAPTER_NAME in flagged
    assert flagged <= {ADAPTER_NAME, "k-mers, k = 4-8"}  # nothing else trips
    adapters = result.checks[0]
    row = adapters.tables["adapters"].set_index("item").loc[ADAPTER_NAME]
    # every planted record, plus the odd chance 12-13 bp partial match (about 0.2% of random records)
    assert len(planted) <= row["pos_sequences"] <= len(planted) + 5 and row["neg_sequences"] <= 5
    hits = adapters.tables["artifact_hits"]
    whole = hits[(hits["adapter"] == ADAPTER_NAME) & (hits["kind"] == "whole")]
    assert set(whole["id"]) == planted and (whole["mismatches"] == 0).all()
    # the k-mer check finds the same artifact without being told it: one long element, no known motif
    kmers = result.checks[1].tables["kmers"]
    elements = distinct_elements(kmers.loc[kmers["flag"], "element"])
    assert elements and any(e in ADAPTER or reverse_complement(e) in ADAPTER for e in elements)

    folder = write_audit(result, tmp_path / "audit")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["flagged"] and summary["n_flags"] == len(result.flags)
    for check in summary["checks"].values():
        for finding in check["findings"]:
            assert {"statistic", "p_value", "q_value", "effect_size", "flag", "threshold"} <= set(finding)
    assert json.loads((folder / "manifest.json").read_text())["complete"] is True
    tables = {path.name for path in folder.glob("*.tsv")}
    assert {"adapters.tsv", "artifact_hits.tsv", "kmers.tsv", "composition.tsv", "duplicates.tsv",
            "near_duplicates.tsv", "baselines.tsv", "checks.tsv"} <= tables
    html = (folder / "report.html").read_text()
    assert "http://" not in html and "https://" not in html  # self-contained
    assert html.index("shortcut flag") < html.index("<h2>Adapters and artifacts</h2>")  # flags come first


def test_gc_shifted_negatives_are_flagged_by_composition_and_gc_only_baseline(simulated):
    shifted = simulate_enhancers(1000, 249, gc=0.5, random_state=SEED + 1)
    positives = [Record(i, s) for i, s, label in zip(simulated.ids, simulated.sequences, simulated.labels)
                 if label == 1][:500]
    negatives = [Record(f"gc{i}", s) for i, s, label in zip(shifted.ids, shifted.sequences, shifted.labels)
                 if label == 0]
    data = AuditData.from_records(positives, negatives)
    profile = profile_dataset(data, (8,))
    composition = {f.item: f for f in check_composition(data, profile=profile).findings}
    assert composition["GC content"].flag and composition["GC content"].statistic > 0.6
    assert not composition["length"].flag
    baselines = {f.item: f for f in check_baselines(data, profile=profile, max_per_class=500).findings}
    assert baselines["GC only"].flag and baselines["GC only"].statistic > 0.85
    assert not baselines["length only"].flag


def test_duplicates_across_splits_and_classes_are_found_with_their_ids(simulated):
    subset = simulated.subset(np.arange(400))
    records = {i: Record(i, s) for i, s in zip(subset.ids, subset.sequences)}
    splits = dict(zip(subset.ids, subset.splits))
    labels = dict(zip(subset.ids, subset.labels))
    test_id = next(i for i in subset.ids if splits[i] == "test" and labels[i] == 1)
    other_id = next(i for i in subset.ids if splits[i] == "valid" and labels[i] == 1)
    near = list(records[other_id].sequence)
    for position in (40, 120, 200):
        near[position] = "A" if near[position] != "A" else "C"
    extra = {
        "copy_of_test": (records[test_id].sequence.lower(), 1, "train"),  # same DNA, soft-masked
        "rc_of_test": (reverse_complement(records[test_id].sequence), 0, "train"),  # other class, other strand
        "near_valid": ("".join(near), 1, "train"),
    }
    for record_id, (sequence, label, split) in extra.items():
        records[record_id] = Record(record_id, sequence)
        labels[record_id], splits[record_id] = label, split
    positives = [r for i, r in records.items() if labels[i] == 1]
    negatives = [r for i, r in records.items() if labels[i] == 0]
    result = check_leakage(AuditData.from_records(positives, negatives, splits))
    findings = {f.item: f for f in result.findings}
    assert findings["exact duplicates across splits"].flag
    assert findings["exact duplicates across classes"].flag
    assert findings["near-duplicates across classes or splits"].flag
    assert not findings["redundant copies within a class and split"].flag
    duplicates = result.tables["duplicates"]
    group = duplicates[duplicates["id"] == test_id]["group"].iloc[0]
    members = duplicates[duplicates["group"] == group].set_index("id")
    assert set(members.index) == {test_id, "copy_of_test", "rc_of_test"}
    assert members.loc["rc_of_test", "orientation"] != members.loc[test_id, "orientation"]
    assert members["cross_split"].all() and members["cross_class"].all()
    pairs = result.tables["near_duplicates"]
    pair = pairs[(pairs["id_a"] == "near_valid") | (pairs["id_b"] == "near_valid")]
    assert len(pair) == 1 and {pair["id_a"].iloc[0], pair["id_b"].iloc[0]} == {other_id, "near_valid"}
    assert pair["jaccard_estimate"].iloc[0] >= 0.8
    assert "copy_of_test" in findings["exact duplicates across splits"].message


# --------------------------------------------------------------------------- the machinery, against brute force


def brute_force_kmers(sequences, labels, k):
    counts = {0: {}, 1: {}}
    presence = {0: {}, 1: {}}
    for sequence, label in zip(sequences, labels):
        seen = set()
        upper = sequence.upper()
        for i in range(len(upper) - k + 1):
            word = upper[i : i + k]
            if set(word) <= set("ACGT"):
                canonical = min(word, reverse_complement(word))
                counts[label][canonical] = counts[label].get(canonical, 0) + 1
                seen.add(canonical)
        for word in seen:
            presence[label][word] = presence[label].get(word, 0) + 1
    return counts, presence


def test_kmer_counts_match_brute_force_and_do_not_depend_on_batching(monkeypatch):
    rng = np.random.default_rng(0)
    sequences = []
    for length in rng.integers(0, 60, size=40):
        letters = rng.choice(list("ACGTacgtN"), size=length, p=[0.22] * 4 + [0.02] * 4 + [0.04])
        sequences.append("".join(letters))
    labels = [i % 2 for i in range(len(sequences))]
    records = [Record(f"r{i}", s) for i, s in enumerate(sequences)]
    data = AuditData.from_records([r for r, label in zip(records, labels) if label],
                                  [r for r, label in zip(records, labels) if not label])
    profile = profile_dataset(data, (3, 5))
    monkeypatch.setattr(audit_data, "BATCH_CELLS", 64)
    small_batches = profile_dataset(data, (3, 5))
    ordered = [s for s, l in zip(sequences, labels) if l] + [s for s, l in zip(sequences, labels) if not l]
    ordered_labels = [1] * sum(labels) + [0] * (len(labels) - sum(labels))
    for k in (3, 5):
        counts, presence = brute_force_kmers(ordered, ordered_labels, k)
        for label in (0, 1):
            for word, value in counts[label].items():
                code = int("".join(str("ACGT".index(c)) for c in word), 4)
                assert profile.kmer_counts[k][label, code] == value
                assert profile.kmer_presence[k][label, code] == presence[label][word]
            assert profile.kmer_counts[k][label].sum() == sum(counts[label].values())
        np.testing.assert_array_equal(profile.kmer_presence[k], small_batches.kmer_presence[k])
    np.testing.assert_array_equal(profile.sketches, small_batches.sketches)
    np.testing.assert_array_equal(profile.gc, [sum(c in "GCgc" for c in s) for s in ordered])
    assert (data.softmasked == [sum(c.islower() for c in s) for s in ordered]).all()


def test_adapter_search_finds_every_kind_on_both_strands_and_never_across_records():
    rng = np.random.default_rng(3)
    background = ["".join(rng.choice(list("AC"), size=80)) for _ in range(6)]  # no G/T: no chance hits
    one_off = ADAPTER[:10] + ("C" if ADAPTER[10] != "C" else "A") + ADAPTER[11:]
    sequences = [
        plant(background[0], ADAPTER, 20),  # whole, plus strand
        plant(background[1], reverse_complement(one_off), 5),  # whole with one mismatch, minus strand
        background[2][:70] + ADAPTER[:10],  # read-through into the 3' end: shorter than min_length
        reverse_complement(ADAPTER[:12]) + background[3][:68],  # 12 bp at the 5' end, minus strand
        background[4][:70] + ADAPTER[:16],  # the next record holds the rest: two partial hits, never one whole
        ADAPTER[16:] + background[5][:60] + "GGGGCGGGGGGG",  # poly-G with one mismatch: a GC box, no hit
    ]
    data = AuditData.from_records([Record(f"s{i}", s) for i, s in enumerate(sequences)],
                                  [Record("neg", "ACGT" * 10)])
    hits = find_adapter_hits(data, {ADAPTER_NAME: ADAPTER, "polyG": "G" * 12})
    found = {tuple(row) for row in hits[["row", "strand", "kind", "position", "start", "end", "adapter_start",
                                         "adapter_end", "mismatches"]].itertuples(index=False)}
    n = len(ADAPTER)
    assert found == {
        (0, "+", "whole", "internal", 20, 20 + n, 0, n, 0),
        (1, "-", "whole", "internal", 5, 5 + n, 0, n, 1),
        (2, "+", "read-through", "3'", 70, 80, 0, 10, 0),
        (3, "-", "partial", "5'", 0, 12, 0, 12, 0),
        (4, "+", "partial", "3'", 70, 86, 0, 16, 0),
        (5, "+", "partial", "5'", 0, n - 16, 16, n, 0),
    }


def test_fisher_matches_scipy_doubled_one_sided_tests():
    a, b = np.array([0, 3, 10, 40, 7]), np.array([5, 3, 1, 20, 7])
    expected = [min(1.0, 2 * min(stats.fisher_exact([[x, 50 - x], [y, 60 - y]], alternative=side)[1]
                                 for side in ("less", "greater"))) for x, y in zip(a, b)]
    np.testing.assert_allclose(fisher_two_sided(a, b, 50, 60), expected, rtol=1e-9)


def test_motif_matching_names_real_sites_and_rejects_long_artifacts():
    database = MotifDatabase.default()
    matches = match_kmers(["AGATAAGG", database.get("CTCF").consensus, ADAPTER], database).set_index("kmer")
    assert "GATA" in matches.loc["AGATAAGG", "motif"].upper() and matches.loc["AGATAAGG", "match"] > 0.95
    assert matches.loc[database.get("CTCF").consensus, "motif"] == "CTCF"
    assert not matches.loc[ADAPTER, "match"] >= 0.8  # no motif covers three quarters of 33 bp
    assert distinct_elements(["ACGTTGCA" + "GG", reverse_complement("ACGTTGCAGG"), "CGTTGC"]) == ["ACGTTGCAGG"]


def test_conserved_element_recovers_a_planted_barcode():
    rng = np.random.default_rng(5)
    barcode = "CGTTAATTACTCCTCCGGAA"
    positives = []
    for i, sequence in enumerate(random_sequences(300, 100, seed=5)):
        if i % 5 == 0:
            sequence = plant(sequence, barcode if i % 2 else reverse_complement(barcode), int(rng.integers(0, 80)))
        positives.append(Record(f"p{i}", sequence))
    data = AuditData.from_records(positives, [Record(f"n{i}", s) for i, s in enumerate(random_sequences(50, 100))])
    assert conserved_element(data, "TTACTCCT", label=1) == barcode
    assert conserved_element(data, "TTACTCCT", label=0) == "TTACTCCT"  # too few occurrences to extend


def test_model_check_measures_reliance_and_restores_the_model(tiny_model):
    sequences = random_sequences(60, TINY.input_length, seed=2)
    positives = [Record(f"p{i}", plant(s, "G" * 12, 10) if i < 20 else s) for i, s in enumerate(sequences[:30])]
    negatives = [Record(f"n{i}", s) for i, s in enumerate(sequences[30:])]
    data = AuditData.from_records(positives, negatives)
    artifacts = pd.DataFrame({"row": np.arange(20), "start": 10, "end": 22, "source": "polyG"})
    tiny_model.train()
    result = check_model(data, tiny_model, artifacts, batch_size=7)
    assert tiny_model.training  # mode restored
    attribution, change = result.findings
    assert 0 <= attribution.statistic <= 1 and np.isfinite(attribution.effect_size)
    assert np.isfinite(change.statistic) and len(result.tables["model"]) == 20
    empty = check_model(data, tiny_model, flagged_artifacts(data, []))
    assert not empty.flagged and empty.findings[0].test == "not run"


def test_thresholds_and_inputs_are_validated():
    with pytest.raises(SeqsalError, match="fdr"):
        AuditThresholds(fdr=2)
    with pytest.raises(SeqsalError, match="negative class is empty"):
        AuditData.from_records([Record("a", "ACGT")], [])
    with pytest.raises(SeqsalError, match="have no split"):
        AuditData.from_records([Record("a", "ACGT")], [Record("b", "ACGT")], {"a": "train"})
    with pytest.raises(SeqsalError, match="'b' has 'X' at position 2"):
        AuditData.from_records([Record("a", "ACGT")], [Record("b", "AXGT")])


# --------------------------------------------------------------------------- the command line


def run(capsys, *argv):
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, captured.err


@pytest.fixture
def small_files(simulated, tmp_path):
    subset = simulated.subset(np.arange(200))
    sequences, _ = with_planted_adapter(subset, fraction=0.2)
    records = [Record(i, s) for i, s in zip(subset.ids, sequences)]
    write_fasta(tmp_path / "pos.fa", [r for r, label in zip(records, subset.labels) if label == 1])
    write_fasta(tmp_path / "neg.fa", [r for r, label in zip(records, subset.labels) if label == 0])
    pd.DataFrame({"id": subset.ids, "split": subset.splits}).to_csv(tmp_path / "splits.tsv", sep="\t", index=False)
    return tmp_path


def test_cli_writes_the_audit_and_fails_on_flags_only_when_asked(small_files, capsys):
    fast = ["--k", "8", "--baseline-max", 100, "--folds", 2, "--quiet"]
    common = ["audit", "--pos", small_files / "pos.fa", "--neg", small_files / "neg.fa",
              "--splits", small_files / "splits.tsv", "--out", small_files / "out", *fast]
    status, err = run(capsys, *common, "--fail-on-flag")
    assert status == 1, err
    assert ADAPTER_NAME in err
    summary = json.loads((small_files / "out" / "summary.json").read_text())
    assert summary["flagged"] and summary["thresholds"]["fdr"] == 0.01
    assert (small_files / "out" / "report.html").is_file()
    status, _ = run(capsys, *common)  # same folder again: it is seqsal's, so it may be reused
    assert status == 0


@pytest.mark.parametrize("problem", ["empty class", "split ids", "model", "foreign out", "bad base"])
def test_cli_bad_inputs_give_one_line_and_status_2(small_files, capsys, problem):
    paths = {"pos": small_files / "pos.fa", "neg": small_files / "neg.fa", "splits": small_files / "splits.tsv",
             "out": small_files / "fresh"}
    extra = []
    if problem == "empty class":
        paths["neg"] = small_files / "empty.fa"
        paths["neg"].write_text("")
    elif problem == "split ids":
        table = pd.read_csv(paths["splits"], sep="\t")
        paths["splits"] = small_files / "partial.tsv"
        table.iloc[5:].to_csv(paths["splits"], sep="\t", index=False)
    elif problem == "model":
        (small_files / "model.pt").write_bytes(b"not a model")
        extra = ["--model", small_files / "model.pt"]
    elif problem == "foreign out":
        paths["out"].mkdir()
        (paths["out"] / "notes.txt").write_text("mine")
    else:
        paths["pos"] = small_files / "bad.fa"
        paths["pos"].write_text(">x\nACGTJ\n")
    status, err = run(capsys, "audit", "--pos", paths["pos"], "--neg", paths["neg"], "--splits", paths["splits"],
                      "--out", paths["out"], *extra)
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("seqsal audit: error:")
    if problem != "foreign out":
        assert not paths["out"].exists()  # nothing written before the inputs are known good


def test_sketch_jaccard_estimates_track_exact_jaccard():
    rng = np.random.default_rng(11)
    base = "".join(rng.choice(list("ACGT"), size=249))
    variants = {0: base}
    for n_edits in (2, 6, 20, 60):
        letters = list(base)
        for position in rng.choice(249, size=n_edits, replace=False):
            letters[position] = "ACGT"[("ACGT".index(letters[position]) + 1) % 4]
        variants[n_edits] = "".join(letters)
    data = AuditData.from_records([Record(str(k), s) for k, s in variants.items()], [Record("n", "ACGT" * 10)])
    profile = profile_dataset(data, (8,))
    pairs = near_duplicate_pairs(profile.sketches, profile.sketch_kmers >= 64, threshold=0.0)

    def kmer_set(sequence):
        return {min(sequence[i : i + 8], reverse_complement(sequence[i : i + 8])) for i in range(len(sequence) - 7)}

    estimates = {(a, b): j for a, b, j in pairs.itertuples(index=False)}
    for a, b in product(range(5), repeat=2):
        if (a, b) in estimates:
            sa, sb = kmer_set(data.sequences[a]), kmer_set(data.sequences[b])
            assert abs(estimates[(a, b)] - len(sa & sb) / len(sa | sb)) < 0.2
    assert (0, 1) in estimates and estimates[(0, 1)] >= 0.8  # two substitutions in 249 bp


# --------------------------------------------------------------------------- issue 19: partial adapters, flanks, overlap


def planted_set(piece, position, n=1000, length=200, fraction=0.02, seed=13, flanks=("", "")):
    """``n`` random positives and negatives; ``piece`` planted at ``position`` (5', internal, 3') in ``fraction``
    of the positives; every record wrapped in ``flanks``."""
    rng = np.random.default_rng(seed)
    positives = random_sequences(n, length, seed=seed)
    negatives = random_sequences(n, length, seed=seed + 1)
    chosen = rng.choice(n, round(fraction * n), replace=False)
    for i in chosen:
        start = {"5'": 0, "3'": length - len(piece)}.get(position, int(rng.integers(1, length - len(piece))))
        positives[i] = plant(positives[i], piece, start)
    left, right = flanks
    data = AuditData.from_records([Record(f"p{i}", left + s + right) for i, s in enumerate(positives)],
                                  [Record(f"n{i}", left + s + right) for i, s in enumerate(negatives)])
    return data, {f"p{i}" for i in chosen}


def mutate(piece, count):
    """``piece`` with ``count`` substitutions, spread over its inner bases."""
    letters = list(piece)
    for j in range(count):
        position = (j + 1) * len(piece) // (count + 1)
        letters[position] = "ACGT"[("ACGT".index(letters[position]) + 1) % 4]
    return "".join(letters)


@pytest.mark.parametrize("length, start, strand, position, mismatches, fraction", [
    (12, 14, "+", "5'", 0, 0.02),
    (12, 20, "-", "3'", 0, 0.01),
    (16, 10, "-", "internal", 1, 0.02),
    (21, 0, "+", "internal", 0, 0.02),  # the held-out case: the first 21 bp, anywhere
    (21, 0, "-", "internal", 1, 0.01),
    (26, 7, "+", "3'", 2, 0.02),
    (33, 0, "-", "5'", 2, 0.01),
    (33, 0, "+", "internal", 0, 0.01),
])
def test_planted_partial_adapters_are_flagged_and_named(length, start, strand, position, mismatches, fraction):
    piece = mutate(ADAPTER[start : start + length], mismatches)
    piece = piece if strand == "+" else reverse_complement(piece)
    data, planted = planted_set(piece, position, n=round(20 / fraction), fraction=fraction)  # 20 planted records
    result = audit_check_adapters(data)
    flagged = {finding.item for finding in result.findings if finding.flag}
    assert flagged == {ADAPTER_NAME}
    hits = result.tables["artifact_hits"]
    mine = hits[hits["id"].isin(planted) & (hits["adapter"] == ADAPTER_NAME)]
    assert set(mine["id"]) == planted
    assert (mine["strand"] == strand).all() and (mine["position"] == position).all()
    # the stretch covers the planted piece; a matching random base next to it may extend it a little
    assert (mine["adapter_start"] <= start).all() and (mine["adapter_end"] >= start + length).all()
    assert ((mine["end"] - mine["start"]) - length).between(0, 6).all()
    assert (mine["mismatches"] == mismatches).all()
    finding = next(f for f in result.findings if f.item == ADAPTER_NAME)
    assert "within its positions" in finding.message and strand in finding.message


def audit_check_adapters(data):
    from seqsal.audit.adapters import check_adapters

    return check_adapters(data, AuditThresholds(), load_adapters())


def test_clean_random_set_has_no_adapter_flag():
    data, _ = planted_set("", "internal", fraction=0)
    result = audit_check_adapters(data)
    assert not result.flagged
    adapters = result.tables["adapters"].set_index("item")
    assert adapters["pos_rate"].max() < 0.01 and adapters["neg_rate"].max() < 0.01  # chance hits are rare


def test_enriched_element_is_named_as_the_adapter_it_matches():
    """The held-out failure: 21 bp of TruSeq read 1 was called 'AGACGTGTGCTCTTCCGATCT (no known motif)'."""
    from seqsal.audit.enrichment import check_kmers

    data, _ = planted_set(ADAPTER[:21], "internal", n=1500, fraction=0.02)
    result = check_kmers(data, AuditThresholds(), MotifDatabase.default().get_many(["GATA1", "CTCF"]),
                         k_values=(8,), adapters=load_adapters())
    assert result.flagged
    message = result.findings[0].message
    assert f"matches {ADAPTER_NAME} positions 1-21" in message and "0 mismatches" in message
    assert "no known adapter or motif" not in message


def test_shared_library_flanks_are_reported_once_and_raise_no_class_flag():
    left = ADAPTER[:20] + "TTGACA"  # a 5' primer site that holds a partial adapter
    right = "GGTACCTCTAGACTCGAG"
    data, _ = planted_set("", "internal", n=300, fraction=0, flanks=(left, right))
    result = audit_dataset(data, k_values=(6, 8), baseline_max_per_class=200, folds=2)
    assert [finding.item for finding in result.flags] == []
    flanks = {check.name: check for check in result.checks}["flanks"]
    table = flanks.tables["flanks"].set_index("end")
    assert table.loc["5'", "sequence"].startswith(left) and table.loc["3'", "sequence"].endswith(right)
    assert table.loc["5'", "adapter_match"].startswith(f"matches {ADAPTER_NAME} positions 1-2")
    adapters = {check.name: check for check in result.checks}["adapters"].tables["adapters"].set_index("item")
    assert adapters.loc[ADAPTER_NAME, "pos_sequences"] < 10  # the flank's copy is not counted in every record


def test_parse_coordinates_reads_the_usual_header_forms():
    from seqsal.io import parse_coordinates

    assert parse_coordinates("chr1:100-200") == ("chr1", 100, 200, None)
    assert parse_coordinates("chr1:100-200(+)") == ("chr1", 100, 200, "+")
    assert parse_coordinates("chr1:100-200:-") == ("chr1", 100, 200, "-")
    assert parse_coordinates("peak7::chrX:1,000-2,000") == ("chrX", 1000, 2000, None)
    for header in ("syn000037", "chr1:200-100", "chr1:100", "chr1:100-200x"):
        assert parse_coordinates(header) is None


def test_genomic_overlap_across_splits_and_classes_is_flagged():
    sequences = random_sequences(6, 100, seed=4)
    positives = [Record("chr1:1000-1100", sequences[0]), Record("chr1:5000-5100(+)", sequences[1]),
                 Record("chr2:300-400", sequences[2])]
    negatives = [Record("chr1:1050-1150", sequences[3]), Record("chr2:900-1000", sequences[4]),
                 Record("chr1:5090-5190:-", sequences[5])]
    splits = {"chr1:1000-1100": "train", "chr1:5000-5100(+)": "train", "chr2:300-400": "train",
              "chr1:1050-1150": "train", "chr2:900-1000": "test", "chr1:5090-5190:-": "test"}
    result = check_leakage(AuditData.from_records(positives, negatives, splits))
    findings = {f.item: f for f in result.findings}
    across_classes, across_splits = findings["genomic overlap across classes"], findings["genomic overlap across splits"]
    assert across_classes.flag and across_classes.statistic == 4  # two pairs
    assert across_splits.flag and across_splits.statistic == 2 and "chr1:5000-5100(+)" in across_splits.message
    overlaps = result.tables["overlaps"]
    pair = overlaps[(overlaps["across"] == "classes") & (overlaps["id_a"] == "chr1:1000-1100")]
    assert pair["id_b"].tolist() == ["chr1:1050-1150"] and pair["overlap_bp"].tolist() == [50]
    plain = check_leakage(AuditData.from_records([Record("a", sequences[0])], [Record("b", sequences[1])]))
    assert {f.item: f for f in plain.findings}["genomic overlap"].status == "not applicable"


# --------------------------------------------------------------------------- issue 16: model default, tiny sets


def test_cli_tiny_set_says_it_has_too_few_records_to_tell(tmp_path, capsys):
    sequences = random_sequences(17, 120, seed=9)
    write_fasta(tmp_path / "pos.fa", [Record(f"p{i}", s) for i, s in enumerate(sequences[:14])])
    write_fasta(tmp_path / "neg.fa", [Record(f"n{i}", s) for i, s in enumerate(sequences[14:])])
    status, err = run(capsys, "audit", "--pos", tmp_path / "pos.fa", "--neg", tmp_path / "neg.fa", "--out",
                      tmp_path / "out", "--k", "6", "--quiet")
    assert status == 0, err
    assert "too few records to tell" in err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {"Adapters and artifacts", "Enriched k-mers", "Composition"} <= set(summary["checks_without_verdict"])
    assert summary["dataset"]["minimum_class_size"]["adapters"] > 3
    adapters = summary["checks"]["adapters"]["findings"][0]
    assert adapters["status"] == "too few records" and adapters["message"].startswith("Too few records to tell")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "could not tell" in html and "Minimum sample size" in html
    assert "none of the checks below found a way" not in html.lower()


def test_cli_model_default_runs_the_model_check(small_files, capsys):
    status, err = run(capsys, "audit", "--pos", small_files / "pos.fa", "--neg", small_files / "neg.fa",
                      "--out", small_files / "with_model", "--model", "default", "--k", "8", "--baseline-max", 100,
                      "--folds", 2, "--model-max", 16, "--quiet", "--device", "cpu")
    assert status == 0, err
    summary = json.loads((small_files / "with_model" / "summary.json").read_text())
    assert summary["settings"]["model"] == "default" and "model" in summary["checks"]
    manifest = json.loads((small_files / "with_model" / "manifest.json").read_text())
    recorded = manifest["inputs"]["model"]
    assert manifest["complete"] and recorded["kind"] == "seqsal" and recorded["path"].endswith("default_model.pt")
    assert len(recorded["sha256"]) == 64
    assert manifest["command"][:2] == ["seqsal", "audit"]
