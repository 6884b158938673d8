"""The planted-adapter experiment: an explanation can be faithful and implausible at once, or hide a shortcut.

A model trained on data where a sequencing adapter rides along with one class
learns the adapter, because it is the easiest way to separate the classes.  A
*faithful* explanation of that model must then point at the adapter; a
*plausible* one points at the enhancer motifs a biologist expects.  The two
criteria pull apart, and this package measures how far, on synthetic
enhancers whose motifs are known (:func:`seqsal.simulate.simulate_enhancers`),
one model per contamination rate.  Between the extremes it shows the harder
case: a model that already relies on the adapter while the maps put little
more than chance on it and stay plausible.

Modules, each owning one part:

- :mod:`~seqsal.experiments.shortcut.plant`: where the adapter fits, planting
  it, the run's data with and without it (:class:`ShortcutData`).
- :mod:`~seqsal.experiments.shortcut.config`: the settings
  (:class:`ShortcutConfig`) and method labels.
- :mod:`~seqsal.experiments.shortcut.maps`: the explanations scored,
  including the model-blind ``motif_prior``.
- :mod:`~seqsal.experiments.shortcut.metrics`: reliance on the adapter,
  scores of the maps, and per-sequence faithfulness to the shortcut.
- :mod:`~seqsal.experiments.shortcut.claims`: the expected story and the
  findings at every rate, checked against the numbers (``claims.tsv``).
- :mod:`~seqsal.experiments.shortcut.hiding`: the report's account of where
  the maps hide the shortcut, and what to do about it.
- :mod:`~seqsal.experiments.shortcut.figures`,
  :mod:`~seqsal.experiments.shortcut.report`: figures and ``report.html``.
- :mod:`~seqsal.experiments.shortcut.files`: the run's file names.
- :mod:`~seqsal.experiments.shortcut.run`: :func:`run_shortcut`, which trains,
  measures and writes the folder.

Faithfulness in the trade-off plot is the deletion AUC (lower is more
faithful), not the adapter share: deletion asks the model itself which
ranking destroys its output fastest, so it applies to the clean model too,
where the adapter is not what a faithful map should show.
"""

from seqsal.experiments.shortcut.claims import all_claims, rate_claims, story_checks
from seqsal.experiments.shortcut.config import CORRECTED, DEFAULT_METHODS, MOTIF_PRIOR, ShortcutConfig, parse_method
from seqsal.experiments.shortcut.maps import explain, motif_prior
from seqsal.experiments.shortcut.metrics import (
    adapter_effects,
    adapter_motif_matches,
    effect_correlation,
    reliance,
    score_method,
)
from seqsal.experiments.shortcut.plant import (
    DEFAULT_ADAPTER,
    PLACEMENTS,
    ShortcutData,
    adapter_insert,
    adapter_mask,
    adapter_room,
    place_adapters,
    plant_adapters,
    prepare_data,
)
from seqsal.experiments.shortcut.run import ShortcutResult, run_shortcut

__all__ = [
    "CORRECTED", "DEFAULT_ADAPTER", "DEFAULT_METHODS", "MOTIF_PRIOR", "PLACEMENTS", "ShortcutConfig",
    "ShortcutData", "ShortcutResult", "adapter_effects", "adapter_insert", "adapter_mask", "adapter_motif_matches",
    "adapter_room", "all_claims", "effect_correlation", "explain", "motif_prior", "parse_method", "place_adapters",
    "plant_adapters", "prepare_data", "rate_claims", "reliance", "run_shortcut", "score_method", "story_checks",
]
