"""``seqsal filters``: first-layer filters as motifs, from a FASTA to a folder of tables, logos and a report.

The first layer is found in :mod:`seqsal.views.filter_layer`, sites and PFMs
in :mod:`seqsal.views.filter_sites`, named by Tomtom
in :mod:`seqsal.views.filter_matching`; this module draws them as
information-content logos and writes the run's folder.  It also gathers the
public names of both, so ``seqsal.views.filters`` stays the one import.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from seqsal import io
from seqsal.checks import check_int
from seqsal.errors import check
from seqsal.models import EnhancerCNN, load_model, model_provenance
from seqsal.motifs import Motif, load_database
from seqsal.plot import plot_logo
from seqsal.runs import RunFolder
from seqsal.views.filter_layer import FirstLayer, first_layer
from seqsal.views.filter_matching import (
    DEFAULT_MIN_SITES,
    DEFAULT_Q_THRESHOLD,
    TABLE_COLUMNS,
    match_filters,
    meme_text,
    summarize,
)
from seqsal.views.filter_sites import (
    DEFAULT_FRACTION,
    DEFAULT_PSEUDOCOUNT,
    FilterPFMs,
    filter_pfms,
)

DEFAULT_MAX_PANELS = 48


def information_matrix(probabilities: np.ndarray) -> np.ndarray:
    """Letter heights of an information-content logo: ``p_b * IC`` per column, in bits (uniform background).

    Information content is what makes logos of different filters comparable:
    a column of four equal letters is empty, a fully determined base is two
    bits tall.
    """
    p = np.asarray(probabilities, dtype=float)
    check(p.ndim == 2 and p.shape[0] == 4 and p.shape[1] > 0,
          f"a PFM must be (4, width) with rows A, C, G, T, got shape {p.shape}")
    return p * Motif("logo", "logo", p).information_content()


def plot_filter_logo(probabilities: np.ndarray, *, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw one PFM as an information-content logo (logomaker, through :func:`seqsal.plot.plot_logo`), y axis 0-2 bits."""
    ax = plot_logo(information_matrix(probabilities), ax=ax, title=title, ylabel="bits")
    ax.set_ylim(0, 2)
    ax.set_yticks([0, 1, 2])
    return ax


def plot_filter_logos(pfms: FilterPFMs, table: pd.DataFrame, *, min_sites: int = DEFAULT_MIN_SITES,
                      columns: int = 8, max_panels: int = DEFAULT_MAX_PANELS) -> Figure:
    """A grid of information-content logos: matched filters first (best q first), then the most informative.

    Panels are titled ``f<index>`` with the best match and its q-value when
    the filter matches (``table`` from :func:`match_filters`), so a reader can
    go from a panel to its row.  Filters with fewer than ``min_sites`` sites
    are left out (their logos would be pseudocount), and at most
    ``max_panels`` are drawn: logomaker takes about a third of a second per
    panel, and a first layer can hold hundreds of filters; every filter is in
    ``filters.tsv`` and ``filters.meme``.
    """
    columns = check_int(columns, "columns", minimum=1)
    max_panels = check_int(max_panels, "max_panels", minimum=1)
    eligible = table[table["n_sites"] >= min_sites]
    matched = eligible[eligible["matched"] == "yes"].sort_values("q_value", kind="stable")
    others = eligible[eligible["matched"] != "yes"].sort_values("information_content", ascending=False, kind="stable")
    shown = [int(i) for i in pd.concat([matched, others])["filter"].head(max_panels)]
    columns = min(columns, max(len(shown), 1))
    n_rows = max(1, -(-len(shown) // columns))
    width, height = columns * max(2.2, 0.3 * pfms.kernel_size), n_rows * 1.9 + 0.9
    # Fixed margins in inches: a layout engine over dozens of panels costs more than drawing them.
    fig, axes = plt.subplots(n_rows, columns, figsize=(width, height), squeeze=False, gridspec_kw=dict(
        left=0.7 / width, right=1 - 0.1 / width, bottom=0.55 / height, top=1 - 0.45 / height,
        hspace=0.85, wspace=0.25))
    row_of = table.set_index("filter")
    for number, (ax, index) in enumerate(zip(axes.flat, shown)):
        row = row_of.loc[index]
        label = f"f{index}: {row['match_name']} (q={row['q_value']:.1g})" if row["matched"] == "yes" \
            else f"f{index}: no match"
        plot_filter_logo(pfms.probabilities[index], ax=ax, title=f"{label}\n{row['n_sites']} sites")
        ax.title.set_fontsize(8)
        ax.set_xlabel("")  # one shared axis label below the grid
        ax.set_ylabel("")
        ax.tick_params(labelsize=7)
        if number % columns:
            ax.tick_params(labelleft=False)
    for ax in axes.flat[len(shown):]:
        ax.axis("off")
    if not shown:
        axes.flat[0].text(0.5, 0.5, f"no filter has {min_sites} or more sites", ha="center", va="center")
    fig.supxlabel("filter position", y=0.15 / height)
    fig.supylabel("information content (bits)", x=0.1 / width)
    return fig


@dataclass(frozen=True)
class FilterSettings:
    """Everything that decides the numbers of a filter analysis; recorded in its manifest."""

    fraction: float = DEFAULT_FRACTION
    min_sites: int = DEFAULT_MIN_SITES
    q_threshold: float = DEFAULT_Q_THRESHOLD
    pseudocount: float = DEFAULT_PSEUDOCOUNT
    motif_db: str | None = None
    fit: bool = False
    batch_size: int = 256
    max_logos: int = DEFAULT_MAX_PANELS
    layer: str | None = None
    """Qualified name of the convolution to read (see :func:`first_layer`); ``None``: the first over the input."""

    def parameters(self) -> dict:
        """The manifest's ``parameters``: the settings and the two rules a reader needs to interpret them."""
        return {**asdict(self),
                "q_value": "Benjamini-Hochberg over each filter's comparisons with the database",
                "activation": "first convolution over the input, then its per-position stages (batch norm, "
                              "activation), before pooling"}


FILES = {"table": "filters.tsv", "motifs": "filters.meme", "logos": "filter_logos.png", "report": "report.html"}
"""What a filters run writes besides its manifest, always all of it."""


def write_filter_report(
    out: str | os.PathLike,
    pfms: FilterPFMs,
    table: pd.DataFrame,
    settings: FilterSettings,
    provenance: dict | None = None,
    *,
    force: bool = False,
) -> Path:
    """Write ``filters.tsv``, ``filters.meme``, ``filter_logos.png``, ``report.html`` and ``manifest.json``.

    The manifest says ``complete: false`` while the other files are written
    and is completed last, so an interrupted run is recognisable as one.

    Parameters
    ----------
    out
        Output folder: new, empty, or an earlier filters run.
    pfms, table
        From :func:`filter_pfms` and :func:`match_filters`.
    settings
        The parameters used, recorded in the manifest and the report.
    provenance
        Extra manifest entries, e.g. the input and model files with hashes.
    force
        Accepted for the common call shape: a filters run always rewrites all
        of an earlier one's files, so it may always replace it.

    Returns
    -------
    pathlib.Path
        The folder.
    """
    folder = RunFolder.claim(out, "filters", writes=None, force=force)
    folder.start(provenance or {})
    return _write(folder, pfms, table, settings)


def _write(folder: RunFolder, pfms: FilterPFMs, table: pd.DataFrame, settings: FilterSettings) -> Path:
    """The files of a started run, then its manifest marked complete."""
    from seqsal.plot import save_figure

    summary = summarize(table)
    io.write_table(folder.path / FILES["table"], table)
    io.write_text(folder.path / FILES["motifs"], meme_text(pfms))
    figure = plot_filter_logos(pfms, table, min_sites=settings.min_sites, max_panels=settings.max_logos)
    try:
        save_figure(figure, folder.path / FILES["logos"])
    finally:
        plt.close(figure)
    _report(folder.path / FILES["report"], pfms, table, settings, summary)
    folder.finish(FILES, parameters=settings.parameters(), summary=summary)
    return folder.path


def _report(path: Path, pfms: FilterPFMs, table: pd.DataFrame, settings: FilterSettings, summary: dict) -> Path:
    from seqsal.report import Report

    report = Report("seqsal filters: first-layer filters as motifs")
    report.add_paragraph(
        f"Each first-layer filter's sites are the windows whose activation reaches {settings.fraction:g} times the "
        "filter's largest activation over the input (windows inside the sequence and free of N only). Their "
        "bases give a position frequency matrix, drawn below as an information-content logo and compared with "
        f"the motif database by Tomtom (memelite). Filters with at least {settings.min_sites} sites are compared; "
        "q-values are Benjamini-Hochberg adjusted over each filter's comparisons with the whole database, and a "
        f"filter matches when its best q-value is below {settings.q_threshold:g}.")
    report.add_key_values({
        "filters": summary["n_filters"], "filters compared": summary["n_tested"],
        "filters matched": summary["n_matched"], "fraction of filters matched": summary["fraction_matched"],
        "fraction of compared filters matched": summary["fraction_of_tested_matched"],
        "motifs matched (filters)": ", ".join(f"{k} ({v})" for k, v in summary["motifs_matched"].items()) or "none",
        "sequences": pfms.n_sequences, "eligible windows": pfms.n_windows,
        "motif database": settings.motif_db or "bundled JASPAR CORE 2016 vertebrates",
    }, caption="Summary")
    matched = table[table["matched"] == "yes"].sort_values(["q_value", "filter"], kind="stable")
    report.add_heading("Matched filters")
    if len(matched):
        report.add_table(matched, caption="Filters whose best Tomtom match passes the q-value threshold, best first.")
    else:
        report.add_paragraph("No filter matches a database motif at this threshold.")
    report.add_heading("Filter logos")
    report.add_image(path.parent / "filter_logos.png",
                     caption=f"Information-content logos of up to {settings.max_logos} filters with at least "
                             f"{settings.min_sites} sites, matched filters first (best q-value first), then the most "
                             "informative; titled by filter index and best match.")
    report.add_heading("All filters")
    report.add_table(table, caption="Every filter; match columns are empty for filters with too few sites.",
                     max_rows=max(len(table), 1))
    return report.write(path)


def analyze_filters(
    fasta: str | os.PathLike,
    model: str | os.PathLike | EnhancerCNN,
    out: str | os.PathLike,
    settings: FilterSettings | None = None,
    *,
    device: str | torch.device | None = None,
    force: bool = False,
) -> tuple[FilterPFMs, pd.DataFrame]:
    """FASTA in, filter analysis folder out: :func:`filter_pfms`, :func:`match_filters`, :func:`write_filter_report`.

    The FASTA is streamed (read once to check it, twice for the activations),
    so memory stays one batch wide.  Sequences must have the model's length
    unless ``settings.fit`` centre-crops or N-pads them.  The output folder is
    claimed before the forward passes, so a folder that may not be written
    fails fast.

    Returns
    -------
    (FilterPFMs, pandas.DataFrame)
        The PFMs and the table written to ``filters.tsv``.
    """
    from seqsal.datasets import encode_records
    from seqsal.explain.records import validate_fasta

    settings = settings or FilterSettings()
    fasta = Path(fasta)
    loaded = load_model(model)
    length = loaded.config.input_length
    layer = first_layer(loaded, settings.layer)
    database = load_database(settings.motif_db)
    validate_fasta(fasta, length, settings.fit)
    folder = RunFolder.claim(out, "filters", writes=None, force=force)

    def batches() -> Iterable[np.ndarray]:
        for records in io.iter_batches(io.iter_records(fasta), settings.batch_size):
            yield encode_records(records, length, settings.fit)[0]

    folder.start({
        "input": {"path": str(fasta), "sha256": io.file_sha256(fasta)},
        "model": model_provenance(model, loaded),
        "first_layer": {"name": layer.name, "stages": list(layer.stages), "kernel_size": layer.kernel_size,
                        "n_filters": layer.n_filters},
        "motif_db": {"path": str(settings.motif_db), "sha256": io.file_sha256(settings.motif_db)}
        if settings.motif_db else {"path": "bundled", "source": database.source},
    })
    pfms = filter_pfms(layer, batches, settings.fraction, pseudocount=settings.pseudocount,
                       batch_size=settings.batch_size, device=device)
    table = match_filters(pfms, database, min_sites=settings.min_sites, q_threshold=settings.q_threshold)
    _write(folder, pfms, table, settings)
    return pfms, table


__all__ = (
    "TABLE_COLUMNS", "FilterPFMs", "FilterSettings", "FirstLayer", "analyze_filters", "filter_pfms",
    "first_layer", "information_matrix", "match_filters", "meme_text", "plot_filter_logo", "plot_filter_logos",
    "summarize", "write_filter_report",
)
