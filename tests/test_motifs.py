"""Tests for seqsal.motifs: matrices, database loading and lookup, scanning, masks, adapters."""

from __future__ import annotations

import math

import numpy as np
import pytest

from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError
from seqsal.motifs import (
    Motif,
    MotifDatabase,
    MotifHit,
    hits_to_frame,
    hits_to_mask,
    load_adapters,
    scan,
)

# Columns as (A, C, G, T) probabilities.
DET_A, DET_C, DET_G = [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]
UNIFORM = [0.25] * 4
MOSTLY_A, MOSTLY_C = [0.7, 0.1, 0.1, 0.1], [0.1, 0.7, 0.1, 0.1]

# log2 odds with pseudocount 0.01, uniform background: p' = (p + 0.01) / 1.04.
MATCH_07 = math.log2(0.71 / 1.04 / 0.25)
MISMATCH_01 = math.log2(0.11 / 1.04 / 0.25)

MEME_TEXT = """MEME version 4

ALPHABET= ACGT

strands: + -

Background letter frequencies
A 0.25 C 0.25 G 0.25 T 0.25

MOTIF MA0001.1 Foo

letter-probability matrix: alength= 4 w= 2 nsites= 100 E= 0
 0.70 0.10 0.10 0.10
 0.00 0.00 1.00 0.00

MOTIF MA0002.1 BAR::BAZ

letter-probability matrix: alength= 4 w= 3 nsites= 100 E= 0
 0.25 0.25 0.25 0.25
 1.00 0.00 0.00 0.00
 0.00 0.50 0.50 0.00

MOTIF MA0001.2 Foo

letter-probability matrix: alength= 4 w= 1 nsites= 100 E= 0
 0.00 0.00 0.00 1.00
"""


def motif(columns: list[list[float]], motif_id: str = "T1", name: str = "Test") -> Motif:
    """A motif from a list of (A, C, G, T) columns."""
    return Motif(motif_id, name, np.array(columns, dtype=float).T)


@pytest.fixture
def meme_file(tmp_path):
    path = tmp_path / "tiny.meme"
    path.write_text(MEME_TEXT)
    return path


def test_information_content_is_two_bits_for_a_fixed_base_and_zero_for_uniform():
    ic = motif([DET_A, UNIFORM, [0.5, 0.5, 0, 0]]).information_content()
    np.testing.assert_allclose(ic, [2.0, 0.0, 1.0])


def test_information_content_uses_the_background():
    # p = 1 for A against q_A = 0.5 carries log2(1 / 0.5) = 1 bit.
    ic = motif([DET_A]).information_content(background=(0.5, 0.2, 0.2, 0.1))
    np.testing.assert_allclose(ic, [1.0])


def test_log_odds_applies_the_renormalised_pseudocount():
    scores = motif([DET_A]).log_odds()
    expected_match = math.log2(1.01 / 1.04 / 0.25)
    expected_other = math.log2(0.01 / 1.04 / 0.25)
    np.testing.assert_allclose(scores[:, 0], [expected_match] + [expected_other] * 3)
    assert motif([DET_A]).log_odds(pseudocount=0)[0, 0] == 2.0


def test_counts_are_normalised_and_stored_read_only():
    m = motif([[2, 1, 1, 0]])
    np.testing.assert_allclose(m.pwm[:, 0], [0.5, 0.25, 0.25, 0.0])
    with pytest.raises(ValueError):
        m.pwm[0, 0] = 1.0


def test_consensus_width_and_reverse_complement():
    m = motif([DET_A, MOSTLY_C, DET_G, [0.1, 0.1, 0.6, 0.2]])
    assert m.width == 4
    assert m.consensus == "ACGG"
    rc = m.reverse_complement()
    assert rc.consensus == "CCGT"
    np.testing.assert_allclose(rc.pwm[:, 2], [0.1, 0.1, 0.7, 0.1])  # complement of MOSTLY_C
    assert rc.reverse_complement() == m


def test_malformed_matrix_is_rejected():
    with pytest.raises(SeqsalError, match="shape"):
        Motif("bad", "Bad", np.ones((3, 5)))
    with pytest.raises(SeqsalError, match="all-zero"):
        Motif("bad", "Bad", np.zeros((4, 2)))


def test_meme_file_pairs_ids_with_tf_names(meme_file):
    db = MotifDatabase.from_file(meme_file)
    assert len(db) == 3
    assert [(m.id, m.name) for m in db] == [("MA0001.1", "Foo"), ("MA0002.1", "BAR::BAZ"), ("MA0001.2", "Foo")]
    assert db.names == ["Foo", "BAR::BAZ"]
    np.testing.assert_allclose(db.get("MA0001.1").pwm, [[0.7, 0.0], [0.1, 0.0], [0.1, 1.0], [0.1, 0.0]])


def test_lookup_by_id_by_name_case_insensitive_and_highest_version(meme_file):
    db = MotifDatabase.from_file(meme_file)
    assert db.get("MA0001.1").width == 2  # exact id picks that version
    assert db.get("foo").id == "MA0001.2"  # name picks the highest version
    assert db.get("bar::baz").id == "MA0002.1"
    assert [m.id for m in db.get_many("Foo, BAR::BAZ,foo")] == ["MA0001.2", "MA0002.1"]
    assert [m.id for m in db.get_many(["MA0001.1"])] == ["MA0001.1"]


def test_unknown_name_suggests_close_matches(meme_file):
    db = MotifDatabase.from_file(meme_file)
    with pytest.raises(SeqsalError, match="did you mean BAR::BAZ") as error:
        db.get("BAR::BAX")
    assert "tiny.meme" in str(error.value) and "MotifDatabase.names" in str(error.value)


def test_jaspar_file_is_detected_and_read(tmp_path):
    path = tmp_path / "one.jaspar"
    path.write_text(">MA9999.1 Qux\nA [ 3 0 ]\nC [ 1 0 ]\nG [ 0 0 ]\nT [ 0 4 ]\n")
    (m,) = MotifDatabase.from_file(path)
    assert (m.id, m.name) == ("MA9999.1", "Qux")
    np.testing.assert_allclose(m.pwm, [[0.75, 0.0], [0.25, 0.0], [0.0, 0.0], [0.0, 1.0]])


@pytest.mark.parametrize(
    "content",
    [
        "",
        "just some text\n",
        "MEME version 4\n\nALPHABET= ACGT\n",
        ">MA1.1 X\nA [ 1 x ]\nC [1 1]\nG [1 1]\nT [1 1]\n",
    ],
)
def test_non_motif_file_names_the_file(tmp_path, content):
    path = tmp_path / "junk.txt"
    path.write_text(content)
    with pytest.raises(SeqsalError, match="junk.txt"):
        MotifDatabase.from_file(path)


def test_missing_file_names_the_file(tmp_path):
    with pytest.raises(SeqsalError, match="nowhere.meme"):
        MotifDatabase.from_file(tmp_path / "nowhere.meme")


def test_bundled_database():
    db = MotifDatabase.default()
    assert len(db) == 518
    assert db.get("CTCF").id == "MA0139.1"
    assert db.get("gata1").id == "MA0035.3"
    assert db.get("FOS::JUN").id == "MA0099.2"
    assert MotifDatabase.default() is db


def test_scan_finds_consensus_on_both_strands_with_hand_computed_score():
    m = motif([MOSTLY_A, MOSTLY_C, MOSTLY_C], "MA0100.1", "Acc")
    #          0    5  8   12 15
    sequence = "TTTTTACCTTTTGGTTTTTT"  # ACC at 5 (+), GGT = revcomp(ACC) at 12 (-)
    hits = scan(one_hot(sequence)[0], m)
    best = 3 * MATCH_07
    assert [(h.sequence_index, h.start, h.end, h.strand) for h in hits] == [(0, 5, 8, "+"), (0, 12, 15, "-")]
    assert [h.score for h in hits] == pytest.approx([best, best])
    assert (hits[0].motif_id, hits[0].name) == ("MA0100.1", "Acc")


def test_scan_relative_threshold_rejects_one_mismatch_and_n_scores_zero():
    m = motif([MOSTLY_A, MOSTLY_C, MOSTLY_C])
    X = one_hot(["TTTTAGCTTT", "TTTTANCTTT"])
    # One mismatch: 2 * 1.449 - 1.241 = 1.657 < 0.8 * 4.348; N adds 0, so 2 * 1.449 = 2.899.
    assert scan(X, m) == []
    hits = scan(X, m, threshold=2.8)
    assert [(h.sequence_index, h.start, h.strand) for h in hits] == [(1, 4, "+")]
    assert hits[0].score == pytest.approx(2 * MATCH_07)
    assert 2 * MATCH_07 + MISMATCH_01 < 2.8


def test_scan_matches_brute_force_and_sorts_hits():
    rng = np.random.default_rng(1)
    sequences = ["".join(rng.choice(list("ACGT"), 40)) for _ in range(6)]
    X = one_hot(sequences)
    motifs = [MotifDatabase.default().get(name) for name in ("FOS::JUN", "CREB1")]
    hits = scan(X, motifs, threshold=3.0)
    expected = set()
    for m in motifs:
        for strand, weights in (("+", m.log_odds()), ("-", m.reverse_complement().log_odds())):
            for i in range(len(sequences)):
                for s in range(40 - m.width + 1):
                    score = (X[i, :, s : s + m.width] * weights).sum()
                    if score >= 3.0:
                        expected.add((i, m.id, s, strand, round(score, 9)))
    assert expected  # the threshold is low enough to give hits
    assert {(h.sequence_index, h.motif_id, h.start, h.strand, round(h.score, 9)) for h in hits} == expected
    assert hits == sorted(hits, key=lambda h: (h.sequence_index, h.start))


def test_scan_rejects_wrong_shape():
    with pytest.raises(SeqsalError, match="shape"):
        scan(np.zeros((2, 5, 10)), motif([DET_A]))


def test_hits_to_mask_filters_by_information_through_the_strand():
    m = motif([DET_A, DET_C, UNIFORM], "MA0200.1")  # IC 2, 2, 0 bits
    hits = [
        MotifHit(0, "MA0200.1", "Test", 2, 5, "+", 1.0),
        MotifHit(1, "MA0200.1", "Test", 10, 13, "-", 1.0),
    ]
    full = hits_to_mask(hits, 2, 15)
    assert np.flatnonzero(full[0]).tolist() == [2, 3, 4]
    assert np.flatnonzero(full[1]).tolist() == [10, 11, 12]
    informative = hits_to_mask(hits, 2, 15, motifs=[m], min_information=1.0)
    assert np.flatnonzero(informative[0]).tolist() == [2, 3]
    assert np.flatnonzero(informative[1]).tolist() == [11, 12]  # reversed: uniform column comes first


def test_hits_to_mask_errors():
    hit = MotifHit(0, "MA0200.1", "Test", 8, 11, "+", 1.0)
    with pytest.raises(SeqsalError, match="outside"):
        hits_to_mask([hit], 1, 10)
    with pytest.raises(SeqsalError, match="motifs="):
        hits_to_mask([hit], 1, 20, min_information=0.5)


def test_hits_to_frame():
    hits = [MotifHit(3, "MA0200.1", "Test", 2, 5, "-", 1.5)]
    frame = hits_to_frame(hits)
    assert list(frame.columns) == ["sequence_index", "motif_id", "name", "start", "end", "strand", "score"]
    assert frame.iloc[0].tolist() == [3, "MA0200.1", "Test", 2, 5, "-", 1.5]
    assert hits_to_frame([]).shape == (0, 7)


def test_load_adapters_bundled_and_custom(tmp_path):
    adapters = load_adapters()
    assert adapters["illumina_universal_truseq_r1"].startswith("AGATCGGAAGAGC")
    assert adapters["polyA"] == "A" * 12
    path = tmp_path / "mine.fa"
    path.write_text(">a1 my adapter\nacgtn\n>a2\nGG\nTT\n")
    assert load_adapters(path) == {"a1": "ACGTN", "a2": "GGTT"}


@pytest.mark.parametrize("content", ["", "not fasta\n", ">bad\nAC!T\n"])
def test_load_adapters_rejects_bad_files(tmp_path, content):
    path = tmp_path / "adapters.fa"
    path.write_text(content)
    with pytest.raises(SeqsalError):
        load_adapters(path)
    with pytest.raises(SeqsalError, match="missing.fa"):
        load_adapters(tmp_path / "missing.fa")
