import gzip

import numpy as np
import pandas as pd
import pytest

from seqsal import io
from seqsal.errors import SeqsalError


def _write(path, text):
    path.write_text(text)
    return path


def test_reads_plain_and_gzipped_fasta(tmp_path):
    text = ">a desc\nACGT\nAC\n>b\nTTTT\n"
    plain = _write(tmp_path / "x.fa", text)
    zipped = tmp_path / "x.fa.gz"
    with gzip.open(zipped, "wt") as handle:
        handle.write(text)
    expected = [io.Record("a", "ACGTAC", "desc"), io.Record("b", "TTTT")]  # the header after the id is kept
    assert io.read_fasta(plain) == expected
    assert io.read_fasta(zipped) == expected


def test_batches_stream(tmp_path):
    path = _write(tmp_path / "x.fa", "".join(f">s{i}\nACGT\n" for i in range(7)))
    sizes = [len(b) for b in io.iter_batches(io.iter_records(path), 3)]
    assert sizes == [3, 3, 1]


@pytest.mark.parametrize(
    "content, message",
    [("", "empty"), ("hello world\n", "not a FASTA"), (">only header\n", "'only' \\(record 1\\) has no bases")],
)
def test_bad_fasta_files(tmp_path, content, message):
    path = _write(tmp_path / "bad.fa", content)
    with pytest.raises(SeqsalError, match=message):
        io.read_fasta(path)


def test_missing_file(tmp_path):
    with pytest.raises(SeqsalError, match="no such file"):
        io.read_fasta(tmp_path / "nope.fa")


def test_labels_alignment(tmp_path):
    labels = io.read_labels(_write(tmp_path / "l.tsv", "id\tlabel\tsplit\nb\t1\ttrain\na\t0\ttest\n"))
    y = io.labels_for([io.Record("a", "A"), io.Record("b", "C")], labels)
    np.testing.assert_array_equal(y, [[0], [1]])
    with pytest.raises(SeqsalError, match="no label"):
        io.labels_for([io.Record("zzz", "A")], labels)


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.txt"
    with pytest.raises(RuntimeError):
        with io.atomic_path(target) as temp:
            temp.write_text("partial")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_npz_is_positional_for_modisco(tmp_path):
    array = np.arange(24, dtype=np.float32).reshape(2, 4, 3)
    io.write_npz(tmp_path / "a.npz", array)
    with np.load(tmp_path / "a.npz") as data:
        assert list(data.keys()) == ["arr_0"]
        np.testing.assert_array_equal(data["arr_0"], array)


def test_every_top_level_name_resolves():
    import seqsal

    for name in seqsal.__all__:
        assert callable(getattr(seqsal, name)) or name == "__version__", name


def test_read_tsv_keeps_ids_and_chromosome_names_as_text(tmp_path):
    """Ensembl chromosomes are named 1, 2, ...; with a record lacking coordinates pandas would read 1.0."""
    from seqsal.io import read_tsv

    path = tmp_path / "scores.tsv"
    path.write_text("id\tchrom\tstart\nNA\t1\t100\n007\t\t\nx\tX\t5\n")
    table = read_tsv(path)
    assert table["id"].tolist() == ["NA", "007", "x"]
    assert table["chrom"].tolist()[0::2] == ["1", "X"] and pd.isna(table["chrom"][1])


def test_header_descriptions_round_trip_and_may_hold_coordinates(tmp_path):
    """>peak7 chr1:100-200: the id is peak7, the coordinates come from the rest of the header, and writing the
    record back keeps them (seqsal split's shards)."""
    path = _write(tmp_path / "x.fa", ">peak7 chr1:100-104(-)\nACGT\n>chr2:5-9 note\nACGT\n>plain words only\nACGT\n")
    records = io.read_fasta(path)
    assert [r.id for r in records] == ["peak7", "chr2:5-9", "plain"]
    assert [io.record_coordinates(r) for r in records] == [("chr1", 100, 104, "-"), ("chr2", 5, 9, None), None]
    io.write_fasta(tmp_path / "y.fa", records)
    assert io.read_fasta(tmp_path / "y.fa") == records
