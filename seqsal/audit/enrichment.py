"""Check 2: k-mers enriched in one class, the elements they belong to, and what those elements are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from seqsal.audit.alignment import AdapterIndex, describe_match
from seqsal.audit.data import AuditData, find_all
from seqsal.audit.findings import (
    AuditThresholds,
    CheckResult,
    Finding,
    class_rates,
    note_sample_size,
    percent,
)
from seqsal.audit.kmers import canonical_codes, decode_kmers
from seqsal.audit.profile import DatasetProfile, profile_dataset
from seqsal.audit.stats import benjamini_hochberg, fisher_two_sided, log2_odds_ratio
from seqsal.encoding import ALPHABET, reverse_complement
from seqsal.motifs import Motif, MotifDatabase, load_adapters, load_database


def match_kmers(
    kmers: Sequence[str], motifs: Iterable[Motif], min_information: float = 1.0, chunk: int = 256
) -> pd.DataFrame:
    """The best-matching known motif of each k-mer (or longer element), on either strand.

    A k-mer is scored against every width-``k`` window of each motif's
    log-odds matrix (and of its reverse complement); the match is the score
    divided by the best score possible over the same columns, so 1 means the
    k-mer is the motif's consensus there.  Up to a quarter of the k-mer may
    hang over the ends of the motif (an 8-mer straddling a site and its flank
    is still that site), but no more: a motif explains a sequence only if it
    covers most of it, and with hundreds of motifs some short one fits inside
    any long sequence.  Windows whose best score averages below
    ``min_information`` bits per column are skipped: near-uniform flanks would
    match anything.

    All motifs are laid end to end on one zero-padded "tape", so scoring
    ``chunk`` k-mers against every window of every motif is ``k`` array
    additions rather than a loop over motifs.

    Returns
    -------
    pandas.DataFrame
        ``kmer, motif_id, motif, match`` in input order; ``motif`` is empty and
        ``match`` is NaN when no window qualifies.
    """
    kmers = list(kmers)
    motifs = list(motifs)
    weights = [motif.log_odds() for motif in motifs]
    best = np.full(len(kmers), -np.inf)
    best_motif = np.full(len(kmers), -1)
    lengths = np.array([len(kmer) for kmer in kmers])
    for k in np.unique(lengths):
        members = np.flatnonzero(lengths == k)
        tape, starts, ceiling, owner = _motif_tape(weights, int(k), min_information)
        if not len(starts):
            continue
        bases = np.array([[ALPHABET.index(c) for c in kmers[i]] for i in members])
        for part in range(0, len(members), chunk):
            rows = slice(part, part + chunk)
            scores = np.zeros((len(bases[rows]), len(starts)))
            for i in range(k):
                scores += tape[bases[rows, i][:, None], starts + i]
            ratio = scores / ceiling
            window = ratio.argmax(axis=1)
            best[members[rows]] = ratio[np.arange(len(window)), window]
            best_motif[members[rows]] = owner[window]
    found = best_motif >= 0
    ids = np.array([motif.id for motif in motifs] + [""], dtype=object)
    names = np.array([motif.name for motif in motifs] + [""], dtype=object)
    return pd.DataFrame({"kmer": kmers, "motif_id": ids[best_motif], "motif": names[best_motif],
                         "match": np.where(found, best, np.nan)})


def _motif_tape(
    weights: Sequence[np.ndarray], k: int, min_information: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every motif's log-odds matrix and its reverse complement, zero-padded by ``k // 4`` columns, end to end.

    Returns the ``(4, T)`` tape, the start column of each usable width-``k``
    window, each window's best possible score and the index of the motif it
    belongs to.  A window is usable when it lies within one motif's padded
    stretch, overlaps at least ``k - k // 4`` real columns and its best score
    averages at least ``min_information`` bits per real column.
    """
    pad = k // 4
    pieces, starts, ceilings, owners = [], [], [], []
    offset = 0
    for index, forward in enumerate(weights):
        for matrix in (forward, forward[::-1, ::-1]):
            width = matrix.shape[1]
            padded = np.zeros((4, width + 2 * pad))
            padded[:, pad : pad + width] = matrix
            n_windows = width + 2 * pad - k + 1
            if n_windows > 0:
                real = np.zeros(width + 2 * pad)
                real[pad : pad + width] = 1
                ceiling = np.convolve(padded.max(axis=0), np.ones(k), mode="valid")
                overlap = np.convolve(real, np.ones(k), mode="valid")
                usable = (overlap >= k - pad) & (ceiling >= min_information * overlap) & (ceiling > 0)
                starts.append(offset + np.flatnonzero(usable))
                ceilings.append(ceiling[usable])
                owners.append(np.full(int(usable.sum()), index))
            pieces.append(padded)
            offset += padded.shape[1]
    if not pieces:
        return np.zeros((4, 0)), np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64)
    return np.hstack(pieces), np.concatenate(starts), np.concatenate(ceilings), np.concatenate(owners)


_BYTE_CODES = np.full(256, 4, dtype=np.int64)
_BYTE_CODES[np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)] = np.arange(4)


def conserved_element(
    data: AuditData,
    kmer: str,
    label: int,
    flank: int = 24,
    min_occurrences: int = 20,
    min_share: float = 0.5,
    max_occurrences: int = 2000,
) -> str:
    """The longest stretch around ``kmer`` that most of its occurrences in one class share exactly.

    An adapter, barcode or vector fragment is copied whole, so the records
    carrying one of its k-mers carry the rest of it too; sampled sites of a
    real motif agree only over the motif's strongest columns, and each
    further column splits them.  The element therefore grows one base at a
    time, on whichever side keeps more occurrences, for as long as at least
    ``min_share`` of all occurrences still match the whole element.  Joint
    agreement, not a column-by-column consensus, is what counts: a column
    consensus stitches the two alignments of a palindromic site into a
    chimera longer than the site.  Occurrences on the minus strand are
    reverse-complemented so all read like ``kmer``.

    Parameters
    ----------
    data
        The dataset.
    kmer
        The seed, as listed in the k-mer table.
    label
        The class whose occurrences are used (the class the k-mer is enriched in).
    flank
        How far the element may grow on each side.
    min_occurrences
        Fewer occurrences than this are not extended (no reliable consensus).
    min_share
        Share of the occurrences that must carry the whole element.
    max_occurrences
        Occurrences used per strand at most (the first ones).

    Returns
    -------
    str
        The element, oriented like ``kmer``; ``kmer`` itself when nothing
        around it is shared.
    """
    buffer, starts = data.joined
    n_pos = data.class_sizes[1]
    region = (0, int(starts[n_pos])) if label == 1 else (int(starts[n_pos]), len(buffer))
    k = len(kmer)
    positions, minus = [], []
    for sequence in dict.fromkeys((kmer, reverse_complement(kmer))):  # a palindrome is searched once
        found = find_all(buffer, sequence.encode("ascii"), *region, limit=max_occurrences)
        positions.append(found)
        minus.append(np.full(len(found), sequence != kmer))
    positions, minus = np.concatenate(positions), np.concatenate(minus)
    if len(positions) < min_occurrences:
        return kmer
    rows, _, _ = data.locate(positions, k)
    index = positions[:, None] + np.arange(-flank, k + flank)
    record_start = starts[rows][:, None]
    inside = (index >= record_start) & (index < record_start + data.lengths[rows][:, None])
    bases = _BYTE_CODES[np.frombuffer(buffer, dtype=np.uint8)[np.clip(index, 0, len(buffer) - 1)]]
    codes = np.where(inside, bases, 4)
    codes[minus] = np.where(codes[minus] < 4, 3 - codes[minus], 4)[:, ::-1]
    needed = min_share * len(codes)
    carriers = np.ones(len(codes), dtype=bool)
    left, right = flank, flank + k
    while True:
        options = []
        for column in (left - 1, right):
            if 0 <= column < codes.shape[1]:
                counts = np.bincount(codes[carriers, column], minlength=5)[:4]
                options.append((counts.max(), column, int(counts.argmax())))
        count, column, base = max(options, default=(0, -1, 0))
        if count < needed:
            break
        carriers &= codes[:, column] == base
        left, right = min(left, column), max(right, column + 1)
    carrier = np.flatnonzero(carriers)[0]  # every carrier reads the same element
    return "".join(ALPHABET[base] for base in codes[carrier, left:right])


def check_kmers(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    motifs: MotifDatabase | Iterable[Motif] | None = None,
    profile: DatasetProfile | None = None,
    k_values: Iterable[int] = range(4, 9),
    adapters: Mapping[str, str] | None = None,
    annotate_top: int = 20,
    max_extended: int = 200,
) -> CheckResult:
    """Find k-mers enriched in one class and ask whether a known motif explains them.

    Canonical k-mers (a k-mer and its reverse complement together) are
    tested for *presence*: how many sequences of each class contain them.
    Sequences, not occurrences, are the independent units, so a repeat
    with fifty copies in one record cannot fake significance.  Fisher exact
    tests give p values, Benjamini-Hochberg over all k-mers of all lengths
    gives q values, and the effect is the log2 odds ratio of presence with
    0.5 pseudo-counts.

    A k-mer is a *candidate* when q < ``fdr``, its absolute log2 odds ratio
    is at least ``kmer_log2_odds`` and it occurs in at least
    ``kmer_min_fraction`` of the class it is enriched in.  Candidates of the
    longest k are extended to the :func:`conserved_element` their
    occurrences share.  A candidate is *flagged* when that element is at least
    ``artifact_min_length`` long and matches no known motif (match below
    ``motif_match``): a long exact copy that is no transcription-factor site.
    Matching the k-mer alone cannot decide this, because with hundreds of
    motifs almost every 8-mer resembles part of one; enriched k-mers of known
    motifs are what a good model should learn and are never flagged.

    Parameters
    ----------
    motifs
        Known motifs; the bundled JASPAR 2016 vertebrate set by default.
    adapters
        Name -> sequence, compared with every long element before the motifs;
        the bundled list by default.
    profile
        A :func:`profile_dataset` result with these ``k_values``; computed when
        not given.
    annotate_top
        Besides every candidate, the ``annotate_top`` most significant k-mers
        of each length get a motif annotation.
    max_extended
        Candidates of the longest k extended at most, the most significant
        first (each extension searches the class once).
    """
    motifs = list(load_database(None) if motifs is None else motifs)
    adapters = load_adapters() if adapters is None else dict(adapters)
    index = AdapterIndex.build(adapters, thresholds.adapter_min_length, thresholds.adapter_mismatch_rate)
    k_values = tuple(sorted(set(k_values)))
    if profile is None or not set(k_values) <= set(profile.k_values):
        profile = profile_dataset(data, k_values, thresholds.homopolymer_length)
    n_neg, n_pos = data.class_sizes
    table = _kmer_table(profile, k_values, n_pos, n_neg)
    enriched_rate = np.where(table["log2_odds_ratio"] > 0, table["pos_rate"], table["neg_rate"])
    strong = (table["q"] < thresholds.fdr) & (table["log2_odds_ratio"].abs() >= thresholds.kmer_log2_odds)
    candidate = strong & (enriched_rate >= thresholds.kmer_min_fraction)
    annotate = np.union1d(table.groupby("k").head(annotate_top).index, np.flatnonzero(candidate))
    extended = table.index[candidate & (table["k"] == k_values[-1])][:max_extended]
    table = _annotate(data, table, annotate, extended, motifs, index, thresholds)
    finding = _kmer_finding(table, strong, thresholds, k_values, n_pos, n_neg)
    finding = note_sample_size([finding], "fisher", len(table), thresholds.fdr, n_pos, n_neg)[0]
    return CheckResult(
        name="kmers",
        title="Enriched k-mers",
        description=(
            f"Canonical k-mers of length {k_values[0]} to {k_values[-1]} (both strands) were counted per class; "
            "presence per sequence was compared with Fisher's exact test (Benjamini-Hochberg FDR over all k-mers). "
            f"The most significant k-mers were matched to {len(motifs)} known motifs, and enriched "
            f"{k_values[-1]}-mers were extended to the element their occurrences share; each long element was "
            f"compared with the {len(adapters)} known adapters (both strands) before the motifs. A long shared "
            "element that is an adapter, or matches no known motif, is the suspicious case (an adapter, barcode "
            "or vector piece)."
        ),
        findings=[finding],
        tables={"kmers": table},
    )


def _annotate(
    data: AuditData, table: pd.DataFrame, annotate: np.ndarray, extended: pd.Index, motifs: list[Motif],
    index: AdapterIndex, thresholds: AuditThresholds,
) -> pd.DataFrame:
    """Add ``element``, ``annotation``, ``motif_match`` and ``flag`` to the k-mer table.

    Each extended k-mer's shared element of at least ``artifact_min_length``
    is compared with the adapter list first and the motif database second:
    an element that *is* an adapter is named as one (and flagged), one that
    matches a known motif is biology (never flagged), anything else is "no
    known motif" (flagged).  Other annotated k-mers are described by their
    best motif alone.
    """
    kmer_matches = match_kmers(table.loc[annotate, "kmer"], motifs).set_index(annotate)
    elements = pd.Series({i: conserved_element(data, table.at[i, "kmer"], int(table.at[i, "log2_odds_ratio"] > 0))
                          for i in extended}, dtype=object)
    long_elements = elements[elements.str.len() >= thresholds.artifact_min_length]
    element_matches = match_kmers(long_elements.unique(), motifs).set_index("kmer")
    adapter_matches = {element: index.match(element) for element in long_elements.unique()}
    # A k-mer inside a long shared element is described by the element; any other by itself.
    annotation = kmer_matches[["motif", "match"]].copy()
    for i, element in long_elements.items():
        annotation.loc[i] = element_matches.loc[element, ["motif", "match"]].to_numpy()
    known = annotation["match"].astype(float) >= thresholds.motif_match
    table["annotation"] = ""
    table.loc[annotation.index, "annotation"] = np.where(known, annotation["motif"], "no known motif")
    table["motif_match"] = np.nan
    table.loc[annotation.index, "motif_match"] = annotation["match"].astype(float)
    table["element"] = ""
    table.loc[elements.index, "element"] = elements
    table["adapter_match"] = ""
    for i, element in long_elements.items():
        if adapter_matches[element] is not None:
            table.at[i, "adapter_match"] = describe_match(adapter_matches[element])
            table.at[i, "annotation"] = f"adapter {adapter_matches[element]['adapter']}"
    table["flag"] = False
    is_adapter = table.loc[long_elements.index, "adapter_match"] != ""
    table.loc[long_elements.index, "flag"] = is_adapter | ~known[long_elements.index]
    return table


def _kmer_finding(
    table: pd.DataFrame, strong: pd.Series, thresholds: AuditThresholds, k_values: tuple[int, ...], n_pos: int,
    n_neg: int,
) -> Finding:
    """The k-mer check's one finding: the flagged elements, each named (adapter first), or what was found."""
    flagged = table[table["flag"]]
    rule = (f"q < {thresholds.fdr}, |log2 odds ratio| >= {thresholds.kmer_log2_odds:g}, in >= "
            f"{percent(thresholds.kmer_min_fraction)} of the enriched class, inside a shared element of >= "
            f"{thresholds.artifact_min_length} bp that is an adapter or matches no motif (match < "
            f"{thresholds.motif_match:g})")
    if len(flagged):
        head = flagged.iloc[0]
        richer = "positives" if head["log2_odds_ratio"] > 0 else "negatives"
        described = flagged.drop_duplicates("element").set_index("element")["adapter_match"]
        elements = distinct_elements(flagged["element"])

        def name(element: str) -> str:
            match = described.get(element, described.get(reverse_complement(element), ""))
            return f"{element} ({len(element)} bp, {match or 'no known adapter or motif'})"

        message = (f"Copies of {name(elements[0])} are enriched in {richer}: its k-mer {head['kmer']} is in "
                   f"{class_rates(int(head['pos_sequences']), int(head['neg_sequences']), n_pos, n_neg)} "
                   f"(q = {head['q']:.2g})"
                   + (f"; {len(elements) - 1} more such element(s), e.g. {name(elements[1])}"
                      if len(elements) > 1 else "")
                   + ". A long exact copy in many records is an adapter, barcode, primer or vector fragment "
                     "until shown otherwise: find its source, trim it, or pass it with --adapters.")
        statistic, q_value = float(len(flagged)), float(flagged["q"].min())
        effect = float(flagged["log2_odds_ratio"].abs().max())
    else:
        n_known = int((~table.loc[strong, "annotation"].isin(["", "no known motif"])).sum())
        message = (f"{int(strong.sum())} k-mers are at least {2 ** thresholds.kmer_log2_odds:g}-fold enriched "
                   f"(odds) in one class ({n_known} annotated with a known motif); none lies in a long shared element "
                   "that is an adapter or has no known motif.")
        statistic, q_value = 0.0, float(table["q"].min()) if len(table) else None
        effect = float(table["log2_odds_ratio"].abs().max()) if len(table) else None
    return Finding(
        check="kmers", item=f"k-mers, k = {k_values[0]}-{k_values[-1]}", test="Fisher exact (presence), BH FDR",
        statistic=statistic, p_value=None, q_value=q_value, effect_size=effect,
        effect="largest |log2 odds ratio| (of flagged k-mers when any)", flag=bool(len(flagged)), threshold=rule,
        message=message,
    )


def distinct_elements(elements: Iterable[str]) -> list[str]:
    """Elements without repeats: one orientation each, none contained in a longer one, longest first.

    Seeds from both strands and from different parts of one artifact give the
    same element, reverse-complemented or cut short at the search window;
    they describe one artifact and are reported once.
    """
    kept: list[str] = []
    for element in sorted(set(elements), key=len, reverse=True):
        forward, backward = element, reverse_complement(element)
        if not any(forward in longer or backward in longer for longer in kept):
            kept.append(min(forward, backward))
    return kept


def _kmer_table(profile: DatasetProfile, k_values: Sequence[int], n_pos: int, n_neg: int) -> pd.DataFrame:
    """Every canonical k-mer present in the data with its per-class counts and Fisher test, by q."""
    frames = []
    for k in k_values:
        codes = canonical_codes(k)
        present = profile.kmer_presence[k][:, codes]
        tested = present.sum(axis=0) > 0
        codes, present = codes[tested], present[:, tested]
        counted = profile.kmer_counts[k][:, codes]
        frames.append(pd.DataFrame({
            "k": k, "kmer": decode_kmers(codes, k),
            "pos_sequences": present[1], "neg_sequences": present[0],
            "pos_count": counted[1], "neg_count": counted[0],
        }))
    table = pd.concat(frames, ignore_index=True)
    a, b = table["pos_sequences"].to_numpy(), table["neg_sequences"].to_numpy()
    table["pos_rate"] = a / n_pos
    table["neg_rate"] = b / n_neg
    table["log2_odds_ratio"] = log2_odds_ratio(a, b, n_pos, n_neg)
    table["p"] = fisher_two_sided(a, b, n_pos, n_neg)
    table["q"] = benjamini_hochberg(table["p"].to_numpy())
    return table.sort_values(["q", "k"], kind="stable", ignore_index=True)
