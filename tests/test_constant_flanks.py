"""Pitfall constant-flanks: attribution on positions identical in every sequence (MPRA adapters)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqsal.attribution import attribute, per_position
from seqsal.cli import main
from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError
from seqsal.experiments.pitfalls import constant_flanks, constant_positions
from seqsal.models import save_model
from tests.conftest import TINY, random_sequences

LEFT, RIGHT = "AGGACCGG", "CATTGCGT"


def flanked(n: int, seed: int = 3) -> list[str]:
    return [LEFT + core + RIGHT for core in random_sequences(n, TINY.input_length - 16, seed=seed)]


def test_constant_positions_hand_made():
    X = one_hot(["ACGTA", "ACCTA", "ACGTN"])
    np.testing.assert_array_equal(constant_positions(X), [True, True, False, True, False])


def test_shares_are_the_attribution_on_the_flanks(tiny_model):
    X = one_hot(flanked(12))
    result = constant_flanks(tiny_model, X)
    expected = np.zeros(TINY.input_length, bool)
    expected[:8] = expected[-8:] = True
    np.testing.assert_array_equal(result.constant, expected)
    ism = np.abs(per_position(attribute(tiny_model, X, "ism", correct=True))).mean(axis=0)
    assert result.share("ism") == pytest.approx(ism[expected].sum() / ism.sum(), rel=1e-5)
    assert result.position_share == pytest.approx(16 / TINY.input_length)
    table = result.table().set_index(["metric", "condition"])["value"]
    assert table[("attribution_share", "saliency")] == pytest.approx(result.share("saliency"))
    with pytest.raises(SeqsalError, match="no position is the same"):
        constant_flanks(tiny_model, one_hot(random_sequences(30, TINY.input_length, seed=1)))


def test_cli_writes_figure_and_table(tmp_path, tiny_model, capsys):
    model = save_model(tiny_model, tmp_path / "tiny.pt")
    fasta = tmp_path / "flanked.fa"
    fasta.write_text("".join(f">e{i}\n{s}\n" for i, s in enumerate(flanked(6))))
    out = tmp_path / "flanks"
    status = main(["pitfalls", "constant-flanks", "--model", str(model), "--fasta", str(fasta), "--out", str(out),
                   "--quiet"])
    assert status == 0, capsys.readouterr().err
    table = pd.read_csv(out / "constant-flanks.tsv", sep="\t")
    assert set(table.loc[table.metric == "attribution_share", "condition"]) == {"grad_x_input", "saliency", "ism"}
    assert (out / "constant-flanks.png").stat().st_size > 10_000
