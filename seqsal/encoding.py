"""One-hot encoding of DNA and the sequence transforms that act on it.

Layout convention: alphabet ``ACGT`` in that order, tensors ``(N, 4, L)`` with
length last (the layout of ``torch.nn.Conv1d``, Captum, tangermeme and
tfmodisco-lite).  Soft-masked (lowercase) bases are upper-cased; ``N`` and the
other IUPAC ambiguity codes encode as an all-zero column, so a model sees "no
information" rather than a guessed base.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np

from seqsal.errors import SeqsalError, check

ALPHABET = "ACGT"
IUPAC_DNA = frozenset("ACGTNRYSWKMBDHV")
#: The IUPAC codes other than ACGT, in a fixed order: each encodes as an all-zero column.
AMBIGUITY_CODES = "NRYSWKMBDHV"

# Byte lookup: ACGT map to their row, other IUPAC codes to 4 (all-zero column),
# anything else to 5 (an error).
_CODE = np.full(256, 5, dtype=np.int8)
for _letter in IUPAC_DNA:
    _CODE[ord(_letter)] = 4
    _CODE[ord(_letter.lower())] = 4
for _row, _letter in enumerate(ALPHABET):
    _CODE[ord(_letter)] = _row
    _CODE[ord(_letter.lower())] = _row

_COMPLEMENT = str.maketrans("ACGTNRYSWKMBDHVacgtnryswkmbdhv", "TGCANYRSWMKVHDBtgcanyrswmkvhdb")


def encode_indices(sequence: str, record_id: str = "sequence") -> np.ndarray:
    """Map a sequence to row indices: 0-3 for ``ACGT``, 4 for any other IUPAC code.

    Raises
    ------
    SeqsalError
        If a character is not IUPAC DNA; the message names the record and the
        1-based position.
    """
    codes = _CODE[np.frombuffer(sequence.encode("ascii", errors="replace"), dtype=np.uint8)]
    bad = np.flatnonzero(codes == 5)
    if bad.size:
        position = int(bad[0])
        raise SeqsalError(
            f"record {record_id!r} has {sequence[position]!r} at position {position + 1}, "
            "which is not an IUPAC DNA code; fix or remove that record"
        )
    return codes


def one_hot(
    sequences: str | Sequence[str],
    ids: Sequence[str] | None = None,
    dtype: np.dtype | type = np.float32,
) -> np.ndarray:
    """One-hot encode DNA sequences of equal length into ``(N, 4, L)``.

    Parameters
    ----------
    sequences
        One sequence or a list of them; all must have the same length (use
        :func:`fit_length` first for ragged input).
    ids
        Record identifiers, used only to name the culprit in error messages.
    dtype
        Output dtype; float32 is what models consume.

    Returns
    -------
    numpy.ndarray
        ``(N, 4, L)`` with rows ``A, C, G, T``; ambiguity codes give a zero column.
    """
    if isinstance(sequences, str):
        sequences = [sequences]
    ids = list(ids) if ids is not None else [f"sequence {i + 1}" for i in range(len(sequences))]
    check(len(sequences) > 0, "no sequences to encode; the input is empty")
    length = len(sequences[0])
    out = np.zeros((len(sequences), 5, length), dtype=dtype)
    for i, (sequence, record_id) in enumerate(zip(sequences, ids)):
        check(
            len(sequence) == length,
            f"record {record_id!r} has length {len(sequence)} but the first record has {length}; "
            "sequences in one batch must share a length (use --fit to crop or pad)",
        )
        out[i, encode_indices(sequence, record_id), np.arange(length)] = 1
    return np.ascontiguousarray(out[:, :4])


def decode(X: np.ndarray) -> list[str]:
    """Turn ``(N, 4, L)`` one-hot arrays back into strings; all-zero columns become ``N``.

    A column with several non-zero entries (e.g. attributions, not one-hot) is
    decoded to its arg-max base, which is what a logo of it would show on top.
    """
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    check(X.ndim == 3 and X.shape[1] == 4, f"expected a (N, 4, L) array, got shape {X.shape}")
    letters = np.array(list(ALPHABET + "N"))
    index = np.where(np.abs(X).sum(axis=1) == 0, 4, X.argmax(axis=1))
    return ["".join(row) for row in letters[index]]


def reverse_complement(sequence: str | np.ndarray) -> str | np.ndarray:
    """Reverse complement a string or a one-hot array ``(..., 4, L)``.

    With rows ordered ``ACGT``, complementing is reversing the rows (A<->T,
    C<->G), so the array case is a pure flip of the last two axes.
    """
    if isinstance(sequence, str):
        return sequence.translate(_COMPLEMENT)[::-1]
    array = np.asarray(sequence)
    check(array.shape[-2] == 4, f"expected a one-hot array with 4 rows, got shape {array.shape}")
    return np.ascontiguousarray(array[..., ::-1, ::-1])


def dinucleotide_shuffle(sequence: str, random_state: int | np.random.Generator | None = None) -> str:
    """Shuffle a sequence while keeping its exact dinucleotide counts.

    This is the Altschul-Erickson construction: the sequence is an Eulerian
    path through the graph whose vertices are letters and whose edges are its
    dinucleotides.  A uniformly random Eulerian path with the same start and
    end is drawn by (1) choosing, for every letter but the last, a random
    "last exit" edge such that the last exits form a tree pointing at the final
    letter (rejection sampling, cheap for a 4-5 letter alphabet), (2) shuffling
    the other exits, and (3) walking.  Mononucleotide and dinucleotide counts,
    the first and the last letter are all preserved.

    Parameters
    ----------
    sequence
        Any string; case is kept as given (``N`` is just another letter).
    random_state
        Seed or generator; the same seed gives the same shuffle.
    """
    rng = np.random.default_rng(random_state)
    if len(sequence) <= 2:
        return sequence
    exits: dict[str, list[str]] = {}
    for left, right in zip(sequence, sequence[1:]):
        exits.setdefault(left, []).append(right)
    last = sequence[-1]
    sources = [letter for letter in exits if letter != last]
    while True:
        last_exit = {letter: exits[letter][rng.integers(len(exits[letter]))] for letter in sources}
        if _reaches(last_exit, last):
            break
    order: dict[str, list[str]] = {}
    for letter, targets in exits.items():
        targets = list(targets)
        if letter in last_exit:
            targets.remove(last_exit[letter])
        rng.shuffle(targets)
        if letter in last_exit:
            targets.append(last_exit[letter])
        order[letter] = targets[::-1]  # pop() from the end walks them in order
    walk = [sequence[0]]
    for _ in range(len(sequence) - 1):
        walk.append(order[walk[-1]].pop())
    return "".join(walk)


def _reaches(last_exit: dict[str, str], root: str) -> bool:
    """True when following last-exit edges from every letter ends at ``root`` (a tree, no cycle)."""
    for start in last_exit:
        seen = {start}
        letter = start
        while letter != root:
            letter = last_exit[letter]
            if letter in seen:
                return False
            seen.add(letter)
    return True


def dinucleotide_shuffles(
    sequences: Iterable[str], n_shuffles: int = 1, random_state: int | np.random.Generator | None = None
) -> list[list[str]]:
    """``n_shuffles`` independent dinucleotide shuffles of each sequence, from one seeded stream."""
    rng = np.random.default_rng(random_state)
    return [[dinucleotide_shuffle(s, rng) for _ in range(n_shuffles)] for s in sequences]


@dataclass(frozen=True)
class LengthFit:
    """How one sequence was fitted to a model's input length.

    ``offset`` maps positions: input position ``p`` of the original sequence is
    model position ``p - offset`` (cropping gives a positive offset, padding a
    negative one).
    """

    action: str  # "unchanged", "cropped" or "padded"
    original_length: int
    offset: int


def fit_length(sequence: str, length: int) -> tuple[str, LengthFit]:
    """Centre-crop or ``N``-pad ``sequence`` to exactly ``length`` bases.

    Cropping keeps the centre because peak summits and STARR-seq fragments are
    centred; padding with ``N`` adds zero columns, which contribute nothing to a
    convolution, rather than invented bases.
    """
    check(length > 0, f"model length must be positive, got {length}")
    n = len(sequence)
    if n == length:
        return sequence, LengthFit("unchanged", n, 0)
    if n > length:
        start = (n - length) // 2
        return sequence[start : start + length], LengthFit("cropped", n, start)
    left = (length - n) // 2
    right = length - n - left
    return "N" * left + sequence + "N" * right, LengthFit("padded", n, -left)
