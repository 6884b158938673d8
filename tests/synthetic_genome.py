"""A small synthetic genome and peak file, built in a test's folder, shared by test_genome and test_tracks.

Three chromosomes of different sizes; peaks on both strands, at both ends of
a chromosome (their 40-base windows run off it), overlapping each other, one
repeated, and not sorted.  ``expected_window`` says, independently of
seqsal's code, which genome base each model column holds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from seqsal.encoding import ALPHABET, reverse_complement

SIZES = {"chr1": 400, "chr2": 130, "chrX": 90}
LENGTH = 40  # the tiny model's input length

#: chrom, start, end, name, strand, summit (-1: none): BED6 + summit as narrowPeak's 10th column.
PEAKS = [
    ("chr1", 100, 160, "plus_a", "+", 20),
    ("chr1", 110, 150, "minus_b", "-", -1),   # overlaps plus_a
    ("chr1", 125, 145, "plus_c", "+", 5),     # overlaps both
    ("chr1", 2, 12, "left_end", "-", -1),      # window runs off the start of chr1
    ("chr2", 120, 130, "right_end", "+", -1),  # window runs off the end of chr2
    ("chrX", 30, 70, "x_minus", "-", 10),
    ("chr1", 300, 330, "far", "+", -1),
    ("chr1", 110, 150, "minus_b", "-", -1),   # a repeat: allowed, renamed minus_b_2
]


def write_genome(folder: Path, seed: int = 0, soft_mask: bool = True) -> tuple[Path, dict[str, str]]:
    """A FASTA genome with 60-base lines (some bases lower-case, one N run) and its sequences."""
    rng = np.random.default_rng(seed)
    sequences = {}
    for name, size in SIZES.items():
        bases = list("".join(rng.choice(list(ALPHABET), size)))
        if soft_mask:
            bases[10:20] = [b.lower() for b in bases[10:20]]
        sequences[name] = "".join(bases)
    sequences["chr1"] = sequences["chr1"][:200] + "NNNNN" + sequences["chr1"][205:]
    path = folder / "genome.fa"
    with open(path, "w") as handle:
        for name, sequence in sequences.items():
            handle.write(f">{name} synthetic\n")
            handle.writelines(sequence[i:i + 60] + "\n" for i in range(0, len(sequence), 60))
    return path, sequences


def write_peaks(folder: Path, peaks=PEAKS) -> Path:
    """The peaks as narrowPeak (ten columns, summit in the 10th)."""
    path = folder / "peaks.narrowPeak"
    with open(path, "w") as handle:
        handle.write("track name=peaks\n")
        for chrom, start, end, name, strand, summit in peaks:
            handle.write(f"{chrom}\t{start}\t{end}\t{name}\t0\t{strand}\t5.0\t-1\t-1\t{summit}\n")
    return path


def expected_window(peak, stranded: bool) -> tuple[int, bool]:
    """The genome position of model column 0 and whether columns run backwards (a reverse-complemented peak).

    Column ``j`` holds genome base ``first + j`` (forward) or ``first - j``
    (backward, complemented); positions outside the chromosome are ``N``.
    """
    _, start, end, _, strand, summit = peak
    centre = start + summit if summit >= 0 else (start + end) // 2
    window_start = centre - LENGTH // 2
    if stranded and strand == "-":
        return window_start + LENGTH - 1, True
    return window_start, False


def expected_sequence(peak, genome: dict[str, str], stranded: bool) -> str:
    """The bases the model should read for ``peak``, built base by base from the genome."""
    first, backwards = expected_window(peak, stranded)
    chromosome = genome[peak[0]].upper()
    bases = []
    for j in range(LENGTH):
        g = first - j if backwards else first + j
        base = chromosome[g] if 0 <= g < len(chromosome) else "N"
        bases.append(reverse_complement(base) if backwards else base)
    return "".join(bases)
