"""Tests for seqsal.plot: what is drawn where, and that files are written whole."""

from __future__ import annotations

import re
from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.patches import PathPatch  # noqa: E402

from seqsal.encoding import one_hot  # noqa: E402
from seqsal.errors import SeqsalError  # noqa: E402
from seqsal.plot import (  # noqa: E402
    plot_attribution,
    plot_curves,
    plot_heatmap,
    plot_logo,
    plot_scatter,
    plot_track,
    save_figure,
    save_pdf_pages,
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
    """(x centre, y min, y max) of every letter logomaker drew, sorted by x."""
    boxes = [patch.get_path().get_extents() for patch in ax.patches if isinstance(patch, PathPatch)]
    return sorted(((box.x0 + box.x1) / 2, box.y0, box.y1) for box in boxes)


def tick_labels(ax):
    return [label.get_text() for label in ax.get_xticklabels()]


def test_logo_draws_one_glyph_per_nonzero_score_positive_above_negative_below():
    scores = np.zeros((4, 5), dtype=np.float32)
    scores[0, 0] = 1.0  # A, position 1: up
    scores[1, 1] = -0.8  # C, position 2: down
    scores[2, 3] = 0.5  # G, position 4: up
    ax = plot_logo(scores, title="known matrix")
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
    low, high = ax.images[0].get_clim()
    assert low == pytest.approx(-0.7) and high == pytest.approx(0.7)
    assert [label.get_text() for label in ax.get_yticklabels()] == list("ACGT")
    assert len(ax.figure.axes) == 2  # heatmap + colorbar
    assert tick_labels(ax)[0] == "1"


def test_track_colours_bars_by_sign():
    ax = plot_track(np.array([0.5, -0.5, 0.2]))
    colors = [bar.get_facecolor() for bar in ax.patches]
    assert colors[0] == colors[2] != colors[1]
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
    logo_ax, heat_ax, track_ax = fig.axes[:3]
    assert len(fig.axes) == 4  # three panels and the heatmap's colorbar
    suptitle = fig.get_suptitle()
    assert "chr1:100-349" in suptitle and "saliency" in suptitle and "0.931" in suptitle
    # The logo shows only the bases in the sequence (projected scores): one glyph per column.
    assert len(glyph_extents(logo_ax)) == 249
    # The heatmap shows the hypothetical scores, the track their projection summed over rows.
    np.testing.assert_allclose(heat_ax.images[0].get_array(), hypothetical)
    heights = [bar.get_height() for bar in track_ax.patches]
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
