"""The audit of an activity (regression) dataset: measured values per sequence instead of two classes.

MPRA and STARR-seq tables give each sequence a number (log2 RNA/DNA), so the
class tests of the audit become association tests: does a k-mer's frequency,
GC content or length track activity (Spearman, Benjamini-Hochberg), how much
of the activity do position-blind ridge regressions on GC or k-mers explain
(cross-validated R² and Spearman), and do the splits share sequences.  Library
flanks come first, as in the class audit: a prefix or suffix on every record
is the same whatever the activity, so it carries no activity information and
is cut before the other checks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats

from seqsal.audit.alignment import AdapterIndex, describe_match
from seqsal.audit.data import AuditData
from seqsal.audit.enrichment import match_kmers
from seqsal.audit.findings import AuditResult, AuditThresholds, CheckResult, Finding, percent
from seqsal.audit.flanks import Flank, find_flanks, trim_flanks
from seqsal.audit.kmers import canonical_codes, decode_kmers, kmer_count_matrix
from seqsal.audit.leakage import check_leakage, exact_duplicates
from seqsal.audit.profile import profile_dataset
from seqsal.audit.sketch import SKETCH_K
from seqsal.audit.stats import benjamini_hochberg
from seqsal.checks import check_int
from seqsal.datasets import read_table, table_records
from seqsal.errors import check
from seqsal.motifs import Motif

ACTIVITY_K = (4, 5, 6)
"""k-mer lengths tested for association with activity: 6 bp covers most TF cores, 2,728 canonical k-mers."""

BASELINE_MAX_K = 5
"""Longest k-mer of the ridge baseline (1- to 5-mers, 692 canonical frequencies), as in the class audit."""

REPORTED_KMERS = 50
"""k-mers kept in ``activity_kmers.tsv``: the strongest associations, each annotated with a JASPAR motif."""


def load_activity_tables(
    paths: Sequence[str | PathLike], sequence_column: str = "seq", target_column: str = "mean_value"
) -> tuple[AuditData, np.ndarray]:
    """Read one or more sequence tables into one dataset and its activities; each file is a split.

    Records are named ``<file stem>:<row>`` as :func:`seqsal.datasets.read_table`
    names them, so ids never collide between files; with two or more files the
    file stems are the split names the duplicate check compares.
    """
    check(len(paths) > 0, "give at least one table")
    records, values, splits = [], [], {}
    for path in paths:
        table = read_table(path, sequence_column, (target_column,))
        found = pd.to_numeric(table[target_column], errors="coerce").to_numpy(dtype=float)
        check(np.isfinite(found).all(), f"{path}: column {target_column!r} holds missing or non-numeric values")
        records += table_records(table, sequence_column)
        values.append(found)
        splits.update({record_id: Path(path).name.split(".")[0] for record_id in table["id"]})
    sources = {"positive": ", ".join(str(p) for p in paths), "negative": "", "target": target_column}
    data = AuditData.from_records(records, [], splits if len(paths) > 1 else None, sources, one_class=True)
    return data, np.concatenate(values)


def audit_activity(
    data: AuditData,
    values: np.ndarray,
    *,
    thresholds: AuditThresholds | None = None,
    adapters: Mapping[str, str] | None = None,
    motifs: Sequence[Motif] = (),
    folds: int = 5,
    random_state: int | None = 0,
) -> AuditResult:
    """Flanks, k-mer and composition association with activity, ridge baselines and duplicates across splits.

    Parameters
    ----------
    data, values
        From :func:`load_activity_tables`: records and one activity each.
    thresholds
        ``fdr``, the flank rules and the duplicate rules are used.
    adapters
        Name -> sequence, to name what a library flank is.
    motifs
        Known motifs that annotate the associated k-mers (none: no annotation).
    folds
        Cross-validation folds of the baselines.
    random_state
        Seed of the folds.
    """
    thresholds = thresholds or AuditThresholds()
    values = np.asarray(values, dtype=float)
    check(values.shape == (len(data),), f"values has shape {values.shape}; give one value per record")
    check_int(folds, "folds", minimum=2, maximum=len(data))
    flanks = find_flanks(data, thresholds.flank_min_share, thresholds.flank_min_length)
    work = trim_flanks(data, flanks)
    profile = profile_dataset(work, (SKETCH_K,), thresholds.homopolymer_length)
    checks = [
        check_activity_flanks(data, flanks, thresholds, adapters or {}),
        check_activity_kmers(work, values, thresholds, motifs),
        check_activity_composition(work, values, thresholds),
        check_activity_baselines(work, values, folds, random_state),
        check_leakage(work, thresholds, profile),
    ]
    splits = None
    if data.splits is not None:
        names, counts = np.unique(data.splits, return_counts=True)
        splits = {str(name): int(count) for name, count in zip(names, counts)}
    dataset = {"sources": data.sources, "n_records": len(data), "target": data.sources.get("target"),
               "activity_mean": float(values.mean()), "activity_sd": float(values.std()),
               "length_min": int(data.lengths.min()), "length_max": int(data.lengths.max()), "splits": splits}
    settings = {"k_values": list(ACTIVITY_K), "baseline_max_k": BASELINE_MAX_K, "folds": folds,
                "random_state": random_state, "model": None}
    return AuditResult(dataset, thresholds, settings, checks)


def flank_sentence(flanks: Sequence[Flank], n: int, described: Sequence[str] = ()) -> str:
    """``every record starts with X and ends with Y: library adapters, ...`` (shares when not every record)."""
    parts = []
    for flank in flanks:
        share = "every record" if flank.carriers.all() else f"{percent(flank.carriers.mean())} of {n} records"
        verb = "starts with" if flank.end == "5'" else "ends with"
        parts.append((share, f"{verb} {flank.sequence}"))
    if len(parts) == 2 and parts[0][0] == parts[1][0]:
        text = f"{parts[0][0]} {parts[0][1]} and {parts[1][1]}"
    else:
        text = "; ".join(f"{share} {what}" for share, what in parts)
    known = [d for d in described if d != "no known adapter"]
    return (f"{text[0].upper()}{text[1:]}: library adapters, carry no class or activity information"
            + (f" ({'; '.join(known)})" if known else "") + "; removed before the other checks.")


def check_activity_flanks(
    data: AuditData, flanks: list[Flank], thresholds: AuditThresholds, adapters: Mapping[str, str]
) -> CheckResult:
    """Report the shared prefix and suffix once: constant across records, so unrelated to activity; never flagged."""
    index = AdapterIndex.build(adapters, thresholds.adapter_min_length, thresholds.adapter_mismatch_rate)
    described = [describe_match(m) if (m := index.match(f.sequence)) is not None else "no known adapter"
                 for f in flanks]
    table = pd.DataFrame([{"end": f.end, "sequence": f.sequence, "length": len(f.sequence),
                           "share": float(f.carriers.mean()), "adapter_match": d} for f, d in zip(flanks, described)],
                         columns=["end", "sequence", "length", "share", "adapter_match"])
    rule = (f"shared by >= {percent(thresholds.flank_min_share)} of records, >= {thresholds.flank_min_length} bp; "
            "reported, never flagged")
    message = (flank_sentence(flanks, len(data), described) if flanks else
               f"No prefix or suffix of {thresholds.flank_min_length} bp or more is shared by "
               f"{percent(thresholds.flank_min_share)} of the records.")
    finding = Finding(check="flanks", item="library flanks", test="shared prefix/suffix", statistic=None,
                      p_value=None, q_value=None, effect_size=float(min((f.carriers.mean() for f in flanks),
                                                                        default=0.0)),
                      effect="share of records", flag=False, threshold=rule, message=message)
    return CheckResult(name="flanks", title="Library flanks",
                       description="The longest prefix and suffix shared by almost every record; the same in every "
                                   "record, so they cannot explain any difference in activity.",
                       findings=[finding], tables={"flanks": table})


def spearman_columns(features: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Spearman rho and two-sided p of every column of ``features`` against ``values`` (t approximation)."""
    n = len(values)
    ranks = stats.rankdata(features, axis=0)
    ranks -= ranks.mean(axis=0)
    target = stats.rankdata(values) - (n + 1) / 2
    spread = np.sqrt((ranks**2).sum(axis=0) * (target**2).sum())
    rho = np.divide(ranks.T @ target, spread, out=np.zeros(features.shape[1]), where=spread > 0)
    t = rho * np.sqrt((n - 2) / np.maximum(1 - rho**2, 1e-12))
    return rho, 2 * stats.t.sf(np.abs(t), n - 2)


def check_activity_kmers(
    data: AuditData, values: np.ndarray, thresholds: AuditThresholds, motifs: Sequence[Motif]
) -> CheckResult:
    """Canonical 4- to 6-mer frequencies against activity: Spearman rho, Benjamini-Hochberg q; report only.

    In an activity set a k-mer that tracks activity is what the assay
    measures (a TF site), not a shortcut, so nothing is flagged; the
    strongest k-mers are named with their best JASPAR match so a reader can
    tell a motif from, say, a GC-rich repeat.
    """
    names = [kmer for k in ACTIVITY_K for kmer in decode_kmers(canonical_codes(k), k)]
    features = kmer_count_matrix(data, np.arange(len(data)), ACTIVITY_K)
    rho, p = spearman_columns(features, values)
    q = benjamini_hochberg(p)
    order = np.lexsort((-np.abs(rho), q))[:REPORTED_KMERS]
    table = pd.DataFrame({"kmer": np.array(names)[order], "rho": rho[order], "p": p[order], "q": q[order]})
    if motifs and len(table):
        matched = match_kmers(table["kmer"], motifs)
        table["motif"] = matched["motif"].to_numpy()
        table["match"] = matched["match"].to_numpy()
    significant = int((q < thresholds.fdr).sum())
    top = ", ".join(f"{row.kmer} (rho {row.rho:+.2f}{', ' + row.motif if getattr(row, 'motif', '') else ''})"
                    for row in table.head(5).itertuples())
    finding = Finding(check="kmers", item="k-mers vs activity", test="Spearman, BH FDR", statistic=None,
                      p_value=None, q_value=None, effect_size=float(np.abs(rho).max()), effect="largest |rho|",
                      flag=False, threshold=f"q < {thresholds.fdr:g} counts; reported, never flagged",
                      message=f"{significant} of {len(names)} canonical {ACTIVITY_K[0]}-{ACTIVITY_K[-1]}-mers track "
                              f"activity at q < {thresholds.fdr:g}; strongest: {top}.")
    return CheckResult(name="kmers", title="k-mers and activity",
                       description="Spearman correlation of each canonical k-mer's frequency (flanks removed) with "
                                   "activity, Benjamini-Hochberg over all k-mers; the strongest "
                                   f"{REPORTED_KMERS} are listed with their best JASPAR match.",
                       findings=[finding], tables={"activity_kmers": table})


def gc_fraction(data: AuditData) -> np.ndarray:
    """GC share of each record's known bases (``N`` excluded; 0.5 for a record without any)."""
    gc, known = np.zeros(len(data)), np.zeros(len(data))
    for i in range(len(data)):
        codes = data.codes[data.offsets[i]: data.offsets[i + 1]]
        gc[i], known[i] = np.isin(codes, (1, 2)).sum(), (codes < 4).sum()
    return np.divide(gc, known, out=np.full(len(data), 0.5), where=known > 0)


def check_activity_composition(data: AuditData, values: np.ndarray, thresholds: AuditThresholds) -> CheckResult:
    """GC content and length against activity (Spearman, BH over the two); reported, never flagged.

    ``activity_records.tsv`` keeps each record's GC share, length and activity for plots of one's own.
    """
    gc = gc_fraction(data)
    features = {"GC content": gc, "length": data.lengths.astype(float)}
    rows = []
    for name, feature in features.items():
        rho, p = (stats.spearmanr(feature, values) if np.ptp(feature) > 0 else (np.nan, np.nan))
        rows.append({"feature": name, "rho": float(rho), "p": float(p)})
    table = pd.DataFrame(rows)
    table["q"] = benjamini_hochberg(table["p"].fillna(1.0).to_numpy())
    findings = [Finding(
        check="composition", item=row.feature, test="Spearman", statistic=row.rho, p_value=row.p, q_value=row.q,
        effect_size=row.rho, effect="Spearman rho", flag=False, threshold="reported, never flagged",
        message=(f"{row.feature[0].upper()}{row.feature[1:]} does not vary." if not np.isfinite(row.rho) else
                 f"{row.feature[0].upper()}{row.feature[1:]} and activity: Spearman rho {row.rho:+.2f} "
                 f"(q = {row.q:.2g}); a model can use this much without reading a motif."),
        status="tested" if np.isfinite(row.rho) else "not applicable") for row in table.itertuples()]
    return CheckResult(name="composition", title="Composition and activity",
                       description="Spearman correlation of GC content and length (flanks removed) with activity.",
                       findings=findings, tables={"activity_composition": table, "activity_records": pd.DataFrame(
                           {"id": data.ids, "length": data.lengths, "gc": gc, "activity": values})})


def check_activity_baselines(
    data: AuditData, values: np.ndarray, folds: int = 5, random_state: int | None = 0
) -> CheckResult:
    """Cross-validated R² and Spearman of ridge regressions on GC alone and on 1- to 5-mer frequencies.

    The numbers a sequence model must beat: GC alone is composition, the
    k-mer ridge is every motif's presence without its position.  The ridge
    penalty is chosen inside each training fold (``RidgeCV``).  Copies of a
    sequence (either strand, :func:`~seqsal.audit.leakage.exact_duplicates`)
    stay in one fold: an MPRA that measures each element in both orientations
    would otherwise test the ridge on elements it was trained on.
    """
    from sklearn.linear_model import RidgeCV
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from threadpoolctl import threadpool_limits

    copies = exact_duplicates(data)
    groups = np.arange(len(data))
    groups[copies["row"].to_numpy()] = len(data) + copies["group"].to_numpy()
    order = np.random.default_rng(random_state).permutation(len(data))  # GroupKFold does not shuffle
    splitter = list(GroupKFold(n_splits=folds).split(order, groups=groups[order]))
    splitter = [(order[train], order[test]) for train, test in splitter]
    features = {"GC only": gc_fraction(data)[:, None],
                f"k-mers (k <= {BASELINE_MAX_K})": kmer_count_matrix(data, np.arange(len(data)),
                                                                      range(1, BASELINE_MAX_K + 1))}
    rows, findings = [], []
    for name, X in features.items():
        model = make_pipeline(StandardScaler(), RidgeCV(alphas=np.logspace(-2, 5, 15)))
        with threadpool_limits(limits=1, user_api="blas"):
            predicted = cross_val_predict(model, X, values, cv=splitter)
        r2 = 1 - np.sum((values - predicted) ** 2) / np.sum((values - values.mean()) ** 2)
        rho = float(stats.spearmanr(predicted, values)[0]) if np.ptp(predicted) > 0 else np.nan
        rows.append({"baseline": name, "r2": float(r2), "spearman": rho, "folds": folds, "n": len(values)})
        findings.append(Finding(
            check="baselines", item=name, test=f"ridge regression, {folds}-fold CV", statistic=float(r2),
            p_value=None, q_value=None, effect_size=rho, effect="Spearman rho", flag=False,
            threshold="reference only, never flagged",
            message=f"Ridge regression on {name.replace(' only', '')} explains R² = {r2:.2f} of the activity "
                    f"(Spearman {rho:.2f}, {folds}-fold CV): compare a model with this, not with zero."))
    return CheckResult(name="baselines", title="Trivial baselines",
                       description=f"Ridge regression (standardised features, penalty chosen within each training "
                                   f"fold) cross-validated in {folds} folds, copies of a sequence (either strand) in "
                                   f"one fold: on GC content only and on canonical 1- to {BASELINE_MAX_K}-mer "
                                   "frequencies.",
                       findings=findings, tables={"activity_baselines": pd.DataFrame(rows)})
