"""Is an explanation trustworthy? Faithfulness and plausibility metrics, their plots, and the bundle run.

Faithfulness asks whether the map shows what the model uses: ``deletion``
(deletion and insertion curves), ``randomization`` (the model-randomization
sanity check) and ``stability`` (max-sensitivity under substitutions).
Plausibility asks whether it matches known biology: ``plausibility`` (AUROC
of the map against ground-truth masks, from simulation or motif scans).
``plots`` draws them; ``metrics`` gathers their public names.  The metrics
take plain arrays; ``run`` applies them to an explain bundle and ``report``
writes its page.
"""

from seqsal.evaluate.run import EvaluationSettings, evaluate_bundle

__all__ = ["EvaluationSettings", "evaluate_bundle"]
