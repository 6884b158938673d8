"""Explaining a FASTA file: settings, checked input, the streaming pipeline, the bundle, drawing, shards.

An explain run checks every record of its input (:mod:`.records`), attributes
them batch by batch into a bundle folder (:mod:`.pipeline`, arrays and
reading back in :mod:`.bundle`), and draws logos and a report of the result
(:mod:`.render`); it can be interrupted and resumed.  A large input can be
split into shards (:mod:`.shards`) explained separately, and the shards'
bundles merge into the bundle a single run would have written (:mod:`.merge`).
What a run computes is fixed by :class:`ExplainSettings` (:mod:`.settings`).
"""

from __future__ import annotations

from seqsal.lazy import lazy_names

#: The package's public names and the modules that define them, imported on first use: a command that only
#: reads and draws a finished bundle (``seqsal logo``) then starts without loading torch.
_API = {
    "Bundle": "seqsal.explain.bundle",
    "load_bundle": "seqsal.explain.bundle",
    "merge_bundles": "seqsal.explain.merge",
    "explain_bed": "seqsal.explain.pipeline",
    "explain_fasta": "seqsal.explain.pipeline",
    "ExplainSettings": "seqsal.explain.settings",
    "Shard": "seqsal.explain.shards",
    "split_fasta": "seqsal.explain.shards",
}

__all__ = sorted(_API)


__getattr__, __dir__ = lazy_names(__name__, _API)
