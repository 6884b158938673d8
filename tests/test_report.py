"""Tests for seqsal.report: escaping, tables, embedded figures, self-containment, atomic writes."""

from __future__ import annotations

import base64
import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from seqsal.errors import SeqsalError  # noqa: E402
from seqsal.report import Report  # noqa: E402

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def small_figure():
    fig, ax = plt.subplots(figsize=(2, 2))
    ax.plot([0, 1], [0, 1])
    return fig


def embedded_pngs(text):
    return [base64.b64decode(data) for data in re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', text)]


def test_user_text_is_escaped_everywhere():
    text = (
        Report("a <b> & c")
        .add_heading("<script>alert(1)</script>")
        .add_paragraph("5 < 7 & <i>not italic</i>")
        .add_key_values({"<key>": "<value>"}, caption="<cap>")
        .to_html()
    )
    assert "<script>" not in text and "<i>" not in text and "<key>" not in text
    assert "<title>a &lt;b&gt; &amp; c</title>" in text
    assert "5 &lt; 7 &amp; &lt;i&gt;not italic&lt;/i&gt;" in text
    assert "&lt;value&gt;" in text and "&lt;cap&gt;" in text


def test_add_html_is_verbatim():
    assert "<em>raw</em>" in Report("t").add_html("<em>raw</em>").to_html()


def test_every_add_method_chains(tmp_path):
    image = tmp_path / "x.png"
    small_figure().savefig(image)
    report = Report("t")
    for result in (
        report.add_heading("h"),
        report.add_paragraph("p"),
        report.add_html("<hr>"),
        report.add_key_values({"k": 1}),
        report.add_table(pd.DataFrame({"a": [1]})),
        report.add_figure(small_figure()),
        report.add_image(image),
    ):
        assert result is report


def test_table_formats_cells_and_truncates():
    frame = pd.DataFrame({"record": ["r1", "r<2>", "r3"], "count": [1, 2, 1234567], "score": [0.123456, 2e-5, 3.0]})
    text = Report("t").add_table(frame, caption="scores", max_rows=2).to_html()
    assert "<th>record</th><th>count</th><th>score</th>" in text
    assert ">0.123<" in text and ">2e-05<" in text
    assert "r&lt;2&gt;" in text
    assert "r3" not in text  # truncated
    assert "first 2 of 3 rows" in text
    assert "<caption>scores</caption>" in text
    # Integers keep their digits even in a row that also holds floats.
    assert ">1<" in Report("t").add_table(frame).to_html() and ">1234567<" in Report("t").add_table(frame).to_html()


def test_table_shows_a_meaningful_index():
    frame = pd.DataFrame({"auroc": [0.9]}, index=pd.Index(["saliency"], name="method"))
    assert "<th>saliency</th>" in Report("t").add_table(frame).to_html()
    assert "<th>0</th>" not in Report("t").add_table(pd.DataFrame({"a": [1]})).to_html()


def test_key_values_is_a_two_column_table():
    text = Report("t").add_key_values({"method": "saliency", "auroc": 0.912345, "seed": 7}).to_html()
    rows = re.findall(r"<tr><th>(.*?)</th><td>(.*?)</td></tr>", text)
    assert rows == [("method", "saliency"), ("auroc", "0.9123"), ("seed", "7")]


def test_figure_is_embedded_as_png_and_closed():
    fig = small_figure()
    text = Report("t").add_figure(fig, caption="a figure").to_html()
    assert "data:image/png;base64," in text
    (png,) = embedded_pngs(text)
    assert png.startswith(PNG_MAGIC)
    assert "<figcaption>a figure</figcaption>" in text
    assert not plt.fignum_exists(fig.number)


def test_figure_can_stay_open():
    fig = small_figure()
    Report("t").add_figure(fig, close=False)
    assert plt.fignum_exists(fig.number)
    plt.close(fig)


def test_add_image_embeds_the_file_bytes(tmp_path):
    image = tmp_path / "plot.png"
    fig = small_figure()
    fig.savefig(image)
    plt.close(fig)
    (png,) = embedded_pngs(Report("t").add_image(image).to_html())
    assert png == image.read_bytes()


def test_add_image_rejects_missing_and_non_png_files(tmp_path):
    with pytest.raises(SeqsalError, match="does not exist"):
        Report("t").add_image(tmp_path / "missing.png")
    fake = tmp_path / "fake.png"
    fake.write_text("not a png")
    with pytest.raises(SeqsalError, match="not a PNG"):
        Report("t").add_image(fake)


def test_report_is_self_contained():
    text = (
        Report("t")
        .add_figure(small_figure())
        .add_table(pd.DataFrame({"a": np.arange(3)}))
        .add_key_values({"k": "v"})
        .to_html()
    )
    assert "http" not in text.lower()
    assert "<link" not in text and "<script" not in text and "@import" not in text
    assert text.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in text


def test_write_is_atomic(tmp_path, monkeypatch):
    target = tmp_path / "report.html"
    assert Report("first").add_paragraph("hello").write(target) == target
    assert "hello" in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]

    report = Report("second")

    def broken():
        raise RuntimeError("interrupted")

    monkeypatch.setattr(report, "to_html", broken)
    with pytest.raises(RuntimeError):
        report.write(target)
    assert "hello" in target.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_bad_arguments_raise_seqsal_error(tmp_path):
    with pytest.raises(SeqsalError):
        Report("t").add_heading("h", level=7)
    with pytest.raises(SeqsalError):
        Report("t").add_table([1, 2, 3])
    with pytest.raises(SeqsalError, match="does not exist"):
        Report("t").write(tmp_path / "missing" / "r.html")


# --------------------------------------------------------------------------- #
# Issue 18: reports that read well
# --------------------------------------------------------------------------- #


def test_missing_values_read_as_a_dash_with_a_footnote_never_nan():
    df = pd.DataFrame({"metric": ["auc", "auroc"], "value": [0.5, np.nan], "sd": [None, 0.1]})
    text = Report("r").add_table(df).add_key_values({"pvalue": float("nan")}).to_html()
    assert "nan" not in text.lower().replace("nanometre", "")
    assert "<td>—</td>" in text
    assert "— marks a value that does not apply to that row." in text
    assert "does not apply" not in Report("r").add_table(df.dropna()).to_html()


def test_tables_scroll_inside_their_own_box():
    wide = pd.DataFrame([[1.0] * 40], columns=[f"column_{i}" for i in range(40)])
    text = Report("r").add_table(wide).add_key_values({"a": 1}).to_html()
    assert text.count('<div class="table"><table') == 2
    assert re.search(r"div\.table \{[^}]*overflow-x: auto", text)


def explain_manifest():
    return {
        "settings": {"methods": ["saliency"], "correct": False, "output": "logit", "target": "0", "options": {}},
        "input": {"sha256": "ab" * 32, "path": "in.fa"}, "n_sequences": 2,
        "model": {"path": "default", "config": {"task": "classification"}},
        "seqsal_version": "0", "torch_version": "0",
    }


def test_explain_report_has_a_run_heading_not_a_stray_caption_and_says_how_it_ranks(tmp_path):
    from seqsal.explain.render import write_report

    top = pd.DataFrame({"id": ["a", "b"], "prediction": [2.0, 1.0]})
    text = write_report(tmp_path, explain_manifest(), top, []).read_text()
    assert "<caption>Run</caption>" not in text and "<h2>Run</h2>" in text
    assert "All 2 sequences, ranked by prediction (highest first" in text
    manifest = {**explain_manifest(), "n_sequences": 50}
    assert "The 2 highest predictions of 50, ranked" in write_report(tmp_path, manifest, top, []).read_text()


def test_evaluate_report_ranks_its_sequences_by_prediction_and_describes_the_selection(tmp_path):
    from seqsal.evaluate.report import describe_selection, write_report
    from seqsal.evaluate.run import EvaluationSettings

    table = pd.DataFrame({"method": ["saliency"], "check": ["deletion"], "metric": ["deletion_auc"],
                          "value": [0.2], "normalised": [np.nan], "sd": [0.1], "n": [3], "of": [3], "reason": [""]})
    evaluated = pd.DataFrame({"id": ["low", "high", "mid"], "prediction": [-5.0, 7.0, 1.0]})
    text = write_report(tmp_path / "report.html", tmp_path, table, [], EvaluationSettings(), evaluated, 3,
                        "no ground truth").read_text()
    assert "highest-scoring" not in text
    assert "all 3 sequences (predictions -5 to 7)" in text
    assert "Ranked by the model&#x27;s prediction" in text or "Ranked by the model's prediction" in text
    assert text.index("<td>high</td>") < text.index("<td>mid</td>") < text.index("<td>low</td>")
    assert ">nan<" not in text
    assert describe_selection(pd.Series([3.0, 2.0]), 10) == "the 2 highest predictions of 10 sequences (2 to 3)"


def test_evaluate_command_prints_a_formatted_table_without_nan():
    from seqsal.cli.evaluate import format_metrics

    table = pd.DataFrame({"method": ["saliency", "ism"], "check": ["deletion", "randomization"],
                          "metric": ["deletion_auc", ""], "value": [0.123456, np.nan], "normalised": [np.nan, np.nan],
                          "reason": ["", "ISM has no layers to randomise"]})
    text = format_metrics(table, "out")
    assert "nan" not in text.lower() and "0.123" in text and "0.123456" not in text
    assert "—" in text and "ISM has no layers" not in text


def find_chromium():
    import shutil

    return next((shutil.which(name) for name in ("chromium", "chromium-browser", "google-chrome")
                 if shutil.which(name)), None)


#: Reports must fit a laptop window this wide without a horizontal scroll bar on the page.
VIEWPORT = (1024, 768)
MEASURE = ("<script>window.addEventListener('load', () => { document.body.dataset.widths = "
           "[document.documentElement.scrollWidth, document.documentElement.clientWidth].join(' '); });</script>")


def page_widths(chromium, page):
    """(scroll width, viewport width) of ``page`` as headless Chromium lays it out."""
    import subprocess

    result = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", f"--window-size={VIEWPORT[0]},{VIEWPORT[1]}",
         "--virtual-time-budget=5000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=True)
    scroll, client = re.search(r'data-widths="(\d+) (\d+)"', result.stdout).groups()
    return int(scroll), int(client)


@pytest.mark.slow
@pytest.mark.skipif(find_chromium() is None, reason="no chromium binary found (apt-get install -y chromium); "
                                                    "the README's report check command needs it too")
def test_a_report_with_wide_tables_and_figures_fits_the_viewport_in_chromium(tmp_path):
    chromium = find_chromium()
    wide = pd.DataFrame(np.random.default_rng(0).normal(size=(5, 30)), columns=[f"rate_{i}_auroc" for i in range(30)])
    long_cell = pd.DataFrame({"adapter": ["ACGT" * 60], "note": ["no spaces here: " + "x" * 300]})
    fig, ax = plt.subplots(figsize=(22, 3))
    ax.plot([0, 1], [0, 1])
    report = (Report("wide").add_table(wide).add_table(long_cell).add_key_values({"input": "/very/long/" * 40})
              .add_figure(fig, caption="a 22-in figure"))
    page = tmp_path / "report.html"
    page.write_text(report.to_html().replace("</body>", MEASURE + "</body>"))
    scroll, client = page_widths(chromium, page)
    assert VIEWPORT[0] - 30 < client <= VIEWPORT[0]  # the viewport, less a vertical scroll bar
    assert scroll == client
    # The measurement can fail: the same page without the stylesheet (boxes, image widths) overflows.
    page.write_text(re.sub(r"<style>.*</style>", "", page.read_text(), flags=re.S))
    assert page_widths(chromium, page)[0] > VIEWPORT[0]
