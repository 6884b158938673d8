"""Explaining a FASTA file: settings, checked input, the streaming pipeline, the bundle, drawing, shards.

An explain run checks every record of its input (:mod:`.records`), attributes
them batch by batch into a bundle folder (:mod:`.pipeline`, arrays and
reading back in :mod:`.bundle`), and draws logos and a report of the result
(:mod:`.render`); it can be interrupted and resumed.  A large input can be
split into shards (:mod:`.shards`) explained separately, and the shards'
bundles merge into the bundle a single run would have written (:mod:`.merge`).
What a run computes is fixed by :class:`ExplainSettings` (:mod:`.settings`).
"""

from seqsal.explain.bundle import Bundle, load_bundle
from seqsal.explain.merge import merge_bundles
from seqsal.explain.pipeline import explain_bed, explain_fasta
from seqsal.explain.settings import ExplainSettings
from seqsal.explain.shards import Shard, split_fasta

__all__ = ["Bundle", "ExplainSettings", "Shard", "explain_bed", "explain_fasta", "load_bundle", "merge_bundles", "split_fasta"]
