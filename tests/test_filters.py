"""First-layer filter analysis: window alignment, site thresholds, PFMs, Tomtom matching, files and CLI."""

from __future__ import annotations

import importlib.util
import json
import sys

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from seqsal import motif_compare
from seqsal.views import filters as F
from seqsal.cli import main
from seqsal.encoding import ALPHABET, one_hot
from seqsal.errors import SeqsalError
from seqsal.models import EnhancerCNN, ModelConfig, save_model
from seqsal.motifs import MotifDatabase
from tests.conftest import TINY, random_sequences, randomized_batchnorm


def _identity_batchnorm(model: EnhancerCNN) -> None:
    """Batch norm that passes values through exactly (eps 0, unit variance), so activations are hand-computable."""
    bn = model.blocks[0][1]
    bn.eps = 0.0
    bn.running_mean.zero_()
    bn.running_var.fill_(1.0)
    bn.weight.data.fill_(1.0)
    bn.bias.data.zero_()


def _tiny(kernel: int, activation: str = "relu", length: int = 40, filters: int = 6) -> EnhancerCNN:
    torch.manual_seed(kernel)
    config = ModelConfig(input_length=length, conv_channels=(filters, 4), kernel_sizes=(kernel, 3),
                         dense_units=(8,), dropout=0.0, activation=activation)
    return randomized_batchnorm(EnhancerCNN(config), seed=kernel).eval()


def _brute_force(model: EnhancerCNN, X: np.ndarray, fraction: float):
    """Sites by an explicit loop over window starts, with conv, batch norm and activation written out in float64."""
    conv, bn = model.blocks[0][0], model.blocks[0][1]
    W = conv.weight.detach().double().numpy()
    b = conv.bias.detach().double().numpy()
    scale = bn.weight.detach().double().numpy() / np.sqrt(bn.running_var.double().numpy() + bn.eps)
    shift = bn.bias.detach().double().numpy() - bn.running_mean.double().numpy() * scale
    act = {"relu": lambda v: np.maximum(v, 0), "exp": np.exp}[model.config.activation]
    k = W.shape[2]
    windows, values = [], []
    for n in range(X.shape[0]):
        for start in range(X.shape[2] - k + 1):
            window = X[n, :, start:start + k].astype(np.float64)
            if (window.sum(axis=0) == 0).any():
                continue  # holds an N
            pre = (W * window).sum(axis=(1, 2)) + b
            windows.append(window)
            values.append(act(pre * scale + shift))
    values = np.array(values)  # (windows, F)
    maxima = values.max(axis=0)
    counts = np.zeros((W.shape[0], 4, k))
    n_sites = np.zeros(W.shape[0], dtype=int)
    for window, value in zip(windows, values):
        hit = (value >= fraction * maxima) & (maxima > 0)
        counts[hit] += window
        n_sites += hit
    return counts, n_sites, maxima


@pytest.mark.parametrize("kernel,activation", [(5, "relu"), (4, "exp"), (6, "relu")])
def test_sites_match_a_brute_force_window_loop_for_odd_and_even_kernels(kernel, activation):
    model = _tiny(kernel, activation)
    sequences = random_sequences(12, 40, seed=kernel)
    sequences[3] = sequences[3][:17] + "N" + sequences[3][18:]  # windows over position 17 are not eligible
    sequences[5] = "NN" + sequences[5][2:]
    X = one_hot(sequences)
    expected_counts, expected_sites, expected_max = _brute_force(model, X, 0.5)
    model.train()
    result = F.filter_pfms(model, X, 0.5, device="cpu", batch_size=5)
    assert model.training  # mode restored
    np.testing.assert_array_equal(result.n_sites, expected_sites)
    np.testing.assert_array_equal(result.counts, expected_counts)
    np.testing.assert_allclose(result.max_activation, expected_max, rtol=1e-5)
    assert result.n_windows == 12 * (40 - kernel + 1) - kernel - 2  # one N kills k windows, the NN start 2
    assert result.counts.sum(axis=1).tolist() == [[n] * kernel for n in expected_sites]


def test_results_do_not_depend_on_batch_size_or_on_streaming():
    model = _tiny(7, "exp")
    X = one_hot(random_sequences(30, 40, seed=3))
    whole = F.filter_pfms(model, X, device="cpu", batch_size=64)
    single = F.filter_pfms(model, X, device="cpu", batch_size=1)
    streamed = F.filter_pfms(model, lambda: (X[i:i + 7] for i in range(0, 30, 7)), device="cpu", batch_size=4)
    for other in (single, streamed):
        np.testing.assert_array_equal(other.counts, whole.counts)
        np.testing.assert_array_equal(other.n_sites, whole.n_sites)
        # Convolution kernels may sum in another order for another batch shape: maxima agree to float32 rounding.
        np.testing.assert_allclose(other.max_activation, whole.max_activation, rtol=1e-6)
    assert streamed.n_sequences == 30


def test_plain_sequential_model_with_numeric_padding_aligns_windows():
    # padding=2 with k=4 gives L + 1 outputs; output l reads input [l - 2, l + 2).
    torch.manual_seed(1)
    conv = nn.Conv1d(4, 3, 4, padding=2)
    model = nn.Sequential(conv, nn.ReLU(), nn.MaxPool1d(2), nn.Flatten(), nn.Linear(3 * 10, 1)).eval()
    X = one_hot(random_sequences(5, 20, seed=2))
    W, b = conv.weight.detach().double().numpy(), conv.bias.detach().double().numpy()
    values = np.array([np.maximum((W * X[n, :, s:s + 4]).sum(axis=(1, 2)) + b, 0)
                       for n in range(5) for s in range(17)])
    windows = [X[n, :, s:s + 4] for n in range(5) for s in range(17)]
    result = F.filter_pfms(model, X, 0.7, device="cpu")
    hits = values >= 0.7 * values.max(axis=0)
    np.testing.assert_array_equal(result.n_sites, hits.sum(axis=0))
    expected = np.einsum("wf,wck->fck", hits.astype(float), np.array(windows))
    np.testing.assert_array_equal(result.counts, expected)


def _pattern_model(pattern: str) -> EnhancerCNN:
    """Filter 0 counts matches to ``pattern`` (integer activations); filter 1 never fires (ReLU of negatives)."""
    config = ModelConfig(input_length=12, conv_channels=(2, 2), kernel_sizes=(len(pattern), 3), dense_units=(),
                         dropout=0.0)
    model = EnhancerCNN(config).eval()
    conv = model.blocks[0][0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.bias.zero_()
        conv.weight[0] = torch.as_tensor(one_hot(pattern)[0])
        conv.weight[1] = -1.0
    _identity_batchnorm(model)
    return model


def test_threshold_is_inclusive_and_fraction_one_keeps_only_the_maximum():
    model = _pattern_model("ACGT")
    sequences = ["TTACGTTTTTTT",  # one perfect ACGT: the maximum, 4
                 "TTACTTGGGTTT",  # AC.. : exactly 2 matches = 0.5 * 4
                 "TTTTTTTTTTTT"]  # every window has at most 1 match (the T)
    X = one_hot(sequences)
    matches = np.array([[sum(a == b for a, b in zip(s[i:i + 4], "ACGT")) for i in range(9)] for s in sequences])

    half = F.filter_pfms(model, X, 0.5, device="cpu")
    assert half.max_activation[0] == 4.0 and half.thresholds[0] == 2.0
    assert half.n_sites[0] == (matches >= 2).sum() > (matches >= 3).sum()  # windows exactly at 2 count
    just_above = F.filter_pfms(model, X, 0.5001, device="cpu")
    assert just_above.n_sites[0] == (matches >= 3).sum()

    top = F.filter_pfms(model, X, 1.0, device="cpu")
    assert top.n_sites[0] == 1
    np.testing.assert_array_equal(top.counts[0], one_hot("ACGT")[0])
    assert top.consensus()[0] == "ACGT"
    # The dead filter: maximum 0, so no threshold and no sites rather than every window.
    assert half.max_activation[1] == 0.0 and np.isnan(half.thresholds[1]) and half.n_sites[1] == 0
    assert half.consensus()[1] == "" and half.information_content()[1].sum() == 0.0


def test_probabilities_use_the_pseudocount_and_information_content_follows():
    model = _pattern_model("ACGT")
    X = one_hot(["TTACGTTTTTTT"] * 3)
    pfms = F.filter_pfms(model, X, 1.0, pseudocount=0.5, device="cpu")
    assert pfms.n_sites[0] == 3
    p = pfms.probabilities[0]
    np.testing.assert_allclose(p[:, 0], [3.5 / 5, 0.5 / 5, 0.5 / 5, 0.5 / 5])
    np.testing.assert_allclose(pfms.information_content()[0, 0],
                               2 + 0.7 * np.log2(0.7) + 3 * 0.1 * np.log2(0.1))
    np.testing.assert_allclose(pfms.probabilities[1], 0.25)  # no sites: uniform


@pytest.fixture(scope="module")
def gata_model_and_data():
    """Filter 0 carries GATA1's log-odds; half the sequences carry a GATA1 site sampled from its matrix."""
    gata1 = MotifDatabase.default().get("GATA1")
    config = ModelConfig(input_length=40, conv_channels=(3, 4), kernel_sizes=(gata1.width, 3), dense_units=(8,),
                         dropout=0.0)
    torch.manual_seed(0)
    model = EnhancerCNN(config).eval()
    with torch.no_grad():
        model.blocks[0][0].weight[0] = torch.as_tensor(gata1.log_odds(), dtype=torch.float32)
        model.blocks[0][0].bias.zero_()
    _identity_batchnorm(model)
    rng = np.random.default_rng(1)
    sequences = []
    for i in range(120):
        bases = list(rng.choice(list(ALPHABET), 40))
        if i % 2 == 0:
            site = [ALPHABET[rng.choice(4, p=gata1.pwm[:, j])] for j in range(gata1.width)]
            start = rng.integers(0, 40 - gata1.width)
            bases[start:start + gata1.width] = site
        sequences.append("".join(bases))
    return model, gata1, sequences


def test_gata1_filter_is_recovered_and_matched_to_gata1(gata_model_and_data):
    model, gata1, sequences = gata_model_and_data
    pfms = F.filter_pfms(model, one_hot(sequences), device="cpu")
    assert 50 <= pfms.n_sites[0] <= 70  # about one site per planted sequence
    assert pfms.consensus()[0] == gata1.consensus
    table = F.match_filters(pfms, min_sites=10)
    row = table.iloc[0]
    assert row["match_name"] == "Gata1" and row["match_id"] == gata1.id
    assert row["q_value"] < 1e-6 and row["matched"] == "yes"
    assert (row["orientation"], row["offset"], row["overlap"]) == ("+", 0, gata1.width)
    assert list(table.columns) == list(F.TABLE_COLUMNS)


def test_q_values_are_benjamini_hochberg_over_the_filters_comparisons(gata_model_and_data):
    from memelite import tomtom

    model, _, sequences = gata_model_and_data
    pfms = F.filter_pfms(model, one_hot(sequences), device="cpu")
    database = MotifDatabase.default()
    table = F.match_filters(pfms, database, min_sites=1)
    tested = np.flatnonzero(pfms.n_sites >= 1)
    assert tested.size >= 2  # the GATA1 filter and at least one random one
    p_values = tomtom([pfms.probabilities[i] for i in tested], [m.pwm for m in database])[0]
    for row, index in enumerate(tested):
        p = p_values[row]
        m = p.size
        ranked = np.sort(p)
        best_q = min(min(ranked[r] * m / (r + 1) for r in range(m)), 1.0)  # BH q of the smallest p
        assert table.loc[index, "p_value"] == pytest.approx(p.min())
        assert table.loc[index, "q_value"] == pytest.approx(best_q)
        assert (table.loc[index, "matched"] == "yes") == (best_q < 0.05)


def test_best_match_columns_come_from_the_best_target_and_q_is_step_up(monkeypatch):
    """With two near-equal p-values the step-up BH q (p2 * m / 2) is below Bonferroni's p1 * m."""
    motifs = list(MotifDatabase.default())[:30]
    database = MotifDatabase(motifs)
    p = np.full((1, 30), 0.5)
    p[0, 3], p[0, 7] = 0.001, 0.0011
    offsets, overlaps, strands = np.zeros((1, 30)), np.full((1, 30), 4.0), np.zeros((1, 30))
    offsets[0, 3], overlaps[0, 3], strands[0, 3] = -2, 5, 1
    calls = []

    def fake_tomtom(queries, targets):
        calls.append((len(queries), len(targets)))
        return p, np.zeros_like(p), offsets, overlaps, strands

    monkeypatch.setattr(motif_compare, "load_tomtom", lambda purpose: fake_tomtom)
    pfms = F.filter_pfms(_pattern_model("ACGT"), one_hot(["TTACGTTTTTTT"] * 3), 1.0, device="cpu")
    table = F.match_filters(pfms, database, min_sites=1, q_threshold=0.02)
    assert calls == [(1, 30)]  # only the filter with sites is compared, against every target
    row = table.iloc[0]
    assert (row["match_id"], row["match_name"]) == (motifs[3].id, motifs[3].name)
    assert row["p_value"] == 0.001 and row["q_value"] == pytest.approx(0.0011 * 30 / 2)
    assert (row["offset"], row["overlap"], row["orientation"], row["matched"]) == (-2, 5, "-", "yes")


def test_filters_with_too_few_sites_are_listed_but_not_matched(gata_model_and_data):
    model, _, sequences = gata_model_and_data
    pfms = F.filter_pfms(model, one_hot(sequences), device="cpu")
    min_sites = int(pfms.n_sites[0]) + 1
    table = F.match_filters(pfms, min_sites=min_sites)
    untested = table[table["n_sites"] < min_sites]
    assert 0 in untested.index
    assert (untested["match_id"] == "").all() and (untested["matched"] == "no").all()
    assert untested["q_value"].isna().all() and untested["offset"].isna().all()
    summary = F.summarize(table)
    assert summary["n_filters"] == 3 and summary["n_tested"] == int((pfms.n_sites >= min_sites).sum())


def test_meme_file_round_trips_through_the_motif_reader(tmp_path):
    model = _pattern_model("ACGT")
    pfms = F.filter_pfms(model, one_hot(random_sequences(20, 12, seed=4)), 0.5, device="cpu")
    path = tmp_path / "filters.meme"
    path.write_text(F.meme_text(pfms))
    database = MotifDatabase.from_file(path)
    assert [m.id for m in database] == ["filter_0"]  # the dead filter has no PFM to write
    motif = database.get("filter_0")
    assert motif.name == pfms.consensus()[0]
    # Biopython rebuilds counts as round(p * nsites): equal to within half a site.
    np.testing.assert_allclose(motif.pwm, pfms.probabilities[0], atol=0.5 / pfms.n_sites[0] + 1e-6)


def test_logo_letter_heights_are_information_content():
    import matplotlib.pyplot as plt

    p = np.array([[1.0, 0.25, 0.5], [0.0, 0.25, 0.5], [0.0, 0.25, 0.0], [0.0, 0.25, 0.0]])
    # column 1: one base, 2 bits; column 2 (uniform): 0 bits; column 3: two bases, 1 bit shared
    expected = np.array([[2.0, 0.0, 0.5], [0.0, 0.0, 0.5], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    np.testing.assert_allclose(F.information_matrix(p), expected, atol=1e-12)
    ax = F.plot_filter_logo(p)
    assert ax.get_ylim() == (0, 2) and ax.get_ylabel() == "bits"
    plt.close(ax.figure)


def test_errors_name_the_problem(monkeypatch):
    X = one_hot(random_sequences(3, TINY.input_length, seed=0))
    model = EnhancerCNN(TINY).eval()
    for fraction in (0, -0.1, 1.5):
        with pytest.raises(SeqsalError, match="fraction must be a number in \\(0, 1\\]"):
            F.filter_pfms(model, X, fraction)
    with pytest.raises(SeqsalError, match="has no Conv1d"):
        F.filter_pfms(nn.Sequential(nn.Flatten(), nn.Linear(160, 1)), X)
    with pytest.raises(SeqsalError, match="reads 5 channels"):
        F.filter_pfms(nn.Sequential(nn.Conv1d(5, 2, 3), nn.ReLU()), X)
    with pytest.raises(SeqsalError, match="X is empty"):
        F.filter_pfms(model, np.zeros((0, 4, 40), dtype=np.float32))
    with pytest.raises(SeqsalError, match="no sequences were given"):
        F.filter_pfms(model, lambda: iter(()))
    with pytest.raises(SeqsalError, match="not one-hot"):
        F.filter_pfms(model, X * 0.5)
    with pytest.raises(SeqsalError, match="no window of 5 bases without N"):
        F.filter_pfms(model, one_hot(["ACNGTACNGT" * 4]))
    pfms = F.filter_pfms(model, X, device="cpu")
    monkeypatch.setitem(sys.modules, "memelite", None)
    with pytest.raises(SeqsalError, match=r"pip install 'seqsal\[motifs\]'"):
        F.match_filters(pfms, min_sites=1)


def _gata_files(tmp_path, gata_model_and_data):
    model, _, sequences = gata_model_and_data
    model_path = save_model(model, tmp_path / "model.pt")
    fasta = tmp_path / "seqs.fa"
    fasta.write_text("".join(f">s{i}\n{s}\n" for i, s in enumerate(sequences)))
    return model_path, fasta


def test_cli_writes_table_meme_logos_report_and_manifest(tmp_path, gata_model_and_data, capsys):
    model_path, fasta = _gata_files(tmp_path, gata_model_and_data)
    out = tmp_path / "out"
    status = main(["filters", "--model", str(model_path), "--fasta", str(fasta), "--out", str(out),
                   "--min-sites", "20", "--device", "cpu", "--threads", "1"])
    assert status == 0
    assert "filters match a known motif" in capsys.readouterr().err
    table = pd.read_csv(out / "filters.tsv", sep="\t", keep_default_na=False)
    assert list(table.columns) == list(F.TABLE_COLUMNS)
    assert table.loc[0, "match_name"] == "Gata1" and table.loc[0, "matched"] == "yes"
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["tool"] == "seqsal" and manifest["kind"] == "filters" and manifest["complete"]
    # The command is the one main() was given, not whatever sys.argv holds.
    assert manifest["command"][:2] == ["seqsal", "filters"] and "--min-sites" in manifest["command"]
    from seqsal.io import file_sha256

    assert manifest["model"]["sha256"] == file_sha256(model_path)
    assert manifest["input"]["sha256"] == file_sha256(fasta)
    assert manifest["parameters"]["min_sites"] == 20 and manifest["parameters"]["fraction"] == 0.5
    assert manifest["first_layer"] == {"name": "blocks.0.0", "stages": ["BatchNorm1d", "ReLU"], "kernel_size": 11,
                                       "n_filters": 3}
    assert manifest["summary"]["n_matched"] == int((table["matched"] == "yes").sum())
    assert (out / "filter_logos.png").read_bytes().startswith(b"\x89PNG")
    assert "MOTIF filter_0 " in (out / "filters.meme").read_text()
    assert "Gata1" in (out / "report.html").read_text()


def test_cli_length_fit_and_user_errors(tmp_path, capsys):
    model = _tiny(5)
    model_path = save_model(model, tmp_path / "model.pt")
    fasta = tmp_path / "short.fa"
    fasta.write_text("".join(f">r{i}\n{s}\n" for i, s in enumerate(random_sequences(15, 30, seed=5))))
    args = ["filters", "--model", str(model_path), "--fasta", str(fasta), "--device", "cpu", "--min-sites", "1000"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 2
    assert "(--fit on the command line)" in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "b"), "--fit"]) == 0
    table = pd.read_csv(tmp_path / "b" / "filters.tsv", sep="\t", keep_default_na=False)
    assert (table["match_id"] == "").all()  # nothing reaches 1000 sites, so nothing is matched
    # A folder of another kind of run is refused before any work; a filters folder is replaced.
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "manifest.json").write_text(json.dumps({"tool": "seqsal", "kind": "dream"}))
    assert main(args + ["--out", str(tmp_path / "other"), "--fit"]) == 2
    assert "dream run" in capsys.readouterr().err
    assert main(args + ["--out", str(tmp_path / "b"), "--fit"]) == 0
    assert main(args + ["--out", str(tmp_path / "e"), "--fit", "--layer", "blocks.1.0"]) == 2
    assert "layer 'blocks.1.0' is not a Conv1d that reads the input of model.pt" in capsys.readouterr().err
    assert not (tmp_path / "e").exists()
    empty = tmp_path / "empty.fa"
    empty.write_text("")
    assert main(["filters", "--model", str(model_path), "--fasta", str(empty), "--out", str(tmp_path / "c")]) == 2
    assert "empty" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(args + ["--out", str(tmp_path / "d"), "--fraction", "0"])
    assert exit_info.value.code == 2


# --------------------------------------------------------------------------- users' models: graphs, not modules
RESIDUAL = '''
import torch
from torch import nn


class Residual(nn.Module):
    """The first convolution sits in no nn.Sequential; its ReLU output feeds both a convolution and a sum."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv1d(4, 5, 5, padding=2)
        self.body = nn.Conv1d(5, 5, 3, padding=1)
        self.head = nn.Linear(5, 1)

    def forward(self, x):
        h = torch.relu(self.stem(x))
        h = h + torch.relu(self.body(h))
        return self.head(h.mean(dim=2))
'''


def test_a_residual_models_first_layer_is_relu_of_its_stem_convolution(tmp_path):
    from seqsal.models import load_model

    code = tmp_path / "residual.py"
    code.write_text(RESIDUAL)
    spec = importlib.util.spec_from_file_location("residual_for_filters", code)
    residual = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(residual)
    torch.manual_seed(0)
    torch.save(residual.Residual().state_dict(), tmp_path / "weights.pt")
    model = load_model(code=f"{code}:Residual", weights=tmp_path / "weights.pt", length=30, device="cpu")
    layer = F.first_layer(model)
    assert (layer.name, layer.stages, layer.kernel_size, layer.n_filters) == ("stem", ("relu",), 5, 5)
    assert (layer.left_pad, layer.right_pad) == (2, 2)
    x = torch.from_numpy(one_hot(random_sequences(4, 30, seed=8)))
    stem = model.network.stem
    by_hand = nn.functional.conv1d(x, stem.weight, stem.bias, padding=2)
    assert (by_hand < 0).any()  # the ReLU has something to do
    with torch.no_grad():
        torch.testing.assert_close(layer(x), torch.relu(by_hand), rtol=0, atol=0)
    pfms = F.filter_pfms(model, x.numpy(), device="cpu")
    assert pfms.n_windows == 4 * (30 - 5 + 1) and pfms.n_sites.sum() > 0


def _plain_sequential() -> nn.Sequential:
    torch.manual_seed(3)
    model = nn.Sequential(nn.Conv1d(4, 6, 5, padding=2), nn.BatchNorm1d(6), nn.ReLU(inplace=True), nn.MaxPool1d(2),
                          nn.Flatten(), nn.Linear(6 * 10, 1))
    with torch.no_grad():  # statistics far from the defaults, so batch norm changes which windows count
        model[1].running_mean.uniform_(-1, 1)
        model[1].running_var.uniform_(0.5, 2)
        model[1].weight.uniform_(0.5, 2)
    return model.eval()


@pytest.mark.slow
def test_an_exported_program_gives_the_same_pfms_as_the_module_it_was_exported_from(tmp_path):
    from seqsal.models import load_model

    model = _plain_sequential()
    program = torch.export.export(model, (torch.zeros(3, 4, 20),), dynamic_shapes=({0: torch.export.Dim("batch")},))
    torch.export.save(program, tmp_path / "plain.pt2")
    loaded = load_model(tmp_path / "plain.pt2", device="cpu")
    layer = F.first_layer(loaded)
    assert (layer.name, layer.stages) == ("0", ("batch_norm", "relu_"))  # ReLU(inplace=True) stays in place
    assert (layer.kernel_size, layer.n_filters, layer.left_pad, layer.right_pad) == (5, 6, 2, 2)
    X = one_hot(random_sequences(11, 20, seed=6))
    exported = F.filter_pfms(loaded, X, 0.6, device="cpu", batch_size=4)  # batches of 4 and 3 through a Dim
    in_memory = F.filter_pfms(model, X, 0.6, device="cpu", batch_size=4)
    assert F.first_layer(model).stages == ("BatchNorm1d", "ReLU")
    assert in_memory.n_sites.sum() > 0
    np.testing.assert_array_equal(exported.counts, in_memory.counts)
    np.testing.assert_array_equal(exported.n_sites, in_memory.n_sites)
    np.testing.assert_array_equal(exported.max_activation, in_memory.max_activation)


def test_padding_before_the_convolution_and_an_nlc_network_are_accounted_for():
    from seqsal.models import load_model

    class PaddedNLC(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(4, 3, 6, padding="same")  # pads 2 before and 3 after
            self.head = nn.Linear(3, 1)

        def forward(self, x):  # x: (N, L, 4)
            h = nn.functional.pad(x.transpose(1, 2), (1, 2))
            h = nn.functional.leaky_relu(self.conv(h) * 2.0, 0.1)
            return self.head(nn.functional.max_pool1d(h, 2).mean(dim=2))

    torch.manual_seed(2)
    network = PaddedNLC().eval()
    model = load_model(network, input_layout="NLC", length=20, device="cpu")
    layer = F.first_layer(model)
    assert (layer.left_pad, layer.right_pad, layer.input_layout) == (3, 5, "NLC")
    assert layer.stages == ("mul", "leaky_relu")
    X = one_hot(random_sequences(3, 20, seed=1))
    x = torch.from_numpy(X)
    conv = network.conv
    by_hand = nn.functional.leaky_relu(nn.functional.conv1d(nn.functional.pad(x, (3, 5)), conv.weight, conv.bias)
                                       * 2.0, 0.1)
    with torch.no_grad():
        torch.testing.assert_close(layer(x), by_hand)
    assert F.filter_pfms(model, X, device="cpu").n_windows == 3 * (20 - 6 + 1)  # windows inside the sequence only


def test_layer_picks_among_the_convolutions_that_read_the_input():
    class TwoWidths(nn.Module):
        def __init__(self):
            super().__init__()
            self.narrow, self.wide = nn.Conv1d(4, 2, 3, padding=1), nn.Conv1d(4, 2, 7, padding=3)
            self.mix = nn.Conv1d(4, 1, 1)

        def forward(self, x):
            both = torch.cat([torch.relu(self.narrow(x)), torch.exp(self.wide(x))], dim=1)
            return self.mix(both).mean(dim=2)

    model = TwoWidths()
    assert F.first_layer(model).name == "narrow"
    wide = F.first_layer(model, "wide")
    assert (wide.kernel_size, wide.left_pad, wide.stages) == (7, 3, ("exp",))
    assert F.filter_pfms(model, one_hot(random_sequences(2, 12, seed=0)), layer="wide", device="cpu").kernel_size == 7
    with pytest.raises(SeqsalError, match="layer 'mix' is not a Conv1d that reads the input of TwoWidths; those "
                                          "that do: narrow, wide"):
        F.first_layer(model, "mix")
    with pytest.raises(SeqsalError, match="no Conv1d of Sequential reads the input directly"):
        F.first_layer(nn.Sequential(nn.AvgPool1d(2), nn.Conv1d(4, 2, 3)))


def test_torchscript_is_refused_with_what_would_work(tmp_path):
    from seqsal.models import load_model

    torch.jit.save(torch.jit.script(_plain_sequential()), tmp_path / "plain.ts")
    model = load_model(tmp_path / "plain.ts", length=20, device="cpu")
    with pytest.raises(SeqsalError, match=r"plain.ts is a TorchScript model, whose layers filter analysis cannot "
                                          r"follow; load the same network as a torch.export program \(.pt2\) or "
                                          r"from its code and weights \(code=, weights=\)"):
        F.filter_pfms(model, one_hot(random_sequences(2, 20, seed=0)), device="cpu")
