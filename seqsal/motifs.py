"""Known transcription-factor motifs: databases, PWM scanning and sequencing adapters.

Plausibility checks ask whether an explanation highlights *known biology*.  This
module supplies that biology: motif databases (MEME minimal or JASPAR files,
read through :mod:`Bio.motifs`), lookup by TF name or matrix id, a vectorised
log-odds scanner that turns motifs into per-base masks, and the known
sequencing-adapter sequences that the shortcut experiments plant as artifacts.

Matrices follow the package layout: a position weight matrix is ``(4, w)`` with
rows ``A, C, G, T``, the same orientation as a one-hot ``(4, L)`` sequence, so a
motif is scored against a window by an element-wise product.
"""

from __future__ import annotations

import difflib
import functools
import importlib.resources
import re
from dataclasses import dataclass, fields
from os import PathLike
from pathlib import Path
from typing import Iterable, Iterator, Sequence

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from Bio import SeqIO
from Bio import motifs as bio_motifs

from seqsal.encoding import ALPHABET, encode_indices
from seqsal.errors import SeqsalError, check
from seqsal.pvalues import DEFAULT_PVALUE, PVALUE_STEPS_PER_BIT, score_threshold

UNIFORM_BACKGROUND = (0.25, 0.25, 0.25, 0.25)

DEFAULT_PSEUDOCOUNT = 0.01
"""Probability added to every matrix entry before taking log-odds.

JASPAR matrices are built from a few hundred sites at most, so a zero means "not
observed", not "impossible".  Without a pseudocount one such base gives a score
of minus infinity and vetoes an otherwise perfect site.  0.01 caps the penalty
for an unseen base at about -4.7 bits (uniform background) while barely moving
well-observed entries.
"""

MASK_MIN_INFORMATION = 0.1
"""Bits a motif position must carry to count as ground truth in a mask (see :func:`hits_to_mask`).

Flanking columns of JASPAR matrices are close to uniform: the base there is
random (a sampled planted site) or unconstrained (a scanned one), so no model
can be expected to attribute it.
"""

BUNDLED_DATABASE = "JASPAR_CORE_2016_vertebrates.meme"
BUNDLED_ADAPTERS = "adapters.fa"

_MOTIF_LINE = re.compile(r"^MOTIF[ \t]+(\S+)(?:[ \t]+(\S+))?", re.MULTILINE)


@dataclass(frozen=True, eq=False)
class Motif:
    """One position weight matrix with its JASPAR identity.

    Attributes
    ----------
    id
        Matrix id, e.g. ``"MA0139.1"``; unique within a database.
    name
        Transcription-factor name, e.g. ``"CTCF"``; several versions of a
        matrix may share it.
    pwm
        ``(4, w)`` letter probabilities, rows ``A, C, G, T``.  Columns are
        normalised to sum to one on construction, so count matrices are
        accepted too; the stored array is read-only because motifs are shared
        (the bundled database is cached).
    """

    id: str
    name: str
    pwm: np.ndarray

    def __post_init__(self) -> None:
        matrix = np.array(self.pwm, dtype=np.float64)
        check(
            matrix.ndim == 2 and matrix.shape[0] == 4 and matrix.shape[1] > 0,
            f"motif {self.id!r} has a matrix of shape {matrix.shape}; expected (4, width) with rows A, C, G, T",
        )
        totals = matrix.sum(axis=0)
        check(
            np.isfinite(matrix).all() and (matrix >= 0).all() and (totals > 0).all(),
            f"motif {self.id!r} has negative, non-finite or all-zero columns; "
            "give letter probabilities or counts",
        )
        matrix /= totals
        matrix.flags.writeable = False
        object.__setattr__(self, "pwm", matrix)

    def __eq__(self, other: object) -> bool:
        # Tolerant comparison: renormalising a matrix (e.g. after two reverse
        # complements) may change the last bit of an entry.
        if not isinstance(other, Motif):
            return NotImplemented
        return (
            self.id == other.id
            and self.name == other.name
            and self.pwm.shape == other.pwm.shape
            and np.allclose(self.pwm, other.pwm, rtol=0, atol=1e-12)
        )

    def __hash__(self) -> int:
        return hash((self.id, self.name, self.pwm.shape))

    def __repr__(self) -> str:
        return f"Motif(id={self.id!r}, name={self.name!r}, width={self.width})"

    @property
    def width(self) -> int:
        """Number of positions (columns) in the matrix."""
        return self.pwm.shape[1]

    @property
    def consensus(self) -> str:
        """The most probable base at each position (ties go to the first of ``ACGT``)."""
        return "".join(ALPHABET[i] for i in self.pwm.argmax(axis=0))

    def information_content(self, background: Sequence[float] = UNIFORM_BACKGROUND) -> np.ndarray:
        """Information content of each position in bits, ``sum_b p_b log2(p_b / q_b)``.

        This is the relative entropy of the column against the background
        ``q``; with a uniform background it is ``2 - entropy``: 2 bits for a
        fully determined base, 0 for a uniform column.  Flanking columns of
        JASPAR matrices are often near zero, which is why masks filter on it.

        Returns
        -------
        numpy.ndarray
            ``(w,)`` non-negative values.
        """
        q = _background(background)
        p = self.pwm
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(p > 0, p * np.log2(p / q), 0.0)
        return terms.sum(axis=0)

    def log_odds(
        self, pseudocount: float = DEFAULT_PSEUDOCOUNT, background: Sequence[float] = UNIFORM_BACKGROUND
    ) -> np.ndarray:
        """Log2-odds scoring matrix ``log2(p' / q)`` with ``p' = (p + c) / (1 + 4c)``.

        The pseudocount ``c`` (see :data:`DEFAULT_PSEUDOCOUNT`) keeps unseen
        bases finite; renormalising keeps ``p'`` a distribution, so a column's
        best score never exceeds its information content limit of 2 bits.

        Returns
        -------
        numpy.ndarray
            ``(4, w)``; a window's score is the sum of the entries its bases pick.
        """
        check(pseudocount >= 0, f"pseudocount must be non-negative, got {pseudocount}")
        q = _background(background)
        smoothed = (self.pwm + pseudocount) / (1 + 4 * pseudocount)
        with np.errstate(divide="ignore"):
            return np.log2(smoothed / q)

    def reverse_complement(self) -> Motif:
        """The same motif read on the minus strand (rows and columns reversed, as for one-hot DNA)."""
        return Motif(self.id, self.name, self.pwm[::-1, ::-1])


def pvalue_threshold(
    motif: Motif,
    pvalue: float = DEFAULT_PVALUE,
    *,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    background: Sequence[float] = UNIFORM_BACKGROUND,
) -> float:
    """The lowest log2-odds score whose p-value is at most ``pvalue``: the cut-off FIMO and MOODS use.

    A p-value (the chance that a random window, bases drawn from
    ``background``, scores at least this) is as strict for a short, degenerate
    motif as for a long one; a fraction of the maximum score is not.  Exact on
    log-odds rounded to 1/1000 bit (:func:`seqsal.pvalues.score_threshold`).
    Returns a score some window reaches, or ``inf`` when even the best window
    is more likely than ``pvalue`` (``w`` bases cannot beat ``4 ** -w``).
    """
    steps = _scaled_log_odds(motif, pseudocount, background)
    threshold = score_threshold(steps, pvalue, _background(background)[:, 0])
    return float("inf") if threshold is None else threshold / PVALUE_STEPS_PER_BIT


def _scaled_log_odds(motif: Motif, pseudocount: float, background: Sequence[float]) -> np.ndarray:
    """Log2-odds in whole steps of ``1 / PVALUE_STEPS_PER_BIT`` bit, the grid the exact p-values live on."""
    weights = motif.log_odds(pseudocount, background)
    check(np.isfinite(weights).all(),
          f"motif {motif.id!r} has a base of probability 0; p-values need a positive pseudocount")
    return np.rint(weights * PVALUE_STEPS_PER_BIT).astype(np.int64)


def _background(background: Sequence[float]) -> np.ndarray:
    """Validate a background distribution over ``ACGT`` and return it as a ``(4, 1)`` column."""
    q = np.asarray(background, dtype=np.float64)
    check(
        q.shape == (4,) and (q > 0).all() and abs(q.sum() - 1) < 1e-6,
        f"background must be four positive frequencies for A, C, G, T summing to 1, got {list(background)}",
    )
    return q[:, None]


def _version(matrix_id: str) -> int:
    """The version suffix of a JASPAR id (``MA0035.3`` -> 3); ids without one count as version 0."""
    _, _, suffix = matrix_id.rpartition(".")
    return int(suffix) if suffix.isdigit() else 0


class MotifDatabase:
    """An ordered collection of motifs, looked up by matrix id or TF name.

    Parameters
    ----------
    motifs
        Motifs with unique ids.
    source
        Where they came from (a file name); error messages name it.
    """

    def __init__(self, motifs: Iterable[Motif], source: str = "motif list") -> None:
        self.source = source
        self._motifs = list(motifs)
        self._by_id: dict[str, Motif] = {}
        self._by_name: dict[str, list[Motif]] = {}
        for motif in self._motifs:
            check(
                motif.id not in self._by_id,
                f"{source} lists motif id {motif.id!r} twice; remove the duplicate so lookups are unambiguous",
            )
            self._by_id[motif.id] = motif
            self._by_name.setdefault(motif.name.lower(), []).append(motif)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> MotifDatabase:
        """Load a MEME minimal or JASPAR motif file, detecting the format from its content.

        MEME files (first line ``MEME version``) go through Biopython's
        ``minimal`` parser, which keeps only the matrix id; the TF names are
        paired back from the ``MOTIF <id> <name>`` lines, in file order.
        Biopython rebuilds counts as ``round(p * nsites)``, so probabilities
        come back to within ``0.5 / nsites`` of the file's values.  Any
        other file must be JASPAR (``>MA0139.1 CTCF`` headers followed by four
        count rows, with or without ``A [ ... ]`` brackets).

        Raises
        ------
        SeqsalError
            If the file is missing, unreadable or holds no DNA motif.
        """
        path = Path(path)
        try:
            text = path.read_text()
        except (OSError, UnicodeDecodeError) as error:
            raise SeqsalError(
                f"cannot read motif file {str(path)!r} ({error.__class__.__name__}); "
                "check the path points to a MEME or JASPAR file"
            ) from error
        not_motifs = (
            f"motif file {str(path)!r} is not a readable MEME minimal or JASPAR motif file; "
            "check its format or download it again"
        )
        is_meme = text.lstrip().startswith("MEME version")
        check(is_meme or text.lstrip().startswith(">"), not_motifs)
        with path.open() as handle:
            try:
                record = bio_motifs.parse(handle, "minimal" if is_meme else "jaspar")
            except (ValueError, IndexError, KeyError) as error:
                raise SeqsalError(not_motifs) from error
        check(len(record) > 0, not_motifs)
        if is_meme:
            motif_lines = _MOTIF_LINE.findall(text)
            check(len(motif_lines) == len(record), not_motifs)
            identities = [(matrix_id, name or matrix_id) for matrix_id, name in motif_lines]
        else:
            identities = [(m.matrix_id, m.name or m.matrix_id) for m in record]
        motifs = []
        for (matrix_id, name), bio_motif in zip(identities, record):
            check(str(bio_motif.alphabet) == ALPHABET, not_motifs)
            matrix = np.array([bio_motif.pwm[letter] for letter in ALPHABET], dtype=np.float64)
            try:
                motifs.append(Motif(matrix_id, name, matrix))
            except (SeqsalError, ValueError) as error:
                raise SeqsalError(f"{not_motifs} (motif {matrix_id!r} is malformed)") from error
        return cls(motifs, source=str(path))

    @classmethod
    def default(cls) -> MotifDatabase:
        """The bundled JASPAR CORE 2016 vertebrate database (518 motifs), loaded once and cached."""
        return _bundled_database()

    def __len__(self) -> int:
        return len(self._motifs)

    def __iter__(self) -> Iterator[Motif]:
        return iter(self._motifs)

    def __repr__(self) -> str:
        return f"MotifDatabase({len(self)} motifs from {self.source!r})"

    @property
    def names(self) -> list[str]:
        """The distinct TF names, in file order (the spelling of their first occurrence)."""
        return [versions[0].name for versions in self._by_name.values()]

    def get(self, key: str) -> Motif:
        """Look a motif up by exact matrix id (``"MA0035.3"``) or by TF name (``"gata1"``).

        Names are matched case-insensitively because JASPAR spells them
        inconsistently (``Gata1`` next to ``GATA2``).  When several matrix
        versions share a name, the highest version is returned: it is the
        curators' current model of that factor.

        Raises
        ------
        SeqsalError
            If nothing matches; the message suggests close names.
        """
        key = key.strip()
        if key in self._by_id:
            return self._by_id[key]
        versions = self._by_name.get(key.lower())
        if versions:
            return max(versions, key=lambda motif: _version(motif.id))
        candidates = {name.lower(): name for name in self.names} | {i.lower(): i for i in self._by_id}
        close = [candidates[c] for c in difflib.get_close_matches(key.lower(), list(candidates), n=5)]
        hint = f"did you mean {', '.join(close)}?" if close else "no similar name exists;"
        raise SeqsalError(
            f"no motif named {key!r} in {self.source}; {hint} list all names with MotifDatabase.names"
        )

    def get_many(self, keys: str | Iterable[str]) -> list[Motif]:
        """Look up several motifs, given as a list or one comma-separated string (``"CTCF,GATA1"``).

        Duplicates (``"CTCF,ctcf"``) are returned once, in first-seen order,
        so a scan never reports the same hit twice.
        """
        if isinstance(keys, str):
            keys = keys.split(",")
        found: dict[str, Motif] = {}
        for key in keys:
            if key.strip():
                motif = self.get(key)
                found.setdefault(motif.id, motif)
        check(found, "no motif names given; pass names or ids such as 'CTCF,GATA1'")
        return list(found.values())


#: The five enhancer motifs the simulator plants by default and `dream` looks for.
ENHANCER_MOTIFS = ("GATA1", "FOS::JUN", "ETS1", "CREB1", "SP1")


def load_database(motif_db: MotifDatabase | str | PathLike[str] | None = None) -> MotifDatabase:
    """A motif database from a file path, as given, or the bundled JASPAR set when ``None``."""
    if isinstance(motif_db, MotifDatabase):
        return motif_db
    return MotifDatabase.default() if motif_db is None else MotifDatabase.from_file(motif_db)


def resolve_motifs(
    names: str | Iterable[str] | None,
    motif_db: MotifDatabase | str | PathLike[str] | None = None,
    *,
    default: Iterable[str] = (),
) -> list[Motif]:
    """The motifs a user asked for: names or ids (a list or ``"A,B"``), ``"all"``, or ``default`` for ``None``.

    The one place every command turns ``--motifs`` / ``--motif-db`` into
    :class:`Motif` objects, so spelling, deduplication and the "did you mean"
    suggestions are the same everywhere.  An empty request gives ``[]``.
    """
    keys = list(default) if names is None else ([names] if isinstance(names, str) else list(names))
    keys = [key.strip() for item in keys for key in item.split(",") if key.strip()]
    if not keys:
        return []
    database = load_database(motif_db)
    if [key.lower() for key in keys] == ["all"]:
        return list(database)
    return database.get_many(keys)


@functools.lru_cache(maxsize=1)
def _bundled_database() -> MotifDatabase:
    """Parse the bundled database once per process; parsing 518 matrices takes a noticeable moment."""
    with importlib.resources.as_file(importlib.resources.files("seqsal.data") / BUNDLED_DATABASE) as path:
        return MotifDatabase.from_file(path)


@dataclass(frozen=True)
class MotifHit:
    """One motif occurrence found by :func:`scan`.

    Attributes
    ----------
    sequence_index
        Row of the scanned batch.
    motif_id, name
        The motif's matrix id and TF name.
    start, end
        0-based half-open window on the plus strand, whatever the strand of
        the hit, so hits on both strands index the same one-hot array.
    strand
        ``"+"`` when the motif matched as given, ``"-"`` when its reverse
        complement matched.
    score
        Log2-odds score of the window.
    """

    sequence_index: int
    motif_id: str
    name: str
    start: int
    end: int
    strand: str
    score: float

    def __post_init__(self) -> None:
        check(self.strand in ("+", "-"), f"hit strand must be '+' or '-', got {self.strand!r}")


def scan(
    X: np.ndarray,
    motifs: Motif | Iterable[Motif],
    threshold: float | None = None,
    relative_threshold: float = 0.8,
    pseudocount: float = DEFAULT_PSEUDOCOUNT,
    *,
    pvalue: float | None = None,
) -> list[MotifHit]:
    """Find motif occurrences on both strands of one-hot sequences.

    A window's score is the sum of the motif's log-odds entries picked by its
    bases (see :meth:`Motif.log_odds`); all-zero columns (``N``) add nothing.
    The minus strand is scanned with the reverse-complement matrix, which is
    the same as scoring the reverse-complemented window, so its hits keep plus-
    strand coordinates.  Palindromic motifs can therefore hit twice at one
    position, once per strand.

    Parameters
    ----------
    X
        One-hot ``(N, 4, L)`` or a single ``(4, L)`` sequence.
    motifs
        A motif or several (a :class:`MotifDatabase` works too).  Motifs longer
        than the sequences cannot occur and are skipped.
    threshold
        Absolute log2-odds cut-off; windows scoring at least this are hits.
    relative_threshold
        Used when ``threshold`` and ``pvalue`` are None: the cut-off is this
        fraction of the motif's best possible score (the sum of its column
        maxima).
    pseudocount
        Passed to :meth:`Motif.log_odds`.
    pvalue
        Instead of a score: a window is a hit when its p-value under a
        uniform background is at most this (see :func:`pvalue_threshold`; the
        comparison is made on the same rounded scores, so it is exact).  The
        same p-value is as strict for a short motif as for a long one.

    Returns
    -------
    list of MotifHit
        Sorted by ``(sequence_index, start)``; ties keep motif order, ``+`` first.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim == 2:
        X = X[None]
    check(X.ndim == 3 and X.shape[1] == 4, f"scan expects one-hot sequences of shape (N, 4, L), got {X.shape}")
    check(threshold is None or pvalue is None, "give scan a score threshold or a pvalue, not both")
    motifs = [motifs] if isinstance(motifs, Motif) else list(motifs)
    hits: list[MotifHit] = []
    for motif in motifs:
        if motif.width > X.shape[2]:
            continue
        weights = motif.log_odds(pseudocount)
        grid = None
        if pvalue is not None:
            # Compared on the integer grid of the exact distribution: whole steps, no rounding doubt.
            grid = _scaled_log_odds(motif, pseudocount, UNIFORM_BACKGROUND)
            cutoff = pvalue_threshold(motif, pvalue, pseudocount=pseudocount) * PVALUE_STEPS_PER_BIT - 0.5
        else:
            cutoff = threshold if threshold is not None else relative_threshold * weights.max(axis=0).sum()
        # A strided view of every window, (N, 4, L - w + 1, w); einsum reads it without copying.
        windows = sliding_window_view(X, motif.width, axis=2)
        for strand, turn in (("+", slice(None)), ("-", slice(None, None, -1))):
            scores = np.einsum("nkiw,kw->ni", windows, weights[turn, turn])
            passed = scores if pvalue is None else np.einsum("nkiw,kw->ni", windows, grid[turn, turn])
            for row, start in zip(*np.nonzero(passed >= cutoff)):
                hits.append(
                    MotifHit(
                        sequence_index=int(row),
                        motif_id=motif.id,
                        name=motif.name,
                        start=int(start),
                        end=int(start) + motif.width,
                        strand=strand,
                        score=float(scores[row, start]),
                    )
                )
    hits.sort(key=lambda hit: (hit.sequence_index, hit.start))
    return hits


def hits_to_mask(
    hits: Iterable[MotifHit],
    n_sequences: int,
    length: int,
    motifs: Iterable[Motif] | None = None,
    min_information: float = 0.0,
) -> np.ndarray:
    """Turn hits into a per-base ``(N, L)`` boolean mask, the ground truth for plausibility AUROC.

    Parameters
    ----------
    hits
        Hits from :func:`scan` (or planted instances).
    n_sequences, length
        Shape of the mask, i.e. of the scanned batch.
    motifs
        The motifs the hits refer to; needed only with ``min_information``.
    min_information
        When positive, only motif positions whose information content exceeds
        it are marked: near-uniform flanks of a matrix carry no sequence
        preference, so a model has no reason to attribute them.  Positions of
        minus-strand hits are mapped through the reversed matrix.

    Raises
    ------
    SeqsalError
        If a hit falls outside the mask or its motif is not among ``motifs``.
    """
    mask = np.zeros((n_sequences, length), dtype=bool)
    by_id = {motif.id: motif for motif in motifs} if motifs is not None else {}
    check(
        min_information <= 0 or motifs is not None,
        "hits_to_mask needs motifs= (the motifs that were scanned) to filter by min_information",
    )
    informative: dict[str, np.ndarray] = {}
    for hit in hits:
        check(
            0 <= hit.sequence_index < n_sequences and 0 <= hit.start < hit.end <= length,
            f"hit of {hit.motif_id} at sequence {hit.sequence_index}, [{hit.start}, {hit.end}) lies outside "
            f"a mask of {n_sequences} x {length}; pass the shape of the scanned batch",
        )
        if min_information <= 0:
            mask[hit.sequence_index, hit.start : hit.end] = True
            continue
        check(hit.motif_id in by_id, f"hit motif {hit.motif_id!r} is not among motifs=; pass the scanned motifs")
        if hit.motif_id not in informative:
            informative[hit.motif_id] = by_id[hit.motif_id].information_content() > min_information
        keep = informative[hit.motif_id]
        check(
            keep.size == hit.end - hit.start,
            f"hit of {hit.motif_id} spans {hit.end - hit.start} bases but the motif has width {keep.size}; "
            "pass the motifs the hits were found with",
        )
        mask[hit.sequence_index, hit.start : hit.end] |= keep if hit.strand == "+" else keep[::-1]
    return mask


def hits_to_frame(hits: Iterable[MotifHit]) -> pd.DataFrame:
    """Hits as a table with one column per :class:`MotifHit` field (empty hits give an empty table)."""
    columns = [field.name for field in fields(MotifHit)]
    return pd.DataFrame([[getattr(hit, column) for column in columns] for hit in hits], columns=columns)


def load_adapters(path: str | PathLike[str] | None = None) -> dict[str, str]:
    """Read adapter/artifact sequences from FASTA, by default the bundled Illumina/Nextera list.

    Returns
    -------
    dict
        Record id -> upper-case sequence, in file order.

    Raises
    ------
    SeqsalError
        If the file is missing, holds no FASTA records, or a sequence is not DNA.
    """
    if path is None:
        with importlib.resources.as_file(importlib.resources.files("seqsal.data") / BUNDLED_ADAPTERS) as bundled:
            return load_adapters(bundled)
    path = Path(path)
    check(path.is_file(), f"adapter file {str(path)!r} does not exist; give a FASTA file of adapter sequences")
    try:
        records = list(SeqIO.parse(path, "fasta"))
    except (ValueError, UnicodeDecodeError) as error:
        raise SeqsalError(f"adapter file {str(path)!r} is not valid FASTA; fix or replace it") from error
    adapters = {record.id: str(record.seq).upper() for record in records if len(record.seq) > 0}
    check(adapters, f"adapter file {str(path)!r} contains no FASTA sequences; give a FASTA file of adapters")
    for record_id, sequence in adapters.items():
        encode_indices(sequence, record_id)
    return adapters
