"""The files, chart and report section of a bundle's seqlets, readable without the model.

:mod:`seqsal.explain.seqlets` calls seqlets (it needs the model and torch);
this module holds what reading, writing and drawing them needs, so
commands that only draw a finished bundle (``seqsal logo``) load neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from seqsal import io
from seqsal.errors import check
from seqsal.plot import NEGATIVE_COLOR, POSITIVE_COLOR, save_figure
from seqsal.report import Report

#: Columns of ``seqlets.tsv``.
TABLE_COLUMNS = ("id", "method", "start", "end", "core_start", "core_end", "strand", "sign", "score", "p",
                 "motif", "q", "match_id", "match_name", "match_p", "consensus")

#: Motif rows per method drawn in the bar chart.
CHART_ROWS = 12


@dataclass(frozen=True)
class SeqletResult:
    """The seqlets of a bundle: the table (record coordinates), the summary, and what the manifest records."""

    table: pd.DataFrame
    summary: pd.DataFrame
    info: dict


def read_seqlets(path: str | Path) -> pd.DataFrame:
    """A ``seqlets.tsv`` written by ``explain --seqlets`` or ``seqsal seqlets``, checked for its columns."""
    check(Path(path).is_file(), f"seqlet table {path} does not exist; check the path")
    table = io.read_tsv(path)
    missing = [c for c in TABLE_COLUMNS if c not in table.columns]
    check(not missing, f"seqlet table {path}: lacks columns {missing}; give a seqlets.tsv written by seqsal")
    return table


def write_seqlet_files(folder: Path, result: SeqletResult, summary_name: str) -> dict[str, str]:
    """Write ``seqlets.tsv``, the summary table and ``seqlets.png`` into ``folder``; returns the file names."""
    io.write_table(folder / "seqlets.tsv", result.table)
    io.write_table(folder / summary_name, result.summary)
    figure = plot_seqlet_counts(result.summary, list(result.info.get("n_seqlets", {})))
    save_figure(figure, folder / "seqlets.png")
    plt.close(figure)
    return {"seqlets": "seqlets.tsv", "seqlet_summary": summary_name, "seqlet_chart": "seqlets.png"}


def plot_seqlet_counts(summary: pd.DataFrame, methods: Sequence[str] = (), rows: int = CHART_ROWS):
    """Bars of the most frequent motifs per method: seqlets found, activating red and repressing blue,
    each labelled with the share of records holding one.  ``methods`` adds panels for methods without
    seqlets, which the summary does not list."""
    methods = list(dict.fromkeys([*methods, *summary["method"]])) or ["no method"]
    heights = [min(rows, max(1, int((summary["method"] == m).sum()))) for m in methods]
    fig, axes = plt.subplots(1, len(methods), figsize=(4.2 * len(methods), 1.2 + 0.28 * max(heights)),
                             layout="constrained", squeeze=False)
    for ax, method in zip(axes[0], methods):
        part = summary[summary["method"] == method].head(rows).iloc[::-1]
        labels = [f"{motif} ({'+' if sign > 0 else '−'})" for motif, sign in zip(part["motif"], part["sign"])]
        colors = [POSITIVE_COLOR if sign > 0 else NEGATIVE_COLOR for sign in part["sign"]]
        ax.barh(np.arange(len(part)), part["n_seqlets"], color=colors, height=0.7)
        for y, (count, share) in enumerate(zip(part["n_seqlets"], part["record_share"])):
            ax.annotate(f"{share:.0%}", (count, y), xytext=(3, 0), textcoords="offset points", va="center",
                        fontsize=7)
        if part.empty:
            ax.text(0.5, 0.5, "no seqlets", transform=ax.transAxes, ha="center", va="center", fontsize=9)
            ax.set_title(method, fontsize=10)
            ax.set_axis_off()
            continue
        ax.set_yticks(np.arange(len(part)), labels, fontsize=8)
        ax.set_xlabel("seqlets")
        ax.set_title(method, fontsize=10)
        ax.spines[["top", "right"]].set_visible(False)
        ax.margins(x=0.18)
    fig.suptitle("Seqlets per motif (sign: + raises, − lowers the prediction; % = share of records)",
                 fontsize=9)
    return fig


def gate_note(gate: dict | None) -> str:
    """How the run-level gate treated one method, in words for the report (empty when it was off or absent)."""
    if not gate or gate["fdr"] >= 1:
        return ""
    estimate = gate["estimated_fdr_at_p"]
    if gate["windows_below_p"] == 0:
        return " — no window reached the threshold"
    if gate["window_cutoff"] <= 0:
        return (f" — none kept: the shuffled null accounts for an estimated {min(estimate, 1):.0%} of the "
                f"{gate['windows_below_p']} windows below the threshold (at most {gate['fdr']:.0%} allowed), so "
                "these attributions look like the model's attributions of shuffled sequences (an untrained model, "
                "or sequences without what it learnt)")
    note = f" (estimated false discovery rate {estimate:.2g} at the threshold"
    if estimate > gate["fdr"]:
        note += f"; window cutoff lowered to p ≤ {gate['window_cutoff']:.2g}"
    return note + ")"


def add_seqlet_section(report: Report, result: SeqletResult, chart: Path) -> None:
    """The report's seqlet section: how they were called, counts per method, the summary and the chart."""
    info = result.info
    settings = info["settings"]
    report.add_heading("Seqlets")
    report.add_paragraph(
        f"Seqlets are stretches whose signed attribution in a {info['window']}-base window beats a null built "
        f"from dinucleotide shuffles of {next(iter(info['null'].values()), {}).get('records_sampled', 0)} "
        f"sampled records (seed {settings['seed']}), at window p < {settings['p_threshold']:g}, lowered where "
        f"needed so that the estimated false discovery rate among the run's significant windows (the null's "
        f"expected count over the observed) is at most {settings.get('fdr', 1):g}; each is named after its best "
        f"Tomtom match when q < {settings['q_threshold']:g}, else 'unknown'. Positions in seqlets.tsv are "
        "1-based and inclusive in each record as given; the histogram columns (pos_a_b) count seqlet centres in "
        "model-input columns [a, b)."
    )
    if info.get("left_out"):
        report.add_paragraph(f"Not called for {', '.join(info['left_out'])}: their scores are magnitudes, without a "
                             "sign or a preferred base, so their seqlets could neither be named nor say which way "
                             "they push the prediction (seqsal seqlets --method calls them anyway).")
    report.add_key_values({method: f"{count} seqlets{gate_note(info.get('gate', {}).get(method))}"
                           for method, count in info["n_seqlets"].items()},
                          caption="Seqlets per method")
    shown = result.summary.drop(columns=[c for c in result.summary.columns if c.startswith("pos_")])
    if not shown.empty:
        report.add_table(shown.head(40), caption="Most frequent motifs (all rows with positional histograms are "
                                                 "in the summary table)")
    report.add_image(chart, caption="Seqlets per motif")
