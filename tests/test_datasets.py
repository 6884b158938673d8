from collections import Counter

import numpy as np

from seqsal import datasets
from seqsal.encoding import decode


def test_shuffled_negatives_keep_dinucleotides_and_labels(tmp_path):
    pos = tmp_path / "pos.fa"
    pos.write_text(">a\nACGTTGCAAGGCTTAC\n>b\nGGGATCCATTAGCAAT\n")
    data = datasets.from_pos_neg(pos, "shuffle", random_state=1)
    assert data.ids == ["a", "b", "a_shuf", "b_shuf"]
    np.testing.assert_array_equal(data.y[:, 0], [1, 1, 0, 0])
    sequences = decode(data.X)
    for original, shuffled in zip(sequences[:2], sequences[2:]):
        assert Counter(original[i:i + 2] for i in range(15)) == Counter(shuffled[i:i + 2] for i in range(15))


def test_fit_reports_what_happened(tmp_path):
    from seqsal.io import Record

    X, fits = datasets.encode_records([Record("long", "A" * 12), Record("short", "C" * 6)], length=8, fit=True)
    assert X.shape == (2, 4, 8)
    assert [f.action for f in fits] == ["cropped", "padded"]
    assert X[1].sum(axis=0).tolist() == [0, 1, 1, 1, 1, 1, 1, 0]  # N padding is all-zero columns


def test_reverse_complement_augmentation_doubles_with_same_targets(tmp_path):
    pos = tmp_path / "pos.fa"
    pos.write_text(">a\nAACG\n")
    data = datasets.from_pos_neg(pos, "shuffle", random_state=0).with_reverse_complements()
    assert data.ids == ["a", "a_shuf", "a_rc", "a_shuf_rc"]
    assert decode(data.X)[2] == "CGTT"
    np.testing.assert_array_equal(data.y[:, 0], [1, 0, 1, 0])


def test_reverse_complement_augmentation_can_keep_shared_flanks():
    records = [datasets.io.Record("a", "GGAACGTT"), datasets.io.Record("b", "GGCATCTT")]
    X, _ = datasets.encode_records(records)
    data = datasets.LabelledSet(["a", "b"], X, np.array([[1.0], [2.0]], dtype=np.float32), ("y",))
    assert decode(data.with_reverse_complements(keep_flanks=True).X) == [
        "GGAACGTT", "GGCATCTT", "GG" + "CGTT" + "TT", "GG" + "GATG" + "TT"]  # adapters GG...TT kept as they are
    assert decode(data.with_reverse_complements().X)[2:] == ["AACGTTCC", "AAGATGCC"]
