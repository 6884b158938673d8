"""The activity audit as a command: read the tables, claim the folder, audit, write the TSVs and the report."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from os import PathLike

from matplotlib.figure import Figure

from seqsal import io
from seqsal.audit.activity import audit_activity, load_activity_tables
from seqsal.audit.findings import AuditResult, AuditThresholds
from seqsal.audit.report import display_table, write_audit_files
from seqsal.motifs import load_adapters, load_database
from seqsal.report import Report
from seqsal.runs import RunFolder

ACTIVITY_FILES = frozenset({
    "summary.json", "checks.tsv", "report.html", "flanks.tsv", "activity_kmers.tsv", "activity_composition.tsv",
    "activity_baselines.tsv", "activity_records.tsv", "duplicates.tsv", "near_duplicates.tsv",
})
"""What an activity audit writes, for :meth:`~seqsal.runs.RunFolder.claim`."""


def run_activity_audit(
    tables: Sequence[str | PathLike],
    out: str | PathLike,
    *,
    sequence_column: str = "seq",
    target_column: str = "mean_value",
    motif_db: str | PathLike | None = None,
    adapters: str | PathLike | None = None,
    thresholds: AuditThresholds | None = None,
    folds: int = 5,
    random_state: int | None = 0,
    force: bool = False,
) -> AuditResult:
    """Audit an activity dataset (one or more tables; each file a split) and write it to ``out``.

    Every input is read and checked before the folder is claimed, so a bad
    input writes nothing; the manifest records each table's SHA-256.
    """
    data, values = load_activity_tables(tables, sequence_column, target_column)
    motifs = list(load_database(motif_db))
    adapter_list = load_adapters(adapters)
    inputs = {f"table{i + 1}": {"path": str(path), "sha256": io.file_sha256(path)} for i, path in enumerate(tables)}
    folder = RunFolder.claim(out, "audit", writes=set(ACTIVITY_FILES), force=force)
    folder.start({"inputs": inputs, "sequence_column": sequence_column, "target_column": target_column})
    result = audit_activity(data, values, thresholds=thresholds, adapters=adapter_list, motifs=motifs,
                            folds=folds, random_state=random_state)
    write_audit_files(result, folder, build=build_activity_report)
    return result


def build_activity_report(result: AuditResult) -> Report:
    """The HTML report: the dataset, each check's sentences and table, and one figure of the baselines."""
    data = result.dataset
    report = Report("seqsal dataset audit: activity")
    report.add_paragraph(f"{data['n_records']} records with a measured {data['target']} (mean "
                         f"{data['activity_mean']:.2f}, sd {data['activity_sd']:.2f}). An activity set has no "
                         "classes, so the class tests become association tests with activity; nothing in it is a "
                         "label shortcut, and the numbers below are what a model must beat or explain.")
    report.add_key_values({
        "tables": data["sources"]["positive"],
        "lengths": f"{data['length_min']}-{data['length_max']} bp",
        "splits": ", ".join(f"{k}: {v}" for k, v in data["splits"].items()) if data["splits"] else "one table",
    }, caption="Dataset")
    for check_result in result.checks:
        report.add_heading(check_result.title)
        report.add_paragraph(check_result.description)
        for finding in check_result.findings:
            report.add_paragraph(("FLAG: " if finding.flag else "") + finding.message)
        for name, table in check_result.tables.items():
            if len(table) and name != "activity_records":
                report.add_table(display_table(table.drop(columns="row", errors="ignore").head(30)),
                                 caption=f"{name}.tsv" + (" (first 30 rows)" if len(table) > 30 else ""))
    report.add_figure(_figure(result), caption="Left: activity against GC content (flanks removed), one hexagon per "
                                               "bin of records. Right: cross-validated R² of the ridge baselines.")
    report.add_heading("Thresholds")
    report.add_key_values(asdict(result.thresholds), caption="Change them with the audit options (see --help).")
    return report


def _figure(result: AuditResult) -> Figure:
    figure = Figure(figsize=(8, 3), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=(1.3, 1))
    composition = next(c for c in result.checks if c.name == "composition")
    points = composition.tables["activity_records"]
    left.hexbin(points["gc"], points["activity"], gridsize=30, mincnt=1, cmap="Greys", bins="log")
    left.set_xlabel("GC content")
    left.set_ylabel(result.dataset["target"])
    baselines = next(c for c in result.checks if c.name == "baselines").tables["activity_baselines"]
    right.barh(baselines["baseline"], baselines["r2"], color="#777777")
    right.axvline(0, color="black", linewidth=0.8)
    right.set_xlabel("cross-validated R²")
    right.invert_yaxis()
    return figure
