"""Tests for seqsal.plot: what is drawn where, and that files are written whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.collections import PathCollection, PolyCollection, QuadMesh  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402
from matplotlib.path import Path  # noqa: E402
from matplotlib.text import Text  # noqa: E402
from matplotlib.transforms import Bbox  # noqa: E402

from seqsal.encoding import one_hot  # noqa: E402
from seqsal.errors import SeqsalError  # noqa: E402
from seqsal.figures.style import FigureOptions  # noqa: E402
from seqsal.plot import (  # noqa: E402
    AttributionCanvas,
    plot_attribution,
    plot_curves,
    plot_heatmap,
    plot_logo,
    plot_scatter,
    plot_track,
    save_figure,
    save_pdf_pages,
    prediction_title,
)


@dataclass
class Hit:
    """Duck-typed stand-in for seqsal.motifs.MotifHit."""

    start: int
    end: int
    name: str
    strand: str


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def glyph_extents(ax):
    """(x centre, y min, y max) of every letter drawn, by either engine, sorted by x.

    logomaker draws a patch per letter; the fast engine one compound path per
    letter and orientation, whose outlines are grouped here by position.
    """
    boxes = [patch.get_path().get_extents() for patch in ax.patches if isinstance(patch, PathPatch)]
    for collection in ax.collections:
        if isinstance(collection, PathCollection):
            for path in collection.get_paths():
                by_position = {}
                for outline in path.to_polygons(closed_only=False):
                    by_position.setdefault(round(outline[:, 0].mean()), []).append(Path(outline).get_extents())
                boxes += [Bbox.union(parts) for parts in by_position.values()]
    return sorted(((box.x0 + box.x1) / 2, box.y0, box.y1) for box in boxes)


def heat_cells(ax):
    """The heatmap's mesh of cells on ``ax``."""
    (mesh,) = [c for c in ax.collections if isinstance(c, QuadMesh)]
    return mesh


def tick_labels(ax):
    return [label.get_text() for label in ax.get_xticklabels()]


@pytest.mark.parametrize("engine", ["fast", "logomaker"])
def test_logo_draws_one_glyph_per_nonzero_score_positive_above_negative_below(engine):
    scores = np.zeros((4, 5), dtype=np.float32)
    scores[0, 0] = 1.0  # A, position 1: up
    scores[1, 1] = -0.8  # C, position 2: down
    scores[2, 3] = 0.5  # G, position 4: up
    ax = plot_logo(scores, title="known matrix", engine=engine)
    glyphs = glyph_extents(ax)
    assert len(glyphs) == 3
    (x1, low1, high1), (x2, low2, high2), (x4, low4, high4) = glyphs
    assert (round(x1), round(x2), round(x4)) == (1, 2, 4)
    assert low1 >= -1e-6 and high1 == pytest.approx(1.0, abs=0.05)
    assert high2 <= 1e-6 and low2 == pytest.approx(-0.8, abs=0.05)
    assert low4 >= -1e-6
    assert ax.get_title() == "known matrix"
    assert ax.get_xlabel() == "position (bp)"
    assert ax.get_ylim()[0] < 0 < ax.get_ylim()[1]


def test_logo_ticks_are_one_based_and_offset_by_start():
    scores = np.zeros((4, 249))  # no glyphs: logomaker draws ~5 ms per letter
    ax = plot_logo(scores)
    labels = tick_labels(ax)
    assert labels[0] == "1"
    assert labels[1:4] == ["20", "40", "60"]
    assert ax.get_xlim() == pytest.approx((0.5, 249.5))

    ax = plot_logo(scores[:, :30], start=99)
    assert tick_labels(ax)[0] == "100"
    assert ax.get_xlim() == pytest.approx((99.5, 129.5))


def test_logo_figure_width_grows_with_length_but_is_capped():
    short = plot_logo(np.zeros((4, 20))).figure.get_figwidth()
    enhancer = plot_logo(np.zeros((4, 249))).figure.get_figwidth()
    huge = plot_logo(np.zeros((4, 1000))).figure.get_figwidth()
    assert short < enhancer < huge <= 22


def test_logo_accepts_an_existing_axes_and_returns_it():
    _, ax = plt.subplots()
    assert plot_logo(np.ones((4, 8)), ax=ax) is ax


def test_all_zero_scores_still_give_a_usable_axis():
    ax = plot_logo(np.zeros((4, 10)))
    low, high = ax.get_ylim()
    assert low < high
    assert glyph_extents(ax) == []


def test_motif_hits_are_labelled_and_overlapping_labels_do_not_collide():
    scores = np.ones((4, 40))
    hits = [Hit(10, 16, "GATA1", "+"), Hit(9, 17, "GATA1", "-"), Hit(30, 36, "TAL1", "+")]
    ax = plot_logo(scores, motif_hits=hits, title="with hits")
    labels = {text.get_text(): text for text in ax.texts}
    assert set(labels) == {"GATA1 (+)", "GATA1 (-)", "TAL1 (+)"}
    # The two overlapping GATA1 hits go on different label rows.
    assert labels["GATA1 (+)"].xyann[1] != labels["GATA1 (-)"].xyann[1]
    # Labels are above the axes (axes fraction 1), not on the letters.
    assert all(text.xy[1] == 1.0 for text in ax.texts)
    # The title is lifted above the two label rows.
    assert ax.title.get_text() == "with hits"


def test_motif_hit_outside_the_sequence_is_an_error():
    with pytest.raises(SeqsalError, match="TAL1"):
        plot_logo(np.ones((4, 10)), motif_hits=[Hit(8, 12, "TAL1", "+")])


def test_heatmap_colour_limits_are_symmetric_with_acgt_rows_and_a_colorbar():
    scores = np.array([[0.1, -0.2], [0.3, 0.0], [-0.7, 0.2], [0.0, 0.4]])
    ax = plot_heatmap(scores, title="hyp")
    low, high = heat_cells(ax).get_clim()
    assert low == pytest.approx(-0.7) and high == pytest.approx(0.7)
    assert [label.get_text() for label in ax.get_yticklabels()] == list("ACGT")
    assert len(ax.figure.axes) == 2  # heatmap + colorbar
    assert tick_labels(ax)[0] == "1"


def track_heights(ax):
    """Signed height of every bar of a track, in position order."""
    (bars,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    return np.array([path.vertices[1, 1] for path in bars.get_paths()]), bars.get_facecolors()


def test_track_colours_bars_by_sign():
    ax = plot_track(np.array([0.5, -0.5, 0.2]))
    heights, colors = track_heights(ax)
    np.testing.assert_allclose(heights, [0.5, -0.5, 0.2])
    assert (colors[0] == colors[2]).all() and not (colors[0] == colors[1]).all()
    assert tick_labels(ax)[0] == "1"


def stacked_figure(length=249, **kwargs):
    rng = np.random.default_rng(1)
    encoding = one_hot("".join(rng.choice(list("ACGT"), length)))[0]
    hypothetical = rng.normal(size=(4, length)).astype(np.float32)
    return plot_attribution(hypothetical, encoding, **kwargs), hypothetical, encoding


def test_attribution_figure_stacks_logo_heatmap_track_and_names_the_record():
    fig, hypothetical, encoding = stacked_figure(
        record_id="chr1:100-349", prediction=0.93123, method="saliency", motif_hits=[Hit(100, 106, "GATA1", "+")]
    )
    assert fig.get_suptitle() == "chr1:100-349 — saliency — prediction 0.931"
    logo_ax, heat_ax, track_ax = fig.axes[:3]
    assert len(fig.axes) == 4  # three panels and the heatmap's colorbar
    suptitle = fig.get_suptitle()
    assert "chr1:100-349" in suptitle and "saliency" in suptitle and "0.931" in suptitle
    # The logo shows only the bases in the sequence (projected scores): one glyph per column.
    assert len(glyph_extents(logo_ax)) == 249
    # The heatmap shows the hypothetical scores, the track their projection summed over rows.
    np.testing.assert_allclose(heat_cells(heat_ax).get_array(), hypothetical)
    assert cell_centres(heat_ax)[[0, -1]].tolist() == [1, 249]


def test_heatmap_cells_sit_on_the_positions_they_show():
    ax = plot_heatmap(np.arange(40.0).reshape(4, 10), start=100)
    np.testing.assert_allclose(cell_centres(ax), np.arange(101, 111))
    assert heat_cells(ax).get_array()[0, 3] == 3 and ax.get_ylim() == (3.5, -0.5)  # row A on top


def cell_centres(ax):
    """Data x of the centre of each heatmap column."""
    mesh = heat_cells(ax)
    edges = mesh.get_coordinates()[0, :, 0]
    moved = (mesh.get_transform() - ax.transData).transform(np.column_stack([edges, np.zeros_like(edges)]))[:, 0]
    return (moved[:-1] + moved[1:]) / 2
    heights, _ = track_heights(track_ax)
    np.testing.assert_allclose(heights, (hypothetical * encoding).sum(axis=0), rtol=1e-6)
    # One shared x axis, labelled once at the bottom.
    assert logo_ax.get_xlim() == heat_ax.get_xlim() == track_ax.get_xlim()
    assert track_ax.get_xlabel() == "position (bp)" and logo_ax.get_xlabel() == ""


def test_attribution_figure_title_without_optional_parts():
    fig, _, _ = stacked_figure(length=20, record_id="seq1")
    assert fig.get_suptitle() == "seq1"


def test_attribution_requires_matching_shapes():
    with pytest.raises(SeqsalError, match="one_hot"):
        plot_attribution(np.zeros((4, 10)), np.zeros((4, 11)), record_id="r")


@pytest.mark.parametrize(
    "bad",
    [np.zeros((3, 10)), np.zeros((4, 0)), np.zeros((1, 4, 10)), np.full((4, 5), np.nan)],
    ids=["three-rows", "empty", "batched", "nan"],
)
def test_bad_score_matrices_raise_seqsal_error(bad):
    with pytest.raises(SeqsalError):
        plot_logo(bad)
    with pytest.raises(SeqsalError):
        plot_heatmap(bad)


def test_bad_track_raises():
    with pytest.raises(SeqsalError):
        plot_track(np.zeros((4, 10)))


def test_curves_and_scatter():
    x = np.linspace(0, 1, 5)
    ax = plot_curves(x, {"a": x, "b": 1 - x}, xlabel="fraction", ylabel="y", title="curves")
    assert [line.get_label() for line in ax.get_lines()] == ["a", "b"]
    assert ax.get_title() == "curves"
    with pytest.raises(SeqsalError, match="'b'"):
        plot_curves(x, {"a": x, "b": x[:3]})

    ax = plot_scatter([0.1, 0.5], [0.2, 0.9], ["saliency", "ism"], xlabel="faithful", ylabel="plausible")
    assert [text.get_text() for text in ax.texts] == ["saliency", "ism"]
    with pytest.raises(SeqsalError):
        plot_scatter([0.1, 0.5], [0.2, 0.9], ["only one"])


MAGIC = {"png": b"\x89PNG\r\n\x1a\n", "pdf": b"%PDF-"}


@pytest.mark.parametrize("suffix", ["png", "svg", "pdf"])
def test_save_figure_writes_the_format_of_the_suffix_and_no_temp_files(tmp_path, suffix):
    fig = plot_logo(np.ones((4, 10))).figure
    target = tmp_path / f"logo.{suffix}"
    assert save_figure(fig, target) == target
    data = target.read_bytes()
    if suffix == "svg":
        assert b"<svg" in data[:2000]
    else:
        assert data.startswith(MAGIC[suffix])
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert plt.fignum_exists(fig.number)  # save_figure leaves the figure open


def test_save_figure_format_overrides_suffix(tmp_path):
    target = tmp_path / "logo.out"
    save_figure(plot_logo(np.ones((4, 10))).figure, target, format="pdf")
    assert target.read_bytes().startswith(MAGIC["pdf"])


def test_save_figure_rejects_unknown_format(tmp_path):
    with pytest.raises(SeqsalError, match="suffix"):
        save_figure(plot_logo(np.ones((4, 10))).figure, tmp_path / "logo.jpeg2000")


def test_failed_save_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    target = tmp_path / "logo.png"
    target.write_bytes(b"previous")
    fig = plot_logo(np.ones((4, 10))).figure

    def broken_savefig(fname, **kwargs):
        with open(fname, "wb") as stream:
            stream.write(b"\x89PNG half")
        raise RuntimeError("disk full")

    monkeypatch.setattr(fig, "savefig", broken_savefig)
    with pytest.raises(RuntimeError):
        save_figure(fig, target)
    assert target.read_bytes() == b"previous"
    assert [p.name for p in tmp_path.iterdir()] == ["logo.png"]


def test_save_pdf_pages_writes_one_page_per_figure_and_closes_them(tmp_path):
    figures = [plot_logo(np.ones((4, 10)) * i).figure for i in range(1, 4)]
    numbers = [fig.number for fig in figures]
    target = tmp_path / "logos.pdf"
    assert save_pdf_pages(iter(figures), target) == 3
    data = target.read_bytes()
    assert data.startswith(MAGIC["pdf"])
    assert len(re.findall(rb"/Type\s*/Page\b", data)) == 3
    assert not any(plt.fignum_exists(number) for number in numbers)
    assert [p.name for p in tmp_path.iterdir()] == ["logos.pdf"]


def test_save_pdf_pages_with_no_figures_is_an_error_and_writes_nothing(tmp_path):
    with pytest.raises(SeqsalError, match="empty"):
        save_pdf_pages([], tmp_path / "empty.pdf")
    assert list(tmp_path.iterdir()) == []


def test_saving_into_a_missing_directory_is_an_error(tmp_path):
    with pytest.raises(SeqsalError, match="does not exist"):
        save_figure(plot_logo(np.ones((4, 10))).figure, tmp_path / "missing" / "logo.png")


# --------------------------------------------------------------------------- #
# Issue 18: the fast engine, figure options, labels and units
# --------------------------------------------------------------------------- #


def rasterise(fig, dpi=100):
    """The figure as an (H, W, 3) uint8 array, drawn by Agg."""
    fig.set_dpi(dpi)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].astype(int)


def logo_raster(scores, engine):
    fig = plt.figure(figsize=(6, 2))
    ax = fig.add_axes((0.1, 0.15, 0.85, 0.75))
    plot_logo(scores, ax=ax, engine=engine)
    return rasterise(fig)


#: Largest share of pixels allowed to differ by more than 64 grey levels between the engines' rasters: edge
#: pixels differ by anti-aliasing only (one compound path vs a patch per letter), a misplaced letter by far more.
ENGINE_PIXEL_TOLERANCE = 0.005


@pytest.mark.parametrize("kind", ["projected", "hypothetical"])
def test_fast_logo_matches_logomaker_pixel_for_pixel_within_tolerance(kind):
    rng = np.random.default_rng(7)
    scores = rng.normal(size=(4, 40))
    if kind == "projected":
        scores = scores * one_hot("".join(rng.choice(list("ACGT"), 40)))[0]
    fast, reference = logo_raster(scores, "fast"), logo_raster(scores, "logomaker")
    assert fast.shape == reference.shape
    differing = (np.abs(fast - reference).max(axis=2) > 64).mean()
    assert differing < ENGINE_PIXEL_TOLERANCE
    # The comparison can fail: a logo shifted by one position differs in far more pixels.
    shifted = logo_raster(np.roll(scores, 1, axis=1), "fast")
    assert (np.abs(shifted - reference).max(axis=2) > 64).mean() > 10 * ENGINE_PIXEL_TOLERANCE


def test_unknown_engine_is_refused():
    with pytest.raises(SeqsalError, match="engine"):
        plot_logo(np.ones((4, 5)), engine="weblogo")


def visible_texts(fig):
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()]


def test_paper_style_is_a_double_column_with_text_of_at_least_7_points():
    fig, _, _ = stacked_figure(record_id="r", prediction=1.0, method="saliency", figure=FigureOptions(style="paper"))
    assert fig.get_size_inches()[0] == pytest.approx(7.2)
    sizes = [t.get_fontsize() for t in visible_texts(fig)]
    assert sizes and min(sizes) >= 7
    single = plot_logo(np.ones((4, 50)), figure=FigureOptions(style="paper", width=3.5)).figure
    assert single.get_size_inches()[0] == pytest.approx(3.5)
    assert min(t.get_fontsize() for t in visible_texts(single)) >= 7
    # The screen style keeps its sequence-sized width.
    assert stacked_figure(record_id="r")[0].get_size_inches()[0] == pytest.approx(249 / 12)


def test_width_height_and_font_size_are_honoured():
    options = FigureOptions(width=5, height=2, font_size=9)
    ax = plot_logo(np.ones((4, 30)), figure=options)
    assert tuple(ax.figure.get_size_inches()) == pytest.approx((5, 2))
    assert ax.xaxis.get_ticklabels()[0].get_fontsize() == 9
    with pytest.raises(SeqsalError, match="width"):
        plot_logo(np.ones((4, 30)), figure=FigureOptions(width=0.1))


def test_window_draws_only_its_positions_and_moves_hits_into_it():
    scores = np.ones((4, 249))
    hits = [Hit(99, 105, "GATA1", "+"), Hit(10, 16, "TAL1", "+")]
    ax = plot_logo(scores, motif_hits=hits, figure=FigureOptions(window=(80, 140)))
    assert ax.get_xlim() == (79.5, 140.5)
    assert tick_labels(ax)[0] == "80"
    assert len(glyph_extents(ax)) == 4 * 61
    assert [t.get_text() for t in ax.texts] == ["GATA1 (+)"]  # TAL1 lies outside the window
    fig, _, _ = stacked_figure(record_id="r", figure=FigureOptions(window=(80, 140)))
    assert all(a.get_xlim() == (79.5, 140.5) for a in fig.axes[:3])
    with pytest.raises(SeqsalError, match="outside"):
        plot_logo(scores, figure=FigureOptions(window=(300, 400)))


def test_palindrome_hits_on_both_strands_get_one_label():
    hits = [Hit(10, 18, "FOS::JUN", "+"), Hit(10, 18, "FOS::JUN", "-"), Hit(30, 36, "GATA1", "-")]
    ax = plot_logo(np.ones((4, 40)), motif_hits=hits)
    assert sorted(t.get_text() for t in ax.texts) == ["FOS::JUN (±)", "GATA1 (-)"]


def test_heatmap_of_non_negative_scores_uses_a_sequential_map_from_zero_with_a_labelled_colour_bar():
    ax = plot_heatmap(np.abs(np.random.default_rng(0).normal(size=(4, 20))), label="saliency (logit)")
    image = heat_cells(ax)
    assert image.get_clim()[0] == 0 and image.get_cmap().name == "Reds"
    assert ax.figure.axes[1].get_ylabel() == "saliency (logit)"
    signed = plot_heatmap(np.random.default_rng(0).normal(size=(4, 20)))
    low, high = heat_cells(signed).get_clim()
    assert low == -high and heat_cells(signed).get_cmap().name == "RdBu_r"
    with pytest.raises(SeqsalError, match="signed"):
        plot_heatmap(-np.ones((4, 5)), signed=False)


def test_colour_bar_ticks_stay_short_at_any_scale_so_its_title_stays_on_the_figure():
    for scale in (1e-3, 1.0, 1e5):
        fig, _, _ = stacked_figure(record_id="r", figure=FigureOptions(style="paper"))
        heat_cells(fig.axes[1]).set_clim(-3 * scale, 3 * scale)
        colorbar_ax = fig.axes[3]
        fig.canvas.draw()
        labels = [t.get_text() for t in colorbar_ax.get_yticklabels() if t.get_text()]
        assert labels and max(map(len, labels)) <= 5, labels
        title = colorbar_ax.yaxis.label.get_window_extent(fig.canvas.get_renderer())
        assert title.x1 <= fig.bbox.x1


@pytest.mark.parametrize("style", ["screen", "paper"])
def test_colour_bar_power_of_ten_stays_off_the_heatmap_record_after_record(style):
    """Matplotlib right-aligns "1e−3" with the narrow bar's right edge, over the heatmap's corner, and resets its
    place whenever the colour scale changes; it must start at the bar for every record a canvas draws."""
    canvas = AttributionCanvas(60, figure=FigureOptions(style=style))
    rng = np.random.default_rng(0)
    onehot = np.eye(4)[rng.integers(0, 4, 60)].T
    renderer = canvas.figure.canvas.get_renderer()
    for scale in (1e-3, 2e4, 5e-4):
        canvas.draw(rng.normal(0, scale, (4, 60)), onehot, record_id="r")
        canvas.figure.canvas.draw()
        bar, heat = canvas.figure.axes[3], canvas.figure.axes[1]
        power = bar.yaxis.offsetText
        assert power.get_text()  # these scales all show one
        assert power.get_window_extent(renderer).x0 >= bar.get_window_extent(renderer).x0 - 0.5
        assert power.get_window_extent(renderer).x0 > heat.get_window_extent(renderer).x1


@pytest.mark.parametrize("style", ["screen", "paper"])
def test_value_axis_titles_clear_their_tick_labels_and_stay_on_the_figure_at_any_scale(style):
    for scale in (1e-3, 0.03, 0.15, 1.0, 7.0, 300.0, 1e5):
        fig, _, _ = stacked_figure(record_id="r", figure=FigureOptions(style=style))
        fig.axes[0].set_ylim(-1.3 * scale, 1.3 * scale)  # ticks such as -0.125 at 0.15
        fig.axes[2].set_ylim(-1.3 * scale, 1.3 * scale)
        heat_cells(fig.axes[1]).set_clim(-1.3 * scale, 1.3 * scale)
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
        titles = {text.get_text(): text.get_window_extent(renderer) for text in fig.texts if text.get_rotation() == 90}
        assert len(titles) == 3
        for ax in (fig.axes[0], fig.axes[2], fig.axes[3]):
            title = titles[ax.get_ylabel()]
            ticks = [t.get_window_extent(renderer) for t in ax.get_yticklabels() if t.get_text()]
            assert ticks and all(len(t.get_text()) <= 6 for t in ax.get_yticklabels())
            assert 0 <= title.x0 and title.x1 <= fig.bbox.x1, (scale, ax.get_ylabel())
            if ax is fig.axes[3]:  # the colour bar's title is right of its ticks, the others left of theirs
                assert title.x0 >= max(t.x1 for t in ticks), (scale, ax.get_ylabel())
            else:
                assert title.x1 <= min(t.x0 for t in ticks), (scale, ax.get_ylabel())
        plt.close(fig)


def test_heatmap_row_labels_never_overlap_even_under_three_rows_of_motif_labels():
    hits = [Hit(5, 12, "GATA1", "+"), Hit(7, 14, "TAL1", "+"), Hit(9, 16, "ETS1", "-")]  # stacked label rows
    for style in ("paper", "screen"):
        fig, _, _ = stacked_figure(record_id="r", motif_hits=hits, figure=FigureOptions(style=style, height=3.0))
        fig.canvas.draw()
        boxes = sorted((t.get_window_extent(fig.canvas.get_renderer()) for t in fig.axes[1].get_yticklabels()),
                       key=lambda box: box.y0)
        assert all(lower.y1 <= upper.y0 for lower, upper in zip(boxes, boxes[1:])), style
        plt.close(fig)


def test_stacked_figure_labels_every_axis_with_its_unit():
    fig, _, _ = stacked_figure(record_id="r", unit="logit")
    logo_ax, heat_ax, track_ax, colorbar_ax = fig.axes
    assert "logit" in logo_ax.get_ylabel() and "logit" in track_ax.get_ylabel()
    assert "per position" in track_ax.get_ylabel()
    assert colorbar_ax.get_ylabel() == "hypothetical\n(logit)"


@pytest.mark.parametrize("prediction, task, title", [
    (7.04, "classification", "logit 7.04, p = 0.999"),
    (0.0, "classification", "logit 0, p = 0.500"),
    (12.0, "classification", "logit 12, p > 0.999"),
    (-9.0, "classification", "logit -9, p < 0.001"),
    (1.234, "regression", "prediction 1.23"),
])
def test_title_says_what_the_number_is(prediction, task, title):
    assert prediction_title(prediction, task) == title


def test_classifier_title_in_the_figure():
    fig, _, _ = stacked_figure(record_id="r", prediction=7.04, task="classification", method="grad_x_input")
    assert fig.get_suptitle() == "r — grad_x_input — logit 7.04, p = 0.999"


def test_a_reused_canvas_draws_each_record_as_a_fresh_figure_would():
    rng = np.random.default_rng(3)
    encoding = one_hot("".join(rng.choice(list("ACGT"), 60)))[0]
    first, second = rng.normal(size=(4, 60)), np.abs(rng.normal(size=(4, 60)))
    hits = [Hit(5, 12, "GATA1", "+"), Hit(20, 26, "TAL1", "+"), Hit(22, 28, "ETS1", "-")]
    canvas = AttributionCanvas(60, unit="logit")
    canvas.draw(first, encoding, record_id="a", motif_hits=hits, prediction=3.0, task="classification")
    rasterise(canvas.figure)
    reused = rasterise(canvas.draw(second, encoding, record_id="b", start=100))
    fresh = rasterise(AttributionCanvas(60, unit="logit").draw(second, encoding, record_id="b", start=100))
    assert (reused == fresh).all()
    with pytest.raises(SeqsalError, match="61 positions"):
        canvas.draw(np.ones((4, 61)), np.ones((4, 61)), record_id="long")


def read_png(path):
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGBA")), image.info.get("dpi")


#: Pixels the layered PNG may draw differently from savefig, each by a few grey levels: the frame of the heatmap
#: is repainted over the ends of its fixed tick marks (4 anti-aliased pixels at 80 dpi), nothing else.
CANVAS_EDGE_PIXELS = 8


def test_canvas_png_is_the_picture_savefig_draws_record_after_record(tmp_path):
    """The cached shared layer must hold nothing of an earlier record: not its letters, limits, marks
    or colour bar, nor a layout with another number of label rows."""
    rng = np.random.default_rng(5)
    encoding = one_hot("".join(rng.choice(list("ACGT"), 60)))[0]
    records = [(rng.normal(size=(4, 60)) * 5, [Hit(5, 12, "GATA1", "+")], 0),
               (np.abs(rng.normal(size=(4, 60))), [], 0),  # another colour map, another y range
               (rng.normal(size=(4, 60)), [Hit(5, 12, "GATA1", "+"), Hit(8, 14, "TAL1", "-")], 0),  # two rows
               (rng.normal(size=(4, 60)), [], 40)]  # another position axis
    canvas = AttributionCanvas(60, unit="logit")
    for i, (scores, hits, start) in enumerate(records):
        canvas.draw(scores, encoding, record_id=f"r{i}", motif_hits=hits, start=start, prediction=float(i))
        fast, dpi = read_png(canvas.save(tmp_path / f"fast{i}.png", dpi=80))
        fresh = AttributionCanvas(60, unit="logit").draw(scores, encoding, record_id=f"r{i}", motif_hits=hits,
                                                          start=start, prediction=float(i))
        reference, _ = read_png(save_figure(fresh, tmp_path / f"savefig{i}.png", dpi=80, tight=False))
        assert fast.shape == reference.shape
        differing = np.abs(fast.astype(int) - reference).max(axis=2)
        assert (differing > 0).sum() <= CANVAS_EDGE_PIXELS, f"record {i}: {(differing > 0).sum()} pixels differ"
        assert differing.max() <= 32
        assert dpi == pytest.approx((80, 80), abs=0.01)
    # The comparison can fail: the previous record's picture is far from this one.
    assert (fast != read_png(tmp_path / "savefig2.png")[0]).any(axis=2).mean() > 0.01


def test_canvas_writes_vector_formats_through_savefig(tmp_path):
    canvas = AttributionCanvas(20)
    canvas.draw(np.ones((4, 20)), np.ones((4, 20)) / 4, record_id="vector record")
    assert "vector record" in canvas.save(tmp_path / "r.svg").read_text()


def test_png_encoder_round_trips_every_pixel_and_records_the_resolution(tmp_path):
    from seqsal.figures.png import encode_png, write_png

    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(37, 53, 4), dtype=np.uint8)  # rows differ: the Up filter wraps around
    pixels[5:9] = pixels[4]  # repeated rows filter to zeros
    decoded, dpi = read_png(write_png(tmp_path / "p.png", pixels, dpi=300))
    assert (decoded == pixels).all()
    assert dpi == pytest.approx((300, 300), abs=0.01)
    assert read_png(write_png(tmp_path / "q.png", pixels))[1] is None
    assert encode_png(pixels, compress_level=9) != encode_png(pixels, compress_level=0)
    with pytest.raises(SeqsalError, match="rgba"):
        encode_png(pixels[..., :3])


def test_vector_files_keep_text_as_text(tmp_path):
    fig = plot_logo(np.ones((4, 10)), title="logo title").figure
    svg = save_figure(fig, tmp_path / "logo.svg").read_text()
    assert "<text" in svg and "logo title" in svg
    pdf = save_figure(fig, tmp_path / "logo.pdf").read_bytes()
    assert b"/FontFile2" in pdf  # TrueType (Type 42) fonts: text stays selectable and editable


def test_png_resolution_follows_dpi(tmp_path):
    fig = plot_logo(np.ones((4, 10)), figure=FigureOptions(width=4, height=1)).figure
    from PIL import Image

    for dpi in (100, 300):
        with Image.open(save_figure(fig, tmp_path / f"logo{dpi}.png", dpi=dpi, tight=False)) as image:
            assert image.size == (4 * dpi, dpi)


def test_identical_curves_are_labelled_together_not_hidden():
    x = np.linspace(0, 1, 5)
    ax = plot_curves(x, {"saliency": x ** 2, "grad_x_input": x ** 2, "ism": x})
    assert [line.get_label() for line in ax.get_lines()] == ["saliency = grad_x_input", "ism"]
