"""Check 5: trivial baselines: cross-validated AUROC of logistic regression on GC, length and k-mers."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from seqsal.audit.data import AuditData
from seqsal.audit.findings import (
    AuditThresholds,
    CheckResult,
    Finding,
    note_sample_size,
)
from seqsal.audit.kmers import kmer_count_matrix
from seqsal.audit.profile import DatasetProfile, profile_dataset
from seqsal.audit.sketch import SKETCH_K
from seqsal.checks import check_int

BASELINE_MAX_K = 5
"""Longest k-mer in the k-mer baseline: 4^5 = 1024 features (512 canonical) is what a linear model
can estimate from a few thousand sequences; shorter k-mers are included too."""


def check_baselines(
    data: AuditData,
    thresholds: AuditThresholds = AuditThresholds(),
    profile: DatasetProfile | None = None,
    max_per_class: int = 20_000,
    folds: int = 5,
    random_state: int | None = 0,
) -> CheckResult:
    """Cross-validated AUROC of logistic regression on GC alone, length alone and k-mer frequencies.

    If one number per sequence separates the classes, a deep model will find
    it first.  GC-only and length-only AUROCs at or above ``baseline_auroc``
    are flagged by themselves.  The k-mer model (canonical 1- to 5-mer
    frequencies) also captures motifs, i.e. real biology, so it is a
    reference for what a position-blind model achieves and never flagged.

    Out-of-fold decision values come from scikit-learn's
    ``cross_val_predict`` (stratified folds, seeded); the AUROC is the mean
    over folds, and the p value is a one-sided Mann-Whitney U test of the
    pooled out-of-fold scores (AUROC is U scaled to [0, 1]).  The L2 penalty
    ``C = 0.1`` keeps hundreds of k-mer weights from chasing rare k-mers and
    converges fast; BLAS runs on one thread because problems this small only
    lose time to thread hand-offs, badly so on a busy machine.

    Parameters
    ----------
    max_per_class
        Records drawn at random from each larger class; AUROC of a
        one-feature model is precise to about 0.005 at 20,000 per class.
    folds
        Cross-validation folds (fewer when a class is smaller).
    random_state
        Seed for the subsample and the folds.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    check_int(max_per_class, "max_per_class", minimum=2)
    check_int(folds, "folds", minimum=2)
    profile = profile or profile_dataset(data, (SKETCH_K,), thresholds.homopolymer_length)
    rng = np.random.default_rng(random_state)
    rows = np.sort(np.concatenate([
        rng.choice(members, size=min(len(members), max_per_class), replace=False)
        for members in (np.flatnonzero(data.labels == label) for label in (0, 1))
    ]))
    y = data.labels[rows]
    n_folds = min(folds, int(np.bincount(y, minlength=2).min()))
    gc = np.divide(profile.gc[rows], profile.acgt[rows], out=np.full(len(rows), np.nan), where=profile.acgt[rows] > 0)
    gc = np.where(np.isnan(gc), np.nanmedian(gc) if np.isfinite(gc).any() else 0.5, gc)
    features = {
        "GC only": gc[:, None],
        "length only": data.lengths[rows].astype(float)[:, None],
        f"k-mers (k <= {BASELINE_MAX_K})": kmer_count_matrix(data, rows, range(1, BASELINE_MAX_K + 1)),
    }
    results = []
    for name, X in features.items():
        if n_folds < 2:
            results.append({"baseline": name, "auroc": np.nan, "auroc_sd": np.nan, "p": np.nan, "n": len(rows),
                            "folds": n_folds})
            continue
        splitter = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=random_state)
        model = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=1000))
        with threadpool_limits(limits=1, user_api="blas"):
            scores = cross_val_predict(model, X, y, cv=splitter, method="decision_function")
        per_fold = [roc_auc_score(y[test], scores[test]) for _, test in splitter.split(X, y)]
        if np.ptp(scores) > 0:
            p = float(stats.mannwhitneyu(scores[y == 1], scores[y == 0], alternative="greater").pvalue)
        else:
            p = 1.0
        results.append({"baseline": name, "auroc": float(np.mean(per_fold)), "auroc_sd": float(np.std(per_fold)),
                        "p": p, "n": len(rows), "folds": n_folds})
    table = pd.DataFrame(results)
    table["flag"] = [
        bool(name != list(features)[-1] and np.isfinite(auroc) and auroc >= thresholds.baseline_auroc
             and p < thresholds.fdr)
        for name, auroc, p in zip(table["baseline"], table["auroc"], table["p"])
    ]
    findings = [_baseline_finding(record, thresholds) for record in table.itertuples(index=False)]
    n_neg, n_pos = data.class_sizes
    findings = note_sample_size(findings, "rank", 1, thresholds.fdr, min(n_pos, max_per_class),
                                min(n_neg, max_per_class))
    return CheckResult(
        name="baselines",
        title="Trivial baselines",
        description=(f"Logistic regression (scikit-learn, standardised features) was cross-validated on up to "
                     f"{max_per_class} records per class: on GC content only, on length only, and on canonical "
                     f"k-mer frequencies (k = 1-{BASELINE_MAX_K})."),
        findings=findings,
        tables={"baselines": table},
    )


def _baseline_finding(record: tuple, thresholds: AuditThresholds) -> Finding:
    """The sentence and verdict of one baseline."""
    reference = record.baseline.startswith("k-mers")
    if not np.isfinite(record.auroc):
        message = f"The {record.baseline} baseline was not run: a class has fewer than 2 records."
    elif record.flag:
        message = (f"Logistic regression on {record.baseline.replace(' only', '')} alone reaches AUROC "
                   f"{record.auroc:.2f} ({record.folds}-fold CV): any model can score this well without reading "
                   "a motif. Match this property between classes before training.")
    elif reference:
        message = (f"A position-blind model on k-mer frequencies reaches AUROC {record.auroc:.2f}: compare your "
                   "model with this, not with 0.5.")
    else:
        message = f"{record.baseline.replace(' only', '').capitalize()} alone reaches AUROC {record.auroc:.2f}."
    return Finding(
        check="baselines", item=record.baseline, test=f"logistic regression, {record.folds}-fold CV AUROC",
        statistic=record.auroc, p_value=record.p, q_value=None,
        effect_size=record.auroc - 0.5 if np.isfinite(record.auroc) else np.nan, effect="AUROC - 0.5",
        flag=bool(record.flag),
        threshold="reference only, never flagged" if reference else
        f"AUROC >= {thresholds.baseline_auroc:g} and p < {thresholds.fdr}",
        message=message, status="tested" if np.isfinite(record.auroc) else "not run",
    )
