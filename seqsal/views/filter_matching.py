"""Naming first-layer filters: Tomtom comparison of their PFMs with a motif database, and MEME output.

The comparison is Tomtom (memelite, ``pip install 'seqsal[motifs]'``) through
:func:`seqsal.motif_compare.best_matches`, the same comparison that names
seqlets: the best match per filter, with its q-value Benjamini-Hochberg
adjusted over the filter's comparisons with every motif of the database, so
"q < 0.05" reads: among the database motifs this filter is called similar to,
at most 5 % are expected to be chance.
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from seqsal.checks import check_int, check_number
from seqsal.encoding import ALPHABET
from seqsal.errors import check
from seqsal.motif_compare import best_matches
from seqsal.motifs import MotifDatabase, load_database
from seqsal.views.filter_sites import FilterPFMs

DEFAULT_MIN_SITES = 10
DEFAULT_Q_THRESHOLD = 0.05

TABLE_COLUMNS = ("filter", "n_sites", "max_activation", "threshold", "information_content", "consensus",
                 "match_id", "match_name", "p_value", "q_value", "offset", "orientation", "overlap", "matched")



def match_filters(
    pfms: FilterPFMs,
    motif_db: MotifDatabase | str | os.PathLike | None = None,
    *,
    min_sites: int = DEFAULT_MIN_SITES,
    q_threshold: float = DEFAULT_Q_THRESHOLD,
) -> pd.DataFrame:
    """Compare each filter's PFM with a motif database (Tomtom) and report its best match.

    Filters with fewer than ``min_sites`` sites are listed but not compared:
    a handful of windows gives a PFM that is mostly pseudocount, and testing
    it would only add noise to the fraction of filters that match.  For the
    others, memelite's Tomtom scores the PFM against every database motif in
    both orientations; the best match is the motif with the smallest p-value
    and its q-value is the Benjamini-Hochberg adjustment over this filter's
    comparisons with the whole database (see the module docstring).

    Parameters
    ----------
    pfms
        From :func:`filter_pfms`.
    motif_db
        A :class:`~seqsal.motifs.MotifDatabase`, a MEME/JASPAR file, or
        ``None`` for the bundled JASPAR 2016 vertebrate collection.  Tomtom's
        p-values use the database columns as background, so use a whole
        database, not a handful of motifs.
    min_sites
        Sites a filter needs to be compared.
    q_threshold
        A filter *matches* when its best q-value is below this.

    Returns
    -------
    pandas.DataFrame
        One row per filter with the columns of :data:`TABLE_COLUMNS`:
        ``information_content`` is the PFM's total in bits; ``offset`` is the
        position of the database motif (in the matched orientation) that lines
        up with the filter's first position, negative when the filter's
        position ``-offset`` lines up with the motif's first; ``orientation``
        is ``+`` for the motif as given and ``-`` for its reverse complement;
        ``overlap`` is the number of aligned positions; ``matched`` is
        ``"yes"`` or ``"no"``.  Match columns are empty for untested filters.

    Raises
    ------
    SeqsalError
        If memelite is not installed, or a parameter is out of range.
    """
    check(isinstance(pfms, FilterPFMs), f"match_filters needs the result of filter_pfms, got {type(pfms).__name__}")
    check_int(min_sites, "min_sites", minimum=1)
    check_number(q_threshold, "q_threshold", minimum=0, maximum=1, include_minimum=False)
    database = load_database(motif_db)
    table = pd.DataFrame({
        "filter": np.arange(pfms.n_filters),
        "n_sites": pfms.n_sites,
        "max_activation": pfms.max_activation,
        "threshold": pfms.thresholds,
        "information_content": pfms.information_content().sum(axis=1),
        "consensus": pfms.consensus(),
        "match_id": "", "match_name": "", "p_value": np.nan, "q_value": np.nan,
        "offset": pd.array([pd.NA] * pfms.n_filters, dtype="Int64"), "orientation": "",
        "overlap": pd.array([pd.NA] * pfms.n_filters, dtype="Int64"), "matched": "no",
    })
    tested = np.flatnonzero(pfms.n_sites >= min_sites)
    matches = best_matches([pfms.probabilities[i] for i in tested], database,
                           purpose="matching filters to known motifs")
    for row, index in enumerate(tested):
        match = matches.iloc[row]
        table.loc[index, ["match_id", "match_name"]] = match["match_id"], match["match_name"]
        table.loc[index, ["p_value", "q_value"]] = match["p_value"], match["q_value"]
        table.loc[index, ["offset", "overlap"]] = int(match["offset"]), int(match["overlap"])
        table.loc[index, "orientation"] = match["strand"]
        table.loc[index, "matched"] = "yes" if match["q_value"] < q_threshold else "no"
    return table[list(TABLE_COLUMNS)]


def summarize(table: pd.DataFrame) -> dict:
    """Counts a reader wants first: filters, filters tested, filters matched, and the motifs they match.

    ``fraction_matched`` is over all filters (a dead filter is a filter that
    learned nothing); ``fraction_of_tested_matched`` is over filters with
    enough sites to be compared.
    """
    n_filters = len(table)
    tested = table["match_id"] != ""
    matched = table["matched"] == "yes"
    names = table.loc[matched, "match_name"]
    return {
        "n_filters": n_filters,
        "n_tested": int(tested.sum()),
        "n_matched": int(matched.sum()),
        "fraction_matched": float(matched.sum() / n_filters) if n_filters else 0.0,
        "fraction_of_tested_matched": float(matched.sum() / tested.sum()) if tested.any() else 0.0,
        "motifs_matched": {str(name): int(count) for name, count in names.value_counts().items()},
    }


# --------------------------------------------------------------------------- files and figures
def meme_text(pfms: FilterPFMs, min_sites: int = 1) -> str:
    """Filter PFMs in MEME minimal format, for Tomtom, MEME-ChIP or seqsal's own :class:`MotifDatabase`.

    Each filter with at least ``min_sites`` sites becomes ``MOTIF filter_<i>
    <consensus>``; ``nsites`` is its number of sites.  Filters without sites
    are left out: they have no PFM, only a uniform guess.
    """
    lines = ["MEME version 4", "", f"ALPHABET= {ALPHABET}", "", "strands: + -", "",
             "Background letter frequencies", "A 0.25 C 0.25 G 0.25 T 0.25", ""]
    probabilities = pfms.probabilities
    for index, consensus in enumerate(pfms.consensus()):
        if pfms.n_sites[index] < max(min_sites, 1):
            continue
        lines += [f"MOTIF filter_{index} {consensus}", "",
                  f"letter-probability matrix: alength= 4 w= {pfms.kernel_size} nsites= {pfms.n_sites[index]} E= 0"]
        lines += [" ".join(f"{p:.6f}" for p in column) for column in probabilities[index].T]
        lines.append("")
    return "\n".join(lines)
