"""Explaining a FASTA file: the streaming pipeline, the bundle it writes, merging shards, drawing.

An explain run reads records, attributes them batch by batch into a bundle
folder (``ohe.npz``, ``attr.<method>.npz``, ``scores.tsv``, logos, report) and
can be interrupted and resumed; shards explained separately merge into the
bundle a single run would have written.
"""

from seqsal.explain.bundle import Bundle, load_bundle
from seqsal.explain.merge import merge_bundles
from seqsal.explain.pipeline import ExplainSettings, explain_fasta

__all__ = ["Bundle", "ExplainSettings", "explain_fasta", "load_bundle", "merge_bundles"]
