"""Exact p-value thresholds of motif scores, checked against enumerating every k-mer."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqsal.encoding import one_hot
from seqsal.errors import SeqsalError
from seqsal.motifs import Motif, pvalue_threshold, scan
from seqsal.pvalues import PVALUE_STEPS_PER_BIT

KMERS = one_hot(["".join(bases) for bases in itertools.product("ACGT", repeat=6)])


@pytest.fixture
def motif() -> Motif:
    return Motif("R.1", "random", np.random.default_rng(1).dirichlet(np.full(4, 0.5), size=6).T)


def brute_force_threshold(motif: Motif, pvalue: float) -> float:
    """The lowest score of any 6-mer whose share of 6-mers scoring at least as high is <= pvalue."""
    grid = np.rint(motif.log_odds() * PVALUE_STEPS_PER_BIT)
    scores = np.einsum("nkw,kw->n", KMERS, grid)
    passing = [s for s in np.unique(scores) if (scores >= s).mean() <= pvalue]
    return min(passing) / PVALUE_STEPS_PER_BIT if passing else np.inf


@pytest.mark.parametrize("pvalue", [1e-3, 5e-3, 0.01, 0.05, 0.3, 1.0, 1e-4])
def test_threshold_equals_enumeration_of_all_kmers(motif, pvalue):
    assert pvalue_threshold(motif, pvalue) == brute_force_threshold(motif, pvalue)


def test_scan_at_a_pvalue_finds_exactly_that_share_of_kmers(motif):
    for pvalue in (1e-3, 0.05):
        plus = [hit for hit in scan(KMERS, motif, pvalue=pvalue) if hit.strand == "+"]
        grid = np.rint(motif.log_odds() * PVALUE_STEPS_PER_BIT)
        scores = np.einsum("nkw,kw->n", KMERS, grid) / PVALUE_STEPS_PER_BIT
        assert len(plus) == (scores >= brute_force_threshold(motif, pvalue)).sum()
        assert 0 < len(plus) <= pvalue * len(KMERS)
        # The reverse strand sees the same distribution: as many hits.
        assert len(plus) == len(scan(KMERS, motif, pvalue=pvalue)) - len(plus)


def test_a_short_motif_cannot_reach_a_tiny_pvalue(motif):
    # No 6-mer is rarer than 4**-6 ~ 2.4e-4, so nothing passes 1e-4.
    assert pvalue_threshold(motif, 1e-4) == np.inf
    assert scan(KMERS, motif, pvalue=1e-4) == []


def test_bad_pvalues_are_named(motif):
    for bad in (0, 1.5, float("nan")):
        with pytest.raises(SeqsalError, match="pvalue"):
            pvalue_threshold(motif, bad)
    with pytest.raises(SeqsalError, match="not both"):
        scan(KMERS, motif, threshold=3.0, pvalue=0.01)
