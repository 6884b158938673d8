"""Writing an audit: ``summary.json``, ``checks.tsv``, one TSV per evidence table, ``report.html``, manifest."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import asdict
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from seqsal import io
from seqsal.audit.composition import COMPOSITION_METRICS
from seqsal.audit.findings import AuditResult, CheckResult
from seqsal.report import Report
from seqsal.runs import RunFolder

AUDIT_TABLES = ("adapters", "artifact_hits", "kmers", "composition", "sequences", "duplicates", "near_duplicates",
                "overlaps", "baselines", "flanks")
"""Evidence tables every audit writes (one TSV each); ``model`` only with a model."""


def planned_files(with_model: bool) -> set[str]:
    """The files an audit writes, for :meth:`~seqsal.runs.RunFolder.claim` to know what a rerun replaces."""
    tables = AUDIT_TABLES + (("model",) if with_model else ())
    return {"summary.json", "checks.tsv", "report.html", *(f"{name}.tsv" for name in tables)}


def write_audit(
    result: AuditResult, out: str | PathLike, manifest: Mapping | None = None, *, force: bool = False
) -> Path:
    """Write an audit into a new folder: claim it, then everything :func:`write_audit_files` writes.

    Parameters
    ----------
    result
        From :func:`~seqsal.audit.run.audit_dataset`.
    out
        Output folder: new, empty, or an earlier audit this one replaces.
    manifest
        Extra provenance for ``manifest.json`` (input paths and hashes).
    force
        Replace an earlier audit even when this one would not rewrite all of
        its files (an audit with a model, rerun without).

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = RunFolder.claim(out, "audit", writes=planned_files(result.settings.get("model") is not None),
                             force=force)
    folder.start(dict(manifest or {}))
    return write_audit_files(result, folder)


def write_audit_files(
    result: AuditResult, folder: RunFolder, build: Callable[[AuditResult], Report] | None = None
) -> Path:
    """Write ``summary.json``, ``checks.tsv``, one TSV per evidence table and ``report.html`` into a started
    run folder, then mark its manifest complete; ``build`` makes the report (default :func:`build_report`,
    the class audit's; the activity audit passes its own)."""
    files = ["summary.json", "checks.tsv", "report.html"]
    for check_result in result.checks:
        for name, table in check_result.tables.items():
            io.write_table(folder.path / f"{name}.tsv", table.drop(columns="row", errors="ignore"))
            files.append(f"{name}.tsv")
    io.write_table(folder.path / "checks.tsv", result.findings_table())
    io.write_json(folder.path / "summary.json", result.summary())
    (build or build_report)(result).write(folder.path / "report.html")
    folder.finish(files, flagged=result.flagged)
    return folder.path


def build_report(result: AuditResult) -> Report:
    """The HTML report: the verdict in plain words first, then each check's evidence."""
    data = result.dataset
    report = Report("seqsal dataset audit")
    flags = result.flags
    if flags:
        report.add_heading(f"{len(flags)} shortcut flag{'s' if len(flags) > 1 else ''}")
        report.add_paragraph("A model trained on this dataset could score well for these reasons instead of "
                             "enhancer biology:")
        titles = {result.name: result.title for result in result.checks}
        items = "".join(f"<li><strong>{html.escape(titles[flag.check])}</strong>: {html.escape(flag.message)}</li>"
                        for flag in flags)
        report.add_html(f'<ul class="flags">{items}</ul>')
    elif result.untold:
        report.add_heading(f"No shortcut flagged, but {len(result.untold)} check{'s' if len(result.untold) > 1 else ''} "
                           "could not tell")
        report.add_paragraph(f"{', '.join(result.untold)}: too few records to tell, or not run (reasons below). "
                             "No flag from them means nothing; the checks that could tell found no shortcut.")
    else:
        report.add_heading("No shortcut flagged")
        report.add_paragraph("None of the checks below found a way to tell the classes apart other than by their "
                             "sequence content; the evidence follows.")
    report.add_paragraph(minimum_size_sentence(data["minimum_class_size"], data["n_positive"], data["n_negative"]))
    report.add_key_values({
        "positives": f"{data['n_positive']} records from {data['sources'].get('positive', '')}",
        "negatives": f"{data['n_negative']} records from {data['sources'].get('negative', '')}",
        "lengths": f"{data['length_min']}-{data['length_max']} bp",
        "splits": ", ".join(f"{name}: {count}" for name, count in data["splits"].items()) if data["splits"]
        else "no split table",
        "model": result.settings.get("model") or "none (model check not run)",
    }, caption="Dataset")
    overview = result.findings_table()[["check", "item", "test", "statistic", "p_value", "q_value", "effect_size",
                                        "flag", "status", "threshold"]]
    report.add_table(display_table(overview),
                     caption="Every check: statistic, p and q values, effect size, and the rule used.")
    for check_result in result.checks:
        report.add_heading(check_result.title)
        report.add_paragraph(check_result.description)
        for finding in check_result.findings:
            report.add_paragraph(("FLAG: " if finding.flag else "") + finding.message)
        if check_result.name not in _REPORT_EVIDENCE:
            report.add_table(display_table(next(iter(check_result.tables.values()))))
            continue
        _REPORT_EVIDENCE[check_result.name](report, check_result)
    report.add_heading("Thresholds")
    report.add_key_values(asdict(result.thresholds), caption="Change them with the audit options (see --help).")
    return report


def minimum_size_sentence(sizes: Mapping[str, int | None], n_pos: int, n_neg: int) -> str:
    """The audit's minimum sample size in words, per statistical check, against the classes given."""
    parts = [f"{check}: {size if size is not None else 'more than 200'}" for check, size in sizes.items()]
    return (f"Minimum sample size: a check can flag anything only when a single feature separating the classes "
            f"completely would pass its test after correction, which needs at least this many records in each "
            f"class ({'; '.join(parts)}). This dataset has {n_pos} positives and {n_neg} negatives; an artifact in "
            "only a small share of a class needs many more.")


def display_table(table: pd.DataFrame) -> pd.DataFrame:
    """A table as the report shows it: no index, blanks for missing values, FLAG for flagged rows."""
    shown = table.reset_index(drop=True)
    shown = shown.astype(object).where(shown.notna(), "")
    if "flag" in shown:
        shown["flag"] = np.where(table["flag"].to_numpy(dtype=bool), "FLAG", "")
    return shown


def _adapter_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["adapters"]
    report.add_table(display_table(table), caption="Sequences with a hit per class; hits by kind are positives/negatives.")
    figure = Figure(figsize=(7, 0.35 * len(table) + 1.2), layout="constrained")
    ax = figure.subplots()
    positions = np.arange(len(table))
    ax.barh(positions + 0.2, 100 * table["pos_rate"], height=0.4, label="positives", color="#b2182b")
    ax.barh(positions - 0.2, 100 * table["neg_rate"], height=0.4, label="negatives", color="#2166ac")
    ax.set_yticks(positions, table["item"])
    ax.invert_yaxis()
    ax.set_xlabel("% of sequences with a hit")
    ax.legend(frameon=False)
    report.add_figure(figure, caption="Adapter and homopolymer rates by class.")
    hits = result.tables["artifact_hits"]
    if len(hits):
        report.add_table(hits.drop(columns="row").head(20), caption=f"First hits of {len(hits)} (artifact_hits.tsv).")


def _kmer_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["kmers"]
    columns = ["k", "kmer", "pos_rate", "neg_rate", "log2_odds_ratio", "q", "element", "annotation", "motif_match",
               "flag"]
    annotated = table[table["annotation"] != ""]
    report.add_table(display_table(annotated.sort_values(["flag", "q"], ascending=[False, True]).head(40)[columns]),
                     caption="Most significant k-mers with their best known motif (all tested k-mers in kmers.tsv).")
    figure = Figure(figsize=(6.5, 4), layout="constrained")
    ax = figure.subplots()
    y = -np.log10(np.clip(table["q"].to_numpy(dtype=float), 1e-300, 1))
    known = table["annotation"].ne("") & table["annotation"].ne("no known motif")
    for mask, color, size, label in ((~known & ~table["flag"], "#bbbbbb", 6, "not annotated / unknown"),
                                     (known, "#4d9221", 6, "known motif"), (table["flag"], "#d6604d", 24, "flagged")):
        ax.scatter(table.loc[mask, "log2_odds_ratio"], y[mask.to_numpy()], s=size, color=color, label=label)
    ax.set_xlabel("log2 odds ratio (positives / negatives)")
    ax.set_ylabel("-log10 q")
    ax.legend(frameon=False, fontsize=8)
    report.add_figure(figure, caption="Volcano plot of all canonical k-mers.")


def _composition_evidence(report: Report, result: CheckResult) -> None:
    report.add_table(display_table(result.tables["composition"]))
    sequences = result.tables["sequences"]
    figure = Figure(figsize=(9, 6))  # fixed spacing: a constrained layout would double the drawing time
    axes = figure.subplots(2, 2, gridspec_kw={"hspace": 0.35, "wspace": 0.3}).ravel()
    positive = sequences["class"].to_numpy() == "positive"
    for ax, (metric, (label, _)) in zip(axes, COMPOSITION_METRICS.items()):
        values = sequences[metric].to_numpy(dtype=float)
        for mask, color, name in ((positive, "#b2182b", "positives"), (~positive, "#2166ac", "negatives")):
            selected = values[mask & np.isfinite(values)]
            if len(selected):
                ax.ecdf(selected, color=color, linewidth=1.5, label=name)
        ax.set_xlabel(label)
        ax.set_ylabel("share of class at or below")
        ax.grid(alpha=0.3)
    axes[0].legend(frameon=False)
    report.add_figure(figure, caption="Cumulative distributions by class; the KS statistic D is the largest "
                                      "vertical gap between the two curves.")


def _leakage_evidence(report: Report, result: CheckResult) -> None:
    duplicates, near = result.tables["duplicates"], result.tables["near_duplicates"]
    if len(duplicates):
        report.add_table(display_table(duplicates.sort_values(["cross_split", "cross_class"], ascending=False).head(50)),
                         caption=f"Duplicate groups ({len(duplicates)} records in duplicates.tsv).")
    if len(near):
        report.add_table(display_table(near.sort_values("cross_class_or_split", ascending=False).head(50)),
                         caption=f"Near-duplicate pairs ({len(near)} in near_duplicates.tsv).")


def _baseline_evidence(report: Report, result: CheckResult) -> None:
    table = result.tables["baselines"]
    report.add_table(display_table(table))
    figure = Figure(figsize=(6, 2.4), layout="constrained")
    ax = figure.subplots()
    ax.barh(table["baseline"], table["auroc"], xerr=table["auroc_sd"], color="#777777")
    ax.axvline(0.5, color="black", linewidth=0.8)
    ax.set_xlim(0.4, 1.0)
    ax.set_xlabel("cross-validated AUROC")
    ax.invert_yaxis()
    report.add_figure(figure, caption="Trivial baselines (0.5 = chance).")


def _model_evidence(report: Report, result: CheckResult) -> None:
    if "model" not in result.tables:
        return
    table = result.tables["model"]
    figure = Figure(figsize=(6, 3), layout="constrained")
    ax = figure.subplots()
    ax.hist(table["change"], bins=40, color="#777777")
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel("logit change when artifacts are shuffled away")
    ax.set_ylabel("records")
    report.add_figure(figure, caption="Prediction change per record (model.tsv).")


_REPORT_EVIDENCE: dict[str, Callable[[Report, CheckResult], None]] = {
    "adapters": _adapter_evidence,
    "kmers": _kmer_evidence,
    "composition": _composition_evidence,
    "leakage": _leakage_evidence,
    "baselines": _baseline_evidence,
    "model": _model_evidence,
}
