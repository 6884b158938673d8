"""seqsal: explain DNA sequence models and check whether the explanation can be trusted.

The Python API (the same functions the ``seqsal`` command calls):

- sequences: ``read_fasta``, ``one_hot``, ``decode``, ``reverse_complement``, ``dinucleotide_shuffle``,
  ``split_fasta``
- models: ``load_model`` (a seqsal model file or ``"default"``), ``save_model``, ``predict``
- attribution: ``attribute(model, X, method=..., target=..., correct=..., hypothetical=...)``
- figures: ``plot_logo``, ``plot_attribution``
- whole runs: ``explain_fasta`` (a FASTA to a bundle of arrays, logos and a report), ``explain_bed``
  (peaks on a reference genome), ``merge_bundles``
- what a model learned: ``filter_pfms``, ``match_filters``, ``dream``
- motif instances: ``call_seqlets``, ``annotate_seqlets``, ``summarize_seqlets`` (:mod:`seqsal.seqlets`)
- errors a user can cause: ``SeqsalError`` (a ``ValueError`` with one sentence saying what to do)

Each is documented where it lives (``help(seqsal.attribute)``).  The names
are loaded on first use, so ``seqsal --version`` and ``--help`` answer without
importing torch and matplotlib.
"""

from __future__ import annotations

from seqsal.errors import SeqsalError
from seqsal.lazy import lazy_names

__version__ = "0.1.0"

_API = {
    "read_fasta": "seqsal.io",
    "one_hot": "seqsal.encoding",
    "decode": "seqsal.encoding",
    "reverse_complement": "seqsal.encoding",
    "dinucleotide_shuffle": "seqsal.encoding",
    "load_model": "seqsal.models",
    "save_model": "seqsal.models",
    "predict": "seqsal.models",
    "attribute": "seqsal.attribution",
    "plot_logo": "seqsal.plot",
    "plot_attribution": "seqsal.plot",
    "explain_fasta": "seqsal.explain",
    "explain_bed": "seqsal.explain",
    "split_fasta": "seqsal.explain",
    "merge_bundles": "seqsal.explain",
    "filter_pfms": "seqsal.views.filters",
    "match_filters": "seqsal.views.filters",
    "dream": "seqsal.views.dream",
    "call_seqlets": "seqsal.seqlets",
    "annotate_seqlets": "seqsal.seqlets",
    "summarize_seqlets": "seqsal.seqlets",
}

__all__ = ["SeqsalError", "__version__", *_API]


__getattr__, __dir__ = lazy_names(__name__, _API, defined=("SeqsalError", "__version__"))
