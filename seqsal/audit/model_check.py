"""Check 6: does a trained model use the flagged artifacts (attribution share, prediction change)?"""

from __future__ import annotations

from collections.abc import Sequence
from os import PathLike
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from seqsal.audit.data import AuditData, find_all, with_ids
from seqsal.audit.findings import AuditThresholds, CheckResult, Finding, percent
from seqsal.audit.stats import wilcoxon
from seqsal.encoding import (
    dinucleotide_shuffle,
    fit_length,
    one_hot,
    reverse_complement,
)

if TYPE_CHECKING:  # torch is imported only when a model is actually checked
    from seqsal.models import EnhancerCNN

def flagged_artifacts(data: AuditData, checks: Sequence[CheckResult]) -> pd.DataFrame:
    """Every occurrence of a flagged adapter, homopolymer or suspicious k-mer: ``row, start, end, source``."""
    frames = []
    for result in checks:
        if result.name == "adapters":
            flagged_items = {finding.item for finding in result.findings if finding.flag}
            hits = result.tables["artifact_hits"]
            hits = hits[hits["adapter"].isin(flagged_items)]
            frames.append(pd.DataFrame({"row": hits["row"], "start": hits["start"], "end": hits["end"],
                                        "source": hits["adapter"]}))
        elif result.name == "kmers":
            table = result.tables["kmers"]
            frames.extend(_kmer_occurrences(data, kmer) for kmer in table.loc[table["flag"], "kmer"])
    frames = [frame for frame in frames if len(frame)]
    if not frames:
        return pd.DataFrame({"row": np.zeros(0, np.int64), "start": np.zeros(0, np.int64),
                             "end": np.zeros(0, np.int64), "source": np.zeros(0, object)})
    return pd.concat(frames, ignore_index=True)


def _kmer_occurrences(data: AuditData, kmer: str) -> pd.DataFrame:
    """Occurrences of a k-mer or its reverse complement in every record."""
    buffer, _ = data.joined
    positions = np.unique(np.concatenate([find_all(buffer, s.encode("ascii"))
                                          for s in {kmer, reverse_complement(kmer)}]))
    rows, starts, fits = data.locate(positions, len(kmer))
    return pd.DataFrame({"row": rows[fits], "start": starts[fits], "end": starts[fits] + len(kmer),
                         "source": f"k-mer {kmer}"})


def check_model(
    data: AuditData,
    model: str | PathLike | EnhancerCNN,
    artifacts: pd.DataFrame,
    thresholds: AuditThresholds = AuditThresholds(),
    max_sequences: int = 1000,
    random_state: int | None = 0,
    batch_size: int = 128,
    device: str | None = None,
) -> CheckResult:
    """Measure how much a trained model relies on the flagged artifacts.

    For up to ``max_sequences`` records that carry a flagged artifact:

    - *attribution share*: gradient × input (with the Majdandzic et al.
      correction) per position, absolute values; the share of the total that
      falls on artifact positions, divided by the share of positions they
      occupy.  1 means the model looks at artifacts like at any other base.
    - *prediction change*: every artifact occurrence is overwritten with the
      bases at the same positions of a dinucleotide shuffle of the whole
      sequence, and the logit is predicted again.  Shuffling the artifact
      itself would leave a poly-A run a poly-A run; taking the bases from a
      shuffle of the record removes the artifact while keeping the record's
      own composition.

    Records are centre-cropped or N-padded to the model's input length, with
    artifact positions moved along; Wilcoxon signed-rank tests give p values.

    Parameters
    ----------
    model
        A loaded :class:`~seqsal.models.EnhancerCNN` (or a path; see
        :func:`seqsal.models.load_model`).
    artifacts
        Occurrences from :func:`flagged_artifacts`.
    """
    from seqsal.attribution import attribute, per_position
    from seqsal.attribution.summary import mask_share
    from seqsal.models import load_model, predict

    model = load_model(model, device=device)
    rows = np.unique(artifacts["row"].to_numpy(dtype=np.int64))
    description = ("The trained model was asked how much it relies on the flagged artifacts: the share of "
                   "gradient × input attribution on artifact positions, and the change of its logit when the "
                   "artifacts are replaced by bases from a dinucleotide shuffle of the same record.")
    if not len(rows):
        finding = Finding(check="model", item="model reliance on artifacts", test="not run", statistic=None,
                          p_value=None, q_value=None, effect_size=None, effect="", flag=False,
                          threshold="needs flagged artifacts",
                          message="No artifact was flagged, so there was nothing to test the model on.")
        return CheckResult("model", "Model reliance on artifacts", description, [finding], {})
    rng = np.random.default_rng(random_state)
    if len(rows) > max_sequences:
        rows = np.sort(rng.choice(rows, size=max_sequences, replace=False))
    X, X_clean, masks = _with_and_without_artifacts(data, rows, artifacts, model.config.input_length, rng)
    before = predict(model, X, batch_size=batch_size, device=device)[:, 0]
    after = predict(model, X_clean, batch_size=batch_size, device=device)[:, 0]
    scores = per_position(attribute(model, X, "grad_x_input", correct=True, batch_size=batch_size, device=device))
    observed = X.sum(axis=1) > 0
    share = mask_share(scores, masks)  # NaN for an all-zero map: no share to compare
    expected = (masks & observed).sum(axis=1) / np.maximum(observed.sum(axis=1), 1)
    usable = (expected > 0) & np.isfinite(share)
    enrichment = share[usable].mean() / expected[usable].mean() if usable.any() else np.nan
    change = after - before
    share_p = wilcoxon(share[usable] - expected[usable], "greater")
    change_p = wilcoxon(change, "two-sided")
    mean_share = float(share[usable].mean()) if usable.any() else np.nan
    mean_abs_change = float(np.abs(change).mean())
    attribution_flag = bool(np.isfinite(enrichment) and enrichment >= thresholds.attribution_enrichment
                            and share_p < thresholds.fdr)
    change_flag = bool(mean_abs_change >= thresholds.prediction_change and change_p < thresholds.fdr)
    findings = [
        Finding(
            check="model", item="attribution on artifacts", test="Wilcoxon signed-rank (share - expected share)",
            statistic=mean_share, p_value=share_p, q_value=None, effect_size=float(enrichment),
            effect="attribution share / position share", flag=attribution_flag,
            threshold=f"enrichment >= {thresholds.attribution_enrichment:g} and p < {thresholds.fdr}",
            message=(f"The model puts {percent(mean_share) if usable.any() else 'n/a'} of its attribution on artifacts "
                     "that cover "
                     f"{percent(float(expected.mean()))} of the positions ({enrichment:.1f}-fold, {len(rows)} records)"
                     + (": it has learned the shortcut." if attribution_flag else "."))),
        Finding(
            check="model", item="prediction change without artifacts", test="Wilcoxon signed-rank (logit change)",
            statistic=float(change.mean()), p_value=change_p, q_value=None, effect_size=mean_abs_change,
            effect="mean |logit change|", flag=change_flag,
            threshold=f"mean |change| >= {thresholds.prediction_change:g} and p < {thresholds.fdr}",
            message=(f"Shuffling the artifacts away changes the logit by {change.mean():+.2f} on average "
                     f"(mean |change| {mean_abs_change:.2f}, {len(rows)} records)"
                     + (": the model's predictions depend on them." if change_flag else "."))),
    ]
    table = with_ids(data, pd.DataFrame({"row": rows, "logit": before, "logit_without_artifacts": after,
                                          "change": change, "attribution_share": share,
                                          "position_share": expected}))
    return CheckResult("model", "Model reliance on artifacts", description, findings,
                       {"model": table.drop(columns="row")})


def _with_and_without_artifacts(
    data: AuditData, rows: np.ndarray, artifacts: pd.DataFrame, length: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One-hot records fitted to ``length``, the same with artifact bases taken from a dinucleotide shuffle of
    the record, and the ``(N, length)`` artifact masks."""
    original, cleaned, masks = [], [], np.zeros((len(rows), length), dtype=bool)
    by_row = artifacts.groupby("row")
    for i, row in enumerate(rows):
        sequence, fit = fit_length(data.sequences[row].upper(), length)
        for start, end in by_row.get_group(row)[["start", "end"]].to_numpy():
            masks[i, max(start - fit.offset, 0) : max(min(end - fit.offset, length), 0)] = True
        shuffled = dinucleotide_shuffle(sequence, rng)
        original.append(sequence)
        cleaned.append("".join(s if not m else t for s, t, m in zip(sequence, shuffled, masks[i])))
    ids = [data.ids[row] for row in rows]
    return one_hot(original, ids=ids), one_hot(cleaned, ids=ids), masks
