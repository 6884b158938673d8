"""Check 3: GC, length, N and soft-masked content per class (Kolmogorov-Smirnov)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from seqsal.audit.data import AuditData, with_ids
from seqsal.audit.findings import (
    AuditThresholds,
    CheckResult,
    Finding,
    note_sample_size,
    percent,
)
from seqsal.audit.profile import DatasetProfile, profile_dataset
from seqsal.audit.sketch import SKETCH_K
from seqsal.audit.stats import benjamini_hochberg


def composition_table(data: AuditData, profile: DatasetProfile) -> pd.DataFrame:
    """Per-sequence length, GC (of ``ACGT`` bases), N fraction and soft-masked fraction."""
    lengths = data.lengths
    safe = np.maximum(lengths, 1)
    frame = with_ids(data, pd.DataFrame({"row": np.arange(len(data))}))
    return frame.assign(
        length=lengths,
        gc=np.divide(profile.gc, profile.acgt, out=np.full(len(data), np.nan), where=profile.acgt > 0),
        n_fraction=(lengths - profile.acgt) / safe,
        softmasked_fraction=data.softmasked / safe,
    )


COMPOSITION_METRICS = {
    "gc": ("GC content", "Use GC-matched negatives (e.g. sampled from background with the same GC distribution)."),
    "length": ("length", "Trim or pad both classes to one length, or draw negatives with the positives' lengths."),
    "n_fraction": ("N content", "Mask or drop N-rich records in both classes alike."),
    "softmasked_fraction": ("soft-masked (lowercase) fraction",
                            "Repeats are masked in one class only; upper-case both or mask both."),
}


def check_composition(
    data: AuditData, thresholds: AuditThresholds = AuditThresholds(), profile: DatasetProfile | None = None
) -> CheckResult:
    """Compare GC, length, N and soft-masked content between classes (two-sample Kolmogorov-Smirnov).

    KS compares whole distributions, so a shift, a spread or a second mode
    all count.  Because large datasets make every difference significant,
    a metric is flagged only when q < ``fdr`` *and* D >= ``ks_statistic``.
    """
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    table = composition_table(data, profile)
    positive = data.labels == 1
    rows = []
    for metric, (label, _) in COMPOSITION_METRICS.items():
        values = table[metric].to_numpy(dtype=float)
        pos, neg = values[positive & ~np.isnan(values)], values[~positive & ~np.isnan(values)]
        if len(pos) and len(neg):
            result = stats.ks_2samp(pos, neg)
            statistic, p = float(result.statistic), float(result.pvalue)
        else:
            statistic, p = 0.0, 1.0
        rows.append({"metric": metric, "label": label,
                     "pos_median": np.median(pos) if len(pos) else np.nan,
                     "neg_median": np.median(neg) if len(neg) else np.nan,
                     "pos_mean": pos.mean() if len(pos) else np.nan,
                     "neg_mean": neg.mean() if len(neg) else np.nan, "ks_d": statistic, "p": p})
    summary = pd.DataFrame(rows)
    summary["q"] = benjamini_hochberg(summary["p"].to_numpy())
    summary["flag"] = (summary["q"] < thresholds.fdr) & (summary["ks_d"] >= thresholds.ks_statistic)
    findings = []
    for record in summary.itertuples(index=False):
        label, advice = COMPOSITION_METRICS[record.metric]
        medians = (f"median {_format_metric(record.metric, record.pos_median)} in positives vs "
                   f"{_format_metric(record.metric, record.neg_median)} in negatives")
        if record.flag:
            message = (f"The {label} differs between classes ({medians}; KS D = {record.ks_d:.2f}, "
                       f"q = {record.q:.2g}): a model can separate them by composition alone. {advice}")
        else:
            message = f"The {label} is similar in both classes ({medians}; KS D = {record.ks_d:.2f})."
        findings.append(Finding(
            check="composition", item=label, test="Kolmogorov-Smirnov two-sample", statistic=record.ks_d,
            p_value=record.p, q_value=record.q, effect_size=record.ks_d, effect="KS D (largest CDF gap)",
            flag=bool(record.flag), threshold=f"q < {thresholds.fdr} and D >= {thresholds.ks_statistic:g}",
            message=message,
        ))
    n_neg, n_pos = data.class_sizes
    findings = note_sample_size(findings, "ks", len(findings), thresholds.fdr, n_pos, n_neg)
    return CheckResult(
        name="composition",
        title="Composition",
        description=("GC content (of A/C/G/T bases), length, N content and the soft-masked (lowercase) fraction were "
                     "compared between classes with two-sample Kolmogorov-Smirnov tests."),
        findings=findings,
        tables={"composition": summary, "sequences": table.drop(columns="row")},
    )


def _format_metric(metric: str, value: float) -> str:
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.0f} bp" if metric == "length" else percent(value)
