"""Drawing a bundle: stacked logo figures of chosen records and the ``report.html`` page.

Logos show the record's **real bases only**, positioned in the coordinates of
the record as it was in the FASTA.  A record the model saw centre-cropped is
drawn over the window the model saw, labelled ``offset + 1`` to ``offset + L``;
a record that was ``N``-padded is drawn without its padding (the padded
columns hold no base, so their projected scores are zero and their
hypothetical scores describe bases that are not there), labelled ``1`` to its
length.  Known motifs are searched in the same window, so boxes sit on real
bases.  Logo files are named by :func:`seqsal.io.id_file_stem`, bounded and
distinct for distinct ids.

Three kinds of marks can sit on a logo (:class:`LogoMark`): **seqlets**
(filled bands, named after their Tomtom match; drawn whenever the run called
seqlets), **scan hits** of the motifs asked for (dashed outlines), and
**planted** instances from a simulator's ``planted.tsv`` (solid bars along the
bottom), so a reader sees where motifs were planted, where the model looked
and where a PWM matched.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seqsal import io
from seqsal.checks import check_choice, check_int
from seqsal.choices import CORRECTED_METHODS, FIGURE_FORMATS
from seqsal.errors import check
from seqsal.explain.bundle import ArrayStore, Bundle, score_rows, top_rows
from seqsal.explain.coordinates import COORDINATE_COLUMNS
from seqsal.explain.seqlet_files import SeqletResult, add_seqlet_section
from seqsal.explain.settings import ExplainSettings
from seqsal.figures.style import FigureOptions
from seqsal.motifs import Motif, scan
from seqsal.plot import AttributionCanvas, save_pdf_pages
from seqsal.progress import Progress
from seqsal.report import Report
from seqsal.seqlets.annotation import UNKNOWN

REPORT_ROWS = 200
#: Figures drawn per pool task at least, and the number of figures from which a pool pays for its start-up.
CHUNK = 25
POOL_FROM = 50
#: Pool tasks per worker for a long list: each task builds its figure once, so fewer, longer tasks draw
#: faster, while several per worker still balance the load and move the progress bar.
CHUNKS_PER_WORKER = 4

#: Columns a ground-truth table needs (the simulator's ``planted.tsv``: 0-based, half-open, record coordinates).
TRUTH_COLUMNS = ("id", "name", "start", "end")


@dataclass(frozen=True)
class LogoMark:
    """A span marked on a logo, in plotted columns (0-based, half-open); ``kind`` picks how it is drawn
    (:func:`seqsal.plot.plot_logo`): ``"seqlet"``, ``"scan"`` or ``"truth"``."""

    start: int
    end: int
    name: str
    kind: str = "seqlet"
    strand: str | None = None


def read_truth(path: str | Path) -> pd.DataFrame:
    """A table of true motif instances (``id, name, start, end``, 0-based half-open, like ``planted.tsv``)."""
    check(Path(path).is_file(), f"truth table {path} does not exist; check the path")
    table = io.read_tsv(path)
    missing = [c for c in TRUTH_COLUMNS if c not in table.columns]
    check(not missing, f"truth table {path}: lacks columns {missing}; give a table like the simulator's "
                       "planted.tsv (id, name, start, end)")
    return table


def _marks(table: pd.DataFrame | None, item: LogoItem, method: str, first: int, width: int) -> list[LogoMark]:
    """Seqlets (``seqlets.tsv``: 1-based inclusive cores) or truth rows (0-based half-open) of this record
    and method as marks over the plotted columns, which start at record position ``first`` (0-based)."""
    if table is None:
        return []
    seqlets = "core_start" in table.columns
    rows = table[(table["id"] == item.record_id) & ((table["method"] == method) if seqlets else True)]
    marks = []
    for row in rows.itertuples(index=False):
        if seqlets:
            start, end = row.core_start - 1 - first, row.core_end - first
            name = (row.motif if row.motif != UNKNOWN else "seqlet") + (" (neg.)" if row.sign < 0 else "")
            mark = LogoMark(max(0, start), min(width, end), name)
        else:
            start, end = row.start - first, row.end - first
            mark = LogoMark(max(0, start), min(width, end), row.name, "truth", getattr(row, "strand", None))
        if mark.start < mark.end:
            marks.append(mark)
    return marks


@dataclass(frozen=True)
class LogoItem:
    """What one stacked logo figure needs: a record's model input, its scores and how it was fitted.

    ``offset`` and ``original_length`` are the ``scores.tsv`` columns of the
    same name: the 0-based input position of the first model column (negative
    when padded) and the record's length in the FASTA.
    """

    record_id: str
    onehot: np.ndarray
    hypothetical: np.ndarray
    prediction: float  # the model's output: a classifier's logit
    offset: int = 0
    original_length: int | None = None  # None: the record filled the model input exactly

    def real_bases(self) -> tuple[np.ndarray, np.ndarray, int]:
        """One-hot and hypothetical scores of the columns holding the record's bases, and the 0-based
        input coordinate of the first of them."""
        length = self.onehot.shape[-1]
        original = length if self.original_length is None else self.original_length
        first = max(0, -self.offset)
        last = min(length, original - self.offset)
        check(first < last, f"record {self.record_id!r}: offset {self.offset} and length {original} leave no base "
                            f"inside the {length} model columns")
        return self.onehot[:, first:last], self.hypothetical[:, first:last], self.offset + first


def bundle_logo_items(bundle: Bundle, ids: Sequence[str], method: str) -> list[LogoItem]:
    """Logo inputs for ``ids`` from a finished bundle; an id the bundle holds twice is refused."""
    check(method in bundle.attributions,
          f"{bundle.folder}: has no attributions for {method!r}; it has {list(bundle.attributions)}")
    rows: dict[str, list[int]] = {}
    for i, record_id in enumerate(bundle.scores["id"]):
        rows.setdefault(record_id, []).append(i)
    items = []
    for record_id in ids:
        check(record_id in rows, f"{bundle.folder}: no record with id {record_id!r}")
        check(len(rows[record_id]) == 1,
              f"{bundle.folder}: id {record_id!r} names rows {', '.join(str(i + 1) for i in rows[record_id])} "
              "of scores.tsv; explain the input again with unique ids (--dedupe-ids) to draw them")
        i = rows[record_id][0]
        row = bundle.scores.iloc[i]
        items.append(LogoItem(record_id, np.asarray(bundle.onehot[i]), np.asarray(bundle.attributions[method][i]),
                              float(row["prediction"]), offset=int(row["offset"]),
                              original_length=int(row["original_length"])))
    return items


def top_logo_items(folder: Path, manifest: dict, stores: dict[str, ArrayStore],
                   settings: ExplainSettings) -> dict[str, list[LogoItem]]:
    """Logo inputs of the ``settings.n_logos`` highest predictions of the explained target, per method.

    Ranked at full precision from the stored predictions (ties keep input
    order), so a merged bundle gets the logos its single-run equivalent would.
    """
    n = manifest["n_sequences"]
    predictions = stores["prediction"].read(0, n)[:, manifest["target_index"]]
    top = np.argsort(-predictions, kind="stable")[: settings.n_logos]
    rows = score_rows(folder / "scores.tsv", top, ("id", "offset", "original_length"))
    return {
        m: [LogoItem(rows[i]["id"], stores["ohe"].read(i, i + 1)[0], stores[m].read(i, i + 1)[0],
                     float(predictions[i]), offset=int(rows[i]["offset"]),
                     original_length=int(rows[i]["original_length"]))
            for i in top]
        for m in settings.methods
    }


@dataclass(frozen=True)
class LogoStyle:
    """How a batch of stacked logo figures looks and is written.

    ``task`` and ``unit`` come from the bundle (a classifier's title shows its
    logit and probability; axes show the explained output's unit); ``figure``
    sizes, letters and windows the figures; ``fmt`` is the file format.
    """

    fmt: str = "png"
    figure: FigureOptions = FigureOptions()
    task: str = "regression"
    unit: str = "model output"
    correct: bool = False
    motif_threshold: float = 0.8


def bundle_style(manifest: dict, fmt: str = "png", figure: FigureOptions | None = None) -> LogoStyle:
    """The logo style a bundle's own settings imply: its model's task, its explained output and correction."""
    settings = manifest["settings"]
    return LogoStyle(fmt=fmt, figure=(figure or FigureOptions()).checked(), task=manifest["model"]["config"]["task"],
                     unit=settings.get("output", "logit"), correct=bool(settings.get("correct")),
                     motif_threshold=settings.get("motif_threshold", 0.8))


def draw_logos(
    folder: Path,
    items: dict[str, list[LogoItem]],
    *,
    motifs: Sequence[Motif] = (),
    style: LogoStyle = LogoStyle(),
    workers: int | None = None,
    progress: bool = False,
    seqlets: pd.DataFrame | None = None,
    truth: pd.DataFrame | None = None,
) -> list[Path]:
    """Draw a stacked logo figure per item and method into ``<folder>/logos``.

    PNG and SVG give one file per id and method, ``<stem>.<method>.<fmt>``
    with the stem from :func:`seqsal.io.id_file_stem`; PDF gives one
    multi-page file per method, the format for a supplement with many
    sequences.  Known motifs are boxed where their log-odds score reaches
    ``style.motif_threshold`` of its maximum (dashed outlines); seqlets (a
    ``seqlets.tsv`` table) are filled bands; ``truth`` rows (``planted.tsv``)
    are bars along the bottom.  Figures of one length reuse one
    :class:`~seqsal.plot.AttributionCanvas`; PNG and SVG files are drawn by
    ``workers`` processes (default: one below :data:`POOL_FROM` figures, else
    one per CPU core, at most 8), with progress reported per chunk.
    """
    check_choice(style.fmt, "fmt", FIGURE_FORMATS)
    logos = folder / "logos"
    logos.mkdir(exist_ok=True)
    total = sum(len(method_items) for method_items in items.values())
    if workers is None:
        workers = 1 if total < POOL_FROM else min(os.cpu_count() or 1, 8)
    check_int(workers, "workers", minimum=1)
    jobs = []
    for method, method_items in items.items():
        ids = [item.record_id for item in method_items]
        check(len(set(ids)) == len(ids), f"logos of {method!r}: an id is listed twice; each file is named by its id")
        if style.fmt == "pdf" and method_items:
            jobs.append((logos, method, method_items, tuple(motifs), style, seqlets, truth))
        else:
            chunk = max(CHUNK, -(-len(method_items) // (CHUNKS_PER_WORKER * workers)))
            jobs.extend((logos, method, method_items[i:i + chunk], tuple(motifs), style, seqlets, truth)
                        for i in range(0, len(method_items), chunk))
    paths: list[Path] = []
    with Progress(total, "logos", "figure", enabled=progress) as bar:
        if workers == 1 or len(jobs) == 1:
            for job in jobs:
                paths.extend(_draw_job(*job))
                bar.update(len(job[2]))
        else:
            context = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods()
                                                  else None)
            with ProcessPoolExecutor(workers, mp_context=context) as pool:
                for job, done in zip(jobs, pool.map(_draw_job, *zip(*jobs))):
                    paths.extend(done)
                    bar.update(len(job[2]))
    return paths


def _draw_job(logos: Path, method: str, items: Sequence[LogoItem], motifs: Sequence[Motif],
              style: LogoStyle, seqlets: pd.DataFrame | None, truth: pd.DataFrame | None) -> list[Path]:
    """Draw one method's items (a chunk, or a whole PDF) with one canvas per length; returns the files."""
    canvases: dict[int, AttributionCanvas] = {}
    label = f"{method} (corrected)" if style.correct and method in CORRECTED_METHODS else method
    dpi = style.figure.resolved_dpi()

    def drawn():
        for item in items:
            onehot, hypothetical, start = item.real_bases()
            hits = [LogoMark(hit.start, hit.end, hit.name, "scan", hit.strand)
                    for hit in (scan(onehot[None], motifs, relative_threshold=style.motif_threshold)
                                if motifs else [])]
            width = onehot.shape[1]
            marks = [*_marks(seqlets, item, method, start, width), *hits, *_marks(truth, item, method, start, width)]
            lo, hi = style.figure.columns(start, onehot.shape[1])
            if hi - lo not in canvases:
                canvases[hi - lo] = AttributionCanvas(hi - lo, unit=style.unit, figure=style.figure)
            canvas = canvases[hi - lo]
            canvas.draw(hypothetical, onehot, record_id=item.record_id, prediction=item.prediction, task=style.task,
                        method=label, motif_hits=marks, start=start)
            yield item, canvas

    try:
        if style.fmt == "pdf":
            path = logos / f"{method}.pdf"
            save_pdf_pages((canvas.figure for _, canvas in drawn()), path, tight=False)
            return [path]
        return [canvas.save(logos / f"{io.id_file_stem(item.record_id)}.{method}.{style.fmt}", dpi=dpi)
                for item, canvas in drawn()]
    finally:
        for canvas in canvases.values():
            canvas.close()


def draw_bundle(folder: Path, manifest: dict, stores: dict[str, ArrayStore], settings: ExplainSettings,
                motifs: Sequence[Motif] = (), seqlets: SeqletResult | None = None,
                figure: FigureOptions | None = None) -> None:
    """The drawn part of a bundle: logos of the top predictions and ``report.html``.

    Expects the arrays in ``stores``, ``scores.tsv`` and, with ``seqlets``,
    ``seqlets.png`` to be written.  ``figure`` sizes and windows the logos
    (screen defaults when omitted).
    """
    truth = read_truth(settings.truth) if settings.truth else None
    style = dataclasses.replace(bundle_style(manifest, settings.logo_format, figure),
                                motif_threshold=settings.motif_threshold)
    logo_paths = draw_logos(folder, top_logo_items(folder, manifest, stores, settings), motifs=motifs, style=style,
                            seqlets=None if seqlets is None else seqlets.table, truth=truth)
    write_report(folder, manifest, top_rows(folder / "scores.tsv", REPORT_ROWS), logo_paths, seqlets)


def model_card(metadata: dict) -> dict[str, str]:
    """What the model was trained on and how well it did on held-out data, from its file's metadata.

    An explanation is only as good as the model, and a model only knows the
    data it was trained on; the report says both, so a reader sees at once
    when, say, a model of human PU.1 peaks is asked about fly enhancers.
    """
    card = {"model trained on": metadata.get("description") or "not recorded in the model file"}
    for key, label in (("test_metrics", "model test metrics"), ("baseline_test_metrics", "baseline test metrics")):
        metrics = metadata.get(key) or {}
        if metrics:
            card[label] = ", ".join(f"{name} {value:.3f}" if isinstance(value, float) else f"{name}: {value}"
                                    for name, value in metrics.items())
    return card


def _readable(top: pd.DataFrame) -> pd.DataFrame:
    """The report's view of ``scores.tsv`` rows: a record's place on the genome as one ``location`` cell
    (``chrom:start-end(strand)``, BED convention; no strand when unknown) instead of six columns and the genome copies of the top
    positions, which a reader looks up in ``scores.tsv``; the table then fits a laptop screen."""
    if "chrom" not in top.columns:
        return top
    location = [(f"{chrom}:{start}-{end}" + (f"({strand})" if strand in ("+", "-") else ""))
                if isinstance(chrom, str) else None
                for chrom, start, end, strand in top[["chrom", "start", "end", "strand"]].itertuples(index=False)]
    kept = top.drop(columns=[c for c in top.columns
                             if c in COORDINATE_COLUMNS or c.startswith("top_genome_positions.")])
    kept.insert(1, "location", location)
    return kept


def write_report(folder: Path, manifest: dict, top: pd.DataFrame, logo_paths: Sequence[Path],
                 seqlets: SeqletResult | None = None) -> Path:
    """Write ``report.html``: settings, the top of the prediction table and the logos, all embedded."""
    settings = manifest["settings"]
    digest = manifest["input"]["sha256"]
    source = manifest["input"]["path"]
    report = Report(f"seqsal explain — {'standard input' if source == '-' else Path(source).name}")
    report.add_paragraph(
        f"{manifest['n_sequences']} sequences explained with {', '.join(settings['methods'])} "
        f"({'with' if settings['correct'] else 'without'} gradient correction) on the model's "
        f"{settings['output']} for target {settings['target']}. Logos show projected scores "
        "(hypothetical × one-hot) over each record's own bases, numbered as in the input: letters above the "
        "axis raise the prediction, letters below lower it. Filled bands mark seqlets (named after their "
        "best known-motif match), dashed outlines PWM-scan matches of the motifs asked for, and bars along the "
        "bottom planted (true) instances."
    )
    run = {
        "input": source,
        "input sha256": f"{digest[:16]}…" if digest else "per shard, listed in manifest.json",
        "model": manifest["model"]["path"],
        "model task": manifest["model"]["config"]["task"],
        **model_card(manifest["model"].get("metadata") or {}),
        "method options": ", ".join(f"{k}={v}" for k, v in settings["options"].items()) or "defaults",
        "seqsal version": manifest["seqsal_version"],
        "torch version": manifest["torch_version"],
    }
    if manifest.get("renamed_ids"):
        run["renamed ids"] = f"{len(manifest['renamed_ids'])} repeated ids suffixed _2, _3, … (see manifest.json)"
    report.add_heading("Run")
    report.add_key_values(run)
    report.add_heading("Predictions")
    shown = f"All {len(top)} sequences" if len(top) == manifest["n_sequences"] else \
        f"The {len(top)} highest predictions of {manifest['n_sequences']}"
    report.add_table(_readable(top), caption=f"{shown}, ranked by prediction (highest first; all rows, with every "
                                             "coordinate column, are in scores.tsv); top positions are 1-based in the "
                                             "input sequence.")
    if seqlets is not None:
        add_seqlet_section(report, seqlets, folder / "seqlets.png")
    pngs = [p for p in logo_paths if p.suffix == ".png"]
    if pngs:
        report.add_heading("Logos of the top sequences")
        report.add_paragraph("Ranked by prediction, highest first.")
        for path in pngs:
            report.add_image(path, caption=path.name)
    path = folder / "report.html"
    report.write(path)
    return path
