"""Tests for seqsal.simulate: planted-motif datasets, their answer key, files, and planting."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from Bio import SeqIO

from seqsal.encoding import reverse_complement
from seqsal.errors import SeqsalError
from seqsal.motifs import Motif, MotifDatabase
from seqsal.simulate import (
    DEFAULT_BACKGROUND_MOTIFS,
    DEFAULT_ENHANCER_MOTIFS,
    MASK_MIN_INFORMATION,
    SyntheticSet,
    plant,
    read_masks,
    simulate_enhancers,
    write_synthetic_set,
)


@pytest.fixture(scope="module")
def dataset() -> SyntheticSet:
    return simulate_enhancers(200, 120, random_state=7)


@pytest.fixture
def fixed_db() -> MotifDatabase:
    """Deterministic motifs, so every planted instance is known letter for letter."""
    # AACG then a uniform (0-bit) column: AACGn, revcomp nCGTT.
    enhancer = Motif("E1", "Enh", np.column_stack([np.eye(4)[:, [0, 0, 1, 2]], np.full(4, 0.25)]))
    background = Motif("B1", "Bg", np.eye(4)[:, [3, 3, 3, 1]])  # TTTC
    return MotifDatabase([enhancer, background], source="fixed")


def test_default_motifs_exist_in_the_bundled_database():
    db = MotifDatabase.default()
    names = {m.name.upper() for m in db.get_many(DEFAULT_ENHANCER_MOTIFS + DEFAULT_BACKGROUND_MOTIFS)}
    assert names == {"GATA1", "FOS::JUN", "ETS1", "CREB1", "SP1", "CTCF", "NRF1", "YY1"}


def test_same_seed_same_data_other_seed_other_data(dataset):
    again = simulate_enhancers(200, 120, random_state=7)
    assert again.ids == dataset.ids and again.sequences == dataset.sequences
    np.testing.assert_array_equal(again.labels, dataset.labels)
    np.testing.assert_array_equal(again.masks, dataset.masks)
    np.testing.assert_array_equal(again.splits, dataset.splits)
    pd.testing.assert_frame_equal(again.planted, dataset.planted)
    assert simulate_enhancers(200, 120, random_state=8).sequences != dataset.sequences


def test_shapes_ids_labels_and_splits(dataset):
    assert dataset.ids[0] == "syn000001" and dataset.ids[-1] == "syn000200"
    assert all(len(s) == 120 and set(s) <= set("ACGT") for s in dataset.sequences)
    assert dataset.labels.dtype == np.float32 and dataset.labels.sum() == 100
    assert dataset.masks.shape == (200, 120) and dataset.masks.dtype == bool
    # Stratified 0.8 / 0.1 / 0.1 of 100 per class.
    for label in (0, 1):
        splits = dataset.splits[dataset.labels == label]
        assert [(splits == name).sum() for name in ("train", "valid", "test")] == [80, 10, 10]


def test_positive_count_rounds_the_fraction():
    data = simulate_enhancers(101, 60, positive_fraction=0.3, random_state=0)
    assert data.labels.sum() == 30


def test_positives_carry_two_to_four_enhancer_motifs_and_negatives_zero_to_three_background(dataset):
    counts = dataset.planted.groupby(["id", "role"]).size()
    for record_id, label in zip(dataset.ids, dataset.labels):
        enhancer = counts.get((record_id, "enhancer"), 0)
        background = counts.get((record_id, "background"), 0)
        if label == 1:
            assert 2 <= enhancer <= 4 and background == 0
        else:
            assert enhancer == 0 and 0 <= background <= 3
    negatives_without_motif = sum(
        counts.get((i, "background"), 0) == 0 for i, y in zip(dataset.ids, dataset.labels) if y == 0
    )
    assert negatives_without_motif > 0
    assert set(dataset.planted.loc[dataset.planted.role == "enhancer", "name"].str.upper()) == {
        "GATA1", "FOS::JUN", "ETS1", "CREB1", "SP1"
    }


def test_planted_instances_are_in_the_sequences_and_do_not_overlap(dataset):
    db = MotifDatabase.default()
    index = {record_id: i for i, record_id in enumerate(dataset.ids)}
    for record_id, rows in dataset.planted.groupby("id"):
        spans = sorted(zip(rows.start, rows.end))
        assert all(end <= next_start for (_, end), (next_start, _) in zip(spans, spans[1:]))
    for row in dataset.planted.itertuples():
        m = db.get(row.motif_id)
        site = dataset.sequences[index[row.id]][row.start : row.end]
        assert row.end - row.start == m.width
        if row.strand == "-":
            site = reverse_complement(site)
        score = sum(m.log_odds()["ACGT".index(base), j] for j, base in enumerate(site))
        assert row.score == pytest.approx(score)


def test_masks_are_exactly_the_informative_planted_enhancer_positions(dataset):
    db = MotifDatabase.default()
    expected = np.zeros_like(dataset.masks)
    index = {record_id: i for i, record_id in enumerate(dataset.ids)}
    for row in dataset.planted[dataset.planted.role == "enhancer"].itertuples():
        keep = db.get(row.motif_id).information_content() > MASK_MIN_INFORMATION
        expected[index[row.id], row.start : row.end] |= keep if row.strand == "+" else keep[::-1]
    np.testing.assert_array_equal(dataset.masks, expected)
    assert not dataset.masks[dataset.labels == 0].any()
    assert dataset.masks[dataset.labels == 1].any(axis=1).all()


def test_instances_and_masks_follow_the_strand(fixed_db):
    data = simulate_enhancers(
        40, 30, enhancer_motifs="Enh", background_motifs=["Bg"], motif_db=fixed_db, random_state=3
    )
    index = {record_id: i for i, record_id in enumerate(data.ids)}
    expected_mask = np.zeros_like(data.masks)
    for row in data.planted.itertuples():
        i = index[row.id]
        site = data.sequences[i][row.start : row.end]
        if row.motif_id == "B1":
            assert site == {"+": "TTTC", "-": "GAAA"}[row.strand]
        elif row.strand == "+":
            assert site[:4] == "AACG"
            expected_mask[i, row.start : row.start + 4] = True
        else:
            assert site[1:] == "CGTT"
            expected_mask[i, row.start + 1 : row.end] = True
    assert set(data.planted.strand) == {"+", "-"}
    np.testing.assert_array_equal(data.masks, expected_mask)


def test_background_gc_content(fixed_db):
    data = simulate_enhancers(
        200,
        100,
        enhancer_motifs="Enh",
        background_motifs=(),
        gc=0.7,
        positive_fraction=0.0,
        motif_db=fixed_db,
        random_state=0,
    )
    assert data.planted.empty
    gc = sum(s.count("G") + s.count("C") for s in data.sequences) / 20_000
    assert gc == pytest.approx(0.7, abs=0.03)  # binomial sd 0.0046


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"n": 0}, "n must be"),
        ({"n": 10, "length": 20}, "n_motifs allows 4 motifs"),
        ({"n": 10, "n_motifs": (3, 2)}, "n_motifs must be"),
        ({"n": 10, "enhancer_motifs": ["GATA1", "NOTAFACTOR"]}, "NOTAFACTOR"),
        ({"n": 10, "split_fractions": (0.5, 0.5, 0.5)}, "split_fractions"),
        ({"n": 10, "positive_fraction": 1.5}, "positive_fraction"),
    ],
)
def test_invalid_arguments(kwargs, message):
    with pytest.raises(SeqsalError, match=message):
        simulate_enhancers(**kwargs)


def test_subset_keeps_rows_aligned(dataset):
    train = dataset.subset(dataset.splits == "train")
    assert len(train) == 160 and set(train.splits) == {"train"}
    i = dataset.ids.index(train.ids[5])
    assert train.sequences[5] == dataset.sequences[i]
    np.testing.assert_array_equal(train.masks[5], dataset.masks[i])
    assert set(train.planted.id) <= set(train.ids)
    assert len(dataset.subset([3, 1]).ids) == 2 and dataset.subset([3, 1]).ids[0] == "syn000004"


def test_written_files_round_trip(dataset, tmp_path):
    paths = write_synthetic_set(dataset, tmp_path / "out")
    assert {p.name for p in paths.values()} == {
        "train.fa", "valid.fa", "test.fa", "labels.tsv", "masks.npz", "planted.tsv"
    }
    sequences = dict(zip(dataset.ids, dataset.sequences))
    seen = []
    for split in ("train", "valid", "test"):
        for record in SeqIO.parse(paths[split], "fasta"):
            assert str(record.seq) == sequences[record.id]
            seen.append((record.id, split))
    assert sorted(seen) == sorted(zip(dataset.ids, dataset.splits))
    labels = pd.read_csv(paths["labels"], sep="\t")
    assert list(labels.columns) == ["id", "label", "split"]
    assert labels.label.tolist() == dataset.labels.astype(int).tolist()
    masks = read_masks(paths["masks"])
    assert list(masks) == dataset.ids
    np.testing.assert_array_equal(np.stack(list(masks.values())), dataset.masks)
    planted = pd.read_csv(paths["planted"], sep="\t")
    pd.testing.assert_frame_equal(planted, dataset.planted, rtol=1e-5)
    assert not list((tmp_path / "out").glob(".*"))  # no temp files left behind


def test_read_masks_rejects_other_files(tmp_path):
    with pytest.raises(SeqsalError, match="missing.npz"):
        read_masks(tmp_path / "missing.npz")
    np.savez(tmp_path / "other.npz", arr_0=np.zeros(3))
    with pytest.raises(SeqsalError, match="other.npz"):
        read_masks(tmp_path / "other.npz")


def test_plant_overwrites_in_place():
    assert plant("AAAAAA", "CG", 2) == "AACGAA"
    assert plant("AAAAAA", "CG", 4) == "AAAACG"
    with pytest.raises(SeqsalError, match="choose a position from 0 to 4"):
        plant("AAAAAA", "CG", 5)
    with pytest.raises(SeqsalError):
        plant("AAAAAA", "CG", -1)
