"""Planting the adapter: where it fits, how it is written, and the data of one run with and without it.

Every sequence gets one adapter position that does not overlap any planted
motif (:func:`place_adapters`), so the motif masks stay valid after planting;
a sequence with no such room never carries the adapter.  Placement is
``"random"`` (anywhere free; every 200-bp sequence has room for 33 nt) or
``"3prime"`` (the last bases, as read-through into the adapter when the
insert is shorter than the read; a motif sits there in about half of the
200-bp positives, so high rates fall short, and ``achieved_rate`` in
``reliance.tsv`` says by how much).  Contamination at a rate takes the
positives with room in one fixed random order, so the rates are nested: the
sequences contaminated at 0.1 are also contaminated at 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Sequence

import numpy as np

from seqsal.checks import check_choice
from seqsal.encoding import one_hot
from seqsal.errors import check
from seqsal.motifs import load_adapters
from seqsal.simulate import SyntheticSet, plant, simulate_enhancers

if TYPE_CHECKING:
    from seqsal.experiments.shortcut.config import ShortcutConfig

DEFAULT_ADAPTER = "illumina_universal_truseq_r1"
"""Illumina TruSeq read-1 adapter: the most common adapter left in short-read data."""

PLACEMENTS = ("random", "3prime")


def adapter_insert(name: str = DEFAULT_ADAPTER, length: int | None = None,
                   adapters: dict[str, str] | None = None) -> str:
    """The bases to plant: adapter ``name``, or its first ``length`` bases.

    A prefix, not any substring, because read-through reads the adapter from
    its 5' end: a short insert leaves the start of the adapter in the read.

    Parameters
    ----------
    name
        Record id in ``adapters``.
    length
        Prefix length; ``None`` for the whole adapter.
    adapters
        Id -> sequence, as from :func:`seqsal.motifs.load_adapters`; the
        bundled list by default.
    """
    adapters = load_adapters() if adapters is None else adapters
    check(name in adapters, f"unknown adapter {name!r}; choose one of {', '.join(adapters)}")
    sequence = adapters[name]
    length = len(sequence) if length is None else length
    check(
        0 < length <= len(sequence),
        f"adapter_length {length} does not fit adapter {name!r} of {len(sequence)} nt; give 1 to {len(sequence)}",
    )
    return sequence[:length]


def adapter_room(dataset: SyntheticSet, width: int) -> np.ndarray:
    """``(N, L - width + 1)`` bool: where a ``width``-bp insert can start without touching a planted motif.

    Planting over a motif would destroy it while its mask still claims it is
    there, so the adapter only goes where the answer key stays true.  Every
    planted instance counts, enhancer and background motifs alike.
    """
    n, length = len(dataset), len(dataset.sequences[0])
    check(0 < width <= length, f"an adapter of {width} nt does not fit sequences of {length} bp; shorten it")
    row_of = {record_id: row for row, record_id in enumerate(dataset.ids)}
    rows = dataset.planted["id"].map(row_of).to_numpy(dtype=np.int64)
    boundaries = np.zeros((n, length + 1), dtype=np.int64)
    np.add.at(boundaries, (rows, dataset.planted["start"].to_numpy(dtype=np.int64)), 1)
    np.add.at(boundaries, (rows, dataset.planted["end"].to_numpy(dtype=np.int64)), -1)
    covered = np.cumsum(boundaries, axis=1)[:, :length] > 0
    prefix = np.concatenate([np.zeros((n, 1), dtype=np.int64), np.cumsum(covered, axis=1)], axis=1)
    return (prefix[:, width:] - prefix[:, :-width]) == 0


def place_adapters(
    dataset: SyntheticSet, width: int, placement: str = "random",
    random_state: int | np.random.Generator | None = None,
) -> np.ndarray:
    """One adapter start per sequence, clear of planted motifs; ``-1`` where there is no room.

    ``"random"`` draws uniformly among the free starts; ``"3prime"`` takes the
    last ``width`` bases, the read-through position, and gives ``-1`` when a
    motif sits there.

    Returns
    -------
    numpy.ndarray
        ``(N,)`` int64 0-based starts.
    """
    check_choice(placement, "placement", PLACEMENTS)
    room = adapter_room(dataset, width)
    if placement == "3prime":
        return np.where(room[:, -1], room.shape[1] - 1, -1).astype(np.int64)
    keys = np.where(room, np.random.default_rng(random_state).random(room.shape), -1.0)
    return np.where(room.any(axis=1), keys.argmax(axis=1), -1).astype(np.int64)


def plant_adapters(sequences: Sequence[str], starts: np.ndarray, insert: str) -> list[str]:
    """Overwrite each sequence with ``insert`` at its start (:func:`seqsal.simulate.plant`); ``-1`` leaves it be."""
    check(len(sequences) == len(starts), f"got {len(starts)} starts for {len(sequences)} sequences")
    return [plant(s, insert, int(start)) if start >= 0 else s for s, start in zip(sequences, starts)]


def adapter_mask(starts: np.ndarray, width: int, length: int) -> np.ndarray:
    """``(N, L)`` bool, True on the adapter's bases (all False where ``start == -1``)."""
    positions = np.arange(length)
    starts = np.asarray(starts)[:, None]
    return (starts >= 0) & (positions >= starts) & (positions < starts + width)


@dataclass
class ShortcutData:
    """One simulated set with its adapter plan, encoded both ways.

    Attributes
    ----------
    dataset
        The clean simulated set (labels, splits, motif masks, planted motifs).
    insert
        The planted adapter bases.
    starts
        ``(N,)`` adapter start of each sequence, ``-1`` where there is no room.
    priority
        ``(N,)`` a random permutation; contamination at a rate takes the
        positives with room in this order, which makes the rates nested.
    X_clean, X_adapted
        ``(N, 4, L)`` one-hot without and with the adapter (rows without room
        are equal in both).  Any contamination pattern is a row-wise choice
        between the two, and removing the adapter restores ``X_clean`` exactly.
    """

    dataset: SyntheticSet
    insert: str
    starts: np.ndarray
    priority: np.ndarray
    X_clean: np.ndarray
    X_adapted: np.ndarray

    @property
    def adapter_masks(self) -> np.ndarray:
        """``(N, L)`` bool: the adapter's positions in ``X_adapted``."""
        return adapter_mask(self.starts, len(self.insert), self.X_clean.shape[2])

    def contaminated(self, split: str, rate: float) -> np.ndarray:
        """``(N,)`` bool: the positives of ``split`` that carry the adapter at ``rate``.

        ``round(rate * positives)`` of them, fewer only when not enough
        positives have room (the achieved rate is reported).
        """
        positive = (self.dataset.splits == split) & (self.dataset.labels == 1)
        eligible = np.flatnonzero(positive & (self.starts >= 0))
        chosen = eligible[np.argsort(self.priority[eligible])][: round(rate * positive.sum())]
        mask = np.zeros(len(self.starts), dtype=bool)
        mask[chosen] = True
        return mask

    def inputs(self, carrying: np.ndarray) -> np.ndarray:
        """``(N, 4, L)``: the adapted encoding on rows where ``carrying`` is True, the clean one elsewhere."""
        return np.where(carrying[:, None, None], self.X_adapted, self.X_clean)

    def eval_rows(self, n_eval: int) -> np.ndarray:
        """The test positives with room on which explanations are scored, in ``priority`` order."""
        eligible = np.flatnonzero((self.dataset.splits == "test") & (self.dataset.labels == 1) & (self.starts >= 0))
        check(eligible.size > 0, "no test positive has room for the adapter; use longer sequences or a shorter adapter")
        return eligible[np.argsort(self.priority[eligible])][:n_eval]


def prepare_data(config: ShortcutConfig) -> ShortcutData:
    """Simulate the set of ``config``, plan adapter positions and encode it with and without them."""
    rng = np.random.default_rng(config.random_state)
    adapters = load_adapters(config.adapter_file)
    insert = adapter_insert(config.adapter, config.adapter_length, adapters)
    dataset = simulate_enhancers(config.n, config.length, random_state=rng)
    starts = place_adapters(dataset, len(insert), config.placement, rng)
    return ShortcutData(
        dataset=dataset,
        insert=insert,
        starts=starts,
        priority=rng.permutation(len(dataset)),
        X_clean=one_hot(dataset.sequences, ids=dataset.ids),
        X_adapted=one_hot(plant_adapters(dataset.sequences, starts, insert), ids=dataset.ids),
    )

