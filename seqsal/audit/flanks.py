"""Library flanks: a prefix or suffix (almost) every record shares, reported once and kept out of the class tests.

MPRA and STARR-seq libraries, synthetic oligo pools and amplicons often keep
their primer sites, barcodes or vector arms on every record.  Such a flank
is the same in both classes, so it carries no label information, but it
would otherwise fill the k-mer table with its k-mers, trip the adapter check
when it contains adapter pieces and shift the composition of short records.
:func:`find_flanks` finds the longest prefix and suffix shared by at least
``flank_min_share`` of all records; :func:`check_flanks` reports them (with
the adapter they match, if any), and the audit removes them before the class
tests (:meth:`~seqsal.audit.data.AuditData.trim`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqsal.audit.alignment import AdapterIndex, describe_match
from seqsal.audit.data import AuditData
from seqsal.audit.findings import AuditThresholds, CheckResult, Finding, percent
from seqsal.encoding import ALPHABET

MAX_FLANK = 100
"""Longest flank looked for: primers, barcodes and vector arms are shorter."""


@dataclass(frozen=True)
class Flank:
    """One shared end of the records.

    Attributes
    ----------
    end
        ``"5'"`` (prefix) or ``"3'"`` (suffix).
    sequence
        The shared bases, upper case.
    carriers
        ``(N,)`` bool, the records that carry it exactly.
    """

    end: str
    sequence: str
    carriers: np.ndarray


def find_flanks(data: AuditData, min_share: float = 0.95, min_length: int = 8) -> list[Flank]:
    """The prefix and the suffix shared by at least ``min_share`` of all records, if ``min_length`` or longer.

    The flank grows one base at a time from the record end, taking the most
    common base among the records that still carry the whole flank, for as
    long as at least ``min_share`` of all records do.  Only the first and last
    :data:`MAX_FLANK` bases of each record are read.
    """
    flanks = []
    for end in ("5'", "3'"):
        codes = _end_columns(data, end)
        carriers = np.ones(len(data), dtype=bool)
        needed = min_share * len(data)
        bases = []
        for column in range(codes.shape[1]):
            counts = np.bincount(codes[carriers, column], minlength=5)[:4]
            if counts.max() < needed:
                break
            carriers &= codes[:, column] == counts.argmax()
            bases.append(ALPHABET[int(counts.argmax())])
        if len(bases) >= min_length:
            sequence = "".join(bases) if end == "5'" else "".join(reversed(bases))
            flanks.append(Flank(end, sequence, carriers))
    return flanks


def _end_columns(data: AuditData, end: str) -> np.ndarray:
    """``(N, W)`` codes read from the record's ``end`` inwards (4 beyond a short record)."""
    lengths = data.lengths
    width = int(min(MAX_FLANK, lengths.max(initial=0)))
    steps = np.arange(width)
    inside = steps < lengths[:, None]
    if end == "5'":
        index = data.offsets[:-1, None] + steps
    else:
        index = data.offsets[1:, None] - 1 - steps
    source = data.codes if data.codes.size else np.full(1, 4, np.uint8)
    return np.where(inside, source[np.clip(index, 0, max(len(source) - 1, 0))], 4).astype(np.uint8)


def trim_flanks(data: AuditData, flanks: list[Flank]) -> AuditData:
    """The dataset with each flank removed from the records that carry it (``data`` itself when none)."""
    if not flanks:
        return data
    left = np.zeros(len(data), np.int64)
    right = np.zeros(len(data), np.int64)
    for flank in flanks:
        target = left if flank.end == "5'" else right
        target[flank.carriers] = len(flank.sequence)
    return data.trim(left, np.minimum(right, np.maximum(data.lengths - left, 0)))


def check_flanks(
    data: AuditData, flanks: list[Flank], thresholds: AuditThresholds, adapters: Mapping[str, str]
) -> CheckResult:
    """Report the library flanks once, with the adapter each matches; never a class flag.

    A flank is in (almost) every record of both classes, so by itself it
    cannot tell the classes apart; the per-class shares are reported so a
    class that lacks it more often is visible.
    """
    index = AdapterIndex.build(adapters, thresholds.adapter_min_length, thresholds.adapter_mismatch_rate)
    positive = data.labels == 1
    rows, findings = [], []
    for flank in flanks:
        match = index.match(flank.sequence)
        described = describe_match(match) if match is not None else "no known adapter"
        pos_share, neg_share = flank.carriers[positive].mean(), flank.carriers[~positive].mean()
        rows.append({"end": flank.end, "sequence": flank.sequence, "length": len(flank.sequence),
                     "pos_share": pos_share, "neg_share": neg_share, "adapter_match": described})
        findings.append(Finding(
            check="flanks", item=f"{flank.end} library flank", test="shared prefix/suffix", statistic=None,
            p_value=None, q_value=None, effect_size=float(flank.carriers.mean()), effect="share of records",
            flag=False, threshold=f"shared by >= {percent(thresholds.flank_min_share)} of records, >= "
                                  f"{thresholds.flank_min_length} bp; reported, never flagged",
            message=(f"{percent(pos_share)} of positives and {percent(neg_share)} of negatives share the "
                     f"{flank.end} flank {flank.sequence} ({len(flank.sequence)} bp, {described}): a library flank, "
                     "reported once and removed before the class tests (adapters, k-mers, composition, "
                     "duplicates, baselines)."),
        ))
    if not flanks:
        findings.append(Finding(
            check="flanks", item="library flanks", test="shared prefix/suffix", statistic=None, p_value=None,
            q_value=None, effect_size=None, effect="", flag=False,
            threshold=f"shared by >= {percent(thresholds.flank_min_share)} of records, >= "
                      f"{thresholds.flank_min_length} bp",
            message=(f"No prefix or suffix of {thresholds.flank_min_length} bp or more is shared by "
                     f"{percent(thresholds.flank_min_share)} of the records."),
        ))
    columns = ["end", "sequence", "length", "pos_share", "neg_share", "adapter_match"]
    return CheckResult(
        name="flanks", title="Library flanks",
        description=("The longest prefix and suffix shared by almost every record were looked for; such flanks "
                     "(primers, barcodes, vector arms) are the same in both classes, so they are reported here and "
                     "left out of the class tests."),
        findings=findings, tables={"flanks": pd.DataFrame(rows, columns=columns)},
    )
