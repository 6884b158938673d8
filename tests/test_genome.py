"""Peaks on a genome as explain input: BED reading, fetching, coordinates in scores.tsv, bad input, modisco-coords."""

from __future__ import annotations

import gzip
import json
import warnings

import numpy as np
import pandas as pd
import pytest
from Bio import bgzf

from seqsal import io
from seqsal.cli import main
from seqsal.encoding import decode
from seqsal.errors import SeqsalError, SeqsalWarning
from seqsal.explain import ExplainSettings, explain_bed, explain_fasta, load_bundle
from seqsal.explain.modisco import modisco_seqlets_bed
from seqsal.explain.records import header_location
from seqsal.genome import Genome, read_intervals, window
from seqsal.models import save_model
from tests.synthetic_genome import (
    LENGTH,
    PEAKS,
    SIZES,
    expected_sequence,
    expected_window,
    write_genome,
    write_peaks,
)

SETTINGS = ExplainSettings(methods=("saliency",), n_logos=0)


@pytest.fixture
def genome_run(tmp_path, tiny_model):
    """A synthetic genome, its peaks, the tiny model, and a stranded explain run of the peaks."""
    genome, sequences = write_genome(tmp_path)
    peaks = write_peaks(tmp_path)
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    with pytest.warns(SeqsalWarning, match="not sorted.*1 intervals repeat.*2 windows run off"):
        bundle = explain_bed(peaks, genome, model, tmp_path / "bundle", SETTINGS, stranded=True, progress=False)
    return bundle, sequences, tmp_path


def test_bed_records_hold_the_centred_stranded_windows_of_the_genome(genome_run):
    bundle, sequences, _ = genome_run
    assert decode(bundle.onehot) == [expected_sequence(peak, sequences, stranded=True) for peak in PEAKS]
    scores = bundle.scores
    assert list(scores["id"]) == [p[3] for p in PEAKS[:-1]] + ["minus_b_2"]
    left = scores.set_index("id").loc["left_end"]  # window [-13, 27) of chr1, read on the minus strand
    assert (left["chrom"], left["start"], left["end"], left["strand"], left["n_padded"]) == ("chr1", 0, 27, "-", 13)
    right = scores.set_index("id").loc["right_end"]  # window [105, 145) of chr2 (130 bases)
    assert (right["start"], right["end"], right["strand"], right["n_padded"]) == (105, 130, "+", 15)
    coordinates = bundle.manifest["coordinates"]
    assert coordinates["chrom_sizes"] == {"chr1": 400, "chr2": 130, "chrX": 90}
    assert (coordinates["sorted"], coordinates["n_duplicate_intervals"], coordinates["stranded"]) == (False, 1, True)
    assert bundle.manifest["renamed_ids"][0]["renamed_to"] == "minus_b_2"


def test_top_genome_positions_hold_the_bases_of_the_top_positions(genome_run):
    bundle, sequences, _ = genome_run
    for i, row in bundle.scores.iterrows():
        top = [int(p) for p in row["top_positions.saliency"].split(",")]
        genomic = [int(p) for p in row["top_genome_positions.saliency"].split(",")]
        assert len(top) == len(genomic) == 5
        for column, position in zip(top, genomic):
            base = decode(bundle.onehot[i : i + 1, :, column - 1 : column])[0]
            genome_base = sequences[row["chrom"]][position - 1].upper()
            assert base == (genome_base if row["strand"] == "+" else {"A": "T", "C": "G", "G": "C", "T": "A"}[genome_base])


def test_unstranded_run_reads_every_interval_on_the_plus_strand(tmp_path, tiny_model):
    genome, sequences = write_genome(tmp_path)
    peaks = write_peaks(tmp_path, PEAKS[:3])
    bundle = explain_bed(peaks, genome, save_model(tiny_model, tmp_path / "m.pt"), tmp_path / "b", SETTINGS,
                         progress=False)
    assert decode(bundle.onehot) == [expected_sequence(p, sequences, stranded=False) for p in PEAKS[:3]]
    assert set(bundle.scores["strand"]) == {"+"}


def test_narrowpeak_summit_centres_the_window_and_bed3_uses_the_middle(tmp_path):
    path = tmp_path / "p.bed"
    path.write_text("# comment\nchr1\t100\t200\nbrowser x\nchr1\t100\t200\tp\t0\t-\t1\t1\t1\t10\n")
    plain, summit = read_intervals(path)
    assert (plain.name, plain.strand, plain.summit, plain.line) == (None, ".", -1, 2)
    assert window(plain, 40) == (130, 170) and window(summit, 40) == (90, 130)


@pytest.mark.parametrize("line, message", [
    ("chr1\t100", "line 2: a BED line needs chrom, start and end"),
    ("chr1\tten\t20", "line 2: start and end must be whole numbers"),
    ("chr1\t-5\t20", "line 2: negative start -5"),
    ("chr1\t30\t30", "line 2: start 30 is not before end 30"),
    ("chr1\t10\t30\tp\t0\tx", "line 2: strand must be"),
    ("chr1\t10\t30\tp\t0\t+\t1\t1\t1\t25", "line 2: summit offset 25 lies outside"),
])
def test_bad_bed_lines_name_the_line(tmp_path, line, message):
    path = tmp_path / "bad.bed"
    path.write_text(f"chr1\t1\t2\n{line}\n")
    with pytest.raises(SeqsalError, match=message):
        list(read_intervals(path))


def test_cli_refuses_bad_input_with_one_line_and_writes_nothing(tmp_path, tiny_model, capsys):
    genome, _ = write_genome(tmp_path)
    model = save_model(tiny_model, tmp_path / "m.pt")
    bed = tmp_path / "p.bed"
    bed.write_text("chr1\t10\t50\nchr9\t1\t5\nchrUn\t1\t5\nchr1\t5\t2\n")
    out = tmp_path / "out"
    status = main(["explain", "--bed", str(bed), "--genome", str(genome), "--model", str(model), "--out", str(out),
                   "--quiet"])
    error = capsys.readouterr().err.strip()
    assert status == 2 and "line 4: start 5 is not before end 2" in error and len(error.splitlines()) == 1
    bed.write_text("chr1\t10\t50\nchr9\t1\t5\nchrUn\t1\t5\n")
    status = main(["explain", "--bed", str(bed), "--genome", str(genome), "--model", str(model), "--out", str(out),
                   "--quiet"])
    error = capsys.readouterr().err.strip()
    assert status == 2 and "2 chromosomes are not in the genome: chr9, chrUn" in error
    assert not out.exists()
    status = main(["explain", "--bed", str(bed), "--model", str(model), "--out", str(out)])
    assert status == 2 and "--bed and --genome go together" in capsys.readouterr().err


def test_genome_index_is_built_bgzip_is_read_and_plain_gzip_is_refused(tmp_path):
    genome, sequences = write_genome(tmp_path)
    reference = Genome(genome)
    assert (tmp_path / "genome.fa.fai").is_file() and reference.sizes == {"chr1": 400, "chr2": 130, "chrX": 90}
    bases, location = reference.fetch("chr2", 120, 140, "-")
    assert bases.upper() == (sequences["chr2"][120:] + "N" * 10).upper()[::-1].translate(str.maketrans("ACGTN", "TGCAN"))
    assert (location.start, location.end, location.pad_before, location.n_padded) == (120, 130, 10, 10)
    reference.close()
    packed = tmp_path / "genome.fa.gz"
    with bgzf.BgzfWriter(str(packed), "wb") as handle:
        handle.write(genome.read_bytes())
    assert Genome(packed).fetch("chrX", 5, 25)[0] == sequences["chrX"][5:25]
    plain = tmp_path / "plain.fa.gz"
    plain.write_bytes(gzip.compress(genome.read_bytes()))
    with pytest.raises(SeqsalError, match="not with bgzip.*bgzip"):
        Genome(plain)


@pytest.mark.parametrize("record_id, expected", [
    ("chr1:100-104", ("chr1", 100, 104, ".")),          # bedtools getfasta: 0-based, end-exclusive
    ("peak7::chr1:100-104(-)", ("chr1", 100, 104, "-")),
    ("chr1:101-104:+", ("chr1", 100, 104, "+")),        # samtools faidx: 1-based, inclusive
    ("enhancer_7", None),
])
def test_fasta_ids_give_coordinates(record_id, expected):
    location = header_location(io.Record(record_id, "ACGT"))
    assert (location[:4] if location else None) == expected


def test_coordinate_id_inconsistent_with_the_length_is_refused(tmp_path, tiny_model, capsys):
    with pytest.raises(SeqsalError, match="names 10 bases of chr1 but holds 4"):
        header_location(io.Record("chr1:100-110", "ACGT"))
    fasta = tmp_path / "x.fa"
    fasta.write_text(">chr1:100-140(-)\n" + "A" * 40 + "\n>plain\n" + "C" * 40 + "\n")
    bundle = explain_fasta(fasta, save_model(tiny_model, tmp_path / "m.pt"), tmp_path / "b", SETTINGS, progress=False)
    assert bundle.manifest["coordinates"] == {"source": "FASTA ids", "n_located": 1}
    row, plain = bundle.scores.iloc[0], bundle.scores.iloc[1]
    assert (row["chrom"], row["start"], row["end"], row["strand"], row["genome_offset"]) == ("chr1", 100, 140, "-", 0)
    assert pd.isna(plain["chrom"]) and pd.isna(plain["top_genome_positions.saliency"])


def test_predict_bed_prints_coordinates(tmp_path, tiny_model, capsys):
    genome, _ = write_genome(tmp_path)
    peaks = write_peaks(tmp_path, PEAKS[:4])
    status = main(["predict", "--bed", str(peaks), "--genome", str(genome), "--stranded",
                   "--model", str(save_model(tiny_model, tmp_path / "m.pt"))])
    captured = capsys.readouterr()
    table = pd.read_csv(pd.io.common.StringIO(captured.out), sep="\t")
    assert status == 0, captured.err
    assert list(table["strand"]) == ["+", "-", "+", "-"] and list(table["n_padded"]) == [0, 0, 0, 13]


def test_modisco_coords_map_seqlets_to_the_genome_bases_they_cover(genome_run):
    h5py = pytest.importorskip("h5py")
    bundle, _, folder = genome_run
    seqlets = {"example_idx": [0, 1, 5, 3], "start": [2, 0, 4, 0], "end": [12, 8, 20, 10],
               "is_revcomp": [False, True, False, False]}
    window, window_offset = 30, 5  # modisco keeps columns 5..34 of the 40
    with h5py.File(folder / "modisco.h5", "w") as results:
        results.attrs["window_size"] = window
        group = results.create_group("pos_patterns/pattern_0/seqlets")
        for key, values in seqlets.items():
            group.create_dataset(key, data=np.array(values))
    n = modisco_seqlets_bed(folder / "modisco.h5", bundle.folder, folder / "seqlets.bed")
    bed = pd.read_csv(folder / "seqlets.bed", sep="\t", header=None,
                      names=["chrom", "start", "end", "name", "score", "strand"])
    assert n == 4 and set(bed["name"]) == {"pos_patterns.pattern_0"}
    rows = set(bed[["chrom", "start", "end", "strand"]].itertuples(index=False, name=None))
    for example, start, end, revcomp in zip(*seqlets.values()):
        peak = PEAKS[example]
        first, backwards = expected_window(peak, stranded=True)
        positions = [first - c if backwards else first + c for c in range(start + window_offset, end + window_offset)]
        positions = [g for g in positions if 0 <= g < SIZES[peak[0]]]
        strand = "-" if backwards != revcomp else "+"
        assert (peak[0], min(positions), max(positions) + 1, strand) in rows


def test_merge_keeps_coordinates(genome_run, tmp_path):
    from seqsal.explain import merge_bundles

    bundle, _, _ = genome_run
    merged = merge_bundles([bundle.folder], tmp_path / "merged", n_logos=0)
    assert list(merged.scores["chrom"]) == list(bundle.scores["chrom"])
    assert merged.manifest["coordinates"]["chrom_sizes"] == bundle.manifest["coordinates"]["chrom_sizes"]
    assert json.loads((merged.folder / "manifest.json").read_text())["coordinates"]["source"] == ["BED"]


def test_unsorted_and_repeated_intervals_are_said_not_refused(tmp_path, tiny_model):
    genome, _ = write_genome(tmp_path)
    peaks = write_peaks(tmp_path, sorted(PEAKS[:3], key=lambda p: p[1]))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SeqsalWarning)  # sorted, distinct, inside: nothing to say
        bundle = explain_bed(peaks, genome, save_model(tiny_model, tmp_path / "m.pt"), tmp_path / "b", SETTINGS,
                             progress=False)
    assert load_bundle(bundle.folder).manifest["coordinates"]["sorted"] is True
    assert LENGTH == bundle.onehot.shape[-1]


@pytest.mark.slow
def test_workflow_explains_peaks_in_shards_and_ends_with_tracks(tmp_path, tiny_model):
    from tests.test_workflows import snakemake, write_config

    genome, _ = write_genome(tmp_path)
    peaks = write_peaks(tmp_path, PEAKS[:-1])  # ids are deduplicated per shard, so repeats must not span shards
    model = save_model(tiny_model, tmp_path / "m.pt")
    config = write_config(tmp_path, "explain", {
        "inputs": {"peaks": {"bed": str(peaks), "genome": str(genome), "stranded": True}},
        "outdir": str(tmp_path / "results"), "model": str(model), "methods": ["saliency"], "batch_size": 2,
        "shard_size": 4, "logos": 0, "modisco": False,
        # seqlets of the merged bundle, the gate off (the tiny model is random) and a loose threshold, so there are
        # some to put on the genome
        "seqlets": True, "seqlet_p": 0.2, "seqlet_fdr": 1})
    snakemake("explain", config, tmp_path)
    # one explain over the whole file, for comparison
    with pytest.warns(SeqsalWarning):
        whole = explain_bed(peaks, genome, model, tmp_path / "whole", ExplainSettings(methods=("saliency",),
                            n_logos=0, batch_size=2), stranded=True, progress=False)
    merged = load_bundle(tmp_path / "results" / "peaks" / "bundle")
    assert len(list((tmp_path / "results" / "peaks" / "shards").glob("shard_*.bed"))) == 2
    columns = ["chrom", "start", "end", "strand", "n_padded", "genome_offset", "top_genome_positions.saliency"]
    pd.testing.assert_frame_equal(merged.scores[columns], whole.scores[columns])
    np.testing.assert_array_equal(merged.attributions["saliency"], whole.attributions["saliency"])
    tracks = tmp_path / "results" / "peaks" / "tracks"
    assert (tracks / "saliency.bw").is_file() and (tracks / "top_positions.saliency.bed").is_file()
    seqlets = pd.read_csv(tmp_path / "results" / "peaks" / "seqlets" / "seqlets.tsv", sep="\t", dtype={"chrom": str})
    bed = pd.read_csv(tracks / "seqlets.bed", sep="\t", header=None)
    assert len(bed) == seqlets["chrom"].notna().sum() >= 3
    assert set(bed[0]) <= set(seqlets["chrom"]) and (bed[2] > bed[1]).all()


def test_report_shows_each_record_location_in_one_column(genome_run):
    """The report's predictions table: chrom:start-end(strand) per record; the six coordinate columns and the
    genome copies of the top positions stay in scores.tsv, so the table fits a screen."""
    bundle, _, _ = genome_run
    page = (bundle.folder / "report.html").read_text()
    table = page[page.index("<h2>Predictions</h2>"):]
    table = table[:table.index("</table>")]
    assert "<th>location</th>" in table and "top_genome_positions" not in table and "<th>genome_offset</th>" not in table
    scores = bundle.scores.set_index("id")
    for record in ("plus_a", "minus_b", "left_end"):
        row = scores.loc[record]
        assert f"<td>{row['chrom']}:{row['start']}-{row['end']}({row['strand']})</td>" in table


def test_coordinates_after_the_id_in_a_fasta_header_place_the_record(tmp_path, tiny_model):
    fasta = tmp_path / "x.fa"
    fasta.write_text(">peak7 chr1:100-140(-)\n" + "A" * 40 + "\n>peak8 some words\n" + "C" * 40 + "\n")
    bundle = explain_fasta(fasta, save_model(tiny_model, tmp_path / "m.pt"), tmp_path / "b", SETTINGS, progress=False)
    assert bundle.scores["id"].tolist() == ["peak7", "peak8"]
    row = bundle.scores.iloc[0]
    assert (row["chrom"], row["start"], row["end"], row["strand"]) == ("chr1", 100, 140, "-")
    assert pd.isna(bundle.scores.iloc[1]["chrom"])


def test_split_shards_keep_the_coordinates_after_the_id(tmp_path):
    """The workflow explains shards, so a header's coordinates must survive seqsal split."""
    fasta = tmp_path / "x.fa"
    fasta.write_text("".join(f">peak{i} chr1:{100 + i}-{104 + i}\nACGT\n" for i in range(3)))
    assert main(["split", str(fasta), "--shard-size", "2", "--out", str(tmp_path / "shards")]) == 0
    shards = sorted((tmp_path / "shards").glob("shard_*.fa"))
    records = [record for shard in shards for record in io.read_fasta(shard)]
    assert [io.record_coordinates(r) for r in records] == [("chr1", 100 + i, 104 + i, None) for i in range(3)]
