"""Synthetic enhancer sets with planted motifs: data where the right explanation is known.

Real enhancers carry no answer key, so an attribution map cannot be graded on
them.  Following Koo & Ploenzke (Nature Machine Intelligence, 2021), positives
here are random DNA with a few *sampled* instances of enhancer motifs planted,
negatives are random DNA with instances of unrelated "background" motifs, and
the ground truth is the set of informative positions of the planted enhancer
motifs.  Negatives carry motifs too, so a model must learn *which* motifs
matter, not merely that a motif-like stretch is present.  :func:`plant` is the
same operation on a single sequence, used to insert sequencing-adapter
artifacts for the shortcut experiments.
"""

from __future__ import annotations

from dataclasses import dataclass
from os import PathLike
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from seqsal.encoding import ALPHABET, reverse_complement
from seqsal.errors import check
# read_masks and MASK_MIN_INFORMATION live below simulate (evaluate reads masks too) and stay importable here.
from seqsal.io import Record, atomic_path, read_masks, write_fasta, write_table  # noqa: F401
from seqsal.motifs import ENHANCER_MOTIFS, MASK_MIN_INFORMATION, Motif, MotifDatabase, MotifHit, hits_to_mask
from seqsal.runs import RunFolder

DEFAULT_ENHANCER_MOTIFS = ENHANCER_MOTIFS
"""Activators with distinct, well-known sites (GATA, AP-1, ETS, CRE, GC box), as in Koo & Ploenzke."""

DEFAULT_BACKGROUND_MOTIFS = ("CTCF", "NRF1", "YY1")
"""Factors unrelated to the enhancer set (insulator, promoter and repressor motifs) that decorate negatives."""

SPLITS = ("train", "valid", "test")
PLANTED_COLUMNS = ["id", "motif_id", "name", "start", "end", "strand", "score", "role"]


@dataclass
class SyntheticSet:
    """A labelled synthetic dataset and its answer key.

    Attributes
    ----------
    ids
        Record ids, ``syn000001`` onwards.
    sequences
        Upper-case DNA, all of one length.
    labels
        ``(N,)`` float32, 1 for a positive (enhancer motifs planted), else 0.
    masks
        ``(N, L)`` bool ground truth: positions of planted enhancer motifs
        whose information content exceeds :data:`MASK_MIN_INFORMATION`;
        all-false for negatives.
    splits
        ``(N,)`` strings ``"train"``, ``"valid"`` or ``"test"``.
    planted
        One row per planted instance: ``id, motif_id, name, start, end,
        strand, score, role``; ``score`` is the instance's log2-odds under its
        motif (how strong the sampled site is), ``role`` is ``"enhancer"`` or
        ``"background"``.
    """

    ids: list[str]
    sequences: list[str]
    labels: np.ndarray
    masks: np.ndarray
    splits: np.ndarray
    planted: pd.DataFrame

    def __len__(self) -> int:
        return len(self.ids)

    def subset(self, selection: np.ndarray | Sequence[int] | Sequence[bool]) -> SyntheticSet:
        """The records picked by a boolean mask or integer indices, e.g. ``s.subset(s.splits == "train")``."""
        index = np.arange(len(self))[np.asarray(selection)]
        ids = [self.ids[i] for i in index]
        return SyntheticSet(
            ids=ids,
            sequences=[self.sequences[i] for i in index],
            labels=self.labels[index],
            masks=self.masks[index],
            splits=self.splits[index],
            planted=self.planted[self.planted["id"].isin(ids)].reset_index(drop=True),
        )


def simulate_enhancers(
    n: int,
    length: int = 249,
    *,
    enhancer_motifs: str | Iterable[str] = DEFAULT_ENHANCER_MOTIFS,
    background_motifs: str | Iterable[str] = DEFAULT_BACKGROUND_MOTIFS,
    n_motifs: tuple[int, int] = (2, 4),
    n_background_motifs: tuple[int, int] = (0, 3),
    positive_fraction: float = 0.5,
    gc: float = 0.41,
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    motif_db: MotifDatabase | None = None,
    random_state: int | np.random.Generator | None = None,
) -> SyntheticSet:
    """Simulate enhancer-like positives and motif-decorated negatives with a known answer key.

    Every sequence starts as independent bases with the given GC content.
    Positives get between ``n_motifs[0]`` and ``n_motifs[1]`` enhancer-motif
    instances, negatives between ``n_background_motifs[0]`` and
    ``n_background_motifs[1]`` background-motif instances.  Each instance
    picks a motif at random, *samples* its bases from the matrix columns (so
    sites vary like real ones instead of repeating the consensus) and lands on
    a random strand at a random position, never overlapping another instance.

    Parameters
    ----------
    n
        Number of sequences.
    length
        Sequence length; 249 matches DeepSTARR.
    enhancer_motifs, background_motifs
        TF names or matrix ids (a list or ``"A,B"``), looked up in ``motif_db``.
        ``background_motifs`` may be empty for motif-free negatives.
    n_motifs, n_background_motifs
        Inclusive ranges of instances per positive and per negative.
    positive_fraction
        Share of positives; their number is ``round(n * positive_fraction)``.
    gc
        GC content of the random background; 0.41 is the human genome average
        and close to Drosophila's.
    split_fractions
        Train/valid/test shares, applied within each class so every split
        keeps the positive fraction.
    motif_db
        Where names are looked up; the bundled JASPAR database by default.
    random_state
        Seed or generator; the same seed gives an identical dataset.

    Raises
    ------
    SeqsalError
        For a bad count, fraction or length, or an unknown motif name.
    """
    check(n > 0, f"n must be a positive number of sequences, got {n}")
    check(0 <= positive_fraction <= 1, f"positive_fraction must lie in [0, 1], got {positive_fraction}")
    check(0 < gc < 1, f"gc must lie strictly between 0 and 1, got {gc}")
    check(
        len(split_fractions) == 3 and min(split_fractions) >= 0 and abs(sum(split_fractions) - 1) < 1e-6,
        f"split_fractions must be three non-negative train/valid/test shares summing to 1, got {split_fractions}",
    )
    db = motif_db if motif_db is not None else MotifDatabase.default()
    enhancers = db.get_many(enhancer_motifs)
    backgrounds = _lookup_optional(db, background_motifs)
    _check_fit("n_motifs", n_motifs, enhancers, length)
    _check_fit("n_background_motifs", n_background_motifs, backgrounds, length)

    rng = np.random.default_rng(random_state)
    labels = np.zeros(n, dtype=np.float32)
    labels[rng.permutation(n)[: round(n * positive_fraction)]] = 1
    base_probabilities = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    letters = np.array(list(ALPHABET))[rng.choice(4, size=(n, length), p=base_probabilities)]

    log_odds = {motif.id: motif.log_odds() for motif in enhancers + backgrounds}
    ids = [f"syn{i + 1:06d}" for i in range(n)]
    sequences = []
    planted_rows = []
    hits = []
    for i, record_id in enumerate(ids):
        positive = labels[i] == 1
        pool, (low, high), role = (
            (enhancers, n_motifs, "enhancer") if positive else (backgrounds, n_background_motifs, "background")
        )
        count = int(rng.integers(low, high + 1)) if pool else 0
        chosen = [pool[k] for k in rng.integers(len(pool), size=count)]
        starts = _non_overlapping_starts([motif.width for motif in chosen], length, rng)
        sequence = "".join(letters[i])
        for motif, start in zip(chosen, starts):
            strand = "+" if rng.random() < 0.5 else "-"
            instance = _sample_instance(motif, rng)
            letter_rows = [ALPHABET.index(base) for base in instance]
            score = float(log_odds[motif.id][letter_rows, np.arange(motif.width)].sum())
            sequence = plant(sequence, instance if strand == "+" else reverse_complement(instance), start)
            end = start + motif.width
            planted_rows.append([record_id, motif.id, motif.name, start, end, strand, score, role])
            if positive:
                hits.append(MotifHit(i, motif.id, motif.name, start, end, strand, score))
        sequences.append(sequence)

    return SyntheticSet(
        ids=ids,
        sequences=sequences,
        labels=labels,
        masks=hits_to_mask(hits, n, length, motifs=enhancers, min_information=MASK_MIN_INFORMATION),
        splits=_stratified_splits(labels, split_fractions, rng),
        planted=pd.DataFrame(planted_rows, columns=PLANTED_COLUMNS),
    )


def _lookup_optional(db: MotifDatabase, keys: str | Iterable[str]) -> list[Motif]:
    """Like :meth:`MotifDatabase.get_many`, but an empty selection means "no motifs" rather than an error."""
    keys = [k for k in (keys.split(",") if isinstance(keys, str) else keys) if k.strip()]
    return db.get_many(keys) if keys else []


def _check_fit(argument: str, counts: tuple[int, int], motifs: list[Motif], length: int) -> None:
    """Reject an instance range that is malformed or cannot fit the widest motifs side by side."""
    low, high = counts
    check(
        0 <= low <= high,
        f"{argument} must be an inclusive (min, max) range with 0 <= min <= max, got {counts}",
    )
    widest = max((motif.width for motif in motifs), default=0)
    check(
        high * widest <= length,
        f"{argument} allows {high} motifs of up to {widest} bp, which do not fit in length {length}; "
        "lower the maximum or lengthen the sequences",
    )


def _non_overlapping_starts(widths: list[int], length: int, rng: np.random.Generator) -> list[int]:
    """Random start positions for motifs of these widths, in the given order, that never overlap.

    The free bases (``length - sum(widths)``) are split into gaps by sorted
    uniform cut points, and the motifs are laid out in a random order between
    them: always succeeds, with no rejection loop.
    """
    slack = length - sum(widths)
    cuts = np.sort(rng.integers(0, slack + 1, size=len(widths)))
    order = rng.permutation(len(widths))
    starts = [0] * len(widths)
    occupied = 0
    for cut, k in zip(cuts, order):
        starts[k] = int(cut) + occupied
        occupied += widths[k]
    return starts


def _sample_instance(motif: Motif, rng: np.random.Generator) -> str:
    """Draw one site from the motif: each base independently from its column's distribution."""
    cumulative = motif.pwm.cumsum(axis=0)
    draws = rng.random(motif.width)
    rows = np.minimum((draws > cumulative).sum(axis=0), 3)
    return "".join(ALPHABET[r] for r in rows)


def _stratified_splits(labels: np.ndarray, fractions: Sequence[float], rng: np.random.Generator) -> np.ndarray:
    """Assign train/valid/test within each class so every split keeps the class balance."""
    splits = np.empty(len(labels), dtype="<U5")
    for value in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == value))
        n_train = round(len(members) * fractions[0])
        n_valid = round(len(members) * fractions[1])
        splits[members[:n_train]] = "train"
        splits[members[n_train : n_train + n_valid]] = "valid"
        splits[members[n_train + n_valid :]] = "test"
    return splits


def plant(sequence: str, insert: str, position: int) -> str:
    """Overwrite ``sequence`` with ``insert`` starting at 0-based ``position``; the length is unchanged.

    Overwriting, not inserting, keeps every sequence at the model's input
    length and every other base at its coordinate, so masks stay aligned.

    Raises
    ------
    SeqsalError
        If the insert does not fit inside the sequence at that position.
    """
    check(
        0 <= position and position + len(insert) <= len(sequence),
        f"cannot plant {len(insert)} bp at position {position} of a {len(sequence)} bp sequence; "
        f"choose a position from 0 to {len(sequence) - len(insert)}",
    )
    return sequence[:position] + insert + sequence[position + len(insert) :]


def write_synthetic_set(dataset: SyntheticSet, out_dir: str | PathLike[str]) -> dict[str, Path]:
    """Write a dataset as FASTA per split plus its labels and answer key, each file atomically.

    Atomic writes (:func:`seqsal.io.atomic_path`) mean an interrupted run
    never leaves a truncated file that a later training run would trust.

    Files: ``train.fa``, ``valid.fa``, ``test.fa`` (one line per sequence),
    ``labels.tsv`` (``id, label, split``), ``masks.npz`` (arrays ``ids`` and
    ``mask``; read it back with :func:`read_masks`) and ``planted.tsv``.
    ``out_dir`` is created if needed; files of these names in it are replaced.

    Returns
    -------
    dict
        ``{"train", "valid", "test", "labels", "masks", "planted"}`` -> path.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {split: out / f"{split}.fa" for split in SPLITS}
    paths |= {"labels": out / "labels.tsv", "masks": out / "masks.npz", "planted": out / "planted.tsv"}
    records = [Record(record_id, sequence) for record_id, sequence in zip(dataset.ids, dataset.sequences)]
    for split in SPLITS:
        write_fasta(paths[split], (record for record, where in zip(records, dataset.splits) if where == split))
    labels = pd.DataFrame({"id": dataset.ids, "label": dataset.labels.astype(int), "split": dataset.splits})
    write_table(paths["labels"], labels)
    with atomic_path(paths["masks"]) as temp, open(temp, "wb") as handle:
        np.savez_compressed(handle, ids=np.array(dataset.ids), mask=dataset.masks)
    write_table(paths["planted"], dataset.planted)
    return paths


def simulate_to_folder(
    out: str | PathLike[str],
    n: int,
    length: int = 249,
    *,
    positive_fraction: float = 0.5,
    random_state: int = 0,
    force: bool = False,
) -> tuple[SyntheticSet, dict[str, Path]]:
    """Simulate an enhancer set (:func:`simulate_enhancers`) and write it as a seqsal run folder.

    The folder gets the files of :func:`write_synthetic_set` and a manifest
    with the settings, so the set can be regenerated exactly.
    """
    folder = RunFolder.claim(out, "simulate", force=force)
    folder.start({"n": n, "length": length, "seed": random_state, "positive_fraction": positive_fraction})
    dataset = simulate_enhancers(n, length, positive_fraction=positive_fraction, random_state=random_state)
    paths = write_synthetic_set(dataset, folder.path)
    folder.finish({key: path.name for key, path in paths.items()})
    return dataset, paths
