"""Property-based tests: the FASTA reader, encoding and length fitting on arbitrary inputs (hypothesis)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqsal import io
from seqsal.encoding import (
    decode, dinucleotide_shuffle, fit_length, one_hot, reverse_complement,
)
from seqsal.errors import SeqsalError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ids = st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF, exclude_categories=("Z", "C"),
                            exclude_characters=">@"), min_size=1,
              max_size=300)
bases = st.text(st.sampled_from("ACGTNacgtnRYWSKM"), min_size=1, max_size=400)
records = st.lists(st.tuples(ids, bases), min_size=1, max_size=8)


def _write(path: Path, items, newline: str, width: int | None, blank_lines: bool, compress: bool, bom: bool):
    lines = []
    for record_id, sequence in items:
        if blank_lines:
            lines.append("")
        lines.append(f">{record_id} some description")
        chunks = [sequence] if width is None else [sequence[i:i + width] for i in range(0, len(sequence), width)]
        lines.extend(chunks)
    text = ("\ufeff" if bom else "") + newline.join(lines) + newline
    data = text.encode()
    path.write_bytes(gzip.compress(data) if compress else data)


@SETTINGS
@given(items=records, newline=st.sampled_from(["\n", "\r\n"]), width=st.one_of(st.none(), st.integers(1, 80)),
       blank_lines=st.booleans(), compress=st.booleans(), bom=st.booleans())
def test_fasta_reader_returns_every_record_as_written(tmp_path, items, newline, width, blank_lines, compress, bom):
    path = tmp_path / "in.fa"
    _write(path, items, newline, width, blank_lines, compress, bom)
    assert [(r.id, r.sequence) for r in io.iter_records(path)] == items


@SETTINGS
@given(items=records, empty_at=st.integers(0, 7))
def test_an_empty_record_is_refused_with_its_id_and_number(tmp_path, items, empty_at):
    empty_at = min(empty_at, len(items) - 1)
    items = [*items[:empty_at], ("empty_one", ""), *items[empty_at:]]
    path = tmp_path / "in.fa"
    path.write_text("".join(f">{i}\n{s}\n" for i, s in items))
    with pytest.raises(SeqsalError, match=rf"'empty_one' \(record {empty_at + 1}\) has no bases"):
        list(io.iter_records(path))


@SETTINGS
@given(sequence=st.text(st.sampled_from("ACGT"), min_size=1, max_size=300))
def test_one_hot_round_trips_and_reverse_complement_is_an_involution(sequence):
    X = one_hot(sequence)
    assert X.shape == (1, 4, len(sequence)) and (X.sum(axis=1) == 1).all()
    assert decode(X) == [sequence]
    assert reverse_complement(reverse_complement(sequence)) == sequence
    np.testing.assert_array_equal(one_hot(reverse_complement(sequence))[0], X[0][::-1, ::-1])


@SETTINGS
@given(sequence=st.text(st.sampled_from("ACGTNRYW"), min_size=1, max_size=300))
def test_ambiguous_bases_encode_as_zero_columns(sequence):
    X = one_hot(sequence)[0]
    ambiguous = np.array([base not in "ACGT" for base in sequence])
    assert (X.sum(axis=0) == ~ambiguous).all()


@SETTINGS
@given(sequence=st.text(st.sampled_from("ACGT"), min_size=2, max_size=300), seed=st.integers(0, 2**31))
def test_dinucleotide_shuffle_keeps_dinucleotide_counts(sequence, seed):
    shuffled = dinucleotide_shuffle(sequence, random_state=seed)

    def pairs(s):
        return sorted(s[i:i + 2] for i in range(len(s) - 1))

    assert pairs(shuffled) == pairs(sequence) and shuffled[0] == sequence[0]


@SETTINGS
@given(sequence=st.text(st.sampled_from("ACGT"), min_size=0, max_size=2000), length=st.integers(1, 600))
def test_fit_length_gives_the_length_and_keeps_the_centre(sequence, length):
    fitted, how = fit_length(sequence, length)
    assert len(fitted) == length
    if len(sequence) >= length:
        assert fitted == sequence[how.offset:how.offset + length]
        assert abs(how.offset - (len(sequence) - length - how.offset)) <= 1
    else:
        left = -how.offset
        assert fitted[left:left + len(sequence)] == sequence
        assert set(fitted[:left] + fitted[left + len(sequence):]) <= {"N"}
