"""What an audit reports: the flag rules, one finding per tested question, and the results of every check.

:class:`AuditThresholds` holds every rule that turns a statistic into a flag
(each default argued in its docstring); :class:`Finding` is one tested
question with its evidence; :class:`CheckResult` groups a check's findings
with the tables behind them, and :class:`AuditResult` is the whole audit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import pandas as pd

import seqsal
from seqsal.audit.alignment import SEED_K
from seqsal.audit.stats import separation_p
from seqsal.checks import check_int, check_number


@dataclass(frozen=True)
class AuditThresholds:
    """When a check counts as a shortcut flag.  Every default is a documented choice, not a law.

    Attributes
    ----------
    fdr
        Largest Benjamini-Hochberg q value (or p value where a check runs a
        single test) that counts as significant.  0.01: with tens of
        thousands of k-mer tests, a 1% false-discovery rate keeps the list of
        flagged items short enough to read.
    adapter_ratio
        Smallest per-class rate ratio (either direction) of sequences with an
        adapter or homopolymer hit.  2: an artifact twice as common in one
        class is a usable cue for a model; equal rates carry no label
        information however common the artifact is.
    adapter_min_length
        Shortest stretch of a record that counts as an adapter hit when it
        matches part of an adapter.  12: an exact 12-mer of the bundled
        adapters turns up by chance in about 0.2% of random 249-bp records,
        rarely enough that 1% of a class carrying one stands out; it is also
        the shortest bundled adapter.
    adapter_mismatch_rate
        Largest share of mismatching bases in an adapter hit.  0.1: about the
        error rate of an old read end; each mismatch must also be paid for by
        four more matching bases (see :mod:`seqsal.audit.alignment`).
    flank_min_share
        Share of all records that must carry one prefix (or suffix) for it to
        count as a library flank (primer, barcode, vector arm).  0.95: a
        flank lost from a few records by trimming or sequencing errors is
        still the library's flank.
    flank_min_length
        Shortest shared prefix or suffix reported as a flank.  8: two random
        sequences share their first 8 bases with probability 1/65,536.
    homopolymer_length
        Shortest run of one base counted as an artifact.  10: a run of 10 A or
        T has probability below 0.2% in a random 249-bp sequence at 41% GC, so
        such runs are mostly poly-A tails, poly-G no-signal calls or repeats.
    kmer_log2_odds
        Smallest absolute log2 odds ratio of a k-mer's presence between the
        classes.  2 (a four-fold odds ratio): sampled motif sites spread over
        many k-mer variants, so each variant of real biology is rarely this
        enriched unless it is a strong site, which then matches its motif.
    kmer_min_fraction
        Share of the enriched class that must carry the k-mer.  0.01: a
        pattern in fewer than 1% of a class cannot move AUROC much.
    motif_match
        Smallest score of a k-mer (or of the conserved element around it)
        against a known motif, as a fraction of the best score over the same
        motif columns, for it to count as that motif.  0.8 is the relative
        threshold :func:`seqsal.motifs.scan` uses.
    artifact_min_length
        Shortest conserved element around an enriched k-mer that counts as a
        copied artifact.  12: the occurrences of an adapter, barcode or vector
        piece share its whole sequence, while sampled sites of real motifs
        share only the motif's informative core (9-11 bp around 8-mers of the
        JASPAR enhancer motifs in simulated data); 12 is also the shortest
        bundled adapter.
    ks_statistic
        Smallest Kolmogorov-Smirnov D for a composition difference.  With
        100,000 sequences per class any difference is significant, so the
        effect size decides.  0.2: for a shifted distribution, D = 0.2 means
        the feature alone reaches an AUROC of about 0.64, in line with
        ``baseline_auroc``; the motif content of simulated enhancers alone
        shifts GC by D = 0.07-0.11.
    baseline_auroc
        Cross-validated AUROC of GC-only or length-only logistic regression
        that counts as a shortcut.  0.65: one composition number separating
        the classes this well lets a model look accurate without reading a
        motif, while GC-matched or shuffled backgrounds stay near 0.5.
    near_duplicate_jaccard
        Estimated Jaccard similarity of 8-mer sets above which two records are
        near-duplicates.  0.8: a few point differences in 249 bp still give
        about 0.8-0.9, unrelated sequences about 0.004.
    max_duplicate_fraction
        Largest share of records that may be redundant copies within one class
        and split.  0.01: a few repeats are normal in genomic data; more
        inflate any metric computed on that split.
    attribution_enrichment
        With a model: ratio of the attribution share on artifact positions to
        the share of positions they occupy.  2: the model looks at artifacts
        twice as much as at an average base.
    prediction_change
        With a model: mean absolute change of the logit when artifacts are
        shuffled away.  0.5: a change of half a logit unit is about a 12-point
        probability change near 0.5.
    """

    fdr: float = 0.01
    adapter_ratio: float = 2.0
    adapter_min_length: int = 12
    adapter_mismatch_rate: float = 0.1
    flank_min_share: float = 0.95
    flank_min_length: int = 8
    homopolymer_length: int = 10
    kmer_log2_odds: float = 2.0
    kmer_min_fraction: float = 0.01
    motif_match: float = 0.8
    artifact_min_length: int = 12
    ks_statistic: float = 0.2
    baseline_auroc: float = 0.65
    near_duplicate_jaccard: float = 0.8
    max_duplicate_fraction: float = 0.01
    attribution_enrichment: float = 2.0
    prediction_change: float = 0.5

    def __post_init__(self) -> None:
        check_number(self.fdr, "fdr", minimum=0, maximum=1, include_minimum=False, include_maximum=False)
        check_number(self.adapter_ratio, "adapter_ratio", minimum=1)
        check_int(self.adapter_min_length, "adapter_min_length", minimum=SEED_K)
        check_number(self.adapter_mismatch_rate, "adapter_mismatch_rate", minimum=0, maximum=0.5)
        check_number(self.flank_min_share, "flank_min_share", minimum=0.5, maximum=1)
        check_int(self.flank_min_length, "flank_min_length", minimum=1)
        check_int(self.homopolymer_length, "homopolymer_length", minimum=2)
        check_number(self.kmer_log2_odds, "kmer_log2_odds", minimum=0)
        check_number(self.kmer_min_fraction, "kmer_min_fraction", minimum=0, maximum=1)
        check_number(self.motif_match, "motif_match", minimum=0, maximum=1, include_minimum=False)
        check_int(self.artifact_min_length, "artifact_min_length", minimum=1)
        check_number(self.ks_statistic, "ks_statistic", minimum=0, maximum=1, include_minimum=False)
        check_number(self.baseline_auroc, "baseline_auroc", minimum=0.5, maximum=1)
        check_number(self.near_duplicate_jaccard, "near_duplicate_jaccard", minimum=0, maximum=1,
                     include_minimum=False)
        check_number(self.max_duplicate_fraction, "max_duplicate_fraction", minimum=0, maximum=1)
        check_number(self.attribution_enrichment, "attribution_enrichment", minimum=0, include_minimum=False)
        check_number(self.prediction_change, "prediction_change", minimum=0)


@dataclass(frozen=True)
class Finding:
    """One tested question of one check, with its evidence and verdict.

    Attributes
    ----------
    check
        The check that made it (``"adapters"``, ``"kmers"``, ...).
    item
        What was tested, e.g. an adapter name or ``"GC content"``.
    test
        The statistical test or measure, e.g. ``"Fisher exact"``.
    statistic
        The test statistic or the measured value.
    p_value, q_value
        Raw and Benjamini-Hochberg-adjusted p values, ``None`` for counts.
    effect_size
        Magnitude of the difference, in the unit named by ``effect``.
    effect
        What ``effect_size`` measures.
    flag
        Whether this item is a shortcut by the thresholds.
    threshold
        The rule that decides ``flag``, in words and numbers.
    message
        A plain-language sentence for the report: what was found and what to
        do about it when flagged, what was checked otherwise.
    status
        ``"tested"``; ``"too few records"`` when no data of this size could
        have been flagged (see :func:`note_sample_size`); ``"not run"`` when
        the check could not run at all; ``"not applicable"`` when the data
        lack what it needs (genomic overlap without coordinates in the ids).
    """

    check: str
    item: str
    test: str
    statistic: float | None
    p_value: float | None
    q_value: float | None
    effect_size: float | None
    effect: str
    flag: bool
    threshold: str
    message: str
    status: str = "tested"


def note_sample_size(
    findings: list[Finding], test: str, tests: int, fdr: float, n_pos: int, n_neg: int
) -> list[Finding]:
    """Mark every finding of a check that cannot flag anything with this many records, and say why.

    A single feature that separates the classes completely gets the
    smallest p value the check's ``test`` allows
    (:func:`~seqsal.audit.stats.separation_p`) and the q value ``p * tests``;
    when even that does not pass ``fdr``, "no flag" means "too few records to
    tell", and the message must say so.
    """
    smallest = separation_p(n_pos, n_neg, test)
    if smallest * max(tests, 1) < fdr:
        return findings
    note = (f"Too few records to tell: with {n_pos} positives and {n_neg} negatives, even a feature separating "
            f"the classes completely would get p = {smallest:.2g}"
            + (f" (q = {min(1.0, smallest * tests):.2g} over {tests} tests)" if tests > 1 else "")
            + f", not below {fdr:g}.")
    return [replace(finding, status="too few records", message=f"{note} {finding.message}")
            if finding.status == "tested" else finding for finding in findings]


@dataclass
class CheckResult:
    """The findings of one check and the evidence tables behind them (one TSV each)."""

    name: str
    title: str
    description: str
    findings: list[Finding]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def flagged(self) -> bool:
        """True when any finding is flagged."""
        return any(finding.flag for finding in self.findings)


@dataclass
class AuditResult:
    """Everything an audit found, ready to be written by :func:`write_audit`."""

    dataset: dict
    thresholds: AuditThresholds
    settings: dict
    checks: list[CheckResult]

    @property
    def findings(self) -> list[Finding]:
        """All findings of all checks, in check order."""
        return [finding for result in self.checks for finding in result.findings]

    @property
    def flags(self) -> list[Finding]:
        """The flagged findings only."""
        return [finding for finding in self.findings if finding.flag]

    @property
    def flagged(self) -> bool:
        """True when anything is flagged (``--fail-on-flag`` exits 1 then)."""
        return bool(self.flags)

    @property
    def untold(self) -> list[str]:
        """Titles of the checks that could not run or had too few records to tell, in check order."""
        return [result.title for result in self.checks
                if any(finding.status in ("too few records", "not run") for finding in result.findings)]

    def summary(self) -> dict:
        """The content of ``summary.json``: dataset, thresholds, flags first, then every finding."""
        return {
            "tool": "seqsal",
            "kind": "audit",
            "seqsal_version": seqsal.__version__,
            "flagged": self.flagged,
            "n_flags": len(self.flags),
            "flags": [finding.message for finding in self.flags],
            "checks_without_verdict": self.untold,
            "dataset": self.dataset,
            "thresholds": asdict(self.thresholds),
            "settings": self.settings,
            "checks": {
                result.name: {
                    "title": result.title,
                    "flag": result.flagged,
                    "findings": [_plain_finding(finding) for finding in result.findings],
                    "tables": [f"{name}.tsv" for name in result.tables],
                }
                for result in self.checks
            },
        }

    def findings_table(self) -> pd.DataFrame:
        """All findings as one table (``checks.tsv``), message last."""
        return pd.DataFrame([asdict(finding) for finding in self.findings])


def _plain_finding(finding: Finding) -> dict:
    """A finding as JSON-ready values: numpy scalars become floats, NaN becomes ``None``."""
    plain = {}
    for key, value in asdict(finding).items():
        if isinstance(value, (float, np.floating)):
            value = None if not np.isfinite(value) else float(value)
        elif isinstance(value, np.bool_):
            value = bool(value)
        plain[key] = value
    return plain


def percent(value: float) -> str:
    """A share as a percentage, with two significant digits below 0.1%."""
    return f"{100 * value:.1f}%" if value >= 0.001 or value == 0 else f"{100 * value:.2g}%"


def class_rates(a: int, b: int, n_pos: int, n_neg: int) -> str:
    """``"12 of 600 positives (2.0%) and 0 of 600 negatives (0.0%)"``."""
    return (f"{a} of {n_pos} positives ({percent(a / n_pos)}) and "
            f"{b} of {n_neg} negatives ({percent(b / n_neg)})")
