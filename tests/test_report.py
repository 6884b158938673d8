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
