"""bigWig/bedGraph tracks of a bundle: every covered base equals the bundle's score under the overlap rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqsal.cli import main
from seqsal.errors import SeqsalError
from seqsal.explain import ExplainSettings, explain_bed
from seqsal.explain.export import TrackSettings, write_tracks
from seqsal.explain.seqlet_files import TABLE_COLUMNS
from seqsal.models import save_model
from seqsal.tracks import TrackWriter, equal_runs
from tests.synthetic_genome import (
    LENGTH,
    PEAKS,
    SIZES,
    expected_window,
    write_genome,
    write_peaks,
)

pyBigWig = pytest.importorskip("pyBigWig")


def brute_force(windows, rule: str) -> dict[tuple[str, int], np.ndarray]:
    """Per-base values by the rule's definition, base by base: {(chrom, position): values (K,)}."""
    covering: dict[tuple[str, int], list] = {}
    for order, (chrom, start, values, centre) in enumerate(windows):
        for j in range(values.shape[1]):
            covering.setdefault((chrom, start + j), []).append((abs(start + j - centre), order, values[:, j]))
    if rule == "mean":
        return {key: np.mean([v for _, _, v in found], axis=0) for key, found in covering.items()}
    return {key: min(found, key=lambda item: (item[0], item[1]))[2] for key, found in covering.items()}


def read_back(paths, sizes) -> dict[tuple[str, int], np.ndarray]:
    """Every base with a value in the bigWigs, as {(chrom, position): values (K,)}."""
    handles = [pyBigWig.open(str(path)) for path in paths]
    assert all(h.chroms() == sizes for h in handles)
    found = {}
    for chrom, size in sizes.items():
        columns = np.array([h.values(chrom, 0, size) for h in handles])
        for position in np.flatnonzero(~np.isnan(columns[0])):
            found[(chrom, int(position))] = columns[:, position]
    return found


@pytest.mark.parametrize("rule", ["midpoint", "mean"])
def test_writer_resolves_overlaps_by_the_rule(tmp_path, rule):
    rng = np.random.default_rng(1)
    sizes = {"a": 200, "b": 50}
    windows = [("a", 10, rng.normal(size=(2, 30)), 24.5), ("a", 20, rng.normal(size=(2, 30)), 34.5),
               ("a", 20, rng.normal(size=(2, 10)), 40.0),  # shorter, centre off its covered bases
               ("a", 35, rng.normal(size=(2, 30)), 49.5), ("a", 150, rng.normal(size=(2, 5)), 152.0),
               ("b", 0, rng.normal(size=(2, 50)), 10.0)]
    paths = [tmp_path / "x.bw", tmp_path / "y.bw"]
    writer = TrackWriter(paths, sizes, rule, bedgraph=tmp_path / "x.bedGraph")
    for window in windows:
        writer.add(*window)
    writer.close()
    expected, found = brute_force(windows, rule), read_back(paths, sizes)
    assert found.keys() == expected.keys()
    for key, values in expected.items():
        np.testing.assert_allclose(found[key], values, rtol=1e-6, atol=1e-7)
    graph = pd.read_csv(tmp_path / "x.bedGraph", sep="\t", header=None)
    for chrom, start, end, value in graph.itertuples(index=False):
        for position in range(start, end):
            assert expected[(chrom, position)][0] == pytest.approx(value, rel=1e-5, abs=1e-6)


def test_writer_refuses_unsorted_windows_and_unknown_chromosomes(tmp_path):
    writer = TrackWriter([tmp_path / "x.bw"], {"a": 100}, "midpoint")
    writer.add("a", 50, np.ones((1, 5)), 52.0)
    with pytest.raises(SeqsalError, match="sorted"):
        writer.add("a", 10, np.ones((1, 5)), 12.0)
    with pytest.raises(SeqsalError, match="not in the chromosome sizes"):
        writer.add("z", 10, np.ones((1, 5)), 12.0)
    writer.close()
    assert equal_runs(np.array([1.0, 1.0, 2.0])) == [(0, 2, 1.0), (2, 3, 2.0)]


@pytest.fixture
def bundle(tmp_path, tiny_model):
    genome, _ = write_genome(tmp_path)
    model = save_model(tiny_model, tmp_path / "m.pt")
    with pytest.warns(Warning):
        return explain_bed(write_peaks(tmp_path), genome, model, tmp_path / "bundle",
                           ExplainSettings(methods=("saliency", "grad_x_input"), n_logos=0), stranded=True,
                           progress=False), genome


def expected_tracks(bundle, method: str, rule: str):
    """The bundle's windows on the plus strand, derived from the peaks alone (not from scores.tsv)."""
    windows = []
    hypothetical = np.asarray(bundle.attributions[method])
    onehot = np.asarray(bundle.onehot)
    for i, peak in enumerate(PEAKS):
        first, backwards = expected_window(peak, stranded=True)
        values = np.concatenate([(hypothetical[i] * onehot[i]).sum(0, keepdims=True), hypothetical[i]])
        if backwards:  # column j is genome base first - j, complemented: reverse columns, complement A<->T, C<->G
            values = np.concatenate([values[:1], values[1:][::-1]])[:, ::-1]
            first = first - (LENGTH - 1)
        windows.append((peak[0], first, values, first + (LENGTH - 1) / 2))
    # drop bases off the chromosomes, as a browser track has none there
    return {key: v for key, v in brute_force(windows, rule).items() if 0 <= key[1] < SIZES[key[0]]}


@pytest.mark.parametrize("rule", ["midpoint", "mean"])
def test_bigwig_equals_the_bundle_scores_at_every_covered_base(bundle, tmp_path, rule):
    explained, _ = bundle
    out = write_tracks(explained.folder, tmp_path / rule, TrackSettings(per_base=True, overlap=rule), progress=False)
    for method in ("saliency", "grad_x_input"):
        paths = [out / f"{method}.bw", *(out / f"{method}.{base}.bw" for base in "ACGT")]
        found, expected = read_back(paths, SIZES), expected_tracks(explained, method, rule)
        assert found.keys() == expected.keys()
        for key, values in expected.items():
            np.testing.assert_allclose(found[key], values, rtol=1e-5, atol=1e-7, err_msg=str(key))


def test_tracks_cli_writes_bed_files_that_round_trip(bundle, tmp_path, capsys):
    explained, _ = bundle
    sizes = tmp_path / "chrom.sizes"
    sizes.write_text("".join(f"{name}\t{size}\n" for name, size in SIZES.items()) + "chrUnused\t10\n")
    # seqlets.tsv as seqsal writes it: 1-based inclusive positions in each record as given (model column j is
    # record base offset + j), the match strand relative to the record
    offset = explained.scores.set_index("id")["offset"]
    rows = [("plus_a", 0, 10, "+", "GATA1"), ("left_end", 0, 20, "+", "SP1"), ("plus_a", 5, 12, "-", "CTCF"),
            ("plus_a", 20, 27, ".", "unknown")]
    seqlets = pd.DataFrame([{column: "" for column in TABLE_COLUMNS} | {
        "id": record, "method": "saliency", "start": first + offset[record] + 1, "end": stop + offset[record],
        "strand": strand, "motif": motif} for record, first, stop, strand, motif in rows])
    seqlets.to_csv(explained.folder / "seqlets.tsv", sep="\t", index=False)
    out = tmp_path / "tracks"
    status = main(["tracks", str(explained.folder), "--out", str(out), "--method", "saliency",
                   "--chrom-sizes", str(sizes), "--overlap", "mean", "--quiet"])
    assert status == 0, capsys.readouterr().err
    assert pyBigWig.open(str(out / "saliency.bw")).chroms() == SIZES  # the header has the chromosomes used
    top = pd.read_csv(out / "top_positions.saliency.bed", sep="\t", header=None)
    scores = explained.scores.set_index("id")
    for chrom, start, end, name, _, strand in top.itertuples(index=False):
        record_id, rank = name.rsplit("#", 1)
        row = scores.loc[record_id]
        assert (chrom, strand, end - start) == (row["chrom"], row["strand"], 1)
        assert str(end) == row["top_genome_positions.saliency"].split(",")[int(rank) - 1]
    seqlets = pd.read_csv(out / "seqlets.bed", sep="\t", header=None)
    assert set(map(tuple, seqlets.iloc[:, [0, 1, 2, 3, 5]].values.tolist())) == {
        ("chr1", 100, 110, "plus_a:saliency:GATA1", "+"),  # plus_a: window chr1:100-140, columns 0..9
        ("chr1", 7, 27, "left_end:saliency:SP1", "-"),     # left_end: window -13..27 read backwards, columns 0..19 = 26..7
        ("chr1", 105, 112, "plus_a:saliency:CTCF", "-"),   # a match on the record's minus strand
        ("chr1", 120, 127, "plus_a:saliency:unknown", "."),  # unnamed: no orientation
    }
    manifest = (out / "manifest.json").read_text()
    assert '"rule": "mean"' in manifest


def test_tracks_need_coordinates_and_sizes(tmp_path, tiny_model, capsys):
    fasta = tmp_path / "x.fa"
    fasta.write_text(">chr1:100-140\n" + "ACGT" * 10 + "\n")
    model = save_model(tiny_model, tmp_path / "m.pt")
    assert main(["explain", str(fasta), "--model", str(model), "--out", str(tmp_path / "b"), "--quiet",
                 "--logos", "0"]) == 0
    assert main(["tracks", str(tmp_path / "b"), "--out", str(tmp_path / "t")]) == 2
    assert "records no chromosome sizes" in capsys.readouterr().err and not (tmp_path / "t").exists()
    genome, _ = write_genome(tmp_path)
    assert main(["tracks", str(tmp_path / "b"), "--out", str(tmp_path / "t"), "--genome", str(genome),
                 "--quiet"]) == 0
    values = pyBigWig.open(str(tmp_path / "t" / "saliency.bw")).values("chr1", 100, 140)
    assert not np.isnan(values).any()


def test_seqlets_of_genome_intervals_carry_their_genome_span_and_strand(tmp_path, tiny_model):
    """seqlets.tsv's genome columns against expected_window, which places model columns independently of seqsal."""
    genome, _ = write_genome(tmp_path)
    model = save_model(tiny_model, tmp_path / "m.pt")
    settings = ExplainSettings(methods=("saliency",), n_logos=0, seqlets=True, seqlet_p_threshold=0.2, seqlet_fdr=1)
    with pytest.warns(Warning):
        bundle = explain_bed(write_peaks(tmp_path), genome, model, tmp_path / "bundle", settings, stranded=True,
                             progress=False)
    seqlets = pd.read_csv(bundle.folder / "seqlets.tsv", sep="\t", dtype={"chrom": str})
    assert len(seqlets) >= 5 and list(seqlets.columns[-4:]) == ["chrom", "genome_start", "genome_end", "genome_strand"]
    peaks = {name: peak for peak in PEAKS for name in (peak[3], f"{peak[3]}_2")}
    offset = bundle.scores.set_index("id")["offset"]
    for row in seqlets.itertuples(index=False):
        peak = peaks[row.id]
        first, backward = expected_window(peak, stranded=True)
        columns = np.arange(row.start - 1 - offset[row.id], row.end - offset[row.id])
        positions = first - columns if backward else first + columns
        positions = positions[(positions >= 0) & (positions < SIZES[peak[0]])]
        if positions.size == 0:
            assert pd.isna(row.chrom)
            continue
        assert (row.chrom, row.genome_start, row.genome_end) == (peak[0], positions.min(), positions.max() + 1)
        expected_strand = {"+": "-", "-": "+", ".": "."}[row.strand] if backward else row.strand
        assert row.genome_strand == expected_strand

    # seqsal seqlets on the same bundle, then its table as the tracks' seqlets.bed: the BED rows are the genome
    # columns; a table that does not exist writes nothing
    again = tmp_path / "seqlets"
    assert main(["seqlets", str(bundle.folder), "--out", str(again), "--p-threshold", "0.2", "--fdr", "1",
                 "--no-names", "--quiet"]) == 0
    table = pd.read_csv(again / "seqlets.tsv", sep="\t", dtype={"chrom": str}).dropna(subset=["chrom"])
    tracks = tmp_path / "tracks"
    assert main(["tracks", str(bundle.folder), "--out", str(tracks), "--seqlets", str(again / "seqlets.tsv"),
                 "--quiet"]) == 0
    bed = pd.read_csv(tracks / "seqlets.bed", sep="\t", header=None, names=["chrom", "start", "end", "name", "score",
                                                                           "strand"])
    expected = sorted(zip(table["chrom"], table["genome_start"], table["genome_end"], table["id"] + ":saliency:unknown"))
    assert sorted(zip(bed["chrom"], bed["start"], bed["end"], bed["name"])) == expected and len(expected) >= 5
    assert main(["tracks", str(bundle.folder), "--out", str(tmp_path / "none"), "--seqlets",
                 str(tmp_path / "missing.tsv"), "--quiet"]) == 2
    assert not (tmp_path / "none").exists()
