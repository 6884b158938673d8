"""Can an explanation be trusted?  Every evaluation metric under one name, for scripts and experiments.

An attribution map makes two different claims, and each needs its own test.
*Faithfulness*, the map reflects what the model actually uses:
:func:`deletion_insertion` (:mod:`seqsal.evaluate.deletion`),
:func:`randomization_check` (:mod:`seqsal.evaluate.randomization`) and
:func:`max_sensitivity` (:mod:`seqsal.evaluate.stability`).  *Plausibility*,
the map agrees with known biology: :func:`plausibility` and
:func:`motif_masks` (:mod:`seqsal.evaluate.plausibility`).  Their figures are in
:mod:`seqsal.evaluate.plots`.  Each concept lives in its own module; this one
only gathers the public names, so ``from seqsal.evaluate.metrics import ...``
keeps working.
"""

from seqsal.evaluate.deletion import CURVES, REPLACEMENTS, PerturbationCurves, deletion_insertion
from seqsal.evaluate.plausibility import PlausibilityResult, motif_masks, plausibility
from seqsal.evaluate.plots import plot_perturbation_curves, plot_randomization
from seqsal.evaluate.randomization import randomization_check
from seqsal.evaluate.stability import max_sensitivity

__all__ = [
    "CURVES", "REPLACEMENTS", "PerturbationCurves", "PlausibilityResult", "deletion_insertion", "max_sensitivity",
    "motif_masks", "plausibility", "plot_perturbation_curves", "plot_randomization", "randomization_check",
]
