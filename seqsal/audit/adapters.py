"""Check 1: adapters (whole, partial, read-through, either strand, anywhere) and homopolymer runs, per class."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from seqsal.audit.alignment import AdapterIndex, best_per_stretch, concat_hits
from seqsal.audit.data import AuditData, find_all, with_ids
from seqsal.audit.findings import (
    AuditThresholds,
    CheckResult,
    Finding,
    class_rates,
    note_sample_size,
)
from seqsal.audit.profile import DatasetProfile, profile_dataset
from seqsal.audit.sketch import SKETCH_K
from seqsal.audit.stats import benjamini_hochberg, rate_ratio
from seqsal.encoding import ALPHABET, reverse_complement
from seqsal.motifs import load_adapters

MIN_READTHROUGH = 8
"""Shortest adapter prefix counted at a read's 3' end (or its reverse complement at the 5' end).  Shorter
than the alignment's ``min_length`` because a read that *ends* exactly in an adapter prefix is the
signature of a fragment shorter than the read; exact matches only, as errors in 8 bases would match by
chance."""

HIT_TABLE_COLUMNS = ["row", "adapter", "strand", "kind", "position", "start", "end", "adapter_start",
                     "adapter_end", "mismatches"]


def low_complexity(adapter: str) -> bool:
    """True for homopolymer-like entries (one base makes up 3/4 or more), which are searched whole and exactly.

    A poly-G 12-mer with one substitution is ``GGGGCGGGGGGG``, the GC box
    that SP/KLF factors bind; tolerating a mismatch or a partial match in a
    homopolymer finds real motifs and ordinary runs, not artifacts.
    """
    return max(adapter.count(base) for base in ALPHABET) >= 0.75 * len(adapter)


def find_adapter_hits(
    data: AuditData,
    adapters: Mapping[str, str],
    min_length: int = 12,
    max_mismatch_rate: float = 0.1,
    profile: DatasetProfile | None = None,
) -> pd.DataFrame:
    """Locate adapters, whole or in part, on both strands, anywhere in every record.

    Three kinds of hit, overlapping hits in one record resolved to the
    best-scoring adapter (:func:`~seqsal.audit.alignment.best_per_stretch`):

    - ``whole`` / ``partial``: local alignment
      (:class:`~seqsal.audit.alignment.AdapterIndex`): any stretch of at
      least ``min_length`` bases matching any part of an adapter with at most
      ``max_mismatch_rate`` mismatches (each mismatch paid for by four more
      matching bases);
    - ``read-through``: a record ending in the first 8 to ``min_length - 1``
      bases of an adapter (or starting with their reverse complement), exact;
    - homopolymer-like entries (poly-A, poly-G, see :func:`low_complexity`)
      only whole and exact, overlapping windows merged.

    Parameters
    ----------
    profile
        A :func:`~seqsal.audit.profile.profile_dataset` result made with the
        same adapters, whose pass already aligned them; else a pass is made.

    Returns
    -------
    pandas.DataFrame
        One row per hit: ``row, adapter, strand, kind, position`` (``5'``,
        ``internal``, ``3'``), ``start, end`` (record coordinates, 0-based,
        end exclusive, plus strand), ``adapter_start, adapter_end`` (in the
        adapter) and ``mismatches``.
    """
    aligned = {name: sequence for name, sequence in adapters.items() if not low_complexity(sequence)}
    hits = profile.adapter_hits if profile is not None else None
    if hits is None:
        index = AdapterIndex.build(aligned, min_length, max_mismatch_rate)
        hits = concat_hits([index.align(data.padded(batch), data.lengths[batch], batch) for batch in data.batches()])
    frames = [hits]
    for name, adapter in adapters.items():
        for strand, pattern in (("+", adapter), ("-", reverse_complement(adapter))):
            if name not in aligned:
                frames.append(_whole_exact_hits(data, name, strand, pattern))
            elif len(adapter) > MIN_READTHROUGH:
                frames.append(_readthrough_hits(data, name, strand, pattern, min(min_length, len(adapter))))
    hits = best_per_stretch(concat_hits(frames))
    sizes = hits["adapter"].map({name: len(sequence) for name, sequence in adapters.items()})
    whole = (hits["adapter_end"] - hits["adapter_start"]).to_numpy() == sizes.to_numpy()
    short = (hits["end"] - hits["start"]).to_numpy() < min_length
    hits["kind"] = np.where(short & ~whole, "read-through", np.where(whole, "whole", "partial"))
    lengths = data.lengths[hits["row"].to_numpy(dtype=np.int64)]
    hits["position"] = np.where(hits["start"] == 0, "5'", np.where(hits["end"] == lengths, "3'", "internal"))
    return hits[HIT_TABLE_COLUMNS]


def _whole_exact_hits(data: AuditData, name: str, strand: str, pattern: str) -> pd.DataFrame:
    """Exact whole-pattern windows, overlapping windows of one record merged (a long poly-A run is one hit)."""
    buffer, _ = data.joined
    width = len(pattern)
    rows, starts, fits = data.locate(find_all(buffer, pattern.encode("ascii")), width)
    rows, starts = rows[fits], starts[fits]
    new_occurrence = np.ones(len(rows), dtype=bool)
    new_occurrence[1:] = (rows[1:] != rows[:-1]) | (starts[1:] >= starts[:-1] + width)
    group = np.cumsum(new_occurrence) - 1
    merged = pd.DataFrame({"row": rows, "start": starts, "end": starts + width})
    merged = merged.groupby(group).agg(row=("row", "first"), start=("start", "min"), end=("end", "max"))
    return merged.assign(adapter=name, strand=strand, adapter_start=0, adapter_end=width, mismatches=0,
                         score=merged["end"] - merged["start"])


def _readthrough_hits(data: AuditData, name: str, strand: str, pattern: str, below: int) -> pd.DataFrame:
    """Records ending in an adapter prefix of 8 to ``below - 1`` bases (plus strand) or starting with its
    reverse complement (minus strand)."""
    buffer, seq_starts = data.joined
    width = len(pattern)
    lengths = data.lengths
    if strand == "+":  # the seed is the adapter's first bases; the record must end within the adapter
        rows, starts, _ = data.locate(find_all(buffer, pattern[:MIN_READTHROUGH].encode("ascii")), 0)
        overlap = lengths[rows] - starts
    else:  # the seed is the reverse complement's last bases; the record must start within it
        rows, starts, _ = data.locate(find_all(buffer, pattern[-MIN_READTHROUGH:].encode("ascii")), 0)
        overlap = starts + MIN_READTHROUGH
        starts = np.zeros_like(starts)
    keep = (overlap >= MIN_READTHROUGH) & (overlap < below)
    hits = []
    for row, start, size in zip(rows[keep], starts[keep], overlap[keep]):
        expected = pattern[:size] if strand == "+" else pattern[width - size :]
        begin = int(seq_starts[row] + start)
        if buffer[begin : begin + size].decode("ascii") == expected:
            hits.append((row, start, start + size, size))  # adapter positions 1..size on either strand
    frame = pd.DataFrame(hits, columns=["row", "start", "end", "size"], dtype=np.int64)
    return pd.DataFrame({"row": frame["row"], "adapter": name, "strand": strand, "start": frame["start"],
                         "end": frame["end"], "adapter_start": 0, "adapter_end": frame["size"], "mismatches": 0,
                         "score": frame["size"]})


def check_adapters(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    adapters: Mapping[str, str] | None = None,
    profile: DatasetProfile | None = None,
) -> CheckResult:
    """Compare per-class rates of adapter hits and homopolymer runs (Fisher exact tests).

    Each adapter is one test (a record counts when it has any hit of it);
    homopolymer runs are two tests, A/T and C/G (a poly-A run on one strand is
    a poly-T run on the other).  q values are Benjamini-Hochberg over all of
    them.  An item is flagged when q < ``fdr`` and the rate ratio is at least
    ``adapter_ratio`` in either direction: the artifact then tells the classes
    apart, whereas equal rates carry no label information.  The table gives,
    per adapter, the hits by position in the record (5', internal, 3'), by
    strand and the lengths of the matching stretches.

    Parameters
    ----------
    adapters
        Name -> sequence; the bundled Illumina/Nextera list by default.
    profile
        A :func:`~seqsal.audit.profile.profile_dataset` result, for its
        homopolymer runs (and adapter hits when it aligned them); computed
        when not given.
    """
    adapters = load_adapters() if adapters is None else dict(adapters)
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    n_neg, n_pos = data.class_sizes
    hits = find_adapter_hits(data, adapters, thresholds.adapter_min_length, thresholds.adapter_mismatch_rate,
                             profile)
    runs = profile.homopolymers[profile.homopolymers["end"] - profile.homopolymers["start"]
                                >= thresholds.homopolymer_length]
    run_names = np.where(np.isin(runs["base"], (0, 3)), "homopolymer A/T", "homopolymer C/G")
    runs = pd.DataFrame({"row": runs["row"], "adapter": run_names, "strand": "+", "kind": "homopolymer",
                         "position": "", "start": runs["start"], "end": runs["end"], "adapter_start": 0,
                         "adapter_end": runs["end"] - runs["start"], "mismatches": 0})
    occurrences = pd.concat([frame for frame in (hits, runs) if len(frame)] or [hits], ignore_index=True)
    table = pd.DataFrame([_adapter_row(data, item, occurrences[occurrences["adapter"] == item])
                          for item in list(adapters) + ["homopolymer A/T", "homopolymer C/G"]])
    table["q"] = benjamini_hochberg(table["p"].to_numpy())
    ratio = thresholds.adapter_ratio
    lopsided = (table["rate_ratio"] >= ratio) | (table["rate_ratio"] <= 1 / ratio)
    table["flag"] = (table["q"] < thresholds.fdr) & lopsided
    findings = [_adapter_finding(record, thresholds, n_pos, n_neg) for record in table.itertuples(index=False)]
    findings = note_sample_size(findings, "fisher", len(table), thresholds.fdr, n_pos, n_neg)
    occurrences = occurrences.sort_values(["row", "start"], kind="stable", ignore_index=True)
    return CheckResult(
        name="adapters",
        title="Adapters and artifacts",
        description=(
            f"Known adapters ({', '.join(adapters)}) were aligned to every record on both strands: any stretch of "
            f"at least {thresholds.adapter_min_length} bp matching any part of an adapter with at most "
            f"{100 * thresholds.adapter_mismatch_rate:g}% mismatches (each mismatch paid for by four more matching "
            "bases), anywhere in the record, plus read-through (a record ending in the first 8 or more bases of an "
            f"adapter). Homopolymer runs of at least {thresholds.homopolymer_length} bases were counted. Rates per "
            "class were compared with Fisher's exact test."
        ),
        findings=findings,
        tables={"adapters": table, "artifact_hits": with_ids(data, occurrences)},
    )


def _adapter_row(data: AuditData, item: str, hits: pd.DataFrame) -> dict:
    """One adapter's line of ``adapters.tsv``: carriers per class, Fisher test, where and how long its hits are."""
    n_neg, n_pos = data.class_sizes
    a, b = carriers_per_class(data, hits)
    odds_ratio, p = stats.fisher_exact([[a, n_pos - a], [b, n_neg - b]])
    lengths = (hits["end"] - hits["start"]).to_numpy()

    def by(column: str) -> str:
        return ", ".join(f"{value} %d/%d" % carriers_per_class(data, group)
                         for value, group in hits.groupby(column) if value) or "none"

    span = (f"{int(hits['adapter_start'].min()) + 1}-{int(hits['adapter_end'].max())}"
            if len(hits) and not item.startswith("homopolymer") else "")
    return {"item": item, "pos_sequences": a, "neg_sequences": b, "pos_rate": a / n_pos, "neg_rate": b / n_neg,
            "rate_ratio": float(rate_ratio(a, b, n_pos, n_neg)), "odds_ratio": odds_ratio, "p": p,
            "hits_by_kind_pos_neg": by("kind"), "hits_by_position_pos_neg": by("position"),
            "hits_by_strand_pos_neg": by("strand"),
            "hit_length_min": int(lengths.min()) if len(lengths) else 0,
            "hit_length_median": float(np.median(lengths)) if len(lengths) else 0.0,
            "hit_length_max": int(lengths.max()) if len(lengths) else 0, "adapter_positions": span}


def _adapter_finding(record: tuple, thresholds: AuditThresholds, n_pos: int, n_neg: int) -> Finding:
    """The sentence and verdict of one adapter (or homopolymer) line."""
    rates = class_rates(record.pos_sequences, record.neg_sequences, n_pos, n_neg)
    if record.item.startswith("homopolymer"):
        what = f"Runs of at least {thresholds.homopolymer_length} {record.item.split()[-1]} occur"
    else:
        what = f"The adapter {record.item} occurs"
        if record.pos_sequences + record.neg_sequences:
            what += (f" (stretches of {record.hit_length_min}-{record.hit_length_max} bp within its positions "
                     f"{record.adapter_positions}; by position {record.hits_by_position_pos_neg}; by strand "
                     f"{record.hits_by_strand_pos_neg}, positives/negatives)")
    if record.flag:
        richer = "positives" if record.rate_ratio > 1 else "negatives"
        message = (f"{what} in {rates} (Fisher q = {record.q:.2g}): a cue a model can use to recognise "
                   f"{richer}. Trim it (e.g. with cutadapt) or drop the affected records.")
    else:
        message = f"{what} in {rates}; no class difference."
    ratio = thresholds.adapter_ratio
    return Finding(
        check="adapters", item=record.item, test="Fisher exact (sequences with a hit; odds ratio)",
        statistic=float(record.odds_ratio), p_value=float(record.p), q_value=float(record.q),
        effect_size=float(record.rate_ratio), effect="rate ratio, positives / negatives", flag=bool(record.flag),
        threshold=f"q < {thresholds.fdr} and rate ratio >= {ratio:g} or <= 1/{ratio:g}", message=message,
    )


def carriers_per_class(data: AuditData, hits: pd.DataFrame) -> tuple[int, int]:
    """Number of positive and negative records with at least one of ``hits``."""
    carriers = np.unique(hits["row"].to_numpy(dtype=np.int64))
    positives = int(data.labels[carriers].sum())
    return positives, len(carriers) - positives
